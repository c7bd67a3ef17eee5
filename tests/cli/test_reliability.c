/* Bad inputs and hostile conditions refused, each through the real command:
 * the exact command line, its exit status, its one-line message, and that
 * nothing was written or changed (databases compared byte for byte, no
 * file created). A small synthetic market (6 stocks, weekdays from
 * 2015-01-05) feeds the commands that need prices. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tm_test.h"

/* Tests share a directory beside the runner's temporary one (a forked
 * test's exit removes that one). */
static const char *rdir(void)
{
    static char d[512];
    if (!d[0]) {
        snprintf(d, sizeof d, "%s_reliability", tm_test_tmpdir());
    }
    mkdir(d, 0700);
    return d;
}

/* Runs `turbomode ARGS` in rdir() with stdout to out.txt and stderr to
 * err.txt; returns the exit status. */
static int tm(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int tm(const char *fmt, ...)
{
    char args[2048], bin[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    if (!realpath(tm_test_bin(), bin)) {
        snprintf(bin, sizeof bin, "%s", tm_test_bin());
    }
    return tm_test_system("cd '%s' && '%s' %s >out.txt 2>err.txt", rdir(), bin, args);
}

/* The text of out.txt or err.txt of the last tm() call (owned by the
 * caller). */
static char *slurp_rel(const char *name)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", rdir(), name);
    char *t = tm_test_slurp(path, NULL);
    return t ? t : strdup("");
}

/* Checks the last command's exit status and whole stderr. */
static void expect(int rc, int want_rc, const char *want_err)
{
    char *err = slurp_rel("err.txt");
    ck_assert_msg(rc == want_rc, "exit %d, expected %d; stderr: %s", rc, want_rc, err);
    ck_assert_str_eq(err, want_err);
    free(err);
}

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool exists(const char *name)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", rdir(), name);
    return access(path, F_OK) == 0;
}

/* A checksum of a file in rdir() ("" when absent), to show it unchanged. */
static char *sum(const char *name)
{
    tm_test_system("cd '%s' && (cksum '%s' 2>/dev/null || true) > sum.txt", rdir(), name);
    return slurp_rel("sum.txt");
}

/* Checks that name still has the checksum before (from sum()); frees it. */
static void unchanged(const char *name, char *before)
{
    char *after = sum(name);
    ck_assert_str_eq(before, after);
    free(before);
    free(after);
}

/* prices.csv: 6 stocks S0..S5 over n weekdays from 2015-01-05, a seeded
 * random walk; vix.csv: the ^VIX series on the same days. */
