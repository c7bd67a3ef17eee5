/* `turbomode daemon [--config F] [--db PATH] [--once]`: runs the scheduler
 * until SIGTERM/SIGINT (running jobs get the stop grace), reloads the
 * config on SIGHUP, refuses to start when another daemon holds the
 * database's lock. Log lines go to stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <turbomode/sched.h>

#include "cli/cli.h"

static void log_line(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "turbomode daemon: %s\n", line);
    fflush(stderr);
}

/* Loads the config and applies --db and the path of this binary. */
int tm_cli_sched_config(const char *cmd, const char *path, const char *db, tm_sched_config **out)
{
    tm_err err;
    tm_err_init(&err);
    tm_status st = tm_sched_config_load(path, out, &err);
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (st == TM_OK && n > 0) {
        self[n] = 0;
        st = tm_sched_config_set_binary(*out, self, &err);
    }
    if (st == TM_OK && db) {
        st = tm_sched_config_set_db(*out, db, &err);
    }
    if (st != TM_OK) {
        char msg[1024];
        fprintf(stderr, "turbomode %s: %s\n", cmd, tm_err_format(&err, msg, sizeof msg));
        tm_sched_config_free(*out);
        *out = NULL;
        return err.status == TM_E_NOMEM ? 1 : 2;
    }
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: turbomode daemon [--config FILE] [--db PATH] [--once]\n"
                 "runs the scheduled jobs (built-in defaults without --config);\n"
                 "--once runs what is due now, waits for it, and exits.\n"
                 "SIGTERM/SIGINT stop (running jobs get stop_grace), SIGHUP reloads the config.\n");
}

int tm_cli_daemon(int argc, char **argv)
{
    const char *config = NULL, *db = NULL;
    bool once = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
            db = argv[++i];
        } else if (strcmp(argv[i], "--once") == 0) {
            once = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            return tm_cli_usage_error("daemon", "unexpected argument '%s'", argv[i]);
        }
    }
    if (db && !*db) { /* SQLite would open a temporary database */
        return tm_cli_usage_error("daemon", "--db: expected a non-empty value, found \"\"");
    }
    tm_sched_config *cfgs[64];
    size_t n_cfgs = 0;
    int rc = tm_cli_sched_config("daemon", config, db, &cfgs[0]);
    if (rc) {
        return rc;
    }
    n_cfgs = 1;
    tm_sched_options opt;
    tm_sched_options_init(&opt);
    opt.once = once;
    opt.log = log_line;
    tm_err err;
    tm_err_init(&err);
    tm_sched *s = NULL;
    tm_status st = tm_sched_open(cfgs[0], &opt, &s, &err);
    st = st == TM_OK ? tm_sched_handle_signals(s, &err) : st;
    while (st == TM_OK) {
        st = tm_sched_run(s, TM_SCHED_NEVER, &err);
        if (st != TM_OK || !tm_sched_reload_requested(s)) {
            break;
        }
        tm_sched_config *next = NULL;
        if (n_cfgs == sizeof cfgs / sizeof cfgs[0] ||
            tm_cli_sched_config("daemon", config, db, &next) != 0) {
            log_line(NULL, "reload failed; keeping the current configuration");
            continue;
        }
        tm_err rerr;
        tm_err_init(&rerr);
        if (tm_sched_reload(s, next, &rerr) != TM_OK) {
            char msg[1024];
            fprintf(stderr, "turbomode daemon: reload: %s\n",
                    tm_err_format(&rerr, msg, sizeof msg));
            tm_sched_config_free(next);
            continue;
        }
        cfgs[n_cfgs++] = next; /* running jobs may still use the older ones */
    }
    tm_sched_close(s);
    for (size_t i = 0; i < n_cfgs; i++) {
        tm_sched_config_free(cfgs[i]);
    }
    if (st != TM_OK) {
        char msg[1024];
        fprintf(stderr, "turbomode daemon: %s\n", tm_err_format(&err, msg, sizeof msg));
        return err.status == TM_E_INVALID || err.status == TM_E_PARSE ? 2 : 1;
    }
    return 0;
}
