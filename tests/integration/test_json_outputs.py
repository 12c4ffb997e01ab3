"""Every JSON output is valid (issue #15 §2): remote replies, Message-IDs and headers that
are not UTF-8, or that are cut to fit, still give strict JSON everywhere ternd writes JSON:
the delivery log, GET /queue, /message, /stats and /status.json on the admin endpoint, and
`ternctl queue --json` / `ternctl show ID --json` (which print what ternd sends).

A raw-socket SMTP sink (below; aiosmtpd cannot send bytes that are not UTF-8) answers the
end of data with `550 5.7.1 bad \\xfc\\xff byte` for one recipient (a bounce line) and with a
long multi-line 451 of two-byte characters for another (the message stays in the queue,
its reply cut at several sizes). Every output is decoded as strict UTF-8 and parsed with
json.loads; invalid bytes must read as their Latin-1 characters (core/json_writer.h), and
no cut may leave half a character behind.
"""

import json
import socket
import threading

import ternd_harness
from ternd_harness import QUEUED_RE, TerndTestCase, run_tool, scaled, wait_for

DOMAIN = "json.test"
# In the routed domain: the bounce's DSN goes to the sink too (which refuses it).
SENDER = f"sender@{DOMAIN}"
BOUNCE_REPLY = b"550 5.7.1 bad \xfc\xff byte\r\n"
# Two-byte characters at odd offsets: the delivery agent's cuts (200, 300 and 512 bytes)
# fall inside one unless made on a character boundary.
DEFER_REPLY = (b"451-4.7.1 x" + "\u00e9".encode() * 150 + b"\r\n"
               + b"451 4.7.1 try later \xfc\r\n")
BAD_MESSAGE_ID = b"<bad\xfc\xe2\x82@example.com>"
LONG_MESSAGE_ID = ("<" + "\u20ac" * 300 + "@example.com>").encode()


def latin1_reading(data):
    """What the JSON writer's output decodes to: valid UTF-8 unchanged, other bytes as
    their Latin-1 characters."""
    out = []
    i = 0
    while i < len(data):
        for n in (4, 3, 2, 1):
            try:
                out.append(data[i:i + n].decode("utf-8"))
                i += n
                break
            except UnicodeDecodeError:
                continue
        else:
            out.append(chr(data[i]))
            i += 1
    return "".join(out)


def strict_json(data, what):
    """json.loads of bytes that must be strict UTF-8."""
    text = data.decode("utf-8")  # raises on invalid UTF-8
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise AssertionError(f"{what}: not JSON ({e}): {text[:2000]!r}") from e


class RawSink:
    """A minimal SMTP server on loopback, one thread per connection, that answers the end of
    data with `reply_for(rcpt_lines)` (raw bytes)."""

    def __init__(self, reply_for):
        self.reply_for = reply_for
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.stopping = False
        self.lock = threading.Lock()
        self.connections = []
        self.transactions = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while not self.stopping:
            try:
                conn, _ = self.listener.accept()
            except (socket.timeout, OSError):
                continue
            with self.lock:
                self.connections.append(conn)
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn):
        try:
            conn.settimeout(scaled(60))
            f = conn.makefile("rb")
            conn.sendall(b"220 sink.test ESMTP\r\n")
            rcpts = []
            while True:
                line = f.readline(4096)
                if not line:
                    return
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    conn.sendall(b"250 sink.test\r\n")
                elif verb == b"MAIL":
                    rcpts = []
                    conn.sendall(b"250 2.1.0 ok\r\n")
                elif verb == b"RCPT":
                    rcpts.append(line)
                    conn.sendall(b"250 2.1.5 ok\r\n")
                elif verb == b"DATA":
                    conn.sendall(b"354 go on\r\n")
                    while True:
                        data = f.readline(65536)
                        if not data or data == b".\r\n":
                            break
                    reply = self.reply_for(rcpts)
                    with self.lock:
                        self.transactions.append(rcpts)
                    conn.sendall(reply)
                elif verb == b"QUIT":
                    conn.sendall(b"221 2.0.0 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 2.0.0 ok\r\n")
        except OSError:
            return
        finally:
            conn.close()

    def stop(self):
        self.stopping = True
        self.listener.close()
        with self.lock:
            for conn in self.connections:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.thread.join(timeout=10)


def reply_for(rcpts):
    return DEFER_REPLY if any(b"defer@" in r for r in rcpts) else BOUNCE_REPLY


