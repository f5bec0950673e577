/*
 * reduce.c: the gradient reduction, bucket by bucket of the contiguous gradient
 * buffer. Without zero: MPI_Iallreduce in place (every rank gets the whole combined
 * gradient; descent train asks Open MPI for its ring). With zero: a ring
 * reduce-scatter of our own over MPI_Isend/MPI_Irecv, because Open MPI's
 * MPI_Ireduce_scatter reduces the whole bucket to rank 0 (binomial tree) and scatters
 * from there.
 *
 * The ring, on bucket b split into N pieces (piece j is rank j's): at step s = 0..N-2
 * rank r sends its partial sum of piece (r - s - 1) mod N to rank r + 1 and receives
 * piece (r - s - 2) mod N from rank r - 1, adding it into its own gradient there. After
 * N - 1 steps piece r holds the sum over all ranks, in the gradient buffer in place;
 * each rank has sent and received (N-1)/N of the bucket. Piece j is summed in one fixed
 * order, ((g[j+1] + g[j+2]) + ...) + g[j] (rank indices mod N), whatever the timing,
 * so a run is reproducible; it is not one process's order (float rounding differs).
 * The other pieces of the buffer are left holding partial sums.
 *
 * A step goes out as soon as the one before it has arrived: checked whenever the
 * caller comes back (each backward hook, dsc__dist_progress) and waited for in
 * dsc__dist_complete.
 */
#include "dist.h"

#include <time.h>

#define POLL_NS 1000000L /* 1 ms between tests of the step's requests under a timeout */

/* Under a timeout: fails once the deadline has passed (a rank stopped answering),
 * else sleeps a millisecond before the caller tests its requests again. */
static dsc_status pause_or_give_up(dsc_dist *d, double deadline)
{
    const struct timespec pause = {0, POLL_NS};
    if (MPI_Wtime() > deadline) {
        d->stalled = 1;
        return dsc__fail(DSC_ERR_IO, "dist: the step's collectives did not complete within %g s: a rank "
                         "stopped answering", d->cfg.timeout);
    }
    nanosleep(&pause, NULL);
    return DSC_OK;
}

/* ---------------------------------------------------------------- zero's ring */

static size_t mod(long long x, size_t n) { return (size_t)(((x % (long long)n) + (long long)n) % (long long)n); }

/* The pieces rank r sends and receives at ring step s. */
static size_t piece_sent(const dsc_dist *d, int s) { return mod((long long)d->rank - s - 1, (size_t)d->size); }
static size_t piece_received(const dsc_dist *d, int s) { return mod((long long)d->rank - s - 2, (size_t)d->size); }

static char *bucket_at(const dsc_dist *d, size_t b, size_t piece)
{
    size_t b0, b1;
    dsc__dist_bucket(d, b, &b0, &b1);
    return d->gbase + (b0 + (size_t)d->displs[b * (size_t)d->size + piece]) * d->esize;
}

static char *scratch_of(const dsc_dist *d, size_t b) { return d->scratch + b * d->piece_max * d->esize; }

/* Posts bucket b's current ring step. Empty pieces (buckets shorter than N) send
 * nothing: both ends know the lengths. */
static dsc_status ring_post(dsc_dist *d, size_t b)
{
    size_t N = (size_t)d->size;
    int s = d->ring[b], tag = (int)b;
    size_t js = piece_sent(d, s), jr = piece_received(d, s);
    int cs = d->counts[b * N + js], cr = d->counts[b * N + jr];
    int right = (int)mod(d->rank + 1, N), left = (int)mod(d->rank - 1, N);
    int rc = MPI_SUCCESS;
    if (cs) rc = MPI_Isend(bucket_at(d, b, js), cs, d->mtype, right, tag, d->comm, &d->req[2 * b]);
    if (rc == MPI_SUCCESS && cr) rc = MPI_Irecv(scratch_of(d, b), cr, d->mtype, left, tag, d->comm, &d->req[2 * b + 1]);
    return rc == MPI_SUCCESS ? DSC_OK : dsc__mpi_fail(rc, "dist", "MPI_Isend/MPI_Irecv");
}

static int ring_active(const dsc_dist *d, size_t b) { return d->ring[b] != DSC__RING_IDLE && d->ring[b] < d->size - 1; }

