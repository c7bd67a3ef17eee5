/* The long-short book of overlapping tranches. On each signal day with at
 * least one BUY and one SELL a tranche opens at that day's close: 1/H of
 * the capital long, split equally over the BUYs, and 1/H short over the
 * SELLs (H = the horizon); it is held untouched (positions drift with
 * prices) and closed at the close H trading days later. Trades of
 * tranches opening and closing on the same date net per stock; each unit
 * traded costs cost_bps. P&L is in units of the capital (one long and one
 * short side), added up day by day, not compounded. */
#include <math.h>
#include <string.h>

#include "pipeline/eval_int.h"

/* Sums a tranche opened at date index t into the daily P&L and the
 * per-stock trades (n_dates x n_stocks). */
static void tranche(const tm__eval_panel *p, size_t d, const int8_t *label, double *pnl,
                    double *trade)
{
    size_t S = p->n_stocks, t = p->day_at[d], H = (size_t)p->horizon;
    size_t nb = 0, ns = 0;
    for (size_t k = 0; k < S; k++) {
        size_t i = d * S + k;
        if (p->actual[i] >= 0) {
            nb += label[i] == 2;
            ns += label[i] == 0;
        }
    }
    if (nb == 0 || ns == 0) {
        return;
    }
    for (size_t k = 0; k < S; k++) {
        size_t i = d * S + k;
        if (p->actual[i] < 0 || (label[i] != 2 && label[i] != 0)) {
            continue;
        }
        double w = label[i] == 2 ? 1.0 / (double)(H * nb) : -1.0 / (double)(H * ns);
        const double *c = p->close;
        double entry = c[t * S + k];
        for (size_t u = t + 1; u <= t + H; u++) {
            pnl[u] += w * (c[u * S + k] - c[(u - 1) * S + k]) / entry;
        }
        trade[t * S + k] += w;
        trade[(t + H) * S + k] -= w * c[(t + H) * S + k] / entry;
    }
}

tm_status tm__eval_book(const tm__eval_panel *p, const int8_t *label, double cost_bps,
                        tm__eval_result *r, tm_err *err)
{
    size_t U = p->n_dates, S = p->n_stocks;
    double cost = cost_bps / 1e4;
    double *pnl = tm_calloc(U + 1, sizeof *pnl);
    double *trade = tm_calloc(U * S + 1, sizeof *trade);
    r->pnl_cum = tm_malloc_n(U + 1, sizeof *r->pnl_cum);
    if (!pnl || !trade || !r->pnl_cum) {
        tm_free(pnl);
        tm_free(trade);
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory in the long-short book");
    }
    for (size_t d = 0; d < p->n_days; d++) {
        tranche(p, d, label, pnl, trade);
    }
    double gross = 0, net = 0, net2 = 0, cum = 0, peak = 0, turnover = 0;
    r->max_drawdown = 0;
    size_t m = 0;
    for (size_t u = 0; u < U; u++) {
        double traded = 0;
        for (size_t k = 0; k < S; k++) {
            traded += fabs(trade[u * S + k]);
        }
        double x = pnl[u] - cost * traded;
        gross += pnl[u];
        net += x;
        net2 += x * x;
        turnover += traded / 2.0;
        cum += x;
        r->pnl_cum[u] = cum;
        peak = fmax(peak, cum);
        r->max_drawdown = fmax(r->max_drawdown, peak - cum);
        while (m + 1 < r->n_months && r->months[m].month != p->date[u] / 100) {
            m++;
        }
        if (r->n_months > 0) {
            r->months[m].pnl_net += x;
        }
    }
    double n = (double)U;
    r->turnover = U ? turnover / n : (double)NAN;
    r->ann_gross = U ? gross / n * 252.0 : (double)NAN;
    r->ann_net = U ? net / n * 252.0 : (double)NAN;
    r->sharpe_net = NAN;
    if (U > 1) {
        double mean = net / n, var = (net2 - n * mean * mean) / (n - 1);
        if (var > 1e-30) {
            r->sharpe_net = mean / sqrt(var) * sqrt(252.0);
        }
    }
    tm_free(pnl);
    tm_free(trade);
    return TM_OK;
}
