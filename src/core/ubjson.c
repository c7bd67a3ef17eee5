/* The UBJSON reader: big-endian scalars, strings, and plain or optimised
 * ($type / #count) containers, into the same document model as JSON (see
 * formats/xgboost.md section 2). Every length and count is checked against
 * the bytes left before anything is allocated, so a forged count cannot
 * cause a huge allocation. Messages name the byte offset. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <turbomode/core.h>

#include "core_int.h"

typedef struct reader {
    const unsigned char *start;
    const unsigned char *p;   /* next byte */
    const unsigned char *end; /* start + len */
    const char *path;         /* for messages */
    tm_json_doc *doc;
    tm__core_stack st; /* members of the open containers */
    tm_err *err;
} reader;

static tm_status fail_at(reader *r, const unsigned char *at, tm_status st, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static tm_status fail_at(reader *r, const unsigned char *at, tm_status st, const char *fmt, ...)
{
    char reason[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return TM_ERR(r->err, st, r->path, 0, NULL, "offset %zu: %s", (size_t)(at - r->start), reason);
}

static tm_status nomem(reader *r)
{
    return fail_at(r, r->p, TM_E_NOMEM, "out of memory");
}

static size_t left(const reader *r)
{
    return (size_t)(r->end - r->p);
}

/* Fails unless n more bytes are there. */
static tm_status need(reader *r, size_t n, const char *what)
{
    if (left(r) >= n) {
        return TM_OK;
    }
    return fail_at(r, r->p, TM_E_PARSE, "unexpected end of input (%s: need %zu bytes, have %zu)",
                   what, n, left(r));
}

/* How a marker byte reads in a message. */
static const char *marker_text(unsigned char c, char buf[16])
{
    if (c >= 0x20 && c < 0x7f) {
        snprintf(buf, 16, "'%c'", c);
    } else {
        snprintf(buf, 16, "'\\x%02x'", c);
    }
    return buf;
}

/* Payload bytes of a fixed-size scalar marker; 0 for Z/T/F; -1 for
 * variable-size (strings, containers) and unknown markers. */
static int payload_size(unsigned char m)
{
    switch (m) {
    case 'Z':
    case 'T':
    case 'F':
        return 0;
    case 'i':
    case 'U':
    case 'C':
        return 1;
    case 'I':
        return 2;
    case 'l':
    case 'd':
        return 4;
    case 'L':
    case 'D':
        return 8;
    default:
        return -1;
    }
}

static bool is_int_marker(unsigned char m)
{
    return m == 'i' || m == 'U' || m == 'I' || m == 'l' || m == 'L';
}

/* Big-endian payload of n bytes at p (n <= 8; the caller checked them). */
static uint64_t load_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        v = v << 8 | p[i];
    }
    return v;
}

/* Integer payload of marker m at p (the caller checked its bytes). */
static int64_t int_value(unsigned char m, const unsigned char *p)
{
    switch (m) {
    case 'i':
        return (int8_t)p[0];
    case 'U':
        return p[0];
    case 'I':
        return (int16_t)(uint16_t)load_be(p, 2);
    case 'l':
        return (int32_t)(uint32_t)load_be(p, 4);
    default:
        return (int64_t)load_be(p, 8);
    }
}

/* Reads an integer-marked length or count, which must fit in the bytes
 * left when each unit takes at least unit bytes. */
