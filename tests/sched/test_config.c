/* The scheduler config: the built-in jobs, and one exact one-line error
 * (file, line, reason) per kind of bad config: unknown field, bad cron
 * expression, unknown timezone, a job without a command, and others. */
#include <stdio.h>
#include <string.h>

#include <turbomode/sched.h>

#include "tm_test.h"

static void expect_error(const char *text, const char *message)
{
    tm_sched_config *cfg = NULL;
    tm_err err;
    tm_err_init(&err);
    tm_status st = tm_sched_config_parse(text, strlen(text), "jobs.conf", &cfg, &err);
    ck_assert_int_eq(st, TM_E_INVALID);
    ck_assert_ptr_null(cfg);
    char buf[1024];
    ck_assert_str_eq(tm_err_format(&err, buf, sizeof buf), message);
}

START_TEST(config_bad_lines_named)
{
    expect_error("timezone = UTC\n[job a]\ncommand = true\nhour = 3\ncolour = blue\n",
                 "jobs.conf:5: field 'colour': unknown field 'colour'");
    expect_error("[job a]\ncommand = true\nhour = 25\n",
                 "jobs.conf:3: field 'hour': error validating expression '25': the last value "
                 "(25) is higher than the maximum value (23)");
    expect_error("[job a]\ncommand = true\nday_of_week = monday\n",
                 "jobs.conf:3: field 'day_of_week': invalid weekday name \"monday\"");
    expect_error("[job a]\ncommand = true\nminute = */0\n",
                 "jobs.conf:3: field 'minute': increment must be higher than 0");
    expect_error("[job a]\ncommand = true\nhour = 1\ntimezone = Mars/Olympus\n",
                 "jobs.conf:4: field 'timezone': unknown timezone 'Mars/Olympus'");
    expect_error("timezone = Mars/Olympus\n",
                 "jobs.conf:1: field 'timezone': unknown timezone 'Mars/Olympus'");
    expect_error("# nightly\n\n[job scan]\nhour = 23\nminute = 0\n[job b]\ncommand = true\n",
                 "jobs.conf:3: field 'command': job 'scan' has no command");
    expect_error("[job a]\ncommand = true\ntrigger = interval\nhour = 2\n",
                 "jobs.conf:4: field 'hour': does not apply to a interval trigger");
    expect_error("[job a]\ncommand = true\nstart_date = 2026/01/01\n",
                 "jobs.conf:3: field 'start_date': invalid date string");
    expect_error("[job a]\ncommand = true\ntimeout = soon\n",
                 "jobs.conf:3: field 'timeout': expected a duration (90, 45s, 30m, 2h, 365d, 1w), "
                 "found \"soon\"");
    expect_error("[job a]\ncommand = true\n[job a]\ncommand = false\n",
                 "jobs.conf:3: a job with this name is already defined");
    expect_error("[jobs]\n", "jobs.conf:1: expected a section header [job NAME]");
    expect_error("[job a]\ncommand = true\nhour\n",
                 "jobs.conf:3: expected 'key = value' or '[job NAME]'");
}
END_TEST

START_TEST(config_defaults_are_the_five_jobs)
{
    tm_sched_config *cfg = NULL;
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_sched_config_load(NULL, &cfg, &err), TM_OK);
    ck_assert_int_eq((int)tm_sched_config_n_jobs(cfg), 5);
    const char *names[5] = {"overnight_scan", "outcome_tracker", "sample_generator", "meta_retrain",
                            "model_retrain"};
    const char *desc[5] = {"cron[hour='23', minute='0']", "cron[hour='2', minute='0']",
                           "cron[day_of_week='sun', hour='3', minute='0']",
                           "cron[day_of_week='sun', hour='23', minute='45']",
                           "cron[day='1', hour='4', minute='0']"};
    for (int i = 0; i < 5; i++) {
        tm_sched_job_info j;
        char buf[256];
        tm_sched_config_job(cfg, (size_t)i, &j);
        ck_assert_str_eq(j.name, names[i]);
        ck_assert_str_eq(tm_sched_trigger_describe(j.trigger, buf, sizeof buf), desc[i]);
        ck_assert_str_eq(tm_sched_zone_name(tm_sched_trigger_zone(j.trigger)), "America/New_York");
        ck_assert(j.coalesce);
        ck_assert_int_eq(j.skip_exit, 3); /* the jobs exit 3 when their gate skips */
    }
    tm_sched_job_info meta;
    tm_sched_config_job(cfg, 3, &meta);
    ck_assert_int_eq(meta.grace_us, 3600 * TM_SCHED_SECOND);
    ck_assert_str_eq(tm_sched_config_lock_path(cfg), "data/turbomode.db.lock");
    ck_assert_int_eq(tm_sched_config_set_db(cfg, "/srv/tm.db", &err), TM_OK);
    ck_assert_str_eq(tm_sched_config_state_path(cfg), "/srv/tm.db.sched.json");
    tm_sched_config_free(cfg);
}
END_TEST

START_TEST(config_cli_error_one_line)
{
    char path[512];
    snprintf(path, sizeof path, "%s/bad.conf", tm_test_tmpdir());
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("[job scan]\ncommand = true\nhour = 9-5\n", fp);
    fclose(fp);
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "'%s' schedule list --config '%s' 2>&1 >/dev/null | wc -l | "
             "grep -qx 1",
             tm_test_bin(), path);
    ck_assert_int_eq(tm_test_system("%s", cmd), 0);
    ck_assert_int_eq(tm_test_system("'%s' daemon --config '%s' 2>/dev/null", tm_test_bin(), path),
                     2);
}
END_TEST

START_TEST(config_utf8_bom_is_skipped)
{
    const char ok[] = "\xEF\xBB\xBF# jobs\n[job a]\ncommand = true\nhour = 3\n";
    tm_sched_config *cfg = NULL;
    tm_err err;
    tm_err_init(&err);
    char buf[1024];
    ck_assert_msg(tm_sched_config_parse(ok, strlen(ok), "jobs.conf", &cfg, &err) == TM_OK, "%s",
                  tm_err_format(&err, buf, sizeof buf));
    tm_sched_config_free(cfg);
    /* Lines keep their numbers; a BOM is not mistaken for a key. */
    expect_error("\xEF\xBB\xBFtimezone = Mars/Olympus\n",
                 "jobs.conf:1: field 'timezone': unknown timezone 'Mars/Olympus'");
    expect_error("\xEF\xBB\xBF[job a]\ncommand = true\nhour = 25\n",
                 "jobs.conf:3: field 'hour': error validating expression '25': the last value "
                 "(25) is higher than the maximum value (23)");
}
END_TEST

TM_TEST_SUITE(sched_config)
{
    Suite *s = suite_create("sched_config");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, config_bad_lines_named);
    tcase_add_test(tc, config_defaults_are_the_five_jobs);
    tcase_add_test(tc, config_cli_error_one_line);
    tcase_add_test(tc, config_utf8_bom_is_skipped);
    suite_add_tcase(s, tc);
    return s;
}
