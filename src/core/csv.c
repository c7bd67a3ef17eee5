/* The CSV reader: a record splitter (quotes with "" escapes, LF or CRLF),
 * the raw field walk (blank lines skipped), and the numeric table loader.
 * In a numeric table each data line is one row, so outputs can match
 * inputs one for one: in a one-column table a blank line is a row whose
 * value is missing (what pandas writes for NaN); in a wider table it is an
 * error naming the line, except blank lines that only end the file.
 * The loader parses unquoted numbers straight from the text with an exact
 * fast path (core_int.h) and falls back to tm_parse_double, so values are
 * correctly rounded; only quoted fields are copied. Missing values (empty,
 * nan, NaN, -nan) become NaN; any other text is an error naming the line
 * and the column. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <turbomode/core.h>

#include "core_int.h"

/* A position in the text being read. */
typedef struct cursor {
    const char *p;
    const char *end;
    long line;        /* 1-based line of p */
    const char *path; /* for messages */
    tm_err *err;
} cursor;

/* The unquoted fields of one record, each NUL-terminated in buf. */
typedef struct fields {
    char *buf;   /* tm_malloc'd */
    size_t len;  /* bytes used in buf */
    size_t cap;  /* bytes allocated */
    size_t *off; /* start of each field in buf, tm_malloc'd */
    size_t n;    /* fields */
    size_t n_cap;
} fields;

static void fields_free(fields *f)
{
    tm_free(f->buf);
    tm_free(f->off);
    *f = (fields){0};
}

static bool put(fields *f, const char *s, size_t n)
{
    if (f->cap - f->len < n + 1) {
        size_t cap = f->cap ? f->cap : 256;
        while (cap - f->len < n + 1) {
            cap *= 2;
        }
        char *b = tm_realloc_n(f->buf, cap, 1);
        if (!b) {
            return false;
        }
        f->buf = b;
        f->cap = cap;
    }
    memcpy(f->buf + f->len, s, n);
    f->len += n;
    return true;
}

static bool begin_field(fields *f)
{
    if (f->n == f->n_cap) {
        size_t cap = f->n_cap ? f->n_cap * 2 : 64;
        size_t *o = tm_realloc_n(f->off, cap, sizeof *o);
        if (!o) {
            return false;
        }
        f->off = o;
        f->n_cap = cap;
    }
    f->off[f->n++] = f->len;
    return true;
}

static tm_status nomem(cursor *c)
{
    return TM_ERR(c->err, TM_E_NOMEM, c->path, c->line, NULL, "out of memory");
}

/* True at the end of a record: end of text, LF, or CRLF / CR at the end. */
static bool at_eol(const cursor *c, const char *p)
{
    return p == c->end || *p == '\n' || (*p == '\r' && (p + 1 == c->end || p[1] == '\n'));
}

/* Skips blank lines (empty, or a lone CR before LF). */
static void skip_blank(cursor *c)
{
    while (c->p < c->end && at_eol(c, c->p)) {
        c->p += *c->p == '\r';
        if (c->p < c->end) {
            c->p++; /* the LF */
            c->line++;
        }
    }
}

/* Appends the quoted field at c->p (opening quote) to f, without the NUL,
 * and leaves c->p after the closing quote, on the delimiter. */
static tm_status quoted(cursor *c, fields *f)
{
    long line = c->line;
    const char *p = c->p + 1;
    for (;;) {
        const char *q = memchr(p, '"', (size_t)(c->end - p));
        if (!q) {
            return TM_ERR(c->err, TM_E_PARSE, c->path, line, NULL, "unterminated quoted field");
        }
        for (const char *s = p; (s = memchr(s, '\n', (size_t)(q - s))) != NULL; s++) {
            c->line++;
        }
        if (!put(f, p, (size_t)(q - p + (q + 1 < c->end && q[1] == '"')))) {
            return nomem(c);
        }
        if (q + 1 < c->end && q[1] == '"') {
            p = q + 2; /* "" is one quote, kept above */
            continue;
        }
        c->p = q + 1;
        break;
    }
    if (c->p < c->end && *c->p != ',' && !at_eol(c, c->p)) {
        char ch = *c->p;
        return TM_ERR(c->err, TM_E_PARSE, c->path, c->line, NULL,
                      "expected ',' or end of line after a closing quote, found '%c'",
                      ch >= 0x20 && ch < 0x7f ? ch : '?');
    }
    return TM_OK;
}

