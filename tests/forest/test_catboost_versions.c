/* CatBoost JSON exports as the versions write them (ConvertModelToJson in
 * catboost/libs/model/model_export/json_model_helpers.cpp): exports from
 * before scale_and_bias existed (2019-2020 master: read as scale 1, bias
 * 0, as CatBoost's own reader does) and the 1.0-1.2 layout (scale and a
 * bias per dimension, leaf_weights, non-symmetric trees whose leaves carry
 * a weight, class_params). Tiny models, values walked by hand below. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <turbomode/forest.h>

#include "tm_test.h"

/* Float features f0 (AsIs) and f1 (nan rule given), columns 0 and 1. */
#define FEATURES(nan1)                                                                             \
    "\"features_info\":{\"float_features\":["                                                      \
    "{\"borders\":[-1,0.5],\"feature_id\":\"\",\"feature_index\":0,\"flat_feature_index\":0,"      \
    "\"has_nans\":true,\"nan_value_treatment\":\"AsIs\"},"                                         \
    "{\"borders\":[1.5],\"feature_id\":\"\",\"feature_index\":1,\"flat_feature_index\":1,"         \
    "\"has_nans\":true,\"nan_value_treatment\":\"" nan1 "\"}]}"
#define SPLIT(f, b, k)                                                                             \
    "{\"border\":" b ",\"float_feature_index\":" #f ",\"split_index\":" #k ",\"split_type\":"      \
    "\"FloatFeature\"}"
#define INFO(loss, extra)                                                                          \
    "\"model_info\":{\"catboost_version_info\":\"x\",\"params\":{\"loss_function\":{\"params\":{}" \
    ","                                                                                            \
    "\"type\":\"" loss "\"}}" extra "}"

/* Tree 0: bit 0 = f0 > 0.5, bit 1 = f1 > 1.5, leaves 1, 2, 3, 4. Tree 1:
 * f0 > -1, leaves 10, 20. */
#define TWO_TREES(weights0, weights1)                                                              \
    "\"oblivious_trees\":[{\"leaf_values\":[1,2,3,4]" weights0 ",\"splits\":[" SPLIT(              \
            0, "0.5", 1) "," SPLIT(1, "1.5", 2) "]},{\"leaf_values\":[10,20]" weights1             \
                                                ",\"splits\":[" SPLIT(0, "-1", 0) "]}]"

static tm_forest *load(const char *text)
{
    tm_forest *f = NULL;
    tm_err err;
    tm_err_init(&err);
    char msg[1024];
    ck_assert_msg(tm_forest_load_mem(text, strlen(text), "c.json", NULL, &f, &err) == TM_OK, "%s",
                  tm_err_format(&err, msg, sizeof msg));
    return f;
}

/* Rows (0.7, 2), (0.2, 1), (NaN, NaN): kind outputs, both predictors. */
static void predict3(const tm_forest *f, tm_forest_output kind, double *out)
{
    double X[6] = {0.7, 2.0, 0.2, 1.0, NAN, NAN}, ref[16];
    size_t w = tm_forest_output_len(f, kind);
    ck_assert_int_le(3 * w, 16);
    ck_assert_int_eq(tm_forest_predict(f, X, 3, 2, kind, 1, out, NULL), TM_OK);
    ck_assert_int_eq(tm_forest_predict_reference(f, X, 3, 2, kind, ref, NULL), TM_OK);
    ck_assert(memcmp(out, ref, 3 * w * sizeof *out) == 0);
}

/* 2019-2020 master: no scale_and_bias, no leaf_weights, no class_params.
 * (0.7, 2): tree 0 bits 1,1 -> 4; tree 1 -> 20: 24. (0.2, 1): 1 + 20 =
 * 21. NaN, NaN (AsIs, AsFalse): bits 0,0 -> 1; NaN > -1 false -> 10: 11. */
START_TEST(cb_versions_before_scale_and_bias)
{
    tm_forest *f = load("{" INFO("RMSE", "") "," FEATURES("AsFalse") "," TWO_TREES("", "") "}");
    double v[3];
    predict3(f, TM_FOREST_OUT_DEFAULT, v);
    ck_assert(v[0] == 24.0 && v[1] == 21.0 && v[2] == 11.0);
    tm_forest_free(f);
}
END_TEST

/* 1.0-1.2: scale_and_bias [0.5, [1.5]], leaf_weights, f1 AsTrue. Sums as
 * above, then 0.5 * sum + 1.5: 13.5, 12; the NaN row now takes bit 1
 * (AsTrue): leaf 2 -> 3, + 10 = 13 -> 8. */
