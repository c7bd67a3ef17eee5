/* Model files no registry row names: a retrain killed (or out of disk)
 * after writing some files and before its transaction committed leaves
 * them behind. They are removed from the two directories the pipeline
 * writes (base/ and meta_learner_v2/ under the models directory), never
 * elsewhere, and only while the caller holds the database's write lock:
 * every job writes its model files inside its own write transaction, so
 * no job is half-way through writing files a collection could see. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pipeline_int.h"

static const char *const dirs[2] = {"base", "meta_learner_v2"};

/* True when a row names models_dir/rel (relative or absolute file). */
static bool named(const tm_pipeline *p, const tm_store_model *rows, size_t n, const char *rel,
                  const char *full)
{
    for (size_t i = 0; i < n; i++) {
        char path[TM__PIPELINE_PATH_LEN];
        if (strcmp(rows[i].file, rel) == 0 ||
            strcmp(tm__pipeline_model_path(p, rows[i].file, path, sizeof path), full) == 0) {
            return true;
        }
    }
    return false;
}

tm_status tm__pipeline_gc(tm_pipeline *p, tm_pipeline_report *rep, tm_err *err)
{
    if (!tm_store_in_transaction(p->store)) {
        return TM_ERR(err, TM_E_INTERNAL, p->db_path, 0, NULL,
                      "model file collection outside a write transaction");
    }
    tm_store_model *rows = NULL;
    size_t n = 0, n_removed = 0;
    double bytes = 0;
    tm_status st = tm_store_models_all(p->store, &rows, &n, err);
    for (size_t d = 0; d < 2 && st == TM_OK; d++) {
        char dir[1100];
        snprintf(dir, sizeof dir, "%s/%s", p->models_dir, dirs[d]);
        DIR *dh = opendir(dir);
        if (!dh) {
            continue; /* nothing written there yet */
        }
        struct dirent *e;
        while (st == TM_OK && (e = readdir(dh)) != NULL) {
            char rel[400], full[1600];
            struct stat sb;
            snprintf(rel, sizeof rel, "%s/%.300s", dirs[d], e->d_name);
            snprintf(full, sizeof full, "%s/%.300s", dir, e->d_name);
            if (e->d_name[0] == '.' || lstat(full, &sb) != 0 || !S_ISREG(sb.st_mode) ||
                named(p, rows, n, rel, full)) {
                continue;
            }
            if (unlink(full) != 0) {
                int en = errno;
                st = TM_ERR(err, tm_errno_status(en), full, 0, NULL,
                            "cannot remove an unregistered model file: %s", strerror(en));
                break;
            }
            n_removed++;
            bytes += (double)sb.st_size;
        }
        closedir(dh);
    }
    tm_free(rows);
    if (st == TM_OK && n_removed) {
        tm__pipeline_say(rep,
                         "removed %zu model file%s no registry row names (%.0f KiB, left by an "
                         "interrupted or failed retrain)\n",
                         n_removed, n_removed == 1 ? "" : "s", bytes / 1024);
    }
    return st;
}

tm_status tm_pipeline_models_gc(tm_pipeline *p, tm_pipeline_report *rep, tm_err *err)
{
    tm__pipeline_report_init(rep, "models_gc", 0);
    tm_status st = tm_store_begin(p->store, err);
    if (st != TM_OK) {
        return st;
    }
    st = tm__pipeline_gc(p, rep, err);
    if (st == TM_OK) {
        st = tm_store_commit(p->store, err);
    }
    tm_store_rollback(p->store);
    if (st == TM_OK && !rep->summary[0]) {
        tm__pipeline_say(rep, "no unregistered model files\n");
    }
    return st;
}
