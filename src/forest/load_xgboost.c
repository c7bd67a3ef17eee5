/* XGBoost save_model() files, JSON and UBJSON, into the forest IR. Both
 * parse into the core JSON document; one walker then reads the learner
 * (parameters, objective, feature names), the booster (gbtree or dart) and
 * the struct-of-arrays trees (see formats/xgboost.md §1-5). The objective
 * table is in load_xgboost_objective.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "forest/forest_int.h"
#include "forest/predict_int.h"

/* Category codes at or above this never match (src/common/categorical.h). */
#define MAX_CATEGORY 16777216
/* Cap on all categorical bitsets together (32-bit words): 64 MiB. */
#define MAX_CAT_WORDS (1L << 24)

/* Typed reads with errors naming the value's path: core's tm_json getters.
 * The learner's paths, for messages. */
#define P_LEARNER "learner"
#define P_LMP     "learner.learner_model_param"
#define P_GB      "learner.gradient_booster"

typedef tm_json_ctx walk;

static tm_status nomem(const walk *w)
{
    return TM_ERR(w->err, TM_E_NOMEM, w->path, 0, NULL, "out of memory");
}

/* A parameter at where.key: XGBoost writes numbers as strings ("3",
 * "5E-1"); a number is accepted too. Missing: dflt unless required. */
static tm_status param_num(const walk *w, const tm_json *obj, const char *where, const char *key,
                           bool required, double dflt, double *out)
{
    const tm_json *j = tm_json_get(obj, key);
    char buf[64];
    *out = dflt;
    if (!j) {
        return required ? tm_json_fail(w, TM_E_PARSE, obj, where, key, "missing") : TM_OK;
    }
    if (j->type == TM_JSON_NUMBER) {
        *out = j->num;
        return TM_OK;
    }
    if (j->type != TM_JSON_STRING || !tm_parse_double(j->str, j->len, out)) {
        return tm_json_fail(w, TM_E_PARSE, j, where, key, "expected a number, found %s",
                            tm_json_found(j, buf, sizeof buf));
    }
    return TM_OK;
}