static void write_market(int n)
{
    char path[700];
    snprintf(path, sizeof path, "%s/prices.csv", rdir());
    FILE *p = fopen(path, "w");
    snprintf(path, sizeof path, "%s/vix.csv", rdir());
    FILE *v = fopen(path, "w");
    ck_assert(p && v);
    fputs("date,open,high,low,close,volume,Name\n", p);
    fputs("date,open,high,low,close\n", v);
    double close[6] = {30, 45, 60, 75, 90, 105};
    uint64_t s = 99;
    int y = 2015, m = 1, d = 5, wd = 0; /* 2015-01-05 is a Monday */
    static const int mdays[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (int i = 0; i < n;) {
        if (wd < 5) {
            for (int k = 0; k < 6; k++) {
                s = s * 2862933555777941757ULL + 3037000493ULL;
                double r = ((double)(s >> 11) / 9007199254740992.0 - 0.5) * 0.05;
                double o = close[k];
                close[k] *= 1 + r;
                double hi = (o > close[k] ? o : close[k]) * 1.004;
                double lo = (o < close[k] ? o : close[k]) * 0.996;
                fprintf(p, "%04d-%02d-%02d,%.4f,%.4f,%.4f,%.4f,%d,S%d\n", y, m, d, o, hi, lo,
                        close[k], 50000 + (int)(s >> 48), k);
            }
            double x = 16 + (double)(i % 40) / 8;
            fprintf(v, "%04d-%02d-%02d,%.2f,%.2f,%.2f,%.2f\n", y, m, d, x, x + 1, x - 1, x);
            i++;
        }
        wd = (wd + 1) % 7;
        int md = mdays[m] + (m == 2 && y % 4 == 0);
        if (++d > md) {
            d = 1;
            if (++m > 12) {
                m = 1;
                y++;
            }
        }
    }
    fclose(p);
    fclose(v);
}

/* market.db: the market of n days imported (prices and ^VIX). */
static void market_db(const char *db, int n)
{
    write_market(n);
    tm_test_system("rm -rf '%s/%s'*", rdir(), db);
    ck_assert_int_eq(tm("import-prices --db %s prices.csv", db), 0);
    ck_assert_int_eq(tm("import-prices --db %s --symbol ^VIX vix.csv", db), 0);
}

START_TEST(reliability_reports_refuse_a_missing_database)
{
    expect(tm("signals --db typo.db"), 2,
           "turbomode: typo.db: cannot open database: No such file or directory\n");
    ck_assert(!exists("typo.db"));
    expect(tm("models --db typo.db"), 2,
           "turbomode: typo.db: cannot open database: No such file or directory\n");
    ck_assert(!exists("typo.db"));
    expect(tm("schedule history --db typo.db"), 2,
           "turbomode: typo.db: cannot open database: No such file or directory\n");
    ck_assert(!exists("typo.db"));
    expect(tm("scan --db ''"), 2,
           "turbomode scan: --db: expected a non-empty value, found \"\" (see 'turbomode scan "
           "--help')\n");
    expect(tm("backfill --db ''"), 2,
           "turbomode backfill: --db: expected a non-empty value, found \"\" (see 'turbomode "
           "backfill --help')\n");
    expect(tm("import-prices --db '' prices.csv"), 2,
           "turbomode: field '--db': expected a database path, found \"\"\n");
    /* A database that is not TurboMode's is named, not migrated. */
    tm_test_system("cd '%s' && rm -f other.db && sqlite3 other.db 'CREATE TABLE t(x)'", rdir());
    char *before = sum("other.db");
    expect(tm("signals --db other.db"), 2,
           "turbomode: other.db: field 'user_version': expected a TurboMode database of schema "
           "version 4, found 0 (not a TurboMode database, or an empty one)\n");
    unchanged("other.db", before);
}
END_TEST

START_TEST(reliability_schedule_without_job_runs_is_not_a_failure)
{
    market_db("sched.db", 30);
    char *before = sum("sched.db");
    expect(tm("schedule history --db sched.db"), 0, "");
    char *out = slurp_rel("out.txt");
    ck_assert_str_eq(out, "no scheduler runs recorded yet\n");
    free(out);
    expect(tm("schedule check --db sched.db --from 2027-01-01T00:00:00Z --horizon 7d"), 0, "");
    out = slurp_rel("out.txt");
    ck_assert_str_eq(out, "no scheduler runs recorded yet: durations are the configured "
                          "estimates\n0 colliding pairs in 7 days from now\n");
    free(out);
    unchanged("sched.db", before);
}
END_TEST

START_TEST(reliability_reports_read_only)
{
    market_db("ro.db", 30);
    char *before = sum("ro.db");
    expect(tm("models --db ro.db"), 0, "");
    expect(tm("signals --db ro.db"), 0, "");
    unchanged("ro.db", before);
    /* The same on a read-only mount, where any write attempt fails. */
    char bin[4096];
    if (!realpath(tm_test_bin(), bin)) {
        snprintf(bin, sizeof bin, "%s", tm_test_bin());
    }
    if (tm_test_system("unshare -m true 2>/dev/null") != 0) {
        tm_test_skip("reliability_reports_read_only: no mount namespace (unshare -m)");
        return;
    }
    tm_test_ran();
    int rc = tm_test_system(
            "cd '%s' && mkdir -p mnt && unshare -m sh -c 'mount --bind . mnt && "
            "mount -o remount,ro,bind mnt && cd mnt && touch probe 2>/dev/null && exit 3; "
            "\"%s\" signals --db ro.db && \"%s\" models --db ro.db' >out.txt 2>err.txt",
            rdir(), bin, bin);
    char *err = slurp_rel("err.txt");
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    free(err);
}
END_TEST

/* Runs script under `unshare -m` in rdir() with a 256 KiB tmpfs at mnt
 * (filled up when full); false (and a SKIP line) when mount namespaces
 * are not available. $T is the binary. */
static bool in_tmpfs(const char *script, bool full, int *rc)
{
    char bin[4096];
    if (!realpath(tm_test_bin(), bin)) {
        snprintf(bin, sizeof bin, "%s", tm_test_bin());
    }
    if (tm_test_system("unshare -m true 2>/dev/null") != 0) {
        tm_test_skip("reliability: no mount namespace (unshare -m) for a full disk");
        return false;
    }
    tm_test_ran();
    *rc = tm_test_system("cd '%s' && mkdir -p mnt && T='%s' unshare -m sh -c 'mount -t tmpfs -o "
                         "size=256k tmpfs mnt && %s %s' >out.txt 2>err.txt",
                         rdir(), bin,
                         full ? "cp ro.db mnt/full.db && (dd if=/dev/zero of=mnt/fill bs=4k "
                                "2>/dev/null; true) &&"
                              : "",
                         script);
    return true;
}

START_TEST(reliability_disk_full_exits_1_with_the_reason)
{
    market_db("ro.db", 30);
    char path[700];
    snprintf(path, sizeof path, "%s/train.csv", rdir());
    FILE *fp = fopen(path, "w");
    fputs("label,f0,f1\n", fp);
    for (int r = 0; r < 300; r++) {
        fprintf(fp, "%d,%d,%d\n", r % 3, (r * 37) % 101 + r % 3 * 50, r % 17);
    }
    fclose(fp);
    int rc;
    if (!in_tmpfs("\"$T\" train --input train.csv --label label --max-rounds 20 --out "
                  "mnt/m.txt; r=$?; ls mnt >&2; exit $r",
                  true, &rc)) {
        return;
    }
    expect(rc, 1, "turbomode: mnt/m.txt: write failed: No space left on device\nfill\nfull.db\n");
    ck_assert(in_tmpfs("\"$T\" import-prices --db mnt/full.db prices.csv", true, &rc));
    char *err = slurp_rel("err.txt");
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strncmp(err, "turbomode: mnt/full.db: ", 24) == 0 &&
                          strstr(err, ": No space left on device (") && !strchr(err, '\n')[1],
                  "%s", err);
    free(err);
}
END_TEST

