/* Pipeline tests on a small synthetic market (8 stocks, 430 trading days,
 * a VIX series) and a 3-model registry so training takes moments: price
 * import (errors name the line, nothing loads from a bad file unless
 * --skip-bad, idempotent, CRLF, gzip), backfill labels by hand, the
 * look-ahead property (a job with --as-of D gives identical results with
 * or without later prices), the 42-day gate, rollback, replay, kill -9
 * of real processes in the middle of meta-retrain and scan, and the
 * decision rule: stored by the retrain, applied by the scan (with the
 * cap, the argmax fallback and one-sided days), used by the promotion. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <turbomode/pipeline.h>
#include <turbomode/sched.h>
#include <turbomode/store.h>

#include "pipeline/decide_int.h"
#include "tm_test.h"

#define N_SYM  8
#define N_DAYS 430

/* Tests share a directory beside the runner's temporary one (a forked
 * test's exit removes that one). */
static const char *dir(void)
{
    static char d[512];
    if (!d[0]) {
        snprintf(d, sizeof d, "%s_pipeline", tm_test_tmpdir());
    }
    mkdir(d, 0700);
    return d;
}

/* Weekday n (0-based) from 2015-01-05 as YYYY-MM-DD. */
static void weekday(int n, char *buf)
{
    int days = n / 5 * 7 + n % 5; /* Monday-based */
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = 2015, m = 0, d = 5 + days;
    for (;;) {
        int md = mdays[m] + (m == 1 && y % 4 == 0 ? 1 : 0);
        if (d <= md) {
            break;
        }
        d -= md;
        if (++m == 12) {
            m = 0;
            y++;
        }
    }
    tm_store_date_format(y * 10000 + (m + 1) * 100 + d, buf);
}

/* Writes the synthetic market: prices.csv (days [0, n_days)) and vix.csv. */
static void write_market(const char *prices, const char *vix, int n_days)
{
    FILE *fp = fopen(prices, "w");
    ck_assert_ptr_nonnull(fp);
    fprintf(fp, "date,open,high,low,close,volume,Name\n");
    uint64_t s = 12345;
    for (int k = 0; k < N_SYM; k++) {
        double c = 20 + 10 * k;
        for (int i = 0; i < N_DAYS; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            double u = (double)(s >> 11) / 9007199254740992.0 - 0.5;
            double r = 0.04 * u + 0.01 * sin(0.07 * i + k) + 0.0003;
            double o = c;
            c *= 1 + r;
            char d[11];
            weekday(i, d);
            if (i < n_days) {
                fprintf(fp, "%s,%.4f,%.4f,%.4f,%.4f,%d,S%d\n", d, o, (o > c ? o : c) * 1.005,
                        (o < c ? o : c) * 0.995, c, 100000 + (int)(50000 * (u + 0.5)), k);
            }
        }
    }
    fclose(fp);
    fp = fopen(vix, "w");
    fprintf(fp, "DATE,OPEN,HIGH,LOW,CLOSE\r\n");
    for (int i = 0; i < n_days; i++) {
        char d[11];
        weekday(i, d);
        double v = 15 + 4 * sin(0.03 * i);
        fprintf(fp, "%s,%.2f,%.2f,%.2f,%.2f\r\n", d, v, v + 1, v - 1, v);
    }
    fclose(fp);
}

static const char registry[] =
        "{\"models\": ["
        "{\"name\": \"xgb_small\", \"family\": \"xgboost\", \"growth\": \"depthwise\","
        " \"max_depth\": 3, \"learning_rate\": 0.3, \"max_rounds\": 6},"
        "{\"name\": \"lgbm_small\", \"family\": \"lightgbm\", \"growth\": \"leafwise\","
        " \"num_leaves\": 7, \"learning_rate\": 0.3, \"max_rounds\": 6},"
        "{\"name\": \"cat_small\", \"family\": \"catboost\", \"growth\": \"oblivious\","
        " \"max_depth\": 3, \"learning_rate\": 0.3, \"max_rounds\": 6}]}";

static void opts_for(tm_pipeline_opts *o, const char *db, char *models, char *reg)
{
    tm_pipeline_opts_init(o);
    snprintf(models, 600, "%s.models", db);
    snprintf(reg, 600, "%s/registry.json", dir());
    FILE *fp = fopen(reg, "w");
    fputs(registry, fp);
    fclose(fp);
    o->db_path = db;
    o->models_dir = models;
    o->registry_path = reg;
    o->n_folds = 2;
    o->n_threads = 2;
}

static tm_pipeline *open_db(const char *db, char *models, char *reg)
{
    tm_pipeline_opts o;
    opts_for(&o, db, models, reg);
    tm_pipeline *p = NULL;
    tm_err err;
    tm_err_init(&err);
    char msg[1024];
    tm_status st = tm_pipeline_open(&o, &p, &err);
    ck_assert_msg(st == TM_OK, "%s", tm_err_format(&err, msg, sizeof msg));
    return p;
}

static void ok(tm_status st, const tm_err *err)
{
    char msg[1024];
    ck_assert_msg(st == TM_OK, "%s", tm_err_format(err, msg, sizeof msg));
}

/* A database with the market loaded up to day n_days, backfilled and
 * trained as of date as_of. */
static void build_db(const char *db, int n_days, int32_t as_of, bool train)
{
    char prices[600], vix[600], models[600], reg[600];
    snprintf(prices, sizeof prices, "%s.prices.csv", db);
    snprintf(vix, sizeof vix, "%s.vix.csv", db);
    write_market(prices, vix, n_days);
    remove(db);
    tm_pipeline *p = open_db(db, models, reg);
    tm_err err;
    tm_err_init(&err);
    tm_pipeline_import_opts io;
    tm_pipeline_import_opts_init(&io);
    ok(tm_pipeline_import_prices(p, prices, &io, NULL, NULL, &err), &err);
    io.symbol = "^VIX";
    ok(tm_pipeline_import_prices(p, vix, &io, NULL, NULL, &err), &err);
    tm_pipeline_report rep;
    ok(tm_pipeline_backfill(p, as_of, &rep, &err), &err);
    if (train) {
        ok(tm_pipeline_model_retrain(p, as_of, &rep, &err), &err);
    }
    tm_pipeline_close(p);
}

/* The trained database shared by several tests, built once; each test
 * works on a copy at path. */
static void trained_copy(const char *path)
{
    char base[600];
    snprintf(base, sizeof base, "%s/base.db", dir());
    if (access(base, R_OK) != 0) {
        char tmp[640];
        snprintf(tmp, sizeof tmp, "%s/building.db", dir());
        build_db(tmp, N_DAYS, 20160415, true);
        ck_assert_int_eq(
                tm_test_system("mv '%s.models' '%s.models' && mv '%s' '%s'", tmp, base, tmp, base),
                0);
    }
    ck_assert_int_eq(tm_test_system("rm -rf '%s'* && cp '%s' '%s' && cp -r '%s.models' "
                                    "'%s.models'",
                                    path, base, path, base, path),
                     0);
}

static int64_t q(const char *db, const char *sql)
{
    tm_store *s = NULL;
    ck_assert_int_eq(tm_store_open(db, &s, NULL), TM_OK);
    int64_t v = -1;
    ck_assert_int_eq(tm_store_query_int(s, sql, &v, NULL), TM_OK);
    tm_store_close(s);
    return v;
}

