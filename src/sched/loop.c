/* The scheduler loop. Each turn: reap ended runs, enforce timeouts and the
 * stop grace, apply APScheduler's wake-up rules to every due job (one row
 * per fire in job_runs, in one transaction), start accepted runs whose
 * resources are free (the oldest fire first, never overtaking a waiting
 * run on a shared resource), save the state file, then wait on the clock.
 * Opening, recovery after a crash and reload are in sched.c. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sched/sched_loop.h"

void tm__sched_log(tm_sched *s, const char *fmt, ...)
{
    if (!s->opt.log) {
        return;
    }
    char line[1024], iso[TM_SCHED_ISO_LEN];
    tm_sched_time_format(s->clock.now(s->clock.ctx), NULL, iso, sizeof iso);
    int n = snprintf(line, sizeof line, "%s ", iso);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    s->opt.log(s->opt.log_ctx, line);
}

static const char *iso(const tm__sched_jrun *j, tm_sched_time t, char *buf)
{
    return tm_sched_time_format(t, tm_sched_trigger_zone(j->job->trigger), buf, TM_SCHED_ISO_LEN);
}

/* Rows for one wake-up of one job. Consecutive missed or coalesced fires
 * are gathered into one span row (first fire, last fire, count). */
typedef struct wake_ctx {
    tm_sched *s;
    tm__sched_jrun *j;
    tm_sched_time now;
    bool busy;                      /* an instance was running or queued before this wake-up */
    tm_sched_fire_action span_kind; /* of the pending span */
    tm_sched_time span_first, span_last, span_late_us; /* span_late_us: of the last fire */
    int64_t span_n;                                    /* fires in the pending span, 0: none */
} wake_ctx;

static tm_status flush_span(wake_ctx *w, tm_err *err)
{
    if (w->span_n == 0) {
        return TM_OK;
    }
    tm__sched_jrun *j = w->j;
    char first[TM_SCHED_ISO_LEN], last[TM_SCHED_ISO_LEN], msg[256] = "";
    bool missed = w->span_kind == TM_SCHED_FIRE_MISSED;
    const char *status = missed ? "missed" : "coalesced";
    if (missed && w->span_n == 1) {
        snprintf(msg, sizeof msg, "%.0f s late, beyond misfire_grace_time (%.0f s)",
                 (double)w->span_late_us / 1e6, (double)j->job->grace_us / 1e6);
    } else if (missed) {
        snprintf(msg, sizeof msg,
                 "%lld fires, the latest %.0f s late, beyond misfire_grace_time (%.0f s)",
                 (long long)w->span_n, (double)w->span_late_us / 1e6,
                 (double)j->job->grace_us / 1e6);
    } else if (!missed && w->span_n > 1) {
        snprintf(msg, sizeof msg, "%lld fires coalesced into a later one", (long long)w->span_n);
    }
    int64_t row;
    tm_status st = tm__sched_db_insert_span(
            w->s->db, j->job->name, w->span_first, iso(j, w->span_first, first), w->span_last,
            iso(j, w->span_last, last), w->span_n, status, msg, &row, err);
    if (st == TM_OK && row != 0 && (missed || w->span_n > 1)) {
        if (w->span_n > 1) {
            tm__sched_log(w->s, "%s: fires %s .. %s %s: %s", j->job->name, first, last, status,
                          msg);
        } else {
            tm__sched_log(w->s, "%s: fire %s %s: %s", j->job->name, first, status, msg);
        }
    }
    w->span_n = 0;
    return st;
}

