/* Field coverage of the LightGBM loader, by mutation: in every
 * fixtures/lightgbm model (real LightGBM 4.6 files), each line the loader
 * reads is removed or renamed (every occurrence, the first, the last), and
 * the result must either be refused or predict exactly what the original
 * predicts (the field was optional and its absence means the default),
 * never something else. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbomode/forest.h>

#include "forest/lightgbm_cases.h"
#include "tm_test.h"

/* Line starts the loader reads: header keys, tree keys, the section lines,
 * and the parameters that confirm the header. */
static const char *const read_keys[] = {
        "version=",         "num_class=",       "num_tree_per_iteration=",
        "max_feature_idx=", "objective=",       "feature_names=",
        "tree_sizes=",      "average_output",   "Tree=",
        "num_leaves=",      "num_cat=",         "split_feature=",
        "threshold=",       "decision_type=",   "left_child=",
        "right_child=",     "leaf_value=",      "cat_boundaries=",
        "cat_threshold=",   "is_linear=",       "leaf_const=",
        "num_features=",    "leaf_features=",   "leaf_coeff=",
        "end of trees",     "parameters:",      "[boosting: ",
        "[objective: ",     "end of parameters"};
#define N_KEYS (sizeof read_keys / sizeof read_keys[0])

enum { REMOVE, RENAME };
enum { EVERY = -1, FIRST = 0, LAST = -2 };

/* Predictions of a model on the fixture rows: margins and default output. */
typedef struct outputs {
    int n_features, n_outputs;
    size_t n_margin, n_default;
    double *margin, *value;
} outputs;

static void predict_all(const tm_forest *f, const double *X, size_t n_rows, size_t nf, outputs *o)
{
    o->n_features = tm_forest_n_features(f);
    o->n_outputs = tm_forest_n_outputs(f);
    o->n_margin = n_rows * tm_forest_output_len(f, TM_FOREST_OUT_MARGIN);
    o->n_default = n_rows * tm_forest_output_len(f, TM_FOREST_OUT_DEFAULT);
    o->margin = calloc(o->n_margin + 1, sizeof *o->margin);
    o->value = calloc(o->n_default + 1, sizeof *o->value);
    ck_assert_int_eq(tm_forest_predict(f, X, n_rows, nf, TM_FOREST_OUT_MARGIN, 1, o->margin, NULL),
                     TM_OK);
    ck_assert_int_eq(tm_forest_predict(f, X, n_rows, nf, TM_FOREST_OUT_DEFAULT, 1, o->value, NULL),
                     TM_OK);
}

static bool same_outputs(const outputs *a, const outputs *b)
{
    return a->n_features == b->n_features && a->n_outputs == b->n_outputs &&
           a->n_margin == b->n_margin && a->n_default == b->n_default &&
           memcmp(a->margin, b->margin, a->n_margin * sizeof *a->margin) == 0 &&
           memcmp(a->value, b->value, a->n_default * sizeof *a->value) == 0;
}

static void free_outputs(outputs *o)
{
    free(o->margin);
    free(o->value);
}

/* Copies text into out with lines starting with key removed or renamed
 * (prefixed with 'x'): every one, the first or the last. Returns how many
 * lines were changed, 0 when the mutation repeats the EVERY one. */
static size_t mutate(const char *text, size_t len, const char *key, int how, int which, char *out,
                     size_t *out_len)
{
    size_t klen = strlen(key), n_match = 0, last = 0, changed = 0, o = 0;
    for (size_t i = 0; i < len; i++) {
        if ((i == 0 || text[i - 1] == '\n') && len - i >= klen && !memcmp(text + i, key, klen)) {
            last = i;
            n_match++;
        }
    }
    size_t seen = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) + 1 : len;
        bool hit = len - i >= klen && !memcmp(text + i, key, klen);
        bool pick = hit && (which == EVERY || (which == FIRST && seen == 0) ||
                            (which == LAST && i == last));
        seen += hit;
        if (pick) {
            changed++;
            if (how == RENAME) {
                out[o++] = 'x';
            }
        }
        if (!pick || how == RENAME) {
            memcpy(out + o, text + i, end - i);
            o += end - i;
        }
        i = end;
    }
    *out_len = o;
    /* with one match, the first and the last are every one */
    return n_match == 0 || (n_match == 1 && which != EVERY) ? 0 : changed;
}

/* Runs every mutation of one fixture model; counts refusals and
 * unchanged loads, and fails on a load that predicts differently. */
static void mutate_case(const char *dir, void *ctx)
{
    int *n_refused = (int *)ctx, *n_same = n_refused + 1;
    char path[1500];
    snprintf(path, sizeof path, "%s/model.txt", dir);
    size_t len = 0;
    char *text = tm_test_slurp(path, &len);
    ck_assert_ptr_nonnull(text);
    tm_err err;
    tm_err_init(&err);
    tm_forest *f = NULL;
    ck_assert_int_eq(tm_forest_load_mem(text, len, path, NULL, &f, &err), TM_OK);
    size_t n_rows = 0, nf = (size_t)tm_forest_n_features(f);
    double *X = tm_test_lgb_rows(f, dir, &n_rows);
    outputs base;
    predict_all(f, X, n_rows, nf, &base);
    tm_forest_free(f);
    char *buf = malloc(2 * len + 16);
    for (size_t k = 0; k < N_KEYS; k++) {
        for (int how = REMOVE; how <= RENAME; how++) {
            for (int which = LAST; which <= FIRST; which++) {
                size_t n = 0;
                if (mutate(text, len, read_keys[k], how, which, buf, &n) == 0) {
                    continue;
                }
                tm_err_init(&err);
                f = NULL;
                if (tm_forest_load_mem(buf, n, "m.txt", NULL, &f, &err) != TM_OK) {
                    ck_assert_ptr_null(f);
                    ++*n_refused;
                    continue;
                }
                outputs got;
                predict_all(f, X, n_rows, nf, &got);
                ck_assert_msg(same_outputs(&base, &got),
                              "%s: %s the %s line(s) starting \"%s\" loads and predicts "
                              "differently",
                              dir, how == REMOVE ? "removing" : "renaming",
                              which == EVERY   ? "every"
                              : which == FIRST ? "first"
                                               : "last",
                              read_keys[k]);
                free_outputs(&got);
                tm_forest_free(f);
                ++*n_same;
            }
        }
    }
    free(buf);
    free_outputs(&base);
    free(X);
    free(text);
}

START_TEST(removing_or_renaming_a_read_key_never_changes_predictions)
{
    if (!tm_test_shared_has("fixtures/lightgbm", "lightgbm field-coverage mutations")) {
        return;
    }
    int counts[2] = {0, 0}; /* refused, loaded unchanged */
    int n_cases = tm_test_lgb_each_case(mutate_case, counts);
    ck_assert_int_ge(n_cases, 17);
    ck_assert_int_gt(counts[0], 0);
    ck_assert_int_gt(counts[1], 0);
    fprintf(stderr,
            "fixtures/lightgbm: %d models, %d mutations refused, %d loaded with unchanged "
            "predictions\n",
            n_cases, counts[0], counts[1]);
}
END_TEST

TM_TEST_SUITE(forest_lightgbm_mutation)
{
    Suite *s = suite_create("forest_lightgbm_mutation");
    TCase *tc = tcase_create("lightgbm_mutation");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, removing_or_renaming_a_read_key_never_changes_predictions);
    suite_add_tcase(s, tc);
    return s;
}
