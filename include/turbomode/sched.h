/* TurboMode scheduler: APScheduler 3.x cron / interval / date triggers with
 * pytz time zone semantics, misfire grace and coalescing, the 6-week gate
 * rule (schedule eval; the daemon leaves the gate to the job itself),
 * a config file, and a daemon that runs jobs as child processes with a
 * SQLite job_runs table, a state file, resource locks and one instance per
 * database. See ../shared/fixtures/scheduler/README.txt for the semantics. */
#ifndef TURBOMODE_SCHED_H
#define TURBOMODE_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <turbomode/core.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- instants and zones ------------------------------------------------ */

/* An instant: microseconds since 1970-01-01T00:00:00Z. */
typedef int64_t tm_sched_time;
#define TM_SCHED_NEVER   INT64_MIN /* "no time" (None) */
#define TM_SCHED_SECOND  INT64_C(1000000)
#define TM_SCHED_ISO_LEN 48 /* buffer size for tm_sched_time_format */

/* A time zone: an IANA zone read from TZif (pytz rules: version-1 data,
 * offsets rounded to minutes) or a fixed UTC offset. Immutable once
 * loaded, so threads may share one. */
typedef struct tm_sched_zone tm_sched_zone;

/* Loads zone NAME from $TZDIR (else /usr/share/zoneinfo); "UTC" in any case
 * is UTC. On failure *out is NULL (unknown zone: TM_E_INVALID). Free with
 * tm_sched_zone_free. */
tm_status tm_sched_zone_load(const char *name, tm_sched_zone **out, tm_err *err);
/* A fixed-offset zone (seconds east of UTC, |offset| < 1 day). */
tm_status tm_sched_zone_fixed(int32_t offset_s, tm_sched_zone **out, tm_err *err);
void tm_sched_zone_free(tm_sched_zone *z);
/* The name given at load time ("+05:30" for fixed zones); lives with z. */
const char *tm_sched_zone_name(const tm_sched_zone *z);
/* UTC offset in seconds in force at instant t (pytz normalize). */
int32_t tm_sched_zone_offset(const tm_sched_zone *z, tm_sched_time t);
/* The instant of a local wall-clock time, as pytz localize(is_dst=False):
 * a time in a DST gap is read with the offset before the gap (02:30 EST =
 * 03:30 EDT), a repeated time is the second occurrence. wall_us counts
 * microseconds of naive local time since 1970-01-01T00:00. */
tm_sched_time tm_sched_zone_localize(const tm_sched_zone *z, int64_t wall_us);

/* Parses ISO 8601 "YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]]" with "Z" or "+HH:MM";
 * without an offset the time is local to zone (NULL: an offset is
 * required). TM_E_PARSE on bad text. */
tm_status tm_sched_time_parse(const char *text, const tm_sched_zone *zone, tm_sched_time *out,
                              tm_err *err);
/* Writes t as ISO 8601 in zone z with the offset in force, microseconds
 * only when non-zero ("2026-03-08T03:00:00-04:00"); "null" for
 * TM_SCHED_NEVER. buf needs TM_SCHED_ISO_LEN bytes. Returns buf. */
char *tm_sched_time_format(tm_sched_time t, const tm_sched_zone *z, char *buf, size_t len);
/* Parses a duration: a number with an optional unit s, m, h, d, w
 * ("90", "45m", "365d", "1.5h"). Result in seconds, >= 0. */
tm_status tm_sched_duration_parse(const char *text, double *seconds, tm_err *err);
/* The real clock (CLOCK_REALTIME). */
tm_sched_time tm_sched_time_now(void);

/* ---- triggers ------------------------------------------------------------ */

/* One constructor keyword argument, as APScheduler receives it: a value
 * given as a string or as a number (its text). */
typedef struct tm_sched_kv {
    const char *key;
    const char *value; /* NULL: None (the argument is not given) */
    bool is_string;    /* false: a number written as text ("6", "1.5") */
} tm_sched_kv;

/* A trigger: "cron" (CronTrigger), "interval" (IntervalTrigger) or "date"
 * (DateTrigger). Immutable after construction. */
typedef struct tm_sched_trigger tm_sched_trigger;

