/* CatBoost JSON export (save_model(format="json")) into the forest IR.
 * Float features only: oblivious trees fill the obl_* arrays, non-symmetric
 * `trees` the general node arrays; one-hot, CTR, text and embedding splits
 * are rejected naming the feature the model needs (see formats/catboost §7).
 * Decision rule, NaN treatment and the output formula: formats/catboost
 * §3-§6. Evaluation itself is the predictor's. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "forest/forest_int.h"
#include "forest/predict_int.h"

#define MAX_COLUMNS    (1 << 20)       /* input columns: bounds per-column arrays */
#define MAX_DIM        TM__MAX_OUTPUTS /* values per leaf */
#define MAX_OBL_DEPTH  30              /* the IR's limit on 2^depth leaves */
#define MAX_NODE_DEPTH 256             /* non-symmetric nesting (CatBoost stops at 16) */

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        st = (expr);                                                                               \
        if (st != TM_OK) {                                                                         \
            goto done;                                                                             \
        }                                                                                          \
    } while (0)

typedef struct loader {
    tm_json_ctx j;                /* file and error sink for messages */
    tm_forest *f;                 /* being filled, owned by the entry point */
    const tm_json *cats;          /* features_info.categorical_features or NULL */
    const tm_json *ctrs;          /* features_info.ctrs or NULL */
    int32_t n_float;              /* entries in features_info.float_features */
    int32_t *float_col;           /* float_feature_index -> input column */
    uint8_t *float_nan_one;       /* 1: NaN is above every border (AsTrue) */
    int32_t dim;                  /* D, values per leaf; 0 until known */
    int32_t next_node, next_leaf; /* non-symmetric walk cursors */
} loader;

static tm_status nomem(const loader *L)
{
    return TM_ERR(L->j.err, TM_E_NOMEM, L->j.path, 0, NULL, "out of memory");
}

/* obj[key] (required) as an integer in lo..hi. */
static tm_status member_int(const loader *L, const tm_json *obj, const char *where, const char *key,
                            int32_t lo, int32_t hi, int32_t *out)
{
    int64_t v = 0;
    tm_status st = tm_json_member_int(&L->j, obj, where, key, lo, hi, false, 0, &v);
    *out = (int32_t)v;
    return st;
}

/* ---- features ---------------------------------------------------------- */

static bool has_id(const tm_json *e)
{
    const tm_json *id = tm_json_get(e, "feature_id");
    return id && id->type == TM_JSON_STRING && id->len > 0;
}

/* Names entry idx (its feature_index; the first entry when idx is NULL) of
 * feature list arr for messages: " 'id' (column 3)" or " at column 3";
 * "s" when there is no such entry. */
static void describe(const tm_json *arr, const tm_json *idx, char *buf, size_t len)
{
    for (size_t i = 0; arr && arr->type == TM_JSON_ARRAY && i < arr->len; i++) {
        const tm_json *e = tm_json_at(arr, i), *fi = tm_json_get(e, "feature_index");
        const tm_json *col = tm_json_get(e, "flat_feature_index");
        double c = col && col->type == TM_JSON_NUMBER ? col->num : -1.0;
        if (idx && !(fi && fi->type == idx->type && fi->num == idx->num)) {
            continue;
        }
        if (has_id(e)) {
            snprintf(buf, len, " '%.64s' (column %.0f)", tm_json_get(e, "feature_id")->str, c);
        } else {
            snprintf(buf, len, " at column %.0f", c);
        }
        return;
    }
    snprintf(buf, len, "s");
}

/* Reads entry i of float_features (is_float) or categorical_features: its
 * input column into *col and, for a float feature, its NaN rule. A repeated
 * feature_index leaves another index at -1, which finish rejects if used. */
