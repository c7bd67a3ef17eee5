/* Tests for src/core/json_get.c: the typed getters return what the
 * document holds and, when a value is missing or of the wrong type, one
 * line naming the file, the line and the value's full path. The same
 * getters read generic JSON arrays and UBJSON typed arrays. */
#include <math.h>
#include <string.h>

#include <turbomode/core.h>

#include "tm_test.h"

static const char *const DOC = "{\"a\": {\"n\": 3, \"x\": 2.5, \"s\": \"hi\", \"neg\": -4,\n"
                               "       \"nums\": [1, 0, 2.5, \"no\"], \"flags\": [true, 0, 1, 2],\n"
                               "       \"nul\": null, \"big\": 1e300}}";

static tm_json_doc *parse(const char *text)
{
    tm_json_doc *doc = NULL;
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_json_parse(text, strlen(text), "d.json", &doc, &err), TM_OK);
    return doc;
}

/* The formatted message of the error the last getter recorded. */
static const char *message(tm_err *err)
{
    static char buf[1024];
    tm_err_format(err, buf, sizeof buf);
    tm_err_init(err);
    return buf;
}

START_TEST(json_get_values)
{
    tm_json_doc *doc = parse(DOC);
    tm_err err;
    tm_err_init(&err);
    tm_json_ctx c = {.path = "d.json", .has_lines = true, .err = &err};
    const tm_json *a = NULL, *v = NULL;
    ck_assert_int_eq(tm_json_member(&c, tm_json_root(doc), NULL, "a", TM_JSON_OBJECT, false, &a),
                     TM_OK);
    int64_t i = 0;
    ck_assert_int_eq(tm_json_member_int(&c, a, "a", "n", 0, 3, false, 9, &i), TM_OK);
    ck_assert_int_eq(i, 3);
    ck_assert_int_eq(tm_json_member_int(&c, a, "a", "absent", 0, 3, true, 9, &i), TM_OK);
    ck_assert_int_eq(i, 9);
    double d = 0;
    ck_assert_int_eq(tm_json_member_num(&c, a, "a", "x", false, 0.0, &d), TM_OK);
    ck_assert(d == 2.5);
    ck_assert_int_eq(tm_json_member_num(&c, a, "a", "absent", true, -1.0, &d), TM_OK);
    ck_assert(d == -1.0);
    /* optional: null counts as absent */
    v = a;
    ck_assert_int_eq(tm_json_member(&c, a, "a", "nul", TM_JSON_STRING, true, &v), TM_OK);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(tm_json_member_nums(&c, a, "a", "nums", 4, false, &v), TM_OK);
    float f = 0;
    ck_assert_int_eq(tm_json_f32_at(&c, v, "a.nums", 2, &f), TM_OK);
    ck_assert(f == 2.5f);
    ck_assert_int_eq(tm_json_int_at(&c, v, "a.nums", 1, -1, 1, &i), TM_OK);
    ck_assert_int_eq(i, 0);
    const tm_json *flags = tm_json_get(a, "flags");
    bool b = false;
    ck_assert_int_eq(tm_json_flag_at(&c, flags, "a.flags", 0, &b), TM_OK);
    ck_assert(b);
    ck_assert_int_eq(tm_json_flag_at(&c, flags, "a.flags", 1, &b), TM_OK);
    ck_assert(!b);
    ck_assert_int_eq(tm_json_flag_at(&c, flags, "a.flags", 2, &b), TM_OK);
    ck_assert(b);
    ck_assert_int_eq(err.status, TM_OK);
    tm_json_doc_free(doc);
}
END_TEST

