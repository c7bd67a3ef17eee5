/* The LightGBM version matrix: one small model.txt per export format the
 * real writers produced (gbdt_model_text.cpp / gbdt.cpp and tree.cpp at tags
 * v2.0.5 to v4.6.0), built by hand from formats/lightgbm, all holding the
 * same three trees, so every variant must give the margins worked out by
 * hand below; plus the ways each format ends (with and without "end of
 * trees") against truncated files, and the objective names each version
 * writes.
 *
 * Format changes covered:
 *   2.0.5-2.0.11  no version= line, no tree_sizes, no "end of trees":
 *                 the trees are followed by "feature importances:".
 *   2.0.12-2.1.2  version=v2 and tree_sizes, still no "end of trees";
 *                 2.1.x adds "parameters:" without "end of parameters".
 *   2.2.x         version=v2 with "end of trees" and "end of parameters".
 *   2.3.x         version=v3, trees as in 2.x.
 *   3.x           version=v3, an is_linear= line in every tree.
 *   4.x           version=v4, same tree grammar as 3.x. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbomode/forest.h>

#include "tm_test.h"

/* Tree 0: a <= 1.5 (missing None, so NaN is read as 0) goes to node 1,
 * else leaf 1 (-1.25); node 1: b in categories {1, 3} (word 10 = bits 1
 * and 3) -> leaf 0 (0.5), else leaf 2 (2). Tree 1: c <= 0 -> 0.125, else
 * -0.25, with missing type NaN and default left (decision_type 10). Tree
 * 2: missing type Zero, default right (decision_type 4): b = 0, NaN or
 * |b| <= 1e-35 -> -0.03125, else b <= 2.5 -> 0.0625, else -0.03125; its
 * shrinkage= line is informational (leaf values are final). The %s takes
 * the version's per-tree extra lines. */
static const char tree0_fmt[] =
        "Tree=0\nnum_leaves=3\nnum_cat=1\nsplit_feature=0 1\nsplit_gain=4 2\n"
        "threshold=1.5 0\ndecision_type=2 1\nleft_child=1 -1\nright_child=-2 -3\n"
        "leaf_value=0.5 -1.25 2\nleaf_weight=1 1 1\nleaf_count=1 1 1\ninternal_value=0 0\n"
        "internal_weight=2 1\ninternal_count=3 2\ncat_boundaries=0 1\ncat_threshold=10\n"
        "%sshrinkage=1\n\n\n";
static const char tree1_fmt[] =
        "Tree=1\nnum_leaves=2\nnum_cat=0\nsplit_feature=2\nsplit_gain=1\nthreshold=0\n"
        "decision_type=10\nleft_child=-1\nright_child=-2\nleaf_value=0.125 -0.25\n"
        "leaf_weight=1 1\nleaf_count=1 1\ninternal_value=0\ninternal_weight=2\n"
        "internal_count=2\n%sshrinkage=1\n\n\n";
static const char tree2_fmt[] =
        "Tree=2\nnum_leaves=2\nnum_cat=0\nsplit_feature=1\nsplit_gain=1\nthreshold=2.5\n"
        "decision_type=4\nleft_child=-1\nright_child=-2\nleaf_value=0.0625 -0.03125\n"
        "leaf_weight=1 1\nleaf_count=1 1\ninternal_value=0\ninternal_weight=2\n"
        "internal_count=2\n%sshrinkage=0.05\n\n\n";

/* Rows (a, b, c) and their margins, walked by hand (tree 0 + 1 + 2):
 *   1, 3, -1          left, 3 in set: 0.5; -1 <= 0: 0.125; 3 > 2.5: -0.03125 -> 0.59375
 *   2, 3, 1           right: -1.25; 1 > 0: -0.25; -0.03125                  -> -1.53125
 *   NaN, 2, NaN       NaN as 0: left, 2 not in set: 2; NaN default left: 0.125;
 *                     2 <= 2.5: 0.0625                                      -> 2.1875
 *   1.5, 1, 0.5       1.5 <= 1.5 left, 1 in set: 0.5; 0.5 > 0: -0.25; 0.0625 -> 0.3125
 *   0, NaN, 0         left, NaN never in a set: 2; 0 <= 0: 0.125; NaN is zero:
 *                     default right: -0.03125                               -> 2.09375
 *   -3, 3.9, inf      left, (int)3.9 = 3 in set: 0.5; inf > 0: -0.25; -0.03125 -> 0.21875
 *   1.5+ulp, -1, -inf right: -1.25; -inf <= 0: 0.125; -1 <= 2.5: 0.0625     -> -1.0625
 *   5, 0, -5          right: -1.25; 0.125; b = 0 is zero: -0.03125           -> -1.15625 */
