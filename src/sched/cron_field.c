/* CronTrigger fields and their expressions, as apscheduler/triggers/cron/
 * fields.py and expressions.py define them: the same matching order, the
 * same (partly unanchored) patterns, the same validation messages, and the
 * same get_next_value arithmetic. The search itself is in cron_next.c. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sched/sched_int.h"

const char *const tm__sched_field_names[TM__F_COUNT] = {"year",        "month", "day",    "week",
                                                        "day_of_week", "hour",  "minute", "second"};
static const int min_values[TM__F_COUNT] = {1970, 1, 1, 1, 0, 0, 0, 0};
static const int max_values[TM__F_COUNT] = {9999, 12, 31, 53, 6, 23, 59, 59};
static const char *const weekdays[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
static const char *const months[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const positions[6] = {"1st", "2nd", "3rd", "4th", "5th", "last"};

/* Python's `$`: the end, or just before a final newline. */
static bool at_end(const char *p, const char *end)
{
    return p == end || (p + 1 == end && *p == '\n');
}

/* \d+ ; returns false when no digit. Values are capped (asint of a huge
 * number only matters through comparisons against small bounds). */
static bool num(const char **p, const char *end, int *v)
{
    long long x = 0;
    const char *s = *p;
    while (*p < end && isdigit((unsigned char)**p)) {
        if (x < 1000000000) {
            x = x * 10 + (**p - '0');
        }
        (*p)++;
    }
    *v = (int)x;
    return *p > s;
}

static size_t letters(const char *p, const char *end)
{
    size_t n = 0;
    while (p + n < end && isalpha((unsigned char)p[n])) {
        n++;
    }
    return n;
}

static int name_index(const char *const *names, int n, const char *s, size_t len)
{
    for (int i = 0; i < n; i++) {
        if (strlen(names[i]) == len && strncasecmp(names[i], s, len) == 0) {
            return i;
        }
    }
    return -1;
}

typedef enum { NO_MATCH, MATCHED, FAILED } match;

/* r'\*(?:/(?P<step>\d+))?$' */
static match match_all(const char *s, const char *end, tm__sched_expr *x, char *msg, size_t ml)
{
    const char *p = s;
    if (p == end || *p != '*') {
        return NO_MATCH;
    }
    p++;
    int step = 0;
    if (p < end && *p == '/') {
        const char *q = p + 1;
        if (num(&q, end, &step)) {
            p = q;
        }
    }
    if (!at_end(p, end)) {
        return NO_MATCH;
    }
    if (p > s + 1 && step == 0) {
        snprintf(msg, ml, "Increment must be higher than 0");
        return FAILED;
    }
    x->kind = TM__X_ALL;
    x->step = step;
    return MATCHED;
}

/* r'(?P<first>\d+)(?:-(?P<last>\d+))?(?:/(?P<step>\d+))?$' */
static match match_range(const char *s, const char *end, tm__sched_expr *x, char *msg, size_t ml)
{
    const char *p = s;
    int first, last = -1, step = 0;
    bool has_step = false;
    if (!num(&p, end, &first)) {
        return NO_MATCH;
    }
    if (p < end && *p == '-') {
        const char *q = p + 1;
        if (num(&q, end, &last)) {
            p = q;
        }
    }
    if (p < end && *p == '/') {
        const char *q = p + 1;
        if (num(&q, end, &step)) {
            p = q;
            has_step = true;
        }
    }
    if (!at_end(p, end)) {
        return NO_MATCH;
    }
    if (has_step && step == 0) {
        snprintf(msg, ml, "Increment must be higher than 0");
        return FAILED;
    }
    if (last < 0 && !has_step) {
        last = first;
    }
    if (last >= 0 && first > last) {
        snprintf(msg, ml, "The minimum value in a range must not be higher than the maximum");
        return FAILED;
    }
    x->kind = TM__X_RANGE;
    x->first = first;
    x->last = last;
    x->step = step;
    return MATCHED;
}