static tm_status load_feature(loader *L, const tm_json *arr, size_t i, bool is_float, int32_t *col)
{
    char where[96], buf[64];
    const tm_json *e = tm_json_at(arr, i), *nan = NULL;
    int32_t idx = 0;
    tm_status st;
    snprintf(where, sizeof where, "features_info.%s[%zu]",
             is_float ? "float_features" : "categorical_features", i);
    CHECK(tm_json_expect(&L->j, e, arr, where, NULL, TM_JSON_OBJECT));
    CHECK(member_int(L, e, where, "flat_feature_index", 0, MAX_COLUMNS - 1, col));
    if (!is_float) {
        goto done;
    }
    CHECK(member_int(L, e, where, "feature_index", 0, L->n_float - 1, &idx));
    /* required, as CatBoost's own reader requires it: the NaN rule is never assumed */
    CHECK(tm_json_member(&L->j, e, where, "nan_value_treatment", TM_JSON_STRING, false, &nan));
    L->float_col[idx] = *col;
    /* AsIs: NaN > border is false; AsFalse: NaN is below every border */
    L->float_nan_one[idx] = nan && strcmp(nan->str, "AsTrue") == 0;
    if (nan && !L->float_nan_one[idx] && strcmp(nan->str, "AsIs") != 0 &&
        strcmp(nan->str, "AsFalse") != 0) {
        st = tm_json_fail(&L->j, TM_E_PARSE, nan, where, "nan_value_treatment",
                          "expected \"AsIs\", \"AsFalse\" or \"AsTrue\", found %s",
                          tm_json_found(nan, buf, sizeof buf));
    }
done:
    return st;
}

/* Names every input column when the model names any (feature_id);
 * unnamed columns get their index, as CatBoost does. */
static tm_status load_names(loader *L, const tm_json *floats, const int32_t *cols)
{
    tm_forest *f = L->f;
    size_t n_float = (size_t)L->n_float, n = n_float + (L->cats ? L->cats->len : 0);
    char num[16];
    if (!(f->feature_names = tm_calloc((size_t)f->n_features + 1, sizeof *f->feature_names))) {
        return nomem(L);
    }
    for (size_t i = 0; i < n; i++) {
        const tm_json *e = i < n_float ? tm_json_at(floats, i) : tm_json_at(L->cats, i - n_float);
        char **name = &f->feature_names[cols[i]];
        if (has_id(e) && !*name && !(*name = tm_strdup(tm_json_get(e, "feature_id")->str))) {
            return nomem(L);
        }
    }
    for (int32_t c = 0; c < f->n_features; c++) {
        snprintf(num, sizeof num, "%d", (int)c);
        if (!f->feature_names[c] && !(f->feature_names[c] = tm_strdup(num))) {
            return nomem(L);
        }
    }
    return TM_OK;
}

/* features_info: the float feature table, the input column count (max
 * flat_feature_index + 1, categorical columns included) and names. */
static tm_status load_features(loader *L, const tm_json *root)
{
    const tm_json *fi = NULL, *floats = NULL;
    int32_t *cols = NULL, n_cols = 0;
    bool named = false;
    char desc[128];
    tm_status st;
    CHECK(tm_json_member(&L->j, root, NULL, "features_info", TM_JSON_OBJECT, false, &fi));
    CHECK(tm_json_member(&L->j, fi, "features_info", "float_features", TM_JSON_ARRAY, true,
                         &floats));
    CHECK(tm_json_member(&L->j, fi, "features_info", "categorical_features", TM_JSON_ARRAY, true,
                         &L->cats));
    CHECK(tm_json_member(&L->j, fi, "features_info", "ctrs", TM_JSON_ARRAY, true, &L->ctrs));
    for (int k = 0; k < 2; k++) { /* estimated features: not computable from the JSON */
        const char *key = k ? "embedding_features" : "text_features";
        const tm_json *arr = tm_json_get(fi, key);
        if (arr && arr->type == TM_JSON_ARRAY && arr->len > 0) {
            describe(arr, NULL, desc, sizeof desc);
            st = tm_json_fail(&L->j, TM_E_FORMAT, arr, "features_info", key,
                              "model needs %s feature%s (not supported): apply it with catboost",
                              k ? "embedding" : "text", desc);
            goto done;
        }
    }
    size_t n_float = floats ? floats->len : 0, n_cat = L->cats ? L->cats->len : 0;
    L->n_float = (int32_t)(n_float < MAX_COLUMNS ? n_float : MAX_COLUMNS); /* bounds indices */
    L->float_col = tm_malloc_n(n_float + 1, sizeof *L->float_col);
    L->float_nan_one = tm_calloc(n_float + 1, sizeof *L->float_nan_one);
    cols = tm_malloc_n(n_float + n_cat + 1, sizeof *cols);
    if (!L->float_col || !L->float_nan_one || !cols) {
        st = nomem(L);
        goto done;
    }
    memset(L->float_col, 0xff, (n_float + 1) * sizeof *L->float_col); /* all -1 */
    for (size_t i = 0; i < n_float + n_cat; i++) {
        const tm_json *arr = i < n_float ? floats : L->cats;
        size_t j = i < n_float ? i : i - n_float;
        CHECK(load_feature(L, arr, j, i < n_float, &cols[i]));
        n_cols = cols[i] >= n_cols ? cols[i] + 1 : n_cols;
        named = named || has_id(tm_json_at(arr, j));
    }
    L->f->n_features = n_cols;
    if (named) {
        CHECK(load_names(L, floats, cols));
    }
done:
    tm_free(cols);
    return st;
}

