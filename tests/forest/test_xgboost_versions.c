/* XGBoost save_model() files as each version writes them, built by hand
 * from the sources of that version (src/learner.cc, src/gbm/gbtree.cc,
 * src/gbm/gbtree_model.cc, src/tree/tree_model.cc), with values worked out
 * by hand in the comments: the JSON layout changes of 1.0, 1.3, 1.6, 2.0,
 * 2.1, 3.0, 3.3 and 3.4; DART weights wherever a version puts them; every
 * objective of the 3.x list either loaded with its link or refused with a
 * reason; version-dependent meaning (binary:logitraw's base margin before
 * 1.6, several quantiles in 3.4). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbomode/forest.h>

#include "forest/forest_int.h"
#include "tm_test.h"

/* How one version writes a model (only what differs between versions). */
typedef struct vspec {
    const char *name;    /* "1.0" ... for messages */
    const char *version; /* the top-level "version" array, NULL: absent */
    const char *base;    /* learner_model_param.base_score as written */
    bool bool_flags;     /* default_left as true/false (before 1.6), else 0/1 */
    bool cats;           /* split_type and the categories arrays (1.3+) */
    bool num_target;     /* learner_model_param.num_target (1.6+) */
    bool indptr;         /* model.iteration_indptr (2.1+) */
    int dart;            /* 0 plain; 1 "dart" (<= 3.2); 2 gbtree, weights beside
                            model (3.3); 3 weights inside model (3.4) */
} vspec;

/* Tree A: x0 < 0.5 -> leaf 0.25 (left, also for a missing x0), else
 * -0.5. Tree B: a single leaf 0.125. */
static void tree_a(char *buf, size_t len, const vspec *v, int id)
{
    snprintf(buf, len,
             "{\"base_weights\":[0,0.25,-0.5],\"default_left\":[%s],\"id\":%d,"
             "\"left_children\":[1,-1,-1],\"loss_changes\":[1,0,0],"
             "\"parents\":[2147483647,0,0],\"right_children\":[2,-1,-1],"
             "\"split_conditions\":[5E-1,2.5E-1,-5E-1],\"split_indices\":[0,0,0],"
             "\"sum_hessian\":[2,1,1],%s"
             "\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"2\",\"num_nodes\":\"3\","
             "\"size_leaf_vector\":\"%s\"}}",
             v->bool_flags ? "true,false,false" : "1,0,0", id,
             v->cats ? "\"split_type\":[0,0,0],\"categories\":[],\"categories_nodes\":[],"
                       "\"categories_segments\":[],\"categories_sizes\":[],"
                     : "",
             v->cats ? "1" : "0");
}

static void tree_b(char *buf, size_t len, const vspec *v, int id)
{
    snprintf(buf, len,
             "{\"base_weights\":[0.125],\"default_left\":[%s],\"id\":%d,\"left_children\":[-1],"
             "\"loss_changes\":[0],\"parents\":[2147483647],\"right_children\":[-1],"
             "\"split_conditions\":[1.25E-1],\"split_indices\":[0],\"sum_hessian\":[1],%s"
             "\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"2\",\"num_nodes\":\"1\","
             "\"size_leaf_vector\":\"0\"}}",
             v->bool_flags ? "false" : "0", id,
             v->cats ? "\"split_type\":[0],\"categories\":[],\"categories_nodes\":[],"
                       "\"categories_segments\":[],\"categories_sizes\":[],"
                     : "");
}

/* A whole model: trees (pattern of 'A'/'B', one per tree) with tree_info,
 * the objective, num_class, and DART weights (NULL: none). */
