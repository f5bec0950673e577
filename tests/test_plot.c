/* test_plot.c: the plot layer: what a figure must hold (validation and its messages),
 * the device chosen by extension, and the files written: valid PNG, SVG and PDF
 * (magic bytes) of plausible size, for a figure with a lines panel (log y) and a
 * contour panel with paths. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "descent_plot.h"
#include "plot/plot_internal.h"

#define N 200
#define G 41

typedef struct fixture {
    double loss[2][N], px[2][N], py[2][N], z[G * G], start[2], marks[2];
    dsc_plot_series lines[2], paths[2];
    dsc_plot_panel panels[2];
    dsc_plot_figure fig;
} fixture;

/* Two decaying curves, and two spirals into the minimum of a bowl. */
static void build(fixture *f)
{
    memset(f, 0, sizeof *f);
    for (int s = 0; s < 2; s++) {
        for (int i = 0; i < N; i++) {
            f->loss[s][i] = 10.0 * exp(-(s + 1) * 0.05 * i);
            double r = 1.5 * exp(-0.02 * i), a = 0.1 * i + s;
            f->px[s][i] = r * cos(a);
            f->py[s][i] = r * sin(a);
        }
        f->lines[s] = (dsc_plot_series){.label = s ? "fast" : "slow", .y = f->loss[s], .n = N};
        f->paths[s] = (dsc_plot_series){.label = f->lines[s].label, .x = f->px[s], .y = f->py[s], .n = N};
    }
    for (int j = 0; j < G; j++)
        for (int i = 0; i < G; i++) {
            double x = -2 + 4.0 * i / (G - 1), y = -2 + 4.0 * j / (G - 1);
            f->z[j * G + i] = x * x + 3 * y * y;
        }
    f->start[0] = f->px[0][0], f->start[1] = f->py[0][0];
    f->panels[0] = (dsc_plot_panel){.kind = DSC_PLOT_LINES, .title = "loss", .xlabel = "step",
                                    .ylabel = "f", .series = f->lines, .count = 2, .logy = 1};
    f->panels[1] = (dsc_plot_panel){.kind = DSC_PLOT_CONTOUR, .title = "paths", .series = f->paths,
                                    .count = 2, .z = f->z, .nx = G, .ny = G, .xmin = -2, .xmax = 2,
                                    .ymin = -2, .ymax = 2, .logz = 1, .start = f->start,
                                    .marks = f->marks, .nmarks = 1};
    f->fig = (dsc_plot_figure){.panels = f->panels, .count = 2, .width = 800, .height = 360};
}

static void expect_invalid(const dsc_plot_figure *fig, const char *needle)
{
    dsc_status st = dsc_plot_validate(fig);
    if (st != DSC_ERR_ARG) fail_msg("status %d, want DSC_ERR_ARG (%s)", st, dsc_last_error());
    if (!strstr(dsc_last_error(), needle)) fail_msg("message '%s' lacks '%s'", dsc_last_error(), needle);
}

static void test_validate(void **state)
{
    (void)state;
    fixture f;
    build(&f);
    assert_int_equal(dsc_plot_validate(&f.fig), DSC_OK);
    expect_invalid(NULL, "at least one panel");
    f.fig.count = 0;
    expect_invalid(&f.fig, "at least one panel");
    build(&f);
    f.lines[1].n = 0;
    expect_invalid(&f.fig, "panel 0 series 1 ('fast') has no points");
    build(&f);
    f.panels[1].nx = 1;
    expect_invalid(&f.fig, "contour panel 1 needs a grid of at least 2 x 2 values, got 1 x 41");
    build(&f);
    f.panels[1].xmax = -3;
    expect_invalid(&f.fig, "xmin < xmax");
    build(&f);
    f.paths[0].x = NULL;
    expect_invalid(&f.fig, "contour panel 1 path 0 needs x values");
    build(&f);
    f.fig.width = -1;
    expect_invalid(&f.fig, "width and height");
}

static void test_devices(void **state)
{
    (void)state;
    assert_string_equal(dsc_plot_device("a/b.png"), "pngcairo");
    assert_string_equal(dsc_plot_device("b.svg"), "svgcairo");
    assert_string_equal(dsc_plot_device("c.pdf"), "pdfcairo");
    assert_null(dsc_plot_device("d.jpg"));
    assert_null(dsc_plot_device("png"));
    assert_null(dsc_plot_device("dir.png/file"));
    fixture f;
    build(&f);
    assert_int_equal(dsc_plot_save(&f.fig, "figure.gif"), DSC_ERR_ARG);
    assert_non_null(strstr(dsc_last_error(), "must end in .png, .svg or .pdf, got 'figure.gif'"));
    assert_int_equal(dsc_plot_save(&f.fig, "/nonexistent-dir/f.png"), DSC_ERR_IO);
    assert_non_null(strstr(dsc_last_error(), "cannot write '/nonexistent-dir/f.png'"));
}

/* The file's first bytes and its size. */
static long read_head(const char *path, unsigned char *head, size_t cap)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) fail_msg("%s was not written", path);
    size_t got = fread(head, 1, cap, fp);
    if (got < 8) fail_msg("%s: only %zu bytes", path, got);
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fclose(fp);
    return size;
}

