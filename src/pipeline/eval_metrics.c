/* The figures of one method's calls on an evaluation panel: per-class
 * precision with intervals clustered by day, precision expected from each
 * day's cross-section, the BUY-minus-SELL spread with a Newey-West t,
 * calls per day, the rank information coefficient, the share of score
 * variance common to the day and the month-by-month table. The book
 * figures come from eval_book.c. Only evaluated cells (a known forward
 * return) count anywhere. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/eval_int.h"

bool tm__eval_panel_alloc(tm__eval_panel *p, size_t n_days, size_t n_dates, size_t n_stocks)
{
    size_t cells = n_days * n_stocks;
    p->n_days = n_days;
    p->n_dates = n_dates;
    p->n_stocks = n_stocks;
    p->date = tm_malloc_n(n_dates ? n_dates : 1, sizeof *p->date);
    p->day_at = tm_malloc_n(n_days ? n_days : 1, sizeof *p->day_at);
    p->close = tm_malloc_n(n_dates * n_stocks + 1, sizeof *p->close);
    p->ret = tm_malloc_n(cells + 1, sizeof *p->ret);
    p->actual = tm_malloc_n(cells + 1, sizeof *p->actual);
    p->mom = tm_malloc_n(cells + 1, sizeof *p->mom);
    p->rev = tm_malloc_n(cells + 1, sizeof *p->rev);
    p->label = tm_malloc_n(cells + 1, sizeof *p->label);
    p->prob = tm_malloc_n(3 * cells + 1, sizeof *p->prob);
    if (!p->date || !p->day_at || !p->close || !p->ret || !p->actual || !p->mom || !p->rev ||
        !p->label || !p->prob) {
        tm__eval_panel_free(p);
        return false;
    }
    for (size_t i = 0; i < n_dates * n_stocks; i++) {
        p->close[i] = NAN;
    }
    for (size_t i = 0; i < cells; i++) {
        p->ret[i] = p->mom[i] = p->rev[i] = NAN;
        p->actual[i] = p->label[i] = -1;
        p->prob[3 * i] = p->prob[3 * i + 1] = p->prob[3 * i + 2] = NAN;
    }
    return true;
}

void tm__eval_panel_free(tm__eval_panel *p)
{
    tm_free(p->date);
    tm_free(p->day_at);
    tm_free(p->close);
    tm_free(p->ret);
    tm_free(p->actual);
    tm_free(p->mom);
    tm_free(p->rev);
    tm_free(p->label);
    tm_free(p->prob);
    memset(p, 0, sizeof *p);
}

void tm__eval_result_free(tm__eval_result *r)
{
    tm_free(r->pnl_cum);
    tm_free(r->calls_day);
    tm_free(r->months);
    memset(r, 0, sizeof *r);
}

double tm__eval_nw_t(const double *x, size_t n, size_t lag)
{
    if (n < 2) {
        return NAN;
    }
    double mean = 0;
    for (size_t i = 0; i < n; i++) {
        mean += x[i];
    }
    mean /= (double)n;
    /* long-run variance: gamma_0 + 2 sum_l (1 - l / (lag + 1)) gamma_l,
     * gamma_l = (1/n) sum_t (x_t - mean)(x_{t-l} - mean) (Newey and West 1987) */
    double lrv = 0;
    for (size_t l = 0; l <= lag && l < n; l++) {
        double g = 0;
        for (size_t t = l; t < n; t++) {
            g += (x[t] - mean) * (x[t - l] - mean);
        }
        g /= (double)n;
        lrv += l == 0 ? g : 2.0 * (1.0 - (double)l / (double)(lag + 1)) * g;
    }
    if (!(lrv > 0)) {
        return NAN;
    }
    return mean / sqrt(lrv / (double)n);
}

static int item_cmp(const void *a, const void *b)
{
    const tm__eval_item *x = a, *y = b;
    if (x->v != y->v) {
        return x->v < y->v ? -1 : 1;
    }
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Average ranks (1-based) of v[0..n) into rank. */
static void rank_avg(const double *v, size_t n, tm__eval_item *items, double *rank)
{
    for (size_t i = 0; i < n; i++) {
        items[i].v = v[i];
        items[i].i = i;
    }
    qsort(items, n, sizeof *items, item_cmp);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && items[j + 1].v == items[i].v) {
            j++;
        }
        double r = 0.5 * (double)(i + j) + 1.0;
        for (size_t k = i; k <= j; k++) {
            rank[items[k].i] = r;
        }
        i = j + 1;
    }
}

