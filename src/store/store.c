/* The store handle: open with WAL and foreign keys, schema migrations
 * driven by PRAGMA user_version (each step one transaction that also bumps
 * the version), transactions, dates, and the SQLite error helpers. The
 * typed reads and writes live in store_market.c, store_signals.c and
 * store_registry.c. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "store_int.h"

/* Migration k (0-based) moves the schema from version k to k + 1. Never
 * edit a shipped step: append a new one. */
static const char *const migrations[TM_STORE_SCHEMA_VERSION] = {
        /* 1: the tables */
        "CREATE TABLE prices ("
        " symbol TEXT NOT NULL, date TEXT NOT NULL,"
        " open REAL, high REAL, low REAL,"
        " close REAL NOT NULL CHECK (close > 0),"
        " volume REAL NOT NULL CHECK (volume >= 0),"
        " PRIMARY KEY (symbol, date)) WITHOUT ROWID;"
        "CREATE TABLE universe ("
        " symbol TEXT PRIMARY KEY, active INTEGER NOT NULL DEFAULT 1);"
        "CREATE TABLE job_results ("
        " id INTEGER PRIMARY KEY, job TEXT NOT NULL, as_of TEXT NOT NULL,"
        " started_at TEXT NOT NULL, finished_at TEXT NOT NULL,"
        " status TEXT NOT NULL CHECK (status IN ('ok','skipped','failed')),"
        " summary TEXT NOT NULL DEFAULT '');"
        "CREATE TABLE models ("
        " id INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " kind TEXT NOT NULL CHECK (kind IN ('base','fold','meta')),"
        " slot INTEGER NOT NULL, family TEXT NOT NULL, format TEXT NOT NULL,"
        " file TEXT NOT NULL, trained_at TEXT NOT NULL, as_of TEXT NOT NULL,"
        " train_until TEXT, fold_from TEXT, fold_to TEXT,"
        " generation INTEGER NOT NULL DEFAULT 0, metrics TEXT NOT NULL DEFAULT '{}',"
        " active INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE signals ("
        " id INTEGER PRIMARY KEY,"
        " symbol TEXT NOT NULL REFERENCES universe(symbol),"
        " date TEXT NOT NULL,"
        " label INTEGER NOT NULL CHECK (label IN (0,1,2)),"
        " p_sell REAL NOT NULL, p_hold REAL NOT NULL, p_buy REAL NOT NULL,"
        " price REAL NOT NULL,"
        " model_id INTEGER REFERENCES models(id),"
        " run_id INTEGER REFERENCES job_results(id),"
        " UNIQUE (symbol, date));"
        "CREATE TABLE signal_outcomes ("
        " signal_id INTEGER PRIMARY KEY REFERENCES signals(id) ON DELETE CASCADE,"
        " exit_date TEXT NOT NULL, exit_price REAL NOT NULL,"
        " ret REAL NOT NULL, actual INTEGER NOT NULL CHECK (actual IN (0,1,2)),"
        " correct INTEGER NOT NULL);"
        "CREATE TABLE training_samples ("
        " id INTEGER PRIMARY KEY, symbol TEXT NOT NULL, date TEXT NOT NULL,"
        " label INTEGER NOT NULL CHECK (label IN (0,1,2)),"
        " fwd_return REAL NOT NULL, n_features INTEGER NOT NULL,"
        " features BLOB NOT NULL,"
        " source INTEGER NOT NULL CHECK (source IN (0,1)),"
        " signal_id INTEGER REFERENCES signals(id) ON DELETE SET NULL,"
        " UNIQUE (symbol, date));"
        "CREATE TABLE meta_predictions ("
        " sample_id INTEGER PRIMARY KEY"
        "  REFERENCES training_samples(id) ON DELETE CASCADE,"
        " n_probs INTEGER NOT NULL, oof BLOB NOT NULL, insample BLOB NOT NULL);",
        /* 2: indexes for the jobs' queries */
        "CREATE INDEX prices_date ON prices(date);"
        "CREATE INDEX signals_date ON signals(date);"
        "CREATE INDEX samples_date ON training_samples(date);"
        "CREATE INDEX models_kind ON models(kind, slot, active);"
        "CREATE INDEX job_results_job ON job_results(job, status);",
        /* 3: decision rules kept with their meta models; what the rule
         * decided for each signal (earlier rows: argmax, no calibration) */
        "CREATE TABLE decision_rules ("
        " model_id INTEGER PRIMARY KEY REFERENCES models(id) ON DELETE CASCADE,"
        " rule TEXT NOT NULL);"
        "ALTER TABLE signals ADD COLUMN decision INTEGER NOT NULL DEFAULT 0"
        "  CHECK (decision IN (0,1));"
        "ALTER TABLE signals ADD COLUMN capped INTEGER NOT NULL DEFAULT 0"
        "  CHECK (capped IN (0,1));"
        "ALTER TABLE signals ADD COLUMN c_sell REAL;"
        "ALTER TABLE signals ADD COLUMN c_hold REAL;"
        "ALTER TABLE signals ADD COLUMN c_buy REAL;",
        /* 4: database-wide settings; "labels" names the labelling of the
         * training samples and outcomes. Every label written before this
         * version came from the absolute thresholds. */
        "CREATE TABLE settings ("
        " key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
        "INSERT INTO settings (key, value) SELECT 'labels', 'absolute'"
        " WHERE EXISTS (SELECT 1 FROM training_samples)"
        " OR EXISTS (SELECT 1 FROM signal_outcomes);",
};

