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
int tm_cli_train(int argc, char **argv);

/* Scheduler commands (cmd_daemon.c, cmd_schedule.c). */
int tm_cli_daemon(int argc, char **argv);
int tm_cli_schedule(int argc, char **argv);
/* Loads the scheduler config (NULL path: built-in jobs), applies --db and
 * this binary's path; on error prints it and returns the exit status. */
struct tm_sched_config;
int tm_cli_sched_config(const char *cmd, const char *path, const char *db,
                        struct tm_sched_config **out);

#endif
