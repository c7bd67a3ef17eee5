/* The forest builder: how a trainer makes a tm_forest without touching the
 * IR's arrays. The shape fixes the sizes up front; trees, nodes and levels
 * are appended in order, and finish validates everything (counts against
 * the shape, then tm__forest_finish's graph checks) before the forest is
 * handed over. A call past the shape's sizes is remembered and reported by
 * finish, so appending has no error path. */
#include <string.h>

#include "forest/forest_int.h"

struct tm_forest_builder {
    tm_forest *f;
    int32_t tree, node, leaf, level; /* next tree, node, leaf, oblivious level */
    int32_t tree_end;                /* end of the current graph tree's nodes */
    bool overflow;                   /* a call went past the shape's sizes */
};

static const tm__link links[] = {TM__LINK_IDENTITY, TM__LINK_SIGMOID, TM__LINK_SOFTMAX};

static tm_status set_names(tm_forest *f, const tm_forest_shape *s, tm_err *err)
{
    if (!(f->objective = tm_strdup(s->objective ? s->objective : ""))) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    if (!s->feature_names) {
        return TM_OK;
    }
    f->feature_names = tm_calloc((size_t)s->n_features + 1, sizeof *f->feature_names);
    for (int32_t j = 0; f->feature_names && j < s->n_features; j++) {
        const char *name = s->feature_names[j] ? s->feature_names[j] : "";
        if (!(f->feature_names[j] = tm_strdup(name))) {
            return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
        }
    }
    return f->feature_names ? TM_OK : TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
}

tm_status tm_forest_builder_new(const tm_forest_shape *s, tm_forest_builder **out, tm_err *err)
{
    *out = NULL;
    if (s->n_outputs < 1 || s->n_trees < 0 || s->n_nodes < 0 || s->n_leaves < 0 ||
        s->n_features < 0 || (unsigned)s->link >= sizeof links / sizeof links[0]) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, NULL, "forest builder: invalid shape");
    }
    tm_forest_builder *b = tm_calloc(1, sizeof *b);
    if (!b) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    tm_status st = tm__forest_new(&b->f, err);
    tm_forest *f = b->f;
    if (st == TM_OK) {
        f->family = s->family;
        f->format = s->format;
        f->link = links[s->link];
        f->default_output = s->default_output;
        f->n_classes = s->n_classes;
        f->n_features = s->n_features;
        f->n_iterations = s->n_iterations;
        f->cmp = s->oblivious ? TM__CMP_LE_F32 : TM__CMP_LT_F32;
        st = set_names(f, s, err);
    }
    st = st == TM_OK ? tm__forest_alloc_outputs(f, s->n_outputs, err) : st;
    st = st == TM_OK ? tm__forest_alloc_trees(f, s->n_trees, err) : st;
    if (st == TM_OK) {
        st = s->oblivious ? tm__forest_alloc_oblivious(f, s->n_nodes, s->n_leaves, err)
                          : tm__forest_alloc_nodes(f, s->n_nodes, s->n_leaves, err);
    }
    if (st != TM_OK) {
        tm_forest_builder_free(b);
        return st;
    }
    *out = b;
    return TM_OK;
}

void tm_forest_builder_tree(tm_forest_builder *b, int32_t n_nodes)
{
    tm_forest *f = b->f;
    if (f->oblivious || b->tree >= f->n_trees || b->node != b->tree_end || n_nodes < 1 ||
        n_nodes > f->n_nodes - b->node) {
        b->overflow = true;
        return;
    }
    f->tree_first[b->tree] = b->node;
    f->tree_n_nodes[b->tree] = n_nodes;
    f->tree_output[b->tree] = b->tree % f->n_outputs;
    b->tree_end = b->node + n_nodes;
    b->tree++;
}

void tm_forest_builder_split(tm_forest_builder *b, int32_t feature, float thr, int32_t left,
                             int32_t right, bool nan_left)
{
    tm_forest *f = b->f;
    if (b->node >= b->tree_end) {
        b->overflow = true;
        return;
    }
    int32_t nd = b->node++, first = f->tree_first[b->tree - 1];
    f->feature[nd] = feature;
    f->threshold_f[nd] = thr;
    f->threshold[nd] = (double)thr;
    f->left[nd] = first + left;
    f->right[nd] = first + right;
    f->flags[nd] = nan_left ? TM__NODE_NAN_LEFT : 0;
}

void tm_forest_builder_leaf(tm_forest_builder *b, double value)
{
    tm_forest *f = b->f;
    if (b->node >= b->tree_end || b->leaf >= f->n_leaves) {
        b->overflow = true;
        return;
    }
    int32_t nd = b->node++;
    f->flags[nd] = TM__NODE_LEAF;
    f->leaf_index[nd] = b->leaf;
    f->leaf_values[b->leaf++] = value;
}

void tm_forest_builder_oblivious(tm_forest_builder *b, int32_t depth, const int32_t *feature,
                                 const float *border, const double *leaves)
{
    tm_forest *f = b->f;
    int32_t n_leaves = depth >= 0 && depth < 31 ? (int32_t)1 << depth : -1;
    if (!f->oblivious || b->tree >= f->n_trees || n_leaves < 0 ||
        depth > f->n_obl_splits - b->level || n_leaves > f->n_leaves - b->leaf) {
        b->overflow = true;
        return;
    }
    int32_t t = b->tree++;
    f->tree_output[t] = t % f->n_outputs;
    f->obl_depth[t] = depth;
    f->obl_first[t] = b->level;
    f->obl_leaf_first[t] = b->leaf;
    for (int32_t i = 0; i < depth; i++, b->level++) {
        f->obl_feature[b->level] = feature[i];
        f->obl_border[b->level] = border[i];
        f->obl_nan_one[b->level] = 0;
    }
    memcpy(f->leaf_values + b->leaf, leaves, (size_t)n_leaves * sizeof *leaves);
    b->leaf += n_leaves;
}

tm_status tm_forest_builder_finish(tm_forest_builder *b, tm_forest **out, tm_err *err)
{
    *out = NULL;
    tm_forest *f = b->f;
    tm_status st = TM_OK;
    int32_t nodes = f->oblivious ? b->level : b->node;
    int32_t want = f->oblivious ? f->n_obl_splits : f->n_nodes;
    if (b->overflow || b->tree != f->n_trees || nodes != want || b->leaf != f->n_leaves) {
        st = TM_ERR(err, TM_E_INVALID, NULL, 0, NULL,
                    "forest builder: %d trees, %d nodes, %d leaves added, the shape says %d, %d, "
                    "%d%s",
                    (int)b->tree, (int)nodes, (int)b->leaf, (int)f->n_trees, (int)want,
                    (int)f->n_leaves, b->overflow ? " (and a call went past them)" : "");
    }
    st = st == TM_OK ? tm__forest_finish(f, "built forest", err) : st;
    if (st == TM_OK) {
        b->f = NULL;
        *out = f;
    }
    tm_forest_builder_free(b);
    return st;
}

void tm_forest_builder_free(tm_forest_builder *b)
{
    if (!b) {
        return;
    }
    tm_forest_free(b->f);
    tm_free(b);
}
