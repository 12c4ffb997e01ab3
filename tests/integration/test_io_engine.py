"""The I/O engine as a plug (--io_engine): ternd relays and keeps acknowledged mail across
kill -9 on the epoll engine, and --io_engine=auto falls back to epoll, with one log line,
where a seccomp filter makes io_uring_setup fail with EPERM (as Docker's default profile
does). The seccomp launcher is tests/engine/deny_io_uring_main.cc (deny-io-uring, built
next to ternd)."""

import os
import smtplib
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternd_harness as h  # noqa: E402
from recording_sink import RecordingSink  # noqa: E402

DOMAIN = "engine.test"
SENDER = f"sender@{DOMAIN}"
MESSAGES = 20
FALLBACK_LINE = "io_uring unavailable"


def deny_io_uring():
    path = os.path.join(os.path.dirname(os.path.abspath(h.TERND)), "deny-io-uring")
    if not os.path.exists(path):
        raise AssertionError(f"{path} not built (ninja deny-io-uring)")
    return path


def wait_log(d, text):
    """Waits until ternd's log says `text` (its start-up lines may trail the ready file)."""
    h.wait_for(lambda: text in d.log(), 30, what=f"'{text}' in ternd's log")
    return d.log()


class IoEngineTest(h.TerndTestCase):
    def start_sink(self):
        sink = RecordingSink().start()
        self.addCleanup(sink.stop)
        return sink

    def relay(self, d, sink, tag):
        """Sends MESSAGES messages through `d` and checks that each reaches the sink."""
        with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=h.scaled(30)) as s:
            for i in range(MESSAGES):
                body = (f"Message-ID: <{tag}-{i}@client.test>\r\nSubject: {tag} {i}\r\n\r\n"
                        f"body {i}\r\n").encode()
                s.sendmail(SENDER, [f"rcpt{i}@{DOMAIN}"], body)
        got = sink.wait_for_messages(MESSAGES)
        self.assertEqual(sorted(m.rcpt_tos[0] for m in got),
                         sorted(f"rcpt{i}@{DOMAIN}" for i in range(MESSAGES)))

    def start_relay(self, sink, *flags, launcher=()):
        return self.start_ternd(f"--route={DOMAIN}=[127.0.0.1]:{sink.port}",
                                "--retry_schedule=1s", *flags, deliver=True, launcher=launcher)

    def test_relays_on_epoll(self):
        sink = self.start_sink()
        d = self.start_relay(sink, "--io_engine=epoll")
        wait_log(d, "I/O engine epoll")
        self.relay(d, sink, "epoll")

    def test_acknowledged_mail_survives_kill9_on_epoll(self):
        d = self.start_ternd("--io_engine=epoll")
        acked = set()
        with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=h.scaled(30)) as s:
            s.ehlo("client.example")
            for i in range(MESSAGES):
                self.assertEqual(s.mail("kill@example.com")[0], 250)
                self.assertEqual(s.rcpt(f"r{i}@example.net")[0], 250)
                code, text = s.data(f"Subject: kill {i}\r\n\r\nbody {i}\r\n".encode())
                self.assertEqual(code, 250, text)
                acked.add(h.QUEUED_RE.search(text.decode()).group(1))
        d.kill9()
        d.start()
        wait_log(d, "I/O engine epoll")
        self.assertEqual(acked - set(d.queue_by_id()), set(),
                         "acknowledged messages missing after kill -9 and restart")

    def test_auto_falls_back_to_epoll_when_seccomp_denies_io_uring(self):
        sink = self.start_sink()
        d = self.start_relay(sink, "--io_engine=auto", launcher=[deny_io_uring()])
        log = wait_log(d, "I/O engine epoll")
        self.assertEqual(log.count(FALLBACK_LINE), 1, log)
        self.assertIn("Operation not permitted", log)
        self.assertIn("I/O engine epoll", log)
        self.relay(d, sink, "fallback")

    def test_uring_requested_where_denied_is_a_clear_start_error(self):
        d = h.Ternd(["--io_engine=uring"], launcher=[deny_io_uring()])
        self.addCleanup(d.cleanup)
        with self.assertRaises(AssertionError):
            d.start()
        self.assertIn("--io_engine=uring", d.log())

    def test_auto_uses_io_uring_where_it_runs(self):
        d = self.start_ternd("--io_engine=auto")
        log = wait_log(d, "I/O engine io_uring")
        self.assertNotIn(FALLBACK_LINE, log)


if __name__ == "__main__":
    h.main()
