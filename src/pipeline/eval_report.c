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

/* Appends to buf (cap bytes) at *len, keeping *len the length the whole
 * text needs. */
static void app(char *buf, size_t cap, size_t *len, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void app(char *buf, size_t cap, size_t *len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = *len < cap ? cap - *len : 0;
    int n = vsnprintf(room ? buf + *len : NULL, room, fmt, ap);
    va_end(ap);
    *len += n > 0 ? (size_t)n : 0;
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

static void method_row(char *buf, size_t cap, size_t *len, const char *name,
                       const tm__eval_result *r)
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
    app(buf, cap, len, "%-14s %5zu/%-5zu %-19s %-19s %8s %6s %8s %6s %7s %6s %6s\n", name,
        r->cls[2].n, r->cls[0].n, prec[1], prec[0], num(a[0], sizeof a[0], SPCT2, r->spread_net),
        num(a[1], sizeof a[1], S2, r->spread_t), num(a[2], sizeof a[2], SPCT1, r->ann_net),
        num(a[3], sizeof a[3], S2, r->sharpe_net), num(a[4], sizeof a[4], PCT1, r->max_drawdown),
        num(a[5], sizeof a[5], S3, r->ic_mean), num(a[6], sizeof a[6], S2, r->ic_t));
}

static void random_row(char *buf, size_t cap, size_t *len, const tm_pipeline_eval *e)
{
    const char *keys[] = {"buy_precision", "sell_precision", "spread_net", "ann_net", "sharpe_net"};
    const numfmt fmt[] = {F3, F3, SPCT2, SPCT1, S2};
    app(buf, cap, len, "random (%d seeds, system's daily counts), 5%%..95%%:", e->o.n_seeds);
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        for (size_t f = 0; f < tm__eval_n_fields; f++) {
            if (strcmp(tm__eval_fields[f].name, keys[k]) != 0) {
                continue;
            }
            char lo[24], hi[24];
            size_t off = tm__eval_fields[f].off;
            app(buf, cap, len, " %s %s..%s", keys[k],
                num(lo, sizeof lo, fmt[k], tm__eval_random_q(e, off, 0.05)),
                num(hi, sizeof hi, fmt[k], tm__eval_random_q(e, off, 0.95)));
        }
    }
    app(buf, cap, len, "\n");
}

size_t tm_pipeline_eval_text(const tm_pipeline_eval *e, char *buf, size_t cap)
{
    size_t len = 0;
    const tm__eval_panel *p = &e->panel;
    const tm__eval_result *sys = &e->fixed[0];
    char x[4][24];
    if (cap) {
        buf[0] = '\0';
    }
    app(buf, cap, &len,
        "evaluation " TM__YMD_FMT ".." TM__YMD_FMT ": %zu signal days (%zu more pending their "
        "%d-day horizon), %zu stocks, %zu evaluated signals, cost %g bps per unit traded\n",
        TM__YMD(e->o.from), TM__YMD(e->o.to), p->n_days, e->n_pending, p->horizon, p->n_stocks,
        e->n_cells, e->o.cost_bps);
    app(buf, cap, &len, "base rates: SELL %.3f, HOLD %.3f, BUY %.3f\n", sys->cls[0].base_rate,
        sys->cls[1].base_rate, sys->cls[2].base_rate);
    app(buf, cap, &len, "%-14s %11s %-19s %-19s %8s %6s %8s %6s %7s %6s %6s\n", "method",
        "BUY/SELL", "BUY prec [95%]", "SELL prec [95%]", "spread", "t(NW)", "ann.net", "Sharpe",
        "max DD", "IC", "t(IC)");
    for (int m = 0; m < TM__EVAL_N_FIXED; m++) {
        method_row(buf, cap, &len, tm__eval_names[m], &e->fixed[m]);
    }
    random_row(buf, cap, &len, e);
    app(buf, cap, &len,
        "(spread: mean daily BUY-minus-SELL %d-day return net of 4 x cost; book: tranches of "
        "1/%d held %d days)\n",
        p->horizon, p->horizon, p->horizon);
    app(buf, cap, &len,
        "system vs each day's cross-section: BUY precision %s (expected %s), SELL %s "
        "(expected %s)\n",
        num(x[0], 24, F3, sys->cls[2].precision), num(x[1], 24, F3, sys->cls[2].expected),
        num(x[2], 24, F3, sys->cls[0].precision), num(x[3], 24, F3, sys->cls[0].expected));
    app(buf, cap, &len,
        "system calls per day: mean %.1f, max %zu, %zu days without, %zu days with more than "
        "half the stocks on one side; turnover %s a day; score variance common to the day %s\n",
        sys->calls_mean, sys->calls_max, sys->days_without, sys->days_one_sided,
        num(x[0], 24, F2, sys->turnover), num(x[1], 24, PCT0, sys->common_share));
    app(buf, cap, &len, "%-8s %5s %5s %9s %9s %10s %7s %10s\n", "month", "BUY", "SELL", "BUY prec",
        "SELL prec", "spread", "IC", "book net");
    for (size_t i = 0; i < sys->n_months; i++) {
        const tm__eval_month *mo = &sys->months[i];
        char a[5][24];
        app(buf, cap, &len, "%04d-%02d  %5zu %5zu %9s %9s %10s %7s %10s\n", mo->month / 100,
            mo->month % 100, mo->n_buy, mo->n_sell,
            num(a[0], 24, F3, mo->n_buy ? (double)mo->hits_buy / (double)mo->n_buy : (double)NAN),
            num(a[1], 24, F3,
                mo->n_sell ? (double)mo->hits_sell / (double)mo->n_sell : (double)NAN),
            num(a[2], 24, SPCT2, mo->spread_net), num(a[3], 24, S3, mo->ic),
            num(a[4], 24, SPCT2, mo->pnl_net));
    }
    app(buf, cap, &len, "verdict: %s\n", e->verdict);
    return len;
}

