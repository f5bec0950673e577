/* SPDX-License-Identifier: MIT (see LICENSE); part of descent. */
/*
 * descent_plot.h: figures of optimizer runs (loss curves, trajectories over a
 * contour, training histories, schedules) written as PNG, SVG or PDF through PLplot's
 * cairo driver. A figure is plain data (panels of series), so a caller or a test can
 * inspect exactly what is drawn; dsc_plot_save draws it. A separate library
 * (libdescent_plot) so that libdescent itself keeps no PLplot dependency.
 *
 * PLplot keeps global state: draw one figure at a time (not from two threads at once).
 */
#ifndef DESCENT_PLOT_H
#define DESCENT_PLOT_H

#include "descent.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The legend of a lines panel goes in the corner the curves cross least. */

/* One curve: n points (x[i], y[i]); x NULL means 0, 1, ..., n-1 (steps). Points
 * that are not finite, or not positive on a log axis, break the line. */
typedef struct dsc_plot_series {
    const char *label; /* legend text; NULL: not in the legend */
    const double *x;
    const double *y;
    size_t n;
} dsc_plot_series;

typedef enum dsc_plot_kind {
    DSC_PLOT_LINES = 0,  /* series as lines, optionally on log axes */
    DSC_PLOT_CONTOUR = 1 /* a filled contour of z with series as paths over it */
} dsc_plot_kind;

typedef struct dsc_plot_panel {
    dsc_plot_kind kind;
    const char *title, *xlabel, *ylabel; /* a title may hold '\n': more lines */
    const dsc_plot_series *series; /* lines, or paths over the contour */
    size_t count;
    int logx, logy;                /* lines: log10 axes */
    /* contour: z[j * nx + i] is the value at (xmin + i (xmax - xmin) / (nx - 1), ymin + j ...) */
    const double *z;
    size_t nx, ny;
    double xmin, xmax, ymin, ymax;
    int logz;              /* shade levels evenly in log10(z - min z) (valleys show) */
    const double *start;   /* NULL or the (x, y) where the paths start: a dot */
    const double *marks;   /* nmarks (x, y) pairs: minima, drawn as stars */
    size_t nmarks;
} dsc_plot_panel;

typedef struct dsc_plot_figure {
    const dsc_plot_panel *panels; /* side by side, left to right */
    size_t count;
    int width, height;            /* pixels (points for SVG/PDF); 0: 640 per panel x 520 */
} dsc_plot_figure;

/* Checks what dsc_plot_save would draw: counts, lengths, NULLs, grid extents.
 * DSC_ERR_ARG with a message naming the panel and series. */
dsc_status dsc_plot_validate(const dsc_plot_figure *fig);

/* Draws fig into path; the format follows the extension (.png, .svg, .pdf).
 * DSC_ERR_ARG for another extension or an invalid figure, DSC_ERR_IO when the file
 * cannot be written. */
dsc_status dsc_plot_save(const dsc_plot_figure *fig, const char *path);

/* The device name for path ("pngcairo", "svgcairo", "pdfcairo"), NULL if none. */
const char *dsc_plot_device(const char *path);

#ifdef __cplusplus
}
#endif
#endif