#define N_ROWS 8
static const double rows[N_ROWS][4] = {{1, 3, -1, 0.59375},
                                       {2, 3, 1, -1.53125},
                                       {NAN, 2, NAN, 2.1875},
                                       {1.5, 1, 0.5, 0.3125},
                                       {0, NAN, 0, 2.09375},
                                       {-3, 3.9, INFINITY, 0.21875},
                                       {0x1.8000000000001p+0, -1, -INFINITY, -1.0625},
                                       {5, 0, -5, -1.15625}};

typedef struct variant {
    const char *writer;     /* LightGBM versions that write this format */
    const char *version;    /* the version= line, or "" */
    bool sizes;             /* a tree_sizes= line */
    const char *tree_extra; /* per-tree lines before shrinkage= */
    const char *tail;       /* what follows the trees */
} variant;

static const variant variants[] = {
        {"2.0.5-2.0.11", "", false, "", "\nfeature importances:\na=1\nb=1\nc=1\n"},
        {"2.0.12-2.1.2", "version=v2\n", true, "",
         "\nfeature importances:\na=1\nb=1\nc=1\nparameters:\n[boosting: gbdt]\n"
         "[objective: regression]\n\n"},
        {"2.2.x", "version=v2\n", true, "",
         "end of trees\n\nfeature importances:\na=1\nb=1\nc=1\n\nparameters:\n"
         "[boosting: gbdt]\n[objective: regression]\n\nend of parameters\n"},
        {"2.3.x", "version=v3\n", true, "",
         "end of trees\n\nfeature importances:\na=1\n\nparameters:\n[boosting: gbdt]\n"
         "[objective: regression]\n[linear_tree: 0]\n\nend of parameters\n"},
        {"3.x", "version=v3\n", true, "is_linear=0\n",
         "end of trees\n\nfeature_importances:\na=1\n\nparameters:\n[boosting: gbdt]\n"
         "[objective: regression]\n[linear_tree: 0]\n\nend of parameters\n\n"
         "pandas_categorical:null\n"},
        {"4.x", "version=v4\n", true, "is_linear=0\n",
         "end of trees\n\nfeature_importances:\na=1\n\nparameters:\n[boosting: gbdt]\n"
         "[objective: regression]\n[linear_tree: 0]\n\nend of parameters\n\n"
         "pandas_categorical:null\n"},
};
#define N_VARIANTS (sizeof variants / sizeof variants[0])

static char text_buf[8192];

/* The model.txt of variant v with the given objective line value; tail
 * replaces the variant's own when not NULL. */
static const char *build(const variant *v, const char *objective, const char *tail)
{
    char t0[1024], t1[1024], t2[1024], sizes[64] = "";
    snprintf(t0, sizeof t0, tree0_fmt, v->tree_extra);
    snprintf(t1, sizeof t1, tree1_fmt, v->tree_extra);
    snprintf(t2, sizeof t2, tree2_fmt, v->tree_extra);
    if (v->sizes) {
        snprintf(sizes, sizeof sizes, "tree_sizes=%zu %zu %zu\n", strlen(t0), strlen(t1),
                 strlen(t2));
    }
    snprintf(text_buf, sizeof text_buf,
             "tree\n%snum_class=1\nnum_tree_per_iteration=1\nlabel_index=0\nmax_feature_idx=2\n"
             "objective=%s\nfeature_names=a b c\nfeature_infos=[-3:2] 1:2:3 [-1:1]\n%s\n%s%s%s%s",
             v->version, objective, sizes, t0, t1, t2, tail ? tail : v->tail);
    return text_buf;
}

