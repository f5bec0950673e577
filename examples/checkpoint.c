/*
 * checkpoint.c: training that survives being stopped. Fits w to minimise
 * sum_i (w_i - i)^2 with Adam, for 200 steps in all; a checkpoint is saved every 50
 * steps and, when the program starts and finds one, it continues from there.
 * Kill it and start it again: it ends on the same bits as an uninterrupted run.
 *
 *   build/examples/checkpoint [FILE]     (default: example.safetensors)
 */
#include <stdio.h>
#include <stdlib.h>

#include "descent.h"
#include "descent_checkpoint.h"

#define N 8
#define TOTAL 200

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "example.safetensors";
    double w[N] = {0}, g[N];
    dsc_param p = {.name = "w", .data = w, .grad = g, .n = N, .dtype = DSC_F64};
    dsc_optim *opt;
    if (dsc_optim_create_spec(&opt, "adam(lr=0.1)", &p, 1)) {
        fprintf(stderr, "%s\n", dsc_last_error());
        return 1;
    }
    /* resume when there is a checkpoint; any other failure to load is an error */
    FILE *f = fopen(path, "rb");
    if (f) {
        fclose(f);
        if (dsc_checkpoint_load(opt, path, NULL)) {
            fprintf(stderr, "%s\n", dsc_last_error());
            dsc_optim_destroy(opt);
            return 1;
        }
        printf("resumed from %s at step %lld\n", path, (long long)dsc_optim_step_count(opt));
    }
    while (dsc_optim_step_count(opt) < TOTAL) {
        for (int i = 0; i < N; i++) g[i] = 2 * (w[i] - i);
        dsc_optim_step(opt);
        if (dsc_optim_step_count(opt) % 50 == 0) {
            dsc_kv note = {"example", "checkpoint.c"};
            dsc_checkpoint_save_options o = dsc_checkpoint_save_options_default();
            o.extra = &note;
            o.nextra = 1;
            if (dsc_checkpoint_save(opt, path, &o)) {
                fprintf(stderr, "%s\n", dsc_last_error());
                dsc_optim_destroy(opt);
                return 1;
            }
        }
    }
    printf("step %lld: w =", (long long)dsc_optim_step_count(opt));
    for (int i = 0; i < N; i++) printf(" %.6f", w[i]);
    printf("\n");
    dsc_optim_destroy(opt);
    return 0;
}
