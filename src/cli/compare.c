/*
 * compare.c: descent compare --problem NAME [--start=X1,X2] --steps N
 *            --optimizer SPEC [--optimizer SPEC ...] [--schedule SPEC] [--dtype f32|f64]
 *            [--average SPEC] [--plot FILE] [--json]
 * Every optimizer runs from the same start through cli_run (the unit behind
 * descent optimize, so the numbers agree); a table or one JSON object, and a figure.
 */
#include "compare.h"
#include "figure.h"

#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_START 4096
#define CLI_PLOT_MAX_STEPS 10000000

static void help(FILE *f)
{
    fprintf(f,
            "usage: descent compare --problem NAME [--start=X1,X2,...] --steps N\n"
            "                       --optimizer SPEC [--optimizer SPEC ...] [--schedule SPEC]\n"
            "                       [--dtype f32|f64] [--average SPEC]\n"
            "                       [--plot FILE.png|.svg|.pdf] [--json]\n"
            "  --problem    test function (default rosenbrock): rosenbrock(n=N), beale, booth,\n"
            "               himmelblau, rastrigin(n=N), quadratic(n=N, cond=C), gaussians,\n"
            "               linreg(n=, d=, seed=) or linreg(data=FILE.csv), logreg(...)\n"
            "  --start      start point (default: the problem's)\n"
            "  --steps      number of optimizer steps (>= 0)\n"
            "  --optimizer  spec, repeated for each optimizer to compare (at most %d)\n"
            "  --schedule   learning-rate schedule for every optimizer, e.g. 'cosine(T_max=1000)'\n"
            "  --dtype      f32 or f64 (default f64)\n"
            "  --average    keep a weight average in every run and report the loss at it too,\n"
            "               e.g. 'ema(decay=0.99)' or 'swa(start=100)'; ax: ASGD's own average\n"
            "               (every optimizer asgd)\n"
            "  --plot       draw loss against step (and, in 2-D, the paths over a contour)\n"
            "  --json       print one JSON object on stdout\n",
            CLI_FIGURE_MAX_RUNS);
}

static void print_steps(int64_t s)
{
    if (s < 0) printf(" %9s", "-");
    else printf(" %9lld", (long long)s);
}

static void print_table(const cli_compare *c, const cli_run *runs)
{
    size_t w = 9;
    for (size_t i = 0; i < c->count; i++) w = strlen(c->labels[i]) > w ? strlen(c->labels[i]) : w;
    printf("%-*s %12s", (int)w, "optimizer", "final loss");
    if (c->average) printf(" %12s", "avg loss");
    printf(" %10s %9s %9s %10s\n", "distance", "to 1e-3", "to 1e-6", "time (ms)");
    for (size_t i = 0; i < c->count; i++) {
        const cli_run *r = &runs[i];
        printf("%-*s %12.5g", (int)w, c->labels[i], r->loss);
        if (c->average) printf(" %12.5g", r->avg_loss);
        if (isnan(r->dist)) printf(" %10s", "-"); /* no known minimum */
        else printf(" %10.4g", r->dist);
        print_steps(r->steps_to[0]);
        print_steps(r->steps_to[1]);
        printf(" %10.3f\n", 1e3 * r->seconds);
    }
}

static void add_steps(cJSON *o, const char *key, int64_t s)
{
    if (s < 0) cJSON_AddNullToObject(o, key);
    else cJSON_AddNumberToObject(o, key, (double)s);
}

static cJSON *run_json(const cli_compare *c, size_t i, const cli_run *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "label", c->labels[i]);
    cJSON_AddStringToObject(o, "optimizer", c->specs[i]);
    cli_add_number(o, "loss", r->loss);
    if (c->average) cli_add_number(o, "average_loss", r->avg_loss);
    cli_add_number(o, "distance", r->dist);
    add_steps(o, "steps_to_1e-3", r->steps_to[0]);
    add_steps(o, "steps_to_1e-6", r->steps_to[1]);
    cJSON_AddNumberToObject(o, "seconds", r->seconds);
    cli_json_add(o, "x", cJSON_CreateDoubleArray(r->x, (int)r->dim));
    cJSON_AddNumberToObject(o, "skipped", (double)r->skipped);
    return o;
}

static int print_json(const cli_compare *c, const cli_run *runs, cJSON *figure)
{
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_CreateArray();
    cJSON_AddStringToObject(o, "problem", c->problem);
    cJSON_AddStringToObject(o, "dtype", dsc_dtype_name(c->dtype));
    if (c->schedule) cJSON_AddStringToObject(o, "schedule", c->schedule);
    if (c->average) cJSON_AddStringToObject(o, "average", c->average);
    cJSON_AddNumberToObject(o, "steps", (double)c->steps);
    cli_add_number(o, "fstar", runs[0].fstar);
    for (size_t i = 0; i < c->count; i++) cli_json_add(arr, NULL, run_json(c, i, &runs[i]));
    cli_json_add(o, "runs", arr);
    if (figure) cli_json_add(o, "plot", figure);
    return cli_print_json("compare", o);
}

