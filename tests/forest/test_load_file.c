/* Tests for tm_forest_load on files (src/forest/load.c): an XGBoost JSON
 * file is parsed inside the read buffer, which the loader takes over, and
 * the per-node statistics prediction never reads (base_weights,
 * loss_changes, sum_hessian, parents) are checked but not kept. The file
 * route gives the forest tm_forest_load_mem gives, refuses what it
 * refuses with the same message, and fails cleanly at every allocation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbomode/forest.h>

#include "tm_test.h"

/* A 1.7-style model.json: two trees on two features, the statistics
 * arrays given by stats (inserted into tree 0). */
static const char *model(const char *stats)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"learner\":{\"attributes\":{},\"feature_names\":[],\"feature_types\":[],"
             "\"gradient_booster\":{\"name\":\"gbtree\",\"model\":{\"gbtree_model_param\":"
             "{\"num_parallel_tree\":\"1\",\"num_trees\":\"2\"},\"trees\":["
             "{%s\"left_children\":[1,-1,-1],\"right_children\":[2,-1,-1],"
             "\"split_indices\":[0,0,0],\"split_conditions\":[1E-1,-1.5E0,2.5E0],"
             "\"default_left\":[1,0,0],\"split_type\":[0,0,0],\"categories\":[],"
             "\"categories_nodes\":[],\"categories_segments\":[],\"categories_sizes\":[],"
             "\"tree_param\":{\"num_nodes\":\"3\",\"size_leaf_vector\":\"0\"},\"id\":0},\n"
             "{\"base_weights\":[1,2,3],\"loss_changes\":[0.5,0,0],\"sum_hessian\":[3,1,2],"
             "\"parents\":[2147483647,0,0],\"left_children\":[1,-1,-1],"
             "\"right_children\":[2,-1,-1],\"split_indices\":[1,0,0],"
             "\"split_conditions\":[3.3333334E-1,2.5E-1,7.5E-1],\"default_left\":[0,0,0],"
             "\"split_type\":[0,0,0],\"categories\":[],\"categories_nodes\":[],"
             "\"categories_segments\":[],\"categories_sizes\":[],"
             "\"tree_param\":{\"num_nodes\":\"3\",\"size_leaf_vector\":\"0\"},\"id\":1}],"
             "\"tree_info\":[0,0]}},\"learner_model_param\":{\"base_score\":\"5E-1\","
             "\"boost_from_average\":\"1\",\"num_class\":\"0\",\"num_feature\":\"2\","
             "\"num_target\":\"1\"},\"objective\":{\"name\":\"reg:squarederror\"}},"
             "\"version\":[1,7,4]}",
             stats);
    return buf;
}

static const char *write_file(const char *name, const char *text)
{
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", tm_test_tmpdir(), name);
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(text, 1, strlen(text), fp), strlen(text));
    fclose(fp);
    return path;
}

/* Margins of f on a small grid, NaN included. */
static void grid_margins(const tm_forest *f, double *m)
{
    static const double v[] = {-1.0, 0.0, 0.1, 0.2, 1.0 / 3.0, 0.5, 2.0, NAN};
    double X[64 * 2];
    for (int i = 0; i < 64; i++) {
        X[2 * i] = v[i % 8];
        X[2 * i + 1] = v[i / 8];
    }
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_forest_predict_reference(f, X, 64, 2, TM_FOREST_OUT_MARGIN, m, &err),
                     TM_OK);
}

/* File and memory give the same forest, whatever the statistics hold:
 * they are never read, so any well-formed JSON there loads (as before). */
START_TEST(load_file_matches_mem_and_ignores_statistics)
{
    static const char *stats[] = {
            "",
            "\"base_weights\":[1.5,-2,3E-1],\"loss_changes\":[1,0,0],\"sum_hessian\":[4,2,2],"
            "\"parents\":[2147483647,0,0],",
            "\"base_weights\":\"x\",\"parents\":{\"a\":[1,\"b\",null]},\"sum_hessian\":[],",
    };
    double want[64], got[64], mem[64];
    const char *path = NULL;
    for (size_t i = 0; i < sizeof stats / sizeof stats[0]; i++) {
        const char *text = model(stats[i]);
        tm_forest *ff = NULL, *fm = NULL;
        tm_err err;
        tm_err_init(&err);
        path = write_file("load_file_model.json", text);
        ck_assert_int_eq(tm_forest_load(path, NULL, &ff, &err), TM_OK);
        ck_assert_int_eq(tm_forest_load_mem(text, strlen(text), "m.json", NULL, &fm, &err), TM_OK);
        ck_assert_int_eq(tm_forest_get_family(ff), TM_FOREST_XGBOOST);
        grid_margins(ff, got);
        grid_margins(fm, mem);
        if (i == 0) {
            memcpy(want, got, sizeof want);
        }
        ck_assert_int_eq(memcmp(got, want, sizeof got), 0);
        ck_assert_int_eq(memcmp(mem, want, sizeof mem), 0);
        tm_forest_free(ff);
        tm_forest_free(fm);
    }
    remove(path); /* the tmpdir is the whole run's */
}
END_TEST

