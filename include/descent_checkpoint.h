/* SPDX-License-Identifier: MIT (see LICENSE); part of descent. */
/*
 * descent_checkpoint.h: optimizer checkpoints as safetensors files (the checkpoint layer
 * of libdescent; it depends on the core, cJSON and zlib).
 *
 * A checkpoint is a standard safetensors file: an 8-byte little-endian header length,
 * a JSON header, then the raw little-endian tensor bytes. Python, Rust and JavaScript
 * read it without our code. Tensors are keyed by name, never by position:
 *
 *   param/<name>            the parameter values (restored into the caller's buffers);
 *                           schedule-free saves its evaluation point x here in either
 *                           mode (after its first step), so a reader never takes the
 *                           training point y for the weights; resume rebuilds y from
 *                           the state z and x
 *   state/<name>/<buffer>   each state buffer: exp_avg, exp_avg_sq, max_exp_avg_sq,
 *                           momentum_buffer, sum, square_avg, acc_delta, grad_avg, ...
 *                           (lookahead's slow weights are state/<name>/lookahead_slow)
 *   optim/<name>            an optimizer-wide state of F64 (L-BFGS's old_dirs, old_stps,
 *                           ro, d, prev_flat_grad, n_iter, func_evals, ...), checked by
 *                           the kind when loaded
 *   average/<name>/<ema|swa> a weight average's buffers (the options' average below;
 *                           ASGD's ax has none: its buffers are state/<name>/ax)
 *
 * The header's "__metadata__" (string -> string) holds:
 *
 *   format=descent.checkpoint, format_version=1, descent_version
 *   optimizer               the kind ("adam")
 *   groups                  the number of parameter groups
 *   group.<g>.hparams       the group's canonical spec (dsc_hparams_format, %.17g)
 *   group.<g>.<scalar>      every group scalar (dsc_optim_scalar_name: NAdam's
 *                           mu_product, schedule-free's weight_sum and lr_max)
 *   group.<g>.schedule      the group's schedule spec, when it has one, with
 *                           .base_lr, .state.<name> (position, lr, ...) and .history
 *   step, skipped, consecutive_skips
 *                           the counters; descent keeps ONE step count per optimizer,
 *                           not one per tensor as torch.optim does
 *   accumulate.count, accumulate.loss_sum
 *                           the gradient-accumulation window (its buffer is the state
 *                           tensor grad_accum)
 *   eval_mode               1 when saved in eval mode (schedule-free's x in the params)
 *   average, average.updates, average.averaged
 *                           a weight average's canonical spec (dsc_average_format) and
 *                           counters, when one was saved
 *   extra.<key>             the caller's own strings (problem, RNG state, epoch, ...)
 *   (and tensors named extra/<name> hold the caller's own arrays, the options' tensors)
 *   checksum                "crc32:xxxxxxxx", zlib's CRC-32 of the whole data section
 *   header_checksum         "crc32:xxxxxxxx", the last key: zlib's CRC-32 of the file's
 *                           first 8 + N bytes (the length and the header, padding
 *                           included) with these 8 hex digits read as "00000000"; so
 *                           a damaged header is refused rather than read as other
 *                           numbers (files without it, from before, are still read)
 *
 * Doubles are printed with %.17g, so every value reads back to the same bits, and a
 * resumed run continues on exactly the bits of an uninterrupted one.
 *
 * Loading checks everything (the header length, the JSON, every dtype, shape and
 * offset, that the offsets tile the data section without gaps or overlap, both
 * checksums, no metadata key twice, every value in its range, that every tensor the optimizer needs is present and no other is, but
 * the caller's extra/ tensors) before it changes anything: a failed load leaves the optimizer untouched
 * (only a file changed in place while it loads, which the checks cannot foresee,
 * fails after the copy began: the message says the optimizer is partly restored).
 *
 * Saving to a path is atomic: a temporary file in the same directory, fsync, rename
 * over the target, fsync of the directory. A crash mid-save leaves the previous
 * checkpoint intact (and at worst a stray "<path>.tmp.*" file).
 */
