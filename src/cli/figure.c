/*
 * figure.c: the figure of a comparison, as plain data for the plot layer: the gap
 * to the minimum (or the loss) against step for every run, on a log axis where it
 * can be, and for 2-D problems the paths over a contour of the function, with the
 * start and the minima marked. --json describes the same data (cli_figure_json), so
 * a test sees what was drawn without reading pixels.
 */
#include "figure.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GRID 201

/* y of the loss panel: f - f* when the minimum is known, else f. A gap below the
 * rounding of f* is drawn at that rounding level: the run has arrived. */
static int fill_losses(cli_figure *cf, const cli_run *runs, size_t count)
{
    size_t rows = (size_t)runs[0].steps + 1;
    cf->curves = malloc(count * rows * sizeof *cf->curves);
    if (!cf->curves) return -1;
    int known = isfinite(runs[0].fstar), positive = 1;
    for (size_t r = 0; r < count; r++)
        for (size_t i = 0; i < rows; i++) {
            double v = runs[r].losses[i] - (known ? runs[r].fstar : 0.0);
            if (known) v = fmax(v, DBL_EPSILON * fmax(1.0, fabs(runs[r].fstar)));
            cf->curves[r * rows + i] = v;
            if (!(v > 0) && isfinite(v) && !known) positive = 0;
        }
    for (size_t r = 0; r < count; r++)
        cf->loss[r] = (dsc_plot_series){.label = cf->labels[r], .y = &cf->curves[r * rows], .n = rows};
    cf->panels[0] = (dsc_plot_panel){
        .kind = DSC_PLOT_LINES, .title = cf->loss_title, .xlabel = "step", .xwhole = 1,
        .ylabel = known ? "f(x) - f*" : "f(x)", .series = cf->loss, .count = count, .logy = known || positive};
    snprintf(cf->loss_title, sizeof cf->loss_title, "%s: %s", cf->problem,
             known ? "gap to the minimum" : "loss");
    return 0;
}

static void grow(double *lo, double *hi, double v)
{
    if (isfinite(v)) *lo = fmin(*lo, v), *hi = fmax(*hi, v);
}

/* The box of the start, the minima near it and the paths, with a margin; paths that
 * run far away (divergence) do not stretch it past a few times the start's scale. */
static void bounds(cli_figure *cf, const cli_run *runs, size_t count, double box[4])
{
    double core[4] = {cf->start[0], cf->start[0], cf->start[1], cf->start[1]};
    for (size_t m = 0; m < cf->nmarks; m++) {
        grow(&core[0], &core[1], cf->marks[2 * m]);
        grow(&core[2], &core[3], cf->marks[2 * m + 1]);
    }
    double span = fmax(fmax(core[1] - core[0], core[3] - core[2]), 1.0);
    memcpy(box, core, sizeof core);
    for (size_t r = 0; r < count; r++)
        for (size_t i = 0; i <= (size_t)runs[r].steps; i++) {
            double x = runs[r].path[i], y = runs[r].path[runs[r].steps + 1 + i];
            if (fabs(x - cf->start[0]) < 3 * span && fabs(y - cf->start[1]) < 3 * span) {
                grow(&box[0], &box[1], x);
                grow(&box[2], &box[3], y);
            }
        }
    for (int a = 0; a < 2; a++) {
        double pad = 0.15 * fmax(box[2 * a + 1] - box[2 * a], 0.5);
        box[2 * a] -= pad, box[2 * a + 1] += pad;
    }
}

