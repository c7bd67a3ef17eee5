/* LightGBM model.txt trees (see formats/lightgbm sections 1.2, 2 and 4): the
 * text primitives the loader shares, then two passes over the Tree= blocks.
 * Pass one measures each block (leaves checked against leaf_value, so what
 * is allocated stays proportional to the file); pass two parses it into the
 * IR, with each tree's splits then leaves contiguous and NaN routing
 * resolved into node flags. The header and objective are load_lightgbm.c's. */
#include <string.h>

#include "forest/forest_int.h"

/* A line's value text, or a header/tree key's value (set when present). */
typedef struct span {
    const char *p;
    size_t n;
    long line; /* 1-based line of the text */
    bool set;
} span;

typedef tm__forest_lgb_text cursor;

/* One Tree= block, measured by pass one and placed in the IR. */
typedef struct tree_ix {
    const char *body, *body_end; /* text after the Tree= line */
    long line;                   /* line of the Tree= line */
    int32_t n_leaves, n_words, n_terms;
    bool is_linear;
    int32_t node0, leaf0, word0, term0; /* first IR node, leaf, word, term */
} tree_ix;

/* Tree keys we use (formats/lightgbm section 1.2); split_gain, counts and
 * weights do not affect prediction, shrinkage is already applied. */
enum {
    T_NUM_LEAVES,
    T_NUM_CAT,
    T_SPLIT_FEATURE,
    T_THRESHOLD,
    T_DECISION_TYPE,
    T_LEFT,
    T_RIGHT,
    T_LEAF_VALUE,
    T_CAT_BOUNDARIES,
    T_CAT_THRESHOLD,
    T_IS_LINEAR,
    T_LEAF_CONST,
    T_NUM_FEATURES,
    T_LEAF_FEATURES,
    T_LEAF_COEFF,
    N_TREE_KEYS
};
static const char *const tree_keys[N_TREE_KEYS] = {
        "num_leaves", "num_cat",     "split_feature", "threshold",      "decision_type",
        "left_child", "right_child", "leaf_value",    "cat_boundaries", "cat_threshold",
        "is_linear",  "leaf_const",  "num_features",  "leaf_features",  "leaf_coeff"};

/* decision_type bits (formats/lightgbm section 2). */
enum { DT_CATEGORICAL = 1, DT_DEFAULT_LEFT = 2 };
enum { MISSING_NONE = 0, MISSING_ZERO = 1, MISSING_NAN = 2 };

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

bool tm__forest_lgb_line(cursor *c, const char **s, size_t *n)
{
    if (c->p >= c->end) {
        return false;
    }
    const char *b = c->p;
    const char *nl = memchr(b, '\n', (size_t)(c->end - b));
    const char *e = nl ? nl : c->end;
    c->p = nl ? nl + 1 : c->end;
    c->line++;
    if (e > b && e[-1] == '\r') {
        e--;
    }
    *s = b;
    *n = (size_t)(e - b);
    return true;
}

static bool next_line(cursor *c, span *out)
{
    out->set = tm__forest_lgb_line(c, &out->p, &out->n);
    out->line = c->line;
    return out->set;
}

static bool is_block_end(const span *ln)
{
    return starts_with(ln->p, ln->n, "Tree=") || equals(ln->p, ln->n, "end of trees");
}

