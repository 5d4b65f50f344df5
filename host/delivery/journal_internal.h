/* SPDX-License-Identifier: Apache-2.0 */
#ifndef FTH_JOURNAL_INTERNAL_H
#define FTH_JOURNAL_INTERNAL_H
/*
 * What the pieces of the event journal share (private to them; the host uses journal.h):
 *   journal_log.c      the segment files: record layout, checksums, append, scan, sync
 *   journal_state.c    what is pending in memory: events, instances, deliveries
 *   journal_index.c    the hash index of events, by id (and by seq while recovering)
 *   journal.c          the API: options, open and close, append, next/started/finished,
 *                      requeue, stats
 *   journal_recover.c  the state rebuilt from the records at open, and the import of an old
 *                      SQLite journal
 *   journal_compact.c  expiry, the size limit, copying live events forward, deleting segments
 *   journal_unfinished.c  deliveries an earlier run started and did not finish
 *   journal_dump.c     the records printed, for `ftrack-host journal`
 * Every function below expects the journal's lock held, or runs while the journal is opened
 * or closed (no other thread has it then).
 *
 * Record layout (little-endian, every record 8-byte aligned):
 *   header   u32 magic "FTJ1", u32 CRC-32 (zlib's crc32, the gzip one) of the rest of the
 *            header and the payload, u32 payload length, u8 type, u8 flags, u16 instance
 *            number, i64 seq
 *   payload  by type:
 *     INSTANCE   the instance's name (its number is in the header); repeated at the start of
 *                every segment so each can be read (and dropped) on its own
 *     EVENT      f64 received, u32 text length, u16 id length, u16 topic length, u16 target
 *                count, 6 bytes reserved, then per target u16 instance, u16 attempts, u16
 *                flags (TARGET_*), then the id, topic and text bytes. Flag REC_MOVED: a copy
 *                written by compaction (or to re-home an event whose segment is gone) whose
 *                targets are the event's whole pending state at that point of the log.
 *     DELIVERY   (empty) one more instance for an event written before
 *     STARTED, FINISHED, REQUEUE  (empty) a mark of the delivery (instance, seq)
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/linkhash.h>
#include "delivery/journal.h"

#define JREC_MAGIC 0x314a5446u /* "FTJ1" */
#define JREC_HEADER 24u
#define JREC_EVENT_FIXED 24u
#define JREC_TARGET 6u
/* Past this many records' bytes a payload is refused: an event is bounded by the hub's frame
 * limit far below it, so a larger length can only be damage. */
#define JREC_MAX_PAYLOAD (256u * 1024 * 1024)

enum {
    REC_INSTANCE = 1,
    REC_EVENT = 2,
    REC_DELIVERY = 3,
    REC_STARTED = 4,
    REC_FINISHED = 5,
    REC_REQUEUE = 6,
};
enum { REC_MOVED = 1 };       /* header flags of an EVENT */
enum { TARGET_REPLAYED = 1 }; /* target flags */

typedef struct jrec_header {
    uint32_t magic, crc, len;
    uint8_t type, flags;
    uint16_t inst;
    int64_t seq;
} jrec_header;

typedef struct jrec_event {
    double received;
    uint32_t text_len;
    uint16_t id_len, topic_len, targets;
    uint8_t reserved[6];
} jrec_event;

typedef struct jrec_target {
    uint16_t inst, attempts, flags;
} jrec_target;

/* ---- segments (journal_log.c) ---------------------------------------------------------- */

typedef struct jsegment {
    uint64_t no; /* its file is <dir>/<no as 16 hex digits>.seg */
    int fd;
    uint64_t used; /* bytes of records (the end of the last good one) */
    uint64_t size; /* the file's size */
    uint64_t live; /* events whose record here has pending deliveries */
    bool dirty;    /* written since the last sync */
} jsegment;

/* ---- events, instances, deliveries (journal_state.c) ----------------------------------- */

typedef struct jevent {
    /* every event in memory, in the order they were added: the list owns them */
    struct jevent *prev, *next;
    uint64_t id_hash; /* of its id: where the index by id has it (journal_index.c) */
    int64_t seq;
    uint64_t seg;      /* the segment holding its record */
    uint64_t text_off; /* where its text starts in that segment */
    double received;
    uint32_t text_len;
    uint32_t pending; /* deliveries not finished */
    struct jevent *next_done;
    /* every instance it was for (deduplication): few, so inline until there are more */
    uint16_t *insts;
    uint16_t ninsts, capinsts;
    uint16_t inline_insts[4];
    bool remembered;   /* in the list of finished events kept for deduplication */
    const char *topic; /* after the id; may be cut short: for logs */
    char id[];
} jevent;

