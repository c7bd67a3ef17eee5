/* Training metrics: weighted and unweighted loss, accuracy, per-class
 * precision / recall / F1 and the confusion matrix, and the metrics JSON
 * of the `turbomode train` contract (DESIGN.md), written atomically. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "train/train_int.h"

/* Predicted class of row r: argmax (first max wins), or margin > 0. */
static int predicted(int n_out, const double *score, size_t n, size_t r)
{
    if (n_out == 1) {
        return score[r] > 0.0;
    }
    return (int)tm_argmax(score + r, (size_t)n_out, n);
}

void tm__train_metrics_fill(tm_train_metrics *m, tm_train_objective obj, int n_out,
                            const double *score, const double *label, const double *w, size_t n,
                            int n_threads, bool valid)
{
    double lw = tm__train_loss(obj, n_out, score, label, w, n, n_threads);
    double lu = tm__train_loss(obj, n_out, score, label, NULL, n, n_threads);
    if (!valid) {
        m->train_loss = lw;
        m->train_loss_unweighted = lu;
        m->valid_loss = m->valid_loss_unweighted = NAN;
        m->train_accuracy = m->valid_accuracy = NAN;
    } else {
        m->valid_loss = lw;
        m->valid_loss_unweighted = lu;
    }
    if (obj == TM_TRAIN_REGRESSION) {
        return;
    }
    int k = m->n_classes;
    bool figures = valid || !m->has_valid;
    if (figures) {
        memset(m->confusion, 0, sizeof m->confusion);
    }
    size_t right = 0;
    for (size_t r = 0; r < n; r++) {
        int y = (int)label[r], p = predicted(n_out, score, n, r);
        right += y == p;
        if (figures) {
            m->confusion[y][p]++;
        }
    }
    double acc = (double)right / (double)n;
    if (valid) {
        m->valid_accuracy = acc;
    } else {
        m->train_accuracy = acc;
    }
    if (!figures) {
        return;
    }
    for (int c = 0; c < k; c++) {
        int64_t tp = m->confusion[c][c], pred = 0, actual = 0;
        for (int j = 0; j < k; j++) {
            pred += m->confusion[j][c];
            actual += m->confusion[c][j];
        }
        double prec = pred ? (double)tp / (double)pred : 0.0;
        double rec = actual ? (double)tp / (double)actual : 0.0;
        m->precision[c] = prec;
        m->recall[c] = rec;
        m->f1[c] = prec + rec > 0.0 ? 2.0 * prec * rec / (prec + rec) : 0.0;
    }
}

static void put_num(FILE *fp, double v)
{
    if (isfinite(v)) {
        fprintf(fp, "%.10g", v);
    } else {
        fputs("null", fp);
    }
}

static void put_array(FILE *fp, const char *key, const double *v, int n)
{
    fprintf(fp, "  \"%s\": [", key);
    for (int i = 0; i < n; i++) {
        fputs(i ? ", " : "", fp);
        put_num(fp, v[i]);
    }
    fputs("],\n", fp);
}

static void write_metrics(FILE *fp, const tm_train_metrics *m)
{
    const char *loss = m->objective == TM_TRAIN_MULTICLASS ? "multi_logloss"
                       : m->objective == TM_TRAIN_BINARY   ? "logloss"
                                                           : "mse";
    fprintf(fp, "{\n  \"objective\": \"%s\",\n", tm_train_objective_name(m->objective));
    fprintf(fp, "  \"n_classes\": %d,\n  \"rounds\": %d,\n  \"best_iteration\": %d,\n",
            m->n_classes, m->rounds, m->best_iteration);
    fprintf(fp, "  \"n_trees\": %ld,\n  \"n_train\": %zu,\n  \"n_valid\": %zu,\n", m->n_trees,
            m->n_train, m->n_valid);
    fprintf(fp, "  \"n_features_used\": %d,\n", m->n_features_used);
    const char *part[2] = {"train", "valid"};
    const double lw[2] = {m->train_loss, m->valid_loss};
    const double lu[2] = {m->train_loss_unweighted, m->valid_loss_unweighted};
    const double ac[2] = {m->train_accuracy, m->valid_accuracy};
    for (int i = 0; i < 2; i++) {
        fprintf(fp, "  \"%s_%s\": ", part[i], loss);
        put_num(fp, lw[i]);
        fprintf(fp, ",\n  \"%s_%s_unweighted\": ", part[i], loss);
        put_num(fp, lu[i]);
        fputs(",\n", fp);
        if (i == 1) {
            fprintf(fp, "  \"valid_%s_deweighted\": ", loss);
            put_num(fp, m->valid_loss_deweighted);
            fputs(",\n", fp);
            fprintf(fp, "  \"valid_prior_%s\": ", loss);
            put_num(fp, m->valid_prior_loss);
            fputs(",\n", fp);
        }
        if (m->n_classes > 0) {
            fprintf(fp, "  \"%s_accuracy\": ", part[i]);
            put_num(fp, ac[i]);
            fputs(",\n", fp);
        }
    }
    int k = m->n_classes;
    if (k > 0) {
        fprintf(fp, "  \"class_metrics_on\": \"%s\",\n", m->has_valid ? "valid" : "train");
        put_array(fp, "class_weights", m->class_weights, k);
        put_array(fp, "precision", m->precision, k);
        put_array(fp, "recall", m->recall, k);
        put_array(fp, "f1", m->f1, k);
        fputs("  \"confusion_matrix\": [", fp);
        for (int i = 0; i < k; i++) {
            fputs(i ? ", [" : "[", fp);
            for (int j = 0; j < k; j++) {
                fprintf(fp, "%s%lld", j ? ", " : "", (long long)m->confusion[i][j]);
            }
            fputs("]", fp);
        }
        fputs("],\n", fp);
    }
    fputs("  \"seconds\": ", fp);
    put_num(fp, m->seconds);
    fputs("\n}\n", fp);
}

tm_status tm_train_metrics_save(const tm_train_metrics *m, const char *path, tm_err *err)
{
    tm_atomic a;
    tm_status st = tm_atomic_open(&a, path, err);
    if (st != TM_OK) {
        return st;
    }
    write_metrics(a.fp, m);
    return tm_atomic_commit(&a, err);
}