/* Splits the record at c->p into f and moves past its line end. */
static tm_status split_record(cursor *c, fields *f)
{
    tm_status st;
    f->len = 0;
    f->n = 0;
    for (;;) {
        if (!begin_field(f)) {
            return nomem(c);
        }
        if (c->p < c->end && *c->p == '"') {
            if ((st = quoted(c, f)) != TM_OK) {
                return st;
            }
        } else {
            const char *s = c->p;
            while (c->p < c->end && *c->p != ',' && *c->p != '\n') {
                c->p++;
            }
            size_t n = (size_t)(c->p - s);
            n -= n && s[n - 1] == '\r'; /* CRLF, or a CR at the very end */
            if (!put(f, s, n)) {
                return nomem(c);
            }
        }
        f->buf[f->len++] = 0;
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        c->p += c->p < c->end && *c->p == '\r';
        if (c->p < c->end) {
            c->p++; /* the LF */
            c->line++;
        }
        return TM_OK;
    }
}

static void skip_bom(cursor *c)
{
    if (c->end - c->p >= 3 && memcmp(c->p, "\xef\xbb\xbf", 3) == 0) {
        c->p += 3;
    }
}

tm_status tm_csv_walk(const char *text, size_t len, const char *path, tm_csv_row_fn row_cb,
                      void *ctx, tm_err *err)
{
    if ((!text && len) || !row_cb) {
        return TM_ERR(err, TM_E_INVALID, path, 0, NULL, "tm_csv_walk: NULL argument");
    }
    cursor c = {.p = text, .end = text + len, .line = 1, .path = path, .err = err};
    fields f = {0};
    char **ptrs = NULL;
    size_t n_ptrs = 0;
    tm_status st = TM_OK;
    skip_bom(&c);
    for (;;) {
        skip_blank(&c);
        if (c.p >= c.end) {
            break;
        }
        long line = c.line;
        if ((st = split_record(&c, &f)) != TM_OK) {
            break;
        }
        if (f.n > n_ptrs) {
            char **np = tm_realloc_n(ptrs, f.n_cap, sizeof *np);
            if (!np) {
                st = nomem(&c);
                break;
            }
            ptrs = np;
            n_ptrs = f.n_cap;
        }
        for (size_t i = 0; i < f.n; i++) {
            ptrs[i] = f.buf + f.off[i];
        }
        if ((st = row_cb(ctx, line, f.n, ptrs, err)) != TM_OK) {
            break;
        }
    }
    tm_free(ptrs);
    fields_free(&f);
    return st;
}

/* ---- numeric tables ------------------------------------------------------ */

/* Converts one field's text to a double: blanks trimmed, missing -> NaN. */
static bool to_double(const char *s, size_t n, double *out)
{
    const char *stop;
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) {
        n--;
    }
    if (n == 0 || (n == 3 && (memcmp(s, "nan", 3) == 0 || memcmp(s, "NaN", 3) == 0)) ||
        (n == 4 && memcmp(s, "-nan", 4) == 0)) {
        *out = (double)NAN;
        return true;
    }
    if (tm__core_fast_double(s, s + n, out, &stop) && stop == s + n) {
        return true;
    }
    return tm_parse_double(s, n, out);
}

static tm_status not_a_number(cursor *c, const char *name, const char *s, size_t n)
{
    char shown[64];
    size_t k = n < 40 ? n : 40;
    for (size_t i = 0; i < k; i++) {
        unsigned char ch = (unsigned char)s[i];
        shown[i] = ch >= 0x20 && ch != 0x7f ? (char)ch : '?';
    }
    shown[k] = 0;
    return TM_ERR(c->err, TM_E_PARSE, c->path, c->line, name, "expected a number, found \"%s\"%s",
                  shown, n > k ? "..." : "");
}

