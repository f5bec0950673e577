/*
 * shards.c: sharded checkpoints of a zero run (dsc_dist_config.shard_checkpoints).
 * Every rank writes its own shard, an ordinary descent checkpoint of its optimizer over
 * its pieces (tensors named "param/fc1.weight[512:768]", "state/fc1.weight[512:768]/
 * exp_avg", its groups, schedules and counters), to "<path>.shard-<set>-<r>-of-<N>";
 * then rank 0 writes the index, path itself, a small JSON file naming the set's shards,
 * the layout (ranks, elements, bucket size) and the global counters:
 *
 *   {"format":"descent.sharded-checkpoint","version":2,"ranks":3,"elements":19210,
 *    "bucket_elems":6553600,"dtype":"f32","step":40,"skipped":0,"consecutive":0,
 *    "shards":["ck.st.shard-5f1c...-0-of-3","ck.st.shard-5f1c...-1-of-3",...],
 *    "sidecar":"ck.st.shard-5f1c...-sidecar"}
 *
 * The sidecar (version 2, optional) is a file of the caller's written by rank 0 once
 * every shard is written (descent train's network without its optimizer state); it
 * belongs to the set like a shard. Version 1 indexes (no sidecar) still load.
 *
 * The index's atomic rename commits the set: a crash before it leaves the previous
 * index and its shards intact, and every save removes the files of path's sets that
 * no index names (a crashed save's, the previous set's: "<path>.shard-<other set>-*")
 * once its own index is in place. No rank holds more than its own shard while saving.
 *
 * Resuming with the same rank count and bucket size, every rank reads its own shard
 * alone. Any other run (another rank count, one rank, another bucket size, plain
 * data-parallel) lays the saving run's pieces out again and every rank reads, from
 * every shard, the slices of the pieces that overlap its own (dsc_ckpt_read), as a
 * single file is read slice by slice; dsc_dist_checkpoint_assemble does the same in
 * one process, without MPI, over whole tensors. No rank holds more than its share.
 */
#include "dist.h"
#include "../checkpoint/checkpoint.h"

#include "descent_checkpoint.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define INDEX_FORMAT "descent.sharded-checkpoint"
#define INDEX_VERSION 2 /* 2 added the sidecar; 1 is still read */
#define INDEX_OLDEST 1
#define INDEX_HEAD "{\"format\":\"" INDEX_FORMAT "\"" /* how an index file starts */
#define MAX_INDEX_BYTES ((size_t)64 << 20)
#define PATH_CAP 4200
#define SET_CHARS 16 /* hex digits of a set's id */
#define SIDECAR_SUFFIX "sidecar" /* "<path>.shard-<set>-sidecar" */

/* What an index says. */
typedef struct shard_index {
    size_t ranks, elements, bucket_elems;
    int64_t step, skipped, consecutive;
    char dtype[8];
    char **names; /* ranks entries, NULL for a rank that held no piece */
    char *sidecar; /* NULL when the set has none */
} shard_index;

static void index_free(shard_index *ix)
{
    for (size_t r = 0; ix->names && r < ix->ranks; r++) free(ix->names[r]);
    free(ix->names);
    free(ix->sidecar);
}

/* The directory part of path ("." when none), and its last component. */
static void split_path(const char *path, char *dir, size_t cap, const char **base)
{
    const char *slash = strrchr(path, '/');
    *base = slash ? slash + 1 : path;
    if (!slash) snprintf(dir, cap, ".");
    else if (slash == path) snprintf(dir, cap, "/");
    else snprintf(dir, cap, "%.*s", (int)(slash - path), path);
}

static dsc_status shard_path(char *out, const char *path, const char *set, int r, int N)
{
    int len = snprintf(out, PATH_CAP, "%s.shard-%s-%d-of-%d", path, set, r, N);
    if (len < 0 || len >= PATH_CAP) return dsc__fail(DSC_ERR_ARG, "dist: the checkpoint path is too long: %s", path);
    return DSC_OK;
}

/* ---------------------------------------------------------------- save */

