/* Evaluation tests: every metric on a hand-computed panel (3 stocks, 2
 * days, known returns; the expected numbers are worked out in the
 * comments), the baselines' calls on hand examples, the panel read from a
 * database (returns, momentum, pending days), the look-ahead property
 * (the same evaluation on a database holding later prices and signals is
 * byte-identical), the command's refusals, and the HTML report in
 * headless chromium (rendered plots, no console message). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <turbomode/pipeline.h>
#include <turbomode/store.h>

#include "pipeline/eval_int.h"
#include "tm_test.h"

#define TOL 1e-9

/* The hand panel, horizon 1, dates 2018-01-02..04, stocks A B C:
 *   closes   A 100 110  99   B 50 45 45   C 20 20 21
 *   returns  day 0: A +0.10 (BUY) B -0.10 (SELL) C 0 (HOLD)
 *            day 1: A -0.10 (SELL) B 0 (HOLD) C +0.05 (BUY)
 *   system   day 0: A BUY, B SELL, C BUY; day 1: A BUY, B HOLD, C SELL
 *   scores   day 0: 0.5 -0.5 0.1; day 1: 0.2 0 -0.3 */
static void hand_panel(tm__eval_panel *p, double *score)
{
    ck_assert(tm__eval_panel_alloc(p, 2, 3, 3));
    p->horizon = 1;
    const int32_t dates[3] = {20180102, 20180103, 20180104};
    const double close[9] = {100, 50, 20, 110, 45, 20, 99, 45, 21};
    const double ret[6] = {0.10, -0.10, 0.0, -0.10, 0.0, 0.05};
    const int8_t actual[6] = {2, 0, 1, 0, 1, 2}, label[6] = {2, 0, 2, 2, 1, 0};
    const double sc[6] = {0.5, -0.5, 0.1, 0.2, 0.0, -0.3};
    memcpy(p->date, dates, sizeof dates);
    memcpy(p->close, close, sizeof close);
    memcpy(p->ret, ret, sizeof ret);
    memcpy(p->actual, actual, sizeof actual);
    memcpy(p->label, label, sizeof label);
    memcpy(score, sc, sizeof sc);
    p->day_at[0] = 0;
    p->day_at[1] = 1;
}

START_TEST(eval_precision_clustered_by_day_by_hand)
{
    tm__eval_panel p = {0};
    double score[6];
    hand_panel(&p, score);
    tm__eval_calls c = {.label = p.label, .score = score};
    tm__eval_result r;
    ck_assert_int_eq(tm__eval_run(&p, &c, 10, &r, NULL), TM_OK);
    /* BUY: A0 hit, C0 miss, A1 miss: 1/3. Day residuals h - p n: 1 - 2/3,
     * 0 - 1/3; V = 2/(2-1) * (1/9 + 1/9) / 3^2 = 4/81, se = 2/9. */
    const tm__eval_class *b = &r.cls[2];
    ck_assert_uint_eq(b->n, 3);
    ck_assert_uint_eq(b->hits, 1);
    ck_assert_double_eq_tol(b->precision, 1.0 / 3, TOL);
    ck_assert_double_eq_tol(b->ci_lo, 0.0, TOL);
    ck_assert_double_eq_tol(b->ci_hi, 1.0 / 3 + 1.96 * 2.0 / 9, TOL);
    ck_assert_double_eq_tol(b->base_rate, 2.0 / 6, TOL);
    /* each day has 1 BUY in 3 stocks: (2 x 1/3 + 1 x 1/3) / 3 */
    ck_assert_double_eq_tol(b->expected, 1.0 / 3, TOL);
    ck_assert_double_eq_tol(b->mean_ret, 0.0, TOL);
    /* SELL: B0 hit, C1 miss: 1/2; residuals +-1/2, V = 2 * 0.5 / 4, se 0.5 */
    const tm__eval_class *s = &r.cls[0];
    ck_assert_uint_eq(s->n, 2);
    ck_assert_double_eq_tol(s->precision, 0.5, TOL);
    ck_assert_double_eq_tol(s->ci_lo, 0.0, TOL);
    ck_assert_double_eq_tol(s->ci_hi, 1.0, TOL);
    ck_assert_double_eq_tol(s->mean_ret, -0.025, TOL);
    /* HOLD: one call on one day: no interval */
    ck_assert_uint_eq(r.cls[1].n, 1);
    ck_assert_double_eq_tol(r.cls[1].precision, 1.0, TOL);
    ck_assert(isnan(r.cls[1].ci_lo));
    tm__eval_result_free(&r);
    tm__eval_panel_free(&p);
}
END_TEST

