/* LightGBM model.txt loader: the header (classes, features, objective and
 * its link, rf averaging), the parameters section where it confirms the
 * header, and the driver (see formats/lightgbm sections 1 and 3,
 * fixtures/lightgbm/README.txt). The Tree= blocks are parsed by
 * load_lightgbm_tree.c, the text primitives are load_lightgbm_text.c's;
 * tm__forest_finish validates the graph.
 *
 * Versions: "version=v2" is written by LightGBM 2.0.12-2.2.3, v3 by
 * 2.3.0-3.3.5, v4 by 4.x; files from 2.0.5-2.0.11 have no version line
 * and follow the v2 rules. Files up to 2.1.2 end their trees without an
 * "end of trees" line (see tm__forest_lgb_trees). Every version decides
 * splits the same way (formats/lightgbm section 2). */
#include <string.h>

#include "forest/load_lightgbm_int.h"

typedef tm__forest_lgb_span span;
typedef tm__forest_lgb_text cursor;

/* Header keys we use; the rest (label_index, feature_infos, ...) do not
 * affect prediction. */
enum {
    H_VERSION,
    H_NUM_CLASS,
    H_NUM_TREE_PER_ITER,
    H_MAX_FEATURE_IDX,
    H_OBJECTIVE,
    H_FEATURE_NAMES,
    H_TREE_SIZES,
    H_AVERAGE_OUTPUT,
    N_HEADER
};
static const char *const header_keys[N_HEADER] = {
        "version",       "num_class",  "num_tree_per_iteration", "max_feature_idx", "objective",
        "feature_names", "tree_sizes", "average_output"};

/* Entries of the parameters section ("[boosting: rf]") that the header
 * must agree with. */
enum { P_BOOSTING, P_OBJECTIVE, N_PARAMS };
static const char *const param_keys[N_PARAMS] = {"boosting", "objective"};

typedef struct header {
    span key[N_HEADER];
    span param[N_PARAMS];
    int version; /* 2, 3 or 4; 0 when the line is absent (2.0.11 and older) */
    int64_t num_class;
    int64_t n_per_iter; /* num_tree_per_iteration */
    int64_t n_features;
} header;

/* Reads header lines up to the first Tree= or "end of trees" line, which is
 * left unread in c. As in LightGBM's reader, a line is a key with or
 * without "=value" ("average_output" has none). */
static tm_status read_header(cursor *c, header *h, const char *path, tm_err *err)
{
    span ln = {0};
    memset(h, 0, sizeof *h);
    while (tm__forest_lgb_next_line(c, &ln) && ln.n == 0) {
    }
    if (!ln.set) {
        return TM_ERR(err, TM_E_FORMAT, path, 0, NULL, "empty file: not a lightgbm model");
    }
    if (!tm__forest_lgb_equals(ln.p, ln.n, "tree")) {
        return TM_ERR(err, TM_E_FORMAT, path, c->line, NULL,
                      "expected \"tree\" (lightgbm model.txt), found \"%.*s\"", TM__LGB_SHOW(ln.n),
                      ln.p);
    }
    for (;;) {
        cursor before = *c;
        if (!tm__forest_lgb_next_line(c, &ln)) {
            return TM_ERR(err, TM_E_PARSE, path, c->line, NULL,
                          "truncated file: expected Tree= blocks and \"end of trees\"");
        }
        if (tm__forest_lgb_starts_with(ln.p, ln.n, "Tree=") ||
            tm__forest_lgb_equals(ln.p, ln.n, "end of trees")) {
            *c = before;
            return TM_OK;
        }
        if (tm__forest_lgb_equals(ln.p, ln.n, header_keys[H_AVERAGE_OUTPUT])) {
            h->key[H_AVERAGE_OUTPUT] = (span){ln.p + ln.n, 0, ln.line, true};
        }
        tm__forest_lgb_match_key(&ln, header_keys, N_HEADER, h->key);
    }
}

/* Reads "[key: value]" lines between "parameters:" and "end of parameters"
 * (or the end of the text: 2.1.x writes no end line) after the trees. */
