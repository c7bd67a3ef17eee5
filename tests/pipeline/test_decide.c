/* Decision rule tests: pool-adjacent-violators and the Wilson bound on
 * hand-computed examples (worked out in the comments), the threshold
 * choice on a known validation set, a whole fit on 2 stocks x 4 days, the
 * cap and its tie order, the argmax fallback, the rule's JSON round trip
 * and refusals, and properties on seeded random data (calibrated values
 * in [0, 1], monotone in the raw probability, PAV keeps the mean). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pipeline/decide_int.h"
#include "tm_test.h"

#define TOL 1e-12

START_TEST(decide_pav_by_hand)
{
    /* y 0 1 0 0 1 1 at x .1 .. .6: {.2,.3} pool to 1/2, then {.2,.3,.4}
     * to 1/3; {.5} 1 and {.6} 1 pool (equal means): knots .1 .2 .5 with
     * 0, 1/3, 1. */
    const double x[6] = {.1, .2, .3, .4, .5, .6}, y[6] = {0, 1, 0, 0, 1, 1};
    tm__decide_curve c;
    ck_assert_int_eq(tm__decide_pav(x, y, 6, &c, NULL), TM_OK);
    ck_assert_uint_eq(c.n, 3);
    ck_assert_double_eq_tol(c.x[0], .1, TOL);
    ck_assert_double_eq_tol(c.x[1], .2, TOL);
    ck_assert_double_eq_tol(c.x[2], .5, TOL);
    ck_assert_double_eq_tol(c.y[0], 0, TOL);
    ck_assert_double_eq_tol(c.y[1], 1.0 / 3, TOL);
    ck_assert_double_eq_tol(c.y[2], 1, TOL);
    /* Steps: below the first knot its value, on a knot the new value. */
    ck_assert_double_eq_tol(tm__decide_curve_at(&c, -1), 0, TOL);
    ck_assert_double_eq_tol(tm__decide_curve_at(&c, .15), 0, TOL);
    ck_assert_double_eq_tol(tm__decide_curve_at(&c, .2), 1.0 / 3, TOL);
    ck_assert_double_eq_tol(tm__decide_curve_at(&c, .4999), 1.0 / 3, TOL);
    ck_assert_double_eq_tol(tm__decide_curve_at(&c, .5), 1, TOL);
    ck_assert_double_eq_tol(tm__decide_curve_at(&c, INFINITY), 1, TOL);
    ck_assert_double_eq_tol(tm__decide_curve_at(&c, -INFINITY), 0, TOL);
    ck_assert(isnan(tm__decide_curve_at(&c, NAN)));
    tm_free(c.x);
    tm_free(c.y);
    /* Equal x pool first: .1 {1, 0} -> 1/2, then .2 {0} pools with it
     * (1/3 over 3 rows), .3 {1} stays; the NaN row is left out. */
    const double x2[5] = {.3, .1, NAN, .1, .2}, y2[5] = {1, 1, 1, 0, 0};
    ck_assert_int_eq(tm__decide_pav(x2, y2, 5, &c, NULL), TM_OK);
    ck_assert_uint_eq(c.n, 2);
    ck_assert_double_eq_tol(c.x[0], .1, TOL);
    ck_assert_double_eq_tol(c.y[0], 1.0 / 3, TOL);
    ck_assert_double_eq_tol(c.x[1], .3, TOL);
    ck_assert_double_eq_tol(c.y[1], 1, TOL);
    tm_free(c.x);
    tm_free(c.y);
    /* Empty: no knots, every value NaN. */
    ck_assert_int_eq(tm__decide_pav(x, y, 0, &c, NULL), TM_OK);
    ck_assert_uint_eq(c.n, 0);
    ck_assert(isnan(tm__decide_curve_at(&c, .5)));
    tm_free(c.x);
    tm_free(c.y);
}
END_TEST

