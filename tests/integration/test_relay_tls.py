"""Outbound STARTTLS: ternd relays to the recording aiosmtpd sink offering STARTTLS (Python's
ssl on the server side, an independent TLS implementation). Opportunistic by default, with a
fallback to plaintext after a failed handshake; --outbound_tls=required and per-next-hop
policies defer rather than send in plaintext; TLS sessions are resumed across connections,
and an idle TLS connection parked by one shard is continued by another."""

import shutil
import smtplib
import ssl
import tempfile

import ternd_harness
from recording_sink import RecordingSink
from ternd_harness import make_body, scaled, wait_for

DOMAIN = "relay.test"
SENDER = f"sender@{DOMAIN}"
FAST_RETRY = ["--retry_schedule=1s", "--connection_idle_timeout=30s"]


class RelayTlsTest(ternd_harness.TerndTestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tern-relay-tls-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.cert, self.key = ternd_harness.make_certificate(self.dir, "sink.test")

    def server_context(self, old_protocols_only=False):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        if old_protocols_only:  # a server Tern must refuse to talk TLS with
            context.set_ciphers("DEFAULT:@SECLEVEL=0")
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.maximum_version = ssl.TLSVersion.TLSv1_1
        return context

    def start_sink(self, tls=True, **kwargs):
        context = self.server_context(**kwargs) if tls else None
        sink = RecordingSink(tls_context=context).start()
        self.addCleanup(sink.stop)
        return sink

    def start_relay(self, sink, *flags, shards=2):
        return self.start_ternd(f"--route={DOMAIN}=[127.0.0.1]:{sink.port}", *FAST_RETRY, *flags,
                                shards=shards, deliver=True)

    def send(self, d, tag, n=1):
        with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=scaled(30)) as s:
            for i in range(n):
                s.sendmail(SENDER, [f"{tag}{i}@{DOMAIN}"], make_body(f"{tag} {i}"))

    def received_per_shard(self, d):
        by_shard = d.metrics().by_label("tern_smtp_messages_total", "shard")
        return [by_shard.get(str(shard), 0) for shard in range(2)]

    def events(self, d, kind):
        return [e for e in d.delivery_events() if e["event"] == kind]

    def test_opportunistic_starttls_by_default(self):
        sink = self.start_sink()
        d = self.start_relay(sink)
        self.send(d, "opp", 3)
        messages = sink.wait_for_messages(3)
        for m in messages:
            self.assertIn(m.tls, ("TLSv1.2", "TLSv1.3"), m)
            self.assertTrue(m.body.startswith(b"Received: "))
        wait_for(lambda: len(self.events(d, "delivered")) == 3, 60, what="3 deliveries")
        self.assertGreaterEqual(d.metrics().total("tern_tls_handshakes_total",
                                                  direction="outbound", result="ok"), 1)

    def test_plaintext_when_the_server_offers_no_starttls(self):
        sink = self.start_sink(tls=False)
        d = self.start_relay(sink)
        self.send(d, "plain", 2)
        for m in sink.wait_for_messages(2):
            self.assertEqual(m.tls, "")
        self.assertEqual(d.metrics().total("tern_tls_handshakes_total",
                                           direction="outbound", result="ok"), 0)

    def test_required_policy_defers_without_starttls_and_delivers_with_it(self):
        plain = self.start_sink(tls=False)
        # The policy names the next hop: here the route's host.
        d = self.start_relay(plain, "--outbound_tls_policy=127.0.0.1=required")
        self.send(d, "req", 1)
        deferred = wait_for(lambda: self.events(d, "deferred"), 60, what="a deferral")
        self.assertIn("4.7.10", deferred[0]["reply"])
        self.assertIn("TLS is required", deferred[0]["reply"])
        self.assertEqual(plain.messages(), [])
        d.stop()
        # The same queue, now towards a sink that offers STARTTLS, with --outbound_tls=required.
        secure = self.start_sink()
        d2 = self.start_ternd(f"--route={DOMAIN}=[127.0.0.1]:{secure.port}", *FAST_RETRY,
                              "--outbound_tls=required", spool_dir=d.spool_dir, deliver=True)
        [m] = secure.wait_for_messages(1)
        self.assertIn(m.tls, ("TLSv1.2", "TLSv1.3"))
        wait_for(lambda: d2.metrics().total("tern_queue_messages") == 0, 60, what="empty queue")

    def test_failed_handshake_is_deferred_then_sent_in_plaintext(self):
        sink = self.start_sink(old_protocols_only=True)
        d = self.start_relay(sink)
        self.send(d, "fallback", 1)
        deferred = wait_for(lambda: self.events(d, "deferred"), 60, what="a deferral")
        self.assertIn("TLS handshake failed", deferred[0]["reply"])
        self.assertIn("4.7.5", deferred[0]["reply"])
        [m] = sink.wait_for_messages(1)  # the retry goes in plaintext
        self.assertEqual(m.tls, "")
        self.assertGreaterEqual(d.metrics().total("tern_tls_handshakes_total",
                                                  direction="outbound", result="failed"), 1)

    def test_tls_sessions_are_resumed_by_new_connections(self):
        sink = self.start_sink()
        d = self.start_relay(sink, "--max_messages_per_connection=1", shards=1)
        for i in range(4):
            self.send(d, f"resume{i}", 1)
            sink.wait_for_messages(i + 1)
        messages = sink.messages()
        self.assertEqual(len({m.connection for m in messages}), 4)  # one connection each
        self.assertTrue(all(m.tls for m in messages), messages)
        self.assertFalse(messages[0].tls_resumed)
        self.assertTrue(any(m.tls_resumed for m in messages[1:]),
                        [(m.connection, m.tls_resumed) for m in messages])

    def test_a_parked_tls_connection_is_continued_by_another_shard(self):
        sink = self.start_sink()
        d = self.start_relay(sink, "--max_connections_per_destination=1", shards=2)
        # Several client connections, spread over both shards (each session goes to the less
        # loaded shard; one after the other, both are often equal, so a run of sessions may
        # land on one shard: sent until each shard has some, bounded); one outbound TLS
        # connection carries everything, parked between jobs.
        sessions = 0
        while sessions < 8 or (sessions < 40 and min(self.received_per_shard(d)) == 0):
            self.send(d, f"park{sessions}-", 3)
            sessions += 1
        self.assertGreater(min(self.received_per_shard(d)), 0, "one shard got every message")
        messages = sink.wait_for_messages(3 * sessions, timeout=120)
        self.assertTrue(all(m.tls for m in messages), messages)
        wait_for(lambda: d.metrics().total("tern_queue_messages") == 0, 60, what="empty queue")
        metrics = d.metrics()
        handshakes = metrics.total("tern_tls_handshakes_total", direction="outbound", result="ok")
        reused = metrics.total("tern_delivery_connections_total", result="reused")
        self.assertGreater(reused, 0)
        # Continuing a parked TLS connection needs no new handshake.
        self.assertLess(handshakes, len({m.connection for m in messages}) + 1)
        self.assertEqual(handshakes, len({m.connection for m in messages}))


if __name__ == "__main__":
    ternd_harness.main()
