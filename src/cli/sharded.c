/*
 * sharded.c: the commands that read a model accept a sharded checkpoint set's index
 * (descent train --zero --shard-checkpoints under mpirun) for the file holding its
 * network: the set's sidecar, which the index names.
 */
#include "cli.h"
#ifdef DSC_HAVE_MPI
#include "descent_dist.h"
#endif

#include <stdio.h>

int cli_checkpoint_file(const char *cmd, const char *path, char *out, size_t cap, int *sharded)
{
    *sharded = 0;
#ifdef DSC_HAVE_MPI
    dsc_status st = dsc_dist_checkpoint_sidecar(path, sharded, out, cap);
    if (st == DSC_ERR_NOMEM) return cli_fail(cmd, "%s", dsc_last_error());
    if (st) return cli_usage_error(cmd, "%s", dsc_last_error());
    if (*sharded && !out[0])
        return cli_usage_error(cmd, "'%s' is the index of a sharded checkpoint set without a network (written by the "
                               "library's dsc_dist_checkpoint_save, not by descent train --shard-checkpoints): only "
                               "dsc_dist_checkpoint_load resumes it; descent inspect reads its shards, %s.shard-*",
                               path, path);
    if (*sharded) return 0;
#endif
    if (snprintf(out, cap, "%s", path) >= (int)cap) return cli_usage_error(cmd, "the path '%.64s...' is too long", path);
    return 0;
}
