/*
 * plot.c: figures to files. Picks the cairo device from the extension, sets a white
 * page with a fixed palette, draws each panel into its own subpage, and checks
 * everything first, because PLplot ends the process on errors it cannot recover from
 * (a file it cannot open): nothing reaches PLplot that could make it do so.
 */
#include "plot_internal.h"

#include <math.h>
#include <plplot.h>
#include <stdio.h>
#include <string.h>

/* Colour-blind-friendly series colours (Okabe-Ito, then darker tones). */
static const unsigned char palette[DSC__PLOT_NCOLORS][3] = {
    {0, 114, 178},  {213, 94, 0},   {0, 158, 115}, {204, 121, 167}, {230, 159, 0},
    {86, 180, 233}, {120, 60, 160}, {60, 60, 60},  {170, 170, 0},   {160, 40, 40},
};

static const char *extension(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot && !strchr(dot, '/') ? dot + 1 : "";
}

const char *dsc_plot_device(const char *path)
{
    if (!path) return NULL;
    const char *ext = extension(path);
    if (!strcmp(ext, "png")) return "pngcairo";
    if (!strcmp(ext, "svg")) return "svgcairo";
    if (!strcmp(ext, "pdf")) return "pdfcairo";
    return NULL;
}

static dsc_status check_series(const dsc_plot_series *s, size_t count, size_t panel)
{
    if (count && !s) return dsc__fail(DSC_ERR_ARG, "plot: panel %zu has %zu series but no array", panel, count);
    for (size_t i = 0; i < count; i++) {
        if (!s[i].y || s[i].n == 0)
            return dsc__fail(DSC_ERR_ARG, "plot: panel %zu series %zu ('%s') has no points", panel, i,
                             s[i].label ? s[i].label : "");
        if (s[i].n > 2147483647u)
            return dsc__fail(DSC_ERR_ARG, "plot: panel %zu series %zu has too many points (%zu)", panel, i, s[i].n);
    }
    return DSC_OK;
}

static dsc_status check_contour(const dsc_plot_panel *p, size_t panel)
{
    if (!p->z || p->nx < 2 || p->ny < 2)
        return dsc__fail(DSC_ERR_ARG, "plot: contour panel %zu needs a grid of at least 2 x 2 values, got %zu x %zu",
                         panel, p->nx, p->ny);
    if (!(p->xmax > p->xmin) || !(p->ymax > p->ymin))
        return dsc__fail(DSC_ERR_ARG, "plot: contour panel %zu needs xmin < xmax and ymin < ymax", panel);
    if (p->nmarks && !p->marks) return dsc__fail(DSC_ERR_ARG, "plot: contour panel %zu has marks but no array", panel);
    for (size_t i = 0; i < p->count; i++)
        if (!p->series[i].x)
            return dsc__fail(DSC_ERR_ARG, "plot: contour panel %zu path %zu needs x values", panel, i);
    return DSC_OK;
}

dsc_status dsc_plot_validate(const dsc_plot_figure *fig)
{
    if (!fig || !fig->panels || fig->count == 0)
        return dsc__fail(DSC_ERR_ARG, "plot: a figure needs at least one panel");
    if (fig->width < 0 || fig->height < 0 || fig->width > 20000 || fig->height > 20000)
        return dsc__fail(DSC_ERR_ARG, "plot: width and height must be in [0, 20000], got %d x %d", fig->width,
                         fig->height);
    for (size_t k = 0; k < fig->count; k++) {
        const dsc_plot_panel *p = &fig->panels[k];
        if (p->kind != DSC_PLOT_LINES && p->kind != DSC_PLOT_CONTOUR)
            return dsc__fail(DSC_ERR_ARG, "plot: panel %zu has an unknown kind %d", k, (int)p->kind);
        dsc_status st = check_series(p->series, p->count, k);
        if (!st && p->kind == DSC_PLOT_CONTOUR) st = check_contour(p, k);
        if (st) return st;
    }
    return DSC_OK;
}

static void set_palette(void)
{
    plscol0(DSC__PLOT_BG, 255, 255, 255);
    plscol0(DSC__PLOT_INK, 0, 0, 0);
    plscol0(DSC__PLOT_GRID, 210, 210, 210);
    plscol0(DSC__PLOT_CONTOUR, 150, 150, 150);
    plscol0a(DSC__PLOT_VEIL, 255, 255, 255, 0.8);
    for (int i = 0; i < DSC__PLOT_NCOLORS; i++)
        plscol0(DSC__PLOT_FIRST + i, palette[i][0], palette[i][1], palette[i][2]);
}

/* PLplot reports recoverable trouble through this; the figure still gets written. */
static void on_abort(const char *msg) { fprintf(stderr, "plot: %s\n", msg); }

/* Whether the file at path ends as a complete file of its format does: cairo writes
 * the trailer last, so a write that failed part-way (a full disk) leaves none. */
static int complete(const char *path, const char *dev)
{
    static const unsigned char png_end[] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
    const char *end = !strcmp(dev, "pngcairo") ? (const char *)png_end
                      : !strcmp(dev, "svgcairo") ? "</svg>\n" : "%%EOF\n";
    size_t n = !strcmp(dev, "pngcairo") ? sizeof png_end : strlen(end);
    unsigned char tail[16];
    FILE *f = fopen(path, "rb");
    int ok = f && fseek(f, -(long)n, SEEK_END) == 0 && fread(tail, 1, n, f) == n && !memcmp(tail, end, n);
    if (f) fclose(f);
    return ok;
}

dsc_status dsc_plot_save(const dsc_plot_figure *fig, const char *path)
{
    const char *dev = dsc_plot_device(path);
    if (!dev)
        return dsc__fail(DSC_ERR_ARG, "plot: file name must end in .png, .svg or .pdf, got '%s'", path ? path : "(null)");
    dsc_status st = dsc_plot_validate(fig);
    if (st) return st;
    /* PLplot draws into a temporary that exists (it ends the process on a file it
     * cannot open); the figure replaces path only once it is complete */
    dsc__outfile out;
    if ((st = dsc__outfile_open("plot", path, &out))) return st;
    fclose(out.f);
    out.f = NULL;
    int w = fig->width ? fig->width : 640 * (int)fig->count, h = fig->height ? fig->height : 520;
    plsabort(on_abort);
    plsdev(dev);
    plsfnam(out.tmp);
    plspage(0, 0, w, h, 0, 0);
    plscmap0n(DSC__PLOT_FIRST + DSC__PLOT_NCOLORS);
    set_palette();
    plssub((PLINT)fig->count, 1);
    plinit();
    plfontld(1);
    /* one text size whatever the page and panel count (PLplot scales it with both) */
    plschr(5.5, 1.0);
    for (size_t k = 0; k < fig->count; k++) {
        pladv(0);
        if (fig->panels[k].kind == DSC_PLOT_LINES) dsc__plot_lines(&fig->panels[k]);
        else dsc__plot_contour(&fig->panels[k]);
    }
    plend();
    if (!complete(out.tmp, dev)) {
        dsc__outfile_finish("plot", &out, 0);
        return dsc__fail(DSC_ERR_IO, "plot: cannot write '%.256s': the figure is incomplete (is the disk full?)",
                         path);
    }
    return dsc__outfile_finish("plot", &out, 1);
}
