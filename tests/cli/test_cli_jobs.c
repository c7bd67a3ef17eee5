/* The job commands' options as a user types them: every numeric option is
 * finite and in range, refused in one line naming the option and the value
 * found, with exit status 2 and nothing written (not even the database);
 * each command's --help lists only the options it takes; the README's
 * option tables are what `turbomode help --markdown` prints. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tm_test.h"

static char dir[512];

static void setup(void)
{
    snprintf(dir, sizeof dir, "%s/cli_jobs_%d", tm_test_tmpdir(), (int)getpid());
    mkdir(dir, 0755);
}

/* Runs `turbomode ARGS --db DIR/t.db`; returns the exit status, stderr in
 * errbuf, and checks that no database file appeared. */
static int run(const char *args, char *errbuf, size_t len)
{
    char err[700], db[700];
    snprintf(err, sizeof err, "%s/err.txt", dir);
    snprintf(db, sizeof db, "%s/t.db", dir);
    int rc = tm_test_system("%s %s --db '%s' >/dev/null 2>'%s'", tm_test_bin(), args, db, err);
    char *text = tm_test_slurp(err, NULL);
    ck_assert_ptr_nonnull(text);
    snprintf(errbuf, len, "%s", text);
    free(text);
    ck_assert_msg(access(db, F_OK) != 0, "%s: wrote %s", args, db);
    return rc;
}

/* One bad value: exit 2 and exactly the one line want on stderr. */
static void refused(const char *args, const char *want)
{
    char got[2048], line[1024];
    ck_assert_int_eq(run(args, got, sizeof got), 2);
    snprintf(line, sizeof line, "%s\n", want);
    ck_assert_msg(strcmp(got, line) == 0, "%s:\n got: %s want: %s", args, got, line);
}

START_TEST(job_options_out_of_range_are_refused_by_name)
{
    refused("model-retrain --rounds-scale nan",
            "turbomode model-retrain: --rounds-scale: expected a finite number in [0.001, 10], "
            "found \"nan\" (see 'turbomode model-retrain --help')");
    refused("model-retrain --rounds-scale 1e30",
            "turbomode model-retrain: --rounds-scale: expected a finite number in [0.001, 10], "
            "found \"1e30\" (see 'turbomode model-retrain --help')");
    refused("backfill --up nan",
            "turbomode backfill: --up: expected a finite number in [0.0001, 1], found \"nan\" "
            "(see 'turbomode backfill --help')");
    refused("backfill --down 5",
            "turbomode backfill: --down: expected a finite number in [0.0001, 0.99], found \"5\" "
            "(see 'turbomode backfill --help')");
    refused("backfill --horizon 100000",
            "turbomode backfill: --horizon: expected a whole number in 1..250, found \"100000\" "
            "(see 'turbomode backfill --help')");
    refused("meta-retrain --gate-days 0",
            "turbomode meta-retrain: --gate-days: expected a whole number in 1..3650, found \"0\" "
            "(see 'turbomode meta-retrain --help')");
    refused("model-retrain --folds 2.5",
            "turbomode model-retrain: --folds: expected a whole number in 2..8, found \"2.5\" "
            "(see 'turbomode model-retrain --help')");
    refused("scan --as-of 2018-02-30",
            "turbomode scan: --as-of: expected a date YYYY-MM-DD, found \"2018-02-30\" "
            "(see 'turbomode scan --help')");
    refused("meta-retrain --split later",
            "turbomode meta-retrain: --split: expected one of time|random, found \"later\" "
            "(see 'turbomode meta-retrain --help')");
}
END_TEST

/* The decision rule's options: --target-precision on the retrains and
 * replay, --max-signals on scan, the retrains and replay; each finite
 * and in range, and unknown to the commands that do not take it. */
START_TEST(job_decision_rule_options_refused_by_name)
{
    static const char *const tp_bad[] = {"nan", "inf", "0", "1", "0.999", "-0.2", "abc", "0.2x"};
    static const char *const tp_cmds[] = {"meta-retrain", "model-retrain"};
    char args[256], want[512];
    for (size_t c = 0; c < 2; c++) {
        for (size_t b = 0; b < sizeof tp_bad / sizeof tp_bad[0]; b++) {
            snprintf(args, sizeof args, "%s --target-precision %s", tp_cmds[c], tp_bad[b]);
            snprintf(want, sizeof want,
                     "turbomode %s: --target-precision: expected a finite number in [0.01, "
                     "0.99], found \"%s\" (see 'turbomode %s --help')",
                     tp_cmds[c], tp_bad[b], tp_cmds[c]);
            refused(args, want);
        }
    }
    static const char *const ms_bad[] = {"-1", "2.5", "100001", "abc", "nan", "inf"};
    static const char *const ms_cmds[] = {"scan", "meta-retrain", "model-retrain"};
    for (size_t c = 0; c < 3; c++) {
        for (size_t b = 0; b < sizeof ms_bad / sizeof ms_bad[0]; b++) {
            snprintf(args, sizeof args, "%s --max-signals %s", ms_cmds[c], ms_bad[b]);
            snprintf(want, sizeof want,
                     "turbomode %s: --max-signals: expected a whole number in 0..100000, found "
                     "\"%s\" (see 'turbomode %s --help')",
                     ms_cmds[c], ms_bad[b], ms_cmds[c]);
            refused(args, want);
        }
    }
    refused("replay --from 2018-01-02 --to 2018-01-05 --target-precision 1.5",
            "turbomode replay: --target-precision: expected a finite number in [0.01, 0.99], "
            "found \"1.5\" (see 'turbomode replay --help')");
    refused("replay --from 2018-01-02 --to 2018-01-05 --max-signals -3",
            "turbomode replay: --max-signals: expected a whole number in 0..100000, found \"-3\" "
            "(see 'turbomode replay --help')");
    refused("scan --target-precision 0.2",
            "turbomode scan: unknown option '--target-precision' (see 'turbomode scan --help')");
    refused("signals --max-signals 5",
            "turbomode signals: unknown option '--max-signals' (see 'turbomode signals --help')");
    refused("track-outcomes --max-signals 5", "turbomode track-outcomes: unknown option "
                                              "'--max-signals' (see 'turbomode track-outcomes "
                                              "--help')");
}
END_TEST

