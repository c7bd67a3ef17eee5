/* TurboMode core: status codes and error details, allocation, a JSON/UBJSON
 * document model, a CSV reader and a few time helpers. Every other module
 * builds on this vocabulary; core knows nothing of trees or stocks. */
#ifndef TURBOMODE_CORE_H
#define TURBOMODE_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status codes ------------------------------------------------------ */

/* X(code, value, name, default text): the one table of status codes. */
#define TM_STATUS_MAP(X)                                                                           \
    X(TM_OK, 0, "ok", "success")                                                                   \
    X(TM_E_NOMEM, 1, "nomem", "out of memory")                                                     \
    X(TM_E_IO, 2, "io", "input/output error")                                                      \
    X(TM_E_PARSE, 3, "parse", "malformed input")                                                   \
    X(TM_E_FORMAT, 4, "format", "unsupported or unrecognised format")                              \
    X(TM_E_INVALID, 5, "invalid", "invalid argument or value")                                     \
    X(TM_E_RANGE, 6, "range", "value out of range")                                                \
    X(TM_E_DB, 7, "db", "database error")                                                          \
    X(TM_E_BUSY, 8, "busy", "resource busy")                                                       \
    X(TM_E_INTERNAL, 9, "internal", "internal error")                                              \
    X(TM_E_SYSTEM, 10, "system", "the system could not do it (disk full, I/O error)")

typedef enum tm_status {
#define TM_STATUS_ENUM(code, value, name, text) code = value,
    TM_STATUS_MAP(TM_STATUS_ENUM)
#undef TM_STATUS_ENUM
} tm_status;

/* Short name of a status ("nomem"); a static string, never NULL. */
const char *tm_status_name(tm_status st);
/* Default one-line text of a status; a static string, never NULL. */
const char *tm_status_text(tm_status st);

/* Error details, owned by the caller, no heap (works out of memory).
 * Functions taking a `tm_err *err` accept NULL. The first error wins: once
 * err->status != TM_OK, later tm_err_set calls leave it unchanged. */
typedef struct tm_err {
    tm_status status;     /* TM_OK while no error was recorded */
    char path[256];       /* input file (or "" when none) */
    long line;            /* 1-based line, 0 if none */
    char field[160];      /* column/field/key name or path, "" if none */
    char reason[512];     /* one line, lower case, no final period */
    const char *src_file; /* C file that raised it (debug aid) */
    int src_line;         /* C line that raised it */
} tm_err;

/* Sets every field to "no error". */
void tm_err_init(tm_err *err);

/* Records an error if none is recorded yet; returns st so callers can
 * `return TM_ERR(err, TM_E_PARSE, path, line, field, "fmt", ...)`.
 * path and field may be NULL. The reason is printf-formatted. */
tm_status tm__err_set(tm_err *err, tm_status st, const char *path, long line, const char *field,
                      const char *src_file, int src_line, const char *fmt, ...)
        __attribute__((format(printf, 8, 9)));
#define TM_ERR(err, st, path, line, field, ...)                                                    \
    tm__err_set((err), (st), (path), (line), (field), __FILE__, __LINE__, __VA_ARGS__)

/* Formats err as the one-line message the CLI prints:
 * "PATH:LINE: field 'F': REASON" (parts omitted when empty). Returns buf. */
char *tm_err_format(const tm_err *err, char *buf, size_t len);

/* ---- allocation -------------------------------------------------------- */

/* All library allocation goes through these. Counts are overflow-checked:
 * tm_malloc_n(n, size) returns NULL when n*size overflows. */
void *tm_malloc(size_t size);
void *tm_malloc_n(size_t n, size_t size);
void *tm_calloc(size_t n, size_t size);
/* On failure returns NULL and p stays valid; on success p is dead. */
void *tm_realloc_n(void *p, size_t n, size_t size);
/* 64-byte aligned block, size rounded up to a multiple of 64; free with
 * tm_free. */
void *tm_aligned_alloc(size_t size);
void tm_free(void *p);
char *tm_strdup(const char *s);
char *tm_strndup(const char *s, size_t n);

/* Test hook: the Nth allocation from now (1-based) and every later one fail
 * while n > 0; 0 turns failure injection off. Not thread-safe. */
