/* The meta retrain: regenerate meta_predictions for every training sample
 * (batches of 5,000, out-of-fold and in-sample), compute the 55 meta
 * features, train the meta-learner (multiclass, balanced class weights,
 * early stopping 50), validate honestly (time split with an embargo of
 * the label horizon) and the original's way side by side, fit the
 * decision rule on the kept model's validation rows (decide.c), save the
 * model with its rule atomically and activate it when the promotion check
 * (promote.c, judging by that rule) passes. The previous model stays for
 * rollback. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "decide_int.h"
#include "pipeline_int.h"
#include "promote_int.h"

/* The comparison model is trained with the same settings as the kept
 * one, so its figure is the one the original method would report; it
 * often runs far longer (in-sample features keep "improving" on a random
 * split: the leak). --no-compare skips it. */
#define COMPARE_ROUNDS 1000
/* Rounds of the kept model before --rounds-scale. */
#define META_ROUNDS 1000
/* Longest meta feature name ("avg_neutral_dominance", "neutral_dominance_16")
 * with its NUL, with room to spare. */
#define META_NAME_LEN 32

/* Figures of one fitted meta-learner. */
typedef struct meta_fit {
    const char *method; /* "out-of-fold, time split + embargo" ... */
    double valid_accuracy;
    double hold_baseline; /* always-HOLD accuracy on the same validation rows */
    double valid_loss;
    double valid_loss_unweighted;
    double valid_loss_deweighted; /* unweighted, the class weights' tilt undone */
    double prior_loss;            /* unweighted, predicting the training class frequencies */
    double recall[3];
    int best_iteration;
    size_t n_train, n_valid;
} meta_fit;

/* Everything one meta retrain reads and makes; meta_job_free releases it. */
typedef struct meta_job {
    int32_t as_of;
    int32_t cutoff;           /* latest sample date with a known label, 0: none */
    tm__pipeline_models m;    /* active base models and their fold models */
    tm_store_samples *sm;     /* training samples up to cutoff, by date */
    tm__pipeline_dates dates; /* the samples' distinct dates */
    size_t M, W, n;           /* base models, meta features (6M + 7), samples */
    double *P_oof, *P_in;     /* n * 3M base probabilities, out-of-fold and in-sample */
    double *Z;                /* n * W meta features of the fit in progress */
    uint8_t *role;            /* n tm__pipeline_role of the fit in progress */
    char *name_text;          /* W * META_NAME_LEN bytes behind names */
    const char **names;       /* W meta feature names */
    tm_forest *kept, *other;  /* the model we keep, the comparison model */
    meta_fit kept_fit, other_fit;
    tm_store_model row;               /* the kept model's registry row */
    tm_pipeline_report *rep;          /* the job's report (warnings) */
    tm__decide_rule rule;             /* the kept model's decision rule */
    tm__promote prom;                 /* the promotion check of the kept model */
    char path[TM__PIPELINE_PATH_LEN]; /* the kept model's file */
} meta_job;

static void meta_job_free(meta_job *j)
{
    tm__pipeline_models_free(&j->m);
    tm_store_samples_free(j->sm);
    tm__pipeline_dates_free(&j->dates);
    tm_free(j->P_oof);
    tm_free(j->P_in);
    tm_free(j->Z);
    tm_free(j->role);
    tm_free(j->name_text);
    tm_free(j->names);
    tm_forest_free(j->kept);
    tm_forest_free(j->other);
    tm__promote_free(&j->prom);
    tm__decide_rule_fini(&j->rule);
}

/* The name of a validation method, as reports and metrics print it. */
static const char *method_name(bool in_sample, tm_pipeline_split split)
{
    if (split == TM_PIPELINE_SPLIT_TIME) {
        return in_sample ? "in-sample, time split + embargo" : "out-of-fold, time split + embargo";
    }
    return in_sample ? "in-sample, random split (original)" : "out-of-fold, random split";
}

/* Step "load": the active base models, the samples whose labels are known
 * at as_of (at least TM__PIPELINE_MIN_META_SAMPLES), their date index, the
 * meta feature names and the buffers of the later steps. */
