/* Wall-clock instants (microseconds on the proleptic Gregorian calendar,
 * day arithmetic from core), ISO 8601 parsing and printing of instants, APScheduler's date
 * string conversion (convert_to_datetime) and durations. Zones and their
 * offsets live in tz.c. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sched/sched_int.h"

int64_t tm__sched_wall(const tm__sched_fields *f)
{
    int64_t days = tm_days_from_civil(f->year, f->month, f->day);
    int64_t secs = days * 86400 + f->hour * 3600 + f->minute * 60 + f->second;
    return secs * TM__US + f->usec;
}

void tm__sched_split(int64_t wall, tm__sched_fields *f)
{
    int64_t days = tm_floordiv(wall, TM__US_DAY);
    int64_t rest = wall - days * TM__US_DAY;
    tm_civil_from_days(days, &f->year, &f->month, &f->day);
    int64_t secs = rest / TM__US;
    f->usec = (int)(rest % TM__US);
    f->hour = (int)(secs / 3600);
    f->minute = (int)(secs / 60 % 60);
    f->second = (int)(secs % 60);
}

char *tm__sched_format_wall(int64_t wall, int32_t off, char *buf, size_t len)
{
    tm__sched_fields f;
    tm__sched_split(wall, &f);
    char frac[16] = "";
    if (f.usec) {
        snprintf(frac, sizeof frac, ".%06d", f.usec);
    }
    char sign = off < 0 ? '-' : '+';
    int32_t a = off < 0 ? -off : off;
    char tz[16];
    if (a % 60) {
        snprintf(tz, sizeof tz, "%c%02d:%02d:%02d", sign, a / 3600, a / 60 % 60, a % 60);
    } else {
        snprintf(tz, sizeof tz, "%c%02d:%02d", sign, a / 3600, a / 60 % 60);
    }
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%s%s", f.year, f.month, f.day, f.hour,
             f.minute, f.second, frac, tz);
    return buf;
}

char *tm_sched_time_format(tm_sched_time t, const tm_sched_zone *z, char *buf, size_t len)
{
    if (t == TM_SCHED_NEVER) {
        snprintf(buf, len, "null");
        return buf;
    }
    int32_t off = z ? tm_sched_zone_offset(z, t) : 0;
    return tm__sched_format_wall(t + (int64_t)off * TM__US, off, buf, len);
}

tm_sched_time tm_sched_time_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * TM__US + ts.tv_nsec / 1000;
}

/* Reads exactly n..m digits at *p; returns -1 when fewer than n. */
static long digits(const char **p, int n, int m)
{
    long v = 0;
    int k = 0;
    while (k < m && isdigit((unsigned char)**p)) {
        v = v * 10 + (**p - '0');
        (*p)++;
        k++;
    }
    return k < n ? -1 : v;
}

/* Python's datetime() argument checks, in its order. */
static const char *check_fields(const tm__sched_fields *f)
{
    if (f->year < 1 || f->year > 9999) {
        return "year is out of range";
    }
    if (f->month < 1 || f->month > 12) {
        return "month must be in 1..12";
    }
    if (f->day < 1 || f->day > tm_days_in_month(f->year, f->month)) {
        return "day is out of range for month";
    }
    if (f->hour > 23) {
        return "hour must be in 0..23";
    }
    if (f->minute > 59) {
        return "minute must be in 0..59";
    }
    if (f->second > 59) {
        return "second must be in 0..59";
    }
    return NULL;
}

tm_status tm_sched_time_parse(const char *text, const tm_sched_zone *zone, tm_sched_time *out,
                              tm_err *err)
{
    const char *p = text;
    tm__sched_fields f = {0, 0, 0, 0, 0, 0, 0};
    long v[5];
    v[0] = digits(&p, 4, 4);
    bool ok = v[0] >= 0 && *p++ == '-';
    ok = ok && (v[1] = digits(&p, 2, 2)) >= 0 && *p++ == '-';
    ok = ok && (v[2] = digits(&p, 2, 2)) >= 0 && (*p == 'T' || *p == ' ');
    ok = ok && (p++, (v[3] = digits(&p, 2, 2)) >= 0) && *p++ == ':';
    ok = ok && (v[4] = digits(&p, 2, 2)) >= 0;
    if (!ok) {
        return TM_ERR(err, TM_E_PARSE, NULL, 0, NULL,
                      "expected an ISO 8601 time (2026-03-08T03:00:00-04:00), found \"%s\"", text);
    }
    f.year = (int)v[0];
    f.month = (int)v[1];
    f.day = (int)v[2];
    f.hour = (int)v[3];
    f.minute = (int)v[4];
    if (*p == ':') {
        p++;
        long s = digits(&p, 2, 2);
        if (s < 0) {
            return TM_ERR(err, TM_E_PARSE, NULL, 0, NULL, "bad seconds in time \"%s\"", text);
        }
        f.second = (int)s;
        if (*p == '.') {
            p++;
            const char *q = p;
            long us = digits(&p, 1, 6);
            if (us < 0) {
                return TM_ERR(err, TM_E_PARSE, NULL, 0, NULL, "bad fraction in time \"%s\"", text);
            }
            for (long k = p - q; k < 6; k++) {
                us *= 10;
            }
            f.usec = (int)us;
        }
    }
    const char *bad = check_fields(&f);
    if (bad) {
        return TM_ERR(err, TM_E_PARSE, NULL, 0, NULL, "bad time \"%s\": %s", text, bad);
    }
    int64_t wall = tm__sched_wall(&f);
    if (*p == 'Z' && p[1] == 0) {
        *out = wall;
        return TM_OK;
    }
    if ((*p == '+' || *p == '-') && p[1]) {
        int sign = *p++ == '-' ? -1 : 1;
        long hh = digits(&p, 2, 2), mm = 0, ss = 0;
        ok = hh >= 0 && *p++ == ':' && (mm = digits(&p, 2, 2)) >= 0;
        if (ok && *p == ':') {
            p++;
            ok = (ss = digits(&p, 2, 2)) >= 0;
        }
        if (!ok || *p || hh > 23 || mm > 59 || ss > 59) {
            return TM_ERR(err, TM_E_PARSE, NULL, 0, NULL, "bad UTC offset in time \"%s\"", text);
        }
        *out = wall - sign * (hh * 3600 + mm * 60 + ss) * TM__US;
        return TM_OK;
    }
    if (*p == 0 && zone) {
        *out = tm_sched_zone_localize(zone, wall);
        return TM_OK;
    }
    return TM_ERR(err, TM_E_PARSE, NULL, 0, NULL,
                  "expected a UTC offset (Z or +HH:MM) at the end of \"%s\"", text);
}

