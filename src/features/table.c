/* The feature table: ~100 technical features per (stock, day) built from
 * the indicators of indicators.c, plus market context from the same date
 * (equal-weighted universe return, breadth, cross-sectional ranks, VIX).
 * Columns are listed once in FEATURE_LIST; their order is part of the
 * model contract (base models read them by position). */
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include <turbomode/features.h>

/* clang-format off */
#define FEATURE_LIST(X)                                                       \
    X(ret_1) X(ret_2) X(ret_3) X(ret_5) X(ret_10) X(ret_20) X(ret_60) X(ret_120) \
    X(vol_5) X(vol_10) X(vol_20) X(vol_60) X(vol_120) X(vol_ratio_5_20)       \
    X(parkinson_20) X(rsi_2) X(rsi_7) X(rsi_14) X(rsi_21) X(macd)             \
    X(macd_signal) X(macd_hist) X(macd_hist_change_1) X(macd_fast_hist)       \
    X(bb_pos_20) X(bb_pos_10) X(bb_width_20) X(atr_5) X(atr_14) X(atr_20)     \
    X(volume_z_5) X(volume_z_20) X(volume_z_60) X(volume_ratio_5_20)          \
    X(log_volume_ratio_20) X(log_dollar_volume) X(dist_sma_5) X(dist_sma_10)  \
    X(dist_sma_20) X(dist_sma_50) X(dist_sma_100) X(dist_sma_200)            \
    X(dist_ema_12) X(dist_ema_26) X(dist_ema_50) X(sma_5_20) X(sma_20_50)     \
    X(sma_50_200) X(stoch_k_14) X(stoch_d_3) X(cci_20) X(mfi_14)              \
    X(obv_slope_20) X(dist_high_20) X(dist_low_20) X(dist_high_252)           \
    X(dist_low_252) X(intraday_ret) X(range) X(close_location) X(gap)         \
    X(zscore_close_20) X(zscore_close_60) X(log_slope_20) X(log_slope_60)     \
    X(up_frac_10) X(up_frac_20) X(max_ret_20) X(min_ret_20) X(pv_corr_20)     \
    X(ret_5_lag_5) X(mkt_ret_1) X(mkt_ret_5) X(mkt_ret_10) X(mkt_ret_20)      \
    X(mkt_ret_60) X(mkt_vol_20) X(breadth_up) X(breadth_sma_50)               \
    X(rel_ret_5) X(rel_ret_20) X(rel_ret_60) X(rank_ret_20) X(rank_ret_5)     \
    X(beta_60) X(corr_60) X(vix) X(vix_change_1) X(vix_change_5)              \
    X(vix_change_20) X(vix_z_20) X(vix_sma_ratio_20) X(vix_sma_20_60)         \
    X(vix_pct_252) X(rsi_14_change_5) X(ret_1_over_vol_20)
/* clang-format on */

enum {
#define ENUM(name) F_##name,
    FEATURE_LIST(ENUM)
#undef ENUM
            N_FEATURES
};

static const char *const names[N_FEATURES] = {
#define NAME(name) #name,
        FEATURE_LIST(NAME)
#undef NAME
};

/* dist_high_252, dist_low_252 and vix_pct_252 need a year of rows. */
#define WARMUP 252

size_t tm_features_count(void)
{
    return N_FEATURES;
}

const char *tm_features_name(size_t i)
{
    return i < N_FEATURES ? names[i] : NULL;
}

size_t tm_features_warmup(void)
{
    return WARMUP;
}

/* Per-date market context on the calendar (the sorted union of dates). */
typedef struct market {
    size_t n; /* calendar days */
    int32_t *date;
    double *ret;     /* equal-weighted mean daily return */
    double *level;   /* cumulative index built from ret */
    double *up;      /* share of symbols up that day */
    double *above50; /* share above their 50-day SMA */
    double *vol20;   /* std of ret over 20 days */
    double *vix[8];  /* VIX features aligned to the calendar */
} market;

/* Scratch for one symbol: k arrays of n doubles in one block. */
enum { S_C, S_H, S_L, S_O, S_V, S_R1, S_A, S_B, S_D, S_E, N_SCRATCH };

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static size_t find_date(const int32_t *d, size_t n, int32_t key)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (d[mid] < key) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static float f32(double v)
{
    return (float)v;
}

#define OUT(r, j) out[(r) * (size_t)N_FEATURES + (j)]
#define GET(r, j) ((double)OUT(r, j))

