/* A simulated 2026 of the five default jobs on a fake clock and a fake
 * executor: two crashes (one while a job runs), a three-day outage, a
 * graceful stop that interrupts a run, a failing meta retrain, a hanging
 * outcome tracker and a scan that runs into the meta retrain's slot. The
 * fake meta retrain keeps its own 42-day gate, as the real job does, and
 * exits with the job's skip_exit status when the gate holds it back. Then
 * job_runs must account for every fire exactly once, no two runs overlap
 * (they share the database resource), and the gate retrains on schedule. */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include <turbomode/sched.h>

#include "tm_test.h"

typedef struct frun {
    int64_t handle;
    char job[32];
    tm_sched_time end; /* TM_SCHED_NEVER: hangs until killed */
    int code, sig;
    bool active;
} frun;

typedef struct fake {
    tm_sched_time now;
    frun runs[64];
    int64_t next_handle;
    const tm_sched_zone *zone;
    tm_sched_time meta_success; /* the fake meta retrain's last success (its own record) */
    tm_sched_time meta_fire;    /* the fire of the meta retrain running now */
} fake;

static tm_sched_time T(const char *iso)
{
    tm_sched_time t;
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_sched_time_parse(iso, NULL, &t, &err), TM_OK);
    return t;
}

static tm_sched_time f_now(void *ctx)
{
    return ((fake *)ctx)->now;
}

static void f_wait(void *ctx, tm_sched_time deadline)
{
    fake *f = ctx;
    ck_assert(deadline != TM_SCHED_NEVER);
    if (deadline > f->now) {
        f->now = deadline;
    }
}

static tm_status f_start(void *ctx, const tm_sched_run_req *req, int64_t *handle, int64_t *pid,
                         tm_err *err)
{
    (void)err;
    fake *f = ctx;
    frun *r = NULL;
    for (size_t i = 0; i < 64 && !r; i++) {
        r = f->runs[i].active ? NULL : &f->runs[i];
    }
    ck_assert_ptr_nonnull(r);
    memset(r, 0, sizeof *r);
    snprintf(r->job, sizeof r->job, "%s", req->job);
    r->active = true;
    r->handle = *handle = ++f->next_handle;
    *pid = 0;
    int64_t min = 60 * TM_SCHED_SECOND;
    int64_t dur = !strcmp(req->job, "overnight_scan")     ? 20 * min
                  : !strcmp(req->job, "outcome_tracker")  ? 5 * min
                  : !strcmp(req->job, "sample_generator") ? 10 * min
                  : !strcmp(req->job, "meta_retrain")     ? 30 * min
                                                          : 60 * min;
    if (req->scheduled == T("2026-08-16T23:00:00-04:00")) {
        dur = 90 * min; /* the scan runs into meta_retrain's 23:45 slot */
    }
    r->end = req->now + dur;
    if (req->scheduled == T("2026-07-10T02:00:00-04:00")) {
        r->end = TM_SCHED_NEVER; /* the outcome tracker hangs */
    }
    if (!strcmp(req->job, "meta_retrain") && req->scheduled == T("2026-04-05T23:45:00-04:00")) {
        r->code = 1; /* this retrain fails: the next Sunday retries */
    }
    if (!strcmp(req->job, "meta_retrain")) {
        f->meta_fire = req->scheduled;
        if (f->meta_success != TM_SCHED_NEVER &&
            tm_sched_gate_since(f->zone, TM_SCHED_GATE_SCHEDULED, req->scheduled, f->meta_success) <
                    42 * 86400 * TM_SCHED_SECOND) {
            r->code = 3; /* the job's own gate: exit status skip_exit */
            r->end = req->now + TM_SCHED_SECOND;
        }
    }
    ck_assert(strcmp(req->command, "true") == 0 || strstr(req->command, "--as-of 20") != NULL);
    return TM_OK;
}

