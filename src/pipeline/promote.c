/* Model promotion: a retrained meta-learner becomes active only when it
 * does not do worse than the active one on days out of sample for both
 * and its net spread clears the random band (or --force). The window is
 * the candidate's validation days (never trained on, the label horizon
 * embargoed before them) after the active meta-learner's training cut-off
 * (never seen by it or by its base models); every label there is settled
 * by as_of. Each model issues the signals the scan would: by its own
 * decision rule (the argmax for an older model without one) and the
 * day's cap. Figures come from the evaluation's code on one panel. Also
 * the share of signals that flip between the two over the last days. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/promote_int.h"

void tm__promote_free(tm__promote *r)
{
    tm_pipeline_eval_free(r->e);
    tm__eval_result_free(&r->active);
    r->e = NULL;
}

tm_status tm__promote_decide(const tm__decide_rule *r, const double *q, const int32_t *date,
                             size_t n, int cap, int8_t *label, tm_err *err)
{
    int *l = tm_malloc_n(n + 1, sizeof *l);
    if (!l) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory deciding %zu rows", n);
    }
    tm_status st = tm__decide_apply(r, q, date, n, cap, l, NULL, NULL, err);
    for (size_t i = 0; st == TM_OK && i < n; i++) {
        label[i] = (int8_t)l[i];
    }
    tm_free(l);
    return st;
}

double tm__promote_flip_share(const int8_t *a, const int8_t *b, size_t n, size_t *flips,
                              size_t *signals, size_t *cells)
{
    *flips = *signals = *cells = 0;
    for (size_t i = 0; i < n; i++) {
        if (a[i] < 0 || b[i] < 0) {
            continue;
        }
        (*cells)++;
        if (a[i] != 1 || b[i] != 1) {
            (*signals)++;
            *flips += a[i] != b[i];
        }
    }
    return *signals ? (double)*flips / (double)*signals : (double)NAN;
}

/* The decision on computed figures: not worse than the active model on
 * net spread and information coefficient (a figure the active model does
 * not have sets no bar), and a net spread above the random band. */
static void decide(tm__promote *r, bool force)
{
    const tm__eval_result *c = &r->e->fixed[0], *a = &r->active;
    r->band_p95 = tm__eval_random_q(r->e, offsetof(tm__eval_result, spread_net), 0.95);
    char *w = r->why;
    size_t cap = sizeof r->why;
    r->promoted = false;
    if (isnan(c->spread_net)) {
        snprintf(w, cap, "the candidate has no day with both a BUY and a SELL in the window");
    } else if (r->has_active && !isnan(a->spread_net) && c->spread_net < a->spread_net) {
        snprintf(w, cap, "net spread %+.2f%% below the active model's %+.2f%%", 100 * c->spread_net,
                 100 * a->spread_net);
    } else if (r->has_active && !isnan(a->ic_mean) && !(c->ic_mean >= a->ic_mean)) {
        snprintf(w, cap, "information coefficient %+.3f below the active model's %+.3f", c->ic_mean,
                 a->ic_mean);
    } else if (!(c->spread_net > r->band_p95)) {
        snprintf(w, cap, "net spread %+.2f%% not above the random band's 95th percentile %+.2f%%",
                 100 * c->spread_net, 100 * r->band_p95);
    } else {
        snprintf(w, cap,
                 "net spread %+.2f%% not below the active model's and above the random "
                 "band's 95th percentile %+.2f%%",
                 100 * c->spread_net, 100 * r->band_p95);
        r->promoted = true;
    }
    if (force && !r->promoted) {
        r->promoted = r->forced = true;
    }
}

