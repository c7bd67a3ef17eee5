/* The ranks of a block's inputs for the bitvector kernels (predict_qs.c):
 * for each input a split reads, the number of its feature's thresholds
 * below it, for the TM__BLOCK rows of a block. The AVX2 and AVX-512
 * kernels search a tree of the thresholds (layout_qs.c): a level is one
 * compare of 16 float or 8 double keys (two compares with AVX2), two or
 * three levels for a few hundred thresholds against eight or nine
 * dependent steps of a binary search, which plain C still does, 32 rows
 * side by side. */
#include <math.h>
#include <string.h>

#include "forest/layout.h"
#if defined(__GNUC__) && defined(__x86_64__)
#    include <immintrin.h>
#endif

/* The number of thresholds T[0..n) below each of the block's inputs x: a
 * binary search without branches whose steps depend only on n, so the
 * TM__BLOCK searches run side by side. x NaN gives 0. */
static void rank_block(const double *restrict T, int32_t n, const double *restrict x,
                       int32_t *restrict out)
{
    int32_t lo[TM__BLOCK] = {0};
    for (int32_t len = n; len > 0;) {
        int32_t half = len / 2, up = len - half;
        for (int r = 0; r < TM__BLOCK; r++) {
            lo[r] += T[lo[r] + half] < x[r] ? up : 0;
        }
        len = half;
    }
    memcpy(out, lo, sizeof lo);
}

#if defined(__GNUC__) && defined(__x86_64__)
#    define HAVE_SIMD_RANKS 1
/* The ranks of feature j for the block's inputs x by its search tree
 * (layout_qs.c): one compare of a block of keys a level, 32 searches side
 * by side. Then both rank regions, and the 16-bit copy for
 * TM__QS_AVX512W, where every rank fits (compile_words checked the
 * threshold counts) and NaN's INT32_MAX saturates to INT16_MAX, still above
 * every k1. */
__attribute__((target("avx512f,avx512vl,avx512bw,popcnt"))) static void
stree_ranks(const tm_forest *f, const double *col, const __m512i rows[TM__BLOCK / 8], int32_t j,
            int32_t *restrict rb)
{
    const struct tm__compiled *c = f->compiled;
    size_t nf = (size_t)f->n_features;
    const int32_t *off = c->skey_off + (size_t)j * TM__SKEY_MAX_LEVELS;
    int levels = c->skey_levels[j];
    int32_t lo[TM__BLOCK] __attribute__((aligned(64)));
    /* the block's inputs of feature j (col + rows[q] are their addresses),
     * in the compare precision */
    double x[TM__BLOCK] __attribute__((aligned(64)));
    __m512d band = _mm512_set1_pd(f->zero_tiny_inputs ? f->zero_band : -1.0);
    for (int q = 0; q < TM__BLOCK / 8; q++) {
        __m512d v = _mm512_i64gather_pd(rows[q], col, 8);
        v = _mm512_mask_blend_pd(_mm512_cmp_pd_mask(_mm512_abs_pd(v), band, _CMP_LE_OQ), v,
                                 _mm512_setzero_pd());
        if (c->f32) {
            v = _mm512_cvtps_pd(_mm512_cvtpd_ps(v));
        }
        _mm512_store_pd(x + 8 * q, v);
    }
    /* level by level, so that the 32 searches' chains of compares overlap */
    if (c->skey_f32) {
        float xf[TM__BLOCK];
        for (int q = 0; q < TM__BLOCK / 8; q++) {
            _mm256_storeu_ps(xf + 8 * q, _mm512_cvtpd_ps(_mm512_loadu_pd(x + 8 * q)));
        }
        __m512 top = _mm512_load_ps(c->skey_f + off[0]);
        for (int r = 0; r < TM__BLOCK; r++) {
            lo[r] = __builtin_popcount(_mm512_cmp_ps_mask(top, _mm512_set1_ps(xf[r]), _CMP_LT_OQ));
        }
        for (int l = 1; l < levels; l++) {
            const float *K = c->skey_f + off[l];
            for (int r = 0; r < TM__BLOCK; r++) {
                __m512 k = _mm512_load_ps(K + 16 * lo[r]);
                lo[r] = 16 * lo[r] + __builtin_popcount(_mm512_cmp_ps_mask(k, _mm512_set1_ps(xf[r]),
                                                                           _CMP_LT_OQ));
            }
        }
    } else {
        __m512d top = _mm512_load_pd(c->skey_d + off[0]);
        for (int r = 0; r < TM__BLOCK; r++) {
            lo[r] = __builtin_popcount(_mm512_cmp_pd_mask(top, _mm512_set1_pd(x[r]), _CMP_LT_OQ));
        }
        for (int l = 1; l < levels; l++) {
            const double *K = c->skey_d + off[l];
            for (int r = 0; r < TM__BLOCK; r++) {
                __m512d k = _mm512_load_pd(K + 8 * lo[r]);
                lo[r] = 8 * lo[r] +
                        __builtin_popcount(_mm512_cmp_pd_mask(k, _mm512_set1_pd(x[r]), _CMP_LT_OQ));
            }
        }
    }
    int32_t *left = rb + (size_t)j * TM__BLOCK, *right = rb + (nf + (size_t)j) * TM__BLOCK;
    __m512i nan_right = _mm512_set1_epi32(TM__QS_NAN_RIGHT), v[2], w[2];
    for (int q = 0; q < 2; q++) {
        __m512d x0 = _mm512_loadu_pd(x + 16 * q), x1 = _mm512_loadu_pd(x + 16 * q + 8);
        __mmask16 nan = (__mmask16)(_mm512_cmp_pd_mask(x0, x0, _CMP_UNORD_Q) |
                                    _mm512_cmp_pd_mask(x1, x1, _CMP_UNORD_Q) << 8);
        v[q] = _mm512_load_si512((const void *)(lo + 16 * q));
        w[q] = _mm512_mask_mov_epi32(v[q], nan, nan_right);
        _mm512_storeu_si512((void *)(left + 16 * q), v[q]);
        _mm512_storeu_si512((void *)(right + 16 * q), w[q]);
    }
    if (c->qs_kernel == TM__QS_AVX512W) {
        /* 16-bit ranks, row r and row 16 + r in the low and high halves of
         * 32-bit lane r (see join16 in predict_qs.c) */
        __m512i top = _mm512_set1_epi32(INT16_MAX);
        int32_t *r16 = rb + c->rank16_at;
        for (int side = 0; side < 2; side++) {
            __m512i *a = side ? w : v;
            __m512i packed = _mm512_or_si512(_mm512_min_epi32(a[0], top),
                                             _mm512_slli_epi32(_mm512_min_epi32(a[1], top), 16));
            _mm512_storeu_si512((void *)(r16 + ((side ? right : left) - rb) / 2), packed);
        }
    }
}
/* stree_ranks for the AVX2 kernels, on the same search trees: a level's
 * block is two 8-float (or 4-double) compares, their sign masks joined. x
 * holds the block's inputs in the compare precision. */
