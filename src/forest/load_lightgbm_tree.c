/* LightGBM model.txt trees (see formats/lightgbm sections 1.2, 2 and 4):
 * two passes over the Tree= blocks. Pass one finds and measures each block
 * (leaves checked against leaf_value, so what is allocated stays
 * proportional to the file) and checks how the trees end; pass two parses
 * each block into the IR, with each tree's splits then leaves contiguous
 * and NaN routing resolved into node flags. A block is its key=value lines
 * up to a blank line, as LightGBM's tree reader takes it. The header and
 * objective are load_lightgbm.c's. */
#include <string.h>

#include "forest/load_lightgbm_int.h"

typedef tm__forest_lgb_span span;
typedef tm__forest_lgb_text cursor;

/* One Tree= block, measured by pass one and placed in the IR. */
typedef struct tree_ix {
    const char *start;           /* the Tree= line */
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

static bool is_section_line(const span *ln)
{
    return tm__forest_lgb_starts_with(ln->p, ln->n, "Tree=") ||
           tm__forest_lgb_equals(ln->p, ln->n, "end of trees");
}

/* Reads one tree block's key=value lines into b: up to the first blank
 * line (where LightGBM's tree reader stops), the end of the text, or a
 * Tree= or "end of trees" line, which is left unread in c. Returns false
 * with *bad set at a line that is not key=value. */
static bool scan_block(cursor *c, span *b, span *bad)
{
    span ln;
    memset(b, 0, N_TREE_KEYS * sizeof *b);
    for (;;) {
        cursor before = *c;
        if (!tm__forest_lgb_next_line(c, &ln) || ln.n == 0) {
            return true;
        }
        if (is_section_line(&ln)) {
            *c = before;
            return true;
        }
        if (!memchr(ln.p, '=', ln.n)) {
            *bad = ln;
            return false;
        }
        tm__forest_lgb_match_key(&ln, tree_keys, N_TREE_KEYS, b);
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
                  (long long)count, tm__forest_lgb_count(s));
}

/* Parses exactly count integers in lo..hi from field k into out (or, when
 * out is NULL, into words as uint32). */
static tm_status read_ints(const span *b, int k, const tree_ix *ix, int64_t count, int64_t lo,
                           int64_t hi, int32_t *out, uint32_t *words, const char *path, tm_err *err)
{
    tm_status st = need(b, k, ix, path, err);
    cursor tk = tm__forest_lgb_tokens(&b[k]);
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
    cursor tk = tm__forest_lgb_tokens(&b[k]);
    const char *tok;
    size_t n;
    int64_t i = 0;
    while (st == TM_OK && tm__forest_lgb_tok(&tk, &tok, &n)) {
        if (i == count) {
            return count_error(&b[k], k, count, path, err);
        }
        if (!tm_parse_double(tok, n, &out[i++])) {
            return TM_ERR(err, TM_E_PARSE, path, b[k].line, tree_keys[k],
                          "expected a number, found \"%.*s\"", TM__LGB_SHOW(n), tok);
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
    span b[N_TREE_KEYS], bad;
    int64_t v = 0;
    ix->body = c->p;
    ix->line = c->line;
    if (!scan_block(c, b, &bad)) {
        return TM_ERR(err, TM_E_PARSE, path, bad.line, NULL,
                      "expected key=value lines up to a blank line in a tree, found \"%.*s\"",
                      TM__LGB_SHOW(bad.n), bad.p);
    }
    ix->body_end = c->p;
    tm_status st = need(b, T_NUM_LEAVES, ix, path, err);
    if (st == TM_OK) {
        st = tm__forest_lgb_int(b[T_NUM_LEAVES].p, b[T_NUM_LEAVES].n, 1, INT32_MAX / 2, &v, path,
                                b[T_NUM_LEAVES].line, "num_leaves", err);
    }
    ix->n_leaves = (int32_t)v;
    if (st == TM_OK) {
        st = need(b, T_NUM_CAT, ix, path, err); /* LightGBM's reader requires it too */
    }
    if (st == TM_OK) {
        st = need(b, T_LEAF_VALUE, ix, path, err);
    }
    if (st == TM_OK && tm__forest_lgb_count(&b[T_LEAF_VALUE]) != (size_t)v) {
        st = count_error(&b[T_LEAF_VALUE], T_LEAF_VALUE, v, path, err);
    }
    if (st == TM_OK && b[T_IS_LINEAR].set) {
        st = tm__forest_lgb_int(b[T_IS_LINEAR].p, b[T_IS_LINEAR].n, 0, 1, &v, path,
                                b[T_IS_LINEAR].line, "is_linear", err);
        ix->is_linear = v == 1;
    }
    /* Linear leaf data in a tree not marked linear: LightGBM would ignore
     * it and predict plain leaves; a lost is_linear line must not do that. */
    for (int k = T_LEAF_CONST; st == TM_OK && !ix->is_linear && k <= T_LEAF_COEFF; k++) {
        if (b[k].set) {
            st = TM_ERR(err, TM_E_PARSE, path, b[k].line, tree_keys[k],
                        "expected no %s= line in a tree without is_linear=1", tree_keys[k]);
        }
    }
    size_t words = tm__forest_lgb_count(&b[T_CAT_THRESHOLD]);
    size_t terms = ix->is_linear ? tm__forest_lgb_count(&b[T_LEAF_FEATURES]) : 0;
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
                            int64_t num_cat, const tree_ix *ix, const span *b, const char *path,
                            tm_err *err)
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
        /* NaN goes right (not in the set) whatever the missing type and
         * version: LightGBM 4 tests isnan first; 2.x and 3.x cast NaN to
         * int first, which on x86-64 gives INT_MIN, a negative category,
         * sent right before their "NaN is category 0" branch is reached. */
        fl = TM__NODE_CATEGORICAL | TM__NODE_CAT_IN_LEFT;
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
static tm_status fill_tree(tm_forest *f, const tree_ix *ix, int32_t t, int32_t *scratch,
                           const char *path, tm_err *err)
{
    span b[N_TREE_KEYS];
    cursor c = {ix->body, ix->body_end, ix->line};
    int32_t n_leaves = ix->n_leaves, n_splits = n_leaves - 1;
    int32_t node0 = ix->node0, leaf_node0 = node0 + n_splits;
    int64_t num_cat = 0;
    span bad;
    scan_block(&c, b, &bad); /* pass one accepted every line */
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
        st = node_flags(f, nd, dts[i], bounds, num_cat, ix, b, path, err);
    }
    return st;
}

/* What ended the Tree= blocks. */
typedef enum trees_end {
    END_MARK,        /* "end of trees" (LightGBM 2.2 and later) */
    END_IMPORTANCES, /* "feature importances:" (2.1.2 and older write it next) */
    END_TEXT         /* the end of the text */
} trees_end;

/* Pass one: finds each Tree= block, checks its number, and measures it;
 * blank lines between blocks are skipped. */
static tm_status index_trees(cursor *c, tree_ix **out, int32_t *n_out, trees_end *how,
                             const char *path, tm_err *err)
{
    tree_ix *ix = NULL;
    size_t n = 0, cap = 0;
    tm_status st = TM_OK;
    span ln;
    for (;;) {
        if (!tm__forest_lgb_next_line(c, &ln)) {
            *how = END_TEXT;
            break;
        }
        if (ln.n == 0) {
            continue;
        }
        if (tm__forest_lgb_equals(ln.p, ln.n, "end of trees")) {
            *how = END_MARK;
            break;
        }
        if (tm__forest_lgb_equals(ln.p, ln.n, "feature importances:")) {
            *how = END_IMPORTANCES;
            break;
        }
        int64_t id = -1;
        if (!tm__forest_lgb_starts_with(ln.p, ln.n, "Tree=") ||
            tm__forest_lgb_int(ln.p + 5, ln.n - 5, 0, INT32_MAX, &id, NULL, 0, NULL, NULL) !=
                    TM_OK ||
            id != (int64_t)n) {
            st = TM_ERR(err, TM_E_PARSE, path, ln.line, NULL,
                        "expected Tree=%zu or \"end of trees\", found \"%.*s\"", n,
                        TM__LGB_SHOW(ln.n), ln.p);
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
        memset(&ix[n], 0, sizeof ix[n]);
        ix[n].start = ln.p;
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

/* Checks tree_sizes against the blocks found: as many sizes as trees and,
 * when the trees end with the text (no line after them to show that the
 * file is whole), each size equal to its block's bytes, the last one
 * included (LightGBM's writer counts "Tree=i\n", the block and its blank
 * lines). */
static tm_status check_sizes(const tree_ix *ix, int32_t n, const cursor *c, bool to_end,
                             const span *sizes, const char *path, tm_err *err)
{
    size_t n_sizes = tm__forest_lgb_count(sizes);
    if (n_sizes != (size_t)n) {
        return TM_ERR(err, TM_E_PARSE, path, sizes->line, "tree_sizes",
                      "expected %zu trees, found %d Tree= blocks (truncated file?)", n_sizes, n);
    }
    cursor tk = tm__forest_lgb_tokens(sizes);
    const char *tok;
    size_t len;
    for (int32_t t = 0; to_end && tm__forest_lgb_tok(&tk, &tok, &len); t++) {
        int64_t want = 0;
        tm_status st = tm__forest_lgb_int(tok, len, 0, INT64_MAX / 2, &want, path, sizes->line,
                                          "tree_sizes", err);
        if (st != TM_OK) {
            return st;
        }
        const char *next = t + 1 < n ? ix[t + 1].start : c->end;
        if (next - ix[t].start != want) {
            return TM_ERR(err, TM_E_PARSE, path, ix[t].line, "tree_sizes",
                          "expected tree %d to take %lld bytes, found %td (truncated file?)", t,
                          (long long)want, next - ix[t].start);
        }
    }
    return TM_OK;
}

/* Accepts the line that ended the trees (see tm__forest_lgb_trees). */
static tm_status check_end(const tree_ix *ix, int32_t n, trees_end how, const cursor *c,
                           int version, const span *sizes, const char *path, tm_err *err)
{
    if (how == END_MARK && version == 0) {
        return TM_ERR(err, TM_E_PARSE, path, c->line, "version",
                      "expected a header line version= (files with \"end of trees\" have one), "
                      "found none");
    }
    if (how == END_MARK || (how == END_IMPORTANCES && version < 3)) {
        return sizes->set ? check_sizes(ix, n, c, false, sizes, path, err) : TM_OK;
    }
    if (how == END_IMPORTANCES) {
        return TM_ERR(err, TM_E_PARSE, path, c->line, NULL,
                      "expected \"end of trees\" before \"feature importances:\" (version v%d "
                      "files have it)",
                      version);
    }
    if (version >= 3 || !sizes->set) {
        return TM_ERR(err, TM_E_PARSE, path, c->line, NULL,
                      "truncated file: expected \"end of trees\" after tree %d", n);
    }
    return check_sizes(ix, n, c, true, sizes, path, err);
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

tm_status tm__forest_lgb_trees(tm_forest *f, cursor *c, int version, const span *sizes,
                               const char *path, tm_err *err)
{
    tree_ix *ix = NULL;
    int32_t *scratch = NULL, n_trees = 0, max_leaves = 1;
    trees_end how = END_TEXT;
    tm_status st = index_trees(c, &ix, &n_trees, &how, path, err);
    if (st == TM_OK) {
        st = check_end(ix, n_trees, how, c, version, sizes, path, err);
    }
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
        st = fill_tree(f, &ix[t], t, scratch, path, err);
    }
    tm_free(ix);
    tm_free(scratch);
    return st;
}
