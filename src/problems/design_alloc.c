/* design_alloc.c: the storage of a regression problem's data, which design.c fills
 * from a seed and design_csv.c from a file. */
#include "design.h"

#include <stdlib.h>

dsc_status dsc__design_alloc(dsc__design *ds, size_t n, size_t d)
{
    ds->n = n, ds->d = d;
    ds->x = malloc(n * d * sizeof *ds->x);
    ds->xf = malloc(n * d * sizeof *ds->xf);
    ds->y = malloc(n * sizeof *ds->y);
    ds->yf = malloc(n * sizeof *ds->yf);
    ds->xstar = calloc(d + 1, sizeof *ds->xstar);
    if (!ds->x || !ds->xf || !ds->y || !ds->yf || !ds->xstar)
        return dsc__fail(DSC_ERR_NOMEM, "problem: out of memory for %zu x %zu data", n, d);
    return DSC_OK;
}
