/* The differential backbone: every model case under the shared fixtures
 * (real XGBoost, LightGBM and CatBoost outputs) through the library's fast
 * predictor, the reference predictor, and the CLI, compared with
 * expected.csv and expected_margin.csv within each case's tolerance:
 * |got - expected| <= tol * max(1, |expected|), inf and nan exactly. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbomode/forest.h>

#include "forest/layout.h"
#include "tm_test.h"

typedef struct fixture {
    char dir[1400];
    char family[32];
    double tol;
    bool requires_categorical;
    char prediction_type[32]; /* CatBoost: RawFormulaVal, Probability, ... */
    tm_json_doc *meta;
} fixture;

static bool load_meta(fixture *fx)
{
    char path[1600];
    snprintf(path, sizeof path, "%s/meta.json", fx->dir);
    size_t len = 0;
    char *text = tm_test_slurp(path, &len);
    if (!text) {
        return false;
    }
    tm_err err;
    tm_err_init(&err);
    tm_status st = tm_json_parse(text, len, path, &fx->meta, &err);
    free(text);
    ck_assert_msg(st == TM_OK, "%s: %s", path, err.reason);
    const tm_json *root = tm_json_root(fx->meta);
    const tm_json *v = tm_json_get(root, "tolerance_abs");
    fx->tol = v ? v->num : 1e-6;
    v = tm_json_get(root, "family");
    snprintf(fx->family, sizeof fx->family, "%s", v && v->str ? v->str : "");
    v = tm_json_get(root, "requires_categorical");
    fx->requires_categorical = v && v->type == TM_JSON_BOOL && v->boolean;
    v = tm_json_get(root, "prediction_type");
    snprintf(fx->prediction_type, sizeof fx->prediction_type, "%s", v && v->str ? v->str : "");
    return true;
}

static tm_csv *read_csv(const char *dir, const char *name)
{
    char path[1600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        return NULL;
    }
    fclose(fp);
    tm_csv *csv = NULL;
    tm_err err;
    tm_err_init(&err);
    tm_status st = tm_csv_load(path, &csv, &err);
    ck_assert_msg(st == TM_OK, "%s: %s", path, err.reason);
    return csv;
}

/* The model's input matrix: columns by name when possible, else position. */
static double *bind_input(const tm_forest *f, const tm_csv *in)
{
    size_t nf = (size_t)tm_forest_n_features(f);
    long *col = calloc(nf + 1, sizeof *col);
    bool by_name = nf > 0 && tm_forest_feature_name(f, 0);
    for (size_t j = 0; by_name && j < nf; j++) {
        col[j] = tm_csv_col(in, tm_forest_feature_name(f, (int)j));
        by_name = col[j] >= 0;
    }
    if (!by_name) {
        ck_assert_uint_ge(in->n_cols, nf);
        for (size_t j = 0; j < nf; j++) {
            col[j] = (long)j;
        }
    }
    double *X = malloc((in->n_rows * nf + 1) * sizeof *X);
    for (size_t r = 0; r < in->n_rows; r++) {
        for (size_t j = 0; j < nf; j++) {
            X[r * nf + j] = in->values[r * in->n_cols + (size_t)col[j]];
        }
    }
    free(col);
    return X;
}

static bool close_enough(double got, double want, double tol)
{
    if (isnan(want) || isnan(got)) {
        return isnan(want) && isnan(got);
    }
    if (isinf(want) || isinf(got)) {
        return got == want;
    }
    return fabs(got - want) <= tol * fmax(1.0, fabs(want));
}

/* Compares n_rows x width values with an expected table; returns the
 * number of mismatches and prints the first few. */
static int compare(const char *what, const double *got, size_t n_rows, size_t width,
                   const tm_csv *want, double tol)
{
    int bad = 0;
    ck_assert_msg(want->n_rows == n_rows && want->n_cols == width,
                  "%s: expected %zux%zu values, got %zux%zu", what, want->n_rows, want->n_cols,
                  n_rows, width);
    for (size_t r = 0; r < n_rows; r++) {
        for (size_t k = 0; k < width; k++) {
            double g = got[r * width + k], w = want->values[r * width + k];
            if (!close_enough(g, w, tol)) {
                if (bad < 5) {
                    fprintf(stderr, "%s: row %zu col %zu: got %.17g expected %.17g\n", what, r, k,
                            g, w);
                }
                bad++;
            }
        }
    }
    return bad;
}

