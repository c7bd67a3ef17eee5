/* Tests for src/core/csv.c: the numeric table loader (quotes, CRLF,
 * missing values, infinities, correct rounding against libc strtod, exact
 * error messages for ragged rows and non-numbers), the raw field walk,
 * and allocation failure at every step. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <turbomode/core.h>

#include "tm_test.h"

static tm_csv *csv_ok(const char *text)
{
    tm_err err;
    tm_err_init(&err);
    tm_csv *csv = NULL;
    tm_status st = tm_csv_parse(text, strlen(text), "t.csv", &csv, &err);
    ck_assert_msg(st == TM_OK, "parse failed: line %ld: %s", err.line, err.reason);
    ck_assert_ptr_nonnull(csv);
    ck_assert_ptr_nonnull(csv->values);
    return csv;
}

/* Expects TM_E_PARSE with the formatted one-line message msg. */
static void csv_error(const char *text, const char *msg)
{
    tm_err err;
    char buf[1024];
    tm_err_init(&err);
    tm_csv *csv = (tm_csv *)&err;
    ck_assert_int_eq(tm_csv_parse(text, strlen(text), "t.csv", &csv, &err), TM_E_PARSE);
    ck_assert_ptr_null(csv);
    ck_assert_str_eq(tm_err_format(&err, buf, sizeof buf), msg);
}

static double at(const tm_csv *csv, size_t row, size_t col)
{
    return csv->values[row * csv->n_cols + col];
}

static bool same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

START_TEST(csv_basic_table)
{
    tm_csv *csv = csv_ok("a,b,c\n1,2.5,-3e2\n4,5,6\n");
    ck_assert_uint_eq(csv->n_rows, 2);
    ck_assert_uint_eq(csv->n_cols, 3);
    ck_assert_str_eq(csv->names[0], "a");
    ck_assert_str_eq(csv->names[2], "c");
    ck_assert_double_eq(at(csv, 0, 1), 2.5);
    ck_assert_double_eq(at(csv, 0, 2), -300.0);
    ck_assert_double_eq(at(csv, 1, 2), 6.0);
    ck_assert_int_eq(tm_csv_col(csv, "b"), 1);
    ck_assert_int_eq(tm_csv_col(csv, "zz"), -1);
    ck_assert_int_eq(tm_csv_col(NULL, "a"), -1);
    tm_csv_free(csv);
    tm_csv_free(NULL);
}
END_TEST

START_TEST(csv_line_ends_and_blank_lines)
{
    const char *texts[] = {
            "x,y\r\n1,2\r\n3,4\r\n", "x,y\n1,2\n3,4",         "x,y\r\n1,2\r\n3,4",
            "x,y\n1,2\n3,4\n\n",     "x,y\n1,2\n3,4\r\n\r\n", "\xef\xbb\xbfx,y\n1,2\n3,4\n",
            "x,y\r\n1,2\r\n3,4\r",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        tm_csv *csv = csv_ok(texts[i]);
        ck_assert_uint_eq(csv->n_rows, 2);
        ck_assert_str_eq(csv->names[0], "x");
        ck_assert_str_eq(csv->names[1], "y");
        ck_assert_double_eq(at(csv, 1, 1), 4.0);
        tm_csv_free(csv);
    }
}
END_TEST

START_TEST(csv_quoted_fields)
{
    tm_csv *csv =
            csv_ok("\"a,1\",\"b \"\"q\"\"\",\"c\r\nd\"\r\n\"1.5\",\"\",2\r\n\" 7 \",NaN,\"-inf\"");
    ck_assert_uint_eq(csv->n_cols, 3);
    ck_assert_str_eq(csv->names[0], "a,1");
    ck_assert_str_eq(csv->names[1], "b \"q\"");
    ck_assert_str_eq(csv->names[2], "c\r\nd");
    ck_assert_uint_eq(csv->n_rows, 2);
    ck_assert_double_eq(at(csv, 0, 0), 1.5);
    ck_assert(isnan(at(csv, 0, 1)));
    ck_assert_double_eq(at(csv, 0, 2), 2.0);
    ck_assert_double_eq(at(csv, 1, 0), 7.0);
    ck_assert(isnan(at(csv, 1, 1)));
    ck_assert(isinf(at(csv, 1, 2)) && at(csv, 1, 2) < 0);
    tm_csv_free(csv);
}
END_TEST

