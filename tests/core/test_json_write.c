/* Tests for src/core/buf.c and src/core/json_write.c: the growable text
 * buffer (long and formatted appends, NUL bytes, out of memory at every
 * allocation) and the JSON writer (separators in both styles, escapes as
 * Python's json.dumps writes them, the three NaN/infinity policies,
 * misuse refused, text that the parser reads back to the same values). */
#include <math.h>
#include <string.h>

#include <turbomode/core.h>

#include "tm_test.h"

START_TEST(buf_appends_and_grows)
{
    tm_buf b = {0};
    char *s = NULL;
    for (int i = 0; i < 1000; i++) {
        tm_buf_printf(&b, "%04d,", i);
    }
    ck_assert_uint_eq(b.len, 5000);
    ck_assert_uint_eq(strlen(b.p), 5000);
    ck_assert(memcmp(b.p + 4995, "0999,", 5) == 0);
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    tm_buf_printf(&b, "[%s]", big); /* longer than the formatter's first try */
    ck_assert_uint_eq(b.len, 5000 + 1001);
    ck_assert_int_eq(b.p[b.len - 1], ']');
    tm_buf_append(&b, "a\0b", 3);
    ck_assert_uint_eq(b.len, 6004);
    ck_assert_int_eq(tm_buf_take(&b, &s, NULL), TM_OK);
    ck_assert_ptr_null(b.p);
    ck_assert_uint_eq(b.len, 0);
    ck_assert_int_eq(s[6002], 0);
    tm_free(s);
}
END_TEST

START_TEST(buf_take_of_empty_is_empty_string)
{
    tm_buf b;
    char *s = NULL;
    tm_buf_init(&b);
    ck_assert_int_eq(tm_buf_take(&b, &s, NULL), TM_OK);
    ck_assert_str_eq(s, "");
    tm_free(s);
    tm_buf_fini(NULL);
}
END_TEST

START_TEST(buf_out_of_memory_is_sticky)
{
    for (long k = 1;; k++) {
        tm_buf b = {0};
        char *s = NULL;
        tm_err err;
        tm_err_init(&err);
        tm_alloc_fail_after(k);
        for (int i = 0; i < 300; i++) {
            tm_buf_puts(&b, "0123456789");
        }
        tm_status st = tm_buf_take(&b, &s, &err);
        tm_alloc_fail_after(0);
        if (st == TM_OK) {
            ck_assert_uint_eq(strlen(s), 3000);
            tm_free(s);
            ck_assert_int_gt(k, 1);
            break;
        }
        ck_assert_int_eq(st, TM_E_NOMEM);
        ck_assert_ptr_null(s);
        ck_assert_ptr_null(b.p);
        ck_assert_str_eq(err.reason, "out of memory writing text");
    }
}
END_TEST

/* Runs the writer steps of fn and returns the text (static buffer). */
static const char *written(void (*fn)(tm_jw *), tm_jw_style style, tm_jw_nonfinite nf, bool ascii)
{
    static char text[1024];
    tm_buf b = {0};
    tm_jw w;
    tm_err err;
    tm_err_init(&err);
    tm_jw_init(&w, &b, style, nf, ascii);
    fn(&w);
    ck_assert_msg(tm_jw_finish(&w, &err) == TM_OK, "writer failed: %s", err.reason);
    ck_assert(!b.oom);
    snprintf(text, sizeof text, "%s", b.p ? b.p : "");
    tm_buf_fini(&b);
    return text;
}

static void metrics_doc(tm_jw *w)
{
    tm_jw_object(w);
    tm_jw_key(w, "method");
    tm_jw_string(w, "out-of-fold");
    tm_jw_key(w, "acc");
    tm_jw_fixed(w, 0.5, 6);
    tm_jw_key(w, "recall");
    tm_jw_array(w);
    tm_jw_fixed(w, 0.25, 4);
    tm_jw_fixed(w, 1.0 / 3.0, 4);
    tm_jw_array_end(w);
    tm_jw_key(w, "n");
    tm_jw_int(w, -12);
    tm_jw_key(w, "empty");
    tm_jw_array(w);
    tm_jw_array_end(w);
    tm_jw_key(w, "o");
    tm_jw_object(w);
    tm_jw_object_end(w);
    tm_jw_key(w, "flags");
    tm_jw_array(w);
    tm_jw_bool(w, true);
    tm_jw_bool(w, false);
    tm_jw_null(w);
    tm_jw_double(w, 0.1);
    tm_jw_raw(w, "7", 1);
    tm_jw_array_end(w);
    tm_jw_object_end(w);
}

