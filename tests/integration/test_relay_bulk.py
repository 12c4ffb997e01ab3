"""Bulk relay through ternd with Postfix's tools at both ends: smtp-source sends, ternd
relays over reused connections to smtp-sink. Checks that every message is delivered once
to the sink, that connections carry many messages, and that under a steady flow the spool
stays bounded (garbage collection deletes finished segments): TERN_BULK_MESSAGES messages
(default 200,000) through small segments never pile up on disk. Not a benchmark: no timing
is asserted.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import ternd_harness as h

SMTP_SOURCE = "/usr/sbin/smtp-source"
SMTP_SINK = "/usr/sbin/smtp-sink"
BULK_MESSAGES = int(os.environ.get("TERN_BULK_MESSAGES", "200000"))
SEGMENT_BYTES = 4 << 20
# Segments one shard may hold at once under a steady flow: the open one, the ones whose
# messages are still being delivered, and the GC interval's worth of finished ones.
SEGMENTS_PER_SHARD_MAX = 8


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpSink:
    """Postfix's smtp-sink on a loopback port, counting messages (-c)."""

    def __init__(self):
        self.port = free_port()
        self.out = tempfile.TemporaryFile()
        cmd = [SMTP_SINK, "-c"]
        if os.geteuid() == 0:
            cmd += ["-u", "nobody"]
        cmd += [f"127.0.0.1:{self.port}", "256"]
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=subprocess.STDOUT)
        h.wait_for(self._listening, 30, what="smtp-sink listening")

    def _listening(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"smtp-sink exited with {self.proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self):
        """Stops it; returns the message count it printed last."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        if self.out.closed:
            return self.count
        self.out.seek(0)
        text = self.out.read().decode("utf-8", "replace").replace("\r", "\n")
        self.out.close()
        counts = [int(part.split("=")[1]) for line in text.split("\n")
                  for part in line.split() if part.startswith("mesg=")]
        self.count = counts[-1] if counts else 0
        return self.count


class BulkRelayTest(h.TerndTestCase):
    def setUp(self):
        for tool in (SMTP_SOURCE, SMTP_SINK):
            if not os.access(tool, os.X_OK):
                self.skipTest(f"{tool} is not installed (apt-get install postfix)")
        self.sink = SmtpSink()
        self.addCleanup(self.sink.stop)

    def source(self, d, messages, sessions, size):
        proc = h.run_tool([SMTP_SOURCE, "-s", str(sessions), "-m", str(messages), "-l",
                           str(size), "-f", "sender@example.com", "-t", "rcpt@example.net",
                           f"127.0.0.1:{d.smtp_port}"], timeout_s=1800)
        out = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        self.assertEqual(proc.returncode, 0, out[-4000:])

    def wait_delivered(self, d, n, timeout_s=600):
        h.wait_for(lambda: d.metrics().total("tern_delivery_recipients_total",
                                             result="delivered") >= n,
                   timeout_s, interval_s=0.5, what=f"{n} deliveries")
        h.wait_for(lambda: d.metrics().total("tern_queue_messages") == 0, 60,
                   what="an empty queue")

    def test_smtp_source_through_ternd_to_smtp_sink(self):
        messages, sessions = 5000, 20
        d = self.start_ternd(f"--smarthost=[127.0.0.1]:{self.sink.port}", deliver=True)
        self.source(d, messages, sessions, 4096)
        self.wait_delivered(d, messages)
        m = d.metrics()
        self.assertEqual(m.total("tern_smtp_messages_total", result="accepted"), messages)
        self.assertEqual(m.total("tern_delivery_recipients_total", result="delivered"), messages)
        self.assertEqual(m.total("tern_delivery_recipients_total", result="deferred"), 0)
        opened = m.total("tern_delivery_connections_total", result="opened")
        self.assertGreaterEqual(opened, 1)
        sys.stderr.write(f"\nbulk: {messages} messages over {opened:.0f} outbound connections "
                         f"({messages / opened:.0f} per connection)\n")
        # At most --max_connections_per_destination (20) at once; each carries many.
        self.assertLessEqual(opened, messages / 10)
        d.stop()
        self.assertEqual(self.sink.stop(), messages)

    def test_spool_stays_bounded_under_a_steady_flow(self):
        d = self.start_ternd(f"--smarthost=[127.0.0.1]:{self.sink.port}",
                             f"--segment_size={SEGMENT_BYTES}", "--max_message_size=1048576",
                             deliver=True)
        peak = {"segments": 0, "bytes": 0}
        done = threading.Event()

        def watch():
            while not done.is_set():
                try:
                    m = d.metrics()
                except (AssertionError, OSError):
                    break
                for shard in range(2):
                    peak["segments"] = max(peak["segments"], m.total(
                        "tern_spool_segments", shard=str(shard)))
                peak["bytes"] = max(peak["bytes"], m.total("tern_spool_disk_bytes"))
                done.wait(0.5)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        try:
            self.source(d, BULK_MESSAGES, 20, 1024)
            self.wait_delivered(d, BULK_MESSAGES, timeout_s=1200)
        finally:
            done.set()
            watcher.join(timeout=30)
        m = d.metrics()
        written = m.total("tern_spool_record_bytes_total")
        sys.stderr.write(
            f"\nbounded spool: {BULK_MESSAGES} messages, {written / 2**20:.0f} MiB written, "
            f"peak {peak['segments']:.0f} segments in one shard, peak "
            f"{peak['bytes'] / 2**20:.0f} MiB on disk, "
            f"{m.total('tern_spool_segments_deleted_total'):.0f} segments deleted\n")
        self.assertEqual(m.total("tern_delivery_recipients_total",
                                 result="delivered"), BULK_MESSAGES)
        self.assertLessEqual(peak["segments"], SEGMENTS_PER_SHARD_MAX)
        self.assertGreater(m.total("tern_spool_segments_deleted_total"), 0)
        # Once the flow stops, finished segments go too.
        h.wait_for(lambda: d.metrics().total("tern_spool_segments") <= 2 * 2, 60,
                   what="finished segments deleted")


if __name__ == "__main__":
    h.main()
