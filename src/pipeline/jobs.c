/* The scoring and training jobs as transactions: overnight scan, meta
 * retrain (with the 42-day gate), model retrain, rollback of the
 * meta-learner, the registry and signal reports, and the job dispatch. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "decide_int.h"
#include "pipeline_int.h"
#include "promote_int.h"

/* Everything one overnight scan reads and makes; scan_job_free releases it. */
typedef struct scan_job {
    int32_t as_of;
    int32_t day;              /* the latest trading day at as_of: the one scored */
    tm__pipeline_models m;    /* active base models */
    tm_forest *meta;          /* active meta-learner */
    tm_store_model meta_row;  /* its registry row */
    tm__pipeline_panel panel; /* features of every (stock, day) up to as_of */
    size_t M, W, F;           /* base models, meta features, features */
    size_t n;                 /* stocks scored */
    size_t *rows;             /* their panel rows (n) */
    double *Xd, *P, *Z, *Q;   /* n rows of features, base probs, meta features, meta probs */
    tm__decide_rule rule;     /* the meta-learner's own decision rule (when has_rule) */
    bool has_rule;            /* false: none stored (an older model): the argmax decides */
    int *label;               /* n decided classes */
    uint8_t *capped;          /* n: a BUY/SELL turned HOLD by the day's cap */
    double *cal;              /* n x 3 calibrated probabilities (NaN without a rule) */
    size_t counts[3];         /* signals per class */
    size_t uncapped[3];       /* signals per class before the cap */
} scan_job;

static void scan_job_free(scan_job *j)
{
    tm__pipeline_models_free(&j->m);
    tm__pipeline_panel_free(&j->panel);
    tm_forest_free(j->meta);
    tm_free(j->rows);
    tm_free(j->Xd);
    tm_free(j->P);
    tm_free(j->Z);
    tm_free(j->Q);
    tm__decide_rule_fini(&j->rule);
    tm_free(j->label);
    tm_free(j->capped);
    tm_free(j->cal);
}

/* True (in *done) when the latest trading day at as_of already has
 * signals: weekends and holidays score nothing new. */
static tm_status already_scored(tm_pipeline *p, scan_job *j, size_t *n_old, tm_err *err)
{
    tm_store_signal *old = NULL;
    *n_old = 0;
    tm_status st = tm_store_prices_last_date(p->store, j->as_of, &j->day, err);
    if (st == TM_OK) {
        st = tm_store_signals_on(p->store, j->day, &old, n_old, err);
    }
    tm_free(old);
    return st;
}

/* Models, meta-learner and features of the day, and the buffers for the
 * stocks to score. Point in time: the meta-learner of as_of, with its own
 * base models. */
static tm_status load_scan_inputs(tm_pipeline *p, scan_job *j, tm_pipeline_report *rep, tm_err *err)
{
    tm_status st = tm__pipeline_meta_load(p, j->as_of, &j->meta, &j->meta_row, rep, err);
    if (st == TM_OK) {
        st = tm__pipeline_models_load(p, j->as_of, j->meta_row.generation, &j->m, rep, err);
    }
    if (st == TM_OK) {
        st = tm__pipeline_rule_load(p, &j->meta_row, &j->rule, &j->has_rule, err);
    }
    if (st == TM_OK) {
        st = tm__pipeline_panel_load(p, j->as_of, &j->panel, err);
    }
    if (st != TM_OK) {
        return st;
    }
    size_t n_max = j->panel.px->n_symbols + 1;
    j->M = j->m.n_base;
    j->W = tm_features_meta_count(j->M);
    j->F = j->panel.n_features;
    j->rows = tm_malloc_n(n_max, sizeof *j->rows);
    j->Xd = tm_malloc_n(n_max, j->F * sizeof(double));
    j->P = tm_malloc_n(n_max, 3 * j->M * sizeof(double));
    j->Z = tm_malloc_n(n_max, j->W * sizeof(double));
    j->Q = tm_malloc_n(n_max, 3 * sizeof(double));
    j->label = tm_malloc_n(n_max, sizeof *j->label);
    j->capped = tm_malloc(n_max);
    j->cal = tm_malloc_n(n_max, 3 * sizeof(double));
    if (!j->rows || !j->Xd || !j->P || !j->Z || !j->Q || !j->label || !j->capped || !j->cal) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    return TM_OK;
}

