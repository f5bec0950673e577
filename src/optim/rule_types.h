/*
 * rule_types.h: reads the typed part of DSC_RULE_FILE (a kind's file, under #ifdef T)
 * once for float and once for double, with the gradient prologue of rule_grad.h for
 * each. FN(name) names a function of the current type: name_f32, name_f64.
 * No include guard: each kind's file includes it once, at the end of its plain part.
 */
#define T float
#define FN(name) name##_f32
#include "rule_grad.h"
#include DSC_RULE_FILE
#undef FN
#undef T

#define T double
#define FN(name) name##_f64
#include "rule_grad.h"
#include DSC_RULE_FILE
#undef FN
#undef T

#undef DSC_RULE_FILE
