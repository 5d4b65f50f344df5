/* SPDX-License-Identifier: Apache-2.0 */
/* encode_media workers: see media.h. ffmpeg runs as a child process (posix_spawn, no shell),
 * so a hostile file name or a crashing decoder cannot touch the hub; each run is bounded by
 * the job's time limit and killed on expiry or when the hub stops. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/internal.h"
#include "encode.h"

#define LOG_COMPONENT "hub"
#define MAX_WORKERS 16
#define POLL_NS 20000000L
/* The demuxers an upload may be read with. ffmpeg would otherwise pick one from the content,
 * and some read other files or URLs the upload names (hls, dash, concat, image2 patterns):
 * an uploaded playlist could then have any file the hub can read encoded and served. Together
 * with -protocol_whitelist file, ffmpeg opens the one uploaded file and nothing else. */
#define INPUT_FORMATS                                                                              \
    "mov,matroska,avi,mpegts,mpeg,mxf,flv,asf,dv,ogg,gif,ivf,yuv4mpegpipe,h264,hevc,m4v,mjpeg,"   \
    "wav,mp3,image_png_pipe,image_jpeg_pipe,image_tiff_pipe,image_exr_pipe,image_dpx_pipe,"        \
    "image_bmp_pipe,image_webp_pipe"
/* The start of every ffmpeg command line: quiet, no prompts, the one input read safely. */
#define INPUT_ARGS(ffmpeg, src)                                                                    \
    ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-protocol_whitelist", "file",  \
        "-format_whitelist", INPUT_FORMATS, "-i", src

extern char **environ;

typedef struct job {
    char *job_id, *component_id, *version_id;
    bool keep_original;
    struct job *next;
} job;

typedef struct worker {
    fhub_media *m;
    pthread_t thread;
    bool started;
} worker;

struct fhub_media {
    fhub_store *store;
    char *files_dir, *ffmpeg;
    double timeout;
    fhub_media_publish_fn publish;
    void *publish_data;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    job *head, *tail;
    bool stop;
    worker workers[MAX_WORKERS];
    int nworkers;
};

/* ---- helpers -------------------------------------------------------------------------------- */

char *fhub_media_component_path(const char *files_dir, const char *id)
{
    if (!files_dir || !id || !*id || strlen(id) > 64)
        return NULL;
    for (const char *c = id; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '-' || *c == '_'))
            return NULL;
    return fti_asprintf("%s/%s", files_dir, id);
}

static void job_free(job *j)
{
    if (!j)
        return;
    free(j->job_id);
    free(j->component_id);
    free(j->version_id);
    free(j);
}

static void publish(fhub_media *m, json_object *ev)
{
    if (!ev)
        return;
    size_t n = 0;
    const char *text = json_object_to_json_string_length(
        ev, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
    if (text && m->publish)
        m->publish(text, n, m->publish_data);
    json_object_put(ev);
}

static bool stopping(fhub_media *m)
{
    pthread_mutex_lock(&m->lock);
    bool s = m->stop;
    pthread_mutex_unlock(&m->lock);
    return s;
}

/* The program `name` on PATH, or NULL when none is installed. Caller frees. */
static char *find_on_path(const char *name)
{
    if (strchr(name, '/'))
        return access(name, X_OK) == 0 ? strdup(name) : NULL;
    const char *path = getenv("PATH");
    char *copy = strdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
    char *save = NULL, *found = NULL;
    for (char *dir = copy ? strtok_r(copy, ":", &save) : NULL; dir && !found;
         dir = strtok_r(NULL, ":", &save)) {
        char *candidate = fti_asprintf("%s/%s", *dir ? dir : ".", name);
        if (candidate && access(candidate, X_OK) == 0)
            found = candidate;
        else
            free(candidate);
    }
    free(copy);
    return found;
}

/* The ffmpeg to run, or NULL when none is installed. Caller frees. */
static char *find_ffmpeg(const fhub_media *m)
{
    return find_on_path(m->ffmpeg ? m->ffmpeg : "ffmpeg");
}

/* The ffprobe that ships with that ffmpeg (same directory when --ffmpeg names a path), or NULL.
 * Caller frees. */
static char *find_ffprobe(const char *ffmpeg)
{
    const char *slash = strrchr(ffmpeg, '/');
    if (!slash)
        return find_on_path("ffprobe");
    char *path = fti_asprintf("%.*s/ffprobe", (int)(slash - ffmpeg), ffmpeg);
    if (path && access(path, X_OK) == 0)
        return path;
    free(path);
    return NULL;
}

static long long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* The last line ffmpeg wrote to its log, for the job's error message. */
static void last_log_line(const char *log, char *out, size_t len)
{
    out[0] = '\0';
    FILE *f = fopen(log, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (n > 0)
            fti_strlcpy(out, line, len);
    }
    fclose(f);
}

static bool log_mentions(const char *log, const char *what)
{
    FILE *f = fopen(log, "r");
    if (!f)
        return false;
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, what) != NULL;
    fclose(f);
    return found;
}