/* r'(?P<first>[a-z]+)(?:-(?P<last>[a-z]+))?' with IGNORECASE, unanchored:
 * month and weekday names; anything after the match is ignored. */
static match match_names(const char *s, const char *end, bool is_month, tm__sched_expr *x,
                         char *msg, size_t ml)
{
    size_t n1 = letters(s, end);
    if (n1 == 0) {
        return NO_MATCH;
    }
    const char *l2 = NULL;
    size_t n2 = 0;
    if (s + n1 < end && s[n1] == '-') {
        n2 = letters(s + n1 + 1, end);
        l2 = n2 ? s + n1 + 1 : NULL;
    }
    const char *const *names = is_month ? months : weekdays;
    int count = is_month ? 12 : 7, base = is_month ? 1 : 0;
    const char *what = is_month ? "month" : "weekday";
    int first = name_index(names, count, s, n1);
    if (first < 0) {
        snprintf(msg, ml, "Invalid %s name \"%.*s\"", what, (int)n1, s);
        return FAILED;
    }
    int last = first;
    if (l2) {
        last = name_index(names, count, l2, n2);
        if (last < 0) {
            snprintf(msg, ml, "Invalid %s name \"%.*s\"", what, (int)n2, l2);
            return FAILED;
        }
    }
    if (first > last) {
        snprintf(msg, ml, "The minimum value in a range must not be higher than the maximum");
        return FAILED;
    }
    x->kind = is_month ? TM__X_MONTHS : TM__X_WEEKDAYS;
    x->first = first + base;
    x->last = last + base;
    x->step = 0;
    return MATCHED;
}

static bool word_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c >= 0x80;
}

/* r'(?P<option_name>1st|2nd|3rd|4th|5th|last) +(?P<weekday_name>(?:\d+|\w+))' */
static match match_position(const char *s, const char *end, tm__sched_expr *x, char *msg, size_t ml)
{
    for (int o = 0; o < 6; o++) {
        size_t ol = strlen(positions[o]);
        if ((size_t)(end - s) < ol || strncasecmp(s, positions[o], ol) != 0) {
            continue;
        }
        const char *p = s + ol;
        if (p >= end || *p != ' ') {
            continue;
        }
        while (p < end && *p == ' ') {
            p++;
        }
        const char *w = p;
        if (p < end && isdigit((unsigned char)*p)) {
            while (p < end && isdigit((unsigned char)*p)) {
                p++;
            }
        } else {
            while (p < end && word_char((unsigned char)*p)) {
                p++;
            }
        }
        if (p == w) {
            continue;
        }
        int wd = name_index(weekdays, 7, w, (size_t)(p - w));
        if (wd < 0) {
            snprintf(msg, ml, "Invalid weekday name \"%.*s\"", (int)(p - w), w);
            return FAILED;
        }
        x->kind = TM__X_POSITION;
        x->pos = o;
        x->weekday = wd;
        x->step = 0;
        return MATCHED;
    }
    return NO_MATCH;
}

/* validate_range of AllExpression / RangeExpression. */
static bool validate(int field, const tm__sched_expr *x, char *msg, size_t ml)
{
    int lo = min_values[field], hi = max_values[field];
    if (x->kind == TM__X_ALL || x->kind == TM__X_RANGE || x->kind == TM__X_MONTHS ||
        x->kind == TM__X_WEEKDAYS) {
        if (x->step && x->step > hi - lo) {
            snprintf(msg, ml,
                     "the step value (%d) is higher than the total range of the "
                     "expression (%d)",
                     x->step, hi - lo);
            return false;
        }
    }
    if (x->kind == TM__X_RANGE || x->kind == TM__X_MONTHS || x->kind == TM__X_WEEKDAYS) {
        if (x->first < lo) {
            snprintf(msg, ml, "the first value (%d) is lower than the minimum value (%d)", x->first,
                     lo);
            return false;
        }
        if (x->last >= 0 && x->last > hi) {
            snprintf(msg, ml, "the last value (%d) is higher than the maximum value (%d)", x->last,
                     hi);
            return false;
        }
        int range = (x->last > 0 ? x->last : hi) - x->first; /* (self.last or MAX) */
        if (x->step && x->step > range) {
            snprintf(msg, ml,
                     "the step value (%d) is higher than the total range of the "
                     "expression (%d)",
                     x->step, range);
            return false;
        }
    }
    return true;
}

