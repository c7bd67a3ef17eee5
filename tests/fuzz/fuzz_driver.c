/* The gcc-build driver of a fuzz target (libFuzzer drives the clang
 * build): replays every file of the given corpus directories
 * (recursively), then mutates them (bit flips, truncation, insertions,
 * digit edits, deletions) for a bounded time. The seed is random unless
 * --seed gives one, and is printed first so a run can be repeated. When a
 * sanitizer stops the process, the input that did it is written to
 * --crash-dir (default ".") as crash-<seed>-<run>, to be added to the
 * target's corpus as a regression case. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <turbomode/core.h>

#include "fuzz.h"

#if defined(__has_include)
#    if __has_include(<sanitizer/common_interface_defs.h>)
#        include <sanitizer/common_interface_defs.h>
#        define HAVE_DEATH_CALLBACK 1
#    endif
#endif

typedef struct corpus {
    char **data;
    size_t *len;
    size_t n, cap;
} corpus;

static void add_file(corpus *c, const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        return;
    }
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    if (n < 0 || n > (4L << 20)) {
        fclose(fp); /* keep iterations fast under ASan */
        return;
    }
    char *buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        fclose(fp);
        return;
    }
    fclose(fp);
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->data = realloc(c->data, c->cap * sizeof *c->data);
        c->len = realloc(c->len, c->cap * sizeof *c->len);
    }
    c->data[c->n] = buf;
    c->len[c->n++] = (size_t)n;
}

static void add_dir(corpus *c, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        char path[4096];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0) {
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            add_dir(c, path);
        } else if (strstr(e->d_name, "model") || strstr(e->d_name, ".csv") ||
                   strstr(dir, "corpus") || strstr(e->d_name, ".jsonl") ||
                   strstr(e->d_name, ".conf")) {
            add_file(c, path);
        }
    }
    closedir(d);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* The input being run, for the death callback. */
static const uint8_t *cur_data;
static size_t cur_len;
static uint64_t cur_seed;
static long cur_run;
static const char *crash_dir = ".";

static void save_crash(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/crash-%llu-%ld", crash_dir, (unsigned long long)cur_seed,
             cur_run);
    FILE *fp = fopen(path, "wb");
    if (fp) {
        fwrite(cur_data, 1, cur_len, fp);
        fclose(fp);
        fprintf(stderr, "fuzz: the input that failed is saved as %s (add it to the corpus)\n",
                path);
    }
}

static void run_one(const uint8_t *data, size_t len)
{
    cur_data = data;
    cur_len = len;
    LLVMFuzzerTestOneInput(data, len);
    cur_run++;
}
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* One mutation of src into a fresh buffer. */
static char *mutate(const char *src, size_t len, size_t *out_len)
{
    size_t cap = len + 64;
    char *b = malloc(cap);
    memcpy(b, src, len);
    size_t n = len;
    int kind = (int)(rnd() % 6);
    size_t pos = n ? (size_t)(rnd() % n) : 0;
    switch (kind) {
    case 0: /* bit flips */
        for (int i = 0; i < 4 && n; i++) {
            b[rnd() % n] ^= (char)(1u << (rnd() % 8));
        }
        break;
    case 1: /* truncation */
        n = pos;
        break;
    case 2: /* digit edit: numbers are where loaders must validate */
        for (size_t i = pos; i < n; i++) {
            if (b[i] >= '0' && b[i] <= '9') {
                static const char *subs = "0123456789-e.";
                b[i] = subs[rnd() % 13];
                break;
            }
        }
        break;
    case 3: { /* insertion of a token */
        static const char *toks[] = {"-1", "1e308", "NaN", "{", "]", ",", "99999999", "\n", "\""};
        const char *t = toks[rnd() % 9];
        size_t tl = strlen(t);
        memmove(b + pos + tl, b + pos, n - pos);
        memcpy(b + pos, t, tl);
        n += tl;
        break;
    }
    case 4: /* deletion of a span */
        if (n) {
            size_t span = (size_t)(rnd() % 32) + 1;
            span = span > n - pos ? n - pos : span;
            memmove(b + pos, b + pos + span, n - pos - span);
            n -= span;
        }
        break;
    default: /* byte set to an extreme */
        if (n) {
            b[pos] = (char)((rnd() & 1) ? 0xff : 0x00);
        }
        break;
    }
    *out_len = n;
    return b;
}

int main(int argc, char **argv)
{
    double seconds = 10.0;
    corpus c = {0};
    uint64_t seed = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
        } else if (strcmp(argv[i], "--crash-dir") == 0 && i + 1 < argc) {
            crash_dir = argv[++i];
        } else {
            add_dir(&c, argv[i]);
        }
    }
    cur_seed = seed;
    rng_state = seed ? seed : 1;
    printf("fuzz: %s seed %llu (repeat with --seed %llu)\n", argv[0], (unsigned long long)seed,
           (unsigned long long)seed);
    fflush(stdout);
#ifdef HAVE_DEATH_CALLBACK
    __sanitizer_set_death_callback(save_crash);
#else
    (void)save_crash;
#endif
    if (c.n == 0) {
        fprintf(stderr, "fuzz: empty corpus\n");
        return 1;
    }
    for (size_t i = 0; i < c.n; i++) {
        run_one((const uint8_t *)c.data[i], c.len[i]);
    }
    double t0 = tm_now_seconds();
    long runs = 0;
    while (tm_now_seconds() - t0 < seconds) {
        size_t k = (size_t)(rnd() % c.n);
        size_t n = 0;
        char *m = mutate(c.data[k], c.len[k], &n);
        for (int depth = (int)(rnd() % 3); depth > 0; depth--) {
            size_t n2 = 0;
            char *m2 = mutate(m, n, &n2);
            free(m);
            m = m2;
            n = n2;
        }
        run_one((const uint8_t *)m, n);
        free(m);
        runs++;
    }
    printf("fuzz: %zu corpus files replayed, %ld mutated inputs in %.0f s, no crash\n", c.n, runs,
           seconds);
    for (size_t i = 0; i < c.n; i++) {
        free(c.data[i]);
    }
    free(c.data);
    free(c.len);
    return 0;
}
