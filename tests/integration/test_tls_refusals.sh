#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Certificates the host must refuse: signed by an unknown CA, expired, for another name. For
# each, a TLS listener on the server's port records every connection: the host logs one clear
# line per attempt naming the server and the reason, keeps retrying with backoff, and never
# opens a plain-text connection. Once the real hub serves a good certificate on the same port
# the same host process connects, without a restart.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/tls_helpers.sh"

make_ca studio
make_ca rogue
make_cert studio good "DNS:localhost,IP:127.0.0.1"
make_cert rogue unknown-ca "DNS:localhost,IP:127.0.0.1"
make_cert studio expired "DNS:localhost,IP:127.0.0.1" expired
make_cert studio wrong-name "DNS:elsewhere.example"
dir=$(plugin_dir echo)

refusal() {
    local cert=$1 reason=$2 port listener_log listener
    port=$(free_port)
    listener_log="$FTRACK_TEST_TMP/listener-$cert.log"
    : >"$listener_log"
    python3 "$(dirname "$0")/tls_listener.py" "$port" "$PKI/$cert.crt" "$PKI/$cert.key" \
        "$listener_log" &
    listener=$!
    track_child "$listener"
    wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" || fail "the listener did not start"

    run_host "$cert" "FTRACK_SERVER=https://localhost:$port" -- --plugin-path "$dir" \
        --plugin-arg topic=ftrack.action.discover --ca-file "$PKI/studio.crt"
    # Two attempts (1 s apart) show the retry; each is one line naming server and reason.
    wait_log 20 '\(attempt 2;'
    grep 'cannot open the session' "$HOST_LOG" | head -n 2
    expect_log "cannot open the session: TLS with https://localhost:$port/api failed: .*$reason.* \(attempt 1; retrying in 1 s\)"
    [ "$(count_lines "(attempt 1;")" -eq 1 ] || fail "$cert: attempt 1 logged more than once"
    kill -0 "$HOST_PID" 2>/dev/null || fail "$cert: the host exited instead of retrying"
    grep -q '^tls' "$listener_log" || fail "$cert: the listener saw no TLS handshake"
    # ("empty" is the readiness check above: it connects and sends nothing.)
    if grep -q '^plain' "$listener_log"; then
        cat "$listener_log" >&2
        fail "$cert: a connection that was not TLS reached the listener"
    fi
    grep -q '^tls request' "$listener_log" && fail "$cert: the host sent a request over an untrusted TLS connection"
    echo "MEASURED: $cert: $(grep -c '^tls' "$listener_log") TLS attempts refused, 0 plain-text"

    # Trust fixed: the real hub with a good certificate on the same port.
    kill "$listener"
    wait "$listener" 2>/dev/null || true
    TLS_HUB_PORT=$port HUB_DATA_DIR="$FTRACK_TEST_TMP/hub-$cert" start_tls_hub good
    wait_log 40 'ready: 1 plugin instance running, event hub connected'
    kill -0 "$HOST_PID" 2>/dev/null || fail "$cert: the host restarted"
    FTRACK_SERVER="https://localhost:$port" REQUESTS_CA_BUNDLE="$PKI/studio.crt" \
        probe ftrack.action.discover --expect 1 --wait 10
    [ "$PROBE_RC" -eq 0 ] || fail "$cert: discovery not answered after the fix"
    stop_host TERM
    [ "$HOST_EXIT" -eq 0 ] || fail "$cert: host exit $HOST_EXIT"
    stop_hub
}

refusal unknown-ca "unable to get local issuer certificate"
refusal expired "certificate has expired"
refusal wrong-name "no alternative certificate subject name matches target host name 'localhost'"
echo "PASS"
