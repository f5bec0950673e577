/* test_spec.c: the optimizer spec parser: names, aliases, defaults, every kind of
 * malformed input, and the messages that name the key, range and value. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "descent.h"

static dsc_hparams parse_ok(const char *spec)
{
    dsc_hparams hp;
    dsc_status st = dsc_hparams_parse(spec, &hp);
    if (st != DSC_OK) fail_msg("'%s' failed: %s", spec, dsc_last_error());
    return hp;
}

static void parse_bad(const char *spec, dsc_status want, const char *needle)
{
    dsc_hparams hp;
    dsc_status st = dsc_hparams_parse(spec, &hp);
    if (st != want) fail_msg("'%s': status %d, want %d (%s)", spec, st, want, dsc_last_error());
    if (needle && !strstr(dsc_last_error(), needle))
        fail_msg("'%s': message '%s' lacks '%s'", spec, dsc_last_error(), needle);
}

static void test_defaults_are_pytorchs(void **state)
{
    (void)state;
    dsc_hparams hp = parse_ok("sgd");
    assert_int_equal(hp.kind, DSC_SGD);
    assert_true(hp.lr == 1e-3 && hp.momentum == 0 && hp.dampening == 0 && !hp.nesterov);
    hp = parse_ok("adam");
    assert_true(hp.lr == 1e-3 && hp.beta1 == 0.9 && hp.beta2 == 0.999 && hp.eps == 1e-8);
    assert_true(hp.weight_decay == 0 && !hp.amsgrad && !hp.decoupled_weight_decay);
    hp = parse_ok("adamw");
    assert_true(hp.weight_decay == 1e-2 && hp.decoupled_weight_decay);
    hp = parse_ok("rmsprop");
    assert_true(hp.lr == 1e-2 && hp.alpha == 0.99 && hp.eps == 1e-8);
    hp = parse_ok("adagrad");
    assert_true(hp.lr == 1e-2 && hp.eps == 1e-10 && hp.lr_decay == 0 && hp.initial_accumulator_value == 0);
    hp = parse_ok("adadelta");
    assert_true(hp.lr == 1.0 && hp.rho == 0.9 && hp.eps == 1e-6);
    hp = parse_ok("adamax");
    assert_true(hp.lr == 2e-3);
    hp = parse_ok("nadam");
    assert_true(hp.lr == 2e-3 && hp.momentum_decay == 4e-3);
    hp = parse_ok("radam");
    assert_true(hp.lr == 1e-3);
    hp = parse_ok("adabelief");
    assert_true(hp.eps == 1e-16 && hp.decoupled_weight_decay);
    assert_true(hp.nonfinite == DSC_NONFINITE_SKIP && hp.clip_norm == 0 && hp.clip_norm_type == 2);
}

static void test_values_and_aliases(void **state)
{
    (void)state;
    dsc_hparams hp = parse_ok("  Adam ( lr = 1e-2 , betas=(0.8, 0.99), eps=1E-7, amsgrad=true ) ");
    assert_true(hp.lr == 1e-2 && hp.beta1 == 0.8 && hp.beta2 == 0.99 && hp.eps == 1e-7 && hp.amsgrad);
    hp = parse_ok("adam(learning_rate=0x1p-4, decay1=0.5, decay2=0.75, epsilon=1e-6, maximize=1)");
    assert_true(hp.lr == 0.0625 && hp.beta1 == 0.5 && hp.beta2 == 0.75 && hp.eps == 1e-6 && hp.maximize);
    hp = parse_ok("adam(betas=[0.5, 0.6])");
    assert_true(hp.beta1 == 0.5 && hp.beta2 == 0.6);
    hp = parse_ok("rmsprop(rho=0.9)");
    assert_true(hp.alpha == 0.9);
    hp = parse_ok("rmsprop(decay=0.8)");
    assert_true(hp.alpha == 0.8);
    hp = parse_ok("rmsprop(decay_rate=0.7, centered=false, momentum=0.5)");
    assert_true(hp.alpha == 0.7 && !hp.centered && hp.momentum == 0.5);
    hp = parse_ok("adadelta(rho=0.95)");
    assert_true(hp.rho == 0.95);
    hp = parse_ok("sgdm");
    assert_true(hp.kind == DSC_SGD && hp.momentum == 0.9 && !hp.nesterov);
    hp = parse_ok("sgdnm(lr=0.1)");
    assert_true(hp.kind == DSC_SGD && hp.momentum == 0.9 && hp.nesterov && hp.lr == 0.1);
    hp = parse_ok("amsgrad");
    assert_true(hp.kind == DSC_ADAM && hp.amsgrad);
    hp = parse_ok("sgd()");
    assert_true(hp.kind == DSC_SGD);
    hp = parse_ok("sgd(lr=.5, l1=1e-4, weight_decay=0, nonfinite=error, clip_norm=1, clip_norm_type=inf)");
    assert_true(hp.lr == 0.5 && hp.l1 == 1e-4 && hp.nonfinite == DSC_NONFINITE_ERROR && isinf(hp.clip_norm_type));
}

static void test_malformed(void **state)
{
    (void)state;
    parse_bad("", DSC_ERR_SPEC, "empty");
    parse_bad("   ", DSC_ERR_SPEC, "empty");
    parse_bad("nosuch", DSC_ERR_SPEC, "unknown optimizer 'nosuch'");
    parse_bad("adam(", DSC_ERR_SPEC, "missing ')'");
    parse_bad("adam(lr=0.1", DSC_ERR_SPEC, "missing ')'");
    parse_bad("adam)", DSC_ERR_SPEC, "expected '('");
    parse_bad("adam(lr=0.1))", DSC_ERR_SPEC, "unexpected text");
    parse_bad("adam(lr=0.1) x", DSC_ERR_SPEC, "unexpected text");
    parse_bad("adam(lr=)", DSC_ERR_SPEC, "missing value for key 'lr'");
    parse_bad("adam(lr)", DSC_ERR_SPEC, "expected key=value");
    parse_bad("adam(lr=0.1,)", DSC_ERR_SPEC, "empty item");
    parse_bad("adam(,lr=0.1)", DSC_ERR_SPEC, "empty item");
    parse_bad("adam(lr=abc)", DSC_ERR_SPEC, "lr must be a number, got 'abc'");
    parse_bad("adam(lr=0.1x)", DSC_ERR_SPEC, "lr must be a number");
    parse_bad("adam(lr=1e999)", DSC_ERR_RANGE, "out of the range");
    parse_bad("adam(lr=0.1, lr=0.2)", DSC_ERR_SPEC, "given twice");
    parse_bad("adam(momentum=0.9)", DSC_ERR_SPEC, "unknown key 'momentum'");
    parse_bad("sgd(betas=(0.9,0.99))", DSC_ERR_SPEC, "unknown key 'betas'");
    parse_bad("adam(betas=0.9)", DSC_ERR_SPEC, "betas must be a list");
    parse_bad("adam(betas=(0.9))", DSC_ERR_SPEC, "pair");
    parse_bad("adam(betas=(0.9,0.99,0.9))", DSC_ERR_SPEC, "at most 2");
    parse_bad("adam(betas=(0.9,))", DSC_ERR_SPEC, "empty element");
    parse_bad("adam(amsgrad=yes)", DSC_ERR_SPEC, "amsgrad must be true, false, 1 or 0, got 'yes'");
    parse_bad("adam(nonfinite=maybe)", DSC_ERR_SPEC, "nonfinite must be skip, error or ignore");
    parse_bad("adam(betas=(0.9,0.99)]", DSC_ERR_SPEC, NULL);
    parse_bad("9adam", DSC_ERR_SPEC, "must start with a name");
    parse_bad("adam(lr=0.1) (x)", DSC_ERR_SPEC, "unexpected text");
}

static void test_ranges(void **state)
{
    (void)state;
    parse_bad("adam(beta1=1.5)", DSC_ERR_RANGE, "adam: beta1 must be in [0, 1), got 1.5");
    parse_bad("adam(beta1=1)", DSC_ERR_RANGE, "beta1 must be in [0, 1)");
    parse_bad("adam(beta2=-0.1)", DSC_ERR_RANGE, "beta2 must be in [0, 1)");
    parse_bad("adam(betas=(0.9, 1.0))", DSC_ERR_RANGE, "beta2 must be in [0, 1), got 1");
    parse_bad("adam(lr=-1)", DSC_ERR_RANGE, "lr must be in [0, inf), got -1");
    parse_bad("adam(lr=-0x1p-1074)", DSC_ERR_RANGE, "lr must be in [0, inf)");
    parse_bad("adam(lr=inf)", DSC_ERR_RANGE, "lr must be in [0, inf)");
    parse_bad("adam(lr=nan)", DSC_ERR_RANGE, "lr must be in [0, inf)");
    parse_bad("adam(eps=-1e-8)", DSC_ERR_RANGE, "eps must be in [0, inf)");
    parse_bad("muon(eps=0)", DSC_ERR_RANGE, "muon: eps must be > 0");
    parse_bad("adam(weight_decay=-1e-3)", DSC_ERR_RANGE, "weight_decay must be in [0, inf)");
    parse_bad("sgd(momentum=1)", DSC_ERR_RANGE, "momentum must be in [0, 1)");
    parse_bad("sgd(dampening=1.5)", DSC_ERR_RANGE, "dampening must be in [0, 1]");
    parse_bad("sgd(nesterov=true)", DSC_ERR_RANGE, "nesterov needs momentum > 0 and dampening 0");
    parse_bad("sgd(nesterov=true, momentum=0.9, dampening=0.1)", DSC_ERR_RANGE, "nesterov needs");
    parse_bad("rmsprop(alpha=1.01)", DSC_ERR_RANGE, "alpha must be in [0, 1]");
    parse_bad("adadelta(rho=-0.5)", DSC_ERR_RANGE, "rho must be in [0, 1]");
    parse_bad("adagrad(lr_decay=-1)", DSC_ERR_RANGE, "lr_decay must be in [0, inf)");
    parse_bad("adagrad(initial_accumulator_value=-1)", DSC_ERR_RANGE, "initial_accumulator_value");
    parse_bad("adam(clip_norm=-1)", DSC_ERR_RANGE, "clip_norm must be in [0, inf)");
    parse_bad("adam(clip_norm_type=0)", DSC_ERR_RANGE, "clip_norm_type must be in (0, inf]");
    parse_bad("adam(clip_per_tensor=true)", DSC_ERR_RANGE, "clip_per_tensor needs clip_norm > 0");
    parse_bad("adam(max_consecutive_skips=1.5)", DSC_ERR_RANGE, "must be an integer");
}

/* lr 0 and eps 0 are torch's legal values (0 <= lr, 0 <= eps): a frozen group, the end
 * of a cosine or polynomial schedule. Every kind takes lr 0, and eps 0 where eps is
 * added to a root; Muon refuses eps 0 (a zero update would be divided by eps alone). */
