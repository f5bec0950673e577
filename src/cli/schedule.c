/*
 * schedule.c: descent schedule --schedule SPEC --lr BASE --steps N [--losses FILE] [--plot FILE] [--json]
 * Prints the learning rate used at steps 1..N; loss-driven kinds read the loss observed
 * after each step from FILE (one per line; N-1 are needed). --plot draws the same rates.
 */
#include "cli.h"
#include "../core/internal.h" /* dsc__read_whole_file */
#include "curve_figure.h"
#include "figure.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STEPS INT64_C(10000000)

static void help(FILE *f)
{
    fprintf(f,
            "usage: descent schedule --schedule SPEC --lr BASE --steps N [--losses FILE]\n"
            "                        [--plot FILE.png|.svg|.pdf] [--json]\n"
            "  --schedule  spec, e.g. 'cosine(T_max=100)' or\n"
            "              'sequential(linear(start_factor=0.1, total_iters=5), cosine(T_max=95), milestones=[5])'\n"
            "  --lr        base learning rate (> 0)\n"
            "  --steps     number of steps (1 to 10000000)\n"
            "  --losses    file with the loss after each step, one per line (plateau, king)\n"
            "  --plot      draw the rate against step (log axis when it spans over two decades)\n"
            "  --json      print {\"lr\": [...]} on stdout (with --plot, what was drawn under \"plot\")\n"
            "kinds: step multistep exponential cosine cosine_restarts linear constant polynomial\n"
            "       onecycle cyclic plateau sequential noam exponential_stages king\n");
}

/* Reads one number per line (blank lines skipped) with the project's one file reader:
 * a regular file only (a FIFO or /dev/zero is refused, not waited on or read forever),
 * and no NUL bytes (which would end a number early: "2\0003" is not 2). */
static int read_losses(const char *path, double **out, size_t *count)
{
    unsigned char *buf;
    size_t len;
    dsc_status st = dsc__read_whole_file("schedule", path, &buf, &len);
    if (st) return cli_usage_error("schedule", "cannot read --losses file: %s", dsc_last_error());
    const char *text = (const char *)buf, *end = text + len, *nul = memchr(text, '\0', len);
    size_t lines = 1, n = 0, lineno = 0;
    for (const char *p = text; p < end; p++) lines += *p == '\n';
    if (nul) {
        size_t at = 1;
        for (const char *p = text; p < nul; p++) at += *p == '\n';
        free(buf);
        return cli_usage_error("schedule", "line %zu of '%s' holds a NUL byte", at, path);
    }
    double *v = malloc(lines * sizeof *v);
    int rc = v ? 0 : cli_fail("schedule", "out of memory reading '%s'", path);
    for (const char *p = text; !rc && p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;
        char num[64], *stop;
        lineno++;
        while (p < e && (*p == ' ' || *p == '\t')) p++;
        while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
        if (p < e) {
            size_t k = (size_t)(e - p);
            if (k < sizeof num) {
                memcpy(num, p, k);
                num[k] = '\0';
                v[n] = strtod(num, &stop);
            }
            if (k >= sizeof num || stop != num + k)
                rc = cli_usage_error("schedule", "line %zu of '%s' is not a number", lineno, path);
            n++;
        }
        p = nl ? nl + 1 : end;
    }
    free(buf);
    if (rc) {
        free(v);
        return rc;
    }
    *out = v;
    *count = n;
    return 0;
}

/* The rates of steps 1..n into lr; fails like the library does (onecycle's end). */
static int compute(dsc_sched *s, int64_t n, const double *losses, double *lr)
{
    for (int64_t t = 0; t < n; t++) {
        lr[t] = dsc_sched_lr(s);
        if (t + 1 == n) break;
        dsc_status st = losses ? dsc_sched_step_loss(s, losses[t]) : dsc_sched_step(s);
        if (st) return cli_lib_error("schedule", st);
    }
    return 0;
}