/* A syntax error inside a statistics array is refused, by both routes,
 * with the parser's line and reason. */
START_TEST(load_file_refuses_bad_statistics)
{
    static const char *stats[] = {
            "\"loss_changes\":[1,0 0],",
            "\"parents\":[1,\n2,-],",
            "\"sum_hessian\":[1e],",
    };
    static const char *want[] = {
            "m.json:1: expected ',' or ']', found '0'",
            "m.json:2: invalid number: expected a digit after '-', found ']'",
            "m.json:1: invalid number: expected a digit in the exponent, found ']'",
    };
    for (size_t i = 0; i < sizeof stats / sizeof stats[0]; i++) {
        const char *text = model(stats[i]);
        char msg[512];
        tm_forest *f = NULL;
        tm_err err;
        tm_err_init(&err);
        ck_assert_int_eq(tm_forest_load_mem(text, strlen(text), "m.json", NULL, &f, &err),
                         TM_E_PARSE);
        ck_assert_str_eq(tm_err_format(&err, msg, sizeof msg), want[i]);
        const char *path = write_file("load_file_model.json", text);
        tm_err_init(&err);
        ck_assert_int_eq(tm_forest_load(path, NULL, &f, &err), TM_E_PARSE);
        ck_assert_ptr_null(f);
        ck_assert_str_eq(err.reason, strchr(strchr(want[i], ':') + 1, ':') + 2);
        remove(path);
    }
}
END_TEST

/* An empty file stays "not a model", named format or not. */
START_TEST(load_file_empty_is_not_a_model)
{
    const char *path = write_file("load_file_empty.json", "");
    tm_forest_load_opts opts;
    tm_forest_load_opts_init(&opts);
    for (int named = 0; named < 2; named++) {
        opts.format = named ? TM_FOREST_FORMAT_XGBOOST_JSON : TM_FOREST_FORMAT_AUTO;
        tm_forest *f = NULL;
        tm_err err;
        tm_err_init(&err);
        ck_assert_int_eq(tm_forest_load(path, &opts, &f, &err), TM_E_FORMAT);
        ck_assert_str_eq(err.reason, "empty file: not a model");
        ck_assert_ptr_null(f);
    }
    remove(path);
}
END_TEST

/* Each allocation of a file load in turn fails: TM_E_NOMEM, *out NULL,
 * nothing leaks (the read buffer handed to the parser included). */
START_TEST(load_file_allocation_failures_are_clean)
{
    const char *path = write_file("load_file_fault.json", model(""));
    for (long n = 1;; n++) {
        tm_forest *f = NULL;
        tm_err err;
        tm_err_init(&err);
        tm_alloc_fail_after(n);
        tm_status st = tm_forest_load(path, NULL, &f, &err);
        tm_alloc_fail_after(0);
        if (st == TM_OK) {
            ck_assert_ptr_nonnull(f);
            tm_forest_free(f);
            ck_assert_int_gt(n, 3);
            remove(path);
            return;
        }
        ck_assert_msg(st == TM_E_NOMEM, "allocation %ld: %s: %s", n, tm_status_name(st),
                      err.reason);
        ck_assert_ptr_null(f);
    }
}
END_TEST

TM_TEST_SUITE(forest_load_file)
{
    Suite *s = suite_create("forest_load_file");
    TCase *tc = tcase_create("load_file");
    tcase_add_test(tc, load_file_matches_mem_and_ignores_statistics);
    tcase_add_test(tc, load_file_refuses_bad_statistics);
    tcase_add_test(tc, load_file_empty_is_not_a_model);
    tcase_add_test(tc, load_file_allocation_failures_are_clean);
    suite_add_tcase(s, tc);
    return s;
}
