/* SPDX-License-Identifier: Apache-2.0 */
/* The event journal (host/delivery/journal*.c; its files in host_journal_files_test.c), the
 * dead-letter file and the failure policy arithmetic. The crash record has
 * host_crash_guard_test.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <signal.h>

#include <ftrack/host.h>
#include <ftrack/hub.h>

#include "delivery/deadletter.h"
#include "delivery/failure.h"
#include "delivery/journal.h"

#include "hub_test_support.h"
#include "journal_test_helpers.h"

static void test_order_and_dedup(void **state)
{
    (void)state;
    fth_journal *j = open_journal(0, 0);
    assert_int_equal(append(j, "a", "e1", 1), FTH_APPEND_ADDED);
    assert_int_equal(append(j, "a", "e2", 2), FTH_APPEND_ADDED);
    assert_int_equal(append(j, "a", "e1", 1), FTH_APPEND_DUPLICATE);
    assert_int_equal(append(j, "b", "e1", 1), FTH_APPEND_ADDED); /* another instance */
    assert_int_equal(fth_journal_pending(j, "a"), 2);
    fth_journal_entry e;
    assert_true(fth_journal_next(j, "a", &e));
    assert_non_null(strstr(e.text, "\"e1\""));
    assert_int_equal(e.attempts, 0);
    assert_false(e.redelivery);
    fth_journal_started(j, "a", &e);
    fth_journal_finished(j, "a", &e);
    fth_journal_entry_clear(&e);
    assert_true(fth_journal_next(j, "a", &e));
    assert_non_null(strstr(e.text, "\"e2\""));
    fth_journal_entry_clear(&e);
    /* Handled and then received again: still a duplicate (within the dedup window). */
    assert_int_equal(append(j, "a", "e1", 1), FTH_APPEND_DUPLICATE);
    fth_journal_stats st;
    fth_journal_get_stats(j, &st);
    assert_int_equal(st.pending, 2); /* a:e2, b:e1 */
    assert_int_equal(st.duplicates, 2);
    fth_journal_close(j);
}

static void test_crash_redelivery(void **state)
{
    (void)state;
    fth_journal *j = open_journal(0, 0);
    append(j, "a", "c1", 1);
    append(j, "a", "c2", 2);
    fth_journal_entry e;
    assert_true(fth_journal_next(j, "a", &e));
    fth_journal_started(j, "a", &e); /* in flight when the "crash" comes */
    fth_journal_entry_clear(&e);
    /* Another host on the same journal is refused while this one has it. */
    char path[300];
    fth_journal_options o;
    journal_options(&o, path);
    fth_journal *other = NULL;
    ftrack_error err;
    assert_int_equal(fth_journal_open(&o, &other, &err), FTRACK_ERR_IO);
    assert_non_null(strstr(err.message, "another ftrack-host"));
    fth_journal_close(j);

    j = open_journal(0, 0); /* the next run */
    assert_true(fth_journal_next(j, "a", &e));
    assert_non_null(strstr(e.text, "\"c1\""));
    assert_true(e.redelivery);
    assert_int_equal(e.attempts, 1);
    fth_journal_finished(j, "a", &e);
    fth_journal_entry_clear(&e);
    assert_true(fth_journal_next(j, "a", &e));
    assert_non_null(strstr(e.text, "\"c2\""));
    assert_false(e.redelivery); /* never started: not a redelivery */
    fth_journal_finished(j, "a", &e);
    fth_journal_entry_clear(&e);
    assert_false(fth_journal_next(j, "a", &e));
    /* A replay puts a handled event back, marked as a redelivery. */
    char text[256];
    event_text(text, sizeof(text), "c1", 1);
    assert_int_equal(fth_journal_requeue(j, "a", "c1", "t", text, &err), FTRACK_OK);
    assert_true(fth_journal_next(j, "a", &e));
    assert_true(e.redelivery);
    assert_int_equal(e.attempts, 0);
    fth_journal_entry_clear(&e);
    fth_journal_close(j);
}

