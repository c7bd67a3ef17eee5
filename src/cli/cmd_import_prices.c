/* turbomode import-prices FILE|-: loads daily OHLCV CSV into the database
 * (idempotent upsert). A file with a bad row loads nothing unless
 * --skip-bad, which loads the good rows and reports each skipped one. */
#include <stdio.h>
#include <string.h>

#include <turbomode/pipeline.h>
#include <turbomode/store.h>

#include "cli/cli.h"

static void bad_row(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "turbomode: %s\n", msg);
}

static void notice(void *ctx, const char *msg)
{
    (void)ctx;
    printf("import-prices: %s\n", msg);
}

static void help(void)
{
    printf("usage: turbomode import-prices --db DB FILE|- [--symbol SYM] [--skip-bad]\n\n"
           "Loads daily prices: CSV with a header date,open,high,low,close,volume,Name\n"
           "(any order and case; LF or CRLF; FILE may be .gz, read through gzip -dc).\n"
           "Rows are upserted by (Name, date); new names join the universe.\n\n"
           "  --symbol SYM   the series name for files without a Name column (e.g. ^VIX);\n"
           "                 such series do not join the universe\n"
           "  --skip-bad     load the good rows and report each bad one (default: a bad\n"
           "                 row fails the file and nothing is loaded)\n");
}

int tm_cli_import_prices(int argc, char **argv)
{
    tm_pipeline_opts o;
    tm_pipeline_opts_init(&o);
    tm_pipeline_import_opts io;
    tm_pipeline_import_opts_init(&io);
    io.bad_row = bad_row;
    io.notice = notice;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            help();
            return 0;
        } else if (strcmp(argv[i], "--db") == 0 && i + 1 < argc) {
            o.db_path = argv[++i];
        } else if (strcmp(argv[i], "--symbol") == 0 && i + 1 < argc) {
            io.symbol = argv[++i];
        } else if (strcmp(argv[i], "--skip-bad") == 0) {
            io.skip_bad = true;
        } else if ((argv[i][0] == '-' && argv[i][1]) || path) {
            return tm_cli_usage_error("import-prices", "unexpected argument '%s'", argv[i]);
        } else {
            path = argv[i];
        }
    }
    int rc = tm_cli_today("import-prices", &o.today);
    if (rc >= 0) {
        return rc;
    }
    if (!o.db_path || !path) {
        return tm_cli_usage_error("import-prices", "--db DB and a FILE (or -) are required");
    }
    if (io.symbol && (!*io.symbol || strlen(io.symbol) >= TM_STORE_SYMBOL_MAX)) {
        /* refused once here rather than on every row */
        return tm_cli_usage_error("import-prices",
                                  "--symbol: expected a ticker of 1 to %d bytes, found \"%s\"",
                                  TM_STORE_SYMBOL_MAX - 1, io.symbol);
    }
    tm_err err;
    tm_err_init(&err);
    tm_pipeline *p = NULL;
    if (tm_pipeline_open(&o, &p, &err) != TM_OK) {
        return tm_cli_report(&err);
    }
    size_t loaded = 0, skipped = 0;
    tm_status st = tm_pipeline_import_prices(p, path, &io, &loaded, &skipped, &err);
    tm_pipeline_close(p);
    if (st != TM_OK) {
        return tm_cli_report(&err);
    }
    printf("import-prices: %zu rows loaded from %s", loaded, path);
    if (skipped) {
        printf(", %zu bad rows skipped", skipped);
    }
    printf("\n");
    return 0;
}
