/* The --labels option through the jobs: the cross-sectional classes of a
 * hand price panel; backfill with xs-decile on a 12-stock market (each
 * day's BUY and SELL against the scores recomputed here from the
 * closes); the database's record of its labelling and the refusal of a
 * job asked for the other kind; retrains without class weights, with the
 * labelling in the registry metrics; outcomes and evaluate following the
 * recorded kind. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <turbomode/pipeline.h>
#include <turbomode/store.h>

#include "pipeline/eval_int.h"
#include "pipeline/pipeline_int.h"
#include "tm_test.h"

/* Ten stocks with 26 bars on the same dates and a stock with bars 6..25
 * only. Bars 0..20 alternate 100 and 101 for every stock, so the ten
 * share one volatility at bar 20 (the 20 returns ending there); bar 25
 * closes at 101 * (1 + f_k) with f_k = 0.01 * k - 0.02 (bars 21..24 stay
 * at 101), so the forward returns at bar 20 (close 100) are
 * 1.01 * (1 + f_k) - 1, rising with k; with one volatility the scores
 * rank as k: k = 9 is BUY, k = 0 SELL, the rest HOLD. Stock 10 has only
 * 15 returns by bar 20: no volatility, no class, and the ten others still
 * make a day. Bars before 20 have no volatility, bars after 20 no 5-bar
 * forward return: -1. */
START_TEST(xs_classes_of_a_price_panel_by_hand)
{
    enum { K = 11, T = 26 };
    size_t start[K + 1];
    int32_t date[K * T];
    double close[K * T];
    size_t n = 0;
    for (size_t k = 0; k < K; k++) {
        start[k] = n;
        for (size_t t = k == 10 ? 6 : 0; t < T; t++) {
            date[n] = 20180101 + (int32_t)t;
            close[n] = t <= 20 ? (t % 2 ? 101 : 100) : 101;
            if (t == 25) {
                close[n] = 101 * (1 + (0.01 * (double)k - 0.02));
            }
            n++;
        }
    }
    start[K] = n;
    tm_store_prices px = {
            .n_symbols = K, .start = start, .n_rows = n, .date = date, .close = close};
    int8_t cls[K * T];
    ck_assert_int_eq(tm__pipeline_xs_classes(&px, 5, cls, NULL), TM_OK);
    for (size_t k = 0; k < K; k++) {
        for (size_t r = start[k]; r < start[k + 1]; r++) {
            int want = -1;
            if (date[r] == 20180121 && k < 10) {
                want = k == 9 ? 2 : k == 0 ? 0 : 1;
            }
            ck_assert_msg(cls[r] == want, "stock %zu date %d: class %d, expected %d", k, date[r],
                          cls[r], want);
        }
    }
}
END_TEST

#define N_SYM  12
#define N_DAYS 350
#define HORIZ  5

static const char *dir(void)
{
    static char d[512];
    if (!d[0]) {
        snprintf(d, sizeof d, "%s_xs", tm_test_tmpdir());
    }
    mkdir(d, 0700);
    return d;
}

static double closes[N_SYM][N_DAYS];
static int32_t dates[N_DAYS];

/* Day i as YYYYMMDD: consecutive weekdays from Monday 2015-01-05. */
static int32_t weekday(int i)
{
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = 2015, m = 0, d = 5 + i / 5 * 7 + i % 5;
    while (d > mdays[m] + (m == 1 && y % 4 == 0)) {
        d -= mdays[m] + (m == 1 && y % 4 == 0);
        if (++m == 12) {
            m = 0;
            y++;
        }
    }
    return y * 10000 + (m + 1) * 100 + d;
}

/* The market, closes rounded to 4 decimals (so the CSV holds them
 * exactly as doubles), with stock-specific volatility 0.5%..2.7%. */