/* Marks are records after the event's: the journal must hand out the right deliveries,
 * including one appended late below the finished ones (another instance had it first). */
static void test_marks_batched(void **state)
{
    (void)state;
    fth_journal *j = open_journal(0, 0);
    append(j, "a", "m1", 1); /* seq 1, for a only */
    append(j, "b", "m2", 2); /* seq 2 */
    append(j, "b", "m3", 3); /* seq 3 */
    fth_journal_entry e;
    assert_true(fth_journal_next(j, "b", &e));
    assert_string_equal(e.id, "m2");
    assert_string_equal(e.topic, "t");
    fth_journal_started(j, "b", &e);
    fth_journal_finished(j, "b", &e);
    fth_journal_entry_clear(&e);
    assert_true(fth_journal_next(j, "b", &e));
    assert_string_equal(e.id, "m3");
    fth_journal_started(j, "b", &e);
    fth_journal_finished(j, "b", &e);
    fth_journal_entry_clear(&e);
    /* b now gets the event a journaled first: its seq is below b's finished ones. */
    append(j, "b", "m1", 1);
    assert_true(fth_journal_next(j, "b", &e));
    assert_string_equal(e.id, "m1");
    assert_false(e.redelivery);
    /* A dispatch that fails and is tried again reads its attempts current. */
    fth_journal_started(j, "b", &e);
    fth_journal_entry_clear(&e);
    assert_true(fth_journal_next(j, "b", &e));
    assert_string_equal(e.id, "m1");
    assert_int_equal(e.attempts, 1);
    fth_journal_finished(j, "b", &e);
    fth_journal_entry_clear(&e);
    assert_false(fth_journal_next(j, "b", &e));
    assert_int_equal(fth_journal_pending(j, "b"), 0);
    assert_int_equal(fth_journal_pending(j, "a"), 1);
    fth_journal_close(j);
}

/* A crash (no close) keeps every mark: the process's writes to the mapped segment survive it,
 * and the next open reads them. Only the delivery in flight comes back, as a redelivery. */
static void test_marks_survive_crash(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fth_journal *j = open_journal(0, 0);
        char id[16];
        for (int i = 1; i <= 5; i++) {
            snprintf(id, sizeof(id), "k%d", i);
            append(j, "a", id, i);
        }
        fth_journal_entry e;
        for (int i = 1; i <= 4; i++) {
            if (!fth_journal_next(j, "a", &e))
                _exit(3);
            fth_journal_started(j, "a", &e);
            if (i < 4)
                fth_journal_finished(j, "a", &e); /* the 4th is in flight at the "crash" */
            fth_journal_entry_clear(&e);
        }
        _exit(0); /* no close: the marks are only in the log */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    fth_journal *j = open_journal(0, 0);
    assert_int_equal(fth_journal_pending(j, "a"), 2);
    fth_journal_entry e;
    assert_true(fth_journal_next(j, "a", &e));
    assert_string_equal(e.id, "k4");
    assert_true(e.redelivery);
    assert_int_equal(e.attempts, 1);
    fth_journal_finished(j, "a", &e);
    fth_journal_entry_clear(&e);
    assert_true(fth_journal_next(j, "a", &e));
    assert_string_equal(e.id, "k5");
    assert_false(e.redelivery);
    assert_int_equal(e.attempts, 0);
    fth_journal_entry_clear(&e);
    fth_journal_close(j);
    /* Applied once: a third run sees the same state, not the marks again. */
    j = open_journal(0, 0);
    assert_int_equal(fth_journal_pending(j, "a"), 1);
    assert_true(fth_journal_next(j, "a", &e));
    assert_string_equal(e.id, "k5");
    assert_int_equal(e.attempts, 0);
    fth_journal_entry_clear(&e);
    fth_journal_close(j);
}

/* One "run" in a child process: start the oldest delivery of "a" and die in its dispatch
 * (no close: what survives is what the journal persisted before the callback). */
