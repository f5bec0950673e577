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

int dsc__plot_color(size_t series);

/* Whether y (and x) of a point may be drawn on the panel's axes. */
int dsc__plot_usable(double v, int log_axis);

/* Draws one series as polylines broken at unusable points, in log10 where asked. */
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
