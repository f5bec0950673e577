/*
 * test_kinds.c: no kind can be forgotten. Every kind of dsc_kind (0..DSC_KIND_COUNT)
 * has its update rule in the registry and its rows in the tests, the benchmark and the
 * docs that docs/adding_an_optimizer.md lists: a new kind that lacks one fails here,
 * naming the file.
 *
 * A closure kind (L-BFGS: its step re-evaluates the loss, over the flat vector of every
 * tensor) has no per-element rule: no reference or fast loop, so no row in test_fast.c,
 * test_bench.c or bench/targets.sh, and its state is not per tensor, so test_checkpoint.c's
 * per-tensor save/load list does not fit it either. Its own tests/test_<kind>.c replays
 * torch's trajectories and resumes from checkpoints instead (checked here).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"

/* The whole of a file under the source tree (DSC_TEST_DATA is tests/). */
static char *slurp(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", DSC_TEST_DATA, rel);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
    buf[len] = '\0';
    fclose(f);
    return buf;
}

/* Whether text holds the kind's name as a spec: quote, name, then '(' or the quote. */
static int has_spec(const char *text, char quote, const char *name)
{
    char a[80], b[80];
    snprintf(a, sizeof a, "%c%s(", quote, name);
    snprintf(b, sizeof b, "%c%s%c", quote, name, quote);
    return strstr(text, a) || strstr(text, b);
}

/* Whether text holds name as a word (not inside adamw or schedulefree_adamw). */
static int has_word(const char *text, const char *name)
{
    size_t n = strlen(name);
    for (const char *at = strstr(text, name); at; at = strstr(at + 1, name)) {
        char before = at == text ? ' ' : at[-1], after = at[n];
        int inside = (before >= 'a' && before <= 'z') || before == '_' || (after >= 'a' && after <= 'z') || after == '_';
        if (!inside) return 1;
    }
    return 0;
}

static int file_exists(const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", DSC_TEST_DATA, rel);
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

static void test_registry_has_every_kind(void **state)
{
    (void)state;
    for (int k = 0; k < DSC_KIND_COUNT; k++) {
        const dsc__ops *ops = dsc__ops_for((dsc_kind)k);
        if (!ops || ops->kind != (dsc_kind)k || !dsc_kind_name((dsc_kind)k))
            fail_msg("kind %d has no update rule in src/core/registry.c (or no name in kind.c)", k);
        if (ops->closure_step) {
            if (!ops->wide_create || !ops->wide_free || !ops->wide_count || !ops->wide_tensor || !ops->wide_check)
                fail_msg("%s: a closure kind needs every wide hook of dsc__ops", dsc_kind_name((dsc_kind)k));
            continue;
        }
        if (!ops->state_names || !ops->prepare || !ops->reference[0] || !ops->reference[1])
            fail_msg("%s: its dsc__ops lacks state_names, prepare or a reference loop", dsc_kind_name((dsc_kind)k));
    }
}

static void test_every_kind_has_its_rows(void **state)
{
    (void)state;
    /* A kind that takes only sparse gradients (sparse_adam) runs neither the dense
     * tests nor the command's problems: test_sparse.c replays it fast against the
     * reference and resumes its checkpoints, and cli_errors.sh sees the command refuse
     * it. sparse_file names where its row is then. */
    struct {
        const char *file;
        char quote;
        const char *what;
        const char *sparse_file;
    } rows[] = { /* quote 0: the name as a word */
        {"test_fast.c", '"', "a reference-vs-fast spec", "test_sparse.c"},
        {"test_checkpoint.c", '"', "a save/load spec", "test_sparse.c"},
        {"cli_resume.sh", '\'', "a resume spec", "cli_errors.sh"},
        {"test_bench.c", '"', "its name in the bench list", NULL},
        {"../bench/targets.sh", 0, "its name in the kinds section", NULL},
    };
    char *text[sizeof rows / sizeof rows[0]], *sparse_text[sizeof rows / sizeof rows[0]];
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        text[r] = slurp(rows[r].file);
        sparse_text[r] = rows[r].sparse_file ? slurp(rows[r].sparse_file) : NULL;
    }
    char *library = slurp("../docs/library.md"), *beyond = slurp("golden/beyond_golden.h");
    for (int k = 0; k < DSC_KIND_COUNT; k++) {
        const char *name = dsc_kind_name((dsc_kind)k);
        int sparse_only = dsc__ops_for((dsc_kind)k)->sparse == DSC__SPARSE_ONLY;
        const int closure = dsc__ops_for((dsc_kind)k)->closure_step != NULL;
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
            if (closure && strcmp(rows[r].file, "cli_resume.sh")) continue; /* per-element or per-tensor rows */
            int alt = sparse_only && rows[r].sparse_file;
            const char *t = alt ? sparse_text[r] : text[r], *file = alt ? rows[r].sparse_file : rows[r].file;
            int ok = rows[r].quote ? has_spec(t, rows[r].quote, name) : has_word(t, name);
            if (!ok) fail_msg("%s: tests/%s lacks %s", name, file, rows[r].what);
        }
        char golden[128], row[96];
        snprintf(golden, sizeof golden, "golden/%s.txt", name);
        if (!file_exists(golden) && !has_spec(beyond, '"', name))
            fail_msg("%s: no golden cases from torch (tests/golden/%s.txt or make_beyond.py)", name, name);
        snprintf(row, sizeof row, "| `%s` |", name);
        if (!strstr(library, row)) fail_msg("%s: docs/library.md has no row %s", name, row);
        if (closure) { /* its own test file: torch's trajectories and checkpoint resumes */
            char own[128];
            snprintf(own, sizeof own, "test_%s.c", name);
            if (!file_exists(own)) fail_msg("%s: a closure kind needs tests/%s", name, own);
            char *text_own = slurp(own);
            if (!strstr(text_own, "dsc_checkpoint_load") || !strstr(text_own, "golden/"))
                fail_msg("%s: tests/%s must replay golden cases and load checkpoints", name, own);
            free(text_own);
        }
    }
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        free(text[r]);
        free(sparse_text[r]);
    }
    free(library);
    free(beyond);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_has_every_kind),
        cmocka_unit_test(test_every_kind_has_its_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
