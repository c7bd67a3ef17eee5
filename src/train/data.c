/* Checks of training options and data before any work (every bad label,
 * weight or option gets a one-line message naming the row or option),
 * class weights, and the choice of validation rows (random, or the latest
 * time stamps). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_int.h"

#define OPT_ERR(err, field, ...) TM_ERR(err, TM_E_INVALID, NULL, 0, field, __VA_ARGS__)

tm_status tm__train_check_opts(const tm_train_opts *o, tm_err *err)
{
    if (o->objective < TM_TRAIN_MULTICLASS || o->objective > TM_TRAIN_REGRESSION) {
        return OPT_ERR(err, "objective", "expected multiclass, binary or regression");
    }
    if (o->growth < TM_TRAIN_LEAFWISE || o->growth > TM_TRAIN_OBLIVIOUS) {
        return OPT_ERR(err, "growth", "expected leafwise, depthwise or oblivious");
    }
    if (o->growth == TM_TRAIN_LEAFWISE ? o->num_leaves < 2
                                       : o->num_leaves == 1 || o->num_leaves < 0) {
        return OPT_ERR(err, "num_leaves", "expected an integer >= 2%s, found %d",
                       o->growth == TM_TRAIN_LEAFWISE ? "" : " or 0", o->num_leaves);
    }
    int max_d = o->growth == TM_TRAIN_OBLIVIOUS ? 12 : 30;
    if (o->max_depth == 0 || o->max_depth < -1 || o->max_depth > max_d) {
        return OPT_ERR(err, "max_depth", "expected -1 or 1..%d, found %d", max_d, o->max_depth);
    }
    if (!(o->learning_rate > 0.0) || !isfinite(o->learning_rate)) {
        return OPT_ERR(err, "learning_rate", "expected a number > 0, found %g", o->learning_rate);
    }
    if (o->max_rounds < 1) {
        return OPT_ERR(err, "max_rounds", "expected an integer >= 1, found %d", o->max_rounds);
    }
    if (o->early_stopping < 0) {
        return OPT_ERR(err, "early_stopping", "expected an integer >= 0, found %d",
                       o->early_stopping);
    }
    if (o->max_bin < 2 || o->max_bin > 255) {
        return OPT_ERR(err, "max_bin", "expected 2..255, found %d", o->max_bin);
    }
    if (!(o->lambda_l2 >= 0.0) || !isfinite(o->lambda_l2)) {
        return OPT_ERR(err, "lambda_l2", "expected a number >= 0, found %g", o->lambda_l2);
    }
    if (o->min_data_in_leaf < 1) {
        return OPT_ERR(err, "min_data_in_leaf", "expected an integer >= 1, found %d",
                       o->min_data_in_leaf);
    }
    if (!(o->min_sum_hessian_in_leaf >= 0.0) || !(o->min_gain_to_split >= 0.0)) {
        return OPT_ERR(err, "min_sum_hessian_in_leaf",
                       "expected numbers >= 0 (and for "
                       "min_gain_to_split), found %g",
                       o->min_sum_hessian_in_leaf);
    }
    if (!(o->row_subsample > 0.0 && o->row_subsample <= 1.0)) {
        return OPT_ERR(err, "row_subsample", "expected (0, 1], found %g", o->row_subsample);
    }
    if (!(o->col_subsample > 0.0 && o->col_subsample <= 1.0)) {
        return OPT_ERR(err, "col_subsample", "expected (0, 1], found %g", o->col_subsample);
    }
    if (o->num_class < 0 || o->num_class > TM_TRAIN_MAX_CLASSES) {
        return OPT_ERR(err, "num_class", "expected 0..%d, found %d", TM_TRAIN_MAX_CLASSES,
                       o->num_class);
    }
    if (o->class_weight != TM_TRAIN_CW_NONE && o->objective == TM_TRAIN_REGRESSION) {
        return OPT_ERR(err, "class_weight", "expected no class weights for regression");
    }
    return TM_OK;
}

/* Records a bad value of row r in d; reason follows "expected ...". */
static tm_status row_err(const tm_train_data *d, const char *field, size_t r, const char *what,
                         double found, tm_err *err)
{
    const char *name = d->name ? d->name : NULL;
    if (d->line) {
        return TM_ERR(err, TM_E_INVALID, name, d->line[r], field, "expected %s, found %g", what,
                      found);
    }
    return TM_ERR(err, TM_E_INVALID, name, 0, field, "row %zu: expected %s, found %g", r + 1, what,
                  found);
}

