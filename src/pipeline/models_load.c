/* Base models, the other half of models.c: loading a registered
 * generation (the base models and their fold models, or the meta-learner)
 * and predicting class probabilities with them, in full or out of fold.
 * See DESIGN "Honest validation". */
#include <string.h>

#include "pipeline_int.h"

void tm__pipeline_models_free(tm__pipeline_models *m)
{
    for (size_t i = 0; i < TM__PIPELINE_MAX_MODELS; i++) {
        tm_forest_free(m->base[i]);
        for (size_t k = 0; k < TM__PIPELINE_MAX_FOLDS; k++) {
            tm_forest_free(m->fold[i][k]);
        }
    }
    memset(m, 0, sizeof *m);
}

tm_status tm__pipeline_models_load(tm_pipeline *p, int32_t as_of, int64_t generation,
                                   tm__pipeline_models *m, tm_pipeline_report *rep, tm_err *err)
{
    memset(m, 0, sizeof *m);
    tm_store_model *rows = NULL, *folds = NULL;
    size_t n = 0, nf = 0;
    tm_forest_load_opts lo;
    tm_forest_load_opts_init(&lo);
    tm_status st = TM_OK;
    if (generation == 0) {
        tm_store_model pick;
        st = tm__pipeline_pick(p, "base", as_of, &pick, rep, err);
        generation = pick.generation;
    }
    if (st == TM_OK) {
        st = tm_store_models_generation(p->store, "base", generation, &rows, &n, err);
    }
    if (st != TM_OK) {
        goto done;
    }
    if (n == 0 || n > TM__PIPELINE_MAX_MODELS) {
        st = TM_ERR(err, TM_E_INVALID, p->db_path, 0, "models",
                    "expected the base models of generation %lld, found %zu (run model-retrain "
                    "first)",
                    (long long)generation, n);
        goto done;
    }
    m->n_base = n;
    for (size_t i = 0; i < n && st == TM_OK; i++) {
        m->base_row[i] = rows[i];
        m->train_until =
                rows[i].train_until > m->train_until ? rows[i].train_until : m->train_until;
        char path[TM__PIPELINE_PATH_LEN];
        st = tm_forest_load(tm__pipeline_model_path(p, rows[i].file, path, sizeof path), &lo,
                            &m->base[i], err);
    }
    if (st == TM_OK) {
        st = tm_store_models_generation(p->store, "fold", rows[0].generation, &folds, &nf, err);
    }
    for (size_t j = 0; j < nf && st == TM_OK; j++) {
        size_t i = (size_t)folds[j].slot / TM__PIPELINE_FOLD_SLOTS;
        size_t k = (size_t)folds[j].slot % TM__PIPELINE_FOLD_SLOTS;
        if (i >= n || k >= TM__PIPELINE_MAX_FOLDS) {
            continue;
        }
        m->n_folds = k + 1 > m->n_folds ? k + 1 : m->n_folds;
        m->fold_from[k] = folds[j].fold_from;
        m->fold_to[k] = folds[j].fold_to;
        char path[TM__PIPELINE_PATH_LEN];
        st = tm_forest_load(tm__pipeline_model_path(p, folds[j].file, path, sizeof path), &lo,
                            &m->fold[i][k], err);
    }
done:
    tm_free(rows);
    tm_free(folds);
    if (st != TM_OK) {
        tm__pipeline_models_free(m);
    }
    return st;
}

/* Probabilities of model f for rows idx (NULL: all n) of X (doubles,
 * n_rows * F) into probs[r * stride3 + off + c]. xg is scratch for the
 * gathered rows, tmp for n * 3 outputs. */