double tm__eval_spearman(const double *a, const double *b, size_t n, tm__eval_item *items,
                         double *ranks)
{
    if (n < 3) {
        return NAN;
    }
    double *ra = ranks, *rb = ranks + n;
    rank_avg(a, n, items, ra);
    rank_avg(b, n, items, rb);
    double m = 0.5 * (double)(n + 1), sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < n; i++) {
        sab += (ra[i] - m) * (rb[i] - m);
        saa += (ra[i] - m) * (ra[i] - m);
        sbb += (rb[i] - m) * (rb[i] - m);
    }
    if (!(saa > 0) || !(sbb > 0)) {
        return NAN;
    }
    return sab / sqrt(saa * sbb);
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double tm__eval_quantile(double *x, size_t n, double q)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isnan(x[i])) {
            x[m++] = x[i];
        }
    }
    if (m == 0) {
        return NAN;
    }
    qsort(x, m, sizeof *x, dbl_cmp);
    double h = (double)(m - 1) * q;
    size_t lo = (size_t)h;
    if (lo + 1 >= m) {
        return x[m - 1];
    }
    return x[lo] + (h - (double)lo) * (x[lo + 1] - x[lo]);
}

/* Precision, its day-clustered interval, base rate and the precision
 * expected from each day's cross-section, for class c. */
static void class_figures(const tm__eval_panel *p, const int8_t *label, int c, tm__eval_class *o)
{
    size_t N = 0, H = 0, cells = 0, in_class = 0, days = 0;
    double expected = 0, ret_sum = 0;
    for (size_t d = 0; d < p->n_days; d++) {
        size_t n = 0, h = 0, m = 0, mc = 0;
        for (size_t k = 0; k < p->n_stocks; k++) {
            size_t i = d * p->n_stocks + k;
            if (p->actual[i] < 0) {
                continue;
            }
            m++;
            mc += p->actual[i] == c;
            if (label[i] == c) {
                n++;
                h += p->actual[i] == c;
                ret_sum += p->ret[i];
            }
        }
        N += n;
        H += h;
        cells += m;
        in_class += mc;
        days += n > 0;
        if (n > 0) {
            expected += (double)n * (double)mc / (double)m;
        }
    }
    memset(o, 0, sizeof *o);
    o->n = N;
    o->hits = H;
    o->base_rate = cells ? (double)in_class / (double)cells : (double)NAN;
    o->precision = o->expected = o->mean_ret = o->ci_lo = o->ci_hi = NAN;
    if (N == 0) {
        return;
    }
    double prec = (double)H / (double)N;
    o->precision = prec;
    o->expected = expected / (double)N;
    o->mean_ret = ret_sum / (double)N;
    if (days < 2) {
        return;
    }
    /* ratio estimator with day clusters: V = G/(G-1) sum_d (h_d - p n_d)^2 / N^2 */
    double ss = 0;
    for (size_t d = 0; d < p->n_days; d++) {
        size_t n = 0, h = 0;
        for (size_t k = 0; k < p->n_stocks; k++) {
            size_t i = d * p->n_stocks + k;
            if (p->actual[i] >= 0 && label[i] == c) {
                n++;
                h += p->actual[i] == c;
            }
        }
        double e = (double)h - prec * (double)n;
        ss += e * e;
    }
    double se = sqrt((double)days / (double)(days - 1) * ss) / (double)N;
    o->ci_lo = fmax(0.0, prec - 1.96 * se);
    o->ci_hi = fmin(1.0, prec + 1.96 * se);
}

static size_t month_index(const tm__eval_result *r, int32_t date)
{
    int32_t m = date / 100;
    size_t i = 0;
    while (i + 1 < r->n_months && r->months[i].month != m) {
        i++;
    }
    return i;
}

static bool months_init(const tm__eval_panel *p, tm__eval_result *r)
{
    size_t n = 0;
    for (size_t u = 0; u < p->n_dates; u++) {
        n += u == 0 || p->date[u] / 100 != p->date[u - 1] / 100;
    }
    r->months = tm_calloc(n ? n : 1, sizeof *r->months);
    if (!r->months) {
        return false;
    }
    r->n_months = n;
    n = 0;
    for (size_t u = 0; u < p->n_dates; u++) {
        if (u == 0 || p->date[u] / 100 != p->date[u - 1] / 100) {
            r->months[n].month = p->date[u] / 100;
            r->months[n].spread_net = r->months[n].ic = NAN;
            n++;
        }
    }
    return true;
}

/* Adds x to a month's running mean kept in *mean with count *cnt. */
static void add_mean(double *mean, size_t *cnt, double x)
{
    *mean = *cnt ? *mean + (x - *mean) / (double)(*cnt + 1) : x;
    (*cnt)++;
}

