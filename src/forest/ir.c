/* The forest IR's life cycle: allocation of its arrays for the loaders,
 * validation of what they built (tm__forest_finish), freeing, and the
 * read-only getters. The predictor's layout is built in layout.c. */
#include <math.h>
#include <string.h>

#include "forest/forest_int.h"
#include "forest/predict_int.h"

tm_status tm__forest_new(tm_forest **out, tm_err *err)
{
    tm_forest *f = tm_calloc(1, sizeof *f);
    *out = f;
    if (!f) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    f->scale = 1.0;
    f->sigmoid_scale = 1.0;
    f->zero_band = TM__LGB_ZERO_THRESHOLD;
    f->leaf_dim = 1;
    f->n_iterations = 1;
    f->best_iteration = -1;
    return TM_OK;
}

#define ALLOC(ptr, n)                                                                              \
    do {                                                                                           \
        tm_free(ptr);                                                                              \
        (ptr) = tm_calloc((size_t)(n) > 0 ? (size_t)(n) : 1, sizeof *(ptr));                       \
        if (!(ptr)) {                                                                              \
            return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");                        \
        }                                                                                          \
    } while (0)

tm_status tm__forest_alloc_trees(tm_forest *f, int32_t n_trees, tm_err *err)
{
    if (n_trees < 0) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, NULL, "negative tree count");
    }
    ALLOC(f->tree_first, n_trees);
    ALLOC(f->tree_n_nodes, n_trees);
    ALLOC(f->tree_output, n_trees);
    ALLOC(f->tree_weight, n_trees);
    for (int32_t t = 0; t < n_trees; t++) {
        f->tree_weight[t] = 1.0;
    }
    f->n_trees = n_trees;
    return TM_OK;
}

tm_status tm__forest_alloc_nodes(tm_forest *f, int32_t n_nodes, int32_t n_leaves, tm_err *err)
{
    if (n_nodes < 0 || n_leaves < 0 || f->leaf_dim < 1) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, NULL, "bad node or leaf count");
    }
    ALLOC(f->feature, n_nodes);
    ALLOC(f->threshold, n_nodes);
    ALLOC(f->threshold_f, n_nodes);
    ALLOC(f->left, n_nodes);
    ALLOC(f->right, n_nodes);
    ALLOC(f->flags, n_nodes);
    ALLOC(f->cat_first, n_nodes);
    ALLOC(f->cat_n_words, n_nodes);
    ALLOC(f->leaf_index, n_nodes);
    if ((size_t)n_leaves > SIZE_MAX / sizeof(double) / (size_t)f->leaf_dim) {
        return TM_ERR(err, TM_E_RANGE, NULL, 0, NULL, "too many leaves");
    }
    ALLOC(f->leaf_values, (size_t)n_leaves * (size_t)f->leaf_dim);
    f->n_nodes = n_nodes;
    f->n_leaves = n_leaves;
    return TM_OK;
}

tm_status tm__forest_alloc_cats(tm_forest *f, int32_t n_words, tm_err *err)
{
    ALLOC(f->cat_bits, n_words);
    f->n_cat_words = n_words;
    return TM_OK;
}

tm_status tm__forest_alloc_linear(tm_forest *f, int32_t n_terms, tm_err *err)
{
    ALLOC(f->lin_const, f->n_leaves);
    ALLOC(f->lin_first, f->n_leaves);
    ALLOC(f->lin_n, f->n_leaves);
    ALLOC(f->lin_feat, n_terms);
    ALLOC(f->lin_coef, n_terms);
    f->n_lin_terms = n_terms;
    return TM_OK;
}

tm_status tm__forest_alloc_oblivious(tm_forest *f, int32_t n_splits, int32_t n_leaves, tm_err *err)
{
    if (n_splits < 0 || n_leaves < 0 || f->n_trees < 0) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, NULL, "bad oblivious sizes");
    }
    ALLOC(f->obl_depth, f->n_trees);
    ALLOC(f->obl_first, f->n_trees);
    ALLOC(f->obl_leaf_first, f->n_trees);
    ALLOC(f->obl_feature, n_splits);
    ALLOC(f->obl_border, n_splits);
    ALLOC(f->obl_nan_one, n_splits);
    if ((size_t)n_leaves > SIZE_MAX / sizeof(double) / (size_t)f->leaf_dim) {
        return TM_ERR(err, TM_E_RANGE, NULL, 0, NULL, "too many leaves");
    }
    ALLOC(f->leaf_values, (size_t)n_leaves * (size_t)f->leaf_dim);
    f->n_obl_splits = n_splits;
    f->n_leaves = n_leaves;
    f->oblivious = true;
    return TM_OK;
}

