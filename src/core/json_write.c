/* The JSON writer (tm_jw): separators placed from a stack of open
 * containers, string escaping (optionally ASCII-only, as Python's
 * json.dumps ensure_ascii), one policy per writer for NaN and infinities.
 * Text goes into a caller's tm_buf; the document model lives in
 * json_doc.c, parsing in json.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <turbomode/core.h>

void tm_jw_init(tm_jw *w, tm_buf *out, tm_jw_style style, tm_jw_nonfinite nonfinite, bool ascii)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->style = style;
    w->nonfinite = nonfinite;
    w->ascii = ascii;
}

static void fail(tm_jw *w, tm_status st, const char *what)
{
    if (w->status == TM_OK) {
        w->status = st;
        snprintf(w->what, sizeof w->what, "%s", what);
    }
}

static bool ok(tm_jw *w)
{
    if (w->status == TM_OK && w->out->oom) {
        fail(w, TM_E_NOMEM, "out of memory writing JSON");
    }
    return w->status == TM_OK;
}

/* Writes the separator a new value needs; false when the writer failed or
 * the value has no place (an object member without a key). */
static bool begin_value(tm_jw *w)
{
    if (!ok(w)) {
        return false;
    }
    if (w->depth == 0) {
        return true;
    }
    unsigned char *top = &w->open[w->depth - 1];
    if (*top == 'o' || *top == 'O') {
        if (!w->after_key) {
            fail(w, TM_E_INTERNAL, "a JSON object member without a key");
            return false;
        }
        w->after_key = false;
        return true;
    }
    if (*top == 'A') {
        tm_buf_append(w->out, w->style == TM_JW_SPACED ? ", " : ",",
                      w->style == TM_JW_SPACED ? 2 : 1);
    }
    *top = 'A';
    return true;
}

static void open_container(tm_jw *w, unsigned char kind, char bracket)
{
    if (!begin_value(w)) {
        return;
    }
    if (w->depth == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        unsigned char *p = tm_realloc_n(w->open, cap, 1);
        if (!p) {
            fail(w, TM_E_NOMEM, "out of memory writing JSON");
            return;
        }
        w->open = p;
        w->cap = cap;
    }
    w->open[w->depth++] = kind;
    tm_buf_append(w->out, &bracket, 1);
}

static void close_container(tm_jw *w, unsigned char kind, char bracket)
{
    if (!ok(w)) {
        return;
    }
    if (w->depth == 0 || (w->open[w->depth - 1] | 0x20) != kind || w->after_key) {
        fail(w, TM_E_INTERNAL, "unbalanced JSON container end");
        return;
    }
    w->depth--;
    tm_buf_append(w->out, &bracket, 1);
}

void tm_jw_object(tm_jw *w)
{
    open_container(w, 'o', '{');
}

void tm_jw_object_end(tm_jw *w)
{
    close_container(w, 'o', '}');
}

void tm_jw_array(tm_jw *w)
{
    open_container(w, 'a', '[');
}

void tm_jw_array_end(tm_jw *w)
{
    close_container(w, 'a', ']');
}

/* Decodes one UTF-8 sequence of s[0..n); an invalid or truncated one comes
 * back as its first byte alone. */
static unsigned long utf8(const unsigned char *s, size_t n, size_t *used)
{
    unsigned long c = s[0];
    size_t k = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
    *used = 1;
    if (k == 0 || k >= n) {
        return s[0];
    }
    c &= 0x3fUL >> k;
    for (size_t i = 1; i <= k; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return s[0];
        }
        c = c << 6 | (s[i] & 0x3fUL);
    }
    *used = k + 1;
    return c;
}

void tm_json_put_string(tm_buf *b, const char *s, size_t n, bool ascii)
{
    const unsigned char *u = (const unsigned char *)s;
    tm_buf_append(b, "\"", 1);
    size_t i = 0;
    while (i < n) {
        size_t run = i; /* characters written as they are, appended at once */
        while (run < n && u[run] >= 0x20 && u[run] != '"' && u[run] != '\\' &&
               (!ascii || u[run] < 0x7f)) {
            run++;
        }
        if (run > i) {
            tm_buf_append(b, s + i, run - i);
            i = run;
            continue;
        }
        unsigned long c = u[i];
        size_t used = 1;
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
        if (e) {
            tm_buf_puts(b, e);
        } else if (c < 0x20 || (ascii && c == 0x7f)) {
            tm_buf_printf(b, "\\u%04lx", c);
        } else if (c < 0x80 || !ascii) {
            tm_buf_append(b, s + i, 1);
        } else {
            c = utf8(u + i, n - i, &used);
            if (c >= 0x10000) {
                c -= 0x10000;
                tm_buf_printf(b, "\\u%04lx\\u%04lx", 0xd800 + (c >> 10), 0xdc00 + (c & 0x3ff));
            } else {
                tm_buf_printf(b, "\\u%04lx", c);
            }
        }
        i += used;
    }
    tm_buf_append(b, "\"", 1);
}

