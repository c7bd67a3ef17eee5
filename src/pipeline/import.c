/* Price import: daily OHLCV CSV (date,open,high,low,close,volume,Name,
 * header names in any case and order, LF or CRLF) from a file, stdin or a
 * .gz file streamed through `gzip -dc` (no compression library). Every
 * row is validated; a file with a bad row loads nothing unless skip_bad.
 * All rows go in one transaction. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "pipeline_int.h"

enum { C_DATE, C_OPEN, C_HIGH, C_LOW, C_CLOSE, C_VOLUME, C_NAME, N_COLS };
static const char *const col_names[N_COLS] = {"date",  "open",   "high", "low",
                                              "close", "volume", "Name"};

typedef struct importer {
    const char *path;
    const tm_pipeline_import_opts *o;
    int col[N_COLS]; /* field index of each column, -1 when absent */
    size_t n_fields; /* header width */
    bool header_done;
    tm_store_price *rows; /* good rows */
    size_t n_rows, cap;
    size_t n_bad;
    tm_err first_bad; /* the first bad row's error */
    char **symbols;   /* distinct Name values, in order of appearance */
    size_t n_symbols, sym_cap;
} importer;

/* Reads a whole stream into a heap buffer. */
static tm_status read_stream(FILE *fp, const char *path, char **out, size_t *len, tm_err *err)
{
    size_t cap = 1 << 20, n = 0;
    char *buf = tm_malloc(cap);
    for (;;) {
        if (!buf) {
            return TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory reading input");
        }
        n += fread(buf + n, 1, cap - n - 1, fp);
        if (n + 1 < cap) {
            break;
        }
        char *nb = tm_realloc_n(buf, cap, 2);
        if (!nb) {
            tm_free(buf);
            buf = NULL;
            continue;
        }
        buf = nb;
        cap *= 2;
    }
    if (ferror(fp)) {
        tm_free(buf);
        return TM_ERR(err, TM_E_IO, path, 0, NULL, "read error: %s", strerror(errno));
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return TM_OK;
}

/* The input's bytes: stdin for "-", `gzip -dc` for *.gz, else the file. */
static tm_status read_input(const char *path, char **out, size_t *len, tm_err *err)
{
    size_t pl = strlen(path);
    if (strcmp(path, "-") == 0) {
        return read_stream(stdin, "<stdin>", out, len, err);
    }
    if (pl < 3 || strcmp(path + pl - 3, ".gz") != 0) {
        return tm_file_read(path, out, len, err);
    }
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        return TM_ERR(err, TM_E_IO, path, 0, NULL, "cannot open: %s", strerror(errno));
    }
    fclose(probe);
    /* Single-quote the path for the shell: ' becomes '\'' */
    char cmd[4200];
    size_t k = (size_t)snprintf(cmd, sizeof cmd, "gzip -dc -- '");
    for (const char *s = path; *s && k + 8 < sizeof cmd; s++) {
        if (*s == '\'') {
            memcpy(cmd + k, "'\\''", 4);
            k += 4;
        } else {
            cmd[k++] = *s;
        }
    }
    snprintf(cmd + k, sizeof cmd - k, "'");
    FILE *fp = popen(cmd, "r");
    if (!fp) {
        return TM_ERR(err, TM_E_IO, path, 0, NULL, "cannot run gzip -dc: %s", strerror(errno));
    }
    tm_status st = read_stream(fp, path, out, len, err);
    int rc = pclose(fp);
    if (st == TM_OK && rc != 0) {
        tm_free(*out);
        *out = NULL;
        st = TM_ERR(err, TM_E_IO, path, 0, NULL, "gzip -dc failed (status %d): not a gzip file?",
                    rc);
    }
    return st;
}

