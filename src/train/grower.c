/* Scratch shared by every tree of a training run: the grower's buffers,
 * the histogram pool, the row partition (stable, parallel in chunks for
 * large leaves, undone by a merge when a split is refused) and row sums in
 * fixed order. */
#include <string.h>

#include "train/train_int.h"

tm_status tm__train_grower_init(tm__train_grower *gr, const tm__train_bins *b,
                                const uint8_t *row_major, const uint8_t *col_major, size_t n_rows,
                                const tm_train_opts *o, int n_threads, tm_err *err)
{
    memset(gr, 0, sizeof *gr);
    gr->bins = b;
    gr->src.bins = b;
    gr->src.row_major = row_major;
    gr->src.col_major = col_major;
    gr->src.n_rows = n_rows;
    gr->n_rows = n_rows;
    gr->p.lambda = o->lambda_l2;
    gr->p.min_data = o->min_data_in_leaf;
    gr->p.min_hess = o->min_sum_hessian_in_leaf;
    gr->p.min_gain = o->min_gain_to_split;
    gr->growth = o->growth;
    gr->num_leaves = o->num_leaves;
    gr->max_depth = o->max_depth;
    if (o->growth != TM_TRAIN_LEAFWISE && o->max_depth < 0) {
        gr->max_depth = 6;
    }
    gr->lr = o->learning_rate;
    gr->n_threads = n_threads;
    int64_t cap;
    if (o->growth == TM_TRAIN_OBLIVIOUS) {
        cap = (int64_t)1 << gr->max_depth;
    } else {
        int64_t by_rows = (int64_t)n_rows / (o->min_data_in_leaf > 0 ? o->min_data_in_leaf : 1) + 1;
        cap = gr->num_leaves > 0 ? gr->num_leaves
                                 : (int64_t)1 << (gr->max_depth < 30 ? gr->max_depth : 30);
        cap = cap < by_rows ? cap : by_rows;
    }
    gr->cap_leaves = (int32_t)(cap > 1 ? cap : 1);
    gr->part = tm_malloc_n(n_rows + 1, sizeof *gr->part);
    gr->tmp = tm_malloc_n(n_rows + 1, sizeof *gr->tmp);
    gr->scratch = tm_malloc_n((size_t)b->n_used + 1, sizeof *gr->scratch);
    gr->thread_best =
            tm_malloc_n(2 * (size_t)(n_threads > 0 ? n_threads : 1), sizeof *gr->thread_best);
    gr->leaves = tm_malloc_n((size_t)gr->cap_leaves, sizeof *gr->leaves);
    gr->leaf_value = tm_malloc_n((size_t)gr->cap_leaves, sizeof *gr->leaf_value);
    gr->pool = tm_calloc((size_t)gr->cap_leaves + 2, sizeof *gr->pool);
    gr->pool_free = tm_malloc_n((size_t)gr->cap_leaves + 2, sizeof *gr->pool_free);
    if (!gr->part || !gr->tmp || !gr->scratch || !gr->thread_best || !gr->leaves ||
        !gr->leaf_value || !gr->pool || !gr->pool_free) {
        tm__train_grower_fini(gr);
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    return TM_OK;
}

void tm__train_grower_fini(tm__train_grower *gr)
{
    for (int32_t i = 0; gr->pool && i < gr->n_pool; i++) {
        tm__train_hist_free(&gr->pool[i]);
    }
    tm_free(gr->pool);
    tm_free(gr->pool_free);
    tm_free(gr->part);
    tm_free(gr->tmp);
    tm_free(gr->scratch);
    tm_free(gr->thread_best);
    tm_free(gr->leaves);
    tm_free(gr->leaf_value);
    memset(gr, 0, sizeof *gr);
}

tm_status tm__train_pool_get(tm__train_grower *gr, int32_t *id, tm_err *err)
{
    if (gr->n_free > 0) {
        *id = gr->pool_free[--gr->n_free];
        return TM_OK;
    }
    if (gr->n_pool >= gr->cap_leaves + 2) {
        return TM_ERR(err, TM_E_INTERNAL, NULL, 0, NULL, "histogram pool exhausted");
    }
    tm_status st =
            tm__train_hist_alloc(&gr->pool[gr->n_pool], gr->bins->offset[gr->bins->n_used], err);
    if (st == TM_OK) {
        *id = gr->n_pool++;
    }
    return st;
}

void tm__train_pool_put(tm__train_grower *gr, int32_t id)
{
    if (id >= 0) {
        gr->pool_free[gr->n_free++] = id;
    }
}

bool tm__train_root_prebuilt(const tm__train_grower *gr, const int32_t *rows,
                             const uint8_t *feat_on, int32_t id)
{
    if (!gr->root_hist || rows || feat_on) {
        return false;
    }
    memcpy(gr->pool[id].gh, gr->root_hist->gh,
           (size_t)gr->bins->offset[gr->bins->n_used] * sizeof *gr->root_hist->gh);
    return true;
}

/* Rows per chunk of a parallel partition. */
#define PART_CHUNK 4096

int32_t tm__train_partition(tm__train_grower *gr, int32_t begin, int32_t end, int32_t feat_u,
                            int32_t bin, bool nan_left)
{
    int32_t nb = gr->bins->n_bins[feat_u];
    const uint8_t *col = gr->src.col_major + (size_t)feat_u * gr->n_rows;
    int32_t *part = gr->part, *tmp = gr->tmp;
    int32_t n = end - begin, n_chunks = (n + PART_CHUNK - 1) / PART_CHUNK;
    if (n_chunks <= 1 || gr->n_threads <= 1) {
        int32_t w = begin, k = 0;
        for (int32_t i = begin; i < end; i++) {
            int32_t r = part[i], v = col[r];
            if (v == nb ? nan_left : v <= bin) {
                part[w++] = r;
            } else {
                tmp[k++] = r;
            }
        }
        memcpy(part + w, tmp, (size_t)k * sizeof *part);
        return w;
    }
    /* chunk c's left rows go after those of chunks < c: stable */
    int32_t n_left[64], chunks = n_chunks < 64 ? n_chunks : 64;
    int32_t per = (n + chunks - 1) / chunks;
#pragma omp parallel for schedule(static) num_threads(gr->n_threads)
    for (int32_t c = 0; c < chunks; c++) {
        int32_t lo = begin + c * per, hi = lo + per < end ? lo + per : end, cnt = 0;
        for (int32_t i = lo; i < hi; i++) {
            int32_t v = col[part[i]];
            cnt += v == nb ? nan_left : v <= bin;
        }
        n_left[c] = cnt;
    }
    int32_t total = 0, left_at[64], right_at[64];
    for (int32_t c = 0; c < chunks; c++) {
        left_at[c] = total;
        total += n_left[c];
    }
    for (int32_t c = 0, r = total; c < chunks; c++) {
        right_at[c] = r;
        int32_t lo = c * per, hi = lo + per < n ? lo + per : n;
        r += (hi - lo) - n_left[c];
    }
#pragma omp parallel for schedule(static) num_threads(gr->n_threads)
    for (int32_t c = 0; c < chunks; c++) {
        int32_t lo = begin + c * per, hi = lo + per < end ? lo + per : end;
        int32_t *l = tmp + left_at[c], *rr = tmp + right_at[c];
        for (int32_t i = lo; i < hi; i++) {
            int32_t r = part[i], v = col[r];
            if (v == nb ? nan_left : v <= bin) {
                *l++ = r;
            } else {
                *rr++ = r;
            }
        }
    }
    memcpy(part + begin, tmp, (size_t)n * sizeof *part);
    return begin + total;
}

/* Undoes a partition: merges the two ascending halves back. */
void tm__train_unpartition(tm__train_grower *gr, int32_t begin, int32_t mid, int32_t end)
{
    int32_t *part = gr->part, *tmp = gr->tmp;
    int32_t i = begin, j = mid, k = 0;
    while (i < mid && j < end) {
        tmp[k++] = part[i] < part[j] ? part[i++] : part[j++];
    }
    while (i < mid) {
        tmp[k++] = part[i++];
    }
    while (j < end) {
        tmp[k++] = part[j++];
    }
    memcpy(part + begin, tmp, (size_t)k * sizeof *part);
}

void tm__train_sum_rows(const tm__train_grower *gr, int32_t begin, int32_t end,
                        const tm__train_gh *grad, double *g, double *h)
{
    double sg = 0.0, sh = 0.0;
    for (int32_t i = begin; i < end; i++) {
        sg += (double)grad[gr->part[i]].g;
        sh += (double)grad[gr->part[i]].h;
    }
    *g = sg;
    *h = sh;
}
