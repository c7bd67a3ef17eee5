/* The boosting loop and its inputs (src/train/boost.c, data.c, metrics.c):
 * determinism across thread counts, early stopping on a validation set,
 * class weights, bad input with exact messages, documented edge
 * behaviour, validation splits, and an allocation-failure loop. */
#include <check.h>
#include <math.h>
#include <string.h>

#include <turbomode/forest.h>

#include "forest/forest_int.h"
#include "synth.h"
#include "tm_test.h"
#include "train/train_int.h"

static tm_status fit(const tm_train_opts *o, const tm_train_data *tr, const tm_train_data *va,
                     tm_forest **f, tm_train_metrics *m, char *msg)
{
    tm_err err;
    tm_err_init(&err);
    tm_status st = tm_train_fit(o, tr, va, f, m, &err);
    tm_err_format(&err, msg, 512);
    return st;
}

static char *save_text(const tm_forest *f, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tm_test_tmpdir(), name);
    ck_assert_int_eq(tm_forest_save(f, TM_FOREST_FORMAT_LIGHTGBM, path, NULL), TM_OK);
    return tm_test_slurp(path, NULL);
}

START_TEST(training_is_deterministic_across_thread_counts)
{
    synth s;
    synth_make(&s, 3000, 6, 0, 21);
    tm_train_opts o;
    tm_train_opts_init(&o);
    o.max_rounds = 8;
    o.learning_rate = 0.2;
    o.row_subsample = 0.8;
    o.col_subsample = 0.7;
    o.seed = 42;
    char msg[512], *text[4];
    for (int i = 0; i < 4; i++) {
        tm_forest *f;
        o.n_threads = i == 3 ? 2 : i + 1;
        ck_assert_int_eq(fit(&o, &s.d, NULL, &f, NULL, msg), TM_OK);
        text[i] = save_text(f, "det.txt");
        tm_forest_free(f);
    }
    for (int i = 1; i < 4; i++) {
        ck_assert_str_eq(text[0], text[i]);
    }
    o.seed = 43; /* another seed draws other rows */
    tm_forest *g;
    ck_assert_int_eq(fit(&o, &s.d, NULL, &g, NULL, msg), TM_OK);
    char *other = save_text(g, "det2.txt");
    ck_assert_str_ne(text[0], other);
    tm_forest_free(g);
    for (int i = 0; i < 4; i++) {
        free(text[i]);
    }
    free(other);
    synth_free(&s);
}
END_TEST

/* Validation labels are the reverse of the training ones: the validation
 * loss rises from the first round, so the best round is 0 and training
 * stops after `patience` more rounds; the model keeps round 0 only. */
START_TEST(early_stopping_cuts_the_model_at_the_best_round)
{
    synth s, v;
    synth_make(&s, 2000, 5, 1, 3);
    synth_make(&v, 500, 5, 1, 4);
    for (size_t r = 0; r < v.n; r++) {
        v.y[r] = 1.0 - v.y[r];
    }
    tm_train_opts o;
    tm_train_opts_init(&o);
    o.objective = TM_TRAIN_BINARY;
    o.learning_rate = 0.3;
    o.early_stopping = 4;
    o.max_rounds = 100;
    tm_forest *f;
    tm_train_metrics m;
    char msg[512];
    ck_assert_int_eq(fit(&o, &s.d, &v.d, &f, &m, msg), TM_OK);
    ck_assert_int_eq(m.best_iteration, 0);
    ck_assert_int_eq(m.rounds, 5);
    ck_assert_int_eq(m.n_trees, 1);
    ck_assert_int_eq(f->n_trees, 1);
    tm_forest_free(f);
    /* same labels: the loss keeps falling for a while, then training stops
       patience rounds after the best one */
    synth_free(&v);
    synth_make(&v, 500, 5, 1, 4);
    o.learning_rate = 0.5;
    ck_assert_int_eq(fit(&o, &s.d, &v.d, &f, &m, msg), TM_OK);
    ck_assert_int_gt(m.best_iteration, 0);
    ck_assert_int_eq(m.rounds, m.best_iteration + 1 + 4);
    ck_assert_int_eq(f->n_trees, m.best_iteration + 1);
    tm_forest_free(f);
    synth_free(&s);
    synth_free(&v);
}
END_TEST

