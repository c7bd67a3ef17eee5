/* turbomode compile: the C file of fixture models (real XGBoost, LightGBM
 * and CatBoost files), built with the system's C compiler at -O2, gives
 * the reference predictor's margins and outputs bit for bit, on the
 * fixture inputs and on rows holding NaN, +-inf, zeros, tiny values,
 * category codes and every threshold exactly (and one float step either
 * side). Also the command line: compile, cc, predict --compiled, and the
 * refusals (linear leaves, a build of another model, the option mix). */
#include <dlfcn.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <turbomode/forest.h>

#include "forest/forest_int.h"
#include "tm_test.h"

static const char *cc(void)
{
    const char *c = getenv("CC");
    return c && *c ? c : "cc";
}

/* True when a C compiler runs; else a loud skip. */
static bool have_cc(void)
{
    if (tm_test_system("%s --version >/dev/null 2>&1", cc()) != 0) {
        tm_test_skip("no C compiler (%s): compiled-model tests not run", cc());
        return false;
    }
    return true;
}

static tm_forest *load(const char *rel)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/fixtures/%s", tm_test_shared_dir(), rel);
    tm_forest *f = NULL;
    tm_err err;
    tm_err_init(&err);
    ck_assert_msg(tm_forest_load(path, NULL, &f, &err) == TM_OK, "%s: %s", path, err.reason);
    return f;
}

/* Writes f's C file as NAME.c in the temporary directory, builds NAME.so
 * and opens it; returns the handle and sets *fn. */
static void *build(const tm_forest *f, const char *name, tm_forest_margins_fn *fn)
{
    char *text = NULL, path[1200];
    size_t len = 0;
    uint64_t fp = 0, fp2 = 0;
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_forest_compile_c(f, name, &text, &len, &fp, &err), TM_OK);
    ck_assert_int_eq(tm_forest_compile_c(f, NULL, NULL, NULL, &fp2, &err), TM_OK);
    ck_assert_msg(fp == fp2, "fingerprint depends on the head comment");
    snprintf(path, sizeof path, "%s/%s.c", tm_test_tmpdir(), name);
    FILE *out = fopen(path, "w");
    ck_assert_ptr_nonnull(out);
    ck_assert_uint_eq(fwrite(text, 1, len, out), len);
    fclose(out);
    tm_free(text);
    int rc = tm_test_system("%s -O2 -shared -fPIC -Wall -Wextra -Werror %s -o %s/%s.so", cc(), path,
                            tm_test_tmpdir(), name);
    ck_assert_msg(rc == 0, "%s: the generated file does not build warning-free", name);
    snprintf(path, sizeof path, "%s/%s.so", tm_test_tmpdir(), name);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(h != NULL, "dlopen %s: %s", path, dlerror());
    const uint64_t *got = dlsym(h, "tm_compiled_fingerprint");
    ck_assert_ptr_nonnull(got);
    ck_assert_msg(*got == fp, "%s: exported fingerprint differs", name);
    void *sym = dlsym(h, "tm_compiled_margins");
    ck_assert_ptr_nonnull(sym);
    memcpy(fn, &sym, sizeof *fn);
    return h;
}

/* Appends value v for feature j (rows are copies of base). */
static void add_row(double **X, size_t *n, size_t *cap, const double *base, size_t nf, size_t j,
                    double v)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 256;
        *X = realloc(*X, *cap * nf * sizeof **X);
        ck_assert_ptr_nonnull(*X);
    }
    memcpy(*X + *n * nf, base, nf * sizeof **X);
    (*X)[*n * nf + j] = v;
    (*n)++;
}

/* Each threshold t of feature j as is and one step either side in the
 * compare precision. */
