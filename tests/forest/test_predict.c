/* The predictors on forests built directly in the IR: edge values
 * (exactly on thresholds, float32 neighbours, NaN, +-inf) per compare mode,
 * and the property that the compiled block predictor equals the scalar
 * reference bit for bit on random forests of every shape it handles
 * (lockstep and walk layouts, categorical and zero-missing fallbacks,
 * oblivious trees, float32 and double sums, vector leaves). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <turbomode/forest.h>

#include "forest/forest_int.h"
#include "forest/layout.h"
#include "tm_test.h"

static uint64_t seed_state;
static uint64_t rnd(void)
{
    seed_state ^= seed_state << 13;
    seed_state ^= seed_state >> 7;
    seed_state ^= seed_state << 17;
    return seed_state;
}
static double unif(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

/* One stump on feature 0 at threshold t: left leaf -1, right leaf +1. */
static tm_forest *stump(tm__cmp cmp, double t, bool nan_left)
{
    tm_forest *f = NULL;
    ck_assert_int_eq(tm__forest_new(&f, NULL), TM_OK);
    f->cmp = cmp;
    f->n_features = 1;
    f->sum_f32 = cmp == TM__CMP_LT_F32;
    f->default_output = TM_FOREST_OUT_MARGIN;
    ck_assert_int_eq(tm__forest_alloc_outputs(f, 1, NULL), TM_OK);
    ck_assert_int_eq(tm__forest_alloc_trees(f, 1, NULL), TM_OK);
    ck_assert_int_eq(tm__forest_alloc_nodes(f, 3, 2, NULL), TM_OK);
    f->tree_n_nodes[0] = 3;
    f->threshold[0] = t;
    f->threshold_f[0] = (float)t;
    f->left[0] = 1;
    f->right[0] = 2;
    f->flags[0] = nan_left ? TM__NODE_NAN_LEFT : 0;
    f->flags[1] = f->flags[2] = TM__NODE_LEAF;
    f->leaf_index[1] = 0;
    f->leaf_index[2] = 1;
    f->leaf_values[0] = -1.0;
    f->leaf_values[1] = 1.0;
    ck_assert_int_eq(tm__forest_finish(f, "stump", NULL), TM_OK);
    return f;
}

static double margin1(const tm_forest *f, double x)
{
    double fast = 0.0, ref = 0.0;
    ck_assert_int_eq(tm_forest_predict(f, &x, 1, 1, TM_FOREST_OUT_MARGIN, 1, &fast, NULL), TM_OK);
    ck_assert_int_eq(tm_forest_predict_reference(f, &x, 1, 1, TM_FOREST_OUT_MARGIN, &ref, NULL),
                     TM_OK);
    ck_assert_double_eq(fast, ref);
    return fast;
}

START_TEST(xgboost_rule_equal_goes_right_in_float32)
{
    double t = 0.1; /* float32(0.1) = 0.100000001490116... */
    tm_forest *f = stump(TM__CMP_LT_F32, t, true);
    float tf = (float)t;
    ck_assert_double_eq(margin1(f, (double)tf), 1.0);                     /* equal: right */
    ck_assert_double_eq(margin1(f, (double)nextafterf(tf, -1.0f)), -1.0); /* below: left */
    ck_assert_double_eq(margin1(f, 0.1), 1.0); /* 0.1 rounds to the threshold in float32 */
    ck_assert_double_eq(margin1(f, INFINITY), 1.0);
    ck_assert_double_eq(margin1(f, -INFINITY), -1.0);
    ck_assert_double_eq(margin1(f, NAN), -1.0); /* default left */
    tm_forest_free(f);
    f = stump(TM__CMP_LT_F32, t, false);
    ck_assert_double_eq(margin1(f, NAN), 1.0);
    tm_forest_free(f);
}
END_TEST

START_TEST(xgboost_links_are_float32_like_xgboost)
{
    /* XGBoost returns float32 probabilities: sigmoid as 1/(1+expf(-x)) in
     * float; the fixtures match these bit for bit. */
    tm_forest *f = stump(TM__CMP_LT_F32, 0.5, true);
    f->family = TM_FOREST_XGBOOST;
    f->link = TM__LINK_SIGMOID;
    double x = 1.0, p = 0.0;
    ck_assert_int_eq(tm_forest_predict(f, &x, 1, 1, TM_FOREST_OUT_PROBABILITY, 1, &p, NULL), TM_OK);
    ck_assert_double_eq(p, (double)(1.0f / (1.0f + expf(-1.0f))));
    ck_assert_double_eq(p, (double)(float)p);
    ck_assert_int_eq(tm_forest_predict(f, &x, 1, 1, TM_FOREST_OUT_EXPONENT, 1, &p, NULL), TM_OK);
    ck_assert_double_eq(p, (double)expf(1.0f));
    tm_forest_free(f);
}
END_TEST

