/* Tests for src/forest/load_lightgbm.c and load_lightgbm_tree.c: every
 * fixtures/lightgbm case (real LightGBM 4.6 outputs) through the fast and
 * the reference predictor; hand-written model.txt files for each decision
 * rule (see formats/lightgbm); exact error messages; allocation failure at
 * every step; truncated and corrupted files under ASan. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbomode/forest.h>

#include "forest/lightgbm_cases.h"
#include "tm_test.h"

#define TINY 1.0000000180025095e-35 /* kZeroThreshold = 1e-35f as a double */

/* ---- small models ------------------------------------------------------ */

static char model_buf[32768];

/* A model.txt with features a b c and the given trees (Tree= blocks). */
static const char *model(const char *version, int num_class, const char *objective,
                         const char *extra_header, const char *trees)
{
    int per_iter = strncmp(objective, "multiclass", 10) == 0 ? num_class : 1;
    snprintf(model_buf, sizeof model_buf,
             "tree\nversion=%s\nnum_class=%d\nnum_tree_per_iteration=%d\nlabel_index=0\n"
             "max_feature_idx=2\nobjective=%s\nfeature_names=a b c\n"
             "feature_infos=none none none\n%s\n%send of trees\n\nparameters:\n"
             "end of parameters\n\npandas_categorical:null\n",
             version, num_class, per_iter, objective, extra_header, trees);
    return model_buf;
}

static char tree_buf[16384];

/* A two-leaf tree on feature 0: x <= thr -> 1, else 2 (plus `extra` lines). */
static const char *stump(const char *threshold, int decision_type, const char *extra)
{
    snprintf(tree_buf, sizeof tree_buf,
             "Tree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nsplit_gain=1\n"
             "threshold=%s\ndecision_type=%d\nleft_child=-1\nright_child=-2\n"
             "leaf_value=1 2\nleaf_weight=1 1\nleaf_count=1 1\ninternal_value=0\n"
             "internal_weight=0\ninternal_count=2\n%sis_linear=0\nshrinkage=1\n\n\n",
             threshold, decision_type, extra);
    return tree_buf;
}

static tm_forest *load_text(const char *text)
{
    tm_err err;
    tm_err_init(&err);
    tm_forest *f = NULL;
    tm_status st = tm_forest_load_mem(text, strlen(text), "m.txt", NULL, &f, &err);
    char msg[1024];
    ck_assert_msg(st == TM_OK, "load failed: %s", tm_err_format(&err, msg, sizeof msg));
    ck_assert_ptr_nonnull(f);
    return f;
}

/* Predicts one row (a, b, c) with both predictors, which must agree. */
static void predict_row(const tm_forest *f, double a, double b, double c, tm_forest_output kind,
                        double *out)
{
    double x[3] = {a, b, c}, fast[8];
    size_t n = tm_forest_output_len(f, kind);
    ck_assert_uint_le(n, 8);
    ck_assert_int_eq(tm_forest_predict_reference(f, x, 1, 3, kind, out, NULL), TM_OK);
    ck_assert_int_eq(tm_forest_predict(f, x, 1, 3, kind, 1, fast, NULL), TM_OK);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg((isnan(out[i]) && isnan(fast[i])) || out[i] == fast[i],
                      "fast %.17g != reference %.17g", fast[i], out[i]);
    }
}

static double margin(const tm_forest *f, double a, double b, double c)
{
    double m[8];
    predict_row(f, a, b, c, TM_FOREST_OUT_MARGIN, m);
    return m[0];
}

/* ---- decision rules ---------------------------------------------------- */

START_TEST(numerical_split_is_le_in_double)
{
    tm_forest *f = load_text(model("v4", 1, "regression", "", stump("0.1", 2, "")));
    ck_assert_double_eq(margin(f, 0.1, 0, 0), 1);
    ck_assert_double_eq(margin(f, nextafter(0.1, 1), 0, 0), 2);
    ck_assert_double_eq(margin(f, nextafter(0.1, 0), 0, 0), 1);
    ck_assert_double_eq(margin(f, (double)0.1f, 0, 0), 2); /* float32(0.1) > 0.1 */
    ck_assert_double_eq(margin(f, INFINITY, 0, 0), 2);
    ck_assert_double_eq(margin(f, -INFINITY, 0, 0), 1);
    tm_forest_info info;
    tm_forest_get_info(f, &info);
    ck_assert_int_eq(info.family, TM_FOREST_LIGHTGBM);
    ck_assert_str_eq(info.objective, "regression");
    ck_assert_int_eq(info.n_classes, 0);
    ck_assert_int_eq(info.n_features, 3);
    ck_assert_int_eq(info.n_trees, 1);
    ck_assert_int_eq(info.n_nodes, 3);
    ck_assert_int_eq(info.n_leaves, 2);
    ck_assert_str_eq(tm_forest_feature_name(f, 2), "c");
    ck_assert_int_eq(tm_forest_default_output(f), TM_FOREST_OUT_VALUE);
    tm_forest_free(f);
}
END_TEST

