/* SPDX-License-Identifier: MIT (see LICENSE); part of descent. */
/*
 * descent_dist.h: scale-out over MPI (libdescent_dist, built when MPI is found).
 *
 * Data-parallel training: every rank computes gradients on its share of the global
 * batch; dsc_dist averages (or sums) them with MPI collectives over the contiguous
 * gradient buffer, one call per bucket (~25 MB), and every rank applies the same step.
 * With zero = 1 the optimizer state is sharded (ZeRO stage 1): each rank owns the state
 * of 1/N of every bucket, gradients are reduce-scattered, each rank updates its pieces
 * and the updated parameters are all-gathered. Either way the parameters are broadcast
 * from rank 0 at create, so every rank starts identical.
 *
 * The tensors given to dsc_dist_create must lie back to back, in order, in one
 * parameter buffer and one gradient buffer (llm.c's layout), all of one dtype.
 *
 * The caller initialises MPI (MPI_Init) and finalises it; every function marked
 * "collective" must be called by every rank of the communicator, in the same order.
 */
#ifndef DESCENT_DIST_H
#define DESCENT_DIST_H

#include "descent.h"
#include "descent_checkpoint.h"

#include <mpi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How the ranks' gradients combine. */
typedef enum dsc_dist_reduce {
    DSC_DIST_MEAN = 0, /* sum / N: each rank's gradient is the mean over its equal share */
    DSC_DIST_SUM = 1   /* sum: each rank's gradient is its share's sum / global batch
                        * (exact for uneven shares) */
} dsc_dist_reduce;

typedef struct dsc_dist_config {
    size_t bucket_bytes;    /* gradient bytes per collective call (default 25 MiB) */
    int zero;               /* 1: shard the optimizer state (ZeRO stage 1) */
    dsc_dist_reduce reduce; /* default DSC_DIST_MEAN */
    double timeout;         /* > 0: seconds dsc_dist_wait waits for the step's reductions
                             * before it fails with DSC_ERR_IO (a rank stopped
                             * answering); the context can then only be destroyed, and
                             * the caller should end the job (MPI_Abort). 0: for ever */
    int shard_checkpoints;  /* 1 (with zero): dsc_dist_checkpoint_save writes one file per
                             * rank and an index (see there); default 0: one file */
} dsc_dist_config;

/* The defaults: 25 MiB buckets, plain data-parallel, mean, no timeout. */
dsc_dist_config dsc_dist_config_default(void);

typedef struct dsc_dist dsc_dist;

/*
 * Collective. Creates the data-parallel context over comm (duplicated, so the
 * caller's traffic never mixes with ours) and the optimizer with *hp: over every
 * tensor, or with cfg->zero over views of this rank's slice. Broadcasts the parameters
 * from rank 0. cfg NULL means the defaults. Every rank must pass the same tensors,
 * hp and cfg (checked: a disagreement fails on every rank). The descriptors are copied
 * (names included); the buffers are borrowed. With zero, kinds that need whole tensors
 * (lamb, lars, muon) and accumulate > 1 are DSC_ERR_UNSUPPORTED.
 */
dsc_status dsc_dist_create(dsc_dist **out, MPI_Comm comm, const dsc_hparams *hp,
                           const dsc_param *params, size_t count, const dsc_dist_config *cfg);
/* Collective (frees the communicator); waits for collectives still in flight. */
void dsc_dist_destroy(dsc_dist *d);

int dsc_dist_rank(const dsc_dist *d);
int dsc_dist_size(const dsc_dist *d);

/* The share [*lo, *hi) of total items (examples, elements) that rank gets out of size:
 * contiguous, the first total % size ranks one larger. */
void dsc_dist_split(size_t total, int rank, int size, size_t *lo, size_t *hi);

/* Gradient buckets: bucket b covers elements [*first, *first + *count) of the
 * contiguous gradient buffer. */
size_t dsc_dist_bucket_count(const dsc_dist *d);
dsc_status dsc_dist_bucket_range(const dsc_dist *d, size_t b, size_t *first, size_t *count);