/* ---- outputs (formats/catboost §6) ------------------------------------- */

/* scale_and_bias: [scale, [bias_0..bias_{D-1}]] (formats/catboost §1).
 * Exports from before it existed (2019) have none; CatBoost's own reader
 * then applies scale 1 and bias 0, and so does this one. An old scalar
 * bias applies to every output. */
static tm_status load_scale_bias(loader *L, const tm_json *root)
{
    tm_forest *f = L->f;
    const tm_json *sb = NULL;
    tm_status st;
    CHECK(tm_json_member(&L->j, root, NULL, "scale_and_bias", TM_JSON_ARRAY, true, &sb));
    const tm_json *scale = tm_json_at(sb, 0), *bias = tm_json_at(sb, 1);
    if (sb && (sb->len != 2 || scale->type != TM_JSON_NUMBER ||
               (bias->type != TM_JSON_NUMBER && bias->type != TM_JSON_ARRAY) ||
               (bias->type == TM_JSON_ARRAY && bias->len != (size_t)L->dim))) {
        st = tm_json_fail(&L->j, TM_E_PARSE, sb, "scale_and_bias", NULL,
                          "expected [scale, [bias, ...]] with %d bias(es), as the leaves have",
                          L->dim);
        goto done;
    }
    CHECK(tm__forest_alloc_outputs(f, L->dim, L->j.err));
    f->scale = sb ? scale->num : 1.0;
    for (int32_t k = 0; sb && k < L->dim; k++) {
        const tm_json *b = bias->type == TM_JSON_ARRAY ? tm_json_at(bias, (size_t)k) : bias;
        CHECK(tm_json_expect(&L->j, b, bias, "scale_and_bias", NULL, TM_JSON_NUMBER));
        f->base_score[k] = b->num;
    }
done:
    return st;
}

/* The loss decides the link, the classes and the default output:
 * probabilities for classifiers, exp for log-link losses (CatBoost's
 * Exponent), the raw value otherwise. Class labels (for CLASS output) keep
 * the JSON spelling of numbers. */
