/*
 * outfile.c: output files that are either complete or absent. The bytes go to a
 * temporary file and reach the target only when every write and the close succeeded:
 * renamed over it when the target is (or will be) a regular file, so a full disk or a
 * failed run leaves the previous file as it was and no partial one; copied into it
 * when the target is a device or a FIFO (/dev/stdout, /dev/full), where a rename
 * would replace the node itself. A symlink is followed: its target is replaced, the
 * link stays.
 */
/* realpath is XSI */
#define _XOPEN_SOURCE 700

#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUTFILE_TEMP_TRIES 1000
#define OUTFILE_COPY_CHUNK 65536

int dsc__write_all(int fd, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = EIO;
            return -1;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

int dsc__open_temp(const char *stem, char *tmp, size_t cap)
{
    for (int k = 0; k < OUTFILE_TEMP_TRIES; k++) {
        if ((size_t)snprintf(tmp, cap, "%s.tmp.%ld.%d", stem, (long)getpid(), k) >= cap) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1;
}

dsc_status dsc__outfile_open(const char *who, const char *path, dsc__outfile *o)
{
    memset(o, 0, sizeof *o);
    if (strlen(path) >= sizeof o->target - 64)
        return dsc__fail(DSC_ERR_ARG, "%s: file name too long (%zu bytes)", who, strlen(path));
    snprintf(o->target, sizeof o->target, "%s", path);
    struct stat sb;
    if (lstat(path, &sb) == 0 && S_ISLNK(sb.st_mode)) { /* write where the link points */
        char *real = realpath(path, NULL);
        if (real && strlen(real) < sizeof o->target - 64) snprintf(o->target, sizeof o->target, "%s", real);
        free(real);
    }
    o->copy = stat(o->target, &sb) == 0 && !S_ISREG(sb.st_mode);
    if (o->copy && S_ISDIR(sb.st_mode)) return dsc__fail(DSC_ERR_IO, "%s: '%.256s' is a directory", who, path);
    char stem[4200];
    const char *tmpdir = getenv("TMPDIR");
    if (o->copy) snprintf(stem, sizeof stem, "%.4000s/descent", tmpdir && *tmpdir ? tmpdir : "/tmp");
    int fd = dsc__open_temp(o->copy ? stem : o->target, o->tmp, sizeof o->tmp);
    if (fd < 0) return dsc__io_fail(who, "write", path);
    if (!(o->f = fdopen(fd, "wb"))) {
        close(fd);
        unlink(o->tmp);
        return dsc__fail(DSC_ERR_NOMEM, "%s: out of memory opening '%.256s'", who, path);
    }
    return DSC_OK;
}

/* The temporary's bytes into the device or FIFO at target. */
static int copy_out(const char *tmp, const char *target)
{
    int in = open(tmp, O_RDONLY | O_CLOEXEC), out = in < 0 ? -1 : open(target, O_WRONLY | O_CLOEXEC);
    int ok = in >= 0 && out >= 0;
    unsigned char buf[OUTFILE_COPY_CHUNK];
    while (ok) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            ok = r == 0;
            break;
        }
        ok = dsc__write_all(out, buf, (size_t)r) == 0;
    }
    int err = errno;
    if (out >= 0 && close(out) && ok) ok = 0, err = errno;
    if (in >= 0) close(in);
    errno = err;
    return ok ? 0 : -1;
}

dsc_status dsc__outfile_finish(const char *who, dsc__outfile *o, int keep)
{
    dsc_status st = DSC_OK;
    if (o->f) {
        int bad = fflush(o->f) != 0 || ferror(o->f);
        int err = errno;
        if (fclose(o->f) && !bad) bad = 1, err = errno;
        o->f = NULL;
        errno = err;
        if (bad && keep) st = dsc__io_fail(who, "write", o->target);
    }
    if (!st && keep && o->copy && copy_out(o->tmp, o->target)) st = dsc__io_fail(who, "write", o->target);
    if (!st && keep && !o->copy && rename(o->tmp, o->target)) st = dsc__io_fail(who, "replace", o->target);
    if (o->tmp[0] && (st || !keep || o->copy)) unlink(o->tmp);
    o->tmp[0] = '\0';
    return st;
}
