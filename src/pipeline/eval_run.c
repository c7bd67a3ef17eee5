/* The evaluation as a whole: reads the store (evaluate.c builds the
 * panel), runs the system and every baseline through the same metrics,
 * adds the system's reliability table and precision by confidence decile,
 * and decides the verdict. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/eval_int.h"
#include "pipeline/pipeline_int.h"

double tm__eval_random_q(const tm_pipeline_eval *e, size_t off, double q)
{
    double x[256];
    size_t n = 0;
    for (int s = 0; s < e->o.n_seeds && n < 256; s++) {
        x[n++] = tm__eval_get(&e->random[s], off);
    }
    return tm__eval_quantile(x, n, q);
}

static int conf_cmp(const void *a, const void *b)
{
    const tm__eval_item *x = a, *y = b;
    if (x->v != y->v) {
        return x->v < y->v ? -1 : 1;
    }
    return x->i < y->i ? -1 : x->i > y->i;
}

/* The system's reliability (SELL and BUY probability in ten bins) and
 * precision of its calls by decile of confidence. */
static tm_status calibration(tm_pipeline_eval *e, tm_err *err)
{
    const tm__eval_panel *p = &e->panel;
    size_t cells = p->n_days * p->n_stocks, n = 0;
    tm__eval_item *calls = tm_malloc_n(cells + 1, sizeof *calls);
    if (!calls) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory in the calibration table");
    }
    for (size_t i = 0; i < cells; i++) {
        if (p->actual[i] < 0) {
            continue;
        }
        for (int j = 0; j < 2; j++) {
            int c = j ? 2 : 0;
            double pr = p->prob[3 * i + c];
            if (!isfinite(pr)) {
                continue;
            }
            int b = (int)floor(pr * TM__EVAL_DECILES);
            b = b < 0 ? 0 : b >= TM__EVAL_DECILES ? TM__EVAL_DECILES - 1 : b;
            e->rel_pred[j][b] += pr;
            e->rel_obs[j][b] += p->actual[i] == c;
            e->rel_n[j][b]++;
        }
        if (p->label[i] == 0 || p->label[i] == 2) {
            calls[n].v = p->prob[3 * i + p->label[i]];
            calls[n++].i = i;
        }
    }
    for (int j = 0; j < 2; j++) {
        for (int b = 0; b < TM__EVAL_DECILES; b++) {
            double m = (double)e->rel_n[j][b];
            e->rel_pred[j][b] = m > 0 ? e->rel_pred[j][b] / m : (double)NAN;
            e->rel_obs[j][b] = m > 0 ? e->rel_obs[j][b] / m : (double)NAN;
        }
    }
    /* sort by confidence (ties by cell), then ten groups of equal count */
    qsort(calls, n, sizeof *calls, conf_cmp);
    const tm__eval_item *sorted = calls;
    for (int g = 0; g < TM__EVAL_DECILES; g++) {
        size_t lo = n * (size_t)g / TM__EVAL_DECILES, hi = n * (size_t)(g + 1) / TM__EVAL_DECILES;
        double cs = 0, hits = 0;
        for (size_t i = lo; i < hi; i++) {
            size_t c = sorted[i].i;
            cs += sorted[i].v;
            hits += p->actual[c] == p->label[c];
        }
        e->dec_n[g] = hi - lo;
        e->dec_conf[g] = hi > lo ? cs / (double)(hi - lo) : (double)NAN;
        e->dec_prec[g] = hi > lo ? hits / (double)(hi - lo) : (double)NAN;
    }
    tm_free(calls);
    return TM_OK;
}

static void decide(tm_pipeline_eval *e)
{
    const tm__eval_panel *p = &e->panel;
    const tm__eval_result *sys = &e->fixed[0];
    long span = (long)(tm_ymd_days(p->date[p->day_at[p->n_days - 1]]) -
                       tm_ymd_days(p->date[p->day_at[0]]));
    double p95 = tm__eval_random_q(e, offsetof(tm__eval_result, spread_net), 0.95);
    const char *why = NULL;
    char buf[160];
    if (span < 730) {
        snprintf(buf, sizeof buf, "the signal days span %ld calendar days, under two years", span);
        why = buf;
    } else if (!(sys->spread_t > 2)) {
        snprintf(buf, sizeof buf, "net spread t = %.2f, not above 2", sys->spread_t);
        why = buf;
    } else if (!(sys->spread_net > p95)) {
        why = "net spread not above the random band's 95th percentile";
    }
    for (int m = 1; m < TM__EVAL_N_FIXED && !why; m++) {
        double b = isnan(e->fixed[m].spread_net) ? 0.0 : e->fixed[m].spread_net;
        if (!(sys->spread_net > b)) {
            snprintf(buf, sizeof buf, "net spread not above %s's", tm__eval_names[m]);
            why = buf;
        }
    }
    e->edge = why == NULL;
    if (why) {
        snprintf(e->verdict, sizeof e->verdict, "no demonstrated edge: %s", why);
    } else {
        snprintf(e->verdict, sizeof e->verdict,
                 "edge: net spread above every baseline and the random band, t = %.2f over %ld "
                 "days",
                 sys->spread_t, span);
    }
}

