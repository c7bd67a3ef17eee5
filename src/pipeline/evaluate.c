/* turbomode evaluate: builds the evaluation panel from the store (prices
 * and signals dated <= to only), the baselines' calls on it, every
 * method's figures, the system's reliability and confidence deciles, and
 * the verdict. A day is evaluated when the system issued signals on it
 * and its horizon ended by `to`; a cell when the system scored that stock
 * that day and both closes of its forward return exist. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/eval_int.h"
#include "pipeline/pipeline_int.h"

const char *const tm__eval_names[TM__EVAL_N_FIXED] = {"system", "always-HOLD", "momentum 20d",
                                                      "reversal 5d"};

void tm_pipeline_eval_opts_init(tm_pipeline_eval_opts *o)
{
    memset(o, 0, sizeof *o);
    o->cost_bps = 10;
    o->n_seeds = 20;
    o->seed = 1;
    o->share = 0.10;
}

static size_t date_index(const int32_t *dates, size_t n, int32_t d)
{
    size_t lo = tm__pipeline_date_lower_bound(dates, n, d);
    return lo < n && dates[lo] == d ? lo : (size_t)-1;
}

static size_t symbol_index(const tm_store_prices *px, const char *sym)
{
    size_t lo = 0, hi = px->n_symbols;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(px->symbols[mid], sym);
        if (c == 0) {
            return mid;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return (size_t)-1;
}

/* Closes of every stock on every trading date (T x S, NaN when absent). */
static double *raw_closes(const tm_store_prices *px, const int32_t *dates, size_t T)
{
    size_t S = px->n_symbols;
    double *raw = tm_malloc_n(T * S + 1, sizeof *raw);
    if (!raw) {
        return NULL;
    }
    for (size_t i = 0; i < T * S; i++) {
        raw[i] = NAN;
    }
    for (size_t k = 0; k < S; k++) {
        for (size_t r = px->start[k]; r < px->start[k + 1]; r++) {
            size_t t = date_index(dates, T, px->date[r]);
            if (t != (size_t)-1) {
                raw[t * S + k] = px->close[r];
            }
        }
    }
    return raw;
}

tm_status tm__eval_signal_days(const tm_store_signal *sig, size_t n, const int32_t *dates, size_t T,
                               uint8_t *day, tm_err *err)
{
    for (size_t i = 0; i < n; i++) {
        size_t t = date_index(dates, T, sig[i].date);
        if (t == (size_t)-1) {
            return TM_ERR(err, TM_E_INVALID, NULL, 0, "signals",
                          "signal of %s dated " TM__YMD_FMT " falls on no trading date",
                          sig[i].symbol, TM__YMD(sig[i].date));
        }
        day[t] = 1;
    }
    return TM_OK;
}

/* The row of px holding stock k's bar dated d, or (size_t)-1. */
static size_t bar_row(const tm_store_prices *px, size_t k, int32_t d)
{
    size_t r0 = px->start[k], n = px->start[k + 1] - r0;
    size_t i = r0 + tm__pipeline_date_lower_bound(px->date + r0, n, d);
    return i < r0 + n && px->date[i] == d ? i : (size_t)-1;
}

/* cls: each px row's cross-sectional class, NULL for the thresholds. */
static void fill_cells(tm__eval_panel *p, const tm_store_prices *px, const double *raw,
                       const size_t *day_t, const tm_store_signal *sig, size_t n_sig,
                       const tm_features_label_opts *lo, const int8_t *cls)
{
    size_t S = p->n_stocks, H = lo->horizon;
    for (size_t i = 0, d = 0; i < n_sig; i++) {
        while (d < p->n_days && p->date[p->day_at[d]] < sig[i].date) {
            d++;
        }
        size_t k = symbol_index(px, sig[i].symbol);
        if (d == p->n_days || p->date[p->day_at[d]] != sig[i].date || k == (size_t)-1) {
            continue; /* pending day, or a stock no longer in the universe */
        }
        size_t c = d * S + k, t = day_t[d];
        p->label[c] = (int8_t)sig[i].label;
        memcpy(&p->prob[3 * c], sig[i].prob, sizeof sig[i].prob);
        double r = raw[(t + H) * S + k] / raw[t * S + k] - 1;
        size_t row = cls ? bar_row(px, k, sig[i].date) : 0;
        int8_t a = !cls ? (int8_t)tm_features_label(r, lo) : row == (size_t)-1 ? -1 : cls[row];
        if (isfinite(r) && a >= 0) {
            p->ret[c] = r;
            p->actual[c] = a;
        }
        if (t >= 20) {
            p->mom[c] = raw[t * S + k] / raw[(t - 20) * S + k] - 1;
        }
        if (t >= 5) {
            p->rev[c] = raw[t * S + k] / raw[(t - 5) * S + k] - 1;
        }
    }
}

