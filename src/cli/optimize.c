/*
 * optimize.c: descent optimize --problem NAME [--start=X1,X2] --steps N
 *                              --optimizer SPEC [--schedule SPEC] [--dtype f32|f64]
 *                              [--average SPEC] [--trace FILE.csv] [--json] [--save FILE]
 *             descent optimize --resume FILE --steps N [--save FILE] [--trace FILE.csv] [--json]
 */
#include "cli.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define MAX_START 4096

static void help(FILE *f)
{
    fprintf(f,
            "usage: descent optimize --problem NAME [--start=X1,X2,...] --steps N --optimizer SPEC\n"
            "                        [--schedule SPEC] [--dtype f32|f64] [--trace FILE.csv] [--json]\n"
            "                        [--average SPEC] [--save FILE]\n"
            "       descent optimize --resume FILE --steps N [--save FILE] [--trace FILE.csv] [--json]\n"
            "  --problem    test function (default rosenbrock), e.g. rosenbrock(n=10)\n"
            "  --start      start point (default: the problem's, (-1.5, 0.5) for rosenbrock)\n"
            "  --steps      number of optimizer steps (>= 0); a step of lbfgs is torch's\n"
            "               step(closure): up to max_iter iterations\n"
            "  --optimizer  spec, e.g. 'adam(lr=1e-2)', 'sgd(lr=1e-3, momentum=0.9)' or\n"
            "               'lbfgs(line_search_fn=strong_wolfe)'\n"
            "  --schedule   learning-rate schedule of every group, e.g. 'cosine(T_max=100)'\n"
            "               (see descent schedule --help); plateau and king watch the loss\n"
            "  --dtype      f32 or f64 (default f64)\n"
            "  --average    also keep a weight average and report the loss at it:\n"
            "               'ema(decay=0.999, every=1, start=0)' or 'swa(start=0, every=1)';\n"
            "               ax: ASGD's own average (its state ax)\n"
            "  --trace      write step,loss,x1,x2,... for steps 0..N to a CSV file\n"
            "  --json       print one JSON object on stdout\n"
            "  --save       write a checkpoint (safetensors) after the last step\n"
            "  --resume     continue from a checkpoint: problem, start, dtype, optimizer, average and position\n"
            "               come from it; N more steps end on the bits of one uninterrupted run\n");
}

static int print_json(const cli_run *r, const char *problem, const char *optimizer, const char *schedule)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *x = cJSON_CreateDoubleArray(r->x, (int)r->dim);
    if (!o || !x) {
        cJSON_Delete(x);
        return cli_print_json("optimize", o); /* reports the failed allocation */
    }
    cJSON_AddStringToObject(o, "problem", problem);
    cJSON_AddStringToObject(o, "optimizer", optimizer);
    cJSON_AddStringToObject(o, "dtype", dsc_dtype_name(r->dtype));
    cJSON_AddNumberToObject(o, "steps", (double)r->steps);
    cJSON_AddNumberToObject(o, "step", (double)(r->first_step + r->steps));
    cli_add_number(o, "loss", r->loss);
    cli_json_add(o, "x", x);
    cJSON_AddNumberToObject(o, "skipped", (double)r->skipped);
    if (schedule) cJSON_AddStringToObject(o, "schedule", schedule);
    if (r->average) {
        cJSON_AddStringToObject(o, "average", r->average);
        cli_add_number(o, "average_loss", r->avg_loss);
        cli_json_add(o, "average_x", cJSON_CreateDoubleArray(r->avg_x, (int)r->dim));
    }
    return cli_print_json("optimize", o);
}

/* "(x1, x2, ...)", at most 8 values */
static void print_point(const double *x, size_t dim)
{
    printf("(");
    for (size_t i = 0; i < dim && i < 8; i++) printf("%s%.6g", i ? ", " : "", x[i]);
    printf("%s)", dim > 8 ? ", ..." : "");
}