/* --threads abc, 0, -1, 99999999999 on every job command that takes it;
 * the others do not take it at all. */
START_TEST(job_threads_validated_on_every_job_command)
{
    static const char *const takes[] = {"scan", "meta-retrain", "model-retrain", "replay"};
    static const char *const not_taken[] = {"backfill", "track-outcomes", "generate-samples",
                                            "signals", "models"};
    static const char *const bad[] = {"abc", "0", "-1", "99999999999", "1.5", "inf"};
    char args[256], want[512];
    for (size_t c = 0; c < sizeof takes / sizeof takes[0]; c++) {
        for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
            snprintf(args, sizeof args, "%s --threads %s", takes[c], bad[b]);
            snprintf(want, sizeof want,
                     "turbomode %s: --threads: expected a whole number in 1..1024, found \"%s\""
                     " (see 'turbomode %s --help')",
                     takes[c], bad[b], takes[c]);
            refused(args, want);
        }
    }
    for (size_t c = 0; c < sizeof not_taken / sizeof not_taken[0]; c++) {
        snprintf(args, sizeof args, "%s --threads 2", not_taken[c]);
        snprintf(want, sizeof want,
                 "turbomode %s: unknown option '--threads' (see 'turbomode %s --help')",
                 not_taken[c], not_taken[c]);
        refused(args, want);
    }
}
END_TEST

/* --labels takes absolute or xs-decile on the jobs that make labels;
 * thresholds given with xs-decile are refused, not ignored. */
START_TEST(job_labels_option_values_and_scope)
{
    refused("backfill --labels deciles",
            "turbomode backfill: --labels: expected one of absolute|xs-decile, found \"deciles\" "
            "(see 'turbomode backfill --help')");
    refused("generate-samples --labels xs-decile --up 0.05",
            "turbomode: --up: a threshold of absolute labels, not used with --labels xs-decile");
    refused("backfill --labels xs-decile --down 0.02",
            "turbomode: --down: a threshold of absolute labels, not used with --labels xs-decile");
    refused("track-outcomes --labels xs-decile",
            "turbomode track-outcomes: unknown option '--labels' (see 'turbomode track-outcomes "
            "--help')");
    refused("model-retrain --labels xs-decile",
            "turbomode model-retrain: unknown option '--labels' (see 'turbomode model-retrain "
            "--help')");
}
END_TEST

/* A database whose labels are absolute refuses backfill, generate-samples
 * and replay asked for xs-decile: exit 2, one line naming the option,
 * the kind asked for and the kind held, and nothing written. */