START_TEST(eval_spread_ic_and_calls_by_hand)
{
    tm__eval_panel p = {0};
    double score[6];
    hand_panel(&p, score);
    tm__eval_calls c = {.label = p.label, .score = score};
    tm__eval_result r;
    ck_assert_int_eq(tm__eval_run(&p, &c, 10, &r, NULL), TM_OK);
    /* day 0: BUY mean (0.10 + 0) / 2 - SELL -0.10 = 0.15; day 1: -0.10 - 0.05 */
    ck_assert_uint_eq(r.n_spread_days, 2);
    ck_assert_double_eq_tol(r.spread_gross, 0.0, TOL);
    ck_assert_double_eq_tol(r.spread_net, -0.004, TOL);
    /* lag 0: t = mean / sqrt(gamma0 / n), gamma0 = (0.15^2 + 0.15^2) / 2 */
    ck_assert_double_eq_tol(r.spread_t, -0.004 / sqrt(0.0225 / 2), 1e-9);
    /* ranks agree on day 0 (+1) and are reversed on day 1 (-1) */
    ck_assert_uint_eq(r.n_ic_days, 2);
    ck_assert_double_eq_tol(r.ic_mean, 0.0, TOL);
    /* day means +1/30 and -1/30 around 0: between 3 (1/900) 2, total 0.64 */
    ck_assert_double_eq_tol(r.common_share, 6.0 / 900 / 0.64, TOL);
    ck_assert_double_eq_tol(r.calls_mean, 2.5, TOL);
    ck_assert_uint_eq(r.calls_max, 3);
    ck_assert_uint_eq(r.days_without, 0);
    ck_assert_uint_eq(r.days_one_sided, 1); /* day 0: 2 BUY of 3 */
    ck_assert_uint_eq(r.n_months, 1);
    ck_assert_uint_eq(r.months[0].n_buy, 3);
    ck_assert_uint_eq(r.months[0].hits_sell, 1);
    ck_assert_double_eq_tol(r.months[0].spread_net, -0.004, TOL);
    tm__eval_result_free(&r);
    tm__eval_panel_free(&p);
}
END_TEST

START_TEST(eval_book_of_tranches_by_hand)
{
    tm__eval_panel p = {0};
    double score[6];
    hand_panel(&p, score);
    tm__eval_calls c = {.label = p.label, .score = score};
    tm__eval_result r;
    ck_assert_int_eq(tm__eval_run(&p, &c, 10, &r, NULL), TM_OK);
    /* tranche 0: A +1/2, C +1/2, B -1; P&L on day 1: 0.05 + 0 + 0.1.
     * tranche 1: A +1, C -1; P&L on day 2: -0.1 - 0.05.
     * trades: day 0 |0.5|+|-1|+|0.5| = 2; day 1 A -0.55+1, B +0.9,
     * C -0.5-1: 2.85; day 2 A -0.9, C +1.05: 1.95; cost 0.001 a unit. */
    const double net[3] = {-0.002, 0.15 - 0.00285, -0.15 - 0.00195};
    ck_assert_double_eq_tol(r.pnl_cum[0], net[0], TOL);
    ck_assert_double_eq_tol(r.pnl_cum[1], net[0] + net[1], TOL);
    ck_assert_double_eq_tol(r.pnl_cum[2], net[0] + net[1] + net[2], TOL);
    ck_assert_double_eq_tol(r.turnover, (1.0 + 1.425 + 0.975) / 3, TOL);
    ck_assert_double_eq_tol(r.ann_gross, 0.0, TOL);
    double mean = (net[0] + net[1] + net[2]) / 3, ss = 0;
    for (int i = 0; i < 3; i++) {
        ss += (net[i] - mean) * (net[i] - mean);
    }
    ck_assert_double_eq_tol(r.ann_net, mean * 252, TOL);
    ck_assert_double_eq_tol(r.sharpe_net, mean / sqrt(ss / 2) * sqrt(252.0), 1e-9);
    /* peak 0.14515 on day 1, then down to -0.0068 */
    ck_assert_double_eq_tol(r.max_drawdown, net[0] + net[1] - (net[0] + net[1] + net[2]), TOL);
    ck_assert_double_eq_tol(r.months[0].pnl_net, net[0] + net[1] + net[2], TOL);
    tm__eval_result_free(&r);
    tm__eval_panel_free(&p);
}
END_TEST