START_TEST(decide_wilson_lower_bound_by_hand)
{
    /* (p + z^2/2n - z sqrt(p(1-p)/n + z^2/4n^2)) / (1 + z^2/n); with
     * p = 1 it is n / (n + z^2). z = 1.959964. */
    ck_assert_double_eq_tol(tm__decide_wilson_lower(8, 10, TM__DECIDE_Z), 0.4901624715366418,
                            1e-12);
    ck_assert_double_eq_tol(tm__decide_wilson_lower(5, 5, TM__DECIDE_Z),
                            5 / (5 + TM__DECIDE_Z * TM__DECIDE_Z), 1e-12);
    ck_assert_double_eq_tol(tm__decide_wilson_lower(0, 7, TM__DECIDE_Z), 0, 1e-12);
    ck_assert_double_eq(tm__decide_wilson_lower(0, 0, TM__DECIDE_Z), 0);
}
END_TEST

START_TEST(decide_threshold_choice_by_hand)
{
    /* Scores .9 .. .05 with hits 1 1 1 1 0 1 0 0 0 0, target 0.40. Lower
     * bounds of the top k: k=1 .2065, 2 .3424, 3 .4385, 4 .5101, 5 (4/5)
     * .3755, 6 (5/6) .4365, 7 (5/7) .3589, then lower: the lowest
     * threshold reaching 0.40 is .4 (top 6). */
    const double s[10] = {.9, .8, .7, .6, .5, .4, .3, .2, .1, .05};
    const uint8_t h[10] = {1, 1, 1, 1, 0, 1, 0, 0, 0, 0};
    double t, lo;
    size_t n, k;
    ck_assert_int_eq(tm__decide_choose(s, h, 10, 0.40, &t, &n, &k, &lo, NULL), TM_OK);
    ck_assert_double_eq_tol(t, .4, TOL);
    ck_assert_uint_eq(n, 6);
    ck_assert_uint_eq(k, 5);
    ck_assert_double_eq_tol(lo, 0.4364971778135299, 1e-12);
    /* Target 0.44: only the top 4 (.5101) reach it. */
    ck_assert_int_eq(tm__decide_choose(s, h, 10, 0.44, &t, &n, &k, &lo, NULL), TM_OK);
    ck_assert_double_eq_tol(t, .6, TOL);
    ck_assert_uint_eq(n, 4);
    /* Target 0.6: none does; the side abstains. */
    ck_assert_int_eq(tm__decide_choose(s, h, 10, 0.6, &t, &n, &k, &lo, NULL), TM_OK);
    ck_assert(isinf(t) && t > 0);
    ck_assert_uint_eq(n, 0);
    ck_assert(isnan(lo));
    /* Equal scores are taken together: .7 three times with hits 1 1 0
     * is 2/3 (.2077), never 2/2; NaN scores never count. */
    const double s2[4] = {.7, .7, NAN, .7};
    const uint8_t h2[4] = {1, 1, 1, 0};
    ck_assert_int_eq(tm__decide_choose(s2, h2, 4, 0.3, &t, &n, &k, &lo, NULL), TM_OK);
    ck_assert(isinf(t));
    ck_assert_int_eq(tm__decide_choose(s2, h2, 4, 0.2, &t, &n, &k, &lo, NULL), TM_OK);
    ck_assert_double_eq_tol(t, .7, TOL);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(k, 2);
    /* On the threshold: the target met exactly counts (5/5 = n/(n+z^2)). */
    const double s3[5] = {.5, .5, .5, .5, .5};
    const uint8_t h3[5] = {1, 1, 1, 1, 1};
    double exact = tm__decide_wilson_lower(5, 5, TM__DECIDE_Z);
    ck_assert_int_eq(tm__decide_choose(s3, h3, 5, exact, &t, &n, &k, &lo, NULL), TM_OK);
    ck_assert_double_eq_tol(t, .5, TOL);
    /* Empty input abstains. */
    ck_assert_int_eq(tm__decide_choose(s3, h3, 0, 0.1, &t, &n, &k, &lo, NULL), TM_OK);
    ck_assert(isinf(t));
}
END_TEST

