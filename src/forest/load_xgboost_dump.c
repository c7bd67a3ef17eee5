/* XGBoost get_dump()/dump_model() dumps, text and JSON, into the forest IR.
 * Dumps keep the trees only: objective, base score and class count come
 * from tm_forest_load_opts, tree i feeds output i % num_class, and what the
 * printer drops stays lost (dart weights, num_parallel_tree grouping,
 * indicator thresholds; see formats/xgboost.md §5). Both readers (text
 * here, JSON in load_xgboost_dump_json.c) fill one node list;
 * tm__forest_xgbdump_finish turns it into the IR. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "forest/forest_int.h"
#include "forest/predict_int.h"
#include "forest/xgboost_dump_int.h"

#define MAX_CATEGORY  16777216 /* codes >= 2^24 never match (categorical.h) */
#define MAX_CAT_WORDS (1L << 24)

static tm_status nomem(dump *d)
{
    return TM_ERR(d->err, TM_E_NOMEM, d->path, 0, NULL, "out of memory");
}

/* Grows *arr (of *cap elements of size) to hold at least need. */
static bool grow(void **arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap) {
        return true;
    }
    size_t n = *cap ? *cap * 2 : 64;
    n = n < need ? need : n;
    void *p = tm_realloc_n(*arr, n, size);
    if (!p) {
        return false;
    }
    *arr = p;
    *cap = n;
    return true;
}

tm_status tm__forest_xgbdump_new_tree(dump *d)
{
    if (!grow((void **)&d->starts, &d->cap_trees, d->n_trees + 1, sizeof *d->starts)) {
        return nomem(d);
    }
    d->starts[d->n_trees++] = d->n_nodes;
    return TM_OK;
}

tm_status tm__forest_xgbdump_new_node(dump *d, long line, dnode **out)
{
    if (d->n_trees == 0 && tm__forest_xgbdump_new_tree(d) != TM_OK) {
        return nomem(d);
    }
    if (!grow((void **)&d->nodes, &d->cap_nodes, d->n_nodes + 1, sizeof *d->nodes)) {
        return nomem(d);
    }
    dnode *n = &d->nodes[d->n_nodes++];
    memset(n, 0, sizeof *n);
    n->yes = n->no = n->missing = n->first_child = -1;
    n->line = line;
    *out = n;
    return TM_OK;
}

tm_status tm__forest_xgbdump_add_category(dump *d, long line, int64_t c)
{
    if (c < 0 || c >= MAX_CATEGORY) {
        return TM_ERR(d->err, TM_E_PARSE, d->path, line, "split_condition",
                      "category %lld outside 0..%d", (long long)c, MAX_CATEGORY - 1);
    }
    if (!grow((void **)&d->cats, &d->cap_cats, d->n_cats + 1, sizeof *d->cats)) {
        return nomem(d);
    }
    d->cats[d->n_cats++] = c;
    return TM_OK;
}

static uint64_t hash_name(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603u; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    }
    return h;
}

/* Index of name s[0..len) among the distinct names, adding it if new. */
tm_status tm__forest_xgbdump_intern(dump *d, const char *s, size_t len, int32_t *id)
{
    if (d->n_names * 2 >= d->n_slots) {
        size_t n = d->n_slots ? d->n_slots * 2 : 64;
        int32_t *slots = tm_malloc_n(n, sizeof *slots);
        if (!slots) {
            return nomem(d);
        }
        memset(slots, 0xff, n * sizeof *slots);
        for (size_t i = 0; i < d->n_names; i++) {
            size_t h = (size_t)hash_name(d->names[i], strlen(d->names[i])) & (n - 1);
            while (slots[h] >= 0) {
                h = (h + 1) & (n - 1);
            }
            slots[h] = (int32_t)i;
        }
        tm_free(d->slots);
        d->slots = slots;
        d->n_slots = n;
    }
    size_t h = (size_t)hash_name(s, len) & (d->n_slots - 1);
    while (d->slots[h] >= 0) {
        const char *nm = d->names[d->slots[h]];
        if (strlen(nm) == len && memcmp(nm, s, len) == 0) {
            *id = d->slots[h];
            return TM_OK;
        }
        h = (h + 1) & (d->n_slots - 1);
    }
    if (d->n_names >= INT32_MAX ||
        !grow((void **)&d->names, &d->cap_names, d->n_names + 1, sizeof *d->names)) {
        return nomem(d);
    }
    char *copy = tm_strndup(s, len);
    if (!copy) {
        return nomem(d);
    }
    d->names[d->n_names] = copy;
    d->slots[h] = (int32_t)d->n_names;
    *id = (int32_t)d->n_names++;
    return TM_OK;
}

