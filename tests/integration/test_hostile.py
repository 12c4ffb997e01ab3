"""Hostile and broken clients on raw sockets. Each case checks the exact reply code and
enhanced status code, then that the session goes on (the next command on the same
connection works where the RFC allows it) and that a fresh connection works."""

import os
import random
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternd_harness as h  # noqa: E402


class HostileTestBase(h.TerndTestCase):
    FLAGS = ()
    SHARDS = 2

    def setUp(self):
        self.d = self.start_ternd(*self.FLAGS, shards=self.SHARDS)

    def assert_session_goes_on(self, c):
        self.assertReply(c.cmd("NOOP"), 250, "2.0.0")

    def assert_fresh_connection_works(self):
        with self.d.smtp() as c:
            self.assertReply(c.greeting, 220)
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<fresh@example.com>"), 250, "2.1.0")
            self.assertReply(c.cmd("RSET"), 250, "2.0.0")
            self.assertReply(c.cmd("QUIT"), 221, "2.0.0")

    def assert_queue_empty(self):
        queue = self.d.queue_json()
        self.assertEqual(queue["total"], 0, queue)
        self.assertEqual(queue["messages"], [], queue)

    def open_transaction(self, c, sender="a@example.com", rcpt="b@example.net"):
        self.assertReply(c.cmd(f"MAIL FROM:<{sender}>"), 250, "2.1.0")
        self.assertReply(c.cmd(f"RCPT TO:<{rcpt}>"), 250, "2.1.5")

    def send_good_message(self, c, sender="good@example.com"):
        return self.assertQueued(c.send_message(sender, ["ok@example.net"], h.make_body("ok")))


class CommandErrorsTest(HostileTestBase):
    def test_command_line_over_512_octets(self):
        with self.d.smtp() as c:
            c.ehlo()
            # RFC 5321 §4.5.3.1.4: 512 octets with the CRLF is the limit; one more is too long.
            at_limit = "NOOP " + "x" * (512 - 2 - 5)
            self.assertReply(c.cmd(at_limit), 250, "2.0.0", "a 512-octet line is allowed")
            self.assertReply(c.cmd(at_limit + "x"), 500, "5.5.2")
            self.assertReply(c.cmd("NOOP " + "y" * 5000), 500, "5.5.2")
            # An overlong line split over several sends, then a command in the same send.
            c.send(b"MAIL FROM:<" + b"z" * 300)
            time.sleep(0.05)
            c.send(b"z" * 300 + b"@example.com>\r\nNOOP\r\n")
            self.assertReply(c.read_reply(), 500, "5.5.2")
            self.assertReply(c.read_reply(), 250, "2.0.0", "the NOOP after the long line")
            self.assert_session_goes_on(c)
            self.open_transaction(c)
        self.assert_fresh_connection_works()

    def test_rcpt_before_mail(self):
        with self.d.smtp() as c:
            c.ehlo()
            self.assertReply(c.cmd("RCPT TO:<b@example.net>"), 503, "5.5.1")
            self.open_transaction(c)
        self.assert_fresh_connection_works()

    def test_mail_before_ehlo(self):
        with self.d.smtp() as c:
            self.assertReply(c.cmd("MAIL FROM:<a@example.com>"), 503, "5.5.1")
            c.ehlo()
            self.open_transaction(c)
        self.assert_fresh_connection_works()

    def test_data_without_recipients(self):
        with self.d.smtp() as c:
            c.ehlo()
            self.assertReply(c.cmd("DATA"), 503, "5.5.1", "DATA before MAIL")
            self.assertReply(c.cmd("MAIL FROM:<a@example.com>"), 250)
            self.assertReply(c.cmd("DATA"), (503, 554), "5.5.1", "DATA with no RCPT")
            self.assertReply(c.cmd("RCPT TO:<b@example.net>"), 250, "2.1.5")
            self.assertReply(c.cmd("DATA"), 354)
            c.send(h.make_body("after") + b".\r\n")
            self.assertQueued(c.read_reply())
        self.assert_fresh_connection_works()

    def test_unknown_mail_parameter(self):
        with self.d.smtp() as c:
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<a@example.com> FOO=1"), 555, "5.5.4")
            self.assertReply(c.cmd("RCPT TO:<b@example.net>"), 503, "5.5.1",
                             "no transaction after a refused MAIL")
            self.open_transaction(c)
        self.assert_fresh_connection_works()

    def test_bad_address_syntax(self):
        with self.d.smtp() as c:
            c.ehlo()
            for bad in ("MAIL FROM:<a@@example.com>", "MAIL FROM:<a b@example.com>",
                        "MAIL FROM:<a@example.com", "MAIL FROM:a@example.com x"):
                reply = c.cmd(bad)
                self.assertReply(reply, 501, None, bad)
                self.assertTrue(reply.enhanced and reply.enhanced.startswith("5."), reply)
            self.assertReply(c.cmd("MAIL FROM:<a@example.com>"), 250)
            for bad in ("RCPT TO:<b@@example.net>", "RCPT TO:<>", "RCPT TO:<b@exa mple.net>"):
                reply = c.cmd(bad)
                self.assertReply(reply, 501, None, bad)
                self.assertTrue(reply.enhanced and reply.enhanced.startswith("5."), reply)
            self.assertReply(c.cmd("RCPT TO:<b@example.net>"), 250, "2.1.5")
        self.assert_fresh_connection_works()

    def test_nul_in_command(self):
        with self.d.smtp() as c:
            c.ehlo()
            self.assertReply(c.cmd(b"NOOP\x00x"), 500, "5.5.2")
            self.assertReply(c.cmd(b"MAIL FROM:<a\x00@example.com>"), 500, "5.5.2")
            self.assert_session_goes_on(c)
            self.open_transaction(c)
        self.assert_fresh_connection_works()

    def test_other_commands(self):
        with self.d.smtp() as c:
            c.ehlo()
            self.assertReply(c.cmd("VRFY postmaster"), 252, "2.5.0")
            self.assertReply(c.cmd("EXPN staff"), 502, "5.5.1")
            self.assertReply(c.cmd("HELP"), 214, "2.0.0")
            self.assertReply(c.cmd("NOOP"), 250, "2.0.0")
            self.assertReply(c.cmd("RSET"), 250, "2.0.0")
            self.assertReply(c.cmd("FROB something"), 500, "5.5.1")
            self.assertReply(c.cmd("STARTTLSX"), 500, "5.5.1")
            self.open_transaction(c)
            self.assertReply(c.cmd("RSET"), 250, "2.0.0")
            self.assertReply(c.cmd("RCPT TO:<b@example.net>"), 503, "5.5.1", "RSET ended it")
            self.assertReply(c.cmd("QUIT"), 221, "2.0.0")
            c.wait_eof()
        self.assert_fresh_connection_works()


