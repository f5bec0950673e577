/*
 * blas_env.c: gives the descent command OpenBLAS's fast kernels without the user
 * knowing about OPENBLAS_CORETYPE.
 *
 * Debian's OpenBLAS 0.3.21 does not recognise recent Xeons (Sapphire Rapids) and
 * falls back to older kernels ("Prescott", or "Haswell" where it sees AVX2): sgemm
 * runs at a fraction of the speed of its AVX-512 (SkylakeX) kernels. OpenBLAS picks
 * its kernels once, when it is loaded, from OPENBLAS_CORETYPE, so the only way to
 * change them is to set the variable and start again: when OpenBLAS chose kernels
 * narrower than the CPU's vectors (AVX2 or AVX-512), the command re-executes itself
 * once with the variable set. DSC_BLAS_REEXEC guards against loops; a user's own
 * OPENBLAS_CORETYPE wins.
 *
 * The same start sets OMP_WAIT_POLICY=passive unless the user chose a policy: libgomp
 * reads it once, when it is loaded. A convolutional network's batch runs its rows on
 * OpenMP threads, a dozen parallel loops a batch with short serial stretches (the
 * dense layers, the loss, the step) between them; libgomp's default lets an idle
 * worker spin for thousands of iterations first, and on a shared or virtual 2-core
 * machine that spinning took the time the other thread needed (one epoch of the CNN
 * of bench/cnn_vs_torch.sh on 12,800 images, this 2-core virtual machine: 7.7-8.1 s
 * against 3.2-3.6 s passive).
 */
#include "cli.h"
#include "descent_nn.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Whether the kernels OpenBLAS chose already use the vector width the CPU has
 * (a newer OpenBLAS may know a better set than the one we would ask for). */
static int good_enough(const char *core, const char *want)
{
    static const char *const avx512[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
    static const char *const avx2[] = {"Haswell", "Zen", "SkylakeX", "Cooperlake", "SapphireRapids"};
    int wide = !strcmp(want, "SkylakeX");
    const char *const *ok = wide ? avx512 : avx2;
    size_t n = wide ? sizeof avx512 / sizeof avx512[0] : sizeof avx2 / sizeof avx2[0];
    for (size_t i = 0; core && i < n; i++)
        if (!strcasecmp(core, ok[i])) return 1;
    return 0;
}

void cli_prefer_fast_blas(char **argv)
{
    if (getenv("DSC_BLAS_REEXEC")) return;
    const char *want = getenv("OPENBLAS_CORETYPE") ? NULL : dsc_blas_preferred_core();
    int core = want && !good_enough(dsc_blas_get_info().core, want);
    int wait = !getenv("OMP_WAIT_POLICY") && !getenv("GOMP_SPINCOUNT");
    if (!core && !wait) return;
    if ((core && setenv("OPENBLAS_CORETYPE", want, 1)) || (wait && setenv("OMP_WAIT_POLICY", "passive", 1)) ||
        setenv("DSC_BLAS_REEXEC", "1", 1))
        return;
    execv("/proc/self/exe", argv);
    /* exec failed: carry on with the kernels OpenBLAS chose */
}
