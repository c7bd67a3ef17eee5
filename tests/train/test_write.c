/* Trained models through the writers (src/forest/write_*.c) and back:
 * our loaders predict exactly what the trainer evaluated (LightGBM and
 * CatBoost bit for bit; XGBoost sums float32 leaves, so within float32
 * rounding), the real XGBoost (python3-xgboost) predicts what our loader
 * does within 1e-6, and refused models leave no file. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <turbomode/forest.h>

#include "forest/forest_int.h"
#include "synth.h"
#include "tm_test.h"
#include "train/train_int.h"

static tm_forest *train(tm_train_growth g, tm_train_objective obj, const synth *s,
                        tm_train_metrics *m)
{
    tm_train_opts o;
    tm_train_opts_init(&o);
    o.objective = obj;
    o.growth = g;
    o.num_leaves = g == TM_TRAIN_LEAFWISE ? 15 : 0;
    o.max_depth = g == TM_TRAIN_LEAFWISE ? -1 : 4;
    o.max_rounds = 12;
    o.learning_rate = 0.4;
    o.class_weight = obj == TM_TRAIN_REGRESSION ? TM_TRAIN_CW_NONE : TM_TRAIN_CW_BALANCED;
    static const char *names[] = {"f_a", "f_b", "f_c", "f_d", "f_e"};
    o.feature_names = names;
    tm_forest *f = NULL;
    tm_err err;
    tm_err_init(&err);
    ck_assert_msg(tm_train_fit(&o, &s->d, NULL, &f, m, &err) == TM_OK, "%s", err.reason);
    return f;
}

static double *margins(const tm_forest *f, const synth *s)
{
    size_t k = tm_forest_output_len(f, TM_FOREST_OUT_MARGIN);
    double *out = malloc(s->n * k * sizeof *out);
    ck_assert_int_eq(tm_forest_predict(f, s->x, s->n, s->nf, TM_FOREST_OUT_MARGIN, 2, out, NULL),
                     TM_OK);
    return out;
}

/* The forest predicts the trainer's own scores: the training loss from
 * its margins is the one training reported, bit for bit. */
static void check_own_scores(const tm_forest *f, const synth *s, tm_train_objective obj,
                             const tm_train_metrics *m)
{
    size_t k = tm_forest_output_len(f, TM_FOREST_OUT_MARGIN);
    double *mg = margins(f, s), *cm = malloc(s->n * k * sizeof *cm);
    for (size_t r = 0; r < s->n; r++) {
        for (size_t j = 0; j < k; j++) {
            cm[j * s->n + r] = mg[r * k + j];
        }
    }
    double w[TM_TRAIN_MAX_CLASSES], *rw = malloc(s->n * sizeof *rw);
    for (int c = 0; c < TM_TRAIN_MAX_CLASSES; c++) {
        w[c] = m->class_weights[c];
    }
    for (size_t r = 0; r < s->n; r++) {
        rw[r] = obj == TM_TRAIN_REGRESSION ? 1.0 : w[(int)s->y[r]];
    }
    double loss = tm__train_loss(obj, (int)k, cm, s->y, rw, s->n, 1);
    ck_assert_msg(loss == m->train_loss, "%.17g vs %.17g", loss, m->train_loss);
    free(mg);
    free(cm);
    free(rw);
}