static tm_status load_inputs(tm_pipeline *p, meta_job *j, tm_err *err)
{
    tm_status st = tm__pipeline_models_load(p, j->as_of, 0, &j->m, j->rep, err);
    if (st == TM_OK) {
        st = tm__pipeline_label_cutoff(p, j->as_of, &j->cutoff, err);
    }
    if (st == TM_OK) {
        int32_t until = j->cutoff ? j->cutoff : TM__PIPELINE_BEFORE_ALL_DATES;
        st = tm_store_samples_load(p->store, until, &j->sm, err);
    }
    if (st != TM_OK) {
        return st;
    }
    j->M = j->m.n_base;
    j->W = tm_features_meta_count(j->M);
    j->n = j->sm->n_rows;
    if (j->n < TM__PIPELINE_MIN_META_SAMPLES) {
        return TM_ERR(err, TM_E_INVALID, p->db_path, 0, "training_samples",
                      "expected at least %d samples dated <= " TM__YMD_FMT ", found %zu",
                      TM__PIPELINE_MIN_META_SAMPLES, TM__YMD(j->cutoff), j->n);
    }
    j->P_oof = tm_malloc_n(j->n, 3 * j->M * sizeof(double));
    j->P_in = tm_malloc_n(j->n, 3 * j->M * sizeof(double));
    j->Z = tm_malloc_n(j->n, j->W * sizeof(double));
    j->role = tm_malloc(j->n);
    j->name_text = tm_malloc_n(j->W, META_NAME_LEN);
    j->names = tm_malloc_n(j->W, sizeof *j->names);
    if (!j->P_oof || !j->P_in || !j->Z || !j->role || !j->name_text || !j->names) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory for %zu samples", j->n);
    }
    for (size_t i = 0; i < j->W; i++) {
        j->names[i] =
                tm_features_meta_name(j->M, i, j->name_text + i * META_NAME_LEN, META_NAME_LEN);
    }
    return tm__pipeline_dates_index(j->sm->date, j->n, &j->dates, err);
}

/* Base probabilities of samples [a, a + k): in-sample from the full
 * models, out-of-fold from the fold models where a fold held the sample
 * out (the in-sample value elsewhere). Xd is scratch for k rows. */
static tm_status predict_batch(tm_pipeline *p, meta_job *j, size_t a, size_t k, double *Xd,
                               tm_err *err)
{
    size_t F = j->sm->n_features, S = 3 * j->M;
    for (size_t i = 0; i < k * F; i++) {
        Xd[i] = (double)j->sm->X[a * F + i];
    }
    tm_status st = tm__pipeline_base_probs(p, &j->m, Xd, k, F, j->P_in + a * S, err);
    if (st == TM_OK) {
        memcpy(j->P_oof + a * S, j->P_in + a * S, k * S * sizeof(double));
    }
    if (st == TM_OK && j->m.n_folds > 0) {
        st = tm__pipeline_fold_probs(p, &j->m, Xd, k, F, j->sm->date + a, j->P_oof + a * S, err);
    }
    return st;
}

/* Step "meta_predictions": rewrites the meta_predictions table (float32
 * out-of-fold and in-sample probabilities) in batches of batch_rows, inside
 * the job's transaction, and keeps the doubles in P_oof and P_in. */
static tm_status regenerate_predictions(tm_pipeline *p, meta_job *j, tm_err *err)
{
    size_t B = (size_t)p->o.batch_rows, F = j->sm->n_features, S = 3 * j->M;
    float *buf = tm_malloc_n(B, 2 * S * sizeof(float));
    double *Xd = tm_malloc_n(B, F * sizeof(double));
    tm_status st = TM_OK;
    if (!buf || !Xd) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory for %zu samples", j->n);
    }
    if (st == TM_OK) {
        st = tm_store_meta_pred_clear(p->store, err);
    }
    for (size_t a = 0; a < j->n && st == TM_OK; a += B) {
        size_t k = j->n - a < B ? j->n - a : B;
        st = predict_batch(p, j, a, k, Xd, err);
        for (size_t i = 0; st == TM_OK && i < k * S; i++) {
            buf[i] = (float)j->P_oof[a * S + i];
            buf[k * S + i] = (float)j->P_in[a * S + i];
        }
        if (st == TM_OK) {
            st = tm_store_meta_preds_put(p->store, j->sm->id + a, k, buf, buf + k * S, S, err);
        }
        if (a == 0) {
            tm_test_point("meta_retrain");
        }
    }
    tm_free(buf);
    tm_free(Xd);
    return st;
}

