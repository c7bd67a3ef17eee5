/* The job_runs table: one row per fire time of every job (run, skipped by
 * the job's gate or because the job was still running), except that a run
 * of consecutive missed or coalesced fires is one row with its count and
 * last fire (a minute job after a year down is one row, not 525,599).
 * Unique per (job, first fire) so a decision replayed after a crash is not
 * recorded twice. sched owns this table and its migrations; store never
 * touches it. WAL mode and a busy timeout, since jobs write the same
 * database while the daemon records their runs. */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "sched/sched_int.h"

struct tm__sched_db {
    sqlite3 *db;
    char path[1024];
    bool spans; /* the table has the span columns (fires, last_scheduled_us) */
};

static const char schema[] =
        "CREATE TABLE IF NOT EXISTS job_runs ("
        " id INTEGER PRIMARY KEY,"
        " job TEXT NOT NULL,"
        " scheduled TEXT NOT NULL,"       /* fire time, ISO 8601 in the trigger zone */
        " scheduled_us INTEGER NOT NULL," /* the same instant, microseconds since 1970 UTC */
        " started TEXT, started_us INTEGER,"
        " ended TEXT, ended_us INTEGER,"
        " status TEXT NOT NULL CHECK (status IN ('waiting','running','success','failed',"
        "  'timeout','interrupted','missed','coalesced','gate_skip','max_instances')),"
        " delay_s REAL," /* start - scheduled */
        " exit_code INTEGER,"
        " pid INTEGER, pid_start INTEGER," /* the child, to stop it after a daemon crash */
        " message TEXT NOT NULL DEFAULT '',"
        " output TEXT NOT NULL DEFAULT '',"                /* tail of the job's output */
        " fires INTEGER NOT NULL DEFAULT 1,"               /* fire times this row stands for */
        " last_scheduled TEXT, last_scheduled_us INTEGER," /* the last of them, when > 1 */
        " UNIQUE (job, scheduled_us));"
        "CREATE INDEX IF NOT EXISTS job_runs_status ON job_runs(status);";

const char *tm_sched_job_runs_schema(void)
{
    return schema;
}

static tm_status db_fail(tm__sched_db *d, tm_err *err, const char *what)
{
    return TM_ERR(err, TM_E_DB, d->path, 0, NULL, "%s: %s", what, sqlite3_errmsg(d->db));
}

