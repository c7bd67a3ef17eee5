/* Internals of the trainer shared by its files: the bin mapper (bin.c),
 * gradient histograms (hist.c), split search (split.c), tree growth
 * (grower.c, grow.c, grow_oblivious.c), objectives (objective.c), the
 * model being built and its conversion to a forest (model.c), input checks
 * and class weights (data.c), the boosting loop (boost.c) and metrics
 * (metrics.c). Only src/train includes this. */
#ifndef TURBOMODE_TRAIN_INT_H
#define TURBOMODE_TRAIN_INT_H

#include <turbomode/forest.h>
#include <turbomode/train.h>

/* Most trees of a round grown side by side. */
#define TM__TRAIN_MAX_PAR 8

/* Rows per block of fixed-order reductions: partial sums over blocks of
 * this many rows are added in block order, whatever the thread count. */
#define TM__TRAIN_BLOCK 4096

/* Inputs with |x| <= this float behave as 0 (LightGBM's kZeroThreshold,
 * see formats/lightgbm): bins and thresholds keep such values with 0. */
#define TM__TRAIN_ZERO_BAND 1e-35f

/* A gradient pair, and a histogram slot. float32: half the memory
 * traffic of double where histograms spend their time; every sum over
 * bins or rows is taken in double. */
typedef struct tm__train_gh {
    float g; /* gradient (times the row weight) */
    float h; /* hessian (times the row weight) */
} tm__train_gh;

/* ---- bins (bin.c) ------------------------------------------------------ */

/* Per-feature quantile bins chosen on float32 values. A value x of used
 * feature u falls in value bin b = #{i : thr[i] <= float32(x)} (tiny
 * values taken as 0), so "bin <= b" is exactly "float32(x) < thr[b]";
 * NaN falls in the missing bin n_bins[u]. */
typedef struct tm__train_bins {
    int32_t n_features; /* input features */
    int32_t n_used;     /* features with at least two value bins */
    int32_t *used;      /* n_used: input feature index */
    int32_t *n_bins;    /* n_used: value bins (2..255) */
    int32_t *offset;    /* n_used + 1: first histogram slot; slots per
                           feature = n_bins + 1 (the missing bin last) */
    int32_t *thr_first; /* n_used: first of its n_bins - 1 thresholds */
    float *thr;         /* ascending per feature, finite */
} tm__train_bins;

tm_status tm__train_bins_build(const tm_train_data *d, int max_bin, size_t sample_rows,
                               uint64_t seed, int n_threads, tm__train_bins *out, tm_err *err);
void tm__train_bins_fini(tm__train_bins *b);
/* The bin of x for used feature u. */
int tm__train_bin_of(const tm__train_bins *b, int32_t u, float x);
/* Bins every row: *out = n_rows * n_used bytes, row-major (tm_free). */
tm_status tm__train_bins_apply(const tm__train_bins *b, const tm_train_data *d, int n_threads,
                               uint8_t **out, tm_err *err);
/* Picks the threshold between consecutive distinct values a < b (float32,
 * tiny values already 0): a < *t <= b, finite, outside the zero band
 * (-1e-35f, 1e-35f]. False when no such float exists. */
bool tm__train_threshold_between(float a, float b, float *t);

/* ---- histograms (hist.c) ----------------------------------------------- */

typedef struct tm__train_hist {
    tm__train_gh *gh; /* total slots, see tm__train_bins.offset */
} tm__train_hist;

/* Where histograms read from. */
typedef struct tm__train_hist_src {
    const tm__train_bins *bins;
    const uint8_t *row_major; /* n_rows * n_used */
    const uint8_t *col_major; /* n_used * n_rows */
    size_t n_rows;
    const tm__train_gh *grad; /* by row (the tree being grown) */
} tm__train_hist_src;

tm_status tm__train_hist_alloc(tm__train_hist *h, int32_t total, tm_err *err);
void tm__train_hist_free(tm__train_hist *h);
/* Sums the gradients of rows (ascending; NULL: rows 0..n-1) into h (the
 * slots of features with feat_on, NULL: all, are zeroed first). Each
 * feature is summed in row order by one thread, so the result does not
 * depend on n_threads. */
void tm__train_hist_build(const tm__train_hist_src *s, const int32_t *rows, size_t n,
                          const uint8_t *feat_on, int n_threads, tm__train_hist *h);
