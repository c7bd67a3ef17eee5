/* Replay: the jobs on a simulated clock over historical data, run by the
 * real scheduler on the daemon's schedule (the built-in jobs, or the
 * config file the daemon would read) with a fake clock and an executor
 * that runs each job in-process. Everything that decides a fire is the
 * scheduler's and the job's own, as under the daemon: the triggers, the
 * misfire rules, each fire's as_of (tm_sched_fire_as_of), the job's gate
 * (a skipped job reports TM_PIPELINE_EXIT_SKIPPED as its exit status).
 * The simulated clock moves on by each job's real run time, so job_runs
 * holds real durations. Each job also writes its job_results row. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <turbomode/sched.h>

#include "pipeline_int.h"

typedef struct sim {
    tm_pipeline *p;
    tm_sched *sched;
    tm_sched_time now; /* the simulated clock */
    bool running;      /* a run has ended, waiting to be polled */
    int64_t handle;
    tm_sched_run_result res;
    tm_pipeline_report *rep;
    void (*on_job)(void *ctx, const tm_pipeline_report *rep);
    void *ctx;
    tm_err first; /* the first job failure */
    size_t runs;
} sim;

static tm_sched_time sim_now(void *ctx)
{
    return ((sim *)ctx)->now;
}

static void sim_wait(void *ctx, tm_sched_time deadline)
{
    sim *s = ctx;
    if (deadline != TM_SCHED_NEVER && deadline > s->now) {
        s->now = deadline;
    }
}

/* Runs the job to completion right away and moves the clock on by the
 * time it took; poll() reports it. */
static tm_status sim_start(void *ctx, const tm_sched_run_req *req, int64_t *handle, int64_t *pid,
                           tm_err *err)
{
    (void)err;
    sim *s = ctx;
    int32_t as_of = 0;
    if (!tm_store_date_parse(req->as_of, &as_of)) {
        return TM_ERR(err, TM_E_INTERNAL, NULL, 0, NULL, "bad as_of from the scheduler: %s",
                      req->as_of);
    }
    tm_err e;
    tm_err_init(&e);
    char iso[TM_SCHED_ISO_LEN];
    tm_sched_time_format(req->scheduled, NULL, iso, sizeof iso);
    tm__pipeline_log(s->p, "replay %s %s as_of=%d", iso, req->job, as_of);
    double t0 = tm_now_seconds();
    tm_status st = tm_pipeline_run_job(s->p, req->job, as_of, s->rep, &e);
    s->now += (int64_t)((tm_now_seconds() - t0) * 1e6) + 1;
    memset(&s->res, 0, sizeof s->res);
    s->runs++;
    if (st == TM_OK) {
        snprintf(s->res.output, sizeof s->res.output, "%.1000s", s->rep->summary);
        if (strcmp(s->rep->status, "skipped") == 0) {
            s->res.exit_code = TM_PIPELINE_EXIT_SKIPPED;
        }
        if (s->on_job) {
            s->on_job(s->ctx, s->rep);
        }
    } else {
        s->res.exit_code = 1;
        tm_err_format(&e, s->res.output, sizeof s->res.output);
        if (s->first.status == TM_OK) {
            s->first = e;
        }
        tm_sched_request_stop(s->sched);
    }
    s->running = true;
    *handle = ++s->handle;
    *pid = 0;
    return TM_OK;
}

static bool sim_poll(void *ctx, int64_t handle, tm_sched_time now, tm_sched_run_result *res)
{
    (void)handle;
    (void)now;
    sim *s = ctx;
    *res = s->res;
    s->running = false;
    return true;
}

static void sim_kill(void *ctx, int64_t handle, bool hard)
{
    (void)ctx;
    (void)handle;
    (void)hard;
}

static tm_sched_time sim_next(void *ctx)
{
    sim *s = ctx;
    return s->running ? s->now : TM_SCHED_NEVER;
}

static void sim_log(void *ctx, const char *line)
{
    tm__pipeline_log(ctx, "scheduler: %s", line);
}

/* The schedule: the daemon's (path NULL: the built-in jobs) on p's
 * database, with its own state file beside the daemon's. */
static tm_status replay_config(const tm_pipeline *p, const char *path, tm_sched_config **cfg,
                               char *state, size_t len, tm_err *err)
{
    snprintf(state, len, "%s.replay-state", p->db_path);
    tm_status st = tm_sched_config_load(path, cfg, err);
    st = st == TM_OK ? tm_sched_config_set_db(*cfg, p->db_path, err) : st;
    return st == TM_OK ? tm_sched_config_set_state_path(*cfg, state, err) : st;
}

/* Midnight at the start of day `from` (or 23:59:59 of `to`) in zone z. */
static tm_status day_time(int32_t date, const char *clock, const tm_sched_zone *z,
                          tm_sched_time *out, tm_err *err)
{
    char day[16], iso[40];
    snprintf(iso, sizeof iso, "%sT%s", tm_store_date_format(date, day), clock);
    return tm_sched_time_parse(iso, z, out, err);
}

tm_status tm_pipeline_replay(tm_pipeline *p, int32_t from, int32_t to, const char *schedule,
                             void (*on_job)(void *ctx, const tm_pipeline_report *rep), void *ctx,
                             tm_err *err)
{
    tm_sched_config *cfg = NULL;
    sim s;
    memset(&s, 0, sizeof s);
    tm_err_init(&s.first);
    s.p = p;
    s.on_job = on_job;
    s.ctx = ctx;
    s.rep = tm_malloc(sizeof *s.rep);
    char state[1100];
    tm_status st = s.rep ? TM_OK : TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    /* a replay asked for the other labelling is refused before any job */
    st = st == TM_OK ? tm__pipeline_labels(p, true, &p->labels, err) : st;
    st = st == TM_OK ? replay_config(p, schedule, &cfg, state, sizeof state, err) : st;
    if (st != TM_OK) {
        goto done;
    }
    /* The span is read in the first job's zone (all built-in jobs share one). */
    tm_sched_job_info info;
    tm_sched_config_job(cfg, 0, &info);
    const tm_sched_zone *zone = tm_sched_trigger_zone(info.trigger);
    tm_sched_time end = 0;
    st = day_time(from, "00:00:00", zone, &s.now, err);
    st = st == TM_OK ? day_time(to, "23:59:59", zone, &end, err) : st;
    if (st != TM_OK) {
        goto done;
    }
    /* A fresh state file each replay: job_runs says where a previous one
     * ended. */
    unlink(state);
    tm_sched_clock clock = {sim_now, sim_wait, &s};
    tm_sched_executor exec = {sim_start, sim_poll, sim_kill, sim_next, &s};
    tm_sched_options opt;
    tm_sched_options_init(&opt);
    opt.clock = &clock;
    opt.exec = &exec;
    opt.durable = false;
    opt.log = p->o.log ? sim_log : NULL;
    opt.log_ctx = p;
    if ((st = tm_sched_open(cfg, &opt, &s.sched, err)) == TM_OK) {
        st = tm_sched_run(s.sched, end, err);
    }
    tm_sched_close(s.sched);
    unlink(state);
    if (st == TM_OK && s.first.status != TM_OK) {
        if (err && err->status == TM_OK) {
            *err = s.first;
        }
        st = s.first.status;
    }
    tm__pipeline_log(p, "replay: %zu job runs from %d to %d", s.runs, from, to);
done:
    tm_sched_config_free(cfg);
    tm_free(s.rep);
    return st;
}