START_TEST(eval_always_hold_has_no_spread_and_a_flat_book)
{
    tm__eval_panel p = {0};
    double score[6];
    hand_panel(&p, score);
    int8_t hold[6] = {1, 1, 1, 1, 1, 1};
    tm__eval_calls c = {.label = hold, .score = NULL};
    tm__eval_result r;
    ck_assert_int_eq(tm__eval_run(&p, &c, 10, &r, NULL), TM_OK);
    ck_assert_uint_eq(r.cls[1].n, 6);
    ck_assert_double_eq_tol(r.cls[1].precision, 2.0 / 6, TOL);
    ck_assert_uint_eq(r.cls[2].n, 0);
    ck_assert(isnan(r.cls[2].precision));
    ck_assert(isnan(r.spread_net));
    ck_assert(isnan(r.ic_mean));
    ck_assert_uint_eq(r.days_without, 2);
    ck_assert_double_eq_tol(r.pnl_cum[2], 0.0, TOL);
    ck_assert_double_eq_tol(r.turnover, 0.0, TOL);
    tm__eval_result_free(&r);
    tm__eval_panel_free(&p);
}
END_TEST

START_TEST(eval_statistics_by_hand)
{
    /* Newey-West, lag 1, x = 1 2 3 4: mean 2.5, gamma0 = 5/4,
     * gamma1 = (-1.5 * -0.5 + -0.5 * 0.5 + 0.5 * 1.5) / 4 = 1.25/4;
     * long-run variance 1.25 + 2 (1/2) 0.3125 = 1.5625 */
    const double x[4] = {1, 2, 3, 4};
    ck_assert_double_eq_tol(tm__eval_nw_t(x, 4, 1), 2.5 / sqrt(1.5625 / 4), TOL);
    ck_assert(isnan(tm__eval_nw_t(x, 1, 0)));
    /* Spearman with a tie: a = 1 2 2 3 (ranks 1 2.5 2.5 4), b = 4 3 2 1 */
    const double a[4] = {1, 2, 2, 3}, b[4] = {4, 3, 2, 1};
    tm__eval_item items[4];
    double ranks[8];
    /* centred ranks a: -1.5 0 0 1.5, b: 1.5 0.5 -0.5 -1.5: -4.5 / sqrt(4.5 * 5) */
    ck_assert_double_eq_tol(tm__eval_spearman(a, b, 4, items, ranks), -4.5 / sqrt(4.5 * 5), TOL);
    const double flat[4] = {1, 1, 1, 1};
    ck_assert(isnan(tm__eval_spearman(flat, b, 4, items, ranks)));
    /* quantiles of 1..5 (NaN dropped): q 0.05 -> 1.2, q 0.95 -> 4.8 */
    double q[6] = {5, 1, NAN, 3, 2, 4};
    ck_assert_double_eq_tol(tm__eval_quantile(q, 6, 0.05), 1.2, TOL);
    double q2[5] = {5, 1, 3, 2, 4};
    ck_assert_double_eq_tol(tm__eval_quantile(q2, 5, 0.95), 4.8, TOL);
}
END_TEST

