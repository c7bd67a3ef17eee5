/* Typed reads and writes of market data and training data: prices,
 * universe, training samples (features kept as a float32 BLOB) and meta
 * predictions. Every read takes an as_of cut-off so a job never sees data
 * after its simulated today. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "store_int.h"

static int bind_real_or_null(sqlite3_stmt *st, int col, double v)
{
    return isnan(v) ? sqlite3_bind_null(st, col) : sqlite3_bind_double(st, col, v);
}

tm_status tm_store_prices_upsert(tm_store *s, const tm_store_price *rows, size_t n, tm_err *err)
{
    sqlite3_stmt *st = NULL;
    tm_status rc = tm__store_prepare(s,
                                     "INSERT OR REPLACE INTO prices"
                                     " (symbol, date, open, high, low, close, volume)"
                                     " VALUES (?,?,?,?,?,?,?)",
                                     &st, err);
    for (size_t i = 0; rc == TM_OK && i < n; i++) {
        const tm_store_price *p = &rows[i];
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, p->symbol, -1, SQLITE_STATIC);
        tm__store_bind_date(st, 2, p->date);
        bind_real_or_null(st, 3, p->open);
        bind_real_or_null(st, 4, p->high);
        bind_real_or_null(st, 5, p->low);
        sqlite3_bind_double(st, 6, p->close);
        sqlite3_bind_double(st, 7, p->volume);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = tm__store_fail(s, err, "insert price");
        }
    }
    sqlite3_finalize(st);
    return rc;
}

void tm_store_prices_free(tm_store_prices *p)
{
    if (!p) {
        return;
    }
    tm_free(p->symbols);
    tm_free(p->start);
    tm_free(p->date);
    tm_free(p->open);
    tm_free(p->high);
    tm_free(p->low);
    tm_free(p->close);
    tm_free(p->volume);
    tm_free(p);
}

/* Allocates the row arrays of p for n rows and k symbols. */
static bool prices_alloc(tm_store_prices *p, size_t n, size_t k)
{
    size_t m = n ? n : 1;
    p->symbols = tm_calloc(k ? k : 1, sizeof *p->symbols);
    p->start = tm_calloc(k + 1, sizeof *p->start);
    p->date = tm_malloc_n(m, sizeof *p->date);
    p->open = tm_malloc_n(m, sizeof(double));
    p->high = tm_malloc_n(m, sizeof(double));
    p->low = tm_malloc_n(m, sizeof(double));
    p->close = tm_malloc_n(m, sizeof(double));
    p->volume = tm_malloc_n(m, sizeof(double));
    return p->symbols && p->start && p->date && p->open && p->high && p->low && p->close &&
           p->volume;
}

#define PRICE_FILTER                                                                               \
    " FROM prices WHERE (?1 = '' OR date <= ?1) AND"                                               \
    " (CASE WHEN ?2 IS NULL THEN symbol IN"                                                        \
    "  (SELECT symbol FROM universe WHERE active) ELSE symbol = ?2 END)"