/* Draws the rates; their description for --json into *desc. */
static int draw(const char *path, const double *lr, int64_t n, double base, const char *spec, int json, cJSON **desc)
{
    curve_figure cf;
    if (curve_figure_schedule(&cf, lr, (size_t)n, base, spec)) {
        curve_figure_free(&cf);
        return cli_fail("schedule", "out of memory drawing '%s'", path);
    }
    dsc_status st = dsc_plot_save(&cf.figure, path);
    if (!st && json) *desc = cli_figure_json(&cf.figure, path);
    curve_figure_free(&cf);
    return st ? cli_lib_error("schedule", st) : 0;
}

static int print(const double *lr, int64_t n, int json, cJSON *plot)
{
    if (!json) {
        for (int64_t t = 0; t < n; t++) printf("%lld %.17g\n", (long long)t + 1, lr[t]);
        return 0;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON *a = cJSON_CreateDoubleArray(lr, (int)n);
    if (!o || !a) { cJSON_Delete(o); cJSON_Delete(a); cJSON_Delete(plot); return cli_fail("schedule", "out of memory"); }
    cli_json_add(o, "lr", a);
    if (plot) cli_json_add(o, "plot", plot);
    return cli_print_json("schedule", o);
}

int cmd_schedule(int argc, char **argv)
{
    static const struct option opts[] = {
        {"schedule", required_argument, 0, 's'}, {"lr", required_argument, 0, 'l'},
        {"steps", required_argument, 0, 'n'},    {"losses", required_argument, 0, 'L'},
        {"json", no_argument, 0, 'j'},           {"help", no_argument, 0, 'h'},
        {"plot", required_argument, 0, 'P'},
        {0, 0, 0, 0},
    };
    const char *spec = NULL, *loss_path = NULL, *plot = NULL;
    double base = NAN;
    int64_t steps = -1;
    int json = 0, c;
    size_t nb;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 's': spec = optarg; break;
        case 'l':
            if (cli_parse_doubles(optarg, &base, 1, &nb) || !(base >= 0))
                return cli_usage_error("schedule", "--lr must be a number >= 0, got '%s'", optarg);
            break;
        case 'n':
            if (cli_parse_int64(optarg, 1, MAX_STEPS, &steps))
                return cli_usage_error("schedule", "--steps must be an integer in [1, %lld], got '%s'",
                                       (long long)MAX_STEPS, optarg);
            break;
        case 'L': loss_path = optarg; break;
        case 'P': plot = optarg; break;
        case 'j': json = 1; break;
        case 'h': help(stdout); return 0;
        case ':': return cli_usage_error("schedule", "option '%s' needs a value", argv[optind - 1]);
        default: return cli_usage_error("schedule", "unknown option '%s' (see --help)", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("schedule", "unexpected argument '%s'", argv[optind]);
    if (!spec) return cli_usage_error("schedule", "--schedule is required, e.g. --schedule 'cosine(T_max=100)'");
    if (isnan(base)) return cli_usage_error("schedule", "--lr is required");
    if (steps < 0) return cli_usage_error("schedule", "--steps is required");
    int rc = plot ? cli_check_plot("schedule", plot) : 0;
    if (rc) return rc;
    dsc_sched *s = NULL;
    dsc_status st = dsc_sched_create(&s, spec, base);
    if (st) return cli_lib_error("schedule", st);
    double *losses = NULL, *lr = NULL;
    size_t nloss = 0;
    if (loss_path) rc = read_losses(loss_path, &losses, &nloss);
    else if (dsc_sched_needs_loss(s))
        rc = cli_usage_error("schedule", "%s needs the loss of every step: give --losses FILE", spec);
    if (!rc && losses && nloss < (size_t)(steps - 1))
        rc = cli_usage_error("schedule", "--losses has %zu value%s, %lld steps need %lld (one per step but "
                             "the last)", nloss, cli_s((long long)nloss), (long long)steps, (long long)steps - 1);
    if (!rc && !(lr = malloc((size_t)steps * sizeof *lr))) rc = cli_fail("schedule", "out of memory");
    if (!rc) rc = compute(s, steps, losses, lr);
    cJSON *desc = NULL;
    if (!rc && plot) rc = draw(plot, lr, steps, base, spec, json, &desc);
    if (!rc) rc = print(lr, steps, json, desc);
    free(lr);
    free(losses);
    dsc_sched_destroy(s);
    return rc;
}