__attribute__((target("avx2,popcnt"))) static void stree_ranks_avx2(const struct tm__compiled *c,
                                                                    int32_t j,
                                                                    const double *restrict x,
                                                                    int32_t *restrict lo)
{
    const int32_t *off = c->skey_off + (size_t)j * TM__SKEY_MAX_LEVELS;
    int levels = c->skey_levels[j];
    for (int r = 0; r < TM__BLOCK; r++) {
        lo[r] = 0;
    }
    /* level by level, so that the 32 searches' chains overlap */
    for (int l = 0; l < levels; l++) {
        if (c->skey_f32) {
            const float *K = c->skey_f + off[l];
            for (int r = 0; r < TM__BLOCK; r++) {
                __m256 v = _mm256_set1_ps((float)x[r]);
                const float *k = K + 16 * lo[r];
                int m = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_load_ps(k), v, _CMP_LT_OQ)) |
                        _mm256_movemask_ps(_mm256_cmp_ps(_mm256_load_ps(k + 8), v, _CMP_LT_OQ))
                                << 8;
                lo[r] = 16 * lo[r] + __builtin_popcount((unsigned)m);
            }
        } else {
            const double *K = c->skey_d + off[l];
            for (int r = 0; r < TM__BLOCK; r++) {
                __m256d v = _mm256_set1_pd(x[r]);
                const double *k = K + 8 * lo[r];
                int m = _mm256_movemask_pd(_mm256_cmp_pd(_mm256_load_pd(k), v, _CMP_LT_OQ)) |
                        _mm256_movemask_pd(_mm256_cmp_pd(_mm256_load_pd(k + 4), v, _CMP_LT_OQ))
                                << 4;
                lo[r] = 8 * lo[r] + __builtin_popcount((unsigned)m);
            }
        }
    }
}

/* The 16-bit copy of one rank block (the TM__QS_AVX2W kernel's), laid out
 * as the AVX-512 one: row r and row 16 + r in the low and high halves of
 * 32-bit lane r. Ranks fit 16 bits (compile_words checked the threshold
 * counts); NaN's INT32_MAX saturates to INT16_MAX, above every k1. */
