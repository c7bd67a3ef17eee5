/* Objectives: gradients and hessians (exact second derivatives, so they
 * match finite differences), losses as weighted means summed in fixed
 * row blocks (thread-count independent), initial scores from the label
 * prior, and the link from scores to probabilities. Scores and gradients
 * are class-major: entry k * n + r. */
#include <math.h>

#include "train/train_int.h"

#define MIN_HESS   1e-16
#define MAX_BLOCKS 1024

static double wt(const double *w, size_t r)
{
    return w ? w[r] : 1.0;
}

/* log(1 + exp(x)) without overflow. */
static double softplus(double x)
{
    return x > 0.0 ? x + log1p(exp(-x)) : log1p(exp(x));
}

void tm__train_transform(tm_train_objective obj, int n_out, const double *s, double *p)
{
    if (obj == TM_TRAIN_MULTICLASS) {
        double m = s[0], sum = 0.0;
        for (int k = 1; k < n_out; k++) {
            m = s[k] > m ? s[k] : m;
        }
        for (int k = 0; k < n_out; k++) {
            p[k] = exp(s[k] - m);
            sum += p[k];
        }
        for (int k = 0; k < n_out; k++) {
            p[k] /= sum;
        }
    } else if (obj == TM_TRAIN_BINARY) {
        p[0] = 1.0 / (1.0 + exp(-s[0]));
    } else {
        p[0] = s[0];
    }
}

void tm__train_gradients(tm_train_objective obj, int n_out, const double *score,
                         const double *label, const double *w, size_t n, int n_threads,
                         tm__train_gh *grad)
{
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (size_t r = 0; r < n; r++) {
        double wr = wt(w, r), y = label[r];
        if (obj == TM_TRAIN_MULTICLASS) {
            double s[TM_TRAIN_MAX_CLASSES], p[TM_TRAIN_MAX_CLASSES];
            for (int k = 0; k < n_out; k++) {
                s[k] = score[(size_t)k * n + r];
            }
            tm__train_transform(obj, n_out, s, p);
            for (int k = 0; k < n_out; k++) {
                double hk = p[k] * (1.0 - p[k]);
                grad[(size_t)k * n + r].g = (float)(wr * (p[k] - (k == (int)y ? 1.0 : 0.0)));
                grad[(size_t)k * n + r].h = (float)(wr * (hk > MIN_HESS ? hk : MIN_HESS));
            }
        } else if (obj == TM_TRAIN_BINARY) {
            double p = 1.0 / (1.0 + exp(-score[r])), hk = p * (1.0 - p);
            grad[r].g = (float)(wr * (p - y));
            grad[r].h = (float)(wr * (hk > MIN_HESS ? hk : MIN_HESS));
        } else {
            grad[r].g = (float)(wr * (score[r] - y));
            grad[r].h = (float)wr;
        }
    }
}

/* Loss of row r, unweighted, of the scores plus shift (NULL: none). */
static double row_loss(tm_train_objective obj, int n_out, const double *score, const double *label,
                       const double *shift, size_t n, size_t r)
{
    if (obj == TM_TRAIN_MULTICLASS) {
        int y = (int)label[r];
        double m = score[r] + (shift ? shift[0] : 0.0), sum = 0.0;
        for (int k = 1; k < n_out; k++) {
            double s = score[(size_t)k * n + r] + (shift ? shift[k] : 0.0);
            m = s > m ? s : m;
        }
        for (int k = 0; k < n_out; k++) {
            sum += exp(score[(size_t)k * n + r] + (shift ? shift[k] : 0.0) - m);
        }
        return -(score[(size_t)y * n + r] + (shift ? shift[y] : 0.0) - m - log(sum));
    }
    double s = score[r] + (shift ? shift[0] : 0.0);
    if (obj == TM_TRAIN_BINARY) {
        return label[r] > 0.5 ? softplus(-s) : softplus(s);
    }
    double d = s - label[r];
    return d * d;
}

double tm__train_loss(tm_train_objective obj, int n_out, const double *score, const double *label,
                      const double *w, size_t n, int n_threads)
{
    return tm__train_loss_shifted(obj, n_out, score, label, w, NULL, n, n_threads);
}

double tm__train_loss_shifted(tm_train_objective obj, int n_out, const double *score,
                              const double *label, const double *w, const double *shift, size_t n,
                              int n_threads)
{
    double part[MAX_BLOCKS], wpart[MAX_BLOCKS];
    size_t bs = TM__TRAIN_BLOCK;
    if (n > bs * MAX_BLOCKS) {
        bs = (n + MAX_BLOCKS - 1) / MAX_BLOCKS;
    }
    size_t nb = (n + bs - 1) / bs;
#pragma omp parallel for schedule(static) num_threads(n_threads)
    for (size_t b = 0; b < nb; b++) {
        double s = 0.0, sw = 0.0;
        size_t end = (b + 1) * bs < n ? (b + 1) * bs : n;
        for (size_t r = b * bs; r < end; r++) {
            double wr = wt(w, r);
            s += wr * row_loss(obj, n_out, score, label, shift, n, r);
            sw += wr;
        }
        part[b] = s;
        wpart[b] = sw;
    }
    double s = 0.0, sw = 0.0;
    for (size_t b = 0; b < nb; b++) {
        s += part[b];
        sw += wpart[b];
    }
    return sw > 0.0 ? s / sw : (double)NAN;
}

void tm__train_init_score(tm_train_objective obj, int n_out, const double *label, const double *w,
                          size_t n, double *base)
{
    double sw = 0.0, acc[TM_TRAIN_MAX_CLASSES] = {0};
    for (size_t r = 0; r < n; r++) {
        double wr = wt(w, r);
        sw += wr;
        if (obj == TM_TRAIN_MULTICLASS) {
            acc[(int)label[r]] += wr;
        } else {
            acc[0] += wr * label[r];
        }
    }
    if (!(sw > 0.0)) {
        for (int k = 0; k < n_out; k++) {
            base[k] = 0.0;
        }
        return;
    }
    if (obj == TM_TRAIN_MULTICLASS) {
        for (int k = 0; k < n_out; k++) {
            double p = acc[k] / sw;
            base[k] = log(p > 1e-15 ? p : 1e-15);
        }
    } else if (obj == TM_TRAIN_BINARY) {
        double p = acc[0] / sw;
        p = p < 1e-15 ? 1e-15 : (p > 1.0 - 1e-15 ? 1.0 - 1e-15 : p);
        base[0] = log(p / (1.0 - p));
    } else {
        base[0] = acc[0] / sw;
    }
}

void tm__train_prior_shift(tm_train_objective obj, int n_out, const double *cw, double *shift)
{
    if (obj == TM_TRAIN_MULTICLASS) {
        for (int k = 0; k < n_out; k++) {
            shift[k] = -log(cw[k]);
        }
    } else if (obj == TM_TRAIN_BINARY) {
        shift[0] = log(cw[0]) - log(cw[1]);
    } else {
        shift[0] = 0.0;
    }
}
