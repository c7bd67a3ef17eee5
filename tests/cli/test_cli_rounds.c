/* turbomode predict --iteration-range / --best-iteration as a user runs
 * them: the early-stopped XGBoost fixture's best rounds give what
 * XGBoost's iteration_range (0, best_iteration + 1) gave; models without a
 * stored best iteration, ranges past the end and malformed ranges exit 2
 * with one line and write nothing. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <turbomode/core.h>

#include "tm_test.h"

static char dir[512];

/* Runs "turbomode predict ARGS --output DIR/out.csv"; returns the exit
 * status and the stderr text in err. */
static int predict(const char *args, char *err, size_t len)
{
    char path[700];
    snprintf(path, sizeof path, "%s/out.csv", dir);
    remove(path);
    int rc = tm_test_system("%s predict %s --output '%s' 2>'%s/err.txt'", tm_test_bin(), args, path,
                            dir);
    snprintf(path, sizeof path, "%s/err.txt", dir);
    char *e = tm_test_slurp(path, NULL);
    snprintf(err, len, "%s", e ? e : "");
    free(e);
    return rc;
}

static bool out_exists(void)
{
    char path[700];
    struct stat st;
    snprintf(path, sizeof path, "%s/out.csv", dir);
    return stat(path, &st) == 0;
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "%s/rounds_%d", tm_test_tmpdir(), (int)getpid());
    mkdir(dir, 0755);
}

/* Largest difference between out.csv and the fixture file want. */
static double diff_from(const char *want)
{
    char path[1024];
    tm_csv *a = NULL, *b = NULL;
    snprintf(path, sizeof path, "%s/out.csv", dir);
    ck_assert_int_eq(tm_csv_load(path, &a, NULL), TM_OK);
    snprintf(path, sizeof path, "%s/fixtures/%s", tm_test_shared_dir(), want);
    ck_assert_int_eq(tm_csv_load(path, &b, NULL), TM_OK);
    ck_assert_uint_eq(a->n_rows, b->n_rows);
    ck_assert_uint_eq(a->n_cols, b->n_cols);
    double d = 0.0;
    for (size_t i = 0; i < a->n_rows * a->n_cols; i++) {
        d = fmax(d, fabs(a->values[i] - b->values[i]));
    }
    tm_csv_free(a);
    tm_csv_free(b);
    return d;
}

#define XES "--input %s/fixtures/xgboost/early_stopping_softprob/input.csv "

START_TEST(rounds_best_iteration_matches_xgboost)
{
    if (!tm_test_shared_has("fixtures/xgboost/early_stopping_softprob", "predict rounds")) {
        return;
    }
    const char *sh = tm_test_shared_dir();
    char args[2048], err[2048];
    snprintf(args, sizeof args,
             "--model %s/fixtures/xgboost/early_stopping_softprob/model.json " XES
             "--best-iteration",
             sh, sh);
    ck_assert_int_eq(predict(args, err, sizeof err), 0);
    ck_assert_double_le(diff_from("xgboost/early_stopping_softprob/expected_best.csv"), 1e-6);
    snprintf(args, sizeof args,
             "--model %s/fixtures/xgboost/early_stopping_softprob/model.ubj " XES
             "--iteration-range 0:18 --margin",
             sh, sh);
    ck_assert_int_eq(predict(args, err, sizeof err), 0);
    ck_assert_double_le(diff_from("xgboost/early_stopping_softprob/expected_best_margin.csv"),
                        1e-6);
    snprintf(args, sizeof args,
             "--model %s/fixtures/xgboost/early_stopping_softprob/model.json " XES
             "--iteration-range 0:0",
             sh, sh);
    ck_assert_int_eq(predict(args, err, sizeof err), 0);
    ck_assert_double_le(diff_from("xgboost/early_stopping_softprob/expected.csv"), 1e-6);
}
END_TEST

START_TEST(rounds_refusals_exit_2_and_write_nothing)
{
    if (!tm_test_shared_has("fixtures/lightgbm/early_stopping", "predict rounds refusals")) {
        return;
    }
    const char *sh = tm_test_shared_dir();
    char args[2048], err[2048], want[2048];
    snprintf(args, sizeof args,
             "--model %s/fixtures/lightgbm/early_stopping/model.txt "
             "--input %s/fixtures/lightgbm/early_stopping/input.csv --best-iteration",
             sh, sh);
    ck_assert_int_eq(predict(args, err, sizeof err), 2);
    snprintf(want, sizeof want,
             "turbomode: %s/fixtures/lightgbm/early_stopping/model.txt: field "
             "'--best-iteration': the model stores no best iteration: LightGBM's model.txt has "
             "no such field (a model saved after early stopping already ends at its best "
             "iteration)\n",
             sh);
    ck_assert_str_eq(err, want);
    ck_assert(!out_exists());
    snprintf(args, sizeof args,
             "--model %s/fixtures/xgboost/early_stopping_softprob/model.json " XES
             "--iteration-range 0:69",
             sh, sh);
    ck_assert_int_eq(predict(args, err, sizeof err), 2);
    snprintf(want, sizeof want,
             "turbomode: %s/fixtures/xgboost/early_stopping_softprob/model.json: field "
             "'--iteration-range': expected an end of at most 68 (the model's rounds), found 69\n",
             sh);
    ck_assert_str_eq(err, want);
    ck_assert(!out_exists());
    const char *bad[] = {"3:2", "-1:4", "1", "a:b", "1:2x", ":3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(args, sizeof args,
                 "--model %s/fixtures/xgboost/early_stopping_softprob/model.json " XES
                 "--iteration-range '%s'",
                 sh, sh, bad[i]);
        ck_assert_int_eq(predict(args, err, sizeof err), 2);
        snprintf(want, sizeof want,
                 "turbomode predict: --iteration-range: expected A:B with 0 <= A <= B (B = 0: "
                 "to the last round), found '%s' (see 'turbomode predict --help')\n",
                 bad[i]);
        ck_assert_str_eq(err, want);
        ck_assert(!out_exists());
    }
    snprintf(args, sizeof args,
             "--model %s/fixtures/xgboost/early_stopping_softprob/model.json " XES
             "--iteration-range 0:3 --best-iteration",
             sh, sh);
    ck_assert_int_eq(predict(args, err, sizeof err), 2);
    ck_assert(!out_exists());
}
END_TEST

TM_TEST_SUITE(cli_rounds)
{
    Suite *s = suite_create("cli_rounds");
    TCase *tc = tcase_create("rounds");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, rounds_best_iteration_matches_xgboost);
    tcase_add_test(tc, rounds_refusals_exit_2_and_write_nothing);
    suite_add_tcase(s, tc);
    return s;
}
