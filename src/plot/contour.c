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
#define LINE_STRIDE 2

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

/* Grid index (i, j) of the line grid to world coordinates, for plcont. */
static void line_grid_to_world(PLFLT i, PLFLT j, PLFLT *x, PLFLT *y, PLPointer data)
{
    const dsc_plot_panel *p = data;
    *x = p->xmin + (p->xmax - p->xmin) * i * LINE_STRIDE / (double)(p->nx - 1);
    *y = p->ymin + (p->ymax - p->ymin) * j * LINE_STRIDE / (double)(p->ny - 1);
}

/* The level lines, from every LINE_STRIDE-th grid point: PLplot draws them a segment
 * per cell, each its own path in an SVG or PDF, so the full grid would cost
 * thousands of paths for lines that look the same. */
static void level_lines(const dsc_plot_panel *p, PLFLT **grid, const PLFLT *levels, int count)
{
    PLINT nx = (PLINT)((p->nx - 1) / LINE_STRIDE + 1), ny = (PLINT)((p->ny - 1) / LINE_STRIDE + 1);
    PLFLT **coarse;
    plAlloc2dGrid(&coarse, nx, ny);
    for (PLINT i = 0; i < nx; i++)
        for (PLINT j = 0; j < ny; j++) coarse[i][j] = grid[i * LINE_STRIDE][j * LINE_STRIDE];
    plcol0(DSC__PLOT_CONTOUR);
    plwidth(0.5);
    plcont((PLFLT_MATRIX)coarse, nx, ny, 1, nx, 1, ny, levels, count, line_grid_to_world, (PLPointer)p);
    plwidth(1.0);
    plFree2dGrid(coarse, nx, ny);
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
    PLFLT levels[NLEVELS - 1]; /* between the bands */
    for (int k = 1; k < NLEVELS; k++) levels[k - 1] = lo + (hi - lo) * k / NLEVELS;
    dsc__plot_frame(p, p->xmin, p->xmax, p->ymin, p->ymax, 0.96);
    /* the shading, one image (not a polygon per cell and level): each value drawn as
     * the middle of its band, a value that is not finite as the top band */
    PLFLT **shade;
    plAlloc2dGrid(&shade, (PLINT)p->nx, (PLINT)p->ny);
    for (size_t i = 0; i < p->nx; i++)
        for (size_t j = 0; j < p->ny; j++) {
            double k = isfinite(grid[i][j]) ? floor((grid[i][j] - lo) / (hi - lo) * NLEVELS) : NLEVELS;
            shade[i][j] = lo + (hi - lo) * (fmin(k, NLEVELS - 1) + 0.5) / NLEVELS;
        }
    set_colormap();
    plimagefr((PLFLT_MATRIX)shade, (PLINT)p->nx, (PLINT)p->ny, p->xmin, p->xmax, p->ymin, p->ymax, lo, hi, lo, hi,
              NULL, NULL);
    plFree2dGrid(shade, (PLINT)p->nx, (PLINT)p->ny);
    level_lines(p, grid, levels, NLEVELS - 1);
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
