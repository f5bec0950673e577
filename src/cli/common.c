/* common.c: error reporting and strict option parsing for the subcommands. */
#include "cli.h"
#include "descent_plot.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int report(const char *cmd, int code, const char *fmt, va_list ap)
{
    fprintf(stderr, "descent %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    return code;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = report(cmd, CLI_EXIT_USAGE, fmt, ap);
    va_end(ap);
    return rc;
}

int cli_fail(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = report(cmd, CLI_EXIT_FAIL, fmt, ap);
    va_end(ap);
    return rc;
}

int cli_lib_error(const char *cmd, dsc_status st)
{
    const char *msg = dsc_last_error();
    fprintf(stderr, "descent %s: %s\n", cmd, msg[0] ? msg : dsc_status_str(st));
    return st == DSC_ERR_SPEC || st == DSC_ERR_RANGE || st == DSC_ERR_ARG ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
}

int cli_parse_int64(const char *text, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    errno = 0;
    if (!text || !*text) return -1;
    long long v = strtoll(text, &end, 10);
    if (errno || *end || v < min || v > max) return -1;
    *out = v;
    return 0;
}

int cli_parse_doubles(const char *text, double *out, size_t max, size_t *count)
{
    *count = 0;
    if (!text || !*text) return -1;
    const char *s = text;
    for (;;) {
        char *end;
        errno = 0;
        double v = strtod(s, &end);
        if (end == s || errno || !isfinite(v) || *count == max) return -1;
        out[(*count)++] = v;
        if (*end == '\0') return 0;
        if (*end != ',') return -1;
        s = end + 1;
    }
}

int cli_parse_dtype(const char *text, dsc_dtype *out)
{
    if (!strcmp(text, "f32") || !strcmp(text, "float32")) { *out = DSC_F32; return 0; }
    if (!strcmp(text, "f64") || !strcmp(text, "float64")) { *out = DSC_F64; return 0; }
    return -1;
}

int cli_print_json(cJSON *o)
{
    char *text = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text) return CLI_EXIT_FAIL;
    puts(text);
    cJSON_free(text);
    return 0;
}

int cli_run_error(const char *cmd, const cli_run *r, dsc_status st)
{
    if (r->error[0] && (st == DSC_ERR_FORMAT || st == DSC_ERR_NOMEM)) return cli_fail(cmd, "%s", r->error);
    if (r->error[0]) return cli_usage_error(cmd, "%s", r->error);
    return cli_lib_error(cmd, st);
}

void cli_add_number(cJSON *o, const char *key, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int cli_check_plot(const char *cmd, const char *path)
{
    if (!dsc_plot_device(path))
        return cli_usage_error(cmd, "--plot file must end in .png, .svg or .pdf, got '%s'", path);
    /* opened for append, so an existing figure is left as it was until the new one is drawn */
    int existed = access(path, F_OK) == 0;
    FILE *f = fopen(path, "ab");
    if (!f) return cli_fail(cmd, "cannot write the figure to %s", path);
    fclose(f);
    if (!existed) remove(path);
    return 0;
}
