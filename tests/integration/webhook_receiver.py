#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A webhook receiver for tests: records every POST and checks its HMAC signature.

    webhook_receiver.py --port-file F --out F [--secret S] [--fail-first N] [--lifetime S]

Listens on 127.0.0.1 with an ephemeral port (written to --port-file once bound). For each
request it appends one JSON line to --out:
    {"n": 1, "path": ..., "headers": {lower-case name: value}, "body": <text>,
     "signature": "valid" | "invalid" | "missing", "status": <status answered>}
The first --fail-first requests are answered 500, the others 200. The process exits by itself
after --lifetime seconds so a failed test never leaves it behind.
"""
import argparse
import hashlib
import hmac
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--secret")
    ap.add_argument("--fail-first", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=120.0)
    args = ap.parse_args()
    count = [0]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            given = self.headers.get("X-Ftrack-Signature")
            if given is None:
                verdict = "missing"
            elif args.secret is None:
                verdict = "invalid"
            else:
                # t=<unix time>,v1=<hex HMAC-SHA256 of "<t>." + body>; a stale t is refused
                fields = dict(p.split("=", 1) for p in given.split(",") if "=" in p)
                t = fields.get("t", "")
                want = hmac.new(args.secret.encode(), t.encode() + b"." + body,
                                hashlib.sha256).hexdigest()
                fresh = t.isdigit() and abs(time.time() - int(t)) < 300
                verdict = ("valid" if fresh and hmac.compare_digest(want, fields.get("v1", ""))
                           else "invalid")
            with lock:
                count[0] += 1
                n = count[0]
                status = 500 if n <= args.fail_first else 200
                record = {
                    "n": n,
                    "path": self.path,
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                    "body": body.decode("utf-8", "replace"),
                    "signature": verdict,
                    "status": status,
                }
                with open(args.out, "a", encoding="utf-8") as f:
                    f.write(json.dumps(record) + "\n")
            reply = b"failing on purpose" if status == 500 else b"ok"
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, fmt, *a):  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tmp = args.port_file + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)  # readers never see a half-written port
    threading.Timer(args.lifetime, server.shutdown).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
