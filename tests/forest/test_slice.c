/* src/forest/slice.c: rounds of a forest. Against the real libraries'
 * outputs: XGBoost's iteration_range (0, best_iteration + 1) on the
 * early-stopped fixture (expected_best*.csv), LightGBM's num_iteration on
 * the fixture saved with all rounds, and, when python3-xgboost is present,
 * live iteration ranges on gbtree, DART and num_parallel_tree models.
 * Properties: rounds [0, k) plus [k, n) give the whole margin; errors for
 * ranges past the end, dumps, and models without a best iteration. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <turbomode/forest.h>

#include "tm_test.h"

static char *fx(char *buf, size_t len, const char *rel)
{
    snprintf(buf, len, "%s/fixtures/%s", tm_test_shared_dir(), rel);
    return buf;
}

static tm_forest *load(const char *rel)
{
    char path[1024];
    tm_forest *f = NULL;
    tm_err err;
    tm_err_init(&err);
    tm_status st = tm_forest_load(fx(path, sizeof path, rel), NULL, &f, &err);
    ck_assert_msg(st == TM_OK, "%s: %s", path, err.reason);
    return f;
}

static tm_csv *csv(const char *rel)
{
    char path[1024];
    tm_csv *c = NULL;
    ck_assert_int_eq(tm_csv_load(fx(path, sizeof path, rel), &c, NULL), TM_OK);
    return c;
}

/* Predicts kind for the rows of in (columns in model order) into a new
 * array of n_rows x output_len values. */
static double *predict(const tm_forest *f, const tm_csv *in, tm_forest_output kind)
{
    size_t w = tm_forest_output_len(f, kind);
    double *out = malloc((in->n_rows * w + 1) * sizeof *out);
    ck_assert_int_eq(tm_forest_predict(f, in->values, in->n_rows, in->n_cols, kind, 1, out, NULL),
                     TM_OK);
    return out;
}

/* Largest |got - want| over a CSV of expected values. */
static double max_diff(const double *got, const tm_csv *want)
{
    double d = 0.0;
    for (size_t i = 0; i < want->n_rows * want->n_cols; i++) {
        double e = fabs(got[i] - want->values[i]);
        d = isnan(e) ? (double)INFINITY : fmax(d, e);
    }
    return d;
}

static tm_forest *slice(const tm_forest *f, int32_t begin, int32_t end)
{
    tm_forest *g = NULL;
    tm_err err;
    tm_err_init(&err);
    tm_status st = tm_forest_slice(f, begin, end, &g, &err);
    ck_assert_msg(st == TM_OK, "slice %d:%d: %s", begin, end, err.reason);
    return g;
}

START_TEST(slice_xgboost_best_iteration_matches_real_library)
{
    if (!tm_test_shared_has("fixtures/xgboost/early_stopping_softprob", "xgboost best iteration")) {
        return;
    }
    const char *models[] = {"xgboost/early_stopping_softprob/model.json",
                            "xgboost/early_stopping_softprob/model.ubj"};
    tm_csv *in = csv("xgboost/early_stopping_softprob/input.csv");
    tm_csv *best = csv("xgboost/early_stopping_softprob/expected_best.csv");
    tm_csv *best_m = csv("xgboost/early_stopping_softprob/expected_best_margin.csv");
    tm_csv *all = csv("xgboost/early_stopping_softprob/expected.csv");
    for (int i = 0; i < 2; i++) {
        tm_forest *f = load(models[i]);
        /* README: best_iteration = 17, 68 rounds of 3 trees. */
        ck_assert_int_eq(tm_forest_best_iteration(f), 17);
        ck_assert_int_eq(tm_forest_n_iterations(f), 68);
        tm_forest *g = slice(f, 0, tm_forest_best_iteration(f) + 1);
        double *p = predict(g, in, TM_FOREST_OUT_DEFAULT);
        double *m = predict(g, in, TM_FOREST_OUT_MARGIN);
        ck_assert_double_le(max_diff(p, best), 1e-6);
        ck_assert_double_le(max_diff(m, best_m), 1e-6);
        free(p);
        free(m);
        tm_forest *h = slice(f, 0, 0); /* (0, 0): every round */
        p = predict(h, in, TM_FOREST_OUT_DEFAULT);
        ck_assert_double_le(max_diff(p, all), 1e-6);
        free(p);
        ck_assert_int_eq(tm_forest_best_iteration(h), 17);
        tm_forest_free(h);
        tm_forest_free(g);
        tm_forest_free(f);
    }
    tm_csv_free(in);
    tm_csv_free(best);
    tm_csv_free(best_m);
    tm_csv_free(all);
}
END_TEST

