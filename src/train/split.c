/* Split search on a leaf's histogram: for every feature and bin boundary,
 * the L2-regularised gain G_L^2/(H_L+lambda) + G_R^2/(H_R+lambda) -
 * G^2/(H+lambda) (LightGBM's form, without XGBoost's factor 1/2), with
 * the missing bin sent left and right in turn to learn its direction.
 * Child row counts for min_data_in_leaf are estimated from hessians (the
 * histograms keep no counts); growth checks the chosen split exactly.
 * Features are searched in parallel, the winner picked in feature order. */
#include <math.h>

#include "train/train_int.h"

static bool excluded(const tm__train_split *excl, int n_excl, int32_t u, int32_t t, bool nl)
{
    for (int i = 0; i < n_excl; i++) {
        if (excl[i].feat_u == u && excl[i].bin == t && excl[i].nan_left == nl) {
            return true;
        }
    }
    return false;
}

/* One feature's best split; sp->feat_u = -1 when none is valid. per_h
 * converts a hessian sum into estimated rows. */
static void find_feature(const tm__train_bins *b, const tm__train_hist *h, int32_t u, double g,
                         double hs, double per_h, const tm__train_params *p,
                         const tm__train_split *excl, int n_excl, tm__train_split *sp)
{
    const tm__train_gh *H = h->gh + b->offset[u];
    int32_t nb = b->n_bins[u];
    double lam = p->lambda, gm = (double)H[nb].g, hm = (double)H[nb].h;
    double min_h = p->min_hess, min_est = (double)p->min_data - 0.5;
    bool has_missing = hm > 0.0;
    double best = -INFINITY, gl = 0.0, hl = 0.0;
    sp->feat_u = -1;
    for (int32_t t = 0; t < nb - 1; t++) {
        if (H[t].h == 0.0f && H[t].g == 0.0f) {
            continue; /* an empty bin repeats the previous candidate */
        }
        gl += (double)H[t].g;
        hl += (double)H[t].h;
        for (int dir = 0; dir < (has_missing ? 2 : 1); dir++) {
            double lg = dir ? gl + gm : gl, lh = dir ? hl + hm : hl;
            double rg = g - lg, rh = hs - lh;
            if (lh < min_h || rh < min_h || lh * per_h < min_est || rh * per_h < min_est) {
                continue;
            }
            double a = lh + lam, bb = rh + lam;
            if (!(a > 0.0) || !(bb > 0.0)) {
                continue;
            }
            /* score = num / den; compare without dividing (den > 0) */
            double num = lg * lg * bb + rg * rg * a, den = a * bb;
            if (num > best * den && !(n_excl && excluded(excl, n_excl, u, t, dir == 1))) {
                best = num / den;
                sp->feat_u = u;
                sp->bin = t;
                sp->nan_left = dir == 1;
                sp->gl = lg;
                sp->hl = lh;
            }
        }
    }
    if (sp->feat_u >= 0 && !has_missing) {
        /* no missing rows here: missing inputs follow the heavier side */
        sp->nan_left = sp->hl >= hs - sp->hl;
    }
    sp->gain = best - tm__train_leaf_score(g, hs, lam);
}

void tm__train_split_find_range(const tm__train_bins *b, const tm__train_hist *h, double g,
                                double hs, int64_t c, const tm__train_params *p,
                                const uint8_t *feat_on, const tm__train_split *excl, int n_excl,
                                int32_t u0, int32_t u1, tm__train_split *out)
{
    out->feat_u = -1;
    out->gain = 0.0;
    if (c < 2 * p->min_data || hs < 2.0 * p->min_hess || !(hs > 0.0)) {
        return;
    }
    double per_h = (double)c / hs;
    for (int32_t u = u0; u < u1; u++) {
        tm__train_split s;
        if (feat_on && !feat_on[u]) {
            continue;
        }
        find_feature(b, h, u, g, hs, per_h, p, excl, n_excl, &s);
        if (s.feat_u >= 0 && s.gain > p->min_gain && (out->feat_u < 0 || s.gain > out->gain)) {
            *out = s;
        }
    }
}

void tm__train_split_find(const tm__train_bins *b, const tm__train_hist *h, double g, double hs,
                          int64_t c, const tm__train_params *p, const uint8_t *feat_on,
                          const tm__train_split *excl, int n_excl, int n_threads,
                          tm__train_split *scratch, tm__train_split *out)
{
    int32_t nu = b->n_used;
    out->feat_u = -1;
    out->gain = 0.0;
    if (c < 2 * p->min_data || hs < 2.0 * p->min_hess || !(hs > 0.0)) {
        return;
    }
    double per_h = (double)c / hs;
#pragma omp parallel for schedule(static) num_threads(n_threads) if (nu >= 8 && c >= 128)
    for (int32_t u = 0; u < nu; u++) {
        scratch[u].feat_u = -1;
        if (!feat_on || feat_on[u]) {
            find_feature(b, h, u, g, hs, per_h, p, excl, n_excl, &scratch[u]);
        }
    }
    for (int32_t u = 0; u < nu; u++) {
        const tm__train_split *s = &scratch[u];
        if (s->feat_u >= 0 && s->gain > p->min_gain && (out->feat_u < 0 || s->gain > out->gain)) {
            *out = *s;
        }
    }
}