tm_status tm__forest_alloc_outputs(tm_forest *f, int32_t n_outputs, tm_err *err)
{
    if (n_outputs < 1 || n_outputs > TM__MAX_OUTPUTS) {
        return TM_ERR(err, TM_E_RANGE, NULL, 0, NULL, "output count %d outside 1..%d", n_outputs,
                      TM__MAX_OUTPUTS);
    }
    ALLOC(f->base_score, n_outputs);
    f->n_outputs = n_outputs;
    return TM_OK;
}

#undef ALLOC

/* Walks tree t from its root, checking that every node is inside the tree,
 * reached once, and that leaves and splits are well formed. Sets *depth. */
static tm_status check_tree(tm_forest *f, int32_t t, uint8_t *seen, int32_t *stack, int32_t *depths,
                            int32_t *depth, const char *path, tm_err *err)
{
    int32_t first = f->tree_first[t], n = f->tree_n_nodes[t];
    if (n < 1 || first < 0 || first > f->n_nodes - n) {
        return TM_ERR(err, TM_E_PARSE, path, 0, NULL, "tree %d: node range out of bounds", t);
    }
    int32_t top = 0, max_depth = 0, visited = 0;
    stack[top] = first;
    depths[top++] = 0;
    while (top > 0) {
        top--;
        int32_t nd = stack[top], d = depths[top];
        if (nd < first || nd >= first + n) {
            return TM_ERR(err, TM_E_PARSE, path, 0, NULL,
                          "tree %d: child index %d outside the tree", t, nd - first);
        }
        if (seen[nd - first]) {
            return TM_ERR(err, TM_E_PARSE, path, 0, NULL,
                          "tree %d: node %d is reached twice (not a tree)", t, nd - first);
        }
        seen[nd - first] = 1;
        visited++;
        if (d > max_depth) {
            max_depth = d;
        }
        uint8_t fl = f->flags[nd];
        if (fl & TM__NODE_LEAF) {
            int32_t li = f->leaf_index[nd];
            if (li < 0 || li >= f->n_leaves) {
                return TM_ERR(err, TM_E_PARSE, path, 0, NULL, "tree %d: leaf index %d out of range",
                              t, li);
            }
            continue;
        }
        if (f->feature[nd] < 0 || f->feature[nd] >= f->n_features) {
            return TM_ERR(err, TM_E_PARSE, path, 0, NULL, "tree %d: split feature %d outside 0..%d",
                          t, f->feature[nd], f->n_features - 1);
        }
        if (fl & TM__NODE_CATEGORICAL) {
            int64_t end = (int64_t)f->cat_first[nd] + f->cat_n_words[nd];
            if (f->cat_first[nd] < 0 || f->cat_n_words[nd] < 0 || end > f->n_cat_words) {
                return TM_ERR(err, TM_E_PARSE, path, 0, NULL, "tree %d: category set out of range",
                              t);
            }
            f->has_categorical = true;
        }
        stack[top] = f->left[nd];
        depths[top++] = d + 1;
        stack[top] = f->right[nd];
        depths[top++] = d + 1;
    }
    (void)visited; /* unreachable nodes are allowed (XGBoost keeps deleted ones) */
    *depth = max_depth;
    return TM_OK;
}

static tm_status check_general(tm_forest *f, const char *path, tm_err *err)
{
    int32_t max_n = 1;
    for (int32_t t = 0; t < f->n_trees; t++) {
        if (f->tree_n_nodes[t] > max_n) {
            max_n = f->tree_n_nodes[t];
        }
    }
    tm_status st = TM_OK;
    uint8_t *seen = tm_malloc((size_t)max_n);
    int32_t *stack = tm_malloc_n((size_t)max_n + 2, sizeof *stack);
    int32_t *depths = tm_malloc_n((size_t)max_n + 2, sizeof *depths);
    if (!seen || !stack || !depths) {
        st = TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory");
        goto done;
    }
    for (int32_t t = 0; t < f->n_trees && st == TM_OK; t++) {
        memset(seen, 0, (size_t)f->tree_n_nodes[t]);
        int32_t depth = 0;
        st = check_tree(f, t, seen, stack, depths, &depth, path, err);
        if (depth > f->max_depth) {
            f->max_depth = depth;
        }
    }
    for (int32_t l = 0; f->lin_n && l < f->n_leaves && st == TM_OK; l++) {
        int64_t end = (int64_t)f->lin_first[l] + f->lin_n[l];
        if (f->lin_first[l] < 0 || f->lin_n[l] < 0 || end > f->n_lin_terms) {
            st = TM_ERR(err, TM_E_PARSE, path, 0, NULL, "linear leaf %d: terms out of range", l);
        }
        for (int32_t k = 0; st == TM_OK && k < f->lin_n[l]; k++) {
            int32_t j = f->lin_feat[f->lin_first[l] + k];
            if (j < 0 || j >= f->n_features) {
                st = TM_ERR(err, TM_E_PARSE, path, 0, NULL,
                            "linear leaf %d: feature %d out of range", l, j);
            }
        }
    }
done:
    tm_free(seen);
    tm_free(stack);
    tm_free(depths);
    return st;
}

