/* The CatBoost JSON writer, oblivious trees only (see formats/catboost):
 * float_features with ascending borders and one nan_value_treatment per
 * feature, oblivious_trees whose first split is bit 0 of the leaf index
 * ("float32(x) > border" is 1), leaf values leaf-major with one value per
 * output (a one-output tree gets zeros for the others, which leaves every
 * double sum unchanged), and scale_and_bias. Text through core's JSON
 * writer: names escaped by its one escaper, a NaN or infinity refused
 * (JSON has none). */
#include <stdlib.h>
#include <string.h>

#include "forest/forest_int.h"

typedef struct border {
    int32_t feature;
    float b;
} border;

static int cmp_border(const void *pa, const void *pb)
{
    const border *a = pa, *b = pb;
    if (a->feature != b->feature) {
        return a->feature < b->feature ? -1 : 1;
    }
    return (a->b > b->b) - (a->b < b->b);
}

/* Index of (feature, b) in the sorted unique list u[0..n). */
static int32_t split_index(const border *u, int32_t n, int32_t feature, float b)
{
    border key = {feature, b};
    const border *hit = bsearch(&key, u, (size_t)n, sizeof *u, cmp_border);
    return hit ? (int32_t)(hit - u) : -1;
}

static const char *loss_name(const tm_forest *f)
{
    switch (f->link) {
    case TM__LINK_SOFTMAX:
        return "MultiClass";
    case TM__LINK_SIGMOID:
        return f->n_outputs == 1 && f->sigmoid_scale == 1.0 ? "Logloss" : NULL;
    case TM__LINK_IDENTITY:
        return f->n_outputs == 1 ? "RMSE" : NULL;
    case TM__LINK_EXP:
        return f->n_outputs == 1 ? "Poisson" : NULL;
    default:
        return NULL;
    }
}

/* Per feature: -1 no split, else the nan outcome all its splits share;
 * -2 when they disagree. */
static int32_t feature_nan(const tm_forest *f, int8_t *nan)
{
    for (int32_t j = 0; j < f->n_features; j++) {
        nan[j] = -1;
    }
    for (int32_t s = 0; s < f->n_obl_splits; s++) {
        int32_t j = f->obl_feature[s];
        int8_t v = (int8_t)(f->obl_nan_one[s] != 0);
        if (nan[j] == -1) {
            nan[j] = v;
        } else if (nan[j] != v) {
            return j;
        }
    }
    return -1;
}

static void put_features(tm_jw *jw, const tm_forest *f, const border *u, int32_t nu,
                         const int8_t *nan)
{
    tm_jw_key(jw, "features_info");
    tm_jw_object(jw);
    tm_jw_key(jw, "float_features");
    tm_jw_array(jw);
    int32_t i = 0;
    for (int32_t j = 0; j < f->n_features; j++) {
        tm_jw_object(jw);
        tm_jw_key(jw, "borders");
        tm_jw_array(jw);
        for (; i < nu && u[i].feature == j; i++) {
            tm_jw_double(jw, (double)u[i].b);
        }
        tm_jw_array_end(jw);
        tm_jw_key(jw, "feature_id");
        tm_jw_string(jw, f->feature_names ? f->feature_names[j] : "");
        tm_jw_key(jw, "feature_index");
        tm_jw_int(jw, j);
        tm_jw_key(jw, "flat_feature_index");
        tm_jw_int(jw, j);
        tm_jw_key(jw, "has_nans");
        tm_jw_bool(jw, nan[j] >= 0);
        tm_jw_key(jw, "nan_value_treatment");
        tm_jw_string(jw, nan[j] < 0 ? "AsIs" : nan[j] ? "AsTrue" : "AsFalse");
        tm_jw_object_end(jw);
    }
    tm_jw_array_end(jw);
    tm_jw_object_end(jw);
}

/* key: [0, 1, ..., k-1] */
static void put_classes(tm_jw *jw, const char *key, int k)
{
    tm_jw_key(jw, key);
    tm_jw_array(jw);
    for (int c = 0; c < k; c++) {
        tm_jw_int(jw, c);
    }
    tm_jw_array_end(jw);
}

static void put_info(tm_jw *jw, const tm_forest *f, const char *loss)
{
    tm_jw_key(jw, "model_info");
    tm_jw_object(jw);
    tm_jw_key(jw, "params");
    tm_jw_object(jw);
    tm_jw_key(jw, "loss_function");
    tm_jw_object(jw);
    tm_jw_key(jw, "params");
    tm_jw_object(jw);
    tm_jw_object_end(jw);
    tm_jw_key(jw, "type");
    tm_jw_string(jw, loss);
    tm_jw_object_end(jw);
    tm_jw_key(jw, "tree_learner_options");
    tm_jw_object(jw);
    tm_jw_key(jw, "depth");
    tm_jw_int(jw, f->max_depth);
    tm_jw_key(jw, "grow_policy");
    tm_jw_string(jw, "SymmetricTree");
    tm_jw_object_end(jw);
    tm_jw_object_end(jw); /* params */
    int k = f->link == TM__LINK_SOFTMAX ? f->n_outputs : (f->link == TM__LINK_SIGMOID ? 2 : 0);
    if (k > 0) {
        tm_jw_key(jw, "class_params");
        tm_jw_object(jw);
        tm_jw_key(jw, "class_label_type");
        tm_jw_string(jw, "Integer");
        put_classes(jw, "class_names", k);
        put_classes(jw, "class_to_label", k);
        tm_jw_key(jw, "classes_count");
        tm_jw_int(jw, k > 2 ? k : 0);
        tm_jw_object_end(jw);
    }
    tm_jw_object_end(jw);
}