START_TEST(eval_baseline_rank_calls_by_hand)
{
    tm__eval_panel p = {0};
    ck_assert(tm__eval_panel_alloc(&p, 1, 2, 5));
    p.horizon = 1;
    for (int k = 0; k < 5; k++) {
        p.actual[k] = k == 4 ? -1 : 1; /* stock 4 not evaluated */
    }
    /* valid scores: 0: 0.3, 1: NaN, 2: -0.2, 3: 0.3; a quarter of the 4
     * scored stocks: 1 each side; the tie at the top goes to stock 3 */
    const double score[5] = {0.3, NAN, -0.2, 0.3, 9.0};
    int8_t label[5];
    ck_assert(tm__eval_calls_rank(&p, score, 0.25, label));
    const int8_t want[5] = {1, 1, 0, 2, -1};
    for (int k = 0; k < 5; k++) {
        ck_assert_int_eq(label[k], want[k]);
    }
    tm__eval_panel_free(&p);
}
END_TEST

START_TEST(eval_baseline_random_keeps_the_daily_counts)
{
    tm__eval_panel p = {0};
    ck_assert(tm__eval_panel_alloc(&p, 3, 4, 20));
    p.horizon = 1;
    int8_t sys[60];
    for (int i = 0; i < 60; i++) {
        p.actual[i] = i % 7 == 3 ? -1 : 1;
        sys[i] = (int8_t)(i % 5 == 0 ? 2 : i % 11 == 0 ? 0 : 1);
    }
    int8_t a[60], b[60], c[60];
    ck_assert(tm__eval_calls_random(&p, sys, 7, a));
    ck_assert(tm__eval_calls_random(&p, sys, 7, b));
    ck_assert(tm__eval_calls_random(&p, sys, 8, c));
    ck_assert_mem_eq(a, b, sizeof a);
    ck_assert(memcmp(a, c, sizeof a) != 0);
    for (int d = 0; d < 3; d++) {
        int n[2][3] = {{0}};
        for (int k = 0; k < 20; k++) {
            int i = d * 20 + k;
            if (p.actual[i] < 0) {
                ck_assert_int_eq(a[i], -1);
                continue;
            }
            n[0][sys[i]]++;
            n[1][a[i]]++;
        }
        ck_assert_int_eq(n[0][0], n[1][0]);
        ck_assert_int_eq(n[0][2], n[1][2]);
    }
    tm__eval_panel_free(&p);
}
END_TEST

/* ---- from a database ------------------------------------------------------ */

#define N_STOCKS 4

static const char *dir(void)
{
    static char d[512];
    if (!d[0]) {
        snprintf(d, sizeof d, "%s_evaluate", tm_test_tmpdir());
    }
    mkdir(d, 0700);
    return d;
}

/* Trading day n: weekdays from Monday 2017-01-02. */
static int32_t day(int n)
{
    return tm_ymd_from_days(tm_ymd_days(20170102) + n / 5 * 7 + n % 5);
}

static double close_of(int k, int t)
{
    return 50.0 * (1 + 0.25 * k) * exp(0.04 * sin(0.9 * t + k) + 0.001 * t);
}

/* A database with prices of days [0, n_days) and signals on days
 * first_signal .. last_signal. */