/* Columns from one symbol's own bars (rows [0, n) at base row r0). */
static void symbol_columns(const tm_features_bars *b, size_t r0, size_t n, double *sc, float *out)
{
    double *c = sc + S_C * n, *h = sc + S_H * n, *l = sc + S_L * n, *o = sc + S_O * n;
    double *v = sc + S_V * n, *r1 = sc + S_R1 * n;
    double *A = sc + S_A * n, *B = sc + S_B * n, *D = sc + S_D * n, *E = sc + S_E * n;
    for (size_t t = 0; t < n; t++) {
        size_t r = r0 + t;
        c[t] = b->close[r];
        h[t] = isnan(b->high[r]) ? c[t] : b->high[r];
        l[t] = isnan(b->low[r]) ? c[t] : b->low[r];
        o[t] = isnan(b->open[r]) ? c[t] : b->open[r];
        v[t] = b->volume[r];
    }
    tm_features_return(c, n, 1, r1);
#define PUT(j, expr)                                                                               \
    for (size_t t = 0; t < n; t++) {                                                               \
        OUT(r0 + t, j) = f32(expr);                                                                \
    }
    static const size_t ret_h[8] = {1, 2, 3, 5, 10, 20, 60, 120};
    for (int k = 0; k < 8; k++) {
        tm_features_return(c, n, ret_h[k], A);
        PUT(F_ret_1 + k, A[t]);
    }
    static const size_t vol_w[5] = {5, 10, 20, 60, 120};
    for (int k = 0; k < 5; k++) {
        tm_features_rolling_std(r1 + 1, n - 1, vol_w[k], 1, A + 1);
        A[0] = NAN;
        PUT(F_vol_5 + k, A[t]);
    }
    for (size_t t = 0; t < n; t++) {
        double v20 = GET(r0 + t, F_vol_20);
        OUT(r0 + t, F_vol_ratio_5_20) = f32(GET(r0 + t, F_vol_5) / v20);
        OUT(r0 + t, F_ret_1_over_vol_20) = f32(r1[t] / v20);
        double q = log(h[t] / l[t]);
        B[t] = q * q;
    }
    tm_features_sma(B, n, 20, A);
    PUT(F_parkinson_20, sqrt(A[t] / (4 * log(2.0))));
    static const size_t rsi_w[4] = {2, 7, 14, 21};
    for (int k = 0; k < 4; k++) {
        tm_features_rsi(c, n, rsi_w[k], A);
        PUT(F_rsi_2 + k, A[t]);
    }
    PUT(F_rsi_14_change_5,
        t >= 5 ? GET(r0 + t, F_rsi_14) - GET(r0 + t - 5, F_rsi_14) : (double)NAN);
    tm_features_macd(c, n, 12, 26, 9, A, B, D);
    PUT(F_macd, A[t] / c[t]);
    PUT(F_macd_signal, B[t] / c[t]);
    PUT(F_macd_hist, D[t] / c[t]);
    PUT(F_macd_hist_change_1, t >= 1 ? (D[t] - D[t - 1]) / c[t] : (double)NAN);
    tm_features_macd(c, n, 5, 35, 5, A, B, D);
    PUT(F_macd_fast_hist, D[t] / c[t]);
    tm_features_bollinger(c, n, 20, 2.0, A);
    PUT(F_bb_pos_20, A[t]);
    tm_features_bollinger(c, n, 10, 2.0, A);
    PUT(F_bb_pos_10, A[t]);
    tm_features_rolling_std(c, n, 20, 0, A);
    tm_features_sma(c, n, 20, B);
    PUT(F_bb_width_20, 4 * A[t] / B[t]);
    static const size_t atr_w[3] = {5, 14, 20};
    for (int k = 0; k < 3; k++) {
        tm_features_atr(h, l, c, n, atr_w[k], A);
        PUT(F_atr_5 + k, A[t] / c[t]);
    }
    static const size_t vz_w[3] = {5, 20, 60};
    for (int k = 0; k < 3; k++) {
        tm_features_zscore(v, n, vz_w[k], A);
        PUT(F_volume_z_5 + k, A[t]);
    }
    tm_features_sma(v, n, 5, A);
    tm_features_sma(v, n, 20, B);
    PUT(F_volume_ratio_5_20, A[t] / B[t]);
    PUT(F_log_volume_ratio_20, log((v[t] + 1) / (B[t] + 1)));
    PUT(F_log_dollar_volume, log(c[t] * v[t] + 1));
    static const size_t sma_w[6] = {5, 10, 20, 50, 100, 200};
    for (int k = 0; k < 6; k++) {
        tm_features_sma(c, n, sma_w[k], A);
        PUT(F_dist_sma_5 + k, c[t] / A[t] - 1);
    }
    static const size_t ema_w[3] = {12, 26, 50};
    for (int k = 0; k < 3; k++) {
        tm_features_ema(c, n, ema_w[k], A);
        PUT(F_dist_ema_12 + k, c[t] / A[t] - 1);
    }
    /* sma ratios from the distances: sma_a / sma_b = (1 + d_b) / (1 + d_a) */
    PUT(F_sma_5_20, (1.0 + GET(r0 + t, F_dist_sma_20)) / (1.0 + GET(r0 + t, F_dist_sma_5)) - 1);
    PUT(F_sma_20_50, (1.0 + GET(r0 + t, F_dist_sma_50)) / (1.0 + GET(r0 + t, F_dist_sma_20)) - 1);
    PUT(F_sma_50_200, (1.0 + GET(r0 + t, F_dist_sma_200)) / (1.0 + GET(r0 + t, F_dist_sma_50)) - 1);
    tm_features_stoch(h, l, c, n, 14, A);
    tm_features_sma(A, n, 3, B);
    PUT(F_stoch_k_14, A[t]);
    PUT(F_stoch_d_3, B[t]);
    /* CCI: typical price against its SMA, scaled by the mean absolute deviation. */
    for (size_t t = 0; t < n; t++) {
        E[t] = (h[t] + l[t] + c[t]) / 3;
    }
    tm_features_sma(E, n, 20, A);
    for (size_t t = 0; t < n; t++) {
        double mad = 0;
        if (t + 1 >= 20) {
            for (size_t j = t + 1 - 20; j <= t; j++) {
                mad += fabs(E[j] - A[t]);
            }
            mad /= 20;
        }
        OUT(r0 + t, F_cci_20) = f32(t + 1 < 20 ? (double)NAN
                                    : mad > 0  ? (E[t] - A[t]) / (0.015 * mad)
                                               : 0.0);
    }
    /* MFI: money flow of up days over all money flow, 14 days. */
    for (size_t t = 0; t < n; t++) {
        double pos = 0, all = 0;
        if (t >= 14) {
            for (size_t j = t - 13; j <= t; j++) {
                double mf = E[j] * v[j];
                pos += E[j] > E[j - 1] ? mf : 0;
                all += E[j] != E[j - 1] ? mf : 0;
            }
        }
        OUT(r0 + t, F_mfi_14) = f32(t < 14 ? (double)NAN : all > 0 ? 100 * pos / all : 50.0);
    }
    /* OBV slope over 20 days, per unit of average volume. */
    tm_features_sma(v, n, 20, B);
    for (size_t t = 0; t < n; t++) {
        D[t] = t == 0 ? 0 : D[t - 1] + (c[t] > c[t - 1] ? v[t] : c[t] < c[t - 1] ? -v[t] : 0);
    }
    for (size_t t = 0; t < n; t++) {
        double s = 0;
        if (t >= 19) {
            for (size_t j = 0; j < 20; j++) {
                s += ((double)j - 9.5) * D[t - 19 + j];
            }
            s /= 665.0; /* sum of (j - 9.5)^2 for j < 20 */
        }
        OUT(r0 + t, F_obv_slope_20) = f32(t >= 19 && B[t] > 0 ? s / B[t] : (double)NAN);
    }
    tm_features_rolling_max(h, n, 20, A);
    tm_features_rolling_min(l, n, 20, B);
    PUT(F_dist_high_20, c[t] / A[t] - 1);
    PUT(F_dist_low_20, c[t] / B[t] - 1);
    tm_features_rolling_max(h, n, WARMUP, A);
    tm_features_rolling_min(l, n, WARMUP, B);
    PUT(F_dist_high_252, c[t] / A[t] - 1);
    PUT(F_dist_low_252, c[t] / B[t] - 1);
    PUT(F_intraday_ret, c[t] / o[t] - 1);
    PUT(F_range, (h[t] - l[t]) / c[t]);
    PUT(F_close_location, h[t] > l[t] ? (c[t] - l[t]) / (h[t] - l[t]) : 0.5);
    PUT(F_gap, t >= 1 ? o[t] / c[t - 1] - 1 : (double)NAN);
    tm_features_zscore(c, n, 20, A);
    PUT(F_zscore_close_20, A[t]);
    tm_features_zscore(c, n, 60, A);
    PUT(F_zscore_close_60, A[t]);
    tm_features_log_slope(c, n, 20, A);
    PUT(F_log_slope_20, A[t]);
    tm_features_log_slope(c, n, 60, A);
    PUT(F_log_slope_60, A[t]);
    for (size_t t = 0; t < n; t++) {
        E[t] = t >= 1 ? (r1[t] > 0 ? 1.0 : 0.0) : (double)NAN;
    }
    tm_features_sma(E + 1, n - 1, 10, A + 1);
    tm_features_sma(E + 1, n - 1, 20, B + 1);
    A[0] = B[0] = NAN;
    PUT(F_up_frac_10, A[t]);
    PUT(F_up_frac_20, B[t]);
    tm_features_rolling_max(r1 + 1, n - 1, 20, A + 1);
    tm_features_rolling_min(r1 + 1, n - 1, 20, B + 1);
    A[0] = B[0] = NAN;
    PUT(F_max_ret_20, A[t]);
    PUT(F_min_ret_20, B[t]);
    PUT(F_ret_5_lag_5, t >= 10 ? c[t - 5] / c[t - 10] - 1 : (double)NAN);
#undef PUT
}

