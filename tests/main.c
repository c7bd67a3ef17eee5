/* The one test runner: every suite declared with TM_TEST_SUITE. Select
 * with CK_RUN_SUITE / CK_RUN_CASE; CK_FORK=no for a debugger. */
#include <check.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tm_test.h"

#define X(name) Suite *tm_test_suite_##name(void);
#include "suites.inc"
#undef X

/* Groups skipped with a bare tm_test_skips++ (older tests): a forked
 * child adds its count to the file when it exits (flush_bare_skips). */
int tm_test_skips;
static char tmpdir[256];
static pid_t tmpdir_owner; /* forked test children must not remove it */

const char *tm_test_shared_dir(void)
{
    const char *d = getenv("TM_SHARED");
    return d && *d ? d : "../shared";
}

/* Fixture groups are counted in the runner's process, not in the forked
 * test children: each child appends one line ("ran" or "skip") to a file
 * in the runner's temporary directory, which main() reads at the end. One
 * write() per line on an O_APPEND descriptor keeps lines whole. */
static void record_group(bool ran)
{
    char path[300];
    snprintf(path, sizeof path, "%s/fixture_groups", tm_test_tmpdir());
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0) {
        perror(path);
        return;
    }
    const char *line = ran ? "ran\n" : "skip\n";
    if (write(fd, line, strlen(line)) < 0) {
        perror(path);
    }
    close(fd);
}

void tm_test_skip(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "SKIP: %s\n", msg);
    record_group(false);
}

void tm_test_ran(void)
{
    record_group(true);
}

bool tm_test_shared_has(const char *rel, const char *why)
{
    char path[1024];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", tm_test_shared_dir(), rel);
    if (stat(path, &st) == 0) {
        record_group(true);
        return true;
    }
    tm_test_skip("%s: %s is absent (set TM_SHARED to the shared directory)", why, path);
    return false;
}

const char *tm_test_bin(void)
{
    const char *b = getenv("TM_BIN");
    return b && *b ? b : "bin/turbomode";
}

const char *tm_test_prog(void)
{
    static char path[4096];
    const char *b = getenv("TM_TEST_PROG");
    if (b && *b) {
        return b;
    }
    if (!path[0]) {
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 32);
        n = n < 0 ? 0 : n;
        while (n > 0 && path[n - 1] != '/') {
            n--;
        }
        snprintf(path + n, sizeof path - (size_t)n, "%s",
                 n ? "turbomode-test" : "./turbomode-test");
    }
    return path;
}

static void rm_tmpdir(void)
{
    if (tmpdir[0] && getpid() == tmpdir_owner) {
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd) != 0) {
            fprintf(stderr, "warning: could not remove %s\n", tmpdir);
        }
    }
}

const char *tm_test_tmpdir(void)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/tm_tests.XXXXXX");
        if (!mkdtemp(tmpdir)) {
            perror("mkdtemp");
            return "/tmp";
        }
        tmpdir_owner = getpid();
        atexit(rm_tmpdir);
    }
    return tmpdir;
}

int tm_test_system(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    int rc = system(cmd);
    if (rc == -1) {
        return -1;
    }
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128 + WTERMSIG(rc);
}

char *tm_test_slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        return NULL;
    }
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    if (buf) {
        buf[n] = 0;
        if (len) {
            *len = (size_t)n;
        }
    }
    return buf;
}

/* atexit in every process: a test child records its bare skips. */
static void flush_bare_skips(void)
{
    if (getpid() != tmpdir_owner) {
        for (int i = 0; i < tm_test_skips; i++) {
            record_group(false);
        }
    }
}

/* Counts the "ran" and "skip" lines the test children wrote. */
static void count_groups(int *ran, int *skipped)
{
    char path[300];
    snprintf(path, sizeof path, "%s/fixture_groups", tm_test_tmpdir());
    *ran = *skipped = 0;
    FILE *fp = fopen(path, "r");
    if (!fp) {
        return;
    }
    char line[16];
    while (fgets(line, sizeof line, fp)) {
        if (strcmp(line, "ran\n") == 0) {
            ++*ran;
        } else if (strcmp(line, "skip\n") == 0) {
            ++*skipped;
        }
    }
    fclose(fp);
}

int main(void)
{
    tm_test_tmpdir();
    atexit(flush_bare_skips);
    SRunner *sr = NULL;
#define X(name)                                                                                    \
    if (!sr) {                                                                                     \
        sr = srunner_create(tm_test_suite_##name());                                               \
    } else {                                                                                       \
        srunner_add_suite(sr, tm_test_suite_##name());                                             \
    }
#include "suites.inc"
#undef X
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    int ran, skipped;
    count_groups(&ran, &skipped);
    skipped += tm_test_skips; /* bare skips of cases run in this process (CK_FORK=no) */
    fflush(stderr);
    printf("fixture groups: %d ran, %d skipped%s (shared dir %s)\n", ran, skipped,
           skipped ? ", see the SKIP lines" : "", tm_test_shared_dir());
    fflush(stdout);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