class SmugglingTest(HostileTestBase):
    SMUGGLED = (b"MAIL FROM:<evil@attacker.example>\r\nRCPT TO:<victim@example.net>\r\n"
                b"DATA\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n.\r\n")

    def smuggle(self, separator):
        body = b"Subject: innocent\r\n\r\nhello" + separator + self.SMUGGLED
        before = set(self.d.queue_by_id())
        with self.d.smtp() as c:
            c.ehlo()
            self.open_transaction(c, sender="innocent@example.com")
            self.assertReply(c.cmd("DATA"), 354)
            c.send(body)
            self.assertReply(c.read_reply(), 554, "5.6.0")
            # Exactly one reply: the next one must answer our NOOP, not a smuggled command.
            self.assertReply(c.cmd("NOOP"), 250, "2.0.0")
            self.assertEqual(c.pending(0.3), b"", "extra replies after the DATA")
            self.assertEqual(set(self.d.queue_by_id()), before, "something was stored")
            qid = self.send_good_message(c)
        queue = self.d.queue_by_id()
        self.assertEqual(set(queue) - before, {qid})
        self.assertEqual(queue[qid]["sender"], "good@example.com")
        self.assert_fresh_connection_works()

    def test_bare_lf_dot_crlf(self):
        self.smuggle(b"\n.\r\n")

    def test_bare_cr_dot_crlf(self):
        self.smuggle(b"\r.\r\n")

    def test_bare_lf_dot_bare_lf(self):
        self.smuggle(b"\n.\n")

    def test_crlf_dot_bare_lf(self):
        self.smuggle(b"\r\n.\n")

    def test_the_rest_of_the_published_variants(self):
        # SEC Consult's SMTP smuggling list (2023) and its follow-ups: none ends the DATA,
        # each message is refused whole (554 5.6.0) and nothing is stored from it.
        for separator in (b"\r.\r", b"\r\n.\r", b"\n.\r", b"\r.\n", b"\r\n\x00.\r\n",
                          b"\r\n.\r\r\n", b"\r\n\r.\r\n", b"\r\n.\x00\r\n"):
            with self.subTest(separator=separator):
                self.smuggle(separator)

    def test_bare_lf_in_bdat_is_refused(self):
        chunk = b"Subject: bdat\r\n\r\nline\nwith bare LF\r\n"
        with self.d.smtp() as c:
            c.ehlo()
            self.open_transaction(c)
            c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
            self.assertReply(c.read_reply(), 554, "5.6.0")
            self.assert_session_goes_on(c)
            self.assert_queue_empty()
        self.assert_fresh_connection_works()


