/* SPDX-License-Identifier: Apache-2.0 */
/* Plugin discovery, dlopen and ABI negotiation (ftrack/plugin_loader.h). */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <ftrack/plugin_loader.h>
#include "common/internal.h"
#include "plugin/params.h"

/* Newest first. Adding ABI v2 means adding 2 here and a branch in negotiate(). */
static const unsigned known_abi_versions[] = {1};
#define KNOWN_ABI_COUNT (sizeof(known_abi_versions) / sizeof(known_abi_versions[0]))
/* Entry points up to this version are probed to name an unknown ABI in the refusal. */
#define ABI_PROBE_MAX 255
/* A descriptor claiming more than this is garbage, not a newer header. */
#define DESCRIPTOR_SIZE_MAX 4096
#define WALK_DEPTH_MAX 32
#define PLUGIN_NAME_MAX 64

typedef struct plugin_file {
    char *path;
    void *handle;
    const ftrack_plugin_descriptor_v1 *descriptor;
    unsigned abi_version;
    char *refusal;
} plugin_file;

struct ftrack_plugin_set {
    plugin_file *files;
    size_t count;
    size_t cap;
};

const unsigned *ftrack_plugin_abi_versions(size_t *count)
{
    if (count)
        *count = KNOWN_ABI_COUNT;
    return known_abi_versions;
}

static plugin_file *set_append(ftrack_plugin_set *set, const char *path)
{
    if (!fti_array_reserve(&set->files, &set->cap, set->count + 1, sizeof(*set->files)))
        return NULL;
    plugin_file *f = &set->files[set->count];
    memset(f, 0, sizeof(*f));
    f->path = fti_strdup(path);
    if (!f->path)
        return NULL;
    set->count++;
    return f;
}

