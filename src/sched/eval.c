/* `schedule eval`: one JSON line in the fixtures' input form in, the same
 * line out with the output fields computed in place (new ones appended):
 * trigger cases (next, apscheduler_raw), validity cases (valid, error or
 * parsed, first_after_2026_01_01), misfire cases (next_run_time_before,
 * due, runs, skipped, coalesced, next) and gate cases (retrains, fires). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sched/sched_int.h"

#define MAX_OUT 8

/* Output fields: each key gets the JSON text to write (NULL: remove). */
typedef struct outset {
    const char *key[MAX_OUT];
    char *json[MAX_OUT];
    size_t n;
} outset;

static void out_set(outset *o, const char *key, tm__sched_jbuf *b)
{
    o->key[o->n] = key;
    o->json[o->n] = b ? tm__sched_jb_take(b) : NULL;
    o->n++;
}

static void out_free(outset *o)
{
    for (size_t i = 0; i < o->n; i++) {
        tm_free(o->json[i]);
    }
}

static const char *sget(const tm_json *obj, const char *key)
{
    const tm_json *v = tm_json_get(obj, key);
    return v && v->type == TM_JSON_STRING ? v->str : NULL;
}

/* The trigger from a kind and a "fields" object. */
static tm_status make_trigger(const char *kind, const tm_json *fields, tm_sched_trigger **t,
                              tm_err *err)
{
    tm_sched_kv kv[32];
    char nums[32][40]; /* number tokens are not NUL-terminated in the document */
    size_t n = 0;
    if (!fields || fields->type != TM_JSON_OBJECT || fields->len > 32) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, "fields", "fields: expected an object");
    }
    for (size_t i = 0; i < fields->len; i++) {
        const tm_json *v = fields->items[i];
        kv[n].key = fields->keys[i];
        kv[n].is_string = v->type == TM_JSON_STRING;
        if (v->type == TM_JSON_NULL) {
            kv[n].value = NULL;
        } else if (v->type == TM_JSON_BOOL) {
            kv[n].value = v->boolean ? "True" : "False";
        } else if (v->type == TM_JSON_NUMBER) {
            snprintf(nums[n], sizeof nums[n], "%.*s", (int)(v->len < 39 ? v->len : 39), v->str);
            kv[n].value = nums[n];
        } else if (v->type == TM_JSON_STRING) {
            kv[n].value = v->str;
        } else {
            return TM_ERR(err, TM_E_INVALID, NULL, 0, kv[n].key,
                          "TypeError: unsupported type for %s", kv[n].key);
        }
        n++;
    }
    return tm_sched_trigger_new(kind, kv, n, NULL, t, err);
}

static void invalid(outset *o, const tm_err *terr)
{
    tm__sched_jbuf b = {0};
    tm__sched_jb_cstr(&b, "false");
    out_set(o, "valid", &b);
    tm__sched_jb_str(&b, terr->reason, strlen(terr->reason));
    out_set(o, "error", &b);
}

static tm_status time_arg(const tm_json *c, const char *key, bool required, tm_sched_time *out,
                          tm_err *err)
{
    const tm_json *v = tm_json_get(c, key);
    *out = TM_SCHED_NEVER;
    if (!v || v->type == TM_JSON_NULL) {
        if (required) {
            return TM_ERR(err, TM_E_INVALID, NULL, 0, key, "missing time");
        }
        return TM_OK;
    }
    if (v->type != TM_JSON_STRING) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, key, "expected an ISO 8601 string");
    }
    return tm_sched_time_parse(v->str, NULL, out, err);
}

/* Builds the case's trigger into *t; an invalid one is answered in o (the
 * two output fields cleared) and leaves *t NULL. Fails only out of memory. */
static tm_status case_trigger(const tm_json *c, const char *kind, outset *o, const char *field1,
                              const char *field2, tm_sched_trigger **t, tm_err *err)
{
    tm_err terr;
    tm_err_init(&terr);
    *t = NULL;
    if (make_trigger(kind, tm_json_get(c, "fields"), t, &terr) != TM_OK) {
        *t = NULL;
        if (terr.status == TM_E_NOMEM) {
            return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
        }
        invalid(o, &terr);
        out_set(o, field1, NULL);
        out_set(o, field2, NULL);
    }
    return TM_OK;
}