static void test_files(void **state)
{
    (void)state;
    char dir[] = "/tmp/dsc_plot_XXXXXX";
    assert_non_null(mkdtemp(dir));
    fixture f;
    build(&f);
    static const char *const ext[] = {"png", "svg", "pdf"};
    for (int k = 0; k < 3; k++) {
        char path[256];
        unsigned char head[1024] = {0};
        snprintf(path, sizeof path, "%s/figure.%s", dir, ext[k]);
        if (dsc_plot_save(&f.fig, path)) fail_msg("%s: %s", path, dsc_last_error());
        long size = read_head(path, head, sizeof head - 1);
        if (size < 5000 || size > 5000000) fail_msg("%s: implausible size %ld", path, size);
        if (k == 0) assert_memory_equal(head, "\x89PNG\r\n\x1a\n", 8);
        if (k == 1) assert_non_null(strstr((const char *)head, "<svg"));
        if (k == 2) assert_memory_equal(head, "%PDF-", 5);
        /* a PNG's IHDR holds the size asked for */
        if (k == 0) {
            unsigned w = (unsigned)head[16] << 24 | head[17] << 16 | head[18] << 8 | head[19];
            unsigned h = (unsigned)head[20] << 24 | head[21] << 16 | head[22] << 8 | head[23];
            assert_int_equal(w, 800);
            assert_int_equal(h, 360);
        }
        remove(path);
    }
    /* a lines-only figure with a linear axis and series of non-positive values */
    f.fig.count = 1;
    f.panels[0].logy = 0;
    f.loss[0][5] = -1;
    f.loss[1][7] = NAN;
    char path[256];
    snprintf(path, sizeof path, "%s/lines.png", dir);
    assert_int_equal(dsc_plot_save(&f.fig, path), DSC_OK);
    unsigned char head[32];
    assert_true(read_head(path, head, sizeof head) > 2000);
    remove(path);
    rmdir(dir);
}

/* Distance from (px, py) to the segment (ax, ay)-(bx, by). */
static double segment_distance(double px, double py, double ax, double ay, double bx, double by)
{
    double dx = bx - ax, dy = by - ay, len2 = dx * dx + dy * dy;
    double t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return hypot(px - ax - t * dx, py - ay - t * dy);
}

/* Largest distance from a point of polyline a (its vertices and `between` points on
 * each segment) to polyline b, all in pixels. */
static double farthest(const double *ax, const double *ay, size_t na, const double *bx, const double *by, size_t nb,
                       int between)
{
    double worst = 0;
    for (size_t i = 0; i < na; i++)
        for (int k = 0; k <= (i + 1 < na ? between : 0); k++) {
            double t = (double)k / (between + 1);
            double px = i + 1 < na ? ax[i] + t * (ax[i + 1] - ax[i]) : ax[i];
            double py = i + 1 < na ? ay[i] + t * (ay[i + 1] - ay[i]) : ay[i];
            double best = INFINITY;
            for (size_t j = 0; j + 1 < nb && best > 0; j++)
                best = fmin(best, segment_distance(px, py, bx[j], by[j], bx[j + 1], by[j + 1]));
            worst = fmax(worst, best);
        }
    return worst;
}

/* Thinning keeps a curve within the tolerance of the full one, both ways, keeps its
 * ends and its spikes, and keeps about two points per pixel of length: a loss curve of
 * 4000 steps across 500 pixels (a noisy slow decay with one spike), in pixel units. */
static void test_thin(void **state)
{
    (void)state;
    enum { M = 4000 };
    static double x[M], y[M], tx[M], ty[M];
    unsigned seed = 12345;
    for (size_t i = 0; i < M; i++) {
        seed = seed * 1103515245u + 12345u;
        double noise = ((seed >> 16) & 0x7fff) / 32768.0 - 0.5;
        x[i] = 500.0 * (double)i / (M - 1);
        y[i] = 300.0 * exp(-(double)i / 800.0) + (i < M / 2 ? 0.3 * noise : 0.01 * noise) + (i == 3000 ? 40 : 0);
        tx[i] = x[i], ty[i] = y[i];
    }
    const double tol = DSC__PLOT_THIN_PIXELS;
    size_t kept = dsc__plot_thin(tx, ty, M, 1.0, 1.0, tol);
    assert_true(kept > 2 && kept < M / 2);
    /* at most ~2 points per pixel column where the curve is flat (the noise of the
     * first half is below a pixel) */
    size_t late = 0;
    for (size_t i = 0; i < kept; i++) late += tx[i] > 400;
    assert_true(late <= 2 * 100 + 4); /* the spike at x = 375 lies before */
    assert_true(tx[0] == x[0] && ty[0] == y[0] && tx[kept - 1] == x[M - 1] && ty[kept - 1] == y[M - 1]);
    int spike = 0;
    for (size_t i = 0; i < kept; i++) spike |= ty[i] == y[3000];
    assert_true(spike);
    assert_true(farthest(x, y, M, tx, ty, kept, 0) <= tol + 1e-9);
    assert_true(farthest(tx, ty, kept, x, y, M, 3) <= tol + 1e-9);
    /* scales: the same curve in world units (steps, loss) thins the same */
    for (size_t i = 0; i < M; i++) tx[i] = x[i] * 8.0, ty[i] = y[i] / 4.0;
    assert_int_equal(dsc__plot_thin(tx, ty, M, 1.0 / 8.0, 4.0, tol), kept);
    /* two points and fewer are kept as they are */
    assert_int_equal(dsc__plot_thin(tx, ty, 2, 1.0, 1.0, tol), 2);
}

static void test_whole_ticks(void **state)
{
    (void)state;
    assert_true(dsc__plot_whole_tick(1, 3) == 1);
    assert_true(dsc__plot_whole_tick(1, 9) == 1);
    assert_true(dsc__plot_whole_tick(1, 12) == 2);
    assert_true(dsc__plot_whole_tick(0, 30) == 5);
    assert_true(dsc__plot_whole_tick(1, 100) == 20);
    assert_true(dsc__plot_whole_tick(0, 20000) == 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_files),
        cmocka_unit_test(test_thin),
        cmocka_unit_test(test_whole_ticks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