/* XGBoost's default names are f0, f1, ...: true (with the index) for one. */
static bool default_name(const char *s, int32_t *index)
{
    if (s[0] != 'f' || s[1] < '0' || s[1] > '9' || (s[1] == '0' && s[2])) {
        return false;
    }
    int64_t v = 0;
    for (const char *p = s + 1; *p; p++) {
        if (*p < '0' || *p > '9' || (v = v * 10 + (*p - '0')) >= INT32_MAX) {
            return false;
        }
    }
    *index = (int32_t)v;
    return true;
}

void tm__forest_xgbdump_free(dump *d)
{
    for (size_t i = 0; i < d->n_names; i++) {
        tm_free(d->names[i]);
    }
    tm_free(d->names);
    tm_free(d->slots);
    tm_free(d->nodes);
    tm_free(d->starts);
    tm_free(d->cats);
}

/* ---- from node list to IR ---------------------------------------------- */

typedef struct id_rank {
    int64_t id;
    int32_t rank; /* position in the tree's node list */
} id_rank;

static int cmp_key(const void *a, const void *b)
{
    int64_t x = ((const id_rank *)a)->id, y = ((const id_rank *)b)->id;
    return (x > y) - (x < y);
}

static int cmp_id(const void *a, const void *b)
{
    const id_rank *x = a, *y = b;
    if (x->id != y->id) {
        return (x->id > y->id) - (x->id < y->id);
    }
    return (x->rank > y->rank) - (x->rank < y->rank); /* deterministic duplicates */
}

/* Position (0-based, in id order) of node id in a sorted tree, or -1. */
static int32_t find_id(const id_rank *ids, size_t n, int64_t id)
{
    id_rank key = {id, 0};
    const id_rank *hit = bsearch(&key, ids, n, sizeof *ids, cmp_key);
    return hit ? (int32_t)(hit - ids) : -1;
}

/* Sets the children, NaN side and threshold of split node nd from dn.
 * Numerical: yes is x < t (left). Categorical: yes is "in the set", the
 * right child. Indicator: no condition is printed; the left child is the
 * one printed first, no is the default child, and the threshold is 1 (the
 * printer drops it: 0/1 indicators split at 1 in the fixtures). */
static tm_status link_split(dump *d, tm_forest *f, const dnode *dn, int32_t t, int32_t nd,
                            int32_t first, const id_rank *ids, size_t n)
{
    int32_t yes = find_id(ids, n, dn->yes), no = find_id(ids, n, dn->no);
    int64_t left_id = dn->kind == K_CAT ? dn->no : dn->yes;
    int64_t dflt = dn->missing >= 0 ? dn->missing : dn->no;
    if (dn->kind == K_IND) {
        left_id = dn->first_child;
        dflt = dn->no;
    }
    if (yes < 0 || no < 0 || yes == no || (left_id != dn->yes && left_id != dn->no) ||
        (dflt != dn->yes && dflt != dn->no)) {
        return TM_ERR(d->err, TM_E_PARSE, d->path, dn->line, "yes",
                      "tree %d node %lld: children yes=%lld no=%lld missing=%lld do not match "
                      "its printed child nodes",
                      t, (long long)dn->id, (long long)dn->yes, (long long)dn->no,
                      (long long)dn->missing);
    }
    bool yes_left = left_id == dn->yes;
    f->left[nd] = first + (yes_left ? yes : no);
    f->right[nd] = first + (yes_left ? no : yes);
    f->flags[nd] = (uint8_t)((dflt == left_id ? TM__NODE_NAN_LEFT : 0) |
                             (dn->kind == K_CAT ? TM__NODE_CATEGORICAL : 0));
    float thr = dn->kind == K_IND ? 1.0f : dn->value;
    f->threshold_f[nd] = thr;
    f->threshold[nd] = (double)thr;
    return TM_OK;
}

