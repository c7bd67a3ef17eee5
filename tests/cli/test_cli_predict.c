/* turbomode predict and model info as a user runs them: bad models and bad
 * CSVs give one line on stderr naming the file, line or field, exit
 * status 2, and no output file; --timings prints the four phases; columns
 * bind by name when the model has names. Uses a small model written here,
 * so it runs without the shared fixtures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tm_test.h"

/* A two-feature LightGBM model: x1 <= 0.5 -> -0.5 else 0.5, sigmoid. */
static const char *model_txt =
        "tree\nversion=v4\nnum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\n"
        "max_feature_idx=1\nobjective=binary sigmoid:1\nfeature_names=a b\n"
        "feature_infos=[0:1] [0:1]\ntree_sizes=200\n\nTree=0\nnum_leaves=2\nnum_cat=0\n"
        "split_feature=1\nsplit_gain=1\nthreshold=0.5\ndecision_type=2\nleft_child=-1\n"
        "right_child=-2\nleaf_value=-0.5 0.5\nleaf_weight=1 1\nleaf_count=1 1\n"
        "internal_value=0\ninternal_weight=1\ninternal_count=2\nis_linear=0\nshrinkage=1\n\n\n"
        "end of trees\n";

static char dir[512];

static void write_len(const char *name, const char *text, size_t len)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    fwrite(text, 1, len, fp);
    fclose(fp);
}

static void write_file(const char *name, const char *text)
{
    write_len(name, text, strlen(text));
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "%s/cli_%d", tm_test_tmpdir(), (int)getpid());
    mkdir(dir, 0755);
    write_file("model.txt", model_txt);
    write_file("in.csv", "b,a\n0.5,9\n0.75,9\n,9\n");
}

/* Runs predict with extra args; returns the exit status and the stderr. */
static int run_predict(const char *model, const char *input, const char *extra, char *errbuf,
                       size_t errlen)
{
    char errpath[700];
    snprintf(errpath, sizeof errpath, "%s/stderr.txt", dir);
    int rc = tm_test_system("%s predict --model '%s/%s' --input '%s/%s' --output '%s/out.csv' %s "
                            "2>'%s'",
                            tm_test_bin(), dir, model, dir, input, dir, extra, errpath);
    char *e = tm_test_slurp(errpath, NULL);
    snprintf(errbuf, errlen, "%s", e ? e : "");
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

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) {
        n += *s == '\n';
    }
    return n;
}

/* A bad input: exit 2, one line naming what, and no output left. */
static void expect_bad(const char *model, const char *input, const char *needle)
{
    char err[2048];
    char path[700];
    snprintf(path, sizeof path, "%s/out.csv", dir);
    remove(path);
    int rc = run_predict(model, input, "", err, sizeof err);
    ck_assert_msg(rc == 2, "exit %d for %s/%s: %s", rc, model, input, err);
    ck_assert_msg(count_lines(err) == 1, "one line expected, got: %s", err);
    ck_assert_msg(strstr(err, needle) != NULL, "'%s' not in: %s", needle, err);
    ck_assert_msg(!out_exists(), "output left behind after a failure");
}

START_TEST(predict_binds_columns_by_name_and_writes_probabilities)
{
    char err[2048];
    ck_assert_int_eq(run_predict("model.txt", "in.csv", "", err, sizeof err), 0);
    char path[700];
    snprintf(path, sizeof path, "%s/out.csv", dir);
    char *out = tm_test_slurp(path, NULL);
    /* b = 0.5 is on the threshold: left, p = 1/(1+e^0.5); NaN: missing
     * type None, so 0 <= 0.5: left too. */
    ck_assert_str_eq(out, "p\n0.37754066879814541\n0.62245933120185459\n0.37754066879814541\n");
    free(out);
    ck_assert_int_eq(run_predict("model.txt", "in.csv", "--margin", err, sizeof err), 0);
    out = tm_test_slurp(path, NULL);
    ck_assert_str_eq(out, "m\n-0.5\n0.5\n-0.5\n");
    free(out);
    ck_assert_int_eq(run_predict("model.txt", "in.csv", "--output-type class", err, sizeof err), 0);
    out = tm_test_slurp(path, NULL);
    ck_assert_str_eq(out, "class\n0\n1\n0\n");
    free(out);
}
END_TEST

