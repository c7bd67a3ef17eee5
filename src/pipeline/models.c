/* Base models: training the registry's 8 models (and, per model, one fold
 * model per time block for out-of-fold predictions) on the training
 * samples, saving each in its family's export format and registering a
 * generation. Loading a generation to predict class probabilities is in
 * models_load.c. See DESIGN "Honest validation". */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "pipeline_int.h"

/* Early stopping of the base models: rounds of patience on the unweighted
 * validation loss with the class weights' tilt undone (the weighted loss
 * would reward calling the rare classes; the raw unweighted one would
 * punish every round that fits the weights), and the validation blocks:
 * a fifth of the dates in 4 blocks spread over the history, so one calm
 * stretch does not decide the rounds. */
#define BASE_PATIENCE      50
#define BASE_VALID_BLOCKS  4
#define BASE_VALID_DIVISOR 5

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

double tm__pipeline_prior_gain(double loss, double prior)
{
    if (!isfinite(loss) || !isfinite(prior) || !(prior > 0.0)) {
        return NAN;
    }
    return (prior - loss) / prior;
}

void tm__pipeline_say_prior(tm_pipeline_report *rep, double loss, double prior)
{
    double g = tm__pipeline_prior_gain(loss, prior);
    tm__pipeline_say(rep, "loss %.4f vs prior %.4f (%+.1f%%)%s", loss, prior, 100.0 * g,
                     g >= TM__PIPELINE_MIN_PRIOR_GAIN ? "" : " <1% over prior");
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
    t->early_stopping = BASE_PATIENCE;
    t->early_stopping_unweighted = true;
    t->col_subsample = e->col_subsample;
    t->row_subsample = e->row_subsample;
    /* deciles are 10/80/10 by construction: no weights to tilt them */
    t->class_weight =
            p->labels == TM_PIPELINE_LABELS_XS_DECILE ? TM_TRAIN_CW_NONE : TM_TRAIN_CW_BALANCED;
    t->seed = p->o.seed;
    t->n_threads = p->o.n_threads;
    t->max_bin = 63;
    t->min_data_in_leaf = 50;
}

/* Rows of sm whose role is want, as a train data view (copies rows). */
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

