/* Pipeline internals shared by the files of src/pipeline: the handle, the
 * base-model registry entries, the feature panel of one as_of day, model
 * sets loaded from the registry, and report helpers. Only src/pipeline
 * includes this header. */
#ifndef TM_PIPELINE_INT_H
#define TM_PIPELINE_INT_H

#include <turbomode/features.h>
#include <turbomode/forest.h>
#include <turbomode/pipeline.h>
#include <turbomode/store.h>
#include <turbomode/train.h>

#define TM__PIPELINE_MAX_MODELS 16
/* A YYYYMMDD date printed as YYYY-MM-DD: printf(TM__YMD_FMT, TM__YMD(d)). */
#define TM__YMD_FMT            "%04d-%02d-%02d"
#define TM__YMD(d)             (int)((d) / 10000), (int)((d) / 100 % 100), (int)((d) % 100)
#define TM__PIPELINE_MAX_FOLDS 8
/* Longest models directory: model paths (directory, generation, a name of
 * at most 60 characters) then fit their fixed-size buffers. */
#define TM__PIPELINE_MAX_DIR 500
/* Room for any model path: the models directory, '/', a registry row's
 * file (tm_store_model.file, under 1024 bytes) and the NUL. */
#define TM__PIPELINE_PATH_LEN (TM__PIPELINE_MAX_DIR + 1 + 1024 + 1)
/* Fold models are registered in slot base_slot * TM__PIPELINE_FOLD_SLOTS +
 * fold, so one slot number names both the base model and the fold. */
#define TM__PIPELINE_FOLD_SLOTS 100
#define TM__PIPELINE_FOLD_SLOT(base_slot, fold)                                                    \
    ((int)((base_slot)*TM__PIPELINE_FOLD_SLOTS + (fold)))
/* A date before every sample: loading samples up to it loads none (the
 * as_of of a retrain whose label cut-off is not known yet). */
#define TM__PIPELINE_BEFORE_ALL_DATES 19000101
/* Fewest training samples a retrain accepts: base models need enough rows
 * for a validation tail and the fold blocks, the meta-learner (fewer
 * features) a little less. Below these the figures mean nothing. */
#define TM__PIPELINE_MIN_BASE_SAMPLES 200
#define TM__PIPELINE_MIN_META_SAMPLES 100

/* One base model of the registry: trained by us with these settings, or
 * read from a file exported by the real library (file set). */
typedef struct tm__pipeline_entry {
    char name[64];
    char family[16]; /* "xgboost", "lightgbm", "catboost" */
    tm_train_growth growth;
    int max_depth;
    int num_leaves;
    double learning_rate;
    int max_rounds;
    double col_subsample;
    double row_subsample;
    char file[1024]; /* external model file, "" when we train it */
} tm__pipeline_entry;

struct tm_pipeline {
    tm_pipeline_opts o; /* copy; the strings below replace o's */
    char *db_path;
    char *models_dir;
    tm_store *store;
    tm__pipeline_entry reg[TM__PIPELINE_MAX_MODELS];
    size_t n_reg;
    char fitting[96];          /* what is being trained, for progress lines */
    tm_pipeline_labels labels; /* the running job's labelling (tm__pipeline_labels) */
};

/* Features of every (stock, day) with date <= as_of. */
typedef struct tm__pipeline_panel {
    tm_store_prices *px;  /* universe bars */
    tm_store_prices *vix; /* "^VIX" bars (may have no rows) */
    float *X;             /* px->n_rows * n_features */
    size_t n_features;
    int32_t last_date; /* latest bar date, 0 when none */
} tm__pipeline_panel;

tm_status tm__pipeline_panel_load(tm_pipeline *p, int32_t as_of, tm__pipeline_panel *panel,
                                  tm_err *err);
void tm__pipeline_panel_free(tm__pipeline_panel *panel);
/* Row of (symbol, date) in the panel, or (size_t)-1. */
size_t tm__pipeline_panel_row(const tm__pipeline_panel *panel, const char *symbol, int32_t date);

/* The active base models (full and fold models of the active generation)
 * with the registry rows they came from. */
typedef struct tm__pipeline_models {
    size_t n_base;
    tm_forest *base[TM__PIPELINE_MAX_MODELS];
    tm_store_model base_row[TM__PIPELINE_MAX_MODELS];
    size_t n_folds;
    tm_forest *fold[TM__PIPELINE_MAX_MODELS][TM__PIPELINE_MAX_FOLDS];
    int32_t fold_from[TM__PIPELINE_MAX_FOLDS];
    int32_t fold_to[TM__PIPELINE_MAX_FOLDS];
    int32_t train_until; /* latest sample date the full models trained on */
} tm__pipeline_models;

/* The model of kind ("base": slot 0, standing for its generation;
 * "meta") a job as of as_of uses (pit.c): the active one if trained as of
 * <= as_of, else the latest trained as of <= as_of; none: TM_E_INVALID
 * naming the option, unless opts.allow_later_models (then the active one
 * and a warning line in rep, which may be NULL). */
tm_status tm__pipeline_pick(tm_pipeline *p, const char *kind, int32_t as_of, tm_store_model *out,
                            tm_pipeline_report *rep, tm_err *err);
