/* Tests for tm_json_parse_owned (src/core/json.c): the document takes the
 * caller's buffer over and frees it, on success and on every failure;
 * dropped keys are parsed and checked like any value but read as null.
 * Also the pieces that make the parse fast and must not change a value:
 * the float32 midpoint bit test (tm__core_f32_midpoint) against the
 * neighbour formula it replaces, tm_json_f32 against strtof at the edges,
 * and typed arrays read to their end. Leaks of the handed-over buffer
 * show under the sanitize build. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbomode/core.h>

#include "core/core_int.h"
#include "tm_test.h"

/* A tm_malloc'd NUL-terminated copy of s, as tm_file_read returns. */
static char *owned_copy(const char *s, size_t len)
{
    char *t = tm_malloc(len + 1);
    ck_assert_ptr_nonnull(t);
    memcpy(t, s, len);
    t[len] = 0;
    return t;
}

static tm_status parse_drop(const char *text, const char *const *keys, size_t n_keys,
                            tm_json_doc **doc, tm_err *err)
{
    tm_json_parse_opts opts;
    tm_json_parse_opts_init(&opts);
    opts.drop_keys = keys;
    opts.n_drop_keys = n_keys;
    tm_err_init(err);
    return tm_json_parse_owned(owned_copy(text, strlen(text)), strlen(text), "t.json", &opts, doc,
                               err);
}

START_TEST(json_owned_parses_in_place_and_frees)
{
    const char *src = "{\"s\": \"a\\u00e9b\", \"n\": [1, 2.5, -0], \"t\": true}";
    size_t len = strlen(src);
    char *text = owned_copy(src, len);
    tm_json_doc *doc = NULL;
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_json_parse_owned(text, len, "t.json", NULL, &doc, &err), TM_OK);
    const tm_json *root = tm_json_root(doc), *s = tm_json_get(root, "s");
    ck_assert_str_eq(s->str, "a\xc3\xa9"
                             "b");
    ck_assert(s->str > text && s->str < text + len); /* unescaped inside the buffer */
    ck_assert_double_eq(tm_json_at(tm_json_get(root, "n"), 1)->num, 2.5);
    ck_assert(tm_json_get(root, "t")->boolean);
    tm_json_doc_free(doc); /* frees text too: the sanitize build sees a leak otherwise */

    /* A failed parse frees the buffer before it returns. */
    const char *bad = "{\"a\": [1, 2 3]}";
    doc = (tm_json_doc *)&err;
    ck_assert_int_eq(tm_json_parse_owned(owned_copy(bad, strlen(bad)), strlen(bad), "t.json", NULL,
                                         &doc, &err),
                     TM_E_PARSE);
    ck_assert_ptr_null(doc);
    ck_assert_str_eq(err.reason, "expected ',' or ']', found '3'");

    /* So does a refused argument: text not NUL-terminated at len. */
    text = owned_copy(src, len);
    text[len - 1] = 0;
    tm_err_init(&err);
    ck_assert_int_eq(tm_json_parse_owned(text, len - 2, "t.json", NULL, &doc, &err), TM_E_INVALID);
    ck_assert_ptr_null(doc);
    ck_assert_int_eq(tm_json_parse_owned(NULL, 0, "t.json", NULL, &doc, NULL), TM_E_INVALID);
}
END_TEST

/* Each allocation in turn fails: TM_E_NOMEM, *out NULL, the buffer freed. */
START_TEST(json_owned_allocation_failures_free_the_text)
{
    static const char *const drop[] = {"skip"};
    char src[8192];
    size_t k = (size_t)snprintf(src, sizeof src, "{\"keep\": [");
    for (int i = 0; i < 300; i++) {
        k += (size_t)snprintf(src + k, sizeof src - k, "%s%d.5", i ? "," : "", i);
    }
    snprintf(src + k, sizeof src - k, "], \"skip\": [[1,2],{\"a\":\"b\"}], \"x\": {\"y\": [1]}}");
    tm_json_parse_opts opts;
    tm_json_parse_opts_init(&opts);
    opts.drop_keys = drop;
    opts.n_drop_keys = 1;
    long n;
    for (n = 1; n < 1000; n++) {
        char *text = owned_copy(src, strlen(src));
        tm_json_doc *doc = NULL;
        tm_alloc_fail_after(n);
        tm_status st = tm_json_parse_owned(text, strlen(src), "t.json", &opts, &doc, NULL);
        tm_alloc_fail_after(0);
        if (st == TM_OK) {
            ck_assert_uint_eq(tm_json_get(tm_json_root(doc), "keep")->len, 300);
            ck_assert_int_eq(tm_json_get(tm_json_root(doc), "skip")->type, TM_JSON_NULL);
            tm_json_doc_free(doc);
            break;
        }
        ck_assert_int_eq(st, TM_E_NOMEM);
        ck_assert_ptr_null(doc);
    }
    ck_assert_int_gt(n, 3);
    ck_assert_int_lt(n, 1000);
}
END_TEST