static void read_params(cursor *c, header *h)
{
    span ln;
    bool in = false;
    while (tm__forest_lgb_next_line(c, &ln)) {
        if (!in) {
            in = tm__forest_lgb_equals(ln.p, ln.n, "parameters:");
            continue;
        }
        if (tm__forest_lgb_equals(ln.p, ln.n, "end of parameters")) {
            return;
        }
        const char *colon = ln.n > 2 && ln.p[0] == '[' && ln.p[ln.n - 1] == ']'
                                    ? memchr(ln.p, ':', ln.n)
                                    : NULL;
        for (int k = 0; colon && k < N_PARAMS; k++) {
            if (tm__forest_lgb_equals(ln.p + 1, (size_t)(colon - ln.p - 1), param_keys[k])) {
                const char *v = colon + 1 + (colon[1] == ' ');
                h->param[k] = (span){v, (size_t)(ln.p + ln.n - 1 - v), ln.line, true};
            }
        }
    }
}

static bool param_is(const header *h, int k, const char *value)
{
    return h->param[k].set && tm__forest_lgb_equals(h->param[k].p, h->param[k].n, value);
}

/* The header lines whose loss would silently change predictions, checked
 * against the parameters section when the file has one: rf always writes
 * average_output; only a model without objective (none/custom) has no
 * objective= line. */
static tm_status check_params(const header *h, const char *path, tm_err *err)
{
    const span *b = &h->param[P_BOOSTING], *o = &h->param[P_OBJECTIVE];
    if ((param_is(h, P_BOOSTING, "rf") || param_is(h, P_BOOSTING, "random_forest")) &&
        !h->key[H_AVERAGE_OUTPUT].set) {
        return TM_ERR(err, TM_E_PARSE, path, b->line, "average_output",
                      "expected an average_output header line for boosting %.*s, found none",
                      TM__LGB_SHOW(b->n), b->p);
    }
    if (o->set && !h->key[H_OBJECTIVE].set && o->n > 0 && !param_is(h, P_OBJECTIVE, "none") &&
        !param_is(h, P_OBJECTIVE, "null") && !param_is(h, P_OBJECTIVE, "custom")) {
        return TM_ERR(err, TM_E_PARSE, path, o->line, "objective",
                      "expected an objective= header line for objective %.*s, found none",
                      TM__LGB_SHOW(o->n), o->p);
    }
    return TM_OK;
}

static tm_status header_int(const header *h, int k, bool required, int64_t dflt, int64_t lo,
                            int64_t hi, int64_t *out, const char *path, tm_err *err)
{
    const span *s = &h->key[k];
    if (!s->set) {
        if (required) {
            return TM_ERR(err, TM_E_PARSE, path, 0, header_keys[k],
                          "expected a header line %s=, found none", header_keys[k]);
        }
        *out = dflt;
        return TM_OK;
    }
    return tm__forest_lgb_int(s->p, s->n, lo, hi, out, path, s->line, header_keys[k], err);
}

static tm_status check_header(header *h, const char *path, tm_err *err)
{
    const span *v = &h->key[H_VERSION];
    h->version = 0; /* before 2.0.12: no version line, no tree_sizes */
    if (v->set) {
        int64_t ver = 0;
        if (v->n < 2 || v->p[0] != 'v' ||
            tm__forest_lgb_int(v->p + 1, v->n - 1, 2, 4, &ver, NULL, 0, NULL, NULL) != TM_OK) {
            return TM_ERR(err, TM_E_PARSE, path, v->line, "version",
                          "expected v2, v3 or v4, found \"%.*s\"", TM__LGB_SHOW(v->n), v->p);
        }
        h->version = (int)ver;
    }
    tm_status st = header_int(h, H_NUM_CLASS, true, 0, 1, 1 << 20, &h->num_class, path, err);
    if (st == TM_OK) {
        st = header_int(h, H_NUM_TREE_PER_ITER, false, h->num_class, 1, 1 << 20, &h->n_per_iter,
                        path, err);
    }
    if (st == TM_OK) {
        st = header_int(h, H_MAX_FEATURE_IDX, true, 0, 0, INT32_MAX - 1, &h->n_features, path, err);
        h->n_features++;
    }
    if (st == TM_OK && h->version == 0 && h->key[H_TREE_SIZES].set) {
        st = TM_ERR(err, TM_E_PARSE, path, 0, "version",
                    "expected a header line version= (files with tree_sizes have one), found "
                    "none");
    }
    if (st == TM_OK && !h->key[H_FEATURE_NAMES].set) {
        st = TM_ERR(err, TM_E_PARSE, path, 0, "feature_names",
                    "expected a header line feature_names=, found none");
    }
    return st;
}

