#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Python plugins 1: a classic action and an ftrack-action-handler BaseAction, both written for
# ftrack's Python client and run unmodified by ftrack-host --python-plugins, discovered and
# launched (form first, then with its values) from ftrack's Python client and from @ftrack/api.
set -euo pipefail
FTRACK_TEST_API_USER=interop-user # the credentials tests/interop/hub_js_peer.mjs uses
FTRACK_TEST_API_KEY=interop-key-5f0c2e
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/python_helpers.sh"

start_seeded_hub
task=$("$PY" -c 'import ftrack_api; s = ftrack_api.Session(); t = s.query("Task where id is \"bc5e229c-039c-58f4-bfb2-2b50f2504e12\"").first(); print(t["id"], t["name"])')
task_id=${task%% *}
note "task $task"
dir=$(py_plugins classic_action handler_action)
start_py_host --plugin-path "$dir"
expect_log "plugin instance 'classic_action' runs isolated in process"
expect_log "plugin instance 'handler_action' runs isolated in process"
expect_log "ready: 2 plugin instances running"

sel='[{"entityId": "'"$task_id"'", "entityType": "task"}]'
check() { # check WHAT JSON-LINES PYTHON-ASSERTIONS (on `replies`, a list of reply events)
    [ -n "$2" ] || { tail -n 30 "$HOST_LOG" >&2; fail "$1: no reply"; }
    python3 -c "
import json, sys
replies = [json.loads(l.split(' ', 1)[1]) for l in sys.stdin.read().splitlines() if l.startswith('REPLY ')]
$3
" <<<"$2" || fail "$1: $2"
}

note "ftrack's Python client"
py_client publish ftrack.action.discover '{"selection": '"$sel"'}' 2
[ "$PY_RC" -eq 0 ] || fail "discover: fewer than 2 replies: $PY_OUT"
check "python discover" "$PY_OUT" '
ids = sorted(i["actionIdentifier"] for r in replies for i in r["data"]["items"])
assert ids == ["test.classic_action", "test.handler_action"], ids
assert all(r["topic"] == "ftrack.meta.reply" for r in replies)'
py_client publish ftrack.action.launch '{"actionIdentifier": "test.classic_action", "selection": '"$sel"'}'
check "python classic form" "$PY_OUT" 'assert replies[0]["data"]["items"][0]["name"] == "note", replies'
py_client publish ftrack.action.launch '{"actionIdentifier": "test.classic_action", "selection": '"$sel"', "values": {"note": "py"}}'
check "python classic launch" "$PY_OUT" '
assert replies[0]["data"] == {"success": True, "message": "classic: py on [%r]" % "animation"}, replies'
py_client publish ftrack.action.launch '{"actionIdentifier": "test.handler_action", "selection": '"$sel"'}'
check "python BaseAction form" "$PY_OUT" 'assert replies[0]["data"]["items"][0]["name"] == "greeting", replies'
py_client publish ftrack.action.launch '{"actionIdentifier": "test.handler_action", "selection": '"$sel"', "values": {"greeting": "hi"}}'
check "python BaseAction launch" "$PY_OUT" '
assert replies[0]["data"] == {"success": True, "message": "hi animation"}, replies'

note "@ftrack/api"
peer() { node "$FTRACK_SOURCE_DIR/tests/interop/hub_js_peer.mjs" publish "$FTRACK_SERVER" "$@"; }
out=$(peer ftrack.action.discover '{"selection": '"$sel"'}' "" 6000)
check "js discover" "$out" '
ids = sorted(i["actionIdentifier"] for r in replies for i in r["data"]["items"])
assert ids == ["test.classic_action", "test.handler_action"], ids'
out=$(peer ftrack.action.launch '{"actionIdentifier": "test.handler_action", "selection": '"$sel"'}' "" 6000)
check "js BaseAction form" "$out" 'assert len(replies) == 1 and replies[0]["data"]["items"][0]["name"] == "greeting", replies'
out=$(peer ftrack.action.launch '{"actionIdentifier": "test.handler_action", "selection": '"$sel"', "values": {"greeting": "hej"}}' "" 6000)
check "js BaseAction launch" "$out" 'assert replies[0]["data"] == {"success": True, "message": "hej animation"}, replies'
out=$(peer ftrack.action.launch '{"actionIdentifier": "test.classic_action", "selection": '"$sel"', "values": {"note": "js"}}' "" 6000)
check "js classic launch" "$out" 'assert replies[0]["data"]["message"] == "classic: js on [%r]" % "animation", replies'
expect_log "classic_action: launched with \{'note': 'js'\}"

stop_py_host
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"
echo ok
