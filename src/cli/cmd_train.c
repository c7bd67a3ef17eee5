/* turbomode train: the training contract of DESIGN.md. Reads a CSV, takes
 * the label (and the time, weight and ignored columns) out of the
 * features, picks validation rows (a file, or a random or time-ordered
 * fraction), trains, and writes the model and the metrics JSON
 * atomically, so that a failure leaves nothing at --out. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbomode/forest.h>
#include <turbomode/train.h>

#include "cli/cli.h"

static void train_help(void)
{
    printf("usage: turbomode train --input TRAIN.csv --label COL --out MODEL [options]\n\n"
           "Trains gradient-boosted trees on a CSV (header row; empty/nan = missing).\n\n"
           "  --valid VALID.csv         validation rows from a file (same columns), or\n"
           "  --valid-fraction F        hold out a fraction of the input:\n"
           "  --split random|time       random rows, or the latest times (default: time\n"
           "  --time-column COL         when --time-column is given; the time column is\n"
           "                            never a feature)\n"
           "  --objective O             multiclass (default), binary, regression\n"
           "  --num-class K             classes (default: max label + 1)\n"
           "  --class-weight W          balanced, or w0,w1,... one per class\n"
           "  --weight-column COL       per-row weights (not a feature)\n"
           "  --ignore COL,COL          columns that are not features\n"
           "  --growth G                leafwise (default), depthwise, oblivious\n"
           "  --num-leaves N            31 (leafwise); a cap for the others (default none)\n"
           "  --max-depth D             -1 = none (leafwise); 6 for depthwise/oblivious\n"
           "  --learning-rate R         0.05\n"
           "  --max-rounds N            1000\n"
           "  --early-stopping N        50 rounds of patience on the validation loss (0 off)\n"
           "  --max-bin N               255\n"
           "  --lambda L                1.0 (L2 on leaf values)\n"
           "  --min-data-in-leaf N      20\n"
           "  --min-sum-hessian H       0.001\n"
           "  --min-gain G              0\n"
           "  --subsample F             1.0 (rows per round)\n"
           "  --colsample F             1.0 (features per tree)\n"
           "  --seed S                  1\n"
           "  --threads N               worker threads (default: all cores)\n"
           "  --out MODEL               written atomically\n"
           "  --out-format F            lightgbm (default), xgboost, catboost (oblivious only)\n"
           "  --metrics-json FILE       best_iteration, rounds, losses, accuracy, per-class\n"
           "                            precision/recall/f1, confusion matrix, seconds\n"
           "  --progress-every N        progress line every N rounds (terminal only; 10)\n\n"
           "exit status: 0 ok, 1 failure, 2 bad input or usage\n");
}

typedef struct train_args {
    const char *input, *label, *valid, *time_col, *weight_col, *ignore, *out, *metrics;
    const char *split;
    double valid_fraction;
    tm_forest_format out_format;
    tm_train_opts o;
} train_args;

static int bad(const char *opt, const char *arg, const char *what)
{
    return tm_cli_usage_error("train", "--%s: expected %s, found '%s'", opt, what, arg);
}

static bool to_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi) {
        return false;
    }
    *out = (int)v;
    return true;
}

static bool d_in01(double v)
{
    return v > 0.0 && v <= 1.0;
}

static bool to_num(const char *s, double *out)
{
    char *end;
    *out = strtod(s, &end);
    return *s && !*end && isfinite(*out);
}

/* --class-weight: "balanced" or a comma list. */
static bool class_weights(const char *s, tm_train_opts *o)
{
    if (strcmp(s, "balanced") == 0) {
        o->class_weight = TM_TRAIN_CW_BALANCED;
        return true;
    }
    o->class_weight = TM_TRAIN_CW_EXPLICIT;
    o->n_class_weights = 0;
    const char *p = s;
    while (*p) {
        char *end;
        double w = strtod(p, &end);
        if (end == p || o->n_class_weights >= TM_TRAIN_MAX_CLASSES || !(w > 0.0)) {
            return false;
        }
        o->class_weights[o->n_class_weights++] = w;
        p = *end == ',' ? end + 1 : end;
        if (*end && *end != ',') {
            return false;
        }
    }
    return o->n_class_weights > 0;
}

