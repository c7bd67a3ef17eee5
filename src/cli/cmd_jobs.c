/* The pipeline commands: scan, track-outcomes, generate-samples,
 * meta-retrain, model-retrain, replay, signals and the registry commands
 * (model rollback, models). They share one option parser (--db, --as-of,
 * model and validation settings) and print the job's summary. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbomode/pipeline.h>
#include <turbomode/store.h>

#include "cli/cli.h"

static void log_line(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "%s\n", line);
}

static void common_help(const char *cmd, const char *what)
{
    printf("usage: turbomode %s --db DB [--as-of YYYY-MM-DD] [options]\n\n%s\n\n"
           "  --db PATH            the TurboMode database (created when absent)\n"
           "  --as-of DATE         simulated today: only data up to DATE is read\n"
           "                       (default: the latest price date)\n"
           "  --models-dir DIR     model files (default: DB's directory/turbomode_models)\n"
           "  --registry FILE      base-model registry JSON (default: the 8 built-in)\n"
           "  --horizon N          label horizon in trading days (5)\n"
           "  --up X --down X      BUY above +X, SELL below -X (0.040, 0.036)\n"
           "  --folds K            time-blocked folds for out-of-fold predictions (3)\n"
           "  --in-sample          meta features from in-sample predictions (original)\n"
           "  --split time|random  meta validation split (time, with embargo)\n"
           "  --force              meta-retrain: bypass the 42-day gate\n"
           "  --no-compare         do not train the other validation method for the report\n"
           "  --allow-later-models use models trained after --as-of when none was trained\n"
           "                       by then (look-ahead; default: refuse, exit 2)\n"
           "  --rounds-scale X     multiply every model's max rounds (1.0)\n"
           "  --threads N          threads (default: all)\n"
           "  --timings            print per-step times on stderr\n"
           "  --verbose            progress lines on stderr\n",
           cmd, what);
}

/* Parses the shared options; positional arguments go to pos (up to 4).
 * Returns -1 when all is well, else the exit status to return. */
int tm_cli_pipeline_args(const char *cmd, const char *what, int argc, char **argv,
                         tm_pipeline_opts *o, int32_t *as_of, bool *timings, const char **pos,
                         int *n_pos)
{
    tm_pipeline_opts_init(o);
    *as_of = 0;
    *timings = false;
    int np = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool has = v != NULL;
#define TAKE() (i++, v)
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            common_help(cmd, what);
            return 0;
        } else if (strcmp(a, "--db") == 0 && has) {
            o->db_path = TAKE();
        } else if (strcmp(a, "--as-of") == 0 && has) {
            if (!tm_store_date_parse(TAKE(), as_of)) {
                return tm_cli_usage_error(cmd, "--as-of: expected a date YYYY-MM-DD, found \"%s\"",
                                          v);
            }
        } else if (strcmp(a, "--models-dir") == 0 && has) {
            o->models_dir = TAKE();
        } else if (strcmp(a, "--registry") == 0 && has) {
            o->registry_path = TAKE();
        } else if (strcmp(a, "--horizon") == 0 && has) {
            o->horizon = atoi(TAKE());
        } else if (strcmp(a, "--up") == 0 && has) {
            o->up = atof(TAKE());
        } else if (strcmp(a, "--down") == 0 && has) {
            o->down = atof(TAKE());
        } else if (strcmp(a, "--folds") == 0 && has) {
            o->n_folds = atoi(TAKE());
        } else if (strcmp(a, "--threads") == 0 && has) {
            o->n_threads = atoi(TAKE());
        } else if (strcmp(a, "--rounds-scale") == 0 && has) {
            o->rounds_scale = atof(TAKE());
        } else if (strcmp(a, "--split") == 0 && has) {
            const char *s = TAKE();
            if (strcmp(s, "time") == 0) {
                o->split = TM_PIPELINE_SPLIT_TIME;
            } else if (strcmp(s, "random") == 0) {
                o->split = TM_PIPELINE_SPLIT_RANDOM;
            } else {
                return tm_cli_usage_error(cmd, "--split: expected time or random, found \"%s\"", s);
            }
        } else if (strcmp(a, "--in-sample") == 0) {
            o->in_sample = true;
        } else if (strcmp(a, "--force") == 0) {
            o->force = true;
        } else if (strcmp(a, "--no-compare") == 0) {
            o->compare = false;
        } else if (strcmp(a, "--allow-later-models") == 0) {
            o->allow_later_models = true;
        } else if (strcmp(a, "--timings") == 0) {
            *timings = true;
        } else if (strcmp(a, "--verbose") == 0) {
            o->log = log_line;
        } else if (a[0] == '-' && a[1]) {
            return tm_cli_usage_error(cmd, "unknown option or missing value: '%s'", a);
        } else if (np < 4) {
            pos[np++] = a;
        } else {
            return tm_cli_usage_error(cmd, "unexpected argument '%s'", a);
        }