tm_status tm__promote_judge(tm__eval_panel *cand, const int8_t *act_label, const double *act_score,
                            bool has_active, bool force, tm__promote *r, tm_err *err)
{
    r->has_active = has_active;
    r->has_window = true;
    r->e = tm_calloc(1, sizeof *r->e);
    if (!r->e) {
        tm__eval_panel_free(cand);
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory judging a candidate model");
    }
    tm_pipeline_eval_opts_init(&r->e->o);
    r->e->panel = *cand;
    memset(cand, 0, sizeof *cand);
    const tm__eval_panel *p = &r->e->panel;
    r->from = p->date[p->day_at[0]];
    r->to = p->date[p->day_at[p->n_days - 1]];
    r->e->o.from = r->from;
    r->e->o.to = r->to;
    tm_status st = tm__eval_methods(r->e, err);
    if (st == TM_OK && has_active) {
        tm__eval_calls c = {.label = (int8_t *)act_label, .score = act_score};
        st = tm__eval_run(p, &c, r->e->o.cost_bps, &r->active, err);
    }
    if (st == TM_OK) {
        decide(r, force);
    }
    return st;
}

/* Meta-learner probabilities of n feature rows Xd (n x F doubles) through
 * the full base models m and meta: Q gets n x 3. */
static tm_status meta_probs(tm_pipeline *p, const tm__pipeline_models *m, const tm_forest *meta,
                            const double *Xd, size_t n, size_t F, double *Q, tm_err *err)
{
    size_t M = m->n_base, W = tm_features_meta_count(M);
    double *P = tm_malloc_n(n + 1, 3 * M * sizeof(double));
    double *Z = tm_malloc_n(n + 1, W * sizeof(double));
    tm_status st = TM_OK;
    if (!P || !Z) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory scoring %zu rows", n);
    }
    if (st == TM_OK && n > 0) {
        st = tm__pipeline_base_probs(p, m, Xd, n, F, P, err);
    }
    for (size_t i = 0; st == TM_OK && i < n; i++) {
        tm_features_meta(P + i * 3 * M, M, Z + i * W);
    }
    if (st == TM_OK && n > 0) {
        st = tm_forest_predict(meta, Z, n, W, TM_FOREST_OUT_PROBABILITY, p->o.n_threads, Q, err);
    }
    tm_free(P);
    tm_free(Z);
    return st;
}

/* The active meta-learner and its base models (generation of its own). */
typedef struct active_set {
    tm_store_model row;
    tm_forest *meta;
    tm__decide_rule rule; /* its own decision rule, when has_rule */
    bool has_rule;
    tm__pipeline_models own; /* loaded when its generation is not the candidate's */
    const tm__pipeline_models *m;
} active_set;

static void active_free(active_set *a)
{
    tm_forest_free(a->meta);
    tm__decide_rule_fini(&a->rule);
    tm__pipeline_models_free(&a->own);
}

/* *found: a meta-learner was in use at as_of (point in time: one trained
 * as of as_of or earlier, or the active one under --allow-later-models);
 * none when the database has none yet or only later ones (a retrain
 * dated before every model). */
static tm_status active_load(tm_pipeline *p, const tm__promote_in *in, active_set *a, bool *found,
                             tm_err *err)
{
    tm_store_model *rows = NULL;
    size_t n = 0;
    tm_status st = tm_store_models_history(p->store, "meta", 0, &rows, &n, err);
    *found = false;
    for (size_t i = 0; st == TM_OK && i < n; i++) {
        *found =
                *found || rows[i].as_of <= in->as_of || (rows[i].active && p->o.allow_later_models);
    }
    tm_free(rows);
    if (!*found) {
        return st;
    }
    st = tm__pipeline_meta_load(p, in->as_of, &a->meta, &a->row, NULL, err);
    if (st == TM_OK) {
        st = tm__pipeline_rule_load(p, &a->row, &a->rule, &a->has_rule, err);
    }
    a->m = in->m;
    if (st == TM_OK && a->row.generation != in->m->base_row[0].generation) {
        st = tm__pipeline_models_load(p, in->as_of, a->row.generation, &a->own, NULL, err);
        a->m = &a->own;
    }
    return st;
}

/* Signals of the window's rows (dated date) for one model's
 * probabilities Q, decided by its rule r (NULL: argmax) and the cap;
 * label is scratch for n. */