START_TEST(pipeline_import_bad_row_loads_nothing_and_names_line)
{
    char csv[600], db[600], out[700];
    snprintf(csv, sizeof csv, "%s/bad.csv", dir());
    snprintf(db, sizeof db, "%s/import.db", dir());
    snprintf(out, sizeof out, "%s/import.err", dir());
    remove(db);
    FILE *fp = fopen(csv, "w");
    fprintf(fp, "date,open,high,low,close,volume,Name\r\n"
                "2018-01-02,1,2,0.5,1.5,100,AAA\r\n"
                "2018-01-03,1,2,0.5,abc,100,AAA\r\n"
                "2018-13-04,1,2,0.5,1.5,100,AAA\r\n"
                "2018-01-05,,,,1.5,100,BBB\r\n");
    fclose(fp);
    int rc = tm_test_system("%s import-prices --db %s %s 2>%s", tm_test_bin(), db, csv, out);
    ck_assert_int_eq(rc, 2);
    char *msg = tm_test_slurp(out, NULL);
    char want[2048];
    snprintf(want, sizeof want,
             "turbomode: %s:4: field 'date': expected a date YYYY-MM-DD, found \"2018-13-04\"\n"
             "turbomode: %s:3: field 'close': expected a positive number, found \"abc\" "
             "(2 bad rows, nothing loaded)\n",
             csv, csv);
    ck_assert_str_eq(msg, want);
    free(msg);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM prices"), 0);
    rc = tm_test_system("%s import-prices --db %s --skip-bad %s >%s 2>&1", tm_test_bin(), db, csv,
                        out);
    ck_assert_int_eq(rc, 0);
    msg = tm_test_slurp(out, NULL);
    ck_assert_ptr_nonnull(strstr(msg, "skipped: "));
    ck_assert_ptr_nonnull(strstr(msg, "import-prices: 2 rows loaded"));
    ck_assert_ptr_nonnull(strstr(msg, ", 2 bad rows skipped"));
    free(msg);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM prices"), 2);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM prices WHERE open IS NULL"), 1);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM universe"), 2);
    /* idempotent, and gzip input streams through gzip -dc */
    ck_assert_int_eq(tm_test_system("gzip -kf %s && %s import-prices --db %s --skip-bad %s.gz "
                                    ">/dev/null 2>&1",
                                    csv, tm_test_bin(), db, csv),
                     0);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM prices"), 2);
}
END_TEST

START_TEST(pipeline_import_header_errors)
{
    char csv[600], db[600], out[700];
    snprintf(csv, sizeof csv, "%s/nohdr.csv", dir());
    snprintf(db, sizeof db, "%s/import2.db", dir());
    snprintf(out, sizeof out, "%s/import2.err", dir());
    FILE *fp = fopen(csv, "w");
    fprintf(fp, "date,open,high,low,close,volume\n2018-01-02,1,2,0.5,1.5,100\n");
    fclose(fp);
    ck_assert_int_eq(
            tm_test_system("%s import-prices --db %s %s 2>%s", tm_test_bin(), db, csv, out), 2);
    char *msg = tm_test_slurp(out, NULL);
    char want[1024];
    snprintf(want, sizeof want,
             "turbomode: %s:1: field 'Name': expected a column 'Name' in the header "
             "(date,open,high,low,close,volume,Name) or --symbol\n",
             csv);
    ck_assert_str_eq(msg, want);
    free(msg);
    ck_assert_int_eq(tm_test_system("%s import-prices --db %s --symbol XYZ %s >/dev/null",
                                    tm_test_bin(), db, csv),
                     0);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM prices WHERE symbol='XYZ'"), 1);
}
END_TEST

START_TEST(pipeline_backfill_labels_by_hand)
{
    char db[600];
    snprintf(db, sizeof db, "%s/backfill.db", dir());
    build_db(db, N_DAYS, 0, false);
    /* 8 stocks x (430 - 252 warm-up - 5 horizon) samples */
    ck_assert_int_eq(q(db, "SELECT count(*) FROM training_samples"), N_SYM * (N_DAYS - 252 - 5));
    ck_assert_int_eq(q(db, "SELECT count(*) FROM training_samples WHERE n_features < 90"), 0);
    /* S3's first sample: day 252, label from close(257)/close(252) - 1 */
    tm_store *s = NULL;
    ck_assert_int_eq(tm_store_open(db, &s, NULL), TM_OK);
    tm_store_prices *px = NULL;
    ck_assert_int_eq(tm_store_prices_load(s, "S3", 0, &px, NULL), TM_OK);
    double ret = px->close[257] / px->close[252] - 1;
    int want = ret > 0.04 ? 2 : ret < -0.036 ? 0 : 1;
    char sql[256], d[16];
    snprintf(sql, sizeof sql,
             "SELECT label * 1000000 + CAST(round(fwd_return * 1e6) AS INT) FROM"
             " training_samples WHERE symbol='S3' AND date='%s'",
             tm_store_date_format(px->date[252], d));
    int64_t v = -1;
    ck_assert_int_eq(tm_store_query_int(s, sql, &v, NULL), TM_OK);
    ck_assert_int_eq(v, want * 1000000 + (int64_t)llround(ret * 1e6));
    tm_store_prices_free(px);
    tm_store_close(s);
}
END_TEST

/* Signals and samples of a database as one text, for comparisons. */
static char *dump(const char *db)
{
    char out[700];
    snprintf(out, sizeof out, "%s.dump", db);
    ck_assert_int_eq(tm_test_system("sqlite3 %s \"SELECT symbol, date, label, p_sell, p_hold,"
                                    " p_buy, decision, capped, c_sell, c_hold, c_buy FROM signals"
                                    " ORDER BY symbol;"
                                    " SELECT rule FROM decision_rules ORDER BY model_id;"
                                    " SELECT symbol, date, label, fwd_return, hex(features) FROM"
                                    " training_samples ORDER BY date, symbol;"
                                    " SELECT metrics FROM models WHERE kind='meta';\" > %s",
                                    db, out),
                     0);
    return tm_test_slurp(out, NULL);
}

START_TEST(pipeline_as_of_ignores_later_prices)
{
    /* Day 400 is 2016-07-18; the full database has 29 more days. */
    char full[600], cut[600], models[600], reg[600];
    snprintf(full, sizeof full, "%s/full.db", dir());
    snprintf(cut, sizeof cut, "%s/cut.db", dir());
    build_db(full, N_DAYS, 20160718, true);
    build_db(cut, 401, 20160718, true);
    ck_assert_int_gt(q(full, "SELECT count(*) FROM prices WHERE date > '2016-07-18'"), 0);
    ck_assert_int_eq(q(cut, "SELECT count(*) FROM prices WHERE date > '2016-07-18'"), 0);
    const char *dbs[2] = {full, cut};
    for (int i = 0; i < 2; i++) {
        tm_pipeline *p = open_db(dbs[i], models, reg);
        tm_err err;
        tm_err_init(&err);
        tm_pipeline_report rep;
        ok(tm_pipeline_scan(p, 20160718, &rep, &err), &err);
        ck_assert_msg(strstr(rep.summary, "8 stocks scored for 2016-07-18") != NULL, "%s",
                      rep.summary);
        tm_pipeline_close(p);
    }
    char *a = dump(full), *b = dump(cut);
    ck_assert_int_gt(strlen(a), 1000);
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
}
END_TEST