/* The stocks with a bar on the day and enough history for the features;
 * their feature rows as doubles in Xd. */
static void select_stocks(scan_job *j)
{
    const tm_store_prices *px = j->panel.px;
    for (size_t k = 0; k < px->n_symbols; k++) {
        size_t last = px->start[k + 1];
        if (last > px->start[k] && px->date[last - 1] == j->day &&
            last - 1 - px->start[k] >= tm_features_warmup()) {
            for (size_t f = 0; f < j->F; f++) {
                j->Xd[j->n * j->F + f] = (double)j->panel.X[(last - 1) * j->F + f];
            }
            j->rows[j->n++] = last - 1;
        }
    }
}

/* Base probabilities, meta features, meta-learner probabilities. */
static tm_status score(tm_pipeline *p, scan_job *j, tm_err *err)
{
    tm_status st = tm__pipeline_base_probs(p, &j->m, j->Xd, j->n, j->F, j->P, err);
    if (st != TM_OK) {
        return st;
    }
    for (size_t i = 0; i < j->n; i++) {
        tm_features_meta(j->P + i * 3 * j->M, j->M, j->Z + i * j->W);
    }
    st = tm_forest_predict(j->meta, j->Z, j->n, j->W, TM_FOREST_OUT_PROBABILITY, p->o.n_threads,
                           j->Q, err);
    const tm__decide_rule *r = j->has_rule ? &j->rule : NULL;
    if (st == TM_OK) { /* once without the cap, to report what it held back */
        st = tm__decide_apply(r, j->Q, NULL, j->n, 0, j->label, NULL, NULL, err);
    }
    for (size_t i = 0; st == TM_OK && i < j->n; i++) {
        j->uncapped[j->label[i]]++;
    }
    if (st == TM_OK) {
        st = tm__decide_apply(r, j->Q, NULL, j->n, p->o.max_signals, j->label, j->capped, j->cal,
                              err);
    }
    return st;
}

/* One signal per scored stock: the class the meta-learner's decision rule
 * (or, without one, the most probable class) gave, after the cap. */
static tm_status write_signals(tm_pipeline *p, scan_job *j, tm_err *err)
{
    const tm_store_prices *px = j->panel.px;
    tm_status st = TM_OK;
    for (size_t i = 0, k = 0; i < j->n && st == TM_OK; i++) {
        tm_store_signal s;
        memset(&s, 0, sizeof s);
        while (px->start[k + 1] <= j->rows[i]) {
            k++;
        }
        memcpy(s.symbol, px->symbols[k], sizeof s.symbol);
        s.date = j->day;
        memcpy(s.prob, j->Q + 3 * i, sizeof s.prob);
        memcpy(s.cal, j->cal + 3 * i, sizeof s.cal);
        s.label = j->label[i];
        s.decision = j->has_rule ? TM_STORE_DECIDED_RULE : TM_STORE_DECIDED_ARGMAX;
        s.capped = j->capped[i] != 0;
        s.price = px->close[j->rows[i]];
        s.model_id = j->meta_row.id;
        st = tm_store_signal_insert(p->store, &s, err);
        j->counts[s.label]++;
        if (i == j->n / 2) {
            tm_test_point("scan");
        }
    }
    return st;
}

/* The scan's summary: the counts, what decided them, the cap, and a day
 * that puts more than half the stocks scored on one side. */