static dsc_status write_index(const dsc_dist *d, const char *path, const char *set, int sidecar)
{
    const char *base;
    char dir[PATH_CAP], file[PATH_CAP];
    split_path(path, dir, sizeof dir, &base);
    cJSON *j = cJSON_CreateObject(), *names = cJSON_CreateArray();
    int ok = j && names;
    if (ok) {
        cJSON_AddStringToObject(j, "format", INDEX_FORMAT);
        cJSON_AddNumberToObject(j, "version", INDEX_VERSION);
        cJSON_AddNumberToObject(j, "ranks", d->size);
        cJSON_AddNumberToObject(j, "elements", (double)d->n);
        cJSON_AddNumberToObject(j, "bucket_elems", (double)d->bucket_elems);
        cJSON_AddStringToObject(j, "dtype", dsc_dtype_name(d->dtype));
        cJSON_AddNumberToObject(j, "step", (double)d->steps);
        cJSON_AddNumberToObject(j, "skipped", (double)d->skipped);
        cJSON_AddNumberToObject(j, "consecutive", (double)d->consecutive);
        for (int r = 0; r < d->size; r++) {
            /* a rank holds a piece exactly when it is among the first n (one piece of bucket 0 each) */
            int holds = (size_t)r < d->n;
            snprintf(file, sizeof file, "%s.shard-%s-%d-of-%d", base, set, r, d->size);
            cJSON_AddItemToArray(names, holds ? cJSON_CreateString(file) : cJSON_CreateNull());
        }
        cJSON_AddItemToObject(j, "shards", names);
        names = NULL;
        snprintf(file, sizeof file, "%s.shard-%s-%s", base, set, SIDECAR_SUFFIX);
        if (sidecar) cJSON_AddStringToObject(j, "sidecar", file);
    }
    char *text = ok ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    cJSON_Delete(names);
    if (!text) return dsc__fail(DSC_ERR_NOMEM, "dist: out of memory for the checkpoint index");
    dsc__outfile o;
    dsc_status st = dsc__outfile_open("dist", path, &o);
    if (!st) {
        fputs(text, o.f);
        fputc('\n', o.f);
        st = dsc__outfile_finish("dist", &o, 1);
    }
    free(text);
    return st;
}

/* Removes the shards of path that belong to no set but `set` (an earlier save's, a
 * crashed save's). Best effort: a file that cannot be removed stays. */
static void remove_stale(const char *path, const char *set)
{
    const char *base;
    char dir[PATH_CAP], prefix[PATH_CAP], mine[PATH_CAP + 32], file[2 * PATH_CAP];
    split_path(path, dir, sizeof dir, &base);
    int len = snprintf(prefix, sizeof prefix, "%s.shard-", base);
    if (len < 0 || len >= (int)sizeof prefix) return;
    snprintf(mine, sizeof mine, "%s%s-", prefix, set);
    DIR *dp = opendir(dir);
    if (!dp) return;
    for (struct dirent *e; (e = readdir(dp));) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) || !strncmp(e->d_name, mine, strlen(mine))) continue;
        len = snprintf(file, sizeof file, "%s/%s", dir, e->d_name);
        if (len > 0 && len < (int)sizeof file) unlink(file);
    }
    closedir(dp);
}

