/* Internals shared by the reference predictor and the fast predictor. */
#ifndef TURBOMODE_PREDICT_INT_H
#define TURBOMODE_PREDICT_INT_H

#include "forest/forest_int.h"

/* Loaders reject models with more outputs than this. */
#define TM__MAX_OUTPUTS 256

/* The input as the trees see it (LightGBM zeroes |x| <= 1e-35f). */
double tm__forest_input(const tm_forest *f, double x);
/* Whether input x (already through tm__forest_input) goes left at nd. */
bool tm__forest_go_left(const tm_forest *f, int32_t nd, double x);
/* Leaf reached in general tree t by row. */
int32_t tm__forest_leaf_of(const tm_forest *f, int32_t t, const double *row);
/* Leaf reached in oblivious tree t by row (absolute leaf index). */
int32_t tm__forest_oblivious_leaf(const tm_forest *f, int32_t t, const double *row);
/* Output k of leaf (linear leaves evaluated on row). */
double tm__forest_leaf_value(const tm_forest *f, int32_t leaf, int32_t k, const double *row);

#endif