/* Feature index of each interned name: f<N> -> N when every name has that
 * form (no feature names kept); otherwise names are features in order of
 * first appearance and become the model's feature names, so the CLI
 * matches input columns by name. */
static tm_status map_features(dump *d, tm_forest *f, int32_t **remap)
{
    *remap = tm_malloc_n(d->n_names ? d->n_names : 1, sizeof **remap);
    if (!*remap) {
        return nomem(d);
    }
    bool plain = true;
    int32_t n_features = 0;
    for (size_t i = 0; i < d->n_names && plain; i++) {
        plain = default_name(d->names[i], &(*remap)[i]);
        n_features = plain && (*remap)[i] >= n_features ? (*remap)[i] + 1 : n_features;
    }
    if (plain) {
        f->n_features = n_features;
        return TM_OK;
    }
    f->feature_names = tm_calloc(d->n_names, sizeof *f->feature_names);
    if (!f->feature_names) {
        return nomem(d);
    }
    f->n_features = (int32_t)d->n_names;
    for (size_t i = 0; i < d->n_names; i++) {
        (*remap)[i] = (int32_t)i;
        f->feature_names[i] = d->names[i]; /* ownership moves to f */
        d->names[i] = NULL;
    }
    return TM_OK;
}

/* Counts leaves and category words, allocates the IR arrays. */
static tm_status alloc_ir(dump *d, tm_forest *f, size_t *max_tree)
{
    int64_t n_leaves = 0, words = 0;
    for (size_t i = 0; i < d->n_nodes; i++) {
        const dnode *dn = &d->nodes[i];
        n_leaves += dn->kind == K_LEAF;
        int64_t mx = -1;
        for (size_t k = 0; dn->kind == K_CAT && k < dn->cat_n; k++) {
            mx = d->cats[dn->cat_first + k] > mx ? d->cats[dn->cat_first + k] : mx;
        }
        words += mx < 0 ? 0 : mx / 32 + 1;
    }
    *max_tree = 0;
    for (size_t t = 0; t < d->n_trees; t++) {
        size_t end = t + 1 < d->n_trees ? d->starts[t + 1] : d->n_nodes;
        if (end == d->starts[t]) {
            return TM_ERR(d->err, TM_E_PARSE, d->path, 0, NULL, "tree %zu has no nodes", t);
        }
        *max_tree = end - d->starts[t] > *max_tree ? end - d->starts[t] : *max_tree;
    }
    if (d->n_trees > INT32_MAX || d->n_nodes > INT32_MAX || words > MAX_CAT_WORDS) {
        return TM_ERR(d->err, TM_E_RANGE, d->path, 0, NULL, "model too large");
    }
    tm_status st = tm__forest_alloc_trees(f, (int32_t)d->n_trees, d->err);
    st = st ? st : tm__forest_alloc_nodes(f, (int32_t)d->n_nodes, (int32_t)n_leaves, d->err);
    return st ? st : tm__forest_alloc_cats(f, (int32_t)words, d->err);
}

/* Fills tree t (its printed nodes sorted by id, so the root, id 0, comes
 * first) at node index *base. */
