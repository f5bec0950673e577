/* test_compare.c: descent compare against descent optimize. Every row of the
 * comparison must be the run optimize makes alone (same loss and point, to the bit),
 * its distance and steps-to-tolerance must agree with the point and the minimum, and
 * the figure must hold what was asked: one series per optimizer, steps + 1 points
 * each, ending at the run's gap and point, in a valid PNG. */
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
#include <unistd.h>

#include "cli_run.h"


static double num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v)) fail_msg("no number '%s'", key);
    return v->valuedouble;
}

static const char *const specs[] = {"sgd(lr=1e-3)", "sgd(lr=1e-3, momentum=0.9)", "rmsprop(lr=1e-2, alpha=0.9)",
                                    "adam(lr=1e-2)"};
#define NSPECS 4

static void check_row(const cJSON *row, const char *problem, const char *dtype, int steps)
{
    const char *spec = cJSON_GetObjectItem(row, "optimizer")->valuestring;
    char args[512];
    snprintf(args, sizeof args, "optimize --problem '%s' --steps %d --dtype %s --optimizer '%s' --json", problem,
             steps, dtype, spec);
    cJSON *alone = cli_json(args);
    if (num(row, "loss") != num(alone, "loss"))
        fail_msg("%s: compare loss %.17g, optimize %.17g", spec, num(row, "loss"), num(alone, "loss"));
    const cJSON *x = cJSON_GetObjectItem(row, "x"), *xa = cJSON_GetObjectItem(alone, "x");
    assert_int_equal(cJSON_GetArraySize(x), cJSON_GetArraySize(xa));
    for (int i = 0; i < cJSON_GetArraySize(x); i++)
        if (cJSON_GetArrayItem(x, i)->valuedouble != cJSON_GetArrayItem(xa, i)->valuedouble)
            fail_msg("%s: x[%d] differs", spec, i);
    cJSON_Delete(alone);
}

static void test_rosenbrock_table_is_optimize(void **state)
{
    (void)state;
    char dir[] = "/tmp/dsc_compare_XXXXXX", args[1024];
    assert_non_null(mkdtemp(dir));
    snprintf(args, sizeof args,
             "compare --problem rosenbrock --steps 3000 --optimizer '%s' --optimizer '%s' --optimizer '%s' "
             "--optimizer '%s' --plot %s/cmp.png --json",
             specs[0], specs[1], specs[2], specs[3], dir);
    cJSON *o = cli_json(args);
    assert_true(num(o, "fstar") == 0);
    const cJSON *runs = cJSON_GetObjectItem(o, "runs");
    assert_int_equal(cJSON_GetArraySize(runs), NSPECS);
    for (int r = 0; r < NSPECS; r++) {
        const cJSON *row = cJSON_GetArrayItem(runs, r);
        assert_string_equal(cJSON_GetObjectItem(row, "optimizer")->valuestring, specs[r]);
        check_row(row, "rosenbrock", "f64", 3000);
        const cJSON *x = cJSON_GetObjectItem(row, "x");
        double x0 = cJSON_GetArrayItem(x, 0)->valuedouble, x1 = cJSON_GetArrayItem(x, 1)->valuedouble;
        assert_float_equal(num(row, "distance"), hypot(x0 - 1, x1 - 1), 1e-15);
        /* steps to 1e-6 never come before steps to 1e-3, and a run that reached 1e-6
         * ends there (momentum does, by 3000 steps) */
        const cJSON *s3 = cJSON_GetObjectItem(row, "steps_to_1e-3"), *s6 = cJSON_GetObjectItem(row, "steps_to_1e-6");
        if (cJSON_IsNumber(s6)) assert_true(cJSON_IsNumber(s3) && s3->valuedouble <= s6->valuedouble);
        if (r == 1) assert_true(cJSON_IsNumber(s6) && num(row, "loss") < 1e-6);
        if (r == 0) assert_true(cJSON_IsNull(s3) && num(row, "loss") > 1e-3);
    }
    /* the figure: a loss panel and a contour panel, one series per optimizer */
    const cJSON *plot = cJSON_GetObjectItem(o, "plot"), *panels = cJSON_GetObjectItem(plot, "panels");
    assert_int_equal(cJSON_GetArraySize(panels), 2);
    const cJSON *lines = cJSON_GetArrayItem(panels, 0), *contour = cJSON_GetArrayItem(panels, 1);
    assert_string_equal(cJSON_GetObjectItem(lines, "kind")->valuestring, "lines");
    assert_string_equal(cJSON_GetObjectItem(contour, "kind")->valuestring, "contour");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(lines, "logy")));
    assert_true(num(contour, "marks") == 1);
    for (int r = 0; r < NSPECS; r++) {
        const cJSON *row = cJSON_GetArrayItem(runs, r);
        const cJSON *ls = cJSON_GetArrayItem(cJSON_GetObjectItem(lines, "series"), r);
        const cJSON *cs = cJSON_GetArrayItem(cJSON_GetObjectItem(contour, "series"), r);
        assert_string_equal(cJSON_GetObjectItem(ls, "label")->valuestring, specs[r]);
        assert_true(num(ls, "n") == 3001 && num(cs, "n") == 3001);
        assert_true(num(ls, "first_y") == 312.5); /* f(-1.5, 0.5) - 0 */
        assert_true(num(ls, "last_y") == num(row, "loss"));
        const cJSON *x = cJSON_GetObjectItem(row, "x");
        assert_true(num(cs, "last_x") == cJSON_GetArrayItem(x, 0)->valuedouble);
        assert_true(num(cs, "last_y") == cJSON_GetArrayItem(x, 1)->valuedouble);
    }
    char path[256];
    snprintf(path, sizeof path, "%s/cmp.png", dir);
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    unsigned char head[8];
    assert_int_equal(fread(head, 1, 8, fp), 8);
    fseek(fp, 0, SEEK_END);
    assert_true(ftell(fp) > 20000);
    fclose(fp);
    assert_memory_equal(head, "\x89PNG\r\n\x1a\n", 8);
    remove(path);
    rmdir(dir);
    cJSON_Delete(o);
}

