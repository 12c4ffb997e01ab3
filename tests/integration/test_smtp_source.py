"""Postfix's smtp-source (20 parallel sessions, 10,000 messages of 4 KiB) against ternd: a
correctness test, not a benchmark. Every message is acknowledged, counted once in
tern_smtp_messages_total{result="accepted"} and present once in the queue."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternd_harness as h  # noqa: E402

SMTP_SOURCE = "/usr/sbin/smtp-source"
MESSAGES = 10000
SESSIONS = 20
MESSAGE_BYTES = 4096


class SmtpSourceTest(h.TerndTestCase):
    def setUp(self):
        if not os.access(SMTP_SOURCE, os.X_OK):
            self.skipTest("smtp-source is not installed (apt-get install postfix)")
        self.d = self.start_ternd()

    def test_ten_thousand_messages(self):
        proc = h.run_tool([SMTP_SOURCE, "-c", "-s", str(SESSIONS), "-m", str(MESSAGES),
                           "-l", str(MESSAGE_BYTES), "-f", "sender@example.com",
                           "-t", "rcpt@example.net", f"127.0.0.1:{self.d.smtp_port}"],
                          timeout_s=240)
        out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        self.assertEqual(proc.returncode, 0, out[-4000:])
        self.assertNotIn("error", out.lower(), out[-4000:])

        m = self.d.metrics()
        self.assertEqual(m.total("tern_smtp_messages_total", result="accepted"), MESSAGES)
        self.assertEqual(m.total("tern_smtp_messages_total", result="rejected"), 0)
        self.assertEqual({c: n for c, n in m.by_label("tern_smtp_rejects_total", "code").items()
                          if n}, {})
        self.assertGreaterEqual(m.total("tern_smtp_accepted_bytes_total"), MESSAGES * MESSAGE_BYTES)
        self.assertGreaterEqual(m.total("tern_smtp_connections_total"), SESSIONS)
        self.assertEqual(m.total("tern_queue_messages"), MESSAGES)
        # Both shards took connections only if the kernel spread them; not asserted.
        self.assertGreaterEqual(m.total("tern_spool_records_total", result="ok"), MESSAGES)
        self.assertGreaterEqual(m.total("tern_spool_fdatasyncs_total"), 1)

        queue = self.d.queue_json()
        self.assertEqual(queue["total"], MESSAGES)
        ids = [msg["id"] for msg in queue["messages"]]
        self.assertEqual(len(ids), MESSAGES)
        self.assertEqual(len(set(ids)), MESSAGES, "a queue id is listed twice")
        for msg in queue["messages"]:
            self.assertRegex(msg["id"], h.QUEUE_ID_RE)
            self.assertEqual(msg["sender"], "sender@example.com")
            self.assertEqual([r["address"] for r in msg["recipients"]], ["rcpt@example.net"])
            self.assertGreaterEqual(msg["size"], MESSAGE_BYTES)
        self.assertEqual(queue["bytes"], sum(msg["size"] for msg in queue["messages"]))

        # Everything survives a graceful restart.
        self.d.restart()
        self.assertEqual(self.d.queue_json(limit=0)["total"], MESSAGES)
        self.assertEqual(set(self.d.queue_by_id()), set(ids))


if __name__ == "__main__":
    h.main()
