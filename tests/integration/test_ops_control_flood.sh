#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The control socket keeps its promise of at most 64 requests in flight per client: a client
# that sends requests without reading the answers is no longer read once 64 answers wait, so
# its own sends block within the kernel's buffers instead of growing the host's memory; the
# answers all come once it reads, and other clients are served meanwhile.
set -euo pipefail
. "$FTRACK_TEST_LIB"
. "$(dirname "$0")/host_helpers.sh"

start_host --plugin-path "$(plugin_dir)"
sock="$FTRACK_TEST_TMP/host-data/control.sock"
wait_for 10 test -S "$sock" || fail "no control socket"
out=$(python3 - "$sock" "$HOST_PID" <<'PY'
import errno, json, os, select, socket, sys, time
path, pid = sys.argv[1], sys.argv[2]
def rss():
    for line in open("/proc/%s/status" % pid):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
base = rss()
s = socket.socket(socket.AF_UNIX)
s.connect(path)
s.setblocking(False)
chunk = b'{"command":"ping"}\n' * 4096
sent, stalled_since = 0, None
while sent < 64 * 1024 * 1024:
    try:
        sent += s.send(chunk[sent % len(chunk):] if sent % len(chunk) else chunk)
        stalled_since = None
    except BlockingIOError:
        now = time.monotonic()
        stalled_since = stalled_since or now
        if now - stalled_since > 2:
            break
        select.select([], [s], [], 0.2)
growth = rss() - base
# Another client is served while this one is stalled.
o = socket.socket(socket.AF_UNIX)
o.settimeout(5)
o.connect(path)
o.sendall(b'{"command":"ping"}\n')
other = json.loads(o.makefile().readline())
# Then every answer comes once the first client reads.
want = sent // len(b'{"command":"ping"}\n')
s.setblocking(True)
s.settimeout(20)
got, buf = 0, b""
while got < want:
    data = s.recv(1 << 20)
    if not data:
        break
    got += data.count(b"\n")
print("sent_bytes=%d growth_kib=%d other_ok=%s answers=%d of %d" % (sent, growth, other.get("ok"), got, want))
PY
) || fail "the control client failed"
note "$out"
sent=$(sed -n 's/.*sent_bytes=\([0-9]*\).*/\1/p' <<<"$out")
[ "$sent" -lt 16777216 ] || fail "the host kept reading a client that does not read its answers: $out"
grep -q "other_ok=True" <<<"$out" || fail "another client was not served: $out"
grep -Eq "answers=([0-9]+) of \1$" <<<"$out" || fail "answers were lost: $out"
stop_host
echo ok
