/* The forest IR shared by the loaders, the writers and the predictor.
 * Loaders fill the struct-of-arrays below (through tm__forest_alloc_*),
 * then call tm__forest_finish, which validates the graph and builds the
 * predictor's own layout. After finish the forest is immutable.
 * Only src/forest includes this; trainers use the public builder (build.c). */
#ifndef TURBOMODE_FOREST_INT_H
#define TURBOMODE_FOREST_INT_H

#include <turbomode/forest.h>

/* Node flags, one byte per node. */
enum {
    TM__NODE_LEAF = 1u << 0,         /* leaf: leaf_index[n] is valid */
    TM__NODE_NAN_LEFT = 1u << 1,     /* NaN input goes left (after every
                                        family rule, resolved at load) */
    TM__NODE_CATEGORICAL = 1u << 2,  /* bitset split, see cat_* */
    TM__NODE_CAT_IN_LEFT = 1u << 3,  /* category in the set goes left
                                        (LightGBM); clear: goes right (XGBoost) */
    TM__NODE_ZERO_MISSING = 1u << 4, /* LightGBM missing type Zero: an input
                                        of exactly 0 goes to the default side */
    TM__NODE_DEFAULT_LEFT = 1u << 5, /* default side for ZERO_MISSING */
};

/* LightGBM's kZeroThreshold, the float literal 1e-35f as a double: the
 * default zero_band. */
#define TM__LGB_ZERO_THRESHOLD 1.0000000180025095e-35

/* How a numerical split compares (per forest). */
typedef enum tm__cmp {
    TM__CMP_LT_F32, /* XGBoost: float32(x) < float32(t) -> left */
    TM__CMP_LE_F64, /* LightGBM: x <= t (double) -> left */
    TM__CMP_LE_F32, /* CatBoost: float32(x) > float32(b) -> right */
} tm__cmp;

typedef enum tm__link {
    TM__LINK_IDENTITY,
    TM__LINK_SIGMOID,     /* 1 / (1 + exp(-sigmoid_scale * m)) */
    TM__LINK_SOFTMAX,     /* over all outputs */
    TM__LINK_OVA_SIGMOID, /* independent sigmoid per output */
    TM__LINK_EXP,
    TM__LINK_SIGNED_SQUARE, /* LightGBM regression "sqrt": sign(m) * m^2 */
    TM__LINK_LOG1P_EXP,     /* LightGBM cross_entropy_lambda: log(1 + exp(m)) */
} tm__link;

struct tm__compiled; /* the predictor's layout, layout.c */

/* Arrays added here must also be copied by tm_forest_slice (slice.c). */
struct tm_forest {
    tm_forest_family family;
    tm_forest_format format;
    char *objective; /* source objective name, owned */
    tm__link link;
    double sigmoid_scale;            /* LightGBM "binary sigmoid:S"; 1 otherwise */
    tm_forest_output default_output; /* what predict() of the family returns */
    int n_classes;                   /* 0 regression, 2 binary, K multiclass */
    tm__cmp cmp;
    bool sum_f32;          /* accumulate margins in float32 (XGBoost) */
    bool zero_tiny_inputs; /* LightGBM: |x| <= zero_band behaves as 0.0 */
    double zero_band;      /* kZeroThreshold (1e-35f); 1e-15f before LightGBM 2.0.12 */

    int32_t n_features;
    char **feature_names; /* n_features names or NULL, owned */
    char **class_names;   /* n_classes labels or NULL, owned */

    int32_t n_outputs;      /* margin columns (>= 1) */
    double *base_score;     /* n_outputs margins added first */
    double scale;           /* CatBoost scale_and_bias scale; 1 otherwise */
    int32_t leaf_dim;       /* 1: tree t adds to tree_output[t];
                               n_outputs: each leaf holds all outputs */
    bool average;           /* LightGBM rf: margin /= n_iterations before
                               the link (not for MARGIN output) */
    int32_t n_iterations;   /* trees per output, for averaging */
    int32_t best_iteration; /* the round the model stores as its best
                               (XGBoost learner.attributes), -1 none */

    /* Trees. Nodes of tree t are [tree_first[t], tree_first[t] +
     * tree_n_nodes[t]) and its root is tree_first[t]. */
    int32_t n_trees;
    int32_t *tree_first;
    int32_t *tree_n_nodes;
    int32_t *tree_output; /* output column, when leaf_dim == 1 */
    double *tree_weight;  /* DART weight, 1 otherwise */
    bool has_tree_weight; /* any weight != 1 */

