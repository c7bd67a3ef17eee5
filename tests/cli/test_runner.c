/* The test runner's own accounting: fixture groups that ran and that were
 * skipped are counted in the runner's process (test cases run in forked
 * children) and printed at the end, so a run without the shared fixtures
 * cannot pass as if everything had been checked. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tm_test.h"

/* Runs this very test binary on the sched_fixtures suite (five fixture
 * groups, each checked in its own forked case) with TM_SHARED set to
 * shared; returns its exit status and its output in *out. */
static int run_nested(const char *shared, char **out)
{
    char dir[512], log[700];
    snprintf(dir, sizeof dir, "%s/runner_%d", tm_test_tmpdir(), (int)getpid());
    mkdir(dir, 0755);
    snprintf(log, sizeof log, "%s/nested.log", dir);
    int rc = tm_test_system("TM_SHARED='%s' CK_RUN_SUITE=sched_fixtures "
                            "/proc/%d/exe >'%s' 2>&1",
                            shared, (int)getpid(), log);
    *out = tm_test_slurp(log, NULL);
    ck_assert_ptr_nonnull(*out);
    return rc;
}

START_TEST(runner_counts_skips_of_forked_cases)
{
    char empty[512];
    snprintf(empty, sizeof empty, "%s/empty_shared_%d", tm_test_tmpdir(), (int)getpid());
    mkdir(empty, 0755);
    char *out = NULL;
    int rc = run_nested(empty, &out);
    ck_assert_int_eq(rc, 0);
    /* Five groups, each skipped loudly, none passed off as run. */
    ck_assert_msg(strstr(out, "fixture groups: 0 ran, 5 skipped") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "SKIP: scheduler trigger vectors") != NULL, "%s", out);
    free(out);
}
END_TEST

START_TEST(runner_counts_groups_that_ran)
{
    if (!tm_test_shared_has("fixtures/scheduler", "runner accounting with fixtures present")) {
        return;
    }
    char shared[1024];
    if (!realpath(tm_test_shared_dir(), shared)) {
        ck_abort_msg("realpath(%s) failed", tm_test_shared_dir());
    }
    char *out = NULL;
    int rc = run_nested(shared, &out);
    ck_assert_int_eq(rc, 0);
    ck_assert_msg(strstr(out, "fixture groups: 5 ran, 0 skipped") != NULL, "%s", out);
    free(out);
}
END_TEST

/* Only under the test below (TM_RUNNER_PROBE set): a skip counted the
 * older way, with a bare increment in the forked child. */
START_TEST(runner_probe_bare_skip)
{
    const char *probe = getenv("TM_RUNNER_PROBE");
    if (probe && strcmp(probe, "1") == 0) {
        fprintf(stderr, "SKIP: probe\n");
        tm_test_skips++;
    }
}
END_TEST

START_TEST(runner_counts_bare_skip_increments)
{
    char log[700];
    snprintf(log, sizeof log, "%s/bare_%d.log", tm_test_tmpdir(), (int)getpid());
    int rc = tm_test_system("TM_RUNNER_PROBE=1 CK_RUN_SUITE=runner CK_RUN_CASE=probe "
                            "/proc/%d/exe >'%s' 2>&1",
                            (int)getpid(), log);
    ck_assert_int_eq(rc, 0);
    char *out = tm_test_slurp(log, NULL);
    ck_assert_ptr_nonnull(out);
    ck_assert_msg(strstr(out, "fixture groups: 0 ran, 1 skipped") != NULL, "%s", out);
    free(out);
    rc = tm_test_system("CK_FORK=no TM_RUNNER_PROBE=1 CK_RUN_SUITE=runner CK_RUN_CASE=probe "
                        "/proc/%d/exe >'%s' 2>&1",
                        (int)getpid(), log);
    ck_assert_int_eq(rc, 0);
    out = tm_test_slurp(log, NULL);
    ck_assert_msg(strstr(out, "fixture groups: 0 ran, 1 skipped") != NULL, "%s", out);
    free(out);
}
END_TEST

TM_TEST_SUITE(runner)
{
    Suite *s = suite_create("runner");
    TCase *tc = tcase_create("skips");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, runner_counts_skips_of_forked_cases);
    tcase_add_test(tc, runner_counts_groups_that_ran);
    tcase_add_test(tc, runner_counts_bare_skip_increments);
    suite_add_tcase(s, tc);
    TCase *probe = tcase_create("probe");
    tcase_add_test(probe, runner_probe_bare_skip);
    suite_add_tcase(s, probe);
    return s;
}
