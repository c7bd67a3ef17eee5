/* Store tests: schema migrations, transactions that roll back on failure,
 * typed round trips (prices with an as_of cut-off, samples, signals and
 * outcomes, the model registry, job runs), dates, and allocation-failure
 * loops over the readers. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <turbomode/store.h>

#include "tm_test.h"

/* The shared temporary directory; recreated because a forked test's exit
 * may have removed it. */
static const char *tmpdir(void)
{
    const char *d = tm_test_tmpdir();
    mkdir(d, 0700);
    return d;
}

static tm_store *open_fresh(const char *name)
{
    char path[512], msg[1024];
    snprintf(path, sizeof path, "%s/%s", tmpdir(), name);
    remove(path);
    tm_store *s = NULL;
    tm_err err;
    tm_err_init(&err);
    tm_status st = tm_store_open(path, &s, &err);
    ck_assert_msg(st == TM_OK, "%s", tm_err_format(&err, msg, sizeof msg));
    return s;
}

static int64_t count(tm_store *s, const char *sql)
{
    int64_t v = -1;
    ck_assert_int_eq(tm_store_query_int(s, sql, &v, NULL), TM_OK);
    return v;
}

static void add_prices(tm_store *s, const char *sym, int n, int32_t first)
{
    tm_store_price p[64];
    ck_assert_int_le(n, 64);
    for (int i = 0; i < n; i++) {
        memset(&p[i], 0, sizeof p[i]);
        snprintf(p[i].symbol, sizeof p[i].symbol, "%s", sym);
        p[i].date = first + i;
        p[i].open = NAN;
        p[i].high = 10 + i;
        p[i].low = 9 + i;
        p[i].close = 9.5 + i;
        p[i].volume = 1000 * (i + 1);
    }
    ck_assert_int_eq(tm_store_prices_upsert(s, p, (size_t)n, NULL), TM_OK);
}

START_TEST(store_fresh_database_is_at_current_version_with_wal)
{
    tm_store *s = open_fresh("fresh.db");
    ck_assert_int_eq(tm_store_schema_version(s), TM_STORE_SCHEMA_VERSION);
    ck_assert_int_eq(count(s, "PRAGMA foreign_keys"), 1);
    ck_assert_int_eq(count(s, "SELECT count(*) FROM pragma_journal_mode WHERE journal_mode='wal'"),
                     1);
    ck_assert_int_eq(count(s, "SELECT count(*) FROM sqlite_master WHERE type='table'"), 10);
    tm_store_close(s);
}
END_TEST

START_TEST(store_old_version_is_migrated_on_open)
{
    tm_store *s = open_fresh("old.db");
    /* Make it look like a version-1 database: no indexes, no decision
     * rules or decision columns, user_version 1. */
    ck_assert_int_eq(tm_store_exec(s,
                                   "DROP INDEX prices_date; DROP INDEX signals_date;"
                                   " DROP INDEX samples_date; DROP INDEX models_kind;"
                                   " DROP INDEX job_results_job; DROP TABLE decision_rules;"
                                   " DROP TABLE settings;"
                                   " ALTER TABLE signals DROP COLUMN decision;"
                                   " ALTER TABLE signals DROP COLUMN capped;"
                                   " ALTER TABLE signals DROP COLUMN c_sell;"
                                   " ALTER TABLE signals DROP COLUMN c_hold;"
                                   " ALTER TABLE signals DROP COLUMN c_buy;"
                                   " PRAGMA user_version = 1;",
                                   NULL),
                     TM_OK);
    add_prices(s, "AAA", 3, 20180101);
    char path[512];
    snprintf(path, sizeof path, "%s", tm_store_path(s));
    tm_store_close(s);
    ck_assert_int_eq(tm_store_open(path, &s, NULL), TM_OK);
    ck_assert_int_eq(tm_store_schema_version(s), 4);
    ck_assert_int_eq(count(s, "SELECT count(*) FROM sqlite_master WHERE type='index'"
                              " AND name='prices_date'"),
                     1);
    ck_assert_int_eq(count(s, "SELECT count(*) FROM sqlite_master WHERE type='table'"
                              " AND name='decision_rules'"),
                     1);
    ck_assert_int_eq(count(s, "SELECT count(*) FROM prices"), 3);
    tm_store_close(s);
}
END_TEST

