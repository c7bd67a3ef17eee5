/* The pipeline commands: scan, track-outcomes, generate-samples,
 * meta-retrain, model-retrain, replay, signals and the registry commands
 * (model rollback, models). They share one option parser (--db, --as-of,
 * model and validation settings) and print the job's summary. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <turbomode/pipeline.h>
#include <turbomode/store.h>

#include "cli/cli.h"

static void log_line(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "%s\n", line);
}

enum {
    JOBS = TM_PIPELINE_CMD_BACKFILL | TM_PIPELINE_CMD_SCAN | TM_PIPELINE_CMD_TRACK |
           TM_PIPELINE_CMD_SAMPLES | TM_PIPELINE_CMD_META | TM_PIPELINE_CMD_MODELS |
           TM_PIPELINE_CMD_REPLAY,
};

#define OFF(f) offsetof(tm_cli_job, f)

/* The command-line-only options of the job commands; the others are
 * tm_pipeline_opt_table's. */
static const tm_opt cli_table[] = {
        {"as-of", TM_OPT_DATE, OFF(as_of), 0, 0, "DATE", NULL, "the latest price date",
         "simulated today: only data up to DATE is read",
         (JOBS & ~TM_PIPELINE_CMD_REPLAY) | TM_PIPELINE_CMD_SIGNALS},
        {"from", TM_OPT_DATE, OFF(from), 0, 0, "DATE", NULL, NULL, "first day replayed (required)",
         TM_PIPELINE_CMD_REPLAY},
        {"to", TM_OPT_DATE, OFF(to), 0, 0, "DATE", NULL, NULL, "last day replayed (required)",
         TM_PIPELINE_CMD_REPLAY},
        {"config", TM_OPT_STRING, OFF(config), 0, 0, "FILE", NULL, "the built-in jobs",
         "the daemon's schedule to replay", TM_PIPELINE_CMD_REPLAY},
        {"all", TM_OPT_FLAG, OFF(all), 0, 0, NULL, NULL, NULL,
         "also the inactive models (older versions)", TM_PIPELINE_CMD_REGISTRY},
        {"gc", TM_OPT_FLAG, OFF(gc), 0, 0, NULL, NULL, NULL,
         "instead remove the model files no registry row names (left by an interrupted "
         "retrain)",
         TM_PIPELINE_CMD_REGISTRY},
        {"timings", TM_OPT_FLAG, OFF(timings), 0, 0, NULL, NULL, NULL, "per-step times on stderr",
         JOBS},
        {"verbose", TM_OPT_FLAG, OFF(verbose), 0, 0, NULL, NULL, NULL,
         "progress lines on stderr (model i of N, fold, rounds, steps) even when it is not a "
         "terminal",
         JOBS},
};

/* The job commands: name, scope bit, scheduler job, description. */
static const tm_cli_jobcmd jobcmds[] = {
        {"backfill", TM_PIPELINE_CMD_BACKFILL, NULL,
         "Builds training samples from the price history: every (stock, day) after the\n"
         "feature warm-up whose label is known by --as-of. Existing samples are kept."},
        {"scan", TM_PIPELINE_CMD_SCAN, "overnight_scan",
         "Scores the universe on the latest trading day <= --as-of: base models,\n"
         "the 55 meta features, the meta-learner; writes signals. Skips (exit 3) a day\n"
         "already scored unless --force."},
        {"track-outcomes", TM_PIPELINE_CMD_TRACK, "outcome_tracker",
         "Records the realised return and outcome of signals whose horizon ended."},
        {"generate-samples", TM_PIPELINE_CMD_SAMPLES, "sample_generator",
         "Turns tracked outcomes into new training samples."},
        {"meta-retrain", TM_PIPELINE_CMD_META, "meta_retrain",
         "Regenerates meta predictions (batches of 5,000), computes the 55 meta\n"
         "features, trains and validates the meta-learner, and activates it when it\n"
         "does no worse than the active one on days out of sample for both and its\n"
         "net spread clears the random band (else it is registered inactive). Skips\n"
         "(exit 3) when the last meta or model retrain is under --gate-days old,\n"
         "unless --force (which also activates without the promotion check)."},
        {"model-retrain", TM_PIPELINE_CMD_MODELS, "model_retrain",
         "Retrains the base models (and their fold models), then the meta-learner;\n"
         "the new set becomes active by the same promotion check as meta-retrain\n"
         "(or --force)."},
        {"replay", TM_PIPELINE_CMD_REPLAY, NULL,
         "Runs the daemon's schedule on a simulated clock from --from to --to: every\n"
         "job sees only data up to its night and applies its own gate."},
        {"signals", TM_PIPELINE_CMD_SIGNALS, NULL,
         "Prints the signals of --as-of's date (default: the latest), the last meta\n"
         "retrain's report and what the latest evaluation showed."},
        {"models", TM_PIPELINE_CMD_REGISTRY, NULL,
         "Lists the model registry (active models; read-only), or with --gc removes the\n"
         "model files no registry row names."},
        {"model rollback", TM_PIPELINE_CMD_ROLLBACK, NULL,
         "Makes the previous meta-learner active again."},
};

