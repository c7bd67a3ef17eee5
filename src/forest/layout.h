/* The predictor's compiled layout, shared by layout.c (which builds it)
 * and predict_batch.c (which runs it). */
#ifndef TURBOMODE_FOREST_LAYOUT_H
#define TURBOMODE_FOREST_LAYOUT_H

#include "forest/forest_int.h"
#include "forest/predict_int.h"

#define TM__BLOCK   32
#define FE_MASK     0x3fffffff /* feature index bits of a compiled node */
#define FE_NAN_LEFT (1 << 30)

typedef struct cnode_f {
    int32_t fe;   /* feature | FE_NAN_LEFT */
    float thr;    /* go left when x <= thr; NaN at leaves (always right) */
    int32_t left; /* right child is left + 1; leaves: own index - 1 */
} cnode_f;

/* Heap-ordered node of a complete tree: children of i are 2i+1, 2i+2. */
typedef struct hnode_f {
    int32_t fe;
    float thr;
} hnode_f;

typedef struct hnode_d {
    int32_t fe;
    int32_t pad;
    double thr;
} hnode_d;

/* Trees up to this depth whose paths are about equally long are padded to
 * complete trees: a step is then one 8-byte load and no child pointer. */
#define TM__HEAP_MAX_DEPTH 10

typedef struct cnode_d {
    int32_t fe;
    int32_t left;
    double thr;
} cnode_d;

/* Bitvector trees (layout_qs.c): trees of up to TM__QS_MAX_LEAVES leaves,
 * leaves numbered left to right, a row's leaf bits kept in 32-bit words. An
 * entry clears the bits `nmask` leaves of word w unset when the row goes
 * right at its node, i.e. rank > k1 - 1; the exit leaf is the lowest bit
 * left set. Inputs are ranks among the sorted thresholds of their feature
 * (in the compare precision), so every compare is one integer compare. */
#define TM__QS_MAX_LEAVES 64
#define TM__QS_NAN_RIGHT  INT32_MAX /* the rank NaN takes in region 1 */

/* Levels of a threshold search tree: 8 keys a block reach INT32_MAX. */
#define TM__SKEY_MAX_LEVELS 11

typedef struct qnode {
    uint32_t off;   /* rank block offset in bytes: (region * n_features + feature) *
                       TM__BLOCK * 4 */
    int32_t k1;     /* the row goes left when its rank < k1 */
    uint32_t nmask; /* ~(leaves of word w under the left child) */
} qnode;

/* The bitvector kernels, each on the CPUs that have its instructions. */
typedef enum tm__qs_kernel {
    TM__QS_PLAIN,   /* portable C on 8-lane vectors (any CPU) */
    TM__QS_AVX2,    /* the same, built for AVX2 */
    TM__QS_AVX2W,   /* AVX2 on 16-bit ranks and leaf words: 16 rows a
                       compare (when every feature has under 32767
                       thresholds) */
    TM__QS_AVX512,  /* 16-lane compares into lane masks, gathered leaves */
    TM__QS_AVX512W, /* the same on 16-bit ranks and leaf words, 32 rows a
                       compare (when every feature has under 32767
                       thresholds) */
} tm__qs_kernel;

/* Whether a kernel runs the 16-bit words (wnode) and 16-bit ranks. */
#define TM__QS_WORDS16(k) ((k) == TM__QS_AVX2W || (k) == TM__QS_AVX512W)

/* A bitvector entry on a 16-bit leaf word (TM__QS_AVX2W, TM__QS_AVX512W): k1 and the
 * mask repeated in both halves, so each broadcasts as one 32-bit load. */
typedef struct wnode {
    uint32_t off; /* rank16 block offset in bytes: (region * n_features + feature) * 64 */
    int32_t k2;   /* k1 | k1 << 16 */
    int32_t m2;   /* nmask16 | nmask16 << 16 */
} wnode;

struct tm__compiled {
    bool f32; /* nodes compare in float32 (else double) */
    int32_t n_nodes;
    cnode_f *nf;         /* f32 nodes */
    cnode_d *nd;         /* f64 nodes */
    float *leaf_f;       /* per compiled node: leaf value x weight (sum_f32) */
    double *leaf_d;      /* per compiled node: leaf value x weight */
    int32_t *leaf_of;    /* per compiled node: IR leaf index */
    int32_t *root;       /* per tree: compiled root, -1 = reference walk */
    int32_t *steps;      /* per tree: lockstep steps, 0 = walk until leaf */
    int32_t *heap_first; /* per tree: first heap node, -1 = not a heap tree */
    int32_t *heap_leaf;  /* per tree: first heap leaf */
    int64_t n_heap_nodes, n_heap_leaves;
    hnode_f *hf;    /* f32 heap nodes */
    hnode_d *hd;    /* f64 heap nodes */
    float *hleaf_f; /* heap leaves: value x weight */
    double *hleaf_d;
    int32_t *hleaf_of; /* heap leaves: IR leaf index */
    int32_t x_regions; /* block rows hold 1 copy of the inputs, or 2-3 when
                          heap trees exist: [NaN as +inf | NaN as -inf |
                          plain]; heap nodes index the first two */
    float *nan_fill;   /* oblivious: per feature, what NaN becomes */
    int32_t n_read;    /* inputs any split or linear leaf reads ... */
    int32_t *read;     /* ... ascending: the only ones a block loads */
    bool obl_fast;     /* oblivious trees use the fast path */