/* Trainer settings of the meta-learner. */
static void meta_train_opts(const tm_pipeline *p, const char *const *names, int max_rounds,
                            tm_train_opts *t)
{
    tm_train_opts_init(t);
    t->objective = TM_TRAIN_MULTICLASS;
    t->num_class = 3;
    t->growth = TM_TRAIN_LEAFWISE;
    t->num_leaves = 31;
    t->learning_rate = 0.05;
    t->max_rounds = (int)(max_rounds * p->o.rounds_scale + 0.5);
    t->max_rounds = t->max_rounds < 1 ? 1 : t->max_rounds;
    t->early_stopping = 100; /* unweighted, the weights' tilt undone: see models.c */
    t->early_stopping_unweighted = true;
    t->class_weight =
            p->labels == TM_PIPELINE_LABELS_XS_DECILE ? TM_TRAIN_CW_NONE : TM_TRAIN_CW_BALANCED;
    t->seed = p->o.seed;
    t->n_threads = p->o.n_threads;
    t->max_bin = 63;
    t->feature_names = names;
}

/* Copies the rows of Z (n * W) and their labels whose role is want. */
static size_t gather(const meta_job *j, uint8_t want, double *z, double *label)
{
    size_t k = 0;
    for (size_t r = 0; r < j->n; r++) {
        if (j->role[r] == want) {
            memcpy(z + k * j->W, j->Z + r * j->W, j->W * sizeof(double));
            label[k++] = j->sm->label[r];
        }
    }
    return k;
}

/* Trains a meta-learner on j->Z by j->role; fills mf on success. */
static tm_status train_meta(tm_pipeline *p, meta_job *j, int max_rounds, tm_forest **out,
                            meta_fit *mf, tm_err *err)
{
    size_t n = j->n, W = j->W;
    double *zt = tm_malloc_n(n, W * sizeof(double)), *zv = tm_malloc_n(n, W * sizeof(double));
    double *lt = tm_malloc_n(n, sizeof(double)), *lv = tm_malloc_n(n, sizeof(double));
    tm_status st = TM_OK;
    if (!zt || !zv || !lt || !lv) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
        goto done;
    }
    tm_train_opts t;
    meta_train_opts(p, j->names, max_rounds, &t);
    tm__pipeline_progress(p, &t, "meta-learner");
    tm_train_data dt = {.n_features = W, .stride = W, .x = zt, .label = lt};
    tm_train_data dv = {.n_features = W, .stride = W, .x = zv, .label = lv};
    dt.n_rows = gather(j, TM__PIPELINE_TRAIN, zt, lt);
    dv.n_rows = gather(j, TM__PIPELINE_VALID, zv, lv);
    double hold = 0;
    for (size_t r = 0; r < dv.n_rows; r++) {
        hold += lv[r] == 1;
    }
    tm_train_metrics met;
    if ((st = tm_train_fit(&t, &dt, &dv, out, &met, err)) != TM_OK) {
        goto done;
    }
    mf->valid_accuracy = met.valid_accuracy;
    mf->valid_loss = met.valid_loss;
    mf->valid_loss_unweighted = met.valid_loss_unweighted;
    mf->valid_loss_deweighted = met.valid_loss_deweighted;
    mf->prior_loss = met.valid_prior_loss;
    mf->hold_baseline = dv.n_rows ? hold / (double)dv.n_rows : (double)NAN;
    mf->best_iteration = met.best_iteration;
    mf->n_train = dt.n_rows;
    mf->n_valid = dv.n_rows;
    memcpy(mf->recall, met.recall, sizeof mf->recall);
done:
    tm_free(zt);
    tm_free(zv);
    tm_free(lt);
    tm_free(lv);
    return st;
}

/* Fits a meta-learner by one validation method: meta features from the
 * in-sample or out-of-fold probabilities, split by time (latest
 * valid_fraction of the dates, embargo of the horizon) or at random. */
static tm_status fit_method(tm_pipeline *p, meta_job *j, bool in_sample, tm_pipeline_split split,
                            int max_rounds, tm_forest **out, meta_fit *mf, tm_err *err)
{
    const double *P = in_sample ? j->P_in : j->P_oof;
    for (size_t r = 0; r < j->n; r++) {
        tm_features_meta(P + r * 3 * j->M, j->M, j->Z + r * j->W);
    }
    mf->method = method_name(in_sample, split);
    if (split == TM_PIPELINE_SPLIT_RANDOM) {
        tm_status st = tm_train_split(j->n, p->o.valid_fraction, NULL, p->o.seed, j->role, err);
        if (st != TM_OK) {
            return st;
        }
    } else {
        size_t n_valid = (size_t)((double)j->dates.n_dates * p->o.valid_fraction);
        tm__pipeline_split_time(&j->dates, n_valid, (size_t)p->o.horizon, j->role);
    }
    return train_meta(p, j, max_rounds, out, mf, err);
}

