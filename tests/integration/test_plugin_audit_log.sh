#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The audit log plugin in a real ftrack-host on its embedded hub: events arrive as JSON lines
# wrapping the exact event, files rotate by size keeping N, the default expression records
# every topic, and a path that cannot be opened refuses only its instance.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"

SO="$FTRACK_SHIPPED_PLUGIN_DIR/ftrack_audit_log.so"
[ -f "$SO" ] || fail "the audit log plugin is not built ($SO)"
dir=$(mktemp -d "$FTRACK_TEST_TMP/plugins.XXXXXX")
chmod 755 "$dir"
cp "$SO" "$dir/" && chmod 755 "$dir/ftrack_audit_log.so"

logs="$FTRACK_TEST_TMP/logs"
mkdir -p "$logs"
ROT="$logs/rotating.jsonl"
ALL="$logs/all.jsonl"

lines() { [ -f "$1" ] && wc -l <"$1" || echo 0; }
has_lines() { [ "$(lines "$1")" -ge "$2" ]; }
total_lines() { cat "$ROT" "$ROT".[0-9]* 2>/dev/null | wc -l; }
has_total() { [ "$(total_lines)" -ge "$1" ]; }

cfg="$FTRACK_TEST_TMP/config.json"
cat >"$cfg" <<EOF
{
  "plugins": {
    "audit-rot": {"plugin": "audit_log", "arguments": {
      "audit_log_path": "$ROT",
      "audit_log_expression": "topic=test.audit.rot",
      "audit_log_max_bytes": 2000,
      "audit_log_keep": 2}},
    "audit-all": {"plugin": "audit_log", "arguments": {"audit_log_path": "$ALL",
      "audit_log_fsync": true}},
    "audit-bad": {"plugin": "audit_log", "arguments": {
      "audit_log_path": "$logs/no-such-folder/x.jsonl"}}
  }
}
EOF

start_host --plugin-path "$dir" --config "$cfg"
expect_log "ready: 2 plugin instances running"
expect_log "audit-bad.*cannot open audit log $logs/no-such-folder/x\.jsonl"
[ "$(stat -c %a "$ROT")" = 640 ] || fail "the log's mode is $(stat -c %a "$ROT"), expected 640"

# --- one event, checked field by field --------------------------------------------------------
probe test.audit.first --data '{"who":"ada","nested":{"list":[1,2.5,null,"x"]}}' --expect 0 --wait 0.5
# topic=* also records local events such as ftrack.meta.connected: pick ours by topic.
test_lines() { grep -c '"topic":"test\.audit\.' "$ALL" 2>/dev/null || true; }
has_test_lines() { [ "$(test_lines)" -ge "$1" ]; }
wait_for 15 has_test_lines 1 || fail "the default expression recorded nothing"
python3 - "$ALL" <<'EOF' || fail "the first line is wrong"
import json, re, sys
lines = [l for l in open(sys.argv[1], "rb") if b'"topic":"test.audit.first"' in l]
assert len(lines) == 1, lines
line = lines[0]
assert line.endswith(b"}\n"), line[-20:]
rec = json.loads(line)
assert list(rec) == ["received_at", "event"], list(rec)
assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", rec["received_at"]), rec["received_at"]
ev = rec["event"]
assert set(ev) == {"id", "topic", "data", "source", "target", "sent", "inReplyToEvent"}, sorted(ev)
assert ev["topic"] == "test.audit.first"
assert ev["data"] == {"who": "ada", "nested": {"list": [1, 2.5, None, "x"]}, "i": 0}, ev["data"]
assert ev["source"]["user"]["username"], ev["source"]
EOF
[ "$(lines "$ROT")" -eq 0 ] || fail "audit-rot recorded a topic it does not subscribe to"

# --- rotation ----------------------------------------------------------------------------------
# 40 events of ~400 bytes each into files of at most 2000 bytes, keeping 2 rotated files.
pad=$(printf 'p%.0s' $(seq 1 200))
probe test.audit.rot --data "{\"pad\":\"$pad\"}" --count 40 --expect 0 --wait 0.5
# Only the newest lines survive rotation: wait for the last one, i = 39.
wait_for 20 grep -q '"i":39' "$ROT" || fail "the last event did not reach $ROT"
[ -f "$ROT.1" ] || fail "no $ROT.1: the log did not rotate"
[ -f "$ROT.2" ] || fail "no $ROT.2"
[ ! -e "$ROT.3" ] || fail "$ROT.3 exists with audit_log_keep=2"
python3 - "$ROT" <<'EOF' || fail "rotated files are wrong"
import json, os, sys
base = sys.argv[1]
seen = []
for name in (base + ".2", base + ".1", base):  # oldest first
    size = os.path.getsize(name)
    assert 0 < size <= 2000, (name, size)
    for line in open(name, "rb"):
        rec = json.loads(line)
        assert rec["event"]["topic"] == "test.audit.rot"
        seen.append(rec["event"]["data"]["i"])
# Consecutive, in order, ending with the last event: nothing lost inside the kept window.
assert seen == list(range(seen[0], 40)), seen
assert len(seen) >= 9, seen  # three files of four or five lines
EOF

# The default expression ("topic=*") saw both topics: 1 + 40 events, each once.
wait_for 10 has_test_lines 41 || fail "audit-all has $(test_lines) test lines, expected 41"

stop_host
[ "$HOST_EXIT" -eq 0 ] || fail "ftrack-host exited $HOST_EXIT"
expect_log "audit-rot.*stopping: 40 event\(s\) recorded, 0 failed"
[ "$(test_lines)" -eq 41 ] || fail "audit-all has $(test_lines) test lines, expected 41"
python3 - "$ALL" <<'EOF' || fail "audit-all holds a line that is not JSON"
import json, sys
for line in open(sys.argv[1], "rb"):
    json.loads(line)
EOF
expect_log "audit-all.*stopping: [0-9]+ event\(s\) recorded, 0 failed"
note "audit log: lines, rotation (keep 2), default expression, refusal of a bad path"
