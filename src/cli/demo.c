/*
 * demo.c: descent demo, the main job a newcomer runs (make demo): comparisons whose
 * tables print here and whose figures go under out/:
 *   1. the textbook comparison of SGD, momentum, RMSprop and Adam on Rosenbrock
 *      from (-1.5, 0.5), 3000 steps in float64, with L-BFGS beside them (each of its
 *      steps is torch's step(closure): up to 20 iterations);
 *   2. the Adam family (Adam, AdamW, AMSGrad, RAdam, AdaBelief) on the mixture of
 *      four Gaussians;
 *   3. newer optimizers (Lion, LAMB, Schedule-Free AdamW, Lookahead) against Adam on
 *      Rosenbrock, each at the rate its authors suggest relative to Adam's;
 *   4. an MLP trained on the bundled digits through descent train, its history drawn;
 *   5. the seeds' convolutional network on the same digits as 1x8x8 images, with RAdam.
 * --out DIR puts the figures elsewhere (a test does, to leave out/ alone); --data DIR
 * names the folder of digits.csv when the demo runs outside the repository root.
 */
#include "compare.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OUT_DIR "out"
#define DATA_DIR "data" /* make demo runs from the repository root */

typedef struct part {
    const char *heading, *problem, *figure;
    int64_t steps;
    const char *const *labels, *const *specs;
    size_t count;
} part;

static const char *const textbook_labels[] = {"SGD", "Momentum", "RMSprop", "Adam", "L-BFGS"};
static const char *const textbook_specs[] = {"sgd(lr=1e-3)", "sgd(lr=1e-3, momentum=0.9)",
                                             "rmsprop(lr=1e-2, alpha=0.9)", "adam(lr=1e-2)",
                                             "lbfgs(line_search_fn=strong_wolfe)"};

static const char *const adam_labels[] = {"Adam", "AdamW", "AMSGrad", "RAdam", "AdaBelief"};
static const char *const adam_specs[] = {"adam(lr=1e-2)", "adamw(lr=1e-2)", "adam(lr=1e-2, amsgrad=true)",
                                         "radam(lr=1e-2)", "adabelief(lr=1e-2)"};

/* Lion's authors use a rate 3-10x below AdamW's (its sign update has unit size per
 * element); the others take Adam's. */
static const char *const newer_labels[] = {"Adam", "Lion", "LAMB", "Schedule-Free", "Lookahead"};
static const char *const newer_specs[] = {"adam(lr=1e-2)", "lion(lr=1e-3)", "lamb(lr=1e-2)",
                                          "schedulefree_adamw(lr=1e-2)", "lookahead(inner=adam(lr=1e-2))"};

static const part parts[] = {
    {"1. The textbook comparison: Rosenbrock from (-1.5, 0.5), 3000 steps, float64 (minimum 0 at (1, 1));\n"
     "   L-BFGS's step is torch's step(closure), up to 20 iterations with a line search",
     "rosenbrock", "rosenbrock.png", 3000, textbook_labels, textbook_specs, 5},
    {"2. The Adam family on a mixture of four Gaussians from (-0.3, 0.2), 600 steps, float64\n"
     "   (minimum -0.3127 near (1.5, 1.0); three shallower wells)",
     "gaussians", "gaussians.png", 600, adam_labels, adam_specs, 5},
    {"3. Newer optimizers against Adam on Rosenbrock from (-1.5, 0.5), 3000 steps, float64",
     "rosenbrock", "newer.png", 3000, newer_labels, newer_specs, 5},
};

static void print_specs(const part *p)
{
    printf("   ");
    for (size_t i = 0; i < p->count; i++) printf("%s%s = %s", i ? ", " : "", p->labels[i], p->specs[i]);
    printf("\n\n");
}

/* The network of part 5: two 3x3 convolutions (16 and 32 channels, each followed by a
 * 2x2 max pooling) and a dense layer; the seeds' CNN, sized for 8x8 images. */
#define DIGITS_CNN "conv2d(16,k=3,pad=1),relu,maxpool2d(2),conv2d(32,k=3,pad=1),relu,maxpool2d(2),flatten,dense(64),relu,dense(10)"

/* Parts 4 and 5: descent train itself, so the numbers are those a user gets from the
 * same command line, on one split (25 % test, 20 % of the rest validation, seed 1, 40
 * epochs); net is the network's options (--layers ... or --model ...), figure its
 * history's file; --quiet keeps the per-epoch lines off the demo's output. */
