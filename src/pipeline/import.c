/* Price import: daily OHLCV CSV (date,open,high,low,close,volume,Name,
 * header names in any case and order, LF or CRLF) from a file, stdin or a
 * .gz file streamed through `gzip -dc` (no compression library). Every
 * row is validated; a file with a bad row loads nothing unless skip_bad.
 * All rows go in one transaction. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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
    long *lines;          /* source line of each good row */
    size_t n_rows, cap;
    int32_t today;    /* rows dated after it are refused */
    long nul_line;    /* line of the first NUL byte, 0 when none */
    size_t nul_field; /* its field (0-based) */
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

/* Why `gzip -dc` (cmd, its stderr silenced) failed, in one line: gzip -t
 * on the same file says whether it is truncated or not gzip at all. */
static tm_status gzip_failure(const char *path, const char *quoted, int rc, tm_err *err)
{
    char test[4300], msg[256] = "";
    snprintf(test, sizeof test, "gzip -t -- %s 2>&1", quoted);
    FILE *fp = popen(test, "r");
    if (fp) {
        /* The first non-empty line of gzip's report. */
        char line[256];
        while (fgets(line, sizeof line, fp)) {
            line[strcspn(line, "\n")] = 0;
            if (!msg[0] && line[0]) {
                snprintf(msg, sizeof msg, "%s", line);
            }
        }
        pclose(fp);
    }
    if (strstr(msg, "unexpected end of file")) {
        return TM_ERR(err, TM_E_PARSE, path, 0, NULL, "truncated gzip file");
    }
    if (strstr(msg, "not in gzip format")) {
        return TM_ERR(err, TM_E_PARSE, path, 0, NULL, "not a gzip file");
    }
    if (strstr(msg, "crc error") || strstr(msg, "invalid compressed data")) {
        return TM_ERR(err, TM_E_PARSE, path, 0, NULL, "corrupt gzip file");
    }
    return TM_ERR(err, TM_E_IO, path, 0, NULL, "gzip -dc failed (status %d)%s%s", rc,
                  msg[0] ? ": " : "", msg);
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
    char quoted[4200], cmd[4300];
    size_t k = 0;
    quoted[k++] = '\'';
    for (const char *s = path; *s && k + 8 < sizeof quoted; s++) {
        if (*s == '\'') {
            memcpy(quoted + k, "'\\''", 4);
            k += 4;
        } else {
            quoted[k++] = *s;
        }
    }
    snprintf(quoted + k, sizeof quoted - k, "'");
    snprintf(cmd, sizeof cmd, "gzip -dc -- %s 2>/dev/null", quoted);
    FILE *fp = popen(cmd, "r");
    if (!fp) {
        return TM_ERR(err, TM_E_IO, path, 0, NULL, "cannot run gzip -dc: %s", strerror(errno));
    }
    tm_status st = read_stream(fp, path, out, len, err);
    int rc = pclose(fp);
    if (st == TM_OK && rc != 0) {
        tm_free(*out);
        *out = NULL;
        st = gzip_failure(path, quoted, rc, err);
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

/* Copies s into buf as printable ASCII for a message: other bytes as \\xHH,
 * at most 40 source bytes. Returns buf. */
static const char *shown(const char *s, char *buf, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; s[i] && i < 40 && k + 5 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            buf[k++] = (char)c;
        } else {
            k += (size_t)snprintf(buf + k, cap - k, "\\x%02X", c);
        }
    }
    buf[k] = 0;
    return buf;
}

