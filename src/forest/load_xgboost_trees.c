/* The trees of an XGBoost save_model() document (load_xgboost.c reads the
 * rest): RegTree's struct-of-arrays form per tree, its categorical splits,
 * checked index by index and laid into the forest IR (formats/xgboost.md
 * §4-5). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "forest/forest_int.h"
#include "forest/xgboost_json_int.h"

/* Category codes at or above this never match (src/common/categorical.h). */
#define MAX_CATEGORY 16777216
/* Cap on all categorical bitsets together (32-bit words): 64 MiB. */
#define MAX_CAT_WORDS (1L << 24)

typedef tm_json_ctx walk;

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
    st = st ? st : tm__xgb_param_int(w, tp, tpw, "size_leaf_vector", 0, INT32_MAX, 0, &leaf_vec);
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

tm_status tm__xgb_read_trees(const walk *w, tm_forest *f, const char *model, const tm_json *trees)
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
