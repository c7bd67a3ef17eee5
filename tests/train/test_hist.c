/* Bins and histograms (src/train/bin.c, hist.c): the binned decision is
 * exactly the float32 "<" on raw values, tiny values fall with 0, unusable
 * features are dropped; histogram subtraction equals direct construction,
 * the one-pass root histograms of several outputs equal one pass per
 * output bit for bit, and the thread count does not change a bit. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <string.h>

#include "synth.h"
#include "tm_test.h"
#include "train/train_int.h"

START_TEST(bins_decide_like_float32_less_than)
{
    enum { N = 3000, NF = 4 };
    static double x[N * NF], y[N];
    unsigned s = 7;
    const double edge[] = {0.0,          -0.0,      1e-36,    -1e-36,     1e-35,
                           -1e-35,       2e-35,     INFINITY, -INFINITY,  FLT_MAX,
                           3.4028235e38, 1.0000001, 1.0,      0.99999994, NAN};
    for (int r = 0; r < N; r++) {
        for (int j = 0; j < NF; j++) {
            double v = j == 0 ? synth_u(&s) * 10 - 5 : j == 1 ? floor(synth_u(&s) * 3) : 0.0;
            v = j == 1 && r % 5 == 0 ? edge[(r / 5) % 15] : v;
            x[r * NF + j] = j == 3 ? (double)NAN : (j == 0 && r % 11 == 0 ? edge[r % 15] : v);
        }
        y[r] = 0;
    }
    tm_train_data d = {N, NF, NF, x, NULL, y, NULL, NULL, NULL, NULL};
    tm__train_bins b;
    ck_assert_int_eq(tm__train_bins_build(&d, 16, 0, 1, 2, &b, NULL), TM_OK);
    ck_assert_int_eq(b.n_used, 2); /* feature 2 is constant, feature 3 all NaN */
    ck_assert_int_eq(b.used[0], 0);
    ck_assert_int_eq(b.used[1], 1);
    for (int32_t u = 0; u < b.n_used; u++) {
        ck_assert_int_le(b.n_bins[u], 16);
        const float *t = b.thr + b.thr_first[u];
        for (int i = 0; i < b.n_bins[u] - 1; i++) {
            ck_assert(isfinite(t[i]));
            ck_assert(!(t[i] > -1e-35f && t[i] <= 1e-35f));
            ck_assert(i == 0 || t[i - 1] < t[i]);
        }
        for (int r = 0; r < N; r++) {
            double v = x[r * NF + b.used[u]];
            int bin = tm__train_bin_of(&b, u, (float)v);
            if (isnan(v)) {
                ck_assert_int_eq(bin, b.n_bins[u]);
                continue;
            }
            ck_assert_int_eq(bin, tm__train_bin_of(&b, u, fabs(v) <= 1e-35 ? 0.0f : (float)v));
            for (int i = 0; i < b.n_bins[u] - 1; i++) {
                ck_assert_int_eq(bin <= i, (float)v < t[i]);
            }
        }
    }
    tm__train_bins_fini(&b);
}
END_TEST

START_TEST(threshold_between_handles_edges)
{
    float t;
    ck_assert(tm__train_threshold_between(1.0f, 2.0f, &t) && t == 1.5f);
    ck_assert(tm__train_threshold_between(1.0f, nextafterf(1.0f, 2.0f), &t) && t > 1.0f);
    ck_assert(tm__train_threshold_between(0.0f, 1e-30f, &t) && t > 1e-35f && t <= 1e-30f);
    ck_assert(tm__train_threshold_between(-1e-30f, 0.0f, &t) && t <= -1e-35f && t > -1e-30f);
    ck_assert(tm__train_threshold_between(3.0f, INFINITY, &t) && t > 3.0f && isfinite(t));
    ck_assert(tm__train_threshold_between(-INFINITY, -5.0f, &t) && t == -5.0f);
    ck_assert(!tm__train_threshold_between(FLT_MAX, INFINITY, &t));
}
END_TEST

static void transpose(const uint8_t *row, size_t n, size_t nu, uint8_t *col)
{
    for (size_t r = 0; r < n; r++) {
        for (size_t u = 0; u < nu; u++) {
            col[u * n + r] = row[r * nu + u];
        }
    }
}