dsc_status dsc__dist_save_sharded(dsc_dist *d, const char *path, const dsc_checkpoint_save_options *o,
                                  dsc_status (*sidecar)(const char *file, void *ctx), void *ctx)
{
    /* a shard's optimizer holds pieces of the tensors: an average or caller tensors over
     * whole tensors have no place in it (refused on every rank alike: same options) */
    if (o && (o->average || o->ntensors))
        return dsc__fail(DSC_ERR_ARG, "dist: sharded checkpoints hold no weight average or caller tensors");
    dsc_checkpoint_save_options so = dsc_checkpoint_save_options_default();
    if (o) {
        so.extra = o->extra;
        so.nextra = o->nextra;
    }
    /* a set's id, from rank 0's clock and process: another save's shards never share it */
    char set[SET_CHARS + 1] = "";
    if (d->rank == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned long long id = (unsigned long long)ts.tv_sec * 1000000007ull ^ (unsigned long long)ts.tv_nsec ^
                                (unsigned long long)getpid() << 40;
        snprintf(set, sizeof set, "%016llx", id);
    }
    int rc = MPI_Bcast(set, (int)sizeof set, MPI_CHAR, 0, d->comm);
    if (rc != MPI_SUCCESS) return dsc__mpi_fail(rc, "dist", "MPI_Bcast");
    char file[PATH_CAP];
    dsc_status st = shard_path(file, path, set, d->rank, d->size);
    int wrote = 0, wrote_sidecar = 0;
    if (!st && d->opt) wrote = !(st = dsc_checkpoint_save(d->opt, file, &so));
    char side[PATH_CAP + 16];
    snprintf(side, sizeof side, "%s.shard-%s-%s", path, set, SIDECAR_SUFFIX); /* fits: the shard's name did */
    st = dsc__dist_agree(d, st);
    /* the sidecar once every shard is written: a failed shard costs rank 0 no write */
    if (!st && sidecar && d->rank == 0) wrote_sidecar = !(st = sidecar(side, ctx));
    if (!(st = dsc__dist_agree(d, st)) && d->rank == 0) st = write_index(d, path, set, sidecar != NULL);
    if ((st = dsc__dist_agree(d, st))) {
        if (wrote) unlink(file); /* the previous set stays whole */
        if (wrote_sidecar) unlink(side);
        return st;
    }
    if (d->rank == 0) remove_stale(path, set);
    return DSC_OK;
}

/* ---------------------------------------------------------------- the index */

/* A non-negative whole number of j's key within [lo, hi]. */
static int get_count(const cJSON *j, const char *key, double lo, double hi, double *v)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, key);
    if (!cJSON_IsNumber(x) || x->valuedouble != (double)(int64_t)x->valuedouble || x->valuedouble < lo ||
        x->valuedouble > hi)
        return 0;
    *v = x->valuedouble;
    return 1;
}

/* A file name in the index's directory: not empty, no directory part. */
static int plain_name(const cJSON *nm) { return cJSON_IsString(nm) && *nm->valuestring && !strchr(nm->valuestring, '/'); }