/* Adds n received elements into the rank's own gradient, in its own type. */
static void add_into(const dsc_dist *d, char *dst, const char *src, size_t n)
{
    if (d->dtype == DSC_F32) {
        float *x = (float *)(void *)dst;
        const float *y = (const float *)(const void *)src;
        for (size_t i = 0; i < n; i++) x[i] += y[i];
    } else {
        double *x = (double *)(void *)dst;
        const double *y = (const double *)(const void *)src;
        for (size_t i = 0; i < n; i++) x[i] += y[i];
    }
}

/* Takes bucket b through every ring step whose messages have arrived. */
static dsc_status ring_advance(dsc_dist *d, size_t b)
{
    while (ring_active(d, b)) {
        int done = 0;
        int rc = MPI_Testall(2, &d->req[2 * b], &done, MPI_STATUSES_IGNORE);
        if (rc != MPI_SUCCESS) return dsc__mpi_fail(rc, "dist", "MPI_Testall");
        if (!done) return DSC_OK;
        size_t jr = piece_received(d, d->ring[b]);
        add_into(d, bucket_at(d, b, jr), scratch_of(d, b), (size_t)d->counts[b * (size_t)d->size + jr]);
        d->ring[b]++;
        if (ring_active(d, b)) {
            dsc_status st = ring_post(d, b);
            if (st) return st;
        }
    }
    return DSC_OK;
}

static dsc_status ring_start(dsc_dist *d, size_t b)
{
    d->ring[b] = 0; /* with one rank the bucket is already its own sum */
    return ring_active(d, b) ? ring_post(d, b) : DSC_OK;
}

/* Every bucket's ring to its end: blocks in MPI_Waitany until some step's message
 * is through, or with a timeout tests every millisecond until the deadline. */
static dsc_status ring_finish(dsc_dist *d)
{
    double deadline = MPI_Wtime() + d->cfg.timeout;
    for (;;) {
        dsc_status st = dsc__dist_progress(d);
        if (st) return st;
        size_t active = 0;
        for (size_t b = 0; b < d->nbuckets; b++) active += (size_t)ring_active(d, b);
        if (!active) return DSC_OK;
        if (d->cfg.timeout > 0) {
            if ((st = pause_or_give_up(d, deadline))) return st;
            continue;
        }
        int which;
        int rc = MPI_Waitany((int)(2 * d->nbuckets), d->req, &which, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) return dsc__mpi_fail(rc, "dist", "MPI_Waitany");
    }
}

/* ---------------------------------------------------------------- the step's reduction */

dsc_status dsc__dist_start(dsc_dist *d, size_t b)
{
    if (d->cfg.zero) return ring_start(d, b);
    size_t b0, b1;
    dsc__dist_bucket(d, b, &b0, &b1);
    int rc = MPI_Iallreduce(MPI_IN_PLACE, d->gbase + b0 * d->esize, (int)(b1 - b0), d->mtype, MPI_SUM, d->comm,
                            &d->req[b]);
    return rc == MPI_SUCCESS ? DSC_OK : dsc__mpi_fail(rc, "dist", "MPI_Iallreduce");
}

dsc_status dsc__dist_progress(dsc_dist *d)
{
    for (size_t b = 0; d->cfg.zero && b < d->nbuckets; b++) {
        dsc_status st = ring_advance(d, b);
        if (st) return st;
    }
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

dsc_status dsc__dist_wait_requests(dsc_dist *d, size_t n)
{
    int rc;
    if (!(d->cfg.timeout > 0)) {
        rc = MPI_Waitall((int)n, d->req, MPI_STATUSES_IGNORE);
        return rc == MPI_SUCCESS ? DSC_OK : dsc__mpi_fail(rc, "dist", "MPI_Waitall");
    }
    double deadline = MPI_Wtime() + d->cfg.timeout;
    for (;;) {
        int done = 0;
        rc = MPI_Testall((int)n, d->req, &done, MPI_STATUSES_IGNORE);
        if (rc != MPI_SUCCESS) return dsc__mpi_fail(rc, "dist", "MPI_Testall");
        if (done) return DSC_OK;
        dsc_status st = pause_or_give_up(d, deadline);
        if (st) return st;
    }
}

dsc_status dsc__dist_complete(dsc_dist *d)
{
    dsc_status st = d->cfg.zero ? ring_finish(d) : dsc__dist_wait_requests(d, d->nbuckets);
    if (st) return st;
    if (d->cfg.reduce == DSC_DIST_MEAN && d->size > 1) {
        if (!d->cfg.zero) scale(d, d->gbase, d->n);
        for (size_t j = 0; d->cfg.zero && j < d->npieces; j++) scale(d, d->views[j].grad, d->views[j].n);
    }
    return DSC_OK;
}