static tm_status window_signals(const tm_store_samples *sm, const size_t *rows, const int32_t *date,
                                size_t n, const double *Q, const tm__decide_rule *r, int cap,
                                int8_t *label, tm_store_signal *sig, tm_err *err)
{
    tm_status st = tm__promote_decide(r, Q, date, n, cap, label, err);
    for (size_t i = 0; st == TM_OK && i < n; i++) {
        memset(&sig[i], 0, sizeof sig[i]);
        memcpy(sig[i].symbol, sm->symbol[rows[i]], sizeof sig[i].symbol);
        sig[i].date = date[i];
        memcpy(sig[i].prob, Q + 3 * i, sizeof sig[i].prob);
        sig[i].label = label[i];
    }
    return st;
}

/* Scratch of the window check; window_free releases it. */
typedef struct window {
    size_t n, *rows;
    double *Xd, *Zc, *Qc, *Qa, *score;
    tm_store_signal *sc, *sa;
    int32_t *rdate; /* the rows' dates */
    int8_t *lab;    /* scratch: one model's classes of the rows */
    tm_store_prices *px;
    int32_t *dates;
    size_t T;
    uint8_t *day;
    tm__eval_panel pc, pa;
} window;

static void window_free(window *w)
{
    tm_free(w->rows);
    tm_free(w->Xd);
    tm_free(w->Zc);
    tm_free(w->Qc);
    tm_free(w->Qa);
    tm_free(w->score);
    tm_free(w->sc);
    tm_free(w->sa);
    tm_free(w->rdate);
    tm_free(w->lab);
    tm_store_prices_free(w->px);
    tm_free(w->dates);
    tm_free(w->day);
    tm__eval_panel_free(&w->pc);
    tm__eval_panel_free(&w->pa);
}

/* Both models' probabilities on the window's rows and the panels. */
static tm_status window_panels(tm_pipeline *p, const tm__promote_in *in, const active_set *a,
                               window *w, tm_err *err)
{
    const tm_store_samples *sm = in->sm;
    size_t n = w->n, F = sm->n_features, W = in->W;
    w->Xd = tm_malloc_n(n, F * sizeof(double));
    w->Zc = tm_malloc_n(n, W * sizeof(double));
    w->Qc = tm_malloc_n(n, 3 * sizeof(double));
    w->Qa = tm_malloc_n(n, 3 * sizeof(double));
    w->sc = tm_malloc_n(n, sizeof *w->sc);
    w->sa = tm_malloc_n(n, sizeof *w->sa);
    w->rdate = tm_malloc_n(n, sizeof *w->rdate);
    w->lab = tm_malloc(n);
    if (!w->Xd || !w->Zc || !w->Qc || !w->Qa || !w->sc || !w->sa || !w->rdate || !w->lab) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory for %zu window rows", n);
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t f = 0; f < F; f++) {
            w->Xd[i * F + f] = (double)sm->X[w->rows[i] * F + f];
        }
        memcpy(w->Zc + i * W, in->Z + w->rows[i] * W, W * sizeof(double));
        w->rdate[i] = sm->date[w->rows[i]];
    }
    tm_status st = tm_forest_predict(in->cand, w->Zc, n, W, TM_FOREST_OUT_PROBABILITY,
                                     p->o.n_threads, w->Qc, err);
    if (st == TM_OK) {
        st = meta_probs(p, a->m, a->meta, w->Xd, n, F, w->Qa, err);
    }
    int cap = p->o.max_signals;
    if (st == TM_OK) {
        st = window_signals(sm, w->rows, w->rdate, n, w->Qc, in->rule, cap, w->lab, w->sc, err);
    }
    if (st == TM_OK) {
        st = window_signals(sm, w->rows, w->rdate, n, w->Qa, a->has_rule ? &a->rule : NULL, cap,
                            w->lab, w->sa, err);
    }
    tm_features_label_opts lo;
    tm__pipeline_label_opts(p, &lo);
    size_t pending = 0;
    if (st == TM_OK) {
        st = tm_store_prices_load(p->store, NULL, in->as_of, &w->px, err);
    }
    if (st == TM_OK) {
        st = tm_store_trading_dates(p->store, in->as_of, &w->dates, &w->T, err);
    }
    if (st == TM_OK && !(w->day = tm_calloc(w->T + 1, 1))) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    if (st == TM_OK) {
        st = tm__eval_signal_days(w->sc, n, w->dates, w->T, w->day, err);
    }
    if (st == TM_OK) {
        st = tm__eval_build(&w->pc, w->px, w->dates, w->T, w->day, w->sc, n, &lo, p->labels,
                            &pending, err);
    }
    if (st == TM_OK) {
        st = tm__eval_build(&w->pa, w->px, w->dates, w->T, w->day, w->sa, n, &lo, p->labels,
                            &pending, err);
    }
    return st;
}