static tm_status trigger_case(const tm_json *c, const char *kind, outset *o, tm_err *err)
{
    tm_sched_trigger *t = NULL;
    tm_status cs = case_trigger(c, kind, o, "next", "apscheduler_raw", &t, err);
    if (cs != TM_OK || !t) {
        return cs;
    }
    tm_sched_time now;
    tm_status st = time_arg(c, "after", true, &now, err);
    const tm_json *cnt = tm_json_get(c, "count");
    long count = cnt && cnt->type == TM_JSON_NUMBER ? (long)cnt->num : 10;
    if (st == TM_OK && (count < 0 || count > 100000)) {
        st = TM_ERR(err, TM_E_RANGE, NULL, 0, "count", "count must be 0..100000");
    }
    if (st != TM_OK) {
        tm_sched_trigger_free(t);
        return st;
    }
    tm__sched_jbuf next = {0}, raw = {0};
    bool differs = false;
    tm__sched_jb_raw(&next, "[", 1);
    tm__sched_jb_raw(&raw, "[", 1);
    tm_sched_time prev = TM_SCHED_NEVER;
    for (long k = 0; k < count; k++) {
        int64_t wall;
        int32_t off;
        tm_sched_time f = tm__sched_trigger_next_raw(t, prev, prev == TM_SCHED_NEVER ? now : prev,
                                                     &wall, &off);
        if (f == TM_SCHED_NEVER || (prev != TM_SCHED_NEVER && f <= prev)) {
            break;
        }
        char a[TM_SCHED_ISO_LEN], r[TM_SCHED_ISO_LEN];
        tm_sched_time_format(f, tm_sched_trigger_zone(t), a, sizeof a);
        tm__sched_format_wall(wall, off, r, sizeof r);
        differs = differs || strcmp(a, r) != 0;
        tm__sched_jb_cstr(&next, k ? ", " : "");
        tm__sched_jb_str(&next, a, strlen(a));
        tm__sched_jb_cstr(&raw, k ? ", " : "");
        tm__sched_jb_str(&raw, r, strlen(r));
        prev = f;
    }
    tm__sched_jb_raw(&next, "]", 1);
    tm__sched_jb_raw(&raw, "]", 1);
    out_set(o, "next", &next);
    out_set(o, "apscheduler_raw", differs ? &raw : NULL);
    tm_free(raw.p);
    out_set(o, "error", NULL);
    tm_sched_trigger_free(t);
    return TM_OK;
}

static tm_status validity_case(const tm_json *c, const char *kind, outset *o, tm_err *err)
{
    tm_sched_trigger *t = NULL;
    tm_status cs = case_trigger(c, kind, o, "parsed", "first_after_2026_01_01", &t, err);
    if (cs != TM_OK || !t) {
        return cs;
    }
    tm__sched_jbuf b = {0};
    tm__sched_jb_cstr(&b, "true");
    out_set(o, "valid", &b);
    out_set(o, "error", NULL);
    char desc[512];
    tm_sched_trigger_describe(t, desc, sizeof desc);
    tm__sched_jb_str(&b, desc, strlen(desc));
    out_set(o, "parsed", &b);
    tm__sched_fields f = {2026, 1, 1, 0, 0, 0, 0};
    tm_sched_time jan1 = tm_sched_zone_localize(t->tz, tm__sched_wall(&f));
    tm__sched_jb_time(&b, tm_sched_trigger_next(t, TM_SCHED_NEVER, jan1), tm_sched_trigger_zone(t));
    out_set(o, "first_after_2026_01_01", &b);
    tm_sched_trigger_free(t);
    return TM_OK;
}

/* Collects a wake-up's decisions as JSON arrays. */
typedef struct wake_lists {
    tm__sched_jbuf due, runs, skipped, coalesced;
    const tm_sched_zone *z;
} wake_lists;

static void list_add(tm__sched_jbuf *b, tm_sched_time t, const tm_sched_zone *z)
{
    tm__sched_jb_cstr(b, b->len > 1 ? ", " : "");
    tm__sched_jb_time(b, t, z);
}

static tm_status on_fire(void *ctx, tm_sched_time fire, tm_sched_fire_action a, tm_err *err)
{
    (void)err;
    wake_lists *w = ctx;
    list_add(&w->due, fire, w->z);
    list_add(a == TM_SCHED_FIRE_RUN      ? &w->runs
             : a == TM_SCHED_FIRE_MISSED ? &w->skipped
                                         : &w->coalesced,
             fire, w->z);
    return TM_OK;
}

