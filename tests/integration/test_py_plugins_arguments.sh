#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Python plugins 2: arguments as ftrack's client passes them. A shared mapping of three names
# reaches register(session), register(session, **kw) and register(session, alpha=None)
# reduced to each signature, with a warning exactly where ftrack's client gives one, naming
# what was dropped. Configuration entries rename a plugin's instances, give them arguments and
# disable one; `ftrack-host plugins` lists the .py files with and without --python-plugins.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/python_helpers.sh"

t=$FTRACK_TEST_TMP
dir=$(py_plugins args_plain args_kw args_alpha)
cp "$dir/args_plain.py" "$dir/Off Plugin.py" # named off_plugin; disabled below
cat >"$t/config.json" <<JSON
{"arguments": {"alpha": 1, "beta": "two", "gamma": [3]},
 "plugins": {"kw_one": {"plugin": "args_kw"},
             "kw_two": {"plugin": "args_kw", "arguments": {"delta": 4}},
             "off_plugin": {"enabled": false}}}
JSON

note "ftrack-host plugins"
out=$("$FTRACK_HOST_BIN" plugins --plugin-path "$dir" --config "$t/config.json") || fail "plugins: $out"
echo "$out"
[ "$(grep -c 'a Python plugin: runs with --python-plugins' <<<"$out")" -eq 4 ] || fail "listing without the flag"
out=$("$FTRACK_HOST_BIN" plugins --plugin-path "$dir" --config "$t/config.json" --python-plugins --python "$PY") ||
    fail "plugins --python-plugins: $out"
echo "$out"
for i in args_plain args_alpha kw_one kw_two; do
    grep -q "instance $i: would run isolated under $PY" <<<"$out" || fail "instance $i not listed"
done
grep -A1 "Off Plugin.py" <<<"$out" | grep -q "no instance: disabled" || fail "the disabled file is not shown as such"

start_seeded_hub
start_py_host --plugin-path "$dir" --config "$t/config.json"
expect_log "ready: 4 plugin instances running"
py_client publish test.py.args '{}' 4
[ "$PY_RC" -eq 0 ] || fail "fewer than 4 replies: $PY_OUT"
python3 - "$PY_OUT" <<'PY' || fail "arguments"
import json, sys
got = sorted((r["data"]["file"], json.dumps(r["data"]["got"], sort_keys=True))
             for r in (json.loads(l.split(" ", 1)[1]) for l in sys.argv[1].splitlines()))
want = sorted([
    ("args_plain.py", "{}"),
    ("args_alpha.py", '{"alpha": 1}'),
    ("args_kw.py", '{"alpha": 1, "beta": "two", "gamma": [3]}'),
    ("args_kw.py", '{"alpha": 1, "beta": "two", "delta": 4, "gamma": [3]}'),
])
assert got == want, got
PY

note "warnings: ours against ftrack's client's own plugin discovery"
ours=$(grep -o "[a-z_]*: Culling passed arguments.*" "$HOST_LOG" | sort)
echo "$ours"
[ "$ours" = "args_alpha: Culling passed arguments to match register function signature. Not passed: beta, gamma.
args_plain: Culling passed arguments to match register function signature. Not passed: alpha, beta, gamma." ] ||
    fail "our warnings: $ours"
theirs=$("$PY" - "$dir" <<'PY'
import logging, os, shutil, sys, tempfile
import ftrack_api
warned = []
class Catch(logging.Handler):
    def emit(self, record):
        if record.levelno == logging.WARNING:
            warned.append((current, record.getMessage()))
logging.getLogger("ftrack_api.plugin").addHandler(Catch())
for current in ("args_alpha", "args_kw", "args_plain"):
    one = tempfile.mkdtemp()
    shutil.copy(os.path.join(sys.argv[1], current + ".py"), one)
    ftrack_api.Session(plugin_paths=[one], plugin_arguments={"alpha": 1, "beta": "two", "gamma": [3]}).close()
for name, message in warned:
    print("%s: %s" % (name, message))
PY
)
echo "$theirs"
[ "$theirs" = "args_alpha: Culling passed arguments to match register function signature.
args_plain: Culling passed arguments to match register function signature." ] ||
    fail "ftrack's client warned differently: $theirs"
stop_py_host
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"
echo ok