    /* Bitvector trees (none when qs_first is NULL). */
    int32_t *qs_first; /* per tree: first entry in qs, -1 = not a bitvector tree */
    int32_t n_qs;      /* bitvector trees */
    int32_t *qs_n0;    /* per tree: entries on word 0 ... */
    int32_t *qs_n1;    /* ... then on word 1 (leaves 32..63) */
    int32_t *qs_leaf;  /* per tree: first of its leaves in qleaf_* */
    qnode *qs;
    float *qleaf_f; /* leaf value x weight, left to right */
    double *qleaf_d;
    int32_t *qleaf_of;   /* IR leaf index */
    double *qthr;        /* per feature: its sorted distinct thresholds ... */
    int32_t *qthr_first; /* ... from qthr_first[j], qthr_n[j] of them */
    int32_t *qthr_n;
    tm__qs_kernel qs_kernel; /* the bitvector kernel run (chosen at compile time) */
    size_t qs_bytes;         /* memory the bitvector layout holds */
    /* Search trees of the thresholds (the AVX-512 kernels' ranks, see
     * layout_qs.c): per feature, its levels from the top, each a run of
     * blocks of skey_fan keys, float when skey_f32 (else double). */
    int32_t skey_fan;     /* 16 (float keys) or 8 (double keys) */
    bool skey_f32;        /* keys in float: the model compares in float32 */
    float *skey_f;        /* the keys (skey_f32) ... */
    double *skey_d;       /* ... or these */
    uint8_t *skey_levels; /* per feature: its levels */
    int32_t *skey_off;    /* per feature, TM__SKEY_MAX_LEVELS: first key of each level */
    /* 16-bit words (TM__QS_WORDS16 kernels): per tree, the words used (2 or
     * 4), the entries on each word (4 counts a tree), the first entry in
     * qw; a tree's entries word after word */
    int32_t rank16_at; /* rank16 block: int32 elements past the rank block */
    uint8_t *qw_words;
    int32_t *qw_n;
    int32_t *qw_first;
    wnode *qw;
    bool need_x; /* some tree reads the float/double block */
};

/* The <= threshold equivalent to the family's compare at node nd (layout.c). */
double tm__forest_le_threshold(const tm_forest *f, int32_t nd);
/* Whether pointer-layout tree t can be padded into a complete heap tree
 * (shallow, balanced, finite thresholds): those with more than 32 leaves
 * take the heap layout, the others the bitvector one (layout.c). */
bool tm__forest_heap_fits(const tm_forest *f, const struct tm__compiled *c, int32_t t);
/* Compiles f's layout for the given bitvector kernel, which the CPU must
 * run (tm__forest_compile takes the fastest; tests take each). */
tm_status tm__forest_compile_kernel(tm_forest *f, tm__qs_kernel kernel, tm_err *err);
/* The fastest bitvector kernel this CPU runs (predict_qs.c). */
tm__qs_kernel tm__forest_qs_cpu_kernel(void);
/* Compiles the bitvector trees among the pointer-layout ones (layout_qs.c);
 * run after the pointer layout, before the heap layout. */
tm_status tm__forest_compile_qs(const tm_forest *f, struct tm__compiled *c, tm_err *err);
void tm__forest_qs_free(struct tm__compiled *c);
/* Block ranks (predict_ranks.c): ranks of the block's rows in two regions
 * (NaN as rank 0, NaN as TM__QS_NAN_RIGHT), and in 16 bits after them for
 * the 16-bit kernels; lanes past nb are not to be used. The next block's
 * n_next rows may be prefetched; xt is scratch for TM__BLOCK * n_read
 * doubles. */
void tm__forest_qs_ranks(const tm_forest *f, const double *X, size_t stride, size_t r0, int nb,
                         int n_next, double *restrict xt, int32_t *restrict rb);
/* Walks bitvector tree t for the 32 rows of a rank block; idx[r] gets the
 * tree's leaf number (0 = leftmost). */
void tm__forest_qs_walk(const struct tm__compiled *c, int32_t t, const int32_t *restrict rb,
                        int32_t *restrict idx);
/* Walks bitvector tree t (leaf_dim 1) for the 32 rows of a rank block and
 * adds each row's leaf value, lf[leaf] (sum_f32) or ld[leaf], to acc[r]
 * (TM__BLOCK floats or doubles); idx is scratch for TM__BLOCK leaves. */
void tm__forest_qs_walk_add(const struct tm__compiled *c, int32_t t, const int32_t *restrict rb,
                            const float *lf, const double *ld, bool sum_f32, void *acc,
                            int32_t *restrict idx);

/* tm__forest_qs_walk_add for the four rank blocks rb[g] and their
 * accumulators acc[g] at once, where the kernel has such a form (else
 * false, and nothing done). */
bool tm__forest_qs_walk_add4(const struct tm__compiled *c, int32_t t, int32_t *const *rb,
                             const float *lf, const double *ld, bool sum_f32, void *const *acc);

#endif