/* Run argv with its standard output in `out` (NULL: discarded); false with *why on failure,
 * timeout or stop. */
static bool run_tool(fhub_media *m, char *const argv[], const char *out, const char *log,
                     double deadline, char *why, size_t whylen)
{
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (out)
        posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    else
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawnattr_init(&attr);
    /* The hub blocks SIGINT/SIGTERM for sigwait(); the child must not inherit that. */
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = 0;
    char **env = fti_env_without_secrets(environ);
    int rc = env ? posix_spawn(&pid, argv[0], &fa, &attr, argv, env) : ENOMEM;
    free(env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        snprintf(why, whylen, "cannot run %s: %s", argv[0], strerror(rc));
        return false;
    }
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            snprintf(why, whylen, "lost the ffmpeg process: %s", strerror(errno));
            return false;
        }
        bool late = fti_now() > deadline;
        if (late || stopping(m)) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            if (late)
                snprintf(why, whylen, "ffmpeg took longer than the time limit (%.0f s)",
                         m->timeout);
            else
                snprintf(why, whylen, "the hub stopped while ffmpeg was running");
            return false;
        }
        struct timespec ts = {0, POLL_NS};
        nanosleep(&ts, NULL);
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    char line[300];
    last_log_line(log, line, sizeof(line));
    if (log_mentions(log, "not on whitelist"))
        snprintf(line, sizeof(line),
                 "the file is not in a media format the hub encodes (playlists and files that "
                 "name other files are refused)");
    if (WIFSIGNALED(status))
        snprintf(why, whylen, "ffmpeg was killed by signal %d%s%s", WTERMSIG(status),
                 line[0] ? ": " : "", line);
    else
        snprintf(why, whylen, "ffmpeg failed (exit %d)%s%s", WEXITSTATUS(status),
                 line[0] ? ": " : "", line);
    return false;
}

/* ---- job steps ------------------------------------------------------------------------------- */

static json_object *job_data(const job *j, json_object *output, const char *error)
{
    json_object *d = json_object_new_object();
    json_object_object_add(d, "output", output ? output : json_object_new_array());
    json_object_object_add(d, "source_component_id", json_object_new_string(j->component_id));
    json_object_object_add(d, "keep_original", json_object_new_boolean(j->keep_original));
    if (error)
        json_object_object_add(d, "error", json_object_new_string(error));
    return d;
}

/* Update the job (status, data, finished_at) in the current batch. */
static bool set_job(fhub_store *store, const job *j, const char *status, json_object *data,
                    bool finished, fhub_store_error *e)
{
    json_object *update = json_object_new_object();
    json_object_object_add(update, "status", json_object_new_string(status));
    if (data) {
        json_object_object_add(update, "data",
                               json_object_new_string(json_object_to_json_string_ext(
                                   data, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)));
    }
    if (finished) {
        char now[32];
        fhub_store_now(now);
        json_object *when = json_object_new_object();
        json_object_object_add(when, "__type__", json_object_new_string("datetime"));
        json_object_object_add(when, "value", json_object_new_string(now));
        json_object_object_add(update, "finished_at", when);
    }
    json_object *key = json_object_new_array();
    json_object_array_add(key, json_object_new_string(j->job_id));
    json_object *r = fhub_store_update(store, "Job", key, update, e);
    json_object_put(key);
    json_object_put(update);
    json_object_put(r);
    return r != NULL;
}