/* ---- JSON ---------------------------------------------------------------- */

static void jnum(FILE *f, double x)
{
    if (isfinite(x)) {
        fprintf(f, "%.10g", x);
    } else {
        fputs("null", f);
    }
}

static void json_class(FILE *f, const char *name, const tm__eval_class *c)
{
    fprintf(f, "\"%s\":{\"n\":%zu,\"hits\":%zu,\"precision\":", name, c->n, c->hits);
    jnum(f, c->precision);
    fputs(",\"ci_lo\":", f);
    jnum(f, c->ci_lo);
    fputs(",\"ci_hi\":", f);
    jnum(f, c->ci_hi);
    fputs(",\"base_rate\":", f);
    jnum(f, c->base_rate);
    fputs(",\"expected\":", f);
    jnum(f, c->expected);
    fputs(",\"mean_ret\":", f);
    jnum(f, c->mean_ret);
    fputs("}", f);
}

static void json_method(FILE *f, const tm__eval_panel *p, const tm__eval_result *r)
{
    fputs("{", f);
    json_class(f, "sell", &r->cls[0]);
    fputs(",", f);
    json_class(f, "hold", &r->cls[1]);
    fputs(",", f);
    json_class(f, "buy", &r->cls[2]);
    for (size_t i = 0; i < tm__eval_n_fields; i++) {
        fprintf(f, ",\"%s\":", tm__eval_fields[i].name);
        jnum(f, tm__eval_get(r, tm__eval_fields[i].off));
    }
    fprintf(f,
            ",\"n_spread_days\":%zu,\"n_ic_days\":%zu,\"calls_max\":%zu,\"days_without_calls\":"
            "%zu,\"days_one_sided\":%zu,\"months\":[",
            r->n_spread_days, r->n_ic_days, r->calls_max, r->days_without, r->days_one_sided);
    for (size_t i = 0; i < r->n_months; i++) {
        const tm__eval_month *m = &r->months[i];
        fprintf(f,
                "%s{\"month\":\"%04d-%02d\",\"n_buy\":%zu,\"n_sell\":%zu,\"hits_buy\":%zu,"
                "\"hits_sell\":%zu,\"spread_net\":",
                i ? "," : "", m->month / 100, m->month % 100, m->n_buy, m->n_sell, m->hits_buy,
                m->hits_sell);
        jnum(f, m->spread_net);
        fputs(",\"ic\":", f);
        jnum(f, m->ic);
        fputs(",\"pnl_net\":", f);
        jnum(f, m->pnl_net);
        fputs("}", f);
    }
    fputs("],\"pnl_cum\":[", f);
    for (size_t u = 0; u < p->n_dates; u++) {
        fputs(u ? "," : "", f);
        jnum(f, r->pnl_cum[u]);
    }
    fputs("]}", f);
}

