/*
 * schedulefree_ema.c: fits y = 3x - 1 with Schedule-Free AdamW, keeps an EMA of the
 * weights beside it, and evaluates both the schedule-free point x and the EMA.
 *   build/examples/schedulefree_ema
 */
#include <descent.h>

#include <stdio.h>

/* mean squared error of w*x + b over 8 points, and its gradient */
static double loss_grad(const double *wb, double *g)
{
    double loss = 0;
    g[0] = g[1] = 0;
    for (int i = 0; i < 8; i++) {
        double x = i / 4.0, err = wb[0] * x + wb[1] - (3 * x - 1);
        loss += err * err / 8;
        g[0] += 2 * err * x / 8;
        g[1] += 2 * err / 8;
    }
    return loss;
}

int main(void)
{
    double wb[2] = {0, 0}, grad[2];
    dsc_param p = {.name = "wb", .data = wb, .grad = grad, .n = 2, .dtype = DSC_F64};
    dsc_optim *opt = NULL;
    dsc_average *ema = NULL;
    if (dsc_optim_create_spec(&opt, "schedulefree_adamw(lr=0.1, warmup_steps=20)", &p, 1) ||
        dsc_average_create(&ema, "ema(decay=0.9)", &p, 1)) {
        fprintf(stderr, "%s\n", dsc_last_error());
        dsc_optim_destroy(opt);
        return 1;
    }
    for (int t = 0; t < 2000; t++) {
        loss_grad(wb, grad); /* the gradient at the training point y */
        dsc_optim_step(opt);
        dsc_average_update(ema);
    }
    dsc_optim_eval_mode(opt, 1); /* the buffer now holds x: evaluate, checkpoint */
    printf("schedule-free x: w %.4f b %.4f loss %.2e\n", wb[0], wb[1], loss_grad(wb, grad));
    dsc_average_swap(ema); /* the EMA of the training points */
    printf("EMA of y:        w %.4f b %.4f loss %.2e\n", wb[0], wb[1], loss_grad(wb, grad));
    dsc_average_swap(ema);
    dsc_optim_eval_mode(opt, 0); /* back to y before training on */
    dsc_average_destroy(ema);
    dsc_optim_destroy(opt);
    return 0;
}
