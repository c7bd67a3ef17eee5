/* The base-model registry: the 8 built-in models, or a JSON file
 * {"models": [...]} read strictly. Every entry names its family and how it
 * is trained (growth and the size that growth needs), or the file a real
 * library exported; a missing, mistyped, unknown or out-of-range field is
 * refused in one line naming the entry and the field. The only defaults
 * are the per-field ones documented in README.md ("Models"). */
#include <stdio.h>
#include <string.h>

#include "pipeline_int.h"

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

static const char *const entry_keys[] = {
        "name",          "family",     "growth",        "max_depth",     "num_leaves",
        "learning_rate", "max_rounds", "col_subsample", "row_subsample", "file"};
#define N_ENTRY_KEYS (sizeof entry_keys / sizeof entry_keys[0])

/* obj[key] as a string that fits in len bytes, one of `choices` ("a|b|c")
 * when given; *out untouched when optional and missing. */
static tm_status get_str(const tm_json_ctx *c, const tm_json *obj, const char *where,
                         const char *key, bool optional, const char *choices, char *out, size_t len)
{
    const tm_json *v = NULL;
    tm_status st = tm_json_member(c, obj, where, key, TM_JSON_STRING, optional, &v);
    if (st != TM_OK || !v) {
        return st;
    }
    if (v->len == 0 || v->len >= len) {
        return tm_json_fail(c, TM_E_PARSE, v, where, key,
                            "expected a non-empty string of at most %zu bytes, found \"%.40s\"",
                            len - 1, v->str);
    }
    if (choices) {
        size_t n = strlen(v->str);
        const char *s = strstr(choices, v->str);
        bool whole = s && (s == choices || s[-1] == '|') && (s[n] == 0 || s[n] == '|');
        if (!whole) {
            return tm_json_fail(c, TM_E_PARSE, v, where, key, "expected one of %s, found \"%s\"",
                                choices, v->str);
        }
    }
    snprintf(out, len, "%s", v->str);
    return TM_OK;
}

/* obj[key] as a number in (lo, hi]; when optional and missing, *out = dflt. */
static tm_status get_num(const tm_json_ctx *c, const tm_json *obj, const char *where,
                         const char *key, double lo, double hi, double dflt, double *out)
{
    tm_status st = tm_json_member_num(c, obj, where, key, true, dflt, out);
    if (st == TM_OK && !(*out > lo && *out <= hi)) {
        return tm_json_fail(c, TM_E_PARSE, tm_json_get(obj, key), where, key,
                            "expected a number in (%g, %g], found %g", lo, hi, *out);
    }
    return st;
}

static tm_status get_int(const tm_json_ctx *c, const tm_json *obj, const char *where,
                         const char *key, int64_t lo, int64_t hi, bool optional, int64_t dflt,
                         int *out)
{
    int64_t v = dflt;
    tm_status st = tm_json_member_int(c, obj, where, key, lo, hi, optional, dflt, &v);
    *out = (int)v;
    return st;
}

/* One trained entry's settings: growth and the size it needs are required,
 * the rest have the documented defaults. */
static tm_status trained_entry(const tm_json_ctx *c, const tm_json *m, const char *where,
                               tm__pipeline_entry *e)
{
    char growth[16] = "";
    tm_status st = get_str(c, m, where, "growth", false, "leafwise|depthwise|oblivious", growth,
                           sizeof growth);
    if (st != TM_OK) {
        return st;
    }
    e->growth = strcmp(growth, "leafwise") == 0    ? TM_TRAIN_LEAFWISE
                : strcmp(growth, "depthwise") == 0 ? TM_TRAIN_DEPTHWISE
                                                   : TM_TRAIN_OBLIVIOUS;
    bool leafwise = e->growth == TM_TRAIN_LEAFWISE;
    st = get_int(c, m, where, "max_depth", 1, 16, leafwise, -1, &e->max_depth);
    st = st ? st : get_int(c, m, where, "num_leaves", 2, 4096, !leafwise, 0, &e->num_leaves);
    st = st ? st : get_num(c, m, where, "learning_rate", 0, 1, 0.1, &e->learning_rate);
    st = st ? st : get_int(c, m, where, "max_rounds", 1, 100000, true, 300, &e->max_rounds);
    st = st ? st : get_num(c, m, where, "col_subsample", 0, 1, 1.0, &e->col_subsample);
    st = st ? st : get_num(c, m, where, "row_subsample", 0, 1, 1.0, &e->row_subsample);
    return st;
}

