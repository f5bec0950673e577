/* cli_run.h: running the built command (DSC_CLI) from a cmocka test. static inline, so
 * a test that includes it and uses part of it compiles clean. Needs <cmocka.h> first. */
#ifndef DSC_TESTS_CLI_RUN_H
#define DSC_TESTS_CLI_RUN_H

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

/* Runs `descent args` (stderr dropped); its stdout (static buffer, 1 MiB) and exit
 * status, -1 when it did not exit (a signal). */
static inline const char *cli_run(const char *args, int *rc)
{
    static char out[1 << 20];
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s' %s 2>/dev/null", DSC_CLI, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return out;
}

#ifdef cJSON__h /* with <cjson/cJSON.h> included first */
/* Runs `descent args`, which must exit 0, and parses its stdout as JSON. */
static inline cJSON *cli_json(const char *args)
{
    int rc;
    const char *out = cli_run(args, &rc);
    if (rc != 0) fail_msg("'%s' exited with %d", args, rc);
    cJSON *o = cJSON_Parse(out);
    if (!o) fail_msg("'%s' printed no JSON: %.200s", args, out);
    return o;
}
#endif

#endif