/* The index's text into ix (checked for itself: the run is not consulted). */
static dsc_status parse_index(const char *path, const char *text, shard_index *ix)
{
    memset(ix, 0, sizeof *ix);
    cJSON *j = cJSON_Parse(text);
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "format");
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(j, "dtype");
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(j, "shards");
    const cJSON *side = cJSON_GetObjectItemCaseSensitive(j, "sidecar");
    double v[8];
    static const char *const keys[8] = {"version", "ranks", "elements", "bucket_elems", "step", "skipped",
                                        "consecutive", NULL};
    static const double most[7] = {INDEX_VERSION, 1 << 24, 9e15, 9e15, 9e15, 9e15, 9e15};
    dsc_status st = DSC_OK;
    if (!j && dsc__json_valid(text, strlen(text))) /* the parser ran out of memory */
        st = dsc__fail(DSC_ERR_NOMEM, "dist: out of memory for the checkpoint index %s", path);
    else if (!cJSON_IsObject(j) || !cJSON_IsString(fmt) || strcmp(fmt->valuestring, INDEX_FORMAT))
        st = dsc__fail(DSC_ERR_FORMAT, "dist: %s is not a sharded checkpoint index", path);
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(j, "version");
    if (!st && cJSON_IsNumber(ver) && ver->valuedouble > INDEX_VERSION)
        st = dsc__fail(DSC_ERR_UNSUPPORTED, "dist: index %s is of version %g; this descent reads versions %d to %d "
                       "(a newer descent wrote it)", path, ver->valuedouble, INDEX_OLDEST, INDEX_VERSION);
    for (int k = 0; !st && keys[k]; k++)
        if (!get_count(j, keys[k], k == 1 || k == 3 ? 1 : k == 0 ? INDEX_OLDEST : 0, most[k], &v[k]))
            st = dsc__fail(DSC_ERR_FORMAT, "dist: index %s: '%s' is missing or out of range", path, keys[k]);
    if (!st && (!cJSON_IsString(dt) || strlen(dt->valuestring) >= sizeof ix->dtype))
        st = dsc__fail(DSC_ERR_FORMAT, "dist: index %s: 'dtype' is missing or not a dtype", path);
    if (!st && (!cJSON_IsArray(names) || (size_t)cJSON_GetArraySize(names) != (size_t)v[1]))
        st = dsc__fail(DSC_ERR_FORMAT, "dist: index %s must name %.0f shards", path, v[1]);
    if (!st && side && !cJSON_IsNull(side) && (v[0] < 2 || !plain_name(side)))
        st = dsc__fail(DSC_ERR_FORMAT, "dist: index %s: 'sidecar' must be a file name in the index's directory", path);
    if (!st) {
        ix->ranks = (size_t)v[1], ix->elements = (size_t)v[2], ix->bucket_elems = (size_t)v[3];
        ix->step = (int64_t)v[4], ix->skipped = (int64_t)v[5], ix->consecutive = (int64_t)v[6];
        snprintf(ix->dtype, sizeof ix->dtype, "%s", dt->valuestring);
        if (!(ix->names = calloc(ix->ranks, sizeof *ix->names)) ||
            (cJSON_IsString(side) && !(ix->sidecar = dsc__strdup(side->valuestring))))
            st = dsc__fail(DSC_ERR_NOMEM, "dist: out of memory for the checkpoint index");
    }
    for (size_t r = 0; !st && r < ix->ranks; r++) {
        const cJSON *nm = cJSON_GetArrayItem(names, (int)r);
        /* a rank holds a piece exactly when it is among the first n: the layout says who */
        int holds = r < ix->elements;
        if (holds ? !plain_name(nm) : !cJSON_IsNull(nm))
            st = dsc__fail(DSC_ERR_FORMAT, "dist: index %s: shard %zu must be %s", path, r,
                           holds ? "a file name in the index's directory" : "null (that rank held nothing)");
        else if (holds && !(ix->names[r] = dsc__strdup(nm->valuestring)))
            st = dsc__fail(DSC_ERR_NOMEM, "dist: out of memory for the checkpoint index");
    }
    cJSON_Delete(j);
    if (st) {
        index_free(ix);
        memset(ix, 0, sizeof *ix);
    }
    return st;
}

/* The set's model is the run's: as many elements, of its dtype. */
static dsc_status check_index(const dsc_dist *d, const char *path, const shard_index *ix)
{
    if (ix->elements != d->n)
        return dsc__fail(DSC_ERR_MISMATCH, "dist: index %s holds %zu elements, the run %zu", path, ix->elements, d->n);
    if (!dsc_dtype_name(d->dtype) || strcmp(ix->dtype, dsc_dtype_name(d->dtype)))
        return dsc__fail(DSC_ERR_MISMATCH, "dist: index %s is not of the run's dtype %s", path, dsc_dtype_name(d->dtype));
    return DSC_OK;
}

/* The text of path when it is an index (*text NULL when it is not), no larger than
 * MAX_INDEX_BYTES, terminated. */
static dsc_status index_text(const char *path, char **text)
{
    *text = NULL;
    FILE *f = fopen(path, "rb");
    char head[sizeof INDEX_HEAD] = "";
    int is_index = f && fread(head, 1, sizeof head - 1, f) == sizeof head - 1 && !memcmp(head, INDEX_HEAD, sizeof head - 1);
    if (f) fclose(f);
    if (!is_index) return DSC_OK;
    unsigned char *buf = NULL;
    size_t len = 0;
    dsc_status st = dsc__read_whole_file("dist", path, &buf, &len);
    if (st) return st;
    if (len > MAX_INDEX_BYTES) {
        free(buf);
        return dsc__fail(DSC_ERR_FORMAT, "dist: index %s is larger than %zu bytes", path, MAX_INDEX_BYTES);
    }
    unsigned char *room = realloc(buf, len + 1);
    if (!room) {
        free(buf);
        return dsc__fail(DSC_ERR_NOMEM, "dist: out of memory for the checkpoint index");
    }
    room[len] = 0;
    *text = (char *)room;
    return DSC_OK;
}

