#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Plugin arguments: one shared mapping filtered per plugin (one warning naming exactly the
# dropped names), conversion of command-line text, type checks of config JSON, required
# parameters, per-instance arguments and several instances of one plugin.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"

dir=$(plugin_dir echo typed)

# --- filtering and conversion (command line) -------------------------------------------------
start_host --plugin-path "$dir" --plugin-arg name=alpha --plugin-arg port=5 \
    --plugin-arg ratio=2.5 --plugin-arg enabled=false --plugin-arg 'extra={"a":[1,true]}' \
    --plugin-arg count=7 --plugin-arg zeta=1 --plugin-arg verbose=true
# typed gets its five, converted; count, verbose and zeta are dropped for it.
expect_log 'info typed: arguments: \{"name":"alpha","port":5,"ratio":2\.5,"enabled":false,"extra":\{"a":\[1,true\]\}\}'
expect_log 'info echo: arguments: \{"topic":"test.echo","tag":"echo","count":7,"ratio":2\.5,"verbose":true,"extra":\{"a":\[1,true\]\}\}'
n=$(count_lines "plugin instance 'typed' (plugin 'typed') does not declare")
[ "$n" -eq 1 ] || fail "expected one dropped-names warning for typed, got $n"
expect_log "warning plugins: plugin instance 'typed' \(plugin 'typed'\) does not declare, and so does not receive, the arguments: count, verbose, zeta$"
expect_log "warning plugins: plugin instance 'echo' \(plugin 'echo'\) does not declare, and so does not receive, the arguments: enabled, name, port, zeta$"
stop_host
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"

# --- conversion errors and missing required parameters ----------------------------------------
rc=0
out=$("$FTRACK_HOST_BIN" plugins --plugin-path "$dir" --plugin-arg name=x --plugin-arg port=5x \
    --plugin-arg count=abc 2>&1) || rc=$?
echo "$out"
[ "$rc" -eq 1 ] || fail "plugins should exit 1 when an instance would be refused"
grep -qF "instance typed: REFUSED: plugin 'typed': parameter 'port' (int) from the command line expects an integer" <<<"$out" ||
    fail "no conversion error for port"
grep -qF "instance echo: REFUSED: plugin 'echo': parameter 'count' (int) from the command line expects an integer" <<<"$out" ||
    fail "no conversion error for count"
grep -q "5x\|abc" <<<"$out" && fail "a refused value was echoed"

rc=0
out=$("$FTRACK_HOST_BIN" plugins --plugin-path "$dir" --plugin-arg port=1 2>&1) || rc=$?
[ "$rc" -eq 1 ] || fail "missing required: exit $rc"
grep -qF "instance typed: REFUSED: plugin 'typed': missing required parameter 'name' (string: a required string)" <<<"$out" ||
    fail "no missing-required message: $out"
grep -qF "instance echo: would load" <<<"$out" || fail "echo should still load"

# The host refuses that instance with one line and runs the other.
start_host --plugin-path "$dir" --plugin-arg port=1
expect_log "error plugins: refused plugin instance 'typed' \($dir/test_plugin_typed.so\): plugin 'typed': missing required parameter 'name'"
expect_log "ready: 1 plugin instance running"
stop_host
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"

# --- configuration file ------------------------------------------------------------------------
cfg="$FTRACK_TEST_TMP/config.json"
cat >"$cfg" <<'EOF'
{
  "arguments": {"name": "from-config", "port": "5"},
  "plugins": {"typed": {"arguments": {"port": 6}}}
}
EOF
# JSON from the config is checked, not converted; the instance's own value wins.
out=$("$FTRACK_HOST_BIN" plugins --plugin-path "$dir" --config "$cfg" 2>&1) ||
    fail "instance port 6 should override the shared string: $out"
cat >"$cfg" <<'EOF'
{"arguments": {"name": "n", "port": "5"}}
EOF
rc=0
out=$("$FTRACK_HOST_BIN" plugins --plugin-path "$dir" --config "$cfg" 2>&1) || rc=$?
[ "$rc" -eq 1 ] || fail "a string for an int in the config must be refused"
grep -qF "parameter 'port' (int) from the shared arguments expects an integer, got a string" <<<"$out" ||
    fail "no type error: $out"
# The command line overrides the config's shared values (and is converted).
"$FTRACK_HOST_BIN" plugins --plugin-path "$dir" --config "$cfg" --plugin-arg port=8 >/dev/null ||
    fail "--plugin-arg should override the config's shared arguments"

# An undeclared name in an instance's own arguments is an error (a typo).
cat >"$cfg" <<'EOF'
{"plugins": {"echo": {"arguments": {"tga": "x"}}}}
EOF
rc=0
out=$("$FTRACK_HOST_BIN" plugins --plugin-path "$dir" --config "$cfg" --plugin-arg name=n \
    --plugin-arg port=1 2>&1) || rc=$?
[ "$rc" -eq 1 ] || fail "an undeclared instance argument must refuse the instance"
grep -qF "the configuration gives argument 'tga', which plugin 'echo' does not declare" <<<"$out" ||
    fail "no typo message: $out"

# A broken config file is a usage error (exit 2), before anything starts.
echo '{"arguments": ' >"$cfg"
rc=0
"$FTRACK_HOST_BIN" --config "$cfg" --plugin-path "$dir" 2>"$FTRACK_TEST_TMP/err" || rc=$?
[ "$rc" -eq 2 ] || fail "invalid config: exit $rc"
grep -qF "not valid JSON" "$FTRACK_TEST_TMP/err" || fail "no JSON error message"
echo '{"argumets": {}}' >"$cfg"
rc=0
"$FTRACK_HOST_BIN" plugins --config "$cfg" --plugin-path "$dir" 2>"$FTRACK_TEST_TMP/err" || rc=$?
[ "$rc" -eq 2 ] || fail "unknown config key: exit $rc"
grep -qF 'unknown key "argumets"' "$FTRACK_TEST_TMP/err" || fail "no unknown-key message"

# --- several instances of one plugin, each answering with its own reply --------------------------
cat >"$cfg" <<'EOF'
{
  "arguments": {"topic": "ftrack.action.discover", "name": "n", "port": 1},
  "plugins": {
    "echo-a": {"plugin": "echo", "arguments": {"tag": "A"}},
    "echo-b": {"plugin": "echo", "arguments": {"tag": "B", "count": 2}},
    "typed": {"enabled": false}
  }
}
EOF
start_host --plugin-path "$dir" --config "$cfg"
expect_log "ready: 2 plugin instances running"
expect_log "info echo-a: arguments: \{\"topic\":\"ftrack.action.discover\",\"tag\":\"A\",\"count\":1,"
expect_log "info echo-b: arguments: \{\"topic\":\"ftrack.action.discover\",\"tag\":\"B\",\"count\":2,"
grep -q "registered plugin instance 'typed'" "$HOST_LOG" && fail "a disabled instance ran"
probe ftrack.action.discover --data '{"selection":[]}' --expect 2 --wait 10
echo "$PROBE_OUT"
[ "$PROBE_RC" -eq 0 ] || fail "expected two replies: $PROBE_OUT"
grep -q '"instance":"echo-a".*"tag":"A"' <<<"$PROBE_OUT" || fail "no reply from echo-a"
grep -q '"instance":"echo-b".*"tag":"B"' <<<"$PROBE_OUT" || fail "no reply from echo-b"
[ "$(grep -c '^reply ' <<<"$PROBE_OUT")" -eq 2 ] || fail "expected exactly two replies"
stop_host
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"
echo "ok"
