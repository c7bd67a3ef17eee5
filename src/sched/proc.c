/* The real world for the scheduler: the wall clock with a self-pipe that
 * signal handlers and SIGCHLD write to, jobs as child processes (/bin/sh
 * -c, own process group, output appended to a log file whose tail is
 * kept), the single-instance flock, and stopping a killed daemon's
 * leftover children. Linux/POSIX; /proc is used when present. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sched/sched_int.h"

typedef struct child {
    pid_t pid;
    char log[1024];
    off_t log_off; /* where this run's output starts */
} child;

struct tm__sched_proc {
    int pipe_rd, pipe_wr;
    child *kids;
    size_t n_kids;
};

static volatile sig_atomic_t sig_stop, sig_hup;
static int sig_fd = -1;

static void on_signal(int sig)
{
    int saved = errno;
    if (sig == SIGTERM || sig == SIGINT) {
        sig_stop = 1;
    } else if (sig == SIGHUP) {
        sig_hup = 1;
    }
    if (sig_fd >= 0) {
        char c = 1;
        ssize_t r = write(sig_fd, &c, 1);
        (void)r;
    }
    errno = saved;
}

tm_status tm__sched_proc_new(tm__sched_proc **out, tm_err *err)
{
    *out = NULL;
    tm__sched_proc *p = tm_calloc(1, sizeof *p);
    int fds[2];
    if (!p) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    if (pipe(fds) != 0) {
        tm_free(p);
        return TM_ERR(err, TM_E_IO, NULL, 0, NULL, "pipe: %s", strerror(errno));
    }
    for (int i = 0; i < 2; i++) {
        fcntl(fds[i], F_SETFD, FD_CLOEXEC);
        fcntl(fds[i], F_SETFL, O_NONBLOCK);
    }
    p->pipe_rd = fds[0];
    p->pipe_wr = fds[1];
    *out = p;
    return TM_OK;
}

void tm__sched_proc_free(tm__sched_proc *p)
{
    if (!p) {
        return;
    }
    if (sig_fd == p->pipe_wr) {
        sig_fd = -1;
    }
    close(p->pipe_rd);
    close(p->pipe_wr);
    tm_free(p->kids);
    tm_free(p);
}

tm_status tm__sched_proc_signals(tm__sched_proc *p, tm_err *err)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sig_fd = p->pipe_wr;
    int sigs[4] = {SIGTERM, SIGINT, SIGHUP, SIGCHLD};
    for (int i = 0; i < 4; i++) {
        if (sigaction(sigs[i], &sa, NULL) != 0) {
            return TM_ERR(err, TM_E_INTERNAL, NULL, 0, NULL, "sigaction: %s", strerror(errno));
        }
    }
    return TM_OK;
}

void tm__sched_signals_take(bool *stop, bool *hup)
{
    *stop = sig_stop != 0;
    *hup = sig_hup != 0;
    sig_hup = 0;
}

static tm_sched_time clock_now(void *ctx)
{
    (void)ctx;
    return tm_sched_time_now();
}

static void clock_wait(void *ctx, tm_sched_time deadline)
{
    tm__sched_proc *p = ctx;
    tm_sched_time now = tm_sched_time_now();
    int64_t ms = deadline == TM_SCHED_NEVER ? 30000 : (deadline - now + 999) / 1000;
    ms = ms < 0 ? 0 : ms > 30000 ? 30000 : ms; /* re-read the clock after a suspend */
    struct pollfd pfd = {p->pipe_rd, POLLIN, 0};
    if (poll(&pfd, 1, (int)ms) > 0) {
        char buf[64];
        while (read(p->pipe_rd, buf, sizeof buf) > 0) {
        }
    }
}

void tm__sched_proc_clock(tm__sched_proc *p, tm_sched_clock *clock)
{
    clock->now = clock_now;
    clock->wait = clock_wait;
    clock->ctx = p;
}

static tm_status exec_start(void *ctx, const tm_sched_run_req *req, int64_t *handle, int64_t *pid,
                            tm_err *err)
{
    tm__sched_proc *p = ctx;
    child *k = tm_realloc_n(p->kids, p->n_kids + 1, sizeof *k);
    if (!k) {
        return TM_ERR(err, TM_E_NOMEM, NULL, 0, NULL, "out of memory");
    }
    p->kids = k;
    int fd = open(req->log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        return TM_ERR(err, TM_E_IO, req->log_path, 0, NULL, "cannot open the job log: %s",
                      strerror(errno));
    }
    char head[2048], iso[TM_SCHED_ISO_LEN];
    int hl = snprintf(head, sizeof head, "=== %s fire %s: %s\n", req->job,
                      tm_sched_time_format(req->scheduled, NULL, iso, sizeof iso), req->command);
    ssize_t wr = write(fd, head, (size_t)(hl < (int)sizeof head ? hl : (int)sizeof head - 1));
    (void)wr;
    off_t off = lseek(fd, 0, SEEK_END);
    pid_t c = fork();
    if (c < 0) {
        close(fd);
        return TM_ERR(err, TM_E_IO, NULL, 0, NULL, "fork: %s", strerror(errno));
    }
    if (c == 0) {
        setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGCHLD, SIG_DFL);
        int dn = open("/dev/null", O_RDONLY);
        if (dn >= 0) {
            dup2(dn, 0);
        }
        dup2(fd, 1);
        dup2(fd, 2);
        execl("/bin/sh", "sh", "-c", req->command, (char *)NULL);
        _exit(127);
    }
    setpgid(c, c);
    close(fd);
    k = &p->kids[p->n_kids++];
    k->pid = c;
    k->log_off = off;
    snprintf(k->log, sizeof k->log, "%s", req->log_path);
    *handle = c;
    *pid = c;
    return TM_OK;
}

