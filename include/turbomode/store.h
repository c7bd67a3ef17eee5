/* TurboMode store: the SQLite database behind the pipeline (one file, WAL,
 * foreign keys on, schema versioned with PRAGMA user_version). Typed reads
 * and writes of prices, universe, signals, outcomes, training samples,
 * meta predictions, the model registry and job results. A store handle is
 * used by one thread at a time. Dates are int32 YYYYMMDD (20180207) here
 * and 'YYYY-MM-DD' text in the database. */
#ifndef TURBOMODE_STORE_H
#define TURBOMODE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <turbomode/core.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tm_store tm_store;

/* Schema version this build writes; older databases are migrated on open. */
#define TM_STORE_SCHEMA_VERSION 4
/* Longest ticker symbol kept, bytes with the NUL. */
#define TM_STORE_SYMBOL_MAX 16

/* Opens (creating when absent) the database at path, turns on WAL and
 * foreign keys and migrates the schema to TM_STORE_SCHEMA_VERSION, each
 * step in one transaction. A database from a newer build fails with
 * TM_E_FORMAT. On failure *out is NULL. Close with tm_store_close. */
tm_status tm_store_open(const char *path, tm_store **out, tm_err *err);
/* Opens an existing database read-only: nothing is created, migrated or
 * written, so it works on a read-only file or mount. A missing file fails
 * with TM_E_IO (the system's reason), a schema other than
 * TM_STORE_SCHEMA_VERSION with TM_E_FORMAT; writes through the handle fail
 * with TM_E_DB. An empty path is refused (TM_E_INVALID) by both opens. */
tm_status tm_store_open_readonly(const char *path, tm_store **out, tm_err *err);
void tm_store_close(tm_store *s);
/* The schema version of the open database (PRAGMA user_version). */
int tm_store_schema_version(tm_store *s);
/* The database path given to open; lives with s. */
const char *tm_store_path(const tm_store *s);

/* One write transaction (BEGIN IMMEDIATE ... COMMIT). Nested begins are
 * refused (TM_E_INVALID). rollback is a no-op outside a transaction. */
tm_status tm_store_begin(tm_store *s, tm_err *err);
tm_status tm_store_commit(tm_store *s, tm_err *err);
void tm_store_rollback(tm_store *s);
bool tm_store_in_transaction(const tm_store *s);

/* Runs SQL text (tests and tools only); err gets SQLite's message. */
tm_status tm_store_exec(tm_store *s, const char *sql, tm_err *err);
/* Runs a query returning one integer (e.g. "SELECT count(*) FROM x");
 * *out is 0 when the query returns no row. */
tm_status tm_store_query_int(tm_store *s, const char *sql, int64_t *out, tm_err *err);

/* ---- settings ---------------------------------------------------------- */

/* Database-wide settings, key -> text ("labels": the labelling of the
 * training samples and outcomes, set by the pipeline). get copies the
 * value of key into buf (cap bytes) and sets *found; an absent key gives
 * *found false and buf "". A value that does not fit fails (TM_E_RANGE).
 * put inserts or replaces; inside the caller's transaction when one is
 * open. */
tm_status tm_store_setting_get(tm_store *s, const char *key, char *buf, size_t cap, bool *found,
                               tm_err *err);
tm_status tm_store_setting_put(tm_store *s, const char *key, const char *value, tm_err *err);

/* ---- dates ------------------------------------------------------------- */

/* Parses "YYYY-MM-DD" (exactly, valid calendar date) into YYYYMMDD. */
bool tm_store_date_parse(const char *s, int32_t *out);
/* Writes "YYYY-MM-DD" into buf (>= 11 bytes); returns buf. */
char *tm_store_date_format(int32_t ymd, char *buf);

/* ---- prices ------------------------------------------------------------ */

