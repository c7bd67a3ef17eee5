/* Tests for src/forest/load_catboost.c: every fixtures/catboost case (real
 * CatBoost predictions) through the fast and the reference predictor;
 * hand-written JSON models for each rule of formats/catboost (strict >
 * in float32, NaN treatments, bit order, leaf-major multiclass leaves,
 * non-symmetric trees, scale and bias, links); exact error messages;
 * allocation failure at every step; truncated and corrupted files. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbomode/forest.h>

#include "tm_test.h"

/* ---- small models ------------------------------------------------------ */

/* float feature i named n with NaN treatment t */
#define FF(i, n, t)                                                                                \
    "{\"borders\":[0],\"feature_index\":" #i ",\"flat_feature_index\":" #i ",\"feature_id\":\"" n  \
    "\",\"has_nans\":true,\"nan_value_treatment\":\"" t "\"}"
#define FEATS                                                                                      \
    "\"float_features\":[" FF(0, "a", "AsIs") "," FF(1, "b", "AsFalse") "," FF(2, "c", "AsTrue") "]"
#define SPLIT(f, b)                                                                                \
    "{\"border\":" b ",\"float_feature_index\":" #f ",\"split_index\":0,\"split_type\":"           \
    "\"FloatFeature\"}"
#define OBL(splits, leaves)                                                                        \
    "{\"leaf_values\":[" leaves "],\"leaf_weights\":[],\"splits\":[" splits "]}"
#define LEAF(v)       "{\"value\":" v ",\"weight\":1}"
#define NODE(s, l, r) "{\"left\":" l ",\"right\":" r ",\"split\":" s "}"

static char model_buf[65536];

/* A CatBoost JSON export with the given loss, class_params (JSON or ""),
 * features_info members and the rest of the top level (trees, scale). */
static const char *model(const char *loss, const char *class_params, const char *feats,
                         const char *body)
{
    int n = snprintf(model_buf, sizeof model_buf,
                     "{\"features_info\":{%s},\"model_info\":{%s%s\"params\":{\"loss_function\":"
                     "{\"params\":{},\"type\":\"%s\"}}},%s}",
                     feats, class_params, *class_params ? "," : "", loss, body);
    ck_assert_uint_lt((size_t)n, sizeof model_buf);
    return model_buf;
}

static tm_forest *load_text(const char *text)
{
    tm_err err;
    tm_err_init(&err);
    tm_forest *f = NULL;
    tm_status st = tm_forest_load_mem(text, strlen(text), "m.json", NULL, &f, &err);
    char msg[1024];
    ck_assert_msg(st == TM_OK, "load failed: %s", tm_err_format(&err, msg, sizeof msg));
    ck_assert_ptr_nonnull(f);
    return f;
}

/* Loads text as CatBoost JSON and expects status want with message msg. */
static void expect_error(const char *text, tm_status want, const char *msg)
{
    tm_forest_load_opts opts;
    tm_forest_load_opts_init(&opts);
    opts.format = TM_FOREST_FORMAT_CATBOOST_JSON;
    tm_err err;
    tm_err_init(&err);
    tm_forest *f = NULL;
    tm_status st = tm_forest_load_mem(text, strlen(text), "m.json", &opts, &f, &err);
    char got[1024];
    tm_err_format(&err, got, sizeof got);
    ck_assert_msg(st == want, "status %d, want %d (%s)", st, want, got);
    ck_assert_ptr_null(f);
    if (msg) {
        ck_assert_str_eq(got, msg);
    }
}

/* Predicts one row (a, b, c) with both predictors, which must agree. */
static void predict_row(const tm_forest *f, double a, double b, double c, tm_forest_output kind,
                        double *out)
{
    double x[3] = {a, b, c}, fast[8];
    size_t n = tm_forest_output_len(f, kind);
    ck_assert_uint_le(n, 8);
    ck_assert_int_eq(tm_forest_predict_reference(f, x, 1, 3, kind, out, NULL), TM_OK);
    ck_assert_int_eq(tm_forest_predict(f, x, 1, 3, kind, 1, fast, NULL), TM_OK);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg((isnan(out[i]) && isnan(fast[i])) || out[i] == fast[i],
                      "fast %.17g != reference %.17g", fast[i], out[i]);
    }
}

static double margin(const tm_forest *f, double a, double b, double c)
{
    double m[8];
    predict_row(f, a, b, c, TM_FOREST_OUT_MARGIN, m);
    return m[0];
}

/* ---- decision rules (formats/catboost §3-§5) --------------------------- */