/* text without its first line starting with prefix (in place). */
static char *drop_line(const char *text, const char *prefix)
{
    char *p = strstr(text_buf, prefix);
    ck_assert_ptr_eq(text, text_buf);
    ck_assert_ptr_nonnull(p);
    char *nl = strchr(p, '\n');
    memmove(p, nl + 1, strlen(nl + 1) + 1);
    return text_buf;
}

static tm_status try_load(const char *text, tm_forest **f, char *msg, size_t cap)
{
    tm_err err;
    tm_err_init(&err);
    *f = NULL;
    tm_status st = tm_forest_load_mem(text, strlen(text), "m.txt", NULL, f, &err);
    tm_err_format(&err, msg, cap);
    return st;
}

static tm_forest *load_ok(const char *text, const char *what)
{
    tm_forest *f;
    char msg[512];
    ck_assert_msg(try_load(text, &f, msg, sizeof msg) == TM_OK, "%s: %s", what, msg);
    return f;
}

static void expect_refused(const char *text, const char *want, const char *what)
{
    tm_forest *f;
    char msg[512];
    ck_assert_msg(try_load(text, &f, msg, sizeof msg) != TM_OK, "%s: loaded", what);
    ck_assert_ptr_null(f);
    ck_assert_msg(strstr(msg, want) != NULL, "%s: message \"%s\" lacks \"%s\"", what, msg, want);
}

/* Predicts every row with both predictors; they must agree bit for bit. */
static void predict_rows(const tm_forest *f, tm_forest_output kind, double *out)
{
    double X[N_ROWS * 3], fast[N_ROWS];
    for (int r = 0; r < N_ROWS; r++) {
        memcpy(X + 3 * r, rows[r], 3 * sizeof *X);
    }
    ck_assert_uint_eq(tm_forest_output_len(f, kind), 1);
    ck_assert_int_eq(tm_forest_predict_reference(f, X, N_ROWS, 3, kind, out, NULL), TM_OK);
    ck_assert_int_eq(tm_forest_predict(f, X, N_ROWS, 3, kind, 1, fast, NULL), TM_OK);
    for (int r = 0; r < N_ROWS; r++) {
        ck_assert_msg(memcmp(&out[r], &fast[r], sizeof *out) == 0,
                      "row %d: fast %.17g != reference %.17g", r, fast[r], out[r]);
    }
}

START_TEST(every_format_gives_the_hand_computed_margins)
{
    for (size_t i = 0; i < N_VARIANTS; i++) {
        tm_forest *f = load_ok(build(&variants[i], "regression", NULL), variants[i].writer);
        double m[N_ROWS];
        predict_rows(f, TM_FOREST_OUT_MARGIN, m);
        for (int r = 0; r < N_ROWS; r++) {
            ck_assert_msg(m[r] == rows[r][3], "%s row %d: %.17g, expected %.17g",
                          variants[i].writer, r, m[r], rows[r][3]);
        }
        ck_assert_int_eq(tm_forest_n_outputs(f), 1);
        tm_forest_free(f);
    }
}
END_TEST

/* Files from 2.0.12-2.1.2 that stop right after the trees: the real reader
 * takes them; we do when tree_sizes accounts for every byte of every tree,
 * and refuse what is cut short or has no sizes to show it whole. */