START_TEST(lightgbm_rule_equal_goes_left_in_double)
{
    double t = 0.1;
    tm_forest *f = stump(TM__CMP_LE_F64, t, false);
    ck_assert_double_eq(margin1(f, 0.1), -1.0);
    ck_assert_double_eq(margin1(f, nextafter(0.1, 1.0)), 1.0);
    /* double precision: float32(0.1) > 0.1 goes right although it rounds
     * to the same float */
    ck_assert_double_eq(margin1(f, (double)0.1f), 1.0);
    ck_assert_double_eq(margin1(f, -INFINITY), -1.0);
    ck_assert_double_eq(margin1(f, INFINITY), 1.0);
    ck_assert_double_eq(margin1(f, NAN), 1.0);
    tm_forest_free(f);
}
END_TEST

START_TEST(catboost_rule_border_is_not_above)
{
    tm_forest *f = stump(TM__CMP_LE_F32, 0.5, true);
    ck_assert_double_eq(margin1(f, 0.5), -1.0);
    ck_assert_double_eq(margin1(f, (double)nextafterf(0.5f, 1.0f)), 1.0);
    /* 0.5 + 1e-12 rounds to 0.5 in float32: not above the border */
    ck_assert_double_eq(margin1(f, 0.5 + 1e-12), -1.0);
    tm_forest_free(f);
}
END_TEST

START_TEST(lt_threshold_of_minus_inf_sends_everything_right)
{
    tm_forest *f = stump(TM__CMP_LT_F32, -INFINITY, true);
    ck_assert_double_eq(margin1(f, -INFINITY), 1.0);
    ck_assert_double_eq(margin1(f, -1e30), 1.0);
    ck_assert_double_eq(margin1(f, NAN), -1.0);
    tm_forest_free(f);
}
END_TEST

START_TEST(predict_rejects_short_stride_and_accepts_zero_rows)
{
    tm_forest *f = stump(TM__CMP_LE_F64, 0.0, true);
    double x = 0.0, out = 0.0;
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_forest_predict(f, &x, 1, 0, TM_FOREST_OUT_MARGIN, 1, &out, &err),
                     TM_E_INVALID);
    ck_assert_ptr_nonnull(strstr(err.reason, "stride"));
    ck_assert_int_eq(tm_forest_predict(f, NULL, 0, 1, TM_FOREST_OUT_MARGIN, 1, NULL, NULL), TM_OK);
    tm_forest_free(f);
}
END_TEST

/* Random forests have rf_features inputs; splits use the first
 * rf_split_features of them. */
static int rf_features = 7, rf_split_features = 7;
/* Some thresholds +-inf (LightGBM's NaN-vs-rest splits), no zero-missing
 * splits, so that large trees stay in the bitvector layout. */
static bool rf_inf;
static uint64_t rf_leaf_one_in = 5; /* below the root, a node is a leaf with p = 1/this */

/* Builds a random general tree of at most max_depth in f's arrays from
 * node *next; returns the root index. */
static int32_t grow(tm_forest *f, int32_t *next, int32_t *leaf_next, int depth, int max_depth,
                    bool cats)
{
    int32_t nd = (*next)++;
    bool leaf = depth >= max_depth || (depth > 0 && rnd() % rf_leaf_one_in == 0);
    if (leaf) {
        f->flags[nd] = TM__NODE_LEAF;
        f->leaf_index[nd] = *leaf_next;
        for (int32_t k = 0; k < f->leaf_dim; k++) {
            f->leaf_values[(size_t)*leaf_next * (size_t)f->leaf_dim + (size_t)k] =
                    (double)(float)(unif() * 2.0 - 1.0);
        }
        (*leaf_next)++;
        return nd;
    }
    f->feature[nd] = (int32_t)(rnd() % (uint64_t)rf_split_features);
    double t = rnd() % 4 == 0 ? (double)(rnd() % 5) : unif() * 4.0 - 2.0;
    if (rf_inf && rnd() % 6 == 0) {
        t = rnd() % 2 || f->cmp == TM__CMP_LT_F32 ? INFINITY : -INFINITY;
    }
    f->threshold[nd] = t;
    f->threshold_f[nd] = (float)t;
    uint8_t fl = rnd() % 2 ? TM__NODE_NAN_LEFT : 0;
    if (cats && rnd() % 6 == 0) {
        fl |= TM__NODE_CATEGORICAL | (rnd() % 2 ? TM__NODE_CAT_IN_LEFT : 0);
        f->cat_first[nd] = (int32_t)(rnd() % 3);
        f->cat_n_words[nd] = 1;
    } else if (f->cmp == TM__CMP_LE_F64 && !rf_inf && rnd() % 8 == 0) {
        fl |= TM__NODE_ZERO_MISSING | (rnd() % 2 ? TM__NODE_DEFAULT_LEFT : 0);
    }
    f->flags[nd] = fl;
    f->left[nd] = grow(f, next, leaf_next, depth + 1, max_depth, cats);
    f->right[nd] = grow(f, next, leaf_next, depth + 1, max_depth, cats);
    return nd;
}

