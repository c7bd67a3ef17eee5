/* TurboMode pipeline: the nightly jobs of DESIGN.md (scan, outcome
 * tracking, sample generation, meta retrain with the 42-day gate, model
 * retrain), price import and backfill, the model registry with its 8 base
 * models and meta-learner, rollback, and replay on a simulated clock.
 * Every job reads only data dated <= its as_of day and writes in one
 * transaction. A tm_pipeline is used by one thread at a time. */
#ifndef TURBOMODE_PIPELINE_H
#define TURBOMODE_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <turbomode/core.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tm_pipeline tm_pipeline;

/* How the meta-learner's validation rows are chosen. */
typedef enum tm_pipeline_split {
    TM_PIPELINE_SPLIT_TIME = 0, /* latest dates, embargo of the label horizon (default) */
    TM_PIPELINE_SPLIT_RANDOM,   /* seeded random rows (the original's method) */
} tm_pipeline_split;

/* Options: a transparent struct; tm_pipeline_opts_init sets every default
 * (in the comments). Strings are borrowed for tm_pipeline_open's call and
 * copied. */
typedef struct tm_pipeline_opts {
    const char *db_path;                      /* required */
    const char *models_dir;                   /* NULL: "<db dir>/turbomode_models" */
    const char *registry_path;                /* base-model registry (JSON); NULL: the 8 defaults */
    bool read_only;                           /* open an existing database read-only (reports) */
    int horizon;                              /* label horizon, trading days: 5 */
    double up;                                /* BUY when the forward return > up: 0.040 */
    double down;                              /* SELL when it is < -down: 0.036 */
    int n_threads;                            /* 0: OpenMP's default */
    int n_folds;                              /* time blocks for out-of-fold predictions: 3 */
    bool in_sample;                           /* meta features from in-sample predictions */
    tm_pipeline_split split;                  /* TM_PIPELINE_SPLIT_TIME */
    double valid_fraction;                    /* 0.2 */
    int gate_days;                            /* meta retrain gate: 42 */
    bool force;                               /* bypass the gate */
    bool compare;                             /* also train the other method for the report: true */
    int batch_rows;                           /* meta prediction batch: 5000 */
    double rounds_scale;                      /* multiplies every max_rounds (demo: < 1): 1.0 */
    uint64_t seed;                            /* 1 */
    void (*log)(void *ctx, const char *line); /* progress lines; NULL: silent */
    void *log_ctx;
} tm_pipeline_opts;

void tm_pipeline_opts_init(tm_pipeline_opts *o);

/* Opens the database (creating and migrating it; with read_only, an
 * existing one only, never written) and reads the registry. On failure
 * *out is NULL. Close with tm_pipeline_close. */
tm_status tm_pipeline_open(const tm_pipeline_opts *o, tm_pipeline **out, tm_err *err);
void tm_pipeline_close(tm_pipeline *p);

/* What a job did: a short human summary and timed steps. */
#define TM_PIPELINE_MAX_STEPS 16
typedef struct tm_pipeline_report {
    char job[32];       /* "overnight_scan", ... */
    int32_t as_of;      /* YYYYMMDD */
    char status[16];    /* "ok" or "skipped" */
    char summary[4096]; /* lines, each ending in '\n' */
    size_t n_steps;
    struct {
        char name[32];
        double seconds;
    } steps[TM_PIPELINE_MAX_STEPS];
    double seconds; /* whole job */
} tm_pipeline_report;

/* The latest price date in the universe (0 when there is none). */
tm_status tm_pipeline_latest_date(tm_pipeline *p, int32_t *out, tm_err *err);

/* ---- data -------------------------------------------------------------- */

typedef struct tm_pipeline_import_opts {
    const char *symbol; /* series name for files without a Name column (e.g. "^VIX") */
    bool skip_bad;      /* load the good rows, report each bad one */
    size_t max_reports; /* bad rows reported: 20 */
    /* Called for each bad row (message without newline); NULL: none. */
    void (*bad_row)(void *ctx, const char *msg);
    void *bad_row_ctx;
} tm_pipeline_import_opts;
void tm_pipeline_import_opts_init(tm_pipeline_import_opts *o);

