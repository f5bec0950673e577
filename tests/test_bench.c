/* test_bench.c: descent bench runs every optimizer and reports the bytes a step
 * moves (the timings themselves are not asserted: no timing in unit tests). */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cli_run.h"

/* Runs descent bench with args and --json; the output must be one object. */
static void bench(const char *args, char *out, size_t size)
{
    char cmd[512];
    int rc;
    snprintf(cmd, sizeof cmd, "bench %s --reps 2 --json", args);
    const char *r = cli_run(cmd, &rc);
    size_t len = strlen(r) < size ? strlen(r) : size - 1;
    memcpy(out, r, len);
    out[len] = '\0';
    if (rc != 0) fail_msg("%s failed: %s", cmd, out);
    if (out[0] != '{' || !strchr(out, '}')) fail_msg("%s: not one JSON object: %s", cmd, out);
    static const char *const keys[] = {"\"ns_per_param\":", "\"gb_per_s\":", "\"bytes_per_param\":",
                                       "\"reference_ns_per_param\":", "\"fraction_of_reference\":"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!strstr(out, keys[i])) fail_msg("%s: no %s in %s", cmd, keys[i], out);
}

static void expect_bytes(const char *args, const char *bytes)
{
    char out[2048], want[64];
    bench(args, out, sizeof out);
    snprintf(want, sizeof want, "\"bytes_per_param\":%s,", bytes);
    if (!strstr(out, want)) fail_msg("bench %s: want %s in %s", args, want, out);
}

static void test_bytes_per_param(void **state)
{
    (void)state;
    /* Adam: g read, p m v read and written, 4 bytes each: 28; the non-finite check
     * reads g once more: 32 */
    expect_bytes("--optimizer 'adam(nonfinite=ignore)' --params 1000", "28");
    expect_bytes("--optimizer adam --params 1000 --tensors 3", "32");
    expect_bytes("--optimizer 'adam(nonfinite=ignore)' --params 1000 --dtype f64", "56");
    expect_bytes("--optimizer 'adam(nonfinite=ignore, state_dtype=bf16)' --params 1000", "20");
    expect_bytes("--optimizer 'adam(nonfinite=ignore, amsgrad=1, state_dtype=bf16)' --params 1000", "24");
    expect_bytes("--optimizer 'sgd(nonfinite=ignore)' --params 1000", "12");
    expect_bytes("--optimizer 'rmsprop(momentum=0.9, centered=1, nonfinite=ignore)' --params 1000", "36");
    /* per-tensor norms, two passes: LAMB g p read, m v read and written (24), then m v
     * read, p read and written (16); LARS g p read (8), then g read, p b read and
     * written (20) */
    expect_bytes("--optimizer 'lamb(nonfinite=ignore)' --params 1000", "40");
    expect_bytes("--optimizer 'lars(momentum=0.9, nonfinite=ignore)' --params 1000", "28");
    expect_bytes("--optimizer 'lars(momentum=0, nonfinite=ignore)' --params 1000 --dtype f64", "40");
    /* lookahead: the slow weights read and written once in k = 4 steps: 8/4 more */
    expect_bytes("--optimizer 'lookahead(inner=adam(nonfinite=ignore), k=4)' --params 1000", "30");
    /* adafactor on vectors: g p read, the variance read and written (16), then g and the
     * variance read, p read and written (16); on matrices (--cols) the factors are a few
     * rows and columns: g p read, g read, then g read, p read and written: 24 */
    expect_bytes("--optimizer 'adafactor(nonfinite=ignore)' --params 1000", "32");
    expect_bytes("--optimizer 'adafactor(nonfinite=ignore)' --params 1000 --tensors 2 --cols 50", "24");
    expect_bytes("--optimizer 'adam(nonfinite=ignore)' --params 1000 --cols 10", "28");
}

/* A sparse table (--rows-touched): the kinds that take row-sparse gradients, and the
 * bytes of a touched parameter as a dense step counts them (sparse_adam: 28 as adam). */
static void test_sparse_table(void **state)
{
    (void)state;
    static const char *const kinds[] = {"sparse_adam", "sgd", "adagrad"};
    char args[160], out[2048];
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        snprintf(args, sizeof args, "--optimizer %s --params 6400 --dim 64 --rows-touched 0.1 --threads 2", kinds[i]);
        bench(args, out, sizeof out);
        if (!strstr(out, "\"rows_touched\":10,")) fail_msg("%s: not 10 rows touched: %s", kinds[i], out);
    }
    expect_bytes("--optimizer 'sparse_adam(nonfinite=ignore)' --params 6400 --rows-touched 0.1", "28");
}

static void test_every_optimizer(void **state)
{
    (void)state;
    static const char *const kinds[] = {"sgd", "sgdm", "adagrad", "rmsprop", "adadelta", "adam",
                                        "adamw", "adamax", "nadam", "radam", "adabelief",
                                        "lion", "lamb", "lars", "schedulefree_adamw", "muon",
                                        "rprop", "asgd", "adafactor", "'lookahead(inner=sgd)'"};
    char args[128], out[2048];
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        snprintf(args, sizeof args, "--optimizer %s --params 5000 --tensors 7 --threads 2", kinds[i]);
        bench(args, out, sizeof out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bytes_per_param),
        cmocka_unit_test(test_every_optimizer),
        cmocka_unit_test(test_sparse_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
