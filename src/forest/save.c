/* tm_forest_save: the checks every format shares (what no writer can
 * express), then one writer (write_lightgbm.c, write_xgboost.c,
 * write_catboost.c) builds the whole file as text in memory and the text
 * goes to disk in one atomic write (tm_atomic: a temporary file, fsync'd
 * and renamed), so a refused or failed save leaves no file behind and the
 * previous model in place. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "forest/forest_int.h"

tm_status tm__forest_check_writable(const tm_forest *f, const char *fmt, const char *path,
                                    tm_err *err)
{
    const char *what = f->lin_const         ? "linear leaves"
                       : f->has_tree_weight ? "dart tree weights"
                       : f->average         ? "averaged (random forest) output"
                       : f->has_categorical ? "categorical splits"
                                            : NULL;
    for (int32_t nd = 0; !what && !f->oblivious && nd < f->n_nodes; nd++) {
        if (f->flags[nd] & TM__NODE_ZERO_MISSING) {
            what = "zero-as-missing splits";
        }
    }
    if (what) {
        return TM_ERR(err, TM_E_FORMAT, path, 0, NULL, "cannot write %s as %s", what, fmt);
    }
    return TM_OK;
}

tm_status tm__forest_jw_end(tm_jw *jw, const char *path, tm_err *err)
{
    tm_err e;
    tm_err_init(&e);
    tm_status st = tm_jw_finish(jw, &e);
    if (st != TM_OK) {
        return TM_ERR(err, st, path, 0, e.field[0] ? e.field : NULL, "%s", e.reason);
    }
    tm_buf_append(jw->out, "\n", 1);
    return TM_OK;
}

/* Writes text (len bytes) to the open output a, committing it; on any
 * failure the output is abandoned and nothing is left at a's path. */
static tm_status write_all(tm_atomic *a, const char *text, size_t len, tm_err *err)
{
    if (fwrite(text, 1, len, a->fp) != len) {
        int e = errno;
        tm_atomic_abort(a);
        return TM_ERR(err, tm_errno_status(e), a->path, 0, NULL, "write failed: %s", strerror(e));
    }
    return tm_atomic_commit(a, err);
}

tm_status tm_forest_save(const tm_forest *f, tm_forest_format format, const char *path, tm_err *err)
{
    const char *name = tm_forest_format_name(format);
    if (format != TM_FOREST_FORMAT_LIGHTGBM && format != TM_FOREST_FORMAT_XGBOOST_JSON &&
        format != TM_FOREST_FORMAT_CATBOOST_JSON) {
        return TM_ERR(err, TM_E_FORMAT, path, 0, NULL,
                      "cannot write %s: expected lightgbm, xgboost-json or catboost-json", name);
    }
    tm_status st = tm__forest_check_writable(f, name, path, err);
    if (st != TM_OK) {
        return st;
    }
    tm_atomic a;
    st = tm_atomic_open(&a, path, err);
    if (st != TM_OK) {
        return st;
    }
    tm_buf text;
    tm_buf_init(&text);
    if (format == TM_FOREST_FORMAT_LIGHTGBM) {
        st = tm__forest_write_lightgbm(f, a.path, &text, err);
    } else if (format == TM_FOREST_FORMAT_XGBOOST_JSON) {
        st = tm__forest_write_xgboost(f, a.path, &text, err);
    } else {
        st = tm__forest_write_catboost(f, a.path, &text, err);
    }
    if (st == TM_OK && text.oom) {
        st = TM_ERR(err, TM_E_NOMEM, a.path, 0, NULL, "out of memory");
    }
    if (st == TM_OK) {
        st = write_all(&a, text.p ? text.p : "", text.len, err);
    } else {
        tm_atomic_abort(&a);
    }
    tm_buf_fini(&text);
    return st;
}