tm_status tm_store_prices_load(tm_store *s, const char *symbol, int32_t as_of,
                               tm_store_prices **out, tm_err *err)
{
    *out = NULL;
    sqlite3_stmt *cnt = NULL, *st = NULL;
    tm_store_prices *p = tm_calloc(1, sizeof *p);
    tm_status rc = p ? TM_OK : TM_ERR(err, TM_E_NOMEM, s->path, 0, NULL, "out of memory");
    if (rc == TM_OK) {
        rc = tm__store_prepare(s, "SELECT count(*), count(DISTINCT symbol)" PRICE_FILTER, &cnt,
                               err);
    }
    if (rc == TM_OK) {
        rc = tm__store_prepare(s,
                               "SELECT symbol, date, open, high, low, close, volume" PRICE_FILTER
                               " ORDER BY symbol, date",
                               &st, err);
    }
    if (rc != TM_OK) {
        goto done;
    }
    for (int k = 0; k < 2; k++) {
        sqlite3_stmt *q = k ? st : cnt;
        if (as_of > 0) {
            tm__store_bind_date(q, 1, as_of);
        } else {
            sqlite3_bind_text(q, 1, "", -1, SQLITE_STATIC);
        }
        if (symbol) {
            sqlite3_bind_text(q, 2, symbol, -1, SQLITE_STATIC);
        }
    }
    if (sqlite3_step(cnt) != SQLITE_ROW) {
        rc = tm__store_fail(s, err, "count prices");
        goto done;
    }
    size_t n = (size_t)sqlite3_column_int64(cnt, 0);
    size_t k = (size_t)sqlite3_column_int64(cnt, 1);
    if (!prices_alloc(p, n, k)) {
        rc = TM_ERR(err, TM_E_NOMEM, s->path, 0, NULL, "out of memory loading %zu prices", n);
        goto done;
    }
    size_t i = 0, sym = 0;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW && i < n) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if (sym == 0 || strcmp(p->symbols[sym - 1], name ? name : "") != 0) {
            if (sym == k) {
                break; /* the table changed between the two queries */
            }
            snprintf(p->symbols[sym], TM_STORE_SYMBOL_MAX, "%s", name ? name : "");
            p->start[sym++] = i;
        }
        p->date[i] = tm__store_col_date(st, 1);
        p->open[i] = tm__store_col_real(st, 2);
        p->high[i] = tm__store_col_real(st, 3);
        p->low[i] = tm__store_col_real(st, 4);
        p->close[i] = sqlite3_column_double(st, 5);
        p->volume[i] = sqlite3_column_double(st, 6);
        i++;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE) {
        rc = tm__store_fail(s, err, "read prices");
        goto done;
    }
    p->n_rows = i;
    p->n_symbols = sym;
    p->start[sym] = i;
    *out = p;
    p = NULL;
done:
    sqlite3_finalize(cnt);
    sqlite3_finalize(st);
    tm_store_prices_free(p);
    return rc;
}

tm_status tm_store_prices_last_date(tm_store *s, int32_t as_of, int32_t *out, tm_err *err)
{
    sqlite3_stmt *st = NULL;
    *out = 0;
    tm_status rc = tm__store_prepare(s,
                                     "SELECT max(date) FROM prices WHERE date <= ?1 AND symbol IN"
                                     " (SELECT symbol FROM universe WHERE active)",
                                     &st, err);
    if (rc != TM_OK) {
        return rc;
    }
    tm__store_bind_date(st, 1, as_of > 0 ? as_of : 99991231);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *out = tm__store_col_date(st, 0);
    } else {
        rc = tm__store_fail(s, err, "read last price date");
    }
    sqlite3_finalize(st);
    return rc;
}

tm_status tm_store_trading_dates(tm_store *s, int32_t as_of, int32_t **out, size_t *n, tm_err *err)
{
    sqlite3_stmt *st = NULL;
    int32_t *d = NULL;
    size_t k = 0, cap = 0;
    *out = NULL;
    *n = 0;
    tm_status rc = tm__store_prepare(s,
                                     "SELECT DISTINCT date FROM prices WHERE date <= ?1 AND"
                                     " symbol IN (SELECT symbol FROM universe WHERE active)"
                                     " ORDER BY date",
                                     &st, err);
    if (rc != TM_OK) {
        return rc;
    }
    tm__store_bind_date(st, 1, as_of > 0 ? as_of : 99991231);
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (k == cap) {
            size_t nc = cap ? cap * 2 : 1024;
            int32_t *nd = tm_realloc_n(d, nc, sizeof *nd);
            if (!nd) {
                rc = TM_ERR(err, TM_E_NOMEM, s->path, 0, NULL, "out of memory");
                goto done;
            }
            d = nd;
            cap = nc;
        }
        d[k++] = tm__store_col_date(st, 0);
    }
    if (r != SQLITE_DONE) {
        rc = tm__store_fail(s, err, "read trading dates");
        goto done;
    }
    *out = d;
    *n = k;
    d = NULL;
