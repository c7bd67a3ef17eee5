/* Objectives (src/train/objective.c): gradients and hessians against
 * finite differences of the loss, initial scores from the label prior,
 * losses by hand, and early stopping on crafted loss curves. */
#include <check.h>
#include <math.h>

#include "tm_test.h"
#include "train/train_int.h"

/* Loss of one row with scores s (class-major with n = 1), unweighted. */
static double loss1(tm_train_objective obj, int k, const double *s, double y)
{
    return tm__train_loss(obj, k, s, &y, NULL, 1, 1);
}

/* Checks g and h of every output against central differences of w * L
 * (regression: w * L / 2, its loss metric being the squared error). */
static void check_fd(tm_train_objective obj, int k, const double *s0, double y, double w)
{
    tm__train_gh gh[TM_TRAIN_MAX_CLASSES];
    tm__train_gradients(obj, k, s0, &y, &w, 1, 1, gh);
    double scale = obj == TM_TRAIN_REGRESSION ? 0.5 * w : w;
    for (int j = 0; j < k; j++) {
        double s[TM_TRAIN_MAX_CLASSES];
        for (int i = 0; i < k; i++) {
            s[i] = s0[i];
        }
        const double e1 = 1e-5, e2 = 1e-3;
        s[j] = s0[j] + e1;
        double lp = loss1(obj, k, s, y);
        s[j] = s0[j] - e1;
        double lm = loss1(obj, k, s, y);
        double g_fd = scale * (lp - lm) / (2 * e1);
        s[j] = s0[j] + e2;
        double lp2 = loss1(obj, k, s, y);
        s[j] = s0[j] - e2;
        double lm2 = loss1(obj, k, s, y);
        s[j] = s0[j];
        double h_fd = scale * (lp2 - 2 * loss1(obj, k, s, y) + lm2) / (e2 * e2);
        /* g and h are stored as float32 */
        ck_assert_double_eq_tol((double)gh[j].g, g_fd, 2e-7 * (1 + fabs(g_fd)));
        ck_assert_double_eq_tol((double)gh[j].h, h_fd, 1e-5 * (1 + fabs(h_fd)));
    }
}

START_TEST(objective_gradients_match_finite_differences)
{
    const double pts[][3] = {{0.0, 0.0, 0.0}, {1.5, -0.7, 0.2}, {-2.0, 3.0, 0.5}, {4.0, 4.1, -3.0}};
    for (size_t i = 0; i < sizeof pts / sizeof pts[0]; i++) {
        for (int y = 0; y < 3; y++) {
            check_fd(TM_TRAIN_MULTICLASS, 3, pts[i], y, 1.0);
            check_fd(TM_TRAIN_MULTICLASS, 3, pts[i], y, 2.5); /* weights scale g and h */
        }
        check_fd(TM_TRAIN_BINARY, 1, pts[i], 0.0, 1.0);
        check_fd(TM_TRAIN_BINARY, 1, pts[i], 1.0, 0.3);
        check_fd(TM_TRAIN_REGRESSION, 1, pts[i], 1.25, 1.0);
        check_fd(TM_TRAIN_REGRESSION, 1, pts[i], -3.0, 4.0);
    }
}
END_TEST

START_TEST(objective_losses_by_hand)
{
    double s[3] = {0.0, 0.0, 0.0}, y = 2.0;
    ck_assert_double_eq_tol(loss1(TM_TRAIN_MULTICLASS, 3, s, y), log(3.0), 1e-15);
    double b = 0.0, one = 1.0;
    ck_assert_double_eq_tol(loss1(TM_TRAIN_BINARY, 1, &b, one), log(2.0), 1e-15);
    double r = 3.0;
    ck_assert_double_eq(loss1(TM_TRAIN_REGRESSION, 1, &r, one), 4.0);
    /* weighted mean: (1 * 4 + 3 * 0) / 4 */
    double sc[2] = {3.0, 1.0}, ys[2] = {1.0, 1.0}, ws[2] = {1.0, 3.0};
    ck_assert_double_eq_tol(tm__train_loss(TM_TRAIN_REGRESSION, 1, sc, ys, ws, 2, 1), 1.0, 1e-15);
}
END_TEST

/* The class-weight tilt undone by hand. Multiclass, cw = 2, 1, 4 and
 * scores 0, 0, 0: p is proportional to 1/2, 1, 1/4, i.e. 2/7, 4/7, 1/7, so
 * label 1 costs -ln(4/7). Binary, cw = 1, 3 and margin 0: p(1) = (1/2)/3
 * over (1/2)/3 + (1/2)/1 = 1/4, so label 1 costs ln 4 and label 0 ln(4/3).
 * Regression: no tilt. */