START_TEST(split_is_strict_greater_in_float32)
{
    tm_forest *f = load_text(
            model("RMSE", "", FEATS, "\"oblivious_trees\":[" OBL(SPLIT(0, "0.1"), "1,2") "]"));
    double b = (double)0.1f;                                  /* the border as CatBoost's float32 */
    ck_assert_double_eq(margin(f, b, 0, 0), 1);               /* equal: outcome 0 */
    ck_assert_double_eq(margin(f, 0.1, 0, 0), 1);             /* float32(0.1) == border */
    ck_assert_double_eq(margin(f, nextafter(b, 1), 0, 0), 1); /* rounds back to b */
    ck_assert_double_eq(margin(f, (double)nextafterf(0.1f, 1), 0, 0), 2);
    ck_assert_double_eq(margin(f, (double)nextafterf(0.1f, 0), 0, 0), 1);
    ck_assert_double_eq(margin(f, INFINITY, 0, 0), 2);
    ck_assert_double_eq(margin(f, -INFINITY, 0, 0), 1);
    ck_assert_double_eq(margin(f, NAN, 0, 0), 1); /* AsIs: NaN > b is false */
    tm_forest_info info;
    tm_forest_get_info(f, &info);
    ck_assert_int_eq(info.family, TM_FOREST_CATBOOST);
    ck_assert_str_eq(info.objective, "RMSE");
    ck_assert_str_eq(info.link, "identity");
    ck_assert_int_eq(info.n_classes, 0);
    ck_assert_int_eq(info.n_outputs, 1);
    ck_assert_int_eq(info.n_features, 3);
    ck_assert_int_eq(info.n_trees, 1);
    ck_assert_int_eq(info.max_depth, 1);
    ck_assert(info.oblivious);
    ck_assert_str_eq(tm_forest_feature_name(f, 2), "c");
    ck_assert_int_eq(tm_forest_default_output(f), TM_FOREST_OUT_VALUE);
    tm_forest_free(f);
}
END_TEST

START_TEST(first_split_is_bit_zero)
{
    tm_forest *f = load_text(
            model("RMSE", "", FEATS,
                  "\"oblivious_trees\":[" OBL(SPLIT(0, "0") "," SPLIT(1, "0"), "10,11,12,13") "]"));
    ck_assert_double_eq(margin(f, -1, -1, 0), 10);
    ck_assert_double_eq(margin(f, 1, -1, 0), 11); /* splits[0] is bit 0 */
    ck_assert_double_eq(margin(f, -1, 1, 0), 12);
    ck_assert_double_eq(margin(f, 1, 1, 0), 13);
    tm_forest_free(f);
}
END_TEST

START_TEST(nan_treatment_per_feature)
{
    /* tree t splits feature t at -1e30 and adds 10^t on outcome 1 */
    const char *trees = "\"oblivious_trees\":[" OBL(SPLIT(0, "-1e30"), "0,1") "," OBL(
            SPLIT(1, "-1e30"), "0,10") "," OBL(SPLIT(2, "1e30"), "0,100") "]";
    tm_forest *f = load_text(model("RMSE", "", FEATS, trees));
    ck_assert_double_eq(margin(f, 0, 0, 0), 11);
    ck_assert_double_eq(margin(f, NAN, 0, 0), 10);  /* AsIs: NaN > b false */
    ck_assert_double_eq(margin(f, 0, NAN, 0), 1);   /* AsFalse: below every border */
    ck_assert_double_eq(margin(f, 0, 0, NAN), 111); /* AsTrue: above every border */
    ck_assert_double_eq(margin(f, NAN, NAN, NAN), 100);
    tm_forest_free(f);
    /* the same rules in non-symmetric trees */
    const char *ns = "\"trees\":[" NODE(SPLIT(0, "-1e30"), LEAF("0"), LEAF("1")) "," NODE(
            SPLIT(1, "-1e30"), LEAF("0"), LEAF("10")) "," NODE(SPLIT(2, "1e30"), LEAF("0"),
                                                               LEAF("100")) "]";
    f = load_text(model("RMSE", "", FEATS, ns));
    ck_assert_double_eq(margin(f, 0, 0, 0), 11);
    ck_assert_double_eq(margin(f, NAN, 0, 0), 10);
    ck_assert_double_eq(margin(f, 0, NAN, 0), 1);
    ck_assert_double_eq(margin(f, 0, 0, NAN), 111);
    ck_assert_double_eq(margin(f, NAN, NAN, NAN), 100);
    tm_forest_free(f);
}
END_TEST

START_TEST(nonsymmetric_goes_right_on_outcome_one)
{
    const char *ns = "\"trees\":[" NODE(SPLIT(0, "0.5"), LEAF("1"),
                                        NODE(SPLIT(1, "0"), LEAF("2"), LEAF("3"))) "]";
    tm_forest *f = load_text(model("RMSE", "", FEATS, ns));
    ck_assert_double_eq(margin(f, 0.5, 9, 0), 1); /* equal: left */
    ck_assert_double_eq(margin(f, 0.6, 0, 0), 2);
    ck_assert_double_eq(margin(f, 0.6, 1e-30, 0), 3);
    ck_assert_double_eq(margin(f, INFINITY, INFINITY, 0), 3);
    tm_forest_info info;
    tm_forest_get_info(f, &info);
    ck_assert(!info.oblivious);
    ck_assert_int_eq(info.n_nodes, 5);
    ck_assert_int_eq(info.n_leaves, 3);
    ck_assert_int_eq(info.max_depth, 2);
    tm_forest_free(f);
}
END_TEST