/* Reopens the database at s's path (closing s) after setting it back to
 * schema 3: no settings table. */
static tm_store *reopen_as_version_3(tm_store *s)
{
    ck_assert_int_eq(tm_store_exec(s, "DROP TABLE settings; PRAGMA user_version = 3;", NULL),
                     TM_OK);
    char path[512];
    snprintf(path, sizeof path, "%s", tm_store_path(s));
    tm_store_close(s);
    ck_assert_int_eq(tm_store_open(path, &s, NULL), TM_OK);
    ck_assert_int_eq(tm_store_schema_version(s), 4);
    return s;
}

/* Version 4 records the labelling: a version-3 database holding samples
 * (every one of them from the absolute thresholds) is migrated to
 * labels = absolute; one holding none records nothing. */
START_TEST(store_version_3_with_samples_is_migrated_to_absolute_labels)
{
    tm_store *s = open_fresh("v3.db");
    float f[3] = {1, 2, 3};
    tm_store_sample_row row = {.symbol = "AAA", .date = 20180102, .label = 2, .features = f};
    ck_assert_int_eq(tm_store_samples_insert(s, &row, 1, 3, NULL, NULL), TM_OK);
    s = reopen_as_version_3(s);
    char buf[32];
    bool found = false;
    ck_assert_int_eq(tm_store_setting_get(s, "labels", buf, sizeof buf, &found, NULL), TM_OK);
    ck_assert(found);
    ck_assert_str_eq(buf, "absolute");
    ck_assert_int_eq(count(s, "SELECT count(*) FROM training_samples"), 1);
    tm_store_close(s);

    s = open_fresh("v3empty.db");
    s = reopen_as_version_3(s);
    ck_assert_int_eq(tm_store_setting_get(s, "labels", buf, sizeof buf, &found, NULL), TM_OK);
    ck_assert(!found);
    ck_assert_str_eq(buf, "");
    tm_store_close(s);
}
END_TEST

START_TEST(store_settings_round_trip)
{
    tm_store *s = open_fresh("settings.db");
    char buf[16];
    bool found = true;
    ck_assert_int_eq(tm_store_setting_get(s, "labels", buf, sizeof buf, &found, NULL), TM_OK);
    ck_assert(!found);
    ck_assert_int_eq(tm_store_setting_put(s, "labels", "xs-decile", NULL), TM_OK);
    ck_assert_int_eq(tm_store_setting_get(s, "labels", buf, sizeof buf, &found, NULL), TM_OK);
    ck_assert(found);
    ck_assert_str_eq(buf, "xs-decile");
    ck_assert_int_eq(tm_store_setting_put(s, "labels", "absolute", NULL), TM_OK);
    ck_assert_int_eq(tm_store_setting_get(s, "labels", buf, sizeof buf, &found, NULL), TM_OK);
    ck_assert_str_eq(buf, "absolute");
    /* a value longer than the buffer is refused, not cut */
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_store_setting_get(s, "labels", buf, 5, &found, &err), TM_E_RANGE);
    ck_assert(!found);
    tm_store_close(s);
}
END_TEST

START_TEST(store_newer_schema_is_refused_with_message)
{
    tm_store *s = open_fresh("newer.db");
    ck_assert_int_eq(tm_store_exec(s, "PRAGMA user_version = 9", NULL), TM_OK);
    char path[512];
    snprintf(path, sizeof path, "%s", tm_store_path(s));
    tm_store_close(s);
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_store_open(path, &s, &err), TM_E_FORMAT);
    ck_assert_ptr_null(s);
    char msg[1024], want[1024];
    snprintf(want, sizeof want,
             "%s: field 'user_version': expected a schema version <= 4, found 9 (database "
             "from a newer turbomode)",
             path);
    ck_assert_str_eq(tm_err_format(&err, msg, sizeof msg), want);
}
END_TEST

