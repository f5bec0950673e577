/*
 * mlp_digits.c: train a 64-64-10 MLP on the bundled digits and report the held-out
 * accuracy. Usage: mlp_digits [path/to/digits.csv]
 */
#include <stdio.h>

#include "descent_nn.h"

static int fail(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, dsc_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "data/digits.csv";
    dsc_dataset *all, *train, *test;
    if (dsc_dataset_load_csv(&all, path, "last") != DSC_OK) return fail("load");
    /* 25 % held out, stratified by class, seeded */
    if (dsc_dataset_split(all, 0.25, 42, dsc_dataset_classes(all), &train, &test) != DSC_OK) return fail("split");

    const size_t sizes[] = {dsc_dataset_cols(all), 64, 10};
    dsc_mlp_config cfg = dsc_mlp_config_default(sizes, 3); /* relu, He init, float32 */
    dsc_mlp *model;
    if (dsc_mlp_create(&model, &cfg) != DSC_OK) return fail("create");
    if (dsc_mlp_compile(model, "adam(lr=1e-3)", NULL, DSC_LOSS_SOFTMAX_CE) != DSC_OK) return fail("compile");

    dsc_fit_config fit = dsc_fit_config_default(); /* shuffled, inputs standardized */
    fit.epochs = 50;
    fit.batch_size = 32;
    dsc_history *hist;
    if (dsc_mlp_fit(model, train, &fit, &hist) != DSC_OK) return fail("fit");

    double loss, accuracy;
    if (dsc_mlp_evaluate(model, test, &loss, &accuracy) != DSC_OK) return fail("evaluate");
    printf("%zu epochs in %.2f s, final training loss %.4f\n", hist->count, hist->seconds,
           hist->epochs[hist->count - 1].train_loss);
    printf("held-out loss %.4f, accuracy %.4f\n", loss, accuracy);

    dsc_history_destroy(hist);
    dsc_mlp_destroy(model);
    dsc_dataset_destroy(train);
    dsc_dataset_destroy(test);
    dsc_dataset_destroy(all);
    return 0;
}