START_TEST(pipeline_gate_force_and_rollback)
{
    char db[600], models[600], reg[600];
    snprintf(db, sizeof db, "%s/gate.db", dir());
    trained_copy(db);
    tm_pipeline *p = open_db(db, models, reg);
    tm_err err;
    tm_err_init(&err);
    tm_pipeline_report rep;
    int64_t first = q(db, "SELECT id FROM models WHERE kind='meta' AND active");
    ok(tm_pipeline_meta_retrain(p, 20160520, &rep, &err), &err);
    ck_assert_str_eq(rep.status, "skipped");
    ck_assert_ptr_nonnull(strstr(rep.summary, "skipped, the last retrain (2016-04-15) is 35 days "
                                              "old, the gate is 42 days"));
    /* samples of the six weeks since: days out of sample for both models */
    ok(tm_pipeline_backfill(p, 20160527, &rep, &err), &err);
    ok(tm_pipeline_meta_retrain(p, 20160527, &rep, &err), &err); /* 42 days */
    ck_assert_str_eq(rep.status, "ok");
    ck_assert_ptr_nonnull(strstr(rep.summary, "out-of-fold, time split + embargo"));
    ck_assert_ptr_nonnull(strstr(rep.summary, "in-sample, random split (original)"));
    ck_assert_ptr_nonnull(strstr(rep.summary, "always-HOLD"));
    /* the validation loss against the prior's, flagged by the recorded share */
    ck_assert_ptr_nonnull(strstr(rep.summary, "unweighted validation"));
    ck_assert_ptr_nonnull(strstr(rep.summary, " vs prior "));
    int64_t weak = q(db, "SELECT (json_extract(metrics, '$.prior_logloss') - json_extract(metrics,"
                         " '$.valid_logloss_deweighted')) < 0.01 * json_extract(metrics,"
                         " '$.prior_logloss') FROM models WHERE id = (SELECT max(id) FROM"
                         " models WHERE kind='meta')");
    ck_assert_int_eq(q(db, "SELECT json_extract(metrics, '$.under_1pct_over_prior') FROM models"
                           " WHERE id = (SELECT max(id) FROM"
                           " models WHERE kind='meta')"),
                     weak);
    ck_assert_int_eq(strstr(rep.summary, "<1% over prior") != NULL, weak);
    /* the comparison model's rounds are on record (did it hit the cap?) */
    int64_t cmp_best = q(db, "SELECT json_extract(metrics, '$.compare_best_iteration') FROM models"
                             " WHERE id = (SELECT max(id) FROM"
                             " models WHERE kind='meta')");
    ck_assert_int_ge(cmp_best, 0);
    char want[64];
    snprintf(want, sizeof want, "valid, best iteration %lld\n", (long long)cmp_best);
    ck_assert_ptr_nonnull(strstr(rep.summary, want));
    /* the promotion check: the candidate is active exactly when the
     * registry records it promoted, and the report says which */
    int64_t cand = q(db, "SELECT max(id) FROM models WHERE kind='meta'");
    int64_t promoted = q(db, "SELECT json_extract(metrics, '$.promoted') FROM models"
                             " WHERE kind='meta' AND id = (SELECT max(id) FROM models"
                             " WHERE kind='meta')");
    ck_assert_int_eq(q(db, "SELECT id FROM models WHERE kind='meta' AND active"),
                     promoted ? cand : first);
    ck_assert_ptr_nonnull(strstr(rep.summary, promoted ? "\n  promoted: " : "\n  not promoted: "));
    ck_assert_ptr_nonnull(strstr(rep.summary, "  promotion window 2016-04-"));
    ck_assert_ptr_nonnull(strstr(rep.summary, "    active (meta "));
    ck_assert_ptr_nonnull(strstr(rep.summary, "    random 5..95% (20 seeds"));
    ck_assert_ptr_nonnull(strstr(rep.summary, "  stability: "));
    ck_assert_int_eq(q(db, "SELECT json_extract(metrics, '$.flip_days') FROM models"
                           " WHERE id = (SELECT max(id) FROM models WHERE kind='meta')"),
                     20);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM meta_predictions"),
                     q(db, "SELECT count(*) FROM training_samples WHERE date <= '2016-05-20'"));
    /* --force activates whatever the figures */
    tm_pipeline_close(p);
    tm_pipeline_opts fo;
    opts_for(&fo, db, models, reg);
    fo.force = true;
    ok(tm_pipeline_open(&fo, &p, &err), &err);
    ok(tm_pipeline_meta_retrain(p, 20160527, &rep, &err), &err);
    int64_t second = q(db, "SELECT id FROM models WHERE kind='meta' AND active");
    ck_assert_int_eq(second, cand + 1);
    ck_assert_int_eq(q(db, "SELECT json_extract(metrics, '$.promoted') FROM models"
                           " WHERE kind='meta' AND active"),
                     1);
    ck_assert_ptr_nonnull(strstr(rep.summary, "\n  promoted: "));
    /* rollback goes to the model that served before, never to a refused one */
    int64_t before = promoted ? cand : first;
    ok(tm_pipeline_rollback(p, &rep, &err), &err);
    ck_assert_int_eq(q(db, "SELECT id FROM models WHERE kind='meta' AND active"), before);
    /* `models` lists the active rows only, `models --all` the older version too */
    char out[700];
    snprintf(out, sizeof out, "%s.models.txt", db);
    ck_assert_int_eq(tm_test_system("%s models --db %s > %s", tm_test_bin(), db, out), 0);
    char *txt = tm_test_slurp(out, NULL);
    ck_assert_ptr_null(strstr(txt, "inactive"));
    free(txt);
    ck_assert_int_eq(tm_test_system("%s models --all --db %s > %s", tm_test_bin(), db, out), 0);
    txt = tm_test_slurp(out, NULL);
    ck_assert_ptr_nonnull(strstr(txt, "meta_learner"));
    ck_assert_ptr_nonnull(strstr(txt, "  inactive  "));
    ck_assert_ptr_nonnull(strstr(txt, "  active  "));
    free(txt);
    ok(tm_pipeline_scan(p, 20160527, &rep, &err), &err);
    ck_assert_int_eq(q(db, "SELECT count(DISTINCT model_id) FROM signals"), 1);
    ck_assert_int_eq(q(db, "SELECT model_id FROM signals LIMIT 1"), before);
    tm_pipeline_close(p);
}
END_TEST

static void count_jobs(void *ctx, const tm_pipeline_report *rep)
{
    (void)rep;
    (*(int *)ctx)++;
}

/* The daemon's five jobs as a config file without meta_retrain's
 * start_date (the built-in one starts in 2026), with commands for the test
 * database's models and registry. */
static void write_schedule(const char *path)
{
    char reg[700];
    snprintf(reg, sizeof reg, "--registry %s/registry.json --folds 2", dir());
    const char *const jobs[5][3] = {
            {"outcome_tracker", "track-outcomes", "hour = 2\nminute = 0"},
            {"sample_generator", "generate-samples", "day_of_week = sun\nhour = 3\nminute = 0"},
            {"model_retrain", "model-retrain", "day = 1\nhour = 4\nminute = 0"},
            {"overnight_scan", "scan", "hour = 23\nminute = 0"},
            {"meta_retrain", "meta-retrain", "day_of_week = sun\nhour = 23\nminute = 45"}};
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    for (int i = 0; i < 5; i++) {
        bool models = i >= 2, retrain = i == 2;
        fprintf(fp,
                "[job %s]\ncommand = {turbomode} %s --db {db} --as-of {as_of}%s%s%s\n%s\n"
                "misfire_grace_time = 3600\nskip_exit = 3\nresources = database\n",
                jobs[i][0], jobs[i][1], models ? " --models-dir {db}.models --threads 2" : "",
                retrain ? " " : "", retrain ? reg : "", jobs[i][2]);
    }
    fclose(fp);
}