static tm_status on_fire(void *ctx, tm_sched_time fire, tm_sched_fire_action a, tm_err *err)
{
    wake_ctx *w = ctx;
    tm__sched_jrun *j = w->j;
    tm_status st = TM_OK;
    if (a == TM_SCHED_FIRE_COALESCED || a == TM_SCHED_FIRE_MISSED) {
        if (w->span_n > 0 && w->span_kind != a) {
            st = flush_span(w, err);
        }
        if (w->span_n == 0) {
            w->span_kind = a;
            w->span_first = fire;
        }
        w->span_last = fire;
        w->span_late_us = w->now - fire;
        w->span_n++;
        return st;
    }
    if ((st = flush_span(w, err)) != TM_OK) {
        return st;
    }
    char when[TM_SCHED_ISO_LEN], msg[256] = "";
    const char *status = "waiting";
    if (w->busy) {
        status = "max_instances";
        snprintf(msg, sizeof msg, "the previous run is still going (max_instances = 1)");
    }
    int64_t row;
    st = tm__sched_db_insert(w->s->db, j->job->name, fire, iso(j, fire, when), status, msg, &row,
                             err);
    if (st != TM_OK || row == 0) {
        return st; /* row == 0: recorded before a crash, nothing to do */
    }
    if (strcmp(status, "waiting") == 0) {
        tm__sched_run *q = tm_realloc_n(j->queue, j->n_queue + 1, sizeof *q);
        if (!q) {
            return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
        }
        j->queue = q;
        q[j->n_queue].fire = fire;
        q[j->n_queue].row = row;
        j->n_queue++;
    } else {
        tm__sched_log(w->s, "%s: fire %s %s: %s", j->job->name, when, status, msg);
    }
    return TM_OK;
}

static tm_status process_due(tm_sched *s, tm_sched_time now, tm_err *err)
{
    for (size_t i = 0; i < s->n_jobs; i++) {
        tm__sched_jrun *j = &s->jobs[i];
        if (j->removed || j->st.next_run == TM_SCHED_NEVER || j->st.next_run > now) {
            continue;
        }
        wake_ctx w;
        memset(&w, 0, sizeof w);
        w.s = s;
        w.j = j;
        w.now = now;
        w.busy = j->running || j->n_queue > 0;
        tm_sched_time next;
        tm_status st = tm__sched_db_begin(s->db, err);
        st = st == TM_OK ? tm_sched_wake(j->job->trigger, j->st.next_run, now, j->job->coalesce,
                                         j->job->grace_us, on_fire, &w, &next, err)
                         : st;
        st = st == TM_OK ? flush_span(&w, err) : st;
        st = st == TM_OK ? tm__sched_db_commit(s->db, err) : st;
        if (st != TM_OK) {
            tm__sched_db_rollback(s->db);
            return st;
        }
        j->st.next_run = next;
        s->dirty = true;
    }
    return TM_OK;
}

static tm_status finish_row(tm_sched *s, tm__sched_jrun *j, int64_t row, const char *status,
                            tm_sched_time now, int code, const char *msg, const char *out,
                            tm_err *err)
{
    char when[TM_SCHED_ISO_LEN];
    return tm__sched_db_finish(s->db, row, status, now, iso(j, now, when), code, msg, out, err);
}

static tm_status run_ended(tm_sched *s, tm__sched_jrun *j, tm_sched_time now,
                           const tm_sched_run_result *res, tm_err *err)
{
    bool skipped = !j->interrupted && !j->timed_out && !res->term_signal &&
                   j->job->skip_exit >= 0 && res->exit_code == j->job->skip_exit;
    const char *status = j->interrupted        ? "interrupted"
                         : j->timed_out        ? "timeout"
                         : skipped             ? "gate_skip"
                         : res->exit_code == 0 ? "success"
                                               : "failed";
    char msg[256] = "";
    if (skipped) {
        snprintf(msg, sizeof msg, "the job's gate held it back (exit status %d)", res->exit_code);
    } else if (j->timed_out) {
        snprintf(msg, sizeof msg, "ran past its timeout of %.0f s and was stopped",
                 j->job->timeout_s);
    } else if (j->interrupted) {
        snprintf(msg, sizeof msg, "stopped with the daemon after the stop grace");
    } else if (res->term_signal) {
        snprintf(msg, sizeof msg, "killed by signal %d", res->term_signal);
    } else if (res->exit_code != 0) {
        snprintf(msg, sizeof msg, "exit status %d", res->exit_code);
    }
    tm_status st = finish_row(s, j, j->cur.row, status, now, res->exit_code, msg, res->output, err);
    if (strcmp(status, "success") == 0 &&
        (j->st.last_success == TM_SCHED_NEVER || j->cur.fire > j->st.last_success)) {
        j->st.last_success = j->cur.fire; /* the scheduled time, not the clock */
    }
    char when[TM_SCHED_ISO_LEN];
    tm__sched_log(s, "%s: fire %s %s after %.1f s%s%s", j->job->name, iso(j, j->cur.fire, when),
                  status, (double)(now - j->started) / 1e6, *msg ? ": " : "", msg);
    j->running = false;
    s->dirty = true;
    return st;
}