static void put_tree(tm_jw *jw, const tm_forest *f, int32_t t, const border *u, int32_t nu,
                     bool fold)
{
    int32_t D = f->n_outputs, d = f->obl_depth[t], first = f->obl_first[t];
    tm_jw_object(jw);
    tm_jw_key(jw, "leaf_values");
    tm_jw_array(jw);
    for (int32_t l = 0; l < ((int32_t)1 << d); l++) {
        size_t leaf = (size_t)(f->obl_leaf_first[t] + l);
        for (int32_t k = 0; k < D; k++) {
            double v;
            if (f->leaf_dim == D) {
                v = f->leaf_values[leaf * (size_t)D + (size_t)k];
            } else {
                v = f->tree_output[t] == k ? f->leaf_values[leaf] : 0.0;
            }
            if (fold && t < D && f->tree_output[t] == k) {
                v += f->base_score[k];
            }
            tm_jw_double(jw, v);
        }
    }
    tm_jw_array_end(jw);
    tm_jw_key(jw, "leaf_weights");
    tm_jw_array(jw);
    for (int32_t l = 0; l < ((int32_t)1 << d); l++) {
        tm_jw_int(jw, 0);
    }
    tm_jw_array_end(jw);
    tm_jw_key(jw, "splits");
    tm_jw_array(jw);
    for (int32_t i = 0; i < d; i++) {
        int32_t s = first + i, j = f->obl_feature[s];
        tm_jw_object(jw);
        tm_jw_key(jw, "border");
        tm_jw_double(jw, (double)f->obl_border[s]);
        tm_jw_key(jw, "float_feature_index");
        tm_jw_int(jw, j);
        tm_jw_key(jw, "split_index");
        tm_jw_int(jw, split_index(u, nu, j, f->obl_border[s]));
        tm_jw_key(jw, "split_type");
        tm_jw_string(jw, "FloatFeature");
        tm_jw_object_end(jw);
    }
    tm_jw_array_end(jw);
    tm_jw_object_end(jw);
}

tm_status tm__forest_write_catboost(const tm_forest *f, const char *path, tm_buf *out, tm_err *err)
{
    const char *loss = loss_name(f);
    if (!f->oblivious) {
        return TM_ERR(err, TM_E_FORMAT, path, 0, NULL,
                      "cannot write non-oblivious trees as catboost json (train with "
                      "--growth oblivious)");
    }
    if (!loss) {
        return TM_ERR(err, TM_E_FORMAT, path, 0, "objective",
                      "cannot write this link with %d outputs as catboost", f->n_outputs);
    }
    /* bias is added last by CatBoost: exact for CatBoost-family sums only */
    bool fold = f->family != TM_FOREST_CATBOOST;
    if (fold && (f->leaf_dim != 1 || f->n_trees < f->n_outputs)) {
        return TM_ERR(err, TM_E_FORMAT, path, 0, NULL, "cannot fold the base score for catboost");
    }
    border *u = tm_malloc_n((size_t)f->n_obl_splits + 1, sizeof *u);
    int8_t *nan = tm_malloc_n((size_t)f->n_features + 1, 1);
    tm_status st = TM_OK;
    if (!u || !nan) {
        st = TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory");
        goto done;
    }
    int32_t bad = feature_nan(f, nan);
    if (bad >= 0) {
        st = TM_ERR(err, TM_E_FORMAT, path, 0, NULL,
                    "feature %d: splits disagree on missing values (catboost has one rule "
                    "per feature)",
                    bad);
        goto done;
    }
    int32_t nu = 0;
    for (int32_t s = 0; s < f->n_obl_splits; s++) {
        u[nu++] = (border){f->obl_feature[s], f->obl_border[s]};
    }
    qsort(u, (size_t)nu, sizeof *u, cmp_border);
    int32_t w = 0;
    for (int32_t i = 0; i < nu; i++) {
        if (w == 0 || cmp_border(&u[w - 1], &u[i]) != 0) {
            u[w++] = u[i];
        }
    }
    nu = w;
    tm_jw jw;
    tm_jw_init(&jw, out, TM_JW_COMPACT, TM_JW_NONFINITE_REFUSE, false);
    tm_jw_object(&jw);
    put_features(&jw, f, u, nu, nan);
    put_info(&jw, f, loss);
    tm_jw_key(&jw, "oblivious_trees");
    tm_jw_array(&jw);
    for (int32_t t = 0; t < f->n_trees; t++) {
        put_tree(&jw, f, t, u, nu, fold);
    }
    tm_jw_array_end(&jw);
    tm_jw_key(&jw, "scale_and_bias");
    tm_jw_array(&jw);
    tm_jw_double(&jw, f->scale);
    tm_jw_array(&jw);
    for (int32_t k = 0; k < f->n_outputs; k++) {
        tm_jw_double(&jw, fold ? 0.0 : f->base_score[k]);
    }
    tm_jw_array_end(&jw);
    tm_jw_array_end(&jw);
    tm_jw_object_end(&jw);
    st = tm__forest_jw_end(&jw, path, err);
done:
    tm_free(u);
    tm_free(nan);
    return st;
}
