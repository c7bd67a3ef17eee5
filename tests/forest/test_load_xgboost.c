/* The XGBoost loaders (load_xgboost.c, load_xgboost_dump.c): every fixture
 * case's model.json and model.ubj reproduce expected_margin.csv bit for bit
 * (XGBoost sums in float32, so the printed %.17g margins are exact); the
 * dumps load for every case and match the full model where the dump keeps
 * what prediction needs; hand-written models pin the edge semantics; bad
 * files get exact one-line errors; allocation failures are clean. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbomode/forest.h>

#include "forest/forest_int.h"
#include "tm_test.h"

/* ---- helpers ------------------------------------------------------------ */

static tm_forest *load_mem_ok(const char *text, const tm_forest_load_opts *opts)
{
    tm_forest *f = NULL;
    tm_err err;
    tm_err_init(&err);
    tm_status st = tm_forest_load_mem(text, strlen(text), "mem.json", opts, &f, &err);
    ck_assert_msg(st == TM_OK, "load failed: %s (line %ld, field '%s')", err.reason, err.line,
                  err.field);
    ck_assert_ptr_nonnull(f);
    return f;
}

/* Loads text expecting failure st; returns the formatted one-line message. */
static const char *load_mem_fail(const char *text, const tm_forest_load_opts *opts, tm_status want)
{
    static char msg[1024];
    tm_forest *f = (tm_forest *)&msg; /* must be reset to NULL */
    tm_err err;
    tm_err_init(&err);
    tm_status st = tm_forest_load_mem(text, strlen(text), "bad.json", opts, &f, &err);
    ck_assert_msg(st == want, "expected status %s, got %s (%s)", tm_status_name(want),
                  tm_status_name(st), err.reason);
    ck_assert_ptr_null(f);
    return tm_err_format(&err, msg, sizeof msg);
}

/* Margins of rows X (n x nf) through both predictors, which must agree. */
static void margins(const tm_forest *f, const double *X, size_t n, size_t nf, double *m)
{
    size_t w = tm_forest_output_len(f, TM_FOREST_OUT_MARGIN);
    double *ref = malloc((n * w + 1) * sizeof *ref);
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_forest_predict(f, X, n, nf, TM_FOREST_OUT_MARGIN, 1, m, &err), TM_OK);
    ck_assert_int_eq(tm_forest_predict_reference(f, X, n, nf, TM_FOREST_OUT_MARGIN, ref, &err),
                     TM_OK);
    ck_assert_msg(memcmp(m, ref, n * w * sizeof *m) == 0, "fast and reference margins differ");
    free(ref);
}

/* One output of a one-row prediction. */
static double predict1(const tm_forest *f, const double *x, tm_forest_output kind, size_t k)
{
    double out[16];
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_le(tm_forest_output_len(f, kind), 16);
    ck_assert_int_eq(
            tm_forest_predict_reference(f, x, 1, (size_t)tm_forest_n_features(f), kind, out, &err),
            TM_OK);
    return out[k];
}

/* ---- fixtures ------------------------------------------------------------ */

typedef struct xcase {
    char dir[1024];
    const char *name;
    tm_csv *input, *margin;
    char objective[64];
    char base_score[64];
    int num_class;
    int n_parallel;      /* num_parallel_tree */
    bool dart;           /* dart booster: weight_drop per tree */
    bool lossy_features; /* 'int' or 'i' features: dumps round thresholds */
} xcase;

static tm_csv *case_csv(const xcase *c, const char *file)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", c->dir, file);
    tm_csv *csv = NULL;
    tm_err err;
    tm_err_init(&err);
    ck_assert_msg(tm_csv_load(path, &csv, &err) == TM_OK, "%s: %s", path, err.reason);
    return csv;
}

/* Objective, base_score and num_class, read from model.json with the core
 * JSON reader: what a dump user passes as options. */
static void case_params(xcase *c)
{
    char path[1200];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/model.json", c->dir);
    char *text = tm_test_slurp(path, &len);
    ck_assert_ptr_nonnull(text);
    tm_json_doc *doc = NULL;
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_json_parse(text, len, path, &doc, &err), TM_OK);
    const tm_json *learner = tm_json_get(tm_json_root(doc), "learner");
    const tm_json *lmp = tm_json_get(learner, "learner_model_param");
    snprintf(c->objective, sizeof c->objective, "%s",
             tm_json_get(tm_json_get(learner, "objective"), "name")->str);
    snprintf(c->base_score, sizeof c->base_score, "%s", tm_json_get(lmp, "base_score")->str);
    c->num_class = atoi(tm_json_get(lmp, "num_class")->str);
    const tm_json *gb = tm_json_get(learner, "gradient_booster");
    c->dart = strcmp(tm_json_get(gb, "name")->str, "dart") == 0;
    const tm_json *model = tm_json_get(c->dart ? tm_json_get(gb, "gbtree") : gb, "model");
    c->n_parallel =
            atoi(tm_json_get(tm_json_get(model, "gbtree_model_param"), "num_parallel_tree")->str);
    const tm_json *types = tm_json_get(learner, "feature_types");
    for (size_t i = 0; types && i < types->len; i++) {
        const char *ty = tm_json_at(types, i)->str;
        c->lossy_features |= strcmp(ty, "int") == 0 || strcmp(ty, "i") == 0;
    }
    tm_json_doc_free(doc);
    free(text);
}

/* Input matrix in the model's feature order (by name when it has names). */
static double *case_X(const xcase *c, const tm_forest *f)
{
    size_t nf = (size_t)tm_forest_n_features(f), n = c->input->n_rows;
    double *X = malloc((n * nf + 1) * sizeof *X);
    for (size_t j = 0; j < nf; j++) {
        const char *name = tm_forest_feature_name(f, (int)j);
        long col = name ? tm_csv_col(c->input, name) : (long)j;
        ck_assert_msg(col >= 0 && (size_t)col < c->input->n_cols, "%s: no column for feature %zu",
                      c->name, j);
        for (size_t r = 0; r < n; r++) {
            X[r * nf + j] = c->input->values[r * c->input->n_cols + (size_t)col];
        }
    }
    return X;
}

/* Margins of f on the case's input vs expected_margin.csv. Returns the
 * number of rows that differ at all; *max_diff gets the largest gap. */
