/* TurboMode forest: load tree ensembles exported by XGBoost, LightGBM and
 * CatBoost into one immutable representation, and evaluate them in batch.
 * A loaded tm_forest is never modified, so threads may share it. */
#ifndef TURBOMODE_FOREST_H
#define TURBOMODE_FOREST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <turbomode/core.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tm_forest tm_forest;

typedef enum tm_forest_format {
    TM_FOREST_FORMAT_AUTO = 0,          /* recognise the file by its content */
    TM_FOREST_FORMAT_XGBOOST_JSON,      /* save_model("x.json") */
    TM_FOREST_FORMAT_XGBOOST_UBJSON,    /* save_model("x.ubj") */
    TM_FOREST_FORMAT_XGBOOST_DUMP_JSON, /* get_dump(dump_format="json"), as a JSON array */
    TM_FOREST_FORMAT_XGBOOST_DUMP_TEXT, /* dump_model() text */
    TM_FOREST_FORMAT_LIGHTGBM,          /* model.txt */
    TM_FOREST_FORMAT_CATBOOST_JSON,     /* save_model(format="json") */
} tm_forest_format;

typedef enum tm_forest_family {
    TM_FOREST_XGBOOST,
    TM_FOREST_LIGHTGBM,
    TM_FOREST_CATBOOST,
} tm_forest_family;

/* Load options. Dumps carry neither objective nor base score nor class
 * count: the caller supplies them here (ignored for complete models). */
typedef struct tm_forest_load_opts {
    tm_forest_format format; /* default TM_FOREST_FORMAT_AUTO */
    const char *objective;   /* e.g. "binary:logistic"; NULL = model's own
                                (dumps: "reg:squarederror") */
    double base_score;       /* dumps only; used when has_base_score */
    bool has_base_score;     /* default false (dumps: 0.5, as XGBoost 1.x) */
    int num_class;           /* dumps only; 0 = single output */
} tm_forest_load_opts;

/* Sets every default. */
void tm_forest_load_opts_init(tm_forest_load_opts *opts);

/* Loads a model file. opts may be NULL (all defaults). On failure *out is
 * NULL, err names the file, the line or field, and the reason: TM_E_IO
 * (cannot read), TM_E_PARSE (malformed), TM_E_FORMAT (not a tree model of
 * a known family, or one needing data the file lacks such as CatBoost CTR
 * tables). The forest is freed with tm_forest_free. */
tm_status tm_forest_load(const char *path, const tm_forest_load_opts *opts, tm_forest **out,
                         tm_err *err);
/* Same, from a buffer (borrowed for the call); path names it in messages. */
tm_status tm_forest_load_mem(const void *data, size_t len, const char *path,
                             const tm_forest_load_opts *opts, tm_forest **out, tm_err *err);
/* Which format a buffer holds, by content; TM_FOREST_FORMAT_AUTO when
 * unknown. */
tm_forest_format tm_forest_detect(const void *data, size_t len);
void tm_forest_free(tm_forest *f);

/* What predict writes per row. */
typedef enum tm_forest_output {
    TM_FOREST_OUT_DEFAULT = 0, /* the family's own predict(): probabilities,
                                  values, or class ids (multi:softmax) */
    TM_FOREST_OUT_MARGIN,      /* raw scores before the link */
    TM_FOREST_OUT_PROBABILITY, /* sigmoid / softmax of the margins */
    TM_FOREST_OUT_CLASS,       /* argmax (first max wins), or p > 0.5 */
    TM_FOREST_OUT_EXPONENT,    /* exp(margin) */
    TM_FOREST_OUT_VALUE,       /* what DEFAULT resolves to for regressions */
} tm_forest_output;

/* What TM_FOREST_OUT_DEFAULT means for this model: PROBABILITY, CLASS,
 * EXPONENT, VALUE (identity) or MARGIN (e.g. binary:logitraw). */
tm_forest_output tm_forest_default_output(const tm_forest *f);
/* Number of values per row predict writes for kind (1 for CLASS). */
size_t tm_forest_output_len(const tm_forest *f, tm_forest_output kind);

/* Evaluates rows X[r*stride + j] (j < n_features; NaN = missing) and writes
 * n_rows * tm_forest_output_len(f, kind) doubles to out, row-major.
 * stride >= tm_forest_n_features(f). n_threads <= 0 means OpenMP's default.
 * Fails (TM_E_INVALID) only on bad arguments; the hot loop cannot fail. */
