/* tm_forest_save (src/forest/save.c, flatten.c, write_*.c): every shared
 * fixture model written in each format it can be written in and loaded
 * back predicts what it predicted before (bit for bit within its family);
 * feature names that need JSON escaping come back unchanged (ours, and the
 * real XGBoost when python3-xgboost is installed); what a format cannot
 * hold is refused with a one-line message and leaves no file; and every
 * allocation failure returns TM_E_NOMEM and leaves no file. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <turbomode/forest.h>

#include "tm_test.h"

static const tm_forest_format writable[3] = {
        TM_FOREST_FORMAT_LIGHTGBM, TM_FOREST_FORMAT_XGBOOST_JSON, TM_FOREST_FORMAT_CATBOOST_JSON};
static const tm_forest_family family_of[3] = {TM_FOREST_LIGHTGBM, TM_FOREST_XGBOOST,
                                              TM_FOREST_CATBOOST};

/* Margins of f on n rows of X (stride nf); caller frees. */
static double *margins(const tm_forest *f, const double *X, size_t n, size_t nf, size_t *k)
{
    *k = tm_forest_output_len(f, TM_FOREST_OUT_MARGIN);
    double *m = calloc(n * *k + 1, sizeof *m);
    ck_assert_int_eq(tm_forest_predict(f, X, n, nf, TM_FOREST_OUT_MARGIN, 1, m, NULL), TM_OK);
    return m;
}

/* Number of entries in dir other than . and .. */
static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    closedir(d);
    return n;
}

/* The fixture's input rows, columns by position (both models of a
 * comparison read the same matrix). */
static double *fixture_rows(const char *dir, size_t nf, size_t *n)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/input.csv", dir);
    tm_csv *in = NULL;
    if (access(path, R_OK) != 0 || tm_csv_load(path, &in, NULL) != TM_OK) {
        return NULL;
    }
    double *X = calloc(in->n_rows * nf + 1, sizeof *X);
    for (size_t r = 0; r < in->n_rows; r++) {
        for (size_t j = 0; j < nf; j++) {
            X[r * nf + j] = j < in->n_cols ? in->values[r * in->n_cols + j] : (double)NAN;
        }
    }
    *n = in->n_rows;
    tm_csv_free(in);
    return X;
}

typedef struct tally {
    int same[3];  /* saves into the source's own family, per format */
    int cross[3]; /* saves into another family, per format */
    int refused;
} tally;

/* Saves f as format i, loads it back and compares margins on X: bit for
 * bit within the family (the writers keep thresholds, leaves and the
 * summation order); across families within 1e-5 relative, the rounding
 * of float32 leaves and float32 sums (XGBoost) against double ones. */
static void round_trip(const tm_forest *f, int i, const double *X, size_t n, const char *model,
                       tally *t)
{
    char path[600];
    snprintf(path, sizeof path, "%s/rt.model", tm_test_tmpdir());
    unlink(path);
    size_t nf = (size_t)tm_forest_n_features(f);
    tm_err err;
    tm_err_init(&err);
    tm_status st = tm_forest_save(f, writable[i], path, &err);
    if (st != TM_OK) {
        ck_assert_msg(st == TM_E_FORMAT, "%s as %s: %s", model, tm_forest_format_name(writable[i]),
                      err.reason);
        ck_assert_msg(err.reason[0] && !strchr(err.reason, '\n'), "%s: one-line reason", model);
        ck_assert_int_ne(access(path, F_OK), 0);
        t->refused++;
        return;
    }
    tm_forest *back = NULL;
    tm_err_init(&err);
    ck_assert_msg(tm_forest_load(path, NULL, &back, &err) == TM_OK, "%s as %s: reload: %s", model,
                  tm_forest_format_name(writable[i]), err.reason);
    ck_assert_int_eq(tm_forest_n_features(back), (int)nf);
    for (size_t j = 0; j < nf; j++) {
        const char *a = tm_forest_feature_name(f, (int)j),
                   *b = tm_forest_feature_name(back, (int)j);
        if (a) {
            ck_assert_ptr_nonnull(b);
            ck_assert_str_eq(a, b);
        }
    }
    size_t k0, k1;
    double *m0 = margins(f, X, n, nf, &k0), *m1 = margins(back, X, n, nf, &k1);
    ck_assert_uint_eq(k0, k1);
    bool same = tm_forest_get_family(f) == family_of[i];
    for (size_t j = 0; j < n * k0; j++) {
        bool ok = same ? (m0[j] == m1[j] || (isnan(m0[j]) && isnan(m1[j])))
                       : fabs(m0[j] - m1[j]) <= 1e-5 * fmax(1.0, fabs(m0[j]));
        ck_assert_msg(ok, "%s as %s: row %zu output %zu: %.17g, reloaded %.17g", model,
                      tm_forest_format_name(writable[i]), j / k0, j % k0, m0[j], m1[j]);
    }
    (same ? t->same : t->cross)[i]++;
    free(m0);
    free(m1);
    tm_forest_free(back);
}