START_TEST(csv_missing_and_infinities)
{
    tm_csv *csv = csv_ok("a,b,c,d,e,f,g\n,nan,NaN,-nan,inf,-inf,+inf\nInfinity,-Infinity,1,,2,,\n");
    ck_assert_uint_eq(csv->n_rows, 2);
    for (size_t j = 0; j < 4; j++) {
        ck_assert(isnan(at(csv, 0, j)));
    }
    ck_assert(isinf(at(csv, 0, 4)) && at(csv, 0, 4) > 0);
    ck_assert(isinf(at(csv, 0, 5)) && at(csv, 0, 5) < 0);
    ck_assert(isinf(at(csv, 0, 6)) && at(csv, 0, 6) > 0);
    ck_assert(isinf(at(csv, 1, 0)) && at(csv, 1, 0) > 0);
    ck_assert(isinf(at(csv, 1, 1)) && at(csv, 1, 1) < 0);
    ck_assert(isnan(at(csv, 1, 3)));
    ck_assert(isnan(at(csv, 1, 6)));
    tm_csv_free(csv);
}
END_TEST

/* One column: every line after the header is a row and a blank line is a
 * missing value (pandas writes NaN that way), so rows out match rows in. */
START_TEST(csv_one_column_blank_lines_are_missing)
{
    tm_csv *csv = csv_ok("only\n\n1\n\n");
    ck_assert_uint_eq(csv->n_rows, 3);
    ck_assert(isnan(at(csv, 0, 0)));
    ck_assert_double_eq(at(csv, 1, 0), 1.0);
    ck_assert(isnan(at(csv, 2, 0)));
    tm_csv_free(csv);
    csv = csv_ok("v\r\n2\r\n\r\n\r\n3\r\n");
    ck_assert_uint_eq(csv->n_rows, 4);
    ck_assert_double_eq(at(csv, 0, 0), 2.0);
    ck_assert(isnan(at(csv, 1, 0)) && isnan(at(csv, 2, 0)));
    ck_assert_double_eq(at(csv, 3, 0), 3.0);
    tm_csv_free(csv);
    csv = csv_ok("v\n5\n");
    ck_assert_uint_eq(csv->n_rows, 1); /* the last line end ends a row, adds none */
    tm_csv_free(csv);
    csv = csv_ok("v\n5\n\r");
    ck_assert_uint_eq(csv->n_rows, 2); /* a lone CR at the end is a blank line */
    ck_assert(isnan(at(csv, 1, 0)));
    tm_csv_free(csv);
}
END_TEST

/* Wider tables: a blank line between rows is refused with its line;
 * blank lines that only end the file hold no row and are accepted. */
START_TEST(csv_blank_line_inside_wide_table_refused)
{
    csv_error("x,y\n1,2\n\n3,4\n", "t.csv:3: expected 2 fields, found a blank line");
    csv_error("x,y\r\n1,2\r\n\r\n\r\n3,4\r\n", "t.csv:3: expected 2 fields, found a blank line");
    tm_csv *csv = csv_ok("x,y\n1,2\n\n\r\n\n");
    ck_assert_uint_eq(csv->n_rows, 1);
    tm_csv_free(csv);
}
END_TEST

/* Values must equal libc strtod bit for bit, including texts that need
 * more than the exact fast path. */
