/*
 * file.c: atomic writes (reads: dsc__read_whole_file in src/core/file.c).
 *
 * A save must never leave a half-written checkpoint where a good one was: the bytes
 * go to a new file beside the target (same directory, so same file system), are
 * fsync'ed, then rename() replaces the target in one step, and an fsync of the
 * directory makes the rename itself durable. A crash at any point leaves either the
 * old file or the new one, plus at worst a stray temporary.
 */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_all(int fd, const void *p, size_t n)
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

/* A fresh temporary "<path>.tmp.<pid>.<k>", created exclusively (so two writers never
 * share one) with the mode a plain fopen would give. */
static int open_temp(const char *path, char *tmp, size_t cap)
{
    for (int k = 0; k < 1000; k++) {
        snprintf(tmp, cap, "%s.tmp.%ld.%d", path, (long)getpid(), k);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1;
}

static dsc_status sync_dir(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return dsc__io_fail(NULL, "open the directory", dir);
    int rc = fsync(fd);
    /* some file systems cannot fsync a directory; the rename has happened anyway */
    dsc_status st = rc && errno != EINVAL && errno != ENOTSUP ? dsc__io_fail(NULL, "fsync the directory", dir) : DSC_OK;
    close(fd);
    return st;
}

dsc_status dsc__write_atomic(const char *path, const dsc__segment *segs, size_t nseg)
{
    char tmp[4200];
    if (strlen(path) > 4000) return dsc__fail(DSC_ERR_ARG, "checkpoint path too long (%zu bytes)", strlen(path));
    int fd = open_temp(path, tmp, sizeof tmp);
    if (fd < 0) return dsc__io_fail(NULL, "create a temporary file for", path);
    int ok = 1;
    for (size_t i = 0; i < nseg && ok; i++) ok = write_all(fd, segs[i].ptr, segs[i].len) == 0;
    if (ok) ok = fsync(fd) == 0;
    dsc_status st = ok ? DSC_OK : dsc__io_fail(NULL, "write", tmp);
    if (close(fd) && !st) st = dsc__io_fail(NULL, "close", tmp);
    if (!st && rename(tmp, path)) st = dsc__io_fail(NULL, "rename the temporary file over", path);
    if (st) {
        unlink(tmp);
        return st;
    }
    return sync_dir(path);
}