bool tm__forest_lgb_tok(cursor *t, const char **s, size_t *n)
{
    const char *p = t->p;
    while (p < t->end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    if (p == t->end) {
        t->p = p;
        return false;
    }
    const char *e = p;
    while (e < t->end && *e != ' ' && *e != '\t') {
        e++;
    }
    *s = p;
    *n = (size_t)(e - p);
    t->p = e;
    return true;
}

size_t tm__forest_lgb_count(const char *p, size_t n)
{
    size_t count = 0;
    bool in = false;
    for (size_t i = 0; i < n; i++) {
        bool sep = p[i] == ' ' || p[i] == '\t';
        count += !sep && !in;
        in = !sep;
    }
    return count;
}

/* Parses a decimal integer in lo..hi; the message names path, line, field. */
tm_status tm__forest_lgb_int(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out,
                             const char *path, long line, const char *field, tm_err *err)
{
    size_t i = (n > 0 && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    bool ok = i < n;
    int64_t v = 0;
    for (; ok && i < n; i++) {
        ok = s[i] >= '0' && s[i] <= '9' && v <= (INT64_MAX - 9) / 10;
        v = ok ? v * 10 + (s[i] - '0') : v;
    }
    if (!ok) {
        return TM_ERR(err, TM_E_PARSE, path, line, field, "expected an integer, found \"%.*s\"",
                      SHOW(n), s);
    }
    v = s[0] == '-' ? -v : v;
    if (v < lo || v > hi) {
        return TM_ERR(err, TM_E_PARSE, path, line, field,
                      "expected an integer in %lld..%lld, found \"%.*s\"", (long long)lo,
                      (long long)hi, SHOW(n), s);
    }
    *out = v;
    return TM_OK;
}

/* Stores ln's value in vals[k] when its key is keys[k]. */
static void match_key(const span *ln, const char *const *keys, int n_keys, span *vals)
{
    const char *eq = memchr(ln->p, '=', ln->n);
    if (!eq) {
        return;
    }
    size_t klen = (size_t)(eq - ln->p);
    for (int k = 0; k < n_keys; k++) {
        if (equals(ln->p, klen, keys[k])) {
            vals[k] = (span){eq + 1, ln->n - klen - 1, ln->line, true};
            return;
        }
    }
}

/* Reads one tree block's lines into b, leaving c at the next Tree= or
 * "end of trees" line. */
static void scan_block(cursor *c, span *b)
{
    span ln;
    memset(b, 0, N_TREE_KEYS * sizeof *b);
    for (;;) {
        cursor before = *c;
        if (!next_line(c, &ln)) {
            return;
        }
        if (is_block_end(&ln)) {
            *c = before;
            return;
        }
        match_key(&ln, tree_keys, N_TREE_KEYS, b);
    }
}

static tm_status need(const span *b, int k, const tree_ix *ix, const char *path, tm_err *err)
{
    if (b[k].set) {
        return TM_OK;
    }
    return TM_ERR(err, TM_E_PARSE, path, ix->line, tree_keys[k],
                  "expected a %s= line in this tree, found none", tree_keys[k]);
}

static tm_status count_error(const span *s, int k, int64_t count, const char *path, tm_err *err)
{
    return TM_ERR(err, TM_E_PARSE, path, s->line, tree_keys[k], "expected %lld values, found %zu",
                  (long long)count, tm__forest_lgb_count(s->p, s->n));
}

/* Parses exactly count integers in lo..hi from field k into out (or, when
 * out is NULL, into words as uint32). */
static tm_status read_ints(const span *b, int k, const tree_ix *ix, int64_t count, int64_t lo,
                           int64_t hi, int32_t *out, uint32_t *words, const char *path, tm_err *err)
{
    tm_status st = need(b, k, ix, path, err);
    cursor tk = {b[k].p, b[k].p + b[k].n, 0};
    const char *tok;
    size_t n;
    int64_t i = 0, v = 0;
    while (st == TM_OK && tm__forest_lgb_tok(&tk, &tok, &n)) {
        if (i == count) {
            return count_error(&b[k], k, count, path, err);
        }
        if ((st = tm__forest_lgb_int(tok, n, lo, hi, &v, path, b[k].line, tree_keys[k], err))) {
            return st;
        }
        if (out) {
            out[i++] = (int32_t)v;
        } else {
            words[i++] = (uint32_t)v;
        }
    }
    if (st == TM_OK && i != count) {
        st = count_error(&b[k], k, count, path, err);
    }
    return st;
}

/* Parses exactly count numbers (correctly rounded) from field k. */
static tm_status read_f64(const span *b, int k, const tree_ix *ix, int64_t count, double *out,
                          const char *path, tm_err *err)
{
    tm_status st = need(b, k, ix, path, err);
    cursor tk = {b[k].p, b[k].p + b[k].n, 0};
    const char *tok;
    size_t n;
    int64_t i = 0;
    while (st == TM_OK && tm__forest_lgb_tok(&tk, &tok, &n)) {
        if (i == count) {
            return count_error(&b[k], k, count, path, err);
        }
        if (!tm_parse_double(tok, n, &out[i++])) {
            return TM_ERR(err, TM_E_PARSE, path, b[k].line, tree_keys[k],
                          "expected a number, found \"%.*s\"", SHOW(n), tok);
        }
    }
    if (st == TM_OK && i != count) {
        st = count_error(&b[k], k, count, path, err);
    }
    return st;
}

/* Pass one for the block after a Tree= line: its leaf count (checked
 * against leaf_value, so allocation stays proportional to the file),
 * category words and linear terms. */
static tm_status measure_tree(cursor *c, tree_ix *ix, const char *path, tm_err *err)
{
    span b[N_TREE_KEYS];
    int64_t v = 0;
    memset(ix, 0, sizeof *ix);
    ix->body = c->p;
    ix->line = c->line;
    scan_block(c, b);
    ix->body_end = c->p;
    tm_status st = need(b, T_NUM_LEAVES, ix, path, err);
    if (st == TM_OK) {
        st = tm__forest_lgb_int(b[T_NUM_LEAVES].p, b[T_NUM_LEAVES].n, 1, INT32_MAX / 2, &v, path,
                                b[T_NUM_LEAVES].line, "num_leaves", err);
    }
    ix->n_leaves = (int32_t)v;
    if (st == TM_OK) {
        st = need(b, T_LEAF_VALUE, ix, path, err);
    }
    if (st == TM_OK && tm__forest_lgb_count(b[T_LEAF_VALUE].p, b[T_LEAF_VALUE].n) != (size_t)v) {
        st = count_error(&b[T_LEAF_VALUE], T_LEAF_VALUE, v, path, err);
    }
    if (st == TM_OK && b[T_IS_LINEAR].set) {
        st = tm__forest_lgb_int(b[T_IS_LINEAR].p, b[T_IS_LINEAR].n, 0, 1, &v, path,
                                b[T_IS_LINEAR].line, "is_linear", err);
        ix->is_linear = v == 1;
    }
    size_t words = tm__forest_lgb_count(b[T_CAT_THRESHOLD].p, b[T_CAT_THRESHOLD].n);
    size_t terms =
            ix->is_linear ? tm__forest_lgb_count(b[T_LEAF_FEATURES].p, b[T_LEAF_FEATURES].n) : 0;
    if (st == TM_OK && (words > INT32_MAX || terms > INT32_MAX)) {
        st = TM_ERR(err, TM_E_RANGE, path, ix->line, NULL, "tree too large");
    }
    ix->n_words = (int32_t)words;
    ix->n_terms = (int32_t)terms;
    return st;
}

/* Linear leaves (formats/lightgbm section 4): const + sum coeff * x over
 * the leaf's slice. Leaves of plain trees in a linear model get their
 * leaf value as constant and no terms. */
static tm_status fill_linear(tm_forest *f, const span *b, const tree_ix *ix, const char *path,
                             tm_err *err)
{
    int32_t n_leaves = ix->n_leaves, l0 = ix->leaf0;
    if (!ix->is_linear) {
        for (int32_t l = 0; l < n_leaves; l++) {
            f->lin_const[l0 + l] = f->leaf_values[l0 + l];
            f->lin_first[l0 + l] = ix->term0;
        }
        return TM_OK;
    }
    tm_status st = read_f64(b, T_LEAF_CONST, ix, n_leaves, f->lin_const + l0, path, err);
    if (st == TM_OK) {
        st = read_ints(b, T_NUM_FEATURES, ix, n_leaves, 0, INT32_MAX, f->lin_n + l0, NULL, path,
                       err);
    }
    int64_t sum = 0;
    for (int32_t l = 0; st == TM_OK && l < n_leaves; l++) {
        f->lin_first[l0 + l] = ix->term0 + (int32_t)sum;
        sum += f->lin_n[l0 + l];
        if (sum > ix->n_terms) {
            return TM_ERR(err, TM_E_PARSE, path, b[T_NUM_FEATURES].line, "num_features",
                          "expected counts summing to %d (the leaf_features values), found more",
                          ix->n_terms);
        }
    }
    if (st == TM_OK && sum != ix->n_terms) {
        st = TM_ERR(err, TM_E_PARSE, path, b[T_NUM_FEATURES].line, "num_features",
                    "expected counts summing to %d (the leaf_features values), found %lld",
                    ix->n_terms, (long long)sum);
    }
    if (st == TM_OK) {
        st = read_ints(b, T_LEAF_FEATURES, ix, ix->n_terms, 0, f->n_features - 1,
                       f->lin_feat + ix->term0, NULL, path, err);
    }
    if (st == TM_OK) {
        st = read_f64(b, T_LEAF_COEFF, ix, ix->n_terms, f->lin_coef + ix->term0, path, err);
    }
    return st;
}

/* Category sets: cat_boundaries (num_cat + 1 word offsets, from 0 to the
 * cat_threshold count) into bounds, the words into the IR. */
static tm_status fill_cats(tm_forest *f, const span *b, const tree_ix *ix, int64_t num_cat,
                           int32_t *bounds, const char *path, tm_err *err)
{
    tm_status st = read_ints(b, T_CAT_BOUNDARIES, ix, num_cat + 1, 0, ix->n_words, bounds, NULL,
                             path, err);
    for (int64_t c = 0; st == TM_OK && c < num_cat; c++) {
        if (bounds[0] != 0 || bounds[c + 1] < bounds[c] ||
            (c + 1 == num_cat && bounds[c + 1] != ix->n_words)) {
            return TM_ERR(err, TM_E_PARSE, path, b[T_CAT_BOUNDARIES].line, "cat_boundaries",
                          "expected offsets rising from 0 to %d (the cat_threshold words)",
                          ix->n_words);
        }
    }
    if (st == TM_OK) {
        st = read_ints(b, T_CAT_THRESHOLD, ix, ix->n_words, 0, UINT32_MAX, NULL,
                       f->cat_bits + ix->word0, path, err);
    }
    return st;
}

/* Node flags: NaN routing resolved per LightGBM's decision functions
 * (formats/lightgbm section 2, fixtures/lightgbm/README.txt). */
static tm_status node_flags(tm_forest *f, int32_t nd, int dt, const int32_t *bounds,
                            int64_t num_cat, const tree_ix *ix, int version, const span *b,
                            const char *path, tm_err *err)
{
    int missing = (dt >> 2) & 3;
    bool dl = dt & DT_DEFAULT_LEFT;
    double thr = f->threshold[nd];
    uint8_t fl = 0;
    if (missing == 3) {
        return TM_ERR(err, TM_E_PARSE, path, b[T_DECISION_TYPE].line, "decision_type",
                      "expected missing type 0, 1 or 2 (bits 2-3), found 3 in %d", dt);
    }
    if (dt & DT_CATEGORICAL) {
        if (!(thr >= 0 && thr < (double)num_cat && thr == (double)(int32_t)thr)) {
            return TM_ERR(err, TM_E_PARSE, path, b[T_THRESHOLD].line, "threshold",
                          "expected a category set index in 0..%lld, found %.17g",
                          (long long)num_cat - 1, thr);
        }
        int32_t c = (int32_t)thr;
        f->cat_first[nd] = ix->word0 + bounds[c];
        f->cat_n_words[nd] = bounds[c + 1] - bounds[c];
        fl = TM__NODE_CATEGORICAL | TM__NODE_CAT_IN_LEFT;
        /* v3+: NaN goes right. v2 reads NaN as category 0 unless the
         * missing type is NaN. */
        if (version < 3 && missing != MISSING_NAN && f->cat_n_words[nd] > 0 &&
            (f->cat_bits[f->cat_first[nd]] & 1u)) {
            fl |= TM__NODE_NAN_LEFT;
        }
    } else if (missing == MISSING_NONE) {
        fl = 0.0 <= thr ? TM__NODE_NAN_LEFT : 0; /* NaN is compared as 0.0 */
    } else if (missing == MISSING_ZERO) {
        fl = TM__NODE_ZERO_MISSING | (dl ? TM__NODE_DEFAULT_LEFT | TM__NODE_NAN_LEFT : 0);
    } else {
        fl = dl ? TM__NODE_NAN_LEFT : 0;
    }
    f->flags[nd] = fl;
    return TM_OK;
}

/* Pass two: parses tree t's block into its IR slots. Splits 0..L-2 become
 * nodes node0.., leaves 0..L-1 nodes node0+L-1..; a child c < 0 is leaf ~c.
 * scratch holds 2 * num_leaves + 2 ints. */
static tm_status fill_tree(tm_forest *f, const tree_ix *ix, int32_t t, int version,
                           int32_t *scratch, const char *path, tm_err *err)
{
    span b[N_TREE_KEYS];
    cursor c = {ix->body, ix->body_end, ix->line};
    int32_t n_leaves = ix->n_leaves, n_splits = n_leaves - 1;
    int32_t node0 = ix->node0, leaf_node0 = node0 + n_splits;
    int64_t num_cat = 0;
    scan_block(&c, b);
    f->tree_first[t] = node0;
    f->tree_n_nodes[t] = 2 * n_leaves - 1;
    for (int32_t l = 0; l < n_leaves; l++) {
        f->flags[leaf_node0 + l] = TM__NODE_LEAF;
        f->leaf_index[leaf_node0 + l] = ix->leaf0 + l;
    }
    tm_status st = read_f64(b, T_LEAF_VALUE, ix, n_leaves, f->leaf_values + ix->leaf0, path, err);
    if (st == TM_OK && f->lin_const) {
        st = fill_linear(f, b, ix, path, err);
    }
    if (st != TM_OK || n_splits == 0) {
        return st; /* a one-leaf tree has empty split arrays */
    }
    int32_t *bounds = scratch, *dts = scratch + n_leaves + 1;
    if (b[T_NUM_CAT].set) {
        st = tm__forest_lgb_int(b[T_NUM_CAT].p, b[T_NUM_CAT].n, 0, n_splits, &num_cat, path,
                                b[T_NUM_CAT].line, "num_cat", err);
    }
    if (st == TM_OK && num_cat > 0) {
        st = fill_cats(f, b, ix, num_cat, bounds, path, err);
    }
    if (st == TM_OK) {
        st = read_ints(b, T_SPLIT_FEATURE, ix, n_splits, 0, f->n_features - 1, f->feature + node0,
                       NULL, path, err);
    }
    if (st == TM_OK) {
        st = read_f64(b, T_THRESHOLD, ix, n_splits, f->threshold + node0, path, err);
    }
    if (st == TM_OK) {
        st = read_ints(b, T_LEFT, ix, n_splits, -n_leaves, n_splits - 1, f->left + node0, NULL,
                       path, err);
    }
    if (st == TM_OK) {
        st = read_ints(b, T_RIGHT, ix, n_splits, -n_leaves, n_splits - 1, f->right + node0, NULL,
                       path, err);
    }
    if (st == TM_OK) {
        st = read_ints(b, T_DECISION_TYPE, ix, n_splits, 0, 15, dts, NULL, path, err);
    }
    for (int32_t i = 0; st == TM_OK && i < n_splits; i++) {
        int32_t nd = node0 + i, l = f->left[nd], r = f->right[nd];
        f->left[nd] = l >= 0 ? node0 + l : leaf_node0 + ~l;
        f->right[nd] = r >= 0 ? node0 + r : leaf_node0 + ~r;
        st = node_flags(f, nd, dts[i], bounds, num_cat, ix, version, b, path, err);
    }
    return st;
}

/* Pass one: finds each Tree= block, checks its number, and measures it. */
static tm_status index_trees(cursor *c, tree_ix **out, int32_t *n_out, const char *path,
                             tm_err *err)
{
    tree_ix *ix = NULL;
    size_t n = 0, cap = 0;
    tm_status st = TM_OK;
    span ln;
    for (;;) {
        if (!next_line(c, &ln)) {
            st = TM_ERR(err, TM_E_PARSE, path, c->line, NULL,
                        "truncated file: expected \"end of trees\" after tree %zu", n);
            goto done;
        }
        if (equals(ln.p, ln.n, "end of trees")) {
            break;
        }
        int64_t id = -1;
        if (!starts_with(ln.p, ln.n, "Tree=") ||
            tm__forest_lgb_int(ln.p + 5, ln.n - 5, 0, INT32_MAX, &id, NULL, 0, NULL, NULL) !=
                    TM_OK ||
            id != (int64_t)n) {
            st = TM_ERR(err, TM_E_PARSE, path, ln.line, NULL, "expected Tree=%zu, found \"%.*s\"",
                        n, SHOW(ln.n), ln.p);
            goto done;
        }
        if (n == cap) {
            tree_ix *grown = n < INT32_MAX / 2 ? tm_realloc_n(ix, 2 * n + 64, sizeof *ix) : NULL;
            if (!grown) {
                st = TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory");
                goto done;
            }
            ix = grown;
            cap = 2 * n + 64;
        }
        st = measure_tree(c, &ix[n], path, err);
        if (st != TM_OK) {
            goto done;
        }
        n++;
    }
done:
    if (st != TM_OK) {
        tm_free(ix);
        ix = NULL;
        n = 0;
    }
    *out = ix;
    *n_out = (int32_t)n;
    return st;
}

/* Allocates the IR for the measured trees and gives each tree its offsets. */
static tm_status alloc_ir(tm_forest *f, tree_ix *ix, int32_t n_trees, const char *path, tm_err *err)
{
    int64_t nodes = 0, leaves = 0, words = 0, terms = 0;
    bool linear = false;
    for (int32_t t = 0; t < n_trees; t++) {
        ix[t].node0 = (int32_t)nodes;
        ix[t].leaf0 = (int32_t)leaves;
        ix[t].word0 = (int32_t)words;
        ix[t].term0 = (int32_t)terms;
        nodes += 2 * (int64_t)ix[t].n_leaves - 1;
        leaves += ix[t].n_leaves;
        words += ix[t].n_words;
        terms += ix[t].n_terms;
        linear = linear || ix[t].is_linear;
        if (nodes > INT32_MAX || words > INT32_MAX || terms > INT32_MAX) {
            return TM_ERR(err, TM_E_RANGE, path, ix[t].line, NULL,
                          "model too large: more than 2^31 nodes, category words or terms");
        }
    }
    tm_status st = tm__forest_alloc_trees(f, n_trees, err);
    if (st == TM_OK) {
        st = tm__forest_alloc_nodes(f, (int32_t)nodes, (int32_t)leaves, err);
    }
    if (st == TM_OK) {
        st = tm__forest_alloc_cats(f, (int32_t)words, err);
    }
    if (st == TM_OK && linear) {
        st = tm__forest_alloc_linear(f, (int32_t)terms, err);
    }
    return st;
}

tm_status tm__forest_lgb_trees(tm_forest *f, cursor *c, int version, const char *path, tm_err *err)
{
    tree_ix *ix = NULL;
    int32_t *scratch = NULL, n_trees = 0, max_leaves = 1;
    tm_status st = index_trees(c, &ix, &n_trees, path, err);
    if (st == TM_OK) {
        st = alloc_ir(f, ix, n_trees, path, err);
    }
    for (int32_t t = 0; st == TM_OK && t < n_trees; t++) {
        max_leaves = ix[t].n_leaves > max_leaves ? ix[t].n_leaves : max_leaves;
    }
    if (st == TM_OK) {
        scratch = tm_malloc_n(2 * (size_t)max_leaves + 2, sizeof *scratch);
        if (!scratch) {
            st = TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory");
        }
    }
    for (int32_t t = 0; st == TM_OK && t < n_trees; t++) {
        f->tree_output[t] = t % f->n_outputs;
        st = fill_tree(f, &ix[t], t, version, scratch, path, err);
    }
    tm_free(ix);
    tm_free(scratch);
    return st;
}
