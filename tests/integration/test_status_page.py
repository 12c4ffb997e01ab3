"""The admin endpoint's status page (GET /) loaded in a real headless Chromium (Debian's
chromium) against a running ternd that relays to the recording sink: the throughput and
queue charts are drawn from real samples (the page records on each canvas how many points
it plotted, their largest value and how many pixels it painted), the destinations table
names the sink with its counts, and the recent failures table shows a deferral's reply.
"""

import html.parser
import json
import os
import shutil
import smtplib
import subprocess
import tempfile
import time

import ternd_harness
from recording_sink import RecordingSink
from ternd_harness import make_body, scaled, wait_for

DOMAIN = "status.test"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class PageParser(html.parser.HTMLParser):
    """The attributes of elements with an id, and each table's rows as lists of cell texts."""

    def __init__(self):
        super().__init__()
        self.by_id = {}
        self.rows = {}
        self._table = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.by_id[attrs["id"]] = attrs
        if tag == "table":
            self._table = attrs.get("id")
            self.rows[self._table] = []
        elif tag == "tr" and self._table is not None:
            self.rows[self._table].append([])
        elif tag in ("td", "th") and self._table is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._cell is not None:
            self.rows[self._table][-1].append(self._cell)
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


class StatusPageTest(ternd_harness.TerndTestCase):
    def test_charts_render_real_data_in_chromium(self):
        self.assertTrue(os.path.exists(CHROMIUM), "chromium is not installed")
        sink = RecordingSink().start()
        self.addCleanup(sink.stop)
        sink.reply_to_data("451 4.7.1 greylisted, come back later",
                           recipients=[f"grey@{DOMAIN}"])
        d = self.start_ternd(f"--route={DOMAIN}=[127.0.0.1]:{sink.port}", "--retry_schedule=1h",
                             deliver=True)
        # Three bursts a second and a half apart: the history (one sample a second) sees
        # the rates change.
        sent = 0
        for burst in range(3):
            with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=scaled(30)) as s:
                for i in range(5 + 5 * burst):
                    s.sendmail(f"s@{DOMAIN}", [f"user{i}@{DOMAIN}"], make_body(f"b{burst} {i}"))
                    sent += 1
                if burst == 0:
                    s.sendmail(f"s@{DOMAIN}", [f"grey@{DOMAIN}"], make_body("grey"))
            time.sleep(1.5)
        sink.wait_for_messages(sent)

        def status():
            code, body = d.http_get("/status.json")
            self.assertEqual(code, 200)
            return json.loads(body)
        wait_for(lambda: status()["recent"] and len(status()["samples"]) >= 4, scaled(30),
                 what="samples and a deferral in /status.json")

        profile = tempfile.mkdtemp(prefix="tern-chromium-")
        self.addCleanup(shutil.rmtree, profile, True)
        url = f"http://{d.admin()}/"
        done = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-extensions", "--disable-background-networking",
             f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", url],
            capture_output=True, timeout=scaled(120))
        dom = done.stdout.decode("utf-8", "replace")
        self.assertEqual(done.returncode, 0, done.stderr.decode(errors="replace")[-3000:])
        page = PageParser()
        page.feed(dom)
        self.assertIn("data-updated", page.by_id.get("updated", {}), dom[:3000])
        for chart in ("throughput", "queue"):
            canvas = page.by_id[chart]
            self.assertGreaterEqual(int(canvas["data-points"]), 3, canvas)
            self.assertGreater(float(canvas["data-max"]), 0, canvas)
            # Pixels the data lines painted over the grid (a flat line at 0 still paints).
            self.assertGreater(int(canvas["data-inked"]), 300, canvas)
        # The throughput peak is the busiest burst (15 messages within a second or two).
        self.assertGreaterEqual(float(page.by_id["throughput"]["data-max"]), 2)
        # Rows: destination, shard, pending, connections, delivered, deferred, bounced, error.
        header, *rows = page.rows["destinations"]
        self.assertEqual(header[0], "Destination")
        ours = [r for r in rows if r[0] == f"[127.0.0.1]:{sink.port}"]
        self.assertTrue(ours, rows)
        self.assertEqual(sum(int(r[4]) for r in ours), sent)  # both shards' deliveries
        self.assertEqual(sum(int(r[5]) for r in ours), 1)
        self.assertTrue(any("greylisted" in r[7] for r in ours), ours)
        header, *recent = page.rows["recent"]
        self.assertEqual(header[2], "Recipient")
        [grey] = [r for r in recent if r[2] == f"grey@{DOMAIN}"]
        self.assertEqual(grey[3], "deferred")
        self.assertTrue(grey[4].startswith("451"), grey)

if __name__ == "__main__":
    ternd_harness.main()
