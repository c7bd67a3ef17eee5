/* Trigger construction from APScheduler keyword arguments: the checks in
 * the constructors' order (unknown keyword, timezone, start/end or run
 * date, then the cron fields from year to second with APScheduler's
 * defaulting rule), str(trigger), and a canonical signature that tells
 * the daemon whether a job's schedule changed. The search is cron_next.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched_int.h"

static const char *const cron_keys[] = {"year",        "month",    "day",      "week",
                                        "day_of_week", "hour",     "minute",   "second",
                                        "start_date",  "end_date", "timezone", "jitter"};
static const char *const interval_keys[] = {"weeks",    "days",     "hours",
                                            "minutes",  "seconds",  "start_date",
                                            "end_date", "timezone", "jitter"};
static const char *const date_keys[] = {"run_date", "timezone"};

/* Python's default: the scheduler's timezone in TurboMode. */
#define DEFAULT_TZ "America/New_York"

static const char *const class_names[] = {"CronTrigger", "IntervalTrigger", "DateTrigger"};

static const tm_sched_kv *find_kv(const tm_sched_kv *kv, size_t n, const char *key)
{
    const tm_sched_kv *hit = NULL;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(kv[i].key, key) == 0) {
            hit = &kv[i];
        }
    }
    return hit && hit->value ? hit : NULL;
}

static tm_status check_keys(tm__sched_kind kind, const tm_sched_kv *kv, size_t n, tm_err *err)
{
    const char *const *keys = kind == TM__CRON       ? cron_keys
                              : kind == TM__INTERVAL ? interval_keys
                                                     : date_keys;
    size_t nk = kind == TM__CRON ? 12 : kind == TM__INTERVAL ? 9 : 2;
    for (size_t i = 0; i < n; i++) {
        bool known = false;
        for (size_t k = 0; k < nk; k++) {
            known = known || strcmp(kv[i].key, keys[k]) == 0;
        }
        if (!known) {
            return TM_ERR(err, TM_E_INVALID, NULL, 0, kv[i].key,
                          "TypeError: %s.__init__() got an unexpected keyword argument '%s'",
                          class_names[kind], kv[i].key);
        }
    }
    const tm_sched_kv *j = find_kv(kv, n, "jitter");
    if (j) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, "jitter",
                      "ValueError: jitter is not supported (it makes fire times random)");
    }
    return TM_OK;
}

/* A date argument (start_date, end_date, run_date). */
static tm_status date_arg(tm_sched_trigger *t, const tm_sched_kv *kv, size_t n, const char *key,
                          tm_sched_time *inst, int64_t *wall, int32_t *off, bool set_shown,
                          tm_err *err)
{
    const tm_sched_kv *a = find_kv(kv, n, key);
    *inst = TM_SCHED_NEVER;
    if (!a) {
        return TM_OK;
    }
    if (!a->is_string) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, key, "TypeError: Unsupported type for %s: %s",
                      key, strchr(a->value, '.') ? "float" : "int");
    }
    int32_t fixed;
    int64_t w;
    int32_t o;
    tm_status st = tm__sched_convert_datetime(a->value, t->tz, key, inst, &w, &o, &fixed, err);
    if (st != TM_OK) {
        return st;
    }
    if (wall) {
        *wall = w;
        *off = o;
    }
    if (set_shown && fixed != INT32_MIN) {
        tm_sched_zone *z;
        st = tm_sched_zone_fixed(fixed * 60, &z, err);
        if (st != TM_OK) {
            return st;
        }
        if (fixed == 0 && strchr(a->value, 'Z')) {
            snprintf(z->name, sizeof z->name, "UTC");
        }
        t->shown = z;
    }
    return TM_OK;
}