static frun *find(fake *f, int64_t handle)
{
    for (size_t i = 0; i < 64; i++) {
        if (f->runs[i].active && f->runs[i].handle == handle) {
            return &f->runs[i];
        }
    }
    return NULL;
}

static bool f_poll(void *ctx, int64_t handle, tm_sched_time now, tm_sched_run_result *res)
{
    frun *r = find(ctx, handle);
    ck_assert_ptr_nonnull(r);
    if (r->end == TM_SCHED_NEVER || now < r->end) {
        return false;
    }
    memset(res, 0, sizeof *res);
    res->exit_code = r->sig ? -1 : r->code;
    if (!strcmp(r->job, "meta_retrain") && res->exit_code == 0) {
        ((fake *)ctx)->meta_success = ((fake *)ctx)->meta_fire;
    }
    res->term_signal = r->sig;
    r->active = false;
    return true;
}

static void f_kill(void *ctx, int64_t handle, bool hard)
{
    fake *f = ctx;
    frun *r = find(f, handle);
    if (r) {
        r->sig = hard ? 9 : 15;
        r->end = f->now + 2 * TM_SCHED_SECOND; /* it takes 2 s to clean up */
    }
}

static tm_sched_time f_next(void *ctx)
{
    fake *f = ctx;
    tm_sched_time w = TM_SCHED_NEVER;
    for (size_t i = 0; i < 64; i++) {
        frun *r = &f->runs[i];
        if (r->active && r->end != TM_SCHED_NEVER && (w == TM_SCHED_NEVER || r->end < w)) {
            w = r->end;
        }
    }
    return w;
}

/* A daemon "process": open, run until `until`, then crash or stop. */
static void up(const tm_sched_config *cfg, fake *f, const tm_sched_clock *clk,
               const tm_sched_executor *ex, tm_sched_time until, bool graceful)
{
    tm_sched_options opt;
    tm_sched_options_init(&opt);
    opt.clock = clk;
    opt.exec = ex;
    opt.durable = false;
    tm_sched *s = NULL;
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_sched_open(cfg, &opt, &s, &err), TM_OK);
    ck_assert_int_eq(tm_sched_run(s, until, &err), TM_OK);
    if (graceful) {
        tm_sched_request_stop(s);
        ck_assert_int_eq(tm_sched_run(s, TM_SCHED_NEVER, &err), TM_OK);
    } else {
        memset(f->runs, 0, sizeof f->runs); /* kill -9: its children die too */
    }
    tm_sched_close(s);
}

static long q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *q;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(q), SQLITE_ROW);
    long v = (long)sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

static const char *q_text(sqlite3 *db, const char *sql, char *buf, size_t len)
{
    sqlite3_stmt *q;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    buf[0] = 0;
    if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0)) {
        snprintf(buf, len, "%s", (const char *)sqlite3_column_text(q, 0));
    }
    sqlite3_finalize(q);
    return buf;
}

