#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Hostile clients for the embedded hub's HTTP side (test_hub_dos.sh).

  hub_flood.py bodies PORT PID SECONDS CONNS USER KEY
      CONNS connections without credentials each POST /api a large body slowly (reconnecting
      when the hub closes them) for SECONDS, while an authenticated client asks for the server
      information every 0.2 s. Prints "growth_kib=N served=N failed=N refused=N": the hub's
      largest resident-memory growth, the authenticated requests answered and not, and the
      flood requests the hub closed. Exits 1 when an authenticated request failed.
  hub_flood.py slow PORT KIND SECONDS USER KEY
      One client that sends its head (KIND=head) or, authenticated, its body (KIND=body) a few
      bytes a second. Prints "closed_after=S" when the hub closes it, "open" when it is still
      open after SECONDS.
  hub_flood.py sids PORT FLOOD USER KEY
      FLOOD handshakes that never upgrade, then a real client's, then a few more; prints
      "upgrade=<status line>" of the real client's websocket upgrade.
  hub_flood.py query PORT PID USER KEY
      POSTs one query of about 64 KiB made of 3,500 short strings; prints the hub's peak
      resident memory growth (VmHWM).
  hub_flood.py hold PORT COUNT SECONDS PID
      Opens COUNT idle connections and prints "accepted=N": how many sockets the hub process
      holds (from /proc) after SECONDS, less the ones it held before.
"""
import http.client
import json
import os
import selectors
import socket
import sys
import time

CHUNK = 32 * 1024
CHUNK_EVERY = 0.05
DECLARED = 8_000_000


def status_kib(pid, field):
    """A memory figure of /proc/PID/status (VmRSS, VmHWM), in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def rss_kib(pid):
    return status_kib(pid, "VmRSS")


def sockets_of(pid):
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:"):
                n += 1
        except OSError:
            pass
    return n


def api_request(port, user, key, timeout=5):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("POST", "/api", body=b'[{"action":"query_server_information"}]',
                     headers={"ftrack-user": user, "ftrack-api-key": key,
                              "content-type": "application/json"})
        r = conn.getresponse()
        body = r.read()
        return r.status == 200 and b'"schema_hash"' in body
    except OSError:
        return False
    finally:
        conn.close()


