"""Delivery events on a webhook, end to end: a real ternd relays to a recording aiosmtpd sink
and POSTs its events to a Python http.server receiver (tests/integration/webhook_receiver.py).

- At least once across everything: client threads send hundreds of messages while the
  receiver fails 20% of the POSTs, is down for 10 s, and ternd is killed -9 twice. Every
  acknowledged message's `received` and `delivered` events arrive, every signature verifies,
  and the backlog drains to zero.
- What the events say: delivered, deferred and bounced (with their class and reply), the
  DSN's received, and suppressed (--suppressed_action=drop).
- https verified against --webhook_ca_file; without it the system's CAs refuse the test's
  certificate, nothing is posted, and the failures are counted as "tls".
- --webhook_max_age: events a dead receiver never took are given up and counted.
TERN_WEBHOOK_MESSAGES changes the number of messages of the first test (default 600).
"""

import collections
import os
import shutil
import sys
import tempfile
import threading

import ternd_harness as h
from test_relay import DOMAIN, SENDER, RelayTestCase, unique_body
from test_relay_no_loss import acknowledged_by, free_port, start_senders
from webhook_receiver import WebhookReceiver

MESSAGES = int(os.environ.get("TERN_WEBHOOK_MESSAGES", "600"))
SECRET = b"a webhook secret \x01 with bytes"
DOWN_S = 10


class WebhookTestCase(RelayTestCase):
    def start_receiver(self, **kwargs):
        receiver = WebhookReceiver(**kwargs).start()
        self.addCleanup(receiver.stop)
        return receiver

    def secret_file(self):
        path = os.path.join(self.tmp(), "webhook.secret")
        with open(path, "wb") as f:
            f.write(SECRET + b"\n")  # the final newline is not part of the secret
        os.chmod(path, 0o600)
        return path

    def tmp(self):
        if not hasattr(self, "_tmp"):
            self._tmp = tempfile.mkdtemp(prefix="tern-webhook-")
            self.addCleanup(shutil.rmtree, self._tmp, True)
        return self._tmp

    def webhook_flags(self, receiver, *extra, scheme="http"):
        return (f"--webhook={scheme}://127.0.0.1:{receiver.port}/tern/events",
                f"--webhook_secret_file={self.secret_file()}", *extra)

    def posted(self, receiver, kind, recipient=None):
        return [e for e in receiver.events()
                if e["type"] == kind and (recipient is None or e["recipient"] == recipient)]