/* 2 stocks on days 1-2, 4 on days 3-4 (p_sell, p_hold, p_buy; class):
 *   d1 A (.3 .6 .1; HOLD)  B (.3 .5 .2; BUY)
 *   d2 A (.3 .4 .3; HOLD)  B (.3 .3 .4; BUY)
 *   d3 A (.3 .55 .15; HOLD) B (.3 .45 .25; HOLD) C (.3 .65 .05; HOLD)
 *      D (.3 .6 .1; HOLD)
 *   d4 A (.3 .25 .45; BUY) B (.3 .2 .5; BUY) C (.3 .6 .1; HOLD)
 *      D (.3 .55 .15; HOLD)
 * d1-d2 calibrate: BUY curve from x .1 .2 .3 .4, y 0 1 0 1: knots .1 .2
 * .4 -> 0, 1/2, 1. d3-d4 choose: calibrated p(buy) 0, 1/2, 0, 0, 1, 1,
 * 0, 0 with BUY only where it is 1: base rate 2/8 = .25. Target .3 (above
 * the base rate): the top 2 (2/2, lower .3424) reach it, the top 3 (2/3,
 * .2077) do not: BUY threshold 1. With target .1 the bar is the base
 * rate .25: still the top 2 (the top 3's .2077 would clear .1 alone).
 * No SELL anywhere: SELL abstains. */
static void fit_example_target(tm__decide_rule *r, double target)
{
    const double p[36] = {.3, .6,  .1,  .3, .5,  .2,  .3, .4,  .3,  .3, .3,  .4,
                          .3, .55, .15, .3, .45, .25, .3, .65, .05, .3, .6,  .1,
                          .3, .25, .45, .3, .2,  .5,  .3, .6,  .1,  .3, .55, .15};
    const int label[12] = {1, 2, 1, 2, 1, 1, 1, 1, 2, 2, 1, 1};
    const int32_t date[12] = {20180102, 20180102, 20180103, 20180103, 20180104, 20180104,
                              20180104, 20180104, 20180105, 20180105, 20180105, 20180105};
    ck_assert_int_eq(tm__decide_fit(p, label, date, 12, target, r, NULL), TM_OK);
}

static void fit_example(tm__decide_rule *r)
{
    fit_example_target(r, 0.3);
}

