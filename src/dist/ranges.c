/*
 * ranges.c: the element ranges the ranks share out: a rank's slice of a count (the
 * --zero shards, a rank's rows) and a bucket's range of the flat gradient.
 */
#include "dist.h"

void dsc_dist_split(size_t total, int rank, int size, size_t *lo, size_t *hi)
{
    if (size < 1 || rank < 0 || rank >= size) {
        *lo = *hi = 0;
        return;
    }
    size_t base = total / (size_t)size, extra = total % (size_t)size, r = (size_t)rank;
    *lo = r * base + (r < extra ? r : extra);
    *hi = *lo + base + (r < extra);
}

void dsc__dist_bucket(const dsc_dist *d, size_t b, size_t *b0, size_t *b1)
{
    *b0 = b * d->bucket_elems;
    *b1 = *b0 + d->bucket_elems < d->n ? *b0 + d->bucket_elems : d->n;
}
