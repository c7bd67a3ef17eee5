/* The one allocator of the library: overflow-checked counts, 64-byte
 * aligned blocks for hot arrays, and a test hook that makes the Nth
 * allocation (and all after it) fail, for the fault-loop tests. */
#include <stdlib.h>
#include <string.h>

#include <turbomode/core.h>

static long fail_after; /* 0: off; else allocations left before failing */
static long n_allocs;

void tm_alloc_fail_after(long n)
{
    fail_after = n;
    n_allocs = 0;
}

long tm_alloc_count(void)
{
    return n_allocs;
}

/* True when this allocation must fail (test hook). */
static bool inject_failure(void)
{
    n_allocs++;
    return fail_after > 0 && n_allocs >= fail_after;
}

void *tm_malloc(size_t size)
{
    if (inject_failure()) {
        return NULL;
    }
    return malloc(size ? size : 1);
}

void *tm_malloc_n(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        return NULL;
    }
    return tm_malloc(n * size);
}

void *tm_calloc(size_t n, size_t size)
{
    if (inject_failure()) {
        return NULL;
    }
    return calloc(n ? n : 1, size ? size : 1);
}

void *tm_realloc_n(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        return NULL;
    }
    if (inject_failure()) {
        return NULL;
    }
    size_t bytes = n * size;
    return realloc(p, bytes ? bytes : 1);
}

void *tm_aligned_alloc(size_t size)
{
    if (size > SIZE_MAX - 64) {
        return NULL;
    }
    if (inject_failure()) {
        return NULL;
    }
    size_t rounded = (size + 63) / 64 * 64;
    return aligned_alloc(64, rounded ? rounded : 64);
}

void tm_free(void *p)
{
    free(p);
}

char *tm_strndup(const char *s, size_t n)
{
    char *d = tm_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

char *tm_strdup(const char *s)
{
    return tm_strndup(s, strlen(s));
}
