/* Signal evaluation internals (evaluate.c, eval_metrics.c, eval_book.c,
 * eval_report.c, eval_html.c): the panel of signal days x stocks with
 * realised forward returns, a method's decisions on it (the system's
 * signals or a baseline's), and the figures computed from them. The
 * metrics read only the panel, so tests build panels by hand. */
#ifndef TM_EVAL_INT_H
#define TM_EVAL_INT_H

#include <stdint.h>

#include <turbomode/features.h>
#include <turbomode/pipeline.h>
#include <turbomode/store.h>

#define TM__EVAL_DECILES 10

/* Signal days x stocks. Trading dates run from date[0] (the first signal
 * day) to date[n_dates - 1] (the last signal day plus the horizon); signal
 * day i sits at date index day_at[i]. Cell (i, k) is row i * n_stocks + k. */
typedef struct tm__eval_panel {
    size_t n_stocks;
    size_t n_days;  /* signal days evaluated */
    size_t n_dates; /* trading dates of the book */
    int32_t *date;  /* n_dates YYYYMMDD, ascending */
    size_t *day_at; /* n_days indices into date */
    double *close;  /* n_dates x n_stocks, the last known close carried forward (NaN before any) */
    double *ret;    /* n_days x n_stocks forward return over the horizon; NaN: cell not evaluated */
    int8_t *actual; /* n_days x n_stocks class of ret (0 SELL, 1 HOLD, 2 BUY), -1 when NaN */
    double *mom;    /* n_days x n_stocks 20-day past return, NaN when unknown */
    double *rev;    /* n_days x n_stocks 5-day past return, NaN when unknown */
    int8_t *label;  /* n_days x n_stocks the system's class, -1 when it issued none */
    double *prob;   /* n_days x n_stocks x 3 the system's probabilities */
    int horizon;    /* trading days a signal is held */
} tm__eval_panel;

/* Allocates every array of a panel with the given sizes (cells NaN / -1,
 * closes NaN); false when out of memory (then the panel is freed). */
bool tm__eval_panel_alloc(tm__eval_panel *p, size_t n_days, size_t n_dates, size_t n_stocks);
void tm__eval_panel_free(tm__eval_panel *p);

/* One method's calls on the panel: label -1 (no call) / 0 / 1 / 2 per
 * cell, and a score per cell for the information coefficient (NaN when
 * the method has none). */
typedef struct tm__eval_calls {
    int8_t *label;       /* n_days x n_stocks */
    const double *score; /* n_days x n_stocks, or NULL */
} tm__eval_calls;

typedef struct tm__eval_class {
    size_t n;         /* calls of this class on evaluated cells */
    size_t hits;      /* of them, whose realised class is this class */
    double precision; /* hits / n (NaN when n = 0) */
    double ci_lo;     /* 95% interval, standard error clustered by day */
    double ci_hi;     /* (NaN with fewer than 2 days holding calls) */
    double base_rate; /* share of evaluated cells of this realised class */
    double expected;  /* precision expected from each day's cross-section */
    double mean_ret;  /* mean realised return of the calls (NaN when none) */
} tm__eval_class;

typedef struct tm__eval_month {
    int32_t month; /* YYYYMM */
    size_t n_buy, n_sell;
    size_t hits_buy, hits_sell;
    double spread_net; /* mean daily net spread of the month's days (NaN when none) */
    double ic;         /* mean daily IC (NaN when none) */
    double pnl_net;    /* the book's net P&L booked on the month's dates */
} tm__eval_month;

/* Every figure of one method. Series are owned; free with
 * tm__eval_result_free. */
typedef struct tm__eval_result {
    tm__eval_class cls[3];
    double spread_gross;  /* mean over days of (mean BUY return - mean SELL return) */
    double spread_net;    /* the same after 4 x cost (in and out of both legs) */
    double spread_t;      /* Newey-West t of the daily net spread (lag horizon - 1) */
    size_t n_spread_days; /* days with at least one BUY and one SELL */
    double calls_mean;    /* BUY + SELL calls per day */
    size_t calls_max;
    size_t days_without;   /* days without a BUY or SELL */
    size_t days_one_sided; /* days with more than half the evaluated stocks on one side */
    double turnover;       /* mean daily traded value / the book's gross exposure (2) */
    double ann_gross;      /* mean daily book P&L x 252 */
    double ann_net;
    double sharpe_net;   /* mean / sd of the daily net P&L x sqrt(252) */
    double max_drawdown; /* largest fall of the cumulative net P&L from a peak */
    double ic_mean;      /* mean daily Spearman correlation of score and return */
    double ic_t;         /* Newey-West t, lag horizon - 1 */
    size_t n_ic_days;
    double common_share; /* share of score variance common to the day (between-day R^2) */
    double *pnl_cum;     /* n_dates cumulative net P&L of the book */
    double *calls_day;   /* n_days x 3 calls per class per day */
    size_t n_months;
    tm__eval_month *months;
} tm__eval_result;

void tm__eval_result_free(tm__eval_result *r);

/* Computes every figure of calls on panel p with cost_bps per unit traded.
 * On failure (out of memory) r holds nothing to free. */