START_TEST(store_failed_write_rolls_back_the_whole_transaction)
{
    tm_store *s = open_fresh("tx.db");
    const char *u[] = {"AAA"};
    ck_assert_int_eq(tm_store_universe_add(s, u, 1, NULL), TM_OK);
    ck_assert_int_eq(tm_store_begin(s, NULL), TM_OK);
    ck_assert(tm_store_in_transaction(s));
    ck_assert_int_eq(tm_store_begin(s, NULL), TM_E_INVALID); /* no nesting */
    add_prices(s, "AAA", 5, 20180101);
    tm_store_signal sig = {.date = 20180105, .label = 2, .prob = {0.1, 0.2, 0.7}, .price = 1};
    snprintf(sig.symbol, sizeof sig.symbol, "AAA");
    ck_assert_int_eq(tm_store_signal_insert(s, &sig, NULL), TM_OK);
    /* A signal for a symbol outside the universe breaks the foreign key. */
    tm_store_signal bad = sig;
    snprintf(bad.symbol, sizeof bad.symbol, "ZZZ");
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_store_signal_insert(s, &bad, &err), TM_E_DB);
    ck_assert_ptr_nonnull(strstr(err.reason, "insert signal: FOREIGN KEY constraint failed"));
    tm_store_rollback(s);
    ck_assert(!tm_store_in_transaction(s));
    ck_assert_int_eq(count(s, "SELECT count(*) FROM prices"), 0);
    ck_assert_int_eq(count(s, "SELECT count(*) FROM signals"), 0);
    /* A bad label is refused by the schema too. */
    sig.label = 5;
    ck_assert_int_eq(tm_store_signal_insert(s, &sig, NULL), TM_E_DB);
    tm_store_close(s);
}
END_TEST

START_TEST(store_prices_load_respects_as_of_and_universe)
{
    tm_store *s = open_fresh("prices.db");
    const char *u[] = {"BBB", "AAA"};
    ck_assert_int_eq(tm_store_universe_add(s, u, 2, NULL), TM_OK);
    add_prices(s, "AAA", 10, 20180101);
    add_prices(s, "BBB", 5, 20180103);
    add_prices(s, "^VIX", 10, 20180101);
    tm_store_prices *p = NULL;
    ck_assert_int_eq(tm_store_prices_load(s, NULL, 20180105, &p, NULL), TM_OK);
    ck_assert_int_eq(p->n_symbols, 2);
    ck_assert_str_eq(p->symbols[0], "AAA");
    ck_assert_str_eq(p->symbols[1], "BBB");
    ck_assert_int_eq(p->start[1], 5);
    ck_assert_int_eq(p->n_rows, 8);
    ck_assert_int_eq(p->date[4], 20180105);
    ck_assert(isnan(p->open[0]));
    ck_assert_double_eq(p->close[5], 9.5);
    tm_store_prices_free(p);
    ck_assert_int_eq(tm_store_prices_load(s, "^VIX", 0, &p, NULL), TM_OK);
    ck_assert_int_eq(p->n_rows, 10);
    tm_store_prices_free(p);
    int32_t last = 0;
    ck_assert_int_eq(tm_store_prices_last_date(s, 20180106, &last, NULL), TM_OK);
    ck_assert_int_eq(last, 20180106);
    /* Upsert replaces. */
    add_prices(s, "AAA", 2, 20180101);
    ck_assert_int_eq(count(s, "SELECT count(*) FROM prices WHERE symbol='AAA'"), 10);
    tm_store_close(s);
}
END_TEST

