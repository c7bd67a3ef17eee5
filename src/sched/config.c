/* The scheduler config file: global `key = value` lines, then one
 * `[job NAME]` section per job with its trigger arguments (APScheduler's
 * keyword names), command, misfire policy, timeout and resources. A file
 * with no job sections gets the five TurboMode jobs of DESIGN.md. Every
 * error names the file, the line and the reason. Placeholders: expand.c. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched_int.h"

static const char default_jobs[] =
        "[job overnight_scan]\n"
        "command = {turbomode} scan --db {db} --as-of {as_of}\n"
        "hour = 23\nminute = 0\nmisfire_grace_time = 3600\nskip_exit = 3\n"
        "timeout = 2h\nestimate = 30m\nresources = database, signals\n"
        "[job outcome_tracker]\n"
        "command = {turbomode} track-outcomes --db {db} --as-of {as_of}\n"
        "hour = 2\nminute = 0\nmisfire_grace_time = 3600\nskip_exit = 3\n"
        "timeout = 1h\nestimate = 10m\nresources = database, signal_outcomes\n"
        "[job sample_generator]\n"
        "command = {turbomode} generate-samples --db {db} --as-of {as_of}\n"
        "day_of_week = sun\nhour = 3\nminute = 0\nmisfire_grace_time = 3600\nskip_exit = 3\n"
        "timeout = 2h\nestimate = 15m\nresources = database, training_samples\n"
        "[job meta_retrain]\n"
        "command = {turbomode} meta-retrain --db {db} --as-of {as_of}\n"
        "day_of_week = sun\nhour = 23\nminute = 45\nstart_date = 2026-02-22 23:45:00\n"
        "misfire_grace_time = 3600\nskip_exit = 3\n"
        "timeout = 4h\nestimate = 30m\nresources = database, meta_predictions, meta_model\n"
        "[job model_retrain]\n"
        "command = {turbomode} model-retrain --db {db} --as-of {as_of}\n"
        "day = 1\nhour = 4\nminute = 0\nmisfire_grace_time = 3600\nskip_exit = 3\n"
        "timeout = 8h\nestimate = 2h\nresources = database, base_models, meta_model, "
        "meta_predictions\n";

static const char *const trigger_args[] = {
        "year",    "month",      "day",      "week",     "day_of_week", "hour",
        "minute",  "second",     "weeks",    "days",     "hours",       "minutes",
        "seconds", "start_date", "end_date", "run_date", "timezone"};
#define N_TRIGGER_ARGS (sizeof trigger_args / sizeof trigger_args[0])
static const char *const job_keys[] = {"trigger",  "command",       "misfire_grace_time",
                                       "coalesce", "max_instances", "timeout",
                                       "estimate", "skip_exit",     "resources"};
static const char *const global_keys[] = {"timezone", "db",         "state_file", "lock_file",
                                          "log_dir",  "stop_grace", "kill_grace", "turbomode"};

typedef struct kvline {
    char *key, *value;
    long line;
} kvline;

/* One [job] section while it is being read. */
typedef struct section {
    char *name;
    long line;
    kvline kv[64];
    size_t n;
} section;

typedef struct parser {
    const char *path;
    tm_sched_config *cfg;
    char *tz; /* global timezone */
} parser;

static bool in_list(const char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], s) == 0) {
            return true;
        }
    }
    return false;
}

static tm_status set_str(char **dst, const char *v, tm_err *err)
{
    char *c = tm_strdup(v);
    if (!c) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    tm_free(*dst);
    *dst = c;
    return TM_OK;
}

static tm_status fail(const parser *p, long line, const char *field, tm_err *err, const char *why)
{
    return TM_ERR(err, TM_E_INVALID, p->path, line, field, "%s", why);
}

static const kvline *lookup(const section *s, const char *key)
{
    const kvline *hit = NULL;
    for (size_t i = 0; i < s->n; i++) {
        if (strcmp(s->kv[i].key, key) == 0) {
            hit = &s->kv[i];
        }
    }
    return hit;
}

static tm_status duration(const parser *p, const kvline *kv, double *out, tm_err *err)
{
    tm_err e;
    tm_err_init(&e);
    if (tm_sched_duration_parse(kv->value, out, &e) != TM_OK) {
        return fail(p, kv->line, kv->key, err, e.reason);
    }
    return TM_OK;
}

