/* The JSON/UBJSON document model shared by json.c and ubjson.c: the
 * arena that owns every node, key and string of a tm_json_doc, the member
 * stack that collects container members while they are parsed, and the
 * read-only accessors (tm_json_get/at/f32). Parsing lives in json.c and
 * ubjson.c. */
#include <math.h>
#include <string.h>
#include <sys/mman.h>

#include <turbomode/core.h>

#include "core_int.h"

/* ---- arena --------------------------------------------------------------- */

struct tm__core_chunk {
    tm__core_chunk *next;
    size_t size; /* usable bytes after the header */
    size_t used; /* bytes handed out */
};

#define CHUNK_HDR   ((sizeof(tm__core_chunk) + 15) & ~(size_t)15)
#define CHUNK_FIRST ((size_t)16 << 10) /* first chunk; later ones double */
#define CHUNK_MAX   ((size_t)64 << 20)

const double tm__core_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

void tm__core_advise_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t a = ((uintptr_t)p + huge - 1) & ~(huge - 1);
    uintptr_t e = ((uintptr_t)p + n) & ~(huge - 1);
    if (n >= 2 * huge && e > a) {
        (void)madvise((void *)a, e - a, MADV_HUGEPAGE); /* failure is harmless */
    }
#else
    (void)p;
    (void)n;
#endif
}

tm_json_doc *tm__core_doc_new(void)
{
    tm_json_doc *doc = tm_malloc(sizeof *doc);
    if (doc) {
        *doc = (tm_json_doc){.next_size = CHUNK_FIRST};
    }
    return doc;
}

void *tm__core_alloc(tm_json_doc *doc, size_t size)
{
    if (size > SIZE_MAX / 2) {
        return NULL;
    }
    size = (size + 7) & ~(size_t)7;
    tm__core_chunk *c = doc->chunks;
    if (c && c->size - c->used >= size) {
        void *p = (unsigned char *)c + CHUNK_HDR + c->used;
        c->used += size;
        return p;
    }
    /* Large requests get a chunk of their own behind the current one, so
     * the space left in the current chunk is not lost. */
    bool own = size > doc->next_size / 4;
    size_t cap = own ? size : doc->next_size;
    tm__core_chunk *n = tm_malloc(CHUNK_HDR + cap);
    if (!n) {
        return NULL;
    }
    tm__core_advise_huge(n, CHUNK_HDR + cap);
    n->size = cap;
    n->used = size;
    if (own && c) {
        n->next = c->next;
        c->next = n;
    } else {
        n->next = c;
        doc->chunks = n;
        if (!own && doc->next_size < CHUNK_MAX) {
            doc->next_size *= 2;
        }
    }
    return (unsigned char *)n + CHUNK_HDR;
}

void *tm__core_alloc_n(tm_json_doc *doc, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / 2 / size) {
        return NULL;
    }
    return tm__core_alloc(doc, n * size);
}

void tm_json_doc_free(tm_json_doc *doc)
{
    if (!doc) {
        return;
    }
    tm__core_chunk *c = doc->chunks;
    while (c) {
        tm__core_chunk *next = c->next;
        tm_free(c);
        c = next;
    }
    tm_free(doc->text);
    tm_free(doc);
}

const tm_json *tm_json_root(const tm_json_doc *doc)
{
    return doc ? doc->root : NULL;
}

/* ---- member stack -------------------------------------------------------- */

bool tm__core_stack_push(tm__core_stack *st, const char *key, tm_json *val)
{
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 256;
        tm__core_member *m = tm_realloc_n(st->m, cap, sizeof *m);
        if (!m) {
            return false;
        }
        st->m = m;
        st->cap = cap;
    }
    st->m[st->n++] = (tm__core_member){key, val};
    return true;
}

bool tm__core_stack_commit(tm__core_stack *st, size_t base, tm_json_doc *doc, tm_json *node)
{
    size_t n = st->n - base;
    node->len = n;
    node->items = NULL;
    node->keys = NULL;
    if (n == 0) {
        return true;
    }
    node->items = tm__core_alloc_n(doc, n, sizeof *node->items);
    if (!node->items) {
        return false;
    }
    if (node->type == TM_JSON_OBJECT) {
        node->keys = tm__core_alloc_n(doc, n, sizeof *node->keys);
        if (!node->keys) {
            return false;
        }
    }
    for (size_t i = 0; i < n; i++) {
        node->items[i] = st->m[base + i].val;
        if (node->keys) {
            node->keys[i] = st->m[base + i].key;
        }
    }
    st->n = base;
    return true;
}

void tm__core_stack_free(tm__core_stack *st)
{
    tm_free(st->m);
    *st = (tm__core_stack){0};
}

/* ---- accessors ----------------------------------------------------------- */

const tm_json *tm_json_get(const tm_json *obj, const char *key)
{
    if (!obj || obj->type != TM_JSON_OBJECT || !key) {
        return NULL;
    }
    for (size_t i = 0; i < obj->len; i++) {
        if (strcmp(obj->keys[i], key) == 0) {
            return obj->items[i];
        }
    }
    return NULL;
}

bool tm__core_typed_store(tm_json_doc *doc, tm_json *node, size_t n, tm_json_typed_kind kind,
                          const int32_t *iv, const float *fv, const double *dv,
                          const uint8_t *int_bits)
{
    size_t bytes = kind == TM_JSON_TYPED_I32   ? n * sizeof *iv
                   : kind == TM_JSON_TYPED_F32 ? n * sizeof *fv
                                               : n * sizeof *dv + (n + 7) / 8;
    void *p = tm__core_alloc(doc, bytes);
    if (!p) {
        return false;
    }
    if (kind == TM_JSON_TYPED_I32) {
        memcpy(p, iv, bytes);
    } else if (kind == TM_JSON_TYPED_F32) {
        memcpy(p, fv, bytes);
    } else {
        memcpy(p, dv, n * sizeof *dv);
        memcpy((double *)p + n, int_bits, (n + 7) / 8);
    }
    node->type = TM_JSON_ARRAY;
    node->len = n;
    node->items = NULL;
    node->keys = NULL;
    node->typed = p;
    node->typed_kind = (uint8_t)kind;
    return true;
}

#define RING 16 /* views of typed elements alive at once, per thread */

const tm_json *tm_json_at(const tm_json *arr, size_t i)
{
    static _Thread_local tm_json ring[RING];
    static _Thread_local unsigned next;
    if (!arr || arr->type != TM_JSON_ARRAY || i >= arr->len) {
        return NULL;
    }
    if (!arr->typed) {
        return arr->items[i];
    }
    tm_json *v = &ring[next++ % RING];
    *v = tm__core_typed_get(arr, i);
    return v;
}

/* Rounding the correctly rounded double to float32 is wrong only when the
 * double lands exactly on a midpoint between two floats (double rounding);
 * then the text is converted again with strtof. */
float tm_json_f32(const tm_json *v)
{
    if (!v || v->type != TM_JSON_NUMBER) {
        return NAN;
    }
    if (v->is_f32) {
        return v->f32;
    }
    if (v->is_int && v->inum != 0) {
        return (float)v->inum; /* one rounding, int64 to float; "-0" below */
    }
    double d = v->num;
    float f = (float)d;
    if (isnan(d) || isinf(d) || (double)f == d) {
        return f;
    }
    if (!isinf(f) && !tm__core_f32_midpoint(d)) {
        return f; /* beside FLT_MAX too: below the midpoint to 2^128 the text rounds to f */
    }
    float r;
    if (v->str && tm_parse_float(v->str, v->len, &r)) {
        return r;
    }
    return f;
}