tm_status tm__eval_methods(tm_pipeline_eval *e, tm_err *err)
{
    tm__eval_panel *p = &e->panel;
    size_t cells = p->n_days * p->n_stocks + 1;
    int8_t *label = tm_malloc_n(cells, sizeof *label);
    double *score = tm_malloc_n(3 * cells, sizeof *score);
    e->random = tm_calloc((size_t)e->o.n_seeds, sizeof *e->random);
    tm_status st = TM_OK;
    if (!label || !score || !e->random) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory evaluating signals");
        goto done;
    }
    double *sys = score, *mom = score + cells, *rev = score + 2 * cells;
    for (size_t i = 0; i + 1 < cells; i++) {
        sys[i] = p->prob[3 * i + 2] - p->prob[3 * i];
        mom[i] = p->mom[i];
        rev[i] = -p->rev[i];
    }
    for (int m = 0; m < TM__EVAL_N_FIXED && st == TM_OK; m++) {
        tm__eval_calls c = {.label = label, .score = NULL};
        bool ok = true;
        if (m == 0) {
            memcpy(label, p->label, cells - 1);
            c.score = sys;
        } else if (m == 1) {
            for (size_t i = 0; i + 1 < cells; i++) {
                label[i] = p->actual[i] >= 0 ? 1 : -1;
            }
        } else {
            c.score = m == 2 ? mom : rev;
            ok = tm__eval_calls_rank(p, c.score, e->o.share, label);
        }
        st = ok ? tm__eval_run(p, &c, e->o.cost_bps, &e->fixed[m], err)
                : TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory ranking a baseline");
    }
    for (int s = 0; s < e->o.n_seeds && st == TM_OK; s++) {
        tm__eval_calls c = {.label = label, .score = NULL};
        st = tm__eval_calls_random(p, p->label, e->o.seed + (uint64_t)s, label)
                     ? tm__eval_run(p, &c, e->o.cost_bps, &e->random[s], err)
                     : TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory drawing random calls");
    }
done:
    tm_free(label);
    tm_free(score);
    return st;
}

static tm_status check_opts(const tm_pipeline_eval_opts *o, tm_err *err)
{
    if (o->from <= 0 || o->to <= 0) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, "from", "both --from and --to are required");
    }
    if (o->to < o->from) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, "to",
                      "expected a date on or after " TM__YMD_FMT ", found " TM__YMD_FMT,
                      TM__YMD(o->from), TM__YMD(o->to));
    }
    if (!isfinite(o->cost_bps) || o->cost_bps < 0 || o->cost_bps > 10000) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, "cost-bps",
                      "expected a number of basis points in [0, 10000], found %g", o->cost_bps);
    }
    if (o->n_seeds < 1 || o->n_seeds > 256) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, "seeds", "expected 1..256, found %d", o->n_seeds);
    }
    if (!(o->share > 0 && o->share <= 0.5)) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, "share", "expected a share in (0, 0.5], found %g",
                      o->share);
    }
    return TM_OK;
}

