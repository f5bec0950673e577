/* blas_core_shim.c: preloaded by cli_train.sh to play an OpenBLAS that fell back to its
 * generic kernels: it reports "Prescott" unless OPENBLAS_CORETYPE is set, so the test
 * sees whether descent re-executes itself with the variable set (and only once). */
#include <stdlib.h>

char *openblas_get_corename(void);

char *openblas_get_corename(void)
{
    char *c = getenv("OPENBLAS_CORETYPE");
    return c ? c : (char *)"Prescott";
}
