/* compare.h: several optimizers on one problem (compare.c), for compare and demo. */
#ifndef DSC_CLI_COMPARE_H
#define DSC_CLI_COMPARE_H

#include "cli.h"

typedef struct cli_compare {
    const char *problem; /* spec */
    dsc_dtype dtype;
    int64_t steps;
    const double *start; /* NULL: the problem's */
    size_t start_len;
    const char *const *labels; /* count names for the table and legend */
    const char *const *specs;  /* count optimizer specs */
    const char *schedule;      /* NULL or a schedule spec applied to every run */
    const char *average;       /* NULL or a weight average spec kept in every run */
    size_t count;
    const char *plot;  /* NULL or the figure's file */
    int json;
} cli_compare;

/* Runs the comparison and prints its table (or JSON); returns the exit code, having
 * printed the one-line error when it is not 0. */
int cli_compare_run(const char *cmd, const cli_compare *c);

#endif