tm_status tm__store_fail(tm_store *s, tm_err *err, const char *what)
{
    /* A full disk or an I/O error: the operating system's reason is the
     * one to show ("No space left on device"), not SQLite's summary. */
    int code = sqlite3_errcode(s->db) & 0xff;
    int sys = sqlite3_system_errno(s->db);
    if ((code == SQLITE_FULL || code == SQLITE_IOERR || code == SQLITE_CANTOPEN) && sys != 0) {
        return TM_ERR(err, TM_E_DB, s->path, 0, NULL, "%s: %s (%s)", what, strerror(sys),
                      sqlite3_errmsg(s->db));
    }
    return TM_ERR(err, TM_E_DB, s->path, 0, NULL, "%s: %s", what, sqlite3_errmsg(s->db));
}

tm_status tm__store_prepare(tm_store *s, const char *sql, sqlite3_stmt **out, tm_err *err)
{
    *out = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, out, NULL) != SQLITE_OK) {
        return tm__store_fail(s, err, "prepare");
    }
    return TM_OK;
}

int tm__store_bind_date(sqlite3_stmt *st, int col, int32_t ymd)
{
    char buf[16];
    return sqlite3_bind_text(st, col, tm_store_date_format(ymd, buf), -1, SQLITE_TRANSIENT);
}

int32_t tm__store_col_date(sqlite3_stmt *st, int col)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    int32_t d = 0;
    if (!t || !tm_store_date_parse(t, &d)) {
        return 0;
    }
    return d;
}

void tm__store_col_text(sqlite3_stmt *st, int col, char *buf, size_t cap)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    snprintf(buf, cap, "%s", t ? t : "");
}

double tm__store_col_real(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL) {
        return NAN;
    }
    return sqlite3_column_double(st, col);
}

bool tm_store_date_parse(const char *s, int32_t *out)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') {
        return false;
    }
    for (int i = 0; i < 10; i++) {
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) {
            return false;
        }
    }
    int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    if (y < 1900 || m < 1 || m > 12 || d < 1 || d > tm_days_in_month(y, m)) {
        return false;
    }
    *out = y * 10000 + m * 100 + d;
    return true;
}

char *tm_store_date_format(int32_t ymd, char *buf)
{
    unsigned u = ymd > 0 ? (unsigned)ymd : 0;
    unsigned y = u / 10000 % 10000, m = u / 100 % 100, d = u % 100;
    snprintf(buf, 11, "%04u-%02u-%02u", y, m, d);
    return buf;
}

tm_status tm_store_exec(tm_store *s, const char *sql, tm_err *err)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        return tm__store_fail(s, err, "exec");
    }
    return TM_OK;
}