START_TEST(hist_subtraction_equals_direct_construction)
{
    synth s;
    synth_make(&s, 4000, 6, 0, 11);
    tm__train_bins b;
    uint8_t *rm = NULL;
    ck_assert_int_eq(tm__train_bins_build(&s.d, 64, 0, 1, 2, &b, NULL), TM_OK);
    ck_assert_int_eq(tm__train_bins_apply(&b, &s.d, 2, &rm, NULL), TM_OK);
    uint8_t *cm = malloc(s.n * (size_t)b.n_used);
    transpose(rm, s.n, (size_t)b.n_used, cm);
    tm__train_gh *g = malloc(s.n * sizeof *g);
    unsigned seed = 3;
    for (size_t r = 0; r < s.n; r++) {
        g[r].g = (float)(synth_u(&seed) - 0.5);
        g[r].h = (float)(synth_u(&seed) * 0.25 + 1e-3);
    }
    int32_t *small = malloc(s.n * sizeof *small), *big = malloc(s.n * sizeof *big), ns = 0, nb = 0;
    for (size_t r = 0; r < s.n; r++) {
        if (r % 3 == 0) {
            small[ns++] = (int32_t)r;
        } else {
            big[nb++] = (int32_t)r;
        }
    }
    tm__train_hist_src src = {&b, rm, cm, s.n, g};
    int32_t total = b.offset[b.n_used];
    tm__train_hist parent, hs, hb, hb2;
    ck_assert_int_eq(tm__train_hist_alloc(&parent, total, NULL), TM_OK);
    ck_assert_int_eq(tm__train_hist_alloc(&hs, total, NULL), TM_OK);
    ck_assert_int_eq(tm__train_hist_alloc(&hb, total, NULL), TM_OK);
    ck_assert_int_eq(tm__train_hist_alloc(&hb2, total, NULL), TM_OK);
    tm__train_hist_build(&src, NULL, s.n, NULL, 2, &parent);
    tm__train_hist_build(&src, small, (size_t)ns, NULL, 2, &hs);
    tm__train_hist_build(&src, big, (size_t)nb, NULL, 3, &hb);
    tm__train_hist_sub(&b, &parent, &hs, NULL, 2); /* parent becomes big */
    /* float32 slots: equal up to float rounding of sums of ~100 values */
    for (int32_t i = 0; i < total; i++) {
        ck_assert_double_eq_tol((double)parent.gh[i].g, (double)hb.gh[i].g,
                                1e-5 * (1 + fabs((double)hb.gh[i].g)));
        ck_assert_double_eq_tol((double)parent.gh[i].h, (double)hb.gh[i].h,
                                1e-5 * (1 + fabs((double)hb.gh[i].h)));
    }
    /* one feature group or three: the same bits */
    tm__train_hist_build_range(&src, big, (size_t)nb, NULL, 0, b.n_used, &hb2);
    ck_assert_int_eq(memcmp(hb.gh, hb2.gh, (size_t)total * sizeof *hb.gh), 0);
    tm__train_hist_free(&parent);
    tm__train_hist_free(&hs);
    tm__train_hist_free(&hb);
    tm__train_hist_free(&hb2);
    tm__train_bins_fini(&b);
    tm_free(rm);
    free(cm);
    free(g);
    free(small);
    free(big);
    synth_free(&s);
}
END_TEST

/* k = 2, 3 (the 16 + 8-byte path) and 5, on 1 and 3 threads, with a
 * feature of two bins next to ones of 64: each output's histogram is
 * the same bits as its own pass over all rows. */
START_TEST(multi_output_root_equals_one_pass_per_output)
{
    synth s;
    synth_make(&s, 3001, 7, 0, 5);
    for (size_t r = 0; r < s.n; r++) {
        s.x[r * s.nf + 6] = (double)(r % 2); /* two value bins */
    }
    tm__train_bins b;
    uint8_t *rm = NULL;
    ck_assert_int_eq(tm__train_bins_build(&s.d, 64, 0, 1, 2, &b, NULL), TM_OK);
    ck_assert_int_eq(tm__train_bins_apply(&b, &s.d, 2, &rm, NULL), TM_OK);
    int32_t total = b.offset[b.n_used];
    ck_assert_int_eq(b.n_bins[b.n_used - 1], 2);
    enum { KMAX = 5 };
    tm__train_gh *g = malloc((size_t)KMAX * s.n * sizeof *g);
    unsigned seed = 9;
    for (size_t i = 0; i < (size_t)KMAX * s.n; i++) {
        g[i].g = (float)(synth_u(&seed) - 0.5);
        g[i].h = (float)(synth_u(&seed) * 0.25 + 1e-3);
    }
    const tm__train_gh *gk[KMAX];
    tm__train_hist multi[KMAX], one;
    for (int c = 0; c < KMAX; c++) {
        gk[c] = g + (size_t)c * s.n;
        ck_assert_int_eq(tm__train_hist_alloc(&multi[c], total, NULL), TM_OK);
    }
    ck_assert_int_eq(tm__train_hist_alloc(&one, total, NULL), TM_OK);
    tm__train_gh *scratch = malloc((size_t)total * KMAX * sizeof *scratch);
    int ks[] = {2, 3, 5}, threads[] = {1, 3};
    for (size_t ki = 0; ki < 3; ki++) {
        for (size_t ti = 0; ti < 2; ti++) {
            int k = ks[ki];
            tm__train_hist_src src = {&b, rm, NULL, s.n, NULL};
            tm__train_hist_build_multi(&src, gk, k, s.n, threads[ti], scratch, multi);
            for (int c = 0; c < k; c++) {
                src.grad = gk[c];
                tm__train_hist_build(&src, NULL, s.n, NULL, 1, &one);
                ck_assert_int_eq(memcmp(one.gh, multi[c].gh, (size_t)total * sizeof *one.gh), 0);
            }
        }
    }
    for (int c = 0; c < KMAX; c++) {
        tm__train_hist_free(&multi[c]);
    }
    tm__train_hist_free(&one);
    tm__train_bins_fini(&b);
    tm_free(rm);
    free(scratch);
    free(g);
    synth_free(&s);
}
END_TEST

TM_TEST_SUITE(train_hist)
{
    Suite *s = suite_create("train_hist");
    TCase *tc = tcase_create("hist");
    tcase_add_test(tc, bins_decide_like_float32_less_than);
    tcase_add_test(tc, threshold_between_handles_edges);
    tcase_add_test(tc, hist_subtraction_equals_direct_construction);
    tcase_add_test(tc, multi_output_root_equals_one_pass_per_output);
    suite_add_tcase(s, tc);
    return s;
}
