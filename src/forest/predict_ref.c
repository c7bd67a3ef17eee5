/* The scalar reference predictor: one row and one tree at a time, every
 * family rule spelled out (see formats/xgboost, formats/lightgbm,
 * formats/catboost). It is the oracle the fast paths are tested against,
 * and the fast predictor's fallback for trees it does not compile. */
#include <math.h>

#include "forest/forest_int.h"
#include "forest/predict_int.h"

double tm__forest_input(const tm_forest *f, double x)
{
    if (f->zero_tiny_inputs && fabs(x) <= f->zero_band) {
        return 0.0;
    }
    return x;
}

/* True when category value x is in node nd's set. */
static bool category_in(const tm_forest *f, int32_t nd, double x)
{
    double v;
    if (f->cmp == TM__CMP_LT_F32) {
        /* XGBoost: negative or >= 2^24 is never in the set. */
        float xf = (float)x;
        if (xf < 0.0f || xf >= 16777216.0f) {
            return false;
        }
        v = (double)xf;
    } else {
        /* LightGBM: truncate first, then negative is never in the set. */
        if (x <= -1.0 || x >= 2147483647.0) {
            return false;
        }
        v = x;
    }
    int64_t c = (int64_t)v;
    if (c < 0) {
        return false;
    }
    int64_t word = c / 32;
    if (word >= f->cat_n_words[nd]) {
        return false;
    }
    return (f->cat_bits[f->cat_first[nd] + word] >> (c % 32)) & 1u;
}

bool tm__forest_go_left(const tm_forest *f, int32_t nd, double x)
{
    uint8_t fl = f->flags[nd];
    if (isnan(x)) {
        return fl & TM__NODE_NAN_LEFT;
    }
    if (fl & TM__NODE_CATEGORICAL) {
        bool in = category_in(f, nd, x);
        return (fl & TM__NODE_CAT_IN_LEFT) ? in : !in;
    }
    if ((fl & TM__NODE_ZERO_MISSING) && x == 0.0) {
        return fl & TM__NODE_DEFAULT_LEFT;
    }
    switch (f->cmp) {
    case TM__CMP_LT_F32:
        return (float)x < f->threshold_f[nd];
    case TM__CMP_LE_F32:
        return (float)x <= f->threshold_f[nd];
    case TM__CMP_LE_F64:
        return x <= f->threshold[nd];
    }
    return false;
}

int32_t tm__forest_leaf_of(const tm_forest *f, int32_t t, const double *row)
{
    int32_t nd = f->tree_first[t];
    while (!(f->flags[nd] & TM__NODE_LEAF)) {
        double x = tm__forest_input(f, row[f->feature[nd]]);
        nd = tm__forest_go_left(f, nd, x) ? f->left[nd] : f->right[nd];
    }
    return f->leaf_index[nd];
}

double tm__forest_leaf_value(const tm_forest *f, int32_t leaf, int32_t k, const double *row)
{
    if (f->lin_const) {
        int32_t first = f->lin_first[leaf], n = f->lin_n[leaf];
        double out = f->lin_const[leaf];
        for (int32_t i = 0; i < n; i++) {
            double x = tm__forest_input(f, row[f->lin_feat[first + i]]);
            if (isnan(x)) {
                return f->leaf_values[leaf];
            }
            out += f->lin_coef[first + i] * x;
        }
        return out;
    }
    return f->leaf_values[(size_t)leaf * (size_t)f->leaf_dim + (size_t)k];
}

int32_t tm__forest_oblivious_leaf(const tm_forest *f, int32_t t, const double *row)
{
    int32_t first = f->obl_first[t], depth = f->obl_depth[t];
    int32_t idx = 0;
    for (int32_t i = 0; i < depth; i++) {
        double x = row[f->obl_feature[first + i]];
        bool one = isnan(x) ? f->obl_nan_one[first + i] : (float)x > f->obl_border[first + i];
        idx |= (int32_t)one << i;
    }
    return f->obl_leaf_first[t] + idx;
}

/* Margins of one row, summed as the family does. */
static void row_margins(const tm_forest *f, const double *row, double *m)
{
    int32_t n_out = f->n_outputs;
    bool bias_last = f->family == TM_FOREST_CATBOOST;
    float acc_f[TM__MAX_OUTPUTS];
    double acc[TM__MAX_OUTPUTS];
    for (int32_t k = 0; k < n_out; k++) {
        acc_f[k] = (float)f->base_score[k];
        acc[k] = bias_last ? 0.0 : f->base_score[k];
    }
    for (int32_t t = 0; t < f->n_trees; t++) {
        int32_t leaf =
                f->oblivious ? tm__forest_oblivious_leaf(f, t, row) : tm__forest_leaf_of(f, t, row);
        if (f->leaf_dim == 1) {
            int32_t k = f->tree_output[t];
            double v = tm__forest_leaf_value(f, leaf, 0, row) * f->tree_weight[t];
            if (f->sum_f32) {
                acc_f[k] += (float)v;
            } else {
                acc[k] += v;
            }
            continue;
        }
        for (int32_t k = 0; k < n_out; k++) {
            acc[k] += tm__forest_leaf_value(f, leaf, k, row);
        }
    }
    for (int32_t k = 0; k < n_out; k++) {
        if (f->sum_f32) {
            m[k] = (double)acc_f[k];
        } else if (bias_last) {
            m[k] = f->scale * acc[k] + f->base_score[k];
        } else {
            m[k] = acc[k];
        }
    }
}

tm_status tm_forest_predict_reference(const tm_forest *f, const double *X, size_t n_rows,
                                      size_t stride, tm_forest_output kind, double *out,
                                      tm_err *err)
{
    if (!f || (!X && n_rows) || (!out && n_rows) || stride < (size_t)f->n_features) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, NULL,
                      "predict: bad arguments (stride %zu, model has %d features)", stride,
                      f ? f->n_features : 0);
    }
    size_t width = tm_forest_output_len(f, kind);
    double m[TM__MAX_OUTPUTS];
    for (size_t r = 0; r < n_rows; r++) {
        row_margins(f, X + r * stride, m);
        tm__forest_transform(f, kind, m, out + r * width);
    }
    return TM_OK;
}