START_TEST(pipeline_replay_runs_the_schedule)
{
    char db[600], models[600], reg[600], conf[600];
    snprintf(db, sizeof db, "%s/replay.db", dir());
    snprintf(conf, sizeof conf, "%s/history.conf", dir());
    trained_copy(db);
    write_schedule(conf);
    tm_pipeline *p = open_db(db, models, reg);
    tm_err err;
    tm_err_init(&err);
    int n = 0;
    /* Mon 2016-04-18 .. Sun 2016-05-01: 14 nights */
    ok(tm_pipeline_replay(p, 20160418, 20160501, conf, count_jobs, &n, &err), &err);
    tm_pipeline_close(p);
    /* 14 scans + 14 trackers + 2 sample generators + 2 meta retrains; the 1st of May
     * model_retrain fires at 04:00 on 2016-05-01 */
    ck_assert_int_eq(n, 14 + 14 + 2 + 2 + 1);
    /* the scheduler recorded every run in its job_runs table, and what each job
     * decided: the weekend scans and the gated meta retrains were skipped */
    ck_assert_int_eq(q(db, "SELECT count(*) FROM job_runs"), n);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM job_runs WHERE status='success'"), n - 4 - 2);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM job_runs WHERE job='meta_retrain'"
                           " AND status='gate_skip'"),
                     2);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM job_runs WHERE job='model_retrain' AND"
                           " scheduled LIKE '2016-05-01T04:00:00%'"),
                     1);
    /* real durations: each run took the time its job took (at least 1 us) */
    ck_assert_int_eq(q(db, "SELECT count(*) FROM job_runs WHERE ended_us <= started_us"), 0);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM job_results WHERE job='overnight_scan'"
                           " AND status='ok'"),
                     10);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM job_results WHERE job='meta_retrain'"
                           " AND status='skipped'"),
                     2);
    /* job_runs and job_results agree run for run */
    ck_assert_int_eq(q(db, "SELECT count(*) FROM job_results WHERE status='skipped'"),
                     q(db, "SELECT count(*) FROM job_runs WHERE status='gate_skip'"));
    ck_assert_int_eq(q(db, "SELECT count(*) FROM job_results WHERE job='model_retrain'"), 2);
    ck_assert_int_gt(q(db, "SELECT count(*) FROM signal_outcomes"), 0);
    ck_assert_int_gt(q(db, "SELECT count(*) FROM training_samples WHERE source=1"), 0);
    /* No night saw a later price: each scan's signals are for its own as_of day. */
    ck_assert_int_eq(q(db, "SELECT count(*) FROM signals s JOIN job_results j ON"
                           " j.job='overnight_scan' AND j.status='ok' AND s.date > j.as_of"
                           " AND s.date <= (SELECT min(date) FROM signals)"),
                     0);
}
END_TEST

/* The daemon's side of the comparison: the scheduler on a fake clock with
 * an executor that runs each expanded command as a child process of the
 * real binary, to its end, and moves the clock on by its run time. */
typedef struct daemon_sim {
    tm_sched_time now;
    bool ended;
    tm_sched_run_result res;
} daemon_sim;

static tm_sched_time d_now(void *ctx)
{
    return ((daemon_sim *)ctx)->now;
}

static void d_wait(void *ctx, tm_sched_time deadline)
{
    daemon_sim *d = ctx;
    if (deadline != TM_SCHED_NEVER && deadline > d->now) {
        d->now = deadline;
    }
}

static tm_status d_start(void *ctx, const tm_sched_run_req *req, int64_t *handle, int64_t *pid,
                         tm_err *err)
{
    (void)err;
    daemon_sim *d = ctx;
    memset(&d->res, 0, sizeof d->res);
    int rc = tm_test_system("%s >/dev/null 2>&1", req->command);
    ck_assert_int_lt(rc, 128); /* not killed by a signal */
    d->res.exit_code = rc;
    d->now += TM_SCHED_SECOND;
    d->ended = true;
    *handle = 1;
    *pid = 0;
    return TM_OK;
}

static bool d_poll(void *ctx, int64_t handle, tm_sched_time now, tm_sched_run_result *res)
{
    (void)handle;
    (void)now;
    daemon_sim *d = ctx;
    *res = d->res;
    d->ended = false;
    return true;
}

static void d_kill(void *ctx, int64_t handle, bool hard)
{
    (void)ctx;
    (void)handle;
    (void)hard;
}

static tm_sched_time d_next(void *ctx)
{
    daemon_sim *d = ctx;
    return d->ended ? d->now : TM_SCHED_NEVER;
}

/* job_runs as text: job, fire, status and fire count per row. */
static char *runs_text(const char *db)
{
    char out[700];
    snprintf(out, sizeof out, "%s.runs.txt", db);
    ck_assert_int_eq(tm_test_system("sqlite3 '%s' \"SELECT job, scheduled, status, fires FROM"
                                    " job_runs ORDER BY scheduled_us, job\" > '%s'",
                                    db, out),
                     0);
    return tm_test_slurp(out, NULL);
}

/* One schedule, one gate: replay and the daemon (fake clock, real job
 * processes) over the same nights write the same job_runs, and job_results
 * agrees with it. Fri 2016-04-22 .. Mon 04-25: the weekend scans find
 * their day scored, the Sunday meta retrain is 9 days after the last
 * retrain (gate 42). */
START_TEST(pipeline_replay_and_daemon_agree)
{
    char a[600], b[600], models[600], reg[600], conf[600];
    snprintf(a, sizeof a, "%s/agree_replay.db", dir());
    snprintf(b, sizeof b, "%s/agree_daemon.db", dir());
    snprintf(conf, sizeof conf, "%s/agree.conf", dir());
    trained_copy(a);
    trained_copy(b);
    write_schedule(conf);
    int64_t ok_before = q(a, "SELECT count(*) FROM job_results WHERE status='ok'");
    int64_t skipped_before = q(a, "SELECT count(*) FROM job_results WHERE status='skipped'");
    tm_pipeline *p = open_db(a, models, reg);
    tm_err err;
    tm_err_init(&err);
    ok(tm_pipeline_replay(p, 20160422, 20160425, conf, NULL, NULL, &err), &err);
    tm_pipeline_close(p);

    tm_sched_config *cfg = NULL;
    ok(tm_sched_config_load(conf, &cfg, &err), &err);
    ok(tm_sched_config_set_db(cfg, b, &err), &err);
    ok(tm_sched_config_set_binary(cfg, tm_test_bin(), &err), &err);
    tm_sched_job_info info;
    tm_sched_config_job(cfg, 0, &info);
    daemon_sim d;
    memset(&d, 0, sizeof d);
    tm_sched_time end;
    ok(tm_sched_time_parse("2016-04-22T00:00:00", tm_sched_trigger_zone(info.trigger), &d.now,
                           &err),
       &err);
    ok(tm_sched_time_parse("2016-04-25T23:59:59", tm_sched_trigger_zone(info.trigger), &end, &err),
       &err);
    tm_sched_clock clock = {d_now, d_wait, &d};
    tm_sched_executor exec = {d_start, d_poll, d_kill, d_next, &d};
    tm_sched_options opt;
    tm_sched_options_init(&opt);
    opt.clock = &clock;
    opt.exec = &exec;
    opt.durable = false;
    tm_sched *s = NULL;
    ok(tm_sched_open(cfg, &opt, &s, &err), &err);
    ok(tm_sched_run(s, end, &err), &err);
    tm_sched_close(s);
    tm_sched_config_free(cfg);

    char *ra = runs_text(a), *rb = runs_text(b);
    ck_assert_ptr_nonnull(ra);
    ck_assert_ptr_nonnull(rb);
    ck_assert_str_eq(ra, rb);
    ck_assert_ptr_nonnull(strstr(ra, "meta_retrain|2016-04-24T23:45:00-04:00|gate_skip|1\n"));
    ck_assert_ptr_nonnull(strstr(ra, "overnight_scan|2016-04-23T23:00:00-04:00|gate_skip|1\n"));
    ck_assert_ptr_nonnull(strstr(ra, "overnight_scan|2016-04-25T23:00:00-04:00|success|1\n"));
    free(ra);
    free(rb);
    for (int i = 0; i < 2; i++) {
        const char *db = i ? b : a;
        ck_assert_int_eq(q(db, "SELECT count(*) FROM job_results WHERE status='skipped'") -
                                 skipped_before,
                         q(db, "SELECT count(*) FROM job_runs WHERE status='gate_skip'"));
        ck_assert_int_eq(q(db, "SELECT count(*) FROM job_results WHERE status='ok'") - ok_before,
                         q(db, "SELECT count(*) FROM job_runs WHERE status='success'"));
    }
}
END_TEST

