/* Fuzz target for the base-model registry JSON: the input is the
 * --registry file given to tm_pipeline_open (read before the database is
 * opened; a registry that loads then opens the scratch database). */
#include <turbomode/pipeline.h>

#include "fuzz.h"
#include "fuzz_pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_input(data, size);
    if (!path) {
        return 0;
    }
    char db[128];
    snprintf(db, sizeof db, "%s/fuzz.db", fuzz_dir);
    tm_pipeline_opts o;
    tm_pipeline_opts_init(&o);
    o.db_path = db;
    o.registry_path = path;
    o.today = 20260101;
    tm_pipeline *p = NULL;
    if (tm_pipeline_open(&o, &p, NULL) == TM_OK) {
        tm_pipeline_close(p);
    }
    return 0;
}
