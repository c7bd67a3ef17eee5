/* The model while it is trained: growable node (or level) arrays in bin
 * space, evaluated on binned rows during boosting, and turned into a
 * forest at the end through forest's builder (tm_forest_builder). Thresholds become raw-value
 * thresholds through the bin mapper (value bins <= b  <=>  float32(x) < thr[b]), so the forest
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

/* Node graphs: each node in order, children within its tree. */
static void add_general(tm_forest_builder *fb, const tm__train_model *m, const tm__train_bins *b,
                        int32_t n_trees, int32_t n_out, const double *base)
{
    for (int32_t t = 0; t < n_trees; t++) {
        int32_t first = m->tree_first[t];
        tm_forest_builder_tree(fb, m->tree_n[t]);
        for (int32_t i = 0; i < m->tree_n[t]; i++) {
            int32_t src = first + i;
            if (m->left[src] < 0) {
                tm_forest_builder_leaf(fb, t < n_out ? m->value[src] + base[t] : m->value[src]);
                continue;
            }
            int32_t u = m->feat_u[src];
            tm_forest_builder_split(fb, b->used[u], raw_threshold(b, u, m->bin[src]), m->left[src],
                                    m->right[src], m->nan_left[src]);
        }
    }
}

/* Oblivious trees: bit 1 when float32(x) > border, i.e. float32(x) >= thr. */
static tm_status add_oblivious(tm_forest_builder *fb, const tm__train_model *m,
                               const tm__train_bins *b, int32_t n_trees, int32_t n_out,
                               const double *base, tm_err *err)
{
    int32_t feat[31];
    float border[31];
    int32_t max_depth = 0;
    for (int32_t t = 0; t < n_trees; t++) {
        max_depth = m->tree_n[t] > max_depth ? m->tree_n[t] : max_depth;
    }
    if (max_depth > 30) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, NULL, "oblivious tree deeper than 30");
    }
    double *lv = tm_malloc_n((size_t)1 << max_depth, sizeof *lv);
    if (!lv) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    for (int32_t t = 0; t < n_trees; t++) {
        int32_t d = m->tree_n[t], first = m->tree_first[t];
        for (int32_t i = 0; i < d; i++) {
            int32_t u = m->lvl_feat_u[first + i];
            feat[i] = b->used[u];
            border[i] = nextafterf(raw_threshold(b, u, m->lvl_bin[first + i]), -INFINITY);
        }
        for (int32_t l = 0; l < ((int32_t)1 << d); l++) {
            double v = m->leafv[m->tree_leaf_first[t] + l];
            lv[l] = t < n_out ? v + base[t] : v;
        }
        tm_forest_builder_oblivious(fb, d, feat, border, lv);
    }
    tm_free(lv);
    return TM_OK;
}

tm_status tm__train_model_to_forest(const tm__train_model *m, const tm__train_bins *b,
                                    int32_t n_trees, int32_t n_outputs, const double *base,
                                    const tm_train_opts *o, int n_classes, tm_forest **out,
                                    tm_err *err)
{
    *out = NULL;
    tm_forest_shape s;
    memset(&s, 0, sizeof s);
    char obj[64];
    s.family = m->oblivious ? TM_FOREST_CATBOOST : TM_FOREST_LIGHTGBM;
    s.format = m->oblivious ? TM_FOREST_FORMAT_CATBOOST_JSON : TM_FOREST_FORMAT_LIGHTGBM;
    if (o->objective == TM_TRAIN_MULTICLASS) {
        snprintf(obj, sizeof obj, "multiclass num_class:%d", n_classes);
        s.link = TM_FOREST_LINK_SOFTMAX;
        s.default_output = TM_FOREST_OUT_PROBABILITY;
    } else if (o->objective == TM_TRAIN_BINARY) {
        snprintf(obj, sizeof obj, "binary sigmoid:1");
        s.link = TM_FOREST_LINK_SIGMOID;
        s.default_output = TM_FOREST_OUT_PROBABILITY;
    } else {
        snprintf(obj, sizeof obj, "regression");
        s.link = TM_FOREST_LINK_IDENTITY;
        s.default_output = TM_FOREST_OUT_VALUE;
    }
    s.objective = obj;
    s.n_classes = n_classes;
    s.n_features = b->n_features;
    s.feature_names = o->feature_names;
    s.n_outputs = n_outputs;
    s.n_trees = n_trees;
    s.n_iterations = n_trees / n_outputs;
    s.oblivious = m->oblivious;
    for (int32_t t = 0; t < n_trees; t++) {
        s.n_nodes += m->tree_n[t];
        s.n_leaves += m->oblivious ? (int32_t)1 << m->tree_n[t] : (m->tree_n[t] + 1) / 2;
    }
    tm_forest_builder *fb = NULL;
    tm_status st = tm_forest_builder_new(&s, &fb, err);
    if (st != TM_OK) {
        return st;
    }
    if (m->oblivious) {
        st = add_oblivious(fb, m, b, n_trees, n_outputs, base, err);
    } else {
        add_general(fb, m, b, n_trees, n_outputs, base);
    }
    if (st != TM_OK) {
        tm_forest_builder_free(fb);
        return st;
    }
    return tm_forest_builder_finish(fb, out, err);
}