/*
 * Overlap: say that the gradients of bucket b (or tensor i) are final; the bucket's
 * non-blocking reduction (MPI_Iallreduce, or with zero a ring reduce-scatter over
 * MPI_Isend/MPI_Irecv, whose later steps these calls also send) may start while the
 * caller computes the rest. A bucket starts when every tensor touching it
 * is ready and every bucket after it has started: all ranks start the buckets in one
 * order, last to first (the order of a backward pass), whatever each has computed, as
 * MPI pairs collectives by their order. Each bucket or tensor once per step.
 */
dsc_status dsc_dist_grad_ready(dsc_dist *d, size_t b);
dsc_status dsc_dist_tensor_ready(dsc_dist *d, size_t i);

/* Collective. Starts the buckets not yet started and waits for all. Afterwards the
 * gradient buffer holds the combined gradients (without zero), or (with zero) the
 * combined gradients in this rank's pieces (dsc_dist_shard_piece) and partial sums
 * elsewhere. */
dsc_status dsc_dist_wait(dsc_dist *d);

/*
 * Collective. dsc_dist_wait, then one optimizer step on identical gradients: the
 * whole model, or this rank's slice followed by the all-gather of the parameters.
 * Clipping and the non-finite policy of hp see the global gradient in both modes, and
 * every rank takes the same decision (skip, error, step).
 */
dsc_status dsc_dist_step(dsc_dist *d);
/* Collective. dsc_optim_eval_mode on every rank (Schedule-Free's evaluation point x
 * into the parameters, or back with eval 0); with zero the slices are all-gathered. */
dsc_status dsc_dist_eval_mode(dsc_dist *d, int eval);
/* dsc_dist_step for loss-driven schedules (dsc_optim_step_loss): pass the global
 * loss, the same on every rank. */
dsc_status dsc_dist_step_loss(dsc_dist *d, double loss);
/* Attaches a schedule to a group (-1: all) on every rank (dsc_optim_set_schedule);
 * call on every rank. */
dsc_status dsc_dist_set_schedule(dsc_dist *d, int group, const char *spec);
/* Sets the local gradient buffer to zero. */
void dsc_dist_zero_grad(dsc_dist *d);

/* The local optimizer: over every tensor, or (zero) over this rank's views, one per
 * piece of a tensor, named after it and the piece's elements ("fc1.weight[512:768]");
 * NULL for a rank that owns no element. Owned by d. */
dsc_optim *dsc_dist_optim(const dsc_dist *d);
/* Bytes of optimizer state on this rank (about 1/N of the unsharded with zero). */
size_t dsc_dist_state_bytes(const dsc_dist *d);
/* The elements this rank owns: with zero a piece of every bucket (the bucket split
 * into N pieces in rank order, lengths differing by at most one), about 1/N of the
 * model; without zero every element. */
size_t dsc_dist_shard_size(const dsc_dist *d);
/* This rank's piece of bucket b: elements [*first, *first + *count) of the contiguous
 * buffer (*count may be 0; the whole bucket without zero). */
dsc_status dsc_dist_shard_piece(const dsc_dist *d, size_t b, size_t *first, size_t *count);

/* Counters and measures of the global step, identical on every rank. */
int64_t dsc_dist_step_count(const dsc_dist *d);
int64_t dsc_dist_skipped_count(const dsc_dist *d);
double dsc_dist_grad_norm(const dsc_dist *d);
/* Sets the learning rate of a group on every rank's optimizer (call on every rank). */
dsc_status dsc_dist_set_lr(dsc_dist *d, int group, double lr);

/*
 * Checkpoints. Collective. gather: rank 0 copies the complete training state
 * (parameters, every state buffer, counters, group scalars and hyperparameters) into
 * full, a single-process optimizer of the same kind over tensors of the same names,
 * sizes and dtype (its own buffers or the context's); a checkpoint of full resumes in
 * one process. scatter: the reverse, from rank 0's full (loaded from a checkpoint of
 * one process or of a run on any number of ranks) onto every rank. Ranks other than
 * 0 pass NULL. A mismatch at rank 0 fails on every rank, changing nothing.
 */
dsc_status dsc_dist_gather_state(dsc_dist *d, dsc_optim *full);
dsc_status dsc_dist_scatter_state(dsc_dist *d, const dsc_optim *full);
/* Collective. scatter_state from a full restored without its state (dsc_mlp_load_options'
 * skip_state, or dsc_checkpoint_load_options'), every rank reading its own state from
 * ck, the same checkpoint open on every rank: with zero only its pieces of each state
 * tensor, without zero each whole tensor straight into its buffer, so no rank holds a
 * second copy. Every rank checks the file's state tensors (names, dtypes, shapes)
 * before anything changes; a failure on one fails on every rank. */
