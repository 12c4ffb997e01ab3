"""SIGTERM drains a relaying ternd: a transaction in flight to the next hop finishes and
its result is recorded (the restart does not send it again), idle outbound connections
say QUIT before ternd exits 0, mail still queued is delivered after the restart, and an
SMTP client in the middle of a session is told 421 4.3.2.
"""

import smtplib

import ternd_harness
from recording_sink import RecordingSink
from ternd_harness import make_body, scaled, wait_for

DOMAIN = "drain.test"


class DrainTest(ternd_harness.TerndTestCase):
    def test_sigterm_finishes_transactions_and_quits_connections(self):
        sink = RecordingSink().start()
        self.addCleanup(sink.stop)
        d = self.start_ternd(f"--route={DOMAIN}=[127.0.0.1]:{sink.port}",
                             "--connection_idle_timeout=5m", "--retry_schedule=1h",
                             "--shutdown_grace=20s", deliver=True)
        with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=scaled(30)) as s:
            s.sendmail(f"a@{DOMAIN}", [f"first@{DOMAIN}"], make_body("first"))
        sink.wait_for_messages(1)  # its connection now idles in the pool (5 minutes)
        # The next one is in flight when SIGTERM comes: the sink answers its data late.
        sink.delay_data(2.0, times=1)
        with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=scaled(30)) as s:
            s.sendmail(f"a@{DOMAIN}", [f"slow@{DOMAIN}"], make_body("slow"))
        wait_for(lambda: sum(c.commands.count("DATA") for c in sink.connection_log()) == 2,
                 scaled(10), what="the slow message's DATA at the sink")
        self.assertEqual(len(sink.messages()), 1, "the slow message is still in flight")
        with d.smtp() as client:  # a client mid-session
            client.ehlo()
            rc = d.stop()
            self.assertEqual(rc, 0)
            self.assertIn(" 4.3.2", client.read_reply().text)
        self.assertEqual(len(sink.messages()), 2, "the transaction in flight finished")
        log = sink.connection_log()
        for conn in log:
            self.assertEqual(conn.commands[-1], "QUIT", f"connection {conn.number}: {conn}")
            self.assertFalse(conn.open)
        delivered = [e["recipient"] for e in d.delivery_events() if e["event"] == "delivered"]
        self.assertEqual(sorted(delivered), [f"first@{DOMAIN}", f"slow@{DOMAIN}"])
        d.start()
        self.assertEqual(d.queue_json()["total"], 0)
        self.assertEqual(len(sink.messages()), 2, "nothing is sent twice after the restart")


if __name__ == "__main__":
    ternd_harness.main()
