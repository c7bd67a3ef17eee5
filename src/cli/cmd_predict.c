/* turbomode predict: the offline batch contract of DESIGN.md. Loads a
 * model, reads a CSV (columns by name when the model has names and the
 * header has them all; a header with only some of them is refused; by
 * position when the model or the header has no names: bind_columns),
 * predicts, and writes the output through core's output rules (files
 * replaced atomically, so a failure leaves nothing at --output; devices,
 * FIFOs and '-' written in place). */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <turbomode/forest.h>

#include "cli/cli.h"

static void predict_help(void)
{
    printf("usage: turbomode predict --model PATH --input IN.csv --output OUT.csv [options]\n\n"
           "Scores every row of IN.csv with a tree model and writes one output row per\n"
           "input row.\n\n"
           "  --model PATH          XGBoost (.json, .ubj, dumps), LightGBM model.txt or\n"
           "                        CatBoost JSON model\n"
           "  --format F            auto (default), xgboost, lightgbm, catboost, or an exact\n"
           "                        format: xgboost-json, xgboost-ubjson, xgboost-dump-json,\n"
           "                        xgboost-dump-text, catboost-json\n"
           "  --input IN.csv        header row; empty/nan/NaN = missing; inf/-inf parse\n"
           "  --output OUT.csv      a file is replaced atomically (temporary file + rename),\n"
           "                        a symlink's target likewise; a device or FIFO is\n"
           "                        written in place; '-' is stdout\n"
           "  --margin              raw scores before the link function\n"
           "  --output-type T       probability | class | exponent | margin | value\n"
           "  --iteration-range A:B use only boosting rounds A..B-1 (XGBoost's\n"
           "                        iteration_range; a round is num_class x\n"
           "                        num_parallel_tree trees; B = 0: to the last round)\n"
           "  --best-iteration      rounds 0..best: the best iteration the model stores\n"
           "                        (XGBoost's best_iteration); refused when it stores none\n"
           "  --compiled SO         sum the trees with a build of `turbomode compile`\n"
           "                        of the same model (cc -O2 -shared -fPIC); refused\n"
           "                        when built from another model\n"
           "  --threads N           worker threads (default: all cores)\n"
           "  --timings             print phase=NAME seconds=S lines to stderr\n"
           "  --verbose             say on stderr how columns were matched (by name or by\n"
           "                        position) and which rounds were used\n"
           "  --objective NAME      dumps only: the objective (e.g. binary:logistic)\n"
           "  --base-score B        dumps only: the base score (default 0.5)\n"
           "  --num-class K         dumps only: number of classes (multiclass)\n\n"
           "exit status: 0 ok, 1 failure, 2 bad input (a one-line message names the file,\n"
           "line or field, and the reason)\n");
}

typedef struct predict_args {
    const char *model, *input, *output, *format, *objective, *compiled;
    tm_forest_output kind;
    int threads;
    bool timings;
    bool has_base_score;
    double base_score;
    int num_class;
    bool has_range, best; /* --iteration-range, --best-iteration */
    bool verbose;
    int32_t range_begin, range_end;
} predict_args;

/* Parses "A:B", two non-negative round numbers with A <= B or B == 0. */
static bool parse_range(const char *s, int32_t *begin, int32_t *end)
{
    char *e1 = NULL, *e2 = NULL;
    if (*s < '0' || *s > '9') {
        return false;
    }
    long a = strtol(s, &e1, 10);
    if (*e1 != ':' || e1[1] < '0' || e1[1] > '9') {
        return false;
    }
    long b = strtol(e1 + 1, &e2, 10);
    if (*e2 || a > INT32_MAX || b > INT32_MAX || (b != 0 && a > b)) {
        return false;
    }
    *begin = (int32_t)a;
    *end = (int32_t)b;
    return true;
}