/* Runs the CLI job in the background with a pause point, waits for it
 * to arrive there, kills it with SIGKILL. */
static void kill_mid_job(const char *db, const char *step, const char *args)
{
    char flag[700], cmd[2048];
    snprintf(flag, sizeof flag, "%s.%s.flag", db, step);
    remove(flag);
    snprintf(cmd, sizeof cmd,
             "TM_TEST_PAUSE_AT=%s:%s exec %s %s --db %s --models-dir %s.models "
             ">/dev/null 2>&1",
             step, flag, tm_test_prog(), args, db, db);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    int i = 0;
    while (access(flag, F_OK) != 0 && i++ < 600) {
        usleep(50000);
    }
    ck_assert_msg(access(flag, F_OK) == 0, "%s never reached its pause point", args);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

START_TEST(pipeline_kill_9_mid_meta_retrain_keeps_previous_model)
{
    char db[600];
    snprintf(db, sizeof db, "%s/kill_meta.db", dir());
    trained_copy(db);
    int64_t active = q(db, "SELECT id FROM models WHERE kind='meta' AND active");
    int64_t preds = q(db, "SELECT count(*) FROM meta_predictions");
    int64_t sum = q(db, "SELECT sum(length(oof)) + count(*) FROM meta_predictions");
    int64_t runs = q(db, "SELECT count(*) FROM job_results");
    kill_mid_job(db, "meta_retrain", "meta-retrain --force --as-of 2016-04-29");
    ck_assert_int_eq(q(db, "SELECT count(*) FROM pragma_integrity_check WHERE"
                           " integrity_check = 'ok'"),
                     1);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    ck_assert_int_eq(q(db, "SELECT id FROM models WHERE kind='meta' AND active"), active);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM models WHERE kind='meta'"), 1);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM meta_predictions"), preds);
    ck_assert_int_eq(q(db, "SELECT sum(length(oof)) + count(*) FROM meta_predictions"), sum);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM job_results"), runs);
    /* and the database works: the same job now completes */
    ck_assert_int_eq(tm_test_system("%s meta-retrain --force --as-of 2016-04-29 --db %s "
                                    "--models-dir %s.models >/dev/null",
                                    tm_test_bin(), db, db),
                     0);
    ck_assert_int_ne(q(db, "SELECT id FROM models WHERE kind='meta' AND active"), active);
}
END_TEST

START_TEST(pipeline_kill_9_mid_scan_writes_no_signal)
{
    char db[600];
    snprintf(db, sizeof db, "%s/kill_scan.db", dir());
    trained_copy(db);
    kill_mid_job(db, "scan", "scan --as-of 2016-04-22");
    ck_assert_int_eq(q(db, "SELECT count(*) FROM pragma_integrity_check WHERE"
                           " integrity_check = 'ok'"),
                     1);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM signals"), 0);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM job_results WHERE job='overnight_scan'"), 0);
    /* The program under test has no test-control points: the same
     * variable neither pauses it nor makes it create the file. */
    char flag[700];
    snprintf(flag, sizeof flag, "%s.release.flag", db);
    ck_assert_int_eq(tm_test_system("TM_TEST_PAUSE_AT=scan:%s %s scan --as-of 2016-04-22 --db %s "
                                    "--models-dir %s.models >/dev/null",
                                    flag, tm_test_bin(), db, db),
                     0);
    ck_assert_int_ne(access(flag, F_OK), 0);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM signals WHERE date = '2016-04-22'"), N_SYM);
}
END_TEST

START_TEST(pipeline_registry_entry_can_be_a_real_library_model)
{
    if (!tm_test_shared_has("fixtures/lightgbm/market_multiclass/model.txt",
                            "registry entry pointing at a LightGBM-exported model")) {
        return;
    }
    char db[600], models[600], reg[600], real[1024];
    snprintf(db, sizeof db, "%s/external.db", dir());
    build_db(db, N_DAYS, 20160415, false);
    snprintf(real, sizeof real, "%s/fixtures/lightgbm/market_multiclass/model.txt",
             tm_test_shared_dir());
    tm_pipeline_opts o;
    opts_for(&o, db, models, reg);
    snprintf(reg, sizeof reg, "%s/registry_external.json", dir());
    FILE *fp = fopen(reg, "w");
    fprintf(fp,
            "{\"models\": [{\"name\": \"xgb_small\", \"family\": \"xgboost\","
            " \"growth\": \"depthwise\", \"max_depth\": 3, \"max_rounds\": 4},"
            " {\"name\": \"lgbm_real\", \"family\": \"lightgbm\", \"file\": \"%s\"}]}",
            real);
    fclose(fp);
    tm_pipeline *p = NULL;
    tm_err err;
    tm_err_init(&err);
    ok(tm_pipeline_open(&o, &p, &err), &err);
    tm_pipeline_report rep;
    ok(tm_pipeline_model_retrain(p, 20160415, &rep, &err), &err);
    ck_assert_ptr_nonnull(strstr(rep.summary, "lgbm_real      external file"));
    ck_assert_ptr_nonnull(strstr(rep.summary, "2 base models (generation 1), 19 meta features"));
    ok(tm_pipeline_scan(p, 20160415, &rep, &err), &err);
    tm_pipeline_close(p);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM models WHERE kind='base' AND active AND"
                           " format='external'"),
                     1);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM signals"), N_SYM);
}
END_TEST

/* The largest registry (16 models: 6 * 16 + 7 = 103 meta features) runs
 * through both retrains; every meta feature name reaches the saved model
 * (the sanitize build checks no buffer overflows on the way). */
