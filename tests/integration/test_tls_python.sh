#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# ftrack's official Python client against the embedded hub over TLS, trusting a private CA the
# way studios configure it: REQUESTS_CA_BUNDLE for /api (requests) and
# WEBSOCKET_CLIENT_CA_BUNDLE for the event hub (websocket-client reads only that one, or the
# system store): /api queries over https and an event
# published over wss reach a subscriber of `ftrack-host` and its reply comes back. Without the
# CA the client refuses the server (a certificate error, nothing sent in clear text).
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/tls_helpers.sh"
. "$(dirname "$0")/python_helpers.sh"

studio_pki
start_tls_hub hub
dir=$(plugin_dir echo)
run_host echo -- --plugin-path "$dir" --plugin-arg topic=test.tls.python --ca-file "$PKI/studio.crt"
wait_log 30 'ready: 1 plugin instance running, event hub connected'

cat >"$FTRACK_TEST_TMP/client.py" <<'PY'
import sys, threading
import ftrack_api, ftrack_api.event.base

session = ftrack_api.Session(auto_connect_event_hub=True)
info = session.call([{"action": "query_server_information"}])[0]
assert "version" in info, info
replies = []
done = threading.Event()
def on_reply(event):
    replies.append(event["data"])
    done.set()
# The event hub connects in the background: wait for it (bounded), then publish, and again
# every 2 s until a reply came (a subscription reaches the server asynchronously).
deadline = 20.0
while not session.event_hub.connected and deadline > 0:
    session.event_hub.wait(0.25)
    deadline -= 0.25
assert session.event_hub.connected, "the event hub did not connect over wss"
deadline = 20.0
while not done.is_set() and deadline > 0:
    session.event_hub.publish(
        ftrack_api.event.base.Event(topic="test.tls.python", data={"n": 1}), on_reply=on_reply)
    for _ in range(4):
        if done.is_set():
            break
        session.event_hub.wait(0.5)
        deadline -= 0.5
assert replies, "no reply over wss"
print("reply", replies[0])
session.close()
PY

out=$(REQUESTS_CA_BUNDLE="$PKI/studio.crt" WEBSOCKET_CLIENT_CA_BUNDLE="$PKI/studio.crt" timeout 60 "$PY" "$FTRACK_TEST_TMP/client.py" 2>&1) ||
    fail "the Python client over TLS: $out"
grep -q '^reply ' <<<"$out" || fail "no reply line: $out"
echo "$out" | tail -n 1

# Without the private CA the client refuses the server's certificate.
rc=0
out=$(env -u REQUESTS_CA_BUNDLE -u CURL_CA_BUNDLE -u SSL_CERT_FILE -u WEBSOCKET_CLIENT_CA_BUNDLE timeout 60 "$PY" \
    "$FTRACK_TEST_TMP/client.py" 2>&1) || rc=$?
[ "$rc" -ne 0 ] || fail "the Python client accepted a certificate from an unknown CA"
grep -qi 'certificate verify failed' <<<"$out" || fail "no certificate error: $(tail -n 3 <<<"$out")"
echo "ok: ftrack-python-api over https and wss with REQUESTS_CA_BUNDLE and WEBSOCKET_CLIENT_CA_BUNDLE"
