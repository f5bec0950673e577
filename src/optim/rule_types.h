/*
 * rule_types.h: reads the typed part of DSC_RULE_FILE (a kind's file, under #ifdef T)
 * once for float and once for double, with the gradient prologue of rule_grad.h for
 * each: core/typed.h's reading, of rule_part.h. FN(name) names a function of the
 * current type: name_f32, name_f64.
 * No include guard: each kind's file includes it once, at the end of its plain part.
 */
#define DSC_TYPED_FILE "../optim/rule_part.h" /* a path from src/core, where typed.h is */
#include "../core/typed.h"

#undef DSC_RULE_FILE