/* Share of rows predicted as the minority classes 0 and 2. */
static double minority_share(const tm_forest *f, const synth *s, double *mean_p)
{
    double *p = malloc(s->n * 3 * sizeof *p);
    ck_assert_int_eq(tm_forest_predict(f, s->x, s->n, s->nf, TM_FOREST_OUT_PROBABILITY, 1, p, NULL),
                     TM_OK);
    size_t minority = 0;
    *mean_p = 0;
    for (size_t r = 0; r < s->n; r++) {
        const double *q = p + r * 3;
        int arg = q[0] > q[1] ? (q[0] >= q[2] ? 0 : 2) : (q[1] >= q[2] ? 1 : 2);
        minority += arg != 1;
        *mean_p += (q[0] + q[2]) / (double)s->n;
    }
    free(p);
    return (double)minority / (double)s->n;
}

START_TEST(class_weights_move_predictions_towards_minority_classes)
{
    synth s;
    synth_make(&s, 3000, 5, 0, 8);
    tm_train_opts o;
    tm_train_opts_init(&o);
    o.max_rounds = 20;
    o.learning_rate = 0.2;
    tm_forest *plain, *balanced, *explicit_w;
    char msg[512];
    tm_train_metrics m;
    ck_assert_int_eq(fit(&o, &s.d, NULL, &plain, NULL, msg), TM_OK);
    o.class_weight = TM_TRAIN_CW_BALANCED;
    ck_assert_int_eq(fit(&o, &s.d, NULL, &balanced, &m, msg), TM_OK);
    size_t cnt[3] = {0};
    for (size_t r = 0; r < s.n; r++) {
        cnt[(int)s.y[r]]++;
    }
    for (int c = 0; c < 3; c++) { /* n / (K n_k) */
        ck_assert_double_eq_tol(m.class_weights[c], 3000.0 / (3.0 * (double)cnt[c]), 1e-12);
    }
    o.class_weight = TM_TRAIN_CW_EXPLICIT;
    o.n_class_weights = 3;
    o.class_weights[0] = o.class_weights[2] = 8.0;
    o.class_weights[1] = 1.0;
    ck_assert_int_eq(fit(&o, &s.d, NULL, &explicit_w, NULL, msg), TM_OK);
    double p0, p1, p2;
    double s0 = minority_share(plain, &s, &p0);
    double s1 = minority_share(balanced, &s, &p1);
    double s2 = minority_share(explicit_w, &s, &p2);
    ck_assert_double_gt(s1, s0);
    ck_assert_double_gt(p1, p0 + 0.01);
    ck_assert_double_gt(s2, s0);
    ck_assert_double_gt(p2, p0 + 0.01);
    tm_forest_free(plain);
    tm_forest_free(balanced);
    tm_forest_free(explicit_w);
    synth_free(&s);
}
END_TEST

/* Expects fit to fail with TM_E_INVALID and the message. */
static void expect_error(const tm_train_opts *o, const tm_train_data *tr, const tm_train_data *va,
                         const char *want)
{
    tm_forest *f = (tm_forest *)1;
    char msg[512];
    ck_assert_int_eq(fit(o, tr, va, &f, NULL, msg), TM_E_INVALID);
    ck_assert_ptr_null(f);
    ck_assert_str_eq(msg, want);
}

