/* status.c: status strings and the per-thread message of the last failure. */
#include "internal.h"

#include <stdio.h>

/* Per-thread, like errno: the only mutable state with static storage, and no two
 * threads share it. */
static _Thread_local char last_error[512];

const char *dsc_status_str(dsc_status st)
{
    switch (st) {
    case DSC_OK: return "ok";
    case DSC_ERR_ARG: return "invalid argument";
    case DSC_ERR_NOMEM: return "out of memory";
    case DSC_ERR_SPEC: return "malformed spec";
    case DSC_ERR_RANGE: return "value out of range";
    case DSC_ERR_NONFINITE: return "non-finite gradient";
    case DSC_ERR_IO: return "input/output error";
    case DSC_ERR_FORMAT: return "malformed data";
    case DSC_ERR_MISMATCH: return "mismatch";
    case DSC_ERR_UNSUPPORTED: return "unsupported";
    }
    return "unknown status";
}

const char *dsc_last_error(void) { return last_error; }

const char *dsc_version(void) { return DSC_VERSION_STRING; }


dsc_status dsc__fail(dsc_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return st;
}

dsc_status dsc__fail_prefix(dsc_status st, const char *prefix)
{
    char msg[sizeof last_error];
    snprintf(msg, sizeof msg, "%s", last_error);
    return dsc__fail(st, "%s: %s", prefix, msg);
}