static tm_status check_oblivious(tm_forest *f, const char *path, tm_err *err)
{
    for (int32_t t = 0; t < f->n_trees; t++) {
        int32_t d = f->obl_depth[t];
        if (d < 0 || d > 30) {
            return TM_ERR(err, TM_E_PARSE, path, 0, NULL, "tree %d: depth %d outside 0..30", t, d);
        }
        int64_t split_end = (int64_t)f->obl_first[t] + d;
        int64_t leaf_end = (int64_t)f->obl_leaf_first[t] + ((int64_t)1 << d);
        if (f->obl_first[t] < 0 || split_end > f->n_obl_splits || f->obl_leaf_first[t] < 0 ||
            leaf_end > f->n_leaves) {
            return TM_ERR(err, TM_E_PARSE, path, 0, NULL, "tree %d: splits or leaves out of range",
                          t);
        }
        if (d > f->max_depth) {
            f->max_depth = d;
        }
    }
    for (int32_t s = 0; s < f->n_obl_splits; s++) {
        if (f->obl_feature[s] < 0 || f->obl_feature[s] >= f->n_features) {
            return TM_ERR(err, TM_E_PARSE, path, 0, NULL, "split %d: feature %d out of range", s,
                          f->obl_feature[s]);
        }
    }
    return TM_OK;
}

tm_status tm__forest_finish(tm_forest *f, const char *path, tm_err *err)
{
    if (f->n_outputs < 1 || !f->base_score) {
        return TM_ERR(err, TM_E_INTERNAL, path, 0, NULL, "loader set no outputs");
    }
    if (f->n_features < 0) {
        return TM_ERR(err, TM_E_PARSE, path, 0, NULL, "negative feature count");
    }
    if (f->leaf_dim != 1 && f->leaf_dim != f->n_outputs) {
        return TM_ERR(err, TM_E_INTERNAL, path, 0, NULL, "leaf_dim must be 1 or n_outputs");
    }
    for (int32_t t = 0; f->leaf_dim == 1 && t < f->n_trees; t++) {
        if (f->tree_output[t] < 0 || f->tree_output[t] >= f->n_outputs) {
            return TM_ERR(err, TM_E_PARSE, path, 0, NULL, "tree %d: output %d outside 0..%d", t,
                          f->tree_output[t], f->n_outputs - 1);
        }
    }
    for (int32_t t = 0; t < f->n_trees; t++) {
        if (f->tree_weight[t] != 1.0) {
            f->has_tree_weight = true;
        }
    }
    /* Vector leaves are summed in double with no tree weight (CatBoost's
     * way); the predictors have no other path for them, so a loader that
     * asks for float32 sums or tree weights there is refused, not obeyed
     * in part. */
    if (f->leaf_dim != 1 && (f->sum_f32 || f->has_tree_weight)) {
        return TM_ERR(err, TM_E_INTERNAL, path, 0, NULL,
                      "vector leaves (leaf_dim %d) with %s: no predictor sums them that way",
                      f->leaf_dim, f->sum_f32 ? "float32 sums" : "tree weights");
    }
    if (f->n_iterations < 1) {
        f->n_iterations = 1;
    }
    f->max_depth = 0;
    f->has_categorical = false;
    tm_status st = f->oblivious ? check_oblivious(f, path, err) : check_general(f, path, err);
    if (st != TM_OK) {
        return st;
    }
    return tm__forest_compile(f, err);
}

void tm_forest_free(tm_forest *f)
{
    if (!f) {
        return;
    }
    tm__forest_compiled_free(f->compiled);
    tm_free(f->objective);
    for (int32_t i = 0; f->feature_names && i < f->n_features; i++) {
        tm_free(f->feature_names[i]);
    }
    tm_free(f->feature_names);
    for (int i = 0; f->class_names && i < f->n_classes; i++) {
        tm_free(f->class_names[i]);
    }
    tm_free(f->class_names);
    void *arrays[] = {f->base_score,  f->tree_first, f->tree_n_nodes, f->tree_output,
                      f->tree_weight, f->feature,    f->threshold,    f->threshold_f,
                      f->left,        f->right,      f->flags,        f->cat_first,
                      f->cat_n_words, f->leaf_index, f->leaf_values,  f->cat_bits,
                      f->lin_const,   f->lin_first,  f->lin_n,        f->lin_feat,
                      f->lin_coef,    f->obl_depth,  f->obl_first,    f->obl_leaf_first,
                      f->obl_feature, f->obl_border, f->obl_nan_one};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        tm_free(arrays[i]);
    }
    tm_free(f);
}