void tm_alloc_fail_after(long n);
/* Number of allocations made since the last tm_alloc_fail_after call. */
long tm_alloc_count(void);

/* Test control: a named point in a long job ("scan", "meta_retrain").
 * Does nothing, except in the test build of the program, where
 * $TM_TEST_PAUSE_AT=NAME:FILE makes the process create FILE at point NAME
 * and sleep up to a minute, so a test can kill -9 it mid-job. */
void tm_test_point(const char *name);

/* ---- files ------------------------------------------------------------- */

/* The status for a failed system call's errno: TM_E_SYSTEM when the
 * machine ran out of something or failed (ENOSPC, EDQUOT, EFBIG, EIO,
 * EMFILE, ENFILE: not the input's fault), else TM_E_IO. */
tm_status tm_errno_status(int e);

/* Reads a whole file into a NUL-terminated heap buffer (free with tm_free);
 * *len gets the size without the NUL. */
tm_status tm_file_read(const char *path, char **out, size_t *len, tm_err *err);

/* An output file. A regular file (or a new one) gets its data in
 * "PATH.tmp.XXXXXX" next to it, fsync'd and renamed over PATH by
 * tm_atomic_commit; tm_atomic_abort (or a failed commit) removes the
 * temporary, leaving PATH as it was. A symbolic link is followed and its
 * target replaced that way. A device or FIFO is written in place (direct),
 * and "-" means stdout. Errors: TM_E_INVALID when the location is wrong (a
 * directory, a missing directory, no permission), TM_E_IO when writing
 * fails, with the system's reason ("No space left on device"). Setting
 * no_sync after tm_atomic_open skips the fsyncs at commit (for files that
 * can be rebuilt: the rename stays atomic, a crash may lose the update). */
typedef struct tm_atomic {
    void *fp;        /* FILE *, opened for writing */
    char path[4096]; /* final path, links resolved ("-": stdout) */
    char tmp[4096];  /* temporary path, "" when direct */
    bool direct;     /* written in place: stdout, a device or a FIFO */
    bool no_sync;    /* commit without fsync of the file and its directory */
} tm_atomic;
tm_status tm_atomic_open(tm_atomic *a, const char *path, tm_err *err);
tm_status tm_atomic_commit(tm_atomic *a, tm_err *err);
void tm_atomic_abort(tm_atomic *a);

/* Checks, before any work, that path can be written as tm_atomic_open
 * would write it: not a directory, its directory exists and takes a new
 * file (proven by creating and removing one), a device or FIFO is
 * writable. Nothing is left behind. Errors as tm_atomic_open's. */
tm_status tm_output_check(const char *path, tm_err *err);

/* Several outputs written all or none: tm_outputs_add checks each
 * location before the work (as tm_output_check) and gives the path the
 * writer should use (a staged name next to the final file; the path
 * itself for "-", devices and FIFOs, which cannot be staged);
 * tm_outputs_commit renames every staged file onto its final name once all
 * are written. Caller-owned, no heap. */
typedef struct tm_outputs {
    size_t n;
    struct tm_output_item {
        char given[4096];  /* the path as given, for messages */
        char final[4096];  /* target, links resolved */
        char staged[4096]; /* where the writer writes; "" when direct */
    } item[4];
} tm_outputs;
void tm_outputs_init(tm_outputs *o);
tm_status tm_outputs_add(tm_outputs *o, const char *path, const char **write_to, tm_err *err);
tm_status tm_outputs_commit(tm_outputs *o, tm_err *err);
/* Removes the staged files; a message in err (may be NULL) that names a
 * staged file is changed to name the output as given. */
void tm_outputs_abort(tm_outputs *o, tm_err *err);

/* ---- numbers ----------------------------------------------------------- */

/* Parses a decimal number (correctly rounded, via strtod), "nan"/"NaN"
 * (any case), "inf", "-inf", "+inf", "Infinity", "-Infinity". The whole
 * of s[0..len) must be consumed. Returns false on anything else. */
bool tm_parse_double(const char *s, size_t len, double *out);
/* Same for float32, correctly rounded from the decimal text (strtof). */
bool tm_parse_float(const char *s, size_t len, float *out);

