"""The admin endpoint and ternctl: /metrics is valid Prometheus text whose counters move
with the mail sent; /queue?format=text, ternctl metrics and ternctl's errors."""

import json
import os
import re
import smtplib
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternd_harness as h  # noqa: E402

TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
# Families of the whole process, without a shard label.
# Families of the whole process, without a shard label (the shaping state is shared by all
# shards).
PROCESS_WIDE = ("process_", "tern_build_info", "tern_log_lines_dropped_total", "tern_shaping_",
                "tern_site_delayed", "tern_suppression_entries", "tern_events_", "tern_webhook_")


class MetricsTest(h.TerndTestCase):
    def setUp(self):
        self.d = self.start_ternd("--max_message_size=100000")

    def family_of(self, name, types):
        if name in types:
            return name
        for suffix in HISTOGRAM_SUFFIXES:
            base = name[: -len(suffix)]
            if name.endswith(suffix) and types.get(base) in ("histogram", "summary"):
                return base
        return None

    def assert_valid_exposition(self, text):
        """Checks the Prometheus text format (version 0.0.4) line by line."""
        self.assertTrue(text.endswith("\n"), "exposition must end with a newline")
        m = h.Metrics(text)  # raises on a malformed sample line
        helps, types, seen_samples, families_done = {}, {}, set(), []
        current = None
        for line in text.split("\n")[:-1]:
            self.assertNotEqual(line, "", "empty line in the exposition")
            if line.startswith("# HELP "):
                name = line.split(" ", 3)[2]
                self.assertNotIn(name, helps, f"HELP twice for {name}")
                self.assertRegex(name, r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
                helps[name] = True
                continue
            if line.startswith("# TYPE "):
                parts = line.split(" ")
                self.assertEqual(len(parts), 4, line)
                name, kind = parts[2], parts[3]
                self.assertIn(kind, TYPES, line)
                self.assertNotIn(name, types, f"TYPE twice for {name}")
                self.assertIn(name, helps, f"TYPE before HELP for {name}")
                types[name] = kind
                continue
            self.assertFalse(line.startswith("#"), f"unknown comment line {line!r}")
            name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
            family = self.family_of(name, types)
            self.assertIsNotNone(family, f"sample {line!r} has no TYPE before it")
            self.assertIn(family, helps, f"sample {line!r} has no HELP")
            if family != current:
                # A family's samples are contiguous (the text format requires it).
                self.assertNotIn(family, families_done, f"{family} split in two groups")
                if current:
                    families_done.append(current)
                current = family
            key = line.rsplit(" ", 1)[0]
            self.assertNotIn(key, seen_samples, f"sample listed twice: {key}")
            seen_samples.add(key)
        for name, labels, value in m.samples:
            family = self.family_of(name, types)
            if types[family] == "counter":
                self.assertTrue(name.endswith("_total"), f"counter {name} without _total")
                self.assertGreaterEqual(value, 0, name)
            else:
                self.assertFalse(name.endswith("_total"), f"{types[family]} {name} with _total")
            if not name.startswith(PROCESS_WIDE):  # one process, not per shard
                self.assertIn("shard", labels, f"{name} without a shard label")
        for family, kind in types.items():
            if kind == "histogram":
                self.assert_valid_histogram(m, family)
        return m

    def assert_valid_histogram(self, m, family):
        for shard in m.by_label(family + "_count", "shard"):
            buckets = [(l["le"], v) for n, l, v in m.samples
                       if n == family + "_bucket" and l.get("shard") == shard]
            self.assertTrue(buckets, family)
            self.assertEqual(buckets[-1][0], "+Inf", f"{family}: last bucket is not +Inf")
            bounds = [float(le) for le, _ in buckets]
            self.assertEqual(bounds, sorted(bounds), f"{family}: buckets out of order")
            counts = [v for _, v in buckets]
            self.assertEqual(counts, sorted(counts), f"{family}: buckets not cumulative")
            self.assertEqual(counts[-1], m.total(family + "_count", shard=shard), family)

    def send_messages(self, n):
        bodies = []
        s = smtplib.SMTP("127.0.0.1", self.d.smtp_port, local_hostname="metrics.example",
                         timeout=h.scaled(h.IO_TIMEOUT_S))
        try:
            for i in range(n):
                body = h.make_body(f"metrics {i}", text="x" * (100 * (i + 1)))
                s.sendmail("m@example.com", ["a@example.net", "b@example.net"], body)
                bodies.append(body)
            s.quit()
        finally:
            s.close()
        return bodies

    def test_metrics_are_valid_prometheus_text(self):
        status, text = self.d.http_get("/metrics")
        self.assertEqual(status, 200)
        m = self.assert_valid_exposition(text)
        for name in ("tern_smtp_connections_total", "tern_smtp_open_connections",
                     "tern_smtp_commands_total", "tern_smtp_messages_total",
                     "tern_smtp_accepted_bytes_total", "tern_queue_messages", "tern_queue_bytes",
                     "tern_spool_records_total",
                     "tern_spool_fdatasyncs_total"):
            self.assertIn(name, m.names())
            self.assertEqual(set(m.by_label(name, "shard")), {"0", "1"}, name)
        self.assertEqual(m.total("tern_smtp_messages_total", result="accepted"), 0)
        self.assertEqual(m.total("tern_queue_messages"), 0)
        self.assertIn("tern_smtp_rejects_total", m.types)

    def test_counters_move_with_mail(self):
        before = self.d.metrics()
        bodies = self.send_messages(3)
        with self.d.smtp() as c:
            c.ehlo()
            self.assertReply(c.cmd("RCPT TO:<x@example.net>"), 503, "5.5.1")
            self.assertReply(c.cmd("RCPT TO:<y@example.net>"), 503, "5.5.1")
            self.assertReply(c.cmd("BOGUS"), 500, "5.5.1")
            self.assertReply(c.cmd("MAIL FROM:<big@example.com> SIZE=200000"), 552, "5.3.4")
            # A body over the size limit: read, then refused (a rejected message).
            self.assertReply(c.cmd("MAIL FROM:<big@example.com>"), 250)
            self.assertReply(c.cmd("RCPT TO:<x@example.net>"), 250)
            self.assertReply(c.cmd("DATA"), 354)
            c.send(b"Subject: big\r\n\r\n" + (b"y" * 998 + b"\r\n") * 120 + b".\r\n")
            self.assertReply(c.read_reply(), 552, "5.3.4")
            open_now = self.d.metrics().total("tern_smtp_open_connections")
            self.assertGreaterEqual(open_now, 1)
            self.assertReply(c.cmd("QUIT"), 221)
        after = self.assert_valid_exposition(self.d.http_get("/metrics")[1])

        def delta(name, **labels):
            return after.total(name, **labels) - before.total(name, **labels)

        self.assertEqual(delta("tern_smtp_messages_total", result="accepted"), 3)
        self.assertGreaterEqual(delta("tern_smtp_accepted_bytes_total"), sum(map(len, bodies)))
        self.assertGreaterEqual(delta("tern_smtp_connections_total"), 2)
        self.assertGreaterEqual(delta("tern_smtp_commands_total"), 3 * 4 + 6)
        self.assertEqual(delta("tern_smtp_messages_total", result="rejected"), 1)
        self.assertEqual(delta("tern_smtp_rejects_total", code=503), 2)
        self.assertEqual(delta("tern_smtp_rejects_total", code=500), 1)
        self.assertEqual(delta("tern_smtp_rejects_total", code=552), 2)
        self.assertEqual(after.total("tern_queue_messages"), 3)
        queue = self.d.queue_json()
        self.assertEqual(after.total("tern_queue_bytes"), queue["bytes"])
        self.assertGreaterEqual(delta("tern_spool_records_total", result="ok"), 3)
        self.assertGreaterEqual(delta("tern_spool_fdatasyncs_total"), 1)
        self.assertGreaterEqual(delta("tern_spool_commits_total", result="ok"), 1)
        self.assertGreaterEqual(delta("tern_spool_commit_duration_seconds_count"), 1)
        self.assertGreaterEqual(delta("tern_spool_record_wait_seconds_count"), 3)
        self.assertGreater(delta("tern_spool_record_wait_seconds_sum"), 0)
        self.assertEqual(after.total("tern_spool_commits_total", result="failed"), 0)
        self.assertEqual(delta("tern_smtp_accept_duration_seconds_count"), 3)
        self.assertGreater(delta("tern_smtp_accept_duration_seconds_sum"), 0)
        self.assertEqual(after.total("tern_queue_messages", state="waiting"), 3)
        self.assertEqual(after.total("tern_queue_messages", state="held"), 0)
        h.wait_for(lambda: self.d.metrics().total("tern_smtp_open_connections") == 0,
                   timeout_s=30, what="tern_smtp_open_connections back to 0")

    def test_queue_text_and_ternctl_metrics(self):
        self.send_messages(2)
        ids = sorted(self.d.queue_by_id())
        self.assertEqual(len(ids), 2)
        status, text = self.d.http_get("/queue?format=text")
        self.assertEqual(status, 200)
        self.assertTrue(text.startswith("QUEUE ID"), text)
        for qid in ids:
            self.assertIn(qid, text)
        self.assertIn("m@example.com", text)
        self.assertIn("a@example.net", text)
        self.assertIn("-- 2 messages", text)
        status, text = self.d.http_get("/queue?format=text&limit=1")
        self.assertEqual(status, 200)
        self.assertEqual(sum(qid in text for qid in ids), 1, text)
        self.assertIn("-- 2 messages", text)
        status, body = self.d.http_get("/queue?limit=1")
        self.assertEqual(status, 200)
        self.assertEqual(len(json.loads(body)["messages"]), 1)
        self.assertEqual(self.d.http_get("/queue?limit=abc")[0], 400)
        self.assertEqual(self.d.http_get("/nonexistent")[0], 404)
        self.assertEqual(self.d.http_get("/healthz"), (200, "ok\n"))

        proc = self.d.ternctl("metrics")
        m = self.assert_valid_exposition(proc.stdout)
        self.assertEqual(m.total("tern_smtp_messages_total", result="accepted"), 2)
        self.assertEqual(self.d.ternctl("queue", "--json", "--limit=1").stdout.count('"id"'), 1)

    def test_queue_json_escapes_the_envelope(self):
        # Quoted local parts with '"', '\' and spaces, an address literal, UTF-8: the JSON
        # stays valid. The queue may show an address quoted as received or in its internal
        # (unquoted, as Postfix keeps it) form.
        senders = {
            r'"a\"b"@example.com': 'a"b@example.com',
            r'"back\\slash"@example.com': "back\\slash@example.com",
            '"with space"@example.com': "with space@example.com",
            "lit@[127.0.0.1]": "lit@[127.0.0.1]",
            "j\u00f6rg@example.com": "j\u00f6rg@example.com",
        }
        sent = {}
        with self.d.smtp() as c:
            c.ehlo()
            for quoted, internal in senders.items():
                params = "SMTPUTF8" if not quoted.isascii() else ""
                reply = c.send_message(quoted, ['"r\\"cpt"@example.net'],
                                       h.make_body("escapes"), mail_params=params)
                sent[self.assertQueued(reply)] = (quoted, internal)
        queue = self.d.queue_by_id()  # json.loads of ternctl's output
        for qid, (quoted, internal) in sent.items():
            self.assertIn(queue[qid]["sender"], (quoted, internal))
            self.assertIn(queue[qid]["recipients"][0]["address"],
                          ('"r\\"cpt"@example.net', 'r"cpt@example.net'))
        text = self.d.ternctl("queue").stdout
        for qid in sent:
            self.assertIn(qid, text)

    def test_ternctl_errors(self):
        sock, port = h.free_closed_port()
        try:
            proc = h.run_tool([h.TERNCTL, f"--admin=127.0.0.1:{port}", "queue"])
            self.assertNotEqual(proc.returncode, 0)
            err = proc.stderr.decode("utf-8", "replace")
            self.assertIn(f"127.0.0.1:{port}", err)
            self.assertIn("cannot reach ternd", err)
            self.assertEqual(proc.stdout, b"")
            proc = h.run_tool([h.TERNCTL, f"--admin=127.0.0.1:{port}", "metrics"])
            self.assertNotEqual(proc.returncode, 0)
        finally:
            sock.close()
        proc = h.run_tool([h.TERNCTL, f"--admin={self.d.admin()}", "frobnicate"])
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(b"frobnicate", proc.stderr)
        proc = h.run_tool([h.TERNCTL, f"--admin={self.d.admin()}"])
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(b"usage", proc.stderr.lower())
        proc = h.run_tool([h.TERNCTL, "--admin=not-an-address", "queue"])
        self.assertNotEqual(proc.returncode, 0)
        self.assertNotEqual(proc.stderr, b"")


if __name__ == "__main__":
    h.main()