static char *model(const vspec *v, const char *objective, const char *objective_extra,
                   int num_class, const char *pattern, const char *tree_info, const char *weights)
{
    static char out[32768];
    char trees[16384] = "", one[2048], mdl[20000], gb[24000], wd[256] = "";
    size_t n = strlen(pattern);
    for (size_t i = 0; i < n; i++) {
        (pattern[i] == 'A' ? tree_a : tree_b)(one, sizeof one, v, (int)i);
        strcat(trees, i ? "," : "");
        strcat(trees, one);
    }
    if (weights) {
        snprintf(wd, sizeof wd, "\"weight_drop\":[%s]", weights);
    }
    char ip[64] = ""; /* iteration_indptr: cumulative trees per round, all in one here */
    if (v->indptr) {
        snprintf(ip, sizeof ip, "\"iteration_indptr\":[0,%zu],", n);
    }
    snprintf(mdl, sizeof mdl,
             "{\"gbtree_model_param\":{\"num_parallel_tree\":\"1\",\"num_trees\":\"%zu\"},"
             "%s\"tree_info\":[%s],\"trees\":[%s]%s%s}",
             n, ip, tree_info, trees, v->dart == 3 && weights ? "," : "",
             v->dart == 3 && weights ? wd : "");
    if (v->dart == 1) {
        snprintf(gb, sizeof gb,
                 "{\"name\":\"dart\",\"gbtree\":{\"name\":\"gbtree\",\"model\":%s},%s}", mdl,
                 weights ? wd : "\"weight_drop\":[]");
    } else if (v->dart == 2 && weights) {
        snprintf(gb, sizeof gb, "{\"name\":\"gbtree\",\"model\":%s,%s}", mdl, wd);
    } else {
        snprintf(gb, sizeof gb, "{\"name\":\"gbtree\",\"model\":%s}", mdl);
    }
    char nt[64] = "";
    if (v->num_target) {
        snprintf(nt, sizeof nt, ",\"num_target\":\"1\"");
    }
    snprintf(out, sizeof out,
             "{\"learner\":{\"attributes\":{},\"feature_names\":[],\"feature_types\":[],"
             "\"gradient_booster\":%s,\"learner_model_param\":{\"base_score\":\"%s\","
             "\"num_class\":\"%d\",\"num_feature\":\"2\"%s},"
             "\"objective\":{\"name\":\"%s\"%s}}%s%s}",
             gb, v->base, num_class, nt, objective, objective_extra ? objective_extra : "",
             v->version ? ",\"version\":" : "", v->version ? v->version : "");
    return out;
}

static tm_forest *load_ok(const char *text, const char *what)
{
    tm_forest *f = NULL;
    tm_err err;
    tm_err_init(&err);
    char msg[1024];
    tm_status st = tm_forest_load_mem(text, strlen(text), "v.json", NULL, &f, &err);
    ck_assert_msg(st == TM_OK, "%s: %s", what, tm_err_format(&err, msg, sizeof msg));
    return f;
}

static const char *load_fail(const char *text, tm_status want)
{
    static char msg[1024];
    tm_forest *f = NULL;
    tm_err err;
    tm_err_init(&err);
    tm_status st = tm_forest_load_mem(text, strlen(text), "v.json", NULL, &f, &err);
    ck_assert_msg(st == want, "expected %s, got %s (%s)", tm_status_name(want), tm_status_name(st),
                  err.reason);
    ck_assert_ptr_null(f);
    return tm_err_format(&err, msg, sizeof msg);
}

/* Outputs of kind for rows x0 = 0.2, 0.7 and missing (x1 unused) through
 * both predictors, which must agree bit for bit. */
static void predict3(const tm_forest *f, tm_forest_output kind, double *out)
{
    double X[6] = {0.2, 0.0, 0.7, 0.0, NAN, 0.0};
    size_t w = tm_forest_output_len(f, kind);
    double ref[64];
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_le(3 * w, 64);
    ck_assert_int_eq(tm_forest_predict(f, X, 3, 2, kind, 1, out, &err), TM_OK);
    ck_assert_int_eq(tm_forest_predict_reference(f, X, 3, 2, kind, ref, &err), TM_OK);
    ck_assert_msg(memcmp(out, ref, 3 * w * sizeof *out) == 0, "fast and reference differ");
}

static const vspec VERSIONS[] = {
        /* 1.0: no categories; default_left as booleans; scalar base_score */
        {"1.0", "[1,0,0]", "5E-1", true, false, false, false, 0},
        /* 1.3: split_type and category arrays appear (still booleans) */
        {"1.3", "[1,3,0]", "5E-1", true, true, false, false, 0},
        /* 1.6: typed arrays: default_left as 0/1; num_target */
        {"1.6", "[1,6,0]", "5E-1", false, true, true, false, 0},
        /* 2.0: same layout; base_score estimated (here written as 0.5) */
        {"2.0", "[2,0,0]", "5E-1", false, true, true, false, 0},
        /* 2.1: base_score as a vector string; iteration_indptr */
        {"2.1", "[2,1,0]", "[5E-1]", false, true, true, true, 0},
        {"3.0", "[3,0,0]", "[5E-1]", false, true, true, true, 0},
        /* no version at all: the newest rules */
        {"none", NULL, "[5E-1]", false, true, true, true, 0},
};