#ifndef DESCENT_CHECKPOINT_H
#define DESCENT_CHECKPOINT_H

#include "descent.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DSC_CHECKPOINT_FORMAT "descent.checkpoint"
#define DSC_CHECKPOINT_VERSION 1
/* The safetensors reference implementation refuses larger headers, and so do we. */
#define DSC_CHECKPOINT_MAX_HEADER (100u << 20)

/* One string of caller metadata, stored as "extra.<key>". */
typedef struct dsc_kv {
    const char *key;
    const char *value;
} dsc_kv;

/* ---------------------------------------------------------------- save */

/* What a save writes beside the optimizer. */
typedef struct dsc_checkpoint_save_options {
    /* A weight average (NULL: none), stored as "average/<name>/<ema|swa>" with its spec
     * and counters (ASGD's ax as spec and counters: its buffers are the state's). A swapped-in one (dsc_average_swap) is refused: the parameters
     * would hold the average instead of the training point. */
    const dsc_average *average;
    /* nextra caller strings, stored as "extra.<key>" (dsc_ckpt_extra reads them). */
    const dsc_kv *extra;
    size_t nextra;
    /* ntensors caller tensors (F32 or F64; name, dtype, ndim, shape, n and data are
     * used), stored as "extra/<name>": a load leaves them alone, the caller reads them
     * back (dsc_ckpt_find, dsc_ckpt_read). */
    const dsc_param *tensors;
    size_t ntensors;
} dsc_checkpoint_save_options;

/* Nothing beside the optimizer. */
dsc_checkpoint_save_options dsc_checkpoint_save_options_default(void);

/* Writes opt (its parameters, state, hyperparameters, schedules and counters) and what
 * o adds (NULL: nothing) to path, atomically. */
dsc_status dsc_checkpoint_save(const dsc_optim *opt, const char *path, const dsc_checkpoint_save_options *o);

/* The same into caller memory. *len receives the size the checkpoint needs; with buf
 * NULL nothing else happens (a size query); with cap < *len it is DSC_ERR_ARG. */
dsc_status dsc_checkpoint_save_mem(const dsc_optim *opt, void *buf, size_t cap, size_t *len,
                                   const dsc_checkpoint_save_options *o);

/* ---------------------------------------------------------------- load */

/* What a load restores beside the optimizer. */
typedef struct dsc_checkpoint_load_options {
    /* A weight average to restore too (NULL: none): created over tensors of the same
     * names, dtypes and shapes with the same spec (compared canonically), not swapped
     * in. A file that holds an average loads only with one (and one without, only
     * without). */
    dsc_average *average;
    /* 1: restore everything but the state buffers (parameters, hyperparameters,
     * scalars, counters, schedules, accumulation count, the average): the file's
     * state/ tensors are neither read nor required, and the caller fills the buffers
     * (dsc_optim_state; a sharded run its slices with dsc_ckpt_read), then sets the
     * saved mode (dsc_optim_eval_mode with the metadata's eval_mode), which rebuilds
     * schedule-free's training point from the state. */
    int skip_state;
} dsc_checkpoint_load_options;

/* No average, the state restored. */
dsc_checkpoint_load_options dsc_checkpoint_load_options_default(void);

/* Restores opt, created over parameters of the same names, dtypes and shapes and of
 * the same kind, from a checkpoint: parameter values, state, every group's
 * hyperparameters, scalars and schedule (attached as saved, replacing or removing the
 * group's own), counters, accumulation window, eval mode; and what o asks for (NULL:
 * the defaults). On any failure opt (and o's average) is unchanged. */
dsc_status dsc_checkpoint_load(dsc_optim *opt, const char *path, const dsc_checkpoint_load_options *o);
dsc_status dsc_checkpoint_load_mem(dsc_optim *opt, const void *buf, size_t len, const dsc_checkpoint_load_options *o);

