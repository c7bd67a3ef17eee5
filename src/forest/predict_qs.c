/* The bitvector kernel (layout in layout_qs.c): the ranks of a block of
 * TM__BLOCK rows, and one tree walked for all of them at once. The kernel
 * is written once on 8-lane integer vectors and built twice: with AVX2 for
 * CPUs that have it (chosen at run time, __builtin_cpu_supports) and for
 * plain x86-64 or any other CPU, where the compiler splits each vector
 * operation into what the target has. Both give the same leaves. */
#include <math.h>
#include <string.h>

#include "forest/layout.h"

void tm__forest_qs_ranks(const tm_forest *f, const double *X, size_t stride, size_t r0, int nb,
                         int32_t *restrict rb)
{
    const struct tm__compiled *c = f->compiled;
    size_t nf = (size_t)f->n_features, B = TM__BLOCK;
    for (int32_t i = 0; i < c->n_read; i++) {
        size_t j = (size_t)c->read[i];
        memset(rb + j * B + (size_t)nb, 0, (B - (size_t)nb) * sizeof *rb);
        memset(rb + (nf + j) * B + (size_t)nb, 0, (B - (size_t)nb) * sizeof *rb);
    }
    for (int r = 0; r < nb; r++) {
        const double *row = X + (r0 + (size_t)r) * stride;
        for (int32_t i = 0; i < c->n_read; i++) {
            size_t j = (size_t)c->read[i];
            int32_t *left = rb + j * B + (size_t)r, *right = rb + (nf + j) * B + (size_t)r;
            double x = tm__forest_input(f, row[j]);
            if (c->f32) {
                x = (double)(float)x;
            }
            if (isnan(x)) {
                *left = 0;
                *right = TM__QS_NAN_RIGHT;
                continue;
            }
            /* number of thresholds below x: [lo, lo + n] holds it */
            const double *T = c->qthr + c->qthr_first[j];
            int32_t lo = 0, n = c->qthr_n[j];
            while (n > 0) {
                int32_t half = n / 2;
                lo = T[lo + half] < x ? lo + n - half : lo;
                n = half;
            }
            *left = *right = lo;
        }
    }
}

typedef int32_t v8i __attribute__((vector_size(32)));
#if TM__BLOCK != 32
#    error "the bitvector kernel takes blocks of 32 rows (4 vectors of 8)"
#endif

/* Applies n entries to word a0..a3 (32 rows), kept in registers. */
#define APPLY(a, e, n)                                                                             \
    for (int32_t i_ = 0; i_ < (n); i_++) {                                                         \
        const v8i *x_ = (const v8i *)(rb + (e)[i_].off);                                           \
        v8i k_ = (v8i){0} + (e)[i_].k1;                                                            \
        v8i m_ = (v8i){0} + (int32_t)(e)[i_].nmask;                                                \
        a##0 &= (k_ > x_[0]) | m_;                                                                 \
        a##1 &= (k_ > x_[1]) | m_;                                                                 \
        a##2 &= (k_ > x_[2]) | m_;                                                                 \
        a##3 &= (k_ > x_[3]) | m_;                                                                 \
    }

/* Exit leaves: the lowest bit set in word 0, else in word 1. */
#define WALK_BODY                                                                                  \
    {                                                                                              \
        rb = __builtin_assume_aligned(rb, 64);                                                     \
        const qnode *e = c->qs + c->qs_first[t];                                                   \
        int32_t n0 = c->qs_n0[t], n1 = c->qs_n1[t];                                                \
        v8i ones = (v8i){0} - 1;                                                                   \
        v8i w0 = ones, w1 = ones, w2 = ones, w3 = ones;                                            \
        APPLY(w, e, n0);                                                                           \
        v8i lo[4] = {w0, w1, w2, w3};                                                              \
        const uint32_t *l = (const uint32_t *)lo;                                                  \
        if (n1 == 0) {                                                                             \
            for (int r = 0; r < TM__BLOCK; r++) {                                                  \
                idx[r] = __builtin_ctz(l[r]);                                                      \
            }                                                                                      \
            return;                                                                                \
        }                                                                                          \
        w0 = w1 = w2 = w3 = ones;                                                                  \
        APPLY(w, e + n0, n1);                                                                      \
        v8i hi[4] = {w0, w1, w2, w3};                                                              \
        const uint32_t *h = (const uint32_t *)hi;                                                  \
        for (int r = 0; r < TM__BLOCK; r++) {                                                      \
            idx[r] = l[r] ? __builtin_ctz(l[r]) : 32 + __builtin_ctz(h[r]);                        \
        }                                                                                          \
    }

#if defined(__GNUC__) && defined(__x86_64__)
#    define HAVE_AVX2_KERNEL 1
__attribute__((target("avx2"))) static void walk_avx2(const struct tm__compiled *c, int32_t t,
                                                      const int32_t *restrict rb,
                                                      int32_t *restrict idx) WALK_BODY
#endif

        static void walk_plain(const struct tm__compiled *c, int32_t t, const int32_t *restrict rb,
                               int32_t *restrict idx) WALK_BODY

        void tm__forest_qs_walk(const struct tm__compiled *c, int32_t t, const int32_t *restrict rb,
                                int32_t *restrict idx)
{
#ifdef HAVE_AVX2_KERNEL
    if (c->qs_avx2) {
        walk_avx2(c, t, rb, idx);
        return;
    }
#endif
    walk_plain(c, t, rb, idx);
}

bool tm__forest_qs_cpu_avx2(void)
{
#ifdef HAVE_AVX2_KERNEL
    return __builtin_cpu_supports("avx2");
#else
    return false;
#endif
}