static tm_status set_objective(loader *L, const tm_json *root)
{
    tm_forest *f = L->f;
    const tm_json *info = NULL, *params = NULL, *lf = NULL, *type = NULL;
    /* the loss decides what predictions mean: never assumed */
    tm_status st = tm_json_member(&L->j, root, NULL, "model_info", TM_JSON_OBJECT, false, &info);
    st = st ? st
            : tm_json_member(&L->j, info, "model_info", "params", TM_JSON_OBJECT, false, &params);
    st = st ? st
            : tm_json_member(&L->j, params, "model_info.params", "loss_function", TM_JSON_OBJECT,
                             false, &lf);
    st = st ? st
            : tm_json_member(&L->j, lf, "model_info.params.loss_function", "type", TM_JSON_STRING,
                             false, &type);
    if (st != TM_OK) {
        return st;
    }
    const char *loss = type->str;
    bool binary = strcmp(loss, "Logloss") == 0 || strcmp(loss, "CrossEntropy") == 0;
    bool multi = strcmp(loss, "MultiClass") == 0;
    bool ova = strcmp(loss, "MultiClassOneVsAll") == 0 || strcmp(loss, "MultiLogloss") == 0 ||
               strcmp(loss, "MultiCrossEntropy") == 0;
    if (!(f->objective = tm_strdup(loss))) {
        return nomem(L);
    }
    f->link = TM__LINK_IDENTITY;
    f->default_output = TM_FOREST_OUT_VALUE;
    if (binary || multi || ova) {
        f->link = binary ? TM__LINK_SIGMOID : multi ? TM__LINK_SOFTMAX : TM__LINK_OVA_SIGMOID;
        f->n_classes = binary ? 2 : L->dim;
        f->default_output = TM_FOREST_OUT_PROBABILITY;
    } else if (strcmp(loss, "Poisson") == 0 || strcmp(loss, "Tweedie") == 0) {
        f->link = TM__LINK_EXP;
        f->default_output = TM_FOREST_OUT_EXPONENT;
    }
    /* labels: class_names, else class_to_label, with one entry per class */
    const tm_json *cp = tm_json_get(tm_json_get(root, "model_info"), "class_params");
    const tm_json *names = tm_json_get(cp, "class_names");
    size_t n = (size_t)f->n_classes;
    bool ok = names && names->type == TM_JSON_ARRAY && names->len == n;
    names = ok ? names : tm_json_get(cp, "class_to_label");
    if (n < 2 || !names || names->type != TM_JSON_ARRAY || names->len != n) {
        return TM_OK;
    }
    if (!(f->class_names = tm_calloc(n, sizeof *f->class_names))) {
        return nomem(L);
    }
    for (size_t i = 0; i < n; i++) {
        const tm_json *v = tm_json_at(names, i);
        char buf[64];
        const char *s = v->type == TM_JSON_STRING ? v->str : tm_json_found(v, buf, sizeof buf);
        if (!(f->class_names[i] = tm_strdup(s))) {
            return nomem(L);
        }
    }
    return TM_OK;
}

/* ---- splits (formats/catboost §3, §7) ---------------------------------- */

/* Reads split s (named where): its input column, float32 border (correctly
 * rounded from the JSON text) and NaN rule. A split on anything but a float
 * feature cannot be evaluated from the JSON alone: name what it needs. */
static tm_status load_split(const loader *L, const tm_json *s, const char *where, int32_t *col,
                            float *border, uint8_t *nan_one)
{
    const tm_json *type = NULL, *b = NULL;
    char desc[160], buf[64];
    int32_t fidx;
    tm_status st;
    CHECK(tm_json_expect(&L->j, s, NULL, where, NULL, TM_JSON_OBJECT));
    CHECK(tm_json_member(&L->j, s, where, "split_type", TM_JSON_STRING, true, &type));
    bool onehot = type && strcmp(type->str, "OneHotFeature") == 0;
    if (onehot || (type && strcmp(type->str, "OnlineCtr") == 0)) {
        const tm_json *el = tm_json_at(tm_json_get(tm_json_at(L->ctrs, 0), "elements"), 0);
        describe(L->cats, tm_json_get(onehot ? s : el, "cat_feature_index"), desc, sizeof desc);
        st = tm_json_fail(
                &L->j, TM_E_FORMAT, s, where, "split_type",
                "model needs categorical feature%s (one-hot/ctr hashing is not supported): "
                "%s; apply it with catboost",
                desc, onehot ? "OneHotFeature split" : "OnlineCtr split needs ctr_data");
        goto done;
    }
    if ((type && strcmp(type->str, "FloatFeature") != 0) || L->n_float == 0) {
        st = tm_json_fail(
                &L->j, TM_E_FORMAT, s, where, "split_type",
                "unsupported split %s: only splits on features_info.float_features can be "
                "applied",
                type ? tm_json_found(type, buf, sizeof buf) : "\"FloatFeature\"");
        goto done;
    }
    CHECK(member_int(L, s, where, "float_feature_index", 0, L->n_float - 1, &fidx));
    CHECK(tm_json_member(&L->j, s, where, "border", TM_JSON_NUMBER, false, &b));
    *col = L->float_col[fidx];
    *border = tm_json_f32(b);
    *nan_one = L->float_nan_one[fidx];
done:
    return st;
}

