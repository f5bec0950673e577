/*
 * outfile.c: output files that are either complete or absent: checkpoints, traces,
 * histories, figures, predictions. The bytes go to a temporary file and reach the
 * target only when every write and the close succeeded:
 *   - renamed over it when the target is (or will be) a regular file: the temporary
 *     lies beside the target (same directory, so same file system), is fsync'ed, then
 *     rename() replaces the target in one step, and an fsync of the directory makes
 *     the rename itself durable. A full disk, a failed run or a crash at any point
 *     leaves either the old file or the new one, plus at worst a stray temporary, which
 *     the next write of the same target removes once its writer is gone;
 *   - copied into it when the target is a device or a FIFO (/dev/stdout, /dev/full),
 *     where a rename would replace the node itself.
 * The new file is the old one in every way a user set: it keeps the old file's
 * permission bits (a 0600 file stays private), a chain of symbolic links is followed
 * (the file it ends on is replaced, the links stay), and the temporary's name is the
 * target's cut so that it fits the file system's limit on a name.
 */
#define _XOPEN_SOURCE 700

#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUTFILE_TEMP_TRIES 1000
#define OUTFILE_COPY_CHUNK 65536
/* The most links followed to the file (Linux's own limit). */
#define MAX_LINKS 40
/* The most bytes of the target's name a temporary keeps: ".tmp.<pid>.<k>" follows. */
#define TEMP_NAME_KEEP (NAME_MAX - 32)

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

/* A fresh temporary "<path>.tmp.<pid>.<k>" (the name part of path cut to
 * TEMP_NAME_KEEP bytes), created exclusively (two writers never share one) with the
 * mode a plain fopen would give: its fd, or -1 with errno. */