START_TEST(decide_fit_by_hand)
{
    tm__decide_rule r;
    fit_example(&r);
    ck_assert_uint_eq(r.n_cal, 4);
    ck_assert_uint_eq(r.n_thr, 8);
    ck_assert_int_eq(r.cal_from, 20180102);
    ck_assert_int_eq(r.cal_to, 20180103);
    ck_assert_int_eq(r.thr_from, 20180104);
    ck_assert_int_eq(r.thr_to, 20180105);
    ck_assert_uint_eq(r.cal[2].n, 3);
    ck_assert_double_eq_tol(r.cal[2].y[1], 0.5, TOL);
    ck_assert_double_eq_tol(r.threshold[2], 1, TOL);
    ck_assert_uint_eq(r.sel_n[2], 2);
    ck_assert_uint_eq(r.sel_hits[2], 2);
    ck_assert_double_eq_tol(r.sel_lower[2], 0.3423802275066531, 1e-12);
    ck_assert_double_eq_tol(r.base_rate[2], 0.25, TOL);
    ck_assert(isinf(r.threshold[0]));
    ck_assert_double_eq_tol(r.base_rate[0], 0, TOL);
    /* The class-weight prior is undone: raw p(sell) .3 everywhere, never
     * a SELL, calibrates to 0. */
    ck_assert_uint_eq(r.cal[0].n, 1);
    ck_assert_double_eq_tol(r.cal[0].y[0], 0, TOL);
    char line[512];
    tm__decide_describe(&r, line, sizeof line);
    ck_assert_str_eq(line, "  decision rule: calibrated on 4 validation rows, thresholds on 8 "
                           "later rows for a precision whose Wilson 95% lower bound reaches 0.30 "
                           "and the side's base rate; BUY at calibrated p >= 1.000 (2 of 2 "
                           "right: precision 1.000, lower bound 0.342, base rate 0.250); SELL "
                           "abstains (no threshold reaches it)\n");
    tm__decide_rule_fini(&r);
    /* A target under the base rate: the base rate is the bar. */
    fit_example_target(&r, 0.1);
    ck_assert_double_eq_tol(r.threshold[2], 1, TOL);
    ck_assert_uint_eq(r.sel_n[2], 2);
    ck_assert(isinf(r.threshold[0]));
    tm__decide_rule_fini(&r);
    /* Refusals: a class outside 0..2, dates out of order. */
    const double p[6] = {.3, .3, .4, .3, .3, .4};
    const int bad[2] = {1, 3}, good[2] = {1, 1};
    const int32_t d[2] = {20180102, 20180103}, back[2] = {20180103, 20180102};
    tm_err err;
    tm_err_init(&err);
    char msg[256];
    ck_assert_int_eq(tm__decide_fit(p, bad, d, 2, 0.3, &r, &err), TM_E_INVALID);
    ck_assert_str_eq(tm_err_format(&err, msg, sizeof msg),
                     "field 'label': expected a class 0..2 in validation row 1, found 3");
    tm_err_init(&err);
    ck_assert_int_eq(tm__decide_fit(p, good, back, 2, 0.3, &r, &err), TM_E_INVALID);
    ck_assert_str_eq(tm_err_format(&err, msg, sizeof msg),
                     "field 'date': expected validation rows in date order, found 20180102 "
                     "after 20180103");
    /* One day: it calibrates, nothing is left to choose thresholds on. */
    ck_assert_int_eq(tm__decide_fit(p, good, d, 1, 0.3, &r, NULL), TM_OK);
    ck_assert_uint_eq(r.n_thr, 0);
    ck_assert(isinf(r.threshold[0]) && isinf(r.threshold[2]));
    tm__decide_rule_fini(&r);
}
END_TEST

START_TEST(decide_apply_cap_and_tie_order)
{
    tm__decide_rule r;
    fit_example(&r);
    /* Day 1: raw p(buy) .5 .45 .45 .1 -> calibrated 1 1 1 0: three BUY
     * candidates; cap 2 keeps .5 (row 0) and, of the two .45, the lower
     * row index (1); row 2 is capped. Day 2: one BUY (its own cap). */
    const double p[15] = {.3, .2, .5, .3, .25, .45, .3, .25, .45, .3, .6, .1, .3, .2, .5};
    const int32_t date[5] = {20180201, 20180201, 20180201, 20180201, 20180202};
    int label[5];
    uint8_t capped[5];
    double cal[15];
    ck_assert_int_eq(tm__decide_apply(&r, p, date, 5, 2, label, capped, cal, NULL), TM_OK);
    const int want[5] = {2, 2, 1, 1, 2};
    const uint8_t want_cap[5] = {0, 0, 1, 0, 0};
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(label[i], want[i]);
        ck_assert_uint_eq(capped[i], want_cap[i]);
    }
    ck_assert_double_eq_tol(cal[3 * 3 + 2], 0, TOL);
    ck_assert_double_eq_tol(cal[3 * 2 + 2], 1, TOL);
    /* No cap: all three BUY. */
    ck_assert_int_eq(tm__decide_apply(&r, p, date, 5, 0, label, NULL, NULL, NULL), TM_OK);
    ck_assert_int_eq(label[2], 2);
    /* Cap 1 over one day (date NULL): only row 0. */
    ck_assert_int_eq(tm__decide_apply(&r, p, NULL, 5, 1, label, capped, NULL, NULL), TM_OK);
    ck_assert_int_eq(label[0], 2);
    for (int i = 1; i < 5; i++) {
        ck_assert_int_eq(label[i], 1);
    }
    ck_assert_uint_eq(capped[4], 1);
    /* Both sides clear: the larger calibrated probability wins, equal is
     * HOLD. A hand rule: identity-like curves, thresholds .5. */
    tm__decide_rule h;
    memset(&h, 0, sizeof h);
    double kx[2] = {0, .5}, ky[2] = {0, .6};
    for (int c = 0; c < 3; c++) {
        h.cal[c] = (tm__decide_curve){2, kx, ky};
    }
    h.threshold[0] = h.threshold[2] = .5;
    h.threshold[1] = INFINITY;
    const double q[6] = {.5, 0, .5, .5, 0, .4};
    ck_assert_int_eq(tm__decide_apply(&h, q, NULL, 2, 0, label, NULL, NULL, NULL), TM_OK);
    ck_assert_int_eq(label[0], 1); /* .6 vs .6 */
    ck_assert_int_eq(label[1], 0); /* SELL .6, BUY 0 */
    tm__decide_rule_fini(&r);
}
END_TEST

