/* Feature binning: per-feature quantile bins chosen on float32 values of a
 * row sample, thresholds placed so that a split "bin <= b" is exactly
 * "float32(x) < thr[b]" on raw inputs (the XGBoost rule; see
 * formats/xgboost), from which the LightGBM and CatBoost writers derive
 * their own thresholds. Features with fewer than two value bins (constant
 * or all missing) are left out of training. */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#    include <omp.h>
#endif

#include "train/train_int.h"

static float snap(float v)
{
    return fabsf(v) <= TM__TRAIN_ZERO_BAND ? 0.0f : v;
}

static float value_at(const tm_train_data *d, size_t r, size_t j)
{
    return d->x ? (float)d->x[r * d->stride + j] : d->x_f32[r * d->stride + j];
}

bool tm__train_threshold_between(float a, float b, float *t)
{
    const float z = TM__TRAIN_ZERO_BAND;
    float m = (float)(((double)a + (double)b) * 0.5);
    if (!(m > a && m <= b) || !isfinite(m)) {
        m = b;
        if (!isfinite(m)) {
            m = nextafterf(a, INFINITY);
            if (!isfinite(m) || !(m > a)) {
                return false;
            }
        }
    }
    if (m > -z && m <= z) { /* tiny inputs must fall with 0 */
        if (b > z) {
            m = b;
        } else if (a < -z) {
            m = -z;
        } else {
            return false;
        }
    }
    if (!isfinite(m)) {
        return false;
    }
    *t = m;
    return true;
}

/* Order-preserving map of a float (not NaN) to an unsigned key. */
static uint32_t float_key(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u & 0x80000000u ? ~u : u | 0x80000000u;
}

static float key_float(uint32_t k)
{
    uint32_t u = k & 0x80000000u ? k & 0x7fffffffu : ~k;
    float v;
    memcpy(&v, &u, sizeof v);
    return v;
}

/* Sorts v[0..n) ascending: LSD radix sort on 11-bit digits of the keys;
 * tmp has room for n values. */
static void sort_floats(float *v, size_t n, uint32_t *tmp)
{
    uint32_t *a = (uint32_t *)v, *b = tmp;
    for (size_t i = 0; i < n; i++) {
        a[i] = float_key(v[i]);
    }
    for (int shift = 0; shift < 32; shift += 11) {
        size_t count[2048] = {0};
        for (size_t i = 0; i < n; i++) {
            count[(a[i] >> shift) & 2047u]++;
        }
        size_t sum = 0;
        for (int d = 0; d < 2048; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++) {
            b[count[(a[i] >> shift) & 2047u]++] = a[i];
        }
        uint32_t *t = a;
        a = b;
        b = t;
    }
    /* three passes: the sorted keys are in tmp */
    for (size_t i = 0; i < n; i++) {
        v[i] = key_float(a[i]);
    }
}

/* Chooses at most max_bin - 1 thresholds for the sorted values v[0..n):
 * one bin per distinct value when they are few, otherwise greedy bins of
 * about equal row counts (a heavy value closes a bin early). Returns the
 * number of thresholds written to thr. */
static int choose_thresholds(const float *v, size_t n, int max_bin, float *thr)
{
    size_t n_distinct = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || v[i] != v[i - 1]) {
            n_distinct++;
        }
    }
    int n_thr = 0;
    size_t rest = n, cur = 0;
    int bins_left = max_bin;
    double target = (double)rest / bins_left;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && v[j] == v[i]) {
            j++;
        }
        cur += j - i;
        if (j == n || bins_left <= 1) {
            break;
        }
        size_t k = j;
        while (k < n && v[k] == v[j]) {
            k++;
        }
        bool cut = n_distinct <= (size_t)max_bin || (double)cur + (double)(k - j) * 0.5 >= target;
        float t;
        if (cut && tm__train_threshold_between(v[i], v[j], &t)) {
            thr[n_thr++] = t;
            rest -= cur;
            cur = 0;
            bins_left--;
            target = (double)rest / bins_left;
        }
        i = j;
    }
    return n_thr;
}

/* Selection sampling (Knuth's algorithm S): k of n rows, ascending. */
static void sample_rows(size_t n, size_t k, uint64_t seed, size_t *out)
{
    uint64_t st = seed ^ 0x5bd1e995u;
    size_t got = 0;
    for (size_t r = 0; r < n && got < k; r++) {
        double u = (double)(tm__train_rand(&st) >> 11) * 0x1.0p-53;
        if ((double)(n - r) * u < (double)(k - got)) {
            out[got++] = r;
        }
    }
}

