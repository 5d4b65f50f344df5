/* SPDX-License-Identifier: Apache-2.0 */
/* Python event plugins: finding them, naming them, and the runner that runs them
 * (python_plugins.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/internal.h"
#include "config/host_options.h"
#include "isolation/python_plugins.h"

#define WALK_DEPTH_MAX 32
#define NAME_MAX_CHARS 64
#define CHECK_TIMEOUT 30.0
#define CHECK_OUTPUT_MAX 4096

typedef struct list {
    char **items;
    size_t count, cap;
} list;

static bool list_add(list *l, char *item)
{
    if (!item)
        return false;
    if (!fti_array_reserve(&l->items, &l->cap, l->count + 1, sizeof(*l->items))) {
        free(item);
        return false;
    }
    l->items[l->count++] = item;
    return true;
}

static bool ends_with_py(const char *name)
{
    size_t n = strlen(name);
    return n > 3 && strcmp(name + n - 3, ".py") == 0;
}

static int compare_names(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

typedef struct walk_state {
    list files, refused;
} walk_state;

static bool walk(walk_state *w, const char *dir, const char *writable_dir, int depth);

static bool walk_entry(walk_state *w, const char *dir, const char *name, const char *writable_dir,
                       int depth)
{
    char *path = fti_asprintf("%s/%s", dir, name);
    if (!path)
        return false;
    struct stat st, target;
    bool ok = true;
    if (lstat(path, &st) != 0) {
        free(path);
        return true;
    }
    if (S_ISDIR(st.st_mode)) {
        ok = walk(w, path, writable_dir, depth + 1);
        free(path);
        return ok;
    }
    bool regular = S_ISREG(st.st_mode) ||
                   (S_ISLNK(st.st_mode) && stat(path, &target) == 0 && S_ISREG(target.st_mode));
    if (!regular || !ends_with_py(name)) {
        free(path);
        return true;
    }
    if (!writable_dir)
        return list_add(&w->files, path);
    char *why = fti_asprintf("%s: the folder %s is writable by everyone; running it would run "
                             "code anyone could have put there",
                             path, writable_dir);
    free(path);
    return list_add(&w->refused, why);
}

static bool walk(walk_state *w, const char *dir, const char *writable_dir, int depth)
{
    struct stat st;
    if (depth > WALK_DEPTH_MAX || stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return true;
    if (!writable_dir && (st.st_mode & S_IWOTH))
        writable_dir = dir;
    struct dirent **entries = NULL;
    int n = scandir(dir, &entries, NULL, compare_names);
    bool ok = true;
    for (int i = 0; i < n; i++) {
        const char *name = entries[i]->d_name;
        if (ok && strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
            ok = walk_entry(w, dir, name, writable_dir, depth);
        free(entries[i]);
    }
    free(entries);
    return ok;
}

bool fth_python_scan(const char *paths, char ***files, size_t *count, char ***refused,
                     size_t *refused_count)
{
    walk_state w;
    memset(&w, 0, sizeof(w));
    char *copy = fti_strdup(paths ? paths : "");
    bool ok = copy != NULL;
    char *save = NULL;
    for (char *entry = ok ? strtok_r(copy, ":", &save) : NULL; ok && entry;
         entry = strtok_r(NULL, ":", &save)) {
        size_t len = strlen(entry);
        while (len > 1 && entry[len - 1] == '/')
            entry[--len] = '\0';
        if (len)
            ok = walk(&w, entry, NULL, 0);
    }
    free(copy);
    if (!ok) {
        fth_python_files_free(w.files.items, w.files.count);
        fth_python_files_free(w.refused.items, w.refused.count);
        return false;
    }
    *files = w.files.items;
    *count = w.files.count;
    *refused = w.refused.items;
    *refused_count = w.refused.count;
    return true;
}

void fth_python_files_free(char **files, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(files[i]);
    free(files);
}

char *fth_python_plugin_name(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (ends_with_py(base))
        n -= 3;
    if (n > NAME_MAX_CHARS)
        n = NAME_MAX_CHARS;
    char *name = fti_strndup(base, n);
    for (char *p = name; p && *p; p++) {
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
        else if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            *p = '_';
    }
    return name;
}

static void merge_into(json_object *out, json_object *from)
{
    if (!json_object_is_type(from, json_type_object))
        return;
    json_object_object_foreach(from, key, value)
    {
        json_object_object_add(out, key, json_object_get(value));
    }
}

char *fth_python_arguments(json_object *shared, json_object *text, json_object *instance)
{
    json_object *all = json_object_new_object();
    if (!all)
        return NULL;
    merge_into(all, shared);
    merge_into(all, text);
    merge_into(all, instance);
    char *json = fti_strdup(json_object_to_json_string_ext(all, JSON_C_TO_STRING_PLAIN));
    json_object_put(all);
    return json;
}

static const char *runner_path(void)
{
    return fth_running_from_build_tree() ? FTRACK_PYTHON_RUNNER_BUILD
                                         : FTRACK_PYTHON_RUNNER_INSTALLED;
}

const char *const *fth_python_command(const char *python)
{
    /* Static: the isolation spec copies the argv when it starts an instance. */
    static const char *argv[3];
    argv[0] = python && *python ? python : FTH_PYTHON_DEFAULT;
    argv[1] = runner_path();
    argv[2] = NULL;
    return argv;
}