static void test_zero_lr_and_eps(void **state)
{
    (void)state;
    for (int k = 0; k < DSC_KIND_COUNT; k++) {
        dsc_hparams hp = dsc_hparams_default((dsc_kind)k);
        hp.lr = 0;
        if (dsc_hparams_validate(&hp) != DSC_OK) fail_msg("%s lr=0: %s", dsc_kind_name((dsc_kind)k), dsc_last_error());
        char spec[64];
        snprintf(spec, sizeof spec, "%s(lr=0)", dsc_kind_name((dsc_kind)k));
        assert_true(parse_ok(spec).lr == 0);
    }
    const char *eps0[] = {"adam(eps=0)", "adamw(eps=0)", "adamax(eps=0)", "nadam(eps=0)", "radam(eps=0)",
                          "adabelief(eps=0)", "adagrad(eps=0)", "rmsprop(eps=0)", "adadelta(eps=0)",
                          "lamb(eps=0)", "lars(eps=0)", "schedulefree_adamw(eps=0)",
                          "muon(adamw_eps=0, adamw_lr=0)"};
    for (size_t i = 0; i < sizeof eps0 / sizeof eps0[0]; i++) parse_ok(eps0[i]);
    assert_true(parse_ok("lookahead(inner=adam(lr=0, eps=0))").lr == 0);
}