static void add_threshold(double **X, size_t *n, size_t *cap, const double *base, size_t nf,
                          size_t j, double t, bool f32)
{
    add_row(X, n, cap, base, nf, j, t);
    if (f32) {
        add_row(X, n, cap, base, nf, j, (double)nextafterf((float)t, INFINITY));
        add_row(X, n, cap, base, nf, j, (double)nextafterf((float)t, -INFINITY));
    } else {
        add_row(X, n, cap, base, nf, j, nextafter(t, INFINITY));
        add_row(X, n, cap, base, nf, j, nextafter(t, -INFINITY));
    }
}

/* The fixture rows, then edge rows built from the first fixture row. */
static double *edge_rows(const tm_forest *f, const tm_csv *in, size_t *n_rows)
{
    size_t nf = (size_t)f->n_features, n = 0, cap = 0;
    double *X = NULL;
    ck_assert_uint_ge(in->n_cols, nf); /* fixture inputs are in model order */
    for (size_t r = 0; r < in->n_rows; r++) {
        add_row(&X, &n, &cap, in->values + r * in->n_cols, nf, 0, in->values[r * in->n_cols]);
    }
    double *base = malloc((nf + 1) * sizeof *base);
    memcpy(base, in->values, nf * sizeof *base);
    static const double special[] = {
            NAN,  INFINITY,   -INFINITY,    0.0,  -0.0, 1e-36, -1e-36, 1.0000000180025095e-35,
            -1.0, -0.5,       0.5,          1.0,  2.0,  3.0,   31.0,   32.0,
            33.0, 16777216.0, 2147483647.0, 1e300};
    for (size_t j = 0; j < nf; j++) {
        for (size_t s = 0; s < sizeof special / sizeof special[0]; s++) {
            add_row(&X, &n, &cap, base, nf, j, special[s]);
        }
    }
    bool f32 = f->cmp != TM__CMP_LE_F64;
    for (int32_t nd = 0; nd < f->n_nodes && nd < 4000; nd++) {
        if (!(f->flags[nd] & TM__NODE_LEAF)) {
            double t = f32 ? (double)f->threshold_f[nd] : f->threshold[nd];
            add_threshold(&X, &n, &cap, base, nf, (size_t)f->feature[nd], t, f32);
        }
    }
    for (int32_t s = 0; s < f->n_obl_splits && s < 4000; s++) {
        add_threshold(&X, &n, &cap, base, nf, (size_t)f->obl_feature[s], (double)f->obl_border[s],
                      true);
    }
    free(base);
    *n_rows = n;
    return X;
}

/* f through its compiled file and through the reference predictor: equal
 * bytes for margins and for the model's default output. */
static void check_same(const char *rel, const char *name)
{
    tm_forest *f = load(rel);
    char dir[1200];
    snprintf(dir, sizeof dir, "%s/fixtures/%s", tm_test_shared_dir(), rel);
    *strrchr(dir, '/') = '\0';
    char in_path[1300];
    snprintf(in_path, sizeof in_path, "%s/input.csv", dir);
    tm_csv *in = NULL;
    tm_err err;
    tm_err_init(&err);
    ck_assert_msg(tm_csv_load(in_path, &in, &err) == TM_OK, "%s: %s", in_path, err.reason);
    tm_forest_margins_fn fn = NULL;
    void *h = build(f, name, &fn);
    size_t n = 0, nf = (size_t)f->n_features;
    double *X = edge_rows(f, in, &n);
    static const tm_forest_output kinds[] = {TM_FOREST_OUT_MARGIN, TM_FOREST_OUT_DEFAULT};
    for (size_t i = 0; i < 2; i++) {
        size_t w = tm_forest_output_len(f, kinds[i]);
        double *ref = malloc((n * w + 1) * sizeof *ref);
        double *got = malloc((n * w + 1) * sizeof *got);
        ck_assert_int_eq(tm_forest_predict_reference(f, X, n, nf, kinds[i], ref, &err), TM_OK);
        ck_assert_int_eq(tm_forest_predict_compiled(f, fn, X, n, nf, kinds[i], 2, got, &err),
                         TM_OK);
        for (size_t v = 0; v < n * w; v++) {
            ck_assert_msg(memcmp(&ref[v], &got[v], sizeof ref[v]) == 0 ||
                                  (isnan(ref[v]) && isnan(got[v])),
                          "%s: row %zu output %zu: compiled %a, reference %a", rel, v / w, v % w,
                          got[v], ref[v]);
        }
        free(ref);
        free(got);
    }
    ck_assert_uint_gt(n, in->n_rows);
    free(X);
    dlclose(h);
    tm_csv_free(in);
    tm_forest_free(f);
}

