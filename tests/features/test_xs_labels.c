/* Cross-sectional decile labels (src/features/labels.c): the volatility
 * on a hand series, the risk-adjusted ranking on hand days (a stock with
 * the day's largest return that is not its best score, ties at a decile
 * boundary, a day with too few scored stocks, NaN returns and
 * volatilities). */
#include <math.h>
#include <string.h>

#include <turbomode/features.h>

#include "tm_test.h"

/* Closes 100, 101, 100, 101, ...: the 20 returns ending at bar 20 are
 * ten of +0.01 and ten of 100/101 - 1 = -1/101. Their mean is
 * (0.01 - 1/101) / 2 = 0.0001/2.02, every deviation is
 * d = (0.01 + 1/101) / 2 = 2.01/202, and the sample variance is
 * 20 d^2 / 19, so the volatility is d * sqrt(20 / 19). */
START_TEST(xs_volatility_sample_std_of_daily_returns)
{
    double c[22];
    for (int i = 0; i < 22; i++) {
        c[i] = i % 2 ? 101 : 100;
    }
    double d = 2.01 / 202;
    ck_assert_double_eq_tol(tm_features_volatility(c, 22, 20, 20), d * sqrt(20.0 / 19.0), 1e-15);
    ck_assert_double_eq_tol(tm_features_volatility(c, 22, 21, 20), d * sqrt(20.0 / 19.0), 1e-15);
    ck_assert(isnan(tm_features_volatility(c, 22, 19, 20))); /* 19 returns only */
    ck_assert(isnan(tm_features_volatility(c, 22, 22, 20))); /* past the end */
    c[5] = NAN;                                              /* inside bar 20's window */
    ck_assert(isnan(tm_features_volatility(c, 22, 20, 20)));
    c[5] = 101;
    c[0] = 0; /* close 0 is in the window of bar 20 (closes 0..20), not of bar 21 (1..21) */
    ck_assert(isnan(tm_features_volatility(c, 22, 20, 20)));
    ck_assert(!isnan(tm_features_volatility(c, 22, 21, 20)));
}
END_TEST

/* Day 1, ten stocks, horizon 5 (sqrt 5 = 2.2360680): sorted forward
 * returns -0.06 -0.03 -0.02 -0.01 0 0.01 0.02 0.03 0.04 0.05, median
 * (0 + 0.01) / 2 = 0.005; k = floor(10 / 10) = 1. Volatility 0.01 for
 * all but stock 0 (0.02) and stock 9 (0.04). Scores:
 *   s0 = (0.05 - 0.005) / (0.02 * 2.2360680) = 1.0062
 *   s7 = (0.04 - 0.005) / (0.01 * 2.2360680) = 1.5652  <- highest: BUY
 *   s6 = 0.025 / 0.022360680 = 1.1180
 *   s9 = -0.065 / (0.04 * 2.2360680) = -0.7267
 *   s8 = -0.035 / 0.022360680 = -1.5652                <- lowest: SELL
 *   s5 = -0.025 / 0.022360680 = -1.1180
 * so stock 0 (the day's largest return, but twice as volatile) is HOLD
 * and stock 9 (the largest fall, four times as volatile) is HOLD. */
static const double day1_fwd[10] = {0.05, 0.02, 0.01, 0.00, -0.01, -0.02, 0.03, 0.04, -0.03, -0.06};
static const double day1_vol[10] = {0.02, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01, 0.04};

START_TEST(xs_labels_rank_risk_adjusted_score_against_the_day_median)
{
    int32_t day[10];
    int8_t label[10];
    double score[10];
    for (int i = 0; i < 10; i++) {
        day[i] = 20180102;
    }
    ck_assert_int_eq(tm_features_xs_labels(day, day1_fwd, day1_vol, 10, 5, label, score, NULL),
                     TM_OK);
    const int8_t want[10] = {1, 1, 1, 1, 1, 1, 1, 2, 0, 1};
    for (int i = 0; i < 10; i++) {
        ck_assert_msg(label[i] == want[i], "stock %d: class %d, expected %d", i, label[i], want[i]);
    }
    double s5 = sqrt(5.0);
    ck_assert_double_eq_tol(score[0], 0.045 / (0.02 * s5), 1e-12);
    ck_assert_double_eq_tol(score[7], 0.035 / (0.01 * s5), 1e-12);
    ck_assert_double_eq_tol(score[9], -0.065 / (0.04 * s5), 1e-12);
    ck_assert_double_eq_tol(score[3], -0.005 / (0.01 * s5), 1e-12);
}
END_TEST

