/* tm_forest_predict: blocks of rows per thread over the compiled layout of
 * predict.c. One block = TM__BLOCK rows converted to the compare precision,
 * then every tree walked for all rows of the block before the next tree
 * (the tree stays in L1), accumulated in the family's precision. */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "forest/predict_compiled.h"

typedef struct scratch {
    void *x;        /* TM__BLOCK * n_features floats or doubles */
    int32_t *idx;   /* TM__BLOCK */
    float *acc_f;   /* TM__BLOCK * n_outputs */
    double *acc_d;  /* TM__BLOCK * n_outputs */
    double *m;      /* n_outputs */
} scratch;

/* Walks the rows of a block through compiled tree t; leaves idx[r]. */
static void walk_f32(const struct tm__compiled *c, int32_t t, const float *restrict xb,
                     int32_t nfeat, int nb, int32_t *restrict idx)
{
    const cnode_f *restrict nodes = c->nf;
    int32_t root = c->root[t], steps = c->steps[t];
    for (int r = 0; r < nb; r++) {
        idx[r] = root;
    }
    if (steps > 0) {
        for (int32_t d = 0; d < steps; d++) {
            for (int r = 0; r < nb; r++) {
                const cnode_f *n = &nodes[idx[r]];
                float x = xb[(size_t)r * (size_t)nfeat + (size_t)(n->fe & FE_MASK)];
                int right_nl = x > n->thr;
                int right = !(x <= n->thr);
                idx[r] = n->left + ((n->fe & FE_NAN_LEFT) ? right_nl : right);
            }
        }
        return;
    }
    for (int r = 0; r < nb; r++) {
        const float *row = xb + (size_t)r * (size_t)nfeat;
        int32_t i = root;
        while (c->leaf_of[i] < 0) {
            const cnode_f *n = &nodes[i];
            float x = row[n->fe & FE_MASK];
            int right = (n->fe & FE_NAN_LEFT) ? x > n->thr : !(x <= n->thr);
            i = n->left + right;
        }
        idx[r] = i;
    }
}

static void walk_f64(const struct tm__compiled *c, int32_t t, const double *restrict xb,
                     int32_t nfeat, int nb, int32_t *restrict idx)
{
    const cnode_d *restrict nodes = c->nd;
    int32_t root = c->root[t], steps = c->steps[t];
    for (int r = 0; r < nb; r++) {
        idx[r] = root;
    }
    if (steps > 0) {
        for (int32_t d = 0; d < steps; d++) {
            for (int r = 0; r < nb; r++) {
                const cnode_d *n = &nodes[idx[r]];
                double x = xb[(size_t)r * (size_t)nfeat + (size_t)(n->fe & FE_MASK)];
                int right_nl = x > n->thr;
                int right = !(x <= n->thr);
                idx[r] = n->left + ((n->fe & FE_NAN_LEFT) ? right_nl : right);
            }
        }
        return;
    }
    for (int r = 0; r < nb; r++) {
        const double *row = xb + (size_t)r * (size_t)nfeat;
        int32_t i = root;
        while (c->leaf_of[i] < 0) {
            const cnode_d *n = &nodes[i];
            double x = row[n->fe & FE_MASK];
            int right = (n->fe & FE_NAN_LEFT) ? x > n->thr : !(x <= n->thr);
            i = n->left + right;
        }
        idx[r] = i;
    }
}

