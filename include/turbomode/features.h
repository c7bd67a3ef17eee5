/* TurboMode features: technical indicators computed from daily prices,
 * the per-(stock, day) feature table, labels, and the 55 meta features of
 * the stacked ensemble. Pure computation on caller arrays: no I/O, no
 * database. Every indicator is causal: its value at day t reads inputs at
 * days <= t only, so a feature never sees the future. Functions here are
 * reentrant; threads may call them on different outputs. */
#ifndef TURBOMODE_FEATURES_H
#define TURBOMODE_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <turbomode/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Classes everywhere: SELL = 0, HOLD = 1, BUY = 2. */
enum { TM_FEATURES_SELL = 0, TM_FEATURES_HOLD = 1, TM_FEATURES_BUY = 2 };

/* ---- indicators: x[0..n) in, out[0..n) out; NaN until defined ---------- */
/* Each writes NaN where the window is not yet full. in and out may not
 * alias. w >= 1. */

/* Simple moving average of the last w values. */
void tm_features_sma(const double *x, size_t n, size_t w, double *out);
/* Exponential moving average, alpha = 2 / (span + 1), seeded with x[0]
 * (pandas ewm(span, adjust=False)); defined from t = 0. */
void tm_features_ema(const double *x, size_t n, size_t span, double *out);
/* Rolling standard deviation of the last w values; ddof 0 (population)
 * or 1 (sample). */
void tm_features_rolling_std(const double *x, size_t n, size_t w, int ddof, double *out);
/* h-day simple return close[t] / close[t-h] - 1. */
void tm_features_return(const double *close, size_t n, size_t h, double *out);
/* Wilder's RSI over w days: average gain and loss seeded with the plain
 * mean of the first w changes, then avg = (avg*(w-1) + x) / w; defined
 * from t = w. 100 when there is no loss. */
void tm_features_rsi(const double *close, size_t n, size_t w, double *out);
/* MACD: ema(fast) - ema(slow), its signal line ema(signal) of that, and
 * the histogram macd - signal. Defined from t = 0 (EMAs seeded). */
void tm_features_macd(const double *close, size_t n, size_t fast, size_t slow, size_t signal,
                      double *macd, double *sig, double *hist);
/* Bollinger position (close - lower) / (upper - lower) with bands
 * sma(w) -+ k * std(w, ddof 0); 0.5 when the band has zero width. */
void tm_features_bollinger(const double *close, size_t n, size_t w, double k, double *out);
/* Average true range (Wilder): TR = max(h-l, |h-c_prev|, |l-c_prev|)
 * (h-l at t = 0), seeded with the mean of the first w TRs; defined from
 * t = w-1. */
void tm_features_atr(const double *high, const double *low, const double *close, size_t n, size_t w,
                     double *out);
/* Stochastic %K: (close - lowest low) / (highest high - lowest low) over
 * w days, in [0, 1]; 0.5 when the range is zero. */
void tm_features_stoch(const double *high, const double *low, const double *close, size_t n,
                       size_t w, double *out);
/* Rolling z-score (x[t] - mean) / std (ddof 0) over the last w values;
 * 0 when std is 0. */
void tm_features_zscore(const double *x, size_t n, size_t w, double *out);
/* Rolling maximum / minimum of the last w values. */
void tm_features_rolling_max(const double *x, size_t n, size_t w, double *out);
void tm_features_rolling_min(const double *x, size_t n, size_t w, double *out);
/* Slope of the least-squares line through log(close) over the last w days
 * (per day). */
void tm_features_log_slope(const double *close, size_t n, size_t w, double *out);

/* ---- the feature table ------------------------------------------------- */

/* Daily bars of several symbols, grouped by symbol and sorted by date:
 * rows of symbol k are [start[k], start[k+1]). All borrowed. open, high,
 * low may hold NaN (then close stands in). */
typedef struct tm_features_bars {
    size_t n_symbols;
    const size_t *start; /* n_symbols + 1 offsets */
    const int32_t *date; /* YYYYMMDD */
    const double *open, *high, *low, *close, *volume;
} tm_features_bars;

/* A market-context series (VIX close) by date, sorted; borrowed. */
typedef struct tm_features_series {
    size_t n;
    const int32_t *date;
    const double *value;
} tm_features_series;

/* Number of technical features per (stock, day), and the name of each. */
size_t tm_features_count(void);
const char *tm_features_name(size_t i);
/* Rows of history a symbol needs before its features are all defined. */
size_t tm_features_warmup(void);

