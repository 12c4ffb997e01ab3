"""The admin endpoint's status page (GET /) loaded in a real headless Chromium (Debian's
chromium) against a running ternd that relays to the recording sink: the throughput and
queue charts are drawn from real samples (the page records on each canvas how many points
it plotted, their largest value, how many pixels it painted and its time axis labels), the
destinations table has one row for the sink with the counts of both shards summed (the
per-shard split is in /status.json?shards=1), and the recent failures table groups the
two identical deferrals on one row with their count.
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
        grey = [f"grey@{DOMAIN}", f"grey2@{DOMAIN}"]
        sink.reply_to_data("451 4.7.1 greylisted, come back later", recipients=grey)
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
                if burst < 2:
                    s.sendmail(f"s@{DOMAIN}", [grey[burst]], make_body(f"grey {burst}"))
            time.sleep(1.5)
        sink.wait_for_messages(sent)

        def status():
            code, body = d.http_get("/status.json")
            self.assertEqual(code, 200)
            return json.loads(body)
        # Seven samples a second apart: the time axis spans at least one 5 s tick.
        wait_for(lambda: sum(f["count"] for f in status()["failures"]) == 2 and
                 len(status()["samples"]) >= 7, scaled(30),
                 what="samples and two deferrals in /status.json")
        # The per-shard split, on demand: the shards' rows add up to the destination's.
        dest = f"[127.0.0.1]:{sink.port}"
        [split] = [x for x in status_split(d) if x["destination"] == dest]
        self.assertEqual(sum(p["delivered"] for p in split["per_shard"]), split["delivered"])
        self.assertEqual(len(split["per_shard"]), split["shards"])
        self.assertNotIn("per_shard", status()["destinations"][0])

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
            # The time axis: labelled ticks in local time (HH:MM, or HH:MM:SS when close).
            ticks = canvas.get("data-ticks", "").split()
            self.assertTrue(ticks, canvas)
            for tick in ticks:
                self.assertRegex(tick, r"^\d\d:\d\d(:\d\d)?$")
        # The throughput peak is the busiest burst (15 messages within a second or two).
        self.assertGreaterEqual(float(page.by_id["throughput"]["data-max"]), 2)
        # Rows: destination, shards, pending, connections, delivered, deferred, bounced, error.
        header, *rows = page.rows["destinations"]
        self.assertEqual(header[:2], ["Destination", "Shards"])
        [ours] = [r for r in rows if r[0] == dest]  # one row over all shards
        self.assertEqual(int(ours[4]), sent)
        self.assertEqual(int(ours[5]), 2)
        self.assertIn("greylisted", ours[7])
        # Rows: last time, count, destination, result, reply, last recipient, queue id.
        header, *recent = page.rows["recent"]
        self.assertEqual(header[:3], ["Last time", "Count", "Destination"])
        [group] = [r for r in recent if "greylisted" in r[4]]
        self.assertEqual(group[1], "2", recent)
        self.assertIn(f"127.0.0.1:{sink.port}", group[2])  # the host tried: "127.0.0.1[..:port]"
        self.assertEqual(group[3], "deferred")
        self.assertIn(group[5], grey)


def status_split(d):
    code, body = d.http_get("/status.json?shards=1")
    assert code == 200, body
    return json.loads(body)["destinations"]

if __name__ == "__main__":
    ternd_harness.main()
