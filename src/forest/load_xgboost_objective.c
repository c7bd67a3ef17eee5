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

/* Objectives and what they mean for prediction (PredTransform and
 * ProbToMargin in XGBoost's src/objective). A name ending in ':' is a prefix. */
static const struct xgb_objective {
    const char *name;
    tm__link link;
    tm_forest_output output; /* what predict() returns by default */
    base_rule base;
    int n_classes; /* 0 regression, 2 binary, -1 num_class (K) */
} objectives[] = {
        {"multi:softprob", TM__LINK_SOFTMAX, TM_FOREST_OUT_PROBABILITY, BASE_AS_IS, -1},
        {"multi:softmax", TM__LINK_SOFTMAX, TM_FOREST_OUT_CLASS, BASE_AS_IS, -1},
        {"binary:logistic", TM__LINK_SIGMOID, TM_FOREST_OUT_PROBABILITY, BASE_LOGIT, 2},
        {"reg:logistic", TM__LINK_SIGMOID, TM_FOREST_OUT_PROBABILITY, BASE_LOGIT, 0},
        {"binary:logitraw", TM__LINK_SIGMOID, TM_FOREST_OUT_MARGIN, BASE_AS_IS, 2},
        {"binary:hinge", TM__LINK_SIGMOID, TM_FOREST_OUT_CLASS, BASE_AS_IS, 2},
        {"reg:squarederror", TM__LINK_IDENTITY, TM_FOREST_OUT_VALUE, BASE_AS_IS, 0},
        {"reg:linear", TM__LINK_IDENTITY, TM_FOREST_OUT_VALUE, BASE_AS_IS, 0},
        {"reg:squaredlogerror", TM__LINK_IDENTITY, TM_FOREST_OUT_VALUE, BASE_AS_IS, 0},
        {"reg:pseudohubererror", TM__LINK_IDENTITY, TM_FOREST_OUT_VALUE, BASE_AS_IS, 0},
        {"reg:absoluteerror", TM__LINK_IDENTITY, TM_FOREST_OUT_VALUE, BASE_AS_IS, 0},
        {"reg:quantileerror", TM__LINK_IDENTITY, TM_FOREST_OUT_VALUE, BASE_AS_IS, 0},
        {"count:poisson", TM__LINK_EXP, TM_FOREST_OUT_EXPONENT, BASE_LOG, 0},
        {"reg:gamma", TM__LINK_EXP, TM_FOREST_OUT_EXPONENT, BASE_LOG, 0},
        {"reg:tweedie", TM__LINK_EXP, TM_FOREST_OUT_EXPONENT, BASE_LOG, 0},
        {"survival:cox", TM__LINK_EXP, TM_FOREST_OUT_EXPONENT, BASE_LOG, 0},
        {"survival:aft", TM__LINK_EXP, TM_FOREST_OUT_EXPONENT, BASE_LOG, 0},
        {"rank:", TM__LINK_IDENTITY, TM_FOREST_OUT_VALUE, BASE_AS_IS, 0},
};

static const struct xgb_objective *find_objective(const char *name)
{
    for (size_t i = 0; i < sizeof objectives / sizeof objectives[0]; i++) {
        const char *o = objectives[i].name;
        size_t n = strlen(o);
        if (o[n - 1] == ':' ? strncmp(name, o, n) == 0 : strcmp(name, o) == 0) {
            return &objectives[i];
        }
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
                                       size_t n_b, const char *path, tm_err *err)
{
    const struct xgb_objective *o = find_objective(objective);
    if (!o) {
        return TM_ERR(err, TM_E_FORMAT, path, 0, "objective", "unsupported xgboost objective '%s'",
                      objective);
    }
    if (o->n_classes < 0 && f->n_outputs < 2) {
        return TM_ERR(err, TM_E_PARSE, path, 0, "num_class",
                      "%s needs num_class >= 2, found %d outputs", objective, f->n_outputs);
    }
    if (o->n_classes == 2 && f->n_outputs != 1) {
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
    f->default_output = o->output;
    f->n_classes = o->n_classes < 0 ? f->n_outputs : o->n_classes;
    for (int32_t k = 0; k < f->n_outputs; k++) {
        tm_status st =
                base_margin(o->base, b[n_b == 1 ? 0 : k], objective, path, err, &f->base_score[k]);
        if (st != TM_OK) {
            return st;
        }
    }
    return TM_OK;
}