static tm_status check_shape(const tm_train_data *d, const char *what, tm_err *err)
{
    if (!d->label || (!d->x == !d->x_f32)) {
        return TM_ERR(err, TM_E_INVALID, d->name, 0, NULL,
                      "%s set: expected features (x or x_f32) and labels", what);
    }
    if (d->n_rows == 0 || d->n_rows > INT32_MAX) {
        return TM_ERR(err, TM_E_INVALID, d->name, 0, NULL, "%s set: expected 1..%d rows, found %zu",
                      what, INT32_MAX, d->n_rows);
    }
    if (d->n_features == 0 || d->n_features > INT32_MAX || d->stride < d->n_features) {
        return TM_ERR(err, TM_E_INVALID, d->name, 0, NULL,
                      "%s set: expected at least one feature and stride >= features", what);
    }
    return TM_OK;
}

/* Zero weights are allowed row by row, but a class (or, for regression,
 * the whole set) whose rows all weigh 0 would give a 0/0 loss and trees
 * that learn nothing: each class present needs a positive weight sum.
 * Labels are valid class ids (k > 0) when this runs. */
static tm_status check_weight_sums(const tm_train_data *d, int k, tm_err *err)
{
    if (!d->weight) {
        return TM_OK;
    }
    double sum[TM_TRAIN_MAX_CLASSES] = {0};
    size_t cnt[TM_TRAIN_MAX_CLASSES] = {0};
    for (size_t r = 0; r < d->n_rows; r++) {
        int c = k > 0 ? (int)d->label[r] : 0;
        sum[c] += d->weight[r];
        cnt[c]++;
    }
    for (int c = 0; c < (k > 0 ? k : 1); c++) {
        if (cnt[c] > 0 && !(sum[c] > 0.0)) {
            if (k == 0) {
                return TM_ERR(err, TM_E_INVALID, d->name, 0, "weight",
                              "expected a positive sum of weights, found 0 over %zu rows",
                              cnt[c]);
            }
            return TM_ERR(err, TM_E_INVALID, d->name, 0, "weight",
                          "expected a positive sum of weights for class %d, found 0 over its "
                          "%zu rows",
                          c, cnt[c]);
        }
    }
    return TM_OK;
}

/* Checks labels (and weights) of d against objective and k classes. */
static tm_status check_labels(const tm_train_opts *o, const tm_train_data *d, int k, tm_err *err)
{
    const char *lf = d->label_name ? d->label_name : "label";
    char what[64];
    if (o->objective == TM_TRAIN_MULTICLASS) {
        snprintf(what, sizeof what, "a class id 0..%d", k - 1);
    } else {
        snprintf(what, sizeof what, o->objective == TM_TRAIN_BINARY ? "0 or 1" : "a finite number");
    }
    for (size_t r = 0; r < d->n_rows; r++) {
        double y = d->label[r];
        bool ok = isfinite(y);
        if (ok && o->objective != TM_TRAIN_REGRESSION) {
            ok = y >= 0.0 && y < (double)k && y == floor(y);
        }
        if (!ok) {
            return row_err(d, lf, r, what, y, err);
        }
        if (d->weight && !(d->weight[r] >= 0.0 && isfinite(d->weight[r]))) {
            return row_err(d, "weight", r, "a finite weight >= 0", d->weight[r], err);
        }
    }
    return check_weight_sums(d, k, err);
}

tm_status tm__train_check_data(const tm_train_opts *o, const tm_train_data *tr,
                               const tm_train_data *va, int *n_classes, tm_err *err)
{
    tm_status st = check_shape(tr, "training", err);
    if (st == TM_OK && va) {
        st = check_shape(va, "validation", err);
        if (st == TM_OK && va->n_features != tr->n_features) {
            st = TM_ERR(err, TM_E_INVALID, va->name, 0, NULL,
                        "validation set: expected %zu features, found %zu", tr->n_features,
                        va->n_features);
        }
    }
    if (st != TM_OK) {
        return st;
    }
    int k = o->objective == TM_TRAIN_BINARY
                    ? 2
                    : (o->objective == TM_TRAIN_REGRESSION ? 0 : o->num_class);
    const char *lf = tr->label_name ? tr->label_name : "label";
    if (o->objective == TM_TRAIN_MULTICLASS && k == 0) {
        double mx = 0.0; /* K from the labels: max + 1, once they are valid ids */
        for (size_t r = 0; r < tr->n_rows; r++) {
            double y = tr->label[r];
            if (!isfinite(y) || y < 0.0 || y != floor(y) || y >= TM_TRAIN_MAX_CLASSES) {
                char what[64];
                snprintf(what, sizeof what, "a class id (an integer 0..%d)",
                         TM_TRAIN_MAX_CLASSES - 1);
                return row_err(tr, lf, r, what, y, err);
            }
            mx = y > mx ? y : mx;
        }
        k = (int)mx + 1;
    }
    if (o->objective == TM_TRAIN_MULTICLASS && k < 3) {
        return TM_ERR(err, TM_E_INVALID, tr->name, 0, lf,
                      "expected at least 3 classes for multiclass (use binary), found %d", k);
    }
    st = check_labels(o, tr, k, err);
    if (st == TM_OK && va) {
        st = check_labels(o, va, k, err);
    }
    if (st != TM_OK) {
        return st;
    }
    if (k > 0) {
        size_t cnt[TM_TRAIN_MAX_CLASSES] = {0};
        for (size_t r = 0; r < tr->n_rows; r++) {
            cnt[(int)tr->label[r]]++;
        }
        for (int c = 0; c < k; c++) {
            if (cnt[c] == 0) {
                return TM_ERR(err, TM_E_INVALID, tr->name, 0, lf,
                              "expected training rows of every class 0..%d, found none of class %d",
                              k - 1, c);
            }
        }
    }
    if (o->class_weight == TM_TRAIN_CW_EXPLICIT) {
        if (o->n_class_weights != k) {
            return OPT_ERR(err, "class_weight", "expected %d class weights, found %d", k,
                           o->n_class_weights);
        }
        for (int c = 0; c < k; c++) {
            if (!(o->class_weights[c] > 0.0) || !isfinite(o->class_weights[c])) {
                return OPT_ERR(err, "class_weight", "expected weights > 0, found %g for class %d",
                               o->class_weights[c], c);
            }
        }
    }
    *n_classes = k;
    return TM_OK;
}

