#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# `ftrack-host test-plugin`: a discover and two launches recorded with `ftrack-host record` from
# the embedded hub, replayed offline into the example action: items, form, result; the same
# bytes twice; --expect passes, and fails with a readable difference when the reply changes.
# A plugin that queries and commits runs with --seed and its ftrack.update is printed. Bad
# input: a broken recording line, files that are not plugins, unknown arguments.
. "$FTRACK_TEST_LIB"

T=$FTRACK_TEST_TMP
ACTION=$FTRACK_EXAMPLES_DIR/plugins/example_action.so
COMMITTER=$FTRACK_TEST_PLUGIN_DIR/committer/test_plugin_committer.so
ECHO_PLUGIN=$FTRACK_TEST_PLUGIN_DIR/echo/test_plugin_echo.so
NOENTRY=$FTRACK_TEST_PLUGIN_DIR/noentry/test_plugin_noentry.so
for f in "$ACTION" "$COMMITTER" "$ECHO_PLUGIN" "$NOENTRY"; do [ -f "$f" ] || fail "missing $f"; done
SEED=
for s in "$FTRACK_SOURCE_DIR/hub/seed-sample.json" "$FTRACK_SOURCE_DIR/host/hub/seed-sample.json"; do
    [ -f "$s" ] && SEED=$s && break
done
[ -n "$SEED" ] || fail "no seed-sample.json"

# tp OUT ARGS...: run test-plugin; TP_RC, OUT (stdout) and OUT.err.
tp() {
    local out=$1
    shift
    TP_RC=0
    timeout 60 "$FTRACK_HOST_BIN" test-plugin "$@" >"$out" 2>"$out.err" || TP_RC=$?
}

# ---- Record a conversation from the hub ----------------------------------------------------
start_hub
"$FTRACK_HOST_BIN" record --expression 'topic=ftrack.action.*' --out "$T/conv.jsonl" 2>"$T/rec.err" &
rec=$!
track_child $rec
wait_for 20 grep -q "^ftrack-host record: recording" "$T/rec.err" || fail "record: $(cat "$T/rec.err")"
src='{"applicationId": "ftrack.client.web"}'
for args in "ftrack.action.discover --data {\"selection\":[]}" \
    "ftrack.action.launch --data {\"actionIdentifier\":\"example.hello\",\"selection\":[]}" \
    "ftrack.action.launch --data {\"actionIdentifier\":\"example.hello\",\"values\":{\"name\":\"Ada\"}}"; do
    # shellcheck disable=SC2086
    timeout 30 "$FTRACK_HOST_BIN" publish $args --source "$src" 2>>"$T/pub.err" || fail "publish: $(cat "$T/pub.err")"
done
wait_for 20 test "$(wc -l <"$T/conv.jsonl")" -ge 3 || fail "3 events not recorded: $(cat "$T/conv.jsonl")"
kill -INT $rec
wait_pid_exit $rec 10 || fail "record did not stop"
stop_hub
unset FTRACK_SERVER # from here on, nothing is online

# ---- The example action: items, form, result; deterministic ---------------------------------
tp "$T/out1" "$ACTION" --events "$T/conv.jsonl"
[ "$TP_RC" = 0 ] || fail "test-plugin: exit $TP_RC: $(cat "$T/out1.err")"
tp "$T/out2" "$ACTION" --events "$T/conv.jsonl"
cmp -s "$T/out1" "$T/out2" || fail "two runs printed different bytes:
$(diff "$T/out1" "$T/out2")"
python3 - "$T/out1" "$T/conv.jsonl" <<'PY' || fail "output: $(cat "$T/out1")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
recorded = [json.loads(l) for l in open(sys.argv[2])]
assert len(lines) == 3, lines
assert [l["event"] for l in lines] == [r["id"] for r in recorded]
assert [l["outcome"] for l in lines] == ["handled"] * 3
assert [l["topic"] for l in lines] == ["ftrack.action.discover", "ftrack.action.launch", "ftrack.action.launch"]
items = lines[0]["replies"][0]["items"]
assert items == [{"label": "Say hello", "actionIdentifier": "example.hello", "description": "Greets you by name"}], items
assert lines[1]["replies"][0]["items"][0]["name"] == "name", lines[1]
assert lines[2]["replies"] == [{"success": True, "message": "Hello, Ada!"}], lines[2]
assert all(l["published"] == [] and l["updates"] == [] for l in lines)
PY

