/* The evaluation as text (the command's summary: system vs baselines,
 * the random band, the month table, the verdict) and as JSON (every
 * figure of every method, the random band's 5/50/95% quantiles, the
 * reliability table and the confidence deciles). NaN figures (no calls,
 * too few days) print as "-" and as null. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/eval_int.h"
#include "pipeline/pipeline_int.h"

/* The scalar figures of a result by name: the JSON keys and the random
 * band share this table. */
const tm__eval_field tm__eval_fields[] = {
        {"spread_gross", offsetof(tm__eval_result, spread_gross)},
        {"spread_net", offsetof(tm__eval_result, spread_net)},
        {"spread_t", offsetof(tm__eval_result, spread_t)},
        {"calls_per_day", offsetof(tm__eval_result, calls_mean)},
        {"turnover", offsetof(tm__eval_result, turnover)},
        {"ann_gross", offsetof(tm__eval_result, ann_gross)},
        {"ann_net", offsetof(tm__eval_result, ann_net)},
        {"sharpe_net", offsetof(tm__eval_result, sharpe_net)},
        {"max_drawdown", offsetof(tm__eval_result, max_drawdown)},
        {"ic_mean", offsetof(tm__eval_result, ic_mean)},
        {"ic_t", offsetof(tm__eval_result, ic_t)},
        {"common_share", offsetof(tm__eval_result, common_share)},
        {"buy_precision", offsetof(tm__eval_result, cls[2].precision)},
        {"sell_precision", offsetof(tm__eval_result, cls[0].precision)},
        {"buy_mean_ret", offsetof(tm__eval_result, cls[2].mean_ret)},
        {"sell_mean_ret", offsetof(tm__eval_result, cls[0].mean_ret)},
};
const size_t tm__eval_n_fields = sizeof tm__eval_fields / sizeof tm__eval_fields[0];

double tm__eval_get(const tm__eval_result *r, size_t off)
{
    double x;
    memcpy(&x, (const char *)r + off, sizeof x);
    return x;
}

/* Number formats of the summary: digits after the point, a sign, x 100
 * with a % sign. */
typedef enum numfmt { F3, F2, S2, S3, PCT1, PCT2, SPCT1, SPCT2, PCT0 } numfmt;

/* x in format k, "-" when NaN; returns out. */
static const char *num(char *out, size_t cap, numfmt k, double x)
{
    static const struct {
        int dec;
        bool sign, pct;
    } f[] = {{3, false, false}, {2, false, false}, {2, true, false},
             {3, true, false},  {1, false, true},  {2, false, true},
             {1, true, true},   {2, true, true},   {0, false, true}};
    if (isnan(x)) {
        snprintf(out, cap, "-");
    } else if (f[k].sign) {
        snprintf(out, cap, "%+.*f%s", f[k].dec, f[k].pct ? 100 * x : x, f[k].pct ? "%" : "");
    } else {
        snprintf(out, cap, "%.*f%s", f[k].dec, f[k].pct ? 100 * x : x, f[k].pct ? "%" : "");
    }
    return out;
}

static void method_row(tm_buf *t, const char *name, const tm__eval_result *r)
{
    char a[8][24], prec[2][80];
    for (int j = 0; j < 2; j++) {
        const tm__eval_class *c = &r->cls[j ? 2 : 0];
        char p[24], lo[24], hi[24];
        snprintf(prec[j], sizeof prec[j], "%s [%s,%s]", num(p, sizeof p, F3, c->precision),
                 num(lo, sizeof lo, F2, c->ci_lo), num(hi, sizeof hi, F2, c->ci_hi));
        if (c->n == 0) {
            snprintf(prec[j], sizeof prec[j], "-");
        }
    }
    tm_buf_printf(
            t, "%-14s %5zu/%-5zu %-19s %-19s %8s %6s %8s %6s %7s %6s %6s\n", name, r->cls[2].n,
            r->cls[0].n, prec[1], prec[0], num(a[0], sizeof a[0], SPCT2, r->spread_net),
            num(a[1], sizeof a[1], S2, r->spread_t), num(a[2], sizeof a[2], SPCT1, r->ann_net),
            num(a[3], sizeof a[3], S2, r->sharpe_net),
            num(a[4], sizeof a[4], PCT1, r->max_drawdown), num(a[5], sizeof a[5], S3, r->ic_mean),
            num(a[6], sizeof a[6], S2, r->ic_t));
}