static void crashed_run(void)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        fth_journal *j = open_journal(0, 0);
        fth_journal_entry e;
        if (!fth_journal_next(j, "a", &e))
            _exit(3);
        fth_journal_started(j, "a", &e);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

typedef struct unfinished_seen {
    unsigned count, attempts;
    char id[FTRACK_ID_MAX];
} unfinished_seen;

static bool take_used_up(void *ctx, const fth_journal_entry *e)
{
    unfinished_seen *seen = ctx;
    seen->count++;
    seen->attempts = e->attempts;
    snprintf(seen->id, sizeof(seen->id), "%s", e->id);
    return e->attempts >= 3;
}

/* A poison event: each run dies in its dispatch. The tries are counted before the callback,
 * so after three runs fth_journal_unfinished sees 3 attempts, and the delivery it takes is
 * finished: the next one flows. */
static void test_unfinished_after_crashes(void **state)
{
    (void)state;
    fth_journal *j = open_journal(0, 0);
    append(j, "a", "p1", 1);
    append(j, "a", "p2", 2);
    append(j, "b", "p1", 1);
    fth_journal_close(j);
    unfinished_seen seen;
    for (unsigned run = 1; run <= 3; run++) {
        crashed_run();
        j = open_journal(0, 0);
        memset(&seen, 0, sizeof(seen));
        assert_int_equal(fth_journal_unfinished(j, "a", take_used_up, &seen), 1);
        assert_string_equal(seen.id, "p1");
        assert_int_equal(seen.attempts, run);
        assert_int_equal(fth_journal_pending(j, "a"), run < 3 ? 2 : 1);
        fth_journal_close(j);
    }
    j = open_journal(0, 0);
    memset(&seen, 0, sizeof(seen));
    assert_int_equal(fth_journal_unfinished(j, "a", take_used_up, &seen), 0);
    expect_next(j, "a", "p2", false);
    expect_none(j, "a");
    expect_next(j, "b", "p1", false); /* another instance's delivery of it is its own */
    /* A delivery started in this run is not an earlier run's. */
    append(j, "a", "p3", 3);
    fth_journal_entry e;
    assert_true(fth_journal_next(j, "a", &e));
    fth_journal_started(j, "a", &e);
    fth_journal_entry_clear(&e);
    assert_int_equal(fth_journal_unfinished(j, "a", take_used_up, &seen), 0);
    fth_journal_close(j);
}

/* An event another instance journaled first has an older seq: appended below what this
 * instance handled, and below a delivery in flight, it must still be handed out (the
 * benchmark's missing marker reply, in the journal before this one). */
static void test_marks_below_across_apply(void **state)
{
    (void)state;
    fth_journal *j = open_journal(0, 0);
    append(j, "b", "m", 0); /* seq 1: "b" journals it first */
    append(j, "a", "x1", 1);
    expect_next(j, "a", "x1", false); /* handled: m's seq is below it */
    append(j, "a", "x2", 2);
    append(j, "a", "m", 0); /* below the floor */
    fth_journal_entry e;
    assert_true(fth_journal_next(j, "a", &e));
    assert_string_equal(e.id, "x2");
    fth_journal_started(j, "a", &e);
    fth_journal_finished(j, "a", &e);
    fth_journal_entry_clear(&e);
    expect_next(j, "a", "m", false);
    expect_none(j, "a");
    assert_int_equal(fth_journal_pending(j, "a"), 0);
    /* Appended below the delivery in flight (not below the floor yet), while later ones wait
     * in memory: the in-flight one's finish puts it below the floor. */
    append(j, "b", "p", 0);
    append(j, "a", "y1", 1);
    append(j, "a", "y2", 2);
    assert_true(fth_journal_next(j, "a", &e));
    assert_string_equal(e.id, "y1");
    fth_journal_started(j, "a", &e);
    append(j, "a", "p", 0);
    fth_journal_finished(j, "a", &e);
    fth_journal_entry_clear(&e);
    expect_next(j, "a", "y2", false);
    expect_next(j, "a", "p", false);
    expect_none(j, "a");
    fth_journal_close(j);
}

