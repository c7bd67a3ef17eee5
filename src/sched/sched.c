/* Opening a scheduler: the single-instance lock first, then the database,
 * recovery of what a killed daemon left (rows still 'running' or
 * 'waiting' become 'interrupted' and leftover child process groups are
 * stopped), and the job states from the state file reconciled with
 * job_runs. Also reload (SIGHUP), stop requests and closing. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "sched/sched_loop.h"

void tm_sched_options_init(tm_sched_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->lock = true;
    opt->durable = true;
}

typedef struct leftover {
    int64_t id, pid, pid_start;
    bool running;
} leftover;

typedef struct leftovers {
    leftover *v;
    size_t n;
    bool oom;
} leftovers;

static void collect(void *ctx, int64_t id, const char *status, int64_t pid, int64_t pid_start)
{
    leftovers *l = ctx;
    leftover *v = tm_realloc_n(l->v, l->n + 1, sizeof *v);
    if (!v) {
        l->oom = true;
        return;
    }
    l->v = v;
    v[l->n++] = (leftover){id, pid, pid_start, strcmp(status, "running") == 0};
}

static tm_status recover(tm_sched *s, tm_sched_time now, tm_err *err)
{
    leftovers l = {NULL, 0, false};
    tm_status st = tm__sched_db_unfinished(s->db, collect, &l, err);
    if (st == TM_OK && l.oom) {
        st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    char when[TM_SCHED_ISO_LEN];
    tm_sched_time_format(now, NULL, when, sizeof when);
    for (size_t i = 0; st == TM_OK && i < l.n; i++) {
        if (l.v[i].running && s->proc && s->exec.ctx == s->proc) {
            tm__sched_kill_leftover(l.v[i].pid, l.v[i].pid_start, s->cfg->kill_grace_s);
        }
        const char *msg = l.v[i].running
                                  ? "the daemon died during the run; found and stopped at start-up"
                                  : "the daemon died before the run started";
        st = tm__sched_db_finish(s->db, l.v[i].id, "interrupted", now, when, -1000, msg, "", err);
        tm__sched_log(s, "recovered run %lld: interrupted (%s)", (long long)l.v[i].id, msg);
    }
    tm_free(l.v);
    return st;
}

static const tm__sched_jstate *saved_state(const tm__sched_jstate *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i].name, name) == 0) {
            return &v[i];
        }
    }
    return NULL;
}

/* The runtime states for cfg's jobs: carried over from `old` (reload) or
 * from the saved state and job_runs (open). */