/* Sets the link, classes and default output from the objective line, e.g.
 * "binary sigmoid:1", "multiclass num_class:3" (formats/lightgbm section 3:
 * ConvertOutput of each objective). */
static tm_status apply_objective(tm_forest *f, const header *h, const char *path, tm_err *err)
{
    const span *o = &h->key[H_OBJECTIVE];
    tm__forest_lgb_text tk = tm__forest_lgb_tokens(o);
    const char *name = "none", *tok;
    size_t name_n = 4, n;
    bool sqrt_output = false;
    if (o->set && tm__forest_lgb_tok(&tk, &tok, &n)) {
        name = tok;
        name_n = n;
    }
    while (tm__forest_lgb_tok(&tk, &tok, &n)) {
        if (tm__forest_lgb_equals(tok, n, "sqrt")) {
            sqrt_output = true; /* trained on sqrt(label): predict squares back */
        }
        if (tm__forest_lgb_starts_with(tok, n, "sigmoid:") &&
            (!tm_parse_double(tok + 8, n - 8, &f->sigmoid_scale) || !(f->sigmoid_scale > 0))) {
            return TM_ERR(err, TM_E_PARSE, path, o->line, "objective",
                          "expected sigmoid:<positive number>, found \"%.*s\"", TM__LGB_SHOW(n),
                          tok);
        }
        /* the objective's own class count drives LightGBM's softmax */
        int64_t k_obj = 0;
        if (tm__forest_lgb_starts_with(tok, n, "num_class:") &&
            (tm__forest_lgb_int(tok + 10, n - 10, 1, 1 << 20, &k_obj, NULL, 0, NULL, NULL) !=
                     TM_OK ||
             k_obj != h->num_class)) {
            return TM_ERR(err, TM_E_PARSE, path, o->line, "objective",
                          "expected num_class:%lld (the num_class line), found \"%.*s\"",
                          (long long)h->num_class, TM__LGB_SHOW(n), tok);
        }
    }
    f->objective = tm_strndup(name, name_n);
    if (!f->objective) {
        return TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory");
    }
    const char *obj = f->objective;
    int k = (int)h->num_class;
    f->link = TM__LINK_IDENTITY;
    f->default_output = TM_FOREST_OUT_VALUE;
    f->n_classes = 0;
    if (!strcmp(obj, "binary")) {
        f->link = TM__LINK_SIGMOID;
        f->default_output = TM_FOREST_OUT_PROBABILITY;
        f->n_classes = 2;
    } else if (!strcmp(obj, "cross_entropy") || !strcmp(obj, "xentropy")) {
        f->link = TM__LINK_SIGMOID;
        f->default_output = TM_FOREST_OUT_PROBABILITY;
    } else if (!strcmp(obj, "multiclass") || !strcmp(obj, "softmax") ||
               !strcmp(obj, "multiclassova") || !strcmp(obj, "ova")) {
        bool ova = obj[strlen(obj) - 1] == 'a';
        f->link = ova ? TM__LINK_OVA_SIGMOID : TM__LINK_SOFTMAX;
        f->default_output = TM_FOREST_OUT_PROBABILITY;
        f->n_classes = k;
        if (h->n_per_iter != k || k < 2) {
            return TM_ERR(err, TM_E_PARSE, path, h->key[H_NUM_TREE_PER_ITER].line,
                          "num_tree_per_iteration",
                          "expected num_class (%d, at least 2) for %s, found %lld", k, obj,
                          (long long)h->n_per_iter);
        }
    } else if (!strcmp(obj, "poisson") || !strcmp(obj, "gamma") || !strcmp(obj, "tweedie")) {
        f->link = TM__LINK_EXP;
        f->default_output = TM_FOREST_OUT_EXPONENT;
    } else if (!strcmp(obj, "cross_entropy_lambda") || !strcmp(obj, "xentlambda")) {
        f->link = TM__LINK_LOG1P_EXP;
    } else {
        /* Names the writers of 2.x-4.x put on the line, and the aliases
         * their readers accept for these objectives. */
        static const char *const identity[] = {
                "none",          "null",          "custom", "regression",
                "regression_l2", "regression_l1", "huber",  "fair",
                "quantile",      "quantile_l2",   "mape",   "mean_absolute_percentage_error",
                "lambdarank",    "rank_xendcg"};
        size_t i = 0;
        while (i < sizeof identity / sizeof identity[0] && strcmp(obj, identity[i])) {
            i++;
        }
        if (i == sizeof identity / sizeof identity[0]) {
            return TM_ERR(err, TM_E_FORMAT, path, o->line, "objective",
                          "unknown objective \"%.40s\"", obj);
        }
    }
    if (sqrt_output && f->link == TM__LINK_IDENTITY) {
        f->link = TM__LINK_SIGNED_SQUARE;
    }
    if (f->link != TM__LINK_SOFTMAX && f->link != TM__LINK_OVA_SIGMOID && h->n_per_iter != 1) {
        return TM_ERR(err, TM_E_PARSE, path, h->key[H_NUM_TREE_PER_ITER].line,
                      "num_tree_per_iteration", "expected 1 for objective %s, found %lld", obj,
                      (long long)h->n_per_iter);
    }
    return TM_OK;
}

