/*
 * inspect.c: descent inspect FILE [--json]: the metadata and tensors of a safetensors
 * file (a checkpoint of ours or any other), after checking its structure and checksum.
 */
#include "cli.h"

#include <getopt.h>
#include <string.h>

static void help(FILE *f)
{
    fprintf(f, "usage: descent inspect FILE [--json]\n"
               "  prints the metadata and a table of the tensors (name, dtype, shape, bytes) of a\n"
               "  safetensors file, after checking its layout and checksum; for the index of a sharded\n"
               "  checkpoint set (descent train --shard-checkpoints), of the set's network file\n"
               "  --json  print one JSON object on stdout\n");
}

static void shape_text(const dsc_ckpt_tensor *t, char *buf, size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (int d = 0; d < t->ndim && len < cap; d++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%zu", d ? ", " : "", t->shape[d]);
    if (len < cap) snprintf(buf + len, cap - len, "]");
}

static void print_table(const char *path, const dsc_ckpt *ck)
{
    size_t tensors = dsc_ckpt_tensor_count(ck), data = dsc_ckpt_data_bytes(ck);
    printf("%s: safetensors, %zu-byte header, %zu byte%s of data, %zu tensor%s\n", path, dsc_ckpt_header_bytes(ck),
           data, cli_s((long long)data), tensors, cli_s((long long)tensors));
    const char *sum = dsc_ckpt_meta(ck, "checksum");
    printf("checksum: %s\n", sum ? "verified (the data section matches its crc32)" : "none in the metadata");
    printf("\nmetadata:\n");
    for (size_t i = 0; i < dsc_ckpt_meta_count(ck); i++) {
        const char *k, *v;
        dsc_ckpt_meta_at(ck, i, &k, &v);
        printf("  %-32s %s\n", k, v);
    }
    printf("\n  %-40s %-8s %-20s %12s\n", "tensor", "dtype", "shape", "bytes");
    for (size_t i = 0; i < dsc_ckpt_tensor_count(ck); i++) {
        dsc_ckpt_tensor t;
        char shape[200];
        dsc_ckpt_tensor_at(ck, i, &t);
        shape_text(&t, shape, sizeof shape);
        printf("  %-40s %-8s %-20s %12zu\n", t.name, t.dtype, shape, t.end - t.begin);
    }
}

static cJSON *tensor_json(const dsc_ckpt_tensor *t)
{
    cJSON *o = cJSON_CreateObject(), *shape = cJSON_CreateArray(), *off = cJSON_CreateArray();
    if (!o || !shape || !off) {
        cJSON_Delete(o);
        cJSON_Delete(shape);
        cJSON_Delete(off);
        return NULL;
    }
    for (int d = 0; d < t->ndim; d++) cli_json_add(shape, NULL, cJSON_CreateNumber((double)t->shape[d]));
    cli_json_add(off, NULL, cJSON_CreateNumber((double)t->begin));
    cli_json_add(off, NULL, cJSON_CreateNumber((double)t->end));
    cJSON_AddStringToObject(o, "name", t->name);
    cJSON_AddStringToObject(o, "dtype", t->dtype);
    cli_json_add(o, "shape", shape);
    cJSON_AddNumberToObject(o, "bytes", (double)(t->end - t->begin));
    cli_json_add(o, "data_offsets", off);
    return o;
}

static int print_json(const char *path, const dsc_ckpt *ck)
{
    cJSON *o = cJSON_CreateObject(), *meta = cJSON_CreateObject(), *tensors = cJSON_CreateArray();
    if (!o || !meta || !tensors) {
        cJSON_Delete(o);
        cJSON_Delete(meta);
        cJSON_Delete(tensors);
        return cli_fail("inspect", "out of memory");
    }
    cJSON_AddStringToObject(o, "file", path);
    cJSON_AddNumberToObject(o, "header_bytes", (double)dsc_ckpt_header_bytes(ck));
    cJSON_AddNumberToObject(o, "data_bytes", (double)dsc_ckpt_data_bytes(ck));
    cJSON_AddBoolToObject(o, "checksum_verified", dsc_ckpt_meta(ck, "checksum") != NULL);
    for (size_t i = 0; i < dsc_ckpt_meta_count(ck); i++) {
        const char *k, *v;
        dsc_ckpt_meta_at(ck, i, &k, &v);
        cJSON_AddStringToObject(meta, k, v);
    }
    cli_json_add(o, "metadata", meta);
    for (size_t i = 0; i < dsc_ckpt_tensor_count(ck); i++) {
        dsc_ckpt_tensor t;
        dsc_ckpt_tensor_at(ck, i, &t);
        cli_json_add(tensors, NULL, tensor_json(&t));
    }
    cli_json_add(o, "tensors", tensors);
    return cli_print_json("inspect", o);
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int json = 0, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'h': help(stdout); return 0;
        default: return cli_usage_error("inspect", "unknown option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind >= argc) return cli_usage_error("inspect", "a checkpoint file is required (see --help)");
    if (optind + 1 < argc) return cli_usage_error("inspect", "unexpected argument '%s'", argv[optind + 1]);
    const char *path = argv[optind];
    char file[CLI_PATH_CAP];
    int sharded, rc = cli_checkpoint_file("inspect", path, file, sizeof file, &sharded);
    if (rc) return rc;
    /* a sharded set: its network, from the sidecar; the optimizer state is in the shards */
    if (sharded && !json)
        printf("%s: the index of a sharded checkpoint set; its network (without optimizer state) is %s\n", path, file);
    dsc_ckpt *ck;
    dsc_status st = dsc_ckpt_open(&ck, file);
    if (st) return cli_lib_error("inspect", st);
    rc = json ? print_json(file, ck) : (print_table(file, ck), 0);
    dsc_ckpt_close(ck);
    return rc;
}
