/* The JSON text parser: RFC 8259 plus the bare NaN, Infinity and -Infinity
 * XGBoost writes (see formats/xgboost.md). It works on the document's own
 * copy of the text: strings are unescaped in place and number tokens point
 * into it, so the caller's buffer is not needed after the call. Nodes go
 * into the document arena (json_doc.c). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <turbomode/core.h>

#include "core_int.h"

/* ---- JSON text parser ---------------------------------------------------- */

typedef struct parser {
    char *p;          /* next byte, inside doc->text */
    char *end;        /* doc->text + len; *end == 0 */
    long line;        /* 1-based line of p */
    const char *path; /* for messages */
    tm_json_doc *doc;
    tm__core_stack st; /* members of the open containers */
    tm_err *err;
    double *dv;    /* scratch of a typed array being parsed: values, */
    int32_t *iv;   /* the same as int32, */
    uint8_t *bits; /* which were integer tokens */
    size_t cap;    /* elements the scratch holds */
} parser;

static tm_status fail(parser *ps, tm_status st, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

static tm_status fail(parser *ps, tm_status st, const char *fmt, ...)
{
    char reason[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return TM_ERR(ps->err, st, ps->path, ps->line, NULL, "%s", reason);
}

static tm_status nomem(parser *ps)
{
    return fail(ps, TM_E_NOMEM, "out of memory");
}

/* How the byte at p reads in a message: 'x', '\xNN' or end of input. */
static const char *found(const parser *ps, const char *p, char buf[16])
{
    unsigned char c = (unsigned char)*p;
    if (p >= ps->end) {
        return "end of input";
    }
    if (c >= 0x20 && c < 0x7f) {
        snprintf(buf, 16, "'%c'", c);
    } else {
        snprintf(buf, 16, "'\\x%02x'", c);
    }
    return buf;
}

static void skip_ws(parser *ps)
{
    char *p = ps->p;
    for (;;) {
        if (*p == ' ' || *p == '\t' || *p == '\r') {
            p++;
        } else if (*p == '\n') {
            p++;
            ps->line++;
        } else {
            break;
        }
    }
    ps->p = p;
}

static int hex4(const char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

static char *put_utf8(char *d, uint32_t cp)
{
    if (cp < 0x80) {
        *d++ = (char)cp;
    } else if (cp < 0x800) {
        *d++ = (char)(0xc0 | (cp >> 6));
        *d++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *d++ = (char)(0xe0 | (cp >> 12));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *d++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *d++ = (char)(0xf0 | (cp >> 18));
        *d++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *d++ = (char)(0x80 | ((cp >> 6) & 0x3f));
        *d++ = (char)(0x80 | (cp & 0x3f));
    }
    return d;
}

/* Decodes \uXXXX (and a following low surrogate) at *sp (just after the
 * backslash-u), writes UTF-8 at *d and advances both. Every
 * escape is at least as long as its UTF-8, so d never passes s. */
static tm_status unicode_escape(parser *ps, char **sp, char **d)
{
    char buf[16];
    char *s = *sp;
    int hi = hex4(s);
    if (hi < 0) {
        return fail(ps, TM_E_PARSE, "invalid \\u escape: expected 4 hex digits");
    }
    s += 4;
    uint32_t cp = (uint32_t)hi;
    if (hi >= 0xdc00 && hi <= 0xdfff) {
        return fail(ps, TM_E_PARSE, "invalid \\u escape: unpaired low surrogate \\u%04x", hi);
    }
    if (hi >= 0xd800 && hi <= 0xdbff) {
        int lo = s[0] == '\\' && s[1] == 'u' ? hex4(s + 2) : -1;
        if (lo < 0xdc00 || lo > 0xdfff) {
            return fail(ps, TM_E_PARSE,
                        "invalid \\u escape: high surrogate \\u%04x not followed by a low "
                        "surrogate, found %s",
                        hi, found(ps, s, buf));
        }
        s += 6;
        cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
    }
    *d = put_utf8(*d, cp);
    *sp = s;
    return TM_OK;
}

/* Parses the string whose opening quote is at ps->p; the result is
 * unescaped in place and NUL-terminated where its closing quote was. */
static tm_status parse_string(parser *ps, const char **out, size_t *len)
{
    char buf[16];
    char *start = ps->p + 1, *s = start;
    while ((unsigned char)*s >= 0x20 && *s != '"' && *s != '\\') {
        s++;
    }
    char *d = s;
    for (;;) {
        unsigned char c = (unsigned char)*s;
        if (c == '"') {
            break;
        }
        if (c < 0x20) {
            ps->p = s;
            if (s >= ps->end) {
                return fail(ps, TM_E_PARSE, "unterminated string");
            }
            return fail(ps, TM_E_PARSE, "unescaped control character %s in string",
                        found(ps, s, buf));
        }
        if (c != '\\') {
            *d++ = *s++;
            continue;
        }
        char e = s[1];
        s += 2;
        switch (e) {
        case '"':
        case '\\':
        case '/':
            *d++ = e;
            break;
        case 'b':
            *d++ = '\b';
            break;
        case 'f':
            *d++ = '\f';
            break;
        case 'n':
            *d++ = '\n';
            break;
        case 'r':
            *d++ = '\r';
            break;
        case 't':
            *d++ = '\t';
            break;
        case 'u':
            if (unicode_escape(ps, &s, &d) != TM_OK) {
                return TM_E_PARSE;
            }
            break;
        default:
            ps->p = s - 1;
            return fail(ps, TM_E_PARSE,
                        "invalid escape in string: expected one of "
                        "\"\\/bfnrtu after '\\', found %s",
                        found(ps, s - 1, buf));
        }
    }
    *d = 0;
    *out = start;
    *len = (size_t)(d - start);
    ps->p = s + 1;
    return TM_OK;
}

/* Integer value of the digits [p, e) with an optional leading '-';
 * false on int64 overflow. */
static bool parse_int64(const char *p, const char *e, int64_t *out)
{
    bool neg = *p == '-';
    uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (p += neg; p < e; p++) {
        uint64_t digit = (uint64_t)(*p - '0');
        if (v > (lim - digit) / 10) {
            return false;
        }
        v = v * 10 + digit;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return true;
}

static tm_status parse_number(parser *ps, tm_json *v)
{
    char buf[16];
    char *start = ps->p, *p = start;
    bool is_int = true;
    p += *p == '-';
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (*p >= '0' && *p <= '9') {
            p++;
        }
    } else {
        ps->p = p;
        return fail(ps, TM_E_PARSE, "invalid number: expected a digit after '-', found %s",
                    found(ps, p, buf));
    }
    if (*p == '.') {
        is_int = false;
        if (!(*++p >= '0' && *p <= '9')) {
            ps->p = p;
            return fail(ps, TM_E_PARSE, "invalid number: expected a digit after '.', found %s",
                        found(ps, p, buf));
        }
        while (*p >= '0' && *p <= '9') {
            p++;
        }
    }
    if (*p == 'e' || *p == 'E') {
        is_int = false;
        p++;
        p += *p == '+' || *p == '-';
        if (!(*p >= '0' && *p <= '9')) {
            ps->p = p;
            return fail(ps, TM_E_PARSE,
                        "invalid number: expected a digit in the exponent, found %s",
                        found(ps, p, buf));
        }
        while (*p >= '0' && *p <= '9') {
            p++;
        }
    }
    v->type = TM_JSON_NUMBER;
    v->str = start;
    v->len = (size_t)(p - start);
    ps->p = p;
    if (is_int && parse_int64(start, p, &v->inum)) {
        v->is_int = true;
        if (v->inum >= -(INT64_C(1) << 53) && v->inum <= (INT64_C(1) << 53)) {
            v->num = *start == '-' && v->inum == 0 ? -0.0 : (double)v->inum;
            return TM_OK;
        }
    }
    const char *stop;
    if ((tm__core_fast_double(start, p, &v->num, &stop) && stop == p) ||
        tm_parse_double(start, v->len, &v->num)) {
        return TM_OK;
    }
    ps->p = start;
    return fail(ps, TM_E_PARSE, "number too long (%zu characters)", v->len);
}

static bool word(const char *p, const char *w)
{
    return strncmp(p, w, strlen(w)) == 0;
}

/* Literals: true false null NaN Infinity -Infinity. */
static bool parse_literal(parser *ps, tm_json *v)
{
    static const struct {
        const char *w;
        tm_json_type type;
        double num;
    } lits[] = {
            {"true", TM_JSON_BOOL, 1},
            {"false", TM_JSON_BOOL, 0},
            {"null", TM_JSON_NULL, 0},
            {"NaN", TM_JSON_NUMBER, (double)NAN},
            {"Infinity", TM_JSON_NUMBER, (double)INFINITY},
            {"-Infinity", TM_JSON_NUMBER, -(double)INFINITY},
    };
    for (size_t i = 0; i < sizeof lits / sizeof lits[0]; i++) {
        if (word(ps->p, lits[i].w)) {
            size_t n = strlen(lits[i].w);
            v->type = lits[i].type;
            v->boolean = lits[i].type == TM_JSON_BOOL && lits[i].num != 0;
            if (v->type == TM_JSON_NUMBER) {
                v->num = lits[i].num;
                v->str = ps->p;
                v->len = n;
            }
            ps->p += n;
            return true;
        }
    }
    return false;
}

static tm_status parse_value(parser *ps, int depth, tm_json **out);

/* Number of elements of the array opening at p when it holds only plain
 * numbers on one line (0 otherwise): a scan for the characters numbers,
 * blanks and commas are made of, up to ']'. */
static size_t plain_numbers(const char *p)
{
    size_t n = 1;
    for (p++;; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == ',') {
            n++;
        } else if (c == ']') {
            return n;
        } else if (!((c >= '0' && c <= '9') || c == '.' || c == '-' || c == '+' || c == 'e' ||
                     c == 'E' || c == ' ' || c == '\t' || c == '\r')) {
            return 0;
        }
    }
}

/* Stores a long array of plain numbers typed (see TM__CORE_TYPED_MIN):
 * *done is false, and nothing consumed, when the array is not of that
 * kind or holds a number typed storage would not keep exactly (an integer
 * beyond 2^53, a double on a float32 rounding midpoint, whose float32 needs
 * the text); the generic path then parses it. */
static tm_status parse_typed_array(parser *ps, tm_json *v, bool *done)
{
    char *start = ps->p;
    size_t n = plain_numbers(start);
    *done = false;
    if (n < TM__CORE_TYPED_MIN) {
        return TM_OK;
    }
    if (n > ps->cap) {
        tm_free(ps->dv);
        tm_free(ps->iv);
        tm_free(ps->bits);
        ps->dv = tm_malloc_n(n, sizeof *ps->dv);
        ps->iv = tm_malloc_n(n, sizeof *ps->iv);
        ps->bits = tm_malloc(n / 8 + 1);
        ps->cap = ps->dv && ps->iv && ps->bits ? n : 0;
        if (!ps->cap) {
            return nomem(ps);
        }
    }
    memset(ps->bits, 0, n / 8 + 1);
    bool all_i32 = true;
    ps->p++;
    for (size_t i = 0; i < n; i++) {
        tm_json x = {0};
        skip_ws(ps);
        char c = *ps->p;
        if (!((c >= '0' && c <= '9') || (c == '-' && ps->p[1] >= '0' && ps->p[1] <= '9'))) {
            ps->p = start; /* not a number: the generic path reports it */
            return TM_OK;
        }
        tm_status st = parse_number(ps, &x);
        if (st != TM_OK) {
            return st; /* the generic path fails on this token the same way */
        }
        float f = (float)x.num;
        bool midpoint = !x.is_int && (double)f != x.num && !isinf(f) &&
                        x.num == ((double)f +
                                  (double)nextafterf(f, x.num > (double)f ? INFINITY : -INFINITY)) *
                                         0.5;
        if ((x.is_int && (x.inum < -(INT64_C(1) << 53) || x.inum > (INT64_C(1) << 53))) ||
            midpoint) {
            ps->p = start;
            return TM_OK;
        }
        ps->dv[i] = x.num;
        ps->bits[i / 8] |= (uint8_t)(x.is_int << (i % 8));
        all_i32 = all_i32 && x.is_int && x.inum >= INT32_MIN && x.inum <= INT32_MAX &&
                  !(x.inum == 0 && *x.str == '-');
        ps->iv[i] = all_i32 ? (int32_t)x.inum : 0;
        skip_ws(ps);
        if (*ps->p != (i + 1 < n ? ',' : ']')) {
            ps->p = start; /* malformed: the generic path reports it */
            return TM_OK;
        }
        ps->p++;
    }
    tm_json_typed_kind kind = all_i32 ? TM_JSON_TYPED_I32 : TM_JSON_TYPED_F64;
    if (!tm__core_typed_store(ps->doc, v, n, kind, ps->iv, NULL, ps->dv, ps->bits)) {
        return nomem(ps);
    }
    *done = true;
    return TM_OK;
}

static tm_status parse_container(parser *ps, int depth, tm_json *v)
{
    char buf[16];
    bool obj = *ps->p == '{';
    char close = obj ? '}' : ']';
    size_t base = ps->st.n;
    v->type = obj ? TM_JSON_OBJECT : TM_JSON_ARRAY;
    if (depth >= TM__CORE_MAX_DEPTH) {
        return fail(ps, TM_E_PARSE, "nesting deeper than %d levels", TM__CORE_MAX_DEPTH);
    }
    ps->p++;
    skip_ws(ps);
    if (*ps->p == close) {
        ps->p++;
        return tm__core_stack_commit(&ps->st, base, ps->doc, v) ? TM_OK : nomem(ps);
    }
    for (;;) {
        const char *key = NULL;
        tm_json *item;
        tm_status st;
        if (obj) {
            size_t klen;
            if (*ps->p != '"') {
                return fail(ps, TM_E_PARSE, "expected a string key, found %s",
                            found(ps, ps->p, buf));
            }
            if ((st = parse_string(ps, &key, &klen)) != TM_OK) {
                return st;
            }
            skip_ws(ps);
            if (*ps->p != ':') {
                return fail(ps, TM_E_PARSE, "expected ':' after key \"%.40s\", found %s", key,
                            found(ps, ps->p, buf));
            }
            ps->p++;
            skip_ws(ps);
        }
        if ((st = parse_value(ps, depth + 1, &item)) != TM_OK) {
            return st;
        }
        if (!tm__core_stack_push(&ps->st, key, item)) {
            return nomem(ps);
        }
        skip_ws(ps);
        if (*ps->p == ',') {
            ps->p++;
            skip_ws(ps);
        } else if (*ps->p == close) {
            ps->p++;
            return tm__core_stack_commit(&ps->st, base, ps->doc, v) ? TM_OK : nomem(ps);
        } else {
            return fail(ps, TM_E_PARSE, "expected ',' or '%c', found %s", close,
                        found(ps, ps->p, buf));
        }
    }
}

/* Parses the value at ps->p (whitespace already skipped). */
static tm_status parse_value(parser *ps, int depth, tm_json **out)
{
    char buf[16];
    tm_json *v = tm__core_alloc(ps->doc, sizeof *v);
    if (!v) {
        return nomem(ps);
    }
    *v = (tm_json){.line = ps->line};
    *out = v;
    char c = *ps->p;
    if (c == '"') {
        v->type = TM_JSON_STRING;
        return parse_string(ps, &v->str, &v->len);
    }
    if (c == '[' && depth < TM__CORE_MAX_DEPTH) {
        bool done;
        tm_status st = parse_typed_array(ps, v, &done);
        if (st != TM_OK || done) {
            return st;
        }
    }
    if (c == '[' || c == '{') {
        return parse_container(ps, depth, v);
    }
    if ((c >= '0' && c <= '9') || (c == '-' && ps->p[1] != 'I')) {
        return parse_number(ps, v);
    }
    if (parse_literal(ps, v)) {
        return TM_OK;
    }
    return fail(ps, TM_E_PARSE, "expected a value, found %s", found(ps, ps->p, buf));
}

tm_status tm_json_parse(const char *text, size_t len, const char *path, tm_json_doc **out,
                        tm_err *err)
{
    char buf[16];
    parser ps = {.line = 1, .path = path, .err = err};
    tm_status st = TM_OK;
    if (!out || (!text && len)) {
        return TM_ERR(err, TM_E_INVALID, path, 0, NULL, "tm_json_parse: NULL argument");
    }
    *out = NULL;
    ps.doc = tm__core_doc_new();
    if (!ps.doc || !(ps.doc->text = tm_malloc(len + 1))) {
        st = nomem(&ps);
        goto done;
    }
    tm__core_advise_huge(ps.doc->text, len + 1);
    if (len) {
        memcpy(ps.doc->text, text, len);
    }
    ps.doc->text[len] = 0;
    ps.p = ps.doc->text;
    ps.end = ps.p + len;
    if (len >= 3 && memcmp(ps.p, "\xef\xbb\xbf", 3) == 0) {
        ps.p += 3; /* a UTF-8 byte order mark, which RFC 8259 lets us skip */
    }
    skip_ws(&ps);
    tm_json *root;
    if ((st = parse_value(&ps, 0, &root)) != TM_OK) {
        goto done;
    }
    skip_ws(&ps);
    if (ps.p != ps.end) {
        st = fail(&ps, TM_E_PARSE, "expected end of input after the value, found %s",
                  found(&ps, ps.p, buf));
        goto done;
    }
    ps.doc->root = root;
    *out = ps.doc;
done:
    tm__core_stack_free(&ps.st);
    tm_free(ps.dv);
    tm_free(ps.iv);
    tm_free(ps.bits);
    if (st != TM_OK) {
        tm_json_doc_free(ps.doc);
    }
    return st;
}
