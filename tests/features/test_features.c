/* Feature tests: every indicator against values computed by hand on small
 * series, labels, the meta features on a worked two-model example and
 * their 55-name layout for 8 models, and the feature table (market
 * context, ranks, VIX alignment, and causality: values at day t do not
 * change when later days are added). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <turbomode/features.h>

#include "tm_test.h"

#define TOL      1e-12
#define EQ(a, b) ck_assert_double_eq_tol((a), (b), TOL)

START_TEST(features_sma_window_and_warmup)
{
    double x[5] = {1, 2, 3, 4, 5}, o[5];
    tm_features_sma(x, 5, 3, o);
    ck_assert(isnan(o[0]) && isnan(o[1]));
    EQ(o[2], 2);
    EQ(o[4], 4);
}
END_TEST

START_TEST(features_ema_seeded_with_first_value)
{
    double x[3] = {1, 2, 3}, o[3];
    tm_features_ema(x, 3, 3, o); /* alpha 0.5 */
    EQ(o[0], 1);
    EQ(o[1], 1.5);
    EQ(o[2], 2.25);
}
END_TEST

START_TEST(features_rolling_std_population_and_sample)
{
    double x[4] = {1, 2, 3, 5}, o[4];
    tm_features_rolling_std(x, 4, 3, 1, o);
    ck_assert(isnan(o[1]));
    EQ(o[2], 1);
    EQ(o[3], sqrt(7.0 / 3.0)); /* 2,3,5: mean 10/3, ss 14/3 */
    tm_features_rolling_std(x, 4, 3, 0, o);
    EQ(o[2], sqrt(2.0 / 3.0));
}
END_TEST

START_TEST(features_returns_over_horizons)
{
    double c[3] = {10, 11, 12.1}, o[3];
    tm_features_return(c, 3, 1, o);
    ck_assert(isnan(o[0]));
    EQ(o[1], 0.1);
    EQ(o[2], 0.1);
    tm_features_return(c, 3, 2, o);
    EQ(o[2], 0.21);
}
END_TEST

START_TEST(features_rsi_wilder_smoothing)
{
    double c[5] = {1, 2, 1, 2, 3}, o[5];
    tm_features_rsi(c, 5, 2, o);
    ck_assert(isnan(o[1]));
    EQ(o[2], 50);   /* gain 0.5, loss 0.5 */
    EQ(o[3], 75);   /* gain 0.75, loss 0.25 */
    EQ(o[4], 87.5); /* gain 0.875, loss 0.125 */
    double up[4] = {1, 2, 3, 4};
    tm_features_rsi(up, 4, 2, o);
    EQ(o[3], 100);
}
END_TEST

START_TEST(features_macd_line_signal_histogram)
{
    double c[3] = {1, 2, 3}, m[3], s[3], h[3];
    tm_features_macd(c, 3, 1, 3, 3, m, s, h);
    EQ(m[1], 0.5); /* ema1 = x; ema3 = 1, 1.5, 2.25 */
    EQ(m[2], 0.75);
    EQ(s[2], 0.5); /* ema3 of 0, .5, .75 = 0, .25, .5 */
    EQ(h[1], 0.25);
    EQ(h[2], 0.25);
}
END_TEST

START_TEST(features_bollinger_position)
{
    double c[4] = {1, 2, 3, 3}, o[4];
    tm_features_bollinger(c, 4, 3, 1.0, o);
    EQ(o[2], 0.5 + 1.0 / (2 * sqrt(2.0 / 3.0)));
    double flat[3] = {2, 2, 2};
    tm_features_bollinger(flat, 3, 3, 2.0, o);
    EQ(o[2], 0.5);
}
END_TEST

START_TEST(features_atr_true_range_and_wilder)
{
    double h[3] = {2, 3, 4}, l[3] = {1, 1, 2}, c[3] = {1.5, 2.5, 3}, o[3];
    tm_features_atr(h, l, c, 3, 2, o);
    ck_assert(isnan(o[0]));
    EQ(o[1], 1.5);  /* TR 1, 2 */
    EQ(o[2], 1.75); /* TR 2 */
    double h2[2] = {2, 2.5}, l2[2] = {1, 2.2}, c2[2] = {1.2, 2.4};
    tm_features_atr(h2, l2, c2, 2, 1, o);
    EQ(o[1], 1.3); /* gap up: |high - previous close| */
}
END_TEST

