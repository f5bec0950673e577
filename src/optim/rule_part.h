/*
 * rule_part.h: one element type's part of a kind's file: the gradient prologue of
 * rule_grad.h for T, then the kind's typed part (DSC_RULE_FILE under #ifdef T).
 * core/typed.h reads it once per type, through rule_types.h. No include guard.
 */
#include "rule_grad.h"
#include DSC_RULE_FILE