/* The same for used features [f0, f1) only, on the calling thread. */
void tm__train_hist_build_range(const tm__train_hist_src *s, const int32_t *rows, size_t n,
                                const uint8_t *feat_on, int32_t f0, int32_t f1, tm__train_hist *h);
/* The histograms of all rows for k outputs (gradients grad[0..k)) in one
 * pass, bit-identical to k calls of tm__train_hist_build over all rows;
 * scratch holds k slots per histogram slot. */
void tm__train_hist_build_multi(const tm__train_hist_src *s, const tm__train_gh *const *grad, int k,
                                size_t n, int n_threads, tm__train_gh *scratch,
                                tm__train_hist *out);
void tm__train_hist_sub_range(const tm__train_bins *b, tm__train_hist *big,
                              const tm__train_hist *small, const uint8_t *feat_on, int32_t f0,
                              int32_t f1);
/* big -= small over the slots of features with feat_on (NULL: all): the
 * subtraction trick, the larger child is its parent minus the smaller. */
void tm__train_hist_sub(const tm__train_bins *b, tm__train_hist *big, const tm__train_hist *small,
                        const uint8_t *feat_on, int n_threads);

/* ---- splits (split.c) -------------------------------------------------- */

typedef struct tm__train_params {
    double lambda;    /* L2 on leaf values */
    int64_t min_data; /* rows per child */
    double min_hess;  /* hessian sum per child */
    double min_gain;  /* a split must gain more than this */
} tm__train_params;

typedef struct tm__train_split {
    double gain;    /* > min_gain when feat_u >= 0 */
    int32_t feat_u; /* used feature, -1 when no valid split */
    int32_t bin;    /* value bins <= bin go left */
    bool nan_left;  /* missing bin goes left */
    double gl, hl;  /* left sums */
} tm__train_split;

/* Gain of a leaf: G^2 / (H + lambda). */
static inline double tm__train_leaf_score(double g, double h, double lambda)
{
    return g * g / (h + lambda);
}

/* Best split of a leaf with totals (g, h) and c rows over features with
 * feat_on (NULL: all), skipping the n_excl splits in excl; ties go to the
 * lower feature, then the lower bin, then missing-right. Child row counts
 * are estimated from the hessians (c / h rows per unit, as LightGBM
 * does); growth checks the chosen split's real counts. out->feat_u = -1
 * when none gains more than min_gain. scratch holds n_used entries. */
void tm__train_split_find(const tm__train_bins *b, const tm__train_hist *h, double g, double hs,
                          int64_t c, const tm__train_params *p, const uint8_t *feat_on,
                          const tm__train_split *excl, int n_excl, int n_threads,
                          tm__train_split *scratch, tm__train_split *out);

/* The same over used features [u0, u1) on the calling thread. */
void tm__train_split_find_range(const tm__train_bins *b, const tm__train_hist *h, double g,
                                double hs, int64_t c, const tm__train_params *p,
                                const uint8_t *feat_on, const tm__train_split *excl, int n_excl,
                                int32_t u0, int32_t u1, tm__train_split *out);

/* ---- the model under construction (model.c) ----------------------------- */

/* Trees in round order (K per round for K classes). General trees keep
 * nodes; oblivious ones keep levels (feature, bin) and 2^depth leaves,
 * leaf index bit i = outcome of level i (1 = right). */
typedef struct tm__train_model {
    bool oblivious;
    int32_t n_trees, cap_trees;
    int32_t *tree_first;      /* first node or first level */
    int32_t *tree_n;          /* nodes, or depth */
    int32_t *tree_leaf_first; /* oblivious: first leaf in leafv */
    int32_t n_nodes, cap_nodes;
    int32_t *left, *right; /* tree-relative; -1 at leaves */
    int32_t *feat_u;       /* used feature at splits */
    int32_t *bin;          /* value bins <= bin go left */
    uint8_t *nan_left;
    double *value; /* leaves: output, learning rate applied */
    int32_t n_levels, cap_levels;
    int32_t *lvl_feat_u, *lvl_bin;
    int32_t n_leafv, cap_leafv;
    double *leafv;
} tm__train_model;

void tm__train_model_fini(tm__train_model *m);
/* Reserves room for one more tree of at most n_nodes nodes (general) or
 * depth levels and 2^depth leaves (oblivious). */
