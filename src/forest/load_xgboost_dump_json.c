/* XGBoost get_dump(dump_format="json") dumps: a JSON array of trees (or of
 * per-tree JSON strings), read into the node list of xgboost_dump_int.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forest/forest_int.h"
#include "forest/xgboost_dump_int.h"

/* ---- JSON dumps --------------------------------------------------------- */

/* An integer that int64 holds exactly (no UB on the cast). */
static bool whole(double x)
{
    return x >= -9.0e15 && x <= 9.0e15 && x == floor(x);
}

static tm_status json_int(dump *d, const tm_json *node, const char *key, bool required, int64_t *v)
{
    const tm_json *j = tm_json_get(node, key);
    if (!j && !required) {
        return TM_OK;
    }
    if (!j || j->type != TM_JSON_NUMBER || !whole(j->num) || j->num < 0) {
        return TM_ERR(d->err, TM_E_PARSE, d->path, (j ? j : node)->line, key,
                      j ? "expected a node id" : "missing key '%s'", key);
    }
    *v = (int64_t)j->num;
    return TM_OK;
}

/* tm_json_f32, keeping the sign of an integer token "-0" (XGBoost prints
 * negative-zero leaves that way). */
static float json_f32(const tm_json *j)
{
    float v = tm_json_f32(j);
    return v == 0.0f ? (float)j->num : v;
}

/* One node object of a JSON dump and, recursively, its children. */
static tm_status json_node(dump *d, const tm_json *node)
{
    if (!node || node->type != TM_JSON_OBJECT) {
        return TM_ERR(d->err, TM_E_PARSE, d->path, node ? node->line : 0, NULL,
                      "expected a node object");
    }
    dnode *n;
    int64_t id = -1;
    tm_status st = json_int(d, node, "nodeid", true, &id);
    st = st ? st : tm__forest_xgbdump_new_node(d, node->line, &n);
    if (st != TM_OK) {
        return st;
    }
    n->id = id;
    const tm_json *leaf = tm_json_get(node, "leaf");
    if (leaf) {
        n->kind = K_LEAF;
        if (leaf->type != TM_JSON_NUMBER) {
            return TM_ERR(d->err, TM_E_PARSE, d->path, leaf->line, "leaf", "expected a number");
        }
        n->value = json_f32(leaf);
        return TM_OK;
    }
    const tm_json *split = tm_json_get(node, "split");
    const tm_json *cond = tm_json_get(node, "split_condition");
    const tm_json *kids = tm_json_get(node, "children");
    if (!split || split->type != TM_JSON_STRING || !kids || kids->type != TM_JSON_ARRAY ||
        kids->len != 2) {
        return TM_ERR(d->err, TM_E_PARSE, d->path, node->line, "split",
                      "node %lld: expected 'leaf', or 'split' with two 'children'", (long long)id);
    }
    st = json_int(d, node, "yes", true, &n->yes);
    st = st ? st : json_int(d, node, "no", true, &n->no);
    st = st ? st : json_int(d, node, "missing", false, &n->missing);
    st = st ? st : tm__forest_xgbdump_intern(d, split->str, split->len, &n->name);
    n->kind = !cond ? K_IND : cond->type == TM_JSON_ARRAY ? K_CAT : K_NUM;
    if (cond && cond->type != TM_JSON_ARRAY && cond->type != TM_JSON_NUMBER) {
        st = st ? st
                : TM_ERR(d->err, TM_E_PARSE, d->path, cond->line, "split_condition",
                         "expected a number or a list of categories");
    }
    n->value = n->kind == K_NUM ? json_f32(cond) : 0.0f;
    n->cat_first = d->n_cats;
    for (size_t k = 0; st == TM_OK && n->kind == K_CAT && k < cond->len; k++) {
        const tm_json *c = tm_json_at(cond, k);
        if (c->type != TM_JSON_NUMBER || !whole(c->num)) {
            st = TM_ERR(d->err, TM_E_PARSE, d->path, c->line, "split_condition",
                        "expected an integer category");
        }
        st = st ? st : tm__forest_xgbdump_add_category(d, c->line, (int64_t)c->num);
    }
    n->cat_n = d->n_cats - n->cat_first;
    int64_t first = -1;
    st = st ? st : json_int(d, tm_json_at(kids, 0), "nodeid", true, &first);
    if (st != TM_OK) {
        return st;
    }
    n->first_child = first; /* children print left first */
    for (size_t k = 0; k < 2 && st == TM_OK; k++) {
        st = json_node(d, tm_json_at(kids, k)); /* n may move: not used after */
    }
    return st;
}

/* The dump as a JSON array of tree objects, or of strings that each hold
 * one tree's JSON (Booster.get_dump(dump_format="json") saved as a list). */
static tm_status parse_json(dump *d, const tm_json *root)
{
    if (!root || root->type != TM_JSON_ARRAY) {
        return TM_ERR(d->err, TM_E_FORMAT, d->path, root ? root->line : 0, NULL,
                      "not an xgboost json dump: expected an array of trees");
    }
    tm_status st = TM_OK;
    for (size_t i = 0; i < root->len && st == TM_OK; i++) {
        const tm_json *tree = tm_json_at(root, i);
        st = tm__forest_xgbdump_new_tree(d);
        if (st == TM_OK && tree->type == TM_JSON_STRING) {
            tm_json_doc *doc = NULL;
            st = tm_json_parse(tree->str, tree->len, d->path, &doc, d->err);
            st = st ? st : json_node(d, tm_json_root(doc));
            tm_json_doc_free(doc);
        } else if (st == TM_OK) {
            st = json_node(d, tree);
        }
    }
    return st;
}

tm_status tm__forest_load_xgboost_dump_json(const char *text, size_t len, const char *path,
                                            const tm_forest_load_opts *opts, tm_forest **out,
                                            tm_err *err)
{
    dump d = {.path = path, .err = err};
    tm_json_doc *doc = NULL;
    tm_forest_load_opts defaults;
    if (!opts) {
        tm_forest_load_opts_init(&defaults);
        opts = &defaults;
    }
    *out = NULL;
    tm_status st = tm_json_parse(text, len, path, &doc, err);
    st = st ? st : parse_json(&d, tm_json_root(doc));
    st = st ? st : tm__forest_xgbdump_finish(&d, opts, TM_FOREST_FORMAT_XGBOOST_DUMP_JSON, out);
    tm_json_doc_free(doc);
    tm__forest_xgbdump_free(&d);
    return st;
}
