/* tm_forest_predict: groups of row blocks per thread over the compiled
 * layout of layout.c. One block = TM__BLOCK rows converted to the compare
 * precision (or to ranks); a group of TM__GROUP blocks walks every tree for
 * all its blocks before the next tree (the tree stays in L1, and the whole
 * model streams through the cache once per group: with one block a group,
 * a 3000-tree model's 1.8 MB of bitvector entries and leaves per 32 rows
 * kept two threads from scaling), accumulated in the family's precision. */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#    include <omp.h>
#endif

#include "forest/layout.h"

/* Blocks walked together, tree by tree (predict_group). */
#ifndef TM__GROUP
#    define TM__GROUP 4
#endif

typedef struct scratch {
    void *x;       /* TM__BLOCK * n_features floats or doubles */
    int32_t *rank; /* 2 * TM__BLOCK * n_features ranks (bitvector trees) */
    double *xt;    /* TM__BLOCK * n_features inputs for the ranks */
    int32_t *idx;  /* TM__BLOCK */
    float *acc_f;  /* TM__BLOCK * n_outputs, output-major: [k * TM__BLOCK + r] */
    double *acc_d; /* the same in double */
    double *m;     /* n_outputs */
} scratch;

/* Walks the rows of a block through compiled pointer-layout tree t (in
 * lockstep for `steps` steps, or each row to its leaf); leaves idx[r]. */
#define POINTER_WALK(NAME, NODE, FIELD, VAL)                                                       \
    static void NAME(const struct tm__compiled *c, int32_t t, const VAL *restrict xb, int nb,      \
                     int32_t *restrict idx)                                                        \
    {                                                                                              \
        const NODE *restrict nodes = c->FIELD;                                                     \
        int32_t root = c->root[t], steps = c->steps[t];                                            \
        for (int r = 0; r < nb; r++) {                                                             \
            int32_t i = root;                                                                      \
            for (int32_t d = 0; steps > 0 ? d < steps : c->leaf_of[i] < 0; d++) {                  \
                const NODE *n = &nodes[i];                                                         \
                VAL x = xb[(size_t)(n->fe & FE_MASK) * TM__BLOCK + (size_t)r];                     \
                int right = (n->fe & FE_NAN_LEFT) ? x > n->thr : !(x <= n->thr);                   \
                i = n->left + right;                                                               \
            }                                                                                      \
            idx[r] = i;                                                                            \
        }                                                                                          \
    }
POINTER_WALK(walk_f32, cnode_f, nf, float)
POINTER_WALK(walk_f64, cnode_d, nd, double)
#undef POINTER_WALK

/* Complete (heap) tree t: exactly depth steps for every row, sixteen rows
 * at a time (sixteen independent load chains hide the load latency that
 * bounds a single walk: 1.7x over eight chains on the reference model). Node
 * feature offsets are premultiplied by TM__BLOCK (see load_block). */