START_TEST(fixture_models_predict_the_same_after_save_and_load)
{
    const char *fams[3] = {"xgboost", "lightgbm", "catboost"};
    tally t = {{0}, {0}, 0};
    for (int fi = 0; fi < 3; fi++) {
        char rel[64], root[1000];
        snprintf(rel, sizeof rel, "fixtures/%s", fams[fi]);
        if (!tm_test_shared_has(rel, "fixture models for the save round trip")) {
            return;
        }
        snprintf(root, sizeof root, "%s/%s", tm_test_shared_dir(), rel);
        DIR *d = opendir(root);
        ck_assert_ptr_nonnull(d);
        for (struct dirent *c; (c = readdir(d));) {
            char dir[1300];
            snprintf(dir, sizeof dir, "%s/%s", root, c->d_name);
            DIR *cd = c->d_name[0] == '.' ? NULL : opendir(dir);
            for (struct dirent *e; cd && (e = readdir(cd));) {
                if (strncmp(e->d_name, "model.", 6) != 0) {
                    continue;
                }
                char model[1600];
                snprintf(model, sizeof model, "%s/%s", dir, e->d_name);
                tm_forest *f = NULL;
                if (tm_forest_load(model, NULL, &f, NULL) != TM_OK) {
                    continue; /* a dump without its objective: test_fixtures' concern */
                }
                size_t n = 0, nf = (size_t)tm_forest_n_features(f);
                double *X = fixture_rows(dir, nf, &n);
                for (int i = 0; X && i < 3; i++) {
                    round_trip(f, i, X, n, model, &t);
                }
                free(X);
                tm_forest_free(f);
            }
            if (cd) {
                closedir(cd);
            }
        }
        closedir(d);
    }
    /* every format round-tripped models of its own family; LightGBM and
     * XGBoost also of the others (the fixtures have no oblivious trees
     * outside CatBoost's, the only ones CatBoost's format holds) */
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(t.same[i] > 0 && (i == 2 || t.cross[i] > 0), "format %d: %d same, %d cross",
                      i, t.same[i], t.cross[i]);
    }
    ck_assert_int_gt(t.refused, 0);
}
END_TEST

/* Names that need escaping in JSON: quote, backslash, a tab (short
 * escape), U+0001 (\u escape), two- and four-byte UTF-8 (written raw). */
static const char *const tricky[6] = {
        "q\"uote", "back\\slash", "tab\there", "caf\xc3\xa9_\xce\xb1", "emoji_\xf0\x9f\x98\x80",
        "soh\x01"};

/* Two oblivious trees on features 0..4 (5 unused) with leaves exact in
 * float32, so float32 and double sums agree. A non-NULL bad replaces
 * leaf 0. */
