/* Command lines from option tables (tm_opt, core.h): parsing argv into one
 * or more options structs, each command's --help listing only the options
 * in its scope, and the same lists as Markdown for the README. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const tm_opt *find(const tm_cli_optset *sets, size_t n_sets, uint32_t scope,
                          const char *name, void **target)
{
    for (size_t s = 0; s < n_sets; s++) {
        const tm_opt *o = tm_opt_find(sets[s].rows, sets[s].n, name);
        if (o && (o->scope & scope)) {
            *target = sets[s].target;
            return o;
        }
    }
    return NULL;
}

int tm_cli_opts_parse(const char *cmd, uint32_t scope, const tm_cli_optset *sets, size_t n_sets,
                      int argc, char **argv, const char **pos, int max_pos, int *n_pos)
{
    *n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            return 0;
        }
        if (a[0] == '-' && a[1] == '-' && a[2]) {
            void *target = NULL;
            const tm_opt *o = find(sets, n_sets, scope, a + 2, &target);
            if (!o) {
                return tm_cli_usage_error(cmd, "unknown option '%s'", a);
            }
            bool flag = o->type == TM_OPT_FLAG || o->type == TM_OPT_UNFLAG;
            if (!flag && i + 1 >= argc) {
                return tm_cli_usage_error(cmd, "%s: missing value", a);
            }
            tm_err err;
            tm_err_init(&err);
            if (tm_opt_set(o, target, flag ? NULL : argv[++i], &err) != TM_OK) {
                char msg[1024];
                return tm_cli_usage_error(cmd, "%s", tm_err_format(&err, msg, sizeof msg));
            }
        } else if (a[0] == '-' && a[1]) {
            return tm_cli_usage_error(cmd, "unknown option '%s'", a);
        } else if (*n_pos < max_pos) {
            pos[(*n_pos)++] = a;
        } else {
            return tm_cli_usage_error(cmd, "unexpected argument '%s'", a);
        }
    }
    return -1;
}

bool tm_cli_opts_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            return true;
        }
    }
    return false;
}

/* The default of o as shown: `shown`, else the field's value in defaults. */
static const char *shown(const tm_opt *o, const void *defaults, char *buf, size_t len)
{
    if (o->shown) {
        return o->shown;
    }
    if (o->type == TM_OPT_FLAG || o->type == TM_OPT_UNFLAG || o->type == TM_OPT_STRING ||
        o->type == TM_OPT_DATE) {
        return ""; /* flags are off, strings and dates unset, unless `shown` says */
    }
    return tm_opt_format(o, defaults, buf, len);
}

void tm_cli_opts_help(FILE *out, uint32_t scope, const tm_cli_optset *sets, size_t n_sets)
{
    for (size_t s = 0; s < n_sets; s++) {
        for (size_t i = 0; i < sets[s].n; i++) {
            const tm_opt *o = &sets[s].rows[i];
            if (!(o->scope & scope)) {
                continue;
            }
            char use[128], def[128];
            tm_opt_usage(o, use, sizeof use);
            const char *d = shown(o, sets[s].target, def, sizeof def);
            fprintf(out, "  %-22s %s%s%s%s\n", use, o->help, *d ? " (default: " : "", d,
                    *d ? ")" : "");
        }
    }
}

/* s in a Markdown table cell: '|' escaped (GitHub splits cells on it,
 * inside code spans too). */
static void cell(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '|') {
            fputc('\\', out);
        }
        fputc(*s, out);
    }
}

void tm_cli_opts_markdown(FILE *out, uint32_t scope, const tm_cli_optset *sets, size_t n_sets)
{
    fprintf(out, "| option | default | what |\n| --- | --- | --- |\n");
    for (size_t s = 0; s < n_sets; s++) {
        for (size_t i = 0; i < sets[s].n; i++) {
            const tm_opt *o = &sets[s].rows[i];
            if (!(o->scope & scope)) {
                continue;
            }
            char use[128], def[128];
            tm_opt_usage(o, use, sizeof use);
            const char *d = shown(o, sets[s].target, def, sizeof def);
            fputs("| `", out);
            cell(out, use);
            fputs("` | ", out);
            cell(out, d);
            fputs(" | ", out);
            cell(out, o->help);
            fputs(" |\n", out);
        }
    }
}