/* A dropped key's value reads as null at any depth, with the line where
 * it began; everything else is as a plain parse gives it. */
START_TEST(json_dropped_keys_read_as_null)
{
    static const char *const drop[] = {"parents", "loss_changes"};
    char text[4096];
    size_t k = (size_t)snprintf(text, sizeof text, "{\"a\": [");
    for (int i = 0; i < 100; i++) {
        k += (size_t)snprintf(text + k, sizeof text - k, "%s%d", i ? "," : "", i);
    }
    k += (size_t)snprintf(text + k, sizeof text - k, "],\n\"parents\": [");
    for (int i = 0; i < 100; i++) {
        k += (size_t)snprintf(text + k, sizeof text - k, "%s%d.25E-1", i ? "," : "", i);
    }
    snprintf(text + k, sizeof text - k,
             "],\n\"b\": {\"parents\": {\"x\": [1, \"s\\n\", {\"y\": null}, NaN]},\n"
             "\"k\": 3, \"loss_changes\": \"str\"},\n"
             "\"loss_changes\": [-Infinity, 1e400,\n 0.5], \"z\": [\"parents\"]}");
    tm_json_doc *doc = NULL, *plain = NULL;
    tm_err err;
    ck_assert_int_eq(parse_drop(text, drop, 2, &doc, &err), TM_OK);
    ck_assert_int_eq(tm_json_parse(text, strlen(text), "t.json", &plain, &err), TM_OK);
    const tm_json *r = tm_json_root(doc), *b = tm_json_get(r, "b");
    ck_assert_uint_eq(r->len, 5); /* the members stay */
    ck_assert_int_eq(tm_json_get(r, "parents")->type, TM_JSON_NULL);
    ck_assert_int_eq(tm_json_get(r, "parents")->line, 2);
    ck_assert_int_eq(tm_json_get(b, "parents")->type, TM_JSON_NULL);
    ck_assert_int_eq(tm_json_get(b, "loss_changes")->type, TM_JSON_NULL);
    ck_assert_int_eq(tm_json_get(r, "loss_changes")->type, TM_JSON_NULL);
    ck_assert_int_eq(tm_json_get(r, "loss_changes")->line, 5);
    ck_assert_int_eq(tm_json_get(b, "k")->inum, 3);
    ck_assert_int_eq(tm_json_get(b, "k")->line, 4); /* lines inside dropped values count */
    ck_assert_str_eq(tm_json_at(tm_json_get(r, "z"), 0)->str, "parents"); /* a value, not a key */
    const tm_json *a = tm_json_get(r, "a"), *pa = tm_json_get(tm_json_root(plain), "a");
    ck_assert_int_eq(a->typed_kind, TM_JSON_TYPED_I32);
    for (size_t i = 0; i < 100; i++) {
        ck_assert_int_eq(tm_json_at(a, i)->inum, tm_json_at(pa, i)->inum);
    }
    tm_json_doc_free(doc);
    tm_json_doc_free(plain);
}
END_TEST

/* A dropped value is checked as any other: a bad one fails the parse with
 * the message and line a plain parse gives. */
START_TEST(json_dropped_values_are_still_checked)
{
    static const char *const drop[] = {"p"};
    char long_bad[2048], long_mid[2048];
    size_t k = (size_t)snprintf(long_bad, sizeof long_bad, "{\"p\": [");
    for (int i = 0; i < 100; i++) {
        k += (size_t)snprintf(long_bad + k, sizeof long_bad - k, "%s%d", i ? "," : "", i);
    }
    memcpy(long_mid, long_bad, k + 1);
    snprintf(long_bad + k, sizeof long_bad - k, ",1.e5]}");
    /* on a float32 midpoint: the typed path would refuse it if it kept it */
    snprintf(long_mid + k, sizeof long_mid - k, ",1.000000059604644775390625]}");
    char *deep = malloc(2 * 600 + 16);
    size_t d = (size_t)sprintf(deep, "{\"p\": ");
    memset(deep + d, '[', 600);
    memset(deep + d + 600, ']', 600);
    strcpy(deep + d + 1200, "}");
    const char *bad[] = {
            "{\"p\": [1, 2 3]}",
            "{\"p\": {\"a\" 1}}",
            "{\"p\": {\"a\": \"\\x\"}}",
            "{\"p\": [1,\n2,\n-]}",
            "{\"p\": tru}",
            "{\"p\": [1, 2]",
            "{\"p\": \"abc",
            "{\"q\": {\"p\": {\"r\": 01}}}",
            "{\"p\": [1, 2], \"p\": }",
            long_bad,
            deep,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        tm_json_doc *doc = NULL;
        tm_err err, want;
        tm_err_init(&want);
        ck_assert_int_eq(tm_json_parse(bad[i], strlen(bad[i]), "t.json", &doc, &want), TM_E_PARSE);
        ck_assert_int_eq(parse_drop(bad[i], drop, 1, &doc, &err), TM_E_PARSE);
        ck_assert_ptr_null(doc);
        ck_assert_str_eq(err.reason, want.reason);
        ck_assert_int_eq(err.line, want.line);
    }
    tm_json_doc *doc = NULL;
    tm_err err;
    ck_assert_int_eq(parse_drop(long_mid, drop, 1, &doc, &err), TM_OK);
    ck_assert_int_eq(tm_json_get(tm_json_root(doc), "p")->type, TM_JSON_NULL);
    tm_json_doc_free(doc);
    free(deep);
}
END_TEST