START_TEST(cb_versions_1x_oblivious)
{
    tm_forest *f = load("{" INFO("RMSE", "") "," FEATURES("AsTrue") "," TWO_TREES(
            ",\"leaf_weights\":[1,1,1,1]",
            ",\"leaf_weights\":[2,2]") ",\"scale_and_bias\":[0.5,[1.5]]}");
    double v[3];
    predict3(f, TM_FOREST_OUT_DEFAULT, v);
    ck_assert(v[0] == 13.5 && v[1] == 12.0 && v[2] == 8.0);
    tm_forest_free(f);
}
END_TEST

/* 1.x non-symmetric (Depthwise/Lossguide) Logloss: f0 > 0.5 ? (f1 > 1.5 ?
 * 2 : 0.5) : -1. Rows: 2, -1, -1 (NaN > 0.5 is false: left). Default
 * output: the positive class probability. */
START_TEST(cb_versions_1x_nonsymmetric_logloss)
{
    tm_forest *f = load("{" INFO(
            "Logloss",
            ",\"class_params\":{\"class_names\":[0,1],\"class_to_label\":[0,"
            "1],\"classes_count\":0}") "," FEATURES("AsFalse") ","
                                                               "\"trees\":[{\"left\":{"
                                                               "\"value\":-1,\"weight\":3},"
                                                               "\"right\":{\"left\":{"
                                                               "\"value\":0.5,"
                                                               "\"weight\":1},\"right\":{"
                                                               "\"value\":2,\"weight\":1},"
                                                               "\"split\":" SPLIT(
                                                                       1, "1.5",
                                                                       2) "},"
                                                                          "\"split\""
                                                                          ":" SPLIT(0, "0.5",
                                                                                    1) "}],"
                                                                                       "\"s"
                                                                                       "cal"
                                                                                       "e_"
                                                                                       "and"
                                                                                       "_bi"
                                                                                       "as"
                                                                                       "\":"
                                                                                       "[1,"
                                                                                       "[0]"
                                                                                       "]"
                                                                                       "}");
    double m[3], p[3];
    predict3(f, TM_FOREST_OUT_MARGIN, m);
    ck_assert(m[0] == 2.0 && m[1] == -1.0 && m[2] == -1.0);
    predict3(f, TM_FOREST_OUT_DEFAULT, p);
    ck_assert(fabs(p[0] - 1.0 / (1.0 + exp(-2.0))) < 1e-15);
    ck_assert(fabs(p[1] - 1.0 / (1.0 + exp(1.0))) < 1e-15);
    tm_forest_free(f);
}
END_TEST

/* 1.x MultiClass, D = 3: one tree on f0 > 0.5, leaf-major values leaf 0
 * (1, 0, -1), leaf 1 (-1, 0, 1); bias (0.5, 0, -0.5). (0.7, .): raw
 * (-0.5, 0, 0.5); (0.2, .): (1.5, 0, -1.5). Default: softmax. */
START_TEST(cb_versions_1x_multiclass)
{
    tm_forest *f =
            load("{" INFO("MultiClass", ",\"class_params\":{\"class_names\":[0,1,2]}") "," FEATURES(
                    "AsIs") ",\"oblivious_trees\":[{\"leaf_values\":[1,0,-1,-1,0,1],"
                            "\"leaf_weights\":[1,1],\"splits\":[" SPLIT(
                                    0, "0.5", 1) "]}],\"scale_and_bias\":[1,[0.5,0,"
                                                 "-0.5]]}");
    double m[9], p[9];
    predict3(f, TM_FOREST_OUT_MARGIN, m);
    ck_assert(m[0] == -0.5 && m[1] == 0.0 && m[2] == 0.5);
    ck_assert(m[3] == 1.5 && m[4] == 0.0 && m[5] == -1.5);
    predict3(f, TM_FOREST_OUT_DEFAULT, p);
    double s = exp(-0.5) + 1.0 + exp(0.5);
    ck_assert(fabs(p[0] - exp(-0.5) / s) < 1e-15 && fabs(p[2] - exp(0.5) / s) < 1e-15);
    tm_forest_free(f);
}
END_TEST

TM_TEST_SUITE(forest_catboost_versions)
{
    Suite *s = suite_create("forest_catboost_versions");
    TCase *tc = tcase_create("versions");
    tcase_add_test(tc, cb_versions_before_scale_and_bias);
    tcase_add_test(tc, cb_versions_1x_oblivious);
    tcase_add_test(tc, cb_versions_1x_nonsymmetric_logloss);
    tcase_add_test(tc, cb_versions_1x_multiclass);
    suite_add_tcase(s, tc);
    return s;
}