/* Every version's plain model: binary:logistic, base 0.5 (margin 0), trees
 * A and B: x0 = 0.2 -> 0.25 + 0.125 = 0.375; x0 = 0.7 -> -0.5 + 0.125 =
 * -0.375; missing -> left -> 0.375. */
START_TEST(xgb_versions_plain_layout)
{
    for (size_t i = 0; i < sizeof VERSIONS / sizeof VERSIONS[0]; i++) {
        const vspec *v = &VERSIONS[i];
        tm_forest *f = load_ok(model(v, "binary:logistic", NULL, 0, "AB", "0,0", NULL), v->name);
        double m[3], p[3];
        predict3(f, TM_FOREST_OUT_MARGIN, m);
        ck_assert_msg(m[0] == 0.375 && m[1] == -0.375 && m[2] == 0.375, "%s: %g %g %g", v->name,
                      m[0], m[1], m[2]);
        predict3(f, TM_FOREST_OUT_PROBABILITY, p);
        ck_assert_msg(fabs(p[0] - 1.0 / (1.0 + exp(-0.375))) < 1e-7, "%s", v->name);
        ck_assert_msg(fabs(p[1] - 1.0 / (1.0 + exp(0.375))) < 1e-7, "%s", v->name);
        tm_forest_free(f);
    }
}
END_TEST

/* DART weights in each version's place: weights 0.5 (tree A) and 2 (tree
 * B): x0 = 0.2 -> 0.25*0.5 + 0.125*2 = 0.375; x0 = 0.7 -> -0.25 + 0.25 =
 * 0. Without the weights it would be 0.375 and -0.375. */
START_TEST(xgb_versions_dart_weights)
{
    static const vspec darts[] = {
            {"1.7 dart", "[1,7,4]", "5E-1", false, true, true, false, 1},
            {"3.2 dart", "[3,2,0]", "[5E-1]", false, true, true, true, 1},
            {"3.3 gbtree", "[3,3,0]", "[5E-1]", false, true, true, true, 2},
            {"3.4 gbtree", "[3,4,0]", "[5E-1]", false, true, true, true, 3},
    };
    for (size_t i = 0; i < sizeof darts / sizeof darts[0]; i++) {
        const vspec *v = &darts[i];
        tm_forest *f =
                load_ok(model(v, "reg:squarederror", NULL, 0, "AB", "0,0", "5E-1,2E0"), v->name);
        double m[3];
        predict3(f, TM_FOREST_OUT_MARGIN, m);
        /* base 0.5 is added to the weighted trees */
        ck_assert_msg(m[0] == 0.875 && m[1] == 0.5 && m[2] == 0.875, "%s: %g %g %g", v->name, m[0],
                      m[1], m[2]);
        tm_forest_free(f);
        /* empty weights: every weight is 1 */
        f = load_ok(model(v, "reg:squarederror", NULL, 0, "AB", "0,0", ""), v->name);
        predict3(f, TM_FOREST_OUT_MARGIN, m);
        ck_assert_msg(m[0] == 0.875 && m[1] == 0.125, "%s: %g %g", v->name, m[0], m[1]);
        tm_forest_free(f);
    }
}
END_TEST

/* The objectives the issue names, as DART models of 3.3 and 3.4, must
 * apply the weights before the link. Margin rows as above with weights
 * 0.5 and 2: 0.375, 0, 0.375 on top of the base margin. */
