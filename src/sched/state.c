/* The state file: per job its trigger signature, next run time and the
 * scheduled time of its last success, as JSON, written atomically
 * (temporary file, fsync, rename) after the job_runs rows it summarises
 * are committed (core's output rules; without durability no fsync).
 * Times are kept as integers (exact) and ISO text. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sched/sched_int.h"

static tm_sched_time time_of(const tm_json *obj, const char *key)
{
    const tm_json *v = tm_json_get(obj, key);
    return v && v->type == TM_JSON_NUMBER && v->is_int ? v->inum : TM_SCHED_NEVER;
}

tm_status tm__sched_state_load(const char *path, tm__sched_jstate **out, size_t *n, tm_err *err)
{
    *out = NULL;
    *n = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        return TM_OK; /* no state yet */
    }
    fclose(fp);
    char *text = NULL;
    size_t len = 0;
    tm_json_doc *doc = NULL;
    tm_status st = tm_file_read(path, &text, &len, err);
    st = st == TM_OK ? tm_json_parse(text, len, path, &doc, err) : st;
    tm_free(text);
    if (st != TM_OK) {
        return st;
    }
    const tm_json *jobs = tm_json_get(tm_json_root(doc), "jobs");
    if (!jobs || jobs->type != TM_JSON_OBJECT) {
        tm_json_doc_free(doc);
        return TM_ERR(err, TM_E_FORMAT, path, 0, "jobs", "expected an object of jobs");
    }
    tm__sched_jstate *s = jobs->len ? tm_calloc(jobs->len, sizeof *s) : NULL;
    if (jobs->len && !s) {
        tm_json_doc_free(doc);
        return TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory");
    }
    for (size_t i = 0; i < jobs->len; i++) {
        const tm_json *j = jobs->items[i];
        const tm_json *sig = tm_json_get(j, "trigger");
        snprintf(s[i].name, sizeof s[i].name, "%s", jobs->keys[i]);
        snprintf(s[i].sig, sizeof s[i].sig, "%s",
                 sig && sig->type == TM_JSON_STRING ? sig->str : "");
        s[i].next_run = time_of(j, "next_run_us");
        s[i].last_success = time_of(j, "last_success_us");
    }
    *n = jobs->len;
    *out = s;
    tm_json_doc_free(doc);
    return TM_OK;
}

tm_status tm__sched_state_save(const char *path, const tm__sched_jstate *st, size_t n, bool durable,
                               tm_err *err)
{
    tm__sched_jbuf b = {0};
    tm__sched_jb_cstr(&b, "{\"version\": 1, \"jobs\": {");
    for (size_t i = 0; i < n; i++) {
        char num[48];
        tm__sched_jb_cstr(&b, i ? ",\n  " : "\n  ");
        tm__sched_jb_str(&b, st[i].name, strlen(st[i].name));
        tm__sched_jb_cstr(&b, ": {\"trigger\": ");
        tm__sched_jb_str(&b, st[i].sig, strlen(st[i].sig));
        tm_sched_time t[2] = {st[i].next_run, st[i].last_success};
        const char *names[2] = {"next_run", "last_success"};
        for (int k = 0; k < 2; k++) {
            tm__sched_jb_cstr(&b, ", \"");
            tm__sched_jb_cstr(&b, names[k]);
            tm__sched_jb_cstr(&b, "\": ");
            tm__sched_jb_time(&b, t[k], NULL);
            tm__sched_jb_cstr(&b, ", \"");
            tm__sched_jb_cstr(&b, names[k]);
            if (t[k] == TM_SCHED_NEVER) {
                snprintf(num, sizeof num, "_us\": null");
            } else {
                snprintf(num, sizeof num, "_us\": %lld", (long long)t[k]);
            }
            tm__sched_jb_cstr(&b, num);
        }
        tm__sched_jb_cstr(&b, "}");
    }
    tm__sched_jb_cstr(&b, "\n}}\n");
    char *text = tm__sched_jb_take(&b);
    if (!text) {
        return TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory");
    }
    /* Without durability the rename stays atomic but nothing is fsync'd: a
     * crash may lose the update, never leave half a file. */
    tm_atomic a;
    tm_status s = tm_atomic_open(&a, path, err);
    if (s == TM_OK) {
        a.no_sync = !durable;
        size_t len = strlen(text);
        if (fwrite(text, 1, len, a.fp) != len) {
            int e = errno ? errno : EIO;
            tm_atomic_abort(&a);
            s = TM_ERR(err, tm_errno_status(e), path, 0, NULL, "cannot write the state file: %s",
                       strerror(e));
        } else {
            s = tm_atomic_commit(&a, err);
        }
    }
    tm_free(text);
    return s;
}