static size_t case_margin_diff(const xcase *c, const tm_forest *f, double *max_diff)
{
    size_t n = c->input->n_rows, w = c->margin->n_cols;
    ck_assert_uint_eq(tm_forest_output_len(f, TM_FOREST_OUT_MARGIN), w);
    double *X = case_X(c, f), *m = malloc((n * w + 1) * sizeof *m);
    margins(f, X, n, (size_t)tm_forest_n_features(f), m);
    size_t bad_rows = 0;
    *max_diff = 0.0;
    for (size_t r = 0; r < n; r++) {
        bool bad = false;
        for (size_t k = 0; k < w; k++) {
            double d = fabs(m[r * w + k] - c->margin->values[r * w + k]);
            *max_diff = d > *max_diff ? d : *max_diff;
            bad |= m[r * w + k] != c->margin->values[r * w + k];
        }
        bad_rows += bad;
    }
    free(X);
    free(m);
    return bad_rows;
}

static tm_forest *case_load(const xcase *c, const char *file, const tm_forest_load_opts *opts)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", c->dir, file);
    tm_forest *f = NULL;
    tm_err err;
    tm_err_init(&err);
    tm_status st = tm_forest_load(path, opts, &f, &err);
    ck_assert_msg(st == TM_OK, "%s: %s (line %ld, field '%s')", path, err.reason, err.line,
                  err.field);
    return f;
}

typedef void (*case_fn)(xcase *c);

/* Runs fn on every case under fixtures/xgboost; returns the case count. */
static int each_case(case_fn fn)
{
    if (!tm_test_shared_has("fixtures/xgboost", "xgboost loader fixtures")) {
        return -1;
    }
    char root[512];
    snprintf(root, sizeof root, "%s/fixtures/xgboost", tm_test_shared_dir());
    DIR *dir = opendir(root);
    ck_assert_ptr_nonnull(dir);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(dir)) != NULL) {
        xcase c = {.name = e->d_name};
        snprintf(c.dir, sizeof c.dir, "%s/%s", root, e->d_name);
        char probe[1200];
        snprintf(probe, sizeof probe, "%s/model.json", c.dir);
        FILE *fp = fopen(probe, "r");
        if (e->d_name[0] == '.' || !fp) {
            continue;
        }
        fclose(fp);
        c.input = case_csv(&c, "input.csv");
        c.margin = case_csv(&c, "expected_margin.csv");
        case_params(&c);
        fn(&c);
        tm_csv_free(c.input);
        tm_csv_free(c.margin);
        n++;
    }
    closedir(dir);
    return n;
}

/* ---- fixture tests ------------------------------------------------------ */

/* Same trees, same nodes, same numbers: the UBJSON and JSON files of one
 * model must give identical forests (formats/xgboost.md §2). */
static void assert_same_ir(const char *what, const tm_forest *a, const tm_forest *b)
{
    ck_assert_msg(a->n_trees == b->n_trees && a->n_nodes == b->n_nodes &&
                          a->n_leaves == b->n_leaves && a->n_outputs == b->n_outputs &&
                          a->n_cat_words == b->n_cat_words && a->n_features == b->n_features,
                  "%s: forests differ in size", what);
    ck_assert_msg(memcmp(a->base_score, b->base_score, (size_t)a->n_outputs * sizeof(double)) == 0,
                  "%s: base scores differ", what);
    for (int32_t t = 0; t < a->n_trees; t++) {
        ck_assert_msg(a->tree_output[t] == b->tree_output[t] &&
                              a->tree_weight[t] == b->tree_weight[t] &&
                              a->tree_n_nodes[t] == b->tree_n_nodes[t],
                      "%s: tree %d differs", what, t);
    }
    for (int32_t i = 0; i < a->n_nodes; i++) {
        ck_assert_msg(a->flags[i] == b->flags[i] && a->left[i] == b->left[i] &&
                              a->right[i] == b->right[i] && a->feature[i] == b->feature[i] &&
                              memcmp(&a->threshold_f[i], &b->threshold_f[i], sizeof(float)) == 0,
                      "%s: node %d differs", what, i);
    }
    ck_assert(memcmp(a->leaf_values, b->leaf_values, (size_t)a->n_leaves * sizeof(double)) == 0);
    ck_assert(a->n_cat_words == 0 ||
              memcmp(a->cat_bits, b->cat_bits, (size_t)a->n_cat_words * sizeof(uint32_t)) == 0);
}

static void check_full_model(xcase *c)
{
    tm_forest *fj = case_load(c, "model.json", NULL);
    tm_forest *fu = case_load(c, "model.ubj", NULL);
    ck_assert_int_eq(fj->format, TM_FOREST_FORMAT_XGBOOST_JSON);
    ck_assert_int_eq(fu->format, TM_FOREST_FORMAT_XGBOOST_UBJSON);
    ck_assert_str_eq(fj->objective, c->objective);
    ck_assert_int_eq(fj->n_outputs, c->num_class > 1 ? c->num_class : 1);
    assert_same_ir(c->name, fj, fu);
    double dj, du;
    size_t bj = case_margin_diff(c, fj, &dj), bu = case_margin_diff(c, fu, &du);
    fprintf(stderr, "xgboost %-36s json: %zu/%zu rows differ (max %.3g), ubj: %zu (max %.3g)\n",
            c->name, bj, c->input->n_rows, dj, bu, du);
    ck_assert_msg(bj == 0 && bu == 0, "%s: margins are not bit-exact", c->name);

    /* The default output (probabilities, values or class ids) too. */
    tm_csv *want = case_csv(c, "expected.csv");
    size_t n = c->input->n_rows, w = tm_forest_output_len(fj, TM_FOREST_OUT_DEFAULT);
    ck_assert_uint_eq(want->n_cols, w);
    double *X = case_X(c, fj), *out = malloc((n * w + 1) * sizeof *out);
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_forest_predict_reference(fj, X, n, (size_t)fj->n_features,
                                                 TM_FOREST_OUT_DEFAULT, out, &err),
                     TM_OK);
    for (size_t i = 0; i < n * w; i++) {
        ck_assert_msg(fabs(out[i] - want->values[i]) <= 1e-6 * fmax(1.0, fabs(want->values[i])),
                      "%s: value %zu: got %.17g expected %.17g", c->name, i, out[i],
                      want->values[i]);
    }
    free(X);
    free(out);
    tm_csv_free(want);
    tm_forest_free(fj);
    tm_forest_free(fu);
}

START_TEST(xgb_fixtures_model_json_and_ubj_bit_exact)
{
    int n = each_case(check_full_model);
    ck_assert_int_ne(n, 0);
}
END_TEST