START_TEST(decide_fallback_is_argmax_with_cap)
{
    /* No rule: most probable raw class, ties to HOLD; cap 1 keeps the
     * SELL with the higher raw p(sell) (row 1). NaN rows are HOLD. */
    const double p[15] = {.5, .3, .2, .6, .2, .2, .2, .2, .6, .4, .4, .2, NAN, .5, .5};
    int label[5];
    uint8_t capped[5];
    double cal[15];
    ck_assert_int_eq(tm__decide_apply(NULL, p, NULL, 5, 1, label, capped, cal, NULL), TM_OK);
    const int want[5] = {1, 0, 2, 1, 1};
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(label[i], want[i]);
        ck_assert(isnan(cal[3 * i]) && isnan(cal[3 * i + 2]));
    }
    ck_assert_uint_eq(capped[0], 1);
    ck_assert_uint_eq(capped[3], 0);
}
END_TEST

START_TEST(decide_rule_json_round_trip_and_refusals)
{
    tm__decide_rule r, back;
    fit_example(&r);
    tm_buf b = {0};
    ck_assert_int_eq(tm__decide_rule_json(&r, &b, NULL), TM_OK);
    ck_assert_int_eq(tm__decide_rule_parse(b.p, "rule", &back, NULL), TM_OK);
    for (int c = 0; c < 3; c++) {
        ck_assert_uint_eq(back.cal[c].n, r.cal[c].n);
        for (size_t k = 0; k < r.cal[c].n; k++) {
            ck_assert(back.cal[c].x[k] == r.cal[c].x[k] && back.cal[c].y[k] == r.cal[c].y[k]);
        }
        ck_assert(back.threshold[c] == r.threshold[c]); /* +inf as null and back */
        ck_assert_uint_eq(back.sel_n[c], r.sel_n[c]);
    }
    ck_assert(isnan(back.sel_lower[0]));
    ck_assert_double_eq(back.target, 0.3);
    ck_assert_int_eq(back.thr_to, 20180105);
    tm__decide_rule_fini(&back);
    tm_buf_fini(&b);
    tm__decide_rule_fini(&r);
    tm_err err;
    char msg[512];
    tm_err_init(&err);
    ck_assert_int_eq(tm__decide_rule_parse("{\"version\":2}", "rule", &back, &err), TM_E_PARSE);
    ck_assert_ptr_nonnull(strstr(tm_err_format(&err, msg, sizeof msg), "'version'"));
    tm_err_init(&err);
    const char *desc = "{\"version\":1,\"target\":0.3,\"n_cal\":1,\"n_thr\":1,\"cal_from\":0,"
                       "\"cal_to\":0,\"thr_from\":0,\"thr_to\":0,\"classes\":[{\"x\":[0.5,0.1],"
                       "\"y\":[0,1],\"threshold\":null,\"sel_n\":0,\"sel_hits\":0,"
                       "\"sel_lower\":null,\"base_rate\":null},{},{}]}";
    ck_assert_int_eq(tm__decide_rule_parse(desc, "rule", &back, &err), TM_E_PARSE);
    ck_assert_ptr_nonnull(strstr(tm_err_format(&err, msg, sizeof msg),
                                 "expected ascending knots with non-decreasing values in 0..1, "
                                 "found knot 1 at 0.1 -> 1"));
}
END_TEST

