/* turbomode train: the training contract of DESIGN.md. Reads a CSV, takes
 * the label (and the time, weight and ignored columns) out of the
 * features, picks validation rows (a file, or a random or time-ordered
 * fraction), trains, and writes the model and the metrics JSON
 * atomically, so that a failure leaves nothing at --out. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbomode/forest.h>
#include <turbomode/train.h>

#include "cli/cli.h"

/* The command-line-only options; the training options are tm_train_opts
 * (tm_train_opt_table). */
typedef struct train_args {
    const char *input, *label, *valid, *time_col, *weight_col, *ignore, *out, *metrics;
    const char *class_weight; /* "balanced" or "w0,w1,...", NULL: none */
    double valid_fraction;    /* 0: no held-out fraction */
    int split;                /* SPLIT_*; -1: time with --time-column, else random */
    int out_format;           /* OUT_* */
    tm_train_opts o;
} train_args;

enum { SPLIT_TIME, SPLIT_RANDOM };
enum { OUT_LIGHTGBM, OUT_XGBOOST, OUT_CATBOOST };

#define OFF(f) offsetof(train_args, f)

static const tm_opt cli_rows[] = {
        {"input", TM_OPT_STRING, OFF(input), 0, 0, "CSV", NULL, NULL,
         "training rows, a CSV with a header row; empty or nan is missing (required)", 1},
        {"label", TM_OPT_STRING, OFF(label), 0, 0, "COL", NULL, NULL, "the label column (required)",
         1},
        {"out", TM_OPT_STRING, OFF(out), 0, 0, "MODEL", NULL, NULL,
         "the model, written atomically (required)", 1},
        {"out-format", TM_OPT_CHOICE, OFF(out_format), 0, 0, NULL, "lightgbm|xgboost|catboost",
         NULL, "model file format (catboost: oblivious trees only)", 1},
        {"metrics-json", TM_OPT_STRING, OFF(metrics), 0, 0, "FILE", NULL, NULL,
         "best iteration, rounds, losses, accuracy, per-class precision/recall/F1, confusion "
         "matrix, seconds",
         1},
        {"valid", TM_OPT_STRING, OFF(valid), 0, 0, "CSV", NULL, NULL,
         "validation rows from a file with the same columns", 1},
        {"valid-fraction", TM_OPT_DOUBLE, OFF(valid_fraction), 0.001, 0.999, "F", NULL, "none",
         "or validation rows held out of the input", 1},
        {"split", TM_OPT_CHOICE, OFF(split), 0, 0, NULL, "time|random",
         "time with --time-column, else random",
         "which rows --valid-fraction holds out: the latest times (whole time stamps) or random",
         1},
        {"time-column", TM_OPT_STRING, OFF(time_col), 0, 0, "COL", NULL, NULL,
         "time stamps for --split time (never a feature)", 1},
        {"weight-column", TM_OPT_STRING, OFF(weight_col), 0, 0, "COL", NULL, NULL,
         "per-row weights, finite and >= 0 (not a feature)", 1},
        {"ignore", TM_OPT_STRING, OFF(ignore), 0, 0, "COLS", NULL, NULL,
         "columns that are not features, separated by commas", 1},
        {"class-weight", TM_OPT_STRING, OFF(class_weight), 0, 0, "W", NULL, "none",
         "balanced (n / (K * n_k)), or w0,w1,... one per class", 1},
};

/* The two option sets of train: its own rows into a, the trainer's into a->o. */
static void train_sets(train_args *a, tm_cli_optset sets[2])
{
    size_t n;
    const tm_opt *rows = tm_train_opt_table(&n);
    sets[0] = (tm_cli_optset){cli_rows, sizeof cli_rows / sizeof cli_rows[0], a};
    sets[1] = (tm_cli_optset){rows, n, &a->o};
}

static void defaults(train_args *a)
{
    memset(a, 0, sizeof *a);
    tm_train_opts_init(&a->o);
    a->split = -1;
}

static void train_help(void)
{
    train_args a;
    tm_cli_optset sets[2];
    defaults(&a);
    train_sets(&a, sets);
    printf("usage: turbomode train --input TRAIN.csv --label COL --out MODEL [options]\n\n"
           "Trains gradient-boosted trees on a CSV: label, time, weight and ignored\n"
           "columns are not features; early stopping on the validation loss.\n\n");
    tm_cli_opts_help(stdout, 1, sets, 2);
    printf("\nexit status: 0 ok, 1 failure, 2 bad input or usage\n");
}

void tm_cli_train_options_markdown(FILE *out)
{
    train_args a;
    tm_cli_optset sets[2];
    defaults(&a);
    train_sets(&a, sets);
    tm_cli_opts_markdown(out, 1, sets, 2);
}

