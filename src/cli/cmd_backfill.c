/* turbomode backfill: builds training_samples from the price history
 * (features up to each day's close, labels from the forward return). */
#include <stdio.h>

#include <turbomode/pipeline.h>

#include "cli/cli.h"

int tm_cli_backfill(int argc, char **argv)
{
    tm_pipeline_opts o;
    int32_t as_of;
    bool timings;
    const char *pos[4];
    int rc = tm_cli_pipeline_args("backfill",
                                  "Builds training samples from the price history: every\n"
                                  "(stock, day) after the feature warm-up whose label is known\n"
                                  "by --as-of. Existing samples are kept.",
                                  argc, argv, &o, &as_of, &timings, pos, NULL);
    if (rc >= 0) {
        return rc;
    }
    tm_err err;
    tm_err_init(&err);
    tm_pipeline *p = NULL;
    if (tm_pipeline_open(&o, &p, &err) != TM_OK) {
        return tm_cli_report(&err);
    }
    tm_pipeline_report rep;
    tm_status st = tm_pipeline_backfill(p, as_of, &rep, &err);
    tm_pipeline_close(p);
    if (st != TM_OK) {
        return tm_cli_report(&err);
    }
    tm_cli_print_report(&rep, timings);
    return 0;
}