    /* Nodes (general trees). left/right are absolute node indices. */
    int32_t n_nodes;
    int32_t *feature;   /* split feature (unused at leaves) */
    double *threshold;  /* split threshold in double */
    float *threshold_f; /* the same in float32 (F32 compares) */
    int32_t *left;
    int32_t *right;
    uint8_t *flags;       /* TM__NODE_* */
    int32_t *cat_first;   /* categorical: first word in cat_bits */
    int32_t *cat_n_words; /* categorical: number of 32-bit words */
    int32_t *leaf_index;  /* leaves: index into leaf_values / leaf_dim */

    int32_t n_leaves;
    double *leaf_values; /* n_leaves * leaf_dim */

    int32_t n_cat_words;
    uint32_t *cat_bits; /* category c is in when bit c%32 of word c/32 */

    /* LightGBM linear leaves (NULL when none): leaf l outputs
     * lin_const[l] + sum coef * x[feat] over its slice, or leaf_values[l]
     * when any of those x is NaN. */
    double *lin_const;  /* n_leaves */
    int32_t *lin_first; /* n_leaves, into lin_feat/lin_coef */
    int32_t *lin_n;     /* n_leaves */
    int32_t *lin_feat;
    double *lin_coef;
    int32_t n_lin_terms;

    /* CatBoost oblivious trees (oblivious == true: no general nodes).
     * Tree t has obl_depth[t] splits starting at obl_first[t]; split i is
     * bit i of the leaf index (outcome 1 when float32(x) > border, NaN gives
     * obl_nan_one). Leaves start at leaf obl_leaf_first[t], 2^depth of them,
     * each leaf_dim values in leaf_values. */
    bool oblivious;
    int32_t *obl_depth;
    int32_t *obl_first;
    int32_t *obl_leaf_first;
    int32_t n_obl_splits;
    int32_t *obl_feature;
    float *obl_border;
    uint8_t *obl_nan_one;

    /* Filled by tm__forest_finish. */
    int32_t max_depth;
    bool has_categorical;
    struct tm__compiled *compiled; /* predictor layout, owned */
};

/* A zeroed forest with scale 1, sigmoid_scale 1, leaf_dim 1. */
tm_status tm__forest_new(tm_forest **out, tm_err *err);
/* Allocate (zeroed) tree arrays; tree_weight set to 1. */
tm_status tm__forest_alloc_trees(tm_forest *f, int32_t n_trees, tm_err *err);
/* Allocate (zeroed) node arrays and n_leaves * leaf_dim leaf values
 * (set f->leaf_dim first). cat_first/cat_n_words are allocated too. */
tm_status tm__forest_alloc_nodes(tm_forest *f, int32_t n_nodes, int32_t n_leaves, tm_err *err);
tm_status tm__forest_alloc_cats(tm_forest *f, int32_t n_words, tm_err *err);
tm_status tm__forest_alloc_linear(tm_forest *f, int32_t n_terms, tm_err *err);
tm_status tm__forest_alloc_oblivious(tm_forest *f, int32_t n_splits, int32_t n_leaves, tm_err *err);
/* Allocates n_outputs zeroed base scores (sets f->n_outputs). */
tm_status tm__forest_alloc_outputs(tm_forest *f, int32_t n_outputs, tm_err *err);
/* Validates the IR (indices in range, every tree a proper tree reachable
 * from its root, features < n_features) and builds the predictor layout.
 * path is for messages. On failure the forest stays unusable: free it. */
tm_status tm__forest_finish(tm_forest *f, const char *path, tm_err *err);

/* Per-family loaders, called by tm_forest_load_mem after detection. */
tm_status tm__forest_load_xgboost_json(const char *text, size_t len, const char *path,
                                       const tm_forest_load_opts *opts, tm_forest **out,
                                       tm_err *err);
/* The same on text the call takes over: tm_malloc'd, text[len] == 0,
 * parsed in place and freed, whatever the result, before the call returns
 * (before the predictor layout is built, so the two do not add up). */
tm_status tm__forest_load_xgboost_json_owned(char *text, size_t len, const char *path,
                                             const tm_forest_load_opts *opts, tm_forest **out,
                                             tm_err *err);
tm_status tm__forest_load_xgboost_ubjson(const unsigned char *data, size_t len, const char *path,
                                         const tm_forest_load_opts *opts, tm_forest **out,
                                         tm_err *err);