const tm_cli_jobcmd *tm_cli_jobcmd_find(const char *cmd)
{
    for (size_t i = 0; i < sizeof jobcmds / sizeof jobcmds[0]; i++) {
        if (strcmp(jobcmds[i].cmd, cmd) == 0) {
            return &jobcmds[i];
        }
    }
    return NULL;
}

const tm_cli_jobcmd *tm_cli_jobcmd_at(size_t i)
{
    return i < sizeof jobcmds / sizeof jobcmds[0] ? &jobcmds[i] : NULL;
}

/* The two option sets of the job commands over o and j. */
static void job_sets(tm_pipeline_opts *o, tm_cli_job *j, tm_cli_optset sets[2])
{
    size_t n;
    const tm_opt *rows = tm_pipeline_opt_table(&n);
    sets[0] = (tm_cli_optset){rows, n, o};
    sets[1] = (tm_cli_optset){cli_table, sizeof cli_table / sizeof cli_table[0], j};
}

void tm_cli_job_options(FILE *out, const tm_cli_jobcmd *c, bool markdown)
{
    tm_pipeline_opts o;
    tm_cli_job j;
    tm_pipeline_opts_init(&o);
    memset(&j, 0, sizeof j);
    tm_cli_optset sets[2];
    job_sets(&o, &j, sets);
    if (markdown) {
        tm_cli_opts_markdown(out, c->scope, sets, 2);
    } else {
        tm_cli_opts_help(out, c->scope, sets, 2);
    }
}

static void job_help(const tm_cli_jobcmd *c)
{
    printf("usage: turbomode %s --db DB [options]\n\n%s\n\n", c->cmd, c->what);
    tm_cli_job_options(stdout, c, false);
    printf("\nexit status: 0 ok, 1 the work failed, 2 bad input or usage%s\n",
           c->job ? ", 3 skipped" : "");
}

int tm_cli_pipeline_args(const tm_cli_jobcmd *c, int argc, char **argv, tm_pipeline_opts *o,
                         tm_cli_job *j, const char **pos, int max_pos, int *n_pos)
{
    tm_pipeline_opts_init(o);
    memset(j, 0, sizeof *j);
    if (tm_cli_opts_wants_help(argc, argv)) {
        job_help(c);
        return 0;
    }
    tm_cli_optset sets[2];
    job_sets(o, j, sets);
    int np = 0;
    int rc = tm_cli_opts_parse(c->cmd, c->scope, sets, 2, argc, argv, pos, max_pos, &np);
    if (rc >= 0) {
        return rc;
    }
    if (n_pos) {
        *n_pos = np;
    }
    /* Progress lines go to a terminal; --verbose sends them anywhere. */
    if (j->verbose || tm_cli_progress_enabled()) {
        o->log = log_line;
    }
    if (!o->db_path) {
        return tm_cli_usage_error(c->cmd, "--db PATH is required");
    }
    if ((rc = tm_cli_today(c->cmd, &o->today)) >= 0) {
        return rc;
    }
    if (j->as_of > o->today) {
        char a[16], t[16];
        return tm_cli_usage_error(c->cmd, "--as-of: expected a date not after today (%s), found %s",
                                  tm_store_date_format(o->today, t),
                                  tm_store_date_format(j->as_of, a));
    }
    return -1;
}

void tm_cli_print_report(const tm_pipeline_report *rep, bool timings)
{
    fputs(rep->summary, stdout);
    fflush(stdout);
    if (timings) {
        for (size_t i = 0; i < rep->n_steps; i++) {
            fprintf(stderr, "job=%s step=%s seconds=%.3f\n", rep->job, rep->steps[i].name,
                    rep->steps[i].seconds);
        }
        fprintf(stderr, "job=%s step=total seconds=%.3f\n", rep->job, rep->seconds);
    }
}

/* Opens the pipeline and resolves a missing --as-of to the latest price
 * date. Returns -1 on success, else the exit status. */
static int open_pipeline(const tm_pipeline_opts *o, int32_t *as_of, tm_pipeline **p)
{
    tm_err err;
    tm_err_init(&err);
    if (tm_pipeline_open(o, p, &err) != TM_OK) {
        return tm_cli_report(&err);
    }
    if (*as_of == 0 && tm_pipeline_latest_date(*p, as_of, &err) != TM_OK) {
        tm_pipeline_close(*p);
        return tm_cli_report(&err);
    }
    if (*as_of == 0) {
        tm_pipeline_close(*p);
        fprintf(stderr, "turbomode: %s: no prices in the database (run import-prices first)\n",
                o->db_path);
        return 2;
    }
    return -1;
}

static int run_job(const char *cmd, int argc, char **argv)
{
    const tm_cli_jobcmd *c = tm_cli_jobcmd_find(cmd);
    tm_pipeline_opts o;
    tm_cli_job j;
    int rc = tm_cli_pipeline_args(c, argc, argv, &o, &j, NULL, 0, NULL);
    if (rc >= 0) {
        return rc;
    }
    tm_pipeline *p = NULL;
    int32_t as_of = j.as_of;
    if ((rc = open_pipeline(&o, &as_of, &p)) >= 0) {
        return rc;
    }
    tm_err err;
    tm_err_init(&err);
    tm_pipeline_report rep;
    tm_status st = tm_pipeline_run_job(p, c->job, as_of, &rep, &err);
    tm_pipeline_close(p);
    if (st != TM_OK) {
        return tm_cli_report(&err);
    }
    tm_cli_print_report(&rep, j.timings);
    return strcmp(rep.status, "skipped") == 0 ? TM_PIPELINE_EXIT_SKIPPED : 0;
}