/* Pearson correlation of x and y over [t-w+1, t]; NaN when degenerate. */
static void corr_beta(const double *x, const double *y, size_t t, size_t w, double *corr,
                      double *beta)
{
    double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;
    for (size_t j = t + 1 - w; j <= t; j++) {
        mx += x[j];
        my += y[j];
    }
    mx /= (double)w;
    my /= (double)w;
    for (size_t j = t + 1 - w; j <= t; j++) {
        sxy += (x[j] - mx) * (y[j] - my);
        sxx += (x[j] - mx) * (x[j] - mx);
        syy += (y[j] - my) * (y[j] - my);
    }
    *corr = sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : (double)NAN;
    *beta = syy > 0 ? sxy / syy : (double)NAN;
}

static void market_free(market *m)
{
    tm_free(m->date);
    tm_free(m->ret);
    tm_free(m->level);
    tm_free(m->up);
    tm_free(m->above50);
    tm_free(m->vol20);
    for (int k = 0; k < 8; k++) {
        tm_free(m->vix[k]);
    }
}

/* The calendar: sorted distinct dates of all bars. */
static bool build_calendar(const tm_features_bars *b, size_t n_rows, market *m)
{
    m->date = tm_malloc_n(n_rows ? n_rows : 1, sizeof *m->date);
    if (!m->date) {
        return false;
    }
    memcpy(m->date, b->date, n_rows * sizeof *m->date);
    qsort(m->date, n_rows, sizeof *m->date, cmp_i32);
    size_t k = 0;
    for (size_t i = 0; i < n_rows; i++) {
        if (k == 0 || m->date[k - 1] != m->date[i]) {
            m->date[k++] = m->date[i];
        }
    }
    m->n = k;
    size_t c = k ? k : 1;
    m->ret = tm_calloc(c, sizeof(double));
    m->level = tm_calloc(c, sizeof(double));
    m->up = tm_calloc(c, sizeof(double));
    m->above50 = tm_calloc(c, sizeof(double));
    m->vol20 = tm_calloc(c, sizeof(double));
    bool ok = m->ret && m->level && m->up && m->above50 && m->vol20;
    for (int j = 0; j < 8 && ok; j++) {
        ok = (m->vix[j] = tm_calloc(c, sizeof(double))) != NULL;
    }
    return ok;
}