START_TEST(depth_zero_trees_and_empty_forests)
{
    tm_forest *f = load_text(
            model("RMSE", "", FEATS,
                  "\"oblivious_trees\":[" OBL("", "0.25") "],\"scale_and_bias\":[1,[0.5]]"));
    ck_assert_double_eq(margin(f, NAN, NAN, NAN), 0.75);
    tm_forest_free(f);
    f = load_text(model("RMSE", "", FEATS, "\"trees\":[" LEAF("2") "]"));
    ck_assert_double_eq(margin(f, 0, 0, 0), 2);
    tm_forest_free(f);
    f = load_text(model("RMSE", "", FEATS, "\"oblivious_trees\":[],\"scale_and_bias\":[1,[7]]"));
    ck_assert_double_eq(margin(f, 0, 0, 0), 7);
    tm_forest_free(f);
}
END_TEST

/* ---- outputs (formats/catboost §6) ------------------------------------- */

START_TEST(scale_and_bias_apply_after_the_double_sum)
{
    const char *trees = "\"oblivious_trees\":[" OBL("", "0.1") "," OBL("", "0.2") "]";
    char body[512];
    snprintf(body, sizeof body, "%s,\"scale_and_bias\":[0.5,[3]]", trees);
    tm_forest *f = load_text(model("RMSE", "", FEATS, body));
    ck_assert_double_eq(margin(f, 0, 0, 0), 0.5 * (0.1 + 0.2) + 3);
    tm_forest_free(f);
    f = load_text(model("RMSE", "", FEATS, trees)); /* older exports: 1 and 0 */
    ck_assert_double_eq(margin(f, 0, 0, 0), 0.1 + 0.2);
    ck_assert_double_ne(margin(f, 0, 0, 0), (double)(0.1f + 0.2f));
    tm_forest_free(f);
}
END_TEST

START_TEST(multiclass_leaves_are_leaf_major)
{
    tm_forest *f = load_text(model(
            "MultiClass", "\"class_params\":{\"class_names\":[\"sell\",\"hold\",\"buy\"]}", FEATS,
            "\"oblivious_trees\":[" OBL(SPLIT(0, "0"),
                                        "1,2,3,4,5,9") "],"
                                                       "\"scale_and_bias\":[1,[0.5,0,-0.5]]"));
    double m[3], p[3], c;
    predict_row(f, -1, 0, 0, TM_FOREST_OUT_MARGIN, m);
    ck_assert_double_eq(m[0], 1.5);
    ck_assert_double_eq(m[1], 2);
    ck_assert_double_eq(m[2], 2.5);
    predict_row(f, 1, 0, 0, TM_FOREST_OUT_MARGIN, m);
    ck_assert_double_eq(m[0], 4.5);
    ck_assert_double_eq(m[1], 5);
    ck_assert_double_eq(m[2], 8.5);
    predict_row(f, 1, 0, 0, TM_FOREST_OUT_DEFAULT, p);
    double z = exp(4.5) + exp(5) + exp(8.5);
    ck_assert_double_eq_tol(p[0], exp(4.5) / z, 1e-15);
    ck_assert_double_eq_tol(p[2], exp(8.5) / z, 1e-15);
    ck_assert_double_eq_tol(p[0] + p[1] + p[2], 1, 1e-15);
    predict_row(f, 1, 0, 0, TM_FOREST_OUT_CLASS, &c);
    ck_assert_double_eq(c, 2);
    ck_assert_str_eq(tm_forest_class_name(f, 2), "buy");
    tm_forest_info info;
    tm_forest_get_info(f, &info);
    ck_assert_int_eq(info.n_classes, 3);
    ck_assert_int_eq(info.n_outputs, 3);
    ck_assert_str_eq(info.link, "softmax");
    ck_assert_int_eq(tm_forest_default_output(f), TM_FOREST_OUT_PROBABILITY);
    tm_forest_free(f);
    /* no scale_and_bias: D comes from the leaves; labels from class_to_label */
    f = load_text(model("MultiClass",
                        "\"class_params\":{\"class_names\":[],\"class_to_label\":[0,1,2]}", FEATS,
                        "\"trees\":[" NODE(SPLIT(0, "0"), LEAF("[1,2,3]"), LEAF("[4,5,6]")) "]"));
    predict_row(f, 1, 0, 0, TM_FOREST_OUT_MARGIN, m);
    ck_assert_double_eq(m[2], 6);
    ck_assert_int_eq(tm_forest_n_outputs(f), 3);
    ck_assert_str_eq(tm_forest_class_name(f, 1), "1");
    tm_forest_free(f);
}
END_TEST

