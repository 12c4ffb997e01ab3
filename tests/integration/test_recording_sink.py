"""Self-tests of the delivery-test infrastructure: recording_sink.RecordingSink (driven with
smtplib and raw sockets) and dnsmasq_server.DnsmasqServer (queried with the module's own
raw DNS client). No ternd involved: --ternd/--ternctl are accepted and ignored so CTest
can run this like the other integration scripts.

    /usr/bin/python3 tests/integration/test_recording_sink.py [SinkFaultTest.test_...]
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
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import dnsmasq_server  # noqa: E402
import recording_sink  # noqa: E402
from dnsmasq_server import NOERROR, NXDOMAIN, DnsmasqServer  # noqa: E402
from recording_sink import DISCONNECT, RecordingSink  # noqa: E402
from ternd_harness import SmtpClient  # noqa: E402

IO_TIMEOUT_S = 30


def smtp(sink, timeout=IO_TIMEOUT_S):
    return smtplib.SMTP("127.0.0.1", sink.port, local_hostname="client.test",
                        timeout=timeout)


def raw(sink):
    """A raw-socket client (ternd_harness.SmtpClient), greeting read, EHLO done."""
    client = SmtpClient(sink.port)
    client.ehlo("raw.test")
    return client


class SinkTestCase(unittest.TestCase):
    def setUp(self):
        self.sink = RecordingSink().start()
        self.addCleanup(self.sink.stop)


class SinkRecordingTest(SinkTestCase):
    def test_smtplib_body_arrives_byte_identical(self):
        body = (b"From: a@example.test\r\nSubject: dots\r\n\r\n"
                b".\r\n..\r\n...\r\n. leading dot and space\r\n.x\r\n"
                b"caf\xc3\xa9 na\xefve \xff\xfe\x80\r\n"
                + b"y" * 998 + b"\r\n"
                b"\r\n"
                b"last line\r\n")
        with smtp(self.sink) as c:
            self.assertEqual(c.sendmail("a@example.test", ["b@example.test"], body), {})
        [m] = self.sink.wait_for_messages(1)
        self.assertEqual(m.body, body)
        self.assertEqual(m.mail_from, "a@example.test")
        self.assertEqual(m.rcpt_tos, ["b@example.test"])
        self.assertEqual(m.helo, "client.test")
        self.assertEqual(m.outcome, "accepted")
        self.assertTrue(m.reply.startswith("250 2.0.0"))

    def test_raw_bytes_are_unstuffed_and_otherwise_untouched(self):
        # Every byte value (bare CR and bare LF included) and the stuffed-dot cases.
        every_byte = bytes(range(256))
        sent = (b"Subject: raw\r\n\r\n" + every_byte + b"\r\n"
                b"..\r\n"            # a lone dot, stuffed
                b"...\r\n"           # two dots
                b"..hidden\r\n"      # a dot-leading line
                b"mid.dle\r\n"
                b"bare\nlf\r\n"      # a bare LF inside a line
                b"no dot here\r\n")
        expected = (b"Subject: raw\r\n\r\n" + every_byte + b"\r\n"
                    b".\r\n"
                    b"..\r\n"
                    b".hidden\r\n"
                    b"mid.dle\r\n"
                    b"bare\nlf\r\n"
                    b"no dot here\r\n")
        with raw(self.sink) as c:
            reply = c.send_message("a@example.test", ["b@example.test"], sent,
                                   mail_params="BODY=8BITMIME")
            self.assertEqual(reply.code, 250, reply)
        [m] = self.sink.wait_for_messages(1)
        self.assertEqual(m.body, expected)

    def test_one_megabyte_body(self):
        line = b"0123456789abcdefghijklmnopqrstuvwxyz.\xe2\x82\xac" * 2 + b"\r\n"
        lines = [b"Subject: big\r\n", b"\r\n"]
        n = 0
        while sum(map(len, lines)) < (1 << 20):
            lines.append(b"." + line if n % 7 == 0 else line)  # every 7th starts with a dot
            n += 1
        body = b"".join(lines)
        self.assertGreaterEqual(len(body), 1 << 20)
        with smtp(self.sink) as c:
            c.sendmail("a@example.test", ["b@example.test"], body,
                       mail_options=["BODY=8BITMIME"])
        [m] = self.sink.wait_for_messages(1)
        self.assertEqual(len(m.body), len(body))
        self.assertEqual(m.body, body)

    def test_envelope_and_esmtp_options_are_recorded_as_sent(self):
        with smtp(self.sink) as c:
            refused = c.sendmail(
                "", ["rcpt1@example.test", "Rcpt2@Example.test"], b"Subject: x\r\n\r\nhi\r\n",
                mail_options=["BODY=8BITMIME", "RET=HDRS", "ENVID=Qx+2BAb.1"],
                rcpt_options=["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;Orig@Example.test"])
            self.assertEqual(refused, {})
            c.sendmail("s\u00e9nder@example.test", ["r\u00e9@example.test"],
                       "Subject: utf8\r\n\r\nh\u00e9\r\n".encode(),
                       mail_options=["SMTPUTF8", "BODY=8BITMIME"])
        bounce, utf8 = self.sink.wait_for_messages(2)
        self.assertEqual(bounce.mail_from, "")
        self.assertTrue(bounce.is_bounce)
        self.assertEqual(bounce.mail_options, ["BODY=8BITMIME", "RET=HDRS", "ENVID=Qx+2BAb.1"])
        self.assertEqual(bounce.mail_params,
                         {"BODY": "8BITMIME", "RET": "HDRS", "ENVID": "Qx+2BAb.1"})
        self.assertEqual(bounce.rcpt_tos, ["rcpt1@example.test", "Rcpt2@Example.test"])
        self.assertEqual(bounce.rcpt_params["Rcpt2@Example.test"],
                         {"NOTIFY": "SUCCESS,FAILURE", "ORCPT": "rfc822;Orig@Example.test"})
        self.assertFalse(bounce.smtputf8)
        self.assertEqual(utf8.mail_from, "s\u00e9nder@example.test")
        self.assertEqual(utf8.rcpt_tos, ["r\u00e9@example.test"])
        self.assertTrue(utf8.smtputf8)
        self.assertEqual(utf8.mail_params, {"SMTPUTF8": True, "BODY": "8BITMIME"})
        self.assertEqual(self.sink.bounces(), [bounce])

    def test_bounces_and_delivery_status(self):
        dsn = (b"From: MAILER-DAEMON@relay.test\r\nTo: a@example.test\r\n"
               b"Subject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\n"
               b"Content-Type: multipart/report; report-type=delivery-status;"
               b" boundary=\"B\"\r\n\r\n"
               b"--B\r\nContent-Type: text/plain\r\n\r\nIt bounced.\r\n"
               b"--B\r\nContent-Type: message/delivery-status\r\n\r\n"
               b"Reporting-MTA: dns; relay.test\r\n\r\n"
               b"Final-Recipient: rfc822; nobody@example.net\r\nAction: failed\r\n"
               b"Status: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 no such user\r\n"
               b"\r\n--B--\r\n")
        with smtp(self.sink) as c:
            c.sendmail("a@example.test", ["b@example.test"], b"Subject: not a bounce\r\n\r\n")
            c.sendmail("<>", ["a@example.test"], dsn)
        [bounce] = self.sink.wait_for_bounces(1)
        self.assertEqual(bounce.rcpt_tos, ["a@example.test"])
        self.assertEqual(bounce.header("Subject"), "Undelivered Mail Returned to Sender")
        groups = bounce.delivery_status()
        self.assertEqual(groups[0]["reporting-mta"], "dns; relay.test")
        self.assertEqual(groups[1]["action"], "failed")
        self.assertEqual(groups[1]["status"], "5.1.1")
        self.assertEqual(len(self.sink.messages()), 2)
        self.assertEqual(self.sink.messages()[0].delivery_status(), [])

    def test_connections_and_messages_per_connection_are_counted(self):
        with smtp(self.sink) as c:
            c.sendmail("a@example.test", ["b@example.test"], b"Subject: 1\r\n\r\n")
            c.sendmail("a@example.test", ["b@example.test"], b"Subject: 2\r\n\r\n")
        with smtp(self.sink) as c:
            c.sendmail("a@example.test", ["b@example.test"], b"Subject: 3\r\n\r\n")
        with smtp(self.sink) as c:
            c.noop()
        messages = self.sink.wait_for_messages(3)
        self.assertEqual([(m.connection, m.number_in_connection, m.sequence)
                          for m in messages], [(1, 1, 1), (1, 2, 2), (2, 1, 3)])
        self.assertEqual(self.sink.wait_for_connections(3), 3)
        self.assertEqual(self.sink.connection_count(), 3)
        self.assertEqual(self.sink.messages_per_connection(), {1: 2, 2: 1, 3: 0})
        log = self.sink.connection_log()
        self.assertEqual(log[0].helo, "client.test")
        self.assertEqual(log[0].commands[0], "EHLO client.test")
        self.assertIn("MAIL FROM:<a@example.test>", log[0].commands)
        self.assertEqual(log[0].commands[-1], "QUIT")
        self.assertEqual(log[2].commands, ["NOOP", "QUIT"])

    def test_parallel_clients(self):
        errors = []

        def client(i):
            try:
                with smtp(self.sink) as c:
                    for j in range(5):
                        c.sendmail(f"c{i}@example.test", ["b@example.test"],
                                   f"Subject: {i}.{j}\r\n\r\n".encode())
            except Exception as e:  # reported below
                errors.append(e)

        threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=IO_TIMEOUT_S)
        self.assertEqual(errors, [])
        self.assertEqual(len(self.sink.wait_for_messages(40)), 40)
        self.assertEqual(sorted(self.sink.messages_per_connection().values()), [5] * 8)

    def test_wait_timeout_is_an_assertion_with_context(self):
        with smtp(self.sink) as c:
            c.sendmail("a@example.test", ["b@example.test"], b"Subject: 1\r\n\r\n")
        with self.assertRaises(AssertionError) as ctx:
            self.sink.wait_for_messages(2, timeout=0.3)
        self.assertIn("2 accepted message(s)", str(ctx.exception))
        self.assertIn("<a@example.test>", str(ctx.exception))

    def test_stop_closes_open_sessions_and_the_listener(self):
        port = self.sink.port
        c = raw(self.sink)
        self.assertEqual(c.cmd("MAIL FROM:<a@example.test>").code, 250)
        self.assertEqual(c.cmd("RCPT TO:<b@example.test>").code, 250)
        self.assertEqual(c.cmd("DATA").code, 354)
        c.send(b"half a body\r\n")
        self.sink.stop()
        self.assertEqual(c.wait_eof(), b"")
        c.close()
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
        self.sink.stop()  # idempotent


class SinkFaultTest(SinkTestCase):
    def test_data_reply_for_the_first_n_messages(self):
        self.sink.reply_to_data("451 4.3.0 try later", times=2)
        codes = []
        with smtp(self.sink) as c:
            for i in range(3):
                try:
                    c.sendmail("a@example.test", ["b@example.test"], b"Subject: x\r\n\r\n")
                    codes.append(250)
                except smtplib.SMTPDataError as e:
                    codes.append(e.smtp_code)
                    self.assertEqual(e.smtp_error, b"4.3.0 try later")
        self.assertEqual(codes, [451, 451, 250])
        self.assertEqual([t.outcome for t in self.sink.wait_for_transactions(3)],
                         ["rejected", "rejected", "accepted"])
        self.assertEqual([m.sequence for m in self.sink.messages()], [3])

    def test_rcpt_reply_for_given_recipients(self):
        self.sink.reply_to_rcpt("550 5.1.1 no such user", ["Nobody@example.test"])
        with smtp(self.sink) as c:
            refused = c.sendmail("a@example.test", ["ok@example.test", "nobody@EXAMPLE.test"],
                                 b"Subject: x\r\n\r\n")
        self.assertEqual(refused, {"nobody@EXAMPLE.test": (550, b"5.1.1 no such user")})
        [m] = self.sink.wait_for_messages(1)
        self.assertEqual(m.rcpt_tos, ["ok@example.test"])

    def test_mail_reply_then_normal(self):
        self.sink.reply_to_mail("452 4.3.1 insufficient storage", times=1)
        with smtp(self.sink) as c:
            with self.assertRaises(smtplib.SMTPSenderRefused) as ctx:
                c.sendmail("a@example.test", ["b@example.test"], b"Subject: x\r\n\r\n")
            self.assertEqual(ctx.exception.smtp_code, 452)
            c.rset()
            c.sendmail("a@example.test", ["b@example.test"], b"Subject: x\r\n\r\n")
        self.assertEqual(len(self.sink.wait_for_messages(1)), 1)

    def test_mail_reply_for_the_null_sender_only(self):
        self.sink.reply_to_mail("550 5.7.1 no bounces", senders=[""])
        with smtp(self.sink) as c:
            c.ehlo()
            self.assertEqual(c.mail("<>")[0], 550)
            self.assertEqual(c.mail("a@example.test")[0], 250)

    def test_connect_reply_instead_of_the_greeting(self):
        self.sink.reply_to_connect("421 4.3.2 not now", times=1)
        with self.assertRaises(smtplib.SMTPConnectError) as ctx:
            smtp(self.sink)
        self.assertEqual(ctx.exception.smtp_code, 421)
        with smtp(self.sink) as c:
            self.assertEqual(c.noop()[0], 250)
        self.assertEqual(self.sink.connection_count(), 2)

    def test_connect_disconnect_without_a_greeting(self):
        self.sink.add_rule("connect", DISCONNECT, times=1)
        with SmtpClient(self.sink.port, read_greeting=False) as c:
            self.assertEqual(c.wait_eof(), b"")
        with smtp(self.sink) as c:
            self.assertEqual(c.noop()[0], 250)

    def test_disconnect_after_data_sends_no_reply(self):
        self.sink.disconnect_after_data(times=1)
        with raw(self.sink) as c:
            self.assertEqual(c.cmd("MAIL FROM:<a@example.test>").code, 250)
            self.assertEqual(c.cmd("RCPT TO:<b@example.test>").code, 250)
            self.assertEqual(c.cmd("DATA").code, 354)
            c.send(b"Subject: x\r\n\r\nbody\r\n.\r\n")
            self.assertEqual(c.wait_eof(), b"")  # closed without a byte of reply
        [t] = self.sink.wait_for_transactions(1)
        self.assertEqual((t.outcome, t.reply, t.body), ("disconnected", None,
                                                         b"Subject: x\r\n\r\nbody\r\n"))
        self.assertEqual(self.sink.messages(), [])
        with smtp(self.sink) as c:  # only once
            c.sendmail("a@example.test", ["b@example.test"], b"Subject: x\r\n\r\n")
        self.assertEqual(len(self.sink.wait_for_messages(1)), 1)

    def test_delay_before_the_data_reply(self):
        self.sink.delay_data(1.0, times=1)
        with smtp(self.sink) as c:
            start = time.monotonic()
            c.sendmail("a@example.test", ["b@example.test"], b"Subject: x\r\n\r\n")
            self.assertGreaterEqual(time.monotonic() - start, 0.9)  # a lower bound only
        self.assertEqual(len(self.sink.wait_for_messages(1)), 1)

    def test_client_leaving_during_the_delay_is_recorded_as_lost(self):
        self.sink.reply_to_data(None, delay=60, times=1)
        with smtp(self.sink, timeout=0.5) as c:
            with self.assertRaises((smtplib.SMTPServerDisconnected, socket.timeout)):
                c.sendmail("a@example.test", ["b@example.test"], b"Subject: x\r\n\r\n")
        [t] = self.sink.wait_for_transactions(1)
        self.assertEqual(t.outcome, "lost")
        self.assertTrue(t.reply.startswith("250"))
        self.assertEqual(self.sink.messages(), [])

    def test_policy_callable(self):
        seen = []

        def policy(event):
            seen.append((event.stage, event.recipient))
            if event.stage == "rcpt" and event.recipient.startswith("full"):
                return "452 4.2.2 mailbox full"
            if event.stage == "data" and b"drop me" in event.body:
                return DISCONNECT
            return None

        self.sink.policy = policy
        with smtp(self.sink) as c:
            refused = c.sendmail("a@example.test", ["full@example.test", "b@example.test"],
                                 b"Subject: x\r\n\r\n")
            self.assertEqual(refused, {"full@example.test": (452, b"4.2.2 mailbox full")})
        with smtp(self.sink) as c:
            with self.assertRaises(smtplib.SMTPServerDisconnected):
                c.sendmail("a@example.test", ["b@example.test"], b"drop me\r\n")
        self.assertEqual([t.outcome for t in self.sink.wait_for_transactions(2)],
                         ["accepted", "disconnected"])
        self.assertIn(("connect", None), seen)
        self.assertIn(("rcpt", "full@example.test"), seen)

    def test_policy_error_answers_451_and_is_reported(self):
        self.sink.policy = lambda event: 1 / 0 if event.stage == "mail" else None
        with smtp(self.sink) as c:
            c.ehlo()
            code, text = c.mail("a@example.test")
        self.assertEqual(code, 451)
        self.assertIn(b"ZeroDivisionError", text)
        [error] = self.sink.errors()
        self.assertIsInstance(error, ZeroDivisionError)

    def test_clear_faults(self):
        self.sink.reply_to_data("554 5.7.1 no")
        self.sink.clear_faults()
        with smtp(self.sink) as c:
            c.sendmail("a@example.test", ["b@example.test"], b"Subject: x\r\n\r\n")
        self.assertEqual(len(self.sink.wait_for_messages(1)), 1)

    def test_bad_rules_are_refused(self):
        with self.assertRaises(ValueError):
            self.sink.add_rule("quit", "250 ok")
        with self.assertRaises(ValueError):
            self.sink.reply_to_data("try later")
        with self.assertRaises(TypeError):
            self.sink.advertise(chunking=True)


class SinkConnectionRecordTest(SinkTestCase):
    """Per connection: who (peer address, EHLO name) and when; per message: the same."""

    def test_peer_address_ehlo_name_and_times_are_recorded(self):
        before = time.monotonic()
        with smtplib.SMTP("127.0.0.1", self.sink.port, local_hostname="egress3.test",
                          timeout=IO_TIMEOUT_S, source_address=("127.0.0.3", 0)) as c:
            c.sendmail("a@example.test", ["b@example.test"], b"Subject: 1\r\n\r\n")
            after_data = time.monotonic()
        with smtp(self.sink) as c:  # from 127.0.0.1, no mail
            c.ehlo("idle.test")
        [m] = self.sink.wait_for_messages(1)
        wait_for_closed = time.monotonic() + IO_TIMEOUT_S
        while any(c.open for c in self.sink.connections()) and \
                time.monotonic() < wait_for_closed:
            time.sleep(0.02)
        first, second = self.sink.connections()
        self.assertEqual(first.peer_ip, "127.0.0.3")
        self.assertEqual(first.peer[0], "127.0.0.3")
        self.assertEqual(first.helo, "egress3.test")
        self.assertFalse(first.refused_at_greeting)
        self.assertIsNone(first.greeting_reply)
        self.assertLessEqual(before, first.opened_at)
        self.assertLessEqual(first.opened_at, m.received_at)
        self.assertLessEqual(m.received_at, after_data)
        self.assertLessEqual(m.received_at, first.closed_at)
        self.assertFalse(first.open)
        self.assertEqual(m.peer_ip, "127.0.0.3")
        self.assertEqual(m.peer, first.peer)
        self.assertEqual(m.helo, "egress3.test")
        self.assertEqual(m.connection, first.number)
        # A connection that never sent mail is listed too.
        self.assertEqual(second.peer_ip, "127.0.0.1")
        self.assertEqual(second.helo, "idle.test")
        self.assertEqual((second.transactions, second.messages), (0, 0))
        self.assertLessEqual(first.opened_at, second.opened_at)
        self.assertEqual(self.sink.connection_count(), 2)
        self.assertEqual(self.sink.connection_log(), self.sink.connections())

    def test_records_are_copies(self):
        with smtp(self.sink) as c:
            c.ehlo()
        self.sink.wait_for_connections(1)
        [conn] = self.sink.connections()
        conn.commands.append("TAMPERED")
        conn.helo = "tampered"
        [again] = self.sink.connections()
        self.assertNotIn("TAMPERED", again.commands)
        self.assertEqual(again.helo, "client.test")

    def test_policy_sees_the_peer(self):
        self.sink.policy = lambda e: ("550 5.7.1 not from you"
                                      if e.stage == "mail" and e.peer[0] == "127.0.0.4"
                                      else None)
        with smtplib.SMTP("127.0.0.1", self.sink.port, timeout=IO_TIMEOUT_S,
                          source_address=("127.0.0.4", 0)) as c:
            c.ehlo()
            self.assertEqual(c.mail("a@example.test")[0], 550)
        with smtp(self.sink) as c:
            c.ehlo()
            self.assertEqual(c.mail("a@example.test")[0], 250)

    def test_listens_on_another_loopback_address(self):
        with RecordingSink(host="127.0.0.5") as sink:
            self.assertEqual(sink.address, f"127.0.0.5:{sink.port}")
            with smtplib.SMTP("127.0.0.5", sink.port, timeout=IO_TIMEOUT_S) as c:
                c.sendmail("a@example.test", ["b@example.test"], b"Subject: 5\r\n\r\n")
            [m] = sink.wait_for_messages(1)
            self.assertEqual(m.peer_ip, "127.0.0.1")
            # Nothing listens on 127.0.0.1 at that port.
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", sink.port), timeout=5).close()

    def test_without_bodies_only_sizes_are_kept(self):
        with RecordingSink(keep_bodies=False) as sink:
            with smtplib.SMTP("127.0.0.1", sink.port, timeout=IO_TIMEOUT_S) as c:
                c.sendmail("a@example.test", ["b@example.test"], b"Subject: s\r\n\r\nbody\r\n")
            [m] = sink.wait_for_messages(1)
            self.assertEqual(m.body, b"")
            self.assertEqual(m.size, len(b"Subject: s\r\n\r\nbody\r\n"))

    def test_stats(self):
        self.sink.reply_to_greeting("421 4.7.0 try later", times=1)
        self.sink.reply_to_data("451 4.3.0 later", times=1)
        with self.assertRaises(smtplib.SMTPConnectError):
            smtp(self.sink)
        with smtplib.SMTP("127.0.0.1", self.sink.port, timeout=IO_TIMEOUT_S,
                          source_address=("127.0.0.2", 0)) as c:
            with self.assertRaises(smtplib.SMTPDataError):
                c.sendmail("a@example.test", ["b@example.test"], b"Subject: 1\r\n\r\n")
            c.sendmail("a@example.test", ["b@example.test"], b"Subject: 2\r\n\r\n")
        self.sink.wait_for_messages(1)
        self.assertEqual(self.sink.stats(), {
            "connections": 2, "refused_at_greeting": 1, "transactions": 2, "messages": 1,
            "rejected": 1, "connections_per_peer": {"127.0.0.1": 1, "127.0.0.2": 1}})


class SinkPushbackTest(SinkTestCase):
    """A receiver pushing back: refusing at the greeting, at MAIL, at one message's DATA."""

    def assertRefusedAtGreeting(self, code=421):
        with self.assertRaises(smtplib.SMTPConnectError) as ctx:
            smtp(self.sink)
        self.assertEqual(ctx.exception.smtp_code, code)
        return ctx.exception

    def test_greeting_refused_for_the_next_n_connections(self):
        self.sink.reply_to_greeting("421 4.7.0 try later", times=2)
        error = self.assertRefusedAtGreeting()
        self.assertIn(b"4.7.0 try later", error.smtp_error)
        self.assertRefusedAtGreeting()
        with smtp(self.sink) as c:
            self.assertEqual(c.noop()[0], 250)
        conns = self.sink.connections()
        self.assertEqual(len(conns), 3)
        self.assertEqual([c.greeting_reply for c in conns],
                         ["421 4.7.0 try later", "421 4.7.0 try later", None])
        self.assertEqual([c.refused_at_greeting for c in conns], [True, True, False])
        self.assertEqual(conns[0].commands, [])  # nothing was read after the refusal

    def test_greeting_refused_until_the_sink_recovers(self):
        self.sink.reply_to_greeting("421 4.7.0 try later")
        self.sink.reply_to_data("452 4.3.1 full", times=1)
        for _ in range(5):
            self.assertRefusedAtGreeting()
        self.sink.clear_faults("connect")  # only the greeting rule goes
        with smtp(self.sink) as c:
            with self.assertRaises(smtplib.SMTPDataError) as ctx:
                c.sendmail("a@example.test", ["b@example.test"], b"Subject: 1\r\n\r\n")
            self.assertEqual(ctx.exception.smtp_code, 452)
        self.assertEqual(self.sink.connection_count(), 6)
        self.assertEqual(self.sink.stats()["refused_at_greeting"], 5)

    def test_greeting_refused_for_a_duration(self):
        duration_s = 3.0
        added = time.monotonic()
        self.sink.reply_to_greeting("554 5.7.1 go away", duration=duration_s)
        if time.monotonic() - added < duration_s / 2:  # else the machine is too slow to tell
            self.assertRefusedAtGreeting(554)
        time.sleep(max(0.0, added + duration_s + 0.05 - time.monotonic()))
        with smtp(self.sink) as c:
            self.assertEqual(c.noop()[0], 250)

    def test_greeting_can_be_dropped_without_a_reply(self):
        self.sink.reply_to_greeting(DISCONNECT, times=1)
        with SmtpClient(self.sink.port, read_greeting=False) as c:
            self.assertEqual(c.wait_eof(), b"")
        self.sink.wait_for_connections(1)
        self.assertIs(self.sink.connections()[0].greeting_reply, DISCONNECT)

    def test_mail_refused_for_every_message_until_cleared(self):
        self.sink.reply_to_mail("451 4.7.650 throttled")
        for _ in range(2):
            with smtp(self.sink) as c:
                c.ehlo()
                for sender in ("a@example.test", "b@example.test", "<>"):
                    code, text = c.mail(sender)
                    self.assertEqual((code, text), (451, b"4.7.650 throttled"))
                    c.rset()
        self.sink.clear_faults("mail")
        with smtp(self.sink) as c:
            c.sendmail("a@example.test", ["b@example.test"], b"Subject: ok\r\n\r\n")
        self.assertEqual(len(self.sink.wait_for_messages(1)), 1)

    def test_mail_refused_for_a_duration(self):
        duration_s = 3.0
        added = time.monotonic()
        self.sink.reply_to_mail("451 4.7.0 slow down", duration=duration_s)
        with smtp(self.sink) as c:
            c.ehlo()
            code = c.mail("a@example.test")[0]
            if time.monotonic() - added < duration_s / 2:  # else too slow to tell
                self.assertEqual(code, 451)
            c.rset()
            time.sleep(max(0.0, added + duration_s + 0.05 - time.monotonic()))
            self.assertEqual(c.mail("a@example.test")[0], 250)

    def test_one_message_gets_the_rate_reply(self):
        self.sink.reply_to_data("421 4.7.28 Our system has detected an unusual rate", times=1)
        with smtp(self.sink) as c:
            with self.assertRaises(smtplib.SMTPDataError) as ctx:
                c.sendmail("a@example.test", ["b@example.test"], b"Subject: 1\r\n\r\n")
            self.assertEqual(ctx.exception.smtp_code, 421)
        with smtp(self.sink) as c:
            c.sendmail("a@example.test", ["b@example.test"], b"Subject: 2\r\n\r\n")
            c.sendmail("a@example.test", ["b@example.test"], b"Subject: 3\r\n\r\n")
        transactions = self.sink.wait_for_transactions(3)
        self.assertEqual([t.outcome for t in transactions], ["rejected", "accepted", "accepted"])
        self.assertTrue(transactions[0].reply.startswith("421 4.7.28 "))


