"""tern-bench source against real servers: ternd (fdatasync on, --deliver=false) and the
aiosmtpd recording sink, which checks independently of the C++ code that every generated
message carries a unique Message-ID and a body matching its X-Tern-Bench-Checksum.

Counts, checksums and the shape of the summaries are checked; never how fast anything was.

    /usr/bin/python3 test_bench_source.py --ternd PATH --ternctl PATH --tern_bench PATH
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

import tern_bench_format
import ternd_harness
import test_bench_sink  # BenchSink (a module import: its test cases do not run here)
from recording_sink import RecordingSink
from tern_bench_format import split_message, tb64_hex

PHASES = ("connect", "greeting", "ehlo", "tls", "envelope", "data", "message")
RUN_TIMEOUT_S = 120


def header_fields(head):
    """{lowercase name: value} of an unfolded header section."""
    fields = {}
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        fields[name.strip().lower().decode()] = value.strip().decode()
    return fields


class SourceTestCase(ternd_harness.TerndTestCase):
    def source(self, target, *flags, json_summary=True, check=True):
        """Runs tern-bench source to its end; returns (parsed JSON or text, completed run)."""
        args = [ternd_harness.TERN_BENCH, "source", f"--target={target}", "--quiet"]
        args += list(flags) + (["--json"] if json_summary else [])
        run = ternd_harness.run_tool(args, timeout_s=RUN_TIMEOUT_S)
        out = run.stdout.decode()
        if check:
            self.assertEqual(run.returncode, 0, f"{args}\n{out}\n{run.stderr.decode()}")
        return (json.loads(out) if json_summary and out.strip() else out), run

    def assertWellFormed(self, summary, delivered, tls=False):
        self.assertEqual(summary["delivered"], delivered)
        self.assertEqual(summary["failed"], 0)
        self.assertEqual(summary["connection_errors"], 0)
        self.assertGreater(summary["msgs_per_s"], 0)
        for phase in PHASES:
            lat = summary["latency_ms"][phase]
            if phase == "tls" and not tls:
                self.assertEqual(lat["count"], 0)
                continue
            self.assertGreater(lat["count"], 0, phase)
            self.assertLessEqual(lat["p50"], lat["p90"], phase)
            self.assertLessEqual(lat["p90"], lat["p99"], phase)
            self.assertLessEqual(lat["p99"], lat["p99.9"], phase)
            self.assertLessEqual(lat["p99.9"], lat["max"], phase)
        self.assertEqual(summary["latency_ms"]["message"]["count"], delivered)


class AgainstTerndTest(SourceTestCase):
    def accepted(self, ternd):
        return ternd.metrics().total("tern_smtp_messages_total", result="accepted")

    def test_closed_loop_many_messages_per_connection(self):
        ternd = self.start_ternd()
        summary, _ = self.source(f"127.0.0.1:{ternd.smtp_port}", "--connections=20",
                                 "--messages=2000", "--threads=2")
        self.assertWellFormed(summary, 2000)
        self.assertEqual(summary["connections"], 20)
        self.assertEqual(summary["bytes"], 2000 * 4096)
        self.assertEqual(summary["replies"]["354"], 2000)
        self.assertEqual(self.accepted(ternd), 2000)

    def test_one_message_per_connection_without_pipelining(self):
        ternd = self.start_ternd()
        summary, _ = self.source(f"127.0.0.1:{ternd.smtp_port}", "--connections=10",
                                 "--messages=300", "--messages_per_connection=1",
                                 "--pipelining=false")
        self.assertWellFormed(summary, 300)
        self.assertEqual(summary["connections"], 300)
        self.assertEqual(summary["replies"]["221"], 300)
        self.assertEqual(self.accepted(ternd), 300)

    def test_bdat_several_recipients_and_mixed_sizes(self):
        ternd = self.start_ternd()
        summary, _ = self.source(f"127.0.0.1:{ternd.smtp_port}", "--connections=4",
                                 "--messages=200", "--chunking", "--recipients=3",
                                 "--size=1k:1,64k:1", "--to=rcpt@example.net")
        self.assertWellFormed(summary, 200)
        self.assertEqual(summary["recipients_delivered"], 600)
        self.assertNotIn("354", summary["replies"])  # BDAT, never DATA
        self.assertEqual(summary["sizes"], "1024:1,65536:1")
        self.assertEqual(self.accepted(ternd), 200)
        rcpts = {r["address"] for m in ternd.queue_json()["messages"] for r in m["recipients"]}
        self.assertEqual(rcpts, {"rcpt@example.net", "rcpt+1@example.net", "rcpt+2@example.net"})

    def test_starttls_when_the_server_offers_it(self):
        workdir = self.temp_dir()
        cert, key = ternd_harness.make_certificate(workdir)
        ternd = self.start_ternd(f"--tls_cert={cert}", f"--tls_key={key}")
        summary, _ = self.source(f"127.0.0.1:{ternd.smtp_port}", "--connections=6",
                                 "--messages=600", "--tls", "--chunking")
        self.assertWellFormed(summary, 600, tls=True)
        self.assertEqual(summary["latency_ms"]["tls"]["count"], 6)
        self.assertEqual(summary["latency_ms"]["ehlo"]["count"], 12)  # again after TLS
        self.assertEqual(summary["replies"]["220"], 12)  # greeting + STARTTLS
        self.assertEqual(self.accepted(ternd), 600)
        self.assertEqual(ternd.metrics().total("tern_tls_handshakes_total",
                                               direction="inbound", result="ok"), 6)
        # Without a certificate ternd does not offer STARTTLS: --tls goes on in plaintext.
        plain = self.start_ternd()
        summary, _ = self.source(f"127.0.0.1:{plain.smtp_port}", "--connections=2",
                                 "--messages=50", "--tls")
        self.assertWellFormed(summary, 50, tls=False)

    def temp_dir(self):
        path = tempfile.mkdtemp(prefix="tern-bench-tls-")
        self.addCleanup(shutil.rmtree, path, True)
        return path

    def test_open_loop_sends_every_arrival(self):
        ternd = self.start_ternd()
        summary, _ = self.source(f"127.0.0.1:{ternd.smtp_port}", "--connections=8",
                                 "--rate=400", "--messages=300")
        self.assertIn("open loop", summary["mode"])
        self.assertWellFormed(summary, 300)
        self.assertEqual(self.accepted(ternd), 300)

    def test_refused_recipients_are_counted(self):
        ternd = self.start_ternd("--max_recipients=1")
        summary, _ = self.source(f"127.0.0.1:{ternd.smtp_port}", "--connections=2",
                                 "--messages=50", "--recipients=3")
        self.assertEqual(summary["delivered"], 50)
        self.assertEqual(summary["recipients_delivered"], 50)
        self.assertEqual(summary["recipients_refused"], 100)
        self.assertEqual(summary["replies"]["452"], 100)

    def test_text_summary(self):
        ternd = self.start_ternd()
        text, _ = self.source(f"127.0.0.1:{ternd.smtp_port}", "--messages=100",
                              json_summary=False)
        self.assertIn("100 delivered, 0 failed (of 100)", text)
        self.assertIn("msgs/s", text)
        for phase in PHASES:
            self.assertRegex(text, rf"\n  {phase} +\d+ +\d+\.\d+ ")

    def test_sigint_stops_a_timed_run_cleanly(self):
        ternd = self.start_ternd()
        args = [ternd_harness.TERN_BENCH, "source", f"--target=127.0.0.1:{ternd.smtp_port}",
                "--duration=120s", "--connections=4", "--json", "--quiet"]
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            ternd_harness.wait_for(lambda: self.accepted(ternd) >= 50, 30,
                                   what="messages to flow")
            proc.send_signal(signal.SIGINT)
            out, err = proc.communicate(timeout=ternd_harness.scaled(30))
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.assertEqual(proc.returncode, 0, err.decode())
        summary = json.loads(out)
        self.assertEqual(summary["failed"], 0)  # messages in flight finished
        self.assertEqual(summary["delivered"], self.accepted(ternd))

    def test_unreachable_target_ends_the_run(self):
        sock, port = ternd_harness.free_closed_port()
        try:
            _, run = self.source(f"127.0.0.1:{port}", "--connections=2", "--messages=10",
                                 json_summary=False, check=False)
        finally:
            sock.close()
        self.assertEqual(run.returncode, 2)
        self.assertIn(b"cannot connect to the target", run.stderr)

    def test_bad_flags(self):
        for flags in (["--size=0"], ["--size=4k:"], ["--to=nobody"], ["--connections=0"],
                      ["--recipients=0"], ["--target=nonsense"]):
            _, run = self.source("127.0.0.1:1", *flags, json_summary=False, check=False)
            self.assertEqual(run.returncode, 2, flags)
            self.assertTrue(run.stderr.startswith(b"tern-bench source: "), run.stderr)


class AgainstRecordingSinkTest(SourceTestCase):
    def test_every_message_verifies_independently(self):
        with RecordingSink() as sink:
            summary, _ = self.source(sink.address, "--connections=3", "--messages=120",
                                     "--size=300,2k,20k", "--recipients=2", "--run_id=itest")
            self.assertWellFormed(summary, 120)
            messages = sink.wait_for_messages(120)
        ids = set()
        for m in messages:
            head, body = split_message(m.body)
            headers = header_fields(head)
            self.assertEqual(headers["x-tern-bench-checksum"], tb64_hex(body),
                             headers["message-id"])
            self.assertTrue(headers["message-id"].startswith("<itest."))
            ids.add(headers["message-id"])
            self.assertEqual(m.mail_from, "bench@tern-bench.test")
            self.assertEqual(m.rcpt_tos, ["user@example.net", "user+1@example.net"])
        self.assertEqual(len(ids), 120)
        # Dot-stuffing was exercised and undone correctly: filler lines start with dots.
        self.assertTrue(any(b"\r\n." in m.body for m in messages))


class AgainstBenchSinkTest(SourceTestCase):
    """Both tools against each other, and ternd relaying between them."""

    def sink(self, *flags):
        sink = test_bench_sink.BenchSink(flags)
        self.track(f"sink stderr ({' '.join(sink.args)})", sink.final_stderr, sink.cleanup)
        return sink.start()

    def test_source_and_sink_agree(self):
        sink = self.sink()
        for flags in ([], ["--chunking", "--recipients=2", "--size=1k:3,64k:1"]):
            summary, _ = self.source(f"127.0.0.1:{sink.port}", "--connections=8",
                                     "--messages=1000", "--run_id=pair", *flags)
            self.assertWellFormed(summary, 1000)
        sink_summary = sink.summary()
        records = sink.records()
        self.assertEqual(sink_summary["messages"], 2000)
        self.assertEqual(sink_summary["verified"], 2000)
        self.assertEqual(sink_summary["checksum_mismatches"], 0)
        self.assertEqual(len(records), 2000)
        for record in records:
            tern_bench_format.check_record(record)
            self.assertTrue(record["verified"], record)
            self.assertTrue(record["message_id"].startswith("pair."), record)
        self.assertEqual(len({r["message_id"] for r in records}), 1000)  # two runs, same ids

    def test_injected_faults_are_counted_alike_on_both_sides(self):
        sink = self.sink("--tempfail_rate=dot:0.2", "--permfail_rate=rcpt:0.1",
                         "--fault_seed=7")
        summary, run = self.source(f"127.0.0.1:{sink.port}", "--connections=4",
                                   "--messages=500", "--recipients=2", check=False)
        self.assertEqual(run.returncode, 1)  # some messages failed
        self.assertEqual(summary["delivered"] + summary["failed"], 500)
        self.assertGreater(summary["failed_at"]["end_of_data"], 0)
        self.assertGreater(summary["recipients_refused"], 0)
        sink_summary = sink.summary()
        self.assertEqual(sink_summary["messages"], summary["delivered"])
        self.assertEqual(sink_summary["checksum_mismatches"], 0)

    def test_ternd_relays_every_message_intact(self):
        sink = self.sink()
        ternd = self.start_ternd(f"--route=example.net=[127.0.0.1]:{sink.port}", deliver=True)
        summary, _ = self.source(f"127.0.0.1:{ternd.smtp_port}", "--connections=10",
                                 "--messages=1000", "--size=1k:1,16k:1", "--run_id=relayed")
        self.assertWellFormed(summary, 1000)
        ternd_harness.wait_for(lambda: len(sink.records()) >= 1000, 120,
                               what="the sink to receive every relayed message")
        records = sink.records()
        self.assertEqual(len(records), 1000)
        self.assertTrue(all(r["verified"] for r in records))  # Received: added, body intact
        self.assertEqual(len({r["message_id"] for r in records}), 1000)


if __name__ == "__main__":
    ternd_harness.main()
