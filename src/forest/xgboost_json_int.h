/* Shared by the XGBoost model document reader (load_xgboost.c) and its
 * tree reader (load_xgboost_trees.c). */
#ifndef TURBOMODE_XGBOOST_JSON_INT_H
#define TURBOMODE_XGBOOST_JSON_INT_H

#include "forest/forest_int.h"

/* An integer parameter at where.key in [lo, hi]: XGBoost writes numbers as
 * strings ("3"); a number is accepted too. A dflt below lo makes it
 * required, else a missing one is dflt. */
tm_status tm__xgb_param_int(const tm_json_ctx *w, const tm_json *obj, const char *where,
                            const char *key, int64_t lo, int64_t hi, int64_t dflt, int64_t *out);

/* Reads the trees array at model.trees into f: walks every tree twice,
 * once to count (and check), once to fill. */
tm_status tm__xgb_read_trees(const tm_json_ctx *w, tm_forest *f, const char *model,
                             const tm_json *trees);

#endif