START_TEST(missing_none_compares_nan_as_zero)
{
    tm_forest *f = load_text(model("v4", 1, "regression", "", stump("0.5", 0, "")));
    ck_assert_double_eq(margin(f, NAN, 0, 0), 1);
    tm_forest_free(f);
    f = load_text(model("v4", 1, "regression", "", stump("-0.5", 2, "")));
    ck_assert_double_eq(margin(f, NAN, 0, 0), 2); /* default_left is ignored */
    ck_assert_double_eq(margin(f, 0.0, 0, 0), 2);
    tm_forest_free(f);
}
END_TEST

START_TEST(missing_zero_sends_zero_nan_and_tiny_to_default)
{
    tm_forest *f = load_text(model("v4", 1, "regression", "", stump("0.5", 4, "")));
    ck_assert_double_eq(margin(f, 0.0, 0, 0), 2); /* default right although 0 <= 0.5 */
    ck_assert_double_eq(margin(f, -0.0, 0, 0), 2);
    ck_assert_double_eq(margin(f, NAN, 0, 0), 2);
    ck_assert_double_eq(margin(f, 1e-36, 0, 0), 2);
    ck_assert_double_eq(margin(f, -TINY, 0, 0), 2);
    ck_assert_double_eq(margin(f, 0.25, 0, 0), 1);
    ck_assert_double_eq(margin(f, -0.25, 0, 0), 1);
    tm_forest_free(f);
    f = load_text(model("v4", 1, "regression", "", stump("-0.5", 6, "")));
    ck_assert_double_eq(margin(f, 0.0, 0, 0), 1); /* default left although 0 > -0.5 */
    ck_assert_double_eq(margin(f, NAN, 0, 0), 1);
    ck_assert_double_eq(margin(f, 0.25, 0, 0), 2);
    tm_forest_free(f);
}
END_TEST

START_TEST(missing_nan_sends_nan_to_default_and_compares_inf)
{
    tm_forest *f = load_text(model("v4", 1, "regression", "", stump("0.5", 8, "")));
    ck_assert_double_eq(margin(f, NAN, 0, 0), 2);
    ck_assert_double_eq(margin(f, 0.0, 0, 0), 1);
    ck_assert_double_eq(margin(f, INFINITY, 0, 0), 2);
    ck_assert_double_eq(margin(f, -INFINITY, 0, 0), 1);
    tm_forest_free(f);
    f = load_text(model("v4", 1, "regression", "", stump("0.5", 10, "")));
    ck_assert_double_eq(margin(f, NAN, 0, 0), 1);
    ck_assert_double_eq(margin(f, 0.75, 0, 0), 2);
    tm_forest_free(f);
}
END_TEST

START_TEST(tiny_inputs_act_as_zero)
{
    tm_forest *f =
            load_text(model("v4", 1, "regression", "", stump("-1.0000000180025095e-35", 8, "")));
    ck_assert_double_eq(margin(f, -TINY, 0, 0), 2); /* dropped to 0.0 > threshold */
    ck_assert_double_eq(margin(f, nextafter(-TINY, -1), 0, 0), 1);
    tm_forest_free(f);
}
END_TEST

/* Categories {3, 40} in two words; decision_type 1 (+8: missing type NaN). */
static const char *cat_tree(int decision_type, const char *words)
{
    char extra[256];
    snprintf(extra, sizeof extra, "cat_boundaries=0 2\ncat_threshold=%s\n", words);
    const char *t = stump("0", decision_type, extra);
    char *p = strstr(tree_buf, "num_cat=0");
    p[8] = '1';
    return t;
}

START_TEST(categorical_in_set_goes_left)
{
    tm_forest *f = load_text(model("v4", 1, "regression", "", cat_tree(1, "8 256")));
    ck_assert_double_eq(margin(f, 3, 0, 0), 1);
    ck_assert_double_eq(margin(f, 3.7, 0, 0), 1); /* cast to int */
    ck_assert_double_eq(margin(f, 40, 0, 0), 1);
    ck_assert_double_eq(margin(f, 0, 0, 0), 2);
    ck_assert_double_eq(margin(f, 4, 0, 0), 2);
    ck_assert_double_eq(margin(f, 64, 0, 0), 2); /* beyond the bitset */
    ck_assert_double_eq(margin(f, -3, 0, 0), 2);
    ck_assert_double_eq(margin(f, NAN, 0, 0), 2);
    tm_forest_info info;
    tm_forest_get_info(f, &info);
    ck_assert(info.has_categorical);
    tm_forest_free(f);
    /* v3+: NaN goes right even when category 0 is in the set. */
    f = load_text(model("v3", 1, "regression", "", cat_tree(1, "9 256")));
    ck_assert_double_eq(margin(f, 0, 0, 0), 1);
    ck_assert_double_eq(margin(f, NAN, 0, 0), 2);
    tm_forest_free(f);
}
END_TEST

/* NaN is never in the set, in every version and missing type: 4.x tests
 * isnan first; 2.x and 3.x cast to int first, giving INT_MIN on x86-64,
 * which goes right before their "NaN is category 0" branch (tree.h,
 * CategoricalDecision, tags v2.0.5 to v4.6.0). Category 0 is in the set
 * here ("9" = bits 0 and 3), so reading NaN as 0 would go left. */