static tm_status reap(tm_sched *s, tm_sched_time now, tm_err *err)
{
    tm_status st = TM_OK;
    for (size_t i = 0; i < s->n_jobs; i++) {
        tm__sched_jrun *j = &s->jobs[i];
        tm_sched_run_result res;
        if (j->running && s->exec.poll(s->exec.ctx, j->handle, now, &res)) {
            tm_status r = run_ended(s, j, now, &res, err);
            st = st == TM_OK ? r : st;
        }
    }
    return st;
}

static void enforce_limits(tm_sched *s, tm_sched_time now)
{
    for (size_t i = 0; i < s->n_jobs; i++) {
        tm__sched_jrun *j = &s->jobs[i];
        if (!j->running) {
            continue;
        }
        bool stop_due = s->stopping && now >= s->stop_deadline;
        if (j->kill_stage == 0 && (now >= j->deadline || stop_due)) {
            j->timed_out = now >= j->deadline;
            j->interrupted = !j->timed_out;
            s->exec.kill(s->exec.ctx, j->handle, false);
            j->kill_stage = 1;
            j->kill_at = now + (int64_t)(s->cfg->kill_grace_s * 1e6);
        } else if (j->kill_stage == 1 && now >= j->kill_at) {
            s->exec.kill(s->exec.ctx, j->handle, true);
            j->kill_stage = 2;
        }
    }
}

static bool shares(const tm__sched_job *a, char **claimed, size_t n)
{
    for (size_t i = 0; i < a->n_resources; i++) {
        for (size_t k = 0; k < n; k++) {
            if (strcmp(a->resources[i], claimed[k]) == 0) {
                return true;
            }
        }
    }
    return false;
}

/* Starts the head of j's queue. */
static tm_status start_one(tm_sched *s, tm__sched_jrun *j, tm_sched_time now, tm_err *err)
{
    tm__sched_run r = j->queue[0];
    memmove(j->queue, j->queue + 1, (j->n_queue - 1) * sizeof *j->queue);
    j->n_queue--;
    const tm__sched_job *job = j->job;
    char when[TM_SCHED_ISO_LEN];
    char *cmd = NULL, log[1100];
    tm_status st = tm__sched_expand(s->cfg, job, r.fire, &cmd, err);
    if (st != TM_OK) {
        return st;
    }
    snprintf(log, sizeof log, "%s/%s.log", s->cfg->log_dir, job->name);
    char as_of[16];
    tm_sched_fire_as_of(r.fire, tm_sched_trigger_zone(job->trigger), as_of, sizeof as_of);
    tm_sched_run_req req = {job->name, cmd, log, r.fire, now, as_of};
    int64_t pid = 0;
    tm_err serr;
    tm_err_init(&serr);
    st = s->exec.start(s->exec.ctx, &req, &j->handle, &pid, &serr);
    tm_free(cmd);
    if (st != TM_OK) {
        tm__sched_log(s, "%s: fire %s failed to start: %s", job->name, iso(j, r.fire, when),
                      serr.reason);
        return finish_row(s, j, r.row, "failed", now, -1000, serr.reason, "", err);
    }
    j->running = true;
    j->cur = r;
    j->started = now;
    j->deadline = now + (int64_t)(job->timeout_s * 1e6);
    j->kill_stage = 0;
    j->timed_out = j->interrupted = false;
    double delay = (double)(now - r.fire) / 1e6;
    tm__sched_log(s, "%s: fire %s started%s", job->name, iso(j, r.fire, when),
                  delay >= 1 ? " late" : "");
    return tm__sched_db_started(s->db, r.row, now, iso(j, now, when), delay, pid,
                                pid ? tm__sched_pid_start(pid) : 0, err);
}