static tm_status apply_feature_names(tm_forest *f, const header *h, const char *path, tm_err *err)
{
    const span *s = &h->key[H_FEATURE_NAMES];
    cursor tk = tm__forest_lgb_tokens(s);
    size_t count = tm__forest_lgb_count(s);
    if (count != (size_t)f->n_features) {
        return TM_ERR(err, TM_E_PARSE, path, s->line, "feature_names",
                      "expected %d names (max_feature_idx + 1), found %zu", f->n_features, count);
    }
    f->feature_names = tm_calloc((size_t)f->n_features + 1, sizeof *f->feature_names);
    if (!f->feature_names) {
        return TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory");
    }
    const char *tok;
    size_t n;
    for (int32_t i = 0; tm__forest_lgb_tok(&tk, &tok, &n); i++) {
        f->feature_names[i] = tm_strndup(tok, n);
        if (!f->feature_names[i]) {
            return TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory");
        }
    }
    return TM_OK;
}

tm_status tm__forest_load_lightgbm(const char *text, size_t len, const char *path,
                                   const tm_forest_load_opts *opts, tm_forest **out, tm_err *err)
{
    (void)opts; /* model.txt carries its own objective and classes */
    tm_forest *f = NULL;
    cursor c = {text, text + len, 0};
    header h;
    *out = NULL;
    tm_status st = read_header(&c, &h, path, err);
    if (st == TM_OK) {
        st = check_header(&h, path, err);
    }
    if (st == TM_OK) {
        st = tm__forest_new(&f, err);
    }
    if (st != TM_OK) {
        goto done;
    }
    f->family = TM_FOREST_LIGHTGBM;
    f->format = TM_FOREST_FORMAT_LIGHTGBM;
    f->cmp = TM__CMP_LE_F64;
    f->sum_f32 = false;
    f->zero_tiny_inputs = true; /* predict() drops |x| <= kZeroThreshold */
    if (h.version == 0) {
        /* LightGBM 2.0.5-2.0.11 (no version line) dropped |x| <= kEpsilon,
         * the float 1e-15f, from dense rows (c_api.cpp at those tags) */
        f->zero_band = (double)1e-15f;
    }
    f->n_features = (int32_t)h.n_features;
    f->average = h.key[H_AVERAGE_OUTPUT].set;
    st = tm__forest_alloc_outputs(f, (int32_t)h.n_per_iter, err);
    if (st == TM_OK) {
        st = apply_objective(f, &h, path, err);
    }
    if (st == TM_OK) {
        st = apply_feature_names(f, &h, path, err);
    }
    if (st == TM_OK) {
        st = tm__forest_lgb_trees(f, &c, h.version, &h.key[H_TREE_SIZES], path, err);
    }
    if (st == TM_OK) {
        read_params(&c, &h);
        st = check_params(&h, path, err);
    }
    if (st != TM_OK) {
        goto done;
    }
    if (f->n_trees % f->n_outputs != 0) {
        st = TM_ERR(err, TM_E_PARSE, path, 0, NULL,
                    "expected a multiple of num_tree_per_iteration (%d) trees, found %d",
                    f->n_outputs, f->n_trees);
        goto done;
    }
    /* rf: margins are averaged over iterations before the link; the raw
     * score stays the plain sum (fixtures/lightgbm/README.txt). */
    f->n_iterations = f->n_trees / f->n_outputs;
    st = tm__forest_finish(f, path, err);
done:
    if (st != TM_OK) {
        tm_forest_free(f);
        f = NULL;
    }
    *out = f;
    return st;
}
