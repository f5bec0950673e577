/*
 * contour.c: a filled contour of a function on a grid, with optimizer paths over
 * it, the start as a dot and the minima as stars. Levels are even in log10(z - min z)
 * when asked, so that the floor of a narrow valley (Rosenbrock's) shows.
 */
#include "plot_internal.h"

#include <math.h>
#include <plplot.h>
#include <stdlib.h>

#define NLEVELS 24

/* Pale yellow (low) through pale green to light steel blue (high): light enough that
 * paths in saturated colours stay visible on every shade. */
static void set_colormap(void)
{
    PLFLT pos[3] = {0.0, 0.5, 1.0};
    PLFLT r[3] = {1.00, 0.80, 0.62}, g[3] = {0.98, 0.91, 0.72}, b[3] = {0.80, 0.82, 0.88};
    plscmap1n(256);
    plscmap1l(1, 3, pos, r, g, b, NULL);
}

/* log10 of the height above the floor, offset so the lowest levels span about four
 * decades below the range instead of dozens. */
static double level_value(const dsc_plot_panel *p, double v, double zmin, double zspan)
{
    return p->logz ? log10(v - zmin + 1e-4 * zspan + 1e-300) : v;
}

void dsc__plot_contour(const dsc_plot_panel *p)
{
    PLFLT **grid;
    plAlloc2dGrid(&grid, (PLINT)p->nx, (PLINT)p->ny);
    double zmin = INFINITY, zmax = -INFINITY, lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < p->nx * p->ny; i++)
        if (isfinite(p->z[i])) zmin = fmin(zmin, p->z[i]), zmax = fmax(zmax, p->z[i]);
    for (size_t j = 0; j < p->ny; j++)
        for (size_t i = 0; i < p->nx; i++) {
            double v = level_value(p, p->z[j * p->nx + i], zmin, zmax - zmin);
            grid[i][j] = v;
            if (isfinite(v)) lo = fmin(lo, v), hi = fmax(hi, v);
        }
    if (!(hi > lo)) hi = lo + 1;
    PLFLT levels[NLEVELS + 1];
    for (int k = 0; k <= NLEVELS; k++) levels[k] = lo + (hi - lo) * k / NLEVELS;
    dsc__plot_frame(p, p->xmin, p->xmax, p->ymin, p->ymax, 0.96);
    set_colormap();
    plshades((PLFLT_MATRIX)grid, (PLINT)p->nx, (PLINT)p->ny, NULL, p->xmin, p->xmax, p->ymin, p->ymax, levels,
             NLEVELS + 1, 0, DSC__PLOT_CONTOUR, 0.5, plfill, 1, NULL, NULL);
    plFree2dGrid(grid, (PLINT)p->nx, (PLINT)p->ny);
    plcol0(DSC__PLOT_INK);
    plbox("bcst", 0, 0, "bcst", 0, 0); /* the shades covered the ticks */
    for (size_t s = 0; s < p->count; s++) {
        plcol0(dsc__plot_color(s));
        plwidth(2.0);
        dsc__plot_polyline(&p->series[s], 0, 0);
    }
    plwidth(1.0);
    plcol0(DSC__PLOT_INK);
    plschr(0, 1.3);
    for (size_t m = 0; m < p->nmarks; m++) plstring(1, &p->marks[2 * m], &p->marks[2 * m + 1], "★");
    plschr(0, 0.9);
    if (p->start) plstring(1, &p->start[0], &p->start[1], "●");
    plschr(0, 0.8); /* no legend: the loss panel beside it has the same colours */
}