/* --class-weight: "balanced" or weights > 0 separated by commas. */
static bool class_weights(const char *s, tm_train_opts *o)
{
    if (strcmp(s, "balanced") == 0) {
        o->class_weight = TM_TRAIN_CW_BALANCED;
        return true;
    }
    o->class_weight = TM_TRAIN_CW_EXPLICIT;
    o->n_class_weights = 0;
    for (const char *p = s;; p++) {
        size_t len = strcspn(p, ",");
        double w;
        if (o->n_class_weights >= TM_TRAIN_MAX_CLASSES || !tm_parse_double(p, len, &w) ||
            !isfinite(w) || !(w > 0.0)) {
            return false;
        }
        o->class_weights[o->n_class_weights++] = w;
        p += len;
        if (!*p) {
            return true;
        }
    }
}

/* Rules between options, and what the trainer's table does not say. */
static int check_args(train_args *a)
{
    if (!a->input || !a->label || !a->out) {
        return tm_cli_usage_error("train", "--input, --label and --out are required");
    }
    if (a->class_weight && !class_weights(a->class_weight, &a->o)) {
        return tm_cli_usage_error("train",
                                  "--class-weight: expected balanced or weights > 0 separated "
                                  "by commas, found \"%s\"",
                                  a->class_weight);
    }
    /* One column, one role: a label read as times or weights is a mistake. */
    const char *dup = a->time_col && strcmp(a->time_col, a->label) == 0       ? "--time-column"
                      : a->weight_col && strcmp(a->weight_col, a->label) == 0 ? "--weight-column"
                                                                              : NULL;
    if (dup) {
        return tm_cli_usage_error(
                "train", "%s: expected a column other than --label's, found \"%s\"", dup, a->label);
    }
    if (a->time_col && a->weight_col && strcmp(a->time_col, a->weight_col) == 0) {
        return tm_cli_usage_error("train",
                                  "--weight-column: expected a column other than --time-column's, "
                                  "found \"%s\"",
                                  a->weight_col);
    }
    if (a->valid && a->valid_fraction > 0.0) {
        return tm_cli_usage_error("train", "--valid and --valid-fraction exclude each other");
    }
    if (a->split == SPLIT_TIME && !a->time_col) {
        return tm_cli_usage_error("train", "--split time needs --time-column");
    }
    if ((a->split >= 0 || a->time_col) && a->valid_fraction <= 0.0) {
        return tm_cli_usage_error("train", "--split and --time-column need --valid-fraction");
    }
    if (a->out_format == OUT_CATBOOST && a->o.growth != TM_TRAIN_OBLIVIOUS) {
        return tm_cli_usage_error("train", "--out-format catboost needs --growth oblivious");
    }
    if (a->o.num_leaves == 0 && a->o.growth == TM_TRAIN_LEAFWISE) {
        tm_train_opts d;
        tm_train_opts_init(&d);
        a->o.num_leaves = d.num_leaves; /* not given: depth bounds the other growths */
    }
    tm_err err;
    tm_err_init(&err);
    if (tm_train_opts_check(&a->o, &err) != TM_OK) {
        char msg[1024];
        return tm_cli_usage_error("train", "%s", tm_err_format(&err, msg, sizeof msg));
    }
    return 0;
}

/* Returns 0 to go on, -1 after --help, else the exit status. */
static int parse_args(int argc, char **argv, train_args *a)
{
    tm_cli_optset sets[2];
    defaults(a);
    a->o.num_leaves = 0; /* 0 after parsing: not given */
    train_sets(a, sets);
    int n_pos = 0;
    int rc = tm_cli_opts_parse("train", 1, sets, 2, argc, argv, NULL, 0, &n_pos);
    if (rc == 0) {
        train_help();
        return -1;
    }
    return rc > 0 ? rc : check_args(a);
}

/* The columns of the input and what each one is. */
typedef struct layout {
    long label, time, weight;
    size_t n_feat;
    long *feat;         /* feature columns of the input */
    const char **names; /* their names (borrowed from the CSV) */
} layout;

static tm_status find_col(const tm_csv *csv, const char *name, const char *path, const char *what,
                          long *col, tm_err *err)
{
    *col = tm_csv_col(csv, name);
    if (*col < 0) {
        return TM_ERR(err, TM_E_INVALID, path, 1, name,
                      "expected %s %s column named '%s' in the header, found none",
                      what[0] == 'i' ? "an" : "a", what, name);
    }
    return TM_OK;
}

static bool ignored(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, name, n) == 0) {
            return true;
        }
        p += len + (p[len] == ',');
    }
    return false;
}

