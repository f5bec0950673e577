/*
 * reduce.c: the gradient reduction, one non-blocking collective per bucket of the
 * contiguous gradient buffer: MPI_Iallreduce in place (every rank gets the whole
 * combined gradient), or with zero MPI_Ireduce_scatter into this rank's slice (the
 * same ring traffic's first half; the all-gather of parameters is the second).
 */
#include "dist.h"

#include <time.h>

#define POLL_NS 1000000L /* 1 ms between tests of the step's requests under a timeout */

/* Where bucket b's part of this rank's slice goes in shard_grad (0 when none). */
static size_t shard_offset(const dsc_dist *d, size_t b0, size_t b1)
{
    size_t s = b0 > d->lo ? b0 : d->lo;
    return s < d->hi && s < b1 ? s - d->lo : 0;
}

dsc_status dsc__dist_start(dsc_dist *d, size_t b)
{
    size_t b0, b1;
    dsc__dist_bucket(d, b, &b0, &b1);
    char *send = d->gbase + b0 * d->esize;
    int rc;
    if (d->cfg.zero) {
        char *recv = d->shard_grad + shard_offset(d, b0, b1) * d->esize;
        rc = MPI_Ireduce_scatter(send, recv, d->counts + b * (size_t)d->size, d->mtype, MPI_SUM, d->comm,
                                 &d->req[b]);
    } else {
        rc = MPI_Iallreduce(MPI_IN_PLACE, send, (int)(b1 - b0), d->mtype, MPI_SUM, d->comm, &d->req[b]);
    }
    if (rc != MPI_SUCCESS)
        return dsc__mpi_fail(rc, "dist", d->cfg.zero ? "MPI_Ireduce_scatter" : "MPI_Iallreduce");
    return DSC_OK;
}

/* Divides n elements at p by size, in the element's own type (a division, not a
 * multiplication by 1/size, so the mean of 3 ranks rounds once). */
static void scale(dsc_dist *d, char *p, size_t n)
{
    if (d->dtype == DSC_F32) {
        float *f = (float *)(void *)p, s = (float)d->size;
        for (size_t i = 0; i < n; i++) f[i] /= s;
    } else {
        double *f = (double *)(void *)p, s = (double)d->size;
        for (size_t i = 0; i < n; i++) f[i] /= s;
    }
}

/* Every request of the step, by MPI_Waitall, or with a timeout by MPI_Testall every
 * millisecond until the deadline: a rank that stopped answering then fails the wait
 * instead of holding it for ever. */
static dsc_status wait_all(dsc_dist *d)
{
    int rc;
    if (!(d->cfg.timeout > 0)) {
        rc = MPI_Waitall((int)d->nbuckets, d->req, MPI_STATUSES_IGNORE);
        return rc == MPI_SUCCESS ? DSC_OK : dsc__mpi_fail(rc, "dist", "MPI_Waitall");
    }
    const struct timespec pause = {0, POLL_NS};
    double deadline = MPI_Wtime() + d->cfg.timeout;
    for (;;) {
        int done = 0;
        rc = MPI_Testall((int)d->nbuckets, d->req, &done, MPI_STATUSES_IGNORE);
        if (rc != MPI_SUCCESS) return dsc__mpi_fail(rc, "dist", "MPI_Testall");
        if (done) return DSC_OK;
        if (MPI_Wtime() > deadline) {
            d->stalled = 1;
            return dsc__fail(DSC_ERR_IO, "dist: the step's reductions did not complete within %g s: a rank "
                             "stopped answering", d->cfg.timeout);
        }
        nanosleep(&pause, NULL);
    }
}

dsc_status dsc__dist_complete(dsc_dist *d)
{
    dsc_status st = wait_all(d);
    if (st) return st;
    if (d->cfg.reduce == DSC_DIST_MEAN && d->size > 1) {
        if (d->cfg.zero) scale(d, d->shard_grad, d->hi - d->lo);
        else scale(d, d->gbase, d->n);
    }
    return DSC_OK;
}
