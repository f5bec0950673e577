/* test_curve_figure.c: the figures of descent train --plot and descent schedule --plot.
 * First the figure built from a history or a rate sequence (src/cli/curve_figure.c):
 * every value handed to the plotter, the panels, titles and axes chosen. Then through
 * the command: each format written as a valid file of plausible size whose --json
 * description holds the series asked for (ends equal to the printed history and rates),
 * and descent demo leaving its five figures. */
#define _POSIX_C_SOURCE 200809L /* popen, mkdtemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/curve_figure.h"
#include "cli_run.h"

#define EPOCHS 6

/* A history with (val) or without validation: losses falling 10x an epoch. */
static dsc_history history(dsc_epoch *e, int val)
{
    for (int i = 0; i < EPOCHS; i++)
        e[i] = (dsc_epoch){.epoch = i + 1, .train_loss = 2 * pow(10, -i), .train_metric = 0.5 + 0.08 * i,
                           .val_loss = val ? 3 * pow(10, -i / 2.0) : NAN, .val_metric = val ? 0.4 + 0.07 * i : NAN};
    return (dsc_history){.count = EPOCHS, .epochs = e};
}

static void test_history_panels_hold_the_history(void **state)
{
    (void)state;
    dsc_epoch e[EPOCHS];
    dsc_history h = history(e, 1);
    curve_figure cf;
    assert_int_equal(curve_figure_history(&cf, &h, 1, 0, "data/digits.csv"), 0);
    assert_int_equal(cf.figure.count, 2);
    const dsc_plot_panel *loss = &cf.figure.panels[0], *acc = &cf.figure.panels[1];
    assert_string_equal(loss->title, "digits.csv: loss");
    assert_string_equal(acc->title, "digits.csv: accuracy");
    assert_string_equal(loss->ylabel, "cross-entropy");
    assert_true(loss->logy && !acc->logy); /* five decades of loss */
    assert_int_equal(loss->count, 2);
    assert_int_equal(acc->count, 2);
    const char *label[2] = {"train", "validation"};
    for (int s = 0; s < 2; s++) {
        assert_string_equal(loss->series[s].label, label[s]);
        assert_string_equal(acc->series[s].label, label[s]);
        assert_int_equal(loss->series[s].n, EPOCHS);
        for (int i = 0; i < EPOCHS; i++) {
            assert_true(loss->series[s].x[i] == i + 1 && acc->series[s].x[i] == i + 1);
            assert_true(loss->series[s].y[i] == (s ? e[i].val_loss : e[i].train_loss));
            assert_true(acc->series[s].y[i] == (s ? e[i].val_metric : e[i].train_metric));
        }
    }
    assert_int_equal(dsc_plot_validate(&cf.figure), DSC_OK);
    curve_figure_free(&cf);
}

/* With a weight average, its validation is a third curve in each panel. */
static void test_history_with_average(void **state)
{
    (void)state;
    dsc_epoch e[EPOCHS];
    dsc_history h = history(e, 1);
    for (int i = 0; i < EPOCHS; i++) e[i].avg_val_loss = 2.5 * pow(10, -i / 3.0), e[i].avg_val_metric = 0.45 + 0.06 * i;
    curve_figure cf;
    assert_int_equal(curve_figure_history(&cf, &h, 1, 1, "wine.csv"), 0);
    const dsc_plot_panel *loss = &cf.figure.panels[0], *acc = &cf.figure.panels[1];
    assert_int_equal(loss->count, 3);
    assert_int_equal(acc->count, 3);
    assert_string_equal(loss->series[1].label, "validation");
    assert_string_equal(loss->series[2].label, "validation, averaged");
    assert_string_equal(acc->series[2].label, "validation, averaged");
    for (int i = 0; i < EPOCHS; i++) {
        assert_true(loss->series[0].y[i] == e[i].train_loss && acc->series[0].y[i] == e[i].train_metric);
        assert_true(loss->series[2].y[i] == e[i].avg_val_loss && acc->series[2].y[i] == e[i].avg_val_metric);
        assert_true(acc->series[1].y[i] == e[i].val_metric && acc->series[2].x[i] == i + 1);
    }
    assert_int_equal(dsc_plot_validate(&cf.figure), DSC_OK);
    curve_figure_free(&cf);
}

