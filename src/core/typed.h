/*
 * typed.h: reads the typed part of a file (its code under #ifdef T) once for float and
 * once for double, so a kernel is written once as plain C over the element type T.
 * FN(name) names the function of the current type: name_f32, name_f64. A file sets
 * DSC_TYPED_FILE to its own path relative to this header (a quoted #include here looks
 * in src/core first) and includes this at the end of its plain part:
 *
 *     #ifndef T
 *     ... the plain part: includes, types, functions that pick a typed one ...
 *     #define DSC_TYPED_FILE "../nn/pool.c"
 *     #include "../core/typed.h"
 *     #endif
 *     #ifdef T
 *     static void FN(pool_forward)(const T *x, T *y, size_t n) { ... }
 *     #endif
 *
 * The functions of the plain part that call typed ones go after the typed part, under
 * a second #ifndef T, or are declared before it. src/optim's rule_types.h does the same
 * with the gradient prologue of the update rules. No include guard: included once per file.
 */
#define T float
#define FN(name) name##_f32
#include DSC_TYPED_FILE
#undef FN
#undef T

#define T double
#define FN(name) name##_f64
#include DSC_TYPED_FILE
#undef FN
#undef T

#undef DSC_TYPED_FILE