/* Run `python -c code`, collecting what it prints (at most CHECK_OUTPUT_MAX bytes) within
 * CHECK_TIMEOUT seconds. Returns its wait status, or -1 when it could not run or hung. */
static int run_python(const char *python, const char *code, char *out, size_t out_size)
{
    int pipefd[2];
    out[0] = '\0';
    if (pipe2(pipefd, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(pipefd[1], STDOUT_FILENO);
        dup2(pipefd[1], STDERR_FILENO);
        execlp(python, python, "-c", code, (char *)NULL);
        dprintf(STDERR_FILENO, "cannot run %s: %s\n", python, strerror(errno));
        _exit(127);
    }
    close(pipefd[1]);
    size_t len = 0;
    double until = fti_now() + CHECK_TIMEOUT;
    for (;;) {
        double left = until - fti_now();
        struct pollfd p = {pipefd[0], POLLIN, 0};
        if (left <= 0 || poll(&p, 1, (int)(left * 1000) + 1) == 0) {
            kill(pid, SIGKILL);
            len = (size_t)snprintf(out, out_size, "it did not finish within %.0f s",
                                   CHECK_TIMEOUT);
            break;
        }
        char chunk[512];
        ssize_t n = read(pipefd[0], chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        size_t take = (size_t)n < out_size - 1 - len ? (size_t)n : out_size - 1 - len;
        memcpy(out + len, chunk, take);
        len += take;
        out[len] = '\0';
    }
    close(pipefd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

static const char *last_line(char *text)
{
    size_t n = strlen(text);
    while (n && (text[n - 1] == '\n' || text[n - 1] == ' '))
        text[--n] = '\0';
    const char *nl = strrchr(text, '\n');
    return nl ? nl + 1 : text;
}

ftrack_status fth_python_check(const char *python, ftrack_error *err)
{
    if (!python || !*python)
        python = FTH_PYTHON_DEFAULT;
    char out[CHECK_OUTPUT_MAX];
    int status = run_python(python, "import ftrack_api", out, sizeof(out));
    if (status == 0)
        return FTRACK_OK;
    const char *why = last_line(out);
    return fti_error(err, FTRACK_ERR_CONFIG,
                     "Python plugins need an interpreter that can import ftrack_api, and %s "
                     "cannot (%s): install ftrack-python-api into it, or name one that has it "
                     "with --python PATH (configuration: \"python\")",
                     python, *why ? why : "it did not run");
}

static ftrack_status python_register(ftrack_plugin_context *context, ftrack_session *session,
                                     json_object *arguments, void **state, ftrack_error *err)
{
    (void)context;
    (void)session;
    (void)arguments;
    (void)state;
    return fti_error(err, FTRACK_ERR_PLUGIN, "a Python plugin only runs isolated");
}

static const ftrack_plugin_descriptor_v1 python_descriptor = {
    FTRACK_PLUGIN_ABI_VERSION,
    (uint32_t)sizeof(ftrack_plugin_descriptor_v1),
    "python",
    "1",
    "an event plugin for ftrack's Python client, run by ftrack-host's Python runner",
    NULL,
    0,
    python_register,
    NULL,
    {0, 0, 0, 0}};

const ftrack_plugin_descriptor_v1 *fth_python_descriptor(void)
{
    return &python_descriptor;
}
