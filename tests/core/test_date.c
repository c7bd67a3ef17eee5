/* Tests for src/core/date.c: day numbers worked out by hand around the
 * epoch, leap days and century years, a round trip over 800 years,
 * weekdays and ISO weeks at year boundaries, YYYYMMDD and UTC stamps. */
#include <turbomode/core.h>

#include "tm_test.h"

START_TEST(date_day_numbers_by_hand)
{
    ck_assert_int_eq(tm_days_from_civil(1970, 1, 1), 0);
    ck_assert_int_eq(tm_days_from_civil(1969, 12, 31), -1);
    ck_assert_int_eq(tm_days_from_civil(2000, 1, 1), 10957); /* 30 years, 7 leap days */
    ck_assert_int_eq(tm_days_from_civil(2000, 3, 1), 10957 + 31 + 29);
    ck_assert_int_eq(tm_days_from_civil(1900, 3, 1) - tm_days_from_civil(1900, 2, 28), 1);
    ck_assert_int_eq(tm_ymd_days(20180102), tm_days_from_civil(2018, 1, 2));
    ck_assert_int_eq(tm_ymd_from_days(-1), 19691231);
    ck_assert_int_eq(tm_ymd_from_days(10957 + 31 + 28), 20000229);
}
END_TEST

START_TEST(date_round_trip_and_months)
{
    int64_t prev = tm_days_from_civil(1799, 12, 31);
    long bad = 0;
    for (int y = 1800; y < 2600; y++) {
        for (int m = 1; m <= 12; m++) {
            int n = tm_days_in_month(y, m);
            for (int d = 1; d <= n; d++) {
                int64_t k = tm_days_from_civil(y, m, d);
                int yy, mm, dd;
                tm_civil_from_days(k, &yy, &mm, &dd);
                bad += k != prev + 1 || yy != y || mm != m || dd != d;
                prev = k;
            }
        }
    }
    ck_assert_int_eq(bad, 0);
    ck_assert_int_eq(prev - tm_days_from_civil(1800, 1, 1) + 1, 800 * 365 + 194); /* leap days */
    ck_assert_int_eq(tm_days_in_month(1900, 2), 28);
    ck_assert_int_eq(tm_days_in_month(2000, 2), 29);
    ck_assert_int_eq(tm_days_in_month(2024, 2), 29);
    ck_assert_int_eq(tm_days_in_month(2023, 2), 28);
    ck_assert(!tm_is_leap_year(2100) && tm_is_leap_year(2400));
}
END_TEST

START_TEST(date_weekday_iso_week_floor)
{
    ck_assert_int_eq(tm_weekday(1970, 1, 1), 3);   /* Thursday */
    ck_assert_int_eq(tm_weekday(2026, 12, 4), 4);  /* Friday */
    ck_assert_int_eq(tm_weekday(1969, 12, 29), 0); /* Monday, before the epoch */
    ck_assert_int_eq(tm_iso_week(2021, 1, 1), 53); /* Friday of 2020's week 53 */
    ck_assert_int_eq(tm_iso_week(2018, 12, 31), 1);
    ck_assert_int_eq(tm_iso_week(2015, 12, 31), 53);
    ck_assert_int_eq(tm_iso_week(2018, 1, 1), 1);
    ck_assert_int_eq(tm_floordiv(-7, 2), -4);
    ck_assert_int_eq(tm_floormod(-7, 2), 1);
    ck_assert_int_eq(tm_floordiv(7, 2), 3);
    ck_assert_int_eq(tm_floormod(-86400, 86400), 0);
}
END_TEST

START_TEST(date_utc_iso)
{
    char buf[32];
    ck_assert_str_eq(tm_utc_iso(0, buf, sizeof buf), "1970-01-01T00:00:00Z");
    ck_assert_str_eq(tm_utc_iso(-1, buf, sizeof buf), "1969-12-31T23:59:59Z");
    ck_assert_str_eq(tm_utc_iso(951782400 + 3723, buf, sizeof buf), "2000-02-29T01:02:03Z");
}
END_TEST

TM_TEST_SUITE(core_date)
{
    Suite *s = suite_create("core_date");
    TCase *tc = tcase_create("date");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, date_day_numbers_by_hand);
    tcase_add_test(tc, date_round_trip_and_months);
    tcase_add_test(tc, date_weekday_iso_week_floor);
    tcase_add_test(tc, date_utc_iso);
    suite_add_tcase(s, tc);
    return s;
}
