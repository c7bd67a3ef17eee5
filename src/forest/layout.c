/* The layout compiler: at load time (tm__forest_finish) each tree is
 * turned into the form the batch predictor (predict_batch.c) runs.
 *
 * Complete trees. A tree whose paths are about equally long and at most
 * TM__HEAP_MAX_DEPTH deep is padded into a complete tree in heap order
 * (children of node i at 2i+1 and 2i+2, shallower leaves copied down),
 * 8 bytes a node (feature offset, threshold). The rows of a block are
 * converted once into a feature-major block holding each input twice, NaN
 * as +inf and as -inf, so a node's missing-value side is a choice of copy
 * and a step is one node load, one input load and one compare, with no
 * branch. Every step depends on the previous node load, so a single walk
 * is bound by load latency; sixteen rows walk a tree together to hide it,
 * after which the ~7 instructions per step and the two load ports bound
 * the rate.
 *
 * Pointer trees. Deeper or lopsided trees of more than 64 leaves keep
 * 12/16-byte nodes in breadth-first order with siblings adjacent
 * (next = left + went_right);
 * leaves loop onto themselves, so a block can walk a tree in lockstep for
 * `depth` steps with no branch on the row, and lopsided trees walk each
 * row to its leaf.
 *
 * Bitvector trees (layout_qs.c, predict_qs.c, predict_ranks.c). Every
 * other tree of up to 64 leaves, and any tree of up to 32 leaves, is
 * evaluated node by node with leaf bitmasks (QuickScorer), 32 rows at once
 * on integer ranks of the inputs: no dependent load and no branch per
 * level, so depth costs nothing. The kernels CPUs take run 16-bit ranks
 * and 16-bit leaf words: with AVX2 a compare covers 16 rows, with AVX-512
 * 32 (a compare into a lane mask and a masked blend). A 31-leaf LightGBM
 * tree costs about 26 instructions per row with AVX2, ranks, exit and leaf
 * included (callgrind), where the pointer walk took 146 and a mispredicted
 * branch. Only under the 32-bit kernels of plain C and AVX2 do complete
 * trees of more than 32 leaves stay in the heap layout, which measured
 * faster on them than the two-word 32-bit form.
 *
 * Trees with categorical splits, zero-as-missing or linear leaves take the
 * scalar reference walk (predict_ref.c). No -march=native: the AVX2 and
 * AVX-512 kernels are chosen at run time, and the static binary runs on
 * any x86-64. */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#    include <omp.h>
#endif

#include "forest/forest_int.h"
#include "forest/layout.h"

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
    tm_free(c->heap_first);
    tm_free(c->heap_leaf);
    tm_free(c->hf);
    tm_free(c->hd);
    tm_free(c->hleaf_f);
    tm_free(c->hleaf_d);
    tm_free(c->hleaf_of);
    tm_free(c->read);
    tm__forest_qs_free(c);
    tm_free(c);
}

