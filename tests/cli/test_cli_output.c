/* Where outputs go (src/core/file.c through the commands): a regular file
 * is replaced atomically, a symlink's target is replaced and the link
 * kept, a device or FIFO is written in place, '-' is stdout; a missing
 * directory is bad input (exit 2) found before any work, a full disk is a
 * failure (exit 1) with the system's reason; `train` writes all its
 * outputs or none. Each case runs the exact command and checks the exit
 * status, the one-line message, and what was (not) written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tm_test.h"

static char dir[512];
static char bin[4096];

static void write_file(const char *name, const char *text)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    fclose(fp);
}

static char *slurp(const char *name)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return tm_test_slurp(path, NULL);
}

static bool exists(const char *name)
{
    char path[700];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return lstat(path, &st) == 0;
}

/* Runs "turbomode ARGS" in dir (stdout to out.txt, stderr to err.txt);
 * returns the exit status, the stderr text in err. */
static int run(const char *args, char *err, size_t len)
{
    int rc = tm_test_system("cd '%s' && '%s' %s >out.txt 2>err.txt", dir, bin, args);
    char *e = slurp("err.txt");
    snprintf(err, len, "%s", e ? e : "");
    free(e);
    return rc;
}

/* A three-class training set, then a small model trained from it. */
static void setup(void)
{
    snprintf(dir, sizeof dir, "%s/out_%d", tm_test_tmpdir(), (int)getpid());
    mkdir(dir, 0755);
    if (!realpath(tm_test_bin(), bin)) {
        snprintf(bin, sizeof bin, "%s", tm_test_bin());
    }
    char path[700];
    snprintf(path, sizeof path, "%s/t.csv", dir);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("label,f0,f1\n", fp);
    for (int r = 0; r < 90; r++) {
        fprintf(fp, "%d,%g,%d\n", r % 3, r % 3 + 0.1 * (r % 7), r % 5);
    }
    fclose(fp);
    char err[1024];
    ck_assert_int_eq(run("train --input t.csv --label label --out m.txt --max-rounds 2 --threads 1",
                         err, sizeof err),
                     0);
}

#define PREDICT "predict --model m.txt --input t.csv --threads 1 "

START_TEST(output_dev_full_fails_with_reason_and_stays_a_device)
{
    struct stat st;
    if (stat("/dev/full", &st) != 0 || !S_ISCHR(st.st_mode) || access("/dev/full", W_OK) != 0) {
        tm_test_skip("no writable /dev/full character device");
        return;
    }
    tm_test_ran();
    char err[1024];
    ck_assert_int_eq(run(PREDICT "--output /dev/full", err, sizeof err), 1);
    ck_assert_str_eq(err, "turbomode: /dev/full: write failed: No space left on device\n");
    ck_assert_int_eq(stat("/dev/full", &st), 0);
    ck_assert(S_ISCHR(st.st_mode));
    /* train: the model is staged, the metrics fail: neither is written */
    ck_assert_int_eq(run("train --input t.csv --label label --out m2.txt --max-rounds 2 "
                         "--metrics-json /dev/full",
                         err, sizeof err),
                     1);
    ck_assert_str_eq(err, "turbomode: /dev/full: write failed: No space left on device\n");
    ck_assert(!exists("m2.txt"));
}
END_TEST