/* Loads base generation `generation` (0: the one tm__pipeline_pick
 * chooses for as_of) with its fold models; TM_E_INVALID when there is
 * none. */
tm_status tm__pipeline_models_load(tm_pipeline *p, int32_t as_of, int64_t generation,
                                   tm__pipeline_models *m, tm_pipeline_report *rep, tm_err *err);
void tm__pipeline_models_free(tm__pipeline_models *m);
/* Class probabilities of the full base models for rows X (doubles,
 * n_rows * n_features): probs[r * 3M + 3k + c]. */
tm_status tm__pipeline_base_probs(tm_pipeline *p, const tm__pipeline_models *m, const double *X,
                                  size_t n_rows, size_t n_features, double *probs, tm_err *err);
/* Out-of-fold values: rows dated inside fold k's held-out block get fold
 * k's probabilities in place of the full model's (other rows unchanged:
 * those after the training cut-off were never seen by the full model). */
tm_status tm__pipeline_fold_probs(tm_pipeline *p, const tm__pipeline_models *m, const double *X,
                                  size_t n_rows, size_t n_features, const int32_t *dates,
                                  double *probs, tm_err *err);
/* Loads the meta-learner tm__pipeline_pick chooses for as_of; *row gets
 * its registry row. */
tm_status tm__pipeline_meta_load(tm_pipeline *p, int32_t as_of, tm_forest **out,
                                 tm_store_model *row, tm_pipeline_report *rep, tm_err *err);

/* What one training sample is for in one fit. TRAIN and VALID are the
 * values tm_train_split writes (0 and 1), so a random split fills the same
 * role array. */
typedef enum tm__pipeline_role {
    TM__PIPELINE_TRAIN = 0,
    TM__PIPELINE_VALID = 1,
    TM__PIPELINE_EMBARGO = 2,  /* left out: its label window overlaps held-out dates */
    TM__PIPELINE_HELD_OUT = 3, /* left out: the fold's block, predicted by the fold model */
} tm__pipeline_role;

/* The samples' dates as positions among their distinct dates. */
typedef struct tm__pipeline_dates {
    int32_t *date; /* distinct dates, ascending (n_dates, tm_malloc'd) */
    size_t n_dates;
    size_t *pos; /* per sample row: index of its date in date[] */
    size_t n_rows;
} tm__pipeline_dates;

/* Indexes the dates of n_rows samples sorted by date (TM_E_INTERNAL when
 * they are not). Free with tm__pipeline_dates_free (also on failure: d is
 * left empty). */
tm_status tm__pipeline_dates_index(const int32_t *row_date, size_t n_rows, tm__pipeline_dates *d,
                                   tm_err *err);
void tm__pipeline_dates_free(tm__pipeline_dates *d);
/* Time split: the latest n_valid_dates dates VALID, the embargo dates
 * before them EMBARGO, the rest TRAIN. role has d->n_rows entries. */
void tm__pipeline_split_time(const tm__pipeline_dates *d, size_t n_valid_dates, size_t embargo,
                             uint8_t *role);
/* Block split: n_blocks blocks of n_valid_dates / n_blocks dates VALID,
 * block b ending at date position n_dates * (b + 1) / n_blocks (the last
 * block holds the latest dates), the embargo dates on each side of every
 * block EMBARGO, the rest TRAIN. Validation then covers calm and volatile
 * stretches instead of one recent block. */
void tm__pipeline_split_blocks(const tm__pipeline_dates *d, size_t n_blocks, size_t n_valid_dates,
                               size_t embargo, uint8_t *role);
/* Fold split: date positions [from, to) HELD_OUT, the embargo dates on
 * each side of the block EMBARGO, the rest TRAIN. */
void tm__pipeline_split_fold(const tm__pipeline_dates *d, size_t from, size_t to, size_t embargo,
                             uint8_t *role);

/* Ends the metrics writer w (compact JSON into its tm_buf) and stores the
 * text as row->metrics; TM_E_INTERNAL when it does not fit. The buffer is
 * freed either way. */
tm_status tm__pipeline_metrics_set(tm_jw *w, tm_store_model *row, tm_err *err);

/* The meta retrain inside an open transaction (model_retrain shares it). */
tm_status tm__pipeline_meta_core(tm_pipeline *p, int32_t as_of, tm_pipeline_report *rep,
                                 tm_err *err);
/* Trains the base models and fold models inside an open transaction. */
tm_status tm__pipeline_base_core(tm_pipeline *p, int32_t as_of, tm_pipeline_report *rep,
                                 tm_err *err);

