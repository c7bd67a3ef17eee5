/* Field coverage of the XGBoost (JSON, UBJSON) and CatBoost JSON loaders:
 * for every shared fixture model, each object key (its first occurrence
 * for each path pattern, array indices folded, nested CatBoost subtrees
 * folded) is removed, then renamed. The mutated model must either be
 * refused or predict exactly what the original predicts (margins and
 * default outputs, bit for bit): a field that matters may never be
 * dropped silently. The one exception is a field the real library itself
 * reads as optional with a default: then the mutant must predict exactly
 * what the model with that default written out predicts. UBJSON documents
 * (the smaller ones) are mutated through their JSON rendering: the same
 * document and walker, with UBJSON's typed numbers. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbomode/core.h>
#include <turbomode/forest.h>

#include "tm_test.h"

enum { REMOVE, RENAME, REPLACE };

/* Optional fields with the default their library applies when absent. */
static const struct {
    const char *path;
    const char *why;
} optional_fields[] = {
        /* CatBoost's ConvertJsonToCatboostModel: absent = scale 1, bias 0
         * (exports before 2020 have none) */
        {"scale_and_bias", "catboost reads a missing scale_and_bias as [1, [0, ...]]"},
};

/* The default written out for an optional field (its value v). */
static void emit_default(tm_buf *b, const char *path, const tm_json *v)
{
    ck_assert_str_eq(path, "scale_and_bias");
    const tm_json *bias = tm_json_at(v, 1);
    size_t d = bias && bias->type == TM_JSON_ARRAY ? bias->len : 1;
    tm_buf_puts(b, "[1,[");
    for (size_t k = 0; k < d; k++) {
        tm_buf_puts(b, k ? ",0" : "0");
    }
    tm_buf_puts(b, "]]");
}

static const char *replace_path; /* REPLACE: the optional field's path */

/* Writes v as JSON text, with member `target` removed, renamed or (for an
 * optional field) replaced by its default. */
static void emit(tm_buf *b, const tm_json *v, const tm_json *target, int mode)
{
    switch (v->type) {
    case TM_JSON_NULL:
        tm_buf_puts(b, "null");
        break;
    case TM_JSON_BOOL:
        tm_buf_puts(b, v->boolean ? "true" : "false");
        break;
    case TM_JSON_NUMBER:
        if (v->str && v->len) {
            tm_buf_append(b, v->str, v->len); /* JSON: the token as written */
        } else if (isnan(v->num)) {
            tm_buf_puts(b, "NaN");
        } else if (isinf(v->num)) {
            tm_buf_puts(b, v->num > 0 ? "Infinity" : "-Infinity");
        } else if (v->is_int) {
            tm_buf_printf(b, "%lld", (long long)v->inum);
        } else if (v->is_f32) {
            tm_buf_printf(b, "%.9g", (double)v->f32); /* round-trips float32 */
        } else {
            tm_buf_printf(b, "%.17g", v->num);
        }
        break;
    case TM_JSON_STRING:
        tm_buf_puts(b, "\"");
        for (const char *s = v->str; *s; s++) {
            if (*s == '"' || *s == '\\') {
                tm_buf_printf(b, "\\%c", *s);
            } else if ((unsigned char)*s < 0x20) {
                tm_buf_printf(b, "\\u%04x", (unsigned)*s);
            } else {
                tm_buf_append(b, s, 1);
            }
        }
        tm_buf_puts(b, "\"");
        break;
    case TM_JSON_ARRAY:
        tm_buf_puts(b, "[");
        for (size_t i = 0; i < v->len; i++) { /* tm_json_at: arrays may be stored typed */
            tm_buf_puts(b, i ? "," : "");
            emit(b, tm_json_at(v, i), target, mode);
        }
        tm_buf_puts(b, "]");
        break;
    case TM_JSON_OBJECT: {
        bool first = true;
        tm_buf_puts(b, "{");
        for (size_t i = 0; i < v->len; i++) {
            bool hit = v->items[i] == target;
            if (hit && mode == REMOVE) {
                continue;
            }
            tm_buf_printf(b, "%s\"%s%s\":", first ? "" : ",", v->keys[i],
                          hit && mode == RENAME ? "_renamed" : "");
            if (hit && mode == REPLACE) {
                emit_default(b, replace_path, v->items[i]);
            } else {
                emit(b, v->items[i], target, mode);
            }
            first = false;
        }
        tm_buf_puts(b, "}");
        break;
    }
    }
}