class EnvelopeEncodingTest(HostileTestBase):
    def test_8bit_without_smtputf8_and_invalid_utf8_with_it(self):
        with self.d.smtp() as c:
            c.ehlo()
            self.assertReply(c.cmd(b"MAIL FROM:<\xc3\xa9@example.com>"), 553, "5.6.7")
            for bad in (b"\xff\xfe@example.com", b"a@\xc3\x28.example",  # not UTF-8
                        b"\xed\xa0\x80@example.com", b"\xc0\xaf@example.com"):  # surrogate, overlong
                self.assertReply(c.cmd(b"MAIL FROM:<" + bad + b"> SMTPUTF8"), 501, "5.1.3")
            self.assertReply(c.cmd(b"MAIL FROM:<\xc3\xa9@example.com> SMTPUTF8"), 250, "2.1.0")
            self.assertReply(c.cmd(b"RCPT TO:<\xc0\xaf@example.net>"), 501, "5.1.3")
            self.assert_session_goes_on(c)

    def test_absurd_size_and_huge_ehlo(self):
        with self.d.smtp() as c:
            self.assertReply(c.cmd("EHLO " + "a" * 400), 501, "5.5.2")
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<a@example.com> SIZE=" + "9" * 40), 552, "5.3.4")
            self.assertReply(c.cmd("MAIL FROM:<a@example.com> SIZE=-1"), 501, "5.5.4")
            self.assert_session_goes_on(c)


class BodyLimitsTest(HostileTestBase):
    def test_text_line_over_1000_octets(self):
        with self.d.smtp() as c:
            c.ehlo()
            # RFC 5321 §4.5.3.1.6: 1000 octets with the CRLF is the limit.
            at_limit = b"Subject: long\r\n\r\n" + b"a" * 998 + b"\r\n"
            qid = self.assertQueued(c.send_message("a@example.com", ["b@example.net"], at_limit))
            over = b"Subject: long\r\n\r\n" + b"b" * 1200 + b"\r\nmore\r\n"
            self.open_transaction(c)
            self.assertReply(c.cmd("DATA"), 354)
            c.send(over + b".\r\n")
            self.assertReply(c.read_reply(), 500, "5.5.2")
            self.assert_session_goes_on(c)
            self.assertEqual(list(self.d.queue_by_id()), [qid], "the long-line message is stored")
            self.send_good_message(c)
        self.assertEqual(self.d.queue_json()["total"], 2)
        self.assert_fresh_connection_works()

    def test_nul_in_body(self):
        with self.d.smtp() as c:
            c.ehlo()
            self.open_transaction(c)
            self.assertReply(c.cmd("DATA"), 354)
            c.send(b"Subject: nul\r\n\r\na\x00b\r\n.\r\n")
            self.assertReply(c.read_reply(), 554, "5.6.0")
            self.assert_session_goes_on(c)
            self.assert_queue_empty()
        self.assert_fresh_connection_works()


