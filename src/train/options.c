/* The option table of tm_train_opts: one row per option with its range
 * and help. `turbomode train`'s parsing, its --help, the README's train
 * option table and the library's own check in tm_train_fit are all made
 * from it; the defaults are tm_train_opts_init's. Rules between options
 * (leaf-wise growth needs a leaf count, oblivious trees at most 12
 * levels) are tm__train_check_opts'. */
#include <stddef.h>

#include "train/train_int.h"

#define OFF(f) offsetof(tm_train_opts, f)
#define ALL    1u /* the one command, `turbomode train` */

static const tm_opt table[] = {
        {"objective", TM_OPT_CHOICE, OFF(objective), 0, 0, NULL, "multiclass|binary|regression",
         NULL, "softmax (3+ classes), logistic (0/1) or squared error", ALL},
        {"num-class", TM_OPT_INT, OFF(num_class), 2, TM_TRAIN_MAX_CLASSES, "K", NULL,
         "max label + 1", "classes", ALL},
        {"growth", TM_OPT_CHOICE, OFF(growth), 0, 0, NULL, "leafwise|depthwise|oblivious", NULL,
         "best-first, level by level, or symmetric trees", ALL},
        {"num-leaves", TM_OPT_INT, OFF(num_leaves), 2, 1 << 20, "N", NULL,
         "31 for leafwise, none for the others",
         "leaves per tree (a cap for depth-wise and oblivious trees)", ALL},
        {"max-depth", TM_OPT_INT, OFF(max_depth), 1, TM_TRAIN_MAX_DEPTH, "D", NULL,
         "none for leafwise, 6 for the others", "levels per tree (oblivious: at most 12)", ALL},
        {"learning-rate", TM_OPT_DOUBLE, OFF(learning_rate), TM_TRAIN_MIN_RATE, 100, "R", NULL,
         NULL, "shrinkage of each tree", ALL},
        {"max-rounds", TM_OPT_INT, OFF(max_rounds), 1, 1000000, "N", NULL, NULL, "boosting rounds",
         ALL},
        {"early-stopping", TM_OPT_INT, OFF(early_stopping), 0, 1000000, "N", NULL, NULL,
         "rounds of patience on the validation loss (0: off)", ALL},
        {"early-stopping-unweighted", TM_OPT_FLAG, OFF(early_stopping_unweighted), 0, 0, NULL, NULL,
         NULL, "stop on the unweighted validation loss, the class weights' tilt undone", ALL},
        {"max-bin", TM_OPT_INT, OFF(max_bin), 2, 255, "N", NULL, NULL, "value bins per feature",
         ALL},
        {"lambda", TM_OPT_DOUBLE, OFF(lambda_l2), 0, 1e9, "L", NULL, NULL, "L2 on leaf values",
         ALL},
        {"min-data-in-leaf", TM_OPT_INT, OFF(min_data_in_leaf), 1, 1 << 30, "N", NULL, NULL,
         "rows per leaf (not for oblivious trees)", ALL},
        {"min-sum-hessian", TM_OPT_DOUBLE, OFF(min_sum_hessian_in_leaf), 0, 1e9, "H", NULL, NULL,
         "hessian per leaf (not for oblivious trees)", ALL},
        {"min-gain", TM_OPT_DOUBLE, OFF(min_gain_to_split), 0, 1e9, "G", NULL, NULL,
         "gain a split needs", ALL},
        {"subsample", TM_OPT_DOUBLE, OFF(row_subsample), TM_TRAIN_MIN_RATE, 1, "F", NULL, NULL,
         "fraction of rows per round", ALL},
        {"colsample", TM_OPT_DOUBLE, OFF(col_subsample), TM_TRAIN_MIN_RATE, 1, "F", NULL, NULL,
         "fraction of features per tree", ALL},
        {"seed", TM_OPT_UINT64, OFF(seed), 0, 0, "S", NULL, NULL,
         "random draws (subsampling, random validation rows)", ALL},
        {"threads", TM_OPT_INT, OFF(n_threads), 1, 1024, "N", NULL, "all cores",
         "worker threads (the model does not depend on them)", ALL},
        {"progress-every", TM_OPT_INT, OFF(progress_every), 1, 1000000, "N", NULL, NULL,
         "a progress line every N rounds (on a terminal)", ALL},
};

const tm_opt *tm_train_opt_table(size_t *n)
{
    *n = sizeof table / sizeof table[0];
    return table;
}
