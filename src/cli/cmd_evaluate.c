/* turbomode evaluate: the walk-forward evaluation of the signals issued
 * between two dates against the baselines, printed as a summary and
 * optionally written as JSON and as a self-contained HTML report (output
 * locations checked before the work, both reports written or neither). */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <turbomode/pipeline.h>
#include <turbomode/store.h>

#include "cli/cli.h"

static void help(void)
{
    printf("usage: turbomode evaluate --db DB --from YYYY-MM-DD --to YYYY-MM-DD\n"
           "                          [--cost-bps 10] [--html FILE] [--json FILE]\n\n"
           "Evaluates the signals issued from --from to --to (replay or real runs)\n"
           "walk-forward against always-HOLD, momentum 20d, reversal 5d and random\n"
           "calls with the system's daily counts. Reads only prices and signals\n"
           "dated <= --to; signal days whose horizon ends after --to are pending.\n\n"
           "  --db PATH         the TurboMode database\n"
           "  --from, --to      the signal days to evaluate (inclusive)\n"
           "  --cost-bps X      cost per unit traded, basis points (10)\n"
           "  --seeds N         random baseline draws, 1..256 (20)\n"
           "  --seed N          first random seed (1)\n"
           "  --share X         momentum/reversal top and bottom share of the day (0.10)\n"
           "  --horizon N       label horizon in trading days (5)\n"
           "  --up X --down X   realised BUY above +X, SELL below -X (0.040, 0.036)\n"
           "  --html FILE       self-contained HTML report (inline SVG)\n"
           "  --json FILE       every figure as JSON\n"
           "exit status: 0 ok, 1 failure, 2 bad input or usage\n");
}

static bool parse_num(const char *s, double *out)
{
    return tm_parse_double(s, strlen(s), out) && isfinite(*out);
}

static bool parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) {
        return false;
    }
    *out = v;
    return true;
}

/* Whether two output targets (links resolved) name one file: their
 * directories' real paths and their names agree. */
static bool same_file(const char *a, const char *b)
{
    char da[4096], db[4096], ra[PATH_MAX], rb[PATH_MAX];
    snprintf(da, sizeof da, "%s", a);
    snprintf(db, sizeof db, "%s", b);
    if (!realpath(dirname(da), ra) || !realpath(dirname(db), rb)) {
        return strcmp(a, b) == 0;
    }
    snprintf(da, sizeof da, "%s", a);
    snprintf(db, sizeof db, "%s", b);
    return strcmp(ra, rb) == 0 && strcmp(basename(da), basename(db)) == 0;
}

typedef struct eval_args {
    tm_pipeline_opts po;
    tm_pipeline_eval_opts eo;
    const char *html, *json;
} eval_args;