typedef struct jdelivery {
    jevent *ev;
    /* what routing matched for this instance (referenced), kept in memory only: NULL when
     * read back at open or replayed, then the worker matches at dispatch */
    ftrack_hub_match *match;
    uint16_t attempts;
    bool replayed;
    bool started_earlier; /* an earlier run started it (attempts > 0 at open) */
} jdelivery;

/* ---- the event index (journal_index.c) -------------------------------------------------- */

typedef struct jindex_slot {
    uint64_t hash;
    jevent *ev; /* NULL: empty */
} jindex_slot;

typedef struct jindex {
    jindex_slot *slots;
    size_t mask; /* slots - 1 (a power of two) */
    size_t count;
    lh_hash_fn *string_hash; /* json-c's, for ids (journal_index.c) */
} jindex;

/* Whether `ev` has the key `key` (an event whose hash matched). */
typedef bool (*jindex_match_fn)(const jevent *ev, const void *key);

bool fth_jindex_init(jindex *x);
void fth_jindex_free(jindex *x);
uint64_t fth_jindex_hash_id(const jindex *x, const char *id);
/* Distinct for distinct seqs: an index by seq passes no match function (NULL below). */
uint64_t fth_jindex_hash_seq(int64_t seq);
/* The event with `hash` that `match` accepts (NULL: the first with `hash`), or NULL. */
jevent *fth_jindex_find(const jindex *x, uint64_t hash, jindex_match_fn match, const void *key);
/* Index `ev` under `hash`, in place of the one with the same key (handed back in *replaced,
 * else NULL); false when out of memory (nothing changed). */
bool fth_jindex_put(jindex *x, uint64_t hash, jevent *ev, jindex_match_fn match, const void *key,
                    jevent **replaced);
/* Take `ev` (this very event, under `hash`) out; false when it was not in. */
bool fth_jindex_remove(jindex *x, uint64_t hash, const jevent *ev);
/* The slots the table holds now (tests: memory follows the entries). */
size_t fth_jindex_slots(const jindex *x);

typedef struct jinstance {
    char *name;
    uint16_t num;
    jdelivery *q; /* pending, in the order handed out: q[head .. head+count) */
    size_t head, count, cap;
} jinstance;

struct fth_journal {
    pthread_mutex_t lock;
    fth_journal_options options;
    char *dir;
    int dir_fd, lock_fd;
    /* segments, oldest first; the last is the head, mapped for appending */
    jsegment *segs;
    size_t nsegs, capsegs;
    unsigned char *map;
    uint64_t map_size;
    uint64_t prepared;    /* bytes of the map made ready for writing (journal_log.c) */
    bool created_segment; /* a file was created since the last sync (the directory too) */
    int64_t next_seq;
    /* every event in memory (their owner), in the order they were added; by id (the newest
     * with an id); by seq only while the records are read at open: nothing else needs it */
    jevent *first, *last;
    jindex by_id, by_seq;
    bool seq_indexed;
    jevent *done_head, *done_tail; /* finished events kept for deduplication, oldest first */
    size_t done_count;
    jinstance **insts; /* by number */
    size_t ninsts;
    struct lh_table *inst_by_name;
    /* The last instances looked up, by the address of the name they were asked by: a worker
     * asks with the same string for each of its events, four times an event. Checked against
     * the instance's name, so a string freed and reused for another name is not mistaken. */
    struct {
        const char *asked;
        jinstance *in;
    } inst_recent[8];
    uint64_t pending;
    uint64_t written, evicted, expired, duplicates, write_errors, corrupt;
};

/* ---- journal_log.c --------------------------------------------------------------------- */

char *fth_jlog_segment_path(const char *dir, uint64_t no);
/* The checksum of a record's bytes after its crc field: the CRC-32 zlib's crc32 computes. */
uint32_t fth_jlog_crc(const void *data, size_t len);
/* The segment numbers in `dir`, ascending (caller frees); -1 on error (errno set). */
long fth_jlog_list(const char *dir, uint64_t **out);
/* Append one record to the head segment (a new one when it is full); false when it cannot be
 * written (logged, counted). payload: `n` parts. *seg and *off (may be NULL) get where the
 * payload starts. */
typedef struct jpart {
    const void *data;
    size_t len;
} jpart;
bool fth_jlog_append(fth_journal *j, uint8_t type, uint8_t flags, uint16_t inst, int64_t seq,
                     const jpart *parts, size_t n, uint64_t *seg, uint64_t *off);
/* Start a new head segment (at open: earlier ones are only read from then on). */
bool fth_jlog_new_head(fth_journal *j, uint64_t need);
jsegment *fth_jlog_segment(fth_journal *j, uint64_t no);
/* Read `len` bytes at `off` of segment `no`; false when it is gone or unreadable. */
bool fth_jlog_read(fth_journal *j, uint64_t no, uint64_t off, void *buf, size_t len);
/* Sync what was written since the last sync, with the lock held throughout (compaction,
 * import)... */
