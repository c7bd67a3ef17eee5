/* Typed getters over a parsed JSON/UBJSON document. Model loaders read
 * dozens of fields each; these check the type and range of what they read
 * and, when a value is missing or wrong, record one line that names the
 * value's full path, so every loader reports the same way ("field
 * 'a.b[3].c': expected an array of numbers, found a string"). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#include <turbomode/core.h>

static const char *type_word(tm_json_type t)
{
    static const char *const words[] = {"null",     "a boolean", "a number",
                                        "a string", "an array",  "an object"};
    return (unsigned)t < sizeof words / sizeof words[0] ? words[t] : "an unknown value";
}

const char *tm_json_type_name(const tm_json *v)
{
    return v ? type_word(v->type) : "nothing";
}

const char *tm_json_found(const tm_json *v, char *buf, size_t len)
{
    if (!v || len < 2) {
        return tm_json_type_name(v);
    }
    if (v->type == TM_JSON_BOOL) {
        return v->boolean ? "true" : "false";
    }
    if (v->type == TM_JSON_STRING) {
        snprintf(buf, len, "\"%.40s\"", v->str);
        return buf;
    }
    if (v->type != TM_JSON_NUMBER) {
        return tm_json_type_name(v);
    }
    if (v->str && v->len > 0) { /* JSON text: the number as written */
        snprintf(buf, len, "%.*s", (int)(v->len < 40 ? v->len : 40), v->str);
    } else if (v->is_int) {
        snprintf(buf, len, "%lld", (long long)v->inum);
    } else {
        snprintf(buf, len, "%.17g", v->num);
    }
    return buf;
}