/* APScheduler's message, lower-cased at the start, without "ValueError: ". */
static tm_status trigger_error(const parser *p, const section *s, const tm_err *e, tm_err *err)
{
    const char *r = e->reason;
    if (strncmp(r, "UnknownTimeZoneError: ", 22) == 0) {
        char why[300];
        snprintf(why, sizeof why, "unknown timezone %s", r + 22);
        const kvline *tz = lookup(s, "timezone");
        return fail(p, tz ? tz->line : s->line, "timezone", err, why);
    }
    const char *colon = strstr(r, "Error: ");
    if (colon && colon - r < 24) {
        r = colon + 7;
    }
    char why[512];
    snprintf(why, sizeof why, "%s", r);
    why[0] = (char)tolower((unsigned char)why[0]);
    const kvline *kv = e->field[0] ? lookup(s, e->field) : NULL;
    if (e->status == TM_E_NOMEM) {
        return TM_ERR(err, TM_E_NOMEM, p->path, 0, NULL, "out of memory");
    }
    return fail(p, kv ? kv->line : s->line, e->field[0] ? e->field : NULL, err, why);
}

static tm_status build_trigger(const parser *p, const section *s, tm__sched_job *job, tm_err *err)
{
    const kvline *tk = lookup(s, "trigger");
    const char *kind = tk ? tk->value : "cron";
    if (strcmp(kind, "cron") && strcmp(kind, "interval") && strcmp(kind, "date")) {
        return fail(p, tk->line, "trigger", err, "expected cron, interval or date");
    }
    static const char *const cron_only[] = {"year",        "month", "day",    "week",
                                            "day_of_week", "hour",  "minute", "second"};
    static const char *const interval_only[] = {"weeks", "days", "hours", "minutes", "seconds"};
    tm_sched_kv kv[64];
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++) {
        const kvline *l = &s->kv[i];
        if (!in_list(trigger_args, N_TRIGGER_ARGS, l->key)) {
            continue;
        }
        bool ok = strcmp(l->key, "timezone") == 0 ||
                  (strcmp(kind, "cron") == 0 &&
                   (in_list(cron_only, 8, l->key) || !strcmp(l->key, "start_date") ||
                    !strcmp(l->key, "end_date"))) ||
                  (strcmp(kind, "interval") == 0 &&
                   (in_list(interval_only, 5, l->key) || !strcmp(l->key, "start_date") ||
                    !strcmp(l->key, "end_date"))) ||
                  (strcmp(kind, "date") == 0 && !strcmp(l->key, "run_date"));
        if (!ok) {
            char why[128];
            snprintf(why, sizeof why, "does not apply to a %s trigger", kind);
            return fail(p, l->line, l->key, err, why);
        }
        kv[n].key = l->key;
        kv[n].value = l->value;
        kv[n].is_string = !in_list(interval_only, 5, l->key);
        n++;
    }
    tm_err e;
    tm_err_init(&e);
    if (tm_sched_trigger_new(kind, kv, n, p->tz, &job->trigger, &e) != TM_OK) {
        return trigger_error(p, s, &e, err);
    }
    return TM_OK;
}

static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

static tm_status resources(const parser *p, const kvline *kv, tm__sched_job *job, tm_err *err)
{
    const char *s = kv->value;
    while (*s) {
        while (*s == ' ' || *s == ',') {
            s++;
        }
        const char *b = s;
        while (name_char(*s)) {
            s++;
        }
        if (s == b && *s) {
            return fail(p, kv->line, kv->key, err,
                        "expected resource names (letters, digits, _ - .) separated by commas");
        }
        if (s == b) {
            break;
        }
        char **r = tm_realloc_n(job->resources, job->n_resources + 1, sizeof *r);
        if (!r) {
            return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
        }
        job->resources = r;
        if (!(r[job->n_resources] = tm_strndup(b, (size_t)(s - b)))) {
            return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
        }
        job->n_resources++;
    }
    return TM_OK;
}