/* Many deliveries, some handled while more arrive: each once, in order. */
static void test_handoff_interleaved(void **state)
{
    (void)state;
    fth_journal *j = open_journal(0, 0);
    char id[32];
    for (int i = 0; i < 1100; i++) {
        snprintf(id, sizeof(id), "f%d", i);
        append(j, "a", id, i);
    }
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof(id), "f%d", i);
        expect_next(j, "a", id, false);
    }
    for (int i = 1100; i < 1110; i++) {
        snprintf(id, sizeof(id), "f%d", i);
        append(j, "a", id, i);
    }
    for (int i = 10; i < 1110; i++) {
        snprintf(id, sizeof(id), "f%d", i);
        expect_next(j, "a", id, false);
    }
    expect_none(j, "a");
    assert_int_equal(fth_journal_pending(j, "a"), 0);
    fth_journal_close(j);
}

/* A retry and a replay of deliveries, and a restart with pending ones and fresh ones
 * arriving: each once, in seq order. */
static void test_handoff_retry_replay_restart(void **state)
{
    (void)state;
    fth_journal *j = open_journal(0, 0);
    append(j, "c", "h1", 1);
    append(j, "c", "h2", 2);
    fth_journal_entry e;
    assert_true(fth_journal_next(j, "c", &e));
    assert_string_equal(e.id, "h1");
    fth_journal_started(j, "c", &e); /* fails: not finished */
    fth_journal_entry_clear(&e);
    assert_true(fth_journal_next(j, "c", &e));
    assert_string_equal(e.id, "h1");
    assert_int_equal(e.attempts, 1);
    fth_journal_started(j, "c", &e);
    fth_journal_finished(j, "c", &e);
    fth_journal_entry_clear(&e);
    expect_next(j, "c", "h2", false);
    expect_none(j, "c");

    /* Replays: one still pending in memory, one handled already. */
    append(j, "b", "g1", 1);
    append(j, "b", "g2", 2);
    append(j, "b", "g3", 3);
    expect_next(j, "b", "g1", false);
    char text[256];
    ftrack_error err;
    event_text(text, sizeof(text), "g2", 2);
    assert_int_equal(fth_journal_requeue(j, "b", "g2", "t", text, &err), FTRACK_OK);
    event_text(text, sizeof(text), "g1", 1);
    assert_int_equal(fth_journal_requeue(j, "b", "g1", "t", text, &err), FTRACK_OK);
    append(j, "b", "g4", 4);
    expect_next(j, "b", "g1", true);
    expect_next(j, "b", "g2", true);
    expect_next(j, "b", "g3", false);
    expect_next(j, "b", "g4", false);
    expect_none(j, "b");

    /* A restart: what was pending (in memory then) comes first, then the new arrivals. */
    append(j, "d", "k1", 1);
    append(j, "d", "k2", 2);
    expect_next(j, "d", "k1", false);
    fth_journal_close(j);
    j = open_journal(0, 0);
    append(j, "d", "k3", 3);
    append(j, "d", "k1", 1); /* handled in the earlier run: a duplicate */
    expect_next(j, "d", "k2", false);
    append(j, "d", "k4", 4);
    expect_next(j, "d", "k3", false);
    expect_next(j, "d", "k4", false);
    expect_none(j, "d");
    fth_journal_close(j);
}

/* Compaction forgets an event once no instance has it pending and the dedup window passed. */
static void test_forget(void **state)
{
    (void)state;
    char path[300];
    fth_journal_options o;
    journal_options(&o, path);
    o.dedup_window = 0.001;
    fth_journal *j = open_with(&o);
    append(j, "a", "x", 1);
    append(j, "a", "y", 2);
    append(j, "b", "y", 2);
    expect_next(j, "a", "x", false);
    expect_next(j, "a", "y", false);
    usleep(20000);
    fth_journal_compact(j, NULL);
    /* x is forgotten (handled everywhere): new again; y is still pending for b. */
    assert_int_equal(append(j, "a", "x", 1), FTH_APPEND_ADDED);
    assert_int_equal(append(j, "a", "y", 2), FTH_APPEND_DUPLICATE);
    expect_next(j, "b", "y", false);
    fth_journal_close(j);
}

