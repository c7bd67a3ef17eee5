/* The XGBoost JSON writer (the layout save_model("x.json") gives in 1.7,
 * see formats/xgboost): struct-of-arrays trees whose leaves keep their
 * value in split_conditions, "float32(x) < split_condition" goes left,
 * siblings adjacent (XGBoost finds the right child at left + 1). The base
 * score is folded into the first tree of each output and base_score is set
 * to the value whose margin is 0, so XGBoost's float32 sum starts at 0. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "forest/forest_int.h"

typedef struct xgb_obj {
    const char *name;
    const char *param;      /* the objective's parameter block */
    const char *base_score; /* user-space base score whose margin is 0 */
} xgb_obj;

static bool objective_of(const tm_forest *f, xgb_obj *o, char *buf, size_t len)
{
    switch (f->link) {
    case TM__LINK_SOFTMAX:
        snprintf(buf, len, "\"softmax_multiclass_param\":{\"num_class\":\"%d\"}", f->n_outputs);
        *o = (xgb_obj){"multi:softprob", buf, "0E0"};
        return f->n_outputs >= 2;
    case TM__LINK_SIGMOID:
        *o = (xgb_obj){"binary:logistic", "\"reg_loss_param\":{\"scale_pos_weight\":\"1\"}",
                       "5E-1"};
        return f->n_outputs == 1 && f->sigmoid_scale == 1.0;
    case TM__LINK_IDENTITY:
        *o = (xgb_obj){"reg:squarederror", "\"reg_loss_param\":{\"scale_pos_weight\":\"1\"}",
                       "0E0"};
        return f->n_outputs == 1;
    case TM__LINK_EXP:
        *o = (xgb_obj){"count:poisson",
                       "\"poisson_regression_param\":{\"max_delta_step\":\"0.699999988\"}", "1E0"};
        return f->n_outputs == 1;
    default:
        return false;
    }
}

/* A float32 as JSON: %.17g of its double value parses back exactly,
 * whether a reader goes through double or straight to float. XGBoost
 * reads a token without '.' or an exponent as an integer and refuses it
 * where it expects a float, so one is always there. */
static void put_f32(FILE *fp, float v)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.17g", (double)v);
    fputs(buf, fp);
    if (!strpbrk(buf, ".eE")) {
        fputs(".0", fp);
    }
}

/* Writes the arrays of one flattened tree; key order as XGBoost's. */
static void put_tree(FILE *fp, int32_t id, const tm__forest_wnode *w, int32_t n, int32_t nf,
                     int32_t *parent)
{
    for (int32_t i = 0; i < n; i++) {
        if (w[i].feature >= 0) {
            parent[w[i].left] = parent[w[i].left + 1] = i;
        }
    }
    fputs("{\"base_weights\":[", fp);
    for (int32_t i = 0; i < n; i++) {
        fputs(i ? "," : "", fp);
        put_f32(fp, w[i].feature < 0 ? (float)w[i].value : 0.0f);
    }
    fputs("],\"categories\":[],\"categories_nodes\":[],\"categories_segments\":[],"
          "\"categories_sizes\":[],\"default_left\":[",
          fp);
    for (int32_t i = 0; i < n; i++) {
        fprintf(fp, "%s%d", i ? "," : "", w[i].feature >= 0 && w[i].nan_left);
    }
    fprintf(fp, "],\"id\":%d,\"left_children\":[", id);
    for (int32_t i = 0; i < n; i++) {
        fprintf(fp, "%s%d", i ? "," : "", w[i].feature >= 0 ? w[i].left : -1);
    }
    fputs("],\"loss_changes\":[", fp);
    for (int32_t i = 0; i < n; i++) {
        fputs(i ? ",0.0" : "0.0", fp);
    }
    fputs("],\"parents\":[2147483647", fp);
    for (int32_t c = 1; c < n; c++) {
        fprintf(fp, ",%d", parent[c]);
    }
    fputs("],\"right_children\":[", fp);
    for (int32_t i = 0; i < n; i++) {
        fprintf(fp, "%s%d", i ? "," : "", w[i].feature >= 0 ? w[i].left + 1 : -1);
    }
    fputs("],\"split_conditions\":[", fp);
    for (int32_t i = 0; i < n; i++) {
        fputs(i ? "," : "", fp);
        put_f32(fp, w[i].feature >= 0 ? w[i].t : (float)w[i].value);
    }
    fputs("],\"split_indices\":[", fp);
    for (int32_t i = 0; i < n; i++) {
        fprintf(fp, "%s%d", i ? "," : "", w[i].feature >= 0 ? w[i].feature : 0);
    }
    fputs("],\"split_type\":[", fp);
    for (int32_t i = 0; i < n; i++) {
        fputs(i ? ",0" : "0", fp);
    }
    fputs("],\"sum_hessian\":[", fp);
    for (int32_t i = 0; i < n; i++) {
        fputs(i ? ",0.0" : "0.0", fp);
    }
    fprintf(fp,
            "],\"tree_param\":{\"num_deleted\":\"0\",\"num_feature\":\"%d\","
            "\"num_nodes\":\"%d\",\"size_leaf_vector\":\"0\"}}",
            nf, n);
}

