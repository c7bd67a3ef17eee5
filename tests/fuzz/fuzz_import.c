/* Fuzz target for the price import (tm_pipeline_import_prices): the input
 * is a prices CSV, loaded into a scratch database that stays open across
 * inputs, strictly and with --skip-bad in turn. */
#include <turbomode/pipeline.h>

#include "fuzz.h"
#include "fuzz_pipeline.h"

static tm_pipeline *pipe_db;

static void close_db(void)
{
    tm_pipeline_close(pipe_db);
    pipe_db = NULL;
}

static void ignore(void *ctx, const char *msg)
{
    (void)ctx;
    (void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size);
    if (!path) {
        return 0;
    }
    if (!pipe_db) {
        char db[128];
        snprintf(db, sizeof db, "%s/fuzz.db", fuzz_dir);
        tm_pipeline_opts o;
        tm_pipeline_opts_init(&o);
        o.db_path = db;
        o.today = 20260101; /* fixed: the import refuses later dates */
        if (tm_pipeline_open(&o, &pipe_db, NULL) != TM_OK) {
            return 0;
        }
        atexit(close_db); /* registered after the directory's removal: runs first */
    }
    tm_pipeline_import_opts io;
    tm_pipeline_import_opts_init(&io);
    io.skip_bad = size % 2 == 1;
    io.bad_row = ignore;
    io.notice = ignore;
    io.symbol = size % 3 == 0 ? "^VIX" : NULL;
    size_t n_loaded = 0, n_skipped = 0;
    tm_pipeline_import_prices(pipe_db, path, &io, &n_loaded, &n_skipped, NULL);
    return 0;
}
