/*
 * blas.c: what BLAS the library runs on, and the kernel set it should use.
 *
 * Debian's OpenBLAS 0.3.21 does not know recent Xeons (Sapphire Rapids) and falls
 * back to its generic "Prescott" kernels, several times slower than its AVX-512 ones.
 * It chooses once, when it is loaded, from OPENBLAS_CORETYPE; the library cannot
 * change that afterwards, so it reports the choice and names the better one, and the
 * descent command sets the variable before OpenBLAS loads (src/cli/blas_env.c).
 */
#include "nn.h"

#include <cblas.h>

dsc_blas_info dsc_blas_get_info(void)
{
    dsc_blas_info info = {
        .name = "OpenBLAS",
        .config = openblas_get_config(),
        .core = openblas_get_corename(),
        .threads = openblas_get_num_threads(),
    };
    return info;
}

dsc_status dsc_blas_set_threads(int threads)
{
    if (threads < 1 || threads > 1024)
        return dsc__fail(DSC_ERR_RANGE, "blas: threads must be in [1, 1024], got %d", threads);
    openblas_set_num_threads(threads);
    return DSC_OK;
}

const char *dsc_blas_preferred_core(void)
{
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return "SkylakeX";
    if (__builtin_cpu_supports("avx2")) return "Haswell";
#endif
    return NULL;
}

int dsc__blas_threads(void) { return openblas_get_num_threads(); }

int dsc__blas_threads_off(void)
{
    int threads = openblas_get_num_threads();
    if (threads > 1) openblas_set_num_threads(1);
    return threads;
}

void dsc__blas_threads_on(int threads)
{
    if (threads > 1) openblas_set_num_threads(threads);
}
