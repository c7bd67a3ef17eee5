/* TurboMode train: a histogram gradient-boosted tree trainer (leaf-wise,
 * depth-wise or oblivious growth; multiclass softmax, binary logistic and
 * L2 regression) that returns its model as a tm_forest, which the forest
 * module predicts with and saves in XGBoost, LightGBM or CatBoost format. */
#ifndef TURBOMODE_TRAIN_H
#define TURBOMODE_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <turbomode/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The model type of the forest module (turbomode/forest.h). */
typedef struct tm_forest tm_forest;

/* Most classes a multiclass model may have (fixed-size metrics below). */
#define TM_TRAIN_MAX_CLASSES 32
/* Deepest trees: 30 levels (leaf indices fit an int32), 12 for oblivious
 * trees (4096 leaves per tree); the smallest learning rate and subsample
 * share. */
#define TM_TRAIN_MAX_DEPTH           30
#define TM_TRAIN_MAX_DEPTH_OBLIVIOUS 12
#define TM_TRAIN_MIN_RATE            1e-6

typedef enum tm_train_objective {
    TM_TRAIN_MULTICLASS = 0, /* softmax, K >= 3 classes, one tree per class per round */
    TM_TRAIN_BINARY,         /* logistic, labels 0/1 */
    TM_TRAIN_REGRESSION,     /* squared error */
} tm_train_objective;

typedef enum tm_train_growth {
    TM_TRAIN_LEAFWISE = 0, /* best-first: split the leaf with the largest gain */
    TM_TRAIN_DEPTHWISE,    /* level by level, every splittable leaf */
    TM_TRAIN_OBLIVIOUS,    /* symmetric: one split per level shared by all leaves */
} tm_train_growth;

typedef enum tm_train_class_weight {
    TM_TRAIN_CW_NONE = 0,
    TM_TRAIN_CW_BALANCED, /* w_k = n / (K * n_k) from the training rows */
    TM_TRAIN_CW_EXPLICIT, /* class_weights[0..num_class) */
} tm_train_class_weight;

/* What the progress callback sees every progress_every rounds (and at the
 * last round). valid_loss is NaN without a validation set. */
typedef struct tm_train_progress {
    int round; /* 1-based rounds done */
    int max_rounds;
    double train_loss;  /* weighted training metric */
    double valid_loss;  /* validation metric early stopping reads, or NaN */
    int best_iteration; /* 0-based best round so far (-1 before any) */
    double elapsed;     /* seconds since training began */
} tm_train_progress;
typedef void (*tm_train_progress_fn)(void *ctx, const tm_train_progress *p);

/* Training options: a transparent struct, tm_train_opts_init sets every
 * default (the values in the comments). */
typedef struct tm_train_opts {
    tm_train_objective objective;               /* TM_TRAIN_MULTICLASS */
    int num_class;                              /* 0: max label + 1 (multiclass) */
    tm_train_growth growth;                     /* TM_TRAIN_LEAFWISE */
    int num_leaves;                             /* 31; leaf cap, 0 = none (not for leaf-wise) */
    int max_depth;                              /* -1: none for leaf-wise, 6 for the others */
    double learning_rate;                       /* 0.05 */
    int max_rounds;                             /* 1000 */
    int early_stopping;                         /* 50 rounds of patience; 0 = off */
    bool early_stopping_unweighted;             /* false: stop on the weighted validation
                                                   loss; true: on the unweighted loss
                                                   with the class weights' tilt undone
                                                   (valid_loss_deweighted) */
    int max_bin;                                /* 255 value bins per feature, 2..255 */
    double lambda_l2;                           /* 1.0, L2 on leaf values */
    int min_data_in_leaf;                       /* 20 rows per leaf, checked exactly on the
                                                   chosen split (candidates are screened
                                                   with LightGBM's hessian estimate); not
                                                   for oblivious trees */
    double min_sum_hessian_in_leaf;             /* 1e-3 (not for oblivious trees) */
    double min_gain_to_split;                   /* 0 */
    double row_subsample;                       /* 1.0: fraction of rows per round */
    double col_subsample;                       /* 1.0: fraction of features per tree */
    uint64_t seed;                              /* 1 */
    int n_threads;                              /* 0: OpenMP's default */
    tm_train_class_weight class_weight;         /* TM_TRAIN_CW_NONE */
    double class_weights[TM_TRAIN_MAX_CLASSES]; /* EXPLICIT: one per class, > 0 */
    int n_class_weights;                        /* EXPLICIT: how many given (must be K) */
    size_t bin_sample_rows;                     /* 200000 rows choose the bins; 0 = all */
    tm_train_progress_fn progress;              /* NULL: none; called on the calling thread */
    void *progress_ctx;
    int progress_every;               /* 10 rounds */
    const char *const *feature_names; /* n_features names saved in the model,
                                         borrowed for the call; NULL: none */
} tm_train_opts;

void tm_train_opts_init(tm_train_opts *opts);

