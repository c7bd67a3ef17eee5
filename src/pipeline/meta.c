/* The meta retrain: regenerate meta_predictions for every training sample
 * (batches of 5,000, out-of-fold and in-sample), compute the 55 meta
 * features, train the meta-learner (multiclass, balanced class weights,
 * early stopping 50), validate honestly (time split with an embargo of
 * the label horizon) and the original's way side by side, save the model
 * atomically and activate it. The previous model stays for rollback. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "pipeline_int.h"

/* The comparison model is trained with the same settings as the kept
 * one, so its figure is the one the original method would report; it
 * often runs far longer (in-sample features keep "improving" on a random
 * split: the leak). --no-compare skips it. */
#define COMPARE_ROUNDS 1000

typedef struct meta_fit {
    const char *method; /* "out-of-fold, time split" ... */
    double valid_accuracy;
    double hold_baseline; /* always-HOLD accuracy on the same validation rows */
    double valid_loss;
    double recall[3];
    int best_iteration;
    size_t n_train, n_valid;
} meta_fit;

/* role[r]: 0 train, 1 validate, 2 embargoed. Time: the latest
 * valid_fraction of dates validate, the horizon dates before them are
 * embargoed. Random: tm_train_split. */
static tm_status choose_split(const tm_pipeline *p, const tm_store_samples *sm,
                              tm_pipeline_split split, uint8_t *role, tm_err *err)
{
    size_t n = sm->n_rows;
    if (split == TM_PIPELINE_SPLIT_RANDOM) {
        return tm_train_split(n, p->o.valid_fraction, NULL, p->o.seed, role, err);
    }
    size_t n_dates = 0;
    for (size_t r = 0; r < n; r++) {
        n_dates += r == 0 || sm->date[r] != sm->date[r - 1];
    }
    size_t vstart = n_dates - (size_t)((double)n_dates * p->o.valid_fraction);
    size_t dp = 0;
    for (size_t r = 0; r < n; r++) {
        dp += r > 0 && sm->date[r] != sm->date[r - 1];
        role[r] = dp >= vstart ? 1 : dp + (size_t)p->o.horizon >= vstart ? 2 : 0;
    }
    return TM_OK;
}

/* Trains a meta-learner on meta features Z (n * W) with the split role. */
static tm_status train_meta(tm_pipeline *p, const tm_store_samples *sm, const double *Z, size_t W,
                            const uint8_t *role, const char *const *names, int max_rounds,
                            tm_forest **out, meta_fit *mf, tm_err *err)
{
    size_t n = sm->n_rows, nt = 0, nv = 0;
    double *zt = tm_malloc_n(n, W * sizeof(double)), *zv = tm_malloc_n(n, W * sizeof(double));
    double *lt = tm_malloc_n(n, sizeof(double)), *lv = tm_malloc_n(n, sizeof(double));
    tm_status st = TM_OK;
    if (!zt || !zv || !lt || !lv) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
        goto done;
    }
    double hold = 0;
    for (size_t r = 0; r < n; r++) {
        if (role[r] == 0) {
            memcpy(zt + nt * W, Z + r * W, W * sizeof(double));
            lt[nt++] = sm->label[r];
        } else if (role[r] == 1) {
            memcpy(zv + nv * W, Z + r * W, W * sizeof(double));
            lv[nv++] = sm->label[r];
            hold += sm->label[r] == 1;
        }
    }
    tm_train_opts t;
    tm_train_opts_init(&t);
    t.objective = TM_TRAIN_MULTICLASS;
    t.num_class = 3;
    t.growth = TM_TRAIN_LEAFWISE;
    t.num_leaves = 31;
    t.learning_rate = 0.05;
    t.max_rounds = (int)(max_rounds * p->o.rounds_scale + 0.5);
    t.max_rounds = t.max_rounds < 1 ? 1 : t.max_rounds;
    t.early_stopping = 50;
    t.class_weight = TM_TRAIN_CW_BALANCED;
    t.seed = p->o.seed;
    t.n_threads = p->o.n_threads;
    t.max_bin = 63;
    t.feature_names = names;
    tm_train_data dt, dv;
    memset(&dt, 0, sizeof dt);
    memset(&dv, 0, sizeof dv);
    dt.n_rows = nt;
    dv.n_rows = nv;
    dt.n_features = dv.n_features = W;
    dt.stride = dv.stride = W;
    dt.x = zt;
    dv.x = zv;
    dt.label = lt;
    dv.label = lv;
    tm_train_metrics met;
    st = tm_train_fit(&t, &dt, &dv, out, &met, err);
    if (st == TM_OK) {
        mf->valid_accuracy = met.valid_accuracy;
        mf->valid_loss = met.valid_loss;
        mf->hold_baseline = nv ? hold / (double)nv : (double)NAN;
        mf->best_iteration = met.best_iteration;
        mf->n_train = nt;
        mf->n_valid = nv;
        for (int c = 0; c < 3; c++) {
            mf->recall[c] = met.recall[c];
        }
    }