/* Equal-weighted return, breadth and the index level per calendar day. */
static void build_market(const tm_features_bars *b, const size_t *cidx, const float *out, market *m,
                         double *cnt)
{
    double *n_ret = cnt, *n_sma = cnt + m->n;
    memset(cnt, 0, 2 * m->n * sizeof *cnt);
    for (size_t k = 0; k < b->n_symbols; k++) {
        for (size_t r = b->start[k]; r < b->start[k + 1]; r++) {
            size_t c = cidx[r];
            if (r > b->start[k]) {
                double ret = b->close[r] / b->close[r - 1] - 1;
                m->ret[c] += ret;
                m->up[c] += ret > 0 ? 1 : 0;
                n_ret[c] += 1;
            }
            float d50 = OUT(r, F_dist_sma_50);
            if (!isnan(d50)) {
                m->above50[c] += d50 > 0 ? 1 : 0;
                n_sma[c] += 1;
            }
        }
    }
    for (size_t c = 0; c < m->n; c++) {
        m->ret[c] = n_ret[c] > 0 ? m->ret[c] / n_ret[c] : (double)NAN;
        m->up[c] = n_ret[c] > 0 ? m->up[c] / n_ret[c] : (double)NAN;
        m->above50[c] = n_sma[c] > 0 ? m->above50[c] / n_sma[c] : (double)NAN;
        m->level[c] = c == 0 ? 1.0 : m->level[c - 1] * (1 + (isnan(m->ret[c]) ? 0 : m->ret[c]));
    }
    if (m->n > 1) {
        tm_features_rolling_std(m->ret + 1, m->n - 1, 20, 1, m->vol20 + 1);
    }
    m->vol20[0] = NAN;
}

