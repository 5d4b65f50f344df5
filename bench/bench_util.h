/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTBENCH_UTIL_H
#define FTBENCH_UTIL_H
/* Small helpers shared by the benchmark programs (header-only: each program is one file).
 *
 * CPU time comes from /proc/<pid>/task/<tid>/schedstat (first field: nanoseconds on a CPU,
 * kernel and user), summed over the process's threads; memory from /proc/<pid>/status; bytes
 * written from /proc/<pid>/io (write_bytes: pages the process dirtied, mmap writes included,
 * counted when dirtied rather than when the kernel writes them back). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double fb_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Nanoseconds of CPU used by every live thread of `pid` (0 when it is gone). */
static inline uint64_t fb_cpu_ns(long pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/task", pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    uint64_t total = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char file[320];
        snprintf(file, sizeof(file), "/proc/%ld/task/%s/schedstat", pid, e->d_name);
        FILE *f = fopen(file, "r");
        if (!f)
            continue;
        unsigned long long ns = 0;
        if (fscanf(f, "%llu", &ns) == 1)
            total += ns;
        fclose(f);
    }
    closedir(d);
    return total;
}

/* A "Key:   <n> kB" field of /proc/<pid>/status in kB (-1 when absent). */
static inline long fb_status_kb(long pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%ld/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t klen = strlen(key);
    long kb = -1;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            kb = strtol(line + klen + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb;
}

/* The write_bytes line of /proc/<pid>/io, summed over its threads (-1 when unreadable). */
static inline long long fb_write_bytes(long pid)
{
    char path[64], line[128];
    snprintf(path, sizeof(path), "/proc/%ld/io", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long long bytes = -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, "write_bytes:", 12) == 0) {
            bytes = strtoll(line + 12, NULL, 10);
            break;
        }
    fclose(f);
    return bytes;
}

/* Processes whose CPU a run reports: "name=pid" arguments. */
typedef struct fb_watch {
    char name[32];
    long pid;
    uint64_t start_ns, end_ns;
    long long start_wb, end_wb; /* write_bytes, -1 when unreadable */
} fb_watch;

#define FB_MAX_WATCH 8

static inline int fb_watch_parse(const char *arg, fb_watch *w)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof(w->name))
        return -1;
    memcpy(w->name, arg, (size_t)(eq - arg));
    w->name[eq - arg] = '\0';
    char *end = NULL;
    w->pid = strtol(eq + 1, &end, 10);
    return (*end || w->pid <= 0) ? -1 : 0;
}

static inline void fb_watch_sample(fb_watch *w, int n, int end)
{
    for (int i = 0; i < n; i++) {
        uint64_t ns = fb_cpu_ns(w[i].pid);
        long long wb = fb_write_bytes(w[i].pid);
        if (end) {
            w[i].end_ns = ns;
            w[i].end_wb = wb;
        } else {
            w[i].start_ns = ns;
            w[i].start_wb = wb;
        }
    }
}

/* Print `"cpu_us_per_event":{"name":x,...}` for `events` events. */
static inline void fb_watch_print(FILE *out, const fb_watch *w, int n, double events)
{
    fprintf(out, "\"cpu_us_per_event\":{");
    for (int i = 0; i < n; i++)
        fprintf(out, "%s\"%s\":%.3f", i ? "," : "", w[i].name,
                events > 0 ? (double)(w[i].end_ns - w[i].start_ns) / 1e3 / events : 0.0);
    fprintf(out, "}");
}

/* Print `"write_bytes_per_event":{"name":x,...}` (null where /proc/<pid>/io was unreadable). */
static inline void fb_watch_print_io(FILE *out, const fb_watch *w, int n, double events)
{
    fprintf(out, "\"write_bytes_per_event\":{");
    for (int i = 0; i < n; i++) {
        fprintf(out, "%s\"%s\":", i ? "," : "", w[i].name);
        if (w[i].start_wb < 0 || w[i].end_wb < 0 || events <= 0)
            fprintf(out, "null");
        else
            fprintf(out, "%.1f", (double)(w[i].end_wb - w[i].start_wb) / events);
    }
    fprintf(out, "}");
}

static inline int fb_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : (x > y ? 1 : 0);
}

/* The q-quantile (0..1) of n sorted values (nearest rank). */
static inline double fb_quantile(const double *sorted, size_t n, double q)
{
    if (n == 0)
        return 0;
    size_t i = (size_t)(q * (double)n);
    if (i >= n)
        i = n - 1;
    return sorted[i];
}

#endif