START_TEST(jw_separators_by_style)
{
    ck_assert_str_eq(written(metrics_doc, TM_JW_COMPACT, TM_JW_NONFINITE_REFUSE, false),
                     "{\"method\":\"out-of-fold\",\"acc\":0.500000,\"recall\":[0.2500,0.3333],"
                     "\"n\":-12,\"empty\":[],\"o\":{},"
                     "\"flags\":[true,false,null,0.10000000000000001,7]}");
    ck_assert_str_eq(written(metrics_doc, TM_JW_SPACED, TM_JW_NONFINITE_REFUSE, false),
                     "{\"method\": \"out-of-fold\", \"acc\": 0.500000, \"recall\": [0.2500, "
                     "0.3333], \"n\": -12, \"empty\": [], \"o\": {}, "
                     "\"flags\": [true, false, null, 0.10000000000000001, 7]}");
}
END_TEST

static void escapes_doc(tm_jw *w)
{
    tm_jw_array(w);
    tm_jw_string(w, "q\"b\\n\nr\rt\tb\bf\f\x01\x1f\x7f");
    tm_jw_string(w, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"); /* é € U+1F600 */
    tm_jw_string(w, "bad \xff byte");
    tm_jw_string_n(w, "nul\0in", 6);
    tm_jw_array_end(w);
}

START_TEST(jw_escapes_like_python)
{
    /* json.dumps([...]) with ensure_ascii=True, worked out by hand from the
     * json module's escaping table. */
    ck_assert_str_eq(written(escapes_doc, TM_JW_SPACED, TM_JW_NONFINITE_REFUSE, true),
                     "[\"q\\\"b\\\\n\\nr\\rt\\tb\\bf\\f\\u0001\\u001f\\u007f\", "
                     "\"caf\\u00e9 \\u20ac \\ud83d\\ude00\", \"bad \\u00ff byte\", "
                     "\"nul\\u0000in\"]");
    /* Without ascii, UTF-8 passes through and DEL needs no escape. */
    ck_assert_str_eq(written(escapes_doc, TM_JW_COMPACT, TM_JW_NONFINITE_REFUSE, false),
                     "[\"q\\\"b\\\\n\\nr\\rt\\tb\\bf\\f\\u0001\\u001f\x7f\","
                     "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\",\"bad \xff byte\","
                     "\"nul\\u0000in\"]");
}
END_TEST

static void nonfinite_doc(tm_jw *w)
{
    tm_jw_object(w);
    tm_jw_key(w, "a");
    tm_jw_double(w, (double)NAN);
    tm_jw_key(w, "b");
    tm_jw_fixed(w, (double)INFINITY, 3);
    tm_jw_key(w, "c");
    tm_jw_double(w, -(double)INFINITY);
    tm_jw_object_end(w);
}

START_TEST(jw_nonfinite_policies)
{
    ck_assert_str_eq(written(nonfinite_doc, TM_JW_COMPACT, TM_JW_NONFINITE_NULL, false),
                     "{\"a\":null,\"b\":null,\"c\":null}");
    ck_assert_str_eq(written(nonfinite_doc, TM_JW_COMPACT, TM_JW_NONFINITE_TOKENS, false),
                     "{\"a\":NaN,\"b\":Infinity,\"c\":-Infinity}");
    tm_buf b = {0};
    tm_jw w;
    tm_err err;
    char msg[1024];
    tm_err_init(&err);
    tm_jw_init(&w, &b, TM_JW_COMPACT, TM_JW_NONFINITE_REFUSE, false);
    nonfinite_doc(&w);
    ck_assert_int_eq(tm_jw_finish(&w, &err), TM_E_RANGE);
    ck_assert_str_eq(tm_err_format(&err, msg, sizeof msg), "field 'a': NaN has no JSON number");
    tm_buf_fini(&b);
}
END_TEST

/* Expects the steps of fn to fail with reason. */
/* Integers as C's "%lld" prints them, at the edges of int64_t. */
START_TEST(jw_int_prints_as_printf)
{
    const int64_t v[] = {0, 1, -1, 9, 10, -10, 2147483647, -2147483648LL, INT64_MAX, INT64_MIN};
    tm_buf b;
    tm_buf_init(&b);
    tm_jw w;
    tm_jw_init(&w, &b, TM_JW_COMPACT, TM_JW_NONFINITE_REFUSE, false);
    tm_jw_array(&w);
    char want[400] = "[";
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        tm_jw_int(&w, v[i]);
        size_t n = strlen(want);
        snprintf(want + n, sizeof want - n, "%s%lld", i ? "," : "", (long long)v[i]);
    }
    tm_jw_array_end(&w);
    strcat(want, "]");
    ck_assert_int_eq(tm_jw_finish(&w, NULL), TM_OK);
    ck_assert_str_eq(b.p, want);
    tm_buf_fini(&b);
}
END_TEST

