/* curve_figure.h: the figures of descent train --plot (the training history) and
 * descent schedule --plot (the learning rate against step), as plain data for the
 * plot layer (curve_figure.c); a test reads every value drawn from the struct. */
#ifndef DSC_CLI_CURVE_FIGURE_H
#define DSC_CLI_CURVE_FIGURE_H

#include "descent_nn.h"
#include "descent_plot.h"

typedef struct curve_figure {
    double *data; /* x, then the y columns (malloc'd) */
    dsc_plot_series series[6];
    dsc_plot_panel panels[2];
    dsc_plot_figure figure;
    char titles[2][256]; /* the schedule's title: up to 3 lines of 64 */
} curve_figure;

/* Left: the loss against epoch (train, and validation when the fit had it, and with
 * average the validation at the weight average); right: accuracy, or R^2 for
 * regression. name (the data file) heads the titles. -1 when out of memory or the
 * history is empty. */
int curve_figure_history(curve_figure *cf, const dsc_history *h, int classify, int average, const char *name);

/* One panel: lr[0..n) at steps 1..n, titled by the schedule's spec (wrapped after
 * commas onto up to three lines) and base rate.
 * -1 when out of memory or n is 0. */
int curve_figure_schedule(curve_figure *cf, const double *lr, size_t n, double base, const char *spec);

void curve_figure_free(curve_figure *cf);

/* 1 when every y but NaNs (no validation) is positive and finite, they span more than
 * decades powers of ten, and at least 30 % of them lie in the bottom tenth of their
 * linear range: a log axis reads better. */
int curve_figure_wants_log(const double *y, size_t n, double decades);

#endif
