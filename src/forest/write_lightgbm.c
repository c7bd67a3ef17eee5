/* Writing forests: tm_forest_save, the checks and tree flattening every
 * writer shares, and the LightGBM model.txt writer (see formats/lightgbm:
 * header, tree_sizes, Tree= blocks with internal nodes and leaves
 * numbered apart, decision_type 8 = missing type NaN, | 2 = default left,
 * "x <= threshold" in double). The base score is folded into the first
 * tree of each output, as LightGBM itself does with boost_from_average. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "forest/forest_int.h"

/* Largest double d with float32(d) < t: "x <= d" is "float32(x) < t". */
static double lgb_threshold(float t)
{
    float p = nextafterf(t, -INFINITY);
    double m = ((double)p + (double)t) * 0.5; /* exact in double */
    if ((float)m >= t) {                      /* the tie rounds up: step below */
        m = nextafter(m, -INFINITY);
    }
    return m;
}

/* Sets the split forms of w from node nd's compare rule. */
static void node_split(const tm_forest *f, int32_t nd, tm__forest_wnode *w)
{
    float b = f->threshold_f[nd];
    w->exact32 = true;
    switch (f->cmp) {
    case TM__CMP_LT_F32:
        w->t = b;
        w->t64 = lgb_threshold(b);
        break;
    case TM__CMP_LE_F32:
        w->t = nextafterf(b, INFINITY);
        w->exact32 = isfinite(w->t);
        w->t64 = w->exact32 ? lgb_threshold(w->t) : (double)b;
        break;
    case TM__CMP_LE_F64: {
        double d = f->threshold[nd];
        float c1 = (float)d, c2 = nextafterf(c1, INFINITY);
        w->t64 = d;
        w->exact32 = false;
        if (isfinite(c1) && lgb_threshold(c1) == d) {
            w->t = c1;
            w->exact32 = true;
        } else if (isfinite(c2) && lgb_threshold(c2) == d) {
            w->t = c2;
            w->exact32 = true;
        }
        break;
    }
    }
    double t = (double)w->t;
    if (w->exact32 && f->zero_tiny_inputs && t > -f->zero_band && t <= f->zero_band) {
        w->exact32 = false; /* tiny inputs act as 0 in the source model */
    }
}

/* Value of output k at a leaf (one value per leaf when leaf_dim is 1). */
static double leaf_value(const tm_forest *f, size_t leaf, int32_t k)
{
    return f->leaf_dim == 1 ? f->leaf_values[leaf]
                            : f->leaf_values[leaf * (size_t)f->leaf_dim + (size_t)k];
}

int32_t tm__forest_flat_max(const tm_forest *f)
{
    int32_t mx = 1;
    for (int32_t t = 0; t < f->n_trees; t++) {
        int32_t n = f->oblivious ? ((int32_t)2 << f->obl_depth[t]) - 1 : f->tree_n_nodes[t];
        mx = n > mx ? n : mx;
    }
    return mx;
}

static void flatten_oblivious(const tm_forest *f, int32_t t, int32_t k, double add,
                              tm__forest_wnode *buf, int32_t *n)
{
    int32_t d = f->obl_depth[t], first = f->obl_first[t], pos = 0;
    for (int32_t i = 0; i < d; i++) {
        int32_t s = first + i;
        for (int32_t j = 0; j < ((int32_t)1 << i); j++, pos++) {
            tm__forest_wnode *w = &buf[pos];
            w->feature = f->obl_feature[s];
            w->t = nextafterf(f->obl_border[s], INFINITY); /* right when x > border */
            w->exact32 = isfinite(w->t);
            w->t64 = w->exact32 ? lgb_threshold(w->t) : (double)f->obl_border[s];
            w->nan_left = !f->obl_nan_one[s];
            w->left = ((int32_t)2 << i) - 1 + 2 * j;
        }
    }
    for (int32_t q = 0; q < ((int32_t)1 << d); q++, pos++) {
        int32_t idx = 0; /* breadth-first position: first split is the top bit */
        for (int32_t i = 0; i < d; i++) {
            idx |= ((q >> (d - 1 - i)) & 1) << i;
        }
        tm__forest_wnode *w = &buf[pos];
        memset(w, 0, sizeof *w);
        w->feature = -1;
        w->left = -1;
        size_t leaf = (size_t)(f->obl_leaf_first[t] + idx);
        w->value = leaf_value(f, leaf, k) + add;
    }
    *n = pos;
}

