/* lines.c: a panel of curves (loss against step, learning rate against step, ...). */
#include "plot_internal.h"

#include <math.h>
#include <plplot.h>

/* The range of the usable values of all series on one axis; log10 on a log axis. */
static void range(const dsc_plot_panel *p, int axis_y, double *lo, double *hi)
{
    int logv = axis_y ? p->logy : p->logx;
    *lo = INFINITY, *hi = -INFINITY;
    for (size_t s = 0; s < p->count; s++)
        for (size_t i = 0; i < p->series[s].n; i++) {
            const dsc_plot_series *ser = &p->series[s];
            double v = axis_y ? ser->y[i] : (ser->x ? ser->x[i] : (double)i);
            if (!dsc__plot_usable(v, logv)) continue;
            v = logv ? log10(v) : v;
            *lo = fmin(*lo, v), *hi = fmax(*hi, v);
        }
    if (!(*lo <= *hi)) *lo = 0, *hi = 1;
    if (logv) { /* whole decades read best */
        *lo = floor(*lo), *hi = ceil(*hi);
    } else if (axis_y) { /* a margin above and below the curves */
        double pad = 0.05 * (*hi - *lo);
        *lo -= pad, *hi += pad;
    }
    if (*hi - *lo < 1e-12 * fmax(1.0, fabs(*hi))) *lo -= 0.5, *hi += 0.5;
}

void dsc__plot_lines(const dsc_plot_panel *p)
{
    double xmin, xmax, ymin, ymax;
    range(p, 0, &xmin, &xmax);
    range(p, 1, &ymin, &ymax);
    dsc__plot_frame(p, xmin, xmax, ymin, ymax);
    for (size_t s = 0; s < p->count; s++) {
        plcol0(dsc__plot_color(s));
        plwidth(2.0);
        dsc__plot_polyline(&p->series[s], p->logx, p->logy);
    }
    plwidth(1.0);
    /* curves fall from the top left: the bottom left is the emptiest corner of a
     * decreasing curve's panel, the top right of an increasing one's */
    dsc__plot_legend(p->series, p->count, p->legend_top ? PL_POSITION_TOP | PL_POSITION_RIGHT
                                                          : PL_POSITION_BOTTOM | PL_POSITION_LEFT);
}