/* Writes text (len bytes, NULs allowed) to rdir()/name. */
static void write_bytes(const char *name, const char *text, size_t len)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", rdir(), name);
    FILE *fp = fopen(path, "wb");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fwrite(text, 1, len, fp), len);
    fclose(fp);
}

#define HDR       "date,open,high,low,close,volume,Name\n"
#define ROW(d, n) d ",10,11,9,10.5,1000," n "\n"

/* import-prices FILE into imp.db must fail with status 2 and exactly msg
 * (one line), leaving imp.db as it was. */
static void import_refused(const char *file, const char *msg)
{
    char *before = sum("imp.db");
    expect(tm("import-prices --db imp.db %s", file), 2, msg);
    unchanged("imp.db", before);
}

START_TEST(reliability_import_refuses_what_it_cannot_trust)
{
    setenv("TM_TODAY", "2026-12-04", 1);
    tm_test_system("rm -f '%s'/imp.db*", rdir());
    const char good[] = HDR ROW("2016-01-04", "AAL") ROW("2016-01-05", "AAL");
    write_bytes("good.csv", good, sizeof good - 1);
    ck_assert_int_eq(tm("import-prices --db imp.db good.csv"), 0);

    const char future[] = HDR ROW("2016-01-06", "AAL") ROW("2031-01-01", "AAL");
    write_bytes("future.csv", future, sizeof future - 1);
    import_refused("future.csv", "turbomode: future.csv:3: field 'date': expected a date not "
                                 "after today (2026-12-04), found \"2031-01-01\" (nothing "
                                 "loaded)\n");
    setenv("TM_TODAY", "2016-01-05", 1);
    import_refused("future.csv", "turbomode: future.csv:3: field 'date': expected a date not "
                                 "after today (2016-01-05), found \"2031-01-01\"\n"
                                 "turbomode: future.csv:2: field 'date': expected a date not "
                                 "after today (2016-01-05), found \"2016-01-06\" (2 bad rows, "
                                 "nothing loaded)\n");
    setenv("TM_TODAY", "2026-12-04", 1);

    const char nul_name[] = HDR ROW("2016-01-06", "AAL") ROW("2016-01-07", "AA\0L");
    write_bytes("nul.csv", nul_name, sizeof nul_name - 1);
    import_refused("nul.csv", "turbomode: nul.csv:3: field 'Name': expected text, found a NUL "
                              "byte (nothing loaded)\n");
    const char nul_date[] = HDR "2016-01-06\0x,10,11,9,10.5,1000,AAL\n";
    write_bytes("nuld.csv", nul_date, sizeof nul_date - 1);
    import_refused("nuld.csv", "turbomode: nuld.csv:2: field 'date': expected text, found a NUL "
                               "byte (nothing loaded)\n");
    const char utf8[] = HDR ROW("2016-01-06", "A\xff\xfeL");
    write_bytes("utf8.csv", utf8, sizeof utf8 - 1);
    import_refused("utf8.csv", "turbomode: utf8.csv:2: field 'Name': expected a ticker of 1 to 15 "
                               "bytes of UTF-8 text, found \"A\\xFF\\xFEL\" (nothing loaded)\n");
    const char overlong[] = HDR ROW("2016-01-06", "A\xc0\xafL");
    write_bytes("overlong.csv", overlong, sizeof overlong - 1);
    import_refused("overlong.csv", "turbomode: overlong.csv:2: field 'Name': expected a ticker of "
                                   "1 to 15 bytes of UTF-8 text, found \"A\\xC0\\xAFL\" (nothing "
                                   "loaded)\n");
    const char bad_date[] = HDR "2016-01-\xe2\x80\x8f,10,11,9,10.5,1000,AAL\n";
    write_bytes("bdate.csv", bad_date, sizeof bad_date - 1);
    import_refused("bdate.csv", "turbomode: bdate.csv:2: field 'date': expected a date "
                                "YYYY-MM-DD, found \"2016-01-\\xE2\\x80\\x8F\" (nothing "
                                "loaded)\n");
    /* One bad row: one line, not the row and then the error again. */
    const char one_bad[] = HDR ROW("2016-01-06", "AAL") "2016-01-07,10,11,9,abc,1000,AAL\n";
    write_bytes("onebad.csv", one_bad, sizeof one_bad - 1);
    import_refused("onebad.csv", "turbomode: onebad.csv:3: field 'close': expected a positive "
                                 "number, found \"abc\" (nothing loaded)\n");
    /* gzip: truncated, or not gzip at all, in one line. */
    tm_test_system("cd '%s' && gzip -c good.csv > full.csv.gz && head -c 40 full.csv.gz > "
                   "cut.csv.gz && cp good.csv plain.csv.gz",
                   rdir());
    import_refused("cut.csv.gz", "turbomode: cut.csv.gz: truncated gzip file\n");
    import_refused("plain.csv.gz", "turbomode: plain.csv.gz: not a gzip file\n");

    /* Duplicates load (the last row wins) and are reported. */
    const char dup[] = HDR ROW("2016-01-06", "AAL") "2016-01-06,10,11,9,12.5,1000,AAL\n" ROW(
            "2016-01-07", "AAL") ROW("2016-01-07", "AAL");
    write_bytes("dup.csv", dup, sizeof dup - 1);
    expect(tm("import-prices --db imp.db dup.csv"), 0, "");
    char *out = slurp_rel("out.txt");
    ck_assert_str_eq(out, "import-prices: dup.csv: 2 rows repeat the (ticker, date) of a later "
                          "row (1 with other values); the last one in the file wins, e.g. AAL "
                          "2016-01-06: line 3 over line 2\n"
                          "import-prices: 4 rows loaded from dup.csv\n");
    free(out);
    tm_test_system("cd '%s' && sqlite3 imp.db \"SELECT close FROM prices WHERE date = "
                   "'2016-01-06'\" > q.txt",
                   rdir());
    out = slurp_rel("q.txt");
    ck_assert_str_eq(out, "12.5\n");
    free(out);
}
END_TEST