static void write_market(const char *path)
{
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fprintf(fp, "date,open,high,low,close,volume,Name\n");
    uint64_t s = 777;
    for (int k = 0; k < N_SYM; k++) {
        double c = 30 + 5 * k;
        for (int i = 0; i < N_DAYS; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            double u = (double)(s >> 11) / 9007199254740992.0 - 0.5;
            c = round(c * (1 + (0.01 + 0.004 * k) * u + 0.0002) * 10000) / 10000;
            closes[k][i] = c;
            dates[i] = weekday(i);
            char d[11];
            fprintf(fp, "%s,%.4f,%.4f,%.4f,%.4f,%d,S%02d\n", tm_store_date_format(dates[i], d), c,
                    c * 1.01, c * 0.99, c, 100000 + 1000 * k, k);
        }
    }
    fclose(fp);
}

static const char registry[] =
        "{\"models\": ["
        "{\"name\": \"xgb_small\", \"family\": \"xgboost\", \"growth\": \"depthwise\","
        " \"max_depth\": 3, \"learning_rate\": 0.3, \"max_rounds\": 6},"
        "{\"name\": \"cat_small\", \"family\": \"catboost\", \"growth\": \"oblivious\","
        " \"max_depth\": 3, \"learning_rate\": 0.3, \"max_rounds\": 6}]}";

static tm_pipeline *open_db(const char *db, tm_pipeline_labels labels)
{
    static char models[600], reg[600];
    tm_pipeline_opts o;
    tm_pipeline_opts_init(&o);
    snprintf(models, sizeof models, "%s.models", db);
    snprintf(reg, sizeof reg, "%s/registry.json", dir());
    FILE *fp = fopen(reg, "w");
    fputs(registry, fp);
    fclose(fp);
    o.db_path = db;
    o.models_dir = models;
    o.registry_path = reg;
    o.n_folds = 2;
    o.n_threads = 2;
    o.labels = labels;
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

static int64_t q(const char *db, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int64_t q(const char *db, const char *fmt, ...)
{
    char sql[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof sql, fmt, ap);
    va_end(ap);
    tm_store *s = NULL;
    ck_assert_int_eq(tm_store_open(db, &s, NULL), TM_OK);
    int64_t v = -1;
    ck_assert_int_eq(tm_store_query_int(s, sql, &v, NULL), TM_OK);
    tm_store_close(s);
    return v;
}

/* A fresh database at DIR/name with the market imported. */
static tm_pipeline *market_db(const char *name, tm_pipeline_labels labels, char *db, size_t len)
{
    char csv[600];
    snprintf(csv, sizeof csv, "%s/market.csv", dir());
    write_market(csv);
    snprintf(db, len, "%s/%s", dir(), name);
    tm_test_system("rm -rf '%s' '%s.models'", db, db);
    tm_pipeline *p = open_db(db, labels);
    tm_err err;
    tm_err_init(&err);
    tm_pipeline_import_opts io;
    tm_pipeline_import_opts_init(&io);
    ok(tm_pipeline_import_prices(p, csv, &io, NULL, NULL, &err), &err);
    return p;
}

/* Stock with the highest (want_top) or lowest score on day t, recomputed
 * from the closes: (fwd - median fwd) / (sample std of 20 returns *
 * sqrt 5). */
static int extreme_stock(int t, bool want_top)
{
    double fwd[N_SYM], sorted[N_SYM], score[N_SYM];
    for (int k = 0; k < N_SYM; k++) {
        fwd[k] = sorted[k] = closes[k][t + HORIZ] / closes[k][t] - 1;
    }
    for (int a = 1; a < N_SYM; a++) { /* insertion sort */
        for (int b = a; b > 0 && sorted[b] < sorted[b - 1]; b--) {
            double x = sorted[b];
            sorted[b] = sorted[b - 1];
            sorted[b - 1] = x;
        }
    }
    double med = (sorted[N_SYM / 2 - 1] + sorted[N_SYM / 2]) / 2;
    int best = 0;
    for (int k = 0; k < N_SYM; k++) {
        double r[20], m = 0, ss = 0;
        for (int j = 0; j < 20; j++) {
            r[j] = closes[k][t - 19 + j] / closes[k][t - 20 + j] - 1;
            m += r[j] / 20;
        }
        for (int j = 0; j < 20; j++) {
            ss += (r[j] - m) * (r[j] - m);
        }
        score[k] = (fwd[k] - med) / (sqrt(ss / 19) * sqrt(5.0));
        if (want_top ? score[k] > score[best] : score[k] < score[best]) {
            best = k;
        }
    }
    return best;
}

/* 12 stocks: k = floor(12 / 10) = 1, so each sampled day has exactly one
 * BUY (the best score) and one SELL (the worst). */
START_TEST(xs_backfill_labels_each_day_by_score_and_records_the_kind)
{
    char db[600];
    tm_pipeline *p = market_db("xs.db", TM_PIPELINE_LABELS_XS_DECILE, db, sizeof db);
    tm_err err;
    tm_err_init(&err);
    tm_pipeline_report rep;
    ok(tm_pipeline_backfill(p, dates[N_DAYS - 1], &rep, &err), &err);
    tm_pipeline_close(p);
    int first = 252, last = N_DAYS - 1 - HORIZ, days = last - first + 1;
    ck_assert_int_eq(q(db, "SELECT count(*) FROM training_samples"), (int64_t)days * N_SYM);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM training_samples WHERE label = 2"), days);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM training_samples WHERE label = 0"), days);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM settings WHERE key = 'labels'"
                           " AND value = 'xs-decile'"),
                     1);
    ck_assert_ptr_nonnull(strstr(rep.summary, "(xs-decile)"));
    for (int t = first; t <= last; t++) {
        char d[11];
        tm_store_date_format(dates[t], d);
        for (int c = 0; c <= 2; c += 2) {
            int64_t got = q(db,
                            "SELECT CAST(substr(symbol, 2) AS INTEGER) FROM training_samples"
                            " WHERE date = '%s' AND label = %d",
                            d, c);
            ck_assert_msg(got == extreme_stock(t, c == 2), "%s class %d: S%02lld, expected S%02d",
                          d, c, (long long)got, extreme_stock(t, c == 2));
        }
    }
}
END_TEST

