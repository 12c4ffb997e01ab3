"""ternd as a systemd service, without systemd.

Type=notify: $NOTIFY_SOCKET points at a unix datagram socket this test binds (a path, or an
abstract "@name"), and ternd must say READY=1 once its SMTP port accepts, RELOADING=1 then
READY=1 around a SIGHUP, STOPPING=1 on SIGTERM, and WATCHDOG=1 about every WATCHDOG_USEC/2
while its shards answer.

Logging: with stderr a pipe nobody reads (a stalled journald), ternd keeps answering SMTP
while it logs far more than the pipe holds, and still stops on SIGTERM."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternd_harness as h  # noqa: E402

WATCHDOG_USEC = 1000000  # pings expected every 0.5 s


class NotifySocket:
    """A bound datagram socket; messages() parses each datagram into {KEY: VALUE}."""

    def __init__(self, name):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind("\0" + name[1:] if name.startswith("@") else name)
        self.name = name

    def receive(self, timeout_s):
        self.sock.settimeout(h.scaled(timeout_s))
        data = self.sock.recv(65536).decode()
        return dict(line.split("=", 1) for line in data.split("\n") if line)

    def wait_for(self, key, timeout_s=h.START_TIMEOUT_S, skip=("WATCHDOG",)):
        """The next message carrying `key`; fails on a message that is neither it nor one
        of the `skip` kinds (so an unexpected state fails the test)."""
        deadline = time.monotonic() + h.scaled(timeout_s)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {key}=1 within {timeout_s}s")
            message = self.receive(left / h.TIMEOUT_SCALE)
            if key in message:
                return message
            if not any(k in message for k in skip):
                raise AssertionError(f"expected {key}, got {message}")

    def close(self):
        self.sock.close()


class NotifyTest(h.TerndTestCase):
    def start_with_notify(self, name, watchdog_usec=None):
        notify = NotifySocket(name)
        self.addCleanup(notify.close)
        saved = dict(os.environ)
        os.environ["NOTIFY_SOCKET"] = name
        if watchdog_usec:
            os.environ["WATCHDOG_USEC"] = str(watchdog_usec)
        try:
            d = self.start_ternd()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        return d, notify

    def test_ready_reload_watchdog_stopping(self):
        workdir = tempfile.mkdtemp(prefix="tern-notify-")
        self.addCleanup(lambda: __import__("shutil").rmtree(workdir, ignore_errors=True))
        d, notify = self.start_with_notify(os.path.join(workdir, "notify.sock"), WATCHDOG_USEC)
        # The first message is READY=1, sent once the listeners are bound and shards run.
        ready = notify.receive(h.START_TIMEOUT_S)
        self.assertEqual(ready.get("READY"), "1", ready)
        self.assertIn("smtp on 127.0.0.1:", ready.get("STATUS", ""))
        with d.smtp() as c:
            self.assertEqual(c.cmd("EHLO client.example").code, 250)

        # The watchdog: several pings, each after a round trip through every shard.
        pings = 0
        deadline = time.monotonic() + h.scaled(20)
        while pings < 3 and time.monotonic() < deadline:
            if "WATCHDOG" in notify.wait_for("WATCHDOG", timeout_s=10, skip=()):
                pings += 1
        self.assertEqual(pings, 3)

        d.proc.send_signal(signal.SIGHUP)
        reloading = notify.wait_for("RELOADING")
        self.assertEqual(reloading["RELOADING"], "1")
        self.assertGreater(int(reloading["MONOTONIC_USEC"]), 0)
        self.assertEqual(notify.wait_for("READY")["READY"], "1")
        with d.smtp() as c:
            self.assertEqual(c.cmd("EHLO client.example").code, 250)

        d.proc.send_signal(signal.SIGTERM)
        self.assertEqual(notify.wait_for("STOPPING")["STOPPING"], "1")
        self.assertEqual(d.stop(), 0)
        # Nothing after STOPPING but late watchdog pings: no READY=1 once stopping.
        notify.sock.setblocking(False)
        while True:
            try:
                data = notify.sock.recv(65536).decode()
            except BlockingIOError:
                break
            self.assertNotIn("READY=1", data)

    def test_abstract_socket_without_watchdog(self):
        name = f"@tern-notify-test-{os.getpid()}"
        d, notify = self.start_with_notify(name)
        self.assertEqual(notify.receive(h.START_TIMEOUT_S).get("READY"), "1")
        with d.smtp() as c:
            self.assertEqual(c.cmd("EHLO client.example").code, 250)
        d.proc.send_signal(signal.SIGTERM)
        # No WATCHDOG_USEC: no pings, the next message is STOPPING=1.
        self.assertEqual(notify.wait_for("STOPPING", skip=())["STOPPING"], "1")
        self.assertEqual(d.stop(), 0)


class StalledStderrTest(h.TerndTestCase):
    RCPTS = 4000  # ~100 bytes of log each ("relay denied"): 6x a 64 KiB pipe

    def test_full_stderr_pipe_never_blocks_a_shard(self):
        workdir = tempfile.mkdtemp(prefix="tern-stall-")
        self.addCleanup(lambda: __import__("shutil").rmtree(workdir, ignore_errors=True))
        ready = os.path.join(workdir, "ready")
        read_end, write_end = os.pipe()  # nobody reads read_end until the end
        self.addCleanup(os.close, read_end)
        # As systemd sets it when stderr is the journal: lines carry their priority.
        status = os.fstat(write_end)
        env = dict(os.environ, JOURNAL_STREAM=f"{status.st_dev}:{status.st_ino}")
        proc = subprocess.Popen(
            [h.TERND, "--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0", "--shards=1",
             f"--spool_dir={workdir}/spool", f"--ready_file={ready}", "--delivery_log=",
             "--deliver=false", "--relay_domains=accepted.test",
             "--relay_networks=192.0.2.0/24"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=write_end, env=env)
        os.close(write_end)

        def cleanup():
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        self.addCleanup(cleanup)
        h.wait_for(lambda: os.path.exists(ready) or proc.poll() is not None,
                   h.START_TIMEOUT_S, what="ternd's ready file")
        self.assertIsNone(proc.poll(), "ternd exited at start")
        with open(ready) as f:
            fields = dict(line.strip().split("=", 1) for line in f if "=" in line)
        port = int(fields["smtp"].rsplit(":", 1)[1])
        with h.SmtpClient(port) as c:
            self.assertEqual(c.cmd("EHLO client.example").code, 250)
            self.assertEqual(c.cmd("MAIL FROM:<a@sender.test>").code, 250)
            batch = 200
            for start in range(0, self.RCPTS, batch):
                c.send(b"".join(f"RCPT TO:<u{i}@denied.test>\r\n".encode()
                                for i in range(start, start + batch)))
                replies = c.read_replies(batch)
                self.assertTrue(all(r.code == 554 for r in replies), replies[-1].text)
            # Still answering after ~400 KB of log lines into a 64 KiB pipe.
            self.assertEqual(c.cmd("RCPT TO:<ok@accepted.test>").code, 250)
        proc.send_signal(signal.SIGTERM)
        # The exit flush waits at most 2 s for the stalled pipe.
        self.assertEqual(proc.wait(timeout=h.scaled(h.STOP_TIMEOUT_S)), 0)
        # The pipe holds what it could take.
        os.set_blocking(read_end, False)
        data = b""
        try:
            while chunk := os.read(read_end, 65536):
                data += chunk
        except BlockingIOError:
            pass
        self.assertIn(b"relay denied", data)
        lines = data.split(b"\n")[:-1]  # the last one may be cut
        self.assertTrue(lines)
        for line in lines:
            self.assertRegex(line, rb"^<[3467]>[EWID] ")
        self.assertTrue(any(line.startswith(b"<6>I ") and b"relay denied" in line
                            for line in lines))


if __name__ == "__main__":
    h.main()