class PipelineLimitsTest(HostileTestBase):
    def test_default_recipient_limit_in_one_pipelined_send(self):
        # 1001 RCPTs and DATA in one send: 1000 accepted (the default limit), the 1001st
        # refused, every reply in order.
        with self.d.smtp() as c:
            c.ehlo()
            c.send(b"MAIL FROM:<wide@example.com>\r\n"
                   + b"".join(b"RCPT TO:<r%d@example.net>\r\n" % i for i in range(1001))
                   + b"DATA\r\n")
            replies = c.read_replies(1003)
            self.assertReply(replies[0], 250, "2.1.0")
            for r in replies[1:1001]:
                self.assertReply(r, 250, "2.1.5")
            self.assertReply(replies[1001], 452, "4.5.3")
            self.assertReply(replies[1002], 354)
            c.send(h.make_body("wide") + b".\r\n")
            qid = self.assertQueued(c.read_reply())
        m = self.d.queue_by_id()[qid]
        self.assertEqual(len(m["recipients"]), 1000)
        self.assertEqual(m["recipients"][999]["address"], "r999@example.net")

    def test_ehlo_ends_the_transaction(self):
        # RFC 5321 §4.1.4: EHLO in a session resets it like RSET.
        with self.d.smtp() as c:
            c.ehlo()
            self.open_transaction(c)
            c.ehlo("again.example")
            self.assertReply(c.cmd("DATA"), 503, "5.5.1")
            self.assertReply(c.cmd("RCPT TO:<b@example.net>"), 503, "5.5.1")
            self.send_good_message(c)
        self.assertEqual(self.d.queue_json()["total"], 1)

    def test_many_messages_pipelined_in_one_send(self):
        # 50 whole transactions in one send (more than a client should, but allowed).
        burst = b""
        for i in range(50):
            burst += (b"MAIL FROM:<p%d@example.com>\r\nRCPT TO:<q%d@example.net>\r\nDATA\r\n"
                      % (i, i) + h.make_body(f"pipelined {i}") + b".\r\n")
        with self.d.smtp() as c:
            c.ehlo()
            c.send(burst + b"QUIT\r\n")
            replies = c.read_replies(50 * 4 + 1)
            ids = []
            for i in range(50):
                mail, rcpt, data, end = replies[4 * i: 4 * i + 4]
                self.assertEqual([mail.code, rcpt.code, data.code], [250, 250, 354], i)
                ids.append(self.assertQueued(end, f"message {i}"))
            self.assertReply(replies[-1], 221, "2.0.0")
            c.wait_eof()
        queue = self.d.queue_by_id()
        self.assertEqual(set(queue), set(ids))
        self.assertEqual(len(set(ids)), 50)
        for i, qid in enumerate(ids):
            self.assertEqual(queue[qid]["sender"], f"p{i}@example.com")


class VanishingClientTest(HostileTestBase):
    def abort(self, c, reset):
        if reset:  # RST instead of FIN
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
        c.close()

    def test_client_vanishes_mid_transaction(self):
        body = h.make_body("vanishing", text="v" * 500)
        maybe_stored = set()
        for reset in (False, True):
            # In the middle of a DATA body: nothing may be stored.
            c = self.d.smtp()
            c.ehlo()
            self.open_transaction(c, sender="mid-data@example.com")
            self.assertReply(c.cmd("DATA"), 354)
            c.send(body[:100])
            self.abort(c, reset)
            # In the middle of a BDAT chunk: nothing may be stored.
            c = self.d.smtp()
            c.ehlo()
            self.open_transaction(c, sender="mid-bdat@example.com")
            c.send(b"BDAT %d LAST\r\n" % len(body) + body[:100])
            self.abort(c, reset)
            # After the end of data, before reading the 250: stored or not, never half.
            c = self.d.smtp()
            c.ehlo()
            self.open_transaction(c, sender="after-dot@example.com")
            self.assertReply(c.cmd("DATA"), 354)
            c.send(body + b".\r\n")
            self.abort(c, reset)
            maybe_stored.add("after-dot@example.com")
            # Many pipelined messages, then gone.
            c = self.d.smtp()
            c.ehlo()
            c.send((b"MAIL FROM:<burst-gone@example.com>\r\nRCPT TO:<x@example.net>\r\n"
                    b"DATA\r\n" + body + b".\r\n") * 20)
            self.abort(c, reset)
            maybe_stored.add("burst-gone@example.com")
        h.wait_for(lambda: self.d.metrics().total("tern_smtp_open_connections") == 0,
                   timeout_s=30, what="every connection closed on the server")
        for m in self.d.queue_json()["messages"]:
            self.assertIn(m["sender"], maybe_stored, m)
            self.assertGreaterEqual(m["size"], len(body), m)
        self.assertTrue(self.d.running())
        self.assert_fresh_connection_works()

    def test_client_that_never_reads_is_closed(self):
        # Over 1 MiB of replies queued for a client that does not read them.
        sock = socket.create_connection(("127.0.0.1", self.d.smtp_port), timeout=h.scaled(5))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            chunk = b"NOOP\r\n" * 10000
            closed = False
            deadline = time.monotonic() + h.scaled(60)
            while time.monotonic() < deadline and not closed:
                try:
                    sock.sendall(chunk)
                except (socket.timeout, BlockingIOError):
                    break
                except OSError:  # ECONNRESET / EPIPE: the server closed on us
                    closed = True
        finally:
            sock.close()
        self.assertTrue(closed, "the server neither closed nor kept up (sendall timed out)")
        self.assertTrue(self.d.running())
        h.wait_for(lambda: self.d.metrics().total("tern_smtp_open_connections") == 0,
                   timeout_s=30, what="the non-reading client's connection closed")
        self.assert_fresh_connection_works()