/* The first member of each path pattern ("a.b[].c"), in document order. */
typedef struct site {
    const tm_json *node;
    char path[200];
} site;

typedef struct sites {
    site *s;
    size_t n, cap;
} sites;

/* Subtrees no loader reads (training options, the CatBoost ctr tables of
 * models refused for their ctrs): their keys are not mutated, except the
 * loss function among CatBoost's parameters. */
static bool skip_children(const char *path, const char *key)
{
    static const char *const skipped[] = {"model_info.training", "model_info.output_options",
                                          "ctr_data"};
    for (size_t i = 0; i < sizeof skipped / sizeof skipped[0]; i++) {
        if (strcmp(path, skipped[i]) == 0) {
            return true;
        }
    }
    return strcmp(path, "model_info.params") == 0 && strcmp(key, "loss_function") != 0;
}

static void collect(sites *out, const tm_json *v, const char *path)
{
    char sub[200];
    if (v->type == TM_JSON_ARRAY) {
        snprintf(sub, sizeof sub, "%s[]", path);
        for (size_t i = 0; i < v->len && !v->typed_kind; i++) { /* typed: numbers only */
            collect(out, v->items[i], sub);
        }
        return;
    }
    if (v->type != TM_JSON_OBJECT) {
        return;
    }
    for (size_t i = 0; i < v->len; i++) {
        const char *key = v->keys[i];
        size_t pl = strlen(path);
        if (skip_children(path, key)) {
            continue;
        }
        bool child = strcmp(key, "left") == 0 || strcmp(key, "right") == 0;
        if (child) { /* non-symmetric subtrees: every depth reads the same */
            key = "child*";
        }
        if (child && pl >= 7 && strcmp(path + pl - 7, ".child*") == 0) {
            snprintf(sub, sizeof sub, "%s", path);
        } else {
            snprintf(sub, sizeof sub, "%s%s%s", path, *path ? "." : "", key);
        }
        bool seen = false;
        for (size_t k = 0; k < out->n && !seen; k++) {
            seen = strcmp(out->s[k].path, sub) == 0;
        }
        if (!seen) {
            if (out->n == out->cap) {
                out->cap = out->cap ? 2 * out->cap : 64;
                out->s = realloc(out->s, out->cap * sizeof *out->s);
            }
            out->s[out->n].node = v->items[i];
            snprintf(out->s[out->n].path, sizeof out->s[out->n].path, "%s", sub);
            out->n++;
        }
        collect(out, v->items[i], sub);
    }
}

/* Margins then default outputs of every row of X; NULL when prediction
 * itself refuses. */
static double *outputs(const tm_forest *f, const tm_csv *X, size_t *len)
{
    size_t km = tm_forest_output_len(f, TM_FOREST_OUT_MARGIN);
    size_t kd = tm_forest_output_len(f, TM_FOREST_OUT_DEFAULT);
    size_t n = X->n_rows;
    double *o = malloc((km + kd) * n * sizeof *o + 1);
    *len = (km + kd) * n;
    if (tm_forest_predict(f, X->values, n, X->n_cols, TM_FOREST_OUT_MARGIN, 1, o, NULL) != TM_OK ||
        tm_forest_predict(f, X->values, n, X->n_cols, TM_FOREST_OUT_DEFAULT, 1, o + km * n, NULL) !=
                TM_OK) {
        free(o);
        return NULL;
    }
    return o;
}