START_TEST(bad_input_gets_exact_messages)
{
    double x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[8] = {0, 1, 2, 0, 1, 2, 0, 1}, w[8];
    long line[8] = {2, 3, 4, 5, 6, 7, 8, 9};
    tm_train_data d = {8, 1, 1, x, NULL, y, NULL, "train.csv", "label", NULL};
    tm_train_opts o;
    tm_train_opts_init(&o);
    y[3] = 3.5;
    expect_error(&o, &d, NULL,
                 "train.csv: field 'label': row 4: expected a class id (an integer 0..31), "
                 "found 3.5");
    y[3] = NAN;
    d.line = line;
    expect_error(&o, &d, NULL,
                 "train.csv:5: field 'label': expected a class id (an integer 0..31), found nan");
    y[3] = 5;
    o.num_class = 3;
    expect_error(&o, &d, NULL, "train.csv:5: field 'label': expected a class id 0..2, found 5");
    y[3] = 0;
    o.num_class = 4;
    expect_error(&o, &d, NULL,
                 "train.csv: field 'label': expected training rows of every class 0..3, found "
                 "none of class 3");
    o.num_class = 0;
    for (int r = 0; r < 8; r++) {
        y[r] = r % 2 == 0 ? 0 : 2; /* class 1 has no rows */
    }
    expect_error(&o, &d, NULL,
                 "train.csv: field 'label': expected training rows of every class 0..2, found "
                 "none of class 1");
    for (int r = 0; r < 8; r++) {
        y[r] = r % 2;
    }
    expect_error(&o, &d, NULL,
                 "train.csv: field 'label': expected at least 3 classes for multiclass (use "
                 "binary), found 2");
    o.objective = TM_TRAIN_BINARY;
    y[6] = 2;
    expect_error(&o, &d, NULL, "train.csv:8: field 'label': expected 0 or 1, found 2");
    y[6] = 0;
    for (int r = 0; r < 8; r++) {
        w[r] = 1;
    }
    w[2] = -1;
    d.weight = w;
    expect_error(&o, &d, NULL,
                 "train.csv:4: field 'weight': expected a finite weight >= 0, "
                 "found -1");
    d.weight = NULL;
    tm_train_data v = {2, 2, 2, x, NULL, y, NULL, "valid.csv", "label", NULL};
    expect_error(&o, &d, &v, "valid.csv: validation set: expected 1 features, found 2");
    o.max_bin = 1;
    expect_error(&o, &d, NULL, "--max-bin: expected a whole number in 2..255, found \"1\"");
    o.max_bin = 255;
    o.num_leaves = 1;
    expect_error(&o, &d, NULL, "--num-leaves: expected a whole number in 2..1048576, found \"1\"");
    o.num_leaves = 31;
    d.n_rows = 0;
    expect_error(&o, &d, NULL, "train.csv: training set: expected 1..2147483647 rows, found 0");
}
END_TEST

/* Documented behaviour: constant and all-NaN features are never split on;
 * with fewer rows than 2 * min_data_in_leaf every tree is one leaf and
 * the model converges to the (weighted) label prior. */
START_TEST(degenerate_data_is_trained_as_documented)
{
    double x[3 * 30], y[30];
    for (int r = 0; r < 30; r++) {
        x[3 * r] = 7.0;
        x[3 * r + 1] = NAN;
        x[3 * r + 2] = r;
        y[r] = r < 20 ? 0 : 1;
    }
    tm_train_data d = {30, 3, 3, x, NULL, y, NULL, NULL, NULL, NULL};
    tm_train_opts o;
    tm_train_opts_init(&o);
    o.objective = TM_TRAIN_BINARY;
    o.max_rounds = 5;
    o.min_data_in_leaf = 5;
    tm_forest *f;
    tm_train_metrics m;
    char msg[512];
    ck_assert_int_eq(fit(&o, &d, NULL, &f, &m, msg), TM_OK);
    ck_assert_int_eq(m.n_features_used, 1);
    for (int32_t nd = 0; nd < f->n_nodes; nd++) {
        ck_assert(f->flags[nd] & TM__NODE_LEAF || f->feature[nd] == 2);
    }
    tm_forest_free(f);
    o.min_data_in_leaf = 20; /* 30 rows < 2 * 20 */
    ck_assert_int_eq(fit(&o, &d, NULL, &f, &m, msg), TM_OK);
    for (int32_t t = 0; t < f->n_trees; t++) {
        ck_assert_int_eq(f->tree_n_nodes[t], 1);
    }
    double p;
    ck_assert_int_eq(tm_forest_predict(f, x, 1, 3, TM_FOREST_OUT_PROBABILITY, 1, &p, NULL), TM_OK);
    ck_assert_double_eq_tol(p, 10.0 / 30.0, 0.02);
    tm_forest_free(f);
}
END_TEST

