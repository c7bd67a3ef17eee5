/* The batch predictor. At load time each tree is compiled into a compact
 * layout: 12/16-byte nodes in breadth-first order with siblings adjacent,
 * so a step is one load and one compare (next = left + went_right), and
 * leaves loop onto themselves, so a block of rows can walk a tree in
 * lockstep for `depth` steps with no branch on the row. Rows are taken in
 * blocks of TM__BLOCK per thread (OpenMP, static schedule), converted once
 * to the family's compare precision. Trees with categorical, zero-missing
 * or linear leaves fall back to the reference walk (predict_ref.c). */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "forest/forest_int.h"
#include "forest/predict_compiled.h"

void tm__forest_compiled_free(struct tm__compiled *c)
{
    if (!c) {
        return;
    }
    tm_free(c->nf);
    tm_free(c->nd);
    tm_free(c->leaf_f);
    tm_free(c->leaf_d);
    tm_free(c->leaf_of);
    tm_free(c->root);
    tm_free(c->steps);
    tm_free(c->nan_fill);
    tm_free(c);
}

size_t tm__forest_compiled_bytes(const struct tm__compiled *c)
{
    if (!c) {
        return 0;
    }
    size_t per_node = (c->f32 ? sizeof(cnode_f) : sizeof(cnode_d)) + sizeof(float) +
                      sizeof(double) + sizeof(int32_t);
    return sizeof *c + (size_t)c->n_nodes * per_node;
}

/* A tree the fast path can take: plain numerical splits only. */
static bool compilable(const tm_forest *f, int32_t t)
{
    if (f->lin_const) {
        return false;
    }
    int32_t first = f->tree_first[t], n = f->tree_n_nodes[t];
    for (int32_t i = first; i < first + n; i++) {
        uint8_t fl = f->flags[i];
        if (fl & TM__NODE_LEAF) {
            continue;
        }
        if (fl & (TM__NODE_CATEGORICAL | TM__NODE_ZERO_MISSING)) {
            return false;
        }
        if (f->cmp == TM__CMP_LT_F32 && !(f->threshold_f[i] > -INFINITY)) {
            return false; /* x < -inf (or NaN) has no <= twin */
        }
    }
    return true;
}

/* The <= threshold equivalent to the family's compare. */
static double le_threshold(const tm_forest *f, int32_t nd)
{
    switch (f->cmp) {
    case TM__CMP_LT_F32:
        return (double)nextafterf(f->threshold_f[nd], -INFINITY);
    case TM__CMP_LE_F32:
        return (double)f->threshold_f[nd];
    case TM__CMP_LE_F64:
        break;
    }
    return f->threshold[nd];
}

/* Lays out tree t breadth-first from compiled index *next; returns its
 * depth and the mean leaf depth through *mean_depth. queue has room for the
 * tree's nodes. */
static int32_t layout_tree(const tm_forest *f, struct tm__compiled *c, int32_t t,
                           int32_t *next, int32_t *queue, int32_t *qdepth, double *mean_depth)
{
    int32_t head = 0, tail = 0, max_depth = 0, n_leaves = 0;
    double sum_depth = 0.0;
    int32_t root = (*next)++;
    queue[tail] = f->tree_first[t];
    qdepth[tail++] = 0;
    c->root[t] = root;
    int32_t slot = root;
    for (; head < tail; head++, slot++) {
        int32_t nd = queue[head], d = qdepth[head];
        if (f->flags[nd] & TM__NODE_LEAF) {
            int32_t leaf = f->leaf_index[nd];
            double v = f->leaf_values[(size_t)leaf * (size_t)f->leaf_dim] * f->tree_weight[t];
            c->leaf_of[slot] = leaf;
            c->leaf_f[slot] = (float)v;
            c->leaf_d[slot] = v;
            if (c->f32) {
                c->nf[slot] = (cnode_f){0, NAN, slot - 1};
            } else {
                c->nd[slot] = (cnode_d){0, slot - 1, NAN};
            }
            max_depth = d > max_depth ? d : max_depth;
            sum_depth += d;
            n_leaves++;
            continue;
        }
        int32_t fe = f->feature[nd] | ((f->flags[nd] & TM__NODE_NAN_LEFT) ? FE_NAN_LEFT : 0);
        int32_t left = *next;
        *next += 2;
        if (c->f32) {
            c->nf[slot] = (cnode_f){fe, (float)le_threshold(f, nd), left};
        } else {
            c->nd[slot] = (cnode_d){fe, left, le_threshold(f, nd)};
        }
        c->leaf_of[slot] = -1;
        queue[tail] = f->left[nd];
        qdepth[tail++] = d + 1;
        queue[tail] = f->right[nd];
        qdepth[tail++] = d + 1;
    }
    *mean_depth = n_leaves ? sum_depth / n_leaves : 0.0;
    return max_depth;
}