START_TEST(reliability_as_of_after_today_refused)
{
    setenv("TM_TODAY", "2015-03-02", 1);
    market_db("asof.db", 30);
    char *before = sum("asof.db");
    expect(tm("scan --db asof.db --as-of 2031-01-01"), 2,
           "turbomode scan: --as-of: expected a date not after today (2015-03-02), found "
           "2031-01-01 (see 'turbomode scan --help')\n");
    expect(tm("track-outcomes --db asof.db --as-of 2015-03-03"), 2,
           "turbomode track-outcomes: --as-of: expected a date not after today (2015-03-02), "
           "found 2015-03-03 (see 'turbomode track-outcomes --help')\n");
    setenv("TM_TODAY", "2015-02-30", 1);
    expect(tm("scan --db asof.db"), 2,
           "turbomode scan: TM_TODAY: expected a date YYYY-MM-DD, found \"2015-02-30\" (see "
           "'turbomode scan --help')\n");
    unchanged("asof.db", before);
}
END_TEST

static const char small_registry[] =
        "{\"models\": ["
        "{\"name\": \"xgb_small\", \"family\": \"xgboost\", \"growth\": \"depthwise\","
        " \"max_depth\": 3, \"learning_rate\": 0.3, \"max_rounds\": 6},"
        "{\"name\": \"cat_small\", \"family\": \"catboost\", \"growth\": \"oblivious\","
        " \"max_depth\": 3, \"learning_rate\": 0.3, \"max_rounds\": 6}]}";

/* Options of model-retrain here: the small registry, 2 folds (the other
 * job commands do not take them). */
#define TRAIN_OPTS "--registry reg.json --folds 2"

/* A copy at db (with db.models) of a database with 500 days of prices,
 * backfilled and trained as of 2016-06-30; built once. */