static int parse_kind(const char *s, tm_forest_output *kind)
{
    static const struct {
        const char *name;
        tm_forest_output kind;
    } kinds[] = {{"probability", TM_FOREST_OUT_PROBABILITY},
                 {"class", TM_FOREST_OUT_CLASS},
                 {"exponent", TM_FOREST_OUT_EXPONENT},
                 {"margin", TM_FOREST_OUT_MARGIN},
                 {"raw", TM_FOREST_OUT_MARGIN},
                 {"value", TM_FOREST_OUT_VALUE},
                 {"default", TM_FOREST_OUT_DEFAULT}};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(s, kinds[i].name) == 0) {
            *kind = kinds[i].kind;
            return 0;
        }
    }
    return -1;
}

static int parse_args(int argc, char **argv, predict_args *a)
{
    enum {
        O_MODEL = 256,
        O_FORMAT,
        O_INPUT,
        O_OUTPUT,
        O_MARGIN,
        O_TYPE,
        O_THREADS,
        O_TIMINGS,
        O_OBJECTIVE,
        O_BASE,
        O_NCLASS,
        O_RANGE,
        O_BEST,
        O_VERBOSE,
        O_COMPILED,
        O_HELP
    };
    static const struct option opts[] = {{"model", required_argument, 0, O_MODEL},
                                         {"format", required_argument, 0, O_FORMAT},
                                         {"input", required_argument, 0, O_INPUT},
                                         {"output", required_argument, 0, O_OUTPUT},
                                         {"margin", no_argument, 0, O_MARGIN},
                                         {"output-type", required_argument, 0, O_TYPE},
                                         {"threads", required_argument, 0, O_THREADS},
                                         {"timings", no_argument, 0, O_TIMINGS},
                                         {"objective", required_argument, 0, O_OBJECTIVE},
                                         {"base-score", required_argument, 0, O_BASE},
                                         {"num-class", required_argument, 0, O_NCLASS},
                                         {"iteration-range", required_argument, 0, O_RANGE},
                                         {"best-iteration", no_argument, 0, O_BEST},
                                         {"verbose", no_argument, 0, O_VERBOSE},
                                         {"compiled", required_argument, 0, O_COMPILED},
                                         {"help", no_argument, 0, O_HELP},
                                         {0, 0, 0, 0}};
    memset(a, 0, sizeof *a);
    a->format = "auto";
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end = NULL;
        long n = 0;
        switch (c) {
        case O_MODEL:
            a->model = optarg;
            break;
        case O_FORMAT:
            a->format = optarg;
            break;
        case O_INPUT:
            a->input = optarg;
            break;
        case O_OUTPUT:
            a->output = optarg;
            break;
        case O_MARGIN:
            a->kind = TM_FOREST_OUT_MARGIN;
            break;
        case O_TIMINGS:
            a->timings = true;
            break;
        case O_OBJECTIVE:
            a->objective = optarg;
            break;
        case O_TYPE:
            if (parse_kind(optarg, &a->kind) != 0) {
                return tm_cli_usage_error("predict", "--output-type: unknown type '%s'", optarg);
            }
            break;
        case O_THREADS:
            n = strtol(optarg, &end, 10); /* range-checked before narrowing */
            a->threads = (int)n;
            if (!*optarg || *end || n < 1 || n > 1024) {
                return tm_cli_usage_error("predict", "--threads: expected 1..1024, found '%s'",
                                          optarg);
            }
            break;
        case O_BASE:
            a->base_score = strtod(optarg, &end);
            if (!*optarg || *end) {
                return tm_cli_usage_error("predict", "--base-score: expected a number, found '%s'",
                                          optarg);
            }
            a->has_base_score = true;
            break;
        case O_NCLASS:
            n = strtol(optarg, &end, 10);
            a->num_class = (int)n;
            if (!*optarg || *end || n < 0 || n > 256) {
                return tm_cli_usage_error("predict", "--num-class: expected 0..256, found '%s'",
                                          optarg);
            }
            break;
        case O_RANGE:
            if (!parse_range(optarg, &a->range_begin, &a->range_end)) {
                return tm_cli_usage_error("predict",
                                          "--iteration-range: expected A:B with 0 <= A <= B "
                                          "(B = 0: to the last round), found '%s'",
                                          optarg);
            }
            a->has_range = true;
            break;
        case O_BEST:
            a->best = true;
            break;
        case O_VERBOSE:
            a->verbose = true;
            break;
        case O_COMPILED:
            a->compiled = optarg;
            break;
        case 'h':
        case O_HELP:
            predict_help();
            return -1;
        default:
            return tm_cli_usage_error("predict", "unknown or incomplete option '%s'",
                                      argv[optind - 1]);
        }
    }
    if (optind < argc) {
        return tm_cli_usage_error("predict", "unexpected argument '%s'", argv[optind]);
    }
    if (!a->model || !a->input || !a->output) {
        return tm_cli_usage_error("predict", "--model, --input and --output are required");
    }
    if (a->has_range && a->best) {
        return tm_cli_usage_error("predict",
                                  "--iteration-range and --best-iteration exclude each other");
    }
    if (a->compiled && (a->has_range || a->best)) {
        return tm_cli_usage_error("predict", "--compiled sums every tree of the model: it "
                                             "excludes --iteration-range and --best-iteration");
    }
    return 0;
}

