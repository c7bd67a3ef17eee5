/* Tests for src/core/json.c and json_doc.c: the JSON text parser, the
 * document accessors, correctly rounded float32 from number text, exact
 * error messages with line numbers, the depth limit and allocation
 * failure at every step. Expected numbers come from libc strtod/strtof. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbomode/core.h>

#include "tm_test.h"

static tm_json_doc *parse_ok(const char *text)
{
    tm_err err;
    tm_err_init(&err);
    tm_json_doc *doc = NULL;
    tm_status st = tm_json_parse(text, strlen(text), "t.json", &doc, &err);
    ck_assert_msg(st == TM_OK, "parse failed: %s", err.reason);
    ck_assert_ptr_nonnull(doc);
    return doc;
}

/* Parses text, expecting TM_E_PARSE with this line and reason. */
static void expect_error(const char *text, size_t len, long line, const char *reason)
{
    tm_err err;
    tm_err_init(&err);
    tm_json_doc *doc = (tm_json_doc *)&err; /* must be reset to NULL */
    tm_status st = tm_json_parse(text, len, "t.json", &doc, &err);
    ck_assert_int_eq(st, TM_E_PARSE);
    ck_assert_ptr_null(doc);
    ck_assert_int_eq(err.status, TM_E_PARSE);
    ck_assert_str_eq(err.path, "t.json");
    ck_assert_int_eq(err.line, line);
    ck_assert_str_eq(err.reason, reason);
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Bitwise float32 equality (no silent promotion; NaN payloads count). */
static void f32_eq(float a, float b)
{
    ck_assert_msg(f32_bits(a) == f32_bits(b), "%a != %a", (double)a, (double)b);
}

START_TEST(json_values_and_accessors)
{
    tm_json_doc *doc = parse_ok(" {\"a\": [1, -2.5, true, false, null, \"x\"],\n"
                                "  \"b\": {}, \"c\": [], \"a\": 7} ");
    const tm_json *root = tm_json_root(doc);
    ck_assert_int_eq(root->type, TM_JSON_OBJECT);
    ck_assert_uint_eq(root->len, 4);
    const tm_json *a = tm_json_get(root, "a"); /* first of duplicate keys */
    ck_assert_int_eq(a->type, TM_JSON_ARRAY);
    ck_assert_uint_eq(a->len, 6);
    ck_assert(tm_json_at(a, 0)->is_int);
    ck_assert_int_eq(tm_json_at(a, 0)->inum, 1);
    ck_assert_double_eq(tm_json_at(a, 1)->num, -2.5);
    ck_assert(!tm_json_at(a, 1)->is_int);
    ck_assert_int_eq(tm_json_at(a, 2)->type, TM_JSON_BOOL);
    ck_assert(tm_json_at(a, 2)->boolean);
    ck_assert(!tm_json_at(a, 3)->boolean);
    ck_assert_int_eq(tm_json_at(a, 4)->type, TM_JSON_NULL);
    ck_assert_str_eq(tm_json_at(a, 5)->str, "x");
    ck_assert_ptr_null(tm_json_at(a, 6));
    ck_assert_ptr_null(tm_json_at(root, 0));     /* not an array */
    ck_assert_ptr_null(tm_json_get(a, "a"));     /* not an object */
    ck_assert_ptr_null(tm_json_get(root, "zz")); /* absent */
    ck_assert_ptr_null(tm_json_get(NULL, "a"));
    ck_assert_uint_eq(tm_json_get(root, "b")->len, 0);
    ck_assert_int_eq(tm_json_get(root, "c")->type, TM_JSON_ARRAY);
    ck_assert_int_eq(tm_json_get(root, "b")->line, 2);
    ck_assert_ptr_null(tm_json_root(NULL));
    tm_json_doc_free(doc);
    tm_json_doc_free(NULL);
}
END_TEST

START_TEST(json_doc_outlives_input_buffer)
{
    char *text = strdup("{\"name\": \"f\\u00e9\", \"v\": 1.25E0}");
    tm_json_doc *doc = NULL;
    ck_assert_int_eq(tm_json_parse(text, strlen(text), NULL, &doc, NULL), TM_OK);
    memset(text, 'z', strlen(text));
    free(text);
    const tm_json *root = tm_json_root(doc);
    ck_assert_str_eq(tm_json_get(root, "name")->str, "f\xc3\xa9");
    f32_eq(tm_json_f32(tm_json_get(root, "v")), 1.25f);
    ck_assert_uint_eq(tm_json_get(root, "v")->len, 6);
    ck_assert_int_eq(memcmp(tm_json_get(root, "v")->str, "1.25E0", 6), 0);
    tm_json_doc_free(doc);
}
END_TEST

START_TEST(json_nan_and_infinity_tokens)
{
    tm_json_doc *doc = parse_ok("[NaN, Infinity, -Infinity, -0, 0]");
    const tm_json *r = tm_json_root(doc);
    ck_assert_int_eq(tm_json_at(r, 0)->type, TM_JSON_NUMBER);
    ck_assert(isnan(tm_json_at(r, 0)->num));
    ck_assert(isnan(tm_json_f32(tm_json_at(r, 0))));
    ck_assert(isinf(tm_json_at(r, 1)->num) && tm_json_at(r, 1)->num > 0);
    ck_assert(isinf(tm_json_f32(tm_json_at(r, 2))) && tm_json_f32(tm_json_at(r, 2)) < 0);
    ck_assert(!tm_json_at(r, 0)->is_int);
    ck_assert(tm_json_at(r, 3)->is_int);
    ck_assert(signbit(tm_json_at(r, 3)->num));
    ck_assert(signbit(tm_json_f32(tm_json_at(r, 3))));
    ck_assert(!signbit(tm_json_at(r, 4)->num));
    ck_assert_int_eq(tm_json_at(r, 4)->inum, 0);
    tm_json_doc_free(doc);
    expect_error("[nan]", 5, 1, "expected a value, found 'n'");
    expect_error("[-NaN]", 6, 1, "invalid number: expected a digit after '-', found 'N'");
    expect_error("[Infinit]", 9, 1, "expected a value, found 'I'");
}
END_TEST

START_TEST(json_integers)
{
    tm_json_doc *doc = parse_ok("[9223372036854775807, -9223372036854775808, "
                                "9223372036854775808, 2147483647, 9007199254740993, 1E2]");
    const tm_json *r = tm_json_root(doc);
    ck_assert(tm_json_at(r, 0)->is_int);
    ck_assert_int_eq(tm_json_at(r, 0)->inum, INT64_MAX);
    ck_assert_int_eq(tm_json_at(r, 1)->inum, INT64_MIN);
    ck_assert(!tm_json_at(r, 2)->is_int); /* does not fit int64 */
    ck_assert_double_eq(tm_json_at(r, 2)->num, 9223372036854775808.0);
    ck_assert_int_eq(tm_json_at(r, 3)->inum, 2147483647);
    ck_assert_int_eq(tm_json_at(r, 4)->inum, INT64_C(9007199254740993));
    ck_assert_double_eq(tm_json_at(r, 4)->num, strtod("9007199254740993", NULL));
    ck_assert(!tm_json_at(r, 5)->is_int);
    ck_assert_double_eq(tm_json_at(r, 5)->num, 100.0);
    f32_eq(tm_json_f32(tm_json_at(r, 4)), strtof("9007199254740993", NULL));
    tm_json_doc_free(doc);
}
END_TEST

/* Decimal texts whose float32 differs from (float)strtod(text) or that
 * sit next to such cases; tm_json_f32 must agree with strtof bit for bit
 * and num with strtod. */
START_TEST(json_numbers_correctly_rounded)
{
    static const char *const texts[] = {
            "2.4984581470489502",
            "2.49845815",
            "2.4984581",
            "2.4984582",
            "1.00000005960464477539062500001", /* just above a float midpoint */
            "1.00000005960464477539062499999", /* just below it */
            "1.000000059604644775390625",      /* exactly on it: ties to even */
            "1.0000001788139343261718750",     /* midpoint, odd below: rounds up */
            "-4.7243416E-1",
            "3.4028235677973366e38", /* above FLT_MAX: overflows or not */
            "3.4028235677973362e38",
            "1.4012984643e-45",
            "7.006492321624085e-46", /* half the smallest subnormal */
            "7.0064923216240862e-46",
            "1e-50",
            "0.1",
            "1e23",
            "2.2250738585072011e-308",
            "4.9406564584124654e-324",
            "1.7976931348623157e308",
            "123456789012345678901234567890",
            "0.000000000000000000000000000000000000000000001",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char doc_text[128];
        snprintf(doc_text, sizeof doc_text, "[%s]", texts[i]);
        tm_json_doc *doc = parse_ok(doc_text);
        const tm_json *v = tm_json_at(tm_json_root(doc), 0);
        float want = strtof(texts[i], NULL);
        ck_assert_msg(f32_bits(tm_json_f32(v)) == f32_bits(want), "%s: f32 %a, want %a", texts[i],
                      (double)tm_json_f32(v), (double)want);
        ck_assert_msg(v->num == strtod(texts[i], NULL), "%s: num %a", texts[i], v->num);
        tm_json_doc_free(doc);
    }
    /* The double-rounding trap really is one: (float)strtod differs. */
    ck_assert(f32_bits((float)strtod(texts[4], NULL)) != f32_bits(strtof(texts[4], NULL)));
}
END_TEST

/* Every float32 near a few values, printed with 9 digits and with more,
 * round-trips through tm_json_f32. */
START_TEST(json_f32_neighbours_round_trip)
{
    const float seeds[] = {2.4984581f, 1.0f, 0.1f, 1e-40f, 3.4e38f, 123456.7f};
    for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
        float f = seeds[s];
        for (int k = 0; k < 64; k++, f = nextafterf(f, INFINITY)) {
            char text[128];
            for (int digits = 9; digits <= 25; digits += 8) {
                snprintf(text, sizeof text, "[%.*g]", digits, (double)f);
                tm_json_doc *doc = parse_ok(text);
                float got = tm_json_f32(tm_json_at(tm_json_root(doc), 0));
                ck_assert_msg(f32_bits(got) == f32_bits(f), "%s -> %a", text, (double)got);
                tm_json_doc_free(doc);
            }
        }
    }
}
END_TEST

