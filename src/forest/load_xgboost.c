/* XGBoost save_model() files, JSON and UBJSON, into the forest IR. Both
 * parse into the core JSON document; one walker then reads the learner
 * (parameters, objective, feature names), the booster (gbtree or dart) and
 * the struct-of-arrays trees (see formats/xgboost.md §1-5). The objective
 * table is in load_xgboost_objective.c. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "forest/forest_int.h"
#include "forest/predict_int.h"

/* Category codes at or above this never match (src/common/categorical.h). */
#define MAX_CATEGORY 16777216
/* Cap on all categorical bitsets together (32-bit words): 64 MiB. */
#define MAX_CAT_WORDS (1L << 24)

/* ---- document access with errors that say where ----------------------- */

typedef struct walk {
    const char *path;
    bool has_lines; /* JSON text: tm_json.line is a line (UBJSON: an offset) */
    tm_err *err;
} walk;

static tm_status fail(const walk *w, tm_status st, const tm_json *at, const char *field,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static tm_status fail(const walk *w, tm_status st, const tm_json *at, const char *field,
                      const char *fmt, ...)
{
    char reason[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    long line = w->has_lines && at ? at->line : 0;
    return TM_ERR(w->err, st, w->path, line, field, "%s", reason);
}

static const char *type_word(tm_json_type type)
{
    static const char *const words[] = {"null",     "a boolean", "a number",
                                        "a string", "an array",  "an object"};
    return words[type];
}

static const char *type_name(const tm_json *j)
{
    return j ? type_word(j->type) : "nothing";
}

/* Member key of obj, which must be of type; field names it in messages. */
static tm_status member(const walk *w, const tm_json *obj, const char *key, tm_json_type type,
                        const char *field, const tm_json **out)
{
    const tm_json *j = tm_json_get(obj, key);
    *out = j;
    if (!j) {
        return fail(w, TM_E_PARSE, obj, field, "missing key '%s'", key);
    }
    if (j->type != type) {
        return fail(w, TM_E_PARSE, j, field, "expected %s, found %s", type_word(type),
                    type_name(j));
    }
    return TM_OK;
}

/* An integer-valued number (or boolean) as int64. */
static bool as_int(const tm_json *j, int64_t *v)
{
    if (j && j->type == TM_JSON_BOOL) {
        *v = j->boolean;
        return true;
    }
    if (!j || j->type != TM_JSON_NUMBER) {
        return false;
    }
    if (j->is_int) {
        *v = j->inum;
        return true;
    }
    if (!(j->num >= -9.0e18 && j->num <= 9.0e18) || j->num != floor(j->num)) {
        return false;
    }
    *v = (int64_t)j->num;
    return true;
}

/* Element i of array arr as an integer in [lo, hi]. */
static tm_status int_at(const walk *w, const tm_json *arr, size_t i, int64_t lo, int64_t hi,
                        const char *field, int64_t *v)
{
    const tm_json *j = tm_json_at(arr, i);
    if (!as_int(j, v)) {
        return fail(w, TM_E_PARSE, j ? j : arr, field, "element %zu: expected an integer, found %s",
                    i, type_name(j));
    }
    if (*v < lo || *v > hi) {
        return fail(w, TM_E_PARSE, j, field, "element %zu: %lld outside %lld..%lld", i,
                    (long long)*v, (long long)lo, (long long)hi);
    }
    return TM_OK;
}

/* Element i of arr as float32 (exact from UBJSON, correctly rounded from
 * JSON text; formats/xgboost.md §1: parse with strtof, not via double). */
static tm_status f32_at(const walk *w, const tm_json *arr, size_t i, const char *field, float *v)
{
    const tm_json *j = tm_json_at(arr, i);
    if (!j || j->type != TM_JSON_NUMBER) {
        return fail(w, TM_E_PARSE, j ? j : arr, field, "element %zu: expected a number, found %s",
                    i, type_name(j));
    }
    *v = tm_json_f32(j);
    return TM_OK;
}

/* A learner parameter: XGBoost writes numbers as strings ("3", "5E-1"). */
static tm_status param_num(const walk *w, const tm_json *obj, const char *key, bool required,
                           double dflt, double *out)
{
    const tm_json *j = tm_json_get(obj, key);
    *out = dflt;
    if (!j) {
        return required ? fail(w, TM_E_PARSE, obj, key, "missing key '%s'", key) : TM_OK;
    }
    if (j->type == TM_JSON_NUMBER) {
        *out = j->num;
        return TM_OK;
    }
    if (j->type != TM_JSON_STRING) {
        return fail(w, TM_E_PARSE, j, key, "expected a number, found %s", type_name(j));
    }
    if (!tm_parse_double(j->str, j->len, out)) {
        return fail(w, TM_E_PARSE, j, key, "expected a number, found \"%.40s\"", j->str);
    }
    return TM_OK;
}

/* An integer parameter in [lo, hi]; a dflt below lo makes it required. */
static tm_status param_int(const walk *w, const tm_json *obj, const char *key, int64_t lo,
                           int64_t hi, int64_t dflt, int64_t *out)
{
    double d;
    tm_status st = param_num(w, obj, key, dflt < lo, (double)dflt, &d);
    if (st != TM_OK) {
        return st;
    }
    if (d != floor(d) || d < (double)lo || d > (double)hi) {
        return fail(w, TM_E_PARSE, tm_json_get(obj, key), key,
                    "expected an integer in %lld..%lld, found %.17g", (long long)lo, (long long)hi,
                    d);
    }
    *out = (int64_t)d;
    return TM_OK;
}

/* base_score: "5E-1" (1.x, 2.0) or "[5E-1]" / "[a,b,c]" (2.1+), as float32. */
static tm_status parse_base_score(const walk *w, const tm_json *lmp, float *b, size_t cap,
                                  size_t *n_b)
{
    const tm_json *j = tm_json_get(lmp, "base_score");
    *n_b = 1;
    b[0] = 0.5f;
    if (!j) {
        return TM_OK; /* XGBoost's default (formats/xgboost.md §5) */
    }
    if (j->type == TM_JSON_NUMBER) {
        b[0] = tm_json_f32(j);
        return TM_OK;
    }
    if (j->type != TM_JSON_STRING) {
        return fail(w, TM_E_PARSE, j, "base_score", "expected a string, found %s", type_name(j));
    }
    const char *s = j->str, *end = s + j->len;
    bool vec = j->len >= 2 && s[0] == '[' && end[-1] == ']';
    if (vec) {
        s++;
        end--;
    }
    size_t n = 0;
    for (;;) {
        const char *e = s;
        while (vec && e < end && *e != ',') {
            e++;
        }
        if (!vec) {
            e = end;
        }
        while (s < e && (*s == ' ' || *s == '\t')) {
            s++;
        }
        size_t tl = (size_t)(e - s);
        while (tl && (s[tl - 1] == ' ' || s[tl - 1] == '\t')) {
            tl--;
        }
        if (n == cap || !tm_parse_float(s, tl, &b[n])) {
            return fail(w, TM_E_PARSE, j, "base_score",
                        "expected a number or a list of numbers, found \"%.60s\"", j->str);
        }
        n++;
        if (e == end) {
            break;
        }
        s = e + 1;
    }
    *n_b = n;
    return TM_OK;
}

/* ---- trees ------------------------------------------------------------- */

/* The arrays of one tree (RegTree::SaveModel, src/tree/tree_model.cc). */
typedef struct tree_view {
    const tm_json *lc, *rc, *si, *sc, *dl, *st;             /* st NULL: all numerical */
    const tm_json *cats, *cat_nodes, *cat_segs, *cat_sizes; /* NULL: none */
    size_t n;
} tree_view;

/* Running totals over the trees: where the next tree's parts go. */
typedef struct cursor {
    int64_t nodes, leaves, words;
} cursor;

static tm_status tree_array(const walk *w, const tm_json *tree, const char *key, int32_t t,
                            bool required, size_t n, const tm_json **out)
{
    char field[64];
    snprintf(field, sizeof field, "trees[%d].%s", t, key);
    const tm_json *a = tm_json_get(tree, key);
    *out = NULL;
    if (!a && !required) {
        return TM_OK;
    }
    tm_status st = member(w, tree, key, TM_JSON_ARRAY, field, out);
    if (st == TM_OK && n != (size_t)-1 && a->len != n) {
        st = fail(w, TM_E_PARSE, a, field, "expected %zu elements, found %zu", n, a->len);
    }
    return st;
}

static tm_status tree_view_get(const walk *w, const tm_json *tree, int32_t t, tree_view *v)
{
    char field[64];
    snprintf(field, sizeof field, "trees[%d]", t);
    memset(v, 0, sizeof *v);
    if (!tree || tree->type != TM_JSON_OBJECT) {
        return fail(w, TM_E_PARSE, tree, field, "expected an object, found %s", type_name(tree));
    }
    int64_t leaf_vec = 0;
    const tm_json *tp = tm_json_get(tree, "tree_param");
    tm_status st = param_int(w, tp, "size_leaf_vector", 0, INT32_MAX, 0, &leaf_vec);
    if (st == TM_OK && leaf_vec > 1) {
        return fail(w, TM_E_FORMAT, tp, field,
                    "multi-output trees (size_leaf_vector %lld) are not supported",
                    (long long)leaf_vec);
    }
    st = st ? st : tree_array(w, tree, "left_children", t, true, (size_t)-1, &v->lc);
    if (st != TM_OK) {
        return st;
    }
    v->n = v->lc->len;
    if (v->n == 0) {
        return fail(w, TM_E_PARSE, v->lc, field, "a tree needs at least one node");
    }
    st = tree_array(w, tree, "right_children", t, true, v->n, &v->rc);
    st = st ? st : tree_array(w, tree, "split_indices", t, true, v->n, &v->si);
    st = st ? st : tree_array(w, tree, "split_conditions", t, true, v->n, &v->sc);
    st = st ? st : tree_array(w, tree, "default_left", t, true, v->n, &v->dl);
    st = st ? st : tree_array(w, tree, "split_type", t, false, v->n, &v->st);
    bool has_cats = tm_json_get(tree, "categories_nodes") != NULL;
    st = st ? st : tree_array(w, tree, "categories_nodes", t, false, (size_t)-1, &v->cat_nodes);
    size_t n_cat_nodes = v->cat_nodes ? v->cat_nodes->len : 0;
    st = st ? st
            : tree_array(w, tree, "categories_segments", t, has_cats, n_cat_nodes, &v->cat_segs);
    st = st ? st : tree_array(w, tree, "categories_sizes", t, has_cats, n_cat_nodes, &v->cat_sizes);
    st = st ? st : tree_array(w, tree, "categories", t, has_cats, (size_t)-1, &v->cats);
    return st;
}

/* Reads the category sets of tree t (first = its first node): checks
 * them, counts their bitset words and, when fill, sets the bits. XGBoost
 * stores each node's set as a slice of `categories` (formats/xgboost.md §3). */
static tm_status tree_categories(const walk *w, tm_forest *f, const tree_view *v, int32_t t,
                                 int32_t first, bool fill, cursor *c)
{
    char field[64];
    snprintf(field, sizeof field, "trees[%d].categories", t);
    size_t n_sets = v->cat_nodes ? v->cat_nodes->len : 0;
    size_t n_cats = v->cats ? v->cats->len : 0;
    for (size_t k = 0; k < n_sets; k++) {
        int64_t nd, seg, size, typ = 0, lc, cat, max_cat = -1;
        tm_status st = int_at(w, v->cat_nodes, k, 0, (int64_t)v->n - 1, field, &nd);
        st = st ? st : int_at(w, v->cat_segs, k, 0, (int64_t)n_cats, field, &seg);
        st = st ? st : int_at(w, v->cat_sizes, k, 0, (int64_t)n_cats - seg, field, &size);
        st = st ? st : int_at(w, v->lc, (size_t)nd, -1, INT32_MAX, field, &lc);
        if (st == TM_OK && v->st) {
            st = int_at(w, v->st, (size_t)nd, 0, 1, field, &typ);
        }
        if (st != TM_OK) {
            return st;
        }
        if (lc == -1 || typ != 1) {
            return fail(w, TM_E_PARSE, v->cat_nodes, field,
                        "node %lld has a category set but is not a categorical split",
                        (long long)nd);
        }
        for (int64_t i = seg; i < seg + size; i++) {
            st = int_at(w, v->cats, (size_t)i, 0, MAX_CATEGORY - 1, field, &cat);
            if (st != TM_OK) {
                return st;
            }
            max_cat = cat > max_cat ? cat : max_cat;
            if (fill) {
                f->cat_bits[c->words + cat / 32] |= 1u << (cat % 32);
            }
        }
        int64_t words = max_cat < 0 ? 0 : max_cat / 32 + 1;
        if (fill) {
            if (f->cat_n_words[first + nd] != 0) {
                return fail(w, TM_E_PARSE, v->cat_nodes, field, "node %lld has two category sets",
                            (long long)nd);
            }
            f->cat_first[first + nd] = (int32_t)c->words;
            f->cat_n_words[first + nd] = (int32_t)words;
        }
        c->words += words;
        if (c->words > MAX_CAT_WORDS) {
            return fail(w, TM_E_RANGE, v->cats, field, "category sets too large (over %ld words)",
                        MAX_CAT_WORDS);
        }
    }
    return TM_OK;
}

/* Reads the nodes of tree t: checks every index, counts nodes and leaves
 * and, when fill, writes them into f at the cursor. A node is a leaf iff
 * its left child is -1; a leaf's split_condition is its value. */
static tm_status tree_nodes(const walk *w, tm_forest *f, const tree_view *v, int32_t t, bool fill,
                            cursor *c)
{
    static const char *const keys[] = {"left_children", "right_children", "split_conditions",
                                       "split_indices", "default_left",   "split_type"};
    char fld[6][48]; /* field names for messages, once per tree */
    for (int a = 0; a < 6; a++) {
        snprintf(fld[a], sizeof fld[a], "trees[%d].%s", t, keys[a]);
    }
    int32_t first = (int32_t)c->nodes;
    int64_t last = (int64_t)v->n - 1;
    for (size_t i = 0; i < v->n; i++) {
        int64_t lc, rc, feat = 0, dl = 0, typ = 0;
        float cond = 0.0f;
        tm_status st = int_at(w, v->lc, i, -1, last, fld[0], &lc);
        st = st ? st : int_at(w, v->rc, i, -1, last, fld[1], &rc);
        st = st ? st : f32_at(w, v->sc, i, fld[2], &cond);
        if (st == TM_OK && lc != -1) {
            st = int_at(w, v->si, i, 0, INT32_MAX, fld[3], &feat);
            st = st ? st : int_at(w, v->dl, i, 0, 1, fld[4], &dl);
            st = st || !v->st ? st : int_at(w, v->st, i, 0, 1, fld[5], &typ);
            if (st == TM_OK && rc == -1) {
                st = fail(w, TM_E_PARSE, v->rc, fld[1],
                          "node %zu has a left child but no right child", i);
            }
        }
        if (st != TM_OK) {
            return st;
        }
        int32_t nd = first + (int32_t)i;
        if (lc == -1) {
            if (fill) {
                f->flags[nd] = TM__NODE_LEAF;
                f->leaf_index[nd] = (int32_t)c->leaves;
                f->leaf_values[c->leaves] = (double)cond;
            }
            c->leaves++;
        } else if (fill) {
            f->feature[nd] = (int32_t)feat;
            f->threshold[nd] = (double)cond;
            f->threshold_f[nd] = cond;
            f->left[nd] = first + (int32_t)lc;
            f->right[nd] = first + (int32_t)rc;
            f->flags[nd] =
                    (uint8_t)((dl ? TM__NODE_NAN_LEFT : 0) | (typ == 1 ? TM__NODE_CATEGORICAL : 0));
        }
    }
    c->nodes += (int64_t)v->n;
    if (c->nodes > INT32_MAX) {
        return fail(w, TM_E_RANGE, v->lc, "trees", "too many nodes (over %d)", INT32_MAX);
    }
    return tree_categories(w, f, v, t, first, fill, c);
}

/* Walks every tree twice: once to count (and check), once to fill. */
static tm_status read_trees(const walk *w, tm_forest *f, const tm_json *trees)
{
    cursor c = {0, 0, 0};
    tree_view v;
    tm_status st = TM_OK;
    for (int32_t t = 0; t < f->n_trees && st == TM_OK; t++) {
        f->tree_first[t] = (int32_t)c.nodes;
        st = tree_view_get(w, tm_json_at(trees, (size_t)t), t, &v);
        st = st ? st : tree_nodes(w, f, &v, t, false, &c);
        f->tree_n_nodes[t] = (int32_t)v.n;
    }
    st = st ? st : tm__forest_alloc_nodes(f, (int32_t)c.nodes, (int32_t)c.leaves, w->err);
    st = st ? st : tm__forest_alloc_cats(f, (int32_t)c.words, w->err);
    c = (cursor){0, 0, 0};
    for (int32_t t = 0; t < f->n_trees && st == TM_OK; t++) {
        st = tree_view_get(w, tm_json_at(trees, (size_t)t), t, &v);
        st = st ? st : tree_nodes(w, f, &v, t, true, &c);
    }
    return st;
}

/* ---- learner and booster ---------------------------------------------- */

static tm_status read_feature_names(const walk *w, tm_forest *f, const tm_json *learner)
{
    const tm_json *names = tm_json_get(learner, "feature_names");
    if (!names || names->type != TM_JSON_ARRAY || names->len == 0) {
        return TM_OK; /* empty when the model was trained without names */
    }
    if (names->len != (size_t)f->n_features) {
        return fail(w, TM_E_PARSE, names, "feature_names", "expected %d names, found %zu",
                    f->n_features, names->len);
    }
    f->feature_names = tm_calloc(names->len, sizeof *f->feature_names);
    if (!f->feature_names) {
        return TM_ERR(w->err, TM_E_NOMEM, w->path, 0, NULL, "out of memory");
    }
    for (size_t i = 0; i < names->len; i++) {
        const tm_json *s = tm_json_at(names, i);
        if (s->type != TM_JSON_STRING) {
            return fail(w, TM_E_PARSE, s, "feature_names",
                        "element %zu: expected a string, found %s", i, type_name(s));
        }
        f->feature_names[i] = tm_strdup(s->str);
        if (!f->feature_names[i]) {
            return TM_ERR(w->err, TM_E_NOMEM, w->path, 0, NULL, "out of memory");
        }
    }
    return TM_OK;
}

/* The gbtree model object and, for dart, the per-tree weights. */
static tm_status read_booster(const walk *w, const tm_json *learner, const tm_json **model,
                              const tm_json **weights)
{
    const tm_json *gb, *name, *inner;
    *weights = NULL;
    tm_status st = member(w, learner, "gradient_booster", TM_JSON_OBJECT, "gradient_booster", &gb);
    st = st ? st : member(w, gb, "name", TM_JSON_STRING, "gradient_booster.name", &name);
    if (st != TM_OK) {
        return st;
    }
    if (strcmp(name->str, "gbtree") == 0) {
        return member(w, gb, "model", TM_JSON_OBJECT, "gradient_booster.model", model);
    }
    if (strcmp(name->str, "dart") == 0) {
        st = member(w, gb, "gbtree", TM_JSON_OBJECT, "gradient_booster.gbtree", &inner);
        st = st ? st : member(w, inner, "model", TM_JSON_OBJECT, "gbtree.model", model);
        return st ? st : member(w, gb, "weight_drop", TM_JSON_ARRAY, "weight_drop", weights);
    }
    if (strcmp(name->str, "gblinear") == 0) {
        return fail(w, TM_E_FORMAT, name, "gradient_booster",
                    "not a tree model: booster 'gblinear' is a linear model");
    }
    return fail(w, TM_E_FORMAT, name, "gradient_booster", "unsupported booster '%.60s'", name->str);
}

/* Model-level parameters: outputs, features, objective and base margins. */
static tm_status read_learner(const walk *w, tm_forest *f, const tm_json *learner)
{
    const tm_json *lmp, *obj, *name;
    int64_t n_feat = 0, n_class = 0, n_target = 1;
    float b[TM__MAX_OUTPUTS];
    size_t n_b = 1;
    tm_status st =
            member(w, learner, "learner_model_param", TM_JSON_OBJECT, "learner_model_param", &lmp);
    st = st ? st : member(w, learner, "objective", TM_JSON_OBJECT, "objective", &obj);
    st = st ? st : member(w, obj, "name", TM_JSON_STRING, "objective.name", &name);
    st = st ? st : param_int(w, lmp, "num_feature", 0, INT32_MAX, -1, &n_feat);
    st = st ? st : param_int(w, lmp, "num_class", 0, TM__MAX_OUTPUTS, 0, &n_class);
    st = st ? st : param_int(w, lmp, "num_target", 1, TM__MAX_OUTPUTS, 1, &n_target);
    st = st ? st : parse_base_score(w, lmp, b, TM__MAX_OUTPUTS, &n_b);
    if (st != TM_OK) {
        return st;
    }
    f->n_features = (int32_t)n_feat;
    int64_t n_out = n_class > n_target ? n_class : n_target;
    st = tm__forest_alloc_outputs(f, (int32_t)n_out, w->err);
    st = st ? st : tm__forest_xgboost_objective(f, name->str, b, n_b, w->path, w->err);
    return st ? st : read_feature_names(w, f, learner);
}

/* Trees, their output groups (tree_info) and dart weights. */
static tm_status read_model(const walk *w, tm_forest *f, const tm_json *model,
                            const tm_json *weights)
{
    const tm_json *trees, *info;
    int64_t n_par = 1, v;
    tm_status st = member(w, model, "trees", TM_JSON_ARRAY, "trees", &trees);
    st = st ? st : member(w, model, "tree_info", TM_JSON_ARRAY, "tree_info", &info);
    st = st ? st
            : param_int(w, tm_json_get(model, "gbtree_model_param"), "num_parallel_tree", 1,
                        INT32_MAX, 1, &n_par);
    if (st != TM_OK) {
        return st;
    }
    if (trees->len > INT32_MAX || info->len != trees->len) {
        return fail(w, TM_E_PARSE, info, "tree_info",
                    "expected %zu entries (one per tree), found %zu", trees->len, info->len);
    }
    if (weights && weights->len != trees->len) {
        return fail(w, TM_E_PARSE, weights, "weight_drop",
                    "expected %zu weights (one per tree), found %zu", trees->len, weights->len);
    }
    st = tm__forest_alloc_trees(f, (int32_t)trees->len, w->err);
    for (int32_t t = 0; t < f->n_trees && st == TM_OK; t++) {
        st = int_at(w, info, (size_t)t, 0, f->n_outputs - 1, "tree_info", &v);
        f->tree_output[t] = (int32_t)v;
        if (st == TM_OK && weights) {
            float wt;
            st = f32_at(w, weights, (size_t)t, "weight_drop", &wt);
            f->tree_weight[t] = (double)wt;
        }
    }
    /* One iteration = n_outputs x num_parallel_tree trees (§4). */
    int64_t per_round = (int64_t)f->n_outputs * n_par;
    f->n_iterations = (int32_t)((f->n_trees + per_round - 1) / per_round);
    return st ? st : read_trees(w, f, trees);
}

static tm_status load_doc(const walk *w, const tm_json *root, tm_forest_format format,
                          tm_forest **out)
{
    tm_forest *f = NULL;
    const tm_json *learner = tm_json_get(root, "learner"), *model = NULL, *weights = NULL;
    tm_status st;
    if (!learner || learner->type != TM_JSON_OBJECT) {
        st = fail(w, TM_E_FORMAT, root, "learner",
                  "not an xgboost model: no 'learner' object at the top level");
        goto done;
    }
    st = tm__forest_new(&f, w->err);
    if (st != TM_OK) {
        goto done;
    }
    f->format = format;
    st = read_booster(w, learner, &model, &weights);
    st = st ? st : read_learner(w, f, learner);
    st = st ? st : read_model(w, f, model, weights);
    st = st ? st : tm__forest_finish(f, w->path, w->err);
done:
    if (st != TM_OK) {
        tm_forest_free(f);
        f = NULL;
    }
    *out = f;
    return st;
}

tm_status tm__forest_load_xgboost_json(const char *text, size_t len, const char *path,
                                       const tm_forest_load_opts *opts, tm_forest **out,
                                       tm_err *err)
{
    (void)opts; /* complete models carry their own objective and base score */
    tm_json_doc *doc = NULL;
    walk w = {path, true, err};
    *out = NULL;
    tm_status st = tm_json_parse(text, len, path, &doc, err);
    if (st == TM_OK) {
        st = load_doc(&w, tm_json_root(doc), TM_FOREST_FORMAT_XGBOOST_JSON, out);
    }
    tm_json_doc_free(doc);
    return st;
}

tm_status tm__forest_load_xgboost_ubjson(const unsigned char *data, size_t len, const char *path,
                                         const tm_forest_load_opts *opts, tm_forest **out,
                                         tm_err *err)
{
    (void)opts;
    tm_json_doc *doc = NULL;
    walk w = {path, false, err};
    *out = NULL;
    tm_status st = tm_ubjson_parse(data, len, path, &doc, err);
    if (st == TM_OK) {
        st = load_doc(&w, tm_json_root(doc), TM_FOREST_FORMAT_XGBOOST_UBJSON, out);
    }
    tm_json_doc_free(doc);
    return st;
}
