/* Cross-sectional decile labels: each day's stocks ranked by their
 * forward return net of the day's median, scaled by their own recent
 * volatility, so a label says "better or worse than the rest of the
 * universe that day", not "the market moved". The absolute thresholds
 * (tm_features_label) are in meta.c; which one a database uses is the
 * pipeline's business. */
#include <math.h>
#include <stdlib.h>

#include <turbomode/features.h>

/* One daily return of the window ending at t, NaN when a close is bad. */
static double day_return(const double *close, size_t i)
{
    double a = close[i - 1], b = close[i];
    return isfinite(a) && a > 0 && isfinite(b) && b > 0 ? b / a - 1.0 : (double)NAN;
}

double tm_features_volatility(const double *close, size_t n, size_t t, size_t window)
{
    if (window < 2 || t >= n || t < window) {
        return NAN;
    }
    double sum = 0, ss = 0;
    for (size_t i = t - window + 1; i <= t; i++) {
        sum += day_return(close, i); /* NaN spreads to the result */
    }
    double mean = sum / (double)window;
    for (size_t i = t - window + 1; i <= t; i++) {
        double d = day_return(close, i) - mean;
        ss += d * d;
    }
    return sqrt(ss / (double)(window - 1));
}

typedef struct item {
    int32_t day;
    double key; /* forward return, then the score */
    size_t i;   /* row */
} item;

static int by_day_key(const void *a, const void *b)
{
    const item *x = a, *y = b;
    if (x->day != y->day) {
        return x->day < y->day ? -1 : 1;
    }
    if (x->key != y->key) {
        return x->key < y->key ? -1 : 1;
    }
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Scores and classes of one day's m >= TM_FEATURES_XS_MIN_STOCKS rows,
 * v sorted by forward return; leaves v sorted by score. */
static void label_day(item *v, size_t m, const double *vol, size_t horizon, int8_t *label,
                      double *score)
{
    double med = m % 2 ? v[m / 2].key : 0.5 * (v[m / 2 - 1].key + v[m / 2].key);
    double h = sqrt((double)horizon);
    for (size_t j = 0; j < m; j++) {
        v[j].key = (v[j].key - med) / (vol[v[j].i] * h);
    }
    qsort(v, m, sizeof *v, by_day_key);
    size_t k = m / 10;
    for (size_t a = 0; a < m;) {
        size_t b = a + 1;
        while (b < m && v[b].key == v[a].key) {
            b++;
        }
        /* rows a..b-1 tie: m - a of the day score >= them, b score <= */
        int8_t c = m - a <= k ? TM_FEATURES_BUY : b <= k ? TM_FEATURES_SELL : TM_FEATURES_HOLD;
        for (size_t j = a; j < b; j++) {
            label[v[j].i] = c;
            if (score) {
                score[v[j].i] = v[j].key;
            }
        }
        a = b;
    }
}

tm_status tm_features_xs_labels(const int32_t *day, const double *fwd, const double *vol, size_t n,
                                size_t horizon, int8_t *label, double *score, tm_err *err)
{
    for (size_t i = 0; i < n; i++) {
        label[i] = -1;
        if (score) {
            score[i] = NAN;
        }
    }
    item *v = tm_malloc_n(n ? n : 1, sizeof *v);
    if (!v) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory ranking %zu labels", n);
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (isfinite(fwd[i]) && isfinite(vol[i]) && vol[i] > 0) {
            v[m++] = (item){day[i], fwd[i], i};
        }
    }
    qsort(v, m, sizeof *v, by_day_key);
    for (size_t a = 0; a < m;) {
        size_t b = a + 1;
        while (b < m && v[b].day == v[a].day) {
            b++;
        }
        if (b - a >= TM_FEATURES_XS_MIN_STOCKS) {
            label_day(v + a, b - a, vol, horizon, label, score);
        }
        a = b;
    }
    tm_free(v);
    return TM_OK;
}
