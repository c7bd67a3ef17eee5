/* Tree growth for leaf-wise (best-first: the open leaf with the largest
 * gain is split next) and depth-wise (shallowest open leaf first) trees.
 * One parallel region per tree: thread t owns a fixed group of features
 * and, per split, builds the smaller child's histogram, subtracts it from
 * the parent's for the larger child and searches both children's splits
 * on its features; thread 0 picks leaves, partitions rows and merges the
 * per-thread bests in feature order between two barriers. A split whose
 * real child sizes break min_data_in_leaf (split search only estimates
 * them) is undone and refused, and the leaf looks again. */
#include <string.h>
#ifdef _OPENMP
#    include <omp.h>
#endif

#include "train/train_int.h"

/* The work of one parallel step. */
typedef struct step {
    bool done;
    tm__train_leaf *a, *b; /* a: its histogram is built; b: parent - a */
    const int32_t *rows;   /* a's rows (NULL: all) */
    size_t n;
    bool find_a, find_b; /* search splits of a / b */
    bool sub;            /* b's histogram = parent's - a's */
    bool built;          /* a's histogram is there already */
} step;

/* What thread 0 keeps between steps. */
typedef struct grow_state {
    tm__train_model *m;
    const uint8_t *feat_on;
    int32_t first, n_nodes, max_leaves;
    tm_status st;
    tm_err *err;
    step s;
} grow_state;

static bool can_split(const tm__train_grower *gr, const tm__train_leaf *lf)
{
    return (gr->max_depth < 0 || lf->depth < gr->max_depth) &&
           (int64_t)(lf->end - lf->begin) >= 2 * gr->p.min_data && lf->h >= 2.0 * gr->p.min_hess;
}

static void release(tm__train_grower *gr, tm__train_leaf *lf)
{
    tm__train_pool_put(gr, lf->hist);
    lf->hist = -1;
}

/* The next leaf to split, or -1. */
static int32_t pick(const tm__train_grower *gr)
{
    int32_t best = -1;
    for (int32_t l = 0; l < gr->n_leaves; l++) {
        const tm__train_leaf *lf = &gr->leaves[l];
        if (lf->best.feat_u < 0) {
            continue;
        }
        if (best < 0) {
            best = l;
        } else if (gr->growth == TM_TRAIN_LEAFWISE ? lf->best.gain > gr->leaves[best].best.gain
                                                   : lf->depth < gr->leaves[best].depth) {
            best = l;
        }
    }
    return best;
}

/* Merges the threads' bests (thread order is feature order). */
static void collect(tm__train_grower *gr, int n_threads, int which, tm__train_leaf *lf)
{
    tm__train_split *out = &lf->best;
    out->feat_u = -1;
    for (int t = 0; t < n_threads; t++) {
        const tm__train_split *s = &gr->thread_best[2 * t + which];
        if (s->feat_u >= 0 && (out->feat_u < 0 || s->gain > out->gain)) {
            *out = *s;
        }
    }
    if (out->feat_u < 0) {
        release(gr, lf);
    }
}

/* Splits leaf l by its best split into l and a new leaf; false when the
 * split was refused (too few rows on a side) and the leaf looked again. */
