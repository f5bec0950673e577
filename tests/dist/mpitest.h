/*
 * mpitest.h: cmocka under mpirun. A check that fails on one rank would leave the
 * others waiting in a collective forever; instead, a test that did not reach its end
 * aborts the whole job (MPI_Abort), so mpirun fails at once with cmocka's message.
 * Write tests as DIST_TEST(name) { ... } and list them with DIST_CASE(name).
 */
#ifndef DSC_TEST_MPITEST_H
#define DSC_TEST_MPITEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <mpi.h>

static int mpitest_finished;

static int mpitest_setup(void **state)
{
    (void)state;
    mpitest_finished = 0;
    return 0;
}

static int mpitest_teardown(void **state)
{
    (void)state;
    if (!mpitest_finished) MPI_Abort(MPI_COMM_WORLD, 1);
    return 0;
}

#define DIST_TEST(name)                 \
    static void name##_body(void);      \
    static void name(void **state)      \
    {                                   \
        (void)state;                    \
        name##_body();                  \
        mpitest_finished = 1;           \
    }                                   \
    static void name##_body(void)

#define DIST_CASE(name) cmocka_unit_test_setup_teardown(name, mpitest_setup, mpitest_teardown)

/* main: MPI around cmocka's group runner. */
#define DIST_MAIN(init, ...)                                                   \
    int main(int argc, char **argv)                                            \
    {                                                                          \
        MPI_Init(&argc, &argv);                                                \
        init;                                                                  \
        const struct CMUnitTest tests[] = {__VA_ARGS__};                       \
        int failed = cmocka_run_group_tests(tests, NULL, NULL);                \
        MPI_Finalize();                                                        \
        return failed;                                                         \
    }

#endif