class MaxRecipientsTest(HostileTestBase):
    FLAGS = ("--max_recipients=5",)

    def test_sixth_recipient_is_refused_and_five_are_queued(self):
        with self.d.smtp() as c:
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<many@example.com>"), 250)
            rcpts = [f"r{i}@example.net" for i in range(5)]
            for r in rcpts:
                self.assertReply(c.cmd(f"RCPT TO:<{r}>"), 250, "2.1.5")
            self.assertReply(c.cmd("RCPT TO:<r5@example.net>"), 452, "4.5.3")
            self.assertReply(c.cmd("RCPT TO:<r6@example.net>"), 452, "4.5.3")
            self.assertReply(c.cmd("DATA"), 354)
            c.send(h.make_body("five") + b".\r\n")
            qid = self.assertQueued(c.read_reply())
        m = self.d.queue_by_id()[qid]
        self.assertEqual([r["address"] for r in m["recipients"]], rcpts)
        self.assert_fresh_connection_works()


class MaxMessageSizeTest(HostileTestBase):
    FLAGS = ("--max_message_size=10000",)

    def test_size_declared_too_big(self):
        with self.d.smtp() as c:
            self.assertIn("SIZE 10000", c.ehlo().text)
            self.assertReply(c.cmd("MAIL FROM:<big@example.com> SIZE=20000"), 552, "5.3.4")
            self.assertReply(c.cmd("MAIL FROM:<ok@example.com> SIZE=5000"), 250, "2.1.0")
            self.assertReply(c.cmd("RSET"), 250)
            self.send_good_message(c)
        self.assertEqual(self.d.queue_json()["total"], 1)
        self.assert_fresh_connection_works()

    def test_body_too_big_without_size(self):
        with self.d.smtp() as c:
            c.ehlo()
            self.open_transaction(c, sender="big@example.com")
            self.assertReply(c.cmd("DATA"), 354)
            line = b"x" * 76 + b"\r\n"
            body = b"Subject: big\r\n\r\n" + line * (20000 // len(line) + 1)
            c.send(body + b".\r\n")
            self.assertReply(c.read_reply(), 552, "5.3.4")
            self.assert_session_goes_on(c)
            self.assert_queue_empty()
            qid = self.send_good_message(c)
            # BDAT over the limit: the chunks are read and dropped, then 552.
            self.open_transaction(c, sender="bigbdat@example.com")
            c.send(b"BDAT %d LAST\r\n" % len(body) + body)
            self.assertReply(c.read_reply(), 552, "5.3.4")
            self.assert_session_goes_on(c)
        self.assertEqual(list(self.d.queue_by_id()), [qid])
        self.assert_fresh_connection_works()


    def test_size_limit_boundary(self):
        def body_of(n):  # n bytes as sent, final CRLF included
            body = b"Subject: boundary\r\n\r\n"
            while len(body) + 80 <= n:
                body += b"a" * 78 + b"\r\n"
            return body + b"b" * (n - len(body) - 2) + b"\r\n"

        with self.d.smtp() as c:
            c.ehlo()
            ok = [self.assertQueued(c.send_message("edge@example.com", ["x@example.net"],
                                                   body_of(10000)), "DATA of 10000 bytes")]
            self.assertReply(c.send_message("edge@example.com", ["x@example.net"],
                                            body_of(10001)), 552, "5.3.4")
            for n, code in ((10000, 250), (10001, 552)):
                self.open_transaction(c)
                c.send(b"BDAT %d LAST\r\n" % n + body_of(n))
                reply = c.read_reply()
                self.assertReply(reply, code, "2.0.0" if code == 250 else "5.3.4", f"BDAT {n}")
                if code == 250:
                    ok.append(reply.queue_id())
            self.assertReply(c.cmd("MAIL FROM:<a@example.com> SIZE=" + "9" * 30), 552, "5.3.4")
            self.assertReply(c.cmd("MAIL FROM:<a@example.com> SIZE=10000"), 250, "2.1.0")
            self.assertReply(c.cmd("RSET"), 250)
            self.assertReply(c.cmd("MAIL FROM:<a@example.com> SIZE=abc"), 501, "5.5.4")
        self.assertEqual(set(self.d.queue_by_id()), set(ok))


class RelayTest(HostileTestBase):
    FLAGS = ("--relay_networks=127.0.0.2/32", "--relay_domains=example.org")

    def test_relay_denied_from_outside_relay_networks(self):
        with self.d.smtp() as c:  # from 127.0.0.1: not a relay client
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<a@example.com>"), 250)
            self.assertReply(c.cmd("RCPT TO:<user@example.com>"), 554, "5.7.1")
            self.assertReply(c.cmd("RCPT TO:<user@example.org>"), 250, "2.1.5")
            self.assertReply(c.cmd("RCPT TO:<user%other@example.org>"), 554, "5.7.1")
            self.assertReply(c.cmd("RCPT TO:<user@EXAMPLE.ORG>"), 250, "2.1.5")
            self.assertReply(c.cmd("RCPT TO:<user@sub.example.org>"), 554, "5.7.1")
            self.assertReply(c.cmd("DATA"), 354)
            c.send(h.make_body("local") + b".\r\n")
            qid = self.assertQueued(c.read_reply())
        m = self.d.queue_by_id()[qid]
        self.assertEqual([r["address"] for r in m["recipients"]],
                         ["user@example.org", "user@EXAMPLE.ORG"])
        self.assert_fresh_connection_works()

    def test_open_relay_probes_are_refused(self):
        """The classic probes that route mail through a relay domain onwards."""
        probes = [
            "user%other.test@example.org",                # percent hack
            "other.test!user@example.org",                # bang path
            "@example.org:user@other.test",               # source route (RFC 5321 C)
            "@example.org,@x.test:user@other.test",
            '"user@other.test"@example.org',              # quoted @
            '"user%other.test"@example.org',
            "user@[IPv6:::ffff:127.0.0.1]",               # IPv6-mapped literal of ourselves
            "user@[127.0.0.1]",
            "user@other.test",
        ]
        with self.d.smtp() as c:
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<a@example.com>"), 250)
            for probe in probes:
                self.assertReply(c.cmd(f"RCPT TO:<{probe}>"), 554, "5.7.1")
            # Not even an address (an unquoted @ in the local part): a syntax error.
            self.assertReply(c.cmd("RCPT TO:<user@other.test@example.org>"), 501, "5.1.3")
            self.assertReply(c.cmd("DATA"), 554)
        self.assertIn("relay denied for <user%other.test@example.org>", self.d.log())
        self.assert_queue_empty()

    def test_relay_allowed_from_relay_networks(self):
        with self.d.smtp(source="127.0.0.2") as c:
            c.ehlo()
            self.assertReply(c.cmd("MAIL FROM:<a@example.com>"), 250)
            self.assertReply(c.cmd("RCPT TO:<user@example.com>"), 250, "2.1.5")


class GreetPauseTest(HostileTestBase):
    FLAGS = ("--greet_pause=1s",)

    def test_early_talker_gets_554_and_is_closed(self):
        with self.d.smtp(read_greeting=False) as c:
            c.send(b"EHLO early.example\r\nMAIL FROM:<spam@example.com>\r\n")
            data = c.wait_eof()
        self.assertTrue(data.startswith(b"554 5.5.0 "), data)
        self.assertNotIn(b"220", data)  # never greeted
        self.assertIn("early talker", self.d.log())
        self.assert_queue_empty()

    def test_a_client_that_waits_is_greeted(self):
        with self.d.smtp() as c:  # reads the greeting, which comes after the pause
            self.assertReply(c.greeting, 220)
            c.ehlo()
            self.send_good_message(c)


class SlowClientTest(HostileTestBase):
    """Slowloris clients: bytes trickle in, but no request ever completes in time."""
    FLAGS = ("--idle_timeout=2s", "--data_timeout=2s", "--min_data_rate=1000")

    def trickle(self, c, data, interval_s=0.25):
        """Sends `data` a byte at a time until the server answers; returns the answer and
        how long it took. Bounded by the data's length."""
        start = time.monotonic()
        for i in range(len(data)):
            try:
                c.send(data[i:i + 1])
            except OSError:
                break
            if c.pending(interval_s):
                break
        return c.wait_eof(timeout_s=10), time.monotonic() - start

    def test_trickled_command_line_gets_421(self):
        with self.d.smtp() as c:
            c.ehlo()
            answer, took = self.trickle(c, b"MAIL FROM:<slow@example.com> " + b"x" * 200)
        self.assertTrue(answer.startswith(b"421 4.4.2"), answer)
        self.assertLess(took, h.scaled(15))

    def test_trickled_body_gets_421_and_nothing_is_stored(self):
        with self.d.smtp() as c:
            c.ehlo()
            self.open_transaction(c)
            self.assertReply(c.cmd("DATA"), 354)
            answer, took = self.trickle(c, b"Subject: slow\r\n\r\n" + b"y" * 400)
        self.assertTrue(answer.startswith(b"421 4.4.2"), answer)
        self.assertLess(took, h.scaled(15))
        self.assert_queue_empty()
        h.wait_for(lambda: self.d.metrics().total("tern_smtp_open_connections") == 0,
                   h.scaled(10), what="the slow connections reclaimed")

    def test_trickled_bdat_chunk_gets_421(self):
        with self.d.smtp() as c:
            c.ehlo()
            self.open_transaction(c)
            c.send(b"BDAT 400 LAST\r\n")
            answer, took = self.trickle(c, b"w" * 400)
        self.assertTrue(answer.startswith(b"421 4.4.2"), answer)
        self.assertLess(took, h.scaled(15))
        self.assert_queue_empty()

    def test_a_steady_client_is_not_cut(self):
        with self.d.smtp() as c:
            c.ehlo()
            self.open_transaction(c)
            self.assertReply(c.cmd("DATA"), 354)
            # 3 s of body at ~4 KB/s: longer than --data_timeout, faster than the rate.
            for _ in range(12):
                c.send((b"z" * 498 + b"\r\n") * 2)
                time.sleep(0.25)
            c.send(b".\r\n")
            self.assertQueued(c.read_reply())


class ConnectionLimitTest(HostileTestBase):
    FLAGS = ("--max_connections_per_ip=3", "--relay_networks=127.0.0.2/32")

    def test_fourth_connection_is_refused(self):
        clients = []
        try:
            for _ in range(3):
                c = self.d.smtp()
                clients.append(c)
                self.assertReply(c.greeting, 220)
            extra = self.d.smtp(read_greeting=False)
            clients.append(extra)
            self.assertReply(extra.read_reply(), 421, "4.7.0")
            extra.wait_eof()
            # The three are still served.
            for c in clients[:3]:
                c.ehlo()
            # Relay clients are exempt.
            with self.d.smtp(source="127.0.0.2") as relay:
                self.assertReply(relay.greeting, 220)
            clients[0].cmd("QUIT")
            clients[0].wait_eof()
            # The slot comes back once the server has seen the close: bounded retries.
            deadline = time.monotonic() + h.scaled(20)
            while True:
                c = self.d.smtp(read_greeting=False)
                clients.append(c)
                reply = c.read_reply()
                if reply.code == 220 or time.monotonic() > deadline:
                    break
                self.assertReply(reply, 421, "4.7.0")
                time.sleep(0.1)
            self.assertReply(reply, 220, None, "a new connection after one closed")
            c.ehlo()
        finally:
            for c in clients:
                c.close()


class IdleTimeoutTest(HostileTestBase):
    FLAGS = ("--idle_timeout=1s",)

    def test_idle_connection_gets_421_and_is_closed(self):
        with self.d.smtp(timeout_s=30) as c:
            c.ehlo()
            self.assertReply(c.read_reply(), 421, "4.4.2")
            self.assertEqual(c.wait_eof(timeout_s=30), b"")
        with self.d.smtp(timeout_s=30) as c:  # idle before any command
            self.assertReply(c.read_reply(), 421, "4.4.2")
            c.wait_eof(timeout_s=30)
        # A fresh connection after the timeouts: see test_first_command_after_a_quiet_period
        # (a shard idle for longer than the timeout must not time out its next client).


class DataTimeoutTest(HostileTestBase):
    FLAGS = ("--data_timeout=1s", "--idle_timeout=60s")

    def test_stalled_body_gets_421_and_nothing_is_stored(self):
        with self.d.smtp(timeout_s=30) as c:
            c.ehlo()
            self.open_transaction(c, sender="stalled@example.com")
            self.assertReply(c.cmd("DATA"), 354)
            c.send(b"Subject: stalled\r\n\r\nhalf a bo")
            self.assertReply(c.read_reply(), 421, "4.4.2")
            c.wait_eof(timeout_s=30)
        with self.d.smtp(timeout_s=30) as c:
            c.ehlo()
            self.open_transaction(c, sender="stalled-bdat@example.com")
            c.send(b"BDAT 1000 LAST\r\nonly a part")
            self.assertReply(c.read_reply(), 421, "4.4.2")
            c.wait_eof(timeout_s=30)
        self.assert_queue_empty()
        self.assert_fresh_connection_works()


class QuietPeriodTest(HostileTestBase):
    FLAGS = ("--idle_timeout=2s",)
    SHARDS = 1

    def test_first_command_after_a_quiet_period(self):
        # The idle deadline counts from when the client last spoke, not from the last time
        # the shard's loop woke up: after the server was quiet for longer than the idle
        # timeout, a new client must still get its EHLO answered.
        with self.d.smtp() as c:
            c.ehlo()
        time.sleep(4)
        with self.d.smtp() as c:
            self.assertReply(c.greeting, 220)
            self.assertReply(c.cmd("EHLO client.example"), 250, None,
                             "first command of a new connection after 4 s of quiet "
                             "with --idle_timeout=2s")
            self.assert_session_goes_on(c)


class GarbageTest(HostileTestBase):
    VERBS = [b"EHLO", b"HELO", b"MAIL FROM:", b"RCPT TO:", b"DATA", b"BDAT", b"RSET", b"NOOP",
             b"VRFY", b"EXPN", b"HELP", b"QUIT", b"STARTTLS", b"AUTH", b"."]

    def chunk(self, rng):
        kind = rng.randrange(5)
        if kind == 0:  # random bytes
            return bytes(rng.getrandbits(8) for _ in range(rng.randrange(1, 3000)))
        if kind == 1:  # random bytes with line ends
            parts = [bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 200)))
                     for _ in range(rng.randrange(1, 20))]
            return rng.choice([b"\r\n", b"\n", b"\r"]).join(parts) + b"\r\n"
        if kind == 2:  # verbs with junk arguments
            out = b""
            for _ in range(rng.randrange(1, 20)):
                arg = bytes(rng.randrange(32, 127) for _ in range(rng.randrange(0, 80)))
                out += rng.choice(self.VERBS) + rng.choice([b" ", b""]) + arg + b"\r\n"
            return out
        if kind == 3:  # a plausible transaction with a garbage body
            body = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 2000)))
            return (b"EHLO g.example\r\nMAIL FROM:<g@example.com>\r\nRCPT TO:<h@example.net>\r\n"
                    b"DATA\r\n" + body + b"\r\n.\r\n")
        return b"\r\n" * rng.randrange(1, 50) + b"\x00\xff" * rng.randrange(1, 50)

    def drain(self, sock, wait_s):
        """Reads what the server sent, without blocking past wait_s. False at EOF."""
        sock.settimeout(wait_s)
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    return False
        except socket.timeout:
            return True
        except OSError:
            return False

    def test_random_garbage_never_crashes(self):
        seed = int(os.environ.get("TERN_GARBAGE_SEED", "0")) or random.randrange(1, 1 << 31)
        print(f"\ngarbage seed: {seed} (TERN_GARBAGE_SEED={seed} repeats it)", file=sys.stderr)
        rng = random.Random(seed)
        for _ in range(24):
            sock = socket.create_connection(("127.0.0.1", self.d.smtp_port),
                                            timeout=h.scaled(10))
            try:
                open_ = self.drain(sock, 0.5)  # the greeting
                for _ in range(rng.randrange(1, 12)):
                    if not open_:
                        break
                    try:
                        sock.sendall(self.chunk(rng))
                    except OSError:
                        break
                    open_ = self.drain(sock, 0.01)
                if rng.randrange(2):
                    self.drain(sock, 0.1)
            finally:
                sock.close()
        self.assertTrue(self.d.running(), "ternd died")
        with self.d.smtp() as c:
            self.assertReply(c.greeting, 220)
            c.ehlo()
            self.assert_session_goes_on(c)
        m = self.d.metrics()
        self.assertGreaterEqual(m.total("tern_smtp_connections_total"), 25)
        queue = self.d.queue_json()
        self.assertEqual(queue["total"], len(queue["messages"]))


if __name__ == "__main__":
    h.main()
