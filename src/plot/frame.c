/* frame.c: what every panel draws: the viewport and axes, polylines, the legend, the
 * series colours. */
#include "plot_internal.h"

#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The series colours cycle through the palette plot.c sets. */
int dsc__plot_color(size_t series) { return DSC__PLOT_FIRST + (int)(series % DSC__PLOT_NCOLORS); }

int dsc__plot_usable(double v, int log_axis) { return isfinite(v) && (!log_axis || v > 0); }

size_t dsc__plot_thin(double *x, double *y, size_t n, double xscale, double yscale, double tol)
{
    if (n <= 2) return n;
    size_t kept = 1; /* the first point stays */
    for (size_t i = 1; i + 1 < n; i++) {
        double dx = (x[i] - x[kept - 1]) * xscale, dy = (y[i] - y[kept - 1]) * yscale;
        if (dx * dx + dy * dy < tol * tol) continue;
        x[kept] = x[i], y[kept] = y[i];
        kept++;
    }
    x[kept] = x[n - 1], y[kept] = y[n - 1]; /* and the last */
    return kept + 1;
}

/* Pixels per world unit of the current viewport along x and y. */
static void pixel_scale(double *xscale, double *yscale)
{
    PLFLT xp, yp, vx0, vx1, vy0, vy1, wx0, wx1, wy0, wy1;
    PLINT xlen, ylen, xoff, yoff;
    plgpage(&xp, &yp, &xlen, &ylen, &xoff, &yoff);
    plgvpd(&vx0, &vx1, &vy0, &vy1);
    plgvpw(&wx0, &wx1, &wy0, &wy1);
    *xscale = (vx1 - vx0) * (double)xlen / fabs(wx1 - wx0);
    *yscale = (vy1 - vy0) * (double)ylen / fabs(wy1 - wy0);
}

/* One unbroken run of points, thinned to what the page resolves. */
static void draw_run(PLFLT *px, PLFLT *py, size_t run)
{
    double xs, ys;
    pixel_scale(&xs, &ys);
    if (isfinite(xs) && isfinite(ys)) run = dsc__plot_thin(px, py, run, xs, ys, DSC__PLOT_THIN_PIXELS);
    plline((PLINT)run, px, py);
}

void dsc__plot_polyline(const dsc_plot_series *s, int logx, int logy)
{
    PLFLT *px = malloc(s->n * sizeof *px), *py = malloc(s->n * sizeof *py);
    if (!px || !py) {
        free(px);
        free(py);
        return;
    }
    size_t run = 0;
    for (size_t i = 0; i <= s->n; i++) {
        double x = i < s->n ? (s->x ? s->x[i] : (double)i) : NAN, y = i < s->n ? s->y[i] : NAN;
        if (i < s->n && dsc__plot_usable(x, logx) && dsc__plot_usable(y, logy)) {
            px[run] = logx ? log10(x) : x;
            py[run] = logy ? log10(y) : y;
            run++;
            continue;
        }
        if (run > 1) draw_run(px, py, run);
        else if (run == 1) plstring(1, px, py, "•"); /* a lone point stays visible */
        run = 0;
    }
    free(px);
    free(py);
}

/* Log axes are drawn on log10 values with labels 10^k at whole k only, and major
 * ticks every so many decades, so long ranges do not crowd the labels. */
static void label_decade(PLINT axis, PLFLT value, char *label, PLINT length, PLPointer data)
{
    (void)axis;
    (void)data;
    if (fabs(value - round(value)) < 1e-9) snprintf(label, (size_t)length, "10#u%d#d", (int)round(value));
    else label[0] = '\0';
}

static double log_tick(int log_axis, double lo, double hi)
{
    if (!log_axis) return 0;
    double decades = hi - lo;
    return decades <= 7 ? 1 : ceil(decades / 7);
}

