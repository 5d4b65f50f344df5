#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Throw malformed and hostile input at an event hub: raw HTTP requests and websocket frames,
from hand-written cases and mutations of the fuzz corpus (tests/fuzz/seeds). Standard library
only. Usage:

    hub_fuzz.py URL USER KEY SEEDS_DIR [--count N] [--seed S]

Prints one summary line per kind and "sent N" at the end; exits 1 when the hub stops
accepting connections (the caller then checks the hub process and a correct client)."""
import base64
import json
import os
import random
import socket
import struct
import sys
import time
import urllib.parse

TIMEOUT = 2.0


def connect(host, port):
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    s.settimeout(TIMEOUT)
    return s


def drain(s, limit=65536, timeout=None):
    """Read what the peer says until it stops or closes (bounded)."""
    got = b""
    if timeout is not None:
        s.settimeout(timeout)
    try:
        while len(got) < limit:
            chunk = s.recv(limit)
            if not chunk:
                break
            got += chunk
            if b"\r\n\r\n" in got and len(got) > 12:
                break
    except (socket.timeout, ConnectionError, OSError):
        pass
    return got


def http_cases(user, key, rng, corpus):
    q = "api_user=%s&api_key=%s" % (urllib.parse.quote(user), urllib.parse.quote(key))
    body_cases = [
        b"", b"{", b"[", b"null", b"[]", b"[{}]", b'[{"action":"query"}]',
        b'[{"action":"query","expression":"select id from"}]',
        b'[{"action":"create","entity_type":"Task","entity_data":{}}]',
        b"[" * 10000, b'{"a":' * 5000, b"\xff\xfe\x00garbage", b'[{"action":"delete"}]',
        b'[{"action":"update","entity_type":"Nope","entity_key":[1],"entity_data":{"x":1}}]',
        b'[{"action":"query_schemas"}]' * 3, b'"' + b"A" * 70000 + b'"',
    ]
    fixed = [
        b"GET / HTTP/1.1\r\n\r\n",
        b"GARBAGE\r\n\r\n",
        b"\x00\x01\x02\x03\r\n\r\n",
        b"GET /socket.io/1/ HTTP/1.1\r\nHost: x\r\n\r\n",
        ("GET /socket.io/1/?%s HTTP/1.1\r\nHost: x\r\n\r\n" % q.replace(key, "wrong")).encode(),
        b"GET /socket.io/1/websocket/nosuchsid HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"
        b"Sec-WebSocket-Version: 13\r\n\r\n",
        b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + b"X-Long: " + b"b" * 40000 + b"\r\n\r\n",
        b"GET / HTTP/1.1\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(500)) + b"\r\n",
        b"POST /api HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n{",
        b"POST /api HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
        b"POST /api HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nxx\r\n0\r\n\r\n",
        b"GET /../../etc/passwd HTTP/1.1\r\n\r\n",
        b"GET /socket.io/1/%00%ff HTTP/1.1\r\n\r\n",
        b"GET /socket.io/1/ HTTP/1.1\r\nftrack-user: " + b"\xff" * 64 + b"\r\n\r\n",
        b"PUT /api HTTP/1.1\r\nContent-Length: 2\r\n\r\n[]",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n",  # never finished
    ]
    while True:
        pick = rng.random()
        if pick < 0.3:
            yield rng.choice(fixed)
        elif pick < 0.7:
            body = rng.choice(body_cases + corpus)
            if rng.random() < 0.5:
                body = mutate(rng, body)
            auth = "ftrack-user: %s\r\nftrack-api-key: %s\r\n" % (user, key)
            if rng.random() < 0.2:
                auth = "ftrack-user: %s\r\nftrack-api-key: nope\r\n" % user
            yield (("POST /api HTTP/1.1\r\nHost: x\r\n%sContent-Type: application/json\r\n"
                    "Content-Length: %d\r\n\r\n" % (auth, len(body))).encode() + body)
        else:
            req = rng.choice(fixed)
            yield mutate(rng, req)


def mutate(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 6)):
        op = rng.random()
        if not data or op < 0.2:
            data += bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 32)))
        elif op < 0.4:
            i = rng.randrange(len(data))
            data[i] ^= 1 << rng.randrange(8)
        elif op < 0.55:
            del data[rng.randrange(len(data)):]
        elif op < 0.7:
            i = rng.randrange(len(data))
            data[i:i] = data[i:i + rng.randint(1, 64)] * rng.randint(1, 50)
        elif op < 0.85:
            i = rng.randrange(len(data))
            data[i:i] = rng.choice([b"{", b"}", b"[", b"]", b'"', b"\\", b"\x00", b"::", b"+",
                                    b"\xc3", b"\xed\xa0\x80", b"1e999", b"-0", b"null"])
        else:
            i = rng.randrange(len(data))
            j = rng.randrange(len(data))
            data[i], data[j] = data[j], data[i]
    return bytes(data)


def read_response(s):
    """One HTTP response: headers, then Content-Length bytes of body (bounded waits)."""
    got = b""
    while b"\r\n\r\n" not in got:
        chunk = s.recv(65536)
        if not chunk:
            return got, b""
        got += chunk
    head, body = got.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            length = int(value.strip())
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return head, body


def ws_open(host, port, user, key):
    q = "api_user=%s&api_key=%s" % (urllib.parse.quote(user), urllib.parse.quote(key))
    s = connect(host, port)
    s.sendall(("GET /socket.io/1/?%s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n"
               % (q, host, port)).encode())
    head, body = read_response(s)
    s.close()
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        raise ConnectionError("handshake refused: %r" % head[:80])
    text = body.decode("latin-1")
    if ":" not in text or "websocket" not in text:
        raise ConnectionError("no sid in %r" % text[:80])
    sid = text.split(":")[0]
    s = connect(host, port)
    wskey = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /socket.io/1/websocket/%s?%s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n"
               % (sid, q, host, port, wskey)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("upgrade closed")
        head += chunk
    if b" 101 " not in head.split(b"\r\n", 1)[0]:
        raise ConnectionError("upgrade refused: %r" % head[:80])
    return s


def frame(payload, opcode=1, fin=True, mask=True, length_override=None, rsv=0):
    b0 = (0x80 if fin else 0) | (rsv << 4) | opcode
    n = len(payload) if length_override is None else length_override
    if n < 126:
        head = bytes([b0, (0x80 if mask else 0) | n])
    elif n < 65536:
        head = bytes([b0, (0x80 if mask else 0) | 126]) + struct.pack(">H", n)
    else:
        head = bytes([b0, (0x80 if mask else 0) | 127]) + struct.pack(">Q", n)
    if not mask:
        return head + payload
    m = os.urandom(4)
    return head + m + bytes(c ^ m[i % 4] for i, c in enumerate(payload))


def ws_cases(rng, corpus):
    ev = lambda o: ('5:::{"name":"ftrack.event","args":[%s]}' % json.dumps(o)).encode()
    hand = [
        b"", b"5", b"5:", b"5::", b"5:::", b"5:::{", b"5:::null", b"5:::[]", b"5:::{}",
        b'5:::{"name":"ftrack.event"}', b'5:::{"name":"ftrack.event","args":null}',
        b'5:::{"name":"ftrack.event","args":[]}', b'5:::{"name":"ftrack.event","args":[1,2]}',
        b'5:::{"name":"other","args":[{}]}', b"6:::", b"6:::x+[", b"7:::", b"8:::", b"9:::x",
        b"0::", b"1::", b"2::", b"3:::hello", b"4:::{", b"5:99999999999999999999+::{}",
        b"5:-1+::{}", ev({"topic": "ftrack.meta.subscribe", "data": None}),
        ev({"topic": "ftrack.meta.subscribe", "data": {"subscription": "((((("}}),
        ev({"topic": "ftrack.meta.subscribe", "data": {"subscriber": {"id": "x" * 5000},
                                                        "subscription": "topic=*"}}),
        ev({"topic": "ftrack.meta.unsubscribe", "data": {"subscriber": {"id": 5}}}),
        ev({"topic": "x", "target": "((((", "data": {}}),
        ev({"topic": "x", "target": "a=" + "b" * 10000}),
        ev({"topic": 5}), ev({"topic": "", "id": None}), ev({"topic": "x", "data": [1]}),
        ev({"topic": "x", "source": "notanobject", "inReplyToEvent": {"a": 1}}),
        b'5:::{"name":"ftrack.event","args":[' + b"[" * 3000 + b"]" * 3000 + b"]}",
        b'5:::{"name":"ftrack.event","args":[{"topic":"\xff\xfe"}]}',
        b'5:::{"name":"ftrack.event","args":[{"topic":"\\ud800"}]}',
    ]
    while True:
        pick = rng.random()
        if pick < 0.25:
            yield ("text", rng.choice(hand))
        elif pick < 0.6:
            yield ("text", mutate(rng, rng.choice(hand + corpus)))
        elif pick < 0.7:
            yield ("text", bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300))))
        else:
            yield ("raw", rng.choice(["binary", "unmasked", "badlen", "fragment", "rsv",
                                      "badop", "bigping", "close", "ping", "truncated"]))


def raw_frame(kind, rng):
    p = b"5:::{}"
    if kind == "binary":
        return frame(bytes(rng.getrandbits(8) for _ in range(64)), opcode=2)
    if kind == "unmasked":
        return frame(p, mask=False)
    if kind == "badlen":
        return frame(p, length_override=rng.choice([2 ** 40, 2 ** 63 - 1, 70000, 200]))
    if kind == "fragment":
        return frame(b"5:::{", fin=False) + frame(b"}", opcode=0) + frame(b"x", opcode=0, fin=False)
    if kind == "rsv":
        return frame(p, rsv=rng.randint(1, 7))
    if kind == "badop":
        return frame(p, opcode=rng.choice([3, 4, 5, 6, 7, 11, 12, 13, 14, 15]))
    if kind == "bigping":
        return frame(b"p" * 200, opcode=9)
    if kind == "close":
        return frame(b"\x03\xe8bye", opcode=8)
    if kind == "ping":
        return frame(b"hi", opcode=9)
    return frame(p)[:3]


def main():
    url, user, key, seeds = sys.argv[1:5]
    count = 10000
    seed = int(os.environ.get("FTRACK_FUZZ_SEED", "1"))
    args = sys.argv[5:]
    for i in range(0, len(args) - 1, 2):
        if args[i] == "--count":
            count = int(args[i + 1])
        elif args[i] == "--seed":
            seed = int(args[i + 1])
    rng = random.Random(seed)
    hostport = urllib.parse.urlparse(url)
    host, port = hostport.hostname, hostport.port
    corpus = []
    for sub in sorted(os.listdir(seeds)):
        d = os.path.join(seeds, sub)
        for name in sorted(os.listdir(d)):
            with open(os.path.join(d, name), "rb") as f:
                corpus.append(f.read())
    http = http_cases(user, key, rng, corpus)
    frames = ws_cases(rng, corpus)
    sent = {"http": 0, "ws": 0}
    ws = None
    started = time.time()
    failures_in_row = 0
    while sent["http"] + sent["ws"] < count:
        try:
            if rng.random() < 0.35:
                s = connect(host, port)
                s.sendall(next(http))
                sent["http"] += 1
                if rng.random() < 0.3:
                    drain(s, 4096, 0.1)
                s.close()
            else:
                if ws is None:
                    ws = ws_open(host, port, user, key)
                kind, what = next(frames)
                # Several frames per connection; a broken frame usually ends it.
                ws.sendall(frame(what) if kind == "text" else raw_frame(what, rng))
                sent["ws"] += 1
                if kind == "raw" or rng.random() < 0.02:
                    ws.close()
                    ws = None
            failures_in_row = 0
        except (ConnectionError, OSError, socket.timeout) as e:
            if ws is not None:
                try:
                    ws.close()
                except OSError:
                    pass
                ws = None
            failures_in_row += 1
            if failures_in_row > 50:
                print("the hub stopped accepting connections: %s" % e)
                return 1
            time.sleep(0.002)
    if ws is not None:
        ws.close()
    print("sent %d (%d HTTP requests, %d websocket frames) in %.1f s, seed %d"
          % (sent["http"] + sent["ws"], sent["http"], sent["ws"], time.time() - started, seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