START_TEST(written_models_load_back_and_predict_the_same)
{
    const tm_forest_format fmts[3] = {TM_FOREST_FORMAT_LIGHTGBM, TM_FOREST_FORMAT_XGBOOST_JSON,
                                      TM_FOREST_FORMAT_CATBOOST_JSON};
    const char *files[3] = {"rt.txt", "rt.json", "rt.cbm.json"};
    for (int g = 0; g < 3; g++) {
        for (int obj = 0; obj < 3; obj++) {
            synth s;
            synth_make(&s, 900, 5, obj, 30 + (unsigned)(g * 3 + obj));
            tm_train_metrics m;
            tm_forest *f = train((tm_train_growth)g, (tm_train_objective)obj, &s, &m);
            check_own_scores(f, &s, (tm_train_objective)obj, &m);
            size_t k = tm_forest_output_len(f, TM_FOREST_OUT_MARGIN);
            double *want = margins(f, &s);
            for (int i = 0; i < 3; i++) {
                char path[512];
                snprintf(path, sizeof path, "%s/%s", tm_test_tmpdir(), files[i]);
                unlink(path);
                tm_err err;
                tm_err_init(&err);
                tm_status st = tm_forest_save(f, fmts[i], path, &err);
                if (i == 2 && g != TM_TRAIN_OBLIVIOUS) {
                    ck_assert_int_eq(st, TM_E_FORMAT);
                    ck_assert_int_ne(access(path, F_OK), 0); /* nothing left behind */
                    continue;
                }
                ck_assert_msg(st == TM_OK, "%s", err.reason);
                tm_forest *back = NULL;
                ck_assert_int_eq(tm_forest_load(path, NULL, &back, NULL), TM_OK);
                ck_assert_int_eq(tm_forest_n_features(back), 5);
                ck_assert_str_eq(tm_forest_feature_name(back, 1), "f_b");
                double *got = margins(back, &s);
                for (size_t j = 0; j < s.n * k; j++) {
                    if (i == 1) { /* XGBoost: float32 leaves summed in float32 */
                        ck_assert_double_eq_tol(got[j], want[j], 1e-5 * (1 + fabs(want[j])));
                    } else {
                        ck_assert_msg(got[j] == want[j],
                                      "format %d growth %d obj %d: %.17g vs "
                                      "%.17g",
                                      i, g, obj, got[j], want[j]);
                    }
                }
                free(got);
                tm_forest_free(back);
            }
            free(want);
            tm_forest_free(f);
            synth_free(&s);
        }
    }
}
END_TEST

START_TEST(catboost_writer_refuses_general_trees)
{
    synth s;
    synth_make(&s, 400, 5, 1, 2);
    tm_train_metrics m;
    tm_forest *f = train(TM_TRAIN_LEAFWISE, TM_TRAIN_BINARY, &s, &m);
    char path[512];
    snprintf(path, sizeof path, "%s/refused.cbm.json", tm_test_tmpdir());
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_forest_save(f, TM_FOREST_FORMAT_CATBOOST_JSON, path, &err), TM_E_FORMAT);
    char msg[600];
    tm_err_format(&err, msg, sizeof msg);
    char want[700];
    snprintf(want, sizeof want,
             "%s: cannot write non-oblivious trees as catboost json (train "
             "with --growth oblivious)",
             path);
    ck_assert_str_eq(msg, want);
    ck_assert_int_ne(access(path, F_OK), 0);
    tm_err_init(&err);
    ck_assert_int_eq(tm_forest_save(f, TM_FOREST_FORMAT_XGBOOST_UBJSON, path, &err), TM_E_FORMAT);
    tm_forest_free(f);
    synth_free(&s);
}
END_TEST

/* Writes rows as CSV (NaN as an empty field) with a header. */
static void write_csv(const char *path, const double *v, size_t n, size_t k, const char *pfx)
{
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    for (size_t j = 0; j < k; j++) {
        fprintf(fp, "%s%s%zu", j ? "," : "", pfx, j);
    }
    fputc('\n', fp);
    for (size_t r = 0; r < n; r++) {
        for (size_t j = 0; j < k; j++) {
            double x = v[r * k + j];
            fputs(j ? "," : "", fp);
            if (!isnan(x)) {
                fprintf(fp, "%.17g", x);
            }
        }
        fputc('\n', fp);
    }
    fclose(fp);
}

static const char *xgb_check_py =
        "import sys\n"
        "try:\n"
        "    import numpy as np, xgboost as xgb\n"
        "except Exception as e:\n"
        "    print('python3-xgboost unavailable: %s' % e); sys.exit(77)\n"
        "d, n, bad = sys.argv[1], int(sys.argv[2]), 0\n"
        "for c in range(n):\n"
        "    b = xgb.Booster(model_file='%s/model%d.json' % (d, c))\n"
        "    X = np.genfromtxt('%s/input%d.csv' % (d, c), delimiter=',', skip_header=1, ndmin=2)\n"
        "    o = np.genfromtxt('%s/ours%d.csv' % (d, c), delimiter=',', skip_header=1, ndmin=2)\n"
        "    dm = xgb.DMatrix(X, missing=np.nan, feature_names=b.feature_names)\n"
        "    m = b.predict(dm, output_margin=True).reshape(len(X), -1)\n"
        "    p = b.predict(dm).reshape(len(X), -1)\n"
        "    k = m.shape[1]\n"
        "    em = np.abs(m - o[:, :k]).max(); ep = np.abs(p - o[:, k:]).max()\n"
        "    print('case %d: xgboost %s: max margin diff %g, max output diff %g'\n"
        "          % (c, xgb.__version__, em, ep))\n"
        "    bad += not (em <= 1e-6 * max(1, np.abs(m).max()) and ep <= 1e-6)\n"
        "sys.exit(1 if bad else 0)\n";

