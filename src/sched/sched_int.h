/* Internals of the scheduler module shared across the files of src/sched: naive
 * calendar arithmetic, the zone and trigger structures, the compiled cron
 * expressions, the config structures and the job_runs store. No other
 * module includes this header. */
#ifndef TURBOMODE_SCHED_INT_H
#define TURBOMODE_SCHED_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <turbomode/sched.h>

#define TM__US     TM_SCHED_SECOND
#define TM__US_DAY (INT64_C(86400) * TM__US)

/* ---- naive calendar (proleptic Gregorian, years 1..9999) ---------------- */

/* Naive ("wall") times are microseconds since 1970-01-01T00:00, no zone. */
typedef struct tm__sched_fields {
    int year, month, day, hour, minute, second, usec;
} tm__sched_fields;

int64_t tm__sched_wall(const tm__sched_fields *f);
void tm__sched_split(int64_t wall, tm__sched_fields *f);
/* Formats an aware datetime given as wall time + attached offset (which
 * may be pytz's unnormalized offset). Returns buf. */
char *tm__sched_format_wall(int64_t wall, int32_t off, char *buf, size_t len);

/* APScheduler's convert_to_datetime for a string: "YYYY-M-D" or
 * "YYYY-M-D[ T]H:M:S[.ffffff][Z|+HH:MM]". Without an offset it is
 * localized in tz (pytz, is_dst=False). *fixed_min gets the offset in
 * minutes when the text carried one (INT32_MIN otherwise). The error text
 * is APScheduler's ("ValueError: Invalid date string"). */
tm_status tm__sched_convert_datetime(const char *text, const tm_sched_zone *tz, const char *arg,
                                     tm_sched_time *inst, int64_t *wall, int32_t *off,
                                     int32_t *fixed_min, tm_err *err);

/* ---- zones --------------------------------------------------------------- */

struct tm_sched_zone {
    char name[128];
    bool table;     /* false: fixed offset `fixed` */
    int32_t fixed;  /* seconds east of UTC */
    size_t n;       /* transitions (table zones), n >= 1 */
    int64_t *trans; /* UTC instants, ascending; trans[0] = INT64_MIN */
    int32_t *off;   /* offset in force from trans[i], rounded to minutes */
    int32_t *dst;   /* pytz's DST amount (seconds), 0 for standard time */
};

/* pytz localize(is_dst=False): the instant, and in *raw_off the offset
 * pytz attaches (the offset before the gap for a non-existent time). */
tm_sched_time tm__sched_localize(const tm_sched_zone *z, int64_t wall, int32_t *raw_off);

/* ---- cron expressions ---------------------------------------------------- */

enum {
    TM__F_YEAR,
    TM__F_MONTH,
    TM__F_DAY,
    TM__F_WEEK,
    TM__F_DOW,
    TM__F_HOUR,
    TM__F_MINUTE,
    TM__F_SECOND,
    TM__F_COUNT
};

typedef enum tm__sched_xkind {
    TM__X_ALL,      /* '*' or '*\/n' */
    TM__X_RANGE,    /* 'a', 'a-b', 'a-b/n', 'a/n' */
    TM__X_MONTHS,   /* 'jan', 'jan-mar' */
    TM__X_WEEKDAYS, /* 'mon', 'mon-fri' */
    TM__X_POSITION, /* '2nd mon', 'last fri' */
    TM__X_LASTDAY,  /* 'last' */
} tm__sched_xkind;

typedef struct tm__sched_expr {
    tm__sched_xkind kind;
    int first, last;  /* range; last -1 = None */
    int step;         /* 0 = None */
    int pos, weekday; /* TM__X_POSITION: 0..4 = 1st..5th, 5 = last; Monday = 0 */
} tm__sched_expr;

typedef struct tm__sched_field {
    tm__sched_expr *x;
    size_t n;
    bool is_default;
} tm__sched_field;

extern const char *const tm__sched_field_names[TM__F_COUNT];

/* Compiles one field's text (str(value)); on error returns TM_E_INVALID
 * with APScheduler's message (without "ValueError: ") in msg. */
tm_status tm__sched_field_compile(int field, const char *text, bool is_default,
                                  tm__sched_field *out, char *msg, size_t msg_len);
void tm__sched_field_fini(tm__sched_field *f);
/* str(field), e.g. "mon-fri" or "*\/5,7". Returns buf. */
char *tm__sched_field_str(const tm__sched_field *f, int field, char *buf, size_t len);
/* BaseField.get_next_value over all expressions: -1 when none. */
int tm__sched_field_next(const tm__sched_field *f, int field, int64_t wall);
int tm__sched_field_value(int field, int64_t wall);

