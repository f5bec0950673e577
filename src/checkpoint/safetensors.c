/*
 * safetensors.c: reading the safetensors format, treating every byte as hostile.
 *
 *   [u64 little-endian N][N bytes of UTF-8 JSON, padded with spaces][data section]
 *
 * The JSON maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}
 * (offsets relative to the data section) and may hold "__metadata__", a map of
 * strings. Every number is checked before use: the header length against the file,
 * each shape and dtype against its byte range (with overflow checks), and the ranges
 * against each other: together they must tile the data section exactly, with no
 * gap and no overlap (as the specification requires, so no bytes hide in a file).
 * This file sees the length and the header only; the data section is the reader's
 * (reader.c), which also checks its checksum.
 */
#include "checkpoint.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

typedef struct dtype_info {
    const char *name;
    size_t size;
} dtype_info;

/* The specification's byte-sized dtypes (sub-byte ones such as F4 are not read). */
static const dtype_info dtypes[] = {
    {"BOOL", 1}, {"U8", 1}, {"I8", 1}, {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"F8_E8M0", 1},
    {"I16", 2}, {"U16", 2}, {"F16", 2}, {"BF16", 2},
    {"I32", 4}, {"U32", 4}, {"F32", 4},
    {"I64", 8}, {"U64", 8}, {"F64", 8},
};

int dsc__little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

uint32_t dsc__crc32(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;
    uLong c = crc;
    while (len) { /* zlib takes at most a uInt at a time */
        uInt chunk = len > (1u << 30) ? (1u << 30) : (uInt)len;
        c = crc32(c, p, chunk);
        p += chunk;
        len -= chunk;
    }
    return (uint32_t)c;
}

uint32_t dsc__header_crc(const unsigned char *file, size_t header_len, size_t digits)
{
    uint32_t crc = dsc__crc32(0, file, digits);
    crc = dsc__crc32(crc, "00000000", 8);
    return dsc__crc32(crc, file + digits + 8, 8 + header_len - digits - 8);
}

dsc_status dsc__ckpt_prefix(dsc_status st, const char *prefix)
{
    char msg[400];
    snprintf(msg, sizeof msg, "%s", dsc_last_error());
    return dsc__fail(st, "%s: %s", prefix, msg);
}

/* The length of the valid UTF-8 sequence at s (at most n bytes), 0 if none: no
 * overlongs, no surrogates, nothing past U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
    unsigned lo = 0x80, hi = 0xbf;
    if (c < 0xc2 || c > 0xf4 || len > n) return 0;
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t k = 2; k < len; k++)
        if ((s[k] & 0xc0) != 0x80) return 0;
    return len;
}

int dsc__utf8_valid(const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0, len; i < n; i += len)
        if (!(len = utf8_seq((const unsigned char *)s + i, n - i))) return 0;
    return 1;
}

/* Strict UTF-8 without raw control characters, which JSON forbids and cJSON would
 * let through. */
static dsc_status check_text(const unsigned char *s, size_t n)
{
    for (size_t i = 0, len; i < n; i += len) {
        if (s[i] < 0x20 && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return dsc__fail(DSC_ERR_FORMAT, "header byte %zu is a control character (0x%02x)", i, s[i]);
        if (!(len = utf8_seq(s + i, n - i)))
            return dsc__fail(DSC_ERR_FORMAT, "header byte %zu is not valid UTF-8", i);
    }
    return DSC_OK;
}

/* A JSON number that is an exact integer in [0, 2^53] (what a double holds exactly). */
static int json_size(const cJSON *v, size_t *out)
{
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!(d >= 0 && d <= 9007199254740992.0) || d != (double)(uint64_t)d) return 0;
    if ((uint64_t)d > SIZE_MAX) return 0;
    *out = (size_t)d;
    return 1;
}

static const dtype_info *find_dtype(const char *name)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (!strcmp(dtypes[i].name, name)) return &dtypes[i];
    return NULL;
}

/* Only dtype, shape and data_offsets, each once. */
static dsc_status check_entry_keys(const cJSON *obj, const char *name)
{
    int seen[3] = {0, 0, 0};
    static const char *const keys[3] = {"dtype", "shape", "data_offsets"};
    for (const cJSON *c = obj->child; c; c = c->next) {
        int k = 0;
        while (k < 3 && strcmp(c->string, keys[k])) k++;
        if (k == 3) return dsc__fail(DSC_ERR_FORMAT, "tensor '%s': unknown field '%s'", name, c->string);
        if (seen[k]++) return dsc__fail(DSC_ERR_FORMAT, "tensor '%s': field '%s' given twice", name, c->string);
    }
    for (int k = 0; k < 3; k++)
        if (!seen[k]) return dsc__fail(DSC_ERR_FORMAT, "tensor '%s': missing field '%s'", name, keys[k]);
    return DSC_OK;
}

