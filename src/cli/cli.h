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
/* Checks path, the value of --opt, as an output before any work and adds
 * it to outs (tm_outputs_add; *write_to: where the writer writes). Returns
 * -1 when it was added, else prints "turbomode CMD: --OPT: PATH: reason"
 * and returns the exit status (2 for a bad location, 1 for the machine). */
int tm_cli_outputs_add(const char *cmd, const char *opt, tm_outputs *outs, const char *path,
                       const char **write_to);
/* Prints "turbomode CMD: fmt..." on stderr and returns 2 (usage errors). */
int tm_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Today as YYYYMMDD into *out: $TM_TODAY (YYYY-MM-DD: the clock of tests
 * and of replays of the past), else the system's UTC date. Returns -1, or
 * the exit status after a message when TM_TODAY is malformed. */
int tm_cli_today(const char *cmd, int32_t *out);
/* True when stderr is a terminal (progress output goes there only then). */
bool tm_cli_progress_enabled(void);

int tm_cli_predict(int argc, char **argv);
int tm_cli_model(int argc, char **argv);
int tm_cli_train(int argc, char **argv);
int tm_cli_compile(int argc, char **argv);

struct tm_forest;
/* Opens the shared object built from `turbomode compile` of f (dlopen)
 * after checking its ABI and fingerprint against f. Returns -1 with
 * *handle and *fn set, else prints a one-line message and returns the
 * exit status (2). Close with tm_cli_compiled_close (accepts NULL). */
int tm_cli_compiled_open(const char *so_path, const struct tm_forest *f, void **handle,
                         void (**fn)(const double *, size_t, size_t, double *));
void tm_cli_compiled_close(void *handle);
/* train's options with their defaults as a Markdown table (the README's). */
void tm_cli_train_options_markdown(FILE *out);

/* Option tables on the command line (opts.c). A set is a table and the
 * struct its rows write into; for help, the struct holds the defaults. */
typedef struct tm_cli_optset {
    const tm_opt *rows;
    size_t n;
    void *target;
} tm_cli_optset;
/* Parses argv[1..] with the options of the sets whose scope has a bit of
 * scope; positional arguments go to pos (at most max_pos). Returns -1 to go
 * on, 0 for --help (print it and exit 0), else 2 after printing a one-line
 * message naming the option and the value found. */
int tm_cli_opts_parse(const char *cmd, uint32_t scope, const tm_cli_optset *sets, size_t n_sets,
                      int argc, char **argv, const char **pos, int max_pos, int *n_pos);
/* True when argv has --help or -h. */
bool tm_cli_opts_wants_help(int argc, char **argv);
/* "  --name VALUE   help (default: D)" lines for the options in scope. */
void tm_cli_opts_help(FILE *out, uint32_t scope, const tm_cli_optset *sets, size_t n_sets);
/* The same as a Markdown table (option, default, what). */
void tm_cli_opts_markdown(FILE *out, uint32_t scope, const tm_cli_optset *sets, size_t n_sets);

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
/* The command-line-only options of the job commands. */
typedef struct tm_cli_job {
    int32_t as_of;      /* YYYYMMDD, 0: the latest price date */
    int32_t from, to;   /* replay's days */
    const char *config; /* replay's schedule, NULL: the built-in jobs */
    bool all;           /* models: inactive ones too */
    bool gc;            /* models: remove unregistered model files instead */
    bool timings, verbose;
} tm_cli_job;
/* A job command: its name, its tm_pipeline_cmd bit, its scheduler job
 * (NULL: not a scheduled job) and what it does. */
typedef struct tm_cli_jobcmd {
    const char *cmd;
    uint32_t scope;
    const char *job;
    const char *what;
} tm_cli_jobcmd;
/* The job command named cmd ("scan", "model rollback", ...), or NULL. */
const tm_cli_jobcmd *tm_cli_jobcmd_find(const char *cmd);
/* The i-th job command, NULL past the end. */
const tm_cli_jobcmd *tm_cli_jobcmd_at(size_t i);
/* Prints c's options with their defaults: help lines or a Markdown table. */
void tm_cli_job_options(FILE *out, const tm_cli_jobcmd *c, bool markdown);
/* Parses a job command's options (those in its scope only) into o and j.
 * Returns -1 when the command should go on, else the exit status. */
int tm_cli_pipeline_args(const tm_cli_jobcmd *c, int argc, char **argv, struct tm_pipeline_opts *o,
                         tm_cli_job *j, const char **pos, int max_pos, int *n_pos);
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