/* Header for output column k of n. */
static void column_name(tm_forest_output kind, size_t k, size_t n, char *buf, size_t len)
{
    const char *base = kind == TM_FOREST_OUT_MARGIN        ? "m"
                       : kind == TM_FOREST_OUT_PROBABILITY ? "p"
                       : kind == TM_FOREST_OUT_CLASS       ? "class"
                                                           : "value";
    if (n == 1) {
        snprintf(buf, len, "%s", base);
    } else {
        snprintf(buf, len, "%s%zu", base, k);
    }
}

static tm_status write_output(const tm_forest *f, tm_forest_output kind, const double *out,
                              size_t n_rows, const char *path, tm_err *err)
{
    tm_atomic a;
    tm_status st = tm_atomic_open(&a, path, err);
    if (st != TM_OK) {
        return st;
    }
    FILE *fp = a.fp;
    kind = kind == TM_FOREST_OUT_DEFAULT ? tm_forest_default_output(f) : kind;
    size_t w = tm_forest_output_len(f, kind);
    char name[32];
    for (size_t k = 0; k < w; k++) {
        column_name(kind, k, w, name, sizeof name);
        fprintf(fp, k ? ",%s" : "%s", name);
    }
    fputc('\n', fp);
    for (size_t r = 0; r < n_rows; r++) {
        for (size_t k = 0; k < w; k++) {
            double v = out[r * w + k];
            if (k) {
                fputc(',', fp);
            }
            const char *label =
                    kind == TM_FOREST_OUT_CLASS ? tm_forest_class_name(f, (int)v) : NULL;
            if (label) {
                fputs(label, fp);
            } else if (kind == TM_FOREST_OUT_CLASS) {
                fprintf(fp, "%d", (int)v);
            } else {
                fprintf(fp, "%.17g", v);
            }
        }
        fputc('\n', fp);
    }
    return tm_atomic_commit(&a, err); /* reports a failed write with its reason */
}

/* Binds each model feature to a CSV column. A model that stores names is
 * matched by name when the header holds every one of them (other columns
 * are ignored); a header holding some but not all of them, or one of them
 * twice, is refused, since binding it by position would be a guess. A
 * model without names, or a header with none of them, is matched by
 * position and must have exactly the model's column count. */