/* Rank 0 reads path and tells every rank whether it is an index; when it is, every
 * rank gets its text. A file rank 0 cannot read as an index is left to the
 * single-file load, which says why. */
static dsc_status read_index(dsc_dist *d, const char *path, char **text, int *is_index)
{
    char *buf = NULL;
    unsigned long long n = 0;
    *text = NULL;
    if (d->rank == 0 && !index_text(path, &buf) && buf) n = strlen(buf) + 1;
    int rc = MPI_Bcast(&n, 1, MPI_UNSIGNED_LONG_LONG, 0, d->comm);
    *is_index = n > 0;
    if (rc != MPI_SUCCESS || !n) {
        free(buf);
        return rc == MPI_SUCCESS ? DSC_OK : dsc__mpi_fail(rc, "dist", "MPI_Bcast");
    }
    dsc_status st = d->rank == 0 ? DSC_OK : (buf = malloc((size_t)n)) ? DSC_OK : dsc__fail(DSC_ERR_NOMEM, "dist: out of memory");
    if ((st = dsc__dist_agree(d, st))) {
        free(buf);
        return st;
    }
    rc = MPI_Bcast(buf, (int)n, MPI_CHAR, 0, d->comm);
    if (rc != MPI_SUCCESS) {
        free(buf);
        return dsc__mpi_fail(rc, "dist", "MPI_Bcast");
    }
    buf[n - 1] = 0;
    *text = buf;
    return DSC_OK;
}

/* ---------------------------------------------------------------- load */

/* The shard called name (in the index) beside the index at path. */
static dsc_status shard_file(const char *path, const char *name, char *out)
{
    const char *base;
    char dir[PATH_CAP];
    split_path(path, dir, sizeof dir, &base);
    int len = snprintf(out, PATH_CAP, "%s/%s", dir, name);
    if (len < 0 || len >= PATH_CAP) return dsc__fail(DSC_ERR_ARG, "dist: the shard's path is too long: %s", name);
    return DSC_OK;
}

/* The same layout: every rank restores its own shard. Every rank opens and checks its
 * file before any rank changes anything. */
static dsc_status load_own(dsc_dist *d, const char *path, const shard_index *ix)
{
    char file[PATH_CAP];
    dsc_ckpt *ck = NULL;
    dsc_status st = DSC_OK;
    if (d->opt && !(st = shard_file(path, ix->names[d->rank], file))) st = dsc_ckpt_open(&ck, file);
    if (!(st = dsc__dist_agree(d, st)) && ck) st = dsc_ckpt_restore(ck, d->opt, NULL);
    dsc_ckpt_close(ck);
    if ((st = dsc__dist_agree(d, st))) return st;
    d->steps = ix->step, d->skipped = ix->skipped, d->consecutive = ix->consecutive;
    return dsc__zero_gather_params(d); /* each rank restored the parameters of its pieces */
}

/* The set's files open, each shard with the pieces its rank held (their names are the
 * shard's tensors'), for reading slices on another layout. */
typedef struct set_files {
    size_t n;
    dsc_ckpt **ck;
    dsc__shard *old;
} set_files;

static void close_set(set_files *f)
{
    for (size_t r = 0; r < f->n; r++) {
        dsc_ckpt_close(f->ck[r]);
        dsc__shard_free(&f->old[r]);
    }
    free(f->ck);
    free(f->old);
    memset(f, 0, sizeof *f);
}