tm_status tm_json_fail(const tm_json_ctx *c, tm_status st, const tm_json *at, const char *where,
                       const char *key, const char *fmt, ...)
{
    char reason[480], field[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    where = where ? where : "";
    snprintf(field, sizeof field, "%s%s%s", where, *where && key ? "." : "", key ? key : "");
    long line = c->has_lines && at ? at->line : 0;
    return TM_ERR(c->err, st, c->path, line, *field ? field : NULL, "%s", reason);
}

/* The path of element i of the array at where, into buf. */
static const char *element(const char *where, size_t i, char *buf, size_t len)
{
    snprintf(buf, len, "%s[%zu]", where ? where : "", i);
    return buf;
}

tm_status tm_json_expect(const tm_json_ctx *c, const tm_json *v, const tm_json *parent,
                         const char *where, const char *key, tm_json_type t)
{
    char buf[64];
    if (v && v->type == t) {
        return TM_OK;
    }
    return tm_json_fail(c, TM_E_PARSE, v ? v : parent, where, key, "expected %s, found %s",
                        type_word(t), tm_json_found(v, buf, sizeof buf));
}

tm_status tm_json_member(const tm_json_ctx *c, const tm_json *obj, const char *where,
                         const char *key, tm_json_type t, bool optional, const tm_json **out)
{
    const tm_json *v = tm_json_get(obj, key);
    *out = NULL;
    if (!v || (optional && v->type == TM_JSON_NULL)) {
        return optional ? TM_OK : tm_json_fail(c, TM_E_PARSE, obj, where, key, "missing");
    }
    tm_status st = tm_json_expect(c, v, obj, where, key, t);
    *out = st == TM_OK ? v : NULL;
    return st;
}

/* v as an integer; false when it is not an integer-valued number. */
static bool integer(const tm_json *v, int64_t *out)
{
    if (!v || v->type != TM_JSON_NUMBER) {
        return false;
    }
    if (v->is_int) {
        *out = v->inum;
        return true;
    }
    if (!(v->num >= -9.0e18 && v->num <= 9.0e18) || v->num != floor(v->num)) {
        return false;
    }
    *out = (int64_t)v->num;
    return true;
}

/* v (at where.key) as an integer in lo..hi. */
static tm_status int_value(const tm_json_ctx *c, const tm_json *v, const tm_json *parent,
                           const char *where, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
    char buf[64];
    int64_t x = 0;
    *out = 0;
    if (!integer(v, &x) || x < lo || x > hi) {
        return tm_json_fail(c, TM_E_PARSE, v ? v : parent, where, key,
                            "expected an integer in %lld..%lld, found %s", (long long)lo,
                            (long long)hi, tm_json_found(v, buf, sizeof buf));
    }
    *out = x;
    return TM_OK;
}

tm_status tm_json_member_int(const tm_json_ctx *c, const tm_json *obj, const char *where,
                             const char *key, int64_t lo, int64_t hi, bool optional, int64_t dflt,
                             int64_t *out)
{
    const tm_json *v = tm_json_get(obj, key);
    *out = dflt;
    if (!v) {
        return optional ? TM_OK : tm_json_fail(c, TM_E_PARSE, obj, where, key, "missing");
    }
    tm_status st = int_value(c, v, obj, where, key, lo, hi, out);
    if (st != TM_OK) {
        *out = dflt;
    }
    return st;
}

tm_status tm_json_member_num(const tm_json_ctx *c, const tm_json *obj, const char *where,
                             const char *key, bool optional, double dflt, double *out)
{
    const tm_json *v = NULL;
    *out = dflt;
    tm_status st = tm_json_member(c, obj, where, key, TM_JSON_NUMBER, optional, &v);
    if (st == TM_OK && v) {
        *out = v->num;
    }
    return st;
}

tm_status tm_json_member_nums(const tm_json_ctx *c, const tm_json *obj, const char *where,
                              const char *key, size_t n, bool optional, const tm_json **out)
{
    char buf[64];
    const tm_json *v = tm_json_get(obj, key);
    *out = NULL;
    if (!v) {
        return optional ? TM_OK : tm_json_fail(c, TM_E_PARSE, obj, where, key, "missing");
    }
    if (v->type != TM_JSON_ARRAY) {
        return tm_json_fail(c, TM_E_PARSE, v, where, key, "expected an array of numbers, found %s",
                            tm_json_found(v, buf, sizeof buf));
    }
    if (n != TM_JSON_ANY_LEN && v->len != n) {
        return tm_json_fail(c, TM_E_PARSE, v, where, key, "expected %zu elements, found %zu", n,
                            v->len);
    }
    *out = v;
    return TM_OK;
}

/* tm_json_int_at past its typed fast path: apart, so that the fast path
 * needs no stack frame for the message buffers. */
static __attribute__((noinline)) tm_status int_at(const tm_json_ctx *c, const tm_json *arr,
                                                  const char *where, size_t i, int64_t lo,
                                                  int64_t hi, int64_t *out)
{
    const tm_json *v = tm_json_at(arr, i);
    if (v && v->type == TM_JSON_NUMBER && v->is_int && v->inum >= lo && v->inum <= hi) {
        *out = v->inum; /* the common case, without building the path */
        return TM_OK;
    }
    char path[192];
    return int_value(c, v, arr, element(where, i, path, sizeof path), NULL, lo, hi, out);
}

tm_status tm_json_int_at(const tm_json_ctx *c, const tm_json *arr, const char *where, size_t i,
                         int64_t lo, int64_t hi, int64_t *out)
{
    if (arr && arr->typed_kind == TM_JSON_TYPED_I32 && i < arr->len) {
        int64_t x = ((const int32_t *)arr->typed)[i]; /* typed: no view needed */
        if (x >= lo && x <= hi) {
            *out = x;
            return TM_OK;
        }
    }
    return int_at(c, arr, where, i, lo, hi, out);
}

/* tm_json_flag_at past its typed fast path (see int_at). */
static __attribute__((noinline)) tm_status flag_at(const tm_json_ctx *c, const tm_json *arr,
                                                   const char *where, size_t i, bool *out)
{
    const tm_json *v = tm_json_at(arr, i);
    *out = false;
    if (v && v->type == TM_JSON_BOOL) {
        *out = v->boolean;
        return TM_OK;
    }
    int64_t x = 0;
    if (integer(v, &x) && (x == 0 || x == 1)) {
        *out = x == 1;
        return TM_OK;
    }
    char path[192], buf[64];
    return tm_json_fail(c, TM_E_PARSE, v ? v : arr, element(where, i, path, sizeof path), NULL,
                        "expected true, false, 0 or 1, found %s",
                        tm_json_found(v, buf, sizeof buf));
}

tm_status tm_json_flag_at(const tm_json_ctx *c, const tm_json *arr, const char *where, size_t i,
                          bool *out)
{
    if (arr && arr->typed_kind == TM_JSON_TYPED_I32 && i < arr->len) {
        int32_t x = ((const int32_t *)arr->typed)[i]; /* typed: no view needed */
        if (x == 0 || x == 1) {
            *out = x == 1;
            return TM_OK;
        }
    }
    return flag_at(c, arr, where, i, out);
}

/* Element i of arr as a number value, or NULL after recording the error. */
static const tm_json *number_at(const tm_json_ctx *c, const tm_json *arr, const char *where,
                                size_t i)
{
    const tm_json *v = tm_json_at(arr, i);
    if (v && v->type == TM_JSON_NUMBER) {
        return v;
    }
    char path[192], buf[64];
    tm_json_fail(c, TM_E_PARSE, v ? v : arr, element(where, i, path, sizeof path), NULL,
                 "expected a number, found %s", tm_json_found(v, buf, sizeof buf));
    return NULL;
}

tm_status tm_json_f32_at(const tm_json_ctx *c, const tm_json *arr, const char *where, size_t i,
                         float *out)
{
    /* Typed elements without a view: what tm_json_f32 gives for them. A
     * typed double has no text and, from JSON, is never on a float32
     * midpoint, so it rounds once; an integer-valued one rounds the same
     * through int64. */
    if (arr && arr->typed && i < arr->len) {
        switch ((tm_json_typed_kind)arr->typed_kind) {
        case TM_JSON_TYPED_I32:
            *out = (float)((const int32_t *)arr->typed)[i];
            return TM_OK;
        case TM_JSON_TYPED_F32:
            *out = ((const float *)arr->typed)[i];
            return TM_OK;
        case TM_JSON_TYPED_F64:
            *out = (float)((const double *)arr->typed)[i];
            return TM_OK;
        }
    }
    const tm_json *v = number_at(c, arr, where, i);
    *out = v ? tm_json_f32(v) : 0.0f;
    return v ? TM_OK : TM_E_PARSE;
}

tm_status tm_json_num_at(const tm_json_ctx *c, const tm_json *arr, const char *where, size_t i,
                         double *out)
{
    const tm_json *v = number_at(c, arr, where, i);
    *out = v ? v->num : 0.0;
    return v ? TM_OK : TM_E_PARSE;
}
