#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Logs: with --log-format json every line on stderr is one JSON object with level and
# component (the embedded hub's join line, option mistakes, an isolated plugin's child and
# `ftrack-host hub` included), and event lines carry plugin, event id and topic; plain text
# names the level and component; neither the API key nor a plugin secret read from a file
# ever appears.
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"

# all_json FILE: every line of FILE is a JSON log record; prints how many there are.
all_json() {
    python3 - "$1" <<'PY' || { cat "$1" >&2; fail "a line of $1 is not a JSON record"; }
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    assert isinstance(r, dict), line
    for k in ("time", "level", "component", "message"):
        assert k in r, "missing %s: %s" % (k, line)
    n += 1
assert n > 0, "no line at all"
print(n)
PY
}

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
records = []
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    r = json.loads(line)
    for k in ("time", "level", "component", "message"):
        assert k in r, "missing %s: %s" % (k, line)
    assert r["level"] in ("debug", "info", "warning", "error"), line
    records.append(r)
join = [r for r in records if "clients join with FTRACK_SERVER=http://" in r["message"]]
assert len(join) == 1 and join[0]["component"] == "host", "the join line: %s" % join
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
grep -q '^[0-9T:.-]*Z info host: ready:' "$HOST_LOG" || fail "text lines changed"

# JSON by flag or environment from the first line: the options' own mistakes are records.
for args in "--log-format json --drain-timeout soon" "--drain-timeout soon --log-format=json" \
    "--log-format json --no-such-option" "--log-format json --config $FTRACK_TEST_TMP/none.json" \
    "--log-format json --plugin-path $dir --api-key-file $FTRACK_TEST_TMP/none"; do
    RC=0
    # shellcheck disable=SC2086
    env -u FTRACK_SERVER "$FTRACK_HOST_BIN" run --data-dir "$FTRACK_TEST_TMP/data3" $args \
        2>"$FTRACK_TEST_TMP/err.log" || RC=$?
    [ "$RC" = 2 ] || fail "exit $RC for: $args"
    all_json "$FTRACK_TEST_TMP/err.log" >/dev/null
done
RC=0
FTRACK_HOST_LOG_FORMAT=json "$FTRACK_HOST_BIN" run --drain-timeout soon \
    2>"$FTRACK_TEST_TMP/err.log" || RC=$?
[ "$RC" = 2 ] || fail "exit $RC with FTRACK_HOST_LOG_FORMAT=json"
all_json "$FTRACK_TEST_TMP/err.log" >/dev/null
grep -q 'drain-timeout' "$FTRACK_TEST_TMP/err.log" || fail "the mistake is not named"
# Text stays as it was: the message, then where to look.
RC=0
"$FTRACK_HOST_BIN" run --drain-timeout soon 2>"$FTRACK_TEST_TMP/err.log" || RC=$?
[ "$RC" = 2 ] || fail "exit $RC for a text usage error"
diff <(printf "ftrack-host: --drain-timeout wants seconds from 0 to 3600, got 'soon'\n(see --help)\n") \
    "$FTRACK_TEST_TMP/err.log" || fail "the text usage error changed"

# An isolated plugin's child writes to the host's stderr: its lines are JSON too.
iso=$FTRACK_TEST_TMP/iso.json
printf '{"plugins": {"echo": {"isolated": true}}}\n' >"$iso"
HOST_DATA=$FTRACK_TEST_TMP/host-data
rm -rf "$HOST_DATA"
start_host --plugin-path "$dir" --config "$iso" --log-format json
probe test.echo --expect 1 --wait 5
[ "$PROBE_RC" = 0 ] || fail "no reply from the isolated plugin"
stop_host
[ "$HOST_EXIT" = 0 ] || fail "exit $HOST_EXIT (isolated)"
all_json "$HOST_LOG" >/dev/null
grep -q '"message":"arguments:' "$HOST_LOG" || fail "the child's own line is missing"

# `ftrack-host hub --log-format json`: the ready line and the mistakes are records; text is
# unchanged.
start_hub --log-format json
stop_hub
all_json "$HUB_LOG" >/dev/null
grep -q '"message":"ready at http://127.0.0.1:[0-9]* (user ' "$HUB_LOG" || fail "hub ready record"
for args in "--log-format json --heartbeat never" "--log-format json --bogus" \
    "--log-format=json --listen nowhere:x" "--log-format yaml"; do
    RC=0
    # shellcheck disable=SC2086
    "$FTRACK_HOST_BIN" hub $args 2>"$FTRACK_TEST_TMP/err.log" || RC=$?
    [ "$RC" = 2 ] || fail "exit $RC for hub $args"
    [ "$args" = "--log-format yaml" ] && continue # not JSON: said as text
    all_json "$FTRACK_TEST_TMP/err.log" >/dev/null
done
grep -q "^ftrack-host hub: --log-format wants text or json, got 'yaml'$" "$FTRACK_TEST_TMP/err.log" ||
    fail "the hub's --log-format mistake"
start_hub
grep -qx "ftrack-host hub: ready at $FTRACK_SERVER (user $FTRACK_TEST_API_USER)" "$HUB_LOG" ||
    fail "the hub's text ready line changed"
echo "PASS: logs"