tm_status tm_store_query_int(tm_store *s, const char *sql, int64_t *out, tm_err *err)
{
    sqlite3_stmt *st = NULL;
    *out = 0;
    tm_status rc = tm__store_prepare(s, sql, &st, err);
    if (rc != TM_OK) {
        return rc;
    }
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
    } else if (r != SQLITE_DONE) {
        rc = tm__store_fail(s, err, "query");
    }
    sqlite3_finalize(st);
    return rc;
}

tm_status tm_store_setting_get(tm_store *s, const char *key, char *buf, size_t cap, bool *found,
                               tm_err *err)
{
    sqlite3_stmt *st = NULL;
    *found = false;
    if (cap) {
        buf[0] = 0;
    }
    tm_status rc = tm__store_prepare(s, "SELECT value FROM settings WHERE key = ?1", &st, err);
    if (rc != TM_OK) {
        return rc;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        size_t len = v ? strlen(v) : 0;
        if (len >= cap) {
            rc = TM_ERR(err, TM_E_RANGE, s->path, 0, key,
                        "expected a setting of at most %zu bytes, found %zu", cap ? cap - 1 : 0,
                        len);
        } else {
            memcpy(buf, v ? v : "", len + 1);
            *found = true;
        }
    } else if (r != SQLITE_DONE) {
        rc = tm__store_fail(s, err, "read setting");
    }
    sqlite3_finalize(st);
    return rc;
}

tm_status tm_store_setting_put(tm_store *s, const char *key, const char *value, tm_err *err)
{
    sqlite3_stmt *st = NULL;
    tm_status rc = tm__store_prepare(s,
                                     "INSERT INTO settings (key, value) VALUES (?1, ?2)"
                                     " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                                     &st, err);
    if (rc != TM_OK) {
        return rc;
    }
    sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = tm__store_fail(s, err, "write setting");
    }
    sqlite3_finalize(st);
    return rc;
}

int tm_store_schema_version(tm_store *s)
{
    int64_t v = 0;
    if (tm_store_query_int(s, "PRAGMA user_version", &v, NULL) != TM_OK) {
        return -1;
    }
    return (int)v;
}

const char *tm_store_path(const tm_store *s)
{
    return s->path;
}

tm_status tm_store_begin(tm_store *s, tm_err *err)
{
    if (s->in_tx) {
        return TM_ERR(err, TM_E_INVALID, s->path, 0, NULL, "a transaction is already open");
    }
    if (s->read_only) {
        return TM_ERR(err, TM_E_INVALID, s->path, 0, NULL,
                      "cannot write: the database was opened read-only");
    }
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        int code = sqlite3_errcode(s->db);
        tm_status st = tm__store_fail(s, err, "begin");
        if (code == SQLITE_BUSY && err && err->status == TM_E_DB) {
            err->status = TM_E_BUSY;
            st = TM_E_BUSY;
        }
        return st;
    }
    s->in_tx = true;
    return TM_OK;
}

tm_status tm_store_commit(tm_store *s, tm_err *err)
{
    if (!s->in_tx) {
        return TM_ERR(err, TM_E_INVALID, s->path, 0, NULL, "no transaction is open");
    }
    if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        tm_status st = tm__store_fail(s, err, "commit");
        tm_store_rollback(s);
        return st;
    }
    s->in_tx = false;
    return TM_OK;
}

void tm_store_rollback(tm_store *s)
{
    if (s && s->in_tx) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        s->in_tx = false;
    }
}

bool tm_store_in_transaction(const tm_store *s)
{
    return s->in_tx;
}

/* Applies every migration above the database's version, one transaction
 * each, so a crash leaves the schema at a whole version. */
