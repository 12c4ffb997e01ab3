"""Bounce classification end to end: a real ternd relays to a recording aiosmtpd sink that
answers with replies real receivers send (Gmail's multi-line "no such user", a full
mailbox); each failure's class appears in the delivery log, in the DSN (an
X-Tern-Bounce-Class field and a line for people), on tern_delivery_recipients_total's class
label and in `ternctl show` / `ternctl queue`. --bounce_rules adds the operator's rules in
front of the built-in ones, is checked by --check_config and read again on SIGHUP.
"""

import json
import os
import shutil
import signal
import tempfile

import ternd_harness as h
from test_relay import DOMAIN, SENDER, RelayTestCase, unique_body

# Gmail's reply to an unknown recipient, as it sends it: three lines, one reply.
GMAIL_NO_SUCH_USER = (
    "550-5.1.1 The email account that you tried to reach does not exist. Please try\r\n"
    "550-5.1.1 double-checking the recipient's email address for typos or\r\n"
    "550-5.1.1 unnecessary spaces. For more information, go to\r\n"
    "550 5.1.1  https://support.google.com/mail/?p=NoSuchUser a1si2345678qkb.123 - gsmtp")
FULL_MAILBOX = "452 4.2.2 The email account that you tried to reach is over quota."


class BounceClassTest(RelayTestCase):
    def test_failures_are_classed_in_the_log_the_dsn_the_metrics_and_show(self):
        sink = self.start_sink()
        sink.reply_to_rcpt(GMAIL_NO_SUCH_USER, recipients=[f"nobody@{DOMAIN}"])
        sink.reply_to_rcpt(FULL_MAILBOX, recipients=[f"full@{DOMAIN}"])
        # One attempt an hour: the full mailbox stays deferred for `ternctl show`.
        d = self.start_relay(sink, "--retry_schedule=1h")
        self.send(d, SENDER, [f"nobody@{DOMAIN}", f"full@{DOMAIN}", f"ok@{DOMAIN}"],
                  unique_body("classes"))
        (bounce,) = sink.wait_for_bounces(1)
        deferred = self.wait_event(d, "deferred", f"full@{DOMAIN}")
        (bounced,) = self.events(d, "bounced", f"nobody@{DOMAIN}")

        # The delivery log: the class beside the reply, which is the whole multi-line reply.
        self.assertEqual(bounced["class"], "bad-mailbox", bounced)
        self.assertIn("double-checking the recipient's email address", bounced["reply"])
        self.assertEqual(deferred[0]["class"], "quota-issues", deferred)
        (delivered,) = self.events(d, "delivered", f"ok@{DOMAIN}")
        self.assertNotIn("class", delivered)

        # The DSN: machine-readable per recipient, and said to people.
        groups = [g for g in bounce.delivery_status() if "final-recipient" in g]
        self.assertEqual(len(groups), 1, groups)
        self.assertEqual(groups[0]["x-tern-bounce-class"], "bad-mailbox")
        self.assertIn(b"Bounce class: bad-mailbox", bounce.body)

        # The metrics: the result counters carry the class.
        m = d.metrics()
        self.assertEqual(m.total("tern_delivery_recipients_total", result="bounced",
                                 **{"class": "bad-mailbox"}), 1)
        self.assertEqual(m.total("tern_delivery_recipients_total", result="deferred",
                                 **{"class": "quota-issues"}), 1)
        self.assertEqual(m.total("tern_delivery_recipients_total", result="bounced"), 1)
        # ok@, and the DSN to the sender (routed to the sink as well).
        self.assertEqual(m.total("tern_delivery_recipients_total", result="delivered"), 2)

        # ternctl: the queue listing and show name the class of the last failure.
        (row,) = d.queue_json()["messages"]
        (full,) = [r for r in row["recipients"] if r["address"] == f"full@{DOMAIN}"]
        self.assertEqual(full["last_class"], "quota-issues", row)
        shown = json.loads(d.ternctl("show", row["id"], "--json").stdout)
        classes = {a["recipient"]: a.get("class") for a in shown["attempts"]}
        self.assertEqual(classes[f"full@{DOMAIN}"], "quota-issues", shown["attempts"])
        self.assertEqual(classes[f"nobody@{DOMAIN}"], "bad-mailbox", shown["attempts"])
        self.assertIsNone(classes[f"ok@{DOMAIN}"])
        text = d.ternctl("show", row["id"]).stdout
        self.assertIn("deferred [quota-issues]", text)

    def test_operator_rules_come_first_and_are_read_again_on_sighup(self):
        rules = os.path.join(self.make_dir(), "bounce-rules.toml")
        self.write_rules(rules, "inactive-mailbox")
        sink = self.start_sink()
        sink.reply_to_rcpt("550 5.1.1 <gone@relay.test>: account disabled by acme",
                           recipients=[f"gone@{DOMAIN}", f"gone2@{DOMAIN}"])
        d = self.start_relay(sink, f"--bounce_rules={rules}")
        self.send(d, SENDER, [f"gone@{DOMAIN}"], unique_body("rules-1"))
        (first,) = self.wait_event(d, "bounced", f"gone@{DOMAIN}")
        # The built-in rules and the code (5.1.1) would say bad-mailbox: the operator's wins.
        self.assertEqual(first["class"], "inactive-mailbox", first)

        self.write_rules(rules, "policy-related")
        before = d.log().count("bounce rules reloaded")
        os.kill(d.proc.pid, signal.SIGHUP)
        h.wait_for(lambda: d.log().count("bounce rules reloaded") > before, h.scaled(30),
                   what="the bounce rules to be reloaded")
        self.send(d, SENDER, [f"gone2@{DOMAIN}"], unique_body("rules-2"))
        (second,) = self.wait_event(d, "bounced", f"gone2@{DOMAIN}")
        self.assertEqual(second["class"], "policy-related", second)
        # ternctl classify asks the running ternd: its rules in force, and which one decided.
        verdict = json.loads(d.ternctl("classify", "550 5.1.1 account disabled by acme",
                                       "--json").stdout)
        self.assertEqual((verdict["class"], verdict["reason"]),
                         ("policy-related", "rule acme-disabled"), verdict)
        self.assertEqual(d.ternctl("classify", "452 4.2.2 mailbox full").stdout.split()[0],
                         "quota-issues")

        # A broken edit leaves the rules in force and says where the file is wrong.
        with open(rules, "w") as f:
            f.write('[[rule]]\nclass = "no-such-class"\nmatch = "x"\n')
        os.kill(d.proc.pid, signal.SIGHUP)
        h.wait_for(lambda: "bounce rules not reloaded" in d.log(), h.scaled(30),
                   what="the refused reload in the log")
        self.assertIn("no-such-class", d.log())

    def test_check_config_names_the_line_of_a_bad_rule(self):
        rules = os.path.join(self.make_dir(), "bad-rules.toml")
        with open(rules, "w") as f:
            f.write('use_builtin = true\n\n[[rule]]\nclass = "bad-mailbox"\nmatch = "(unclosed"\n')
        done = h.run_tool([h.TERND, "--check_config", "--listen=127.0.0.1:0",
                           "--admin_listen=127.0.0.1:0", f"--spool_dir={self.make_dir()}",
                           "--shards=1", f"--bounce_rules={rules}"])
        err = done.stderr.decode(errors="replace")
        self.assertEqual(done.returncode, 1, err)
        problems = [line for line in err.splitlines() if "--bounce_rules" in line]
        self.assertEqual(len(problems), 1, err)
        # The file and the line of the bad pattern.
        self.assertIn(f"{rules}:5: rule.match: bad regular expression", problems[0])

        with open(rules, "w") as f:
            f.write('[[rule]]\nname = "acme"\nclass = "bad-mailbox"\nmatch = "acme says no"\n')
        done = h.run_tool([h.TERND, "--check_config", "--listen=127.0.0.1:0",
                           "--admin_listen=127.0.0.1:0", f"--spool_dir={self.make_dir()}",
                           "--shards=1", f"--bounce_rules={rules}"])
        self.assertNotIn("--bounce_rules", done.stderr.decode(errors="replace"))

    @staticmethod
    def write_rules(path, bounce_class):
        with open(path + ".tmp", "w") as f:
            f.write("# Tern bounce rules for the test\n"
                    "[[rule]]\n"
                    'name = "acme-disabled"\n'
                    f'class = "{bounce_class}"\n'
                    "match = 'account disabled by acme'\n")
        os.replace(path + ".tmp", path)

    def make_dir(self):
        path = tempfile.mkdtemp(prefix="tern-bounce-")
        self.addCleanup(shutil.rmtree, path, True)
        return path


if __name__ == "__main__":
    h.main()