START_TEST(csv_correct_rounding)
{
    static const char *const texts[] = {
            "2.4984581470489502",
            "2.4984581",
            "2.49845815",
            "0.1",
            "-0.0",
            "0",
            "1e23",
            "8.5e-5",
            "9007199254740993",
            "9007199254740992",
            "1.7976931348623157e308",
            "4.9e-324",
            "2.2250738585072011e-308",
            "123456789012345678901234567890",
            "0.30000000000000004",
            "1.00000005960464477539062500001",
            "5e-324",
            "1e-400",
            "1e400",
            ".5",
            "5.",
            "+3",
            "000123.4500",
            "1E+2",
            "3.4028235677973366e38",
            "7.006492321624085e-46",
            "1234567890123456789",
            "12345678901234567890",
            "0.000000000000000000000001",
            "4.35",
    };
    size_t n = sizeof texts / sizeof texts[0];
    char text[4096];
    size_t k = (size_t)sprintf(text, "v\n");
    for (size_t i = 0; i < n; i++) {
        k += (size_t)sprintf(text + k, "%s\n", texts[i]);
    }
    tm_csv *csv = csv_ok(text);
    ck_assert_uint_eq(csv->n_rows, n);
    for (size_t i = 0; i < n; i++) {
        double want = strtod(texts[i], NULL);
        ck_assert_msg(same_bits(at(csv, i, 0), want), "%s: %a, want %a", texts[i], at(csv, i, 0),
                      want);
    }
    tm_csv_free(csv);
}
END_TEST

/* Random doubles and float32 values printed in the forms writers use, plus
 * random digit strings, all equal to strtod. */
START_TEST(csv_random_numbers_match_strtod)
{
    size_t n = 20000, cap = n * 40 + 16, k = 0;
    char *text = malloc(cap);
    char **fields = malloc(n * sizeof *fields);
    uint64_t s = 88172645463325252u;
    k += (size_t)sprintf(text, "v\n");
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        double d;
        uint64_t bits = s;
        memcpy(&d, &bits, sizeof d);
        fields[i] = text + k;
        switch (i % 4) {
        case 0:
            k += (size_t)sprintf(text + k, "%.17g", isfinite(d) ? d : 1.0);
            break;
        case 1:
            k += (size_t)sprintf(text + k, "%.9g", (double)(float)((double)(s >> 11) * 1e-9));
            break;
        case 2:
            k += (size_t)sprintf(text + k, "%.8g", (double)(s % 1000003) / 977.0);
            break;
        default:
            k += (size_t)sprintf(text + k, "%llu.%llue%d", (unsigned long long)(s % 100000),
                                 (unsigned long long)(s >> 40), (int)(s % 61) - 30);
            break;
        }
        text[k++] = '\n';
    }
    text[k] = 0;
    tm_csv *csv = csv_ok(text);
    ck_assert_uint_eq(csv->n_rows, n);
    for (size_t i = 0; i < n; i++) {
        double want = strtod(fields[i], NULL);
        ck_assert_msg(same_bits(at(csv, i, 0), want), "row %zu: %a, want %a", i, at(csv, i, 0),
                      want);
    }
    tm_csv_free(csv);
    free(fields);
    free(text);
}
END_TEST

START_TEST(csv_header_only_and_empty)
{
    tm_csv *csv = csv_ok("a,b\n");
    ck_assert_uint_eq(csv->n_rows, 0);
    ck_assert_uint_eq(csv->n_cols, 2);
    tm_csv_free(csv);
    csv = csv_ok("a");
    ck_assert_uint_eq(csv->n_rows, 0);
    ck_assert_uint_eq(csv->n_cols, 1);
    tm_csv_free(csv);
    csv_error("", "t.csv: expected a header row, found an empty file");
    csv_error("\n\r\n\n", "t.csv: expected a header row, found an empty file");
}
END_TEST