/* Builds a trigger from keyword arguments; a missing "timezone" means
 * default_tz (NULL: "America/New_York"). Invalid arguments fail with
 * TM_E_INVALID, err->field naming the argument and err->reason the text
 * APScheduler raises ("ValueError: ..."). On failure *out is NULL. */
tm_status tm_sched_trigger_new(const char *kind, const tm_sched_kv *kv, size_t n_kv,
                               const char *default_tz, tm_sched_trigger **out, tm_err *err);
void tm_sched_trigger_free(tm_sched_trigger *t);
/* APScheduler's get_next_fire_time(prev, now): prev TM_SCHED_NEVER for the
 * first call (inclusive of now). Returns TM_SCHED_NEVER when done. */
tm_sched_time tm_sched_trigger_next(const tm_sched_trigger *t, tm_sched_time prev,
                                    tm_sched_time now);
/* The zone fire times are shown in (cron: the trigger zone; interval and
 * date: the zone of start_date / run_date). Lives with t. */
const tm_sched_zone *tm_sched_trigger_zone(const tm_sched_trigger *t);
/* str(trigger) as APScheduler prints it: "cron[day_of_week='sun', hour='3']",
 * "interval[...]", "date[...]". Truncates to len. Returns buf. */
char *tm_sched_trigger_describe(const tm_sched_trigger *t, char *buf, size_t len);

/* The market close (local hour in the job's zone) that decides a fire's
 * as_of: a job fired before it sees the previous day's data. */
#define TM_SCHED_CLOSE_HOUR 16

/* The as_of day ("YYYY-MM-DD") of a fire at `fire` in zone z: its local
 * date from TM_SCHED_CLOSE_HOUR on, else the day before. The one rule for
 * {as_of} in daemon commands and for replay. buf needs 11 bytes. Returns
 * buf. */
char *tm_sched_fire_as_of(tm_sched_time fire, const tm_sched_zone *z, char *buf, size_t len);

/* ---- misfire and the gate ----------------------------------------------- */

typedef enum tm_sched_fire_action {
    TM_SCHED_FIRE_RUN,       /* submitted and within grace */
    TM_SCHED_FIRE_MISSED,    /* later than misfire_grace_time (EVENT_JOB_MISSED) */
    TM_SCHED_FIRE_COALESCED, /* dropped by coalescing, never submitted */
} tm_sched_fire_action;

#define TM_SCHED_NO_GRACE INT64_C(-1) /* misfire_grace_time=None */

/* Called once per due fire time, in order; a non-OK return stops. */
typedef tm_status (*tm_sched_fire_fn)(void *ctx, tm_sched_time fire, tm_sched_fire_action action,
                                      tm_err *err);

/* One wake-up of APScheduler's _process_jobs for one job at `now`: fires
 * from next_run up to now are due; with coalesce only the last is
 * submitted; a submitted fire more than grace_us late is missed. *next_out
 * gets the job's new next run time (TM_SCHED_NEVER: the job is done). */
tm_status tm_sched_wake(const tm_sched_trigger *t, tm_sched_time next_run, tm_sched_time now,
                        bool coalesce, int64_t grace_us, tm_sched_fire_fn fn, void *ctx,
                        tm_sched_time *next_out, tm_err *err);

typedef enum tm_sched_gate_policy {
    TM_SCHED_GATE_SCHEDULED, /* scheduled fire times, local wall clock (the rule) */
    TM_SCHED_GATE_ACTUAL,    /* the real start time, local wall clock */
    TM_SCHED_GATE_UTC,       /* scheduled fire times, absolute time */
} tm_sched_gate_policy;

/* Time since last_success at decision time d, in microseconds, as the
 * gate measures it: local wall-clock difference in zone z, or absolute for
 * TM_SCHED_GATE_UTC. */
int64_t tm_sched_gate_since(const tm_sched_zone *z, tm_sched_gate_policy policy, tm_sched_time d,
                            tm_sched_time last_success);

/* ---- schedule eval -------------------------------------------------------- */

/* Evaluates one JSON line in the input form of the fixtures (a trigger case,
 * a validity case, a misfire case or a gate case) and writes it back with
 * the output fields computed. *out is a NUL-terminated line without the
 * newline, freed with tm_free. A line that is not a case object fails with
 * TM_E_PARSE / TM_E_INVALID; an invalid trigger is a result, not an error. */
tm_status tm_sched_eval_line(const char *line, size_t len, char **out, tm_err *err);