/* True when the configured method is the honest one (out-of-fold, time). */
static bool honest(const tm_pipeline *p)
{
    return !p->o.in_sample && p->o.split == TM_PIPELINE_SPLIT_TIME;
}

/* Step "train_meta": the model we keep, by the configured method. */
static tm_status fit_kept(tm_pipeline *p, meta_job *j, tm_err *err)
{
    return fit_method(p, j, p->o.in_sample, p->o.split, META_ROUNDS, &j->kept, &j->kept_fit, err);
}

/* Step "decision_rule": the kept model's probabilities on its validation
 * rows (out of sample, the label horizon embargoed before them; in date
 * order) fit the rule: calibration on the first half of their dates,
 * thresholds for --target-precision on the second. */
static tm_status fit_rule(tm_pipeline *p, meta_job *j, tm_err *err)
{
    size_t n = 0, W = j->W;
    for (size_t r = 0; r < j->n; r++) {
        n += j->role[r] == TM__PIPELINE_VALID;
    }
    double *z = tm_malloc_n(n + 1, W * sizeof(double)), *q = tm_malloc_n(n + 1, 3 * sizeof(double));
    int *label = tm_malloc_n(n + 1, sizeof *label);
    int32_t *date = tm_malloc_n(n + 1, sizeof *date);
    tm_status st = TM_OK;
    if (!z || !q || !label || !date) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory for %zu validation rows", n);
    }
    for (size_t r = 0, k = 0; st == TM_OK && r < j->n; r++) {
        if (j->role[r] == TM__PIPELINE_VALID) {
            memcpy(z + k * W, j->Z + r * W, W * sizeof(double));
            label[k] = j->sm->label[r];
            date[k++] = j->sm->date[r];
        }
    }
    if (st == TM_OK && n > 0) {
        st = tm_forest_predict(j->kept, z, n, W, TM_FOREST_OUT_PROBABILITY, p->o.n_threads, q, err);
    }
    if (st == TM_OK) {
        st = tm__decide_fit(q, label, date, n, p->o.target_precision, &j->rule, err);
    }
    tm_free(z);
    tm_free(q);
    tm_free(label);
    tm_free(date);
    return st;
}

/* Step "promotion": the kept model against the active one (its roles
 * and meta features are still those of the kept fit), each deciding by
 * its own rule. */
static tm_status check_promotion(tm_pipeline *p, meta_job *j, tm_err *err)
{
    tm__promote_in in = {.as_of = j->as_of,
                         .sm = j->sm,
                         .role = j->role,
                         .Z = j->Z,
                         .W = j->W,
                         .cand = j->kept,
                         .rule = &j->rule,
                         .m = &j->m};
    return tm__promote_check(p, &in, &j->prom, err);
}

/* Step "train_compare": a model trained only to report its figure beside
 * the kept one: the original's method when the kept one is honest, else
 * the honest one. */
static tm_status fit_comparison(tm_pipeline *p, meta_job *j, tm_err *err)
{
    bool h = honest(p);
    tm_pipeline_split split = h ? TM_PIPELINE_SPLIT_RANDOM : TM_PIPELINE_SPLIT_TIME;
    return fit_method(p, j, h, split, COMPARE_ROUNDS, &j->other, &j->other_fit, err);
}

/* The registry metrics of the kept model; -1 and "" for the comparison
 * fields when there is none. */