/* No validation: one curve a panel. Regression: R^2, and a loss within a decade stays
 * on a linear axis. */
static void test_history_regression_without_validation(void **state)
{
    (void)state;
    dsc_epoch e[EPOCHS];
    dsc_history h = history(e, 0);
    for (int i = 0; i < EPOCHS; i++) e[i].train_loss = 1.0 - 0.1 * i;
    curve_figure cf;
    assert_int_equal(curve_figure_history(&cf, &h, 0, 1, "diabetes.csv"), 0); /* no validation: no average */
    assert_int_equal(cf.figure.panels[0].count, 1);
    assert_int_equal(cf.figure.panels[1].count, 1);
    assert_false(cf.figure.panels[0].logy);
    assert_string_equal(cf.figure.panels[1].title, "diabetes.csv: R#u2#d");
    assert_true(cf.figure.panels[0].series[0].y[EPOCHS - 1] == e[EPOCHS - 1].train_loss);
    curve_figure_free(&cf);
    h.count = 0;
    assert_int_equal(curve_figure_history(&cf, &h, 0, 0, "x.csv"), -1);
    curve_figure_free(&cf);
}

/* The axis: log for step and exponential decay, linear for a cosine annealing to 0
 * (decades in its last steps only) and for anything not positive. */
static void test_log_axis_choice(void **state)
{
    (void)state;
    enum { N = 1000 };
    static double cosine[N], expo[N], steps[N];
    for (int t = 0; t < N; t++) {
        cosine[t] = 0.05 * (1 + cos(acos(-1) * t / (N - 1))) + 1e-12;
        expo[t] = 0.1 * pow(0.99, t);
        steps[t] = 0.1 * pow(0.1, t / 300);
    }
    assert_false(curve_figure_wants_log(cosine, N, 2));
    assert_true(curve_figure_wants_log(expo, N, 2));
    assert_true(curve_figure_wants_log(steps, N, 2));
    assert_false(curve_figure_wants_log(steps, 600, 2)); /* 0.1 and 0.01: one decade */
    const double gap[] = {1, NAN, 1e-3, 1e-4}, zero[] = {1, 0, 1e-3, 1e-4};
    assert_true(curve_figure_wants_log(gap, 4, 2));
    assert_false(curve_figure_wants_log(zero, 4, 2));
}

static void test_schedule_figure(void **state)
{
    (void)state;
    const double lr[] = {0.1, 0.05, 0.025, 0.0125};
    curve_figure cf;
    assert_int_equal(curve_figure_schedule(&cf, lr, 4, 0.1, "step(step_size=1, gamma=0.5)"), 0);
    const dsc_plot_panel *p = &cf.figure.panels[0];
    assert_int_equal(cf.figure.count, 1);
    assert_int_equal(p->count, 1);
    assert_ptr_equal(p->series[0].y, lr);
    for (int i = 0; i < 4; i++) assert_true(p->series[0].x[i] == i + 1);
    assert_string_equal(p->title, "step(step_size=1, gamma=0.5)");
    assert_string_equal(p->ylabel, "learning rate (base 0.1)");
    assert_int_equal(cf.figure.width, 800);
    curve_figure_free(&cf);
}

/* A long spec wraps after commas onto at most three lines of 64 characters; the rest
 * is cut with "...". */