static dsc_status parse_shape(const cJSON *shape, dsc__st_entry *e, size_t *count)
{
    if (!cJSON_IsArray(shape))
        return dsc__fail(DSC_ERR_FORMAT, "tensor '%s': shape must be an array of integers", e->name);
    int nd = cJSON_GetArraySize(shape);
    if (nd > DSC_MAX_DIMS)
        return dsc__fail(DSC_ERR_FORMAT, "tensor '%s': %d dimensions, at most %d are supported", e->name, nd,
                         DSC_MAX_DIMS);
    e->ndim = nd;
    size_t n = 1, d = 0;
    int overflow = 0;
    for (const cJSON *c = shape->child; c; c = c->next, d++) {
        if (!json_size(c, &e->shape[d]))
            return dsc__fail(DSC_ERR_FORMAT, "tensor '%s': shape entries must be integers >= 0", e->name);
        if (e->shape[d] && n > SIZE_MAX / e->shape[d]) overflow = 1;
        else n *= e->shape[d];
    }
    if (overflow && n != 0) return dsc__fail(DSC_ERR_FORMAT, "tensor '%s': shape overflows", e->name);
    *count = overflow ? 0 : n;
    return DSC_OK;
}

static dsc_status parse_entry(const cJSON *obj, size_t data_len, dsc__st_entry *e)
{
    e->name = obj->string;
    if (!cJSON_IsObject(obj)) return dsc__fail(DSC_ERR_FORMAT, "tensor '%s': entry must be an object", e->name);
    dsc_status st = check_entry_keys(obj, e->name);
    if (st) return st;
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(obj, "dtype");
    const dtype_info *info = cJSON_IsString(dt) ? find_dtype(dt->valuestring) : NULL;
    if (!info)
        return dsc__fail(DSC_ERR_FORMAT, "tensor '%s': unknown dtype %s%s%s", e->name, cJSON_IsString(dt) ? "'" : "",
                         cJSON_IsString(dt) ? dt->valuestring : "(not a string)", cJSON_IsString(dt) ? "'" : "");
    e->dtype = info->name;
    e->esize = info->size;
    size_t count = 0;
    if ((st = parse_shape(cJSON_GetObjectItemCaseSensitive(obj, "shape"), e, &count))) return st;
    const cJSON *off = cJSON_GetObjectItemCaseSensitive(obj, "data_offsets");
    if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 || !json_size(off->child, &e->begin) ||
        !json_size(off->child->next, &e->end) || e->begin > e->end)
        return dsc__fail(DSC_ERR_FORMAT, "tensor '%s': data_offsets must be [begin, end] with 0 <= begin <= end",
                         e->name);
    if (count > SIZE_MAX / e->esize)
        return dsc__fail(DSC_ERR_FORMAT, "tensor '%s': shape overflows", e->name);
    if (e->end - e->begin != count * e->esize)
        return dsc__fail(DSC_ERR_FORMAT, "tensor '%s': data_offsets [%zu, %zu] hold %zu bytes, dtype %s and its "
                         "shape need %zu", e->name, e->begin, e->end, e->end - e->begin, e->dtype, count * e->esize);
    if (e->end > data_len)
        return dsc__fail(DSC_ERR_FORMAT, "tensor '%s': data_offsets end %zu is past the data section (%zu bytes): "
                         "truncated file?", e->name, e->end, data_len);
    return DSC_OK;
}

static int by_text(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* No key twice (the JSON allows it, and a reader would take one of the two). */
static dsc_status check_unique_keys(const char **keys, size_t n)
{
    const char **sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted) return dsc__fail(DSC_ERR_NOMEM, "out of memory for %zu metadata keys", n);
    if (n) memcpy(sorted, keys, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, by_text);
    dsc_status st = DSC_OK;
    for (size_t i = 1; i < n && !st; i++)
        if (!strcmp(sorted[i - 1], sorted[i]))
            st = dsc__fail(DSC_ERR_FORMAT, "__metadata__ key '%.200s' appears twice", sorted[i]);
    free(sorted);
    return st;
}

static dsc_status parse_metadata(dsc_ckpt *ck, const cJSON *meta)
{
    if (!cJSON_IsObject(meta)) return dsc__fail(DSC_ERR_FORMAT, "__metadata__ must be an object of strings");
    size_t n = (size_t)cJSON_GetArraySize(meta);
    ck->mkey = calloc(n ? n : 1, sizeof *ck->mkey);
    ck->mval = calloc(n ? n : 1, sizeof *ck->mval);
    if (!ck->mkey || !ck->mval) return dsc__fail(DSC_ERR_NOMEM, "out of memory for %zu metadata keys", n);
    for (const cJSON *c = meta->child; c; c = c->next) {
        if (!cJSON_IsString(c))
            return dsc__fail(DSC_ERR_FORMAT, "__metadata__ value of '%s' must be a string", c->string);
        ck->mkey[ck->nm] = c->string;
        ck->mval[ck->nm++] = c->valuestring;
    }
    return check_unique_keys(ck->mkey, ck->nm);
}