static tm_forest *random_forest(tm__cmp cmp, int n_trees, int max_depth, int n_out, int leaf_dim,
                                bool cats)
{
    tm_forest *f = NULL;
    ck_assert_int_eq(tm__forest_new(&f, NULL), TM_OK);
    f->cmp = cmp;
    f->family = cmp == TM__CMP_LT_F32   ? TM_FOREST_XGBOOST
                : cmp == TM__CMP_LE_F64 ? TM_FOREST_LIGHTGBM
                                        : TM_FOREST_CATBOOST;
    f->sum_f32 = cmp == TM__CMP_LT_F32;
    f->zero_tiny_inputs = cmp == TM__CMP_LE_F64;
    f->n_features = rf_features;
    f->leaf_dim = leaf_dim;
    f->link = n_out > 1 ? TM__LINK_SOFTMAX : TM__LINK_SIGMOID;
    f->default_output = TM_FOREST_OUT_PROBABILITY;
    f->scale = cmp == TM__CMP_LE_F32 ? 0.75 : 1.0;
    ck_assert_int_eq(tm__forest_alloc_outputs(f, n_out, NULL), TM_OK);
    for (int k = 0; k < n_out; k++) {
        f->base_score[k] = (double)(float)(unif() - 0.5);
    }
    int32_t per_tree = (1 << (max_depth + 1)) - 1;
    ck_assert_int_eq(tm__forest_alloc_trees(f, n_trees, NULL), TM_OK);
    ck_assert_int_eq(tm__forest_alloc_nodes(f, per_tree * n_trees, per_tree * n_trees, NULL),
                     TM_OK);
    ck_assert_int_eq(tm__forest_alloc_cats(f, 4, NULL), TM_OK);
    for (int i = 0; i < 4; i++) {
        f->cat_bits[i] = (uint32_t)rnd();
    }
    int32_t next = 0, leaf_next = 0;
    for (int t = 0; t < n_trees; t++) {
        f->tree_first[t] = next;
        /* Some trees lopsided (walk layout), some bushy (lockstep). */
        int depth = (t % 3 == 0) ? max_depth : 1 + (int)(rnd() % (uint64_t)max_depth);
        grow(f, &next, &leaf_next, 0, depth, cats);
        f->tree_n_nodes[t] = next - f->tree_first[t];
        f->tree_output[t] = leaf_dim == 1 ? t % n_out : 0;
        f->tree_weight[t] = cmp == TM__CMP_LT_F32 && t % 4 == 1 ? 0.625 : 1.0;
    }
    ck_assert_int_eq(tm__forest_finish(f, "random", NULL), TM_OK);
    return f;
}

static void random_rows(double *X, size_t n, int nf)
{
    static const double specials[] = {NAN, INFINITY, -INFINITY, 0.0, -0.0, 1e-36, 1.0, 2.0};
    for (size_t i = 0; i < n * (size_t)nf; i++) {
        uint64_t r = rnd() % 10;
        X[i] = r < 2 ? specials[rnd() % 8] : r < 4 ? (double)(int)(rnd() % 5) : unif() * 4.0 - 2.0;
    }
}