static int by_fire(const void *a, const void *b)
{
    const tm__sched_jrun *x = *(tm__sched_jrun *const *)a, *y = *(tm__sched_jrun *const *)b;
    if (x->queue[0].fire != y->queue[0].fire) {
        return x->queue[0].fire < y->queue[0].fire ? -1 : 1;
    }
    return x < y ? -1 : x > y;
}

static tm_status start_ready(tm_sched *s, tm_sched_time now, tm_err *err)
{
    tm__sched_jrun **cand = tm_malloc_n(s->n_jobs + 1, sizeof *cand);
    char **claimed = NULL;
    size_t n_cand = 0, n_claimed = 0, cap = 0;
    tm_status st = cand ? TM_OK : TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    for (size_t i = 0; st == TM_OK && i < s->n_jobs; i++) {
        tm__sched_jrun *j = &s->jobs[i];
        const tm__sched_job *job = j->job;
        if (j->running && job->n_resources) {
            if (n_claimed + job->n_resources > cap) {
                cap = (n_claimed + job->n_resources) * 2;
                char **c = tm_realloc_n(claimed, cap, sizeof *c);
                if (!c) {
                    st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
                    break;
                }
                claimed = c;
            }
            memcpy(claimed + n_claimed, job->resources, job->n_resources * sizeof *claimed);
            n_claimed += job->n_resources;
        } else if (!j->running && j->n_queue) {
            cand[n_cand++] = j;
        }
    }
    if (st == TM_OK) {
        qsort(cand, n_cand, sizeof *cand, by_fire);
    }
    for (size_t c = 0; st == TM_OK && c < n_cand; c++) {
        tm__sched_jrun *j = cand[c];
        const tm__sched_job *job = j->job;
        while (st == TM_OK && !j->running && j->n_queue && !shares(job, claimed, n_claimed)) {
            st = start_one(s, j, now, err);
        }
        if (n_claimed + job->n_resources > cap) {
            cap = (n_claimed + job->n_resources) * 2;
            char **cl = tm_realloc_n(claimed, cap, sizeof *cl);
            if (!cl) {
                st = TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
                break;
            }
            claimed = cl;
        }
        /* Running now, or still waiting: either way later fires wait. */
        if (job->n_resources) {
            memcpy(claimed + n_claimed, job->resources, job->n_resources * sizeof *claimed);
            n_claimed += job->n_resources;
        }
    }
    tm_free(cand);
    tm_free(claimed);
    return st;
}

static tm_status save_state(tm_sched *s, tm_err *err)
{
    tm__sched_jstate *st = tm_malloc_n(s->n_jobs + 1, sizeof *st);
    size_t n = 0;
    if (!st) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    for (size_t i = 0; i < s->n_jobs; i++) {
        if (!s->jobs[i].removed) {
            st[n++] = s->jobs[i].st;
        }
    }
    tm_status r = tm__sched_state_save(s->cfg->state, st, n, s->opt.durable, err);
    tm_free(st);
    if (r == TM_OK) {
        s->dirty = false;
    }
    return r;
}