/* A dump-loaded forest against the full model: the same trees node for
 * node except what the dump printer drops (formats/xgboost.md §5): dart
 * weights, the tree -> output grouping when num_parallel_tree > 1, and
 * thresholds on 'int' (printed rounded up) and 'i' (not printed)
 * features. Returns the number of thresholds that differ. */
static int compare_dump_ir(const xcase *c, const tm_forest *dump, const tm_forest *full)
{
    ck_assert_int_eq(dump->n_trees, full->n_trees);
    ck_assert_int_eq(dump->n_nodes, full->n_nodes); /* no deleted nodes in the fixtures */
    ck_assert_int_eq(dump->n_leaves, full->n_leaves);
    ck_assert_int_eq(dump->n_outputs, full->n_outputs);
    ck_assert_int_eq(dump->n_classes, full->n_classes);
    ck_assert_int_eq(dump->link, full->link);
    ck_assert_int_eq(dump->default_output, full->default_output);
    ck_assert(memcmp(dump->base_score, full->base_score, (size_t)full->n_outputs * 8) == 0);
    ck_assert(memcmp(dump->leaf_values, full->leaf_values, (size_t)full->n_leaves * 8) == 0);
    ck_assert(full->n_cat_words == 0 ||
              memcmp(dump->cat_bits, full->cat_bits, (size_t)full->n_cat_words * 4) == 0);
    for (int32_t t = 0; t < full->n_trees; t++) {
        ck_assert(c->n_parallel > 1 || dump->tree_output[t] == full->tree_output[t]);
        ck_assert(dump->tree_weight[t] == 1.0);
    }
    int n_thresholds = 0;
    for (int32_t i = 0; i < full->n_nodes; i++) {
        ck_assert_msg(dump->flags[i] == full->flags[i] && dump->left[i] == full->left[i] &&
                              dump->right[i] == full->right[i],
                      "%s: node %d differs", c->name, i);
        if (full->flags[i] & TM__NODE_LEAF) {
            continue;
        }
        const char *dn = tm_forest_feature_name(dump, dump->feature[i]);
        const char *fn = tm_forest_feature_name(full, full->feature[i]);
        ck_assert_msg(dn ? fn && strcmp(dn, fn) == 0 : dump->feature[i] == full->feature[i],
                      "%s: node %d splits on another feature", c->name, i);
        if (!(full->flags[i] & TM__NODE_CATEGORICAL) &&
            dump->threshold_f[i] != full->threshold_f[i]) { /* -0 prints as 0 */
            n_thresholds++;
        }
    }
    return n_thresholds;
}

static void check_dumps(xcase *c)
{
    tm_forest_load_opts opts;
    tm_forest_load_opts_init(&opts);
    opts.objective = c->objective;
    opts.has_base_score = true;
    ck_assert(tm_parse_double(c->base_score, strlen(c->base_score), &opts.base_score));
    opts.num_class = c->num_class;
    tm_forest *full = case_load(c, "model.json", NULL);
    tm_forest *fj = case_load(c, "model.dump.json", &opts);
    tm_forest *ft = case_load(c, "model.dump.txt", &opts);
    ck_assert_int_eq(fj->format, TM_FOREST_FORMAT_XGBOOST_DUMP_JSON);
    ck_assert_int_eq(ft->format, TM_FOREST_FORMAT_XGBOOST_DUMP_TEXT);
    assert_same_ir(c->name, fj, ft);
    int n_thr = compare_dump_ir(c, fj, full);
    /* 9 printed digits round-trip float32, so thresholds and leaves are
     * exact; only 'int'/'i' feature thresholds may differ. */
    ck_assert_msg(n_thr == 0 || c->lossy_features, "%s: %d thresholds differ", c->name, n_thr);
    double dj, dt;
    size_t bj = case_margin_diff(c, fj, &dj), bt = case_margin_diff(c, ft, &dt);
    bool lossless = !c->dart && (c->n_parallel == 1 || c->num_class <= 1) && n_thr == 0;
    fprintf(stderr,
            "xgboost %-36s dumps: %zu/%zu rows differ (max %.3g) json, %zu txt; %d thresholds "
            "lost%s\n",
            c->name, bj, c->input->n_rows, dj, bt, n_thr,
            lossless     ? ""
            : c->dart    ? " (dart weights lost)"
            : n_thr == 0 ? " (parallel-tree grouping lost)"
                         : " (int/indicator thresholds lost)");
    if (lossless) {
        ck_assert_msg(bj == 0 && bt == 0, "%s: lossless dump margins differ", c->name);
    }
    tm_forest_free(full);
    tm_forest_free(fj);
    tm_forest_free(ft);
}

START_TEST(xgb_fixtures_dumps_load_and_match)
{
    int n = each_case(check_dumps);
    ck_assert_int_ne(n, 0);
}
END_TEST

/* ---- hand-written models: edge semantics -------------------------------- */

/* Tree 0: x0 < 0.1f (NaN left) ? -1.5 : 2.5. Tree 1: categorical on x1,
 * set {0, 3, 40}: in the set goes right (0.75), otherwise left (0.25);
 * NaN goes right (default_left 0). */
#define TREE_NUM                                                                                   \
    "{\"left_children\":[1,-1,-1],\"right_children\":[2,-1,-1],"                                   \
    "\"split_indices\":[0,0,0],\"split_conditions\":[1E-1,-1.5E0,2.5E0],"                          \
    "\"default_left\":[1,0,0],\"split_type\":[0,0,0],\"categories\":[],"                           \
    "\"categories_nodes\":[],\"categories_segments\":[],\"categories_sizes\":[],"                  \
    "\"tree_param\":{\"num_nodes\":\"3\",\"size_leaf_vector\":\"0\"},\"id\":0}"
#define TREE_CAT                                                                                   \
    "{\"left_children\":[1,-1,-1],\"right_children\":[2,-1,-1],"                                   \
    "\"split_indices\":[1,0,0],\"split_conditions\":[NaN,2.5E-1,7.5E-1],"                          \
    "\"default_left\":[0,0,0],\"split_type\":[1,0,0],\"categories\":[0,3,40],"                     \
    "\"categories_nodes\":[0],\"categories_segments\":[0],\"categories_sizes\":[3],"               \
    "\"tree_param\":{\"num_nodes\":\"3\",\"size_leaf_vector\":\"0\"},\"id\":1}"