START_TEST(json_string_escapes)
{
    tm_json_doc *doc = parse_ok("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\", \"\\u0041\\u00e9\\u20ac\","
                                " \"\\ud83d\\ude00\", \"a\\u0000b\", \"\", \"caf\xc3\xa9\"]");
    const tm_json *r = tm_json_root(doc);
    ck_assert_str_eq(tm_json_at(r, 0)->str, "\"\\/\b\f\n\r\t");
    ck_assert_str_eq(tm_json_at(r, 1)->str, "A\xc3\xa9\xe2\x82\xac");
    ck_assert_str_eq(tm_json_at(r, 2)->str, "\xf0\x9f\x98\x80");
    ck_assert_uint_eq(tm_json_at(r, 3)->len, 3);
    ck_assert_int_eq(memcmp(tm_json_at(r, 3)->str, "a\0b", 4), 0);
    ck_assert_uint_eq(tm_json_at(r, 4)->len, 0);
    ck_assert_str_eq(tm_json_at(r, 5)->str, "caf\xc3\xa9");
    tm_json_doc_free(doc);
}
END_TEST

START_TEST(json_error_messages)
{
    expect_error("{\"a\": 1 x}", 10, 1, "expected ',' or '}', found 'x'");
    expect_error("{\n\"a\": 1,\n\n  \"b\": [1 2]}", 24, 4, "expected ',' or ']', found '2'");
    expect_error("{\"a\": [1, 2", 11, 1, "expected ',' or ']', found end of input");
    expect_error("{\"a\" 1}", 7, 1, "expected ':' after key \"a\", found '1'");
    expect_error("{1: 2}", 6, 1, "expected a string key, found '1'");
    expect_error("[1,]", 4, 1, "expected a value, found ']'");
    expect_error("{\"a\":1,}", 8, 1, "expected a string key, found '}'");
    expect_error("", 0, 1, "expected a value, found end of input");
    expect_error("  \n ", 4, 2, "expected a value, found end of input");
    expect_error("[1] [2]", 7, 1, "expected end of input after the value, found '['");
    expect_error("[01]", 4, 1, "expected ',' or ']', found '1'");
    expect_error("[1.]", 4, 1, "invalid number: expected a digit after '.', found ']'");
    expect_error("[1e+]", 5, 1, "invalid number: expected a digit in the exponent, found ']'");
    expect_error("[-]", 3, 1, "invalid number: expected a digit after '-', found ']'");
    expect_error("[+1]", 4, 1, "expected a value, found '+'");
    expect_error("[tru]", 5, 1, "expected a value, found 't'");
    expect_error("\"abc", 4, 1, "unterminated string");
    expect_error("[\"a\\q\"]", 7, 1,
                 "invalid escape in string: expected one of \"\\/bfnrtu after '\\', found 'q'");
    expect_error("[\"a\\", 4, 1,
                 "invalid escape in string: expected one of \"\\/bfnrtu after '\\', found end "
                 "of input");
    expect_error("[\"\\u12G4\"]", 10, 1, "invalid \\u escape: expected 4 hex digits");
    expect_error("[\"\\udc00\"]", 10, 1, "invalid \\u escape: unpaired low surrogate \\udc00");
    expect_error("[\"\\ud800x\"]", 11, 1,
                 "invalid \\u escape: high surrogate \\ud800 not followed by a low surrogate, "
                 "found 'x'");
    expect_error("[\"a\tb\"]", 7, 1, "unescaped control character '\\x09' in string");
    expect_error("[1,\x01]", 5, 1, "expected a value, found '\\x01'");
    expect_error("[1]\0", 4, 1, "expected end of input after the value, found '\\x00'");

    tm_err err;
    char msg[1024];
    tm_json_doc *doc;
    tm_err_init(&err);
    const char *text = "{\n  \"learner\": {\n    \"x\": [1, 2 3]\n  }\n}";
    ck_assert_int_eq(tm_json_parse(text, strlen(text), "model.json", &doc, &err), TM_E_PARSE);
    ck_assert_str_eq(tm_err_format(&err, msg, sizeof msg),
                     "model.json:3: expected ',' or ']', found '3'");
    ck_assert_int_eq(tm_json_parse(NULL, 3, "m", &doc, NULL), TM_E_INVALID);
}
END_TEST