static tm_status fill_tree(dump *d, tm_forest *f, int32_t t, id_rank *ids, const int32_t *remap,
                           int32_t *base, int32_t *leaves, int32_t *words)
{
    size_t start = d->starts[t], end = (size_t)t + 1 < d->n_trees ? d->starts[t + 1] : d->n_nodes;
    size_t n = end - start;
    for (size_t i = 0; i < n; i++) {
        ids[i] = (id_rank){d->nodes[start + i].id, (int32_t)i};
    }
    qsort(ids, n, sizeof *ids, cmp_id);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 ? ids[0].id != 0 : ids[i].id == ids[i - 1].id) {
            const dnode *dn = &d->nodes[start + ids[i].rank];
            return TM_ERR(d->err, TM_E_PARSE, d->path, dn->line, "nodeid",
                          i == 0 ? "tree %d: no root node 0 (first id %lld)"
                                 : "tree %d: node id %lld appears twice",
                          t, (long long)dn->id);
        }
    }
    f->tree_first[t] = *base;
    f->tree_n_nodes[t] = (int32_t)n;
    f->tree_output[t] = t % f->n_outputs; /* formats/xgboost.md §1: no tree_info */
    for (size_t r = 0; r < n; r++) {
        const dnode *dn = &d->nodes[start + ids[r].rank];
        int32_t nd = *base + (int32_t)r;
        if (dn->kind == K_LEAF) {
            f->flags[nd] = TM__NODE_LEAF;
            f->leaf_index[nd] = *leaves;
            f->leaf_values[(*leaves)++] = (double)dn->value;
            continue;
        }
        f->feature[nd] = remap[dn->name];
        tm_status st = link_split(d, f, dn, t, nd, *base, ids, n);
        if (st != TM_OK) {
            return st;
        }
        int64_t mx = -1;
        for (size_t k = 0; dn->kind == K_CAT && k < dn->cat_n; k++) {
            int64_t c = d->cats[dn->cat_first + k];
            f->cat_bits[*words + c / 32] |= 1u << (c % 32);
            mx = c > mx ? c : mx;
        }
        f->cat_first[nd] = *words;
        f->cat_n_words[nd] = mx < 0 ? 0 : (int32_t)(mx / 32 + 1);
        *words += f->cat_n_words[nd];
    }
    *base += (int32_t)n;
    return TM_OK;
}

/* Builds the forest from the parsed dump with the caller's objective, base
 * score and class count (XGBoost 1.x defaults: reg:squarederror, 0.5). */
tm_status tm__forest_xgbdump_finish(dump *d, const tm_forest_load_opts *opts,
                                    tm_forest_format format, tm_forest **out)
{
    tm_forest *f = NULL;
    int32_t *remap = NULL;
    id_rank *ids = NULL;
    size_t max_tree = 0;
    int32_t base = 0, leaves = 0, words = 0;
    tm_status st;
    if (opts->num_class < 0 || opts->num_class > TM__MAX_OUTPUTS) {
        st = TM_ERR(d->err, TM_E_INVALID, d->path, 0, "num_class", "expected 0..%d, found %d",
                    TM__MAX_OUTPUTS, opts->num_class);
        goto done;
    }
    if (d->n_trees == 0) {
        st = TM_ERR(d->err, TM_E_PARSE, d->path, 0, NULL, "no trees in the dump");
        goto done;
    }
    float b = opts->has_base_score ? (float)opts->base_score : 0.5f;
    const char *objective = opts->objective ? opts->objective : "reg:squarederror";
    st = tm__forest_new(&f, d->err);
    if (st != TM_OK) {
        goto done;
    }
    f->format = format;
    st = tm__forest_alloc_outputs(f, opts->num_class > 1 ? opts->num_class : 1, d->err);
    st = st ? st : tm__forest_xgboost_objective(f, objective, &b, 1, 0, d->path, d->err);
    if (st == TM_OK && opts->num_class > 1 && d->n_trees % (size_t)opts->num_class != 0) {
        /* tree i feeds class i % K: a count that is not a multiple of K
         * means K is not the model's class count */
        st = TM_ERR(d->err, TM_E_INVALID, d->path, 0, "num_class",
                    "%d classes do not divide the dump's %zu trees (a dump holds one tree "
                    "per class per round)",
                    opts->num_class, (size_t)d->n_trees);
    }
    st = st ? st : map_features(d, f, &remap);
    st = st ? st : alloc_ir(d, f, &max_tree);
    if (st == TM_OK && !(ids = tm_malloc_n(max_tree, sizeof *ids))) {
        st = nomem(d);
    }
    for (int32_t t = 0; st == TM_OK && t < f->n_trees; t++) {
        st = fill_tree(d, f, t, ids, remap, &base, &leaves, &words);
    }
    if (st == TM_OK) {
        f->n_iterations = (f->n_trees + f->n_outputs - 1) / f->n_outputs;
        st = tm__forest_finish(f, d->path, d->err);
    }
done:
    tm_free(remap);
    tm_free(ids);
    if (st != TM_OK) {
        tm_forest_free(f);
        f = NULL;
    }
    *out = f;
    return st;
}

