/* test_cli_schedule.c: descent schedule prints the rates PyTorch gives (text and JSON,
 * with --losses for the loss-driven kinds), and descent optimize applies --schedule and
 * reports skipped steps. Runs the built command (DSC_CLI). */
#define _POSIX_C_SOURCE 200809L /* popen, mkstemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli_run.h"

static void test_text_and_json(void **state)
{
    (void)state;
    int rc;
    /* StepLR(step_size=2, gamma=0.5) from 0.4: 0.4 0.4 0.2 0.2 0.1 */
    const char *out = cli_run("schedule --schedule 'step(step_size=2, gamma=0.5)' --lr 0.4 --steps 5", &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "1 0.40000000000000002\n2 0.40000000000000002\n3 0.20000000000000001\n"
                             "4 0.20000000000000001\n5 0.10000000000000001\n");
    out = cli_run("schedule --schedule 'cosine(T_max=2)' --lr 1 --steps 4 --json", &rc);
    assert_int_equal(rc, 0);
    /* PyTorch: 1, 0.5 (up to rounding of cos(pi/2)), 0, 0.5 */
    double v[4];
    assert_int_equal(sscanf(out, "{\"lr\":[%lf,%lf,%lf,%lf]}", &v[0], &v[1], &v[2], &v[3]), 4);
    assert_true(v[0] == 1 && v[1] > 0.5 - 1e-15 && v[1] < 0.5 + 1e-15 && v[2] == 0);
    assert_true(v[3] > 0.5 - 1e-15 && v[3] < 0.5 + 1e-15);
}

static void test_losses(void **state)
{
    (void)state;
    char path[] = "/tmp/dsc_losses_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("1\n\n1\n1\n1\n", f); /* a blank line is skipped */
    fclose(f);
    char args[256];
    snprintf(args, sizeof args, "schedule --schedule 'plateau(patience=1, factor=0.5)' --lr 1 --steps 5 "
             "--losses %s --json", path);
    int rc;
    const char *out = cli_run(args, &rc);
    assert_int_equal(rc, 0);
    /* losses 1, 1, 1, 1: the 2nd and 3rd are bad, so step 4 runs at 0.5; then 2 more bad */
    assert_string_equal(out, "{\"lr\":[1,1,1,0.5,0.5]}\n");
    unlink(path);
}

static void test_optimize_schedule_and_skips(void **state)
{
    (void)state;
    int rc;
    const char *out = cli_run("optimize --optimizer 'sgd(lr=1e-3)' --schedule 'exponential(gamma=0.5)' --steps 3 "
                          "--start=0,0 --json", &rc);
    assert_int_equal(rc, 0);
    /* rosenbrock's gradient at (0,0) is (-2, 0): x1 moves by 1e-3*2, then 5e-4*g, 2.5e-4*g */
    assert_non_null(strstr(out, "\"schedule\":\"exponential(gamma=0.5)\""));
    double x1;
    const char *x = strstr(out, "\"x\":[");
    assert_non_null(x);
    assert_int_equal(sscanf(x, "\"x\":[%lf", &x1), 1);
    assert_true(x1 > 0.0035 - 1e-4 && x1 < 0.0035);
    out = cli_run("optimize --optimizer sgd --steps 4 --start=1e200,1e200", &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "4 steps skipped (non-finite gradient)"));
    out = cli_run("optimize --optimizer sgd --steps 4 --start=1e200,1e200 --json", &rc);
    assert_non_null(strstr(out, "\"skipped\":4"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_and_json),
        cmocka_unit_test(test_losses),
        cmocka_unit_test(test_optimize_schedule_and_skips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