START_TEST(categorical_nan_goes_right_in_every_version)
{
    const char *versions[] = {"v2", "v3", "v4"};
    const int types[] = {1, 3, 5, 7, 9, 11}; /* missing None/Zero/NaN, default left or not */
    for (int v = 0; v < 3; v++) {
        for (int t = 0; t < 6; t++) {
            tm_forest *f =
                    load_text(model(versions[v], 1, "regression", "", cat_tree(types[t], "9 256")));
            ck_assert_double_eq(margin(f, NAN, 0, 0), 2);
            ck_assert_double_eq(margin(f, 0, 0, 0), 1);        /* category 0 */
            ck_assert_double_eq(margin(f, TINY / 2, 0, 0), 1); /* dropped to 0 */
            ck_assert_double_eq(margin(f, -0.5, 0, 0), 1);     /* (int)-0.5 is 0 */
            ck_assert_double_eq(margin(f, -1, 0, 0), 2);       /* negative: right */
            ck_assert_double_eq(margin(f, -INFINITY, 0, 0), 2);
            ck_assert_double_eq(margin(f, 3.99, 0, 0), 1);
            ck_assert_double_eq(margin(f, 40, 0, 0), 1);
            ck_assert_double_eq(margin(f, 41, 0, 0), 2);
            ck_assert_double_eq(margin(f, 64, 0, 0), 2); /* past the two words */
            ck_assert_double_eq(margin(f, 2147483648.0, 0, 0), 2);
            ck_assert_double_eq(margin(f, 1e300, 0, 0), 2);
            ck_assert_double_eq(margin(f, INFINITY, 0, 0), 2);
            tm_forest_free(f);
        }
    }
}
END_TEST

START_TEST(linear_leaves_fall_back_on_nan)
{
    const char *lin = "leaf_const=1 2\nnum_features=2 0\nleaf_features=1 2  \n"
                      "leaf_coeff=0.5 0.25  \n";
    const char *t = stump("0", 2, lin);
    char *p = strstr(tree_buf, "is_linear=0");
    p[10] = '1';
    tm_forest *f = load_text(model("v4", 1, "regression", "", t));
    ck_assert_double_eq(margin(f, -1, 4, 8), 1 + 0.5 * 4 + 0.25 * 8);
    ck_assert_double_eq(margin(f, -1, NAN, 8), 1); /* plain leaf_value */
    ck_assert_double_eq(margin(f, 1, NAN, NAN), 2);
    ck_assert_double_eq(margin(f, NAN, 2, 0), 1 + 0.5 * 2); /* None: NaN -> 0 -> left */
    ck_assert(isinf(margin(f, -1, INFINITY, 0)));
    tm_forest_info info;
    tm_forest_get_info(f, &info);
    ck_assert(info.has_linear);
    tm_forest_free(f);
}
END_TEST

/* Six one-leaf trees with values 1..6, and a two-iteration model. */
static const char *const_trees(int n, int first_value)
{
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        used += (size_t)snprintf(tree_buf + used, sizeof tree_buf - used,
                                 "Tree=%d\nnum_leaves=1\nnum_cat=0\nsplit_feature=\n"
                                 "threshold=\ndecision_type=\nleft_child=\nright_child=\n"
                                 "leaf_value=%d\nleaf_count=5\nis_linear=0\nshrinkage=1\n\n\n",
                                 i, first_value + i);
    }
    return tree_buf;
}

START_TEST(multiclass_softmax_maps_tree_to_class)
{
    tm_forest *f = load_text(model("v4", 3, "multiclass num_class:3", "", const_trees(6, 1)));
    double m[3], p[3], cls;
    predict_row(f, NAN, NAN, NAN, TM_FOREST_OUT_MARGIN, m);
    ck_assert_double_eq(m[0], 1 + 4);
    ck_assert_double_eq(m[1], 2 + 5);
    ck_assert_double_eq(m[2], 3 + 6);
    predict_row(f, 0, 0, 0, TM_FOREST_OUT_DEFAULT, p);
    double z = exp(5 - 9) + exp(7 - 9) + 1;
    ck_assert_double_eq_tol(p[0], exp(5 - 9) / z, 1e-15);
    ck_assert_double_eq_tol(p[2], 1 / z, 1e-15);
    ck_assert_double_eq_tol(p[0] + p[1] + p[2], 1, 1e-15);
    predict_row(f, 0, 0, 0, TM_FOREST_OUT_CLASS, &cls);
    ck_assert_double_eq(cls, 2);
    ck_assert_int_eq(tm_forest_n_outputs(f), 3);
    tm_forest_free(f);
    f = load_text(model("v4", 3, "multiclassova num_class:3 sigmoid:2", "", const_trees(3, -1)));
    predict_row(f, 0, 0, 0, TM_FOREST_OUT_DEFAULT, p);
    ck_assert_double_eq_tol(p[0], 1 / (1 + exp(2.0)), 1e-15); /* not normalised */
    ck_assert_double_eq_tol(p[1], 0.5, 1e-15);
    ck_assert_double_eq_tol(p[2], 1 / (1 + exp(-2.0)), 1e-15);
    tm_forest_free(f);
}
END_TEST

