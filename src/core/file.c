/* Whole-file reads and outputs: a regular file is replaced atomically
 * (temporary file in the same directory, fsync, rename, fsync of the
 * directory); a symbolic link is followed and its target replaced the same
 * way; a device or FIFO is written in place and "-" is stdout. Commands
 * with several outputs stage them and rename them together (all or none).
 * Plus the monotonic clock used for timings. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <turbomode/core.h>

tm_status tm_errno_status(int e)
{
    switch (e) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
    case EIO:
    case EMFILE:
    case ENFILE:
        return TM_E_SYSTEM;
    default:
        return TM_E_IO;
    }
}

tm_status tm_file_read(const char *path, char **out, size_t *len, tm_err *err)
{
    *out = NULL;
    *len = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        int e = errno;
        return TM_ERR(err, tm_errno_status(e), path, 0, NULL, "cannot open: %s", strerror(e));
    }
    tm_status st = TM_OK;
    char *buf = NULL;
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0) {
        st = TM_ERR(err, TM_E_IO, path, 0, NULL, "cannot stat: %s", strerror(errno));
        goto done;
    }
    if (S_ISDIR(sb.st_mode)) {
        st = TM_ERR(err, TM_E_IO, path, 0, NULL, "is a directory");
        goto done;
    }
    /* Regular files: one read of the known size; pipes: grow as we go. */
    size_t cap = S_ISREG(sb.st_mode) ? (size_t)sb.st_size + 1 : 65536;
    size_t n = 0;
    buf = tm_malloc(cap);
    if (!buf) {
        st = TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory reading %zu bytes", cap);
        goto done;
    }
    for (;;) {
        if (n + 1 >= cap && S_ISREG(sb.st_mode) && n == (size_t)sb.st_size) {
            /* The whole file is in: grow only if it grew since the stat. */
            char probe;
            if (fread(&probe, 1, 1, fp) == 0) {
                break;
            }
            ungetc((unsigned char)probe, fp);
        }
        if (n + 1 >= cap) {
            char *nb = tm_realloc_n(buf, cap, 2);
            if (!nb) {
                st = TM_ERR(err, TM_E_NOMEM, path, 0, NULL, "out of memory reading file");
                goto done;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, fp);
        n += got;
        if (got == 0) {
            break;
        }
    }
    if (ferror(fp)) {
        st = TM_ERR(err, TM_E_IO, path, 0, NULL, "read error: %s", strerror(errno));
        goto done;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    buf = NULL;
done:
    tm_free(buf);
    fclose(fp);
    return st;
}

/* Follows symbolic links at path (as open() would, up to 40) and writes
 * the path of the final target, which may not exist yet, to out. */
static tm_status resolve_links(const char *path, char *out, size_t len, tm_err *err)
{
    char cur[4096], target[4096], dir[4096];
    if ((size_t)snprintf(cur, sizeof cur, "%s", path) >= sizeof cur) {
        return TM_ERR(err, TM_E_INVALID, path, 0, NULL, "path too long");
    }
    for (int hops = 0;; hops++) {
        struct stat sb;
        if (lstat(cur, &sb) != 0 || !S_ISLNK(sb.st_mode)) {
            break;
        }
        if (hops == 40) {
            return TM_ERR(err, TM_E_INVALID, path, 0, NULL, "too many levels of symbolic links");
        }
        ssize_t n = readlink(cur, target, sizeof target - 1);
        if (n < 0) {
            return TM_ERR(err, TM_E_IO, path, 0, NULL, "cannot read link: %s", strerror(errno));
        }
        target[n] = 0;
        snprintf(dir, sizeof dir, "%s", cur);
        int w = target[0] == '/' ? snprintf(cur, sizeof cur, "%s", target)
                                 : snprintf(cur, sizeof cur, "%s/%s", dirname(dir), target);
        if (w < 0 || (size_t)w >= sizeof cur) {
            return TM_ERR(err, TM_E_INVALID, path, 0, NULL, "path too long");
        }
    }
    if ((size_t)snprintf(out, len, "%s", cur) >= len) {
        return TM_ERR(err, TM_E_INVALID, path, 0, NULL, "path too long");
    }
    return TM_OK;
}

/* What writing to target (links resolved) means: 0 a regular file to
 * replace (or create), 1 something to write in place (device, FIFO).
 * Fails for a directory. *sb is filled when the target exists. */
static tm_status output_kind(const char *path, const char *target, struct stat *sb, bool *exists,
                             int *kind, tm_err *err)
{
    *exists = stat(target, sb) == 0;
    *kind = 0;
    if (!*exists) {
        return TM_OK;
    }
    if (S_ISDIR(sb->st_mode)) {
        return TM_ERR(err, TM_E_INVALID, path, 0, NULL, "cannot write output: is a directory");
    }
    *kind = S_ISREG(sb->st_mode) ? 0 : 1;
    return TM_OK;
}

tm_status tm_atomic_open(tm_atomic *a, const char *path, tm_err *err)
{
    memset(a, 0, sizeof *a);
    if (strcmp(path, "-") == 0) {
        snprintf(a->path, sizeof a->path, "-");
        a->fp = stdout;
        a->direct = true;
        return TM_OK;
    }
    tm_status st = resolve_links(path, a->path, sizeof a->path - 16, err);
    struct stat sb;
    bool exists;
    int kind;
    if (st == TM_OK) {
        st = output_kind(path, a->path, &sb, &exists, &kind, err);
    }
    if (st != TM_OK) {
        return st;
    }
    if (kind == 1) {
        /* A device or FIFO: written where it is, never replaced. */
        int fd = open(a->path, O_WRONLY | O_NOCTTY);
        FILE *fp = fd >= 0 ? fdopen(fd, "wb") : NULL;
        if (!fp) {
            int e = errno;
            if (fd >= 0) {
                close(fd);
            }
            return TM_ERR(err, tm_errno_status(e), path, 0, NULL, "cannot open output: %s",
                          strerror(e));
        }
        a->fp = fp;
        a->direct = true;
        return TM_OK;
    }
    int w = snprintf(a->tmp, sizeof a->tmp, "%s.tmp.XXXXXX", a->path);
    if (w < 0 || (size_t)w >= sizeof a->tmp) {
        a->tmp[0] = 0;
        return TM_ERR(err, TM_E_INVALID, path, 0, NULL, "path too long");
    }
    int fd = mkstemp(a->tmp);
    if (fd < 0) {
        int e = errno;
        a->tmp[0] = 0;
        return TM_ERR(err, tm_errno_status(e), path, 0, NULL, "cannot create output: %s",
                      strerror(e));
    }
    /* A replaced file keeps its permissions; a new one is 0644. */
    (void)fchmod(fd, exists ? sb.st_mode & 07777 : 0644);
    FILE *fp = fdopen(fd, "wb");
    if (!fp) {
        int e = errno;
        close(fd);
        unlink(a->tmp);
        a->tmp[0] = 0;
        return TM_ERR(err, tm_errno_status(e), path, 0, NULL, "cannot open output: %s",
                      strerror(e));
    }
    a->fp = fp;
    return TM_OK;
}

static void fsync_dir_of(const char *path)
{
    char copy[4096];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* Flushes fp and reports the first error with its errno text; a stream
 * whose earlier writes failed reports why (the flush retries them). */
static int flush_errno(FILE *fp)
{
    errno = 0;
    if (fflush(fp) != 0 || ferror(fp)) {
        return errno ? errno : EIO;
    }
    return 0;
}

tm_status tm_atomic_commit(tm_atomic *a, tm_err *err)
{
    FILE *fp = a->fp;
    a->fp = NULL;
    if (!fp) {
        return TM_ERR(err, TM_E_INVALID, a->path, 0, NULL, "output not open");
    }
    int e = flush_errno(fp);
    if (a->direct) {
        if (fp != stdout && fclose(fp) != 0 && !e) {
            e = errno;
        }
        if (e) {
            return TM_ERR(err, tm_errno_status(e), a->path, 0, NULL, "write failed: %s",
                          strerror(e));
        }
        return TM_OK;
    }
    if (!e && !a->no_sync && fsync(fileno(fp)) != 0) {
        e = errno;
    }
    if (fclose(fp) != 0 && !e) {
        e = errno;
    }
    if (e) {
        unlink(a->tmp);
        a->tmp[0] = 0;
        return TM_ERR(err, tm_errno_status(e), a->path, 0, NULL, "write failed: %s", strerror(e));
    }
    if (rename(a->tmp, a->path) != 0) {
        e = errno;
        unlink(a->tmp);
        a->tmp[0] = 0;
        return TM_ERR(err, tm_errno_status(e), a->path, 0, NULL, "cannot rename output: %s",
                      strerror(e));
    }
    if (!a->no_sync) {
        fsync_dir_of(a->path);
    }
    a->tmp[0] = 0;
    return TM_OK;
}

void tm_atomic_abort(tm_atomic *a)
{
    if (a->fp && a->fp != stdout) {
        fclose(a->fp);
    }
    a->fp = NULL;
    if (a->tmp[0]) {
        unlink(a->tmp);
        a->tmp[0] = 0;
    }
}

/* Checks path as an output and, for a file to replace, writes to staged
 * (when not NULL) a fresh name next to the final target, proven creatable
 * by creating and removing it; staged is "" for outputs written in place. */
static tm_status check_output(const char *path, char *final, char *staged, size_t len, tm_err *err)
{
    if (staged) {
        staged[0] = 0;
    }
    if (strcmp(path, "-") == 0) {
        snprintf(final, len, "-");
        return TM_OK;
    }
    tm_status st = resolve_links(path, final, len - 16, err);
    struct stat sb;
    bool exists;
    int kind;
    if (st == TM_OK) {
        st = output_kind(path, final, &sb, &exists, &kind, err);
    }
    if (st != TM_OK) {
        return st;
    }
    if (kind == 1) {
        if (access(final, W_OK) != 0) {
            int e = errno;
            return TM_ERR(err, tm_errno_status(e), path, 0, NULL, "cannot open output: %s",
                          strerror(e));
        }
        return TM_OK;
    }
    char probe[4096];
    int w = snprintf(probe, sizeof probe, "%s.part.XXXXXX", final);
    if (w < 0 || (size_t)w >= sizeof probe || (size_t)w >= len) {
        return TM_ERR(err, TM_E_INVALID, path, 0, NULL, "path too long");
    }
    int fd = mkstemp(probe);
    if (fd < 0) {
        int e = errno;
        return TM_ERR(err, tm_errno_status(e), path, 0, NULL, "cannot create output: %s",
                      strerror(e));
    }
    close(fd);
    unlink(probe);
    if (staged) {
        snprintf(staged, len, "%s", probe);
    }
    return TM_OK;
}

tm_status tm_output_check(const char *path, tm_err *err)
{
    char final[4096];
    return check_output(path, final, NULL, sizeof final, err);
}

void tm_outputs_init(tm_outputs *o)
{
    memset(o, 0, sizeof *o);
}

tm_status tm_outputs_add(tm_outputs *o, const char *path, const char **write_to, tm_err *err)
{
    *write_to = NULL;
    if (o->n == sizeof o->item / sizeof o->item[0]) {
        return TM_ERR(err, TM_E_INVALID, path, 0, NULL, "too many outputs");
    }
    struct tm_output_item *it = &o->item[o->n];
    tm_status st = check_output(path, it->final, it->staged, sizeof it->final, err);
    if (st != TM_OK) {
        return st;
    }
    snprintf(it->given, sizeof it->given, "%s", path);
    o->n++;
    *write_to = it->staged[0] ? it->staged : path;
    return TM_OK;
}

tm_status tm_outputs_commit(tm_outputs *o, tm_err *err)
{
    tm_status st = TM_OK;
    for (size_t i = 0; i < o->n; i++) {
        struct tm_output_item *it = &o->item[i];
        if (st == TM_OK && it->staged[0] && rename(it->staged, it->final) != 0) {
            st = TM_ERR(err, tm_errno_status(errno), it->final, 0, NULL, "cannot rename output: %s",
                        strerror(errno));
        }
        if (it->staged[0]) {
            if (st == TM_OK) {
                fsync_dir_of(it->final);
            } else {
                unlink(it->staged);
            }
        }
    }
    o->n = 0;
    return st;
}

void tm_outputs_abort(tm_outputs *o, tm_err *err)
{
    for (size_t i = 0; i < o->n; i++) {
        struct tm_output_item *it = &o->item[i];
        if (!it->staged[0]) {
            continue;
        }
        unlink(it->staged);
        if (err && strcmp(err->path, it->staged) == 0) {
            snprintf(err->path, sizeof err->path, "%s", it->given); /* the name the user gave */
        }
    }
    o->n = 0;
}

double tm_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