START_TEST(predict_timings_prints_four_phases)
{
    char err[2048];
    ck_assert_int_eq(run_predict("model.txt", "in.csv", "--timings --threads 1", err, sizeof err),
                     0);
    const char *phases[] = {"phase=load_model seconds=", "phase=read_input seconds=",
                            "phase=predict seconds=", "phase=write_output seconds="};
    for (int i = 0; i < 4; i++) {
        ck_assert_msg(strstr(err, phases[i]) != NULL, "missing %s in %s", phases[i], err);
    }
    ck_assert_int_eq(count_lines(err), 4);
}
END_TEST

START_TEST(bad_models_exit_2_with_one_line_and_no_output)
{
    /* truncated */
    write_len("trunc.txt", model_txt, strlen(model_txt) / 2);
    expect_bad("trunc.txt", "in.csv", "trunc.txt");
    /* corrupted number */
    char *bad = strdup(model_txt);
    char *p = strstr(bad, "threshold=0.5");
    memcpy(p, "threshold=0.x", 13);
    write_file("corrupt.txt", bad);
    free(bad);
    expect_bad("corrupt.txt", "in.csv", "threshold");
    /* wrong format: a CSV given as a model */
    expect_bad("in.csv", "in.csv", "not a recognised model");
    /* empty */
    write_file("empty.txt", "");
    expect_bad("empty.txt", "in.csv", "empty");
    /* missing */
    expect_bad("absent.txt", "in.csv", "cannot open");
    /* XGBoost gblinear is not a tree model */
    const char *lin = "{\"learner\":{\"gradient_booster\":{\"name\":\"gblinear\",\"model\":{}},"
                      "\"objective\":{\"name\":\"reg:squarederror\"},"
                      "\"learner_model_param\":{\"base_score\":\"5E-1\",\"num_class\":\"0\","
                      "\"num_feature\":\"2\"}},\"version\":[1,7,4]}";
    write_file("linear.json", lin);
    expect_bad("linear.json", "in.csv", "not a tree model");
}
END_TEST

START_TEST(bad_csvs_exit_2_naming_line_and_field)
{
    write_file("ragged.csv", "a,b\n1,2\n3\n");
    expect_bad("model.txt", "ragged.csv", "ragged.csv:3");
    write_file("text.csv", "a,b\n1,2\n3,abc\n");
    expect_bad("model.txt", "text.csv", "'b'");
    write_file("narrow.csv", "x\n1\n");
    expect_bad("model.txt", "narrow.csv", "expected 2 columns");
    write_file("nothing.csv", "");
    expect_bad("model.txt", "nothing.csv", "nothing.csv");
}
END_TEST

START_TEST(usage_errors_exit_2_and_help_exits_0)
{
    ck_assert_int_eq(tm_test_system("%s predict --model x >/dev/null 2>&1", tm_test_bin()), 2);
    ck_assert_int_eq(tm_test_system("%s predict --bogus >/dev/null 2>&1", tm_test_bin()), 2);
    ck_assert_int_eq(tm_test_system("%s predict --help >/dev/null", tm_test_bin()), 0);
    ck_assert_int_eq(tm_test_system("%s --help >/dev/null", tm_test_bin()), 0);
    ck_assert_int_eq(tm_test_system("%s nosuchcommand 2>/dev/null", tm_test_bin()), 2);
    ck_assert_int_eq(tm_test_system("%s predict --model a --input b --output c --threads 0 "
                                    "2>/dev/null",
                                    tm_test_bin()),
                     2);
}
END_TEST

START_TEST(model_info_summarises)
{
    char out[700];
    snprintf(out, sizeof out, "%s/info.txt", dir);
    ck_assert_int_eq(tm_test_system("%s model info '%s/model.txt' > '%s'", tm_test_bin(), dir, out),
                     0);
    char *text = tm_test_slurp(out, NULL);
    ck_assert_ptr_nonnull(strstr(text, "family      lightgbm"));
    ck_assert_ptr_nonnull(strstr(text, "trees       1"));
    ck_assert_ptr_nonnull(strstr(text, "leaves      2"));
    ck_assert_ptr_nonnull(strstr(text, "features    2"));
    ck_assert_ptr_nonnull(strstr(text, "   1: 1"));
    ck_assert_ptr_nonnull(strstr(text, "rounds      1\n"));
    ck_assert_ptr_nonnull(strstr(text, "best round  none stored\n"));
    ck_assert_ptr_nonnull(
            strstr(text, "names       stored: predict matches input columns by name\n"));
    free(text);
}
END_TEST