tm_status tm_pipeline_evaluate(tm_pipeline *pl, const tm_pipeline_eval_opts *o,
                               tm_pipeline_eval **out, tm_err *err)
{
    *out = NULL;
    tm_status st = check_opts(o, err);
    if (st != TM_OK) {
        return st;
    }
    tm_pipeline_eval *e = tm_calloc(1, sizeof *e);
    tm_store_prices *px = NULL;
    tm_store_signal *sig = NULL;
    int32_t *dates = NULL;
    uint8_t *day = NULL;
    size_t n_sig = 0, T = 0;
    if (!e) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    e->o = *o;
    tm_features_label_opts lo;
    tm__pipeline_label_opts(pl, &lo);
    st = tm__pipeline_labels(pl, false, &pl->labels, err);
    if (st == TM_OK && pl->labels == TM_PIPELINE_LABELS_XS_DECILE &&
        (lo.up != TM_FEATURES_DEFAULT_UP || lo.down != TM_FEATURES_DEFAULT_DOWN)) {
        st = TM_ERR(err, TM_E_INVALID, NULL, 0, NULL,
                    "--%s: a threshold of absolute labels, but the database holds xs-decile "
                    "labels",
                    lo.up != TM_FEATURES_DEFAULT_UP ? "up" : "down");
    }
    if (st == TM_OK) {
        st = tm_store_prices_load(pl->store, NULL, o->to, &px, err);
    }
    if (st == TM_OK) {
        st = tm_store_trading_dates(pl->store, o->to, &dates, &T, err);
    }
    if (st == TM_OK) {
        st = tm_store_signals_between(pl->store, o->from, o->to, &sig, &n_sig, err);
    }
    if (st == TM_OK && n_sig == 0) {
        st = TM_ERR(err, TM_E_INVALID, NULL, 0, "signals",
                    "no signals dated " TM__YMD_FMT ".." TM__YMD_FMT, TM__YMD(o->from),
                    TM__YMD(o->to));
    }
    if (st == TM_OK && !(day = tm_calloc(T + 1, 1))) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    if (st == TM_OK) {
        st = tm__eval_signal_days(sig, n_sig, dates, T, day, err);
    }
    if (st == TM_OK) {
        st = tm__eval_build(&e->panel, px, dates, T, day, sig, n_sig, &lo, pl->labels,
                            &e->n_pending, err);
    }
    for (size_t i = 0; st == TM_OK && i < e->panel.n_days * e->panel.n_stocks; i++) {
        e->n_cells += e->panel.actual[i] >= 0;
    }
    if (st == TM_OK) {
        st = tm__eval_methods(e, err);
    }
    if (st == TM_OK) {
        st = calibration(e, err);
    }
    if (st == TM_OK) {
        decide(e);
        *out = e;
        e = NULL;
    }
    tm_pipeline_eval_free(e);
    tm_store_prices_free(px);
    tm_free(sig);
    tm_free(dates);
    tm_free(day);
    return st;
}

void tm_pipeline_eval_free(tm_pipeline_eval *e)
{
    if (!e) {
        return;
    }
    for (int m = 0; m < TM__EVAL_N_FIXED; m++) {
        tm__eval_result_free(&e->fixed[m]);
    }
    for (int s = 0; e->random && s < e->o.n_seeds; s++) {
        tm__eval_result_free(&e->random[s]);
    }
    tm_free(e->random);
    tm__eval_panel_free(&e->panel);
    tm_free(e);
}

bool tm_pipeline_eval_edge(const tm_pipeline_eval *e)
{
    return e->edge;
}

tm_status tm_pipeline_eval_record(tm_pipeline *p, const tm_pipeline_eval *e, tm_err *err)
{
    tm_pipeline_report rep;
    tm__pipeline_report_init(&rep, "evaluate", e->o.to);
    tm__pipeline_say(&rep, "evaluation " TM__YMD_FMT ".." TM__YMD_FMT ", %zu signal days: %s\n",
                     TM__YMD(e->o.from), TM__YMD(e->o.to), e->panel.n_days, e->verdict);
    tm_status st = tm_store_begin(p->store, err);
    if (st == TM_OK) {
        st = tm__pipeline_record(p, &rep, "ok", NULL, err);
    }
    if (st == TM_OK) {
        st = tm_store_commit(p->store, err);
    }
    if (st != TM_OK) {
        tm_store_rollback(p->store);
    }
    return st;
}

tm_status tm_pipeline_edge_note(tm_pipeline *p, char *buf, size_t cap, tm_err *err)
{
    tm_store_job_result last;
    bool found = false;
    tm_status st = tm_store_job_result_last(p->store, "evaluate", "ok", &last, &found, err);
    if (st != TM_OK) {
        return st;
    }
    last.summary[strcspn(last.summary, "\n")] = '\0';
    if (!found) {
        snprintf(buf, cap,
                 "signal quality: no demonstrated edge (no evaluation yet: "
                 "turbomode evaluate)\n");
    } else if (strstr(last.summary, ": edge:") != NULL) {
        snprintf(buf, cap, "signal quality: %s\n", last.summary);
    } else {
        snprintf(buf, cap, "signal quality: no demonstrated edge (latest %s)\n", last.summary);
    }
    return TM_OK;
}