static tm_status grace_arg(const tm_json *c, int64_t *grace, tm_err *err)
{
    const tm_json *g = tm_json_get(c, "misfire_grace_time");
    *grace = TM__US; /* APScheduler's default: 1 s */
    if (g && g->type == TM_JSON_NULL) {
        *grace = TM_SCHED_NO_GRACE;
    } else if (g && g->type == TM_JSON_NUMBER && g->num >= 0) {
        *grace = (int64_t)llround(g->num * 1e6);
    } else if (g) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, "misfire_grace_time",
                      "expected a number of seconds or null");
    }
    return TM_OK;
}

static tm_status misfire_case(const tm_json *c, tm_sched_trigger *t, outset *o, tm_err *err)
{
    int64_t grace;
    tm_sched_time last_run, added, now;
    tm_status st = grace_arg(c, &grace, err);
    const tm_json *co = tm_json_get(c, "coalesce");
    bool coalesce = !co || co->type != TM_JSON_BOOL || co->boolean;
    const char *mode = sget(c, "mode");
    bool restart = mode && strcmp(mode, "restart") == 0;
    if (st == TM_OK && mode && !restart && strcmp(mode, "resume") != 0) {
        st = TM_ERR(err, TM_E_INVALID, NULL, 0, "mode", "expected \"resume\" or \"restart\"");
    }
    st = st == TM_OK ? time_arg(c, "now", true, &now, err) : st;
    st = st == TM_OK ? time_arg(c, "last_run", false, &last_run, err) : st;
    st = st == TM_OK ? time_arg(c, "added", false, &added, err) : st;
    if (st != TM_OK) {
        return st;
    }
    const tm_sched_zone *z = tm_sched_trigger_zone(t);
    tm_sched_time nrt;
    wake_lists w = {.z = z};
    if (restart) {
        nrt = tm_sched_trigger_next(t, TM_SCHED_NEVER, now); /* re-added at now */
    } else if (last_run != TM_SCHED_NEVER) {
        /* Added at last_run and processed then: it ran on time. */
        wake_lists first = {.z = z};
        nrt = tm_sched_trigger_next(t, TM_SCHED_NEVER, last_run);
        st = tm_sched_wake(t, nrt, last_run, coalesce, grace, on_fire, &first, &nrt, err);
        tm_free(first.due.p);
        tm_free(first.runs.p);
        tm_free(first.skipped.p);
        tm_free(first.coalesced.p);
    } else {
        nrt = tm_sched_trigger_next(t, TM_SCHED_NEVER, added != TM_SCHED_NEVER ? added : now);
    }
    tm__sched_jbuf b = {0};
    tm__sched_jb_time(&b, nrt, z);
    out_set(o, "next_run_time_before", &b);
    tm__sched_jbuf *lists[4] = {&w.due, &w.runs, &w.skipped, &w.coalesced};
    for (int i = 0; i < 4; i++) {
        tm__sched_jb_raw(lists[i], "[", 1);
    }
    tm_sched_time next = nrt;
    if (st == TM_OK) {
        st = tm_sched_wake(t, nrt, now, coalesce, grace, on_fire, &w, &next, err);
    }
    static const char *const names[4] = {"due", "runs", "skipped", "coalesced"};
    for (int i = 0; i < 4; i++) {
        tm__sched_jb_raw(lists[i], "]", 1);
        out_set(o, names[i], lists[i]);
    }
    tm__sched_jb_time(&b, next, z);
    out_set(o, "next", &b);
    return st;
}

static tm_status gate_case(const tm_json *c, tm_sched_trigger *t, outset *o, tm_err *err);

