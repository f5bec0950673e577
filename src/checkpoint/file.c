/*
 * file.c: a checkpoint's bytes to its file, whole or not at all, through the output
 * files of src/core/outfile.c (temporary beside the target, fsync, rename, fsync of
 * the directory; the mode, symbolic links and long names kept). Reads:
 * dsc__read_whole_file in src/core/file.c.
 */
#include "checkpoint.h"

dsc_status dsc__write_atomic(const char *path, const dsc__segment *segs, size_t nseg)
{
    dsc__outfile out;
    dsc_status st = dsc__outfile_open("checkpoint", path, &out);
    if (st) return st;
    int ok = 1;
    for (size_t i = 0; i < nseg && ok; i++) ok = fwrite(segs[i].ptr, 1, segs[i].len, out.f) == segs[i].len;
    if (!ok) {
        st = dsc__io_fail("checkpoint", "write", path);
        dsc__outfile_finish("checkpoint", &out, 0);
        return st;
    }
    return dsc__outfile_finish("checkpoint", &out, 1);
}