/* The window: VALID rows of the candidate dated after the active
 * meta-learner's training cut-off, judged; none: not promoted unless
 * forced. */
static tm_status judge_window(tm_pipeline *p, const tm__promote_in *in, const active_set *a,
                              tm__promote *r, tm_err *err)
{
    window w;
    memset(&w, 0, sizeof w);
    const tm_store_samples *sm = in->sm;
    w.rows = tm_malloc_n(sm->n_rows + 1, sizeof *w.rows);
    if (!w.rows) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    for (size_t i = 0; i < sm->n_rows; i++) {
        if (in->role[i] == TM__PIPELINE_VALID && sm->date[i] > a->row.train_until) {
            w.rows[w.n++] = i;
        }
    }
    tm_status st = TM_OK;
    if (w.n == 0) {
        r->has_active = true;
        r->promoted = r->forced = p->o.force;
        snprintf(r->why, sizeof r->why,
                 "no validation day of the candidate after the active model's cut-off " TM__YMD_FMT,
                 TM__YMD(a->row.train_until));
        goto done;
    }
    st = window_panels(p, in, a, &w, err);
    size_t cells = w.pa.n_days * w.pa.n_stocks;
    if (st == TM_OK && !(w.score = tm_malloc_n(cells + 1, sizeof *w.score))) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    for (size_t i = 0; st == TM_OK && i < cells; i++) {
        w.score[i] = w.pa.label[i] < 0 ? (double)NAN : w.pa.prob[3 * i + 2] - w.pa.prob[3 * i];
    }
    if (st == TM_OK) {
        st = tm__promote_judge(&w.pc, w.pa.label, w.score, true, p->o.force, r, err);
    }
done:
    window_free(&w);
    return st;
}

/* Labels of both models on every stock's last flip_days trading days up
 * to as_of (with the features' warm-up), and the share that flips. */
static tm_status flips(tm_pipeline *p, const tm__promote_in *in, const active_set *a,
                       tm__promote *r, tm_err *err)
{
    tm__pipeline_panel panel;
    tm_status st = tm__pipeline_panel_load(p, in->as_of, &panel, err);
    double *Xd = NULL, *Qc = NULL, *Qa = NULL;
    int8_t *lc = NULL, *la = NULL;
    int32_t *dates = NULL, *rd = NULL;
    size_t T = 0, n = 0;
    if (st == TM_OK) {
        st = tm_store_trading_dates(p->store, in->as_of, &dates, &T, err);
    }
    if (st != TM_OK || T == 0) {
        goto done;
    }
    size_t D = (size_t)p->o.flip_days < T ? (size_t)p->o.flip_days : T;
    int32_t first = dates[T - D];
    const tm_store_prices *px = panel.px;
    size_t F = panel.n_features, cap = px->n_symbols * D + 1;
    Xd = tm_malloc_n(cap, F * sizeof(double));
    Qc = tm_malloc_n(cap, 3 * sizeof(double));
    Qa = tm_malloc_n(cap, 3 * sizeof(double));
    lc = tm_malloc(cap);
    la = tm_malloc(cap);
    rd = tm_malloc_n(cap, sizeof *rd);
    if (!Xd || !Qc || !Qa || !lc || !la || !rd) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory for the flip share");
        goto done;
    }
    for (size_t k = 0; k < px->n_symbols; k++) {
        for (size_t row = px->start[k]; row < px->start[k + 1]; row++) {
            if (px->date[row] >= first && row - px->start[k] >= tm_features_warmup() &&
                n + 1 < cap) {
                for (size_t f = 0; f < F; f++) {
                    Xd[n * F + f] = (double)panel.X[row * F + f];
                }
                rd[n++] = px->date[row];
            }
        }
    }
    st = meta_probs(p, in->m, in->cand, Xd, n, F, Qc, err);
    if (st == TM_OK) {
        st = meta_probs(p, a->m, a->meta, Xd, n, F, Qa, err);
    }
    if (st == TM_OK) {
        st = tm__promote_decide(in->rule, Qc, rd, n, p->o.max_signals, lc, err);
    }
    if (st == TM_OK) {
        st = tm__promote_decide(a->has_rule ? &a->rule : NULL, Qa, rd, n, p->o.max_signals, la,
                                err);
    }
    if (st == TM_OK) {
        r->flip_days = D;
        r->flip_share =
                tm__promote_flip_share(la, lc, n, &r->flip_n, &r->flip_signals, &r->flip_cells);
    }
