#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A scripted socket.io 0.9 event server for the client's receive path: it answers the
handshake and the websocket upgrade, reads and ignores what clients send, and sends every
connected client the frames it finds in FRAMES_DIR: each new file *.txt (in name order), one
frame per line, then renames it *.sent. So a test can send bytes no real hub would pass on
(e.g. an event whose data is not valid JSON). Standard library only. Usage:

    fake_sio_hub.py FRAMES_DIR        prints "url http://127.0.0.1:PORT" once listening"""
import base64
import hashlib
import json
import os
import socket
import struct
import sys
import threading
import time

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
clients = []
lock = threading.Lock()


def read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            return None, {}, b""
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    while len(body) < int(headers.get("content-length", "0")):
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return lines[0].split(" ")[1], headers, body


def api_answer(body):
    """What a session needs to open: the server's version and (no) schemas."""
    answers = {"query_server_information": {"version": "dev"}, "query_schemas": []}
    try:
        ops = json.loads(body)
    except ValueError:
        ops = []
    return json.dumps([answers.get(op.get("action"), {}) for op in ops]).encode()


def send_frame(conn, text):
    payload = text.encode("utf-8") if isinstance(text, str) else text
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x81, n)
    elif n < 65536:
        head = struct.pack("!BBH", 0x81, 126, n)
    else:
        head = struct.pack("!BBQ", 0x81, 127, n)
    conn.sendall(head + payload)


def drain(conn):
    try:
        while conn.recv(65536):
            pass
    except OSError:
        pass
    with lock:
        if conn in clients:
            clients.remove(conn)


def serve(conn):
    path, headers, request_body = read_request(conn)
    if path is None:
        conn.close()
        return
    if path.startswith("/socket.io/1/websocket/"):
        accept = base64.b64encode(
            hashlib.sha1((headers.get("sec-websocket-key", "") + GUID).encode()).digest())
        reply = ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n" % accept.decode())
        if "sec-websocket-protocol" in headers:
            reply += "Sec-WebSocket-Protocol: %s\r\n" % headers["sec-websocket-protocol"]
        conn.sendall((reply + "\r\n").encode())
        send_frame(conn, "1::")
        with lock:
            clients.append(conn)
        drain(conn)
        return
    if path.startswith("/socket.io/1/"):
        body = b"fakesid:60:60:websocket"
    else:
        body = api_answer(request_body)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                 b"Connection: close\r\n\r\n%s" % (len(body), body))
    conn.close()


def pump(frames_dir):
    while True:
        for name in sorted(os.listdir(frames_dir)):
            if not name.endswith(".txt"):
                continue
            path = os.path.join(frames_dir, name)
            with open(path, "rb") as f:
                lines = [l for l in f.read().split(b"\n") if l]
            with lock:
                for conn in clients:
                    for line in lines:
                        send_frame(conn, line)
            os.rename(path, path[:-4] + ".sent")
        time.sleep(0.05)


def main():
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)
    threading.Thread(target=pump, args=(sys.argv[1],), daemon=True).start()
    print("url http://127.0.0.1:%d" % srv.getsockname()[1], flush=True)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