/* A seeded generator for the properties. */
static double uniform(uint64_t *s)
{
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(*s >> 11) / 9007199254740992.0;
}

START_TEST(decide_properties_on_random_validation_sets)
{
    uint64_t seed = 42;
    for (int trial = 0; trial < 20; trial++) {
        size_t n = 50 + (size_t)(uniform(&seed) * 400);
        double *p = tm_malloc_n(n, 3 * sizeof(double)), *cal = tm_malloc_n(n, 3 * sizeof(double));
        int *label = tm_malloc_n(n, sizeof(int));
        int32_t *date = tm_malloc_n(n, sizeof(int32_t));
        ck_assert(p && cal && label && date);
        for (size_t i = 0; i < n; i++) {
            double a = uniform(&seed), b = uniform(&seed) * (1 - a);
            p[3 * i] = a;
            p[3 * i + 2] = b;
            p[3 * i + 1] = 1 - a - b;
            double u = uniform(&seed);
            label[i] = u < a * 0.5 ? 0 : u > 1 - b * 0.5 ? 2 : 1;
            date[i] = 20180101 + (int32_t)(i / 7);
        }
        tm__decide_rule r;
        ck_assert_int_eq(tm__decide_fit(p, label, date, n, 0.2, &r, NULL), TM_OK);
        tm__decide_calibrate(&r, p, n, cal);
        for (int c = 0; c < 3; c++) {
            /* PAV keeps the mean of what it fitted. */
            double fit = 0, obs = 0;
            for (size_t i = 0; i < r.n_cal; i++) {
                fit += cal[3 * i + c];
                obs += label[i] == c;
            }
            ck_assert_double_eq_tol(fit, obs, 1e-9);
            /* In [0, 1] and monotone in the raw probability. */
            double prev = -1;
            for (int k = 0; k <= 1000; k++) {
                double v = tm__decide_curve_at(&r.cal[c], k / 1000.0);
                ck_assert(v >= 0 && v <= 1);
                ck_assert(v >= prev);
                prev = v;
            }
        }
        /* Thresholds chosen meet the target on their rows. */
        for (int c = 0; c < 3; c += 2) {
            if (!isinf(r.threshold[c])) {
                ck_assert(r.sel_lower[c] >= 0.2);
                ck_assert(r.sel_lower[c] >= r.base_rate[c]);
            }
        }
        tm__decide_rule_fini(&r);
        tm_free(p);
        tm_free(cal);
        tm_free(label);
        tm_free(date);
    }
}
END_TEST

TM_TEST_SUITE(decide);
TM_TEST_SUITE(decide)
{
    Suite *s = suite_create("decide");
    TCase *tc = tcase_create("decide");
    tcase_add_test(tc, decide_pav_by_hand);
    tcase_add_test(tc, decide_wilson_lower_bound_by_hand);
    tcase_add_test(tc, decide_threshold_choice_by_hand);
    tcase_add_test(tc, decide_fit_by_hand);
    tcase_add_test(tc, decide_apply_cap_and_tie_order);
    tcase_add_test(tc, decide_fallback_is_argmax_with_cap);
    tcase_add_test(tc, decide_rule_json_round_trip_and_refusals);
    tcase_add_test(tc, decide_properties_on_random_validation_sets);
    suite_add_tcase(s, tc);
    return s;
}
