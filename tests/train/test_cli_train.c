/* `turbomode train` (src/cli/cmd_train.c): a time-ordered validation split
 * with class weights writes a model and the metrics JSON; bad input exits
 * 2 with a one-line message and leaves --out as it was. */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <turbomode/forest.h>
#include <turbomode/train.h>

#include "synth.h"
#include "tm_test.h"

/* dir/name: date_index, symbol, label, f0..f4 from a synthetic set;
 * bad_line (> 1) gets an empty label. */
static void write_input(const char *path, int bad_line)
{
    synth s;
    synth_make(&s, 1200, 5, 0, 77);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("date_index,symbol,label,f0,f1,f2,f3,f4\n", fp);
    for (size_t r = 0; r < s.n; r++) {
        int line = (int)r + 2;
        fprintf(fp, "%zu,%zu,", r / 12, r % 12);
        if (line != bad_line) {
            fprintf(fp, "%d", (int)s.y[r]);
        }
        for (size_t j = 0; j < 5; j++) {
            double v = s.x[r * 5 + j];
            fputc(',', fp);
            if (!isnan(v)) {
                fprintf(fp, "%.9g", v);
            }
        }
        fputc('\n', fp);
    }
    fclose(fp);
    synth_free(&s);
}

static char *run(const char *args, int *rc)
{
    const char *dir = tm_test_tmpdir();
    char bin[4096];
    if (!realpath(tm_test_bin(), bin)) {
        snprintf(bin, sizeof bin, "%s", tm_test_bin());
    }
    *rc = tm_test_system("cd %s && %s train %s >out.txt 2>err.txt", dir, bin, args);
    char path[512];
    snprintf(path, sizeof path, "%s/err.txt", dir);
    return tm_test_slurp(path, NULL);
}

START_TEST(cli_train_writes_model_and_metrics)
{
    char path[512];
    snprintf(path, sizeof path, "%s/in.csv", tm_test_tmpdir());
    write_input(path, 0);
    int rc;
    char *err = run("--input in.csv --label label --valid-fraction 0.25 --split time "
                    "--time-column date_index --ignore symbol --class-weight balanced "
                    "--max-rounds 15 --learning-rate 0.2 --threads 2 --out model.txt "
                    "--metrics-json metrics.json",
                    &rc);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    free(err);
    snprintf(path, sizeof path, "%s/model.txt", tm_test_tmpdir());
    tm_forest *f = NULL;
    ck_assert_int_eq(tm_forest_load(path, NULL, &f, NULL), TM_OK);
    ck_assert_int_eq(tm_forest_n_features(f), 5); /* label, time, ignored: not features */
    ck_assert_str_eq(tm_forest_feature_name(f, 0), "f0");
    ck_assert_int_eq(tm_forest_n_outputs(f), 3);
    tm_forest_free(f);
    snprintf(path, sizeof path, "%s/metrics.json", tm_test_tmpdir());
    char *text = tm_test_slurp(path, NULL);
    ck_assert_ptr_nonnull(text);
    ck_assert_ptr_nonnull(strstr(text, "\"n_valid\": 300"));
    ck_assert_ptr_nonnull(strstr(text, "\"valid_multi_logloss\": "));
    ck_assert_ptr_nonnull(strstr(text, "\"confusion_matrix\": [["));
    free(text);
    err = run("--input in.csv --label label --valid-fraction 0.25 --growth oblivious "
              "--max-rounds 5 --out model.cbm.json --out-format catboost",
              &rc);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    free(err);
    err = run("--input in.csv --label label --valid in.csv --weight-column symbol --max-rounds 5 "
              "--out model.json --out-format xgboost --objective multiclass --growth depthwise "
              "--max-depth 3 --subsample 0.8 --colsample 0.6 --seed 9",
              &rc);
    ck_assert_msg(rc == 0, "rc %d: %s", rc, err);
    free(err);
    snprintf(path, sizeof path, "%s/model.json", tm_test_tmpdir());
    ck_assert_int_eq(tm_forest_load(path, NULL, &f, NULL), TM_OK);
    ck_assert_int_eq(tm_forest_get_family(f), TM_FOREST_XGBOOST);
    ck_assert_int_eq(tm_forest_n_features(f), 6); /* date_index stays a feature here */
    tm_forest_free(f);
}
END_TEST

/* Runs a failing command; checks the exit status, the message and that
 * the sentinel at keep.txt is untouched. */
static void expect_failure(const char *args, int want_rc, const char *want_msg)
{
    char path[512];
    snprintf(path, sizeof path, "%s/keep.txt", tm_test_tmpdir());
    FILE *fp = fopen(path, "w");
    fputs("old model\n", fp);
    fclose(fp);
    int rc;
    char *err = run(args, &rc);
    ck_assert_int_eq(rc, want_rc);
    ck_assert_str_eq(err, want_msg);
    free(err);
    char *kept = tm_test_slurp(path, NULL);
    ck_assert_str_eq(kept, "old model\n");
    free(kept);
}

