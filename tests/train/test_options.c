/* The option table of tm_train_opts (src/train/options.c) and the check
 * tm_train_fit runs with it: every row's range refused at both ends with
 * the option named, the defaults of tm_train_opts_init inside the ranges,
 * the defaults a row describes in words accepted, and the rules between
 * options. The messages are the ones `turbomode train` prints. */
#include <check.h>
#include <math.h>
#include <string.h>

#include <turbomode/train.h>

#include "tm_test.h"

static void expect_refused(const tm_train_opts *o, const char *want)
{
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_train_opts_check(o, &err), TM_E_INVALID);
    char msg[1024];
    ck_assert_str_eq(tm_err_format(&err, msg, sizeof msg), want);
    /* tm_train_fit refuses it the same way before looking at the data */
    double x[3] = {1, 2, 3}, y[3] = {0, 1, 2};
    tm_train_data d = {3, 1, 1, x, NULL, y, NULL, NULL, NULL, NULL};
    tm_forest *f = NULL;
    tm_err_init(&err);
    ck_assert_int_eq(tm_train_fit(o, &d, NULL, &f, NULL, &err), TM_E_INVALID);
    ck_assert_ptr_null(f);
    ck_assert_str_eq(tm_err_format(&err, msg, sizeof msg), want);
}

START_TEST(train_defaults_pass_the_table)
{
    tm_train_opts o;
    tm_train_opts_init(&o);
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_train_opts_check(&o, &err), TM_OK);
    /* the defaults rows describe in words: none for the leaf cap of other
     * growths, any depth, max label + 1 classes, all cores */
    o.growth = TM_TRAIN_DEPTHWISE;
    o.num_leaves = 0;
    o.max_depth = -1;
    o.num_class = 0;
    o.n_threads = 0;
    ck_assert_int_eq(tm_train_opts_check(&o, &err), TM_OK);
    o.seed = UINT64_MAX; /* every seed */
    ck_assert_int_eq(tm_train_opts_check(&o, &err), TM_OK);
}
END_TEST

START_TEST(train_each_row_refused_out_of_range_by_name)
{
    size_t n;
    const tm_opt *rows = tm_train_opt_table(&n);
    ck_assert_uint_eq(n, 19);
    int checked = 0;
    for (size_t i = 0; i < n; i++) {
        const tm_opt *r = &rows[i];
        if (r->type != TM_OPT_INT && r->type != TM_OPT_DOUBLE) {
            continue;
        }
        for (int side = 0; side < 3; side++) {
            tm_train_opts o;
            tm_train_opts_init(&o);
            void *f = (char *)&o + r->offset;
            double v = side == 0 ? r->min - 1 : side == 1 ? r->max + 1 : (double)NAN;
            if (r->type == TM_OPT_INT) {
                if (side == 2) {
                    continue;
                }
                if (side == 0 && r->min - 1 == 0 && r->shown) {
                    v = r->min - 2; /* 0 is the default the row describes */
                }
                *(int *)f = (int)v;
            } else {
                if (side == 0 && r->min > 0) {
                    v = r->min / 2;
                }
                *(double *)f = v;
            }
            char want[256], what[128], val[64];
            if (r->type == TM_OPT_INT) {
                snprintf(what, sizeof what, "a whole number in %.0f..%.0f", r->min, r->max);
            } else {
                snprintf(what, sizeof what, "a finite number in [%g, %g]", r->min, r->max);
            }
            snprintf(want, sizeof want, "--%s: expected %s, found \"%s\"", r->name, what,
                     tm_opt_format(r, &o, val, sizeof val));
            if (strcmp(r->name, "max-depth") == 0 && side == 0) {
                continue; /* -1 is the default; 0 below */
            }
            expect_refused(&o, want);
            checked++;
        }
    }
    ck_assert_int_eq(checked, 2 * 9 + 3 * 6 - 1);
}
END_TEST

START_TEST(train_rules_between_options)
{
    tm_train_opts o;
    tm_train_opts_init(&o);
    o.max_depth = 0;
    expect_refused(&o, "--max-depth: expected a whole number in 1..30, found \"0\"");
    o.max_depth = -2;
    expect_refused(&o, "--max-depth: expected a whole number in 1..30, found \"-2\"");
    tm_train_opts_init(&o);
    o.num_leaves = 0; /* leaf-wise trees need a leaf count */
    expect_refused(&o, "--num-leaves: expected a whole number in 2..1048576 for leafwise growth, "
                       "found \"0\"");
    tm_train_opts_init(&o);
    o.growth = TM_TRAIN_OBLIVIOUS;
    o.max_depth = 13;
    expect_refused(&o, "--max-depth: expected a whole number in 1..12 for oblivious growth, "
                       "found \"13\"");
    o.max_depth = 12;
    tm_err err;
    ck_assert_int_eq(tm_train_opts_check(&o, &err), TM_OK);
    tm_train_opts_init(&o);
    o.growth = (tm_train_growth)3;
    expect_refused(&o, "--growth: expected one of leafwise|depthwise|oblivious, found \"3\"");
    tm_train_opts_init(&o);
    o.objective = TM_TRAIN_REGRESSION;
    o.class_weight = TM_TRAIN_CW_BALANCED;
    expect_refused(&o, "--class-weight: expected no class weights for the regression objective, "
                       "found balanced");
    tm_train_opts_init(&o);
    o.class_weight = TM_TRAIN_CW_EXPLICIT;
    o.n_class_weights = 0;
    expect_refused(&o, "--class-weight: expected 1..32 weights, found 0");
    o.learning_rate = INFINITY;
    expect_refused(&o, "--learning-rate: expected a finite number in [1e-06, 100], found \"inf\"");
}
END_TEST

TM_TEST_SUITE(train_options)
{
    Suite *s = suite_create("train_options");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, train_defaults_pass_the_table);
    tcase_add_test(tc, train_each_row_refused_out_of_range_by_name);
    tcase_add_test(tc, train_rules_between_options);
    suite_add_tcase(s, tc);
    return s;
}
