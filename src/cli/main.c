/* The turbomode command: global options, the subcommand table and the
 * helpers every subcommand shares (error reporting, progress policy). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <turbomode/store.h>

#include "cli/cli.h"

#define TM_VERSION "0.1.0"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
        {"predict", tm_cli_predict, "score a CSV with a tree model (XGBoost, LightGBM, CatBoost)"},
        {"compile", tm_cli_compile, "write a model's trees as C to build ahead of time"},
        {"model", tm_cli_model, "inspect a model file (model info PATH)"},
        {"train", tm_cli_train,
         "train gradient-boosted trees on a CSV (LightGBM/XGBoost/CatBoost out)"},
        {"import-prices", tm_cli_import_prices,
         "load daily OHLCV CSV (date,open,high,low,close,volume,Name)"},
        {"backfill", tm_cli_backfill, "build training samples from the price history"},
        {"scan", tm_cli_scan, "job overnight_scan: score the universe, write signals"},
        {"track-outcomes", tm_cli_track_outcomes, "job outcome_tracker: outcomes of past signals"},
        {"generate-samples", tm_cli_generate_samples, "job sample_generator: outcomes -> samples"},
        {"meta-retrain", tm_cli_meta_retrain,
         "job meta_retrain: retrain the meta-learner (42-day gate)"},
        {"model-retrain", tm_cli_model_retrain,
         "job model_retrain: retrain the 8 base models + meta"},
        {"replay", tm_cli_replay, "run the schedule on a simulated clock over history"},
        {"signals", tm_cli_signals, "print the latest signals and the last retrain's report"},
        {"evaluate", tm_cli_evaluate, "walk-forward evaluation of past signals against baselines"},
        {"models", tm_cli_models, "list the model registry (active models, metrics)"},
        {"daemon", tm_cli_daemon, "run the scheduled jobs (single instance per database)"},
        {"schedule", tm_cli_schedule, "schedule list|history|check|eval: the job schedule"},
};

static int exit_status(const tm_err *err)
{
    switch (err->status) {
    case TM_E_PARSE:
    case TM_E_FORMAT:
    case TM_E_INVALID:
    case TM_E_RANGE:
        return 2;
    case TM_E_IO:
        return 2;
    default:
        return 1;
    }
}

int tm_cli_report(const tm_err *err)
{
    char msg[1024];
    fprintf(stderr, "turbomode: %s\n", tm_err_format(err, msg, sizeof msg));
    return exit_status(err);
}

int tm_cli_outputs_add(const char *cmd, const char *opt, tm_outputs *outs, const char *path,
                       const char **write_to)
{
    tm_err err;
    tm_err_init(&err);
    if (tm_outputs_add(outs, path, write_to, &err) == TM_OK) {
        return -1;
    }
    char msg[1024];
    fprintf(stderr, "turbomode %s: --%s: %s\n", cmd, opt, tm_err_format(&err, msg, sizeof msg));
    return exit_status(&err);
}

int tm_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "turbomode %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'turbomode %s --help')\n", cmd);
    return 2;
}

int tm_cli_today(const char *cmd, int32_t *out)
{
    const char *env = getenv("TM_TODAY");
    if (env && *env) {
        if (!tm_store_date_parse(env, out)) {
            return tm_cli_usage_error(cmd, "TM_TODAY: expected a date YYYY-MM-DD, found \"%s\"",
                                      env);
        }
        return -1;
    }
    *out = tm_ymd_from_days(tm_floordiv((int64_t)time(NULL), 86400));
    return -1;
}

bool tm_cli_progress_enabled(void)
{
    return isatty(STDERR_FILENO) == 1;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: turbomode COMMAND [OPTIONS]\n\n"
                 "TurboMode " TM_VERSION ": nightly stock signals from tree ensembles.\n\n"
                 "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        fprintf(out, "  %-18s %s\n", commands[i].name, commands[i].summary);
    }
    fprintf(out, "\n'turbomode COMMAND --help' describes a command's options;\n"
                 "'turbomode help --markdown' prints the job commands' options as Markdown\n"
                 "('turbomode help --markdown train': train's).\n"
                 "exit status: 0 ok, 1 the work failed, 2 bad input or usage,\n"
                 "3 a job skipped (its gate held it back, or nothing to do)\n");
}

/* The job commands' option tables as the README's Markdown section. */
static int markdown(void)
{
    for (size_t i = 0; tm_cli_jobcmd_at(i); i++) {
        const tm_cli_jobcmd *c = tm_cli_jobcmd_at(i);
        printf("%s`turbomode %s`\n\n", i ? "\n" : "", c->cmd);
        tm_cli_job_options(stdout, c, true);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "help") == 0 && argc == 3 && strcmp(argv[2], "--markdown") == 0) {
        return markdown();
    }
    if (strcmp(argv[1], "help") == 0 && argc == 4 && strcmp(argv[2], "--markdown") == 0 &&
        strcmp(argv[3], "train") == 0) {
        tm_cli_train_options_markdown(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("turbomode " TM_VERSION "\n");
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) == 0) {
            return commands[i].run(argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "turbomode: unknown command '%s' (see 'turbomode --help')\n", argv[1]);
    return 2;
}
