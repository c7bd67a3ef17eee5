/* Iterations of a forest: the number of boosting rounds, the best one the
 * model stores, and a copy holding only the trees of rounds [begin, end)
 * (XGBoost's iteration_range, see formats/xgboost.md section 4: a round
 * is n_outputs x num_parallel_tree trees; DART weights stay with their
 * trees; (0, 0) means all). The copy shares nothing with the source: the
 * node, leaf and split arrays are copied whole (nodes of dropped trees
 * stay unreferenced, which the IR allows) and the per-tree arrays cut. */
#include <stdlib.h>
#include <string.h>

#include "forest/forest_int.h"

/* Trees per round, or 0 when the trees do not form whole rounds. */
static int32_t round_trees(const tm_forest *f)
{
    if (f->family == TM_FOREST_CATBOOST && f->leaf_dim == f->n_outputs) {
        return 1; /* each CatBoost tree is one round holding every output */
    }
    if (f->n_iterations < 1 || f->n_trees % f->n_iterations != 0) {
        return 0;
    }
    return f->n_trees / f->n_iterations;
}

int32_t tm_forest_n_iterations(const tm_forest *f)
{
    int32_t per = round_trees(f);
    return per > 0 ? f->n_trees / per : 0;
}

int32_t tm_forest_best_iteration(const tm_forest *f)
{
    return f->best_iteration;
}

tm_status tm__forest_read_best_iteration(tm_forest *f, const tm_json *learner, const char *path,
                                         tm_err *err)
{
    const tm_json *attrs = tm_json_get(learner, "attributes");
    const tm_json *v = attrs ? tm_json_get(attrs, "best_iteration") : NULL;
    f->best_iteration = -1;
    if (!v) {
        return TM_OK;
    }
    /* formats/xgboost.md section 1: attribute values are strings. */
    const char *s = v->type == TM_JSON_STRING ? v->str : "";
    char *end = NULL;
    long n = strtol(s, &end, 10);
    if (v->type != TM_JSON_STRING || !*s || *end || *s == '-' || *s == '+' || n > INT32_MAX) {
        return TM_ERR(err, TM_E_PARSE, path, v->line, "attributes.best_iteration",
                      "expected a round number in a string, found %s",
                      v->type == TM_JSON_STRING ? s : "another type");
    }
    f->best_iteration = (int32_t)n;
    return TM_OK;
}

/* Copies n elements of src into a new array at *dst (NULL stays NULL). */
#define DUP(dst, src, n)                                                                           \
    do {                                                                                           \
        (dst) = NULL;                                                                              \
        if (src) {                                                                                 \
            size_t n_ = (size_t)(n) > 0 ? (size_t)(n) : 1;                                         \
            (dst) = tm_malloc_n(n_, sizeof *(src));                                                \
            if (!(dst)) {                                                                          \
                goto nomem;                                                                        \
            }                                                                                      \
            memcpy((dst), (src), (size_t)(n) * sizeof *(src));                                     \
        }                                                                                          \
    } while (0)

/* Duplicates n strings (NULL array stays NULL). */
static char **dup_names(char *const *names, int32_t n, bool *ok)
{
    *ok = true;
    if (!names) {
        return NULL;
    }
    char **out = tm_calloc((size_t)n + 1, sizeof *out);
    for (int32_t i = 0; out && i < n; i++) {
        if (names[i] && !(out[i] = tm_strdup(names[i]))) {
            for (int32_t j = 0; j < i; j++) {
                tm_free(out[j]);
            }
            tm_free(out);
            out = NULL;
        }
    }
    *ok = out != NULL;
    return out;
}

/* Every array of f copied into g (a shallow copy of f), with the per-tree
 * arrays cut to trees [t0, t1). New arrays in struct tm_forest must be
 * copied here too. */
