/* SPDX-License-Identifier: Apache-2.0 */
/* The crash guard (crash_guard.h): the per-thread dispatch mark, the fatal-signal handler that
 * copies it into a memory-mapped record, and reading that record back at the next start. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "common/internal.h"
#include "delivery/crash_guard.h"

#define PAGE_MAGIC "FTHCRSH1"
#define PAGE_SIZE_BYTES 4096

/* The file's layout (one page). `written` is stored last, so a record is whole or absent. */
typedef struct crash_page {
    char magic[8];
    uint32_t written;
    int32_t signal;
    int32_t pid;
    int32_t reserved;
    double time;
    char instance[128];
    char id[FTRACK_ID_MAX];
    char topic[128];
} crash_page;

typedef struct thread_mark {
    volatile sig_atomic_t active;
    char instance[128];
    char id[FTRACK_ID_MAX];
    char topic[128];
} thread_mark;

static const int FATAL[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
#define FATAL_COUNT (sizeof(FATAL) / sizeof(FATAL[0]))

/* Process-wide (see the header): what the handler writes to and hands the signal on to. */
static crash_page *guard_page;
static struct sigaction previous[FATAL_COUNT];
static bool installed;
static int claimed; /* the first crashing thread writes the record */
static __thread thread_mark mark;

/* memcpy is not on the async-signal-safe list: copy by hand in the handler. */
static void copy_text(char *dst, const char *src, size_t size)
{
    size_t i = 0;
    for (; i + 1 < size && src[i]; i++)
        dst[i] = src[i];
    dst[i] = '\0';
}

static void on_fatal(int sig, siginfo_t *info, void *context)
{
    (void)info;
    (void)context;
    crash_page *p = __atomic_load_n(&guard_page, __ATOMIC_ACQUIRE);
    if (p && mark.active && !__atomic_exchange_n(&claimed, 1, __ATOMIC_ACQ_REL)) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        copy_text(p->instance, mark.instance, sizeof(p->instance));
        copy_text(p->id, mark.id, sizeof(p->id));
        copy_text(p->topic, mark.topic, sizeof(p->topic));
        p->signal = sig;
        p->pid = (int32_t)getpid();
        p->time = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
        __atomic_store_n(&p->written, 1, __ATOMIC_RELEASE);
    }
    /* Hand the signal on: it is blocked until this handler returns, then taken as before. */
    for (size_t i = 0; i < FATAL_COUNT; i++)
        if (FATAL[i] == sig)
            sigaction(sig, &previous[i], NULL);
    raise(sig);
}

static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_fatal;
    sa.sa_flags = SA_SIGINFO;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < FATAL_COUNT; i++)
        sigaction(FATAL[i], &sa, &previous[i]);
    installed = true;
}

static void take_previous(const crash_page *p, fth_crash_record *out)
{
    memset(out, 0, sizeof(*out));
    if (memcmp(p->magic, PAGE_MAGIC, sizeof(p->magic)) != 0 ||
        __atomic_load_n(&p->written, __ATOMIC_ACQUIRE) != 1)
        return;
    out->signal = p->signal > 0 ? p->signal : SIGSEGV;
    out->time = p->time;
    out->pid = p->pid;
    /* The page comes from disk: bound every string. */
    snprintf(out->instance, sizeof(out->instance), "%.*s", (int)sizeof(p->instance) - 1,
             p->instance);
    snprintf(out->id, sizeof(out->id), "%.*s", (int)sizeof(p->id) - 1, p->id);
    snprintf(out->topic, sizeof(out->topic), "%.*s", (int)sizeof(p->topic) - 1, p->topic);
}

ftrack_status fth_crash_guard_open(const char *path, fth_crash_record *prev, ftrack_error *err)
{
    memset(prev, 0, sizeof(*prev));
    if (guard_page)
        return FTRACK_OK;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, PAGE_SIZE_BYTES) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return fti_error(err, FTRACK_ERR_IO, "cannot open the crash record %s: %s", path,
                         strerror(e));
    }
    void *map = mmap(NULL, PAGE_SIZE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int e = errno;
    close(fd);
    if (map == MAP_FAILED)
        return fti_error(err, FTRACK_ERR_IO, "cannot map the crash record %s: %s", path,
                         strerror(e));
    crash_page *p = map;
    take_previous(p, prev);
    memset(p, 0, sizeof(*p));
    memcpy(p->magic, PAGE_MAGIC, sizeof(p->magic));
    claimed = 0;
    __atomic_store_n(&guard_page, p, __ATOMIC_RELEASE);
    install();
    return FTRACK_OK;
}

void fth_crash_guard_close(void)
{
    if (installed)
        for (size_t i = 0; i < FATAL_COUNT; i++)
            sigaction(FATAL[i], &previous[i], NULL);
    installed = false;
    crash_page *p = __atomic_exchange_n(&guard_page, NULL, __ATOMIC_ACQ_REL);
    if (p)
        munmap(p, PAGE_SIZE_BYTES);
}

void fth_crash_guard_dispatching(const char *instance, const char *id, const char *topic)
{
    if (!__atomic_load_n(&guard_page, __ATOMIC_RELAXED))
        return;
    /* The handler runs on this thread: fences against the compiler are enough. */
    mark.active = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    fti_strlcpy(mark.instance, instance, sizeof(mark.instance));
    fti_strlcpy(mark.id, id, sizeof(mark.id));
    fti_strlcpy(mark.topic, topic, sizeof(mark.topic));
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    mark.active = 1;
}

void fth_crash_guard_idle(void)
{
    mark.active = 0;
}

const char *fth_crash_guard_describe(int sig, char *buf, size_t size)
{
    const char *what = sigdescr_np(sig);
    snprintf(buf, size, "signal %d (%s)", sig, what ? what : "unknown");
    return buf;
}
