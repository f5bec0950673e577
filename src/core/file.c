/*
 * file.c: reading a whole file into memory (dataset loaders, checkpoints), and the
 * message of a failed system call on a file.
 *
 * Only regular files: their size is known up front, so the buffer is allocated once,
 * and a device such as /dev/zero or a FIFO (which would be read until memory runs out
 * or block forever) is refused with a message instead.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

dsc_status dsc__io_fail(const char *who, const char *what, const char *path)
{
    char msg[128];
    int err = errno;
    /* strerror_r, not strerror: another thread may be failing too (the XSI variant
     * under _POSIX_C_SOURCE, which returns nonzero when it cannot) */
    if (strerror_r(err, msg, sizeof msg)) snprintf(msg, sizeof msg, "error %d", err);
    if (!who) return dsc__fail(DSC_ERR_IO, "cannot %s '%.256s': %s", what, path, msg);
    return dsc__fail(DSC_ERR_IO, "%s: cannot %s '%.256s': %s", who, what, path, msg);
}

static dsc_status check_regular(const char *who, const char *path, int fd, size_t *size)
{
    struct stat sb;
    if (fstat(fd, &sb)) return dsc__io_fail(who, "stat", path);
    if (!S_ISREG(sb.st_mode)) return dsc__fail(DSC_ERR_IO, "%s: '%.256s' is not a regular file", who, path);
    if ((uintmax_t)sb.st_size > SIZE_MAX - 1)
        return dsc__fail(DSC_ERR_NOMEM, "%s: '%.256s' is too large to read", who, path);
    *size = (size_t)sb.st_size;
    return DSC_OK;
}

static dsc_status read_all(const char *who, const char *path, int fd, unsigned char *b, size_t size)
{
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(fd, b + got, size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return dsc__io_fail(who, "read", path);
        if (r == 0) return dsc__fail(DSC_ERR_IO, "%s: '%.256s' shrank while being read", who, path);
        got += (size_t)r;
    }
    return DSC_OK;
}

dsc_status dsc__open_regular(const char *who, const char *path, int *fd, size_t *size)
{
    *fd = -1;
    *size = 0;
    if (!path) return dsc__fail(DSC_ERR_ARG, "%s: path must not be NULL", who);
    /* O_NONBLOCK: opening a FIFO must not wait for a writer before fstat refuses it
     * (regular files ignore the flag) */
    int f;
    do f = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    while (f < 0 && errno == EINTR);
    if (f < 0) return dsc__io_fail(who, "open", path);
    dsc_status st = check_regular(who, path, f, size);
    if (st) {
        close(f);
        return st;
    }
    *fd = f;
    return DSC_OK;
}

dsc_status dsc__read_whole_file(const char *who, const char *path, unsigned char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    int fd;
    size_t size = 0;
    dsc_status st = dsc__open_regular(who, path, &fd, &size);
    if (st) return st;
    unsigned char *b = NULL;
    if (!(b = malloc(size ? size : 1)))
        st = dsc__fail(DSC_ERR_NOMEM, "%s: out of memory for the %zu bytes of '%.256s'", who, size, path);
    if (!st) st = read_all(who, path, fd, b, size);
    close(fd);
    if (st) {
        free(b);
        return st;
    }
    *buf = b;
    *len = size;
    return DSC_OK;
}
