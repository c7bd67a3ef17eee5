/* Bitvector trees: the layout of trees with up to 64 leaves for the
 * bitvector evaluation of QuickScorer (Lucchese et al., SIGIR 2015), in its
 * row-parallel form. Number the leaves of a tree left to right; a row
 * starts with every leaf bit set, and each node at which the row goes
 * right clears the bits of the leaves under its left child. The leftmost
 * bit left is the row's leaf: a leaf left of it shares an ancestor with it
 * where the row went right, and it sits under that ancestor's left child;
 * the leaf itself is never cleared, since a node that would clear it has
 * it under its left child, so the row went left there. The nodes can then
 * be taken in any order, with no dependent load and no branch per level,
 * whatever the depth: a 31-leaf leaf-wise tree 20 levels deep costs its 30
 * nodes, each one compare and two bit operations, done for 8 rows at once
 * with AVX2.
 *
 * The compare is made on integers: the thresholds of each feature (in the
 * family's <= form and compare precision, see le_threshold in layout.c)
 * are sorted, an input becomes the number of thresholds below it, and
 * x <= t_k exactly when rank(x) <= k, infinite thresholds included
 * (LightGBM's NaN-versus-rest split has t = +inf). NaN takes rank 0 in one
 * copy of the ranks (for nodes that send it left) and TM__QS_NAN_RIGHT in a
 * second (nodes that send it right). Leaves 32..63 are a second word. */
#include <math.h>
#include <stdlib.h>

#include "forest/layout.h"

void tm__forest_qs_free(struct tm__compiled *c)
{
    tm_free(c->qs_first);
    tm_free(c->qs_n0);
    tm_free(c->qs_n1);
    tm_free(c->qs_leaf);
    tm_free(c->qs);
    tm_free(c->qleaf_f);
    tm_free(c->qleaf_d);
    tm_free(c->qleaf_of);
    tm_free(c->qthr);
    tm_free(c->qthr_first);
    tm_free(c->qthr_n);
    tm_free(c->skey_f);
    tm_free(c->skey_d);
    tm_free(c->skey_levels);
    tm_free(c->skey_off);
    tm_free(c->qw_words);
    tm_free(c->qw_n);
    tm_free(c->qw_first);
    tm_free(c->qw);
}

