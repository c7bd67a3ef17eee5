/* LightGBM model.txt loader: the header (classes, features, objective and
 * its link, rf averaging) and the driver (see formats/lightgbm section 1 and
 * 3, fixtures/lightgbm/README.txt). The Tree= blocks are parsed by
 * load_lightgbm_tree.c; tm__forest_finish validates the graph. */
#include <string.h>

#include "forest/forest_int.h"

/* A header value (after "key="). */
typedef struct span {
    const char *p;
    size_t n;
    long line; /* 1-based line of the text */
    bool set;
} span;

#define SHOW(n) ((int)((n) < 40 ? (n) : 40)) /* token bytes quoted in messages */

static bool starts_with(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(s, prefix, k) == 0;
}

static bool equals(const char *s, size_t n, const char *word)
{
    return n == strlen(word) && memcmp(s, word, n) == 0;
}

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
    N_HEADER
};
static const char *const header_keys[N_HEADER] = {
        "version",       "num_class", "num_tree_per_iteration", "max_feature_idx", "objective",
        "feature_names", "tree_sizes"};

typedef struct header {
    span key[N_HEADER];
    bool average_output; /* boosting=rf: a bare "average_output" line */
    int version;         /* 2, 3, 4, ...; 2 when the line is absent */
    int64_t num_class;
    int64_t n_per_iter; /* num_tree_per_iteration */
    int64_t n_features;
} header;

/* Reads header lines up to the first Tree= or "end of trees" line, which is
 * left unread in c. */
static tm_status read_header(tm__forest_lgb_text *c, header *h, const char *path, tm_err *err)
{
    const char *s = NULL;
    size_t n = 0;
    memset(h, 0, sizeof *h);
    while (n == 0 && tm__forest_lgb_line(c, &s, &n)) {
    }
    if (n == 0) {
        return TM_ERR(err, TM_E_FORMAT, path, 0, NULL, "empty file: not a lightgbm model");
    }
    if (!equals(s, n, "tree")) {
        return TM_ERR(err, TM_E_FORMAT, path, c->line, NULL,
                      "expected \"tree\" (lightgbm model.txt), found \"%.*s\"", SHOW(n), s);
    }
    for (;;) {
        tm__forest_lgb_text before = *c;
        if (!tm__forest_lgb_line(c, &s, &n)) {
            return TM_ERR(err, TM_E_PARSE, path, c->line, NULL,
                          "truncated file: expected Tree= blocks and \"end of trees\"");
        }
        if (starts_with(s, n, "Tree=") || equals(s, n, "end of trees")) {
            *c = before;
            return TM_OK;
        }
        h->average_output = h->average_output || equals(s, n, "average_output");
        const char *eq = memchr(s, '=', n);
        size_t klen = eq ? (size_t)(eq - s) : 0;
        for (int k = 0; eq && k < N_HEADER; k++) {
            if (equals(s, klen, header_keys[k])) {
                h->key[k] = (span){eq + 1, n - klen - 1, c->line, true};
            }
        }
    }
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
    h->version = 2; /* files older than the version line follow 2.x rules */
    if (v->set) {
        int64_t ver = 0;
        if (v->n < 2 || v->p[0] != 'v' ||
            tm__forest_lgb_int(v->p + 1, v->n - 1, 1, 1000, &ver, NULL, 0, NULL, NULL) != TM_OK) {
            return TM_ERR(err, TM_E_PARSE, path, v->line, "version",
                          "expected v2, v3 or v4, found \"%.*s\"", SHOW(v->n), v->p);
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
    return st;
}

/* Sets the link, classes and default output from the objective line, e.g.
 * "binary sigmoid:1", "multiclass num_class:3" (formats/lightgbm section 3:
 * ConvertOutput of each objective). */
static tm_status apply_objective(tm_forest *f, const header *h, const char *path, tm_err *err)
{
    const span *o = &h->key[H_OBJECTIVE];
    tm__forest_lgb_text tk = {o->p, o->p + o->n, 0};
    const char *name = "none", *tok;
    size_t name_n = 4, n;
    bool sqrt_output = false;
    if (o->set && tm__forest_lgb_tok(&tk, &tok, &n)) {
        name = tok;
        name_n = n;
    }
    while (tm__forest_lgb_tok(&tk, &tok, &n)) {
        if (equals(tok, n, "sqrt")) {
            sqrt_output = true; /* trained on sqrt(label): predict squares back */
        }
        if (starts_with(tok, n, "sigmoid:") &&
            (!tm_parse_double(tok + 8, n - 8, &f->sigmoid_scale) || !(f->sigmoid_scale > 0))) {
            return TM_ERR(err, TM_E_PARSE, path, o->line, "objective",
                          "expected sigmoid:<positive number>, found \"%.*s\"", SHOW(n), tok);
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
        static const char *const identity[] = {
                "none", "custom",   "regression", "regression_l2", "regression_l1", "huber",
                "fair", "quantile", "mape",       "lambdarank",    "rank_xendcg"};
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
    if (!s->set) {
        return TM_OK;
    }
    tm__forest_lgb_text tk = {s->p, s->p + s->n, 0};
    size_t count = tm__forest_lgb_count(s->p, s->n);
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
    tm__forest_lgb_text c = {text, text + len, 0};
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
    f->n_features = (int32_t)h.n_features;
    f->average = h.average_output;
    st = tm__forest_alloc_outputs(f, (int32_t)h.n_per_iter, err);
    if (st == TM_OK) {
        st = apply_objective(f, &h, path, err);
    }
    if (st == TM_OK) {
        st = apply_feature_names(f, &h, path, err);
    }
    if (st == TM_OK) {
        st = tm__forest_lgb_trees(f, &c, h.version, path, err);
    }
    if (st != TM_OK) {
        goto done;
    }
    const span *sizes = &h.key[H_TREE_SIZES];
    size_t n_sizes = sizes->set ? tm__forest_lgb_count(sizes->p, sizes->n) : 0;
    if (sizes->set && n_sizes != (size_t)f->n_trees) {
        st = TM_ERR(err, TM_E_PARSE, path, sizes->line, "tree_sizes",
                    "expected %zu trees, found %d Tree= blocks (truncated file?)", n_sizes,
                    f->n_trees);
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