START_TEST(sim_year_every_fire_accounted)
{
    char dir[512], text[2048];
    snprintf(dir, sizeof dir, "%s/simyear", tm_test_tmpdir());
    ck_assert_int_eq(tm_test_system("rm -rf '%s' && mkdir -p '%s'", dir, dir), 0);
    snprintf(text, sizeof text, "# only globals: the five default jobs\ndb = %s/tm.db\n", dir);
    tm_sched_config *cfg = NULL;
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_sched_config_parse(text, strlen(text), "sim.conf", &cfg, &err), TM_OK);
    ck_assert_int_eq((int)tm_sched_config_n_jobs(cfg), 5);
    fake f;
    memset(&f, 0, sizeof f);
    f.meta_success = TM_SCHED_NEVER;
    tm_sched_job_info meta;
    tm_sched_config_job(cfg, 3, &meta);
    ck_assert_str_eq(meta.name, "meta_retrain");
    ck_assert_int_eq(meta.skip_exit, 3);
    f.zone = tm_sched_trigger_zone(meta.trigger);
    tm_sched_clock clk = {f_now, f_wait, &f};
    tm_sched_executor ex = {f_start, f_poll, f_kill, f_next, &f};

    f.now = T("2026-01-01T00:00:00-05:00");
    up(cfg, &f, &clk, &ex, T("2026-05-17T20:00:00-04:00"), false); /* crash, idle */
    f.now = T("2026-05-18T02:00:00-04:00");
    up(cfg, &f, &clk, &ex, T("2026-09-10T23:10:00-04:00"), false); /* crash mid-scan */
    f.now = T("2026-09-10T23:40:00-04:00");
    up(cfg, &f, &clk, &ex, T("2026-10-01T12:00:00-04:00"), true); /* clean stop, 3 days off */
    f.now = T("2026-10-04T12:00:00-04:00");
    up(cfg, &f, &clk, &ex, T("2026-12-01T04:30:00-05:00"), true); /* stop mid model retrain */
    f.now = T("2026-12-01T05:00:00-05:00");
    up(cfg, &f, &clk, &ex, T("2027-01-01T00:00:00-05:00"), true);

    sqlite3 *db;
    char path[600], buf[256];
    snprintf(path, sizeof path, "%s/tm.db", dir);
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    /* Every fire of every job in 2026 is in exactly one row (a span of missed or
     * coalesced fires counts each), and nothing else is. */
    long total = 0;
    for (size_t i = 0; i < tm_sched_config_n_jobs(cfg); i++) {
        tm_sched_job_info j;
        tm_sched_config_job(cfg, i, &j);
        long fires = 0;
        for (tm_sched_time t = tm_sched_trigger_next(j.trigger, TM_SCHED_NEVER,
                                                     T("2026-01-01T00:00:00-05:00"));
             t < T("2027-01-01T00:00:00-05:00"); t = tm_sched_trigger_next(j.trigger, t, t)) {
            char sql[256];
            snprintf(sql, sizeof sql,
                     "SELECT count(*) FROM job_runs WHERE job = '%s' AND scheduled_us <= %lld"
                     " AND coalesce(last_scheduled_us, scheduled_us) >= %lld",
                     j.name, (long long)t, (long long)t);
            ck_assert_msg(q_int(db, sql) == 1, "%s fire %lld: not exactly one row", j.name,
                          (long long)t);
            fires++;
        }
        total += fires;
    }
    ck_assert_int_eq(q_int(db, "SELECT sum(fires) FROM job_runs"), total);
    ck_assert_int_eq(
            q_int(db, "SELECT count(*) FROM job_runs WHERE status IN ('waiting','running')"), 0);
    /* No two runs overlap: every default job writes the database resource. */
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM job_runs a JOIN job_runs b ON a.id < b.id"
                               " WHERE a.started_us IS NOT NULL AND b.started_us IS NOT NULL"
                               " AND a.started_us < b.ended_us AND b.started_us < a.ended_us"),
                     0);
    /* Crash while idle: the fires in the outage were beyond the 1 h grace. */
    ck_assert_str_eq(q_text(db,
                            "SELECT status FROM job_runs WHERE job='meta_retrain' AND"
                            " scheduled='2026-05-17T23:45:00-04:00'",
                            buf, sizeof buf),
                     "missed");
    ck_assert_str_eq(q_text(db,
                            "SELECT status FROM job_runs WHERE job='outcome_tracker' AND"
                            " scheduled='2026-05-18T02:00:00-04:00'",
                            buf, sizeof buf),
                     "success");
    /* kill -9 during the scan: interrupted, not run again. */
    ck_assert_str_eq(q_text(db,
                            "SELECT status FROM job_runs WHERE job='overnight_scan' AND"
                            " scheduled='2026-09-10T23:00:00-04:00'",
                            buf, sizeof buf),
                     "interrupted");
    /* Three days down: coalesced (one row per job for its two fires), then the latest
     * fire judged against the grace. */
    ck_assert_int_eq(q_int(db, "SELECT sum(fires) FROM job_runs WHERE status='coalesced'"), 4);
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM job_runs WHERE status='coalesced'"), 2);
    ck_assert_str_eq(q_text(db,
                            "SELECT group_concat(job || ' ' || status, ', ') FROM (SELECT *"
                            " FROM job_runs WHERE scheduled >= '2026-10-03T2'"
                            " AND scheduled < '2026-10-04T2' ORDER BY scheduled_us)",
                            buf, sizeof buf),
                     "overnight_scan missed, outcome_tracker missed, sample_generator missed");
    /* The hang is stopped at its 1 h timeout. */
    ck_assert_str_eq(q_text(db,
                            "SELECT status || ' ' || ((ended_us - started_us) / 1000000) FROM"
                            " job_runs WHERE job='outcome_tracker' AND"
                            " scheduled='2026-07-10T02:00:00-04:00'",
                            buf, sizeof buf),
                     "timeout 3602");
    /* The stop at 04:30 interrupts the model retrain after the 60 s stop grace. */
    ck_assert_str_eq(q_text(db,
                            "SELECT status FROM job_runs WHERE job='model_retrain' AND"
                            " scheduled='2026-12-01T04:00:00-05:00'",
                            buf, sizeof buf),
                     "interrupted");
    /* The long scan: meta_retrain waited for it, started at its end, delay recorded. */
    ck_assert_str_eq(q_text(db,
                            "SELECT status || ' ' || started || ' ' || CAST(delay_s AS INTEGER)"
                            " FROM job_runs WHERE job='meta_retrain' AND"
                            " scheduled='2026-08-16T23:45:00-04:00'",
                            buf, sizeof buf),
                     "success 2026-08-17T00:30:00-04:00 2700");
    /* The gate: retrains every 6 weeks of scheduled time, the failure retried a week later
     * (the 2026 part of gate.jsonl's gate-fail-2026-04-05), despite the late 08-16 start. */
    char got[1024];
    q_text(db,
           "SELECT group_concat(substr(scheduled, 1, 10), ' ') FROM (SELECT scheduled FROM"
           " job_runs WHERE job='meta_retrain' AND status='success' ORDER BY scheduled_us)",
           got, sizeof got);
    ck_assert_str_eq(got, "2026-02-22 2026-04-12 2026-05-24 2026-07-05 2026-08-16 2026-09-27 "
                          "2026-11-08 2026-12-20");
    ck_assert_str_eq(q_text(db,
                            "SELECT status FROM job_runs WHERE job='meta_retrain' AND"
                            " scheduled='2026-04-05T23:45:00-04:00'",
                            buf, sizeof buf),
                     "failed");
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM job_runs WHERE job='meta_retrain' AND"
                               " status='gate_skip'"),
                     45 - 8 - 1 - 1);
    sqlite3_close(db);
    tm_sched_config_free(cfg);
}
END_TEST

