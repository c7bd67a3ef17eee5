/* Gradient histograms: per (feature, bin) float32 sums of gradient and
 * hessian over the rows of a leaf (row counts are not kept: split search
 * estimates them and growth checks the chosen split exactly). Rows are
 * read from the row-major bins, prefetched ahead when they are gathered.
 * Features are cut into one contiguous group per thread and each feature
 * is summed in ascending row order by one thread, so any thread count
 * gives the same bits. */
#include <string.h>

#include "train/train_int.h"

/* A (gradient, hessian) pair added as one 8-byte vector: the same two
 * float32 additions as field by field, in one load/add/store. */
typedef float gh_pair __attribute__((vector_size(8), aligned(4), may_alias));

/* Leaves smaller than this are summed on the calling thread. */
#define SERIAL_ROWS    256
#define PREFETCH_AHEAD 16

tm_status tm__train_hist_alloc(tm__train_hist *h, int32_t total, tm_err *err)
{
    size_t n = total > 0 ? (size_t)total : 1;
    h->gh = tm_aligned_alloc(n * sizeof *h->gh);
    if (!h->gh) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    memset(h->gh, 0, n * sizeof *h->gh);
    return TM_OK;
}

void tm__train_hist_free(tm__train_hist *h)
{
    tm_free(h->gh);
    h->gh = NULL;
}

/* Sums rows (NULL: 0..n-1) for features act[0..na) whose slots start at
 * off[]; dense: act is a contiguous run. */
static void build_rows(const tm__train_hist_src *s, const int32_t *rows, size_t n,
                       const int32_t *act, const int32_t *off, int32_t na, bool dense,
                       tm__train_gh *restrict H)
{
    size_t nu = (size_t)s->bins->n_used;
    const tm__train_gh *grad = s->grad;
    for (size_t i = 0; i < n; i++) {
        size_t r = rows ? (size_t)rows[i] : i;
#ifdef __GNUC__
        if (rows && i + PREFETCH_AHEAD < n) {
            const uint8_t *pf = s->row_major + (size_t)rows[i + PREFETCH_AHEAD] * nu + act[0];
            __builtin_prefetch(pf);
            __builtin_prefetch(pf + 64);
        }
#endif
        const uint8_t *row = s->row_major + r * nu;
        gh_pair v = {grad[r].g, grad[r].h};
        if (dense) {
            const uint8_t *rb = row + act[0];
            for (int32_t k = 0; k < na; k++) {
                *(gh_pair *)&H[off[k] + rb[k]] += v;
            }
        } else {
            for (int32_t k = 0; k < na; k++) {
                *(gh_pair *)&H[off[k] + row[act[k]]] += v;
            }
        }
    }
}

void tm__train_hist_build_range(const tm__train_hist_src *s, const int32_t *rows, size_t n,
                                const uint8_t *feat_on, int32_t f0, int32_t f1, tm__train_hist *h)
{
    const tm__train_bins *b = s->bins;
    int32_t act[256], off[256];
    for (int32_t base = f0; base < f1; base += 256) {
        int32_t end = f1 - base > 256 ? base + 256 : f1, na = 0;
        for (int32_t u = base; u < end; u++) {
            if (feat_on && !feat_on[u]) {
                continue;
            }
            int32_t o = b->offset[u];
            memset(h->gh + o, 0, (size_t)(b->offset[u + 1] - o) * sizeof *h->gh);
            act[na] = u;
            off[na++] = o;
        }
        if (na > 0) {
            build_rows(s, rows, n, act, off, na, act[na - 1] - act[0] == na - 1, h->gh);
        }
    }
}

void tm__train_hist_build(const tm__train_hist_src *s, const int32_t *rows, size_t n,
                          const uint8_t *feat_on, int n_threads, tm__train_hist *h)
{
    int32_t nu = s->bins->n_used;
    int n_groups = n < SERIAL_ROWS ? 1 : n_threads;
    n_groups = n_groups > nu ? (nu > 0 ? nu : 1) : n_groups;
    if (n_groups <= 1) {
        tm__train_hist_build_range(s, rows, n, feat_on, 0, nu, h);
        return;
    }
#pragma omp parallel for schedule(static, 1) num_threads(n_groups)
    for (int gi = 0; gi < n_groups; gi++) {
        int32_t f0 = (int32_t)((int64_t)nu * gi / n_groups);
        int32_t f1 = (int32_t)((int64_t)nu * (gi + 1) / n_groups);
        tm__train_hist_build_range(s, rows, n, feat_on, f0, f1, h);
    }
}