/* ---- text dumps --------------------------------------------------------- */

/* Parses a whole integer s[0..len). */
static bool parse_int(const char *s, size_t len, int64_t *v)
{
    size_t i = len && s[0] == '-';
    if (i == len || len - i > 18) {
        return false;
    }
    int64_t x = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        x = x * 10 + (s[i] - '0');
    }
    *v = s[0] == '-' ? -x : x;
    return true;
}

static tm_status text_bad(dump *d, long line, const char *field, const char *what, const char *s,
                          const char *e)
{
    int n = (int)(e - s > 60 ? 60 : e - s);
    return TM_ERR(d->err, TM_E_PARSE, d->path, line, field, "expected %s, found \"%.*s\"", what, n,
                  s);
}

/* "[name<cond]", "[name:{c,...}]" or "[name]" (indicator), s..e inside. */
static tm_status text_condition(dump *d, dnode *n, const char *s, const char *e)
{
    const char *lt = NULL, *brace = NULL;
    for (const char *p = s; p < e; p++) {
        lt = *p == '<' ? p : lt;
        brace = (p + 1 < e && p[0] == ':' && p[1] == '{') ? p : brace;
    }
    if (brace && e[-1] == '}') {
        n->kind = K_CAT;
        n->cat_first = d->n_cats;
        for (const char *p = brace + 2; p < e - 1;) {
            const char *q = memchr(p, ',', (size_t)(e - 1 - p));
            q = q ? q : e - 1;
            int64_t c;
            if (!parse_int(p, (size_t)(q - p), &c)) {
                return text_bad(d, n->line, "split", "a category", p, q);
            }
            tm_status st = tm__forest_xgbdump_add_category(d, n->line, c);
            if (st != TM_OK) {
                return st;
            }
            p = q + 1;
        }
        n->cat_n = d->n_cats - n->cat_first;
        return tm__forest_xgbdump_intern(d, s, (size_t)(brace - s), &n->name);
    }
    if (lt) {
        n->kind = K_NUM;
        if (!tm_parse_float(lt + 1, (size_t)(e - lt - 1), &n->value)) {
            return text_bad(d, n->line, "split_condition", "a number", lt + 1, e);
        }
        return tm__forest_xgbdump_intern(d, s, (size_t)(lt - s), &n->name);
    }
    n->kind = K_IND;
    return tm__forest_xgbdump_intern(d, s, (size_t)(e - s), &n->name);
}

/* "yes=3,no=4,missing=3,gain=..,cover=.." after a split. */
static tm_status text_children(dump *d, dnode *n, const char *s, const char *e)
{
    while (s < e) {
        const char *q = memchr(s, ',', (size_t)(e - s));
        q = q ? q : e;
        const char *eq = memchr(s, '=', (size_t)(q - s));
        if (!eq) {
            return text_bad(d, n->line, NULL, "key=value", s, q);
        }
        size_t kl = (size_t)(eq - s);
        int64_t *dst = kl == 3 && memcmp(s, "yes", 3) == 0       ? &n->yes
                       : kl == 2 && memcmp(s, "no", 2) == 0      ? &n->no
                       : kl == 7 && memcmp(s, "missing", 7) == 0 ? &n->missing
                                                                 : NULL;
        if (dst && (!parse_int(eq + 1, (size_t)(q - eq - 1), dst) || *dst < 0)) {
            return text_bad(d, n->line,
                            dst == &n->yes  ? "yes"
                            : dst == &n->no ? "no"
                                            : "missing",
                            "a node id", eq + 1, q);
        }
        s = q + 1;
    }
    if (n->yes < 0 || n->no < 0) {
        return TM_ERR(d->err, TM_E_PARSE, d->path, n->line, "yes",
                      "split node %lld lacks yes= or no=", (long long)n->id);
    }
    return TM_OK;
}

