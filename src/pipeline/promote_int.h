/* Model promotion (promote.c): a retrained meta-learner (with its base
 * models) becomes active only when its figures on a window of days out of
 * sample for it and for the active model are not worse than the active
 * one's and its net spread clears the random band, or when forced; and the
 * share of signals that flip between the two over the last days. The
 * figures are the evaluation's (eval_int.h), on the same panel. */
#ifndef TM_PROMOTE_INT_H
#define TM_PROMOTE_INT_H

#include "pipeline/decide_int.h"
#include "pipeline/eval_int.h"
#include "pipeline/pipeline_int.h"

/* The promotion check of one candidate. */
typedef struct tm__promote {
    tm_pipeline_eval *e;    /* the candidate as "system", the baselines, the random band */
    tm__eval_result active; /* the active model's figures on the same panel */
    bool has_active;        /* false: no active meta-learner (the first one is promoted) */
    bool has_window;        /* false: no day out of sample for both (e is NULL) */
    int64_t active_id;      /* the active meta-learner's registry id (0: none) */
    int64_t active_gen;     /* its base-model generation */
    bool active_has_rule;   /* false: the active model decides by the argmax (no rule stored) */
    int cap;                /* BUY and SELL a day at most, as the scan (0: no cap) */
    int32_t from, to;       /* the window's first and last signal day (0: none) */
    double band_p95;        /* 95th percentile of the random calls' net spread */
    bool promoted;          /* the candidate becomes active */
    bool forced;            /* promoted by --force whatever the figures */
    char why[256];          /* one clause: why (not) promoted */
    double flip_share;      /* flipped / signals over the last flip_days days (NaN: none) */
    size_t flip_n, flip_signals, flip_cells, flip_days;
} tm__promote;

void tm__promote_free(tm__promote *r);

/* The classes the scan issues for n rows of meta-learner probabilities q
 * (n x 3) dated date (n) into label (n): by the decision rule r (NULL:
 * the most probable class), then at most cap BUY and cap SELL a day (0:
 * no cap). TM_E_NOMEM only. */
tm_status tm__promote_decide(const tm__decide_rule *r, const double *q, const int32_t *date,
                             size_t n, int cap, int8_t *label, tm_err *err);

/* Judges a candidate on panel cand (its label and prob are the
 * candidate's; the panel moves into r and is freed with it): the
 * evaluation's methods, the active model's calls act_label with scores
 * act_score (p(BUY) - p(SELL), NaN where none) on the same cells, then
 * the decision. has_active false: promoted as the first model. force:
 * promoted whatever the figures, why saying what they were. On failure
 * (out of memory) r holds what tm__promote_free releases. */
tm_status tm__promote_judge(tm__eval_panel *cand, const int8_t *act_label, const double *act_score,
                            bool has_active, bool force, tm__promote *r, tm_err *err);

/* Flips between two label sequences of n cells: *signals counts the cells
 * where either is BUY or SELL, *flips those of them whose labels differ;
 * returns flips / signals (NaN when no signal). Cells with a -1 label on
 * either side are skipped. */
double tm__promote_flip_share(const int8_t *a, const int8_t *b, size_t n, size_t *flips,
                              size_t *signals, size_t *cells);

/* What a meta retrain hands the promotion check. */
typedef struct tm__promote_in {
    int32_t as_of;
    const tm_store_samples *sm; /* the training samples, by date */
    const uint8_t *role;        /* the kept fit's roles (VALID: out of sample for it) */
    const double *Z;            /* sm->n_rows x W candidate meta features */
    size_t W;
    const tm_forest *cand;        /* the candidate meta-learner */
    const tm__decide_rule *rule;  /* its decision rule (fitted on its validation rows) */
    const tm__pipeline_models *m; /* its base models */
} tm__promote_in;

/* The whole check inside the retrain's transaction: finds the active
 * meta-learner, the window (validation days of the candidate after the
 * active one's training cut-off), both models' calls there, the judgement
 * (opts.force forces it) and the flip share over the last opts.flip_days
 * trading days to as_of. */
tm_status tm__promote_check(tm_pipeline *p, const tm__promote_in *in, tm__promote *r, tm_err *err);

/* After a refused candidate was registered inactive: makes the active
 * meta-learner's base generation active again (a model retrain activated
 * its new one). */
tm_status tm__promote_keep(tm_pipeline *p, const tm__promote *r, tm_err *err);

/* True when the registry row's metrics record a refused promotion (rows
 * written before the check have no "promoted" key: they were active). A
 * refused model never served, so rollback skips it. */
bool tm__promote_refused(const tm_store_model *m);

/* The check's lines in the retrain report, and its keys in the registry
 * metrics (inside the open object of w). */
void tm__promote_report(const tm__promote *r, tm_pipeline_report *rep);
void tm__promote_metrics(const tm__promote *r, tm_jw *w);

#endif