static void log_tail(const child *k, char *out, size_t len)
{
    out[0] = 0;
    int fd = open(k->log, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    off_t end = lseek(fd, 0, SEEK_END);
    off_t from = end - (off_t)(len - 1);
    from = from < k->log_off ? k->log_off : from;
    if (end > from && lseek(fd, from, SEEK_SET) == from) {
        ssize_t n = read(fd, out, (size_t)(end - from));
        out[n > 0 ? n : 0] = 0;
    }
    close(fd);
}

static bool exec_poll(void *ctx, int64_t handle, tm_sched_time now, tm_sched_run_result *res)
{
    (void)now;
    tm__sched_proc *p = ctx;
    for (size_t i = 0; i < p->n_kids; i++) {
        if (p->kids[i].pid != (pid_t)handle) {
            continue;
        }
        int status;
        pid_t r = waitpid((pid_t)handle, &status, WNOHANG);
        if (r == 0 || (r < 0 && errno == EINTR)) {
            return false;
        }
        memset(res, 0, sizeof *res);
        if (r < 0) {
            res->exit_code = -1;
        } else if (WIFEXITED(status)) {
            res->exit_code = WEXITSTATUS(status);
        } else {
            res->exit_code = -1;
            res->term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        }
        log_tail(&p->kids[i], res->output, sizeof res->output);
        p->kids[i] = p->kids[--p->n_kids];
        return true;
    }
    memset(res, 0, sizeof *res);
    res->exit_code = -1;
    return true;
}

static void exec_kill(void *ctx, int64_t handle, bool hard)
{
    (void)ctx;
    if (kill(-(pid_t)handle, hard ? SIGKILL : SIGTERM) != 0) {
        kill((pid_t)handle, hard ? SIGKILL : SIGTERM);
    }
}

void tm__sched_proc_executor(tm__sched_proc *p, tm_sched_executor *exec)
{
    exec->start = exec_start;
    exec->poll = exec_poll;
    exec->kill = exec_kill;
    exec->next_event = NULL;
    exec->ctx = p;
}

int64_t tm__sched_pid_start(int64_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
    FILE *fp = fopen(path, "r");
    if (!fp) {
        return 0;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = 0;
    const char *s = strrchr(buf, ')'); /* the command name may hold spaces */
    long long start = 0;
    int field = 2;
    for (; s && *s && field < 22; s++) {
        if (*s == ' ') {
            field++;
        }
    }
    if (s && field == 22) {
        start = strtoll(s, NULL, 10);
    }
    return start;
}

/* True while process group pgid has a member that is not a zombie (an
 * orphan's zombie lingers where init does not reap). Without /proc: kill. */
static bool group_alive(pid_t pgid)
{
    if (kill(-pgid, 0) != 0) {
        return false;
    }
    DIR *d = opendir("/proc");
    if (!d) {
        return true;
    }
    bool alive = false;
    struct dirent *e;
    while (!alive && (e = readdir(d))) {
        char path[300], buf[512];
        if (e->d_name[0] < '0' || e->d_name[0] > '9') {
            continue;
        }
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        FILE *fp = fopen(path, "r");
        size_t n = fp ? fread(buf, 1, sizeof buf - 1, fp) : 0;
        if (fp) {
            fclose(fp);
        }
        buf[n] = 0;
        const char *p = strrchr(buf, ')');
        char state = 0;
        long pgrp = 0;
        if (p && sscanf(p + 1, " %c %*d %ld", &state, &pgrp) == 2) {
            alive = pgrp == pgid && state != 'Z' && state != 'X';
        }
    }
    closedir(d);
    return alive;
}

void tm__sched_kill_leftover(int64_t pid, int64_t pid_start, double grace_s)
{
    if (pid <= 0 || !group_alive((pid_t)pid)) {
        return; /* the process group is gone */
    }
    int64_t now_start = tm__sched_pid_start(pid);
    if (now_start && pid_start && now_start != pid_start) {
        return; /* the pid was reused by another process */
    }
    kill(-(pid_t)pid, SIGTERM);
    for (double waited = 0; waited < grace_s && group_alive((pid_t)pid); waited += 0.05) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(-(pid_t)pid, SIGKILL);
}

tm_status tm__sched_lock(const char *path, int *fd, tm_err *err)
{
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (*fd < 0) {
        return TM_ERR(err, TM_E_IO, path, 0, NULL, "cannot open the lock file: %s",
                      strerror(errno));
    }
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        char pid[32] = "";
        ssize_t n = pread(*fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        close(*fd);
        *fd = -1;
        if (e == EWOULDBLOCK) {
            return TM_ERR(err, TM_E_BUSY, path, 0, NULL,
                          "another scheduler daemon (pid %s) is running for this database",
                          *pid ? pid : "unknown");
        }
        return TM_ERR(err, TM_E_IO, path, 0, NULL, "flock: %s", strerror(e));
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(*fd, 0) != 0 || pwrite(*fd, pid, (size_t)n, 0) != n) {
        /* the lock holds even when the pid cannot be written */
    }
    return TM_OK;
}

void tm__sched_unlock(int fd)
{
    if (fd >= 0) {
        close(fd);
    }
}
