/*
 * sched_internal.h: what the schedule files share. A schedule is one object with the
 * parsed keys of its kind, a position (PyTorch's last_epoch), the current rate and a
 * few kind-specific scalars; each kind supplies how the rate starts and how one step
 * changes it. Chainable PyTorch kinds keep PyTorch's recursion (in the same order of
 * operations) so their numbers agree to the last bit, not only to the closed form.
 */
#ifndef DSC_SCHED_INTERNAL_H
#define DSC_SCHED_INTERNAL_H

#include "../core/internal.h"

#define DSC__SCHED_MAX_KEYS 8
#define DSC__SCHED_MAX_STATE 3
#define DSC__SCHED_MAX_CHILDREN 8
#define DSC__SCHED_MAX_MILESTONES 32

#define DSC__NKEYS(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* math.pi, the double nearest pi (M_PI is not C11) */
#define DSC__PI 3.141592653589793

/* Key flags */
enum {
    SK_REQUIRED = 1u << 0, /* no default: the spec must give it */
    SK_INT = 1u << 1,      /* an integer */
    SK_BOOL = 1u << 2,     /* true/false */
    SK_ENUM = 1u << 3,     /* one of the '|'-separated names in choices, stored as its index */
    SK_LO_OPEN = 1u << 4,  /* lo excluded */
    SK_HI_OPEN = 1u << 5,  /* hi excluded */
    SK_OPTIONAL = 1u << 6, /* default NAN means "derived from other keys or the base" */
    SK_LIST = 1u << 7      /* a list of integers (milestones) */
};

typedef struct dsc__sched_key {
    const char *key;
    double def;
    double lo, hi;
    unsigned flags;
    const char *choices; /* SK_ENUM: "min|max" */
} dsc__sched_key;

typedef struct dsc__sched_kind dsc__sched_kind;

struct dsc_sched {
    const dsc__sched_kind *kind;
    char *spec;                  /* as given (owned) */
    double base;                 /* PyTorch's initial_lr */
    double p[DSC__SCHED_MAX_KEYS]; /* key values, in the kind's key order */
    int64_t ms[DSC__SCHED_MAX_MILESTONES]; /* milestones (multistep, sequential) */
    int nms;
    int64_t pos;                 /* steps taken (PyTorch's last_epoch) */
    double lr;                   /* rate of the next step */
    double st[DSC__SCHED_MAX_STATE]; /* kind state, named by the kind */
    double *hist;                /* King's loss history */
    size_t nhist, cap;
    int nchild;                  /* sequential */
    dsc_sched *child[DSC__SCHED_MAX_CHILDREN];
    /* flattened state names (top-level object only) */
    size_t nnames;
    struct dsc__sched_name { char name[40]; dsc_sched *owner; int field; } *names;
    /* lambda, multiplicative: the caller's function (dsc_sched_create_fn), or NULL */
    dsc_sched_fn fn;
    void *fn_ctx;
};

/* State flags of a kind's scalars, for checking restored values. */
enum { SS_REAL = 0, SS_COUNT = 1, SS_POSITIVE_COUNT = 2, SS_NOT_NAN = 3 };

struct dsc__sched_kind {
    const char *name;
    const dsc__sched_key *keys;
    int nkeys;
    int needs_loss;
    int composite; /* its positional items are schedules, built (sched.c) before check */
    const char *const *state_names; /* st[] names */
    const int *state_flags;
    int nstate;
    /* checks across keys after parsing (may be NULL) */
    dsc_status (*check)(dsc_sched *s);
    /* the rate at position 0 (pos is 0): closed = 0 as a fresh PyTorch scheduler computes it,
     * 1 as scheduler.step(0) does (SequentialLR at a milestone: the closed form) */
    void (*start)(dsc_sched *s, int closed);
    /* whether one more step is allowed (may be NULL: always) */
    dsc_status (*can_step)(const dsc_sched *s);
    /* the rate after pos was incremented, from the previous rate and the loss */
    void (*advance)(dsc_sched *s, double loss);
    /* for the kinds whose rate is a function of the position alone (onecycle, cyclic,
     * noam, exponential_stages): set instead of start and advance */
    void (*rate)(dsc_sched *s);
    /* the rates this schedule can reach, given its keys and base, into [*lo, *hi]: a
     * restored rate outside is refused (may be NULL: a loose bound from the keys) */
    void (*range)(const dsc_sched *s, double *lo, double *hi);
};

extern const dsc__sched_kind dsc__sched_step, dsc__sched_multistep, dsc__sched_exponential,
    dsc__sched_linear, dsc__sched_constant, dsc__sched_polynomial, dsc__sched_cosine,
    dsc__sched_cosine_restarts, dsc__sched_onecycle, dsc__sched_cyclic, dsc__sched_plateau,
    dsc__sched_king, dsc__sched_noam, dsc__sched_exponential_stages, dsc__sched_sequential,
    dsc__sched_lambda, dsc__sched_multiplicative, dsc__sched_chained;

/* The check that a step may happen (onecycle ends), then the step itself, which
 * cannot fail after the check; advance.c. */
dsc_status dsc__sched_can_step(const dsc_sched *s);
void dsc__sched_advance(dsc_sched *s, double loss);

/* Whether s is lambda or multiplicative with fn=callback (lambda.c). */
int dsc__sched_wants_fn(const dsc_sched *s);

/* Parses spec (already split) into a fresh schedule, a composite kind's children
 * included; sched.c. */
dsc_status dsc__sched_build(dsc_sched **out, const dsc__spec *sp, const char *text, double base);
void dsc__sched_free(dsc_sched *s);
/* Range helpers for the kinds (range.c): [a, b] in either order; the same widened by the
 * rounding of a formula that is not exact (a cosine, a ratio of factors); the rates of
 * a product by factor (> 0) again and again from base: [0, base] when factor <= 1 (it
 * may underflow to 0), else from base up. */
void dsc__sched_between(double a, double b, double *lo, double *hi);
void dsc__sched_rounded(double a, double b, double *lo, double *hi);
void dsc__sched_decayed(double base, double factor, double *lo, double *hi);
/* The kind's range of s, or for a kind without one, [0, a bound from its keys]. */
void dsc__sched_rate_range(const dsc_sched *s, double *lo, double *hi);
/* Puts s at position 0 (closed: as scheduler.step(0) does; see start); advance.c. */
void dsc__sched_start(dsc_sched *s, int closed);

#endif
