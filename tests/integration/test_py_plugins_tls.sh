#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Python plugins 7: against a server with a private CA, a Python plugin's own ftrack_api
# session trusts the host's --ca-file (sent in the init message; no CA variable is set, so
# without it the session's certificate check would fail), registers, and answers through the
# host.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/python_helpers.sh"
. "$(dirname "$0")/tls_helpers.sh"

studio_pki
start_tls_hub hub
dir=$(py_plugins healthy)

run_host trusted -- --require-server --plugin-path "$dir" --python-plugins --python "$PY" \
    --ca-file "$PKI/studio.crt"
wait_log 60 "ready: 1 plugin instance running"
REQUESTS_CA_BUNDLE="$PKI/studio.crt" probe test.py.ping --data '{"n": 1}' --expect 1 --wait 15
[ "$PROBE_RC" -eq 0 ] && grep -q '"pong":{"n":1' <<<"$PROBE_OUT" || fail "no answer over TLS: $PROBE_OUT"
stop_py_host

echo ok