static void trained_copy(const char *db)
{
    setenv("TM_TODAY", "2026-12-04", 1);
    if (!exists("trained.db")) {
        write_bytes("reg.json", small_registry, sizeof small_registry - 1);
        market_db("building.db", 500);
        ck_assert_int_eq(tm("backfill --db building.db --as-of 2016-06-30"), 0);
        ck_assert_int_eq(tm("model-retrain --db building.db --models-dir building.db.models "
                            "--as-of 2016-06-30 " TRAIN_OPTS),
                         0);
        ck_assert_int_eq(tm_test_system("cd '%s' && mv building.db.models trained.db.models && "
                                        "mv building.db trained.db",
                                        rdir()),
                         0);
    }
    ck_assert_int_eq(tm_test_system("cd '%s' && rm -rf '%s'* && cp trained.db '%s' && cp -r "
                                    "trained.db.models '%s.models'",
                                    rdir(), db, db, db),
                     0);
}

/* The number of files under db.models/base. */
static int n_base_files(const char *db)
{
    tm_test_system("cd '%s' && ls '%s.models/base' | wc -l > n.txt", rdir(), db);
    char *t = slurp_rel("n.txt");
    int n = atoi(t);
    free(t);
    return n;
}

START_TEST(reliability_killed_retrain_files_are_collected)
{
    trained_copy("gc.db");
    ck_assert_int_eq(n_base_files("gc.db"), 6);
    tm_test_system("cd '%s' && sqlite3 gc.db 'SELECT id, active, file FROM models ORDER BY id' "
                   "> reg_before.txt",
                   rdir());
    /* kill -9 once the base models are written, before the commit */
    char bin[4096];
    ck_assert_ptr_nonnull(realpath(tm_test_prog(), bin));
    int rc = tm_test_system(
            "cd '%s' && rm -f paused && (TM_TEST_PAUSE_AT=meta_retrain:paused '%s' "
            "model-retrain --db gc.db --models-dir gc.db.models --as-of 2016-06-30 " TRAIN_OPTS
            " >/dev/null 2>&1 & pid=$!; i=0; while [ ! -e paused ] && [ $i -lt 600 ]; do "
            "sleep 0.1; i=$((i+1)); done; kill -9 $pid; wait $pid 2>/dev/null; [ -e paused ])",
            rdir(), bin);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(n_base_files("gc.db"), 12);
    tm_test_system("cd '%s' && echo notes > gc.db.models/notes.txt", rdir());
    expect(tm("models --db gc.db --models-dir gc.db.models --gc"), 0, "");
    char *out = slurp_rel("out.txt");
    ck_assert_msg(starts(out, "removed 6 model files no registry row names ("), "%s", out);
    free(out);
    ck_assert_int_eq(n_base_files("gc.db"), 6);
    ck_assert(exists("gc.db.models/notes.txt")); /* only the pipeline's own directories */
    tm_test_system("cd '%s' && sqlite3 gc.db 'SELECT id, active, file FROM models ORDER BY id' "
                   "> reg_after.txt",
                   rdir());
    char *a = slurp_rel("reg_before.txt"), *b = slurp_rel("reg_after.txt");
    ck_assert_str_eq(a, b);
    free(a);
    free(b);
    expect(tm("models --db gc.db --models-dir gc.db.models --gc"), 0, "");
    out = slurp_rel("out.txt");
    ck_assert_str_eq(out, "no unregistered model files\n");
    free(out);
    /* The next retrain collects them too. */
    tm_test_system("cd '%s' && cp gc.db.models/base/g1_xgb_small.json "
                   "gc.db.models/base/g7_xgb_small.json.tmp.Xy12Zw",
                   rdir());
    expect(tm("meta-retrain --db gc.db --models-dir gc.db.models --as-of 2016-06-30 --force "
              "--no-compare"),
           0, "");
    out = slurp_rel("out.txt");
    ck_assert_msg(starts(out, "removed 1 model file no registry row names ("), "%s", out);
    free(out);
    ck_assert_int_eq(n_base_files("gc.db"), 6);
}
END_TEST

