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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_validate),
        cmocka_unit_test(test_devices),
        cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
