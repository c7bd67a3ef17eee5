/* bench/predict: times tm_forest_predict (best of several runs) at 1 and 2
 * threads on the reference workload, after checking that its output agrees
 * with XGBoost's own predictions within 1e-6, and prints rows/s for both
 * and the ratio. Usage: bench_predict MODEL INPUT.csv PEER_PRED.csv
 * PEER_ROWS_PER_S_1T PEER_ROWS_PER_S_2T */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <turbomode/forest.h>

static double best_of(const tm_forest *f, const double *X, size_t n, size_t nf, int threads,
                      double *out, int reps)
{
    double best = INFINITY;
    for (int i = 0; i < reps; i++) {
        double t0 = tm_now_seconds();
        tm_forest_predict(f, X, n, nf, TM_FOREST_OUT_DEFAULT, threads, out, NULL);
        double dt = tm_now_seconds() - t0;
        best = dt < best ? dt : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: bench_predict MODEL INPUT PEER_PRED PEER_1T PEER_2T\n");
        return 2;
    }
    tm_err err;
    tm_err_init(&err);
    tm_forest *f = NULL;
    tm_csv *in = NULL, *peer = NULL;
    if (tm_forest_load(argv[1], NULL, &f, &err) != TM_OK ||
        tm_csv_load(argv[2], &in, &err) != TM_OK || tm_csv_load(argv[3], &peer, &err) != TM_OK) {
        char msg[1024];
        fprintf(stderr, "bench_predict: %s\n", tm_err_format(&err, msg, sizeof msg));
        return 1;
    }
    size_t n = in->n_rows, nf = (size_t)tm_forest_n_features(f);
    size_t w = tm_forest_output_len(f, TM_FOREST_OUT_DEFAULT);
    double *out = malloc(n * w * sizeof *out);
    tm_forest_predict(f, in->values, n, in->n_cols, TM_FOREST_OUT_DEFAULT, 2, out, NULL);
    double max_diff = 0.0;
    for (size_t i = 0; i < n * w; i++) {
        double d = fabs(out[i] - peer->values[i]);
        max_diff = d > max_diff ? d : max_diff;
    }
    printf("agreement: max |turbomode - xgboost| = %.3g over %zu values (limit 1e-6): %s\n",
           max_diff, n * w, max_diff <= 1e-6 ? "ok" : "FAIL");
    if (max_diff > 1e-6) {
        return 1;
    }
    double peer_rate[2] = {atof(argv[4]), atof(argv[5])};
    for (int threads = 1; threads <= 2; threads++) {
        double s = best_of(f, in->values, n, nf, threads, out, threads == 1 ? 3 : 5);
        double rate = (double)n / s;
        printf("turbomode threads=%d rows_per_s=%.0f seconds=%.4f | xgboost rows_per_s=%.0f | "
               "ratio %.2fx\n",
               threads, rate, s, peer_rate[threads - 1], rate / peer_rate[threads - 1]);
    }
    free(out);
    tm_csv_free(in);
    tm_csv_free(peer);
    tm_forest_free(f);
    return 0;
}