/* Root histograms of k outputs in one pass over rows [0, n): slots are
 * interleaved by output in T (slot * k + output), so each row's bins are
 * read once and two outputs' pairs are added as one 16-byte vector. Per
 * slot and output the additions are the same float32 additions in the
 * same row order as a pass per output, so the bits are the same. */
typedef float gh_quad __attribute__((vector_size(16), aligned(4), may_alias));

static void build_multi_range(const tm__train_hist_src *s, const tm__train_gh *const *grad, int k,
                              size_t n, int32_t f0, int32_t f1, tm__train_gh *restrict T,
                              tm__train_hist *out)
{
    const tm__train_bins *b = s->bins;
    size_t nu = (size_t)b->n_used, ku = (size_t)k;
    int32_t s0 = b->offset[f0], s1 = b->offset[f1];
    memset(T + (size_t)s0 * ku, 0, (size_t)(s1 - s0) * ku * sizeof *T);
    for (size_t r = 0; r < n; r++) {
        const uint8_t *row = s->row_major + r * nu;
        gh_pair v[TM_TRAIN_MAX_CLASSES];
        for (int c = 0; c < k; c++) {
            v[c] = (gh_pair){grad[c][r].g, grad[c][r].h};
        }
        if (k == 3) {
            gh_quad v01 = {v[0][0], v[0][1], v[1][0], v[1][1]};
            for (int32_t u = f0; u < f1; u++) {
                tm__train_gh *p = T + (size_t)(b->offset[u] + row[u]) * 3;
                *(gh_quad *)p += v01;
                *(gh_pair *)(p + 2) += v[2];
            }
            continue;
        }
        for (int32_t u = f0; u < f1; u++) {
            tm__train_gh *p = T + (size_t)(b->offset[u] + row[u]) * ku;
            for (int c = 0; c < k; c++) {
                *(gh_pair *)(p + c) += v[c];
            }
        }
    }
    for (int32_t i = s0; i < s1; i++) {
        for (int c = 0; c < k; c++) {
            out[c].gh[i] = T[(size_t)i * ku + (size_t)c];
        }
    }
}

void tm__train_hist_build_multi(const tm__train_hist_src *s, const tm__train_gh *const *grad, int k,
                                size_t n, int n_threads, tm__train_gh *scratch, tm__train_hist *out)
{
    int32_t nu = s->bins->n_used;
    int n_groups = n < SERIAL_ROWS ? 1 : n_threads;
    n_groups = n_groups > nu ? (nu > 0 ? nu : 1) : n_groups;
#pragma omp parallel for schedule(static, 1) num_threads(n_groups) if (n_groups > 1)
    for (int gi = 0; gi < n_groups; gi++) {
        int32_t f0 = (int32_t)((int64_t)nu * gi / n_groups);
        int32_t f1 = (int32_t)((int64_t)nu * (gi + 1) / n_groups);
        build_multi_range(s, grad, k, n, f0, f1, scratch, out);
    }
}

void tm__train_hist_sub_range(const tm__train_bins *b, tm__train_hist *big,
                              const tm__train_hist *small, const uint8_t *feat_on, int32_t f0,
                              int32_t f1)
{
    tm__train_gh *restrict G = big->gh;
    const tm__train_gh *restrict S = small->gh;
    for (int32_t u = f0; u < f1; u++) {
        if (feat_on && !feat_on[u]) {
            continue;
        }
        for (int32_t i = b->offset[u]; i < b->offset[u + 1]; i++) {
            G[i].g -= S[i].g;
            G[i].h -= S[i].h;
        }
    }
}

void tm__train_hist_sub(const tm__train_bins *b, tm__train_hist *big, const tm__train_hist *small,
                        const uint8_t *feat_on, int n_threads)
{
    int32_t nu = b->n_used;
    int n_groups = n_threads < nu ? n_threads : (nu > 0 ? nu : 1);
#pragma omp parallel for schedule(static, 1) num_threads(n_groups) if (nu >= 64)
    for (int gi = 0; gi < n_groups; gi++) {
        int32_t f0 = (int32_t)((int64_t)nu * gi / n_groups);
        int32_t f1 = (int32_t)((int64_t)nu * (gi + 1) / n_groups);
        tm__train_hist_sub_range(b, big, small, feat_on, f0, f1);
    }
}