tm_status tm__forest_load_xgboost_dump_json(const char *text, size_t len, const char *path,
                                            const tm_forest_load_opts *opts, tm_forest **out,
                                            tm_err *err);
tm_status tm__forest_load_xgboost_dump_text(const char *text, size_t len, const char *path,
                                            const tm_forest_load_opts *opts, tm_forest **out,
                                            tm_err *err);
tm_status tm__forest_load_lightgbm(const char *text, size_t len, const char *path,
                                   const tm_forest_load_opts *opts, tm_forest **out, tm_err *err);
tm_status tm__forest_load_catboost_json(const char *text, size_t len, const char *path,
                                        const tm_forest_load_opts *opts, tm_forest **out,
                                        tm_err *err);

/* XGBoost objective name -> link, default output, n_classes, cmp and
 * float32 sums, and base_score (n_b user-space values: 1, broadcast, or
 * n_outputs) -> margins, for a forest whose outputs are allocated
 * (load_xgboost.c; shared with the dump loader). version is the writing
 * XGBoost's major*10000 + minor*100 + patch, 0 when unknown (dumps): a
 * few objectives changed meaning between versions. */
tm_status tm__forest_xgboost_objective(tm_forest *f, const char *objective, const float *b,
                                       size_t n_b, int version, const char *path, tm_err *err);

/* Reads XGBoost's learner.attributes.best_iteration (a string) into
 * f->best_iteration, -1 when absent (slice.c). */
tm_status tm__forest_read_best_iteration(tm_forest *f, const tm_json *learner, const char *path,
                                         tm_err *err);

/* Predictor layout (layout.c). */
tm_status tm__forest_compile(tm_forest *f, tm_err *err);
void tm__forest_compiled_free(struct tm__compiled *c);
size_t tm__forest_compiled_bytes(const struct tm__compiled *c);

/* Applies the link of kind to the margins m (n_outputs values) and writes
 * tm_forest_output_len(f, kind) values to out. */
void tm__forest_transform(const tm_forest *f, tm_forest_output kind, const double *m, double *out);
/* Resolves DEFAULT to the concrete kind. */
tm_forest_output tm__forest_resolve_output(const tm_forest *f, tm_forest_output kind);

/* Writers: tm_forest_save (save.c) runs the shared checks, one writer
 * (write_*.c) builds the file's text, save.c writes it atomically. A tree
 * flattened for writing (flatten.c): nodes in breadth-first order (siblings
 * adjacent, right == left + 1, as XGBoost requires), x goes left exactly
 * when float32(x) < t, NaN by nan_left. */
typedef struct tm__forest_wnode {
    int32_t feature; /* -1 at leaves */
    float t;         /* float32(x) < t goes left (when exact32) */
    bool exact32;    /* the split has that float32 form */
    double t64;      /* x <= t64 goes left (LightGBM's form, always exact) */
    bool nan_left;
    int32_t left; /* flat index of the left child (right = left + 1) */
    double value; /* leaves: value of output k, plus the folded base */
} tm__forest_wnode;
/* Flattens tree t for output k into buf (room for tm__forest_flat_max
 * nodes), adding add to every leaf; *n gets the node count. Cannot fail. */
void tm__forest_flatten(const tm_forest *f, int32_t t, int32_t k, double add, tm__forest_wnode *buf,
                        int32_t *n);
/* Largest flattened size of any tree of f. */
int32_t tm__forest_flat_max(const tm_forest *f);
/* Checks what every writer needs (fmt names the format in messages). */
tm_status tm__forest_check_writable(const tm_forest *f, const char *fmt, const char *path,
                                    tm_err *err);
/* Ends a JSON writer's document: finishes jw (freeing its memory) and
 * ends the text with a newline; a failure of the JSON writer (out of
 * memory, a refused NaN or infinity) is reported naming path. */
tm_status tm__forest_jw_end(tm_jw *jw, const char *path, tm_err *err);
/* Each writer appends the whole file for f to out; path names the output
 * in messages. On a refusal (TM_E_FORMAT naming what the format cannot
 * hold) out holds partial text the caller discards. An allocation failure
 * may show only as out->oom, which the caller checks. */
tm_status tm__forest_write_lightgbm(const tm_forest *f, const char *path, tm_buf *out, tm_err *err);
tm_status tm__forest_write_xgboost(const tm_forest *f, const char *path, tm_buf *out, tm_err *err);
tm_status tm__forest_write_catboost(const tm_forest *f, const char *path, tm_buf *out, tm_err *err);

#endif /* TURBOMODE_FOREST_INT_H */