/* Nine active stocks: no day has 10 ranked stocks, so xs-decile backfill
 * writes no sample, says why, and records no labelling (the database
 * holds no labels yet). */
START_TEST(xs_backfill_with_fewer_than_ten_stocks_samples_nothing)
{
    char db[600];
    tm_pipeline *p = market_db("nine.db", TM_PIPELINE_LABELS_XS_DECILE, db, sizeof db);
    tm_pipeline_close(p);
    tm_store *s = NULL;
    ck_assert_int_eq(tm_store_open(db, &s, NULL), TM_OK);
    ck_assert_int_eq(tm_store_exec(s,
                                   "UPDATE universe SET active = 0 WHERE symbol IN"
                                   " ('S09', 'S10', 'S11')",
                                   NULL),
                     TM_OK);
    tm_store_close(s);
    p = open_db(db, TM_PIPELINE_LABELS_XS_DECILE);
    tm_err err;
    tm_err_init(&err);
    tm_pipeline_report rep;
    ok(tm_pipeline_backfill(p, dates[N_DAYS - 1], &rep, &err), &err);
    tm_pipeline_close(p);
    int days = N_DAYS - 1 - HORIZ - 252 + 1;
    char want[256];
    snprintf(want, sizeof want,
             "  %d (stock, day) rows left out: no cross-sectional class (under 20 days of "
             "returns, or under 10 such stocks that day)\n",
             days * 9);
    ck_assert_msg(strstr(rep.summary, want) != NULL, "%s", rep.summary);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM training_samples"), 0);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM settings"), 0);
}
END_TEST

