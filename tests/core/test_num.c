/* Tests for the argmax of src/core/num.c (predicted classes everywhere):
 * ties go to the lower index, NaN never wins over a number after it, a
 * stride walks class-major score tables, empty and one-element input. */
#include <math.h>

#include <turbomode/core.h>

#include "tm_test.h"

START_TEST(argmax_first_maximum_wins)
{
    const double v[] = {0.2, 0.5, 0.3};
    ck_assert_uint_eq(tm_argmax(v, 3, 1), 1);
    const double tie[] = {0.4, 0.2, 0.4};
    ck_assert_uint_eq(tm_argmax(tie, 3, 1), 0);
    const double tie2[] = {0.1, 0.45, 0.45};
    ck_assert_uint_eq(tm_argmax(tie2, 3, 1), 1);
    const double inf[] = {1e308, (double)INFINITY, -(double)INFINITY};
    ck_assert_uint_eq(tm_argmax(inf, 3, 1), 1);
}
END_TEST

START_TEST(argmax_nan_and_sizes)
{
    const double nan_first[] = {(double)NAN, 1.0, 2.0};
    ck_assert_uint_eq(tm_argmax(nan_first, 3, 1), 0); /* nothing compares above NaN */
    const double nan_mid[] = {1.0, (double)NAN, 2.0};
    ck_assert_uint_eq(tm_argmax(nan_mid, 3, 1), 2);
    const double one[] = {-5.0};
    ck_assert_uint_eq(tm_argmax(one, 1, 1), 0);
    ck_assert_uint_eq(tm_argmax(one, 0, 1), 0);
}
END_TEST

START_TEST(argmax_strided_class_major)
{
    /* scores of 2 rows x 3 classes stored class-major: class k of row r at k*2+r */
    const double s[] = {0.1, 0.7, 0.6, 0.2, 0.3, 0.1};
    ck_assert_uint_eq(tm_argmax(s, 3, 2), 1);     /* row 0: 0.1, 0.6, 0.3 */
    ck_assert_uint_eq(tm_argmax(s + 1, 3, 2), 0); /* row 1: 0.7, 0.2, 0.1 */
}
END_TEST

TM_TEST_SUITE(core_num)
{
    Suite *s = suite_create("core_num");
    TCase *tc = tcase_create("argmax");
    tcase_add_test(tc, argmax_first_maximum_wins);
    tcase_add_test(tc, argmax_nan_and_sizes);
    tcase_add_test(tc, argmax_strided_class_major);
    suite_add_tcase(s, tc);
    return s;
}
