"""The delivery log (--delivery_log): one "received" JSON line per acknowledged message,
with queue id, Message-ID, sender, recipients, size and client, written only once the
message is durable; nothing for refused messages. SIGHUP reopens it (logrotate).
"""

import json
import os
import signal

import ternd_harness
from ternd_harness import QUEUED_RE, TerndTestCase, make_body, wait_for


class DeliveryLogTest(TerndTestCase):
    def test_one_received_line_per_acknowledged_message(self):
        d = self.start_ternd()
        acknowledged = {}
        with d.smtp() as c:
            self.assertEqual(c.cmd("EHLO client.example").code, 250)
            for i in range(20):
                body = make_body(f"log {i}", extra_headers=[f"Message-ID: <log-{i}@example.com>"])
                reply = c.send_message("sender@example.com",
                                       ["a@example.net", "b@example.net"], body)
                self.assertEqual(reply.code, 250, str(reply))
                acknowledged[QUEUED_RE.search(reply.text).group(1)] = f"<log-{i}@example.com>"
            # A refused message (bare LF) leaves no line.
            self.assertEqual(c.cmd("MAIL FROM:<sender@example.com>").code, 250)
            self.assertEqual(c.cmd("RCPT TO:<a@example.net>").code, 250)
            self.assertEqual(c.cmd("DATA").code, 354)
            c.send(b"Subject: bad\r\n\r\nbare\nLF\r\n.\r\n")
            self.assertEqual(c.read_reply().code, 554)
        d.stop()  # the log is flushed before ternd exits
        received = [e for e in d.delivery_events() if e["event"] == "received"]
        self.assertEqual(len(received), 20, received)
        by_id = {e["queue_id"]: e for e in received}
        self.assertEqual(set(by_id), set(acknowledged))
        for queue_id, message_id in acknowledged.items():
            e = by_id[queue_id]
            self.assertEqual(e["message_id"], message_id)
            self.assertEqual(e["sender"], "sender@example.com")
            self.assertEqual(e["recipients"], 2)
            self.assertEqual(e["client"], "127.0.0.1")
            self.assertGreater(e["size"], 0)
            self.assertRegex(e["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

    def test_sighup_reopens_the_log_after_rotation(self):
        d = self.start_ternd()

        def send(tag):
            with d.smtp() as c:
                self.assertEqual(c.cmd("EHLO client.example").code, 250)
                reply = c.send_message("s@example.com", ["a@example.net"], make_body(tag))
                self.assertEqual(reply.code, 250, str(reply))
                return QUEUED_RE.search(reply.text).group(1)

        def ids_in(path):
            if not os.path.exists(path):
                return set()
            with open(path) as f:
                return {json.loads(line)["queue_id"] for line in f if line.strip()}

        before = [send(f"before {i}") for i in range(4)]  # lands on both shards
        wait_for(lambda: ids_in(d.delivery_log) == set(before), 10, what="the first lines")
        rotated = d.delivery_log + ".1"
        os.rename(d.delivery_log, rotated)  # what logrotate does
        os.kill(d.proc.pid, signal.SIGHUP)
        wait_for(lambda: "delivery log" in d.log() and "reopened" in d.log(), 10,
                 what="the reopen logged")
        after = [send(f"after {i}") for i in range(4)]
        wait_for(lambda: ids_in(d.delivery_log) == set(after), 10,
                 what="the new lines in a new file")
        self.assertEqual(ids_in(rotated), set(before))
        self.assertTrue(d.running())

    def test_null_sender_is_logged_as_angle_brackets(self):
        d = self.start_ternd()
        with d.smtp() as c:
            self.assertEqual(c.cmd("EHLO client.example").code, 250)
            reply = c.send_message("", ["a@example.net"], make_body("bounce-like"))
            self.assertEqual(reply.code, 250, str(reply))
        d.stop()
        received = [e for e in d.delivery_events() if e["event"] == "received"]
        self.assertEqual(len(received), 1)
        self.assertEqual(received[0]["sender"], "<>")
        self.assertNotIn("message_id", received[0])

    def test_spool_gauges_are_exported(self):
        d = self.start_ternd()
        # Each shard opens its first segment on its own ring, possibly just after "ready":
        # wait (bounded) until both are counted.
        metrics = ternd_harness.wait_for(
            lambda: (lambda m: m if m.total("tern_spool_segments") >= 2 else None)(
                d.metrics()), 10, what="a segment per shard in tern_spool_segments")
        self.assertGreaterEqual(metrics.total("tern_spool_segments"), 2)  # one per shard
        self.assertGreater(metrics.total("tern_spool_disk_bytes"), 0)


if __name__ == "__main__":
    ternd_harness.main()