static tm_status compile_one(int field, const char *s, const char *end, tm__sched_field *out,
                             char *msg, size_t ml)
{
    tm__sched_expr x;
    memset(&x, 0, sizeof x);
    x.last = -1;
    char inner[256] = "";
    match m = match_all(s, end, &x, inner, sizeof inner);
    if (m == NO_MATCH) {
        m = match_range(s, end, &x, inner, sizeof inner);
    }
    if (m == NO_MATCH && field == TM__F_MONTH) {
        m = match_names(s, end, true, &x, inner, sizeof inner);
    }
    if (m == NO_MATCH && field == TM__F_DOW) {
        m = match_names(s, end, false, &x, inner, sizeof inner);
    }
    if (m == NO_MATCH && field == TM__F_DAY) {
        m = match_position(s, end, &x, inner, sizeof inner);
        if (m == NO_MATCH && end - s >= 4 && strncasecmp(s, "last", 4) == 0) {
            x.kind = TM__X_LASTDAY;
            m = MATCHED;
        }
    }
    if (m == NO_MATCH) {
        snprintf(msg, ml, "Unrecognized expression \"%.*s\" for field \"%s\"", (int)(end - s), s,
                 tm__sched_field_names[field]);
        return TM_E_INVALID;
    }
    if (m == FAILED) {
        snprintf(msg, ml, "%s", inner);
        return TM_E_INVALID;
    }
    if (!validate(field, &x, inner, sizeof inner)) {
        snprintf(msg, ml, "Error validating expression '%.*s': %s", (int)(end - s), s, inner);
        return TM_E_INVALID;
    }
    tm__sched_expr *nx = tm_realloc_n(out->x, out->n + 1, sizeof *nx);
    if (!nx) {
        snprintf(msg, ml, "out of memory");
        return TM_E_NOMEM;
    }
    out->x = nx;
    out->x[out->n++] = x;
    return TM_OK;
}

tm_status tm__sched_field_compile(int field, const char *text, bool is_default,
                                  tm__sched_field *out, char *msg, size_t msg_len)
{
    memset(out, 0, sizeof *out);
    out->is_default = is_default;
    /* str(exprs).strip(), then split on ' *, *' */
    const char *s = text, *e = text + strlen(text);
    while (s < e && isspace((unsigned char)*s)) {
        s++;
    }
    while (e > s && isspace((unsigned char)e[-1])) {
        e--;
    }
    for (;;) {
        const char *comma = memchr(s, ',', (size_t)(e - s));
        const char *piece_end = comma ? comma : e;
        while (comma && piece_end > s && piece_end[-1] == ' ') {
            piece_end--;
        }
        tm_status st = compile_one(field, s, piece_end, out, msg, msg_len);
        if (st != TM_OK) {
            tm__sched_field_fini(out);
            return st;
        }
        if (!comma) {
            break;
        }
        s = comma + 1;
        while (s < e && *s == ' ') {
            s++;
        }
    }
    return TM_OK;
}

void tm__sched_field_fini(tm__sched_field *f)
{
    tm_free(f->x);
    f->x = NULL;
    f->n = 0;
}