static bool subset_make(const tm_store_samples *sm, const uint8_t *role, uint8_t want, subset *s)
{
    size_t n = 0, F = sm->n_features;
    memset(s, 0, sizeof *s);
    for (size_t r = 0; r < sm->n_rows; r++) {
        n += role[r] == want;
    }
    s->x = tm_malloc_n(n ? n : 1, F * sizeof(float));
    s->label = tm_malloc_n(n ? n : 1, sizeof(double));
    if (!s->x || !s->label) {
        subset_free(s);
        return false;
    }
    size_t k = 0;
    for (size_t r = 0; r < sm->n_rows; r++) {
        if (role[r] == want) {
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

/* Trains one model on the TRAIN rows, validating (early stopping) on the
 * VALID rows when with_valid; other rows are left out. */
static tm_status fit(const tm_train_opts *t, const tm_store_samples *sm, const uint8_t *role,
                     bool with_valid, tm_forest **out, tm_train_metrics *met, tm_err *err)
{
    subset tr, va;
    memset(&va, 0, sizeof va);
    tm_status st = TM_OK;
    if (!subset_make(sm, role, TM__PIPELINE_TRAIN, &tr) ||
        (with_valid && !subset_make(sm, role, TM__PIPELINE_VALID, &va))) {
        subset_free(&tr);
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory copying training rows");
    }
    st = tm_train_fit(t, &tr.d, with_valid ? &va.d : NULL, out, met, err);
    subset_free(&tr);
    subset_free(&va);
    return st;
}

/* Saves f next to the other base models in its family's format (row->file
 * gets the extension), registers it and activates it when row->active. */
static tm_status save_and_register(tm_pipeline *p, const tm_forest *f, tm_store_model *row,
                                   tm_err *err)
{
    const char *ext;
    tm_forest_format fmt = family_format(row->family, &ext);
    size_t n = strlen(row->file);
    snprintf(row->file + n, sizeof row->file - n, ".%s", ext);
    snprintf(row->format, sizeof row->format, "%s", tm_forest_format_name(fmt));
    char path[TM__PIPELINE_PATH_LEN];
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

/* Everything one base retrain reads; base_job_free releases it. */
typedef struct base_job {
    int32_t as_of;
    int32_t cutoff;           /* latest sample date with a known label, 0: none */
    int64_t gen;              /* the generation these models get */
    tm_store_samples *sm;     /* training samples up to cutoff, by date */
    tm__pipeline_dates dates; /* the samples' distinct dates */
    uint8_t *role;            /* per sample, tm__pipeline_role of the fit in progress */
} base_job;

static void base_job_free(base_job *j)
{
    tm_store_samples_free(j->sm);
    tm__pipeline_dates_free(&j->dates);
    tm_free(j->role);
}

/* Step "load_samples": the samples whose labels are known at as_of (at
 * least TM__PIPELINE_MIN_BASE_SAMPLES), their date index, the generation
 * number, and the models directory. */
static tm_status load_samples(tm_pipeline *p, base_job *j, const char *dir, tm_err *err)
{
    tm_status st = tm__pipeline_label_cutoff(p, j->as_of, &j->cutoff, err);
    if (st == TM_OK) {
        int32_t until = j->cutoff ? j->cutoff : TM__PIPELINE_BEFORE_ALL_DATES;
        st = tm_store_samples_load(p->store, until, &j->sm, err);
    }
    if (st == TM_OK) {
        st = tm_store_model_next_generation(p->store, &j->gen, err);
    }
    if (st == TM_OK) {
        st = tm__pipeline_mkdirs(dir, err);
    }
    if (st != TM_OK) {
        return st;
    }
    if (j->sm->n_rows < TM__PIPELINE_MIN_BASE_SAMPLES) {
        return TM_ERR(err, TM_E_INVALID, p->db_path, 0, "training_samples",
                      "expected at least %d samples dated <= " TM__YMD_FMT
                      ", found %zu (run backfill first)",
                      TM__PIPELINE_MIN_BASE_SAMPLES, TM__YMD(j->cutoff), j->sm->n_rows);
    }
    j->role = tm_malloc(j->sm->n_rows);
    if (!j->role) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    return tm__pipeline_dates_index(j->sm->date, j->sm->n_rows, &j->dates, err);
}

/* The registry row every model of entry i starts from. */
static void entry_row(const base_job *j, const tm__pipeline_entry *e, size_t i, tm_store_model *row)
{
    memset(row, 0, sizeof *row);
    snprintf(row->name, sizeof row->name, "%s", e->name);
    snprintf(row->kind, sizeof row->kind, "base");
    row->slot = (int)i;
    snprintf(row->family, sizeof row->family, "%s", e->family);
    tm__pipeline_now_iso(row->trained_at, sizeof row->trained_at);
    row->as_of = j->as_of;
    row->train_until = j->cutoff;
    row->generation = j->gen;
    row->active = true;
}

/* Registers a model exported by the real library (entry file set): read
 * to check it loads, kept where it is, not trained. */
static tm_status register_external(tm_pipeline *p, const tm__pipeline_entry *e, tm_store_model *row,
                                   tm_pipeline_report *rep, tm_err *err)
{
    tm_forest *f = NULL;
    tm_forest_load_opts lo;
    tm_forest_load_opts_init(&lo);
    tm_status st = tm_forest_load(e->file, &lo, &f, err);
    tm_forest_free(f);
    if (st != TM_OK) {
        return st;
    }
    char *abs = realpath(e->file, NULL);
    const char *file = abs ? abs : e->file;
    if (strlen(file) >= sizeof row->file) {
        st = TM_ERR(err, TM_E_INVALID, e->file, 0, "file",
                    "expected a model path of at most %zu bytes, found %zu", sizeof row->file - 1,
                    strlen(file));
    } else {
        memcpy(row->file, file, strlen(file) + 1);
    }
    free(abs); /* realpath's buffer comes from malloc */
    if (st != TM_OK) {
        return st;
    }
    snprintf(row->format, sizeof row->format, "external");
    snprintf(row->metrics, sizeof row->metrics, "{\"external\":true}");
    row->train_until = 0;
    st = tm_store_model_insert(p->store, row, err);
    st = st == TM_OK ? tm_store_model_activate(p->store, row->id, err) : st;
    tm__pipeline_say(rep, "  %-14s external file %s\n", e->name, e->file);
    return st;
}

/* The full model of an entry: early stopping on BASE_VALID_BLOCKS blocks
 * of dates (the horizon's dates on each side embargoed), saved as
 * base/g<gen>_<name>. */
static tm_status train_full(tm_pipeline *p, base_job *j, const tm__pipeline_entry *e,
                            const tm_train_opts *t, tm_store_model *row, tm_train_metrics *met,
                            tm_err *err)
{
    tm_forest *f = NULL;
    tm__pipeline_split_blocks(&j->dates, BASE_VALID_BLOCKS, j->dates.n_dates / BASE_VALID_DIVISOR,
                              (size_t)p->o.horizon, j->role);
    tm_status st = fit(t, j->sm, j->role, true, &f, met, err);
    if (st != TM_OK) {
        return st;
    }
    snprintf(row->file, sizeof row->file, "base/g%lld_%.60s", (long long)j->gen, e->name);
    tm_buf b = {0};
    tm_jw w;
    tm_jw_init(&w, &b, TM_JW_COMPACT, TM_JW_NONFINITE_NULL, false);
    tm_jw_object(&w);
    tm_jw_key(&w, "best_iteration");
    tm_jw_int(&w, met->best_iteration);
    tm_jw_key(&w, "valid_accuracy");
    tm_jw_fixed(&w, met->valid_accuracy, 6);
    tm_jw_key(&w, "valid_logloss");
    tm_jw_fixed(&w, met->valid_loss, 6);
    tm_jw_key(&w, "valid_logloss_unweighted");
    tm_jw_fixed(&w, met->valid_loss_unweighted, 6);
    tm_jw_key(&w, "valid_logloss_deweighted");
    tm_jw_fixed(&w, met->valid_loss_deweighted, 6);
    tm_jw_key(&w, "prior_logloss");
    tm_jw_fixed(&w, met->valid_prior_loss, 6);
    tm_jw_key(&w, "under_1pct_over_prior");
    tm_jw_bool(&w, !(tm__pipeline_prior_gain(met->valid_loss_deweighted, met->valid_prior_loss) >=
                     TM__PIPELINE_MIN_PRIOR_GAIN));
    tm_jw_key(&w, "n_train");
    tm_jw_int(&w, (int64_t)met->n_train);
    tm_jw_key(&w, "n_valid");
    tm_jw_int(&w, (int64_t)met->n_valid);
    tm_jw_key(&w, "growth");
    tm_jw_string(&w, tm_train_growth_name(e->growth));
    tm_jw_key(&w, "labels");
    tm_jw_string(&w, tm__pipeline_labels_name(p->labels));
    tm_jw_object_end(&w);
    st = tm__pipeline_metrics_set(&w, row, err);
    if (st == TM_OK) {
        st = save_and_register(p, f, row, err);
    }
    tm_forest_free(f);
    return st;
}

/* The fold models of an entry: block k of the dates held out, with the
 * horizon's dates embargoed on each side, as many rounds as the full model
 * kept; slot TM__PIPELINE_FOLD_SLOT(i, k), file base/g<gen>_<name>_fold<k>. */
static tm_status train_folds(tm_pipeline *p, base_job *j, const tm__pipeline_entry *e,
                             const tm_train_opts *full, int rounds, const tm_store_model *row,
                             tm_err *err)
{
    size_t K = (size_t)p->o.n_folds, n_dates = j->dates.n_dates;
    tm_train_opts t = *full;
    t.max_rounds = rounds;
    t.early_stopping = 0;
    tm_status st = TM_OK;
    for (size_t k = 0; k < K && st == TM_OK; k++) {
        size_t a = n_dates * k / K, z = n_dates * (k + 1) / K; /* [a, z) */
        tm_forest *f = NULL;
        tm__pipeline_split_fold(&j->dates, a, z, (size_t)p->o.horizon, j->role);
        tm__pipeline_log(p, "%s: fold %zu of %zu", p->fitting, k + 1, K);
        if ((st = fit(&t, j->sm, j->role, false, &f, NULL, err)) != TM_OK) {
            break;
        }
        tm_store_model fr = *row;
        snprintf(fr.kind, sizeof fr.kind, "fold");
        fr.slot = TM__PIPELINE_FOLD_SLOT(row->slot, k);
        fr.fold_from = j->dates.date[a];
        fr.fold_to = j->dates.date[z - 1];
        snprintf(fr.file, sizeof fr.file, "base/g%lld_%.60s_fold%zu", (long long)j->gen, e->name,
                 k);
        tm_buf b = {0};
        tm_jw w;
        tm_jw_init(&w, &b, TM_JW_COMPACT, TM_JW_NONFINITE_NULL, false);
        tm_jw_object(&w);
        tm_jw_key(&w, "fold");
        tm_jw_int(&w, (int64_t)k);
        tm_jw_key(&w, "rounds");
        tm_jw_int(&w, t.max_rounds);
        tm_jw_object_end(&w);
        st = tm__pipeline_metrics_set(&w, &fr, err);
        if (st == TM_OK) {
            st = save_and_register(p, f, &fr, err);
        }
        tm_forest_free(f);
    }
    return st;
}

/* Trains registry entry i: the full model, then its fold models. */
static tm_status train_entry(tm_pipeline *p, base_job *j, size_t i, tm_pipeline_report *rep,
                             tm_err *err)
{
    const tm__pipeline_entry *e = &p->reg[i];
    double t0 = tm_now_seconds();
    tm_store_model row;
    entry_row(j, e, i, &row);
    if (e->file[0]) {
        return register_external(p, e, &row, rep, err);
    }
    tm_train_opts t;
    tm_train_metrics met;
    tm__pipeline_train_opts(p, e, &t);
    tm__pipeline_progress(p, &t, "model %zu of %zu (%s)", i + 1, p->n_reg, e->name);
    tm_status st = train_full(p, j, e, &t, &row, &met, err);
    if (st != TM_OK) {
        return st;
    }
    double full_s = tm_now_seconds() - t0;
    if ((st = train_folds(p, j, e, &t, met.best_iteration + 1, &row, err)) != TM_OK) {
        return st;
    }
    double s = tm_now_seconds() - t0;
    tm__pipeline_say(rep, "  %-14s %-8s %-9s rounds %4d  valid acc %.3f  ", e->name, e->family,
                     tm_train_growth_name(e->growth), met.best_iteration + 1, met.valid_accuracy);
    tm__pipeline_say_prior(rep, met.valid_loss_deweighted, met.valid_prior_loss);
    tm__pipeline_say(rep, "  (%.1fs, folds %.1fs)\n", s, s - full_s);
    tm__pipeline_step(rep, e->name, s);
    return TM_OK;
}

tm_status tm__pipeline_base_core(tm_pipeline *p, int32_t as_of, tm_pipeline_report *rep,
                                 tm_err *err)
{
    base_job j;
    memset(&j, 0, sizeof j);
    j.as_of = as_of;
    char dir[600];
    snprintf(dir, sizeof dir, "%.500s/base", p->models_dir);
    double t0 = tm_now_seconds();
    tm_status st = tm__pipeline_labels(p, false, &p->labels, err);
    st = st == TM_OK ? load_samples(p, &j, dir, err) : st;
    if (st == TM_OK) {
        tm__pipeline_step(rep, "load_samples", tm_now_seconds() - t0);
        tm__pipeline_say(rep,
                         "model_retrain as of " TM__YMD_FMT ": %zu samples up to " TM__YMD_FMT
                         ", generation %lld, %zu models x (1 + %d folds)\n",
                         TM__YMD(as_of), j.sm->n_rows, TM__YMD(j.cutoff), (long long)j.gen,
                         p->n_reg, p->o.n_folds);
    }
    for (size_t i = 0; i < p->n_reg && st == TM_OK; i++) {
        st = train_entry(p, &j, i, rep, err);
    }
    base_job_free(&j);
    return st;
}
