/* The evaluation as one self-contained HTML file: the verdict, the
 * figures table (system, baselines, random band), four inline SVG plots
 * (cumulative net P&L against the baselines with random as a 5-95% band,
 * BUY and SELL calls per day, the reliability plot, precision by
 * confidence decile) and the month table. A Content-Security-Policy
 * forbids every outside resource; a short inline script only checks that
 * each plot laid out and marks the body (what the browser test reads). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/eval_int.h"
#include "pipeline/pipeline_int.h"

#define W  720.0
#define HT 280.0
#define L  60.0  /* left margin: y tick labels */
#define R  150.0 /* right margin: legend */
#define T  16.0
#define B  34.0

typedef struct frame {
    FILE *f;
    double x0, x1, y0, y1; /* data ranges */
} frame;

static double px(const frame *g, double x)
{
    return L + (x - g->x0) / (g->x1 - g->x0) * (W - L - R);
}

static double py(const frame *g, double y)
{
    return HT - B - (y - g->y0) / (g->y1 - g->y0) * (HT - T - B);
}

/* Opens a plot: svg element, axes, y ticks (scaled by yscale for the
 * labels, with `decimals` digits and a % sign when pct). */
static void plot_open(frame *g, const char *id, const char *title, double yscale, int decimals,
                      bool pct)
{
    if (!(g->y1 > g->y0)) {
        g->y1 = g->y0 + 1;
    }
    if (!(g->x1 > g->x0)) {
        g->x1 = g->x0 + 1;
    }
    fprintf(g->f,
            "<figure><svg class=\"plot\" id=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" "
            "viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" role=\"img\" "
            "aria-label=\"%s\">\n",
            id, W, HT, W, HT, title);
    fprintf(g->f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"area\"/>\n",
            L, T, W - L - R, HT - T - B);
    for (int i = 0; i <= 4; i++) {
        double y = g->y0 + (g->y1 - g->y0) * i / 4.0;
        char lab[32];
        snprintf(lab, sizeof lab, "%.*f%s", decimals, y * yscale, pct ? "%" : "");
        fprintf(g->f,
                "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
                "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"end\">%s</text>\n",
                L, W - R, py(g, y), py(g, y), L - 4, py(g, y) + 4, lab);
    }
}

static void xtick(const frame *g, double x, const char *label)
{
    fprintf(g->f, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\" text-anchor=\"middle\">%s</text>\n",
            px(g, x), HT - B + 14, label);
}

/* Dates of the book under five evenly spaced points of a day axis. */
static void date_ticks(const frame *g, const int32_t *date, const size_t *at, size_t n)
{
    for (int i = 0; i <= 4 && n > 0; i++) {
        size_t j = (n - 1) * (size_t)i / 4;
        int32_t d = at ? date[at[j]] : date[j];
        char lab[16];
        snprintf(lab, sizeof lab, TM__YMD_FMT, TM__YMD(d));
        xtick(g, (double)j, lab);
    }
}

static void legend(const frame *g, int row, const char *cls, const char *name)
{
    double y = T + 14 + 18.0 * row;
    fprintf(g->f,
            "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" class=\"%s\"/>"
            "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">%s</text>\n",
            W - R + 8, W - R + 28, y, y, cls, W - R + 32, y + 4, name);
}

/* A polyline of y[0..n) at x = 0..n-1 (NaN points skipped). */
static void series(const frame *g, const double *y, size_t n, const char *cls)
{
    fprintf(g->f, "<polyline class=\"%s\" points=\"", cls);
    for (size_t i = 0; i < n; i++) {
        if (!isnan(y[i])) {
            fprintf(g->f, "%.1f,%.1f ", px(g, (double)i), py(g, y[i]));
        }
    }
    fputs("\"/>\n", g->f);
}

