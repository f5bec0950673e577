/* mpi_error.c: an MPI failure as our status and message. */
#include "dist.h"

dsc_status dsc__mpi_fail(int rc, const char *who, const char *call)
{
    char msg[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(rc, msg, &len);
    return dsc__fail(DSC_ERR_IO, "%s: %s failed: %s", who, call, msg);
}