tm_status tm__eval_build(tm__eval_panel *p, const tm_store_prices *px, const int32_t *dates,
                         size_t T, const uint8_t *day, const tm_store_signal *sig, size_t n_sig,
                         const tm_features_label_opts *lo, tm_pipeline_labels kind, size_t *pending,
                         tm_err *err)
{
    size_t H = lo->horizon, n_days = 0, first = 0, last = 0;
    *pending = 0;
    for (size_t t = 0; t < T; t++) {
        if (day[t] && t + H < T) {
            first = n_days++ ? first : t;
            last = t;
        } else if (day[t]) {
            (*pending)++;
        }
    }
    if (n_days == 0) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, "signals",
                      "no signal day in range has its %zu-day horizon over by the last date", H);
    }
    size_t S = px->n_symbols, U = last + H - first + 1;
    int8_t *cls = NULL;
    if (kind == TM_PIPELINE_LABELS_XS_DECILE) {
        tm_status st = TM_OK;
        if (!(cls = tm_malloc_n(px->n_rows + 1, 1))) {
            return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory building the panel");
        }
        if ((st = tm__pipeline_xs_classes(px, H, cls, err)) != TM_OK) {
            tm_free(cls);
            return st;
        }
    }
    double *raw = raw_closes(px, dates, T);
    size_t *day_t = tm_malloc_n(n_days, sizeof *day_t);
    if (!raw || !day_t || !tm__eval_panel_alloc(p, n_days, U, S)) {
        tm_free(raw);
        tm_free(day_t);
        tm_free(cls);
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory building the panel");
    }
    p->horizon = (int)H;
    for (size_t t = first, d = 0; t <= last; t++) {
        if (day[t]) {
            day_t[d] = t;
            p->day_at[d++] = t - first;
        }
    }
    for (size_t u = 0; u < U; u++) {
        p->date[u] = dates[first + u];
    }
    for (size_t k = 0; k < S; k++) {
        double c = NAN;
        for (size_t t = 0; t < first + U; t++) {
            c = isnan(raw[t * S + k]) ? c : raw[t * S + k];
            if (t >= first) {
                p->close[(t - first) * S + k] = c;
            }
        }
    }
    fill_cells(p, px, raw, day_t, sig, n_sig, lo, cls);
    tm_free(raw);
    tm_free(day_t);
    tm_free(cls);
    return TM_OK;
}

typedef struct ranked {
    double v;
    size_t k;
} ranked;

static int ranked_cmp(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->v != y->v) {
        return x->v < y->v ? -1 : 1;
    }
    return x->k < y->k ? -1 : x->k > y->k;
}

bool tm__eval_calls_rank(const tm__eval_panel *p, const double *score, double share, int8_t *label)
{
    size_t S = p->n_stocks;
    ranked *r = tm_malloc_n(S + 1, sizeof *r);
    if (!r) {
        return false;
    }
    for (size_t d = 0; d < p->n_days; d++) {
        size_t n = 0;
        for (size_t k = 0; k < S; k++) {
            size_t i = d * S + k;
            label[i] = p->actual[i] >= 0 ? 1 : -1;
            if (p->actual[i] >= 0 && !isnan(score[i])) {
                r[n].v = score[i];
                r[n++].k = k;
            }
        }
        qsort(r, n, sizeof *r, ranked_cmp);
        size_t m = (size_t)floor(share * (double)n + 0.5);
        m = 2 * m > n ? n / 2 : m;
        for (size_t j = 0; j < m; j++) {
            label[d * S + r[j].k] = 0;
            label[d * S + r[n - 1 - j].k] = 2;
        }
    }
    tm_free(r);
    return true;
}

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

bool tm__eval_calls_random(const tm__eval_panel *p, const int8_t *sys, uint64_t seed, int8_t *label)
{
    size_t S = p->n_stocks;
    uint64_t rng = seed;
    size_t *cells = tm_malloc_n(S + 1, sizeof *cells);
    if (!cells) {
        return false;
    }
    for (size_t d = 0; d < p->n_days; d++) {
        size_t nb = 0, ns = 0, n = 0;
        for (size_t k = 0; k < S; k++) {
            size_t i = d * S + k;
            label[i] = p->actual[i] >= 0 ? 1 : -1;
            nb += p->actual[i] >= 0 && sys[i] == 2;
            ns += p->actual[i] >= 0 && sys[i] == 0;
        }
        /* partial Fisher-Yates over the evaluated stocks' indices */
        for (size_t k = 0; k < S; k++) {
            if (p->actual[d * S + k] >= 0) {
                cells[n++] = k;
            }
        }
        for (size_t j = 0; j < nb + ns && j < n; j++) {
            size_t pick = j + (size_t)(splitmix(&rng) % (uint64_t)(n - j));
            size_t tmp = cells[j];
            cells[j] = cells[pick];
            cells[pick] = tmp;
            label[d * S + cells[j]] = j < nb ? 2 : 0;
        }
    }
    tm_free(cells);
    return true;
}