/* A field reached through two spellings is refused, not the last one taken. */
static void test_conflicting_keys(void **state)
{
    (void)state;
    parse_bad("adam(beta1=0.5, betas=(0.9, 0.99))", DSC_ERR_SPEC, "adam: beta1 is given twice (as 'beta1' and 'betas')");
    parse_bad("adam(betas=(0.9, 0.99), decay2=0.9)", DSC_ERR_SPEC, "beta2 is given twice (as 'betas' and 'decay2')");
    parse_bad("adam(lr=0.1, learning_rate=0.2)", DSC_ERR_SPEC, "lr is given twice (as 'lr' and 'learning_rate')");
    parse_bad("adam(eps=1e-7, epsilon=1e-6)", DSC_ERR_SPEC, "eps is given twice");
    parse_bad("rmsprop(alpha=0.9, rho=0.8)", DSC_ERR_SPEC, "alpha is given twice (as 'alpha' and 'rho')");
    parse_bad("rmsprop(decay=0.9, decay_rate=0.8)", DSC_ERR_SPEC, "alpha is given twice");
    parse_bad("adam(clip_norm=1, norm_type=1, clip_norm_type=2)", DSC_ERR_SPEC, "clip_norm_type is given twice");
    parse_bad("lars(trust_coeff=0.01, trust_coefficient=0.02)", DSC_ERR_SPEC, "trust_coefficient is given twice");
    parse_bad("muon(adamw_betas=(0.9, 0.95), adamw_beta2=0.9)", DSC_ERR_SPEC, "adamw_beta2 is given twice");
    parse_bad("muon(adjust_lr=original, adjust_lr_fn=original)", DSC_ERR_SPEC, "adjust_lr is given twice");
    parse_bad("lookahead(inner=adam(lr=1, learning_rate=2))", DSC_ERR_SPEC, "lr is given twice");
    /* group keys too, while the group's current values are of course replaced */
    double w[1] = {0}, g[1] = {0};
    dsc_param p = {.name = "w", .data = w, .grad = g, .n = 1, .dtype = DSC_F64};
    dsc_optim *opt = NULL;
    assert_int_equal(dsc_optim_create_spec(&opt, "adam(betas=(0.8, 0.9))", &p, 1), DSC_OK);
    assert_int_equal(dsc_optim_set_group_spec(opt, 0, "beta1=0.5, betas=(0.7, 0.8)"), DSC_ERR_SPEC);
    assert_non_null(strstr(dsc_last_error(), "beta1 is given twice"));
    assert_int_equal(dsc_optim_set_group_spec(opt, 0, "beta1=0.5"), DSC_OK);
    dsc_hparams hp;
    assert_int_equal(dsc_optim_get_group_hparams(opt, 0, &hp), DSC_OK);
    assert_true(hp.beta1 == 0.5 && hp.beta2 == 0.9);
    dsc_optim_destroy(opt);
}