static void pnl_plot(FILE *f, const tm_pipeline_eval *e, double *band)
{
    const tm__eval_panel *p = &e->panel;
    size_t U = p->n_dates, S = (size_t)e->o.n_seeds;
    double *lo = band, *mid = band + U, *hi = band + 2 * U, *tmp = band + 3 * U;
    frame g = {f, 0, (double)(U > 1 ? U - 1 : 1), 0, 0};
    for (size_t u = 0; u < U; u++) {
        const double q[3] = {0.05, 0.5, 0.95};
        double *dst[3] = {lo, mid, hi};
        for (int j = 0; j < 3; j++) {
            for (size_t s = 0; s < S; s++) {
                tmp[s] = e->random[s].pnl_cum[u];
            }
            dst[j][u] = tm__eval_quantile(tmp, S, q[j]);
        }
        g.y0 = fmin(g.y0, lo[u]);
        g.y1 = fmax(g.y1, hi[u]);
        for (int m = 0; m < TM__EVAL_N_FIXED; m++) {
            g.y0 = fmin(g.y0, e->fixed[m].pnl_cum[u]);
            g.y1 = fmax(g.y1, e->fixed[m].pnl_cum[u]);
        }
    }
    plot_open(&g, "pnl", "cumulative net P&L", 100, 1, true);
    date_ticks(&g, p->date, NULL, U);
    fprintf(f, "<line class=\"zero\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>\n", L, W - R,
            py(&g, 0), py(&g, 0));
    fputs("<polygon class=\"band\" points=\"", f);
    for (size_t u = 0; u < U; u++) {
        fprintf(f, "%.1f,%.1f ", px(&g, (double)u), py(&g, hi[u]));
    }
    for (size_t u = U; u-- > 0;) {
        fprintf(f, "%.1f,%.1f ", px(&g, (double)u), py(&g, lo[u]));
    }
    fputs("\"/>\n", f);
    series(&g, mid, U, "s-random");
    const char *cls[TM__EVAL_N_FIXED] = {"s-system", "s-hold", "s-mom", "s-rev"};
    for (int m = TM__EVAL_N_FIXED - 1; m >= 0; m--) {
        series(&g, e->fixed[m].pnl_cum, U, cls[m]);
    }
    for (int m = 0; m < TM__EVAL_N_FIXED; m++) {
        legend(&g, m, cls[m], tm__eval_names[m]);
    }
    legend(&g, TM__EVAL_N_FIXED, "s-random", "random median");
    legend(&g, TM__EVAL_N_FIXED + 1, "s-bandkey", "random 5-95%");
    fputs("</svg><figcaption>Cumulative net P&amp;L of the long-short book (tranches of "
          "1/horizon, after costs): the system against the baselines, random calls with the "
          "system's daily counts as a 5-95% band.</figcaption></figure>\n",
          f);
}

static void calls_plot(FILE *f, const tm_pipeline_eval *e)
{
    const tm__eval_panel *p = &e->panel;
    const double *c = e->fixed[0].calls_day;
    frame g = {f, 0, (double)p->n_days, 0, 1};
    for (size_t d = 0; d < p->n_days; d++) {
        g.y0 = fmin(g.y0, -c[3 * d]);
        g.y1 = fmax(g.y1, c[3 * d + 2]);
    }
    plot_open(&g, "calls", "signals per day", 1, 0, false);
    date_ticks(&g, p->date, p->day_at, p->n_days);
    double bw = (W - L - R) / (double)(p->n_days ? p->n_days : 1);
    for (size_t d = 0; d < p->n_days; d++) {
        double x = px(&g, (double)d);
        fprintf(f,
                "<rect class=\"buy\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/>"
                "<rect class=\"sell\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/>\n",
                x, py(&g, c[3 * d + 2]), bw * 0.9, py(&g, 0) - py(&g, c[3 * d + 2]), x, py(&g, 0),
                bw * 0.9, py(&g, -c[3 * d]) - py(&g, 0));
    }
    legend(&g, 0, "s-buy", "BUY (up)");
    legend(&g, 1, "s-sell", "SELL (down)");
    fputs("</svg><figcaption>The system's BUY and SELL signals per day (HOLD is the "
          "rest of the day's stocks).</figcaption></figure>\n",
          f);
}