START_TEST(links_follow_the_objective_line)
{
    double p;
    tm_forest *f = load_text(model("v4", 1, "binary sigmoid:2", "", const_trees(1, 1)));
    predict_row(f, 0, 0, 0, TM_FOREST_OUT_DEFAULT, &p);
    ck_assert_double_eq_tol(p, 1 / (1 + exp(-2.0)), 1e-15);
    ck_assert_int_eq(tm_forest_default_output(f), TM_FOREST_OUT_PROBABILITY);
    tm_forest_free(f);
    const char *exp_objectives[] = {"poisson", "gamma", "tweedie"};
    for (int i = 0; i < 3; i++) {
        f = load_text(model("v4", 1, exp_objectives[i], "", const_trees(2, 1)));
        predict_row(f, 0, 0, 0, TM_FOREST_OUT_DEFAULT, &p);
        ck_assert_double_eq_tol(p, exp(3.0), 1e-12);
        tm_forest_free(f);
    }
    f = load_text(model("v4", 1, "huber", "", const_trees(2, 1)));
    predict_row(f, 0, 0, 0, TM_FOREST_OUT_DEFAULT, &p);
    ck_assert_double_eq(p, 3);
    tm_forest_free(f);
    /* regression trained on sqrt(label): LightGBM squares back, keeping
     * the sign (RegressionL2loss::ConvertOutput) */
    f = load_text(model("v4", 1, "regression sqrt", "", const_trees(2, 1)));
    predict_row(f, 0, 0, 0, TM_FOREST_OUT_DEFAULT, &p);
    ck_assert_double_eq(p, 9);
    predict_row(f, 0, 0, 0, TM_FOREST_OUT_MARGIN, &p);
    ck_assert_double_eq(p, 3);
    tm_forest_free(f);
    f = load_text(model("v4", 1, "cross_entropy_lambda", "", const_trees(2, 1)));
    predict_row(f, 0, 0, 0, TM_FOREST_OUT_DEFAULT, &p);
    ck_assert_double_eq_tol(p, log1p(exp(3.0)), 1e-15);
    tm_forest_free(f);
}
END_TEST

START_TEST(rf_averages_output_but_not_margin)
{
    tm_forest *f =
            load_text(model("v4", 1, "binary sigmoid:1", "average_output\n", const_trees(4, 1)));
    double m, p;
    predict_row(f, 0, 0, 0, TM_FOREST_OUT_MARGIN, &m);
    ck_assert_double_eq(m, 1 + 2 + 3 + 4);
    predict_row(f, 0, 0, 0, TM_FOREST_OUT_DEFAULT, &p);
    ck_assert_double_eq_tol(p, 1 / (1 + exp(-2.5)), 1e-15);
    tm_forest_free(f);
}
END_TEST

/* ---- error messages ---------------------------------------------------- */

static const char *rich_model(void);

/* Line number (1-based) of the first line of text starting with prefix. */
static long line_of(const char *text, const char *prefix)
{
    long line = 1;
    for (const char *p = text; *p; p++) {
        if ((p == text || p[-1] == '\n') && strncmp(p, prefix, strlen(prefix)) == 0) {
            return line;
        }
        line += *p == '\n';
    }
    ck_abort_msg("no line starting with %s", prefix);
    return 0;
}

/* Loads text (forced to the LightGBM loader), expecting st and exactly the
 * one-line message want ("%ld" is replaced by line_of(text, at)). */
static void expect_error(const char *text, tm_status want_st, const char *at, const char *want)
{
    tm_forest_load_opts opts;
    tm_forest_load_opts_init(&opts);
    opts.format = TM_FOREST_FORMAT_LIGHTGBM;
    tm_err err;
    tm_err_init(&err);
    tm_forest *f = (tm_forest *)&err; /* must be reset to NULL */
    tm_status st = tm_forest_load_mem(text, strlen(text), "m.txt", &opts, &f, &err);
    char msg[1024], expected[1024];
    tm_err_format(&err, msg, sizeof msg);
    const char *mark = strstr(want, "%ld");
    if (mark) {
        snprintf(expected, sizeof expected, "%.*s%ld%s", (int)(mark - want), want,
                 line_of(text, at), mark + 3);
    } else {
        snprintf(expected, sizeof expected, "%s", want);
    }
    ck_assert_ptr_null(f);
    ck_assert_int_eq(st, want_st);
    ck_assert_str_eq(msg, expected);
    ck_assert_ptr_null(strchr(msg, '\n'));
}

/* text with the first occurrence of `from` replaced by `to`, in a static
 * buffer (text may be the previous result). */
static const char *edit(const char *text, const char *from, const char *to)
{
    static char buf[sizeof model_buf], src[sizeof model_buf];
    snprintf(src, sizeof src, "%s", text);
    const char *p = strstr(src, from);
    ck_assert_msg(p != NULL, "no %s in the model", from);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(p - src), src, to, p + strlen(from));
    return buf;
}