tm_status tm__eval_run(const tm__eval_panel *p, const tm__eval_calls *c, double cost_bps,
                       tm__eval_result *r, tm_err *err);

/* The long-short book of overlapping tranches (eval_book.c): fills
 * pnl_cum, turnover, ann_gross, ann_net, sharpe_net, max_drawdown and the
 * months' pnl_net (months already set up). */
tm_status tm__eval_book(const tm__eval_panel *p, const int8_t *label, double cost_bps,
                        tm__eval_result *r, tm_err *err);

/* Newey-West t-statistic of the mean of x[0..n) with Bartlett weights up
 * to lag; NaN when n < 2 or the variance is 0. */
double tm__eval_nw_t(const double *x, size_t n, size_t lag);
/* Scratch of the rank correlation: a value and where it came from. */
typedef struct tm__eval_item {
    double v;
    size_t i;
} tm__eval_item;
/* Spearman rank correlation of the pairs (a[i], b[i]), i < n (average
 * ranks for ties); NaN when n < 3 or either side is constant. items holds
 * n entries and ranks 2 n doubles. */
double tm__eval_spearman(const double *a, const double *b, size_t n, tm__eval_item *items,
                         double *ranks);
/* The q-quantile (0..1) of x[0..n) by linear interpolation between order
 * statistics (sorts x). NaN when n = 0. */
double tm__eval_quantile(double *x, size_t n, double q);

/* Marks in day (T flags) the trading dates (dates[0..T)) holding a
 * signal; a signal on a date without universe prices is refused. */
tm_status tm__eval_signal_days(const tm_store_signal *sig, size_t n, const int32_t *dates, size_t T,
                               uint8_t *day, tm_err *err);
/* Builds the panel of the flagged days whose horizon ended by dates[T-1]
 * from the universe bars px and the signals (sorted by date); *pending
 * counts the flagged days whose horizon had not. A cell's actual class
 * follows the database's labelling `kind`: lo's thresholds on its return,
 * or its stock's cross-sectional decile that day (over px's rows; a cell
 * without one is not evaluated). */
tm_status tm__eval_build(tm__eval_panel *p, const tm_store_prices *px, const int32_t *dates,
                         size_t T, const uint8_t *day, const tm_store_signal *sig, size_t n_sig,
                         const tm_features_label_opts *lo, tm_pipeline_labels kind, size_t *pending,
                         tm_err *err);

/* Baselines (evaluate.c): top and bottom share of the day's evaluated
 * cells by score become BUY and SELL (ties by stock order), others HOLD;
 * cells with a NaN score are HOLD. False when out of memory. */
bool tm__eval_calls_rank(const tm__eval_panel *p, const double *score, double share, int8_t *label);
/* Random calls with the system's BUY and SELL count of each day, drawn
 * among the day's evaluated cells with a seeded generator. False when out
 * of memory. */
bool tm__eval_calls_random(const tm__eval_panel *p, const int8_t *sys, uint64_t seed,
                           int8_t *label);

/* The whole evaluation, owned by tm_pipeline_eval. */
#define TM__EVAL_N_FIXED 4 /* system, always-HOLD, momentum 20d, reversal 5d */
struct tm_pipeline_eval {
    tm_pipeline_eval_opts o;
    tm__eval_panel panel;
    size_t n_pending; /* signal days in range whose horizon ends after `to` */
    size_t n_cells;   /* evaluated cells */
    tm__eval_result fixed[TM__EVAL_N_FIXED];
    tm__eval_result *random; /* o.n_seeds results */
    /* reliability (system): per class SELL/BUY, 10 bins of probability */
    double rel_pred[2][TM__EVAL_DECILES];
    double rel_obs[2][TM__EVAL_DECILES];
    size_t rel_n[2][TM__EVAL_DECILES];
    /* precision of the system's BUY+SELL calls by decile of confidence */
    double dec_conf[TM__EVAL_DECILES];
    double dec_prec[TM__EVAL_DECILES];
    size_t dec_n[TM__EVAL_DECILES];
    bool edge;         /* every condition for a demonstrated edge met */
    char verdict[512]; /* one line */
};

/* Runs the four fixed methods (the system's calls are the panel's label
 * and prob) and e->o.n_seeds random draws on e->panel (eval_run.c). */
tm_status tm__eval_methods(tm_pipeline_eval *e, tm_err *err);

/* Names of the fixed methods, in order. */
extern const char *const tm__eval_names[TM__EVAL_N_FIXED];

/* The scalar figures of a result by name (eval_report.c): JSON keys and
 * the random band's rows. */
typedef struct tm__eval_field {
    const char *name;
    size_t off; /* byte offset of a double in tm__eval_result */
} tm__eval_field;
extern const tm__eval_field tm__eval_fields[];
extern const size_t tm__eval_n_fields;
/* The double at byte offset off of r. */
double tm__eval_get(const tm__eval_result *r, size_t off);

/* Random band: the q-quantile over seeds of the figure at byte offset off
 * (a double field of tm__eval_result). */
double tm__eval_random_q(const tm_pipeline_eval *e, size_t off, double q);

#endif