tm_status tm__forest_flatten(const tm_forest *f, int32_t t, int32_t k, double add,
                             tm__forest_wnode *buf, int32_t *n, const char *path, tm_err *err)
{
    (void)path;
    (void)err;
    if (f->oblivious) {
        flatten_oblivious(f, t, k, add, buf, n);
        return TM_OK;
    }
    int32_t cnt = 1;
    buf[0].left = f->tree_first[t]; /* entries not yet visited hold their source node */
    for (int32_t i = 0; i < cnt; i++) {
        int32_t nd = buf[i].left;
        tm__forest_wnode *w = &buf[i];
        memset(w, 0, sizeof *w);
        if (f->flags[nd] & TM__NODE_LEAF) {
            w->feature = -1;
            w->left = -1;
            size_t leaf = (size_t)f->leaf_index[nd];
            w->value = leaf_value(f, leaf, k) + add;
            continue;
        }
        w->feature = f->feature[nd];
        w->nan_left = (f->flags[nd] & TM__NODE_NAN_LEFT) != 0;
        node_split(f, nd, w);
        w->left = cnt;
        buf[cnt++].left = f->left[nd];
        buf[cnt++].left = f->right[nd];
    }
    *n = cnt;
    return TM_OK;
}

tm_status tm__forest_check_writable(const tm_forest *f, const char *fmt, const char *path,
                                    tm_err *err)
{
    const char *what = f->lin_const         ? "linear leaves"
                       : f->has_tree_weight ? "dart tree weights"
                       : f->average         ? "averaged (random forest) output"
                       : f->has_categorical ? "categorical splits"
                                            : NULL;
    for (int32_t nd = 0; !what && !f->oblivious && nd < f->n_nodes; nd++) {
        if (f->flags[nd] & TM__NODE_ZERO_MISSING) {
            what = "zero-as-missing splits";
        }
    }
    if (what) {
        return TM_ERR(err, TM_E_FORMAT, path, 0, NULL, "cannot write %s as %s", what, fmt);
    }
    return TM_OK;
}

/* ---- model.txt ---------------------------------------------------------- */

typedef struct text {
    char *p;
    size_t len, cap;
    bool oom;
} text;

