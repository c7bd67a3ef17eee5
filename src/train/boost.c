/* The boosting loop: bins the data, then each round computes gradients,
 * grows one tree per output (rows and features optionally subsampled),
 * updates training and validation scores, and early-stops on the
 * validation loss; the model is cut at the best round and returned as a
 * forest. The trees of a round grow side by side, one per thread, and
 * the ones left over with all threads on one tree (few barriers, so busy
 * machines hurt less). Every step is deterministic and independent of the
 * thread count (fixed-order sums, per-feature histograms, seeded
 * splitmix64). */
#include <math.h>
#include <string.h>
#ifdef _OPENMP
#    include <omp.h>
#endif

#include "train/train_int.h"

void tm_train_opts_init(tm_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->objective = TM_TRAIN_MULTICLASS;
    o->growth = TM_TRAIN_LEAFWISE;
    o->num_leaves = 31;
    o->max_depth = -1;
    o->learning_rate = 0.05;
    o->max_rounds = 1000;
    o->early_stopping = 50;
    o->max_bin = 255;
    o->lambda_l2 = 1.0;
    o->min_data_in_leaf = 20;
    o->min_sum_hessian_in_leaf = 1e-3;
    o->row_subsample = 1.0;
    o->col_subsample = 1.0;
    o->seed = 1;
    o->bin_sample_rows = 200000;
    o->progress_every = 10;
}

const char *tm_train_objective_name(tm_train_objective o)
{
    static const char *names[] = {"multiclass", "binary", "regression"};
    return o >= TM_TRAIN_MULTICLASS && o <= TM_TRAIN_REGRESSION ? names[o] : "unknown";
}

const char *tm_train_growth_name(tm_train_growth g)
{
    static const char *names[] = {"leafwise", "depthwise", "oblivious"};
    return g >= TM_TRAIN_LEAFWISE && g <= TM_TRAIN_OBLIVIOUS ? names[g] : "unknown";
}

uint64_t tm__train_rand(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

void tm__train_es_init(tm__train_es *es, int patience)
{
    es->patience = patience;
    es->best_round = -1;
    es->best_loss = INFINITY;
}

bool tm__train_es_update(tm__train_es *es, int round, double loss)
{
    if (!isnan(loss) && (es->best_round < 0 || loss < es->best_loss)) {
        es->best_round = round;
        es->best_loss = loss;
    }
    return es->patience > 0 && es->best_round >= 0 && round - es->best_round >= es->patience;
}

/* Everything one run allocates. */
typedef struct run {
    tm__train_bins bins;
    uint8_t *bt, *bv; /* binned training / validation rows */
    uint8_t *bt_col;  /* binned training rows, column-major */
    double *wt, *wv;  /* effective row weights or NULL */
    double *st, *sv;  /* scores, class-major */
    double *st_best, *sv_best;
    tm__train_gh *grad;
    int32_t *bag;
    uint8_t *feat_on;
    tm__train_hist *root;   /* per output: the root's histogram */
    tm__train_gh *root_tmp; /* scratch of tm__train_hist_build_multi */
    int n_root;
    int n_par; /* trees grown side by side */
    tm__train_grower gr[TM__TRAIN_MAX_PAR];
    tm__train_model tmp[TM__TRAIN_MAX_PAR]; /* one tree each */
    tm__train_model m;
} run;

static void run_free(run *r)
{
    tm__train_bins_fini(&r->bins);
    void *arrays[] = {r->bt, r->bv,      r->bt_col,  r->wt,   r->wv,  r->st,
                      r->sv, r->st_best, r->sv_best, r->grad, r->bag, r->feat_on};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        tm_free(arrays[i]);
    }
    for (int i = 0; i < TM__TRAIN_MAX_PAR; i++) {
        tm__train_grower_fini(&r->gr[i]);
        tm__train_model_fini(&r->tmp[i]);
    }
    tm__train_model_fini(&r->m);
    for (int k = 0; r->root && k < r->n_root; k++) {
        tm__train_hist_free(&r->root[k]);
    }
    tm_free(r->root);
    tm_free(r->root_tmp);
}