/* Index of the largest of v[0], v[stride], ..., v[(n-1)*stride]: the first
 * one on ties (classes: ties go to the lower class index). NaN never
 * compares larger, so a NaN is chosen only at index 0 or when all are NaN.
 * 0 when n is 0. */
size_t tm_argmax(const double *v, size_t n, size_t stride);

/* Monotonic seconds, for timings and progress. */
double tm_now_seconds(void);

/* ---- calendar ---------------------------------------------------------- */

/* Proleptic Gregorian calendar arithmetic, as Python's datetime does it.
 * Day numbers count from 1970-01-01 (day 0); months are 1..12; dates as
 * int32 are YYYYMMDD. Pure functions, thread-safe. */

/* Floor division and the matching modulo (Python's // and %); b != 0. */
int64_t tm_floordiv(int64_t a, int64_t b);
int64_t tm_floormod(int64_t a, int64_t b);
/* Day number of a civil date (y, m, d), and back. */
int64_t tm_days_from_civil(int64_t y, int m, int d);
void tm_civil_from_days(int64_t days, int *y, int *m, int *d);
bool tm_is_leap_year(int64_t y);
/* Days in month m (1..12) of year y. */
int tm_days_in_month(int y, int m);
/* Monday = 0 .. Sunday = 6 (Python's date.weekday()). */
int tm_weekday(int y, int m, int d);
/* ISO 8601 week number (date.isocalendar()[1]). */
int tm_iso_week(int y, int m, int d);
/* Day number of a YYYYMMDD date, and back. */
int64_t tm_ymd_days(int32_t ymd);
int32_t tm_ymd_from_days(int64_t days);
/* "YYYY-MM-DDTHH:MM:SSZ" of seconds since the epoch (UTC) into buf
 * (at least 21 bytes); returns buf. */
char *tm_utc_iso(int64_t unix_seconds, char *buf, size_t len);

/* ---- JSON / UBJSON document ------------------------------------------- */

typedef enum tm_json_type {
    TM_JSON_NULL,
    TM_JSON_BOOL,
    TM_JSON_NUMBER, /* num holds the double value; text the source token */
    TM_JSON_STRING,
    TM_JSON_ARRAY,
    TM_JSON_OBJECT,
} tm_json_type;

/* How a typed array stores its numbers. */
typedef enum tm_json_typed_kind {
    TM_JSON_TYPED_I32 = 1, /* int32 values (integer tokens) */
    TM_JSON_TYPED_F32,     /* float32 values (UBJSON 'd') */
    TM_JSON_TYPED_F64,     /* doubles, then a bit per element: an integer token */
} tm_json_typed_kind;

/* A parsed document is a tree of tm_json values allocated in one arena,
 * owned by the tm_json_doc and freed with tm_json_doc_free. */
typedef struct tm_json tm_json;
struct tm_json {
    tm_json_type type;
    bool boolean;       /* TM_JSON_BOOL */
    bool is_int;        /* NUMBER that came as an integer token/marker */
    bool is_f32;        /* NUMBER that came from a UBJSON float32 ('d') */
    uint8_t typed_kind; /* ARRAY stored typed: a tm_json_typed_kind, else 0 */
    double num;         /* NUMBER (int64 values above 2^53 lose precision) */
    int64_t inum;       /* NUMBER when is_int */
    float f32;          /* NUMBER when is_f32, the exact float32 */
    const char *str;    /* STRING: NUL-terminated; NUMBER (JSON): token text */
    size_t len;         /* STRING/NUMBER text length; ARRAY/OBJECT count */
    tm_json **items;    /* ARRAY elements / OBJECT values; NULL when typed */
    const void *typed;  /* typed ARRAY: its len numbers (see tm_json_typed_kind);
                           read them with tm_json_at */
    const char **keys;  /* OBJECT keys, NUL-terminated */
    long line;          /* source line (JSON) or byte offset (UBJSON) */
};

typedef struct tm_json_doc tm_json_doc;

/* Parses JSON text (RFC 8259 plus the bare tokens NaN, Infinity,
 * -Infinity that XGBoost writes). path is used in messages only.
 * On failure *out is NULL and err names the line and the reason. */