/* The formula the bit test replaces: d halfway between (float)d and its
 * neighbour on d's side. */
static bool midpoint_by_neighbours(double d)
{
    float f = (float)d;
    return (double)f != d && !isinf(f) &&
           d == ((double)f + (double)nextafterf(f, d > (double)f ? INFINITY : -INFINITY)) * 0.5;
}

static void check_midpoint(double d)
{
    ck_assert_msg(tm__core_f32_midpoint(d) == midpoint_by_neighbours(d), "%a: bit test %d", d,
                  tm__core_f32_midpoint(d));
    ck_assert_msg(tm__core_f32_midpoint(-d) == midpoint_by_neighbours(-d), "%a: bit test %d", -d,
                  tm__core_f32_midpoint(-d));
}

START_TEST(json_f32_midpoint_bit_test_agrees)
{
    const float floats[] = {1.0f,        0.1f,
                            3.0f,        FLT_MIN,
                            FLT_MAX,     FLT_TRUE_MIN,
                            1e-40f,      0x1.fffffcp-127f,
                            0x1p-125f,   0x1.000002p-126f,
                            0x1p127f,    0x1.fffffcp127f,
                            16777216.0f, 16777215.0f,
                            0.33333334f, 123456.79f};
    int n_mid = 0;
    for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++) {
        float f = floats[i];
        float nb[2] = {nextafterf(f, 0.0f), nextafterf(f, INFINITY)};
        check_midpoint((double)f);
        for (int j = 0; j < 2; j++) {
            if (isinf(nb[j])) {
                continue;
            }
            double m = ((double)f + (double)nb[j]) * 0.5; /* exact: 25 bits */
            n_mid += tm__core_f32_midpoint(m);
            check_midpoint(m);
            check_midpoint(nextafter(m, 0.0)); /* just off, either side */
            check_midpoint(nextafter(m, INFINITY));
        }
    }
    ck_assert_int_eq(n_mid, 2 * 16 - 1); /* every real midpoint found (FLT_MAX has one) */
    /* The ends: halfway from FLT_MAX to 2^128 rounds to infinity (no
     * midpoint), the float32 subnormals, the largest and tiniest doubles,
     * zeros, infinities, NaN. */
    const double edges[] = {0x1.ffffffp127,
                            0x1.fffffefffffffp127,
                            0x1.ffffff0000001p127,
                            0x1p128,
                            DBL_MAX,
                            0x1p-126 - 0x1p-150,
                            0x1p-149 * 0.5,
                            0x1p-150 * 3,
                            0x1p-160,
                            DBL_MIN,
                            DBL_TRUE_MIN,
                            0.0,
                            INFINITY,
                            NAN,
                            0x1.0000003p-126};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        check_midpoint(edges[i]);
    }
    ck_assert(!tm__core_f32_midpoint(0x1.ffffffp127));
    ck_assert(tm__core_f32_midpoint(0x1p-149 * 0.5 * 3)); /* between two subnormals */
    /* Random doubles, and random float32 midpoints, across all exponents. */
    uint64_t s = 88172645463325252u;
    for (int i = 0; i < 200000; i++) {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        double d;
        memcpy(&d, &s, sizeof d);
        check_midpoint(d);
        float f;
        uint32_t fb = (uint32_t)(s >> 32) & 0x7fffffffu;
        memcpy(&f, &fb, sizeof f);
        if (!isnan(f) && !isinf(f)) {
            check_midpoint(((double)f + (double)nextafterf(f, INFINITY)) * 0.5);
        }
    }
}
END_TEST