int cmd_optimize(int argc, char **argv)
{
    static const struct option opts[] = {
        {"problem", required_argument, 0, 'p'}, {"start", required_argument, 0, 's'},
        {"steps", required_argument, 0, 'n'},   {"optimizer", required_argument, 0, 'o'},
        {"dtype", required_argument, 0, 'd'},   {"trace", required_argument, 0, 't'},
        {"json", no_argument, 0, 'j'},          {"help", no_argument, 0, 'h'},
        {"schedule", required_argument, 0, 'S'},
        {"save", required_argument, 0, 'W'},    {"resume", required_argument, 0, 'R'},
        {"average", required_argument, 0, 'A'},
        {0, 0, 0, 0},
    };
    const char *problem = "rosenbrock", *optimizer = NULL, *trace = NULL, *schedule = NULL;
    const char *save = NULL, *resume = NULL, *average = NULL;
    const char *fixed = NULL; /* an option --resume replaces */
    static double start[MAX_START];
    size_t start_len = 0;
    int have_start = 0, json = 0;
    int64_t steps = -1;
    dsc_dtype dtype = DSC_F64;
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': problem = optarg; fixed = "--problem"; break;
        case 's':
            if (cli_parse_doubles(optarg, start, MAX_START, &start_len))
                return cli_usage_error("optimize", "--start must be finite numbers separated by commas, got '%s'", optarg);
            have_start = 1;
            fixed = "--start";
            break;
        case 'n':
            if (cli_parse_int64(optarg, 0, INT64_C(1000000000000), &steps))
                return cli_usage_error("optimize", "--steps must be an integer >= 0, got '%s'", optarg);
            break;
        case 'o': optimizer = optarg; fixed = "--optimizer"; break;
        case 'S': schedule = optarg; fixed = "--schedule"; break;
        case 'A': average = optarg; fixed = "--average"; break;
        case 'd':
            if (cli_parse_dtype(optarg, &dtype))
                return cli_usage_error("optimize", "--dtype must be f32 or f64, got '%s'", optarg);
            fixed = "--dtype";
            break;
        case 'W': save = optarg; break;
        case 'R': resume = optarg; break;
        case 't': trace = optarg; break;
        case 'j': json = 1; break;
        case 'h': help(stdout); return 0;
        case ':': return cli_usage_error("optimize", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("optimize", "unknown option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("optimize", "unexpected argument '%s'", argv[optind]);
    if (resume && fixed)
        return cli_usage_error("optimize", "--resume takes the problem, start, dtype, optimizer, schedule and "
                               "average from the checkpoint; drop %s", fixed);
    if (!optimizer && !resume) return cli_usage_error("optimize", "--optimizer is required, e.g. --optimizer 'adam(lr=1e-2)'");
    if (steps < 0) return cli_usage_error("optimize", "--steps is required");

    cli_run r = {.problem = problem, .optimizer = optimizer, .schedule = schedule, .dtype = dtype, .steps = steps,
                 .start = have_start ? start : NULL, .start_len = start_len, .save = save, .resume = resume,
                 .average = average};
    cli_out *tf = NULL;
    if (trace && cli_out_open("optimize", "--trace", trace, &tf)) return CLI_EXIT_FAIL;
    r.trace = tf ? cli_out_file(tf) : NULL;
    dsc_status st = cli_run_exec(&r);
    int rc = cli_out_close("optimize", tf, st == DSC_OK);
    if (st) {
        rc = cli_run_error("optimize", &r, st);
    } else if (!rc && json) {
        rc = print_json(&r, r.problem, r.optimizer, r.schedule);
    } else if (!rc) {
        printf("%s on %s, %s, %lld step%s: loss %.6g at ", r.optimizer, r.problem, dsc_dtype_name(r.dtype),
               (long long)steps, cli_s(steps), r.loss);
        print_point(r.x, r.dim);
        if (r.skipped)
            printf(", %lld step%s skipped (non-finite gradient)", (long long)r.skipped, cli_s(r.skipped));
        if (resume) printf(", resumed at step %lld", (long long)r.first_step);
        if (r.average) {
            printf("; %s: loss %.6g at ", r.average, r.avg_loss);
            print_point(r.avg_x, r.dim);
        }
        printf("\n");
    }
    cli_run_free(&r);
    return rc;
}
