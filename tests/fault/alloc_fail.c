/*
 * alloc_fail.c: a preloaded allocator that fails the Nth allocation (SQLite's fault
 * injection, for a program we do not rebuild).
 *
 *   DSC_FAULT_FAIL=N     the Nth counted allocation returns NULL (errno ENOMEM);
 *                        0 or unset: none fails
 *   DSC_FAULT_REPORT=F   at exit, append "<count> <failed>" to file F: how many
 *                        allocations were counted, and whether the Nth happened
 *   DSC_FAULT_SITES=F    at exit, write to F one line per counted allocation: a hash
 *                        of its call stack (the innermost frames), so that a sweep
 *                        can fail each distinct call path rather than each of the
 *                        hundreds of identical allocations of a loop
 *
 * Counted are malloc, calloc, realloc, posix_memalign, aligned_alloc, memalign,
 * strdup and strndup, when called from descent itself (the command, a test program
 * linked with libdescent.a) or from the two libraries the library drives with its own
 * data and whose failures it must handle: cJSON (the checkpoint header) and zlib.
 * The caller is the return address, looked up once with dladdr. OpenBLAS, libgomp,
 * PLplot, fontconfig and the C library's own allocations are never failed: they abort
 * or crash on a NULL themselves, which no caller can handle, and glibc's stdio, dlopen
 * and locale code call malloc on paths that are not descent's.
 *
 * Under AddressSanitizer the shim is preloaded first (ASAN_OPTIONS=
 * verify_asan_link_order=0) and forwards to ASan's allocator through dlsym, so ASan
 * still sees every block.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <link.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef void *(*malloc_fn)(size_t);
typedef void *(*calloc_fn)(size_t, size_t);
typedef void *(*realloc_fn)(void *, size_t);
typedef void (*free_fn)(void *);
typedef int (*posix_memalign_fn)(void **, size_t, size_t);
typedef void *(*aligned_alloc_fn)(size_t, size_t);

static malloc_fn real_malloc;
static calloc_fn real_calloc;
static realloc_fn real_realloc;
static free_fn real_free;
static posix_memalign_fn real_posix_memalign;
static aligned_alloc_fn real_aligned_alloc;
static aligned_alloc_fn real_memalign;

/* dlsym may allocate before the real functions are known: those blocks come from here
 * and are never freed. */
static _Alignas(64) unsigned char boot[1 << 16];
static size_t boot_used;
static int resolving;

static long long fail_at, counted;
static int armed, failed, reported;

/* Set while the shim itself works (backtrace loads the unwinder, which allocates).
 * initial-exec: the first allocations come while AddressSanitizer starts, before the
 * dynamic TLS of a preloaded object can be reached through __tls_get_addr. */
static _Thread_local int inside __attribute__((tls_model("initial-exec")));

/* The call-stack hash of each counted allocation, when DSC_FAULT_SITES asks. */
#define MAX_SITES (1 << 18)
static uint64_t sites[MAX_SITES];
static int record_sites;
#define STACK_FRAMES 16
static int depth = 10; /* DSC_FAULT_FRAMES: frames hashed, the shim's own included */

static void *boot_alloc(size_t n)
{
    n = (n + 63) & ~(size_t)63;
    if (n > sizeof boot - boot_used) return NULL;
    void *p = boot + boot_used;
    boot_used += n;
    return p;
}

static int from_boot(const void *p)
{
    return (const unsigned char *)p >= boot && (const unsigned char *)p < boot + sizeof boot;
}

/* At exit, as the shim is unloaded (a destructor rather than atexit: the first
 * allocation may come while AddressSanitizer is still starting, when it refuses
 * atexit). */
__attribute__((destructor)) static void report(void)
{
    const char *path = getenv("DSC_FAULT_REPORT");
    if (!path || reported) return;
    reported = 1;
    FILE *f = fopen(path, "a");
    if (!f) return;
    fprintf(f, "%lld %d\n", counted, failed);
    fclose(f);
    const char *sites_path = getenv("DSC_FAULT_SITES");
    if (!sites_path || !(f = fopen(sites_path, "w"))) return;
    for (long long i = 0; i < counted && i < MAX_SITES; i++) fprintf(f, "%016llx\n", (unsigned long long)sites[i]);
    fclose(f);
}

/* FNV-1a over the innermost frames' return addresses, each as an offset into its
 * object (so the same path hashes the same in every run, whatever the address space
 * randomization: a sweep can skip in one scenario what another has tried). */
static uint64_t stack_key(void)
{
    void *frames[STACK_FRAMES];
    int n = backtrace(frames, depth);
    uint64_t h = 1469598103934665603ull;
    for (int i = 0; i < n; i++) {
        Dl_info info;
        uintptr_t a = (uintptr_t)frames[i];
        if (dladdr(frames[i], &info) && info.dli_fbase) a -= (uintptr_t)info.dli_fbase;
        h ^= (uint64_t)a;
        h *= 1099511628211ull;
    }
    return h;
}

