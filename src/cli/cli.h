/* The turbomode command: one function per subcommand, each in its own
 * cmd_<name>.c, dispatched from main.c. Each returns the process exit
 * status: 0 ok, 1 failure of the work, 2 bad input or usage. */
#ifndef TURBOMODE_CLI_H
#define TURBOMODE_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <turbomode/core.h>

/* Prints "turbomode: MESSAGE" for err on stderr; returns the exit status
 * for it (2 for bad input: parse/format/invalid/range, else 1). */
int tm_cli_report(const tm_err *err);
/* Prints "turbomode CMD: fmt..." on stderr and returns 2 (usage errors). */
int tm_cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Today as YYYYMMDD into *out: $TM_TODAY (YYYY-MM-DD: the clock of tests
 * and of replays of the past), else the system's UTC date. Returns -1, or
 * the exit status after a message when TM_TODAY is malformed. */
int tm_cli_today(const char *cmd, int32_t *out);
/* True when stderr is a terminal (progress output goes there only then). */
bool tm_cli_progress_enabled(void);

int tm_cli_predict(int argc, char **argv);
int tm_cli_model(int argc, char **argv);
int tm_cli_train(int argc, char **argv);

/* Pipeline commands (cmd_import_prices.c, cmd_backfill.c, cmd_jobs.c). */
int tm_cli_import_prices(int argc, char **argv);
int tm_cli_backfill(int argc, char **argv);
int tm_cli_scan(int argc, char **argv);
int tm_cli_track_outcomes(int argc, char **argv);
int tm_cli_generate_samples(int argc, char **argv);
int tm_cli_meta_retrain(int argc, char **argv);
int tm_cli_model_retrain(int argc, char **argv);
int tm_cli_replay(int argc, char **argv);
int tm_cli_signals(int argc, char **argv);
int tm_cli_models(int argc, char **argv);
/* `evaluate` (cmd_evaluate.c). */
int tm_cli_evaluate(int argc, char **argv);
/* `model rollback`: for the `model` dispatcher in cmd_model.c. */
int tm_cli_model_rollback(int argc, char **argv);
struct tm_pipeline_opts;
struct tm_pipeline_report;
/* The shared option parser of the pipeline commands (cmd_jobs.c): -1 when
 * the command should go on, else the exit status. */
int tm_cli_pipeline_args(const char *cmd, const char *what, int argc, char **argv,
                         struct tm_pipeline_opts *o, int32_t *as_of, bool *timings,
                         const char **pos, int *n_pos);
/* Prints a job's summary (and its step times on stderr with timings). */
void tm_cli_print_report(const struct tm_pipeline_report *rep, bool timings);

/* Scheduler commands (cmd_daemon.c, cmd_schedule.c). */
int tm_cli_daemon(int argc, char **argv);
int tm_cli_schedule(int argc, char **argv);
/* Loads the scheduler config (NULL path: built-in jobs), applies --db and
 * this binary's path; on error prints it and returns the exit status. */
struct tm_sched_config;
int tm_cli_sched_config(const char *cmd, const char *path, const char *db,
                        struct tm_sched_config **out);

#endif
