#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Python plugins 5: an ftrack.update listener written for ftrack's Python client queries and
# commits through its own session (credentials from the host, /api on the server).
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/python_helpers.sh"

start_seeded_hub
dir=$(py_plugins update_listener)
start_py_host --plugin-path "$dir"
expect_log "ready: 1 plugin instance running"
"$PY" - <<'PY' || fail "the listener did not write back"
import time
import ftrack_api
session = ftrack_api.Session()
task_id = "bc5e229c-039c-58f4-bfb2-2b50f2504e12"
task = session.get("Task", task_id)
task["name"] = "animation_v2"
session.commit()
until = time.time() + 20
while time.time() < until:
    fresh = ftrack_api.Session()
    description = fresh.query('select description from Task where id is "%s"' % task_id).one()["description"]
    fresh.close()
    if description:
        break
    time.sleep(0.2)
assert description == "renamed to animation_v2 (seen by update_listener)", description
print("description:", description)
PY
expect_log "update_listener: described task animation_v2"
[ "$(grep -c "update_listener: described task" "$HOST_LOG")" -eq 1 ] || fail "the listener wrote more than once"
stop_py_host
[ "$HOST_EXIT" -eq 0 ] || fail "exit $HOST_EXIT"
echo ok
