/* JSON text output shaped like Python's json.dumps defaults (", " and ": "
 * separators, ensure_ascii escapes), so that `schedule eval` lines can be
 * compared with the fixtures byte for byte. Used by eval.c and state.c. */
#include <stdio.h>
#include <string.h>

#include "sched/sched_int.h"

void tm__sched_jb_raw(tm__sched_jbuf *b, const char *s, size_t n)
{
    if (b->oom) {
        return;
    }
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) {
            cap *= 2;
        }
        char *p = tm_realloc_n(b->p, cap, 1);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void tm__sched_jb_cstr(tm__sched_jbuf *b, const char *s)
{
    tm__sched_jb_raw(b, s, strlen(s));
}

/* Decodes one UTF-8 sequence; invalid bytes come back as themselves. */
static unsigned long utf8(const unsigned char *s, size_t n, size_t *used)
{
    unsigned long c = s[0];
    size_t k = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
    if (k == 0 || k >= n) {
        *used = 1;
        return c;
    }
    c &= 0x3f >> k;
    for (size_t i = 1; i <= k; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *used = 1;
            return s[0];
        }
        c = c << 6 | (s[i] & 0x3f);
    }
    *used = k + 1;
    return c;
}

void tm__sched_jb_str(tm__sched_jbuf *b, const char *s, size_t n)
{
    tm__sched_jb_raw(b, "\"", 1);
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned long c = u[i];
        size_t used = 1;
        char esc[32];
        const char *e = NULL;
        switch (c) {
        case '"':
            e = "\\\"";
            break;
        case '\\':
            e = "\\\\";
            break;
        case '\n':
            e = "\\n";
            break;
        case '\r':
            e = "\\r";
            break;
        case '\t':
            e = "\\t";
            break;
        case '\b':
            e = "\\b";
            break;
        case '\f':
            e = "\\f";
            break;
        default:
            break;
        }
        if (!e && c >= 0x80) {
            c = utf8(u + i, n - i, &used);
        }
        if (e) {
            tm__sched_jb_cstr(b, e);
        } else if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0x10000)) {
            snprintf(esc, sizeof esc, "\\u%04lx", c);
            tm__sched_jb_cstr(b, esc);
        } else if (c >= 0x10000) {
            c -= 0x10000;
            snprintf(esc, sizeof esc, "\\u%04lx\\u%04lx", 0xd800 + (c >> 10), 0xdc00 + (c & 0x3ff));
            tm__sched_jb_cstr(b, esc);
        } else {
            char ch = (char)c;
            tm__sched_jb_raw(b, &ch, 1);
        }
        i += used;
    }
    tm__sched_jb_raw(b, "\"", 1);
}

void tm__sched_jb_value(tm__sched_jbuf *b, const tm_json *v)
{
    if (!v) {
        tm__sched_jb_cstr(b, "null");
        return;
    }
    switch (v->type) {
    case TM_JSON_NULL:
        tm__sched_jb_cstr(b, "null");
        break;
    case TM_JSON_BOOL:
        tm__sched_jb_cstr(b, v->boolean ? "true" : "false");
        break;
    case TM_JSON_NUMBER:
        if (v->str) {
            tm__sched_jb_raw(b, v->str, v->len);
        } else {
            char num[64];
            snprintf(num, sizeof num, "%.17g", v->num);
            tm__sched_jb_cstr(b, num);
        }
        break;
    case TM_JSON_STRING:
        tm__sched_jb_str(b, v->str, v->len);
        break;
    case TM_JSON_ARRAY:
        tm__sched_jb_raw(b, "[", 1);
        for (size_t i = 0; i < v->len; i++) {
            if (i) {
                tm__sched_jb_raw(b, ", ", 2);
            }
            tm__sched_jb_value(b, v->items[i]);
        }
        tm__sched_jb_raw(b, "]", 1);
        break;
    case TM_JSON_OBJECT:
        tm__sched_jb_raw(b, "{", 1);
        for (size_t i = 0; i < v->len; i++) {
            if (i) {
                tm__sched_jb_raw(b, ", ", 2);
            }
            tm__sched_jb_str(b, v->keys[i], strlen(v->keys[i]));
            tm__sched_jb_raw(b, ": ", 2);
            tm__sched_jb_value(b, v->items[i]);
        }
        tm__sched_jb_raw(b, "}", 1);
        break;
    }
}

void tm__sched_jb_time(tm__sched_jbuf *b, tm_sched_time t, const tm_sched_zone *z)
{
    if (t == TM_SCHED_NEVER) {
        tm__sched_jb_cstr(b, "null");
        return;
    }
    char iso[TM_SCHED_ISO_LEN];
    tm_sched_time_format(t, z, iso, sizeof iso);
    tm__sched_jb_str(b, iso, strlen(iso));
}

char *tm__sched_jb_take(tm__sched_jbuf *b)
{
    if (b->oom || !b->p) {
        tm_free(b->p);
        b->p = NULL;
        b->n = b->cap = 0;
        return NULL;
    }
    char *p = b->p;
    b->p = NULL;
    b->n = b->cap = 0;
    return p;
}
