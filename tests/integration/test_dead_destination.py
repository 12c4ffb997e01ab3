"""A dead destination: a receiver that answers every connection with `421` at its greeting
must get a handful of connections from ternd, not one per queued message (issue 16: the
site is delayed after a few consecutive connection-level failures, its queued messages
wait without a connection each, and one probe connection tests recovery). Once the
receiver recovers, every message is delivered by retry within a bound.

The site's first delay is shortened to 10 s by a shaping policy (the built-in default is
1 minute) so that recovery is seen sooner. bench/dead_destination.py measures the same
against Postfix.
"""

import os
import shutil
import tempfile
import time

import ternd_harness
from recording_sink import RecordingSink
from ternd_harness import make_body, scaled, wait_for

DOMAIN = "dead.test"
MESSAGES = 200
# The window in which connections are counted, from the first message on, and the most
# ternd may open in it. Not scaled: a slower machine makes ternd open fewer, not more.
WINDOW_S = 20
MAX_CONNECTIONS = 10
# After the receiver recovers: every message delivered within this (scaled) bound. The
# probe interval of a dead site must stay below it with the flags below.
RECOVERY_TIMEOUT_S = 120
FLAGS = ["--retry_schedule=1s", "--connection_idle_timeout=30s"]


class DeadDestinationTest(ternd_harness.TerndTestCase):
    def workdir(self):
        d = tempfile.mkdtemp(prefix="tern-dead-")
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def test_refusing_receiver_gets_a_handful_of_connections_then_the_mail(self):
        sink = RecordingSink().start()
        self.addCleanup(sink.stop)
        sink.reply_to_greeting("421 4.7.0 dead.test: try again later")
        policy = os.path.join(self.workdir(), "shaping.toml")
        with open(policy, "w", encoding="utf-8") as f:
            f.write('[default]\nconnection_failure_delay = "10s"\n')
        d = self.start_ternd(f"--route={DOMAIN}=[127.0.0.1]:{sink.port}", *FLAGS,
                             f"--shaping={policy}", deliver=True)

        started = time.monotonic()
        message_ids = set()
        with d.smtp() as c:
            c.ehlo("client.test")
            for i in range(MESSAGES):
                message_id = f"<dead-{i}@client.test>"
                body = make_body(f"dead {i}", extra_headers=(f"Message-ID: {message_id}",))
                self.assertQueued(c.send_message("sender@client.test",
                                                 [f"rcpt{i}@{DOMAIN}"], body))
                message_ids.add(message_id)
        time.sleep(max(0.0, started + WINDOW_S - time.monotonic()))

        in_window = [c for c in sink.connections() if c.opened_at <= started + WINDOW_S]
        per_second = {}
        for c in in_window:
            second = int(c.opened_at - started)
            per_second[second] = per_second.get(second, 0) + 1
        self.assertLessEqual(
            len(in_window), MAX_CONNECTIONS,
            f"{len(in_window)} connections to a receiver refusing at the greeting in "
            f"{WINDOW_S}s for {MESSAGES} messages; per second: {sorted(per_second.items())}")
        self.assertTrue(all(c.refused_at_greeting for c in in_window))
        self.assertEqual(sink.stats()["transactions"], 0)
        self.assertEqual(d.metrics().total("tern_queue_messages"), MESSAGES)

        # The receiver recovers: the next probe succeeds and the site's mail flows.
        sink.clear_faults("connect")
        delivered = sink.wait_for_messages(MESSAGES, timeout=RECOVERY_TIMEOUT_S)
        wait_for(lambda: d.metrics().total("tern_queue_messages") == 0, RECOVERY_TIMEOUT_S,
                 what="an empty queue")
        # Every message, at least once (a retry after a lost reply may repeat one).
        self.assertGreaterEqual(len(delivered), MESSAGES)
        self.assertEqual({m.header("Message-ID") for m in delivered}, message_ids)
        self.assertLessEqual(time.monotonic() - started,
                             WINDOW_S + scaled(RECOVERY_TIMEOUT_S) + scaled(60))


if __name__ == "__main__":
    ternd_harness.main()
