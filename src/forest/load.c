/* Model loading entry points: read the file, recognise the format by its
 * content, and hand it to the family's loader. Also the names of families
 * and formats, and the option defaults. */
#include <string.h>

#include "forest/forest_int.h"

void tm_forest_load_opts_init(tm_forest_load_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->format = TM_FOREST_FORMAT_AUTO;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
        p++;
    }
    return p;
}

/* True when needle occurs in the first `window` bytes of data. */
static bool contains(const char *data, size_t len, const char *needle, size_t window)
{
    size_t n = strlen(needle);
    size_t lim = len < window ? len : window;
    for (size_t i = 0; i + n <= lim; i++) {
        if (data[i] == needle[0] && memcmp(data + i, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

/* True when [p, end) starts with lit. */
static bool starts(const char *p, const char *end, const char *lit)
{
    size_t n = strlen(lit);
    return (size_t)(end - p) >= n && memcmp(p, lit, n) == 0;
}

tm_forest_format tm_forest_detect(const void *data, size_t len)
{
    const char *s = data, *end = s + len;
    const char *p = skip_ws(s, end);
    if (p == end) {
        return TM_FOREST_FORMAT_AUTO;
    }
    if (*p == '{' && p + 1 < end && strchr("iUIlL", p[1]) && p == s) {
        return TM_FOREST_FORMAT_XGBOOST_UBJSON; /* binary: key length marker */
    }
    if (*p == '{') {
        if (contains(s, len, "\"learner\"", 1u << 20)) {
            return TM_FOREST_FORMAT_XGBOOST_JSON;
        }
        if (contains(s, len, "\"oblivious_trees\"", len) ||
            contains(s, len, "\"features_info\"", len)) {
            return TM_FOREST_FORMAT_CATBOOST_JSON;
        }
        return TM_FOREST_FORMAT_AUTO;
    }
    /* get_dump(dump_format="json"): an array of tree objects, or of the
     * per-tree JSON strings themselves (quotes escaped). */
    if (*p == '[' && (contains(s, len, "\"nodeid\"", 1u << 16) ||
                      contains(s, len, "\\\"nodeid\\\"", 1u << 16))) {
        return TM_FOREST_FORMAT_XGBOOST_DUMP_JSON;
    }
    if ((size_t)(end - p) >= 5 && memcmp(p, "tree", 4) == 0 && (p[4] == '\n' || p[4] == '\r')) {
        return TM_FOREST_FORMAT_LIGHTGBM;
    }
    /* dump_model() text, or get_dump() strings written without headers. */
    if (starts(p, end, "booster[") || starts(p, end, "0:[") || starts(p, end, "0:leaf=")) {
        return TM_FOREST_FORMAT_XGBOOST_DUMP_TEXT;
    }
    return TM_FOREST_FORMAT_AUTO;
}

tm_status tm_forest_load_mem(const void *data, size_t len, const char *path,
                             const tm_forest_load_opts *opts, tm_forest **out, tm_err *err)
{
    tm_forest_load_opts defaults;
    *out = NULL;
    if (!opts) {
        tm_forest_load_opts_init(&defaults);
        opts = &defaults;
    }
    if (len == 0) {
        return TM_ERR(err, TM_E_FORMAT, path, 0, NULL, "empty file: not a model");
    }
    tm_forest_format fmt = opts->format;
    if (fmt == TM_FOREST_FORMAT_AUTO) {
        fmt = tm_forest_detect(data, len);
        if (fmt == TM_FOREST_FORMAT_AUTO) {
            return TM_ERR(err, TM_E_FORMAT, path, 0, NULL,
                          "not a recognised model file (expected xgboost json/ubjson/dump, "
                          "lightgbm model.txt or catboost json)");
        }
    }
    const char *text = data;
    switch (fmt) {
    case TM_FOREST_FORMAT_XGBOOST_JSON:
        return tm__forest_load_xgboost_json(text, len, path, opts, out, err);
    case TM_FOREST_FORMAT_XGBOOST_UBJSON:
        return tm__forest_load_xgboost_ubjson(data, len, path, opts, out, err);
    case TM_FOREST_FORMAT_XGBOOST_DUMP_JSON:
        return tm__forest_load_xgboost_dump_json(text, len, path, opts, out, err);
    case TM_FOREST_FORMAT_XGBOOST_DUMP_TEXT:
        return tm__forest_load_xgboost_dump_text(text, len, path, opts, out, err);
    case TM_FOREST_FORMAT_LIGHTGBM:
        return tm__forest_load_lightgbm(text, len, path, opts, out, err);
    case TM_FOREST_FORMAT_CATBOOST_JSON:
        return tm__forest_load_catboost_json(text, len, path, opts, out, err);
    case TM_FOREST_FORMAT_AUTO:
        break;
    }
    return TM_ERR(err, TM_E_INVALID, path, 0, NULL, "unknown format");
}

tm_status tm_forest_load(const char *path, const tm_forest_load_opts *opts, tm_forest **out,
                         tm_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    tm_forest_load_opts o;
    *out = NULL;
    tm_status st = tm_file_read(path, &buf, &len, err);
    if (st != TM_OK) {
        return st;
    }
    if (opts) {
        o = *opts;
    } else {
        tm_forest_load_opts_init(&o);
    }
    if (o.format == TM_FOREST_FORMAT_AUTO && len) {
        o.format = tm_forest_detect(buf, len);
    }
    /* XGBoost JSON is parsed inside the buffer (tm_file_read ends it with
     * a NUL), which the loader takes over and frees early. */
    if (o.format == TM_FOREST_FORMAT_XGBOOST_JSON && len) {
        return tm__forest_load_xgboost_json_owned(buf, len, path, &o, out, err);
    }
    st = tm_forest_load_mem(buf, len, path, &o, out, err);
    tm_free(buf);
    return st;
}

const char *tm_forest_family_name(tm_forest_family family)
{
    switch (family) {
    case TM_FOREST_XGBOOST:
        return "xgboost";
    case TM_FOREST_LIGHTGBM:
        return "lightgbm";
    case TM_FOREST_CATBOOST:
        return "catboost";
    }
    return "unknown";
}

static const struct {
    const char *name;
    tm_forest_format format;
} format_names[] = {
        {"auto", TM_FOREST_FORMAT_AUTO},
        {"xgboost-json", TM_FOREST_FORMAT_XGBOOST_JSON},
        {"xgboost", TM_FOREST_FORMAT_AUTO}, /* any XGBoost file: detect which */
        {"xgboost-ubjson", TM_FOREST_FORMAT_XGBOOST_UBJSON},
        {"xgboost-dump-json", TM_FOREST_FORMAT_XGBOOST_DUMP_JSON},
        {"xgboost-dump-text", TM_FOREST_FORMAT_XGBOOST_DUMP_TEXT},
        {"lightgbm", TM_FOREST_FORMAT_LIGHTGBM},
        {"catboost", TM_FOREST_FORMAT_CATBOOST_JSON},
        {"catboost-json", TM_FOREST_FORMAT_CATBOOST_JSON},
};

const char *tm_forest_format_name(tm_forest_format format)
{
    for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++) {
        if (format_names[i].format == format) {
            return format_names[i].name;
        }
    }
    return "unknown";
}

bool tm_forest_format_parse(const char *s, tm_forest_format *out)
{
    for (size_t i = 0; i < sizeof format_names / sizeof format_names[0]; i++) {
        if (strcmp(format_names[i].name, s) == 0) {
            *out = format_names[i].format;
            return true;
        }
    }
    return false;
}