class JsonOutputsTest(TerndTestCase):
    def delivery_lines(self, d):
        try:
            with open(d.delivery_log, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return []
        return [strict_json(line, "delivery log line") for line in data.split(b"\n") if line]

    def get_json(self, d, target):
        status, body = d.http_get(target)  # decodes as strict UTF-8
        self.assertEqual(status, 200, f"{target}: {body}")
        return strict_json(body.encode("utf-8"), target)

    def ternctl_json(self, d, *args):
        proc = run_tool([ternd_harness.TERNCTL, f"--admin={d.admin()}"] + list(args))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return strict_json(proc.stdout, "ternctl " + " ".join(args))

    def test_invalid_and_cut_utf8_gives_strict_json_everywhere(self):
        sink = RawSink(reply_for)
        self.addCleanup(sink.stop)
        d = self.start_ternd(f"--route={DOMAIN}=[127.0.0.1]:{sink.port}",
                             "--retry_schedule=1h", deliver=True)
        deferred_body = (b"Message-ID: " + BAD_MESSAGE_ID + b"\r\nSubject: caf\xe9 \xff\r\n"
                         b"From: a@example.com\r\n\r\nbody \xfc\r\n")
        bounced_body = (b"Message-ID: " + LONG_MESSAGE_ID + b"\r\nSubject: long id\r\n\r\nx\r\n")
        with d.smtp() as c:
            c.ehlo()
            reply = c.send_message(SENDER, [f"defer@{DOMAIN}"], deferred_body,
                                   mail_params="BODY=8BITMIME")
            self.assertEqual(reply.code, 250, str(reply))
            deferred_id = QUEUED_RE.search(reply.text).group(1)
            reply = c.send_message(SENDER, [f"bounce@{DOMAIN}"], bounced_body,
                                   mail_params="BODY=8BITMIME")
            self.assertEqual(reply.code, 250, str(reply))
            bounced_id = QUEUED_RE.search(reply.text).group(1)

        def events(kind, queue_id):
            return [e for e in self.delivery_lines(d)
                    if e["event"] == kind and e["queue_id"] == queue_id]

        wait_for(lambda: events("deferred", deferred_id) and events("bounced", bounced_id),
                 scaled(60), what="the deferral and the bounce in the delivery log")

        # The delivery log: every line strict JSON (delivery_lines), replies and
        # Message-IDs read as their bytes' Latin-1 reading.
        (bounce,) = events("bounced", bounced_id)
        self.assertEqual(bounce["reply"], "550 5.7.1 bad \u00fc\u00ff byte")
        self.assertEqual(bounce["message_id"], LONG_MESSAGE_ID.decode())
        (deferral,) = events("deferred", deferred_id)
        full_deferral = "451 4.7.1 x" + "\u00e9" * 150 + " try later \u00fc"
        self.assertEqual(deferral["reply"], full_deferral)
        self.assertEqual(deferral["message_id"], latin1_reading(BAD_MESSAGE_ID))
        (received,) = events("received", deferred_id)
        self.assertEqual(received["message_id"], "<bad\u00fc\u00e2\u0082@example.com>")

        def cut_cleanly(text, what):
            # A part of the whole reply (some outputs leave the codes out), cut between
            # characters: half of "é" (C3 A9) would read as "Ã" (its first byte's reading).
            self.assertIn(text, full_deferral, what)
            self.assertNotIn("\u00c3", text, what)
            self.assertGreater(len(text), 50, what)

        # /queue and ternctl queue --json: the deferred message is still queued.
        for listing in (self.get_json(d, "/queue?format=json"),
                        self.ternctl_json(d, "queue", "--json")):
            ids = [m["id"] for m in listing["messages"]]
            self.assertIn(deferred_id, ids)

        # /message and ternctl show --json: headers and the attempt's reply (cut to fit).
        for details in (self.get_json(d, f"/message?id={deferred_id}&format=json"),
                        self.ternctl_json(d, "show", deferred_id, "--json")):
            self.assertIn("Subject: caf\u00e9 \u00ff", details["headers"])
            self.assertIn("Message-ID: " + latin1_reading(BAD_MESSAGE_ID), details["headers"])
            self.assertTrue(details["attempts"], details)
            cut_cleanly(details["attempts"][-1]["reply"], "/message attempt reply")

        # /stats and /status.json: the destination's last error (cut to fit) and the recent
        # failures.
        stats = self.get_json(d, "/stats?format=json")
        errors = [x["last_error"] for x in stats["destinations"] if x["last_error"]]
        self.assertTrue(errors, stats)
        for text in errors:
            if text.startswith("451"):
                cut_cleanly(text, "/stats last_error")
            else:
                self.assertEqual(text, "550 5.7.1 bad \u00fc\u00ff byte")
        status = self.get_json(d, "/status.json")
        # Failures are grouped by reply pattern: the bounce and its DSN's (the sink refuses
        # both with the same 550) share one group.
        failures = {f["result"]: f for f in status["failures"]}
        self.assertEqual(failures["bounced"]["reply"], "550 5.7.1 bad \u00fc\u00ff byte")
        cut_cleanly(failures["deferred"]["reply"], "/status.json failures reply")
        self.assertNotIn("\u00c3", failures["deferred"]["pattern"], "pattern cut in a character")
        ternctl_stats = self.ternctl_json(d, "stats", "--json")
        self.assertIn("destinations", ternctl_stats)


if __name__ == "__main__":
    ternd_harness.main()