done:
    tm__pipeline_panel_free(&panel);
    tm_free(dates);
    tm_free(Xd);
    tm_free(Qc);
    tm_free(Qa);
    tm_free(lc);
    tm_free(la);
    tm_free(rd);
    return st;
}

tm_status tm__promote_check(tm_pipeline *p, const tm__promote_in *in, tm__promote *r, tm_err *err)
{
    memset(r, 0, sizeof *r);
    r->cap = p->o.max_signals;
    r->flip_share = NAN;
    r->band_p95 = NAN;
    active_set a;
    memset(&a, 0, sizeof a);
    bool found = false;
    tm_status st = active_load(p, in, &a, &found, err);
    if (st == TM_OK && !found) {
        r->promoted = true;
        snprintf(r->why, sizeof r->why,
                 "no meta-learner trained as of " TM__YMD_FMT
                 " or earlier to compare with: promoted without a check",
                 TM__YMD(in->as_of));
    } else if (st == TM_OK) {
        r->active_id = a.row.id;
        r->active_gen = a.row.generation;
        r->active_has_rule = a.has_rule;
        st = judge_window(p, in, &a, r, err);
        if (st == TM_OK) {
            st = flips(p, in, &a, r, err);
        }
    }
    active_free(&a);
    return st;
}

tm_status tm__promote_keep(tm_pipeline *p, const tm__promote *r, tm_err *err)
{
    tm_store_model *base = NULL;
    size_t nb = 0;
    tm_status st = tm_store_models_generation(p->store, "base", r->active_gen, &base, &nb, err);
    for (size_t i = 0; i < nb && st == TM_OK; i++) {
        if (!base[i].active) {
            st = tm_store_model_activate(p->store, base[i].id, err);
        }
    }
    tm_free(base);
    return st;
}

bool tm__promote_refused(const tm_store_model *m)
{
    tm_json_doc *doc = NULL;
    if (tm_json_parse(m->metrics, strlen(m->metrics), NULL, &doc, NULL) != TM_OK) {
        return false;
    }
    const tm_json *v = tm_json_get(tm_json_root(doc), "promoted");
    bool refused = v && v->type == TM_JSON_BOOL && !v->boolean;
    tm_json_doc_free(doc);
    return refused;
}

/* v with dec decimals (signed when sign, then unit) into buf, or "-" when
 * NaN (a figure with no data). */
static const char *num(char *buf, size_t len, double v, int dec, bool sign, const char *unit)
{
    if (isnan(v)) {
        return "-";
    }
    snprintf(buf, len, sign ? "%+.*f%s" : "%.*f%s", dec, v, unit);
    return buf;
}

static void say_row(tm_pipeline_report *rep, const char *name, const tm__eval_result *x)
{
    char b[5][32];
    tm__pipeline_say(rep, "    %-18s %5zu/%-5zu %8s %9s %10s %6s %7s\n", name, x->cls[2].n,
                     x->cls[0].n, num(b[0], 32, x->cls[2].precision, 3, false, ""),
                     num(b[1], 32, x->cls[0].precision, 3, false, ""),
                     num(b[2], 32, 100 * x->spread_net, 2, true, "%"),
                     num(b[3], 32, x->spread_t, 2, true, ""),
                     num(b[4], 32, x->ic_mean, 3, true, ""));
}