/* A complete 1.7-style model.json around trees and tree_info. */
static const char *model_text(const char *objective, const char *base_score, int num_class,
                              const char *booster, const char *trees, const char *tree_info)
{
    static char buf[8192];
    snprintf(buf, sizeof buf,
             "{\"learner\":{\"attributes\":{},\"feature_names\":[],\"feature_types\":[],"
             "\"gradient_booster\":%s%s%s,"
             "\"learner_model_param\":{\"base_score\":\"%s\",\"boost_from_average\":\"1\","
             "\"num_class\":\"%d\",\"num_feature\":\"2\",\"num_target\":\"1\"},"
             "\"objective\":{\"name\":\"%s\"}},\"version\":[1,7,4]}",
             booster ? booster : "{\"name\":\"gbtree\",\"model\":", "", "", base_score, num_class,
             objective);
    /* The booster object: model with trees, unless the caller gave one. */
    if (!booster) {
        static char full[8192];
        char *at = strstr(buf, "\"model\":,");
        ck_assert_ptr_nonnull(at);
        snprintf(full, sizeof full,
                 "%.*s\"model\":{\"gbtree_model_param\":{\"num_parallel_tree\":\"1\","
                 "\"num_trees\":\"2\"},\"trees\":[%s],\"tree_info\":[%s]}},%s",
                 (int)(at - buf), buf, trees, tree_info, at + strlen("\"model\":,"));
        return full;
    }
    return buf;
}

static const char *simple_model(const char *objective, const char *base_score, int num_class)
{
    return model_text(objective, base_score, num_class, NULL, TREE_NUM "," TREE_CAT, "0,0");
}

START_TEST(xgb_float32_compare_and_nan)
{
    tm_forest *f = load_mem_ok(simple_model("reg:squarederror", "5E-1", 0), NULL);
    float t = 0.1f;
    double below = (double)nextafterf(t, 0.0f);
    struct {
        double x0, want0; /* tree 0 leaf */
    } rows[] = {
            {(double)t, 2.5},   /* equal goes right */
            {below, -1.5},      /* one float32 ulp below: left */
            {0.1, 2.5},         /* the double 0.1 rounds to 0.1f: right */
            {0.1 - 1e-10, 2.5}, /* below in double, equal in float32: right */
            {NAN, -1.5},        /* default_left */
            {INFINITY, 2.5},    /* +inf right */
            {-INFINITY, -1.5},  /* -inf left */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        double x[2] = {rows[i].x0, 3.0}; /* 3 is in the set: 0.75 */
        double want = (double)(0.5f + (float)rows[i].want0 + 0.75f);
        ck_assert_double_eq(predict1(f, x, TM_FOREST_OUT_MARGIN, 0), want);
    }
    ck_assert_int_eq(f->cmp, TM__CMP_LT_F32);
    ck_assert(f->sum_f32);
    ck_assert_int_eq(tm_forest_default_output(f), TM_FOREST_OUT_VALUE);
    tm_forest_free(f);
}
END_TEST

START_TEST(xgb_categorical_in_set_goes_right)
{
    tm_forest *f = load_mem_ok(simple_model("reg:squarederror", "5E-1", 0), NULL);
    ck_assert(f->has_categorical);
    struct {
        double x1, leaf;
    } rows[] = {
            {0, 0.75},    {3, 0.75},          {40, 0.75},        /* in the set */
            {0.7, 0.75},  {3.9, 0.75},                           /* truncated to 0, 3 */
            {1, 0.25},    {2, 0.25},          {41, 0.25},        /* not in the set */
            {-0.5, 0.25},                                        /* negative: left, not 0 */
            {-1, 0.25},   {16777216.0, 0.25}, {1e9, 0.25},       /* out of range: left */
            {1e6, 0.25},  {INFINITY, 0.25},   {-INFINITY, 0.25}, /* past the bitset */
            {NAN, 0.75},                                         /* default_left 0: right */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        double x[2] = {1.0, rows[i].x1}; /* tree 0: 1 >= 0.1: 2.5 */
        double want = (double)(0.5f + 2.5f + (float)rows[i].leaf);
        ck_assert_msg(predict1(f, x, TM_FOREST_OUT_MARGIN, 0) == want, "x1 = %g", rows[i].x1);
    }
    tm_forest_free(f);
}
END_TEST

/* Base margins per objective (formats/xgboost.md §4), links and default
 * outputs. Expected margins are XGBoost's ProbToMargin rules in float32. */