static tm_forest *tricky_forest(const char *const *names, const double *bad)
{
    tm_forest_shape s;
    memset(&s, 0, sizeof s);
    s.family = TM_FOREST_CATBOOST;
    s.format = TM_FOREST_FORMAT_CATBOOST_JSON;
    s.link = TM_FOREST_LINK_IDENTITY;
    s.default_output = TM_FOREST_OUT_VALUE;
    s.objective = "RMSE";
    s.n_features = 6;
    s.feature_names = names;
    s.n_outputs = 1;
    s.n_trees = 2;
    s.n_iterations = 2;
    s.oblivious = true;
    s.n_nodes = 5;
    s.n_leaves = 12;
    tm_forest_builder *b = NULL;
    ck_assert_int_eq(tm_forest_builder_new(&s, &b, NULL), TM_OK);
    const int32_t f0[2] = {0, 1}, f1[3] = {2, 3, 4};
    const float b0[2] = {0.5f, -1.0f}, b1[3] = {0.0f, 2.5f, 100.0f};
    double l0[4] = {0.25, 0.5, -0.75, 1.0};
    const double l1[8] = {0, 0.125, 0.25, 0.375, -0.5, -0.625, 1.5, 2};
    if (bad) {
        l0[0] = *bad;
    }
    tm_forest_builder_oblivious(b, 2, f0, b0, l0);
    tm_forest_builder_oblivious(b, 3, f1, b1, l1);
    tm_forest *f = NULL;
    ck_assert_int_eq(tm_forest_builder_finish(b, &f, NULL), TM_OK);
    return f;
}

/* Rows on the borders, just above one, NaN, +-inf, and the margins they
 * get by hand: bit i of a tree's leaf index is float32(x) > border_i,
 * NaN gives 0. */
#define N_ROWS 5
static double rows[N_ROWS * 6];
static const double want_margin[N_ROWS] = {
        0.25 + 0,      /* on every border: leaves 0, 0 */
        1.0 + 2,       /* above every border: leaves 3, 7 */
        0.25 + 0,      /* all NaN: leaves 0, 0 */
        0.5 + 1.5,     /* +inf, -inf, -inf, +inf, +inf: leaves 1, 6 */
        -0.75 + -0.625 /* -inf, 0, 0.1, 2.4, 100.5: leaves 2, 5 */
};

static void fill_rows(void)
{
    const double r[N_ROWS][6] = {
            {0.5, -1.0, 0, 2.5, 100, 0},
            {(double)nextafterf(0.5f, 1.0f), -0.5, 1, 3, 101, 0},
            {NAN, NAN, NAN, NAN, NAN, NAN},
            {INFINITY, -INFINITY, -INFINITY, INFINITY, INFINITY, NAN},
            {-INFINITY, 0, 0.1, 2.4, 100.5, 7},
    };
    memcpy(rows, r, sizeof rows);
}

/* Saves f as fmt at path, loads it back, checks the names and that the
 * margins are the hand-computed ones. */
static void check_names_round_trip(const tm_forest *f, tm_forest_format fmt, const char *path,
                                   const char *const *names)
{
    tm_err err;
    tm_err_init(&err);
    ck_assert_msg(tm_forest_save(f, fmt, path, &err) == TM_OK, "%s", err.reason);
    tm_forest *back = NULL;
    ck_assert_msg(tm_forest_load(path, NULL, &back, &err) == TM_OK, "%s", err.reason);
    ck_assert_int_eq(tm_forest_n_features(back), 6);
    for (int j = 0; j < 6; j++) {
        ck_assert_str_eq(tm_forest_feature_name(back, j), names[j]);
    }
    size_t k;
    double *m = margins(back, rows, N_ROWS, 6, &k);
    ck_assert_uint_eq(k, 1);
    for (int r = 0; r < N_ROWS; r++) {
        ck_assert_msg(m[r] == want_margin[r], "%s row %d: %.17g, expected %.17g",
                      tm_forest_format_name(fmt), r, m[r], want_margin[r]);
    }
    free(m);
    tm_forest_free(back);
}