tm_status tm__sched_db_open(const char *path, bool readonly, tm__sched_db **out, tm_err *err)
{
    *out = NULL;
    tm__sched_db *d = tm_calloc(1, sizeof *d);
    if (!d) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    snprintf(d->path, sizeof d->path, "%s", path);
    int flags = readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    tm_status st = TM_OK;
    struct stat sb;
    if (readonly && stat(path, &sb) != 0) {
        st = TM_ERR(err, TM_E_IO, path, 0, NULL, "cannot open database: %s", strerror(errno));
        goto done;
    }
    if (sqlite3_open_v2(path, &d->db, flags, NULL) != SQLITE_OK) {
        st = TM_ERR(err, readonly ? TM_E_IO : TM_E_DB, path, 0, NULL, "cannot open database: %s",
                    d->db ? sqlite3_errmsg(d->db) : "out of memory");
        goto done;
    }
    sqlite3_busy_timeout(d->db, 10000);
    if (!readonly &&
        (sqlite3_exec(d->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK ||
         sqlite3_exec(d->db, schema, NULL, NULL, NULL) != SQLITE_OK)) {
        st = db_fail(d, err, "cannot create job_runs");
        goto done;
    }
    sqlite3_stmt *q = NULL;
    if (readonly) {
        /* A database no daemon has used yet has no job_runs: nothing to read. */
        bool found = false;
        if (sqlite3_prepare_v2(d->db, "SELECT 1 FROM sqlite_master WHERE name = 'job_runs'", -1, &q,
                               NULL) != SQLITE_OK) {
            st = db_fail(d, err, "cannot read the schema");
            goto done;
        }
        found = sqlite3_step(q) == SQLITE_ROW;
        sqlite3_finalize(q);
        q = NULL;
        if (!found) {
            tm__sched_db_close(d);
            return TM_OK;
        }
    }
    /* Tables made before spans were recorded get the span columns. */
    d->spans = sqlite3_prepare_v2(d->db, "SELECT fires, last_scheduled_us FROM job_runs LIMIT 0",
                                  -1, &q, NULL) == SQLITE_OK;
    sqlite3_finalize(q);
    q = NULL;
    if (!d->spans && !readonly) {
        if (sqlite3_exec(d->db,
                         "ALTER TABLE job_runs ADD COLUMN fires INTEGER NOT NULL DEFAULT 1;"
                         "ALTER TABLE job_runs ADD COLUMN last_scheduled TEXT;"
                         "ALTER TABLE job_runs ADD COLUMN last_scheduled_us INTEGER;",
                         NULL, NULL, NULL) != SQLITE_OK) {
            st = db_fail(d, err, "cannot add the span columns to job_runs");
            goto done;
        }
        d->spans = true;
    }
    /* A job_runs table of another shape (not the scheduler's) cannot be used. */
    if (sqlite3_prepare_v2(d->db, "SELECT scheduled_us, status, message FROM job_runs LIMIT 0", -1,
                           &q, NULL) != SQLITE_OK) {
        st = db_fail(d, err, "job_runs is not the scheduler's table");
    }
    sqlite3_finalize(q);
done:
    if (st != TM_OK) {
        tm__sched_db_close(d);
        return st;
    }
    *out = d;
    return TM_OK;
}

void tm__sched_db_close(tm__sched_db *d)
{
    if (!d) {
        return;
    }
    sqlite3_close(d->db);
    tm_free(d);
}

static tm_status exec(tm__sched_db *d, const char *sql, tm_err *err)
{
    if (sqlite3_exec(d->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        return db_fail(d, err, sql);
    }
    return TM_OK;
}

tm_status tm__sched_db_fast(tm__sched_db *d, tm_err *err)
{
    return exec(d, "PRAGMA synchronous=OFF", err);
}

tm_status tm__sched_db_begin(tm__sched_db *d, tm_err *err)
{
    return exec(d, "BEGIN IMMEDIATE", err);
}

tm_status tm__sched_db_commit(tm__sched_db *d, tm_err *err)
{
    return exec(d, "COMMIT", err);
}

void tm__sched_db_rollback(tm__sched_db *d)
{
    sqlite3_exec(d->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Prepares sql, binds "i" (int64), "d" (double), "s" (text, NULL ok) in
 * order, steps once. With `row`, the statement is left for the caller. */
static tm_status run(tm__sched_db *d, const char *sql, const char *types, const void *const *args,
                     sqlite3_stmt **row, tm_err *err)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(d->db, sql, -1, &q, NULL) != SQLITE_OK) {
        return db_fail(d, err, "prepare");
    }
    for (int i = 0; types[i]; i++) {
        if (types[i] == 'i') {
            sqlite3_bind_int64(q, i + 1, *(const int64_t *)args[i]);
        } else if (types[i] == 'd') {
            sqlite3_bind_double(q, i + 1, *(const double *)args[i]);
        } else {
            sqlite3_bind_text(q, i + 1, (const char *)args[i], -1, SQLITE_TRANSIENT);
        }
    }
    int rc = sqlite3_step(q);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        tm_status st = db_fail(d, err, "write job_runs");
        sqlite3_finalize(q);
        return st;
    }
    if (row) {
        *row = q;
    } else {
        sqlite3_finalize(q);
    }
    return TM_OK;
}

tm_status tm__sched_db_insert(tm__sched_db *d, const char *job, tm_sched_time fire,
                              const char *fire_iso, const char *status, const char *message,
                              int64_t *id, tm_err *err)
{
    const void *args[] = {job, fire_iso, &fire, status, message ? message : ""};
    tm_status st = run(d,
                       "INSERT INTO job_runs (job, scheduled, scheduled_us, status, message)"
                       " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (job, scheduled_us) DO NOTHING",
                       "ssiss", args, NULL, err);
    *id = st == TM_OK && sqlite3_changes(d->db) == 1 ? sqlite3_last_insert_rowid(d->db) : 0;
    return st;
}

tm_status tm__sched_db_insert_span(tm__sched_db *d, const char *job, tm_sched_time first,
                                   const char *first_iso, tm_sched_time last, const char *last_iso,
                                   int64_t n_fires, const char *status, const char *message,
                                   int64_t *id, tm_err *err)
{
    if (n_fires == 1) {
        return tm__sched_db_insert(d, job, first, first_iso, status, message, id, err);
    }
    const void *args[] = {job,      first_iso, &first, status, message ? message : "",
                          &n_fires, last_iso,  &last};
    tm_status st = run(d,
                       "INSERT INTO job_runs (job, scheduled, scheduled_us, status, message, fires,"
                       " last_scheduled, last_scheduled_us) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
                       " ON CONFLICT (job, scheduled_us) DO NOTHING",
                       "ssissisi", args, NULL, err);
    *id = st == TM_OK && sqlite3_changes(d->db) == 1 ? sqlite3_last_insert_rowid(d->db) : 0;
    return st;
}

tm_status tm__sched_db_started(tm__sched_db *d, int64_t id, tm_sched_time start,
                               const char *start_iso, double delay_s, int64_t pid,
                               int64_t pid_start, tm_err *err)
{
    const void *args[] = {&id, start_iso, &start, &delay_s, &pid, &pid_start};
    return run(d,
               "UPDATE job_runs SET status = 'running', started = ?2, started_us = ?3,"
               " delay_s = ?4, pid = ?5, pid_start = ?6 WHERE id = ?1",
               "isidii", args, NULL, err);
}

tm_status tm__sched_db_finish(tm__sched_db *d, int64_t id, const char *status, tm_sched_time end,
                              const char *end_iso, int exit_code, const char *message,
                              const char *output, tm_err *err)
{
    int64_t code = exit_code;
    const void *args[] = {
            &id, status, end_iso, &end, &code, message ? message : "", output ? output : ""};
    return run(d,
               "UPDATE job_runs SET status = ?2, ended = ?3, ended_us = ?4,"
               " exit_code = CASE WHEN ?5 < -1 THEN NULL ELSE ?5 END, message = ?6,"
               " output = ?7 WHERE id = ?1",
               "issiiss", args, NULL, err);
}

tm_status tm__sched_db_unfinished(tm__sched_db *d,
                                  void (*fn)(void *ctx, int64_t id, const char *status, int64_t pid,
                                             int64_t pid_start),
                                  void *ctx, tm_err *err)
{
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(d->db,
                           "SELECT id, status, coalesce(pid, 0), coalesce(pid_start, 0)"
                           " FROM job_runs WHERE status IN ('waiting', 'running') ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK) {
        return db_fail(d, err, "read job_runs");
    }
    int rc = SQLITE_DONE;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        fn(ctx, sqlite3_column_int64(q, 0), (const char *)sqlite3_column_text(q, 1),
           sqlite3_column_int64(q, 2), sqlite3_column_int64(q, 3));
    }
    sqlite3_finalize(q);
    return rc == SQLITE_DONE ? TM_OK : db_fail(d, err, "read job_runs");
}