void tm_jw_key(tm_jw *w, const char *key)
{
    if (!ok(w)) {
        return;
    }
    unsigned char *top = w->depth ? &w->open[w->depth - 1] : NULL;
    if (!top || (*top | 0x20) != 'o' || w->after_key) {
        fail(w, TM_E_INTERNAL, "a JSON key outside an object");
        return;
    }
    if (*top == 'O') {
        tm_buf_append(w->out, w->style == TM_JW_SPACED ? ", " : ",",
                      w->style == TM_JW_SPACED ? 2 : 1);
    }
    *top = 'O';
    size_t n = strlen(key), kept = n < sizeof w->last_key ? n : sizeof w->last_key - 1;
    memcpy(w->last_key, key, kept); /* truncated: it only names the key in messages */
    w->last_key[kept] = 0;
    tm_json_put_string(w->out, key, n, w->ascii);
    tm_buf_append(w->out, w->style == TM_JW_SPACED ? ": " : ":", w->style == TM_JW_SPACED ? 2 : 1);
    w->after_key = true;
}

void tm_jw_string_n(tm_jw *w, const char *s, size_t n)
{
    if (begin_value(w)) {
        tm_json_put_string(w->out, s, n, w->ascii);
    }
}

void tm_jw_string(tm_jw *w, const char *s)
{
    tm_jw_string_n(w, s, strlen(s));
}

void tm_jw_raw(tm_jw *w, const char *token, size_t n)
{
    if (begin_value(w)) {
        tm_buf_append(w->out, token, n);
    }
}

void tm_jw_int(tm_jw *w, int64_t v)
{
    if (!begin_value(w)) {
        return;
    }
    /* the digits by hand, as "%lld" gives them: model writers put
     * millions of small integers, and printf's per-call setup dominates */
    char buf[24], *p = buf + sizeof buf;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) {
        *--p = '-';
    }
    tm_buf_append(w->out, p, (size_t)(buf + sizeof buf - p));
}

void tm_jw_bool(tm_jw *w, bool v)
{
    if (begin_value(w)) {
        tm_buf_puts(w->out, v ? "true" : "false");
    }
}

void tm_jw_null(tm_jw *w)
{
    if (begin_value(w)) {
        tm_buf_puts(w->out, "null");
    }
}

/* Writes a NaN or infinity by the writer's policy; false when v is finite
 * (the caller formats it). */
static bool put_nonfinite(tm_jw *w, double v)
{
    if (isfinite(v)) {
        return false;
    }
    if (w->nonfinite == TM_JW_NONFINITE_REFUSE) {
        fail(w, TM_E_RANGE,
             isnan(v) ? "NaN has no JSON number"
             : v > 0  ? "Infinity has no JSON number"
                      : "-Infinity has no JSON number");
    } else if (begin_value(w)) {
        tm_buf_puts(w->out, w->nonfinite == TM_JW_NONFINITE_NULL ? "null"
                            : isnan(v)                           ? "NaN"
                            : v > 0                              ? "Infinity"
                                                                 : "-Infinity");
    }
    return true;
}

void tm_jw_double(tm_jw *w, double v)
{
    if (!put_nonfinite(w, v) && begin_value(w)) {
        tm_buf_printf(w->out, "%.17g", v);
    }
}

void tm_jw_fixed(tm_jw *w, double v, int decimals)
{
    if (decimals < 0 || decimals > 17) {
        fail(w, TM_E_INTERNAL, "JSON fixed-point decimals outside 0..17");
        return;
    }
    if (!put_nonfinite(w, v) && begin_value(w)) {
        tm_buf_printf(w->out, "%.*f", decimals, v);
    }
}

void tm_jw_value(tm_jw *w, const tm_json *v)
{
    if (!v) {
        tm_jw_null(w);
        return;
    }
    switch (v->type) {
    case TM_JSON_NULL:
        tm_jw_null(w);
        break;
    case TM_JSON_BOOL:
        tm_jw_bool(w, v->boolean);
        break;
    case TM_JSON_NUMBER:
        if (v->str) {
            tm_jw_raw(w, v->str, v->len);
        } else if (v->is_int) {
            tm_jw_int(w, v->inum);
        } else {
            tm_jw_double(w, v->num);
        }
        break;
    case TM_JSON_STRING:
        tm_jw_string_n(w, v->str, v->len);
        break;
    case TM_JSON_ARRAY:
        tm_jw_array(w);
        for (size_t i = 0; i < v->len; i++) {
            tm_jw_value(w, tm_json_at(v, i)); /* typed arrays too */
        }
        tm_jw_array_end(w);
        break;
    case TM_JSON_OBJECT:
        tm_jw_object(w);
        for (size_t i = 0; i < v->len; i++) {
            tm_jw_key(w, v->keys[i]);
            tm_jw_value(w, v->items[i]);
        }
        tm_jw_object_end(w);
        break;
    }
}

tm_status tm_jw_finish(tm_jw *w, tm_err *err)
{
    if (ok(w) && (w->depth > 0 || w->after_key)) {
        fail(w, TM_E_INTERNAL, "a JSON container left open");
    }
    tm_free(w->open);
    w->open = NULL;
    w->depth = w->cap = 0;
    if (w->status != TM_OK) {
        return TM_ERR(err, w->status, NULL, 0, w->status == TM_E_RANGE ? w->last_key : NULL, "%s",
                      w->what);
    }
    return TM_OK;
}