START_TEST(cli_train_bad_input_exits_2_and_keeps_out)
{
    char path[512];
    snprintf(path, sizeof path, "%s/in.csv", tm_test_tmpdir());
    write_input(path, 0);
    snprintf(path, sizeof path, "%s/bad.csv", tm_test_tmpdir());
    write_input(path, 7);
    expect_failure("--input in.csv --label target --out keep.txt", 2,
                   "turbomode: in.csv:1: field 'target': expected a label column named "
                   "'target' in the header, found none\n");
    expect_failure("--input bad.csv --label label --out keep.txt", 2,
                   "turbomode: bad.csv:7: field 'label': expected a class id (an integer "
                   "0..31), found nan\n");
    expect_failure("--input in.csv --label label --num-class 4 --out keep.txt", 2,
                   "turbomode: in.csv: field 'label': expected training rows of every class "
                   "0..3, found none of class 3\n");
    expect_failure("--input in.csv --label label --out keep.txt --out-format catboost", 2,
                   "turbomode train: --out-format catboost needs --growth oblivious (see "
                   "'turbomode train --help')\n");
    expect_failure("--input in.csv --label label --out keep.txt --max-bin 300", 2,
                   "turbomode train: --max-bin: expected a whole number in 2..255, found "
                   "\"300\" (see 'turbomode train --help')\n");
    expect_failure("--input in.csv --label label --ignore symbol,nope --out keep.txt", 2,
                   "turbomode: in.csv:1: field 'nope': expected an ignored column named 'nope' "
                   "in the header, found none\n");
    expect_failure("--input missing.csv --label label --out keep.txt", 2,
                   "turbomode: missing.csv: cannot open: No such file or directory\n");
}
END_TEST

/* Every option's bad value is refused before the input is read (in.csv
 * is not even needed: absent.csv would fail later), naming the option and
 * the value; --out and --metrics-json are left as they were. */
START_TEST(cli_train_options_refused_by_name)
{
    static const struct {
        const char *args, *msg;
    } cases[] = {
            {"--max-rounds 0", "--max-rounds: expected a whole number in 1..1000000, found \"0\""},
            {"--learning-rate nan",
             "--learning-rate: expected a finite number in [1e-06, 100], found \"nan\""},
            {"--learning-rate 1e400",
             "--learning-rate: expected a finite number in [1e-06, 100], found \"1e400\""},
            {"--lambda -1", "--lambda: expected a finite number in [0, 1e+09], found \"-1\""},
            {"--subsample 0", "--subsample: expected a finite number in [1e-06, 1], found \"0\""},
            {"--colsample 1.5",
             "--colsample: expected a finite number in [1e-06, 1], found \"1.5\""},
            {"--threads 0", "--threads: expected a whole number in 1..1024, found \"0\""},
            {"--threads abc", "--threads: expected a whole number in 1..1024, found \"abc\""},
            {"--threads 99999999999",
             "--threads: expected a whole number in 1..1024, found \"99999999999\""},
            {"--num-leaves 1", "--num-leaves: expected a whole number in 2..1048576, found \"1\""},
            {"--max-depth 0", "--max-depth: expected a whole number in 1..30, found \"0\""},
            {"--max-depth 2.5", "--max-depth: expected a whole number in 1..30, found \"2.5\""},
            {"--growth oblivious --max-depth 13",
             "--max-depth: expected a whole number in 1..12 for oblivious growth, found \"13\""},
            {"--num-class 33", "--num-class: expected a whole number in 2..32, found \"33\""},
            {"--seed -1", "--seed: expected a whole number in 0..18446744073709551615, found "
                          "\"-1\""},
            {"--seed 1.5", "--seed: expected a whole number in 0..18446744073709551615, found "
                           "\"1.5\""},
            {"--seed 18446744073709551616",
             "--seed: expected a whole number in 0..18446744073709551615, found "
             "\"18446744073709551616\""},
            {"--early-stopping -1",
             "--early-stopping: expected a whole number in 0..1000000, found \"-1\""},
            {"--progress-every 0",
             "--progress-every: expected a whole number in 1..1000000, found \"0\""},
            {"--objective rank", "--objective: expected one of multiclass|binary|regression, "
                                 "found \"rank\""},
            {"--growth lossguide",
             "--growth: expected one of leafwise|depthwise|oblivious, found \"lossguide\""},
            {"--out-format onnx",
             "--out-format: expected one of lightgbm|xgboost|catboost, found \"onnx\""},
            {"--valid-fraction 1",
             "--valid-fraction: expected a finite number in [0.001, 0.999], found \"1\""},
            {"--valid-fraction 0.2 --split later",
             "--split: expected one of time|random, found \"later\""},
            {"--class-weight 1,0,1",
             "--class-weight: expected balanced or weights > 0 separated by commas, found "
             "\"1,0,1\""},
            {"--class-weight 1,,2",
             "--class-weight: expected balanced or weights > 0 separated by commas, found "
             "\"1,,2\""},
            {"--class-weight inf",
             "--class-weight: expected balanced or weights > 0 separated by commas, found "
             "\"inf\""},
            {"--objective regression --class-weight balanced",
             "--class-weight: expected no class weights for the regression objective, found "
             "balanced"},
            {"--label ''", "--label: expected a non-empty value, found \"\""},
            {"--max-bin", "--max-bin: missing value"},
            {"--max_bin 10", "unknown option '--max_bin'"},
            {"--valid-fraction 0.2 --split time", "--split time needs --time-column"},
            {"--time-column label --valid-fraction 0.2",
             "--time-column: expected a column other than --label's, found \"label\""},
            {"--weight-column label",
             "--weight-column: expected a column other than --label's, found \"label\""},
            {"--weight-column w --time-column w --valid-fraction 0.2",
             "--weight-column: expected a column other than --time-column's, found \"w\""},
    };
    char path[512];
    snprintf(path, sizeof path, "%s/m.json", tm_test_tmpdir());
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char args[512], msg[512];
        snprintf(args, sizeof args,
                 "--input absent.csv --label label --out keep.txt --metrics-json m.json %s",
                 cases[i].args);
        snprintf(msg, sizeof msg, "turbomode train: %s (see 'turbomode train --help')\n",
                 cases[i].msg);
        expect_failure(args, 2, msg);
        ck_assert_int_ne(access(path, F_OK), 0);
    }
    /* Values at the ends of the ranges are taken (the input is then read). */
    expect_failure("--input absent.csv --label label --out keep.txt --max-bin 2 --threads 1024 "
                   "--seed 18446744073709551615 --subsample 1 --lambda 0 --num-class 32",
                   2, "turbomode: absent.csv: cannot open: No such file or directory\n");
}
END_TEST

