/* Oblivious (symmetric) growth, CatBoost's default: every leaf of a level
 * splits on the same (feature, bin), chosen to maximise the summed gain
 * over the level's leaves; missing values always go left (CatBoost's
 * nan_mode Min, see formats/catboost). Leaf i of depth d has bit k set
 * when it went right at level k. min_data_in_leaf and the hessian floor
 * do not apply (symmetric trees may hold empty leaves). */
#include <math.h>
#include <string.h>

#include "train/train_int.h"

static double score(double g, double h, double lambda)
{
    return h + lambda > 0.0 ? tm__train_leaf_score(g, h, lambda) : 0.0;
}

/* Best (bin, summed gain) of feature u over the n_cur leaves. */
static void find_feature(const tm__train_grower *gr, int32_t n_cur, int32_t u, tm__train_split *sp)
{
    const tm__train_bins *b = gr->bins;
    int32_t nb = b->n_bins[u];
    double acc[256] = {0};
    double lam = gr->p.lambda;
    for (int32_t i = 0; i < n_cur; i++) {
        const tm__train_leaf *lf = &gr->leaves[i];
        if (lf->hist < 0) {
            continue;
        }
        const tm__train_gh *H = gr->pool[lf->hist].gh + b->offset[u];
        double gl = (double)H[nb].g, hl = (double)H[nb].h, base = score(lf->g, lf->h, lam);
        for (int32_t t = 0; t < nb - 1; t++) {
            gl += (double)H[t].g;
            hl += (double)H[t].h;
            acc[t] += score(gl, hl, lam) + score(lf->g - gl, lf->h - hl, lam) - base;
        }
    }
    sp->feat_u = -1;
    for (int32_t t = 0; t < nb - 1; t++) {
        if (sp->feat_u < 0 || acc[t] > sp->gain) {
            sp->feat_u = u;
            sp->bin = t;
            sp->gain = acc[t];
            sp->nan_left = true;
        }
    }
}

static void find_level(tm__train_grower *gr, int32_t n_cur, const uint8_t *feat_on,
                       tm__train_split *out)
{
    int32_t nu = gr->bins->n_used;
    tm__train_split *sc = gr->scratch;
#pragma omp parallel for schedule(static) num_threads(gr->n_threads) if (nu >= 8)
    for (int32_t u = 0; u < nu; u++) {
        sc[u].feat_u = -1;
        if (!feat_on || feat_on[u]) {
            find_feature(gr, n_cur, u, &sc[u]);
        }
    }
    out->feat_u = -1;
    for (int32_t u = 0; u < nu; u++) {
        if (sc[u].feat_u >= 0 && sc[u].gain > gr->p.min_gain &&
            (out->feat_u < 0 || sc[u].gain > out->gain)) {
            *out = sc[u];
        }
    }
}

/* Left sums (missing included) of a leaf's histogram for the split. */
static void left_sums(const tm__train_grower *gr, const tm__train_hist *h, int32_t u, int32_t bin,
                      double *g, double *hs)
{
    const tm__train_gh *H = h->gh + gr->bins->offset[u];
    double sg = (double)H[gr->bins->n_bins[u]].g, sh = (double)H[gr->bins->n_bins[u]].h;
    for (int32_t t = 0; t <= bin; t++) {
        sg += (double)H[t].g;
        sh += (double)H[t].h;
    }
    *g = sg;
    *hs = sh;
}

/* Splits leaf i of level d into i and i + n_cur; builds the children's
 * histograms when another level follows. */