tm_status tm_sched_eval_line(const char *line, size_t len, char **out, tm_err *err)
{
    *out = NULL;
    tm_json_doc *doc = NULL;
    tm_status st = tm_json_parse(line, len, "<eval>", &doc, err);
    if (st != TM_OK) {
        return st;
    }
    const tm_json *c = tm_json_root(doc);
    const tm_json *trig = tm_json_get(c, "trigger");
    outset o = {.n = 0};
    tm_sched_trigger *t = NULL;
    if (!c || c->type != TM_JSON_OBJECT || !trig) {
        st = TM_ERR(err, TM_E_INVALID, NULL, 0, "trigger", "expected an object with \"trigger\"");
    } else if (trig->type == TM_JSON_STRING) {
        st = tm_json_get(c, "after") ? trigger_case(c, trig->str, &o, err)
                                     : validity_case(c, trig->str, &o, err);
    } else if (trig->type == TM_JSON_OBJECT && sget(trig, "type")) {
        tm_err terr;
        tm_err_init(&terr);
        if (make_trigger(sget(trig, "type"), tm_json_get(trig, "fields"), &t, &terr) != TM_OK) {
            st = terr.status == TM_E_NOMEM ? TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory")
                                           : TM_OK;
            invalid(&o, &terr);
        } else if (tm_json_get(c, "gate_days") || tm_json_get(c, "policy")) {
            st = gate_case(c, t, &o, err);
        } else {
            st = misfire_case(c, t, &o, err);
        }
    } else {
        st = TM_ERR(err, TM_E_INVALID, NULL, 0, "trigger",
                    "expected a trigger name or {\"type\", \"fields\"}");
    }
    tm_sched_trigger_free(t);
    tm__sched_jbuf b = {0};
    bool used[MAX_OUT] = {false};
    tm__sched_jb_raw(&b, "{", 1);
    size_t written = 0;
    for (size_t i = 0; st == TM_OK && i < c->len; i++) {
        const tm_json *v = c->items[i];
        const char *json = NULL;
        bool drop = false;
        for (size_t k = 0; k < o.n; k++) {
            if (strcmp(o.key[k], c->keys[i]) == 0) {
                used[k] = true;
                json = o.json[k];
                drop = !json;
            }
        }
        if (drop) {
            continue;
        }
        tm__sched_jb_cstr(&b, written++ ? ", " : "");
        tm__sched_jb_str(&b, c->keys[i], strlen(c->keys[i]));
        tm__sched_jb_raw(&b, ": ", 2);
        if (json) {
            tm__sched_jb_cstr(&b, json);
        } else {
            tm__sched_jb_value(&b, v);
        }
    }
    for (size_t k = 0; st == TM_OK && k < o.n; k++) {
        if (!used[k] && o.json[k]) {
            tm__sched_jb_cstr(&b, written++ ? ", " : "");
            tm__sched_jb_str(&b, o.key[k], strlen(o.key[k]));
            tm__sched_jb_raw(&b, ": ", 2);
            tm__sched_jb_cstr(&b, o.json[k]);
        }
    }
    tm__sched_jb_raw(&b, "}", 1);
    out_free(&o);
    tm_json_doc_free(doc);
    if (st != TM_OK) {
        tm_free(b.p);
        return st;
    }
    *out = tm__sched_jb_take(&b);
    return *out ? TM_OK : TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
}

/* ---- gate cases ---------------------------------------------------------- */

static bool listed(const tm_json *arr, tm_sched_time t)
{
    for (size_t i = 0; arr && arr->type == TM_JSON_ARRAY && i < arr->len; i++) {
        tm_sched_time x;
        tm_err e;
        tm_err_init(&e);
        if (arr->items[i]->type == TM_JSON_STRING &&
            tm_sched_time_parse(arr->items[i]->str, NULL, &x, &e) == TM_OK && x == t) {
            return true;
        }
    }
    return false;
}

/* The outage rule: 0 runs on time, 1 runs late at *run_at, 2 missed. */
static tm_status outage(const tm_json *down, tm_sched_time t, int64_t grace, tm_sched_time *run_at,
                        int *verdict, tm_err *err)
{
    *verdict = 0;
    *run_at = t;
    for (size_t i = 0; down && down->type == TM_JSON_ARRAY && i < down->len; i++) {
        const tm_json *d = down->items[i];
        tm_sched_time s, e;
        tm_status st = time_arg(d, "start", true, &s, err);
        st = st == TM_OK ? time_arg(d, "end", true, &e, err) : st;
        if (st != TM_OK) {
            return st;
        }
        if (t < s || t >= e) {
            continue;
        }
        const char *mode = sget(d, "mode");
        if ((mode && strcmp(mode, "restart") == 0) ||
            (grace != TM_SCHED_NO_GRACE && e - t > grace)) {
            *verdict = 2;
        } else {
            *verdict = 1;
            *run_at = e;
        }
        return TM_OK;
    }
    return TM_OK;
}