int tm_cli_scan(int argc, char **argv)
{
    return run_job("scan", argc, argv);
}

int tm_cli_track_outcomes(int argc, char **argv)
{
    return run_job("track-outcomes", argc, argv);
}

int tm_cli_generate_samples(int argc, char **argv)
{
    return run_job("generate-samples", argc, argv);
}

int tm_cli_meta_retrain(int argc, char **argv)
{
    return run_job("meta-retrain", argc, argv);
}

int tm_cli_model_retrain(int argc, char **argv)
{
    return run_job("model-retrain", argc, argv);
}

/* Replay prints one line per job run (the first line of its summary). */
static void print_job(void *ctx, const tm_pipeline_report *rep)
{
    const char *nl = strchr(rep->summary, '\n');
    int len = nl ? (int)(nl - rep->summary) : (int)strlen(rep->summary);
    printf("%-16s %-7s %6.1fs  %.*s\n", rep->job, rep->status, rep->seconds, len, rep->summary);
    if (*(bool *)ctx) {
        tm_cli_print_report(rep, false);
    }
    fflush(stdout);
}

int tm_cli_replay(int argc, char **argv)
{
    tm_pipeline_opts o;
    tm_cli_job j;
    int rc = tm_cli_pipeline_args(tm_cli_jobcmd_find("replay"), argc, argv, &o, &j, NULL, 0, NULL);
    if (rc >= 0) {
        return rc;
    }
    if (!j.from || !j.to || j.from > j.to) {
        return tm_cli_usage_error("replay", "--from DATE and --to DATE (from <= to) are required");
    }
    tm_pipeline *p = NULL;
    tm_err err;
    tm_err_init(&err);
    if (tm_pipeline_open(&o, &p, &err) != TM_OK) {
        return tm_cli_report(&err);
    }
    tm_status st = tm_pipeline_replay(p, j.from, j.to, j.config, print_job, &j.timings, &err);
    tm_pipeline_close(p);
    return st == TM_OK ? 0 : tm_cli_report(&err);
}

/* The report commands: parse the shared options, open the pipeline, run
 * one report call, print its summary. */
typedef tm_status (*report_fn)(tm_pipeline *p, const tm_cli_job *j, tm_pipeline_report *rep,
                               tm_err *err);

static int run_report(const char *cmd, int argc, char **argv, report_fn fn, bool read_only)
{
    tm_pipeline_opts o;
    tm_cli_job j;
    int rc = tm_cli_pipeline_args(tm_cli_jobcmd_find(cmd), argc, argv, &o, &j, NULL, 0, NULL);
    if (rc >= 0) {
        return rc;
    }
    o.read_only = read_only && !j.gc; /* models --gc removes files: a write transaction */
    tm_pipeline *p = NULL;
    tm_err err;
    tm_err_init(&err);
    if (tm_pipeline_open(&o, &p, &err) != TM_OK) {
        return tm_cli_report(&err);
    }
    tm_pipeline_report rep;
    tm_status st = fn(p, &j, &rep, &err);
    tm_pipeline_close(p);
    if (st != TM_OK) {
        return tm_cli_report(&err);
    }
    fputs(rep.summary, stdout);
    return 0;
}

static tm_status rollback_report(tm_pipeline *p, const tm_cli_job *j, tm_pipeline_report *rep,
                                 tm_err *err)
{
    (void)j;
    return tm_pipeline_rollback(p, rep, err);
}

static tm_status registry_report(tm_pipeline *p, const tm_cli_job *j, tm_pipeline_report *rep,
                                 tm_err *err)
{
    if (j->gc) {
        return tm_pipeline_models_gc(p, rep, err);
    }
    return tm_pipeline_models_report(p, j->all, rep, err);
}

/* The signals report ends with what the latest evaluation showed. */
static tm_status signals_report(tm_pipeline *p, const tm_cli_job *j, tm_pipeline_report *rep,
                                tm_err *err)
{
    tm_status st = tm_pipeline_signals_report(p, j->as_of, rep, err);
    size_t n = strlen(rep->summary);
    if (st == TM_OK) {
        st = tm_pipeline_edge_note(p, rep->summary + n, sizeof rep->summary - n, err);
    }
    return st;
}

int tm_cli_signals(int argc, char **argv)
{
    return run_report("signals", argc, argv, signals_report, true);
}

/* `model rollback`, for the `model` dispatcher in cmd_model.c. */
int tm_cli_model_rollback(int argc, char **argv)
{
    return run_report("model rollback", argc, argv, rollback_report, false);
}

int tm_cli_models(int argc, char **argv)
{
    return run_report("models", argc, argv, registry_report, true);
}
