"""ternctl suppress against a real ternd: add / list / remove with scopes and reasons, text
and --json; import of a CSV with quoted fields (commas, quotes), and of one with a bad line
3 (nothing imported, the message names line 3); export round trip (CSV and --json) and an
import and export of ~2,500 entries in several chunks and pages; and durability: an add acknowledged, then
kill -9 and a restart, and the entry is still there.
"""

import csv
import http.client
import io
import json
import os

import ternd_harness

HEADER = "address,scope,reason,created,expires,event"


class SuppressionCtlTest(ternd_harness.TerndTestCase):
    def listed(self, d, *args):
        return json.loads(d.ternctl("suppress", "list", "--json", "--limit=100000", *args).stdout)

    def write(self, d, name, text):
        path = os.path.join(d.workdir, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def test_add_list_remove(self):
        d = self.start_ternd()
        out = d.ternctl("suppress", "add", "User@Example.COM").stdout
        self.assertIn("suppressed user@example.com (manual)", out)
        d.ternctl("suppress", "add", "@blocked.example", "--reason=complaint",
                  "--scope=news.example", "--event=fbl 42", "--expires=30d")
        d.ternctl("suppress", "add", "other@example.com", "--reason=hard-bounce",
                  "--expires=2099-01-01T00:00:00Z")
        listing = self.listed(d)
        self.assertEqual(listing["count"], 3)
        self.assertEqual(listing["total"], 3)
        by = {e["address"]: e for e in listing["entries"]}
        self.assertEqual(by["user@example.com"]["reason"], "manual")
        self.assertEqual(by["user@example.com"]["event"], "ternctl")
        self.assertEqual(by["user@example.com"]["scope"], "")
        self.assertIsNone(by["user@example.com"]["expires"])
        self.assertEqual(by["blocked.example"]["scope"], "news.example")
        self.assertEqual(by["blocked.example"]["by"], "domain")
        self.assertEqual(by["blocked.example"]["event"], "fbl 42")
        self.assertIsNotNone(by["blocked.example"]["expires"])
        self.assertEqual(by["other@example.com"]["expires"], "2099-01-01T00:00:00Z")
        # Filters.
        self.assertEqual([e["address"] for e in self.listed(d, "--reason=complaint")["entries"]],
                         ["blocked.example"])
        self.assertEqual(self.listed(d, "--scope=news.example")["count"], 1)
        self.assertEqual(self.listed(d, "example.com")["count"], 2)
        self.assertEqual(self.listed(d, "user@example.com", "--exact")["count"], 1)
        limited = json.loads(d.ternctl("suppress", "list", "--json", "--limit=1").stdout)
        self.assertEqual((limited["count"], limited["total"]), (1, 3))
        text = d.ternctl("suppress", "list").stdout
        lines = text.splitlines()
        self.assertTrue(lines[0].startswith("ADDRESS"), text)
        self.assertIn("global", text)
        self.assertIn("news.example", text)
        row = next(line for line in lines if line.startswith("blocked.example"))
        self.assertEqual(row.index("news.example"), lines[0].index("SCOPE"), text)
        # Invalid input is refused with the reason, and changes nothing.
        bad = d.ternctl("suppress", "add", "not an address", check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("400", bad.stderr)
        bad = d.ternctl("suppress", "add", "x@example.com", "--reason=spite", check=False)
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("reason", bad.stderr)
        self.assertEqual(self.listed(d)["total"], 3)
        # Remove: the scope must match.
        missing = d.ternctl("suppress", "remove", "blocked.example", check=False)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("404", missing.stderr)
        d.ternctl("suppress", "remove", "@Blocked.example", "--scope=news.example")
        d.ternctl("suppress", "remove", "USER@example.com")
        self.assertEqual([e["address"] for e in self.listed(d)["entries"]], ["other@example.com"])

    def test_import_and_export_round_trip(self):
        d = self.start_ternd()
        text = (HEADER + "\n"
                'a@example.com,,hard-bounce,2026-12-07T22:00:00Z,,"550 5.1.1 unknown, sorry"\n'
                'B@Example.com,news.example,complaint,2026-12-01T08:00:00Z,'
                '2099-06-01T00:00:00Z,"said ""stop"", twice"\n'
                "example.net,global,unsubscribe,2026-11-01T00:00:00+01:00,,\n"
                '"multi@example.com",,manual,,,"line one\nline two"\r\n')
        out = d.ternctl("suppress", "import", self.write(d, "good.csv", text))
        self.assertIn("imported 4 entries", out.stderr)
        by = {(e["address"], e["scope"]): e for e in self.listed(d)["entries"]}
        self.assertEqual(len(by), 4)
        self.assertEqual(by[("a@example.com", "")]["event"], "550 5.1.1 unknown, sorry")
        self.assertEqual(by[("b@example.com", "news.example")]["event"], 'said "stop", twice')
        self.assertEqual(by[("example.net", "")]["created"], "2026-10-31T23:00:00Z")
        self.assertEqual(by[("multi@example.com", "")]["event"], "line one\nline two")

        # A bad line 3: nothing imported, the message names line 3.
        bad = (HEADER + "\nc@example.com,,manual,,,\nd@example.com,,nonsense,,,\n"
               "e@example.com,,manual,,,\n")
        refused = d.ternctl("suppress", "import", self.write(d, "bad.csv", bad), check=False)
        self.assertNotEqual(refused.returncode, 0)
        self.assertIn("line 3", refused.stderr)
        self.assertEqual(self.listed(d)["total"], 4)
        self.assertEqual(self.listed(d, "c@example.com", "--exact")["count"], 0)

        # Export (CSV), then import it into another ternd: the same entries.
        exported = d.ternctl("suppress", "export").stdout
        rows = list(csv.reader(io.StringIO(exported)))
        self.assertEqual(",".join(rows[0]), HEADER)
        self.assertEqual(len(rows), 5)
        other = self.start_ternd()
        other.ternctl("suppress", "import", self.write(other, "exported.csv", exported))
        key = lambda e: (e["address"], e["scope"])  # noqa: E731
        self.assertEqual(sorted(self.listed(d)["entries"], key=key),
                         sorted(self.listed(other)["entries"], key=key))
        # --json: JSON lines, the same entries.
        lines = [json.loads(x) for x in d.ternctl("suppress", "export", "--json").stdout.splitlines()]
        self.assertEqual(sorted(lines, key=key), sorted(self.listed(d)["entries"], key=key))

    def test_server_checks_an_import_again(self):
        """ternd parses what it is sent (not only ternctl): a bad body changes nothing."""
        d = self.start_ternd()
        host, port = d.admin().rsplit(":", 1)

        def post(body):
            conn = http.client.HTTPConnection(host, int(port), timeout=30)
            conn.request("POST", "/suppressions/import", body=body.encode(),
                         headers={"X-Tern-Request": "1"})
            answer = conn.getresponse()
            return answer.status, answer.read().decode()

        status, text = post(HEADER + "\nok@example.com,,manual,,,\nbad@,,manual,,,\n")
        self.assertEqual(status, 400, text)
        self.assertIn("line 3", text)
        self.assertEqual(self.listed(d)["total"], 0)
        status, text = post(HEADER + "\nok@example.com,,manual,,,\n")
        self.assertEqual((status, text), (200, "imported 1 entries\n"))
        self.assertEqual(self.listed(d)["total"], 1)

    def test_export_in_pages(self):
        d = self.start_ternd()
        n = 2500
        text = HEADER + "\n" + "".join(f"user{i}@bulk.example,,hard-bounce,,,bounce {i}\n"
                                       for i in range(n))
        out = d.ternctl("suppress", "import", "--import_chunk_bytes=8192",
                        self.write(d, "bulk.csv", text)).stderr
        self.assertIn(f"imported {n} entries", out)
        requests = int(out.split("(")[1].split()[0])
        self.assertGreaterEqual(requests, len(text) // 8192)  # sent in chunks
        self.assertEqual(self.listed(d)["total"], n)
        self.assertEqual(self.listed(d, "user2499@bulk.example", "--exact")["entries"][0]["event"],
                         "bounce 2499")
        exported = d.ternctl("suppress", "export", "--page_entries=300").stdout
        rows = list(csv.reader(io.StringIO(exported)))
        self.assertEqual(",".join(rows[0]), HEADER)
        self.assertEqual(sum(1 for r in rows if r[0] == "address"), 1)  # one header
        addresses = [r[0] for r in rows[1:]]
        self.assertEqual(len(addresses), n)
        self.assertEqual(set(addresses), {f"user{i}@bulk.example" for i in range(n)})
        lines = d.ternctl("suppress", "export", "--json", "--page_entries=700").stdout.splitlines()
        self.assertEqual(len({json.loads(x)["address"] for x in lines}), n)
        self.assertEqual(len(lines), n)

    def test_add_is_durable_across_kill9(self):
        d = self.start_ternd()
        d.ternctl("suppress", "add", "durable@example.com", "--reason=complaint",
                  "--scope=news.example")
        d.kill9()
        d.restart()
        entries = self.listed(d)["entries"]
        self.assertEqual([(e["address"], e["scope"], e["reason"]) for e in entries],
                         [("durable@example.com", "news.example", "complaint")])


if __name__ == "__main__":
    ternd_harness.main()
