/* Fuzz target for the model loaders and the CSV reader: the libFuzzer
 * entry point; fuzz_driver.c adds the replay-and-mutate main for the gcc
 * build. Any crash, leak or sanitizer report fails; a clean error return
 * is the expected outcome. */
#include <math.h>
#include <stdlib.h>

#include <turbomode/forest.h>

#include "fuzz.h"

/* Loads the bytes as a model (any format) and scores a few awkward rows;
 * also reads them as a CSV. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tm_err err;
    tm_err_init(&err);
    tm_forest *f = NULL;
    if (tm_forest_load_mem(data, size, "fuzz", NULL, &f, &err) == TM_OK) {
        size_t nf = (size_t)tm_forest_n_features(f);
        if (nf <= 4096) {
            static const double probes[] = {0.0, NAN, INFINITY, -INFINITY, 1e-36, -1.5, 3.0, 1e9};
            size_t n_rows = sizeof probes / sizeof probes[0];
            double *X = malloc((n_rows * nf + 1) * sizeof *X);
            /* room for the widest output: margins (or probabilities) */
            size_t w = (size_t)tm_forest_n_outputs(f);
            double *out = malloc((n_rows * (w + 1) + 1) * sizeof *out);
            for (size_t r = 0; r < n_rows; r++) {
                for (size_t j = 0; j < nf; j++) {
                    X[r * nf + j] = probes[(r + j) % n_rows];
                }
            }
            tm_forest_predict(f, X, n_rows, nf, TM_FOREST_OUT_DEFAULT, 1, out, NULL);
            tm_forest_predict(f, X, n_rows, nf, TM_FOREST_OUT_PROBABILITY, 2, out, NULL);
            tm_forest_predict_reference(f, X, n_rows, nf, TM_FOREST_OUT_MARGIN, out, NULL);
            free(X);
            free(out);
        }
        tm_forest_free(f);
    }
    tm_csv *csv = NULL;
    if (tm_csv_parse((const char *)data, size, "fuzz.csv", &csv, NULL) == TM_OK) {
        tm_csv_free(csv);
    }
    return 0;
}
