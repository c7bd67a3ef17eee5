/* Replay: the five jobs on a simulated clock over historical data, run by
 * the real scheduler (tm_sched_open / tm_sched_run: APScheduler cron
 * semantics in America/New_York, job_runs rows, misfire handling) with a
 * fake clock that jumps to each deadline and an executor that runs each
 * job in-process. A job's as_of is the last day whose 16:00 close precedes
 * its fire time, so no night sees a later price. Each job also writes its
 * job_results row. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <turbomode/sched.h>

#include "pipeline_int.h"

/* DESIGN's schedule. The daemon's meta_retrain starts 2026-02-22, after
 * the historical data ends, so replay leaves start_date out; the job's own
 * 42-day gate decides. One resource for all: runs never overlap. */
static const char replay_jobs[] =
        "[job outcome_tracker]\ncommand = track-outcomes\nhour = 2\nminute = 0\n"
        "misfire_grace_time = 3600\nresources = database\n"
        "[job sample_generator]\ncommand = generate-samples\nday_of_week = sun\nhour = 3\n"
        "minute = 0\nmisfire_grace_time = 3600\nresources = database\n"
        "[job model_retrain]\ncommand = model-retrain\nday = 1\nhour = 4\nminute = 0\n"
        "misfire_grace_time = 3600\nresources = database\n"
        "[job overnight_scan]\ncommand = scan\nhour = 23\nminute = 0\n"
        "misfire_grace_time = 3600\nresources = database\n"
        "[job meta_retrain]\ncommand = meta-retrain\nday_of_week = sun\nhour = 23\nminute = 45\n"
        "misfire_grace_time = 3600\nresources = database\n";

typedef struct sim {
    tm_pipeline *p;
    tm_sched *sched;
    const tm_sched_zone *zone;
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

/* as_of of a fire time: its local date, minus a day before the 16:00 close. */
static int32_t fire_as_of(tm_sched_time t, const tm_sched_zone *z)
{
    char iso[TM_SCHED_ISO_LEN];
    tm_sched_time_format(t, z, iso, sizeof iso);
    int32_t d = 0;
    char day[11];
    memcpy(day, iso, 10);
    day[10] = 0;
    if (!tm_store_date_parse(day, &d)) {
        return 0;
    }
    int hour = (iso[11] - '0') * 10 + (iso[12] - '0');
    return hour >= 16 ? d : tm__pipeline_ymd(tm__pipeline_days(d) - 1);
}

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

/* Runs the job to completion right away; poll() reports it. */
static tm_status sim_start(void *ctx, const tm_sched_run_req *req, int64_t *handle, int64_t *pid,
                           tm_err *err)
{
    (void)err;
    sim *s = ctx;
    int32_t as_of = fire_as_of(req->scheduled, s->zone);
    tm_err e;
    tm_err_init(&e);
    char iso[TM_SCHED_ISO_LEN];
    tm_sched_time_format(req->scheduled, s->zone, iso, sizeof iso);
    tm__pipeline_log(s->p, "replay %s %s as_of=%d", iso, req->job, as_of);
    tm_status st = tm_pipeline_run_job(s->p, req->job, as_of, s->rep, &e);
    memset(&s->res, 0, sizeof s->res);
    s->runs++;
    if (st == TM_OK) {
        snprintf(s->res.output, sizeof s->res.output, "%.1000s", s->rep->summary);
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

tm_status tm_pipeline_replay(tm_pipeline *p, int32_t from, int32_t to,
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
    char text[2048], state[1100], a[16], b[16], iso[40];
    snprintf(state, sizeof state, "%s.replay-state", p->db_path);
    snprintf(text, sizeof text, "state_file = %s\n%s", state, replay_jobs);
    tm_status st = s.rep ? TM_OK : TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    if (st == TM_OK) {
        st = tm_sched_config_parse(text, strlen(text), "<replay schedule>", &cfg, err);
    }
    if (st == TM_OK) {
        st = tm_sched_config_set_db(cfg, p->db_path, err);
    }
    if (st != TM_OK) {
        goto done;
    }
    tm_sched_job_info info;
    tm_sched_config_job(cfg, 0, &info);
    s.zone = tm_sched_trigger_zone(info.trigger);
    tm_sched_time end = 0;
    snprintf(iso, sizeof iso, "%sT00:00:00", tm_store_date_format(from, a));
    st = tm_sched_time_parse(iso, s.zone, &s.now, err);
    snprintf(iso, sizeof iso, "%sT23:59:59", tm_store_date_format(to, b));
    st = st == TM_OK ? tm_sched_time_parse(iso, s.zone, &end, err) : st;
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
    bool force = p->o.force;
    p->o.force = false; /* the gate applies under replay */
    if ((st = tm_sched_open(cfg, &opt, &s.sched, err)) == TM_OK) {
        st = tm_sched_run(s.sched, end, err);
    }
    p->o.force = force;
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