START_TEST(split_picks_latest_times_or_random_rows)
{
    double t[10] = {5, 1, 3, 3, 9, 7, 7, 2, 8, 0};
    uint8_t v[10];
    ck_assert_int_eq(tm_train_split(10, 0.3, t, 1, v, NULL), TM_OK);
    const uint8_t want[10] = {0, 0, 0, 0, 1, 1, 1, 0, 1, 0}; /* times >= 7 */
    ck_assert_int_eq(memcmp(v, want, 10), 0);
    ck_assert_int_eq(tm_train_split(10, 0.25, t, 1, v, NULL), TM_OK); /* cut at 7: both 7s */
    ck_assert_int_eq(memcmp(v, want, 10), 0);
    ck_assert_int_eq(tm_train_split(10, 0.3, NULL, 5, v, NULL), TM_OK);
    int n = 0;
    for (int i = 0; i < 10; i++) {
        n += v[i];
    }
    ck_assert_int_eq(n, 3);
    tm_err err;
    tm_err_init(&err);
    ck_assert_int_eq(tm_train_split(10, 1.0, NULL, 5, v, &err), TM_E_INVALID);
    ck_assert_str_eq(err.reason, "expected a fraction in (0, 1), found 1");
}
END_TEST

START_TEST(metrics_json_is_written)
{
    synth s, v;
    synth_make(&s, 1500, 5, 0, 12);
    synth_make(&v, 400, 5, 0, 13);
    tm_train_opts o;
    tm_train_opts_init(&o);
    o.max_rounds = 6;
    o.class_weight = TM_TRAIN_CW_BALANCED;
    tm_forest *f;
    tm_train_metrics m;
    char msg[512], path[512];
    ck_assert_int_eq(fit(&o, &s.d, &v.d, &f, &m, msg), TM_OK);
    int64_t total = 0;
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) {
            total += m.confusion[i][j];
        }
    }
    ck_assert_int_eq(total, 400);
    ck_assert(m.valid_loss > 0 && m.valid_loss_unweighted > 0 && m.valid_accuracy > 0.3);
    snprintf(path, sizeof path, "%s/metrics.json", tm_test_tmpdir());
    ck_assert_int_eq(tm_train_metrics_save(&m, path, NULL), TM_OK);
    char *text = tm_test_slurp(path, NULL);
    tm_json_doc *doc = NULL;
    ck_assert_int_eq(tm_json_parse(text, strlen(text), path, &doc, NULL), TM_OK);
    const tm_json *root = tm_json_root(doc);
    const char *keys[] = {"best_iteration",
                          "rounds",
                          "train_multi_logloss",
                          "valid_multi_logloss",
                          "valid_accuracy",
                          "precision",
                          "recall",
                          "f1",
                          "confusion_matrix",
                          "seconds"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        ck_assert_msg(tm_json_get(root, keys[i]) != NULL, "missing %s", keys[i]);
    }
    ck_assert_int_eq((int)tm_json_get(root, "rounds")->num, 6);
    ck_assert_double_eq_tol(tm_json_get(root, "valid_multi_logloss")->num, m.valid_loss, 1e-9);
    tm_json_doc_free(doc);
    free(text);
    tm_forest_free(f);
    synth_free(&s);
    synth_free(&v);
}
END_TEST

/* The prior's validation loss by hand: training labels 0,1,1,2 give the
 * frequencies 1/4, 1/2, 1/4 (class weights do not change them); the
 * validation labels 1,1,2 then cost -(2 ln 1/2 + ln 1/4) / 3 = (4/3) ln 2. */
