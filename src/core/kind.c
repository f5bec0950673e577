/*
 * kind.c: the optimizer kinds' names, both ways. Apart from the hyperparameters
 * (hparams.c) so that the update rules, which name their kind in messages, need only
 * this file of core's optimizer side.
 */
#include "internal.h"

#include <string.h>

static const char *const kind_names[DSC_KIND_COUNT] = {
    "sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw",
    "adamax", "nadam", "radam", "adabelief",
    "lion", "lamb", "lars", "schedulefree_adamw", "muon",
    "rprop", "asgd", "sparse_adam", "lbfgs", "adafactor",
};

const char *dsc_kind_name(dsc_kind kind)
{
    return (unsigned)kind < DSC_KIND_COUNT ? kind_names[kind] : NULL;
}

dsc_status dsc_kind_from_name(const char *name, dsc_kind *out)
{
    if (!name || !out) return dsc__fail(DSC_ERR_ARG, "dsc_kind_from_name: NULL argument");
    for (int k = 0; k < DSC_KIND_COUNT; k++)
        if (!strcmp(name, kind_names[k])) { *out = (dsc_kind)k; return DSC_OK; }
    return dsc__fail(DSC_ERR_SPEC,
                     "unknown optimizer '%s' (known: sgd, sgdm, sgdnm, adagrad, rmsprop, adadelta, "
                     "adam, adamw, amsgrad, adamax, nadam, radam, adabelief, lion, lamb, lars, "
                     "schedulefree_adamw, muon, rprop, asgd, sparse_adam, lbfgs, adafactor, lookahead(inner=...))", name);
}