static char *nested(int depth)
{
    char *s = malloc((size_t)depth * 2 + 1);
    memset(s, '[', (size_t)depth);
    memset(s + depth, ']', (size_t)depth);
    s[depth * 2] = 0;
    return s;
}

START_TEST(json_depth_limit)
{
    char *ok = nested(512), *deep = nested(513), *huge = nested(200000);
    tm_json_doc *doc = parse_ok(ok);
    const tm_json *v = tm_json_root(doc);
    for (int i = 1; i < 512; i++) {
        v = tm_json_at(v, 0);
    }
    ck_assert_int_eq(v->type, TM_JSON_ARRAY);
    ck_assert_uint_eq(v->len, 0);
    tm_json_doc_free(doc);
    expect_error(deep, strlen(deep), 1, "nesting deeper than 512 levels");
    expect_error(huge, strlen(huge), 1, "nesting deeper than 512 levels");
    free(ok);
    free(deep);
    free(huge);
}
END_TEST

/* Every prefix of a valid document is an error, never a crash. */
START_TEST(json_truncated_prefixes_fail)
{
    const char *text = "{\"a\":[1.5e3,-2,\"s\\u00e9\\n\",true,false,null,NaN,-Infinity],"
                       "\"b\":{\"c\":{}}}";
    size_t n = strlen(text);
    for (size_t i = 0; i < n; i++) {
        tm_json_doc *doc = NULL;
        tm_err err;
        tm_err_init(&err);
        char *copy = malloc(i + 1); /* exact size: ASan sees overreads */
        memcpy(copy, text, i);
        ck_assert_int_eq(tm_json_parse(copy, i, "t", &doc, &err), TM_E_PARSE);
        ck_assert_ptr_null(doc);
        free(copy);
    }
    tm_json_doc_free(parse_ok(text));
    /* Random byte changes: parse or fail, never crash or leak. */
    unsigned seed = 4242;
    char *copy = malloc(n);
    for (int k = 0; k < 20000; k++) {
        memcpy(copy, text, n);
        for (int flips = 0; flips < 2; flips++) {
            seed = seed * 1103515245u + 12345u;
            copy[(seed >> 8) % n] = "[]{}\",:0-e.Nu\\ \n\x01\xff"[(seed >> 20) % 18];
        }
        tm_json_doc *doc = NULL;
        tm_status st = tm_json_parse(copy, n, "t", &doc, NULL);
        ck_assert(st == TM_OK || st == TM_E_PARSE);
        tm_json_doc_free(doc);
    }
    free(copy);
}
END_TEST