START_TEST(features_stochastic_k)
{
    double h[3] = {2, 3, 4}, l[3] = {1, 1, 2}, c[3] = {1.5, 2.5, 3}, o[3];
    tm_features_stoch(h, l, c, 3, 2, o);
    EQ(o[1], 0.75);
    EQ(o[2], 2.0 / 3.0);
}
END_TEST

START_TEST(features_zscore_max_min_slope)
{
    double x[4] = {1, 2, 3, 0}, o[6];
    tm_features_zscore(x, 4, 3, o);
    EQ(o[2], 1 / sqrt(2.0 / 3.0));
    tm_features_rolling_max(x, 4, 2, o);
    EQ(o[1], 2);
    EQ(o[3], 3);
    tm_features_rolling_min(x, 4, 2, o);
    EQ(o[3], 0);
    double c[6];
    for (int i = 0; i < 6; i++) {
        c[i] = exp(0.1 * i);
    }
    tm_features_log_slope(c, 6, 4, o);
    ck_assert(isnan(o[2]));
    EQ(o[5], 0.1);
}
END_TEST

START_TEST(features_labels_and_forward_return)
{
    tm_features_label_opts o;
    tm_features_label_opts_init(&o);
    ck_assert_int_eq(o.horizon, 5);
    o.up = 0.04;
    o.down = 0.03;
    ck_assert_int_eq(tm_features_label(0.05, &o), TM_FEATURES_BUY);
    ck_assert_int_eq(tm_features_label(0.04, &o), TM_FEATURES_HOLD); /* strictly above */
    ck_assert_int_eq(tm_features_label(-0.03, &o), TM_FEATURES_HOLD);
    ck_assert_int_eq(tm_features_label(-0.031, &o), TM_FEATURES_SELL);
    double c[4] = {10, 11, 12, 9};
    EQ(tm_features_forward_return(c, 4, 0, 3), -0.1);
    ck_assert(isnan(tm_features_forward_return(c, 4, 1, 3)));
}
END_TEST

START_TEST(features_meta_by_hand_two_models)
{
    /* m1 = (0.2, 0.5, 0.3): asym 0.1, maxdir 0.3, neutral 0.2, argmax HOLD
     * m2 = (0.6, 0.2, 0.2): asym -0.4, maxdir 0.6, neutral -0.4, argmax SELL */
    double p[6] = {0.2, 0.5, 0.3, 0.6, 0.2, 0.2}, o[19];
    ck_assert_int_eq(tm_features_meta_count(2), 19);
    tm_features_meta(p, 2, o);
    for (int i = 0; i < 6; i++) {
        EQ(o[i], p[i]);
    }
    double want[13] = {0.1, 0.3, 0.2, -0.4, 0.6, -0.4, -0.15, 0.25, 0.45, -0.1, 0, 0.5, 0.5};
    for (int i = 0; i < 13; i++) {
        ck_assert_double_eq_tol(o[6 + i], want[i], 1e-12);
    }
}
END_TEST

START_TEST(features_meta_ties_go_to_lower_class)
{
    double p[9] = {0.4, 0.4, 0.2, 0.2, 0.4, 0.4, 0.3, 0.3, 0.4}, o[25];
    tm_features_meta(p, 3, o);
    /* votes: SELL (tie with HOLD), HOLD (tie with BUY), BUY */
    EQ(o[18 + 4], 1.0 / 3); /* buy */
    EQ(o[18 + 5], 1.0 / 3); /* sell */
    EQ(o[18 + 6], 1.0 / 3); /* hold */
}
END_TEST

START_TEST(features_meta_55_names_for_8_models)
{
    char b[64];
    ck_assert_int_eq(tm_features_meta_count(8), 55);
    ck_assert_str_eq(tm_features_meta_name(8, 0, b, sizeof b), "m1_sell");
    ck_assert_str_eq(tm_features_meta_name(8, 23, b, sizeof b), "m8_buy");
    ck_assert_str_eq(tm_features_meta_name(8, 24, b, sizeof b), "asymmetry_1");
    ck_assert_str_eq(tm_features_meta_name(8, 26, b, sizeof b), "neutral_dominance_1");
    ck_assert_str_eq(tm_features_meta_name(8, 47, b, sizeof b), "neutral_dominance_8");
    ck_assert_str_eq(tm_features_meta_name(8, 48, b, sizeof b), "avg_asymmetry");
    ck_assert_str_eq(tm_features_meta_name(8, 54, b, sizeof b), "hold_consensus");
    double p[24], o[55];
    for (int k = 0; k < 8; k++) {
        p[3 * k] = 0.1;
        p[3 * k + 1] = 0.2;
        p[3 * k + 2] = 0.7;
    }
    tm_features_meta(p, 8, o);
    EQ(o[24], 0.6);
    EQ(o[49], 0); /* all equal: std 0 */
    EQ(o[52], 1); /* all vote BUY */
}
END_TEST