START_TEST(files_without_end_of_trees)
{
    const variant *v212 = &variants[1], *v20 = &variants[0];
    tm_forest *f = load_ok(build(v212, "regression", ""), "2.1.2 ending after the trees");
    double m[N_ROWS];
    predict_rows(f, TM_FOREST_OUT_MARGIN, m);
    ck_assert_double_eq(m[0], 0.59375);
    tm_forest_free(f);

    char cut[sizeof text_buf];
    const char *full = build(v212, "regression", "");
    snprintf(cut, sizeof cut, "%.*s", (int)(strlen(full) - 2), full); /* one blank line lost */
    expect_refused(cut, "field 'tree_sizes': expected tree 2 to take", "2.1.2 cut in its blanks");
    snprintf(cut, sizeof cut, "%.*s", (int)(strstr(strstr(full, "Tree=2"), "leaf_weight=") - full),
             full);
    expect_refused(cut, "field 'tree_sizes': expected tree 2 to take", "2.1.2 cut in tree 2");
    snprintf(cut, sizeof cut, "%.*s", (int)(strstr(full, "Tree=2") - full), full);
    expect_refused(cut, "field 'tree_sizes': expected 3 trees, found 2 Tree= blocks",
                   "2.1.2 cut before tree 2");
    expect_refused(build(v20, "regression", ""),
                   "truncated file: expected \"end of trees\" after tree 3",
                   "2.0.x without feature importances");
    for (size_t i = 3; i < N_VARIANTS; i++) {
        expect_refused(build(&variants[i], "regression", ""),
                       "truncated file: expected \"end of trees\" after tree 3",
                       variants[i].writer);
        expect_refused(build(&variants[i], "regression", "\nfeature importances:\na=1\n"),
                       "expected \"end of trees\" before \"feature importances:\"",
                       variants[i].writer);
    }
    /* A lost version line must not make a file look older than it is. */
    expect_refused(drop_line(build(&variants[2], "regression", NULL), "version="),
                   "field 'version': expected a header line version= (files with tree_sizes "
                   "have one), found none",
                   "2.2 without version line");
    expect_refused(build(v20, "regression", "end of trees\n"),
                   "field 'version': expected a header line version= (files with \"end of "
                   "trees\" have one), found none",
                   "no version line but end of trees");
    /* A line after the trees that no writer puts there. */
    expect_refused(build(v212, "regression", "\nfeature importance:\n"),
                   "expected Tree=3 or \"end of trees\", found \"feature importance:\"",
                   "unknown line after the trees");
}
END_TEST

/* Inputs with |x| <= kEpsilon (the float 1e-15f) were dropped to 0 from
 * dense rows by LightGBM 2.0.5-2.0.11 (c_api.cpp at those tags), whose
 * files have no version line; from 2.0.12 on only |x| <= 1e-35f is. Row
 * (e, e, e) walked by hand:
 *   e read as 0:  left, 0 not in set: 2; 0 <= 0: 0.125; zero: -0.03125 -> 2.09375
 *   e kept:       left, (int)e = 0 not in set: 2; e > 0: -0.25; e <= 2.5: 0.0625 -> 1.8125
 *   -e kept:      left, 2; -e <= 0: 0.125; -e <= 2.5: 0.0625                 -> 2.1875 */
START_TEST(files_before_2_0_12_read_inputs_below_1e_15_as_zero)
{
    const double eps = (double)1e-15f, above = nextafter((double)1e-15f, 1);
    const double cases[][3] = {{1e-16, 2.09375, 1.8125},
                               {eps, 2.09375, 1.8125},
                               {-eps, 2.09375, 2.1875}, /* kept: -e <= 0 and -e <= 2.5 go left */
                               {above, 1.8125, 1.8125},
                               {1e-36, 2.09375, 2.09375}};
    for (size_t v = 0; v < N_VARIANTS; v++) {
        tm_forest *f = load_ok(build(&variants[v], "regression", NULL), variants[v].writer);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            double x[3] = {cases[i][0], cases[i][0], cases[i][0]}, ref, fast;
            ck_assert_int_eq(
                    tm_forest_predict_reference(f, x, 1, 3, TM_FOREST_OUT_MARGIN, &ref, NULL),
                    TM_OK);
            ck_assert_int_eq(tm_forest_predict(f, x, 1, 3, TM_FOREST_OUT_MARGIN, 1, &fast, NULL),
                             TM_OK);
            double want = v == 0 ? cases[i][1] : cases[i][2];
            ck_assert_msg(ref == want && fast == want, "%s, x = %.17g: %.17g / %.17g, expected %g",
                          variants[v].writer, cases[i][0], ref, fast, want);
        }
        tm_forest_free(f);
    }
    /* Saved as v4, whose readers use the 1e-35 rule, it would change. */
    tm_forest *f = load_ok("tree\nnum_class=1\nlabel_index=0\nmax_feature_idx=0\n"
                           "objective=regression\nfeature_names=a\nfeature_infos=[0:1]\n\n"
                           "Tree=0\nnum_leaves=2\nnum_cat=0\nsplit_feature=0\nthreshold=0.5\n"
                           "decision_type=2\nleft_child=-1\nright_child=-2\nleaf_value=1 2\n"
                           "shrinkage=1\n\n\nfeature importances:\na=1\n",
                           "2.0.x stump");
    char path[1200];
    snprintf(path, sizeof path, "%s/v2_0.txt", tm_test_tmpdir());
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_forest_save(f, TM_FOREST_FORMAT_LIGHTGBM, path, &err), TM_E_FORMAT);
    ck_assert_msg(strstr(err.reason, "lightgbm 2.0.11 and older") != NULL, "%s", err.reason);
    tm_forest_free(f);
}
END_TEST

