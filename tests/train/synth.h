/* Small deterministic data sets for the trainer's tests: a few thousand
 * rows at most, so the suites stay fast under ASan. */
#ifndef TM_TRAIN_SYNTH_H
#define TM_TRAIN_SYNTH_H

#include <math.h>
#include <stdlib.h>

#include <turbomode/train.h>

typedef struct synth {
    size_t n, nf;
    double *x, *y, *w;
    tm_train_data d;
} synth;

static inline double synth_u(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (double)((*s >> 8) & 0xffffff) / 16777216.0;
}

/* n rows, nf >= 4 features in [-1, 1] (feature 3 takes 5 integer values),
 * 5% missing; labels from a noisy score z: objective 0 multiclass (about
 * 15/70/15%), 1 binary, 2 regression (z itself). */
static inline void synth_make(synth *s, size_t n, size_t nf, int objective, unsigned seed)
{
    s->n = n;
    s->nf = nf;
    s->x = malloc(n * nf * sizeof *s->x);
    s->y = malloc(n * sizeof *s->y);
    s->w = NULL;
    for (size_t r = 0; r < n; r++) {
        for (size_t j = 0; j < nf; j++) {
            double v = j == 3 ? floor(synth_u(&seed) * 5) : synth_u(&seed) * 2 - 1;
            s->x[r * nf + j] = synth_u(&seed) < 0.05 ? (double)NAN : v;
        }
        double a = isnan(s->x[r * nf]) ? 0 : s->x[r * nf];
        double b = isnan(s->x[r * nf + 1]) ? 0 : s->x[r * nf + 1];
        double z = a + 0.8 * b * b + 0.3 * (synth_u(&seed) - 0.5);
        s->y[r] = objective == 2   ? z
                  : objective == 1 ? (z > 0.3)
                                   : (z < -0.7  ? 0
                                      : z > 1.1 ? 2
                                                : 1);
    }
    s->d = (tm_train_data){n, nf, nf, s->x, NULL, s->y, NULL, NULL, NULL, NULL};
}

static inline void synth_free(synth *s)
{
    free(s->x);
    free(s->y);
    free(s->w);
}

#endif