#define HEAP_WALK(NAME, NODE, VAL)                                                                 \
    static void NAME(const struct tm__compiled *c, int32_t t, const VAL *restrict xb, int nb,      \
                     int32_t *restrict idx)                                                        \
    {                                                                                              \
        const NODE *restrict nodes = (const NODE *)c->NODES_##NODE + c->heap_first[t];             \
        int32_t depth = c->steps[t];                                                               \
        int32_t base = c->heap_leaf[t] - ((1 << depth) - 1);                                       \
        int r = 0;                                                                                 \
        for (; r + 16 <= nb; r += 16) {                                                            \
            const VAL *x0 = xb + r;                                                                \
            intptr_t i0 = 0, i1 = 0, i2 = 0, i3 = 0, i4 = 0, i5 = 0, i6 = 0, i7 = 0;               \
            intptr_t i8 = 0, i9 = 0, iA = 0, iB = 0, iC = 0, iD = 0, iE = 0, iF = 0;               \
            for (int32_t d = 0; d < depth; d++) {                                                  \
                STEP(i0, 0);                                                                       \
                STEP(i1, 1);                                                                       \
                STEP(i2, 2);                                                                       \
                STEP(i3, 3);                                                                       \
                STEP(i4, 4);                                                                       \
                STEP(i5, 5);                                                                       \
                STEP(i6, 6);                                                                       \
                STEP(i7, 7);                                                                       \
                STEP(i8, 8);                                                                       \
                STEP(i9, 9);                                                                       \
                STEP(iA, 10);                                                                      \
                STEP(iB, 11);                                                                      \
                STEP(iC, 12);                                                                      \
                STEP(iD, 13);                                                                      \
                STEP(iE, 14);                                                                      \
                STEP(iF, 15);                                                                      \
            }                                                                                      \
            idx[r] = (int32_t)i0 + base;                                                           \
            idx[r + 1] = (int32_t)i1 + base;                                                       \
            idx[r + 2] = (int32_t)i2 + base;                                                       \
            idx[r + 3] = (int32_t)i3 + base;                                                       \
            idx[r + 4] = (int32_t)i4 + base;                                                       \
            idx[r + 5] = (int32_t)i5 + base;                                                       \
            idx[r + 6] = (int32_t)i6 + base;                                                       \
            idx[r + 7] = (int32_t)i7 + base;                                                       \
            idx[r + 8] = (int32_t)i8 + base;                                                       \
            idx[r + 9] = (int32_t)i9 + base;                                                       \
            idx[r + 10] = (int32_t)iA + base;                                                      \
            idx[r + 11] = (int32_t)iB + base;                                                      \
            idx[r + 12] = (int32_t)iC + base;                                                      \
            idx[r + 13] = (int32_t)iD + base;                                                      \
            idx[r + 14] = (int32_t)iE + base;                                                      \
            idx[r + 15] = (int32_t)iF + base;                                                      \
        }                                                                                          \
        for (; r < nb; r++) {                                                                      \
            const VAL *x0 = xb + r;                                                                \
            intptr_t i0 = 0;                                                                       \
            for (int32_t d = 0; d < depth; d++) {                                                  \
                STEP(i0, 0);                                                                       \
            }                                                                                      \
            idx[r] = (int32_t)i0 + base;                                                           \
        }                                                                                          \
    }
/* One step of row k: go right when x > threshold (NaN was made +-inf). */
#define STEP(i, k)                                                                                 \
    do {                                                                                           \
        NODE_T n_ = nodes[i];                                                                      \
        i = 2 * i + 1 + ((x0 + (k))[(uint32_t)n_.fe] > n_.thr);                                    \
    } while (0)
#define NODES_hnode_f hf
#define NODES_hnode_d hd
#define NODE_T        hnode_f
HEAP_WALK(walk_heap_f32, hnode_f, float)
#undef NODE_T
#define NODE_T hnode_d
HEAP_WALK(walk_heap_f64, hnode_d, double)
#undef NODE_T
#undef STEP
#undef HEAP_WALK

/* Adds leaves idx[] of tree t (leaf_dim 1) from the value tables lf/ld
 * (one per leaf slot) to the accumulators. */
static void add_slot_leaves(const tm_forest *f, int32_t t, const float *lf, const double *ld,
                            const int32_t *idx, int nb, scratch *s)
{
    size_t k = (size_t)f->tree_output[t] * TM__BLOCK;
    if (f->sum_f32) {
        for (int r = 0; r < nb; r++) {
            s->acc_f[k + (size_t)r] += lf[idx[r]];
        }
    } else {
        for (int r = 0; r < nb; r++) {
            s->acc_d[k + (size_t)r] += ld[idx[r]];
        }
    }
}

/* Oblivious tree t for a block whose NaNs were already filled. */
static void walk_oblivious(const tm_forest *f, int32_t t, const float *restrict xb, int nb,
                           int32_t *restrict idx)
{
    int32_t first = f->obl_first[t], depth = f->obl_depth[t];
    for (int r = 0; r < nb; r++) {
        idx[r] = 0;
    }
    for (int32_t i = 0; i < depth; i++) {
        int32_t j = f->obl_feature[first + i];
        float b = f->obl_border[first + i];
        for (int r = 0; r < nb; r++) {
            idx[r] |= (int32_t)(xb[(size_t)j * TM__BLOCK + (size_t)r] > b) << i;
        }
    }
    for (int r = 0; r < nb; r++) {
        idx[r] += f->obl_leaf_first[t];
    }
}

/* Adds the leaves reached (compiled index, or IR leaf when ir_leaf) to the
 * block's accumulators. */