/* An integer parameter in [lo, hi]; a dflt below lo makes it required. */
static tm_status param_int(const walk *w, const tm_json *obj, const char *where, const char *key,
                           int64_t lo, int64_t hi, int64_t dflt, int64_t *out)
{
    double d;
    tm_status st = param_num(w, obj, where, key, dflt < lo, (double)dflt, &d);
    if (st != TM_OK) {
        return st;
    }
    if (d != floor(d) || d < (double)lo || d > (double)hi) {
        return tm_json_fail(w, TM_E_PARSE, tm_json_get(obj, key), where, key,
                            "expected an integer in %lld..%lld, found %.17g", (long long)lo,
                            (long long)hi, d);
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
    if (!j) { /* every version writes it; a default would be a guess */
        return tm_json_fail(w, TM_E_PARSE, lmp, P_LMP, "base_score", "missing");
    }
    if (j->type == TM_JSON_NUMBER) {
        b[0] = tm_json_f32(j);
        return TM_OK;
    }
    tm_status st = tm_json_expect(w, j, lmp, P_LMP, "base_score", TM_JSON_STRING);
    if (st != TM_OK) {
        return st;
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
            return tm_json_fail(w, TM_E_PARSE, j, P_LMP, "base_score",
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

/* The path of tree t's key (NULL: the tree itself) into buf. */
static const char *tree_path(const char *model, int32_t t, const char *key, char *buf, size_t len)
{
    snprintf(buf, len, "%s.trees[%d]%s%s", model, (int)t, key ? "." : "", key ? key : "");
    return buf;
}

static tm_status tree_view_get(const walk *w, const char *model, const tm_json *trees, int32_t t,
                               tree_view *v)
{
    char where[128];
    const tm_json *tree = tm_json_at(trees, (size_t)t), *tp = NULL;
    tree_path(model, t, NULL, where, sizeof where);
    memset(v, 0, sizeof *v);
    int64_t leaf_vec = 0;
    tm_status st = tm_json_expect(w, tree, trees, where, NULL, TM_JSON_OBJECT);
    st = st ? st : tm_json_member(w, tree, where, "tree_param", TM_JSON_OBJECT, true, &tp);
    char tpw[160];
    snprintf(tpw, sizeof tpw, "%s.tree_param", where);
    st = st ? st : param_int(w, tp, tpw, "size_leaf_vector", 0, INT32_MAX, 0, &leaf_vec);
    if (st == TM_OK && leaf_vec > 1) {
        return tm_json_fail(w, TM_E_FORMAT, tp, where, NULL,
                            "multi-output trees (size_leaf_vector %lld) are not supported",
                            (long long)leaf_vec);
    }
    st = st ? st
            : tm_json_member_nums(w, tree, where, "left_children", TM_JSON_ANY_LEN, false, &v->lc);
    if (st != TM_OK) {
        return st;
    }
    v->n = v->lc->len;
    if (v->n == 0) {
        return tm_json_fail(w, TM_E_PARSE, v->lc, where, "left_children",
                            "a tree needs at least one node");
    }
    st = tm_json_member_nums(w, tree, where, "right_children", v->n, false, &v->rc);
    st = st ? st : tm_json_member_nums(w, tree, where, "split_indices", v->n, false, &v->si);
    st = st ? st : tm_json_member_nums(w, tree, where, "split_conditions", v->n, false, &v->sc);
    st = st ? st : tm_json_member(w, tree, where, "default_left", TM_JSON_ARRAY, false, &v->dl);
    if (st == TM_OK && v->dl->len != v->n) {
        return tm_json_fail(w, TM_E_PARSE, v->dl, where, "default_left",
                            "expected %zu flags, found %zu", v->n, v->dl->len);
    }
    st = st ? st : tm_json_member_nums(w, tree, where, "split_type", v->n, true, &v->st);
    bool has_cats = tm_json_get(tree, "categories_nodes") != NULL;
    st = st ? st
            : tm_json_member_nums(w, tree, where, "categories_nodes", TM_JSON_ANY_LEN, true,
                                  &v->cat_nodes);
    size_t n_cat_nodes = v->cat_nodes ? v->cat_nodes->len : 0;
    st = st ? st
            : tm_json_member_nums(w, tree, where, "categories_segments", n_cat_nodes, !has_cats,
                                  &v->cat_segs);
    st = st ? st
            : tm_json_member_nums(w, tree, where, "categories_sizes", n_cat_nodes, !has_cats,
                                  &v->cat_sizes);
    st = st ? st
            : tm_json_member_nums(w, tree, where, "categories", TM_JSON_ANY_LEN, !has_cats,
                                  &v->cats);
    return st;
}

/* Reads the category sets of tree t (first = its first node): checks
 * them, counts their bitset words and, when fill, sets the bits. XGBoost
 * stores each node's set as a slice of `categories` (formats/xgboost.md §3). */
static tm_status tree_categories(const walk *w, tm_forest *f, const tree_view *v, const char *model,
                                 int32_t t, int32_t first, bool fill, cursor *c)
{
    char fc[160], fn[160], fs[160], fz[160], fl[160], ft[160];
    size_t n_sets = v->cat_nodes ? v->cat_nodes->len : 0;
    if (n_sets == 0) {
        return TM_OK;
    }
    tree_path(model, t, "categories", fc, sizeof fc);
    tree_path(model, t, "categories_nodes", fn, sizeof fn);
    tree_path(model, t, "categories_segments", fs, sizeof fs);
    tree_path(model, t, "categories_sizes", fz, sizeof fz);
    tree_path(model, t, "left_children", fl, sizeof fl);
    tree_path(model, t, "split_type", ft, sizeof ft);
    size_t n_cats = v->cats ? v->cats->len : 0;
    for (size_t k = 0; k < n_sets; k++) {
        int64_t nd, seg, size, typ = 0, lc, cat, max_cat = -1;
        tm_status st = tm_json_int_at(w, v->cat_nodes, fn, k, 0, (int64_t)v->n - 1, &nd);
        st = st ? st : tm_json_int_at(w, v->cat_segs, fs, k, 0, (int64_t)n_cats, &seg);
        st = st ? st : tm_json_int_at(w, v->cat_sizes, fz, k, 0, (int64_t)n_cats - seg, &size);
        st = st ? st : tm_json_int_at(w, v->lc, fl, (size_t)nd, -1, INT32_MAX, &lc);
        if (st == TM_OK && v->st) {
            st = tm_json_int_at(w, v->st, ft, (size_t)nd, 0, 1, &typ);
        }
        if (st != TM_OK) {
            return st;
        }
        if (lc == -1 || typ != 1) {
            return tm_json_fail(w, TM_E_PARSE, v->cat_nodes, fn, NULL,
                                "node %lld has a category set but is not a categorical split",
                                (long long)nd);
        }
        for (int64_t i = seg; i < seg + size; i++) {
            st = tm_json_int_at(w, v->cats, fc, (size_t)i, 0, MAX_CATEGORY - 1, &cat);
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
                return tm_json_fail(w, TM_E_PARSE, v->cat_nodes, fn, NULL,
                                    "node %lld has two category sets", (long long)nd);
            }
            f->cat_first[first + nd] = (int32_t)c->words;
            f->cat_n_words[first + nd] = (int32_t)words;
        }
        c->words += words;
        if (c->words > MAX_CAT_WORDS) {
            return tm_json_fail(w, TM_E_RANGE, v->cats, fc, NULL,
                                "category sets too large (over %ld words)", MAX_CAT_WORDS);
        }
    }
    return TM_OK;
}

/* Reads the nodes of tree t: checks every index, counts nodes and leaves
 * and, when fill, writes them into f at the cursor. A node is a leaf iff
 * its left child is -1; a leaf's split_condition is its value. */
static tm_status tree_nodes(const walk *w, tm_forest *f, const tree_view *v, const char *model,
                            int32_t t, bool fill, cursor *c)
{
    static const char *const keys[] = {"left_children", "right_children", "split_conditions",
                                       "split_indices", "default_left",   "split_type"};
    char fld[6][160], tree[128]; /* paths for messages, once per tree: no printf per key */
    size_t n_tree = strlen(tree_path(model, t, NULL, tree, sizeof tree));
    for (int a = 0; a < 6; a++) { /* under 128 + 1 + 16 + 1 bytes */
        memcpy(fld[a], tree, n_tree);
        fld[a][n_tree] = '.';
        memcpy(fld[a] + n_tree + 1, keys[a], strlen(keys[a]) + 1);
    }
    int32_t first = (int32_t)c->nodes;
    int64_t last = (int64_t)v->n - 1;
    for (size_t i = 0; i < v->n; i++) {
        int64_t lc, rc, feat = 0, typ = 0;
        bool dl = false;
        float cond = 0.0f;
        tm_status st = tm_json_int_at(w, v->lc, fld[0], i, -1, last, &lc);
        st = st ? st : tm_json_int_at(w, v->rc, fld[1], i, -1, last, &rc);
        st = st ? st : tm_json_f32_at(w, v->sc, fld[2], i, &cond);
        if (st == TM_OK && lc != -1) {
            st = tm_json_int_at(w, v->si, fld[3], i, 0, INT32_MAX, &feat);
            st = st ? st : tm_json_flag_at(w, v->dl, fld[4], i, &dl);
            st = st || !v->st ? st : tm_json_int_at(w, v->st, fld[5], i, 0, 1, &typ);
            if (st == TM_OK && rc == -1) {
                st = tm_json_fail(w, TM_E_PARSE, v->rc, fld[1], NULL,
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
        return tm_json_fail(w, TM_E_RANGE, v->lc, model, "trees", "too many nodes (over %d)",
                            INT32_MAX);
    }
    return tree_categories(w, f, v, model, t, first, fill, c);
}

/* Walks every tree twice: once to count (and check), once to fill. */
static tm_status read_trees(const walk *w, tm_forest *f, const char *model, const tm_json *trees)
{
    cursor c = {0, 0, 0};
    tree_view v;
    tm_status st = TM_OK;
    for (int32_t t = 0; t < f->n_trees && st == TM_OK; t++) {
        f->tree_first[t] = (int32_t)c.nodes;
        st = tree_view_get(w, model, trees, t, &v);
        st = st ? st : tree_nodes(w, f, &v, model, t, false, &c);
        f->tree_n_nodes[t] = (int32_t)v.n;
    }
    st = st ? st : tm__forest_alloc_nodes(f, (int32_t)c.nodes, (int32_t)c.leaves, w->err);
    st = st ? st : tm__forest_alloc_cats(f, (int32_t)c.words, w->err);
    c = (cursor){0, 0, 0};
    for (int32_t t = 0; t < f->n_trees && st == TM_OK; t++) {
        st = tree_view_get(w, model, trees, t, &v);
        st = st ? st : tree_nodes(w, f, &v, model, t, true, &c);
    }
    return st;
}

/* ---- learner and booster ---------------------------------------------- */

static tm_status read_feature_names(const walk *w, tm_forest *f, const tm_json *learner)
{
    const tm_json *names = tm_json_get(learner, "feature_names");
    if (!names || (names->type == TM_JSON_ARRAY && names->len == 0)) {
        return TM_OK; /* empty when the model was trained without names */
    }
    tm_status st = tm_json_expect(w, names, learner, P_LEARNER, "feature_names", TM_JSON_ARRAY);
    if (st == TM_OK && names->len != (size_t)f->n_features) {
        st = tm_json_fail(w, TM_E_PARSE, names, P_LEARNER, "feature_names",
                          "expected %d names, found %zu", f->n_features, names->len);
    }
    if (st != TM_OK) {
        return st;
    }
    f->feature_names = tm_calloc(names->len, sizeof *f->feature_names);
    if (!f->feature_names) {
        return nomem(w);
    }
    for (size_t i = 0; i < names->len; i++) {
        const tm_json *s = tm_json_at(names, i);
        char where[64];
        snprintf(where, sizeof where, P_LEARNER ".feature_names[%zu]", i);
        st = tm_json_expect(w, s, names, where, NULL, TM_JSON_STRING);
        if (st != TM_OK) {
            return st;
        }
        f->feature_names[i] = tm_strdup(s->str);
        if (!f->feature_names[i]) {
            return nomem(w);
        }
    }
    return TM_OK;
}

/* A booster as read: the gbtree model object, its path for messages and
 * the per-tree weights of a DART model (NULL: every weight is 1). */
typedef struct booster {
    const tm_json *model;
    const char *model_path;
    const tm_json *weights;
    char weights_path[128];
} booster;

/* DART tree weights, wherever the writing version put them (src/gbm/
 * gbtree.cc, gbtree_model.cc): up to 3.2 the booster is named "dart" and
 * the weights sit beside its inner "gbtree" object; 3.3 names it "gbtree"
 * and puts them beside "model"; 3.4 moves them inside "model" (and still
 * reads the older places). Absent or empty means every weight is 1, but
 * a booster named "dart" always carries them. No
 * version writes both places: both present is refused, not guessed. */
static tm_status read_weights(const walk *w, const tm_json *gb, bool dart, booster *b)
{
    char inner[128];
    const tm_json *outer = NULL, *in_model = NULL;
    tm_status st = tm_json_member_nums(w, gb, P_GB, "weight_drop", TM_JSON_ANY_LEN, true, &outer);
    st = st ? st
            : tm_json_member_nums(w, b->model, b->model_path, "weight_drop", TM_JSON_ANY_LEN, true,
                                  &in_model);
    if (st != TM_OK) {
        return st;
    }
    snprintf(inner, sizeof inner, "%s.weight_drop", b->model_path);
    if (outer && in_model) {
        return tm_json_fail(w, TM_E_PARSE, in_model, inner, NULL,
                            "tree weights found both here and in " P_GB
                            ".weight_drop; no xgboost version writes both");
    }
    if (dart && !outer) { /* every version that names the booster "dart" writes them */
        return tm_json_fail(w, TM_E_PARSE, gb, P_GB, "weight_drop", "missing");
    }
    b->weights = outer ? outer : in_model;
    snprintf(b->weights_path, sizeof b->weights_path, "%s", outer ? P_GB ".weight_drop" : inner);
    if (b->weights && b->weights->len == 0) {
        b->weights = NULL;
    }
    return TM_OK;
}

static tm_status read_booster(const walk *w, const tm_json *learner, booster *b)
{
    const tm_json *gb, *name, *inner;
    *b = (booster){.model_path = P_GB ".model"};
    tm_status st =
            tm_json_member(w, learner, P_LEARNER, "gradient_booster", TM_JSON_OBJECT, false, &gb);
    st = st ? st : tm_json_member(w, gb, P_GB, "name", TM_JSON_STRING, false, &name);
    if (st != TM_OK) {
        return st;
    }
    if (strcmp(name->str, "gbtree") == 0) {
        st = tm_json_member(w, gb, P_GB, "model", TM_JSON_OBJECT, false, &b->model);
        return st ? st : read_weights(w, gb, false, b);
    }
    if (strcmp(name->str, "dart") == 0) {
        b->model_path = P_GB ".gbtree.model";
        st = tm_json_member(w, gb, P_GB, "gbtree", TM_JSON_OBJECT, false, &inner);
        st = st ? st
                : tm_json_member(w, inner, P_GB ".gbtree", "model", TM_JSON_OBJECT, false,
                                 &b->model);
        return st ? st : read_weights(w, gb, true, b);
    }
    if (strcmp(name->str, "gblinear") == 0) {
        return tm_json_fail(w, TM_E_FORMAT, name, P_GB, "name",
                            "not a tree model: booster 'gblinear' is a linear model");
    }
    return tm_json_fail(w, TM_E_FORMAT, name, P_GB, "name", "unsupported booster '%.60s'",
                        name->str);
}

/* The writing version, from the top-level "version": [major, minor,
 * patch] (every version since 1.0 writes it), as major*10000 + minor*100 +
 * patch; absent: the newest rules apply. */
static tm_status read_version(const walk *w, const tm_json *root, int *version)
{
    const tm_json *v = NULL;
    int64_t part[3] = {0, 0, 0};
    *version = INT32_MAX;
    tm_status st = tm_json_member_nums(w, root, NULL, "version", 3, true, &v);
    for (size_t i = 0; v && i < 3 && st == TM_OK; i++) {
        st = tm_json_int_at(w, v, "version", i, 0, 99, &part[i]);
    }
    if (st == TM_OK && v) {
        *version = (int)(part[0] * 10000 + part[1] * 100 + part[2]);
    }
    return st;
}

/* Model-level parameters: outputs, features, objective and base margins. */
static tm_status read_learner(const walk *w, tm_forest *f, const tm_json *learner, int version)
{
    const tm_json *lmp, *obj, *name;
    int64_t n_feat = 0, n_class = 0, n_target = 1;
    float b[TM__MAX_OUTPUTS];
    size_t n_b = 1;
    tm_status st = tm_json_member(w, learner, P_LEARNER, "learner_model_param", TM_JSON_OBJECT,
                                  false, &lmp);
    st = st ? st : tm_json_member(w, learner, P_LEARNER, "objective", TM_JSON_OBJECT, false, &obj);
    st = st ? st
            : tm_json_member(w, obj, P_LEARNER ".objective", "name", TM_JSON_STRING, false, &name);
    st = st ? st : param_int(w, lmp, P_LMP, "num_feature", 0, INT32_MAX, -1, &n_feat);
    st = st ? st : param_int(w, lmp, P_LMP, "num_class", 0, TM__MAX_OUTPUTS, 0, &n_class);
    st = st ? st : param_int(w, lmp, P_LMP, "num_target", 1, TM__MAX_OUTPUTS, 1, &n_target);
    st = st ? st : parse_base_score(w, lmp, b, TM__MAX_OUTPUTS, &n_b);
    if (st != TM_OK) {
        return st;
    }
    f->n_features = (int32_t)n_feat;
    int64_t n_out = n_class > n_target ? n_class : n_target;
    st = tm__forest_alloc_outputs(f, (int32_t)n_out, w->err);
    st = st ? st : tm__forest_xgboost_objective(f, name->str, b, n_b, version, w->path, w->err);
    return st ? st : read_feature_names(w, f, learner);
}

/* Trees, their output groups (tree_info) and dart weights. */
static tm_status read_model(const walk *w, tm_forest *f, const booster *b)
{
    const tm_json *trees, *info, *gmp = NULL, *weights = b->weights;
    const char *mp = b->model_path;
    int64_t n_par = 1, v;
    char gw[96], iw[96];
    snprintf(gw, sizeof gw, "%s.gbtree_model_param", mp);
    snprintf(iw, sizeof iw, "%s.tree_info", mp);
    tm_status st = tm_json_member(w, b->model, mp, "trees", TM_JSON_ARRAY, false, &trees);
    st = st ? st : tm_json_member_nums(w, b->model, mp, "tree_info", trees->len, false, &info);
    st = st ? st
            : tm_json_member(w, b->model, mp, "gbtree_model_param", TM_JSON_OBJECT, true, &gmp);
    st = st ? st : param_int(w, gmp, gw, "num_parallel_tree", 1, INT32_MAX, 1, &n_par);
    if (st != TM_OK) {
        return st;
    }
    if (trees->len > INT32_MAX) {
        return tm_json_fail(w, TM_E_RANGE, trees, mp, "trees", "too many trees");
    }
    if (weights && weights->len != trees->len) {
        return tm_json_fail(w, TM_E_PARSE, weights, b->weights_path, NULL,
                            "expected %zu weights (one per tree), found %zu", trees->len,
                            weights->len);
    }
    st = tm__forest_alloc_trees(f, (int32_t)trees->len, w->err);
    for (int32_t t = 0; t < f->n_trees && st == TM_OK; t++) {
        st = tm_json_int_at(w, info, iw, (size_t)t, 0, f->n_outputs - 1, &v);
        f->tree_output[t] = (int32_t)v;
        if (st == TM_OK && weights) {
            float wt;
            st = tm_json_f32_at(w, weights, b->weights_path, (size_t)t, &wt);
            f->tree_weight[t] = (double)wt;
        }
    }
    /* One iteration = n_outputs x num_parallel_tree trees (§4). */
    int64_t per_round = (int64_t)f->n_outputs * n_par;
    f->n_iterations = (int32_t)((f->n_trees + per_round - 1) / per_round);
    return st ? st : read_trees(w, f, mp, trees);
}

static tm_status load_doc(const walk *w, const tm_json *root, tm_forest_format format,
                          tm_forest **out)
{
    tm_forest *f = NULL;
    const tm_json *learner = tm_json_get(root, "learner");
    booster b;
    int version = 0;
    tm_status st;
    if (!learner || learner->type != TM_JSON_OBJECT) {
        st = tm_json_fail(w, TM_E_FORMAT, root, P_LEARNER, NULL,
                          "not an xgboost model: no 'learner' object at the top level");
        goto done;
    }
    st = tm__forest_new(&f, w->err);
    if (st != TM_OK) {
        goto done;
    }
    f->format = format;
    st = read_version(w, root, &version);
    st = st ? st : read_booster(w, learner, &b);
    st = st ? st : read_learner(w, f, learner, version);
    st = st ? st : read_model(w, f, &b);
    st = st ? st : tm__forest_read_best_iteration(f, learner, w->path, w->err);
done:
    if (st != TM_OK) {
        tm_forest_free(f);
        f = NULL;
    }
    *out = f;
    return st;
}

/* Validates the forest read from a document (freed by now) and builds its
 * layout; on failure frees it and sets *out NULL. */
static tm_status finish(tm_forest **out, const char *path, tm_err *err)
{
    tm_status st = tm__forest_finish(*out, path, err);
    if (st != TM_OK) {
        tm_forest_free(*out);
        *out = NULL;
    }
    return st;
}

tm_status tm__forest_load_xgboost_json(const char *text, size_t len, const char *path,
                                       const tm_forest_load_opts *opts, tm_forest **out,
                                       tm_err *err)
{
    char *copy = tm_malloc(len + 1);
    *out = NULL;
    if (!copy) {
        return TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory");
    }
    memcpy(copy, text, len);
    copy[len] = 0;
    return tm__forest_load_xgboost_json_owned(copy, len, path, opts, out, err);
}

/* Per-node statistics of RegTree::SaveModel that prediction never reads
 * (src/tree/tree_model.cc): checked by the parser, not kept. */
static const char *const unread_keys[] = {"base_weights", "loss_changes", "sum_hessian", "parents"};

tm_status tm__forest_load_xgboost_json_owned(char *text, size_t len, const char *path,
                                             const tm_forest_load_opts *opts, tm_forest **out,
                                             tm_err *err)
{
    (void)opts; /* complete models carry their own objective and base score */
    tm_json_doc *doc = NULL;
    tm_json_parse_opts po;
    walk w = {.path = path, .has_lines = true, .err = err};
    *out = NULL;
    tm_json_parse_opts_init(&po);
    po.drop_keys = unread_keys;
    po.n_drop_keys = sizeof unread_keys / sizeof unread_keys[0];
    tm_status st = tm_json_parse_owned(text, len, path, &po, &doc, err);
    if (st == TM_OK) {
        st = load_doc(&w, tm_json_root(doc), TM_FOREST_FORMAT_XGBOOST_JSON, out);
    }
    tm_json_doc_free(doc); /* before the layout is built: the peaks do not add up */
    return st == TM_OK ? finish(out, path, err) : st;
}

tm_status tm__forest_load_xgboost_ubjson(const unsigned char *data, size_t len, const char *path,
                                         const tm_forest_load_opts *opts, tm_forest **out,
                                         tm_err *err)
{
    (void)opts;
    tm_json_doc *doc = NULL;
    walk w = {.path = path, .has_lines = false, .err = err};
    *out = NULL;
    tm_status st = tm_ubjson_parse(data, len, path, &doc, err);
    if (st == TM_OK) {
        st = load_doc(&w, tm_json_root(doc), TM_FOREST_FORMAT_XGBOOST_UBJSON, out);
    }
    tm_json_doc_free(doc);
    return st == TM_OK ? finish(out, path, err) : st;
}