static tm_status build_cron(tm_sched_trigger *t, const tm_sched_kv *kv, size_t n, tm_err *err)
{
    const tm_sched_kv *given[TM__F_COUNT];
    int last_given = -1;
    for (int i = 0; i < TM__F_COUNT; i++) {
        given[i] = find_kv(kv, n, tm__sched_field_names[i]);
        if (given[i]) {
            last_given = i;
        }
    }
    static const char *const defaults[TM__F_COUNT] = {"*", "1", "1", "*", "*", "0", "0", "0"};
    char *p = t->desc;
    size_t left = sizeof t->desc;
    int w = snprintf(p, left, "cron[");
    p += w;
    left -= (size_t)w;
    bool any = false;
    for (int i = 0; i < TM__F_COUNT; i++) {
        const char *text = given[i]                            ? given[i]->value
                           : i > last_given && last_given >= 0 ? defaults[i]
                                                               : "*";
        char msg[512];
        tm_status st = tm__sched_field_compile(i, text, !given[i], &t->f[i], msg, sizeof msg);
        if (st == TM_E_NOMEM) {
            return TM_ERR(err, st, NULL, 0, NULL, "out of memory");
        }
        if (st != TM_OK) {
            return TM_ERR(err, st, NULL, 0, tm__sched_field_names[i], "ValueError: %s", msg);
        }
        if (given[i]) {
            char fs[256];
            w = snprintf(p, left, "%s%s='%s'", any ? ", " : "", tm__sched_field_names[i],
                         tm__sched_field_str(&t->f[i], i, fs, sizeof fs));
            if (w > 0 && (size_t)w < left) {
                p += w;
                left -= (size_t)w;
            }
            any = true;
        }
    }
    snprintf(p, left, "]");
    return TM_OK;
}

/* str(timedelta): "42 days, 0:00:00", "1 day, 2:03:04.500000". */
static void td_str(int64_t us, char *buf, size_t len)
{
    int64_t days = tm_floordiv(us, TM__US_DAY);
    int64_t rest = us - days * TM__US_DAY;
    int64_t s = rest / TM__US, f = rest % TM__US;
    char day[48] = "";
    if (days) {
        snprintf(day, sizeof day, "%lld day%s, ", (long long)days,
                 days == 1 || days == -1 ? "" : "s");
    }
    char frac[16] = "";
    if (f) {
        snprintf(frac, sizeof frac, ".%06lld", (long long)f);
    }
    char whole[128]; /* room for any value: the caller's buffer may be shorter */
    snprintf(whole, sizeof whole, "%s%lld:%02lld:%02lld%s", day, (long long)(s / 3600),
             (long long)(s / 60 % 60), (long long)(s % 60), frac);
    size_t n = strlen(whole) < len ? strlen(whole) : len - 1;
    memcpy(buf, whole, n);
    buf[n] = 0;
}

static tm_status build_interval(tm_sched_trigger *t, const tm_sched_kv *kv, size_t n, tm_err *err)
{
    static const char *const units[5] = {"weeks", "days", "hours", "minutes", "seconds"};
    static const double unit_us[5] = {604800e6, 86400e6, 3600e6, 60e6, 1e6};
    long double total = 0;
    for (int i = 0; i < 5; i++) {
        const tm_sched_kv *a = find_kv(kv, n, units[i]);
        if (!a) {
            continue;
        }
        char *end = NULL;
        double v = a->is_string ? 0 : strtod(a->value, &end);
        if (a->is_string || end == a->value || *end || !isfinite(v)) {
            return TM_ERR(err, TM_E_INVALID, NULL, 0, units[i],
                          "TypeError: unsupported type for timedelta %s component: str", units[i]);
        }
        total += (long double)v * unit_us[i];
    }
    if (total < 0 || total > 9e17L) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, "interval",
                      "ValueError: the interval must be positive and below 10000 years");
    }
    t->interval_us = (int64_t)nearbyintl(total);
    if (t->interval_us == 0) {
        t->interval_us = TM__US;
    }
    t->interval_len = (double)(t->interval_us / TM__US) + (double)(t->interval_us % TM__US) / 1e6;
    char td[64];
    td_str(t->interval_us, td, sizeof td);
    snprintf(t->desc, sizeof t->desc, "interval[%s]", td);
    return TM_OK;
}