# --expect: the saved output matches; a changed reply does not, and the difference is named.
tp "$T/out3" "$ACTION" --events "$T/conv.jsonl" --expect "$T/out1"
[ "$TP_RC" = 0 ] || fail "--expect with the saved output: exit $TP_RC: $(cat "$T/out3.err")"
sed 's/"Ada"/"Bob"/' "$T/conv.jsonl" >"$T/conv-bob.jsonl"
tp "$T/out4" "$ACTION" --events "$T/conv-bob.jsonl" --expect "$T/out1"
[ "$TP_RC" = 1 ] || fail "--expect with a changed reply: exit $TP_RC (want 1)"
grep -q 'output line 3, event .* (ftrack.action.launch):' "$T/out4.err" || fail "diff names no line: $(cat "$T/out4.err")"
grep -q 'at replies\[0\].message: differs' "$T/out4.err" || fail "diff names no path: $(cat "$T/out4.err")"
grep -q 'expected "Hello, Ada!"' "$T/out4.err" && grep -q 'got      "Hello, Bob!"' "$T/out4.err" ||
    fail "diff shows no values: $(cat "$T/out4.err")"
# "<any>" in the saved output matches whatever the run prints there.
sed 's/"Hello, Ada!"/"<any>"/' "$T/out1" >"$T/expect-any"
tp "$T/out5" "$ACTION" --events "$T/conv-bob.jsonl" --expect "$T/expect-any"
[ "$TP_RC" = 0 ] || fail "--expect with <any>: exit $TP_RC: $(cat "$T/out5.err")"
# A missing line is named too.
head -n 2 "$T/conv.jsonl" >"$T/conv-short.jsonl"
tp "$T/out6" "$ACTION" --events "$T/conv-short.jsonl" --expect "$T/out1"
[ "$TP_RC" = 1 ] && grep -q 'output line 3, .*expected, but the run printed no such line' "$T/out6.err" ||
    fail "a missing line: exit $TP_RC: $(cat "$T/out6.err")"

# ---- A plugin that queries and commits, offline, with --seed --------------------------------
cat >"$T/rename.jsonl" <<'JSONL'
{"topic":"test.rename","data":{"shot":"3384bfcc-934e-550d-9298-f0914bee9722","name":"sh010_v2"},"source":{"id":"0d6f3b5c7e2a4f1b9c8d7e6f5a4b3c2d","user":{"username":"ada"}},"target":"","sent":null,"inReplyToEvent":null,"id":"11111111-2222-4333-8444-555555555555"}
JSONL
tp "$T/seed1" "$COMMITTER" --events "$T/rename.jsonl" --seed "$SEED"
[ "$TP_RC" = 0 ] || fail "--seed: exit $TP_RC: $(cat "$T/seed1.err")"
tp "$T/seed2" "$COMMITTER" --events "$T/rename.jsonl" --seed "$SEED"
cmp -s "$T/seed1" "$T/seed2" || fail "--seed: two runs differ: $(diff "$T/seed1" "$T/seed2")"
python3 - "$T/seed1" <<'PY' || fail "--seed output: $(cat "$T/seed1")"
import json, sys
(line,) = [json.loads(l) for l in open(sys.argv[1])]
assert line["outcome"] == "handled", line
assert line["replies"] == [{"old": "sh010"}], line["replies"]
(pub,) = line["published"]
assert pub["topic"] == "test.renamed" and pub["id"] == line["event"] + "-1", pub
(upd,) = line["updates"]
assert upd["topic"] == "ftrack.update", upd
(ent,) = upd["data"]["entities"]
assert ent["entityId"] == "3384bfcc-934e-550d-9298-f0914bee9722" and ent["action"] == "update", ent
assert ent["changes"]["name"] == {"new": "sh010_v2", "old": "sh010"}, ent["changes"]
PY
# Without the seed the shot does not exist: the event fails with the plugin's message.
tp "$T/noseed" "$COMMITTER" --events "$T/rename.jsonl"
[ "$TP_RC" = 1 ] || fail "no seed: exit $TP_RC (want 1)"
grep -q '"outcome":"failed","message":"no Shot 3384bfcc-934e-550d-9298-f0914bee9722' "$T/noseed" ||
    fail "no seed: $(cat "$T/noseed")"