/* Objective names as the writers of each version put them on the line
 * (each objective's ToString / GetName, and the aliases its factory reads),
 * with the link LightGBM's ConvertOutput applies, on the margin 0.59375
 * of row 0. */
START_TEST(objective_names_of_every_version)
{
    const double m = 0.59375;
    const struct {
        const char *objective;
        double value;
    } cases[] = {
            {"regression", m},
            {"regression sqrt", m * m},
            {"regression_l1 sqrt", m * m},
            {"quantile_l2", m}, /* 2.0.12 */
            {"quantile", m},
            {"huber", m},
            {"fair", m},
            {"mape", m},
            {"mean_absolute_percentage_error", m}, /* alias read by 2.1.x */
            {"lambdarank", m},
            {"rank_xendcg", m},
            {"none", m},
            {"null", m},
            {"custom", m},
            {"binary sigmoid:1", 1 / (1 + exp(-m))},
            {"binary sigmoid:0.5", 1 / (1 + exp(-0.5 * m))},
            {"xentropy", 1 / (1 + exp(-m))},
            {"cross_entropy", 1 / (1 + exp(-m))},
            {"xentlambda", log1p(exp(m))},
            {"cross_entropy_lambda", log1p(exp(m))},
            {"poisson", exp(m)},
            {"gamma", exp(m)},
            {"tweedie", exp(m)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t v = 0; v < N_VARIANTS; v += N_VARIANTS - 1) {
            tm_forest *f =
                    load_ok(build(&variants[v], cases[i].objective, NULL), cases[i].objective);
            double out[N_ROWS];
            predict_rows(f, TM_FOREST_OUT_DEFAULT, out);
            ck_assert_msg(fabs(out[0] - cases[i].value) <= 1e-15 * fabs(cases[i].value),
                          "%s (%s): %.17g, expected %.17g", cases[i].objective, variants[v].writer,
                          out[0], cases[i].value);
            tm_forest_free(f);
        }
    }
    expect_refused(build(&variants[5], "quantile_l3", NULL), "unknown objective \"quantile_l3\"",
                   "unknown objective");
}
END_TEST

/* The parameters section confirms the header lines whose loss would change
 * predictions without a trace: rf's average_output, the objective line. */
