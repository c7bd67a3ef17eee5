/* The model while it is trained: growable node (or level) arrays in bin
 * space, evaluated on binned rows during boosting, and turned into a
 * forest at the end. Thresholds become raw-value thresholds through the
 * bin mapper (value bins <= b  <=>  float32(x) < thr[b]), so the forest
 * predicts exactly what the trainer evaluated. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "train/train_int.h"

void tm__train_model_fini(tm__train_model *m)
{
    void *arrays[] = {m->tree_first, m->tree_n, m->tree_leaf_first, m->left,  m->right,
                      m->feat_u,     m->bin,    m->nan_left,        m->value, m->lvl_feat_u,
                      m->lvl_bin,    m->leafv};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        tm_free(arrays[i]);
    }
    memset(m, 0, sizeof *m);
}

/* Grows arrays that share one capacity *cap so that they hold need
 * entries; false when out of memory (arrays stay valid, *cap unchanged). */
static bool grow(void **arrs[], const size_t *elem, int n_arr, int32_t *cap, int32_t need)
{
    if (need <= *cap) {
        return true;
    }
    int32_t nc = *cap ? *cap : 64;
    while (nc < need) {
        nc = nc > INT32_MAX / 2 ? INT32_MAX : nc * 2;
    }
    for (int i = 0; i < n_arr; i++) {
        void *q = tm_realloc_n(*arrs[i], (size_t)nc, elem[i]);
        if (!q) {
            return false;
        }
        *arrs[i] = q;
    }
    *cap = nc;
    return true;
}

tm_status tm__train_model_reserve(tm__train_model *m, int32_t n_nodes, int32_t depth, tm_err *err)
{
    const size_t i4 = sizeof(int32_t), d8 = sizeof(double);
    void **trees[] = {(void **)&m->tree_first, (void **)&m->tree_n, (void **)&m->tree_leaf_first};
    const size_t tree_el[] = {i4, i4, i4};
    bool ok = grow(trees, tree_el, 3, &m->cap_trees, m->n_trees + 1);
    if (ok && !m->oblivious) {
        void **nodes[] = {(void **)&m->left, (void **)&m->right,    (void **)&m->feat_u,
                          (void **)&m->bin,  (void **)&m->nan_left, (void **)&m->value};
        const size_t node_el[] = {i4, i4, i4, i4, 1, d8};
        ok = grow(nodes, node_el, 6, &m->cap_nodes, m->n_nodes + n_nodes);
    } else if (ok) {
        void **lv[] = {(void **)&m->lvl_feat_u, (void **)&m->lvl_bin};
        const size_t lv_el[] = {i4, i4};
        void **leaves[] = {(void **)&m->leafv};
        ok = grow(lv, lv_el, 2, &m->cap_levels, m->n_levels + depth) &&
             grow(leaves, &d8, 1, &m->cap_leafv, m->n_leafv + ((int32_t)1 << depth));
    }
    return ok ? TM_OK : TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
}

void tm__train_model_clear(tm__train_model *m)
{
    m->n_trees = m->n_nodes = m->n_levels = m->n_leafv = 0;
}

tm_status tm__train_model_append(tm__train_model *dst, const tm__train_model *src, int32_t t,
                                 tm_err *err)
{
    int32_t first = src->tree_first[t], n = src->tree_n[t];
    tm_status st = tm__train_model_reserve(dst, n, n, err);
    if (st != TM_OK) {
        return st;
    }
    int32_t k = dst->n_trees;
    if (!dst->oblivious) {
        int32_t d = dst->n_nodes;
        memcpy(dst->left + d, src->left + first, (size_t)n * sizeof *dst->left);
        memcpy(dst->right + d, src->right + first, (size_t)n * sizeof *dst->right);
        memcpy(dst->feat_u + d, src->feat_u + first, (size_t)n * sizeof *dst->feat_u);
        memcpy(dst->bin + d, src->bin + first, (size_t)n * sizeof *dst->bin);
        memcpy(dst->nan_left + d, src->nan_left + first, (size_t)n);
        memcpy(dst->value + d, src->value + first, (size_t)n * sizeof *dst->value);
        dst->tree_first[k] = d;
        dst->tree_n[k] = n;
        dst->tree_leaf_first[k] = 0;
        dst->n_nodes += n;
    } else {
        int32_t d = dst->n_levels, lv = dst->n_leafv, nl = (int32_t)1 << n;
        memcpy(dst->lvl_feat_u + d, src->lvl_feat_u + first, (size_t)n * sizeof(int32_t));
        memcpy(dst->lvl_bin + d, src->lvl_bin + first, (size_t)n * sizeof(int32_t));
        memcpy(dst->leafv + lv, src->leafv + src->tree_leaf_first[t], (size_t)nl * sizeof(double));
        dst->tree_first[k] = d;
        dst->tree_n[k] = n;
        dst->tree_leaf_first[k] = lv;
        dst->n_levels += n;
        dst->n_leafv += nl;
    }
    dst->n_trees++;
    return TM_OK;
}