typedef struct tm_store_price {
    char symbol[TM_STORE_SYMBOL_MAX];
    int32_t date;  /* YYYYMMDD */
    double open;   /* NaN when unknown */
    double high;   /* NaN when unknown */
    double low;    /* NaN when unknown */
    double close;  /* > 0 */
    double volume; /* >= 0; 0 for indices */
} tm_store_price;

/* Inserts or replaces rows (keyed by symbol, date). Call inside a
 * transaction for speed; on failure nothing of this call is kept only if
 * the caller rolls back. */
tm_status tm_store_prices_upsert(tm_store *s, const tm_store_price *rows, size_t n, tm_err *err);

/* Daily bars of several symbols, grouped by symbol, sorted by date. Rows of
 * symbol k are [start[k], start[k+1]). All arrays owned; free with
 * tm_store_prices_free. */
typedef struct tm_store_prices {
    size_t n_symbols;
    char (*symbols)[TM_STORE_SYMBOL_MAX]; /* n_symbols names */
    size_t *start;                        /* n_symbols + 1 offsets */
    size_t n_rows;
    int32_t *date;
    double *open, *high, *low, *close, *volume;
} tm_store_prices;

/* Loads bars with date <= as_of (as_of 0: all). symbol NULL loads the
 * active universe (symbols in alphabetical order); otherwise that one
 * symbol (which need not be in the universe, e.g. "^VIX"). */
tm_status tm_store_prices_load(tm_store *s, const char *symbol, int32_t as_of,
                               tm_store_prices **out, tm_err *err);
void tm_store_prices_free(tm_store_prices *p);
/* Distinct trading dates <= as_of (0: all) of the universe, ascending.
 * *out tm_malloc'd (NULL when none), *n its count. */
tm_status tm_store_trading_dates(tm_store *s, int32_t as_of, int32_t **out, size_t *n, tm_err *err);
/* Latest price date <= as_of over the universe, 0 when none. */
tm_status tm_store_prices_last_date(tm_store *s, int32_t as_of, int32_t *out, tm_err *err);

/* ---- universe ---------------------------------------------------------- */

/* Adds symbols (active) to the universe; existing ones are reactivated. */
tm_status tm_store_universe_add(tm_store *s, const char *const *symbols, size_t n, tm_err *err);
/* Number of active symbols. */
tm_status tm_store_universe_count(tm_store *s, size_t *out, tm_err *err);

/* ---- signals and outcomes ---------------------------------------------- */

/* How a signal's class was decided. */
typedef enum tm_store_decision {
    TM_STORE_DECIDED_ARGMAX = 0, /* the most probable raw class (no decision rule) */
    TM_STORE_DECIDED_RULE = 1,   /* the meta model's decision rule (calibrated thresholds) */
} tm_store_decision;

typedef struct tm_store_signal {
    int64_t id; /* set by insert */
    char symbol[TM_STORE_SYMBOL_MAX];
    int32_t date;               /* trading date the signal is for */
    int label;                  /* 0 SELL, 1 HOLD, 2 BUY: what was decided */
    double prob[3];             /* raw meta-learner probabilities */
    double cal[3];              /* calibrated probabilities (read: NaN unless decision is
                                   RULE; written only for RULE) */
    tm_store_decision decision; /* how label was decided */
    bool capped;                /* a BUY/SELL turned HOLD by the day's cap */
    double price;               /* close on date */
    int64_t model_id;           /* meta model used, 0 = none */
    int64_t run_id;             /* job_results row, 0 = none */
} tm_store_signal;

/* Inserts a signal; one per (symbol, date): an existing one is replaced
 * (its outcome goes with it). Sets sig->id. */
tm_status tm_store_signal_insert(tm_store *s, tm_store_signal *sig, tm_err *err);
/* Signals of one date, ordered by symbol. *out is tm_malloc'd (free with tm_free), *n its count. */
tm_status tm_store_signals_on(tm_store *s, int32_t date, tm_store_signal **out, size_t *n,
                              tm_err *err);
/* Signals dated from..to (inclusive), ordered by date then symbol; the
 * evaluation's read. *out is tm_malloc'd (free with tm_free), *n its count. */