static void finish_failed(fhub_media *m, const job *j, const char *why)
{
    ftrack_log(FTRACK_LOG_WARNING, LOG_COMPONENT, "encode job %s failed: %s", j->job_id, why);
    fhub_store_error e = {{0}, {0}};
    fhub_store_begin(m->store);
    json_object *data = job_data(j, NULL, why);
    bool ok = set_job(m->store, j, "failed", data, true, &e);
    json_object_put(data);
    publish(m, fhub_store_end(m->store, ok, NULL));
}

static json_object *create(fhub_store *store, const char *type, json_object *data,
                           fhub_store_error *e)
{
    json_object *r = fhub_store_create(store, type, NULL, data, e);
    json_object_put(data);
    json_object *id = json_object_object_get(json_object_object_get(r, "data"), "id");
    json_object *out = json_object_get(id);
    json_object_put(r);
    return out;
}

static json_object *obj2(const char *k1, json_object *v1, const char *k2, json_object *v2)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, k1, v1);
    if (k2)
        json_object_object_add(o, k2, v2);
    return o;
}

/* One output component in the server location, linked to the job. */
static bool add_output(fhub_media *m, const job *j, const char *id, const char *name,
                       const char *file_type, long long size, json_object *output,
                       const char *format, const char *ftr_meta, fhub_store_error *e)
{
    json_object *comp =
        obj2("id", json_object_new_string(id), "name", json_object_new_string(name));
    json_object_object_add(comp, "file_type", json_object_new_string(file_type));
    json_object_object_add(comp, "size", json_object_new_int64(size));
    json_object_object_add(comp, "system_type", json_object_new_string("file"));
    if (j->version_id)
        json_object_object_add(comp, "version_id", json_object_new_string(j->version_id));
    json_object *cid = create(m->store, "FileComponent", comp, e);
    if (!cid)
        return false;
    json_object *loc = obj2("component_id", json_object_get(cid), "location_id",
                            json_object_new_string(FHUB_SERVER_LOCATION_ID));
    json_object_object_add(loc, "resource_identifier", json_object_new_string(id));
    json_object *lid = create(m->store, "ComponentLocation", loc, e);
    json_object *link =
        obj2("job_id", json_object_new_string(j->job_id), "component_id", json_object_get(cid));
    json_object *r = lid ? fhub_store_create(m->store, "JobComponent", NULL, link, e) : NULL;
    json_object_put(link);
    json_object_put(lid);
    if (r && ftr_meta) {
        json_object *meta = obj2("parent_id", json_object_new_string(id), "parent_type",
                                 json_object_new_string("FileComponent"));
        json_object_object_add(meta, "key", json_object_new_string("ftr_meta"));
        json_object_object_add(meta, "value", json_object_new_string(ftr_meta));
        json_object *mr = fhub_store_create(m->store, "Metadata", NULL, meta, e);
        json_object_put(meta);
        if (!mr) {
            json_object_put(r);
            r = NULL;
        }
        json_object_put(mr);
    }
    json_object_array_add(output,
                          obj2("format", json_object_new_string(format), "component_id", cid));
    bool ok = r != NULL;
    json_object_put(r);
    return ok;
}

static void set_thumbnail(fhub_media *m, const job *j, const char *image_id)
{
    if (!j->version_id)
        return;
    fhub_store_error e = {{0}, {0}};
    json_object *key = json_object_new_array();
    json_object_array_add(key, json_object_new_string(j->version_id));
    json_object *data = obj2("thumbnail_id", json_object_new_string(image_id), NULL, NULL);
    json_object_put(fhub_store_update(m->store, "AssetVersion", key, data, &e));
    json_object_put(key);
    json_object_put(data);
}