START_TEST(prior_loss_uses_unweighted_training_frequencies)
{
    double xt[4] = {0, 1, 2, 3}, yt[4] = {0, 1, 1, 2}, xv[3] = {1, 2, 3}, yv[3] = {1, 1, 2};
    tm_train_data tr = {4, 1, 1, xt, NULL, yt, NULL, NULL, NULL, NULL};
    tm_train_data va = {3, 1, 1, xv, NULL, yv, NULL, NULL, NULL, NULL};
    tm_train_opts o;
    tm_train_opts_init(&o);
    o.max_rounds = 1;
    o.min_data_in_leaf = 1;
    o.class_weight = TM_TRAIN_CW_BALANCED;
    tm_forest *f;
    tm_train_metrics m;
    char msg[512], path[512];
    ck_assert_int_eq(fit(&o, &tr, &va, &f, &m, msg), TM_OK);
    ck_assert_double_eq_tol(m.valid_prior_loss, 4.0 / 3.0 * log(2.0), 1e-12);
    snprintf(path, sizeof path, "%s/prior.json", tm_test_tmpdir());
    ck_assert_int_eq(tm_train_metrics_save(&m, path, NULL), TM_OK);
    char *text = tm_test_slurp(path, NULL);
    tm_json_doc *doc = NULL;
    ck_assert_int_eq(tm_json_parse(text, strlen(text), path, &doc, NULL), TM_OK);
    const tm_json *v = tm_json_get(tm_json_root(doc), "valid_prior_multi_logloss");
    ck_assert_ptr_nonnull(v);
    ck_assert_double_eq_tol(v->num, 4.0 / 3.0 * log(2.0), 1e-9);
    tm_json_doc_free(doc);
    free(text);
    tm_forest_free(f);
    /* Without validation there is no prior figure. */
    ck_assert_int_eq(fit(&o, &tr, NULL, &f, &m, msg), TM_OK);
    ck_assert(isnan(m.valid_prior_loss));
    tm_forest_free(f);
}
END_TEST

typedef struct es_trace {
    double loss[64];
    int n;
} es_trace;

static void record_loss(void *ctx, const tm_train_progress *p)
{
    es_trace *t = ctx;
    if (t->n < 64) {
        t->loss[t->n++] = p->valid_loss;
    }
}

/* With early_stopping_unweighted the stopping metric is the unweighted
 * loss with the class weights' tilt undone: the best round is the argmin
 * of the traced metric, and the trace at that round is the returned
 * model's valid_loss_deweighted, not its weighted loss (balanced weights
 * make the two differ). */
START_TEST(early_stopping_can_use_the_unweighted_loss)
{
    synth s, v;
    synth_make(&s, 1500, 5, 0, 31);
    synth_make(&v, 600, 5, 0, 32);
    tm_train_opts o;
    tm_train_opts_init(&o);
    o.max_rounds = 40;
    o.early_stopping = 5;
    o.learning_rate = 0.5;
    o.class_weight = TM_TRAIN_CW_BALANCED;
    o.progress_every = 1;
    o.progress = record_loss;
    tm_forest *f;
    tm_train_metrics m;
    char msg[512];
    for (int unweighted = 0; unweighted < 2; unweighted++) {
        es_trace t = {.n = 0};
        o.progress_ctx = &t;
        o.early_stopping_unweighted = unweighted;
        ck_assert_int_eq(fit(&o, &s.d, &v.d, &f, &m, msg), TM_OK);
        ck_assert_int_eq(t.n, m.rounds);
        int best = 0;
        for (int i = 1; i < t.n; i++) {
            best = t.loss[i] < t.loss[best] ? i : best;
        }
        ck_assert_int_eq(m.best_iteration, best);
        double want = unweighted ? m.valid_loss_deweighted : m.valid_loss;
        double other = unweighted ? m.valid_loss : m.valid_loss_deweighted;
        ck_assert_double_eq_tol(t.loss[best], want, 1e-12);
        ck_assert(fabs(t.loss[best] - other) > 1e-3);
        tm_forest_free(f);
    }
    synth_free(&s);
    synth_free(&v);
}
END_TEST

/* The tilt of balanced class weights, undone: on the data above the
 * weighted prior is uniform (each class weighs 4/3 in all), so a model
 * that learns (almost) nothing predicts 1/3 each and its raw unweighted
 * validation loss is ln 3; with the tilt undone (p_k / cw_k, cw = 4/3,
 * 2/3, 4/3) it predicts the training frequencies 1/4, 1/2, 1/4 and costs
 * exactly the prior's (4/3) ln 2. Without class weights the two losses
 * are one and the same. */