static void add_leaves(const tm_forest *f, int32_t t, const int32_t *idx, bool ir_leaf,
                       const double *X, size_t stride, size_t r0, int nb, scratch *s)
{
    const struct tm__compiled *c = f->compiled;
    int32_t nout = f->n_outputs;
    if (f->leaf_dim == 1 && !ir_leaf) {
        add_slot_leaves(f, t, c->leaf_f, c->leaf_d, idx, nb, s);
        return;
    }
    for (int r = 0; r < nb; r++) {
        int32_t leaf = ir_leaf ? idx[r] : c->leaf_of[idx[r]];
        const double *row = X + (r0 + (size_t)r) * stride;
        if (f->leaf_dim == 1) {
            size_t k = (size_t)f->tree_output[t] * TM__BLOCK + (size_t)r;
            double v = tm__forest_leaf_value(f, leaf, 0, row) * f->tree_weight[t];
            if (f->sum_f32) {
                s->acc_f[k] += (float)v;
            } else {
                s->acc_d[k] += v;
            }
            continue;
        }
        const double *lv = f->leaf_values + (size_t)leaf * (size_t)nout;
        for (int32_t k = 0; k < nout; k++) {
            s->acc_d[(size_t)k * TM__BLOCK + (size_t)r] += lv[k];
        }
    }
}

/* Converts the block's rows to the compare precision. */
/* Block layout: feature-major, input j of row r at x[j * TM__BLOCK + r],
 * regions of n_features inputs one after the other (layout.h). */
static void load_block(const tm_forest *f, const double *X, size_t stride, size_t r0, int nb,
                       scratch *s)
{
    const struct tm__compiled *c = f->compiled;
    size_t nf = (size_t)f->n_features, B = TM__BLOCK;
    size_t plain = c->x_regions == 3 ? 2 * nf : 0; /* where the plain copy goes */
    for (int r = 0; r < nb; r++) {
        const double *row = X + (r0 + (size_t)r) * stride;
        if (c->f32) {
            float *xb = (float *)s->x + r;
            for (int32_t i = 0; i < c->n_read; i++) {
                size_t j = (size_t)c->read[i];
                float v = (float)row[j];
                if (f->oblivious && c->obl_fast && isnan(v)) {
                    v = c->nan_fill[j];
                }
                if (c->x_regions > 1) {
                    xb[j * B] = isnan(v) ? INFINITY : v;
                    xb[(nf + j) * B] = isnan(v) ? -INFINITY : v;
                }
                if (c->x_regions != 2) {
                    xb[(plain + j) * B] = v;
                }
            }
        } else {
            double *xb = (double *)s->x + r;
            for (int32_t i = 0; i < c->n_read; i++) {
                size_t j = (size_t)c->read[i];
                double v = tm__forest_input(f, row[j]);
                if (c->x_regions > 1) {
                    xb[j * B] = isnan(v) ? (double)INFINITY : v;
                    xb[(nf + j) * B] = isnan(v) ? (double)-INFINITY : v;
                }
                if (c->x_regions != 2) {
                    xb[(plain + j) * B] = v;
                }
            }
        }
    }
}

/* A block's inputs in the layouts' forms, and its accumulators set to
 * the base scores. */
static void block_begin(const tm_forest *f, const double *X, size_t stride, size_t r0, int nb,
                        int n_next, scratch *s)
{
    const struct tm__compiled *c = f->compiled;
    int32_t nout = f->n_outputs;
    bool bias_last = f->family == TM_FOREST_CATBOOST;
    if (c->need_x) {
        load_block(f, X, stride, r0, nb, s);
    }
    if (c->n_qs > 0) {
        tm__forest_qs_ranks(f, X, stride, r0, nb, n_next, s->xt, s->rank);
    }
    for (int32_t k = 0; k < nout; k++) {
        for (int r = 0; r < TM__BLOCK; r++) {
            s->acc_f[k * TM__BLOCK + r] = (float)f->base_score[k];
            s->acc_d[k * TM__BLOCK + r] = bias_last ? 0.0 : f->base_score[k];
        }
    }
}