START_TEST(losses_choose_link_and_default_output)
{
    const char *one = "\"oblivious_trees\":[" OBL(SPLIT(0, "0"), "-0.5,2") "]";
    double v, c;
    tm_forest *f = load_text(
            model("Logloss", "\"class_params\":{\"class_names\":[\"no\",\"yes\"]}", FEATS, one));
    predict_row(f, 1, 0, 0, TM_FOREST_OUT_DEFAULT, &v);
    ck_assert_double_eq_tol(v, 1 / (1 + exp(-2.0)), 1e-15);
    predict_row(f, -1, 0, 0, TM_FOREST_OUT_CLASS, &c);
    ck_assert_double_eq(c, 0); /* raw -0.5 <= 0 */
    predict_row(f, 1, 0, 0, TM_FOREST_OUT_CLASS, &c);
    ck_assert_double_eq(c, 1);
    ck_assert_str_eq(tm_forest_class_name(f, 1), "yes");
    ck_assert_int_eq(tm_forest_default_output(f), TM_FOREST_OUT_PROBABILITY);
    tm_forest_info info;
    tm_forest_get_info(f, &info);
    ck_assert_int_eq(info.n_classes, 2);
    ck_assert_str_eq(info.link, "sigmoid");
    tm_forest_free(f);
    const char *names[] = {"Poisson", "Tweedie", "Quantile", "CrossEntropy"};
    tm_forest_output want[] = {TM_FOREST_OUT_EXPONENT, TM_FOREST_OUT_EXPONENT, TM_FOREST_OUT_VALUE,
                               TM_FOREST_OUT_PROBABILITY};
    for (int i = 0; i < 4; i++) {
        f = load_text(model(names[i], "", FEATS, one));
        ck_assert_int_eq(tm_forest_default_output(f), want[i]);
        predict_row(f, 1, 0, 0, TM_FOREST_OUT_EXPONENT, &v);
        ck_assert_double_eq_tol(v, exp(2.0), 1e-12);
        tm_forest_free(f);
    }
    f = load_text(model("MultiClassOneVsAll", "", FEATS,
                        "\"oblivious_trees\":[" OBL(SPLIT(0, "0"), "0,1,2,3") "]"));
    double p[2];
    predict_row(f, 1, 0, 0, TM_FOREST_OUT_PROBABILITY, p);
    ck_assert_double_eq_tol(p[0], 1 / (1 + exp(-2.0)), 1e-15);
    ck_assert_double_eq_tol(p[1], 1 / (1 + exp(-3.0)), 1e-15);
    tm_forest_free(f);
}
END_TEST

START_TEST(flat_feature_index_maps_input_columns)
{
    /* float features at columns 0 and 2, a categorical one at 1 (unused) */
    const char *feats =
            "\"categorical_features\":[{\"feature_id\":\"city\",\"feature_index\":0,"
            "\"flat_feature_index\":1}],\"float_features\":[{\"borders\":[],\"feature_index\":0,"
            "\"flat_feature_index\":0,\"feature_id\":\"\",\"nan_value_treatment\":\"AsIs\"},"
            "{\"borders\":[],\"feature_index\":1,\"flat_feature_index\":2,"
            "\"feature_id\":\"price\",\"nan_value_treatment\":\"AsIs\"}]";
    tm_forest *f = load_text(
            model("RMSE", "", feats, "\"oblivious_trees\":[" OBL(SPLIT(1, "5"), "1,2") "]"));
    ck_assert_int_eq(tm_forest_n_features(f), 3);
    ck_assert_double_eq(margin(f, 9, 9, 4), 1);
    ck_assert_double_eq(margin(f, -9, -9, 6), 2);        /* float feature 1 is column 2 */
    ck_assert_str_eq(tm_forest_feature_name(f, 0), "0"); /* unnamed: its index */
    ck_assert_str_eq(tm_forest_feature_name(f, 1), "city");
    ck_assert_str_eq(tm_forest_feature_name(f, 2), "price");
    tm_forest_free(f);
}
END_TEST

/* ---- errors ------------------------------------------------------------ */