static dsc_status open_set(const dsc_dist *d, const char *path, const shard_index *ix, set_files *f)
{
    char file[PATH_CAP];
    size_t n = 0;
    while (n < ix->ranks && ix->names[n]) n++; /* the ranks that held pieces come first */
    memset(f, 0, sizeof *f);
    f->ck = calloc(n, sizeof *f->ck);
    f->old = calloc(n, sizeof *f->old);
    if (!f->ck || !f->old) {
        close_set(f);
        return dsc__fail(DSC_ERR_NOMEM, "dist: out of memory for the checkpoint's shards");
    }
    f->n = n;
    dsc_status st = DSC_OK;
    for (size_t r = 0; !st && r < n; r++) {
        st = shard_file(path, ix->names[r], file);
        if (!st) st = dsc__shard_layout(d, ix->ranks, r, ix->bucket_elems, d->pbase, &f->old[r]);
        if (!st) st = dsc_ckpt_open(&f->ck[r], file);
    }
    return st;
}

/* Elements [from, from + count) of the saved piece `piece` (its parameters, then each
 * state buffer of opt's tensor j) to elements [to, to + count) of opt's tensor j:
 * checked (read 0: the tensors are there with the piece's dtype and length, squares
 * hold nothing negative) or read (read 1). */
static dsc_status move_slice(const dsc_dist *d, const dsc_ckpt *ck, const dsc_param *piece, dsc_optim *opt, size_t j,
                             size_t from, size_t to, size_t count, int read, unsigned char **chunk)
{
    char name[PATH_CAP];
    dsc_status st = DSC_OK;
    for (int k = -1; !st && k < (int)dsc_optim_state_count(opt, j); k++) {
        const char *buf = NULL;
        void *dst = dsc_optim_param(opt, j)->data;
        dsc_param shape = *piece;
        shape.ndim = 1, shape.shape[0] = shape.n; /* a piece is saved one-dimensional */
        if (k >= 0) dsc_optim_state(opt, j, (size_t)k, &buf, &dst);
        snprintf(name, sizeof name, k < 0 ? "param/%s" : "state/%s/%s", piece->name, buf);
        size_t idx;
        st = dsc__ckpt_match(ck, name, &shape, "run", &idx);
        if (!st && !read && k >= 0) st = dsc__ckpt_check_square(ck, idx, buf, chunk);
        if (!st && read) st = dsc_ckpt_read(ck, name, from, count, (char *)dst + to * d->esize);
    }
    return st;
}

/* Every saved piece's overlap with the destinations (dest[j]: opt's tensor j, the
 * elements [offset, offset + len) of the model's tensor `tensor`), checked or read. */
static dsc_status move_slices(const dsc_dist *d, const set_files *f, dsc_optim *opt, const dsc__piece *dest,
                              size_t ndest, int read)
{
    unsigned char *chunk = NULL;
    dsc_status st = DSC_OK;
    if (opt && dsc__optim_wide_count(opt))
        st = dsc__fail(DSC_ERR_UNSUPPORTED, "dist: %s's state is not per tensor", dsc_kind_name(d->hp.kind));
    for (size_t r = 0; !st && r < f->n; r++)
        for (size_t q = 0; !st && q < f->old[r].npieces; q++) {
            const dsc__piece *o = &f->old[r].pieces[q];
            for (size_t j = 0; !st && j < ndest; j++) {
                const dsc__piece *w = &dest[j];
                size_t s = o->offset > w->offset ? o->offset : w->offset;
                size_t e = o->offset + o->len < w->offset + w->len ? o->offset + o->len : w->offset + w->len;
                if (w->tensor == o->tensor && s < e)
                    st = move_slice(d, f->ck[r], &f->old[r].views[q], opt, j, s - o->offset, s - w->offset, e - s,
                                    read, &chunk);
            }
        }
    free(chunk);
    return st;
}

/* The groups (hyperparameters, scalars, schedules) into opt, each from the first shard
 * that has it, read through an optimizer over that shard's pieces restored without
 * state (its parameters are the set's, written where they belong); the index's
 * counters; and the saved mode (*eval). */