#undef TAKE
    }
    if (!o->db_path) {
        return tm_cli_usage_error(cmd, "--db PATH is required");
    }
    int rc = tm_cli_today(cmd, &o->today);
    if (rc >= 0) {
        return rc;
    }
    if (*as_of > o->today) {
        char a[16], t[16];
        return tm_cli_usage_error(cmd, "--as-of: expected a date not after today (%s), found %s",
                                  tm_store_date_format(o->today, t),
                                  tm_store_date_format(*as_of, a));
    }
    if (o->horizon < 1 || o->n_folds < 2 || o->n_folds > 8 || o->up <= 0 || o->down <= 0 ||
        o->rounds_scale <= 0) {
        return tm_cli_usage_error(cmd, "--horizon >= 1, --folds 2..8, --up/--down/"
                                       "--rounds-scale > 0 expected");
    }
    if (n_pos) {
        *n_pos = np;
    } else if (np) {
        return tm_cli_usage_error(cmd, "unexpected argument '%s'", pos[0]);
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

static int run_job(const char *cmd, const char *job, const char *what, int argc, char **argv)
{
    tm_pipeline_opts o;
    int32_t as_of;
    bool timings;
    const char *pos[4];
    int rc = tm_cli_pipeline_args(cmd, what, argc, argv, &o, &as_of, &timings, pos, NULL);
    if (rc >= 0) {
        return rc;
    }
    tm_pipeline *p = NULL;
    if ((rc = open_pipeline(&o, &as_of, &p)) >= 0) {
        return rc;
    }
    tm_err err;
    tm_err_init(&err);
    tm_pipeline_report rep;
    tm_status st = tm_pipeline_run_job(p, job, as_of, &rep, &err);
    tm_pipeline_close(p);
    if (st != TM_OK) {
        return tm_cli_report(&err);
    }
    tm_cli_print_report(&rep, timings);
    return strcmp(rep.status, "skipped") == 0 ? TM_PIPELINE_EXIT_SKIPPED : 0;
}

int tm_cli_scan(int argc, char **argv)
{
    return run_job("scan", "overnight_scan",
                   "Scores the universe on the latest trading day <= --as-of: base models,\n"
                   "the 55 meta features, the meta-learner; writes signals.",
                   argc, argv);
}

int tm_cli_track_outcomes(int argc, char **argv)
{
    return run_job("track-outcomes", "outcome_tracker",
                   "Records the realised return and outcome of signals whose horizon ended.", argc,
                   argv);
}

int tm_cli_generate_samples(int argc, char **argv)
{
    return run_job("generate-samples", "sample_generator",
                   "Turns tracked outcomes into new training samples.", argc, argv);
}

int tm_cli_meta_retrain(int argc, char **argv)
{
    return run_job("meta-retrain", "meta_retrain",
                   "Regenerates meta predictions (batches of 5,000), computes the 55 meta\n"
                   "features, trains and validates the meta-learner and activates it. Skips\n"
                   "when the last success is under 42 days old unless --force.",
                   argc, argv);
}

int tm_cli_model_retrain(int argc, char **argv)
{
    return run_job("model-retrain", "model_retrain",
                   "Retrains the 8 base models (and their fold models), then the meta-learner.",
                   argc, argv);
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
    int32_t as_of, from = 0, to = 0;
    const char *schedule = NULL;
    bool timings;
    const char *pos[4];
    int np = 0;
    /* --from/--to are taken out before the shared parser sees argv. */
    char *rest[64];
    int nr = 0;
    for (int i = 0; i < argc && nr < 64; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            schedule = argv[++i];
        } else if ((strcmp(argv[i], "--from") == 0 || strcmp(argv[i], "--to") == 0) &&
                   i + 1 < argc) {
            int32_t *d = argv[i][2] == 'f' ? &from : &to;
            if (!tm_store_date_parse(argv[i + 1], d)) {
                return tm_cli_usage_error("replay", "%s: expected a date YYYY-MM-DD, found \"%s\"",
                                          argv[i], argv[i + 1]);
            }
            i++;
        } else {
            rest[nr++] = argv[i];
        }
    }
    int rc = tm_cli_pipeline_args("replay",
                                  "Runs the schedule on a simulated clock from --from to --to\n"
                                  "(YYYY-MM-DD): every job sees only data up to its night.",
                                  nr, rest, &o, &as_of, &timings, pos, &np);
    if (rc >= 0) {
        return rc;
    }
    if (!from || !to || from > to) {
        return tm_cli_usage_error("replay", "--from DATE and --to DATE (from <= to) are required");
    }
    tm_pipeline *p = NULL;
    tm_err err;
    tm_err_init(&err);
    if (tm_pipeline_open(&o, &p, &err) != TM_OK) {
        return tm_cli_report(&err);
    }
    tm_status st = tm_pipeline_replay(p, from, to, schedule, print_job, &timings, &err);
    tm_pipeline_close(p);
    return st == TM_OK ? 0 : tm_cli_report(&err);
}

