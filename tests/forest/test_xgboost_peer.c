/* The installed XGBoost (python3-xgboost) as a live peer: xgb_peer.py
 * trains a tiny model for every objective it can train, as gbtree and as
 * dart, and for several targets, saves each as JSON and UBJSON and writes
 * XGBoost's own margins and predictions. Both files must load here and
 * give the same values within float32 rounding (1e-6 relative). Skips
 * with a SKIP line when no python3 with xgboost is installed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbomode/forest.h>

#include "tm_test.h"

/* Runs the generator with the first python3 that has xgboost (Debian's
 * package lives in /usr/bin/python3's path); 77: none has it. */
static int run_peer(const char *dir)
{
    int rc = 77;
    const char *py[2] = {"/usr/bin/python3", "python3"};
    for (int i = 0; i < 2 && rc == 77; i++) {
        rc = tm_test_system("%s tests/forest/xgb_peer.py '%s' >/dev/null 2>&1", py[i], dir);
    }
    return rc;
}

static tm_csv *csv(const char *dir, const char *name, const char *suffix, bool header)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s%s", dir, name, suffix);
    if (!header) { /* numpy's savetxt writes no header: add one */
        size_t len = 0;
        char *body = tm_test_slurp(path, &len);
        ck_assert_ptr_nonnull(body);
        size_t cols = 1;
        for (const char *p = body; *p && *p != '\n'; p++) {
            cols += *p == ',';
        }
        char hdr[4096] = "";
        for (size_t j = 0; j < cols; j++) {
            snprintf(hdr + strlen(hdr), sizeof hdr - strlen(hdr), "%sc%zu", j ? "," : "", j);
        }
        strcat(hdr, "\n");
        char *text = malloc(strlen(hdr) + len + 1);
        strcpy(text, hdr);
        memcpy(text + strlen(hdr), body, len + 1);
        tm_csv *c = NULL;
        ck_assert_int_eq(tm_csv_parse(text, strlen(text), path, &c, NULL), TM_OK);
        free(text);
        free(body);
        return c;
    }
    tm_csv *c = NULL;
    ck_assert_int_eq(tm_csv_load(path, &c, NULL), TM_OK);
    return c;
}

/* Largest violation of |got - want| <= 1e-6 max(1, |want|), as a ratio. */
static double worst(const double *got, const tm_csv *want, size_t n, size_t k)
{
    double w = 0.0;
    ck_assert_uint_eq(want->n_rows, n);
    ck_assert_uint_eq(want->n_cols, k);
    for (size_t i = 0; i < n * k; i++) {
        double e = want->values[i], d = fabs(got[i] - e) / (1e-6 * fmax(1.0, fabs(e)));
        w = d > w || isnan(d) ? d : w;
    }
    return w;
}

/* One saved file against XGBoost's margins and predictions. */
static void check_file(const char *dir, const char *name, const char *ext, const tm_csv *X)
{
    char path[700];
    snprintf(path, sizeof path, "%s/%s%s", dir, name, ext);
    tm_forest *f = NULL;
    tm_err err;
    tm_err_init(&err);
    char msg[1024];
    ck_assert_msg(tm_forest_load(path, NULL, &f, &err) == TM_OK, "%s: %s", path,
                  tm_err_format(&err, msg, sizeof msg));
    size_t n = X->n_rows, nf = X->n_cols;
    size_t km = tm_forest_output_len(f, TM_FOREST_OUT_MARGIN);
    size_t kp = tm_forest_output_len(f, TM_FOREST_OUT_DEFAULT);
    double *m = malloc(n * km * sizeof *m), *p = malloc(n * kp * sizeof *p);
    ck_assert_int_eq(tm_forest_predict(f, X->values, n, nf, TM_FOREST_OUT_MARGIN, 1, m, NULL),
                     TM_OK);
    ck_assert_int_eq(tm_forest_predict(f, X->values, n, nf, TM_FOREST_OUT_DEFAULT, 1, p, NULL),
                     TM_OK);
    tm_csv *wm = csv(dir, name, ".margin.csv", false), *wp = csv(dir, name, ".pred.csv", false);
    double em = worst(m, wm, n, km), ep = worst(p, wp, n, kp);
    ck_assert_msg(em <= 1.0 && ep <= 1.0, "%s%s: margins off by %g, predictions by %g (x 1e-6)",
                  name, ext, em, ep);
    tm_csv_free(wm);
    tm_csv_free(wp);
    free(m);
    free(p);
    tm_forest_free(f);
}

START_TEST(xgb_peer_every_objective_round_trips)
{
    char dir[600];
    snprintf(dir, sizeof dir, "%s/xgb_peer", tm_test_tmpdir());
    tm_test_system("mkdir -p '%s'", dir);
    int rc = run_peer(dir);
    if (rc == 77) {
        tm_test_skips++;
        fprintf(stderr, "SKIP: xgboost peer round trips: no python3 with xgboost (install "
                        "python3-xgboost)\n");
        return;
    }
    ck_assert_msg(rc == 0, "xgb_peer.py failed (exit %d)", rc);
    char path[700];
    snprintf(path, sizeof path, "%s/cases.txt", dir);
    FILE *fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    tm_csv *X = csv(dir, "X", ".csv", true);
    char line[256], version[64] = "";
    int n = 0;
    ck_assert_ptr_nonnull(fgets(version, sizeof version, fp));
    version[strcspn(version, "\n")] = 0;
    while (fgets(line, sizeof line, fp)) {
        line[strcspn(line, "\n")] = 0;
        check_file(dir, line, ".json", X);
        check_file(dir, line, ".ubj", X);
        n++;
    }
    fclose(fp);
    tm_csv_free(X);
    ck_assert_int_ge(n, 30);
    fprintf(stderr, "%s: %d models, JSON and UBJSON, agree\n", version, n);
}
END_TEST

TM_TEST_SUITE(forest_xgboost_peer)
{
    Suite *s = suite_create("forest_xgboost_peer");
    TCase *tc = tcase_create("peer");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, xgb_peer_every_objective_round_trips);
    suite_add_tcase(s, tc);
    return s;
}