tm_status tm_forest_predict(const tm_forest *f, const double *X, size_t n_rows, size_t stride,
                            tm_forest_output kind, int n_threads, double *out, tm_err *err);
/* The scalar reference predictor: one row, one tree at a time, written for
 * clarity; the oracle tests compare every fast path against. */
tm_status tm_forest_predict_reference(const tm_forest *f, const double *X, size_t n_rows,
                                      size_t stride, tm_forest_output kind, double *out,
                                      tm_err *err);

/* ---- ahead-of-time compilation (compile_c.c) ----------------------------- */

/* What a compiled file exports as tm_compiled_abi. */
#define TM_FOREST_COMPILED_ABI "turbomode-compiled-1"

/* The kernel a compiled file exports as tm_compiled_margins: writes
 * n_outputs margins per row (row-major) for the rows at X + r * stride.
 * It keeps no state, so threads may call it at once. */
typedef void (*tm_forest_margins_fn)(const double *X, size_t n_rows, size_t stride,
                                     double *margins);

/* Emits f's tree walk and margin sums as one self-contained C file (a
 * function per tree, exported tm_compiled_margins, tm_compiled_abi,
 * tm_compiled_n_features, tm_compiled_n_outputs, tm_compiled_fingerprint),
 * built with e.g. `cc -O2 -shared -fPIC`. Its margins equal the reference
 * predictor's bit for bit. *out is tm_malloc'd NUL-terminated text of *len
 * bytes (free with tm_free); out may be NULL to get only *fingerprint, the
 * hash of the generated body, equal for equal trees. source names the
 * model in the file's head comment (outside the hash; may be NULL).
 * TM_E_FORMAT for models it does not compile (linear leaves). */
tm_status tm_forest_compile_c(const tm_forest *f, const char *source, char **out, size_t *len,
                              uint64_t *fingerprint, tm_err *err);
/* tm_forest_predict with the margins from fn (a compiled file of f: the
 * caller checks its fingerprint against tm_forest_compile_c's) and f's link. */
tm_status tm_forest_predict_compiled(const tm_forest *f, tm_forest_margins_fn fn, const double *X,
                                     size_t n_rows, size_t stride, tm_forest_output kind,
                                     int n_threads, double *out, tm_err *err);

/* Boosting rounds of f (XGBoost iterations: n_outputs x num_parallel_tree
 * trees each; LightGBM: num_tree_per_iteration trees; CatBoost: one tree);
 * 0 when its trees do not form whole rounds. */
int32_t tm_forest_n_iterations(const tm_forest *f);
/* The round (0-based) the model stores as its best (XGBoost's
 * best_iteration attribute), or -1 when it stores none (LightGBM's
 * model.txt never does; none is read from CatBoost JSON). */
int32_t tm_forest_best_iteration(const tm_forest *f);
/* A new forest with only the trees of rounds [begin, end) of f, as
 * XGBoost's iteration_range: end 0 means the last round, begin == end
 * leaves the base score alone, DART weights stay with their trees,
 * LightGBM rf averages over the rounds kept. TM_E_RANGE unless
 * 0 <= begin <= end <= tm_forest_n_iterations(f); TM_E_INVALID for dumps
 * (they do not record num_parallel_tree) and trees that do not form whole
 * rounds. f is not changed; free the copy with tm_forest_free. */
tm_status tm_forest_slice(const tm_forest *f, int32_t begin, int32_t end, tm_forest **out,
                          tm_err *err);

/* Summary of a loaded model. */
typedef struct tm_forest_info {
    tm_forest_family family;
    const char *format_name; /* "xgboost-json", ... (static) */
    const char *objective;   /* the model's objective name (lives with f) */
    const char *link;        /* "identity", "sigmoid", "softmax", ... (static) */
    int n_classes;           /* 0 for regression, 2 for binary, K */
    int n_outputs;           /* margin columns */
    int n_features;
    long n_trees;
    long n_nodes; /* splits + leaves */
    long n_leaves;
    int max_depth;
    long depth_hist[33]; /* trees by depth; the last bucket is >= 32 */
    bool oblivious;      /* CatBoost symmetric trees */
    bool has_categorical;
    bool has_linear;
    size_t memory_bytes; /* the IR and the predictor layout */
} tm_forest_info;
void tm_forest_get_info(const tm_forest *f, tm_forest_info *info);