static int train_digits(const char *digits, const char *out, char *const *net, const char *optimizer,
                        const char *figure)
{
    char plot[4096];
    snprintf(plot, sizeof plot, "%s/%s", out, figure);
    char *argv[] = {"train", "--data", (char *)digits, net[0], net[1], net[2], net[3], "--optimizer",
                    (char *)optimizer, "--batch", "32", "--epochs", "40", "--test-split", "0.25", "--val-split",
                    "0.2", "--seed", "1", "--quiet", "--plot", plot, NULL};
    fflush(stdout);
    optind = 1;
    int rc = cmd_train((int)(sizeof argv / sizeof argv[0]) - 1, argv);
    if (!rc) printf("figure: %s\n", plot);
    return rc;
}

static int train_both(const char *digits, const char *out)
{
    printf("\n4. An MLP on the handwritten digits (%s, 8x8 images, 10 classes): 64-64-10 ReLU,\n"
           "   Adam lr 1e-3, batch 32, 40 epochs; 25 %% held out for the test, 20 %% of the rest for validation\n\n",
           digits);
    char *mlp[] = {"--layers", "64", "--activation", "relu"};
    int rc = train_digits(digits, out, mlp, "adam(lr=1e-3)", "digits_history.png");
    if (rc) return rc;
    printf("\n5. A convolutional network on the same digits as 1x8x8 images, the seeds' CNN trained with RAdam:\n"
           "   %s,\n   RAdam lr 3e-3, batch 32, 40 epochs, the same split\n\n", DIGITS_CNN);
    char *cnn[] = {"--model", DIGITS_CNN, "--shape", "1x8x8"};
    return train_digits(digits, out, cnn, "radam(lr=3e-3)", "digits_cnn_history.png");
}

static int parse(int argc, char **argv, const char **out, const char **data)
{
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"data", required_argument, 0, 'd'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': *out = optarg; break;
        case 'd': *data = optarg; break;
        case 'h':
            printf("usage: descent demo [--out DIR] [--data DIR]\n"
                   "  compares optimizers on test functions and trains an MLP and a CNN on the handwritten\n"
                   "  digits: prints the tables and writes the figures rosenbrock.png, gaussians.png,\n"
                   "  newer.png, digits_history.png and digits_cnn_history.png\n"
                   "  --out   folder of the figures (default " OUT_DIR ")\n"
                   "  --data  folder holding digits.csv (default " DATA_DIR ", right from the repository\n"
                   "          root, where make demo runs)\n");
            return -1;
        case ':': return cli_usage_error("demo", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("demo", "unknown option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("demo", "unexpected argument '%s'", argv[optind]);
    return 0;
}

int cmd_demo(int argc, char **argv)
{
    const char *out = OUT_DIR, *data = DATA_DIR;
    int rc = parse(argc, argv, &out, &data);
    if (rc) return rc < 0 ? 0 : rc;
    char digits[4096];
    snprintf(digits, sizeof digits, "%s/digits.csv", data);
    if (access(digits, R_OK) != 0) /* before the first part, not after it */
        return cli_fail("demo", "cannot read %s: run the demo from the repository root (make demo) "
                        "or name the folder of digits.csv with --data DIR", digits);
    if (mkdir(out, 0777) != 0 && errno != EEXIST)
        return cli_fail("demo", "cannot create the directory '%s': %s", out, strerror(errno));
    char figure[sizeof parts / sizeof parts[0]][4096];
    for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) {
        const part *p = &parts[k];
        snprintf(figure[k], sizeof figure[k], "%s/%s", out, p->figure);
        printf("%s%s\n", k ? "\n" : "", p->heading);
        print_specs(p);
        cli_compare c = {.problem = p->problem, .dtype = DSC_F64, .steps = p->steps, .labels = p->labels,
                         .specs = p->specs, .count = p->count, .plot = figure[k]};
        if ((rc = cli_compare_run("demo", &c))) return rc;
        printf("figure: %s\n", figure[k]);
    }
    if ((rc = train_both(digits, out))) return rc;
    printf("\nOne run at a time: descent optimize --problem rosenbrock --steps 3000 --optimizer 'adam(lr=1e-2)'\n"
           "Your own comparison: descent compare --problem himmelblau --steps 500 --optimizer adam "
           "--optimizer 'sgd(lr=1e-2, momentum=0.9)' --plot out/mine.png\n"
           "Your own training: descent train --data data/wine.csv --layers 32 --epochs 50 --val-split 0.2 "
           "--plot out/wine.png\n");
    return 0;
}