/* ---- configuration -------------------------------------------------------- */

/* A parsed scheduler configuration (format in README.md "Scheduler"). */
typedef struct tm_sched_config tm_sched_config;

/* Reads a config file; path NULL gives the built-in defaults (the five
 * TurboMode jobs). Errors name the file, the line and the reason. */
tm_status tm_sched_config_load(const char *path, tm_sched_config **out, tm_err *err);
/* Same, from text; path names the source in messages. */
tm_status tm_sched_config_parse(const char *text, size_t len, const char *path,
                                tm_sched_config **out, tm_err *err);
void tm_sched_config_free(tm_sched_config *cfg);
/* Replaces the database path (and the lock, state and log paths derived
 * from it unless the config set them). */
tm_status tm_sched_config_set_db(tm_sched_config *cfg, const char *db, tm_err *err);
/* Replaces the state file path (a simulation keeps its own beside the
 * daemon's). */
tm_status tm_sched_config_set_state_path(tm_sched_config *cfg, const char *path, tm_err *err);
/* Replaces the path of the turbomode binary used for {turbomode}. */
tm_status tm_sched_config_set_binary(tm_sched_config *cfg, const char *bin, tm_err *err);

/* A read-only view of one configured job; pointers live with the config. */
typedef struct tm_sched_job_info {
    const char *name;
    const char *command; /* before placeholder expansion */
    const tm_sched_trigger *trigger;
    int64_t grace_us; /* TM_SCHED_NO_GRACE: unlimited */
    bool coalesce;
    double timeout_s;  /* run time limit */
    double estimate_s; /* configured duration estimate, 0 = none */
    int skip_exit;     /* exit status that means "skipped by the job's own
                          gate" (recorded as gate_skip); -1: none */
    size_t n_resources;
    const char *const *resources; /* names of what the job writes */
} tm_sched_job_info;

size_t tm_sched_config_n_jobs(const tm_sched_config *cfg);
void tm_sched_config_job(const tm_sched_config *cfg, size_t i, tm_sched_job_info *out);
/* Paths in use; live with cfg. */
const char *tm_sched_config_db(const tm_sched_config *cfg);
const char *tm_sched_config_state_path(const tm_sched_config *cfg);
const char *tm_sched_config_lock_path(const tm_sched_config *cfg);

/* ---- the scheduler -------------------------------------------------------- */

/* A clock. now() gives the current instant; wait(deadline) returns at the
 * deadline or earlier (a signal, a child exit). A fake clock simply jumps
 * to the deadline, so a simulated year runs in milliseconds. */
typedef struct tm_sched_clock {
    tm_sched_time (*now)(void *ctx);
    void (*wait)(void *ctx, tm_sched_time deadline);
    void *ctx;
} tm_sched_clock;

/* What a run asks the executor for. */
typedef struct tm_sched_run_req {
    const char *job;         /* job name */
    const char *command;     /* command line, placeholders expanded */
    const char *log_path;    /* file the output is appended to */
    tm_sched_time scheduled; /* the fire time */
    tm_sched_time now;       /* start instant */
    const char *as_of;       /* tm_sched_fire_as_of of the fire ("YYYY-MM-DD") */
} tm_sched_run_req;

/* How a run ended. */
typedef struct tm_sched_run_result {
    int exit_code;     /* exit status, or -1 when ended by a signal */
    int term_signal;   /* the signal, 0 if none */
    char output[1024]; /* the tail of its output ("" if none) */
} tm_sched_run_result;

/* Runs jobs. start() launches one and gives a handle (and a process id,
 * 0 if none); poll() reports whether it ended; kill() asks it to stop
 * (hard: now); next_event() (may be NULL) is the earliest instant at which
 * a run may end without a signal, for fake executors. */
typedef struct tm_sched_executor {
    tm_status (*start)(void *ctx, const tm_sched_run_req *req, int64_t *handle, int64_t *pid,
                       tm_err *err);
    bool (*poll)(void *ctx, int64_t handle, tm_sched_time now, tm_sched_run_result *res);
    void (*kill)(void *ctx, int64_t handle, bool hard);
    tm_sched_time (*next_event)(void *ctx);
    void *ctx;
} tm_sched_executor;