static void make_db_from(const char *path, int n_days, int first_signal, int last_signal)
{
    tm_pipeline_opts o;
    tm_pipeline_opts_init(&o);
    o.db_path = path;
    tm_pipeline *pl = NULL;
    tm_err err;
    tm_err_init(&err);
    remove(path);
    ck_assert_int_eq(tm_pipeline_open(&o, &pl, &err), TM_OK);
    tm_pipeline_close(pl);
    tm_store *s = NULL;
    ck_assert_int_eq(tm_store_open(path, &s, &err), TM_OK);
    const char *names[N_STOCKS] = {"AAA", "BBB", "CCC", "DDD"};
    ck_assert_int_eq(tm_store_universe_add(s, names, N_STOCKS, &err), TM_OK);
    ck_assert_int_eq(tm_store_begin(s, &err), TM_OK);
    for (int t = 0; t < n_days; t++) {
        for (int k = 0; k < N_STOCKS; k++) {
            double c = close_of(k, t);
            tm_store_price row = {.date = day(t), .open = c, .high = c, .low = c, .close = c};
            snprintf(row.symbol, sizeof row.symbol, "%s", names[k]);
            row.volume = 1000;
            ck_assert_int_eq(tm_store_prices_upsert(s, &row, 1, &err), TM_OK);
        }
    }
    for (int t = first_signal; t <= last_signal; t++) {
        for (int k = 0; k < N_STOCKS; k++) {
            tm_store_signal g = {.date = day(t), .label = (t + k) % 3, .price = close_of(k, t)};
            snprintf(g.symbol, sizeof g.symbol, "%s", names[k]);
            g.prob[0] = 0.1 + 0.05 * ((t + 2 * k) % 4);
            g.prob[2] = 0.1 + 0.04 * ((3 * t + k) % 5);
            g.prob[1] = 1 - g.prob[0] - g.prob[2];
            ck_assert_int_eq(tm_store_signal_insert(s, &g, &err), TM_OK);
        }
    }
    ck_assert_int_eq(tm_store_commit(s, &err), TM_OK);
    tm_store_close(s);
}

static void make_db(const char *path, int n_days, int last_signal)
{
    make_db_from(path, n_days, 25, last_signal);
}

static tm_pipeline_eval *evaluate(const char *db, int from, int to)
{
    tm_pipeline_opts o;
    tm_pipeline_opts_init(&o);
    o.db_path = db;
    tm_pipeline *pl = NULL;
    tm_pipeline_eval *e = NULL;
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_pipeline_open(&o, &pl, &err), TM_OK);
    tm_pipeline_eval_opts eo;
    tm_pipeline_eval_opts_init(&eo);
    eo.from = day(from);
    eo.to = day(to);
    tm_status st = tm_pipeline_evaluate(pl, &eo, &e, &err);
    char msg[512];
    ck_assert_msg(st == TM_OK, "%s", tm_err_format(&err, msg, sizeof msg));
    tm_pipeline_close(pl);
    return e;
}

START_TEST(eval_panel_from_the_store_by_hand)
{
    char db[600];
    snprintf(db, sizeof db, "%s/a.db", dir());
    make_db(db, 40, 34);
    /* to = day 37: signal days 25..32 have their 5-day horizon over, 33
     * and 34 are pending */
    tm_pipeline_eval *e = evaluate(db, 20, 37);
    const tm__eval_panel *p = &e->panel;
    ck_assert_uint_eq(p->n_days, 8);
    ck_assert_uint_eq(e->n_pending, 2);
    ck_assert_uint_eq(p->n_stocks, N_STOCKS);
    ck_assert_uint_eq(p->n_dates, 13); /* days 25 .. 37 */
    ck_assert_int_eq(p->date[0], day(25));
    ck_assert_int_eq(p->date[12], day(37));
    /* cell (day 27, CCC): forward return, class, momentum and reversal */
    size_t i = 2 * N_STOCKS + 2;
    double r = close_of(2, 32) / close_of(2, 27) - 1;
    ck_assert_double_eq_tol(p->ret[i], r, 1e-12);
    ck_assert_int_eq(p->actual[i], r > 0.04 ? 2 : r < -0.036 ? 0 : 1);
    ck_assert_double_eq_tol(p->mom[i], close_of(2, 27) / close_of(2, 7) - 1, 1e-12);
    ck_assert_double_eq_tol(p->rev[i], close_of(2, 27) / close_of(2, 22) - 1, 1e-12);
    ck_assert_int_eq(p->label[i], (27 + 2) % 3);
    ck_assert_uint_eq(e->n_cells, 8 * N_STOCKS);
    ck_assert(!tm_pipeline_eval_edge(e)); /* 8 days: under two years */
    tm_pipeline_eval_free(e);
}
END_TEST