/* Float32, another problem, another start: still the same numbers as optimize. */
static void test_f32_and_nearest_minimum(void **state)
{
    (void)state;
    cJSON *o = cli_json("compare --problem himmelblau --start=-1,1 --steps 500 --dtype f32 "
                        "--optimizer 'adam(lr=5e-2)' --optimizer 'sgd(lr=1e-2)' --json");
    const cJSON *runs = cJSON_GetObjectItem(o, "runs");
    for (int r = 0; r < 2; r++) {
        const cJSON *row = cJSON_GetArrayItem(runs, r);
        const char *spec = cJSON_GetObjectItem(row, "optimizer")->valuestring;
        char args[512];
        snprintf(args, sizeof args, "optimize --problem himmelblau --start=-1,1 --steps 500 --dtype f32 "
                 "--optimizer '%s' --json", spec);
        cJSON *alone = cli_json(args);
        assert_true(num(row, "loss") == num(alone, "loss"));
        cJSON_Delete(alone);
        /* both end in the minimum near (-2.805, 3.131): the distance is to that one */
        const cJSON *x = cJSON_GetObjectItem(row, "x");
        double d = hypot(cJSON_GetArrayItem(x, 0)->valuedouble + 2.805118, cJSON_GetArrayItem(x, 1)->valuedouble - 3.131312);
        assert_float_equal(num(row, "distance"), d, 1e-5);
        assert_true(num(row, "distance") < 1e-2);
    }
    cJSON_Delete(o);
}

/* --schedule reaches every run: the same numbers as optimize with that schedule, and
 * not those of the constant rate. */
