/* XGBoost save_model() files, JSON and UBJSON, into the forest IR. Both
 * parse into the core JSON document; one walker then reads the learner
 * (parameters, objective, feature names), the booster (gbtree or dart) and
 * the struct-of-arrays trees (see formats/xgboost.md §1-5). The trees are
 * read in load_xgboost_trees.c, the objective table is in
 * load_xgboost_objective.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "forest/forest_int.h"
#include "forest/predict_int.h"
#include "forest/xgboost_json_int.h"

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

tm_status tm__xgb_param_int(const walk *w, const tm_json *obj, const char *where, const char *key,
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
    st = st ? st : tm__xgb_param_int(w, lmp, P_LMP, "num_feature", 0, INT32_MAX, -1, &n_feat);
    st = st ? st : tm__xgb_param_int(w, lmp, P_LMP, "num_class", 0, TM__MAX_OUTPUTS, 0, &n_class);
    st = st ? st : tm__xgb_param_int(w, lmp, P_LMP, "num_target", 1, TM__MAX_OUTPUTS, 1, &n_target);
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
    st = st ? st : tm__xgb_param_int(w, gmp, gw, "num_parallel_tree", 1, INT32_MAX, 1, &n_par);
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
    return st ? st : tm__xgb_read_trees(w, f, mp, trees);
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
