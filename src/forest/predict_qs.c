/* The bitvector kernels (layout in layout_qs.c): one tree walked for all
 * TM__BLOCK rows of a block at once, from their ranks (predict_ranks.c).
 * The general kernel is written once on 8-lane integer vectors and built
 * twice: with AVX2 for CPUs that have it and for plain x86-64 or any
 * other CPU, where the compiler splits each vector operation into what the
 * target has. The 16-bit forms run on 16-bit ranks and 16-bit leaf words:
 * with AVX2 a compare covers 16 rows (the kernel AVX2 CPUs take), with
 * AVX-512 32 rows, a compare into a lane mask and a masked blend per entry
 * (the kernel AVX-512 CPUs take, which also walks a tree for the four
 * blocks of a group at once, reading each entry once). A 32-bit AVX-512
 * form, 16 rows a compare, serves models with too many thresholds for
 * 16-bit ranks. The AVX-512 kernels pick leaf values by permutes from
 * vectors (up to 32 double or 64 float leaves), the others by gathers. The
 * kernel is chosen at run time (__builtin_cpu_supports); all give the
 * same leaves. */
#include "forest/layout.h"
#if defined(__GNUC__) && defined(__x86_64__)
#    include <immintrin.h>
#endif

typedef int32_t v8i __attribute__((vector_size(32)));
#if TM__BLOCK != 32
#    error "the bitvector kernel takes blocks of 32 rows (4 vectors of 8)"
#endif