/* Spread, calls per day, IC and the months' signal figures. */
static void daily_figures(const tm__eval_panel *p, const tm__eval_calls *c, double cost,
                          tm__eval_result *r, double *spread, double *ic, size_t *cnt,
                          tm__eval_item *items, double *scratch)
{
    size_t S = p->n_stocks, n_spread = 0, n_ic = 0, calls_total = 0;
    double *a = scratch, *b = scratch + S, *ranks = scratch + 2 * S;
    memset(cnt, 0, 2 * r->n_months * sizeof *cnt);
    for (size_t d = 0; d < p->n_days; d++) {
        size_t nb = 0, ns = 0, m = 0, n_sc = 0;
        double sb = 0, ssl = 0;
        tm__eval_month *mo = &r->months[month_index(r, p->date[p->day_at[d]])];
        size_t mi = (size_t)(mo - r->months);
        for (size_t k = 0; k < S; k++) {
            size_t i = d * S + k;
            if (p->actual[i] < 0) {
                continue;
            }
            m++;
            if (c->label[i] >= 0) {
                r->calls_day[3 * d + c->label[i]] += 1;
            }
            if (c->label[i] == 2) {
                nb++;
                sb += p->ret[i];
                mo->n_buy++;
                mo->hits_buy += p->actual[i] == 2;
            } else if (c->label[i] == 0) {
                ns++;
                ssl += p->ret[i];
                mo->n_sell++;
                mo->hits_sell += p->actual[i] == 0;
            }
            if (c->score && !isnan(c->score[i])) {
                a[n_sc] = c->score[i];
                b[n_sc++] = p->ret[i];
            }
        }
        size_t calls = nb + ns;
        calls_total += calls;
        r->calls_max = calls > r->calls_max ? calls : r->calls_max;
        r->days_without += calls == 0;
        r->days_one_sided += 2 * nb > m || 2 * ns > m;
        if (nb > 0 && ns > 0) {
            spread[n_spread] = sb / (double)nb - ssl / (double)ns;
            add_mean(&mo->spread_net, &cnt[mi], spread[n_spread] - 4.0 * cost);
            n_spread++;
        }
        double rho = tm__eval_spearman(a, b, n_sc, items, ranks);
        if (!isnan(rho)) {
            ic[n_ic++] = rho;
            add_mean(&mo->ic, &cnt[r->n_months + mi], rho);
        }
    }
    r->calls_mean = p->n_days ? (double)calls_total / (double)p->n_days : (double)NAN;
    r->n_spread_days = n_spread;
    r->n_ic_days = n_ic;
}

/* Mean of x[0..n), NaN when n = 0. */
static double mean_of(const double *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) {
        s += x[i];
    }
    return n ? s / (double)n : (double)NAN;
}

/* Between-day share of the score's variance over evaluated cells. */
static double common_share(const tm__eval_panel *p, const double *score)
{
    if (!score) {
        return NAN;
    }
    double sum = 0, total = 0, between = 0;
    size_t n = 0;
    for (size_t i = 0; i < p->n_days * p->n_stocks; i++) {
        if (p->actual[i] >= 0 && !isnan(score[i])) {
            sum += score[i];
            n++;
        }
    }
    if (n == 0) {
        return NAN;
    }
    double grand = sum / (double)n;
    for (size_t d = 0; d < p->n_days; d++) {
        double s = 0;
        size_t m = 0;
        for (size_t k = 0; k < p->n_stocks; k++) {
            size_t i = d * p->n_stocks + k;
            if (p->actual[i] >= 0 && !isnan(score[i])) {
                s += score[i];
                total += (score[i] - grand) * (score[i] - grand);
                m++;
            }
        }
        if (m > 0) {
            between += (double)m * (s / (double)m - grand) * (s / (double)m - grand);
        }
    }
    return total > 0 ? between / total : (double)NAN;
}

tm_status tm__eval_run(const tm__eval_panel *p, const tm__eval_calls *c, double cost_bps,
                       tm__eval_result *r, tm_err *err)
{
    memset(r, 0, sizeof *r);
    double cost = cost_bps / 1e4;
    size_t S = p->n_stocks, D = p->n_days ? p->n_days : 1;
    double *spread = tm_malloc_n(D, sizeof *spread);
    double *ic = tm_malloc_n(D, sizeof *ic);
    double *scratch = tm_malloc_n(4 * S + 1, sizeof *scratch);
    tm__eval_item *items = tm_malloc_n(S + 1, sizeof *items);
    size_t *cnt = NULL;
    r->calls_day = tm_calloc(3 * D, sizeof *r->calls_day);
    tm_status st = TM_OK;
    if (!spread || !ic || !scratch || !items || !r->calls_day || !months_init(p, r) ||
        !(cnt = tm_malloc_n(2 * r->n_months + 1, sizeof *cnt))) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory evaluating signals");
        goto done;
    }
    for (int k = 0; k < 3; k++) {
        class_figures(p, c->label, k, &r->cls[k]);
    }
    daily_figures(p, c, cost, r, spread, ic, cnt, items, scratch);
    r->spread_gross = mean_of(spread, r->n_spread_days);
    r->spread_net = r->spread_gross - 4.0 * cost;
    for (size_t i = 0; i < r->n_spread_days; i++) {
        spread[i] -= 4.0 * cost;
    }
    size_t lag = p->horizon > 1 ? (size_t)p->horizon - 1 : 0;
    r->spread_t = tm__eval_nw_t(spread, r->n_spread_days, lag);
    r->ic_mean = mean_of(ic, r->n_ic_days);
    r->ic_t = tm__eval_nw_t(ic, r->n_ic_days, lag);
    r->common_share = common_share(p, c->score);
    st = tm__eval_book(p, c->label, cost_bps, r, err);
done:
    if (st != TM_OK) {
        tm__eval_result_free(r);
    }
    tm_free(spread);
    tm_free(ic);
    tm_free(scratch);
    tm_free(items);
    tm_free(cnt);
    return st;
}