START_TEST(pipeline_sixteen_model_registry_retrains)
{
    char db[600], models[600], reg[600];
    snprintf(db, sizeof db, "%s/sixteen.db", dir());
    build_db(db, N_DAYS, 20160415, false);
    tm_pipeline_opts o;
    opts_for(&o, db, models, reg);
    snprintf(reg, sizeof reg, "%s/registry_16.json", dir());
    FILE *fp = fopen(reg, "w");
    ck_assert_ptr_nonnull(fp);
    static const char *const family[3] = {"xgboost", "lightgbm", "catboost"};
    static const char *const growth[3] = {"depthwise", "leafwise", "oblivious"};
    fputs("{\"models\": [", fp);
    for (int i = 0; i < 16; i++) {
        fprintf(fp,
                "%s{\"name\": \"m%02d\", \"family\": \"%s\", \"growth\": \"%s\","
                " \"max_depth\": 2, \"num_leaves\": 4, \"max_rounds\": 2}",
                i ? ", " : "", i, family[i % 3], growth[i % 3]);
    }
    fputs("]}", fp);
    fclose(fp);
    o.n_folds = 2;
    tm_pipeline *p = NULL;
    tm_err err;
    tm_err_init(&err);
    ok(tm_pipeline_open(&o, &p, &err), &err);
    tm_pipeline_report rep;
    ok(tm_pipeline_model_retrain(p, 20160415, &rep, &err), &err);
    ck_assert_ptr_nonnull(strstr(rep.summary, "16 base models (generation 1), 103 meta features"));
    ck_assert_uint_eq(rep.n_steps, 1 + 16 + 7 + 1); /* samples, models, meta steps, meta total */
    ck_assert_str_eq(rep.steps[16].name, "m15");
    tm_pipeline_close(p);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM models WHERE kind='base' AND active"), 16);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM models WHERE kind='fold' AND active"), 32);
    ck_assert_int_eq(q(db, "SELECT max(slot) FROM models WHERE kind='fold'"), 1501);
    char path[700];
    snprintf(path, sizeof path, "%s/meta_learner_v2/meta_v1.txt", models);
    char *text = tm_test_slurp(path, NULL);
    ck_assert_ptr_nonnull(text);
    const char *names = strstr(text, "\nfeature_names=");
    ck_assert_ptr_nonnull(names);
    ck_assert(strncmp(names, "\nfeature_names=m1_sell m1_hold m1_buy m2_sell ", 46) == 0);
    ck_assert_ptr_nonnull(strstr(names, " m16_buy asymmetry_1 max_directional_1 "));
    ck_assert_ptr_nonnull(strstr(names, " neutral_dominance_16 avg_asymmetry std_asymmetry "
                                        "avg_max_directional avg_neutral_dominance buy_consensus "
                                        "sell_consensus hold_consensus\n"));
    ck_assert_ptr_nonnull(strstr(text, "\nmax_feature_idx=102\n"));
    free(text);
}
END_TEST

/* A registry entry that is not understood is refused with the file, line
 * and field; nothing is filled in from another entry or guessed. */
START_TEST(pipeline_registry_errors_name_the_field)
{
    static const struct {
        const char *json, *msg;
    } cases[] = {
            {"{\"models\": [{\"name\": \"a\", \"family\": \"xgboost\",\n"
             " \"growth\": \"sideways\"}]}",
             ":2: field 'models[0].growth': expected depthwise, leafwise or oblivious, found "
             "\"sideways\""},
            {"{\"models\": [{\"name\": \"../a\", \"family\": \"xgboost\"}]}",
             ":1: field 'models[0].name': expected letters, digits, '_' or '-', found \"../a\""},
            {"{\"models\": [{\"name\": \"a\", \"family\": \"xgboost\", \"max_depht\": 3}]}",
             ":1: field 'models[0].max_depht': unknown key in a registry entry"},
            {"{\"models\": [{\"family\": \"xgboost\"}]}", ":1: field 'models[0].name': missing"},
            {"{\"models\": [{\"name\": \"a\", \"family\": \"xgboost\", \"learning_rate\": 0}]}",
             ":1: field 'models[0].learning_rate': expected a number in [1e-06, 1], found 0"},
            /* the trainer's limits: 30 levels, 12 for oblivious trees, rates from 1e-6 */
            {"{\"models\": [{\"name\": \"a\", \"family\": \"xgboost\", \"max_depth\": 31}]}",
             ":1: field 'models[0].max_depth': expected an integer in 1..30, found 31"},
            {"{\"models\": [{\"name\": \"a\", \"family\": \"catboost\", \"max_depth\": 13}]}",
             ":1: field 'models[0].max_depth': expected an integer in 1..12, found 13"},
            {"{\"models\": [{\"name\": \"a\", \"family\": \"xgboost\", \"row_subsample\":"
             " 1e-7}]}",
             ":1: field 'models[0].row_subsample': expected a number in [1e-06, 1], found 1e-07"},
            {"{\"models\": [{\"name\": \"a\", \"family\": \"xgboost\", \"max_rounds\": 2.5}]}",
             ":1: field 'models[0].max_rounds': expected an integer in 1..100000, found 2.5"},
            {"{\"models\": [{\"name\": \"a\", \"family\": \"xgboost\"},\n"
             " {\"name\": \"a\", \"family\": \"catboost\"}]}",
             ":2: field 'models[1].name': expected distinct names, found \"a\" twice"},
            {"{\"models\": []}",
             ":1: field 'models': expected an array of 1 to 16 models, found 0"},
            {"{\"models\": [{\"name\": \"a\", \"family\": \"lightgbm\", \"file\": \"x.txt\","
             " \"max_depth\": 3}]}",
             ":1: field 'models[0].max_depth': unknown key in an exported-model entry"},
            {"{\"models\": [{\"name\": "
             "\"a234567890123456789012345678901234567890123456789012345678901\","
             " \"family\": \"xgboost\"}]}",
             ":1: field 'models[0].name': expected 1 to 60 characters without NUL, found 61"},
    };
    char db[600], models[600], reg[600];
    snprintf(db, sizeof db, "%s/badreg.db", dir());
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tm_pipeline_opts o;
        opts_for(&o, db, models, reg);
        snprintf(reg, sizeof reg, "%s/bad_registry.json", dir());
        FILE *fp = fopen(reg, "w");
        ck_assert_ptr_nonnull(fp);
        fputs(cases[i].json, fp);
        fclose(fp);
        tm_pipeline *p = NULL;
        tm_err err;
        tm_err_init(&err);
        ck_assert_int_eq(tm_pipeline_open(&o, &p, &err), TM_E_PARSE);
        ck_assert_ptr_null(p);
        char msg[1024], want[1200];
        snprintf(want, sizeof want, "%s%s", reg, cases[i].msg);
        ck_assert_str_eq(tm_err_format(&err, msg, sizeof msg), want);
    }
    /* a models directory too long for the model paths is refused, not cut */
    tm_pipeline_opts o;
    opts_for(&o, db, models, reg);
    char longdir[600];
    memset(longdir, 'd', 501);
    longdir[501] = 0;
    o.models_dir = longdir;
    tm_pipeline *p = NULL;
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_pipeline_open(&o, &p, &err), TM_E_INVALID);
    char msg[1024];
    ck_assert_str_eq(tm_err_format(&err, msg, sizeof msg),
                     "field '--models-dir': expected a path of at most 500 bytes, found 501");
}
END_TEST

/* Opens db with the test options changed by set (may be NULL). */
static tm_pipeline *open_with(const char *db, void (*set)(tm_pipeline_opts *o), char *models,
                              char *reg)
{
    tm_pipeline_opts o;
    opts_for(&o, db, models, reg);
    if (set) {
        set(&o);
    }
    tm_pipeline *p = NULL;
    tm_err err;
    tm_err_init(&err);
    ok(tm_pipeline_open(&o, &p, &err), &err);
    return p;
}

static void no_cap(tm_pipeline_opts *o)
{
    o->max_signals = 0;
    o->force = true;
}

static void cap_3(tm_pipeline_opts *o)
{
    o->max_signals = 3;
    o->force = true;
}

/* The stored rule of the active meta-learner, parsed. */
static void active_rule(const char *db, tm__decide_rule *r)
{
    tm_store *s = NULL;
    ck_assert_int_eq(tm_store_open(db, &s, NULL), TM_OK);
    int64_t id = -1;
    ck_assert_int_eq(
            tm_store_query_int(s, "SELECT id FROM models WHERE kind='meta' AND active", &id, NULL),
            TM_OK);
    char *text = NULL;
    ck_assert_int_eq(tm_store_rule_get(s, id, &text, NULL), TM_OK);
    ck_assert_ptr_nonnull(text);
    ck_assert_int_eq(tm__decide_rule_parse(text, "rule", r, NULL), TM_OK);
    tm_free(text);
    tm_store_close(s);
}

