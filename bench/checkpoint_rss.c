/*
 * checkpoint_rss.c: the memory a resume costs. An MLP-shaped Adam optimizer of about
 * 17M float32 parameters (1024 -> 4096 -> 3072: 16.78M), stepped once so that its
 * state exists, then (load) restored from a checkpoint that "save" wrote. Prints the
 * peak resident memory (VmHWM) before the load, i.e. the steady state, and after it.
 *
 *   cc -O2 -Iinclude bench/checkpoint_rss.c build/libdescent.so -Wl,-rpath,build -o /tmp/checkpoint_rss
 *   /tmp/checkpoint_rss save /tmp/ck.safetensors && /tmp/checkpoint_rss load /tmp/ck.safetensors
 *
 * (docs/checkpoints.md has the numbers.) Uses only calls whose signatures did not
 * change, so the same file builds against older libraries to compare.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "descent.h"
#include "descent_checkpoint.h"

#define IN 1024
#define HIDDEN 4096
#define OUT 3072
#define TENSORS 4

static long peak_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kib = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return kib;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "save") && strcmp(argv[1], "load"))) {
        fprintf(stderr, "usage: checkpoint_rss save|load PATH\n");
        return 2;
    }
    const size_t n[TENSORS] = {(size_t)IN * HIDDEN, HIDDEN, (size_t)HIDDEN * OUT, OUT};
    const char *names[TENSORS] = {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"};
    dsc_param p[TENSORS];
    size_t total = 0;
    for (int i = 0; i < TENSORS; i++) {
        float *w = malloc(n[i] * sizeof *w), *g = malloc(n[i] * sizeof *g);
        if (!w || !g) return 1;
        for (size_t k = 0; k < n[i]; k++) {
            w[k] = (float)((k % 97) * 1e-3);
            g[k] = (float)((k % 89) * 1e-4);
        }
        p[i] = (dsc_param){.name = names[i], .data = w, .grad = g, .n = n[i], .dtype = DSC_F32};
        total += n[i];
    }
    dsc_optim *opt;
    if (dsc_optim_create_spec(&opt, "adam(lr=1e-3)", p, TENSORS) || dsc_optim_step(opt)) {
        fprintf(stderr, "%s\n", dsc_last_error());
        return 1;
    }
    long steady = peak_kib();
    dsc_status st = !strcmp(argv[1], "save") ? dsc_checkpoint_save(opt, argv[2], NULL, 0)
                                              : dsc_checkpoint_load(opt, argv[2]);
    if (st) {
        fprintf(stderr, "%s\n", dsc_last_error());
        return 1;
    }
    printf("%s: %zu parameters, peak RSS %.0f MiB before (steady state), %.0f MiB after\n", argv[1], total,
           (double)steady / 1024, (double)peak_kib() / 1024);
    dsc_optim_destroy(opt);
    for (int i = 0; i < TENSORS; i++) {
        free(p[i].data);
        free(p[i].grad);
    }
    return 0;
}