static void check_same(const tm_forest *f, size_t n, tm_forest_output kind)
{
    int nf = tm_forest_n_features(f);
    double *X = malloc(n * (size_t)nf * sizeof *X);
    random_rows(X, n, nf);
    size_t w = tm_forest_output_len(f, kind);
    double *a = malloc((n * w + 1) * sizeof *a), *b = malloc((n * w + 1) * sizeof *b);
    ck_assert_int_eq(tm_forest_predict(f, X, n, (size_t)nf, kind, 2, a, NULL), TM_OK);
    ck_assert_int_eq(tm_forest_predict_reference(f, X, n, (size_t)nf, kind, b, NULL), TM_OK);
    for (size_t i = 0; i < n * w; i++) {
        ck_assert_msg(memcmp(&a[i], &b[i], sizeof a[i]) == 0 || (isnan(a[i]) && isnan(b[i])),
                      "value %zu: fast %.17g reference %.17g", i, a[i], b[i]);
    }
    if (kind == TM_FOREST_OUT_PROBABILITY && w > 1) {
        /* XGBoost's softmax is float32, like XGBoost's own */
        double tol = f->family == TM_FOREST_XGBOOST ? 1e-6 : 1e-12;
        for (size_t r = 0; r < n; r++) {
            double s = 0.0;
            for (size_t k = 0; k < w; k++) {
                s += a[r * w + k];
            }
            ck_assert_double_eq_tol(s, 1.0, tol);
        }
    }
    free(X);
    free(a);
    free(b);
}

START_TEST(fast_predictor_equals_reference_on_random_forests)
{
    static const tm__cmp cmps[] = {TM__CMP_LT_F32, TM__CMP_LE_F64, TM__CMP_LE_F32};
    seed_state = 0x1234567887654321ull + (uint64_t)_i;
    tm__cmp cmp = cmps[_i % 3];
    bool cats = cmp != TM__CMP_LE_F32 && _i % 2 == 0;
    int n_out = _i % 4 == 3 ? 3 : 1;
    int leaf_dim = cmp == TM__CMP_LE_F32 && n_out == 3 ? 3 : 1;
    int depth = 3 + _i % 8;
    tm_forest *f = random_forest(cmp, 24, depth, n_out, leaf_dim, cats);
    size_t sizes[] = {1, 63, 64, 65, 129, 300, 513};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        check_same(f, sizes[s], TM_FOREST_OUT_MARGIN);
    }
    check_same(f, 200, TM_FOREST_OUT_PROBABILITY);
    check_same(f, 200, TM_FOREST_OUT_CLASS);
    tm_forest_free(f);
}
END_TEST

/* Vector leaves with float32 sums or a tree weight: neither predictor has
 * that path (the reference one would drop every leaf), so finishing such
 * a forest is refused. */
START_TEST(vector_leaves_refuse_float32_sums_and_tree_weights)
{
    for (int variant = 0; variant < 2; variant++) {
        tm_forest *f = NULL;
        ck_assert_int_eq(tm__forest_new(&f, NULL), TM_OK);
        f->cmp = TM__CMP_LT_F32;
        f->family = TM_FOREST_XGBOOST;
        f->sum_f32 = variant == 0;
        f->n_features = 1;
        f->leaf_dim = 2;
        f->link = TM__LINK_SOFTMAX;
        f->default_output = TM_FOREST_OUT_PROBABILITY;
        ck_assert_int_eq(tm__forest_alloc_outputs(f, 2, NULL), TM_OK);
        ck_assert_int_eq(tm__forest_alloc_trees(f, 1, NULL), TM_OK);
        ck_assert_int_eq(tm__forest_alloc_nodes(f, 1, 1, NULL), TM_OK);
        f->tree_first[0] = 0;
        f->tree_n_nodes[0] = 1;
        f->tree_output[0] = 0;
        f->tree_weight[0] = variant == 0 ? 1.0 : 0.5;
        f->flags[0] = TM__NODE_LEAF;
        f->leaf_index[0] = 0;
        f->leaf_values[0] = 1.0;
        f->leaf_values[1] = -1.0;
        tm_err err;
        tm_err_init(&err);
        ck_assert_int_eq(tm__forest_finish(f, "vec", &err), TM_E_INTERNAL);
        char msg[256];
        ck_assert_str_eq(tm_err_format(&err, msg, sizeof msg),
                         variant == 0 ? "vec: vector leaves (leaf_dim 2) with float32 sums: no "
                                        "predictor sums them that way"
                                      : "vec: vector leaves (leaf_dim 2) with tree weights: no "
                                        "predictor sums them that way");
        tm_forest_free(f);
    }
}
END_TEST

/* A small model on a wide input: blocks load only the inputs the trees
 * read (feature 0 always, the split features); the rest, NaN and inf
 * included, change nothing. */
