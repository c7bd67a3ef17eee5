/* The forest builder: a stump and an oblivious tree built by hand predict
 * what their splits say (values on the threshold, NaN, +-inf), and a
 * builder whose additions do not match its shape is refused. */
#include <math.h>
#include <string.h>

#include <turbomode/forest.h>

#include "tm_test.h"

static tm_forest_shape shape(bool oblivious, int32_t n_nodes, int32_t n_leaves)
{
    tm_forest_shape s;
    memset(&s, 0, sizeof s);
    s.family = oblivious ? TM_FOREST_CATBOOST : TM_FOREST_LIGHTGBM;
    s.format = oblivious ? TM_FOREST_FORMAT_CATBOOST_JSON : TM_FOREST_FORMAT_LIGHTGBM;
    s.link = TM_FOREST_LINK_IDENTITY;
    s.default_output = TM_FOREST_OUT_VALUE;
    s.objective = "regression";
    s.n_features = 2;
    s.n_outputs = 1;
    s.n_trees = 1;
    s.n_iterations = 1;
    s.oblivious = oblivious;
    s.n_nodes = n_nodes;
    s.n_leaves = n_leaves;
    return s;
}

START_TEST(build_stump_predicts_its_split)
{
    tm_forest_shape s = shape(false, 3, 2);
    tm_forest_builder *b = NULL;
    tm_forest *f = NULL;
    ck_assert_int_eq(tm_forest_builder_new(&s, &b, NULL), TM_OK);
    tm_forest_builder_tree(b, 3);
    tm_forest_builder_split(b, 1, 0.5f, 1, 2, true); /* x1 < 0.5 left, NaN left */
    tm_forest_builder_leaf(b, -1.0);
    tm_forest_builder_leaf(b, 2.0);
    ck_assert_int_eq(tm_forest_builder_finish(b, &f, NULL), TM_OK);
    const double X[] = {9, 0.25, 9, 0.5, 9, NAN, 9, INFINITY, 9, -INFINITY};
    double out[5];
    ck_assert_int_eq(tm_forest_predict(f, X, 5, 2, TM_FOREST_OUT_VALUE, 1, out, NULL), TM_OK);
    const double want[] = {-1, 2, -1, 2, -1}; /* on the threshold: not below, right */
    for (int i = 0; i < 5; i++) {
        ck_assert_double_eq(out[i], want[i]);
    }
    tm_forest_free(f);
}
END_TEST

START_TEST(build_oblivious_tree_indexes_leaves_by_levels)
{
    tm_forest_shape s = shape(true, 2, 4);
    tm_forest_builder *b = NULL;
    tm_forest *f = NULL;
    ck_assert_int_eq(tm_forest_builder_new(&s, &b, NULL), TM_OK);
    const int32_t feat[2] = {0, 1};
    const float border[2] = {0.0f, 10.0f};
    const double leaves[4] = {1, 2, 3, 4}; /* index: bit0 x0 > 0, bit1 x1 > 10 */
    tm_forest_builder_oblivious(b, 2, feat, border, leaves);
    ck_assert_int_eq(tm_forest_builder_finish(b, &f, NULL), TM_OK);
    const double X[] = {0, 10, 1, 10, 0, 11, 1, 11, NAN, NAN};
    double out[5];
    ck_assert_int_eq(tm_forest_predict(f, X, 5, 2, TM_FOREST_OUT_VALUE, 1, out, NULL), TM_OK);
    const double want[] = {1, 2, 3, 4, 1};
    for (int i = 0; i < 5; i++) {
        ck_assert_double_eq(out[i], want[i]);
    }
    tm_forest_free(f);
}
END_TEST

START_TEST(build_mismatched_shape_is_refused)
{
    tm_forest_shape s = shape(false, 3, 2);
    tm_forest_builder *b = NULL;
    tm_forest *f = (tm_forest *)&s; /* must be reset to NULL */
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_forest_builder_new(&s, &b, NULL), TM_OK);
    tm_forest_builder_tree(b, 3);
    tm_forest_builder_split(b, 0, 0.5f, 1, 2, false);
    tm_forest_builder_leaf(b, 1.0); /* one leaf short */
    ck_assert_int_eq(tm_forest_builder_finish(b, &f, &err), TM_E_INVALID);
    ck_assert_ptr_null(f);
    ck_assert_str_eq(err.reason, "forest builder: 1 trees, 2 nodes, 1 leaves added, the shape "
                                 "says 1, 3, 2");
    /* a child outside the tree: the graph check refuses it */
    ck_assert_int_eq(tm_forest_builder_new(&s, &b, NULL), TM_OK);
    tm_forest_builder_tree(b, 3);
    tm_forest_builder_split(b, 0, 0.5f, 1, 7, false);
    tm_forest_builder_leaf(b, 1.0);
    tm_forest_builder_leaf(b, 2.0);
    ck_assert_int_ne(tm_forest_builder_finish(b, &f, NULL), TM_OK);
    ck_assert_ptr_null(f);
    tm_forest_builder_free(NULL);
}
END_TEST

TM_TEST_SUITE(forest_build)
{
    Suite *s = suite_create("forest_build");
    TCase *tc = tcase_create("build");
    tcase_add_test(tc, build_stump_predicts_its_split);
    tcase_add_test(tc, build_oblivious_tree_indexes_leaves_by_levels);
    tcase_add_test(tc, build_mismatched_shape_is_refused);
    suite_add_tcase(s, tc);
    return s;
}