void tm__train_class_weights(const tm_train_opts *o, const tm_train_data *tr, int k, double *cw)
{
    for (int c = 0; c < TM_TRAIN_MAX_CLASSES; c++) {
        cw[c] = 1.0;
    }
    if (o->class_weight == TM_TRAIN_CW_EXPLICIT) {
        for (int c = 0; c < k; c++) {
            cw[c] = o->class_weights[c];
        }
    } else if (o->class_weight == TM_TRAIN_CW_BALANCED) {
        size_t cnt[TM_TRAIN_MAX_CLASSES] = {0};
        for (size_t r = 0; r < tr->n_rows; r++) {
            cnt[(int)tr->label[r]]++;
        }
        for (int c = 0; c < k; c++) {
            cw[c] = (double)tr->n_rows / ((double)k * (double)cnt[c]);
        }
    }
}

tm_status tm__train_row_weights(const tm_train_opts *o, const tm_train_data *d, const double *cw,
                                double **out, tm_err *err)
{
    *out = NULL;
    if (!d->weight && o->class_weight == TM_TRAIN_CW_NONE) {
        return TM_OK;
    }
    double *w = tm_malloc_n(d->n_rows, sizeof *w);
    if (!w) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    bool by_class = o->class_weight != TM_TRAIN_CW_NONE;
    for (size_t r = 0; r < d->n_rows; r++) {
        w[r] = (d->weight ? d->weight[r] : 1.0) * (by_class ? cw[(int)d->label[r]] : 1.0);
    }
    *out = w;
    return TM_OK;
}

typedef struct time_row {
    double t;
    size_t r;
} time_row;

static int cmp_time(const void *pa, const void *pb)
{
    const time_row *a = pa, *b = pb;
    if (a->t != b->t) {
        return a->t < b->t ? -1 : 1;
    }
    return (a->r > b->r) - (a->r < b->r);
}

tm_status tm_train_split(size_t n, double fraction, const double *time, uint64_t seed,
                         uint8_t *is_valid, tm_err *err)
{
    if (!(fraction > 0.0 && fraction < 1.0)) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, "valid_fraction",
                      "expected a fraction in (0, 1), found %g", fraction);
    }
    size_t k = (size_t)llround((double)n * fraction);
    if (k == 0 || k >= n) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, "valid_fraction",
                      "expected both sides non-empty, found %zu of %zu rows for validation", k, n);
    }
    memset(is_valid, 0, n);
    if (!time) {
        uint64_t st = seed ^ 0x9e3779b97f4a7c15u;
        size_t got = 0;
        for (size_t r = 0; r < n && got < k; r++) {
            double u = (double)(tm__train_rand(&st) >> 11) * 0x1.0p-53;
            if ((double)(n - r) * u < (double)(k - got)) {
                is_valid[r] = 1;
                got++;
            }
        }
        return TM_OK;
    }
    time_row *tr = tm_malloc_n(n, sizeof *tr);
    if (!tr) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    for (size_t r = 0; r < n; r++) {
        if (isnan(time[r])) {
            tm_free(tr);
            return TM_ERR(err, TM_E_INVALID, NULL, 0, "time", "row %zu: expected a time, found nan",
                          r + 1);
        }
        tr[r].t = time[r];
        tr[r].r = r;
    }
    qsort(tr, n, sizeof *tr, cmp_time);
    double cut = tr[n - k].t;
    size_t n_valid = 0;
    for (size_t r = 0; r < n; r++) {
        is_valid[r] = time[r] >= cut;
        n_valid += is_valid[r];
    }
    tm_free(tr);
    if (n_valid == n) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, "time",
                      "expected more than one time stamp, found every row at %g", cut);
    }
    return TM_OK;
}