START_TEST(wide_input_few_split_features)
{
    static const tm__cmp cmps[] = {TM__CMP_LT_F32, TM__CMP_LE_F64, TM__CMP_LE_F32};
    seed_state = 0xfeed + (uint64_t)_i;
    rf_features = 60;
    rf_split_features = 3 + _i;
    tm__cmp cmp = cmps[_i % 3];
    int n_out = _i % 2 ? 3 : 1;
    tm_forest *f = random_forest(cmp, 9, 4 + _i % 3, n_out, 1, false);
    rf_features = rf_split_features = 7;
    check_same(f, 100, TM_FOREST_OUT_MARGIN);
    size_t n = 40, nf = 60, w = tm_forest_output_len(f, TM_FOREST_OUT_MARGIN);
    double *X = malloc(n * nf * sizeof *X), *a = malloc(n * w * sizeof *a);
    double *b = malloc(n * w * sizeof *b);
    random_rows(X, n, (int)nf);
    ck_assert_int_eq(tm_forest_predict(f, X, n, nf, TM_FOREST_OUT_MARGIN, 1, a, NULL), TM_OK);
    for (size_t r = 0; r < n; r++) {
        for (size_t j = (size_t)(3 + _i); j < nf; j++) {
            X[r * nf + j] = j % 2 ? (double)NAN : (double)-INFINITY;
        }
    }
    ck_assert_int_eq(tm_forest_predict(f, X, n, nf, TM_FOREST_OUT_MARGIN, 1, b, NULL), TM_OK);
    ck_assert_int_eq(memcmp(a, b, n * w * sizeof *a), 0);
    free(X);
    free(a);
    free(b);
    tm_forest_free(f);
}
END_TEST

/* An oblivious forest with per-feature NaN treatment. */
START_TEST(oblivious_fast_path_equals_reference)
{
    seed_state = 99 + (uint64_t)_i;
    tm_forest *f = NULL;
    ck_assert_int_eq(tm__forest_new(&f, NULL), TM_OK);
    f->family = TM_FOREST_CATBOOST;
    f->cmp = TM__CMP_LE_F32;
    f->n_features = 6;
    int n_out = _i % 2 ? 3 : 1;
    f->leaf_dim = n_out;
    f->link = n_out > 1 ? TM__LINK_SOFTMAX : TM__LINK_SIGMOID;
    f->default_output = TM_FOREST_OUT_PROBABILITY;
    f->scale = 1.5;
    ck_assert_int_eq(tm__forest_alloc_outputs(f, n_out, NULL), TM_OK);
    int n_trees = 40, depth = 6;
    ck_assert_int_eq(tm__forest_alloc_trees(f, n_trees, NULL), TM_OK);
    ck_assert_int_eq(tm__forest_alloc_oblivious(f, n_trees * depth, n_trees << depth, NULL), TM_OK);
    uint8_t nan_one[6];
    for (int j = 0; j < 6; j++) {
        nan_one[j] = (uint8_t)(rnd() % 2);
    }
    for (int t = 0; t < n_trees; t++) {
        int d = t % (depth + 1); /* includes depth-0 trees */
        f->obl_depth[t] = d;
        f->obl_first[t] = t * depth;
        f->obl_leaf_first[t] = t << depth;
        for (int i = 0; i < d; i++) {
            int j = (int)(rnd() % 6);
            f->obl_feature[t * depth + i] = j;
            f->obl_border[t * depth + i] =
                    (float)(rnd() % 3 ? unif() * 4 - 2 : (double)(rnd() % 5));
            f->obl_nan_one[t * depth + i] = nan_one[j];
        }
    }
    for (int32_t l = 0; l < f->n_leaves * n_out; l++) {
        f->leaf_values[l] = unif() - 0.5;
    }
    ck_assert_int_eq(tm__forest_finish(f, "oblivious", NULL), TM_OK);
    check_same(f, 257, TM_FOREST_OUT_MARGIN);
    check_same(f, 100, TM_FOREST_OUT_PROBABILITY);
    tm_forest_free(f);
}
END_TEST