START_TEST(names_needing_json_escapes_come_back_unchanged)
{
    fill_rows();
    tm_forest *f = tricky_forest(tricky, NULL);
    char path[600];
    snprintf(path, sizeof path, "%s/names.json", tm_test_tmpdir());
    check_names_round_trip(f, TM_FOREST_FORMAT_XGBOOST_JSON, path, tricky);
    /* the escapes as JSON (RFC 8259) and XGBoost's own writer spell them */
    char *text = tm_test_slurp(path, NULL);
    ck_assert_ptr_nonnull(strstr(text, "\"feature_names\":[\"q\\\"uote\",\"back\\\\slash\","
                                       "\"tab\\there\",\"caf\xc3\xa9_\xce\xb1\","
                                       "\"emoji_\xf0\x9f\x98\x80\",\"soh\\u0001\"]"));
    free(text);
    snprintf(path, sizeof path, "%s/names.cbm.json", tm_test_tmpdir());
    check_names_round_trip(f, TM_FOREST_FORMAT_CATBOOST_JSON, path, tricky);
    text = tm_test_slurp(path, NULL);
    ck_assert_ptr_nonnull(strstr(text, "\"feature_id\":\"tab\\there\""));
    ck_assert_ptr_nonnull(strstr(text, "\"feature_id\":\"soh\\u0001\""));
    free(text);
    /* LightGBM separates names by blanks: a tab is refused, the rest is
     * written as is */
    snprintf(path, sizeof path, "%s/names.txt", tm_test_tmpdir());
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_forest_save(f, TM_FOREST_FORMAT_LIGHTGBM, path, &err), TM_E_FORMAT);
    ck_assert_str_eq(err.field, "feature_names");
    ck_assert_str_eq(err.reason, "expected names without blanks, found \"tab\there\"");
    ck_assert_int_ne(access(path, F_OK), 0);
    tm_forest_free(f);
    const char *const blankless[6] = {tricky[0], tricky[1], "tab", tricky[3], tricky[4], "f5"};
    f = tricky_forest(blankless, NULL);
    check_names_round_trip(f, TM_FOREST_FORMAT_LIGHTGBM, path, blankless);
    tm_forest_free(f);
}
END_TEST

/* The real XGBoost against our file: its own writer escapes the same names
 * into the same bytes, it reads our file as it reads its own (XGBoost
 * 1.7 keeps a \\u escape literally: "soh\\u0001" comes back as 9
 * characters from both files), and it predicts the hand-computed margins
 * (rows without infinities, which XGBoost 1.7 refuses as input). */
static const char *peer_py =
        "import sys\n"
        "try:\n"
        "    import numpy as np, xgboost as xgb\n"
        "except Exception as e:\n"
        "    print('python3-xgboost unavailable: %s' % e); sys.exit(77)\n"
        "names = ['q\"uote', 'back\\\\slash', 'tab\\there', 'caf\\u00e9_\\u03b1',\n"
        "         'emoji_\\U0001F600', 'soh\\x01']\n"
        "own = xgb.train({'max_depth': 1}, xgb.DMatrix(np.eye(6), label=[0, 1] * 3,\n"
        "                feature_names=names), 1)\n"
        "own.save_model(sys.argv[2])\n"
        "ours, theirs = (open(p, 'rb').read() for p in sys.argv[1:3])\n"
        "cut = lambda t: t[t.index(b'\"feature_names\"'):t.index(b'\"feature_types\"')]\n"
        "if cut(ours) != cut(theirs):\n"
        "    print('ours %r, xgboost %r' % (cut(ours), cut(theirs))); sys.exit(1)\n"
        "b = xgb.Booster(model_file=sys.argv[1])\n"
        "if b.feature_names != xgb.Booster(model_file=sys.argv[2]).feature_names:\n"
        "    print('names: %r' % b.feature_names); sys.exit(1)\n"
        "nan = float('nan')\n"
        "X = np.array([[0.5, -1.0, 0, 2.5, 100, 0],\n"
        "              [float(np.nextafter(np.float32(0.5), np.float32(1))), -0.5, 1, 3, 101, 0],\n"
        "              [nan] * 6, [-5, 0, 0.1, 2.4, 100.5, 7]])\n"
        "m = b.predict(xgb.DMatrix(X, missing=nan, feature_names=b.feature_names),\n"
        "              output_margin=True)\n"
        "print('xgboost %s: names as its own writer escapes them; margins %s'\n"
        "      % (xgb.__version__, list(m)))\n"
        "sys.exit(0 if list(m) == [0.25, 3.0, 0.25, -1.375] else 1)\n";