tm_status tm__train_model_reserve(tm__train_model *m, int32_t n_nodes, int32_t depth, tm_err *err);
/* Appends tree t of src to dst (same kind). */
tm_status tm__train_model_append(tm__train_model *dst, const tm__train_model *src, int32_t t,
                                 tm_err *err);
/* Empties m, keeping its capacity. */
void tm__train_model_clear(tm__train_model *m);
/* Leaf value of tree t for one binned row (n_bins gives each feature's
 * missing bin). */
double tm__train_model_eval(const tm__train_model *m, const tm__train_bins *b, int32_t t,
                            const uint8_t *row);
/* Builds the forest of the first n_trees trees. base: per-output initial
 * score, folded into the first tree of each output. */
tm_status tm__train_model_to_forest(const tm__train_model *m, const tm__train_bins *b,
                                    int32_t n_trees, int32_t n_outputs, const double *base,
                                    const tm_train_opts *o, int n_classes, tm_forest **out,
                                    tm_err *err);

/* ---- tree growth (grow.c, grow_oblivious.c) ---------------------------- */

/* Splits a leaf may refuse (estimated counts passed, real ones did not)
 * before it stops splitting. */
#define TM__TRAIN_MAX_EXCL 4

/* A leaf while its tree grows. */
typedef struct tm__train_leaf {
    int32_t begin, end; /* its rows: part[begin, end) */
    double g, h;        /* gradient and hessian sums */
    int32_t depth;
    int32_t node;         /* tree-relative node index */
    int32_t hist;         /* pool index, -1 when it has none */
    tm__train_split best; /* best split, feat_u -1 when none */
    int n_excl;           /* splits refused for too few rows */
    tm__train_split excl[TM__TRAIN_MAX_EXCL];
} tm__train_leaf;

/* Scratch shared by every tree of a training run. */
typedef struct tm__train_grower {
    const tm__train_bins *bins;
    tm__train_hist_src src; /* binned rows; grad set per tree */
    size_t n_rows;
    tm__train_params p;
    tm_train_growth growth;
    int num_leaves; /* 0: no cap */
    int max_depth;  /* -1: none */
    double lr;
    int n_threads;
    const tm__train_hist *root_hist; /* the root's histogram when built
                                        already (all rows), else NULL */
    int32_t *part;                   /* rows grouped by leaf */
    int32_t *tmp;                    /* partition scratch */
    tm__train_split *scratch;        /* n_used, for split search */
    tm__train_split *thread_best;    /* 2 per thread, for parallel growth */
    /* leaves of the last tree (rows part[begin, end), value) */
    int32_t n_leaves, cap_leaves;
    tm__train_leaf *leaves;
    double *leaf_value;
    /* histogram pool */
    tm__train_hist *pool;
    int32_t n_pool;
    int32_t *pool_free; /* stack of free pool indices */
    int32_t n_free;
} tm__train_grower;

/* row_major and col_major (n_rows * n_used each) are borrowed. */
tm_status tm__train_grower_init(tm__train_grower *gr, const tm__train_bins *b,
                                const uint8_t *row_major, const uint8_t *col_major, size_t n_rows,
                                const tm_train_opts *o, int n_threads, tm_err *err);
void tm__train_grower_fini(tm__train_grower *gr);
/* Grows one tree on rows (n of them; NULL = all rows) with gradients grad
 * (indexed by row) and features feat_on (NULL = all), appends it to m and
 * leaves the leaves' rows and values in gr. */
tm_status tm__train_grow(tm__train_grower *gr, const int32_t *rows, size_t n,
                         const tm__train_gh *grad, const uint8_t *feat_on, tm__train_model *m,
                         tm_err *err);
tm_status tm__train_grow_oblivious(tm__train_grower *gr, const int32_t *rows, size_t n,
                                   const tm__train_gh *grad, const uint8_t *feat_on,
                                   tm__train_model *m, tm_err *err);
/* Copies the prebuilt root histogram (gr->root_hist) into pool entry id
 * when there is one and the tree uses all rows and features; false when
 * the caller must build it. */
bool tm__train_root_prebuilt(const tm__train_grower *gr, const int32_t *rows,
                             const uint8_t *feat_on, int32_t id);
/* Histogram pool: a zero-initialised-size buffer, returned with put. */
tm_status tm__train_pool_get(tm__train_grower *gr, int32_t *id, tm_err *err);
void tm__train_pool_put(tm__train_grower *gr, int32_t id);
/* Stable partition of part[begin, end) by the split: left rows first
 * (each side stays ascending). Returns the first right position. */
