#!/usr/bin/env bash
# Logs: with --log-format json every line is one JSON object with level and component, and
# event lines carry plugin, event id and topic; plain text names the level and component;
# neither the API key nor a plugin secret read from a file ever appears.
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"

dir=$(plugin_dir echo)
secret="plugin-secret-$RANDOM$RANDOM"
printf '%s\n' "$secret" >"$FTRACK_TEST_TMP/tag"
chmod 600 "$FTRACK_TEST_TMP/tag"
cfg=$FTRACK_TEST_TMP/host.json
printf '{"log_format": "json", "plugins": {"echo": {"arguments": {"tag": {"file": "%s"}}}}}\n' \
    "$FTRACK_TEST_TMP/tag" >"$cfg"
start_host --plugin-path "$dir" --config "$cfg" --log-level debug
probe test.echo --expect 1 --wait 5
[ "$PROBE_RC" = 0 ] || fail "no reply"
grep -q "$secret" <<<"$PROBE_OUT" || fail "the plugin did not get the secret from its file"
sleep 0.3
stop_host
[ "$HOST_EXIT" = 0 ] || fail "exit $HOST_EXIT"

python3 - "$HOST_LOG" <<'PY' || fail "JSON log lines"
import json, sys
records, skipped = [], []
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if line.startswith("ftrack-host: "):  # the embedded hub's join line goes to stderr as is
        skipped.append(line)
        continue
    r = json.loads(line)
    for k in ("time", "level", "component", "message"):
        assert k in r, "missing %s: %s" % (k, line)
    assert r["level"] in ("debug", "info", "warning", "error"), line
    records.append(r)
assert len(skipped) <= 1, skipped
handled = [r for r in records if r.get("plugin") == "echo" and r.get("topic") == "test.echo"
           and r.get("event_id")]
assert handled, "no record with plugin, event_id and topic"
assert any(r["component"] == "host" and r["message"].startswith("ready:") for r in records)
print("%d JSON records, %d with plugin/event/topic" % (len(records), len(handled)))
PY
for value in "$secret" "$FTRACK_API_KEY"; do
    ! grep -qF -- "$value" "$HOST_LOG" || fail "a secret appears in the log"
done
grep -q '\[redacted\]' "$HOST_LOG" || fail "the echo plugin's argument line was not redacted"

# Plain text, the key from a file (--api-key-file) against a separate hub.
start_hub
printf '%s\n' "$FTRACK_API_KEY" >"$FTRACK_TEST_TMP/key"
HOST_LOG=$FTRACK_TEST_TMP/text.log
env -u FTRACK_API_KEY "$FTRACK_HOST_BIN" run --require-server --plugin-path "$dir" \
    --api-key-file "$FTRACK_TEST_TMP/key" --data-dir "$FTRACK_TEST_TMP/data2" 2>"$HOST_LOG" &
HOST_PID=$!
track_child "$HOST_PID"
wait_for 30 grep -q 'ready:' "$HOST_LOG" || { cat "$HOST_LOG" >&2; fail "not ready"; }
expect_log '^[0-9T:.-]+Z info host: ready: 1 plugin instance running, event hub connected'
probe test.echo --expect 1 --wait 5
[ "$PROBE_RC" = 0 ] || fail "no reply with the key from a file"
stop_host
! grep -qF -- "$FTRACK_API_KEY" "$HOST_LOG" || fail "the API key appears in the log"
echo "PASS: logs"