/* A document big enough for several arena chunks and stack growth. */
static char *big_doc(size_t n)
{
    char *s = malloc(n * 64 + 100);
    size_t k = (size_t)sprintf(s, "{\"trees\": [");
    for (size_t i = 0; i < n; i++) {
        k += (size_t)sprintf(s + k, "%s{\"id\": %zu, \"v\": [%zuE-3, \"s\"]}", i ? "," : "", i,
                             i * 7);
    }
    sprintf(s + k, "], \"x\": NaN}");
    return s;
}

START_TEST(json_large_document)
{
    char *text = big_doc(100000);
    tm_json_doc *doc = parse_ok(text);
    const tm_json *trees = tm_json_get(tm_json_root(doc), "trees");
    ck_assert_uint_eq(trees->len, 100000);
    for (size_t i = 0; i < trees->len; i += 997) {
        const tm_json *t = tm_json_at(trees, i);
        ck_assert_int_eq(tm_json_get(t, "id")->inum, (int64_t)i);
        ck_assert_double_eq(tm_json_at(tm_json_get(t, "v"), 0)->num, (double)(i * 7) / 1000.0);
    }
    tm_json_doc_free(doc);
    free(text);
}
END_TEST

START_TEST(json_alloc_failure_loop)
{
    char *text = big_doc(3000);
    size_t len = strlen(text);
    long n;
    for (n = 1; n < 10000; n++) {
        tm_json_doc *doc = (tm_json_doc *)&n;
        tm_err err;
        tm_err_init(&err);
        tm_alloc_fail_after(n);
        tm_status st = tm_json_parse(text, len, "t.json", &doc, &err);
        tm_alloc_fail_after(0);
        if (st == TM_OK) {
            ck_assert_uint_eq(tm_json_get(tm_json_root(doc), "trees")->len, 3000);
            tm_json_doc_free(doc);
            break;
        }
        ck_assert_int_eq(st, TM_E_NOMEM);
        ck_assert_int_eq(err.status, TM_E_NOMEM);
        ck_assert_ptr_null(doc);
    }
    ck_assert_int_gt(n, 3); /* doc, text copy, chunks, stack all failed once */
    ck_assert_int_lt(n, 10000);
    free(text);
}
END_TEST