START_TEST(xgb_versions_dart_objectives)
{
    static const vspec darts[] = {
            {"3.3", "[3,3,0]", "[5E-1]", false, true, true, true, 2},
            {"3.4", "[3,4,0]", "[1E0]", false, true, true, true, 3},
    };
    for (size_t i = 0; i < 2; i++) {
        const vspec *v = &darts[i];
        bool one = i == 1; /* base 1: log-link margin 0, hinge/logistic differ */
        struct {
            const char *objective;
            tm_forest_output kind;
            double want[3];
        } cases[] = {
                /* Poisson/Gamma/Tweedie: exp(log(b) + margin) */
                {"count:poisson",
                 TM_FOREST_OUT_VALUE,
                 {one ? exp(0.375) : 0.5 * exp(0.375), one ? 1.0 : 0.5,
                  one ? exp(0.375) : 0.5 * exp(0.375)}},
                {"reg:gamma",
                 TM_FOREST_OUT_VALUE,
                 {one ? exp(0.375) : 0.5 * exp(0.375), one ? 1.0 : 0.5,
                  one ? exp(0.375) : 0.5 * exp(0.375)}},
                {"reg:tweedie",
                 TM_FOREST_OUT_VALUE,
                 {one ? exp(0.375) : 0.5 * exp(0.375), one ? 1.0 : 0.5,
                  one ? exp(0.375) : 0.5 * exp(0.375)}},
                /* hinge: base as is; 1 when the margin > 0 */
                {"binary:hinge", TM_FOREST_OUT_VALUE, {1.0, 1.0, 1.0}},
        };
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            tm_forest *f = load_ok(model(v, cases[c].objective, NULL, 0, "AB", "0,0", "5E-1,2E0"),
                                   cases[c].objective);
            double out[3];
            predict3(f, TM_FOREST_OUT_DEFAULT, out);
            for (int r = 0; r < 3; r++) {
                ck_assert_msg(fabs(out[r] - cases[c].want[r]) <= 1e-6 * fabs(cases[c].want[r]),
                              "%s %s row %d: %.9g, want %.9g", v->name, cases[c].objective, r,
                              out[r], cases[c].want[r]);
            }
            tm_forest_free(f);
        }
        /* binary:logistic, base 0.5 (margin 0): sigmoid of 0.375, 0, 0.375 */
        if (!one) {
            tm_forest *f = load_ok(model(v, "binary:logistic", NULL, 0, "AB", "0,0", "5E-1,2E0"),
                                   "binary:logistic");
            double p[3];
            predict3(f, TM_FOREST_OUT_PROBABILITY, p);
            ck_assert(fabs(p[0] - 1.0 / (1.0 + exp(-0.375))) < 1e-7);
            ck_assert(p[1] == 0.5);
            tm_forest_free(f);
        }
        /* multi:softprob, 3 classes, trees A (class 0), B (class 1), A (class
         * 2), weights 0.5, 2, 1: x0 = 0.2 -> margins 0.125+0.5, 0.25+0.5,
         * 0.25+0.5 (base 0.5 per class in 3.3; 1 in 3.4) */
        tm_forest *f = load_ok(model(v, "multi:softprob", NULL, 3, "ABA", "0,1,2", "5E-1,2E0,1E0"),
                               "multi:softprob");
        double m[9];
        predict3(f, TM_FOREST_OUT_MARGIN, m);
        double b = one ? 1.0 : 0.5;
        ck_assert_msg(m[0] == b + 0.125 && m[1] == b + 0.25 && m[2] == b + 0.25,
                      "%s softprob %g %g %g", v->name, m[0], m[1], m[2]);
        /* x0 = 0.7: -0.25, 0.25, -0.5 */
        ck_assert(m[3] == b - 0.25 && m[4] == b + 0.25 && m[5] == b - 0.5);
        double p[9];
        predict3(f, TM_FOREST_OUT_PROBABILITY, p);
        double e0 = exp(-0.125), sum = e0 + 2.0;
        ck_assert(fabs(p[0] - e0 / sum) < 1e-7 && fabs(p[1] - 1.0 / sum) < 1e-7);
        tm_forest_free(f);
    }
}
END_TEST

/* Weights in the wrong number, or in both places, are refused. */
START_TEST(xgb_versions_dart_refusals)
{
    vspec v34 = {"3.4", "[3,4,0]", "[5E-1]", false, true, true, true, 3};
    ck_assert_str_eq(
            load_fail(model(&v34, "reg:squarederror", NULL, 0, "AB", "0,0", "5E-1"), TM_E_PARSE),
            "v.json:1: field 'learner.gradient_booster.model.weight_drop': expected 2 "
            "weights (one per tree), found 1");
    vspec v33 = {"3.3", "[3,3,0]", "[5E-1]", false, true, true, true, 2};
    ck_assert_str_eq(
            load_fail(model(&v33, "reg:squarederror", NULL, 0, "AB", "0,0", "1,\"x\""), TM_E_PARSE),
            "v.json:1: field 'learner.gradient_booster.weight_drop[1]': expected a "
            "number, found \"x\"");
    /* both places: insert a model-level copy into a 3.3 file */
    char *text = model(&v33, "reg:squarederror", NULL, 0, "AB", "0,0", "5E-1,2E0");
    char both[40000];
    char *at = strstr(text, "\"tree_info\"");
    snprintf(both, sizeof both, "%.*s\"weight_drop\":[1,1],%s", (int)(at - text), text, at);
    ck_assert_str_eq(load_fail(both, TM_E_PARSE),
                     "v.json:1: field 'learner.gradient_booster.model.weight_drop': tree weights "
                     "found both here and in learner.gradient_booster.weight_drop; no xgboost "
                     "version writes both");
}
END_TEST

