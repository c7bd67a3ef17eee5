/* The scheduler against APScheduler 3.9.1 ground truth
 * (../shared/fixtures/scheduler): every trigger, misfire ("resume" and
 * "restart"), gate and validity vector through tm_sched_eval_line, then the
 * same files through `turbomode schedule eval`, byte for byte. Plus a few
 * hand-checked DST facts of the pytz zone code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbomode/sched.h>

#include "tm_test.h"

static const char *const out_keys[] = {"next",
                                       "apscheduler_raw",
                                       "valid",
                                       "error",
                                       "parsed",
                                       "first_after_2026_01_01",
                                       "due",
                                       "runs",
                                       "skipped",
                                       "coalesced",
                                       "next_run_time_before",
                                       "retrains",
                                       "fires"};

/* Evaluates every line of a fixture file; returns the number of cases and
 * fails on any output field that differs from the expected one. */
static int check_file(const char *name, const char *mode_only)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/fixtures/scheduler/%s", tm_test_shared_dir(), name);
    size_t len = 0;
    char *text = tm_test_slurp(path, &len);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    int cases = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        tm_json_doc *exp = NULL;
        tm_err err;
        tm_err_init(&err);
        ck_assert_int_eq(tm_json_parse(line, strlen(line), path, &exp, &err), TM_OK);
        const tm_json *e = tm_json_root(exp);
        const tm_json *mode = tm_json_get(e, "mode");
        if (mode_only && mode && strcmp(mode->str, mode_only) != 0) {
            tm_json_doc_free(exp);
            continue;
        }
        char *out = NULL;
        ck_assert_int_eq(tm_sched_eval_line(line, strlen(line), &out, &err), TM_OK);
        tm_json_doc *got = NULL;
        ck_assert_int_eq(tm_json_parse(out, strlen(out), "eval", &got, &err), TM_OK);
        const char *id = tm_json_get(e, "id")->str;
        for (size_t k = 0; k < sizeof out_keys / sizeof out_keys[0]; k++) {
            const tm_json *x = tm_json_get(e, out_keys[k]);
            const tm_json *g = tm_json_get(tm_json_root(got), out_keys[k]);
            if (strcmp(name, "invalid.jsonl") == 0 && strcmp(out_keys[k], "error") == 0) {
                /* only the rejection is required, but the text matches too */
                ck_assert_msg((x == NULL) == (g == NULL), "%s: error presence", id);
                continue;
            }
            ck_assert_msg((x == NULL) == (g == NULL), "%s: field %s present in only one", id,
                          out_keys[k]);
        }
        /* The whole line is identical: same fields, same order, same text. */
        ck_assert_msg(strcmp(out, line) == 0, "%s:\n expected %s\n got      %s", id, line, out);
        tm_free(out);
        tm_json_doc_free(got);
        tm_json_doc_free(exp);
        cases++;
    }
    free(text);
    return cases;
}

START_TEST(fixtures_triggers_all_vectors)
{
    if (!tm_test_shared_has("fixtures/scheduler/triggers.jsonl", "scheduler trigger vectors")) {
        return;
    }
    ck_assert_int_eq(check_file("triggers.jsonl", NULL), 170);
}
END_TEST

START_TEST(fixtures_misfire_resume_and_restart)
{
    if (!tm_test_shared_has("fixtures/scheduler/misfire.jsonl", "scheduler misfire vectors")) {
        return;
    }
    ck_assert_int_eq(check_file("misfire.jsonl", "resume"), 46);
    ck_assert_int_eq(check_file("misfire.jsonl", NULL), 48);
}
END_TEST

START_TEST(fixtures_gate_policies)
{
    if (!tm_test_shared_has("fixtures/scheduler/gate.jsonl", "scheduler gate vectors")) {
        return;
    }
    ck_assert_int_eq(check_file("gate.jsonl", NULL), 11);
}
END_TEST

