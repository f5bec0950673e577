/*
 * train_dist.c: descent train under mpirun. Every rank loads the same data and runs
 * the same seeded fit; the fit's parallel hooks give each rank its share of every
 * batch and hand the gradient to the dist layer (all-reduce, or reduce-scatter with
 * --zero), which steps the weights identically everywhere. Rank 0 alone prints its
 * results; every rank's errors reach stderr, prefixed with the rank.
 * Every rank holds the full weights after each step, so a weight average (--average)
 * is kept the same on every rank, told by the updated hook when the step updated.
 *
 * No rank fails alone: every rank reaches the start-up agreement whatever failed
 * before it (a bad option, spec or data file), where the ranks compare their outcome
 * and a fingerprint of the whole run, and stop together; and the end agreement, with a
 * deadline, ends the job (MPI_Abort) when a rank failed while the others still wait.
 */
#define _GNU_SOURCE /* fopencookie */
#include "train_dist.h"

#include "cli.h"
#include "descent_dist.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define END_DEADLINE_S 10.0 /* a failed rank waits this long for the others at the end */
#define POLL_NS 1000000L    /* 1 ms between tests of a pending agreement */
#define NAMED_RANKS 8       /* ranks named in a message; then "and N more" */
#define IALLREDUCE_ALGORITHM "OMPI_MCA_coll_libnbc_iallreduce_algorithm"
#define IALLREDUCE_RING "1"
#define PREFIXED_LINE 4096  /* a prefixed line written in one piece up to this length */

/* A rank's stderr: each line to the terminal (prefixed with "[rank R] " on ranks other
 * than 0) and, with --log-dir, unprefixed to the rank's log file. */
typedef struct prefixed {
    int term, log; /* file descriptors, -1: none */
    int line_start;
    char tag[32];
} prefixed;

struct train_dist {
    dsc_dist *dist;
    dsc_fit_parallel par;
    dsc_status ready_failed; /* the first failure of a tensor_ready, for the step */
    int updated;             /* the last step applied an update (not skipped) */
    MPI_Comm ctl;            /* the agreements' own traffic */
    double timeout;          /* seconds a rank waits for the others (0: for ever) */
    prefixed err;            /* stderr, once redirected (ranks other than 0, --log-dir) */
    FILE *stderr0;           /* the process's own stderr, once redirected (else NULL) */
    char log[4096];          /* --log-dir: this rank's log file, else empty */
};