typedef struct tm_sched_options {
    const tm_sched_clock *clock;              /* NULL: the real clock */
    const tm_sched_executor *exec;            /* NULL: child processes via /bin/sh -c */
    bool once;                                /* process what is due now, finish, return */
    bool lock;                                /* take the single-instance lock (default true) */
    bool durable;                             /* fsync each commit and state file (default true;
                                                 simulations turn it off: a crash of the process
                                                 still loses nothing, a power cut might) */
    void (*log)(void *ctx, const char *line); /* one line, no newline; NULL: silent */
    void *log_ctx;
} tm_sched_options;

void tm_sched_options_init(tm_sched_options *opt);

/* A running scheduler over cfg (borrowed: it must outlive the scheduler,
 * except across tm_sched_reload). */
typedef struct tm_sched tm_sched;

/* Takes the lock (TM_E_BUSY with the holder's pid when another daemon has
 * it), opens the database, recovers runs a killed daemon left behind
 * (their leftover processes are stopped, rows marked interrupted), and
 * loads the state file. On failure *out is NULL. */
tm_status tm_sched_open(const tm_sched_config *cfg, const tm_sched_options *opt, tm_sched **out,
                        tm_err *err);
/* Runs until a stop request has been carried out (running jobs finished,
 * or stopped after stop_grace and recorded as interrupted), or with
 * options.once until what was due has run, or until the clock reaches
 * `until` (TM_SCHED_NEVER: no limit), whichever comes first. */
tm_status tm_sched_run(tm_sched *s, tm_sched_time until, tm_err *err);
/* Asks the loop to stop; async-signal-safe. */
void tm_sched_request_stop(tm_sched *s);
/* Replaces the configuration (SIGHUP): jobs whose trigger is unchanged keep
 * their next run; a running job keeps running. cfg must outlive s. */
tm_status tm_sched_reload(tm_sched *s, const tm_sched_config *cfg, tm_err *err);
/* Installs SIGTERM/SIGINT (stop), SIGHUP (reload flag) and SIGCHLD (wake)
 * handlers routed to s. One scheduler per process may do this. */
tm_status tm_sched_handle_signals(tm_sched *s, tm_err *err);
/* True (once) when SIGHUP arrived since the last call. */
bool tm_sched_reload_requested(tm_sched *s);
/* Closes without stopping anything: runs still marked running are
 * recovered by the next tm_sched_open (as after kill -9). Accepts NULL. */
void tm_sched_close(tm_sched *s);

/* ---- reports -------------------------------------------------------------- */

/* One job_runs row as text. */
typedef struct tm_sched_run_row {
    int64_t id;
    const char *job, *scheduled, *started, *ended, *status, *message; /* "" if NULL */
    double delay_s;             /* start - scheduled, -1 when it did not start */
    int exit_code;              /* -1 if none */
    int64_t fires;              /* fire times the row stands for: > 1 for a span of missed or
                                   coalesced fires */
    const char *last_scheduled; /* the last fire of a span, "" for one fire */
} tm_sched_run_row;
typedef tm_status (*tm_sched_row_fn)(void *ctx, const tm_sched_run_row *row, tm_err *err);

/* Calls fn for the last `limit` rows of job_runs (job NULL: all), oldest
 * first. The database is opened read-only and must exist (TM_E_IO); one
 * without job_runs has no rows (TM_OK, fn never called). */
tm_status tm_sched_history(const char *db, const char *job, long limit, tm_sched_row_fn fn,
                           void *ctx, tm_err *err);

/* Collision analysis over [from, from + horizon): for every pair of jobs
 * sharing a resource (and every job with itself) whose windows (fire time
 * + estimated duration: from job_runs when it has runs, else the
 * configured estimate) overlap, fn gets one line saying when, how often
 * and what the daemon will do. Returns the number of colliding pairs in
 * *n_pairs. The database is optional (NULL or absent: estimates only). */
tm_status tm_sched_check(const tm_sched_config *cfg, const char *db, tm_sched_time from,
                         double horizon_s, void (*fn)(void *ctx, const char *line), void *ctx,
                         size_t *n_pairs, tm_err *err);

/* The CREATE TABLE statement of job_runs, for a store that wants to own
 * the schema. A static string. */
const char *tm_sched_job_runs_schema(void);

#ifdef __cplusplus
}
#endif

#endif /* TURBOMODE_SCHED_H */
