/* Status codes and the caller-owned error record. The table lives in
 * core.h (TM_STATUS_MAP); tm_err holds fixed-size fields so recording an
 * error never allocates. The first recorded error wins. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <turbomode/core.h>

const char *tm_status_name(tm_status st)
{
    switch (st) {
#define TM_STATUS_NAME(code, value, name, text)                                                    \
    case code:                                                                                     \
        return name;
        TM_STATUS_MAP(TM_STATUS_NAME)
#undef TM_STATUS_NAME
    }
    return "unknown";
}

const char *tm_status_text(tm_status st)
{
    switch (st) {
#define TM_STATUS_TEXT(code, value, name, text)                                                    \
    case code:                                                                                     \
        return text;
        TM_STATUS_MAP(TM_STATUS_TEXT)
#undef TM_STATUS_TEXT
    }
    return "unknown status";
}

void tm_err_init(tm_err *err)
{
    if (err) {
        memset(err, 0, sizeof *err);
    }
}

static void copy_field(char *dst, size_t cap, const char *src)
{
    if (!src) {
        dst[0] = 0;
        return;
    }
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1;
    }
    memcpy(dst, src, n);
    dst[n] = 0;
}

tm_status tm__err_set(tm_err *err, tm_status st, const char *path, long line, const char *field,
                      const char *src_file, int src_line, const char *fmt, ...)
{
    if (!err || err->status != TM_OK || st == TM_OK) {
        return st;
    }
    err->status = st;
    copy_field(err->path, sizeof err->path, path);
    copy_field(err->field, sizeof err->field, field);
    err->line = line;
    err->src_file = src_file;
    err->src_line = src_line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->reason, sizeof err->reason, fmt, ap);
    va_end(ap);
    /* Keep the message on one line whatever the input contained. */
    for (char *p = err->reason; *p; p++) {
        if (*p == '\n' || *p == '\r') {
            *p = ' ';
        }
    }
    return st;
}

char *tm_err_format(const tm_err *err, char *buf, size_t len)
{
    if (!buf || len == 0) {
        return buf;
    }
    buf[0] = 0;
    if (!err) {
        return buf;
    }
    size_t n = 0;
#define APPEND(...)                                                                                \
    do {                                                                                           \
        if (n < len) {                                                                             \
            int w = snprintf(buf + n, len - n, __VA_ARGS__);                                       \
            n += w > 0 ? (size_t)w : 0;                                                            \
        }                                                                                          \
    } while (0)
    if (err->path[0]) {
        APPEND("%s:", err->path);
        if (err->line > 0) {
            APPEND("%ld:", err->line);
        }
        APPEND(" ");
    } else if (err->line > 0) {
        APPEND("line %ld: ", err->line);
    }
    if (err->field[0]) {
        APPEND("field '%s': ", err->field);
    }
    APPEND("%s", err->reason[0] ? err->reason : tm_status_text(err->status));
#undef APPEND
    return buf;
}
