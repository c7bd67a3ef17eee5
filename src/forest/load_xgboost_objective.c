/* XGBoost objectives and what they mean for prediction: the link, the
 * default output and the base-margin rule, shared by the model loader and
 * the dump loader through tm__forest_xgboost_objective (see
 * formats/xgboost.md §4). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "forest/forest_int.h"

typedef enum base_rule {
    BASE_AS_IS, /* identity-link objectives: b itself */
    BASE_LOGIT, /* -log(1/b - 1): 1/b - 1 in float32, log in double */
    BASE_LOG,   /* log(b): log-link objectives */
} base_rule;

/* What the outputs are: one value, a class distribution, or one value per
 * target (multi-target models: num_target > 1). */
typedef enum shape {
    ONE_OR_TARGETS, /* 1 output, or num_target independent outputs */
    BINARY,         /* 1 output (2 classes), or one per target */
    CLASSES,        /* num_class >= 2 outputs */
    ONE_ONLY,       /* exactly 1 output */
    BINARY_ONE,     /* exactly 1 output, 2 classes */
} shape;

/* Every objective XGBoost 1.0 to 3.4 registers (XGBOOST_REGISTER_OBJECTIVE
 * in src/objective) and what it means for prediction (PredTransform and
 * ProbToMargin). Names not here are refused. */
static const struct xgb_objective {
    const char *name;
    tm__link link;
    tm_forest_output output; /* what predict() returns by default */
    base_rule base;
    shape shape;
} objectives[] = {
        {"multi:softprob", TM__LINK_SOFTMAX, TM_FOREST_OUT_PROBABILITY, BASE_AS_IS, CLASSES},
        {"multi:softmax", TM__LINK_SOFTMAX, TM_FOREST_OUT_CLASS, BASE_AS_IS, CLASSES},
        {"binary:logistic", TM__LINK_SIGMOID, TM_FOREST_OUT_PROBABILITY, BASE_LOGIT, BINARY},
        {"reg:logistic", TM__LINK_SIGMOID, TM_FOREST_OUT_PROBABILITY, BASE_LOGIT, ONE_OR_TARGETS},
        {"binary:logitraw", TM__LINK_SIGMOID, TM_FOREST_OUT_MARGIN, BASE_AS_IS, BINARY},
        /* hinge: 1 when the margin is > 0, else 0 (src/objective/hinge.cu) */
        {"binary:hinge", TM__LINK_SIGMOID, TM_FOREST_OUT_CLASS, BASE_AS_IS, BINARY_ONE},
        {"reg:squarederror", TM__LINK_IDENTITY, TM_FOREST_OUT_VALUE, BASE_AS_IS, ONE_OR_TARGETS},
        {"reg:linear", TM__LINK_IDENTITY, TM_FOREST_OUT_VALUE, BASE_AS_IS, ONE_OR_TARGETS},
        {"reg:squaredlogerror", TM__LINK_IDENTITY, TM_FOREST_OUT_VALUE, BASE_AS_IS, ONE_OR_TARGETS},
        {"reg:pseudohubererror", TM__LINK_IDENTITY, TM_FOREST_OUT_VALUE, BASE_AS_IS,
         ONE_OR_TARGETS},
        {"reg:absoluteerror", TM__LINK_IDENTITY, TM_FOREST_OUT_VALUE, BASE_AS_IS, ONE_OR_TARGETS},
        /* several quantile_alpha: one output each (see check_multi) */
        {"reg:quantileerror", TM__LINK_IDENTITY, TM_FOREST_OUT_VALUE, BASE_AS_IS, ONE_OR_TARGETS},
        {"reg:expectileerror", TM__LINK_IDENTITY, TM_FOREST_OUT_VALUE, BASE_AS_IS, ONE_OR_TARGETS},
        {"count:poisson", TM__LINK_EXP, TM_FOREST_OUT_EXPONENT, BASE_LOG, ONE_OR_TARGETS},
        {"reg:gamma", TM__LINK_EXP, TM_FOREST_OUT_EXPONENT, BASE_LOG, ONE_OR_TARGETS},
        {"reg:tweedie", TM__LINK_EXP, TM_FOREST_OUT_EXPONENT, BASE_LOG, ONE_OR_TARGETS},
        {"survival:cox", TM__LINK_EXP, TM_FOREST_OUT_EXPONENT, BASE_LOG, ONE_ONLY},
        {"survival:aft", TM__LINK_EXP, TM_FOREST_OUT_EXPONENT, BASE_LOG, ONE_ONLY},
        /* ranking: the score is the margin */
        {"rank:pairwise", TM__LINK_IDENTITY, TM_FOREST_OUT_VALUE, BASE_AS_IS, ONE_ONLY},
        {"rank:ndcg", TM__LINK_IDENTITY, TM_FOREST_OUT_VALUE, BASE_AS_IS, ONE_ONLY},
        {"rank:map", TM__LINK_IDENTITY, TM_FOREST_OUT_VALUE, BASE_AS_IS, ONE_ONLY},
};