static void random_row(tm_buf *t, const tm_pipeline_eval *e)
{
    const char *keys[] = {"buy_precision", "sell_precision", "spread_net", "ann_net", "sharpe_net"};
    const numfmt fmt[] = {F3, F3, SPCT2, SPCT1, S2};
    tm_buf_printf(t, "random (%d seeds, system's daily counts), 5%%..95%%:", e->o.n_seeds);
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        for (size_t f = 0; f < tm__eval_n_fields; f++) {
            if (strcmp(tm__eval_fields[f].name, keys[k]) != 0) {
                continue;
            }
            char lo[24], hi[24];
            size_t off = tm__eval_fields[f].off;
            tm_buf_printf(t, " %s %s..%s", keys[k],
                          num(lo, sizeof lo, fmt[k], tm__eval_random_q(e, off, 0.05)),
                          num(hi, sizeof hi, fmt[k], tm__eval_random_q(e, off, 0.95)));
        }
    }
    tm_buf_printf(t, "\n");
}

tm_status tm_pipeline_eval_text(const tm_pipeline_eval *e, char **out, tm_err *err)
{
    tm_buf t;
    tm_buf_init(&t);
    const tm__eval_panel *p = &e->panel;
    const tm__eval_result *sys = &e->fixed[0];
    char x[4][24];
    tm_buf_printf(
            &t,
            "evaluation " TM__YMD_FMT ".." TM__YMD_FMT ": %zu signal days (%zu more pending their "
            "%d-day horizon), %zu stocks, %zu evaluated signals, cost %g bps per unit traded\n",
            TM__YMD(e->o.from), TM__YMD(e->o.to), p->n_days, e->n_pending, p->horizon, p->n_stocks,
            e->n_cells, e->o.cost_bps);
    tm_buf_printf(&t, "base rates: SELL %.3f, HOLD %.3f, BUY %.3f\n", sys->cls[0].base_rate,
                  sys->cls[1].base_rate, sys->cls[2].base_rate);
    tm_buf_printf(&t, "%-14s %11s %-19s %-19s %8s %6s %8s %6s %7s %6s %6s\n", "method", "BUY/SELL",
                  "BUY prec [95%]", "SELL prec [95%]", "spread", "t(NW)", "ann.net", "Sharpe",
                  "max DD", "IC", "t(IC)");
    for (int m = 0; m < TM__EVAL_N_FIXED; m++) {
        method_row(&t, tm__eval_names[m], &e->fixed[m]);
    }
    random_row(&t, e);
    tm_buf_printf(
            &t,
            "(spread: mean daily BUY-minus-SELL %d-day return net of 4 x cost; book: tranches of "
            "1/%d held %d days)\n",
            p->horizon, p->horizon, p->horizon);
    tm_buf_printf(&t,
                  "system vs each day's cross-section: BUY precision %s (expected %s), SELL %s "
                  "(expected %s)\n",
                  num(x[0], 24, F3, sys->cls[2].precision), num(x[1], 24, F3, sys->cls[2].expected),
                  num(x[2], 24, F3, sys->cls[0].precision),
                  num(x[3], 24, F3, sys->cls[0].expected));
    tm_buf_printf(
            &t,
            "system calls per day: mean %.1f, max %zu, %zu days without, %zu days with more than "
            "half the stocks on one side; turnover %s a day; score variance common to the day %s\n",
            sys->calls_mean, sys->calls_max, sys->days_without, sys->days_one_sided,
            num(x[0], 24, F2, sys->turnover), num(x[1], 24, PCT0, sys->common_share));
    tm_buf_printf(&t, "%-8s %5s %5s %9s %9s %10s %7s %10s\n", "month", "BUY", "SELL", "BUY prec",
                  "SELL prec", "spread", "IC", "book net");
    for (size_t i = 0; i < sys->n_months; i++) {
        const tm__eval_month *mo = &sys->months[i];
        char a[5][24];
        tm_buf_printf(&t, "%04d-%02d  %5zu %5zu %9s %9s %10s %7s %10s\n", mo->month / 100,
                      mo->month % 100, mo->n_buy, mo->n_sell,
                      num(a[0], 24, F3,
                          mo->n_buy ? (double)mo->hits_buy / (double)mo->n_buy : (double)NAN),
                      num(a[1], 24, F3,
                          mo->n_sell ? (double)mo->hits_sell / (double)mo->n_sell : (double)NAN),
                      num(a[2], 24, SPCT2, mo->spread_net), num(a[3], 24, S3, mo->ic),
                      num(a[4], 24, SPCT2, mo->pnl_net));
    }
    tm_buf_printf(&t, "verdict: %s\n", e->verdict);
    return tm_buf_take(&t, out, err);
}