START_TEST(csv_error_messages)
{
    csv_error("a,b,c\n1,2,3\n4,5\n", "t.csv:3: expected 3 fields, found 2");
    csv_error("a,b,c\n1,2,3,4\n", "t.csv:2: expected 3 fields, found 4");
    csv_error("a,b,c\r\n1,2,3\r\n1,\"2\",3,\"\"\r\n", "t.csv:3: expected 3 fields, found 4");
    csv_error("a,b\n1,2\n\n\n7\n", "t.csv:3: expected 2 fields, found a blank line");
    csv_error("a,price,c\n1,2,3\n4,abc,6\n",
              "t.csv:3: field 'price': expected a number, found \"abc\"");
    csv_error("a,b\n1,NA\n", "t.csv:2: field 'b': expected a number, found \"NA\"");
    csv_error("a,b\n1,1.5e\n", "t.csv:2: field 'b': expected a number, found \"1.5e\"");
    csv_error("a,b\n1,0x10\n", "t.csv:2: field 'b': expected a number, found \"0x10\"");
    csv_error("a,b\n1,2 3\n", "t.csv:2: field 'b': expected a number, found \"2 3\"");
    csv_error("a,b\n\"x\"\"\",2\n", "t.csv:2: field 'a': expected a number, found \"x\"\"");
    csv_error("a,b\n1,1.2.3\r\n", "t.csv:2: field 'b': expected a number, found \"1.2.3\"");
    csv_error("a\n12345678901234567890123456789012345678901234567890x\n",
              "t.csv:2: field 'a': expected a number, found "
              "\"1234567890123456789012345678901234567890\"...");
    csv_error("a,b\n1,\"2\n", "t.csv:2: unterminated quoted field");
    csv_error("a,b\n1,\"2\"x\n",
              "t.csv:2: expected ',' or end of line after a closing quote, found 'x'");
    csv_error("\"a,b\n1,2\n", "t.csv:1: unterminated quoted field");
    tm_csv *csv = NULL;
    ck_assert_int_eq(tm_csv_parse(NULL, 4, "t", &csv, NULL), TM_E_INVALID);
}
END_TEST

START_TEST(csv_load_from_file)
{
    char path[512];
    /* The shared temporary directory may be gone in a forked test. */
    snprintf(path, sizeof path, "%s", tm_test_tmpdir());
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/load.csv", tm_test_tmpdir());
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("f0,f1\n0.5,\n-1,3\n", fp);
    fclose(fp);
    tm_csv *csv = NULL;
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_csv_load(path, &csv, &err), TM_OK);
    ck_assert_uint_eq(csv->n_rows, 2);
    ck_assert(isnan(at(csv, 0, 1)));
    ck_assert_double_eq(at(csv, 1, 0), -1.0);
    tm_csv_free(csv);
    snprintf(path, sizeof path, "%s/absent.csv", tm_test_tmpdir());
    ck_assert_int_eq(tm_csv_load(path, &csv, &err), TM_E_IO);
    ck_assert_ptr_null(csv);
}
END_TEST

/* Records seen by the walk callback, joined as "line:f1|f2;". */
typedef struct walk_log {
    char text[1024];
    size_t len;
    long stop_at; /* return TM_E_INVALID for the record on this line */
} walk_log;

static tm_status log_row(void *ctx, long line, size_t n_fields, char *const *fields, tm_err *err)
{
    walk_log *w = ctx;
    if (line == w->stop_at) {
        return TM_ERR(err, TM_E_INVALID, "w", line, fields[0], "stopped");
    }
    w->len += (size_t)snprintf(w->text + w->len, sizeof w->text - w->len, "%ld:", line);
    for (size_t i = 0; i < n_fields; i++) {
        w->len += (size_t)snprintf(w->text + w->len, sizeof w->text - w->len, "%s%s", i ? "|" : "",
                                   fields[i]);
    }
    w->len += (size_t)snprintf(w->text + w->len, sizeof w->text - w->len, ";");
    return TM_OK;
}

START_TEST(csv_walk_fields_and_lines)
{
    const char *text = "sym,name\r\nAAPL,\"Apple, Inc.\"\r\n\r\nX,\"two\nlines\"\nY,\nZ";
    walk_log w = {.stop_at = -1};
    ck_assert_int_eq(tm_csv_walk(text, strlen(text), "w", log_row, &w, NULL), TM_OK);
    ck_assert_str_eq(w.text, "1:sym|name;2:AAPL|Apple, Inc.;4:X|two\nlines;6:Y|;7:Z;");
    walk_log w2 = {.stop_at = 4};
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_csv_walk(text, strlen(text), "w", log_row, &w2, &err), TM_E_INVALID);
    ck_assert_str_eq(w2.text, "1:sym|name;2:AAPL|Apple, Inc.;");
    ck_assert_str_eq(err.field, "X");
    walk_log w3 = {.stop_at = -1};
    ck_assert_int_eq(tm_csv_walk("", 0, "w", log_row, &w3, NULL), TM_OK);
    ck_assert_uint_eq(w3.len, 0);
    tm_err_init(&err);
    ck_assert_int_eq(tm_csv_walk("a,\"b", 4, "w", log_row, &w3, &err), TM_E_PARSE);
    ck_assert_str_eq(err.reason, "unterminated quoted field");
}
END_TEST

