/* The predictor's compiled layout, shared by layout.c (which builds it)
 * and predict_batch.c (which runs it). */
#ifndef TURBOMODE_FOREST_LAYOUT_H
#define TURBOMODE_FOREST_LAYOUT_H

#include "forest/forest_int.h"
#include "forest/predict_int.h"

#define TM__BLOCK 32
#define FE_MASK 0x3fffffff  /* feature index bits of a compiled node */
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

struct tm__compiled {
    bool f32;             /* nodes compare in float32 (else double) */
    int32_t n_nodes;
    cnode_f *nf;          /* f32 nodes */
    cnode_d *nd;          /* f64 nodes */
    float *leaf_f;        /* per compiled node: leaf value x weight (sum_f32) */
    double *leaf_d;       /* per compiled node: leaf value x weight */
    int32_t *leaf_of;     /* per compiled node: IR leaf index */
    int32_t *root;        /* per tree: compiled root, -1 = reference walk */
    int32_t *steps;       /* per tree: lockstep steps, 0 = walk until leaf */
    int32_t *heap_first;  /* per tree: first heap node, -1 = not a heap tree */
    int32_t *heap_leaf;   /* per tree: first heap leaf */
    int64_t n_heap_nodes, n_heap_leaves;
    hnode_f *hf;          /* f32 heap nodes */
    hnode_d *hd;          /* f64 heap nodes */
    float *hleaf_f;       /* heap leaves: value x weight */
    double *hleaf_d;
    int32_t *hleaf_of;    /* heap leaves: IR leaf index */
    int32_t x_regions;    /* block rows hold 1 copy of the inputs, or 2-3 when
                             heap trees exist: [NaN as +inf | NaN as -inf |
                             plain]; heap nodes index the first two */
    float *nan_fill;      /* oblivious: per feature, what NaN becomes */
    int32_t n_read;       /* inputs any split or linear leaf reads ... */
    int32_t *read;        /* ... ascending: the only ones a block loads */
    bool obl_fast;        /* oblivious trees use the fast path */
};

#endif