/* Reopened after more events than are remembered: the marks read at open find their events by
 * seq (the delivery for a second instance, a start, the finishes), and the events forgotten
 * while reading (past the newest 4,096 finished) are new again. */
static void test_recover_by_seq(void **state)
{
    (void)state;
    enum { N = 5000 };
    fth_journal *j = open_journal(0, 0);
    char id[16];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof(id), "r%d", i);
        assert_int_equal(append(j, "a", id, i), FTH_APPEND_ADDED);
        if (i % 1000 == 0)
            assert_int_equal(append(j, "b", id, i), FTH_APPEND_ADDED);
        expect_next(j, "a", id, false);
    }
    fth_journal_entry e;
    assert_true(fth_journal_next(j, "b", &e));
    fth_journal_started(j, "b", &e); /* and the host died in the callback */
    fth_journal_entry_clear(&e);
    fth_journal_close(j);

    j = open_journal(0, 0);
    assert_int_equal(fth_journal_pending(j, "a"), 0);
    assert_int_equal(fth_journal_pending(j, "b"), N / 1000);
    assert_true(fth_journal_next(j, "b", &e));
    assert_string_equal(e.id, "r0");
    assert_int_equal(e.attempts, 1);
    assert_true(e.redelivery);
    fth_journal_entry_clear(&e);
    assert_int_equal(append(j, "a", "r4999", 0), FTH_APPEND_DUPLICATE); /* remembered */
    assert_int_equal(append(j, "a", "r1000", 0), FTH_APPEND_DUPLICATE); /* pending for b */
    assert_int_equal(append(j, "a", "r1", 0), FTH_APPEND_ADDED);        /* forgotten */
    expect_next(j, "a", "r1", false);
    fth_journal_close(j);
}

static size_t count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    size_t n = 0;
    int c;
    while (f && (c = fgetc(f)) != EOF)
        n += c == '\n';
    if (f)
        fclose(f);
    return n;
}

static void test_limits_dead_letter(void **state)
{
    (void)state;
    char dlpath[300];
    snprintf(dlpath, sizeof(dlpath), "%s/dead.jsonl", dir);
    fth_deadletter *dl = NULL;
    ftrack_error err;
    assert_int_equal(fth_deadletter_open(dlpath, &dl, &err), FTRACK_OK);
    /* Age: a tiny max_age expires what is pending. */
    fth_journal *j = open_journal(0, 0.001);
    append(j, "old", "x1", 1);
    usleep(20000);
    fth_journal_compact(j, dl);
    assert_int_equal(fth_journal_pending(j, "old"), 0);
    fth_journal_stats st;
    fth_journal_get_stats(j, &st);
    assert_int_equal(st.expired, 1);
    fth_journal_close(j);
    assert_int_equal(count_lines(dlpath), 1);
    /* Size: 1 MiB of pending events with a 1 MiB limit: the oldest go to the dead letters. */
    j = open_journal(1024 * 1024, 0);
    char *big = malloc(8192);
    memset(big, 'x', 8191);
    big[8191] = '\0';
    char id[32], text[9000];
    for (int i = 0; i < 300; i++) {
        snprintf(id, sizeof(id), "big%d", i);
        snprintf(text, sizeof(text), "{\"id\":\"%s\",\"topic\":\"t\",\"data\":\"%s\"}", id, big);
        assert_int_equal(fth_journal_append(j, "full", id, "t", text, strlen(text)),
                         FTH_APPEND_ADDED);
    }
    free(big);
    fth_journal_compact(j, dl);
    fth_journal_get_stats(j, &st);
    assert_true(st.evicted > 0);
    assert_true(st.bytes <= 1024 * 1024);
    assert_int_equal(st.evicted + fth_journal_pending(j, "full"), 300);
    /* The oldest went first: what is left starts after them. */
    fth_journal_entry e;
    assert_true(fth_journal_next(j, "full", &e));
    snprintf(id, sizeof(id), "\"big%llu\"", (unsigned long long)st.evicted);
    assert_non_null(strstr(e.text, id));
    fth_journal_entry_clear(&e);
    fth_journal_close(j);
    assert_int_equal(count_lines(dlpath), 1 + st.evicted);
    assert_int_equal(fth_deadletter_count(dl), 1 + st.evicted);
    fth_deadletter_close(dl);
    /* Records read back as replay reads them. */
    FILE *f = fopen(dlpath, "r");
    char line[16384];
    assert_non_null(fgets(line, sizeof(line), f));
    fclose(f);
    json_object *rec = NULL, *event = NULL;
    const char *instance = NULL;
    assert_true(fth_deadletter_parse_line(line, &rec, &instance, &event));
    assert_string_equal(instance, "old");
    json_object_put(rec);
    assert_false(fth_deadletter_parse_line("{\"instance\":3}", &rec, &instance, &event));
}