/* --help lists every row of both tables, with the defaults. */
START_TEST(cli_train_help_lists_every_option)
{
    int rc;
    char *err = run("--help", &rc);
    ck_assert_int_eq(rc, 0);
    ck_assert_str_eq(err, "");
    free(err);
    char path[512];
    snprintf(path, sizeof path, "%s/out.txt", tm_test_tmpdir());
    char *help = tm_test_slurp(path, NULL);
    size_t n;
    const tm_opt *rows = tm_train_opt_table(&n);
    for (size_t i = 0; i < n; i++) {
        char use[128];
        ck_assert_msg(strstr(help, tm_opt_usage(&rows[i], use, sizeof use)), "%s", use);
    }
    static const char *const own[] = {
            "--input CSV",   "--label COL",        "--out MODEL",       "--metrics-json FILE",
            "--valid CSV",   "--valid-fraction F", "--time-column COL", "--weight-column COL",
            "--ignore COLS", "--class-weight W"};
    for (size_t i = 0; i < sizeof own / sizeof own[0]; i++) {
        ck_assert_msg(strstr(help, own[i]), "%s", own[i]);
    }
    ck_assert_ptr_nonnull(strstr(help, "  --max-bin N            value bins per feature (default: "
                                       "255)\n"));
    free(help);
}
END_TEST

/* label,w,f0: 30 rows, classes 0..2 in turn; w is 0 for every row, or
 * for the rows of one class (zero_class >= 0). */
static void write_weighted(const char *name, int zero_class)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tm_test_tmpdir(), name);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("label,w,f0\n", fp);
    for (int r = 0; r < 30; r++) {
        int c = r % 3;
        bool zero = zero_class < 0 || c == zero_class;
        fprintf(fp, "%d,%s,%d\n", c, zero ? "0" : "1.5", r * 7 % 11);
    }
    fclose(fp);
}

START_TEST(cli_train_zero_weight_sums_refused)
{
    write_weighted("w0.csv", -1);
    write_weighted("w2.csv", 2);
    expect_failure("--input w0.csv --label label --weight-column w --out keep.txt", 2,
                   "turbomode: w0.csv: field 'weight': expected a positive sum of weights for "
                   "class 0, found 0 over its 10 rows\n");
    expect_failure("--input w2.csv --label label --weight-column w --out keep.txt", 2,
                   "turbomode: w2.csv: field 'weight': expected a positive sum of weights for "
                   "class 2, found 0 over its 10 rows\n");
    expect_failure("--input w0.csv --label label --weight-column w --objective regression "
                   "--out keep.txt",
                   2,
                   "turbomode: w0.csv: field 'weight': expected a positive sum of weights, "
                   "found 0 over 30 rows\n");
    char path[512];
    snprintf(path, sizeof path, "%s/m_w0.txt", tm_test_tmpdir());
    int rc;
    char *err = run("--input w0.csv --label label --weight-column w --out m_w0.txt", &rc);
    ck_assert_int_eq(rc, 2);
    free(err);
    ck_assert_int_ne(access(path, F_OK), 0); /* nothing written */
}
END_TEST

TM_TEST_SUITE(train_cli)
{
    Suite *s = suite_create("train_cli");
    TCase *tc = tcase_create("cli_train");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, cli_train_writes_model_and_metrics);
    tcase_add_test(tc, cli_train_bad_input_exits_2_and_keeps_out);
    tcase_add_test(tc, cli_train_zero_weight_sums_refused);
    tcase_add_test(tc, cli_train_options_refused_by_name);
    tcase_add_test(tc, cli_train_help_lists_every_option);
    suite_add_tcase(s, tc);
    return s;
}