START_TEST(reliability_point_in_time_models)
{
    trained_copy("pit.db");
    char *before = sum("pit.db");
    expect(tm("scan --db pit.db --models-dir pit.db.models --as-of 2016-03-01"), 2,
           "turbomode: pit.db: field '--as-of': expected a meta-learner trained as of 2016-03-01 "
           "or earlier, found only later ones (the active one: as of 2016-06-30); run "
           "model-retrain --as-of 2016-03-01 first, or pass --allow-later-models to accept the "
           "look-ahead\n");
    expect(tm("meta-retrain --db pit.db --models-dir pit.db.models --as-of 2016-05-02 --force"), 2,
           "turbomode: pit.db: field '--as-of': expected base models trained as of 2016-05-02 "
           "or earlier, found only later ones (the active one: as of 2016-06-30); run "
           "model-retrain --as-of 2016-05-02 first, or pass --allow-later-models to accept the "
           "look-ahead\n");
    unchanged("pit.db", before);
    /* Told explicitly, it scores and says so. */
    expect(tm("scan --db pit.db --models-dir pit.db.models --as-of 2016-03-01 "
              "--allow-later-models"),
           0, "");
    char *out = slurp_rel("out.txt");
    ck_assert_msg(starts(out, "warning: a meta-learner trained as of 2016-06-30, after this "
                              "run's as-of 2016-03-01 (--allow-later-models): look-ahead\n"
                              "overnight_scan as of 2016-03-01: 6 stocks scored"),
                  "%s", out);
    free(out);
    /* An older generation is used for its own dates, the newer one after. */
    /* (--force: each becomes active whatever the promotion check says) */
    ck_assert_int_eq(tm("model-retrain --db pit.db --models-dir pit.db.models --as-of 2016-04-29 "
                        "--force " TRAIN_OPTS),
                     0);
    ck_assert_int_eq(tm("model-retrain --db pit.db --models-dir pit.db.models --as-of 2016-06-30 "
                        "--force " TRAIN_OPTS),
                     0);
    tm_test_system("cd '%s' && sqlite3 pit.db \"SELECT id FROM models WHERE kind = 'meta' AND "
                   "as_of = '2016-04-29'\" > id_old.txt && sqlite3 pit.db \"SELECT id FROM "
                   "models WHERE kind = 'meta' AND active\" > id_new.txt",
                   rdir());
    char *id_old = slurp_rel("id_old.txt"), *id_new = slurp_rel("id_new.txt");
    ck_assert_str_ne(id_old, id_new);
    expect(tm("scan --db pit.db --models-dir pit.db.models --as-of 2016-05-03"), 0, "");
    tm_test_system("cd '%s' && sqlite3 pit.db \"SELECT DISTINCT model_id FROM signals WHERE "
                   "date = '2016-05-03'\" > used.txt",
                   rdir());
    char *used = slurp_rel("used.txt");
    ck_assert_str_eq(used, id_old);
    free(used);
    expect(tm("scan --db pit.db --models-dir pit.db.models --as-of 2016-07-01"), 0, "");
    tm_test_system("cd '%s' && sqlite3 pit.db \"SELECT DISTINCT model_id FROM signals WHERE "
                   "date = '2016-07-01'\" > used.txt",
                   rdir());
    used = slurp_rel("used.txt");
    ck_assert_str_eq(used, id_new);
    free(used);
    free(id_old);
    free(id_new);
}
END_TEST

START_TEST(reliability_as_of_before_any_price_refused)
{
    trained_copy("early.db");
    char *before = sum("early.db");
    expect(tm("scan --db early.db --models-dir early.db.models --as-of 2010-01-01"), 2,
           "turbomode: early.db: field '--as-of': expected a date with prices on or before it, "
           "found 2010-01-01 (earlier than every price of the universe)\n");
    expect(tm("backfill --db early.db --as-of 2010-01-01"), 2,
           "turbomode: early.db: field '--as-of': expected a date with prices on or before it, "
           "found 2010-01-01 (earlier than every price of the universe)\n");
    unchanged("early.db", before);
}
END_TEST

START_TEST(reliability_outcome_never_settles_across_a_gap)
{
    trained_copy("gap.db");
    ck_assert_int_eq(tm("scan --db gap.db --models-dir gap.db.models --as-of 2016-07-01"), 0);
    /* S0 has no prices for three weeks after the signal. */
    ck_assert_int_eq(tm_test_system("cd '%s' && sqlite3 gap.db \"DELETE FROM prices WHERE "
                                    "symbol = 'S0' AND date > '2016-07-01' AND date < "
                                    "'2016-07-22'\"",
                                    rdir()),
                     0);
    expect(tm("track-outcomes --db gap.db --as-of 2016-08-01"), 0, "");
    char *out = slurp_rel("out.txt");
    ck_assert_msg(starts(out, "outcome_tracker: 5 of 6 open signals tracked, "), "%s", out);
    ck_assert_msg(strstr(out, "\n  1 left open: the stock's next 5 bars span more than 8 market "
                              "days (a gap in its prices)\n"),
                  "%s", out);
    free(out);
    tm_test_system("cd '%s' && sqlite3 gap.db \"SELECT count(*) FROM signal_outcomes o JOIN "
                   "signals s ON s.id = o.signal_id WHERE s.symbol = 'S0'\" > q.txt",
                   rdir());
    out = slurp_rel("q.txt");
    ck_assert_str_eq(out, "0\n");
    free(out);
}
END_TEST

