/* The scheduler object shared by loop.c (the loop) and sched.c (opening,
 * recovery, reload, closing). Private to src/sched. */
#ifndef TURBOMODE_SCHED_LOOP_H
#define TURBOMODE_SCHED_LOOP_H

#include <signal.h>

#include "sched/sched_int.h"

typedef struct tm__sched_run {
    tm_sched_time fire; /* scheduled time */
    int64_t row;        /* job_runs id */
} tm__sched_run;

/* Runtime state of one job. */
typedef struct tm__sched_jrun {
    const tm__sched_job *job; /* its configuration (borrowed) */
    tm__sched_jstate st;      /* name, signature, next run, last success */
    tm__sched_run *queue;     /* accepted fires not started yet, oldest first */
    size_t n_queue;
    bool running;
    tm__sched_run cur; /* the running fire */
    int64_t handle;    /* executor handle */
    tm_sched_time started, deadline, kill_at;
    int kill_stage; /* 0, 1 after SIGTERM, 2 after SIGKILL */
    bool timed_out, interrupted;
    bool removed; /* no longer configured: finishes, then dropped */
} tm__sched_jrun;

struct tm_sched {
    const tm_sched_config *cfg;
    tm_sched_options opt;
    tm_sched_clock clock;
    tm_sched_executor exec;
    tm__sched_proc *proc; /* the real clock/executor when used */
    tm__sched_db *db;
    int lock_fd;
    tm__sched_jrun *jobs;
    size_t n_jobs;
    volatile sig_atomic_t stop_req;
    bool signals; /* handlers installed */
    bool hup;     /* SIGHUP seen: run() returns for a reload */
    bool stopping;
    tm_sched_time stop_deadline;
    bool once_done;
    bool dirty; /* the state file is behind */
};

void tm__sched_log(tm_sched *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void tm__sched_begin_stop(tm_sched *s, tm_sched_time now, tm_err *err);

#endif /* TURBOMODE_SCHED_LOOP_H */