/* ---- oblivious trees (formats/catboost §4) ----------------------------- */

/* Checks every tree's shape (2^depth * D leaf values) and counts, then
 * fills. splits[i] is bit i of the leaf index; leaf_values are leaf-major
 * (leaf l, output k at l*D + k) in the file and in the IR. */
static tm_status load_oblivious(loader *L, const tm_json *trees)
{
    tm_forest *f = L->f;
    int64_t n_splits = 0, n_leaves = 0;
    char where[96];
    const tm_json *splits = NULL, *lv = NULL;
    tm_status st;
    for (size_t t = 0; t < trees->len; t++) {
        const tm_json *tree = tm_json_at(trees, t);
        snprintf(where, sizeof where, "oblivious_trees[%zu]", t);
        CHECK(tm_json_expect(&L->j, tree, trees, where, NULL, TM_JSON_OBJECT));
        CHECK(tm_json_member(&L->j, tree, where, "splits", TM_JSON_ARRAY, false, &splits));
        CHECK(tm_json_member(&L->j, tree, where, "leaf_values", TM_JSON_ARRAY, false, &lv));
        size_t depth = splits->len < MAX_OBL_DEPTH ? splits->len : MAX_OBL_DEPTH;
        size_t d = L->dim ? (size_t)L->dim : lv->len >> depth; /* D from the first tree */
        L->dim = d < 1 ? 1 : d > MAX_DIM ? MAX_DIM : (int32_t)d;
        if (splits->len > MAX_OBL_DEPTH || lv->len != ((size_t)1 << depth) * (size_t)L->dim) {
            st = tm_json_fail(
                    &L->j, TM_E_PARSE, lv, where, "leaf_values",
                    "expected 2^%zu leaves x %d outputs (depth at most %d), found %zu values",
                    splits->len, (int)L->dim, MAX_OBL_DEPTH, lv->len);
            goto done;
        }
        n_splits += (int64_t)depth;
        n_leaves += (int64_t)1 << depth;
        if (n_splits > INT32_MAX || n_leaves * L->dim > INT32_MAX) {
            st = tm_json_fail(&L->j, TM_E_RANGE, tree, where, NULL,
                              "model too large (over 2^31 leaf values)");
            goto done;
        }
    }
    L->dim = L->dim ? L->dim : 1;
    f->leaf_dim = L->dim;
    CHECK(tm__forest_alloc_trees(f, (int32_t)trees->len, L->j.err));
    CHECK(tm__forest_alloc_oblivious(f, (int32_t)n_splits, (int32_t)n_leaves, L->j.err));
    for (int32_t t = 0, s0 = 0, l0 = 0; t < f->n_trees; t++) {
        const tm_json *tree = tm_json_at(trees, (size_t)t);
        splits = tm_json_get(tree, "splits");
        lv = tm_json_get(tree, "leaf_values");
        int32_t depth = (int32_t)splits->len;
        f->obl_depth[t] = depth;
        f->obl_first[t] = s0;
        f->obl_leaf_first[t] = l0;
        for (int32_t i = 0; i < depth; i++) {
            snprintf(where, sizeof where, "oblivious_trees[%d].splits[%d]", (int)t, (int)i);
            CHECK(load_split(L, tm_json_at(splits, (size_t)i), where, &f->obl_feature[s0 + i],
                             &f->obl_border[s0 + i], &f->obl_nan_one[s0 + i]));
        }
        for (size_t j = 0; j < lv->len; j++) {
            const tm_json *v = tm_json_at(lv, j);
            snprintf(where, sizeof where, "oblivious_trees[%d].leaf_values[%zu]", (int)t, j);
            CHECK(tm_json_expect(&L->j, v, lv, where, NULL, TM_JSON_NUMBER));
            f->leaf_values[(size_t)l0 * (size_t)L->dim + j] = v->num;
        }
        s0 += depth;
        l0 += (int32_t)1 << depth;
    }
done:
    return st;
}