static tm_status job_options(const parser *p, const section *s, tm__sched_job *job, tm_err *err)
{
    const kvline *kv;
    tm_status st = TM_OK;
    job->grace_us = 3600 * TM__US;
    job->coalesce = true;
    job->timeout_s = 6 * 3600;
    if ((kv = lookup(s, "misfire_grace_time"))) {
        double g;
        if (strcmp(kv->value, "none") == 0) {
            job->grace_us = TM_SCHED_NO_GRACE;
        } else if ((st = duration(p, kv, &g, err)) == TM_OK) {
            job->grace_us = (int64_t)(g * 1e6 + 0.5);
        }
    }
    if (st == TM_OK && (kv = lookup(s, "coalesce"))) {
        bool t = !strcmp(kv->value, "true") || !strcmp(kv->value, "yes") || !strcmp(kv->value, "1");
        bool f = !strcmp(kv->value, "false") || !strcmp(kv->value, "no") || !strcmp(kv->value, "0");
        job->coalesce = t;
        if (!t && !f) {
            st = fail(p, kv->line, kv->key, err, "expected true or false");
        }
    }
    if (st == TM_OK && (kv = lookup(s, "max_instances")) && strcmp(kv->value, "1") != 0) {
        st = fail(p, kv->line, kv->key, err, "only max_instances = 1 is supported");
    }
    if (st == TM_OK && (kv = lookup(s, "timeout"))) {
        st = duration(p, kv, &job->timeout_s, err);
        if (st == TM_OK && job->timeout_s <= 0) {
            st = fail(p, kv->line, kv->key, err, "the timeout must be positive");
        }
    }
    if (st == TM_OK && (kv = lookup(s, "estimate"))) {
        st = duration(p, kv, &job->estimate_s, err);
    }
    job->skip_exit = -1;
    if (st == TM_OK && (kv = lookup(s, "skip_exit"))) {
        char *end;
        long c = strtol(kv->value, &end, 10);
        job->skip_exit = (int)c;
        if (end == kv->value || *end || c < 1 || c > 255) {
            st = fail(p, kv->line, kv->key, err, "expected an exit status 1..255");
        }
    }
    if (st == TM_OK && (kv = lookup(s, "resources"))) {
        st = resources(p, kv, job, err);
    }
    return st;
}

static void job_fini(tm__sched_job *job)
{
    tm_free(job->name);
    tm_free(job->command);
    tm_sched_trigger_free(job->trigger);
    for (size_t i = 0; i < job->n_resources; i++) {
        tm_free(job->resources[i]);
    }
    tm_free(job->resources);
}

static tm_status finish_section(parser *p, section *s, tm_err *err)
{
    for (size_t i = 0; i < p->cfg->n_jobs; i++) {
        if (strcmp(p->cfg->jobs[i].name, s->name) == 0) {
            return fail(p, s->line, NULL, err, "a job with this name is already defined");
        }
    }
    const kvline *cmd = lookup(s, "command");
    if (!cmd || !*cmd->value) {
        char why[256];
        snprintf(why, sizeof why, "job '%s' has no command", s->name);
        return fail(p, cmd ? cmd->line : s->line, "command", err, why);
    }
    tm__sched_job job;
    memset(&job, 0, sizeof job);
    job.line = s->line;
    tm_status st = build_trigger(p, s, &job, err);
    st = st == TM_OK ? job_options(p, s, &job, err) : st;
    if (st == TM_OK &&
        (!(job.name = tm_strdup(s->name)) || !(job.command = tm_strdup(cmd->value)))) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    tm__sched_job *jobs =
            st == TM_OK ? tm_realloc_n(p->cfg->jobs, p->cfg->n_jobs + 1, sizeof job) : NULL;
    if (st == TM_OK && !jobs) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    if (st != TM_OK) {
        job_fini(&job);
        return st;
    }
    p->cfg->jobs = jobs;
    jobs[p->cfg->n_jobs++] = job;
    return TM_OK;
}

static void section_reset(section *s)
{
    for (size_t i = 0; i < s->n; i++) {
        tm_free(s->kv[i].key);
        tm_free(s->kv[i].value);
    }
    tm_free(s->name);
    memset(s, 0, sizeof *s);
}