double tm__train_model_eval(const tm__train_model *m, const tm__train_bins *b, int32_t t,
                            const uint8_t *row)
{
    int32_t first = m->tree_first[t];
    if (m->oblivious) {
        int32_t idx = 0;
        for (int32_t i = 0; i < m->tree_n[t]; i++) {
            int32_t u = m->lvl_feat_u[first + i], v = row[u];
            idx |= (v != b->n_bins[u] && v > m->lvl_bin[first + i]) << i;
        }
        return m->leafv[m->tree_leaf_first[t] + idx];
    }
    int32_t nd = first;
    while (m->left[nd] >= 0) {
        int32_t u = m->feat_u[nd], v = row[u];
        bool go_left = v == b->n_bins[u] ? m->nan_left[nd] : v <= m->bin[nd];
        nd = first + (go_left ? m->left[nd] : m->right[nd]);
    }
    return m->value[nd];
}

static float raw_threshold(const tm__train_bins *b, int32_t u, int32_t bin)
{
    return b->thr[b->thr_first[u] + bin];
}

static tm_status fill_general(tm_forest *f, const tm__train_model *m, const tm__train_bins *b,
                              int32_t n_trees, int32_t n_out, const double *base, tm_err *err)
{
    int32_t n_nodes = 0, n_leaves = 0;
    for (int32_t t = 0; t < n_trees; t++) {
        n_nodes += m->tree_n[t];
        n_leaves += (m->tree_n[t] + 1) / 2;
    }
    tm_status st = tm__forest_alloc_nodes(f, n_nodes, n_leaves, err);
    if (st != TM_OK) {
        return st;
    }
    f->cmp = TM__CMP_LT_F32;
    int32_t nd = 0, leaf = 0;
    for (int32_t t = 0; t < n_trees; t++) {
        int32_t first = m->tree_first[t];
        f->tree_first[t] = nd;
        f->tree_n_nodes[t] = m->tree_n[t];
        f->tree_output[t] = t % n_out;
        for (int32_t i = 0; i < m->tree_n[t]; i++, nd++) {
            int32_t src = first + i;
            if (m->left[src] < 0) {
                f->flags[nd] = TM__NODE_LEAF;
                f->leaf_index[nd] = leaf;
                f->leaf_values[leaf++] = t < n_out ? m->value[src] + base[t] : m->value[src];
                continue;
            }
            int32_t u = m->feat_u[src];
            float thr = raw_threshold(b, u, m->bin[src]);
            f->feature[nd] = b->used[u];
            f->threshold_f[nd] = thr;
            f->threshold[nd] = (double)thr;
            f->left[nd] = f->tree_first[t] + m->left[src];
            f->right[nd] = f->tree_first[t] + m->right[src];
            f->flags[nd] = m->nan_left[src] ? TM__NODE_NAN_LEFT : 0;
        }
    }
    return TM_OK;
}

