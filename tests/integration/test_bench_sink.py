"""Integration tests of `tern-bench sink`: the real binary on 127.0.0.1 (port 0, its
--ready_file), driven by smtplib, raw sockets and Postfix's smtp-source; its --record file
and --json summary are checked against an independent implementation of tern-bench's
checksum (tern_bench_format.py). Faults: permanent and temporary failures, disconnects and
delays. No timing assertions beyond "a delayed reply did not come early".

    /usr/bin/python3 test_bench_sink.py --ternd PATH --ternctl PATH --tern_bench PATH
"""

import json
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternd_harness  # noqa: E402
import tern_bench_format as fmt  # noqa: E402
from ternd_harness import SmtpClient, scaled, wait_for  # noqa: E402

SMTP_SOURCE = "/usr/sbin/smtp-source"


class BenchSink:
    """One `tern-bench sink` process with its own work directory."""

    def __init__(self, flags=(), json_summary=True, record=True):
        self.workdir = tempfile.mkdtemp(prefix="tern-bench-sink-")
        self.ready_file = os.path.join(self.workdir, "ready")
        self.record = os.path.join(self.workdir, "record.jsonl") if record else None
        self.stdout_path = os.path.join(self.workdir, "stdout")
        self.stderr_path = os.path.join(self.workdir, "stderr")
        self.args = [os.path.abspath(ternd_harness.TERN_BENCH), "sink", "--listen=127.0.0.1:0",
                     f"--ready_file={self.ready_file}", "--quiet"]
        if record:
            self.args.append(f"--record={self.record}")
        if json_summary:
            self.args.append("--json")
        self.args += list(flags)
        self.proc = None
        self.port = None

    def start(self):
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, cwd=self.workdir)
        deadline = time.monotonic() + scaled(ternd_harness.START_TIMEOUT_S)
        while not os.path.exists(self.ready_file):
            if self.proc.poll() is not None:
                raise AssertionError(f"sink exited {self.proc.returncode} before ready:\n"
                                     + self.stderr())
            if time.monotonic() >= deadline:
                self.kill()
                raise AssertionError("sink not ready in time:\n" + self.stderr())
            time.sleep(0.02)
        with open(self.ready_file) as f:
            text = f.read()
        assert text.endswith("\n") and text.count("\n") == 1, repr(text)
        host, _, port = text.strip().rpartition(":")
        assert host == "127.0.0.1", text
        self.port = int(port)
        assert self.port > 0
        return self

    def wait(self, timeout_s=ternd_harness.STOP_TIMEOUT_S):
        """Waits for the sink to exit by itself; returns (exit code, stdout)."""
        try:
            self.proc.wait(timeout=scaled(timeout_s))
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError("sink did not exit in time (killed)\n" + self.stderr())
        return self.proc.returncode, self.stdout()

    def stop(self, sig=signal.SIGTERM):
        """Signals the sink and waits; returns (exit code, stdout)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait()

    def summary(self, sig=signal.SIGTERM):
        """Stops the sink (it must exit 0) and returns its --json summary."""
        rc, out = self.stop(sig)
        if rc != 0:
            raise AssertionError(f"sink exited {rc}\n{self.stderr()}")
        return parse_summary(out)

    def records(self):
        return fmt.read_records(self.record)

    def stdout(self):
        with open(self.stdout_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode("utf-8", "replace")[-20000:]
        except OSError:
            return ""

    def final_stderr(self):
        """Kills the sink if it still runs, then its whole stderr (for failure reports)."""
        self.kill()
        return self.stderr()

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def smtplib(self):
        return smtplib.SMTP("127.0.0.1", self.port, local_hostname="client.example",
                            timeout=scaled(ternd_harness.IO_TIMEOUT_S))

    def raw(self, **kwargs):
        return SmtpClient(self.port, **kwargs)


SUMMARY_FIELDS = {"mode", "elapsed_seconds", "messages", "recipients", "bytes",
                  "msgs_per_second", "messages_received", "verified", "unverified",
                  "checksum_mismatches", "connections", "replies", "faults",
                  "record_lines_dropped", "seed"}


def parse_summary(stdout):
    """The one JSON object on stdout, with its fields checked."""
    lines = [l for l in stdout.splitlines() if l.strip()]
    assert len(lines) == 1, f"want one JSON line on stdout, got {stdout!r}"
    summary = json.loads(lines[0])
    missing = SUMMARY_FIELDS - set(summary)
    assert not missing, f"summary without {missing}: {summary}"
    assert summary["mode"] == "sink"
    assert set(summary["faults"]) == {"tempfail", "permfail", "disconnect", "delay"}, summary
    for code, count in summary["replies"].items():
        assert 200 <= int(code) <= 599 and count > 0, summary
    return summary


def make(message_id, lines=40, seed=0, **kwargs):
    """A checksummed message (unstuffed content)."""
    return fmt.make_message(message_id, fmt.body_lines(lines, seed), **kwargs)


class BenchSinkTest(ternd_harness.TerndTestCase):
    def setUp(self):
        if not ternd_harness.TERN_BENCH or not os.access(ternd_harness.TERN_BENCH, os.X_OK):
            self.fail("--tern_bench PATH is required")

    def start_sink(self, *flags, **kwargs):
        sink = BenchSink(flags, **kwargs)
        self.track(f"sink stderr ({' '.join(sink.args)})", sink.final_stderr, sink.cleanup)
        return sink.start()

    def assertRecorded(self, record, content, sender, recipients, reply=250):
        fmt.check_record(record, content)
        self.assertEqual(record["sender"], sender)
        self.assertEqual(record["recipients"], recipients)
        self.assertEqual(record["reply"], reply)

    # -- messages -------------------------------------------------------------------------

    def test_smtplib_messages_are_verified_and_recorded(self):
        sink = self.start_sink()
        sent = {}
        with sink.smtplib() as c:
            code, text = c.ehlo()
            self.assertEqual(code, 250)
            for ext in (b"PIPELINING", b"SIZE", b"8BITMIME", b"SMTPUTF8",
                        b"ENHANCEDSTATUSCODES", b"CHUNKING"):
                self.assertIn(ext, text)
            for i in range(20):
                mid = f"it.{i}@tern-bench"
                content = make(mid, lines=5 + 37 * i, seed=i)
                rcpts = [f"r{j}@example.net" for j in range(1 + i % 3)]
                refused = c.sendmail(f"s{i}@example.com", rcpts, content)
                self.assertEqual(refused, {})
                sent[mid] = (content, f"s{i}@example.com", rcpts)
        summary = sink.summary()
        self.assertEqual(summary["messages"], 20)
        self.assertEqual(summary["messages_received"], 20)
        self.assertEqual(summary["verified"], 20)
        self.assertEqual(summary["unverified"], 0)
        self.assertEqual(summary["checksum_mismatches"], 0)
        self.assertEqual(summary["recipients"], sum(len(r) for _, _, r in sent.values()))
        self.assertEqual(summary["bytes"], sum(len(c) for c, _, _ in sent.values()))
        self.assertEqual(summary["connections"], 1)
        self.assertEqual(summary["replies"]["220"], 1)
        self.assertEqual(summary["replies"]["354"], 20)
        self.assertEqual(summary["replies"]["221"], 1)
        records = sink.records()
        self.assertEqual(len(records), 20)
        for record in records:
            content, sender, rcpts = sent[record["message_id"]]
            self.assertRecorded(record, content, sender, rcpts)
            self.assertTrue(record["verified"])

    def test_pipelined_burst_is_answered_in_order(self):
        sink = self.start_sink()
        first = make("pipe.1@tern-bench", lines=50)
        second = make("pipe.2@tern-bench", lines=3, seed=9)
        with sink.raw() as c:
            self.assertEqual(c.greeting.code, 220)
            c.send(b"EHLO client.example\r\nMAIL FROM:<a@example.com>\r\n"
                   b"RCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\nNOOP\r\nDATA\r\n")
            codes = [r.code for r in c.read_replies(6)]
            self.assertEqual(codes, [250, 250, 250, 250, 250, 354])
            # The end of data, the next transaction and its body in one send.
            c.send(fmt.dot_stuff(first) + b".\r\nMAIL FROM:<>\r\nRCPT TO:<d@example.net>\r\n"
                   b"DATA\r\n")
            replies = c.read_replies(4)
            self.assertEqual([r.code for r in replies], [250, 250, 250, 354])
            self.assertEqual(replies[0].enhanced, "2.0.0")
            c.send(fmt.dot_stuff(second) + b".\r\nQUIT\r\n")
            self.assertEqual([r.code for r in c.read_replies(2)], [250, 221])
            c.wait_eof()
        summary = sink.summary()
        self.assertEqual(summary["verified"], 2)
        records = {r["message_id"]: r for r in sink.records()}
        self.assertRecorded(records["pipe.1@tern-bench"], first, "a@example.com",
                            ["b@example.net", "c@example.net"])
        self.assertRecorded(records["pipe.2@tern-bench"], second, "", ["d@example.net"])

    def test_replies_reach_a_client_that_half_closed(self):
        sink = self.start_sink()
        content = make("half.1@tern-bench", lines=30)
        s = socket.create_connection(("127.0.0.1", sink.port), timeout=scaled(30))
        try:
            s.sendall(b"EHLO client.example\r\nMAIL FROM:<a@example.com>\r\n"
                      b"RCPT TO:<b@example.net>\r\nDATA\r\n" + fmt.dot_stuff(content)
                      + b".\r\nQUIT\r\n")
            s.shutdown(socket.SHUT_WR)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        codes = [int(l[:3]) for l in data.decode().split("\r\n") if l[3:4] == " "]
        self.assertEqual(codes, [220, 250, 250, 250, 354, 250, 221], data)
        self.assertEqual(sink.summary()["verified"], 1)

    def test_record_is_written_while_the_sink_runs(self):
        sink = self.start_sink()
        with sink.smtplib() as c:
            c.sendmail("a@example.com", ["b@example.net"], make("live.1@tern-bench"))
            # Flushed within 200 ms of the message, without stopping the sink.
            records = wait_for(lambda: os.path.exists(sink.record) and sink.records(), 10,
                               what="the record line")
            self.assertEqual([r["message_id"] for r in records], ["live.1@tern-bench"])
        sink.summary()

    def test_bdat_chunks(self):
        sink = self.start_sink()
        content = make("bdat.1@tern-bench", lines=200)
        cut = [0, 1, 700, 4000, len(content)]
        with sink.raw() as c:
            c.ehlo()
            c.send(b"MAIL FROM:<a@example.com> BODY=8BITMIME\r\nRCPT TO:<b@example.net>\r\n")
            self.assertEqual([r.code for r in c.read_replies(2)], [250, 250])
            wire = b""
            for i in range(len(cut) - 1):
                chunk = content[cut[i]:cut[i + 1]]
                last = b" LAST" if i == len(cut) - 2 else b""
                wire += b"BDAT %d%s\r\n" % (len(chunk), last) + chunk
            c.send(wire)  # all chunks pipelined
            replies = c.read_replies(len(cut) - 1)
            self.assertEqual([r.code for r in replies], [250] * (len(cut) - 1))
            self.assertIn("1 bytes received", replies[0].text)
            self.assertIn("verified", replies[-1].text)
            self.assertEqual(c.cmd("QUIT").code, 221)
        summary = sink.summary()
        self.assertEqual((summary["messages"], summary["verified"]), (1, 1))
        (record,) = sink.records()
        self.assertRecorded(record, content, "a@example.com", ["b@example.net"])

    def test_corrupted_and_unsigned_messages(self):
        sink = self.start_sink()
        body = fmt.body_lines(30)
        bad = fmt.make_message("bad.1@tern-bench", body, checksum=fmt.tb64(body) ^ 1)
        unsigned = fmt.make_message("plain.1@tern-bench", body, checksum=False)
        with sink.smtplib() as c:
            c.sendmail("a@example.com", ["b@example.net"], bad)
            c.sendmail("a@example.com", ["b@example.net"], unsigned)
        summary = sink.summary()
        self.assertEqual(summary["checksum_mismatches"], 1)
        self.assertEqual(summary["unverified"], 1)
        self.assertEqual(summary["verified"], 0)
        self.assertEqual(summary["messages"], 2)  # the sink answers 250 anyway
        records = {r["message_id"]: r for r in sink.records()}
        self.assertFalse(records["bad.1@tern-bench"]["verified"])
        self.assertEqual(records["bad.1@tern-bench"]["expected"], f"{fmt.tb64(body) ^ 1:016x}")
        self.assertEqual(records["bad.1@tern-bench"]["checksum"], fmt.tb64_hex(body))
        self.assertIsNone(records["plain.1@tern-bench"]["expected"])
        fmt.check_record(records["plain.1@tern-bench"], unsigned)

    def test_several_threads_and_connections(self):
        sink = self.start_sink("--threads=2")
        expected = set()
        for conn in range(6):
            with sink.smtplib() as c:
                for i in range(5):
                    mid = f"t.{conn}.{i}@tern-bench"
                    c.sendmail("a@example.com", ["b@example.net"], make(mid, lines=20, seed=i))
                    expected.add(mid)
        summary = sink.summary()
        self.assertEqual(summary["connections"], 6)
        self.assertEqual(summary["verified"], 30)
        self.assertEqual({r["message_id"] for r in sink.records()}, expected)

    def test_size_limit(self):
        sink = self.start_sink("--max_message_size=2000")
        big = make("big.1@tern-bench", lines=100)
        self.assertGreater(len(big), 2000)
        with sink.smtplib() as c:
            c.ehlo()
            self.assertEqual(c.esmtp_features.get("size"), "2000")
            # smtplib declares SIZE=: refused at MAIL already.
            with self.assertRaises(smtplib.SMTPSenderRefused) as raised:
                c.sendmail("a@example.com", ["b@example.net"], big)
            self.assertEqual(raised.exception.smtp_code, 552)
            c.sendmail("a@example.com", ["b@example.net"], make("small.1@tern-bench", lines=3))
        with sink.raw() as c:  # undeclared: read to the end, then refused
            c.ehlo()
            self.assertEqual(c.cmd("MAIL FROM:<a@example.com>").code, 250)
            self.assertEqual(c.cmd("RCPT TO:<b@example.net>").code, 250)
            self.assertEqual(c.cmd("DATA").code, 354)
            c.send(fmt.dot_stuff(big) + b".\r\n")
            reply = c.read_reply()
            self.assertEqual((reply.code, reply.enhanced), (552, "5.3.4"))
            self.assertEqual(c.cmd("NOOP").code, 250)
        summary = sink.summary()
        self.assertEqual(summary["messages"], 1)
        self.assertEqual(summary["replies"]["552"], 2)
        replies = {r["message_id"]: r["reply"] for r in sink.records()}
        self.assertEqual(replies, {"big.1@tern-bench": 552, "small.1@tern-bench": 250})

    def test_smtp_source_interoperates(self):
        if not os.access(SMTP_SOURCE, os.X_OK):
            self.skipTest(f"{SMTP_SOURCE} not installed")
        sink = self.start_sink()
        proc = ternd_harness.run_tool([SMTP_SOURCE, "-s", "5", "-m", "300", "-l", "2048", "-d",
                                       f"127.0.0.1:{sink.port}"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        summary = sink.summary()
        self.assertEqual(summary["messages"], 300)
        self.assertEqual(summary["unverified"], 300)  # smtp-source adds no checksum
        self.assertEqual(len(sink.records()), 300)

    # -- faults ---------------------------------------------------------------------------

    def test_permfail_at_rcpt_refuses_every_recipient(self):
        sink = self.start_sink("--permfail_rate=rcpt:1", "--fault_seed=7")
        with sink.smtplib() as c:
            with self.assertRaises(smtplib.SMTPRecipientsRefused) as raised:
                c.sendmail("a@example.com", ["b@example.net", "c@example.net"],
                           make("p.1@tern-bench"))
            for code, text in raised.exception.recipients.values():
                self.assertEqual(code, 550)
                self.assertTrue(text.startswith(b"5.7.1"), text)
        summary = sink.summary()
        self.assertEqual(summary["faults"]["permfail"], {"rcpt": 2})
        self.assertEqual(summary["replies"]["550"], 2)
        self.assertEqual(summary["messages"], 0)
        self.assertEqual(summary["seed"], 7)
        self.assertEqual(sink.records(), [])

    def test_tempfail_at_connect(self):
        sink = self.start_sink("--tempfail_rate=connect:1")
        with sink.raw() as c:
            self.assertEqual(c.greeting.code, 421)
            self.assertEqual(c.greeting.enhanced, "4.3.2")
            c.wait_eof()
        summary = sink.summary()
        self.assertEqual(summary["faults"]["tempfail"], {"connect": 1})

    def test_tempfail_rates_follow_the_seed(self):
        counts = []
        for _ in range(2):
            sink = self.start_sink("--tempfail_rate=rcpt:0.5", "--fault_seed=12345")
            with sink.raw() as c:
                c.ehlo()
                c.send(b"MAIL FROM:<a@example.com>\r\n" + b"RCPT TO:<b@example.net>\r\n" * 200)
                replies = c.read_replies(201)
            codes = [r.code for r in replies[1:]]
            self.assertEqual(set(codes), {250, 451})
            counts.append(codes)
            self.assertEqual(sink.summary()["faults"]["tempfail"]["rcpt"], codes.count(451))
        self.assertEqual(counts[0], counts[1], "the same seed must replay the same faults")

    def test_disconnect_at_dot(self):
        sink = self.start_sink("--disconnect_rate=dot:1")
        content = make("d.1@tern-bench")
        with sink.smtplib() as c:
            with self.assertRaises(smtplib.SMTPServerDisconnected):
                c.sendmail("a@example.com", ["b@example.net"], content)
        summary = sink.summary()
        self.assertEqual(summary["messages"], 0)
        self.assertEqual(summary["messages_received"], 1)
        self.assertEqual(summary["faults"]["disconnect"], {"dot": 1})
        (record,) = sink.records()
        self.assertRecorded(record, content, "a@example.com", ["b@example.net"], reply=None)

    def test_delay_holds_the_reply_and_keeps_order(self):
        sink = self.start_sink("--delay=rcpt:300ms")
        with sink.raw() as c:
            c.ehlo()
            start = time.monotonic()
            c.send(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\nNOOP\r\n")
            mail = c.read_reply()
            rest = c.read_replies(2)
            waited = time.monotonic() - start
            self.assertEqual(mail.code, 250)
            self.assertEqual([r.text for r in rest], ["250 2.1.5 Ok", "250 2.0.0 Ok"])
            self.assertGreaterEqual(waited, 0.3 - 0.01, "the RCPT reply came early")
            self.assertEqual(c.cmd("QUIT").code, 221)
        summary = sink.summary()
        self.assertEqual(summary["faults"]["delay"], {"rcpt": 1})

    # -- run control ----------------------------------------------------------------------

    def test_exit_after_stops_the_sink(self):
        sink = self.start_sink("--exit_after=3")
        with sink.smtplib() as c:
            for i in range(3):
                c.sendmail("a@example.com", ["b@example.net"], make(f"e.{i}@tern-bench"))
            try:
                c.quit()
            except smtplib.SMTPServerDisconnected:
                pass  # the sink may have closed first (421 at shutdown)
        rc, out = sink.wait()
        self.assertEqual(rc, 0, sink.stderr())
        summary = parse_summary(out)
        self.assertEqual(summary["messages"], 3)
        self.assertEqual(len(sink.records()), 3)

    def test_sink_duration_and_text_summary(self):
        sink = self.start_sink("--sink_duration=0.5", json_summary=False, record=False)
        rc, out = sink.wait()
        self.assertEqual(rc, 0, sink.stderr())
        self.assertIn("tern-bench sink summary", out)
        self.assertRegex(out, r"\n  messages +0 ")
        self.assertRegex(out, r"\n  seed +[1-9][0-9]*\n")

    def test_sigint_stops_cleanly_and_closes_clients(self):
        sink = self.start_sink()
        with sink.raw() as c:
            c.ehlo()
            rc, out = sink.stop(signal.SIGINT)
            self.assertEqual(rc, 0, sink.stderr())
            reply = c.read_reply()
            self.assertEqual((reply.code, reply.enhanced), (421, "4.3.2"))
            c.wait_eof()
        parse_summary(out)

    def test_idle_timeout(self):
        sink = self.start_sink("--idle_timeout=300ms")
        with sink.raw() as c:
            c.ehlo()
            reply = c.read_reply()
            self.assertEqual((reply.code, reply.enhanced), (421, "4.4.2"))
            c.wait_eof()
        sink.summary()

    def test_overlong_line_and_unknown_commands(self):
        sink = self.start_sink()
        with sink.raw() as c:
            self.assertEqual(c.cmd(b"NOOP " + b"x" * 5000).text, "500 5.5.2 Error: line too long")
            self.assertEqual(c.cmd("VRFY postmaster").code, 502)
            self.assertEqual(c.cmd("MAIL FROM:<a@example.com>").code, 503)
            self.assertEqual(c.cmd("EHLO client.example").code, 250)
        sink.summary()

    def test_bad_flags_exit_2(self):
        for flag, text in (("--tempfail_rate=body:0.1", "unknown stage"),
                           ("--permfail_rate=rcpt:2", "not a probability"),
                           ("--delay=dot:soon", "not a duration"),
                           ("--listen=nowhere", "--listen"),
                           ("--sink_duration=-1", "--sink_duration")):
            proc = ternd_harness.run_tool([ternd_harness.TERN_BENCH, "sink", flag])
            self.assertEqual(proc.returncode, 2, (flag, proc.stderr))
            self.assertIn(text, proc.stderr.decode(), flag)

    def test_busy_port_exits_1(self):
        blocker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            blocker.bind(("127.0.0.1", 0))
            blocker.listen(1)
            port = blocker.getsockname()[1]
            proc = ternd_harness.run_tool([ternd_harness.TERN_BENCH, "sink",
                                           f"--listen=127.0.0.1:{port}", "--quiet"])
            self.assertEqual(proc.returncode, 1, proc.stderr)
        finally:
            blocker.close()


if __name__ == "__main__":
    ternd_harness.main()