START_TEST(errors_name_line_field_and_token)
{
    const char *ok = model("v4", 1, "regression", "", stump("0.5", 2, ""));
    expect_error(edit(ok, "threshold=0.5", "threshold=1.5e"), TM_E_PARSE,
                 "threshold=", "m.txt:%ld: field 'threshold': expected a number, found \"1.5e\"");
    expect_error(edit(ok, "left_child=-1", "left_child=-1 -2"), TM_E_PARSE,
                 "left_child=", "m.txt:%ld: field 'left_child': expected 1 values, found 2");
    expect_error(edit(ok, "left_child=-1", "left_child=5"), TM_E_PARSE, "left_child=",
                 "m.txt:%ld: field 'left_child': expected an integer in -2..0, found \"5\"");
    expect_error(edit(ok, "split_feature=0", "split_feature=3"), TM_E_PARSE, "split_feature=",
                 "m.txt:%ld: field 'split_feature': expected an integer in 0..2, found \"3\"");
    expect_error(edit(ok, "decision_type=2", "decision_type=x2"), TM_E_PARSE, "decision_type=",
                 "m.txt:%ld: field 'decision_type': expected an integer, found \"x2\"");
    expect_error(edit(ok, "decision_type=2", "decision_type=12"), TM_E_PARSE, "decision_type=",
                 "m.txt:%ld: field 'decision_type': expected missing type 0, 1 or 2 "
                 "(bits 2-3), found 3 in 12");
    expect_error(edit(ok, "leaf_value=1 2", "leaf_value=1"), TM_E_PARSE,
                 "leaf_value=", "m.txt:%ld: field 'leaf_value': expected 2 values, found 1");
    expect_error(edit(ok, "threshold=0.5\n", ""), TM_E_PARSE, "Tree=0",
                 "m.txt:%ld: field 'threshold': expected a threshold= line in this tree, "
                 "found none");
    /* Every array a split needs, lost (libFuzzer found the missing
     * threshold= line reading from a null pointer). */
    const char *arrays[] = {"split_feature", "threshold",   "decision_type",
                            "left_child",    "right_child", "num_cat"};
    for (int i = 0; i < 6; i++) {
        char line[64], renamed[64], want[256];
        snprintf(line, sizeof line, "\n%s=", arrays[i]);
        snprintf(renamed, sizeof renamed, "\nx_%s=", arrays[i]);
        const char *p = strstr(ok, line);
        ck_assert_ptr_nonnull(p);
        snprintf(want, sizeof want,
                 "m.txt:%%ld: field '%s': expected a %s= line in this tree, found none", arrays[i],
                 arrays[i]);
        expect_error(edit(ok, line, renamed), TM_E_PARSE, "Tree=0", want);
    }
    expect_error(edit(ok, "version=v4", "version=v5"), TM_E_PARSE,
                 "version=", "m.txt:%ld: field 'version': expected v2, v3 or v4, found \"v5\"");
    expect_error(edit(ok, "objective=regression", "objective=multiclassova num_class:3"),
                 TM_E_PARSE, "objective=",
                 "m.txt:%ld: field 'objective': expected num_class:1 (the num_class line), found "
                 "\"num_class:3\"");
    expect_error(edit(ok, "Tree=0", "Tree=5"), TM_E_PARSE, "Tree=5",
                 "m.txt:%ld: expected Tree=0 or \"end of trees\", found \"Tree=5\"");
    expect_error(edit(ok, "objective=regression", "objective=foo bar:1"), TM_E_FORMAT,
                 "objective=", "m.txt:%ld: field 'objective': unknown objective \"foo\"");
    expect_error(edit(ok, "feature_names=a b c", "feature_names=a b"), TM_E_PARSE, "feature_names=",
                 "m.txt:%ld: field 'feature_names': expected 3 names (max_feature_idx + 1), "
                 "found 2");
    expect_error(edit(ok, "num_class=1\n", ""), TM_E_PARSE, NULL,
                 "m.txt: field 'num_class': expected a header line num_class=, found none");
    expect_error(edit(ok, "feature_infos=", "tree_sizes=10 20 30\nfeature_infos="), TM_E_PARSE,
                 "tree_sizes=",
                 "m.txt:%ld: field 'tree_sizes': expected 3 trees, found 1 Tree= blocks "
                 "(truncated file?)");
    expect_error("hello\nworld\n", TM_E_FORMAT, "hello",
                 "m.txt:%ld: expected \"tree\" (lightgbm model.txt), found \"hello\"");
}
END_TEST