/* The numbers of the typed-array tests: integers, -0, float32 text,
 * exponents, values beyond float32, beyond int32. */
static const char *typed_num(size_t i)
{
    static const char *v[] = {"0",       "-0",    "7",        "-2147483648", "2147483647",
                              "0.1",     "-1e-3", "3.4e38",   "1E400",       "-0.0",
                              "1.5e-45", "42",    "12345678", "0.30000001"};
    return v[i % (sizeof v / sizeof v[0])];
}

/* "[a,b,...]" of n numbers, on one line or one per line. */
static char *number_array(size_t n, bool one_line, const char *last)
{
    char *s = malloc(n * 32 + 64);
    size_t k = (size_t)sprintf(s, "[");
    for (size_t i = 0; i < n; i++) {
        k += (size_t)sprintf(s + k, "%s%s", i ? (one_line ? ", " : ",\n") : "",
                             i + 1 == n && last ? last : typed_num(i));
    }
    sprintf(s + k, "]");
    return s;
}

/* A long one-line array of numbers is stored typed and reads, element by
 * element, exactly as the same array parsed into nodes (one per line). */
START_TEST(json_long_number_arrays_are_typed)
{
    static const size_t sizes[] = {63, 64, 200};
    for (size_t z = 0; z < 3; z++) {
        size_t n = sizes[z];
        char *a = number_array(n, true, NULL), *b = number_array(n, false, NULL);
        tm_json_doc *da = parse_ok(a), *db = parse_ok(b);
        const tm_json *ta = tm_json_root(da), *tb = tm_json_root(db);
        ck_assert_int_eq(ta->typed != NULL, n >= 64);
        ck_assert_ptr_null(tb->typed);
        ck_assert_uint_eq(ta->len, n);
        for (size_t i = 0; i < n; i++) {
            tm_json x = *tm_json_at(ta, i), y = *tm_json_at(tb, i);
            ck_assert_int_eq(x.type, TM_JSON_NUMBER);
            ck_assert_int_eq(x.is_int, y.is_int);
            ck_assert_int_eq(x.inum, y.inum);
            ck_assert_int_eq(memcmp(&x.num, &y.num, sizeof x.num), 0);
            ck_assert_uint_eq(f32_bits(tm_json_f32(&x)), f32_bits(tm_json_f32(&y)));
        }
        tm_json_doc_free(da);
        tm_json_doc_free(db);
        free(a);
        free(b);
    }
    /* integers only: 4 bytes a number */
    char *text = malloc(64 * 8 + 8), *p = text;
    p += sprintf(p, "[");
    for (int i = 0; i < 64; i++) {
        p += sprintf(p, "%s%d", i ? "," : "", i * 1000 - 7);
    }
    sprintf(p, "]");
    tm_json_doc *doc = parse_ok(text);
    ck_assert_int_eq(tm_json_root(doc)->typed_kind, TM_JSON_TYPED_I32);
    ck_assert_int_eq(tm_json_at(tm_json_root(doc), 63)->inum, 62993);
    tm_json_doc_free(doc);
    free(text);
}
END_TEST