START_TEST(real_xgboost_reads_the_escaped_names)
{
    const char *dir = tm_test_tmpdir();
    char path[600], model[600], own[600];
    snprintf(path, sizeof path, "%s/peer.py", dir);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(peer_py, fp);
    fclose(fp);
    tm_forest *f = tricky_forest(tricky, NULL);
    snprintf(model, sizeof model, "%s/peer.json", dir);
    snprintf(own, sizeof own, "%s/peer_xgboost.json", dir);
    ck_assert_int_eq(tm_forest_save(f, TM_FOREST_FORMAT_XGBOOST_JSON, model, NULL), TM_OK);
    tm_forest_free(f);
    /* the Debian package is in /usr/bin/python3's path */
    int rc = tm_test_system("python3 %s %s %s", path, model, own);
    if (rc == 77) {
        rc = tm_test_system("/usr/bin/python3 %s %s %s", path, model, own);
    }
    if (rc == 77) {
        tm_test_skip("real XGBoost reading escaped names: no python3 with xgboost (install "
                     "python3-xgboost)");
        return;
    }
    tm_test_ran();
    ck_assert_msg(rc == 0,
                  "real XGBoost escapes or reads the names otherwise, or predicts other "
                  "margins (rc %d)",
                  rc);
}
END_TEST

START_TEST(non_finite_leaves_are_refused_by_the_json_writers)
{
    fill_rows();
    const double bad[3] = {INFINITY, -INFINITY, NAN};
    const char *json[3] = {"Infinity", "-Infinity", "NaN"};
    const char *c_text[3] = {"inf", "-inf", "nan"};
    char path[600];
    snprintf(path, sizeof path, "%s/bad.json", tm_test_tmpdir());
    for (int i = 0; i < 3; i++) {
        tm_forest *f = tricky_forest(tricky, &bad[i]);
        tm_err err;
        tm_err_init(&err);
        ck_assert_int_eq(tm_forest_save(f, TM_FOREST_FORMAT_CATBOOST_JSON, path, &err), TM_E_RANGE);
        char want[200], msg[1000];
        snprintf(want, sizeof want, "field 'leaf_values': %s has no JSON number", json[i]);
        tm_err_format(&err, msg, sizeof msg);
        ck_assert_ptr_nonnull(strstr(msg, want));
        ck_assert_str_eq(err.path, path);
        ck_assert_int_ne(access(path, F_OK), 0);
        tm_err_init(&err);
        ck_assert_int_eq(tm_forest_save(f, TM_FOREST_FORMAT_XGBOOST_JSON, path, &err), TM_E_FORMAT);
        snprintf(want, sizeof want, "tree 0: leaf value %s is not a finite float32", c_text[i]);
        ck_assert_str_eq(err.reason, want);
        ck_assert_int_ne(access(path, F_OK), 0);
        tm_forest_free(f);
    }
}
END_TEST

START_TEST(save_out_of_memory_leaves_no_file)
{
    tm_forest *f = tricky_forest(tricky, NULL);
    const char *const blankless[6] = {"a", "b", "c", "d", "e", "f"};
    tm_forest *g = tricky_forest(blankless, NULL);
    char dir[600], path[700];
    snprintf(dir, sizeof dir, "%s/oom", tm_test_tmpdir());
    ck_assert_int_eq(tm_test_system("mkdir -p %s", dir), 0);
    snprintf(path, sizeof path, "%s/m", dir);
    for (int i = 0; i < 3; i++) {
        const tm_forest *h = i == 0 ? g : f;
        int failures = 0;
        for (long n = 1;; n++) {
            tm_err err;
            tm_err_init(&err);
            tm_alloc_fail_after(n);
            tm_status st = tm_forest_save(h, writable[i], path, &err);
            tm_alloc_fail_after(0);
            if (st == TM_OK) {
                break;
            }
            ck_assert_msg(st == TM_E_NOMEM, "format %d, allocation %ld: %s", i, n, err.reason);
            ck_assert_int_eq(dir_entries(dir), 0); /* neither the file nor a temporary */
            failures++;
        }
        ck_assert_int_gt(failures, 0);
        ck_assert_int_eq(unlink(path), 0);
    }
    tm_forest_free(f);
    tm_forest_free(g);
}
END_TEST

TM_TEST_SUITE(forest_save)
{
    Suite *s = suite_create("forest_save");
    TCase *tc = tcase_create("save");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, fixture_models_predict_the_same_after_save_and_load);
    tcase_add_test(tc, names_needing_json_escapes_come_back_unchanged);
    tcase_add_test(tc, real_xgboost_reads_the_escaped_names);
    tcase_add_test(tc, non_finite_leaves_are_refused_by_the_json_writers);
    tcase_add_test(tc, save_out_of_memory_leaves_no_file);
    suite_add_tcase(s, tc);
    return s;
}
