/* The turbomode command: one function per subcommand, each in its own
 * cmd_<name>.c, dispatched from main.c. Each returns the process exit
 * status: 0 ok, 1 failure of the work, 2 bad input or usage. */
#ifndef TURBOMODE_CLI_H
#define TURBOMODE_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <turbomode/core.h>

/* Prints "turbomode: MESSAGE" for err on stderr; returns the exit status
 * for it (2 for bad input: parse/format/invalid/range, else 1). */
int tm_cli_report(const tm_err *err);
/* Prints "turbomode CMD: fmt..." on stderr and returns 2 (usage errors). */
int tm_cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* True when stderr is a terminal (progress output goes there only then). */
bool tm_cli_progress_enabled(void);

int tm_cli_predict(int argc, char **argv);
int tm_cli_model(int argc, char **argv);

#endif