# ---- Arguments as the host filters them, with its warning -----------------------------------
echo '{"topic":"test.echo","data":{"x":1},"source":{"id":"s1"},"id":"e1"}' >"$T/echo.jsonl"
tp "$T/echo" "$ECHO_PLUGIN" --events "$T/echo.jsonl" --plugin-arg tag=mine --plugin-arg bogus=1
[ "$TP_RC" = 0 ] || fail "echo: exit $TP_RC: $(cat "$T/echo.err")"
grep -q '"tag":"mine"' "$T/echo" || fail "--plugin-arg tag did not reach the plugin: $(cat "$T/echo")"
grep -q 'bogus' "$T/echo" && fail "an undeclared argument reached the plugin"
grep -q 'does not declare, and so does not receive, the arguments: bogus' "$T/echo.err" ||
    fail "no warning for the undeclared argument: $(cat "$T/echo.err")"

# ---- Bad input --------------------------------------------------------------------------------
{ sed -n 1p "$T/conv.jsonl"; echo '{"topic": "broken'; sed -n 2,3p "$T/conv.jsonl"; } >"$T/broken.jsonl"
tp "$T/broken" "$ACTION" --events "$T/broken.jsonl"
[ "$TP_RC" = 1 ] || fail "broken line: exit $TP_RC (want 1)"
grep -q 'broken.jsonl line 2: not JSON' "$T/broken.err" || fail "broken line not named: $(cat "$T/broken.err")"
[ "$(grep -c '"outcome":"handled"' "$T/broken")" = 3 ] || fail "the other lines did not all run: $(cat "$T/broken")"
grep -q '"line":2,"outcome":"unreadable"' "$T/broken" || fail "no unreadable line in the output"

printf 'not an ELF file\n' >"$T/fake.so"
tp "$T/fake" "$T/fake.so" --events "$T/conv.jsonl"
[ "$TP_RC" = 2 ] && grep -q "fake.so is not a plugin ftrack-host can load: " "$T/fake.err" ||
    fail "not a shared object: exit $TP_RC: $(cat "$T/fake.err")"
tp "$T/noentry" "$NOENTRY" --events "$T/conv.jsonl"
[ "$TP_RC" = 2 ] && grep -q "is not a plugin ftrack-host can load: " "$T/noentry.err" ||
    fail "no entry point: exit $TP_RC: $(cat "$T/noentry.err")"
tp "$T/regfail" "$FTRACK_TEST_PLUGIN_DIR/regfail/test_plugin_regfail.so" --events "$T/conv.jsonl"
[ "$TP_RC" = 1 ] && grep -q "plugin instance 'regfail' failed to register: " "$T/regfail.err" ||
    fail "register failing: exit $TP_RC: $(cat "$T/regfail.err")"
[ ! -s "$T/regfail" ] || fail "a plugin that did not register still printed lines"
printf 'print(1)\n' >"$T/plugin.py"
tp "$T/py" "$T/plugin.py" --events "$T/conv.jsonl"
[ "$TP_RC" = 2 ] && grep -q "is a Python plugin file: test-plugin runs native plugins (.so) only" "$T/py.err" ||
    fail "python file: exit $TP_RC: $(cat "$T/py.err")"
for args in "$ACTION --bogus" "$ACTION --events" "" "$ACTION $ACTION" "$ACTION --plugin-arg novalue" \
    "$T/missing.so" "$ACTION --events $T/missing.jsonl"; do
    # shellcheck disable=SC2086
    tp "$T/usage" $args
    [ "$TP_RC" = 2 ] || fail "test-plugin $args: exit $TP_RC (want 2): $(cat "$T/usage.err")"
    grep -q 'ftrack-host' "$T/usage.err" || fail "test-plugin $args: no message"
done
[ ! -s "$T/usage" ] || fail "a usage error printed output lines"
echo "PASS: test-plugin"