static void reliability_plot(FILE *f, const tm_pipeline_eval *e)
{
    double top = 0.1;
    for (int j = 0; j < 2; j++) {
        for (int b = 0; b < TM__EVAL_DECILES; b++) {
            if (e->rel_n[j][b] > 0) {
                top = fmax(top, fmax(e->rel_pred[j][b], e->rel_obs[j][b]));
            }
        }
    }
    top = fmin(1.0, ceil(top * 10) / 10);
    frame g = {f, 0, top, 0, top};
    plot_open(&g, "reliability", "reliability", 1, 2, false);
    for (int i = 0; i <= 4; i++) {
        char lab[16];
        snprintf(lab, sizeof lab, "%.2f", top * i / 4);
        xtick(&g, top * i / 4, lab);
    }
    fprintf(f, "<line class=\"diag\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n",
            px(&g, 0), py(&g, 0), px(&g, top), py(&g, top));
    const char *cls[2] = {"s-sell", "s-buy"};
    for (int j = 0; j < 2; j++) {
        fprintf(f, "<polyline class=\"%s\" points=\"", cls[j]);
        for (int b = 0; b < TM__EVAL_DECILES; b++) {
            if (e->rel_n[j][b] > 0) {
                fprintf(f, "%.1f,%.1f ", px(&g, e->rel_pred[j][b]), py(&g, e->rel_obs[j][b]));
            }
        }
        fputs("\"/>\n", f);
    }
    legend(&g, 0, "s-buy", "BUY");
    legend(&g, 1, "s-sell", "SELL");
    legend(&g, 2, "diag", "perfect");
    fputs("</svg><figcaption>Reliability: the observed share of each class against the "
          "system's probability for it (x axis), in ten bins of width 0.1.</figcaption></figure>\n",
          f);
}

static void decile_plot(FILE *f, const tm_pipeline_eval *e)
{
    frame g = {f, 0, TM__EVAL_DECILES, 0, 0.2};
    for (int d = 0; d < TM__EVAL_DECILES; d++) {
        g.y1 = isnan(e->dec_prec[d]) ? g.y1 : fmax(g.y1, e->dec_prec[d]);
    }
    g.y1 = fmin(1.0, ceil(g.y1 * 10) / 10);
    plot_open(&g, "deciles", "precision by confidence decile", 1, 2, false);
    for (int d = 0; d < TM__EVAL_DECILES; d++) {
        char lab[16];
        snprintf(lab, sizeof lab, "%d", d + 1);
        xtick(&g, d + 0.5, lab);
    }
    double bw = (W - L - R) / TM__EVAL_DECILES;
    for (int d = 0; d < TM__EVAL_DECILES; d++) {
        double y = isnan(e->dec_prec[d]) ? 0 : e->dec_prec[d];
        fprintf(f, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>\n",
                px(&g, d) + 2, py(&g, y), bw - 4, py(&g, 0) - py(&g, y));
    }
    const tm__eval_result *s = &e->fixed[0];
    size_t n = s->cls[0].n + s->cls[2].n;
    double base = n ? ((double)s->cls[0].n * s->cls[0].expected +
                       (double)s->cls[2].n * s->cls[2].expected) /
                                  (double)n
                    : (double)NAN;
    if (!isnan(base)) {
        fprintf(f, "<line class=\"s-base\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>\n", L,
                W - R, py(&g, base), py(&g, base));
    }
    legend(&g, 0, "s-bar", "precision");
    legend(&g, 1, "s-base", "expected by chance");
    fputs("</svg><figcaption>Precision of the system's BUY and SELL calls by decile of the "
          "probability of the called class (1: least confident); the line is what the days' "
          "cross-sections give "
          "by chance.</figcaption></figure>\n",
          f);
}