/* ---- what routing matched, kept with a delivery --------------------------------------- */

typedef struct match_case {
    fth_journal *journal;
    int called;
    const char *seen[4];
} match_case;

/* One subscriber's callback data: whose calls it counts, and its name in them. */
typedef struct subscriber {
    match_case *mc;
    const char *name;
} subscriber;

static json_object *note_call(ftrack_event *event, const ftrack_delivery *d, void *user_data)
{
    (void)event, (void)d;
    const subscriber *who = user_data;
    match_case *mc = who->mc;
    if (mc->called < 4)
        mc->seen[mc->called] = who->name;
    mc->called++;
    return NULL;
}

/* The host's intake in small: the event journaled once, with routing's match. */
static void journal_intake(json_object *event, const char *text, size_t len,
                           ftrack_hub_match *match, void *const *tags, bool *taken, size_t n,
                           void *user_data)
{
    (void)tags;
    match_case *mc = user_data;
    json_object *id;
    assert_true(json_object_object_get_ex(event, "id", &id));
    const char *instance = "a";
    fth_append_result r;
    fth_journal_append_event(mc->journal, json_object_get_string(id), "test.match", text, len,
                             match, &instance, &r, 1);
    assert_int_equal(r, FTH_APPEND_ADDED);
    for (size_t i = 0; i < n; i++)
        taken[i] = true;
}

static void subscribe_on(ftrack_hub *hub, ftrack_hub_queue *q, subscriber *spec)
{
    ftrack_subscribe_options so;
    ftrack_subscribe_options_init(&so);
    so.queue = q;
    assert_int_equal(
        ftrack_hub_subscribe(hub, "topic=test.match", note_call, spec, &so, NULL, NULL), FTRACK_OK);
}

static void dispatch_next(fth_journal *j, ftrack_hub_queue *q, bool want_match)
{
    fth_journal_entry e;
    assert_true(fth_journal_next(j, "a", &e));
    assert_int_equal(e.match != NULL, want_match);
    assert_int_equal(ftrack_hub_queue_dispatch_matched(q, e.text, e.len, e.match, NULL, NULL, NULL),
                     FTRACK_OK);
    fth_journal_started(j, "a", &e);
    fth_journal_finished(j, "a", &e);
    fth_journal_entry_clear(&e);
}

/* A delivery keeps the match routing made (in memory only): the worker's dispatch calls the
 * subscriber it names and no other, even one subscribed since. Read back at the next open it
 * has none and is matched then. Every reference is released (the sanitizer build checks). */