/* The report commands: parse the shared options, open the pipeline, run
 * one report call, print its summary. */
typedef tm_status (*report_fn)(tm_pipeline *p, int32_t as_of, tm_pipeline_report *rep,
                               tm_err *err);

static int run_report(const char *cmd, const char *what, int argc, char **argv, report_fn fn,
                      bool read_only)
{
    tm_pipeline_opts o;
    int32_t as_of;
    bool timings;
    const char *pos[4];
    int rc = tm_cli_pipeline_args(cmd, what, argc, argv, &o, &as_of, &timings, pos, NULL);
    if (rc >= 0) {
        return rc;
    }
    o.read_only = read_only;
    tm_pipeline *p = NULL;
    tm_err err;
    tm_err_init(&err);
    if (tm_pipeline_open(&o, &p, &err) != TM_OK) {
        return tm_cli_report(&err);
    }
    tm_pipeline_report rep;
    tm_status st = fn(p, as_of, &rep, &err);
    tm_pipeline_close(p);
    if (st != TM_OK) {
        return tm_cli_report(&err);
    }
    fputs(rep.summary, stdout);
    return 0;
}

static tm_status rollback_report(tm_pipeline *p, int32_t as_of, tm_pipeline_report *rep,
                                 tm_err *err)
{
    (void)as_of;
    return tm_pipeline_rollback(p, rep, err);
}

static tm_status registry_report(tm_pipeline *p, int32_t as_of, tm_pipeline_report *rep,
                                 tm_err *err)
{
    (void)as_of;
    return tm_pipeline_models_report(p, rep, err);
}

/* The signals report ends with what the latest evaluation showed. */
static tm_status signals_report(tm_pipeline *p, int32_t date, tm_pipeline_report *rep,
                                tm_err *err)
{
    tm_status st = tm_pipeline_signals_report(p, date, rep, err);
    size_t n = strlen(rep->summary);
    if (st == TM_OK) {
        st = tm_pipeline_edge_note(p, rep->summary + n, sizeof rep->summary - n, err);
    }
    return st;
}

int tm_cli_signals(int argc, char **argv)
{
    return run_report("signals",
                      "Prints the signals of --as-of's date (default: the latest),\n"
                      "the last meta retrain's report and what the latest evaluation showed.",
                      argc, argv, signals_report, true);
}

/* `model rollback`, for the `model` dispatcher in cmd_model.c. */
int tm_cli_model_rollback(int argc, char **argv)
{
    return run_report("model rollback", "Makes the previous meta-learner active again.", argc,
                      argv, rollback_report, false);
}

static tm_status gc_report(tm_pipeline *p, int32_t as_of, tm_pipeline_report *rep, tm_err *err)
{
    (void)as_of;
    return tm_pipeline_models_gc(p, rep, err);
}

int tm_cli_models(int argc, char **argv)
{
    /* --gc is taken out before the shared parser sees argv. */
    char *rest[64];
    int nr = 0;
    bool gc = false;
    for (int i = 0; i < argc && nr < 64; i++) {
        if (strcmp(argv[i], "--gc") == 0) {
            gc = true;
        } else {
            rest[nr++] = argv[i];
        }
    }
    return run_report("models",
                      "Lists the model registry (read-only). --gc instead removes the model\n"
                      "files no registry row names (left by an interrupted retrain).",
                      nr, rest, gc ? gc_report : registry_report, !gc);
}