START_TEST(store_samples_round_trip_and_skip_duplicates)
{
    tm_store *s = open_fresh("samples.db");
    float f[2][3] = {{1, 2, 3}, {4, 5, 6}};
    tm_store_sample_row rows[2] = {
            {.symbol = "AAA", .date = 20180102, .label = 2, .fwd_return = 0.05, .features = f[0]},
            {.symbol = "AAA", .date = 20180101, .label = 0, .fwd_return = -0.05, .features = f[1]},
    };
    size_t added = 0;
    ck_assert_int_eq(tm_store_samples_insert(s, rows, 2, 3, &added, NULL), TM_OK);
    ck_assert_int_eq(added, 2);
    ck_assert_int_eq(tm_store_samples_insert(s, rows, 2, 3, &added, NULL), TM_OK);
    ck_assert_int_eq(added, 0);
    tm_store_samples *sm = NULL;
    ck_assert_int_eq(tm_store_samples_load(s, 0, &sm, NULL), TM_OK);
    ck_assert_int_eq(sm->n_rows, 2);
    ck_assert_int_eq(sm->n_features, 3);
    ck_assert_int_eq(sm->date[0], 20180101); /* by date */
    ck_assert_int_eq(sm->label[0], 0);
    ck_assert_double_eq((double)sm->X[0], 4.0);
    ck_assert_double_eq((double)sm->X[5], 3.0);
    tm_store_samples_free(sm);
    ck_assert_int_eq(tm_store_samples_load(s, 20180101, &sm, NULL), TM_OK);
    ck_assert_int_eq(sm->n_rows, 1);
    float probs[2][24] = {{0}};
    int64_t ids[2] = {1, 2};
    ck_assert_int_eq(tm_store_meta_preds_put(s, ids, 2, probs[0], probs[0], 24, NULL), TM_OK);
    int64_t n = 0;
    ck_assert_int_eq(tm_store_meta_preds_count(s, &n, NULL), TM_OK);
    ck_assert_int_eq(n, 2);
    tm_store_samples_free(sm);
    tm_store_close(s);
}
END_TEST