/* Fails for the record starting at rec (line `line`) that has a field
 * count other than n_cols; the count comes from splitting it again. */
static tm_status ragged(cursor *c, const char *rec, long line, size_t n_cols, fields *tmp)
{
    cursor again = *c;
    again.p = rec;
    again.line = line;
    tm_status st = split_record(&again, tmp);
    if (st != TM_OK) {
        return st;
    }
    return TM_ERR(c->err, TM_E_PARSE, c->path, line, NULL, "expected %zu fields, found %zu", n_cols,
                  tmp->n);
}

/* Parses the field at c->p into *out and leaves c->p on its delimiter. */
static tm_status field_value(cursor *c, const char *name, fields *tmp, double *out)
{
    const char *s = c->p, *q;
    if (s < c->end && *s == '"') {
        tmp->len = 0;
        tm_status st = quoted(c, tmp);
        if (st != TM_OK) {
            return st;
        }
        if (!to_double(tmp->buf ? tmp->buf : "", tmp->len, out)) {
            return not_a_number(c, name, tmp->buf, tmp->len);
        }
        return TM_OK;
    }
    if (tm__core_fast_double(s, c->end, out, &q) &&
        (q == c->end || *q == ',' || *q == '\n' || (*q == '\r' && at_eol(c, q)))) {
        c->p = q;
        return TM_OK;
    }
    q = s;
    while (q < c->end && *q != ',' && *q != '\n') {
        q++;
    }
    size_t n = (size_t)(q - s);
    n -= n && s[n - 1] == '\r' && at_eol(c, s + n - 1);
    c->p = q;
    if (!to_double(s, n, out)) {
        return not_a_number(c, name, s, n);
    }
    return TM_OK;
}

/* Parses the data records into values (room for max_rows rows). */
static tm_status parse_rows(cursor *c, tm_csv *csv, size_t max_rows, fields *tmp)
{
    size_t n_cols = csv->n_cols;
    for (;;) {
        if (c->p >= c->end) {
            return TM_OK;
        }
        const char *rec = c->p;
        long line = c->line;
        if (csv->n_rows == max_rows) {
            return TM_ERR(c->err, TM_E_INTERNAL, c->path, line, NULL, "row estimate exceeded");
        }
        double *row = csv->values + csv->n_rows * n_cols;
        if (at_eol(c, c->p)) {
            if (n_cols > 1) {
                cursor rest = *c;
                skip_blank(&rest);
                if (rest.p < rest.end) {
                    return TM_ERR(c->err, TM_E_PARSE, c->path, line, NULL,
                                  "expected %zu fields, found a blank line", n_cols);
                }
                *c = rest; /* blank lines that only end the file */
                return TM_OK;
            }
            row[0] = (double)NAN; /* one column: the missing value */
            c->p += *c->p == '\r';
            if (c->p < c->end) {
                c->p++; /* the LF */
                c->line++;
            }
            csv->n_rows++;
            continue;
        }
        for (size_t j = 0;; j++) {
            tm_status st = field_value(c, csv->names[j], tmp, &row[j]);
            if (st != TM_OK) {
                return st;
            }
            if (c->p < c->end && *c->p == ',') {
                c->p++;
                if (j + 1 == n_cols) {
                    return ragged(c, rec, line, n_cols, tmp);
                }
                continue;
            }
            if (j + 1 != n_cols) {
                return ragged(c, rec, line, n_cols, tmp);
            }
            c->p += c->p < c->end && *c->p == '\r';
            if (c->p < c->end) {
                c->p++; /* the LF */
                c->line++;
            }
            break;
        }
        csv->n_rows++;
    }
}