/* True when s is well-formed UTF-8 without control characters. */
static bool clean_utf8(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    while (*u) {
        unsigned char c = *u;
        int extra = c < 0x80                 ? 0
                    : c >= 0xC2 && c <= 0xDF ? 1
                    : (c & 0xF0) == 0xE0     ? 2
                    : c >= 0xF0 && c <= 0xF4 ? 3
                                             : -1;
        if (extra < 0 || c < 0x20 || c == 0x7f) {
            return false;
        }
        unsigned cp = extra == 0 ? c : extra == 1 ? c & 0x1Fu : extra == 2 ? c & 0x0Fu : c & 0x07u;
        for (int i = 1; i <= extra; i++) {
            if ((u[i] & 0xC0) != 0x80) {
                return false;
            }
            cp = cp << 6 | (u[i] & 0x3Fu);
        }
        /* overlong forms, surrogates, beyond U+10FFFF */
        if ((extra == 2 && cp < 0x800) || (extra == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
            (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        u += extra + 1;
    }
    return true;
}

/* The header name of field i, for messages. */
static const char *field_name(const importer *im, size_t i)
{
    for (int c = 0; c < N_COLS; c++) {
        if (im->col[c] == (int)i) {
            return col_names[c];
        }
    }
    return NULL;
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
    char buf[200], day[16];
    if (line == im->nul_line) {
        const char *fn = field_name(im, im->nul_field);
        if (fn) {
            TM_ERR(e, TM_E_PARSE, im->path, line, fn, "expected text, found a NUL byte");
        } else {
            TM_ERR(e, TM_E_PARSE, im->path, line, NULL,
                   "field %zu: expected text, found a NUL byte", im->nul_field + 1);
        }
        return false;
    }
    const char *d = f[im->col[C_DATE]];
    if (!tm_store_date_parse(d, &p->date)) {
        TM_ERR(e, TM_E_PARSE, im->path, line, col_names[C_DATE],
               "expected a date YYYY-MM-DD, found \"%s\"", shown(d, buf, sizeof buf));
        return false;
    }
    if (p->date > im->today) {
        TM_ERR(e, TM_E_PARSE, im->path, line, col_names[C_DATE],
               "expected a date not after today (%s), found \"%s\"",
               tm_store_date_format(im->today, day), d);
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
    if (nl == 0 || nl >= TM_STORE_SYMBOL_MAX || !clean_utf8(name)) {
        TM_ERR(e, TM_E_PARSE, im->path, line, im->o->symbol ? "--symbol" : col_names[C_NAME],
               "expected a ticker of 1 to %d bytes of UTF-8 text, found \"%s\"",
               TM_STORE_SYMBOL_MAX - 1, shown(name, buf, sizeof buf));
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
        if (line == im->nul_line) {
            return TM_ERR(err, TM_E_PARSE, im->path, line, NULL,
                          "expected a header row of text, found a NUL byte");
        }
        return header(im, line, n, f, err);
    }
    tm_store_price p;
    tm_err e;
    tm_err_init(&e);
    if (!parse_row(im, line, n, f, &p, &e)) {
        if (im->n_bad == 0) {
            im->first_bad = e;
        }
        /* Without skip_bad the first bad row is the error itself: the
         * callback hears of the others only, so none is printed twice. */
        bool first_is_error = !im->o->skip_bad && im->n_bad == 0;
        if (im->n_bad < im->o->max_reports && im->o->bad_row && !first_is_error) {
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
        if (nr) {
            im->rows = nr;
        }
        long *nl = nr ? tm_realloc_n(im->lines, nc, sizeof *nl) : NULL;
        if (!nl) {
            return TM_ERR(err, TM_E_NOMEM, im->path, line, NULL, "out of memory");
        }
        im->lines = nl;
        im->cap = nc;
    }
    im->lines[im->n_rows] = line;
    im->rows[im->n_rows++] = p;
    if (!im->o->symbol && !note_symbol(im, p.symbol)) {
        return TM_ERR(err, TM_E_NOMEM, im->path, line, NULL, "out of memory");
    }
    return TM_OK;
}

/* Where the first NUL byte of text is (line, field), so the row holding it
 * is refused: the CSV reader's NUL-terminated fields would cut it off. */
static void find_nul(importer *im, const char *text, size_t len)
{
    const char *z = memchr(text, 0, len);
    if (!z) {
        return;
    }
    im->nul_line = 1;
    const char *bol = text;
    for (const char *s = text; s < z; s++) {
        if (*s == '\n') {
            im->nul_line++;
            bol = s + 1;
        }
    }
    for (const char *s = bol; s < z; s++) {
        im->nul_field += *s == ',';
    }
}

static const importer *sort_im;

/* Rows by (symbol, date), then by line. */
static int row_cmp(const void *a, const void *b)
{
    const tm_store_price *x = &sort_im->rows[*(const size_t *)a];
    const tm_store_price *y = &sort_im->rows[*(const size_t *)b];
    int c = strcmp(x->symbol, y->symbol);
    if (c == 0) {
        c = (x->date > y->date) - (x->date < y->date);
    }
    if (c == 0) {
        long lx = sort_im->lines[*(const size_t *)a], ly = sort_im->lines[*(const size_t *)b];
        c = (lx > ly) - (lx < ly);
    }
    return c;
}

static bool same_bar(const tm_store_price *x, const tm_store_price *y)
{
    const double *a[5] = {&x->open, &x->high, &x->low, &x->close, &x->volume};
    const double *b[5] = {&y->open, &y->high, &y->low, &y->close, &y->volume};
    for (int i = 0; i < 5; i++) {
        if (!(*a[i] == *b[i] || (isnan(*a[i]) && isnan(*b[i])))) {
            return false;
        }
    }
    return true;
}

/* Rows repeating a (symbol, date) are loaded in file order, so the last
 * one wins; the notice says how many lost and gives the first case. */
static tm_status report_duplicates(importer *im, tm_err *err)
{
    if (im->n_rows < 2 || !im->o->notice) {
        return TM_OK;
    }
    size_t *idx = tm_malloc_n(im->n_rows, sizeof *idx);
    if (!idx) {
        return TM_ERR(err, TM_E_NOMEM, im->path, 0, NULL, "out of memory");
    }
    for (size_t i = 0; i < im->n_rows; i++) {
        idx[i] = i;
    }
    sort_im = im;
    qsort(idx, im->n_rows, sizeof *idx, row_cmp);
    size_t n_lost = 0, n_differ = 0, ex_lost = 0, ex_won = 0;
    for (size_t i = 0; i + 1 < im->n_rows; i++) {
        const tm_store_price *a = &im->rows[idx[i]], *b = &im->rows[idx[i + 1]];
        if (a->date != b->date || strcmp(a->symbol, b->symbol) != 0) {
            continue;
        }
        if (n_lost++ == 0) {
            ex_lost = idx[i];
            for (ex_won = i + 1; ex_won + 1 < im->n_rows; ex_won++) {
                const tm_store_price *c = &im->rows[idx[ex_won + 1]];
                if (c->date != a->date || strcmp(c->symbol, a->symbol) != 0) {
                    break;
                }
            }
            ex_won = idx[ex_won];
        }
        n_differ += !same_bar(a, b);
    }
    tm_free(idx);
    if (n_lost) {
        char msg[512], day[16];
        const tm_store_price *ex = &im->rows[ex_lost];
        snprintf(msg, sizeof msg,
                 "%s: %zu row%s repeat%s the (ticker, date) of a later row (%zu with other "
                 "values); the last one in the file wins, e.g. %s %s: line %ld over line %ld",
                 im->path, n_lost, n_lost == 1 ? "" : "s", n_lost == 1 ? "s" : "", n_differ,
                 ex->symbol, tm_store_date_format(ex->date, day), im->lines[ex_won],
                 im->lines[ex_lost]);
        im->o->notice(im->o->bad_row_ctx, msg);
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
    im.today = tm__pipeline_today(p);
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
        find_nul(&im, text, len);
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
    if (st == TM_OK) {
        st = report_duplicates(&im, err);
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
    tm_free(im.lines);
    tm_free(text);
    return st;
}