/* The 3.x objective list: each loads with its link and default output, or
 * is refused naming the reason. Margins 0.375 / -0.375 on base 0.5. */
START_TEST(xgb_versions_objective_list)
{
    const vspec *v = &VERSIONS[5]; /* 3.0 */
    static const char *const identity[] = {
            "reg:squarederror",  "reg:linear",        "reg:squaredlogerror", "reg:pseudohubererror",
            "reg:absoluteerror", "reg:quantileerror", "reg:expectileerror",  "rank:pairwise",
            "rank:ndcg",         "rank:map",
    };
    for (size_t i = 0; i < sizeof identity / sizeof identity[0]; i++) {
        tm_forest *f = load_ok(model(v, identity[i], NULL, 0, "AB", "0,0", NULL), identity[i]);
        double out[3];
        predict3(f, TM_FOREST_OUT_DEFAULT, out);
        ck_assert_msg(out[0] == 0.875 && out[1] == 0.125, "%s: %g %g", identity[i], out[0], out[1]);
        tm_forest_free(f);
    }
    /* log link, base 0.5: exp(log 0.5 + 0.375) */
    static const char *const logs[] = {"count:poisson", "reg:gamma", "reg:tweedie", "survival:cox",
                                       "survival:aft"};
    for (size_t i = 0; i < sizeof logs / sizeof logs[0]; i++) {
        tm_forest *f = load_ok(model(v, logs[i], NULL, 0, "AB", "0,0", NULL), logs[i]);
        double out[3];
        predict3(f, TM_FOREST_OUT_DEFAULT, out);
        ck_assert_msg(fabs(out[0] - 0.5 * exp(0.375)) < 1e-6, "%s: %g", logs[i], out[0]);
        tm_forest_free(f);
    }
    /* logistic family, base 0.5 */
    tm_forest *f = load_ok(model(v, "reg:logistic", NULL, 0, "AB", "0,0", NULL), "reg:logistic");
    double out[3];
    predict3(f, TM_FOREST_OUT_DEFAULT, out);
    ck_assert(fabs(out[1] - 1.0 / (1.0 + exp(0.375))) < 1e-7);
    tm_forest_free(f);
    f = load_ok(model(v, "binary:logitraw", NULL, 0, "AB", "0,0", NULL), "binary:logitraw");
    predict3(f, TM_FOREST_OUT_DEFAULT, out); /* raw margin, base as is */
    ck_assert(out[0] == 0.875 && out[1] == 0.125);
    tm_forest_free(f);
    f = load_ok(model(v, "binary:hinge", NULL, 0, "AB", "0,0", NULL), "binary:hinge");
    predict3(f, TM_FOREST_OUT_DEFAULT, out); /* margins 0.875, 0.125: both > 0 */
    ck_assert(out[0] == 1.0 && out[1] == 1.0);
    tm_forest_free(f);

    ck_assert_str_eq(
            load_fail(model(v, "rank:ndcg_bogus", NULL, 0, "AB", "0,0", NULL), TM_E_FORMAT),
            "v.json: field 'objective': unknown xgboost objective 'rank:ndcg_bogus'");
    ck_assert_str_eq(load_fail(model(v, "mylogistic", NULL, 0, "AB", "0,0", NULL), TM_E_FORMAT),
                     "v.json: field 'objective': xgboost objective 'mylogistic': it is the "
                     "example plugin of the xgboost sources, not part of xgboost releases");
    ck_assert_str_eq(load_fail(model(v, "survival:cox", NULL, 2, "AB", "0,1", NULL), TM_E_PARSE),
                     "v.json: field 'num_class': survival:cox expects one output, found 2");
}
END_TEST

/* Replaces the first "num_target":"1" (and num_class) of text by n targets. */
static char *with_targets(const char *text, int n)
{
    static char out[40000];
    const char *at = strstr(text, "\"num_target\":\"1\"");
    ck_assert_ptr_nonnull(at);
    snprintf(out, sizeof out, "%.*s\"num_target\":\"%d\"%s", (int)(at - text), text, n,
             at + strlen("\"num_target\":\"1\""));
    return out;
}

