/* nn_fixture.h: what the tests of the nn layer share: a checked call, a temporary
 * checkpoint path (a cmocka setup and teardown), the bundled datasets, and the
 * comparison of two optimizers' bits. static inline, so a test that includes it and
 * uses part of it compiles clean. Needs <cmocka.h> and descent_nn.h first. */
#ifndef DSC_TESTS_NN_FIXTURE_H
#define DSC_TESTS_NN_FIXTURE_H

#include <stdio.h>
#include <unistd.h>

#define OK(call)                                                        \
    do {                                                                \
        dsc_status st_ = (call);                                        \
        if (st_ != DSC_OK) fail_msg("%s: %s", #call, dsc_last_error()); \
    } while (0)

/* The checkpoint file of the running test (one per process). */
static char path[64];

static inline int make_path(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/dsc_nn_test_%ld.st", (long)getpid());
    return 0;
}

static inline int remove_path(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

/* A CSV of data/, its last column the target. */
static inline dsc_dataset *load_data(const char *name)
{
    char file[512];
    snprintf(file, sizeof file, "%s/../data/%s", DSC_TEST_DATA, name);
    dsc_dataset *ds;
    OK(dsc_dataset_load_csv(&ds, file, NULL));
    return ds;
}

/* The same step count and state buffers (es bytes per element). */
static inline void assert_same_state(const dsc_optim *a, const dsc_optim *b, size_t es)
{
    assert_int_equal(dsc_optim_step_count(a), dsc_optim_step_count(b));
    assert_int_equal(dsc_optim_param_count(a), dsc_optim_param_count(b));
    for (size_t i = 0; i < dsc_optim_param_count(a); i++) {
        assert_int_equal(dsc_optim_state_count(a, i), dsc_optim_state_count(b, i));
        for (size_t k = 0; k < dsc_optim_state_count(a, i); k++) {
            void *sa, *sb;
            OK(dsc_optim_state(a, i, k, NULL, &sa));
            OK(dsc_optim_state(b, i, k, NULL, &sb));
            assert_memory_equal(sa, sb, dsc_optim_param(a, i)->n * es);
        }
    }
}

#endif