/* Tree t for the rows of a block: its leaves added to the accumulators. */
static void block_tree(const tm_forest *f, int32_t t, const double *X, size_t stride, size_t r0,
                       int nb, scratch *s)
{
    const struct tm__compiled *c = f->compiled;
    bool ir_leaf = false;
    if (!f->oblivious && c->qs_first[t] >= 0) {
        int32_t base = c->qs_leaf[t];
        if (f->leaf_dim == 1) {
            size_t k = (size_t)f->tree_output[t] * TM__BLOCK;
            void *acc = f->sum_f32 ? (void *)(s->acc_f + k) : (void *)(s->acc_d + k);
            tm__forest_qs_walk_add(c, t, s->rank, c->qleaf_f + base, c->qleaf_d + base, f->sum_f32,
                                   acc, s->idx);
            return;
        }
        tm__forest_qs_walk(c, t, s->rank, s->idx);
        for (int r = 0; r < nb; r++) {
            s->idx[r] = c->qleaf_of[base + s->idx[r]];
        }
        ir_leaf = true;
    } else if (!f->oblivious && c->heap_first[t] >= 0) {
        if (c->f32) {
            walk_heap_f32(c, t, s->x, nb, s->idx);
        } else {
            walk_heap_f64(c, t, s->x, nb, s->idx);
        }
        if (f->leaf_dim == 1) {
            add_slot_leaves(f, t, c->hleaf_f, c->hleaf_d, s->idx, nb, s);
            return;
        }
        for (int r = 0; r < nb; r++) {
            s->idx[r] = c->hleaf_of[s->idx[r]];
        }
        ir_leaf = true;
    } else if (f->oblivious && c->obl_fast) {
        walk_oblivious(f, t, s->x, nb, s->idx);
        ir_leaf = true;
    } else if (f->oblivious || c->root[t] < 0) {
        for (int r = 0; r < nb; r++) {
            const double *row = X + (r0 + (size_t)r) * stride;
            s->idx[r] = f->oblivious ? tm__forest_oblivious_leaf(f, t, row)
                                     : tm__forest_leaf_of(f, t, row);
        }
        ir_leaf = true;
    } else if (c->f32) {
        walk_f32(c, t, s->x, nb, s->idx);
    } else {
        walk_f64(c, t, s->x, nb, s->idx);
    }
    add_leaves(f, t, s->idx, ir_leaf, X, stride, r0, nb, s);
}

/* The block's outputs from its accumulators. */
static void block_end(const tm_forest *f, size_t r0, int nb, tm_forest_output kind, double *out,
                      scratch *s)
{
    int32_t nout = f->n_outputs;
    bool bias_last = f->family == TM_FOREST_CATBOOST;
    size_t width = tm_forest_output_len(f, kind);
    for (int r = 0; r < nb; r++) {
        for (int32_t k = 0; k < nout; k++) {
            double a = s->acc_d[k * TM__BLOCK + r];
            s->m[k] = f->sum_f32  ? (double)s->acc_f[k * TM__BLOCK + r]
                      : bias_last ? f->scale * a + f->base_score[k]
                                  : a;
        }
        tm__forest_transform(f, kind, s->m, out + (r0 + (size_t)r) * width);
    }
}

/* Tree t for the four full blocks of a group at once, where the tree and
 * kernel allow (a bitvector tree of one output on the 16-bit kernel: the
 * entries are then read once for the four blocks); false if not. */
static bool group_tree(const tm_forest *f, int32_t t, scratch *s)
{
    const struct tm__compiled *c = f->compiled;
    if (f->oblivious || f->leaf_dim != 1 || c->qs_first[t] < 0) {
        return false;
    }
    int32_t *rb[4];
    void *acc[4];
    size_t k = (size_t)f->tree_output[t] * TM__BLOCK;
    for (int g = 0; g < 4; g++) {
        rb[g] = s[g].rank;
        acc[g] = f->sum_f32 ? (void *)(s[g].acc_f + k) : (void *)(s[g].acc_d + k);
    }
    int32_t base = c->qs_leaf[t];
    return tm__forest_qs_walk_add4(c, t, rb, c->qleaf_f + base, c->qleaf_d + base, f->sum_f32, acc);
}

/* A group of TM__GROUP blocks from row r0 (n rows, the last ones may be
 * short or empty; n_after rows from r0 to the end of X): each tree is
 * walked for every block of the group before the next tree, so the trees
 * stream from memory once per group. */
static void predict_group(const tm_forest *f, const double *X, size_t stride, size_t r0, size_t n,
                          size_t n_after, tm_forest_output kind, double *out, scratch *s)
{
    int nb[TM__GROUP] = {0}, ng = 0;
    for (; ng < TM__GROUP && (size_t)ng * TM__BLOCK < n; ng++) {
        size_t left = n - (size_t)ng * TM__BLOCK, next = (size_t)(ng + 1) * TM__BLOCK;
        nb[ng] = (int)(left < TM__BLOCK ? left : TM__BLOCK);
        /* rows of the next block, which the ranks may prefetch */
        next = n_after > next ? n_after - next : 0;
        block_begin(f, X, stride, r0 + (size_t)ng * TM__BLOCK, nb[ng],
                    (int)(next < TM__BLOCK ? next : TM__BLOCK), &s[ng]);
    }
    /* full blocks in fours: walked four at once where the kernel can */
    int fours = 0;
    while (fours + 4 <= ng && nb[fours + 3] == TM__BLOCK) {
        fours += 4;
    }
    for (int32_t t = 0; t < f->n_trees; t++) {
        int g = 0;
        while (g < fours && group_tree(f, t, s + g)) {
            g += 4;
        }
        for (; g < ng; g++) {
            block_tree(f, t, X, stride, r0 + (size_t)g * TM__BLOCK, nb[g], &s[g]);
        }
    }
    for (int g = 0; g < ng; g++) {
        block_end(f, r0 + (size_t)g * TM__BLOCK, nb[g], kind, out, &s[g]);
    }
}