START_TEST(job_labels_mixing_is_refused_with_exit_2)
{
    char db[700], csv[700], err[700];
    snprintf(db, sizeof db, "%s/mix.db", dir);
    snprintf(csv, sizeof csv, "%s/p.csv", dir);
    snprintf(err, sizeof err, "%s/err.txt", dir);
    FILE *fp = fopen(csv, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("date,open,high,low,close,volume,Name\n2018-01-02,1,2,0.5,1.5,100,AAA\n", fp);
    fclose(fp);
    ck_assert_int_eq(tm_test_system("rm -f '%s'* && %s import-prices --db '%s' '%s' >/dev/null && "
                                    "sqlite3 '%s' \"INSERT INTO settings VALUES "
                                    "('labels', 'absolute')\"",
                                    db, tm_test_bin(), db, csv, db),
                     0);
    static const char *const cmds[] = {
            "backfill --labels xs-decile",
            "generate-samples --labels xs-decile --as-of 2018-01-02",
            "replay --labels xs-decile --from 2018-01-02 --to 2018-01-02",
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        int rc = tm_test_system("%s %s --db '%s' >/dev/null 2>'%s'", tm_test_bin(), cmds[i], db,
                                err);
        char *text = tm_test_slurp(err, NULL);
        ck_assert_ptr_nonnull(text);
        ck_assert_int_eq(rc, 2);
        ck_assert_str_eq(text, "turbomode: --labels: asked for xs-decile, but the database holds "
                               "absolute labels (samples and outcomes); one database keeps one "
                               "labelling\n");
        free(text);
    }
    ck_assert_int_eq(tm_test_system("test \"$(sqlite3 '%s' 'SELECT count(*) FROM job_results')\""
                                    " = 0",
                                    db),
                     0);
}
END_TEST

/* Runs `turbomode CMD --help` into a string. */
static char *help_of(const char *cmd)
{
    char out[700];
    snprintf(out, sizeof out, "%s/help.txt", dir);
    ck_assert_int_eq(tm_test_system("%s %s --help > '%s'", tm_test_bin(), cmd, out), 0);
    return tm_test_slurp(out, NULL);
}

START_TEST(job_help_lists_only_the_options_taken)
{
    char *h = help_of("scan");
    ck_assert_ptr_nonnull(strstr(h, "--force"));
    ck_assert_ptr_nonnull(strstr(h, "rescore a day already scored"));
    ck_assert_ptr_nonnull(strstr(h, "--threads N"));
    ck_assert_ptr_null(strstr(h, "--rounds-scale"));
    ck_assert_ptr_null(strstr(h, "--folds"));
    ck_assert_ptr_null(strstr(h, "--from"));
    free(h);
    h = help_of("track-outcomes");
    ck_assert_ptr_nonnull(strstr(h, "--horizon N"));
    ck_assert_ptr_null(strstr(h, "--force"));
    ck_assert_ptr_null(strstr(h, "--threads"));
    ck_assert_ptr_null(strstr(h, "--registry"));
    free(h);
    h = help_of("model-retrain");
    ck_assert_ptr_nonnull(strstr(h, "--folds K"));
    ck_assert_ptr_nonnull(strstr(h, "--registry FILE"));
    ck_assert_ptr_nonnull(strstr(h, "(default: 1)")); /* --rounds-scale, from opts_init */
    ck_assert_ptr_nonnull(strstr(h, "--force"));      /* activates without the promotion check */
    ck_assert_ptr_null(strstr(h, "--gate-days"));
    free(h);
    h = help_of("replay");
    ck_assert_ptr_nonnull(strstr(h, "--from DATE"));
    ck_assert_ptr_nonnull(strstr(h, "--config FILE"));
    ck_assert_ptr_null(strstr(h, "--as-of DATE"));
    ck_assert_ptr_null(strstr(h, "--force"));
    free(h);
    h = help_of("models");
    ck_assert_ptr_nonnull(strstr(h, "--all"));
    ck_assert_ptr_null(strstr(h, "--as-of DATE"));
    free(h);
}
END_TEST

/* The README's text between the marker lines begin and end is exactly
 * what `turbomode ARGS` prints. */
static void readme_section_is(const char *args, const char *begin, const char *end)
{
    char out[700];
    snprintf(out, sizeof out, "%s/md.txt", dir);
    ck_assert_int_eq(tm_test_system("%s %s > '%s'", tm_test_bin(), args, out), 0);
    char *md = tm_test_slurp(out, NULL);
    char *readme = tm_test_slurp("README.md", NULL);
    ck_assert_ptr_nonnull(md);
    ck_assert_msg(readme != NULL, "README.md not found (tests run from the repository root)");
    char *a = strstr(readme, begin);
    ck_assert_msg(a != NULL, "README.md has no marker %s", begin);
    a += strlen(begin);
    char *b = strstr(a, end);
    ck_assert_msg(b != NULL, "README.md has no marker %s", end);
    *b = 0;
    ck_assert_msg(strcmp(a, md) == 0,
                  "README.md's section after %s differs from `turbomode %s`: "
                  "run `make readme-options`",
                  begin, args);
    free(md);
    free(readme);
}

/* The README's option tables, between their markers, are exactly what the
 * tables print (`make readme-options` rewrites them): the job commands'
 * and train's. */
START_TEST(readme_option_tables_match_the_tables)
{
    readme_section_is("help --markdown",
                      "<!-- job options: generated by `turbomode help --markdown` -->\n",
                      "<!-- end of job options -->");
    readme_section_is("help --markdown train",
                      "<!-- train options: generated by `turbomode help --markdown train` -->\n",
                      "<!-- end of train options -->");
}
END_TEST

TM_TEST_SUITE(cli_jobs)
{
    Suite *s = suite_create("cli_jobs");
    TCase *tc = tcase_create("options");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, job_options_out_of_range_are_refused_by_name);
    tcase_add_test(tc, job_threads_validated_on_every_job_command);
    tcase_add_test(tc, job_decision_rule_options_refused_by_name);
    tcase_add_test(tc, job_help_lists_only_the_options_taken);
    tcase_add_test(tc, job_labels_option_values_and_scope);
    tcase_add_test(tc, job_labels_mixing_is_refused_with_exit_2);
    tcase_add_test(tc, readme_option_tables_match_the_tables);
    suite_add_tcase(s, tc);
    return s;
}