/* Numbers typed storage cannot keep exactly leave the array as nodes: an
 * integer beyond 2^53 (its int64 value) and a double on a float32 rounding
 * midpoint (its float32 needs the text). Errors inside a long array read
 * as the generic parser's. */
START_TEST(json_typed_arrays_fall_back_and_report)
{
    static const char *odd[] = {"9007199254740993", "1.000000059604644775390625"};
    for (int i = 0; i < 2; i++) {
        char *a = number_array(100, true, odd[i]);
        tm_json_doc *doc = parse_ok(a);
        const tm_json *arr = tm_json_root(doc), *last = tm_json_at(arr, 99);
        ck_assert_ptr_null(arr->typed);
        if (i == 0) {
            ck_assert_int_eq(last->inum, INT64_C(9007199254740993));
        } else {
            ck_assert_uint_eq(f32_bits(tm_json_f32(last)), f32_bits(strtof(odd[1], NULL)));
        }
        tm_json_doc_free(doc);
        free(a);
    }
    char *a = number_array(100, true, "1.e5");
    expect_error(a, strlen(a), 1, "invalid number: expected a digit after '.', found 'e'");
    free(a);
    a = number_array(100, true, "-");
    expect_error(a, strlen(a), 1, "invalid number: expected a digit after '-', found ']'");
    free(a);
    a = number_array(100, true, "1,");
    expect_error(a, strlen(a), 1, "expected a value, found ']'");
    free(a);
}
END_TEST

Suite *tm_test_suite_core_json(void);

TM_TEST_SUITE(core_json)
{
    Suite *s = suite_create("core_json");
    TCase *tc = tcase_create("json");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, json_values_and_accessors);
    tcase_add_test(tc, json_doc_outlives_input_buffer);
    tcase_add_test(tc, json_nan_and_infinity_tokens);
    tcase_add_test(tc, json_integers);
    tcase_add_test(tc, json_numbers_correctly_rounded);
    tcase_add_test(tc, json_f32_neighbours_round_trip);
    tcase_add_test(tc, json_string_escapes);
    tcase_add_test(tc, json_error_messages);
    tcase_add_test(tc, json_depth_limit);
    tcase_add_test(tc, json_truncated_prefixes_fail);
    tcase_add_test(tc, json_large_document);
    tcase_add_test(tc, json_alloc_failure_loop);
    tcase_add_test(tc, json_long_number_arrays_are_typed);
    tcase_add_test(tc, json_typed_arrays_fall_back_and_report);
    suite_add_tcase(s, tc);
    return s;
}