/* ---------------------------------------------------------------- inspect */

/* A checked safetensors file: any valid safetensors file opens (also one another
 * program wrote, of any standard dtype); only a descent checkpoint restores. */
typedef struct dsc_ckpt dsc_ckpt;

/* Opens path: reads and checks its length and header (the structure, the header
 * checksum) and streams the data section once through a bounded buffer to verify the
 * data checksum, when the metadata has one. The tensors stay in the file, read when
 * asked for (dsc_ckpt_read, dsc_ckpt_restore): an open checkpoint holds its header
 * and the open file, never the data. The file must not be changed in place while
 * open (descent's own saves replace a file by renaming, which an open reader does not
 * see); one that shrank since is refused when read. dsc_ckpt_open_mem reads a copy of
 * buf. */
dsc_status dsc_ckpt_open(dsc_ckpt **out, const char *path);
dsc_status dsc_ckpt_open_mem(dsc_ckpt **out, const void *buf, size_t len);
void dsc_ckpt_close(dsc_ckpt *ck);

/* Metadata in file order; dsc_ckpt_meta gives a key's value or NULL. */
size_t dsc_ckpt_meta_count(const dsc_ckpt *ck);
dsc_status dsc_ckpt_meta_at(const dsc_ckpt *ck, size_t i, const char **key, const char **value);
const char *dsc_ckpt_meta(const dsc_ckpt *ck, const char *key);
/* A caller string saved with the checkpoint (the value of "extra.<key>") or NULL. */
const char *dsc_ckpt_extra(const dsc_ckpt *ck, const char *key);

typedef struct dsc_ckpt_tensor {
    const char *name;
    const char *dtype;   /* the safetensors name: "F32", "F64", "BF16", "I64", ... */
    size_t elem_size;    /* bytes per element */
    int ndim;            /* 0 for a scalar */
    size_t shape[DSC_MAX_DIMS];
    size_t n;            /* elements: the product of the shape */
    size_t begin, end;   /* data_offsets, relative to the start of the data section */
} dsc_ckpt_tensor;

/* Tensors in header order, or by name. */
size_t dsc_ckpt_tensor_count(const dsc_ckpt *ck);
dsc_status dsc_ckpt_tensor_at(const dsc_ckpt *ck, size_t i, dsc_ckpt_tensor *out);
dsc_status dsc_ckpt_find(const dsc_ckpt *ck, const char *name, dsc_ckpt_tensor *out);

/* Elements [first, first + count) of the tensor called name into dst, as stored: the
 * tensor's own dtype (dsc_ckpt_find says which), count * elem_size bytes, little-endian,
 * no conversion. A range past the tensor's end is DSC_ERR_RANGE; no such tensor,
 * DSC_ERR_MISMATCH; a file that shrank since it was opened, DSC_ERR_IO. Reads only
 * those bytes (a rank of a sharded run reads its slice of each state buffer). */
dsc_status dsc_ckpt_read(const dsc_ckpt *ck, const char *name, size_t first, size_t count, void *dst);

/* Bytes of the JSON header (padding included) and of the data section. */
size_t dsc_ckpt_header_bytes(const dsc_ckpt *ck);
size_t dsc_ckpt_data_bytes(const dsc_ckpt *ck);

/* The hyperparameters saved for a group, to create an optimizer to restore into. */
dsc_status dsc_ckpt_hparams(const dsc_ckpt *ck, int group, dsc_hparams *out);

/* dsc_checkpoint_load from an open checkpoint (o NULL: the defaults). Everything is
 * checked first (reading only the values that are range-checked, through a bounded
 * buffer), then each tensor is read from the file straight into its buffer. */
dsc_status dsc_ckpt_restore(const dsc_ckpt *ck, dsc_optim *opt, const dsc_checkpoint_load_options *o);

#ifdef __cplusplus
}
#endif
#endif /* DESCENT_CHECKPOINT_H */
