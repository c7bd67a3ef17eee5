/* The technical indicators, each written once as a causal function over
 * one array: out[t] reads x[0..t] only. Formulas follow the common
 * definitions (Wilder's RSI and ATR, Appel's MACD, Bollinger's bands,
 * Lane's stochastic); the tests check each against values computed by
 * hand. The feature table (table.c) is built from these. */
#include <math.h>
#include <string.h>

#include <turbomode/features.h>

static void fill_nan(double *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[i] = NAN;
    }
}

void tm_features_sma(const double *x, size_t n, size_t w, double *out)
{
    fill_nan(out, n);
    /* Plain re-summing per window: exact enough and free of the drift a
     * running sum accumulates over thousands of days. */
    for (size_t t = w - 1; w >= 1 && t < n; t++) {
        double s = 0;
        for (size_t j = t + 1 - w; j <= t; j++) {
            s += x[j];
        }
        out[t] = s / (double)w;
    }
}

void tm_features_ema(const double *x, size_t n, size_t span, double *out)
{
    double a = 2.0 / ((double)span + 1.0);
    for (size_t t = 0; t < n; t++) {
        out[t] = t == 0 ? x[0] : a * x[t] + (1 - a) * out[t - 1];
    }
}

void tm_features_rolling_std(const double *x, size_t n, size_t w, int ddof, double *out)
{
    fill_nan(out, n);
    if (w < 1 || (size_t)ddof >= w) {
        return;
    }
    for (size_t t = w - 1; t < n; t++) {
        double m = 0, ss = 0;
        for (size_t j = t + 1 - w; j <= t; j++) {
            m += x[j];
        }
        m /= (double)w;
        for (size_t j = t + 1 - w; j <= t; j++) {
            ss += (x[j] - m) * (x[j] - m);
        }
        out[t] = sqrt(ss / (double)(w - (size_t)ddof));
    }
}

void tm_features_return(const double *close, size_t n, size_t h, double *out)
{
    for (size_t t = 0; t < n; t++) {
        out[t] = t >= h ? close[t] / close[t - h] - 1.0 : (double)NAN;
    }
}

void tm_features_rsi(const double *close, size_t n, size_t w, double *out)
{
    fill_nan(out, n);
    if (w < 1 || n <= w) {
        return;
    }
    double gain = 0, loss = 0;
    for (size_t t = 1; t <= w; t++) {
        double d = close[t] - close[t - 1];
        gain += d > 0 ? d : 0;
        loss += d < 0 ? -d : 0;
    }
    gain /= (double)w;
    loss /= (double)w;
    for (size_t t = w; t < n; t++) {
        if (t > w) {
            double d = close[t] - close[t - 1];
            gain = (gain * (double)(w - 1) + (d > 0 ? d : 0)) / (double)w;
            loss = (loss * (double)(w - 1) + (d < 0 ? -d : 0)) / (double)w;
        }
        out[t] = loss == 0 ? 100.0 : 100.0 - 100.0 / (1.0 + gain / loss);
    }
}

void tm_features_macd(const double *close, size_t n, size_t fast, size_t slow, size_t signal,
                      double *macd, double *sig, double *hist)
{
    /* hist is scratch for the slow EMA until the end. */
    tm_features_ema(close, n, fast, macd);
    tm_features_ema(close, n, slow, hist);
    for (size_t t = 0; t < n; t++) {
        macd[t] -= hist[t];
    }
    tm_features_ema(macd, n, signal, sig);
    for (size_t t = 0; t < n; t++) {
        hist[t] = macd[t] - sig[t];
    }
}

/* Mean and population standard deviation of x[t+1-w .. t] (two passes). */
static void window_mean_sd(const double *x, size_t t, size_t w, double *mean, double *sd)
{
    double m = 0, ss = 0;
    for (size_t j = t + 1 - w; j <= t; j++) {
        m += x[j];
    }
    m /= (double)w;
    for (size_t j = t + 1 - w; j <= t; j++) {
        ss += (x[j] - m) * (x[j] - m);
    }
    *mean = m;
    *sd = sqrt(ss / (double)w);
}