static void finish_done(fhub_media *m, const job *j, const char *mp4_id, const char *jpg_id,
                        const char *mp4, const char *jpg, const char *mp4_meta,
                        const char *jpg_meta)
{
    fhub_store_error e = {{0}, {0}};
    fhub_store_begin(m->store);
    json_object *output = json_object_new_array();
    bool ok = add_output(m, j, mp4_id, "ftrackreview-mp4", ".mp4", file_size(mp4), output,
                         "video/mp4", mp4_meta, &e) &&
              add_output(m, j, jpg_id, "ftrackreview-image", ".jpg", file_size(jpg), output,
                         "image/jpeg", jpg_meta, &e);
    json_object *data = job_data(j, output, NULL);
    ok = ok && set_job(m->store, j, "done", data, true, &e);
    json_object_put(data);
    if (ok)
        set_thumbnail(m, j, jpg_id);
    bool committed = false;
    json_object *ev = fhub_store_end(m->store, ok, &committed);
    if (committed) {
        ftrack_log(FTRACK_LOG_INFO, LOG_COMPONENT, "encode job %s done", j->job_id);
        publish(m, ev);
        return;
    }
    json_object_put(ev);
    unlink(mp4);
    unlink(jpg);
    char why[700];
    snprintf(why, sizeof(why), "could not record the outputs: %s %s", e.exception, e.content);
    finish_failed(m, j, why);
}

/* ---- ftr_meta ------------------------------------------------------------------------------ */

/* ffprobe's `a/b` or plain rate as a number; 0 when it is not one. */
static double parse_rate(const char *text)
{
    if (!text)
        return 0;
    char *end = NULL;
    double num = strtod(text, &end);
    if (end == text)
        return 0;
    if (*end != '/')
        return num;
    double den = strtod(end + 1, NULL);
    return den > 0 ? num / den : 0;
}

/* The ftr_meta text review tools read from an encoded output, the way ftrack's server writes it
 * (a JSON object in a string): frame range, frame rate and size for a movie, size and
 * `"format": "image"` for an image. Measured with ffprobe on the output itself; NULL (and a
 * warning) when ffprobe is missing or cannot read it, so the outputs are still recorded. */