static tm_status split_leaf(tm__train_grower *gr, int32_t i, int32_t n_cur,
                            const tm__train_split *sp, bool more, const uint8_t *feat_on,
                            tm_err *err)
{
    tm__train_leaf *a = &gr->leaves[i], *b = &gr->leaves[i + n_cur];
    int32_t parent = a->hist;
    double gl = 0.0, hl = 0.0;
    int32_t mid = a->begin;
    if (a->end > a->begin) {
        mid = tm__train_partition(gr, a->begin, a->end, sp->feat_u, sp->bin, true);
        left_sums(gr, &gr->pool[parent], sp->feat_u, sp->bin, &gl, &hl);
    }
    *b = *a;
    b->begin = mid;
    b->g = a->g - gl;
    b->h = a->h - hl;
    a->end = mid;
    a->g = gl;
    a->h = hl;
    a->hist = b->hist = -1;
    if (!more || parent < 0) {
        tm__train_pool_put(gr, parent);
        return TM_OK;
    }
    tm__train_leaf *small = (a->end - a->begin) <= (b->end - b->begin) ? a : b;
    tm__train_leaf *big = small == a ? b : a;
    if (small->end > small->begin) {
        int32_t id;
        tm_status st = tm__train_pool_get(gr, &id, err);
        if (st != TM_OK) {
            tm__train_pool_put(gr, parent);
            return st;
        }
        tm__train_hist_build(&gr->src, gr->part + small->begin, (size_t)(small->end - small->begin),
                             feat_on, gr->n_threads, &gr->pool[id]);
        tm__train_hist_sub(gr->bins, &gr->pool[parent], &gr->pool[id], feat_on, gr->n_threads);
        small->hist = id;
    }
    big->hist = parent;
    return TM_OK;
}

tm_status tm__train_grow_oblivious(tm__train_grower *gr, const int32_t *rows, size_t n,
                                   const tm__train_gh *grad, const uint8_t *feat_on,
                                   tm__train_model *m, tm_err *err)
{
    int32_t max_d = gr->max_depth;
    tm_status st = tm__train_model_reserve(m, 0, max_d, err);
    if (st != TM_OK) {
        return st;
    }
    for (size_t i = 0; i < n; i++) {
        gr->part[i] = rows ? rows[i] : (int32_t)i;
    }
    gr->src.grad = grad;
    gr->n_free = 0;
    for (int32_t i = 0; i < gr->n_pool; i++) {
        gr->pool_free[gr->n_free++] = gr->n_pool - 1 - i;
    }
    tm__train_leaf *root = &gr->leaves[0];
    memset(root, 0, sizeof *root);
    root->end = (int32_t)n;
    root->hist = -1;
    tm__train_sum_rows(gr, 0, (int32_t)n, grad, &root->g, &root->h);
    int32_t depth = 0, lvl_first = m->n_levels;
    if (max_d > 0 && n > 1) {
        st = tm__train_pool_get(gr, &root->hist, err);
        if (st != TM_OK) {
            return st;
        }
        if (!tm__train_root_prebuilt(gr, rows, feat_on, root->hist)) {
            tm__train_hist_build(&gr->src, rows, n, feat_on, gr->n_threads, &gr->pool[root->hist]);
        }
    }
    while (depth < max_d && n > 1) {
        int32_t n_cur = (int32_t)1 << depth;
        tm__train_split sp;
        find_level(gr, n_cur, feat_on, &sp);
        if (sp.feat_u < 0) {
            break;
        }
        m->lvl_feat_u[lvl_first + depth] = sp.feat_u;
        m->lvl_bin[lvl_first + depth] = sp.bin;
        for (int32_t i = 0; i < n_cur && st == TM_OK; i++) {
            st = split_leaf(gr, i, n_cur, &sp, depth + 1 < max_d, feat_on, err);
        }
        if (st != TM_OK) {
            return st;
        }
        depth++;
    }
    gr->n_leaves = (int32_t)1 << depth;
    int32_t leaf_first = m->n_leafv;
    for (int32_t l = 0; l < gr->n_leaves; l++) {
        const tm__train_leaf *lf = &gr->leaves[l];
        double den = lf->h + gr->p.lambda;
        double v = den > 0.0 ? -lf->g / den * gr->lr : 0.0;
        m->leafv[leaf_first + l] = v;
        gr->leaf_value[l] = v;
    }
    m->tree_first[m->n_trees] = lvl_first;
    m->tree_n[m->n_trees] = depth;
    m->tree_leaf_first[m->n_trees] = leaf_first;
    m->n_trees++;
    m->n_levels += depth;
    m->n_leafv += gr->n_leaves;
    return TM_OK;
}
