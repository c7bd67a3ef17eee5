/* Promotion tests: the check on a hand-built panel (4 stocks, 3 signal
 * days, known returns; the spreads are worked out in the comments)
 * accepts a better candidate, refuses a worse one, accepts an equal one,
 * refuses one without a BUY-and-SELL day or inside the random band, and
 * --force overrides it; the flip share on a hand example. */
#include <math.h>
#include <string.h>

#include "pipeline/promote_int.h"
#include "tm_test.h"

#define TOL 1e-9

/* Horizon 1, dates 2018-01-02..05, stocks A B C D, closes
 *   A 100 110  99 108.9   B 100 90 99 89.1   C 100 101 101 101   D 100 100 102 102
 * returns  day 0: A +0.10 B -0.10 C +0.01 D 0
 *          day 1: A -0.10 B +0.10 C 0     D +0.02
 *          day 2: A +0.10 B -0.10 C 0     D 0
 * realised classes (+4.0% / -3.6%): A B the sign of their move, C D HOLD. */
static const int8_t right[12] = {2, 0, 1, 1, 0, 2, 1, 1, 2, 0, 1, 1};
static const int8_t wrong[12] = {0, 2, 1, 1, 2, 0, 1, 1, 0, 2, 1, 1};
/* C BUY, D SELL every day: day spreads +0.01, -0.02, 0. */
static const int8_t small[12] = {1, 1, 2, 0, 1, 1, 2, 0, 1, 1, 2, 0};
static const int8_t buys[12] = {2, 1, 1, 1, 2, 1, 1, 1, 2, 1, 1, 1};

static void panel(tm__eval_panel *p, const int8_t *label)
{
    ck_assert(tm__eval_panel_alloc(p, 3, 4, 4));
    p->horizon = 1;
    const int32_t dates[4] = {20180102, 20180103, 20180104, 20180105};
    const double close[16] = {100, 100, 100, 100, 110,   90,   101, 100,
                              99,  99,  101, 102, 108.9, 89.1, 101, 102};
    const double ret[12] = {0.10, -0.10, 0.01, 0, -0.10, 0.10, 0, 0.02, 0.10, -0.10, 0, 0};
    const int8_t actual[12] = {2, 0, 1, 1, 0, 2, 1, 1, 2, 0, 1, 1};
    memcpy(p->date, dates, sizeof dates);
    memcpy(p->close, close, sizeof close);
    memcpy(p->ret, ret, sizeof ret);
    memcpy(p->actual, actual, sizeof actual);
    for (size_t i = 0; i < 12; i++) {
        p->label[i] = label[i];
        /* probabilities that put the label first */
        for (int c = 0; c < 3; c++) {
            p->prob[3 * i + (size_t)c] = c == label[i] ? 0.6 : 0.2;
        }
    }
    for (size_t d = 0; d < 3; d++) {
        p->day_at[d] = d;
    }
}

static void scores(const int8_t *label, double *s)
{
    for (size_t i = 0; i < 12; i++) {
        s[i] = label[i] == 2 ? 0.4 : label[i] == 0 ? -0.4 : 0.0;
    }
}

/* Judges candidate cand against active act (has_active) with force. */
static void judge(const int8_t *cand, const int8_t *act, bool force, tm__promote *r)
{
    tm__eval_panel p = {0};
    panel(&p, cand);
    double s[12];
    scores(act, s);
    memset(r, 0, sizeof *r);
    ck_assert_int_eq(tm__promote_judge(&p, act, s, true, force, r, NULL), TM_OK);
}

START_TEST(promote_accepts_a_better_candidate)
{
    tm__promote r;
    judge(right, wrong, false, &r);
    /* right: BUY - SELL = +0.20 each day, net of 4 x 10 bps: +0.196;
     * wrong: -0.20 - 0.004 = -0.204 */
    ck_assert_double_eq_tol(r.e->fixed[0].spread_net, 0.196, TOL);
    ck_assert_double_eq_tol(r.active.spread_net, -0.204, TOL);
    /* no random draw beats the perfect calls, and the band's 95th
     * percentile is below them unless most draws match every day */
    ck_assert(r.band_p95 < 0.196);
    ck_assert(r.promoted);
    ck_assert(!r.forced);
    ck_assert_double_eq_tol(r.e->fixed[0].cls[2].precision, 1.0, TOL);
    ck_assert_double_eq_tol(r.active.cls[2].precision, 0.0, TOL);
    tm__promote_free(&r);
}
END_TEST

