/*
 * dist.h: what the files of the dist layer share. The context sees the model as one
 * flat run of n elements (tensor i starts at offsets[i]); buckets and shards are
 * ranges of that run, so every collective works on contiguous memory.
 */
#ifndef DSC_DIST_INTERNAL_H
#define DSC_DIST_INTERNAL_H

#include "../core/internal.h"
#include "descent_dist.h"

/* A piece of tensor `tensor` inside this rank's shard: its elements [offset,
 * offset+len), which sit at soff in the shard's own run (its pieces back to back). */
typedef struct dsc__piece {
    size_t tensor;
    size_t offset;
    size_t len;
    size_t soff;
} dsc__piece;

/* A sharded optimizer: over views of one rank's pieces of a layout (a rank count and
 * a bucket size), pointing into the context's buffers; its own, or another run's when
 * a sharded checkpoint of it is read. */
typedef struct dsc__shard {
    size_t npieces;
    dsc__piece *pieces;
    dsc_param *views; /* names owned */
    dsc_optim *opt;   /* NULL when the rank has no piece */
} dsc__shard;

struct dsc_dist {
    MPI_Comm comm;
    int rank, size;
    dsc_dist_config cfg;
    dsc_hparams hp;       /* as the caller gave it (clipping, non-finite policy) */
    MPI_Datatype mtype;
    dsc_dtype dtype;
    size_t esize;
    /* the model */
    size_t count;
    dsc_param *params;    /* the caller's descriptors (names borrowed) */
    size_t *offsets;      /* count + 1 element offsets */
    char *pbase, *gbase;  /* the contiguous parameter and gradient buffers */
    size_t n;
    int ngroups;
    /* buckets */
    size_t bucket_elems, nbuckets;
    MPI_Request *req;     /* 2 per bucket: its collective, or (zero) its ring step's send and receive */
    unsigned char *marked; /* per bucket, said ready by dsc_dist_grad_ready */
    size_t *pending;      /* per bucket, elements whose tensor is not ready yet */
    size_t nstarted;      /* buckets started this step, in the agreed order (see start_in_order) */
    int stalled;          /* a wait timed out with reductions in flight: destroy only */
    unsigned char *tready;
    /* the shard: with zero, every rank owns a piece of every bucket (its 1/N); without,
     * every element */
    size_t nshard;        /* elements this rank owns */
    int *counts, *displs; /* zero: per bucket and rank, the rank's piece: its length and
                           * where it starts inside the bucket */
    size_t *soff;         /* zero: per bucket, where this rank's piece sits in the shard's run */
    int *ring;            /* zero: per bucket, the ring step in flight (RING_IDLE, size - 1: done) */
    char *scratch;        /* zero: per bucket, room for one piece received */
    size_t piece_max;     /* zero: the longest piece of any bucket, in elements */
    dsc__shard own;       /* zero: this rank's; pieces, views and opt below are its */
    size_t npieces;
    dsc__piece *pieces;
    dsc_param *views;
    dsc_optim *opt;
    double *stats;        /* zero: 2 count + 1 doubles of global gradient statistics */
    /* the global step */
    int64_t steps, skipped, consecutive;
    double grad_norm;
};

/* Collective: fails on every rank when st failed on any (the others name no detail). */
dsc_status dsc__dist_agree(dsc_dist *d, dsc_status st);

/* Collective: rank 0's parameters to every rank, one bucket per call. */
dsc_status dsc__dist_broadcast_params(dsc_dist *d);

/* Element range of bucket b (ranges.c). */
void dsc__dist_bucket(const dsc_dist *d, size_t b, size_t *b0, size_t *b1);

/* reduce.c: starts bucket b's reduction; moves the started ones on without waiting
 * (zero's ring steps); completes every started one. */
dsc_status dsc__dist_start(dsc_dist *d, size_t b);
dsc_status dsc__dist_progress(dsc_dist *d);
dsc_status dsc__dist_complete(dsc_dist *d);
/* The first n requests of d->req, by MPI_Waitall, or under cfg.timeout by MPI_Testall
 * every millisecond until the deadline: a rank that stopped answering then fails the
 * wait (DSC_ERR_IO, d->stalled) instead of holding it for ever. */
dsc_status dsc__dist_wait_requests(dsc_dist *d, size_t n);
/* The ring's state of a bucket not started this step. */
#define DSC__RING_IDLE (-1)

/* zero.c: the sharded optimizer and its step. */
/* Rank `rank`'s shard of a layout of `size` ranks and buckets of bucket_elems elements,
 * over d's tensors, their values in pbase (d->pbase, or a copy of its size), the
 * gradients in d's (the optimizer with dsc__shard_hparams of d's). */
dsc_status dsc__shard_create(const dsc_dist *d, size_t size, size_t rank, size_t bucket_elems, char *pbase,
                             dsc__shard *sh);
/* Its pieces and views alone (sh->opt NULL): where a saved shard's tensors belong. */
dsc_status dsc__shard_layout(const dsc_dist *d, size_t size, size_t rank, size_t bucket_elems, char *pbase,
                             dsc__shard *sh);
void dsc__shard_free(dsc__shard *sh);
/* The shard's hyperparameters: clipping and the non-finite policy move to the
 * context (they need the global gradient); everything element-wise stays. */
dsc_hparams dsc__shard_hparams(const dsc_hparams *hp);
dsc_status dsc__zero_setup(dsc_dist *d);
void dsc__zero_free(dsc_dist *d);
/* loss: NULL, or the loss for loss-driven schedules */
dsc_status dsc__zero_step(dsc_dist *d, const double *loss);
/* Collective: every rank's slice of the parameters to every rank. */
dsc_status dsc__zero_gather_params(dsc_dist *d);

/* schedule_bytes.c: group g's schedule of opt as bytes (malloc'd), and back onto opt. */
dsc_status dsc__dist_pack_schedule(const dsc_optim *opt, int g, unsigned char **out, size_t *len);
dsc_status dsc__dist_apply_schedule(dsc_optim *opt, int g, unsigned char *buf, size_t len);

/* gather.c: group g's hyperparameters, scalars and schedule from src onto dst (dst
 * keeps its own clipping and non-finite controls). */
dsc_status dsc__dist_copy_group(const dsc_optim *src, dsc_optim *dst, int g);

/* shards.c: sharded checkpoints (cfg.shard_checkpoints with zero). save_sharded
 * writes the set; load_index resumes from an index file, and returns DSC_ERR_FORMAT
 * without doing anything (and without a message) when path is not one. */
dsc_status dsc__dist_save_sharded(dsc_dist *d, const char *path, const dsc_checkpoint_save_options *o,
                                  dsc_status (*sidecar)(const char *file, void *ctx), void *ctx);
dsc_status dsc__dist_load_index(dsc_dist *d, const char *path, int *is_index);

/* Names an MPI failure: "who: MPI_Xxx failed: <MPI's message>" (mpi_error.c). */
dsc_status dsc__mpi_fail(int rc, const char *who, const char *call);

#endif