/* Report helpers. */
void tm__pipeline_report_init(tm_pipeline_report *rep, const char *job, int32_t as_of);
void tm__pipeline_say(tm_pipeline_report *rep, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
void tm__pipeline_step(tm_pipeline_report *rep, const char *name, double seconds);
void tm__pipeline_log(tm_pipeline *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Records the job's result row (inside the job's transaction). */
tm_status tm__pipeline_record(tm_pipeline *p, const tm_pipeline_report *rep, const char *status,
                              int64_t *run_id, tm_err *err);
/* Ends a job begun with tm_store_begin at time t0: when st is TM_OK,
 * records the result row (rep->status) and commits; otherwise, or when
 * that fails, rolls every write of the job back. Returns the first
 * failure. */
tm_status tm__pipeline_finish(tm_pipeline *p, tm_status st, tm_pipeline_report *rep, double t0,
                              tm_err *err);
/* ISO wall-clock time now (UTC) into buf (>= 32 bytes). */
char *tm__pipeline_now_iso(char *buf, size_t len);
/* Removes model files under base/ and meta_learner_v2/ that no registry
 * row names (left by a killed or failed retrain); says so in rep. Must
 * run inside the job's write transaction (TM_E_INTERNAL otherwise). */
tm_status tm__pipeline_gc(tm_pipeline *p, tm_pipeline_report *rep, tm_err *err);
/* The refusal of a job that finds no universe prices dated <= as_of (0:
 * none at all): TM_E_INVALID naming --as-of and the first price date. */
tm_status tm__pipeline_no_prices(tm_pipeline *p, int32_t as_of, tm_err *err);
/* The first position of ascending dates[0..n) holding a date >= d (n
 * when none). */
size_t tm__pipeline_date_lower_bound(const int32_t *dates, size_t n, int32_t d);
/* The labelling of the database (labels.c): the kind recorded in its
 * "labels" setting, or o.labels for a database that holds no labels yet.
 * With asked (a job given --labels), a recorded kind other than o.labels
 * is refused: TM_E_INVALID naming --labels, the kind asked for and the
 * kind held. A recorded value this build does not know is TM_E_FORMAT. */
tm_status tm__pipeline_labels(tm_pipeline *p, bool asked, tm_pipeline_labels *out, tm_err *err);
/* Records kind as the database's labelling when none is recorded (inside
 * the job's write transaction, with its first labels). */
tm_status tm__pipeline_labels_record(tm_pipeline *p, tm_pipeline_labels kind, tm_err *err);
/* "absolute", "xs-decile". */
const char *tm__pipeline_labels_name(tm_pipeline_labels kind);
/* Label options of the pipeline (horizon, thresholds). */
void tm__pipeline_label_opts(const tm_pipeline *p, tm_features_label_opts *lo);
/* Cross-sectional decile classes (tm_features_xs_labels) of every row of
 * px: each stock's forward return over its next `horizon` bars and its
 * volatility over the TM_FEATURES_VOL_WINDOW returns up to the row, the
 * rows of one date forming a day. cls (px->n_rows) gets -1 where a row
 * has no class. Fails only out of memory. */
tm_status tm__pipeline_xs_classes(const tm_store_prices *px, size_t horizon, int8_t *cls,
                                  tm_err *err);

/* Market days beyond the label horizon an outcome may take to settle;
 * a longer gap in a stock's prices leaves its signal open. */
#define TM__PIPELINE_OUTCOME_SLACK_DAYS 3
/* Progress of the next fits with t: when opts.log is set, a line naming
 * `what` (printf-formatted into p->fitting) every 50 rounds. */
void tm__pipeline_progress(tm_pipeline *p, tm_train_opts *t, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* Today as YYYYMMDD: opts.today, else the system's UTC date. Nothing
 * dated after it is accepted. */
int32_t tm__pipeline_today(const tm_pipeline *p);

/* The latest sample date whose label is known at as_of (horizon trading
 * days before as_of); 0 when there is none. */
tm_status tm__pipeline_label_cutoff(tm_pipeline *p, int32_t as_of, int32_t *cutoff, tm_err *err);
/* The path of a registry file: as is when absolute, else under the models
 * directory (registry rows keep paths relative to it, so a database and
 * its models directory can move together). buf holds
 * TM__PIPELINE_PATH_LEN bytes: any registry row's path fits. Returns buf. */
char *tm__pipeline_model_path(const tm_pipeline *p, const char *file, char *buf, size_t len);
/* mkdir -p. */
tm_status tm__pipeline_mkdirs(const char *dir, tm_err *err);
/* A model whose unweighted validation loss beats the prior's (the
 * training class frequencies) by less than this share is flagged in the
 * retrain reports: it has learned next to nothing. */
#define TM__PIPELINE_MIN_PRIOR_GAIN 0.01
/* (prior - loss) / prior: the share by which a validation loss beats the
 * prior's; NaN when either is not finite or prior is not positive. */
double tm__pipeline_prior_gain(double loss, double prior);
/* Says in rep "loss L vs prior P (+G%)", and " <1% over prior" when the
 * gain is under TM__PIPELINE_MIN_PRIOR_GAIN (or unknown). */
void tm__pipeline_say_prior(tm_pipeline_report *rep, double loss, double prior);
/* Trainer options of a registry entry (multiclass, balanced weights). */
void tm__pipeline_train_opts(const tm_pipeline *p, const tm__pipeline_entry *e, tm_train_opts *t);

/* Registry: the 8 defaults, or entries read from a JSON file. */
tm_status tm__pipeline_registry_load(tm_pipeline *p, const char *path, tm_err *err);

#endif
