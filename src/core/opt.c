/* Option tables (tm_opt): setting a field of an options struct from text
 * with its type and range checked, checking a whole struct, and showing a
 * field's value. Messages name the option and the value found. What the
 * options are, and which command takes which, is the caller's table. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core_int.h"

const tm_opt *tm_opt_find(const tm_opt *table, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(table[i].name, name) == 0) {
            return &table[i];
        }
    }
    return NULL;
}

static void *field(const tm_opt *o, void *opts)
{
    return (char *)opts + o->offset;
}

static const void *cfield(const tm_opt *o, const void *opts)
{
    return (const char *)opts + o->offset;
}

/* The n-th choice of "a|b|c" into buf; false past the end. */
static bool choice_at(const char *choices, int n, char *buf, size_t len)
{
    const char *s = choices;
    for (int i = 0; i < n; i++) {
        s = strchr(s, '|');
        if (!s) {
            return false;
        }
        s++;
    }
    size_t k = strcspn(s, "|");
    snprintf(buf, len, "%.*s", (int)k, s);
    return true;
}

static bool parse_date(const char *t, int32_t *out)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(t) != 10 || t[4] != '-' || t[7] != '-') {
        return false;
    }
    for (int i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && (t[i] < '0' || t[i] > '9')) {
            return false;
        }
    }
    int y = atoi(t), m = atoi(t + 5), d = atoi(t + 8);
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1900 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap)) {
        return false;
    }
    *out = y * 10000 + m * 100 + d;
    return true;
}

static tm_status bad(const tm_opt *o, const char *text, tm_err *err, const char *what)
{
    return TM_ERR(err, TM_E_INVALID, NULL, 0, NULL, "--%s: expected %s, found \"%s\"", o->name,
                  what, text);
}

/* The expected-value phrase of a numeric row ("a whole number in 1..1024"). */
static const char *expected(const tm_opt *o, char *buf, size_t len)
{
    if (o->type == TM_OPT_INT) {
        snprintf(buf, len, "a whole number in %.0f..%.0f", o->min, o->max);
    } else {
        snprintf(buf, len, "a finite number in [%g, %g]", o->min, o->max);
    }
    return buf;
}

tm_status tm_opt_set(const tm_opt *o, void *opts, const char *text, tm_err *err)
{
    char what[128];
    switch (o->type) {
    case TM_OPT_FLAG:
    case TM_OPT_UNFLAG:
        *(bool *)field(o, opts) = o->type == TM_OPT_FLAG;
        return TM_OK;
    case TM_OPT_STRING:
        if (!*text) {
            return bad(o, text, err, o->metavar ? "a non-empty value" : "a value");
        }
        *(const char **)field(o, opts) = text;
        return TM_OK;
    case TM_OPT_DATE: {
        int32_t d;
        if (!parse_date(text, &d)) {
            return bad(o, text, err, "a date YYYY-MM-DD");
        }
        *(int32_t *)field(o, opts) = d;
        return TM_OK;
    }
    case TM_OPT_CHOICE:
        for (int i = 0; choice_at(o->choices, i, what, sizeof what); i++) {
            if (strcmp(what, text) == 0) {
                *(int *)field(o, opts) = i;
                return TM_OK;
            }
        }
        snprintf(what, sizeof what, "one of %s", o->choices);
        return bad(o, text, err, what);
    case TM_OPT_UINT64: {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(text, &end, 10);
        if (!*text || strspn(text, "0123456789") != strlen(text) || *end || errno) {
            return bad(o, text, err, "a whole number in 0..18446744073709551615");
        }
        *(uint64_t *)field(o, opts) = (uint64_t)v;
        return TM_OK;
    }
    case TM_OPT_INT:
    case TM_OPT_DOUBLE: {
        double v;
        bool num = tm_parse_double(text, strlen(text), &v);
        if (!num || !isfinite(v) || v < o->min || v > o->max ||
            (o->type == TM_OPT_INT && v != floor(v))) {
            return bad(o, text, err, expected(o, what, sizeof what));
        }
        if (o->type == TM_OPT_INT) {
            *(int *)field(o, opts) = (int)v;
        } else {
            *(double *)field(o, opts) = v;
        }
        return TM_OK;
    }
    }
    return TM_ERR(err, TM_E_INTERNAL, NULL, 0, NULL, "--%s: unknown option type", o->name);
}

tm_status tm_opt_check(const tm_opt *table, size_t n, const void *opts, tm_err *err)
{
    char what[128], val[64];
    for (size_t i = 0; i < n; i++) {
        const tm_opt *o = &table[i];
        double v;
        if (o->type == TM_OPT_INT) {
            v = *(const int *)cfield(o, opts);
        } else if (o->type == TM_OPT_DOUBLE) {
            v = *(const double *)cfield(o, opts);
        } else if (o->type == TM_OPT_CHOICE) {
            int c = *(const int *)cfield(o, opts);
            if (c < 0 || !choice_at(o->choices, c, what, sizeof what)) {
                snprintf(what, sizeof what, "one of %s", o->choices);
                snprintf(val, sizeof val, "%d", c);
                return bad(o, val, err, what);
            }
            continue;
        } else {
            continue;
        }
        if (o->shown && v == 0) {
            continue; /* 0: the default that `shown` describes */
        }
        if (!(v >= o->min && v <= o->max)) { /* NaN fails too */
            return bad(o, tm_opt_format(o, opts, val, sizeof val), err,
                       expected(o, what, sizeof what));
        }
    }
    return TM_OK;
}

char *tm_opt_format(const tm_opt *o, const void *opts, char *buf, size_t len)
{
    const void *f = cfield(o, opts);
    buf[0] = 0;
    switch (o->type) {
    case TM_OPT_FLAG:
    case TM_OPT_UNFLAG:
        snprintf(buf, len, "%s", *(const bool *)f ? "true" : "false");
        break;
    case TM_OPT_INT:
        snprintf(buf, len, "%d", *(const int *)f);
        break;
    case TM_OPT_UINT64:
        snprintf(buf, len, "%llu", (unsigned long long)*(const uint64_t *)f);
        break;
    case TM_OPT_DOUBLE: {
        double v = *(const double *)f, back;
        snprintf(buf, len, "%.15g", v); /* the shortest of 15 and 17 digits that reads back */
        if (!tm_parse_double(buf, strlen(buf), &back) || back != v) {
            snprintf(buf, len, "%.17g", v);
        }
        break;
    }
    case TM_OPT_STRING:
        snprintf(buf, len, "%s", *(const char *const *)f ? *(const char *const *)f : "");
        break;
    case TM_OPT_DATE: {
        int32_t d = *(const int32_t *)f;
        if (d) {
            snprintf(buf, len, "%04d-%02d-%02d", (int)(d / 10000), (int)(d / 100 % 100),
                     (int)(d % 100));
        }
        break;
    }
    case TM_OPT_CHOICE:
        choice_at(o->choices, *(const int *)f, buf, len);
        break;
    }
    return buf;
}

char *tm_opt_usage(const tm_opt *o, char *buf, size_t len)
{
    if (o->type == TM_OPT_FLAG || o->type == TM_OPT_UNFLAG) {
        snprintf(buf, len, "--%s", o->name);
    } else if (o->type == TM_OPT_CHOICE) {
        snprintf(buf, len, "--%s %s", o->name, o->choices);
    } else {
        snprintf(buf, len, "--%s %s", o->name, o->metavar ? o->metavar : "VALUE");
    }
    return buf;
}