dsc_status dsc_dist_restore_state(dsc_dist *d, const dsc_optim *full, const dsc_ckpt *ck);

/*
 * The same through checkpoint files (descent_checkpoint.h). Collective; path and o
 * (NULL: the defaults) are used at rank 0. save writes one complete checkpoint that
 * dsc_checkpoint_load resumes in one process (rank 0 holds the whole optimizer state
 * for the while); load reads a checkpoint of one process or of any number of ranks
 * and scatters it. A failure at rank 0 fails on every rank, changing nothing.
 *
 * With cfg.zero and cfg.shard_checkpoints, save writes a sharded checkpoint instead:
 * every rank its shard, "<path>.shard-<set>-<rank>-of-<N>" (an ordinary checkpoint of
 * its optimizer over its pieces, extra included), then rank 0 the index at path (a
 * small JSON file naming them), whose atomic rename commits the set; the shards no
 * index names (an earlier or a crashed save's) are removed after. No rank holds more
 * than its own state. load takes an index as well as a file: with the same rank count
 * and bucket size every rank reads only its own shard; any other run (another rank
 * count, one rank, plain data-parallel) has every rank read its slices of the saved
 * pieces straight from the shards, so no rank holds more than its share either. Every
 * shard is checked on every rank before the run changes (a shard that changes on
 * disk meanwhile can still fail it part way).
 */
dsc_status dsc_dist_checkpoint_save(dsc_dist *d, const char *path, const dsc_checkpoint_save_options *o);
dsc_status dsc_dist_checkpoint_load(dsc_dist *d, const char *path);

/*
 * Collective; cfg.zero and cfg.shard_checkpoints. The sharded save of
 * dsc_dist_checkpoint_save and one file more, the set's sidecar: once every shard is
 * written, rank 0 calls write(file, ctx) with file "<path>.shard-<set>-sidecar" (to
 * hold what the caller keeps beside the optimizer, e.g. descent train's network
 * without its optimizer state); the index names it, so it is committed by the index's
 * rename and removed with its set. A failing write fails on every rank, and the files
 * this save wrote are removed: the previous set stays whole.
 */
dsc_status dsc_dist_checkpoint_save_sidecar(dsc_dist *d, const char *path, const dsc_checkpoint_save_options *o,
                                            dsc_status (*write)(const char *file, void *ctx), void *ctx);

/*
 * Not collective, needs no MPI (a single process may call it without MPI_Init).
 * sidecar: whether path is the index of a sharded set (*is_index, after checking it:
 * a damaged index fails), and when it is, the path of the set's sidecar into out
 * (cap bytes; "" for a set saved without one). assemble: the whole training state of
 * the set at path (parameters, every state buffer, groups, schedules, counters and
 * the mode of schedule-free kinds) into full, a single-process optimizer of the
 * saving run's kind over its tensors (same names, sizes, dtype), which must lie back
 * to back in one buffer, and their gradients in another (a dsc_mlp's do); the set may
 * come from any rank count. The shards' tensors are read slice by slice into full's
 * own buffers, after every one is checked: nothing else of that size is held. On a
 * failure before the reading, nothing changed; a shard that changes on disk meanwhile
 * can leave full partly written (destroy it).
 */
dsc_status dsc_dist_checkpoint_sidecar(const char *path, int *is_index, char *out, size_t cap);
dsc_status dsc_dist_checkpoint_assemble(dsc_optim *full, const char *path);

/* The gather of dsc_dist_checkpoint_save with the caller's writer: collective; at rank
 * 0, save(full, ctx) with the complete optimizer over the run's buffers (to write it
 * with more, e.g. dsc_mlp_save with its optimizer option). Its failure fails on every
 * rank. */
dsc_status dsc_dist_checkpoint_gather(dsc_dist *d, dsc_status (*save)(const dsc_optim *full, void *ctx), void *ctx);

#ifdef __cplusplus
}
#endif
#endif /* DESCENT_DIST_H */