static tm_status bind_columns(const tm_forest *f, const tm_csv *csv, const char *path, long *col,
                              bool *by_name, tm_err *err)
{
    size_t nf = (size_t)tm_forest_n_features(f), n_found = 0, first_missing = nf;
    *by_name = nf > 0 && tm_forest_feature_name(f, 0) != NULL;
    for (size_t j = 0; *by_name && j < nf; j++) {
        const char *name = tm_forest_feature_name(f, (int)j);
        col[j] = name ? tm_csv_col(csv, name) : -1;
        if (col[j] < 0) {
            first_missing = first_missing < nf ? first_missing : j;
            continue;
        }
        n_found++;
        for (size_t k = (size_t)col[j] + 1; k < csv->n_cols; k++) {
            if (strcmp(csv->names[k], name) == 0) {
                return TM_ERR(err, TM_E_INVALID, path, 1, name,
                              "expected one column named like the model's feature %zu, found "
                              "columns %ld and %zu",
                              j, col[j] + 1, k + 1);
            }
        }
    }
    if (*by_name && n_found == nf) {
        return TM_OK;
    }
    if (*by_name && n_found > 0) {
        const char *name = tm_forest_feature_name(f, (int)first_missing);
        return TM_ERR(err, TM_E_INVALID, path, 1, NULL,
                      "expected every feature the model names in the header, missing '%s' "
                      "(feature %zu; %zu of %zu found)",
                      name ? name : "?", first_missing, n_found, nf);
    }
    *by_name = false;
    if (csv->n_cols != nf) {
        return TM_ERR(err, TM_E_INVALID, path, 1, NULL,
                      "expected %zu columns (the model's features, matched by position), found %zu",
                      nf, csv->n_cols);
    }
    for (size_t j = 0; j < nf; j++) {
        col[j] = (long)j;
    }
    return TM_OK;
}

/* Builds the model's feature matrix from the CSV (see bind_columns). */
static tm_status map_columns(const tm_forest *f, const tm_csv *csv, const char *path, double **out,
                             bool *by_name, tm_err *err)
{
    size_t nf = (size_t)tm_forest_n_features(f);
    long *col = tm_malloc_n(nf + 1, sizeof *col);
    if (!col) {
        return TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory");
    }
    tm_status st = bind_columns(f, csv, path, col, by_name, err);
    double *X = st == TM_OK ? tm_malloc_n(csv->n_rows * nf + 1, sizeof *X) : NULL;
    if (st == TM_OK && !X) {
        st = TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory for %zu rows", csv->n_rows);
    }
    for (size_t r = 0; st == TM_OK && r < csv->n_rows; r++) {
        const double *src = csv->values + r * csv->n_cols;
        for (size_t j = 0; j < nf; j++) {
            X[r * nf + j] = src[col[j]];
        }
    }
    tm_free(col);
    *out = X;
    return st;
}

/* Checks --format's family words against what was loaded. */
static tm_status check_family(const tm_forest *f, const char *format, const char *path, tm_err *err)
{
    const char *fam = tm_forest_family_name(tm_forest_get_family(f));
    if (strcmp(format, "xgboost") == 0 && strcmp(fam, "xgboost") != 0) {
        return TM_ERR(err, TM_E_FORMAT, path, 0, NULL, "expected an xgboost model, found %s", fam);
    }
    return TM_OK;
}

/* Why a model stores no best iteration, per family and format. */
static const char *no_best_reason(const tm_forest *f)
{
    tm_forest_info in;
    tm_forest_get_info(f, &in);
    switch (in.family) {
    case TM_FOREST_LIGHTGBM:
        return "LightGBM's model.txt has no such field (a model saved after early stopping "
               "already ends at its best iteration)";
    case TM_FOREST_CATBOOST:
        return "none is read from CatBoost JSON (with use_best_model, the default with an "
               "eval set, the model is saved cut at its best iteration)";
    default:
        return strncmp(in.format_name, "xgboost-dump", 12) == 0
                       ? "a dump carries no attributes"
                       : "no learner.attributes.best_iteration in the model";
    }
}

/* Replaces *f by the rounds --iteration-range or --best-iteration ask for. */
static tm_status apply_rounds(tm_forest **f, const predict_args *a, tm_err *err)
{
    int32_t begin = a->range_begin, end = a->range_end;
    int32_t n = tm_forest_n_iterations(*f);
    if (a->best) {
        int32_t best = tm_forest_best_iteration(*f);
        if (best < 0) {
            return TM_ERR(err, TM_E_INVALID, a->model, 0, "--best-iteration",
                          "the model stores no best iteration: %s", no_best_reason(*f));
        }
        if (best >= n) {
            return TM_ERR(err, TM_E_RANGE, a->model, 0, "best_iteration",
                          "expected a round below %d (the model's rounds), found %d", n, best);
        }
        begin = 0;
        end = best + 1;
    } else if (n > 0 && end > n) {
        return TM_ERR(err, TM_E_RANGE, a->model, 0, "--iteration-range",
                      "expected an end of at most %d (the model's rounds), found %d", n, end);
    }
    tm_forest *g = NULL;
    tm_status st = tm_forest_slice(*f, begin, end, &g, err);
    if (st == TM_OK) {
        tm_forest_free(*f);
        *f = g;
    }
    return st;
}

