#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The webhook plugin in a real ftrack-host on its embedded hub: two instances with their own
# arguments forward their own topics to Python receivers on loopback, which check the
# HMAC-SHA256 signature over the exact body; a receiver that answers 500 once gets the event
# again; a bad URL refuses only its instance; the secret never reaches the log.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"

RECEIVER="$FTRACK_SOURCE_DIR/tests/integration/webhook_receiver.py"
SO="$FTRACK_SHIPPED_PLUGIN_DIR/ftrack_webhook.so"
[ -f "$SO" ] || fail "the webhook plugin is not built ($SO)"
dir=$(mktemp -d "$FTRACK_TEST_TMP/plugins.XXXXXX")
chmod 755 "$dir"
cp "$SO" "$dir/" && chmod 755 "$dir/ftrack_webhook.so"

# start_receiver NAME SECRET FAIL_FIRST: sets <NAME>_PORT; records go to $FTRACK_TEST_TMP/NAME.jsonl
start_receiver() {
    local name=$1 secret=$2 fail_first=$3
    python3 "$RECEIVER" --port-file "$FTRACK_TEST_TMP/$name.port" \
        --out "$FTRACK_TEST_TMP/$name.jsonl" --secret "$secret" --fail-first "$fail_first" \
        --lifetime 240 &
    track_child $!
    wait_for 10 test -s "$FTRACK_TEST_TMP/$name.port" || fail "receiver $name did not start"
    printf -v "${name}_PORT" '%s' "$(cat "$FTRACK_TEST_TMP/$name.port")"
}

records() { # records NAME: how many requests NAME received
    local f="$FTRACK_TEST_TMP/$1.jsonl"
    [ -f "$f" ] && wc -l <"$f" || echo 0
}
has_records() { [ "$(records "$1")" -ge "$2" ]; }

SECRET_A="whsec-alpha-$RANDOM$RANDOM"
SECRET_B="whsec-bravo-$RANDOM$RANDOM"
start_receiver alpha "$SECRET_A" 0
start_receiver bravo "$SECRET_B" 1

# A receiver that stays down longer than the plugin's retries: nothing listens on DOWN_PORT.
DOWN_PORT=$(free_port)
(umask 077 && printf 'whsec-down\n' >"$FTRACK_TEST_TMP/down-secret")
cfg="$FTRACK_TEST_TMP/config.json"
cat >"$cfg" <<EOF
{
  "plugins": {
    "hook-alpha": {"plugin": "webhook", "arguments": {
      "webhook_url": "http://127.0.0.1:$alpha_PORT/hooks/alpha-token",
      "webhook_secret": "$SECRET_A",
      "webhook_expression": "topic=test.webhook.alpha"}},
    "hook-bravo": {"plugin": "webhook", "arguments": {
      "webhook_url": "http://127.0.0.1:$bravo_PORT/hooks/bravo",
      "webhook_secret": "$SECRET_B",
      "webhook_expression": "topic=test.webhook.bravo",
      "webhook_retry_delay": 0.2, "webhook_max_retries": 3}},
    "hook-bad": {"plugin": "webhook", "arguments": {
      "webhook_url": "ftp://127.0.0.1/x"}},
    "hook-down": {"plugin": "webhook", "arguments": {
      "webhook_url": "http://127.0.0.1:$DOWN_PORT/hook",
      "webhook_secret": {"file": "$FTRACK_TEST_TMP/down-secret"},
      "webhook_expression": "topic=test.webhook.down",
      "webhook_retry_delay": 0.1, "webhook_max_retries": 1},
      "failure": {"max_attempts": 2, "retry_delay": 0.1}},
    "hook-nosecret": {"plugin": "webhook", "arguments": {
      "webhook_url": "http://127.0.0.1:$DOWN_PORT/hook", "webhook_secret": ""}}
  }
}
EOF

start_host --plugin-path "$dir" --config "$cfg"
expect_log "ready: 3 plugin instances running"
expect_log "hook-bad.*must use http or https"
expect_log "hook-nosecret.*webhook_secret is missing or empty; set \"unsigned\": true"
expect_log "hook-alpha.*forwarding events matching 'topic=test.webhook.alpha' to http://127\.0\.0\.1:$alpha_PORT \(signed\)"

# --- a signed delivery ---------------------------------------------------------------------
# An event no instance subscribes to goes first; the hub keeps one publisher's order, so once
# the next event arrived, the first would have too.
probe test.webhook.other --data '{"note":"nobody forwards this"}' --expect 0 --wait 0.5
probe test.webhook.alpha --data '{"greeting":"hello","unicode":"caf\u00e9"}' --expect 0 --wait 0.5
wait_for 15 has_records alpha 1 || fail "receiver alpha got nothing"
sleep 0.5
[ "$(records alpha)" -eq 1 ] || fail "alpha got $(records alpha) requests, expected 1"

