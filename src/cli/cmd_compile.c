/* turbomode compile: writes a model's trees as a C file to build ahead of
 * time (tm_forest_compile_c), and opens such a build for predict
 * --compiled (dlopen; the static build has no loader and refuses). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#ifndef TM_NO_DLOPEN
#    include <dlfcn.h>
#endif

#include <turbomode/forest.h>

#include "cli/cli.h"

static void compile_help(void)
{
    printf("usage: turbomode compile MODEL -o OUT.c [--format F]\n\n"
           "Writes the model's trees as one C file: a function per tree and a kernel\n"
           "that sums the leaves exactly as turbomode predict does. Build and use it:\n\n"
           "  cc -O2 -shared -fPIC OUT.c -o model.so      (no -ffast-math)\n"
           "  turbomode predict --model MODEL --compiled model.so --input ... --output ...\n\n"
           "predict still reads MODEL (for the output link and the column names) and\n"
           "refuses a build whose fingerprint does not match it. Supported: XGBoost,\n"
           "LightGBM and CatBoost models, categorical splits included; refused: linear\n"
           "leaves.\n\n"
           "  -o, --output OUT.c    the C file (replaced atomically)\n"
           "  --format F            as for predict (default auto)\n");
}

int tm_cli_compile(int argc, char **argv)
{
    const char *path = NULL, *output = NULL, *format = "auto";
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) && i + 1 < argc) {
            output = argv[++i];
        } else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
            format = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            compile_help();
            return 0;
        } else if (argv[i][0] == '-' || path) {
            return tm_cli_usage_error("compile", "unexpected argument '%s'", argv[i]);
        } else {
            path = argv[i];
        }
    }
    if (!path || !output) {
        return tm_cli_usage_error("compile", "a MODEL and -o OUT.c are required");
    }
    tm_forest_load_opts lo;
    tm_forest_load_opts_init(&lo);
    if (!tm_forest_format_parse(format, &lo.format)) {
        return tm_cli_usage_error("compile", "--format: unknown format '%s'", format);
    }
    tm_err err;
    tm_err_init(&err);
    tm_forest *f = NULL;
    char *text = NULL;
    size_t len = 0;
    uint64_t fp = 0;
    tm_atomic a;
    tm_status st = tm_output_check(output, &err);
    if (st == TM_OK) {
        st = tm_forest_load(path, &lo, &f, &err);
    }
    if (st == TM_OK) {
        st = tm_forest_compile_c(f, path, &text, &len, &fp, &err);
    }
    if (st == TM_OK) {
        st = tm_atomic_open(&a, output, &err);
        if (st == TM_OK) {
            fwrite(text, 1, len, a.fp);
            st = tm_atomic_commit(&a, &err);
        }
    }
    int rc = st == TM_OK ? 0 : tm_cli_report(&err);
    tm_free(text);
    tm_forest_free(f);
    return rc;
}

int tm_cli_compiled_open(const char *so_path, const tm_forest *f, void **handle,
                         tm_forest_margins_fn *fn)
{
    *handle = NULL;
    *fn = NULL;
#ifdef TM_NO_DLOPEN
    (void)f;
    fprintf(stderr,
            "turbomode predict: --compiled %s: this static build cannot load shared "
            "objects (use the dynamic build)\n",
            so_path);
    return 2;
#else
    tm_err err;
    tm_err_init(&err);
    uint64_t want = 0;
    if (tm_forest_compile_c(f, NULL, NULL, NULL, &want, &err) != TM_OK) {
        return tm_cli_report(&err);
    }
    /* dlopen searches the library path for a bare name: insist on a path. */
    char buf[4096];
    snprintf(buf, sizeof buf, "%s%s", strchr(so_path, '/') ? "" : "./", so_path);
    void *h = dlopen(buf, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        fprintf(stderr, "turbomode predict: --compiled %s: cannot load: %s\n", so_path,
                why ? why : "unknown reason");
        return 2;
    }
    const char *abi = dlsym(h, "tm_compiled_abi");
    const uint64_t *got = dlsym(h, "tm_compiled_fingerprint");
    const int32_t *nf = dlsym(h, "tm_compiled_n_features");
    const int32_t *no = dlsym(h, "tm_compiled_n_outputs");
    void *sym = dlsym(h, "tm_compiled_margins");
    const char *bad = NULL;
    if (!abi || !got || !nf || !no || !sym || strcmp(abi, TM_FOREST_COMPILED_ABI) != 0) {
        bad = "expected a file built from turbomode compile (" TM_FOREST_COMPILED_ABI ")";
    } else if (*got != want || *nf != tm_forest_n_features(f) || *no != tm_forest_n_outputs(f)) {
        bad = "built from another model (its fingerprint does not match --model)";
    }
    if (bad) {
        fprintf(stderr, "turbomode predict: --compiled %s: %s\n", so_path, bad);
        dlclose(h);
        return 2;
    }
    *handle = h;
    memcpy(fn, &sym, sizeof *fn); /* object to function pointer, as POSIX allows */
    return -1;
#endif
}

void tm_cli_compiled_close(void *handle)
{
#ifndef TM_NO_DLOPEN
    if (handle) {
        dlclose(handle);
    }
#else
    (void)handle;
#endif
}