static tm_status make_layout(const train_args *a, const tm_csv *csv, layout *L, tm_err *err)
{
    memset(L, 0, sizeof *L);
    L->time = L->weight = -1;
    tm_status st = find_col(csv, a->label, a->input, "label", &L->label, err);
    if (st == TM_OK && a->time_col) {
        st = find_col(csv, a->time_col, a->input, "time", &L->time, err);
    }
    if (st == TM_OK && a->weight_col) {
        st = find_col(csv, a->weight_col, a->input, "weight", &L->weight, err);
    }
    for (const char *p = a->ignore; st == TM_OK && p && *p;) {
        size_t len = strcspn(p, ",");
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(len < 255 ? len : 255), p);
        long col;
        st = find_col(csv, name, a->input, "ignored", &col, err);
        p += len + (p[len] == ',');
    }
    if (st != TM_OK) {
        return st;
    }
    L->feat = tm_malloc_n(csv->n_cols + 1, sizeof *L->feat);
    L->names = tm_malloc_n(csv->n_cols + 1, sizeof *L->names);
    if (!L->feat || !L->names) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    for (size_t j = 0; j < csv->n_cols; j++) {
        long c = (long)j;
        if (c != L->label && c != L->time && c != L->weight && !ignored(a->ignore, csv->names[j])) {
            L->feat[L->n_feat] = c;
            L->names[L->n_feat++] = csv->names[j];
        }
    }
    if (L->n_feat == 0) {
        return TM_ERR(err, TM_E_INVALID, a->input, 1, NULL,
                      "expected at least one feature column, found none");
    }
    return TM_OK;
}

/* Copies the rows with sel[r] == want (sel NULL: all) into a data set;
 * col maps the layout's columns to this CSV's columns. */
typedef struct part {
    tm_train_data d;
    double *x, *y, *w;
    long *line;
} part;

static tm_status take_rows(const tm_csv *csv, const layout *L, const long *col, long label,
                           long weight, const uint8_t *sel, uint8_t want, const char *path, part *p,
                           tm_err *err)
{
    size_t n = 0, nf = L->n_feat;
    for (size_t r = 0; r < csv->n_rows; r++) {
        n += !sel || sel[r] == want;
    }
    p->x = tm_malloc_n(n * nf + 1, sizeof *p->x);
    p->y = tm_malloc_n(n + 1, sizeof *p->y);
    p->w = weight >= 0 ? tm_malloc_n(n + 1, sizeof *p->w) : NULL;
    p->line = tm_malloc_n(n + 1, sizeof *p->line);
    if (!p->x || !p->y || !p->line || (weight >= 0 && !p->w)) {
        return TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory for %zu rows", n);
    }
    size_t i = 0;
    for (size_t r = 0; r < csv->n_rows; r++) {
        if (sel && sel[r] != want) {
            continue;
        }
        const double *src = csv->values + r * csv->n_cols;
        for (size_t j = 0; j < nf; j++) {
            p->x[i * nf + j] = src[col[j]];
        }
        p->y[i] = src[label];
        if (p->w) {
            p->w[i] = src[weight];
        }
        p->line[i++] = (long)r + 2; /* header is line 1 */
    }
    p->d = (tm_train_data){n, nf, nf, p->x, NULL, p->y, p->w, path, NULL, p->line};
    return TM_OK;
}

static void part_free(part *p)
{
    tm_free(p->x);
    tm_free(p->y);
    tm_free(p->w);
    tm_free(p->line);
}

static void progress(void *ctx, const tm_train_progress *p)
{
    (void)ctx;
    fprintf(stderr, "round %d/%d train_loss=%.6f", p->round, p->max_rounds, p->train_loss);
    if (!isnan(p->valid_loss)) {
        fprintf(stderr, " valid_loss=%.6f best=%d", p->valid_loss, p->best_iteration + 1);
    }
    fprintf(stderr, " elapsed=%.1fs\n", p->elapsed);
}

/* Maps the layout's columns to those of another CSV (--valid) by name. */
static tm_status map_valid(const train_args *a, const layout *L, const tm_csv *v, long *col,
                           long *label, long *weight, tm_err *err)
{
    tm_status st = find_col(v, a->label, a->valid, "label", label, err);
    *weight = -1;
    if (st == TM_OK && a->weight_col) {
        st = find_col(v, a->weight_col, a->valid, "weight", weight, err);
    }
    for (size_t j = 0; st == TM_OK && j < L->n_feat; j++) {
        st = find_col(v, L->names[j], a->valid, "feature", &col[j], err);
    }
    return st;
}