size_t tm__forest_compiled_bytes(const struct tm__compiled *c)
{
    if (!c) {
        return 0;
    }
    size_t per_node = (c->f32 ? sizeof(cnode_f) : sizeof(cnode_d)) + sizeof(float) +
                      sizeof(double) + sizeof(int32_t);
    size_t heap = (size_t)c->n_heap_nodes * (c->f32 ? sizeof(hnode_f) : sizeof(hnode_d)) +
                  (size_t)c->n_heap_leaves * (sizeof(float) + sizeof(double) + sizeof(int32_t));
    return sizeof *c + (size_t)c->n_nodes * per_node + heap + c->qs_bytes;
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
double tm__forest_le_threshold(const tm_forest *f, int32_t nd)
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
static int32_t layout_tree(const tm_forest *f, struct tm__compiled *c, int32_t t, int32_t *next,
                           int32_t *queue, int32_t *qdepth, double *mean_depth)
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
            c->nf[slot] = (cnode_f){fe, (float)tm__forest_le_threshold(f, nd), left};
        } else {
            c->nd[slot] = (cnode_d){fe, left, tm__forest_le_threshold(f, nd)};
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

/* Fills heap slot i (depth d of a tree padded to depth D) from IR node nd.
 * A leaf above depth D becomes a node that always goes right, with the
 * leaf copied into every slot below it. */
static void fill_heap(const tm_forest *f, struct tm__compiled *c, int32_t t, int32_t nd, int64_t i,
                      int32_t d, int32_t D)
{
    int64_t hn = c->heap_first[t], hl = c->heap_leaf[t];
    int64_t n_internal = ((int64_t)1 << D) - 1;
    if (d == D) {
        int32_t leaf = f->leaf_index[nd];
        double v = f->leaf_values[(size_t)leaf * (size_t)f->leaf_dim] * f->tree_weight[t];
        c->hleaf_f[hl + i - n_internal] = (float)v;
        c->hleaf_d[hl + i - n_internal] = v;
        c->hleaf_of[hl + i - n_internal] = leaf;
        return;
    }
    /* NaN reads as +inf from region 0 (goes right) and as -inf from
     * region 1 (goes left); pass-through nodes may go either way. */
    bool leaf = f->flags[nd] & TM__NODE_LEAF;
    int32_t region = !leaf && (f->flags[nd] & TM__NODE_NAN_LEFT) ? f->n_features : 0;
    int32_t fe = leaf ? 0 : (f->feature[nd] + region) * TM__BLOCK; /* block offset */
    double thr = leaf ? 0.0 : tm__forest_le_threshold(f, nd);
    if (c->f32) {
        c->hf[hn + i] = (hnode_f){fe, (float)thr};
    } else {
        c->hd[hn + i] = (hnode_d){fe, 0, thr};
    }
    fill_heap(f, c, t, leaf ? nd : f->left[nd], 2 * i + 1, d + 1, D);
    fill_heap(f, c, t, leaf ? nd : f->right[nd], 2 * i + 2, d + 1, D);
}

/* Heap nodes compare without a NaN test, so thresholds must be finite. */
static bool finite_thresholds(const tm_forest *f, int32_t t)
{
    int32_t first = f->tree_first[t], n = f->tree_n_nodes[t];
    for (int32_t i = first; i < first + n; i++) {
        if (!(f->flags[i] & TM__NODE_LEAF) && !isfinite(tm__forest_le_threshold(f, i))) {
            return false;
        }
    }
    return true;
}

bool tm__forest_heap_fits(const tm_forest *f, const struct tm__compiled *c, int32_t t)
{
    int32_t D = c->steps[t];
    return c->root[t] >= 0 && D > 0 && D <= TM__HEAP_MAX_DEPTH && finite_thresholds(f, t);
}

/* Re-lays lockstep trees shallow enough as complete heap trees. */
static tm_status compile_heap(tm_forest *f, struct tm__compiled *c, tm_err *err)
{
    c->heap_first = tm_malloc_n((size_t)f->n_trees + 1, sizeof *c->heap_first);
    c->heap_leaf = tm_malloc_n((size_t)f->n_trees + 1, sizeof *c->heap_leaf);
    if (!c->heap_first || !c->heap_leaf) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory compiling the forest");
    }
    int64_t n_nodes = 0, n_leaves = 0;
    bool narrow = (int64_t)f->n_features * 3 * TM__BLOCK > FE_MASK; /* offsets must fit */
    for (int32_t t = 0; t < f->n_trees; t++) {
        int32_t D = c->steps[t];
        c->heap_first[t] = -1;
        if (narrow || c->qs_first[t] >= 0 || !tm__forest_heap_fits(f, c, t) ||
            n_leaves > INT32_MAX / 2) {
            continue;
        }
        c->heap_first[t] = (int32_t)n_nodes;
        c->heap_leaf[t] = (int32_t)n_leaves;
        n_nodes += ((int64_t)1 << D) - 1;
        n_leaves += (int64_t)1 << D;
    }
    c->n_heap_nodes = n_nodes;
    c->n_heap_leaves = n_leaves;
    if (c->f32) {
        c->hf = tm_aligned_alloc((size_t)(n_nodes + 1) * sizeof *c->hf);
    } else {
        c->hd = tm_aligned_alloc((size_t)(n_nodes + 1) * sizeof *c->hd);
    }
    c->hleaf_f = tm_malloc_n((size_t)n_leaves + 1, sizeof *c->hleaf_f);
    c->hleaf_d = tm_malloc_n((size_t)n_leaves + 1, sizeof *c->hleaf_d);
    c->hleaf_of = tm_malloc_n((size_t)n_leaves + 1, sizeof *c->hleaf_of);
    if ((c->f32 ? !c->hf : !c->hd) || !c->hleaf_f || !c->hleaf_d || !c->hleaf_of) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory compiling the forest");
    }
    bool pointer_trees = false;
    for (int32_t t = 0; t < f->n_trees; t++) {
        if (c->heap_first[t] >= 0) {
            fill_heap(f, c, t, f->tree_first[t], 0, 0, c->steps[t]);
        } else if (c->root[t] >= 0 && c->qs_first[t] < 0) {
            pointer_trees = true;
        }
    }
    if (n_nodes == 0) {
        return TM_OK;
    }
    /* Pointer-layout nodes read the plain copy, the third region. */
    c->x_regions = pointer_trees ? 3 : 2;
    for (int32_t i = 0; pointer_trees && i < c->n_nodes; i++) {
        if (c->f32) {
            c->nf[i].fe += 2 * f->n_features;
        } else {
            c->nd[i].fe += 2 * f->n_features;
        }
    }
    return TM_OK;
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