static tm_status build_jobs(tm_sched *s, const tm_sched_config *cfg, const tm__sched_jstate *saved,
                            size_t n_saved, tm__sched_jrun *old, size_t n_old, tm_sched_time now,
                            tm_err *err)
{
    tm__sched_jrun *v = tm_calloc(cfg->n_jobs + n_old + 1, sizeof *v);
    bool *taken = tm_calloc(n_old + 1, sizeof *taken);
    size_t n = 0;
    if (!v || !taken) {
        tm_free(v);
        tm_free(taken);
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    for (size_t i = 0; i < cfg->n_jobs; i++) {
        const tm__sched_job *job = &cfg->jobs[i];
        tm__sched_jrun *j = &v[n++];
        const char *sig = tm__sched_trigger_sig(job->trigger);
        const tm__sched_jstate *sv = saved_state(saved, n_saved, job->name);
        tm__sched_jrun *o = NULL;
        for (size_t k = 0; k < n_old; k++) {
            if (!taken[k] && !old[k].removed && strcmp(old[k].st.name, job->name) == 0) {
                o = &old[k];
                taken[k] = true;
            }
        }
        if (o) {
            *j = *o;
            sv = &j->st;
        }
        j->job = job;
        bool same = sv && strcmp(sv->sig, sig) == 0;
        snprintf(j->st.name, sizeof j->st.name, "%s", job->name);
        snprintf(j->st.sig, sizeof j->st.sig, "%s", sig);
        j->st.last_success = sv ? sv->last_success : TM_SCHED_NEVER;
        j->st.next_run =
                same ? sv->next_run : tm_sched_trigger_next(job->trigger, TM_SCHED_NEVER, now);
        if (o || (sv && !same)) {
            continue;
        }
        tm_sched_time last_fire, last_ok;
        tm_status st = tm__sched_db_last(s->db, job->name, &last_fire, &last_ok, err);
        if (st != TM_OK) {
            tm_free(v);
            tm_free(taken);
            return st;
        }
        if (last_fire != TM_SCHED_NEVER &&
            (!sv || (j->st.next_run != TM_SCHED_NEVER && last_fire >= j->st.next_run))) {
            /* job_runs is ahead of the state file (or it is gone): resume there,
             * but never before the trigger's first fire (start_date): rows
             * written under another schedule are not this job's history. */
            tm_sched_time first = tm_sched_trigger_next(job->trigger, TM_SCHED_NEVER, last_fire);
            j->st.next_run = tm_sched_trigger_next(job->trigger, last_fire, last_fire);
            if (first != TM_SCHED_NEVER && j->st.next_run != TM_SCHED_NEVER &&
                j->st.next_run < first) {
                j->st.next_run = first;
            }
        }
        if (last_ok != TM_SCHED_NEVER &&
            (j->st.last_success == TM_SCHED_NEVER || last_ok > j->st.last_success)) {
            j->st.last_success = last_ok;
        }
    }
    for (size_t k = 0; k < n_old; k++) {
        if (taken[k]) {
            continue;
        }
        tm__sched_jrun *o = &old[k];
        char when[TM_SCHED_ISO_LEN];
        tm_sched_time_format(now, NULL, when, sizeof when);
        for (size_t q = 0; q < o->n_queue; q++) {
            tm__sched_db_finish(s->db, o->queue[q].row, "interrupted", now, when, -1000,
                                "the job was removed from the configuration", "", err);
        }
        o->n_queue = 0;
        if (o->running) {
            v[n] = *o;
            v[n].removed = true;
            n++;
        } else {
            tm_free(o->queue);
        }
    }
    tm_free(taken);
    tm_free(s->jobs);
    s->jobs = v;
    s->n_jobs = n;
    s->dirty = true;
    return TM_OK;
}

tm_status tm_sched_open(const tm_sched_config *cfg, const tm_sched_options *opt, tm_sched **out,
                        tm_err *err)
{
    *out = NULL;
    tm_sched *s = tm_calloc(1, sizeof *s);
    if (!s) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    s->cfg = cfg;
    s->lock_fd = -1;
    if (opt) {
        s->opt = *opt;
    } else {
        tm_sched_options_init(&s->opt);
    }
    tm_status st = s->opt.lock ? tm__sched_lock(cfg->lock, &s->lock_fd, err) : TM_OK;
    if (st == TM_OK && (!s->opt.clock || !s->opt.exec)) {
        st = tm__sched_proc_new(&s->proc, err);
    }
    if (st == TM_OK) {
        if (s->opt.clock) {
            s->clock = *s->opt.clock;
        } else {
            tm__sched_proc_clock(s->proc, &s->clock);
        }
        if (s->opt.exec) {
            s->exec = *s->opt.exec;
        } else {
            tm__sched_proc_executor(s->proc, &s->exec);
            if (mkdir(cfg->log_dir, 0755) != 0 && errno != EEXIST) {
                st = TM_ERR(err, TM_E_IO, cfg->log_dir, 0, NULL,
                            "cannot create the log directory: %s", strerror(errno));
            }
        }
    }
    st = st == TM_OK ? tm__sched_db_open(cfg->db, false, &s->db, err) : st;
    st = st == TM_OK && !s->opt.durable ? tm__sched_db_fast(s->db, err) : st;
    tm_sched_time now = st == TM_OK ? s->clock.now(s->clock.ctx) : 0;
    st = st == TM_OK ? recover(s, now, err) : st;
    tm__sched_jstate *saved = NULL;
    size_t n_saved = 0;
    st = st == TM_OK ? tm__sched_state_load(cfg->state, &saved, &n_saved, err) : st;
    st = st == TM_OK ? build_jobs(s, cfg, saved, n_saved, NULL, 0, now, err) : st;
    tm_free(saved);
    if (st != TM_OK) {
        tm_sched_close(s);
        return st;
    }
    tm__sched_log(s, "scheduler started: %zu jobs, database %s", s->n_jobs, cfg->db);
    *out = s;
    return TM_OK;
}

tm_status tm_sched_reload(tm_sched *s, const tm_sched_config *cfg, tm_err *err)
{
    if (strcmp(cfg->db, s->cfg->db) != 0) {
        return TM_ERR(err, TM_E_INVALID, cfg->path, 0, "db",
                      "the database cannot change on reload (restart the daemon)");
    }
    tm_sched_time now = s->clock.now(s->clock.ctx);
    tm_status st = build_jobs(s, cfg, NULL, 0, s->jobs, s->n_jobs, now, err);
    if (st == TM_OK) {
        s->cfg = cfg;
        tm__sched_log(s, "configuration reloaded: %zu jobs", cfg->n_jobs);
    }
    return st;
}

void tm_sched_request_stop(tm_sched *s)
{
    s->stop_req = 1;
}

tm_status tm_sched_handle_signals(tm_sched *s, tm_err *err)
{
    if (!s->proc) {
        return TM_ERR(err, TM_E_INVALID, NULL, 0, NULL, "signals need the real clock");
    }
    tm_status st = tm__sched_proc_signals(s->proc, err);
    s->signals = st == TM_OK;
    return st;
}

bool tm_sched_reload_requested(tm_sched *s)
{
    bool h = s->hup;
    s->hup = false;
    return h;
}

void tm_sched_close(tm_sched *s)
{
    if (!s) {
        return;
    }
    for (size_t i = 0; i < s->n_jobs; i++) {
        tm_free(s->jobs[i].queue);
    }
    tm_free(s->jobs);
    tm__sched_db_close(s->db);
    tm__sched_proc_free(s->proc);
    tm__sched_unlock(s->lock_fd);
    tm_free(s);
}
