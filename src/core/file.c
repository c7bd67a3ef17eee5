/* Whole-file reads and atomic file replacement (temporary file in the same
 * directory, fsync, rename, fsync of the directory), plus the monotonic
 * clock used for timings. */
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
        return TM_ERR(err, TM_E_IO, path, 0, NULL, "cannot open: %s", strerror(errno));
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

tm_status tm_atomic_open(tm_atomic *a, const char *path, tm_err *err)
{
    memset(a, 0, sizeof *a);
    if (strlen(path) + 16 >= sizeof a->tmp) {
        return TM_ERR(err, TM_E_INVALID, path, 0, NULL, "path too long");
    }
    snprintf(a->path, sizeof a->path, "%s", path);
    snprintf(a->tmp, sizeof a->tmp, "%s.tmp.XXXXXX", path);
    int fd = mkstemp(a->tmp);
    if (fd < 0) {
        int e = errno;
        a->tmp[0] = 0;
        return TM_ERR(err, tm_errno_status(e), path, 0, NULL, "cannot create output: %s",
                      strerror(e));
    }
    (void)fchmod(fd, 0644);
    FILE *fp = fdopen(fd, "wb");
    if (!fp) {
        int e = errno;
        close(fd);
        unlink(a->tmp);
        a->tmp[0] = 0;
        return TM_ERR(err, TM_E_IO, path, 0, NULL, "cannot open output: %s", strerror(e));
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

tm_status tm_atomic_commit(tm_atomic *a, tm_err *err)
{
    FILE *fp = a->fp;
    a->fp = NULL;
    if (!fp) {
        return TM_ERR(err, TM_E_INVALID, a->path, 0, NULL, "output not open");
    }
    /* errno of the first failing step (a write error kept by the stream
     * from an earlier fwrite shows again in fflush or fclose). */
    errno = 0;
    int e = 0;
    bool ok = fflush(fp) == 0 && !ferror(fp);
    e = ok ? 0 : errno;
    if (ok && fsync(fileno(fp)) != 0) {
        ok = false;
        e = errno;
    }
    if (fclose(fp) != 0 && ok) {
        ok = false;
        e = errno;
    }
    if (!ok) {
        unlink(a->tmp);
        e = e ? e : EIO;
        return TM_ERR(err, tm_errno_status(e), a->path, 0, NULL, "write failed: %s",
                      strerror(e));
    }
    if (rename(a->tmp, a->path) != 0) {
        e = errno;
        unlink(a->tmp);
        return TM_ERR(err, tm_errno_status(e), a->path, 0, NULL, "cannot rename output: %s",
                      strerror(e));
    }
    fsync_dir_of(a->path);
    a->tmp[0] = 0;
    return TM_OK;
}

void tm_atomic_abort(tm_atomic *a)
{
    if (a->fp) {
        fclose(a->fp);
        a->fp = NULL;
    }
    if (a->tmp[0]) {
        unlink(a->tmp);
        a->tmp[0] = 0;
    }
}

double tm_now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
