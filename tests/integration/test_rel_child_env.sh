#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Secrets do not leak sideways: isolated children (ftrack-host's own and "command" programs)
# start without FTRACK_API_KEY / FTRACK_APIKEY in their environment (the key reaches the
# ftrack-host child through its init message), and a secret file readable by every user is
# warned about while a private one is not.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"

t=$FTRACK_TEST_TMP
export FTRACK_API_KEY="env-secret-0123456789" FTRACK_APIKEY="env-secret-0123456789"
cat >"$t/envchild.py" <<'PY'
import json, os, socket, sys
sock = socket.socket(fileno=3)
reader = sock.makefile("rb")
reader.readline()
json.dump(dict(os.environ), open(sys.argv[1], "w"))
sock.sendall(b'{"type":"ready"}\n')
while reader.readline():
    pass
PY
umask 077
printf 'private-secret\n' >"$t/private"
printf 'shared-secret\n' >"$t/shared"
chmod 644 "$t/shared"
cat >"$t/config.json" <<JSON
{"plugins": {
  "iso": {"plugin": "recorder", "isolated": true,
          "arguments": {"record": "$t/iso.jsonl", "cured": {"file": "$t/private"}}},
  "cmd": {"command": ["python3", "$t/envchild.py", "$t/cmd-env.json"],
          "arguments": {"token": {"file": "$t/shared"}}}}}
JSON
start_host --plugin-path "$(plugin_dir recorder)" --config "$t/config.json"
expect_log "plugin instance 'iso' runs isolated in process"
wait_for 20 test -s "$t/cmd-env.json" || fail "the command child wrote no environment"
pid=$(grep -o "plugin instance 'iso' runs isolated in process [0-9]*" "$HOST_LOG" | grep -o '[0-9]*$')
tr '\0' '\n' <"/proc/$pid/environ" >"$t/iso-env" || fail "cannot read the child's environment"
tr '\0' '\n' <"/proc/$HOST_PID/environ" | grep -q '^FTRACK_API_KEY=' ||
    fail "the test did not give the host FTRACK_API_KEY"
if grep -Eq '^FTRACK_API_?KEY=' "$t/iso-env"; then fail "the isolated child inherited the API key"; fi
grep -q '^PATH=' "$t/iso-env" || fail "the child's environment lost PATH"
python3 - "$t/cmd-env.json" <<'PY' || fail "the command child inherited the API key"
import json, sys
env = json.load(open(sys.argv[1]))
assert "FTRACK_API_KEY" not in env and "FTRACK_APIKEY" not in env, sorted(env)
assert "PATH" in env
PY
expect_log "secret file $t/shared is readable by every user \(mode 0644\); chmod o-r it"
if grep -q "secret file $t/private" "$HOST_LOG"; then fail "a private secret file was warned about"; fi
stop_host
echo ok
