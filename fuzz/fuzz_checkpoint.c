/*
 * fuzz_checkpoint.c: the checkpoint loader under libFuzzer (make fuzz). Any bytes go
 * through the whole reading path: parse and check the file, walk what it holds, and
 * restore it into optimizers, one made from the file's own metadata (so that valid
 * inputs reach the commit) and one fixed, and load it as an MLP. The loader must refuse bad input with a
 * status, never crash, leak or read out of bounds (ASan, UBSan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "descent_checkpoint.h"
#include "descent_nn.h"

/* Reads every byte the file says a tensor has, a few elements at a time (ASan checks
 * the bounds), and one element past each tensor's end (refused). */
static unsigned walk(const dsc_ckpt *ck)
{
    unsigned sum = 0;
    for (size_t i = 0; i < dsc_ckpt_meta_count(ck); i++) {
        const char *k, *v;
        dsc_ckpt_meta_at(ck, i, &k, &v);
        sum += (unsigned)strlen(k) + (unsigned)strlen(v);
    }
    for (size_t i = 0; i < dsc_ckpt_tensor_count(ck); i++) {
        dsc_ckpt_tensor t;
        dsc_ckpt_tensor_at(ck, i, &t);
        unsigned char b[64];
        size_t per = sizeof b / t.elem_size;
        for (size_t at = 0; at < t.n; at += per) {
            size_t m = t.n - at < per ? t.n - at : per;
            if (dsc_ckpt_read(ck, t.name, at, m, b) != DSC_OK) abort();
            for (size_t j = 0; j < m * t.elem_size; j++) sum += b[j];
        }
        if (dsc_ckpt_read(ck, t.name, t.n, 1, b) != DSC_ERR_RANGE) abort();
        dsc_ckpt_tensor u;
        if (dsc_ckpt_find(ck, t.name, &u) == DSC_OK) sum += (unsigned)u.ndim;
    }
    return sum;
}

/* An optimizer of the file's kind over its tensor "param/x" (and the file's weight
 * average, when it has one), restored from it. */
static void restore_own(const dsc_ckpt *ck)
{
    dsc_hparams hp;
    dsc_ckpt_tensor t;
    if (dsc_ckpt_hparams(ck, 0, &hp) || dsc_ckpt_find(ck, "param/x", &t)) return;
    if (strcmp(t.dtype, "F32") && strcmp(t.dtype, "F64")) return;
    size_t n = t.elem_size ? (t.end - t.begin) / t.elem_size : 0;
    if (n == 0 || n > 64 || t.ndim != 1) return;
    double data[64] = {0}, grad[64] = {0};
    dsc_param p = {.name = "x", .data = data, .grad = grad, .n = n,
                   .dtype = strcmp(t.dtype, "F32") ? DSC_F64 : DSC_F32};
    dsc_optim *opt;
    dsc_average *avg = NULL;
    const char *average = dsc_ckpt_meta(ck, "average");
    if (dsc_optim_create(&opt, &hp, &p, 1)) return;
    if (!average || dsc_average_create(&avg, average, &p, 1) == DSC_OK) {
        dsc_checkpoint_load_options o = dsc_checkpoint_load_options_default();
        o.average = avg;
        if (dsc_ckpt_restore(ck, opt, &o) == DSC_OK && dsc_optim_step(opt) == DSC_OK && avg)
            dsc_average_update(avg);
    }
    dsc_average_destroy(avg);
    dsc_optim_destroy(opt);
}

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *bytes, size_t size)
{
    dsc_ckpt *ck;
    if (dsc_ckpt_open_mem(&ck, bytes, size) == DSC_OK) {
        volatile unsigned sink = walk(ck);
        (void)sink;
        restore_own(ck);
        dsc_mlp *m;
        if (dsc_mlp_load_ckpt(&m, ck, NULL) == DSC_OK) dsc_mlp_destroy(m);
        dsc_ckpt_close(ck);
    }
    double x[2] = {0, 0}, g[2] = {0, 0};
    dsc_param p = {.name = "x", .data = x, .grad = g, .n = 2, .dtype = DSC_F64};
    dsc_optim *opt;
    if (dsc_optim_create_spec(&opt, "adam(lr=0.01)", &p, 1) == DSC_OK) {
        dsc_checkpoint_load_mem(opt, bytes, size, NULL);
        dsc_optim_destroy(opt);
    }
    return 0;
}