static tm_status read_length(reader *r, const char *what, size_t unit, size_t *out)
{
    char buf[16];
    const unsigned char *at = r->p;
    tm_status st = need(r, 1, what);
    if (st != TM_OK) {
        return st;
    }
    unsigned char m = *r->p;
    if (!is_int_marker(m)) {
        return fail_at(r, at, TM_E_PARSE, "expected an integer marker for the %s, found %s", what,
                       marker_text(m, buf));
    }
    r->p++;
    if ((st = need(r, (size_t)payload_size(m), what)) != TM_OK) {
        return st;
    }
    int64_t v = int_value(m, r->p);
    r->p += payload_size(m);
    if (v < 0) {
        return fail_at(r, at, TM_E_PARSE, "negative %s %lld", what, (long long)v);
    }
    if ((uint64_t)v > left(r) / unit) {
        if (unit == 1) {
            return fail_at(r, at, TM_E_PARSE, "%s %lld exceeds the %zu bytes left", what,
                           (long long)v, left(r));
        }
        return fail_at(r, at, TM_E_PARSE,
                       "%s %lld (at least %zu bytes each) exceeds the %zu "
                       "bytes left",
                       what, (long long)v, unit, left(r));
    }
    *out = (size_t)v;
    return TM_OK;
}

/* A length-prefixed string (key, S or H payload) copied into the arena. */
static tm_status read_str(reader *r, const char *what, const char **out, size_t *len)
{
    tm_status st = read_length(r, what, 1, len);
    if (st != TM_OK) {
        return st;
    }
    char *s = tm__core_alloc(r->doc, *len + 1);
    if (!s) {
        return nomem(r);
    }
    memcpy(s, r->p, *len);
    s[*len] = 0;
    r->p += *len;
    *out = s;
    return TM_OK;
}

/* Fills v from the fixed-size payload of scalar marker m at r->p. */
static void scalar(reader *r, unsigned char m, tm_json *v)
{
    const unsigned char *p = r->p;
    r->p += payload_size(m);
    switch (m) {
    case 'Z':
        v->type = TM_JSON_NULL;
        break;
    case 'T':
    case 'F':
        v->type = TM_JSON_BOOL;
        v->boolean = m == 'T';
        break;
    case 'd': {
        uint32_t bits = (uint32_t)load_be(p, 4);
        v->type = TM_JSON_NUMBER;
        v->is_f32 = true;
        memcpy(&v->f32, &bits, sizeof bits);
        v->num = (double)v->f32;
        break;
    }
    case 'D': {
        uint64_t bits = load_be(p, 8);
        v->type = TM_JSON_NUMBER;
        memcpy(&v->num, &bits, sizeof bits);
        break;
    }
    default: /* integers */
        v->type = TM_JSON_NUMBER;
        v->is_int = true;
        v->inum = int_value(m, p);
        v->num = (double)v->inum;
        break;
    }
}

static tm_status parse_value(reader *r, int depth, tm_json **out);

/* Fills v from marker m, whose payload starts at r->p. */
static tm_status parse_typed(reader *r, unsigned char m, int depth, tm_json *v);

static tm_status parse_container(reader *r, bool obj, int depth, tm_json *v);

static tm_status parse_typed(reader *r, unsigned char m, int depth, tm_json *v)
{
    char buf[16];
    int size = payload_size(m);
    tm_status st;
    if (size >= 0) {
        if ((st = need(r, (size_t)size, "scalar")) != TM_OK) {
            return st;
        }
        if (m == 'C') {
            char *s = tm__core_alloc(r->doc, 2);
            if (!s) {
                return nomem(r);
            }
            s[0] = (char)*r->p++;
            s[1] = 0;
            v->type = TM_JSON_STRING;
            v->str = s;
            v->len = 1;
            return TM_OK;
        }
        scalar(r, m, v);
        return TM_OK;
    }
    switch (m) {
    case 'S':
    case 'H': /* high-precision number, kept as its decimal text */
        v->type = TM_JSON_STRING;
        return read_str(r, "string length", &v->str, &v->len);
    case '[':
    case '{':
        return parse_container(r, m == '{', depth, v);
    default:
        return fail_at(r, r->p - 1, TM_E_PARSE, "unknown marker %s", marker_text(m, buf));
    }
}

/* A long optimised array of numbers, stored typed (tm__core_typed_store);
 * *done is false, and nothing consumed, when an integer beyond 2^53 needs
 * the nodes' int64. */
