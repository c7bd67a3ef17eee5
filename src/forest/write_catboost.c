/* The CatBoost JSON writer, oblivious trees only (see formats/catboost):
 * float_features with ascending borders and one nan_value_treatment per
 * feature, oblivious_trees whose first split is bit 0 of the leaf index
 * ("float32(x) > border" is 1), leaf values leaf-major with one value per
 * output (a one-output tree gets zeros for the others, which leaves every
 * double sum unchanged), and scale_and_bias. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
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

static void put_features(FILE *fp, const tm_forest *f, const border *u, int32_t nu,
                         const int8_t *nan)
{
    fputs("{\"features_info\":{\"float_features\":[", fp);
    int32_t i = 0;
    for (int32_t j = 0; j < f->n_features; j++) {
        fprintf(fp, "%s{\"borders\":[", j ? "," : "");
        for (int32_t c = 0; i < nu && u[i].feature == j; i++, c++) {
            fprintf(fp, "%s%.17g", c ? "," : "", (double)u[i].b);
        }
        const char *treat = nan[j] < 0 ? "AsIs" : nan[j] ? "AsTrue" : "AsFalse";
        fputs("],\"feature_id\":\"", fp);
        for (const char *s = f->feature_names ? f->feature_names[j] : ""; *s; s++) {
            if (*s == '"' || *s == '\\') {
                fputc('\\', fp);
            }
            fputc((unsigned char)*s < 0x20 ? ' ' : *s, fp);
        }
        fprintf(fp,
                "\",\"feature_index\":%d,\"flat_feature_index\":%d,\"has_nans\":%s,"
                "\"nan_value_treatment\":\"%s\"}",
                j, j, nan[j] < 0 ? "false" : "true", treat);
    }
    fputs("]},", fp);
}

static void put_info(FILE *fp, const tm_forest *f, const char *loss)
{
    fprintf(fp,
            "\"model_info\":{\"params\":{\"loss_function\":{\"params\":{},\"type\":\"%s\"},"
            "\"tree_learner_options\":{\"depth\":%d,\"grow_policy\":\"SymmetricTree\"}}",
            loss, f->max_depth);
    int k = f->link == TM__LINK_SOFTMAX ? f->n_outputs : (f->link == TM__LINK_SIGMOID ? 2 : 0);
    if (k > 0) {
        fputs(",\"class_params\":{\"class_label_type\":\"Integer\",\"class_names\":[", fp);
        for (int c = 0; c < k; c++) {
            fprintf(fp, "%s%d", c ? "," : "", c);
        }
        fputs("],\"class_to_label\":[", fp);
        for (int c = 0; c < k; c++) {
            fprintf(fp, "%s%d", c ? "," : "", c);
        }
        fprintf(fp, "],\"classes_count\":%d}", k > 2 ? k : 0);
    }
    fputs("},", fp);
}

static void put_trees(FILE *fp, const tm_forest *f, const border *u, int32_t nu, bool fold)
{
    int32_t D = f->n_outputs;
    fputs("\"oblivious_trees\":[", fp);
    for (int32_t t = 0; t < f->n_trees; t++) {
        int32_t d = f->obl_depth[t], first = f->obl_first[t];
        fputs(t ? ",{\"leaf_values\":[" : "{\"leaf_values\":[", fp);
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
                fprintf(fp, "%s%.17g", l || k ? "," : "", v);
            }
        }
        fputs("],\"leaf_weights\":[", fp);
        for (int32_t l = 0; l < ((int32_t)1 << d); l++) {
            fputs(l ? ",0" : "0", fp);
        }
        fputs("],\"splits\":[", fp);
        for (int32_t i = 0; i < d; i++) {
            int32_t s = first + i, j = f->obl_feature[s];
            fprintf(fp,
                    "%s{\"border\":%.17g,\"float_feature_index\":%d,\"split_index\":%d,"
                    "\"split_type\":\"FloatFeature\"}",
                    i ? "," : "", (double)f->obl_border[s], j,
                    split_index(u, nu, j, f->obl_border[s]));
        }
        fputs("]}", fp);
    }
    fputs("],", fp);
}

tm_status tm__forest_write_catboost(const tm_forest *f, tm_atomic *a, tm_err *err)
{
    const char *path = a->path, *loss = loss_name(f);
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
    FILE *fp = a->fp;
    put_features(fp, f, u, nu, nan);
    put_info(fp, f, loss);
    put_trees(fp, f, u, nu, fold);
    fprintf(fp, "\"scale_and_bias\":[%.17g,[", f->scale);
    for (int32_t k = 0; k < f->n_outputs; k++) {
        fprintf(fp, "%s%.17g", k ? "," : "", fold ? 0.0 : f->base_score[k]);
    }
    fputs("]]}\n", fp);
    if (ferror(fp)) {
        st = TM_ERR(err, tm_errno_status(errno), path, 0, NULL, "write failed: %s",
                    strerror(errno));
    }
done:
    tm_free(u);
    tm_free(nan);
    return st;
}
