/* Typed reads and writes of what the jobs produce: signals and their
 * outcomes, the model registry (one active model per kind and slot, older
 * versions kept for rollback) and job runs. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "store_int.h"

/* Grows *arr (elements of size sz) so index n fits; false when out of
 * memory (then *arr is unchanged). */
static bool grow(void **arr, size_t *cap, size_t n, size_t sz)
{
    if (n < *cap) {
        return true;
    }
    size_t nc = *cap ? *cap * 2 : 16;
    void *p = tm_realloc_n(*arr, nc, sz);
    if (!p) {
        return false;
    }
    *arr = p;
    *cap = nc;
    return true;
}

#define SIGNAL_COLS                                                                                \
    "SELECT s.id, s.symbol, s.date, s.label, s.p_sell, s.p_hold, s.p_buy, s.price,"                \
    " coalesce(s.model_id, 0), coalesce(s.run_id, 0), s.decision, s.capped, s.c_sell, s.c_hold,"   \
    " s.c_buy"

static void read_signal(sqlite3_stmt *st, tm_store_signal *g)
{
    memset(g, 0, sizeof *g);
    g->id = sqlite3_column_int64(st, 0);
    tm__store_col_text(st, 1, g->symbol, sizeof g->symbol);
    g->date = tm__store_col_date(st, 2);
    g->label = sqlite3_column_int(st, 3);
    for (int k = 0; k < 3; k++) {
        g->prob[k] = sqlite3_column_double(st, 4 + k);
    }
    g->price = sqlite3_column_double(st, 7);
    g->model_id = sqlite3_column_int64(st, 8);
    g->run_id = sqlite3_column_int64(st, 9);
    g->decision = sqlite3_column_int(st, 10) ? TM_STORE_DECIDED_RULE : TM_STORE_DECIDED_ARGMAX;
    g->capped = sqlite3_column_int(st, 11) != 0;
    for (int k = 0; k < 3; k++) {
        g->cal[k] = tm__store_col_real(st, 12 + k);
    }
}

static void read_outcome(sqlite3_stmt *st, int col, tm_store_outcome *o)
{
    o->signal_id = sqlite3_column_int64(st, col);
    o->exit_date = tm__store_col_date(st, col + 1);
    o->exit_price = sqlite3_column_double(st, col + 2);
    o->ret = sqlite3_column_double(st, col + 3);
    o->actual = sqlite3_column_int(st, col + 4);
    o->correct = sqlite3_column_int(st, col + 5) != 0;
}

/* Runs a prepared signal query (date bound at 1) collecting rows, and, when
 * outs is set, the outcome columns that follow the signal columns. */
static tm_status collect_signals(tm_store *s, sqlite3_stmt *st, tm_store_signal **out,
                                 tm_store_outcome **outs, size_t *n, tm_err *err)
{
    tm_store_signal *sig = NULL;
    tm_store_outcome *oc = NULL;
    size_t cap = 0, ocap = 0, k = 0;
    tm_status rc = TM_OK;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (!grow((void **)&sig, &cap, k, sizeof *sig) ||
            (outs && !grow((void **)&oc, &ocap, k, sizeof *oc))) {
            rc = TM_ERR(err, TM_E_NOMEM, s->path, 0, NULL, "out of memory reading signals");
            goto done;
        }
        read_signal(st, &sig[k]);
        if (outs) {
            read_outcome(st, 15, &oc[k]);
        }
        k++;
    }
    if (r != SQLITE_DONE) {
        rc = tm__store_fail(s, err, "read signals");
        goto done;
    }
    *out = sig;
    *n = k;
    sig = NULL;
    if (outs) {
        *outs = oc;
        oc = NULL;
    }
done:
    tm_free(sig);
    tm_free(oc);
    return rc;
}

