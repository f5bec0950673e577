/* test_checkpoint_fixtures.c: checkpoints written by descent 5dcf497 (tests/fixtures/
 * checkpoints, made by make_fixtures.sh from recipe.h) still load with today's calls:
 * a plain optimizer, one with a weight average, one with caller strings and tensors,
 * one with a schedule and a half-full accumulation window, an MLP model with an
 * average and a CNN with batchnorm. Each loads to exactly the saved values, and one
 * more step lands on the bits that build saved after the same step. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "descent.h"
#include "descent_checkpoint.h"
#include "descent_nn.h"

#include "fixtures/checkpoints/recipe.h"

#define OK(call)                                                        \
    do {                                                                \
        dsc_status st_ = (call);                                        \
        if (st_ != DSC_OK) fail_msg("%s: %s", #call, dsc_last_error()); \
    } while (0)

static void fixture_path(char *buf, size_t cap, const char *name, int next)
{
    snprintf(buf, cap, "%s/fixtures/checkpoints/%s%s.safetensors", DSC_TEST_DATA, name, next ? ".next" : "");
}

/* The tensor of ck called name holds the bytes at want. */
static void expect_tensor(const dsc_ckpt *ck, const char *name, const void *want, size_t bytes)
{
    dsc_ckpt_tensor t;
    if (dsc_ckpt_find(ck, name, &t)) fail_msg("no tensor %s", name);
    assert_int_equal(t.n * t.elem_size, bytes);
    unsigned char *got = malloc(bytes ? bytes : 1);
    assert_non_null(got);
    OK(dsc_ckpt_read(ck, name, 0, t.n, got));
    if (memcmp(got, want, bytes)) fail_msg("%s differs from the file's", name);
    free(got);
}

/* opt (and avg) hold exactly what the file holds: every parameter, state buffer and
 * averaged tensor, every group's hyperparameters (the schedule's rate among them) and
 * the step count. */
static void assert_holds(const dsc_optim *opt, const dsc_average *avg, const char *file)
{
    dsc_ckpt *ck;
    char name[256];
    OK(dsc_ckpt_open(&ck, file));
    for (size_t i = 0; i < dsc_optim_param_count(opt); i++) {
        const dsc_param *q = dsc_optim_param(opt, i);
        size_t bytes = q->n * dsc_dtype_size(q->dtype);
        snprintf(name, sizeof name, "param/%s", q->name);
        expect_tensor(ck, name, q->data, bytes);
        for (size_t k = 0; k < dsc_optim_state_count(opt, i); k++) {
            const char *buf;
            void *data;
            OK(dsc_optim_state(opt, i, k, &buf, &data));
            snprintf(name, sizeof name, "state/%s/%s", q->name, buf);
            expect_tensor(ck, name, data, bytes);
        }
    }
    for (size_t i = 0; avg && i < dsc_average_count(avg); i++) {
        const dsc_param *q = dsc_average_param(avg, i);
        const char *buf;
        void *data;
        OK(dsc_average_buffer(avg, i, &buf, &data));
        snprintf(name, sizeof name, "average/%s/%s", q->name, buf);
        expect_tensor(ck, name, data, q->n * dsc_dtype_size(q->dtype));
    }
    for (int g = 0; g < dsc_optim_group_count(opt); g++) {
        dsc_hparams hp;
        char spec[1100];
        OK(dsc_optim_get_group_hparams(opt, g, &hp));
        dsc_hparams_format(&hp, spec, sizeof spec);
        snprintf(name, sizeof name, "group.%d.hparams", g);
        assert_non_null(dsc_ckpt_meta(ck, name));
        assert_string_equal(spec, dsc_ckpt_meta(ck, name));
    }
    assert_int_equal(dsc_optim_step_count(opt), strtoll(dsc_ckpt_meta(ck, "step"), NULL, 10));
    dsc_ckpt_close(ck);
}

/* The caller's strings and tensors of the "extra" case, read back. */
static void assert_extra(const char *file)
{
    dsc_ckpt *ck;
    OK(dsc_ckpt_open(&ck, file));
    for (size_t i = 0; i < FX_NSTRINGS; i++) {
        assert_non_null(dsc_ckpt_extra(ck, fx_strings[i].key));
        assert_string_equal(dsc_ckpt_extra(ck, fx_strings[i].key), fx_strings[i].value);
    }
    expect_tensor(ck, "extra/rng", fx_rng, sizeof fx_rng);
    expect_tensor(ck, "extra/table", fx_table, sizeof fx_table);
    dsc_ckpt_close(ck);
}

static void test_optimizer_fixtures(void **state)
{
    (void)state;
    for (size_t i = 0; i < FX_NCASES; i++) {
        const fx_case *c = &fx_cases[i];
        char file[512], next[512];
        fixture_path(file, sizeof file, c->name, 0);
        fixture_path(next, sizeof next, c->name, 1);
        fx_opt r;
        OK(fx_opt_create(&r, c, -2.5)); /* other values everywhere: the load replaces them all */
        dsc_checkpoint_load_options o = dsc_checkpoint_load_options_default();
        o.average = r.avg;
        dsc_ckpt *ck;
        OK(dsc_ckpt_open(&ck, file));
        OK(dsc_ckpt_restore(ck, r.opt, &o));
        dsc_ckpt_close(ck);
        assert_holds(r.opt, r.avg, file);
        if (c->extra) assert_extra(file);
        OK(fx_step(&r, FX_STEPS + 1));
        assert_holds(r.opt, r.avg, next);
        fx_opt_destroy(&r);
    }
}

static void test_model_fixtures(void **state)
{
    (void)state;
    for (size_t i = 0; i < FX_NMODELS; i++) {
        char file[512], next[512];
        fixture_path(file, sizeof file, fx_models[i].name, 0);
        fixture_path(next, sizeof next, fx_models[i].name, 1);
        dsc_mlp *m;
        OK(dsc_mlp_load(&m, file));
        assert_int_equal(dsc_mlp_epochs_done(m), FX_EPOCHS);
        assert_true((dsc_mlp_average(m) != NULL) == (fx_models[i].average != NULL));
        assert_holds(dsc_mlp_optimizer(m), dsc_mlp_average(m), file);
        OK(fx_model_step(m));
        assert_holds(dsc_mlp_optimizer(m), dsc_mlp_average(m), next);
        dsc_mlp_destroy(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_optimizer_fixtures),
        cmocka_unit_test(test_model_fixtures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