/* The option table of tm_train_opts (see tm_opt in core.h): the names
 * `turbomode train` takes, ranges, help. A static table; *n gets its
 * length. tm_train_fit checks every option against it: a value out of
 * range fails with TM_E_INVALID naming the option ("--max-bin: expected a
 * whole number in 2..255, found \"300\""). Fields a row shows with a
 * default text may hold that default: num_class 0, num_leaves 0 (not for
 * leaf-wise), max_depth -1, n_threads 0. */
const tm_opt *tm_train_opt_table(size_t *n);
/* The check tm_train_fit runs first: every option against the table, then
 * the rules between options (leaf-wise trees need a leaf count, oblivious
 * ones at most 12 levels, no class weights for regression). For callers
 * that check before their own work. TM_OK or TM_E_INVALID. */
tm_status tm_train_opts_check(const tm_train_opts *opts, tm_err *err);

/* A data set: row-major features x[r * stride + j] (NaN = missing), given
 * either as doubles (x) or float32 (x_f32; the other NULL), labels (class
 * ids 0..K-1 as doubles, 0/1, or targets) and optional row weights.
 * name, label_name and line only shape error messages ("NAME:LINE: field
 * 'LABEL': ..."). Borrowed for the call. */
typedef struct tm_train_data {
    size_t n_rows;
    size_t n_features;
    size_t stride; /* >= n_features */
    const double *x;
    const float *x_f32;
    const double *label;    /* n_rows */
    const double *weight;   /* n_rows, >= 0, or NULL for 1 */
    const char *name;       /* source named in messages, or NULL */
    const char *label_name; /* label column named in messages, or NULL */
    const long *line;       /* n_rows 1-based source lines, or NULL (messages
                               then say "row N", 1-based) */
} tm_train_data;

/* What training measured. Loss = multi_logloss, binary logloss or mean
 * squared error, weighted by the row weights times the class weights;
 * *_unweighted ignores both. Class figures are
 * on the validation set when there is one, else on the training set, for
 * the model as returned (cut at the best iteration). */
typedef struct tm_train_metrics {
    tm_train_objective objective;
    int n_classes;      /* 0 regression, 2 binary, K */
    int rounds;         /* rounds trained */
    int best_iteration; /* 0-based; the model keeps rounds 0..best */
    long n_trees;       /* trees in the returned model */
    bool has_valid;
    size_t n_train, n_valid;
    int n_features_used;           /* features with at least two bins */
    double train_loss, valid_loss; /* NaN when absent */
    double train_loss_unweighted, valid_loss_unweighted;
    double valid_loss_deweighted;           /* unweighted validation loss with the class
                                               weights' tilt undone (p_k / cw_k,
                                               renormalised): comparable with the prior's;
                                               = valid_loss_unweighted without class
                                               weights; NaN without valid */
    double valid_prior_loss;                /* unweighted validation loss of the prior:
                                               the training rows' unweighted class
                                               frequencies (binary: rate, regression:
                                               mean) for every row; NaN without valid */
    double train_accuracy, valid_accuracy;  /* classification, else NaN */
    double precision[TM_TRAIN_MAX_CLASSES]; /* per class (binary: 2) */
    double recall[TM_TRAIN_MAX_CLASSES];
    double f1[TM_TRAIN_MAX_CLASSES];
    int64_t confusion[TM_TRAIN_MAX_CLASSES][TM_TRAIN_MAX_CLASSES]; /* [true][predicted] */
    double class_weights[TM_TRAIN_MAX_CLASSES];                    /* as applied (1 when none) */
    double seconds;                                                /* wall time of tm_train_fit */
} tm_train_metrics;

/* Trains a model on train, early-stopping on valid (NULL: no validation;
 * then early_stopping is ignored and every round is kept). On success
 * *out is a finished forest (free with tm_forest_free) whose predictions
 * are the trainer's own; metrics (may be NULL) is filled. On failure
 * *out is NULL and err says why: TM_E_INVALID for bad options or data
 * (labels outside 0..K-1, NaN labels, a class without rows, negative
 * weights, no rows), TM_E_NOMEM. Deterministic: the same data, options
 * and seed give the same model whatever n_threads is. */
tm_status tm_train_fit(const tm_train_opts *opts, const tm_train_data *train,
                       const tm_train_data *valid, tm_forest **out, tm_train_metrics *metrics,
                       tm_err *err);

/* Writes metrics as one JSON object to path, atomically (nothing is left
 * at path on failure). */
tm_status tm_train_metrics_save(const tm_train_metrics *m, const char *path, tm_err *err);

/* Chooses validation rows: is_valid[r] = 1 for about fraction * n rows.
 * With time (n values, NaN not allowed) the rows with the latest times go
 * to validation, whole time stamps at once (rows sharing the cut time are
 * all validation); without it (NULL) a seeded random choice. Fails with
 * TM_E_INVALID when fraction is outside (0, 1) or either side is empty. */
tm_status tm_train_split(size_t n, double fraction, const double *time, uint64_t seed,
                         uint8_t *is_valid, tm_err *err);

/* Static names: "multiclass", "binary", "regression" / "leafwise", ... */
const char *tm_train_objective_name(tm_train_objective o);
const char *tm_train_growth_name(tm_train_growth g);

#ifdef __cplusplus
}
#endif

#endif /* TURBOMODE_TRAIN_H */