void tm_features_bollinger(const double *close, size_t n, size_t w, double k, double *out)
{
    fill_nan(out, n);
    for (size_t t = w - 1; w >= 1 && t < n; t++) {
        double m, sd;
        window_mean_sd(close, t, w, &m, &sd);
        out[t] = sd > 0 ? (close[t] - (m - k * sd)) / (2 * k * sd) : 0.5;
    }
}

static double true_range(const double *high, const double *low, const double *close, size_t t)
{
    double r = high[t] - low[t];
    if (t > 0) {
        double a = fabs(high[t] - close[t - 1]), b = fabs(low[t] - close[t - 1]);
        r = r > a ? r : a;
        r = r > b ? r : b;
    }
    return r;
}

void tm_features_atr(const double *high, const double *low, const double *close, size_t n, size_t w,
                     double *out)
{
    fill_nan(out, n);
    if (w < 1 || n < w) {
        return;
    }
    double a = 0;
    for (size_t t = 0; t < w; t++) {
        a += true_range(high, low, close, t);
    }
    a /= (double)w;
    out[w - 1] = a;
    for (size_t t = w; t < n; t++) {
        a = (a * (double)(w - 1) + true_range(high, low, close, t)) / (double)w;
        out[t] = a;
    }
}

void tm_features_rolling_max(const double *x, size_t n, size_t w, double *out)
{
    fill_nan(out, n);
    for (size_t t = w - 1; w >= 1 && t < n; t++) {
        double m = x[t + 1 - w];
        for (size_t j = t + 2 - w; j <= t; j++) {
            m = x[j] > m ? x[j] : m;
        }
        out[t] = m;
    }
}

void tm_features_rolling_min(const double *x, size_t n, size_t w, double *out)
{
    fill_nan(out, n);
    for (size_t t = w - 1; w >= 1 && t < n; t++) {
        double m = x[t + 1 - w];
        for (size_t j = t + 2 - w; j <= t; j++) {
            m = x[j] < m ? x[j] : m;
        }
        out[t] = m;
    }
}

void tm_features_stoch(const double *high, const double *low, const double *close, size_t n,
                       size_t w, double *out)
{
    fill_nan(out, n);
    for (size_t t = w - 1; w >= 1 && t < n; t++) {
        double hi = high[t + 1 - w], lo = low[t + 1 - w];
        for (size_t j = t + 2 - w; j <= t; j++) {
            hi = high[j] > hi ? high[j] : hi;
            lo = low[j] < lo ? low[j] : lo;
        }
        out[t] = hi > lo ? (close[t] - lo) / (hi - lo) : 0.5;
    }
}

void tm_features_zscore(const double *x, size_t n, size_t w, double *out)
{
    fill_nan(out, n);
    for (size_t t = w - 1; w >= 1 && t < n; t++) {
        double m, sd;
        window_mean_sd(x, t, w, &m, &sd);
        out[t] = sd > 0 ? (x[t] - m) / sd : 0.0;
    }
}

void tm_features_log_slope(const double *close, size_t n, size_t w, double *out)
{
    fill_nan(out, n);
    if (w < 2) {
        return;
    }
    /* x = 0..w-1 centred: sum x = 0 after centring, so slope = sum(xc*y)/sum(xc^2). */
    double xm = (double)(w - 1) / 2.0, sxx = 0;
    for (size_t j = 0; j < w; j++) {
        sxx += ((double)j - xm) * ((double)j - xm);
    }
    for (size_t t = w - 1; t < n; t++) {
        double sxy = 0;
        for (size_t j = 0; j < w; j++) {
            sxy += ((double)j - xm) * log(close[t + 1 - w + j]);
        }
        out[t] = sxy / sxx;
    }
}