/* The inputs the trees read (split features, linear-leaf features, and
 * input 0, which leaves and pass-through heap nodes compare against), so
 * a block converts only those: a small model on a wide input reads few. */
static tm_status find_read(const tm_forest *f, struct tm__compiled *c, tm_err *err)
{
    uint8_t *seen = tm_calloc((size_t)f->n_features + 1, 1);
    c->read = tm_malloc_n((size_t)f->n_features + 1, sizeof *c->read);
    if (!seen || !c->read) {
        tm_free(seen);
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory compiling the forest");
    }
    seen[0] = 1;
    for (int32_t i = 0; i < f->n_nodes; i++) {
        if (!(f->flags[i] & TM__NODE_LEAF)) {
            seen[f->feature[i]] = 1;
        }
    }
    for (int32_t i = 0; i < f->n_obl_splits; i++) {
        seen[f->obl_feature[i]] = 1;
    }
    for (int32_t i = 0; f->lin_const && i < f->n_lin_terms; i++) {
        seen[f->lin_feat[i]] = 1;
    }
    c->n_read = 0;
    for (int32_t j = 0; j < f->n_features; j++) {
        if (seen[j]) {
            c->read[c->n_read++] = j;
        }
    }
    tm_free(seen);
    return TM_OK;
}

tm_status tm__forest_compile(tm_forest *f, tm_err *err)
{
    return tm__forest_compile_kernel(f, tm__forest_qs_cpu_kernel(), err);
}

tm_status tm__forest_compile_kernel(tm_forest *f, tm__qs_kernel kernel, tm_err *err)
{
    tm__forest_compiled_free(f->compiled);
    f->compiled = NULL;
    struct tm__compiled *c = tm_calloc(1, sizeof *c);
    if (!c) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory compiling the forest");
    }
    c->f32 = f->cmp != TM__CMP_LE_F64;
    c->x_regions = 1;
    c->qs_kernel = kernel;
    c->root = tm_malloc_n((size_t)f->n_trees + 1, sizeof *c->root);
    c->steps = tm_calloc((size_t)f->n_trees + 1, sizeof *c->steps);
    tm_status st = TM_OK;
    if (!c->root || !c->steps) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory compiling the forest");
    } else if ((st = find_read(f, c, err)) != TM_OK) {
        /* reported */
    } else if (f->oblivious) {
        st = compile_oblivious(f, c, err);
    } else {
        st = compile_general(f, c, err);
        if (st == TM_OK) {
            st = tm__forest_compile_qs(f, c, err);
        }
        if (st == TM_OK) {
            st = compile_heap(f, c, err);
        }
    }
    if (st != TM_OK) {
        tm__forest_compiled_free(c);
        return st;
    }
    c->need_x = f->oblivious;
    for (int32_t t = 0; t < f->n_trees && !f->oblivious; t++) {
        c->need_x |= c->root[t] >= 0 && c->qs_first[t] < 0;
    }
    f->compiled = c;
    return TM_OK;
}
