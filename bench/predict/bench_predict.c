/* bench/predict: times tm_forest_predict (best of several runs) at 1 and 2
 * threads on one model and input, and prints it beside every peer measured
 * in the same run (lines "NAME threads=N rows_per_s=R" in PEERS.txt).
 * Before timing it checks the fast predictor against the scalar reference
 * (bit for bit, on the first rows) and, when given, against the peer's own
 * predictions. On a CPU with AVX-512 it then times the AVX2 kernel too (the
 * layout and kernel a CPU without AVX-512 runs), beside the same peers.
 *   bench_predict load MODEL           load time and peak memory of a load
 *   bench_predict run MODEL INPUT.csv SKIP_COLS PEERS.txt [PEER_PRED.csv TOL]
 *   bench_predict scale MODEL INPUT.csv SKIP_COLS THREADS...  (scaling.sh)
 * INPUT.csv's first SKIP_COLS columns are not features. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <turbomode/forest.h>

#include "forest/layout.h" /* to time the AVX2 kernel on an AVX-512 CPU */

static double peak_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

static int fail(const tm_err *err)
{
    char msg[1024];
    fprintf(stderr, "bench_predict: %s\n", tm_err_format(err, msg, sizeof msg));
    return 1;
}

static int cmd_load(const char *path)
{
    tm_err err;
    tm_err_init(&err);
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "bench_predict: cannot stat %s\n", path);
        return 1;
    }
    double before = peak_mib(), t0 = tm_now_seconds();
    tm_forest *f = NULL;
    if (tm_forest_load(path, NULL, &f, &err) != TM_OK) {
        return fail(&err);
    }
    double dt = tm_now_seconds() - t0, mib = (double)st.st_size / 1048576.0;
    double peak = peak_mib() - before;
    printf("load %s: %.3f s, file %.1f MiB, peak memory +%.1f MiB (%.2fx the file)\n", path, dt,
           mib, peak, peak / mib);
    tm_forest_free(f);
    return 0;
}

static double best_of(const tm_forest *f, const double *X, size_t n, size_t stride, int threads,
                      double *out, int reps)
{
    double best = INFINITY;
    for (int i = 0; i < reps; i++) {
        double t0 = tm_now_seconds();
        tm_forest_predict(f, X, n, stride, TM_FOREST_OUT_DEFAULT, threads, out, NULL);
        double dt = tm_now_seconds() - t0;
        best = dt < best ? dt : best;
    }
    return best;
}

/* The fast predictor equals the reference bit for bit on the first rows. */
static int check_reference(const tm_forest *f, const double *X, size_t n, size_t stride, size_t w)
{
    n = n < 4000 ? n : 4000;
    double *a = malloc(n * w * sizeof *a), *b = malloc(n * w * sizeof *b);
    tm_forest_predict(f, X, n, stride, TM_FOREST_OUT_MARGIN, 2, a, NULL);
    tm_forest_predict_reference(f, X, n, stride, TM_FOREST_OUT_MARGIN, b, NULL);
    size_t bad = 0;
    for (size_t i = 0; i < n * w; i++) {
        bad += memcmp(&a[i], &b[i], sizeof a[i]) != 0;
    }
    printf("fast == reference predictor on %zu rows: %s\n", n, bad ? "FAIL" : "ok");
    free(a);
    free(b);
    return bad ? 1 : 0;
}

static int check_peer(const char *path, double tol, const double *out, size_t n, size_t w)
{
    tm_err err;
    tm_err_init(&err);
    tm_csv *peer = NULL;
    if (tm_csv_load(path, &peer, &err) != TM_OK) {
        return fail(&err);
    }
    double max_diff = peer->n_rows == n && peer->n_cols == w ? 0.0 : (double)INFINITY;
    for (size_t i = 0; max_diff < (double)INFINITY && i < n * w; i++) {
        double d = fabs(out[i] - peer->values[i]);
        max_diff = d > max_diff ? d : max_diff;
    }
    printf("agreement with %s: max |difference| %.3g over %zu values (limit %g): %s\n", path,
           max_diff, n * w, tol, max_diff <= tol ? "ok" : "FAIL");
    tm_csv_free(peer);
    return max_diff <= tol ? 0 : 1;
}