static tm_status global_key(parser *p, const char *key, const char *value, long line, tm_err *err)
{
    tm_sched_config *c = p->cfg;
    tm_err e;
    tm_err_init(&e);
    if (strcmp(key, "timezone") == 0) {
        tm_sched_zone *z;
        if (tm_sched_zone_load(value, &z, &e) != TM_OK) {
            char why[300];
            snprintf(why, sizeof why, "unknown timezone '%s'", value);
            return fail(p, line, key, err, why);
        }
        tm_sched_zone_free(z);
        return set_str(&p->tz, value, err);
    }
    if (strcmp(key, "stop_grace") == 0 || strcmp(key, "kill_grace") == 0) {
        double *d = key[0] == 's' ? &c->stop_grace_s : &c->kill_grace_s;
        if (tm_sched_duration_parse(value, d, &e) != TM_OK) {
            return fail(p, line, key, err, e.reason);
        }
        return TM_OK;
    }
    if (strcmp(key, "db") == 0) {
        return set_str(&c->db, value, err);
    }
    if (strcmp(key, "turbomode") == 0) {
        return set_str(&c->binary, value, err);
    }
    if (strcmp(key, "state_file") == 0) {
        c->state_set = true;
        return set_str(&c->state, value, err);
    }
    if (strcmp(key, "lock_file") == 0) {
        c->lock_set = true;
        return set_str(&c->lock, value, err);
    }
    c->log_dir_set = true;
    return set_str(&c->log_dir, value, err);
}

static tm_status parse_line(parser *p, section *s, char *line, long lineno, tm_err *err)
{
    char *b = line, *e = line + strlen(line);
    while (*b == ' ' || *b == '\t') {
        b++;
    }
    while (e > b && isspace((unsigned char)e[-1])) {
        *--e = 0;
    }
    if (!*b || *b == '#' || *b == ';') {
        return TM_OK;
    }
    if (*b == '[') {
        tm_status st = s->name ? finish_section(p, s, err) : TM_OK;
        section_reset(s);
        if (st != TM_OK) {
            return st;
        }
        char *nm = b + 1;
        if (strncmp(nm, "job ", 4) != 0 || e[-1] != ']') {
            return fail(p, lineno, NULL, err, "expected a section header [job NAME]");
        }
        nm += 4;
        e[-1] = 0;
        while (*nm == ' ') {
            nm++;
        }
        size_t len = strlen(nm);
        while (len && nm[len - 1] == ' ') {
            nm[--len] = 0;
        }
        for (size_t i = 0; i < len; i++) {
            if (!name_char(nm[i])) {
                len = 0;
            }
        }
        if (!len) {
            return fail(p, lineno, NULL, err,
                        "a job name is letters, digits, '_', '-' or '.', as in [job nightly_scan]");
        }
        s->line = lineno;
        return (s->name = tm_strdup(nm)) ? TM_OK
                                         : TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    char *eq = strchr(b, '=');
    if (!eq) {
        return fail(p, lineno, NULL, err, "expected 'key = value' or '[job NAME]'");
    }
    char *k = b, *ke = eq, *v = eq + 1;
    while (ke > k && isspace((unsigned char)ke[-1])) {
        ke--;
    }
    *ke = 0;
    while (*v == ' ' || *v == '\t') {
        v++;
    }
    if (!s->name) {
        if (!in_list(global_keys, sizeof global_keys / sizeof global_keys[0], k)) {
            char why[300];
            snprintf(why, sizeof why, "unknown field '%s' (before any [job] section)", k);
            return fail(p, lineno, k, err, why);
        }
        return global_key(p, k, v, lineno, err);
    }
    if (strcmp(k, "gate_days") == 0) {
        return fail(p, lineno, k, err,
                    "the retrain gate belongs to the job, not the schedule (the job exits "
                    "with its skip_exit status when its gate holds it back)");
    }
    if (!in_list(job_keys, sizeof job_keys / sizeof job_keys[0], k) &&
        !in_list(trigger_args, N_TRIGGER_ARGS, k)) {
        char why[300];
        snprintf(why, sizeof why, "unknown field '%s'", k);
        return fail(p, lineno, k, err, why);
    }
    if (lookup(s, k)) {
        return fail(p, lineno, k, err, "given twice in this job");
    }
    if (s->n == sizeof s->kv / sizeof s->kv[0]) {
        return fail(p, lineno, k, err, "too many fields in one job");
    }
    kvline *kv = &s->kv[s->n];
    kv->line = lineno;
    kv->key = tm_strdup(k);
    kv->value = tm_strdup(v);
    s->n++;
    return kv->key && kv->value ? TM_OK : TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
}

static tm_status parse_text(parser *p, const char *text, size_t len, tm_err *err)
{
    section s;
    memset(&s, 0, sizeof s);
    tm_status st = TM_OK;
    long lineno = 0;
    const char *at = text, *end = text + len;
    /* A UTF-8 byte order mark (editors on some systems write one) is not
     * part of the first line. */
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
        at += 3;
    }
    while (st == TM_OK && at < end) {
        const char *nl = memchr(at, '\n', (size_t)(end - at));
        size_t n = nl ? (size_t)(nl - at) : (size_t)(end - at);
        char *line = tm_strndup(at, n);
        lineno++;
        if (!line) {
            st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
            break;
        }
        if (memchr(at, 0, n)) {
            st = fail(p, lineno, NULL, err, "NUL byte in a text file");
        } else {
            st = parse_line(p, &s, line, lineno, err);
        }
        tm_free(line);
        at += n + 1;
    }
    if (st == TM_OK && s.name) {
        st = finish_section(p, &s, err);
    }
    section_reset(&s);
    return st;
}

