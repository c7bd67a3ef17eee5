/* The pipeline handle: options, open/close, the base-model registry (the 8
 * defaults or a JSON file), report helpers, the job ending (result row,
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
    o->compare = true;
    o->batch_rows = 5000;
    o->rounds_scale = 1.0;
    o->seed = 1;
}

void tm_pipeline_import_opts_init(tm_pipeline_import_opts *o)
{
    memset(o, 0, sizeof *o);
    o->max_reports = 20;
}

/* The 8 default base models: three families, each with its own growth
 * (XGBoost depth-wise, LightGBM leaf-wise, CatBoost oblivious) at
 * different depths and rates. */
static const tm__pipeline_entry defaults[8] = {
        {"xgb_depth4", "xgboost", TM_TRAIN_DEPTHWISE, 4, 0, 0.10, 300, 0.8, 1.0, ""},
        {"xgb_depth6", "xgboost", TM_TRAIN_DEPTHWISE, 6, 0, 0.05, 300, 0.8, 1.0, ""},
        {"xgb_depth3", "xgboost", TM_TRAIN_DEPTHWISE, 3, 0, 0.20, 300, 1.0, 1.0, ""},
        {"lgbm_leaves31", "lightgbm", TM_TRAIN_LEAFWISE, -1, 31, 0.05, 300, 0.8, 1.0, ""},
        {"lgbm_leaves63", "lightgbm", TM_TRAIN_LEAFWISE, -1, 63, 0.10, 300, 0.7, 1.0, ""},
        {"lgbm_leaves15", "lightgbm", TM_TRAIN_LEAFWISE, -1, 15, 0.15, 300, 1.0, 1.0, ""},
        {"cat_depth6", "catboost", TM_TRAIN_OBLIVIOUS, 6, 0, 0.10, 300, 1.0, 1.0, ""},
        {"cat_depth4", "catboost", TM_TRAIN_OBLIVIOUS, 4, 0, 0.20, 300, 1.0, 1.0, ""},
};

static const char *str_or(const tm_json *obj, const char *key, const char *def)
{
    const tm_json *v = tm_json_get(obj, key);
    return v && v->type == TM_JSON_STRING ? v->str : def;
}

static double num_or(const tm_json *obj, const char *key, double def)
{
    const tm_json *v = tm_json_get(obj, key);
    return v && v->type == TM_JSON_NUMBER ? v->num : def;
}

/* Registry file: {"models": [{"name": "...", "family": "xgboost",
 * "growth": "depthwise", "max_depth": 6, "num_leaves": 31,
 * "learning_rate": 0.05, "max_rounds": 300, "col_subsample": 0.8,
 * "row_subsample": 1.0} or {"name": "...", "file": "model.json"}, ...]}. */
tm_status tm__pipeline_registry_load(tm_pipeline *p, const char *path, tm_err *err)
{
    if (!path) {
        memcpy(p->reg, defaults, sizeof defaults);
        p->n_reg = 8;
        return TM_OK;
    }
    char *text = NULL;
    size_t len = 0;
    tm_json_doc *doc = NULL;
    tm_status st = tm_file_read(path, &text, &len, err);
    if (st == TM_OK) {
        st = tm_json_parse(text, len, path, &doc, err);
    }
    if (st != TM_OK) {
        goto done;
    }
    const tm_json *arr = tm_json_get(tm_json_root(doc), "models");
    if (!arr || arr->type != TM_JSON_ARRAY || arr->len == 0 || arr->len > TM__PIPELINE_MAX_MODELS) {
        st = TM_ERR(err, TM_E_PARSE, path, 0, "models", "expected an array of 1 to %d models",
                    TM__PIPELINE_MAX_MODELS);
        goto done;
    }
    for (size_t i = 0; i < arr->len; i++) {
        const tm_json *m = tm_json_at(arr, i);
        tm__pipeline_entry *e = &p->reg[i];
        *e = defaults[i % 8];
        const char *growth = str_or(m, "growth", NULL);
        snprintf(e->name, sizeof e->name, "%s", str_or(m, "name", e->name));
        snprintf(e->family, sizeof e->family, "%s", str_or(m, "family", e->family));
        snprintf(e->file, sizeof e->file, "%s", str_or(m, "file", ""));
        if (growth) {
            e->growth = strcmp(growth, "depthwise") == 0   ? TM_TRAIN_DEPTHWISE
                        : strcmp(growth, "oblivious") == 0 ? TM_TRAIN_OBLIVIOUS
                                                           : TM_TRAIN_LEAFWISE;
        }
        e->max_depth = (int)num_or(m, "max_depth", e->max_depth);
        e->num_leaves = (int)num_or(m, "num_leaves", e->num_leaves);
        e->learning_rate = num_or(m, "learning_rate", e->learning_rate);
        e->max_rounds = (int)num_or(m, "max_rounds", e->max_rounds);
        e->col_subsample = num_or(m, "col_subsample", e->col_subsample);
        e->row_subsample = num_or(m, "row_subsample", e->row_subsample);
        if (strcmp(e->family, "xgboost") && strcmp(e->family, "lightgbm") &&
            strcmp(e->family, "catboost")) {
            st = TM_ERR(err, TM_E_PARSE, path, m ? m->line : 0, "family",
                        "expected xgboost, lightgbm or catboost, found \"%s\"", e->family);
            goto done;
        }
    }
    p->n_reg = arr->len;
done:
    tm_json_doc_free(doc);
    tm_free(text);
    return st;
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