/* The exact refusal of a job asked for the other kind. */
static void refused(tm_status st, const tm_err *err, const char *want)
{
    char msg[1024];
    ck_assert_int_eq(st, TM_E_INVALID);
    ck_assert_str_eq(tm_err_format(err, msg, sizeof msg), want);
}

START_TEST(xs_jobs_asked_for_the_other_kind_are_refused)
{
    char db[600];
    tm_pipeline *p = market_db("mix.db", TM_PIPELINE_LABELS_ABSOLUTE, db, sizeof db);
    tm_err err;
    tm_err_init(&err);
    tm_pipeline_report rep;
    /* nothing recorded before the first labels */
    ck_assert_int_eq(q(db, "SELECT count(*) FROM settings"), 0);
    ok(tm_pipeline_backfill(p, dates[N_DAYS - 1], &rep, &err), &err);
    tm_pipeline_close(p);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM settings WHERE value = 'absolute'"), 1);
    int64_t n = q(db, "SELECT count(*) FROM training_samples");
    int64_t runs = q(db, "SELECT count(*) FROM job_results");
    const char *want = "--labels: asked for xs-decile, but the database holds absolute labels "
                       "(samples and outcomes); one database keeps one labelling";
    p = open_db(db, TM_PIPELINE_LABELS_XS_DECILE);
    tm_err_init(&err);
    refused(tm_pipeline_backfill(p, dates[N_DAYS - 1], &rep, &err), &err, want);
    tm_err_init(&err);
    refused(tm_pipeline_generate_samples(p, dates[N_DAYS - 1], &rep, &err), &err, want);
    tm_err_init(&err);
    refused(tm_pipeline_replay(p, dates[N_DAYS - 3], dates[N_DAYS - 1], NULL, NULL, NULL, &err),
            &err, want);
    /* a job not asked for a kind follows the database's */
    tm_err_init(&err);
    ok(tm_pipeline_track_outcomes(p, dates[N_DAYS - 1], &rep, &err), &err);
    tm_pipeline_close(p);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM training_samples"), n);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM job_results"), runs + 1); /* the tracker's */
    ck_assert_int_eq(q(db, "SELECT count(*) FROM settings WHERE value = 'absolute'"), 1);

    /* and the other way round */
    p = market_db("mix2.db", TM_PIPELINE_LABELS_XS_DECILE, db, sizeof db);
    ok(tm_pipeline_backfill(p, dates[N_DAYS - 1], &rep, &err), &err);
    tm_pipeline_close(p);
    p = open_db(db, TM_PIPELINE_LABELS_ABSOLUTE);
    tm_err_init(&err);
    refused(tm_pipeline_backfill(p, dates[N_DAYS - 1], &rep, &err), &err,
            "--labels: asked for absolute, but the database holds xs-decile labels (samples and "
            "outcomes); one database keeps one labelling");
    tm_pipeline_close(p);
}
END_TEST

/* Retrains on xs-decile samples apply no class weights: every model's
 * weighted validation loss is its unweighted one, and the registry
 * metrics name the labelling. The scan's signals, once tracked, get the
 * class backfill gave their (stock, day), and evaluate's hits use it. */
