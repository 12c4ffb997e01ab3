"""End-to-end relay: clients (smtplib, swaks, raw sockets) send through a real ternd to a
recording aiosmtpd sink (recording_sink.py) and to dnsmasq-served MX records
(dnsmasq_server.py), all on loopback. Covers byte-identical bodies, connection reuse,
retries after 4xx, disconnects and slow replies, bounces (DSNs) for 5xx, null MX and
NXDOMAIN, no bounce for a bounce, MX fallback, expiry, and a restart resuming the queue.
"""

import os
import smtplib
import subprocess
import time

import ternd_harness
from dnsmasq_server import DnsmasqServer
from recording_sink import RecordingSink
from ternd_harness import make_body, scaled, wait_for

# Routed to the sink in every test: recipients and senders (so bounces arrive there too).
DOMAIN = "relay.test"
SENDER = f"sender@{DOMAIN}"
FAST_RETRY = ["--retry_schedule=1s", "--connection_idle_timeout=30s"]


def unique_body(tag, extra=b""):
    return make_body(tag, extra_headers=(f"Message-ID: <{tag}@client.test>",)) + extra


class RelayTestCase(ternd_harness.TerndTestCase):
    def start_sink(self, **kwargs):
        sink = RecordingSink(**kwargs).start()
        self.addCleanup(sink.stop)
        return sink

    def start_relay(self, sink, *flags, routes=(), shards=2):
        route = [f"--route={DOMAIN}=[127.0.0.1]:{sink.port}"] + [f"--route={r}" for r in routes]
        return self.start_ternd(*route, *FAST_RETRY, *flags, shards=shards, deliver=True)

    def send(self, d, sender, recipients, body, **kwargs):
        with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=scaled(30)) as s:
            s.sendmail(sender, recipients, body, **kwargs)

    def wait_queue_empty(self, d, timeout_s=60):
        wait_for(lambda: d.metrics().total("tern_queue_messages") == 0, timeout_s,
                 what="an empty queue")

    def events(self, d, kind, recipient=None):
        return [e for e in d.delivery_events()
                if e["event"] == kind and (recipient is None or e.get("recipient") == recipient)]

    def wait_event(self, d, kind, recipient=None, timeout_s=60):
        return wait_for(lambda: self.events(d, kind, recipient), timeout_s,
                        what=f"a '{kind}' delivery log event")