START_TEST(eval_ignores_later_prices_and_signals)
{
    char a[600], b[600], ja[700], jb[700];
    snprintf(a, sizeof a, "%s/early.db", dir());
    snprintf(b, sizeof b, "%s/late.db", dir());
    make_db(a, 38, 37);
    make_db(b, 70, 60); /* 32 more days of prices and of signals */
    tm_pipeline_eval *ea = evaluate(a, 20, 37), *eb = evaluate(b, 20, 37);
    snprintf(ja, sizeof ja, "%s/early.json", dir());
    snprintf(jb, sizeof jb, "%s/late.json", dir());
    ck_assert_int_eq(tm_pipeline_eval_write_json(ea, ja, NULL), TM_OK);
    ck_assert_int_eq(tm_pipeline_eval_write_json(eb, jb, NULL), TM_OK);
    size_t na = 0, nb = 0;
    char *ta = tm_test_slurp(ja, &na), *tb = tm_test_slurp(jb, &nb);
    ck_assert_ptr_nonnull(ta);
    ck_assert_ptr_nonnull(tb);
    ck_assert_uint_eq(na, nb);
    ck_assert_mem_eq(ta, tb, na);
    free(ta);
    free(tb);
    char *x = NULL, *y = NULL;
    ck_assert_int_eq(tm_pipeline_eval_text(ea, &x, NULL), TM_OK);
    ck_assert_int_eq(tm_pipeline_eval_text(eb, &y, NULL), TM_OK);
    ck_assert_str_eq(x, y);
    tm_free(x);
    tm_free(y);
    /* and the later window does see the later data */
    tm_pipeline_eval *ec = evaluate(b, 20, 45);
    ck_assert_uint_gt(ec->panel.n_days, ea->panel.n_days);
    tm_pipeline_eval_free(ea);
    tm_pipeline_eval_free(eb);
    tm_pipeline_eval_free(ec);
}
END_TEST

START_TEST(eval_cli_refuses_bad_options)
{
    char db[600];
    snprintf(db, sizeof db, "%s/cli.db", dir());
    make_db(db, 40, 34);
    const char *bin = tm_test_bin();
    char out[700];
    snprintf(out, sizeof out, "%s/cli.err", dir());
    ck_assert_int_eq(tm_test_system("%s evaluate --db %s --from 2017-02-10 --to 2017-02-01 "
                                    "2>%s",
                                    bin, db, out),
                     2);
    char *msg = tm_test_slurp(out, NULL);
    ck_assert_ptr_nonnull(strstr(msg, "field 'to'"));
    free(msg);
    ck_assert_int_eq(tm_test_system("%s evaluate --db %s --from 2017-02-01 --to 2017-02-20 "
                                    "--cost-bps abc 2>%s",
                                    bin, db, out),
                     2);
    msg = tm_test_slurp(out, NULL);
    ck_assert_ptr_nonnull(strstr(msg, "--cost-bps: expected a finite number, found \"abc\""));
    free(msg);
    ck_assert_int_eq(tm_test_system("%s evaluate --db %s --from 2017-02-01 --to 2017-02-20 "
                                    "--cost-bps -5 2>%s",
                                    bin, db, out),
                     2);
    ck_assert_int_eq(tm_test_system("%s evaluate --db %s/none.db --from 2017-02-01 --to "
                                    "2017-02-20 2>/dev/null",
                                    bin, dir()),
                     2);
    /* no signal day before 2017-01-20 */
    ck_assert_int_eq(tm_test_system("%s evaluate --db %s --from 2017-01-02 --to 2017-01-20 "
                                    "2>%s",
                                    bin, db, out),
                     2);
    msg = tm_test_slurp(out, NULL);
    ck_assert_ptr_nonnull(strstr(msg, "no signals dated 2017-01-02..2017-01-20"));
    free(msg);
}
END_TEST

/* The signals output says "no demonstrated edge" before any evaluation
 * and after one that showed none. */