static dsc_status restore_groups(const dsc_dist *d, const set_files *f, const shard_index *ix, dsc_optim *opt, int *eval)
{
    const char *mode = dsc_ckpt_meta(f->ck[0], "eval_mode");
    *eval = mode && !strcmp(mode, "1");
    dsc_hparams h = dsc__shard_hparams(&d->hp);
    dsc_checkpoint_load_options o = dsc_checkpoint_load_options_default();
    o.skip_state = 1;
    int next_group = 0;
    dsc_status st = DSC_OK;
    for (size_t r = 0; !st && r < f->n && next_group < dsc_optim_group_count(opt); r++) {
        dsc_optim *saved = NULL;
        st = dsc__optim_create_stateless(&saved, &h, f->old[r].views, f->old[r].npieces);
        if (!st) st = dsc_ckpt_restore(f->ck[r], saved, &o);
        for (; !st && next_group < dsc_optim_group_count(saved); next_group++)
            st = dsc__dist_copy_group(saved, opt, next_group);
        dsc_optim_destroy(saved);
    }
    if (!st) st = dsc_optim_set_counters(opt, ix->step, ix->skipped, ix->consecutive);
    return st;
}

/* Where each of opt's tensors lies in the model: the whole tensors of d. */
static dsc__piece *whole_tensors(const dsc_dist *d)
{
    dsc__piece *w = malloc(d->count * sizeof *w);
    for (size_t i = 0; w && i < d->count; i++) w[i] = (dsc__piece){.tensor = i, .offset = 0, .len = d->params[i].n};
    return w;
}

/* Another layout: every rank reads its own slices of the set, its pieces (zero) or
 * every tensor, straight from the shards, checked first on every rank; then each
 * rebuilds the saved mode's point from the state (the shards' parameters are the
 * evaluation point, schedule-free's x) and, with zero, the parameters are all-gathered. */
static dsc_status load_slices(dsc_dist *d, const char *path, const shard_index *ix)
{
    dsc__piece *whole = d->cfg.zero ? NULL : whole_tensors(d);
    const dsc__piece *dest = d->cfg.zero ? d->pieces : whole;
    size_t ndest = !d->opt ? 0 : d->cfg.zero ? d->npieces : d->count;
    set_files f = {0};
    int eval = 0;
    dsc_status st = !d->cfg.zero && !whole ? dsc__fail(DSC_ERR_NOMEM, "dist: out of memory") : DSC_OK;
    if (!st && ndest) st = open_set(d, path, ix, &f);
    if (!st && ndest) st = move_slices(d, &f, d->opt, dest, ndest, 0);
    if (!(st = dsc__dist_agree(d, st)) && ndest) st = move_slices(d, &f, d->opt, dest, ndest, 1);
    if (!st && ndest) st = restore_groups(d, &f, ix, d->opt, &eval);
    close_set(&f);
    free(whole);
    if ((st = dsc__dist_agree(d, st))) return st;
    int rc = MPI_Bcast(&eval, 1, MPI_INT, 0, d->comm); /* rank 0 holds pieces: the mode is its */
    if (rc != MPI_SUCCESS) return dsc__mpi_fail(rc, "dist", "MPI_Bcast");
    d->steps = ix->step, d->skipped = ix->skipped, d->consecutive = ix->consecutive;
    return dsc_dist_eval_mode(d, eval);
}

dsc_status dsc__dist_load_index(dsc_dist *d, const char *path, int *is_index)
{
    char *text = NULL;
    dsc_status st = read_index(d, path, &text, is_index);
    if (st || !*is_index) return st;
    shard_index ix;
    st = parse_index(path, text, &ix);
    if (!st) st = check_index(d, path, &ix);
    st = dsc__dist_agree(d, st);
    free(text);
    if (!st && d->cfg.zero && ix.ranks == (size_t)d->size && ix.bucket_elems == d->bucket_elems) {
        st = load_own(d, path, &ix);
    } else if (!st) {
        st = load_slices(d, path, &ix);
    }
    index_free(&ix);
    return st;
}

/* ---------------------------------------------------------------- without MPI */