/* Several targets: one output per target, tree_info = target. */
START_TEST(xgb_versions_multi_target)
{
    const vspec v30 = VERSIONS[5];
    /* binary:logistic with 2 targets: tree A -> target 0, tree B -> target
     * 1: one sigmoid each: x0 = 0.2 -> sigmoid(0.25), sigmoid(0.125) */
    tm_forest *f =
            load_ok(with_targets(model(&v30, "binary:logistic", NULL, 0, "AB", "0,1", NULL), 2),
                    "multi-target logistic");
    ck_assert_int_eq(f->n_outputs, 2);
    double p[6];
    predict3(f, TM_FOREST_OUT_DEFAULT, p);
    ck_assert(fabs(p[0] - 1.0 / (1.0 + exp(-0.25))) < 1e-7);
    ck_assert(fabs(p[1] - 1.0 / (1.0 + exp(-0.125))) < 1e-7);
    ck_assert(fabs(p[2] - 1.0 / (1.0 + exp(0.5))) < 1e-7); /* x0 = 0.7: -0.5 */
    tm_forest_free(f);
    /* two quantiles before 3.4: identity per quantile */
    f = load_ok(with_targets(model(&v30, "reg:quantileerror", NULL, 0, "AB", "0,1", NULL), 2),
                "quantiles 3.0");
    double q[6];
    predict3(f, TM_FOREST_OUT_DEFAULT, q);
    ck_assert(q[0] == 0.75 && q[1] == 0.625 && q[2] == 0.0 && q[3] == 0.625);
    tm_forest_free(f);
    /* 3.4 sorts each row's quantiles; several expectiles use a cumulative
     * softplus: both refused */
    vspec v34 = v30;
    v34.version = "[3,4,0]";
    ck_assert_str_eq(
            load_fail(with_targets(model(&v34, "reg:quantileerror", NULL, 0, "AB", "0,1", NULL), 2),
                      TM_E_FORMAT),
            "v.json: field 'objective': xgboost objective 'reg:quantileerror': with several "
            "quantile_alpha xgboost 3.4 sorts each row's quantiles, which is not supported");
    ck_assert_str_eq(
            load_fail(
                    with_targets(model(&v30, "reg:expectileerror", NULL, 0, "AB", "0,1", NULL), 2),
                    TM_E_FORMAT),
            "v.json: field 'objective': xgboost objective 'reg:expectileerror': with several "
            "expectile_alpha xgboost turns the margins into non-crossing expectiles (cumulative "
            "softplus), which is not supported");
}
END_TEST

/* binary:logitraw: before 1.6 the base margin was logit(base_score)
 * (LogisticRaw inherited ProbToMargin); from 1.6 on it is base_score. With
 * base 0.5: margin 0 (1.0 - 1.5) against 0.5 (1.6+). */
START_TEST(xgb_versions_logitraw_base)
{
    vspec v15 = {"1.5", "[1,5,1]", "5E-1", true, true, false, false, 0};
    vspec v16 = {"1.6", "[1,6,0]", "5E-1", false, true, true, false, 0};
    tm_forest *f = load_ok(model(&v15, "binary:logitraw", NULL, 0, "AB", "0,0", NULL), "1.5");
    double m[3];
    predict3(f, TM_FOREST_OUT_MARGIN, m);
    ck_assert(m[0] == 0.375 && m[1] == -0.375);
    tm_forest_free(f);
    f = load_ok(model(&v16, "binary:logitraw", NULL, 0, "AB", "0,0", NULL), "1.6");
    predict3(f, TM_FOREST_OUT_MARGIN, m);
    ck_assert(m[0] == 0.875 && m[1] == 0.125);
    tm_forest_free(f);
}
END_TEST

TM_TEST_SUITE(forest_xgboost_versions)
{
    Suite *s = suite_create("forest_xgboost_versions");
    TCase *tc = tcase_create("versions");
    tcase_add_test(tc, xgb_versions_plain_layout);
    tcase_add_test(tc, xgb_versions_dart_weights);
    tcase_add_test(tc, xgb_versions_dart_objectives);
    tcase_add_test(tc, xgb_versions_dart_refusals);
    tcase_add_test(tc, xgb_versions_objective_list);
    tcase_add_test(tc, xgb_versions_multi_target);
    tcase_add_test(tc, xgb_versions_logitraw_base);
    suite_add_tcase(s, tc);
    return s;
}