tm_status tm_json_parse(const char *text, size_t len, const char *path, tm_json_doc **out,
                        tm_err *err);

/* Options of tm_json_parse_owned; tm_json_parse_opts_init sets the
 * defaults (keep every value). */
typedef struct tm_json_parse_opts {
    /* Object keys, at any depth, whose values are parsed and checked as
     * usual (a syntax error inside one still fails the parse) but not
     * kept: the member stays, its value reads as null. Borrowed for the
     * call. Saves the memory of values the caller never reads. */
    const char *const *drop_keys;
    size_t n_drop_keys;
} tm_json_parse_opts;

void tm_json_parse_opts_init(tm_json_parse_opts *opts);

/* tm_json_parse without the copy: parses text in place (strings are
 * unescaped inside it) and hands it to the document. text must come from
 * tm_malloc, hold len bytes and a NUL at text[len]; the call takes it over
 * whatever it returns: the document frees it with tm_json_doc_free, and a
 * failed call frees it before returning. opts may be NULL (defaults). */
tm_status tm_json_parse_owned(char *text, size_t len, const char *path,
                              const tm_json_parse_opts *opts, tm_json_doc **out, tm_err *err);

/* Parses UBJSON (the subset XGBoost writes, optimised typed arrays
 * included) into the same document model. */
tm_status tm_ubjson_parse(const unsigned char *data, size_t len, const char *path,
                          tm_json_doc **out, tm_err *err);
const tm_json *tm_json_root(const tm_json_doc *doc);
void tm_json_doc_free(tm_json_doc *doc);

/* Object member by key, or NULL (also NULL when obj is not an object). */
const tm_json *tm_json_get(const tm_json *obj, const char *key);
/* Array element i, or NULL when out of range / not an array. Long arrays
 * of numbers (JSON on one line, UBJSON typed containers) are stored typed,
 * 4 or 8 bytes a number; an element of such an array is a view written
 * into a small per-thread ring, valid until 16 more elements of typed
 * arrays are read in the same thread (copy what must live longer). Its
 * line is the array's, and it has no source text (str NULL). */
const tm_json *tm_json_at(const tm_json *arr, size_t i);
/* Number value as float32, correctly rounded from the source text when the
 * document came from JSON text, exact when it came from UBJSON float32. */
float tm_json_f32(const tm_json *num);

/* ---- typed JSON getters (json_get.c) ----------------------------------- */

/* Readers of a parsed document that check what they read and, when a value
 * is missing or of the wrong type, record a one-line error naming the file,
 * the line (JSON text) and the value's path, e.g.
 *   "m.json:9: field 'learner.gradient_booster.model.trees[3].split_conditions':
 *    expected an array of numbers, found a string".
 * A path is `where` (the enclosing value's path, "" or NULL at the top)
 * joined with `key`; array elements add "[i]". Every getter returns TM_OK
 * or the recorded status (TM_E_PARSE for a missing or mistyped value), and
 * on failure leaves *out at its documented default. Arrays of numbers are
 * read element by element through tm_json_at, so they work whatever the
 * parser's storage of the array. */
typedef struct tm_json_ctx {
    const char *path; /* file named in messages */
    bool has_lines;   /* tm_json.line is a source line (JSON text), not a UBJSON offset */
    tm_err *err;      /* caller's; may be NULL */
} tm_json_ctx;

/* Any array length, for tm_json_member_nums. */
#define TM_JSON_ANY_LEN ((size_t)-1)

/* "null", "a boolean", "a number", "a string", "an array", "an object";
 * "nothing" for NULL. A static string. */
const char *tm_json_type_name(const tm_json *v);
/* The value itself for messages when short ("found 2.5", "found \"abc\"",
 * "found true"), else its type name. Uses buf (at least 48 bytes) for the
 * text; returns buf or a static string. */
const char *tm_json_found(const tm_json *v, char *buf, size_t len);
/* Records an error at value at (its line) for the path where.key (either
 * may be NULL) with a printf reason; returns st. */