static void edge_note(const char *db, char *note, size_t cap)
{
    tm_pipeline_opts o;
    tm_pipeline_opts_init(&o);
    o.db_path = db;
    tm_pipeline *pl = NULL;
    ck_assert_int_eq(tm_pipeline_open(&o, &pl, NULL), TM_OK);
    ck_assert_int_eq(tm_pipeline_edge_note(pl, note, cap, NULL), TM_OK);
    tm_pipeline_close(pl);
}

START_TEST(eval_verdict_reaches_the_signals_output)
{
    char db[600], note[4200];
    snprintf(db, sizeof db, "%s/note.db", dir());
    make_db(db, 40, 34);
    edge_note(db, note, sizeof note);
    ck_assert_str_eq(note, "signal quality: no demonstrated edge (no evaluation yet: turbomode "
                           "evaluate)\n");
    ck_assert_int_eq(tm_test_system("%s evaluate --db %s --from 2017-02-01 --to 2017-02-24 "
                                    ">/dev/null",
                                    tm_test_bin(), db),
                     0);
    edge_note(db, note, sizeof note);
    /* signals on days 25..34 = 2017-02-06..2017-02-17, all with their
     * horizon over by day 39 = 2017-02-24 */
    ck_assert_str_eq(note, "signal quality: no demonstrated edge (latest evaluation "
                           "2017-02-01..2017-02-24, 10 signal days: no demonstrated edge: the "
                           "signal days span 11 calendar days, under two years)\n");
}
END_TEST

START_TEST(eval_html_report_renders_in_chromium)
{
    if (tm_test_system("command -v chromium >/dev/null 2>&1") != 0) {
        tm_test_skips++;
        fprintf(stderr, "SKIP: eval_html_report_renders_in_chromium: chromium is not installed "
                        "(apt-get install chromium)\n");
        return;
    }
    char db[600], html[700], dom[700], log[700];
    snprintf(db, sizeof db, "%s/html.db", dir());
    snprintf(html, sizeof html, "%s/report.html", dir());
    snprintf(dom, sizeof dom, "%s/report.dom", dir());
    snprintf(log, sizeof log, "%s/report.log", dir());
    make_db(db, 60, 54);
    ck_assert_int_eq(tm_test_system("%s evaluate --db %s --from 2017-02-01 --to 2017-03-24 "
                                    "--html %s >/dev/null",
                                    tm_test_bin(), db, html),
                     0);
    char *page = tm_test_slurp(html, NULL);
    ck_assert_ptr_nonnull(page);
    ck_assert_ptr_null(strstr(page, "src=")); /* nothing loaded from outside */
    ck_assert_ptr_null(strstr(page, "href="));
    free(page);
    ck_assert_int_eq(tm_test_system("timeout 120 chromium --headless --no-sandbox --disable-gpu "
                                    "--user-data-dir=%s/chrome --enable-logging=stderr --v=0 "
                                    "--dump-dom file://%s >%s 2>%s",
                                    dir(), html, dom, log),
                     0);
    char *out = tm_test_slurp(dom, NULL);
    ck_assert_ptr_nonnull(out);
    /* the inline check found four laid-out plots */
    ck_assert_msg(strstr(out, "data-plots=\"4\"") != NULL, "plots did not all render");
    for (const char *id = "pnl\0calls\0reliability\0deciles\0"; *id; id += strlen(id) + 1) {
        char want[64];
        snprintf(want, sizeof want, "id=\"%s\"", id);
        ck_assert_msg(strstr(out, want) != NULL, "plot %s missing", id);
    }
    ck_assert_ptr_nonnull(strstr(out, "no demonstrated edge"));
    free(out);
    char *err = tm_test_slurp(log, NULL);
    ck_assert_msg(err && strstr(err, "CONSOLE") == NULL, "console output: %s", err ? err : "");
    free(err);
}
END_TEST

