#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Write a journal as hosts before the segment journal left it (<data dir>/journal.sqlite,
the SQLite schema of host/delivery/journal.c at its last version), with every given event
pending for every given instance: the fixture of the migration's integration test.

    make_old_journal.py DATA_DIR/journal.sqlite --instance NAME [--instance NAME ...]
        [--text EVENT_JSON ...] [--count N] [--attempts K] [--replayed]

Events: each --text (wire JSON with "id" and "topic"), then --count generated ones
({"id": "old-<i>", "topic": "ftrack.test.old", "data": {"i": <i>}}). Their seqs follow the
order given. --attempts: the dispatches already started for every delivery (as a crash would
leave them: pending, started by an earlier run); --replayed: marked replayed. Prints
"<events> events, <deliveries> pending deliveries". The file must not exist yet.
"""
import argparse
import json
import os
import sqlite3
import sys
import time

# The old host's schema (host/delivery/journal.c, SCHEMA; its locking pragma and the drops
# of older indexes left out).
SCHEMA = """
PRAGMA auto_vacuum = INCREMENTAL;
PRAGMA journal_mode = WAL;
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY,
 id TEXT NOT NULL UNIQUE, topic TEXT NOT NULL, received REAL NOT NULL, text TEXT);
CREATE TABLE IF NOT EXISTS deliveries(instance TEXT NOT NULL, seq INTEGER NOT NULL,
 state INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0,
 run INTEGER NOT NULL DEFAULT 0, replayed INTEGER NOT NULL DEFAULT 0,
 PRIMARY KEY(instance, seq)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_waiting ON deliveries(instance, seq) WHERE state = 0;
INSERT OR IGNORE INTO meta(key, value) VALUES('run', 1);
INSERT OR IGNORE INTO meta(key, value) VALUES('marks', 0);
"""


def event_texts(args):
    texts = list(args.text or [])
    for i in range(1, args.count + 1):
        texts.append(json.dumps({"id": "old-%d" % i, "topic": "ftrack.test.old", "data": {"i": i}},
                                separators=(",", ":")))
    return texts


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("path")
    p.add_argument("--instance", action="append", required=True)
    p.add_argument("--text", action="append")
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--attempts", type=int, default=0)
    p.add_argument("--replayed", action="store_true")
    args = p.parse_args()
    if os.path.exists(args.path):
        sys.exit("%s exists already" % args.path)
    texts = event_texts(args)
    db = sqlite3.connect(args.path)
    db.executescript(SCHEMA)
    now = time.time()
    with db:
        for seq, text in enumerate(texts, start=1):
            event = json.loads(text)
            db.execute("INSERT INTO events(seq, id, topic, received, text) VALUES(?, ?, ?, ?, ?)",
                       (seq, event["id"], event["topic"], now, text))
            for instance in args.instance:
                # run 1: the run of this journal's writer, an earlier one for the next host.
                db.execute("INSERT INTO deliveries(instance, seq, attempts, run, replayed) "
                           "VALUES(?, ?, ?, ?, ?)",
                           (instance, seq, args.attempts, 1 if args.attempts else 0,
                            1 if args.replayed else 0))
    db.close()
    os.chmod(args.path, 0o600)
    print("%d events, %d pending deliveries" % (len(texts), len(texts) * len(args.instance)))


if __name__ == "__main__":
    main()
