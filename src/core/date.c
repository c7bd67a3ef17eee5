/* Calendar arithmetic on the proleptic Gregorian calendar, as Python's
 * datetime does it: day numbers from 1970-01-01 (H. Hinnant's
 * days_from_civil and civil_from_days), weekdays, ISO weeks, YYYYMMDD
 * dates and UTC timestamps. Zones and wall-clock instants stay in sched;
 * this file knows nothing of them. */
#include <stdio.h>

#include <turbomode/core.h>

int64_t tm_floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) {
        q--;
    }
    return q;
}

int64_t tm_floormod(int64_t a, int64_t b)
{
    return a - tm_floordiv(a, b) * b;
}

int64_t tm_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = tm_floordiv(y, 400);
    int64_t yoe = y - era * 400;
    int64_t mp = (m + 9) % 12;
    int64_t doy = (153 * mp + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void tm_civil_from_days(int64_t days, int *y, int *m, int *d)
{
    days += 719468;
    int64_t era = tm_floordiv(days, 146097);
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

bool tm_is_leap_year(int64_t y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

int tm_days_in_month(int y, int m)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && tm_is_leap_year(y)) {
        return 29;
    }
    return dim[m - 1];
}

int tm_weekday(int y, int m, int d)
{
    /* 1970-01-01 was a Thursday (3). */
    return (int)tm_floormod(tm_days_from_civil(y, m, d) + 3, 7);
}

int tm_iso_week(int y, int m, int d)
{
    int64_t days = tm_days_from_civil(y, m, d);
    int64_t thursday = days - tm_weekday(y, m, d) + 3;
    int ty, tmo, td;
    tm_civil_from_days(thursday, &ty, &tmo, &td);
    return (int)((thursday - tm_days_from_civil(ty, 1, 1)) / 7 + 1);
}

int64_t tm_ymd_days(int32_t ymd)
{
    return tm_days_from_civil(ymd / 10000, ymd / 100 % 100, ymd % 100);
}

int32_t tm_ymd_from_days(int64_t days)
{
    int y, m, d;
    tm_civil_from_days(days, &y, &m, &d);
    return (int32_t)(y * 10000 + m * 100 + d);
}

char *tm_utc_iso(int64_t unix_seconds, char *buf, size_t len)
{
    int64_t days = tm_floordiv(unix_seconds, 86400), s = unix_seconds - days * 86400;
    int y, m, d;
    tm_civil_from_days(days, &y, &m, &d);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", y, m, d, (int)(s / 3600),
             (int)(s / 60 % 60), (int)(s % 60));
    return buf;
}