/* Signals of date in db (symbol order). */
static tm_store_signal *signals_of(const char *db, int32_t date, size_t *n)
{
    tm_store *s = NULL;
    ck_assert_int_eq(tm_store_open(db, &s, NULL), TM_OK);
    tm_store_signal *sig = NULL;
    ck_assert_int_eq(tm_store_signals_on(s, date, &sig, n, NULL), TM_OK);
    tm_store_close(s);
    return sig;
}

/* model-retrain fits the rule on the meta-learner's validation rows and
 * stores it with the model; the scan decides by it: each signal's
 * calibrated values are the stored curves at its raw probabilities, and
 * its class is BUY / SELL exactly where a calibrated value clears its
 * side's threshold. */
START_TEST(pipeline_retrain_stores_rule_and_scan_applies_it)
{
    char db[600], models[600], reg[600];
    snprintf(db, sizeof db, "%s/rule.db", dir());
    trained_copy(db);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM decision_rules r JOIN models m ON m.id ="
                           " r.model_id WHERE m.kind = 'meta' AND m.active"),
                     1);
    tm__decide_rule r;
    active_rule(db, &r);
    ck_assert_double_eq_tol(r.target, 0.15, 1e-12); /* the default */
    /* the rule saw exactly the retrain's validation rows, in date order */
    ck_assert_int_eq((int64_t)(r.n_cal + r.n_thr),
                     q(db, "SELECT json_extract(metrics, '$.n_valid') FROM models"
                           " WHERE kind='meta' AND active"));
    ck_assert_int_gt((int64_t)r.n_thr, 0);
    ck_assert_int_lt(r.cal_to, r.thr_from);
    ck_assert_int_le(r.thr_to, 20160415);
    tm_pipeline *p = open_with(db, no_cap, models, reg);
    tm_err err;
    tm_err_init(&err);
    tm_pipeline_report rep;
    ok(tm_pipeline_scan(p, 20160415, &rep, &err), &err);
    tm_pipeline_close(p);
    ck_assert_msg(strstr(rep.summary, "  decision rule of meta model ") != NULL, "%s", rep.summary);
    ck_assert_ptr_null(strstr(rep.summary, "cap:"));
    size_t n = 0;
    tm_store_signal *s = signals_of(db, 20160415, &n);
    ck_assert_uint_eq(n, N_SYM);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(s[i].decision, TM_STORE_DECIDED_RULE);
        ck_assert(!s[i].capped);
        for (int c = 0; c < 3; c++) {
            ck_assert_double_eq(s[i].cal[c], tm__decide_curve_at(&r.cal[c], s[i].prob[c]));
        }
        bool buy = s[i].cal[2] >= r.threshold[2], sell = s[i].cal[0] >= r.threshold[0];
        int want = buy && sell ? (s[i].cal[2] > s[i].cal[0]   ? 2
                                  : s[i].cal[0] > s[i].cal[2] ? 0
                                                              : 1)
                   : buy       ? 2
                   : sell      ? 0
                               : 1;
        ck_assert_int_eq(s[i].label, want);
    }
    tm_free(s);
    tm__decide_rule_fini(&r);
}
END_TEST

/* A hand-written rule: every calibrated p(buy) is 0.5 against a BUY
 * threshold of 0.4, p(sell) 0.1 against 0.9: all 8 stocks are BUY, a
 * one-sided day. With a cap of 3 the 3 highest raw p(buy) stay BUY (the
 * calibrated values tie), the other 5 become HOLD marked capped. */
START_TEST(pipeline_scan_cap_and_one_sided_day_by_hand_rule)
{
    char db[600], models[600], reg[600];
    snprintf(db, sizeof db, "%s/cap.db", dir());
    trained_copy(db);
    ck_assert_int_eq(
            tm_test_system("sqlite3 %s \"UPDATE decision_rules SET rule = '{\\\"version\\\": 1,"
                           " \\\"target\\\": 0.3, \\\"n_cal\\\": 10, \\\"n_thr\\\": 10,"
                           " \\\"cal_from\\\": 20160101, \\\"cal_to\\\": 20160201,"
                           " \\\"thr_from\\\": 20160202, \\\"thr_to\\\": 20160301,"
                           " \\\"classes\\\": [{\\\"x\\\": [0], \\\"y\\\": [0.1],"
                           " \\\"threshold\\\": 0.9, \\\"sel_n\\\": 0, \\\"sel_hits\\\": 0,"
                           " \\\"sel_lower\\\": null, \\\"base_rate\\\": 0.1},"
                           " {\\\"x\\\": [0], \\\"y\\\": [0.4], \\\"threshold\\\": null,"
                           " \\\"sel_n\\\": 0, \\\"sel_hits\\\": 0, \\\"sel_lower\\\": null,"
                           " \\\"base_rate\\\": null},"
                           " {\\\"x\\\": [0], \\\"y\\\": [0.5], \\\"threshold\\\": 0.4,"
                           " \\\"sel_n\\\": 5, \\\"sel_hits\\\": 4, \\\"sel_lower\\\": 0.37,"
                           " \\\"base_rate\\\": 0.2}]}'\"",
                           db),
            0);
    tm_pipeline *p = open_with(db, no_cap, models, reg);
    tm_err err;
    tm_err_init(&err);
    tm_pipeline_report rep;
    ok(tm_pipeline_scan(p, 20160415, &rep, &err), &err);
    tm_pipeline_close(p);
    ck_assert_msg(strstr(rep.summary, ": BUY 8, HOLD 0, SELL 0 (meta model ") != NULL, "%s",
                  rep.summary);
    ck_assert_ptr_nonnull(strstr(rep.summary, " (target precision 0.30): BUY at calibrated p >= "
                                              "0.400; SELL at calibrated p >= 0.900\n"));
    ck_assert_ptr_nonnull(strstr(rep.summary, "  one-sided day: BUY for 8 of 8 stocks before the "
                                              "cap (more than half the universe), 8 issued\n"));
    size_t n = 0;
    tm_store_signal *s = signals_of(db, 20160415, &n);
    ck_assert_uint_eq(n, N_SYM);
    /* the 3 highest raw p(buy), worked out from the stored probabilities */
    double top[3] = {-1, -1, -1};
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(s[i].label, 2);
        ck_assert_double_eq_tol(s[i].cal[0], 0.1, 1e-12);
        ck_assert_double_eq_tol(s[i].cal[1], 0.4, 1e-12);
        ck_assert_double_eq_tol(s[i].cal[2], 0.5, 1e-12);
        double v = s[i].prob[2];
        for (int k = 0; k < 3; k++) {
            if (v > top[k]) {
                double t = top[k];
                top[k] = v;
                v = t;
            }
        }
    }
    tm_free(s);
    p = open_with(db, cap_3, models, reg);
    ok(tm_pipeline_scan(p, 20160415, &rep, &err), &err);
    tm_pipeline_close(p);
    ck_assert_msg(strstr(rep.summary, ": BUY 3, HOLD 5, SELL 0 (meta model ") != NULL, "%s",
                  rep.summary);
    ck_assert_ptr_nonnull(strstr(rep.summary, "  cap: at most 3 BUY and 3 SELL a day; held back as "
                                              "HOLD: 5 BUY, 0 SELL\n"));
    ck_assert_ptr_nonnull(strstr(rep.summary, "  one-sided day: BUY for 8 of 8 stocks before the "
                                              "cap (more than half the universe), 3 issued\n"));
    s = signals_of(db, 20160415, &n);
    for (size_t i = 0; i < n; i++) {
        bool kept = s[i].prob[2] >= top[2];
        ck_assert_int_eq(s[i].label, kept ? 2 : 1);
        ck_assert_int_eq(s[i].capped, !kept);
    }
    tm_free(s);
    /* `signals` shows the calibrated values and what decided */
    char out[700];
    snprintf(out, sizeof out, "%s.signals.txt", db);
    ck_assert_int_eq(tm_test_system("%s signals --db %s > %s", tm_test_bin(), db, out), 0);
    char *txt = tm_test_slurp(out, NULL);
    ck_assert_msg(strstr(txt, "  decided by the meta-learner's decision rule (calibrated "
                              "probabilities against thresholds chosen for a target precision); "
                              "5 BUY/SELL held back as HOLD by the day's cap\n") != NULL,
                  "%s", txt);
    ck_assert_ptr_nonnull(strstr(txt, "  rule: calibrated p(sell) 0.100 p(buy) 0.500\n"));
    ck_assert_ptr_nonnull(strstr(txt, "  rule: calibrated p(sell) 0.100 p(buy) 0.500, capped\n"));
    free(txt);
}
END_TEST

