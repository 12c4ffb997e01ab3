"""A webhook receiver for the integration tests: Python's http.server on loopback (HTTP/1.1
keep-alive, optionally TLS), taking ternd's POSTed JSON arrays of events. It verifies each
POST's X-Tern-Signature (sha256=HEX, HMAC-SHA256 of the body) and keeps the events of the
POSTs it acknowledged (2xx). It can misbehave as a real receiver does: fail a share of the
POSTs with 500 (decided by a seeded random generator), or be down (its port closed, its open
connections cut) until brought back on the same port.

    receiver = WebhookReceiver(secret=b"s3cret", fail_rate=0.2).start()
    ... --webhook=http://127.0.0.1:{receiver.port}/hook ...
    receiver.go_down(); ...; receiver.come_back()
    receiver.events()       # every acknowledged event (dicts), duplicates included
    receiver.stop()

As a program (the C++ events tests run it: tests/events/webhook_sender_test.cc):

    webhook_receiver.py --record FILE [--port N] [--fail_percent P] [--tls_cert C --tls_key K]

binds 127.0.0.1 (port 0: any), prints "PORT <n>", serves until SIGTERM, and appends one JSON
line per POST to FILE: {"status": S, "signature": "...", "content_type": "...", "body": "..."}
(signatures are the test's to verify; P% of the POSTs, at random, get 500).
"""

import argparse
import hashlib
import hmac
import http.server
import json
import random
import signal
import socket
import ssl
import sys
import threading


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as ternd's sender uses it

    def setup(self):
        super().setup()
        self.server.receiver._opened(self.connection)

    def finish(self):
        self.server.receiver._closed(self.connection)
        super().finish()

    def log_message(self, format, *args):  # quiet: the tests print what they need
        pass

    def _answer(self, status, text=b""):
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(text)))
        self.end_headers()
        self.wfile.write(text)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        status = self.server.receiver._take(self.path, self.headers, body)
        self._answer(status)


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class WebhookReceiver:
    def __init__(self, secret=None, fail_rate=0.0, seed=7, tls=None, port=0, on_post=None):
        """secret: bytes the signatures must verify with (None: no check); tls: (cert, key);
        on_post(status, headers, body) hears every POST and its answer."""
        self.secret = secret
        self.fail_rate = fail_rate
        self.random = random.Random(seed)
        self.tls = tls
        self.port = port
        self.on_post = on_post
        self.lock = threading.Lock()
        self._events = []
        self.posts = 0  # POSTs answered 2xx
        self.failed = 0  # POSTs answered 500 on purpose
        self.bad_signatures = 0
        self.bad_bodies = 0
        self.paths = set()
        self.connections = set()
        self.server = None
        self.thread = None

    def start(self):
        self.server = _Server(("127.0.0.1", self.port), _Handler)
        self.server.receiver = self
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def go_down(self):
        """Closes the port and cuts every open connection: connects are refused."""
        server, self.server = self.server, None
        server.shutdown()
        server.server_close()
        self.thread.join(timeout=10)
        with self.lock:
            for connection in list(self.connections):
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def come_back(self):
        """Serves again on the same port."""
        return self.start()

    def stop(self):
        if self.server is not None:
            self.go_down()

    def events(self):
        with self.lock:
            return list(self._events)

    def _opened(self, connection):
        with self.lock:
            self.connections.add(connection)

    def _closed(self, connection):
        with self.lock:
            self.connections.discard(connection)

    def _take(self, path, headers, body):
        status = self._decide(path, headers, body)
        if self.on_post is not None:
            self.on_post(status, headers, body)
        return status

    def _decide(self, path, headers, body):
        with self.lock:
            self.paths.add(path)
            if self.secret is not None:
                expected = "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest()
                if not hmac.compare_digest(headers.get("X-Tern-Signature", ""), expected):
                    self.bad_signatures += 1
                    return 401
            if self.random.random() < self.fail_rate:
                self.failed += 1
                return 500
            try:
                batch = json.loads(body)
            except ValueError:
                self.bad_bodies += 1
                return 400
            if not isinstance(batch, list) or headers.get("Content-Type") != "application/json":
                self.bad_bodies += 1
                return 400
            self._events.extend(batch)
            self.posts += 1
            return 200


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--record", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fail_percent", type=int, default=0)
    parser.add_argument("--tls_cert")
    parser.add_argument("--tls_key")
    args = parser.parse_args()
    record = open(args.record, "a", encoding="utf-8")
    lock = threading.Lock()

    def on_post(status, headers, body):
        line = json.dumps({"status": status, "signature": headers.get("X-Tern-Signature"),
                           "content_type": headers.get("Content-Type"),
                           "body": body.decode("utf-8")})
        with lock:
            record.write(line + "\n")
            record.flush()

    tls = (args.tls_cert, args.tls_key) if args.tls_cert else None
    receiver = WebhookReceiver(fail_rate=args.fail_percent / 100, seed=None, tls=tls,
                               port=args.port, on_post=on_post).start()
    signal.signal(signal.SIGTERM, lambda *unused: sys.exit(0))
    print(f"PORT {receiver.port}", flush=True)
    receiver.thread.join()


if __name__ == "__main__":
    main()
