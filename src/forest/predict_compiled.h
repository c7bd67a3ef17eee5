/* The predictor's compiled layout, shared by predict.c (which builds it)
 * and predict_batch.c (which runs it). */
#ifndef TURBOMODE_PREDICT_COMPILED_H
#define TURBOMODE_PREDICT_COMPILED_H

#include "forest/forest_int.h"
#include "forest/predict_int.h"

#define TM__BLOCK 64
#define FE_MASK 0x3fffffff  /* feature index bits of a compiled node */
#define FE_NAN_LEFT (1 << 30)

typedef struct cnode_f {
    int32_t fe;   /* feature | FE_NAN_LEFT */
    float thr;    /* go left when x <= thr; NaN at leaves (always right) */
    int32_t left; /* right child is left + 1; leaves: own index - 1 */
} cnode_f;

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
    float *nan_fill;      /* oblivious: per feature, what NaN becomes */
    bool obl_fast;        /* oblivious trees use the fast path */
};

#endif