/* ---- non-symmetric trees (formats/catboost §5) ------------------------- */

/* A leaf's "value": a number (D = 1) or a list of D numbers. Counting
 * (fill false) takes D from the first leaf when it is not known yet. */
static tm_status walk_leaf(loader *L, const tm_json *node, int32_t me, const char *where, bool fill)
{
    tm_forest *f = L->f;
    const tm_json *v = tm_json_get(node, "value");
    char buf[64];
    int32_t li = L->next_leaf++;
    size_t n = v && v->type == TM_JSON_ARRAY ? v->len : 1;
    if (!fill) {
        L->dim = L->dim ? L->dim : n <= MAX_DIM ? (int32_t)n : 1;
        return v ? TM_OK
                 : tm_json_fail(&L->j, TM_E_PARSE, node, where, NULL,
                                "missing key 'value' or 'split'");
    }
    if (n != (size_t)L->dim || (v->type != TM_JSON_ARRAY && v->type != TM_JSON_NUMBER)) {
        return tm_json_fail(&L->j, TM_E_PARSE, v, where, "value", "expected %d number(s), found %s",
                            (int)L->dim,
                            v->type == TM_JSON_ARRAY ? "another count"
                                                     : tm_json_found(v, buf, sizeof buf));
    }
    f->flags[me] = TM__NODE_LEAF;
    f->leaf_index[me] = li;
    for (int32_t k = 0; k < L->dim; k++) {
        const tm_json *x = v->type == TM_JSON_ARRAY ? tm_json_at(v, (size_t)k) : v;
        tm_status st = tm_json_expect(&L->j, x, v, where, "value", TM_JSON_NUMBER);
        if (st != TM_OK) {
            return st;
        }
        f->leaf_values[(size_t)li * (size_t)L->dim + (size_t)k] = x->num;
    }
    return TM_OK;
}

/* Walks the subtree at node in pre-order. Counting (fill false) checks its
 * shape and advances the cursors; filling writes the IR: children as
 * absolute node indices, right when the split's outcome is 1. */
static tm_status walk(loader *L, const tm_json *node, int32_t first, const char *tree, int depth,
                      bool fill)
{
    tm_forest *f = L->f;
    const tm_json *split = tm_json_get(node, "split"), *left = NULL, *right = NULL;
    char where[96], sw[112];
    int32_t me = L->next_node;
    uint8_t nan_one = 0;
    tm_status st = TM_OK;
    snprintf(where, sizeof where, "%s.node[%d]", tree, (int)(me - first));
    CHECK(tm_json_expect(&L->j, node, NULL, where, NULL, TM_JSON_OBJECT));
    if (depth > MAX_NODE_DEPTH || me == INT32_MAX || L->next_leaf == INT32_MAX) {
        st = tm_json_fail(&L->j, TM_E_RANGE, node, where, NULL, "tree deeper than %d or too large",
                          MAX_NODE_DEPTH);
        goto done;
    }
    L->next_node++;
    if (!split) {
        st = walk_leaf(L, node, me, where, fill);
        goto done;
    }
    CHECK(tm_json_member(&L->j, node, where, "left", TM_JSON_OBJECT, false, &left));
    CHECK(tm_json_member(&L->j, node, where, "right", TM_JSON_OBJECT, false, &right));
    if (fill) {
        snprintf(sw, sizeof sw, "%s.split", where);
        CHECK(load_split(L, split, sw, &f->feature[me], &f->threshold_f[me], &nan_one));
        f->threshold[me] = (double)f->threshold_f[me];
        f->flags[me] = nan_one ? 0 : TM__NODE_NAN_LEFT; /* AsTrue: NaN above every border */
        f->left[me] = L->next_node;
    }
    CHECK(walk(L, left, first, tree, depth + 1, fill));
    if (fill) {
        f->right[me] = L->next_node;
    }
    CHECK(walk(L, right, first, tree, depth + 1, fill));
done:
    return st;
}