/* VIX features on the VIX series, then aligned to the calendar (the latest
 * VIX date <= each calendar date). */
static bool build_vix(const tm_features_series *vix, market *m)
{
    for (size_t c = 0; c < m->n; c++) {
        for (int j = 0; j < 8; j++) {
            m->vix[j][c] = NAN;
        }
    }
    if (!vix || vix->n == 0) {
        return true;
    }
    size_t n = vix->n;
    double *f = tm_malloc_n(n, 10 * sizeof(double));
    if (!f) {
        return false;
    }
    const double *x = vix->value;
    double *A = f + 8 * n, *B = f + 9 * n;
    for (size_t t = 0; t < n; t++) {
        f[t] = x[t];
    }
    tm_features_return(x, n, 1, f + n);
    tm_features_return(x, n, 5, f + 2 * n);
    tm_features_return(x, n, 20, f + 3 * n);
    tm_features_zscore(x, n, 20, f + 4 * n);
    tm_features_sma(x, n, 20, A);
    tm_features_sma(x, n, 60, B);
    for (size_t t = 0; t < n; t++) {
        f[5 * n + t] = x[t] / A[t];
        f[6 * n + t] = A[t] / B[t];
        double le = 0;
        if (t + 1 >= WARMUP) {
            for (size_t j = t + 1 - WARMUP; j <= t; j++) {
                le += x[j] <= x[t] ? 1 : 0;
            }
        }
        f[7 * n + t] = t + 1 >= WARMUP ? le / WARMUP : (double)NAN;
    }
    for (size_t c = 0; c < m->n; c++) {
        size_t i = find_date(vix->date, n, m->date[c]);
        if (i == n || vix->date[i] != m->date[c]) {
            if (i == 0) {
                continue;
            }
            i--;
        }
        for (int j = 0; j < 8; j++) {
            m->vix[j][c] = f[(size_t)j * n + i];
        }
    }
    tm_free(f);
    return true;
}

/* Percentile rank of feature src among the rows of each calendar day,
 * written to dst: (#less + (#equal - 1) / 2) / (m - 1); 0.5 alone. */
static void rank_by_day(const size_t *order, const size_t *day_start, size_t n_days, int src,
                        int dst, float *out)
{
    for (size_t c = 0; c < n_days; c++) {
        size_t a = day_start[c], z = day_start[c + 1], m = 0;
        for (size_t i = a; i < z; i++) {
            m += !isnan(OUT(order[i], src));
        }
        for (size_t i = a; i < z; i++) {
            float x = OUT(order[i], src);
            if (isnan(x)) {
                OUT(order[i], dst) = NAN;
                continue;
            }
            double less = 0, eq = 0;
            for (size_t j = a; j < z; j++) {
                float y = OUT(order[j], src);
                less += y < x;
                eq += y == x;
            }
            OUT(order[i], dst) = f32(m > 1 ? (less + (eq - 1) / 2) / (double)(m - 1) : 0.5);
        }
    }
}

/* Market-relative columns of one symbol: market returns at the row's
 * date, relative returns, beta and correlation with the market, and the
 * price-volume correlation. sc holds 3 * n doubles of scratch. */