done:
    tm_free(d);
    sqlite3_finalize(st);
    return rc;
}

tm_status tm_store_universe_add(tm_store *s, const char *const *symbols, size_t n, tm_err *err)
{
    sqlite3_stmt *st = NULL;
    tm_status rc = tm__store_prepare(s,
                                     "INSERT INTO universe (symbol, active) VALUES (?, 1)"
                                     " ON CONFLICT(symbol) DO UPDATE SET active = 1",
                                     &st, err);
    for (size_t i = 0; rc == TM_OK && i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, symbols[i], -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = tm__store_fail(s, err, "insert universe symbol");
        }
    }
    sqlite3_finalize(st);
    return rc;
}

tm_status tm_store_universe_count(tm_store *s, size_t *out, tm_err *err)
{
    int64_t v = 0;
    tm_status rc = tm_store_query_int(s, "SELECT count(*) FROM universe WHERE active", &v, err);
    *out = (size_t)v;
    return rc;
}

tm_status tm_store_samples_insert(tm_store *s, const tm_store_sample_row *rows, size_t n,
                                  size_t n_features, size_t *n_inserted, tm_err *err)
{
    sqlite3_stmt *st = NULL;
    size_t added = 0;
    tm_status rc = tm__store_prepare(s,
                                     "INSERT OR IGNORE INTO training_samples"
                                     " (symbol, date, label, fwd_return, n_features, features,"
                                     " source, signal_id) VALUES (?,?,?,?,?,?,?,?)",
                                     &st, err);
    for (size_t i = 0; rc == TM_OK && i < n; i++) {
        const tm_store_sample_row *r = &rows[i];
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, r->symbol, -1, SQLITE_STATIC);
        tm__store_bind_date(st, 2, r->date);
        sqlite3_bind_int(st, 3, r->label);
        sqlite3_bind_double(st, 4, r->fwd_return);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)n_features);
        sqlite3_bind_blob(st, 6, r->features, (int)(n_features * sizeof(float)), SQLITE_STATIC);
        sqlite3_bind_int(st, 7, (int)r->source);
        if (r->signal_id > 0) {
            sqlite3_bind_int64(st, 8, r->signal_id);
        } else {
            sqlite3_bind_null(st, 8);
        }
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = tm__store_fail(s, err, "insert training sample");
        } else {
            added += (size_t)sqlite3_changes(s->db);
        }
    }
    sqlite3_finalize(st);
    if (n_inserted) {
        *n_inserted = rc == TM_OK ? added : 0;
    }
    return rc;
}

void tm_store_samples_free(tm_store_samples *p)
{
    if (!p) {
        return;
    }
    tm_free(p->id);
    tm_free(p->date);
    tm_free(p->label);
    tm_free(p->fwd_return);
    tm_free(p->X);
    tm_free(p->symbol);
    tm_free(p);
}