class BodiesTest(RelayTestCase):
    def test_bodies_arrive_byte_identical(self):
        sink = self.start_sink()
        d = self.start_relay(sink)
        bodies = {
            "dots": b"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nend\r\n",
            "eightbit": "Subject: 8bit\r\n\r\nGr\u00fc\u00dfe, \u00e9t\u00e9\r\n".encode(),
            "long": b"Subject: long\r\n\r\n" + b"".join(
                b"line %06d " % i + b"x" * 900 + b"\r\n" for i in range(1100)),
        }
        for tag, body in bodies.items():
            kwargs = {"mail_options": ["BODY=8BITMIME"]} if tag == "eightbit" else {}
            self.send(d, SENDER, [f"{tag}@{DOMAIN}"], body, **kwargs)
        got = {m.rcpt_tos[0].split("@")[0]: m for m in sink.wait_for_messages(3)}
        for tag, body in bodies.items():
            m = got[tag]
            # ternd adds its Received: trace header in front; the rest is untouched.
            self.assertTrue(m.body.startswith(b"Received: "), m.body[:200])
            self.assertTrue(m.body.endswith(body), f"{tag}: body changed in transit")
            self.assertEqual(m.mail_from, SENDER)
        self.assertEqual(got["eightbit"].mail_params.get("BODY"), "8BITMIME")
        self.wait_queue_empty(d)
        delivered = self.events(d, "delivered")
        self.assertEqual(len(delivered), 3)
        for e in delivered:
            self.assertIn("127.0.0.1", e["destination"])
            self.assertTrue(e["reply"].startswith("250"), e)

    def test_ternd_to_ternd_over_chunking_keeps_bodies_identical(self):
        # ternd offers CHUNKING, so the first relay sends BDAT (the stored, dot-stuffed body
        # unstuffed on the way out, without a copy); the second one relays to the sink.
        sink = self.start_sink()
        second = self.start_relay(sink)
        first = self.start_ternd(f"--route={DOMAIN}=[127.0.0.1]:{second.smtp_port}",
                                 *FAST_RETRY, deliver=True)
        body = (b"Subject: chain\r\n\r\n.leading dot\r\n..two dots\r\n.\r\n"
                + "8-bit: \u00e9t\u00e9\r\n".encode() + (b"x" * 900 + b"\r\n") * 20
                + b"end\r\n")
        self.send(first, SENDER, [f"chain@{DOMAIN}"], body, mail_options=["BODY=8BITMIME"])
        (m,) = sink.wait_for_messages(1)
        self.assertTrue(m.body.endswith(body), "body changed across two relays")
        self.assertEqual(m.body.count(b"Received: "), 2)
        self.wait_queue_empty(first)
        self.wait_queue_empty(second)
        self.assertEqual(first.metrics().total("tern_delivery_recipients_total",
                                               result="delivered"), 1)

    def test_swaks_pipelined_to_the_sink(self):
        sink = self.start_sink()
        d = self.start_relay(sink)
        proc = subprocess.run(
            ["swaks", "--server", f"127.0.0.1:{d.smtp_port}", "--pipeline", "--from", SENDER,
             "--to", f"a@{DOMAIN},b@{DOMAIN}", "--header", "Subject: via swaks"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=scaled(60))
        self.assertEqual(proc.returncode, 0, proc.stdout.decode(errors="replace"))
        (m,) = sink.wait_for_messages(1)
        self.assertEqual(sorted(m.rcpt_tos), [f"a@{DOMAIN}", f"b@{DOMAIN}"])
        self.assertEqual(m.header("Subject"), "via swaks")

    def test_one_connection_carries_many_messages(self):
        # At most 4 connections: with 20 (the default), a loaded host that falls behind the
        # sender opens a connection per waiting message, and pipelining may then leave some
        # of them nothing to carry; what is tested here is that they carry many each.
        sink = self.start_sink()
        d = self.start_relay(sink, "--max_connections_per_destination=4", shards=1)
        with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=scaled(30)) as s:
            for i in range(40):
                s.sendmail(SENDER, [f"r{i}@{DOMAIN}"], unique_body(f"many-{i}"))
        sink.wait_for_messages(40)
        self.wait_queue_empty(d)
        per_connection = sink.messages_per_connection()
        self.assertGreaterEqual(max(per_connection.values()), 10, per_connection)
        m = d.metrics()
        self.assertEqual(m.total("tern_delivery_recipients_total", result="delivered"), 40)
        self.assertLessEqual(m.total("tern_delivery_connections_total", result="opened"), 4)

    def test_idle_connection_is_parked_and_reused_by_any_shard(self):
        sink = self.start_sink()
        d = self.start_relay(sink, shards=2)
        for i in range(4):
            self.send(d, SENDER, [f"park{i}@{DOMAIN}"], unique_body(f"park-{i}"))
            sink.wait_for_messages(i + 1)
            # Idle for more than a maintenance interval: the connection goes to the shared
            # pool, and the next message (on either shard) continues it.
            time.sleep(2.2)
        self.assertEqual(sink.connection_count(), 1, sink.messages_per_connection())
        m = d.metrics()
        self.assertGreaterEqual(m.total("tern_delivery_connections_total", result="reused"), 1)
        self.assertEqual(m.total("tern_delivery_connections_total", result="opened"), 1)

    def test_dsn_parameters_are_passed_on(self):
        sink = self.start_sink()
        d = self.start_relay(sink)
        with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=scaled(30)) as s:
            s.ehlo()
            s.sendmail(SENDER, [f"dsn@{DOMAIN}"], unique_body("dsn-params"),
                       mail_options=["RET=HDRS", "ENVID=env-42"],
                       rcpt_options=["NOTIFY=FAILURE,DELAY", f"ORCPT=rfc822;dsn@{DOMAIN}"])
        (m,) = sink.wait_for_messages(1)
        self.assertEqual(m.mail_params.get("RET"), "HDRS")
        self.assertEqual(m.mail_params.get("ENVID"), "env-42")
        params = m.rcpt_params[f"dsn@{DOMAIN}"]
        self.assertEqual(params.get("NOTIFY"), "FAILURE,DELAY")
        self.assertEqual(params.get("ORCPT"), f"rfc822;dsn@{DOMAIN}")


