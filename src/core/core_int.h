/* Core internals shared by the JSON, UBJSON and CSV readers: the arena
 * behind a tm_json_doc, the scratch stack that collects container members
 * while they are parsed, a huge-page hint for large fresh blocks, and a
 * fast exact decimal-to-double conversion. Only src/core includes this. */
#ifndef TURBOMODE_CORE_INT_H
#define TURBOMODE_CORE_INT_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <turbomode/core.h>

/* Nesting limit of JSON and UBJSON documents: deeper input is refused
 * rather than risking the C stack on hostile files. */
#define TM__CORE_MAX_DEPTH 512

/* One block of an arena; data follows the header. */
typedef struct tm__core_chunk tm__core_chunk;

/* A parsed document: every tm_json, item array, key and string of the
 * tree lives in the arena chunks; text is the document's own copy of the
 * JSON input (strings are unescaped inside it, numbers point into it). */
struct tm_json_doc {
    tm__core_chunk *chunks; /* newest first */
    size_t next_size;       /* size of the next ordinary chunk, bytes */
    char *text;             /* JSON text copy, NUL-terminated; NULL for UBJSON */
    tm_json *root;          /* NULL until the parse succeeds */
};

/* An empty document (no chunks yet); NULL when out of memory. */
tm_json_doc *tm__core_doc_new(void);
/* size bytes aligned for any tm_json member, valid until the document is
 * freed; NULL when out of memory or when size is absurd. */
void *tm__core_alloc(tm_json_doc *doc, size_t size);
/* n * size bytes, overflow-checked; NULL on overflow or out of memory. */
void *tm__core_alloc_n(tm_json_doc *doc, size_t n, size_t size);

/* Asks the kernel to back the 2 MiB-aligned interior of a fresh block of
 * n bytes at p with huge pages before it is first written. Large parse
 * results (arena chunks, CSV values) are written once, front to back, and
 * faulting them in 4 KiB at a time costs more than parsing (tenfold on
 * some virtual machines). A hint only: no effect where unsupported. */
void tm__core_advise_huge(void *p, size_t n);

/* Members of the containers being parsed, innermost last. A container
 * remembers the stack height when it opens and, when it closes, moves its
 * members into the arena with tm__core_stack_commit. */
typedef struct tm__core_member {
    const char *key; /* object key, NULL in arrays */
    tm_json *val;
} tm__core_member;

typedef struct tm__core_stack {
    tm__core_member *m; /* tm_malloc'd, owned */
    size_t n;           /* members in use */
    size_t cap;         /* members allocated */
} tm__core_stack;

/* Appends a member; false when out of memory (the stack is unchanged). */
bool tm__core_stack_push(tm__core_stack *st, const char *key, tm_json *val);
/* Moves members [base, n) into node's items (and keys when node is an
 * object), sets node->len, and pops them. False when out of memory. */
bool tm__core_stack_commit(tm__core_stack *st, size_t base, tm_json_doc *doc, tm_json *node);
void tm__core_stack_free(tm__core_stack *st);

/* The JSON text parser's state (json.c, json_text.c). */
typedef struct tm__core_json_parser {
    char *p;          /* next byte, inside doc->text */
    char *end;        /* doc->text + len; *end == 0 */
    long line;        /* 1-based line of p */
    const char *path; /* for messages */
    tm_json_doc *doc;
    tm__core_stack st; /* members of the open containers */
    tm_err *err;
    double *dv;              /* scratch of a typed array being parsed: values, */
    int32_t *iv;             /* the same as int32, */
    uint8_t *bits;           /* which were integer tokens */
    size_t cap;              /* elements the scratch holds */
    const char *const *drop; /* keys whose values are not kept */
    size_t n_drop;
    int dropping; /* > 0: inside a dropped value, nothing is stored */
} tm__core_json_parser;