START_TEST(xgb_objectives_base_margin_and_link)
{
    struct {
        const char *objective, *base;
        int num_class;
        double margin; /* base_score[0] */
        tm__link link;
        tm_forest_output out;
        int n_classes;
    } cases[] = {
            {"binary:logistic", "3E-1", 0, (double)(float)-log((double)(1.0f / 0.3f - 1.0f)),
             TM__LINK_SIGMOID, TM_FOREST_OUT_PROBABILITY, 2},
            {"reg:logistic", "7E-1", 0, (double)(float)-log((double)(1.0f / 0.7f - 1.0f)),
             TM__LINK_SIGMOID, TM_FOREST_OUT_PROBABILITY, 0},
            {"binary:logitraw", "3E-1", 0, (double)0.3f, TM__LINK_SIGMOID, TM_FOREST_OUT_MARGIN, 2},
            {"binary:hinge", "5E-1", 0, 0.5, TM__LINK_SIGMOID, TM_FOREST_OUT_CLASS, 2},
            {"count:poisson", "5E-1", 0, (double)(float)log(0.5), TM__LINK_EXP,
             TM_FOREST_OUT_EXPONENT, 0},
            {"reg:gamma", "2E0", 0, (double)(float)log(2.0), TM__LINK_EXP, TM_FOREST_OUT_EXPONENT,
             0},
            {"reg:tweedie", "1.5E0", 0, (double)(float)log(1.5), TM__LINK_EXP,
             TM_FOREST_OUT_EXPONENT, 0},
            {"survival:cox", "1E0", 0, 0.0, TM__LINK_EXP, TM_FOREST_OUT_EXPONENT, 0},
            {"reg:squarederror", "1.25E1", 0, 12.5, TM__LINK_IDENTITY, TM_FOREST_OUT_VALUE, 0},
            {"reg:absoluteerror", "-3E0", 0, -3.0, TM__LINK_IDENTITY, TM_FOREST_OUT_VALUE, 0},
            {"reg:pseudohubererror", "[5E-1]", 0, 0.5, TM__LINK_IDENTITY, TM_FOREST_OUT_VALUE, 0},
            {"rank:pairwise", "5E-1", 0, 0.5, TM__LINK_IDENTITY, TM_FOREST_OUT_VALUE, 0},
            {"multi:softprob", "5E-1", 3, 0.5, TM__LINK_SOFTMAX, TM_FOREST_OUT_PROBABILITY, 3},
            {"multi:softmax", "[1E-1,2E-1,3E-1]", 3, (double)0.1f, TM__LINK_SOFTMAX,
             TM_FOREST_OUT_CLASS, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tm_forest *f = load_mem_ok(
                simple_model(cases[i].objective, cases[i].base, cases[i].num_class), NULL);
        ck_assert_msg(f->base_score[0] == cases[i].margin, "%s: base margin %.17g, want %.17g",
                      cases[i].objective, f->base_score[0], cases[i].margin);
        ck_assert_int_eq(f->link, cases[i].link);
        ck_assert_int_eq(tm_forest_default_output(f), cases[i].out);
        ck_assert_int_eq(f->n_classes, cases[i].n_classes);
        ck_assert_str_eq(f->objective, cases[i].objective);
        tm_forest_free(f);
    }
    /* A vector base_score gives one margin per class (XGBoost 2.1+). */
    tm_forest *f = load_mem_ok(simple_model("multi:softmax", "[1E-1,2E-1,3E-1]", 3), NULL);
    ck_assert_double_eq(f->base_score[2], (double)0.3f);
    double x[2] = {0.0, 1.0}; /* class 0 gets -1.5 + 0.25 */
    ck_assert_double_eq(predict1(f, x, TM_FOREST_OUT_CLASS, 0), 2.0);
    ck_assert_double_eq(predict1(f, x, TM_FOREST_OUT_DEFAULT, 0), 2.0);
    tm_forest_free(f);
    /* binary:hinge: class 1 exactly when the margin is positive. */
    f = load_mem_ok(simple_model("binary:hinge", "0E0", 0), NULL);
    double neg[2] = {0.0, 1.0}, pos[2] = {1.0, 1.0};
    ck_assert_double_eq(predict1(f, neg, TM_FOREST_OUT_DEFAULT, 0), 0.0);
    ck_assert_double_eq(predict1(f, pos, TM_FOREST_OUT_DEFAULT, 0), 1.0);
    tm_forest_free(f);
}
END_TEST

START_TEST(xgb_dart_weights_and_2x_layout)
{
    const char *dart = "{\"name\":\"dart\",\"gbtree\":{\"name\":\"gbtree\",\"model\":{"
                       "\"gbtree_model_param\":{\"num_parallel_tree\":\"1\"},"
                       "\"trees\":[" TREE_NUM "," TREE_CAT "],\"tree_info\":[0,0],"
                       "\"iteration_indptr\":[0,1,2]}},\"weight_drop\":[3E-1,1.5E0]}";
    tm_forest *f = load_mem_ok(model_text("reg:squarederror", "[5E-1]", 0, dart, "", ""), NULL);
    ck_assert_double_eq(f->tree_weight[0], (double)0.3f);
    ck_assert_double_eq(f->tree_weight[1], 1.5);
    double x[2] = {1.0, 3.0};
    /* float32(leaf * w) added in float32 (formats/xgboost.md §4). */
    float want = 0.5f + (float)(2.5 * (double)0.3f);
    want += 0.75f * 1.5f;
    ck_assert_double_eq(predict1(f, x, TM_FOREST_OUT_MARGIN, 0), (double)want);
    tm_forest_free(f);
}
END_TEST

/* ---- hand-written dumps -------------------------------------------------- */

/* Two trees, two classes: tree 0 splits on a then on indicator b (no
 * condition printed; no = default = the child printed first), tree 1 on
 * categorical b (yes = in the set = right). */
static const char dump_text[] = "booster[0]:\n"
                                "0:[a<1] yes=1,no=2,missing=2,gain=1,cover=2\n"
                                "\t1:leaf=0.25,cover=1\n"
                                "\t2:[b] yes=4,no=3,gain=1,cover=1\n"
                                "\t\t3:leaf=-0.5\n"
                                "\t\t4:leaf=0.5\n"
                                "booster[1]:\n"
                                "0:[b:{1,5}] yes=2,no=1,missing=2\n"
                                "\t1:leaf=1\n"
                                "\t2:leaf=2\n";
static const char dump_json[] =
        "[\"{ \\\"nodeid\\\": 0, \\\"split\\\": \\\"a\\\", \\\"split_condition\\\": 1, "
        "\\\"yes\\\": 1, \\\"no\\\": 2, \\\"missing\\\": 2, \\\"children\\\": [{ \\\"nodeid\\\": "
        "1, "
        "\\\"leaf\\\": 0.25 }, { \\\"nodeid\\\": 2, \\\"split\\\": \\\"b\\\", \\\"yes\\\": 4, "
        "\\\"no\\\": 3, \\\"children\\\": [{ \\\"nodeid\\\": 3, \\\"leaf\\\": -0.5 }, "
        "{ \\\"nodeid\\\": 4, \\\"leaf\\\": 0.5 }]}]}\",\n"
        "{ \"nodeid\": 0, \"split\": \"b\", \"split_condition\": [1, 5], \"yes\": 2, \"no\": 1, "
        "\"missing\": 2, \"children\": [{ \"nodeid\": 1, \"leaf\": 1 }, { \"nodeid\": 2, "
        "\"leaf\": 2 }]}]";

START_TEST(xgb_dumps_names_classes_and_indicators)
{
    tm_forest_load_opts opts;
    tm_forest_load_opts_init(&opts);
    opts.objective = "multi:softprob";
    opts.num_class = 2;
    /* Recognised by content, also as a list of per-tree JSON strings. */
    const char *strings = "[\"{\\\"nodeid\\\": 0, \\\"leaf\\\": 1}\"]";
    ck_assert_int_eq(tm_forest_detect(strings, strlen(strings)),
                     TM_FOREST_FORMAT_XGBOOST_DUMP_JSON);
    ck_assert_int_eq(tm_forest_detect(dump_json, strlen(dump_json)),
                     TM_FOREST_FORMAT_XGBOOST_DUMP_JSON);
    tm_forest_free(load_mem_ok(strings, NULL));
    const char *texts[] = {dump_text, dump_json};
    for (int k = 0; k < 2; k++) {
        tm_forest *f = load_mem_ok(texts[k], &opts);
        ck_assert_int_eq(f->format, k ? TM_FOREST_FORMAT_XGBOOST_DUMP_JSON
                                      : TM_FOREST_FORMAT_XGBOOST_DUMP_TEXT);
        ck_assert_int_eq(tm_forest_n_features(f), 2);
        ck_assert_str_eq(tm_forest_feature_name(f, 0), "a"); /* first appearance */
        ck_assert_str_eq(tm_forest_feature_name(f, 1), "b");
        ck_assert_int_eq(f->tree_output[1], 1); /* tree i -> class i % num_class */
        ck_assert_int_eq(f->n_classes, 2);
        struct {
            double a, b, m0, m1;
        } rows[] = {
                {0, 1, 0.75, 2.5},    /* a < 1; b = 1 in {1, 5} */
                {2, 0, 0.0, 1.5},     /* indicator b = 0: left (-0.5); 0 not in the set */
                {2, 1, 1.0, 2.5},     /* indicator b = 1: right (0.5) */
                {NAN, NAN, 0.0, 2.5}, /* missing: a -> 2, b -> 3 (no), set -> right */
                {0, 5.5, 0.75, 2.5},  /* 5.5 truncates to 5 */
        };
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
            double x[2] = {rows[r].a, rows[r].b};
            ck_assert_double_eq(predict1(f, x, TM_FOREST_OUT_MARGIN, 0), rows[r].m0);
            ck_assert_double_eq(predict1(f, x, TM_FOREST_OUT_MARGIN, 1), rows[r].m1);
        }
        tm_forest_free(f);
    }
}
END_TEST