class FaultsTest(RelayTestCase):
    def test_tempfail_then_success_is_retried(self):
        sink = self.start_sink()
        sink.reply_to_data("451 4.3.0 try again later", times=1)
        d = self.start_relay(sink)
        self.send(d, SENDER, [f"retry@{DOMAIN}"], unique_body("retry"))
        sink.wait_for_messages(1)
        self.wait_queue_empty(d)
        deferred = self.events(d, "deferred", f"retry@{DOMAIN}")
        delivered = self.events(d, "delivered", f"retry@{DOMAIN}")
        self.assertEqual(len(deferred), 1)
        self.assertIn("451 4.3.0", deferred[0]["reply"])
        self.assertEqual(len(delivered), 1)
        self.assertEqual(delivered[0]["attempts"], 2)
        self.assertEqual([t.outcome for t in sink.transactions()], ["rejected", "accepted"])

    def test_some_recipients_fail_others_deliver(self):
        sink = self.start_sink()
        sink.reply_to_rcpt("550 5.1.1 no such user", recipients=[f"nobody@{DOMAIN}"])
        sink.reply_to_rcpt("452 4.2.2 mailbox full", recipients=[f"full@{DOMAIN}"], times=1)
        d = self.start_relay(sink)
        self.send(d, SENDER, [f"ok@{DOMAIN}", f"nobody@{DOMAIN}", f"full@{DOMAIN}"],
                  unique_body("mixed"))
        self.wait_queue_empty(d)
        self.assertEqual(len(self.events(d, "delivered", f"ok@{DOMAIN}")), 1)
        self.assertEqual(len(self.events(d, "bounced", f"nobody@{DOMAIN}")), 1)
        self.assertEqual(len(self.events(d, "deferred", f"full@{DOMAIN}")), 1)
        self.assertEqual(len(self.events(d, "delivered", f"full@{DOMAIN}")), 1)
        (bounce,) = sink.wait_for_bounces(1)
        self.assertEqual(bounce.rcpt_tos, [SENDER])
        status = bounce.delivery_status()
        per_recipient = [g for g in status if "final-recipient" in g]
        self.assertEqual(len(per_recipient), 1, status)
        self.assertIn(f"nobody@{DOMAIN}", per_recipient[0]["final-recipient"])
        self.assertEqual(per_recipient[0]["action"], "failed")
        self.assertEqual(per_recipient[0]["status"], "5.1.1")
        self.assertIn("550 5.1.1", per_recipient[0].get("diagnostic-code", ""))
        self.assertEqual(bounce.parsed().get_content_type(), "multipart/report")

    def test_permanent_failure_bounces_with_the_original_headers(self):
        sink = self.start_sink()
        sink.reply_to_data("554 5.6.0 content refused", recipients=[f"refuse@{DOMAIN}"])
        d = self.start_relay(sink)
        self.send(d, SENDER, [f"refuse@{DOMAIN}"], unique_body("refused"))
        (bounce,) = sink.wait_for_bounces(1)
        self.assertTrue(bounce.is_bounce)
        self.assertIn(b"Message-ID: <refused@client.test>", bounce.body)
        self.wait_queue_empty(d)
        m = d.metrics()
        self.assertEqual(m.total("tern_delivery_recipients_total", result="bounced"), 1)
        self.assertEqual(m.total("tern_delivery_dsns_queued_total"), 1)

    def test_no_bounce_for_a_bounce(self):
        sink = self.start_sink()
        sink.reply_to_rcpt("550 5.1.1 no such user", recipients=[f"gone@{DOMAIN}"])
        d = self.start_relay(sink)
        self.send(d, "", [f"gone@{DOMAIN}"], unique_body("bounce-of-bounce"))
        self.wait_event(d, "bounced", f"gone@{DOMAIN}")
        self.wait_queue_empty(d)
        self.assertEqual(d.metrics().total("tern_delivery_dsns_queued_total"), 0)
        self.assertEqual(sink.bounces(), [])

    def test_notify_never_gets_no_bounce(self):
        sink = self.start_sink()
        sink.reply_to_rcpt("550 5.1.1 no such user", recipients=[f"quiet@{DOMAIN}"])
        d = self.start_relay(sink)
        with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=scaled(30)) as s:
            s.ehlo()
            s.sendmail(SENDER, [f"quiet@{DOMAIN}"], unique_body("never"),
                       rcpt_options=["NOTIFY=NEVER"])
        self.wait_event(d, "bounced", f"quiet@{DOMAIN}")
        self.wait_queue_empty(d)
        self.assertEqual(d.metrics().total("tern_delivery_dsns_queued_total"), 0)

    def test_notify_success_is_reported_when_the_next_hop_lacks_dsn(self):
        sink = self.start_sink(dsn=False)
        d = self.start_relay(sink)
        with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=scaled(30)) as s:
            s.ehlo()
            s.sendmail(SENDER, [f"told@{DOMAIN}"], unique_body("success"),
                       rcpt_options=["NOTIFY=SUCCESS"])
        (report,) = sink.wait_for_bounces(1)
        self.assertEqual(report.rcpt_tos, [SENDER])
        per_recipient = [g for g in report.delivery_status() if "final-recipient" in g]
        self.assertEqual(per_recipient[0]["action"], "relayed")
        self.assertTrue(per_recipient[0]["status"].startswith("2."), per_recipient)
        self.assertEqual(report.header("Subject"), "Successful Mail Delivery Report")

    def test_notify_success_is_passed_on_to_a_next_hop_with_dsn(self):
        sink = self.start_sink()  # offers DSN: the report is its business
        d = self.start_relay(sink)
        with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=scaled(30)) as s:
            s.ehlo()
            s.sendmail(SENDER, [f"told@{DOMAIN}"], unique_body("passed-on"),
                       rcpt_options=["NOTIFY=SUCCESS"])
        (m,) = sink.wait_for_messages(1)
        self.assertEqual(m.rcpt_params[f"told@{DOMAIN}"].get("NOTIFY"), "SUCCESS")
        self.wait_queue_empty(d)
        self.assertEqual(d.metrics().total("tern_delivery_dsns_queued_total"), 0)

    def test_smtputf8_toward_a_server_without_it_bounces_with_5_6_7(self):
        sink = self.start_sink(smtputf8=False)
        d = self.start_relay(sink)
        with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=scaled(30)) as s:
            s.ehlo()
            s.sendmail(SENDER, [f"utf8@{DOMAIN}"], unique_body("utf8"),
                       mail_options=["SMTPUTF8"])
        (bounce,) = sink.wait_for_bounces(1)
        per_recipient = [g for g in bounce.delivery_status() if "final-recipient" in g]
        self.assertEqual(per_recipient[0]["status"], "5.6.7")
        self.assertEqual([m for m in sink.messages() if not m.is_bounce], [])

    def test_disconnect_after_data_is_retried(self):
        sink = self.start_sink()
        sink.disconnect_after_data(times=1)
        d = self.start_relay(sink)
        self.send(d, SENDER, [f"cut@{DOMAIN}"], unique_body("cut"))
        self.wait_event(d, "delivered", f"cut@{DOMAIN}")
        self.assertEqual([t.outcome for t in sink.transactions()], ["disconnected", "accepted"])
        self.assertEqual(len(self.events(d, "deferred", f"cut@{DOMAIN}")), 1)

    def test_slow_reply_times_out_and_is_retried(self):
        sink = self.start_sink()
        sink.delay_data(3, times=1)
        d = self.start_relay(sink, "--outbound_reply_timeout=1s")
        self.send(d, SENDER, [f"slow@{DOMAIN}"], unique_body("slow"))
        self.wait_event(d, "delivered", f"slow@{DOMAIN}")
        deferred = self.events(d, "deferred", f"slow@{DOMAIN}")
        self.assertEqual(len(deferred), 1)
        self.assertGreaterEqual(d.metrics().total("tern_client_timeouts_total"), 1)

    def test_server_down_defers_then_expires_with_a_bounce(self):
        sink = self.start_sink()
        # Recipients go to a port where nothing listens; the bounce goes to the sink.
        dead = RecordingSink().start()
        dead_port = dead.port
        dead.stop()
        d = self.start_relay(sink, "--max_queue_lifetime=3s",
                             routes=[f"down.test=[127.0.0.1]:{dead_port}"])
        self.send(d, SENDER, ["x@down.test"], unique_body("expire"))
        (bounce,) = sink.wait_for_bounces(1, timeout=60)
        self.wait_queue_empty(d)
        self.assertGreaterEqual(len(self.events(d, "deferred", "x@down.test")), 1)
        self.assertEqual(len(self.events(d, "expired", "x@down.test")), 1)
        per_recipient = [g for g in bounce.delivery_status() if "final-recipient" in g]
        self.assertEqual(per_recipient[0]["action"], "failed")
        self.assertEqual(per_recipient[0]["status"], "5.4.7", per_recipient)
        self.assertIn("smtp; 4", per_recipient[0]["diagnostic-code"], per_recipient)

    def test_restart_resumes_deferred_mail(self):
        sink = self.start_sink()
        sink.reply_to_data("451 4.3.0 not now", times=1)
        d = self.start_relay(sink, "--retry_schedule=3s")
        self.send(d, SENDER, [f"later@{DOMAIN}"], unique_body("resume"))
        self.wait_event(d, "deferred", f"later@{DOMAIN}")
        d.restart()
        self.wait_event(d, "delivered", f"later@{DOMAIN}")
        self.wait_queue_empty(d)
        self.assertEqual(len(sink.messages()), 1)


