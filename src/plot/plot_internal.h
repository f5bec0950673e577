/* plot_internal.h: what the files of the plot layer share. */
#ifndef DSC_PLOT_INTERNAL_H
#define DSC_PLOT_INTERNAL_H

#include "descent_plot.h"
#include "../core/internal.h"

/* cmap0 indices set by plot.c: white background, black ink, grey grid lines, contour
 * lines, the legend's veil, then the series colours (cycled). */
#define DSC__PLOT_BG 0
#define DSC__PLOT_INK 1
#define DSC__PLOT_GRID 2
#define DSC__PLOT_CONTOUR 3
#define DSC__PLOT_VEIL 4 /* translucent white behind legends: curves show through */
#define DSC__PLOT_FIRST 5
#define DSC__PLOT_NCOLORS 10

int dsc__plot_color(size_t series); /* frame.c */

/* Whether y (and x) of a point may be drawn on the panel's axes. */
int dsc__plot_usable(double v, int log_axis);

/* Thins a polyline in place to what a page resolves: a point closer than tol to the
 * last point kept is dropped (the first and last points stay). Distances are in
 * pixels, x and y scaled by xscale and yscale. Every point of the full line lies
 * within tol of the thinned one and the other way round (a dropped run stays inside
 * the disc of radius tol about the point kept before it), so the two draw the same.
 * Returns the number of points kept. */
size_t dsc__plot_thin(double *x, double *y, size_t n, double xscale, double yscale, double tol);
#define DSC__PLOT_THIN_PIXELS 0.5

/* The spacing of ticks at whole numbers: the first of 1, 2, 5, 10, 20, 50, ... that
 * puts at most DSC__PLOT_MAX_WHOLE_TICKS intervals on [lo, hi] (PLplot's own choice
 * may be 0.5, an epoch that does not exist). */
double dsc__plot_whole_tick(double lo, double hi);
#define DSC__PLOT_MAX_WHOLE_TICKS 8

/* Draws one series as polylines broken at unusable points, in log10 where asked,
 * thinned by dsc__plot_thin. */
void dsc__plot_polyline(const dsc_plot_series *s, int logx, int logy);

/* The viewport for a panel (room for labels, its right edge at right in [0, 1] of
 * the subpage) and its title and axis labels. */
void dsc__plot_frame(const dsc_plot_panel *p, double xmin, double xmax, double ymin, double ymax, double right);

/* A legend of the labelled series at position (PL_POSITION_*): inside the viewport,
 * or beside it when position has PL_POSITION_OUTSIDE. */
void dsc__plot_legend(const dsc_plot_series *series, size_t count, int position);

void dsc__plot_lines(const dsc_plot_panel *p);
void dsc__plot_contour(const dsc_plot_panel *p);

#endif
