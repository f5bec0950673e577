/* common.c: error reporting and strict option parsing for the subcommands. */
#include "cli.h"
#include "descent_plot.h"
#include "../core/internal.h" /* dsc__outfile */

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cli_json_errors;

/* Set when an allocation of cJSON's failed. The builders of the --json output add
 * dozens of items each and a failed cJSON_Add* only leaves its item out, so rather
 * than a check after every call, cJSON allocates through json_malloc (cli_json_init),
 * and cli_print_json refuses to print a tree that lost anything. */
static int json_alloc_failed;

static void *json_malloc(size_t n)
{
    void *p = malloc(n);
    if (!p) json_alloc_failed = 1;
    return p;
}

int cli_json_add(cJSON *parent, const char *key, cJSON *item)
{
    int ok = parent && item && (key ? cJSON_AddItemToObjectCS(parent, key, item) : cJSON_AddItemToArray(parent, item));
    if (!ok) cJSON_Delete(item); /* its parent's allocation failed: nothing owns it */
    return ok;
}

void cli_json_init(void)
{
    cJSON_Hooks hooks = {json_malloc, free};
    cJSON_InitHooks(&hooks);
}

static int report(const char *cmd, int code, const char *fmt, va_list ap)
{
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (!cli_json_errors) {
        fprintf(stderr, "descent%s%s: %s\n", *cmd ? " " : "", cmd, msg);
        return code;
    }
    /* one JSON line a script parses like the --json output; cJSON escapes the text */
    cJSON *o = cJSON_CreateObject();
    char *text = o && cJSON_AddStringToObject(o, "error", msg) && (!*cmd || cJSON_AddStringToObject(o, "command", cmd))
                     ? cJSON_PrintUnformatted(o)
                     : NULL;
    if (text) fprintf(stderr, "%s\n", text);
    else fprintf(stderr, "{\"error\":\"out of memory\"}\n");
    cJSON_free(text);
    cJSON_Delete(o);
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
    int code = st == DSC_ERR_SPEC || st == DSC_ERR_RANGE || st == DSC_ERR_ARG ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
    return code == CLI_EXIT_USAGE ? cli_usage_error(cmd, "%s", msg[0] ? msg : dsc_status_str(st))
                                  : cli_fail(cmd, "%s", msg[0] ? msg : dsc_status_str(st));
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

/* The shortest of 15, 16 and 17 significant digits that reads back as exactly v
 * (17 always does): cJSON stops at 15 whenever those read back within about an ulp. */
static void shortest_number(double v, char *buf, size_t cap)
{
    for (int digits = 15; digits < 17; digits++) {
        snprintf(buf, cap, "%.*g", digits, v);
        if (strtod(buf, NULL) == v) return;
    }
    snprintf(buf, cap, "%.17g", v);
}

/* Replaces every finite number under item by raw text that round-trips exactly (the
 * others print as null). -1 when out of memory. */
static int exact_numbers(cJSON *item)
{
    for (cJSON *c = item->child, *next; c; c = next) {
        next = c->next;
        if (cJSON_IsNumber(c) && isfinite(c->valuedouble)) {
            char buf[32];
            shortest_number(c->valuedouble, buf, sizeof buf);
            cJSON *raw = cJSON_CreateRaw(buf);
            if (!raw) return -1;
            if (c->string) { /* the key moves to the replacement */
                raw->string = c->string;
                raw->type |= c->type & cJSON_StringIsConst;
                c->string = NULL;
            }
            cJSON_ReplaceItemViaPointer(item, c, raw);
        } else if (c->child && exact_numbers(c)) {
            return -1;
        }
    }
    return 0;
}

int cli_print_json(const char *cmd, cJSON *o)
{
    char *text = o && !json_alloc_failed && !exact_numbers(o) ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!text || json_alloc_failed) { /* an item left out: no partial object */
        cJSON_free(text);
        return cli_fail(cmd, "out of memory building the JSON output");
    }
    puts(text);
    cJSON_free(text);
    return 0;
}

int cli_run_error(const char *cmd, const cli_run *r, dsc_status st)
{
    if (r->error[0] && (st == DSC_ERR_FORMAT || st == DSC_ERR_NOMEM || st == DSC_ERR_IO)) return cli_fail(cmd, "%s", r->error);
    if (r->error[0]) return cli_usage_error(cmd, "%s", r->error);
    return cli_lib_error(cmd, st);
}

void cli_add_number(cJSON *o, const char *key, double v)
{
    if (isfinite(v)) cJSON_AddNumberToObject(o, key, v);
    else cJSON_AddNullToObject(o, key);
}

const char *cli_s(long long n) { return n == 1 ? "" : "s"; }

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

struct cli_out {
    const char *option;
    dsc__outfile file;
};

int cli_out_open(const char *cmd, const char *option, const char *path, cli_out **out)
{
    cli_out *o = malloc(sizeof *o);
    if (!o) return cli_fail(cmd, "out of memory opening '%s'", path);
    o->option = option;
    dsc_status st = dsc__outfile_open(option, path, &o->file);
    if (st) {
        free(o);
        return cli_lib_error(cmd, st);
    }
    *out = o;
    return 0;
}

FILE *cli_out_file(const cli_out *o) { return o->file.f; }

int cli_out_close(const char *cmd, cli_out *o, int keep)
{
    if (!o) return 0;
    dsc_status st = dsc__outfile_finish(o->option, &o->file, keep);
    free(o);
    return st ? cli_lib_error(cmd, st) : 0;
}
