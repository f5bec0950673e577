/* checkpoint.h: what the files of the checkpoint layer share (internal). */
#ifndef DSC_CHECKPOINT_INTERNAL_H
#define DSC_CHECKPOINT_INTERNAL_H

#include "descent_checkpoint.h"
#include "../core/internal.h"

#include <cjson/cJSON.h>
#include <stdint.h>

/* One tensor of a parsed file; name and dtype point into the JSON tree. */
typedef struct dsc__st_entry {
    const char *name;
    const char *dtype;
    size_t esize;
    int ndim;
    size_t shape[DSC_MAX_DIMS];
    size_t begin, end;
} dsc__st_entry;

/* A checked file. Opened from a path it holds the parsed header and the open file, and
 * reads tensor bytes when asked (pread): never the whole data section at once. Opened
 * from memory it reads them from the bytes (a copy it owns, or the caller's). */
struct dsc_ckpt {
    int fd;                    /* the file, or -1 for bytes in memory */
    char *path;                /* the file's path, for messages (NULL in memory) */
    const unsigned char *mem;  /* in memory: the data section */
    unsigned char *owned;      /* in memory: the copy the dsc_ckpt owns (NULL: borrowed) */
    size_t header_len, data_len;
    cJSON *root;
    size_t nt;
    dsc__st_entry *t;          /* header order */
    size_t *by_name;           /* indices of t sorted by name */
    size_t nm;
    const char **mkey, **mval; /* __metadata__ in file order */
};

/* The most bytes the reader holds at once beyond the header: the data checksum and the
 * restore's checks stream through a buffer of this size. */
#define DSC__CKPT_CHUNK ((size_t)1 << 20)

/* ---- the format (safetensors.c): header bytes to a checked table, no file access */

/* The header length in the first 8 of a file's len bytes (len >= 8 is checked), checked
 * against the limit and against len. */
dsc_status dsc__ckpt_header_len(const unsigned char *first8, size_t len, size_t *n);
/* Parses and checks the 8 + n bytes at head (the length, then the JSON header) of a
 * file of len bytes into ck's table (its other fields untouched): the header checksum,
 * the text, every entry, the layout of the data section. The data checksum is the
 * reader's (it needs the data). */
dsc_status dsc__ckpt_parse_header(dsc_ckpt *ck, const unsigned char *head, size_t len);
/* Frees what dsc__ckpt_parse_header allocated (not ck itself, not the bytes). */
void dsc__ckpt_release(dsc_ckpt *ck);
/* The index of the tensor named name, or SIZE_MAX. */
size_t dsc__ckpt_lookup(const dsc_ckpt *ck, const char *name);

/* ---- the reader (reader.c): a dsc_ckpt's bytes */

/* Checks len bytes at buf (borrowed: they must outlive ck) into *ck, checksums included. */
dsc_status dsc__ckpt_parse_mem(dsc_ckpt *ck, const unsigned char *buf, size_t len);
/* len bytes of the data section from offset at (at + len <= data_len) into dst. */
dsc_status dsc__ckpt_read_bytes(const dsc_ckpt *ck, size_t at, size_t len, void *dst);
/* Whether the file still holds the data section it had when opened (not truncated
 * since): checked before a restore changes anything. */
dsc_status dsc__ckpt_still_whole(const dsc_ckpt *ck);

/* Whether the n bytes at text are one JSON value that cJSON can read (json_check.c):
 * tells a failed allocation from a syntax error when cJSON fails. */
int dsc__json_valid(const char *text, size_t n);

/* Whether s is valid UTF-8 (JSON text must be; cJSON would write any bytes). */
int dsc__utf8_valid(const char *s);

/* zlib's CRC-32 of len bytes, continuing crc (0 to start). */
uint32_t dsc__crc32(uint32_t crc, const void *data, size_t len);

/* The header checksum's key and value as they appear in the header text (with the
 * value's 8 hex digits right after): the writer prints exactly this, the reader finds
 * it in the raw bytes. */