START_TEST(objective_prior_shift_by_hand)
{
    double cw[3] = {2.0, 1.0, 4.0}, shift[3], s[3] = {0.0, 0.0, 0.0}, y = 1.0;
    tm__train_prior_shift(TM_TRAIN_MULTICLASS, 3, cw, shift);
    ck_assert_double_eq_tol(
            tm__train_loss_shifted(TM_TRAIN_MULTICLASS, 3, s, &y, NULL, shift, 1, 1),
            -log(4.0 / 7.0), 1e-15);
    double cb[2] = {1.0, 3.0}, b = 0.0, yb[2] = {1.0, 0.0}, sb[2] = {0.0, 0.0};
    tm__train_prior_shift(TM_TRAIN_BINARY, 1, cb, shift);
    ck_assert_double_eq_tol(tm__train_loss_shifted(TM_TRAIN_BINARY, 1, &b, yb, NULL, shift, 1, 1),
                            log(4.0), 1e-15);
    ck_assert_double_eq_tol(tm__train_loss_shifted(TM_TRAIN_BINARY, 1, sb, yb, NULL, shift, 2, 1),
                            (log(4.0) + log(4.0 / 3.0)) / 2.0, 1e-15);
    double one = 1.0, r = 3.0;
    tm__train_prior_shift(TM_TRAIN_REGRESSION, 1, &one, shift);
    ck_assert_double_eq(shift[0], 0.0);
    ck_assert_double_eq(tm__train_loss_shifted(TM_TRAIN_REGRESSION, 1, &r, &one, NULL, shift, 1, 1),
                        4.0);
    /* weights of 1: no shift, the plain loss */
    double ones[3] = {1.0, 1.0, 1.0}, s2[3] = {0.3, -1.0, 2.0};
    tm__train_prior_shift(TM_TRAIN_MULTICLASS, 3, ones, shift);
    ck_assert_double_eq(tm__train_loss_shifted(TM_TRAIN_MULTICLASS, 3, s2, &y, NULL, shift, 1, 1),
                        loss1(TM_TRAIN_MULTICLASS, 3, s2, y));
}
END_TEST

START_TEST(objective_init_score_is_weighted_prior)
{
    double y[4] = {0, 1, 1, 2}, w[4] = {1, 1, 1, 2}, base[3];
    tm__train_init_score(TM_TRAIN_MULTICLASS, 3, y, w, 4, base);
    ck_assert_double_eq_tol(base[0], log(0.2), 1e-15);
    ck_assert_double_eq_tol(base[1], log(0.4), 1e-15);
    ck_assert_double_eq_tol(base[2], log(0.4), 1e-15);
    double yb[4] = {1, 0, 0, 0};
    tm__train_init_score(TM_TRAIN_BINARY, 1, yb, NULL, 4, base);
    ck_assert_double_eq_tol(base[0], log(0.25 / 0.75), 1e-15);
    double yr[3] = {1, 2, 6}, wr[3] = {2, 1, 1};
    tm__train_init_score(TM_TRAIN_REGRESSION, 1, yr, wr, 3, base);
    ck_assert_double_eq_tol(base[0], 2.5, 1e-15);
}
END_TEST

/* Round at which training stops on a loss curve, and the best round. */
static int stop_round(const double *loss, int n, int patience, int *best)
{
    tm__train_es es;
    tm__train_es_init(&es, patience);
    for (int r = 0; r < n; r++) {
        if (tm__train_es_update(&es, r, loss[r])) {
            *best = es.best_round;
            return r;
        }
    }
    *best = es.best_round;
    return -1;
}

START_TEST(early_stopping_stops_on_crafted_curves)
{
    int best;
    /* best at round 2; rounds 3, 4, 5 do not improve: stop after 5 */
    const double a[] = {5.0, 4.0, 3.0, 3.5, 3.2, 3.0, 2.0, 1.0};
    ck_assert_int_eq(stop_round(a, 8, 3, &best), 5);
    ck_assert_int_eq(best, 2);
    /* a tie is not an improvement, NaN never is */
    const double b[] = {2.0, 1.0, 1.0, NAN, 1.0, 0.5};
    ck_assert_int_eq(stop_round(b, 6, 3, &best), 4);
    ck_assert_int_eq(best, 1);
    /* patience 0: never stops; best is the minimum */
    ck_assert_int_eq(stop_round(a, 8, 0, &best), -1);
    ck_assert_int_eq(best, 7);
    /* a slow but steady improvement never stops */
    const double c[] = {1.0, 0.99, 0.98, 0.97, 0.96, 0.95};
    ck_assert_int_eq(stop_round(c, 6, 1, &best), -1);
    ck_assert_int_eq(best, 5);
}
END_TEST

TM_TEST_SUITE(train_objective)
{
    Suite *s = suite_create("train_objective");
    TCase *tc = tcase_create("objective");
    tcase_add_test(tc, objective_gradients_match_finite_differences);
    tcase_add_test(tc, objective_losses_by_hand);
    tcase_add_test(tc, objective_prior_shift_by_hand);
    tcase_add_test(tc, objective_init_score_is_weighted_prior);
    tcase_add_test(tc, early_stopping_stops_on_crafted_curves);
    suite_add_tcase(s, tc);
    return s;
}
