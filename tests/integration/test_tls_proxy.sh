#!/usr/bin/env bash
# `ftrack-host` through a real HTTP proxy (Debian's tinyproxy, started here on a free port and
# asking for a user and password) to the TLS hub: https_proxy with the credentials in its
# URL carries /api and the websocket (HTTP CONNECT, as the proxy's log shows), the host answers
# discovery, and the password never appears in the host's log; with no_proxy naming the
# server the proxy sees nothing. A proxy that refuses the credentials is a clear, retried
# error.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/tls_helpers.sh"
command -v tinyproxy >/dev/null || fail "tinyproxy is not installed (packaging/apt-packages.txt)"

make_ca studio
make_cert studio hub "DNS:localhost,IP:127.0.0.1"
dir=$(plugin_dir echo)
start_tls_hub hub

proxy_port=$(free_port)
proxy_pass="pr0xy-$RANDOM-secret"
PROXY_LOG="$FTRACK_TEST_TMP/tinyproxy.log"
cat >"$FTRACK_TEST_TMP/tinyproxy.conf" <<CONF
Port $proxy_port
Listen 127.0.0.1
Timeout 60
LogFile "$PROXY_LOG"
LogLevel Info
PidFile "$FTRACK_TEST_TMP/tinyproxy.pid"
MaxClients 20
Allow 127.0.0.1
BasicAuth studio $proxy_pass
ConnectPort $HUB_PORT
CONF
tinyproxy -d -c "$FTRACK_TEST_TMP/tinyproxy.conf" 2>"$FTRACK_TEST_TMP/tinyproxy.err" &
track_child $!
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$proxy_port" ||
    { cat "$FTRACK_TEST_TMP/tinyproxy.err" >&2; fail "tinyproxy did not start"; }
note "tinyproxy on $proxy_port"

connects() { grep -c "CONNECT localhost:$HUB_PORT" "$PROXY_LOG" || true; }

# Through the proxy: /api and the websocket both go through CONNECT.
HOST_LOG="$FTRACK_TEST_TMP/host-proxy.log"
https_proxy="http://studio:$proxy_pass@127.0.0.1:$proxy_port" "$FTRACK_HOST_BIN" \
    --data-dir "$FTRACK_TEST_TMP/d1" --plugin-path "$dir" --log-level debug \
    --plugin-arg topic=ftrack.action.discover --ca-file "$PKI/studio.crt" 2>"$HOST_LOG" &
HOST_PID=$!
track_child "$HOST_PID"
wait_for 30 grep -q 'ready: 1 plugin instance running, event hub connected' "$HOST_LOG" ||
    { cat "$HOST_LOG" "$PROXY_LOG" >&2; fail "the host did not connect through the proxy"; }
sleep 0.3
REQUESTS_CA_BUNDLE="$PKI/studio.crt" probe ftrack.action.discover --expect 1 --wait 10
[ "$PROBE_RC" -eq 0 ] || fail "discovery not answered through the proxy"
n=$(connects)
echo "MEASURED: $n CONNECT requests through tinyproxy (session /api, handshake, websocket)"
[ "$n" -ge 3 ] || { cat "$PROXY_LOG" >&2; fail "expected /api, handshake and websocket through the proxy, saw $n CONNECTs"; }
grep -qF "$proxy_pass" "$HOST_LOG" && fail "the proxy password appeared in the host's log"
stop_host TERM
[ "$HOST_EXIT" -eq 0 ] || fail "host exit $HOST_EXIT"

# HTTPS_PROXY (upper case) works the same; no_proxy naming the server bypasses the proxy.
before=$(connects)
HOST_LOG="$FTRACK_TEST_TMP/host-noproxy.log"
HTTPS_PROXY="http://studio:$proxy_pass@127.0.0.1:$proxy_port" no_proxy="example.org,localhost" \
    "$FTRACK_HOST_BIN" --data-dir "$FTRACK_TEST_TMP/d2" --plugin-path "$dir" \
    --ca-file "$PKI/studio.crt" 2>"$HOST_LOG" &
HOST_PID=$!
track_child "$HOST_PID"
wait_for 30 grep -q 'event hub connected' "$HOST_LOG" ||
    { cat "$HOST_LOG" >&2; fail "the host did not connect with no_proxy"; }
stop_host TERM
[ "$(connects)" -eq "$before" ] || fail "no_proxy did not bypass the proxy"

HOST_LOG="$FTRACK_TEST_TMP/host-upper.log"
HTTPS_PROXY="http://studio:$proxy_pass@127.0.0.1:$proxy_port" \
    "$FTRACK_HOST_BIN" --data-dir "$FTRACK_TEST_TMP/d3" --plugin-path "$dir" \
    --ca-file "$PKI/studio.crt" 2>"$HOST_LOG" &
HOST_PID=$!
track_child "$HOST_PID"
wait_for 30 grep -q 'event hub connected' "$HOST_LOG" ||
    { cat "$HOST_LOG" >&2; fail "the host did not connect through HTTPS_PROXY"; }
stop_host TERM
[ "$(connects)" -ge $((before + 3)) ] || fail "HTTPS_PROXY was not used"

# Wrong proxy credentials: a clear error, retried, the password not logged.
HOST_LOG="$FTRACK_TEST_TMP/host-badauth.log"
https_proxy="http://studio:not-$proxy_pass@127.0.0.1:$proxy_port" "$FTRACK_HOST_BIN" \
    --data-dir "$FTRACK_TEST_TMP/d4" --plugin-path "$dir" --ca-file "$PKI/studio.crt" \
    2>"$HOST_LOG" &
HOST_PID=$!
track_child "$HOST_PID"
wait_for 20 grep -qF "(attempt 2;" "$HOST_LOG" || { cat "$HOST_LOG" >&2; fail "no retried error"; }
grep 'cannot open the session' "$HOST_LOG" | head -n 1
expect_log "cannot open the session: Could not reach https://localhost:$HUB_PORT/api: CONNECT tunnel failed, response 40[17]"
grep -qF "$proxy_pass" "$HOST_LOG" && fail "the proxy password appeared in the host's log"
stop_host TERM
echo "PASS"