void fth_jlog_sync(fth_journal *j);
/* ...or in two halves, so the lock is not held while the disk works (the host's timer): what
 * to sync is collected under the lock, synced after it is released. */
typedef struct jlog_sync {
    int *fds;
    size_t n;
    int dir_fd;
} jlog_sync;
void fth_jlog_sync_collect(fth_journal *j, jlog_sync *out);
unsigned fth_jlog_sync_run(jlog_sync *p); /* returns the failures (logged) */
void fth_jlog_drop(fth_journal *j, size_t index);
void fth_jlog_close_all(fth_journal *j);

/* Visiting the records of one segment file, checking each: `fn` gets each good record (the
 * payload right after the header). Damage is reported through `bad` (offset, bytes skipped,
 * whether it is a torn tail: nothing good follows it in this file). Returns the end of the
 * last good record, or -1 when the file cannot be read. */
typedef void (*jlog_record_fn)(void *ctx, uint64_t off, const jrec_header *h,
                               const unsigned char *payload);
typedef void (*jlog_damage_fn)(void *ctx, uint64_t off, uint64_t skipped, bool tail,
                               const char *why);
int64_t fth_jlog_scan(int fd, jlog_record_fn fn, jlog_damage_fn bad, void *ctx);
/* The parts of an EVENT payload; false when they do not add up. */
bool fth_jlog_event_parts(const jrec_header *h, const unsigned char *payload, jrec_event *ev,
                          const jrec_target **targets, const char **id, const char **topic,
                          const char **text);

/* ---- journal_state.c ------------------------------------------------------------------- */

bool fth_jstate_init(fth_journal *j);
void fth_jstate_free(fth_journal *j);
/* The event `seq`, while the records are read at open (between fth_jstate_index_seqs and
 * fth_jstate_drop_seqs): nothing else looks events up by seq. NULL outside that window. */
jevent *fth_jstate_event(fth_journal *j, int64_t seq);
bool fth_jstate_index_seqs(fth_journal *j);
void fth_jstate_drop_seqs(fth_journal *j);
jevent *fth_jstate_event_by_id(fth_journal *j, const char *id);
/* A new event (seq, id, topic, where its text is); NULL when out of memory. */
jevent *fth_jstate_add_event(fth_journal *j, int64_t seq, const char *id, size_t id_len,
                             const char *topic, size_t topic_len, double received);
jinstance *fth_jstate_instance(fth_journal *j, const char *name);
jinstance *fth_jstate_instance_num(fth_journal *j, uint16_t num);
/* Make `name` known as number `num` (from a record); false when it cannot be. */
bool fth_jstate_name_instance(fth_journal *j, uint16_t num, const char *name, size_t len);
bool fth_jstate_event_has(const jevent *ev, uint16_t inst);
jdelivery *fth_jstate_find(jinstance *in, int64_t seq);
/* Add a pending delivery: after the others (the order it arrived in), or `by_seq` among them
 * by the event's seq (a replay, or a copy read back: where the event first arrived). Returns
 * it (valid until the instance's deliveries change; the one already there when it was),
 * NULL when out of memory. */
jdelivery *fth_jstate_add(fth_journal *j, jinstance *in, jevent *ev, uint16_t attempts,
                          bool replayed, bool by_seq);
/* The delivery is no longer pending (handled or dead-lettered); its match is released. */
void fth_jstate_remove(fth_journal *j, jinstance *in, jdelivery *d);
/* The event's record moved (compaction, re-homing). */
void fth_jstate_move(fth_journal *j, jevent *ev, uint64_t seg, uint64_t text_off);
/* Forget finished events past the deduplication window or count. */
void fth_jstate_forget(fth_journal *j, double now);
/* The event's text, read from its segment (malloc, NUL-terminated), or NULL. */
char *fth_jstate_text(fth_journal *j, const jevent *ev);

/* ---- journal.c --------------------------------------------------------------------------- */

/* Write an EVENT record for `ev`'s pending deliveries (and `extra` new targets) with flag
 * REC_MOVED, re-homing it: `text` (len bytes) is its text. false when it cannot be written. */
bool fth_journal_write_moved(fth_journal *j, jevent *ev, const char *text, size_t len,
                             const jrec_target *extra, size_t nextra);
/* Write a mark record (STARTED, FINISHED, ...); false when it cannot be written. */
bool fth_journal_mark(fth_journal *j, uint8_t type, const jinstance *in, int64_t seq);
/* Fill an entry handed out from delivery `d`; false when its text cannot be read. */
bool fth_journal_fill_entry(fth_journal *j, const jdelivery *d, fth_journal_entry *out);

/* ---- journal_recover.c ------------------------------------------------------------------- */

ftrack_status fth_journal_recover(fth_journal *j, ftrack_error *err);
ftrack_status fth_journal_import(fth_journal *j, const char *sqlite_path, ftrack_error *err);

#endif