START_TEST(finish_rejects_cycles_and_bad_indices)
{
    tm_forest *f = stump(TM__CMP_LE_F64, 0.0, true);
    tm_err err;
    tm_err_init(&err);
    f->right[0] = 0; /* the root is its own child */
    ck_assert_int_eq(tm__forest_finish(f, "bad.txt", &err), TM_E_PARSE);
    ck_assert_ptr_nonnull(strstr(err.reason, "reached twice"));
    f->right[0] = 7;
    tm_err_init(&err);
    ck_assert_int_eq(tm__forest_finish(f, "bad.txt", &err), TM_E_PARSE);
    ck_assert_ptr_nonnull(strstr(err.reason, "outside the tree"));
    f->right[0] = 2;
    f->feature[0] = 5;
    tm_err_init(&err);
    ck_assert_int_eq(tm__forest_finish(f, "bad.txt", &err), TM_E_PARSE);
    ck_assert_ptr_nonnull(strstr(err.reason, "split feature 5"));
    tm_forest_free(f);
}
END_TEST

START_TEST(deep_lopsided_tree_walks)
{
    /* A 2000-deep chain: the walk layout (not lockstep) takes it. */
    tm_forest *f = NULL;
    ck_assert_int_eq(tm__forest_new(&f, NULL), TM_OK);
    f->cmp = TM__CMP_LE_F64;
    f->family = TM_FOREST_LIGHTGBM;
    f->n_features = 1;
    int32_t depth = 2000, n = 2 * depth + 1;
    ck_assert_int_eq(tm__forest_alloc_outputs(f, 1, NULL), TM_OK);
    ck_assert_int_eq(tm__forest_alloc_trees(f, 1, NULL), TM_OK);
    ck_assert_int_eq(tm__forest_alloc_nodes(f, n, depth + 1, NULL), TM_OK);
    f->tree_n_nodes[0] = n;
    for (int32_t i = 0; i < depth; i++) {
        int32_t nd = 2 * i;
        f->threshold[nd] = (double)i;
        f->left[nd] = nd + 1;
        f->right[nd] = nd + 2;
        f->flags[nd + 1] = TM__NODE_LEAF;
        f->leaf_index[nd + 1] = i;
        f->leaf_values[i] = (double)i;
    }
    f->flags[n - 1] = TM__NODE_LEAF;
    f->leaf_index[n - 1] = depth;
    f->leaf_values[depth] = -1.0;
    ck_assert_int_eq(tm__forest_finish(f, "chain", NULL), TM_OK);
    double x[3] = {0.5, 1500.0, 1e9}, out[3];
    ck_assert_int_eq(tm_forest_predict(f, x, 3, 1, TM_FOREST_OUT_MARGIN, 1, out, NULL), TM_OK);
    ck_assert_double_eq(out[0], 1.0);
    ck_assert_double_eq(out[1], 1500.0);
    ck_assert_double_eq(out[2], -1.0);
    tm_forest_free(f);
}
END_TEST

/* Trees of up to 64 leaves that do not fit the heap layout (deep or
 * lopsided) take the bitvector layout; each of its kernels the CPU runs
 * (plain, AVX2, AVX-512) equals the reference bit for bit, on trees with more
 * than 32 leaves (two words) and infinite thresholds. */
START_TEST(bitvector_kernels_equal_reference)
{
    static const tm__cmp cmps[] = {TM__CMP_LT_F32, TM__CMP_LE_F64, TM__CMP_LE_F32};
    seed_state = 0xb17 + (uint64_t)_i;
    rf_inf = true;
    tm__cmp cmp = cmps[_i % 3];
    int n_out = _i % 2 ? 3 : 1;
    int leaf_dim = cmp == TM__CMP_LE_F32 && _i % 4 == 1 ? 3 : 1;
    rf_leaf_one_in = _i % 4 == 3 ? 3 : 2; /* deep, lopsided trees */
    tm_forest *f = random_forest(cmp, 30, _i % 4 == 3 ? 13 : 16, n_out, leaf_dim, false);
    rf_inf = false;
    rf_leaf_one_in = 5;
    struct tm__compiled *c = f->compiled;
    int n_qs = 0, n_two_words = 0;
    for (int32_t t = 0; t < f->n_trees; t++) {
        n_qs += c->qs_first[t] >= 0;
        n_two_words += c->qs_first[t] >= 0 && c->qs_n1[t] > 0;
    }
    ck_assert_int_gt(n_qs, 0);
    if (_i % 4 == 3) { /* some trees have 33..64 leaves */
        ck_assert_int_gt(n_two_words, 0);
    }
    for (int kernel = TM__QS_PLAIN; kernel <= (int)tm__forest_qs_cpu_kernel(); kernel++) {
        c->qs_kernel = (tm__qs_kernel)kernel;
        size_t sizes[] = {1, 31, 32, 33, 129, 200};
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            check_same(f, sizes[i], TM_FOREST_OUT_MARGIN);
        }
        check_same(f, 100, TM_FOREST_OUT_PROBABILITY);
    }
    tm_forest_free(f);
}
END_TEST