/* Every known minimum is marked (Himmelblau's four, the mixture's four wells). */
static void collect_marks(cli_figure *cf, const dsc_problem *pb)
{
    size_t known = dsc_problem_minima_count(pb);
    cf->nmarks = 0;
    for (size_t k = 0; k < known && cf->nmarks < CLI_FIGURE_MAX_MARKS; k++)
        dsc_problem_minimum_k(pb, k, &cf->marks[2 * cf->nmarks++], NULL);
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Log-spaced levels when walls dwarf the floor (most of the grid lies in the lowest
 * 5 % of the range: Rosenbrock's valley), even ones otherwise (the mixture's wells on
 * a plateau). */
static int wants_log_levels(const double *z, size_t n)
{
    double *sorted = malloc(n * sizeof *sorted);
    if (!sorted) return 1;
    memcpy(sorted, z, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, by_value);
    double lo = sorted[0], mid = sorted[n / 2], hi = sorted[n - 1];
    free(sorted);
    return mid - lo < 0.05 * (hi - lo);
}

static int fill_contour(cli_figure *cf, const dsc_problem *pb, const cli_run *runs, size_t count)
{
    double box[4];
    dsc_problem_start(pb, cf->start);
    if (runs[0].path) cf->start[0] = runs[0].path[0], cf->start[1] = runs[0].path[runs[0].steps + 1];
    collect_marks(cf, pb);
    bounds(cf, runs, count, box);
    cf->z = malloc(GRID * GRID * sizeof *cf->z);
    if (!cf->z) return -1;
    for (size_t j = 0; j < GRID; j++)
        for (size_t i = 0; i < GRID; i++) {
            double p[2] = {box[0] + (box[1] - box[0]) * (double)i / (GRID - 1),
                           box[2] + (box[3] - box[2]) * (double)j / (GRID - 1)};
            cf->z[j * GRID + i] = dsc_problem_eval(pb, p, NULL);
        }
    size_t rows = (size_t)runs[0].steps + 1;
    for (size_t r = 0; r < count; r++)
        cf->paths[r] = (dsc_plot_series){.label = cf->labels[r], .x = runs[r].path,
                                         .y = runs[r].path + rows, .n = rows};
    snprintf(cf->path_title, sizeof cf->path_title, "%s: paths from (%g, %g)", cf->problem, cf->start[0],
             cf->start[1]);
    cf->panels[1] = (dsc_plot_panel){
        .kind = DSC_PLOT_CONTOUR, .title = cf->path_title, .xlabel = "x#d1", .ylabel = "x#d2",
        .series = cf->paths, .count = count, .z = cf->z, .nx = GRID, .ny = GRID, .xmin = box[0],
        .xmax = box[1], .ymin = box[2], .ymax = box[3], .logz = wants_log_levels(cf->z, GRID * GRID),
        .start = cf->start,
        .marks = cf->marks, .nmarks = cf->nmarks};
    return 0;
}

int cli_figure_build(cli_figure *cf, const char *problem, const dsc_problem *pb, const char *const *labels,
                     const cli_run *runs, size_t count)
{
    memset(cf, 0, sizeof *cf);
    cf->problem = problem;
    cf->labels = labels;
    if (count == 0 || count > CLI_FIGURE_MAX_RUNS) return -1;
    int rc = fill_losses(cf, runs, count);
    cf->figure = (dsc_plot_figure){.panels = cf->panels, .count = 1};
    if (!rc && runs[0].path) { /* 2-D: the contour, the only part that evaluates pb */
        rc = fill_contour(cf, pb, runs, count);
        cf->figure.count = 2;
    }
    return rc;
}

void cli_figure_free(cli_figure *cf)
{
    free(cf->curves);
    free(cf->z);
    cf->curves = cf->z = NULL;
}

static cJSON *series_json(const dsc_plot_series *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "label", s->label ? s->label : "");
    cJSON_AddNumberToObject(o, "n", (double)s->n);
    const double *last_x = s->x ? &s->x[s->n - 1] : NULL;
    if (last_x) cJSON_AddNumberToObject(o, "last_x", *last_x);
    cli_add_number(o, "last_y", s->y[s->n - 1]);
    cli_add_number(o, "first_y", s->y[0]);
    return o;
}

cJSON *cli_figure_json(const dsc_plot_figure *fig, const char *file)
{
    cJSON *o = cJSON_CreateObject(), *panels = cJSON_AddArrayToObject(o, "panels");
    cJSON_AddStringToObject(o, "file", file);
    for (size_t k = 0; k < fig->count; k++) {
        const dsc_plot_panel *p = &fig->panels[k];
        cJSON *po = cJSON_CreateObject(), *series = cJSON_CreateArray();
        cJSON_AddStringToObject(po, "kind", p->kind == DSC_PLOT_LINES ? "lines" : "contour");
        cJSON_AddStringToObject(po, "title", p->title ? p->title : "");
        cJSON_AddBoolToObject(po, "logy", p->logy);
        if (p->kind == DSC_PLOT_CONTOUR) {
            cJSON_AddNumberToObject(po, "nx", (double)p->nx);
            cJSON_AddNumberToObject(po, "ny", (double)p->ny);
            cJSON_AddNumberToObject(po, "marks", (double)p->nmarks);
        }
        for (size_t s = 0; s < p->count; s++) cli_json_add(series, NULL, series_json(&p->series[s]));
        cli_json_add(po, "series", series);
        cli_json_add(panels, NULL, po);
    }
    return o;
}