START_TEST(reliability_zz_cleanup)
{
    tm_test_system("rm -rf '%s'", rdir());
}
END_TEST

START_TEST(reliability_verbose_progress)
{
    trained_copy("prog.db");
    /* Not a terminal and no --verbose: the job says nothing on stderr. */
    expect(tm("meta-retrain --db prog.db --models-dir prog.db.models --as-of 2016-06-30 --force "
              "--no-compare"),
           0, "");
    ck_assert_int_eq(tm("model-retrain --db prog.db --models-dir prog.db.models --as-of "
                        "2016-06-30 --verbose " TRAIN_OPTS),
                     0);
    char *err = slurp_rel("err.txt");
    ck_assert_msg(starts(err, "model 1 of 2 (xgb_small): training\n"), "%s", err);
    ck_assert_msg(strstr(err, "\nmodel 1 of 2 (xgb_small): fold 2 of 2\n"), "%s", err);
    ck_assert_msg(strstr(err, "\nmodel 2 of 2 (cat_small): training\n"), "%s", err);
    ck_assert_msg(strstr(err, "\nmodel_retrain: train_meta\nmeta-learner: training\n"), "%s", err);
    ck_assert_msg(strstr(err, "\nmeta-learner: round "), "%s", err);
    free(err);
}
END_TEST

/* backfill's progress: silent by default off a terminal, each step and
 * every tenth of the samples written with --verbose; the same samples. */
START_TEST(reliability_backfill_progress)
{
    market_db("bfp.db", 500);
    ck_assert_int_eq(tm_test_system("cd '%s' && rm -f bfq.db && cp bfp.db bfq.db", rdir()), 0);
    expect(tm("backfill --db bfp.db"), 0, "");
    ck_assert_int_eq(tm("backfill --db bfq.db --verbose"), 0);
    char *out = slurp_rel("out.txt"), *err = slurp_rel("err.txt");
    size_t n = 0;
    ck_assert_msg(sscanf(out, "backfill: %zu samples from 6 stocks", &n) == 1, "%s", out);
    ck_assert_msg(n > 1000 && n < 2000, "%zu samples", n); /* two progress lines */
    const char *head = "backfill: features\nbackfill: features done for 6 stocks, 3000 price "
                       "rows (";
    ck_assert_msg(starts(err, head), "%s", err);
    const char *time_end = strstr(err, "s)\n");
    ck_assert_msg(time_end, "%s", err);
    char tail[256];
    snprintf(tail, sizeof tail,
             "s)\nbackfill: 1000 of %zu samples written\nbackfill: %zu of %zu "
             "samples written\n",
             n, n, n);
    ck_assert_str_eq(time_end, tail);
    free(out);
    free(err);
    /* The same samples either way. */
    const char *q = "SELECT count(*), sum(label), sum(fwd_return) FROM training_samples";
    ck_assert_int_eq(tm_test_system("cd '%s' && sqlite3 bfp.db '%s' > a.txt && sqlite3 bfq.db '%s' "
                                    "> b.txt && cmp -s a.txt b.txt",
                                    rdir(), q, q),
                     0);
}
END_TEST

/* evaluate's --json and --html: every location checked before the work
 * (the option and the path named, the database and other outputs
 * untouched), both written or neither, links followed. */
START_TEST(reliability_evaluate_outputs_all_or_none)
{
    trained_copy("ev.db");
    const char *days[] = {"2016-07-01", "2016-07-05", "2016-07-06", "2016-07-07", "2016-07-08"};
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(tm("scan --db ev.db --models-dir ev.db.models --as-of %s", days[i]), 0);
    }
    write_bytes("keep.json", "previous\n", 9);
    char *db = sum("ev.db"), *keep = sum("keep.json");