/* Names when the model has them: extra columns are ignored, a header with
 * some of the names but not all (or one twice) is refused, not read by
 * position; --verbose says which way columns were matched. */
START_TEST(predict_columns_by_name_extra_partial_duplicate)
{
    char err[2048];
    write_file("extra.csv", "id,b,z,a\n7,0.75,1,9\n8,0.25,1,9\n");
    ck_assert_int_eq(run_predict("model.txt", "extra.csv", "--verbose", err, sizeof err), 0);
    ck_assert_str_eq(err, "columns: 2 model features matched by name among 4 input columns\n"
                          "rounds: 1 used (1 trees), 2 rows\n");
    char path[700];
    snprintf(path, sizeof path, "%s/out.csv", dir);
    char *out = tm_test_slurp(path, NULL);
    ck_assert_str_eq(out, "p\n0.62245933120185459\n0.37754066879814541\n");
    free(out);
    write_file("partial.csv", "b,x\n0.75,9\n");
    expect_bad("model.txt", "partial.csv",
               "partial.csv:1: expected every feature the model names in the header, missing "
               "'a' (feature 0; 1 of 2 found)");
    write_file("twice.csv", "a,b,b\n1,2,3\n");
    expect_bad("model.txt", "twice.csv",
               "twice.csv:1: field 'b': expected one column named like the model's feature 1, "
               "found columns 2 and 3");
    write_file("generic.csv", "x,y\n9,0.75\n");
    ck_assert_int_eq(run_predict("model.txt", "generic.csv", "--verbose", err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "matched by position among 2 input columns"));
}
END_TEST

/* A one-column input whose missing values are blank lines: one output
 * row per input line (the 326 in, 303 out). */
START_TEST(predict_one_column_blank_lines_keep_rows)
{
    char *one = strdup(model_txt);
    char *p = strstr(one, "max_feature_idx=1");
    p[16] = '0';
    p = strstr(one, "feature_names=a b");
    memcpy(p, "feature_names=b  ", 17);
    p = strstr(one, "feature_infos=[0:1] [0:1]");
    memcpy(p, "feature_infos=[0:1]      ", 25);
    p = strstr(one, "split_feature=1");
    p[14] = '0';
    write_file("one.txt", one);
    free(one);
    write_file("blank.csv", "b\n0.75\n\n0.25\n\n\n0.75\n");
    char err[2048];
    ck_assert_int_eq(run_predict("one.txt", "blank.csv", "--margin", err, sizeof err), 0);
    char path[700];
    snprintf(path, sizeof path, "%s/out.csv", dir);
    char *out = tm_test_slurp(path, NULL);
    /* NaN: missing type None, so 0 <= 0.5: left */
    ck_assert_str_eq(out, "m\n0.5\n-0.5\n-0.5\n-0.5\n-0.5\n0.5\n");
    free(out);
}
END_TEST

TM_TEST_SUITE(cli_predict)
{
    Suite *s = suite_create("cli_predict");
    TCase *tc = tcase_create("predict");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, predict_binds_columns_by_name_and_writes_probabilities);
    tcase_add_test(tc, predict_timings_prints_four_phases);
    tcase_add_test(tc, bad_models_exit_2_with_one_line_and_no_output);
    tcase_add_test(tc, bad_csvs_exit_2_naming_line_and_field);
    tcase_add_test(tc, usage_errors_exit_2_and_help_exits_0);
    tcase_add_test(tc, model_info_summarises);
    tcase_add_test(tc, predict_columns_by_name_extra_partial_duplicate);
    tcase_add_test(tc, predict_one_column_blank_lines_keep_rows);
    suite_add_tcase(s, tc);
    return s;
}