/* Two synthetic symbols, n days each; B misses day 5. */
#define ND 300
typedef struct synth {
    size_t start[3];
    int32_t date[2 * ND];
    double o[2 * ND], h[2 * ND], l[2 * ND], c[2 * ND], v[2 * ND];
    int32_t vdate[ND];
    double vix[ND];
} synth;

static int32_t day(int i)
{
    /* 30-day months are enough for a strictly increasing YYYYMMDD. */
    return 20130101 + (i / 28) * 100 + i % 28 + (i / 336) * 8800;
}

static void make_synth(synth *s, int n)
{
    size_t r = 0;
    for (int k = 0; k < 2; k++) {
        s->start[k] = r;
        for (int i = 0; i < n; i++) {
            if (k == 1 && i == 5) {
                continue;
            }
            double base = k ? 50 : 20;
            s->date[r] = day(i);
            s->c[r] = base * (1 + 0.1 * sin(0.1 * i + k)) * (1 + 0.001 * i);
            s->o[r] = s->c[r] * (1 - 0.003 * cos(i));
            s->h[r] = s->c[r] * 1.01;
            s->l[r] = s->c[r] * 0.985;
            s->v[r] = 1e6 * (1.5 + sin(0.3 * i + k));
            r++;
        }
    }
    s->start[2] = r;
    for (int i = 0; i < n; i++) {
        s->vdate[i] = day(i);
        s->vix[i] = 15 + 3 * sin(0.05 * i);
    }
}

static tm_features_bars bars_of(const synth *s)
{
    tm_features_bars b = {2, s->start, s->date, s->o, s->h, s->l, s->c, s->v};
    return b;
}

static size_t feat(const char *name)
{
    for (size_t j = 0; j < tm_features_count(); j++) {
        if (strcmp(tm_features_name(j), name) == 0) {
            return j;
        }
    }
    ck_abort_msg("no feature %s", name);
    return 0;
}

START_TEST(features_table_columns_and_market_context)
{
    static synth s;
    static float out[2 * ND * 128];
    make_synth(&s, ND);
    size_t F = tm_features_count();
    ck_assert_int_ge(F, 90);
    ck_assert_int_le(F, 128);
    tm_features_bars b = bars_of(&s);
    tm_features_series vix = {ND, s.vdate, s.vix};
    ck_assert_int_eq(tm_features_table(&b, &vix, out, NULL), TM_OK);
    size_t r = 250; /* symbol A, day 250; symbol B's row of day 250 is 249 + ND */
    size_t rb = s.start[1] + 249;
    ck_assert_int_eq(s.date[rb], s.date[r]);
    double ra = s.c[r] / s.c[r - 1] - 1, rbb = s.c[rb] / s.c[rb - 1] - 1;
    ck_assert_double_eq_tol((double)out[r * F + feat("ret_1")], ra, 1e-6);
    ck_assert_double_eq_tol((double)out[r * F + feat("mkt_ret_1")], (ra + rbb) / 2, 1e-6);
    ck_assert_double_eq_tol((double)out[r * F + feat("vix")], s.vix[250], 1e-5);
    double rank = (double)out[r * F + feat("rank_ret_20")];
    double rankb = (double)out[rb * F + feat("rank_ret_20")];
    ck_assert(rank + rankb == 1.0);
    ck_assert(
            (double)out[r * F + feat("dist_sma_5")] ==
            (double)(float)(s.c[r] / ((s.c[r] + s.c[r - 1] + s.c[r - 2] + s.c[r - 3] + s.c[r - 4]) /
                                      5) -
                            1));
    /* CCI(20) and MFI(14) at row r, recomputed here from their definitions */
    double tp[20], m = 0, mad = 0, pos = 0, all = 0;
    for (int j = 0; j < 20; j++) {
        size_t x = r - 19 + (size_t)j;
        tp[j] = (s.h[x] + s.l[x] + s.c[x]) / 3;
        m += tp[j] / 20;
    }
    for (int j = 0; j < 20; j++) {
        mad += fabs(tp[j] - m) / 20;
    }
    ck_assert_double_eq_tol((double)out[r * F + feat("cci_20")], (tp[19] - m) / (0.015 * mad),
                            1e-3);
    for (int j = 6; j < 20; j++) {
        double mf = tp[j] * s.v[r - 19 + (size_t)j];
        pos += tp[j] > tp[j - 1] ? mf : 0;
        all += tp[j] != tp[j - 1] ? mf : 0;
    }
    ck_assert_double_eq_tol((double)out[r * F + feat("mfi_14")], 100 * pos / all, 1e-3);
    /* warm-up: the 252-day columns are NaN before a year of rows */
    ck_assert(isnan(out[100 * F + feat("dist_high_252")]));
    ck_assert(!isnan(out[260 * F + feat("dist_high_252")]));
    for (size_t j = 0; j < F; j++) {
        ck_assert_msg(!isnan(out[(ND - 1) * F + j]), "%s undefined after warm-up",
                      tm_features_name(j));
    }
}
END_TEST

