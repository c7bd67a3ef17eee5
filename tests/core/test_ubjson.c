/* Tests for src/core/ubjson.c: every marker, optimised containers of each
 * type, forged counts and lengths, truncation, the depth limit, allocation
 * failure at every step, and the XGBoost fixtures, whose model.ubj must
 * give the same document as model.json. Byte strings are written by hand
 * from the UBJSON spec (see formats/xgboost.md section 2). */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbomode/core.h>

#include "tm_test.h"

#define BYTES(lit) (const unsigned char *)(lit), sizeof(lit) - 1

static tm_json_doc *ubj_ok(const unsigned char *data, size_t len)
{
    tm_err err;
    tm_err_init(&err);
    tm_json_doc *doc = NULL;
    tm_status st = tm_ubjson_parse(data, len, "t.ubj", &doc, &err);
    ck_assert_msg(st == TM_OK, "parse failed: %s", err.reason);
    return doc;
}

static void ubj_error(const unsigned char *data, size_t len, const char *reason)
{
    tm_err err;
    tm_err_init(&err);
    tm_json_doc *doc = (tm_json_doc *)&err;
    ck_assert_int_eq(tm_ubjson_parse(data, len, "t.ubj", &doc, &err), TM_E_PARSE);
    ck_assert_ptr_null(doc);
    ck_assert_str_eq(err.path, "t.ubj");
    ck_assert_int_eq(err.line, 0);
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

START_TEST(ubj_scalar_markers)
{
    tm_json_doc *doc = ubj_ok(BYTES("[i\xffU\xffI\xff\xfel\x80\x00\x00\x00"
                                    "L\x7f\xff\xff\xff\xff\xff\xff\xff"
                                    "d\x3f\xc0\x00\x00"
                                    "D\x40\x09\x21\xfb\x54\x44\x2d\x18"
                                    "TFZNCASi\x03"
                                    "abcHU\x04"
                                    "1.25]"));
    const tm_json *r = tm_json_root(doc);
    ck_assert_int_eq(r->type, TM_JSON_ARRAY);
    ck_assert_uint_eq(r->len, 13);
    ck_assert_int_eq(tm_json_at(r, 0)->inum, -1);
    ck_assert(tm_json_at(r, 0)->is_int);
    ck_assert_int_eq(tm_json_at(r, 1)->inum, 255);
    ck_assert_int_eq(tm_json_at(r, 2)->inum, -2);
    ck_assert_int_eq(tm_json_at(r, 3)->inum, INT32_MIN);
    ck_assert_int_eq(tm_json_at(r, 4)->inum, INT64_MAX);
    ck_assert_double_eq(tm_json_at(r, 3)->num, (double)INT32_MIN);
    ck_assert(tm_json_at(r, 5)->is_f32);
    f32_eq(tm_json_at(r, 5)->f32, 1.5f);
    ck_assert_double_eq(tm_json_at(r, 5)->num, 1.5);
    ck_assert(!tm_json_at(r, 6)->is_f32);
    ck_assert_double_eq(tm_json_at(r, 6)->num, 3.141592653589793);
    f32_eq(tm_json_f32(tm_json_at(r, 6)), 3.14159274f);
    ck_assert(tm_json_at(r, 7)->boolean);
    ck_assert_int_eq(tm_json_at(r, 8)->type, TM_JSON_BOOL);
    ck_assert(!tm_json_at(r, 8)->boolean);
    ck_assert_int_eq(tm_json_at(r, 9)->type, TM_JSON_NULL);
    ck_assert_str_eq(tm_json_at(r, 10)->str, "A"); /* N was a no-op */
    ck_assert_str_eq(tm_json_at(r, 11)->str, "abc");
    ck_assert_str_eq(tm_json_at(r, 12)->str, "1.25"); /* H: high-precision text */
    tm_json_doc_free(doc);
    /* H: high-precision number kept as its text; line = byte offset. */
    doc = ubj_ok(BYTES("[ZHU\x04"
                       "1.25]"));
    r = tm_json_root(doc);
    ck_assert_int_eq(tm_json_at(r, 1)->type, TM_JSON_STRING);
    ck_assert_str_eq(tm_json_at(r, 1)->str, "1.25");
    ck_assert_int_eq(tm_json_at(r, 1)->line, 2);
    ck_assert_int_eq(r->line, 0);
    tm_json_doc_free(doc);
}
END_TEST

/* Each optimised [$type#count array, followed by one more member of the
 * outer array to show no closing ']' is consumed. */
START_TEST(ubj_typed_arrays_each_type)
{
    tm_json_doc *doc;
    const tm_json *a;
#define TYPED(lit, n)                                                                              \
    doc = ubj_ok(BYTES("[" lit "i\x05]"));                                                         \
    ck_assert_uint_eq(tm_json_root(doc)->len, 2);                                                  \
    ck_assert_int_eq(tm_json_at(tm_json_root(doc), 1)->inum, 5);                                   \
    a = tm_json_at(tm_json_root(doc), 0);                                                          \
    ck_assert_int_eq(a->type, TM_JSON_ARRAY);                                                      \
    ck_assert_uint_eq(a->len, n)

    TYPED("[$i#i\x03\x01\xff\x80", 3);
    ck_assert_int_eq(tm_json_at(a, 1)->inum, -1);
    ck_assert_int_eq(tm_json_at(a, 2)->inum, -128);
    tm_json_doc_free(doc);
    TYPED("[$U#U\x02\x00\xff", 2);
    ck_assert_int_eq(tm_json_at(a, 1)->inum, 255);
    tm_json_doc_free(doc);
    TYPED("[$I#I\x00\x02\x01\x00\xff\xff", 2);
    ck_assert_int_eq(tm_json_at(a, 0)->inum, 256);
    ck_assert_int_eq(tm_json_at(a, 1)->inum, -1);
    tm_json_doc_free(doc);
    TYPED("[$l#l\x00\x00\x00\x02\x00\x01\x00\x00\xff\xff\xff\xfe", 2);
    ck_assert_int_eq(tm_json_at(a, 0)->inum, 65536);
    ck_assert_int_eq(tm_json_at(a, 1)->inum, -2);
    tm_json_doc_free(doc);
    TYPED("[$L#i\x01\x80\x00\x00\x00\x00\x00\x00\x00", 1);
    ck_assert_int_eq(tm_json_at(a, 0)->inum, INT64_MIN);
    tm_json_doc_free(doc);
    TYPED("[$d#L\x00\x00\x00\x00\x00\x00\x00\x04\x7f\xc0\x00\x01\x80\x00\x00\x00"
          "\xff\x80\x00\x00\x3d\xcc\xcc\xcd",
          4);
    ck_assert(tm_json_at(a, 0)->is_f32);
    ck_assert_uint_eq(f32_bits(tm_json_at(a, 0)->f32), 0x7fc00001u); /* NaN payload kept */
    ck_assert(isnan(tm_json_at(a, 0)->num));
    ck_assert_uint_eq(f32_bits(tm_json_f32(tm_json_at(a, 1))), 0x80000000u);
    ck_assert(isinf(tm_json_at(a, 2)->num) && tm_json_at(a, 2)->num < 0);
    f32_eq(tm_json_at(a, 3)->f32, 0.1f);
    ck_assert_double_eq(tm_json_at(a, 3)->num, (double)0.1f);
    tm_json_doc_free(doc);
    TYPED("[$D#i\x01\x3f\xb9\x99\x99\x99\x99\x99\x9a", 1);
    ck_assert_double_eq(tm_json_at(a, 0)->num, 0.1);
    tm_json_doc_free(doc);
    TYPED("[$T#i\x02", 2);
    ck_assert(tm_json_at(a, 1)->boolean);
    tm_json_doc_free(doc);
    TYPED("[$F#i\x01", 1);
    ck_assert_int_eq(tm_json_at(a, 0)->type, TM_JSON_BOOL);
    tm_json_doc_free(doc);
    TYPED("[$Z#i\x02", 2);
    ck_assert_int_eq(tm_json_at(a, 1)->type, TM_JSON_NULL);
    tm_json_doc_free(doc);
    TYPED("[$S#i\x02i\x01"
          "aU\x02"
          "bc",
          2);
    ck_assert_str_eq(tm_json_at(a, 1)->str, "bc");
    tm_json_doc_free(doc);
    TYPED("[$C#i\x02"
          "ab",
          2);
    ck_assert_str_eq(tm_json_at(a, 1)->str, "b");
    tm_json_doc_free(doc);
    TYPED("[$d#i\x00", 0);
    tm_json_doc_free(doc);
    TYPED("[#i\x02SU\x01xi\x07", 2); /* counted, untyped */
    ck_assert_str_eq(tm_json_at(a, 0)->str, "x");
    ck_assert_int_eq(tm_json_at(a, 1)->inum, 7);
    tm_json_doc_free(doc);
    TYPED("[$[#i\x02$i#i\x01\x07]", 2); /* arrays with their '[' omitted */
    ck_assert_int_eq(tm_json_at(tm_json_at(a, 0), 0)->inum, 7);
    ck_assert_uint_eq(tm_json_at(a, 1)->len, 0);
    tm_json_doc_free(doc);
#undef TYPED
}
END_TEST

START_TEST(ubj_objects)
{
    tm_json_doc *doc = ubj_ok(BYTES("{i\x01"
                                    "ai\x05U\x01"
                                    "bSi\x01xNI\x00\x01"
                                    "cZ"
                                    "L\x00\x00\x00\x00\x00\x00\x00\x01"
                                    "d{#i\x02i\x01pTi\x01qF"
                                    "i\x01"
                                    "e{$d#i\x02i\x01x\x3f\x80\x00\x00i\x01y\x40\x00\x00\x00}"));
    const tm_json *r = tm_json_root(doc);
    ck_assert_int_eq(r->type, TM_JSON_OBJECT);
    ck_assert_uint_eq(r->len, 5);
    ck_assert_int_eq(tm_json_get(r, "a")->inum, 5);
    ck_assert_str_eq(tm_json_get(r, "b")->str, "x");
    ck_assert_int_eq(tm_json_get(r, "c")->type, TM_JSON_NULL);
    ck_assert_str_eq(r->keys[3], "d");
    ck_assert(tm_json_get(tm_json_get(r, "d"), "p")->boolean);
    ck_assert(!tm_json_get(tm_json_get(r, "d"), "q")->boolean);
    f32_eq(tm_json_get(tm_json_get(r, "e"), "y")->f32, 2.0f);
    ck_assert_uint_eq(tm_json_get(r, "e")->len, 2);
    tm_json_doc_free(doc);
}
END_TEST

START_TEST(ubj_forged_counts_and_errors)
{
    ubj_error(BYTES("[$d#L\x7f\xff\xff\xff\xff\xff\xff\xff"),
              "offset 4: count 9223372036854775807 (at least 4 bytes each) exceeds the 0 "
              "bytes left");
    ubj_error(BYTES("[$d#i\x03\x00\x00\x00\x00\x00\x00\x00\x00"),
              "offset 4: count 3 (at least 4 bytes each) exceeds the 8 bytes left");
    ubj_error(BYTES("[#L\x7f\xff\xff\xff\xff\xff\xff\xffZ"),
              "offset 2: count 9223372036854775807 exceeds the 1 bytes left");
    ubj_error(BYTES("{#L\x00\x00\x00\x00\x10\x00\x00\x00i\x01"
                    "aZ"),
              "offset 2: count 268435456 (at least 3 bytes each) exceeds the 4 bytes left");
    ubj_error(BYTES("[$Z#L\x00\x00\x00\x00\x10\x00\x00\x00"),
              "offset 4: count 268435456 exceeds the 0 bytes left");
    ubj_error(BYTES("SL\x00\x00\x00\x01\x00\x00\x00\x00"
                    "ab"),
              "offset 1: string length 4294967296 exceeds the 2 bytes left");
    ubj_error(BYTES("Si\xff"), "offset 1: negative string length -1");
    ubj_error(BYTES("SL\x80\x00\x00\x00\x00\x00\x00\x00"),
              "offset 1: negative string length -9223372036854775808");
    ubj_error(BYTES("{Si\x01"
                    "aZ}"),
              "offset 1: expected an integer marker for the key length, found 'S'");
    ubj_error(BYTES("Sd\x00\x00\x00\x00"),
              "offset 1: expected an integer marker for the string length, found 'd'");
    ubj_error(BYTES("[X]"), "offset 1: unknown marker 'X'");
    ubj_error(BYTES("[\x00]"), "offset 1: unknown marker '\\x00'");
    ubj_error(BYTES("[$X#i\x01"), "offset 2: invalid container type 'X'");
    ubj_error(BYTES("[$N#i\x01"), "offset 2: invalid container type 'N'");
    ubj_error(BYTES("[$i\x05"), "offset 3: expected '#' after the container type, found '\\x05'");
    ubj_error(BYTES("ZZ"), "offset 1: expected end of input after the value, found 'Z'");
    ubj_error(BYTES(""), "offset 0: unexpected end of input (value: need 1 bytes, have 0)");
    ubj_error(BYTES("NN"), "offset 2: unexpected end of input (value: need 1 bytes, have 0)");
    ubj_error(BYTES("[i\x01"), "offset 3: unexpected end of input (array: need 1 bytes, have 0)");
    ubj_error(BYTES("l\x00\x01"), "offset 1: unexpected end of input (scalar: need 4 bytes, "
                                  "have 2)");
    ubj_error(BYTES("{i\x01"
                    "a"),
              "offset 4: unexpected end of input (value: need 1 bytes, have 0)");
    ubj_error(BYTES("[$"), "offset 1: unexpected end of input (typed container header: need 3 "
                           "bytes, have 1)");
    tm_json_doc *doc = ubj_ok(BYTES("ZN")); /* trailing no-ops are fine */
    ck_assert_int_eq(tm_json_root(doc)->type, TM_JSON_NULL);
    tm_json_doc_free(doc);
    ck_assert_int_eq(tm_ubjson_parse(NULL, 1, "x", &doc, NULL), TM_E_INVALID);
}
END_TEST

START_TEST(ubj_depth_limit)
{
    unsigned char *buf = malloc(2000);
    memset(buf, '[', 512);
    memset(buf + 512, ']', 512);
    tm_json_doc *doc = ubj_ok(buf, 1024);
    tm_json_doc_free(doc);
    memset(buf, '[', 513);
    memset(buf + 513, ']', 513);
    ubj_error(buf, 1026, "offset 512: nesting deeper than 512 levels");
    free(buf);
}
END_TEST

static const unsigned char sample[] =
        "{L\x00\x00\x00\x00\x00\x00\x00\x05trees[$d#L\x00\x00\x00\x00\x00\x00\x00\x02"
        "\x3f\x80\x00\x00\x40\x00\x00\x00"
        "U\x02"
        "ab[#i\x02Si\x01xT"
        "i\x02"
        "idi\x07"
        "i\x01o{$U#i\x01i\x01k\x09"
        "i\x01h"
        "HU\x03"
        "1e9}";

/* Every prefix of a valid document fails cleanly; random byte flips never
 * crash (ASan checks the reads). */
START_TEST(ubj_truncated_and_mutated_input)
{
    size_t n = sizeof sample - 1;
    tm_json_doc *doc = ubj_ok(sample, n);
    ck_assert_uint_eq(tm_json_root(doc)->len, 5);
    ck_assert_int_eq(tm_json_get(tm_json_get(tm_json_root(doc), "o"), "k")->inum, 9);
    ck_assert_str_eq(tm_json_get(tm_json_root(doc), "h")->str, "1e9");
    tm_json_doc_free(doc);
    for (size_t i = 0; i < n; i++) {
        unsigned char *copy = malloc(i + 1);
        memcpy(copy, sample, i);
        ck_assert_int_eq(tm_ubjson_parse(copy, i, "t", &doc, NULL), TM_E_PARSE);
        ck_assert_ptr_null(doc);
        free(copy);
    }
    unsigned seed = 12345;
    unsigned char *copy = malloc(n);
    for (int k = 0; k < 20000; k++) {
        memcpy(copy, sample, n);
        for (int flips = 0; flips < 3; flips++) {
            seed = seed * 1103515245u + 12345u;
            copy[(seed >> 8) % n] = (unsigned char)(seed >> 20);
        }
        tm_status st = tm_ubjson_parse(copy, n, "t", &doc, NULL);
        ck_assert(st == TM_OK || st == TM_E_PARSE);
        tm_json_doc_free(doc);
    }
    free(copy);
}
END_TEST

START_TEST(ubj_alloc_failure_loop)
{
    /* Big enough for several chunks and stack growth. */
    size_t cap = 400000, k = 0;
    unsigned char *buf = malloc(cap);
    buf[k++] = '[';
    for (int i = 0; i < 5000; i++) {
        static const char item[] = "[$d#i\x02\x3f\x80\x00\x00\x40\x00\x00\x00SU\x01x";
        memcpy(buf + k, item, sizeof item - 1);
        k += sizeof item - 1;
    }
    buf[k++] = ']';
    long n;
    for (n = 1; n < 10000; n++) {
        tm_json_doc *doc = (tm_json_doc *)&n;
        tm_err err;
        tm_err_init(&err);
        tm_alloc_fail_after(n);
        tm_status st = tm_ubjson_parse(buf, k, "t.ubj", &doc, &err);
        tm_alloc_fail_after(0);
        if (st == TM_OK) {
            ck_assert_uint_eq(tm_json_root(doc)->len, 10000);
            tm_json_doc_free(doc);
            break;
        }
        ck_assert_int_eq(st, TM_E_NOMEM);
        ck_assert_int_eq(err.status, TM_E_NOMEM);
        ck_assert_ptr_null(doc);
    }
    ck_assert_int_gt(n, 3);
    ck_assert_int_lt(n, 10000);
    free(buf);
}
END_TEST

/* JSON and UBJSON twins: same tree; floats equal as float32 (the JSON text
 * correctly rounded), integers equal, strings equal. */
static void same_doc(const tm_json *j, const tm_json *u, const char *where)
{
    ck_assert_msg(j->type == u->type, "%s: type %d vs %d", where, j->type, u->type);
    switch (j->type) {
    case TM_JSON_NULL:
        break;
    case TM_JSON_BOOL:
        ck_assert_msg(j->boolean == u->boolean, "%s: bool", where);
        break;
    case TM_JSON_NUMBER:
        if (u->is_f32) {
            float a = tm_json_f32(j), b = u->f32;
            ck_assert_msg(memcmp(&a, &b, 4) == 0 || (isnan(a) && isnan(b)), "%s: %.9g vs %.9g",
                          where, (double)a, (double)b);
        } else if (u->is_int && j->is_int) {
            ck_assert_msg(j->inum == u->inum, "%s: int", where);
        } else {
            ck_assert_msg(j->num == u->num || (isnan(j->num) && isnan(u->num)), "%s: num", where);
        }
        break;
    case TM_JSON_STRING:
        ck_assert_msg(j->len == u->len && memcmp(j->str, u->str, j->len) == 0, "%s: string", where);
        break;
    case TM_JSON_ARRAY:
    case TM_JSON_OBJECT:
        ck_assert_msg(j->len == u->len, "%s: %zu vs %zu members", where, j->len, u->len);
        for (size_t i = 0; i < j->len; i++) {
            if (j->type == TM_JSON_OBJECT) {
                ck_assert_str_eq(j->keys[i], u->keys[i]);
            }
            if (j->type == TM_JSON_OBJECT) {
                same_doc(j->items[i], u->items[i], where);
            } else {
                same_doc(tm_json_at(j, i), tm_json_at(u, i), where); /* typed or not */
            }
        }
        break;
    }
}

START_TEST(ubj_fixtures_match_json_twins)
{
    if (!tm_test_shared_has("fixtures/xgboost", "ubjson vs json fixtures")) {
        return;
    }
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/fixtures/xgboost", tm_test_shared_dir());
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n_cases = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char jp[2048], up[2048];
        size_t jn, un;
        snprintf(jp, sizeof jp, "%s/%s/model.json", dir, e->d_name);
        snprintf(up, sizeof up, "%s/%s/model.ubj", dir, e->d_name);
        char *jt = tm_test_slurp(jp, &jn);
        char *ut = tm_test_slurp(up, &un);
        if (jt && ut) {
            tm_json_doc *jd = NULL, *ud = NULL;
            tm_err err;
            tm_err_init(&err);
            ck_assert_msg(tm_json_parse(jt, jn, jp, &jd, &err) == TM_OK, "%s", err.reason);
            ck_assert_msg(tm_ubjson_parse((unsigned char *)ut, un, up, &ud, &err) == TM_OK, "%s",
                          err.reason);
            same_doc(tm_json_root(jd), tm_json_root(ud), e->d_name);
            ck_assert_ptr_nonnull(tm_json_get(tm_json_root(ud), "learner"));
            tm_json_doc_free(jd);
            tm_json_doc_free(ud);
            n_cases++;
        }
        free(jt);
        free(ut);
    }
    closedir(d);
    ck_assert_int_gt(n_cases, 0);
}
END_TEST

Suite *tm_test_suite_core_ubjson(void);

TM_TEST_SUITE(core_ubjson)
{
    Suite *s = suite_create("core_ubjson");
    TCase *tc = tcase_create("ubjson");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, ubj_scalar_markers);
    tcase_add_test(tc, ubj_typed_arrays_each_type);
    tcase_add_test(tc, ubj_objects);
    tcase_add_test(tc, ubj_forged_counts_and_errors);
    tcase_add_test(tc, ubj_depth_limit);
    tcase_add_test(tc, ubj_truncated_and_mutated_input);
    tcase_add_test(tc, ubj_alloc_failure_loop);
    tcase_add_test(tc, ubj_fixtures_match_json_twins);
    suite_add_tcase(s, tc);
    return s;
}
