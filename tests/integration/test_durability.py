"""Durability: a message acknowledged with 250 survives kill -9 and SIGTERM.

Several smtplib clients send in parallel and record every queue id they got a 250 for;
ternd is killed (SIGKILL, or SIGTERM for the graceful case) while they are still sending,
restarted on the same spool, and every acknowledged id must be listed by ternctl with its
envelope. Ids accumulate over several cycles and are never listed twice."""

import os
import signal
import smtplib
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternd_harness as h  # noqa: E402

CLIENTS = 6
MESSAGES_PER_CYCLE = 300
MESSAGES_PER_CONNECTION = 10
CLIENT_TIMEOUT_S = 20


class Senders:
    """CLIENTS threads sending up to MESSAGES_PER_CYCLE messages to one ternd."""

    def __init__(self, port, cycle, body_lines=20):
        self.port = port
        self.cycle = cycle
        self.body_lines = body_lines
        self.lock = threading.Lock()
        self.acked = {}  # queue id -> (sender, recipients)
        self.started = 0  # messages begun (MAIL sent)
        self.failures = []  # what ended each client (errors after a kill are expected)
        self.threads = [threading.Thread(target=self.run, args=(t,), daemon=True)
                        for t in range(CLIENTS)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def join(self, timeout_s=120):
        deadline = time.monotonic() + h.scaled(timeout_s)
        for t in self.threads:
            t.join(max(0.1, deadline - time.monotonic()))
        alive = [t.name for t in self.threads if t.is_alive()]
        if alive:
            raise AssertionError(f"client threads still running: {alive}")

    def acked_count(self):
        with self.lock:
            return len(self.acked)

    def take_slot(self):
        with self.lock:
            if self.started >= MESSAGES_PER_CYCLE:
                return None
            self.started += 1
            return self.started

    def run(self, thread):
        try:
            while True:
                s = smtplib.SMTP("127.0.0.1", self.port, local_hostname="durable.example",
                                 timeout=h.scaled(CLIENT_TIMEOUT_S))
                try:
                    s.ehlo()
                    for _ in range(MESSAGES_PER_CONNECTION):
                        n = self.take_slot()
                        if n is None:
                            s.quit()
                            return
                        self.send_one(s, thread, n)
                    s.quit()
                finally:
                    s.close()
        except (OSError, smtplib.SMTPException, AssertionError) as e:
            with self.lock:
                self.failures.append(f"client {thread}: {type(e).__name__}: {e}")

    def send_one(self, s, thread, n):
        sender = f"c{self.cycle}-t{thread}-m{n}@example.com"
        recipients = [f"r{n}@example.net", f"c{self.cycle}@example.org"]
        code, text = s.mail(sender)
        if code != 250:
            raise AssertionError(f"MAIL {code} {text!r}")
        for r in recipients:
            code, text = s.rcpt(r)
            if code != 250:
                raise AssertionError(f"RCPT {code} {text!r}")
        body = (f"Subject: durability cycle {self.cycle} message {n}\r\n\r\n"
                + f"line of the body {n:<70}\r\n" * self.body_lines).encode()
        code, text = s.data(body)
        if code != 250:
            raise AssertionError(f"DATA {code} {text!r}")
        m = h.QUEUED_RE.search(text.decode("utf-8", "replace"))
        if not m:
            raise AssertionError(f"250 without 'queued as': {text!r}")
        with self.lock:
            if m.group(1) in self.acked:
                raise AssertionError(f"queue id {m.group(1)} acknowledged twice")
            self.acked[m.group(1)] = (sender, recipients)


class DurabilityTest(h.TerndTestCase):
    def assert_all_acked_listed(self, d, acked):
        queue = d.queue_by_id()  # fails if an id is listed twice
        missing = sorted(set(acked) - set(queue))
        self.assertEqual(missing, [], f"{len(missing)} of {len(acked)} acknowledged messages "
                                      "are not in the queue after the restart")
        for qid, (sender, recipients) in acked.items():
            self.assertEqual(queue[qid]["sender"], sender, qid)
            self.assertEqual([r["address"] for r in queue[qid]["recipients"]], recipients, qid)
            self.assertTrue(all(r["state"] == "pending" for r in queue[qid]["recipients"]))
        total = d.queue_json(limit=0)["total"]
        self.assertEqual(total, len(queue))
        # Messages stored but not acknowledged (the client saw the kill first) may be there.
        self.assertGreaterEqual(total, len(acked))
        return queue

    def interrupted_cycle(self, d, cycle, interrupt, body_lines=20):
        senders = Senders(d.smtp_port, cycle, body_lines).start()
        try:
            h.wait_for(lambda: senders.acked_count() >= MESSAGES_PER_CYCLE // 2 or
                       not any(t.is_alive() for t in senders.threads),
                       timeout_s=120, interval_s=0.005, what="half of the messages acknowledged")
            interrupt()
        finally:
            d.kill9()  # no-op unless interrupt() failed
            senders.join()
        with senders.lock:
            acked = dict(senders.acked)
        self.assertGreater(len(acked), 0, senders.failures)
        return acked, senders

    def test_acknowledged_messages_survive_kill9(self):
        d = self.start_ternd()
        all_acked = {}
        for cycle in range(3):
            acked, senders = self.interrupted_cycle(d, cycle, d.kill9)
            sys.stderr.write(f"\ncycle {cycle}: {len(acked)} acknowledged before kill -9, "
                             f"{senders.started} begun\n")
            reused = set(acked) & set(all_acked)
            self.assertEqual(reused, set(), "queue ids reused after a restart")
            all_acked.update(acked)
            d.start()
            self.assert_all_acked_listed(d, all_acked)
        # The recovered daemon still takes mail.
        with d.smtp() as c:
            c.ehlo()
            qid = self.assertQueued(c.send_message("after@example.com", ["x@example.net"],
                                                   h.make_body("after recovery")))
        self.assertNotIn(qid, all_acked)
        self.assertIn(qid, d.queue_by_id())

    def test_a_second_ternd_on_the_same_spool_is_refused(self):
        d = self.start_ternd()
        with self.assertRaises(AssertionError) as refused:
            self.start_ternd(spool_dir=d.spool_dir)
        self.assertIn(f"is in use by another ternd (pid {d.pid})", str(refused.exception))
        # The first one is untouched; a kill -9 leaves no stale lock behind.
        with d.smtp() as c:
            c.ehlo()
            qid = self.assertQueued(c.send_message("lock@example.com", ["x@example.net"],
                                                   h.make_body("lock")))
        d.kill9()
        d.start()
        self.assertIn(qid, d.queue_by_id())

    def test_acknowledged_messages_survive_kill9_across_segments(self):
        # Small segments: each cycle rotates through several, recovery reads them all.
        d = self.start_ternd("--segment_size=1572864", "--max_message_size=262144")
        all_acked = {}
        for cycle in range(2):
            acked, _ = self.interrupted_cycle(d, cycle, d.kill9, body_lines=250)
            all_acked.update(acked)
            d.start()
            self.assert_all_acked_listed(d, all_acked)
        segments = [f for _, _, files in os.walk(d.spool_dir) for f in files
                    if f.endswith(".seg")]
        self.assertGreater(len(segments), 2, segments)

    def test_zero_filled_segments_keep_acknowledged_messages_across_kill9(self):
        # --segment_prefill=zero (the default) with small segments: each next segment is
        # written with zeros and synced before use; the records land over those zeros and a
        # restart reads the zeros after them as the end of the records, as it reads a
        # fallocate'd tail.
        d = self.start_ternd("--segment_size=1572864", "--max_message_size=262144", shards=1)
        acked = {}
        body = h.make_body("zero filled", text="\r\n".join(["z" * 78] * 1250))
        with d.smtp() as c:
            c.ehlo()
            for i in range(40):  # ~4 MB: past three segments of 1.5 MiB
                sender, recipients = f"zero{i}@example.com", [f"r{i}@example.net"]
                acked[self.assertQueued(c.send_message(sender, recipients, body))] = (
                    sender, recipients)
        h.wait_for(lambda: d.metrics().total("tern_spool_segments_prefilled_total") >= 1,
                   timeout_s=30, what="a segment zero-filled")
        m = d.metrics()
        self.assertGreaterEqual(m.total("tern_spool_segments_created_total"), 3)
        self.assertGreaterEqual(m.total("tern_spool_prefill_bytes_total"),
                                1572864 * m.total("tern_spool_segments_prefilled_total"))
        self.assertEqual(m.total("tern_spool_prefill_errors_total"), 0)
        d.kill9()
        d.start()
        self.assert_all_acked_listed(d, acked)
        recovered = d.log().split("==== start 2")[1]
        self.assertIn(f"messages={len(acked)} ", recovered)
        self.assertIn("torn_tails_truncated=0 corrupt_ranges_quarantined=0 ", recovered)
        self.assertNotIn("torn tail", recovered)

    def test_acknowledged_messages_survive_sigterm(self):
        d = self.start_ternd("--shutdown_grace=5s")

        def graceful():
            rc = d.stop(timeout_s=60)
            self.assertEqual(rc, 0, "ternd exit code on SIGTERM")

        acked, senders = self.interrupted_cycle(d, 0, graceful)
        sys.stderr.write(f"\n{len(acked)} acknowledged before SIGTERM, {senders.started} "
                         "begun\n")
        d.start()
        self.assert_all_acked_listed(d, acked)
        # A second graceful stop with an idle daemon, and everything is still there.
        d.restart()
        self.assert_all_acked_listed(d, acked)

    def test_sigterm_tells_open_sessions_and_exits_0(self):
        d = self.start_ternd("--shutdown_grace=5s")
        idle = d.smtp()
        busy = d.smtp()
        try:
            idle.ehlo()
            busy.ehlo()
            qid = self.assertQueued(busy.send_message("open@example.com", ["x@example.net"],
                                                      h.make_body("before SIGTERM")))
            self.assertReply(busy.cmd("MAIL FROM:<mid@example.com>"), 250)
            d.proc.send_signal(signal.SIGTERM)
            for c in (idle, busy):
                self.assertReply(c.read_reply(), 421, "4.3.2")
                c.wait_eof()
            self.assertEqual(d.stop(), 0)
        finally:
            idle.close()
            busy.close()
        d.start()
        queue = d.queue_by_id()
        self.assertEqual(list(queue), [qid])
        self.assertEqual(queue[qid]["sender"], "open@example.com")


class DiskFullTest(h.TerndTestCase):
    """The spool on a small tmpfs: a full disk answers 452 4.3.1, keeps what it holds,
    and takes mail again once there is room. Needs root (mount); skipped otherwise."""

    TMPFS_BYTES = 5 << 20
    BALLAST_BYTES = 1536 << 10
    SEGMENT_BYTES = 1536 << 10  # two segments fit beside the ballast, a third does not
    FLAGS = (f"--segment_size={SEGMENT_BYTES}", "--max_message_size=262144")

    def setUp(self):
        self.mnt = tempfile.mkdtemp(prefix="tern-it-full-")
        self.addCleanup(os.rmdir, self.mnt)
        proc = h.run_tool(["mount", "-t", "tmpfs", "-o", f"size={self.TMPFS_BYTES}", "tmpfs",
                           self.mnt])
        if proc.returncode != 0:
            self.skipTest(f"cannot mount a tmpfs: {proc.stderr.decode(errors='replace')}")
        self.addCleanup(h.run_tool, ["umount", "-l", self.mnt])
        self.ballast = os.path.join(self.mnt, "ballast")
        with open(self.ballast, "wb") as f:
            f.write(b"\0" * self.BALLAST_BYTES)

    def send_until_full(self, c, body, acked):
        """Sends until a command is refused; returns that reply. The spool learns that it is
        full when it prepares its next segment, in the background, so the refusal may come
        at MAIL, RCPT or DATA (all may answer 452, RFC 5321 §4.3.2)."""
        for _ in range(200):  # 64 KiB each: the 3 MiB of segments fill in about 48
            reply = c.cmd("MAIL FROM:<fill@example.com>")
            if reply.code != 250:
                return reply
            reply = c.cmd("RCPT TO:<x@example.net>")
            if reply.code != 250:
                c.cmd("RSET")
                return reply
            reply = c.cmd("DATA")
            if reply.code != 354:
                c.cmd("RSET")
                return reply
            c.send(body + b".\r\n")
            acked.append(self.assertQueued(c.read_reply()))
        self.fail("the spool never filled up")

    def test_full_disk_answers_452_and_recovers(self):
        d = self.start_ternd(*self.FLAGS, shards=1, spool_dir=os.path.join(self.mnt, "spool"))
        body = b"Subject: fill\r\n\r\n" + (b"z" * 998 + b"\r\n") * 64
        acked = []
        with d.smtp() as c:
            c.ehlo()
            self.assertReply(self.send_until_full(c, body, acked), 452, "4.3.1")
            self.assertGreater(len(acked), 0)
            self.assertReply(c.cmd("NOOP"), 250, "2.0.0")
            self.assertEqual(set(d.queue_by_id()), set(acked))
            self.assertGreaterEqual(d.metrics().total("tern_smtp_rejects_total", code=452), 1)

            os.unlink(self.ballast)

            def accepted_again():
                reply = c.cmd("MAIL FROM:<after@example.com>")
                if reply.code == 250:
                    return reply
                self.assertReply(reply, 452, "4.3.1")
                time.sleep(0.2)
                return None

            h.wait_for(accepted_again, timeout_s=60, interval_s=0,
                       what="mail accepted again after space was freed")
            self.assertReply(c.cmd("RCPT TO:<x@example.net>"), 250)
            self.assertReply(c.cmd("DATA"), 354)
            c.send(body + b".\r\n")
            acked.append(self.assertQueued(c.read_reply()))
        d.restart()
        self.assertEqual(set(d.queue_by_id()), set(acked))


if __name__ == "__main__":
    h.main()