START_TEST(errors_for_truncated_and_inconsistent_files)
{
    static char ok[sizeof model_buf];
    snprintf(ok, sizeof ok, "%s", model("v4", 1, "regression", "", stump("0.5", 2, "")));
    char cut[sizeof model_buf];
    snprintf(cut, sizeof cut, "%.*s", (int)(strstr(ok, "end of trees") - ok), ok);
    long last = line_of(cut, "shrinkage=") + 2;
    char want[256];
    snprintf(want, sizeof want, "m.txt:%ld: truncated file: expected \"end of trees\" after tree 1",
             last);
    expect_error(cut, TM_E_PARSE, NULL, want);
    snprintf(cut, sizeof cut, "%.*s", (int)(strstr(ok, "Tree=0") - ok), ok);
    expect_error(cut, TM_E_PARSE, NULL,
                 "m.txt:10: truncated file: expected Tree= blocks and \"end of trees\"");
    const char *cat = model("v4", 1, "regression", "", cat_tree(1, "8 256"));
    expect_error(edit(cat, "threshold=0", "threshold=1"), TM_E_PARSE, "threshold=",
                 "m.txt:%ld: field 'threshold': expected a category set index in 0..0, found 1");
    expect_error(edit(cat, "cat_boundaries=0 2", "cat_boundaries=1 2"), TM_E_PARSE,
                 "cat_boundaries=",
                 "m.txt:%ld: field 'cat_boundaries': expected offsets rising from 0 to 2 (the "
                 "cat_threshold words)");
    expect_error(edit(cat, "cat_threshold=8 256", "cat_threshold=8 4294967296"), TM_E_PARSE,
                 "cat_threshold=",
                 "m.txt:%ld: field 'cat_threshold': expected an integer in 0..4294967295, "
                 "found \"4294967296\"");
    expect_error(edit(ok, "leaf_count=1 1\n", "leaf_count=1 1\ngarbage\n"), TM_E_PARSE, "garbage",
                 "m.txt:%ld: expected key=value lines up to a blank line in a tree, found "
                 "\"garbage\"");
    /* A lost is_linear line must not turn linear leaves into plain ones. */
    expect_error(edit(rich_model(), "is_linear=1\n", ""), TM_E_PARSE, "leaf_const=",
                 "m.txt:%ld: field 'leaf_const': expected no leaf_const= line in a tree without "
                 "is_linear=1");
    /* Two nodes pointing at the same leaf: not a tree. */
    const char *two = edit(ok, "num_leaves=2", "num_leaves=3");
    two = edit(two, "leaf_value=1 2", "leaf_value=1 2 3");
    two = edit(two, "split_feature=0", "split_feature=0 1");
    two = edit(two, "threshold=0.5", "threshold=0.5 0.5");
    two = edit(two, "decision_type=2", "decision_type=2 2");
    two = edit(two, "left_child=-1", "left_child=1 -1");
    two = edit(two, "right_child=-2", "right_child=-2 -2");
    expect_error(two, TM_E_PARSE, NULL, "m.txt: tree 0: node 3 is reached twice (not a tree)");
}
END_TEST

/* ---- allocation failure and hostile input ------------------------------ */

static const char *rich_model(void)
{
    static char text[sizeof model_buf];
    char trees[sizeof tree_buf];
    snprintf(trees, sizeof trees, "%s", cat_tree(1, "8 256"));
    const char *lin = stump("0", 2,
                            "leaf_const=1 2\nnum_features=1 1\nleaf_features=1  2  \n"
                            "leaf_coeff=0.5  0.25  \n");
    char *p = strstr(tree_buf, "is_linear=0");
    p[10] = '1';
    p = strstr(tree_buf, "Tree=0");
    p[5] = '1';
    strncat(trees, lin, sizeof trees - strlen(trees) - 1);
    snprintf(text, sizeof text, "%s",
             model("v4", 2, "multiclass num_class:2", "tree_sizes=1 2\n", trees));
    return text;
}

START_TEST(allocation_failure_at_every_step)
{
    const char *text = rich_model();
    tm_forest *f = load_text(text);
    double m[2];
    predict_row(f, 3, 2, 0, TM_FOREST_OUT_MARGIN, m);
    ck_assert_double_eq(m[0], 1);
    ck_assert_double_eq(m[1], 2 + 0.25 * 0);
    tm_forest_free(f);
    for (long n = 1;; n++) {
        tm_err err;
        tm_err_init(&err);
        f = NULL;
        tm_alloc_fail_after(n);
        tm_status st = tm_forest_load_mem(text, strlen(text), "m.txt", NULL, &f, &err);
        tm_alloc_fail_after(0);
        if (st == TM_OK) {
            ck_assert_int_gt(n, 5);
            tm_forest_free(f);
            break;
        }
        ck_assert_int_eq(st, TM_E_NOMEM);
        ck_assert_ptr_null(f);
        ck_assert_int_lt(n, 10000);
    }
}
END_TEST

/* Loads len bytes copied into an exact-size buffer (no terminator, so
 * ASan sees any overread); success or a clean error are both fine. */
static void load_exact(const char *data, size_t len)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, data, len);
    tm_forest_load_opts opts;
    tm_forest_load_opts_init(&opts);
    opts.format = TM_FOREST_FORMAT_LIGHTGBM;
    tm_forest *f = NULL;
    tm_err err;
    tm_err_init(&err);
    tm_status st = tm_forest_load_mem(copy, len, "m.txt", &opts, &f, &err);
    ck_assert(st == TM_OK ? f != NULL : f == NULL && err.reason[0] != 0);
    if (f) {
        double x[3] = {1, NAN, 3}, out[8];
        ck_assert_uint_le(tm_forest_output_len(f, TM_FOREST_OUT_MARGIN), 8);
        if (tm_forest_n_features(f) <= 3) {
            tm_forest_predict_reference(f, x, 1, 3, TM_FOREST_OUT_MARGIN, out, NULL);
        }
    }
    tm_forest_free(f);
    free(copy);
}