START_TEST(categorical_and_estimated_features_are_rejected)
{
    const char *cat = "\"categorical_features\":[{\"feature_id\":\"city\",\"feature_index\":0,"
                      "\"flat_feature_index\":3}]," FEATS;
    expect_error(model("Logloss", "", cat,
                       "\"oblivious_trees\":[" OBL(SPLIT(0, "0") ",{\"cat_feature_index\":0,"
                                                                 "\"split_index\":1,\"split_type\":"
                                                                 "\"OneHotFeature\",\"value\":-12}",
                                                   "1,2,3,4") "]"),
                 TM_E_FORMAT,
                 "m.json:1: field 'oblivious_trees[0].splits[1].split_type': model needs "
                 "categorical feature 'city' (column 3) (one-hot/ctr hashing is not supported): "
                 "OneHotFeature split; apply it with catboost");
    char feats[1024];
    snprintf(feats, sizeof feats,
             "%s,\"ctrs\":[{\"elements\":[{\"cat_feature_index\":0,\"combination_element\":"
             "\"cat_feature_value\"}]}]",
             cat);
    expect_error(model("Logloss", "", feats,
                       "\"trees\":[" NODE("{\"border\":0.5,\"ctr_target_border_idx\":0,"
                                          "\"split_index\":7,\"split_type\":\"OnlineCtr\"}",
                                          LEAF("1"), LEAF("2")) "]"),
                 TM_E_FORMAT,
                 "m.json:1: field 'trees[0].node[0].split.split_type': model needs categorical "
                 "feature 'city' (column 3) (one-hot/ctr hashing is not supported): OnlineCtr "
                 "split needs ctr_data; apply it with catboost");
    expect_error(model("Logloss", "",
                       FEATS ",\"text_features\":[{\"feature_id\":\"\","
                             "\"feature_index\":0,\"flat_feature_index\":3}]",
                       "\"oblivious_trees\":[]"),
                 TM_E_FORMAT,
                 "m.json:1: field 'features_info.text_features': model needs text feature at "
                 "column 3 (not supported): apply it with catboost");
    expect_error(model("RMSE", "", FEATS,
                       "\"oblivious_trees\":[" OBL("{\"split_type\":\"TextFeature\"}", "1,2") "]"),
                 TM_E_FORMAT,
                 "m.json:1: field 'oblivious_trees[0].splits[0].split_type': unsupported split "
                 "\"TextFeature\": only splits on features_info.float_features can be applied");
    expect_error(model("RMSE", "", "\"float_features\":[]",
                       "\"oblivious_trees\":[" OBL(SPLIT(0, "0"), "1,2") "]"),
                 TM_E_FORMAT,
                 "m.json:1: field 'oblivious_trees[0].splits[0].split_type': unsupported split "
                 "\"FloatFeature\": only splits on features_info.float_features can be applied");
}
END_TEST

START_TEST(errors_name_field_and_reason)
{
    const char *one = "\"oblivious_trees\":[" OBL(SPLIT(0, "0"), "1,2") "]";
    /* what decides the outputs is never assumed: the NaN rule, the loss */
    expect_error(model("RMSE", "",
                       "\"float_features\":[{\"feature_index\":0,\"flat_feature_index\":0}]", one),
                 TM_E_PARSE,
                 "m.json:1: field 'features_info.float_features[0].nan_value_treatment': missing");
    char *noloss = strdup(model("RMSE", "", FEATS, one));
    memcpy(strstr(noloss, "\"loss_function\""), "\"loss_functioX\"", 15);
    expect_error(noloss, TM_E_PARSE, "m.json:1: field 'model_info.params.loss_function': missing");
    free(noloss);
    expect_error("[1,2]", TM_E_FORMAT,
                 "m.json:1: not a catboost model: no 'oblivious_trees' or 'trees' at the top "
                 "level");
    expect_error("{\"features_info\":{}}", TM_E_FORMAT,
                 "m.json:1: not a catboost model: no 'oblivious_trees' or 'trees' at the top "
                 "level");
    expect_error("{\"oblivious_trees\":[],\"trees\":[]}", TM_E_PARSE,
                 "m.json:1: both 'oblivious_trees' and 'trees' are present");
    expect_error("{\"oblivious_trees\":{}}", TM_E_PARSE,
                 "m.json:1: field 'oblivious_trees': expected an array, found an object");
    expect_error("{\"oblivious_trees\":[]}", TM_E_PARSE,
                 "m.json:1: field 'features_info': missing");
    expect_error(model("RMSE", "", FEATS, "\"oblivious_trees\":[" OBL(SPLIT(0, "0"), "1,2,3") "]"),
                 TM_E_PARSE,
                 "m.json:1: field 'oblivious_trees[0].leaf_values': expected 2^1 leaves x 1 "
                 "outputs (depth at most 30), found 3 values");
    expect_error(model("RMSE", "", FEATS, "\"oblivious_trees\":[" OBL(SPLIT(3, "0"), "1,2") "]"),
                 TM_E_PARSE,
                 "m.json:1: field 'oblivious_trees[0].splits[0].float_feature_index': expected "
                 "an integer in 0..2, found 3");
    expect_error(
            model("RMSE", "", FEATS, "\"oblivious_trees\":[" OBL(SPLIT(0, "\"x\""), "1,2") "]"),
            TM_E_PARSE,
            "m.json:1: field 'oblivious_trees[0].splits[0].border': expected a number, "
            "found \"x\"");
    expect_error(model("RMSE", "", FEATS, "\"oblivious_trees\":[" OBL(SPLIT(0, "0"), "1,null") "]"),
                 TM_E_PARSE,
                 "m.json:1: field 'oblivious_trees[0].leaf_values[1]': expected a number, "
                 "found null");
    expect_error(model("RMSE", "", "\"float_features\":[" FF(0, "a", "Sometimes") "]", one),
                 TM_E_PARSE,
                 "m.json:1: field 'features_info.float_features[0].nan_value_treatment': "
                 "expected \"AsIs\", \"AsFalse\" or \"AsTrue\", found \"Sometimes\"");
    char body[512];
    snprintf(body, sizeof body, "%s,\"scale_and_bias\":[1,[0,0]]", one);
    expect_error(model("RMSE", "", FEATS, body), TM_E_PARSE,
                 "m.json:1: field 'oblivious_trees[0].leaf_values': expected 2^1 leaves x 2 "
                 "outputs (depth at most 30), found 2 values");
    snprintf(body, sizeof body, "%s,\"scale_and_bias\":[1]", one);
    expect_error(model("RMSE", "", FEATS, body), TM_E_PARSE,
                 "m.json:1: field 'scale_and_bias': expected [scale, [bias, ...]] with 1 "
                 "bias(es), as the leaves have");
    expect_error(model("RMSE", "", FEATS, "\"trees\":[" NODE(SPLIT(0, "0"), LEAF("1"), "7") "]"),
                 TM_E_PARSE,
                 "m.json:1: field 'trees[0].node[0].right': expected an object, found 7");
    expect_error(model("RMSE", "", FEATS,
                       "\"trees\":[" NODE(SPLIT(0, "0"), LEAF("1"), "{\"weight\":1}") "]"),
                 TM_E_PARSE, "m.json:1: field 'trees[0].node[2]': missing key 'value' or 'split'");
    expect_error(model("RMSE", "", FEATS,
                       "\"trees\":[" NODE(SPLIT(0, "0"), LEAF("1"), LEAF("[1,2]")) "]"),
                 TM_E_PARSE,
                 "m.json:1: field 'trees[0].node[2].value': expected 1 number(s), found another "
                 "count");
    /* the line of the offending value in a pretty-printed file */
    expect_error("{\n  \"features_info\": {\n    \"float_features\": [\n      {\"feature_index\": "
                 "0,\n       \"flat_feature_index\": -1}]},\n  \"oblivious_trees\": []\n}",
                 TM_E_PARSE,
                 "m.json:5: field 'features_info.float_features[0].flat_feature_index': "
                 "expected an integer in 0..1048575, found -1");
    expect_error("{\"oblivious_trees\":[", TM_E_PARSE, NULL); /* the JSON reader's message */
}
END_TEST

