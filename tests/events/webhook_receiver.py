#!/usr/bin/env python3
"""A webhook receiver for the events tests: records every POST and answers 200 (or 503).

Usage: webhook_receiver.py --record FILE [--port N] [--fail_percent P] [--tls_cert C --tls_key K]
Binds 127.0.0.1 (port 0: any), prints "PORT <n>" on stdout, then serves until SIGTERM.
Each POST appends one JSON line to FILE: {"status": S, "signature": "...", "body": "..."}.
fail_percent: that share of requests (chosen at random) gets 503 instead of 200.
"""
import argparse
import http.server
import json
import random
import signal
import ssl
import sys


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--record", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fail_percent", type=int, default=0)
    parser.add_argument("--tls_cert")
    parser.add_argument("--tls_key")
    args = parser.parse_args()
    record = open(args.record, "a", encoding="utf-8")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            status = 503 if random.randrange(100) < args.fail_percent else 200
            record.write(json.dumps({
                "status": status,
                "signature": self.headers.get("X-Tern-Signature"),
                "content_type": self.headers.get("Content-Type"),
                "body": body.decode("utf-8"),
            }) + "\n")
            record.flush()
            reply = b"ok\n" if status == 200 else b"try later\n"
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *unused):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    signal.signal(signal.SIGTERM, lambda *unused: sys.exit(0))
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