void tm__promote_report(const tm__promote *r, tm_pipeline_report *rep)
{
    if (r->e) {
        const tm__eval_panel *pn = &r->e->panel;
        tm__pipeline_say(rep,
                         "  promotion window " TM__YMD_FMT ".." TM__YMD_FMT
                         ": %zu days out of sample for both models, %zu stocks, %.0f bps:\n",
                         TM__YMD(r->from), TM__YMD(r->to), pn->n_days, pn->n_stocks,
                         r->e->o.cost_bps);
        char cap[64] = "no cap";
        if (r->cap > 0) {
            snprintf(cap, sizeof cap, "at most %d BUY and %d SELL a day", r->cap, r->cap);
        }
        tm__pipeline_say(rep,
                         "    signals as the scan issues them (%s): the candidate by its decision "
                         "rule (fitted on its validation days, of which this window is part: in "
                         "sample for the rule), the active model %s\n",
                         cap,
                         r->active_has_rule ? "by its own rule"
                                            : "by the most probable class (it has no rule)");
        tm__pipeline_say(rep, "    %-18s %11s %8s %9s %10s %6s %7s\n", "method", "BUY/SELL",
                         "BUY prec", "SELL prec", "net spread", "t(NW)", "IC");
        say_row(rep, "candidate", &r->e->fixed[0]);
        char name[40];
        snprintf(name, sizeof name, "active (meta %lld)", (long long)r->active_id);
        say_row(rep, name, &r->active);
        for (int m = 1; m < TM__EVAL_N_FIXED; m++) {
            say_row(rep, tm__eval_names[m], &r->e->fixed[m]);
        }
        size_t off = offsetof(tm__eval_result, spread_net);
        char lo[32], hi[32];
        tm__pipeline_say(rep,
                         "    random 5..95%% (%d seeds, the candidate's daily counts): net spread "
                         "%s..%s\n",
                         r->e->o.n_seeds,
                         num(lo, sizeof lo, 100 * tm__eval_random_q(r->e, off, 0.05), 2, true, "%"),
                         num(hi, sizeof hi, 100 * r->band_p95, 2, true, "%"));
    }
    tm__pipeline_say(rep, "  %s: %s%s\n", r->promoted ? "promoted" : "not promoted",
                     r->forced ? "forced (--force); " : "", r->why);
    if (r->has_active) {
        tm__pipeline_say(rep,
                         "  stability: %.1f%% of signals flip class between the active model and "
                         "the candidate over the last %zu days (%zu of %zu BUY/SELL, %zu cells)\n",
                         100 * r->flip_share, r->flip_days, r->flip_n, r->flip_signals,
                         r->flip_cells);
    }
}

void tm__promote_metrics(const tm__promote *r, tm_jw *w)
{
    tm_jw_key(w, "promoted");
    tm_jw_bool(w, r->promoted);
    tm_jw_key(w, "promotion_forced");
    tm_jw_bool(w, r->forced);
    tm_jw_key(w, "promotion_active_id");
    tm_jw_int(w, r->active_id);
    tm_jw_key(w, "promotion_window_days");
    tm_jw_int(w, r->e ? (int64_t)r->e->panel.n_days : 0);
    tm_jw_key(w, "promotion_net_spread");
    tm_jw_fixed(w, r->e ? r->e->fixed[0].spread_net : (double)NAN, 6);
    tm_jw_key(w, "promotion_active_net_spread");
    tm_jw_fixed(w, r->e ? r->active.spread_net : (double)NAN, 6);
    tm_jw_key(w, "promotion_random_p95");
    tm_jw_fixed(w, r->band_p95, 6);
    tm_jw_key(w, "flip_share");
    tm_jw_fixed(w, r->flip_share, 4);
    tm_jw_key(w, "flip_days");
    tm_jw_int(w, (int64_t)r->flip_days);
}
