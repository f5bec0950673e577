/* train_plot.c: descent train --plot: the history's figure, drawn by rank 0 after the
 * fit; its path is tried before the fit, so a long run does not end on a bad path. */
#include "train.h"

#include "curve_figure.h"
#include "figure.h"

int train_plot_draw(const train_opts *o, const dsc_history *h, int classify, cJSON **desc)
{
    curve_figure cf;
    if (curve_figure_history(&cf, h, classify, o->average != NULL, o->data)) {
        curve_figure_free(&cf);
        return cli_fail("train", "out of memory drawing '%s'", o->plot);
    }
    dsc_status st = dsc_plot_save(&cf.figure, o->plot);
    if (!st && o->json) *desc = cli_figure_json(&cf.figure, o->plot);
    curve_figure_free(&cf);
    return st ? cli_lib_error("train", st) : 0;
}