static void make_sig(tm_sched_trigger *t, const char *kind, const tm_sched_kv *kv, size_t n)
{
    size_t at = (size_t)snprintf(t->sig, sizeof t->sig, "%s", kind);
    const char *const *keys = t->kind == TM__CRON       ? cron_keys
                              : t->kind == TM__INTERVAL ? interval_keys
                                                        : date_keys;
    size_t nk = t->kind == TM__CRON ? 12 : t->kind == TM__INTERVAL ? 9 : 2;
    for (size_t k = 0; k < nk && at < sizeof t->sig; k++) {
        const tm_sched_kv *a = find_kv(kv, n, keys[k]);
        const char *v = a ? a->value : strcmp(keys[k], "timezone") == 0 ? t->tz->name : NULL;
        if (v) {
            at += (size_t)snprintf(t->sig + at, sizeof t->sig - at, " %s=%s", keys[k], v);
        }
    }
}

tm_status tm_sched_trigger_new(const char *kind, const tm_sched_kv *kv, size_t n_kv,
                               const char *default_tz, tm_sched_trigger **out, tm_err *err)
{
    *out = NULL;
    tm__sched_kind k;
    if (strcmp(kind, "cron") == 0) {
        k = TM__CRON;
    } else if (strcmp(kind, "interval") == 0) {
        k = TM__INTERVAL;
    } else if (strcmp(kind, "date") == 0) {
        k = TM__DATE;
    } else {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, "trigger",
                      "LookupError: No trigger by the name \"%s\" was found", kind);
    }
    tm_status st = check_keys(k, kv, n_kv, err);
    if (st != TM_OK) {
        return st;
    }
    tm_sched_trigger *t = tm_calloc(1, sizeof *t);
    if (!t) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    t->kind = k;
    t->start = t->end = TM_SCHED_NEVER;
    if (k == TM__INTERVAL) {
        st = build_interval(t, kv, n_kv, err);
    }
    const tm_sched_kv *tz = find_kv(kv, n_kv, "timezone");
    const char *tzname = tz && *tz->value ? tz->value : default_tz ? default_tz : DEFAULT_TZ;
    if (st == TM_OK && tz && !tz->is_string) {
        st = TM_ERR(err, TM_E_INVALID, NULL, 0, "timezone",
                    "TypeError: Expected tzinfo, got int instead");
    }
    if (st == TM_OK) {
        st = tm_sched_zone_load(tzname, &t->tz, err);
    }
    if (st == TM_OK && k == TM__DATE) {
        if (!find_kv(kv, n_kv, "run_date")) {
            st = TM_ERR(err, TM_E_INVALID, NULL, 0, "run_date",
                        "ValueError: run_date is required (without it APScheduler uses the "
                        "current time)");
        } else {
            tm_sched_time inst;
            st = date_arg(t, kv, n_kv, "run_date", &inst, &t->run_wall, &t->run_off, true, err);
        }
    } else if (st == TM_OK) {
        st = date_arg(t, kv, n_kv, "start_date", &t->start, NULL, NULL, k == TM__INTERVAL, err);
        if (st == TM_OK) {
            st = date_arg(t, kv, n_kv, "end_date", &t->end, NULL, NULL, false, err);
        }
    }
    if (st == TM_OK && k == TM__CRON) {
        st = build_cron(t, kv, n_kv, err);
    }
    if (st != TM_OK) {
        tm_sched_trigger_free(t);
        return st;
    }
    if (!t->shown) {
        t->shown = t->tz;
    }
    if (k == TM__DATE) {
        char iso[TM_SCHED_ISO_LEN];
        snprintf(t->desc, sizeof t->desc, "date[%s]",
                 tm__sched_format_wall(t->run_wall, t->run_off, iso, sizeof iso));
    }
    make_sig(t, kind, kv, n_kv);
    *out = t;
    return TM_OK;
}

void tm_sched_trigger_free(tm_sched_trigger *t)
{
    if (!t) {
        return;
    }
    for (int i = 0; i < TM__F_COUNT; i++) {
        tm__sched_field_fini(&t->f[i]);
    }
    if (t->shown != t->tz) {
        tm_sched_zone_free(t->shown);
    }
    tm_sched_zone_free(t->tz);
    tm_free(t);
}

const tm_sched_zone *tm_sched_trigger_zone(const tm_sched_trigger *t)
{
    return t->shown;
}

char *tm_sched_trigger_describe(const tm_sched_trigger *t, char *buf, size_t len)
{
    snprintf(buf, len, "%s", t->desc);
    return buf;
}

const char *tm__sched_trigger_sig(const tm_sched_trigger *t)
{
    return t->sig;
}