dsc_status dsc_dist_checkpoint_sidecar(const char *path, int *is_index, char *out, size_t cap)
{
    if (!path || !is_index || !out || !cap) return dsc__fail(DSC_ERR_ARG, "dsc_dist_checkpoint_sidecar: NULL argument");
    *is_index = 0;
    out[0] = '\0';
    char *text;
    dsc_status st = index_text(path, &text);
    if (st || !text) return st;
    shard_index ix;
    st = parse_index(path, text, &ix);
    free(text);
    if (st) return st;
    *is_index = 1;
    if (ix.sidecar) {
        char file[PATH_CAP];
        st = shard_file(path, ix.sidecar, file);
        if (!st && strlen(file) >= cap)
            st = dsc__fail(DSC_ERR_RANGE, "dsc_dist_checkpoint_sidecar: the sidecar's path is longer than %zu", cap - 1);
        if (!st) snprintf(out, cap, "%s", file);
    }
    index_free(&ix);
    return st;
}

/* A context that only lays full's tensors out as a run would (no communicator): the
 * layout the shards' optimizers are built over. The tensors must lie back to back in
 * one buffer, of one dtype. */
static dsc_status layout_of(const dsc_optim *full, dsc_dist *d)
{
    memset(d, 0, sizeof *d);
    d->count = dsc_optim_param_count(full);
    if (!d->count) return dsc__fail(DSC_ERR_ARG, "dsc_dist_checkpoint_assemble: the optimizer has no tensors");
    d->params = malloc(d->count * sizeof *d->params);
    d->offsets = malloc((d->count + 1) * sizeof *d->offsets);
    if (!d->params || !d->offsets) return dsc__fail(DSC_ERR_NOMEM, "dist: out of memory for the layout");
    d->dtype = dsc_optim_param(full, 0)->dtype;
    d->esize = dsc_dtype_size(d->dtype);
    d->pbase = dsc_optim_param(full, 0)->data;
    d->gbase = dsc_optim_param(full, 0)->grad; /* the saved shards' views need one; none is read */
    d->size = 1;
    d->offsets[0] = 0;
    for (size_t i = 0; i < d->count; i++) {
        d->params[i] = *dsc_optim_param(full, i);
        size_t at = d->offsets[i] * d->esize;
        if (!d->gbase || d->params[i].dtype != d->dtype || (char *)d->params[i].data != d->pbase + at ||
            (char *)d->params[i].grad != d->gbase + at)
            return dsc__fail(DSC_ERR_ARG, "dsc_dist_checkpoint_assemble: the tensors and their gradients must lie "
                             "back to back in one buffer each, of one dtype ('%s' does not)",
                             d->params[i].name ? d->params[i].name : "?");
        d->offsets[i + 1] = d->offsets[i] + d->params[i].n;
    }
    d->n = d->offsets[d->count];
    d->ngroups = dsc_optim_group_count(full);
    return dsc_optim_get_group_hparams(full, 0, &d->hp);
}

dsc_status dsc_dist_checkpoint_assemble(dsc_optim *full, const char *path)
{
    if (!full || !path) return dsc__fail(DSC_ERR_ARG, "dsc_dist_checkpoint_assemble: NULL argument");
    char *text = NULL;
    shard_index ix = {0};
    dsc_dist d;
    dsc_status st = layout_of(full, &d);
    if (!st) st = index_text(path, &text);
    if (!st && !text) st = dsc__fail(DSC_ERR_FORMAT, "dist: %s is not a sharded checkpoint index", path);
    if (!st) st = parse_index(path, text, &ix);
    if (!st) st = check_index(&d, path, &ix);
    set_files f = {0};
    dsc__piece *whole = st ? NULL : whole_tensors(&d);
    int eval = 0;
    if (!st && !whole) st = dsc__fail(DSC_ERR_NOMEM, "dist: out of memory");
    if (!st) st = open_set(&d, path, &ix, &f);
    if (!st) st = move_slices(&d, &f, full, whole, d.count, 0);
    if (!st) st = move_slices(&d, &f, full, whole, d.count, 1);
    if (!st) st = restore_groups(&d, &f, &ix, full, &eval);
    /* the shards' parameters are the evaluation point: the saved mode's, from the state */
    if (!st) st = dsc_optim_eval_mode(full, eval);
    close_set(&f);
    free(whole);
    free(text);
    index_free(&ix);
    free(d.params);
    free(d.offsets);
    return st;
}