START_TEST(promote_refuses_a_worse_candidate_unless_forced)
{
    tm__promote r;
    judge(wrong, right, false, &r);
    ck_assert(!r.promoted);
    ck_assert_str_eq(r.why, "net spread -20.40% below the active model's +19.60%");
    tm_pipeline_report rep;
    memset(&rep, 0, sizeof rep);
    tm__promote_report(&r, &rep);
    ck_assert_ptr_nonnull(strstr(rep.summary, "  not promoted: net spread -20.40% below"));
    ck_assert_ptr_nonnull(strstr(rep.summary, "    candidate              3/3    "));
    ck_assert_ptr_nonnull(strstr(rep.summary, "momentum 20d"));
    tm__promote_free(&r);
    judge(wrong, right, true, &r);
    ck_assert(r.promoted);
    ck_assert(r.forced);
    ck_assert_str_eq(r.why, "net spread -20.40% below the active model's +19.60%");
    tm__promote_free(&r);
}
END_TEST

START_TEST(promote_equal_figures_are_not_worse)
{
    tm__promote r;
    judge(right, right, false, &r);
    ck_assert_double_eq(r.e->fixed[0].spread_net, r.active.spread_net);
    ck_assert(r.promoted);
    tm__promote_free(&r);
}
END_TEST

START_TEST(promote_refuses_without_a_spread_or_inside_the_band)
{
    tm__promote r;
    /* only BUY calls: no day has both sides, no spread */
    judge(buys, wrong, false, &r);
    ck_assert(isnan(r.e->fixed[0].spread_net));
    ck_assert(!r.promoted);
    ck_assert_str_eq(r.why, "the candidate has no day with both a BUY and a SELL in the window");
    tm__promote_free(&r);
    /* C BUY D SELL: (+0.01 - 0.02 + 0) / 3 - 0.004 = -0.00733, better than
     * the wrong calls but not above the random band (random pairs of the
     * 4 stocks average 0 gross per day) */
    judge(small, wrong, false, &r);
    ck_assert_double_eq_tol(r.e->fixed[0].spread_net, -0.01 / 3 - 0.004, TOL);
    ck_assert(r.band_p95 > r.e->fixed[0].spread_net);
    ck_assert(!r.promoted);
    ck_assert_ptr_nonnull(strstr(r.why, "not above the random band's 95th percentile"));
    tm__promote_free(&r);
}
END_TEST

START_TEST(promote_flip_share_by_hand)
{
    /* cells: 0 HOLD/HOLD (no signal), 1 BUY/BUY, 2 SELL/BUY (flip),
     * 3 HOLD/SELL (flip), 4 skipped (-1), 5 BUY/HOLD (flip): 3 of 4 */
    const int8_t a[6] = {1, 2, 0, 1, -1, 2}, b[6] = {1, 2, 2, 0, 1, 1};
    size_t flips, signals, cells;
    double s = tm__promote_flip_share(a, b, 6, &flips, &signals, &cells);
    ck_assert_double_eq_tol(s, 0.75, TOL);
    ck_assert_uint_eq(flips, 3);
    ck_assert_uint_eq(signals, 4);
    ck_assert_uint_eq(cells, 5);
    /* all HOLD: no signal, no share */
    const int8_t h[3] = {1, 1, 1};
    ck_assert(isnan(tm__promote_flip_share(h, h, 3, &flips, &signals, &cells)));
    ck_assert_uint_eq(cells, 3);
    ck_assert(isnan(tm__promote_flip_share(h, h, 0, &flips, &signals, &cells)));
}
END_TEST

TM_TEST_SUITE(promote);
TM_TEST_SUITE(promote)
{
    Suite *s = suite_create("promote");
    TCase *tc = tcase_create("promote");
    tcase_add_test(tc, promote_accepts_a_better_candidate);
    tcase_add_test(tc, promote_refuses_a_worse_candidate_unless_forced);
    tcase_add_test(tc, promote_equal_figures_are_not_worse);
    tcase_add_test(tc, promote_refuses_without_a_spread_or_inside_the_band);
    tcase_add_test(tc, promote_flip_share_by_hand);
    suite_add_tcase(s, tc);
    return s;
}