START_TEST(xgb_dump_defaults_and_headerless_text)
{
    /* get_dump() strings written one after another: node 0 starts a tree. */
    const char *text = "0:[f2<0.5] yes=1,no=2,missing=1\n\t1:leaf=1\n\t2:leaf=2\n0:leaf=0.125\n";
    tm_forest_load_opts opts;
    tm_forest_load_opts_init(&opts);
    ck_assert_int_eq(tm_forest_detect(text, strlen(text)), TM_FOREST_FORMAT_XGBOOST_DUMP_TEXT);
    tm_forest *f = load_mem_ok(text, &opts);
    ck_assert_int_eq(f->n_trees, 2);
    ck_assert_int_eq(tm_forest_n_features(f), 3); /* f2: index 2, no names */
    ck_assert_ptr_null(tm_forest_feature_name(f, 0));
    ck_assert_str_eq(f->objective, "reg:squarederror"); /* XGBoost 1.x defaults */
    ck_assert_double_eq(f->base_score[0], 0.5);
    double x[3] = {9, 9, 0.25};
    ck_assert_double_eq(predict1(f, x, TM_FOREST_OUT_DEFAULT, 0), 1.625);
    tm_forest_free(f);
    /* Options: logistic base score in probability space. */
    opts.objective = "binary:logistic";
    opts.has_base_score = true;
    opts.base_score = 0.25;
    f = load_mem_ok(text, &opts);
    ck_assert_double_eq(f->base_score[0], (double)(float)-log((double)(1.0f / 0.25f - 1.0f)));
    ck_assert_int_eq(tm_forest_default_output(f), TM_FOREST_OUT_PROBABILITY);
    tm_forest_free(f);
}
END_TEST

START_TEST(xgb_dump_errors)
{
    /* 3 trees with num_class 2: tree 2 would feed class 0 of a third round
     * that has no class 1 tree (issue: 7 columns written for a 3-class dump) */
    tm_forest_load_opts k;
    tm_forest_load_opts_init(&k);
    k.format = TM_FOREST_FORMAT_XGBOOST_DUMP_TEXT;
    k.objective = "multi:softprob";
    k.num_class = 2;
    ck_assert_str_eq(load_mem_fail("booster[0]:\n0:leaf=1\nbooster[1]:\n0:leaf=2\n"
                                   "booster[2]:\n0:leaf=3\n",
                                   &k, TM_E_INVALID),
                     "bad.json: field 'num_class': 2 classes do not divide the dump's 3 trees (a "
                     "dump holds one tree per class per round)");
    k.num_class = 3; /* the right count loads */
    tm_forest_free(load_mem_ok("booster[0]:\n0:leaf=1\nbooster[1]:\n0:leaf=2\n"
                               "booster[2]:\n0:leaf=3\n",
                               &k));
    ck_assert_str_eq(
            load_mem_fail("booster[0]:\n0:[f0<abc] yes=1,no=2,missing=1\n", NULL, TM_E_PARSE),
            "bad.json:2: field 'split_condition': expected a number, found \"abc\"");
    ck_assert_str_eq(load_mem_fail("booster[0]:\n0:[f0<1] yes=1,no=3,missing=1\n\t1:leaf=1\n"
                                   "\t2:leaf=2\n",
                                   NULL, TM_E_PARSE),
                     "bad.json:2: field 'yes': tree 0 node 0: children yes=1 no=3 missing=1 do "
                     "not match its printed child nodes");
    ck_assert_str_eq(load_mem_fail("booster[0]:\nhello\n", NULL, TM_E_PARSE),
                     "bad.json:2: field 'nodeid': expected \"ID:\" or \"booster[N]:\", found "
                     "\"hello\"");
    ck_assert_str_eq(load_mem_fail("booster[0]:\n1:leaf=1\n", NULL, TM_E_PARSE),
                     "bad.json:2: field 'nodeid': tree 0: no root node 0 (first id 1)");
    ck_assert_str_eq(load_mem_fail("booster[0]:\n0:leaf=1\n1:leaf=2\n1:leaf=2\n", NULL, TM_E_PARSE),
                     "bad.json:4: field 'nodeid': tree 0: node id 1 appears twice");
    ck_assert_str_eq(load_mem_fail("booster[0]:\n0:leaf=x1\n", NULL, TM_E_PARSE),
                     "bad.json:2: field 'leaf': expected a number, found \"x1\"");
    ck_assert_str_eq(load_mem_fail("booster[0]:\n0:[f0:{1,-2}] yes=1,no=2\n", NULL, TM_E_PARSE),
                     "bad.json:2: field 'split_condition': category -2 outside 0..16777215");
    ck_assert_str_eq(load_mem_fail("booster[0]:\n", NULL, TM_E_PARSE),
                     "bad.json: tree 0 has no nodes");
    tm_forest_load_opts opts;
    tm_forest_load_opts_init(&opts);
    opts.num_class = -1;
    ck_assert_str_eq(load_mem_fail("booster[0]:\n0:leaf=1\n", &opts, TM_E_INVALID),
                     "bad.json: field 'num_class': expected 0..256, found -1");
    opts.num_class = 2;
    opts.objective = "binary:logistic";
    ck_assert_str_eq(load_mem_fail("booster[0]:\n0:leaf=1\n", &opts, TM_E_PARSE),
                     "bad.json: field 'num_class': binary:logistic expects one output, found 2");
    ck_assert_str_eq(
            load_mem_fail("[{\"nodeid\":0,\"split\":\"f0\",\"yes\":1,\"no\":2}]", NULL, TM_E_PARSE),
            "bad.json:1: field 'split': node 0: expected 'leaf', or 'split' with two "
            "'children'");
    ck_assert_str_eq(load_mem_fail("[{\"nodeid\":-1,\"leaf\":1}]", NULL, TM_E_PARSE),
                     "bad.json:1: field 'nodeid': expected a node id");
}
END_TEST

