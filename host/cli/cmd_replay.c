/* SPDX-License-Identifier: Apache-2.0 */
/* `ftrack-host replay FILE [--plugin NAME] [--data-dir DIR]`: hand dead-lettered events back to
 * the running host through its control socket (control.h). Each record goes to the instance
 * it failed in; with --plugin only that instance's records are replayed. The host journals
 * them again, marked as redeliveries, and its failure policy applies as to any event. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/data_dir.h"
#include "common/internal.h"
#include "delivery/control.h"
#include "delivery/deadletter.h"
#include "runtime/reliability.h"

#define ANSWER_TIMEOUT 10.0

typedef struct replay_counts {
    unsigned long sent, skipped, refused, unreadable;
} replay_counts;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: ftrack-host replay FILE [--plugin NAME] [--data-dir DIR]\n\n"
            "Hand the events of a dead-letter file back to the running ftrack-host (through\n"
            "its control socket in the data dir), each to the plugin instance it failed in.\n\n"
            "options:\n"
            "  --plugin NAME    replay only the records of plugin instance NAME\n"
            "  --data-dir DIR   the running host's --data-dir (default: the default state folder)\n"
            "  --help           this text\n");
}

static void replay_record(int fd, const char *line, const char *only, replay_counts *c)
{
    json_object *record = NULL, *event = NULL;
    const char *instance = NULL;
    if (!fth_deadletter_parse_line(line, &record, &instance, &event)) {
        c->unreadable++;
        return;
    }
    if (only && strcmp(only, instance) != 0) {
        c->skipped++;
        json_object_put(record);
        return;
    }
    json_object *req = json_object_new_object();
    json_object_object_add(req, "command", json_object_new_string("replay"));
    json_object_object_add(req, "instance", json_object_new_string(instance));
    json_object_object_add(req, "event", json_object_get(event));
    json_object *answer = NULL, *ok = NULL, *why = NULL;
    ftrack_error err;
    ftrack_error_clear(&err);
    if (fth_control_request(fd, req, &answer, ANSWER_TIMEOUT, &err) == FTRACK_OK &&
        json_object_object_get_ex(answer, "ok", &ok) && json_object_get_boolean(ok)) {
        c->sent++;
    } else {
        c->refused++;
        json_object_object_get_ex(answer, "error", &why);
        fprintf(stderr, "ftrack-host replay: event for '%s' refused: %s\n", instance,
                why ? json_object_get_string(why) : err.message);
    }
    json_object_put(answer);
    json_object_put(req);
    json_object_put(record);
}

static int replay_file(const char *file, const char *only, const char *data_dir)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        fprintf(stderr, "ftrack-host replay: cannot read %s\n", file);
        return FTH_EXIT_USAGE;
    }
    char *path = fth_data_dir_control_path(data_dir);
    ftrack_error err;
    ftrack_error_clear(&err);
    int fd = path ? fth_control_connect(path, &err) : -1;
    free(path);
    if (fd < 0) {
        fprintf(stderr, "ftrack-host replay: %s\n", err.message[0] ? err.message : "no data dir");
        fclose(f);
        return FTH_EXIT_FAILURE;
    }
    replay_counts c = {0, 0, 0, 0};
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (n <= 1)
            continue;
        replay_record(fd, line, only, &c);
    }
    free(line);
    fclose(f);
    close(fd);
    printf("replayed %lu event%s (%lu skipped for other instances, %lu refused, %lu unreadable "
           "lines)\n",
           c.sent, c.sent == 1 ? "" : "s", c.skipped, c.refused, c.unreadable);
    return c.refused ? FTH_EXIT_FAILURE : FTH_EXIT_OK;
}

int fth_cmd_replay(int argc, char **argv)
{
    static const struct option options[] = {
        {"plugin", required_argument, NULL, 'p'},
        {"data-dir", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *only = NULL, *data_dir = NULL;
    optind = 0; /* GNU: start afresh, and let FILE come before or after the options */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        if (c == 'p')
            only = optarg;
        else if (c == 'd')
            data_dir = optarg;
        else if (c == 'h') {
            usage(stdout);
            return FTH_EXIT_OK;
        } else {
            fprintf(stderr, "ftrack-host replay: unknown option or missing value\n");
            usage(stderr);
            return FTH_EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        usage(stderr);
        return FTH_EXIT_USAGE;
    }
    return replay_file(argv[optind], only, data_dir);
}
