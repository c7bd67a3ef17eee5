/* Base models: training the registry's 8 models (and, per model, one fold
 * model per time block for out-of-fold predictions) on the training
 * samples, saving each in its family's export format, registering a
 * generation, and loading the active generation to predict class
 * probabilities. See DESIGN "Honest validation". */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pipeline_int.h"

/* Samples usable at as_of: labels known by as_of, i.e. dated at least
 * horizon trading days before it. Returns the cut-off date (0: none). */
tm_status tm__pipeline_label_cutoff(tm_pipeline *p, int32_t as_of, int32_t *cutoff, tm_err *err)
{
    int32_t *d = NULL;
    size_t n = 0;
    *cutoff = 0;
    tm_status st = tm_store_trading_dates(p->store, as_of, &d, &n, err);
    if (st == TM_OK && n > (size_t)p->o.horizon) {
        *cutoff = d[n - 1 - (size_t)p->o.horizon];
    }
    tm_free(d);
    return st;
}

tm_status tm__pipeline_mkdirs(const char *dir, tm_err *err)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *s = buf + 1; *s; s++) {
        if (*s == '/') {
            *s = 0;
            mkdir(buf, 0755);
            *s = '/';
        }
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
        return TM_ERR(err, tm_errno_status(errno), dir, 0, NULL, "cannot create directory: %s",
                      strerror(errno));
    }
    return TM_OK;
}

static tm_forest_format family_format(const char *family, const char **ext)
{
    if (strcmp(family, "xgboost") == 0) {
        *ext = "json";
        return TM_FOREST_FORMAT_XGBOOST_JSON;
    }
    if (strcmp(family, "catboost") == 0) {
        *ext = "json";
        return TM_FOREST_FORMAT_CATBOOST_JSON;
    }
    *ext = "txt";
    return TM_FOREST_FORMAT_LIGHTGBM;
}

void tm__pipeline_train_opts(const tm_pipeline *p, const tm__pipeline_entry *e, tm_train_opts *t)
{
    tm_train_opts_init(t);
    t->objective = TM_TRAIN_MULTICLASS;
    t->num_class = 3;
    t->growth = e->growth;
    t->max_depth = e->max_depth;
    if (e->num_leaves > 0) {
        t->num_leaves = e->num_leaves;
    }
    t->learning_rate = e->learning_rate;
    t->max_rounds = (int)(e->max_rounds * p->o.rounds_scale + 0.5);
    t->max_rounds = t->max_rounds < 1 ? 1 : t->max_rounds;
    t->early_stopping = 10;
    t->col_subsample = e->col_subsample;
    t->row_subsample = e->row_subsample;
    t->class_weight = TM_TRAIN_CW_BALANCED;
    t->seed = p->o.seed;
    t->n_threads = p->o.n_threads;
    t->max_bin = 63;
    t->min_data_in_leaf = 50;
}

/* Rows of sm selected by keep[] as a train data view (copies rows). */
typedef struct subset {
    float *x;
    double *label;
    tm_train_data d;
} subset;

static void subset_free(subset *s)
{
    tm_free(s->x);
    tm_free(s->label);
    memset(s, 0, sizeof *s);
}

static bool subset_make(const tm_store_samples *sm, const uint8_t *keep, uint8_t want, subset *s)
{
    size_t n = 0, F = sm->n_features;
    memset(s, 0, sizeof *s);
    for (size_t r = 0; r < sm->n_rows; r++) {
        n += keep[r] == want;
    }
    s->x = tm_malloc_n(n ? n : 1, F * sizeof(float));
    s->label = tm_malloc_n(n ? n : 1, sizeof(double));
    if (!s->x || !s->label) {
        subset_free(s);
        return false;
    }
    size_t k = 0;
    for (size_t r = 0; r < sm->n_rows; r++) {
        if (keep[r] == want) {
            memcpy(s->x + k * F, sm->X + r * F, F * sizeof(float));
            s->label[k++] = sm->label[r];
        }
    }
    s->d.n_rows = n;
    s->d.n_features = F;
    s->d.stride = F;
    s->d.x_f32 = s->x;
    s->d.label = s->label;
    return true;
}