static void json_calibration(FILE *f, const tm_pipeline_eval *e)
{
    fputs(",\"reliability\":{", f);
    for (int j = 0; j < 2; j++) {
        fprintf(f, "%s\"%s\":[", j ? "," : "", j ? "buy" : "sell");
        for (int b = 0; b < TM__EVAL_DECILES; b++) {
            fprintf(f, "%s{\"n\":%zu,\"pred\":", b ? "," : "", e->rel_n[j][b]);
            jnum(f, e->rel_pred[j][b]);
            fputs(",\"obs\":", f);
            jnum(f, e->rel_obs[j][b]);
            fputs("}", f);
        }
        fputs("]", f);
    }
    fputs("},\"confidence_deciles\":[", f);
    for (int g = 0; g < TM__EVAL_DECILES; g++) {
        fprintf(f, "%s{\"n\":%zu,\"confidence\":", g ? "," : "", e->dec_n[g]);
        jnum(f, e->dec_conf[g]);
        fputs(",\"precision\":", f);
        jnum(f, e->dec_prec[g]);
        fputs("}", f);
    }
    fputs("]", f);
}

tm_status tm_pipeline_eval_write_json(const tm_pipeline_eval *e, const char *path, tm_err *err)
{
    tm_atomic a;
    tm_status st = tm_atomic_open(&a, path, err);
    if (st != TM_OK) {
        return st;
    }
    FILE *f = a.fp;
    const tm__eval_panel *p = &e->panel;
    fprintf(f,
            "{\"from\":\"" TM__YMD_FMT "\",\"to\":\"" TM__YMD_FMT "\",\"horizon\":%d,\"cost_bps\":",
            TM__YMD(e->o.from), TM__YMD(e->o.to), p->horizon);
    jnum(f, e->o.cost_bps);
    fprintf(f,
            ",\"n_days\":%zu,\"n_pending\":%zu,\"n_stocks\":%zu,\"n_cells\":%zu,\"seeds\":%d,"
            "\"edge\":%s,\"verdict\":\"%s\",\"dates\":[",
            p->n_days, e->n_pending, p->n_stocks, e->n_cells, e->o.n_seeds,
            e->edge ? "true" : "false", e->verdict);
    for (size_t u = 0; u < p->n_dates; u++) {
        fprintf(f, "%s\"" TM__YMD_FMT "\"", u ? "," : "", TM__YMD(p->date[u]));
    }
    fputs("],\"methods\":{", f);
    const char *keys[TM__EVAL_N_FIXED] = {"system", "always_hold", "momentum_20d", "reversal_5d"};
    for (int m = 0; m < TM__EVAL_N_FIXED; m++) {
        fprintf(f, "%s\"%s\":", m ? "," : "", keys[m]);
        json_method(f, p, &e->fixed[m]);
    }
    fputs("},\"random\":{", f);
    const double qs[3] = {0.05, 0.5, 0.95};
    for (int q = 0; q < 3; q++) {
        fprintf(f, "%s\"p%02d\":{", q ? "," : "", (int)(qs[q] * 100 + 0.5));
        for (size_t i = 0; i < tm__eval_n_fields; i++) {
            fprintf(f, "%s\"%s\":", i ? "," : "", tm__eval_fields[i].name);
            jnum(f, tm__eval_random_q(e, tm__eval_fields[i].off, qs[q]));
        }
        fputs("}", f);
    }
    fputs("}", f);
    json_calibration(f, e);
    fputs("}\n", f);
    if (ferror(f)) {
        tm_atomic_abort(&a);
        return TM_ERR(err, TM_E_IO, path, 0, NULL, "write failed");
    }
    return tm_atomic_commit(&a, err);
}