/* A meta-learner without a stored rule (a database from before rules
 * were kept): the scan falls back to the most probable class (ties to
 * HOLD), says so, and stores no calibrated values. */
START_TEST(pipeline_scan_without_rule_falls_back_to_argmax)
{
    char db[600], models[600], reg[600];
    snprintf(db, sizeof db, "%s/norule.db", dir());
    trained_copy(db);
    ck_assert_int_eq(tm_test_system("sqlite3 %s 'DELETE FROM decision_rules'", db), 0);
    tm_pipeline *p = open_with(db, no_cap, models, reg);
    tm_err err;
    tm_err_init(&err);
    tm_pipeline_report rep;
    ok(tm_pipeline_scan(p, 20160415, &rep, &err), &err);
    tm_pipeline_close(p);
    char want[160];
    snprintf(want, sizeof want,
             "  no decision rule stored with meta model %lld (trained before rules were kept): "
             "the most probable class decides\n",
             (long long)q(db, "SELECT id FROM models WHERE kind='meta' AND active"));
    ck_assert_msg(strstr(rep.summary, want) != NULL, "%s", rep.summary);
    size_t n = 0;
    tm_store_signal *s = signals_of(db, 20160415, &n);
    ck_assert_uint_eq(n, N_SYM);
    for (size_t i = 0; i < n; i++) {
        const double *pr = s[i].prob;
        int best = pr[2] > pr[1] ? 2 : 1;
        best = pr[0] > pr[best] ? 0 : best;
        ck_assert_int_eq(s[i].label, best);
        ck_assert_int_eq(s[i].decision, TM_STORE_DECIDED_ARGMAX);
        ck_assert(isnan(s[i].cal[0]) && isnan(s[i].cal[1]) && isnan(s[i].cal[2]));
    }
    tm_free(s);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM signals WHERE c_buy IS NOT NULL"), 0);
    char out[700];
    snprintf(out, sizeof out, "%s.signals.txt", db);
    ck_assert_int_eq(tm_test_system("%s signals --db %s > %s", tm_test_bin(), db, out), 0);
    char *txt = tm_test_slurp(out, NULL);
    ck_assert_ptr_nonnull(strstr(txt, "  decided by the most probable class: the meta-learner has "
                                      "no decision rule (trained before rules were kept)"));
    ck_assert_ptr_nonnull(strstr(txt, "  argmax\n"));
    free(txt);
}
END_TEST

static void unreachable_target(tm_pipeline_opts *o)
{
    o->target_precision = 0.99;
    o->gate_days = 1;
}

/* Promotion judges a candidate by its own rule: with a target no
 * threshold reaches, both sides abstain, the candidate issues no BUY or
 * SELL in the window and is not promoted, and the report says so. */
START_TEST(pipeline_promotion_judges_by_the_candidates_rule)
{
    char db[600], models[600], reg[600];
    snprintf(db, sizeof db, "%s/promote_rule.db", dir());
    trained_copy(db);
    int64_t first = q(db, "SELECT id FROM models WHERE kind='meta' AND active");
    tm_pipeline *p = open_with(db, unreachable_target, models, reg);
    tm_err err;
    tm_err_init(&err);
    tm_pipeline_report rep;
    ok(tm_pipeline_backfill(p, 20160527, &rep, &err), &err);
    ok(tm_pipeline_meta_retrain(p, 20160527, &rep, &err), &err);
    tm_pipeline_close(p);
    ck_assert_msg(strstr(rep.summary,
                         "Wilson 95% lower bound reaches 0.99 and the side's base rate") != NULL,
                  "%s", rep.summary);
    ck_assert_ptr_nonnull(strstr(rep.summary, "; BUY abstains (no threshold reaches it); SELL "
                                              "abstains (no threshold reaches it)\n"));
    ck_assert_ptr_nonnull(strstr(rep.summary, "the candidate by its decision rule"));
    ck_assert_ptr_nonnull(strstr(rep.summary, "the active model by its own rule"));
    ck_assert_ptr_nonnull(strstr(rep.summary, "\n  not promoted: the candidate has no day with "
                                              "both a BUY and a SELL in the window\n"));
    /* no calls, so no random band: shown as "-", not "nan" */
    ck_assert_ptr_nonnull(strstr(rep.summary, "daily counts): net spread -..-\n"));
    ck_assert_int_eq(q(db, "SELECT id FROM models WHERE kind='meta' AND active"), first);
    /* the refused candidate's rule is kept with it all the same */
    ck_assert_int_eq(q(db, "SELECT count(*) FROM decision_rules"), 2);
}
END_TEST

START_TEST(pipeline_zz_cleanup)
{
    ck_assert_int_eq(tm_test_system("rm -rf '%s'", dir()), 0);
}
END_TEST

TM_TEST_SUITE(pipeline);
TM_TEST_SUITE(pipeline)
{
    Suite *s = suite_create("pipeline");
    TCase *tc = tcase_create("pipeline");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, pipeline_import_bad_row_loads_nothing_and_names_line);
    tcase_add_test(tc, pipeline_import_header_errors);
    tcase_add_test(tc, pipeline_backfill_labels_by_hand);
    tcase_add_test(tc, pipeline_as_of_ignores_later_prices);
    tcase_add_test(tc, pipeline_gate_force_and_rollback);
    tcase_add_test(tc, pipeline_replay_runs_the_schedule);
    tcase_add_test(tc, pipeline_replay_and_daemon_agree);
    tcase_add_test(tc, pipeline_kill_9_mid_meta_retrain_keeps_previous_model);
    tcase_add_test(tc, pipeline_kill_9_mid_scan_writes_no_signal);
    tcase_add_test(tc, pipeline_registry_entry_can_be_a_real_library_model);
    tcase_add_test(tc, pipeline_sixteen_model_registry_retrains);
    tcase_add_test(tc, pipeline_registry_errors_name_the_field);
    tcase_add_test(tc, pipeline_retrain_stores_rule_and_scan_applies_it);
    tcase_add_test(tc, pipeline_scan_cap_and_one_sided_day_by_hand_rule);
    tcase_add_test(tc, pipeline_scan_without_rule_falls_back_to_argmax);
    tcase_add_test(tc, pipeline_promotion_judges_by_the_candidates_rule);
    tcase_add_test(tc, pipeline_zz_cleanup);
    suite_add_tcase(s, tc);
    return s;
}