/* ---- bad input: one-line errors ----------------------------------------- */

START_TEST(xgb_errors_name_field_and_reason)
{
    tm_forest_load_opts json;
    tm_forest_load_opts_init(&json);
    json.format = TM_FOREST_FORMAT_XGBOOST_JSON;
    const char *gblinear = "{\"name\":\"gblinear\",\"model\":{\"weights\":[1,2,3]}}";
    ck_assert_str_eq(load_mem_fail(model_text("reg:squarederror", "5E-1", 0, gblinear, "", ""),
                                   NULL, TM_E_FORMAT),
                     "bad.json:1: field 'learner.gradient_booster.name': not a tree model: booster "
                     "'gblinear' is a linear model");
    ck_assert_str_eq(load_mem_fail(simple_model("foo:bar", "5E-1", 0), NULL, TM_E_FORMAT),
                     "bad.json: field 'objective': unknown xgboost objective 'foo:bar'");
    ck_assert_str_eq(load_mem_fail(simple_model("binary:logistic", "1E0", 0), NULL, TM_E_PARSE),
                     "bad.json: field 'base_score': expected a value in (0, 1) for "
                     "binary:logistic, found 1");
    ck_assert_str_eq(load_mem_fail(simple_model("multi:softprob", "5E-1", 0), NULL, TM_E_PARSE),
                     "bad.json: field 'num_class': multi:softprob needs num_class >= 2, found "
                     "1 outputs");
    ck_assert_str_eq(load_mem_fail(simple_model("reg:squarederror", "abc", 0), NULL, TM_E_PARSE),
                     "bad.json:1: field 'learner.learner_model_param.base_score': expected a "
                     "number or a list of numbers, found \"abc\"");
    ck_assert_str_eq(load_mem_fail(model_text("reg:squarederror", "5E-1", 0, NULL,
                                              TREE_NUM "," TREE_CAT, "0,1"),
                                   NULL, TM_E_PARSE),
                     "bad.json:1: field 'learner.gradient_booster.model.tree_info[1]': expected an "
                     "integer in 0..0, found 1");
    ck_assert_str_eq(load_mem_fail(model_text("reg:squarederror", "5E-1", 0, NULL, TREE_NUM, "0,0"),
                                   NULL, TM_E_PARSE),
                     "bad.json:1: field 'learner.gradient_booster.model.tree_info': expected 1 "
                     "elements, found 2");
    ck_assert_str_eq(load_mem_fail("{\"learner\":[1]}", NULL, TM_E_FORMAT),
                     "bad.json:1: field 'learner': not an xgboost model: no 'learner' object at "
                     "the top level");
    ck_assert_str_eq(load_mem_fail("{\"learner\":{}}", &json, TM_E_PARSE),
                     "bad.json:1: field 'learner.gradient_booster': missing");

    char text[8192];
    snprintf(text, sizeof text, "%s", simple_model("reg:squarederror", "5E-1", 0));
    memcpy(strstr(text, "\"num_feature\""), "\"num_featurX\"", 13);
    ck_assert_str_eq(load_mem_fail(text, NULL, TM_E_PARSE),
                     "bad.json:1: field 'learner.learner_model_param.num_feature': missing");

    /* Tree arrays: a child outside the tree, a wrong length, a bad split. */
    char tree[2048];
    snprintf(tree, sizeof tree, "%s", TREE_NUM);
    memcpy(strstr(tree, "[1,-1,-1]"), "[7,-1,-1]", 9);
    snprintf(text, sizeof text, "%s", model_text("reg:squarederror", "5E-1", 0, NULL, tree, "0"));
    ck_assert_str_eq(
            load_mem_fail(text, NULL, TM_E_PARSE),
            "bad.json:1: field 'learner.gradient_booster.model.trees[0].left_children[0]': "
            "expected an integer "
            "in -1..2, found 7");
    snprintf(tree, sizeof tree, "%s", TREE_NUM);
    memcpy(strstr(tree, "[0,0,0],\"split_cond"), "[0,0]  ", 7);
    snprintf(text, sizeof text, "%s", model_text("reg:squarederror", "5E-1", 0, NULL, tree, "0"));
    ck_assert_str_eq(load_mem_fail(text, NULL, TM_E_PARSE),
                     "bad.json:1: field 'learner.gradient_booster.model.trees[0].split_indices': "
                     "expected 3 elements, "
                     "found 2");
    snprintf(tree, sizeof tree, "%s", TREE_NUM);
    memcpy(strstr(tree, "[0,0,0],\"split_cond"), "[5,0,0]", 7);
    snprintf(text, sizeof text, "%s", model_text("reg:squarederror", "5E-1", 0, NULL, tree, "0"));
    ck_assert_str_eq(load_mem_fail(text, NULL, TM_E_PARSE),
                     "bad.json: tree 0: split feature 5 outside 0..1");
    snprintf(tree, sizeof tree, "%s", TREE_CAT);
    memcpy(strstr(tree, "[0,3,40]"), "[0,3,-4]", 8);
    snprintf(text, sizeof text, "%s", model_text("reg:squarederror", "5E-1", 0, NULL, tree, "0"));
    ck_assert_str_eq(load_mem_fail(text, NULL, TM_E_PARSE),
                     "bad.json:1: field 'learner.gradient_booster.model.trees[0].categories[2]': "
                     "expected an integer in "
                     "0..16777215, found -4");
    snprintf(tree, sizeof tree, "%s", TREE_NUM);
    memcpy(strstr(tree, "\"0\"}"), "\"2\"}", 4);
    snprintf(text, sizeof text, "%s", model_text("reg:squarederror", "5E-1", 0, NULL, tree, "0"));
    ck_assert_str_eq(load_mem_fail(text, NULL, TM_E_FORMAT),
                     "bad.json:1: field 'learner.gradient_booster.model.trees[0]': multi-output "
                     "trees (size_leaf_vector 2) are "
                     "not supported");
}
END_TEST