START_TEST(output_symlink_target_replaced_link_kept)
{
    char err[1024];
    ck_assert_int_eq(run(PREDICT "--output plain.csv", err, sizeof err), 0);
    write_file("target.csv", "old\n");
    char link[700];
    snprintf(link, sizeof link, "%s/link.csv", dir);
    ck_assert_int_eq(symlink("target.csv", link), 0);
    ck_assert_int_eq(run(PREDICT "--output link.csv", err, sizeof err), 0);
    ck_assert_str_eq(err, "");
    struct stat st;
    ck_assert_int_eq(lstat(link, &st), 0);
    ck_assert_msg(S_ISLNK(st.st_mode), "the symlink was replaced");
    char *want = slurp("plain.csv"), *got = slurp("target.csv");
    ck_assert_str_eq(got, want);
    free(got);
    /* a dangling link creates its target */
    snprintf(link, sizeof link, "%s/dangling.csv", dir);
    ck_assert_int_eq(symlink("new_target.csv", link), 0);
    ck_assert_int_eq(run(PREDICT "--output dangling.csv", err, sizeof err), 0);
    ck_assert_int_eq(lstat(link, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    got = slurp("new_target.csv");
    ck_assert_str_eq(got, want);
    free(got);
    free(want);
}
END_TEST

START_TEST(output_fifo_and_stdout_written_in_place)
{
    char err[1024];
    ck_assert_int_eq(run(PREDICT "--output plain.csv", err, sizeof err), 0);
    char fifo[700];
    snprintf(fifo, sizeof fifo, "%s/pipe", dir);
    ck_assert_int_eq(mkfifo(fifo, 0644), 0);
    ck_assert_int_eq(tm_test_system("cd '%s' && { cat pipe > from_fifo.csv & '%s' " PREDICT
                                    "--output pipe; rc=$?; wait; exit $rc; }",
                                    dir, bin),
                     0);
    struct stat st;
    ck_assert_int_eq(lstat(fifo, &st), 0);
    ck_assert(S_ISFIFO(st.st_mode));
    char *want = slurp("plain.csv"), *got = slurp("from_fifo.csv");
    ck_assert_uint_gt(strlen(want), 0);
    ck_assert_str_eq(got, want);
    free(got);
    ck_assert_int_eq(run(PREDICT "--output -", err, sizeof err), 0);
    got = slurp("out.txt");
    ck_assert_str_eq(got, want);
    ck_assert(!exists("-"));
    free(got);
    free(want);
}
END_TEST

START_TEST(output_bad_locations_exit_2_before_work)
{
    char err[1024];
    ck_assert_int_eq(run(PREDICT "--output missing/o.csv", err, sizeof err), 2);
    ck_assert_str_eq(err,
                     "turbomode: missing/o.csv: cannot create output: No such file or directory\n");
    ck_assert(!exists("missing"));
    ck_assert_int_eq(run(PREDICT "--output .", err, sizeof err), 2);
    ck_assert_str_eq(err, "turbomode: .: cannot write output: is a directory\n");
    /* checked before the work: a bad model is not even read */
    ck_assert_int_eq(
            run("predict --model absent.txt --input t.csv --output missing/o.csv", err, sizeof err),
            2);
    ck_assert_str_eq(err,
                     "turbomode: missing/o.csv: cannot create output: No such file or directory\n");
}
END_TEST

START_TEST(output_train_writes_all_or_none)
{
    char err[1024];
    write_file("keep.txt", "previous model\n");
    ck_assert_int_eq(run("train --input t.csv --label label --out keep.txt --max-rounds 2 "
                         "--metrics-json missing/m.json",
                         err, sizeof err),
                     2);
    ck_assert_str_eq(err, "turbomode train: --metrics-json: missing/m.json: cannot create "
                          "output: No such file or directory\n");
    char *text = slurp("keep.txt");
    ck_assert_str_eq(text, "previous model\n");
    free(text);
    ck_assert_int_eq(run("train --input t.csv --label label --out missing/m.txt --max-rounds 2 "
                         "--metrics-json m.json",
                         err, sizeof err),
                     2);
    ck_assert_str_eq(err, "turbomode train: --out: missing/m.txt: cannot create output: No such "
                          "file or directory\n");
    ck_assert(!exists("m.json"));
    /* both written when both can be */
    ck_assert_int_eq(run("train --input t.csv --label label --out keep.txt --max-rounds 2 "
                         "--metrics-json m.json",
                         err, sizeof err),
                     0);
    text = slurp("keep.txt");
    ck_assert_ptr_null(strstr(text, "previous model"));
    free(text);
    ck_assert(exists("m.json"));
    /* nothing staged is left behind */
    ck_assert_int_eq(tm_test_system("cd '%s' && ls | grep -q '\\.part\\.\\|\\.tmp\\.'", dir), 1);
}
END_TEST

TM_TEST_SUITE(cli_output)
{
    Suite *s = suite_create("cli_output");
    TCase *tc = tcase_create("output");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, output_dev_full_fails_with_reason_and_stays_a_device);
    tcase_add_test(tc, output_symlink_target_replaced_link_kept);
    tcase_add_test(tc, output_fifo_and_stdout_written_in_place);
    tcase_add_test(tc, output_bad_locations_exit_2_before_work);
    tcase_add_test(tc, output_train_writes_all_or_none);
    suite_add_tcase(s, tc);
    return s;
}