START_TEST(depth_limits_are_enforced)
{
    /* 31 splits: beyond the IR's 2^30 leaves */
    char body[8192] = "\"oblivious_trees\":[{\"leaf_values\":[1],\"splits\":[";
    for (int i = 0; i < 31; i++) {
        strcat(body, i ? "," SPLIT(0, "0") : SPLIT(0, "0"));
    }
    strcat(body, "]}]");
    expect_error(model("RMSE", "", FEATS, body), TM_E_PARSE,
                 "m.json:1: field 'oblivious_trees[0].leaf_values': expected 2^31 leaves x 1 "
                 "outputs (depth at most 30), found 1 values");
    /* non-symmetric nesting deeper than 256 levels */
    static char deep[65536];
    size_t n = 0;
    n += (size_t)snprintf(deep + n, sizeof deep - n, "\"trees\":[");
    for (int i = 0; i < 300; i++) {
        n += (size_t)snprintf(deep + n, sizeof deep - n, "{\"split\":" SPLIT(0, "0") ",\"left\":");
    }
    n += (size_t)snprintf(deep + n, sizeof deep - n, LEAF("1"));
    for (int i = 0; i < 300; i++) {
        n += (size_t)snprintf(deep + n, sizeof deep - n, ",\"right\":" LEAF("2") "}");
    }
    snprintf(deep + n, sizeof deep - n, "]");
    ck_assert_uint_lt(n + 2, sizeof deep);
    expect_error(model("RMSE", "", FEATS, deep), TM_E_RANGE,
                 "m.json:1: field 'trees[0].node[257]': tree deeper than 256 or too large");
}
END_TEST

/* A model exercising every path: oblivious (or not), names, classes. */
static const char *rich_model(bool oblivious)
{
    return model(
            "MultiClass", "\"class_params\":{\"class_names\":[\"x\",\"y\"]}", FEATS,
            oblivious
                    ? "\"oblivious_trees\":[" OBL(
                              SPLIT(0, "0") "," SPLIT(2, "1"),
                              "1,2,3,4,5,6,7,8") "," OBL("", "0,1") "],\"scale_and_bias\":[1,[0,0]]"
                    : "\"trees\":[" NODE(SPLIT(1, "0"), LEAF("[1,2]"),
                                         NODE(SPLIT(2, "0"), LEAF("[3,4]"), LEAF("[5,6]"))) "]");
}