static void test_schedule_title_wraps(void **state)
{
    (void)state;
    const double lr[] = {1};
    const char *spec = "sequential(linear(start_factor=0.01, total_iters=50), cosine(T_max=950), milestones=[50])";
    curve_figure cf;
    assert_int_equal(curve_figure_schedule(&cf, lr, 1, 1, spec), 0);
    assert_string_equal(cf.figure.panels[0].title,
                        "sequential(linear(start_factor=0.01, total_iters=50),\ncosine(T_max=950), milestones=[50])");
    assert_true(cf.figure.width >= 800 && cf.figure.width <= 260 + 13 * 64);
    curve_figure_free(&cf);
    char longer[512] = "sequential(";
    for (int i = 0; i < 8; i++) strcat(longer, "cosine(T_max=10, eta_min=0.001), "); /* 299 characters */
    strcat(longer, "milestones=[10])");
    assert_int_equal(curve_figure_schedule(&cf, lr, 1, 1, longer), 0);
    const char *t = cf.figure.panels[0].title, *nl1 = strchr(t, '\n'), *nl2 = nl1 ? strchr(nl1 + 1, '\n') : NULL;
    assert_non_null(nl2);
    assert_null(strchr(nl2 + 1, '\n'));
    assert_true(nl1 - t <= 64 && nl2 - nl1 - 1 <= 64 && strlen(nl2 + 1) <= 64);
    assert_string_equal(t + strlen(t) - 3, "...");
    assert_memory_equal(t, longer, (size_t)(nl1 - t));
    curve_figure_free(&cf);
    assert_int_equal(curve_figure_schedule(&cf, lr, 0, 1, "cosine(T_max=1)"), -1);
    curve_figure_free(&cf);
}

/* ---- through the command ---- */

static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v)) fail_msg("no number '%s'", key);
    return v->valuedouble;
}

/* The file is a PNG, SVG or PDF (by its extension) of min_bytes to 5 MB. */
static void check_image(const char *path, long min_bytes)
{
    FILE *fp = fopen(path, "rb");
    if (!fp) fail_msg("%s was not written", path);
    char head[512] = {0};
    size_t got = fread(head, 1, sizeof head - 1, fp);
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fclose(fp);
    if (size < min_bytes || size > 5000000) fail_msg("%s: implausible size %ld", path, size);
    const char *ext = strrchr(path, '.') + 1;
    if (!strcmp(ext, "png")) assert_true(got >= 8 && !memcmp(head, "\x89PNG\r\n\x1a\n", 8));
    if (!strcmp(ext, "svg")) assert_non_null(strstr(head, "<svg"));
    if (!strcmp(ext, "pdf")) assert_true(got >= 5 && !memcmp(head, "%PDF-", 5));
}

/* A series of the --json description: its label, length and ends. */
static void check_series(const cJSON *s, const char *label, double n, double first, double last)
{
    assert_string_equal(cJSON_GetObjectItem(s, "label")->valuestring, label);
    assert_true(num(s, "n") == n);
    assert_true(num(s, "first_y") == first);
    assert_true(num(s, "last_y") == last);
    assert_true(num(s, "last_x") == n); /* epochs and steps count from 1 */
}

/* Runs check(path) with path a file name.png, .svg and .pdf in a fresh folder; each
 * file must then be a valid image of plausible size. */
static void each_format(const char *name, void (*check)(const char *path))
{
    char dir[] = "/tmp/dsc_curve_XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    static const char *const ext[] = {"png", "svg", "pdf"};
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/%s.%s", dir, name, ext[k]);
        check(path);
        check_image(path, 5000);
        remove(path);
    }
    rmdir(dir);
}

/* train --plot: two panels, train and validation in each, one point per epoch, ending
 * where the printed history ends. */
static void check_train_plot(const char *path)
{
    char args[1024];
    snprintf(args, sizeof args, "train --data %s/../data/iris.csv --layers 8 --epochs 7 --val-split 0.2 "
             "--seed 3 --quiet --plot %s --json", DSC_TEST_DATA, path);
    cJSON *o = cli_json(args);
    const cJSON *hist = cJSON_GetObjectItem(o, "history"), *plot = cJSON_GetObjectItem(o, "plot");
    const cJSON *first = cJSON_GetArrayItem(hist, 0), *last = cJSON_GetArrayItem(hist, 6);
    assert_int_equal(cJSON_GetArraySize(hist), 7);
    assert_string_equal(cJSON_GetObjectItem(plot, "file")->valuestring, path);
    const cJSON *panels = cJSON_GetObjectItem(plot, "panels");
    assert_int_equal(cJSON_GetArraySize(panels), 2);
    static const char *const key[2][2] = {{"train_loss", "val_loss"}, {"train_accuracy", "val_accuracy"}};
    for (int p = 0; p < 2; p++) {
        const cJSON *series = cJSON_GetObjectItem(cJSON_GetArrayItem(panels, p), "series");
        assert_int_equal(cJSON_GetArraySize(series), 2);
        for (int s = 0; s < 2; s++)
            check_series(cJSON_GetArrayItem(series, s), s ? "validation" : "train", 7, num(first, key[p][s]),
                         num(last, key[p][s]));
    }
    cJSON_Delete(o);
}

