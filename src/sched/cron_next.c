/* Next fire times: CronTrigger.get_next_fire_time with its two date
 * building steps (_set_field_value localizes the naive result with pytz;
 * _increment_field_value adds the naive difference to the old aware time
 * and normalizes), IntervalTrigger's absolute-time arithmetic and
 * DateTrigger. Datetimes are kept as pytz keeps them: wall time plus the
 * attached offset, which is unnormalized after a localize in a DST gap. */
#include <math.h>

#include "sched/sched_int.h"

static const bool real_field[TM__F_COUNT] = {true, true, true, false, false, true, true, true};

typedef struct adt {
    int64_t wall;
    int32_t off;
} adt;

static int64_t instant(adt d)
{
    return d.wall - (int64_t)d.off * TM__US;
}

static adt normalized(const tm_sched_zone *z, int64_t inst)
{
    adt d;
    d.off = tm_sched_zone_offset(z, inst);
    d.wall = inst + (int64_t)d.off * TM__US;
    return d;
}

static int get_min(int i)
{
    static const int mins[TM__F_COUNT] = {1970, 1, 1, 1, 0, 0, 0, 0};
    return mins[i];
}

static int get_max(int i, int64_t wall)
{
    static const int maxs[TM__F_COUNT] = {9999, 12, 31, 53, 6, 23, 59, 59};
    if (i == TM__F_DAY) {
        tm__sched_fields f;
        tm__sched_split(wall, &f);
        return tm_days_in_month(f.year, f.month);
    }
    return maxs[i];
}

static int64_t wall_of(const int v[TM__F_COUNT])
{
    tm__sched_fields f = {v[TM__F_YEAR],
                          v[TM__F_MONTH],
                          v[TM__F_DAY],
                          v[TM__F_HOUR],
                          v[TM__F_MINUTE],
                          v[TM__F_SECOND],
                          0};
    return tm__sched_wall(&f);
}

/* _increment_field_value; false when the year would pass 9999 (the point
 * where APScheduler's search gives up and returns None). */
static bool increment(const tm_sched_trigger *t, adt *d, int *fieldnum)
{
    int v[TM__F_COUNT] = {0};
    int fn = *fieldnum;
    int i = 0;
    while (i < TM__F_COUNT) {
        if (i < 0) {
            return false;
        }
        if (!real_field[i]) {
            if (i == fn) {
                fn--;
                i--;
            } else {
                i++;
            }
            continue;
        }
        if (i < fn) {
            v[i] = tm__sched_field_value(i, d->wall);
            i++;
        } else if (i > fn) {
            v[i] = get_min(i);
            i++;
        } else {
            int value = tm__sched_field_value(i, d->wall);
            if (value == get_max(i, d->wall)) {
                fn--;
                i--;
            } else {
                v[i] = value + 1;
                i++;
            }
        }
    }
    int64_t diff = wall_of(v) - d->wall;
    *d = normalized(t->tz, instant(*d) + diff);
    *fieldnum = fn;
    return true;
}

/* _set_field_value: pytz localize of the naive result. */
static void set_value(const tm_sched_trigger *t, adt *d, int fieldnum, int value)
{
    int v[TM__F_COUNT] = {0};
    for (int i = 0; i < TM__F_COUNT; i++) {
        if (!real_field[i]) {
            continue;
        }
        v[i] = i < fieldnum ? tm__sched_field_value(i, d->wall) : i > fieldnum ? get_min(i) : value;
    }
    d->wall = wall_of(v);
    tm__sched_localize(t->tz, d->wall, &d->off);
}

bool tm__sched_cron_next(const tm_sched_trigger *t, tm_sched_time prev, tm_sched_time now,
                         int64_t *wall, int32_t *off)
{
    int64_t start;
    if (prev != TM_SCHED_NEVER) {
        start = now < prev + 1 ? now : prev + 1;
        if (start == prev) {
            start += 1;
        }
    } else {
        start = t->start != TM_SCHED_NEVER && t->start > now ? t->start : now;
    }
    int64_t frac = tm_floormod(start, TM__US);
    if (frac) {
        start += TM__US - frac; /* datetime_ceil */
    }
    adt d = normalized(t->tz, start);
    int fieldnum = 0;
    while (fieldnum >= 0 && fieldnum < TM__F_COUNT) {
        int cur = tm__sched_field_value(fieldnum, d.wall);
        int next = tm__sched_field_next(&t->f[fieldnum], fieldnum, d.wall);
        if (next < 0) {
            fieldnum--;
            if (fieldnum < 0 || !increment(t, &d, &fieldnum)) {
                return false;
            }
        } else if (next > cur) {
            if (real_field[fieldnum]) {
                set_value(t, &d, fieldnum, next);
                fieldnum++;
            } else if (!increment(t, &d, &fieldnum)) {
                return false;
            }
        } else {
            fieldnum++;
        }
        if (t->end != TM_SCHED_NEVER && instant(d) > t->end) {
            return false;
        }
    }
    if (fieldnum < 0) {
        return false;
    }
    *wall = d.wall;
    *off = d.off;
    return true;
}

/* timedelta_seconds: days * 86400 + seconds as an int, plus microseconds
 * / 1e6 as a float, added in floating point as Python does. */
static double td_seconds(int64_t us)
{
    int64_t secs = tm_floordiv(us, TM__US);
    int64_t rest = us - secs * TM__US;
    return (double)secs + (double)rest / 1000000.0;
}

static tm_sched_time interval_next(const tm_sched_trigger *t, tm_sched_time prev, tm_sched_time now)
{
    tm_sched_time next;
    if (prev != TM_SCHED_NEVER) {
        next = prev + t->interval_us;
    } else if (t->start == TM_SCHED_NEVER) {
        next = now + t->interval_us; /* construction time + interval */
    } else if (t->start > now) {
        next = t->start;
    } else {
        double n = ceil(td_seconds(now - t->start) / t->interval_len);
        next = t->start + t->interval_us * (int64_t)n;
    }
    if (t->end != TM_SCHED_NEVER && next > t->end) {
        return TM_SCHED_NEVER;
    }
    return next;
}

tm_sched_time tm__sched_trigger_next_raw(const tm_sched_trigger *t, tm_sched_time prev,
                                         tm_sched_time now, int64_t *wall, int32_t *off)
{
    tm_sched_time r;
    switch (t->kind) {
    case TM__CRON:
        if (!tm__sched_cron_next(t, prev, now, wall, off)) {
            return TM_SCHED_NEVER;
        }
        return *wall - (int64_t)*off * TM__US;
    case TM__INTERVAL:
        r = interval_next(t, prev, now);
        break;
    default:
        if (prev != TM_SCHED_NEVER) {
            return TM_SCHED_NEVER;
        }
        *wall = t->run_wall;
        *off = t->run_off;
        return t->run_wall - (int64_t)t->run_off * TM__US;
    }
    if (r != TM_SCHED_NEVER) {
        *off = tm_sched_zone_offset(t->shown, r);
        *wall = r + (int64_t)*off * TM__US;
    }
    return r;
}

tm_sched_time tm_sched_trigger_next(const tm_sched_trigger *t, tm_sched_time prev,
                                    tm_sched_time now)
{
    int64_t wall;
    int32_t off;
    return tm__sched_trigger_next_raw(t, prev, now, &wall, &off);
}