/* ---- triggers ------------------------------------------------------------ */

typedef enum tm__sched_kind { TM__CRON, TM__INTERVAL, TM__DATE } tm__sched_kind;

struct tm_sched_trigger {
    tm__sched_kind kind;
    tm_sched_zone *tz;              /* the trigger's timezone, owned */
    tm_sched_zone *shown;           /* zone of returned datetimes: tz or owned fixed */
    tm_sched_time start, end;       /* TM_SCHED_NEVER: none */
    tm__sched_field f[TM__F_COUNT]; /* cron */
    int64_t interval_us;            /* interval */
    double interval_len;            /* interval in seconds (float, as Python) */
    int64_t run_wall;               /* date: run_date as given (raw) */
    int32_t run_off;
    char desc[512]; /* str(trigger) */
    char sig[768];  /* canonical text for change detection */
};

/* CronTrigger.get_next_fire_time; the result as pytz returns it: wall time
 * and attached offset (possibly unnormalized). False: None. */
bool tm__sched_cron_next(const tm_sched_trigger *t, tm_sched_time prev, tm_sched_time now,
                         int64_t *wall, int32_t *off);
/* Any trigger: the instant and the raw datetime. */
tm_sched_time tm__sched_trigger_next_raw(const tm_sched_trigger *t, tm_sched_time prev,
                                         tm_sched_time now, int64_t *wall, int32_t *off);
const char *tm__sched_trigger_sig(const tm_sched_trigger *t);

/* ---- JSON output in Python's json.dumps style (", ", ": ", ASCII) -------- */

typedef tm_buf tm__sched_jbuf; /* core's growable text */

void tm__sched_jb_raw(tm__sched_jbuf *b, const char *s, size_t n);
void tm__sched_jb_cstr(tm__sched_jbuf *b, const char *s);          /* raw, NUL-terminated */
void tm__sched_jb_str(tm__sched_jbuf *b, const char *s, size_t n); /* quoted, escaped */
void tm__sched_jb_value(tm__sched_jbuf *b, const tm_json *v);
void tm__sched_jb_time(tm__sched_jbuf *b, tm_sched_time t, const tm_sched_zone *z);
/* Takes the text (NUL-terminated) out of b; NULL if an append failed. */
char *tm__sched_jb_take(tm__sched_jbuf *b);

/* ---- configuration ------------------------------------------------------- */

typedef struct tm__sched_job {
    char *name;
    char *command;
    tm_sched_trigger *trigger;
    int64_t grace_us;
    bool coalesce;
    double timeout_s;
    double estimate_s;
    int skip_exit; /* exit status meaning "the job's gate skipped it", -1: none */
    char **resources;
    size_t n_resources;
    long line; /* line of the [job] header, 0 for defaults */
} tm__sched_job;

struct tm_sched_config {
    char *path;    /* config file, NULL for defaults */
    char *db;      /* database path */
    char *state;   /* state file, derived from db unless set */
    char *lock;    /* lock file, derived from db unless set */
    char *log_dir; /* job output logs, derived from db unless set */
    char *binary;  /* {turbomode} */
    bool state_set, lock_set, log_dir_set;
    double stop_grace_s; /* how long a running job may finish on stop */
    double kill_grace_s; /* SIGTERM to SIGKILL */
    tm__sched_job *jobs;
    size_t n_jobs;
};

/* Expands {db}, {turbomode}, {job}, {as_of}, {scheduled} in a command.
 * *out is freed with tm_free. */
tm_status tm__sched_expand(const tm_sched_config *cfg, const tm__sched_job *job,
                           tm_sched_time scheduled, char **out, tm_err *err);

/* ---- job_runs (SQLite) --------------------------------------------------- */

typedef struct tm__sched_db tm__sched_db;

/* Opens path's job_runs (read-write: creating the file and the table when
 * absent). Read-only, a missing file fails (TM_E_IO) and a database
 * without job_runs gives TM_OK with *out NULL: nothing recorded yet. */
tm_status tm__sched_db_open(const char *path, bool readonly, tm__sched_db **out, tm_err *err);
void tm__sched_db_close(tm__sched_db *db);
/* synchronous=OFF: for simulations, where speed matters more than power cuts. */
tm_status tm__sched_db_fast(tm__sched_db *db, tm_err *err);
tm_status tm__sched_db_begin(tm__sched_db *db, tm_err *err);
tm_status tm__sched_db_commit(tm__sched_db *db, tm_err *err);
void tm__sched_db_rollback(tm__sched_db *db);
/* Inserts a decision row for (job, fire); *id = 0 when a row for that fire
 * already exists (the fire was handled before a crash). */