/* Loads daily OHLCV CSV (date,open,high,low,close,volume,Name; header
 * names in any case and order; LF or CRLF; volume optional when symbol is
 * given) from path, "-" for stdin, or a .gz file (streamed through
 * `gzip -dc`). Upserts by (symbol, date) in one transaction; symbols from a
 * Name column join the universe. A bad row fails the whole file
 * (TM_E_PARSE naming its line and field; nothing loaded) unless skip_bad.
 * *n_loaded and *n_skipped (either may be NULL) count rows. */
tm_status tm_pipeline_import_prices(tm_pipeline *p, const char *path,
                                    const tm_pipeline_import_opts *o, size_t *n_loaded,
                                    size_t *n_skipped, tm_err *err);

/* Builds training samples from the price history: every (stock, day) after
 * the feature warm-up whose label is known by as_of (0: the latest price
 * date). Existing samples are kept. */
tm_status tm_pipeline_backfill(tm_pipeline *p, int32_t as_of, tm_pipeline_report *rep, tm_err *err);

/* ---- the five jobs ----------------------------------------------------- */

/* overnight_scan: signals for the latest trading day <= as_of. */
tm_status tm_pipeline_scan(tm_pipeline *p, int32_t as_of, tm_pipeline_report *rep, tm_err *err);
/* outcome_tracker: outcomes of signals whose horizon ended by as_of. */
tm_status tm_pipeline_track_outcomes(tm_pipeline *p, int32_t as_of, tm_pipeline_report *rep,
                                     tm_err *err);
/* sample_generator: tracked outcomes -> training samples. */
tm_status tm_pipeline_generate_samples(tm_pipeline *p, int32_t as_of, tm_pipeline_report *rep,
                                       tm_err *err);
/* meta_retrain: skipped (status "skipped") when fewer than gate_days days
 * passed since the last successful one, unless force. */
tm_status tm_pipeline_meta_retrain(tm_pipeline *p, int32_t as_of, tm_pipeline_report *rep,
                                   tm_err *err);
/* model_retrain: the 8 base models with their fold models, then the
 * meta-learner. */
tm_status tm_pipeline_model_retrain(tm_pipeline *p, int32_t as_of, tm_pipeline_report *rep,
                                    tm_err *err);

/* Runs job by its scheduler name ("overnight_scan", "outcome_tracker",
 * "sample_generator", "meta_retrain", "model_retrain") or command name
 * ("scan", "track-outcomes", ...). Unknown: TM_E_INVALID. */
tm_status tm_pipeline_run_job(tm_pipeline *p, const char *job, int32_t as_of,
                              tm_pipeline_report *rep, tm_err *err);

/* ---- registry ---------------------------------------------------------- */

/* Makes the previous meta-learner (the newest older one whose file still
 * exists) active again; rep->summary says which. TM_E_INVALID when there
 * is none. */
tm_status tm_pipeline_rollback(tm_pipeline *p, tm_pipeline_report *rep, tm_err *err);
/* Writes the registry (active models, metrics) as text lines to rep. */
tm_status tm_pipeline_models_report(tm_pipeline *p, tm_pipeline_report *rep, tm_err *err);
/* The last meta retrain's report (from the registry) and the latest
 * signals as text. */
tm_status tm_pipeline_signals_report(tm_pipeline *p, int32_t date, tm_pipeline_report *rep,
                                     tm_err *err);

/* ---- replay ------------------------------------------------------------ */

/* Runs the schedule (DESIGN's five jobs) on a simulated clock over the
 * days from..to: each job sees data up to the last close before its fire
 * time. on_job (may be NULL) gets each job's report. */
tm_status tm_pipeline_replay(tm_pipeline *p, int32_t from, int32_t to,
                             void (*on_job)(void *ctx, const tm_pipeline_report *rep), void *ctx,
                             tm_err *err);

#ifdef __cplusplus
}
#endif

#endif /* TURBOMODE_PIPELINE_H */