/* dlsym gives an object pointer; POSIX guarantees a function's converts (copied,
 * since ISO C has no cast between the two). */
static void load(void *fn, const char *name)
{
    void *p = dlsym(RTLD_NEXT, name);
    memcpy(fn, &p, sizeof p);
}

static void resolve(void)
{
    if (real_malloc || resolving) return;
    resolving = 1;
    load(&real_calloc, "calloc");
    load(&real_realloc, "realloc");
    load(&real_free, "free");
    load(&real_posix_memalign, "posix_memalign");
    load(&real_aligned_alloc, "aligned_alloc");
    load(&real_memalign, "memalign");
    load(&real_malloc, "malloc");
    resolving = 0;
}

/* The settings, read once the environment is there (the first allocations come
 * earlier, while the loader and AddressSanitizer start: none is counted). */
__attribute__((constructor)) static void arm(void)
{
    const char *n = getenv("DSC_FAULT_FAIL");
    fail_at = n ? atoll(n) : 0;
    record_sites = getenv("DSC_FAULT_SITES") != NULL;
    const char *frames = getenv("DSC_FAULT_FRAMES");
    if (frames && atoi(frames) > 0 && atoi(frames) <= STACK_FRAMES) depth = atoi(frames);
    armed = 1;
}

/* Whether the object at path is a library whose allocations are counted. */
static int counted_library(const char *path)
{
    static const char *const names[] = {"libcjson.", "libz."};
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strncmp(base, names[i], strlen(names[i]))) return 1;
    return 0;
}

/* Return addresses already classified (dladdr takes the loader's lock), each entry
 * address << 1 | verdict, read and written whole so threads may share it. */
#define CACHE 4096
static uint64_t cache[CACHE];

static int caller_counted(const void *ret)
{
    uint64_t a = (uint64_t)(uintptr_t)ret;
    size_t slot = (size_t)(a >> 2) % CACHE;
    uint64_t entry = __atomic_load_n(&cache[slot], __ATOMIC_RELAXED);
    if (entry >> 1 == a) return (int)(entry & 1);
    Dl_info info;
    struct link_map *map = NULL;
    int verdict = 0;
    if (dladdr1(ret, &info, (void **)&map, RTLD_DL_LINKMAP) && map)
        /* the main program's map has the empty name */
        verdict = !map->l_name[0] || counted_library(map->l_name);
    __atomic_store_n(&cache[slot], a << 1 | (uint64_t)verdict, __ATOMIC_RELAXED);
    return verdict;
}

/* Whether this allocation, called from ret, is the one to fail. */
static int should_fail(const void *ret)
{
    if (!armed || resolving || inside) return 0;
    inside = 1;
    int counts = caller_counted(ret);
    uint64_t key = counts && record_sites ? stack_key() : 0;
    inside = 0;
    if (!counts) return 0;
    long long n = __atomic_add_fetch(&counted, 1, __ATOMIC_RELAXED);
    if (n <= MAX_SITES) sites[n - 1] = key;
    if (fail_at && n == fail_at) {
        failed = 1;
        errno = ENOMEM;
        return 1;
    }
    return 0;
}

void *malloc(size_t n)
{
    resolve();
    if (!real_malloc) return boot_alloc(n);
    if (should_fail(__builtin_return_address(0))) return NULL;
    return real_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    resolve();
    if (!real_calloc) return n && size > SIZE_MAX / n ? NULL : boot_alloc(n * size); /* boot is zeroed */
    if (should_fail(__builtin_return_address(0))) return NULL;
    return real_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    resolve();
    if (from_boot(p)) { /* never happens in practice: dlsym's blocks are small and kept */
        void *q = malloc(n);
        if (q) memcpy(q, p, n);
        return q;
    }
    if (should_fail(__builtin_return_address(0))) return NULL;
    return real_realloc(p, n);
}

void free(void *p)
{
    if (!p || from_boot(p)) return;
    resolve();
    real_free(p);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    resolve();
    if (should_fail(__builtin_return_address(0))) return ENOMEM;
    return real_posix_memalign(out, align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    resolve();
    if (should_fail(__builtin_return_address(0))) return NULL;
    return real_aligned_alloc(align, n);
}

void *memalign(size_t align, size_t n)
{
    resolve();
    if (should_fail(__builtin_return_address(0))) return NULL;
    return real_memalign(align, n);
}

char *strdup(const char *s)
{
    resolve();
    if (should_fail(__builtin_return_address(0))) return NULL;
    size_t n = strlen(s) + 1;
    char *d = real_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

char *strndup(const char *s, size_t max)
{
    resolve();
    if (should_fail(__builtin_return_address(0))) return NULL;
    size_t n = strnlen(s, max);
    char *d = real_malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}