#define DSC__HEADER_CRC_KEY "header_checksum"
#define DSC__HEADER_CRC_TEXT "\"" DSC__HEADER_CRC_KEY "\":\"crc32:"
/* The header checksum of the first 8 + header_len bytes of a file, the 8 hex digits
 * at digits (an offset into file) read as '0'. */
uint32_t dsc__header_crc(const unsigned char *file, size_t header_len, size_t digits);

/* A piece of the output: the file is the concatenation of its segments. */
typedef struct dsc__segment {
    const void *ptr;
    size_t len;
} dsc__segment;

/* Writes the segments to path whole or not at all (dsc__outfile: temporary file,
 * fsync, rename, fsync of the directory). */
dsc_status dsc__write_atomic(const char *path, const dsc__segment *segs, size_t nseg);

/* ---- values of a descent checkpoint (reader.c), for the restore and its parts */

/* A metadata value that must be there; a missing one is DSC_ERR_FORMAT. */
dsc_status dsc__ckpt_need_meta(const dsc_ckpt *ck, const char *key, const char **out);

/* A metadata value as an integer; a missing or malformed one is DSC_ERR_FORMAT. */
dsc_status dsc__ckpt_meta_int64(const dsc_ckpt *ck, const char *key, int64_t *out);
/* The same for a number (a double: "inf" is one, "1e999" is out of range). */
dsc_status dsc__ckpt_meta_double(const dsc_ckpt *ck, const char *key, double *out);
/* *out: the index of the tensor called name, which must have q's dtype and shape;
 * who ("optimizer") names the side that needs it in messages. */
dsc_status dsc__ckpt_match(const dsc_ckpt *ck, const char *name, const dsc_param *q, const char *who,
                           size_t *out);
/* Tensor t holds no negative or NaN element when buf (its state buffer's name) names a
 * square ("exp_avg_sq"...), read through *chunk (DSC__CKPT_CHUNK bytes, allocated on
 * first use, the caller's to free). */
dsc_status dsc__ckpt_check_square(const dsc_ckpt *ck, size_t t, const char *buf, unsigned char **chunk);

/* ---- schedules and accumulation (schedule_meta.c) */

/* A group's schedule as data: spec (NULL: none), base, named state, loss history. */
typedef struct dsc__sched_snap {
    char *spec;
    double base;
    size_t n;
    char **names;
    double *values;
    size_t nhist;
    double *hist;
} dsc__sched_snap;

void dsc__sched_snap_free(dsc__sched_snap *s);
dsc_status dsc__sched_snap_take(const dsc_optim *opt, int g, dsc__sched_snap *s);
/* Makes group g's schedule the one of s (detaching any); NULL spec: none. */
dsc_status dsc__sched_snap_apply(dsc_optim *opt, int g, const dsc__sched_snap *s);
/* The groups' schedules and the accumulation window into meta; 0 when out of memory. */
int dsc__ckpt_save_schedules(cJSON *meta, const dsc_optim *opt);
/* The saved schedules of ngroups groups, checked on scratch schedules. */
dsc_status dsc__ckpt_read_schedules(const dsc_ckpt *ck, int ngroups, dsc__sched_snap *snaps);

/* ---- a weight average beside the optimizer (average_restore.c) */

typedef struct dsc__avg_snap {
    int64_t updates, averaged;
    size_t *src; /* for each averaged tensor: its buffer's tensor in the file */
} dsc__avg_snap;

void dsc__avg_snap_free(dsc__avg_snap *s);
/* Checks the file's average against avg (NULL: the file must hold none) into s,
 * marking the tensors it takes in used[]. Changes nothing. */
dsc_status dsc__ckpt_read_average(const dsc_ckpt *ck, const dsc_average *avg, dsc__avg_snap *s,
                                  unsigned char *used);
/* Puts what dsc__ckpt_read_average checked into avg (reading the buffers from the
 * file: fails only when it changed since). */
dsc_status dsc__ckpt_apply_average(const dsc_ckpt *ck, dsc_average *avg, const dsc__avg_snap *s);

/* The host stores numbers little-endian (the format's byte order). */
int dsc__little_endian(void);

#endif