#define EVAL "evaluate --db ev.db --from 2016-07-01 --to 2016-07-29 "
    expect(tm(EVAL "--json missing/x.json --html r.html"), 2,
           "turbomode evaluate: --json: missing/x.json: cannot create output: No such file or "
           "directory\n");
    expect(tm(EVAL "--json keep.json --html missing/r.html"), 2,
           "turbomode evaluate: --html: missing/r.html: cannot create output: No such file or "
           "directory\n");
    expect(tm(EVAL "--html ."), 2,
           "turbomode evaluate: --html: .: cannot write output: is a "
           "directory\n");
    ck_assert_int_eq(tm_test_system("cd '%s' && ln -sf keep.json link.json", rdir()), 0);
    expect(tm(EVAL "--json keep.json --html link.json"), 2,
           "turbomode evaluate: --html: expected a file other than --json's, found \"link.json\" "
           "(see 'turbomode evaluate --help')\n");
    /* The work fails after the outputs were staged: nothing is left. */
    expect(tm("evaluate --db ev.db --from 2016-01-04 --to 2016-01-29 --json keep.json --html "
              "r.html"),
           2, "turbomode: field 'signals': no signals dated 2016-01-04..2016-01-29\n");
    ck_assert(!exists("r.html") && !exists("missing"));
    ck_assert_int_eq(tm_test_system("cd '%s' && ls | grep -q '\\.part\\.\\|\\.tmp\\.'", rdir()), 1);
    unchanged("ev.db", db);
    unchanged("keep.json", keep);
    /* Both written when both can be; the link's target is replaced. */
    expect(tm(EVAL "--json link.json --html r.html"), 0, "");
    char *json = slurp_rel("keep.json"), *html = slurp_rel("r.html");
    ck_assert_msg(starts(json, "{\"from\":\"2016-07-01\",\"to\":\"2016-07-29\","), "%s", json);
    ck_assert_msg(starts(html, "<!DOCTYPE html>"), "%.80s", html);
    free(json);
    free(html);
    ck_assert_int_eq(tm_test_system("cd '%s' && test -L link.json", rdir()), 0);
#undef EVAL
}
END_TEST

/* Options of the commands outside the option tables: a number that does
 * not fit is refused, not wrapped or read as 0; an empty or unstorable
 * value is refused before anything is created. */
START_TEST(reliability_other_options_refused)
{
    expect(tm("schedule history --db typo.db --limit abc"), 2,
           "turbomode schedule: --limit: expected a whole number >= 0 (0: every run), found "
           "\"abc\" (see 'turbomode schedule --help')\n");
    ck_assert(!exists("typo.db"));
    /* 2^32 + 1 once became 1 thread, 2^32 + 3 three classes */
    expect(tm("predict --model m.txt --input in.csv --output o.csv --threads 4294967297"), 2,
           "turbomode predict: --threads: expected 1..1024, found '4294967297' (see 'turbomode "
           "predict --help')\n");
    expect(tm("predict --model m.txt --input in.csv --output o.csv --num-class 4294967299"), 2,
           "turbomode predict: --num-class: expected 0..256, found '4294967299' (see 'turbomode "
           "predict --help')\n");
    ck_assert(!exists("o.csv"));
    /* An empty --db made the daemon run on SQLite's temporary database,
     * leaving its lock, logs and state in the working directory. */
    expect(tm("daemon --db '' --once"), 2,
           "turbomode daemon: --db: expected a non-empty value, found \"\" (see 'turbomode daemon "
           "--help')\n");
    ck_assert(!exists(".lock") && !exists(".sched.json") && !exists(".logs"));
    /* A ticker that cannot be stored: once, not once per row, and no
     * database created. */
    write_market(3);
    expect(tm("import-prices --db sym.db --symbol '' vix.csv"), 2,
           "turbomode import-prices: --symbol: expected a ticker of 1 to 15 bytes, found \"\" "
           "(see 'turbomode import-prices --help')\n");
    expect(tm("import-prices --db sym.db --symbol ABCDEFGHIJKLMNOP vix.csv"), 2,
           "turbomode import-prices: --symbol: expected a ticker of 1 to 15 bytes, found "
           "\"ABCDEFGHIJKLMNOP\" (see 'turbomode import-prices --help')\n");
    ck_assert(!exists("sym.db"));
}
END_TEST

TM_TEST_SUITE(reliability)
{
    Suite *s = suite_create("reliability");
    TCase *tc = tcase_create("refusals");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, reliability_reports_refuse_a_missing_database);
    tcase_add_test(tc, reliability_schedule_without_job_runs_is_not_a_failure);
    tcase_add_test(tc, reliability_reports_read_only);
    tcase_add_test(tc, reliability_disk_full_exits_1_with_the_reason);
    tcase_add_test(tc, reliability_import_refuses_what_it_cannot_trust);
    tcase_add_test(tc, reliability_as_of_after_today_refused);
    tcase_add_test(tc, reliability_killed_retrain_files_are_collected);
    tcase_add_test(tc, reliability_point_in_time_models);
    tcase_add_test(tc, reliability_as_of_before_any_price_refused);
    tcase_add_test(tc, reliability_outcome_never_settles_across_a_gap);
    tcase_add_test(tc, reliability_verbose_progress);
    tcase_add_test(tc, reliability_backfill_progress);
    tcase_add_test(tc, reliability_evaluate_outputs_all_or_none);
    tcase_add_test(tc, reliability_other_options_refused);
    tcase_add_test(tc, reliability_zz_cleanup);
    suite_add_tcase(s, tc);
    return s;
}