tm_status tm__sched_db_insert(tm__sched_db *db, const char *job, tm_sched_time fire,
                              const char *fire_iso, const char *status, const char *message,
                              int64_t *id, tm_err *err);
/* One row for n_fires consecutive fires from first to last with the same
 * status (missed or coalesced); n_fires == 1 is a plain insert. *id is 0
 * when a row for (job, first) exists already. */
tm_status tm__sched_db_insert_span(tm__sched_db *db, const char *job, tm_sched_time first,
                                   const char *first_iso, tm_sched_time last, const char *last_iso,
                                   int64_t n_fires, const char *status, const char *message,
                                   int64_t *id, tm_err *err);
tm_status tm__sched_db_started(tm__sched_db *db, int64_t id, tm_sched_time start,
                               const char *start_iso, double delay_s, int64_t pid,
                               int64_t pid_start, tm_err *err);
tm_status tm__sched_db_finish(tm__sched_db *db, int64_t id, const char *status, tm_sched_time end,
                              const char *end_iso, int exit_code, const char *message,
                              const char *output, tm_err *err);
/* Rows a dead daemon left as 'running' or 'waiting': fn(ctx, id, status,
 * pid, pid_start) for each. */
tm_status tm__sched_db_unfinished(tm__sched_db *db,
                                  void (*fn)(void *ctx, int64_t id, const char *status, int64_t pid,
                                             int64_t pid_start),
                                  void *ctx, tm_err *err);
/* Latest fire with any row, and latest fire with status success, per job
 * (TM_SCHED_NEVER when none). */
tm_status tm__sched_db_last(tm__sched_db *db, const char *job, tm_sched_time *last_fire,
                            tm_sched_time *last_success, tm_err *err);
/* Longest duration (seconds) of the job's last 20 successful runs; -1 if none. */
tm_status tm__sched_db_estimate(tm__sched_db *db, const char *job, double *seconds, tm_err *err);
tm_status tm__sched_db_history(tm__sched_db *db, const char *job, long limit, tm_sched_row_fn fn,
                               void *ctx, tm_err *err);

/* ---- state file ---------------------------------------------------------- */

typedef struct tm__sched_jstate {
    char name[128];
    char sig[768];
    tm_sched_time next_run;     /* TM_SCHED_NEVER: done */
    tm_sched_time last_success; /* scheduled time of the last success */
} tm__sched_jstate;

/* Reads the state file; a missing file gives n = 0. *out freed with tm_free. */
tm_status tm__sched_state_load(const char *path, tm__sched_jstate **out, size_t *n, tm_err *err);
/* Writes the state file by core's output rules (tm_atomic: a temporary
 * file renamed over it, nothing left on failure); durable adds the fsyncs. */
tm_status tm__sched_state_save(const char *path, const tm__sched_jstate *st, size_t n, bool durable,
                               tm_err *err);

/* ---- processes, clock, lock ---------------------------------------------- */

/* The real clock and the process executor; ctx from tm__sched_proc_new. */
typedef struct tm__sched_proc tm__sched_proc;
tm_status tm__sched_proc_new(tm__sched_proc **out, tm_err *err);
void tm__sched_proc_free(tm__sched_proc *p);
void tm__sched_proc_clock(tm__sched_proc *p, tm_sched_clock *clock);
void tm__sched_proc_executor(tm__sched_proc *p, tm_sched_executor *exec);
/* Routes SIGTERM/SIGINT/SIGHUP/SIGCHLD to flags and p's wake-up pipe. */
tm_status tm__sched_proc_signals(tm__sched_proc *p, tm_err *err);
/* The flags so far; the HUP flag is cleared by the call. */
void tm__sched_signals_take(bool *stop, bool *hup);
/* Start time of a process (clock ticks since boot, /proc), 0 if unknown. */
int64_t tm__sched_pid_start(int64_t pid);
/* Stops process group pid if it still is the process started at
 * pid_start: SIGTERM, up to grace_s, then SIGKILL. */
void tm__sched_kill_leftover(int64_t pid, int64_t pid_start, double grace_s);
/* flock on path: TM_E_BUSY naming the holder's pid when taken. */
tm_status tm__sched_lock(const char *path, int *fd, tm_err *err);
void tm__sched_unlock(int fd);

#endif /* TURBOMODE_SCHED_INT_H */