/* ---- JSON ---------------------------------------------------------------- */

static void jnum(tm_jw *w, const char *key, double x)
{
    tm_jw_key(w, key);
    tm_jw_double(w, x);
}

static void jcount(tm_jw *w, const char *key, size_t n)
{
    tm_jw_key(w, key);
    tm_jw_int(w, (int64_t)n);
}

static void json_class(tm_jw *w, const char *name, const tm__eval_class *c)
{
    tm_jw_key(w, name);
    tm_jw_object(w);
    jcount(w, "n", c->n);
    jcount(w, "hits", c->hits);
    jnum(w, "precision", c->precision);
    jnum(w, "ci_lo", c->ci_lo);
    jnum(w, "ci_hi", c->ci_hi);
    jnum(w, "base_rate", c->base_rate);
    jnum(w, "expected", c->expected);
    jnum(w, "mean_ret", c->mean_ret);
    tm_jw_object_end(w);
}

static void json_month(tm_jw *w, const tm__eval_month *m)
{
    char ym[16];
    snprintf(ym, sizeof ym, "%04d-%02d", m->month / 100, m->month % 100);
    tm_jw_object(w);
    tm_jw_key(w, "month");
    tm_jw_string(w, ym);
    jcount(w, "n_buy", m->n_buy);
    jcount(w, "n_sell", m->n_sell);
    jcount(w, "hits_buy", m->hits_buy);
    jcount(w, "hits_sell", m->hits_sell);
    jnum(w, "spread_net", m->spread_net);
    jnum(w, "ic", m->ic);
    jnum(w, "pnl_net", m->pnl_net);
    tm_jw_object_end(w);
}

static void json_method(tm_jw *w, const tm__eval_panel *p, const tm__eval_result *r)
{
    tm_jw_object(w);
    json_class(w, "sell", &r->cls[0]);
    json_class(w, "hold", &r->cls[1]);
    json_class(w, "buy", &r->cls[2]);
    for (size_t i = 0; i < tm__eval_n_fields; i++) {
        jnum(w, tm__eval_fields[i].name, tm__eval_get(r, tm__eval_fields[i].off));
    }
    jcount(w, "n_spread_days", r->n_spread_days);
    jcount(w, "n_ic_days", r->n_ic_days);
    jcount(w, "calls_max", r->calls_max);
    jcount(w, "days_without_calls", r->days_without);
    jcount(w, "days_one_sided", r->days_one_sided);
    tm_jw_key(w, "months");
    tm_jw_array(w);
    for (size_t i = 0; i < r->n_months; i++) {
        json_month(w, &r->months[i]);
    }
    tm_jw_array_end(w);
    tm_jw_key(w, "pnl_cum");
    tm_jw_array(w);
    for (size_t u = 0; u < p->n_dates; u++) {
        tm_jw_double(w, r->pnl_cum[u]);
    }
    tm_jw_array_end(w);
    tm_jw_object_end(w);
}

