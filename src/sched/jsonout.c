/* JSON text output shaped like Python's json.dumps defaults (", " and ": "
 * separators, ensure_ascii escapes), so that `schedule eval` lines can be
 * compared with the fixtures byte for byte. Used by eval.c and state.c. */
#include <stdio.h>
#include <string.h>

#include "sched/sched_int.h"

void tm__sched_jb_raw(tm__sched_jbuf *b, const char *s, size_t n)
{
    tm_buf_append(b, s, n);
}

void tm__sched_jb_cstr(tm__sched_jbuf *b, const char *s)
{
    tm_buf_puts(b, s);
}

void tm__sched_jb_str(tm__sched_jbuf *b, const char *s, size_t n)
{
    tm_json_put_string(b, s, n, true);
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
    char *p = NULL;
    tm_err err;
    if (!b->p) {
        return NULL; /* nothing appended: no text, as before */
    }
    return tm_buf_take(b, &p, &err) == TM_OK ? p : NULL;
}