/* Open MPI, MPICH and PMIx launchers each set one of these in every process. */
static int under_mpirun(void)
{
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static ssize_t prefixed_write(void *cookie, const char *buf, size_t n)
{
    prefixed *p = cookie;
    if (p->log >= 0 && write_all(p->log, buf, n)) return -1;
    char line[PREFIXED_LINE];
    for (size_t done = 0; p->term >= 0 && done < n;) {
        const char *nl = memchr(buf + done, '\n', n - done);
        size_t len = nl ? (size_t)(nl - buf) + 1 - done : n - done, tag = p->line_start ? strlen(p->tag) : 0;
        /* tag and line in one write where they fit: mpirun forwards each write of every
         * rank as it comes, and another rank's line could land between two */
        if (tag + len <= sizeof line) {
            memcpy(line, p->tag, tag);
            memcpy(line + tag, buf + done, len);
            if (write_all(p->term, line, tag + len)) return -1;
        } else if (write_all(p->term, p->tag, tag) || write_all(p->term, buf + done, len)) {
            return -1;
        }
        p->line_start = nl != NULL;
        done += len;
    }
    return (ssize_t)n;
}

/* Makes stderr a stream through td->err (once; later calls change err's fields). */
static int redirect_stderr(train_dist *td)
{
    if (td->stderr0) return 0;
    FILE *f = fopencookie(&td->err, "w", (cookie_io_functions_t){.write = prefixed_write});
    if (!f) return -1;
    if (setvbuf(f, NULL, _IOLBF, BUFSIZ)) {
        fclose(f);
        return -1;
    }
    fflush(stderr);
    td->stderr0 = stderr;
    stderr = f;
    return 0;
}

dsc_status train_dist_start(train_dist **td, int *rank, int *size)
{
    *td = NULL;
    *rank = 0;
    *size = 1;
    if (!under_mpirun()) return DSC_OK;
    /* Open MPI's non-blocking all-reduce is by default a binomial reduce and broadcast:
     * ceil(log2 N) buckets through the busiest rank each way, one after the other. The
     * ring moves 2 (N-1)/N buckets per rank (docs/scaling.md); a choice given on the
     * command line (--mca) or in the environment stands. */
    setenv(IALLREDUCE_ALGORITHM, IALLREDUCE_RING, 0);
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) return DSC_ERR_IO;
    *td = calloc(1, sizeof **td);
    if (!*td) {
        MPI_Finalize();
        return DSC_ERR_NOMEM;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
    (*td)->par.rank = *rank;
    (*td)->par.size = *size;
    (*td)->ctl = MPI_COMM_NULL;
    (*td)->err.log = -1;
    if (MPI_Comm_dup(MPI_COMM_WORLD, &(*td)->ctl) != MPI_SUCCESS) return DSC_ERR_IO;
    MPI_Comm_set_errhandler((*td)->ctl, MPI_ERRORS_RETURN);
    prefixed *e = &(*td)->err;
    e->term = STDERR_FILENO;
    e->line_start = 1;
    if (*rank != 0) snprintf(e->tag, sizeof e->tag, "[rank %d] ", *rank);
    if (*rank != 0 && (!freopen("/dev/null", "w", stdout) || redirect_stderr(*td))) return DSC_ERR_IO;
    return DSC_OK;
}

int train_dist_set_log_dir(train_dist *td, const char *dir)
{
    int rank = td->par.rank;
    int n = snprintf(td->log, sizeof td->log, "%s/rank-%d.log", dir, rank);
    int fd = n > 0 && (size_t)n < sizeof td->log ? open(td->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666) : -1;
    if (fd < 0) {
        int err = errno;
        td->log[0] = '\0';
        return cli_fail("train", "cannot write the log %s/rank-%d.log: %s", dir, rank, strerror(err));
    }
    if (redirect_stderr(td)) {
        close(fd);
        td->log[0] = '\0';
        return cli_fail("train", "cannot redirect stderr to the log");
    }
    fflush(stderr);
    td->err.log = fd;
    if (rank != 0) td->err.term = -1; /* the log alone: rank 0 speaks for the job */
    return 0;
}

void train_dist_set_timeout(train_dist *td, double seconds) { td->timeout = seconds; }

/* ---------------------------------------------------------------- agreements */

/* Ends the whole job: a rank stopped answering (or never will). */
static void end_job(const char *fmt, const char *what, int n, const int *ranks)
{
    char list[160] = "";
    size_t len = 0;
    for (int i = 0; i < n && i < NAMED_RANKS && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%d", i ? ", " : "", ranks[i]);
    if (n > NAMED_RANKS && len < sizeof list) snprintf(list + len, sizeof list - len, " and %d more", n - NAMED_RANKS);
    char msg[256];
    snprintf(msg, sizeof msg, fmt, what, list);
    cli_fail("train", "%s; ending the job", msg); /* a JSON line under --json */
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, CLI_EXIT_FAIL);
}

/* The MPI_Wtime seconds from now (0: none, for ever). */
static double deadline_after(double seconds) { return seconds > 0 ? MPI_Wtime() + seconds : 0; }

/* Tests the n requests until all are done (1) or the deadline (an MPI_Wtime; 0: none)
 * has passed (0). */
static int wait_until(MPI_Request *req, int n, double deadline)
{
    const struct timespec pause = {0, POLL_NS};
    for (;;) {
        int done = 0;
        if (MPI_Testall(n, req, &done, MPI_STATUSES_IGNORE) != MPI_SUCCESS) return 0;
        if (done) return 1;
        if (deadline > 0 && MPI_Wtime() > deadline) return 0;
        nanosleep(&pause, NULL);
    }
}

enum { AGREE_TAG = 1, VERDICT_TAG = 2 };

/* What rank 0 decides from every rank's outcome and fingerprint. */
typedef struct verdict {
    int failed;   /* the first rank whose rc was not 0, or -1 */
    int rc;       /* that rank's rc, which every rank then returns */
    int differs;  /* the first rank whose fingerprint is not rank 0's, or -1 */
} verdict;

/* Rank 0: every rank's (rc, fingerprint), then the verdict to each. */
static int gather_verdict(train_dist *td, int size, int64_t rc, uint64_t print, double seconds, verdict *v)
{
    int64_t (*rec)[2] = calloc((size_t)size, sizeof *rec);
    MPI_Request *req = calloc((size_t)size, sizeof *req);
    int *missing = calloc((size_t)size, sizeof *missing);
    if (!rec || !req || !missing) {
        cli_fail("train", "out of memory for the agreement of %d ranks", size);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, CLI_EXIT_FAIL);
    }
    rec[0][0] = rc;
    rec[0][1] = (int64_t)print;
    req[0] = MPI_REQUEST_NULL;
    for (int r = 1; r < size; r++) MPI_Irecv(rec[r], 2, MPI_INT64_T, r, AGREE_TAG, td->ctl, &req[r]);
    if (!wait_until(req, size, deadline_after(seconds))) {
        int n = 0;
        for (int r = 1; r < size; r++) {
            int done = 0;
            MPI_Test(&req[r], &done, MPI_STATUS_IGNORE);
            if (!done) missing[n++] = r;
        }
        end_job("%s %s did not answer", n > 1 ? "ranks" : "rank", n, missing);
    }
    v->failed = v->differs = -1;
    v->rc = 0;
    for (int r = 0; r < size; r++) {
        if (rec[r][0] != 0 && v->failed < 0) v->failed = r, v->rc = (int)rec[r][0];
        if ((uint64_t)rec[r][1] != print && v->differs < 0) v->differs = r;
    }
    int out[3] = {v->failed, v->rc, v->differs};
    for (int r = 1; r < size; r++) MPI_Isend(out, 3, MPI_INT, r, VERDICT_TAG, td->ctl, &req[r]);
    int sent = wait_until(req, size, deadline_after(seconds));
    free(rec);
    free(req);
    free(missing);
    return sent;
}

