/*
 * demo.c: descent demo, the main job a newcomer runs (make demo): comparisons whose
 * tables print here and whose figures go under out/:
 *   1. the textbook comparison of SGD, momentum, RMSprop and Adam on Rosenbrock
 *      from (-1.5, 0.5), 3000 steps in float64;
 *   2. the Adam family (Adam, AdamW, AMSGrad, RAdam, AdaBelief) on the mixture of
 *      four Gaussians.
 */
#include "compare.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#define OUT_DIR "out"

typedef struct part {
    const char *heading, *problem, *figure;
    int64_t steps;
    const char *const *labels, *const *specs;
    size_t count;
} part;

static const char *const textbook_labels[] = {"SGD", "Momentum", "RMSprop", "Adam"};
static const char *const textbook_specs[] = {
    "sgd(lr=1e-3)", "sgd(lr=1e-3, momentum=0.9)", "rmsprop(lr=1e-2, alpha=0.9)", "adam(lr=1e-2)"};

static const char *const adam_labels[] = {"Adam", "AdamW", "AMSGrad", "RAdam", "AdaBelief"};
static const char *const adam_specs[] = {"adam(lr=1e-2)", "adamw(lr=1e-2)", "adam(lr=1e-2, amsgrad=true)",
                                         "radam(lr=1e-2)", "adabelief(lr=1e-2)"};

static const part parts[] = {
    {"1. The textbook comparison: Rosenbrock from (-1.5, 0.5), 3000 steps, float64 (minimum 0 at (1, 1))",
     "rosenbrock", OUT_DIR "/rosenbrock.png", 3000, textbook_labels, textbook_specs, 4},
    {"2. The Adam family on a mixture of four Gaussians from (-0.3, 0.2), 600 steps, float64\n"
     "   (minimum -0.3127 near (1.5, 1.0); three shallower wells)",
     "gaussians", OUT_DIR "/gaussians.png", 600, adam_labels, adam_specs, 5},
};

static void print_specs(const part *p)
{
    printf("   ");
    for (size_t i = 0; i < p->count; i++) printf("%s%s = %s", i ? ", " : "", p->labels[i], p->specs[i]);
    printf("\n\n");
}

int cmd_demo(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: descent demo\n"
               "  compares optimizers on test functions: prints the tables and writes the\n"
               "  figures under " OUT_DIR "/ (rosenbrock.png, gaussians.png)\n");
        return 0;
    }
    if (argc > 1) return cli_usage_error("demo", "unexpected argument '%s'", argv[1]);
    if (mkdir(OUT_DIR, 0777) != 0 && errno != EEXIST)
        return cli_fail("demo", "cannot create the directory '%s': %s", OUT_DIR, strerror(errno));
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
        const part *p = &parts[k];
        printf("%s%s\n", k ? "\n" : "", p->heading);
        print_specs(p);
        cli_compare c = {.problem = p->problem, .dtype = DSC_F64, .steps = p->steps, .labels = p->labels,
                         .specs = p->specs, .count = p->count, .plot = p->figure};
        int rc = cli_compare_run("demo", &c);
        if (rc) return rc;
        printf("figure: %s\n", p->figure);
    }
    printf("\nOne run at a time: descent optimize --problem rosenbrock --steps 3000 --optimizer 'adam(lr=1e-2)'\n"
           "Your own comparison: descent compare --problem himmelblau --steps 500 --optimizer adam "
           "--optimizer 'sgd(lr=1e-2, momentum=0.9)' --plot out/mine.png\n");
    return 0;
}