static tm_forest_output expected_kind(const fixture *fx)
{
    if (strcmp(fx->family, "catboost") == 0) {
        if (strcmp(fx->prediction_type, "Probability") == 0) {
            return TM_FOREST_OUT_PROBABILITY;
        }
        if (strcmp(fx->prediction_type, "Class") == 0) {
            return TM_FOREST_OUT_CLASS;
        }
        if (strcmp(fx->prediction_type, "Exponent") == 0) {
            return TM_FOREST_OUT_EXPONENT;
        }
        return TM_FOREST_OUT_MARGIN;
    }
    return TM_FOREST_OUT_DEFAULT;
}

static const char *kind_flag(tm_forest_output kind)
{
    switch (kind) {
    case TM_FOREST_OUT_PROBABILITY:
        return "--output-type probability";
    case TM_FOREST_OUT_CLASS:
        return "--output-type class";
    case TM_FOREST_OUT_EXPONENT:
        return "--output-type exponent";
    case TM_FOREST_OUT_MARGIN:
        return "--margin";
    default:
        return "";
    }
}

/* Runs the CLI on one model and compares its output file. */
static int check_cli(const fixture *fx, const char *model, tm_forest_output kind,
                     const char *expected, size_t n_rows, size_t width)
{
    char out[1200], what[2000];
    snprintf(out, sizeof out, "%s/cli_out.csv", tm_test_tmpdir());
    remove(out);
    int rc = tm_test_system("%s predict --model '%s/%s' --input '%s/input.csv' --output '%s' %s "
                            "--threads 2",
                            tm_test_bin(), fx->dir, model, fx->dir, out, kind_flag(kind));
    ck_assert_msg(rc == 0, "%s/%s: turbomode predict exited %d", fx->dir, model, rc);
    tm_csv *got = NULL;
    tm_err err;
    tm_err_init(&err);
    ck_assert_msg(tm_csv_load(out, &got, &err) == TM_OK, "%s: %s", out, err.reason);
    tm_csv *want = read_csv(fx->dir, expected);
    snprintf(what, sizeof what, "cli %s/%s vs %s", fx->dir, model, expected);
    ck_assert_uint_eq(got->n_cols, width);
    int bad = compare(what, got->values, n_rows, width, want, fx->tol);
    tm_csv_free(got);
    tm_csv_free(want);
    return bad;
}

/* One model file against one expected table, through all three paths. */
static int check_model(const fixture *fx, const char *model, const char *expected,
                       const char *expected_margin)
{
    char path[1600], what[2000];
    snprintf(path, sizeof path, "%s/%s", fx->dir, model);
    tm_forest *f = NULL;
    tm_err err;
    tm_err_init(&err);
    tm_status st = tm_forest_load(path, NULL, &f, &err);
    if (fx->requires_categorical) {
        ck_assert_msg(st == TM_E_FORMAT, "%s: categorical model must be rejected", path);
        ck_assert_msg(strstr(err.reason, "categ") != NULL, "%s: reason names categorical: %s", path,
                      err.reason);
        return 0;
    }
    ck_assert_msg(st == TM_OK, "%s: %s (line %ld field %s)", path, err.reason, err.line, err.field);
    tm_csv *in = read_csv(fx->dir, "input.csv");
    double *X = bind_input(f, in);
    size_t nf = (size_t)tm_forest_n_features(f), n = in->n_rows;
    int bad = 0;
    struct {
        const char *file;
        tm_forest_output kind;
    } outs[2] = {{expected, expected_kind(fx)}, {expected_margin, TM_FOREST_OUT_MARGIN}};
    for (int i = 0; i < 2; i++) {
        tm_csv *want = outs[i].file ? read_csv(fx->dir, outs[i].file) : NULL;
        if (!want) {
            continue;
        }
        size_t w = tm_forest_output_len(f, outs[i].kind);
        double *fast = malloc((n * w + 1) * sizeof *fast);
        double *ref = malloc((n * w + 1) * sizeof *ref);
        ck_assert_int_eq(tm_forest_predict(f, X, n, nf, outs[i].kind, 2, fast, &err), TM_OK);
        ck_assert_int_eq(tm_forest_predict_reference(f, X, n, nf, outs[i].kind, ref, &err), TM_OK);
        snprintf(what, sizeof what, "fast %s vs %s", path, outs[i].file);
        bad += compare(what, fast, n, w, want, fx->tol);
        snprintf(what, sizeof what, "reference %s vs %s", path, outs[i].file);
        bad += compare(what, ref, n, w, want, fx->tol);
        /* The fast paths must agree with the oracle bit for bit. */
        ck_assert_msg(memcmp(fast, ref, n * w * sizeof *fast) == 0,
                      "%s: fast and reference predictors differ", path);
        /* ... with every bitvector kernel this CPU runs, each with the
         * layouts it chooses (plain and AVX2 keep complete trees of more
         * than 32 leaves in the heap layout, AVX-512 does not) */
        for (int k = TM__QS_PLAIN; k <= (int)tm__forest_qs_cpu_kernel(); k++) {
            ck_assert_int_eq(tm__forest_compile_kernel(f, (tm__qs_kernel)k, &err), TM_OK);
            ck_assert_int_eq(tm_forest_predict(f, X, n, nf, outs[i].kind, 2, fast, &err), TM_OK);
            ck_assert_msg(memcmp(fast, ref, n * w * sizeof *fast) == 0,
                          "%s: kernel %d and the reference predictor differ", path, k);
        }
        ck_assert_int_eq(tm__forest_compile(f, &err), TM_OK);
        bad += check_cli(fx, model, outs[i].kind, outs[i].file, n, w);
        free(fast);
        free(ref);
        tm_csv_free(want);
    }
    free(X);
    tm_csv_free(in);
    tm_forest_free(f);
    return bad;
}