/* Marks k of n items, by selection sampling (ascending, seeded). */
static void choose(uint64_t *rng, size_t n, size_t k, uint8_t *mask, int32_t *list)
{
    size_t got = 0;
    for (size_t i = 0; i < n; i++) {
        double u = (double)(tm__train_rand(rng) >> 11) * 0x1.0p-53;
        bool take = got < k && (double)(n - i) * u < (double)(k - got);
        if (mask) {
            mask[i] = take;
        }
        if (take && list) {
            list[got] = (int32_t)i;
        }
        got += take;
    }
}

/* Adds tree t of m to the n scores s of binned rows (row-major). */
static void add_tree(const tm__train_model *m, const tm__train_bins *b, int32_t t,
                     const uint8_t *binned, size_t n, double *s, int n_threads)
{
    size_t nu = (size_t)b->n_used;
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (size_t r = 0; r < n; r++) {
        s[r] += tm__train_model_eval(m, b, t, binned + r * nu);
    }
}

/* Adds the last tree's leaf values to the rows it was grown on. */
static void add_leaves(const tm__train_grower *gr, double *s, int n_threads)
{
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads)
    for (int32_t l = 0; l < gr->n_leaves; l++) {
        double v = gr->leaf_value[l];
        for (int32_t i = gr->leaves[l].begin; i < gr->leaves[l].end; i++) {
            s[gr->part[i]] += v;
        }
    }
}

/* col[u * n + r] = row[r * nu + u], in row blocks that stay in cache. */
static void transpose(const uint8_t *row, size_t n, size_t nu, uint8_t *col, int n_threads)
{
    size_t nb = (n + 255) / 256;
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (size_t b = 0; b < nb; b++) {
        size_t end = (b + 1) * 256 < n ? (b + 1) * 256 : n;
        for (size_t u = 0; u < nu; u++) {
            for (size_t r = b * 256; r < end; r++) {
                col[u * n + r] = row[r * nu + u];
            }
        }
    }
}

static tm_status alloc_run(run *r, const tm_train_opts *o, const tm_train_data *tr,
                           const tm_train_data *va, int n_out, int nt, tm_err *err)
{
    size_t n = tr->n_rows, nv = va ? va->n_rows : 0, no = (size_t)n_out;
    tm_status st =
            tm__train_bins_build(tr, o->max_bin, o->bin_sample_rows, o->seed, nt, &r->bins, err);
    if (st == TM_OK) {
        st = tm__train_bins_apply(&r->bins, tr, nt, &r->bt, err);
    }
    if (st == TM_OK && va) {
        st = tm__train_bins_apply(&r->bins, va, nt, &r->bv, err);
    }
    if (st != TM_OK) {
        return st;
    }
    size_t nu = (size_t)r->bins.n_used;
    r->bt_col = tm_malloc_n(n * nu + 1, 1);
    if (!r->bt_col) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    transpose(r->bt, n, nu, r->bt_col, nt);
    r->st = tm_malloc_n(n * no, sizeof *r->st);
    r->sv = tm_malloc_n(nv * no + 1, sizeof *r->sv);
    r->grad = tm_malloc_n(n * no, sizeof *r->grad);
    r->bag = tm_malloc_n(n, sizeof *r->bag);
    r->feat_on = tm_malloc_n(((size_t)r->bins.n_used + 1) * no, 1);
    bool es = va && o->early_stopping > 0;
    if (es) {
        r->st_best = tm_malloc_n(n * no, sizeof *r->st_best);
        r->sv_best = tm_malloc_n(nv * no, sizeof *r->sv_best);
    }
    if (!r->st || !r->sv || !r->grad || !r->bag || !r->feat_on ||
        (es && (!r->st_best || !r->sv_best))) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    if (n_out >= 2) { /* all outputs' roots in one pass, see one_round */
        int32_t slots = r->bins.offset[r->bins.n_used];
        r->root = tm_calloc(no, sizeof *r->root);
        r->root_tmp = tm_malloc_n((size_t)(slots > 0 ? slots : 1) * no, sizeof *r->root_tmp);
        if (!r->root || !r->root_tmp) {
            return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
        }
        for (; r->n_root < n_out; r->n_root++) {
            if ((st = tm__train_hist_alloc(&r->root[r->n_root], slots, err)) != TM_OK) {
                return st;
            }
        }
    }
    r->m.oblivious = o->growth == TM_TRAIN_OBLIVIOUS;
    r->n_par = nt < n_out ? nt : n_out;
    r->n_par = r->n_par < TM__TRAIN_MAX_PAR ? r->n_par : TM__TRAIN_MAX_PAR;
    r->n_par = r->n_par < 1 ? 1 : r->n_par;
    st = TM_OK;
    for (int i = 0; i < r->n_par && st == TM_OK; i++) {
        r->tmp[i].oblivious = r->m.oblivious;
        st = tm__train_grower_init(&r->gr[i], &r->bins, r->bt, r->bt_col, n, o, nt, err);
    }
    return st;
}

