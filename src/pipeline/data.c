/* The data jobs: the feature panel of one as_of day, backfill of training
 * samples from the price history, outcome tracking and sample generation.
 * Each reads only bars dated <= as_of (the features are causal, see
 * src/features) and writes in one transaction with its job result row. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pipeline_int.h"

void tm__pipeline_panel_free(tm__pipeline_panel *panel)
{
    tm_store_prices_free(panel->px);
    tm_store_prices_free(panel->vix);
    tm_free(panel->X);
    memset(panel, 0, sizeof *panel);
}

tm_status tm__pipeline_panel_load(tm_pipeline *p, int32_t as_of, tm__pipeline_panel *panel,
                                  tm_err *err)
{
    memset(panel, 0, sizeof *panel);
    tm_status st = tm_store_prices_load(p->store, NULL, as_of, &panel->px, err);
    if (st == TM_OK) {
        st = tm_store_prices_load(p->store, "^VIX", as_of, &panel->vix, err);
    }
    if (st != TM_OK) {
        goto done;
    }
    tm_store_prices *px = panel->px;
    panel->n_features = tm_features_count();
    panel->X = tm_malloc_n(px->n_rows ? px->n_rows : 1, panel->n_features * sizeof(float));
    if (!panel->X) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory for %zu feature rows",
                    px->n_rows);
        goto done;
    }
    tm_features_bars b = {px->n_symbols, px->start, px->date,  px->open,
                          px->high,      px->low,   px->close, px->volume};
    tm_features_series vix = {panel->vix->n_rows, panel->vix->date, panel->vix->close};
    st = tm_features_table(&b, &vix, panel->X, err);
    for (size_t r = 0; r < px->n_rows; r++) {
        panel->last_date = px->date[r] > panel->last_date ? px->date[r] : panel->last_date;
    }
done:
    if (st != TM_OK) {
        tm__pipeline_panel_free(panel);
    }
    return st;
}

size_t tm__pipeline_panel_row(const tm__pipeline_panel *panel, const char *symbol, int32_t date)
{
    const tm_store_prices *px = panel->px;
    for (size_t k = 0; k < px->n_symbols; k++) {
        if (strcmp(px->symbols[k], symbol) != 0) {
            continue;
        }
        size_t lo = px->start[k], hi = px->start[k + 1];
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (px->date[mid] < date) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        return lo < px->start[k + 1] && px->date[lo] == date ? lo : (size_t)-1;
    }
    return (size_t)-1;
}

/* Classes of the panel's rows under the job's labelling: the absolute
 * thresholds row by row, or the cross-sectional deciles of each day
 * (-1 where a row has none). *out (px->n_rows) is freed with tm_free. */
static tm_status panel_classes(const tm_pipeline *p, const tm_store_prices *px,
                               const tm_features_label_opts *lo, int8_t **out, tm_err *err)
{
    int8_t *cls = tm_malloc_n(px->n_rows ? px->n_rows : 1, 1);
    *out = NULL;
    if (!cls) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory for %zu labels", px->n_rows);
    }
    tm_status st = TM_OK;
    if (p->labels == TM_PIPELINE_LABELS_XS_DECILE) {
        st = tm__pipeline_xs_classes(px, lo->horizon, cls, err);
    } else {
        for (size_t k = 0; k < px->n_symbols; k++) {
            size_t r0 = px->start[k], len = px->start[k + 1] - r0;
            for (size_t t = 0; t < len; t++) {
                double fwd = tm_features_forward_return(px->close + r0, len, t, lo->horizon);
                cls[r0 + t] = isnan(fwd) ? -1 : (int8_t)tm_features_label(fwd, lo);
            }
        }
    }
    if (st != TM_OK) {
        tm_free(cls);
        return st;
    }
    *out = cls;
    return TM_OK;
}

/* Fewest samples per progress line of backfill's write. */
#define BACKFILL_CHUNK_MIN 1000

/* Inserts the n rows in about ten chunks (of at least BACKFILL_CHUNK_MIN),
 * saying on the progress log how far it is. One transaction holds them
 * all, so the result does not depend on the chunks. */
static tm_status insert_samples(tm_pipeline *p, const tm_store_sample_row *rows, size_t n,
                                size_t n_features, size_t *added, tm_err *err)
{
    tm_status st = TM_OK;
    size_t chunk = (n + 9) / 10 > BACKFILL_CHUNK_MIN ? (n + 9) / 10 : BACKFILL_CHUNK_MIN;
    *added = 0;
    for (size_t i = 0; st == TM_OK && i < n; i += chunk) {
        size_t m = n - i < chunk ? n - i : chunk, k = 0;
        st = tm_store_samples_insert(p->store, rows + i, m, n_features, &k, err);
        *added += k;
        if (st == TM_OK) {
            tm__pipeline_log(p, "backfill: %zu of %zu samples written", i + m, n);
        }
    }
    return st;
}

