/* The base-model registry: the 8 default models, or the entries of a
 * --registry JSON file, read strictly: a missing required field, an
 * unknown key, a value of the wrong type or out of range is a one-line
 * error naming the file, line and field, never a guess. Optional fields
 * have fixed defaults (by family, never by position). */
#include <math.h>
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

/* Longest model name: it becomes part of file names (base/g<N>_<name>). */
#define NAME_MAX_LEN 60

static const char *const trained_keys[] = {"name",       "family",        "growth",
                                           "max_depth",  "num_leaves",    "learning_rate",
                                           "max_rounds", "col_subsample", "row_subsample"};
static const char *const external_keys[] = {"name", "family", "file"};

/* Refuses a member of obj that is not in keys. */
static tm_status known_keys(const tm_json_ctx *c, const tm_json *obj, const char *where,
                            const char *const *keys, size_t n_keys, const char *what)
{
    for (size_t i = 0; i < obj->len; i++) {
        size_t k = 0;
        while (k < n_keys && strcmp(obj->keys[i], keys[k]) != 0) {
            k++;
        }
        if (k == n_keys) {
            return tm_json_fail(c, TM_E_PARSE, obj->items[i], where, obj->keys[i],
                                "unknown key in %s", what);
        }
    }
    return TM_OK;
}

/* A string member of 1 to cap - 1 bytes copied into out (untouched when
 * optional and missing). */
static tm_status member_str(const tm_json_ctx *c, const tm_json *obj, const char *where,
                            const char *key, bool optional, char *out, size_t cap)
{
    const tm_json *v = NULL;
    tm_status st = tm_json_member(c, obj, where, key, TM_JSON_STRING, optional, &v);
    if (st != TM_OK || !v) {
        return st;
    }
    if (v->len == 0 || v->len >= cap || memchr(v->str, 0, v->len)) {
        return tm_json_fail(c, TM_E_PARSE, v, where, key,
                            "expected 1 to %zu characters without NUL, found %zu", cap - 1, v->len);
    }
    memcpy(out, v->str, v->len + 1);
    return TM_OK;
}

/* A number member in (lo, hi] (lo_open) or [lo, hi]; dflt when missing. */
static tm_status member_range(const tm_json_ctx *c, const tm_json *obj, const char *where,
                              const char *key, double lo, bool lo_open, double hi, double dflt,
                              double *out)
{
    tm_status st = tm_json_member_num(c, obj, where, key, true, dflt, out);
    if (st == TM_OK && !(*out <= hi && (lo_open ? *out > lo : *out >= lo))) {
        return tm_json_fail(c, TM_E_PARSE, tm_json_get(obj, key), where, key,
                            "expected a number in %s%g, %g], found %g", lo_open ? "(" : "[", lo, hi,
                            *out);
    }
    return st;
}

/* name (a file-name-safe identifier) and family of entry e. */
static tm_status read_identity(const tm_json_ctx *c, const tm_json *m, const char *where,
                               tm__pipeline_entry *e)
{
    tm_status st = member_str(c, m, where, "name", false, e->name, NAME_MAX_LEN + 1);
    for (const char *s = e->name; st == TM_OK && *s; s++) {
        bool ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                  (*s >= '0' && *s <= '9') || *s == '_' || *s == '-';
        if (!ok) {
            st = tm_json_fail(c, TM_E_PARSE, tm_json_get(m, "name"), where, "name",
                              "expected letters, digits, '_' or '-', found \"%s\"", e->name);
        }
    }
    if (st == TM_OK) {
        st = member_str(c, m, where, "family", false, e->family, sizeof e->family);
    }
    if (st == TM_OK && strcmp(e->family, "xgboost") && strcmp(e->family, "lightgbm") &&
        strcmp(e->family, "catboost")) {
        st = tm_json_fail(c, TM_E_PARSE, tm_json_get(m, "family"), where, "family",
                          "expected xgboost, lightgbm or catboost, found \"%s\"", e->family);
    }
    return st;
}

