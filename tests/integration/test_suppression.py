"""The suppression list fed by real bounces, end to end: a recording aiosmtpd sink answers
"550 5.1.1 user unknown"; ternd classes it bad-mailbox, puts the address on the list before
it records the bounce, and the next RCPT to it, from a real SMTP client, gets
"550 5.1.1 <addr>: recipient suppressed (hard-bounce, DATE)". The entry survives kill -9.
--suppress_after=2 waits for a second hard bounce; deferrals and reputation classes never
feed it; mail queued before the entry is not sent (a "suppressed" event); with
--suppressed_action=drop the RCPT is accepted and the recipient dropped without a DSN.
"""

import datetime
import smtplib

import ternd_harness as h
from test_relay import DOMAIN, SENDER, RelayTestCase, unique_body

USER_UNKNOWN = "550 5.1.1 <gone@relay.test>: Recipient address rejected: User unknown"


def today():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")


class SuppressionTest(RelayTestCase):
    def rcpt_reply(self, d, recipient, sender=SENDER):
        with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=h.scaled(30)) as s:
            s.ehlo()
            s.mail(sender)
            code, text = s.rcpt(recipient)
            s.rset()
            return code, text.decode()

    def test_a_hard_bounce_suppresses_the_address_and_survives_kill9(self):
        sink = self.start_sink()
        sink.reply_to_rcpt(USER_UNKNOWN, recipients=[f"gone@{DOMAIN}"])
        d = self.start_relay(sink)
        self.assertEqual(self.rcpt_reply(d, f"gone@{DOMAIN}")[0], 250, "not suppressed yet")
        self.send(d, SENDER, [f"gone@{DOMAIN}"], unique_body("first"))
        (bounced,) = self.wait_event(d, "bounced", f"gone@{DOMAIN}")
        self.assertEqual(bounced["class"], "bad-mailbox")

        # The entry was durable before the BOUNCED record: the next RCPT is refused at once.
        code, text = self.rcpt_reply(d, f"Gone@{DOMAIN}")  # in any case
        self.assertEqual(code, 550, text)
        self.assertEqual(text, f"5.1.1 <Gone@{DOMAIN}>: recipient suppressed "
                               f"(hard-bounce, {today()})")
        self.assertEqual(self.rcpt_reply(d, f"other@{DOMAIN}")[0], 250)
        m = d.metrics()
        self.assertEqual(m.total("tern_suppression_added_total", result="added"), 1)
        self.assertEqual(m.total("tern_smtp_recipients_suppressed_total"), 1)
        self.assertEqual(m.total("tern_suppression_entries", reason="hard-bounce"), 1)
        self.assertEqual(m.total("tern_suppression_entries", reason="manual"), 0)

        d.kill9()
        d.start()
        code, text = self.rcpt_reply(d, f"gone@{DOMAIN}")
        self.assertEqual((code, text.split(":")[0]), (550, f"5.1.1 <gone@{DOMAIN}>"),
                         "the entry survives kill -9")
        self.assertIn("suppression list: 1 entries", d.log())

    def test_deferrals_and_reputation_classes_never_suppress(self):
        sink = self.start_sink()
        sink.reply_to_rcpt("452 4.2.2 mailbox full", recipients=[f"full@{DOMAIN}"])
        sink.reply_to_rcpt("550 5.7.1 Service unavailable; client host blocked using "
                           "zen.spamhaus.org", recipients=[f"blocked@{DOMAIN}"])
        d = self.start_relay(sink, "--retry_schedule=1h")
        self.send(d, SENDER, [f"full@{DOMAIN}", f"blocked@{DOMAIN}"], unique_body("rep"))
        self.wait_event(d, "deferred", f"full@{DOMAIN}")
        (blocked,) = self.wait_event(d, "bounced", f"blocked@{DOMAIN}")
        self.assertEqual(blocked["class"], "spam-related")
        for rcpt in (f"full@{DOMAIN}", f"blocked@{DOMAIN}"):
            self.assertEqual(self.rcpt_reply(d, rcpt)[0], 250, rcpt)
        self.assertEqual(d.metrics().total("tern_suppression_added_total"), 0)

    def test_suppress_after_two_waits_for_the_second_hard_bounce(self):
        sink = self.start_sink()
        sink.reply_to_rcpt(USER_UNKNOWN, recipients=[f"gone@{DOMAIN}"])
        d = self.start_relay(sink, "--suppress_after=2")
        self.send(d, SENDER, [f"gone@{DOMAIN}"], unique_body("one"))
        self.wait_event(d, "bounced", f"gone@{DOMAIN}")
        self.assertEqual(self.rcpt_reply(d, f"gone@{DOMAIN}")[0], 250, "one bounce is not enough")
        self.send(d, SENDER, [f"gone@{DOMAIN}"], unique_body("two"))
        h.wait_for(lambda: len(self.events(d, "bounced", f"gone@{DOMAIN}")) == 2, h.scaled(60),
                   what="the second bounce")
        h.wait_for(lambda: self.rcpt_reply(d, f"gone@{DOMAIN}")[0] == 550, h.scaled(30),
                   what="the RCPT to be refused after the second hard bounce")

    def test_mail_queued_before_the_entry_is_not_sent(self):
        # later@ is deferred once (451), then its retry finds it suppressed by the bounce of
        # another message to the same address.
        sink = self.start_sink()
        sink.reply_to_rcpt("451 4.3.0 try later", recipients=[f"later@{DOMAIN}"], times=1)
        d = self.start_relay(sink, "--retry_schedule=3s")
        self.send(d, SENDER, [f"later@{DOMAIN}"], unique_body("queued-first"))
        self.wait_event(d, "deferred", f"later@{DOMAIN}")
        sink.reply_to_rcpt(USER_UNKNOWN, recipients=[f"later@{DOMAIN}"], times=1)
        with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=h.scaled(30)) as s:
            s.sendmail(SENDER, [f"later@{DOMAIN}"], unique_body("bounces"))
        (suppressed,) = self.wait_event(d, "suppressed", f"later@{DOMAIN}", timeout_s=60)
        self.assertIn("recipient suppressed (hard-bounce", suppressed["reply"])
        self.wait_queue_empty(d)
        self.assertEqual([m for m in sink.messages() if not m.is_bounce], [],
                         "nothing delivered to the suppressed address")
        self.assertEqual(d.metrics().total("tern_delivery_recipients_total",
                                           result="suppressed"), 1)

    def test_drop_mode_accepts_the_rcpt_and_drops_the_recipient(self):
        sink = self.start_sink()
        sink.reply_to_rcpt(USER_UNKNOWN, recipients=[f"gone@{DOMAIN}"])
        d = self.start_relay(sink, "--suppressed_action=drop")
        self.send(d, SENDER, [f"gone@{DOMAIN}"], unique_body("first"))
        self.wait_event(d, "bounced", f"gone@{DOMAIN}")
        sink.wait_for_bounces(1)
        self.assertEqual(self.rcpt_reply(d, f"gone@{DOMAIN}")[0], 250, "drop mode accepts")
        self.send(d, SENDER, [f"gone@{DOMAIN}", f"ok@{DOMAIN}"], unique_body("second"))
        (dropped,) = self.wait_event(d, "suppressed", f"gone@{DOMAIN}")
        self.assertIn("recipient suppressed", dropped["reply"])
        self.wait_event(d, "delivered", f"ok@{DOMAIN}")
        self.wait_queue_empty(d)
        self.assertEqual(len(sink.bounces()), 1, "no DSN for a dropped recipient")


if __name__ == "__main__":
    h.main()