python3 - "$FTRACK_TEST_TMP/alpha.jsonl" "$SECRET_A" <<'EOF' || fail "alpha's request is wrong"
import hashlib, hmac, json, sys
rec = json.loads(open(sys.argv[1]).readline())
body = rec["body"].encode("utf-8")
ev = json.loads(body)
assert rec["path"] == "/hooks/alpha-token", rec["path"]
assert set(ev) == {"id", "topic", "data", "source", "target", "sent", "inReplyToEvent"}, sorted(ev)
assert ev["topic"] == "test.webhook.alpha", ev["topic"]
assert ev["data"]["greeting"] == "hello" and ev["data"]["unicode"] == "caf\u00e9", ev["data"]
h = rec["headers"]
t = h["x-ftrack-signature"].split(",")[0][2:]
want = "t=%s,v1=%s" % (t, hmac.new(sys.argv[2].encode(), t.encode() + b"." + body, hashlib.sha256).hexdigest())
assert h["x-ftrack-signature"] == want, (h["x-ftrack-signature"], want)
assert rec["signature"] == "valid"
assert h["x-ftrack-event-id"] == ev["id"], h
assert h["x-ftrack-topic"] == "test.webhook.alpha", h
assert h["x-ftrack-delivery-attempt"] == "1", h
assert h["content-type"] == "application/json", h
EOF
[ "$(records bravo)" -eq 0 ] || fail "bravo received alpha's topic"

# --- 500 then 200: retried with the same body and signature ----------------------------------
probe test.webhook.bravo --data '{"n":2}' --expect 0 --wait 0.5
wait_for 15 has_records bravo 2 || fail "bravo was not retried (got $(records bravo))"
sleep 0.5
[ "$(records bravo)" -eq 2 ] || fail "bravo got $(records bravo) requests, expected 2"
python3 - "$FTRACK_TEST_TMP/bravo.jsonl" <<'EOF' || fail "bravo's requests are wrong"
import json, sys
first, second = [json.loads(l) for l in open(sys.argv[1])]
assert first["status"] == 500 and second["status"] == 200, (first["status"], second["status"])
assert first["body"] == second["body"], "the retry changed the body"
assert first["signature"] == second["signature"] == "valid"
assert first["headers"]["x-ftrack-signature"] == second["headers"]["x-ftrack-signature"]
assert first["headers"]["x-ftrack-delivery-attempt"] == "1"
assert second["headers"]["x-ftrack-delivery-attempt"] == "2"
assert json.loads(second["body"])["data"]["n"] == 2
EOF
[ "$(records alpha)" -eq 1 ] || fail "alpha received bravo's topic"
event_id=$(python3 -c 'import json,sys; print(json.loads(json.loads(open(sys.argv[1]).readline())["body"])["id"])' \
    "$FTRACK_TEST_TMP/bravo.jsonl")
expect_log "hook-bravo.*event $event_id \(topic test\.webhook\.bravo\): attempt 1 of 4 to http://127\.0\.0\.1:$bravo_PORT failed: HTTP status 500"

# --- a receiver down longer than the retries: the delivery fails and is dead-lettered ----------
probe test.webhook.down --data '{"n":3}' --expect 0 --wait 0.5
dl="$FTRACK_TEST_TMP/host-data/dead-letter.jsonl"
wait_for 30 grep -q '"instance":"hook-down"' "$dl" ||
    fail "the undeliverable event was not dead-lettered"
grep '"instance":"hook-down"' "$dl" | grep -q '"n":3' || fail "the dead letter is not the event"
grep '"instance":"hook-down"' "$dl" | grep -q 'not delivered to http://127.0.0.1:'"$DOWN_PORT" ||
    fail "the dead letter does not say why"

stop_host
[ "$HOST_EXIT" -eq 0 ] || fail "ftrack-host exited $HOST_EXIT"
expect_log "hook-alpha.*stopping: 1 event\(s\) delivered, 0 failed"
expect_log "hook-bravo.*stopping: 1 event\(s\) delivered, 0 failed"

# Neither secret nor the URL's path (a token, for many receivers) may reach the log.
for s in "$SECRET_A" "$SECRET_B" "alpha-token"; do
    if grep -qF -- "$s" "$HOST_LOG"; then
        fail "the host log contains '$s'"
    fi
done
note "webhook: signed delivery, retry after 500, refusal of a bad URL, no secret in the log"
