/* The labelling of a database: which kind its samples and outcomes hold
 * (the store's "labels" setting, recorded with the first labels written),
 * the refusal of a job asked for the other kind, and the cross-sectional
 * classes of a price panel. Mixing kinds in one database would train one
 * model on two meanings of BUY, so it is never done silently. */
#include <math.h>
#include <string.h>

#include "pipeline_int.h"

#define SETTING "labels"

static const char *const names[] = {"absolute", "xs-decile"};

const char *tm__pipeline_labels_name(tm_pipeline_labels kind)
{
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

/* The recorded kind; *found false when none is. */
static tm_status held(tm_pipeline *p, bool *found, tm_pipeline_labels *out, tm_err *err)
{
    char buf[32];
    tm_status st = tm_store_setting_get(p->store, SETTING, buf, sizeof buf, found, err);
    if (st != TM_OK || !*found) {
        return st;
    }
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        if (strcmp(buf, names[k]) == 0) {
            *out = (tm_pipeline_labels)k;
            return TM_OK;
        }
    }
    return TM_ERR(err, TM_E_FORMAT, p->db_path, 0, "settings.labels",
                  "expected absolute or xs-decile, found \"%s\" (database from a newer turbomode?)",
                  buf);
}

tm_status tm__pipeline_labels(tm_pipeline *p, bool asked, tm_pipeline_labels *out, tm_err *err)
{
    bool found = false;
    tm_pipeline_labels h = TM_PIPELINE_LABELS_ABSOLUTE;
    tm_status st = held(p, &found, &h, err);
    if (st != TM_OK) {
        return st;
    }
    if (found && asked && h != p->o.labels) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, NULL,
                      "--labels: asked for %s, but the database holds %s labels (samples and "
                      "outcomes); one database keeps one labelling",
                      tm__pipeline_labels_name(p->o.labels), tm__pipeline_labels_name(h));
    }
    *out = found ? h : p->o.labels;
    return TM_OK;
}

tm_status tm__pipeline_labels_record(tm_pipeline *p, tm_pipeline_labels kind, tm_err *err)
{
    bool found = false;
    tm_pipeline_labels h = kind;
    tm_status st = held(p, &found, &h, err);
    if (st != TM_OK || found) {
        return st;
    }
    return tm_store_setting_put(p->store, SETTING, tm__pipeline_labels_name(kind), err);
}

void tm__pipeline_label_opts(const tm_pipeline *p, tm_features_label_opts *lo)
{
    tm_features_label_opts_init(lo);
    lo->horizon = (size_t)p->o.horizon;
    lo->up = p->o.up;
    lo->down = p->o.down;
}

tm_status tm__pipeline_xs_classes(const tm_store_prices *px, size_t horizon, int8_t *cls,
                                  tm_err *err)
{
    size_t n = px->n_rows;
    double *fwd = tm_malloc_n(n ? n : 1, sizeof *fwd);
    double *vol = tm_malloc_n(n ? n : 1, sizeof *vol);
    tm_status st = TM_OK;
    if (!fwd || !vol) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory for %zu labels", n);
        goto done;
    }
    for (size_t k = 0; k < px->n_symbols; k++) {
        size_t r0 = px->start[k], len = px->start[k + 1] - r0;
        for (size_t t = 0; t < len; t++) {
            fwd[r0 + t] = tm_features_forward_return(px->close + r0, len, t, horizon);
            vol[r0 + t] = tm_features_volatility(px->close + r0, len, t, TM_FEATURES_VOL_WINDOW);
        }
    }
    st = tm_features_xs_labels(px->date, fwd, vol, n, horizon, cls, NULL, err);
done:
    if (st != TM_OK) {
        for (size_t i = 0; i < n; i++) {
            cls[i] = -1;
        }
    }
    tm_free(fwd);
    tm_free(vol);
    return st;
}