tm_status tm_store_samples_load(tm_store *s, int32_t as_of, tm_store_samples **out, tm_err *err)
{
    *out = NULL;
    sqlite3_stmt *st = NULL;
    tm_store_samples *p = tm_calloc(1, sizeof *p);
    int64_t n = 0, width = 0;
    char sql[256];
    char day[16];
    tm_store_date_format(as_of > 0 ? as_of : 99991231, day);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM training_samples WHERE date <= '%s'", day);
    tm_status rc = p ? TM_OK : TM_ERR(err, TM_E_NOMEM, s->path, 0, NULL, "out of memory");
    if (rc == TM_OK) {
        rc = tm_store_query_int(s, sql, &n, err);
    }
    if (rc == TM_OK) {
        snprintf(sql, sizeof sql, "SELECT max(n_features) FROM training_samples WHERE date <= '%s'",
                 day);
        rc = tm_store_query_int(s, sql, &width, err);
    }
    if (rc == TM_OK) {
        rc = tm__store_prepare(s,
                               "SELECT id, symbol, date, label, fwd_return, n_features, features"
                               " FROM training_samples WHERE date <= ?1 ORDER BY date, symbol",
                               &st, err);
    }
    if (rc != TM_OK) {
        goto done;
    }
    size_t m = n > 0 ? (size_t)n : 1, w = (size_t)width;
    p->id = tm_malloc_n(m, sizeof *p->id);
    p->date = tm_malloc_n(m, sizeof *p->date);
    p->label = tm_malloc_n(m, sizeof *p->label);
    p->fwd_return = tm_malloc_n(m, sizeof *p->fwd_return);
    p->symbol = tm_malloc_n(m, sizeof *p->symbol);
    p->X = tm_malloc_n(m, (w ? w : 1) * sizeof(float));
    if (!p->id || !p->date || !p->label || !p->fwd_return || !p->symbol || !p->X) {
        rc = TM_ERR(err, TM_E_NOMEM, s->path, 0, NULL, "out of memory loading %lld samples",
                    (long long)n);
        goto done;
    }
    p->n_features = w;
    tm__store_bind_date(st, 1, as_of > 0 ? as_of : 99991231);
    size_t i = 0;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW && i < m) {
        p->id[i] = sqlite3_column_int64(st, 0);
        tm__store_col_text(st, 1, p->symbol[i], TM_STORE_SYMBOL_MAX);
        p->date[i] = tm__store_col_date(st, 2);
        p->label[i] = sqlite3_column_int(st, 3);
        p->fwd_return[i] = sqlite3_column_double(st, 4);
        size_t nf = (size_t)sqlite3_column_int64(st, 5);
        size_t bytes = (size_t)sqlite3_column_bytes(st, 6);
        if (nf != w || bytes != w * sizeof(float)) {
            rc = TM_ERR(err, TM_E_FORMAT, s->path, 0, "training_samples.features",
                        "expected %zu features, found %zu in sample %lld", w, nf,
                        (long long)p->id[i]);
            goto done;
        }
        memcpy(p->X + i * w, sqlite3_column_blob(st, 6), bytes);
        i++;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE) {
        rc = tm__store_fail(s, err, "read training samples");
        goto done;
    }
    p->n_rows = i;
    *out = p;
    p = NULL;
done:
    sqlite3_finalize(st);
    tm_store_samples_free(p);
    return rc;
}

tm_status tm_store_meta_preds_put(tm_store *s, const int64_t *sample_ids, size_t n,
                                  const float *oof, const float *insample, size_t n_probs,
                                  tm_err *err)
{
    sqlite3_stmt *st = NULL;
    tm_status rc = tm__store_prepare(s,
                                     "INSERT OR REPLACE INTO meta_predictions"
                                     " (sample_id, n_probs, oof, insample) VALUES (?,?,?,?)",
                                     &st, err);
    int bytes = (int)(n_probs * sizeof(float));
    for (size_t i = 0; rc == TM_OK && i < n; i++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, sample_ids[i]);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)n_probs);
        sqlite3_bind_blob(st, 3, oof + i * n_probs, bytes, SQLITE_STATIC);
        sqlite3_bind_blob(st, 4, insample + i * n_probs, bytes, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            rc = tm__store_fail(s, err, "insert meta prediction");
        }
    }
    sqlite3_finalize(st);
    return rc;
}

tm_status tm_store_meta_preds_count(tm_store *s, int64_t *out, tm_err *err)
{
    return tm_store_query_int(s, "SELECT count(*) FROM meta_predictions", out, err);
}

tm_status tm_store_meta_pred_clear(tm_store *s, tm_err *err)
{
    return tm_store_exec(s, "DELETE FROM meta_predictions", err);
}
