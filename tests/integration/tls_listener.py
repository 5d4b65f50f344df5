#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""A TLS listener for the refusal tests: serves CERT/KEY on 127.0.0.1:PORT and records, one
line per connection in LOG, whether the client opened with a TLS handshake ("tls") or with
anything else ("plain <first bytes>"), so a test can assert that no client fell back to
plain text. The client's verdict on the certificate is its own; the handshake's outcome
here is recorded too: "tls refused: <reason>", "tls closed" (handshake done, then the
client hung up without a request) or "tls request <bytes>" (the client trusted it).

usage: tls_listener.py PORT CERT KEY LOG"""
import socket
import ssl
import sys


def main():
    port, cert, key, log_path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(16)
    with open(log_path, "a", buffering=1) as log:
        while True:
            conn, _ = srv.accept()
            conn.settimeout(5)
            try:
                first = conn.recv(8, socket.MSG_PEEK)
                if not first:
                    log.write("empty\n")
                elif first[0] != 0x16:  # not a TLS handshake record
                    log.write("plain %r\n" % first)
                else:
                    try:
                        tls = ctx.wrap_socket(conn, server_side=True)
                        # A client that checks the name after the handshake hangs up here;
                        # one that sends a request would have trusted the certificate.
                        try:
                            data = tls.recv(64)
                        except (ssl.SSLError, OSError):
                            data = b""
                        log.write("tls request %r\n" % data[:16] if data else "tls closed\n")
                        tls.close()
                        continue
                    except (ssl.SSLError, OSError) as e:
                        log.write("tls refused: %s\n" % e)
            except OSError as e:
                log.write("error %s\n" % e)
            conn.close()


if __name__ == "__main__":
    main()