START_TEST(xs_retrain_unweighted_and_outcomes_follow_the_kind)
{
    char db[600];
    tm_pipeline *p = market_db("xstrain.db", TM_PIPELINE_LABELS_XS_DECILE, db, sizeof db);
    tm_err err;
    tm_err_init(&err);
    tm_pipeline_report rep;
    int scan_day = N_DAYS - 1 - 2 * HORIZ;
    ok(tm_pipeline_backfill(p, dates[N_DAYS - 1], &rep, &err), &err);
    ok(tm_pipeline_model_retrain(p, dates[scan_day], &rep, &err), &err);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM models WHERE kind = 'base'"
                           " AND json_extract(metrics, '$.labels') = 'xs-decile'"
                           " AND json_extract(metrics, '$.valid_logloss') ="
                           " json_extract(metrics, '$.valid_logloss_unweighted')"),
                     2);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM models WHERE kind = 'meta'"
                           " AND json_extract(metrics, '$.labels') = 'xs-decile'"
                           " AND json_extract(metrics, '$.valid_logloss') ="
                           " json_extract(metrics, '$.valid_logloss_unweighted')"),
                     1);
    ok(tm_pipeline_scan(p, dates[scan_day], &rep, &err), &err);
    ok(tm_pipeline_track_outcomes(p, dates[N_DAYS - 1], &rep, &err), &err);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM signal_outcomes"), N_SYM);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM signal_outcomes o"
                           " JOIN signals s ON s.id = o.signal_id"
                           " JOIN training_samples t ON t.symbol = s.symbol AND t.date = s.date"
                           " WHERE o.actual = t.label"),
                     N_SYM);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM signal_outcomes WHERE actual = 2"), 1);
    tm_pipeline_eval_opts eo;
    tm_pipeline_eval_opts_init(&eo);
    eo.from = eo.to = dates[scan_day];
    eo.to = dates[N_DAYS - 1];
    tm_pipeline_eval *e = NULL;
    ok(tm_pipeline_evaluate(p, &eo, &e, &err), &err);
    ck_assert_uint_eq(e->panel.n_days, 1);
    size_t buys = 0, sells = 0;
    for (size_t k = 0; k < e->panel.n_stocks; k++) {
        buys += e->panel.actual[k] == 2;
        sells += e->panel.actual[k] == 0;
    }
    ck_assert_uint_eq(buys, 1);
    ck_assert_uint_eq(sells, 1);
    tm_pipeline_eval_free(e);
    tm_pipeline_close(p);
    /* thresholds mean nothing to xs-decile labels: refused, not ignored */
    {
        static char models[640];
        tm_pipeline_opts o;
        tm_pipeline_opts_init(&o);
        snprintf(models, sizeof models, "%s.models", db);
        o.db_path = db;
        o.models_dir = models;
        o.read_only = true;
        o.up = 0.05;
        ok(tm_pipeline_open(&o, &p, &err), &err);
        e = NULL;
        refused(tm_pipeline_evaluate(p, &eo, &e, &err), &err,
                "--up: a threshold of absolute labels, but the database holds xs-decile labels");
        ck_assert_ptr_null(e);
        tm_pipeline_close(p);
    }
    /* the same models on absolute labels carry weights: losses differ */
    p = market_db("abstrain.db", TM_PIPELINE_LABELS_ABSOLUTE, db, sizeof db);
    ok(tm_pipeline_backfill(p, dates[N_DAYS - 1], &rep, &err), &err);
    ok(tm_pipeline_model_retrain(p, dates[scan_day], &rep, &err), &err);
    tm_pipeline_close(p);
    ck_assert_int_eq(q(db, "SELECT count(*) FROM models WHERE kind = 'base'"
                           " AND json_extract(metrics, '$.labels') = 'absolute'"
                           " AND json_extract(metrics, '$.valid_logloss') !="
                           " json_extract(metrics, '$.valid_logloss_unweighted')"),
                     2);
}
END_TEST

TM_TEST_SUITE(pipeline_xs);
TM_TEST_SUITE(pipeline_xs)
{
    Suite *s = suite_create("pipeline_xs");
    TCase *tc = tcase_create("xs");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, xs_classes_of_a_price_panel_by_hand);
    tcase_add_test(tc, xs_backfill_labels_each_day_by_score_and_records_the_kind);
    tcase_add_test(tc, xs_backfill_with_fewer_than_ten_stocks_samples_nothing);
    tcase_add_test(tc, xs_jobs_asked_for_the_other_kind_are_refused);
    tcase_add_test(tc, xs_retrain_unweighted_and_outcomes_follow_the_kind);
    suite_add_tcase(s, tc);
    return s;
}