static size_t round64(size_t n)
{
    return (n + 63) / 64 * 64;
}

tm_status tm_forest_predict(const tm_forest *f, const double *X, size_t n_rows, size_t stride,
                            tm_forest_output kind, int n_threads, double *out, tm_err *err)
{
    if (!f || !f->compiled || (!X && n_rows) || (!out && n_rows) ||
        stride < (size_t)f->n_features) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, NULL,
                      "predict: bad arguments (stride %zu, model has %d features)", stride,
                      f ? f->n_features : 0);
    }
    if (n_rows == 0) {
        return TM_OK;
    }
    int nt = 1;
#ifdef _OPENMP
    nt = n_threads > 0 ? n_threads : omp_get_max_threads();
#else
    (void)n_threads;
#endif
    size_t rows_per_group = (size_t)TM__BLOCK * TM__GROUP;
    size_t n_groups = (n_rows + rows_per_group - 1) / rows_per_group;
    if ((size_t)nt > n_groups) {
        nt = (int)n_groups;
    }
    size_t n_scratch = (size_t)nt * TM__GROUP;
    size_t nfeat = (size_t)f->n_features + 1, nout = (size_t)f->n_outputs;
    /* every part 64-byte aligned: the kernels load whole vectors */
    size_t x_bytes = round64(TM__BLOCK * nfeat * 3 * sizeof(double));
    /* ranks: two regions of int32, then (16-bit kernels) the same in int16 */
    bool w16 = TM__QS_WORDS16(f->compiled->qs_kernel);
    size_t rank_bytes =
            f->compiled->n_qs > 0
                    ? TM__BLOCK * nfeat * 2 * (sizeof(int32_t) + (w16 ? sizeof(int16_t) : 0))
                    : 0;
    rank_bytes = round64(rank_bytes);
    size_t xt_bytes = rank_bytes > 0 ? round64(TM__BLOCK * nfeat * sizeof(double)) : 0;
    size_t accd_bytes = round64(TM__BLOCK * nout * sizeof(double));
    size_t accf_bytes = round64(TM__BLOCK * nout * sizeof(float));
    size_t m_bytes = round64(nout * sizeof(double));
    size_t per = x_bytes + rank_bytes + xt_bytes + accd_bytes + accf_bytes + m_bytes +
                 round64(TM__BLOCK * sizeof(int32_t)) + 64;
    char *mem = tm_aligned_alloc(per * n_scratch);
    scratch *sc = tm_malloc_n(n_scratch, sizeof *sc);
    if (!mem || !sc) {
        tm_free(mem);
        tm_free(sc);
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory for predict scratch");
    }
    for (size_t i = 0; i < n_scratch; i++) {
        char *p = mem + per * i;
        sc[i].x = p;
        p += x_bytes;
        sc[i].rank = (int32_t *)p;
        p += rank_bytes;
        sc[i].xt = (double *)p;
        p += xt_bytes;
        sc[i].acc_d = (double *)p;
        p += accd_bytes;
        sc[i].acc_f = (float *)p;
        p += accf_bytes;
        sc[i].m = (double *)p;
        p += m_bytes;
        sc[i].idx = (int32_t *)p;
    }
#pragma omp parallel num_threads(nt)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        /* handed out four groups at a time: a thread slowed by other work
         * on its core takes fewer, instead of holding the others up */
#pragma omp for schedule(dynamic, 4)
        for (size_t g = 0; g < n_groups; g++) {
            size_t r0 = g * rows_per_group;
            size_t n = n_rows - r0 < rows_per_group ? n_rows - r0 : rows_per_group;
            predict_group(f, X, stride, r0, n, n_rows - r0, kind, out,
                          &sc[(size_t)tid * TM__GROUP]);
        }
    }
    tm_free(mem);
    tm_free(sc);
    return TM_OK;
}
