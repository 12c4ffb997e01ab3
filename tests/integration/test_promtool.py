"""Prometheus' own linter on a live ternd: `promtool check metrics` (Debian's `prometheus`
package) passes, with nothing to complain about, on the first scrape and on one taken after
ternd relayed, deferred and bounced mail; the result-labelled series exist with 0 before
any mail; histogram sums and bucket bounds are exact decimals; the process_* set is there."""

import os
import re
import shutil
import smtplib
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternd_harness as h
from recording_sink import RecordingSink  # noqa: E402
from webhook_receiver import WebhookReceiver  # noqa: E402

PROMTOOL = shutil.which("promtool")
DOMAIN = "relay.test"
SHARDS = ("0", "1")
# Every value of every result-like label, per shard, from the first scrape.
SERIES_FROM_START = [
    ("tern_smtp_messages_total", "result", ("accepted", "rejected")),
    ("tern_delivery_recipients_total", "result",
     ("delivered", "deleted", "returned", "suppressed")),
    ("tern_delivery_connections_total", "result", ("opened", "reused", "failed")),
    ("tern_delivery_messages", "state", ("active", "waiting_retry")),
    ("tern_queue_messages", "state", ("held", "active", "waiting")),
    ("tern_dns_lookup_failures_total", "reason", ("nxdomain", "unavailable")),
    ("tern_smtp_rejects_total", "code", ("421", "451", "452", "500", "503", "550", "554")),
]
# Failures carry their bounce class (delivery/bounce_class.h), every class from the start.
FAILED_RESULTS = ("deferred", "bounced", "expired")
BOUNCE_CLASSES = ("bad-mailbox", "inactive-mailbox", "bad-domain", "quota-issues",
                  "policy-related", "spam-related", "content-related", "routing-errors",
                  "no-answer-from-host", "relaying-issues", "protocol-errors", "message-expired",
                  "bad-configuration", "other")
SPOOL_RESULTS = ("tern_spool_records_total", "tern_spool_commits_total",
                 "tern_spool_message_reads_total")
PROCESS_FAMILIES = ("process_cpu_seconds_total", "process_resident_memory_bytes",
                    "process_virtual_memory_bytes", "process_open_fds", "process_max_fds",
                    "process_start_time_seconds")


def samples(text, name):
    """[(labels dict, raw value text)] of `name`, the value as ternd printed it."""
    out = []
    for line in text.split("\n"):
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$", line)
        if m and m.group(1) == name:
            out.append((h.parse_labels((m.group(2) or "{}")[1:-1]), m.group(3)))
    return out