tm_status tm_store_signal_insert(tm_store *s, tm_store_signal *sig, tm_err *err)
{
    sqlite3_stmt *st = NULL;
    tm_status rc = tm__store_prepare(s,
                                     "INSERT OR REPLACE INTO signals (symbol, date, label,"
                                     " p_sell, p_hold, p_buy, price, model_id, run_id,"
                                     " decision, capped, c_sell, c_hold, c_buy)"
                                     " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                                     &st, err);
    if (rc != TM_OK) {
        return rc;
    }
    sqlite3_bind_text(st, 1, sig->symbol, -1, SQLITE_STATIC);
    tm__store_bind_date(st, 2, sig->date);
    sqlite3_bind_int(st, 3, sig->label);
    for (int k = 0; k < 3; k++) {
        sqlite3_bind_double(st, 4 + k, sig->prob[k]);
    }
    sqlite3_bind_double(st, 7, sig->price);
    if (sig->model_id > 0) {
        sqlite3_bind_int64(st, 8, sig->model_id);
    }
    if (sig->run_id > 0) {
        sqlite3_bind_int64(st, 9, sig->run_id);
    }
    bool rule = sig->decision == TM_STORE_DECIDED_RULE;
    sqlite3_bind_int(st, 10, rule);
    sqlite3_bind_int(st, 11, sig->capped);
    for (int k = 0; k < 3; k++) {
        if (rule && !isnan(sig->cal[k])) {
            sqlite3_bind_double(st, 12 + k, sig->cal[k]);
        }
    }
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = tm__store_fail(s, err, "insert signal");
    } else {
        sig->id = sqlite3_last_insert_rowid(s->db);
    }
    sqlite3_finalize(st);
    return rc;
}

tm_status tm_store_signals_on(tm_store *s, int32_t date, tm_store_signal **out, size_t *n,
                              tm_err *err)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    *n = 0;
    tm_status rc = tm__store_prepare(s,
                                     SIGNAL_COLS " FROM signals s WHERE s.date = ?1"
                                                 " ORDER BY s.symbol",
                                     &st, err);
    if (rc == TM_OK) {
        tm__store_bind_date(st, 1, date);
        rc = collect_signals(s, st, out, NULL, n, err);
    }
    sqlite3_finalize(st);
    return rc;
}

tm_status tm_store_signals_between(tm_store *s, int32_t from, int32_t to, tm_store_signal **out,
                                   size_t *n, tm_err *err)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    *n = 0;
    tm_status rc = tm__store_prepare(s,
                                     SIGNAL_COLS " FROM signals s WHERE s.date >= ?1 AND"
                                                 " s.date <= ?2 ORDER BY s.date, s.symbol",
                                     &st, err);
    if (rc == TM_OK) {
        tm__store_bind_date(st, 1, from);
        tm__store_bind_date(st, 2, to);
        rc = collect_signals(s, st, out, NULL, n, err);
    }
    sqlite3_finalize(st);
    return rc;
}

tm_status tm_store_signals_untracked(tm_store *s, int32_t until, tm_store_signal **out, size_t *n,
                                     tm_err *err)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    *n = 0;
    tm_status rc = tm__store_prepare(s,
                                     SIGNAL_COLS " FROM signals s WHERE s.date <= ?1 AND"
                                                 " s.id NOT IN (SELECT signal_id FROM"
                                                 " signal_outcomes) ORDER BY s.date, s.symbol",
                                     &st, err);
    if (rc == TM_OK) {
        tm__store_bind_date(st, 1, until);
        rc = collect_signals(s, st, out, NULL, n, err);
    }
    sqlite3_finalize(st);
    return rc;
}

static tm_status signal_date(tm_store *s, const char *sql, int32_t *out, tm_err *err)
{
    sqlite3_stmt *st = NULL;
    *out = 0;
    tm_status rc = tm__store_prepare(s, sql, &st, err);
    if (rc == TM_OK && sqlite3_step(st) == SQLITE_ROW) {
        *out = tm__store_col_date(st, 0);
    }
    sqlite3_finalize(st);
    return rc;
}

tm_status tm_store_signals_last_date(tm_store *s, int32_t *out, tm_err *err)
{
    return signal_date(s, "SELECT max(date) FROM signals", out, err);
}

tm_status tm_store_signals_first_date(tm_store *s, int32_t *out, tm_err *err)
{
    return signal_date(s, "SELECT min(date) FROM signals", out, err);
}

