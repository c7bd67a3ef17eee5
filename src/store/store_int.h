/* Store internals shared by the files of src/store: the handle and small
 * statement helpers that turn SQLite failures into tm_err messages.
 * Only src/store includes this header. */
#ifndef TM_STORE_INT_H
#define TM_STORE_INT_H

#include <sqlite3.h>

#include <turbomode/store.h>

struct tm_store {
    sqlite3 *db;    /* open connection, owned */
    char *path;     /* database path, owned */
    bool in_tx;     /* inside tm_store_begin .. commit/rollback */
    bool read_only; /* opened by tm_store_open_readonly */
};

/* Records SQLite's current message for s as TM_E_DB (what names the
 * operation, e.g. "insert signal"); returns TM_E_DB. */
tm_status tm__store_fail(tm_store *s, tm_err *err, const char *what);
/* Prepares sql; on failure records the message and returns TM_E_DB. */
tm_status tm__store_prepare(tm_store *s, const char *sql, sqlite3_stmt **out, tm_err *err);
/* Binds a YYYYMMDD date as 'YYYY-MM-DD' text. */
int tm__store_bind_date(sqlite3_stmt *st, int col, int32_t ymd);
/* Reads a 'YYYY-MM-DD' column as YYYYMMDD (0 when NULL or malformed). */
int32_t tm__store_col_date(sqlite3_stmt *st, int col);
/* Copies a text column into buf (size cap), "" when NULL. */
void tm__store_col_text(sqlite3_stmt *st, int col, char *buf, size_t cap);
/* A double column, NaN when NULL. */
double tm__store_col_real(sqlite3_stmt *st, int col);

#endif
