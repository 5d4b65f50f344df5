#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The embedded hub over TLS, with a private CA made for this run: `ftrack-host hub --tls-cert
# --tls-key` answers https only (a plain-text request gets no HTTP answer); `ftrack-host`
# trusts it through --ca-file and through REQUESTS_CA_BUNDLE, registers a plugin over wss and
# answers a discovery; /api answers over https; `ftrack-host run --tls-cert --tls-key` shows
# https:// in its join line; an isolated plugin's child trusts the same CA; a certificate
# without its key is a usage error.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/tls_helpers.sh"

studio_pki
dir=$(plugin_dir echo)

start_tls_hub hub
grep -q 'ready at https://127\.0\.0\.1:' "$HUB_LOG" || fail "the hub's ready line is not https"

# Plain text to the TLS port gets no HTTP answer.
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$HUB_PORT/api" \
    -d '[]' || true)
[ "$code" = 000 ] || fail "plain http to the TLS port was answered with HTTP $code"

# /api over https, verified against the private CA.
out=$(curl -sS --max-time 10 --cacert "$PKI/studio.crt" "$FTRACK_SERVER/api" \
    -H "ftrack-user: $FTRACK_API_USER" -H "ftrack-api-key: $FTRACK_API_KEY" \
    -H 'content-type: application/json' -d '[{"action":"query_server_information"}]')
grep -q '"version"' <<<"$out" || fail "/api over https: $out"

# The host through --ca-file: plugin registered over wss, discovery answered.
run_host cafile -- --plugin-path "$dir" --plugin-arg topic=ftrack.action.discover \
    --ca-file "$PKI/studio.crt"
wait_log 30 'ready: 1 plugin instance running, event hub connected'
expect_log "connected to the event server at https://localhost:$HUB_PORT"
REQUESTS_CA_BUNDLE="$PKI/studio.crt" probe ftrack.action.discover --expect 1 --wait 10
echo "$PROBE_OUT"
[ "$PROBE_RC" -eq 0 ] || fail "discovery over wss was not answered"
grep -q '"instance":"echo"' <<<"$PROBE_OUT" || fail "unexpected discovery reply"
stop_host TERM
[ "$HOST_EXIT" -eq 0 ] || fail "host exit $HOST_EXIT"

# An isolated plugin's child process opens its own session with the host's --ca-file.
cat >"$FTRACK_TEST_TMP/isolated.json" <<'JSON'
{"plugins": {"echo": {"isolated": true, "arguments": {"topic": "ftrack.action.discover"}}}}
JSON
run_host isolated -- --plugin-path "$dir" --config "$FTRACK_TEST_TMP/isolated.json" \
    --ca-file "$PKI/studio.crt"
wait_log 30 'ready: 1 plugin instance running, event hub connected'
REQUESTS_CA_BUNDLE="$PKI/studio.crt" probe ftrack.action.discover --expect 1 --wait 15
[ "$PROBE_RC" -eq 0 ] || { cat "$HOST_LOG" >&2; fail "the isolated plugin did not answer over TLS"; }
stop_host TERM
[ "$HOST_EXIT" -eq 0 ] || fail "isolated host exit $HOST_EXIT"

# The same trust from the environment variables ftrack's Python client reads.
for var in REQUESTS_CA_BUNDLE CURL_CA_BUNDLE SSL_CERT_FILE; do
    run_host "$var" "$var=$PKI/studio.crt" -- --plugin-path "$dir"
    wait_log 30 'event hub connected'
    stop_host TERM
    note "$var: trusted"
done

# Without any of them the system store does not know the private CA: the host says why.
run_host untrusted -- --plugin-path "$dir"
wait_log 20 'cannot open the session'
expect_log "TLS with https://localhost:$HUB_PORT/api failed: SSL certificate problem: unable to get local issuer certificate"
stop_host TERM
stop_hub
[ "$HUB_EXIT" -eq 0 ] || fail "the TLS hub exited with $HUB_EXIT (under ASan: a leak)"

# `ftrack-host run` with its embedded hub over TLS: the join line shows https://.
run_host embedded -u FTRACK_SERVER -- --listen 127.0.0.1:0 --plugin-path "$dir" \
    --tls-cert "$PKI/hub.crt" --tls-key "$PKI/hub.key" --ca-file "$PKI/studio.crt"
wait_log 30 'ready:.*event hub connected'
expect_log "embedded event hub at https://127\.0\.0\.1:[0-9]+; clients join with FTRACK_SERVER=https://127\.0\.0\.1:[0-9]+ "
stop_host TERM
[ "$HOST_EXIT" -eq 0 ] || fail "embedded TLS host exit $HOST_EXIT"

# A certificate without its key is a usage error, named.
rc=0
"$FTRACK_HOST_BIN" hub --listen 127.0.0.1:0 --data-dir "$FTRACK_TEST_TMP/h4" \
    --tls-cert "$PKI/hub.crt" 2>"$FTRACK_TEST_TMP/nokey.log" || rc=$?
[ "$rc" -eq 2 ] || fail "--tls-cert without --tls-key: exit $rc"
grep -q 'both a certificate and its private key' "$FTRACK_TEST_TMP/nokey.log" ||
    fail "no clear message: $(cat "$FTRACK_TEST_TMP/nokey.log")"
echo "PASS"