/* Computes the feature table: out[r * tm_features_count() + j] for every
 * bar row r (NaN where undefined, e.g. in the warm-up). vix may be NULL or
 * empty (VIX features NaN). Market context (equal-weighted universe
 * return, breadth, ranks) uses the symbols of bars on the same date only.
 * out has bars' row count * tm_features_count() floats. Fails only out of
 * memory. */
tm_status tm_features_table(const tm_features_bars *bars, const tm_features_series *vix, float *out,
                            tm_err *err);

/* ---- labels ------------------------------------------------------------ */

/* Label thresholds: BUY when the forward return > up, SELL when < -down,
 * else HOLD. */
typedef struct tm_features_label_opts {
    size_t horizon; /* trading days ahead, default 5 */
    double up;      /* default TM_FEATURES_DEFAULT_UP */
    double down;    /* default TM_FEATURES_DEFAULT_DOWN */
} tm_features_label_opts;
/* Defaults chosen so the demo universe is about 9/82/9 SELL/HOLD/BUY
 * (5-day returns of data/prices_curated_82: 9.1% below -3.6%, 8.8% above
 * +4.0%). */
#define TM_FEATURES_DEFAULT_UP   0.040
#define TM_FEATURES_DEFAULT_DOWN 0.036
void tm_features_label_opts_init(tm_features_label_opts *o);
/* Class of a forward return. */
int tm_features_label(double fwd_return, const tm_features_label_opts *o);
/* Forward return of row t of one symbol's closes: close[t+h]/close[t]-1,
 * NaN when t + h >= n. */
double tm_features_forward_return(const double *close, size_t n, size_t t, size_t h);

/* Cross-sectional labels (see labels.c): each day's stocks ranked by a
 * risk-adjusted score, (forward return - the day's median forward
 * return) / (volatility * sqrt(horizon)); the top decile is BUY, the
 * bottom decile SELL, the rest HOLD. */
#define TM_FEATURES_XS_MIN_STOCKS 10 /* fewer scored stocks on a day: no labels that day */
#define TM_FEATURES_VOL_WINDOW    20 /* daily returns in the volatility */
/* Sample standard deviation (n - 1) of the `window` daily returns
 * close[i]/close[i-1]-1, i = t-window+1..t; NaN when t < window, t >= n,
 * window < 2 or a close in close[t-window..t] is not finite and > 0. */
double tm_features_volatility(const double *close, size_t n, size_t t, size_t window);
/* Decile classes of n rows: row i belongs to day day[i] (any integer
 * that is equal for the rows of one day, in any order) with forward
 * return fwd[i] and volatility vol[i]. A row is scored when fwd[i] and
 * vol[i] are finite and vol[i] > 0. On a day with m >= 10 scored rows,
 * with med the median of their forward returns (the mean of the two
 * middle ones when m is even) and k = floor(m / 10):
 *   score = (fwd - med) / (vol * sqrt(horizon)),
 *   BUY when at most k scored rows of the day have a score >= its own,
 *   SELL when at most k have a score <= its own, else HOLD,
 * so a group of equal scores that straddles a decile boundary is HOLD as
 * a whole (a decile may hold fewer than k rows, never more). label[i] is
 * -1 for a row not scored and for every row of a day with fewer than 10
 * scored rows. score (may be NULL) gets each row's score, NaN where none.
 * Fails only out of memory (TM_E_NOMEM; label then all -1). */
tm_status tm_features_xs_labels(const int32_t *day, const double *fwd, const double *vol, size_t n,
                                size_t horizon, int8_t *label, double *score, tm_err *err);

/* ---- meta features ----------------------------------------------------- */

/* Number of meta features for m base models: 6m + 7 (55 for 8). */
size_t tm_features_meta_count(size_t m);
/* Name of meta feature i for m models ("m1_sell", "asymmetry_3",
 * "buy_consensus", ...) written into buf (>= 32 bytes); returns buf. */
char *tm_features_meta_name(size_t m, size_t i, char *buf, size_t len);
/* The meta features of one row (DESIGN "The 55 meta features"): probs
 * holds m triples (P(SELL), P(HOLD), P(BUY)) in registry order; out gets
 * 6m + 7 values. */
void tm_features_meta(const double *probs, size_t m, double *out);

#ifdef __cplusplus
}
#endif

#endif /* TURBOMODE_FEATURES_H */