static void scan_report(const tm_pipeline *p, const scan_job *j, tm_pipeline_report *rep)
{
    static const char *const cls[3] = {"SELL", "HOLD", "BUY"};
    tm__pipeline_say(rep,
                     "overnight_scan as of " TM__YMD_FMT ": %zu stocks scored for " TM__YMD_FMT
                     ": BUY %zu, HOLD %zu, SELL %zu (meta model %lld)\n",
                     TM__YMD(j->as_of), j->n, TM__YMD(j->day), j->counts[2], j->counts[1],
                     j->counts[0], (long long)j->meta_row.id);
    if (!j->has_rule) {
        tm__pipeline_say(rep,
                         "  no decision rule stored with meta model %lld (trained before rules "
                         "were kept): the most probable class decides\n",
                         (long long)j->meta_row.id);
    } else {
        tm__pipeline_say(rep, "  decision rule of meta model %lld (target precision %.2f):",
                         (long long)j->meta_row.id, j->rule.target);
        for (int c = 2; c >= 0; c -= 2) {
            if (isinf(j->rule.threshold[c])) {
                tm__pipeline_say(rep, " %s abstains%s", cls[c], c ? ";" : "\n");
            } else {
                tm__pipeline_say(rep, " %s at calibrated p >= %.3f%s", cls[c], j->rule.threshold[c],
                                 c ? ";" : "\n");
            }
        }
    }
    if (p->o.max_signals > 0) {
        tm__pipeline_say(rep,
                         "  cap: at most %d BUY and %d SELL a day; held back as HOLD: %zu BUY, "
                         "%zu SELL\n",
                         p->o.max_signals, p->o.max_signals, j->uncapped[2] - j->counts[2],
                         j->uncapped[0] - j->counts[0]);
    }
    for (int c = 2; c >= 0; c -= 2) {
        if (2 * j->uncapped[c] > j->n) {
            tm__pipeline_say(rep,
                             "  one-sided day: %s for %zu of %zu stocks before the cap (more than "
                             "half the universe), %zu issued\n",
                             cls[c], j->uncapped[c], j->n, j->counts[c]);
        }
    }
}

/* The overnight scan: every stock with a bar on the latest trading day at
 * as_of gets a signal from the active models, in one transaction; a day
 * already scored is skipped (unless --force). */
tm_status tm_pipeline_scan(tm_pipeline *p, int32_t as_of, tm_pipeline_report *rep, tm_err *err)
{
    double t0 = tm_now_seconds();
    tm__pipeline_report_init(rep, "overnight_scan", as_of);
    scan_job j;
    memset(&j, 0, sizeof j);
    j.as_of = as_of;
    size_t n_old = 0;
    tm_status st = already_scored(p, &j, &n_old, err);
    if (st == TM_OK && j.day == 0) {
        st = tm__pipeline_no_prices(p, as_of, err);
    }
    if (st == TM_OK && n_old > 0 && !p->o.force) {
        if ((st = tm_store_begin(p->store, err)) == TM_OK) {
            snprintf(rep->status, sizeof rep->status, "skipped");
            tm__pipeline_say(rep,
                             "overnight_scan as of " TM__YMD_FMT ": signals for " TM__YMD_FMT
                             " exist (%zu); nothing to do\n",
                             TM__YMD(as_of), TM__YMD(j.day), n_old);
            st = tm__pipeline_finish(p, TM_OK, rep, t0, err);
        }
        return st;
    }
    if (st == TM_OK) {
        st = load_scan_inputs(p, &j, rep, err);
    }
    if (st != TM_OK || (st = tm_store_begin(p->store, err)) != TM_OK) {
        scan_job_free(&j);
        return st;
    }
    tm__pipeline_step(rep, "features", tm_now_seconds() - t0);
    select_stocks(&j);
    if ((st = score(p, &j, err)) == TM_OK && (st = write_signals(p, &j, err)) == TM_OK) {
        scan_report(p, &j, rep);
    }
    st = tm__pipeline_finish(p, st, rep, t0, err);
    scan_job_free(&j);
    return st;
}

