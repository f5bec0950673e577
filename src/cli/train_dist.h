/* train_dist.h: descent train under mpirun (built when MPI is found: DSC_HAVE_MPI). */
#ifndef DSC_CLI_TRAIN_DIST_H
#define DSC_CLI_TRAIN_DIST_H

#include "descent_nn.h"

typedef struct train_dist train_dist;

#include "descent_data.h"

#include <stdint.h>

/* Joins the MPI job when mpirun started this process, else leaves *td NULL (one
 * process). Ranks other than 0 print no results (their stdout is closed); their
 * stderr lines start with "[rank R] ". */
dsc_status train_dist_start(train_dist **td, int *rank, int *size);

/* --log-dir: this rank's stderr (its epoch lines and errors) also goes to
 * DIR/rank-R.log; ranks other than 0 then write there alone and report every epoch.
 * 0, or the exit code of the error it reported. */
int train_dist_set_log_dir(train_dist *td, const char *dir);

/* --timeout: how long a rank waits for the others in an agreement (0: for ever). */
void train_dist_set_timeout(train_dist *td, double seconds);

/* A fingerprint of the run: the options that decide the computation (as text), the
 * data and the starting weights. Ranks that differ in any of them cannot train together. */
uint64_t train_dist_fingerprint(const char *options, const dsc_dataset *ds, const dsc_mlp *m);

/*
 * The start-up agreement, reached by every rank whatever failed before it: rc is this
 * rank's outcome so far (0, or the exit code of the error it printed), print its
 * fingerprint. Returns rc when this rank failed; otherwise the first failed rank's rc
 * when another one failed, CLI_EXIT_USAGE when a fingerprint differs from rank 0's (rank 0 names
 * the rank), else 0. A rank that does not arrive within the timeout ends the job.
 */
int train_dist_agree_start(train_dist *td, int rc, uint64_t print);

/* The end agreement: returns rc. A rank that failed (rc > 0) waits at most a few
 * seconds for the others, which may be waiting in a collective for it, then ends the
 * job (MPI_Abort) naming the ranks that did not arrive. */
int train_dist_agree_end(train_dist *td, int rc);

/*
 * Compiles the model for a data-parallel run: its own optimizer is stateless (plain
 * SGD at the spec's rate, with the schedule, so that the fit knows the rate and whether
 * the schedule wants the loss); the dist layer holds the real state, which on every
 * rank in full would undo what zero saves. The spec is checked here.
 */
dsc_status train_dist_compile(dsc_mlp *m, const char *spec, const char *schedule, dsc_loss loss);

/* What train_dist_attach makes of the run. */
typedef struct train_dist_options {
    const char *spec, *schedule; /* the optimizer and its schedule (NULL: none) */
    int zero;                    /* --zero: shard the optimizer state */
    int shard_checkpoints;       /* --shard-checkpoints: saves write sharded sets (with zero) */
    size_t bucket_bytes;
    const dsc_ckpt *ck;          /* a resumed run (fc->resume): the checkpoint the network came from */
    const char *index;           /* ... when that is a sharded set's sidecar, the set's index, else NULL */
} train_dist_options;

/*
 * Makes the compiled model's training data-parallel: a dsc_dist over its contiguous
 * buffers with o's optimizer spec and schedule, sharded state with zero, buckets of
 * bucket_bytes, hooked into *fc; the model compiled by train_dist_compile.
 * With fc->resume, the model's optimizer (loaded from ck without its state, on every
 * rank) and each rank's own state read from ck become the run's (dsc_dist_restore_state);
 * from a sharded set, the set's state (dsc_dist_checkpoint_load of the index: each rank
 * its own shard on the same layout, else rebuilt at rank 0). The model is then
 * recompiled by train_dist_compile.
 */
dsc_status train_dist_attach(train_dist *td, dsc_mlp *m, const train_dist_options *o, dsc_fit_config *fc);

/* --save under mpirun (a train_saver's save, ctx the train_dist). Collective: the
 * run's optimizer state gathered at rank 0 into one optimizer over the model's tensors,
 * written there with the model (dsc_mlp_save with the gathered optimizer); a failure fails on every rank. */
dsc_status train_dist_save(void *ctx, const dsc_mlp *m, const char *path, const dsc_kv *kv, size_t n);
/* --save with --shard-checkpoints (a train_saver's save, ctx the train_dist). Collective:
 * a sharded set at path, every rank writing its own shard of the optimizer state and
 * rank 0 the sidecar, the model without its optimizer state (dsc_mlp_save with the
 * model's stateless stand-in); a failure fails on every rank, the previous set whole. */
dsc_status train_dist_save_sharded(void *ctx, const dsc_mlp *m, const char *path, const dsc_kv *kv, size_t n);

/* Bytes of optimizer state this process holds. */
size_t train_dist_state_bytes(const train_dist *td);

/* Leaves the job (MPI_Finalize) and frees td. */
void train_dist_end(train_dist *td);

#endif