class DnsTest(RelayTestCase):
    """MX resolution through dnsmasq: the route names a domain without brackets, so ternd
    looks up its MX and connects to each host on the sink's port."""

    def start_dns(self, **records):
        dns = DnsmasqServer(**records)
        dns.start()
        self.addCleanup(dns.cleanup)
        return dns

    def start_dns_relay(self, sink, dns, *domains):
        routes = [f"{name}={name}:{sink.port}" for name in domains]
        return self.start_relay(sink, f"--dns_servers={dns.address}", routes=routes)

    def test_first_mx_down_next_mx_gets_the_mail(self):
        sink = self.start_sink()
        dns = self.start_dns(
            mx_records=[("mx.test", "mx1.mx.test", 10), ("mx.test", "mx2.mx.test", 20)],
            a_records=[("mx1.mx.test", "127.0.0.2"), ("mx2.mx.test", "127.0.0.1")])
        d = self.start_dns_relay(sink, dns, "mx.test")
        self.send(d, SENDER, ["user@mx.test"], unique_body("mx-fallback"))
        (m,) = sink.wait_for_messages(1)
        self.assertEqual(m.rcpt_tos, ["user@mx.test"])
        (e,) = self.wait_event(d, "delivered", "user@mx.test")
        self.assertTrue(e["destination"].startswith("mx2.mx.test"), e)
        self.assertGreaterEqual(d.metrics().total("tern_delivery_connections_total",
                                                  result="failed"), 1)

    def test_no_mx_falls_back_to_the_address(self):
        sink = self.start_sink()
        dns = self.start_dns(a_records=[("plain.test", "127.0.0.1")])
        d = self.start_dns_relay(sink, dns, "plain.test")
        self.send(d, SENDER, ["user@plain.test"], unique_body("implicit-mx"))
        sink.wait_for_messages(1)
        self.wait_event(d, "delivered", "user@plain.test")

    def test_null_mx_bounces_at_once(self):
        sink = self.start_sink()
        dns = self.start_dns(null_mx=["nomail.test"])
        d = self.start_dns_relay(sink, dns, "nomail.test")
        self.send(d, SENDER, ["user@nomail.test"], unique_body("null-mx"))
        (bounce,) = sink.wait_for_bounces(1)
        per_recipient = [g for g in bounce.delivery_status() if "final-recipient" in g]
        self.assertEqual(per_recipient[0]["status"], "5.1.10")
        self.assertEqual(self.events(d, "deferred"), [])

    def test_nxdomain_bounces_at_once(self):
        sink = self.start_sink()
        dns = self.start_dns(a_records=[("other.test", "127.0.0.1")])
        d = self.start_dns_relay(sink, dns, "missing.test")
        self.send(d, SENDER, ["user@missing.test"], unique_body("nxdomain"))
        (bounce,) = sink.wait_for_bounces(1)
        per_recipient = [g for g in bounce.delivery_status() if "final-recipient" in g]
        self.assertEqual(per_recipient[0]["status"], "5.1.2")
        self.wait_queue_empty(d)

    def test_dns_failure_defers(self):
        sink = self.start_sink()
        dns = self.start_dns(a_records=[("other.test", "127.0.0.1")])
        dead_port = dns.port
        dns.stop()  # nothing answers there any more: timeouts, i.e. temporary failures
        d = self.start_relay(sink, f"--dns_servers=127.0.0.1:{dead_port}",
                             routes=[f"dnsdown.test=dnsdown.test:{sink.port}"])
        self.send(d, SENDER, ["user@dnsdown.test"], unique_body("dns-down"))
        (e,) = self.wait_event(d, "deferred", "user@dnsdown.test")
        self.assertIn("4.4.3", e["reply"])
        self.assertEqual(sink.bounces(), [])


if __name__ == "__main__":
    ternd_harness.main()
