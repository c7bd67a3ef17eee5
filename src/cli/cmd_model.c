/* turbomode model: `model info PATH` summarises a model file: family,
 * objective, classes, features, trees, leaves, depth histogram, rounds
 * and the stored best round, whether feature names are stored (so how
 * predict matches columns) and the memory the loaded forest takes; `model rollback` (cmd_jobs.c)
 * restores the previous meta-learner. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <turbomode/forest.h>

#include "cli/cli.h"

static void model_help(void)
{
    printf("usage: turbomode model info PATH [--format F]\n"
           "       turbomode model rollback --db DB [options]\n\n"
           "  info PATH     family, objective, classes, features, trees, leaves, depth\n"
           "                histogram, rounds, stored best round, feature names (columns\n"
           "                matched by name or by position) and memory of a model file\n"
           "  rollback      make the previous meta-learner (and the base models it was\n"
           "                trained with) active again; see 'model rollback --help'\n");
}

static int model_info(int argc, char **argv)
{
    const char *path = NULL, *format = "auto";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            format = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            model_help();
            return 0;
        } else if (argv[i][0] == '-' || path) {
            return tm_cli_usage_error("model info", "unexpected argument '%s'", argv[i]);
        } else {
            path = argv[i];
        }
    }
    if (!path) {
        return tm_cli_usage_error("model info", "a model PATH is required");
    }
    tm_forest_load_opts lo;
    tm_forest_load_opts_init(&lo);
    if (!tm_forest_format_parse(format, &lo.format)) {
        return tm_cli_usage_error("model info", "--format: unknown format '%s'", format);
    }
    tm_err err;
    tm_err_init(&err);
    tm_forest *f = NULL;
    if (tm_forest_load(path, &lo, &f, &err) != TM_OK) {
        return tm_cli_report(&err);
    }
    tm_forest_info in;
    tm_forest_get_info(f, &in);
    printf("file        %s\n", path);
    printf("family      %s (%s)\n", tm_forest_family_name(in.family), in.format_name);
    printf("objective   %s (link: %s)\n", in.objective, in.link);
    printf("classes     %d\noutputs     %d\nfeatures    %d\n", in.n_classes, in.n_outputs,
           in.n_features);
    printf("trees       %ld%s\nnodes       %ld\nleaves      %ld\nmax depth   %d\n", in.n_trees,
           in.oblivious ? " (oblivious)" : "", in.n_nodes, in.n_leaves, in.max_depth);
    printf("categorical %s\nlinear      %s\n", in.has_categorical ? "yes" : "no",
           in.has_linear ? "yes" : "no");
    int32_t best = tm_forest_best_iteration(f);
    printf("rounds      %d\n", (int)tm_forest_n_iterations(f));
    if (best >= 0) {
        printf("best round  %d (stored; predict --best-iteration uses rounds 0..%d)\n", (int)best,
               (int)best);
    } else {
        printf("best round  none stored\n");
    }
    bool named = in.n_features > 0 && tm_forest_feature_name(f, 0) != NULL;
    printf("names       %s\n", named ? "stored: predict matches input columns by name"
                                     : "none: predict matches input columns by position");
    printf("depth histogram (depth: trees)\n");
    for (int d = 0; d <= 32; d++) {
        if (in.depth_hist[d]) {
            printf("  %s%2d: %ld\n", d == 32 ? ">=" : "", d, in.depth_hist[d]);
        }
    }
    printf("memory      %zu bytes (%.2f MiB)\n", in.memory_bytes,
           (double)in.memory_bytes / 1048576.0);
    tm_forest_free(f);
    return 0;
}

int tm_cli_model(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        model_help();
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "info") == 0) {
        return model_info(argc - 1, argv + 1);
    }
    if (strcmp(argv[1], "rollback") == 0) {
        return tm_cli_model_rollback(argc - 1, argv + 1);
    }
    return tm_cli_usage_error("model", "unknown subcommand '%s'", argv[1]);
}
