/* What one scheduler wake-up does with one job, as APScheduler's
 * BaseScheduler._process_jobs, Job._get_run_times and executors/base.py
 * run_job decide it: the due fire times, coalescing, the strict misfire
 * grace test and the next run time. Also the gate's elapsed-time rule. */
#include "sched/sched_int.h"

static tm_status decide(tm_sched_fire_fn fn, void *ctx, tm_sched_time fire, tm_sched_time now,
                        int64_t grace_us, tm_err *err)
{
    bool missed = grace_us != TM_SCHED_NO_GRACE && now - fire > grace_us;
    return fn(ctx, fire, missed ? TM_SCHED_FIRE_MISSED : TM_SCHED_FIRE_RUN, err);
}

tm_status tm_sched_wake(const tm_sched_trigger *t, tm_sched_time next_run, tm_sched_time now,
                        bool coalesce, int64_t grace_us, tm_sched_fire_fn fn, void *ctx,
                        tm_sched_time *next_out, tm_err *err)
{
    *next_out = next_run;
    if (next_run == TM_SCHED_NEVER || next_run > now) {
        return TM_OK;
    }
    /* Fire times are streamed: each one is decided once the next is known
     * to be due too (it is then coalesced) or not (it is the last). */
    tm_sched_time cur = next_run;
    for (;;) {
        tm_sched_time nxt = tm_sched_trigger_next(t, cur, now);
        if (nxt != TM_SCHED_NEVER && nxt <= cur) {
            return TM_ERR(err, TM_E_INTERNAL, NULL, 0, NULL, "trigger did not advance");
        }
        bool last = nxt == TM_SCHED_NEVER || nxt > now;
        tm_status st;
        if (last) {
            st = decide(fn, ctx, cur, now, grace_us, err);
        } else if (coalesce) {
            st = fn(ctx, cur, TM_SCHED_FIRE_COALESCED, err);
        } else {
            st = decide(fn, ctx, cur, now, grace_us, err);
        }
        if (st != TM_OK) {
            return st;
        }
        if (last) {
            /* get_next_fire_time(run_times[-1], now): the same call. */
            *next_out = nxt;
            return TM_OK;
        }
        cur = nxt;
    }
}

int64_t tm_sched_gate_since(const tm_sched_zone *z, tm_sched_gate_policy policy, tm_sched_time d,
                            tm_sched_time last_success)
{
    if (policy == TM_SCHED_GATE_UTC) {
        return d - last_success;
    }
    int64_t wd = d + (int64_t)tm_sched_zone_offset(z, d) * TM__US;
    int64_t wl = last_success + (int64_t)tm_sched_zone_offset(z, last_success) * TM__US;
    return wd - wl;
}