START_TEST(truncated_and_corrupted_models_never_crash)
{
    const char *text = rich_model();
    size_t len = strlen(text);
    for (size_t cut = 0; cut <= len; cut++) {
        load_exact(text, cut);
    }
    char *mut = malloc(len);
    const char repl[] = {'9', '-', ' ', '\n', 'x', '=', '\0', '1'};
    for (size_t i = 0; i < len; i++) {
        for (size_t r = 0; r < sizeof repl; r++) {
            memcpy(mut, text, len);
            mut[i] = repl[r];
            load_exact(mut, len);
        }
    }
    free(mut);
}
END_TEST

START_TEST(truncated_fixture_models_never_crash)
{
    if (!tm_test_shared_has("fixtures/lightgbm", "lightgbm truncation sweep")) {
        return;
    }
    const char *cases[] = {"categorical", "linear_tree", "single_leaf_trees"};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char path[1200];
        snprintf(path, sizeof path, "%s/fixtures/lightgbm/%s/model.txt", tm_test_shared_dir(),
                 cases[c]);
        size_t len = 0;
        char *text = tm_test_slurp(path, &len);
        ck_assert_ptr_nonnull(text);
        for (size_t k = 0; k < 150; k++) {
            load_exact(text, len * k / 150);
        }
        unsigned seed = 1;
        for (size_t k = 0; k < 150; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % len;
            char saved = text[at];
            text[at] = "9- \nx=.e"[k % 8];
            load_exact(text, len);
            text[at] = saved;
        }
        free(text);
    }
}
END_TEST

START_TEST(crlf_line_endings_load_the_same)
{
    const char *text = rich_model();
    char *crlf = malloc(2 * strlen(text) + 1), *q = crlf;
    for (const char *p = text; *p; p++) {
        if (*p == '\n') {
            *q++ = '\r';
        }
        *q++ = *p;
    }
    *q = 0;
    tm_forest *f = load_text(crlf);
    double m[2];
    predict_row(f, 40, 2, 8, TM_FOREST_OUT_MARGIN, m);
    ck_assert_double_eq(m[0], 1);
    ck_assert_double_eq(m[1], 2 + 0.25 * 8);
    ck_assert_str_eq(tm_forest_feature_name(f, 2), "c");
    tm_forest_free(f);
    free(crlf);
}
END_TEST

/* ---- the fixture cases ------------------------------------------------- */

static double max_margin_diff, max_output_diff;

static tm_csv *read_csv(const char *dir, const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    tm_csv *csv = NULL;
    tm_err err;
    tm_err_init(&err);
    ck_assert_msg(tm_csv_load(path, &csv, &err) == TM_OK, "%s: %s", path, err.reason);
    return csv;
}

/* Compares predictions of kind with the expected file; returns max |diff|. */
static double compare(const tm_forest *f, const double *X, size_t n_rows, size_t nf,
                      tm_forest_output kind, const char *dir, const char *name, double tol)
{
    tm_csv *want = read_csv(dir, name);
    size_t k = tm_forest_output_len(f, kind);
    ck_assert_uint_eq(want->n_rows, n_rows);
    ck_assert_uint_eq(want->n_cols, k);
    double *ref = calloc(n_rows * k, sizeof *ref), *fast = calloc(n_rows * k, sizeof *fast);
    ck_assert_int_eq(tm_forest_predict_reference(f, X, n_rows, nf, kind, ref, NULL), TM_OK);
    ck_assert_int_eq(tm_forest_predict(f, X, n_rows, nf, kind, 2, fast, NULL), TM_OK);
    double worst = 0;
    for (size_t i = 0; i < n_rows * k; i++) {
        double e = want->values[i];
        for (int which = 0; which < 2; which++) {
            double g = which ? fast[i] : ref[i];
            bool same = (isnan(e) && isnan(g)) || (isinf(e) && g == e);
            double d = same ? 0 : fabs(g - e);
            ck_assert_msg(same || (isfinite(e) && d <= tol * fmax(1, fabs(e))),
                          "%s/%s row %zu col %zu: got %.17g (%s), expected %.17g", dir, name, i / k,
                          i % k, g, which ? "fast" : "reference", e);
            worst = d > worst ? d : worst;
        }
    }
    free(ref);
    free(fast);
    tm_csv_free(want);
    return worst;
}