/* One model of each supported shape: float32 '<' with NaN directions,
 * +-inf and NaN thresholds, categorical partitions, DART weights and
 * multi-class (XGBoost); '<=' in double, the zero band, missing-as-zero,
 * categorical sets and single-leaf trees (LightGBM);
 * oblivious trees with the bias added last, NaN as true, vector leaves
 * and non-symmetric trees (CatBoost). */
static const char *const cases[][2] = {
        {"xgboost/thresholds_exact_inf_nan/model.json", "xgb_thresholds"},
        {"xgboost/categorical_onehot_partition_hist/model.json", "xgb_categorical"},
        {"xgboost/dart_softprob_hist/model.ubj", "xgb_dart"},
        {"xgboost/binary_logitraw_approx/model.json", "xgb_logitraw"},
        {"lightgbm/zero_as_missing/model.txt", "lgb_zero"},
        {"lightgbm/categorical/model.txt", "lgb_categorical"},
        {"lightgbm/single_leaf_trees/model.txt", "lgb_single_leaf"},
        {"lightgbm/constant_model/model.txt", "lgb_constant"},
        {"catboost/go_nan_as_true/model.cbm.json", "cb_nan_true"},
        {"catboost/kiwi_regression/model.cbm.json", "cb_regression"},
        {"catboost/go_multiclass_3/model.cbm.json", "cb_multiclass"},
        {"catboost/go_shallow_trees/model.cbm.json", "cb_shallow"},
        {"catboost/go_nonsym_binary/model.cbm.json", "cb_nonsym"},
};

START_TEST(compile_c_matches_reference_bit_for_bit)
{
    if (!tm_test_shared_has("fixtures", "compiled-model differential test") || !have_cc()) {
        return;
    }
    check_same(cases[_i][0], cases[_i][1]);
}
END_TEST

/* Runs the CLI with stderr to a file; returns the exit status and the
 * message in msg. */
static int run_cli(char *msg, size_t len, const char *args)
{
    char err_path[1200];
    snprintf(err_path, sizeof err_path, "%s/cli_err.txt", tm_test_tmpdir());
    int rc = tm_test_system("%s %s 2>%s", tm_test_bin(), args, err_path);
    size_t n = 0;
    char *text = tm_test_slurp(err_path, &n);
    snprintf(msg, len, "%s", text ? text : "");
    free(text);
    return rc;
}

