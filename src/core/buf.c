/* The growable text buffer (tm_buf): appends double the allocation as
 * needed and turn an allocation failure into a sticky flag, so that text
 * writers check for out of memory once, when they take the result. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <turbomode/core.h>

void tm_buf_init(tm_buf *b)
{
    memset(b, 0, sizeof *b);
}

void tm_buf_fini(tm_buf *b)
{
    if (b) {
        tm_free(b->p);
        tm_buf_init(b);
    }
}

/* Room for n more bytes and the NUL; false (and oom set) when memory ran
 * out or the size overflows. */
static bool reserve(tm_buf *b, size_t n)
{
    if (b->oom) {
        return false;
    }
    if (n < b->cap && b->len < b->cap - n) {
        return true;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap - 1 < b->len || cap - 1 - b->len < n) {
        if (cap > ((size_t)-1) / 2) {
            b->oom = true;
            return false;
        }
        cap *= 2;
    }
    char *p = tm_realloc_n(b->p, cap, 1);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void tm_buf_append(tm_buf *b, const char *s, size_t n)
{
    if (!reserve(b, n)) {
        return;
    }
    if (n) {
        memcpy(b->p + b->len, s, n);
    }
    b->len += n;
    b->p[b->len] = 0;
}

void tm_buf_puts(tm_buf *b, const char *s)
{
    tm_buf_append(b, s, strlen(s));
}

void tm_buf_printf(tm_buf *b, const char *fmt, ...)
{
    if (b->oom) {
        return;
    }
    va_list ap;
    char small[256];
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true; /* an encoding error: the text cannot be complete */
        return;
    }
    if ((size_t)n < sizeof small) {
        tm_buf_append(b, small, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n)) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

tm_status tm_buf_take(tm_buf *b, char **out, tm_err *err)
{
    *out = NULL;
    if (!b->oom && !b->p) {
        reserve(b, 0);
        if (b->p) {
            b->p[0] = 0;
        }
    }
    if (b->oom) {
        tm_buf_fini(b);
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory writing text");
    }
    *out = b->p;
    tm_buf_init(b);
    return TM_OK;
}