static tm_status one_int(tm__sched_db *d, const char *sql, const char *job, int64_t *v, bool *null,
                         tm_err *err)
{
    sqlite3_stmt *q = NULL;
    const void *args[] = {job};
    tm_status st = run(d, sql, "s", args, &q, err);
    if (st != TM_OK) {
        return st;
    }
    *null = sqlite3_column_type(q, 0) == SQLITE_NULL;
    *v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return TM_OK;
}

tm_status tm__sched_db_last(tm__sched_db *d, const char *job, tm_sched_time *last_fire,
                            tm_sched_time *last_success, tm_err *err)
{
    bool null;
    int64_t v;
    tm_status st = one_int(d,
                           d->spans ? "SELECT max(coalesce(last_scheduled_us, scheduled_us))"
                                      " FROM job_runs WHERE job = ?1"
                                    : "SELECT max(scheduled_us) FROM job_runs WHERE job = ?1",
                           job, &v, &null, err);
    *last_fire = st == TM_OK && !null ? v : TM_SCHED_NEVER;
    if (st == TM_OK) {
        st = one_int(d,
                     "SELECT max(scheduled_us) FROM job_runs WHERE job = ?1 AND status = 'success'",
                     job, &v, &null, err);
    }
    *last_success = st == TM_OK && !null ? v : TM_SCHED_NEVER;
    return st;
}