static char *probe_meta(fhub_media *m, const job *j, const char *ffmpeg, const char *file,
                        bool movie, double deadline)
{
    char *ffprobe = find_ffprobe(ffmpeg);
    char *out = fti_asprintf("%s/%s.probe.json", m->files_dir, j->job_id);
    char *log = fti_asprintf("%s/%s.probe.log", m->files_dir, j->job_id);
    char *meta = NULL, why[600] = "";
    if (!ffprobe || !out || !log) {
        snprintf(why, sizeof(why), "ffprobe is not installed next to %s", ffmpeg);
    } else {
        char *args[] = {ffprobe, "-v", "error", "-select_streams", "v:0", "-show_entries",
                        "stream=width,height,avg_frame_rate,r_frame_rate,nb_frames", "-of",
                        "json", (char *)file, NULL};
        if (run_tool(m, args, out, log, deadline, why, sizeof(why)))
            why[0] = '\0';
    }
    json_object *doc = why[0] ? NULL : json_object_from_file(out);
    json_object *streams = json_object_object_get(doc, "streams");
    json_object *stream = json_object_is_type(streams, json_type_array) &&
                                  json_object_array_length(streams) > 0
                              ? json_object_array_get_idx(streams, 0)
                              : NULL;
    int width = json_object_get_int(json_object_object_get(stream, "width"));
    int height = json_object_get_int(json_object_object_get(stream, "height"));
    if (!why[0] && (width <= 0 || height <= 0))
        snprintf(why, sizeof(why), "ffprobe found no picture size");
    if (!why[0]) {
        json_object *o = json_object_new_object();
        if (movie) {
            double rate = parse_rate(fti_json_string(stream, "avg_frame_rate"));
            if (rate <= 0)
                rate = parse_rate(fti_json_string(stream, "r_frame_rate"));
            const char *frames = fti_json_string(stream, "nb_frames");
            json_object_object_add(o, "frameIn", json_object_new_int(0));
            json_object_object_add(o, "frameOut",
                                   json_object_new_int64(frames ? atoll(frames) : 0));
            json_object_object_add(o, "frameRate", json_object_new_double(rate));
        } else {
            json_object_object_add(o, "format", json_object_new_string("image"));
        }
        json_object_object_add(o, "width", json_object_new_int(width));
        json_object_object_add(o, "height", json_object_new_int(height));
        meta = fti_strdup(json_object_to_json_string_ext(
            o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        json_object_put(o);
    } else {
        ftrack_log(FTRACK_LOG_WARNING, LOG_COMPONENT,
                   "encode job %s: no ftr_meta for its %s output: %s", j->job_id,
                   movie ? "movie" : "image", why);
    }
    json_object_put(doc);
    if (out)
        unlink(out);
    if (log)
        unlink(log);
    free(out);
    free(log);
    free(ffprobe);
    return meta;
}

/* Source component's version when encode_media named none. */
static void default_version(fhub_media *m, job *j)
{
    if (j->version_id)
        return;
    fhub_store_begin(m->store);
    json_object *c = fhub_store_get(m->store, "Component", j->component_id);
    json_object *v = json_object_object_get(c, "version_id");
    if (json_object_is_type(v, json_type_string))
        j->version_id = strdup(json_object_get_string(v));
    json_object_put(c);
    json_object_put(fhub_store_end(m->store, false, NULL));
}

static void encode(fhub_media *m, job *j)
{
    fhub_store_error e = {{0}, {0}};
    fhub_store_begin(m->store);
    bool ok = set_job(m->store, j, "running", NULL, false, &e);
    publish(m, fhub_store_end(m->store, ok, NULL));
    if (!ok) {
        ftrack_log(FTRACK_LOG_WARNING, LOG_COMPONENT, "encode job %s vanished: %s", j->job_id,
                   e.content);
        return;
    }
    default_version(m, j);
    double deadline = fti_now() + m->timeout;
    char why[600] = "";
    char mp4_id[37], jpg_id[37];
    fti_uuid_dashed(mp4_id);
    fti_uuid_dashed(jpg_id);
    char *src = fhub_media_component_path(m->files_dir, j->component_id);
    char *mp4 = fhub_media_component_path(m->files_dir, mp4_id);
    char *jpg = fhub_media_component_path(m->files_dir, jpg_id);
    char *log = fti_asprintf("%s/%s.ffmpeg.log", m->files_dir, j->job_id);
    char *ffmpeg = find_ffmpeg(m);
    if (!src || !mp4 || !jpg || !log) {
        snprintf(why, sizeof(why), "out of memory");
    } else if (access(src, R_OK) != 0) {
        snprintf(why, sizeof(why),
                 "component %s has no file in the server location (upload it first)",
                 j->component_id);
    } else if (!ffmpeg) {
        snprintf(why, sizeof(why),
                 "ffmpeg is not installed on the hub's machine (looked for %s); install it "
                 "(Debian: apt-get install ffmpeg) to encode media",
                 m->ffmpeg ? m->ffmpeg : "ffmpeg on PATH");
    } else {
        char *mp4_args[] = {INPUT_ARGS(ffmpeg, src),
                            "-map",
                            "0:v:0",
                            "-map",
                            "0:a:0?",
                            "-c:v",
                            "libx264",
                            "-preset",
                            "veryfast",
                            "-pix_fmt",
                            "yuv420p",
                            "-vf",
                            "scale=trunc(iw/2)*2:trunc(ih/2)*2",
                            "-c:a",
                            "aac",
                            "-movflags",
                            "+faststart",
                            "-f",
                            "mp4",
                            mp4,
                            NULL};
        char *jpg_args[] = {INPUT_ARGS(ffmpeg, src), "-map", "0:v:0", "-frames:v", "1", "-f",
                            "image2", "-update", "1", "-c:v", "mjpeg", jpg, NULL};
        if (run_tool(m, mp4_args, NULL, log, deadline, why, sizeof(why)) &&
            run_tool(m, jpg_args, NULL, log, deadline, why, sizeof(why)))
            why[0] = '\0';
        else if (!why[0])
            snprintf(why, sizeof(why), "ffmpeg failed");
    }
    if (log)
        unlink(log);
    if (why[0]) {
        if (mp4)
            unlink(mp4);
        if (jpg)
            unlink(jpg);
        finish_failed(m, j, why);
    } else {
        char *mp4_meta = probe_meta(m, j, ffmpeg, mp4, true, deadline);
        char *jpg_meta = probe_meta(m, j, ffmpeg, jpg, false, deadline);
        finish_done(m, j, mp4_id, jpg_id, mp4, jpg, mp4_meta, jpg_meta);
        free(mp4_meta);
        free(jpg_meta);
    }
    free(src);
    free(mp4);
    free(jpg);
    free(log);
    free(ffmpeg);
}

/* ---- the pool -------------------------------------------------------------------------------- */

static void *worker_main(void *arg)
{
    fhub_media *m = ((worker *)arg)->m;
    for (;;) {
        pthread_mutex_lock(&m->lock);
        while (!m->stop && !m->head)
            pthread_cond_wait(&m->cond, &m->lock);
        if (m->stop) {
            pthread_mutex_unlock(&m->lock);
            return NULL;
        }
        job *j = m->head;
        m->head = j->next;
        if (!m->head)
            m->tail = NULL;
        pthread_mutex_unlock(&m->lock);
        encode(m, j);
        job_free(j);
    }
}

fhub_media *fhub_media_new(const fhub_media_config *cfg)
{
    fhub_media *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->store = cfg->store;
    m->files_dir = fti_strdup(cfg->files_dir);
    m->ffmpeg = fti_strdup(cfg->ffmpeg);
    m->timeout = cfg->timeout > 0 ? cfg->timeout : 600.0;
    m->publish = cfg->publish;
    m->publish_data = cfg->publish_data;
    pthread_mutex_init(&m->lock, NULL);
    pthread_cond_init(&m->cond, NULL);
    int n = cfg->workers > 0 ? cfg->workers : 2;
    if (n > MAX_WORKERS)
        n = MAX_WORKERS;
    for (int i = 0; i < n; i++) {
        m->workers[i].m = m;
        if (pthread_create(&m->workers[i].thread, NULL, worker_main, &m->workers[i]) != 0)
            break;
        m->workers[i].started = true;
        m->nworkers++;
    }
    if (m->nworkers == 0) {
        fhub_media_free(m);
        return NULL;
    }
    return m;
}

void fhub_media_enqueue(fhub_media *m, const char *job_id, const char *component_id,
                       const char *version_id, bool keep_original)
{
    job *j = calloc(1, sizeof(*j));
    if (!j)
        return;
    j->job_id = fti_strdup(job_id);
    j->component_id = fti_strdup(component_id);
    j->version_id = fti_strdup(version_id);
    j->keep_original = keep_original;
    pthread_mutex_lock(&m->lock);
    if (m->tail)
        m->tail->next = j;
    else
        m->head = j;
    m->tail = j;
    pthread_cond_signal(&m->cond);
    pthread_mutex_unlock(&m->lock);
}

void fhub_media_free(fhub_media *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    m->stop = true;
    pthread_cond_broadcast(&m->cond);
    pthread_mutex_unlock(&m->lock);
    for (int i = 0; i < MAX_WORKERS; i++)
        if (m->workers[i].started)
            pthread_join(m->workers[i].thread, NULL);
    while (m->head) {
        job *j = m->head;
        m->head = j->next;
        job_free(j);
    }
    pthread_mutex_destroy(&m->lock);
    pthread_cond_destroy(&m->cond);
    free(m->files_dir);
    free(m->ffmpeg);
    free(m);
}