/* Draws the figure; its description for --json into *desc. */
static int draw(const char *cmd, const cli_compare *c, const dsc_problem *pb, const cli_run *runs,
                cJSON **desc)
{
    cli_figure cf;
    if (cli_figure_build(&cf, c->problem, pb, c->labels, runs, c->count)) {
        cli_figure_free(&cf);
        return cli_fail(cmd, "out of memory drawing '%s'", c->plot);
    }
    dsc_status st = dsc_plot_save(&cf.figure, c->plot);
    if (!st && c->json) *desc = cli_figure_json(&cf.figure, c->plot);
    cli_figure_free(&cf);
    return st ? cli_lib_error(cmd, st) : 0;
}

int cli_compare_run(const char *cmd, const cli_compare *c)
{
    int rc = c->plot ? cli_check_plot(cmd, c->plot) : 0; /* before any run */
    if (rc) return rc;
    if (c->plot && c->steps > CLI_PLOT_MAX_STEPS) /* every step of every run is kept for the figure */
        return cli_usage_error(cmd, "--plot draws at most %d steps, got --steps %lld", CLI_PLOT_MAX_STEPS,
                               (long long)c->steps);
    /* made once for every run and the figure: a data=FILE.csv problem is read and solved once */
    dsc_problem *pb = NULL;
    dsc_status made = dsc_problem_create(&pb, c->problem);
    if (made) return cli_lib_error(cmd, made);
    cli_run *runs = calloc(c->count, sizeof *runs);
    if (!runs) {
        dsc_problem_destroy(pb);
        return cli_fail(cmd, "out of memory");
    }
    for (size_t i = 0; i < c->count && !rc; i++) {
        runs[i] = (cli_run){.problem = c->problem, .pb = pb, .optimizer = c->specs[i], .schedule = c->schedule,
                            .dtype = c->dtype, .average = c->average,
                            .steps = c->steps, .start = c->start, .start_len = c->start_len,
                            .record = c->plot != NULL};
        dsc_status st = cli_run_exec(&runs[i]);
        if (st) rc = cli_run_error(cmd, &runs[i], st);
    }
    cJSON *figure = NULL;
    if (!rc && c->plot) rc = draw(cmd, c, pb, runs, &figure);
    if (!rc && c->json) rc = print_json(c, runs, figure);
    else if (!rc) print_table(c, runs);
    for (size_t i = 0; i < c->count; i++) cli_run_free(&runs[i]);
    free(runs);
    dsc_problem_destroy(pb);
    return rc;
}

int cmd_compare(int argc, char **argv)
{
    static const struct option opts[] = {
        {"problem", required_argument, 0, 'p'}, {"start", required_argument, 0, 's'},
        {"steps", required_argument, 0, 'n'},   {"optimizer", required_argument, 0, 'o'},
        {"dtype", required_argument, 0, 'd'},   {"plot", required_argument, 0, 'P'},
        {"json", no_argument, 0, 'j'},          {"help", no_argument, 0, 'h'},
        {"schedule", required_argument, 0, 'S'}, {"average", required_argument, 0, 'A'},
        {0, 0, 0, 0},
    };
    static double start[MAX_START];
    const char *specs[CLI_FIGURE_MAX_RUNS];
    cli_compare c = {.problem = "rosenbrock", .dtype = DSC_F64, .steps = -1, .labels = specs, .specs = specs};
    int ch;
    opterr = 0;
    optind = 1;
    while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (ch) {
        case 'p': c.problem = optarg; break;
        case 's':
            if (cli_parse_doubles(optarg, start, MAX_START, &c.start_len))
                return cli_usage_error("compare", "--start must be finite numbers separated by commas, got '%s'", optarg);
            c.start = start;
            break;
        case 'n':
            if (cli_parse_int64(optarg, 0, INT64_C(1000000000000), &c.steps))
                return cli_usage_error("compare", "--steps must be an integer >= 0, got '%s'", optarg);
            break;
        case 'o':
            if (c.count == CLI_FIGURE_MAX_RUNS)
                return cli_usage_error("compare", "at most %d optimizers can be compared", CLI_FIGURE_MAX_RUNS);
            specs[c.count++] = optarg;
            break;
        case 'd':
            if (cli_parse_dtype(optarg, &c.dtype))
                return cli_usage_error("compare", "--dtype must be f32 or f64, got '%s'", optarg);
            break;
        case 'P': c.plot = optarg; break;
        case 'S': c.schedule = optarg; break;
        case 'A': c.average = optarg; break;
        case 'j': c.json = 1; break;
        case 'h': help(stdout); return 0;
        case ':': return cli_usage_error("compare", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("compare", "unknown option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("compare", "unexpected argument '%s'", argv[optind]);
    if (!c.count) return cli_usage_error("compare", "--optimizer is required (once per optimizer to compare)");
    if (c.steps < 0) return cli_usage_error("compare", "--steps is required");
    return cli_compare_run("compare", &c);
}