/* Three days in one call, rows interleaved (the order of rows does not
 * matter). Day A: twenty stocks of volatility 0.01, returns 0.10, 0.05,
 * 0.05, then -0.10, -0.08 and fifteen at 0; k = 2. The median is 0 and
 * scores follow the returns: 0.10 is BUY (1 score >= its own); the two
 * 0.05 tie with 3 scores >= theirs > k, so both are HOLD and the day has
 * one BUY. -0.10 (1 <= its score) and -0.08 (2) are SELL.
 * Day B: eleven rows, one with a NaN return and one with volatility 0:
 * nine scored, fewer than 10, so no row of day B has a class.
 * Day C: eleven rows, one with a NaN volatility: ten scored, returns
 * 0.01 * j for j = 0..9 (median 0.045), volatility 0.01: j = 9 is BUY,
 * j = 0 SELL; the NaN row has no class. */
START_TEST(xs_labels_ties_too_few_stocks_and_nan)
{
    enum { NA = 20, NB = 11, NC = 11, N = NA + NB + NC };
    int32_t day[N];
    double fwd[N], vol[N], score[N];
    int8_t label[N], want[N];
    size_t r = 0;
    size_t a = 0, b = 0, c = 0;
    while (r < N) { /* A, B, C, A, B, C, ... until each is done */
        if (a < NA) {
            static const double head[5] = {0.10, 0.05, 0.05, -0.10, -0.08};
            static const int8_t cls[5] = {2, 1, 1, 0, 0};
            day[r] = 1;
            fwd[r] = a < 5 ? head[a] : 0.0;
            vol[r] = 0.01;
            want[r++] = a < 5 ? cls[a] : 1;
            a++;
        }
        if (b < NB) {
            day[r] = 2;
            fwd[r] = b == 3 ? (double)NAN : 0.001 * (double)b;
            vol[r] = b == 7 ? 0.0 : 0.02;
            want[r++] = -1;
            b++;
        }
        if (c < NC) {
            day[r] = 3;
            fwd[r] = c < 10 ? 0.01 * (double)c : 0.5;
            vol[r] = c < 10 ? 0.01 : (double)NAN;
            want[r++] = c == 0 ? 0 : c == 9 ? 2 : c == 10 ? -1 : 1;
            c++;
        }
    }
    ck_assert_int_eq(tm_features_xs_labels(day, fwd, vol, N, 5, label, score, NULL), TM_OK);
    for (size_t i = 0; i < N; i++) {
        ck_assert_msg(label[i] == want[i], "row %zu (day %d): class %d, expected %d", i, day[i],
                      label[i], want[i]);
        ck_assert(isnan(score[i]) == (want[i] < 0));
    }
    /* Day C's median is (0.04 + 0.05) / 2: the score of j = 9 */
    for (size_t i = 0; i < N; i++) {
        if (day[i] == 3 && want[i] == 2) {
            ck_assert_double_eq_tol(score[i], (0.09 - 0.045) / (0.01 * sqrt(5.0)), 1e-12);
        }
    }
    /* no rows, and a NULL score */
    ck_assert_int_eq(tm_features_xs_labels(day, fwd, vol, 0, 5, label, NULL, NULL), TM_OK);
}
END_TEST

/* Every row of a day equal: one tie group of ten covering both deciles,
 * so every row is HOLD. */
START_TEST(xs_labels_all_equal_is_all_hold)
{
    int32_t day[10];
    double fwd[10], vol[10];
    int8_t label[10];
    for (int i = 0; i < 10; i++) {
        day[i] = 7;
        fwd[i] = 0.02;
        vol[i] = 0.01;
    }
    ck_assert_int_eq(tm_features_xs_labels(day, fwd, vol, 10, 5, label, NULL, NULL), TM_OK);
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(label[i], TM_FEATURES_HOLD);
    }
}
END_TEST

TM_TEST_SUITE(features_xs_labels);
TM_TEST_SUITE(features_xs_labels)
{
    Suite *s = suite_create("features_xs_labels");
    TCase *tc = tcase_create("xs_labels");
    tcase_add_test(tc, xs_volatility_sample_std_of_daily_returns);
    tcase_add_test(tc, xs_labels_rank_risk_adjusted_score_against_the_day_median);
    tcase_add_test(tc, xs_labels_ties_too_few_stocks_and_nan);
    tcase_add_test(tc, xs_labels_all_equal_is_all_hold);
    suite_add_tcase(s, tc);
    return s;
}
