/* Trees flattened for the writers (tm__forest_wnode, forest_int.h): every
 * tree, general or oblivious, comes out breadth-first with siblings
 * adjacent (XGBoost's right child is left + 1), each split in the two
 * forms the formats compare in: "float32(x) < t" (XGBoost, CatBoost) when
 * one exists, and "x <= t64" in double (LightGBM, see formats/lightgbm).
 * Flattening never fails; what a format cannot hold is each writer's to
 * refuse. */
#include <math.h>
#include <string.h>

#include "forest/forest_int.h"

/* Largest double d with float32(d) < t: "x <= d" is "float32(x) < t". */
static double lgb_threshold(float t)
{
    float p = nextafterf(t, -INFINITY);
    double m = ((double)p + (double)t) * 0.5; /* exact in double */
    if ((float)m >= t) {                      /* the tie rounds up: step below */
        m = nextafter(m, -INFINITY);
    }
    return m;
}

/* Sets the split forms of w from node nd's compare rule. */
static void node_split(const tm_forest *f, int32_t nd, tm__forest_wnode *w)
{
    float b = f->threshold_f[nd];
    w->exact32 = true;
    switch (f->cmp) {
    case TM__CMP_LT_F32:
        w->t = b;
        w->t64 = lgb_threshold(b);
        break;
    case TM__CMP_LE_F32:
        w->t = nextafterf(b, INFINITY);
        w->exact32 = isfinite(w->t);
        w->t64 = w->exact32 ? lgb_threshold(w->t) : (double)b;
        break;
    case TM__CMP_LE_F64: {
        double d = f->threshold[nd];
        float c1 = (float)d, c2 = nextafterf(c1, INFINITY);
        w->t64 = d;
        w->exact32 = false;
        if (isfinite(c1) && lgb_threshold(c1) == d) {
            w->t = c1;
            w->exact32 = true;
        } else if (isfinite(c2) && lgb_threshold(c2) == d) {
            w->t = c2;
            w->exact32 = true;
        }
        break;
    }
    }
    double t = (double)w->t;
    if (w->exact32 && f->zero_tiny_inputs && t > -f->zero_band && t <= f->zero_band) {
        w->exact32 = false; /* tiny inputs act as 0 in the source model */
    }
}

/* Value of output k at a leaf (one value per leaf when leaf_dim is 1). */
static double leaf_value(const tm_forest *f, size_t leaf, int32_t k)
{
    return f->leaf_dim == 1 ? f->leaf_values[leaf]
                            : f->leaf_values[leaf * (size_t)f->leaf_dim + (size_t)k];
}

int32_t tm__forest_flat_max(const tm_forest *f)
{
    int32_t mx = 1;
    for (int32_t t = 0; t < f->n_trees; t++) {
        int32_t n = f->oblivious ? ((int32_t)2 << f->obl_depth[t]) - 1 : f->tree_n_nodes[t];
        mx = n > mx ? n : mx;
    }
    return mx;
}

static void flatten_oblivious(const tm_forest *f, int32_t t, int32_t k, double add,
                              tm__forest_wnode *buf, int32_t *n)
{
    int32_t d = f->obl_depth[t], first = f->obl_first[t], pos = 0;
    for (int32_t i = 0; i < d; i++) {
        int32_t s = first + i;
        for (int32_t j = 0; j < ((int32_t)1 << i); j++, pos++) {
            tm__forest_wnode *w = &buf[pos];
            w->feature = f->obl_feature[s];
            w->t = nextafterf(f->obl_border[s], INFINITY); /* right when x > border */
            w->exact32 = isfinite(w->t);
            w->t64 = w->exact32 ? lgb_threshold(w->t) : (double)f->obl_border[s];
            w->nan_left = !f->obl_nan_one[s];
            w->left = ((int32_t)2 << i) - 1 + 2 * j;
        }
    }
    for (int32_t q = 0; q < ((int32_t)1 << d); q++, pos++) {
        int32_t idx = 0; /* breadth-first position: first split is the top bit */
        for (int32_t i = 0; i < d; i++) {
            idx |= ((q >> (d - 1 - i)) & 1) << i;
        }
        tm__forest_wnode *w = &buf[pos];
        memset(w, 0, sizeof *w);
        w->feature = -1;
        w->left = -1;
        size_t leaf = (size_t)(f->obl_leaf_first[t] + idx);
        w->value = leaf_value(f, leaf, k) + add;
    }
    *n = pos;
}

void tm__forest_flatten(const tm_forest *f, int32_t t, int32_t k, double add, tm__forest_wnode *buf,
                        int32_t *n)
{
    if (f->oblivious) {
        flatten_oblivious(f, t, k, add, buf, n);
        return;
    }
    int32_t cnt = 1;
    buf[0].left = f->tree_first[t]; /* entries not yet visited hold their source node */
    for (int32_t i = 0; i < cnt; i++) {
        int32_t nd = buf[i].left;
        tm__forest_wnode *w = &buf[i];
        memset(w, 0, sizeof *w);
        if (f->flags[nd] & TM__NODE_LEAF) {
            w->feature = -1;
            w->left = -1;
            size_t leaf = (size_t)f->leaf_index[nd];
            w->value = leaf_value(f, leaf, k) + add;
            continue;
        }
        w->feature = f->feature[nd];
        w->nan_left = (f->flags[nd] & TM__NODE_NAN_LEFT) != 0;
        node_split(f, nd, w);
        w->left = cnt;
        buf[cnt++].left = f->left[nd];
        buf[cnt++].left = f->right[nd];
    }
    *n = cnt;
}
