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
    """The attributes of elements with an id, and the text of each table's body."""

    def __init__(self):
        super().__init__()
        self.by_id = {}
        self.tables = {}
        self._table = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.by_id[attrs["id"]] = attrs
        if tag == "table":
            self._table = attrs.get("id")
            self.tables[self._table] = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._table is not None:
            self.tables[self._table] += data + " "


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
        destinations = page.tables["destinations"]
        self.assertIn(f"[127.0.0.1]:{sink.port}", destinations)
        self.assertIn(str(sent), destinations.split())  # delivered count
        self.assertIn("greylisted", destinations)
        recent = page.tables["recent"]
        self.assertIn(f"grey@{DOMAIN}", recent)
        self.assertIn("deferred", recent)
        self.assertIn("451", recent)


if __name__ == "__main__":
    ternd_harness.main()