int32_t tm__train_partition(tm__train_grower *gr, int32_t begin, int32_t end, int32_t feat_u,
                            int32_t bin, bool nan_left);
/* Undoes a partition: merges the ascending halves [begin, mid) and
 * [mid, end) back into one ascending range. */
void tm__train_unpartition(tm__train_grower *gr, int32_t begin, int32_t mid, int32_t end);
/* Sums of grad over part[begin, end) in row order. */
void tm__train_sum_rows(const tm__train_grower *gr, int32_t begin, int32_t end,
                        const tm__train_gh *grad, double *g, double *h);

/* ---- objectives (objective.c) ------------------------------------------ */

/* Scores are class-major: score[k * n + r]. Gradients likewise. w may be
 * NULL (1). Labels are class ids (multiclass, binary) or targets. */
void tm__train_gradients(tm_train_objective obj, int n_out, const double *score,
                         const double *label, const double *w, size_t n, int n_threads,
                         tm__train_gh *grad);
/* Weighted mean loss (multi_logloss, logloss or MSE); w may be NULL. */
double tm__train_loss(tm_train_objective obj, int n_out, const double *score, const double *label,
                      const double *w, size_t n, int n_threads);
/* The same of the scores plus shift[k] added to class k's score (shift
 * NULL: none), as tm__train_prior_shift makes it. */
double tm__train_loss_shifted(tm_train_objective obj, int n_out, const double *score,
                              const double *label, const double *w, const double *shift, size_t n,
                              int n_threads);
/* Class weights cw tilt the trained probabilities: the model estimates
 * p_k * cw_k (renormalised) where the data has p_k. The shift that undoes
 * it: -log cw_k per class (multiclass), log(cw_0 / cw_1) on the margin
 * (binary), 0 (regression). With every weight 1 the shift is 0. */
void tm__train_prior_shift(tm_train_objective obj, int n_out, const double *cw, double *shift);
/* Initial scores from the (weighted) label prior: log class shares
 * (multiclass), log odds (binary), mean (regression). */
void tm__train_init_score(tm_train_objective obj, int n_out, const double *label, const double *w,
                          size_t n, double *base);
/* Probabilities (or values) of one row from its n_out scores. */
void tm__train_transform(tm_train_objective obj, int n_out, const double *s, double *p);

/* ---- checks and weights (data.c) -------------------------------------- */

/* Checks o against tm_train_opt_table's rows and the rules between
 * options; the message names the option ("--max-bin: expected a whole
 * number in 2..255, found \"300\""). */
tm_status tm__train_check_opts(const tm_train_opts *o, tm_err *err);
/* Checks shapes, labels and weights; *n_classes = K (2 binary, 0
 * regression). */
tm_status tm__train_check_data(const tm_train_opts *o, const tm_train_data *tr,
                               const tm_train_data *va, int *n_classes, tm_err *err);
/* Class weights as applied: balanced, explicit, or all 1. */
void tm__train_class_weights(const tm_train_opts *o, const tm_train_data *tr, int k, double *cw);
/* Row weight times class weight per row; *out NULL when all are 1. */
tm_status tm__train_row_weights(const tm_train_opts *o, const tm_train_data *d, const double *cw,
                                double **out, tm_err *err);

/* ---- early stopping (boost.c) ------------------------------------------ */

typedef struct tm__train_es {
    int patience;   /* rounds without improvement before stopping; 0 = off */
    int best_round; /* 0-based, -1 before the first round */
    double best_loss;
} tm__train_es;

void tm__train_es_init(tm__train_es *es, int patience);
/* Records round's loss; true when training should stop after it. A loss
 * counts as better only when strictly lower; NaN never does. */
bool tm__train_es_update(tm__train_es *es, int round, double loss);

/* ---- random numbers (boost.c) -------------------------------------------- */

/* splitmix64: the trainer's only source of randomness. */
uint64_t tm__train_rand(uint64_t *state);

/* ---- metrics (metrics.c) -------------------------------------------- */

/* Fills the class figures and losses of m from scores of n rows. */
void tm__train_metrics_fill(tm_train_metrics *m, tm_train_objective obj, int n_out,
                            const double *score, const double *label, const double *w, size_t n,
                            int n_threads, bool valid);

#endif /* TURBOMODE_TRAIN_INT_H */
