"""No acknowledged message is lost: client threads send thousands of distinct messages
through ternd to a recording sink while ternd is killed with SIGKILL several times and
restarted on the same spool and port. At the end every message that got 250 is at the sink
with an identical body; duplicates (at-least-once delivery) are allowed and counted, losses
never. TERN_NO_LOSS_MESSAGES changes the number of messages (default 3000).
"""

import hashlib
import os
import smtplib
import socket
import sys
import threading
import time

import ternd_harness
from recording_sink import RecordingSink
from ternd_harness import scaled, wait_for

DOMAIN = "relay.test"
MESSAGES = int(os.environ.get("TERN_NO_LOSS_MESSAGES", "3000"))
CLIENTS = 4
KILLS = 3


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def message(n):
    text = f"message {n}\r\n" + ("x" * (n % 700)) + "\r\n.dot line\r\n"
    digest = hashlib.sha256(text.encode()).hexdigest()
    head = (f"From: a@{DOMAIN}\r\nTo: b@{DOMAIN}\r\nSubject: no-loss {n}\r\n"
            f"Message-ID: <no-loss-{n}@client.test>\r\nX-Checksum: {digest}\r\n\r\n")
    return f"<no-loss-{n}@client.test>", (head + text).encode()


class Sender(threading.Thread):
    """Sends its share of the messages, reconnecting while ternd is down; remembers which
    ones got 250 (acknowledged) and which got anything else."""

    def __init__(self, port, numbers, stop):
        super().__init__(daemon=True)
        self.port = port
        self.numbers = list(numbers)
        self.stop = stop
        self.acked = {}  # message-id -> body
        self.errors = 0

    def run(self):
        pending = list(self.numbers)
        client = None
        deadline = time.monotonic() + scaled(600)
        while pending and not self.stop.is_set() and time.monotonic() < deadline:
            try:
                if client is None:
                    client = smtplib.SMTP("127.0.0.1", self.port, timeout=scaled(30))
                    client.ehlo("no-loss.test")
                n = pending[0]
                mid, body = message(n)
                client.sendmail(f"a@{DOMAIN}", [f"b{n}@{DOMAIN}"], body)
                self.acked[mid] = body
                pending.pop(0)
            except (OSError, smtplib.SMTPException):
                # Killed mid-session (or refused while down): not acknowledged, send again.
                self.errors += 1
                try:
                    if client is not None:
                        client.close()
                except OSError:
                    pass
                client = None
                time.sleep(0.05)
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                pass
        self.left = pending


def start_senders(port, messages, stop):
    """CLIENTS senders sharing messages 0..messages-1 between them, started."""
    senders = [Sender(port, range(i, messages, CLIENTS), stop) for i in range(CLIENTS)]
    for s in senders:
        s.start()
    return senders


def acknowledged_by(senders):
    """{message-id: body} of every message the senders got 250 for."""
    acknowledged = {}
    for s in senders:
        acknowledged.update(s.acked)
    return acknowledged


class NoLossTest(ternd_harness.TerndTestCase):
    def test_kill9_under_load_loses_nothing(self):
        sink = RecordingSink().start()
        self.addCleanup(sink.stop)
        port = free_port()
        d = self.start_ternd(f"--route={DOMAIN}=[127.0.0.1]:{sink.port}", "--retry_schedule=1s",
                             listen=(f"127.0.0.1:{port}",), deliver=True)
        stop = threading.Event()
        senders = start_senders(port, MESSAGES, stop)

        def acked():
            return sum(len(s.acked) for s in senders)

        try:
            for k in range(1, KILLS + 1):
                wait_for(lambda: acked() >= MESSAGES * k // (KILLS + 1), 300,
                         what=f"{MESSAGES * k // (KILLS + 1)} acknowledged messages")
                d.kill9()
                d.start()
        finally:
            for s in senders:
                s.join(timeout=scaled(600))
            stop.set()
        for s in senders:
            self.assertFalse(s.is_alive(), "a sender did not finish")
            self.assertEqual(s.left, [], "a sender could not send everything")
        acknowledged = acknowledged_by(senders)
        self.assertEqual(len(acknowledged), MESSAGES)

        def arrived():
            got = {}
            for m in sink.messages():
                mid = m.header("Message-ID")
                got.setdefault(str(mid), []).append(m)
            return got

        wait_for(lambda: len(arrived()) >= len(acknowledged), 300,
                 what="every acknowledged message at the sink")
        got = arrived()
        lost = [mid for mid in acknowledged if mid not in got]
        corrupt = [mid for mid, body in acknowledged.items()
                   if mid in got and not all(m.body.endswith(body) for m in got[mid])]
        duplicates = sum(len(v) - 1 for v in got.values())
        sys.stderr.write(f"\nno-loss: acknowledged={len(acknowledged)} delivered={len(got)} "
                         f"duplicates={duplicates} lost={len(lost)} corrupt={len(corrupt)} "
                         f"client errors={sum(s.errors for s in senders)} kills={KILLS}\n")
        self.assertEqual(lost, [], "acknowledged messages never reached the sink")
        self.assertEqual(corrupt, [], "messages changed in transit")
        wait_for(lambda: d.metrics().total("tern_queue_messages") == 0, 120,
                 what="an empty queue")


if __name__ == "__main__":
    ternd_harness.main()