static const struct xgb_objective *find_objective(const char *name)
{
    for (size_t i = 0; i < sizeof objectives / sizeof objectives[0]; i++) {
        if (strcmp(name, objectives[i].name) == 0) {
            return &objectives[i];
        }
    }
    return NULL;
}

/* Objectives that exist but whose predictions this loader cannot
 * reproduce, and why; NULL when o applies to these outputs. */
static const char *unsupported(const char *name, int32_t n_outputs, int version)
{
    if (strcmp(name, "mylogistic") == 0) {
        return "it is the example plugin of the xgboost sources, not part of xgboost releases";
    }
    if (n_outputs > 1 && strcmp(name, "reg:expectileerror") == 0) {
        return "with several expectile_alpha xgboost turns the margins into non-crossing "
               "expectiles (cumulative softplus), which is not supported";
    }
    if (n_outputs > 1 && (version == 0 || version >= 30400) &&
        strcmp(name, "reg:quantileerror") == 0) {
        return "with several quantile_alpha xgboost 3.4 sorts each row's quantiles, which is "
               "not supported";
    }
    return NULL;
}

/* The base margin XGBoost starts from, as float32 (formats/xgboost.md §4). */
static tm_status base_margin(base_rule rule, float b, const char *objective, const char *path,
                             tm_err *err, double *out)
{
    if (!isfinite(b)) {
        return TM_ERR(err, TM_E_PARSE, path, 0, "base_score", "expected a finite number, found %g",
                      (double)b);
    }
    switch (rule) {
    case BASE_AS_IS:
        *out = (double)b;
        return TM_OK;
    case BASE_LOGIT:
        if (!(b > 0.0f && b < 1.0f)) {
            return TM_ERR(err, TM_E_PARSE, path, 0, "base_score",
                          "expected a value in (0, 1) for %s, found %.9g", objective, (double)b);
        }
        *out = (double)(float)-log((double)(1.0f / b - 1.0f));
        return TM_OK;
    case BASE_LOG:
        if (!(b > 0.0f)) {
            return TM_ERR(err, TM_E_PARSE, path, 0, "base_score",
                          "expected a positive value for %s, found %.9g", objective, (double)b);
        }
        *out = (double)(float)log((double)b);
        return TM_OK;
    }
    return TM_ERR(err, TM_E_INTERNAL, path, 0, NULL, "unknown base score rule");
}

tm_status tm__forest_xgboost_objective(tm_forest *f, const char *objective, const float *b,
                                       size_t n_b, int version, const char *path, tm_err *err)
{
    const struct xgb_objective *o = find_objective(objective);
    const char *why = unsupported(objective, f->n_outputs, version);
    if (why) {
        return TM_ERR(err, TM_E_FORMAT, path, 0, "objective", "xgboost objective '%s': %s",
                      objective, why);
    }
    if (!o) {
        return TM_ERR(err, TM_E_FORMAT, path, 0, "objective", "unknown xgboost objective '%s'",
                      objective);
    }
    if (o->shape == CLASSES && f->n_outputs < 2) {
        return TM_ERR(err, TM_E_PARSE, path, 0, "num_class",
                      "%s needs num_class >= 2, found %d outputs", objective, f->n_outputs);
    }
    bool one = o->shape == ONE_ONLY || o->shape == BINARY_ONE;
    if ((one || (o->shape == BINARY && version == 0)) && f->n_outputs != 1) {
        return TM_ERR(err, TM_E_PARSE, path, 0, "num_class", "%s expects one output, found %d",
                      objective, f->n_outputs);
    }
    if (n_b != 1 && n_b != (size_t)f->n_outputs) {
        return TM_ERR(err, TM_E_PARSE, path, 0, "base_score", "expected 1 or %d values, found %zu",
                      f->n_outputs, n_b);
    }
    tm_free(f->objective);
    f->objective = tm_strdup(objective);
    if (!f->objective) {
        return TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory");
    }
    f->family = TM_FOREST_XGBOOST;
    f->cmp = TM__CMP_LT_F32;
    f->sum_f32 = true;
    f->link = o->link;
    /* several targets of a logistic objective: one sigmoid per target */
    if (o->link == TM__LINK_SIGMOID && f->n_outputs > 1) {
        f->link = TM__LINK_OVA_SIGMOID;
    }
    f->default_output = o->output;
    f->n_classes = o->shape == CLASSES ? f->n_outputs
                   : o->shape == BINARY_ONE || (o->shape == BINARY && f->n_outputs == 1) ? 2
                                                                                         : 0;
    /* binary:logitraw kept logit(base_score) as its base margin before 1.6
     * (LogisticRaw inherited ProbToMargin from LogisticRegression) */
    base_rule rule = o->base;
    if (strcmp(objective, "binary:logitraw") == 0 && version > 0 && version < 10600) {
        rule = BASE_LOGIT;
    }
    for (int32_t k = 0; k < f->n_outputs; k++) {
        tm_status st =
                base_margin(rule, b[n_b == 1 ? 0 : k], objective, path, err, &f->base_score[k]);
        if (st != TM_OK) {
            return st;
        }
    }
    return TM_OK;
}