static int open_temp(const char *path, char *tmp, size_t cap)
{
    const char *slash = strrchr(path, '/');
    int dir = slash ? (int)(slash + 1 - path) : 0;
    for (int k = 0; k < OUTFILE_TEMP_TRIES; k++) {
        if ((size_t)snprintf(tmp, cap, "%.*s%.*s.tmp.%ld.%d", dir, path, TEMP_NAME_KEEP, path + dir, (long)getpid(),
                             k) >= cap) {
            errno = ENAMETOOLONG;
            return -1;
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1;
}

/* Is name "<prefix>.tmp.<pid>.<k>" (decimal pid and k), the name open_temp gives a
 * temporary of the target whose cut name is prefix? Sets *pid. */
static int is_temp_of(const char *name, const char *prefix, size_t plen, long *pid)
{
    static const char tag[] = ".tmp.";
    if (strncmp(name, prefix, plen) || strncmp(name + plen, tag, sizeof tag - 1)) return 0;
    const char *s = name + plen + sizeof tag - 1;
    char *end;
    if (*s < '0' || *s > '9') return 0;
    errno = 0;
    *pid = strtol(s, &end, 10);
    if (errno || *pid <= 0 || *end != '.' || end[1] < '0' || end[1] > '9') return 0;
    for (s = end + 1; *s >= '0' && *s <= '9'; s++) {}
    return *s == '\0';
}

/* A write killed between creating its temporary and the rename leaves the temporary
 * behind; the next write of the same target removes it. Only our own names for this
 * target, and only those whose writer is gone (kill(pid, 0) says ESRCH): a live
 * writer (another process saving the same file) keeps its file. Best effort: a
 * temporary that cannot be removed does not stop the write. */
static void remove_stale_temps(const char *path)
{
    char dir[PATH_MAX], prefix[NAME_MAX + 1], name[PATH_MAX + NAME_MAX + 2];
    const char *slash = strrchr(path, '/');
    int dlen = slash ? (int)(slash + 1 - path) : 0;
    snprintf(dir, sizeof dir, "%.*s", dlen ? dlen : 1, dlen ? path : ".");
    snprintf(prefix, sizeof prefix, "%.*s", TEMP_NAME_KEEP, path + dlen);
    size_t plen = strlen(prefix);
    DIR *d = opendir(dir);
    if (!d) return;
    for (struct dirent *e; (e = readdir(d));) {
        long pid;
        if (!is_temp_of(e->d_name, prefix, plen, &pid)) continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH) continue;
        snprintf(name, sizeof name, "%.*s%s", dlen, path, e->d_name);
        unlink(name);
    }
    closedir(d);
}

/* The file a write replaces: path, or the file the chain of symbolic links at path
 * ends on (which need not exist yet), into out (cap bytes). */
static dsc_status resolve_links(const char *who, const char *path, char *out, size_t cap)
{
    char link[PATH_MAX];
    snprintf(out, cap, "%s", path);
    for (int hops = 0; hops < MAX_LINKS; hops++) {
        struct stat sb;
        if (lstat(out, &sb) || !S_ISLNK(sb.st_mode)) return DSC_OK; /* a file, or nothing yet */
        ssize_t n = readlink(out, link, sizeof link - 1);
        if (n < 0) return dsc__io_fail(who, "read the symbolic link", out);
        link[n] = '\0';
        /* a relative target is relative to the link's directory */
        const char *slash = strrchr(out, '/');
        int dir = link[0] != '/' && slash ? (int)(slash + 1 - out) : 0;
        if ((size_t)dir + (size_t)n >= cap)
            return dsc__fail(DSC_ERR_ARG, "%s: the link '%.200s' leads to too long a path", who, path);
        memmove(out + dir, link, (size_t)n + 1);
    }
    return dsc__fail(DSC_ERR_IO, "%s: more than %d symbolic links from '%.256s'", who, MAX_LINKS, path);
}

/* The new file gets the permission bits of the one it replaces (none: the umask's). */
static int keep_mode(int fd, const char *target)
{
    struct stat sb;
    if (stat(target, &sb)) return errno == ENOENT ? 0 : -1;
    return fchmod(fd, sb.st_mode & 07777);
}

dsc_status dsc__outfile_open(const char *who, const char *path, dsc__outfile *o)
{
    memset(o, 0, sizeof *o);
    if (strlen(path) >= PATH_MAX) return dsc__fail(DSC_ERR_ARG, "%s: file name too long (%zu bytes)", who, strlen(path));
    dsc_status st = resolve_links(who, path, o->target, PATH_MAX); /* < sizeof o->target */
    if (st) return st;
    struct stat sb;
    o->copy = stat(o->target, &sb) == 0 && !S_ISREG(sb.st_mode);
    if (o->copy && S_ISDIR(sb.st_mode)) return dsc__fail(DSC_ERR_IO, "%s: '%.256s' is a directory", who, path);
    if (!o->copy) remove_stale_temps(o->target);
    char stem[PATH_MAX];
    const char *tmpdir = getenv("TMPDIR");
    if (o->copy) snprintf(stem, sizeof stem, "%.4000s/descent", tmpdir && *tmpdir ? tmpdir : "/tmp");
    int fd = open_temp(o->copy ? stem : o->target, o->tmp, sizeof o->tmp);
    if (fd < 0) return dsc__io_fail(who, "write", path);
    if (!o->copy && keep_mode(fd, o->target)) {
        st = dsc__io_fail(who, "give the temporary file the mode of", path);
        close(fd);
        unlink(o->tmp);
        return st;
    }
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

/* The temporary's bytes on the disk before the rename makes them the file (it may
 * have been written by name, so it is opened again). */
static int sync_file(const char *tmp)
{
    int fd = open(tmp, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = fsync(fd), err = errno;
    close(fd);
    errno = err;
    return rc;
}

static dsc_status sync_dir(const char *who, const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return dsc__io_fail(who, "open the directory", dir);
    int rc = fsync(fd);
    /* some file systems cannot fsync a directory; the rename has happened anyway */
    dsc_status st = rc && errno != EINVAL && errno != ENOTSUP ? dsc__io_fail(who, "fsync the directory", dir) : DSC_OK;
    close(fd);
    return st;
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
    if (!st && keep && !o->copy && sync_file(o->tmp)) st = dsc__io_fail(who, "write", o->target);
    if (!st && keep && !o->copy && rename(o->tmp, o->target)) st = dsc__io_fail(who, "replace", o->target);
    if (o->tmp[0] && (st || !keep || o->copy)) unlink(o->tmp);
    int renamed = !st && keep && !o->copy;
    o->tmp[0] = '\0';
    return renamed ? sync_dir(who, o->target) : st;
}