tm_status tm_store_outcome_insert(tm_store *s, const tm_store_outcome *o, tm_err *err)
{
    sqlite3_stmt *st = NULL;
    tm_status rc = tm__store_prepare(s,
                                     "INSERT OR REPLACE INTO signal_outcomes (signal_id,"
                                     " exit_date, exit_price, ret, actual, correct)"
                                     " VALUES (?,?,?,?,?,?)",
                                     &st, err);
    if (rc != TM_OK) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, o->signal_id);
    tm__store_bind_date(st, 2, o->exit_date);
    sqlite3_bind_double(st, 3, o->exit_price);
    sqlite3_bind_double(st, 4, o->ret);
    sqlite3_bind_int(st, 5, o->actual);
    sqlite3_bind_int(st, 6, o->correct ? 1 : 0);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = tm__store_fail(s, err, "insert outcome");
    }
    sqlite3_finalize(st);
    return rc;
}

tm_status tm_store_outcomes_unsampled(tm_store *s, int32_t until, tm_store_signal **sigs,
                                      tm_store_outcome **outs, size_t *n, tm_err *err)
{
    sqlite3_stmt *st = NULL;
    *sigs = NULL;
    *outs = NULL;
    *n = 0;
    tm_status rc = tm__store_prepare(
            s,
            SIGNAL_COLS ", o.signal_id, o.exit_date, o.exit_price, o.ret, o.actual, o.correct"
                        " FROM signals s JOIN signal_outcomes o ON o.signal_id = s.id"
                        " WHERE s.date <= ?1 AND NOT EXISTS (SELECT 1 FROM training_samples t"
                        " WHERE t.symbol = s.symbol AND t.date = s.date)"
                        " ORDER BY s.date, s.symbol",
            &st, err);
    if (rc == TM_OK) {
        tm__store_bind_date(st, 1, until);
        rc = collect_signals(s, st, sigs, outs, n, err);
    }
    sqlite3_finalize(st);
    return rc;
}

#define MODEL_COLS                                                                                 \
    "SELECT id, name, kind, slot, family, format, file, trained_at, as_of,"                        \
    " coalesce(train_until, ''), metrics, active, coalesce(fold_from, ''),"                        \
    " coalesce(fold_to, ''), generation FROM models"

static void read_model(sqlite3_stmt *st, tm_store_model *m)
{
    memset(m, 0, sizeof *m);
    m->id = sqlite3_column_int64(st, 0);
    tm__store_col_text(st, 1, m->name, sizeof m->name);
    tm__store_col_text(st, 2, m->kind, sizeof m->kind);
    m->slot = sqlite3_column_int(st, 3);
    tm__store_col_text(st, 4, m->family, sizeof m->family);
    tm__store_col_text(st, 5, m->format, sizeof m->format);
    tm__store_col_text(st, 6, m->file, sizeof m->file);
    tm__store_col_text(st, 7, m->trained_at, sizeof m->trained_at);
    m->as_of = tm__store_col_date(st, 8);
    m->train_until = tm__store_col_date(st, 9);
    tm__store_col_text(st, 10, m->metrics, sizeof m->metrics);
    m->active = sqlite3_column_int(st, 11) != 0;
    m->fold_from = tm__store_col_date(st, 12);
    m->fold_to = tm__store_col_date(st, 13);
    m->generation = sqlite3_column_int64(st, 14);
}

static tm_status collect_models(tm_store *s, sqlite3_stmt *st, tm_store_model **out, size_t *n,
                                tm_err *err)
{
    tm_store_model *m = NULL;
    size_t cap = 0, k = 0;
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        if (!grow((void **)&m, &cap, k, sizeof *m)) {
            tm_free(m);
            return TM_ERR(err, TM_E_NOMEM, s->path, 0, NULL, "out of memory reading models");
        }
        read_model(st, &m[k++]);
    }
    if (r != SQLITE_DONE) {
        tm_free(m);
        return tm__store_fail(s, err, "read models");
    }
    *out = m;
    *n = k;
    return TM_OK;
}