static bool apply_split(tm__train_grower *gr, grow_state *gs, int32_t l)
{
    tm__train_leaf *lf = &gr->leaves[l], *rt = &gr->leaves[gr->n_leaves];
    tm__train_split sp = lf->best;
    int32_t mid = tm__train_partition(gr, lf->begin, lf->end, sp.feat_u, sp.bin, sp.nan_left);
    if (mid - lf->begin < gr->p.min_data || lf->end - mid < gr->p.min_data) {
        tm__train_unpartition(gr, lf->begin, mid, lf->end);
        if (lf->n_excl == TM__TRAIN_MAX_EXCL) {
            lf->best.feat_u = -1;
            release(gr, lf);
        } else {
            lf->excl[lf->n_excl++] = sp;
            tm__train_split_find(gr->bins, &gr->pool[lf->hist], lf->g, lf->h,
                                 (int64_t)(lf->end - lf->begin), &gr->p, gs->feat_on, lf->excl,
                                 lf->n_excl, 1, gr->scratch, &lf->best);
            if (lf->best.feat_u < 0) {
                release(gr, lf);
            }
        }
        return false;
    }
    int32_t nd = gs->first + lf->node;
    gs->m->left[nd] = gs->n_nodes;
    gs->m->right[nd] = gs->n_nodes + 1;
    gs->m->feat_u[nd] = sp.feat_u;
    gs->m->bin[nd] = sp.bin;
    gs->m->nan_left[nd] = sp.nan_left;
    *rt = *lf;
    rt->begin = mid;
    rt->g = lf->g - sp.gl;
    rt->h = lf->h - sp.hl;
    rt->node = gs->n_nodes + 1;
    rt->depth = lf->depth + 1;
    lf->end = mid;
    lf->g = sp.gl;
    lf->h = sp.hl;
    lf->node = gs->n_nodes;
    lf->depth++;
    gs->n_nodes += 2;
    gr->n_leaves++;
    return true;
}

/* Sets up the parallel work for the children a and b of a split whose
 * parent histogram is parent; false when they need none. */
static bool plan_children(tm__train_grower *gr, grow_state *gs, tm__train_leaf *a,
                          tm__train_leaf *b, int32_t parent)
{
    bool room = gr->n_leaves < gs->max_leaves;
    bool sa = room && can_split(gr, a), sb = room && can_split(gr, b);
    a->hist = b->hist = -1;
    a->best.feat_u = b->best.feat_u = -1;
    a->n_excl = b->n_excl = 0;
    if (!sa && !sb) {
        tm__train_pool_put(gr, parent);
        return false;
    }
    if (a->end - a->begin > b->end - b->begin) { /* build the smaller one */
        tm__train_leaf *t = a;
        a = b;
        b = t;
        bool f = sa;
        sa = sb;
        sb = f;
    }
    gs->st = tm__train_pool_get(gr, &a->hist, gs->err);
    if (gs->st != TM_OK) {
        tm__train_pool_put(gr, parent);
        return false;
    }
    if (sb) {
        b->hist = parent;
    } else {
        tm__train_pool_put(gr, parent);
    }
    step *s = &gs->s;
    *s = (step){false, a, b, gr->part + a->begin, (size_t)(a->end - a->begin), sa, sb, sb, false};
    return true;
}

/* Thread 0 between barriers: merges the last step and plans the next. */
static void master(tm__train_grower *gr, grow_state *gs, int n_threads)
{
    step *s = &gs->s;
    if (s->a) {
        if (s->find_a) {
            collect(gr, n_threads, 0, s->a);
        } else {
            release(gr, s->a); /* built only to derive b's histogram */
        }
        if (s->find_b) {
            collect(gr, n_threads, 1, s->b);
        }
    }
    int32_t l;
    while (gs->st == TM_OK && gr->n_leaves < gs->max_leaves && (l = pick(gr)) >= 0) {
        int32_t parent = gr->leaves[l].hist;
        if (apply_split(gr, gs, l) &&
            plan_children(gr, gs, &gr->leaves[l], &gr->leaves[gr->n_leaves - 1], parent)) {
            return;
        }
    }
    s->done = true;
}

/* One thread's share of a step: features [f0, f1). */
static void work(tm__train_grower *gr, const grow_state *gs, int tid, int32_t f0, int32_t f1)
{
    const step *s = &gs->s;
    tm__train_hist *ha = &gr->pool[s->a->hist];
    if (!s->built) {
        tm__train_hist_build_range(&gr->src, s->rows, s->n, gs->feat_on, f0, f1, ha);
    }
    tm__train_split *tb = &gr->thread_best[2 * tid];
    tb[0].feat_u = tb[1].feat_u = -1;
    if (s->sub) {
        tm__train_hist_sub_range(gr->bins, &gr->pool[s->b->hist], ha, gs->feat_on, f0, f1);
    }
    if (s->find_a) {
        tm__train_split_find_range(gr->bins, ha, s->a->g, s->a->h,
                                   (int64_t)(s->a->end - s->a->begin), &gr->p, gs->feat_on, NULL, 0,
                                   f0, f1, &tb[0]);
    }
    if (s->find_b) {
        tm__train_split_find_range(gr->bins, &gr->pool[s->b->hist], s->b->g, s->b->h,
                                   (int64_t)(s->b->end - s->b->begin), &gr->p, gs->feat_on, NULL, 0,
                                   f0, f1, &tb[1]);
    }
}

