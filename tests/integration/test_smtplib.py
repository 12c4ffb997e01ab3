"""Python's smtplib (a real, independent client) against ternd: the EHLO extensions,
several recipients, the null sender, several messages per connection, dot-stuffing, 8-bit
bodies; then a raw pipelined burst and BDAT chunks. Every 250 after the data carries
"queued as <16 hex>", and the queue holds exactly the acknowledged messages."""

import os
import smtplib
import socket
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternd_harness as h  # noqa: E402


class RecordingSMTP(smtplib.SMTP):
    """smtplib.SMTP that keeps the reply to every end of data (sendmail drops it)."""

    def __init__(self, *args, **kwargs):
        self.data_replies = []
        super().__init__(*args, **kwargs)

    def data(self, msg):
        code, text = super().data(msg)
        self.data_replies.append((code, text.decode("utf-8", "replace")))
        return code, text


class SmtplibTest(h.TerndTestCase):
    def setUp(self):
        self.d = self.start_ternd("--max_message_size=1000000")
        self.sent = {}  # queue id -> (sender, recipients, body bytes)

    def connect(self):
        s = RecordingSMTP("127.0.0.1", self.d.smtp_port, local_hostname="client.example",
                          timeout=h.scaled(h.IO_TIMEOUT_S))
        self.addCleanup(s.close)
        return s

    def sendmail(self, s, sender, recipients, body, mail_options=()):
        refused = s.sendmail(sender, recipients, body, mail_options=list(mail_options))
        self.assertEqual(refused, {})
        code, text = s.data_replies[-1]
        self.assertEqual(code, 250, text)
        m = h.QUEUED_RE.search(text)
        self.assertIsNotNone(m, f"no 'queued as <16 hex>' in {text!r}")
        self.assertTrue(text.startswith("2.0.0 "), text)
        qid = m.group(1)
        self.assertNotIn(qid, self.sent, "queue id reused")
        self.sent[qid] = (sender, list(recipients), body)
        return qid

    def assert_queue_is_exactly_sent(self):
        queue = self.d.queue_by_id()
        self.assertEqual(set(queue), set(self.sent))
        self.assertEqual(self.d.queue_json()["total"], len(self.sent))
        total_bytes = 0
        for qid, (sender, recipients, body) in self.sent.items():
            m = queue[qid]
            self.assertEqual(m["sender"], sender, qid)
            self.assertEqual([r["address"] for r in m["recipients"]], recipients, qid)
            # Stored: a Received: header (a few hundred bytes at most) plus the body as sent.
            self.assertGreaterEqual(m["size"], len(body), qid)
            self.assertLess(m["size"], len(body) + 2000, qid)
            total_bytes += m["size"]
        self.assertEqual(self.d.queue_json()["bytes"], total_bytes)

    def test_ehlo_advertises_the_extensions(self):
        s = self.connect()
        code, _ = s.ehlo()
        self.assertEqual(code, 250)
        features = s.esmtp_features
        for name in ("pipelining", "8bitmime", "smtputf8", "enhancedstatuscodes", "dsn",
                     "chunking"):
            self.assertIn(name, features, features)
        self.assertEqual(features["size"], "1000000")
        self.assertTrue(s.does_esmtp)

    def test_messages_on_one_connection(self):
        s = self.connect()
        s.ehlo()
        self.sendmail(s, "one@example.com", ["a@example.net", "b@example.org", "c@example.com"],
                      h.make_body("three recipients"))
        self.sendmail(s, "", ["postmaster@example.net"], h.make_body("null sender"))
        dots = (b"Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\n. \r\n"
                b"...\r\nlast line\r\n")
        self.sendmail(s, "dots@example.com", ["d@example.net"], dots)
        eight_bit = ("Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Transfer-Encoding: 8bit\r\n\r\n"
                     "Gr\u00fc\u00dfe aus K\u00f6ln, \u65e5\u672c\u8a9e\r\n").encode("utf-8")
        self.sendmail(s, "eight@example.com", ["e@example.net"], eight_bit,
                      mail_options=["BODY=8BITMIME"])
        for i in range(5):
            self.sendmail(s, f"loop{i}@example.com", [f"r{i}@example.net"],
                          h.make_body(f"message {i}"))
        s.quit()
        self.assertEqual(len(s.data_replies), 9)
        self.assert_queue_is_exactly_sent()
        # The dot-stuffed body is stored as received, so at least the stuffed length.
        dots_id = [q for q, v in self.sent.items() if v[0] == "dots@example.com"][0]
        stuffed = dots.replace(b"\r\n.", b"\r\n..")
        self.assertGreaterEqual(self.d.queue_by_id()[dots_id]["size"], len(stuffed))

    def test_several_connections(self):
        for i in range(4):
            s = self.connect()
            s.ehlo()
            self.sendmail(s, f"c{i}@example.com", [f"x{i}@example.net", f"y{i}@example.net"],
                          h.make_body(f"connection {i}"))
            s.quit()
        self.assert_queue_is_exactly_sent()

    def test_smtputf8_address(self):
        s = self.connect()
        s.ehlo()
        sender = "j\u00f6rg@example.com"
        qid = self.sendmail(s, sender, ["\u7528\u6237@example.net"],
                            h.make_body("utf8 envelope"), mail_options=["SMTPUTF8"])
        s.quit()
        m = self.d.queue_by_id()[qid]
        self.assertEqual(m["sender"], sender)
        self.assertEqual(m["recipients"][0]["address"], "\u7528\u6237@example.net")

    def test_dsn_parameters(self):
        # RFC 3461: RET and ENVID on MAIL, NOTIFY and ORCPT per recipient. ternctl's JSON
        # does not show them; the replies and the queued message are what is checked here
        # (tests/tools/spool_sink_test.cc checks the stored envelope).
        s = self.connect()
        s.ehlo()
        self.assertTrue(s.has_extn("dsn"))
        sender, body = "dsn@example.com", h.make_body("dsn parameters")
        code, text = s.mail(sender, ["RET=HDRS", "ENVID=abc"])
        self.assertEqual(code, 250, text)
        recipients = ["a@example.net", "b@example.net"]
        code, text = s.rcpt(recipients[0], ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;x@example.com"])
        self.assertEqual(code, 250, text)
        code, text = s.rcpt(recipients[1], ["NOTIFY=NEVER"])
        self.assertEqual(code, 250, text)
        # NEVER stands alone: refused, and the transaction goes on without that recipient.
        code, text = s.rcpt("c@example.net", ["NOTIFY=NEVER,SUCCESS"])
        self.assertEqual(code, 501, text)
        self.assertTrue(text.startswith(b"5.5.4 "), text)
        code, text = s.data(body)
        self.assertEqual(code, 250, text)
        self.sent[h.QUEUED_RE.search(text.decode()).group(1)] = (sender, recipients, body)
        # Bad and repeated parameters are 501 5.5.4; the session stays usable.
        s.rset()
        for options in (["RET=NEVER"], ["ENVID=a+0A"], ["ENVID=" + "e" * 101],
                        ["RET=FULL", "RET=HDRS"]):
            code, text = s.mail(sender, options)
            self.assertEqual(code, 501, (options, text))
            self.assertTrue(text.startswith(b"5.5.4 "), (options, text))
        self.assertEqual(s.mail(sender, ["RET=FULL"])[0], 250)
        for options in (["ORCPT=x@example.com"], ["NOTIFY=SUCCESS", "NOTIFY=FAILURE"]):
            code, text = s.rcpt(recipients[0], options)
            self.assertEqual(code, 501, (options, text))
        s.quit()
        self.assert_queue_is_exactly_sent()

    def test_dsn_parameters_need_ehlo(self):
        with self.d.smtp() as c:
            self.assertReply(c.cmd("HELO client.example"), 250)
            self.assertReply(c.cmd("MAIL FROM:<helo@example.com> RET=FULL"), 555, "5.5.4")
            self.assertReply(c.cmd("MAIL FROM:<helo@example.com>"), 250, "2.1.0")
            self.assertReply(c.cmd("RCPT TO:<r@example.net> NOTIFY=NEVER"), 555, "5.5.4")
            self.assertReply(c.cmd("QUIT"), 221)

    def test_raw_pipelined_burst_is_answered_in_order(self):
        with self.d.smtp() as c:
            self.assertReply(c.greeting, 220)
            ehlo = c.ehlo()
            self.assertIn("PIPELINING", ehlo.text)
            c.send(b"MAIL FROM:<burst@example.com>\r\n"
                   b"RCPT TO:<r1@example.net>\r\nRCPT TO:<r2@example.net>\r\n"
                   b"RCPT TO:<r3@example.net>\r\nDATA\r\n")
            replies = c.read_replies(5)
            self.assertReply(replies[0], 250, "2.1.0")
            for r in replies[1:4]:
                self.assertReply(r, 250, "2.1.5")
            self.assertReply(replies[4], 354)
            body = h.make_body("burst")
            c.send(body + b".\r\n")
            qid = self.assertQueued(c.read_reply())
            # A second transaction pipelined with its body and NOOP in a single send.
            body2 = h.make_body("all in one send")
            c.send(b"MAIL FROM:<burst2@example.com>\r\nRCPT TO:<r4@example.net>\r\nDATA\r\n"
                   + body2 + b".\r\nNOOP\r\n")
            replies = c.read_replies(5)
            self.assertEqual([r.code for r in replies], [250, 250, 354, 250, 250], replies)
            qid2 = self.assertQueued(replies[3])
            self.assertReply(c.cmd("QUIT"), 221, "2.0.0")
            c.wait_eof()
        self.sent[qid] = ("burst@example.com", ["r1@example.net", "r2@example.net",
                                                 "r3@example.net"], body)
        self.sent[qid2] = ("burst2@example.com", ["r4@example.net"], body2)
        self.assert_queue_is_exactly_sent()

    def test_quit_pipelined_after_end_of_data_still_gets_the_250(self):
        # RFC 2920: QUIT may follow the end of data in the same send. The message is
        # committed, so the client must see its 250 before the 221, or it will send the
        # message again.
        body = h.make_body("data then quit")
        with self.d.smtp() as c:
            c.ehlo()
            c.send(b"MAIL FROM:<quit@example.com>\r\nRCPT TO:<q@example.net>\r\nDATA\r\n"
                   + body + b".\r\nQUIT\r\n")
            got = c.wait_eof().decode("utf-8", "replace")
        codes = [line[:3] for line in got.split("\r\n") if line]
        self.assertEqual(codes, ["250", "250", "354", "250", "221"],
                         f"replies to MAIL, RCPT, DATA, end of data, QUIT: {got!r}")
        m = h.QUEUED_RE.search(got)
        self.sent[m.group(1)] = ("quit@example.com", ["q@example.net"], body)
        self.assert_queue_is_exactly_sent()

    def test_bdat_chunks_are_queued(self):
        part1 = h.make_body("chunked", text="first part of the body")
        part2 = b"second part\r\n.a line with a leading dot\r\nend\r\n"
        with self.d.smtp() as c:
            self.assertIn("CHUNKING", c.ehlo().text)
            self.assertReply(c.cmd("MAIL FROM:<bdat@example.com>"), 250, "2.1.0")
            self.assertReply(c.cmd("RCPT TO:<chunk@example.net>"), 250, "2.1.5")
            c.send(b"BDAT %d\r\n" % len(part1) + part1)
            self.assertReply(c.read_reply(), 250, "2.0.0")
            c.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
            qid = self.assertQueued(c.read_reply())
            # Pipelined BDAT: both chunks and the commands in one send.
            c.send(b"MAIL FROM:<bdat2@example.com>\r\nRCPT TO:<chunk2@example.net>\r\n"
                   + b"BDAT %d\r\n" % len(part1) + part1
                   + b"BDAT %d LAST\r\n" % len(part2) + part2 + b"NOOP\r\n")
            replies = c.read_replies(5)
            self.assertEqual([r.code for r in replies], [250] * 5, replies)
            qid2 = self.assertQueued(replies[3])
            self.assertReply(replies[4], 250, "2.0.0")
            # BDAT 0 LAST ends a chunked message.
            self.assertReply(c.cmd("MAIL FROM:<bdat3@example.com>"), 250)
            self.assertReply(c.cmd("RCPT TO:<chunk3@example.net>"), 250)
            c.send(b"BDAT %d\r\n" % len(part1) + part1)
            self.assertReply(c.read_reply(), 250)
            qid3 = self.assertQueued(c.cmd("BDAT 0 LAST"))
            self.assertReply(c.cmd("QUIT"), 221)
        self.sent[qid] = ("bdat@example.com", ["chunk@example.net"], part1 + part2)
        self.sent[qid2] = ("bdat2@example.com", ["chunk2@example.net"], part1 + part2)
        self.sent[qid3] = ("bdat3@example.com", ["chunk3@example.net"], part1)
        self.assert_queue_is_exactly_sent()


def ipv6_loopback_available():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


class TwoListenersTest(h.TerndTestCase):
    @unittest.skipUnless(ipv6_loopback_available(), "no IPv6 loopback (::1) on this host")
    def test_ipv4_and_ipv6_listeners(self):
        d = self.start_ternd(listen=("127.0.0.1:0", "[::1]:0"))
        self.assertEqual([host for host, _ in d.smtp_addresses], ["127.0.0.1", "::1"])
        ids = {}
        for (host, port), family in zip(d.smtp_addresses, ("v4", "v6")):
            s = smtplib.SMTP(host, port, local_hostname="client.example",
                             timeout=h.scaled(h.IO_TIMEOUT_S))
            try:
                s.ehlo()
                s.mail(f"from-{family}@example.com")
                s.rcpt("r@example.net")
                code, text = s.data(h.make_body(f"over {host}"))
                self.assertEqual(code, 250, text)
                ids[h.QUEUED_RE.search(text.decode()).group(1)] = f"from-{family}@example.com"
                s.quit()
            finally:
                s.close()
        queue = d.queue_by_id()
        self.assertEqual({qid: m["sender"] for qid, m in queue.items()}, ids)


if __name__ == "__main__":
    h.main()