/* One node line, indentation removed: "ID:leaf=V,..." or "ID:[...] ...". */
static tm_status text_node(dump *d, const char *s, const char *e, long line, size_t *prev)
{
    const char *colon = memchr(s, ':', (size_t)(e - s));
    int64_t id;
    if (!colon || !parse_int(s, (size_t)(colon - s), &id) || id < 0) {
        return text_bad(d, line, "nodeid", "\"ID:\" or \"booster[N]:\"", s, e);
    }
    /* Dumps written without booster[] headers: node 0 starts a tree. */
    if (id == 0 && d->n_trees > 0 && d->n_nodes > d->starts[d->n_trees - 1]) {
        tm_status st = tm__forest_xgbdump_new_tree(d);
        if (st != TM_OK) {
            return st;
        }
        *prev = SIZE_MAX;
    }
    dnode *n;
    tm_status st = tm__forest_xgbdump_new_node(d, line, &n);
    if (st != TM_OK) {
        return st;
    }
    n->id = id;
    s = colon + 1;
    if (e - s >= 5 && memcmp(s, "leaf=", 5) == 0) {
        const char *q = memchr(s, ',', (size_t)(e - s));
        q = q ? q : e;
        n->kind = K_LEAF;
        if (!tm_parse_float(s + 5, (size_t)(q - s - 5), &n->value)) {
            return text_bad(d, line, "leaf", "a number", s + 5, q);
        }
    } else {
        const char *close = s < e && *s == '[' ? memchr(s, ']', (size_t)(e - s)) : NULL;
        if (!close || close + 1 >= e || close[1] != ' ') {
            return text_bad(d, line, "split", "\"[feature<value] yes=..\" or \"leaf=..\"", s, e);
        }
        st = text_condition(d, n, s + 1, close);
        st = st ? st : text_children(d, n, close + 2, e);
        if (st != TM_OK) {
            return st;
        }
    }
    /* The line after a split is its left child (XGBoost prints left first). */
    if (*prev != SIZE_MAX && d->nodes[*prev].kind != K_LEAF && d->nodes[*prev].first_child < 0) {
        d->nodes[*prev].first_child = id;
    }
    *prev = d->n_nodes - 1;
    return TM_OK;
}

static tm_status parse_text(dump *d, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    size_t prev = SIZE_MAX;
    long line = 0;
    tm_status st = TM_OK;
    while (p < end && st == TM_OK) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        eol = eol ? eol : end;
        const char *s = p, *e = eol;
        line++;
        p = eol + 1;
        while (s < e && (*s == '\t' || *s == ' ')) {
            s++;
        }
        while (e > s && (e[-1] == '\r' || e[-1] == ' ')) {
            e--;
        }
        if (s == e) {
            continue;
        }
        if (e - s >= 8 && memcmp(s, "booster[", 8) == 0) {
            st = tm__forest_xgbdump_new_tree(d);
            prev = SIZE_MAX;
            continue;
        }
        st = text_node(d, s, e, line, &prev);
    }
    return st;
}

tm_status tm__forest_load_xgboost_dump_text(const char *text, size_t len, const char *path,
                                            const tm_forest_load_opts *opts, tm_forest **out,
                                            tm_err *err)
{
    dump d = {.path = path, .err = err};
    tm_forest_load_opts defaults;
    if (!opts) {
        tm_forest_load_opts_init(&defaults);
        opts = &defaults;
    }
    *out = NULL;
    tm_status st = parse_text(&d, text, len);
    st = st ? st : tm__forest_xgbdump_finish(&d, opts, TM_FOREST_FORMAT_XGBOOST_DUMP_TEXT, out);
    tm__forest_xgbdump_free(&d);
    return st;
}
