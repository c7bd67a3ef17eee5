/* The fixtures/lightgbm cases, shared by the LightGBM loader tests
 * (defined in test_load_lightgbm.c). */
#ifndef TM_TEST_LIGHTGBM_CASES_H
#define TM_TEST_LIGHTGBM_CASES_H

#include <stddef.h>

#include <turbomode/forest.h>

/* Calls fn(dir, ctx) for every fixtures/lightgbm/<case> directory that
 * holds a model.txt; returns how many. The shared fixtures must exist. */
int tm_test_lgb_each_case(void (*fn)(const char *dir, void *ctx), void *ctx);
/* The rows of dir/input.csv as a row-major matrix of f's features, taken
 * from the columns named as f's features (caller frees); *n_rows is set. */
double *tm_test_lgb_rows(const tm_forest *f, const char *dir, size_t *n_rows);

#endif
