/*
 * registry.c: kind -> update rule. In core, beside the kinds' names (kind.c): the
 * optimizer object and the hyperparameters' validation look a kind's rule up here and
 * call it only through its table of function pointers (dsc__ops), which the files of
 * src/optim define; this is the one file of core that names those tables.
 */
#include "internal.h"

static const dsc__ops *const table[DSC_KIND_COUNT] = {
    [DSC_SGD] = &dsc__ops_sgd,         [DSC_ADAGRAD] = &dsc__ops_adagrad,
    [DSC_RMSPROP] = &dsc__ops_rmsprop, [DSC_ADADELTA] = &dsc__ops_adadelta,
    [DSC_ADAM] = &dsc__ops_adam,       [DSC_ADAMW] = &dsc__ops_adamw,
    [DSC_ADAMAX] = &dsc__ops_adamax,   [DSC_NADAM] = &dsc__ops_nadam,
    [DSC_RADAM] = &dsc__ops_radam,     [DSC_ADABELIEF] = &dsc__ops_adabelief,
    [DSC_LION] = &dsc__ops_lion,       [DSC_LAMB] = &dsc__ops_lamb,
    [DSC_LARS] = &dsc__ops_lars,       [DSC_SCHEDULEFREE_ADAMW] = &dsc__ops_schedulefree_adamw,
    [DSC_MUON] = &dsc__ops_muon,         [DSC_RPROP] = &dsc__ops_rprop,
    [DSC_ASGD] = &dsc__ops_asgd,       [DSC_SPARSE_ADAM] = &dsc__ops_sparse_adam,
    [DSC_LBFGS] = &dsc__ops_lbfgs,
    [DSC_ADAFACTOR] = &dsc__ops_adafactor,
};

const dsc__ops *dsc__ops_for(dsc_kind kind)
{
    return (unsigned)kind < DSC_KIND_COUNT ? table[kind] : NULL;
}