/* Prints turbomode's rate at `threads` and its ratio to each peer's. */
static void report(const char *peers, const char *kernel, int threads, double rate, double seconds)
{
    printf("threads=%d turbomode%s %.0f rows/s (%.3f s)", threads, kernel, rate, seconds);
    FILE *fp = fopen(peers, "r");
    char name[64];
    int th;
    double r;
    while (fp && fscanf(fp, "%63s threads=%d rows_per_s=%lf%*[^\n]", name, &th, &r) == 3) {
        if (th == threads && r > 0) {
            printf(" | %s %.0f rows/s: %.2fx", name, r, rate / r);
        }
    }
    if (fp) {
        fclose(fp);
    }
    printf("\n");
}

/* Loads MODEL (argv[2]) and INPUT.csv (argv[3]); argv[4] is SKIP_COLS. */
static int load_inputs(char **argv, tm_forest **f, tm_csv **in, size_t *skip)
{
    tm_err err;
    tm_err_init(&err);
    *skip = (size_t)atoi(argv[4]);
    if (tm_forest_load(argv[2], NULL, f, &err) != TM_OK ||
        tm_csv_load(argv[3], in, &err) != TM_OK) {
        return fail(&err);
    }
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    tm_forest *f = NULL;
    tm_csv *in = NULL;
    size_t skip;
    if (load_inputs(argv, &f, &in, &skip) != 0) {
        return 1;
    }
    size_t n = in->n_rows, nf = (size_t)tm_forest_n_features(f);
    if (in->n_cols < skip + nf) {
        fprintf(stderr, "bench_predict: %s has %zu columns, need %zu\n", argv[3], in->n_cols,
                skip + nf);
        return 1;
    }
    const double *X = in->values + skip;
    size_t w = tm_forest_output_len(f, TM_FOREST_OUT_DEFAULT);
    size_t wm = tm_forest_output_len(f, TM_FOREST_OUT_MARGIN);
    double *out = malloc(n * (w > wm ? w : wm) * sizeof *out);
    int rc = check_reference(f, X, n, in->n_cols, wm);
    tm_forest_predict(f, X, n, in->n_cols, TM_FOREST_OUT_DEFAULT, 2, out, NULL);
    if (rc == 0 && argc == 8) {
        rc = check_peer(argv[6], atof(argv[7]), out, n, w);
    }
    for (int threads = 1; rc == 0 && threads <= 2; threads++) {
        double s = best_of(f, X, n, in->n_cols, threads, out, 3);
        report(argv[5], "", threads, (double)n / s, s);
    }
    if (rc == 0 && tm__forest_qs_cpu_kernel() >= TM__QS_AVX512) {
        tm_err err;
        tm_err_init(&err);
        rc = tm__forest_compile_kernel(f, TM__QS_AVX2W, &err) != TM_OK
                     ? fail(&err)
                     : check_reference(f, X, n, in->n_cols, wm);
        for (int threads = 1; rc == 0 && threads <= 2; threads++) {
            double s = best_of(f, X, n, in->n_cols, threads, out, 3);
            report(argv[5], " (AVX2 kernel)", threads, (double)n / s, s);
        }
    }
    free(out);
    tm_csv_free(in);
    tm_forest_free(f);
    return rc;
}

/* Rates at each thread count given, as markdown table rows. */
static int cmd_scale(int argc, char **argv)
{
    tm_forest *f = NULL;
    tm_csv *in = NULL;
    size_t skip;
    if (load_inputs(argv, &f, &in, &skip) != 0) {
        return 1;
    }
    size_t n = in->n_rows, w = tm_forest_output_len(f, TM_FOREST_OUT_DEFAULT);
    double *out = malloc(n * w * sizeof *out), one = 0.0;
    for (int a = 5; a < argc; a++) {
        int threads = atoi(argv[a]);
        double s = best_of(f, in->values + skip, n, in->n_cols, threads, out, 3);
        one = one > 0.0 ? one : s;
        printf("| %d | %.0f | %.3f | %.2fx |\n", threads, (double)n / s, s, one / s);
    }
    free(out);
    tm_csv_free(in);
    tm_forest_free(f);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 6 && strcmp(argv[1], "scale") == 0) {
        return cmd_scale(argc, argv);
    }
    if (argc == 3 && strcmp(argv[1], "load") == 0) {
        return cmd_load(argv[2]);
    }
    if ((argc == 6 || argc == 8) && strcmp(argv[1], "run") == 0) {
        return cmd_run(argc, argv);
    }
    fprintf(stderr, "usage: bench_predict load MODEL\n"
                    "       bench_predict run MODEL INPUT.csv SKIP_COLS PEERS.txt "
                    "[PEER_PRED.csv TOL]\n");
    return 2;
}
