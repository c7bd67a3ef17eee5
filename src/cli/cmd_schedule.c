/* `turbomode schedule list|history|check|eval`: what the schedule is, what
 * ran, which jobs would collide, and "what will this schedule do?" on
 * JSON lines in the form of ../shared/fixtures/scheduler. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbomode/sched.h>

#include "cli/cli.h"

typedef struct args {
    const char *config, *db, *job, *now, *horizon, *file;
    long limit;
} args;

static int parse_args(const char *sub, int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    a->limit = 50;
    for (int i = 2; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--config") == 0 && v) {
            a->config = argv[++i];
        } else if (strcmp(argv[i], "--db") == 0 && v) {
            a->db = argv[++i];
        } else if (strcmp(argv[i], "--job") == 0 && v) {
            a->job = argv[++i];
        } else if ((strcmp(argv[i], "--now") == 0 || strcmp(argv[i], "--from") == 0) && v) {
            a->now = argv[++i];
        } else if (strcmp(argv[i], "--horizon") == 0 && v) {
            a->horizon = argv[++i];
        } else if (strcmp(argv[i], "--limit") == 0 && v) {
            char *end;
            errno = 0;
            a->limit = strtol(argv[++i], &end, 10);
            if (!*v || *end || errno || a->limit < 0) {
                return tm_cli_usage_error("schedule",
                                          "--limit: expected a whole number >= 0 (0: every run), "
                                          "found \"%s\"",
                                          v);
            }
        } else if (strcmp(sub, "eval") == 0 && !a->file && (argv[i][0] != '-' || !argv[i][1])) {
            a->file = argv[i];
        } else {
            return tm_cli_usage_error("schedule", "unexpected argument '%s'", argv[i]);
        }
    }
    return 0;
}

static int report(const tm_err *err)
{
    return tm_cli_report(err);
}

static int now_arg(const args *a, tm_sched_time *now)
{
    tm_err err;
    tm_err_init(&err);
    *now = tm_sched_time_now();
    if (a->now && tm_sched_time_parse(a->now, NULL, now, &err) != TM_OK) {
        return tm_cli_usage_error("schedule", "--now/--from: %s", err.reason);
    }
    return 0;
}

static int cmd_list(const args *a)
{
    tm_sched_config *cfg;
    tm_sched_time now;
    int rc = now_arg(a, &now);
    if (rc || (rc = tm_cli_sched_config("schedule", a->config, a->db, &cfg))) {
        return rc;
    }
    for (size_t i = 0; i < tm_sched_config_n_jobs(cfg); i++) {
        tm_sched_job_info j;
        tm_sched_config_job(cfg, i, &j);
        char desc[512], iso[TM_SCHED_ISO_LEN];
        printf("%s  %s  %s\n", j.name, tm_sched_trigger_describe(j.trigger, desc, sizeof desc),
               tm_sched_zone_name(tm_sched_trigger_zone(j.trigger)));
        printf("  next:");
        tm_sched_time t = tm_sched_trigger_next(j.trigger, TM_SCHED_NEVER, now);
        for (int k = 0; k < 3 && t != TM_SCHED_NEVER; k++) {
            printf(" %s",
                   tm_sched_time_format(t, tm_sched_trigger_zone(j.trigger), iso, sizeof iso));
            t = tm_sched_trigger_next(j.trigger, t, t);
        }
        printf("\n  command: %s\n  misfire_grace_time: ", j.command);
        if (j.grace_us == TM_SCHED_NO_GRACE) {
            printf("none");
        } else {
            printf("%.0f s", (double)j.grace_us / 1e6);
        }
        printf(", coalesce: %s, timeout: %.0f s", j.coalesce ? "true" : "false", j.timeout_s);
        if (j.skip_exit >= 0) {
            printf(", skip_exit: %d", j.skip_exit);
        }
        printf("\n  resources:");
        for (size_t r = 0; r < j.n_resources; r++) {
            printf("%s %s", r ? "," : "", j.resources[r]);
        }
        printf("%s\n", j.n_resources ? "" : " none");
    }
    tm_sched_config_free(cfg);
    return 0;
}

static tm_status print_row(void *ctx, const tm_sched_run_row *r, tm_err *err)
{
    (void)err;
    (*(size_t *)ctx)++;
    printf("%-18s %-26s %-13s", r->job, r->scheduled, r->status);
    if (r->fires > 1) {
        printf(" %lld fires to %s", (long long)r->fires, r->last_scheduled);
    }
    if (*r->started) {
        printf(" start %s", r->started);
    }
    if (*r->ended) {
        printf(" end %s", r->ended);
    }
    if (r->delay_s >= 1) {
        printf(" delay %.0f s", r->delay_s);
    }
    if (r->exit_code >= 0 && *r->ended) {
        printf(" exit %d", r->exit_code);
    }
    if (*r->message) {
        printf(" (%s)", r->message);
    }
    printf("\n");
    return TM_OK;
}

static int cmd_history(const args *a)
{
    tm_sched_config *cfg;
    int rc = tm_cli_sched_config("schedule", a->config, a->db, &cfg);
    if (rc) {
        return rc;
    }
    tm_err err;
    tm_err_init(&err);
    size_t n_rows = 0;
    tm_status st =
            tm_sched_history(tm_sched_config_db(cfg), a->job, a->limit, print_row, &n_rows, &err);
    tm_sched_config_free(cfg);
    if (st == TM_OK && n_rows == 0) {
        printf("no scheduler runs recorded yet%s%s\n", a->job ? " for job " : "",
               a->job ? a->job : "");
    }
    return st == TM_OK ? 0 : report(&err);
}

static void print_line(void *ctx, const char *line)
{
    (void)ctx;
    printf("%s\n", line);
}

static int cmd_check(const args *a)
{
    tm_sched_config *cfg;
    tm_sched_time now;
    double horizon = 365 * 86400.0;
    tm_err err;
    tm_err_init(&err);
    int rc = now_arg(a, &now);
    if (!rc && a->horizon && tm_sched_duration_parse(a->horizon, &horizon, &err) != TM_OK) {
        rc = tm_cli_usage_error("schedule", "--horizon: %s", err.reason);
    }
    if (rc || (rc = tm_cli_sched_config("schedule", a->config, a->db, &cfg))) {
        return rc;
    }
    size_t n = 0;
    tm_status st =
            tm_sched_check(cfg, tm_sched_config_db(cfg), now, horizon, print_line, NULL, &n, &err);
    if (st == TM_OK) {
        printf("%zu colliding pair%s in %.0f days from now\n", n, n == 1 ? "" : "s",
               horizon / 86400);
    }
    tm_sched_config_free(cfg);
    return st == TM_OK ? 0 : report(&err);
}

static int cmd_eval(const args *a)
{
    const char *name = a->file && strcmp(a->file, "-") != 0 ? a->file : NULL;
    FILE *in = name ? fopen(name, "r") : stdin;
    if (!in) {
        fprintf(stderr, "turbomode schedule: %s: cannot open: %s\n", name, strerror(errno));
        return 2;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    int rc = 0;
    while ((len = getline(&line, &cap, in)) >= 0) {
        lineno++;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = 0;
        }
        if (!len) {
            continue;
        }
        char *out = NULL;
        tm_err err;
        tm_err_init(&err);
        if (tm_sched_eval_line(line, (size_t)len, &out, &err) != TM_OK) {
            char msg[1024];
            fprintf(stderr, "turbomode schedule: %s:%ld: %s\n", name ? name : "<stdin>", lineno,
                    tm_err_format(&err, msg, sizeof msg));
            rc = 2;
            continue;
        }
        printf("%s\n", out);
        tm_free(out);
    }
    free(line);
    if (name) {
        fclose(in);
    }
    return rc;
}

int tm_cli_schedule(int argc, char **argv)
{
    const char *sub = argc > 1 ? argv[1] : "";
    if (!*sub || strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
        printf("usage: turbomode schedule list [--config F] [--db P] [--now ISO]\n"
               "       turbomode schedule history [--config F] [--db P] [--job J] [--limit N]\n"
               "       turbomode schedule check [--config F] [--db P] [--horizon 365d] [--from "
               "ISO]\n"
               "       turbomode schedule eval [FILE|-]   (JSON lines, fixture input form)\n");
        return *sub ? 0 : 2;
    }
    args a;
    int rc = parse_args(sub, argc, argv, &a);
    if (rc) {
        return rc;
    }
    if (strcmp(sub, "list") == 0) {
        return cmd_list(&a);
    }
    if (strcmp(sub, "history") == 0) {
        return cmd_history(&a);
    }
    if (strcmp(sub, "check") == 0) {
        return cmd_check(&a);
    }
    if (strcmp(sub, "eval") == 0) {
        return cmd_eval(&a);
    }
    return tm_cli_usage_error("schedule", "unknown subcommand '%s'", sub);
}