class AtLeastOnceTest(WebhookTestCase):
    def test_no_event_lost_across_receiver_failures_and_two_kill9(self):
        sink = self.start_sink()
        receiver = self.start_receiver(secret=SECRET, fail_rate=0.2)
        port = free_port()
        d = self.start_ternd(f"--route={DOMAIN}=[127.0.0.1]:{sink.port}", "--retry_schedule=1s",
                             *self.webhook_flags(receiver, "--webhook_batch=25"),
                             listen=(f"127.0.0.1:{port}",), deliver=True)
        stop = threading.Event()
        senders = start_senders(port, MESSAGES, stop)

        def acked():
            return sum(len(s.acked) for s in senders)

        came_back = threading.Timer(DOWN_S, receiver.come_back)
        try:
            h.wait_for(lambda: acked() >= MESSAGES // 4, 300, what="a quarter sent")
            d.kill9()
            d.start()
            h.wait_for(lambda: acked() >= MESSAGES // 2, 300, what="half sent")
            receiver.go_down()
            came_back.start()
            h.wait_for(lambda: acked() >= MESSAGES * 3 // 4, 300,
                       what="three quarters sent")
            d.kill9()
            d.start()
        finally:
            for s in senders:
                s.join(timeout=h.scaled(600))
            stop.set()
            came_back.join()
        for s in senders:
            self.assertEqual(s.left, [], "a sender could not send everything")
        acknowledged = acknowledged_by(senders)
        self.assertEqual(len(acknowledged), MESSAGES)
        expected = {(mid, kind) for mid in acknowledged for kind in ("received", "delivered")}

        def missing():
            got = {(e["message_id"], e["type"]) for e in receiver.events()}
            return expected - got

        h.wait_for(lambda: not missing(), 300,
                   what="every acknowledged message's received and delivered events")
        events = receiver.events()
        by_id = collections.Counter(e["event_id"] for e in events)
        by_kind = collections.Counter(e["type"] for e in events)
        sys.stderr.write(f"\nwebhook: acknowledged={len(acknowledged)} events={len(events)} "
                         f"{dict(by_kind)} repeated event_ids={sum(by_id.values()) - len(by_id)} "
                         f"posts ok={receiver.posts} failed on purpose={receiver.failed}\n")
        self.assertEqual(receiver.bad_signatures, 0)
        self.assertEqual(receiver.bad_bodies, 0)
        self.assertEqual(receiver.paths, {"/tern/events"})
        self.assertGreater(receiver.failed, 0, "the receiver failed no POST: not tested")
        for e in events:
            self.assertEqual(len(e["event_id"]), 32, e)
            self.assertRegex(e["queue_id"], r"^[0-9a-f]{16}$")
            if e["message_id"] in acknowledged:
                self.assertEqual(e["sender"], f"a@{DOMAIN}", e)
                n = e["message_id"].split("-")[-1].split("@")[0]
                self.assertEqual(e["recipient"], f"b{n}@{DOMAIN}", e)
        # Each acknowledged message has a queue id with both its received and its delivered
        # event. (A client that lost its 250 to a kill sends the message again: a second queue
        # id. The first copy, stored but never acknowledged, may lack its received event: the
        # kill can come between the spool's fdatasync and the journal's, which run at once.)
        kinds = collections.defaultdict(set)
        queue_ids = collections.defaultdict(set)
        for e in events:
            kinds[e["queue_id"]].add(e["type"])
            queue_ids[e["message_id"]].add(e["queue_id"])
        for mid in acknowledged:
            self.assertTrue(any({"received", "delivered"} <= kinds[q] for q in queue_ids[mid]),
                            f"{mid}: {[(q, kinds[q]) for q in queue_ids[mid]]}")
        h.wait_for(lambda: d.metrics().total("tern_events_backlog_events") == 0, 120,
                   what="an empty webhook backlog")
        m = d.metrics()
        self.assertEqual(m.total("tern_events_dropped_total"), 0)
        self.assertEqual(m.total("tern_events_oldest_age_seconds"), 0)


class EventContentTest(WebhookTestCase):
    def test_each_outcome_posts_its_event(self):
        sink = self.start_sink()
        sink.reply_to_rcpt("550 5.1.1 <gone@relay.test>: Recipient address rejected: User "
                           "unknown", recipients=[f"gone@{DOMAIN}"])
        sink.reply_to_rcpt("452 4.2.2 mailbox full", recipients=[f"full@{DOMAIN}"])
        receiver = self.start_receiver(secret=SECRET)
        d = self.start_relay(sink, "--retry_schedule=1h", "--suppressed_action=drop",
                             *self.webhook_flags(receiver))
        body = unique_body("outcomes")
        self.send(d, SENDER, [f"ok@{DOMAIN}", f"gone@{DOMAIN}", f"full@{DOMAIN}"], body)
        h.wait_for(lambda: (self.posted(receiver, "delivered", f"ok@{DOMAIN}") and
                            self.posted(receiver, "bounced") and
                            self.posted(receiver, "deferred")), 60,
                   what="delivered, bounced and deferred events")
        (delivered,) = self.posted(receiver, "delivered", f"ok@{DOMAIN}")
        (bounced,) = self.posted(receiver, "bounced")
        (deferred,) = self.posted(receiver, "deferred")
        received = self.posted(receiver, "received")
        self.assertEqual(sorted(e["recipient"] for e in received if e["sender"] == SENDER),
                         sorted([f"ok@{DOMAIN}", f"gone@{DOMAIN}", f"full@{DOMAIN}"]))
        self.assertEqual(delivered["recipient"], f"ok@{DOMAIN}")
        self.assertTrue(delivered["reply"].startswith("250"), delivered)
        self.assertIn("127.0.0.1", delivered["destination"])
        self.assertEqual(delivered["class"], "")
        self.assertEqual(delivered["attempts"], 1)
        self.assertEqual(bounced["class"], "bad-mailbox")
        self.assertTrue(bounced["reply"].startswith("550 5.1.1"), bounced)
        self.assertEqual(deferred["class"], "quota-issues")
        self.assertTrue(deferred["reply"].startswith("452 4.2.2"), deferred)
        queue_id = received[0]["queue_id"]
        for e in (delivered, bounced, deferred):
            self.assertEqual(e["queue_id"], queue_id)
            self.assertEqual(e["sender"], SENDER)
            self.assertLessEqual(e["received_time"], e["time"])
        # The bounce's DSN is a message of its own, received for the original sender.
        h.wait_for(lambda: [e for e in self.posted(receiver, "received", SENDER)
                            if e["sender"] == ""], 60, what="the DSN's received event")

        # gone@ is suppressed now; with --suppressed_action=drop the next message to it is
        # accepted and the recipient dropped with a suppressed event.
        self.send(d, SENDER, [f"gone@{DOMAIN}"], unique_body("again"))
        (suppressed,) = h.wait_for(lambda: self.posted(receiver, "suppressed"), 60,
                                   what="a suppressed event")
        self.assertEqual(suppressed["recipient"], f"gone@{DOMAIN}")
        self.assertEqual(receiver.bad_signatures, 0)
        m = d.metrics()
        h.wait_for(lambda: d.metrics().total("tern_events_backlog_events") == 0, 60,
                   what="an empty backlog")
        self.assertGreaterEqual(m.total("tern_webhook_posts_total", result="ok"), 1)
        self.assertEqual(m.total("tern_events_dropped_total"), 0)


class HttpsTest(WebhookTestCase):
    def certificate(self):
        cert = os.path.join(self.tmp(), "hook.crt")
        key = os.path.join(self.tmp(), "hook.key")
        done = h.run_tool(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                           "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj",
                           "/CN=hooks.tern.test", "-addext", "subjectAltName=IP:127.0.0.1",
                           "-keyout", key, "-out", cert])
        self.assertEqual(done.returncode, 0, done.stderr)
        return cert, key

    def test_https_is_verified(self):
        cert, key = self.certificate()
        sink = self.start_sink()
        receiver = self.start_receiver(secret=SECRET, tls=(cert, key))
        trusting = self.start_relay(
            sink, *self.webhook_flags(receiver, f"--webhook_ca_file={cert}", scheme="https"))
        self.send(trusting, SENDER, [f"tls@{DOMAIN}"], unique_body("https"))
        h.wait_for(lambda: self.posted(receiver, "delivered", f"tls@{DOMAIN}"), 60,
                   what="a delivered event over https")

        # Without the CA the system's store does not know the test's certificate.
        untrusting = self.start_relay(sink, *self.webhook_flags(receiver, scheme="https"))
        self.send(untrusting, SENDER, [f"untrusted@{DOMAIN}"], unique_body("untrusted"))
        h.wait_for(lambda: untrusting.metrics().total("tern_webhook_posts_total",
                                                     result="tls") >= 1,
                   60, what="a refused certificate")
        self.wait_queue_empty(untrusting)
        self.assertEqual(self.posted(receiver, "delivered", f"untrusted@{DOMAIN}"), [])
        self.assertGreater(untrusting.metrics().total("tern_events_backlog_events"), 0)


class MaxAgeTest(WebhookTestCase):
    def test_events_older_than_max_age_are_given_up_and_counted(self):
        sink = self.start_sink()
        receiver = self.start_receiver(secret=SECRET, fail_rate=1.0)  # refuses every POST
        d = self.start_relay(sink, *self.webhook_flags(receiver, "--webhook_max_age=2s"))
        self.send(d, SENDER, [f"old@{DOMAIN}"], unique_body("old"))
        self.wait_queue_empty(d)
        # The first retries come 1, 2, 4 s apart: past 2 s the events are given up.
        h.wait_for(lambda: d.metrics().total("tern_events_dropped_total", reason="age") >= 2,
                   60, what="events given up for their age")
        self.assertEqual(d.metrics().total("tern_events_backlog_events"), 0)
        receiver.fail_rate = 0.0
        self.send(d, SENDER, [f"new@{DOMAIN}"], unique_body("new"))
        h.wait_for(lambda: self.posted(receiver, "delivered", f"new@{DOMAIN}"), 60,
                   what="the next events, once the receiver answers")
        self.assertEqual(self.posted(receiver, "delivered", f"old@{DOMAIN}"), [])


class WebhookConfigTest(WebhookTestCase):
    def test_check_config_names_the_webhook_problems(self):
        spool = os.path.join(self.tmp(), "spool")
        os.makedirs(spool)
        empty = os.path.join(self.tmp(), "empty.secret")
        open(empty, "w").close()
        proc = h.run_tool([h.TERND, "--check_config", f"--spool_dir={spool}",
                           "--listen=127.0.0.1:0", "--delivery_log=",
                           "--webhook=http://127.0.0.1:1/hook",
                           f"--webhook_secret_file={empty}"])
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(b"--webhook_secret_file", proc.stderr)
        self.assertIn(b"is empty", proc.stderr)
        proc = h.run_tool([h.TERND, "--check_config", f"--spool_dir={spool}",
                           "--listen=127.0.0.1:0", "--delivery_log=", "--webhook=ftp://x/y"])
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn(b"--webhook", proc.stderr)


if __name__ == "__main__":
    h.main()