/* Plans the root's step (its histogram and split search). */
static void plan_root(tm__train_grower *gr, grow_state *gs, const int32_t *rows, size_t n)
{
    tm__train_leaf *root = &gr->leaves[0];
    memset(root, 0, sizeof *root);
    root->end = (int32_t)n;
    root->hist = -1;
    root->best.feat_u = -1;
    tm__train_sum_rows(gr, 0, (int32_t)n, gr->src.grad, &root->g, &root->h);
    gr->n_leaves = 1;
    gs->s = (step){.done = true};
    if (gs->max_leaves < 2 || !can_split(gr, root)) {
        return;
    }
    gs->st = tm__train_pool_get(gr, &root->hist, gs->err);
    if (gs->st != TM_OK) {
        return;
    }
    bool built = tm__train_root_prebuilt(gr, rows, gs->feat_on, root->hist);
    gs->s = (step){false, root, NULL, rows, n, true, false, false, built};
}

static void set_leaf_values(tm__train_grower *gr, grow_state *gs)
{
    tm__train_model *m = gs->m;
    for (int32_t l = 0; l < gr->n_leaves; l++) {
        tm__train_leaf *lf = &gr->leaves[l];
        double den = lf->h + gr->p.lambda;
        double v = den > 0.0 ? -lf->g / den * gr->lr : 0.0;
        int32_t nd = gs->first + lf->node;
        m->left[nd] = m->right[nd] = -1;
        m->feat_u[nd] = -1;
        m->bin[nd] = 0;
        m->nan_left[nd] = 0;
        m->value[nd] = v;
        gr->leaf_value[l] = v;
    }
}

tm_status tm__train_grow(tm__train_grower *gr, const int32_t *rows, size_t n,
                         const tm__train_gh *grad, const uint8_t *feat_on, tm__train_model *m,
                         tm_err *err)
{
    grow_state gs = {m, feat_on, m->n_nodes, 1, gr->cap_leaves, TM_OK, err, {.done = true}};
    tm_status st = tm__train_model_reserve(m, 2 * gs.max_leaves - 1, 0, err);
    if (st != TM_OK) {
        return st;
    }
    for (size_t i = 0; i < n; i++) {
        gr->part[i] = rows ? rows[i] : (int32_t)i;
    }
    gr->src.grad = grad;
    gr->n_free = 0;
    for (int32_t i = 0; i < gr->n_pool; i++) {
        gr->pool_free[gr->n_free++] = gr->n_pool - 1 - i;
    }
    plan_root(gr, &gs, rows, n);
    int32_t nu = gr->bins->n_used;
#pragma omp parallel num_threads(gr->n_threads) if (!gs.s.done && n >= 256)
    {
        int tid = 0, nth = 1;
#ifdef _OPENMP
        tid = omp_get_thread_num();
        nth = omp_get_num_threads();
#endif
        int32_t f0 = (int32_t)((int64_t)nu * tid / nth);
        int32_t f1 = (int32_t)((int64_t)nu * (tid + 1) / nth);
        while (!gs.s.done) {
            work(gr, &gs, tid, f0, f1);
#pragma omp barrier
            if (tid == 0) {
                master(gr, &gs, nth);
            }
#pragma omp barrier
        }
    }
    if (gs.st != TM_OK) {
        return gs.st;
    }
    set_leaf_values(gr, &gs);
    m->tree_first[m->n_trees] = gs.first;
    m->tree_n[m->n_trees] = gs.n_nodes;
    m->tree_leaf_first[m->n_trees] = 0;
    m->n_trees++;
    m->n_nodes += gs.n_nodes;
    return TM_OK;
}
