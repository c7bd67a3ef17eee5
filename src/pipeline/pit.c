/* Point in time: which registered models a job run as of D may use. The
 * active model when it was trained on data up to D; otherwise the model
 * trained as of the latest date <= D (newest row on ties), which is the
 * one that was active at D when retrains ran in date order. A later model
 * would be look-ahead: without opts.allow_later_models there is none to
 * use and the job stops (TM_E_INVALID, exit 2). A meta-learner's decision
 * rule is its own: stored with it, read by its registry id. */
#include <stdio.h>
#include <string.h>

#include "decide_int.h"
#include "pipeline_int.h"

tm_status tm__pipeline_pick(tm_pipeline *p, const char *kind, int32_t as_of, tm_store_model *out,
                            tm_pipeline_report *rep, tm_err *err)
{
    tm_store_model *h = NULL;
    size_t n = 0;
    tm_status st = tm_store_models_history(p->store, kind, 0, &h, &n, err);
    if (st != TM_OK) {
        return st;
    }
    const tm_store_model *active = NULL, *best = NULL;
    for (size_t i = 0; i < n; i++) { /* newest first */
        if (h[i].active && !active) {
            active = &h[i];
        }
        if (h[i].as_of <= as_of && (!best || h[i].as_of > best->as_of)) {
            best = &h[i];
        }
    }
    if (active && active->as_of <= as_of) {
        best = active;
    }
    const char *what = strcmp(kind, "meta") == 0 ? "a meta-learner" : "base models";
    char d1[16], d2[16];
    if (!active) {
        st = TM_ERR(err, TM_E_INVALID, p->db_path, 0, "models",
                    "expected %s, found none active (run %s first)", what,
                    strcmp(kind, "meta") == 0 ? "meta-retrain" : "model-retrain");
    } else if (!best && p->o.allow_later_models) {
        best = active;
        if (rep) {
            tm__pipeline_say(rep,
                             "warning: %s trained as of %s, after this run's as-of %s "
                             "(--allow-later-models): look-ahead\n",
                             what, tm_store_date_format(active->as_of, d1),
                             tm_store_date_format(as_of, d2));
        }
    } else if (!best) {
        st = TM_ERR(err, TM_E_INVALID, p->db_path, 0, "--as-of",
                    "expected %s trained as of %s or earlier, found only later ones (the "
                    "active one: as of %s); run model-retrain --as-of %s first, or pass "
                    "--allow-later-models to accept the look-ahead",
                    what, tm_store_date_format(as_of, d1), tm_store_date_format(active->as_of, d2),
                    d1);
    }
    if (st == TM_OK) {
        *out = *best;
    }
    tm_free(h);
    return st;
}

tm_status tm__pipeline_rule_load(tm_pipeline *p, const tm_store_model *meta, tm__decide_rule *r,
                                 bool *found, tm_err *err)
{
    char *text = NULL;
    *found = false;
    memset(r, 0, sizeof *r);
    tm_status st = tm_store_rule_get(p->store, meta->id, &text, err);
    if (st == TM_OK && text) {
        char where[96];
        snprintf(where, sizeof where, "decision rule of meta model %lld", (long long)meta->id);
        st = tm__decide_rule_parse(text, where, r, err);
        *found = st == TM_OK;
    }
    tm_free(text);
    return st;
}