/* Grows the tree of output k with grower i on n_threads threads into
 * r->tmp[i] and adds it to the training scores. */
static tm_status grow_one(run *r, int i, int k, const int32_t *rows, size_t n_bag, size_t n,
                          const uint8_t *fo, int n_threads, tm_err *err)
{
    tm__train_grower *gr = &r->gr[i];
    const tm__train_gh *g = r->grad + (size_t)k * n;
    gr->n_threads = n_threads;
    gr->root_hist = r->root && !rows && !fo ? &r->root[k] : NULL;
    tm__train_model_clear(&r->tmp[i]);
    tm_status st = r->m.oblivious
                           ? tm__train_grow_oblivious(gr, rows, n_bag, g, fo, &r->tmp[i], err)
                           : tm__train_grow(gr, rows, n_bag, g, fo, &r->tmp[i], err);
    if (st != TM_OK) {
        return st;
    }
    if (rows) {
        add_tree(&r->tmp[i], &r->bins, 0, r->bt, n, r->st + (size_t)k * n, n_threads);
    } else {
        add_leaves(gr, r->st + (size_t)k * n, n_threads);
    }
    return TM_OK;
}

/* One round: K trees on the gradients of the current scores. */
static tm_status one_round(run *r, const tm_train_opts *o, const tm_train_data *tr,
                           const tm_train_data *va, int n_out, int nt, uint64_t *rng, tm_err *err)
{
    size_t n = tr->n_rows, nv = va ? va->n_rows : 0, nu = (size_t)r->bins.n_used;
    tm__train_gradients(o->objective, n_out, r->st, tr->label, r->wt, n, nt, r->grad);
    const int32_t *rows = NULL;
    size_t n_bag = n;
    if (o->row_subsample < 1.0) {
        n_bag = (size_t)llround((double)n * o->row_subsample);
        n_bag = n_bag < 1 ? 1 : n_bag;
        choose(rng, n, n_bag, NULL, r->bag);
        rows = r->bag;
    }
    bool sub_cols = o->col_subsample < 1.0 && nu > 0;
    for (int k = 0; sub_cols && k < n_out; k++) {
        size_t kf = (size_t)llround((double)nu * o->col_subsample);
        choose(rng, nu, kf < 1 ? 1 : kf, r->feat_on + (size_t)k * nu, NULL);
    }
    if (r->root && !rows && !sub_cols) {
        const tm__train_gh *g[TM_TRAIN_MAX_CLASSES];
        for (int c = 0; c < n_out; c++) {
            g[c] = r->grad + (size_t)c * n;
        }
        tm__train_hist_src src = r->gr[0].src;
        tm__train_hist_build_multi(&src, g, n_out, n, nt, r->root_tmp, r->root);
    }
    tm_status st = TM_OK;
    int k = 0;
    while (r->n_par >= 2 && n_out - k >= r->n_par) {
        tm_status sts[TM__TRAIN_MAX_PAR];
        tm_err errs[TM__TRAIN_MAX_PAR];
#pragma omp parallel for schedule(static, 1) num_threads(r->n_par)
        for (int i = 0; i < r->n_par; i++) {
            tm_err_init(&errs[i]);
            const uint8_t *fo = sub_cols ? r->feat_on + (size_t)(k + i) * nu : NULL;
            sts[i] = grow_one(r, i, k + i, rows, n_bag, n, fo, 1, &errs[i]);
        }
        for (int i = 0; i < r->n_par && st == TM_OK; i++) {
            if (sts[i] != TM_OK) { /* the lowest failing tree reports */
                st = sts[i];
                if (err && err->status == TM_OK) {
                    *err = errs[i];
                }
            }
        }
        for (int i = 0; i < r->n_par && st == TM_OK; i++) {
            st = tm__train_model_append(&r->m, &r->tmp[i], 0, err);
        }
        if (st != TM_OK) {
            return st;
        }
        k += r->n_par;
    }
    for (; k < n_out && st == TM_OK; k++) {
        const uint8_t *fo = sub_cols ? r->feat_on + (size_t)k * nu : NULL;
        st = grow_one(r, 0, k, rows, n_bag, n, fo, nt, err);
        if (st == TM_OK) {
            st = tm__train_model_append(&r->m, &r->tmp[0], 0, err);
        }
    }
    for (int j = 0; st == TM_OK && va && j < n_out; j++) {
        int32_t t = r->m.n_trees - n_out + j;
        add_tree(&r->m, &r->bins, t, r->bv, nv, r->sv + (size_t)j * nv, nt);
    }
    return st;
}

