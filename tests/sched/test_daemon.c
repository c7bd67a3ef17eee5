/* The real daemon as a process: a second daemon on the same database is
 * refused at once, kill -9 in the middle of a job, restart (--once): the
 * dead run is recorded as interrupted and its leftover process group
 * stopped, every fire is accounted for, and the catch-up coalesces the
 * missed fires and runs the latest (within grace). Then SIGTERM. */
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tm_test.h"

static long q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *q;
    long v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW) {
        v = (long)sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
    return v;
}

static long q_wait(sqlite3 *db, const char *sql, double seconds)
{
    long v = -1;
    for (double t = 0; t < seconds; t += 0.05) {
        if ((v = q_int(db, sql)) > 0) {
            return v;
        }
        usleep(50000);
    }
    return v;
}

static long read_pid(const char *path)
{
    size_t n;
    char *s = tm_test_slurp(path, &n);
    long pid = s ? strtol(s, NULL, 10) : 0;
    free(s);
    return pid;
}

START_TEST(daemon_single_instance_kill9_catch_up)
{
    char dir[512], conf[600], db[600], cmd[4096];
    snprintf(dir, sizeof dir, "%s/daemon", tm_test_tmpdir());
    snprintf(conf, sizeof conf, "%s/jobs.conf", dir);
    snprintf(db, sizeof db, "%s/tm.db", dir);
    ck_assert_int_eq(tm_test_system("rm -rf '%s' && mkdir -p '%s'", dir, dir), 0);
    FILE *fp = fopen(conf, "w");
    ck_assert_ptr_nonnull(fp);
    fprintf(fp,
            "db = %s\nstop_grace = 1\nkill_grace = 1\n"
            "[job tick]\ntrigger = interval\nseconds = 1\nstart_date = 2026-01-01 00:00:00\n"
            "timezone = UTC\nmisfire_grace_time = 3600\ncommand = sleep 0.05\n"
            "[job slow]\ntrigger = interval\nseconds = 2\nstart_date = 2026-01-01 00:00:00\n"
            "timezone = UTC\nmisfire_grace_time = 60\nresources = model\n"
            "command = if [ -e '%s/first' ]; then sleep 0.5; else touch '%s/first'; sleep 6; fi;"
            " touch '%s'/done-$(date +%%s%%N)\n",
            db, dir, dir, dir);
    fclose(fp);
    const char *bin = tm_test_bin();
    ck_assert_int_eq(tm_test_system("'%s' daemon --config '%s' 2>'%s/a.log' & echo $! >'%s/a.pid'",
                                    bin, conf, dir, dir),
                     0);
    snprintf(cmd, sizeof cmd, "%s/a.pid", dir);
    long a = read_pid(cmd);
    ck_assert_int_gt(a, 0);
    sqlite3 *h = NULL;
    for (int i = 0; i < 100 && access(db, F_OK) != 0; i++) {
        usleep(50000);
    }
    ck_assert_int_eq(sqlite3_open(db, &h), SQLITE_OK);
    sqlite3_busy_timeout(h, 5000);
    long row = q_wait(h, "SELECT id FROM job_runs WHERE job='slow' AND status='running'", 10);
    ck_assert_int_gt(row, 0);

    /* A second daemon on the same database exits at once with a clear message. */
    int rc = tm_test_system("timeout 5 '%s' daemon --config '%s' 2>'%s/b.log'", bin, conf, dir);
    ck_assert_int_eq(rc, 1);
    snprintf(cmd, sizeof cmd, "%s/b.log", dir);
    char *msg = tm_test_slurp(cmd, NULL);
    ck_assert_ptr_nonnull(msg);
    char want[128];
    snprintf(want, sizeof want, "another scheduler daemon (pid %ld) is running", a);
    ck_assert_msg(strstr(msg, want) != NULL, "second daemon said: %s", msg);
    free(msg);

    /* kill -9 in the middle of the slow job. */
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT pid FROM job_runs WHERE id = %ld", row);
    long child = q_int(h, sql);
    ck_assert_int_gt(child, 0);
    ck_assert_int_eq(kill((pid_t)a, SIGKILL), 0);
    tm_test_system("while [ -e /proc/%ld ] && ! grep -q ') Z' /proc/%ld/stat; do sleep 0.05; done",
                   a, a);
    long killed_at = q_int(h, "SELECT CAST(strftime('%s','now') AS INTEGER) * 1000000");
    ck_assert_int_eq(kill(-(pid_t)child, 0), 0); /* its job is still running, orphaned */
    sleep(3); /* downtime: fires of both jobs are missed; the orphan still runs */

    /* Restart: catch up once and exit. */
    rc = tm_test_system("timeout 20 '%s' daemon --config '%s' --once 2>'%s/c.log'", bin, conf, dir);
    ck_assert_int_eq(rc, 0);
    snprintf(sql, sizeof sql, "SELECT status = 'interrupted' FROM job_runs WHERE id = %ld", row);
    ck_assert_int_eq(q_int(h, sql), 1);
    /* The leftover was stopped: only the catch-up run left its marker. */
    rc = tm_test_system("test $(ls '%s' | grep -c '^done-') = 1 || (sqlite3 '%s' 'select * from"
                        " job_runs'; cat '%s/c.log'; ls -l --full-time '%s'; exit 1) >&2",
                        dir, db, dir, dir);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(
            q_int(h, "SELECT count(*) FROM job_runs WHERE status IN ('waiting','running')"), 0);
    /* Every fire accounted for: each row (or span of rows) ends one interval
     * before the next begins. */
    ck_assert_int_eq(q_int(h, "SELECT count(*) FROM job_runs a JOIN job_runs b ON a.job = b.job"
                              " AND b.scheduled_us = (SELECT min(scheduled_us) FROM job_runs c"
                              " WHERE c.job = a.job AND c.scheduled_us > a.scheduled_us)"
                              " WHERE b.scheduled_us - coalesce(a.last_scheduled_us,"
                              " a.scheduled_us) != CASE a.job WHEN 'tick' THEN 1000000"
                              " ELSE 2000000 END"),
                     0);
    ck_assert_int_eq(q_int(h, "SELECT count(*) FROM job_runs WHERE fires > 1 AND"
                              " last_scheduled_us - scheduled_us != (fires - 1) *"
                              " CASE job WHEN 'tick' THEN 1000000 ELSE 2000000 END"),
                     0);
    /* The catch-up: after the kill, missed fires are coalesced and the latest ran. */
    for (int j = 0; j < 2; j++) {
        const char *job = j ? "slow" : "tick";
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM job_runs WHERE job = '%s' AND"
                 " scheduled_us > %ld AND status = 'coalesced'",
                 job, killed_at);
        ck_assert_int_ge(q_int(h, sql), j ? 0 : 1); /* slow may have missed only one */
        snprintf(sql, sizeof sql,
                 "SELECT count(*) FROM job_runs WHERE job = '%s' AND"
                 " scheduled_us > %ld AND status NOT IN ('coalesced', 'success')",
                 job, killed_at);
        ck_assert_int_eq(q_int(h, sql), 0);
        snprintf(sql, sizeof sql,
                 "SELECT status = 'success' FROM job_runs WHERE job = '%s'"
                 " ORDER BY scheduled_us DESC LIMIT 1",
                 job);
        ck_assert_int_eq(q_int(h, sql), 1);
    }
    snprintf(cmd, sizeof cmd, "%s/tm.db.sched.json", dir);
    char *state = tm_test_slurp(cmd, NULL);
    ck_assert_ptr_nonnull(state);
    ck_assert(strstr(state, "\"slow\"") && strstr(state, "next_run_us"));
    free(state);

    /* SIGTERM: a running job gets stop_grace, then is recorded as interrupted. */
    ck_assert_int_eq(tm_test_system("'%s' daemon --config '%s' 2>'%s/d.log' & echo $! >'%s/d.pid'",
                                    bin, conf, dir, dir),
                     0);
    snprintf(cmd, sizeof cmd, "%s/d.pid", dir);
    long d = read_pid(cmd);
    snprintf(sql, sizeof sql,
             "SELECT id FROM job_runs WHERE job='slow' AND status='running'"
             " AND id > %ld",
             row);
    long row2 = q_wait(h, sql, 10);
    ck_assert_int_gt(row2, 0);
    ck_assert_int_eq(kill((pid_t)d, SIGTERM), 0);
    ck_assert_int_eq(tm_test_system("for i in $(seq 100); do [ -e /proc/%ld ] && ! grep -q ') Z'"
                                    " /proc/%ld/stat || exit 0; sleep 0.1; done; exit 1",
                                    d, d),
                     0);
    ck_assert_int_eq(
            q_int(h, "SELECT count(*) FROM job_runs WHERE status IN ('waiting','running')"), 0);
    snprintf(sql, sizeof sql,
             "SELECT status IN ('success', 'interrupted') FROM job_runs WHERE id = %ld", row2);
    ck_assert_int_eq(q_int(h, sql), 1);
    sqlite3_close(h);
}
END_TEST

TM_TEST_SUITE(sched_daemon)
{
    Suite *s = suite_create("sched_daemon");
    TCase *tc = tcase_create("daemon");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, daemon_single_instance_kill9_catch_up);
    suite_add_tcase(s, tc);
    return s;
}