class StandaloneSinkTest(unittest.TestCase):
    """python3 recording_sink.py --port P --greeting R --stats-file F, stopped by SIGTERM."""

    def start(self, *args):
        self.workdir = tempfile.mkdtemp(prefix="tern-sink-")
        self.addCleanup(shutil.rmtree, self.workdir, ignore_errors=True)
        stats = os.path.join(self.workdir, "stats.json")
        proc = subprocess.Popen(
            [sys.executable, recording_sink.__file__, "--port", "0", "--stats-file", stats]
            + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(self.stop, proc)
        line = proc.stdout.readline()  # bounded: the process exits (EOF) if it fails
        if not line.startswith("listening 127.0.0.1:"):
            self.fail(f"no 'listening' line: {line!r}; stderr: {proc.stderr.read()}")
        return proc, int(line.rsplit(":", 1)[1]), stats

    def stop(self, proc):
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=IO_TIMEOUT_S)
        proc.stdout.close()
        proc.stderr.close()

    def terminate(self, proc, stats):
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=IO_TIMEOUT_S)
        self.assertEqual(rc, 0, proc.stderr.read())
        with open(stats) as f:
            return json.load(f)

    def test_greeting_refusals_are_counted(self):
        proc, port, stats = self.start("--greeting", "421 4.7.0 go away")
        for _ in range(3):
            with self.assertRaises(smtplib.SMTPConnectError) as ctx:
                smtplib.SMTP("127.0.0.1", port, timeout=IO_TIMEOUT_S)
            self.assertEqual(ctx.exception.smtp_code, 421)
        counts = self.terminate(proc, stats)
        self.assertEqual(counts["connections"], 3)
        self.assertEqual(counts["refused_at_greeting"], 3)
        self.assertEqual(counts["messages"], 0)
        self.assertEqual(counts["connections_per_peer"], {"127.0.0.1": 3})

    def test_messages_are_counted(self):
        proc, port, stats = self.start()
        with smtplib.SMTP("127.0.0.1", port, timeout=IO_TIMEOUT_S) as c:
            for i in range(4):
                c.sendmail("a@example.test", ["b@example.test"], f"Subject: {i}\r\n\r\n".encode())
        counts = self.terminate(proc, stats)
        self.assertEqual((counts["connections"], counts["messages"], counts["transactions"]),
                         (1, 4, 4))

    def test_bad_reply_is_a_usage_error(self):
        done = subprocess.run([sys.executable, recording_sink.__file__, "--greeting", "hello"],
                              capture_output=True, text=True, timeout=IO_TIMEOUT_S)
        self.assertEqual(done.returncode, 2)
        self.assertIn("not an SMTP reply line", done.stderr)


