/* The XGBoost JSON writer (the layout save_model("x.json") gives in 1.7,
 * see formats/xgboost): struct-of-arrays trees whose leaves keep their
 * value in split_conditions, "float32(x) < split_condition" goes left,
 * siblings adjacent (XGBoost finds the right child at left + 1). The base
 * score is folded into the first tree of each output and base_score is set
 * to the value whose margin is 0, so XGBoost's float32 sum starts at 0.
 * Text through core's JSON writer (compact, names escaped by its one
 * escaper, as XGBoost's own writer escapes them). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "forest/forest_int.h"

typedef struct xgb_obj {
    const char *name;
    const char *param;     /* key of the objective's parameter block */
    const char *param_key; /* its one member */
    char param_value[16];
    const char *base_score; /* user-space base score whose margin is 0 */
} xgb_obj;

static bool objective_of(const tm_forest *f, xgb_obj *o)
{
    memset(o, 0, sizeof *o);
    o->param = "reg_loss_param";
    o->param_key = "scale_pos_weight";
    snprintf(o->param_value, sizeof o->param_value, "1");
    switch (f->link) {
    case TM__LINK_SOFTMAX:
        o->name = "multi:softprob";
        o->param = "softmax_multiclass_param";
        o->param_key = "num_class";
        snprintf(o->param_value, sizeof o->param_value, "%d", f->n_outputs);
        o->base_score = "0E0";
        return f->n_outputs >= 2;
    case TM__LINK_SIGMOID:
        o->name = "binary:logistic";
        o->base_score = "5E-1";
        return f->n_outputs == 1 && f->sigmoid_scale == 1.0;
    case TM__LINK_IDENTITY:
        o->name = "reg:squarederror";
        o->base_score = "0E0";
        return f->n_outputs == 1;
    case TM__LINK_EXP:
        o->name = "count:poisson";
        o->param = "poisson_regression_param";
        o->param_key = "max_delta_step";
        snprintf(o->param_value, sizeof o->param_value, "0.699999988");
        o->base_score = "1E0";
        return f->n_outputs == 1;
    default:
        return false;
    }
}

/* A float32 as JSON: %.17g of its double value parses back exactly,
 * whether a reader goes through double or straight to float. XGBoost
 * reads a token without '.' or an exponent as an integer and refuses it
 * where it expects a float, so one is always there. The caller checked
 * that v is finite. */
static void put_f32(tm_jw *jw, float v)
{
    char buf[40];
    int n = snprintf(buf, sizeof buf, "%.17g", (double)v);
    if (!strpbrk(buf, ".eE")) {
        n += snprintf(buf + n, sizeof buf - (size_t)n, ".0");
    }
    tm_jw_raw(jw, buf, (size_t)n);
}

/* key: [v, v, ...] with the same integer n times (XGBoost's per-node
 * statistics the writer has no value for). */
static void put_repeat(tm_jw *jw, const char *key, const char *token, int32_t n)
{
    tm_jw_key(jw, key);
    tm_jw_array(jw);
    for (int32_t i = 0; i < n; i++) {
        tm_jw_raw(jw, token, strlen(token));
    }
    tm_jw_array_end(jw);
}

static void put_empty(tm_jw *jw, const char *key)
{
    tm_jw_key(jw, key);
    tm_jw_array(jw);
    tm_jw_array_end(jw);
}

/* key: "v" for an integer v (XGBoost keeps its parameters as strings). */
static void put_param(tm_jw *jw, const char *key, int64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)v);
    tm_jw_key(jw, key);
    tm_jw_string(jw, buf);
}