tm_status tm_store_model_insert(tm_store *s, tm_store_model *m, tm_err *err)
{
    sqlite3_stmt *st = NULL;
    tm_status rc = tm__store_prepare(s,
                                     "INSERT INTO models (name, kind, slot, family, format, file,"
                                     " trained_at, as_of, train_until, metrics, active,"
                                     " fold_from, fold_to, generation)"
                                     " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                                     &st, err);
    if (rc != TM_OK) {
        return rc;
    }
    sqlite3_bind_text(st, 1, m->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, m->kind, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, m->slot);
    sqlite3_bind_text(st, 4, m->family, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, m->format, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, m->file, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 7, m->trained_at, -1, SQLITE_STATIC);
    tm__store_bind_date(st, 8, m->as_of);
    if (m->train_until > 0) {
        tm__store_bind_date(st, 9, m->train_until);
    }
    sqlite3_bind_text(st, 10, m->metrics[0] ? m->metrics : "{}", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 11, m->active ? 1 : 0);
    if (m->fold_from > 0) {
        tm__store_bind_date(st, 12, m->fold_from);
        tm__store_bind_date(st, 13, m->fold_to);
    }
    sqlite3_bind_int64(st, 14, m->generation);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = tm__store_fail(s, err, "insert model");
    } else {
        m->id = sqlite3_last_insert_rowid(s->db);
    }
    sqlite3_finalize(st);
    return rc;
}

tm_status tm_store_model_activate(tm_store *s, int64_t id, tm_err *err)
{
    sqlite3_stmt *st = NULL;
    tm_status rc = tm__store_prepare(s,
                                     "UPDATE models SET active = (id = ?1) WHERE (kind, slot) ="
                                     " (SELECT kind, slot FROM models WHERE id = ?1)",
                                     &st, err);
    if (rc != TM_OK) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = tm__store_fail(s, err, "activate model");
    } else if (sqlite3_changes(s->db) == 0) {
        rc = TM_ERR(err, TM_E_INVALID, s->path, 0, "models.id", "no model with id %lld",
                    (long long)id);
    }
    sqlite3_finalize(st);
    return rc;
}

/* The one integer of a one-row query with an optional text parameter. */
static tm_status query_one(tm_store *s, const char *sql, const char *text, int64_t *out,
                           tm_err *err)
{
    sqlite3_stmt *st = NULL;
    *out = 0;
    tm_status rc = tm__store_prepare(s, sql, &st, err);
    if (rc == TM_OK && text) {
        sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
    }
    if (rc == TM_OK) {
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            *out = sqlite3_column_int64(st, 0);
        } else {
            rc = tm__store_fail(s, err, "query models");
        }
    }
    sqlite3_finalize(st);
    return rc;
}

tm_status tm_store_rule_put(tm_store *s, int64_t model_id, const char *text, tm_err *err)
{
    sqlite3_stmt *st = NULL;
    tm_status rc = tm__store_prepare(
            s, "INSERT OR REPLACE INTO decision_rules (model_id, rule) VALUES (?1, ?2)", &st, err);
    if (rc != TM_OK) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, model_id);
    sqlite3_bind_text(st, 2, text, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = tm__store_fail(s, err, "insert decision rule");
    }
    sqlite3_finalize(st);
    return rc;
}

tm_status tm_store_rule_get(tm_store *s, int64_t model_id, char **out, tm_err *err)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    tm_status rc =
            tm__store_prepare(s, "SELECT rule FROM decision_rules WHERE model_id = ?1", &st, err);
    if (rc != TM_OK) {
        return rc;
    }
    sqlite3_bind_int64(st, 1, model_id);
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        size_t n = t ? strlen(t) : 0;
        *out = tm_malloc(n + 1);
        if (!*out) {
            rc = TM_ERR(err, TM_E_NOMEM, s->path, 0, NULL, "out of memory reading a decision rule");
        } else {
            memcpy(*out, t ? t : "", n + 1);
        }
    } else if (r != SQLITE_DONE) {
        rc = tm__store_fail(s, err, "read decision rule");
    }
    sqlite3_finalize(st);
    return rc;
}

tm_status tm_store_model_next_generation(tm_store *s, int64_t *out, tm_err *err)
{
    return query_one(s, "SELECT coalesce(max(generation), 0) + 1 FROM models", NULL, out, err);
}

tm_status tm_store_model_next_version(tm_store *s, const char *kind, int64_t *out, tm_err *err)
{
    return query_one(s, "SELECT count(*) + 1 FROM models WHERE kind = ?1", kind, out, err);
}