/* Names from the header record: one pointer array and one text block. */
static tm_status take_names(cursor *c, const fields *f, tm_csv *csv)
{
    csv->names = tm_malloc_n(f->n, sizeof *csv->names);
    char *block = tm_malloc(f->len);
    if (!csv->names || !block) {
        tm_free(csv->names);
        tm_free(block);
        csv->names = NULL;
        return nomem(c);
    }
    memcpy(block, f->buf, f->len);
    for (size_t i = 0; i < f->n; i++) {
        csv->names[i] = block + f->off[i];
    }
    csv->n_cols = f->n;
    return TM_OK;
}

/* Upper bound on the data records left: one per line end, and at most
 * one per n_cols bytes (each needs n_cols - 1 commas and a line end). */
static size_t max_records(const cursor *c, size_t n_cols)
{
    size_t n_lines = 1;
    for (const char *p = c->p; (p = memchr(p, '\n', (size_t)(c->end - p))) != NULL; p++) {
        n_lines++;
    }
    size_t by_size = (size_t)(c->end - c->p) / n_cols + 1;
    return n_lines < by_size ? n_lines : by_size;
}

tm_status tm_csv_parse(const char *text, size_t len, const char *path, tm_csv **out, tm_err *err)
{
    if (!out || (!text && len)) {
        return TM_ERR(err, TM_E_INVALID, path, 0, NULL, "tm_csv_parse: NULL argument");
    }
    *out = NULL;
    cursor c = {.p = text, .end = text + len, .line = 1, .path = path, .err = err};
    fields f = {0};
    tm_status st = TM_OK;
    tm_csv *csv = tm_calloc(1, sizeof *csv);
    if (!csv) {
        st = nomem(&c);
        goto done;
    }
    skip_bom(&c);
    skip_blank(&c);
    if (c.p >= c.end) {
        st = TM_ERR(err, TM_E_PARSE, path, 0, NULL, "expected a header row, found an empty file");
        goto done;
    }
    if ((st = split_record(&c, &f)) != TM_OK || (st = take_names(&c, &f, csv)) != TM_OK) {
        goto done;
    }
    size_t max_rows = max_records(&c, csv->n_cols);
    csv->values = tm_malloc_n(max_rows, csv->n_cols * sizeof(double));
    if (!csv->values) {
        st = nomem(&c);
        goto done;
    }
    tm__core_advise_huge(csv->values, max_rows * csv->n_cols * sizeof(double));
    if ((st = parse_rows(&c, csv, max_rows, &f)) != TM_OK) {
        goto done;
    }
    if (csv->n_rows < max_rows) {
        /* Give back the unused estimate; if that fails, keep the block. */
        double *v = tm_realloc_n(csv->values, csv->n_rows ? csv->n_rows : 1,
                                 csv->n_cols * sizeof(double));
        csv->values = v ? v : csv->values;
    }
    *out = csv;
done:
    fields_free(&f);
    if (st != TM_OK) {
        tm_csv_free(csv);
    }
    return st;
}

tm_status tm_csv_load(const char *path, tm_csv **out, tm_err *err)
{
    char *text;
    size_t len;
    if (!out || !path) {
        return TM_ERR(err, TM_E_INVALID, path, 0, NULL, "tm_csv_load: NULL argument");
    }
    *out = NULL;
    tm_status st = tm_file_read(path, &text, &len, err);
    if (st != TM_OK) {
        return st;
    }
    st = tm_csv_parse(text, len, path, out, err);
    tm_free(text);
    return st;
}

void tm_csv_free(tm_csv *csv)
{
    if (!csv) {
        return;
    }
    if (csv->names) {
        tm_free(csv->names[0]); /* the one block holding every name */
        tm_free(csv->names);
    }
    tm_free(csv->values);
    tm_free(csv);
}

long tm_csv_col(const tm_csv *csv, const char *name)
{
    if (!csv || !name) {
        return -1;
    }
    for (size_t i = 0; i < csv->n_cols; i++) {
        if (strcmp(csv->names[i], name) == 0) {
            return (long)i;
        }
    }
    return -1;
}