static tm_status header(importer *im, long line, size_t n, char *const *f, tm_err *err)
{
    for (int c = 0; c < N_COLS; c++) {
        im->col[c] = -1;
    }
    for (size_t i = 0; i < n; i++) {
        for (int c = 0; c < N_COLS; c++) {
            if (strcasecmp(f[i], col_names[c]) == 0 && im->col[c] < 0) {
                im->col[c] = (int)i;
            }
        }
    }
    for (int c = 0; c < N_COLS; c++) {
        bool optional = (c == C_NAME || c == C_VOLUME) && im->o->symbol;
        if (im->col[c] < 0 && !optional) {
            return TM_ERR(err, TM_E_PARSE, im->path, line, col_names[c],
                          "expected a column '%s' in the header "
                          "(date,open,high,low,close,volume,Name)%s",
                          col_names[c], c == C_NAME ? " or --symbol" : "");
        }
    }
    im->n_fields = n;
    im->header_done = true;
    return TM_OK;
}

/* Parses a number field; empty is NaN when allow_empty. */
static bool number(const char *s, bool allow_empty, double *out)
{
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) {
        n--;
    }
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    if (n == 0) {
        *out = NAN;
        return allow_empty;
    }
    return tm_parse_double(s, n, out) && isfinite(*out);
}

/* Validates one record into *p; on a bad field records it in e. */
static bool parse_row(importer *im, long line, size_t n, char *const *f, tm_store_price *p,
                      tm_err *e)
{
    memset(p, 0, sizeof *p);
    if (n != im->n_fields) {
        TM_ERR(e, TM_E_PARSE, im->path, line, NULL, "expected %zu fields, found %zu", im->n_fields,
               n);
        return false;
    }
    const char *d = f[im->col[C_DATE]];
    if (!tm_store_date_parse(d, &p->date)) {
        TM_ERR(e, TM_E_PARSE, im->path, line, col_names[C_DATE],
               "expected a date YYYY-MM-DD, found \"%.40s\"", d);
        return false;
    }
    double *dst[4] = {&p->open, &p->high, &p->low, &p->close};
    for (int c = C_OPEN; c <= C_CLOSE; c++) {
        const char *s = f[im->col[c]];
        bool ok = number(s, c != C_CLOSE, dst[c - C_OPEN]);
        if (!ok || *dst[c - C_OPEN] < 0 || (c == C_CLOSE && *dst[c - C_OPEN] <= 0)) {
            TM_ERR(e, TM_E_PARSE, im->path, line, col_names[c], "expected %s, found \"%.40s\"",
                   c == C_CLOSE ? "a positive number" : "a number >= 0 or nothing", s);
            return false;
        }
    }
    p->volume = 0;
    if (im->col[C_VOLUME] >= 0) {
        const char *s = f[im->col[C_VOLUME]];
        if (!number(s, false, &p->volume) || p->volume < 0) {
            TM_ERR(e, TM_E_PARSE, im->path, line, col_names[C_VOLUME],
                   "expected a number >= 0, found \"%.40s\"", s);
            return false;
        }
    }
    const char *name = im->o->symbol ? im->o->symbol : f[im->col[C_NAME]];
    size_t nl = strlen(name);
    if (nl == 0 || nl >= TM_STORE_SYMBOL_MAX) {
        TM_ERR(e, TM_E_PARSE, im->path, line, col_names[C_NAME],
               "expected a ticker of 1 to %d characters, found \"%.40s\"", TM_STORE_SYMBOL_MAX - 1,
               name);
        return false;
    }
    memcpy(p->symbol, name, nl + 1);
    return true;
}

static bool note_symbol(importer *im, const char *sym)
{
    if (im->n_symbols && strcmp(im->symbols[im->n_symbols - 1], sym) == 0) {
        return true;
    }
    for (size_t i = 0; i < im->n_symbols; i++) {
        if (strcmp(im->symbols[i], sym) == 0) {
            return true;
        }
    }
    if (im->n_symbols == im->sym_cap) {
        size_t nc = im->sym_cap ? im->sym_cap * 2 : 64;
        char **ns = tm_realloc_n(im->symbols, nc, sizeof *ns);
        if (!ns) {
            return false;
        }
        im->symbols = ns;
        im->sym_cap = nc;
    }
    return (im->symbols[im->n_symbols++] = tm_strdup(sym)) != NULL;
}

