/* Text primitives shared by the LightGBM model.txt loader: lines, tokens,
 * integers and key=value matching over a byte range that need not end in
 * a NUL (model.txt is key=value lines, values space separated; see
 * formats/lightgbm section 1). */
#include <string.h>

#include "forest/load_lightgbm_int.h"

bool tm__forest_lgb_starts_with(const char *s, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && memcmp(s, prefix, k) == 0;
}

bool tm__forest_lgb_equals(const char *s, size_t n, const char *word)
{
    return n == strlen(word) && memcmp(s, word, n) == 0;
}

bool tm__forest_lgb_line(tm__forest_lgb_text *c, const char **s, size_t *n)
{
    if (c->p >= c->end) {
        return false;
    }
    const char *b = c->p;
    const char *nl = memchr(b, '\n', (size_t)(c->end - b));
    const char *e = nl ? nl : c->end;
    c->p = nl ? nl + 1 : c->end;
    c->line++;
    if (e > b && e[-1] == '\r') {
        e--;
    }
    *s = b;
    *n = (size_t)(e - b);
    return true;
}

bool tm__forest_lgb_next_line(tm__forest_lgb_text *c, tm__forest_lgb_span *out)
{
    *out = (tm__forest_lgb_span){NULL, 0, c->line, false};
    out->set = tm__forest_lgb_line(c, &out->p, &out->n);
    out->line = c->line;
    return out->set;
}

tm__forest_lgb_text tm__forest_lgb_tokens(const tm__forest_lgb_span *s)
{
    if (!s->set) {
        return (tm__forest_lgb_text){"", "", s->line};
    }
    return (tm__forest_lgb_text){s->p, s->p + s->n, s->line};
}

bool tm__forest_lgb_tok(tm__forest_lgb_text *t, const char **s, size_t *n)
{
    const char *p = t->p;
    while (p < t->end && (*p == ' ' || *p == '\t')) {
        p++;
    }
    if (p == t->end) {
        t->p = p;
        return false;
    }
    const char *e = p;
    while (e < t->end && *e != ' ' && *e != '\t') {
        e++;
    }
    *s = p;
    *n = (size_t)(e - p);
    t->p = e;
    return true;
}

size_t tm__forest_lgb_count(const tm__forest_lgb_span *s)
{
    size_t count = 0;
    bool in = false;
    for (size_t i = 0; s->set && i < s->n; i++) {
        bool sep = s->p[i] == ' ' || s->p[i] == '\t';
        count += !sep && !in;
        in = !sep;
    }
    return count;
}

/* Parses a decimal integer in lo..hi; the message names path, line, field. */
tm_status tm__forest_lgb_int(const char *s, size_t n, int64_t lo, int64_t hi, int64_t *out,
                             const char *path, long line, const char *field, tm_err *err)
{
    size_t i = (n > 0 && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    bool ok = i < n;
    int64_t v = 0;
    for (; ok && i < n; i++) {
        ok = s[i] >= '0' && s[i] <= '9' && v <= (INT64_MAX - 9) / 10;
        v = ok ? v * 10 + (s[i] - '0') : v;
    }
    if (!ok) {
        return TM_ERR(err, TM_E_PARSE, path, line, field, "expected an integer, found \"%.*s\"",
                      TM__LGB_SHOW(n), s);
    }
    v = s[0] == '-' ? -v : v;
    if (v < lo || v > hi) {
        return TM_ERR(err, TM_E_PARSE, path, line, field,
                      "expected an integer in %lld..%lld, found \"%.*s\"", (long long)lo,
                      (long long)hi, TM__LGB_SHOW(n), s);
    }
    *out = v;
    return TM_OK;
}

void tm__forest_lgb_match_key(const tm__forest_lgb_span *ln, const char *const *keys, int n_keys,
                              tm__forest_lgb_span *vals)
{
    const char *eq = ln->n ? memchr(ln->p, '=', ln->n) : NULL;
    if (!eq) {
        return;
    }
    size_t klen = (size_t)(eq - ln->p);
    for (int k = 0; k < n_keys; k++) {
        if (tm__forest_lgb_equals(ln->p, klen, keys[k])) {
            vals[k] = (tm__forest_lgb_span){eq + 1, ln->n - klen - 1, ln->line, true};
            return;
        }
    }
}