START_TEST(deweighted_loss_undoes_the_class_weight_tilt)
{
    double xt[4] = {0, 1, 2, 3}, yt[4] = {0, 1, 1, 2}, xv[3] = {1, 2, 3}, yv[3] = {1, 1, 2};
    tm_train_data tr = {4, 1, 1, xt, NULL, yt, NULL, NULL, NULL, NULL};
    tm_train_data va = {3, 1, 1, xv, NULL, yv, NULL, NULL, NULL, NULL};
    tm_train_opts o;
    tm_train_opts_init(&o);
    o.max_rounds = 1;
    o.min_data_in_leaf = 1;
    o.learning_rate = 1e-6; /* the one tree moves scores by ~1e-6 */
    o.class_weight = TM_TRAIN_CW_BALANCED;
    tm_forest *f;
    tm_train_metrics m;
    char msg[512];
    ck_assert_int_eq(fit(&o, &tr, &va, &f, &m, msg), TM_OK);
    ck_assert_double_eq_tol(m.valid_loss_unweighted, log(3.0), 1e-5);
    ck_assert_double_eq_tol(m.valid_loss_deweighted, 4.0 / 3.0 * log(2.0), 1e-5);
    ck_assert_double_eq_tol(m.valid_loss_deweighted, m.valid_prior_loss, 1e-5);
    tm_forest_free(f);
    o.class_weight = TM_TRAIN_CW_NONE;
    o.learning_rate = 0.3;
    ck_assert_int_eq(fit(&o, &tr, &va, &f, &m, msg), TM_OK);
    ck_assert_double_eq(m.valid_loss_deweighted, m.valid_loss_unweighted);
    tm_forest_free(f);
}
END_TEST

/* Every allocation failing in turn: TM_E_NOMEM, no forest, no leak. */
START_TEST(allocation_failures_are_reported_cleanly)
{
    synth s, v;
    synth_make(&s, 300, 4, 0, 2);
    synth_make(&v, 100, 4, 0, 3);
    const tm_train_growth growth[2] = {TM_TRAIN_LEAFWISE, TM_TRAIN_OBLIVIOUS};
    for (int gi = 0; gi < 2; gi++) {
        tm_train_opts o;
        tm_train_opts_init(&o);
        o.max_rounds = 3;
        o.growth = growth[gi];
        o.num_leaves = gi ? 0 : 31;
        o.row_subsample = 0.9;
        o.class_weight = TM_TRAIN_CW_BALANCED;
        o.n_threads = 1; /* the failure counter is not thread-safe */
        for (long n = 1;; n++) {
            tm_forest *f = (tm_forest *)1;
            tm_train_metrics m;
            char msg[512];
            tm_alloc_fail_after(n);
            tm_status st = fit(&o, &s.d, &v.d, &f, &m, msg);
            tm_alloc_fail_after(0);
            if (st == TM_OK) {
                tm_forest_free(f);
                break;
            }
            ck_assert_int_eq(st, TM_E_NOMEM);
            ck_assert_ptr_null(f);
            ck_assert_int_lt(n, 5000);
        }
    }
    synth_free(&s);
    synth_free(&v);
}
END_TEST

TM_TEST_SUITE(train_boost)
{
    Suite *s = suite_create("train_boost");
    TCase *tc = tcase_create("boost");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, training_is_deterministic_across_thread_counts);
    tcase_add_test(tc, early_stopping_cuts_the_model_at_the_best_round);
    tcase_add_test(tc, class_weights_move_predictions_towards_minority_classes);
    tcase_add_test(tc, bad_input_gets_exact_messages);
    tcase_add_test(tc, degenerate_data_is_trained_as_documented);
    tcase_add_test(tc, split_picks_latest_times_or_random_rows);
    tcase_add_test(tc, metrics_json_is_written);
    tcase_add_test(tc, prior_loss_uses_unweighted_training_frequencies);
    tcase_add_test(tc, early_stopping_can_use_the_unweighted_loss);
    tcase_add_test(tc, deweighted_loss_undoes_the_class_weight_tilt);
    tcase_add_test(tc, allocation_failures_are_reported_cleanly);
    suite_add_tcase(s, tc);
    return s;
}