static void check_case(const char *dir, const char *model_name, const char *expected,
                       const char *expected_margin, double tol)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, model_name);
    tm_forest *f = NULL;
    tm_err err;
    tm_err_init(&err);
    char msg[1024];
    ck_assert_msg(tm_forest_load(path, NULL, &f, &err) == TM_OK, "%s",
                  tm_err_format(&err, msg, sizeof msg));
    size_t n_rows = 0, nf = (size_t)tm_forest_n_features(f);
    double *X = tm_test_lgb_rows(f, dir, &n_rows);
    double dm = compare(f, X, n_rows, nf, TM_FOREST_OUT_MARGIN, dir, expected_margin, tol);
    double dp = compare(f, X, n_rows, nf, TM_FOREST_OUT_DEFAULT, dir, expected, tol);
    max_margin_diff = fmax(max_margin_diff, dm);
    max_output_diff = fmax(max_output_diff, dp);
    fprintf(stderr, "lightgbm/%s/%s: %zu rows, max |diff| margin %.3g, output %.3g\n",
            strrchr(dir, '/') + 1, model_name, n_rows, dm, dp);
    free(X);
    tm_forest_free(f);
}

double *tm_test_lgb_rows(const tm_forest *f, const char *dir, size_t *n_rows)
{
    tm_csv *in = read_csv(dir, "input.csv");
    size_t nf = (size_t)tm_forest_n_features(f);
    double *X = calloc(in->n_rows * nf + 1, sizeof *X);
    for (size_t j = 0; j < nf; j++) {
        ck_assert_ptr_nonnull(tm_forest_feature_name(f, (int)j));
        long col = tm_csv_col(in, tm_forest_feature_name(f, (int)j));
        ck_assert_msg(col >= 0, "%s: no column %s", dir, tm_forest_feature_name(f, (int)j));
        for (size_t r = 0; r < in->n_rows; r++) {
            X[r * nf + j] = in->values[r * in->n_cols + (size_t)col];
        }
    }
    *n_rows = in->n_rows;
    tm_csv_free(in);
    return X;
}

int tm_test_lgb_each_case(void (*fn)(const char *dir, void *ctx), void *ctx)
{
    char root[1024], dir[1400], path[1500];
    snprintf(root, sizeof root, "%s/fixtures/lightgbm", tm_test_shared_dir());
    DIR *d = opendir(root);
    ck_assert_ptr_nonnull(d);
    int n_cases = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        snprintf(dir, sizeof dir, "%s/%s", root, e->d_name);
        snprintf(path, sizeof path, "%s/model.txt", dir);
        FILE *fp = e->d_name[0] == '.' ? NULL : fopen(path, "r");
        if (!fp) {
            continue;
        }
        fclose(fp);
        fn(dir, ctx);
        n_cases++;
    }
    closedir(d);
    return n_cases;
}

static void check_both_models(const char *dir, void *ctx)
{
    (void)ctx;
    char path[1500];
    check_case(dir, "model.txt", "expected.csv", "expected_margin.csv", 1e-6);
    snprintf(path, sizeof path, "%s/model_all_iterations.txt", dir);
    FILE *fp = fopen(path, "r");
    if (fp) {
        fclose(fp);
        check_case(dir, "model_all_iterations.txt", "expected_all_iterations.csv",
                   "expected_all_iterations_margin.csv", 1e-6);
    }
}

START_TEST(fixtures_match_lightgbm)
{
    if (!tm_test_shared_has("fixtures/lightgbm", "lightgbm loader fixtures")) {
        return;
    }
    int n_cases = tm_test_lgb_each_case(check_both_models, NULL);
    ck_assert_int_ge(n_cases, 17);
    fprintf(stderr, "fixtures/lightgbm: %d cases, max |diff| margin %.3g, output %.3g\n", n_cases,
            max_margin_diff, max_output_diff);
}
END_TEST

TM_TEST_SUITE(forest_load_lightgbm)
{
    Suite *s = suite_create("forest_load_lightgbm");
    TCase *tc = tcase_create("load_lightgbm");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, numerical_split_is_le_in_double);
    tcase_add_test(tc, missing_none_compares_nan_as_zero);
    tcase_add_test(tc, missing_zero_sends_zero_nan_and_tiny_to_default);
    tcase_add_test(tc, missing_nan_sends_nan_to_default_and_compares_inf);
    tcase_add_test(tc, tiny_inputs_act_as_zero);
    tcase_add_test(tc, categorical_in_set_goes_left);
    tcase_add_test(tc, categorical_nan_goes_right_in_every_version);
    tcase_add_test(tc, linear_leaves_fall_back_on_nan);
    tcase_add_test(tc, multiclass_softmax_maps_tree_to_class);
    tcase_add_test(tc, links_follow_the_objective_line);
    tcase_add_test(tc, rf_averages_output_but_not_margin);
    tcase_add_test(tc, errors_name_line_field_and_token);
    tcase_add_test(tc, errors_for_truncated_and_inconsistent_files);
    tcase_add_test(tc, allocation_failure_at_every_step);
    tcase_add_test(tc, truncated_and_corrupted_models_never_crash);
    tcase_add_test(tc, truncated_fixture_models_never_crash);
    tcase_add_test(tc, crlf_line_endings_load_the_same);
    tcase_add_test(tc, fixtures_match_lightgbm);
    suite_add_tcase(s, tc);
    return s;
}