static int32_t tree_leaves(const tm_forest *f, int32_t t)
{
    int32_t n = 0, first = f->tree_first[t];
    for (int32_t i = first; i < first + f->tree_n_nodes[t]; i++) {
        n += (f->flags[i] & TM__NODE_LEAF) != 0;
    }
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Index of t among feature j's sorted distinct thresholds. */
static int32_t threshold_index(const struct tm__compiled *c, int32_t j, double t)
{
    const double *T = c->qthr + c->qthr_first[j];
    int32_t lo = 0, hi = c->qthr_n[j] - 1;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (T[mid] < t) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Sorted distinct thresholds per feature over the bitvector trees. */
static tm_status collect_thresholds(const tm_forest *f, struct tm__compiled *c)
{
    size_t nf = (size_t)f->n_features;
    c->qthr_first = tm_calloc(nf + 1, sizeof *c->qthr_first);
    c->qthr_n = tm_calloc(nf + 1, sizeof *c->qthr_n);
    if (!c->qthr_first || !c->qthr_n) {
        return TM_E_NOMEM;
    }
    int64_t total = 0;
    for (int32_t t = 0; t < f->n_trees; t++) {
        int32_t first = f->tree_first[t];
        for (int32_t i = first; c->qs_first[t] >= 0 && i < first + f->tree_n_nodes[t]; i++) {
            if (!(f->flags[i] & TM__NODE_LEAF)) {
                c->qthr_n[f->feature[i]]++;
                total++;
            }
        }
    }
    c->qthr = tm_malloc_n((size_t)total + 1, sizeof *c->qthr); /* + 1: never size 0 */
    c->qs_bytes += (nf + 1) * 2 * sizeof(int32_t) + ((size_t)total + 1) * sizeof *c->qthr;
    if (!c->qthr) {
        return TM_E_NOMEM;
    }
    int32_t at = 0;
    for (size_t j = 0; j < nf; j++) {
        c->qthr_first[j] = at;
        at += c->qthr_n[j];
        c->qthr_n[j] = 0;
    }
    for (int32_t t = 0; t < f->n_trees; t++) {
        int32_t first = f->tree_first[t];
        for (int32_t i = first; c->qs_first[t] >= 0 && i < first + f->tree_n_nodes[t]; i++) {
            if (!(f->flags[i] & TM__NODE_LEAF)) {
                int32_t j = f->feature[i];
                c->qthr[c->qthr_first[j] + c->qthr_n[j]++] = tm__forest_le_threshold(f, i);
            }
        }
    }
    for (size_t j = 0; j < nf; j++) {
        double *T = c->qthr + c->qthr_first[j];
        int32_t n = c->qthr_n[j], u = 0;
        qsort(T, (size_t)n, sizeof *T, cmp_double);
        for (int32_t i = 0; i < n; i++) {
            if (u == 0 || T[i] != T[u - 1]) {
                T[u++] = T[i];
            }
        }
        c->qthr_n[j] = u;
    }
    return TM_OK;
}

/* Keys in level l of a search tree over n thresholds, fan keys a block:
 * level 0 holds the thresholds and at least one +inf after them, each
 * level above the last key of each block below; all rounded up to whole
 * blocks. Returns the number of levels (the last one is one block). */
static int skey_sizes(int32_t n, int32_t fan, int64_t size[TM__SKEY_MAX_LEVELS])
{
    int64_t keys = (int64_t)n + 1;
    int levels = 0;
    do {
        size[levels] = (keys + fan - 1) / fan * fan;
        keys = size[levels] / fan;
        levels++;
    } while (size[levels - 1] > fan && levels < TM__SKEY_MAX_LEVELS);
    return levels;
}

/* The search trees of the AVX-512 kernels' ranks. A rank (the number of
 * thresholds below x) takes one vector compare a level: at a level, the
 * keys below x in the block reached tell which block below to take, since
 * each key above is the greatest of its block below. The padding keys are
 * +inf, never below x; the last block of every level ends with +inf, so no
 * count leads past the last block; x NaN is below nothing and gets 0, as
 * in the binary searches. Keys are floats when the model compares in float
 * and every threshold is a float (then x < t is the same either way). */
static tm_status compile_search_trees(const tm_forest *f, struct tm__compiled *c)
{
    size_t nf = (size_t)f->n_features;
    c->skey_f32 = c->f32;
    for (size_t j = 0; c->skey_f32 && j < nf; j++) {
        const double *T = c->qthr + c->qthr_first[j];
        for (int32_t i = 0; i < c->qthr_n[j]; i++) {
            c->skey_f32 = c->skey_f32 && (double)(float)T[i] == T[i];
        }
    }
    int32_t fan = c->skey_f32 ? 16 : 8;
    c->skey_fan = fan;
    c->skey_levels = tm_calloc(nf + 1, 1);
    c->skey_off = tm_calloc((nf + 1) * TM__SKEY_MAX_LEVELS, sizeof *c->skey_off);
    if (!c->skey_levels || !c->skey_off) {
        return TM_E_NOMEM;
    }
    int64_t size[TM__SKEY_MAX_LEVELS], total = 0;
    for (size_t j = 0; j < nf; j++) {
        int levels = skey_sizes(c->qthr_n[j], fan, size);
        for (int l = 0; l < levels; l++) {
            total += size[l];
        }
    }
    if (total > INT32_MAX) {
        return TM_E_NOMEM;
    }
    size_t kb = c->skey_f32 ? sizeof(float) : sizeof(double);
    void *keys = tm_aligned_alloc((size_t)(total + 1) * kb);
    c->qs_bytes +=
            (nf + 1) * (1 + TM__SKEY_MAX_LEVELS * sizeof(int32_t)) + (size_t)(total + 1) * kb;
    if (!keys) {
        return TM_E_NOMEM;
    }
    if (c->skey_f32) {
        c->skey_f = keys;
    } else {
        c->skey_d = keys;
    }
    int32_t at = 0;
    for (size_t j = 0; j < nf; j++) {
        const double *T = c->qthr + c->qthr_first[j];
        int levels = skey_sizes(c->qthr_n[j], fan, size);
        int32_t *off = c->skey_off + j * TM__SKEY_MAX_LEVELS;
        c->skey_levels[j] = (uint8_t)levels;
        /* top level first: level l (0 = the thresholds) at off[levels - 1 - l] */
        for (int l = levels - 1; l >= 0; l--) {
            off[levels - 1 - l] = at;
            at += (int32_t)size[l];
        }
        for (int l = 0; l < levels; l++) {
            int32_t o = off[levels - 1 - l], below = l > 0 ? off[levels - l] : 0;
            for (int64_t i = 0; i < size[l]; i++) {
                double k = INFINITY;
                if (l == 0 && i < c->qthr_n[j]) {
                    k = T[i];
                } else if (l > 0 && i < size[l - 1] / fan) {
                    k = c->skey_f32 ? (double)c->skey_f[below + (i + 1) * fan - 1]
                                    : c->skey_d[below + (i + 1) * fan - 1];
                }
                if (c->skey_f32) {
                    c->skey_f[o + i] = (float)k;
                } else {
                    c->skey_d[o + i] = k;
                }
            }
        }
    }
    return TM_OK;
}

/* Entries of one tree while it is laid out: word 0 and word 1 apart. */
typedef struct qs_build {
    qnode word[2][2 * TM__QS_MAX_LEAVES];
    int32_t n[2];
    int32_t leaf0; /* the tree's first slot in qleaf_* */
} qs_build;

/* Numbers the leaves under IR node nd from a, records the entries of its
 * internal nodes, and returns the number of leaves under nd. */
static int32_t number_leaves(const tm_forest *f, struct tm__compiled *c, int32_t t, int32_t nd,
                             int32_t a, qs_build *b)
{
    if (f->flags[nd] & TM__NODE_LEAF) {
        int32_t leaf = f->leaf_index[nd], slot = b->leaf0 + a;
        double v = f->leaf_values[(size_t)leaf * (size_t)f->leaf_dim] * f->tree_weight[t];
        c->qleaf_f[slot] = (float)v;
        c->qleaf_d[slot] = v;
        c->qleaf_of[slot] = leaf;
        return 1;
    }
    int32_t nl = number_leaves(f, c, t, f->left[nd], a, b);
    int32_t j = f->feature[nd];
    int32_t region = (f->flags[nd] & TM__NODE_NAN_LEFT) ? 0 : 1;
    uint32_t off = (uint32_t)((region * f->n_features + j) * TM__BLOCK * (int32_t)sizeof(int32_t));
    int32_t k1 = threshold_index(c, j, tm__forest_le_threshold(f, nd)) + 1;
    for (int w = 0; w < 2; w++) {
        /* the left child's leaves [a, a + nl) within word w */
        int32_t lo = a - 32 * w, hi = a + nl - 32 * w;
        lo = lo < 0 ? 0 : lo;
        hi = hi > 32 ? 32 : hi;
        if (lo >= hi) {
            continue;
        }
        uint32_t bits = (hi - lo == 32 ? ~0u : ((1u << (hi - lo)) - 1u)) << lo;
        b->word[w][b->n[w]++] = (qnode){off, k1, ~bits};
    }
    return nl + number_leaves(f, c, t, f->right[nd], a + nl, b);
}

/* The 16-bit word form of the bitvector entries (TM__QS_WORDS16): each
 * entry on a 32-bit word becomes one entry on each 16-bit half it clears
 * bits of; a tree's entries are laid out word after word (the kernel runs
 * one loop per word; several chains stay in flight because the loops'
 * exits resolve long before the vector work behind them). Falls back to
 * the 32-bit kernel when a feature has too many thresholds for 16-bit
 * ranks. */
static tm_status compile_words(const tm_forest *f, struct tm__compiled *c)
{
    for (int32_t j = 0; j < f->n_features; j++) {
        if (c->qthr_n[j] >= INT16_MAX) {
            c->qs_kernel = c->qs_kernel == TM__QS_AVX2W ? TM__QS_AVX2 : TM__QS_AVX512;
            return TM_OK;
        }
    }
    size_t nt = (size_t)f->n_trees + 1;
    c->rank16_at = TM__BLOCK * 2 * (f->n_features + 1);
    c->qw_words = tm_calloc(nt, sizeof *c->qw_words);
    c->qw_n = tm_calloc(4 * nt, sizeof *c->qw_n);
    c->qw_first = tm_calloc(nt, sizeof *c->qw_first);
    int64_t total = 0;
    for (int32_t t = 0; c->qw_first && t < f->n_trees; t++) {
        /* at most one 16-bit entry per half of each entry */
        total += c->qs_first[t] >= 0 ? 2 * (int64_t)(c->qs_n0[t] + c->qs_n1[t]) : 0;
    }
    c->qw = tm_aligned_alloc((size_t)(total + 1) * sizeof *c->qw);
    c->qs_bytes += nt * (1 + 5 * sizeof(int32_t)) + (size_t)(total + 1) * sizeof *c->qw;
    if (!c->qw_words || !c->qw_n || !c->qw_first || !c->qw) {
        return TM_E_NOMEM;
    }
    int32_t next = 0;
    for (int32_t t = 0; t < f->n_trees; t++) {
        if (c->qs_first[t] < 0) {
            continue;
        }
        const qnode *e = c->qs + c->qs_first[t];
        int32_t n = c->qs_n0[t] + c->qs_n1[t];
        c->qw_words[t] = c->qs_n1[t] > 0 ? 4 : 2;
        c->qw_first[t] = next;
        for (int u = 0; u < c->qw_words[t]; u++) {
            /* word u: half u % 2 of the 32-bit word u / 2's entries */
            int32_t lo = u < 2 ? 0 : c->qs_n0[t], hi = u < 2 ? c->qs_n0[t] : n;
            for (int32_t i = lo; i < hi; i++) {
                uint32_t bits = (~e[i].nmask >> (16 * (u % 2))) & 0xffffu;
                if (bits == 0) {
                    continue;
                }
                uint32_t m16 = ~bits & 0xffffu, k = (uint32_t)e[i].k1;
                c->qw[next++] =
                        (wnode){e[i].off / 2, (int32_t)(k | k << 16), (int32_t)(m16 | m16 << 16)};
                c->qw_n[4 * t + u]++;
            }
        }
    }
    return TM_OK;
}

tm_status tm__forest_compile_qs(const tm_forest *f, struct tm__compiled *c, tm_err *err)
{
    size_t nt = (size_t)f->n_trees + 1;
    c->qs_first = tm_malloc_n(nt, sizeof *c->qs_first);
    c->qs_n0 = tm_calloc(nt, sizeof *c->qs_n0);
    c->qs_n1 = tm_calloc(nt, sizeof *c->qs_n1);
    c->qs_leaf = tm_calloc(nt, sizeof *c->qs_leaf);
    qs_build *b = tm_malloc(sizeof *b);
    tm_status st = TM_OK;
    if (!c->qs_first || !c->qs_n0 || !c->qs_n1 || !c->qs_leaf || !b) {
        st = TM_E_NOMEM;
        goto done;
    }
    /* Rank offsets (in bytes) must fit 31 bits. */
    bool wide = (int64_t)f->n_features * 2 * TM__BLOCK * (int64_t)sizeof(int32_t) > INT32_MAX;
    int64_t n_entries = 0, n_leaves = 0;
    for (int32_t t = 0; t < f->n_trees; t++) {
        /* With the 32-bit kernels of AVX2 and plain C, two-word trees
         * that fit the heap run faster there (depth-6 XGBoost trees: 56
         * instructions per row-tree against 47, but no second word); the
         * 16-bit and AVX-512 kernels take them, and one-word trees always
         * take this layout. */
        int32_t L = c->root[t] >= 0 && !wide ? tree_leaves(f, t) : 0;
        if (L > 32 && c->qs_kernel <= TM__QS_AVX2 && tm__forest_heap_fits(f, c, t)) {
            L = 0;
        }
        c->qs_first[t] = -1;
        if (L < 1 || L > TM__QS_MAX_LEAVES || n_entries + 2 * L > INT32_MAX / 2) {
            continue;
        }
        c->qs_first[t] = (int32_t)n_entries; /* placeholder: marks the tree */
        c->qs_leaf[t] = (int32_t)n_leaves;
        c->n_qs++;
        n_entries += 2 * (int64_t)L;
        n_leaves += L;
    }
    c->qs = tm_aligned_alloc((size_t)(n_entries + 1) * sizeof *c->qs);
    c->qleaf_f = tm_calloc((size_t)n_leaves + TM__QS_MAX_LEAVES, sizeof *c->qleaf_f);
    c->qleaf_d = tm_calloc((size_t)n_leaves + TM__QS_MAX_LEAVES, sizeof *c->qleaf_d);
    c->qleaf_of = tm_malloc_n((size_t)n_leaves + 1, sizeof *c->qleaf_of);
    c->qs_bytes += nt * 4 * sizeof(int32_t) + (size_t)(n_entries + 1) * sizeof *c->qs +
                   ((size_t)n_leaves + TM__QS_MAX_LEAVES) * (sizeof(float) + sizeof(double)) +
                   ((size_t)n_leaves + 1) * sizeof(int32_t);
    if (!c->qs || !c->qleaf_f || !c->qleaf_d || !c->qleaf_of) {
        st = TM_E_NOMEM;
        goto done;
    }
    if ((st = collect_thresholds(f, c)) != TM_OK) {
        goto done;
    }
    int32_t next = 0;
    for (int32_t t = 0; t < f->n_trees; t++) {
        if (c->qs_first[t] < 0) {
            continue;
        }
        b->n[0] = b->n[1] = 0;
        b->leaf0 = c->qs_leaf[t];
        int32_t L = number_leaves(f, c, t, f->tree_first[t], 0, b);
        if (L > 32 && b->n[1] == 0) {
            /* leaf 32 is the rightmost and no left child holds it: a no-op
             * entry makes the kernel read word 1 (word 0 may end empty) */
            b->word[1][b->n[1]++] = (qnode){0, 0, ~0u};
        }
        c->qs_first[t] = next;
        c->qs_n0[t] = b->n[0];
        c->qs_n1[t] = b->n[1];
        for (int w = 0; w < 2; w++) {
            for (int32_t i = 0; i < b->n[w]; i++) {
                c->qs[next++] = b->word[w][i];
            }
        }
    }
    if (c->qs_kernel >= TM__QS_AVX2 && (st = compile_search_trees(f, c)) != TM_OK) {
        goto done;
    }
    if (TM__QS_WORDS16(c->qs_kernel)) {
        st = compile_words(f, c);
    }
done:
    tm_free(b);
    if (st != TM_OK) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory compiling the forest");
    }
    return TM_OK;
}