static tm_status put_metrics(const tm_pipeline *p, meta_job *j, tm_err *err)
{
    const meta_fit *k = &j->kept_fit, *c = &j->other_fit;
    bool cmp = p->o.compare;
    tm_buf b = {0};
    tm_jw w;
    tm_jw_init(&w, &b, TM_JW_COMPACT, TM_JW_NONFINITE_NULL, false);
    tm_jw_object(&w);
    tm_jw_key(&w, "method");
    tm_jw_string(&w, k->method);
    tm_jw_key(&w, "valid_accuracy");
    tm_jw_fixed(&w, k->valid_accuracy, 6);
    tm_jw_key(&w, "hold_baseline");
    tm_jw_fixed(&w, k->hold_baseline, 6);
    tm_jw_key(&w, "valid_logloss");
    tm_jw_fixed(&w, k->valid_loss, 6);
    tm_jw_key(&w, "valid_logloss_unweighted");
    tm_jw_fixed(&w, k->valid_loss_unweighted, 6);
    tm_jw_key(&w, "valid_logloss_deweighted");
    tm_jw_fixed(&w, k->valid_loss_deweighted, 6);
    tm_jw_key(&w, "prior_logloss");
    tm_jw_fixed(&w, k->prior_loss, 6);
    tm_jw_key(&w, "under_1pct_over_prior");
    tm_jw_bool(&w, !(tm__pipeline_prior_gain(k->valid_loss_deweighted, k->prior_loss) >=
                     TM__PIPELINE_MIN_PRIOR_GAIN));
    tm_jw_key(&w, "recall");
    tm_jw_array(&w);
    for (int cls = 0; cls < 3; cls++) {
        tm_jw_fixed(&w, k->recall[cls], 4);
    }
    tm_jw_array_end(&w);
    tm_jw_key(&w, "best_iteration");
    tm_jw_int(&w, k->best_iteration);
    tm_jw_key(&w, "n_samples");
    tm_jw_int(&w, (int64_t)j->n);
    tm_jw_key(&w, "n_train");
    tm_jw_int(&w, (int64_t)k->n_train);
    tm_jw_key(&w, "n_valid");
    tm_jw_int(&w, (int64_t)k->n_valid);
    tm_jw_key(&w, "embargo_days");
    tm_jw_int(&w, p->o.horizon);
    tm_jw_key(&w, "labels");
    tm_jw_string(&w, tm__pipeline_labels_name(p->labels));
    tm_jw_key(&w, "compare_method");
    tm_jw_string(&w, cmp ? c->method : "");
    tm_jw_key(&w, "compare_valid_accuracy");
    tm_jw_fixed(&w, cmp ? c->valid_accuracy : -1.0, 6);
    tm_jw_key(&w, "compare_hold_baseline");
    tm_jw_fixed(&w, cmp ? c->hold_baseline : -1.0, 6);
    tm_jw_key(&w, "compare_best_iteration");
    tm_jw_int(&w, cmp ? c->best_iteration : -1);
    tm__promote_metrics(&j->prom, &w);
    tm_jw_object_end(&w);
    return tm__pipeline_metrics_set(&w, &j->row, err);
}

/* Step "save": writes meta_learner_v2/meta_vN.txt (N = meta models so far
 * + 1) atomically, registers it with its metrics and makes it the active
 * meta-learner when promoted, else registers it inactive and keeps the
 * active one's base models active; the caller's transaction commits all
 * of it. */
static tm_status save_and_activate(tm_pipeline *p, meta_job *j, tm_err *err)
{
    char dir[600];
    int64_t version = 0;
    snprintf(dir, sizeof dir, "%.500s/meta_learner_v2", p->models_dir);
    tm_status st = tm__pipeline_mkdirs(dir, err);
    if (st == TM_OK) {
        st = tm_store_model_next_version(p->store, "meta", &version, err);
    }
    if (st != TM_OK) {
        return st;
    }
    tm_store_model *row = &j->row;
    memset(row, 0, sizeof *row);
    snprintf(row->name, sizeof row->name, "meta_learner_v2");
    snprintf(row->kind, sizeof row->kind, "meta");
    snprintf(row->family, sizeof row->family, "lightgbm");
    snprintf(row->format, sizeof row->format, "%s",
             tm_forest_format_name(TM_FOREST_FORMAT_LIGHTGBM));
    snprintf(row->file, sizeof row->file, "meta_learner_v2/meta_v%lld.txt", (long long)version);
    tm__pipeline_model_path(p, row->file, j->path, sizeof j->path);
    tm__pipeline_now_iso(row->trained_at, sizeof row->trained_at);
    row->as_of = j->as_of;
    row->train_until = j->cutoff;
    row->generation = j->m.base_row[0].generation;
    row->active = j->prom.promoted;
    tm_buf rule = {0};
    if ((st = put_metrics(p, j, err)) == TM_OK &&
        (st = tm_forest_save(j->kept, TM_FOREST_FORMAT_LIGHTGBM, j->path, err)) == TM_OK &&
        (st = tm_store_model_insert(p->store, row, err)) == TM_OK &&
        (st = tm__decide_rule_json(&j->rule, &rule, err)) == TM_OK) {
        st = tm_store_rule_put(p->store, row->id, rule.p, err);
    }
    tm_buf_fini(&rule);
    if (st != TM_OK) {
        return st;
    }
    if (!row->active) {
        return tm__promote_keep(p, &j->prom, err);
    }
    return tm_store_model_activate(p->store, row->id, err);
}