START_TEST(allocation_failure_at_every_step)
{
    for (int kind = 0; kind < 2; kind++) {
        const char *text = rich_model(kind == 0);
        tm_forest_free(load_text(text));
        for (long n = 1;; n++) {
            tm_err err;
            tm_err_init(&err);
            tm_forest *f = NULL;
            tm_alloc_fail_after(n);
            tm_status st = tm_forest_load_mem(text, strlen(text), "m.json", NULL, &f, &err);
            tm_alloc_fail_after(0);
            if (st == TM_OK) {
                ck_assert_int_gt(n, 5);
                tm_forest_free(f);
                break;
            }
            ck_assert_int_eq(st, TM_E_NOMEM);
            ck_assert_ptr_null(f);
            ck_assert_int_lt(n, 10000);
        }
    }
}
END_TEST

/* Loads len bytes copied into an exact-size buffer (no terminator, so ASan
 * sees any overread); success or a clean error are both fine. */
static void load_exact(const char *data, size_t len)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, data, len);
    tm_forest_load_opts opts;
    tm_forest_load_opts_init(&opts);
    opts.format = TM_FOREST_FORMAT_CATBOOST_JSON;
    tm_forest *f = NULL;
    tm_err err;
    tm_err_init(&err);
    tm_status st = tm_forest_load_mem(copy, len, "m.json", &opts, &f, &err);
    if (st == TM_OK) {
        double x[3] = {0.5, NAN, -1}, out[8];
        ck_assert_int_eq(tm_forest_predict(f, x, 1, 3, TM_FOREST_OUT_DEFAULT, 1, out, NULL), TM_OK);
    } else {
        ck_assert_ptr_null(f);
        ck_assert(err.reason[0] != 0);
    }
    tm_forest_free(f);
    free(copy);
}

START_TEST(truncated_and_corrupted_models_never_crash)
{
    static const char junk[] = {'"', '{', '}', '[', ']', ',', ':', '0', '-', 'e', '9', ' '};
    for (int kind = 0; kind < 2; kind++) {
        char text[8192];
        const char *src = rich_model(kind == 0);
        size_t len = strlen(src);
        ck_assert_uint_lt(len, sizeof text);
        memcpy(text, src, len + 1);
        for (size_t cut = 0; cut < len; cut++) {
            load_exact(text, cut);
        }
        for (size_t i = 0; i < len; i++) {
            char saved = text[i];
            text[i] = junk[i % sizeof junk];
            load_exact(text, len);
            text[i] = saved;
        }
    }
}
END_TEST

/* ---- fixtures ---------------------------------------------------------- */

static tm_csv *read_csv(const char *dir, const char *name)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        return NULL;
    }
    fclose(fp);
    tm_csv *csv = NULL;
    tm_err err;
    tm_err_init(&err);
    ck_assert_msg(tm_csv_load(path, &csv, &err) == TM_OK, "%s: %s", path, err.reason);
    return csv;
}

/* What dir/meta.json says of the case: prediction_type, tolerance_abs and
 * requires_categorical. */
static void read_meta(const char *dir, char *type, size_t len, double *tol, bool *needs_cat)
{
    char path[1400];
    size_t n = 0;
    snprintf(path, sizeof path, "%s/meta.json", dir);
    char *text = tm_test_slurp(path, &n);
    ck_assert_ptr_nonnull(text);
    tm_json_doc *doc = NULL;
    ck_assert_int_eq(tm_json_parse(text, n, path, &doc, NULL), TM_OK);
    const tm_json *root = tm_json_root(doc), *v = tm_json_get(root, "prediction_type");
    snprintf(type, len, "%s", v && v->type == TM_JSON_STRING ? v->str : "");
    v = tm_json_get(root, "tolerance_abs");
    *tol = v && v->type == TM_JSON_NUMBER ? v->num : 1e-6;
    v = tm_json_get(root, "requires_categorical");
    *needs_cat = v && v->type == TM_JSON_BOOL && v->boolean;
    tm_json_doc_free(doc);
    free(text);
}

/* Predicts every input row with both predictors; returns the largest
 * |got - expected| and checks each within tol * max(1, |expected|). */