static void init_scores(double *s, size_t n, int n_out, const double *base)
{
    for (int k = 0; k < n_out; k++) {
        for (size_t i = 0; i < n; i++) {
            s[(size_t)k * n + i] = base[k];
        }
    }
}

tm_status tm_train_fit(const tm_train_opts *opts, const tm_train_data *train,
                       const tm_train_data *valid, tm_forest **out, tm_train_metrics *metrics,
                       tm_err *err)
{
    double t0 = tm_now_seconds();
    tm_train_opts defaults;
    run r;
    memset(&r, 0, sizeof r);
    *out = NULL;
    if (!opts) {
        tm_train_opts_init(&defaults);
        opts = &defaults;
    }
    if (!train) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, NULL, "no training set");
    }
    int k = 0;
    tm_status st = tm__train_check_opts(opts, err);
    if (st == TM_OK) {
        st = tm__train_check_data(opts, train, valid, &k, err);
    }
    if (st != TM_OK) {
        return st;
    }
    int nt = opts->n_threads;
#ifdef _OPENMP
    nt = nt > 0 ? nt : omp_get_max_threads();
#else
    nt = 1;
#endif
    int n_out = opts->objective == TM_TRAIN_MULTICLASS ? k : 1;
    size_t n = train->n_rows, nv = valid ? valid->n_rows : 0;
    double cw[TM_TRAIN_MAX_CLASSES], base[TM_TRAIN_MAX_CLASSES];
    tm__train_class_weights(opts, train, k, cw);
    double undo[TM_TRAIN_MAX_CLASSES];
    tm__train_prior_shift(opts->objective, n_out, cw, undo);
    st = tm__train_row_weights(opts, train, cw, &r.wt, err);
    if (st == TM_OK && valid) {
        st = tm__train_row_weights(opts, valid, cw, &r.wv, err);
    }
    if (st == TM_OK) {
        st = alloc_run(&r, opts, train, valid, n_out, nt, err);
    }
    if (st != TM_OK) {
        goto done;
    }
    tm__train_init_score(opts->objective, n_out, train->label, r.wt, n, base);
    init_scores(r.st, n, n_out, base);
    init_scores(r.sv, nv, n_out, base);
    tm__train_es es;
    tm__train_es_init(&es, valid ? opts->early_stopping : 0);
    uint64_t rng = opts->seed;
    int round = 0;
    bool stop = false;
    while (!stop && round < opts->max_rounds) {
        st = one_round(&r, opts, train, valid, n_out, nt, &rng, err);
        if (st != TM_OK) {
            goto done;
        }
        double vloss = NAN;
        if (valid) {
            /* Unweighted: the class weights' tilt undone too, or the
             * loss would grow with every round that fits the weights. */
            vloss = opts->early_stopping_unweighted
                            ? tm__train_loss_shifted(opts->objective, n_out, r.sv, valid->label,
                                                     NULL, undo, nv, nt)
                            : tm__train_loss(opts->objective, n_out, r.sv, valid->label, r.wv, nv,
                                             nt);
            stop = tm__train_es_update(&es, round, vloss);
            if (r.st_best && es.best_round == round) {
                memcpy(r.st_best, r.st, n * (size_t)n_out * sizeof *r.st);
                memcpy(r.sv_best, r.sv, nv * (size_t)n_out * sizeof *r.sv);
            }
        }
        round++;
        bool last = stop || round == opts->max_rounds;
        int every = opts->progress_every > 0 ? opts->progress_every : 10;
        if (opts->progress && (round % every == 0 || last)) {
            tm_train_progress p = {round, opts->max_rounds, 0.0,
                                   vloss, es.best_round,    tm_now_seconds() - t0};
            p.train_loss = tm__train_loss(opts->objective, n_out, r.st, train->label, r.wt, n, nt);
            opts->progress(opts->progress_ctx, &p);
        }
    }
    bool use_best = r.st_best && es.best_round >= 0;
    int best = use_best ? es.best_round : round - 1;
    int32_t n_trees = (int32_t)(best + 1) * n_out;
    st = tm__train_model_to_forest(&r.m, &r.bins, n_trees, n_out, base, opts, k, out, err);
    if (st != TM_OK || !metrics) {
        goto done;
    }
    memset(metrics, 0, sizeof *metrics);
    metrics->objective = opts->objective;
    metrics->n_classes = k;
    metrics->rounds = round;
    metrics->best_iteration = best;
    metrics->n_trees = n_trees;
    metrics->has_valid = valid != NULL;
    metrics->n_train = n;
    metrics->n_valid = nv;
    metrics->n_features_used = r.bins.n_used;
    for (int c = 0; c < TM_TRAIN_MAX_CLASSES; c++) {
        metrics->class_weights[c] = c < k ? cw[c] : 0.0;
    }
    tm__train_metrics_fill(metrics, opts->objective, n_out, use_best ? r.st_best : r.st,
                           train->label, r.wt, n, nt, false);
    metrics->valid_prior_loss = metrics->valid_loss_deweighted = NAN;
    if (valid) {
        const double *sv = use_best ? r.sv_best : r.sv;
        tm__train_metrics_fill(metrics, opts->objective, n_out, sv, valid->label, r.wv, nv, nt,
                               true);
        metrics->valid_loss_deweighted = tm__train_loss_shifted(opts->objective, n_out, sv,
                                                                valid->label, NULL, undo, nv, nt);
        /* The validation scores are spent: r.sv now holds the prior's. */
        double prior[TM_TRAIN_MAX_CLASSES];
        tm__train_init_score(opts->objective, n_out, train->label, NULL, n, prior);
        init_scores(r.sv, nv, n_out, prior);
        metrics->valid_prior_loss =
                tm__train_loss(opts->objective, n_out, r.sv, valid->label, NULL, nv, nt);
    }
    metrics->seconds = tm_now_seconds() - t0;
done:
    run_free(&r);
    return st;
}