START_TEST(json_get_errors_name_the_path)
{
    tm_json_doc *doc = parse(DOC);
    tm_err err;
    tm_err_init(&err);
    tm_json_ctx c = {.path = "d.json", .has_lines = true, .err = &err};
    const tm_json *a = tm_json_get(tm_json_root(doc), "a"), *v = NULL;
    int64_t i = 0;
    double d = 0;
    float f = 0;
    bool b = false;
    ck_assert_int_eq(tm_json_member(&c, a, "a", "absent", TM_JSON_ARRAY, false, &v), TM_E_PARSE);
    ck_assert_str_eq(message(&err), "d.json:1: field 'a.absent': missing");
    ck_assert_int_eq(tm_json_member(&c, a, "a", "s", TM_JSON_ARRAY, false, &v), TM_E_PARSE);
    ck_assert_str_eq(message(&err), "d.json:1: field 'a.s': expected an array, found \"hi\"");
    ck_assert_int_eq(tm_json_member(&c, a, "a", "nul", TM_JSON_OBJECT, false, &v), TM_E_PARSE);
    ck_assert_str_eq(message(&err), "d.json:3: field 'a.nul': expected an object, found null");
    ck_assert_int_eq(tm_json_member_nums(&c, a, "a", "s", TM_JSON_ANY_LEN, false, &v), TM_E_PARSE);
    ck_assert_str_eq(message(&err),
                     "d.json:1: field 'a.s': expected an array of numbers, found \"hi\"");
    ck_assert_int_eq(tm_json_member_nums(&c, a, "a", "nums", 3, false, &v), TM_E_PARSE);
    ck_assert_str_eq(message(&err), "d.json:2: field 'a.nums': expected 3 elements, found 4");
    ck_assert_int_eq(tm_json_member_int(&c, a, "a", "x", 0, 9, false, 7, &i), TM_E_PARSE);
    ck_assert_int_eq(i, 7);
    ck_assert_str_eq(message(&err),
                     "d.json:1: field 'a.x': expected an integer in 0..9, found 2.5");
    ck_assert_int_eq(tm_json_member_int(&c, a, "a", "neg", 0, 9, false, 7, &i), TM_E_PARSE);
    ck_assert_str_eq(message(&err),
                     "d.json:1: field 'a.neg': expected an integer in 0..9, found -4");
    ck_assert_int_eq(tm_json_member_int(&c, a, "a", "big", 0, 9, true, 7, &i), TM_E_PARSE);
    ck_assert_str_eq(message(&err),
                     "d.json:3: field 'a.big': expected an integer in 0..9, found 1e300");
    ck_assert_int_eq(tm_json_member_num(&c, a, "a", "s", false, 0.0, &d), TM_E_PARSE);
    ck_assert_str_eq(message(&err), "d.json:1: field 'a.s': expected a number, found \"hi\"");
    v = tm_json_get(a, "nums");
    ck_assert_int_eq(tm_json_f32_at(&c, v, "a.nums", 3, &f), TM_E_PARSE);
    ck_assert_str_eq(message(&err), "d.json:2: field 'a.nums[3]': expected a number, found \"no\"");
    ck_assert_int_eq(tm_json_num_at(&c, v, "a.nums", 4, &d), TM_E_PARSE);
    ck_assert_str_eq(message(&err),
                     "d.json:2: field 'a.nums[4]': expected a number, found nothing");
    ck_assert_int_eq(tm_json_int_at(&c, v, "a.nums", 2, 0, 5, &i), TM_E_PARSE);
    ck_assert_str_eq(message(&err),
                     "d.json:2: field 'a.nums[2]': expected an integer in 0..5, found 2.5");
    ck_assert_int_eq(tm_json_int_at(&c, v, "a.nums", 0, 2, 5, &i), TM_E_PARSE);
    ck_assert_str_eq(message(&err),
                     "d.json:2: field 'a.nums[0]': expected an integer in 2..5, found 1");
    ck_assert_int_eq(tm_json_flag_at(&c, tm_json_get(a, "flags"), "a.flags", 3, &b), TM_E_PARSE);
    ck_assert_str_eq(message(&err),
                     "d.json:2: field 'a.flags[3]': expected true, false, 0 or 1, found 2");
    /* a missing parent is an object with no members */
    ck_assert_int_eq(tm_json_member(&c, NULL, "top.gone", "k", TM_JSON_ARRAY, false, &v),
                     TM_E_PARSE);
    ck_assert_str_eq(message(&err), "d.json: field 'top.gone.k': missing");
    ck_assert_int_eq(tm_json_member(&c, NULL, "top.gone", "k", TM_JSON_ARRAY, true, &v), TM_OK);
    ck_assert_ptr_null(v);
    /* errors are recorded without an error sink too */
    tm_json_ctx quiet = {.path = "d.json", .has_lines = true, .err = NULL};
    ck_assert_int_eq(tm_json_f32_at(&quiet, v, "x", 0, &f), TM_E_PARSE);
    tm_json_doc_free(doc);
}
END_TEST

/* UBJSON: typed arrays of float32 and uint8 read through the same calls;
 * no line numbers (offsets are not lines). */
START_TEST(json_get_ubjson_typed_arrays)
{
    static const unsigned char data[] = "{i\x01w[$d#i\x02\x3f\xc0\x00\x00\xc0\x20\x00\x00"
                                        "i\x01u[$U#i\x03\x00\x01\x02"
                                        "i\x01s[$S#i\x01i\x01z}";
    tm_json_doc *doc = NULL;
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_ubjson_parse(data, sizeof data - 1, "d.ubj", &doc, &err), TM_OK);
    tm_json_ctx c = {.path = "d.ubj", .has_lines = false, .err = &err};
    const tm_json *root = tm_json_root(doc), *w = NULL, *u = NULL, *s = NULL;
    ck_assert_int_eq(tm_json_member_nums(&c, root, "m", "w", 2, false, &w), TM_OK);
    ck_assert_int_eq(tm_json_member_nums(&c, root, "m", "u", 3, false, &u), TM_OK);
    float f = 0;
    ck_assert_int_eq(tm_json_f32_at(&c, w, "m.w", 0, &f), TM_OK);
    ck_assert(f == 1.5f);
    ck_assert_int_eq(tm_json_f32_at(&c, w, "m.w", 1, &f), TM_OK);
    ck_assert(f == -2.5f);
    bool b = true;
    ck_assert_int_eq(tm_json_flag_at(&c, u, "m.u", 0, &b), TM_OK);
    ck_assert(!b);
    ck_assert_int_eq(tm_json_flag_at(&c, u, "m.u", 2, &b), TM_E_PARSE);
    ck_assert_str_eq(message(&err), "d.ubj: field 'm.u[2]': expected true, false, 0 or 1, found 2");
    ck_assert_int_eq(tm_json_member_nums(&c, root, "m", "s", 1, false, &s), TM_OK);
    double d = 0;
    ck_assert_int_eq(tm_json_num_at(&c, s, "m.s", 0, &d), TM_E_PARSE);
    ck_assert_str_eq(message(&err), "d.ubj: field 'm.s[0]': expected a number, found \"z\"");
    tm_json_doc_free(doc);
}
END_TEST

TM_TEST_SUITE(core_json_get)
{
    Suite *s = suite_create("core_json_get");
    TCase *tc = tcase_create("json_get");
    tcase_add_test(tc, json_get_values);
    tcase_add_test(tc, json_get_errors_name_the_path);
    tcase_add_test(tc, json_get_ubjson_typed_arrays);
    suite_add_tcase(s, tc);
    return s;
}