/* Distinct sorted dates of the samples (rows sorted by date). */
static int32_t *distinct_dates(const tm_store_samples *sm, size_t *n)
{
    int32_t *d = tm_malloc_n(sm->n_rows ? sm->n_rows : 1, sizeof *d);
    size_t k = 0;
    for (size_t r = 0; d && r < sm->n_rows; r++) {
        if (k == 0 || d[k - 1] != sm->date[r]) {
            d[k++] = sm->date[r];
        }
    }
    *n = k;
    return d;
}

/* Position of date in the distinct dates (the first >= date). */
static size_t date_pos(const int32_t *d, size_t n, int32_t date)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (d[mid] < date) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* Trains one model: rows with role[r] == 0 train, == 1 validate, others
 * are left out. */
static tm_status fit(const tm_train_opts *t, const tm_store_samples *sm, const uint8_t *role,
                     bool with_valid, tm_forest **out, tm_train_metrics *met, tm_err *err)
{
    subset tr, va;
    memset(&va, 0, sizeof va);
    tm_status st = TM_OK;
    if (!subset_make(sm, role, 0, &tr) || (with_valid && !subset_make(sm, role, 1, &va))) {
        subset_free(&tr);
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory copying training rows");
    }
    st = tm_train_fit(t, &tr.d, with_valid ? &va.d : NULL, out, met, err);
    subset_free(&tr);
    subset_free(&va);
    return st;
}

static tm_status save_and_register(tm_pipeline *p, const tm_forest *f, tm_store_model *row,
                                   tm_err *err)
{
    const char *ext;
    tm_forest_format fmt = family_format(row->family, &ext);
    size_t n = strlen(row->file);
    snprintf(row->file + n, sizeof row->file - n, ".%s", ext);
    snprintf(row->format, sizeof row->format, "%s", tm_forest_format_name(fmt));
    char path[1200];
    tm__pipeline_model_path(p, row->file, path, sizeof path);
    tm_status st = tm_forest_save(f, fmt, path, err);
    if (st == TM_OK) {
        st = tm_store_model_insert(p->store, row, err);
    }
    if (st == TM_OK && row->active) {
        st = tm_store_model_activate(p->store, row->id, err);
    }
    return st;
}