/* schedule --plot: one series, the printed rates, at steps 1..N, on a linear axis
 * (one-cycle's last steps alone span decades). */
static void check_schedule_plot(const char *path)
{
    char args[1024];
    snprintf(args, sizeof args, "schedule --schedule 'onecycle(max_lr=0.1, total_steps=200)' --lr 0.01 "
             "--steps 200 --plot %s --json", path);
    cJSON *o = cli_json(args);
    const cJSON *lr = cJSON_GetObjectItem(o, "lr"), *plot = cJSON_GetObjectItem(o, "plot");
    assert_int_equal(cJSON_GetArraySize(lr), 200);
    const cJSON *panel = cJSON_GetArrayItem(cJSON_GetObjectItem(plot, "panels"), 0);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(panel, "logy")));
    const cJSON *series = cJSON_GetObjectItem(panel, "series");
    assert_int_equal(cJSON_GetArraySize(series), 1);
    check_series(cJSON_GetArrayItem(series, 0), "", 200, cJSON_GetArrayItem(lr, 0)->valuedouble,
                 cJSON_GetArrayItem(lr, 199)->valuedouble);
    cJSON_Delete(o);
}

static void test_train_plot_files(void **state)
{
    (void)state;
    each_format("history", check_train_plot);
}

static void test_schedule_plot_files(void **state)
{
    (void)state;
    each_format("schedule", check_schedule_plot);
}

/* descent demo --out DIR (run from the repository root, as make demo does): the
 * five figures, the digits test accuracies (the CNN's at least 0.98, the seeds'
 * experiment), and where each figure went. */
static void test_demo_figures(void **state)
{
    (void)state;
    char dir[] = "/tmp/dsc_demo_XXXXXX", args[512], path[512], line[600];
    assert_non_null(mkdtemp(dir));
    char root[512];
    snprintf(root, sizeof root, "%s/..", DSC_TEST_DATA);
    assert_int_equal(chdir(root), 0);
    snprintf(args, sizeof args, "demo --out %s", dir);
    int rc;
    const char *out = cli_run(args, &rc);
    assert_int_equal(rc, 0);
    static const char *const fig[] = {"rosenbrock.png", "gaussians.png", "newer.png", "digits_history.png",
                                       "digits_cnn_history.png"};
    for (int k = 0; k < 5; k++) {
        snprintf(path, sizeof path, "%s/%s", dir, fig[k]);
        snprintf(line, sizeof line, "figure: %s\n", path);
        if (!strstr(out, line)) fail_msg("the demo did not print '%s'", line);
        check_image(path, 20000);
        remove(path);
    }
    /* the digits network generalises: a test accuracy well above chance */
    const char *test = strstr(out, "\ntest ");
    double loss, acc;
    assert_non_null(test);
    assert_int_equal(sscanf(test, " test %lf %lf", &loss, &acc), 2);
    assert_true(acc > 0.9 && acc <= 1);
    test = strstr(test + 1, "\ntest ");
    assert_non_null(test);
    assert_int_equal(sscanf(test, " test %lf %lf", &loss, &acc), 2);
    if (!(acc >= 0.98 && acc <= 1)) fail_msg("the CNN's test accuracy is %g", acc);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_history_panels_hold_the_history),
        cmocka_unit_test(test_history_regression_without_validation),
        cmocka_unit_test(test_history_with_average),
        cmocka_unit_test(test_log_axis_choice),
        cmocka_unit_test(test_schedule_figure),
        cmocka_unit_test(test_schedule_title_wraps),
        cmocka_unit_test(test_train_plot_files),
        cmocka_unit_test(test_schedule_plot_files),
        cmocka_unit_test(test_demo_figures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
