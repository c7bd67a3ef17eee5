/* The LightGBM model.txt writer (see formats/lightgbm: header,
 * tree_sizes, Tree= blocks with internal nodes and leaves numbered apart,
 * decision_type 8 = missing type NaN, | 2 = default left, "x <= threshold"
 * in double, from the flattened trees of flatten.c). The base score is
 * folded into the first tree of each output, as LightGBM itself does with
 * boost_from_average. The header needs every tree's size, so the trees are
 * written first into their own buffer. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "forest/forest_int.h"

static void put_zeros(tm_buf *b, const char *key, int32_t n)
{
    tm_buf_printf(b, "%s=", key);
    for (int32_t i = 0; i < n; i++) {
        tm_buf_puts(b, i ? " 0" : "0");
    }
    tm_buf_puts(b, "\n");
}

/* One Tree= block; num is scratch for n entries. */
static void put_tree(tm_buf *b, int32_t t, const tm__forest_wnode *w, int32_t n, int32_t *num)
{
    int32_t ni = 0, nl = 0;
    for (int32_t i = 0; i < n; i++) {
        num[i] = w[i].feature >= 0 ? ni++ : nl++;
    }
    tm_buf_printf(b, "Tree=%d\nnum_leaves=%d\nnum_cat=0\n", t, nl);
    const char *keys[] = {"split_feature", "split_gain", "threshold",
                          "decision_type", "left_child", "right_child"};
    for (int key = 0; key < 6; key++) {
        if (key == 1) {
            put_zeros(b, keys[key], ni);
            continue;
        }
        tm_buf_printf(b, "%s=", keys[key]);
        for (int32_t i = 0, j = 0; i < n; i++) {
            if (w[i].feature < 0) {
                continue;
            }
            const char *sp = j++ ? " " : "";
            int32_t c = w[i].left + (key == 5);
            switch (key) {
            case 0:
                tm_buf_printf(b, "%s%d", sp, w[i].feature);
                break;
            case 2:
                tm_buf_printf(b, "%s%.17g", sp, w[i].t64);
                break;
            case 3:
                tm_buf_printf(b, "%s%d", sp, 8 | (w[i].nan_left ? 2 : 0));
                break;
            default:
                tm_buf_printf(b, "%s%d", sp, w[c].feature >= 0 ? num[c] : ~num[c]);
                break;
            }
        }
        tm_buf_puts(b, "\n");
    }
    tm_buf_puts(b, "leaf_value=");
    for (int32_t i = 0, j = 0; i < n; i++) {
        if (w[i].feature < 0) {
            tm_buf_printf(b, j++ ? " %.17g" : "%.17g", w[i].value);
        }
    }
    tm_buf_puts(b, "\n");
    put_zeros(b, "leaf_weight", nl);
    put_zeros(b, "leaf_count", nl);
    put_zeros(b, "internal_value", ni);
    put_zeros(b, "internal_weight", ni);
    put_zeros(b, "internal_count", ni);
    tm_buf_puts(b, "is_linear=0\nshrinkage=1\n\n\n");
}

/* The objective line for f's link, or NULL when LightGBM has none. */
static const char *lgb_objective(const tm_forest *f, char *buf, size_t len)
{
    switch (f->link) {
    case TM__LINK_SOFTMAX:
        snprintf(buf, len, "multiclass num_class:%d", f->n_outputs);
        return buf;
    case TM__LINK_SIGMOID:
        snprintf(buf, len, "binary sigmoid:%.17g", f->sigmoid_scale);
        return f->n_outputs == 1 ? buf : NULL;
    case TM__LINK_IDENTITY:
        return f->n_outputs == 1 ? "regression" : NULL;
    case TM__LINK_EXP:
        return f->n_outputs == 1 ? "poisson" : NULL;
    default:
        return NULL;
    }
}

/* Checks the LightGBM-specific needs: trees in class-cycling order, one
 * value per leaf, names without blanks, a tree for every folded base. */
static tm_status check_lgb(const tm_forest *f, const char *path, tm_err *err)
{
    int32_t k = f->n_outputs;
    if (f->leaf_dim != 1 || f->scale != 1.0 || f->n_trees % k != 0) {
        return TM_ERR(err, TM_E_FORMAT, path, 0, NULL,
                      "cannot write vector leaves, scaled outputs or partial rounds as lightgbm");
    }
    if (f->zero_tiny_inputs && f->zero_band != TM__LGB_ZERO_THRESHOLD) {
        return TM_ERR(err, TM_E_FORMAT, path, 0, NULL,
                      "cannot write a model that reads |x| <= %.9g as 0 (lightgbm 2.0.11 and "
                      "older) as version v4, which reads |x| <= 1e-35 as 0",
                      f->zero_band);
    }
    for (int32_t t = 0; t < f->n_trees; t++) {
        if (f->tree_output[t] != t % k) {
            return TM_ERR(err, TM_E_FORMAT, path, 0, NULL,
                          "tree %d: expected output %d (lightgbm cycles classes), found %d", t,
                          t % k, f->tree_output[t]);
        }
    }
    for (int32_t j = 0; f->feature_names && j < f->n_features; j++) {
        const char *s = f->feature_names[j];
        if (!*s || strpbrk(s, " \t\r\n")) {
            return TM_ERR(err, TM_E_FORMAT, path, 0, "feature_names",
                          "expected names without blanks, found \"%.40s\"", s);
        }
    }
    for (int32_t o = 0; o < k && f->n_trees == 0; o++) {
        if (f->base_score[o] != 0.0) {
            return TM_ERR(err, TM_E_FORMAT, path, 0, NULL,
                          "cannot fold the base score into a model without trees");
        }
    }
    return TM_OK;
}