static int pick(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(s, names[i]) == 0) {
            return i;
        }
    }
    return -1;
}

static int parse_value(int c, const char *v, const char *name, train_args *a)
{
    static const char *const objs[] = {"multiclass", "binary", "regression"};
    static const char *const grows[] = {"leafwise", "depthwise", "oblivious"};
    tm_train_opts *o = &a->o;
    int i;
    double d;
    bool ok = true;
    switch (c) {
    case 'o':
        ok = (i = pick(v, objs, 3)) >= 0;
        o->objective = (tm_train_objective)i;
        break;
    case 'g':
        ok = (i = pick(v, grows, 3)) >= 0;
        o->growth = (tm_train_growth)i;
        break;
    case 'K':
        ok = to_int(v, 2, TM_TRAIN_MAX_CLASSES, &o->num_class);
        break;
    case 'w':
        ok = class_weights(v, o);
        break;
    case 'L':
        ok = to_int(v, 0, 1 << 20, &o->num_leaves);
        break;
    case 'D':
        ok = to_int(v, -1, 30, &o->max_depth);
        break;
    case 'r':
        ok = to_num(v, &o->learning_rate) && o->learning_rate > 0.0;
        break;
    case 'R':
        ok = to_int(v, 1, 1000000, &o->max_rounds);
        break;
    case 'E':
        ok = to_int(v, 0, 1000000, &o->early_stopping);
        break;
    case 'B':
        ok = to_int(v, 2, 255, &o->max_bin);
        break;
    case 'l':
        ok = to_num(v, &o->lambda_l2) && o->lambda_l2 >= 0.0;
        break;
    case 'm':
        ok = to_int(v, 1, 1 << 30, &o->min_data_in_leaf);
        break;
    case 'H':
        ok = to_num(v, &o->min_sum_hessian_in_leaf) && o->min_sum_hessian_in_leaf >= 0;
        break;
    case 'G':
        ok = to_num(v, &o->min_gain_to_split) && o->min_gain_to_split >= 0.0;
        break;
    case 'S':
        ok = to_num(v, &o->row_subsample) && d_in01(o->row_subsample);
        break;
    case 'C':
        ok = to_num(v, &o->col_subsample) && d_in01(o->col_subsample);
        break;
    case 's':
        ok = to_num(v, &d) && d >= 0 && d < 1.8e19;
        o->seed = (uint64_t)d;
        break;
    case 'T':
        ok = to_int(v, 1, 1024, &o->n_threads);
        break;
    case 'P':
        ok = to_int(v, 1, 1000000, &o->progress_every);
        break;
    case 'f':
        ok = to_num(v, &a->valid_fraction) && a->valid_fraction > 0 && a->valid_fraction < 1;
        break;
    case 'F':
        ok = strcmp(v, "lightgbm") == 0 || strcmp(v, "xgboost") == 0 || strcmp(v, "catboost") == 0;
        a->out_format = v[0] == 'l'   ? TM_FOREST_FORMAT_LIGHTGBM
                        : v[0] == 'x' ? TM_FOREST_FORMAT_XGBOOST_JSON
                                      : TM_FOREST_FORMAT_CATBOOST_JSON;
        break;
    case 'p':
        ok = strcmp(v, "random") == 0 || strcmp(v, "time") == 0;
        a->split = v;
        break;
    default:
        break;
    }
    return ok ? 0 : bad(name, v, "a valid value (see --help)");
}