/* Training and validation rows: from --valid, a fraction, or none. */
static tm_status make_parts(const train_args *a, const tm_csv *csv, const layout *L, part *tr,
                            part *va, bool *has_valid, tm_err *err)
{
    tm_csv *v = NULL;
    uint8_t *sel = NULL;
    double *times = NULL;
    long *vcol = tm_malloc_n(L->n_feat + 1, sizeof *vcol);
    tm_status st = vcol ? TM_OK : TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    *has_valid = a->valid || a->valid_fraction > 0.0;
    if (st == TM_OK && a->valid) {
        long vl, vw;
        st = tm_csv_load(a->valid, &v, err);
        if (st == TM_OK) {
            st = map_valid(a, L, v, vcol, &vl, &vw, err);
        }
        if (st == TM_OK) {
            st = take_rows(v, L, vcol, vl, vw, NULL, 0, a->valid, va, err);
        }
    } else if (st == TM_OK && a->valid_fraction > 0.0) {
        bool by_time = a->time_col && a->split != SPLIT_RANDOM;
        sel = tm_malloc_n(csv->n_rows + 1, 1);
        times = by_time ? tm_malloc_n(csv->n_rows + 1, sizeof *times) : NULL;
        if (!sel || (by_time && !times)) {
            st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
        }
        for (size_t r = 0; st == TM_OK && by_time && r < csv->n_rows; r++) {
            times[r] = csv->values[r * csv->n_cols + (size_t)L->time];
            if (isnan(times[r])) {
                st = TM_ERR(err, TM_E_INVALID, a->input, (long)r + 2, a->time_col,
                            "expected a time value, found nan");
            }
        }
        if (st == TM_OK) {
            st = tm_train_split(csv->n_rows, a->valid_fraction, times, a->o.seed, sel, err);
        }
        if (st == TM_OK) {
            st = take_rows(csv, L, L->feat, L->label, L->weight, sel, 1, a->input, va, err);
        }
    }
    if (st == TM_OK) {
        st = take_rows(csv, L, L->feat, L->label, L->weight, sel, 0, a->input, tr, err);
    }
    tr->d.label_name = va->d.label_name = a->label;
    tm_csv_free(v);
    tm_free(sel);
    tm_free(times);
    tm_free(vcol);
    return st;
}

int tm_cli_train(int argc, char **argv)
{
    train_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    tm_err err;
    tm_err_init(&err);
    tm_csv *csv = NULL;
    layout L;
    memset(&L, 0, sizeof L);
    part tr, va;
    memset(&tr, 0, sizeof tr);
    memset(&va, 0, sizeof va);
    tm_forest *f = NULL;
    tm_train_metrics m;
    bool has_valid = false;
    /* Every output location is checked before the work; all are written
     * or none (staged, then renamed together). */
    tm_outputs outs;
    tm_outputs_init(&outs);
    const char *out_path = NULL, *metrics_path = NULL;
    if ((rc = tm_cli_outputs_add("train", "out", &outs, a.out, &out_path)) >= 0) {
        return rc;
    }
    if (a.metrics &&
        (rc = tm_cli_outputs_add("train", "metrics-json", &outs, a.metrics, &metrics_path)) >= 0) {
        tm_outputs_abort(&outs, NULL);
        return rc;
    }
    tm_status st = tm_csv_load(a.input, &csv, &err);
    if (st == TM_OK) {
        st = make_layout(&a, csv, &L, &err);
    }
    if (st == TM_OK) {
        st = make_parts(&a, csv, &L, &tr, &va, &has_valid, &err);
    }
    if (st == TM_OK) {
        a.o.feature_names = L.names;
        if (tm_cli_progress_enabled()) {
            a.o.progress = progress;
        }
        st = tm_train_fit(&a.o, &tr.d, has_valid ? &va.d : NULL, &f, &m, &err);
    }
    if (st == TM_OK) {
        static const tm_forest_format formats[] = {TM_FOREST_FORMAT_LIGHTGBM,
                                                   TM_FOREST_FORMAT_XGBOOST_JSON,
                                                   TM_FOREST_FORMAT_CATBOOST_JSON};
        st = tm_forest_save(f, formats[a.out_format], out_path, &err);
    }
    if (st == TM_OK && a.metrics) {
        st = tm_train_metrics_save(&m, metrics_path, &err);
    }
    if (st == TM_OK) {
        st = tm_outputs_commit(&outs, &err);
    } else {
        tm_outputs_abort(&outs, &err);
    }
    if (st == TM_OK) {
        printf("rounds=%d best_iteration=%d trees=%ld train_loss=%.6f", m.rounds, m.best_iteration,
               m.n_trees, m.train_loss);
        if (m.has_valid) {
            printf(" valid_loss=%.6f", m.valid_loss);
        }
        if (m.n_classes > 0) {
            printf(" %s_accuracy=%.4f", m.has_valid ? "valid" : "train",
                   m.has_valid ? m.valid_accuracy : m.train_accuracy);
        }
        printf(" seconds=%.2f model=%s\n", m.seconds, a.out);
    }
    rc = st == TM_OK ? 0 : tm_cli_report(&err);
    tm_forest_free(f);
    part_free(&tr);
    part_free(&va);
    tm_free(L.feat);
    tm_free(L.names);
    tm_csv_free(csv);
    return rc;
}
