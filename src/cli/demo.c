/*
 * demo.c: descent demo, the main job a newcomer runs (make demo): the textbook
 * comparison of SGD, momentum, RMSprop and Adam on Rosenbrock from (-1.5, 0.5).
 */
#include "cli.h"

#include <math.h>
#include <string.h>

typedef struct entry { const char *label, *spec; } entry;

static const entry textbook[] = {
    {"SGD", "sgd(lr=1e-3)"},
    {"Momentum", "sgd(lr=1e-3, momentum=0.9)"},
    {"RMSprop", "rmsprop(lr=1e-2, alpha=0.9)"},
    {"Adam", "adam(lr=1e-2)"},
};

static void print_steps(int64_t s)
{
    if (s < 0) printf(" %9s", "-");
    else printf(" %9lld", (long long)s);
}

int cmd_demo(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: descent demo\n  the textbook comparison on Rosenbrock (3000 steps, float64)\n");
        return 0;
    }
    if (argc > 1) return cli_usage_error("demo", "unexpected argument '%s'", argv[1]);
    const int64_t steps = 3000;
    printf("Rosenbrock from (-1.5, 0.5), %lld steps, float64 (minimum 0 at (1, 1))\n\n", (long long)steps);
    printf("%-10s %-30s %12s %10s %9s %9s %22s\n", "optimizer", "spec", "final loss", "distance",
           "to 1e-3", "to 1e-6", "final x");
    for (size_t i = 0; i < sizeof textbook / sizeof textbook[0]; i++) {
        cli_run r = {.problem = "rosenbrock", .optimizer = textbook[i].spec, .dtype = DSC_F64, .steps = steps};
        dsc_status st = cli_run_exec(&r);
        if (st) {
            int rc = cli_run_error("demo", &r, st);
            cli_run_free(&r);
            return rc;
        }
        printf("%-10s %-30s %12.4e %10.4g", textbook[i].label, textbook[i].spec, r.loss, r.dist);
        print_steps(r.steps_to[0]);
        print_steps(r.steps_to[1]);
        printf("   (%8.5f, %8.5f)\n", r.x[0], r.x[1]);
        cli_run_free(&r);
    }
    printf("\nSame runs one at a time: build/descent optimize --problem rosenbrock --steps 3000 "
           "--optimizer 'adam(lr=1e-2)'\n");
    return 0;
}
