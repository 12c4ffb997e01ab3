"""swaks against a real ternd: plain, pipelined and multi-recipient messages are accepted
with 250, and ternctl lists them (JSON and text) with their envelope."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternd_harness as h  # noqa: E402

SWAKS = "/usr/bin/swaks"


class SwaksTest(h.TerndTestCase):
    def setUp(self):
        if not os.access(SWAKS, os.X_OK):
            self.skipTest("swaks is not installed (apt-get install swaks)")
        self.d = self.start_ternd()

    def swaks(self, *args):
        """Runs swaks; returns (exit code, transcript, queue id from the 250 after DATA)."""
        cmd = [SWAKS, "--server", "127.0.0.1", "--port", str(self.d.smtp_port),
               "--helo", "client.example", "--timeout", "30"] + list(args)
        proc = h.run_tool(cmd)
        out = proc.stdout.decode("utf-8", "replace") + proc.stderr.decode("utf-8", "replace")
        m = h.QUEUED_RE.search(out)
        return proc.returncode, out, (m.group(1) if m else None)

    def assert_listed(self, qid, sender, recipients):
        queue = self.d.queue_by_id()
        self.assertIn(qid, queue)
        m = queue[qid]
        self.assertEqual(m["sender"], sender)
        self.assertEqual([r["address"] for r in m["recipients"]], recipients)
        self.assertTrue(all(r["state"] == "pending" for r in m["recipients"]), m)
        self.assertIn(m["shard"], (0, 1))
        self.assertGreater(m["size"], 0)
        self.assertGreaterEqual(m["age_seconds"], 0)
        self.assertRegex(m["received"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        return m

    def test_plain_message_is_queued_and_listed(self):
        rc, out, qid = self.swaks("--from", "a@example.com", "--to", "b@example.net",
                                  "--body", "Hello from swaks")
        self.assertEqual(rc, 0, out)
        self.assertIsNotNone(qid, out)
        self.assertIn("<-  250 2.0.0 Ok: queued as " + qid, out)
        m = self.assert_listed(qid, "a@example.com", ["b@example.net"])
        self.assertGreaterEqual(m["size"], len("Hello from swaks"))
        queue = self.d.queue_json()
        self.assertEqual(queue["total"], 1)
        self.assertEqual(queue["bytes"], m["size"])

        text = self.d.ternctl("queue").stdout
        self.assertIn(qid, text)
        self.assertIn("a@example.com", text)
        self.assertIn("b@example.net", text)
        self.assertIn("1 messages", text)

    def test_pipelined_message_is_queued(self):
        rc, out, qid = self.swaks("--pipeline", "--from", "pipe@example.com", "--to",
                                  "dest@example.net", "--body", "pipelined body")
        self.assertEqual(rc, 0, out)
        self.assertIsNotNone(qid, out)
        self.assert_listed(qid, "pipe@example.com", ["dest@example.net"])
        self.assertIn(qid, self.d.ternctl("queue").stdout)

    def test_multi_recipient_message_is_queued_once(self):
        rc, out, qid = self.swaks("--from", "multi@example.com", "--to",
                                  "x@a.example,y@b.example,z@c.example", "--body", "to three")
        self.assertEqual(rc, 0, out)
        self.assertIsNotNone(qid, out)
        self.assertEqual(out.count("queued as"), 1, out)
        self.assert_listed(qid, "multi@example.com", ["x@a.example", "y@b.example", "z@c.example"])
        self.assertEqual(self.d.queue_json()["total"], 1)

    def test_several_swaks_runs_accumulate(self):
        ids = []
        for i in range(3):
            rc, out, qid = self.swaks("--pipeline", "--from", f"s{i}@example.com", "--to",
                                      f"r{i}@example.net", "--body", f"message {i}")
            self.assertEqual(rc, 0, out)
            self.assertIsNotNone(qid, out)
            ids.append(qid)
        self.assertEqual(len(set(ids)), 3, ids)
        queue = self.d.queue_by_id()
        self.assertEqual(set(queue), set(ids))
        text = self.d.ternctl("queue").stdout
        for qid in ids:
            self.assertIn(qid, text)


if __name__ == "__main__":
    h.main()