tm_status tm__train_bins_build(const tm_train_data *d, int max_bin, size_t sample_n, uint64_t seed,
                               int n_threads, tm__train_bins *out, tm_err *err)
{
    memset(out, 0, sizeof *out);
    size_t nf = d->n_features, n = d->n_rows;
    size_t ns = sample_n && sample_n < n ? sample_n : n;
    size_t max_thr = (size_t)max_bin - 1;
    tm_status st = TM_OK;
    size_t *rows = tm_malloc_n(ns ? ns : 1, sizeof *rows);
    float *all_thr = tm_malloc_n(nf * max_thr + 1, sizeof *all_thr);
    int *cnt = tm_calloc(nf + 1, sizeof *cnt);
    size_t nt = (size_t)(n_threads > 0 ? n_threads : 1);
    float *vals = tm_malloc_n(ns * nt + 1, sizeof *vals);
    uint32_t *keys = tm_malloc_n(ns * nt + 1, sizeof *keys);
    if (!rows || !all_thr || !cnt || !vals || !keys) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
        goto done;
    }
    if (ns < n) {
        sample_rows(n, ns, seed, rows);
    } else {
        for (size_t r = 0; r < n; r++) {
            rows[r] = r;
        }
    }
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads)
    for (size_t j = 0; j < nf; j++) {
        float *v = vals;
        uint32_t *k = keys;
#ifdef _OPENMP
        v = vals + ns * (size_t)omp_get_thread_num();
        k = keys + ns * (size_t)omp_get_thread_num();
#endif
        size_t m = 0;
        for (size_t i = 0; i < ns; i++) {
            float x = value_at(d, rows[i], j);
            if (!isnan(x)) {
                v[m++] = snap(x);
            }
        }
        sort_floats(v, m, k);
        cnt[j] = choose_thresholds(v, m, max_bin, all_thr + j * max_thr);
    }
    int32_t n_used = 0, n_thr = 0;
    for (size_t j = 0; j < nf; j++) {
        if (cnt[j] > 0) {
            n_used++;
            n_thr += cnt[j];
        }
    }
    out->n_features = (int32_t)nf;
    out->n_used = n_used;
    out->used = tm_malloc_n((size_t)n_used + 1, sizeof *out->used);
    out->n_bins = tm_malloc_n((size_t)n_used + 1, sizeof *out->n_bins);
    out->offset = tm_malloc_n((size_t)n_used + 1, sizeof *out->offset);
    out->thr_first = tm_malloc_n((size_t)n_used + 1, sizeof *out->thr_first);
    out->thr = tm_malloc_n((size_t)n_thr + 1, sizeof *out->thr);
    if (!out->used || !out->n_bins || !out->offset || !out->thr_first || !out->thr) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
        goto done;
    }
    int32_t u = 0, off = 0, first = 0;
    for (size_t j = 0; j < nf; j++) {
        if (cnt[j] == 0) {
            continue;
        }
        out->used[u] = (int32_t)j;
        out->n_bins[u] = cnt[j] + 1;
        out->offset[u] = off;
        out->thr_first[u] = first;
        memcpy(out->thr + first, all_thr + j * max_thr, (size_t)cnt[j] * sizeof(float));
        off += cnt[j] + 2;
        first += cnt[j];
        u++;
    }
    out->offset[n_used] = off;
done:
    if (st != TM_OK) {
        tm__train_bins_fini(out);
    }
    tm_free(rows);
    tm_free(all_thr);
    tm_free(cnt);
    tm_free(vals);
    tm_free(keys);
    return st;
}

void tm__train_bins_fini(tm__train_bins *b)
{
    tm_free(b->used);
    tm_free(b->n_bins);
    tm_free(b->offset);
    tm_free(b->thr_first);
    tm_free(b->thr);
    memset(b, 0, sizeof *b);
}

/* Number of thresholds t[0..m) that are <= x (x not NaN): a branch-free
 * binary search (the compiler turns the select into a conditional move). */
static inline int count_le(const float *t, int m, float x)
{
    if (m <= 0) {
        return 0;
    }
    const float *base = t;
    int n = m;
    while (n > 1) {
        int half = n >> 1;
        base += (size_t)(base[half - 1] <= x) * (size_t)half; /* no branch */
        n -= half;
    }
    return (int)(base - t) + (*base <= x);
}

int tm__train_bin_of(const tm__train_bins *b, int32_t u, float x)
{
    if (isnan(x)) {
        return b->n_bins[u];
    }
    return count_le(b->thr + b->thr_first[u], b->n_bins[u] - 1, snap(x));
}

tm_status tm__train_bins_apply(const tm__train_bins *b, const tm_train_data *d, int n_threads,
                               uint8_t **out, tm_err *err)
{
    size_t nu = (size_t)b->n_used, n = d->n_rows;
    uint8_t *m = tm_malloc_n(n * nu + 1, 1);
    *out = m;
    if (!m) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (size_t r = 0; r < n; r++) {
        for (size_t u = 0; u < nu; u++) {
            float x = value_at(d, r, (size_t)b->used[u]);
            int v = isnan(x) ? b->n_bins[u]
                             : count_le(b->thr + b->thr_first[u], b->n_bins[u] - 1, snap(x));
            m[r * nu + u] = (uint8_t)v;
        }
    }
    return TM_OK;
}