static bool has_file(const char *dir, const char *name)
{
    char path[1600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "r");
    if (fp) {
        fclose(fp);
    }
    return fp != NULL;
}

/* Walks every case of a family; returns the number of cases checked. */
static int walk_family(const char *family, int *n_bad)
{
    char root[1024];
    snprintf(root, sizeof root, "%s/fixtures/%s", tm_test_shared_dir(), family);
    DIR *d = opendir(root);
    ck_assert_msg(d != NULL, "cannot open %s", root);
    int n_cases = 0;
    struct dirent *e;
    static const char *models[] = {"model.json", "model.ubj", "model.txt", "model.cbm.json"};
    while ((e = readdir(d)) != NULL) {
        fixture fx = {0};
        snprintf(fx.dir, sizeof fx.dir, "%s/%s", root, e->d_name);
        if (e->d_name[0] == '.' || !has_file(fx.dir, "meta.json") || !load_meta(&fx)) {
            continue;
        }
        for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
            if (has_file(fx.dir, models[i])) {
                *n_bad += check_model(
                        &fx, models[i], "expected.csv",
                        has_file(fx.dir, "expected_margin.csv") ? "expected_margin.csv" : NULL);
            }
        }
        if (has_file(fx.dir, "model_all_iterations.txt")) {
            *n_bad += check_model(&fx, "model_all_iterations.txt", "expected_all_iterations.csv",
                                  "expected_all_iterations_margin.csv");
        }
        tm_json_doc_free(fx.meta);
        n_cases++;
    }
    closedir(d);
    return n_cases;
}

static void run_family(const char *family)
{
    char rel[64];
    snprintf(rel, sizeof rel, "fixtures/%s", family);
    if (!tm_test_shared_has(rel, "differential fixture test")) {
        return;
    }
    int n_bad = 0;
    int n = walk_family(family, &n_bad);
    fprintf(stderr, "fixtures/%s: %d cases, %d mismatching values\n", family, n, n_bad);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(n_bad, 0);
}

START_TEST(fixtures_xgboost_match_real_library)
{
    run_family("xgboost");
}
END_TEST

START_TEST(fixtures_lightgbm_match_real_library)
{
    run_family("lightgbm");
}
END_TEST

START_TEST(fixtures_catboost_match_real_library)
{
    run_family("catboost");
}
END_TEST

TM_TEST_SUITE(forest_fixtures)
{
    Suite *s = suite_create("forest_fixtures");
    TCase *tc = tcase_create("fixtures");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, fixtures_xgboost_match_real_library);
    tcase_add_test(tc, fixtures_lightgbm_match_real_library);
    tcase_add_test(tc, fixtures_catboost_match_real_library);
    suite_add_tcase(s, tc);
    return s;
}