static tm_status gate_case(const tm_json *c, tm_sched_trigger *t, outset *o, tm_err *err)
{
    int64_t grace;
    tm_status st = grace_arg(c, &grace, err);
    const tm_json *gd = tm_json_get(c, "gate_days");
    int64_t gate = (int64_t)llround((gd && gd->type == TM_JSON_NUMBER ? gd->num : 42) * 86400e6);
    const char *pol = sget(c, "policy");
    tm_sched_gate_policy policy = TM_SCHED_GATE_SCHEDULED;
    if (pol && strcmp(pol, "actual") == 0) {
        policy = TM_SCHED_GATE_ACTUAL;
    } else if (pol && strcmp(pol, "utc") == 0) {
        policy = TM_SCHED_GATE_UTC;
    } else if (pol && strcmp(pol, "scheduled") != 0) {
        st = TM_ERR(err, TM_E_INVALID, NULL, 0, "policy", "expected scheduled, actual or utc");
    }
    const tm_json *win = tm_json_get(c, "window");
    tm_sched_time w0, w1, last;
    if (st == TM_OK &&
        (!win || win->type != TM_JSON_ARRAY || win->len != 2 ||
         win->items[0]->type != TM_JSON_STRING || win->items[1]->type != TM_JSON_STRING)) {
        st = TM_ERR(err, TM_E_INVALID, NULL, 0, "window", "expected [start, end]");
    }
    st = st == TM_OK ? tm_sched_time_parse(win->items[0]->str, NULL, &w0, err) : st;
    st = st == TM_OK ? tm_sched_time_parse(win->items[1]->str, NULL, &w1, err) : st;
    st = st == TM_OK ? time_arg(c, "initial_last_success", false, &last, err) : st;
    const tm_sched_zone *z = tm_sched_trigger_zone(t);
    tm__sched_jbuf retrains = {0}, fires = {0};
    tm__sched_jb_raw(&retrains, "[", 1);
    tm__sched_jb_raw(&fires, "[", 1);
    tm_sched_time f = st == TM_OK ? tm_sched_trigger_next(t, TM_SCHED_NEVER, w0) : TM_SCHED_NEVER;
    for (; st == TM_OK && f != TM_SCHED_NEVER && f <= w1; f = tm_sched_trigger_next(t, f, f)) {
        tm_sched_time run_at;
        int verdict;
        st = outage(tm_json_get(c, "down"), f, grace, &run_at, &verdict, err);
        tm__sched_jb_cstr(&fires, fires.len > 1 ? ", {\"fire\": " : "{\"fire\": ");
        tm__sched_jb_time(&fires, f, z);
        if (verdict == 2) {
            tm__sched_jb_cstr(&fires, ", \"action\": \"missed\"}");
            continue;
        }
        if (verdict == 1) {
            tm__sched_jb_cstr(&fires, ", \"run_at\": ");
            tm__sched_jb_time(&fires, run_at, z);
        }
        tm_sched_time d = policy == TM_SCHED_GATE_ACTUAL ? run_at : f;
        const char *action = "retrained";
        if (last != TM_SCHED_NEVER) {
            int64_t since = tm_sched_gate_since(tm_sched_trigger_zone(t), policy, d, last);
            char num[64];
            snprintf(num, sizeof num, ", \"since_last_s\": %lld", (long long)(since / TM__US));
            tm__sched_jb_cstr(&fires, num);
            if (since < gate) {
                action = "gate_skip";
            }
        }
        if (strcmp(action, "retrained") == 0 && listed(tm_json_get(c, "failures"), f)) {
            action = "failed";
        }
        if (strcmp(action, "retrained") == 0) {
            list_add(&retrains, f, z);
            last = d;
        }
        tm__sched_jb_cstr(&fires, ", \"action\": \"");
        tm__sched_jb_cstr(&fires, action);
        tm__sched_jb_cstr(&fires, "\"}");
    }
    tm__sched_jb_raw(&retrains, "]", 1);
    tm__sched_jb_raw(&fires, "]", 1);
    out_set(o, "retrains", &retrains);
    out_set(o, "fires", &fires);
    return st;
}
