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

/* How training samples and outcomes are labelled. A database holds one
 * kind (recorded with its first labels); a job asked for the other is
 * refused. */
typedef enum tm_pipeline_labels {
    TM_PIPELINE_LABELS_ABSOLUTE = 0, /* forward return against +up / -down (default) */
    TM_PIPELINE_LABELS_XS_DECILE,    /* the day's top / bottom decile of the forward return
                                        net of the day's median, over volatility */
} tm_pipeline_labels;

/* Options: a transparent struct; tm_pipeline_opts_init sets every default
 * (in the comments). Strings are borrowed for tm_pipeline_open's call and
 * copied. */
typedef struct tm_pipeline_opts {
    const char *db_path;                      /* required */
    const char *models_dir;                   /* NULL: "<db dir>/turbomode_models" */
    const char *registry_path;                /* base-model registry (JSON); NULL: the 8 defaults */
    int32_t today;                            /* YYYYMMDD: later dates are refused; 0: the
                                                 system's UTC date */
    bool read_only;                           /* open an existing database read-only (reports) */
    bool allow_later_models;                  /* use models trained after the job's as-of
                                                 (look-ahead; default: refuse) */
    int horizon;                              /* label horizon, trading days: 5 */
    double up;                                /* BUY when the forward return > up: 0.040 */
    double down;                              /* SELL when it is < -down: 0.036 */
    tm_pipeline_labels labels;                /* TM_PIPELINE_LABELS_ABSOLUTE */
    int n_threads;                            /* 0: OpenMP's default (all cores) */
    int n_folds;                              /* time blocks for out-of-fold predictions: 3 */
    bool in_sample;                           /* meta features from in-sample predictions */
    tm_pipeline_split split;                  /* TM_PIPELINE_SPLIT_TIME */
    double valid_fraction;                    /* 0.2 */
    int gate_days;                            /* meta retrain gate: 42 */
    bool force;                               /* bypass the gate and the promotion check */
    int flip_days;                            /* days of the retrain's flip share: 20 */
    bool compare;                             /* also train the other method for the report: true */
    double target_precision;                  /* precision the decision rule's thresholds aim
                                                 for (Wilson 95% lower bound): 0.15 */
    int max_signals;                          /* at most this many BUY and this many SELL a
                                                 day (scan, promotion); 0: no cap: 10 */
    int batch_rows;                           /* meta prediction batch: 5000 */
    double rounds_scale;                      /* multiplies every max_rounds (demo: < 1): 1.0 */
    uint64_t seed;                            /* 1 */
    void (*log)(void *ctx, const char *line); /* progress lines; NULL: silent */
    void *log_ctx;
} tm_pipeline_opts;

void tm_pipeline_opts_init(tm_pipeline_opts *o);

/* The job commands, as bits of tm_opt.scope: which command takes which
 * option. */
typedef enum tm_pipeline_cmd {
    TM_PIPELINE_CMD_BACKFILL = 1 << 0,
    TM_PIPELINE_CMD_SCAN = 1 << 1,
    TM_PIPELINE_CMD_TRACK = 1 << 2,   /* track-outcomes */
    TM_PIPELINE_CMD_SAMPLES = 1 << 3, /* generate-samples */
    TM_PIPELINE_CMD_META = 1 << 4,    /* meta-retrain */
    TM_PIPELINE_CMD_MODELS = 1 << 5,  /* model-retrain */
    TM_PIPELINE_CMD_REPLAY = 1 << 6,
    TM_PIPELINE_CMD_SIGNALS = 1 << 7,
    TM_PIPELINE_CMD_REGISTRY = 1 << 8, /* models */
    TM_PIPELINE_CMD_ROLLBACK = 1 << 9, /* model rollback */
} tm_pipeline_cmd;

/* The option table of tm_pipeline_opts (see tm_opt in core.h): names,
 * ranges, help and the commands that take each option. Rows with scope 0
 * are checked but not offered on the command line. A static table; *n
 * gets its length. tm_pipeline_open checks every option against it. */
const tm_opt *tm_pipeline_opt_table(size_t *n);

/* Opens the database (creating and migrating it; with read_only, an
 * existing one only, never written) and reads the registry. On failure
 * *out is NULL. Close with tm_pipeline_close. */
tm_status tm_pipeline_open(const tm_pipeline_opts *o, tm_pipeline **out, tm_err *err);
void tm_pipeline_close(tm_pipeline *p);

/* The exit status of a job command whose job was skipped (status
 * "skipped": the gate held it back, or there was nothing to do); the
 * scheduler's skip_exit for the built-in jobs. */
#define TM_PIPELINE_EXIT_SKIPPED 3

/* What a job did: a short human summary and timed steps. The longest job,
 * model_retrain, times one step per base model (up to 16) and 9 more. */
#define TM_PIPELINE_MAX_STEPS 32
typedef struct tm_pipeline_report {
    char job[32];        /* "overnight_scan", ... */
    int32_t as_of;       /* YYYYMMDD */
    char status[16];     /* "ok" or "skipped" */
    char summary[16384]; /* lines, each ending in '\n'; the signals report holds
                            a day's lines and the last retrain's whole report */
    size_t n_steps;
    struct {
        char name[32];
        double seconds;
    } steps[TM_PIPELINE_MAX_STEPS];
    double seconds; /* whole job */
} tm_pipeline_report;

/* The latest price date in the universe up to today (0 when there is
 * none): rows dated after today never become the default as-of. */
tm_status tm_pipeline_latest_date(tm_pipeline *p, int32_t *out, tm_err *err);