/* Every prefix-truncated and byte-corrupted copy of a real model fails
 * cleanly or loads; never a crash (run under ASan/UBSan by make test). */
START_TEST(xgb_truncated_and_corrupted_files)
{
    if (!tm_test_shared_has("fixtures/xgboost/categorical_onehot_partition_hist",
                            "xgboost corruption test")) {
        return;
    }
    static const char *files[] = {"model.json", "model.ubj", "model.dump.json", "model.dump.txt"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024];
        size_t len = 0;
        snprintf(path, sizeof path, "%s/fixtures/xgboost/categorical_onehot_partition_hist/%s",
                 tm_test_shared_dir(), files[i]);
        unsigned char *orig = (unsigned char *)tm_test_slurp(path, &len);
        ck_assert_ptr_nonnull(orig);
        unsigned char *buf = malloc(len + 1);
        tm_forest_load_opts opts;
        tm_forest_load_opts_init(&opts);
        opts.objective = "binary:logistic";
        /* Truncations: the format is fixed so the loader itself is hit. */
        opts.format = i == 0   ? TM_FOREST_FORMAT_XGBOOST_JSON
                      : i == 1 ? TM_FOREST_FORMAT_XGBOOST_UBJSON
                      : i == 2 ? TM_FOREST_FORMAT_XGBOOST_DUMP_JSON
                               : TM_FOREST_FORMAT_XGBOOST_DUMP_TEXT;
        for (size_t cut = 0; cut < len; cut += 1 + cut / 8) {
            tm_forest *f = NULL;
            tm_err err;
            tm_err_init(&err);
            memcpy(buf, orig, cut);
            tm_status st = tm_forest_load_mem(buf, cut, path, &opts, &f, &err);
            /* A text dump cut at a line end is a valid smaller dump. */
            ck_assert_msg(st != TM_OK || i == 3, "%s cut at %zu loaded", files[i], cut);
            ck_assert(st == TM_OK || (f == NULL && err.reason[0] && !strchr(err.reason, '\n')));
            tm_forest_free(f);
        }
        srand(42);
        for (int k = 0; k < 300; k++) {
            memcpy(buf, orig, len);
            for (int m = 0; m < 1 + k % 4; m++) {
                buf[(size_t)rand() % len] = (unsigned char)rand();
            }
            tm_forest *f = NULL;
            tm_err err;
            tm_err_init(&err);
            tm_status st = tm_forest_load_mem(buf, len, path, &opts, &f, &err);
            ck_assert(st == TM_OK ? f != NULL : f == NULL);
            if (f) {
                double x[6] = {0, 1, 2, NAN, -1, 1e30}, out[4];
                ck_assert_int_le(tm_forest_output_len(f, TM_FOREST_OUT_MARGIN), 4);
                if (tm_forest_n_features(f) <= 6) {
                    tm_forest_predict_reference(f, x, 1, 6, TM_FOREST_OUT_MARGIN, out, &err);
                }
            }
            tm_forest_free(f);
        }
        free(buf);
        free(orig);
    }
}
END_TEST

/* Each allocation in turn fails: TM_E_NOMEM, *out NULL, no leak (ASan). */
static void fault_loop(const char *text, size_t len, const tm_forest_load_opts *opts)
{
    for (long n = 1;; n++) {
        tm_forest *f = NULL;
        tm_err err;
        tm_err_init(&err);
        tm_alloc_fail_after(n);
        tm_status st = tm_forest_load_mem(text, len, "fault", opts, &f, &err);
        tm_alloc_fail_after(0);
        if (st == TM_OK) {
            ck_assert_ptr_nonnull(f);
            tm_forest_free(f);
            ck_assert_int_gt(n, 3);
            return;
        }
        ck_assert_msg(st == TM_E_NOMEM, "allocation %ld: %s: %s", n, tm_status_name(st),
                      err.reason);
        ck_assert_ptr_null(f);
    }
}

START_TEST(xgb_allocation_failures_are_clean)
{
    const char *m = simple_model("multi:softmax", "[1E-1,2E-1,3E-1]", 3);
    fault_loop(m, strlen(m), NULL);
    const char *dump = "booster[0]:\n0:[a<1] yes=1,no=2,missing=1\n\t1:leaf=1\n\t2:leaf=2\n"
                       "booster[1]:\n0:[b:{1,5}] yes=2,no=1,missing=2\n\t1:leaf=3\n\t2:leaf=4\n";
    fault_loop(dump, strlen(dump), NULL);
    const char *jdump = "[{\"nodeid\":0,\"split\":\"f1\",\"split_condition\":[1,5],\"yes\":2,"
                        "\"no\":1,\"missing\":1,\"children\":[{\"nodeid\":1,\"leaf\":1},"
                        "{\"nodeid\":2,\"leaf\":2}]}]";
    fault_loop(jdump, strlen(jdump), NULL);
    if (tm_test_shared_has("fixtures/xgboost/categorical_onehot_partition_hist", "fault loop")) {
        char path[1024];
        size_t len = 0;
        snprintf(path, sizeof path,
                 "%s/fixtures/xgboost/categorical_onehot_partition_hist/model.ubj",
                 tm_test_shared_dir());
        char *ubj = tm_test_slurp(path, &len);
        ck_assert_ptr_nonnull(ubj);
        fault_loop(ubj, len, NULL);
        free(ubj);
    }
}
END_TEST

TM_TEST_SUITE(forest_load_xgboost)
{
    Suite *s = suite_create("forest_load_xgboost");
    TCase *tc = tcase_create("fixtures");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, xgb_fixtures_model_json_and_ubj_bit_exact);
    tcase_add_test(tc, xgb_fixtures_dumps_load_and_match);
    suite_add_tcase(s, tc);
    tc = tcase_create("semantics");
    tcase_add_test(tc, xgb_float32_compare_and_nan);
    tcase_add_test(tc, xgb_categorical_in_set_goes_right);
    tcase_add_test(tc, xgb_objectives_base_margin_and_link);
    tcase_add_test(tc, xgb_dart_weights_and_2x_layout);
    suite_add_tcase(s, tc);
    tc = tcase_create("dumps");
    tcase_add_test(tc, xgb_dumps_names_classes_and_indicators);
    tcase_add_test(tc, xgb_dump_defaults_and_headerless_text);
    tcase_add_test(tc, xgb_dump_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, xgb_errors_name_field_and_reason);
    tcase_add_test(tc, xgb_truncated_and_corrupted_files);
    tcase_add_test(tc, xgb_allocation_failures_are_clean);
    suite_add_tcase(s, tc);
    return s;
}