static void test_struct_validation(void **state)
{
    (void)state;
    dsc_hparams hp = dsc_hparams_default(DSC_ADAM);
    assert_int_equal(dsc_hparams_validate(&hp), DSC_OK);
    hp.momentum = 0.9; /* not an Adam hyperparameter: caught, not ignored */
    assert_int_equal(dsc_hparams_validate(&hp), DSC_ERR_RANGE);
    assert_non_null(strstr(dsc_last_error(), "momentum is not a hyperparameter of adam"));
    hp = dsc_hparams_default(DSC_ADAM);
    hp.kind = (dsc_kind)99;
    assert_int_equal(dsc_hparams_validate(&hp), DSC_ERR_ARG);
    assert_int_equal(dsc_hparams_validate(NULL), DSC_ERR_ARG);
    assert_int_equal(dsc_hparams_parse(NULL, &hp), DSC_ERR_ARG);
}

/* The unknown-key message of every kind lists its keys as "a, b, c)": no empty item
 * at the end (the list once ended in ", )" for 13 of the 15 kinds). */
static void test_unknown_key_lists(void **state)
{
    (void)state;
    for (int k = 0; k < DSC_KIND_COUNT; k++) {
        char spec[64];
        snprintf(spec, sizeof spec, "%s(nosuchkey=1)", dsc_kind_name((dsc_kind)k));
        dsc_hparams hp;
        assert_int_equal(dsc_hparams_parse(spec, &hp), DSC_ERR_SPEC);
        const char *msg = dsc_last_error(), *keys = strstr(msg, "(keys: ");
        if (!keys || strstr(msg, ", )") || strstr(msg, ", ,") || msg[strlen(msg) - 1] != ')' || strstr(keys, "(keys: )"))
            fail_msg("%s: %s", spec, msg);
        assert_non_null(strstr(keys, "lr, ")); /* every kind takes lr, never last */
    }
}

static void test_kind_names_round_trip(void **state)
{
    (void)state;
    for (int k = 0; k < DSC_KIND_COUNT; k++) {
        dsc_kind back;
        assert_int_equal(dsc_kind_from_name(dsc_kind_name((dsc_kind)k), &back), DSC_OK);
        assert_int_equal(back, k);
    }
    assert_null(dsc_kind_name(DSC_KIND_COUNT));
    dsc_kind out;
    assert_int_equal(dsc_kind_from_name("adamz", &out), DSC_ERR_SPEC);
}

static void test_format_round_trip(void **state)
{
    (void)state;
    const char *specs[] = {"adam", "adam(lr=0.01, betas=(0.8, 0.9), amsgrad=true)", "adamw(weight_decay=0.1)",
                           "sgdnm(lr=0.1)", "rmsprop(alpha=0.9, centered=true, nonfinite=ignore)",
                           "adagrad(lr_decay=0.01, initial_accumulator_value=0.1)", "adabelief(eps=1e-12)"};
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        dsc_hparams a = parse_ok(specs[i]), b;
        char buf[512];
        size_t need = dsc_hparams_format(&a, buf, sizeof buf);
        assert_true(need < sizeof buf);
        assert_int_equal(dsc_hparams_parse(buf, &b), DSC_OK);
        assert_memory_equal(&a, &b, sizeof a);
    }
    dsc_hparams a = parse_ok("adam(lr=0.01)");
    char small[6];
    size_t need = dsc_hparams_format(&a, small, sizeof small);
    assert_int_equal(need, strlen("adam(lr=0.01)"));
    assert_string_equal(small, "adam(");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_are_pytorchs),  cmocka_unit_test(test_values_and_aliases),
        cmocka_unit_test(test_malformed),              cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_zero_lr_and_eps),        cmocka_unit_test(test_conflicting_keys),
        cmocka_unit_test(test_struct_validation),      cmocka_unit_test(test_unknown_key_lists), cmocka_unit_test(test_kind_names_round_trip),
        cmocka_unit_test(test_format_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