START_TEST(compile_cli_predict_compiled_matches_predict)
{
    if (!tm_test_shared_has("fixtures/xgboost", "compiled-model CLI test") || !have_cc()) {
        return;
    }
    const char *tmp = tm_test_tmpdir(), *sh = tm_test_shared_dir();
    char args[4000], msg[2000];
    snprintf(args, sizeof args,
             "compile %s/fixtures/xgboost/softmax_3class_exact/model.json -o %s/m.c", sh, tmp);
    ck_assert_int_eq(run_cli(msg, sizeof msg, args), 0);
    ck_assert_int_eq(tm_test_system("%s -O2 -shared -fPIC %s/m.c -o %s/m.so", cc(), tmp, tmp), 0);
    for (int i = 0; i < 2; i++) {
        snprintf(args, sizeof args,
                 "predict --model %s/fixtures/xgboost/softmax_3class_exact/model.json --input "
                 "%s/fixtures/xgboost/softmax_3class_exact/input.csv --output %s/out%d.csv %s%s",
                 sh, sh, tmp, i, i ? "--compiled " : "", i ? tmp : "");
        if (i) {
            strcat(args, "/m.so");
        }
        ck_assert_msg(run_cli(msg, sizeof msg, args) == 0, "predict: %s", msg);
    }
    size_t n0 = 0, n1 = 0;
    char p0[1200], p1[1200];
    snprintf(p0, sizeof p0, "%s/out0.csv", tmp);
    snprintf(p1, sizeof p1, "%s/out1.csv", tmp);
    char *a = tm_test_slurp(p0, &n0), *b = tm_test_slurp(p1, &n1);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_gt(n0, 100);
    ck_assert_msg(n0 == n1 && memcmp(a, b, n0) == 0, "predict --compiled writes other values");
    free(a);
    free(b);

    /* A build of another model is refused, and so is any other object. */
    snprintf(args, sizeof args,
             "predict --model %s/fixtures/xgboost/binary_logistic_exact/model.json --input "
             "%s/fixtures/xgboost/binary_logistic_exact/input.csv --output %s/o.csv --compiled "
             "%s/m.so",
             sh, sh, tmp, tmp);
    ck_assert_int_eq(run_cli(msg, sizeof msg, args), 2);
    ck_assert_msg(strstr(msg, "built from another model") != NULL, "message: %s", msg);
    ck_assert_int_eq(tm_test_system("printf 'int x;\\n' > %s/other.c && %s -shared -fPIC "
                                    "%s/other.c -o %s/other.so",
                                    tmp, cc(), tmp, tmp),
                     0);
    snprintf(args, sizeof args,
             "predict --model %s/fixtures/xgboost/binary_logistic_exact/model.json --input "
             "%s/fixtures/xgboost/binary_logistic_exact/input.csv --output %s/o.csv --compiled "
             "%s/other.so",
             sh, sh, tmp, tmp);
    ck_assert_int_eq(run_cli(msg, sizeof msg, args), 2);
    ck_assert_msg(strstr(msg, "expected a file built from turbomode compile") != NULL,
                  "message: %s", msg);
    snprintf(args, sizeof args,
             "predict --model x --input y --output z --compiled m.so --best-iteration");
    ck_assert_int_eq(run_cli(msg, sizeof msg, args), 2);
    ck_assert_msg(strstr(msg, "excludes --iteration-range and --best-iteration") != NULL,
                  "message: %s", msg);
}
END_TEST

START_TEST(compile_refuses_linear_leaves)
{
    if (!tm_test_shared_has("fixtures/lightgbm/linear_tree", "compile refusal test")) {
        return;
    }
    char args[2000], msg[2000];
    snprintf(args, sizeof args, "compile %s/fixtures/lightgbm/linear_tree/model.txt -o %s/lin.c",
             tm_test_shared_dir(), tm_test_tmpdir());
    ck_assert_int_eq(run_cli(msg, sizeof msg, args), 2);
    ck_assert_msg(strstr(msg, "linear_tree/model.txt: compile: linear leaves (LightGBM "
                              "linear_tree) is not supported") != NULL,
                  "message: %s", msg);
    snprintf(args, sizeof args, "%s/lin.c", tm_test_tmpdir());
    FILE *fp = fopen(args, "r");
    ck_assert_msg(fp == NULL, "a refused compile leaves no file");
}
END_TEST

TM_TEST_SUITE(forest_compile)
{
    Suite *s = suite_create("forest_compile");
    TCase *tc = tcase_create("compile_c");
    tcase_set_timeout(tc, 600);
    tcase_add_loop_test(tc, compile_c_matches_reference_bit_for_bit, 0,
                        (int)(sizeof cases / sizeof cases[0]));
    tcase_add_test(tc, compile_cli_predict_compiled_matches_predict);
    tcase_add_test(tc, compile_refuses_linear_leaves);
    suite_add_tcase(s, tc);
    return s;
}
