/* figure.h: the figure of a comparison (figure.c), shared by compare and demo. */
#ifndef DSC_CLI_FIGURE_H
#define DSC_CLI_FIGURE_H

#include "cli.h"
#include "descent_plot.h"

#include <cjson/cJSON.h>

#define CLI_FIGURE_MAX_RUNS 16
#define CLI_FIGURE_MAX_MARKS 8

typedef struct cli_figure {
    const char *problem;
    const char *const *labels;
    dsc_plot_series loss[CLI_FIGURE_MAX_RUNS], paths[CLI_FIGURE_MAX_RUNS];
    dsc_plot_panel panels[2];
    dsc_plot_figure figure;
    double *curves; /* the loss panel's y values, runs x (steps + 1) */
    double *z;      /* the contour grid */
    double start[2], marks[2 * CLI_FIGURE_MAX_MARKS];
    size_t nmarks;
    char loss_title[160], path_title[160];
} cli_figure;

/* Builds the figure of count runs made with record set (same problem pb, named by its
 * spec problem, and same steps); labels name them in the legend. pb is evaluated only
 * for the contour of a 2-D problem. -1 when out of memory. */
int cli_figure_build(cli_figure *cf, const char *problem, const dsc_problem *pb, const char *const *labels,
                     const cli_run *runs, size_t count);
void cli_figure_free(cli_figure *cf);

/* What the figure holds, for --json: per panel its kind and per series its label,
 * length and first and last values. */
cJSON *cli_figure_json(const dsc_plot_figure *fig, const char *file);

#endif
