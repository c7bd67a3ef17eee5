/* The pipeline handle: options, open/close, the base-model registry (the 8
 * defaults or a JSON file, registry.c), report helpers, the job ending (result row,
 * commit or rollback) and model paths. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline_int.h"

void tm_pipeline_opts_init(tm_pipeline_opts *o)
{
    memset(o, 0, sizeof *o);
    o->horizon = 5;
    o->up = TM_FEATURES_DEFAULT_UP;
    o->down = TM_FEATURES_DEFAULT_DOWN;
    o->n_folds = 3;
    o->split = TM_PIPELINE_SPLIT_TIME;
    o->valid_fraction = 0.2;
    o->gate_days = 42;
    o->flip_days = 20;
    o->compare = true;
    o->target_precision = 0.15;
    o->max_signals = 10;
    o->batch_rows = 5000;
    o->rounds_scale = 1.0;
    o->seed = 1;
}

void tm_pipeline_import_opts_init(tm_pipeline_import_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_reports = 20;
}

tm_status tm_pipeline_open(const tm_pipeline_opts *o, tm_pipeline **out, tm_err *err)
{
    *out = NULL;
    tm_status st = TM_OK;
    tm_pipeline *p = tm_calloc(1, sizeof *p);
    if (!p) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    p->o = *o;
    size_t n_opts;
    const tm_opt *opts = tm_pipeline_opt_table(&n_opts);
    if ((st = tm_opt_check(opts, n_opts, o, err)) != TM_OK) {
        goto done;
    }
    if (o->labels == TM_PIPELINE_LABELS_XS_DECILE &&
        (o->up != TM_FEATURES_DEFAULT_UP || o->down != TM_FEATURES_DEFAULT_DOWN)) {
        st = TM_ERR(err, TM_E_INVALID, NULL, 0, NULL,
                    "--%s: a threshold of absolute labels, not used with --labels xs-decile",
                    o->up != TM_FEATURES_DEFAULT_UP ? "up" : "down");
        goto done;
    }
    if (!o->db_path) {
        st = TM_ERR(err, TM_E_INVALID, NULL, 0, "--db", "expected a database path");
        goto done;
    }
    p->db_path = tm_strdup(o->db_path);
    if (o->models_dir) {
        p->models_dir = tm_strdup(o->models_dir);
    } else if (p->db_path) {
        const char *slash = strrchr(p->db_path, '/');
        size_t dl = slash ? (size_t)(slash - p->db_path) : 1;
        p->models_dir = tm_malloc(dl + 32);
        if (p->models_dir) {
            snprintf(p->models_dir, dl + 32, "%.*s/turbomode_models", (int)dl,
                     slash ? p->db_path : ".");
        }
    }
    if (!p->db_path || !p->models_dir) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
        goto done;
    }
    if (strlen(p->models_dir) > TM__PIPELINE_MAX_DIR) {
        st = TM_ERR(err, TM_E_INVALID, NULL, 0, "--models-dir",
                    "expected a path of at most %d bytes, found %zu", TM__PIPELINE_MAX_DIR,
                    strlen(p->models_dir));
        goto done;
    }
    p->o.db_path = p->db_path;
    p->o.models_dir = p->models_dir;
    p->o.registry_path = NULL;
    if ((st = tm__pipeline_registry_load(p, o->registry_path, err)) != TM_OK ||
        (st = (o->read_only ? tm_store_open_readonly : tm_store_open)(p->db_path, &p->store,
                                                                      err)) != TM_OK) {
        goto done;
    }
    *out = p;
    p = NULL;
done:
    tm_pipeline_close(p);
    return st;
}

void tm_pipeline_close(tm_pipeline *p)
{
    if (!p) {
        return;
    }
    tm_store_close(p->store);
    tm_free(p->db_path);
    tm_free(p->models_dir);
    tm_free(p);
}

void tm__pipeline_report_init(tm_pipeline_report *rep, const char *job, int32_t as_of)
{
    memset(rep, 0, sizeof *rep);
    snprintf(rep->job, sizeof rep->job, "%s", job);
    rep->as_of = as_of;
    snprintf(rep->status, sizeof rep->status, "ok");
}

void tm__pipeline_say(tm_pipeline_report *rep, const char *fmt, ...)
{
    size_t n = strlen(rep->summary);
    if (n + 1 >= sizeof rep->summary) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rep->summary + n, sizeof rep->summary - n, fmt, ap);
    va_end(ap);
}

void tm__pipeline_step(tm_pipeline_report *rep, const char *name, double seconds)
{
    if (rep->n_steps < TM_PIPELINE_MAX_STEPS) {
        snprintf(rep->steps[rep->n_steps].name, sizeof rep->steps[0].name, "%s", name);
        rep->steps[rep->n_steps++].seconds = seconds;
    }
}

void tm__pipeline_log(tm_pipeline *p, const char *fmt, ...)
{
    if (!p->o.log) {
        return;
    }
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    p->o.log(p->o.log_ctx, line);
}

static void fit_progress(void *ctx, const tm_train_progress *pr)
{
    tm_pipeline *p = ctx;
    tm__pipeline_log(p,
                     "%s: round %d of at most %d, train loss %.4f, valid loss %.4f, best %d "
                     "(%.1fs)",
                     p->fitting, pr->round, pr->max_rounds, pr->train_loss, pr->valid_loss,
                     pr->best_iteration + 1, pr->elapsed);
}

void tm__pipeline_progress(tm_pipeline *p, tm_train_opts *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->fitting, sizeof p->fitting, fmt, ap);
    va_end(ap);
    if (p->o.log) {
        t->progress = fit_progress;
        t->progress_ctx = p;
        t->progress_every = 50;
        tm__pipeline_log(p, "%s: training", p->fitting);
    }
}

char *tm__pipeline_now_iso(char *buf, size_t len)
{
    return tm_utc_iso((int64_t)time(NULL), buf, len);
}

tm_status tm__pipeline_metrics_set(tm_jw *w, tm_store_model *row, tm_err *err)
{
    tm_buf *b = w->out;
    tm_status st = tm_jw_finish(w, err);
    if (st == TM_OK && b->len >= sizeof row->metrics) {
        st = TM_ERR(err, TM_E_INTERNAL, NULL, 0, "metrics",
                    "expected at most %zu bytes of model metrics, found %zu",
                    sizeof row->metrics - 1, b->len);
    }
    if (st == TM_OK) {
        memcpy(row->metrics, b->p, b->len + 1);
    }
    tm_buf_fini(b);
    return st;
}

tm_status tm__pipeline_finish(tm_pipeline *p, tm_status st, tm_pipeline_report *rep, double t0,
                              tm_err *err)
{
    if (st == TM_OK) {
        rep->seconds = tm_now_seconds() - t0;
        st = tm__pipeline_record(p, rep, rep->status, NULL, err);
    }
    if (st == TM_OK) {
        st = tm_store_commit(p->store, err);
    }
    if (st != TM_OK) {
        tm_store_rollback(p->store);
    }
    return st;
}

tm_status tm__pipeline_record(tm_pipeline *p, const tm_pipeline_report *rep, const char *status,
                              int64_t *run_id, tm_err *err)
{
    tm_store_job_result r;
    memset(&r, 0, sizeof r);
    snprintf(r.job, sizeof r.job, "%s", rep->job);
    r.as_of = rep->as_of;
    int64_t now = (int64_t)time(NULL), began = now - (int64_t)rep->seconds;
    tm_utc_iso(began, r.started_at, sizeof r.started_at);
    tm_utc_iso(now, r.finished_at, sizeof r.finished_at);
    snprintf(r.status, sizeof r.status, "%s", status);
    snprintf(r.summary, sizeof r.summary, "%s", rep->summary);
    tm_status st = tm_store_job_result_insert(p->store, &r, err);
    if (run_id) {
        *run_id = r.id;
    }
    return st;
}

tm_status tm__pipeline_no_prices(tm_pipeline *p, int32_t as_of, tm_err *err)
{
    int64_t n = 0;
    tm_status st = tm_store_query_int(p->store, "SELECT count(*) FROM prices", &n, err);
    if (st != TM_OK) {
        return st;
    }
    char d[16];
    if (n == 0 || as_of == 0) {
        return TM_ERR(err, TM_E_INVALID, p->db_path, 0, NULL,
                      "expected prices in the database, found none (run import-prices first)");
    }
    return TM_ERR(err, TM_E_INVALID, p->db_path, 0, "--as-of",
                  "expected a date with prices on or before it, found %s (earlier than every "
                  "price of the universe)",
                  tm_store_date_format(as_of, d));
}

size_t tm__pipeline_date_lower_bound(const int32_t *dates, size_t n, int32_t d)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (dates[mid] < d) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

int32_t tm__pipeline_today(const tm_pipeline *p)
{
    if (p->o.today) {
        return p->o.today;
    }
    return tm_ymd_from_days(tm_floordiv((int64_t)time(NULL), 86400));
}

tm_status tm_pipeline_latest_date(tm_pipeline *p, int32_t *out, tm_err *err)
{
    return tm_store_prices_last_date(p->store, tm__pipeline_today(p), out, err);
}

char *tm__pipeline_model_path(const tm_pipeline *p, const char *file, char *buf, size_t len)
{
    if (file[0] == '/') {
        snprintf(buf, len, "%s", file);
    } else {
        snprintf(buf, len, "%s/%s", p->models_dir, file);
    }
    return buf;
}