static void relative_columns(const tm_features_bars *b, size_t r0, size_t n, const size_t *cidx,
                             const market *m, double *sc, float *out)
{
    double *x = sc, *y = sc + n, *z = sc + 2 * n;
    static const size_t mh[5] = {1, 5, 10, 20, 60};
    for (size_t t = 0; t < n; t++) {
        size_t r = r0 + t, c = cidx[r];
        for (int k = 0; k < 5; k++) {
            OUT(r, F_mkt_ret_1 + k) =
                    f32(c >= mh[k] ? m->level[c] / m->level[c - mh[k]] - 1 : (double)NAN);
        }
        OUT(r, F_mkt_vol_20) = f32(m->vol20[c]);
        OUT(r, F_breadth_up) = f32(m->up[c]);
        OUT(r, F_breadth_sma_50) = f32(m->above50[c]);
        OUT(r, F_rel_ret_5) = f32(GET(r, F_ret_5) - GET(r, F_mkt_ret_5));
        OUT(r, F_rel_ret_20) = f32(GET(r, F_ret_20) - GET(r, F_mkt_ret_20));
        OUT(r, F_rel_ret_60) = f32(GET(r, F_ret_60) - GET(r, F_mkt_ret_60));
        for (int j = 0; j < 8; j++) {
            OUT(r, F_vix + j) = f32(m->vix[j][c]);
        }
        x[t] = t ? b->close[r] / b->close[r - 1] - 1 : 0;
        y[t] = t && !isnan(m->ret[c]) ? m->ret[c] : 0;
        z[t] = t ? log((b->volume[r] + 1) / (b->volume[r - 1] + 1)) : 0;
    }
    for (size_t t = 0; t < n; t++) {
        double corr = NAN, beta = NAN, pv = NAN, unused;
        if (t >= 60) {
            corr_beta(x, y, t, 60, &corr, &beta);
        }
        if (t >= 20) {
            corr_beta(x, z, t, 20, &pv, &unused);
        }
        OUT(r0 + t, F_corr_60) = f32(corr);
        OUT(r0 + t, F_beta_60) = f32(beta);
        OUT(r0 + t, F_pv_corr_20) = f32(pv);
    }
}

tm_status tm_features_table(const tm_features_bars *bars, const tm_features_series *vix, float *out,
                            tm_err *err)
{
    tm_status st = TM_OK;
    market m;
    memset(&m, 0, sizeof m);
    size_t n_rows = bars->start[bars->n_symbols], longest = 1;
    for (size_t k = 0; k < bars->n_symbols; k++) {
        size_t len = bars->start[k + 1] - bars->start[k];
        longest = len > longest ? len : longest;
    }
    int n_thr = omp_get_max_threads();
    n_thr = n_thr < 1 ? 1 : n_thr > 64 ? 64 : n_thr;
    double *sc = tm_malloc_n((size_t)n_thr * longest, N_SCRATCH * sizeof(double));
    size_t *cidx = tm_malloc_n(n_rows ? n_rows : 1, sizeof *cidx);
    size_t *order = tm_malloc_n(n_rows ? n_rows : 1, sizeof *order);
    size_t *day_start = NULL;
    double *cnt = NULL;
    if (!sc || !cidx || !order || !build_calendar(bars, n_rows, &m) ||
        !(day_start = tm_calloc(m.n + 2, sizeof *day_start)) ||
        !(cnt = tm_malloc_n(m.n ? m.n : 1, 2 * sizeof *cnt)) || !build_vix(vix, &m)) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory building %zu feature rows",
                    n_rows);
        goto done;
    }
    for (size_t r = 0; r < n_rows; r++) {
        cidx[r] = find_date(m.date, m.n, bars->date[r]);
        day_start[cidx[r] + 2]++;
    }
    for (size_t c = 0; c < m.n; c++) {
        day_start[c + 2] += day_start[c + 1];
    }
    for (size_t r = 0; r < n_rows; r++) {
        order[day_start[cidx[r] + 1]++] = r;
    }
    /* Symbols are independent: one scratch block per thread; each writes
     * only its own rows. */
    long n_sym = (long)bars->n_symbols;
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_thr)
    for (long k = 0; k < n_sym; k++) {
        size_t r0 = bars->start[k], n = bars->start[k + 1] - r0;
        if (n > 0) {
            symbol_columns(bars, r0, n, sc + (size_t)omp_get_thread_num() * longest * N_SCRATCH,
                           out);
        }
    }
    build_market(bars, cidx, out, &m, cnt);
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_thr)
    for (long k = 0; k < n_sym; k++) {
        size_t r0 = bars->start[k], n = bars->start[k + 1] - r0;
        relative_columns(bars, r0, n, cidx, &m,
                         sc + (size_t)omp_get_thread_num() * longest * N_SCRATCH, out);
    }
    rank_by_day(order, day_start, m.n, F_ret_20, F_rank_ret_20, out);
    rank_by_day(order, day_start, m.n, F_ret_5, F_rank_ret_5, out);
done:
    market_free(&m);
    tm_free(sc);
    tm_free(cidx);
    tm_free(order);
    tm_free(day_start);
    tm_free(cnt);
    return st;
}