START_TEST(slice_lightgbm_num_iteration_matches_real_library)
{
    if (!tm_test_shared_has("fixtures/lightgbm/early_stopping", "lightgbm rounds")) {
        return;
    }
    tm_forest *f = load("lightgbm/early_stopping/model_all_iterations.txt");
    tm_forest *cut = load("lightgbm/early_stopping/model.txt");
    /* README: 117 rounds trained, best_iteration = 67, no field stored. */
    ck_assert_int_eq(tm_forest_n_iterations(f), 117);
    ck_assert_int_eq(tm_forest_n_iterations(cut), 67);
    ck_assert_int_eq(tm_forest_best_iteration(f), -1);
    ck_assert_int_eq(tm_forest_best_iteration(cut), -1);
    tm_csv *in = csv("lightgbm/early_stopping/input.csv");
    tm_csv *want = csv("lightgbm/early_stopping/expected.csv");
    tm_csv *want_m = csv("lightgbm/early_stopping/expected_margin.csv");
    tm_forest *g = slice(f, 0, 67);
    double *p = predict(g, in, TM_FOREST_OUT_DEFAULT);
    double *m = predict(g, in, TM_FOREST_OUT_MARGIN);
    ck_assert_double_le(max_diff(p, want), 1e-12);
    ck_assert_double_le(max_diff(m, want_m), 1e-12);
    free(p);
    free(m);
    tm_forest_free(g);
    tm_forest_free(cut);
    tm_forest_free(f);
    tm_csv_free(in);
    tm_csv_free(want);
    tm_csv_free(want_m);
}
END_TEST

/* margin(0:k) + margin(k:n) - base == margin(0:n), for every family's
 * round shape (3 outputs x 4 parallel trees, DART weights, LightGBM
 * one-vs-all, CatBoost vector leaves). */
START_TEST(slice_halves_add_up_to_the_whole)
{
    static const char *const cases[][2] = {
            {"xgboost/rf_num_parallel_tree4_softprob/model.json",
             "xgboost/rf_num_parallel_tree4_softprob/input.csv"},
            {"xgboost/dart_softprob_hist/model.json", "xgboost/dart_softprob_hist/input.csv"},
            {"lightgbm/multiclassova/model.txt", "lightgbm/multiclassova/input.csv"},
            {"catboost/go_multiclass_3/model.cbm.json", "catboost/go_multiclass_3/input.csv"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char rel[256];
        snprintf(rel, sizeof rel, "fixtures/%s", cases[c][0]);
        if (!tm_test_shared_has(rel, "slice halves")) {
            continue;
        }
        tm_forest *f = load(cases[c][0]);
        tm_csv *in = csv(cases[c][1]);
        int32_t n = tm_forest_n_iterations(f);
        ck_assert_int_gt(n, 1);
        int32_t k = n / 3;
        tm_forest *a = slice(f, 0, k), *b = slice(f, k, 0), *none = slice(f, k, k);
        double *mf = predict(f, in, TM_FOREST_OUT_MARGIN),
               *ma = predict(a, in, TM_FOREST_OUT_MARGIN);
        double *mb = predict(b, in, TM_FOREST_OUT_MARGIN);
        double *m0 = predict(none, in, TM_FOREST_OUT_MARGIN);
        size_t w = tm_forest_output_len(f, TM_FOREST_OUT_MARGIN);
        for (size_t i = 0; i < in->n_rows * w; i++) {
            double sum = ma[i] + mb[i] - m0[i];
            ck_assert_msg(fabs(sum - mf[i]) <= 1e-4 * (1.0 + fabs(mf[i])),
                          "%s value %zu: %.9g + %.9g - %.9g != %.9g", cases[c][0], i, ma[i], mb[i],
                          m0[i], mf[i]);
        }
        free(mf);
        free(ma);
        free(mb);
        free(m0);
        tm_forest_free(a);
        tm_forest_free(b);
        tm_forest_free(none);
        tm_forest_free(f);
        tm_csv_free(in);
    }
}
END_TEST

START_TEST(slice_refuses_what_it_cannot_do)
{
    if (!tm_test_shared_has("fixtures/xgboost/early_stopping_softprob", "slice refusals")) {
        return;
    }
    tm_forest *f = load("xgboost/early_stopping_softprob/model.json"), *g = (tm_forest *)&g;
    tm_err err;
    char msg[1024];
    tm_err_init(&err);
    ck_assert_int_eq(tm_forest_slice(f, 0, 69, &g, &err), TM_E_RANGE);
    ck_assert_ptr_null(g);
    ck_assert_str_eq(tm_err_format(&err, msg, sizeof msg),
                     "field 'iteration range': expected 0 <= begin <= end <= 68 (the model's "
                     "rounds), found 0:69");
    tm_err_init(&err);
    ck_assert_int_eq(tm_forest_slice(f, 5, 3, &g, &err), TM_E_RANGE);
    tm_err_init(&err);
    ck_assert_int_eq(tm_forest_slice(f, -1, 3, &g, &err), TM_E_RANGE);
    tm_forest_free(f);
    f = load("xgboost/early_stopping_softprob/model.dump.json");
    tm_err_init(&err);
    ck_assert_int_eq(tm_forest_slice(f, 0, 3, &g, &err), TM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err.reason, "num_parallel_tree"));
    ck_assert_int_eq(tm_forest_best_iteration(f), -1);
    tm_forest_free(f);
}
END_TEST