/* Applies n entries to word a0..a3 (32 rows), kept in registers. */
#define APPLY(a, e, n)                                                                             \
    _Pragma("GCC unroll 4") for (int32_t i_ = 0; i_ < (n); i_++)                                   \
    {                                                                                              \
        const v8i *x_ = (const v8i *)((const char *)rb + (e)[i_].off);                             \
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

#ifdef HAVE_AVX2_KERNEL
        /* The lowest set bit of each lane, exactly: a power of two converts to
         * float exactly and its exponent is the bit (2^31 too, as -2^31). */
        __attribute__((target("avx2"))) static inline __m256i ctz_avx2(__m256i w)
{
    __m256i low = _mm256_and_si256(w, _mm256_sub_epi32(_mm256_setzero_si256(), w));
    __m256i e = _mm256_srli_epi32(_mm256_castps_si256(_mm256_cvtepi32_ps(low)), 23);
    return _mm256_sub_epi32(_mm256_and_si256(e, _mm256_set1_epi32(0xff)), _mm256_set1_epi32(127));
}

/* walk_avx2 with the exit leaves found and their values gathered and added
 * in vectors (they were a scalar loop of about 11 instructions a row). */
__attribute__((target("avx2"))) static void walk_add_avx2(const struct tm__compiled *c, int32_t t,
                                                          const int32_t *restrict rb,
                                                          const float *lf, const double *ld,
                                                          bool sum_f32, void *acc)
{
    rb = __builtin_assume_aligned(rb, 64);
    const qnode *e = c->qs + c->qs_first[t];
    int32_t n0 = c->qs_n0[t], n1 = c->qs_n1[t];
    v8i ones = (v8i){0} - 1;
    v8i w0 = ones, w1 = ones, w2 = ones, w3 = ones;
    APPLY(w, e, n0);
    __m256i lo[4] = {(__m256i)w0, (__m256i)w1, (__m256i)w2, (__m256i)w3}, ix[4];
    for (int q = 0; q < 4; q++) {
        ix[q] = ctz_avx2(lo[q]);
    }
    if (n1 > 0) {
        w0 = w1 = w2 = w3 = ones;
        APPLY(w, e + n0, n1);
        __m256i hi[4] = {(__m256i)w0, (__m256i)w1, (__m256i)w2, (__m256i)w3};
        for (int q = 0; q < 4; q++) {
            __m256i zero = _mm256_cmpeq_epi32(lo[q], _mm256_setzero_si256());
            __m256i up = _mm256_add_epi32(ctz_avx2(hi[q]), _mm256_set1_epi32(32));
            ix[q] = _mm256_blendv_epi8(ix[q], up, zero);
        }
    }
    if (sum_f32) {
        float *a = acc;
        for (int q = 0; q < 4; q++) {
            __m256 v = _mm256_i32gather_ps(lf, ix[q], 4);
            _mm256_storeu_ps(a + 8 * q, _mm256_add_ps(_mm256_loadu_ps(a + 8 * q), v));
        }
        return;
    }
    double *a = acc;
    for (int q = 0; q < 4; q++) {
        __m256d v0 = _mm256_i32gather_pd(ld, _mm256_castsi256_si128(ix[q]), 8);
        __m256d v1 = _mm256_i32gather_pd(ld, _mm256_extracti128_si256(ix[q], 1), 8);
        _mm256_storeu_pd(a + 8 * q, _mm256_add_pd(_mm256_loadu_pd(a + 8 * q), v0));
        _mm256_storeu_pd(a + 8 * q + 4, _mm256_add_pd(_mm256_loadu_pd(a + 8 * q + 4), v1));
    }
}
#endif

#ifdef HAVE_AVX2_KERNEL
/* Runs the entries of tree t's 16-bit words (both 16-bit kernels): STEP(u,
 * e) applies entry e to word u. One loop a word: the loop exits resolve
 * long before the vector work behind them, so the words' chains still
 * overlap. */
#    define WORD_RUN(STEP, u)                                                                      \
        _Pragma("GCC unroll 2") for (const wnode *end_ = e_ + n_[u]; e_ < end_; e_++)              \
        {                                                                                          \
            STEP(u, e_);                                                                           \
        }
#    define WORDS(STEP)                                                                            \
        do {                                                                                       \
            const wnode *e_ = c->qw + c->qw_first[t];                                              \
            const int32_t *n_ = c->qw_n + 4 * (size_t)t;                                           \
            WORD_RUN(STEP, 0)                                                                      \
            WORD_RUN(STEP, 1)                                                                      \
            WORD_RUN(STEP, 2)                                                                      \
            WORD_RUN(STEP, 3)                                                                      \
        } while (0)

/* One entry on a 16-bit word of 32 rows (two 16-row vectors a, b of the
 * 16-bit ranks at x): where k1 > rank the row goes left and keeps its
 * bits, else the word is ANDed with the mask. */
#    define YSTEP(a, b, e)                                                                         \
        do {                                                                                       \
            const __m256i *x_ = (const __m256i *)(const void *)(r16 + (e)->off);                   \
            __m256i k_ = _mm256_set1_epi32((e)->k2), m_ = _mm256_set1_epi32((e)->m2);              \
            a = _mm256_and_si256(a, _mm256_or_si256(_mm256_cmpgt_epi16(k_, x_[0]), m_));           \
            b = _mm256_and_si256(b, _mm256_or_si256(_mm256_cmpgt_epi16(k_, x_[1]), m_));           \
        } while (0)

/* Adds the leaves of 8 rows (leaf numbers i) at a (floats or doubles). */
__attribute__((target("avx2"))) static inline void
add8_avx2(__m256i i, const float *lf, const double *ld, bool sum_f32, void *a)
{
    if (sum_f32) {
        float *af = a;
        _mm256_storeu_ps(af, _mm256_add_ps(_mm256_loadu_ps(af), _mm256_i32gather_ps(lf, i, 4)));
        return;
    }
    double *ad = a;
    __m256d v0 = _mm256_i32gather_pd(ld, _mm256_castsi256_si128(i), 8);
    __m256d v1 = _mm256_i32gather_pd(ld, _mm256_extracti128_si256(i, 1), 8);
    _mm256_storeu_pd(ad, _mm256_add_pd(_mm256_loadu_pd(ad), v0));
    _mm256_storeu_pd(ad + 4, _mm256_add_pd(_mm256_loadu_pd(ad + 4), v1));
}

/* The leaves of 8 rows from their 16-bit words w0..w3 (32-bit lanes
 * holding two rows, as the ranks do; high: the rows in the high halves). */
__attribute__((target("avx2"))) static inline __m256i exit8_avx2(__m256i w0, __m256i w1, __m256i w2,
                                                                 __m256i w3, bool wide, bool high)
{
    __m256i low16 = _mm256_set1_epi32(0xffff), high16 = _mm256_set1_epi32((int32_t)0xffff0000u);
    __m256i lo = high ? _mm256_or_si256(_mm256_srli_epi32(w0, 16), _mm256_and_si256(w1, high16))
                      : _mm256_or_si256(_mm256_and_si256(w0, low16), _mm256_slli_epi32(w1, 16));
    if (!wide) {
        return ctz_avx2(lo);
    }
    __m256i hi = high ? _mm256_or_si256(_mm256_srli_epi32(w2, 16), _mm256_and_si256(w3, high16))
                      : _mm256_or_si256(_mm256_and_si256(w2, low16), _mm256_slli_epi32(w3, 16));
    __m256i none = _mm256_cmpeq_epi32(lo, _mm256_setzero_si256());
    return _mm256_blendv_epi8(ctz_avx2(lo), _mm256_add_epi32(ctz_avx2(hi), _mm256_set1_epi32(32)),
                              none);
}

/* The 16-bit form of walk_add_avx2 (TM__QS_AVX2W): one compare per entry
 * for 16 rows, a tree's words one loop each, as walk_add_avx512w. */
__attribute__((target("avx2"))) static void walk_add_avx2w(const struct tm__compiled *c, int32_t t,
                                                           const int32_t *restrict rb,
                                                           const float *lf, const double *ld,
                                                           bool sum_f32, void *acc)
{
    const char *r16 = (const char *)(rb + c->rank16_at);
    bool wide = c->qw_words[t] == 4;
    __m256i o = _mm256_set1_epi32(-1);
    __m256i a0 = o, a1 = o, a2 = o, a3 = o, b0 = o, b1 = o, b2 = o, b3 = o;
#    define STEP2(u, x) YSTEP(a##u, b##u, x)
    WORDS(STEP2);
#    undef STEP2
    size_t width = sum_f32 ? sizeof(float) : sizeof(double);
    char *a = acc;
    /* a: rows 0-7 and 16-23, b: rows 8-15 and 24-31 */
    add8_avx2(exit8_avx2(a0, a1, a2, a3, wide, false), lf, ld, sum_f32, a);
    add8_avx2(exit8_avx2(a0, a1, a2, a3, wide, true), lf, ld, sum_f32, a + 16 * width);
    add8_avx2(exit8_avx2(b0, b1, b2, b3, wide, false), lf, ld, sum_f32, a + 8 * width);
    add8_avx2(exit8_avx2(b0, b1, b2, b3, wide, true), lf, ld, sum_f32, a + 24 * width);
}
#    undef YSTEP
#endif

#undef WALK_BODY
#undef APPLY

#if defined(__GNUC__) && defined(__x86_64__)
#    define HAVE_AVX512_KERNEL 1
#    define TARGET512          __attribute__((target("avx512f,avx512cd,avx512vl,avx512bw")))

/* Applies n entries to one word of 32 rows (two 16-lane vectors): where a
 * row's rank reaches k1 (it goes right), AND the word with nmask. */
TARGET512 static inline void apply512(const qnode *e, int32_t n, const int32_t *rb, __m512i *w0,
                                      __m512i *w1)
{
    __m512i a0 = *w0, a1 = *w1;
#    pragma GCC unroll 4
    for (int32_t i = 0; i < n; i++) {
        const char *x = (const char *)rb + e[i].off;
        __m512i k = _mm512_set1_epi32(e[i].k1);
        __m512i m = _mm512_set1_epi32((int32_t)e[i].nmask);
        /* k1 <= rank: the row goes right (written so that the load folds
         * into the compare and the AND needs no copy: gcc 12) */
        __mmask16 r0 = _mm512_cmple_epi32_mask(k, _mm512_load_si512((const void *)x));
        __mmask16 r1 = _mm512_cmple_epi32_mask(k, _mm512_load_si512((const void *)(x + 64)));
        a0 = _mm512_mask_and_epi32(a0, r0, m, a0);
        a1 = _mm512_mask_and_epi32(a1, r1, m, a1);
    }
    *w0 = a0;
    *w1 = a1;
}

/* Index of the lowest set bit of each lane (-1 for a zero lane). */
TARGET512 static inline __m512i ctz512(__m512i w)
{
    __m512i low = _mm512_and_si512(w, _mm512_sub_epi32(_mm512_setzero_si512(), w));
    return _mm512_sub_epi32(_mm512_set1_epi32(31), _mm512_lzcnt_epi32(low));
}

/* The values of leaves i (16 rows) from a tree's first 32 (wide: 64)
 * float leaves, held in vectors: permutes instead of gathers, which cost
 * a sixth of the walk of a depth-6 tree. The leaf tables are padded, so
 * the loads stay inside them. */
TARGET512 static inline __m512 leaves_ps(__m512i i, const float *lf, bool wide)
{
    __m512 v = _mm512_permutex2var_ps(_mm512_loadu_ps(lf), i, _mm512_loadu_ps(lf + 16));
    if (!wide) {
        return v;
    }
    __m512 w = _mm512_permutex2var_ps(_mm512_loadu_ps(lf + 32), i, _mm512_loadu_ps(lf + 48));
    return _mm512_mask_blend_ps(_mm512_test_epi32_mask(i, _mm512_set1_epi32(32)), v, w);
}

/* The same for 8 rows (leaves i, 32-bit) of up to 32 double leaves. */
TARGET512 static inline __m512d leaves_pd(__m256i i, const double *ld)
{
    __m512i i64 = _mm512_cvtepu32_epi64(i);
    __m512d v = _mm512_permutex2var_pd(_mm512_loadu_pd(ld), i64, _mm512_loadu_pd(ld + 8));
    __m512d w = _mm512_permutex2var_pd(_mm512_loadu_pd(ld + 16), i64, _mm512_loadu_pd(ld + 24));
    return _mm512_mask_blend_pd(_mm512_test_epi64_mask(i64, _mm512_set1_epi64(16)), v, w);
}

/* Adds the leaf values of leaves i0 (rows 0-15) and i1 (rows 16-31) of a
 * tree with up to 32 leaves, or 64 when wide. */
TARGET512 static inline void add_leaves512(__m512i i0, __m512i i1, const float *lf,
                                           const double *ld, bool sum_f32, bool wide, void *acc)
{
    if (sum_f32) {
        float *a = acc;
        _mm512_storeu_ps(a, _mm512_add_ps(_mm512_loadu_ps(a), leaves_ps(i0, lf, wide)));
        _mm512_storeu_ps(a + 16, _mm512_add_ps(_mm512_loadu_ps(a + 16), leaves_ps(i1, lf, wide)));
        return;
    }
    double *a = acc;
    __m256i q[4] = {_mm512_castsi512_si256(i0), _mm512_extracti64x4_epi64(i0, 1),
                    _mm512_castsi512_si256(i1), _mm512_extracti64x4_epi64(i1, 1)};
    for (int h = 0; h < 4; h++) {
        __m512d v = wide ? _mm512_i32gather_pd(q[h], ld, 8) : leaves_pd(q[h], ld);
        _mm512_storeu_pd(a + 8 * h, _mm512_add_pd(_mm512_loadu_pd(a + 8 * h), v));
    }
}

/* The whole tree for 32 rows on 16-lane vectors: each entry is a compare
 * into a lane mask and a masked AND, and the leaves are gathered and
 * added in the accumulators' precision. */
TARGET512 static void walk_add_avx512(const struct tm__compiled *c, int32_t t,
                                      const int32_t *restrict rb, const float *lf, const double *ld,
                                      bool sum_f32, void *acc)
{
    const qnode *e = c->qs + c->qs_first[t];
    int32_t n0 = c->qs_n0[t], n1 = c->qs_n1[t];
    __m512i ones = _mm512_set1_epi32(-1);
    __m512i w0 = ones, w1 = ones;
    apply512(e, n0, rb, &w0, &w1);
    __m512i i0 = ctz512(w0), i1 = ctz512(w1);
    if (n1 > 0) {
        __m512i h0 = ones, h1 = ones;
        apply512(e + n0, n1, rb, &h0, &h1);
        __m512i k32 = _mm512_set1_epi32(32);
        i0 = _mm512_mask_blend_epi32(_mm512_test_epi32_mask(w0, w0),
                                     _mm512_add_epi32(ctz512(h0), k32), i0);
        i1 = _mm512_mask_blend_epi32(_mm512_test_epi32_mask(w1, w1),
                                     _mm512_add_epi32(ctz512(h1), k32), i1);
    }
    add_leaves512(i0, i1, lf, ld, sum_f32, n1 > 0, acc);
}

#endif

#ifdef HAVE_AVX512_KERNEL
/* One entry on a 16-bit word of 32 rows: a compare of 32 ranks into a lane
 * mask, then the word ANDed with the mask where the row goes right. */
#    define WSTEP(sv, x)                                                                           \
        do {                                                                                       \
            __m512i k_ = _mm512_set1_epi32((x)->k2), m_ = _mm512_set1_epi32((x)->m2);              \
            __mmask32 rt_ = _mm512_cmple_epi16_mask(                                               \
                    k_, _mm512_load_si512((const void *)(r16 + (x)->off)));                        \
            sv = _mm512_mask_blend_epi16(rt_, sv, _mm512_and_si512(sv, m_));                       \
        } while (0)

/* Two 16-bit words of 32 rows as 32-bit words: rows 0-15 (half 0) or
 * 16-31 (half 1). The 16-bit lanes hold rows 0, 16, 1, 17, ... (the rank
 * copy is laid out so), so each half is a shift and a bit select, without
 * the shuffles that would queue on the compares' port. */
TARGET512 static inline __m512i join16(__m512i lo, __m512i hi, int half)
{
    /* (a & b) | c */
    if (half == 0) {
        return _mm512_ternarylogic_epi32(lo, _mm512_set1_epi32(0xffff), _mm512_slli_epi32(hi, 16),
                                         0xea);
    }
    return _mm512_ternarylogic_epi32(hi, _mm512_set1_epi32((int32_t)0xffff0000u),
                                     _mm512_srli_epi32(lo, 16), 0xea);
}

/* Each row's leaf from its 16-bit words: the lowest bit set in s0..s3
 * (words 0-3: leaves 0-15 .. 48-63), or in s0, s1 for trees of up to 32
 * leaves; i0
 * for rows 0-15, i1 for rows 16-31. */
TARGET512 static inline void exit16(__m512i s0, __m512i s1, __m512i s2, __m512i s3, bool wide,
                                    __m512i *i0, __m512i *i1)
{
    __m512i lo0 = join16(s0, s1, 0), lo1 = join16(s0, s1, 1);
    if (!wide) {
        *i0 = ctz512(lo0);
        *i1 = ctz512(lo1);
        return;
    }
    __m512i k32 = _mm512_set1_epi32(32);
    __m512i hi0 = join16(s2, s3, 0), hi1 = join16(s2, s3, 1);
    *i0 = _mm512_mask_blend_epi32(_mm512_test_epi32_mask(lo0, lo0),
                                  _mm512_add_epi32(ctz512(hi0), k32), ctz512(lo0));
    *i1 = _mm512_mask_blend_epi32(_mm512_test_epi32_mask(lo1, lo1),
                                  _mm512_add_epi32(ctz512(hi1), k32), ctz512(lo1));
}

#    define STEP1(u, x) WSTEP(s##u, x)

/* walk_add_avx512 on 16-bit ranks and words: one compare per entry for 32
 * rows. */
TARGET512 static void walk_add_avx512w(const struct tm__compiled *c, int32_t t,
                                       const int32_t *restrict rb, const float *lf,
                                       const double *ld, bool sum_f32, void *acc)
{
    const char *r16 = (const char *)(rb + c->rank16_at);
    bool wide = c->qw_words[t] == 4;
    __m512i ones = _mm512_set1_epi32(-1), s0 = ones, s1 = ones, s2 = ones, s3 = ones;
    WORDS(STEP1);
    __m512i i0, i1;
    exit16(s0, s1, s2, s3, wide, &i0, &i1);
    add_leaves512(i0, i1, lf, ld, sum_f32, wide, acc);
}
#    undef STEP1

/* One entry on word u of the four blocks of a group (states s0u..s3u):
 * its key and mask are broadcast once. */
#    define GONE(sv, r, k, m, x)                                                                   \
        do {                                                                                       \
            __mmask32 rt_ =                                                                        \
                    _mm512_cmple_epi16_mask(k, _mm512_load_si512((const void *)((r) + (x)->off))); \
            sv = _mm512_mask_blend_epi16(rt_, sv, _mm512_and_si512(sv, m));                        \
        } while (0)
#    define GSTEP(u, x)                                                                            \
        do {                                                                                       \
            __m512i k_ = _mm512_set1_epi32((x)->k2), m_ = _mm512_set1_epi32((x)->m2);              \
            GONE(s0##u, r0, k_, m_, x);                                                            \
            GONE(s1##u, r1, k_, m_, x);                                                            \
            GONE(s2##u, r2, k_, m_, x);                                                            \
            GONE(s3##u, r3, k_, m_, x);                                                            \
        } while (0)

/* walk_add_avx512w for the four blocks of a group at once (rb[g],
 * acc[g]): the entries are read once for all four. */
TARGET512 static void walk_add_avx512w4(const struct tm__compiled *c, int32_t t, int32_t *const *rb,
                                        const float *lf, const double *ld, bool sum_f32,
                                        void *const *acc)
{
    const char *r0 = (const char *)(rb[0] + c->rank16_at),
               *r1 = (const char *)(rb[1] + c->rank16_at),
               *r2 = (const char *)(rb[2] + c->rank16_at),
               *r3 = (const char *)(rb[3] + c->rank16_at);
    bool wide = c->qw_words[t] == 4;
    __m512i o = _mm512_set1_epi32(-1);
    __m512i s00 = o, s01 = o, s02 = o, s03 = o, s10 = o, s11 = o, s12 = o, s13 = o;
    __m512i s20 = o, s21 = o, s22 = o, s23 = o, s30 = o, s31 = o, s32 = o, s33 = o;
    WORDS(GSTEP);
    __m512i i0, i1;
    exit16(s00, s01, s02, s03, wide, &i0, &i1);
    add_leaves512(i0, i1, lf, ld, sum_f32, wide, acc[0]);
    exit16(s10, s11, s12, s13, wide, &i0, &i1);
    add_leaves512(i0, i1, lf, ld, sum_f32, wide, acc[1]);
    exit16(s20, s21, s22, s23, wide, &i0, &i1);
    add_leaves512(i0, i1, lf, ld, sum_f32, wide, acc[2]);
    exit16(s30, s31, s32, s33, wide, &i0, &i1);
    add_leaves512(i0, i1, lf, ld, sum_f32, wide, acc[3]);
}
#    undef GONE
#    undef GSTEP
#    undef WORDS
#    undef WORD_RUN
#    undef WSTEP
#endif

void tm__forest_qs_walk(const struct tm__compiled *c, int32_t t, const int32_t *restrict rb,
                        int32_t *restrict idx)
{
#ifdef HAVE_AVX2_KERNEL
    if (c->qs_kernel >= TM__QS_AVX2) {
        walk_avx2(c, t, rb, idx);
        return;
    }
#endif
    walk_plain(c, t, rb, idx);
}

bool tm__forest_qs_walk_add4(const struct tm__compiled *c, int32_t t, int32_t *const *rb,
                             const float *lf, const double *ld, bool sum_f32, void *const *acc)
{
#ifdef HAVE_AVX512_KERNEL
    if (c->qs_kernel == TM__QS_AVX512W) {
        walk_add_avx512w4(c, t, rb, lf, ld, sum_f32, acc);
        return true;
    }
#endif
    (void)c, (void)t, (void)rb, (void)lf, (void)ld, (void)sum_f32, (void)acc;
    return false;
}

void tm__forest_qs_walk_add(const struct tm__compiled *c, int32_t t, const int32_t *restrict rb,
                            const float *lf, const double *ld, bool sum_f32, void *acc,
                            int32_t *restrict idx)
{
#ifdef HAVE_AVX512_KERNEL
    if (c->qs_kernel == TM__QS_AVX512W) {
        walk_add_avx512w(c, t, rb, lf, ld, sum_f32, acc);
        return;
    }
    if (c->qs_kernel == TM__QS_AVX512) {
        walk_add_avx512(c, t, rb, lf, ld, sum_f32, acc);
        return;
    }
#endif
#ifdef HAVE_AVX2_KERNEL
    if (c->qs_kernel == TM__QS_AVX2W) {
        walk_add_avx2w(c, t, rb, lf, ld, sum_f32, acc);
        return;
    }
    if (c->qs_kernel == TM__QS_AVX2) {
        walk_add_avx2(c, t, rb, lf, ld, sum_f32, acc);
        return;
    }
#endif
    tm__forest_qs_walk(c, t, rb, idx);
    if (sum_f32) {
        float *a = acc;
        for (int r = 0; r < TM__BLOCK; r++) {
            a[r] += lf[idx[r]];
        }
    } else {
        double *a = acc;
        for (int r = 0; r < TM__BLOCK; r++) {
            a[r] += ld[idx[r]];
        }
    }
}

tm__qs_kernel tm__forest_qs_cpu_kernel(void)
{
#ifdef HAVE_AVX512_KERNEL
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw")) {
        return TM__QS_AVX512W;
    }
#endif
#ifdef HAVE_AVX2_KERNEL
    if (__builtin_cpu_supports("avx2")) {
        return TM__QS_AVX2W;
    }
#endif
    return TM__QS_PLAIN;
}