/* Pass 0 counts (and finds D), pass 1 fills the arrays pass 0 sized. */
static tm_status load_nonsym(loader *L, const tm_json *trees)
{
    tm_forest *f = L->f;
    char where[64];
    tm_status st;
    CHECK(tm__forest_alloc_trees(f, (int32_t)trees->len, L->j.err));
    for (int pass = 0; pass < 2; pass++) {
        L->next_node = L->next_leaf = 0;
        for (int32_t t = 0; t < f->n_trees; t++) {
            snprintf(where, sizeof where, "trees[%d]", (int)t);
            f->tree_first[t] = L->next_node;
            CHECK(walk(L, tm_json_at(trees, (size_t)t), L->next_node, where, 0, pass == 1));
            f->tree_n_nodes[t] = L->next_node - f->tree_first[t];
        }
        L->dim = L->dim ? L->dim : 1;
        if ((int64_t)L->next_leaf * L->dim > INT32_MAX) {
            st = tm_json_fail(&L->j, TM_E_RANGE, trees, "trees", NULL,
                              "model too large (over 2^31 values)");
            goto done;
        }
        f->leaf_dim = L->dim;
        if (pass == 0) {
            CHECK(tm__forest_alloc_nodes(f, L->next_node, L->next_leaf, L->j.err));
        }
    }
done:
    return st;
}

/* ---- entry point ------------------------------------------------------- */

tm_status tm__forest_load_catboost_json(const char *text, size_t len, const char *path,
                                        const tm_forest_load_opts *opts, tm_forest **out,
                                        tm_err *err)
{
    tm_json_doc *doc = NULL;
    loader L = {.j = {.path = path, .has_lines = true, .err = err}};
    tm_status st;
    (void)opts; /* the export is complete: nothing to take from options */
    *out = NULL;
    CHECK(tm_json_parse(text, len, path, &doc, err));
    const tm_json *root = tm_json_root(doc);
    const tm_json *obl = tm_json_get(root, "oblivious_trees"), *trees = tm_json_get(root, "trees");
    const char *key = obl ? "oblivious_trees" : "trees";
    if (!obl == !trees) {
        st = tm_json_fail(
                &L.j, obl ? TM_E_PARSE : TM_E_FORMAT, root, NULL, NULL,
                obl ? "both 'oblivious_trees' and 'trees' are present"
                    : "not a catboost model: no 'oblivious_trees' or 'trees' at the top level");
        goto done;
    }
    CHECK(tm_json_expect(&L.j, obl ? obl : trees, root, NULL, key, TM_JSON_ARRAY));
    if ((obl ? obl : trees)->len > INT32_MAX) {
        st = tm_json_fail(&L.j, TM_E_RANGE, root, NULL, key, "too many trees");
        goto done;
    }
    CHECK(tm__forest_new(&L.f, err));
    L.f->family = TM_FOREST_CATBOOST;
    L.f->format = TM_FOREST_FORMAT_CATBOOST_JSON;
    L.f->cmp = TM__CMP_LE_F32; /* left (outcome 0) when float32(x) <= border */
    L.f->sum_f32 = false;      /* leaves are summed in double, bias added last */
    CHECK(load_features(&L, root));
    /* D: the bias vector's length, else the trees' shape (older exports) */
    const tm_json *bias = tm_json_at(tm_json_get(root, "scale_and_bias"), 1);
    if (bias && bias->type == TM_JSON_ARRAY && bias->len >= 1 && bias->len <= MAX_DIM) {
        L.dim = (int32_t)bias->len;
    }
    CHECK(obl ? load_oblivious(&L, obl) : load_nonsym(&L, trees));
    CHECK(load_scale_bias(&L, root));
    CHECK(set_objective(&L, root));
    CHECK(tm__forest_finish(L.f, path, err));
    *out = L.f;
    L.f = NULL;
done:
    tm_forest_free(L.f);
    tm_free(L.float_col);
    tm_free(L.float_nan_one);
    tm_json_doc_free(doc);
    return st;
}