tm_status tm_pipeline_backfill(tm_pipeline *p, int32_t as_of, tm_pipeline_report *rep, tm_err *err)
{
    double t0 = tm_now_seconds();
    tm__pipeline_report_init(rep, "backfill", as_of);
    tm__pipeline_panel panel;
    memset(&panel, 0, sizeof panel);
    tm_store_sample_row *rows = NULL;
    int8_t *cls = NULL;
    tm_features_label_opts lo;
    tm__pipeline_label_opts(p, &lo);
    tm_status st = tm__pipeline_labels(p, true, &p->labels, err);
    if (st != TM_OK) {
        return st;
    }
    tm__pipeline_log(p, "backfill: features");
    st = tm__pipeline_panel_load(p, as_of, &panel, err);
    if (st == TM_OK && panel.px->n_rows == 0) {
        tm__pipeline_panel_free(&panel);
        st = tm__pipeline_no_prices(p, as_of, err);
    }
    if (st != TM_OK) {
        return st;
    }
    tm__pipeline_step(rep, "features", tm_now_seconds() - t0);
    const tm_store_prices *px = panel.px;
    tm__pipeline_log(p, "backfill: features done for %zu stocks, %zu price rows (%.1fs)",
                     px->n_symbols, px->n_rows, tm_now_seconds() - t0);
    size_t warm = tm_features_warmup(), n = 0, counts[3] = {0, 0, 0}, added = 0, unranked = 0;
    rows = tm_malloc_n(px->n_rows ? px->n_rows : 1, sizeof *rows);
    if (!rows) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
        goto done;
    }
    if ((st = panel_classes(p, px, &lo, &cls, err)) != TM_OK) {
        goto done;
    }
    for (size_t k = 0; k < px->n_symbols; k++) {
        size_t r0 = px->start[k], len = px->start[k + 1] - r0;
        for (size_t t = warm; t + lo.horizon < len; t++) {
            if (cls[r0 + t] < 0) {
                unranked++; /* xs-decile: no class that day */
                continue;
            }
            tm_store_sample_row *s = &rows[n++];
            memset(s, 0, sizeof *s);
            memcpy(s->symbol, px->symbols[k], sizeof s->symbol);
            s->date = px->date[r0 + t];
            s->label = cls[r0 + t];
            s->fwd_return = tm_features_forward_return(px->close + r0, len, t, lo.horizon);
            s->features = panel.X + (r0 + t) * panel.n_features;
            s->source = TM_STORE_SAMPLE_BACKFILL;
            counts[s->label]++;
        }
    }
    double t1 = tm_now_seconds();
    if ((st = tm_store_begin(p->store, err)) != TM_OK) {
        goto done;
    }
    st = insert_samples(p, rows, n, panel.n_features, &added, err);
    if (st == TM_OK && n > 0) {
        st = tm__pipeline_labels_record(p, p->labels, err);
    }
    tm__pipeline_say(rep,
                     "backfill: %zu samples from %zu stocks up to " TM__YMD_FMT " (%zu new), "
                     "labels SELL %.1f%% HOLD %.1f%% BUY %.1f%%%s\n",
                     n, px->n_symbols, TM__YMD(panel.last_date), added,
                     n ? 100.0 * (double)counts[0] / (double)n : 0.0,
                     n ? 100.0 * (double)counts[1] / (double)n : 0.0,
                     n ? 100.0 * (double)counts[2] / (double)n : 0.0,
                     p->labels == TM_PIPELINE_LABELS_XS_DECILE ? " (xs-decile)" : "");
    if (unranked) {
        tm__pipeline_say(rep,
                         "  %zu (stock, day) rows left out: no cross-sectional class (under %d "
                         "days of returns, or under %d such stocks that day)\n",
                         unranked, TM_FEATURES_VOL_WINDOW, TM_FEATURES_XS_MIN_STOCKS);
    }
    st = tm__pipeline_finish(p, st, rep, t0, err);
    tm__pipeline_step(rep, "write", tm_now_seconds() - t1);
done:
    tm_free(rows);
    tm_free(cls);
    tm__pipeline_panel_free(&panel);
    return st;
}

/* What the tracker does with one open signal. */
typedef enum settle {
    SETTLE_DONE,     /* *o filled: insert it */
    SETTLE_PENDING,  /* no price row for it, or its horizon is not over */
    SETTLE_GAP,      /* the stock's horizon-th next bar is too far away */
    SETTLE_UNRANKED, /* xs-decile: its day has no cross-sectional class for it */
} settle;