int tm_cli_predict(int argc, char **argv)
{
    predict_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0) {
        return rc < 0 ? 0 : rc;
    }
    tm_forest_load_opts lo;
    tm_forest_load_opts_init(&lo);
    if (!tm_forest_format_parse(a.format, &lo.format)) {
        return tm_cli_usage_error("predict", "--format: unknown format '%s'", a.format);
    }
    lo.objective = a.objective;
    lo.has_base_score = a.has_base_score;
    lo.base_score = a.base_score;
    lo.num_class = a.num_class;

    tm_err err;
    tm_err_init(&err);
    tm_forest *f = NULL;
    tm_csv *csv = NULL;
    double *X = NULL, *out = NULL;
    bool by_name = false;
    double t0 = tm_now_seconds();
    tm_status st = tm_output_check(a.output, &err);
    if (st == TM_OK) {
        st = tm_forest_load(a.model, &lo, &f, &err);
    }
    if (st == TM_OK) {
        st = check_family(f, a.format, a.model, &err);
    }
    if (st == TM_OK && (a.has_range || a.best)) {
        st = apply_rounds(&f, &a, &err);
    }
    void *so = NULL;
    tm_forest_margins_fn fn = NULL;
    if (st == TM_OK && a.compiled) {
        rc = tm_cli_compiled_open(a.compiled, f, &so, &fn);
        if (rc >= 0) {
            tm_forest_free(f);
            return rc;
        }
    }
    double t1 = tm_now_seconds();
    if (st == TM_OK) {
        st = tm_csv_load(a.input, &csv, &err);
    }
    if (st == TM_OK) {
        st = map_columns(f, csv, a.input, &X, &by_name, &err);
    }
    double t2 = tm_now_seconds();
    size_t w = f ? tm_forest_output_len(f, a.kind) : 0;
    if (st == TM_OK) {
        out = tm_malloc_n(csv->n_rows * w + 1, sizeof *out);
        st = out ? TM_OK : TM_ERR(&err, TM_E_NOMEM, NULL, 0, NULL, "out of memory for output");
    }
    if (st == TM_OK) {
        size_t nf = (size_t)tm_forest_n_features(f);
        st = fn ? tm_forest_predict_compiled(f, fn, X, csv->n_rows, nf, a.kind, a.threads, out,
                                             &err)
                : tm_forest_predict(f, X, csv->n_rows, nf, a.kind, a.threads, out, &err);
    }
    double t3 = tm_now_seconds();
    if (st == TM_OK) {
        st = write_output(f, a.kind, out, csv->n_rows, a.output, &err);
    }
    double t4 = tm_now_seconds();
    if (st == TM_OK && a.verbose) {
        tm_forest_info in;
        tm_forest_get_info(f, &in);
        fprintf(stderr,
                "columns: %d model features matched by %s among %zu input columns\n"
                "rounds: %d used (%ld trees), %zu rows\n",
                in.n_features, by_name ? "name" : "position", csv->n_cols,
                (int)tm_forest_n_iterations(f), in.n_trees, csv->n_rows);
    }
    if (st == TM_OK && a.timings) {
        fprintf(stderr,
                "phase=load_model seconds=%.6f\nphase=read_input seconds=%.6f\n"
                "phase=predict seconds=%.6f\nphase=write_output seconds=%.6f\n",
                t1 - t0, t2 - t1, t3 - t2, t4 - t3);
    }
    rc = st == TM_OK ? 0 : tm_cli_report(&err);
    tm_free(out);
    tm_free(X);
    tm_csv_free(csv);
    tm_forest_free(f);
    tm_cli_compiled_close(so);
    return rc;
}
