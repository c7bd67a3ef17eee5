/* Output assembly shared by every predictor: which output DEFAULT means,
 * how many values a row gets, and the link functions (see the formats docs:
 * sigmoid, softmax, one-vs-all sigmoid, exp, identity). */
#include <math.h>

#include "forest/forest_int.h"

tm_forest_output tm__forest_resolve_output(const tm_forest *f, tm_forest_output kind)
{
    return kind == TM_FOREST_OUT_DEFAULT ? f->default_output : kind;
}

tm_forest_output tm_forest_default_output(const tm_forest *f)
{
    return f->default_output;
}

size_t tm_forest_output_len(const tm_forest *f, tm_forest_output kind)
{
    kind = tm__forest_resolve_output(f, kind);
    return kind == TM_FOREST_OUT_CLASS ? 1 : (size_t)f->n_outputs;
}

static double sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

/* XGBoost applies its links in float32 (expf; the softmax sum in double),
 * so its probabilities are float32 values: reproduce them exactly. */
static bool xgboost_link(const tm_forest *f, const double *m, double *out)
{
    int n = f->n_outputs;
    if (f->family != TM_FOREST_XGBOOST) {
        return false;
    }
    if (f->link == TM__LINK_SIGMOID || f->link == TM__LINK_OVA_SIGMOID) {
        for (int k = 0; k < n; k++) {
            out[k] = (double)(1.0f / (1.0f + expf(-(float)m[k])));
        }
        return true;
    }
    if (f->link == TM__LINK_EXP) {
        for (int k = 0; k < n; k++) {
            out[k] = (double)expf((float)m[k]);
        }
        return true;
    }
    if (f->link == TM__LINK_SOFTMAX) {
        float wmax = (float)m[0];
        for (int k = 1; k < n; k++) {
            wmax = fmaxf((float)m[k], wmax);
        }
        double wsum = 0.0;
        for (int k = 0; k < n; k++) {
            float e = expf((float)m[k] - wmax);
            out[k] = (double)e;
            wsum += (double)e;
        }
        for (int k = 0; k < n; k++) {
            out[k] = (double)((float)out[k] / (float)wsum);
        }
        return true;
    }
    return false;
}

static void apply_link(const tm_forest *f, const double *m, double *out)
{
    int n = f->n_outputs;
    if (xgboost_link(f, m, out)) {
        return;
    }
    switch (f->link) {
    case TM__LINK_IDENTITY:
        for (int k = 0; k < n; k++) {
            out[k] = m[k];
        }
        break;
    case TM__LINK_SIGMOID:
    case TM__LINK_OVA_SIGMOID:
        for (int k = 0; k < n; k++) {
            out[k] = sigmoid(f->sigmoid_scale * m[k]);
        }
        break;
    case TM__LINK_EXP:
        for (int k = 0; k < n; k++) {
            out[k] = exp(m[k]);
        }
        break;
    case TM__LINK_SIGNED_SQUARE:
        for (int k = 0; k < n; k++) {
            out[k] = (m[k] > 0.0 ? 1.0 : m[k] < 0.0 ? -1.0 : 0.0) * m[k] * m[k];
        }
        break;
    case TM__LINK_LOG1P_EXP:
        for (int k = 0; k < n; k++) {
            out[k] = log1p(exp(m[k]));
        }
        break;
    case TM__LINK_SOFTMAX: {
        double mx = m[0], sum = 0.0;
        for (int k = 1; k < n; k++) {
            mx = m[k] > mx ? m[k] : mx;
        }
        for (int k = 0; k < n; k++) {
            out[k] = exp(m[k] - mx);
            sum += out[k];
        }
        for (int k = 0; k < n; k++) {
            out[k] /= sum;
        }
        break;
    }
    }
}

void tm__forest_transform(const tm_forest *f, tm_forest_output kind, const double *m, double *out)
{
    int n = f->n_outputs;
    kind = tm__forest_resolve_output(f, kind);
    if (kind == TM_FOREST_OUT_MARGIN) {
        for (int k = 0; k < n; k++) {
            out[k] = m[k];
        }
        return;
    }
    if (kind == TM_FOREST_OUT_CLASS) {
        out[0] = n == 1 ? (m[0] > 0.0 ? 1.0 : 0.0) : (double)tm_argmax(m, (size_t)n, 1);
        return;
    }
    /* Averaging (random forests) applies to everything but raw margins. */
    const double *src = m;
    if (f->average) {
        for (int k = 0; k < n; k++) {
            out[k] = m[k] / (double)f->n_iterations;
        }
        src = out;
    }
    if (kind == TM_FOREST_OUT_EXPONENT) {
        for (int k = 0; k < n; k++) {
            out[k] = f->family == TM_FOREST_XGBOOST ? (double)expf((float)src[k]) : exp(src[k]);
        }
        return;
    }
    /* PROBABILITY and VALUE: the model's link. Links work in place. */
    apply_link(f, src, out);
}