START_TEST(store_signals_outcomes_and_unsampled)
{
    tm_store *s = open_fresh("signals.db");
    const char *u[] = {"AAA", "BBB"};
    ck_assert_int_eq(tm_store_universe_add(s, u, 2, NULL), TM_OK);
    tm_store_signal a = {.symbol = "AAA", .date = 20180102, .label = 2, .prob = {.1, .2, .7}};
    tm_store_signal b = {.symbol = "BBB", .date = 20180103, .label = 1, .prob = {.1, .8, .1}};
    ck_assert_int_eq(tm_store_signal_insert(s, &a, NULL), TM_OK);
    ck_assert_int_eq(tm_store_signal_insert(s, &b, NULL), TM_OK);
    tm_store_signal *g = NULL;
    size_t n = 0;
    ck_assert_int_eq(tm_store_signals_untracked(s, 20180102, &g, &n, NULL), TM_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(g[0].symbol, "AAA");
    ck_assert_double_eq(g[0].prob[2], 0.7);
    tm_free(g);
    tm_store_outcome o = {.signal_id = a.id,
                          .exit_date = 20180109,
                          .exit_price = 2,
                          .ret = .04,
                          .actual = 2,
                          .correct = true};
    ck_assert_int_eq(tm_store_outcome_insert(s, &o, NULL), TM_OK);
    ck_assert_int_eq(tm_store_signals_untracked(s, 20181231, &g, &n, NULL), TM_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(g[0].symbol, "BBB");
    tm_free(g);
    tm_store_outcome *oc = NULL;
    ck_assert_int_eq(tm_store_outcomes_unsampled(s, 20181231, &g, &oc, &n, NULL), TM_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(oc[0].exit_date, 20180109);
    ck_assert(oc[0].correct);
    tm_free(g);
    tm_free(oc);
    int32_t last = 0;
    ck_assert_int_eq(tm_store_signals_last_date(s, &last, NULL), TM_OK);
    ck_assert_int_eq(last, 20180103);
    tm_store_close(s);
}
END_TEST

/* What the rule decided round-trips: decision, capped and the calibrated
 * probabilities (kept only for rule decisions); a signal written before
 * schema 3 reads as argmax with no calibration. Rules are kept per model. */
START_TEST(store_signal_decisions_and_rules)
{
    tm_store *s = open_fresh("decide.db");
    const char *u[] = {"AAA", "BBB"};
    ck_assert_int_eq(tm_store_universe_add(s, u, 2, NULL), TM_OK);
    tm_store_signal a = {.symbol = "AAA",
                         .date = 20180102,
                         .label = 1,
                         .prob = {.1, .2, .7},
                         .cal = {.05, .6, .25},
                         .decision = TM_STORE_DECIDED_RULE,
                         .capped = true};
    tm_store_signal b = {.symbol = "BBB",
                         .date = 20180102,
                         .label = 2,
                         .prob = {.1, .2, .7},
                         .cal = {.5, .5, .5}};
    ck_assert_int_eq(tm_store_signal_insert(s, &a, NULL), TM_OK);
    ck_assert_int_eq(tm_store_signal_insert(s, &b, NULL), TM_OK);
    tm_store_signal *g = NULL;
    size_t n = 0;
    ck_assert_int_eq(tm_store_signals_on(s, 20180102, &g, &n, NULL), TM_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(g[0].decision, TM_STORE_DECIDED_RULE);
    ck_assert(g[0].capped);
    ck_assert_double_eq(g[0].cal[1], 0.6);
    ck_assert_int_eq(g[1].decision, TM_STORE_DECIDED_ARGMAX);
    ck_assert(!g[1].capped);
    ck_assert(isnan(g[1].cal[0]) && isnan(g[1].cal[2])); /* argmax: none stored */
    tm_free(g);
    char *text = NULL;
    ck_assert_int_eq(tm_store_rule_get(s, 1, &text, NULL), TM_OK);
    ck_assert_ptr_null(text);
    tm_store_model m = {.kind = "meta",
                        .family = "lightgbm",
                        .format = "lightgbm",
                        .file = "m.txt",
                        .trained_at = "2018-01-01T00:00:00Z",
                        .as_of = 20180101};
    ck_assert_int_eq(tm_store_model_insert(s, &m, NULL), TM_OK);
    ck_assert_int_eq(tm_store_rule_put(s, m.id, "{\"version\":1}", NULL), TM_OK);
    ck_assert_int_eq(tm_store_rule_get(s, m.id, &text, NULL), TM_OK);
    ck_assert_str_eq(text, "{\"version\":1}");
    tm_free(text);
    /* Back to schema 2 (no decision columns), then migrated again. */
    ck_assert_int_eq(tm_store_exec(s,
                                   "DROP TABLE decision_rules; DROP TABLE settings;"
                                   " ALTER TABLE signals DROP COLUMN decision;"
                                   " ALTER TABLE signals DROP COLUMN capped;"
                                   " ALTER TABLE signals DROP COLUMN c_sell;"
                                   " ALTER TABLE signals DROP COLUMN c_hold;"
                                   " ALTER TABLE signals DROP COLUMN c_buy;"
                                   " PRAGMA user_version = 2;",
                                   NULL),
                     TM_OK);
    char path[512];
    snprintf(path, sizeof path, "%s", tm_store_path(s));
    tm_store_close(s);
    ck_assert_int_eq(tm_store_open(path, &s, NULL), TM_OK);
    ck_assert_int_eq(tm_store_schema_version(s), 4);
    ck_assert_int_eq(tm_store_signals_on(s, 20180102, &g, &n, NULL), TM_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(g[0].decision, TM_STORE_DECIDED_ARGMAX);
    ck_assert(!g[0].capped && isnan(g[0].cal[1]));
    ck_assert_int_eq(g[0].label, 1);
    tm_free(g);
    tm_store_close(s);
}
END_TEST

START_TEST(store_model_registry_activation_and_history)
{
    tm_store *s = open_fresh("models.db");
    int64_t next = 0;
    ck_assert_int_eq(tm_store_model_next_version(s, "meta", &next, NULL), TM_OK);
    ck_assert_int_eq(next, 1);
    ck_assert_int_eq(tm_store_model_next_generation(s, &next, NULL), TM_OK);
    ck_assert_int_eq(next, 1);
    tm_store_model m = {.kind = "meta",
                        .slot = 0,
                        .family = "lightgbm",
                        .format = "lightgbm",
                        .as_of = 20180101,
                        .generation = 4,
                        .active = true};
    snprintf(m.name, sizeof m.name, "meta");
    snprintf(m.file, sizeof m.file, "/x/meta_1.txt");
    snprintf(m.trained_at, sizeof m.trained_at, "2018-01-01T23:45:00");
    ck_assert_int_eq(tm_store_model_insert(s, &m, NULL), TM_OK);
    int64_t first = m.id;
    m.active = false;
    snprintf(m.file, sizeof m.file, "/x/meta_2.txt");
    ck_assert_int_eq(tm_store_model_insert(s, &m, NULL), TM_OK);
    ck_assert_int_eq(tm_store_model_activate(s, m.id, NULL), TM_OK);
    ck_assert_int_eq(tm_store_model_next_version(s, "meta", &next, NULL), TM_OK);
    ck_assert_int_eq(next, 3);
    ck_assert_int_eq(tm_store_model_next_version(s, "base", &next, NULL), TM_OK);
    ck_assert_int_eq(next, 1);
    ck_assert_int_eq(tm_store_model_next_generation(s, &next, NULL), TM_OK);
    ck_assert_int_eq(next, 5);
    tm_store_model *ms = NULL;
    size_t n = 0;
    ck_assert_int_eq(tm_store_models_active(s, "meta", &ms, &n, NULL), TM_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_str_eq(ms[0].file, "/x/meta_2.txt");
    tm_free(ms);
    ck_assert_int_eq(tm_store_models_history(s, "meta", 0, &ms, &n, NULL), TM_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(ms[1].id, first);
    ck_assert(!ms[1].active);
    tm_free(ms);
    ck_assert_int_eq(tm_store_model_activate(s, 999, NULL), TM_E_INVALID);
    tm_store_close(s);
}
END_TEST

START_TEST(store_job_results_last_by_status)
{
    tm_store *s = open_fresh("runs.db");
    tm_store_job_result r = {.job = "meta_retrain", .as_of = 20180105, .status = "ok"};
    ck_assert_int_eq(tm_store_job_result_insert(s, &r, NULL), TM_OK);
    tm_store_job_result f = r;
    snprintf(f.status, sizeof f.status, "failed");
    f.as_of = 20180112;
    ck_assert_int_eq(tm_store_job_result_insert(s, &f, NULL), TM_OK);
    tm_store_job_result got;
    bool found = false;
    ck_assert_int_eq(tm_store_job_result_last(s, "meta_retrain", "ok", &got, &found, NULL), TM_OK);
    ck_assert(found);
    ck_assert_int_eq(got.as_of, 20180105);
    ck_assert_int_eq(tm_store_job_result_last(s, "meta_retrain", NULL, &got, &found, NULL), TM_OK);
    ck_assert_int_eq(got.as_of, 20180112);
    ck_assert_int_eq(tm_store_job_result_last(s, "scan", NULL, &got, &found, NULL), TM_OK);
    ck_assert(!found);
    snprintf(f.status, sizeof f.status, "weird");
    ck_assert_int_eq(tm_store_job_result_insert(s, &f, NULL), TM_E_DB);
    tm_store_close(s);
}
END_TEST

START_TEST(store_dates_parse_strictly)
{
    int32_t d = 0;
    char buf[16];
    ck_assert(tm_store_date_parse("2016-02-29", &d));
    ck_assert_int_eq(d, 20160229);
    ck_assert_str_eq(tm_store_date_format(d, buf), "2016-02-29");
    ck_assert(!tm_store_date_parse("2017-02-29", &d));
    ck_assert(!tm_store_date_parse("2017-13-01", &d));
    ck_assert(!tm_store_date_parse("2017-1-01", &d));
    ck_assert(!tm_store_date_parse("2017/01/01", &d));
    ck_assert(!tm_store_date_parse("2017-01-01x", &d));
}
END_TEST

START_TEST(store_readers_survive_allocation_failures)
{
    tm_store *s = open_fresh("fault.db");
    const char *u[] = {"AAA"};
    ck_assert_int_eq(tm_store_universe_add(s, u, 1, NULL), TM_OK);
    add_prices(s, "AAA", 10, 20180101);
    float f[3] = {1, 2, 3};
    tm_store_sample_row row = {.symbol = "AAA", .date = 20180102, .label = 1, .features = f};
    ck_assert_int_eq(tm_store_samples_insert(s, &row, 1, 3, NULL, NULL), TM_OK);
    for (long n = 1;; n++) {
        tm_store_prices *p = NULL;
        tm_store_samples *sm = NULL;
        tm_alloc_fail_after(n);
        tm_status a = tm_store_prices_load(s, NULL, 0, &p, NULL);
        tm_status b = a == TM_OK ? tm_store_samples_load(s, 0, &sm, NULL) : a;
        tm_alloc_fail_after(0);
        tm_store_prices_free(p);
        tm_store_samples_free(sm);
        if (a == TM_OK && b == TM_OK) {
            break;
        }
        ck_assert_int_eq(a == TM_OK ? b : a, TM_E_NOMEM);
        ck_assert(a == TM_OK ? sm == NULL : p == NULL);
        ck_assert_int_lt(n, 100);
    }
    for (long n = 1;; n++) {
        tm_store *t = NULL;
        char path[512];
        snprintf(path, sizeof path, "%s/fault2.db", tmpdir());
        tm_alloc_fail_after(n);
        tm_status st = tm_store_open(path, &t, NULL);
        tm_alloc_fail_after(0);
        tm_store_close(t);
        if (st == TM_OK) {
            break;
        }
        ck_assert_int_eq(st, TM_E_NOMEM);
        ck_assert_ptr_null(t);
    }
    tm_store_close(s);
}
END_TEST

TM_TEST_SUITE(store);
TM_TEST_SUITE(store)
{
    Suite *s = suite_create("store");
    TCase *tc = tcase_create("store");
    tcase_add_test(tc, store_fresh_database_is_at_current_version_with_wal);
    tcase_add_test(tc, store_old_version_is_migrated_on_open);
    tcase_add_test(tc, store_version_3_with_samples_is_migrated_to_absolute_labels);
    tcase_add_test(tc, store_settings_round_trip);
    tcase_add_test(tc, store_newer_schema_is_refused_with_message);
    tcase_add_test(tc, store_failed_write_rolls_back_the_whole_transaction);
    tcase_add_test(tc, store_prices_load_respects_as_of_and_universe);
    tcase_add_test(tc, store_samples_round_trip_and_skip_duplicates);
    tcase_add_test(tc, store_signals_outcomes_and_unsampled);
    tcase_add_test(tc, store_signal_decisions_and_rules);
    tcase_add_test(tc, store_model_registry_activation_and_history);
    tcase_add_test(tc, store_job_results_last_by_status);
    tcase_add_test(tc, store_dates_parse_strictly);
    tcase_add_test(tc, store_readers_survive_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}