/* Opens a scheduler on cfg at `at`, runs what is due with --once semantics
 * and closes it. */
static void once_at(const tm_sched_config *cfg, fake *f, tm_sched_time at)
{
    tm_sched_clock clk = {f_now, f_wait, f};
    tm_sched_executor ex = {f_start, f_poll, f_kill, f_next, f};
    tm_sched_options opt;
    tm_sched_options_init(&opt);
    opt.clock = &clk;
    opt.exec = &ex;
    opt.durable = false;
    opt.once = true;
    f->now = at;
    tm_sched *s = NULL;
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_sched_open(cfg, &opt, &s, &err), TM_OK);
    ck_assert_int_eq(tm_sched_run(s, TM_SCHED_NEVER, &err), TM_OK);
    tm_sched_close(s);
}

static tm_sched_config *config_in(const char *dir, const char *jobs)
{
    char text[2048];
    ck_assert_int_eq(tm_test_system("rm -rf '%s' && mkdir -p '%s'", dir, dir), 0);
    snprintf(text, sizeof text, "db = %s/tm.db\n%s", dir, jobs);
    tm_sched_config *cfg = NULL;
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_sched_config_parse(text, strlen(text), "t.conf", &cfg, &err), TM_OK);
    return cfg;
}

/* A minute job down for a year (the first start at 00:00:30 sets the next
 * run to 00:01): its 525,599 coalesced fires are one row with their count,
 * and the latest fire runs. */
