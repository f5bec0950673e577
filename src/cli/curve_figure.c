/*
 * curve_figure.c: figures of quantities against epoch or step. A training history
 * draws as two panels with matching colours (train blue, validation orange, and the
 * validation at a weight average third), the loss on a log axis when it falls by more than a decade; a schedule's rates draw on
 * a log axis when they span more than two decades and a linear axis would flatten
 * many of them along its bottom (step or exponential decay).
 */
#include "curve_figure.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int curve_figure_wants_log(const double *y, size_t n, double decades)
{
    double lo = INFINITY, hi = 0;
    size_t m = 0, low = 0;
    for (size_t i = 0; i < n; i++) {
        if (isnan(y[i])) continue;
        if (!(y[i] > 0) || !isfinite(y[i])) return 0;
        lo = fmin(lo, y[i]), hi = fmax(hi, y[i]), m++;
    }
    if (!(hi > 0) || !(log10(hi / lo) > decades)) return 0;
    /* only when many points would sit flat along the bottom of a linear axis: a cosine
     * annealing to 0 spans decades in its last steps alone, and reads best linear */
    for (size_t i = 0; i < n; i++) low += !isnan(y[i]) && y[i] < lo + 0.1 * (hi - lo);
    return (double)low >= 0.3 * (double)m;
}

/* The file name without its directories, for titles. */
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

int curve_figure_history(curve_figure *cf, const dsc_history *h, int classify, int average, const char *name)
{
    memset(cf, 0, sizeof *cf);
    size_t n = h->count;
    if (n == 0 || !(cf->data = malloc(7 * n * sizeof *cf->data))) return -1;
    /* columns: epoch; train, validation and averaged validation loss; the same metrics */
    double *x = cf->data, *col = cf->data + n;
    int val = 0;
    for (size_t i = 0; i < n; i++) {
        const dsc_epoch *e = &h->epochs[i];
        x[i] = (double)e->epoch;
        col[i] = e->train_loss, col[n + i] = e->val_loss, col[2 * n + i] = e->avg_val_loss;
        col[3 * n + i] = e->train_metric, col[4 * n + i] = e->val_metric, col[5 * n + i] = e->avg_val_metric;
        val |= !isnan(e->val_loss);
    }
    static const char *const labels[3] = {"train", "validation", "validation, averaged"};
    for (size_t k = 0; k < 6; k++)
        cf->series[k] = (dsc_plot_series){.label = labels[k % 3], .x = x, .y = col + k * n, .n = n};
    /* the averaged weights are validated only with validation data */
    size_t per = val ? 2 + (average != 0) : 1;
    const char *metric = classify ? "accuracy" : "R#u2#d";
    snprintf(cf->titles[0], sizeof cf->titles[0], "%s: loss", base_name(name));
    snprintf(cf->titles[1], sizeof cf->titles[1], "%s: %s", base_name(name), metric);
    cf->panels[0] = (dsc_plot_panel){.kind = DSC_PLOT_LINES, .title = cf->titles[0], .xlabel = "epoch", .xwhole = 1,
                                     .ylabel = classify ? "cross-entropy" : "MSE (standardized target)",
                                     .series = &cf->series[0], .count = per,
                                     .logy = curve_figure_wants_log(col, per * n, 1)};
    cf->panels[1] = (dsc_plot_panel){.kind = DSC_PLOT_LINES, .title = cf->titles[1], .xlabel = "epoch", .xwhole = 1,
                                     .ylabel = metric, .series = &cf->series[3], .count = per};
    cf->figure = (dsc_plot_figure){.panels = cf->panels, .count = 2};
    return 0;
}

/* The spec as a title of at most TITLE_LINES lines of TITLE_WIDTH characters, each
 * broken after a comma where one is (else mid-word); what is left over ends in "...".
 * Returns the longest line's length. */
enum { TITLE_WIDTH = 64, TITLE_LINES = 3 };

static size_t wrap_title(char *out, size_t cap, const char *spec)
{
    size_t used = 0, longest = 0;
    for (int line = 0; *spec && line < TITLE_LINES; line++) {
        size_t len = strlen(spec), take = len;
        if (len > TITLE_WIDTH) {
            take = TITLE_WIDTH;
            for (size_t i = TITLE_WIDTH; i > TITLE_WIDTH / 2; i--)
                if (spec[i - 1] == ',') { take = i; break; }
        }
        int more = take < len, cut = more && line == TITLE_LINES - 1;
        if (cut) take = TITLE_WIDTH - 3;
        used += (size_t)snprintf(out + used, cap - used, "%s%.*s%s", line ? "\n" : "", (int)take, spec,
                                 cut ? "..." : "");
        longest = take + 3 * (size_t)cut > longest ? take + 3 * (size_t)cut : longest;
        spec += take;
        while (*spec == ' ') spec++;
        if (used >= cap) break;
    }
    return longest;
}

int curve_figure_schedule(curve_figure *cf, const double *lr, size_t n, double base, const char *spec)
{
    memset(cf, 0, sizeof *cf);
    if (n == 0 || !(cf->data = malloc(n * sizeof *cf->data))) return -1;
    for (size_t i = 0; i < n; i++) cf->data[i] = (double)(i + 1);
    cf->series[0] = (dsc_plot_series){.x = cf->data, .y = lr, .n = n};
    size_t longest = wrap_title(cf->titles[0], sizeof cf->titles[0], spec);
    snprintf(cf->titles[1], sizeof cf->titles[1], "learning rate (base %g)", base);
    cf->panels[0] = (dsc_plot_panel){.kind = DSC_PLOT_LINES, .title = cf->titles[0], .xlabel = "step", .xwhole = 1,
                                     .ylabel = cf->titles[1], .series = cf->series, .count = 1,
                                     .logy = curve_figure_wants_log(lr, n, 2)};
    /* about 12.5 px a character, the title centred over the axes (right of the labels) */
    double width = fmax(800, 260 + 12.5 * (double)longest);
    cf->figure = (dsc_plot_figure){.panels = cf->panels, .count = 1, .width = (int)width, .height = 520};
    return 0;
}

void curve_figure_free(curve_figure *cf)
{
    free(cf->data);
    cf->data = NULL;
}
