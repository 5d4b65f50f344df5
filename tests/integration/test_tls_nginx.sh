#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The hub behind nginx, as a studio deploys it: nginx (started here, not as a daemon, on a
# free port with its own configuration in the test's folder) terminates TLS and forwards
# /api, the socket.io handshake and the websocket upgrade to a plain-HTTP hub on loopback.
# ftrack-host and the official @ftrack/api client connect to https://localhost:PORT; the
# client uploads a file and the host's encode_media plugin encodes it, all through nginx.
# The upload URL the hub hands out is nginx's (X-Forwarded-Proto/-Host from a loopback
# proxy), and --public-url overrides it.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"
. "$(dirname "$0")/tls_helpers.sh"
command -v nginx >/dev/null || fail "nginx is not installed (packaging/apt-packages.txt)"
command -v ffmpeg >/dev/null || fail "ffmpeg is not installed (packaging/apt-packages.txt)"
PEER="$FTRACK_SOURCE_DIR/tests/interop/js_media_peer.mjs"
[ -d "$FTRACK_SOURCE_DIR/tests/interop/node_modules/@ftrack/api" ] ||
    fail "tests/interop/node_modules is not installed (npm install there)"
PLUGIN="$FTRACK_SHIPPED_PLUGIN_DIR/ftrack_encode_media.so"
[ -f "$PLUGIN" ] || fail "the encode_media plugin is not built"

make_ca studio
make_cert studio front "DNS:localhost,IP:127.0.0.1"
start_hub
hub_port=$HUB_PORT

# start_nginx PORT: nginx in front of the hub; sets NGINX_PID and NGINX_DIR.
start_nginx() {
    NGINX_DIR="$FTRACK_TEST_TMP/nginx-$1"
    mkdir -p "$NGINX_DIR/tmp"
    cat >"$NGINX_DIR/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $NGINX_DIR/nginx.pid;
error_log $NGINX_DIR/error.log info;
events { worker_connections 64; }
http {
    access_log $NGINX_DIR/access.log;
    client_body_temp_path $NGINX_DIR/tmp/body;
    proxy_temp_path $NGINX_DIR/tmp/proxy;
    fastcgi_temp_path $NGINX_DIR/tmp/fastcgi;
    uwsgi_temp_path $NGINX_DIR/tmp/uwsgi;
    scgi_temp_path $NGINX_DIR/tmp/scgi;
    client_max_body_size 100m;
    map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
    server {
        listen 127.0.0.1:$1 ssl;
        server_name localhost;
        ssl_certificate $PKI/front.crt;
        ssl_certificate_key $PKI/front.key;
        location / {
            proxy_pass http://127.0.0.1:$hub_port;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_set_header Host \$host;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-Host \$http_host;
            proxy_read_timeout 300s;
            proxy_request_buffering off;
        }
    }
}
CONF
    nginx -p "$NGINX_DIR" -c "$NGINX_DIR/nginx.conf" -e "$NGINX_DIR/error.log" &
    NGINX_PID=$!
    track_child "$NGINX_PID"
    wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" ||
        { cat "$NGINX_DIR/error.log" >&2; fail "nginx did not start"; }
}

port=$(free_port)
start_nginx "$port"
FRONT="https://localhost:$port"
note "nginx $NGINX_PID at $FRONT -> hub at 127.0.0.1:$hub_port"

dir=$(mktemp -d "$FTRACK_TEST_TMP/plugins.XXXXXX")
chmod 755 "$dir"
cp "$PLUGIN" "$dir/" && chmod 755 "$dir/ftrack_encode_media.so"
run_host nginx "FTRACK_SERVER=$FRONT" -- --plugin-path "$dir" --ca-file "$PKI/studio.crt" \
    --plugin-arg encode_media_ignore_own_user=false --plugin-arg encode_media_file_types=.mov \
    --plugin-arg encode_media_job_timeout=120
wait_log 30 'ready: 1 plugin instance running, event hub connected'
expect_log "connected to the event server at $FRONT"

export NODE_EXTRA_CA_CERTS="$PKI/studio.crt"
RESULTS="$FTRACK_TEST_TMP/results.txt"
node "$PEER" listen "$FRONT" ftrack.host.encode-media.result 120 >"$RESULTS" 2>&1 &
track_child $!
wait_for 20 grep -q READY "$RESULTS" || fail "listener not ready: $(cat "$RESULTS")"

CLIP="$FTRACK_TEST_TMP/plate.mov"
ffmpeg -v error -y -f lavfi -i testsrc=duration=1:size=160x120:rate=10 -pix_fmt yuv420p "$CLIP" ||
    fail "ffmpeg could not make a test clip"
out=$(timeout 60 node "$PEER" publish-media "$FRONT" "$CLIP" 2>&1) ||
    fail "publishing media through nginx failed: $out"
component=$(awk '$1 == "COMPONENT" {print $2}' <<<"$out")
[ -n "$component" ] || fail "no component id: $out"
grep -q "\"PUT /component/put?id=$component&" "$NGINX_DIR/access.log" ||
    { cat "$NGINX_DIR/access.log" >&2; fail "the upload did not go through nginx"; }
wait_for 120 grep -q "\"component_id\":\"$component\".*\"status\":\"done\"" "$RESULTS" ||
    { cat "$RESULTS" "$HOST_LOG" >&2; fail "no encode_media result through nginx"; }
grep -q '"POST /api HTTP/1.1" 200' "$NGINX_DIR/access.log" || fail "no /api through nginx"
echo "MEASURED: encode_media of $component done through nginx; $(grep -c . "$NGINX_DIR/access.log") requests in nginx's log"

# The upload URL: nginx's address from X-Forwarded-*; the hub's own when asked directly.
meta_url() {
    curl -sS --max-time 10 --cacert "$PKI/studio.crt" "$1/api" -H 'content-type: application/json' \
        -H "ftrack-user: $FTRACK_API_USER" -H "ftrack-api-key: $FTRACK_API_KEY" \
        -d "[{\"action\":\"get_upload_metadata\",\"component_id\":\"$component\",\"file_name\":\"x.mov\",\"file_size\":1}]" |
        python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["url"])'
}
url=$(meta_url "$FRONT")
[[ "$url" == "$FRONT/component/put?"* ]] || fail "upload URL through nginx: $url"
url=$(meta_url "http://127.0.0.1:$hub_port")
[[ "$url" == "http://127.0.0.1:$hub_port/component/put?"* ]] || fail "direct upload URL: $url"
stop_host TERM
[ "$HOST_EXIT" -eq 0 ] || fail "host exit $HOST_EXIT"
# nginx logs a websocket when it closes: the host's closed with it.
wait_for 10 grep -q '"GET /socket.io/1/websocket/[^ ]* HTTP/1.1" 101' "$NGINX_DIR/access.log" ||
    { cat "$NGINX_DIR/access.log" >&2; fail "no websocket upgrade through nginx"; }

# --public-url wins over the headers.
stop_hub
start_hub --public-url "https://ftrack.studio.example/"
hub_port=$HUB_PORT
kill "$NGINX_PID"
wait "$NGINX_PID" 2>/dev/null || true
start_nginx "$port"
url=$(meta_url "$FRONT")
[[ "$url" == "https://ftrack.studio.example/component/put?"* ]] || fail "--public-url: $url"
echo "PASS"
