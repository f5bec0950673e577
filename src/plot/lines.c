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

/* The corner of the viewport the curves cross least, for the legend: the share of
 * points inside a box of the legend's rough size in each corner. */
static int legend_corner(const dsc_plot_panel *p, const double win[4])
{
    static const int corners[4] = {PL_POSITION_BOTTOM | PL_POSITION_LEFT, PL_POSITION_TOP | PL_POSITION_RIGHT,
                                   PL_POSITION_TOP | PL_POSITION_LEFT, PL_POSITION_BOTTOM | PL_POSITION_RIGHT};
    double w = 0.55, h = fmin(0.9, 0.07 * (double)p->count + 0.05);
    size_t hits[4] = {0, 0, 0, 0};
    for (size_t s = 0; s < p->count; s++)
        for (size_t i = 0; i < p->series[s].n; i++) {
            const dsc_plot_series *ser = &p->series[s];
            double x = ser->x ? ser->x[i] : (double)i, y = ser->y[i];
            if (!dsc__plot_usable(x, p->logx) || !dsc__plot_usable(y, p->logy)) continue;
            double u = ((p->logx ? log10(x) : x) - win[0]) / (win[1] - win[0]);
            double v = ((p->logy ? log10(y) : y) - win[2]) / (win[3] - win[2]);
            hits[0] += u < w && v < h;
            hits[1] += u > 1 - w && v > 1 - h;
            hits[2] += u < w && v > 1 - h;
            hits[3] += u > 1 - w && v < h;
        }
    int best = 0;
    for (int c = 1; c < 4; c++)
        if (hits[c] < hits[best]) best = c;
    return corners[best];
}

void dsc__plot_lines(const dsc_plot_panel *p)
{
    double xmin, xmax, ymin, ymax;
    range(p, 0, &xmin, &xmax);
    range(p, 1, &ymin, &ymax);
    /* many series (a path's features): the legend beside the panel, not over it */
    size_t labelled = 0;
    for (size_t s = 0; s < p->count; s++) labelled += p->series[s].label != NULL;
    int beside = labelled > 6;
    dsc__plot_frame(p, xmin, xmax, ymin, ymax, beside ? 0.80 : 0.96);
    for (size_t s = 0; s < p->count; s++) {
        plcol0(dsc__plot_color(s));
        plwidth(2.0);
        dsc__plot_polyline(&p->series[s], p->logx, p->logy);
    }
    plwidth(1.0);
    double win[4] = {xmin, xmax, ymin, ymax};
    dsc__plot_legend(p->series, p->count,
                     beside ? PL_POSITION_RIGHT | PL_POSITION_OUTSIDE : legend_corner(p, win));
}
