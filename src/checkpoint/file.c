/*
 * file.c: atomic writes (reads: dsc__read_whole_file in src/core/file.c).
 *
 * A save must never leave a half-written checkpoint where a good one was: the bytes
 * go to a new file beside the target (same directory, so same file system), are
 * fsync'ed, then rename() replaces the target in one step, and an fsync of the
 * directory makes the rename itself durable. A crash at any point leaves either the
 * old file or the new one, plus at worst a stray temporary.
 *
 * The new file is the old one in every way a user set: it keeps the old file's
 * permission bits (a 0600 checkpoint stays private), and a symbolic link is written
 * through (the file it points to is replaced, the link stays). The temporary's name
 * is the target's, cut so that it fits the file system's limit on a name.
 */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The most links followed to the file (Linux's own limit). */
#define MAX_LINKS 40
/* The most bytes of the target's name a temporary keeps: ".tmp.<pid>.<k>" follows. */
#define TEMP_NAME_KEEP (NAME_MAX - 32)

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

/* A fresh temporary "<path>.tmp.<pid>.<k>" (the name part of path cut to
 * TEMP_NAME_KEEP bytes), created exclusively (so two writers never share one) with
 * the mode a plain fopen would give. */
static int open_temp(const char *path, char *tmp, size_t cap)
{
    const char *slash = strrchr(path, '/');
    int dir = slash ? (int)(slash + 1 - path) : 0;
    for (int k = 0; k < 1000; k++) {
        snprintf(tmp, cap, "%.*s%.*s.tmp.%ld.%d", dir, path, TEMP_NAME_KEEP, path + dir, (long)getpid(), k);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1;
}

/* The file a save replaces: path, or the file the chain of symbolic links at path
 * ends on (which need not exist yet), into out (cap bytes). */
static dsc_status resolve_links(const char *path, char *out, size_t cap)
{
    char link[PATH_MAX];
    snprintf(out, cap, "%s", path);
    for (int hops = 0; hops < MAX_LINKS; hops++) {
        struct stat sb;
        if (lstat(out, &sb) || !S_ISLNK(sb.st_mode)) return DSC_OK; /* a file, or nothing yet */
        ssize_t n = readlink(out, link, sizeof link - 1);
        if (n < 0) return dsc__io_fail(NULL, "read the symbolic link", out);
        link[n] = '\0';
        /* a relative target is relative to the link's directory */
        const char *slash = strrchr(out, '/');
        int dir = link[0] != '/' && slash ? (int)(slash + 1 - out) : 0;
        if ((size_t)dir + (size_t)n >= cap)
            return dsc__fail(DSC_ERR_ARG, "checkpoint: the link '%.200s' leads to too long a path", path);
        memmove(out + dir, link, (size_t)n + 1);
    }
    return dsc__fail(DSC_ERR_IO, "checkpoint: more than %d symbolic links from '%.256s'", MAX_LINKS, path);
}

/* The new file gets the permission bits of the one it replaces (none: the umask's). */
static int keep_mode(int fd, const char *target)
{
    struct stat sb;
    if (stat(target, &sb)) return errno == ENOENT ? 0 : -1;
    return fchmod(fd, sb.st_mode & 07777);
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

dsc_status dsc__write_atomic(const char *link_path, const dsc__segment *segs, size_t nseg)
{
    char path[PATH_MAX], tmp[PATH_MAX + 64];
    if (strlen(link_path) >= sizeof path)
        return dsc__fail(DSC_ERR_ARG, "checkpoint path too long (%zu bytes)", strlen(link_path));
    dsc_status st = resolve_links(link_path, path, sizeof path);
    if (st) return st;
    int fd = open_temp(path, tmp, sizeof tmp);
    if (fd < 0) return dsc__io_fail(NULL, "create a temporary file for", path);
    if (keep_mode(fd, path)) {
        st = dsc__io_fail(NULL, "give the temporary file the mode of", path);
        close(fd);
        unlink(tmp);
        return st;
    }
    int ok = 1;
    for (size_t i = 0; i < nseg && ok; i++) ok = write_all(fd, segs[i].ptr, segs[i].len) == 0;
    if (ok) ok = fsync(fd) == 0;
    st = ok ? DSC_OK : dsc__io_fail(NULL, "write", tmp);
    if (close(fd) && !st) st = dsc__io_fail(NULL, "close", tmp);
    if (!st && rename(tmp, path)) st = dsc__io_fail(NULL, "rename the temporary file over", path);
    if (st) {
        unlink(tmp);
        return st;
    }
    return sync_dir(path);
}