/* The job's summary: what trained on what, both methods' figures. */
static void report(const tm_pipeline *p, const meta_job *j, tm_pipeline_report *rep)
{
    const meta_fit *k = &j->kept_fit, *c = &j->other_fit;
    tm__pipeline_say(rep,
                     "meta_retrain as of " TM__YMD_FMT ": %zu samples up to " TM__YMD_FMT
                     ", %zu base models (generation %lld), %zu meta features\n",
                     TM__YMD(j->as_of), j->n, TM__YMD(j->cutoff), j->M,
                     (long long)j->row.generation, j->W);
    tm__pipeline_say(rep, "  %-36s accuracy %.4f  (always-HOLD %.4f)  %zu train / %zu valid\n",
                     k->method, k->valid_accuracy, k->hold_baseline, k->n_train, k->n_valid);
    tm__pipeline_say(rep, "  %-36s ", "unweighted validation, tilt undone");
    tm__pipeline_say_prior(rep, k->valid_loss_deweighted, k->prior_loss);
    tm__pipeline_say(rep, "\n");
    if (p->o.compare) {
        tm__pipeline_say(rep,
                         "  %-36s accuracy %.4f  (always-HOLD %.4f)  %zu train / %zu valid, "
                         "best iteration %d\n",
                         c->method, c->valid_accuracy, c->hold_baseline, c->n_train, c->n_valid,
                         c->best_iteration);
    }
    tm__pipeline_say(rep,
                     "  recall SELL %.3f HOLD %.3f BUY %.3f, best iteration %d, "
                     "saved %s (%s)\n",
                     k->recall[0], k->recall[1], k->recall[2], k->best_iteration, j->path,
                     j->prom.promoted ? "active; previous kept for rollback"
                                      : "inactive; the active model stays");
    char line[1024];
    tm__decide_describe(&j->rule, line, sizeof line);
    tm__pipeline_say(rep, "%s", line);
    tm__promote_report(&j->prom, rep);
}

typedef tm_status (*meta_step)(tm_pipeline *p, meta_job *j, tm_err *err);

/* Runs one step and records its time in the report when it succeeds. */
static tm_status run_step(tm_pipeline *p, meta_job *j, tm_pipeline_report *rep, const char *name,
                          meta_step step, tm_err *err)
{
    double t0 = tm_now_seconds();
    tm__pipeline_log(p, "%s: %s", rep->job, name);
    tm_status st = step(p, j, err);
    if (st == TM_OK) {
        tm__pipeline_step(rep, name, tm_now_seconds() - t0);
        tm__pipeline_log(p, "%s: %s done (%.1fs)", rep->job, name, tm_now_seconds() - t0);
    }
    return st;
}

tm_status tm__pipeline_meta_core(tm_pipeline *p, int32_t as_of, tm_pipeline_report *rep,
                                 tm_err *err)
{
    meta_job j;
    memset(&j, 0, sizeof j);
    j.as_of = as_of;
    j.rep = rep;
    tm_status st = tm__pipeline_labels(p, false, &p->labels, err);
    st = st == TM_OK ? run_step(p, &j, rep, "load", load_inputs, err) : st;
    if (st == TM_OK) {
        st = run_step(p, &j, rep, "meta_predictions", regenerate_predictions, err);
    }
    if (st == TM_OK) {
        st = run_step(p, &j, rep, "train_meta", fit_kept, err);
    }
    if (st == TM_OK) {
        st = run_step(p, &j, rep, "decision_rule", fit_rule, err);
    }
    if (st == TM_OK) {
        st = run_step(p, &j, rep, "promotion", check_promotion, err);
    }
    if (st == TM_OK && p->o.compare) {
        st = run_step(p, &j, rep, "train_compare", fit_comparison, err);
    }
    if (st == TM_OK) {
        st = run_step(p, &j, rep, "save", save_and_activate, err);
    }
    if (st == TM_OK) {
        report(p, &j, rep);
    }
    meta_job_free(&j);
    return st;
}