static int64_t count(const char *db, const char *sql)
{
    tm_store *s = NULL;
    int64_t n = -1;
    ck_assert_int_eq(tm_store_open(db, &s, NULL), TM_OK);
    ck_assert_int_eq(tm_store_query_int(s, sql, &n, NULL), TM_OK);
    tm_store_close(s);
    return n;
}

/* The days between the backfill's cut-off (its as_of minus the horizon)
 * and the first signal have no outcome: the sample generator takes them
 * from the price history once their label is known, and only them. */
START_TEST(samples_fill_the_gap_before_the_first_signal)
{
    char db[600];
    snprintf(db, sizeof db, "%s/gap.db", dir());
    make_db_from(db, 300, 285, 286);
    tm_pipeline_opts o;
    tm_pipeline_opts_init(&o);
    o.db_path = db;
    tm_pipeline *pl = NULL;
    tm_pipeline_report rep;
    ck_assert_int_eq(tm_pipeline_open(&o, &pl, NULL), TM_OK);
    /* as of day 280: days 252 (warm-up) .. 275 (label from day 280) */
    ck_assert_int_eq(tm_pipeline_backfill(pl, day(280), &rep, NULL), TM_OK);
    ck_assert_int_eq(count(db, "SELECT count(*) FROM training_samples"), N_STOCKS * 24);
    /* as of day 295: days 276 .. 284 join (before the first signal, day
     * 285; labels known by 289); days 285 .. 290 do not */
    ck_assert_int_eq(tm_pipeline_generate_samples(pl, day(295), &rep, NULL), TM_OK);
    ck_assert_int_eq(count(db, "SELECT count(*) FROM training_samples"), N_STOCKS * 33);
    char sql[200], d[16];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM training_samples WHERE date >= '%s'",
             tm_store_date_format(day(285), d));
    ck_assert_int_eq(count(db, sql), 0);
    /* CCC on day 280: label from close(285) / close(280) - 1 */
    double r = close_of(2, 285) / close_of(2, 280) - 1;
    snprintf(sql, sizeof sql,
             "SELECT label FROM training_samples WHERE symbol = 'CCC' AND date = '%s'",
             tm_store_date_format(day(280), d));
    ck_assert_int_eq(count(db, sql), r > 0.04 ? 2 : r < -0.036 ? 0 : 1);
    /* again: nothing new */
    ck_assert_int_eq(tm_pipeline_generate_samples(pl, day(295), &rep, NULL), TM_OK);
    ck_assert_int_eq(count(db, "SELECT count(*) FROM training_samples"), N_STOCKS * 33);
    tm_pipeline_close(pl);
}
END_TEST

START_TEST(eval_zz_cleanup)
{
    ck_assert_int_eq(tm_test_system("rm -rf '%s'", dir()), 0);
}
END_TEST

TM_TEST_SUITE(evaluate);
TM_TEST_SUITE(evaluate)
{
    Suite *s = suite_create("evaluate");
    TCase *tc = tcase_create("evaluate");
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, eval_precision_clustered_by_day_by_hand);
    tcase_add_test(tc, eval_spread_ic_and_calls_by_hand);
    tcase_add_test(tc, eval_book_of_tranches_by_hand);
    tcase_add_test(tc, eval_always_hold_has_no_spread_and_a_flat_book);
    tcase_add_test(tc, eval_statistics_by_hand);
    tcase_add_test(tc, eval_baseline_rank_calls_by_hand);
    tcase_add_test(tc, eval_baseline_random_keeps_the_daily_counts);
    tcase_add_test(tc, eval_panel_from_the_store_by_hand);
    tcase_add_test(tc, eval_ignores_later_prices_and_signals);
    tcase_add_test(tc, eval_cli_refuses_bad_options);
    tcase_add_test(tc, eval_verdict_reaches_the_signals_output);
    tcase_add_test(tc, eval_html_report_renders_in_chromium);
    tcase_add_test(tc, samples_fill_the_gap_before_the_first_signal);
    tcase_add_test(tc, eval_zz_cleanup);
    suite_add_tcase(s, tc);
    return s;
}