/* qsort has no context argument: compare through a struct that carries it. */
typedef struct keyed {
    const char *name;
    size_t begin, end, index;
} keyed;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const keyed *)a)->name, ((const keyed *)b)->name);
}

static int by_offset(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* Names unique; offsets tile [0, data_len) exactly. Fills ck->by_name. */
static dsc_status check_layout(dsc_ckpt *ck)
{
    keyed *k = malloc((ck->nt ? ck->nt : 1) * sizeof *k);
    ck->by_name = malloc((ck->nt ? ck->nt : 1) * sizeof *ck->by_name);
    if (!k || !ck->by_name) {
        free(k);
        return dsc__fail(DSC_ERR_NOMEM, "out of memory for %zu tensors", ck->nt);
    }
    for (size_t i = 0; i < ck->nt; i++) k[i] = (keyed){ck->t[i].name, ck->t[i].begin, ck->t[i].end, i};
    dsc_status st = DSC_OK;
    qsort(k, ck->nt, sizeof *k, by_name);
    for (size_t i = 0; i < ck->nt; i++) {
        ck->by_name[i] = k[i].index;
        if (i && !strcmp(k[i - 1].name, k[i].name) && !st)
            st = dsc__fail(DSC_ERR_FORMAT, "tensor '%s' appears twice", k[i].name);
    }
    qsort(k, ck->nt, sizeof *k, by_offset);
    size_t at = 0;
    for (size_t i = 0; i < ck->nt && !st; i++) {
        if (k[i].begin < at)
            st = dsc__fail(DSC_ERR_FORMAT, "tensors '%s' and '%s' overlap in the data section", k[i - 1].name,
                           k[i].name);
        else if (k[i].begin > at)
            st = dsc__fail(DSC_ERR_FORMAT, "%zu bytes before tensor '%s' belong to no tensor", k[i].begin - at,
                           k[i].name);
        at = k[i].end;
    }
    if (!st && at != ck->data_len)
        st = dsc__fail(DSC_ERR_FORMAT, "the last %zu bytes of the data section belong to no tensor", ck->data_len - at);
    free(k);
    return st;
}

static dsc_status parse_json(dsc_ckpt *ck, const char *text, size_t n)
{
    const char *end = NULL;
    ck->root = cJSON_ParseWithLengthOpts(text, n, &end, 0);
    if (!ck->root) {
        if (dsc__json_valid(text, n)) return dsc__fail(DSC_ERR_NOMEM, "out of memory for the JSON header");
        size_t at = end && end >= text && end <= text + n ? (size_t)(end - text) : 0;
        return dsc__fail(DSC_ERR_FORMAT, "malformed JSON header near byte %zu of %zu", at, n);
    }
    for (const char *p = end; p < text + n; p++)
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
            return dsc__fail(DSC_ERR_FORMAT, "unexpected text after the JSON header at byte %zu", (size_t)(p - text));
    if (!cJSON_IsObject(ck->root)) return dsc__fail(DSC_ERR_FORMAT, "the JSON header must be an object");
    size_t count = (size_t)cJSON_GetArraySize(ck->root);
    ck->t = calloc(count ? count : 1, sizeof *ck->t);
    if (!ck->t) return dsc__fail(DSC_ERR_NOMEM, "out of memory for %zu tensors", count);
    const cJSON *meta = NULL;
    for (const cJSON *c = ck->root->child; c; c = c->next) {
        dsc_status st;
        if (!strcmp(c->string, "__metadata__")) {
            if (meta) return dsc__fail(DSC_ERR_FORMAT, "__metadata__ appears twice");
            meta = c;
            if ((st = parse_metadata(ck, c))) return st;
        } else if ((st = parse_entry(c, ck->data_len, &ck->t[ck->nt++]))) {
            return st;
        }
    }
    return DSC_OK;
}

/* Where the 8 hex digits of the header checksum begin in the n header bytes at text,
 * when at i the text is its key, a colon and "crc32: (JSON whitespace allowed around
 * the colon, as other writers put it); 0 otherwise. */
static size_t crc_digits_at(const char *text, size_t n, size_t i)
{
    static const char key[] = "\"" DSC__HEADER_CRC_KEY "\"", value[] = "\"crc32:";
    if (n - i < sizeof key - 1 || memcmp(text + i, key, sizeof key - 1)) return 0;
    i += sizeof key - 1;
    while (i < n && strchr(" \t\r\n", text[i]) && text[i]) i++;
    if (i == n || text[i++] != ':') return 0;
    while (i < n && strchr(" \t\r\n", text[i]) && text[i]) i++;
    if (n - i < sizeof value - 1 || memcmp(text + i, value, sizeof value - 1)) return 0;
    return i + sizeof value - 1;
}

/* The header checksum, checked on the raw bytes before anything is parsed (so a
 * damaged header is reported as such, not as whatever the damage looks like). A
 * header without the key is an older file (or a foreign one); one whose JSON has the
 * key in another spelling (escaped) is refused after parsing. */
static dsc_status check_header_crc(const unsigned char *buf, size_t n, int *found)
{
    const char *text = (const char *)buf + 8;
    size_t at = 0;
    *found = 0;
    for (size_t i = 0; i < n; i++) {
        size_t d = text[i] == '"' ? crc_digits_at(text, n, i) : 0;
        if (!d) continue;
        if (at) return dsc__fail(DSC_ERR_FORMAT, "__metadata__ key '" DSC__HEADER_CRC_KEY "' appears twice");
        at = d;
    }
    if (!at) return DSC_OK;
    *found = 1;
    size_t digits = 8 + at; /* in the file */
    int ok = at + 9 <= n && buf[digits + 8] == '"';
    for (size_t i = 0; ok && i < 8; i++) ok = isxdigit(buf[digits + i]) && !isupper(buf[digits + i]);
    if (!ok) return dsc__fail(DSC_ERR_FORMAT, "__metadata__ '" DSC__HEADER_CRC_KEY "' must be crc32:<8 hex digits>");
    char hex[9];
    memcpy(hex, buf + digits, 8);
    hex[8] = '\0';
    unsigned long want = strtoul(hex, NULL, 16);
    uint32_t got = dsc__header_crc(buf, n, digits);
    if (got != (uint32_t)want)
        return dsc__fail(DSC_ERR_FORMAT, "header checksum mismatch: the header is corrupted (stored crc32:%08lx, "
                         "computed crc32:%08lx)", want, (unsigned long)got);
    return DSC_OK;
}

dsc_status dsc__ckpt_header_len(const unsigned char *first8, size_t len, size_t *n)
{
    if (len < 8)
        return dsc__fail(DSC_ERR_FORMAT, "%zu bytes is too short for a safetensors file (truncated?)", len);
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | first8[i];
    if (v > DSC_CHECKPOINT_MAX_HEADER)
        return dsc__fail(DSC_ERR_FORMAT, "header length %llu is absurd (the limit is %u bytes)",
                         (unsigned long long)v, DSC_CHECKPOINT_MAX_HEADER);
    if (v > len - 8)
        return dsc__fail(DSC_ERR_FORMAT, "header length %llu runs past the end of the %zu-byte file (truncated?)",
                         (unsigned long long)v, len);
    *n = (size_t)v;
    return DSC_OK;
}

dsc_status dsc__ckpt_parse_header(dsc_ckpt *ck, const unsigned char *head, size_t len)
{
    size_t n;
    dsc_status st = dsc__ckpt_header_len(head, len, &n);
    if (st) return st;
    if (n < 2 || head[8] != '{')
        return dsc__fail(DSC_ERR_FORMAT, "the header must be a JSON object starting with '{'");
    ck->header_len = n;
    ck->data_len = len - 8 - n;
    int has_crc = 0;
    st = check_header_crc(head, n, &has_crc);
    if (!st) st = check_text(head + 8, n);
    if (!st) st = parse_json(ck, (const char *)head + 8, n);
    if (!st && !has_crc && dsc_ckpt_meta(ck, DSC__HEADER_CRC_KEY))
        st = dsc__fail(DSC_ERR_FORMAT, "__metadata__ '" DSC__HEADER_CRC_KEY "' is not written as descent writes it "
                       "(\"crc32:\" and 8 hex digits after the key)");
    if (!st) st = check_layout(ck);
    if (st) dsc__ckpt_release(ck);
    return st;
}

void dsc__ckpt_release(dsc_ckpt *ck)
{
    cJSON_Delete(ck->root);
    free(ck->t);
    free(ck->by_name);
    free(ck->mkey);
    free(ck->mval);
    ck->root = NULL;
    ck->t = NULL;
    ck->by_name = NULL;
    ck->mkey = ck->mval = NULL;
    ck->nt = ck->nm = 0;
}

size_t dsc__ckpt_lookup(const dsc_ckpt *ck, const char *name)
{
    size_t lo = 0, hi = ck->nt;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(ck->t[ck->by_name[mid]].name, name);
        if (!c) return ck->by_name[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return SIZE_MAX;
}

const char *dsc_ckpt_meta(const dsc_ckpt *ck, const char *key)
{
    if (!ck || !key) return NULL;
    for (size_t i = 0; i < ck->nm; i++)
        if (!strcmp(ck->mkey[i], key)) return ck->mval[i];
    return NULL;
}