static tm_status compile_general(tm_forest *f, struct tm__compiled *c, tm_err *err)
{
    tm_status st = TM_OK;
    int32_t total = 0, max_n = 1;
    for (int32_t t = 0; t < f->n_trees; t++) {
        if (compilable(f, t)) {
            total += f->tree_n_nodes[t];
            max_n = f->tree_n_nodes[t] > max_n ? f->tree_n_nodes[t] : max_n;
        }
    }
    int32_t *queue = tm_malloc_n((size_t)max_n, sizeof *queue);
    int32_t *qdepth = tm_malloc_n((size_t)max_n, sizeof *qdepth);
    c->n_nodes = total;
    if (c->f32) {
        c->nf = tm_aligned_alloc((size_t)total * sizeof *c->nf);
    } else {
        c->nd = tm_aligned_alloc((size_t)total * sizeof *c->nd);
    }
    c->leaf_f = tm_malloc_n((size_t)total + 1, sizeof *c->leaf_f);
    c->leaf_d = tm_malloc_n((size_t)total + 1, sizeof *c->leaf_d);
    c->leaf_of = tm_malloc_n((size_t)total + 1, sizeof *c->leaf_of);
    if (!queue || !qdepth || (c->f32 ? !c->nf : !c->nd) || !c->leaf_f || !c->leaf_d ||
        !c->leaf_of) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory compiling the forest");
        goto done;
    }
    int32_t next = 0;
    for (int32_t t = 0; t < f->n_trees; t++) {
        c->root[t] = -1;
        if (!compilable(f, t)) {
            continue;
        }
        double mean = 0.0;
        int32_t depth = layout_tree(f, c, t, &next, queue, qdepth, &mean);
        /* Lockstep wastes steps on short paths; walk lopsided trees. */
        c->steps[t] = (double)depth <= mean + 4.0 ? depth : 0;
    }
done:
    tm_free(queue);
    tm_free(qdepth);
    return st;
}

/* Oblivious trees: NaN handling folds into the input when every split on
 * a feature treats NaN the same way (always so for CatBoost exports). */
static tm_status compile_oblivious(tm_forest *f, struct tm__compiled *c, tm_err *err)
{
    c->nan_fill = tm_malloc_n((size_t)f->n_features + 1, sizeof *c->nan_fill);
    uint8_t *seen = tm_calloc((size_t)f->n_features + 1, 1);
    if (!c->nan_fill || !seen) {
        tm_free(seen);
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory compiling the forest");
    }
    c->obl_fast = true;
    for (int32_t s = 0; s < f->n_obl_splits; s++) {
        int32_t j = f->obl_feature[s];
        float fill = f->obl_nan_one[s] ? INFINITY : -INFINITY;
        if (!(f->obl_border[s] > -INFINITY && f->obl_border[s] < INFINITY)) {
            c->obl_fast = false; /* an infinite border would catch the fill */
        }
        if (seen[j] && c->nan_fill[j] != fill) {
            c->obl_fast = false;
        }
        seen[j] = 1;
        c->nan_fill[j] = fill;
    }
    tm_free(seen);
    return TM_OK;
}

tm_status tm__forest_compile(tm_forest *f, tm_err *err)
{
    tm__forest_compiled_free(f->compiled);
    f->compiled = NULL;
    struct tm__compiled *c = tm_calloc(1, sizeof *c);
    if (!c) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory compiling the forest");
    }
    c->f32 = f->cmp != TM__CMP_LE_F64;
    c->root = tm_malloc_n((size_t)f->n_trees + 1, sizeof *c->root);
    c->steps = tm_calloc((size_t)f->n_trees + 1, sizeof *c->steps);
    tm_status st = TM_OK;
    if (!c->root || !c->steps) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory compiling the forest");
    } else if (f->oblivious) {
        st = compile_oblivious(f, c, err);
    } else {
        st = compile_general(f, c, err);
    }
    if (st != TM_OK) {
        tm__forest_compiled_free(c);
        return st;
    }
    f->compiled = c;
    return TM_OK;
}
