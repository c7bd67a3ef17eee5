/* The option table of tm_pipeline_opts: one row per option with its
 * range, help and the job commands that take it. The command line, the
 * help of each job command, the README's option table and the library's
 * own check in tm_pipeline_open are all made from it; the defaults are
 * tm_pipeline_opts_init's. */
#include <stddef.h>

#include "pipeline_int.h"

#define OFF(f) offsetof(tm_pipeline_opts, f)

enum {
    ALL_JOBS = TM_PIPELINE_CMD_BACKFILL | TM_PIPELINE_CMD_SCAN | TM_PIPELINE_CMD_TRACK |
               TM_PIPELINE_CMD_SAMPLES | TM_PIPELINE_CMD_META | TM_PIPELINE_CMD_MODELS |
               TM_PIPELINE_CMD_REPLAY,
    LABELS = TM_PIPELINE_CMD_BACKFILL | TM_PIPELINE_CMD_SAMPLES | TM_PIPELINE_CMD_REPLAY,
    HORIZON = LABELS | TM_PIPELINE_CMD_TRACK | TM_PIPELINE_CMD_META | TM_PIPELINE_CMD_MODELS,
    TRAINS = TM_PIPELINE_CMD_META | TM_PIPELINE_CMD_MODELS | TM_PIPELINE_CMD_REPLAY,
    MODEL_FILES =
            TM_PIPELINE_CMD_SCAN | TRAINS | TM_PIPELINE_CMD_ROLLBACK | TM_PIPELINE_CMD_REGISTRY,
    THREADS = TM_PIPELINE_CMD_SCAN | TRAINS,
    MODEL_USERS = TM_PIPELINE_CMD_SCAN | TRAINS,
};

static const tm_opt table[] = {
        {"db", TM_OPT_STRING, OFF(db_path), 0, 0, "PATH", NULL, NULL,
         "the TurboMode database (required)",
         ALL_JOBS | TM_PIPELINE_CMD_SIGNALS | TM_PIPELINE_CMD_REGISTRY | TM_PIPELINE_CMD_ROLLBACK},
        {"models-dir", TM_OPT_STRING, OFF(models_dir), 0, 0, "DIR", NULL,
         "DB's directory/turbomode_models", "where model files are written and read", MODEL_FILES},
        {"registry", TM_OPT_STRING, OFF(registry_path), 0, 0, "FILE", NULL, "the 8 built-in",
         "base-model registry JSON", TM_PIPELINE_CMD_MODELS | TM_PIPELINE_CMD_REPLAY},
        {"horizon", TM_OPT_INT, OFF(horizon), 1, 250, "N", NULL, NULL,
         "label horizon in trading days", HORIZON},
        {"up", TM_OPT_DOUBLE, OFF(up), 0.0001, 1, "X", NULL, NULL,
         "BUY when the forward return is above +X", LABELS},
        {"down", TM_OPT_DOUBLE, OFF(down), 0.0001, 0.99, "X", NULL, NULL,
         "SELL when the forward return is below -X", LABELS},
        {"labels", TM_OPT_CHOICE, OFF(labels), 0, 0, NULL, "absolute|xs-decile", NULL,
         "absolute: --up/--down thresholds; xs-decile: each day's top/bottom decile of "
         "(forward return - the day's median) / (20-day volatility x sqrt horizon), trained "
         "without class weights; a database keeps the kind its first labels had",
         LABELS},
        {"folds", TM_OPT_INT, OFF(n_folds), 2, 8, "K", NULL, NULL,
         "time-blocked folds for out-of-fold meta predictions",
         TM_PIPELINE_CMD_MODELS | TM_PIPELINE_CMD_REPLAY},
        {"in-sample", TM_OPT_FLAG, OFF(in_sample), 0, 0, NULL, NULL, NULL,
         "meta features from in-sample predictions (the original's way)", TRAINS},
        {"split", TM_OPT_CHOICE, OFF(split), 0, 0, NULL, "time|random", NULL,
         "meta-learner validation split (time: latest dates, horizon embargoed)", TRAINS},
        {"no-compare", TM_OPT_UNFLAG, OFF(compare), 0, 0, NULL, NULL, NULL,
         "skip the comparison model trained the other validation way", TRAINS},
        {"rounds-scale", TM_OPT_DOUBLE, OFF(rounds_scale), 0.001, 10, "X", NULL, NULL,
         "multiplies every model's max rounds", TRAINS},
        {"gate-days", TM_OPT_INT, OFF(gate_days), 1, 3650, "N", NULL, NULL,
         "meta-retrain runs when N days passed since the last meta or model retrain",
         TM_PIPELINE_CMD_META | TM_PIPELINE_CMD_REPLAY},
        {"force", TM_OPT_FLAG, OFF(force), 0, 0, NULL, NULL, NULL,
         "meta-retrain: bypass the gate; retrains: activate without the promotion check; "
         "scan: rescore a day already scored",
         TM_PIPELINE_CMD_META | TM_PIPELINE_CMD_MODELS | TM_PIPELINE_CMD_SCAN},
        {"flip-days", TM_OPT_INT, OFF(flip_days), 1, 250, "N", NULL, NULL,
         "retrains: trading days over which the flip share to the active model is measured",
         TRAINS},
        {"target-precision", TM_OPT_DOUBLE, OFF(target_precision), 0.01, 0.99, "P", NULL, NULL,
         "retrains: the decision rule's thresholds need a precision whose Wilson 95% lower "
         "bound reaches P and the side's base rate",
         TRAINS},
        {"max-signals", TM_OPT_INT, OFF(max_signals), 0, 100000, "N", NULL, NULL,
         "at most N BUY and N SELL a day, the most confident first (0: no cap); retrains judge "
         "candidates with it",
         TM_PIPELINE_CMD_SCAN | TRAINS},
        {"allow-later-models", TM_OPT_FLAG, OFF(allow_later_models), 0, 0, NULL, NULL, NULL,
         "use models trained after --as-of when none was trained by then (look-ahead; "
         "default: refuse, exit 2)",
         MODEL_USERS},
        {"threads", TM_OPT_INT, OFF(n_threads), 1, 1024, "N", NULL, "all cores",
         "threads for training and prediction", THREADS},
        {"valid-fraction", TM_OPT_DOUBLE, OFF(valid_fraction), 0.01, 0.9, "X", NULL, NULL,
         "share of dates that validate the meta-learner", 0},
        {"batch-rows", TM_OPT_INT, OFF(batch_rows), 1, 10000000, "N", NULL, NULL,
         "meta prediction batch size", 0},
};

const tm_opt *tm_pipeline_opt_table(size_t *n)
{
    *n = sizeof table / sizeof table[0];
    return table;
}
