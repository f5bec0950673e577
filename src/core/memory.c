/* memory.c: aligned, zeroed allocation for optimizer state (SIMD loads, no false
 * sharing between threads working on neighbouring tensors), and large blocks for data. */
#define _DEFAULT_SOURCE /* madvise */
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define DSC__ALIGN 64
#define DSC__BIG_BYTES ((size_t)4 << 20) /* from here on a block gets huge pages */
#define DSC__HUGE_PAGE ((size_t)2 << 20) /* x86-64's and arm64's usual huge page */
#define DSC__SMALL_PAGE 4096             /* the smallest page there is: a touch every one */

void *dsc__alloc(size_t bytes)
{
    void *p = dsc__alloc_uninit(bytes);
    if (p) memset(p, 0, bytes ? (bytes + DSC__ALIGN - 1) / DSC__ALIGN * DSC__ALIGN : DSC__ALIGN);
    return p;
}

void *dsc__alloc_uninit(size_t bytes)
{
    size_t rounded = (bytes + DSC__ALIGN - 1) / DSC__ALIGN * DSC__ALIGN;
    if (rounded < bytes) return NULL; /* overflow */
    if (rounded == 0) rounded = DSC__ALIGN;
    return aligned_alloc(DSC__ALIGN, rounded);
}

void dsc__free(void *p) { free(p); }

void *dsc__alloc_big(size_t bytes)
{
    if (bytes < DSC__BIG_BYTES) return malloc(bytes ? bytes : 1);
    size_t rounded = (bytes + DSC__HUGE_PAGE - 1) / DSC__HUGE_PAGE * DSC__HUGE_PAGE;
    if (rounded < bytes) return NULL; /* overflow */
    unsigned char *p = aligned_alloc(DSC__HUGE_PAGE, rounded);
#ifdef MADV_HUGEPAGE
    /* the pages come in now, from here: faults taken inside read() (the kernel copying
     * into a block not yet mapped) were measured slower and far less even; where huge
     * pages are refused (THP off, an old kernel) the block is left to fault as usual */
    if (p && madvise(p, rounded, MADV_HUGEPAGE) == 0)
        for (size_t i = 0; i < rounded; i += DSC__SMALL_PAGE) p[i] = 0;
#endif
    return p;
}

char *dsc__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}