static tm_status typed_numbers(reader *r, unsigned char type, size_t count, tm_json *v, bool *done)
{
    const unsigned char *p0 = r->p;
    double *dv = tm_malloc_n(count, sizeof *dv);
    float *fv = tm_malloc_n(count, sizeof *fv);
    int32_t *iv = tm_malloc_n(count, sizeof *iv);
    uint8_t *bits = tm_calloc(count / 8 + 1, 1);
    bool all_i32 = true, exact = true;
    tm_status st = TM_OK;
    *done = false;
    if (!dv || !fv || !iv || !bits) {
        st = nomem(r);
        goto done;
    }
    for (size_t i = 0; i < count && exact; i++) {
        tm_json x = {0};
        scalar(r, type, &x);
        exact = !x.is_int || (x.inum >= -(INT64_C(1) << 53) && x.inum <= (INT64_C(1) << 53));
        dv[i] = x.num;
        fv[i] = x.f32;
        bits[i / 8] |= (uint8_t)(x.is_int << (i % 8));
        all_i32 = all_i32 && x.is_int && x.inum >= INT32_MIN && x.inum <= INT32_MAX;
        iv[i] = all_i32 ? (int32_t)x.inum : 0;
    }
    tm_json_typed_kind kind = type == 'd' ? TM_JSON_TYPED_F32
                              : all_i32   ? TM_JSON_TYPED_I32
                                          : TM_JSON_TYPED_F64;
    if (!exact) {
        r->p = p0;
    } else if (!tm__core_typed_store(r->doc, v, count, kind, iv, fv, dv, bits)) {
        st = nomem(r);
    } else {
        *done = true;
    }
done:
    tm_free(dv);
    tm_free(fv);
    tm_free(iv);
    tm_free(bits);
    return st;
}

/* Optimised array of a fixed-size scalar type: typed when long and
 * numeric, else nodes in one block. */
static tm_status typed_scalars(reader *r, unsigned char type, size_t count, tm_json *v)
{
    v->len = count;
    if (count == 0) {
        return TM_OK;
    }
    if (count >= TM__CORE_TYPED_MIN && strchr("iUIlLdD", type)) {
        bool done;
        tm_status st = typed_numbers(r, type, count, v, &done);
        if (st != TM_OK || done) {
            return st;
        }
    }
    tm_json *nodes = tm__core_alloc_n(r->doc, count, sizeof *nodes);
    v->items = tm__core_alloc_n(r->doc, count, sizeof *v->items);
    if (!nodes || !v->items) {
        return nomem(r);
    }
    for (size_t i = 0; i < count; i++) {
        nodes[i] = (tm_json){.line = r->p - r->start};
        scalar(r, type, &nodes[i]);
        v->items[i] = &nodes[i];
    }
    return TM_OK;
}

/* Reads the optional $type and #count after '[' or '{'. *type is 0 and
 * *count SIZE_MAX when absent. */
static tm_status container_header(reader *r, bool obj, unsigned char *type, size_t *count)
{
    char buf[16];
    tm_status st;
    *type = 0;
    *count = SIZE_MAX;
    if (left(r) && *r->p == '$') {
        if ((st = need(r, 3, "typed container header")) != TM_OK) {
            return st;
        }
        *type = r->p[1];
        if (payload_size(*type) < 0 && !(*type && memchr("SHC[{", *type, 5))) {
            return fail_at(r, r->p + 1, TM_E_PARSE, "invalid container type %s",
                           marker_text(*type, buf));
        }
        if (r->p[2] != '#') {
            return fail_at(r, r->p + 2, TM_E_PARSE,
                           "expected '#' after the container type, "
                           "found %s",
                           marker_text(r->p[2], buf));
        }
        r->p += 2;
    }
    if (left(r) && *r->p == '#') {
        r->p++;
        /* Bytes one member takes at least: a key (marker + length) in
         * objects, plus the value: its payload when typed, else one marker
         * byte. Typed Z/T/F members count one byte in arrays, so a forged
         * count of payload-free nulls cannot allocate without bound. */
        int size = *type ? payload_size(*type) : 1;
        size_t unit = obj ? 2 + (size_t)(size > 0 ? size : 0) : (size_t)(size > 0 ? size : 1);
        return read_length(r, "count", unit, count);
    }
    return TM_OK;
}

