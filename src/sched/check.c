/* `schedule check`: which jobs would run into each other over a horizon.
 * A job's window is its fire time plus an estimated duration (the longest
 * of its last 20 successful runs in job_runs, else the configured
 * estimate, else 60 s). Pairs sharing a resource that collide are
 * reported with what the daemon does: the later one waits. A job whose
 * window reaches its own next fire is reported too (max_instances = 1). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "sched/sched_int.h"

#define MAX_FIRES 200000

typedef struct jfires {
    const tm__sched_job *job;
    tm_sched_time *t;
    size_t n;
    bool truncated;
    int64_t est; /* microseconds */
    const char *est_from;
} jfires;

static const char *shared(const tm__sched_job *a, const tm__sched_job *b)
{
    for (size_t i = 0; i < a->n_resources; i++) {
        for (size_t k = 0; k < b->n_resources; k++) {
            if (strcmp(a->resources[i], b->resources[k]) == 0) {
                return a->resources[i];
            }
        }
    }
    return NULL;
}

static void human(int64_t us, char *buf, size_t len)
{
    double s = (double)us / 1e6;
    if (s >= 86400) {
        snprintf(buf, len, "%.1fd", s / 86400);
    } else if (s >= 3600) {
        snprintf(buf, len, "%.1fh", s / 3600);
    } else if (s >= 60) {
        snprintf(buf, len, "%.0fm", s / 60);
    } else {
        snprintf(buf, len, "%.0fs", s);
    }
}

static tm_status fires(const tm__sched_job *job, tm_sched_time from, tm_sched_time to, jfires *f,
                       tm_err *err)
{
    size_t cap = 0;
    tm_sched_time t = tm_sched_trigger_next(job->trigger, TM_SCHED_NEVER, from);
    while (t != TM_SCHED_NEVER && t < to) {
        if (f->n == MAX_FIRES) {
            f->truncated = true;
            break;
        }
        if (f->n == cap) {
            cap = cap ? cap * 2 : 64;
            tm_sched_time *v = tm_realloc_n(f->t, cap, sizeof *v);
            if (!v) {
                return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
            }
            f->t = v;
        }
        f->t[f->n++] = t;
        tm_sched_time nx = tm_sched_trigger_next(job->trigger, t, t);
        t = nx > t ? nx : TM_SCHED_NEVER;
    }
    return TM_OK;
}

/* Collisions of a's windows with b's (a == b: consecutive fires). */
static void pair(const jfires *a, const jfires *b, const char *res,
                 void (*fn)(void *, const char *), void *ctx, size_t *n_pairs)
{
    size_t count = 0, k = 0;
    int64_t max_wait = 0;
    tm_sched_time first_a = 0, first_b = 0;
    for (size_t i = 0; i < a->n; i++) {
        tm_sched_time ta = a->t[i];
        if (a == b) {
            if (i + 1 < a->n && a->t[i + 1] < ta + a->est) {
                if (!count++) {
                    first_a = ta;
                    first_b = a->t[i + 1];
                }
            }
            continue;
        }
        while (k < b->n && b->t[k] + b->est <= ta) {
            k++;
        }
        for (size_t m = k; m < b->n && b->t[m] < ta + a->est; m++) {
            tm_sched_time tb = b->t[m];
            int64_t wait = ta <= tb ? ta + a->est - tb : tb + b->est - ta;
            max_wait = wait > max_wait ? wait : max_wait;
            if (!count++) {
                first_a = ta;
                first_b = tb;
            }
        }
    }
    if (!count) {
        return;
    }
    (*n_pairs)++;
    char line[1024], ia[TM_SCHED_ISO_LEN], ib[TM_SCHED_ISO_LEN], ea[16], eb[16], w[16];
    human(a->est, ea, sizeof ea);
    human(b->est, eb, sizeof eb);
    human(max_wait, w, sizeof w);
    tm_sched_time_format(first_a, tm_sched_trigger_zone(a->job->trigger), ia, sizeof ia);
    tm_sched_time_format(first_b, tm_sched_trigger_zone(b->job->trigger), ib, sizeof ib);
    if (a == b) {
        snprintf(line, sizeof line,
                 "%s x %s: %zu collision%s: a run (estimate %s, %s) reaches the next fire, first "
                 "%s then %s; the daemon records that fire as max_instances (max_instances = 1)",
                 a->job->name, a->job->name, count, count == 1 ? "" : "s", ea, a->est_from, ia, ib);
    } else {
        bool a_first = first_a <= first_b;
        const jfires *e = a_first ? a : b, *l = a_first ? b : a;
        snprintf(line, sizeof line,
                 "%s x %s: %zu collision%s on resource '%s', first %s (%s, estimate %s, %s) "
                 "and %s (%s, estimate %s, %s); the daemon starts %s when %s ends, waiting up to "
                 "%s, and records the delay",
                 a->job->name, b->job->name, count, count == 1 ? "" : "s", res, a->job->name, ia,
                 ea, a->est_from, b->job->name, ib, eb, b->est_from, l->job->name, e->job->name, w);
    }
    fn(ctx, line);
}

tm_status tm_sched_check(const tm_sched_config *cfg, const char *db, tm_sched_time from,
                         double horizon_s, void (*fn)(void *ctx, const char *line), void *ctx,
                         size_t *n_pairs, tm_err *err)
{
    *n_pairs = 0;
    jfires *f = tm_calloc(cfg->n_jobs + 1, sizeof *f);
    if (!f) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    tm__sched_db *d = NULL;
    struct stat sb;
    tm_status st = TM_OK;
    if (db && stat(db, &sb) == 0) {
        st = tm__sched_db_open(db, true, &d, err);
    }
    if (st == TM_OK && !d) {
        fn(ctx, "no scheduler runs recorded yet: durations are the configured estimates");
    }
    tm_sched_time to = from + (int64_t)(horizon_s * 1e6);
    for (size_t i = 0; st == TM_OK && i < cfg->n_jobs; i++) {
        f[i].job = &cfg->jobs[i];
        double hist = -1;
        if (d) {
            st = tm__sched_db_estimate(d, f[i].job->name, &hist, err);
        }
        f[i].est_from = hist > 0                   ? "from job_runs"
                        : f[i].job->estimate_s > 0 ? "configured"
                                                   : "default";
        double est = hist > 0 ? hist : f[i].job->estimate_s > 0 ? f[i].job->estimate_s : 60;
        f[i].est = (int64_t)(est * 1e6);
        st = st == TM_OK ? fires(f[i].job, from, to, &f[i], err) : st;
        if (st == TM_OK && f[i].truncated) {
            char line[256];
            snprintf(line, sizeof line,
                     "%s: more than %d fires in the horizon; only those are checked",
                     f[i].job->name, MAX_FIRES);
            fn(ctx, line);
        }
    }
    for (size_t i = 0; st == TM_OK && i < cfg->n_jobs; i++) {
        pair(&f[i], &f[i], NULL, fn, ctx, n_pairs);
        for (size_t k = i + 1; k < cfg->n_jobs; k++) {
            const char *res = shared(f[i].job, f[k].job);
            if (res) {
                pair(&f[i], &f[k], res, fn, ctx, n_pairs);
            }
        }
    }
    for (size_t i = 0; i < cfg->n_jobs; i++) {
        tm_free(f[i].t);
    }
    tm_free(f);
    tm__sched_db_close(d);
    return st;
}