tm_status tm__pipeline_base_core(tm_pipeline *p, int32_t as_of, tm_pipeline_report *rep,
                                 tm_err *err)
{
    tm_store_samples *sm = NULL;
    int32_t *dates = NULL;
    uint8_t *role = NULL;
    tm_forest *f = NULL;
    int32_t cutoff = 0;
    int64_t gen = 0;
    size_t n_dates = 0, K = (size_t)p->o.n_folds, h = (size_t)p->o.horizon;
    char dir[600];
    double t0 = tm_now_seconds();
    snprintf(dir, sizeof dir, "%.500s/base", p->models_dir);
    tm_status st = tm__pipeline_label_cutoff(p, as_of, &cutoff, err);
    if (st == TM_OK) {
        st = tm_store_samples_load(p->store, cutoff ? cutoff : 19000101, &sm, err);
    }
    if (st == TM_OK) {
        st = tm_store_query_int(p->store, "SELECT coalesce(max(generation), 0) + 1 FROM models",
                                &gen, err);
    }
    if (st == TM_OK) {
        st = tm__pipeline_mkdirs(dir, err);
    }
    if (st != TM_OK) {
        goto done;
    }
    if (sm->n_rows < 200) {
        st = TM_ERR(err, TM_E_INVALID, p->db_path, 0, "training_samples",
                    "expected at least 200 samples dated <= " TM__YMD_FMT ", found %zu (run "
                    "backfill first)",
                    TM__YMD(cutoff), sm->n_rows);
        goto done;
    }
    dates = distinct_dates(sm, &n_dates);
    role = tm_malloc(sm->n_rows);
    if (!dates || !role) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
        goto done;
    }
    tm__pipeline_step(rep, "load_samples", tm_now_seconds() - t0);
    /* Early-stopping split: the latest 10% of dates validate; the h dates
     * before them are embargoed (their labels overlap the validation). */
    size_t vpos = n_dates - n_dates / 10;
    for (size_t r = 0; r < sm->n_rows; r++) {
        size_t dp = date_pos(dates, n_dates, sm->date[r]);
        role[r] = dp >= vpos ? 1 : dp + h >= vpos ? 2 : 0;
    }
    tm__pipeline_say(rep,
                     "model_retrain as of " TM__YMD_FMT ": %zu samples up to " TM__YMD_FMT
                     ", generation %lld, "
                     "%zu models x (1 + %zu folds)\n",
                     TM__YMD(as_of), sm->n_rows, TM__YMD(cutoff), (long long)gen, p->n_reg, K);
    for (size_t i = 0; i < p->n_reg && st == TM_OK; i++) {
        const tm__pipeline_entry *e = &p->reg[i];
        double t1 = tm_now_seconds();
        tm_store_model row;
        memset(&row, 0, sizeof row);
        snprintf(row.name, sizeof row.name, "%s", e->name);
        snprintf(row.kind, sizeof row.kind, "base");
        row.slot = (int)i;
        snprintf(row.family, sizeof row.family, "%s", e->family);
        tm__pipeline_now_iso(row.trained_at, sizeof row.trained_at);
        row.as_of = as_of;
        row.train_until = cutoff;
        row.generation = gen;
        row.active = true;
        if (e->file[0]) {
            /* A model exported by the real library: registered, not trained. */
            tm_forest_load_opts lo;
            tm_forest_load_opts_init(&lo);
            if ((st = tm_forest_load(e->file, &lo, &f, err)) != TM_OK) {
                break;
            }
            char *abs = realpath(e->file, NULL);
            snprintf(row.file, sizeof row.file, "%s", abs ? abs : e->file);
            free(abs); /* realpath's buffer comes from malloc */
            snprintf(row.format, sizeof row.format, "external");
            snprintf(row.metrics, sizeof row.metrics, "{\"external\":true}");
            row.train_until = 0;
            st = tm_store_model_insert(p->store, &row, err);
            st = st == TM_OK ? tm_store_model_activate(p->store, row.id, err) : st;
            tm_forest_free(f);
            f = NULL;
            tm__pipeline_say(rep, "  %-14s external file %s\n", e->name, e->file);
            continue;
        }
        tm_train_opts t;
        tm_train_metrics met;
        tm__pipeline_train_opts(p, e, &t);
        if ((st = fit(&t, sm, role, true, &f, &met, err)) != TM_OK) {
            break;
        }
        snprintf(row.file, sizeof row.file, "base/g%lld_%.60s", (long long)gen, e->name);
        snprintf(row.metrics, sizeof row.metrics,
                 "{\"best_iteration\":%d,\"valid_accuracy\":%.6f,\"valid_logloss\":%.6f,"
                 "\"n_train\":%zu,\"n_valid\":%zu,\"growth\":\"%s\"}",
                 met.best_iteration, met.valid_accuracy, met.valid_loss, met.n_train, met.n_valid,
                 tm_train_growth_name(e->growth));
        st = save_and_register(p, f, &row, err);
        tm_forest_free(f);
        f = NULL;
        double full_s = tm_now_seconds() - t1;
        /* Fold models: block k of the dates is held out, with h dates of
         * embargo on each side; as many rounds as the full model kept. */
        t.max_rounds = met.best_iteration + 1;
        t.early_stopping = 0;
        for (size_t k = 0; k < K && st == TM_OK; k++) {
            size_t a = n_dates * k / K, z = n_dates * (k + 1) / K; /* [a, z) */
            for (size_t r = 0; r < sm->n_rows; r++) {
                size_t dp = date_pos(dates, n_dates, sm->date[r]);
                role[r] = (dp + h >= a && dp < z + h) ? 2 : 0;
            }
            if ((st = fit(&t, sm, role, false, &f, NULL, err)) != TM_OK) {
                break;
            }
            tm_store_model fr = row;
            snprintf(fr.kind, sizeof fr.kind, "fold");
            fr.slot = (int)(i * 100 + k);
            fr.fold_from = dates[a];
            fr.fold_to = dates[z - 1];
            snprintf(fr.file, sizeof fr.file, "base/g%lld_%.60s_fold%zu", (long long)gen, e->name,
                     k);
            snprintf(fr.metrics, sizeof fr.metrics, "{\"fold\":%zu,\"rounds\":%d}", k,
                     t.max_rounds);
            st = save_and_register(p, f, &fr, err);
            tm_forest_free(f);
            f = NULL;
        }
        /* restore the early-stopping roles for the next model */
        for (size_t r = 0; r < sm->n_rows; r++) {
            size_t dp = date_pos(dates, n_dates, sm->date[r]);
            role[r] = dp >= vpos ? 1 : dp + h >= vpos ? 2 : 0;
        }
        double s = tm_now_seconds() - t1;
        if (st == TM_OK) {
            tm__pipeline_say(rep,
                             "  %-14s %-8s %-9s rounds %4d  valid acc %.3f  (%.1fs, folds %.1fs)\n",
                             e->name, e->family, tm_train_growth_name(e->growth),
                             met.best_iteration + 1, met.valid_accuracy, s, s - full_s);
            tm__pipeline_step(rep, e->name, s);
        }
    }