static tm_status copy_arrays(tm_forest *g, const tm_forest *f, int32_t t0, int32_t t1, tm_err *err)
{
    int32_t nt = t1 - t0;
    bool ok_f, ok_c;
    size_t n_leaf_vals = (size_t)f->n_leaves * (size_t)f->leaf_dim;
    g->objective = NULL;
    g->feature_names = g->class_names = NULL;
    g->base_score = NULL;
    g->tree_first = g->tree_n_nodes = g->tree_output = NULL;
    g->tree_weight = NULL;
    g->feature = g->left = g->right = g->cat_first = g->cat_n_words = g->leaf_index = NULL;
    g->threshold = g->leaf_values = g->lin_const = g->lin_coef = NULL;
    g->threshold_f = g->obl_border = NULL;
    g->flags = g->obl_nan_one = NULL;
    g->cat_bits = NULL;
    g->lin_first = g->lin_n = g->lin_feat = NULL;
    g->obl_depth = g->obl_first = g->obl_leaf_first = g->obl_feature = NULL;
    g->compiled = NULL;
    if (f->objective && !(g->objective = tm_strdup(f->objective))) {
        goto nomem;
    }
    g->feature_names = dup_names(f->feature_names, f->n_features, &ok_f);
    g->class_names = dup_names(f->class_names, f->n_classes, &ok_c);
    if (!ok_f || !ok_c) {
        goto nomem;
    }
    DUP(g->base_score, f->base_score, f->n_outputs);
    DUP(g->tree_first, f->tree_first + t0, nt);
    DUP(g->tree_n_nodes, f->tree_n_nodes + t0, nt);
    DUP(g->tree_output, f->tree_output + t0, nt);
    DUP(g->tree_weight, f->tree_weight + t0, nt);
    DUP(g->feature, f->feature, f->n_nodes);
    DUP(g->threshold, f->threshold, f->n_nodes);
    DUP(g->threshold_f, f->threshold_f, f->n_nodes);
    DUP(g->left, f->left, f->n_nodes);
    DUP(g->right, f->right, f->n_nodes);
    DUP(g->flags, f->flags, f->n_nodes);
    DUP(g->cat_first, f->cat_first, f->n_nodes);
    DUP(g->cat_n_words, f->cat_n_words, f->n_nodes);
    DUP(g->leaf_index, f->leaf_index, f->n_nodes);
    DUP(g->leaf_values, f->leaf_values, n_leaf_vals);
    DUP(g->cat_bits, f->cat_bits, f->n_cat_words);
    DUP(g->lin_const, f->lin_const, f->n_leaves);
    DUP(g->lin_first, f->lin_first, f->n_leaves);
    DUP(g->lin_n, f->lin_n, f->n_leaves);
    DUP(g->lin_feat, f->lin_feat, f->n_lin_terms);
    DUP(g->lin_coef, f->lin_coef, f->n_lin_terms);
    if (f->oblivious) {
        DUP(g->obl_depth, f->obl_depth + t0, nt);
        DUP(g->obl_first, f->obl_first + t0, nt);
        DUP(g->obl_leaf_first, f->obl_leaf_first + t0, nt);
    }
    DUP(g->obl_feature, f->obl_feature, f->n_obl_splits);
    DUP(g->obl_border, f->obl_border, f->n_obl_splits);
    DUP(g->obl_nan_one, f->obl_nan_one, f->n_obl_splits);
    g->n_trees = nt;
    return TM_OK;
nomem:
    g->n_trees = 0;
    return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory copying the forest");
}

#undef DUP

tm_status tm_forest_slice(const tm_forest *f, int32_t begin, int32_t end, tm_forest **out,
                          tm_err *err)
{
    *out = NULL;
    if (f->format == TM_FOREST_FORMAT_XGBOOST_DUMP_JSON ||
        f->format == TM_FOREST_FORMAT_XGBOOST_DUMP_TEXT) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, "iteration range",
                      "a dump does not record how many trees make a round "
                      "(num_parallel_tree): use the model file");
    }
    int32_t per = round_trees(f);
    if (per == 0) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, "iteration range",
                      "the model's %d trees do not form whole rounds of %d iterations", f->n_trees,
                      f->n_iterations);
    }
    int32_t n_iter = f->n_trees / per;
    if (end == 0) {
        end = n_iter;
    }
    if (begin < 0 || end > n_iter || begin > end) {
        return TM_ERR(err, TM_E_RANGE, NULL, 0, "iteration range",
                      "expected 0 <= begin <= end <= %d (the model's rounds), found %d:%d", n_iter,
                      begin, end);
    }
    tm_forest *g = tm_malloc(sizeof *g);
    if (!g) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    *g = *f;
    tm_status st = copy_arrays(g, f, begin * per, end * per, err);
    if (st == TM_OK) {
        /* LightGBM rf averages over the rounds used (formats/lightgbm.md). */
        g->n_iterations = f->family == TM_FOREST_CATBOOST && per == 1 ? 1 : end - begin;
        g->has_tree_weight = false;
        g->best_iteration = begin == 0 && f->best_iteration < end ? f->best_iteration : -1;
        g->max_depth = 0;
        st = tm__forest_finish(g, "iteration range", err);
    }
    if (st != TM_OK) {
        tm_forest_free(g);
        return st;
    }
    *out = g;
    return TM_OK;
}
