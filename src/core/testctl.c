/* The test-control entry point, as SQLite's sqlite3_test_control: named
 * points in long jobs where a test can stop the process to kill it. Only
 * the test build of the program (build/<variant>/turbomode-test) compiles
 * this file with TM_TEST_CONTROL; the library and bin/turbomode get the
 * empty version, so no environment variable can pause a real run. */
#include <turbomode/core.h>

#ifdef TM_TEST_CONTROL

#    include <fcntl.h>
#    include <stdlib.h>
#    include <string.h>
#    include <unistd.h>

void tm_test_point(const char *name)
{
    const char *spec = getenv("TM_TEST_PAUSE_AT");
    size_t n = strlen(name);
    if (!spec || strncmp(spec, name, n) != 0 || spec[n] != ':') {
        return;
    }
    int fd = open(spec + n + 1, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
        close(fd);
    }
    for (int i = 0; i < 600; i++) {
        usleep(100000);
    }
}

#else

void tm_test_point(const char *name)
{
    (void)name;
}

#endif