static const char style[] =
        "body{font:14px/1.4 sans-serif;margin:24px;max-width:1200px;color:#222}"
        "table{border-collapse:collapse;margin:12px 0}td,th{padding:3px 8px;border-bottom:1px "
        "solid "
        "#ddd;text-align:right}th:first-child,td:first-child{text-align:left}"
        "pre{background:#f6f6f6;padding:8px;overflow:auto;font-size:11px}.verdict{padding:8px "
        "12px;font-weight:bold}"
        ".no-edge{background:#fde8e8;color:#8a1c1c}.edge{background:#e6f4ea;color:#1e5e2e}"
        "svg .area{fill:#fafafa;stroke:#999}svg .grid{stroke:#e4e4e4}svg "
        ".tick{font-size:11px;fill:#444}"
        "svg polyline,svg line{fill:none;stroke-width:1.5}.s-system{stroke:#000;stroke-width:2.5}"
        ".s-hold{stroke:#999}.s-mom{stroke:#1f77b4}.s-rev{stroke:#ff7f0e}"
        ".s-random{stroke:#777;stroke-dasharray:4 "
        "3}.zero{stroke:#555}.band{fill:#ccc;opacity:.6;stroke:none}"
        ".s-bandkey{stroke:#ccc;stroke-width:8}.buy{fill:#2ca02c}.sell{fill:#d62728}"
        ".s-buy{stroke:#2ca02c}.s-sell{stroke:#d62728}.diag{stroke:#999;stroke-dasharray:3 3}"
        ".bar{fill:#6b8fb3}.s-bar{stroke:#6b8fb3;stroke-width:8}.s-base{stroke:#d62728;"
        "stroke-dasharray:5 3}";

/* Counts the plots that laid out (non-empty box, children drawn) and
 * records it on the body: the browser test reads data-plots. */
static const char check_script[] =
        "(function(){var n=0;document.querySelectorAll('svg.plot').forEach(function(s){"
        "var b=s.getBBox();if(b.width>0&&b.height>0&&s.childElementCount>3)n++;});"
        "document.body.setAttribute('data-plots',String(n));})();";

static void html_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '<') {
            fputs("&lt;", f);
        } else if (*s == '>') {
            fputs("&gt;", f);
        } else if (*s == '&') {
            fputs("&amp;", f);
        } else {
            fputc(*s, f);
        }
    }
}

tm_status tm_pipeline_eval_write_html(const tm_pipeline_eval *e, const char *path, tm_err *err)
{
    size_t U = e->panel.n_dates, S = (size_t)e->o.n_seeds;
    double *band = tm_malloc_n(3 * U + S + 1, sizeof *band);
    char *text = NULL;
    if (!band) {
        return TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory writing the report");
    }
    tm_status st = tm_pipeline_eval_text(e, &text, err);
    tm_atomic a;
    if (st == TM_OK) {
        st = tm_atomic_open(&a, path, err);
    }
    if (st == TM_OK) {
        FILE *f = a.fp;
        fprintf(f,
                "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
                "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
                "<title>TurboMode evaluation " TM__YMD_FMT " .. " TM__YMD_FMT "</title>"
                "<style>%s</style></head><body>\n<h1>Signal evaluation " TM__YMD_FMT
                " .. " TM__YMD_FMT "</h1>\n<p class=\"verdict %s\">",
                TM__YMD(e->o.from), TM__YMD(e->o.to), style, TM__YMD(e->o.from), TM__YMD(e->o.to),
                e->edge ? "edge" : "no-edge");
        html_escape(f, e->verdict);
        fputs("</p>\n<h2>Figures: the system against the baselines</h2>\n<pre>", f);
        html_escape(f, text);
        fputs("</pre>\n<h2>Plots</h2>\n", f);
        pnl_plot(f, e, band);
        calls_plot(f, e);
        reliability_plot(f, e);
        decile_plot(f, e);
        fprintf(f, "<script>%s</script>\n</body></html>\n", check_script);
        if (ferror(f)) {
            tm_atomic_abort(&a);
            st = TM_ERR(err, TM_E_IO, path, 0, NULL, "write failed");
        } else {
            st = tm_atomic_commit(&a, err);
        }
    }
    tm_free(band);
    tm_free(text);
    return st;
}
