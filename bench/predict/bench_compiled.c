/* bench/predict: a model built ahead of time (turbomode compile, cc -O2)
 * beside the interpreter (tm_forest_predict) on the same rows, best of
 * several runs at 1 and 2 threads. Before timing it checks that both give
 * the same bytes on every row.
 *   bench_compiled MODEL INPUT.csv SKIP_COLS MODEL.so
 * INPUT.csv's first SKIP_COLS columns are not features. */
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbomode/forest.h>

static double best_of(const tm_forest *f, tm_forest_margins_fn fn, const double *X, size_t n,
                      size_t stride, int threads, double *out, int reps)
{
    double best = INFINITY;
    for (int i = 0; i < reps; i++) {
        double t0 = tm_now_seconds();
        if (fn) {
            tm_forest_predict_compiled(f, fn, X, n, stride, TM_FOREST_OUT_DEFAULT, threads, out,
                                       NULL);
        } else {
            tm_forest_predict(f, X, n, stride, TM_FOREST_OUT_DEFAULT, threads, out, NULL);
        }
        double dt = tm_now_seconds() - t0;
        best = dt < best ? dt : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_compiled MODEL INPUT.csv SKIP_COLS MODEL.so\n");
        return 2;
    }
    tm_err err;
    tm_err_init(&err);
    tm_forest *f = NULL;
    tm_csv *in = NULL;
    char msg[1024];
    uint64_t want = 0;
    if (tm_forest_load(argv[1], NULL, &f, &err) != TM_OK ||
        tm_csv_load(argv[2], &in, &err) != TM_OK ||
        tm_forest_compile_c(f, NULL, NULL, NULL, &want, &err) != TM_OK) {
        fprintf(stderr, "bench_compiled: %s\n", tm_err_format(&err, msg, sizeof msg));
        return 1;
    }
    void *h = dlopen(argv[4], RTLD_NOW | RTLD_LOCAL);
    const uint64_t *fp = h ? dlsym(h, "tm_compiled_fingerprint") : NULL;
    void *sym = h ? dlsym(h, "tm_compiled_margins") : NULL;
    if (!fp || !sym || *fp != want) {
        fprintf(stderr, "bench_compiled: %s is not a build of %s\n", argv[4], argv[1]);
        return 1;
    }
    tm_forest_margins_fn fn;
    memcpy(&fn, &sym, sizeof fn);
    size_t skip = (size_t)atoi(argv[3]), n = in->n_rows, nf = (size_t)tm_forest_n_features(f);
    if (in->n_cols < skip + nf) {
        fprintf(stderr, "bench_compiled: %s has %zu columns, need %zu\n", argv[2], in->n_cols,
                skip + nf);
        return 1;
    }
    const double *X = in->values + skip;
    size_t w = tm_forest_output_len(f, TM_FOREST_OUT_DEFAULT);
    double *a = malloc(n * w * sizeof *a), *b = malloc(n * w * sizeof *b);
    best_of(f, NULL, X, n, in->n_cols, 2, a, 1);
    best_of(f, fn, X, n, in->n_cols, 2, b, 1);
    if (memcmp(a, b, n * w * sizeof *a) != 0) {
        fprintf(stderr, "bench_compiled: compiled and interpreted outputs differ\n");
        return 1;
    }
    printf("compiled vs interpreter, %zu rows, outputs equal bit for bit\n", n);
    printf("| threads | interpreter s | compiled s | compiled speedup |\n|---|---|---|---|\n");
    for (int threads = 1; threads <= 2; threads++) {
        double si = best_of(f, NULL, X, n, in->n_cols, threads, a, 3);
        double sc = best_of(f, fn, X, n, in->n_cols, threads, b, 3);
        printf("| %d | %.3f | %.3f | %.2fx |\n", threads, si, sc, si / sc);
    }
    free(a);
    free(b);
    dlclose(h);
    tm_csv_free(in);
    tm_forest_free(f);
    return 0;
}