/* The gate: days since the last successful meta or model retrain. */
static tm_status gate_days(tm_pipeline *p, int32_t as_of, int64_t *days, int32_t *last, tm_err *err)
{
    tm_store_job_result a, b;
    bool fa = false, fb = false;
    tm_status st = tm_store_job_result_last(p->store, "meta_retrain", "ok", &a, &fa, err);
    if (st == TM_OK) {
        st = tm_store_job_result_last(p->store, "model_retrain", "ok", &b, &fb, err);
    }
    *last = 0;
    if (fa) {
        *last = a.as_of;
    }
    if (fb && b.as_of > *last) {
        *last = b.as_of;
    }
    *days = *last ? tm_ymd_days(as_of) - tm_ymd_days(*last) : INT64_MAX;
    return st;
}

tm_status tm_pipeline_meta_retrain(tm_pipeline *p, int32_t as_of, tm_pipeline_report *rep,
                                   tm_err *err)
{
    double t0 = tm_now_seconds();
    tm__pipeline_report_init(rep, "meta_retrain", as_of);
    int64_t days = 0;
    int32_t last = 0;
    tm_status st = gate_days(p, as_of, &days, &last, err);
    if (st == TM_OK) {
        st = tm_store_begin(p->store, err);
    }
    if (st != TM_OK) {
        return st;
    }
    if (days < p->o.gate_days && !p->o.force) {
        snprintf(rep->status, sizeof rep->status, "skipped");
        tm__pipeline_say(rep,
                         "meta_retrain as of " TM__YMD_FMT
                         ": skipped, the last retrain (" TM__YMD_FMT ") is %lld days "
                         "old, the gate is %d days (--force bypasses it)\n",
                         TM__YMD(as_of), TM__YMD(last), (long long)days, p->o.gate_days);
        return tm__pipeline_finish(p, TM_OK, rep, t0, err);
    }
    st = tm__pipeline_gc(p, rep, err);
    st = st == TM_OK ? tm__pipeline_meta_core(p, as_of, rep, err) : st;
    return tm__pipeline_finish(p, st, rep, t0, err);
}

tm_status tm_pipeline_model_retrain(tm_pipeline *p, int32_t as_of, tm_pipeline_report *rep,
                                    tm_err *err)
{
    double t0 = tm_now_seconds();
    tm__pipeline_report_init(rep, "model_retrain", as_of);
    tm_status st = tm_store_begin(p->store, err);
    if (st != TM_OK) {
        return st;
    }
    st = tm__pipeline_gc(p, rep, err);
    st = st == TM_OK ? tm__pipeline_base_core(p, as_of, rep, err) : st;
    if (st == TM_OK) {
        double t1 = tm_now_seconds();
        st = tm__pipeline_meta_core(p, as_of, rep, err);
        tm__pipeline_step(rep, "meta_retrain", tm_now_seconds() - t1);
    }
    return tm__pipeline_finish(p, st, rep, t0, err);
}