class SinkAdvertisementTest(SinkTestCase):
    def test_default_extensions(self):
        with smtp(self.sink) as c:
            c.ehlo()
            for ext in ("8bitmime", "smtputf8", "dsn", "pipelining"):
                self.assertTrue(c.has_extn(ext), ext)
            self.assertFalse(c.has_extn("size"))

    def test_extensions_switched_off_are_not_advertised_nor_accepted(self):
        self.sink.advertise(smtputf8=False, eightbitmime=False, dsn=False, pipelining=False,
                            size=1000)
        with smtp(self.sink) as c:
            c.ehlo()
            for ext in ("8bitmime", "smtputf8", "dsn", "pipelining"):
                self.assertFalse(c.has_extn(ext), ext)
            self.assertEqual(c.esmtp_features["size"], "1000")
            # (docmd: smtplib itself refuses SMTPUTF8 when it is not advertised)
            self.assertEqual(c.docmd("MAIL", "FROM:<a@example.test> SMTPUTF8")[0], 555)
            self.assertEqual(c.mail("a@example.test", ["BODY=8BITMIME"])[0], 555)
            self.assertEqual(c.mail("a@example.test", ["RET=FULL"])[0], 555)
            self.assertEqual(c.mail("a@example.test", ["SIZE=1001"])[0], 552)
            self.assertEqual(c.mail("a@example.test", ["BODY=7BIT", "SIZE=999"])[0], 250)
            self.assertEqual(c.rcpt("b@example.test", ["NOTIFY=NEVER"])[0], 555)
            self.assertEqual(c.rcpt("b@example.test")[0], 250)
            code, _ = c.data((b"x" * 70 + b"\r\n") * 20)
            self.assertEqual(code, 552)  # aiosmtpd: too much mail data
        self.assertEqual(self.sink.transactions(), [])

    def test_helo_client_gets_no_parameters(self):
        with SmtpClient(self.sink.port) as c:
            self.assertEqual(c.cmd("HELO old.test").code, 250)
            self.assertEqual(c.cmd("MAIL FROM:<a@example.test> BODY=8BITMIME").code, 501)
            reply = c.send_message("a@example.test", ["b@example.test"], b"Subject: x\r\n\r\n")
            self.assertEqual(reply.code, 250)
        [m] = self.sink.wait_for_messages(1)
        self.assertEqual(m.helo, "old.test")


class DnsmasqTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.access(dnsmasq_server.DNSMASQ, os.X_OK):
            raise unittest.SkipTest(f"{dnsmasq_server.DNSMASQ} is not installed")
        cls.dns = DnsmasqServer(
            mx_records=[("example.test", "mx2.example.test", 20),
                        ("example.test", "mx1.example.test", 10)],
            a_records=[("mx1.example.test", "127.0.0.1"), ("mx2.example.test", "127.0.0.2"),
                       ("mx2.example.test", "127.0.0.3")],
            aaaa_records=[("mx1.example.test", "::1")],
            txt_records=[("example.test", "v=spf1 -all"),
                         ("multi.test", ['a, "quoted" string', "second"])],
            null_mx=["nomail.test"],
            cname_records=[("alias.test", "mx1.example.test")],
            ttl=30)
        cls.dns.start()

    @classmethod
    def tearDownClass(cls):
        cls.dns.cleanup()

    def test_address(self):
        self.assertEqual(self.dns.address, f"127.0.0.1:{self.dns.port}")
        self.assertTrue(self.dns.running())

    def test_mx_records(self):
        reply = self.dns.query("example.test", "MX")
        self.assertEqual(reply.rcode, NOERROR)
        self.assertEqual(sorted(reply.data("MX")),
                         [(10, "mx1.example.test"), (20, "mx2.example.test")])
        self.assertEqual({a.ttl for a in reply.answers}, {30})

    def test_a_aaaa_txt_cname(self):
        self.assertEqual(self.dns.query("mx1.example.test", "A").data(), ["127.0.0.1"])
        self.assertEqual(sorted(self.dns.query("mx2.example.test", "A").data()),
                         ["127.0.0.2", "127.0.0.3"])
        self.assertEqual(self.dns.query("mx1.example.test", "AAAA").data(), ["::1"])
        self.assertEqual(self.dns.query("example.test", "TXT").data(), [["v=spf1 -all"]])
        self.assertEqual(self.dns.query("multi.test", "TXT").data(),
                         [['a, "quoted" string', "second"]])
        reply = self.dns.query("alias.test", "A")
        self.assertEqual(reply.data("CNAME"), ["mx1.example.test"])
        self.assertEqual(reply.data("A"), ["127.0.0.1"])

    def test_null_mx(self):
        reply = self.dns.query("nomail.test", "MX")
        self.assertEqual(reply.rcode, NOERROR)
        [answer] = reply.answers
        self.assertEqual(answer.rdata, b"\x00\x00\x00")  # preference 0, the root name
        self.assertEqual(answer.data, (0, "."))

    def test_unknown_names_are_nxdomain_and_known_names_nodata(self):
        for name in ("nothere.test", "sub.example.test", "example.com", "localhost"):
            for qtype in ("A", "MX"):
                self.assertEqual(self.dns.query(name, qtype).rcode, NXDOMAIN, (name, qtype))
        reply = self.dns.query("example.test", "A")  # has MX and TXT, no A
        self.assertEqual((reply.rcode, reply.answers), (NOERROR, []))

    def test_tcp(self):
        reply = self.dns.query("example.test", "MX", tcp=True)
        self.assertEqual(len(reply.answers), 2)
        self.assertEqual(self.dns.query("nothere.test", "A", tcp=True).rcode, NXDOMAIN)

    def test_queries_are_logged(self):
        self.dns.query("logged.example.test", "MX")
        deadline = time.monotonic() + 10
        while ("MX", "logged.example.test") not in self.dns.queries():
            self.assertLess(time.monotonic(), deadline, self.dns.log())
            time.sleep(0.05)