/* An array read typed until a newline, a string or a bad separator well
 * past its first 64 elements is read again as nodes, with the lines and
 * messages of a plain parse; a long one grows the scratch several times. */
START_TEST(json_typed_arrays_checked_to_the_end)
{
    static const char *tails[] = {",\n7]", ",\"s\"]", ",7 8]", ",7,]"};
    for (size_t t = 0; t < 4; t++) {
        char text[2048];
        size_t k = (size_t)snprintf(text, sizeof text, "[");
        for (int i = 0; i < 100; i++) {
            k += (size_t)snprintf(text + k, sizeof text - k, "%s%d.5", i ? "," : "", i);
        }
        snprintf(text + k, sizeof text - k, "%s", tails[t]);
        tm_json_doc *doc = NULL;
        tm_err err;
        tm_err_init(&err);
        tm_status st = tm_json_parse(text, strlen(text), "t.json", &doc, &err);
        if (t < 2) {
            ck_assert_int_eq(st, TM_OK);
            const tm_json *a = tm_json_root(doc);
            ck_assert_ptr_null(a->typed);
            ck_assert_uint_eq(a->len, 101);
            ck_assert_double_eq(tm_json_at(a, 99)->num, 99.5);
            ck_assert_int_eq(tm_json_at(a, 100)->line, t == 0 ? 2 : 1);
            tm_json_doc_free(doc);
        } else {
            ck_assert_int_eq(st, TM_E_PARSE);
            ck_assert_str_eq(err.reason, t == 2 ? "expected ',' or ']', found '8'"
                                                : "expected a value, found ']'");
        }
    }
    char *big = malloc(20000 * 8 + 8);
    size_t k = (size_t)sprintf(big, "[");
    for (int i = 0; i < 20000; i++) {
        k += (size_t)sprintf(big + k, "%s%d", i ? "," : "", i % 3 ? i : -i);
    }
    sprintf(big + k, "]");
    tm_json_doc *doc = NULL;
    ck_assert_int_eq(tm_json_parse(big, strlen(big), "t.json", &doc, NULL), TM_OK);
    const tm_json *a = tm_json_root(doc);
    ck_assert_int_eq(a->typed_kind, TM_JSON_TYPED_I32);
    for (int i = 0; i < 20000; i += 7) {
        ck_assert_int_eq(tm_json_at(a, (size_t)i)->inum, i % 3 ? i : -i);
    }
    tm_json_doc_free(doc);
    free(big);
}
END_TEST

/* tm_json_f32, which uses the bit test too, still gives strtof's float32
 * at the edges: midpoints, beside FLT_MAX, subnormals. */
START_TEST(json_f32_edges_match_strtof)
{
    static const char *texts[] = {
            "1.000000059604644775390625",
            "1.0000000596046448",
            "3.4028234663852886e38",
            "3.40282356e38",
            "3.4028235677973366e38",
            "3.4028235677973362e38",
            "-3.40282356e38",
            "1e39",
            "1.1754942e-38",
            "1.17549428e-38",
            "7.006492321624085e-46",
            "7.0064923216240862e-46",
            "1.4e-45",
            "2.1019476964872256e-45",
            "0.30000001192092896",
            "-0.30000001192092895507812500",
            "16777217",
            "16777217.0",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        char text[64];
        snprintf(text, sizeof text, "[%s]", texts[i]);
        tm_json_doc *doc = NULL;
        ck_assert_int_eq(tm_json_parse(text, strlen(text), "t.json", &doc, NULL), TM_OK);
        float got = tm_json_f32(tm_json_at(tm_json_root(doc), 0)), want = strtof(texts[i], NULL);
        ck_assert_msg(memcmp(&got, &want, sizeof got) == 0, "%s: %a, strtof %a", texts[i],
                      (double)got, (double)want);
        tm_json_doc_free(doc);
    }
}
END_TEST

TM_TEST_SUITE(core_json_owned)
{
    Suite *s = suite_create("core_json_owned");
    TCase *tc = tcase_create("json_owned");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, json_owned_parses_in_place_and_frees);
    tcase_add_test(tc, json_owned_allocation_failures_free_the_text);
    tcase_add_test(tc, json_dropped_keys_read_as_null);
    tcase_add_test(tc, json_dropped_values_are_still_checked);
    tcase_add_test(tc, json_f32_midpoint_bit_test_agrees);
    tcase_add_test(tc, json_f32_edges_match_strtof);
    tcase_add_test(tc, json_typed_arrays_checked_to_the_end);
    suite_add_tcase(s, tc);
    return s;
}
