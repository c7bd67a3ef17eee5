/* Tree growth (src/train/grow.c, grow_oblivious.c, split.c): a split known
 * by hand, the learned missing direction, oblivious trees sharing one
 * split per level, and the limits (leaves, depth, min_data_in_leaf). */
#include <check.h>
#include <math.h>

#include <turbomode/forest.h>

#include "forest/forest_int.h"
#include "forest/predict_int.h"
#include "synth.h"
#include "tm_test.h"
#include "train/train_int.h"

static tm_forest *fit(const tm_train_opts *o, const tm_train_data *d)
{
    tm_forest *f = NULL;
    tm_err err;
    tm_err_init(&err);
    tm_status st = tm_train_fit(o, d, NULL, &f, NULL, &err);
    ck_assert_msg(st == TM_OK, "%s", err.reason);
    return f;
}

static double predict1(const tm_forest *f, double x0, double x1)
{
    double x[2] = {x0, x1}, out;
    ck_assert_int_eq(tm_forest_predict_reference(f, x, 1, 2, TM_FOREST_OUT_MARGIN, &out, NULL),
                     TM_OK);
    return out;
}

/* Regression on x = 1..10, y = 0 below 5.5, 10 above; an uninformative
 * second feature. lr 1, lambda 0: one split at 5.5 with leaf values that
 * land exactly on the targets. */
START_TEST(grow_finds_the_split_known_by_hand)
{
    double x[20], y[10];
    for (int r = 0; r < 10; r++) {
        x[2 * r] = r + 1;
        x[2 * r + 1] = r % 2;
        y[r] = r + 1 <= 5 ? 0.0 : 10.0;
    }
    tm_train_data d = {10, 2, 2, x, NULL, y, NULL, NULL, NULL, NULL};
    tm_train_opts o;
    tm_train_opts_init(&o);
    o.objective = TM_TRAIN_REGRESSION;
    o.learning_rate = 1.0;
    o.lambda_l2 = 0.0;
    o.min_data_in_leaf = 1;
    o.min_sum_hessian_in_leaf = 0.0;
    o.max_rounds = 1;
    o.num_leaves = 2;
    tm_forest *f = fit(&o, &d);
    ck_assert_int_eq(f->n_trees, 1);
    ck_assert_int_eq(f->tree_n_nodes[0], 3);
    int32_t root = f->tree_first[0];
    ck_assert_int_eq(f->feature[root], 0);
    ck_assert(f->threshold_f[root] == 5.5f); /* midway between 5 and 6 */
    ck_assert_double_eq(predict1(f, 5.0, 0.0), 0.0);
    ck_assert_double_eq(predict1(f, 5.4999, 1.0), 0.0);
    ck_assert_double_eq(predict1(f, 5.5, 0.0), 10.0);
    ck_assert_double_eq(predict1(f, 1e9, 0.0), 10.0);
    /* no missing rows in training: NaN follows the heavier side (a tie: left) */
    ck_assert_double_eq(predict1(f, NAN, 0.0), 0.0);
    tm_forest_free(f);
}
END_TEST

/* Rows with NaN have the targets of the high side: the split learns to
 * send missing values right. */
START_TEST(grow_learns_the_missing_direction)
{
    double x[24], y[12];
    for (int r = 0; r < 12; r++) {
        x[2 * r] = r < 8 ? r + 1 : NAN;
        x[2 * r + 1] = 0.0;
        y[r] = r < 4 ? -1.0 : 1.0;
    }
    tm_train_data d = {12, 2, 2, x, NULL, y, NULL, NULL, NULL, NULL};
    tm_train_opts o;
    tm_train_opts_init(&o);
    o.objective = TM_TRAIN_REGRESSION;
    o.learning_rate = 1.0;
    o.lambda_l2 = 0.0;
    o.min_data_in_leaf = 1;
    o.max_rounds = 1;
    o.num_leaves = 2;
    tm_forest *f = fit(&o, &d);
    int32_t root = f->tree_first[0];
    ck_assert(f->threshold_f[root] == 4.5f);
    ck_assert_int_eq(f->flags[root] & TM__NODE_NAN_LEFT, 0);
    ck_assert_double_eq_tol(predict1(f, NAN, 0.0), 1.0, 1e-6);
    ck_assert_double_eq_tol(predict1(f, 2.0, 0.0), -1.0, 1e-6);
    /* NaN rows like the low side: missing goes left */
    for (int r = 8; r < 12; r++) {
        y[r] = -1.0;
    }
    tm_forest *g = fit(&o, &d);
    ck_assert(g->threshold_f[g->tree_first[0]] == 4.5f);
    ck_assert_int_ne(g->flags[g->tree_first[0]] & TM__NODE_NAN_LEFT, 0);
    tm_forest_free(f);
    tm_forest_free(g);
}
END_TEST

/* Every tree of an oblivious model, flattened breadth-first, has one
 * (feature, threshold, missing side) per level; and inside the grower every
 * row of leaf l went right at level i exactly when bit i of l is set. */