/* Settles sig from the price panel (cls: each row's class, -1 none; cal:
 * the universe's trading dates). The stock's horizon-th next bar must
 * come within the horizon plus a few market days: a gap in its history
 * (a halt, missing rows) would settle the signal on a far later price. */
static settle settle_one(const tm__pipeline_panel *view, const int8_t *cls, const int32_t *cal,
                         size_t n_cal, size_t horizon, const tm_store_signal *sig,
                         tm_store_outcome *o)
{
    const tm_store_prices *px = view->px;
    size_t r = tm__pipeline_panel_row(view, sig->symbol, sig->date);
    if (r == (size_t)-1) {
        return SETTLE_PENDING;
    }
    size_t k = 0;
    while (px->start[k + 1] <= r) {
        k++;
    }
    if (r + horizon >= px->start[k + 1]) {
        return SETTLE_PENDING; /* horizon not over by as_of */
    }
    size_t c0 = tm__pipeline_date_lower_bound(cal, n_cal, sig->date);
    size_t c1 = tm__pipeline_date_lower_bound(cal, n_cal, px->date[r + horizon]);
    if (c1 - c0 > horizon + TM__PIPELINE_OUTCOME_SLACK_DAYS) {
        return SETTLE_GAP;
    }
    if (cls[r] < 0) {
        return SETTLE_UNRANKED;
    }
    o->exit_date = px->date[r + horizon];
    o->exit_price = px->close[r + horizon];
    o->ret = o->exit_price / px->close[r] - 1;
    o->actual = cls[r];
    o->correct = o->actual == sig->label;
    return SETTLE_DONE;
}

tm_status tm_pipeline_track_outcomes(tm_pipeline *p, int32_t as_of, tm_pipeline_report *rep,
                                     tm_err *err)
{
    double t0 = tm_now_seconds();
    tm__pipeline_report_init(rep, "outcome_tracker", as_of);
    tm_store_signal *sig = NULL;
    tm_store_prices *px = NULL;
    int32_t *cal = NULL; /* the universe's trading dates up to as_of */
    int8_t *cls = NULL;  /* each price row's class under the database's labelling */
    size_t n = 0, done_n = 0, correct = 0, n_cal = 0, n_gap = 0, n_unranked = 0;
    tm_features_label_opts lo;
    tm__pipeline_label_opts(p, &lo);
    tm_status st = tm__pipeline_labels(p, false, &p->labels, err);
    if (st == TM_OK) {
        st = tm_store_prices_load(p->store, NULL, as_of, &px, err);
    }
    if (st == TM_OK) {
        st = panel_classes(p, px, &lo, &cls, err);
    }
    if (st == TM_OK) {
        st = tm_store_trading_dates(p->store, as_of, &cal, &n_cal, err);
    }
    if (st == TM_OK) {
        st = tm_store_signals_untracked(p->store, as_of, &sig, &n, err);
    }
    if (st == TM_OK) {
        st = tm_store_begin(p->store, err);
    }
    if (st != TM_OK) {
        goto done;
    }
    tm__pipeline_panel view = {.px = px};
    for (size_t i = 0; i < n && st == TM_OK; i++) {
        tm_store_outcome o = {.signal_id = sig[i].id};
        settle s = settle_one(&view, cls, cal, n_cal, lo.horizon, &sig[i], &o);
        n_gap += s == SETTLE_GAP;
        n_unranked += s == SETTLE_UNRANKED;
        if (s == SETTLE_DONE) {
            st = tm_store_outcome_insert(p->store, &o, err);
            done_n++;
            correct += o.correct;
        }
    }
    tm__pipeline_say(rep, "outcome_tracker: %zu of %zu open signals tracked, %zu correct\n", done_n,
                     n, correct);
    if (n_gap) {
        tm__pipeline_say(rep,
                         "  %zu left open: the stock's next %zu bars span more than %zu market "
                         "days (a gap in its prices)\n",
                         n_gap, lo.horizon, lo.horizon + TM__PIPELINE_OUTCOME_SLACK_DAYS);
    }
    if (n_unranked) {
        tm__pipeline_say(rep,
                         "  %zu left open: no cross-sectional class on their day (under %d days "
                         "of returns, or under %d such stocks)\n",
                         n_unranked, TM_FEATURES_VOL_WINDOW, TM_FEATURES_XS_MIN_STOCKS);
    }
    if (st == TM_OK && done_n > 0) {
        st = tm__pipeline_labels_record(p, p->labels, err);
    }
    st = tm__pipeline_finish(p, st, rep, t0, err);
done:
    tm_free(sig);
    tm_free(cal);
    tm_free(cls);
    tm_store_prices_free(px);
    return st;
}