tm_status tm_store_signals_between(tm_store *s, int32_t from, int32_t to, tm_store_signal **out,
                                   size_t *n, tm_err *err);
/* Signals dated <= until that have no outcome yet, by date then symbol. */
tm_status tm_store_signals_untracked(tm_store *s, int32_t until, tm_store_signal **out, size_t *n,
                                     tm_err *err);
/* Latest signal date, 0 when none. */
tm_status tm_store_signals_last_date(tm_store *s, int32_t *out, tm_err *err);
/* Earliest signal date, 0 when none. */
tm_status tm_store_signals_first_date(tm_store *s, int32_t *out, tm_err *err);

typedef struct tm_store_outcome {
    int64_t signal_id;
    int32_t exit_date;
    double exit_price;
    double ret;   /* realised return close(exit)/close(entry) - 1 */
    int actual;   /* class the return falls in */
    bool correct; /* actual == the signal's label */
} tm_store_outcome;

tm_status tm_store_outcome_insert(tm_store *s, const tm_store_outcome *o, tm_err *err);
/* Tracked outcomes (joined with their signal) whose signal has no training
 * sample yet, signal date <= until. Arrays tm_malloc'd, same length. */
tm_status tm_store_outcomes_unsampled(tm_store *s, int32_t until, tm_store_signal **sigs,
                                      tm_store_outcome **outs, size_t *n, tm_err *err);

/* ---- training samples -------------------------------------------------- */

typedef enum tm_store_sample_source {
    TM_STORE_SAMPLE_BACKFILL = 0, /* built from the price history */
    TM_STORE_SAMPLE_OUTCOME = 1,  /* built from a tracked signal */
} tm_store_sample_source;

/* One training sample to insert; features are borrowed for the call. */
typedef struct tm_store_sample_row {
    char symbol[TM_STORE_SYMBOL_MAX];
    int32_t date;          /* the day whose close the features see */
    int label;             /* 0 SELL, 1 HOLD, 2 BUY */
    double fwd_return;     /* the return the label was made from */
    const float *features; /* n_features values */
    tm_store_sample_source source;
    int64_t signal_id; /* the tracked signal, 0 for backfill */
} tm_store_sample_row;

/* Inserts samples, skipping those whose (symbol, date) exists; *n_inserted
 * (may be NULL) counts the new ones. Call inside a transaction. */
tm_status tm_store_samples_insert(tm_store *s, const tm_store_sample_row *rows, size_t n,
                                  size_t n_features, size_t *n_inserted, tm_err *err);

/* All samples with date <= as_of (0: all), ordered by date then symbol.
 * X is n_rows * n_features float32, row-major. Free with
 * tm_store_samples_free. Samples of a different width fail (TM_E_FORMAT). */
typedef struct tm_store_samples {
    size_t n_rows;
    size_t n_features;
    int64_t *id;
    int32_t *date;
    int *label;
    double *fwd_return;
    float *X;
    char (*symbol)[TM_STORE_SYMBOL_MAX];
} tm_store_samples;
tm_status tm_store_samples_load(tm_store *s, int32_t as_of, tm_store_samples **out, tm_err *err);
void tm_store_samples_free(tm_store_samples *p);

/* ---- meta predictions -------------------------------------------------- */

/* Replaces the meta predictions of n samples: row i has n_probs base-model
 * probabilities out-of-fold (oof + i*n_probs) and in-sample. */
tm_status tm_store_meta_preds_put(tm_store *s, const int64_t *sample_ids, size_t n,
                                  const float *oof, const float *insample, size_t n_probs,
                                  tm_err *err);
/* Number of stored meta predictions. */
tm_status tm_store_meta_preds_count(tm_store *s, int64_t *out, tm_err *err);
/* Deletes every meta prediction (start of a regeneration). */
tm_status tm_store_meta_pred_clear(tm_store *s, tm_err *err);

/* ---- model registry ---------------------------------------------------- */

