/* The decision rule (decide.c): how the meta-learner's class
 * probabilities become BUY, SELL or HOLD. Fitted at retrain time on the
 * meta-learner's validation window and stored with the model, applied by
 * the scan (and by anyone scoring a model on a window). Only src/pipeline
 * includes this header. */
#ifndef TM_DECIDE_INT_H
#define TM_DECIDE_INT_H

#include <stdint.h>

#include <turbomode/core.h>
#include <turbomode/pipeline.h>
#include <turbomode/store.h>

/* z of the two-sided 95% Wilson interval. */
#define TM__DECIDE_Z 1.959963984540054

/* A monotone step function from a raw class probability to a calibrated
 * one (isotonic regression): y[k] holds for raw values in [x[k], x[k+1]),
 * y[0] also below x[0]. x strictly ascending, y non-decreasing. */
typedef struct tm__decide_curve {
    size_t n;  /* knots (0: no calibration data, every value maps to NaN) */
    double *x; /* n lower bounds of the pooled blocks (tm_malloc'd) */
    double *y; /* n calibrated values in [0, 1] (tm_malloc'd) */
} tm__decide_curve;

/* A fitted rule: a calibration curve per class and a calibrated
 * threshold for SELL and BUY. Free with tm__decide_rule_fini. */
typedef struct tm__decide_rule {
    tm__decide_curve cal[3];  /* SELL, HOLD, BUY, one-vs-rest */
    double threshold[3];      /* a SELL [0] / BUY [2] needs calibrated p >= it; +inf: the
                                 side abstains; [1] unused (+inf) */
    double target;            /* precision the thresholds were chosen for */
    size_t n_cal, n_thr;      /* validation rows that fitted the curves / chose thresholds */
    int32_t cal_from, cal_to; /* their date ranges (0 when none) */
    int32_t thr_from, thr_to;
    size_t sel_n[3];     /* threshold rows at or above the chosen threshold */
    size_t sel_hits[3];  /* of them, of the side's class */
    double sel_lower[3]; /* their precision's Wilson lower bound (NaN: side abstains) */
    double base_rate[3]; /* share of the side's class among the threshold rows */
} tm__decide_rule;

void tm__decide_rule_fini(tm__decide_rule *r);

/* Isotonic regression of y on x (pool-adjacent-violators; equal x values
 * pooled first, NaN x left out) into c, which the caller frees with the
 * rule (or tm_free of c->x and c->y). TM_E_NOMEM leaves c empty. */
tm_status tm__decide_pav(const double *x, const double *y, size_t n, tm__decide_curve *c,
                         tm_err *err);
/* The curve at raw value v: NaN when v is NaN or the curve is empty. */
double tm__decide_curve_at(const tm__decide_curve *c, double v);
/* Wilson lower bound of a proportion hits / n with z (0 when n is 0). */
double tm__decide_wilson_lower(size_t hits, size_t n, double z);
/* The lowest value t among score[0..n) such that the rows with score >= t
 * have a precision (hit[i] set) whose Wilson lower bound is >= target;
 * +inf when none (then *sel_n, *sel_hits are 0 and *lower NaN). NaN
 * scores never count. TM_E_NOMEM only. */
tm_status tm__decide_choose(const double *score, const uint8_t *hit, size_t n, double target,
                            double *threshold, size_t *sel_n, size_t *sel_hits, double *lower,
                            tm_err *err);
/* Fits a rule from n validation rows sorted by date: raw meta
 * probabilities prob (n x 3), true classes label (0..2) and dates. The
 * first half of the distinct dates fits the calibration curves, the
 * second half chooses the thresholds on calibrated values (so thresholds
 * are not judged on the rows that shaped the curves), each side's for a
 * Wilson lower bound of at least target and of at least the side's base
 * rate on those rows (a side whose base rate clears target on its own
 * would otherwise call every row). A label outside
 * 0..2 or dates out of order: TM_E_INVALID. On failure r holds nothing. */
tm_status tm__decide_fit(const double *prob, const int *label, const int32_t *date, size_t n,
                         double target, tm__decide_rule *r, tm_err *err);
/* Calibrated probabilities cal (n x 3) of raw prob (n x 3). */
void tm__decide_calibrate(const tm__decide_rule *r, const double *prob, size_t n, double *cal);

/* How a signal's class was decided. */
typedef enum tm__decide_how {
    TM__DECIDE_ARGMAX = 0, /* no rule: the most probable raw class (fallback) */
    TM__DECIDE_RULE = 1,   /* the rule's calibrated thresholds */
} tm__decide_how;

/* Decides n rows (raw prob n x 3; date n, or NULL for one day): with a
 * rule, BUY where calibrated p(buy) >= its threshold, SELL where
 * calibrated p(sell) >= its threshold (both: the larger calibrated
 * probability; equal: HOLD), else HOLD; without one (r NULL), the raw
 * argmax (ties to HOLD). Then, when cap > 0, at most cap BUY and cap
 * SELL per date: the highest calibrated (raw without a rule) probability
 * of the side first, ties by higher raw probability, then lower row
 * index; the rest become HOLD with capped[i] set. label (n), capped (n,
 * or NULL) and cal (n x 3, NaN without a rule; or NULL) are written.
 * TM_E_NOMEM only. */
tm_status tm__decide_apply(const tm__decide_rule *r, const double *prob, const int32_t *date,
                           size_t n, int cap, int *label, uint8_t *capped, double *cal,
                           tm_err *err);

/* The rule as compact JSON (thresholds that abstain as null) into out. */
tm_status tm__decide_rule_json(const tm__decide_rule *r, tm_buf *out, tm_err *err);
/* Reads a rule written by tm__decide_rule_json; where names it in
 * messages. Anything missing or out of range: TM_E_PARSE naming the
 * field. On failure r holds nothing. */
tm_status tm__decide_rule_parse(const char *text, const char *where, tm__decide_rule *r,
                                tm_err *err);
/* One report line (with '\n') describing the rule's thresholds into buf. */
void tm__decide_describe(const tm__decide_rule *r, char *buf, size_t len);

/* The decision rule stored with meta model `meta` (pit.c): *found false
 * (and r empty) when it has none (a model from before rules were kept);
 * a stored rule that does not parse is TM_E_PARSE naming the model, never
 * ignored. On success with *found, free r with tm__decide_rule_fini. */
tm_status tm__pipeline_rule_load(tm_pipeline *p, const tm_store_model *meta, tm__decide_rule *r,
                                 bool *found, tm_err *err);

#endif