static void test_schedule_applies_to_every_run(void **state)
{
    (void)state;
    const char *sched = "cosine(T_max=300, eta_min=1e-4)";
    char args[512];
    snprintf(args, sizeof args, "compare --problem rosenbrock --steps 300 --optimizer 'adam(lr=1e-2)' "
             "--optimizer 'sgd(lr=1e-3, momentum=0.9)' --schedule '%s' --json", sched);
    cJSON *o = cli_json(args);
    assert_string_equal(cJSON_GetObjectItem(o, "schedule")->valuestring, sched);
    const cJSON *runs = cJSON_GetObjectItem(o, "runs");
    assert_int_equal(cJSON_GetArraySize(runs), 2);
    for (int r = 0; r < 2; r++) {
        const cJSON *row = cJSON_GetArrayItem(runs, r);
        const char *spec = cJSON_GetObjectItem(row, "optimizer")->valuestring;
        snprintf(args, sizeof args, "optimize --problem rosenbrock --steps 300 --optimizer '%s' --schedule '%s' --json",
                 spec, sched);
        cJSON *alone = cli_json(args);
        assert_true(num(row, "loss") == num(alone, "loss"));
        cJSON_Delete(alone);
        snprintf(args, sizeof args, "optimize --problem rosenbrock --steps 300 --optimizer '%s' --json", spec);
        cJSON *constant = cli_json(args);
        assert_true(num(row, "loss") != num(constant, "loss"));
        cJSON_Delete(constant);
    }
    cJSON_Delete(o);
}

/* --average reaches every run, as optimize computes it: ema(decay=0) is the last point
 * itself; swa(start=1) is the mean of the points after steps 1..N (from optimize's
 * trace), and the loss reported is Rosenbrock's at that mean. */
static void test_average_in_every_run(void **state)
{
    (void)state;
    cJSON *o = cli_json("compare --problem rosenbrock --steps 50 --optimizer 'adam(lr=1e-2)' "
                        "--optimizer 'sgd(lr=1e-3, momentum=0.9)' --average 'ema(decay=0)' --json");
    assert_string_equal(cJSON_GetObjectItem(o, "average")->valuestring, "ema(decay=0)");
    const cJSON *runs = cJSON_GetObjectItem(o, "runs");
    for (int r = 0; r < 2; r++) {
        const cJSON *row = cJSON_GetArrayItem(runs, r);
        assert_true(num(row, "average_loss") == num(row, "loss"));
    }
    cJSON_Delete(o);
    char dir[] = "/tmp/dsc_test_average.XXXXXX", path[128], args[512];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/trace.csv", dir);
    snprintf(args, sizeof args, "optimize --problem rosenbrock --steps 50 --optimizer 'adam(lr=1e-2)' "
             "--average 'swa(start=1)' --trace %s --json", path);
    o = cli_json(args);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[512];
    double mean[2] = {0, 0};
    int rows = 0;
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f)) {
        long step;
        double loss, x, y;
        assert_int_equal(sscanf(line, "%ld,%lf,%lf,%lf", &step, &loss, &x, &y), 4);
        if (step == 0) continue;
        mean[0] += x;
        mean[1] += y;
        rows++;
    }
    fclose(f);
    remove(path);
    rmdir(dir);
    assert_int_equal(rows, 50);
    const cJSON *ax = cJSON_GetObjectItem(o, "average_x");
    for (int i = 0; i < 2; i++) {
        double want = mean[i] / rows, got = cJSON_GetArrayItem(ax, i)->valuedouble;
        if (fabs(got - want) > 1e-13 * fabs(want)) fail_msg("average_x[%d] = %.17g, mean %.17g", i, got, want);
    }
    double x = cJSON_GetArrayItem(ax, 0)->valuedouble, y = cJSON_GetArrayItem(ax, 1)->valuedouble;
    double fxy = (1 - x) * (1 - x) + 100 * (y - x * x) * (y - x * x);
    assert_true(fabs(num(o, "average_loss") - fxy) <= 1e-13 * fxy);
    assert_true(fabs(num(o, "average_loss") - num(o, "loss")) > 1e-3); /* not the last point */
    cJSON_Delete(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rosenbrock_table_is_optimize),
        cmocka_unit_test(test_f32_and_nearest_minimum),
        cmocka_unit_test(test_schedule_applies_to_every_run),
        cmocka_unit_test(test_average_in_every_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