START_TEST(parameters_confirm_the_header)
{
    const char *rf_tail = "end of trees\n\nparameters:\n[boosting: rf]\n[objective: regression]\n"
                          "end of parameters\n";
    expect_refused(build(&variants[5], "regression", rf_tail),
                   "field 'average_output': expected an average_output header line for "
                   "boosting rf, found none",
                   "rf without average_output");
    char text[sizeof text_buf];
    snprintf(text, sizeof text, "%s", build(&variants[5], "regression", rf_tail));
    char *p = strstr(text, "feature_names=");
    memmove(p + 15, p, strlen(p) + 1);
    memcpy(p, "average_output\n", 15);
    tm_forest *f = load_ok(text, "rf with average_output");
    double m[N_ROWS], out[N_ROWS];
    predict_rows(f, TM_FOREST_OUT_MARGIN, m);
    predict_rows(f, TM_FOREST_OUT_DEFAULT, out);
    ck_assert_double_eq(m[0], 0.59375);
    ck_assert_double_eq(out[0], 0.59375 / 3); /* averaged over the 3 iterations */
    tm_forest_free(f);

    /* No objective line: only a model without objective may lack it. */
    expect_refused(drop_line(build(&variants[5], "regression", NULL), "objective="),
                   "field 'objective': expected an objective= header line for objective "
                   "regression, found none",
                   "objective line lost");
    const char *none_tail = "end of trees\n\nparameters:\n[boosting: gbdt]\n[objective: none]\n"
                            "end of parameters\n";
    f = load_ok(drop_line(build(&variants[5], "none", none_tail), "objective="),
                "objective none, no objective line");
    predict_rows(f, TM_FOREST_OUT_DEFAULT, out);
    ck_assert_double_eq(out[1], -1.53125);
    tm_forest_free(f);
}
END_TEST

/* Through the command line: the 2.1.2 file without "end of trees" scores
 * (exit 0, the hand-computed margin), the same file cut inside its last
 * tree is bad input (exit 2, one line on stderr, no output written). */
START_TEST(predict_command_on_old_and_truncated_files)
{
    const char *dir = tm_test_tmpdir();
    char path[1200];
    const char *full = build(&variants[1], "regression", "");
    size_t cut_at = (size_t)(strstr(strstr(full, "Tree=2"), "leaf_weight=") - full);
    const struct {
        const char *name;
        size_t len;
    } files[] = {{"m212.txt", strlen(full)}, {"cut.txt", cut_at}};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
        FILE *fp = fopen(path, "wb");
        ck_assert_ptr_nonnull(fp);
        ck_assert_uint_eq(fwrite(full, 1, files[i].len, fp), files[i].len);
        fclose(fp);
    }
    snprintf(path, sizeof path, "%s/in.csv", dir);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("a,b,c\n1,3,-1\n", fp);
    fclose(fp);
    ck_assert_int_eq(tm_test_system("%s predict --model %s/m212.txt --input %s/in.csv --output "
                                    "%s/ok.csv --margin 2>/dev/null",
                                    tm_test_bin(), dir, dir, dir),
                     0);
    snprintf(path, sizeof path, "%s/ok.csv", dir);
    size_t len = 0;
    char *out = tm_test_slurp(path, &len);
    ck_assert_ptr_nonnull(out);
    ck_assert_str_eq(out, "m\n0.59375\n");
    free(out);
    ck_assert_int_eq(tm_test_system("%s predict --model %s/cut.txt --input %s/in.csv --output "
                                    "%s/bad.csv 2>%s/err.txt",
                                    tm_test_bin(), dir, dir, dir, dir),
                     2);
    snprintf(path, sizeof path, "%s/bad.csv", dir);
    ck_assert_ptr_null(fopen(path, "r"));
    snprintf(path, sizeof path, "%s/err.txt", dir);
    char *msg = tm_test_slurp(path, &len);
    ck_assert_ptr_nonnull(msg);
    ck_assert_msg(strstr(msg, "cut.txt") && strstr(msg, "tree_sizes") &&
                          strstr(msg, "truncated file?") && strchr(msg, '\n') == msg + len - 1,
                  "%s", msg);
    free(msg);
}
END_TEST

TM_TEST_SUITE(forest_lightgbm_versions)
{
    Suite *s = suite_create("forest_lightgbm_versions");
    TCase *tc = tcase_create("lightgbm_versions");
    tcase_add_test(tc, every_format_gives_the_hand_computed_margins);
    tcase_add_test(tc, files_without_end_of_trees);
    tcase_add_test(tc, files_before_2_0_12_read_inputs_below_1e_15_as_zero);
    tcase_add_test(tc, objective_names_of_every_version);
    tcase_add_test(tc, parameters_confirm_the_header);
    tcase_add_test(tc, predict_command_on_old_and_truncated_files);
    suite_add_tcase(s, tc);
    return s;
}
