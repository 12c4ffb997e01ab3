"""`ternctl report` on the delivery log of a real ternd that relayed to the recording sink,
which accepts some recipients, defers some (451 at RCPT, retried only after an hour) and
bounces some (550 at RCPT, each reply naming its own recipient): the JSON report's totals,
per-domain tables and grouped errors match what happened, the text report shows the same,
and the same log rotated and compressed (FILE.1, FILE.2.gz) gives the same counts.
"""

import gzip
import json
import os
import shutil
import smtplib
import tempfile

import ternd_harness
from recording_sink import RecordingSink
from ternd_harness import make_body, run_tool, scaled, wait_for

DOMAINS = ("report.test", "other.test", "shop.test", "news.test")


class ReportTest(ternd_harness.TerndTestCase):
    def setUp(self):
        self.sink = RecordingSink().start()
        self.addCleanup(self.sink.stop)
        for user, domain, seconds in (("grey1", "report.test", 300), ("grey2", "other.test", 120)):
            self.sink.reply_to_rcpt(f"451 4.7.1 <{user}@{domain}> greylisted for {seconds} seconds",
                                    recipients=[f"{user}@{domain}"])
        for user, domain in (("bad1", "report.test"), ("bad2", "other.test")):
            self.sink.reply_to_rcpt(f"550 5.1.1 <{user}@{domain}>: no such user",
                                    recipients=[f"{user}@{domain}"])
        routes = [f"--route={d}=[127.0.0.1]:{self.sink.port}" for d in DOMAINS]
        self.d = self.start_ternd(*routes, "--retry_schedule=1h", deliver=True)
        with smtplib.SMTP("127.0.0.1", self.d.smtp_port, timeout=scaled(30)) as s:
            s.sendmail("a@shop.test", ["ok1@report.test", "ok2@report.test", "grey1@report.test",
                                       "bad1@report.test"], make_body("first"))
            s.sendmail("b@news.test", ["ok3@other.test", "grey2@other.test", "bad2@other.test"],
                       make_body("second"))
        # Two messages and their two bounces received; 3 + 2 delivered, 2 deferred, 2 bounced.
        self.sink.wait_for_bounces(2)

        def logged():
            events = [e["event"] for e in self.d.delivery_events()]
            return (events.count("received") == 4 and events.count("delivered") == 5 and
                    events.count("deferred") == 2 and events.count("bounced") == 2)
        wait_for(logged, scaled(60), what="every event in the delivery log")

    def report(self, *args, log=None):
        proc = run_tool([ternd_harness.TERNCTL, "report", "--since=1h",
                         f"--delivery_log={log or self.d.delivery_log}", *args])
        self.assertEqual(proc.returncode, 0, proc.stderr.decode(errors="replace"))
        return proc.stdout.decode("utf-8", "replace")

    def check_totals(self, report):
        totals = report["totals"]
        self.assertEqual(totals["received"], 4, report)
        self.assertEqual(totals["delivered"], 5, report)
        self.assertEqual(totals["deferred"], 2, report)
        self.assertEqual(totals["deferred_messages"], 2, report)
        self.assertEqual(totals["bounced"], 2, report)
        self.assertEqual(totals["expired"], 0, report)
        self.assertEqual(report["skipped_lines"], 0, report)

    def test_json_report_counts_what_happened(self):
        report = json.loads(self.report("--json"))
        self.check_totals(report)
        self.assertEqual(report["files"], [self.d.delivery_log])
        recipients = {r["domain"]: r for r in report["recipient_domains"]}
        self.assertEqual(recipients["report.test"]["delivered"], 2, recipients)
        self.assertEqual(recipients["report.test"]["deferred"], 1, recipients)
        self.assertEqual(recipients["report.test"]["bounced"], 1, recipients)
        self.assertEqual(recipients["other.test"]["delivered"], 1, recipients)
        self.assertEqual(recipients["other.test"]["bounced"], 1, recipients)
        # The bounces went back to the senders.
        self.assertEqual(recipients["shop.test"]["delivered"], 1, recipients)
        self.assertEqual(recipients["news.test"]["delivered"], 1, recipients)
        senders = {r["domain"]: r for r in report["sender_domains"]}
        self.assertEqual(senders["shop.test"]["received"], 1, senders)
        self.assertEqual(senders["shop.test"]["delivered"], 2, senders)
        self.assertEqual(senders["news.test"]["bounced"], 1, senders)
        self.assertEqual(senders["<>"]["received"], 2, senders)  # the bounces themselves
        # A delay of 0 ms is not logged: at most the five deliveries have one.
        self.assertLessEqual(report["delay_ms"]["count"], 5)
        self.assertGreaterEqual(report["delay_ms"]["count"], 1)
        self.assertGreaterEqual(report["delay_ms"]["max"], report["delay_ms"]["p50"])
        # Each failure is one group of two despite addresses and numbers in the replies.
        errors = {e["pattern"]: e for e in report["errors"]}
        unknown = [e for p, e in errors.items() if "no such user" in p]
        self.assertEqual(len(unknown), 1, errors)
        self.assertEqual(unknown[0]["count"], 2)
        self.assertEqual(unknown[0]["bounced"], 2)
        self.assertEqual({d["domain"] for d in unknown[0]["domains"]},
                         {"report.test", "other.test"})
        grey = [e for p, e in errors.items() if "greylisted" in p]
        self.assertEqual(len(grey), 1, errors)
        self.assertEqual(grey[0]["count"], 2)
        self.assertEqual(grey[0]["deferred"], 2)
        self.assertNotIn("grey1", grey[0]["pattern"])

    def test_text_report_shows_the_same(self):
        text = self.report()
        lines = text.splitlines()
        self.assertTrue(lines[0].startswith("Tern delivery report"), text)
        totals = {l.split()[0]: l.split()[1] for l in lines
                  if l.startswith("  ") and len(l.split()) >= 2 and l.split()[1].isdigit()}
        self.assertEqual(totals.get("received"), "4", text)
        self.assertEqual(totals.get("delivered"), "5", text)
        self.assertEqual(totals.get("bounced"), "2", text)
        self.assertIn("Recipient domains", text)
        self.assertIn("Top remote errors", text)
        [row] = [l for l in lines if "no such user" in l]
        self.assertEqual(row.split()[:4], ["2", "0", "2", "0"], row)
        self.assertIn("report.test (1)", text)

    def test_rotated_and_compressed_files_are_read(self):
        # The log split as logrotate leaves it: the older half compressed in FILE.2.gz, the
        # newer half in FILE.1 (delaycompress), an empty FILE.
        rotated = tempfile.mkdtemp(prefix="tern-report-")
        self.addCleanup(shutil.rmtree, rotated, True)
        with open(self.d.delivery_log, "rb") as f:
            lines = f.readlines()
        half = len(lines) // 2
        path = os.path.join(rotated, "delivery.jsonl")
        with gzip.open(path + ".2.gz", "wb") as f:
            f.writelines(lines[:half])
        with open(path + ".1", "wb") as f:
            f.writelines(lines[half:])
        open(path, "wb").close()
        report = json.loads(self.report("--json", log=path))
        self.assertEqual(report["files"], [path, path + ".1", path + ".2.gz"])
        self.check_totals(report)
        # A window that ends before the events: nothing counted.
        empty = json.loads(self.report("--json", "--until=1h", log=path))
        self.assertEqual(empty["totals"]["delivered"], 0, empty)


if __name__ == "__main__":
    ternd_harness.main()