static tm_status on_row(void *ctx, long line, size_t n, char *const *f, tm_err *err)
{
    importer *im = ctx;
    if (!im->header_done) {
        return header(im, line, n, f, err);
    }
    tm_store_price p;
    tm_err e;
    tm_err_init(&e);
    if (!parse_row(im, line, n, f, &p, &e)) {
        if (im->n_bad == 0) {
            im->first_bad = e;
        }
        if (im->n_bad < im->o->max_reports && im->o->bad_row) {
            char msg[1024], full[1100];
            tm_err_format(&e, msg, sizeof msg);
            snprintf(full, sizeof full, "%s%s", im->o->skip_bad ? "skipped: " : "", msg);
            im->o->bad_row(im->o->bad_row_ctx, full);
        }
        im->n_bad++;
        return TM_OK;
    }
    if (im->n_rows == im->cap) {
        size_t nc = im->cap ? im->cap * 2 : 4096;
        tm_store_price *nr = tm_realloc_n(im->rows, nc, sizeof *nr);
        if (!nr) {
            return TM_ERR(err, TM_E_NOMEM, im->path, line, NULL, "out of memory");
        }
        im->rows = nr;
        im->cap = nc;
    }
    im->rows[im->n_rows++] = p;
    if (!im->o->symbol && !note_symbol(im, p.symbol)) {
        return TM_ERR(err, TM_E_NOMEM, im->path, line, NULL, "out of memory");
    }
    return TM_OK;
}

tm_status tm_pipeline_import_prices(tm_pipeline *p, const char *path,
                                    const tm_pipeline_import_opts *o, size_t *n_loaded,
                                    size_t *n_skipped, tm_err *err)
{
    tm_pipeline_import_opts defaults;
    if (!o) {
        tm_pipeline_import_opts_init(&defaults);
        o = &defaults;
    }
    importer im;
    memset(&im, 0, sizeof im);
    im.path = strcmp(path, "-") == 0 ? "<stdin>" : path;
    im.o = o;
    char *text = NULL;
    size_t len = 0;
    if (n_loaded) {
        *n_loaded = 0;
    }
    if (n_skipped) {
        *n_skipped = 0;
    }
    tm_status st = read_input(path, &text, &len, err);
    if (st == TM_OK) {
        st = tm_csv_walk(text, len, im.path, on_row, &im, err);
    }
    if (st == TM_OK && !im.header_done) {
        st = TM_ERR(err, TM_E_PARSE, im.path, 1, NULL,
                    "expected a header row (date,open,high,low,close,volume,Name), found an "
                    "empty file");
    }
    if (st == TM_OK && im.n_bad && !o->skip_bad) {
        if (err && err->status == TM_OK) {
            *err = im.first_bad;
            if (im.n_bad > 1) {
                size_t k = strlen(err->reason);
                snprintf(err->reason + k, sizeof err->reason - k, " (%zu bad rows, nothing loaded)",
                         im.n_bad);
            } else {
                size_t k = strlen(err->reason);
                snprintf(err->reason + k, sizeof err->reason - k, " (nothing loaded)");
            }
        }
        st = TM_E_PARSE;
    }
    if (st == TM_OK && (st = tm_store_begin(p->store, err)) == TM_OK) {
        st = tm_store_prices_upsert(p->store, im.rows, im.n_rows, err);
        if (st == TM_OK) {
            st = tm_store_universe_add(p->store, (const char *const *)im.symbols, im.n_symbols,
                                       err);
        }
        st = st == TM_OK ? tm_store_commit(p->store, err) : st;
        if (st != TM_OK) {
            tm_store_rollback(p->store);
        }
    }
    if (st == TM_OK) {
        if (n_loaded) {
            *n_loaded = im.n_rows;
        }
        if (n_skipped) {
            *n_skipped = im.n_bad;
        }
    }
    for (size_t i = 0; i < im.n_symbols; i++) {
        tm_free(im.symbols[i]);
    }
    tm_free(im.symbols);
    tm_free(im.rows);
    tm_free(text);
    return st;
}