static void put_header(tm_buf *h, const tm_forest *f, const char *obj, const double *lo,
                       const double *hi, const size_t *sizes)
{
    int32_t k = f->n_outputs;
    tm_buf_printf(h, "tree\nversion=v4\nnum_class=%d\nnum_tree_per_iteration=%d\nlabel_index=0\n",
                  f->link == TM__LINK_SOFTMAX ? k : 1, k);
    tm_buf_printf(h, "max_feature_idx=%d\nobjective=%s\nfeature_names=", f->n_features - 1, obj);
    for (int32_t j = 0; j < f->n_features; j++) {
        if (f->feature_names) {
            tm_buf_printf(h, j ? " %s" : "%s", f->feature_names[j]);
        } else {
            tm_buf_printf(h, j ? " Column_%d" : "Column_%d", j);
        }
    }
    tm_buf_puts(h, "\nfeature_infos=");
    for (int32_t j = 0; j < f->n_features; j++) {
        if (lo[j] <= hi[j]) {
            tm_buf_printf(h, j ? " [%.17g:%.17g]" : "[%.17g:%.17g]", lo[j], hi[j]);
        } else {
            tm_buf_puts(h, j ? " none" : "none");
        }
    }
    tm_buf_puts(h, "\ntree_sizes=");
    for (int32_t t = 0; t < f->n_trees; t++) {
        tm_buf_printf(h, t ? " %zu" : "%zu", sizes[t]);
    }
    tm_buf_puts(h, "\n\n");
}

tm_status tm__forest_write_lightgbm(const tm_forest *f, const char *path, tm_buf *out, tm_err *err)
{
    char objbuf[96];
    const char *obj = lgb_objective(f, objbuf, sizeof objbuf);
    if (!obj) {
        return TM_ERR(err, TM_E_FORMAT, path, 0, "objective",
                      "cannot write this link (%d) with %d outputs as lightgbm", (int)f->link,
                      f->n_outputs);
    }
    tm_status st = check_lgb(f, path, err);
    if (st != TM_OK) {
        return st;
    }
    int32_t mx = tm__forest_flat_max(f);
    tm_buf body;
    tm_buf_init(&body);
    tm__forest_wnode *w = tm_malloc_n((size_t)mx, sizeof *w);
    int32_t *num = tm_malloc_n((size_t)mx, sizeof *num);
    size_t *sizes = tm_malloc_n((size_t)f->n_trees + 1, sizeof *sizes);
    double *lo = tm_malloc_n((size_t)f->n_features + 1, sizeof *lo);
    double *hi = tm_malloc_n((size_t)f->n_features + 1, sizeof *hi);
    if (!w || !num || !sizes || !lo || !hi) {
        st = TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory");
        goto done;
    }
    for (int32_t j = 0; j < f->n_features; j++) {
        lo[j] = INFINITY;
        hi[j] = -INFINITY;
    }
    for (int32_t t = 0; t < f->n_trees; t++) {
        int32_t n, k = f->tree_output[t];
        double add = t < f->n_outputs ? f->base_score[k] : 0.0;
        tm__forest_flatten(f, t, k, add, w, &n);
        for (int32_t i = 0; i < n; i++) {
            if (w[i].feature >= 0) {
                lo[w[i].feature] = fmin(lo[w[i].feature], w[i].t64);
                hi[w[i].feature] = fmax(hi[w[i].feature], w[i].t64);
            }
        }
        size_t before = body.len;
        put_tree(&body, t, w, n, num);
        sizes[t] = body.len - before;
    }
    tm_buf_printf(&body,
                  "end of trees\n\nfeature_importances:\n\nparameters:\n[boosting: gbdt]\n"
                  "[objective: %.*s]\n[num_class: %d]\nend of parameters\n\n"
                  "pandas_categorical:null\n",
                  (int)strcspn(obj, " "), obj, f->link == TM__LINK_SOFTMAX ? f->n_outputs : 1);
    put_header(out, f, obj, lo, hi, sizes);
    if (body.oom) {
        st = TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory");
        goto done;
    }
    tm_buf_append(out, body.p, body.len);
done:
    tm_free(w);
    tm_free(num);
    tm_free(sizes);
    tm_free(lo);
    tm_free(hi);
    tm_buf_fini(&body);
    return st;
}
