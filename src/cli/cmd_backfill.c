/* turbomode backfill: builds training_samples from the price history
 * (features up to each day's close, labels from the forward return). */
#include <stdio.h>

#include <turbomode/pipeline.h>

#include "cli/cli.h"

int tm_cli_backfill(int argc, char **argv)
{
    tm_pipeline_opts o;
    tm_cli_job j;
    int rc =
            tm_cli_pipeline_args(tm_cli_jobcmd_find("backfill"), argc, argv, &o, &j, NULL, 0, NULL);
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
    tm_status st = tm_pipeline_backfill(p, j.as_of, &rep, &err);
    tm_pipeline_close(p);
    if (st != TM_OK) {
        return tm_cli_report(&err);
    }
    tm_cli_print_report(&rep, j.timings);
    return 0;
}