START_TEST(features_table_is_causal)
{
    static synth full, cut;
    static float a[2 * ND * 128], b2[2 * ND * 128];
    make_synth(&full, ND);
    make_synth(&cut, ND - 20); /* the same days, minus the last 20 */
    size_t F = tm_features_count();
    tm_features_bars ba = bars_of(&full), bb = bars_of(&cut);
    tm_features_series va = {ND, full.vdate, full.vix}, vb = {ND - 20, cut.vdate, cut.vix};
    ck_assert_int_eq(tm_features_table(&ba, &va, a, NULL), TM_OK);
    ck_assert_int_eq(tm_features_table(&bb, &vb, b2, NULL), TM_OK);
    for (int k = 0; k < 2; k++) {
        size_t n = cut.start[k + 1] - cut.start[k];
        for (size_t t = 0; t < n; t++) {
            const float *x = a + (full.start[k] + t) * F, *y = b2 + (cut.start[k] + t) * F;
            for (size_t j = 0; j < F; j++) {
                ck_assert_msg(memcmp(&x[j], &y[j], sizeof(float)) == 0, "%s differs at row %zu",
                              tm_features_name(j), t);
            }
        }
    }
}
END_TEST

START_TEST(features_table_survives_allocation_failures)
{
    static synth s;
    static float out[2 * ND * 128];
    make_synth(&s, 40);
    tm_features_bars b = bars_of(&s);
    tm_features_series vix = {40, s.vdate, s.vix};
    for (long n = 1;; n++) {
        tm_alloc_fail_after(n);
        tm_status st = tm_features_table(&b, &vix, out, NULL);
        tm_alloc_fail_after(0);
        if (st == TM_OK) {
            break;
        }
        ck_assert_int_eq(st, TM_E_NOMEM);
    }
}
END_TEST

TM_TEST_SUITE(features);
TM_TEST_SUITE(features)
{
    Suite *s = suite_create("features");
    TCase *tc = tcase_create("indicators");
    tcase_add_test(tc, features_sma_window_and_warmup);
    tcase_add_test(tc, features_ema_seeded_with_first_value);
    tcase_add_test(tc, features_rolling_std_population_and_sample);
    tcase_add_test(tc, features_returns_over_horizons);
    tcase_add_test(tc, features_rsi_wilder_smoothing);
    tcase_add_test(tc, features_macd_line_signal_histogram);
    tcase_add_test(tc, features_bollinger_position);
    tcase_add_test(tc, features_atr_true_range_and_wilder);
    tcase_add_test(tc, features_stochastic_k);
    tcase_add_test(tc, features_zscore_max_min_slope);
    suite_add_tcase(s, tc);
    tc = tcase_create("labels_meta");
    tcase_add_test(tc, features_labels_and_forward_return);
    tcase_add_test(tc, features_meta_by_hand_two_models);
    tcase_add_test(tc, features_meta_ties_go_to_lower_class);
    tcase_add_test(tc, features_meta_55_names_for_8_models);
    suite_add_tcase(s, tc);
    tc = tcase_create("table");
    tcase_add_test(tc, features_table_columns_and_market_context);
    tcase_add_test(tc, features_table_is_causal);
    tcase_add_test(tc, features_table_survives_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}