char *tm__sched_field_str(const tm__sched_field *f, int field, char *buf, size_t len)
{
    (void)field;
    size_t at = 0;
    buf[0] = 0;
    for (size_t i = 0; i < f->n && at < len; i++) {
        const tm__sched_expr *x = &f->x[i];
        char one[64];
        switch (x->kind) {
        case TM__X_ALL:
            if (x->step) {
                snprintf(one, sizeof one, "*/%d", x->step);
            } else {
                snprintf(one, sizeof one, "*");
            }
            break;
        case TM__X_RANGE:
            if (x->last != x->first && x->last >= 0) {
                snprintf(one, sizeof one, "%d-%d", x->first, x->last);
            } else {
                snprintf(one, sizeof one, "%d", x->first);
            }
            if (x->step) {
                size_t l = strlen(one);
                snprintf(one + l, sizeof one - l, "/%d", x->step);
            }
            break;
        case TM__X_MONTHS:
        case TM__X_WEEKDAYS: {
            const char *const *names = x->kind == TM__X_MONTHS ? months : weekdays;
            int base = x->kind == TM__X_MONTHS ? 1 : 0;
            if (x->last != x->first) {
                snprintf(one, sizeof one, "%s-%s", names[x->first - base], names[x->last - base]);
            } else {
                snprintf(one, sizeof one, "%s", names[x->first - base]);
            }
            break;
        }
        case TM__X_POSITION:
            snprintf(one, sizeof one, "%s %s", positions[x->pos], weekdays[x->weekday]);
            break;
        case TM__X_LASTDAY:
            snprintf(one, sizeof one, "last");
            break;
        }
        at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? "," : "", one);
    }
    return buf;
}

int tm__sched_field_value(int field, int64_t wall)
{
    tm__sched_fields f;
    tm__sched_split(wall, &f);
    switch (field) {
    case TM__F_YEAR:
        return f.year;
    case TM__F_MONTH:
        return f.month;
    case TM__F_DAY:
        return f.day;
    case TM__F_WEEK:
        return tm_iso_week(f.year, f.month, f.day);
    case TM__F_DOW:
        return tm_weekday(f.year, f.month, f.day);
    case TM__F_HOUR:
        return f.hour;
    case TM__F_MINUTE:
        return f.minute;
    default:
        return f.second;
    }
}

static int pymod(int a, int b)
{
    return (int)tm_floormod(a, b);
}

static int expr_next(const tm__sched_expr *x, int field, int64_t wall)
{
    tm__sched_fields f;
    tm__sched_split(wall, &f);
    int value = tm__sched_field_value(field, wall);
    int lo = min_values[field];
    int hi = field == TM__F_DAY ? tm_days_in_month(f.year, f.month) : max_values[field];
    switch (x->kind) {
    case TM__X_ALL: {
        int start = value > lo ? value : lo;
        int next = x->step ? start + pymod(x->step - (start - lo), x->step) : start;
        return next <= hi ? next : -1;
    }
    case TM__X_RANGE:
    case TM__X_MONTHS:
    case TM__X_WEEKDAYS: {
        int minval = lo > x->first ? lo : x->first;
        int maxval = x->last >= 0 && x->last < hi ? x->last : hi;
        int next = value > minval ? value : minval;
        if (x->step) {
            next += pymod(x->step - (next - minval), x->step);
        }
        return next <= maxval ? next : -1;
    }
    case TM__X_POSITION: {
        int first_wday = tm_weekday(f.year, f.month, 1);
        int last_day = tm_days_in_month(f.year, f.month);
        int first_hit = x->weekday - first_wday + 1;
        if (first_hit <= 0) {
            first_hit += 7;
        }
        int target =
                x->pos < 5 ? first_hit + x->pos * 7 : first_hit + ((last_day - first_hit) / 7) * 7;
        return target <= last_day && target >= f.day ? target : -1;
    }
    case TM__X_LASTDAY:
        return tm_days_in_month(f.year, f.month);
    }
    return -1;
}

int tm__sched_field_next(const tm__sched_field *f, int field, int64_t wall)
{
    int best = -1;
    for (size_t i = 0; i < f->n; i++) {
        int v = expr_next(&f->x[i], field, wall);
        if (v >= 0 && (best < 0 || v < best)) {
            best = v;
        }
    }
    return best;
}