class PromtoolTest(h.TerndTestCase):
    def setUp(self):
        if PROMTOOL is None:
            self.skipTest("promtool not installed (Debian package prometheus)")

    def assert_promtool_clean(self, text):
        proc = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(),
                              capture_output=True, timeout=h.scaled(60))
        said = (proc.stdout + proc.stderr).decode(errors="replace")
        self.assertEqual(proc.returncode, 0, f"promtool check metrics failed:\n{said}")
        self.assertEqual(said.strip(), "", f"promtool complained:\n{said}")

    def test_first_scrape_has_every_series_at_zero(self):
        d = self.start_ternd()
        status, text = d.http_get("/metrics")
        self.assertEqual(status, 200)
        self.assert_promtool_clean(text)
        m = h.Metrics(text)
        for name, label, values in SERIES_FROM_START:
            for shard in SHARDS:
                for value in values:
                    found = [v for labels, v in samples(text, name)
                             if labels.get("shard") == shard and labels.get(label) == value]
                    self.assertEqual(found, ["0"], f"{name}{{shard={shard},{label}={value}}}")
        for shard in SHARDS:
            for result in FAILED_RESULTS:
                found = sorted(labels["class"] for labels, v in
                               samples(text, "tern_delivery_recipients_total")
                               if labels.get("shard") == shard and labels.get("result") == result
                               and v == "0")
                self.assertEqual(found, sorted(BOUNCE_CLASSES), f"{shard} {result}")
        for shard in SHARDS:
            for direction in ("inbound", "outbound"):
                for result in ("ok", "failed"):
                    found = [v for labels, v in samples(text, "tern_tls_handshakes_total")
                             if labels == {"shard": shard, "direction": direction,
                                           "result": result}]
                    self.assertEqual(found, ["0"], f"tls {shard} {direction} {result}")
            for name in SPOOL_RESULTS:
                self.assertEqual(
                    {l["result"] for l, _ in samples(text, name) if l["shard"] == shard},
                    {"ok", "failed"}, name)
            for family in ("tern_smtp_accept_duration_seconds", "tern_delivery_delay_seconds"):
                self.assertEqual(m.total(family + "_count", shard=shard), 0, family)
        # One process: the process_* families carry no labels.
        for name in PROCESS_FAMILIES:
            found = samples(text, name)
            self.assertEqual(len(found), 1, name)
            self.assertEqual(found[0][0], {}, name)
        self.assertGreater(m.total("process_resident_memory_bytes"), 1 << 20)
        self.assertGreaterEqual(m.total("process_virtual_memory_bytes"),
                                m.total("process_resident_memory_bytes"))
        self.assertGreater(m.total("process_open_fds"), 3)
        self.assertGreaterEqual(m.total("process_max_fds"), m.total("process_open_fds"))
        started = m.total("process_start_time_seconds")
        self.assertLess(abs(started - time.time()), 3600, "process_start_time_seconds")
        self.assertGreaterEqual(m.total("process_cpu_seconds_total"), 0)

    def test_scrape_after_relaying_passes_promtool(self):
        sink = RecordingSink().start()
        self.addCleanup(sink.stop)
        sink.reply_to_rcpt("550 5.1.1 no such user", recipients=[f"nobody@{DOMAIN}"])
        sink.reply_to_rcpt("452 4.2.2 mailbox full", recipients=[f"full@{DOMAIN}"])
        receiver = WebhookReceiver().start()  # the tern_events_* and tern_webhook_* families
        self.addCleanup(receiver.stop)
        d = self.start_ternd(f"--route={DOMAIN}=[127.0.0.1]:{sink.port}", "--retry_schedule=1h",
                             f"--webhook=http://127.0.0.1:{receiver.port}/hook", deliver=True)
        with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=h.scaled(30)) as s:
            s.sendmail(f"sender@{DOMAIN}", [f"ok@{DOMAIN}", f"nobody@{DOMAIN}",
                                            f"full@{DOMAIN}"], h.make_body("promtool"))
        with d.smtp() as c:
            c.ehlo()
            self.assertReply(c.cmd("BOGUS"), 500, "5.5.1")
            self.assertReply(c.cmd("QUIT"), 221)

        def settled():
            # ok@ and the bounce to sender@ delivered, nobody@ bounced, full@ deferred (its
            # message waits an hour): nothing more happens, the counters stand still.
            m = d.metrics()
            return (m.total("tern_delivery_recipients_total", result="delivered") >= 2
                    and m.total("tern_delivery_recipients_total", result="bounced") >= 1
                    and m.total("tern_delivery_recipients_total", result="deferred") >= 1
                    and m.total("tern_queue_messages") == 1)
        h.wait_for(settled, 60, interval_s=0.2, what="delivered, bounced and deferred recipients")
        text = d.http_get("/metrics")[1]
        self.assert_promtool_clean(text)
        m = h.Metrics(text)
        self.assertEqual(m.total("tern_smtp_messages_total", result="accepted"), 1)
        self.assertEqual(m.total("tern_smtp_rejects_total", code="500"), 1)
        self.assertEqual(m.total("tern_queue_messages", state="waiting"), 1)  # full@, for 1h
        self.assertGreaterEqual(m.total("tern_events_journaled_total"), 7)  # 4 received, 3 results
        # Exact sums: seconds with all 6 (micros) or 3 (millis) decimals, never %g's 6 digits.
        for family, decimals in (("tern_smtp_accept_duration_seconds", 6),
                                 ("tern_spool_commit_duration_seconds", 6),
                                 ("tern_spool_record_wait_seconds", 6),
                                 ("tern_delivery_delay_seconds", 3)):
            sums = samples(text, family + "_sum")
            self.assertEqual(len(sums), len(SHARDS), family)
            for _, value in sums:
                self.assertRegex(value, rf"^\d+\.\d{{{decimals}}}$", family)
            self.assertGreater(sum(float(v) for _, v in sums), 0, family)
        # records per commit: its sum is the records made durable, exactly.
        self.assertEqual(m.total("tern_spool_records_per_commit_sum"),
                         m.total("tern_spool_records_total", result="ok"))
        # Bucket bounds exact: 64 us doubling.
        bounds = [l["le"] for l, _ in samples(text, "tern_spool_commit_duration_seconds_bucket")
                  if l["shard"] == "0"]
        expected = [f"{(64 << i) / 1e6:.6f}".rstrip("0") for i in range(14)] + ["+Inf"]
        self.assertEqual(bounds, expected)


if __name__ == "__main__":
    h.main()