/* The training settings of entry e; growth defaults to the family's own. */
static tm_status read_training(const tm_json_ctx *c, const tm_json *m, const char *where,
                               tm__pipeline_entry *e)
{
    char growth[16] = "";
    tm_status st = member_str(c, m, where, "growth", true, growth, sizeof growth);
    if (st != TM_OK) {
        return st;
    }
    if (!growth[0]) {
        e->growth = e->family[0] == 'x'   ? TM_TRAIN_DEPTHWISE
                    : e->family[0] == 'l' ? TM_TRAIN_LEAFWISE
                                          : TM_TRAIN_OBLIVIOUS;
    } else if (strcmp(growth, "depthwise") == 0) {
        e->growth = TM_TRAIN_DEPTHWISE;
    } else if (strcmp(growth, "leafwise") == 0) {
        e->growth = TM_TRAIN_LEAFWISE;
    } else if (strcmp(growth, "oblivious") == 0) {
        e->growth = TM_TRAIN_OBLIVIOUS;
    } else {
        return tm_json_fail(c, TM_E_PARSE, tm_json_get(m, "growth"), where, "growth",
                            "expected depthwise, leafwise or oblivious, found \"%s\"", growth);
    }
    /* The trainer's own limits, so an entry it would refuse halfway
     * through a retrain is refused here. */
    bool leafwise = e->growth == TM_TRAIN_LEAFWISE;
    int max_depth =
            e->growth == TM_TRAIN_OBLIVIOUS ? TM_TRAIN_MAX_DEPTH_OBLIVIOUS : TM_TRAIN_MAX_DEPTH;
    int64_t depth = 0, leaves = 0, rounds = 0;
    if ((st = tm_json_member_int(c, m, where, "max_depth", leafwise ? -1 : 1, max_depth, true,
                                 leafwise ? -1 : 6, &depth)) != TM_OK ||
        (st = tm_json_member_int(c, m, where, "num_leaves", 2, 131072, true, leafwise ? 31 : 0,
                                 &leaves)) != TM_OK ||
        (st = tm_json_member_int(c, m, where, "max_rounds", 1, 100000, true, 300, &rounds)) !=
                TM_OK ||
        (st = member_range(c, m, where, "learning_rate", TM_TRAIN_MIN_RATE, false, 1, 0.1,
                           &e->learning_rate)) != TM_OK ||
        (st = member_range(c, m, where, "col_subsample", TM_TRAIN_MIN_RATE, false, 1, 1.0,
                           &e->col_subsample)) != TM_OK ||
        (st = member_range(c, m, where, "row_subsample", TM_TRAIN_MIN_RATE, false, 1, 1.0,
                           &e->row_subsample)) != TM_OK) {
        return st;
    }
    e->max_depth = (int)depth;
    e->num_leaves = (int)leaves;
    e->max_rounds = (int)rounds;
    return TM_OK;
}

/* Entry i of the models array: trained by us, or an exported file. */
static tm_status read_entry(const tm_json_ctx *c, const tm_json *m, size_t i, tm__pipeline_entry *e)
{
    char where[32];
    snprintf(where, sizeof where, "models[%zu]", i);
    memset(e, 0, sizeof *e);
    tm_status st = tm_json_expect(c, m, m, "models", NULL, TM_JSON_OBJECT);
    if (st == TM_OK) {
        st = read_identity(c, m, where, e);
    }
    if (st == TM_OK) {
        st = member_str(c, m, where, "file", true, e->file, sizeof e->file);
    }
    if (st == TM_OK && e->file[0]) {
        return known_keys(c, m, where, external_keys, 3, "an exported-model entry");
    }
    if (st == TM_OK) {
        st = known_keys(c, m, where, trained_keys, 9, "a registry entry");
    }
    return st == TM_OK ? read_training(c, m, where, e) : st;
}

/* Registry file: {"models": [{"name": "...", "family": "xgboost",
 * "growth": "depthwise", "max_depth": 6, "num_leaves": 31,
 * "learning_rate": 0.05, "max_rounds": 300, "col_subsample": 0.8,
 * "row_subsample": 1.0} or {"name": "...", "family": "...", "file":
 * "model.json"}, ...]}; names distinct. */
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
    const tm_json *arr = NULL;
    tm_json_ctx c = {.path = path, .has_lines = true, .err = err};
    tm_status st = tm_file_read(path, &text, &len, err);
    if (st == TM_OK) {
        st = tm_json_parse(text, len, path, &doc, err);
    }
    if (st == TM_OK) {
        st = tm_json_expect(&c, tm_json_root(doc), tm_json_root(doc), NULL, NULL, TM_JSON_OBJECT);
    }
    if (st == TM_OK) {
        static const char *const top[] = {"models"};
        st = known_keys(&c, tm_json_root(doc), NULL, top, 1, "the registry");
    }
    if (st == TM_OK) {
        st = tm_json_member(&c, tm_json_root(doc), NULL, "models", TM_JSON_ARRAY, false, &arr);
    }
    if (st == TM_OK && (arr->len == 0 || arr->len > TM__PIPELINE_MAX_MODELS)) {
        st = tm_json_fail(&c, TM_E_PARSE, arr, NULL, "models",
                          "expected an array of 1 to %d models, found %zu", TM__PIPELINE_MAX_MODELS,
                          arr->len);
    }
    for (size_t i = 0; st == TM_OK && i < arr->len; i++) {
        st = read_entry(&c, arr->items[i], i, &p->reg[i]);
        for (size_t k = 0; st == TM_OK && k < i; k++) {
            if (strcmp(p->reg[k].name, p->reg[i].name) == 0) {
                char where[32];
                snprintf(where, sizeof where, "models[%zu]", i);
                st = tm_json_fail(&c, TM_E_PARSE, arr->items[i], where, "name",
                                  "expected distinct names, found \"%s\" twice", p->reg[i].name);
            }
        }
    }
    p->n_reg = st == TM_OK ? arr->len : 0;
    tm_json_doc_free(doc);
    tm_free(text);
    return st;
}