static tm_status predict_rows(const tm_pipeline *p, const tm_forest *f, const double *X, size_t F,
                              const size_t *idx, size_t n, double *xg, double *tmp, double *probs,
                              size_t stride3, size_t off, tm_err *err)
{
    if (tm_forest_output_len(f, TM_FOREST_OUT_PROBABILITY) != 3) {
        return TM_ERR(err, TM_E_FORMAT, NULL, 0, NULL,
                      "expected a 3-class model (SELL, HOLD, BUY), found %zu outputs",
                      tm_forest_output_len(f, TM_FOREST_OUT_PROBABILITY));
    }
    if ((size_t)tm_forest_n_features(f) > F) {
        return TM_ERR(err, TM_E_FORMAT, NULL, 0, NULL,
                      "expected a model reading at most %zu features, found %d", F,
                      tm_forest_n_features(f));
    }
    const double *in = X;
    if (idx) {
        for (size_t i = 0; i < n; i++) {
            memcpy(xg + i * F, X + idx[i] * F, F * sizeof(double));
        }
        in = xg;
    }
    tm_status st =
            tm_forest_predict(f, in, n, F, TM_FOREST_OUT_PROBABILITY, p->o.n_threads, tmp, err);
    for (size_t i = 0; st == TM_OK && i < n; i++) {
        size_t r = idx ? idx[i] : i;
        for (size_t c = 0; c < 3; c++) {
            probs[r * stride3 + off + c] = tmp[i * 3 + c];
        }
    }
    return st;
}

tm_status tm__pipeline_base_probs(tm_pipeline *p, const tm__pipeline_models *m, const double *X,
                                  size_t n_rows, size_t F, double *probs, tm_err *err)
{
    double *tmp = tm_malloc_n(n_rows ? n_rows : 1, 3 * sizeof(double));
    tm_status st = TM_OK;
    if (!tmp) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory predicting %zu rows", n_rows);
    }
    for (size_t i = 0; i < m->n_base && st == TM_OK; i++) {
        st = predict_rows(p, m->base[i], X, F, NULL, n_rows, NULL, tmp, probs, 3 * m->n_base, 3 * i,
                          err);
    }
    tm_free(tmp);
    return st;
}

tm_status tm__pipeline_fold_probs(tm_pipeline *p, const tm__pipeline_models *m, const double *X,
                                  size_t n_rows, size_t F, const int32_t *dates, double *probs,
                                  tm_err *err)
{
    size_t S = 3 * m->n_base;
    double *xg = tm_malloc_n(n_rows ? n_rows : 1, F * sizeof(double));
    double *tmp = tm_malloc_n(n_rows ? n_rows : 1, 3 * sizeof(double));
    size_t *idx = tm_malloc_n(n_rows ? n_rows : 1, sizeof *idx);
    tm_status st = TM_OK;
    if (!xg || !tmp || !idx) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory predicting %zu rows", n_rows);
        goto done;
    }
    for (size_t k = 0; k < m->n_folds && st == TM_OK; k++) {
        size_t n = 0;
        for (size_t r = 0; r < n_rows; r++) {
            if (dates[r] >= m->fold_from[k] && dates[r] <= m->fold_to[k]) {
                idx[n++] = r;
            }
        }
        for (size_t i = 0; i < m->n_base && n && st == TM_OK; i++) {
            if (m->fold[i][k]) {
                st = predict_rows(p, m->fold[i][k], X, F, idx, n, xg, tmp, probs, S, 3 * i, err);
            }
        }
    }
done:
    tm_free(xg);
    tm_free(tmp);
    tm_free(idx);
    return st;
}

tm_status tm__pipeline_meta_load(tm_pipeline *p, int32_t as_of, tm_forest **out,
                                 tm_store_model *row, tm_pipeline_report *rep, tm_err *err)
{
    *out = NULL;
    tm_status st = tm__pipeline_pick(p, "meta", as_of, row, rep, err);
    if (st == TM_OK) {
        tm_forest_load_opts lo;
        tm_forest_load_opts_init(&lo);
        char path[TM__PIPELINE_PATH_LEN];
        st = tm_forest_load(tm__pipeline_model_path(p, row->file, path, sizeof path), &lo, out,
                            err);
    }
    return st;
}