static void put(text *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *b, const char *fmt, ...)
{
    va_list ap;
    for (int pass = 0; pass < 2 && !b->oom; pass++) {
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap <= b->len + (size_t)n) {
            cap *= 2;
        }
        char *q = tm_realloc_n(b->p, cap, 1);
        if (!q) {
            b->oom = true;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
}

static void put_zeros(text *b, const char *key, int32_t n)
{
    put(b, "%s=", key);
    for (int32_t i = 0; i < n; i++) {
        put(b, i ? " 0" : "0");
    }
    put(b, "\n");
}

/* One Tree= block; num is scratch for n entries. */
static void put_tree(text *b, int32_t t, const tm__forest_wnode *w, int32_t n, int32_t *num)
{
    int32_t ni = 0, nl = 0;
    for (int32_t i = 0; i < n; i++) {
        num[i] = w[i].feature >= 0 ? ni++ : nl++;
    }
    put(b, "Tree=%d\nnum_leaves=%d\nnum_cat=0\n", t, nl);
    const char *keys[] = {"split_feature", "split_gain", "threshold",
                          "decision_type", "left_child", "right_child"};
    for (int key = 0; key < 6; key++) {
        if (key == 1) {
            put_zeros(b, keys[key], ni);
            continue;
        }
        put(b, "%s=", keys[key]);
        for (int32_t i = 0, j = 0; i < n; i++) {
            if (w[i].feature < 0) {
                continue;
            }
            const char *sp = j++ ? " " : "";
            int32_t c = w[i].left + (key == 5);
            switch (key) {
            case 0:
                put(b, "%s%d", sp, w[i].feature);
                break;
            case 2:
                put(b, "%s%.17g", sp, w[i].t64);
                break;
            case 3:
                put(b, "%s%d", sp, 8 | (w[i].nan_left ? 2 : 0));
                break;
            default:
                put(b, "%s%d", sp, w[c].feature >= 0 ? num[c] : ~num[c]);
                break;
            }
        }
        put(b, "\n");
    }
    put(b, "leaf_value=");
    for (int32_t i = 0, j = 0; i < n; i++) {
        if (w[i].feature < 0) {
            put(b, j++ ? " %.17g" : "%.17g", w[i].value);
        }
    }
    put(b, "\n");
    put_zeros(b, "leaf_weight", nl);
    put_zeros(b, "leaf_count", nl);
    put_zeros(b, "internal_value", ni);
    put_zeros(b, "internal_weight", ni);
    put_zeros(b, "internal_count", ni);
    put(b, "is_linear=0\nshrinkage=1\n\n\n");
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

static void put_header(text *h, const tm_forest *f, const char *obj, const double *lo,
                       const double *hi, const size_t *sizes)
{
    int32_t k = f->n_outputs;
    put(h, "tree\nversion=v4\nnum_class=%d\nnum_tree_per_iteration=%d\nlabel_index=0\n",
        f->link == TM__LINK_SOFTMAX ? k : 1, k);
    put(h, "max_feature_idx=%d\nobjective=%s\nfeature_names=", f->n_features - 1, obj);
    for (int32_t j = 0; j < f->n_features; j++) {
        if (f->feature_names) {
            put(h, j ? " %s" : "%s", f->feature_names[j]);
        } else {
            put(h, j ? " Column_%d" : "Column_%d", j);
        }
    }
    put(h, "\nfeature_infos=");
    for (int32_t j = 0; j < f->n_features; j++) {
        if (lo[j] <= hi[j]) {
            put(h, j ? " [%.17g:%.17g]" : "[%.17g:%.17g]", lo[j], hi[j]);
        } else {
            put(h, j ? " none" : "none");
        }
    }
    put(h, "\ntree_sizes=");
    for (int32_t t = 0; t < f->n_trees; t++) {
        put(h, t ? " %zu" : "%zu", sizes[t]);
    }
    put(h, "\n\n");
}

tm_status tm__forest_write_lightgbm(const tm_forest *f, tm_atomic *a, tm_err *err)
{
    const char *path = a->path;
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
    text body = {0}, head = {0};
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
    for (int32_t t = 0; t < f->n_trees && st == TM_OK; t++) {
        int32_t n, k = f->tree_output[t];
        double add = t < f->n_outputs ? f->base_score[k] : 0.0;
        st = tm__forest_flatten(f, t, k, add, w, &n, path, err);
        for (int32_t i = 0; st == TM_OK && i < n; i++) {
            if (w[i].feature >= 0) {
                lo[w[i].feature] = fmin(lo[w[i].feature], w[i].t64);
                hi[w[i].feature] = fmax(hi[w[i].feature], w[i].t64);
            }
        }
        size_t before = body.len;
        put_tree(&body, t, w, n, num);
        sizes[t] = body.len - before;
    }
    put(&body,
        "end of trees\n\nfeature_importances:\n\nparameters:\n[boosting: gbdt]\n"
        "[objective: %.*s]\n[num_class: %d]\nend of parameters\n\n"
        "pandas_categorical:null\n",
        (int)strcspn(obj, " "), obj, f->link == TM__LINK_SOFTMAX ? f->n_outputs : 1);
    put_header(&head, f, obj, lo, hi, sizes);
    if (st == TM_OK && (body.oom || head.oom)) {
        st = TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory");
    }
    if (st == TM_OK && (fwrite(head.p, 1, head.len, a->fp) != head.len ||
                        fwrite(body.p, 1, body.len, a->fp) != body.len)) {
        st = TM_ERR(err, tm_errno_status(errno), path, 0, NULL, "write failed: %s",
                    strerror(errno));
    }
done:
    tm_free(w);
    tm_free(num);
    tm_free(sizes);
    tm_free(lo);
    tm_free(hi);
    tm_free(body.p);
    tm_free(head.p);
    return st;
}

tm_status tm_forest_save(const tm_forest *f, tm_forest_format format, const char *path, tm_err *err)
{
    const char *name = tm_forest_format_name(format);
    if (format != TM_FOREST_FORMAT_LIGHTGBM && format != TM_FOREST_FORMAT_XGBOOST_JSON &&
        format != TM_FOREST_FORMAT_CATBOOST_JSON) {
        return TM_ERR(err, TM_E_FORMAT, path, 0, NULL,
                      "cannot write %s: expected lightgbm, xgboost-json or catboost-json", name);
    }
    tm_status st = tm__forest_check_writable(f, name, path, err);
    if (st != TM_OK) {
        return st;
    }
    tm_atomic a;
    st = tm_atomic_open(&a, path, err);
    if (st != TM_OK) {
        return st;
    }
    st = format == TM_FOREST_FORMAT_LIGHTGBM       ? tm__forest_write_lightgbm(f, &a, err)
         : format == TM_FOREST_FORMAT_XGBOOST_JSON ? tm__forest_write_xgboost(f, &a, err)
                                                   : tm__forest_write_catboost(f, &a, err);
    if (st != TM_OK) {
        tm_atomic_abort(&a);
        return st;
    }
    return tm_atomic_commit(&a, err);
}