done:
    tm_forest_free(f);
    tm_free(role);
    tm_free(dates);
    tm_store_samples_free(sm);
    return st;
}

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

tm_status tm__pipeline_models_load(tm_pipeline *p, tm__pipeline_models *m, tm_err *err)
{
    memset(m, 0, sizeof *m);
    tm_store_model *rows = NULL, *folds = NULL;
    size_t n = 0, nf = 0;
    tm_forest_load_opts lo;
    tm_forest_load_opts_init(&lo);
    tm_status st = tm_store_models_active(p->store, "base", &rows, &n, err);
    if (st != TM_OK) {
        goto done;
    }
    if (n == 0 || n > TM__PIPELINE_MAX_MODELS) {
        st = TM_ERR(err, TM_E_INVALID, p->db_path, 0, "models",
                    "expected active base models, found %zu (run model-retrain first)", n);
        goto done;
    }
    m->n_base = n;
    for (size_t i = 0; i < n && st == TM_OK; i++) {
        m->base_row[i] = rows[i];
        m->train_until =
                rows[i].train_until > m->train_until ? rows[i].train_until : m->train_until;
        char path[1200];
        st = tm_forest_load(tm__pipeline_model_path(p, rows[i].file, path, sizeof path), &lo,
                            &m->base[i], err);
    }
    if (st == TM_OK) {
        st = tm_store_models_generation(p->store, "fold", rows[0].generation, &folds, &nf, err);
    }
    for (size_t j = 0; j < nf && st == TM_OK; j++) {
        size_t i = (size_t)folds[j].slot / 100, k = (size_t)folds[j].slot % 100;
        if (i >= n || k >= TM__PIPELINE_MAX_FOLDS) {
            continue;
        }
        m->n_folds = k + 1 > m->n_folds ? k + 1 : m->n_folds;
        m->fold_from[k] = folds[j].fold_from;
        m->fold_to[k] = folds[j].fold_to;
        char path[1200];
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

tm_status tm__pipeline_meta_load(tm_pipeline *p, tm_forest **out, tm_store_model *row, tm_err *err)
{
    tm_store_model *rows = NULL;
    size_t n = 0;
    *out = NULL;
    tm_status st = tm_store_models_active(p->store, "meta", &rows, &n, err);
    if (st == TM_OK && n == 0) {
        st = TM_ERR(err, TM_E_INVALID, p->db_path, 0, "models",
                    "expected an active meta-learner, found none (run meta-retrain first)");
    }
    if (st == TM_OK) {
        *row = rows[0];
        tm_forest_load_opts lo;
        tm_forest_load_opts_init(&lo);
        char path[1200];
        st = tm_forest_load(tm__pipeline_model_path(p, rows[0].file, path, sizeof path), &lo, out,
                            err);
    }
    tm_free(rows);
    return st;
}