tm_status tm_pipeline_rollback(tm_pipeline *p, tm_pipeline_report *rep, tm_err *err)
{
    double t0 = tm_now_seconds();
    tm__pipeline_report_init(rep, "model_rollback", 0);
    tm_store_model *h = NULL;
    size_t n = 0;
    tm_status st = tm_store_models_history(p->store, "meta", 0, &h, &n, err);
    if (st == TM_OK) {
        st = tm_store_begin(p->store, err);
    }
    if (st != TM_OK) {
        tm_free(h);
        return st;
    }
    size_t cur = n;
    for (size_t i = 0; i < n; i++) {
        if (h[i].active) {
            cur = i;
            break;
        }
    }
    size_t prev = n;
    for (size_t i = cur == n ? 0 : cur + 1; i < n; i++) {
        char path[TM__PIPELINE_PATH_LEN];
        if (!tm__promote_refused(&h[i]) &&
            access(tm__pipeline_model_path(p, h[i].file, path, sizeof path), R_OK) == 0) {
            prev = i;
            break;
        }
    }
    if (prev == n) {
        st = TM_ERR(err, TM_E_INVALID, p->db_path, 0, "models",
                    "expected an older meta-learner to roll back to, found none");
    } else {
        rep->as_of = h[prev].as_of;
        st = tm_store_model_activate(p->store, h[prev].id, err);
        /* The meta-learner reads its own generation's base models. */
        tm_store_model *base = NULL;
        size_t nb = 0;
        if (st == TM_OK) {
            st = tm_store_models_generation(p->store, "base", h[prev].generation, &base, &nb, err);
        }
        for (size_t i = 0; i < nb && st == TM_OK; i++) {
            if (!base[i].active) {
                st = tm_store_model_activate(p->store, base[i].id, err);
            }
        }
        tm_free(base);
        tm__pipeline_say(rep,
                         "model rollback: meta-learner %lld (%s, as of " TM__YMD_FMT
                         ") is active again"
                         "%s%lld\n",
                         (long long)h[prev].id, h[prev].file, TM__YMD(h[prev].as_of),
                         cur < n ? "; was " : "", cur < n ? (long long)h[cur].id : 0LL);
    }
    tm_free(h);
    return tm__pipeline_finish(p, st, rep, t0, err);
}

/* One registry row as two report lines. */
static void say_model(tm_pipeline_report *rep, const char *kind, const tm_store_model *m, bool all)
{
    tm__pipeline_say(rep, "%-4s %2d %-16s %-9s as of " TM__YMD_FMT "%s  %s\n     %s\n", kind,
                     m->slot, m->name, m->family, TM__YMD(m->as_of),
                     !all        ? ""
                     : m->active ? "  active"
                                 : "  inactive",
                     m->file, m->metrics);
}

tm_status tm_pipeline_models_report(tm_pipeline *p, bool all, tm_pipeline_report *rep, tm_err *err)
{
    tm__pipeline_report_init(rep, "models", 0);
    static const char *const kinds[2] = {"base", "meta"};
    tm_status st = TM_OK;
    for (int k = 0; k < 2 && st == TM_OK; k++) {
        tm_store_model *m = NULL;
        size_t n = 0;
        st = tm_store_models_active(p->store, kinds[k], &m, &n, err);
        for (size_t i = 0; i < n && st == TM_OK; i++) {
            if (!all) {
                say_model(rep, kinds[k], &m[i], false);
                continue;
            }
            tm_store_model *h = NULL;
            size_t nh = 0;
            st = tm_store_models_history(p->store, kinds[k], m[i].slot, &h, &nh, err);
            for (size_t r = 0; r < nh && st == TM_OK; r++) {
                say_model(rep, kinds[k], &h[r], true);
            }
            tm_free(h);
        }
        tm_free(m);
    }
    return st;
}

/* One line on how a day's signals were decided: by their meta model's
 * decision rule, by the argmax fallback, or both (rescored days). */
static void say_decided(const tm_store_signal *s, size_t n, tm_pipeline_report *rep)
{
    size_t by_rule = 0, capped = 0;
    for (size_t i = 0; i < n; i++) {
        by_rule += s[i].decision == TM_STORE_DECIDED_RULE;
        capped += s[i].capped;
    }
    if (by_rule == n) {
        tm__pipeline_say(rep,
                         "  decided by the meta-learner's decision rule (calibrated probabilities "
                         "against thresholds chosen for a target precision)");
    } else if (by_rule == 0) {
        tm__pipeline_say(rep, "  decided by the most probable class: the meta-learner has no "
                              "decision rule (trained before rules were kept)");
    } else {
        tm__pipeline_say(rep,
                         "  decided by the decision rule for %zu stocks, by the most probable "
                         "class for %zu",
                         by_rule, n - by_rule);
    }
    tm__pipeline_say(rep, "; %zu BUY/SELL held back as HOLD by the day's cap\n", capped);
}