tm_status tm__sched_db_estimate(tm__sched_db *d, const char *job, double *seconds, tm_err *err)
{
    bool null;
    int64_t v;
    tm_status st = one_int(d,
                           "SELECT max(ended_us - started_us) FROM (SELECT ended_us, started_us"
                           " FROM job_runs WHERE job = ?1 AND status = 'success'"
                           " ORDER BY scheduled_us DESC LIMIT 20)",
                           job, &v, &null, err);
    *seconds = st == TM_OK && !null ? (double)v / 1e6 : -1;
    return st;
}

static const char *col(sqlite3_stmt *q, int i)
{
    const char *s = (const char *)sqlite3_column_text(q, i);
    return s ? s : "";
}

tm_status tm__sched_db_history(tm__sched_db *d, const char *job, long limit, tm_sched_row_fn fn,
                               void *ctx, tm_err *err)
{
    sqlite3_stmt *q = NULL;
    const char *sql =
            d->spans ? "SELECT * FROM (SELECT id, job, scheduled, started, ended, status, message,"
                       " coalesce(delay_s, -1), coalesce(exit_code, -1), scheduled_us, fires,"
                       " last_scheduled FROM job_runs"
                       " WHERE ?1 IS NULL OR job = ?1 ORDER BY scheduled_us DESC, id DESC LIMIT ?2)"
                       " ORDER BY scheduled_us, id"
                     : "SELECT * FROM (SELECT id, job, scheduled, started, ended, status, message,"
                       " coalesce(delay_s, -1), coalesce(exit_code, -1), scheduled_us, 1, NULL"
                       " FROM job_runs"
                       " WHERE ?1 IS NULL OR job = ?1 ORDER BY scheduled_us DESC, id DESC LIMIT ?2)"
                       " ORDER BY scheduled_us, id";
    if (sqlite3_prepare_v2(d->db, sql, -1, &q, NULL) != SQLITE_OK) {
        return db_fail(d, err, "read job_runs");
    }
    if (job) {
        sqlite3_bind_text(q, 1, job, -1, SQLITE_TRANSIENT);
    }
    sqlite3_bind_int64(q, 2, limit > 0 ? limit : -1);
    tm_status st = TM_OK;
    int rc = SQLITE_DONE;
    while (st == TM_OK && (rc = sqlite3_step(q)) == SQLITE_ROW) {
        tm_sched_run_row r;
        r.id = sqlite3_column_int64(q, 0);
        r.job = col(q, 1);
        r.scheduled = col(q, 2);
        r.started = col(q, 3);
        r.ended = col(q, 4);
        r.status = col(q, 5);
        r.message = col(q, 6);
        r.delay_s = sqlite3_column_double(q, 7);
        r.exit_code = sqlite3_column_int(q, 8);
        r.fires = sqlite3_column_int64(q, 10);
        r.last_scheduled = col(q, 11);
        st = fn(ctx, &r, err);
    }
    if (st == TM_OK && rc != SQLITE_DONE) {
        st = db_fail(d, err, "read job_runs");
    }
    sqlite3_finalize(q);
    return st;
}

tm_status tm_sched_history(const char *db, const char *job, long limit, tm_sched_row_fn fn,
                           void *ctx, tm_err *err)
{
    tm__sched_db *d;
    tm_status st = tm__sched_db_open(db, true, &d, err);
    if (st != TM_OK || !d) {
        return st;
    }
    st = tm__sched_db_history(d, job, limit, fn, ctx, err);
    tm__sched_db_close(d);
    return st;
}