/* Entry i of the registry into e. */
static tm_status read_entry(const tm_json_ctx *c, const tm_json *m, size_t i, tm__pipeline_entry *e)
{
    char where[32];
    snprintf(where, sizeof where, "models[%zu]", i);
    memset(e, 0, sizeof *e);
    if (!m || m->type != TM_JSON_OBJECT) {
        return tm_json_fail(c, TM_E_PARSE, m, NULL, where, "expected an object, found %s",
                            tm_json_type_name(m));
    }
    for (size_t k = 0; k < m->len; k++) {
        bool known = false;
        for (size_t q = 0; q < N_ENTRY_KEYS && !known; q++) {
            known = strcmp(m->keys[k], entry_keys[q]) == 0;
        }
        if (!known) {
            return tm_json_fail(c, TM_E_PARSE, m->items[k], where, m->keys[k],
                                "unknown field (a registry entry has name, family, growth, "
                                "max_depth, num_leaves, learning_rate, max_rounds, "
                                "col_subsample, row_subsample or file)");
        }
    }
    tm_status st = get_str(c, m, where, "name", false, NULL, e->name, sizeof e->name);
    st = st ? st
            : get_str(c, m, where, "family", false, "xgboost|lightgbm|catboost", e->family,
                      sizeof e->family);
    st = st ? st : get_str(c, m, where, "file", true, NULL, e->file, sizeof e->file);
    if (st != TM_OK || !e->file[0]) {
        return st ? st : trained_entry(c, m, where, e);
    }
    /* A model a real library exported is loaded as it is: training fields
     * would be ignored, so they are refused. */
    for (size_t q = 2; q < N_ENTRY_KEYS - 1; q++) {
        if (tm_json_get(m, entry_keys[q])) {
            return tm_json_fail(c, TM_E_PARSE, tm_json_get(m, entry_keys[q]), where, entry_keys[q],
                                "not used with 'file' (an exported model is not retrained)");
        }
    }
    return TM_OK;
}

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
    tm_json_ctx c = {path, true, err};
    const tm_json *arr = NULL;
    st = tm_json_member(&c, tm_json_root(doc), NULL, "models", TM_JSON_ARRAY, false, &arr);
    if (st == TM_OK && (arr->len == 0 || arr->len > TM__PIPELINE_MAX_MODELS)) {
        st = tm_json_fail(&c, TM_E_PARSE, arr, NULL, "models",
                          "expected an array of 1 to %d models, found %zu", TM__PIPELINE_MAX_MODELS,
                          arr->len);
    }
    for (size_t i = 0; st == TM_OK && i < arr->len; i++) {
        st = read_entry(&c, tm_json_at(arr, i), i, &p->reg[i]);
        for (size_t k = 0; st == TM_OK && k < i; k++) {
            if (strcmp(p->reg[k].name, p->reg[i].name) == 0) {
                char where[32];
                snprintf(where, sizeof where, "models[%zu]", i);
                st = tm_json_fail(&c, TM_E_PARSE, tm_json_get(tm_json_at(arr, i), "name"), where,
                                  "name", "\"%s\" is already the name of models[%zu]",
                                  p->reg[i].name, k);
            }
        }
    }
    p->n_reg = st == TM_OK ? arr->len : 0;
done:
    tm_json_doc_free(doc);
    tm_free(text);
    return st;
}