void tm__sched_begin_stop(tm_sched *s, tm_sched_time now, tm_err *err)
{
    s->stopping = true;
    s->stop_deadline = now + (int64_t)(s->cfg->stop_grace_s * 1e6);
    for (size_t i = 0; i < s->n_jobs; i++) {
        tm__sched_jrun *j = &s->jobs[i];
        for (size_t k = 0; k < j->n_queue; k++) {
            finish_row(s, j, j->queue[k].row, "interrupted", now, -1000,
                       "the daemon stopped before the run started", "", err);
        }
        j->n_queue = 0;
    }
    tm__sched_log(s, "stopping");
}

static tm_sched_time next_wake(tm_sched *s, bool accepting)
{
    tm_sched_time w = TM_SCHED_NEVER;
#define TAKE(t) ((t) != TM_SCHED_NEVER && (w == TM_SCHED_NEVER || (t) < w) ? (w = (t)) : 0)
    for (size_t i = 0; i < s->n_jobs; i++) {
        tm__sched_jrun *j = &s->jobs[i];
        if (accepting && !j->removed) {
            TAKE(j->st.next_run);
        }
        if (j->running) {
            TAKE(j->kill_stage == 0   ? j->deadline
                 : j->kill_stage == 1 ? j->kill_at
                                      : TM_SCHED_NEVER);
            if (s->stopping && j->kill_stage == 0) {
                TAKE(s->stop_deadline);
            }
        }
    }
    if (s->exec.next_event) {
        TAKE(s->exec.next_event(s->exec.ctx));
    }
#undef TAKE
    return w;
}

static bool busy(const tm_sched *s)
{
    for (size_t i = 0; i < s->n_jobs; i++) {
        if (s->jobs[i].running || s->jobs[i].n_queue) {
            return true;
        }
    }
    return false;
}

static void drop_removed(tm_sched *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n_jobs; i++) {
        if (s->jobs[i].removed && !s->jobs[i].running && !s->jobs[i].n_queue) {
            tm_free(s->jobs[i].queue);
            continue;
        }
        s->jobs[k++] = s->jobs[i];
    }
    s->n_jobs = k;
}

tm_status tm_sched_run(tm_sched *s, tm_sched_time until, tm_err *err)
{
    s->hup = false;
    for (;;) {
        tm_sched_time now = s->clock.now(s->clock.ctx);
        if (s->signals) {
            bool stop, hup;
            tm__sched_signals_take(&stop, &hup);
            s->stop_req = s->stop_req || stop;
            s->hup = s->hup || hup;
        }
        if (s->stop_req && !s->stopping) {
            tm__sched_begin_stop(s, now, err);
        }
        tm_status st = reap(s, now, err);
        enforce_limits(s, now);
        drop_removed(s);
        bool accepting = !s->stopping && !(s->opt.once && s->once_done);
        st = st == TM_OK && accepting ? process_due(s, now, err) : st;
        s->once_done = s->once_done || s->opt.once;
        st = st == TM_OK && !s->stopping ? start_ready(s, now, err) : st;
        st = st == TM_OK && s->dirty ? save_state(s, err) : st;
        if (st != TM_OK) {
            return st;
        }
        if ((s->stopping || s->opt.once) && !busy(s)) {
            return TM_OK;
        }
        if (s->hup && !s->stopping) {
            return TM_OK; /* the caller reloads and calls again */
        }
        if (until != TM_SCHED_NEVER && now >= until) {
            return TM_OK;
        }
        accepting = !s->stopping && !s->opt.once;
        tm_sched_time w = next_wake(s, accepting);
        if (w != TM_SCHED_NEVER && w <= now) {
            w = now + 1000; /* a kill in progress: look again shortly */
        }
        if (until != TM_SCHED_NEVER && (w == TM_SCHED_NEVER || w > until)) {
            w = until;
        }
        s->clock.wait(s->clock.ctx, w);
    }
}
