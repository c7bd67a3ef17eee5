/* The JSON text parser: RFC 8259 plus the bare NaN, Infinity and -Infinity
 * XGBoost writes (see formats/xgboost.md). It works on text the document
 * owns (a copy, or the caller's buffer handed over): strings are unescaped
 * in place and number tokens point into it. Nodes go into the document
 * arena (json_doc.c); values of dropped keys are checked, never stored. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <turbomode/core.h>

#include "core_int.h"

/* ---- JSON text parser ---------------------------------------------------- */

typedef tm__core_json_parser parser;

static tm_status nomem(parser *ps)
{
    return tm__core_json_fail(ps, TM_E_NOMEM, "out of memory");
}

static void skip_ws(parser *ps)
{
    char *p = ps->p;
    if ((unsigned char)*p > ' ') {
        return; /* the usual case: no blank at all */
    }
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

/* A number token as read. */
typedef struct number {
    double num;
    int64_t inum; /* when is_int */
    bool is_int;  /* an integer token within int64 */
    bool neg;     /* written with a leading '-' */
} number;

/* Reads the number token at ps->p in one pass: checks the grammar while
 * gathering the mantissa digits and the exponent, which give the value
 * directly under tm__core_fast_double's exact rule; other tokens go to
 * parse_int64 and tm_parse_double. *len: the token's length. */
static inline __attribute__((always_inline)) tm_status scan_number(parser *ps, number *x,
                                                                   size_t *len)
{
    char buf[16];
    char *start = ps->p;
    const char *p = start;
    uint64_t m = 0;
    int n_dig = 0, e10 = 0;
    bool is_int = true;
    x->neg = *p == '-';
    p += x->neg;
    if (*p == '0') {
        p++;
        n_dig = 1;
    } else if (!(*p >= '1' && *p <= '9')) {
        ps->p = (char *)p;
        return tm__core_json_fail(ps, TM_E_PARSE,
                                  "invalid number: expected a digit after '-', found %s",
                                  tm__core_json_found(ps, p, buf));
    } else {
        tm__core_digit_run(&p, ps->end, &m, &n_dig);
    }
    if (*p == '.') {
        is_int = false;
        p++;
        e10 = -tm__core_digit_run(&p, ps->end, &m, &n_dig);
        if (e10 == 0) {
            ps->p = (char *)p;
            return tm__core_json_fail(ps, TM_E_PARSE,
                                      "invalid number: expected a digit after '.', found %s",
                                      tm__core_json_found(ps, p, buf));
        }
    }
    if (*p == 'e' || *p == 'E') {
        is_int = false;
        p++;
        bool eneg = *p == '-';
        p += *p == '+' || *p == '-';
        if (!(*p >= '0' && *p <= '9')) {
            ps->p = (char *)p;
            return tm__core_json_fail(ps, TM_E_PARSE,
                                      "invalid number: expected a digit in the exponent, found %s",
                                      tm__core_json_found(ps, p, buf));
        }
        int ev = 0;
        for (; *p >= '0' && *p <= '9'; p++) {
            ev = ev < 100000 ? ev * 10 + (*p - '0') : ev;
        }
        e10 += eneg ? -ev : ev;
    }
    *len = (size_t)(p - start);
    ps->p = (char *)p;
    x->is_int = false;
    x->inum = 0;
    if (is_int) {
        x->inum = x->neg ? (int64_t)(0 - m) : (int64_t)m; /* exact up to 18 digits */
        x->is_int = n_dig <= 18 || parse_int64(start, p, &x->inum);
        x->inum = x->is_int ? x->inum : 0;
        if (x->is_int && x->inum >= -(INT64_C(1) << 53) && x->inum <= (INT64_C(1) << 53)) {
            x->num = x->neg && x->inum == 0 ? -0.0 : (double)x->inum;
            return TM_OK;
        }
    }
    if (n_dig <= 19 && m == 0) {
        x->num = x->neg ? -0.0 : 0.0;
        return TM_OK;
    }
    if (n_dig <= 19 && m <= (UINT64_C(1) << 53) && e10 >= -22 && e10 <= 22) {
        double d = (double)m;
        d = e10 < 0 ? d / tm__core_pow10[-e10] : d * tm__core_pow10[e10];
        x->num = x->neg ? -d : d;
        return TM_OK;
    }
    if (tm_parse_double(start, *len, &x->num)) {
        return TM_OK;
    }
    ps->p = start;
    return tm__core_json_fail(ps, TM_E_PARSE, "number too long (%zu characters)", *len);
}

static tm_status parse_number(parser *ps, tm_json *v)
{
    number x;
    v->str = ps->p;
    tm_status st = scan_number(ps, &x, &v->len);
    if (st != TM_OK) {
        return st;
    }
    v->type = TM_JSON_NUMBER;
    v->num = x.num;
    v->inum = x.inum;
    v->is_int = x.is_int;
    return TM_OK;
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

/* Byte classes for plain_numbers: 1 part of a number or a blank other
 * than a newline, 2 a comma, 0 anything else. */
static const unsigned char plain_class[256] = {
        ['0'] = 1, ['1'] = 1, ['2'] = 1,  ['3'] = 1,  ['4'] = 1, ['5'] = 1, ['6'] = 1,
        ['7'] = 1, ['8'] = 1, ['9'] = 1,  ['.'] = 1,  ['-'] = 1, ['+'] = 1, ['e'] = 1,
        ['E'] = 1, [' '] = 1, ['\t'] = 1, ['\r'] = 1, [','] = 2,
};

/* Whether the array opening at p is worth reading typed: its first
 * TM__CORE_TYPED_MIN elements are made of number characters and blanks,
 * on one line. The rest is checked as it is read. */
static bool plain_numbers(const char *p)
{
    const unsigned char *s = (const unsigned char *)p + 1;
    for (size_t n = 1;; s++) {
        unsigned k = plain_class[*s];
        if (k == 2 && ++n == TM__CORE_TYPED_MIN) {
            return true;
        }
        if (k != 1 && k != 2) {
            return false;
        }
    }
}

/* Doubles the typed-array scratch; false when out of memory (what was
 * grown stays valid). */
static bool grow_scratch(parser *ps)
{
    size_t cap = ps->cap ? ps->cap * 2 : 256; /* a multiple of 8: whole bytes of bits */
    double *dv = tm_realloc_n(ps->dv, cap, sizeof *dv);
    if (dv) {
        ps->dv = dv;
    }
    int32_t *iv = dv ? tm_realloc_n(ps->iv, cap, sizeof *iv) : NULL;
    if (iv) {
        ps->iv = iv;
    }
    uint8_t *bits = iv ? tm_realloc_n(ps->bits, cap / 8, 1) : NULL;
    if (!bits) {
        return false;
    }
    ps->bits = bits;
    ps->cap = cap;
    return true;
}

/* skip_ws within a line: a typed array ends at a newline. */
static void skip_blanks(parser *ps)
{
    char *p = ps->p;
    if ((unsigned char)*p > ' ') {
        return;
    }
    while (*p == ' ' || *p == '\t' || *p == '\r') {
        p++;
    }
    ps->p = p;
}

/* Stores a long array of plain numbers on one line typed (see
 * TM__CORE_TYPED_MIN): *done is false, and nothing consumed, when the
 * array is not of that kind or holds a number typed storage would not keep
 * exactly (an integer beyond 2^53, a double on a float32 rounding midpoint,
 * whose float32 needs the text); the generic path then parses it. Inside a
 * dropped value any such array is only checked. */
static tm_status parse_typed_array(parser *ps, tm_json *v, bool *done)
{
    char *start = ps->p;
    bool keep = !ps->dropping, all_i32 = true;
    size_t n = 0;
    *done = false;
    if (keep && !plain_numbers(start)) {
        return TM_OK;
    }
    ps->p++;
    for (;;) {
        number x;
        size_t len;
        skip_blanks(ps);
        char c = *ps->p;
        if (!((c >= '0' && c <= '9') || (c == '-' && ps->p[1] >= '0' && ps->p[1] <= '9'))) {
            ps->p = start; /* not a number: the generic path reads or reports it */
            return TM_OK;
        }
        tm_status st = scan_number(ps, &x, &len);
        if (st != TM_OK) {
            return st; /* the generic path fails on this token the same way */
        }
        if (keep) {
            if ((x.is_int && (x.inum < -(INT64_C(1) << 53) || x.inum > (INT64_C(1) << 53))) ||
                (!x.is_int && tm__core_f32_midpoint(x.num))) {
                ps->p = start;
                return TM_OK;
            }
            if (n == ps->cap && !grow_scratch(ps)) {
                return nomem(ps);
            }
            ps->dv[n] = x.num;
            ps->bits[n / 8] = (uint8_t)((n % 8 ? ps->bits[n / 8] : 0) | x.is_int << (n % 8));
            all_i32 = all_i32 && x.is_int && x.inum >= INT32_MIN && x.inum <= INT32_MAX &&
                      !(x.inum == 0 && x.neg);
            ps->iv[n] = all_i32 ? (int32_t)x.inum : 0;
        }
        n++;
        skip_blanks(ps);
        if (*ps->p == ']') {
            break;
        }
        if (*ps->p != ',') {
            ps->p = start; /* a newline or worse: the generic path reads or reports it */
            return TM_OK;
        }
        ps->p++;
    }
    ps->p++;
    tm_json_typed_kind kind = all_i32 ? TM_JSON_TYPED_I32 : TM_JSON_TYPED_F64;
    if (keep && !tm__core_typed_store(ps->doc, v, n, kind, ps->iv, NULL, ps->dv, ps->bits)) {
        return nomem(ps);
    }
    *done = true;
    return TM_OK;
}

/* True when the value of key is to be dropped. */
static bool dropped(const parser *ps, const char *key)
{
    for (size_t i = 0; i < ps->n_drop; i++) {
        if (strcmp(key, ps->drop[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* Keeps a container's members [base, ...) in node, unless dropping. */
static tm_status commit(parser *ps, size_t base, tm_json *node)
{
    if (ps->dropping) {
        return TM_OK;
    }
    return tm__core_stack_commit(&ps->st, base, ps->doc, node) ? TM_OK : nomem(ps);
}

static tm_status parse_container(parser *ps, int depth, tm_json *v)
{
    char buf[16];
    bool obj = *ps->p == '{';
    char close = obj ? '}' : ']';
    size_t base = ps->st.n;
    v->type = obj ? TM_JSON_OBJECT : TM_JSON_ARRAY;
    if (depth >= TM__CORE_MAX_DEPTH) {
        return tm__core_json_fail(ps, TM_E_PARSE, "nesting deeper than %d levels",
                                  TM__CORE_MAX_DEPTH);
    }
    ps->p++;
    skip_ws(ps);
    if (*ps->p == close) {
        ps->p++;
        return commit(ps, base, v);
    }
    for (;;) {
        const char *key = NULL;
        tm_json *item;
        tm_status st;
        bool drop = false;
        if (obj) {
            size_t klen;
            if (*ps->p != '"') {
                return tm__core_json_fail(ps, TM_E_PARSE, "expected a string key, found %s",
                                          tm__core_json_found(ps, ps->p, buf));
            }
            if ((st = tm__core_json_string(ps, &key, &klen)) != TM_OK) {
                return st;
            }
            skip_ws(ps);
            if (*ps->p != ':') {
                return tm__core_json_fail(ps, TM_E_PARSE,
                                          "expected ':' after key \"%.40s\", found %s", key,
                                          tm__core_json_found(ps, ps->p, buf));
            }
            ps->p++;
            skip_ws(ps);
            drop = ps->n_drop && !ps->dropping && dropped(ps, key);
        }
        long line = ps->line;
        ps->dropping += drop;
        st = parse_value(ps, depth + 1, &item);
        ps->dropping -= drop;
        if (st != TM_OK) {
            return st;
        }
        if (drop && (item = tm__core_alloc(ps->doc, sizeof *item)) != NULL) {
            *item = (tm_json){.type = TM_JSON_NULL, .line = line};
        }
        if (!ps->dropping && (!item || !tm__core_stack_push(&ps->st, key, item))) {
            return nomem(ps);
        }
        skip_ws(ps);
        if (*ps->p == ',') {
            ps->p++;
            skip_ws(ps);
        } else if (*ps->p == close) {
            ps->p++;
            return commit(ps, base, v);
        } else {
            return tm__core_json_fail(ps, TM_E_PARSE, "expected ',' or '%c', found %s", close,
                                      tm__core_json_found(ps, ps->p, buf));
        }
    }
}

/* Parses the value at ps->p (whitespace already skipped). */
static tm_status parse_value(parser *ps, int depth, tm_json **out)
{
    char buf[16];
    tm_json scratch; /* the node of a value inside a dropped one */
    tm_json *v = ps->dropping ? &scratch : tm__core_alloc(ps->doc, sizeof *v);
    if (!v) {
        return nomem(ps);
    }
    *v = (tm_json){.line = ps->line};
    *out = v;
    char c = *ps->p;
    if (c == '"') {
        v->type = TM_JSON_STRING;
        return tm__core_json_string(ps, &v->str, &v->len);
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
    return tm__core_json_fail(ps, TM_E_PARSE, "expected a value, found %s",
                              tm__core_json_found(ps, ps->p, buf));
}

void tm_json_parse_opts_init(tm_json_parse_opts *opts)
{
    *opts = (tm_json_parse_opts){0};
}

/* Parses text[0, len) (text[len] == 0), which the new document owns from
 * the start: freed with it, also on failure. */
static tm_status parse_text(char *text, size_t len, const char *path,
                            const tm_json_parse_opts *opts, tm_json_doc **out, tm_err *err)
{
    char buf[16];
    parser ps = {.line = 1, .path = path, .err = err};
    tm_status st = TM_OK;
    *out = NULL;
    if (opts) {
        ps.drop = opts->drop_keys;
        ps.n_drop = opts->drop_keys ? opts->n_drop_keys : 0;
    }
    ps.doc = tm__core_doc_new();
    if (!ps.doc) {
        tm_free(text);
        return nomem(&ps);
    }
    ps.doc->text = text;
    ps.p = text;
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
        st = tm__core_json_fail(&ps, TM_E_PARSE, "expected end of input after the value, found %s",
                                tm__core_json_found(&ps, ps.p, buf));
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

tm_status tm_json_parse(const char *text, size_t len, const char *path, tm_json_doc **out,
                        tm_err *err)
{
    if (!out || (!text && len)) {
        return TM_ERR(err, TM_E_INVALID, path, 0, NULL, "tm_json_parse: NULL argument");
    }
    *out = NULL;
    char *copy = tm_malloc(len + 1);
    if (!copy) {
        return TM_ERR(err, TM_E_NOMEM, path, 1, NULL, "out of memory");
    }
    tm__core_advise_huge(copy, len + 1);
    if (len) {
        memcpy(copy, text, len);
    }
    copy[len] = 0;
    return parse_text(copy, len, path, NULL, out, err);
}

tm_status tm_json_parse_owned(char *text, size_t len, const char *path,
                              const tm_json_parse_opts *opts, tm_json_doc **out, tm_err *err)
{
    if (!out || !text || text[len] != 0) {
        tm_free(text);
        if (out) {
            *out = NULL;
        }
        return TM_ERR(err, TM_E_INVALID, path, 0, NULL,
                      "tm_json_parse_owned: NULL argument or text not NUL-terminated");
    }
    return parse_text(text, len, path, opts, out, err);
}
