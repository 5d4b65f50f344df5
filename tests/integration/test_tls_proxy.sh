#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
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

studio_pki
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
proxy_url="http://studio:$proxy_pass@127.0.0.1:$proxy_port"
run_host proxy "https_proxy=$proxy_url" -- --plugin-path "$dir" --log-level debug \
    --plugin-arg topic=ftrack.action.discover --ca-file "$PKI/studio.crt"
wait_log 30 'ready: 1 plugin instance running, event hub connected'
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
for how in noproxy upper; do
    bypass=()
    [ "$how" = noproxy ] && bypass=(no_proxy=example.org,localhost)
    run_host "$how" "HTTPS_PROXY=$proxy_url" "${bypass[@]}" -- --plugin-path "$dir" \
        --ca-file "$PKI/studio.crt"
    wait_log 30 'event hub connected'
    stop_host TERM
    [ "$how" = upper ] || [ "$(connects)" -eq "$before" ] || fail "no_proxy did not bypass the proxy"
done
[ "$(connects)" -ge $((before + 3)) ] || fail "HTTPS_PROXY was not used"

# Wrong proxy credentials: a clear error, retried, the password not logged.
run_host badauth "https_proxy=http://studio:not-$proxy_pass@127.0.0.1:$proxy_port" -- \
    --plugin-path "$dir" --ca-file "$PKI/studio.crt"
wait_log 20 '\(attempt 2;'
grep 'cannot open the session' "$HOST_LOG" | head -n 1
expect_log "cannot open the session: Could not reach https://localhost:$HUB_PORT/api: CONNECT tunnel failed, response 40[17]"
grep -qF "$proxy_pass" "$HOST_LOG" && fail "the proxy password appeared in the host's log"
stop_host TERM
echo "PASS"
