/* quickstart.c: fit y = 3x + 1 with Adam; the loop a user writes. */
#include <descent.h>
#include <stdio.h>

int main(void)
{
    double w[2] = {0, 0}, gw[2]; /* slope, intercept */
    dsc_param p = {.name = "w", .data = w, .grad = gw, .n = 2, .dtype = DSC_F64};
    dsc_optim *opt;
    if (dsc_optim_create_spec(&opt, "adam(lr=0.1)", &p, 1) != DSC_OK) {
        fprintf(stderr, "%s\n", dsc_last_error());
        return 1;
    }
    for (int step = 0; step < 500; step++) {
        gw[0] = gw[1] = 0;
        for (int i = 0; i < 10; i++) { /* mean squared error on 10 points of y = 3x + 1 */
            double x = i / 10.0, err = w[0] * x + w[1] - (3 * x + 1);
            gw[0] += 2 * err * x / 10;
            gw[1] += 2 * err / 10;
        }
        dsc_optim_step(opt);
    }
    printf("slope %.4f, intercept %.4f\n", w[0], w[1]);
    dsc_optim_destroy(opt);
    return 0;
}