/* Records a refusal; returns false only when out of memory. */
static bool refuse(plugin_file *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool refuse(plugin_file *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    int n = vasprintf(&text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return false;
    free(f->refusal);
    f->refusal = text;
    return true;
}

static bool valid_plugin_name(const char *name)
{
    if (!name || !*name || strlen(name) > PLUGIN_NAME_MAX)
        return false;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static bool check_descriptor_v1(ftrack_plugin_set *set, plugin_file *f,
                                const ftrack_plugin_descriptor_v1 *d)
{
    if (!d)
        return refuse(f, "its entry point %s returned no descriptor", FTRACK_PLUGIN_ENTRY_V1);
    if (d->abi_version != 1)
        return refuse(f, "its descriptor says ABI v%u but came from the v1 entry point",
                      (unsigned)d->abi_version);
    if (d->size < sizeof(ftrack_plugin_descriptor_v1) || d->size > DESCRIPTOR_SIZE_MAX)
        return refuse(f,
                      "wrong descriptor size %u (an ABI v1 descriptor has at least %zu bytes; "
                      "rebuild it against this SDK's ftrack/plugin.h)",
                      (unsigned)d->size, sizeof(ftrack_plugin_descriptor_v1));
    if (!valid_plugin_name(d->name))
        return refuse(f,
                      "its descriptor has no valid name (1-%d characters of a-z, 0-9, _ "
                      "and -)",
                      PLUGIN_NAME_MAX);
    if (!d->version)
        return refuse(f, "plugin '%s' has no version in its descriptor", d->name);
    if (!d->register_fn)
        return refuse(f, "plugin '%s' has no register function in its descriptor", d->name);
    char reason[FTRACK_ERROR_MESSAGE_MAX];
    if (!fti_plugin_params_valid(d->params, d->param_count, reason, sizeof(reason)))
        return refuse(f, "plugin '%s' declares invalid parameters: %s", d->name, reason);
    for (size_t i = 0; i + 1 < set->count; i++) {
        const plugin_file *other = &set->files[i];
        if (other->descriptor && strcmp(other->descriptor->name, d->name) == 0)
            return refuse(f, "duplicate plugin name '%s' (already loaded from %s)", d->name,
                          other->path);
    }
    f->descriptor = d;
    f->abi_version = 1;
    return true;
}

static void *entry_symbol(void *handle, unsigned version)
{
    char name[64];
    snprintf(name, sizeof(name), "ftrack_plugin_register_v%u", version);
    dlerror();
    return dlsym(handle, name);
}

/* Names the versions a plugin offers when none is known here, for the refusal line. */
static bool refuse_unknown_abi(plugin_file *f)
{
    char offered[256] = "";
    size_t used = 0;
    for (unsigned v = 0; v <= ABI_PROBE_MAX; v++) {
        bool known = false;
        for (size_t k = 0; k < KNOWN_ABI_COUNT; k++)
            known = known || known_abi_versions[k] == v;
        if (known || !entry_symbol(f->handle, v))
            continue;
        int n = snprintf(offered + used, sizeof(offered) - used, "%sv%u", used ? ", " : "", v);
        if (n > 0 && (size_t)n < sizeof(offered) - used)
            used += (size_t)n;
    }
    if (used == 0)
        return refuse(f,
                      "no entry point %s (not an ftrack plugin, or built without "
                      "FTRACK_PLUGIN)",
                      FTRACK_PLUGIN_ENTRY_V1);
    return refuse(f, "built for plugin ABI %s only; this host knows ABI v%u (newest) down to v%u",
                  offered, known_abi_versions[0], known_abi_versions[KNOWN_ABI_COUNT - 1]);
}

/* Newest known version first; the plugin may export several. */
static bool negotiate(ftrack_plugin_set *set, plugin_file *f)
{
    for (size_t k = 0; k < KNOWN_ABI_COUNT; k++) {
        void *sym = entry_symbol(f->handle, known_abi_versions[k]);
        if (!sym)
            continue;
        switch (known_abi_versions[k]) {
        case 1: {
            ftrack_plugin_entry_v1 entry;
            *(void **)&entry = sym;
            return check_descriptor_v1(set, f, entry());
        }
        default:
            break;
        }
    }
    return refuse_unknown_abi(f);
}

static bool load_file(ftrack_plugin_set *set, const char *path, const char *writable_dir)
{
    plugin_file *f = set_append(set, path);
    if (!f)
        return false;
    if (writable_dir)
        return refuse(f,
                      "folder %s is writable by everyone; loading would run code anyone "
                      "could have put there (chmod o-w it)",
                      writable_dir);
    struct stat st;
    if (stat(path, &st) != 0)
        return refuse(f, "cannot read it: %s", strerror(errno));
    if (st.st_mode & S_IWOTH)
        return refuse(f, "the file is writable by everyone; loading would run code anyone "
                         "could have put there (chmod o-w it)");
    ftrack_error distrust;
    ftrack_error_clear(&distrust);
    if (ftrack_plugin_file_trusted(path, &distrust) != FTRACK_OK)
        return refuse(f, "%s", distrust.message);
    dlerror();
    f->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!f->handle) {
        const char *why = dlerror();
        return refuse(f, "failed to load: %s", why ? why : "unknown dlopen error");
    }
    bool ok = negotiate(set, f);
    if (!f->descriptor) {
        dlclose(f->handle);
        f->handle = NULL;
    }
    return ok;
}

static int compare_names(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static bool ends_with_so(const char *name)
{
    size_t n = strlen(name);
    return n > 3 && strcmp(name + n - 3, ".so") == 0;
}

static bool walk(ftrack_plugin_set *set, const char *dir, const char *writable_dir, int depth);

static bool walk_entry(ftrack_plugin_set *set, const char *dir, const char *name,
                       const char *writable_dir, int depth)
{
    char *path = fti_asprintf("%s/%s", dir, name);
    if (!path)
        return false;
    bool ok = true;
    struct stat st;
    if (lstat(path, &st) != 0) {
        free(path);
        return true;
    }
    if (S_ISDIR(st.st_mode)) {
        ok = walk(set, path, writable_dir, depth + 1);
    } else if (ends_with_so(name)) {
        /* A link to a regular file counts; a link to a folder is not followed (no loops). */
        struct stat target;
        if (S_ISREG(st.st_mode) ||
            (S_ISLNK(st.st_mode) && stat(path, &target) == 0 && S_ISREG(target.st_mode)))
            ok = load_file(set, path, writable_dir);
    }
    free(path);
    return ok;
}

static bool walk(ftrack_plugin_set *set, const char *dir, const char *writable_dir, int depth)
{
    if (depth > WALK_DEPTH_MAX)
        return true;
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return true;
    /* The first world-writable folder taints everything below it. */
    char *own = NULL;
    if (!writable_dir && (st.st_mode & S_IWOTH)) {
        own = fti_strdup(dir);
        if (!own)
            return false;
        writable_dir = own;
    }
    struct dirent **list = NULL;
    int n = scandir(dir, &list, NULL, compare_names);
    bool ok = true;
    for (int i = 0; i < n; i++) {
        const char *name = list[i]->d_name;
        if (ok && strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
            ok = walk_entry(set, dir, name, writable_dir, depth);
        free(list[i]);
    }
    free(list);
    free(own);
    return ok;
}

ftrack_status ftrack_plugin_set_scan(const char *paths, ftrack_plugin_set **out, ftrack_error *err)
{
    if (!out)
        return fti_error(err, FTRACK_ERR_INVALID_ARGUMENT, "out must not be NULL");
    *out = NULL;
    ftrack_plugin_set *set = calloc(1, sizeof(*set));
    char *copy = fti_strdup(paths ? paths : "");
    if (!set || !copy) {
        free(set);
        free(copy);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory scanning plugins");
    }
    bool ok = true;
    char *save = NULL;
    for (char *entry = strtok_r(copy, ":", &save); ok && entry;
         entry = strtok_r(NULL, ":", &save)) {
        while (*entry == ' ' || *entry == '\t')
            entry++;
        size_t len = strlen(entry);
        while (len > 1 && (entry[len - 1] == '/' || entry[len - 1] == ' '))
            entry[--len] = '\0';
        if (len)
            ok = walk(set, entry, NULL, 0);
    }
    free(copy);
    if (!ok) {
        ftrack_plugin_set_free(set);
        return fti_error(err, FTRACK_ERR_NO_MEMORY, "out of memory scanning plugins");
    }
    *out = set;
    return FTRACK_OK;
}

void ftrack_plugin_set_free(ftrack_plugin_set *set)
{
    if (!set)
        return;
    for (size_t i = set->count; i-- > 0;) {
        plugin_file *f = &set->files[i];
        if (f->handle)
            dlclose(f->handle);
        free(f->path);
        free(f->refusal);
    }
    free(set->files);
    free(set);
}

size_t ftrack_plugin_set_count(const ftrack_plugin_set *set)
{
    return set ? set->count : 0;
}

static const plugin_file *file_at(const ftrack_plugin_set *set, size_t index)
{
    return set && index < set->count ? &set->files[index] : NULL;
}

const char *ftrack_plugin_set_path(const ftrack_plugin_set *set, size_t index)
{
    const plugin_file *f = file_at(set, index);
    return f ? f->path : NULL;
}

const ftrack_plugin_descriptor_v1 *ftrack_plugin_set_descriptor(const ftrack_plugin_set *set,
                                                                size_t index)
{
    const plugin_file *f = file_at(set, index);
    return f ? f->descriptor : NULL;
}

unsigned ftrack_plugin_set_abi_version(const ftrack_plugin_set *set, size_t index)
{
    const plugin_file *f = file_at(set, index);
    return f ? f->abi_version : 0;
}

const char *ftrack_plugin_set_refusal(const ftrack_plugin_set *set, size_t index)
{
    const plugin_file *f = file_at(set, index);
    return f ? f->refusal : NULL;
}

long ftrack_plugin_set_find(const ftrack_plugin_set *set, const char *name)
{
    for (size_t i = 0; name && set && i < set->count; i++)
        if (set->files[i].descriptor && strcmp(set->files[i].descriptor->name, name) == 0)
            return (long)i;
    return -1;
}
