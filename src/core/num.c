/* Number parsing shared by the CSV, JSON and model readers: correctly
 * rounded decimal conversion (strtod/strtof), the spellings of NaN and
 * infinity the model formats use, and nothing locale-dependent beyond
 * the C locale the CLI runs in. Also the one argmax (predicted classes). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <turbomode/core.h>

/* Recognises nan/inf spellings; returns 1 for +inf, -1 for -inf, 2 for NaN,
 * 0 for anything else. */
static int special(const char *s, size_t len)
{
    bool neg = false;
    if (len && (*s == '-' || *s == '+')) {
        neg = *s == '-';
        s++;
        len--;
    }
    if ((len == 3 && strncasecmp(s, "nan", 3) == 0)) {
        return 2;
    }
    if ((len == 3 && strncasecmp(s, "inf", 3) == 0) ||
        (len == 8 && strncasecmp(s, "infinity", 8) == 0)) {
        return neg ? -1 : 1;
    }
    return 0;
}

/* Copies s into buf when it is not already terminated at len. */
static const char *terminated(const char *s, size_t len, char *buf, size_t cap)
{
    if (len >= cap) {
        return NULL;
    }
    memcpy(buf, s, len);
    buf[len] = 0;
    return buf;
}

/* A plain decimal: optional sign, digits with one optional point, optional
 * exponent. Rejects hex floats and spaces that strtod would accept. */
static bool plain_decimal(const char *s, size_t len)
{
    size_t i = 0, digits = 0;
    if (i < len && (s[i] == '-' || s[i] == '+')) {
        i++;
    }
    while (i < len && s[i] >= '0' && s[i] <= '9') {
        i++;
        digits++;
    }
    if (i < len && s[i] == '.') {
        i++;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
            digits++;
        }
    }
    if (digits == 0) {
        return false;
    }
    if (i < len && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < len && (s[i] == '-' || s[i] == '+')) {
            i++;
        }
        size_t exp_digits = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            i++;
            exp_digits++;
        }
        if (exp_digits == 0) {
            return false;
        }
    }
    return i == len;
}

/* Checks s and copies it NUL-terminated into buf; 0 when it is a plain
 * decimal, else the special value code (or -2 when it is not a number). */
static int prepare(const char *s, size_t len, char *buf, size_t cap)
{
    int sp = special(s, len);
    if (sp) {
        return sp;
    }
    if (!plain_decimal(s, len) || !terminated(s, len, buf, cap)) {
        return -2;
    }
    return 0;
}

bool tm_parse_double(const char *s, size_t len, double *out)
{
    char buf[512];
    int sp = prepare(s, len, buf, sizeof buf);
    if (sp == -2) {
        return false;
    }
    *out = sp == 2    ? (double)NAN
           : sp == 1  ? (double)INFINITY
           : sp == -1 ? -(double)INFINITY
                      : strtod(buf, NULL);
    return true;
}

bool tm_parse_float(const char *s, size_t len, float *out)
{
    char buf[512];
    int sp = prepare(s, len, buf, sizeof buf);
    if (sp == -2) {
        return false;
    }
    *out = sp == 2 ? NAN : sp == 1 ? INFINITY : sp == -1 ? -INFINITY : strtof(buf, NULL);
    return true;
}

size_t tm_argmax(const double *v, size_t n, size_t stride)
{
    size_t best = 0;
    for (size_t k = 1; k < n; k++) {
        if (v[k * stride] > v[best * stride]) {
            best = k;
        }
    }
    return best;
}