double dsc__plot_whole_tick(double lo, double hi)
{
    static const double mantissa[3] = {1, 2, 5};
    for (double decade = 1; decade < 1e15; decade *= 10)
        for (int k = 0; k < 3; k++)
            if ((hi - lo) / (mantissa[k] * decade) <= DSC__PLOT_MAX_WHOLE_TICKS) return mantissa[k] * decade;
    return 0;
}

/* Lines of a title (split at '\n'), the last just above the axes. */
static size_t title_lines(const char *title)
{
    size_t n = 1;
    for (const char *c = title; *c; c++) n += *c == '\n';
    return n;
}

static void draw_title(const char *title)
{
    size_t lines = title_lines(title), k = 0;
    char line[512];
    for (const char *c = title;; k++) {
        size_t len = strcspn(c, "\n");
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), c);
        plmtex("t", 1.0 + 1.25 * (double)(lines - 1 - k), 0.5, 0.5, line);
        if (!c[len]) break;
        c += len + 1;
    }
}

void dsc__plot_frame(const dsc_plot_panel *p, double xmin, double xmax, double ymin, double ymax, double right)
{
    double xt = log_tick(p->logx, xmin, xmax), yt = log_tick(p->logy, ymin, ymax);
    int xsub = p->logx ? 1 : 0;
    if (p->xwhole && !p->logx) {
        xt = dsc__plot_whole_tick(xmin, xmax);
        xsub = xt <= 2 || xt == 5 ? (int)xt : 0; /* minor ticks at whole numbers too */
    }
    /* whole numbers up to 7 digits as they are: no "(x10^4)" beside the last label */
    plsxax(7, 0);
    plslabelfunc(label_decade, NULL);
    plschr(0, 0.8);
    /* each title line past the first takes its height off the top of the axes */
    plvpor(0.15, right, 0.13, 0.90 - 0.05 * (double)(title_lines(p->title ? p->title : "") - 1));
    plwind(xmin, xmax, ymin, ymax);
    plcol0(DSC__PLOT_GRID);
    plwidth(0.5);
    plbox("g", xt, 0, "g", yt, 0);
    plcol0(DSC__PLOT_INK);
    plwidth(1.0);
    plbox(p->logx ? "bcnsto" : "bcnst", xt, xsub, p->logy ? "bcnstvo" : "bcnstv", yt, p->logy ? 1 : 0);
    plschr(0, 0.95);
    plmtex("b", 2.6, 0.5, 0.5, p->xlabel ? p->xlabel : "");
    plmtex("l", p->logy ? 4.6 : 4.0, 0.5, 0.5, p->ylabel ? p->ylabel : "");
    plschr(0, 1.1);
    draw_title(p->title ? p->title : "");
    plschr(0, 0.8);
}

void dsc__plot_legend(const dsc_plot_series *series, size_t count, int position)
{
    enum { MAX = 32 };
    PLINT opts[MAX], colors[MAX], styles[MAX], ink[MAX];
    PLFLT widths[MAX];
    const char *text[MAX];
    PLINT n = 0;
    for (size_t i = 0; i < count && n < MAX; i++) {
        if (!series[i].label) continue;
        opts[n] = PL_LEGEND_LINE;
        colors[n] = dsc__plot_color(i);
        styles[n] = 1;
        widths[n] = 2.5;
        ink[n] = DSC__PLOT_INK;
        text[n] = series[i].label;
        n++;
    }
    if (!n) return;
    PLFLT lw, lh;
    int inside = !(position & PL_POSITION_OUTSIDE);
    pllegend(&lw, &lh, PL_LEGEND_BACKGROUND | PL_LEGEND_BOUNDING_BOX, position | (inside ? PL_POSITION_INSIDE : 0),
             inside ? 0.02 : 0.015, 0.02, 0.05, DSC__PLOT_VEIL, DSC__PLOT_GRID, 1, 0, 0, n, opts, 0.6, 0.75, 1.8, 0.0, ink,
             (PLCHAR_MATRIX)text, NULL, NULL, NULL, NULL, colors, styles, widths, NULL, NULL, NULL, NULL);
}