START_TEST(oblivious_trees_share_splits_per_level)
{
    synth s;
    synth_make(&s, 2000, 5, 0, 5);
    tm_train_opts o;
    tm_train_opts_init(&o);
    o.growth = TM_TRAIN_OBLIVIOUS;
    o.max_depth = 4;
    o.num_leaves = 0;
    o.max_rounds = 5;
    o.learning_rate = 0.3;
    tm_forest *f = fit(&o, &s.d);
    ck_assert(f->oblivious);
    tm__forest_wnode *w = malloc((size_t)tm__forest_flat_max(f) * sizeof *w);
    int deep = 0;
    for (int32_t t = 0; t < f->n_trees; t++) {
        int32_t n;
        tm__forest_flatten(f, t, f->tree_output[t], 0.0, w, &n);
        int32_t depth = f->obl_depth[t];
        deep += depth == 4;
        ck_assert_int_eq(n, (2 << depth) - 1);
        for (int32_t lvl = 0; lvl < depth; lvl++) {
            int32_t a = (1 << lvl) - 1;
            for (int32_t i = a; i < 2 * a + 1; i++) {
                ck_assert_int_eq(w[i].feature, w[a].feature);
                ck_assert(w[i].t == w[a].t && w[i].nan_left == w[a].nan_left);
            }
        }
    }
    ck_assert_int_gt(deep, 0);
    free(w);
    tm_forest_free(f);

    /* inside the grower */
    tm__train_bins b;
    uint8_t *rm = NULL, *cm = malloc(s.n * 5);
    ck_assert_int_eq(tm__train_bins_build(&s.d, 32, 0, 1, 1, &b, NULL), TM_OK);
    ck_assert_int_eq(tm__train_bins_apply(&b, &s.d, 1, &rm, NULL), TM_OK);
    size_t nu = (size_t)b.n_used;
    for (size_t r = 0; r < s.n; r++) {
        for (size_t u = 0; u < nu; u++) {
            cm[u * s.n + r] = rm[r * nu + u];
        }
    }
    tm__train_gh *g = malloc(s.n * sizeof *g);
    for (size_t r = 0; r < s.n; r++) {
        g[r].g = (float)(s.y[r] - 1.0);
        g[r].h = 1.0f;
    }
    tm__train_grower gr;
    tm__train_model m = {0};
    m.oblivious = true;
    ck_assert_int_eq(tm__train_grower_init(&gr, &b, rm, cm, s.n, &o, 2, NULL), TM_OK);
    ck_assert_int_eq(tm__train_grow_oblivious(&gr, NULL, s.n, g, NULL, &m, NULL), TM_OK);
    int32_t depth = m.tree_n[0];
    ck_assert_int_eq(depth, 4);
    ck_assert_int_eq(gr.n_leaves, 16);
    for (int32_t l = 0; l < gr.n_leaves; l++) {
        for (int32_t i = gr.leaves[l].begin; i < gr.leaves[l].end; i++) {
            const uint8_t *row = rm + (size_t)gr.part[i] * nu;
            for (int32_t lvl = 0; lvl < depth; lvl++) {
                int32_t u = m.lvl_feat_u[lvl], v = row[u];
                bool right = v != b.n_bins[u] && v > m.lvl_bin[lvl];
                ck_assert_int_eq(right, (l >> lvl) & 1);
            }
        }
    }
    tm__train_grower_fini(&gr);
    tm__train_model_fini(&m);
    tm__train_bins_fini(&b);
    tm_free(rm);
    free(cm);
    free(g);
    synth_free(&s);
}
END_TEST

static int32_t tree_leaves(const tm_forest *f, int32_t t)
{
    return (f->tree_n_nodes[t] + 1) / 2;
}

START_TEST(growth_respects_leaves_depth_and_min_data)
{
    synth s;
    synth_make(&s, 3000, 6, 2, 9);
    tm_train_opts o;
    tm_train_opts_init(&o);
    o.objective = TM_TRAIN_REGRESSION;
    o.max_rounds = 4;
    o.learning_rate = 0.5;
    o.num_leaves = 7;
    o.min_data_in_leaf = 100;
    tm_forest *f = fit(&o, &s.d);
    int full = 0;
    for (int32_t t = 0; t < f->n_trees; t++) {
        ck_assert_int_le(tree_leaves(f, t), 7);
        full += tree_leaves(f, t) == 7;
    }
    ck_assert_int_gt(full, 0);
    /* every leaf holds at least min_data_in_leaf training rows */
    for (int32_t t = 0; t < f->n_trees; t++) {
        int count[64] = {0};
        for (size_t r = 0; r < s.n; r++) {
            int32_t nd = f->tree_first[t];
            while (!(f->flags[nd] & TM__NODE_LEAF)) {
                nd = tm__forest_go_left(f, nd, s.x[r * s.nf + f->feature[nd]]) ? f->left[nd]
                                                                               : f->right[nd];
            }
            count[nd - f->tree_first[t]]++;
        }
        for (int32_t i = 0; i < f->tree_n_nodes[t]; i++) {
            if (f->flags[f->tree_first[t] + i] & TM__NODE_LEAF) {
                ck_assert_int_ge(count[i], 100);
            }
        }
    }
    tm_forest_free(f);
    o.growth = TM_TRAIN_DEPTHWISE;
    o.num_leaves = 0;
    o.max_depth = 2;
    o.min_data_in_leaf = 5;
    f = fit(&o, &s.d);
    ck_assert_int_le(f->max_depth, 2);
    ck_assert_int_eq(tree_leaves(f, 0), 4);
    tm_forest_free(f);
    synth_free(&s);
}
END_TEST

TM_TEST_SUITE(train_grow)
{
    Suite *s = suite_create("train_grow");
    TCase *tc = tcase_create("grow");
    tcase_add_test(tc, grow_finds_the_split_known_by_hand);
    tcase_add_test(tc, grow_learns_the_missing_direction);
    tcase_add_test(tc, oblivious_trees_share_splits_per_level);
    tcase_add_test(tc, growth_respects_leaves_depth_and_min_data);
    suite_add_tcase(s, tc);
    return s;
}