/* Price-history samples of the days before the first signal whose label
 * is known by the panel's last date: the days between the backfill's
 * horizon cut-off and the first scan, which no outcome covers. Appends to
 * rows at *m (room for every panel row). */
static void gap_rows(const tm__pipeline_panel *panel, const tm_features_label_opts *lo,
                     const int8_t *cls, int32_t before, tm_store_sample_row *rows, size_t *m)
{
    const tm_store_prices *px = panel->px;
    size_t warm = tm_features_warmup();
    for (size_t k = 0; k < px->n_symbols; k++) {
        size_t r0 = px->start[k], len = px->start[k + 1] - r0;
        for (size_t t = warm; t + lo->horizon < len && px->date[r0 + t] < before; t++) {
            if (cls[r0 + t] < 0) {
                continue; /* xs-decile: no class that day */
            }
            tm_store_sample_row *s = &rows[(*m)++];
            memset(s, 0, sizeof *s);
            memcpy(s->symbol, px->symbols[k], sizeof s->symbol);
            s->date = px->date[r0 + t];
            s->fwd_return = tm_features_forward_return(px->close + r0, len, t, lo->horizon);
            s->label = cls[r0 + t];
            s->features = panel->X + (r0 + t) * panel->n_features;
            s->source = TM_STORE_SAMPLE_BACKFILL;
        }
    }
}

tm_status tm_pipeline_generate_samples(tm_pipeline *p, int32_t as_of, tm_pipeline_report *rep,
                                       tm_err *err)
{
    double t0 = tm_now_seconds();
    tm__pipeline_report_init(rep, "sample_generator", as_of);
    tm_store_signal *sig = NULL;
    tm_store_outcome *oc = NULL;
    tm_store_sample_row *rows = NULL;
    int8_t *cls = NULL;
    size_t n = 0, m = 0, added = 0, added_gap = 0;
    int32_t first = 0;
    tm_features_label_opts lo;
    tm__pipeline_label_opts(p, &lo);
    tm__pipeline_panel panel;
    memset(&panel, 0, sizeof panel);
    tm_status st = tm__pipeline_labels(p, true, &p->labels, err);
    if (st == TM_OK) {
        st = tm_store_outcomes_unsampled(p->store, as_of, &sig, &oc, &n, err);
    }
    if (st == TM_OK) {
        st = tm_store_signals_first_date(p->store, &first, err);
    }
    if (st == TM_OK) {
        st = tm__pipeline_panel_load(p, as_of, &panel, err);
    }
    if (st == TM_OK && !(rows = tm_malloc_n(n + panel.px->n_rows + 1, sizeof *rows))) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    if (st == TM_OK) {
        st = panel_classes(p, panel.px, &lo, &cls, err);
    }
    if (st != TM_OK) {
        goto done;
    }
    size_t warm = tm_features_warmup();
    for (size_t i = 0; i < n; i++) {
        size_t r = tm__pipeline_panel_row(&panel, sig[i].symbol, sig[i].date);
        if (r == (size_t)-1) {
            continue;
        }
        size_t k = 0;
        while (panel.px->start[k + 1] <= r) {
            k++;
        }
        if (r - panel.px->start[k] < warm) {
            continue; /* features not defined yet */
        }
        tm_store_sample_row *s = &rows[m++];
        memset(s, 0, sizeof *s);
        memcpy(s->symbol, sig[i].symbol, sizeof s->symbol);
        s->date = sig[i].date;
        s->label = oc[i].actual;
        s->fwd_return = oc[i].ret;
        s->features = panel.X + r * panel.n_features;
        s->source = TM_STORE_SAMPLE_OUTCOME;
        s->signal_id = sig[i].id;
    }
    size_t m_out = m;
    gap_rows(&panel, &lo, cls, first ? first : INT32_MAX, rows, &m);
    if ((st = tm_store_begin(p->store, err)) != TM_OK) {
        goto done;
    }
    st = tm_store_samples_insert(p->store, rows, m_out, panel.n_features, &added, err);
    if (st == TM_OK) {
        st = tm_store_samples_insert(p->store, rows + m_out, m - m_out, panel.n_features,
                                     &added_gap, err);
    }
    if (st == TM_OK && m > 0) {
        st = tm__pipeline_labels_record(p, p->labels, err);
    }
    tm__pipeline_say(rep,
                     "sample_generator: %zu tracked outcomes -> %zu new training samples; "
                     "%zu from the price history before the first signal\n",
                     n, added, added_gap);
    st = tm__pipeline_finish(p, st, rep, t0, err);
done:
    tm_free(sig);
    tm_free(oc);
    tm_free(rows);
    tm_free(cls);
    tm__pipeline_panel_free(&panel);
    return st;
}