/* Runs the check with the first python3 that has xgboost (the Debian
 * package lives in /usr/bin/python3's path); 77: none has it. */
static int run_xgb_check(const char *dir)
{
    int rc = 77;
    const char *py[2] = {"python3", "/usr/bin/python3"};
    for (int i = 0; i < 2 && rc == 77; i++) {
        rc = tm_test_system("%s %s/check.py %s 4", py[i], dir, dir);
    }
    return rc;
}

START_TEST(real_xgboost_predicts_what_we_predict)
{
    const char *dir = tm_test_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/check.py", dir);
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(xgb_check_py, fp);
    fclose(fp);
    const int cases[4][2] = {{TM_TRAIN_LEAFWISE, TM_TRAIN_MULTICLASS},
                             {TM_TRAIN_DEPTHWISE, TM_TRAIN_BINARY},
                             {TM_TRAIN_OBLIVIOUS, TM_TRAIN_MULTICLASS},
                             {TM_TRAIN_LEAFWISE, TM_TRAIN_REGRESSION}};
    for (int c = 0; c < 4; c++) {
        synth s;
        synth_make(&s, 600, 5, cases[c][1], 50 + (unsigned)c);
        tm_train_metrics m;
        tm_forest *f = train((tm_train_growth)cases[c][0], (tm_train_objective)cases[c][1], &s, &m);
        snprintf(path, sizeof path, "%s/model%d.json", dir, c);
        ck_assert_int_eq(tm_forest_save(f, TM_FOREST_FORMAT_XGBOOST_JSON, path, NULL), TM_OK);
        tm_forest *back = NULL;
        ck_assert_int_eq(tm_forest_load(path, NULL, &back, NULL), TM_OK);
        size_t k = tm_forest_output_len(back, TM_FOREST_OUT_MARGIN);
        size_t kp = tm_forest_output_len(back, TM_FOREST_OUT_DEFAULT);
        double *out = malloc(s.n * (k + kp) * sizeof *out), *mg = malloc(s.n * k * sizeof *mg);
        double *pr = malloc(s.n * kp * sizeof *pr);
        ck_assert_int_eq(tm_forest_predict(back, s.x, s.n, 5, TM_FOREST_OUT_MARGIN, 1, mg, NULL),
                         TM_OK);
        ck_assert_int_eq(tm_forest_predict(back, s.x, s.n, 5, TM_FOREST_OUT_DEFAULT, 1, pr, NULL),
                         TM_OK);
        for (size_t r = 0; r < s.n; r++) {
            memcpy(out + r * (k + kp), mg + r * k, k * sizeof *out);
            memcpy(out + r * (k + kp) + k, pr + r * kp, kp * sizeof *out);
        }
        snprintf(path, sizeof path, "%s/input%d.csv", dir, c);
        write_csv(path, s.x, s.n, 5, "f");
        snprintf(path, sizeof path, "%s/ours%d.csv", dir, c);
        write_csv(path, out, s.n, k + kp, "v");
        free(out);
        free(mg);
        free(pr);
        tm_forest_free(back);
        tm_forest_free(f);
        synth_free(&s);
    }
    int rc = run_xgb_check(dir);
    if (rc == 77) {
        tm_test_skip("real XGBoost round trip: no python3 with xgboost (install "
                     "python3-xgboost)");
        return;
    }
    tm_test_ran();
    ck_assert_msg(rc == 0, "real XGBoost disagrees with our predictions (rc %d)", rc);
}
END_TEST

TM_TEST_SUITE(train_write)
{
    Suite *s = suite_create("train_write");
    TCase *tc = tcase_create("write");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, written_models_load_back_and_predict_the_same);
    tcase_add_test(tc, catboost_writer_refuses_general_trees);
    tcase_add_test(tc, real_xgboost_predicts_what_we_predict);
    suite_add_tcase(s, tc);
    return s;
}