/* ---- data -------------------------------------------------------------- */

typedef struct tm_pipeline_import_opts {
    const char *symbol; /* series name for files without a Name column (e.g. "^VIX") */
    bool skip_bad;      /* load the good rows, report each bad one */
    size_t max_reports; /* bad rows reported: 20 */
    /* Called for each bad row (message without newline); NULL: none.
     * Without skip_bad the first bad row is the returned error, not a
     * callback, so no row is reported twice. */
    void (*bad_row)(void *ctx, const char *msg);
    void *bad_row_ctx; /* also notice's */
    /* Called with facts worth knowing that are not errors (rows repeating
     * a (ticker, date): the last one in the file wins); NULL: none. */
    void (*notice)(void *ctx, const char *msg);
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
 * passed between the as_of of the last successful meta or model retrain
 * and as_of, unless force. This is the one retrain gate: the daemon and
 * replay run the job and record what it decided. */
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
/* Removes the model files no registry row names (a killed or failed
 * retrain leaves them; model-retrain and meta-retrain also do this
 * first), in a write transaction; rep->summary says how many. */
tm_status tm_pipeline_models_gc(tm_pipeline *p, tm_pipeline_report *rep, tm_err *err);
/* Writes the registry (active models, metrics; with all, every version of
 * each active model's slot, newest first, marked active or inactive) as
 * text lines to rep. */
tm_status tm_pipeline_models_report(tm_pipeline *p, bool all, tm_pipeline_report *rep, tm_err *err);
/* The last meta retrain's report (from the registry) and the latest
 * signals as text. */
tm_status tm_pipeline_signals_report(tm_pipeline *p, int32_t date, tm_pipeline_report *rep,
                                     tm_err *err);

/* ---- replay ------------------------------------------------------------ */

/* Runs the daemon's schedule (the config file `schedule`, NULL: the
 * built-in jobs) on a simulated clock over the days from..to, with the
 * scheduler's rules and the jobs' own gates, as the daemon would: each job
 * sees data up to the last close before its fire time; a job's status
 * "skipped" is recorded in job_runs as gate_skip (exit status
 * TM_PIPELINE_EXIT_SKIPPED); the clock moves on by each job's real run
 * time. Jobs must be pipeline jobs (tm_pipeline_run_job names). on_job
 * (may be NULL) gets each job's report. */
tm_status tm_pipeline_replay(tm_pipeline *p, int32_t from, int32_t to, const char *schedule,
                             void (*on_job)(void *ctx, const tm_pipeline_report *rep), void *ctx,
                             tm_err *err);

/* ---- evaluation -------------------------------------------------------- */

/* Walk-forward evaluation of the signals the system issued from..to
 * against baselines on the same days and stocks (always-HOLD, momentum
 * 20d, reversal 5d, random calls with the system's daily counts over
 * n_seeds seeds). Only prices and signals dated <= to are read, and only
 * signal days whose label horizon (the pipeline's --horizon) ended by to
 * are evaluated, so a database holding later prices gives identical
 * figures. */
typedef struct tm_pipeline_eval tm_pipeline_eval;

typedef struct tm_pipeline_eval_opts {
    int32_t from;    /* first signal day, YYYYMMDD (required) */
    int32_t to;      /* last day read, YYYYMMDD (required, >= from) */
    double cost_bps; /* cost per unit traded, basis points: 10 */
    int n_seeds;     /* random baseline draws: 20 */
    uint64_t seed;   /* first random seed: 1 */
    double share;    /* momentum/reversal: top and bottom share of the day: 0.10 */
} tm_pipeline_eval_opts;

void tm_pipeline_eval_opts_init(tm_pipeline_eval_opts *o);

/* Computes every figure. TM_E_INVALID for bad options or when no signal
 * day in range has its horizon over by `to`. Free with
 * tm_pipeline_eval_free. On failure *out is NULL. */
tm_status tm_pipeline_evaluate(tm_pipeline *p, const tm_pipeline_eval_opts *o,
                               tm_pipeline_eval **out, tm_err *err);
void tm_pipeline_eval_free(tm_pipeline_eval *e);
/* True only when the system's net long-short spread has a Newey-West
 * t above 2, beats every baseline and the random band's 95th percentile,
 * over at least two years of signal days. */
bool tm_pipeline_eval_edge(const tm_pipeline_eval *e);
/* The summary (system vs baselines, verdict) as text lines; *out is
 * tm_malloc'd (free with tm_free), NULL on failure (TM_E_NOMEM). */
tm_status tm_pipeline_eval_text(const tm_pipeline_eval *e, char **out, tm_err *err);
/* Records the verdict as an "evaluate" row of job_results (as_of = to). */
tm_status tm_pipeline_eval_record(tm_pipeline *p, const tm_pipeline_eval *e, tm_err *err);
/* One line for the signals output: "no demonstrated edge" unless the
 * latest recorded evaluation showed an edge (then its verdict). */
tm_status tm_pipeline_edge_note(tm_pipeline *p, char *buf, size_t cap, tm_err *err);
/* Every figure as JSON, written atomically to path. */
tm_status tm_pipeline_eval_write_json(const tm_pipeline_eval *e, const char *path, tm_err *err);
/* A self-contained HTML report (inline SVG plots, no outside resources),
 * written atomically to path. */
tm_status tm_pipeline_eval_write_html(const tm_pipeline_eval *e, const char *path, tm_err *err);

#ifdef __cplusplus
}
#endif

#endif /* TURBOMODE_PIPELINE_H */