done:
    tm_free(zt);
    tm_free(zv);
    tm_free(lt);
    tm_free(lv);
    return st;
}

/* Meta features of every row from base probabilities P (n * 3M). */
static void meta_features(const double *P, size_t n, size_t M, double *Z)
{
    size_t W = tm_features_meta_count(M);
    for (size_t r = 0; r < n; r++) {
        tm_features_meta(P + r * 3 * M, M, Z + r * W);
    }
}

tm_status tm__pipeline_meta_core(tm_pipeline *p, int32_t as_of, tm_pipeline_report *rep,
                                 tm_err *err)
{
    tm__pipeline_models m;
    tm_store_samples *sm = NULL;
    double *P_oof = NULL, *P_in = NULL, *Z = NULL;
    float *buf = NULL;
    double *Xd = NULL;
    uint8_t *role = NULL;
    tm_forest *meta = NULL, *other = NULL;
    char names_buf[64][32];
    const char *names[64];
    int32_t cutoff = 0;
    double t0 = tm_now_seconds();
    tm_status st = tm__pipeline_models_load(p, &m, err);
    if (st != TM_OK) {
        return st;
    }
    size_t M = m.n_base, W = tm_features_meta_count(M), B = (size_t)p->o.batch_rows;
    if ((st = tm__pipeline_label_cutoff(p, as_of, &cutoff, err)) != TM_OK ||
        (st = tm_store_samples_load(p->store, cutoff ? cutoff : 19000101, &sm, err)) != TM_OK) {
        goto done;
    }
    size_t n = sm->n_rows, F = sm->n_features;
    if (n < 100) {
        st = TM_ERR(err, TM_E_INVALID, p->db_path, 0, "training_samples",
                    "expected at least 100 samples dated <= " TM__YMD_FMT ", found %zu",
                    TM__YMD(cutoff), n);
        goto done;
    }
    P_oof = tm_malloc_n(n, 3 * M * sizeof(double));
    P_in = tm_malloc_n(n, 3 * M * sizeof(double));
    Z = tm_malloc_n(n, W * sizeof(double));
    buf = tm_malloc_n(B, 6 * M * sizeof(float));
    Xd = tm_malloc_n(B, F * sizeof(double));
    role = tm_malloc(n);
    if (!P_oof || !P_in || !Z || !buf || !role || !Xd) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory for %zu samples", n);
        goto done;
    }
    tm__pipeline_step(rep, "load", tm_now_seconds() - t0);
    double t1 = tm_now_seconds();
    /* Regenerate meta_predictions in batches, all in the job's transaction. */
    if ((st = tm_store_meta_pred_clear(p->store, err)) != TM_OK) {
        goto done;
    }
    for (size_t a = 0; a < n && st == TM_OK; a += B) {
        size_t k = n - a < B ? n - a : B;
        for (size_t i = 0; i < k * F; i++) {
            Xd[i] = (double)sm->X[a * F + i];
        }
        st = tm__pipeline_base_probs(p, &m, Xd, k, F, P_in + a * 3 * M, err);
        if (st == TM_OK && m.n_folds > 0) {
            /* Out-of-fold: start from the in-sample values, replace the
             * rows of each held-out block. */
            memcpy(P_oof + a * 3 * M, P_in + a * 3 * M, k * 3 * M * sizeof(double));
            st = tm__pipeline_fold_probs(p, &m, Xd, k, F, sm->date + a, P_oof + a * 3 * M, err);
        } else if (st == TM_OK) {
            memcpy(P_oof + a * 3 * M, P_in + a * 3 * M, k * 3 * M * sizeof(double));
        }
        for (size_t i = 0; st == TM_OK && i < k * 3 * M; i++) {
            buf[i] = (float)P_oof[a * 3 * M + i];
            buf[k * 3 * M + i] = (float)P_in[a * 3 * M + i];
        }
        if (st == TM_OK) {
            st = tm_store_meta_preds_put(p->store, sm->id + a, k, buf, buf + k * 3 * M, 3 * M, err);
        }
        if (a == 0) {
            tm__pipeline_pause_point("meta_retrain");
        }
    }
    if (st != TM_OK) {
        goto done;
    }
    tm__pipeline_step(rep, "meta_predictions", tm_now_seconds() - t1);
    for (size_t i = 0; i < W && i < 64; i++) {
        names[i] = tm_features_meta_name(M, i, names_buf[i], sizeof names_buf[i]);
    }
    /* The configured method trains the model we keep; the other method is
     * trained only to report its figure beside it. */
    bool in_sample = p->o.in_sample;
    tm_pipeline_split split = p->o.split;
    meta_fit main_fit = {0}, cmp_fit = {0};
    double t2 = tm_now_seconds();
    meta_features(in_sample ? P_in : P_oof, n, M, Z);
    if ((st = choose_split(p, sm, split, role, err)) != TM_OK ||
        (st = train_meta(p, sm, Z, W, role, names, 1000, &meta, &main_fit, err)) != TM_OK) {
        goto done;
    }
    tm__pipeline_step(rep, "train_meta", tm_now_seconds() - t2);
    bool honest = !in_sample && split == TM_PIPELINE_SPLIT_TIME;
    if (p->o.compare) {
        double t3 = tm_now_seconds();
        bool c_in = honest;
        tm_pipeline_split c_split = honest ? TM_PIPELINE_SPLIT_RANDOM : TM_PIPELINE_SPLIT_TIME;
        meta_features(c_in ? P_in : P_oof, n, M, Z);
        if ((st = choose_split(p, sm, c_split, role, err)) != TM_OK ||
            (st = train_meta(p, sm, Z, W, role, names, COMPARE_ROUNDS, &other, &cmp_fit, err)) !=
                    TM_OK) {
            goto done;
        }
        tm__pipeline_step(rep, "train_compare", tm_now_seconds() - t3);
    }
    /* Save atomically, register, activate; the caller commits. */
    double t4 = tm_now_seconds();
    char dir[600];
    int64_t version = 0;
    snprintf(dir, sizeof dir, "%.500s/meta_learner_v2", p->models_dir);
    if ((st = tm__pipeline_mkdirs(dir, err)) != TM_OK ||
        (st = tm_store_query_int(p->store, "SELECT count(*) + 1 FROM models WHERE kind='meta'",
                                 &version, err)) != TM_OK) {
        goto done;
    }
    tm_store_model row;
    memset(&row, 0, sizeof row);
    snprintf(row.name, sizeof row.name, "meta_learner_v2");
    snprintf(row.kind, sizeof row.kind, "meta");
    snprintf(row.family, sizeof row.family, "lightgbm");
    snprintf(row.format, sizeof row.format, "%s", tm_forest_format_name(TM_FOREST_FORMAT_LIGHTGBM));
    snprintf(row.file, sizeof row.file, "meta_learner_v2/meta_v%lld.txt", (long long)version);
    char path[1200];
    tm__pipeline_model_path(p, row.file, path, sizeof path);
    tm__pipeline_now_iso(row.trained_at, sizeof row.trained_at);
    row.as_of = as_of;
    row.train_until = cutoff;
    row.generation = m.base_row[0].generation;
    row.active = true;
    const char *main_name = honest ? "out-of-fold, time split + embargo"
                            : in_sample && split == TM_PIPELINE_SPLIT_RANDOM
                                    ? "in-sample, random split (original)"
                            : in_sample ? "in-sample, time split + embargo"
                                        : "out-of-fold, random split";
    const char *cmp_name =
            honest ? "in-sample, random split (original)" : "out-of-fold, time split + embargo";
    snprintf(row.metrics, sizeof row.metrics,
             "{\"method\":\"%s\",\"valid_accuracy\":%.6f,\"hold_baseline\":%.6f,"
             "\"valid_logloss\":%.6f,\"recall\":[%.4f,%.4f,%.4f],\"best_iteration\":%d,"
             "\"n_samples\":%zu,\"n_train\":%zu,\"n_valid\":%zu,\"embargo_days\":%d,"
             "\"compare_method\":\"%s\",\"compare_valid_accuracy\":%.6f,"
             "\"compare_hold_baseline\":%.6f,\"compare_best_iteration\":%d}",
             main_name, main_fit.valid_accuracy, main_fit.hold_baseline, main_fit.valid_loss,
             main_fit.recall[0], main_fit.recall[1], main_fit.recall[2], main_fit.best_iteration, n,
             main_fit.n_train, main_fit.n_valid, p->o.horizon, p->o.compare ? cmp_name : "",
             p->o.compare ? cmp_fit.valid_accuracy : -1.0,
             p->o.compare ? cmp_fit.hold_baseline : -1.0,
             p->o.compare ? cmp_fit.best_iteration : -1);
    if ((st = tm_forest_save(meta, TM_FOREST_FORMAT_LIGHTGBM, path, err)) != TM_OK ||
        (st = tm_store_model_insert(p->store, &row, err)) != TM_OK ||
        (st = tm_store_model_activate(p->store, row.id, err)) != TM_OK) {
        goto done;
    }
    tm__pipeline_step(rep, "save", tm_now_seconds() - t4);
    tm__pipeline_say(rep,
                     "meta_retrain as of " TM__YMD_FMT ": %zu samples up to " TM__YMD_FMT
                     ", %zu base models "
                     "(generation %lld), %zu meta features\n",
                     TM__YMD(as_of), n, TM__YMD(cutoff), M, (long long)row.generation, W);
    tm__pipeline_say(rep, "  %-36s accuracy %.4f  (always-HOLD %.4f)  %zu train / %zu valid\n",
                     main_name, main_fit.valid_accuracy, main_fit.hold_baseline, main_fit.n_train,
                     main_fit.n_valid);
    if (p->o.compare) {
        tm__pipeline_say(rep,
                         "  %-36s accuracy %.4f  (always-HOLD %.4f)  %zu train / %zu valid, "
                         "best iteration %d\n",
                         cmp_name, cmp_fit.valid_accuracy, cmp_fit.hold_baseline, cmp_fit.n_train,
                         cmp_fit.n_valid, cmp_fit.best_iteration);
    }
    tm__pipeline_say(rep,
                     "  recall SELL %.3f HOLD %.3f BUY %.3f, best iteration %d, "
                     "saved %s (active; previous kept for rollback)\n",
                     main_fit.recall[0], main_fit.recall[1], main_fit.recall[2],
                     main_fit.best_iteration, path);
done:
    tm__pipeline_models_free(&m);
    tm_store_samples_free(sm);
    tm_free(P_oof);
    tm_free(P_in);
    tm_free(Z);
    tm_free(buf);
    tm_free(Xd);
    tm_free(role);
    tm_forest_free(meta);
    tm_forest_free(other);
    return st;
}
