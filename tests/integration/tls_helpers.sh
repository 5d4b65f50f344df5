# SPDX-License-Identifier: Apache-2.0
# Certificates for the TLS tests, made fresh by each run with the openssl command (source
# after $FTRACK_TEST_LIB). Everything lives under $FTRACK_TEST_TMP/pki.
#
#   make_ca NAME                 a private CA: $PKI/NAME.crt, $PKI/NAME.key
#   make_cert CA NAME SAN [expired]
#                                a server certificate signed by CA for SAN
#                                ("DNS:localhost,IP:127.0.0.1"): $PKI/NAME.crt, $PKI/NAME.key;
#                                "expired" makes one that ran out in 2020
#   studio_pki                   the usual pair: make_ca studio, make_cert studio hub for
#                                localhost and 127.0.0.1
#   start_tls_hub CERT [ARGS...] `ftrack-host hub` with $PKI/CERT.{crt,key} on 127.0.0.1;
#                                sets HUB_PID, HUB_LOG, HUB_PORT, FTRACK_SERVER (https://localhost)
#   run_host NAME [VAR=VALUE...] -- [ARGS...]
#                                `ftrack-host` in the background with that environment, its
#                                own data dir and log host-NAME.log; sets HOST_PID, HOST_LOG
#   wait_log SECONDS PATTERN     wait for PATTERN (grep -E) in HOST_LOG, or fail showing it

PKI="$FTRACK_TEST_TMP/pki"
# Each test says which CA file and proxy to use; none leaks in from the machine.
unset REQUESTS_CA_BUNDLE CURL_CA_BUNDLE SSL_CERT_FILE SSL_CERT_DIR NODE_EXTRA_CA_CERTS
unset https_proxy HTTPS_PROXY http_proxy HTTP_PROXY no_proxy NO_PROXY all_proxy ALL_PROXY
mkdir -p "$PKI"

_openssl() {
    openssl "$@" >>"$PKI/openssl.log" 2>&1 || {
        cat "$PKI/openssl.log" >&2
        fail "openssl $1 failed"
    }
}

make_ca() {
    _openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3 \
        -subj "/CN=ftrack test CA $1" -keyout "$PKI/$1.key" -out "$PKI/$1.crt" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}

make_cert() {
    local ca=$1 name=$2 san=$3 mode=${4:-}
    _openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -subj "/CN=${san#*:}" -keyout "$PKI/$name.key" -out "$PKI/$name.csr"
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
        "${san%%,}" >"$PKI/$name.ext"
    if [ "$mode" = expired ]; then
        # openssl 3.0's x509 cannot backdate; its ca command can (-startdate/-enddate).
        local db="$PKI/$name.db"
        mkdir -p "$db"
        : >"$db/index.txt"
        printf '[ca]\ndefault_ca=c\n[c]\ndatabase=%s/index.txt\nnew_certs_dir=%s\n' "$db" "$db" \
            >"$db/ca.cnf"
        printf 'serial=%s/serial\ndefault_md=sha256\npolicy=p\nunique_subject=no\n' "$db" \
            >>"$db/ca.cnf"
        printf '[p]\ncommonName=supplied\n' >>"$db/ca.cnf"
        echo 01 >"$db/serial"
        _openssl ca -batch -config "$db/ca.cnf" -cert "$PKI/$ca.crt" -keyfile "$PKI/$ca.key" \
            -startdate 20200101000000Z -enddate 20200201000000Z -notext \
            -extfile "$PKI/$name.ext" -in "$PKI/$name.csr" -out "$PKI/$name.crt"
    else
        _openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/$ca.crt" -CAkey "$PKI/$ca.key" \
            -CAcreateserial -days 2 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt"
    fi
    chmod 600 "$PKI/$name.key"
}

studio_pki() {
    make_ca studio
    make_cert studio hub "DNS:localhost,IP:127.0.0.1"
}

start_tls_hub() {
    local cert=$1
    shift
    _FT_HUB_COUNT=$((_FT_HUB_COUNT + 1))
    HUB_LOG="$FTRACK_TEST_TMP/hub.$_FT_HUB_COUNT.log"
    : "${HUB_DATA_DIR:=$FTRACK_TEST_TMP/hub-data}"
    export FTRACK_API_USER="$FTRACK_TEST_API_USER"
    export FTRACK_API_KEY="$FTRACK_TEST_API_KEY"
    "$FTRACK_HOST_BIN" hub --listen "127.0.0.1:${TLS_HUB_PORT:-0}" --data-dir "$HUB_DATA_DIR" \
        --tls-cert "$PKI/$cert.crt" --tls-key "$PKI/$cert.key" "$@" 2>"$HUB_LOG" &
    HUB_PID=$!
    track_child "$HUB_PID"
    if ! wait_for 20 grep -q 'ready at https://127\.0\.0\.1:[0-9]' "$HUB_LOG"; then
        cat "$HUB_LOG" >&2
        fail "the TLS hub printed no https URL within 20 s"
    fi
    HUB_PORT=$(grep -o -m1 'https://127\.0\.0\.1:[0-9]*' "$HUB_LOG")
    HUB_PORT=${HUB_PORT##*:}
    export FTRACK_SERVER="https://localhost:$HUB_PORT"
    note "TLS hub $HUB_PID at $FTRACK_SERVER"
}

run_host() {
    local name=$1 envs=()
    shift
    while [ $# -gt 0 ] && [ "$1" != -- ]; do
        envs+=("$1")
        shift
    done
    [ $# -gt 0 ] && shift
    HOST_LOG="$FTRACK_TEST_TMP/host-$name.log"
    env "${envs[@]}" "$FTRACK_HOST_BIN" --data-dir "$FTRACK_TEST_TMP/data-$name" "$@" \
        2>"$HOST_LOG" &
    HOST_PID=$!
    track_child "$HOST_PID"
}

wait_log() {
    wait_for "$1" grep -qE -- "$2" "$HOST_LOG" || {
        cat "$HOST_LOG" >&2
        fail "the host's log did not show within $1 s: $2"
    }
}