/* Records a parse error at ps->line with a printf reason; returns st. */
tm_status tm__core_json_fail(tm__core_json_parser *ps, tm_status st, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
/* How the byte at p reads in a message: 'x', '\xNN' or end of input
 * (buf holds the text). */
const char *tm__core_json_found(const tm__core_json_parser *ps, const char *p, char buf[16]);
/* Parses the string whose opening quote is at ps->p; the result is
 * unescaped in place and NUL-terminated where its closing quote was. */
tm_status tm__core_json_string(tm__core_json_parser *ps, const char **out, size_t *len);

/* Arrays of numbers are stored typed (tm_json.typed) when they have at
 * least this many elements. */
#define TM__CORE_TYPED_MIN 64

/* Stores n numbers as typed array node (type ARRAY, len n) of the given
 * kind: I32 from iv, F32 from fv, F64 from dv and int_bits (bit i:
 * element i was an integer token). False when out of memory. */
bool tm__core_typed_store(tm_json_doc *doc, tm_json *node, size_t n, tm_json_typed_kind kind,
                          const int32_t *iv, const float *fv, const double *dv,
                          const uint8_t *int_bits);

/* Element i (< a->len) of typed array a as a number node (line: a's). */
static inline tm_json tm__core_typed_get(const tm_json *a, size_t i)
{
    tm_json v = {.type = TM_JSON_NUMBER, .line = a->line};
    if (a->typed_kind == TM_JSON_TYPED_I32) {
        v.is_int = true;
        v.inum = ((const int32_t *)a->typed)[i];
        v.num = (double)v.inum;
    } else if (a->typed_kind == TM_JSON_TYPED_F32) {
        v.is_f32 = true;
        v.f32 = ((const float *)a->typed)[i];
        v.num = (double)v.f32;
    } else {
        const double *d = (const double *)a->typed;
        const uint8_t *bits = (const uint8_t *)(d + a->len);
        v.num = d[i];
        v.is_int = (bits[i / 8] >> (i % 8)) & 1u;
        v.inum = v.is_int ? (int64_t)v.num : 0;
    }
    return v;
}

/* True when d lies exactly halfway between two adjacent finite float32s,
 * where (float)d rounds twice and can differ from the float32 nearest the
 * decimal text. Where both neighbours are normal floats (FLT_MIN <= |d| <=
 * FLT_MAX) that is a bit test: float32 keeps 24 of the 53 significand bits
 * and d sits halfway iff the 29 it drops are exactly 1 followed by zeros.
 * Elsewhere (float32 subnormals, beyond FLT_MAX, NaN) the neighbours are
 * computed. */
static inline bool tm__core_f32_midpoint(double d)
{
    double a = fabs(d);
    if (a >= 0x1p-126 && a <= 0x1.fffffep127) {
        uint64_t bits;
        memcpy(&bits, &d, sizeof bits);
        return (bits & ((UINT64_C(1) << 29) - 1)) == UINT64_C(1) << 28;
    }
    float f = (float)d;
    if ((double)f == d || isinf(f)) {
        return false;
    }
    float g = nextafterf(f, d > (double)f ? INFINITY : -INFINITY);
    return d == ((double)f + (double)g) * 0.5;
}

/* Powers of ten that doubles hold exactly (10^0 .. 10^22). */
extern const double tm__core_pow10[23];

/* Value of the leading decimal digits of the 8 bytes at p (at most 8) and
 * their count in *n_digits. Eight bytes must be readable at p. Digits are
 * combined in place: pairs, then quads, then the eight (SWAR). */
static inline uint64_t tm__core_digits8(const char *p, int *n_digits)
{
    uint64_t x;
    memcpy(&x, p, 8);
    x ^= UINT64_C(0x3030303030303030); /* digit bytes become 0..9 */
    /* High bit of each byte that is not 0..9. A carry out of a byte >= 0x8a
     * can only spoil the flags of later bytes, never of earlier ones, and
     * only the first flagged byte is used. */
    uint64_t bad = ((x + UINT64_C(0x7676767676767676)) | x) & UINT64_C(0x8080808080808080);
    int k = bad ? __builtin_ctzll(bad) / 8 : 8;
    *n_digits = k;
    if (k == 0) {
        return 0;
    }
    x <<= 8 * (8 - k); /* the first digit is the low byte: pad with leading zeros */
    x = (x * 10 + (x >> 8)) & UINT64_C(0x00ff00ff00ff00ff);
    x = (x * 100 + (x >> 16)) & UINT64_C(0x0000ffff0000ffff);
    return (x * 10000 + (x >> 32)) & UINT64_C(0xffffffff);
}

/* Appends the run of digits at *pp to *m (while at most 19 digits are
 * kept; *n counts them all) and returns how many there were. */
static inline __attribute__((always_inline)) int
tm__core_digit_run(const char **pp, const char *end, uint64_t *m, int *n)
{
    static const uint64_t scale[9] = {1,      10,      100,      1000,     10000,
                                      100000, 1000000, 10000000, 100000000};
    const char *p = *pp;
    int total = 0;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    while (end - p >= 8) {
        int k;
        uint64_t v = tm__core_digits8(p, &k);
        if (*n + k <= 19) {
            *m = *m * scale[k] + v;
        }
        *n += k;
        p += k;
        total += k;
        if (k < 8) {
            *pp = p;
            return total;
        }
    }
#endif
    for (; p < end && (unsigned)(*p - '0') < 10; p++, total++) {
        if (*n < 19) {
            *m = *m * 10 + (uint64_t)(*p - '0');
        }
        (*n)++;
    }
    *pp = p;
    return total;
}

/* Scans a plain decimal ([+-]digits[.digits][(e|E)[+-]digits], at least
 * one mantissa digit) starting at p and stops at the first character that
 * cannot continue it, storing that position in *stop. Returns true and the
 * correctly rounded value when the exact fast path applies (at most 19
 * digits, leading zeros included, mantissa <= 2^53, |power of ten| <= 22,
 * or a zero mantissa): both operands are exact doubles, so one IEEE
 * multiply or divide rounds correctly. Returns false otherwise, and the
 * caller falls back to tm_parse_double. Needs FLT_EVAL_METHOD 0 (SSE2 and
 * every 64-bit ABI). */
static inline __attribute__((always_inline)) bool
tm__core_fast_double(const char *p, const char *end, double *out, const char **stop)
{
    bool neg = false;
    uint64_t m = 0;
    int n_dig = 0, e10 = 0;
    if (p < end && (*p == '-' || *p == '+')) {
        neg = *p == '-';
        p++;
    }
    int n_int = tm__core_digit_run(&p, end, &m, &n_dig), n_frac = 0;
    if (p < end && *p == '.') {
        p++;
        n_frac = tm__core_digit_run(&p, end, &m, &n_dig);
        e10 = -n_frac;
    }
    *stop = p;
    if (n_int + n_frac == 0) {
        return false;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        const char *q = p + 1;
        bool eneg = false;
        int ev = 0;
        if (q < end && (*q == '-' || *q == '+')) {
            eneg = *q == '-';
            q++;
        }
        if (q == end || (unsigned)(*q - '0') >= 10) {
            return false; /* "1e" / "1e+": not a number, stop before 'e' */
        }
        for (; q < end && (unsigned)(*q - '0') < 10; q++) {
            if (ev < 100000) {
                ev = ev * 10 + (*q - '0');
            }
        }
        *stop = q;
        e10 += eneg ? -ev : ev;
    }
    if (n_dig > 19) {
        return false;
    }
    if (m == 0) {
        *out = neg ? -0.0 : 0.0;
        return true;
    }
    if (m > (UINT64_C(1) << 53) || e10 < -22 || e10 > 22) {
        return false;
    }
    double d = (double)m;
    d = e10 < 0 ? d / tm__core_pow10[-e10] : d * tm__core_pow10[e10];
    *out = neg ? -d : d;
    return true;
}

#endif /* TURBOMODE_CORE_INT_H */
