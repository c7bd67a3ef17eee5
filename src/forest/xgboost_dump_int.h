/* The parsed form of an XGBoost dump shared by the text reader
 * (load_xgboost_dump.c) and the JSON reader (load_xgboost_dump_json.c):
 * a node list per tree, interned feature names, category lists. */
#ifndef TURBOMODE_XGBOOST_DUMP_INT_H
#define TURBOMODE_XGBOOST_DUMP_INT_H

#include "forest/forest_int.h"

enum { K_LEAF, K_NUM, K_CAT, K_IND };

/* One printed node. Ids are XGBoost's node ids within the tree. */
typedef struct dnode {
    int64_t id;
    int64_t yes, no, missing; /* child ids; missing -1 when not printed */
    int64_t first_child;      /* id of the child printed first (the left one) */
    int32_t name;             /* interned split feature name */
    uint8_t kind;             /* K_* */
    float value;              /* threshold, or the leaf value */
    size_t cat_first, cat_n;  /* K_CAT: slice of dump.cats */
    long line;                /* text dumps: source line */
} dnode;

typedef struct dump {
    const char *path;
    tm_err *err;
    dnode *nodes;
    size_t n_nodes, cap_nodes;
    size_t *starts; /* first node of each tree */
    size_t n_trees, cap_trees;
    int64_t *cats;
    size_t n_cats, cap_cats;
    char **names; /* distinct split names, first appearance order */
    size_t n_names, cap_names;
    int32_t *slots; /* open-addressing index into names, -1 empty */
    size_t n_slots;
} dump;

/* Starts a new tree; every node added after belongs to it. */
tm_status tm__forest_xgbdump_new_tree(dump *d);
/* Appends a zeroed node (line is the text line, 0 for JSON) at *out. */
tm_status tm__forest_xgbdump_new_node(dump *d, long line, dnode **out);
/* Appends category c to the current node's list. */
tm_status tm__forest_xgbdump_add_category(dump *d, long line, int64_t c);
/* The id of split name s[0..len), adding it on first sight. */
tm_status tm__forest_xgbdump_intern(dump *d, const char *s, size_t len, int32_t *id);
/* Builds the forest from the nodes with the caller's objective, base score
 * and class count; *out is NULL on failure. */
tm_status tm__forest_xgbdump_finish(dump *d, const tm_forest_load_opts *opts,
                                    tm_forest_format format, tm_forest **out);
void tm__forest_xgbdump_free(dump *d);

#endif
