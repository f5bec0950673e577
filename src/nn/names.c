/* names.c: name tables both ways (activations, losses, initialisations). */
#include "nn.h"

#include <stdio.h>
#include <string.h>

dsc_status dsc__name_index(const char *who, const char *const *names, int count, const char *name,
                           int *out)
{
    for (int i = 0; name && i < count; i++)
        if (!strcmp(name, names[i])) {
            *out = i;
            return DSC_OK;
        }
    char list[256] = "";
    size_t used = 0;
    for (int i = 0; i < count && used < sizeof list; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", names[i]);
    return dsc__fail(DSC_ERR_SPEC, "%s: unknown name '%s' (%s)", who, name ? name : "(null)", list);
}
