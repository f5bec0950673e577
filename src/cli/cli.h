/* cli.h: what the subcommands of the descent command share. */
#ifndef DSC_CLI_H
#define DSC_CLI_H

#include "descent.h"
#include "descent_checkpoint.h"
#include "descent_problems.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_EXIT_USAGE 2   /* bad options or specs */
#define CLI_EXIT_FAIL 1    /* the run itself failed */

/* Set by main when the command line has --json: errors are then printed as one JSON
 * line, {"error":"<message>","command":"<cmd>"}, instead of "descent <cmd>: <message>". */
extern int cli_json_errors;

/* Prints "descent <cmd>: <message>" as one line on stderr and returns CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The same for a failure of the run itself (a file that cannot be written): CLI_EXIT_FAIL. */
int cli_fail(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Prints the library's last error for a failed status, returns CLI_EXIT_USAGE for
 * spec and range errors and CLI_EXIT_FAIL otherwise. */
int cli_lib_error(const char *cmd, dsc_status st);

/* Call once before any cJSON use: cJSON then allocates through the CLI, which notes a
 * failed allocation for cli_print_json. */
void cli_json_init(void);
/* Prints o (and deletes it) as one line with numbers that round-trip; when any cJSON
 * allocation failed since cli_json_init (an item may be missing), prints nothing and
 * reports "out of memory" (CLI_EXIT_FAIL). */
int cli_print_json(const char *cmd, cJSON *o);
/* Adds item to the object parent under key (a string that outlives it: not copied),
 * or with key NULL to the array parent; when either is NULL (a failed allocation,
 * which cli_print_json reports) the item is deleted, not leaked. 1 when added. */
int cli_json_add(cJSON *parent, const char *key, cJSON *item);

/* Checks a --plot file before any work: CLI_EXIT_USAGE unless it ends in .png, .svg or
 * .pdf, CLI_EXIT_FAIL when it cannot be written (a missing directory), each with its
 * one line printed; else 0, leaving no file behind that was not there. */
int cli_check_plot(const char *cmd, const char *path);

/* An output file (--trace, --history) written under a temporary name and put in place
 * only when complete: a failed write (a full disk) or a failed run leaves the previous
 * file, never a partial one. Open prints the failure and returns CLI_EXIT_FAIL, else 0;
 * close with keep publishes the file (printing and returning CLI_EXIT_FAIL when a
 * write, the close or the rename failed), without keep removes it; o may be NULL.
 * Messages start with option ("--trace: cannot write 'x.csv': ..."). */
typedef struct cli_out cli_out;
int cli_out_open(const char *cmd, const char *option, const char *path, cli_out **out);
FILE *cli_out_file(const cli_out *o);
int cli_out_close(const char *cmd, cli_out *o, int keep);

/* Adds v to o under key, or null when v is not finite (JSON has no inf or nan). */
void cli_add_number(cJSON *o, const char *key, double v);

/* "s" unless n is 1: "%lld epoch%s", n, cli_s(n) prints "1 epoch", "2 epochs". */
const char *cli_s(long long n);

/* Seconds on the monotonic clock, for elapsed times. */
double cli_now(void);

/* Strict parsers: the whole text must be the value. 0 on success. */
int cli_parse_int64(const char *text, int64_t min, int64_t max, int64_t *out);
int cli_parse_doubles(const char *text, double *out, size_t max, size_t *count);
int cli_parse_dtype(const char *text, dsc_dtype *out);

/* One run of an optimizer on a test problem. */
typedef struct cli_run {
    const char *problem;   /* spec */
    const char *optimizer; /* spec */
    const char *schedule;  /* NULL or a schedule spec for every group */
    dsc_dtype dtype;
    int64_t steps;
    const double *start;   /* NULL: the problem's start */
    size_t start_len;
    FILE *trace;           /* NULL or a CSV stream: step,loss,x1,... for steps 0..N */
    const char *save;      /* NULL or a checkpoint file to write after the last step */
    const char *resume;    /* NULL or a checkpoint to continue: it sets problem, start,
                              dtype, optimizer and position (those fields are ignored) */
    int record;            /* keep losses (and path, for 2-D problems) in memory */
    const char *average;   /* NULL or a weight average spec, "ema(decay=0.99)", folded after
                              every update and saved with the checkpoint; or CLI_AVERAGE_AX */
    const dsc_problem *pb; /* NULL, or the problem already made from spec problem (the
                              caller's, unused with resume): runs of one comparison share it
                              (a CSV read and solved once) */
    /* results */
    double loss;
    double *x;             /* final point, dim values (malloc'd; free with cli_run_free) */
    size_t dim;
    int64_t skipped;
    double seconds;
    int64_t steps_to[2];   /* first step with loss - f* <= 1e-3 and 1e-6 (-1: never) */
    double dist;           /* distance to the nearest known minimiser (NAN if none) */
    double fstar;          /* the known minimum (NAN if none) */
    double avg_loss;       /* with an average: the loss at the averaged point */
    double *avg_x;         /* and that point, dim values (malloc'd) */
    double *losses;        /* record: steps + 1 losses, step 0 first (malloc'd) */
    double *path;          /* record, 2-D problems: steps + 1 x values, then steps + 1 y (malloc'd) */
    char error[256];       /* a failure of the run's own (else see dsc_last_error) */
    int64_t first_step;    /* steps (calls, skipped or not) before the run: 0 unless resumed */
    char *resumed_problem, *resumed_optimizer, *resumed_start, *resumed_schedule; /* from the
                              checkpoint (owned) */
    char *resumed_average; /* the average's spec from the checkpoint (owned) */
} cli_run;

/* --average ax: ASGD's own average, its state buffer "ax" (torch's averaged parameters),
 * evaluated like a weight average; no dsc_average is kept beside it. */
#define CLI_AVERAGE_AX "ax"
int cli_average_is_ax(const char *spec);

/* Runs it. On failure, report with cli_run_error. */
dsc_status cli_run_exec(cli_run *r);
int cli_run_error(const char *cmd, const cli_run *r, dsc_status st);
void cli_run_free(cli_run *r);

/* The checkpoint side of a run (run_checkpoint.c): open r->resume and take the
 * problem, dtype, optimizer and average from it; create the optimizer and, with
 * r->average, the average over p (both restored from ck when not NULL); write r->save. */
dsc_status cli_run_open_resume(cli_run *r, dsc_ckpt **out);
dsc_status cli_run_create_optim(cli_run *r, const dsc_ckpt *ck, const dsc_param *p, dsc_optim **out,
                                dsc_average **avg);
dsc_status cli_run_save(cli_run *r, const dsc_optim *opt, const dsc_average *avg);

/* Re-executes the command once with OPENBLAS_CORETYPE set when OpenBLAS chose
 * generic kernels for a CPU with AVX2/AVX-512 (blas_env.c). */
void cli_prefer_fast_blas(char **argv);

/* The file holding the model that path names (sharded.c): path itself, or when path is
 * the index of a sharded checkpoint set (descent train --shard-checkpoints) the set's
 * sidecar, with *sharded set. 0, or the exit code of the error it reported (a damaged
 * index, a set without a network). */
#define CLI_PATH_CAP 4096
int cli_checkpoint_file(const char *cmd, const char *path, char *out, size_t cap, int *sharded);

int cmd_optimize(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_paths(int argc, char **argv);
int cmd_schedule(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_evaluate(int argc, char **argv);

#endif