START_TEST(sim_year_gap_is_one_span_row)
{
    char dir[512], path[600], buf[256];
    snprintf(dir, sizeof dir, "%s/gap", tm_test_tmpdir());
    tm_sched_config *cfg =
            config_in(dir, "[job tick]\ncommand = true\nminute = *\nmisfire_grace_time = 60\n");
    fake f;
    memset(&f, 0, sizeof f);
    f.meta_success = TM_SCHED_NEVER;
    once_at(cfg, &f, T("2026-01-01T00:00:30-05:00"));
    once_at(cfg, &f, T("2027-01-01T00:00:30-05:00"));
    sqlite3 *db;
    snprintf(path, sizeof path, "%s/tm.db", dir);
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM job_runs"), 2);
    ck_assert_str_eq(q_text(db,
                            "SELECT scheduled || ' ' || fires || ' ' || last_scheduled FROM"
                            " job_runs WHERE status = 'coalesced'",
                            buf, sizeof buf),
                     "2026-01-01T00:01:00-05:00 525599 2026-12-31T23:59:00-05:00");
    ck_assert_str_eq(q_text(db,
                            "SELECT group_concat(scheduled || ' ' || status, ', ') FROM"
                            " (SELECT * FROM job_runs WHERE fires = 1 ORDER BY scheduled_us)",
                            buf, sizeof buf),
                     "2027-01-01T00:00:00-05:00 success");
    sqlite3_close(db);
    tm_sched_config_free(cfg);
}
END_TEST

/* job_runs rows written under another schedule (a replay without the
 * start date) before the job's start_date: the daemon resumes at the
 * start date and records no fire before it. */
START_TEST(sim_resume_never_before_start_date)
{
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/startdate", tm_test_tmpdir());
    tm_sched_config *early =
            config_in(dir, "[job weekly]\ncommand = true\nday_of_week = sun\nhour = 23\n"
                           "minute = 45\n");
    fake f;
    memset(&f, 0, sizeof f);
    f.meta_success = TM_SCHED_NEVER;
    once_at(early, &f, T("2018-01-07T23:45:00-05:00"));
    tm_sched_config_free(early);
    char text[1400];
    snprintf(text, sizeof text,
             "db = %s/tm.db\nstate_file = %s/other.json\n[job weekly]\ncommand = true\n"
             "day_of_week = sun\nhour = 23\nminute = 45\n"
             "start_date = 2026-02-22 23:45:00\nmisfire_grace_time = 3600\n",
             dir, dir);
    tm_sched_config *cfg = NULL;
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_sched_config_parse(text, strlen(text), "t.conf", &cfg, &err), TM_OK);
    once_at(cfg, &f, T("2026-03-01T23:50:00-05:00"));
    sqlite3 *db;
    snprintf(path, sizeof path, "%s/tm.db", dir);
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_int_eq(q_int(db, "SELECT count(*) FROM job_runs WHERE scheduled > '2018-01-08'"
                               " AND scheduled < '2026-02-22'"),
                     0);
    ck_assert_int_eq(q_int(db, "SELECT sum(fires) FROM job_runs WHERE scheduled >= '2026-02-22'"),
                     2);
    sqlite3_close(db);
    tm_sched_config_free(cfg);
}
END_TEST

TM_TEST_SUITE(sched_sim)
{
    Suite *s = suite_create("sched_sim");
    TCase *tc = tcase_create("simyear");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sim_year_every_fire_accounted);
    tcase_add_test(tc, sim_year_gap_is_one_span_row);
    tcase_add_test(tc, sim_resume_never_before_start_date);
    suite_add_tcase(s, tc);
    return s;
}