class Flooder:
    """One unauthenticated connection posting a large body a chunk at a time."""

    def __init__(self, port, sel):
        self.port, self.sel, self.sock = port, sel, None
        self.refused = 0

    def open(self):
        s = socket.socket()
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", self.port))
        except OSError:
            s.close()
            return
        s.setblocking(False)
        head = (f"POST /api HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                f"Content-Length: {DECLARED}\r\n\r\n").encode()
        try:
            s.send(head)
        except OSError:
            s.close()
            return
        self.sock, self.sent = s, 0
        self.sel.register(s, selectors.EVENT_READ, self)

    def close(self):
        if self.sock:
            self.sel.unregister(self.sock)
            self.sock.close()
            self.sock = None

    def readable(self):
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.refused += 1
            self.close()

    def tick(self):
        if not self.sock:
            self.open()
            return
        if self.sent >= DECLARED:
            return
        try:
            self.sent += self.sock.send(b"x" * CHUNK)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            self.refused += 1
            self.close()


def bodies(port, pid, seconds, conns, user, key):
    sel = selectors.DefaultSelector()
    base = rss_kib(pid)
    peak = base
    flood = [Flooder(port, sel) for _ in range(conns)]
    served = failed = 0
    end = time.monotonic() + seconds
    next_chunk = next_auth = time.monotonic()
    while time.monotonic() < end:
        now = time.monotonic()
        if now >= next_chunk:
            for f in flood:
                f.tick()
            next_chunk = now + CHUNK_EVERY
            peak = max(peak, rss_kib(pid))
        if now >= next_auth:
            if api_request(port, user, key):
                served += 1
            else:
                failed += 1
            next_auth = time.monotonic() + 0.2
        for key_, _ in sel.select(timeout=0.01):
            key_.data.readable()
    peak = max(peak, rss_kib(pid))
    for f in flood:
        f.close()
    refused = sum(f.refused for f in flood)
    print(f"growth_kib={peak - base} served={served} failed={failed} refused={refused}")
    return 1 if failed else 0


def slow(port, kind, seconds, user, key):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    if kind == "head":
        parts = [b"POST /api HTTP/1.1\r\n"] + [f"X-Slow-{i}: y\r\n".encode() for i in range(10000)]
    else:
        s.send((f"POST /api HTTP/1.1\r\nHost: x\r\nftrack-user: {user}\r\nftrack-api-key: {key}"
                f"\r\nContent-Length: 100000\r\n\r\n").encode())
        parts = [b"[" + b" " * 20] * 10000
    start = time.monotonic()
    s.settimeout(0.5)
    for part in parts:
        if time.monotonic() - start > seconds:
            print("open")
            return 0
        try:
            s.send(part)
            if s.recv(4096) == b"":
                break
        except socket.timeout:
            continue
        except OSError:
            break
        else:
            # an answer (e.g. a timeout status) is fine; the close is what is measured
            pass
    print(f"closed_after={time.monotonic() - start:.1f}")
    return 0


def hold(port, count, seconds, pid):
    before = sockets_of(pid)
    socks = []
    for _ in range(count):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
    time.sleep(seconds)  # the measured quantity is what the hub took in this long
    print(f"accepted={sockets_of(pid) - before}")
    for s in socks:
        s.close()
    return 0


def handshake(conn, user, key):
    conn.request("GET", "/socket.io/1/", headers={"ftrack-user": user, "ftrack-api-key": key})
    r = conn.getresponse()
    body = r.read().decode()
    assert r.status == 200, (r.status, body)
    return body.split(":")[0]


def sids(port, flood, user, key):
    """A real client's handshake amid a flood of handshakes that never upgrade; prints the
    status its websocket upgrade gets."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(flood):
        handshake(conn, user, key)
    sid = handshake(conn, user, key)
    for _ in range(10):
        handshake(conn, user, key)
    conn.close()
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.send((f"GET /socket.io/1/websocket/{sid} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            f"Sec-WebSocket-Version: 13\r\nftrack-user: {user}\r\nftrack-api-key: {key}\r\n\r\n").encode())
    status = s.recv(4096).split(b"\r\n")[0].decode()
    s.close()
    print(f"upgrade={status}")
    return 0


def peak_kib(pid):
    return status_kib(pid, "VmHWM")


def long_query(port, pid, user, key):
    """One 64 KiB query made of short strings; prints the hub's peak resident memory growth."""
    before = peak_kib(pid)
    cond = " or ".join(['name is "x%d"' % i for i in range(3500)])
    expr = "select id from Project where " + cond
    body = json.dumps([{"action": "query", "expression": expr[:65536]}]).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("POST", "/api", body=body, headers={"ftrack-user": user, "ftrack-api-key": key})
    r = conn.getresponse()
    answer = r.read()
    conn.close()
    print(f"status={r.status} bytes={len(expr)} peak_growth_kib={peak_kib(pid) - before} "
          f"answer={answer[:80]!r}")
    return 0


def main(argv):
    mode = argv[1]
    if mode == "bodies":
        return bodies(int(argv[2]), int(argv[3]), float(argv[4]), int(argv[5]), argv[6], argv[7])
    if mode == "slow":
        return slow(int(argv[2]), argv[3], float(argv[4]), argv[5], argv[6])
    if mode == "sids":
        return sids(int(argv[2]), int(argv[3]), argv[4], argv[5])
    if mode == "query":
        return long_query(int(argv[2]), int(argv[3]), argv[4], argv[5])
    if mode == "hold":
        return hold(int(argv[2]), int(argv[3]), float(argv[4]), int(argv[5]))
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