/* Checks a flattened tree: float32 splits, finite values. */
static tm_status check_flat(const tm__forest_wnode *w, int32_t n, int32_t t, const char *path,
                            tm_err *err)
{
    for (int32_t i = 0; i < n; i++) {
        if (w[i].feature >= 0 && (!w[i].exact32 || !isfinite(w[i].t))) {
            return TM_ERR(err, TM_E_FORMAT, path, 0, NULL,
                          "tree %d: a split has no exact float32 threshold for xgboost", t);
        }
        if (w[i].feature < 0 && !isfinite((float)w[i].value)) {
            return TM_ERR(err, TM_E_FORMAT, path, 0, NULL,
                          "tree %d: leaf value %g is not a finite float32", t, w[i].value);
        }
    }
    return TM_OK;
}

static void put_names(FILE *fp, const tm_forest *f)
{
    fputs("\"feature_names\":[", fp);
    for (int32_t j = 0; f->feature_names && j < f->n_features; j++) {
        fputs(j ? ",\"" : "\"", fp);
        for (const char *s = f->feature_names[j]; *s; s++) {
            if (*s == '"' || *s == '\\') {
                fprintf(fp, "\\%c", *s);
            } else if ((unsigned char)*s < 0x20) {
                fprintf(fp, "\\u%04x", (unsigned)(unsigned char)*s);
            } else {
                fputc(*s, fp);
            }
        }
        fputc('"', fp);
    }
    fputs("],\"feature_types\":[", fp);
    for (int32_t j = 0; f->feature_names && j < f->n_features; j++) {
        fputs(j ? ",\"float\"" : "\"float\"", fp);
    }
    fputs("],", fp);
}

tm_status tm__forest_write_xgboost(const tm_forest *f, tm_atomic *a, tm_err *err)
{
    const char *path = a->path;
    FILE *fp = a->fp;
    char pbuf[96];
    xgb_obj obj;
    if (!objective_of(f, &obj, pbuf, sizeof pbuf)) {
        return TM_ERR(err, TM_E_FORMAT, path, 0, "objective",
                      "cannot write this link with %d outputs as xgboost", f->n_outputs);
    }
    if (f->leaf_dim != 1 || f->scale != 1.0) {
        return TM_ERR(err, TM_E_FORMAT, path, 0, NULL,
                      "cannot write vector leaves or scaled outputs as xgboost");
    }
    tm__forest_wnode *w = tm_malloc_n((size_t)tm__forest_flat_max(f), sizeof *w);
    int32_t *parent = tm_malloc_n((size_t)tm__forest_flat_max(f), sizeof *parent);
    bool *seen = tm_calloc((size_t)f->n_outputs, sizeof *seen);
    tm_status st = TM_OK;
    if (!w || !parent || !seen) {
        st = TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory");
        goto done;
    }
    fputs("{\"learner\":{\"attributes\":{},", fp);
    put_names(fp, f);
    fprintf(fp,
            "\"gradient_booster\":{\"model\":{\"gbtree_model_param\":{\"num_parallel_tree\":"
            "\"1\",\"num_trees\":\"%d\",\"size_leaf_vector\":\"0\"},\"tree_info\":[",
            f->n_trees);
    for (int32_t t = 0; t < f->n_trees; t++) {
        fprintf(fp, "%s%d", t ? "," : "", f->tree_output[t]);
    }
    fputs("],\"trees\":[", fp);
    for (int32_t t = 0; t < f->n_trees && st == TM_OK; t++) {
        int32_t n, k = f->tree_output[t];
        double add = seen[k] ? 0.0 : f->base_score[k];
        seen[k] = true;
        st = tm__forest_flatten(f, t, k, add, w, &n, path, err);
        if (st == TM_OK) {
            st = check_flat(w, n, t, path, err);
        }
        if (st == TM_OK) {
            fputs(t ? "," : "", fp);
            put_tree(fp, t, w, n, f->n_features, parent);
        }
    }
    for (int32_t k = 0; st == TM_OK && k < f->n_outputs; k++) {
        if (!seen[k] && f->base_score[k] != 0.0) {
            st = TM_ERR(err, TM_E_FORMAT, path, 0, NULL,
                        "cannot fold the base score of output %d: it has no tree", k);
        }
    }
    if (st != TM_OK) {
        goto done;
    }
    fprintf(fp,
            "]},\"name\":\"gbtree\"},\"learner_model_param\":{\"base_score\":\"%s\","
            "\"boost_from_average\":\"1\",\"num_class\":\"%d\",\"num_feature\":\"%d\","
            "\"num_target\":\"1\"},\"objective\":{\"name\":\"%s\",%s}},"
            "\"version\":[1,7,4]}\n",
            obj.base_score, f->link == TM__LINK_SOFTMAX ? f->n_outputs : 0, f->n_features, obj.name,
            obj.param);
    if (ferror(fp)) {
        st = TM_ERR(err, tm_errno_status(errno), path, 0, NULL, "write failed: %s",
                    strerror(errno));
    }
done:
    tm_free(w);
    tm_free(parent);
    tm_free(seen);
    return st;
}
