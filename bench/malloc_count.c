// Counts heap allocations of a process, for bench/allocations.sh: LD_PRELOAD this library,
// send SIGUSR2 to print the running totals to stderr. Only counts; never changes behaviour.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_ulong allocations, frees, bytes;
static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);

// dlsym may call calloc before real_calloc is known: serve it from a small static arena.
static char arena[4096];
static size_t arena_used;

static void report(int sig) {
    (void)sig;
    char line[160];
    int n = snprintf(line, sizeof line, "malloc_count allocations=%lu frees=%lu bytes=%lu\n",
                     atomic_load(&allocations), atomic_load(&frees), atomic_load(&bytes));
    if (n > 0) write(2, line, (size_t)n);
}

__attribute__((constructor)) static void setup(void) {
    real_malloc = dlsym(RTLD_NEXT, "malloc");
    real_calloc = dlsym(RTLD_NEXT, "calloc");
    real_realloc = dlsym(RTLD_NEXT, "realloc");
    real_free = dlsym(RTLD_NEXT, "free");
    real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    signal(SIGUSR2, report);
}

void *malloc(size_t size) {
    if (!real_malloc) setup();
    atomic_fetch_add(&allocations, 1);
    atomic_fetch_add(&bytes, size);
    return real_malloc(size);
}

void *calloc(size_t count, size_t size) {
    if (!real_calloc) {
        size_t total = (count * size + 15) & ~(size_t)15;
        if (arena_used + total > sizeof arena) return NULL;
        void *p = arena + arena_used;
        arena_used += total;
        memset(p, 0, total);
        return p;
    }
    atomic_fetch_add(&allocations, 1);
    atomic_fetch_add(&bytes, count * size);
    return real_calloc(count, size);
}

void *realloc(void *p, size_t size) {
    if (!real_realloc) setup();
    // A resize is one allocation and, of a block that existed, one free.
    atomic_fetch_add(&allocations, 1);
    atomic_fetch_add(&bytes, size);
    if (p != NULL) atomic_fetch_add(&frees, 1);
    return real_realloc(p, size);
}

void free(void *p) {
    if (p == NULL) return;
    if ((char *)p >= arena && (char *)p < arena + sizeof arena) return;
    if (!real_free) setup();
    atomic_fetch_add(&frees, 1);
    real_free(p);
}

int posix_memalign(void **out, size_t alignment, size_t size) {
    if (!real_posix_memalign) setup();
    atomic_fetch_add(&allocations, 1);
    atomic_fetch_add(&bytes, size);
    return real_posix_memalign(out, alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size) {
    if (!real_aligned_alloc) setup();
    atomic_fetch_add(&allocations, 1);
    atomic_fetch_add(&bytes, size);
    return real_aligned_alloc(alignment, size);
}