/* Oblivious tree t for a block whose NaNs were already filled. */
static void walk_oblivious(const tm_forest *f, int32_t t, const float *restrict xb,
                           int32_t nfeat, int nb, int32_t *restrict idx)
{
    int32_t first = f->obl_first[t], depth = f->obl_depth[t];
    for (int r = 0; r < nb; r++) {
        idx[r] = 0;
    }
    for (int32_t i = 0; i < depth; i++) {
        int32_t j = f->obl_feature[first + i];
        float b = f->obl_border[first + i];
        for (int r = 0; r < nb; r++) {
            idx[r] |= (int32_t)(xb[(size_t)r * (size_t)nfeat + (size_t)j] > b) << i;
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
        int32_t k = f->tree_output[t];
        if (f->sum_f32) {
            for (int r = 0; r < nb; r++) {
                s->acc_f[r * nout + k] += c->leaf_f[idx[r]];
            }
        } else {
            for (int r = 0; r < nb; r++) {
                s->acc_d[r * nout + k] += c->leaf_d[idx[r]];
            }
        }
        return;
    }
    for (int r = 0; r < nb; r++) {
        int32_t leaf = ir_leaf ? idx[r] : c->leaf_of[idx[r]];
        const double *row = X + (r0 + (size_t)r) * stride;
        if (f->leaf_dim == 1) {
            int32_t k = f->tree_output[t];
            double v = tm__forest_leaf_value(f, leaf, 0, row) * f->tree_weight[t];
            if (f->sum_f32) {
                s->acc_f[r * nout + k] += (float)v;
            } else {
                s->acc_d[r * nout + k] += v;
            }
            continue;
        }
        const double *lv = f->leaf_values + (size_t)leaf * (size_t)nout;
        for (int32_t k = 0; k < nout; k++) {
            s->acc_d[r * nout + k] += lv[k];
        }
    }
}

/* Converts the block's rows to the compare precision. */
static void load_block(const tm_forest *f, const double *X, size_t stride, size_t r0, int nb,
                       scratch *s)
{
    const struct tm__compiled *c = f->compiled;
    int32_t nfeat = f->n_features;
    for (int r = 0; r < nb; r++) {
        const double *row = X + (r0 + (size_t)r) * stride;
        if (c->f32) {
            float *xb = (float *)s->x + (size_t)r * (size_t)nfeat;
            for (int32_t j = 0; j < nfeat; j++) {
                xb[j] = (float)row[j];
            }
            if (f->oblivious && c->obl_fast) {
                for (int32_t j = 0; j < nfeat; j++) {
                    xb[j] = isnan(xb[j]) ? c->nan_fill[j] : xb[j];
                }
            }
        } else {
            double *xb = (double *)s->x + (size_t)r * (size_t)nfeat;
            for (int32_t j = 0; j < nfeat; j++) {
                xb[j] = tm__forest_input(f, row[j]);
            }
        }
    }
}

static void predict_block(const tm_forest *f, const double *X, size_t stride, size_t r0,
                          int nb, tm_forest_output kind, double *out, scratch *s)
{
    const struct tm__compiled *c = f->compiled;
    int32_t nout = f->n_outputs, nfeat = f->n_features;
    bool bias_last = f->family == TM_FOREST_CATBOOST;
    load_block(f, X, stride, r0, nb, s);
    for (int r = 0; r < nb; r++) {
        for (int32_t k = 0; k < nout; k++) {
            s->acc_f[r * nout + k] = (float)f->base_score[k];
            s->acc_d[r * nout + k] = bias_last ? 0.0 : f->base_score[k];
        }
    }
    for (int32_t t = 0; t < f->n_trees; t++) {
        bool ir_leaf = false;
        if (f->oblivious && c->obl_fast) {
            walk_oblivious(f, t, s->x, nfeat, nb, s->idx);
            ir_leaf = true;
        } else if (f->oblivious || c->root[t] < 0) {
            for (int r = 0; r < nb; r++) {
                const double *row = X + (r0 + (size_t)r) * stride;
                s->idx[r] = f->oblivious ? tm__forest_oblivious_leaf(f, t, row)
                                         : tm__forest_leaf_of(f, t, row);
            }
            ir_leaf = true;
        } else if (c->f32) {
            walk_f32(c, t, s->x, nfeat, nb, s->idx);
        } else {
            walk_f64(c, t, s->x, nfeat, nb, s->idx);
        }
        add_leaves(f, t, s->idx, ir_leaf, X, stride, r0, nb, s);
    }
    size_t width = tm_forest_output_len(f, kind);
    for (int r = 0; r < nb; r++) {
        for (int32_t k = 0; k < nout; k++) {
            double a = s->acc_d[r * nout + k];
            s->m[k] = f->sum_f32 ? (double)s->acc_f[r * nout + k]
                      : bias_last ? f->scale * a + f->base_score[k]
                                  : a;
        }
        tm__forest_transform(f, kind, s->m, out + (r0 + (size_t)r) * width);
    }
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
    size_t n_blocks = (n_rows + TM__BLOCK - 1) / TM__BLOCK;
    if ((size_t)nt > n_blocks) {
        nt = (int)n_blocks;
    }
    size_t nfeat = (size_t)f->n_features + 1, nout = (size_t)f->n_outputs;
    size_t x_bytes = TM__BLOCK * nfeat * sizeof(double);
    size_t per = x_bytes + TM__BLOCK * sizeof(int32_t) + TM__BLOCK * nout * sizeof(float) +
                 TM__BLOCK * nout * sizeof(double) + nout * sizeof(double);
    per = (per + 63) / 64 * 64 + 64;
    char *mem = tm_aligned_alloc(per * (size_t)nt);
    scratch *sc = tm_malloc_n((size_t)nt, sizeof *sc);
    if (!mem || !sc) {
        tm_free(mem);
        tm_free(sc);
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory for predict scratch");
    }
    for (int i = 0; i < nt; i++) {
        char *p = mem + per * (size_t)i;
        sc[i].x = p;
        p += x_bytes;
        sc[i].acc_d = (double *)p;
        p += TM__BLOCK * nout * sizeof(double);
        sc[i].m = (double *)p;
        p += nout * sizeof(double);
        sc[i].acc_f = (float *)p;
        p += TM__BLOCK * nout * sizeof(float);
        sc[i].idx = (int32_t *)p;
    }
#pragma omp parallel num_threads(nt)
    {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
#pragma omp for schedule(static)
        for (size_t b = 0; b < n_blocks; b++) {
            size_t r0 = b * TM__BLOCK;
            int nb = (int)(n_rows - r0 < TM__BLOCK ? n_rows - r0 : TM__BLOCK);
            predict_block(f, X, stride, r0, nb, kind, out, &sc[tid]);
        }
    }
    tm_free(mem);
    tm_free(sc);
    return TM_OK;
}
