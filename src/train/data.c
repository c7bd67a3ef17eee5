/* Checks of training options and data before any work (every bad label,
 * weight or option gets a one-line message naming the row or option),
 * class weights, and the choice of validation rows (random, or the latest
 * time stamps). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_int.h"

/* A broken rule between options, named by the option and its value. */
#define OPT_ERR(err, ...) TM_ERR(err, TM_E_INVALID, NULL, 0, NULL, __VA_ARGS__)

tm_status tm__train_check_opts(const tm_train_opts *o, tm_err *err)
{
    size_t n;
    const tm_opt *table = tm_train_opt_table(&n);
    /* max_depth's default is -1 (none for leaf-wise trees, 6 for the
     * others); the table takes 0 for a default its row describes. */
    if (o->max_depth == 0) {
        return OPT_ERR(err, "--max-depth: expected a whole number in 1..%d, found \"0\"",
                       TM_TRAIN_MAX_DEPTH);
    }
    tm_train_opts c = *o;
    c.max_depth = o->max_depth == -1 ? 0 : o->max_depth;
    tm_status st = tm_opt_check(table, n, &c, err);
    if (st != TM_OK) {
        return st;
    }
    if (o->growth == TM_TRAIN_LEAFWISE && o->num_leaves == 0) {
        return OPT_ERR(err,
                       "--num-leaves: expected a whole number in 2..%d for leafwise growth, "
                       "found \"0\"",
                       1 << 20);
    }
    if (o->growth == TM_TRAIN_OBLIVIOUS && o->max_depth > TM_TRAIN_MAX_DEPTH_OBLIVIOUS) {
        return OPT_ERR(err,
                       "--max-depth: expected a whole number in 1..%d for oblivious growth, "
                       "found \"%d\"",
                       TM_TRAIN_MAX_DEPTH_OBLIVIOUS, o->max_depth);
    }
    if (o->class_weight < TM_TRAIN_CW_NONE || o->class_weight > TM_TRAIN_CW_EXPLICIT) {
        return OPT_ERR(err,
                       "--class-weight: expected none, balanced or explicit weights, found "
                       "mode %d",
                       (int)o->class_weight);
    }
    if (o->class_weight != TM_TRAIN_CW_NONE && o->objective == TM_TRAIN_REGRESSION) {
        return OPT_ERR(err,
                       "--class-weight: expected no class weights for the regression "
                       "objective, found %s",
                       o->class_weight == TM_TRAIN_CW_BALANCED ? "balanced" : "explicit weights");
    }
    if (o->class_weight == TM_TRAIN_CW_EXPLICIT &&
        (o->n_class_weights < 1 || o->n_class_weights > TM_TRAIN_MAX_CLASSES)) {
        return OPT_ERR(err, "--class-weight: expected 1..%d weights, found %d",
                       TM_TRAIN_MAX_CLASSES, o->n_class_weights);
    }
    return TM_OK;
}

tm_status tm_train_opts_check(const tm_train_opts *opts, tm_err *err)
{
    return tm__train_check_opts(opts, err);
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
                              "expected a positive sum of weights, found 0 over %zu rows", cnt[c]);
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
            return OPT_ERR(err, "--class-weight: expected %d weights (one per class), found %d", k,
                           o->n_class_weights);
        }
        for (int c = 0; c < k; c++) {
            if (!(o->class_weights[c] > 0.0) || !isfinite(o->class_weights[c])) {
                return OPT_ERR(err,
                               "--class-weight: expected finite weights > 0, found %g for "
                               "class %d",
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