/* Digits for apscheduler.util._DATE_REGEX groups (\d{1,n}). */
static bool rx_digits(const char **p, int lo, int hi, long *v)
{
    *v = digits(p, lo, hi);
    return *v >= 0 && !isdigit((unsigned char)**p);
}

tm_status tm__sched_convert_datetime(const char *text, const tm_sched_zone *tz, const char *arg,
                                     tm_sched_time *inst, int64_t *wall, int32_t *off,
                                     int32_t *fixed_min, tm_err *err)
{
    /* (?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})
       (?:[ T](?P<hour>\d{1,2}):(?P<minute>\d{1,2}):(?P<second>\d{1,2})
       (?:\.(?P<microsecond>\d{1,6}))?(?P<timezone>Z|[+-]\d\d:\d\d)?)?$ */
    const char *p = text;
    long y, mo, d, h = 0, mi = 0, s = 0, us = 0;
    *fixed_min = INT32_MIN;
    bool ok = (y = digits(&p, 4, 4)) >= 0 && *p++ == '-' && rx_digits(&p, 1, 2, &mo) &&
              *p++ == '-' && rx_digits(&p, 1, 2, &d);
    if (ok && (*p == ' ' || *p == 'T')) {
        p++;
        ok = rx_digits(&p, 1, 2, &h) && *p++ == ':' && rx_digits(&p, 1, 2, &mi) && *p++ == ':' &&
             rx_digits(&p, 1, 2, &s);
        if (ok && *p == '.') {
            p++;
            ok = rx_digits(&p, 1, 6, &us); /* int() of the digits, as APScheduler */
        }
        if (ok && *p == 'Z') {
            p++;
            *fixed_min = 0;
        } else if (ok && (*p == '+' || *p == '-')) {
            int sign = *p++ == '-' ? -1 : 1;
            long hh, mm;
            ok = (hh = digits(&p, 2, 2)) >= 0 && *p++ == ':' && (mm = digits(&p, 2, 2)) >= 0;
            if (ok) {
                *fixed_min = (int32_t)(sign * (hh * 60 + mm));
            }
        }
    }
    ok = ok && (*p == 0 || (*p == '\n' && p[1] == 0));
    if (!ok) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, arg, "ValueError: Invalid date string");
    }
    if (*fixed_min != INT32_MIN && (*fixed_min >= 1440 || *fixed_min <= -1440)) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, arg,
                      "ValueError: ('absolute offset is too large', %d)", (int)*fixed_min);
    }
    tm__sched_fields f = {(int)y, (int)mo, (int)d, (int)h, (int)mi, (int)s, (int)us};
    const char *bad = check_fields(&f);
    if (bad) {
        if (f.year < 1 || f.year > 9999) {
            return TM_ERR(err, TM_E_INVALID, NULL, 0, arg, "ValueError: year %d is out of range",
                          f.year);
        }
        return TM_ERR(err, TM_E_INVALID, NULL, 0, arg, "ValueError: %s", bad);
    }
    *wall = tm__sched_wall(&f);
    if (*fixed_min != INT32_MIN) {
        *off = *fixed_min * 60;
        *inst = *wall - (int64_t)*off * TM__US;
    } else {
        *inst = tm__sched_localize(tz, *wall, off);
    }
    return TM_OK;
}

tm_status tm_sched_duration_parse(const char *text, double *seconds, tm_err *err)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || errno || !isfinite(v) || v < 0) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, NULL,
                      "expected a duration (90, 45s, 30m, 2h, 365d, 1w), found \"%s\"", text);
    }
    double unit = 1;
    switch (*end) {
    case 0:
    case 's':
        break;
    case 'm':
        unit = 60;
        break;
    case 'h':
        unit = 3600;
        break;
    case 'd':
        unit = 86400;
        break;
    case 'w':
        unit = 604800;
        break;
    default:
        unit = -1;
    }
    if (unit < 0 || (*end && end[1])) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, NULL,
                      "expected a duration (90, 45s, 30m, 2h, 365d, 1w), found \"%s\"", text);
    }
    *seconds = v * unit;
    return TM_OK;
}