/* Mutates every site of one model file; returns the number of mutations. */
static int mutate_file(const char *path, bool ubjson, const tm_csv *X, int *refused)
{
    size_t len = 0;
    char *data = tm_test_slurp(path, &len);
    ck_assert_ptr_nonnull(data);
    tm_json_doc *doc = NULL;
    ck_assert_int_eq(ubjson ? tm_ubjson_parse((const unsigned char *)data, len, path, &doc, NULL)
                            : tm_json_parse(data, len, path, &doc, NULL),
                     TM_OK);
    tm_forest *orig = NULL;
    ck_assert_int_eq(tm_forest_load(path, NULL, &orig, NULL), TM_OK);
    size_t n_want = 0;
    double *want = outputs(orig, X, &n_want);
    ck_assert_ptr_nonnull(want);
    sites all = {0};
    collect(&all, tm_json_root(doc), "");
    int n = 0;
    for (size_t i = 0; i < all.n; i++) {
        /* an optional field: the mutants must predict what its default does */
        double *dflt = NULL;
        size_t n_dflt = 0;
        for (size_t o = 0; o < sizeof optional_fields / sizeof optional_fields[0]; o++) {
            if (strcmp(all.s[i].path, optional_fields[o].path) == 0) {
                tm_buf b;
                tm_buf_init(&b);
                replace_path = all.s[i].path;
                emit(&b, tm_json_root(doc), all.s[i].node, REPLACE);
                tm_forest *f = NULL;
                ck_assert_int_eq(tm_forest_load_mem(b.p, b.len, "default.json", NULL, &f, NULL),
                                 TM_OK);
                dflt = outputs(f, X, &n_dflt);
                ck_assert_ptr_nonnull(dflt);
                tm_forest_free(f);
                tm_buf_fini(&b);
            }
        }
        const double *ref = dflt ? dflt : want;
        size_t n_ref = dflt ? n_dflt : n_want;
        for (int mode = REMOVE; mode <= RENAME; mode++) {
            tm_buf b;
            tm_buf_init(&b);
            emit(&b, tm_json_root(doc), all.s[i].node, mode);
            ck_assert(!b.oom);
            tm_forest *f = NULL;
            tm_status st = tm_forest_load_mem(b.p, b.len, "mutant.json", NULL, &f, NULL);
            size_t n_got = 0;
            double *got = st == TM_OK ? outputs(f, X, &n_got) : NULL;
            if (!got) {
                ++*refused;
            } else {
                ck_assert_msg(n_got == n_ref && memcmp(got, ref, n_got * sizeof *got) == 0,
                              "%s: %s '%s' was accepted and changed the predictions", path,
                              mode == REMOVE ? "removing" : "renaming", all.s[i].path);
            }
            free(got);
            tm_forest_free(f);
            tm_buf_fini(&b);
            n++;
        }
        free(dflt);
    }
    free(all.s);
    free(want);
    tm_forest_free(orig);
    tm_json_doc_free(doc);
    free(data);
    return n;
}

static long len_of(const char *path)
{
    FILE *fp = fopen(path, "rb");
    long n = -1;
    if (fp && fseek(fp, 0, SEEK_END) == 0) {
        n = ftell(fp);
    }
    if (fp) {
        fclose(fp);
    }
    return n;
}

/* Every case directory of a family with the model file name. */
static void run_family(const char *family, const char *file, bool ubjson)
{
    char dir[700];
    snprintf(dir, sizeof dir, "fixtures/%s", family);
    if (!tm_test_shared_has(dir, "loader mutation test")) {
        return;
    }
    snprintf(dir, sizeof dir, "%s/fixtures/%s", tm_test_shared_dir(), family);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int files = 0, muts = 0, refused = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char model[1024], input[1024];
        snprintf(model, sizeof model, "%s/%s/%s", dir, e->d_name, file);
        snprintf(input, sizeof input, "%s/%s/input.csv", dir, e->d_name);
        FILE *fp = e->d_name[0] == '.' ? NULL : fopen(model, "rb");
        if (!fp) {
            continue;
        }
        fclose(fp);
        if (ubjson && len_of(model) > 60000) {
            continue; /* the JSON run covers the same walker on every size */
        }
        tm_forest *probe = NULL; /* cases the loader refuses as a whole */
        if (tm_forest_load(model, NULL, &probe, NULL) != TM_OK) {
            continue;
        }
        tm_forest_free(probe);
        tm_csv *X = NULL;
        ck_assert_int_eq(tm_csv_load(input, &X, NULL), TM_OK);
        muts += mutate_file(model, ubjson, X, &refused);
        files++;
        tm_csv_free(X);
    }
    closedir(d);
    fprintf(stderr, "mutations %s %s: %d models, %d mutants, %d refused, the rest unchanged\n",
            family, file, files, muts, refused);
    ck_assert_int_gt(files, 0);
}

START_TEST(mutations_xgboost_json)
{
    run_family("xgboost", "model.json", false);
}
END_TEST

START_TEST(mutations_xgboost_ubjson)
{
    run_family("xgboost", "model.ubj", true);
}
END_TEST

START_TEST(mutations_catboost_json)
{
    run_family("catboost", "model.cbm.json", false);
}
END_TEST

TM_TEST_SUITE(forest_load_mutations)
{
    Suite *s = suite_create("forest_load_mutations");
    TCase *tc = tcase_create("mutations");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, mutations_xgboost_json);
    tcase_add_test(tc, mutations_xgboost_ubjson);
    tcase_add_test(tc, mutations_catboost_json);
    suite_add_tcase(s, tc);
    return s;
}