class DnsmasqLifeCycleTest(unittest.TestCase):
    def setUp(self):
        if not os.access(dnsmasq_server.DNSMASQ, os.X_OK):
            self.skipTest(f"{dnsmasq_server.DNSMASQ} is not installed")

    def test_port_collision_is_retried_on_another_port(self):
        # The first port offered is taken on TCP (as a parallel test's socket might be).
        busy = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.addCleanup(busy.close)
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        ports = [busy.getsockname()[1]]
        real = dnsmasq_server.free_udp_port
        dnsmasq_server.free_udp_port = lambda: ports.pop() if ports else real()
        self.addCleanup(setattr, dnsmasq_server, "free_udp_port", real)
        with DnsmasqServer(a_records=[("h.test", "127.0.0.9")]) as dns:
            self.assertGreaterEqual(dns.attempts, 2)  # the busy port, then at least one more
            self.assertNotEqual(dns.port, busy.getsockname()[1])
            self.assertEqual(dns.query("h.test").data(), ["127.0.0.9"])

    def test_stop_ends_the_process(self):
        dns = DnsmasqServer(a_records=[("h.test", "127.0.0.9")]).start()
        self.addCleanup(dns.cleanup)
        proc = dns.proc
        workdir = dns.workdir
        self.assertEqual(dns.stop(), 0)
        self.assertIsNotNone(proc.poll())
        self.assertFalse(dns.running())
        with self.assertRaises(OSError):
            dns.query("h.test", timeout=0.3)
        dns.cleanup()
        self.assertFalse(os.path.exists(workdir))

    def test_bad_option_fails_with_dnsmasq_output(self):
        dns = DnsmasqServer(extra_options=["no-such-option=1"])
        with self.assertRaises(AssertionError) as ctx:
            dns.start()
        self.assertIn("bad option", str(ctx.exception))
        self.assertIn("no-such-option=1", str(ctx.exception))  # the configuration
        self.assertIsNone(dns.proc)


def main():
    """unittest.main without --ternd/--ternctl/--tern_bench/--ternd_faults (CTest passes
    them to every script)."""
    argv = [sys.argv[0]]
    args = iter(sys.argv[1:])
    for arg in args:
        if arg in ("--ternd", "--ternctl", "--tern_bench", "--ternd_faults"):
            next(args, None)
        elif not arg.startswith(("--ternd=", "--ternctl=", "--tern_bench=",
                                 "--ternd_faults=")):
            argv.append(arg)
    unittest.main(argv=argv, verbosity=2)


if __name__ == "__main__":
    main()