/* Live peer: python3-xgboost predicts iteration ranges of three models;
 * ours must agree within float32 rounding. */
START_TEST(slice_matches_live_xgboost_iteration_ranges)
{
    if (!tm_test_shared_has("fixtures/xgboost/dart_softprob_hist", "live xgboost ranges")) {
        return;
    }
    if (tm_test_system("/usr/bin/python3 -c 'import xgboost, numpy' 2>/dev/null") != 0) {
        tm_test_skip("live iteration ranges: no /usr/bin/python3 with xgboost and numpy "
                     "(install python3-xgboost)");
        return;
    }
    static const char *const names[] = {"early_stopping_softprob", "dart_softprob_hist",
                                        "rf_num_parallel_tree4_softprob"};
    static const int ranges[][2] = {{0, 1}, {1, 3}, {1, 0}, {2, 3}}; /* as in the script */
    char dir[512];
    snprintf(dir, sizeof dir, "%s/slice_%d", tm_test_tmpdir(), (int)getpid());
    ck_assert_int_eq(tm_test_system("mkdir -p '%s'", dir), 0);
    const char *sh = tm_test_shared_dir();
    int rc = tm_test_system(
            "/usr/bin/python3 -c '\n"
            "import sys, numpy as np, xgboost as xgb\n"
            "for c, name in enumerate(sys.argv[3:]):\n"
            "    d = \"%%s/fixtures/xgboost/%%s/\" %% (sys.argv[1], name)\n"
            "    b = xgb.Booster(model_file=d + \"model.json\")\n"
            "    X = np.genfromtxt(d + \"input.csv\", delimiter=\",\", skip_header=1, "
            "dtype=np.float32)\n"
            "    for i, (a, e) in enumerate([(0, 1), (1, 3), (1, 0), (2, 3)]):\n"
            "        m = b.inplace_predict(X, iteration_range=(a, e), predict_type=\"margin\", "
            "missing=np.nan).reshape(len(X), -1)\n"
            "        h = \",\".join(\"m%%d\" %% k for k in range(m.shape[1]))\n"
            "        np.savetxt(\"%%s/want%%d_%%d.csv\" %% (sys.argv[2], c, i), m, fmt=\"%%.9g\", "
            "delimiter=\",\", header=h, comments=\"\")\n"
            "' '%s' '%s' %s %s %s",
            sh, dir, names[0], names[1], names[2]);
    ck_assert_int_eq(rc, 0);
    for (size_t c = 0; c < 3; c++) {
        for (size_t r = 0; r < 4; r++) {
            char rel[128];
            snprintf(rel, sizeof rel, "xgboost/%s/model.json", names[c]);
            tm_forest *f = load(rel);
            snprintf(rel, sizeof rel, "xgboost/%s/input.csv", names[c]);
            tm_csv *in = csv(rel);
            char want_path[700];
            snprintf(want_path, sizeof want_path, "%s/want%zu_%zu.csv", dir, c, r);
            tm_csv *want = NULL;
            ck_assert_int_eq(tm_csv_load(want_path, &want, NULL), TM_OK);
            tm_forest *g = slice(f, ranges[r][0], ranges[r][1]);
            double *m = predict(g, in, TM_FOREST_OUT_MARGIN);
            ck_assert_uint_eq(want->n_rows, in->n_rows);
            ck_assert_msg(max_diff(m, want) <= 1e-5, "%s %d:%d: max diff %g", names[c],
                          ranges[r][0], ranges[r][1], max_diff(m, want));
            free(m);
            tm_forest_free(g);
            tm_forest_free(f);
            tm_csv_free(in);
            tm_csv_free(want);
        }
    }
    tm_test_ran();
}
END_TEST

TM_TEST_SUITE(forest_slice)
{
    Suite *s = suite_create("forest_slice");
    TCase *tc = tcase_create("slice");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, slice_xgboost_best_iteration_matches_real_library);
    tcase_add_test(tc, slice_lightgbm_num_iteration_matches_real_library);
    tcase_add_test(tc, slice_halves_add_up_to_the_whole);
    tcase_add_test(tc, slice_refuses_what_it_cannot_do);
    tcase_add_test(tc, slice_matches_live_xgboost_iteration_ranges);
    suite_add_tcase(s, tc);
    return s;
}