tm_status tm_pipeline_signals_report(tm_pipeline *p, int32_t date, tm_pipeline_report *rep,
                                     tm_err *err)
{
    static const char *const cls[3] = {"SELL", "HOLD", "BUY"};
    tm__pipeline_report_init(rep, "signals", date);
    tm_store_signal *s = NULL;
    size_t n = 0;
    tm_status st = TM_OK;
    if (date == 0) {
        st = tm_store_signals_last_date(p->store, &date, err);
    }
    if (st == TM_OK) {
        st = tm_store_signals_on(p->store, date, &s, &n, err);
    }
    if (st != TM_OK) {
        return st;
    }
    if (date == 0) {
        tm__pipeline_say(rep, "no signals yet (run scan)\n");
    } else {
        tm__pipeline_say(rep, "signals for " TM__YMD_FMT " (%zu stocks), BUY and SELL first:\n",
                         TM__YMD(date), n);
        if (n > 0) {
            say_decided(s, n, rep);
        }
    }
    static const int order[3] = {2, 0, 1}; /* BUY, SELL, then HOLD */
    for (int o = 0; o < 3; o++) {
        int want = order[o];
        size_t shown = 0, total = 0;
        for (size_t i = 0; i < n; i++) {
            if (s[i].label != want) {
                continue;
            }
            if (shown++ < 10) {
                char how[96];
                if (s[i].decision == TM_STORE_DECIDED_RULE) {
                    snprintf(how, sizeof how, "rule: calibrated p(sell) %.3f p(buy) %.3f%s",
                             s[i].cal[0], s[i].cal[2], s[i].capped ? ", capped" : "");
                } else {
                    snprintf(how, sizeof how, "argmax%s", s[i].capped ? ", capped" : "");
                }
                tm__pipeline_say(rep,
                                 "  %-6s %-4s  p(sell) %.3f  p(hold) %.3f  p(buy) %.3f  "
                                 "close %.2f  %s\n",
                                 s[i].symbol, cls[want], s[i].prob[0], s[i].prob[1], s[i].prob[2],
                                 s[i].price, how);
            }
            total++;
        }
        if (total > 10) {
            tm__pipeline_say(rep, "  ... and %zu more %s\n", total - 10, cls[want]);
        }
    }
    tm_free(s);
    tm_store_job_result a, b;
    bool fa = false, fb = false;
    st = tm_store_job_result_last(p->store, "meta_retrain", "ok", &a, &fa, err);
    if (st == TM_OK) {
        st = tm_store_job_result_last(p->store, "model_retrain", "ok", &b, &fb, err);
    }
    if (st == TM_OK && (fa || fb)) {
        const tm_store_job_result *r = fa && (!fb || a.id > b.id) ? &a : &b;
        tm__pipeline_say(rep, "\nlast retrain (%s, as of " TM__YMD_FMT "):\n%s", r->job,
                         TM__YMD(r->as_of), r->summary);
    }
    return st;
}

tm_status tm_pipeline_run_job(tm_pipeline *p, const char *job, int32_t as_of,
                              tm_pipeline_report *rep, tm_err *err)
{
    static const struct {
        const char *job, *cmd;
        tm_status (*fn)(tm_pipeline *, int32_t, tm_pipeline_report *, tm_err *);
    } jobs[] = {
            {"overnight_scan", "scan", tm_pipeline_scan},
            {"outcome_tracker", "track-outcomes", tm_pipeline_track_outcomes},
            {"sample_generator", "generate-samples", tm_pipeline_generate_samples},
            {"meta_retrain", "meta-retrain", tm_pipeline_meta_retrain},
            {"model_retrain", "model-retrain", tm_pipeline_model_retrain},
    };
    for (size_t i = 0; i < sizeof jobs / sizeof jobs[0]; i++) {
        if (strcmp(job, jobs[i].job) == 0 || strcmp(job, jobs[i].cmd) == 0) {
            return jobs[i].fn(p, as_of, rep, err);
        }
    }
    return TM_ERR(err, TM_E_INVALID, NULL, 0, "job", "expected a pipeline job name, found \"%s\"",
                  job);
}