tm_forest_family tm_forest_get_family(const tm_forest *f);
int tm_forest_n_features(const tm_forest *f);
int tm_forest_n_outputs(const tm_forest *f);
/* Name of feature i, or NULL when the model stores none. Lives with f. */
const char *tm_forest_feature_name(const tm_forest *f, int i);
/* Label of class i for CLASS output (CatBoost class_names), else NULL. */
const char *tm_forest_class_name(const tm_forest *f, int i);
/* Static name of a family ("xgboost") / format ("lightgbm"). */
const char *tm_forest_family_name(tm_forest_family family);
const char *tm_forest_format_name(tm_forest_format format);
/* Parses "auto", "xgboost", "xgboost-json", "xgboost-ubjson", "lightgbm",
 * "catboost", ...; false when unknown. */
bool tm_forest_format_parse(const char *s, tm_forest_format *out);

/* Writes f to path in format: TM_FOREST_FORMAT_XGBOOST_JSON (loads in
 * XGBoost 1.7+), TM_FOREST_FORMAT_LIGHTGBM (model.txt) or
 * TM_FOREST_FORMAT_CATBOOST_JSON (oblivious trees only), so that the
 * family's own library and tm_forest_load predict what f predicts (XGBoost
 * sums float32 leaves, so there within float32 rounding). Atomic: on
 * failure nothing is left at path. TM_E_FORMAT when f holds what the
 * format cannot express exactly (categorical splits, linear leaves, DART
 * weights, averaging, non-oblivious trees for CatBoost, float64
 * thresholds for the float32 families); TM_E_IO when writing fails. */
tm_status tm_forest_save(const tm_forest *f, tm_forest_format format, const char *path,
                         tm_err *err);

/* ---- building a forest (a trainer's output) ------------------------------ */

/* The link from margins to the default output. */
typedef enum tm_forest_link {
    TM_FOREST_LINK_IDENTITY,
    TM_FOREST_LINK_SIGMOID,
    TM_FOREST_LINK_SOFTMAX,
} tm_forest_link;

/* What the built forest holds. Node graphs compare float32(x) < threshold
 * (left), NaN to the side each split names; oblivious levels send
 * float32(x) > border to bit 1 and NaN to bit 0. Tree t adds to output
 * t % n_outputs. */
typedef struct tm_forest_shape {
    tm_forest_family family;
    tm_forest_format format; /* the format it is saved in by default */
    tm_forest_link link;
    tm_forest_output default_output;
    const char *objective; /* the family's objective text, copied */
    int n_classes;         /* 0 regression, 2 binary, K multiclass */
    int32_t n_features;
    const char *const *feature_names; /* n_features names (copied) or NULL */
    int32_t n_outputs, n_trees, n_iterations;
    bool oblivious;   /* oblivious levels, else node graphs */
    int32_t n_nodes;  /* node graphs: nodes of all trees; oblivious: levels */
    int32_t n_leaves; /* leaves of all trees */
} tm_forest_shape;

/* A forest being built: trees are added in order, each with its nodes in
 * order (graphs) or its levels and leaves (oblivious). The forest exists
 * only once tm_forest_builder_finish has validated it. */
typedef struct tm_forest_builder tm_forest_builder;

/* A builder for a forest of shape s. On failure *out is NULL. */
tm_status tm_forest_builder_new(const tm_forest_shape *s, tm_forest_builder **out, tm_err *err);
/* Starts the next tree of a node graph forest with n_nodes nodes. */
void tm_forest_builder_tree(tm_forest_builder *b, int32_t n_nodes);
/* The next node of the current tree: a split on feature at float32
 * threshold thr, children given as node numbers within the tree. */
void tm_forest_builder_split(tm_forest_builder *b, int32_t feature, float thr, int32_t left,
                             int32_t right, bool nan_left);
/* The next node of the current tree: a leaf adding value. */
void tm_forest_builder_leaf(tm_forest_builder *b, double value);
/* The next tree of an oblivious forest: depth levels (feature[i], border[i]
 * decide bit i of the leaf index) and 2^depth leaf values. */
void tm_forest_builder_oblivious(tm_forest_builder *b, int32_t depth, const int32_t *feature,
                                 const float *border, const double *leaves);
/* Checks that the trees added match the shape and form proper trees, and
 * hands the forest over (free it with tm_forest_free). The builder is freed
 * in every case. On failure *out is NULL (TM_E_INVALID names what is
 * wrong, TM_E_NOMEM). */
tm_status tm_forest_builder_finish(tm_forest_builder *b, tm_forest **out, tm_err *err);
/* Frees an unfinished builder; accepts NULL. */
void tm_forest_builder_free(tm_forest_builder *b);

#ifdef __cplusplus
}
#endif

#endif /* TURBOMODE_FOREST_H */
