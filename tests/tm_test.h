/* Shared helpers for the Check suites: suite registration, the location of
 * the shared fixtures, and loud skips when they are absent. */
#ifndef TM_TEST_H
#define TM_TEST_H

#include <check.h>
#include <stdbool.h>
#include <stdio.h>

/* Declares the suite constructor `Suite *tm_test_suite_NAME(void)`; the
 * Makefile finds every TM_TEST_SUITE(NAME) and registers it in main.c. */
#define TM_TEST_SUITE(name)                                                                        \
    Suite *tm_test_suite_##name(void);                                                             \
    Suite *tm_test_suite_##name(void)

/* Directory of the shared fixtures: $TM_SHARED, else "../shared". */
const char *tm_test_shared_dir(void);
/* True when path (relative to the shared dir) exists, counting a fixture
 * group that ran; otherwise prints a loud SKIP line naming what is missing,
 * counts a skipped group and returns false. The runner prints both counts
 * at the end (they are collected across the forked test processes). */
bool tm_test_shared_has(const char *rel, const char *why);
/* Prints "SKIP: MESSAGE" on stderr and counts a skipped group, for groups
 * that depend on something other than the shared fixtures (a peer tool). */
void tm_test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Counts a group that ran, for the same kind of groups. */
void tm_test_ran(void);
/* Older form of a skip count (prefer tm_test_skip): a bare increment is
 * carried to the runner when the test process exits. */
extern int tm_test_skips;
/* Path of the CLI binary under test ($TM_BIN, else bin/turbomode). */
const char *tm_test_bin(void);
/* Path of the test build of the CLI, the one with test-control points
 * ($TM_TEST_PROG, else turbomode-test beside the test runner). */
const char *tm_test_prog(void);
/* A fresh temporary directory (removed at exit); returns its path. */
const char *tm_test_tmpdir(void);
/* Runs a shell command, returns its exit status (or -1). */
int tm_test_system(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reads a whole file into a static-lifetime heap buffer (NULL if absent). */
char *tm_test_slurp(const char *path, size_t *len);

#endif