__attribute__((target("avx2"))) static void ranks16_avx2(const int32_t *rank, int32_t *out)
{
    __m256i top = _mm256_set1_epi32(INT16_MAX);
    for (int h = 0; h < 2; h++) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(const void *)(rank + 8 * h));
        __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)(rank + 16 + 8 * h));
        __m256i packed = _mm256_or_si256(_mm256_min_epi32(a, top),
                                         _mm256_slli_epi32(_mm256_min_epi32(b, top), 16));
        _mm256_storeu_si256((__m256i *)(void *)(out + 8 * h), packed);
    }
}

/* The ranks of a block by the search trees, read from X by gathers. Rows
 * past nb repeat the first: their ranks are not used. */
__attribute__((target("avx512f,avx512vl,avx512bw,popcnt"))) static void
ranks_avx512(const tm_forest *f, const double *X, size_t stride, size_t r0, int nb, int n_next,
             int32_t *restrict rb)
{
    const struct tm__compiled *c = f->compiled;
    int64_t at[TM__BLOCK];
    for (int r = 0; r < TM__BLOCK; r++) {
        at[r] = (int64_t)((r < nb ? (size_t)r : 0) * stride);
    }
    __m512i rows[TM__BLOCK / 8];
    for (int q = 0; q < TM__BLOCK / 8; q++) {
        rows[q] = _mm512_loadu_si512((const void *)(at + 8 * q));
    }
    /* the next block's rows into the cache meanwhile, else the gathers
     * wait for them; a few lines a feature, not to crowd the searches */
    const char *next = n_next > 0 ? (const char *)(X + (r0 + TM__BLOCK) * stride) : NULL;
    size_t lines = n_next > 0 ? ((size_t)n_next * stride * sizeof(double) + 63) / 64 : 0;
    size_t per = c->n_read > 0 ? (lines + (size_t)c->n_read - 1) / (size_t)c->n_read : 0, line = 0;
    for (int32_t i = 0; i < c->n_read; i++) {
        for (size_t k = 0; k < per && line < lines; k++, line++) {
            _mm_prefetch(next + 64 * line, _MM_HINT_T0);
        }
        stree_ranks(f, X + r0 * stride + (size_t)c->read[i], rows, c->read[i], rb);
    }
}
#endif

void tm__forest_qs_ranks(const tm_forest *f, const double *X, size_t stride, size_t r0, int nb,
                         int n_next, double *restrict xt, int32_t *restrict rb)
{
    const struct tm__compiled *c = f->compiled;
    size_t nf = (size_t)f->n_features, B = TM__BLOCK;
    bool zero_tiny = f->zero_tiny_inputs;
    double band = f->zero_band;
    (void)n_next; /* prefetched on the AVX-512 path only */
#ifdef HAVE_SIMD_RANKS
    if (c->qs_kernel >= TM__QS_AVX512) {
        ranks_avx512(f, X, stride, r0, nb, n_next, rb);
        return;
    }
#endif
    /* the inputs, feature-major, in the compare precision */
    for (int r = 0; r < TM__BLOCK; r++) {
        const double *row = X + (r0 + (size_t)(r < nb ? r : 0)) * stride;
        for (int32_t i = 0; i < c->n_read; i++) {
            double v = r < nb ? row[c->read[i]] : 0.0;
            v = zero_tiny && fabs(v) <= band ? 0.0 : v;
            xt[(size_t)i * B + (size_t)r] = c->f32 ? (double)(float)v : v;
        }
    }
    int32_t lo[TM__BLOCK];
    for (int32_t i = 0; i < c->n_read; i++) {
        size_t j = (size_t)c->read[i];
        const double *x = xt + (size_t)i * B;
#ifdef HAVE_SIMD_RANKS
        if (c->qs_kernel >= TM__QS_AVX2) {
            stree_ranks_avx2(c, (int32_t)j, x, lo);
        } else
#endif
        {
            rank_block(c->qthr + c->qthr_first[j], c->qthr_n[j], x, lo);
        }
        int32_t *left = rb + j * B, *right = rb + (nf + j) * B;
        for (int r = 0; r < TM__BLOCK; r++) {
            bool nan = isnan(x[r]);
            left[r] = nan ? 0 : lo[r];
            right[r] = nan ? TM__QS_NAN_RIGHT : lo[r];
        }
#ifdef HAVE_SIMD_RANKS
        if (c->qs_kernel == TM__QS_AVX2W) {
            ranks16_avx2(left, rb + c->rank16_at + (left - rb) / 2);
            ranks16_avx2(right, rb + c->rank16_at + (right - rb) / 2);
        }
#endif
    }
}