/* Every prefix of a table parses or fails cleanly (ASan checks reads). */
START_TEST(csv_truncated_prefixes)
{
    const char *text = "a,\"b\"\"x\"\r\n1.5,\"2\"\r\n,nan\r\n";
    for (size_t i = 0; i <= strlen(text); i++) {
        char *copy = malloc(i + 1);
        memcpy(copy, text, i);
        tm_csv *csv = NULL;
        tm_status st = tm_csv_parse(copy, i, "t", &csv, NULL);
        ck_assert(st == TM_OK || st == TM_E_PARSE);
        tm_csv_free(csv);
        free(copy);
    }
    /* Random byte changes: parse or fail, never crash or leak. */
    size_t n = strlen(text);
    unsigned seed = 99;
    char *copy = malloc(n);
    for (int k = 0; k < 20000; k++) {
        memcpy(copy, text, n);
        for (int flips = 0; flips < 2; flips++) {
            seed = seed * 1103515245u + 12345u;
            copy[(seed >> 8) % n] = ",\"\r\n0.e-x "[(seed >> 20) % 10];
        }
        tm_csv *csv = NULL;
        tm_status st = tm_csv_parse(copy, n, "t", &csv, NULL);
        ck_assert(st == TM_OK || st == TM_E_PARSE);
        tm_csv_free(csv);
    }
    free(copy);
}
END_TEST

START_TEST(csv_alloc_failure_loop)
{
    const char *text = "a,\"b\",c\n1,\"2\",3\n4,5,6\n";
    long n;
    for (n = 1; n < 1000; n++) {
        tm_csv *csv = (tm_csv *)&n;
        tm_err err;
        tm_err_init(&err);
        tm_alloc_fail_after(n);
        tm_status st = tm_csv_parse(text, strlen(text), "t.csv", &csv, &err);
        tm_alloc_fail_after(0);
        if (st == TM_OK) {
            ck_assert_uint_eq(csv->n_rows, 2);
            ck_assert_double_eq(at(csv, 1, 2), 6.0);
            tm_csv_free(csv);
            break;
        }
        ck_assert_int_eq(st, TM_E_NOMEM);
        ck_assert_int_eq(err.status, TM_E_NOMEM);
        ck_assert_ptr_null(csv);
    }
    ck_assert_int_gt(n, 3);
    ck_assert_int_lt(n, 1000);
    for (n = 1; n < 1000; n++) {
        walk_log w = {.stop_at = -1};
        tm_alloc_fail_after(n);
        tm_status st = tm_csv_walk(text, strlen(text), "t.csv", log_row, &w, NULL);
        tm_alloc_fail_after(0);
        if (st == TM_OK) {
            break;
        }
        ck_assert_int_eq(st, TM_E_NOMEM);
    }
    ck_assert_int_lt(n, 1000);
}
END_TEST

Suite *tm_test_suite_core_csv(void);

TM_TEST_SUITE(core_csv)
{
    Suite *s = suite_create("core_csv");
    TCase *tc = tcase_create("csv");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, csv_basic_table);
    tcase_add_test(tc, csv_line_ends_and_blank_lines);
    tcase_add_test(tc, csv_one_column_blank_lines_are_missing);
    tcase_add_test(tc, csv_blank_line_inside_wide_table_refused);
    tcase_add_test(tc, csv_quoted_fields);
    tcase_add_test(tc, csv_missing_and_infinities);
    tcase_add_test(tc, csv_correct_rounding);
    tcase_add_test(tc, csv_random_numbers_match_strtod);
    tcase_add_test(tc, csv_header_only_and_empty);
    tcase_add_test(tc, csv_error_messages);
    tcase_add_test(tc, csv_load_from_file);
    tcase_add_test(tc, csv_walk_fields_and_lines);
    tcase_add_test(tc, csv_truncated_prefixes);
    tcase_add_test(tc, csv_alloc_failure_loop);
    suite_add_tcase(s, tc);
    return s;
}