typedef struct tm_store_model {
    int64_t id;          /* set by insert */
    char name[64];       /* registry entry, e.g. "xgb_depth6" or "meta" */
    char kind[16];       /* "base", "fold", "meta" */
    int slot;            /* base: registry index 0..7; fold: slot*100+fold */
    char family[16];     /* "xgboost", "lightgbm", "catboost" */
    char format[32];     /* file format name */
    char file[1024];     /* path of the model file */
    char trained_at[32]; /* ISO time the training finished */
    int32_t as_of;       /* data cut-off, YYYYMMDD */
    int32_t train_until; /* last sample date the model trained on */
    int32_t fold_from;   /* fold models: the held-out block's first date */
    int32_t fold_to;     /* fold models: the held-out block's last date */
    int64_t generation;  /* base and fold models of one retrain share it */
    char metrics[2048];  /* JSON object */
    bool active;
} tm_store_model;

/* Inserts a model row (inactive unless m->active). Sets m->id. */
tm_status tm_store_model_insert(tm_store *s, tm_store_model *m, tm_err *err);
/* Makes model id the one active model of its (kind, slot), deactivating the
 * others of that (kind, slot). */
tm_status tm_store_model_activate(tm_store *s, int64_t id, tm_err *err);
/* Keeps the decision rule text (JSON) of model id, replacing any. */
tm_status tm_store_rule_put(tm_store *s, int64_t model_id, const char *text, tm_err *err);
/* The decision rule text of model id as a tm_malloc'd string (free with
 * tm_free); *out NULL when the model has none. */
tm_status tm_store_rule_get(tm_store *s, int64_t model_id, char **out, tm_err *err);
/* The generation number a new set of base models gets: one more than the
 * largest of any model row (1 for an empty registry). */
tm_status tm_store_model_next_generation(tm_store *s, int64_t *out, tm_err *err);
/* The version number a new model of kind gets: one more than the number
 * of rows of that kind (1 for the first). */
tm_status tm_store_model_next_version(tm_store *s, const char *kind, int64_t *out, tm_err *err);
/* Active models of kind, ordered by slot. *out tm_malloc'd. */
tm_status tm_store_models_active(tm_store *s, const char *kind, tm_store_model **out, size_t *n,
                                 tm_err *err);
/* Models of one generation and kind, ordered by slot. */
tm_status tm_store_models_generation(tm_store *s, const char *kind, int64_t generation,
                                     tm_store_model **out, size_t *n, tm_err *err);
/* All models of kind and slot, newest first. */
tm_status tm_store_models_history(tm_store *s, const char *kind, int slot, tm_store_model **out,
                                  size_t *n, tm_err *err);
/* Every model row of the registry, oldest first. */
tm_status tm_store_models_all(tm_store *s, tm_store_model **out, size_t *n, tm_err *err);

/* ---- job results --------------------------------------------------------- */
/* What each pipeline job did (one row per job execution, written in the
 * job's own transaction). The scheduler keeps its own job_runs table of
 * process runs in the same database; the two are joined by time. */

typedef struct tm_store_job_result {
    int64_t id;
    char job[32]; /* "overnight_scan", ... */
    int32_t as_of;
    char started_at[32]; /* ISO times (simulated clock under replay) */
    char finished_at[32];
    char status[16];     /* "ok", "skipped", "failed" */
    char summary[16384]; /* as tm_pipeline_report's: a job's whole report fits */
} tm_store_job_result;

/* Inserts a finished run; sets r->id. */
tm_status tm_store_job_result_insert(tm_store *s, tm_store_job_result *r, tm_err *err);
/* The latest run of job with the given status (NULL: any), by id;
 * *found false when none. */
tm_status tm_store_job_result_last(tm_store *s, const char *job, const char *status,
                                   tm_store_job_result *out, bool *found, tm_err *err);

#ifdef __cplusplus
}
#endif

#endif /* TURBOMODE_STORE_H */