static tm_status fill_oblivious(tm_forest *f, const tm__train_model *m, const tm__train_bins *b,
                                int32_t n_trees, int32_t n_out, const double *base, tm_err *err)
{
    int32_t n_splits = 0, n_leaves = 0;
    for (int32_t t = 0; t < n_trees; t++) {
        n_splits += m->tree_n[t];
        n_leaves += (int32_t)1 << m->tree_n[t];
    }
    tm_status st = tm__forest_alloc_oblivious(f, n_splits, n_leaves, err);
    if (st != TM_OK) {
        return st;
    }
    f->cmp = TM__CMP_LE_F32;
    int32_t s = 0, leaf = 0;
    for (int32_t t = 0; t < n_trees; t++) {
        int32_t d = m->tree_n[t], first = m->tree_first[t];
        f->tree_output[t] = t % n_out;
        f->obl_depth[t] = d;
        f->obl_first[t] = s;
        f->obl_leaf_first[t] = leaf;
        for (int32_t i = 0; i < d; i++, s++) {
            int32_t u = m->lvl_feat_u[first + i];
            /* bit 1 when float32(x) > border, i.e. float32(x) >= thr */
            f->obl_feature[s] = b->used[u];
            f->obl_border[s] = nextafterf(raw_threshold(b, u, m->lvl_bin[first + i]), -INFINITY);
            f->obl_nan_one[s] = 0;
        }
        for (int32_t l = 0; l < ((int32_t)1 << d); l++, leaf++) {
            double v = m->leafv[m->tree_leaf_first[t] + l];
            f->leaf_values[leaf] = t < n_out ? v + base[t] : v;
        }
    }
    return TM_OK;
}

static tm_status set_header(tm_forest *f, const tm_train_opts *o, int n_classes, int32_t n_out,
                            int32_t n_features, tm_err *err)
{
    char obj[64];
    f->n_classes = n_classes;
    f->n_features = n_features;
    if (o->objective == TM_TRAIN_MULTICLASS) {
        snprintf(obj, sizeof obj, "multiclass num_class:%d", n_classes);
        f->link = TM__LINK_SOFTMAX;
        f->default_output = TM_FOREST_OUT_PROBABILITY;
    } else if (o->objective == TM_TRAIN_BINARY) {
        snprintf(obj, sizeof obj, "binary sigmoid:1");
        f->link = TM__LINK_SIGMOID;
        f->default_output = TM_FOREST_OUT_PROBABILITY;
    } else {
        snprintf(obj, sizeof obj, "regression");
        f->link = TM__LINK_IDENTITY;
        f->default_output = TM_FOREST_OUT_VALUE;
    }
    f->objective = tm_strdup(obj);
    if (!f->objective) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    if (o->feature_names) {
        f->feature_names = tm_calloc((size_t)n_features + 1, sizeof *f->feature_names);
        if (!f->feature_names) {
            return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
        }
        for (int32_t j = 0; j < n_features; j++) {
            f->feature_names[j] = tm_strdup(o->feature_names[j] ? o->feature_names[j] : "");
            if (!f->feature_names[j]) {
                return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
            }
        }
    }
    return tm__forest_alloc_outputs(f, n_out, err);
}

tm_status tm__train_model_to_forest(const tm__train_model *m, const tm__train_bins *b,
                                    int32_t n_trees, int32_t n_outputs, const double *base,
                                    const tm_train_opts *o, int n_classes, tm_forest **out,
                                    tm_err *err)
{
    tm_forest *f = NULL;
    *out = NULL;
    tm_status st = tm__forest_new(&f, err);
    if (st != TM_OK) {
        return st;
    }
    f->family = m->oblivious ? TM_FOREST_CATBOOST : TM_FOREST_LIGHTGBM;
    f->format = m->oblivious ? TM_FOREST_FORMAT_CATBOOST_JSON : TM_FOREST_FORMAT_LIGHTGBM;
    st = set_header(f, o, n_classes, n_outputs, b->n_features, err);
    if (st == TM_OK) {
        st = tm__forest_alloc_trees(f, n_trees, err);
    }
    if (st == TM_OK) {
        st = m->oblivious ? fill_oblivious(f, m, b, n_trees, n_outputs, base, err)
                          : fill_general(f, m, b, n_trees, n_outputs, base, err);
    }
    f->n_iterations = n_trees / n_outputs;
    if (st == TM_OK) {
        st = tm__forest_finish(f, "trained model", err);
    }
    if (st != TM_OK) {
        tm_forest_free(f);
        return st;
    }
    *out = f;
    return TM_OK;
}