static void test_match_kept_with_delivery(void **state)
{
    (void)state;
    ftrack_hub *hub = hub_with("http://127.0.0.1:1", 0);
    ftrack_hub_queue *q = NULL;
    assert_int_equal(ftrack_hub_queue_new(hub, "a", 10, &q, NULL), FTRACK_OK);
    match_case mc = {open_journal(0, 0), 0, {NULL}};
    subscriber first = {&mc, "first"}, late = {&mc, "late"};
    subscribe_on(hub, q, &first);
    ftrack_hub_set_intake(hub, journal_intake, &mc);
    ftrack_hub_queue_set_tag(q, &mc);
    for (int i = 0; i < 2; i++) {
        ftrack_event *ev = ftrack_event_new("test.match", NULL);
        assert_int_equal(ftrack_hub_deliver_local(hub, ev, NULL), FTRACK_OK);
        ftrack_event_free(ev);
    }
    ftrack_hub_queue_set_tag(q, NULL);
    ftrack_hub_set_intake(hub, NULL, NULL);
    subscribe_on(hub, q, &late);

    dispatch_next(mc.journal, q, true);
    assert_int_equal(mc.called, 1);
    assert_string_equal(mc.seen[0], "first");

    fth_journal_close(mc.journal); /* the second is still pending, with its match */
    mc.journal = open_journal(0, 0);
    dispatch_next(mc.journal, q, false);
    assert_int_equal(mc.called, 3); /* matched at dispatch: both subscribers */
    assert_int_equal(fth_journal_pending(mc.journal, "a"), 0);
    fth_journal_close(mc.journal);
    ftrack_hub_queue_free(q);
    ftrack_hub_free(hub);
}

static void test_failure_policy(void **state)
{
    (void)state;
    fth_failure_policy p;
    fth_failure_policy_init(&p);
    json_object *cfg = json_tokener_parse(
        "{\"deadline\": 2.5, \"max_attempts\": 4, \"retry_delay\": 1, \"retry_max_delay\": 5}");
    ftrack_error err;
    assert_int_equal(fth_failure_policy_parse(cfg, "test", &p, &err), FTRACK_OK);
    json_object_put(cfg);
    assert_true(p.deadline == 2.5 && p.max_attempts == 4);
    for (unsigned a = 1; a <= 6; a++) {
        double want = a == 1 ? 1 : a == 2 ? 2 : a == 3 ? 4 : 5;
        double d = fth_failure_retry_delay(&p, a);
        assert_true(d >= want * 0.8 - 1e-9 && d < want * 1.2);
    }
    assert_true(fth_failure_pause_delay(&p, 1) == 30);
    assert_true(fth_failure_pause_delay(&p, 2) == 60);
    assert_true(fth_failure_pause_delay(&p, 30) == 600);
    cfg = json_tokener_parse("{\"max_attemps\": 3}");
    assert_int_equal(fth_failure_policy_parse(cfg, "test", &p, &err), FTRACK_ERR_CONFIG);
    assert_non_null(strstr(err.message, "max_attemps"));
    json_object_put(cfg);
    cfg = json_tokener_parse("{\"max_attempts\": 0}");
    assert_int_equal(fth_failure_policy_parse(cfg, "test", &p, &err), FTRACK_ERR_CONFIG);
    json_object_put(cfg);
    fth_journal_options o;
    fth_journal_options_init(&o);
    cfg = json_tokener_parse("{\"fsync\": \"every\", \"max_age\": 60}");
    assert_int_equal(fth_journal_options_parse(cfg, "test", &o, &err), FTRACK_OK);
    assert_int_equal(o.fsync, FTH_FSYNC_EVERY);
    json_object_put(cfg);
    cfg = json_tokener_parse("{\"fsync\": \"sometimes\"}");
    assert_int_equal(fth_journal_options_parse(cfg, "test", &o, &err), FTRACK_ERR_CONFIG);
    json_object_put(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_and_dedup, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_crash_redelivery, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_marks_batched, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_marks_survive_crash, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_limits_dead_letter, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_handoff_interleaved, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_handoff_retry_replay_restart, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_forget, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_recover_by_seq, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_unfinished_after_crashes, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_marks_below_across_apply, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_match_kept_with_delivery, make_dir, remove_dir),
        cmocka_unit_test(test_failure_policy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