static double compare(const tm_forest *f, const tm_csv *in, const tm_csv *want,
                      tm_forest_output kind, double tol, const char *what)
{
    size_t w = tm_forest_output_len(f, kind), rows = in->n_rows;
    ck_assert_uint_eq(want->n_cols, w);
    ck_assert_uint_eq(want->n_rows, rows);
    ck_assert_uint_ge(in->n_cols, (size_t)tm_forest_n_features(f));
    double *ref = calloc(rows * w + 1, sizeof *ref), *fast = calloc(rows * w + 1, sizeof *fast);
    ck_assert_int_eq(tm_forest_predict_reference(f, in->values, rows, in->n_cols, kind, ref, NULL),
                     TM_OK);
    ck_assert_int_eq(tm_forest_predict(f, in->values, rows, in->n_cols, kind, 2, fast, NULL),
                     TM_OK);
    double worst = 0;
    for (size_t i = 0; i < rows * w; i++) {
        double e = want->values[i], d = fabs(ref[i] - e);
        ck_assert_msg(d <= tol * fmax(1, fabs(e)), "%s value %zu: got %.17g, want %.17g", what, i,
                      ref[i], e);
        ck_assert_msg(ref[i] == fast[i], "%s value %zu: fast %.17g != reference %.17g", what, i,
                      fast[i], ref[i]);
        worst = d > worst ? d : worst;
    }
    free(ref);
    free(fast);
    return worst;
}

START_TEST(fixtures_match_catboost)
{
    if (!tm_test_shared_has("fixtures/catboost", "catboost fixtures")) {
        return;
    }
    char base[1024];
    snprintf(base, sizeof base, "%s/fixtures/catboost", tm_test_shared_dir());
    DIR *d = opendir(base);
    ck_assert_ptr_nonnull(d);
    int n_cases = 0, n_rejected = 0;
    for (struct dirent *e; (e = readdir(d));) {
        char dir[1300], path[1400], type[64];
        snprintf(dir, sizeof dir, "%s/%s", base, e->d_name);
        snprintf(path, sizeof path, "%s/model.cbm.json", dir);
        FILE *fp = fopen(path, "r");
        if (!fp) {
            continue;
        }
        fclose(fp);
        double tol;
        bool needs_cat;
        read_meta(dir, type, sizeof type, &tol, &needs_cat);
        tm_forest *f = NULL;
        tm_err err;
        tm_err_init(&err);
        tm_status st = tm_forest_load(path, NULL, &f, &err);
        if (needs_cat) {
            /* requires_categorical: a clear refusal naming the feature */
            ck_assert_int_eq(st, TM_E_FORMAT);
            ck_assert_msg(strstr(err.reason, "model needs categorical feature"), "%s: %s",
                          e->d_name, err.reason);
            n_rejected++;
            continue;
        }
        ck_assert_msg(st == TM_OK, "%s: %s", e->d_name, err.reason);
        tm_csv *in = read_csv(dir, "input.csv"), *want = read_csv(dir, "expected.csv");
        tm_csv *want_m = read_csv(dir, "expected_margin.csv");
        tm_forest_output kind = strcmp(type, "Probability") == 0 ? TM_FOREST_OUT_PROBABILITY
                                : strcmp(type, "Class") == 0     ? TM_FOREST_OUT_CLASS
                                : strcmp(type, "Exponent") == 0  ? TM_FOREST_OUT_EXPONENT
                                                                 : TM_FOREST_OUT_MARGIN;
        double diff = compare(f, in, want, kind, tol, e->d_name);
        double diff_m = want_m ? compare(f, in, want_m, TM_FOREST_OUT_MARGIN, tol, e->d_name) : 0;
        fprintf(stderr, "catboost %-22s %-13s max |diff| %.3g, margins %.3g\n", e->d_name, type,
                diff, diff_m);
        tm_csv_free(in);
        tm_csv_free(want);
        tm_csv_free(want_m);
        tm_forest_free(f);
        n_cases++;
    }
    closedir(d);
    fprintf(stderr, "catboost: %d cases reproduced, %d categorical cases refused\n", n_cases,
            n_rejected);
    ck_assert_int_ge(n_cases, 1);
}
END_TEST

TM_TEST_SUITE(forest_load_catboost)
{
    Suite *s = suite_create("forest_load_catboost");
    TCase *tc = tcase_create("load_catboost");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, split_is_strict_greater_in_float32);
    tcase_add_test(tc, first_split_is_bit_zero);
    tcase_add_test(tc, nan_treatment_per_feature);
    tcase_add_test(tc, nonsymmetric_goes_right_on_outcome_one);
    tcase_add_test(tc, depth_zero_trees_and_empty_forests);
    tcase_add_test(tc, scale_and_bias_apply_after_the_double_sum);
    tcase_add_test(tc, multiclass_leaves_are_leaf_major);
    tcase_add_test(tc, losses_choose_link_and_default_output);
    tcase_add_test(tc, flat_feature_index_maps_input_columns);
    tcase_add_test(tc, categorical_and_estimated_features_are_rejected);
    tcase_add_test(tc, errors_name_field_and_reason);
    tcase_add_test(tc, depth_limits_are_enforced);
    tcase_add_test(tc, allocation_failure_at_every_step);
    tcase_add_test(tc, truncated_and_corrupted_models_never_crash);
    tcase_add_test(tc, fixtures_match_catboost);
    suite_add_tcase(s, tc);
    return s;
}
