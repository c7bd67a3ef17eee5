/* The JSON text parser's lexical side: error messages with the line and
 * how the offending byte reads, and string tokens, unescaped in place
 * (\uXXXX escapes and surrogate pairs to UTF-8). The grammar, numbers and
 * the document tree are json.c's. */
#include <stdarg.h>
#include <stdio.h>

#include <turbomode/core.h>

#include "core_int.h"

typedef tm__core_json_parser parser;

tm_status tm__core_json_fail(tm__core_json_parser *ps, tm_status st, const char *fmt, ...)
{
    char reason[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return TM_ERR(ps->err, st, ps->path, ps->line, NULL, "%s", reason);
}

const char *tm__core_json_found(const tm__core_json_parser *ps, const char *p, char buf[16])
{
    unsigned char c = (unsigned char)*p;
    if (p >= ps->end) {
        return "end of input";
    }
    if (c >= 0x20 && c < 0x7f) {
        snprintf(buf, 16, "'%c'", c);
    } else {
        snprintf(buf, 16, "'\\x%02x'", c);
    }
    return buf;
}

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

static char *put_utf8(char *d, uint32_t cp)
{
    if (cp < 0x80) {
        *d++ = (char)cp;
    } else if (cp < 0x800) {
        *d++ = (char)(0xc0 | (cp >> 6));
        *d++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *d++ = (char)(0xe0 | (cp >> 12));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *d++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *d++ = (char)(0xf0 | (cp >> 18));
        *d++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *d++ = (char)(0x80 | (cp & 0x3f));
    }
    return d;
}

/* Decodes \uXXXX (and a following low surrogate) at *sp (just after the
 * backslash-u), writes UTF-8 at *d and advances both. Every
 * escape is at least as long as its UTF-8, so d never passes s. */
static tm_status unicode_escape(parser *ps, char **sp, char **d)
{
    char buf[16];
    char *s = *sp;
    int hi = hex4(s);
    if (hi < 0) {
        return tm__core_json_fail(ps, TM_E_PARSE, "invalid \\u escape: expected 4 hex digits");
    }
    s += 4;
    uint32_t cp = (uint32_t)hi;
    if (hi >= 0xdc00 && hi <= 0xdfff) {
        return tm__core_json_fail(ps, TM_E_PARSE,
                                  "invalid \\u escape: unpaired low surrogate \\u%04x", hi);
    }
    if (hi >= 0xd800 && hi <= 0xdbff) {
        int lo = s[0] == '\\' && s[1] == 'u' ? hex4(s + 2) : -1;
        if (lo < 0xdc00 || lo > 0xdfff) {
            return tm__core_json_fail(
                    ps, TM_E_PARSE,
                    "invalid \\u escape: high surrogate \\u%04x not followed by a low "
                    "surrogate, found %s",
                    hi, tm__core_json_found(ps, s, buf));
        }
        s += 6;
        cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
    }
    *d = put_utf8(*d, cp);
    *sp = s;
    return TM_OK;
}

/* Parses the string whose opening quote is at ps->p; the result is
 * unescaped in place and NUL-terminated where its closing quote was. */
tm_status tm__core_json_string(tm__core_json_parser *ps, const char **out, size_t *len)
{
    char buf[16];
    char *start = ps->p + 1, *s = start;
    while ((unsigned char)*s >= 0x20 && *s != '"' && *s != '\\') {
        s++;
    }
    char *d = s;
    for (;;) {
        unsigned char c = (unsigned char)*s;
        if (c == '"') {
            break;
        }
        if (c < 0x20) {
            ps->p = s;
            if (s >= ps->end) {
                return tm__core_json_fail(ps, TM_E_PARSE, "unterminated string");
            }
            return tm__core_json_fail(ps, TM_E_PARSE, "unescaped control character %s in string",
                                      tm__core_json_found(ps, s, buf));
        }
        if (c != '\\') {
            *d++ = *s++;
            continue;
        }
        char e = s[1];
        s += 2;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            *d++ = e;
            break;
        case 'b':
            *d++ = '\b';
            break;
        case 'f':
            *d++ = '\f';
            break;
        case 'n':
            *d++ = '\n';
            break;
        case 'r':
            *d++ = '\r';
            break;
        case 't':
            *d++ = '\t';
            break;
        case 'u':
            if (unicode_escape(ps, &s, &d) != TM_OK) {
                return TM_E_PARSE;
            }
            break;
        default:
            ps->p = s - 1;
            return tm__core_json_fail(ps, TM_E_PARSE,
                                      "invalid escape in string: expected one of "
                                      "\"\\/bfnrtu after '\\', found %s",
                                      tm__core_json_found(ps, s - 1, buf));
        }
    }
    *d = 0;
    *out = start;
    *len = (size_t)(d - start);
    ps->p = s + 1;
    return TM_OK;
}

/* Integer value of the digits [p, e) with an optional leading '-';
 * false on int64 overflow. */