static tm_status derive_paths(tm_sched_config *c, tm_err *err)
{
    char buf[4096];
    struct {
        bool set;
        char **dst;
        const char *suffix;
    } d[3] = {{c->state_set, &c->state, ".sched.json"},
              {c->lock_set, &c->lock, ".lock"},
              {c->log_dir_set, &c->log_dir, ".logs"}};
    for (int i = 0; i < 3; i++) {
        if (!d[i].set) {
            snprintf(buf, sizeof buf, "%s%s", c->db, d[i].suffix);
            if (set_str(d[i].dst, buf, err) != TM_OK) {
                return TM_E_NOMEM;
            }
        }
    }
    return TM_OK;
}

tm_status tm_sched_config_parse(const char *text, size_t len, const char *path,
                                tm_sched_config **out, tm_err *err)
{
    *out = NULL;
    tm_sched_config *c = tm_calloc(1, sizeof *c);
    parser p = {path, c, NULL};
    if (!c) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    c->stop_grace_s = 60;
    c->kill_grace_s = 10;
    tm_status st = TM_OK;
    if (path && !(c->path = tm_strdup(path))) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    st = st == TM_OK ? set_str(&c->db, "data/turbomode.db", err) : st;
    st = st == TM_OK ? set_str(&c->binary, "turbomode", err) : st;
    st = st == TM_OK ? parse_text(&p, text, len, err) : st;
    if (st == TM_OK && c->n_jobs == 0) {
        p.path = "<built-in jobs>";
        st = parse_text(&p, default_jobs, sizeof default_jobs - 1, err);
    }
    st = st == TM_OK ? derive_paths(c, err) : st;
    tm_free(p.tz);
    if (st != TM_OK) {
        tm_sched_config_free(c);
        return st;
    }
    *out = c;
    return TM_OK;
}

tm_status tm_sched_config_load(const char *path, tm_sched_config **out, tm_err *err)
{
    *out = NULL;
    if (!path) {
        return tm_sched_config_parse("", 0, NULL, out, err);
    }
    char *text = NULL;
    size_t len = 0;
    tm_status st = tm_file_read(path, &text, &len, err);
    if (st == TM_OK) {
        st = tm_sched_config_parse(text, len, path, out, err);
    }
    tm_free(text);
    return st;
}

void tm_sched_config_free(tm_sched_config *cfg)
{
    if (!cfg) {
        return;
    }
    for (size_t i = 0; i < cfg->n_jobs; i++) {
        job_fini(&cfg->jobs[i]);
    }
    tm_free(cfg->jobs);
    tm_free(cfg->path);
    tm_free(cfg->db);
    tm_free(cfg->state);
    tm_free(cfg->lock);
    tm_free(cfg->log_dir);
    tm_free(cfg->binary);
    tm_free(cfg);
}

tm_status tm_sched_config_set_db(tm_sched_config *cfg, const char *db, tm_err *err)
{
    tm_status st = set_str(&cfg->db, db, err);
    return st == TM_OK ? derive_paths(cfg, err) : st;
}

tm_status tm_sched_config_set_state_path(tm_sched_config *cfg, const char *path, tm_err *err)
{
    tm_status st = set_str(&cfg->state, path, err);
    cfg->state_set = cfg->state_set || st == TM_OK;
    return st;
}

tm_status tm_sched_config_set_binary(tm_sched_config *cfg, const char *bin, tm_err *err)
{
    return set_str(&cfg->binary, bin, err);
}