static tm_status migrate(tm_store *s, tm_err *err)
{
    int v = tm_store_schema_version(s);
    if (v < 0) {
        return tm__store_fail(s, err, "read schema version");
    }
    if (v > TM_STORE_SCHEMA_VERSION) {
        return TM_ERR(err, TM_E_FORMAT, s->path, 0, "user_version",
                      "expected a schema version <= %d, found %d (database from a newer "
                      "turbomode)",
                      TM_STORE_SCHEMA_VERSION, v);
    }
    for (; v < TM_STORE_SCHEMA_VERSION; v++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
        tm_status st = tm_store_begin(s, err);
        if (st != TM_OK) {
            return st;
        }
        if (sqlite3_exec(s->db, migrations[v], NULL, NULL, NULL) != SQLITE_OK ||
            sqlite3_exec(s->db, bump, NULL, NULL, NULL) != SQLITE_OK) {
            char what[64];
            snprintf(what, sizeof what, "migration to version %d", v + 1);
            st = tm__store_fail(s, err, what);
            tm_store_rollback(s);
            return st;
        }
        st = tm_store_commit(s, err);
        if (st != TM_OK) {
            return st;
        }
    }
    return TM_OK;
}

/* Allocates s and opens the connection with flags; an empty path (SQLite
 * would open a temporary database) and, read-only, a missing file are
 * refused with the reason. */
static tm_status open_conn(const char *path, int flags, tm_store **out, tm_err *err)
{
    *out = NULL;
    if (!path || !*path) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, "--db", "expected a database path, found \"\"");
    }
    struct stat sb;
    if (!(flags & SQLITE_OPEN_CREATE) && stat(path, &sb) != 0) {
        return TM_ERR(err, TM_E_IO, path, 0, NULL, "cannot open database: %s", strerror(errno));
    }
    tm_store *s = tm_calloc(1, sizeof *s);
    if (!s || !(s->path = tm_strdup(path))) {
        tm_free(s);
        return TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory opening the database");
    }
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        tm_status st = TM_ERR(err, TM_E_DB, path, 0, NULL, "cannot open database: %s",
                              s->db ? sqlite3_errmsg(s->db) : "out of memory");
        tm_store_close(s);
        return st;
    }
    sqlite3_busy_timeout(s->db, 10000);
    *out = s;
    return TM_OK;
}

tm_status tm_store_open_readonly(const char *path, tm_store **out, tm_err *err)
{
    tm_store *s = NULL;
    tm_status st = open_conn(path, SQLITE_OPEN_READONLY, &s, err);
    if (st != TM_OK) {
        return st;
    }
    int v = tm_store_schema_version(s);
    if (v < 0) {
        st = tm__store_fail(s, err, "read schema version");
    } else if (v != TM_STORE_SCHEMA_VERSION) {
        st = TM_ERR(err, TM_E_FORMAT, path, 0, "user_version",
                    "expected a TurboMode database of schema version %d, found %d%s",
                    TM_STORE_SCHEMA_VERSION, v,
                    v == 0                        ? " (not a TurboMode database, or an empty one)"
                    : v < TM_STORE_SCHEMA_VERSION ? " (run a job on it once to migrate it)"
                                                  : " (database from a newer turbomode)");
    }
    if (st != TM_OK) {
        tm_store_close(s);
        return st;
    }
    s->read_only = true;
    *out = s;
    return TM_OK;
}

tm_status tm_store_open(const char *path, tm_store **out, tm_err *err)
{
    *out = NULL;
    tm_store *s = NULL;
    tm_status st = open_conn(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &s, err);
    if (st != TM_OK) {
        return st;
    }
    /* WAL: readers never block the writer; synchronous=FULL so a commit
     * survives power loss, not only a killed process. A 64 MiB page cache
     * (default 2 MiB) keeps a retrain's rewrite of meta_predictions from
     * reading its own pages back from the file. */
    if (sqlite3_exec(s->db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     " PRAGMA foreign_keys=ON; PRAGMA cache_size=-65536;",
                     NULL, NULL, NULL) != SQLITE_OK) {
        st = tm__store_fail(s, err, "configure database");
        goto done;
    }
    st = migrate(s, err);
    if (st != TM_OK) {
        goto done;
    }
    *out = s;
    s = NULL;
done:
    tm_store_close(s);
    return st;
}

void tm_store_close(tm_store *s)
{
    if (!s) {
        return;
    }
    tm_store_rollback(s);
    sqlite3_close_v2(s->db);
    tm_free(s->path);
    tm_free(s);
}