START_TEST(fixtures_invalid_rejected)
{
    if (!tm_test_shared_has("fixtures/scheduler/invalid.jsonl", "scheduler validity vectors")) {
        return;
    }
    ck_assert_int_eq(check_file("invalid.jsonl", NULL), 15);
}
END_TEST

START_TEST(fixtures_cli_eval_identical)
{
    if (!tm_test_shared_has("fixtures/scheduler/triggers.jsonl", "schedule eval on the vectors")) {
        return;
    }
    const char *files[] = {"triggers", "misfire", "gate", "invalid"};
    for (int i = 0; i < 4; i++) {
        int rc = tm_test_system("'%s' schedule eval '%s/fixtures/scheduler/%s.jsonl' | "
                                "cmp -s - '%s/fixtures/scheduler/%s.jsonl'",
                                tm_test_bin(), tm_test_shared_dir(), files[i], tm_test_shared_dir(),
                                files[i]);
        ck_assert_msg(rc == 0, "schedule eval differs from %s.jsonl", files[i]);
    }
}
END_TEST

static tm_sched_time at(const char *iso)
{
    tm_sched_time t;
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_sched_time_parse(iso, NULL, &t, &err), TM_OK);
    return t;
}

START_TEST(zone_localize_gap_and_fold)
{
    tm_sched_zone *ny;
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_sched_zone_load("America/New_York", &ny, &err), TM_OK);
    int64_t day = (int64_t)20520 * 86400 * TM_SCHED_SECOND; /* 2026-03-08 */
    /* 02:30 does not exist: pytz reads it with EST, i.e. 03:30 EDT */
    ck_assert_int_eq(tm_sched_zone_localize(ny, day + 9000 * TM_SCHED_SECOND),
                     at("2026-03-08T03:30:00-04:00"));
    /* 01:30 on 2026-11-01 happens twice: is_dst=False takes the second (EST) */
    int64_t nov1 = (int64_t)20758 * 86400 * TM_SCHED_SECOND;
    ck_assert_int_eq(tm_sched_zone_localize(ny, nov1 + 5400 * TM_SCHED_SECOND),
                     at("2026-11-01T01:30:00-05:00"));
    char buf[TM_SCHED_ISO_LEN];
    ck_assert_str_eq(tm_sched_time_format(at("2026-07-01T12:00:00Z"), ny, buf, sizeof buf),
                     "2026-07-01T08:00:00-04:00");
    tm_sched_zone_free(ny);
    tm_sched_zone *z = NULL;
    ck_assert_int_eq(tm_sched_zone_load("Mars/Olympus", &z, &err), TM_E_INVALID);
    ck_assert_ptr_null(z);
}
END_TEST

START_TEST(zone_tzdir_honoured)
{
    const char *old = getenv("TZDIR");
    char *saved = old ? strdup(old) : NULL;
    setenv("TZDIR", "/nonexistent", 1);
    tm_sched_zone *z = NULL;
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_sched_zone_load("Europe/London", &z, &err), TM_E_INVALID);
    if (saved) {
        setenv("TZDIR", saved, 1);
        free(saved);
    } else {
        unsetenv("TZDIR");
    }
    ck_assert_int_eq(tm_sched_zone_load("Europe/London", &z, &err), TM_OK);
    tm_sched_zone_free(z);
}
END_TEST

TM_TEST_SUITE(sched_fixtures)
{
    Suite *s = suite_create("sched_fixtures");
    TCase *tc = tcase_create("fixtures");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, fixtures_triggers_all_vectors);
    tcase_add_test(tc, fixtures_misfire_resume_and_restart);
    tcase_add_test(tc, fixtures_gate_policies);
    tcase_add_test(tc, fixtures_invalid_rejected);
    tcase_add_test(tc, fixtures_cli_eval_identical);
    suite_add_tcase(s, tc);
    TCase *tz = tcase_create("zones");
    tcase_add_test(tz, zone_localize_gap_and_fold);
    tcase_add_test(tz, zone_tzdir_honoured);
    suite_add_tcase(s, tz);
    return s;
}