/* Returns -1 when all options were understood, else the exit status. */
static int parse(int argc, char **argv, eval_args *a)
{
    const char *cmd = "evaluate";
    tm_pipeline_opts_init(&a->po);
    tm_pipeline_eval_opts_init(&a->eo);
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        double x = 0;
        long n = 0;
        if (strcmp(k, "--help") == 0 || strcmp(k, "-h") == 0) {
            help();
            return 0;
        }
        if (!v || k[0] != '-') {
            return tm_cli_usage_error(cmd, "unknown option or missing value: '%s'", k);
        }
        i++;
        if (strcmp(k, "--db") == 0) {
            a->po.db_path = v;
        } else if (strcmp(k, "--html") == 0) {
            a->html = v;
        } else if (strcmp(k, "--json") == 0) {
            a->json = v;
        } else if (strcmp(k, "--from") == 0 || strcmp(k, "--to") == 0) {
            int32_t *d = k[2] == 'f' ? &a->eo.from : &a->eo.to;
            if (!tm_store_date_parse(v, d)) {
                return tm_cli_usage_error(cmd, "%s: expected a date YYYY-MM-DD, found \"%s\"", k,
                                          v);
            }
        } else if (strcmp(k, "--cost-bps") == 0 || strcmp(k, "--share") == 0 ||
                   strcmp(k, "--up") == 0 || strcmp(k, "--down") == 0) {
            if (!parse_num(v, &x)) {
                return tm_cli_usage_error(cmd, "%s: expected a finite number, found \"%s\"", k, v);
            }
            double *dst = k[2] == 'c'   ? &a->eo.cost_bps
                          : k[2] == 's' ? &a->eo.share
                          : k[2] == 'u' ? &a->po.up
                                        : &a->po.down;
            *dst = x;
            if ((dst == &a->po.up || dst == &a->po.down) && !(x > 0 && x < 1)) {
                return tm_cli_usage_error(cmd, "%s: expected a return in (0, 1), found \"%s\"", k,
                                          v);
            }
        } else if (strcmp(k, "--seeds") == 0 || strcmp(k, "--seed") == 0 ||
                   strcmp(k, "--horizon") == 0) {
            long hi = strcmp(k, "--seeds") == 0 ? 256 : strcmp(k, "--seed") == 0 ? 1L << 30 : 250;
            if (!parse_int(v, strcmp(k, "--seed") == 0 ? 0 : 1, hi, &n)) {
                return tm_cli_usage_error(cmd, "%s: expected an integer in %d..%ld, found \"%s\"",
                                          k, strcmp(k, "--seed") == 0 ? 0 : 1, hi, v);
            }
            if (strcmp(k, "--seeds") == 0) {
                a->eo.n_seeds = (int)n;
            } else if (strcmp(k, "--seed") == 0) {
                a->eo.seed = (uint64_t)n;
            } else {
                a->po.horizon = (int)n;
            }
        } else {
            return tm_cli_usage_error(cmd, "unknown option '%s'", k);
        }
    }
    if (!a->po.db_path || !a->eo.from || !a->eo.to) {
        return tm_cli_usage_error(cmd, "--db, --from and --to are required");
    }
    return -1;
}

int tm_cli_evaluate(int argc, char **argv)
{
    eval_args a;
    memset(&a, 0, sizeof a);
    int rc = parse(argc, argv, &a);
    if (rc >= 0) {
        return rc;
    }
    tm_err err;
    tm_err_init(&err);
    tm_pipeline *p = NULL;
    tm_pipeline_eval *e = NULL;
    if (access(a.po.db_path, F_OK) != 0) {
        fprintf(stderr, "turbomode evaluate: --db: no database at %s\n", a.po.db_path);
        return 2;
    }
    /* Every output location is checked before the work; the reports are
     * staged and renamed into place together once the verdict is
     * recorded: both are written or neither (and nothing is recorded). */
    tm_outputs outs;
    tm_outputs_init(&outs);
    const char *json_to = NULL, *html_to = NULL;
    if (a.json && (rc = tm_cli_outputs_add("evaluate", "json", &outs, a.json, &json_to)) >= 0) {
        return rc;
    }
    if (a.html && (rc = tm_cli_outputs_add("evaluate", "html", &outs, a.html, &html_to)) >= 0) {
        tm_outputs_abort(&outs, NULL);
        return rc;
    }
    if (a.json && a.html && same_file(outs.item[0].final, outs.item[1].final)) {
        tm_outputs_abort(&outs, NULL);
        return tm_cli_usage_error("evaluate",
                                  "--html: expected a file other than --json's, "
                                  "found \"%s\"",
                                  a.html);
    }
    tm_status st = tm_pipeline_open(&a.po, &p, &err);
    if (st == TM_OK) {
        st = tm_pipeline_evaluate(p, &a.eo, &e, &err);
    }
    if (st == TM_OK && a.json) {
        st = tm_pipeline_eval_write_json(e, json_to, &err);
    }
    if (st == TM_OK && a.html) {
        st = tm_pipeline_eval_write_html(e, html_to, &err);
    }
    if (st == TM_OK) {
        st = tm_pipeline_eval_record(p, e, &err);
    }
    if (st == TM_OK) {
        st = tm_outputs_commit(&outs, &err);
    } else {
        tm_outputs_abort(&outs, &err);
    }
    if (st == TM_OK) {
        char *text = NULL;
        st = tm_pipeline_eval_text(e, &text, &err);
        if (st == TM_OK) {
            fputs(text, stdout);
        }
        tm_free(text);
    }
    if (st == TM_OK && a.html) {
        printf("report: %s\n", a.html);
    }
    tm_pipeline_eval_free(e);
    tm_pipeline_close(p);
    return st == TM_OK ? 0 : tm_cli_report(&err);
}