/* LightGBM's NaN-versus-rest split: threshold +inf, NaN to the default
 * side (formats/lightgbm: x <= t goes left, NaN follows default_left). */
START_TEST(bitvector_nan_versus_rest_split)
{
    for (int kernel = TM__QS_PLAIN; kernel <= (int)tm__forest_qs_cpu_kernel(); kernel++) {
        tm_forest *f = stump(TM__CMP_LE_F64, INFINITY, false);
        ck_assert_int_ge(f->compiled->qs_first[0], 0);
        f->compiled->qs_kernel = (tm__qs_kernel)kernel;
        ck_assert_double_eq(margin1(f, NAN), 1.0);
        ck_assert_double_eq(margin1(f, INFINITY), -1.0);
        ck_assert_double_eq(margin1(f, 1e308), -1.0);
        ck_assert_double_eq(margin1(f, -INFINITY), -1.0);
        tm_forest_free(f);
        f = stump(TM__CMP_LE_F64, -INFINITY, true);
        f->compiled->qs_kernel = (tm__qs_kernel)kernel;
        ck_assert_double_eq(margin1(f, NAN), -1.0);
        ck_assert_double_eq(margin1(f, -INFINITY), -1.0);
        ck_assert_double_eq(margin1(f, -1e308), 1.0);
        tm_forest_free(f);
    }
}
END_TEST

/* A forest of n stumps on features 0 and 1, every threshold distinct: the
 * bitvector kernels rank the inputs by search trees of several levels
 * (AVX2, AVX-512), or by binary searches (plain C). With 40,000
 * thresholds on a feature, ranks no longer fit 16 bits and the 16-bit
 * kernels give way to the 32-bit ones. Inputs on, beside and between thresholds, past both ends,
 * +-inf, NaN and -0.0 are scored by every kernel the CPU has. */
