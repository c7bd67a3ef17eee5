/* The scheduler's state file: the fast (not durable) save follows core's
 * output rules as the durable one does: the same bytes, no temporary file
 * left behind on success or failure, and the system's reason on failure. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sched/sched_int.h"
#include "tm_test.h"

static void two_jobs(tm__sched_jstate st[2])
{
    memset(st, 0, 2 * sizeof *st);
    snprintf(st[0].name, sizeof st[0].name, "scan");
    snprintf(st[0].sig, sizeof st[0].sig, "cron hour=23 minute=0");
    st[0].next_run = 1700000000000000LL;
    st[0].last_success = TM_SCHED_NEVER;
    snprintf(st[1].name, sizeof st[1].name, "model_retrain");
    snprintf(st[1].sig, sizeof st[1].sig, "cron day_of_week=sun");
    st[1].next_run = TM_SCHED_NEVER;
    st[1].last_success = 1690000000000000LL;
}

/* Entries of dir other than . and .., and the first one's name. */
static int n_entries(const char *dir, char *first, size_t len)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    first[0] = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            if (n++ == 0) {
                snprintf(first, len, "%s", e->d_name);
            }
        }
    }
    closedir(d);
    return n;
}

static void expect_fail(const char *path, tm_status status, const char *message)
{
    tm__sched_jstate st[2];
    two_jobs(st);
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm__sched_state_save(path, st, 2, false, &err), status);
    char buf[1024];
    ck_assert_str_eq(tm_err_format(&err, buf, sizeof buf), message);
}

START_TEST(state_fast_save_same_bytes_no_temp)
{
    char dir[4096], fast[4200], durable[4200], first[256];
    snprintf(dir, sizeof dir, "%s/state_same", tm_test_tmpdir());
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    snprintf(fast, sizeof fast, "%s/fast.json", dir);
    snprintf(durable, sizeof durable, "%s/durable.json", dir);
    tm__sched_jstate st[2];
    two_jobs(st);
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm__sched_state_save(fast, st, 2, false, &err), TM_OK);
    ck_assert_int_eq(tm__sched_state_save(fast, st, 2, false, &err), TM_OK); /* replaces */
    ck_assert_int_eq(tm__sched_state_save(durable, st, 2, true, &err), TM_OK);
    size_t n_fast, n_durable;
    char *a = tm_test_slurp(fast, &n_fast), *b = tm_test_slurp(durable, &n_durable);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(n_fast, n_durable);
    ck_assert(memcmp(a, b, n_fast) == 0);
    ck_assert_int_eq(n_entries(dir, first, sizeof first), 2); /* no temporary left */
    tm__sched_jstate *back = NULL;
    size_t n = 0;
    ck_assert_int_eq(tm__sched_state_load(fast, &back, &n, &err), TM_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(back[1].name, "model_retrain");
    ck_assert(back[0].next_run == st[0].next_run && back[1].last_success == st[1].last_success);
    tm_free(back);
    free(a);
    free(b);
}
END_TEST

START_TEST(state_fast_save_failures_leave_nothing)
{
    char dir[4096], path[4200], msg[8600], first[256];
    snprintf(dir, sizeof dir, "%s/state_fail", tm_test_tmpdir());
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    /* The state path is a directory: refused before anything is written. */
    snprintf(path, sizeof path, "%s/state.json", dir);
    ck_assert_int_eq(mkdir(path, 0755), 0);
    snprintf(msg, sizeof msg, "%s: cannot write output: is a directory", path);
    expect_fail(path, TM_E_INVALID, msg);
    ck_assert_int_eq(n_entries(dir, first, sizeof first), 1);
    ck_assert_str_eq(first, "state.json");
    ck_assert_int_eq(n_entries(path, first, sizeof first), 0);
    /* Its directory is missing: the system's reason. */
    snprintf(path, sizeof path, "%s/missing/state.json", dir);
    snprintf(msg, sizeof msg, "%s: cannot create output: No such file or directory", path);
    expect_fail(path, TM_E_IO, msg);
    ck_assert_int_eq(n_entries(dir, first, sizeof first), 1);
    /* A full disk: a symbolic link to /dev/full is followed and the device
     * written in place; the write fails with strerror's text, exit 1 class. */
    if (access("/dev/full", W_OK) != 0) {
        tm_test_skip("/dev/full is not writable here: the full-disk state save is not tested");
        return;
    }
    tm_test_ran();
    snprintf(path, sizeof path, "%s/full.json", dir);
    ck_assert_int_eq(symlink("/dev/full", path), 0);
    expect_fail(path, TM_E_SYSTEM, "/dev/full: write failed: No space left on device");
    ck_assert_int_eq(n_entries(dir, first, sizeof first), 2); /* state.json/ and the link */
}
END_TEST

TM_TEST_SUITE(sched_state)
{
    Suite *s = suite_create("sched_state");
    TCase *tc = tcase_create("state");
    tcase_add_test(tc, state_fast_save_same_bytes_no_temp);
    tcase_add_test(tc, state_fast_save_failures_leave_nothing);
    suite_add_tcase(s, tc);
    return s;
}