/* Writes the arrays of one flattened tree; key order as XGBoost's. */
static void put_tree(tm_jw *jw, int32_t id, const tm__forest_wnode *w, int32_t n, int32_t nf,
                     int32_t *parent)
{
    for (int32_t i = 0; i < n; i++) {
        if (w[i].feature >= 0) {
            parent[w[i].left] = parent[w[i].left + 1] = i;
        }
    }
    tm_jw_object(jw);
    tm_jw_key(jw, "base_weights");
    tm_jw_array(jw);
    for (int32_t i = 0; i < n; i++) {
        put_f32(jw, w[i].feature < 0 ? (float)w[i].value : 0.0f);
    }
    tm_jw_array_end(jw);
    put_empty(jw, "categories");
    put_empty(jw, "categories_nodes");
    put_empty(jw, "categories_segments");
    put_empty(jw, "categories_sizes");
    tm_jw_key(jw, "default_left");
    tm_jw_array(jw);
    for (int32_t i = 0; i < n; i++) {
        tm_jw_int(jw, w[i].feature >= 0 && w[i].nan_left);
    }
    tm_jw_array_end(jw);
    tm_jw_key(jw, "id");
    tm_jw_int(jw, id);
    tm_jw_key(jw, "left_children");
    tm_jw_array(jw);
    for (int32_t i = 0; i < n; i++) {
        tm_jw_int(jw, w[i].feature >= 0 ? w[i].left : -1);
    }
    tm_jw_array_end(jw);
    put_repeat(jw, "loss_changes", "0.0", n);
    tm_jw_key(jw, "parents");
    tm_jw_array(jw);
    tm_jw_int(jw, 2147483647); /* the root's: XGBoost's "no parent" */
    for (int32_t c = 1; c < n; c++) {
        tm_jw_int(jw, parent[c]);
    }
    tm_jw_array_end(jw);
    tm_jw_key(jw, "right_children");
    tm_jw_array(jw);
    for (int32_t i = 0; i < n; i++) {
        tm_jw_int(jw, w[i].feature >= 0 ? w[i].left + 1 : -1);
    }
    tm_jw_array_end(jw);
    tm_jw_key(jw, "split_conditions");
    tm_jw_array(jw);
    for (int32_t i = 0; i < n; i++) {
        put_f32(jw, w[i].feature >= 0 ? w[i].t : (float)w[i].value);
    }
    tm_jw_array_end(jw);
    tm_jw_key(jw, "split_indices");
    tm_jw_array(jw);
    for (int32_t i = 0; i < n; i++) {
        tm_jw_int(jw, w[i].feature >= 0 ? w[i].feature : 0);
    }
    tm_jw_array_end(jw);
    put_repeat(jw, "split_type", "0", n);
    put_repeat(jw, "sum_hessian", "0.0", n);
    tm_jw_key(jw, "tree_param");
    tm_jw_object(jw);
    put_param(jw, "num_deleted", 0);
    put_param(jw, "num_feature", nf);
    put_param(jw, "num_nodes", n);
    put_param(jw, "size_leaf_vector", 0);
    tm_jw_object_end(jw);
    tm_jw_object_end(jw);
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

/* feature_names and feature_types: empty arrays when f has no names. */
static void put_names(tm_jw *jw, const tm_forest *f)
{
    int32_t n = f->feature_names ? f->n_features : 0;
    tm_jw_key(jw, "feature_names");
    tm_jw_array(jw);
    for (int32_t j = 0; j < n; j++) {
        tm_jw_string(jw, f->feature_names[j]);
    }
    tm_jw_array_end(jw);
    tm_jw_key(jw, "feature_types");
    tm_jw_array(jw);
    for (int32_t j = 0; j < n; j++) {
        tm_jw_string(jw, "float");
    }
    tm_jw_array_end(jw);
}

/* learner_model_param and objective, after the trees. */
static void put_learner_tail(tm_jw *jw, const tm_forest *f, const xgb_obj *obj)
{
    tm_jw_key(jw, "learner_model_param");
    tm_jw_object(jw);
    tm_jw_key(jw, "base_score");
    tm_jw_string(jw, obj->base_score);
    put_param(jw, "boost_from_average", 1);
    put_param(jw, "num_class", f->link == TM__LINK_SOFTMAX ? f->n_outputs : 0);
    put_param(jw, "num_feature", f->n_features);
    put_param(jw, "num_target", 1);
    tm_jw_object_end(jw);
    tm_jw_key(jw, "objective");
    tm_jw_object(jw);
    tm_jw_key(jw, "name");
    tm_jw_string(jw, obj->name);
    tm_jw_key(jw, obj->param);
    tm_jw_object(jw);
    tm_jw_key(jw, obj->param_key);
    tm_jw_string(jw, obj->param_value);
    tm_jw_object_end(jw);
    tm_jw_object_end(jw);
}

/* Flattens, checks and writes every tree (the "trees" array). */
static tm_status put_trees(tm_jw *jw, const tm_forest *f, tm__forest_wnode *w, int32_t *parent,
                           bool *seen, const char *path, tm_err *err)
{
    tm_status st = TM_OK;
    tm_jw_key(jw, "trees");
    tm_jw_array(jw);
    for (int32_t t = 0; t < f->n_trees && st == TM_OK; t++) {
        int32_t n, k = f->tree_output[t];
        double add = seen[k] ? 0.0 : f->base_score[k];
        seen[k] = true;
        tm__forest_flatten(f, t, k, add, w, &n);
        st = check_flat(w, n, t, path, err);
        if (st == TM_OK) {
            put_tree(jw, t, w, n, f->n_features, parent);
        }
    }
    tm_jw_array_end(jw);
    for (int32_t k = 0; st == TM_OK && k < f->n_outputs; k++) {
        if (!seen[k] && f->base_score[k] != 0.0) {
            st = TM_ERR(err, TM_E_FORMAT, path, 0, NULL,
                        "cannot fold the base score of output %d: it has no tree", k);
        }
    }
    return st;
}

tm_status tm__forest_write_xgboost(const tm_forest *f, const char *path, tm_buf *out, tm_err *err)
{
    xgb_obj obj;
    if (!objective_of(f, &obj)) {
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
    tm_jw jw;
    tm_jw_init(&jw, out, TM_JW_COMPACT, TM_JW_NONFINITE_REFUSE, false);
    if (!w || !parent || !seen) {
        st = TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory");
        goto done;
    }
    tm_jw_object(&jw);
    tm_jw_key(&jw, "learner");
    tm_jw_object(&jw);
    tm_jw_key(&jw, "attributes");
    tm_jw_object(&jw);
    tm_jw_object_end(&jw);
    put_names(&jw, f);
    tm_jw_key(&jw, "gradient_booster");
    tm_jw_object(&jw);
    tm_jw_key(&jw, "model");
    tm_jw_object(&jw);
    tm_jw_key(&jw, "gbtree_model_param");
    tm_jw_object(&jw);
    put_param(&jw, "num_parallel_tree", 1);
    put_param(&jw, "num_trees", f->n_trees);
    put_param(&jw, "size_leaf_vector", 0);
    tm_jw_object_end(&jw);
    tm_jw_key(&jw, "tree_info");
    tm_jw_array(&jw);
    for (int32_t t = 0; t < f->n_trees; t++) {
        tm_jw_int(&jw, f->tree_output[t]);
    }
    tm_jw_array_end(&jw);
    st = put_trees(&jw, f, w, parent, seen, path, err);
    if (st != TM_OK) {
        goto done;
    }
    tm_jw_object_end(&jw); /* model */
    tm_jw_key(&jw, "name");
    tm_jw_string(&jw, "gbtree");
    tm_jw_object_end(&jw); /* gradient_booster */
    put_learner_tail(&jw, f, &obj);
    tm_jw_object_end(&jw); /* learner */
    tm_jw_key(&jw, "version");
    tm_jw_array(&jw);
    tm_jw_int(&jw, 1);
    tm_jw_int(&jw, 7);
    tm_jw_int(&jw, 4);
    tm_jw_array_end(&jw);
    tm_jw_object_end(&jw);
done:
    if (st == TM_OK) {
        st = tm__forest_jw_end(&jw, path, err);
    } else {
        tm_jw_finish(&jw, NULL);
    }
    tm_free(w);
    tm_free(parent);
    tm_free(seen);
    return st;
}