static tm_status parse_container(reader *r, bool obj, int depth, tm_json *v)
{
    unsigned char type;
    size_t count, base = r->st.n;
    tm_status st;
    v->type = obj ? TM_JSON_OBJECT : TM_JSON_ARRAY;
    if (depth >= TM__CORE_MAX_DEPTH) {
        return fail_at(r, r->p - 1, TM_E_PARSE, "nesting deeper than %d levels",
                       TM__CORE_MAX_DEPTH);
    }
    if ((st = container_header(r, obj, &type, &count)) != TM_OK) {
        return st;
    }
    if (!obj && type && type != 'C' && payload_size(type) >= 0) {
        return typed_scalars(r, type, count, v);
    }
    for (size_t i = 0; i < count; i++) {
        const char *key = NULL;
        size_t klen;
        tm_json *item;
        while (count == SIZE_MAX && left(r) && *r->p == 'N') {
            r->p++;
        }
        if (count == SIZE_MAX) {
            if ((st = need(r, 1, obj ? "object" : "array")) != TM_OK) {
                return st;
            }
            if (*r->p == (obj ? '}' : ']')) {
                r->p++;
                break;
            }
        }
        if (obj && (st = read_str(r, "key length", &key, &klen)) != TM_OK) {
            return st;
        }
        if (!type) {
            st = parse_value(r, depth + 1, &item);
        } else if (!(item = tm__core_alloc(r->doc, sizeof *item))) {
            st = nomem(r);
        } else {
            *item = (tm_json){.line = r->p - r->start};
            st = parse_typed(r, type, depth + 1, item);
        }
        if (st != TM_OK) {
            return st;
        }
        if (!tm__core_stack_push(&r->st, key, item)) {
            return nomem(r);
        }
    }
    return tm__core_stack_commit(&r->st, base, r->doc, v) ? TM_OK : nomem(r);
}

/* Parses one marked value at r->p, skipping N no-ops before it. */
static tm_status parse_value(reader *r, int depth, tm_json **out)
{
    while (left(r) && *r->p == 'N') {
        r->p++;
    }
    tm_status st = need(r, 1, "value");
    if (st != TM_OK) {
        return st;
    }
    tm_json *v = tm__core_alloc(r->doc, sizeof *v);
    if (!v) {
        return nomem(r);
    }
    *v = (tm_json){.line = r->p - r->start};
    *out = v;
    unsigned char m = *r->p++;
    return parse_typed(r, m, depth, v);
}

tm_status tm_ubjson_parse(const unsigned char *data, size_t len, const char *path,
                          tm_json_doc **out, tm_err *err)
{
    char buf[16];
    reader r = {.start = data, .p = data, .end = data + len, .path = path, .err = err};
    tm_status st;
    tm_json *root;
    if (!out || (!data && len)) {
        return TM_ERR(err, TM_E_INVALID, path, 0, NULL, "tm_ubjson_parse: NULL argument");
    }
    *out = NULL;
    if (!data) {
        r.start = r.p = r.end = (const unsigned char *)"";
    }
    if (!(r.doc = tm__core_doc_new())) {
        st = nomem(&r);
        goto done;
    }
    if ((st = parse_value(&r, 0, &root)) != TM_OK) {
        goto done;
    }
    while (left(&r) && *r.p == 'N') {
        r.p++;
    }
    if (left(&r)) {
        st = fail_at(&r, r.p, TM_E_PARSE, "expected end of input after the value, found %s",
                     marker_text(*r.p, buf));
        goto done;
    }
    r.doc->root = root;
    *out = r.doc;
done:
    tm__core_stack_free(&r.st);
    if (st != TM_OK) {
        tm_json_doc_free(r.doc);
    }
    return st;
}