static int parse_args(int argc, char **argv, train_args *a)
{
    enum { O_INPUT = 256, O_LABEL, O_VALID, O_TIME, O_WEIGHT, O_IGNORE, O_OUT, O_METRICS, O_HELP };
    static const struct option opts[] = {{"input", required_argument, 0, O_INPUT},
                                         {"label", required_argument, 0, O_LABEL},
                                         {"valid", required_argument, 0, O_VALID},
                                         {"valid-fraction", required_argument, 0, 'f'},
                                         {"split", required_argument, 0, 'p'},
                                         {"time-column", required_argument, 0, O_TIME},
                                         {"objective", required_argument, 0, 'o'},
                                         {"num-class", required_argument, 0, 'K'},
                                         {"class-weight", required_argument, 0, 'w'},
                                         {"weight-column", required_argument, 0, O_WEIGHT},
                                         {"ignore", required_argument, 0, O_IGNORE},
                                         {"growth", required_argument, 0, 'g'},
                                         {"num-leaves", required_argument, 0, 'L'},
                                         {"max-depth", required_argument, 0, 'D'},
                                         {"learning-rate", required_argument, 0, 'r'},
                                         {"max-rounds", required_argument, 0, 'R'},
                                         {"early-stopping", required_argument, 0, 'E'},
                                         {"max-bin", required_argument, 0, 'B'},
                                         {"lambda", required_argument, 0, 'l'},
                                         {"min-data-in-leaf", required_argument, 0, 'm'},
                                         {"min-sum-hessian", required_argument, 0, 'H'},
                                         {"min-gain", required_argument, 0, 'G'},
                                         {"subsample", required_argument, 0, 'S'},
                                         {"colsample", required_argument, 0, 'C'},
                                         {"seed", required_argument, 0, 's'},
                                         {"threads", required_argument, 0, 'T'},
                                         {"out", required_argument, 0, O_OUT},
                                         {"out-format", required_argument, 0, 'F'},
                                         {"metrics-json", required_argument, 0, O_METRICS},
                                         {"progress-every", required_argument, 0, 'P'},
                                         {"help", no_argument, 0, O_HELP},
                                         {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    tm_train_opts_init(&a->o);
    a->out_format = TM_FOREST_FORMAT_LIGHTGBM;
    bool leaves_set = false;
    opterr = 0;
    optind = 1;
    int c, idx = 0;
    while ((c = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
        switch (c) {
        case O_INPUT:
            a->input = optarg;
            break;
        case O_LABEL:
            a->label = optarg;
            break;
        case O_VALID:
            a->valid = optarg;
            break;
        case O_TIME:
            a->time_col = optarg;
            break;
        case O_WEIGHT:
            a->weight_col = optarg;
            break;
        case O_IGNORE:
            a->ignore = optarg;
            break;
        case O_OUT:
            a->out = optarg;
            break;
        case O_METRICS:
            a->metrics = optarg;
            break;
        case 'h':
        case O_HELP:
            train_help();
            return -1;
        case '?':
        case ':':
            return tm_cli_usage_error("train", "unknown or incomplete option '%s'",
                                      argv[optind - 1]);
        default: {
            int rc = parse_value(c, optarg, opts[idx].name, a);
            if (rc != 0) {
                return rc;
            }
            leaves_set = leaves_set || c == 'L';
        }
        }
    }
    if (optind < argc) {
        return tm_cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    }
    if (!a->input || !a->label || !a->out) {
        return tm_cli_usage_error("train", "--input, --label and --out are required");
    }
    if (a->valid && a->valid_fraction > 0.0) {
        return tm_cli_usage_error("train", "--valid and --valid-fraction exclude each other");
    }
    if (a->split && strcmp(a->split, "time") == 0 && !a->time_col) {
        return tm_cli_usage_error("train", "--split time needs --time-column");
    }
    if ((a->split || a->time_col) && a->valid_fraction <= 0.0) {
        return tm_cli_usage_error("train", "--split and --time-column need --valid-fraction");
    }
    if (a->out_format == TM_FOREST_FORMAT_CATBOOST_JSON && a->o.growth != TM_TRAIN_OBLIVIOUS) {
        return tm_cli_usage_error("train", "--out-format catboost needs --growth oblivious");
    }
    if (!leaves_set && a->o.growth != TM_TRAIN_LEAFWISE) {
        a->o.num_leaves = 0; /* depth bounds depth-wise and oblivious trees */
    }
    return 0;
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
                      "expected a %s column named '%s' in the header, found none", what, name);
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
        bool by_time = a->time_col && !(a->split && strcmp(a->split, "random") == 0);
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
    tm_status st = tm_outputs_add(&outs, a.out, &out_path, &err);
    if (st == TM_OK && a.metrics) {
        st = tm_outputs_add(&outs, a.metrics, &metrics_path, &err);
    }
    if (st == TM_OK) {
        st = tm_csv_load(a.input, &csv, &err);
    }
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
        st = tm_forest_save(f, a.out_format, out_path, &err);
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