static void json_calibration(tm_jw *w, const tm_pipeline_eval *e)
{
    tm_jw_key(w, "reliability");
    tm_jw_object(w);
    for (int j = 0; j < 2; j++) {
        tm_jw_key(w, j ? "buy" : "sell");
        tm_jw_array(w);
        for (int b = 0; b < TM__EVAL_DECILES; b++) {
            tm_jw_object(w);
            jcount(w, "n", e->rel_n[j][b]);
            jnum(w, "pred", e->rel_pred[j][b]);
            jnum(w, "obs", e->rel_obs[j][b]);
            tm_jw_object_end(w);
        }
        tm_jw_array_end(w);
    }
    tm_jw_object_end(w);
    tm_jw_key(w, "confidence_deciles");
    tm_jw_array(w);
    for (int g = 0; g < TM__EVAL_DECILES; g++) {
        tm_jw_object(w);
        jcount(w, "n", e->dec_n[g]);
        jnum(w, "confidence", e->dec_conf[g]);
        jnum(w, "precision", e->dec_prec[g]);
        tm_jw_object_end(w);
    }
    tm_jw_array_end(w);
}

static void json_head(tm_jw *w, const tm_pipeline_eval *e)
{
    const tm__eval_panel *p = &e->panel;
    char d[16];
    tm_jw_key(w, "from");
    tm_jw_string(w, tm_store_date_format(e->o.from, d));
    tm_jw_key(w, "to");
    tm_jw_string(w, tm_store_date_format(e->o.to, d));
    jcount(w, "horizon", (size_t)p->horizon);
    jnum(w, "cost_bps", e->o.cost_bps);
    jcount(w, "n_days", p->n_days);
    jcount(w, "n_pending", e->n_pending);
    jcount(w, "n_stocks", p->n_stocks);
    jcount(w, "n_cells", e->n_cells);
    jcount(w, "seeds", (size_t)e->o.n_seeds);
    tm_jw_key(w, "edge");
    tm_jw_bool(w, e->edge);
    tm_jw_key(w, "verdict");
    tm_jw_string(w, e->verdict);
    tm_jw_key(w, "dates");
    tm_jw_array(w);
    for (size_t u = 0; u < p->n_dates; u++) {
        tm_jw_string(w, tm_store_date_format(p->date[u], d));
    }
    tm_jw_array_end(w);
}

tm_status tm_pipeline_eval_write_json(const tm_pipeline_eval *e, const char *path, tm_err *err)
{
    tm_buf b;
    tm_buf_init(&b);
    tm_jw w;
    tm_jw_init(&w, &b, TM_JW_COMPACT, TM_JW_NONFINITE_NULL, false);
    tm_jw_object(&w);
    json_head(&w, e);
    tm_jw_key(&w, "methods");
    tm_jw_object(&w);
    const char *keys[TM__EVAL_N_FIXED] = {"system", "always_hold", "momentum_20d", "reversal_5d"};
    for (int m = 0; m < TM__EVAL_N_FIXED; m++) {
        tm_jw_key(&w, keys[m]);
        json_method(&w, &e->panel, &e->fixed[m]);
    }
    tm_jw_object_end(&w);
    tm_jw_key(&w, "random");
    tm_jw_object(&w);
    const double qs[3] = {0.05, 0.5, 0.95};
    const char *qk[3] = {"p05", "p50", "p95"};
    for (int q = 0; q < 3; q++) {
        tm_jw_key(&w, qk[q]);
        tm_jw_object(&w);
        for (size_t i = 0; i < tm__eval_n_fields; i++) {
            jnum(&w, tm__eval_fields[i].name, tm__eval_random_q(e, tm__eval_fields[i].off, qs[q]));
        }
        tm_jw_object_end(&w);
    }
    tm_jw_object_end(&w);
    json_calibration(&w, e);
    tm_jw_object_end(&w);
    tm_status st = tm_jw_finish(&w, err);
    char *text = NULL;
    if (st == TM_OK) {
        tm_buf_puts(&b, "\n");
        st = tm_buf_take(&b, &text, err);
    }
    tm_buf_fini(&b);
    tm_atomic a;
    if (st == TM_OK) {
        st = tm_atomic_open(&a, path, err);
    }
    if (st == TM_OK) {
        if (fputs(text, a.fp) == EOF) {
            tm_atomic_abort(&a);
            st = TM_ERR(err, TM_E_IO, path, 0, NULL, "write failed");
        } else {
            st = tm_atomic_commit(&a, err);
        }
    }
    tm_free(text);
    return st;
}