/* Every rank's outcome (and fingerprint) to rank 0, rank 0's verdict to every rank,
 * each wait bounded by seconds (0: none); a rank that does not answer ends the job. */
static void agree(train_dist *td, int64_t rc, uint64_t print, double seconds, verdict *v)
{
    int rank = td->par.rank, size = td->par.size;
    if (rank == 0) {
        if (!gather_verdict(td, size, rc, print, seconds, v)) end_job("%s%s could not be told the outcome", "ranks", 0, NULL);
        return;
    }
    int64_t mine[2] = {rc, (int64_t)print};
    int in[3];
    MPI_Request req[2];
    MPI_Isend(mine, 2, MPI_INT64_T, 0, AGREE_TAG, td->ctl, &req[0]);
    MPI_Irecv(in, 3, MPI_INT, 0, VERDICT_TAG, td->ctl, &req[1]);
    if (!wait_until(req, 2, deadline_after(seconds))) end_job("%s %s did not answer", "rank", 1, (int[]){0});
    v->failed = in[0];
    v->rc = in[1];
    v->differs = in[2];
}

int train_dist_agree_start(train_dist *td, int rc, uint64_t print)
{
    verdict v;
    agree(td, rc, rc ? 0 : print, td->timeout, &v);
    if (rc) return rc; /* this rank said why */
    if (v.failed >= 0) {
        if (td->par.rank == 0 && v.rc > 0 && td->log[0])
            cli_fail("train", "rank %d failed (its message is in its log, rank-%d.log); stopping", v.failed, v.failed);
        else if (td->par.rank == 0 && v.rc > 0)
            cli_fail("train", "rank %d failed (its message above); stopping", v.failed);
        return v.rc; /* the failed rank's exit code (-1: it printed the help) */
    }
    if (v.differs >= 0) {
        if (td->par.rank == 0)
            cli_fail("train", "rank %d has other options, optimizer settings, data or checkpoint than rank 0; every "
                     "rank must run the same command on the same data", v.differs);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

int train_dist_agree_end(train_dist *td, int rc)
{
    /* a rank that failed alone may leave the others waiting in a collective: give
     * them a while to arrive, then end the job rather than hang */
    double wait = rc > 0 ? (td->timeout > 0 && td->timeout < END_DEADLINE_S ? td->timeout : END_DEADLINE_S)
                         : td->timeout;
    verdict v;
    agree(td, rc > 0 ? rc : 0, 0, wait, &v);
    return rc;
}

/* FNV-1a over 64-bit words (bytes for the tail): a fingerprint, not a checksum; by
 * words, so that a large data set costs little next to one epoch. */
static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
    }
    for (; i < n; i++) h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

uint64_t train_dist_fingerprint(const char *options, const dsc_dataset *ds, const dsc_mlp *m)
{
    uint64_t h = fnv(0xcbf29ce484222325ull, options, strlen(options));
    size_t rows = dsc_dataset_rows(ds), cols = dsc_dataset_cols(ds);
    h = fnv(h, &rows, sizeof rows);
    h = fnv(h, &cols, sizeof cols);
    h = fnv(h, dsc_dataset_x(ds), rows * cols * sizeof(double));
    h = fnv(h, dsc_dataset_y(ds), rows * sizeof(double));
    const dsc_param *p = dsc_mlp_params(m); /* the same seed's, or checkpoint's, weights */
    for (size_t i = 0; i < dsc_mlp_param_count(m); i++) h = fnv(h, p[i].data, p[i].n * dsc_dtype_size(p[i].dtype));
    return h;
}

/* A bucket's all-reduce starts as soon as its last tensor is ready. */
static void hook_tensor_ready(void *ctx, size_t tensor)
{
    train_dist *td = ctx;
    dsc_status st = dsc_dist_tensor_ready(td->dist, tensor);
    if (st && !td->ready_failed) td->ready_failed = st;
}

static dsc_status hook_step(void *ctx, const double *loss)
{
    train_dist *td = ctx;
    /* starts what is left, waits, updates; the global step count moves on updates only */
    int64_t before = dsc_dist_step_count(td->dist);
    dsc_status st = loss ? dsc_dist_step_loss(td->dist, *loss) : dsc_dist_step(td->dist);
    td->updated = dsc_dist_step_count(td->dist) != before;
    return td->ready_failed ? td->ready_failed : st;
}

static int hook_updated(void *ctx) { return ((train_dist *)ctx)->updated; }

/* The fit's sums (the epoch's tallies, a loss-driven schedule's loss), waited for
 * within the timeout like the step's reductions. */
static dsc_status hook_sum(void *ctx, double *v, size_t n)
{
    train_dist *td = ctx;
    MPI_Request req;
    int rc = MPI_Iallreduce(MPI_IN_PLACE, v, (int)n, MPI_DOUBLE, MPI_SUM, td->ctl, &req);
    if (rc != MPI_SUCCESS) return DSC_ERR_IO;
    if (wait_until(&req, 1, deadline_after(td->timeout))) return DSC_OK;
    cli_fail("train", "the ranks' sums did not complete within %g s: a rank stopped answering", td->timeout);
    return DSC_ERR_IO;
}

static int64_t hook_skipped(void *ctx) { return dsc_dist_skipped_count(((train_dist *)ctx)->dist); }

/* Group 0's rate on this rank (NAN on a rank that holds no slice; rank 0 always does). */
static double hook_lr(void *ctx)
{
    double lr = NAN;
    const dsc_optim *opt = dsc_dist_optim(((train_dist *)ctx)->dist);
    if (opt) dsc_optim_get_lr(opt, 0, &lr);
    return lr;
}

dsc_status train_dist_compile(dsc_mlp *m, const char *spec, const char *schedule, dsc_loss loss)
{
    dsc_hparams hp;
    dsc_status st = dsc_hparams_parse(spec, &hp);
    if (st != DSC_OK) return st;
    char plain[64];
    snprintf(plain, sizeof plain, "sgd(lr=%.17g)", hp.lr);
    return dsc_mlp_compile(m, plain, schedule, loss);
}

dsc_status train_dist_attach(train_dist *td, dsc_mlp *m, const train_dist_options *o, dsc_fit_config *fc)
{
    dsc_hparams hp;
    dsc_status st = dsc_hparams_parse(o->spec, &hp);
    if (st != DSC_OK) return st;
    dsc_dist_config cfg = dsc_dist_config_default();
    cfg.zero = o->zero;
    cfg.shard_checkpoints = o->shard_checkpoints;
    cfg.bucket_bytes = o->bucket_bytes;
    cfg.reduce = DSC_DIST_SUM; /* each share's gradient is already divided by the whole batch */
    cfg.timeout = td->timeout;
    st = dsc_dist_create(&td->dist, MPI_COMM_WORLD, &hp, dsc_mlp_params(m), dsc_mlp_param_count(m), &cfg);
    if (st != DSC_OK) return st;
    /* on the calling thread, as the single-process model's (src/nn/nn.h): OpenMP workers
     * spinning after a threaded step would take the cores from OpenBLAS */
    dsc_optim *own = dsc_dist_optim(td->dist); /* NULL on a rank that owns no shard */
    if (own && (st = dsc_optim_set_threads(own, 1)) != DSC_OK) return st;
    if (o->schedule && (st = dsc_dist_set_schedule(td->dist, -1, o->schedule)) != DSC_OK) return st;
    /* a resumed run: every rank loaded the model and its optimizer without state; rank
     * 0's optimizer is the source of the rest, each rank reads its state from the file
     * (or its shard of a sharded set), and then the model's own becomes the stateless
     * one of a fresh run */
    if (fc->resume && o->index) st = dsc_dist_checkpoint_load(td->dist, o->index);
    else if (fc->resume) st = dsc_dist_restore_state(td->dist, td->par.rank == 0 ? dsc_mlp_optimizer(m) : NULL, o->ck);
    if (!st && fc->resume) st = train_dist_compile(m, o->spec, o->schedule, dsc_mlp_loss(m));
    if (st) return st;
    td->par.tensor_ready = hook_tensor_ready;
    td->par.step = hook_step;
    td->par.sum = hook_sum;
    td->par.skipped = hook_skipped;
    td->par.lr = hook_lr;
    td->par.updated = hook_updated;
    td->par.ctx = td;
    fc->parallel = &td->par;
    return DSC_OK;
}

typedef struct model_save {
    const dsc_mlp *m;
    const char *path;
    const dsc_kv *kv;
    size_t n;
} model_save;

/* At rank 0: the model with the gathered optimizer (the run's buffers are the model's). */
static dsc_status save_model(const dsc_optim *full, void *ctx)
{
    const model_save *s = ctx;
    dsc_mlp_save_options o = {.extra = s->kv, .nextra = s->n, .optimizer = full};
    return dsc_mlp_save(s->m, s->path, &o);
}

dsc_status train_dist_save(void *ctx, const dsc_mlp *m, const char *path, const dsc_kv *kv, size_t n)
{
    model_save s = {m, path, kv, n};
    return dsc_dist_checkpoint_gather(((train_dist *)ctx)->dist, save_model, &s);
}

/* At rank 0: the set's sidecar, the model with its own stateless stand-in optimizer. */
static dsc_status save_sidecar(const char *file, void *ctx)
{
    const model_save *s = ctx;
    dsc_mlp_save_options o = {.extra = s->kv, .nextra = s->n, .optimizer = NULL};
    return dsc_mlp_save(s->m, file, &o);
}

dsc_status train_dist_save_sharded(void *ctx, const dsc_mlp *m, const char *path, const dsc_kv *kv, size_t n)
{
    model_save s = {m, path, kv, n};
    return dsc_dist_checkpoint_save_sidecar(((train_dist *)ctx)->dist, path, NULL, save_sidecar, &s);
}

size_t train_dist_state_bytes(const train_dist *td) { return dsc_dist_state_bytes(td->dist); }

void train_dist_end(train_dist *td)
{
    if (!td) return;
    dsc_dist_destroy(td->dist);
    if (td->ctl != MPI_COMM_NULL) MPI_Comm_free(&td->ctl);
    if (td->stderr0) { /* err is about to go: the process's own stderr again */
        FILE *f = stderr;
        stderr = td->stderr0;
        fclose(f);
    }
    if (td->err.log >= 0) close(td->err.log);
    free(td);
    MPI_Finalize();
}