tm_status tm_json_fail(const tm_json_ctx *c, tm_status st, const tm_json *at, const char *where,
                       const char *key, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Checks that v, the value at where.key (inside parent, which gives the
 * line when v is NULL), has type t. */
tm_status tm_json_expect(const tm_json_ctx *c, const tm_json *v, const tm_json *parent,
                         const char *where, const char *key, tm_json_type t);
/* obj[key] of type t into *out. Missing (or null, when optional): an error
 * unless optional, in which case *out is NULL and TM_OK is returned. A
 * non-object obj counts as having no members. */
tm_status tm_json_member(const tm_json_ctx *c, const tm_json *obj, const char *where,
                         const char *key, tm_json_type t, bool optional, const tm_json **out);
/* obj[key] as an integer-valued number in lo..hi; when optional and
 * missing, *out = dflt. */
tm_status tm_json_member_int(const tm_json_ctx *c, const tm_json *obj, const char *where,
                             const char *key, int64_t lo, int64_t hi, bool optional, int64_t dflt,
                             int64_t *out);
/* obj[key] as a number (any value, NaN and infinities included when the
 * document holds them); when optional and missing, *out = dflt. */
tm_status tm_json_member_num(const tm_json_ctx *c, const tm_json *obj, const char *where,
                             const char *key, bool optional, double dflt, double *out);
/* obj[key] as an array of n numbers (any length when n is TM_JSON_ANY_LEN).
 * Its elements are checked as they are read with the *_at getters. */
tm_status tm_json_member_nums(const tm_json_ctx *c, const tm_json *obj, const char *where,
                              const char *key, size_t n, bool optional, const tm_json **out);
/* Element i of arr (path where) as an integer in lo..hi; *out = 0 on error. */
tm_status tm_json_int_at(const tm_json_ctx *c, const tm_json *arr, const char *where, size_t i,
                         int64_t lo, int64_t hi, int64_t *out);
/* Element i as a flag: a boolean, or the number 0 or 1. */
tm_status tm_json_flag_at(const tm_json_ctx *c, const tm_json *arr, const char *where, size_t i,
                          bool *out);
/* Element i as a number: as float32 (tm_json_f32 rounding) or as double. */
tm_status tm_json_f32_at(const tm_json_ctx *c, const tm_json *arr, const char *where, size_t i,
                         float *out);
tm_status tm_json_num_at(const tm_json_ctx *c, const tm_json *arr, const char *where, size_t i,
                         double *out);

/* ---- growable text buffer ---------------------------------------------- */

/* A growable NUL-terminated string. Appends never fail visibly: when memory
 * runs out the buffer keeps what it had, sets oom and ignores later
 * appends, so a writer checks once at the end (tm_buf_take or oom). Zero
 * initialised (or tm_buf_init) it is empty; tm_buf_fini frees it. */
typedef struct tm_buf {
    char *p;    /* text, NUL-terminated; NULL while nothing was appended */
    size_t len; /* bytes of text, without the NUL */
    size_t cap; /* bytes allocated at p */
    bool oom;   /* an append ran out of memory: the text is incomplete */
} tm_buf;

void tm_buf_init(tm_buf *b);
/* Frees the text; b is empty afterwards. Accepts NULL. */
void tm_buf_fini(tm_buf *b);
/* Appends n bytes of s (which may contain NUL bytes). */
void tm_buf_append(tm_buf *b, const char *s, size_t n);
/* Appends the NUL-terminated s. */
void tm_buf_puts(tm_buf *b, const char *s);
/* Appends printf-formatted text. */
void tm_buf_printf(tm_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text ("" when empty) as a tm_malloc'd string the caller frees with
 * tm_free; b is empty afterwards. TM_E_NOMEM (and *out NULL) when an
 * append ran out of memory; the text is freed then too. */
tm_status tm_buf_take(tm_buf *b, char **out, tm_err *err);

/* ---- JSON writer ------------------------------------------------------- */

/* Appends s (n bytes) to b as a quoted JSON string: quote, backslash and
 * control characters escaped as Python's json.dumps does; with ascii set,
 * DEL and every non-ASCII character too (\\u escapes, surrogate pairs;
 * a byte that is not valid UTF-8 as \\u00XX). */
void tm_json_put_string(tm_buf *b, const char *s, size_t n, bool ascii);

/* Separators: compact ("," and ":") or Python json.dumps' defaults
 * (", " and ": "). */
typedef enum tm_jw_style {
    TM_JW_COMPACT,
    TM_JW_SPACED,
} tm_jw_style;

/* What a NaN or an infinity becomes. JSON has no such numbers, so each
 * writer says which policy its readers expect. */
typedef enum tm_jw_nonfinite {
    TM_JW_NONFINITE_REFUSE, /* the writer fails with TM_E_RANGE naming the key */
    TM_JW_NONFINITE_NULL,   /* null */
    TM_JW_NONFINITE_TOKENS, /* NaN, Infinity, -Infinity (Python's and XGBoost's) */
} tm_jw_nonfinite;

/* Writes JSON text into a tm_buf, placing separators itself: callers only
 * open and close containers, name keys and put values. Strings are
 * escaped (quote, backslash, control characters; with ascii set every
 * non-ASCII character too, as \uXXXX with surrogate pairs, as Python's
 * ensure_ascii does; invalid UTF-8 bytes then come out as \u00XX). Like
 * tm_buf, calls never fail visibly: the first failure (out of memory, a
 * refused non-finite number, a key outside an object, an unbalanced end)
 * is kept and later calls do nothing; tm_jw_finish reports it. */
typedef struct tm_jw {
    tm_buf *out; /* borrowed, appended to */
    tm_jw_style style;
    tm_jw_nonfinite nonfinite;
    bool ascii;          /* escape non-ASCII characters */
    unsigned char *open; /* per open container: 'a'/'o', 'A'/'O' once it has members */
    size_t depth;        /* containers open */
    size_t cap;          /* bytes allocated at open */
    bool after_key;      /* a key was written; its value comes next */
    tm_status status;    /* first failure, TM_OK while none */
    char last_key[64];   /* the latest key (truncated), for messages */
    char what[128];      /* what failed, for tm_jw_finish's message */
} tm_jw;

/* Starts a writer appending to out (borrowed until tm_jw_finish). */
void tm_jw_init(tm_jw *w, tm_buf *out, tm_jw_style style, tm_jw_nonfinite nonfinite, bool ascii);
void tm_jw_object(tm_jw *w);
void tm_jw_object_end(tm_jw *w);
void tm_jw_array(tm_jw *w);
void tm_jw_array_end(tm_jw *w);
/* The key of the next member of the open object. */
void tm_jw_key(tm_jw *w, const char *key);
void tm_jw_string(tm_jw *w, const char *s);
void tm_jw_string_n(tm_jw *w, const char *s, size_t n);
void tm_jw_int(tm_jw *w, int64_t v);
void tm_jw_bool(tm_jw *w, bool v);
void tm_jw_null(tm_jw *w);
/* A double with 17 significant digits (%.17g: reads back bit-identical). */
void tm_jw_double(tm_jw *w, double v);
/* A double with a fixed number of decimals (%.*f, decimals 0..17). */
void tm_jw_fixed(tm_jw *w, double v, int decimals);
/* A value token written verbatim (a number already formatted); the caller
 * guarantees it is valid JSON. */
void tm_jw_raw(tm_jw *w, const char *token, size_t n);
/* A parsed value, recursively (numbers keep their source token when they
 * came from JSON text); NULL writes null. */
void tm_jw_value(tm_jw *w, const tm_json *v);
/* Ends the writer: TM_OK when every container was closed and nothing
 * failed, else the first failure with a one-line reason in err. Frees the
 * writer's own memory (not out) either way. */
tm_status tm_jw_finish(tm_jw *w, tm_err *err);

/* ---- CSV --------------------------------------------------------------- */

/* A numeric table read from CSV: a header row of names, then rows of
 * numbers. Missing (empty, nan, NaN) is NaN; inf/-inf parse. Quoted fields
 * and CRLF are accepted. Values are row-major doubles. */
typedef struct tm_csv {
    size_t n_rows;
    size_t n_cols;
    char **names;   /* n_cols header names, owned */
    double *values; /* n_rows * n_cols, row-major, owned */
} tm_csv;

/* Reads a CSV file. A row with a different field count than the header, or
 * a field that is not a number, fails with the 1-based line and the column
 * name in err. Each line after the header is one row: with one column a
 * blank line is a missing value (NaN); with more it is an error, except
 * blank lines at the very end. On failure *out is NULL. Free with
 * tm_csv_free. */
tm_status tm_csv_load(const char *path, tm_csv **out, tm_err *err);
/* Same, from memory; path names the source in messages. */
tm_status tm_csv_parse(const char *text, size_t len, const char *path, tm_csv **out, tm_err *err);
void tm_csv_free(tm_csv *csv);
/* Column index of name, or -1. */
long tm_csv_col(const tm_csv *csv, const char *name);

/* A raw CSV field iterator for text tables (strings allowed): calls
 * row_cb once per record with the unquoted fields (NUL-terminated, valid
 * during the callback only). line is the 1-based line the record starts
 * on. A callback returning non-TM_OK stops the walk with that status. */
typedef tm_status (*tm_csv_row_fn)(void *ctx, long line, size_t n_fields, char *const *fields,
                                   tm_err *err);
tm_status tm_csv_walk(const char *text, size_t len, const char *path, tm_csv_row_fn row_cb,
                      void *ctx, tm_err *err);

/* ---- option tables ------------------------------------------------------ */

/* One row per option of an options struct: its name, type, field, range
 * and help. The table is the one description of the options: command-line
 * parsing, range checks (tm_opt_check, run by the library on every call
 * that takes the struct), help text and the README's option lists are made
 * from it. Defaults stay in the struct's _init function; help shows the
 * field's value after _init (or `shown` when that would not say it). */
typedef enum tm_opt_type {
    TM_OPT_FLAG,   /* bool set to true by the bare option */
    TM_OPT_UNFLAG, /* bool set to false by the bare option (--no-...) */
    TM_OPT_INT,    /* int, a whole number in [min, max] */
    TM_OPT_DOUBLE, /* double, finite, in [min, max] */
    TM_OPT_STRING, /* const char *, borrowed from the text given */
    TM_OPT_DATE,   /* int32_t YYYYMMDD from "YYYY-MM-DD" (a real day) */
    TM_OPT_CHOICE, /* int (an enum), the index of the value in `choices` */
    TM_OPT_UINT64, /* uint64_t, decimal digits only (min and max unused) */
} tm_opt_type;

typedef struct tm_opt {
    const char *name; /* without the dashes: "threads" for --threads */
    tm_opt_type type;
    size_t offset;       /* of the field in the options struct (offsetof) */
    double min, max;     /* INT and DOUBLE: the inclusive range */
    const char *metavar; /* "N", "X", "DATE", ...; NULL for flags */
    const char *choices; /* CHOICE: "time|random" (index 0, 1, ...) */
    const char *shown;   /* default as shown when the field's value does not say it
                            ("all cores" for 0); NULL: the field's value. A numeric
                            field may then hold 0 (that default) outside its range;
                            as text the range applies */
    const char *help;    /* one line */
    uint32_t scope;      /* caller's bit set: which commands take the option */
} tm_opt;

/* The row named name (without dashes) among n, or NULL. */
const tm_opt *tm_opt_find(const tm_opt *table, size_t n, const char *name);
/* Sets o's field in opts from text (NULL for flags). A value that is not of
 * the type, not finite, or out of range fails with TM_E_INVALID and a
 * message naming the option and the value found ("--threads: expected a
 * whole number in 1..1024, found \"abc\""); opts is then unchanged. */
tm_status tm_opt_set(const tm_opt *o, void *opts, const char *text, tm_err *err);
/* Checks every INT, DOUBLE and CHOICE field of opts against its row
 * (options set by code rather than by text); the first failure names the
 * option and the value. */
tm_status tm_opt_check(const tm_opt *table, size_t n, const void *opts, tm_err *err);
/* The field's value as text ("5", "0.04", "time", "true", "" for a NULL
 * string). Returns buf. */
char *tm_opt_format(const tm_opt *o, const void *opts, char *buf, size_t len);
/* "--name METAVAR" (or "--name" for flags) into buf. Returns buf. */
char *tm_opt_usage(const tm_opt *o, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* TURBOMODE_CORE_H */