tm_status tm_store_models_active(tm_store *s, const char *kind, tm_store_model **out, size_t *n,
                                 tm_err *err)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    *n = 0;
    tm_status rc =
            tm__store_prepare(s, MODEL_COLS " WHERE kind = ?1 AND active ORDER BY slot", &st, err);
    if (rc == TM_OK) {
        sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
        rc = collect_models(s, st, out, n, err);
    }
    sqlite3_finalize(st);
    return rc;
}

tm_status tm_store_models_generation(tm_store *s, const char *kind, int64_t generation,
                                     tm_store_model **out, size_t *n, tm_err *err)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    *n = 0;
    tm_status rc = tm__store_prepare(s,
                                     MODEL_COLS " WHERE kind = ?1 AND generation = ?2"
                                                " ORDER BY slot",
                                     &st, err);
    if (rc == TM_OK) {
        sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, generation);
        rc = collect_models(s, st, out, n, err);
    }
    sqlite3_finalize(st);
    return rc;
}

tm_status tm_store_models_history(tm_store *s, const char *kind, int slot, tm_store_model **out,
                                  size_t *n, tm_err *err)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    *n = 0;
    tm_status rc = tm__store_prepare(s,
                                     MODEL_COLS " WHERE kind = ?1 AND slot = ?2"
                                                " ORDER BY id DESC",
                                     &st, err);
    if (rc == TM_OK) {
        sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
        sqlite3_bind_int(st, 2, slot);
        rc = collect_models(s, st, out, n, err);
    }
    sqlite3_finalize(st);
    return rc;
}

tm_status tm_store_models_all(tm_store *s, tm_store_model **out, size_t *n, tm_err *err)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    *n = 0;
    tm_status rc = tm__store_prepare(s, MODEL_COLS " ORDER BY id", &st, err);
    if (rc == TM_OK) {
        rc = collect_models(s, st, out, n, err);
    }
    sqlite3_finalize(st);
    return rc;
}

tm_status tm_store_job_result_insert(tm_store *s, tm_store_job_result *r, tm_err *err)
{
    sqlite3_stmt *st = NULL;
    tm_status rc = tm__store_prepare(s,
                                     "INSERT INTO job_results (job, as_of, started_at, finished_at,"
                                     " status, summary) VALUES (?,?,?,?,?,?)",
                                     &st, err);
    if (rc != TM_OK) {
        return rc;
    }
    sqlite3_bind_text(st, 1, r->job, -1, SQLITE_STATIC);
    tm__store_bind_date(st, 2, r->as_of);
    sqlite3_bind_text(st, 3, r->started_at, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, r->finished_at, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, r->status, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, r->summary, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        rc = tm__store_fail(s, err, "insert job run");
    } else {
        r->id = sqlite3_last_insert_rowid(s->db);
    }
    sqlite3_finalize(st);
    return rc;
}

tm_status tm_store_job_result_last(tm_store *s, const char *job, const char *status,
                                   tm_store_job_result *out, bool *found, tm_err *err)
{
    sqlite3_stmt *st = NULL;
    *found = false;
    memset(out, 0, sizeof *out);
    tm_status rc = tm__store_prepare(s,
                                     "SELECT id, job, as_of, started_at, finished_at, status,"
                                     " summary FROM job_results WHERE job = ?1 AND"
                                     " (?2 IS NULL OR status = ?2) ORDER BY id DESC LIMIT 1",
                                     &st, err);
    if (rc != TM_OK) {
        return rc;
    }
    sqlite3_bind_text(st, 1, job, -1, SQLITE_STATIC);
    if (status) {
        sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
    }
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        out->id = sqlite3_column_int64(st, 0);
        tm__store_col_text(st, 1, out->job, sizeof out->job);
        out->as_of = tm__store_col_date(st, 2);
        tm__store_col_text(st, 3, out->started_at, sizeof out->started_at);
        tm__store_col_text(st, 4, out->finished_at, sizeof out->finished_at);
        tm__store_col_text(st, 5, out->status, sizeof out->status);
        tm__store_col_text(st, 6, out->summary, sizeof out->summary);
        *found = true;
    } else if (r != SQLITE_DONE) {
        rc = tm__store_fail(s, err, "read job runs");
    }
    sqlite3_finalize(st);
    return rc;
}