static void misuse(void (*fn)(tm_jw *), const char *reason)
{
    tm_buf b = {0};
    tm_jw w;
    tm_err err;
    tm_err_init(&err);
    tm_jw_init(&w, &b, TM_JW_COMPACT, TM_JW_NONFINITE_REFUSE, false);
    fn(&w);
    ck_assert_int_eq(tm_jw_finish(&w, &err), TM_E_INTERNAL);
    ck_assert_str_eq(err.reason, reason);
    tm_buf_fini(&b);
}

static void value_without_key(tm_jw *w)
{
    tm_jw_object(w);
    tm_jw_int(w, 1);
    tm_jw_object_end(w);
}

static void key_in_array(tm_jw *w)
{
    tm_jw_array(w);
    tm_jw_key(w, "k");
    tm_jw_array_end(w);
}

static void wrong_end(tm_jw *w)
{
    tm_jw_array(w);
    tm_jw_object_end(w);
}

static void left_open(tm_jw *w)
{
    tm_jw_object(w);
    tm_jw_key(w, "k");
}

static void bad_decimals(tm_jw *w)
{
    tm_jw_fixed(w, 1.0, 18);
}

START_TEST(jw_misuse_refused)
{
    misuse(value_without_key, "a JSON object member without a key");
    misuse(key_in_array, "a JSON key outside an object");
    misuse(wrong_end, "unbalanced JSON container end");
    misuse(left_open, "a JSON container left open");
    misuse(bad_decimals, "JSON fixed-point decimals outside 0..17");
}
END_TEST

/* Writing a parsed document reads back to the same values, deep nesting
 * included (the open-container stack grows past its first size). */
START_TEST(jw_value_round_trip)
{
    static const char src[] = "{\"k\\\"ey\": [1, -2.5e-3, true, null, \"s\\u00e9\\n\", {}, []], "
                              "\"deep\": [[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]}";
    tm_json_doc *doc = NULL, *back = NULL;
    ck_assert_int_eq(tm_json_parse(src, strlen(src), "src.json", &doc, NULL), TM_OK);
    tm_buf b = {0};
    tm_jw w;
    tm_jw_init(&w, &b, TM_JW_SPACED, TM_JW_NONFINITE_REFUSE, true);
    tm_jw_value(&w, tm_json_root(doc));
    ck_assert_int_eq(tm_jw_finish(&w, NULL), TM_OK);
    ck_assert_str_eq(b.p, src);
    ck_assert_int_eq(tm_json_parse(b.p, b.len, "back.json", &back, NULL), TM_OK);
    const tm_json *arr = tm_json_get(tm_json_root(back), "k\"ey");
    ck_assert_ptr_nonnull(arr);
    ck_assert_double_eq(tm_json_at(arr, 1)->num, -2.5e-3);
    ck_assert_str_eq(tm_json_at(arr, 4)->str, "s\xc3\xa9\n");
    tm_json_doc_free(doc);
    tm_json_doc_free(back);
    tm_buf_fini(&b);
}
END_TEST

START_TEST(jw_out_of_memory_at_every_allocation)
{
    for (long k = 1;; k++) {
        tm_buf b = {0};
        tm_jw w;
        tm_err err;
        tm_err_init(&err);
        tm_alloc_fail_after(k);
        tm_jw_init(&w, &b, TM_JW_COMPACT, TM_JW_NONFINITE_REFUSE, false);
        for (int d = 0; d < 40; d++) {
            tm_jw_array(&w);
            tm_jw_string(&w, "0123456789abcdef");
        }
        for (int d = 0; d < 40; d++) {
            tm_jw_array_end(&w);
        }
        tm_status st = tm_jw_finish(&w, &err);
        tm_alloc_fail_after(0);
        tm_buf_fini(&b);
        if (st == TM_OK) {
            ck_assert_int_gt(k, 2);
            break;
        }
        ck_assert_int_eq(st, TM_E_NOMEM);
        ck_assert_str_eq(err.reason, "out of memory writing JSON");
    }
}
END_TEST

TM_TEST_SUITE(core_json_write)
{
    Suite *s = suite_create("core_json_write");
    TCase *tc = tcase_create("json_write");
    tcase_add_test(tc, buf_appends_and_grows);
    tcase_add_test(tc, buf_take_of_empty_is_empty_string);
    tcase_add_test(tc, buf_out_of_memory_is_sticky);
    tcase_add_test(tc, jw_separators_by_style);
    tcase_add_test(tc, jw_int_prints_as_printf);
    tcase_add_test(tc, jw_escapes_like_python);
    tcase_add_test(tc, jw_nonfinite_policies);
    tcase_add_test(tc, jw_misuse_refused);
    tcase_add_test(tc, jw_value_round_trip);
    tcase_add_test(tc, jw_out_of_memory_at_every_allocation);
    suite_add_tcase(s, tc);
    return s;
}