START_TEST(bitvector_ranks_many_thresholds)
{
    tm__cmp cmp = _i % 2 ? TM__CMP_LE_F64 : TM__CMP_LT_F32;
    int32_t n = _i < 2 ? 5000 : 40000;
    tm_forest *f = NULL;
    ck_assert_int_eq(tm__forest_new(&f, NULL), TM_OK);
    f->cmp = cmp;
    f->family = cmp == TM__CMP_LT_F32 ? TM_FOREST_XGBOOST : TM_FOREST_LIGHTGBM;
    f->sum_f32 = cmp == TM__CMP_LT_F32;
    f->n_features = 2;
    f->default_output = TM_FOREST_OUT_MARGIN;
    ck_assert_int_eq(tm__forest_alloc_outputs(f, 1, NULL), TM_OK);
    ck_assert_int_eq(tm__forest_alloc_trees(f, n, NULL), TM_OK);
    ck_assert_int_eq(tm__forest_alloc_nodes(f, 3 * n, 2 * n, NULL), TM_OK);
    for (int32_t t = 0; t < n; t++) {
        int32_t nd = 3 * t;
        /* 0.25 apart, from -n/8: exact in float32 too */
        double thr = (t == n - 1 && cmp == TM__CMP_LE_F64) ? (double)INFINITY : (t - n / 2) * 0.25;
        f->tree_first[t] = nd;
        f->tree_n_nodes[t] = 3;
        f->feature[nd] = t % 7 == 0 ? 1 : 0;
        f->threshold[nd] = thr;
        f->threshold_f[nd] = (float)thr;
        f->left[nd] = nd + 1;
        f->right[nd] = nd + 2;
        f->flags[nd] = t % 3 ? TM__NODE_NAN_LEFT : 0;
        f->flags[nd + 1] = f->flags[nd + 2] = TM__NODE_LEAF;
        f->leaf_index[nd + 1] = 2 * t;
        f->leaf_index[nd + 2] = 2 * t + 1;
        f->leaf_values[2 * t] = -(double)(t % 5 + 1) / 8.0;
        f->leaf_values[2 * t + 1] = (double)(t % 3 + 1) / 16.0;
    }
    ck_assert_int_eq(tm__forest_finish(f, "stumps", NULL), TM_OK);
    enum { ROWS = 300 };
    double *X = malloc(2 * ROWS * sizeof *X), a[ROWS], b[ROWS];
    seed_state = 0x5eed + (uint64_t)_i;
    for (int i = 0; i < 2 * ROWS; i++) {
        double t = ((int32_t)(rnd() % (uint64_t)(n + 40)) - n / 2 - 20) * 0.25;
        static const double specials[] = {NAN, INFINITY, -INFINITY, -0.0, 1e300, -1e300};
        switch (rnd() % 6) {
        case 0:
            X[i] = specials[rnd() % 6];
            break;
        case 1:
            X[i] = nextafter(t, INFINITY);
            break;
        case 2:
            X[i] = (double)nextafterf((float)t, -INFINITY);
            break;
        case 3:
            X[i] = t + 0.125;
            break;
        default:
            X[i] = t; /* exactly on a threshold (or past the ends) */
        }
    }
    ck_assert_int_eq(tm_forest_predict_reference(f, X, ROWS, 2, TM_FOREST_OUT_MARGIN, b, NULL),
                     TM_OK);
    for (int kernel = TM__QS_PLAIN; kernel <= (int)tm__forest_qs_cpu_kernel(); kernel++) {
        ck_assert_int_eq(tm__forest_compile_kernel(f, (tm__qs_kernel)kernel, NULL), TM_OK);
        ck_assert_int_eq(f->compiled->n_qs, n);
        if (TM__QS_WORDS16(kernel)) {
            /* over 32767 thresholds on feature 0: the 32-bit kernel */
            tm__qs_kernel k32 = kernel == TM__QS_AVX2W ? TM__QS_AVX2 : TM__QS_AVX512;
            ck_assert_int_eq(f->compiled->qs_kernel, n > 32767 ? k32 : (tm__qs_kernel)kernel);
        }
        if (kernel >= TM__QS_AVX2) { /* search-tree ranks */
            ck_assert_int_ge(f->compiled->skey_levels[0], 3);
        }
        /* the layout's memory (`model info`) counts the bitvector part:
         * at least an entry and two leaves (float and double) a stump */
        const struct tm__compiled *c = f->compiled;
        ck_assert_uint_ge(c->qs_bytes,
                          (size_t)n * (sizeof(qnode) + 2 * (sizeof(float) + sizeof(double))));
        ck_assert_uint_ge(tm__forest_compiled_bytes(c),
                          c->qs_bytes + (size_t)c->n_nodes * sizeof(cnode_f));
        ck_assert_int_eq(tm_forest_predict(f, X, ROWS, 2, TM_FOREST_OUT_MARGIN, 2, a, NULL), TM_OK);
        for (int r = 0; r < ROWS; r++) {
            ck_assert_msg(memcmp(&a[r], &b[r], sizeof a[r]) == 0,
                          "kernel %d row %d (x %.17g, %.17g): fast %.17g reference %.17g", kernel,
                          r, X[2 * r], X[2 * r + 1], a[r], b[r]);
        }
    }
    free(X);
    tm_forest_free(f);
}
END_TEST

TM_TEST_SUITE(forest_predict)
{
    Suite *s = suite_create("forest_predict");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, xgboost_rule_equal_goes_right_in_float32);
    tcase_add_test(tc, xgboost_links_are_float32_like_xgboost);
    tcase_add_test(tc, lightgbm_rule_equal_goes_left_in_double);
    tcase_add_test(tc, catboost_rule_border_is_not_above);
    tcase_add_test(tc, lt_threshold_of_minus_inf_sends_everything_right);
    tcase_add_test(tc, predict_rejects_short_stride_and_accepts_zero_rows);
    tcase_add_test(tc, finish_rejects_cycles_and_bad_indices);
    tcase_add_test(tc, deep_lopsided_tree_walks);
    suite_add_tcase(s, tc);
    tc = tcase_create("fast_vs_reference");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, fast_predictor_equals_reference_on_random_forests, 0, 24);
    tcase_add_test(tc, vector_leaves_refuse_float32_sums_and_tree_weights);
    tcase_add_loop_test(tc, oblivious_fast_path_equals_reference, 0, 4);
    tcase_add_loop_test(tc, wide_input_few_split_features, 0, 6);
    suite_add_tcase(s, tc);
    tc = tcase_create("bitvector");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, bitvector_kernels_equal_reference, 0, 12);
    tcase_add_test(tc, bitvector_nan_versus_rest_split);
    tcase_add_loop_test(tc, bitvector_ranks_many_thresholds, 0, 4);
    suite_add_tcase(s, tc);
    return s;
}
