"""ternctl against a real ternd: queue listings with filters (text and --json), show
(envelope, headers, every attempt with its reply), hold / release / flush / delete / bounce
(each change written to the spool: held and deleted messages stay so across a restart),
and stats (per shard, per destination with its last error); the operator's tools of issue
15: each deferred recipient's last reply in `queue`, --jsonl, ids from standard input (in
batches), show --body, hold --duration (its end kept across kill -9), bounce --reason,
durations in days, config (non-default flags) and qshape. Delivery goes to the recording
aiosmtpd sink (recording_sink.py) on loopback.
"""

import json
import smtplib
import time

import ternd_harness
from recording_sink import RecordingSink
from ternd_harness import make_body, run_tool, scaled, wait_for

DOMAIN = "ctl.test"
SENDER = f"sender@{DOMAIN}"


def send(d, sender, recipients, subject):
    body = make_body(subject, extra_headers=(f"Message-ID: <{subject}@client.test>",))
    with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=scaled(30)) as s:
        s.sendmail(sender, recipients, body)


class TernctlTestCase(ternd_harness.TerndTestCase):
    def ctl_json(self, d, *args):
        return json.loads(d.ternctl(*args, "--json").stdout)

    def only_id(self, d, *filters):
        queue = self.ctl_json(d, "queue", *filters)
        self.assertEqual(len(queue["messages"]), 1, queue)
        return queue["messages"][0]["id"]

    def start_sink(self):
        sink = RecordingSink().start()
        self.addCleanup(sink.stop)
        return sink

    def start_relay(self, sink, *flags):
        return self.start_ternd(f"--route={DOMAIN}=[127.0.0.1]:{sink.port}",
                                f"--route=other.test=[127.0.0.1]:{sink.port}",
                                "--connection_idle_timeout=30s", *flags, deliver=True)

    def wait_state(self, d, qid, state):
        def reached():
            m = self.ctl_json(d, "queue", qid)["messages"]
            return m and m[0]["state"] == state
        wait_for(reached, scaled(30), what=f"{qid} {state}")

    def deferred_one(self, local, reply, only_this_recipient=False):
        """A relaying ternd holding one message to LOCAL@DOMAIN that the sink deferred with
        REPLY (for that recipient only, or for every one): (sink, ternd, queue id)."""
        sink = self.start_sink()
        sink.reply_to_data(reply, recipients=[f"{local}@{DOMAIN}"] if only_this_recipient else None)
        d = self.start_relay(sink, "--retry_schedule=1h")
        send(d, SENDER, [f"{local}@{DOMAIN}"], local)
        qid = self.only_id(d)
        self.wait_state(d, qid, "deferred")
        return sink, d, qid


class ListingTest(TernctlTestCase):
    def test_filters_select_messages(self):
        d = self.start_ternd()
        send(d, "alice@one.test", ["bob@example.com"], "first")
        send(d, "carol@two.test", ["dave@example.org", "erin@sub.example.com"], "second")
        send(d, "", ["postmaster@example.net"], "third")
        everything = self.ctl_json(d, "queue")
        self.assertEqual(everything["total"], 3)
        self.assertEqual(everything["matched"], 3)
        self.assertEqual({m["state"] for m in everything["messages"]}, {"queued"})

        def senders(*filters):
            return sorted(m["sender"] for m in self.ctl_json(d, "queue", *filters)["messages"])
        self.assertEqual(senders("--domain=example.com"), ["alice@one.test"])
        self.assertEqual(senders("--domain=.example.com"), ["alice@one.test", "carol@two.test"])
        self.assertEqual(senders("--sender=CAROL"), ["carol@two.test"])
        self.assertEqual(senders("--sender=<>"), [""])
        self.assertEqual(senders("--recipient=dave@"), ["carol@two.test"])
        self.assertEqual(senders("--min_age=1h"), [])
        self.assertEqual(len(senders("--max_age=1h")), 3)
        self.assertEqual(senders("--state=held"), [])
        limited = self.ctl_json(d, "queue", "--limit=1")
        self.assertEqual((len(limited["messages"]), limited["matched"]), (1, 3))

        text = d.ternctl("queue", "--domain=example.org").stdout
        lines = text.splitlines()
        self.assertTrue(lines[0].startswith("QUEUE ID"), text)
        self.assertIn("carol@two.test", lines[1])
        self.assertIn("queued", lines[1])
        self.assertIn("dave@example.org (pending)", text)
        self.assertIn("-- 1 of 3 messages match", lines[-1])
        # The recipient column lines up under the header's.
        self.assertEqual(lines[0].index("SENDER"), lines[1].index("carol@two.test"))

        bad = d.ternctl("queue", "--state=sleeping", check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("state: 'sleeping' is not one of", bad.stderr)

    def test_show_gives_envelope_and_headers(self):
        d = self.start_ternd()
        send(d, "alice@one.test", ["bob@example.com"], "shown")
        qid = self.only_id(d)
        text = d.ternctl("show", qid).stdout
        self.assertIn(f"Queue ID:    {qid}", text)
        self.assertIn("Sender:      alice@one.test", text)
        self.assertIn("Recipient:   bob@example.com (pending)", text)
        self.assertIn("Subject: shown", text)
        self.assertIn("Message-ID: <shown@client.test>", text)
        self.assertIn("(none yet)", text)
        details = self.ctl_json(d, "show", qid)
        self.assertEqual(details["message"]["id"], qid)
        self.assertEqual(details["envelope"]["client_address"], "127.0.0.1")
        self.assertIn("Subject: shown", details["headers"])
        missing = d.ternctl("show", "00000000DEADBEEF", check=False)
        self.assertEqual(missing.returncode, 1)
        self.assertIn("not in the queue", missing.stderr)


class ChangesTest(TernctlTestCase):
    def test_hold_survives_restart_and_release_delivers(self):
        sink, d, qid = self.deferred_one("held", "451 4.3.0 sink says later")
        shown = self.ctl_json(d, "show", qid)
        [attempt] = shown["attempts"]
        self.assertEqual(attempt["reply_code"], 451)
        self.assertIn("sink says later", attempt["reply"])
        self.assertEqual(attempt["result"], "deferred")
        self.assertIn("#1 ", d.ternctl("show", qid).stdout)

        out = self.ctl_json(d, "hold", qid)
        self.assertEqual((out["matched"], out["changed"]), (1, 1))
        self.assertEqual(self.ctl_json(d, "queue", "--state=held")["messages"][0]["id"], qid)
        self.assertEqual(d.metrics().total("tern_queue_messages", state="held"), 1)
        d.restart()
        self.assertEqual(d.metrics().total("tern_queue_messages", state="held"), 1)
        self.assertEqual(self.ctl_json(d, "queue", qid)["messages"][0]["state"], "held")
        # A flush leaves a held message alone.
        self.assertEqual(self.ctl_json(d, "flush")["changed"], 0)
        sink.clear_faults()
        self.assertIn("1 released", d.ternctl("release", qid).stdout)
        wait_for(lambda: sink.messages(), scaled(30), what="the released message")
        wait_for(lambda: self.ctl_json(d, "queue")["total"] == 0, scaled(30), what="empty queue")

    def test_flush_delivers_deferred_now(self):
        sink = self.start_sink()
        sink.reply_to_data("452 4.2.2 mailbox full", times=1)
        d = self.start_relay(sink, "--retry_schedule=1h")
        send(d, SENDER, [f"flushed@{DOMAIN}"], "flushed")
        qid = self.only_id(d)
        self.wait_state(d, qid, "deferred")
        out = self.ctl_json(d, "flush", f"--domain={DOMAIN}")
        self.assertEqual((out["matched"], out["changed"]), (1, 1))
        [m] = sink.wait_for_messages(1)
        self.assertEqual(m.rcpt_tos, [f"flushed@{DOMAIN}"])
        wait_for(lambda: self.ctl_json(d, "queue")["total"] == 0, scaled(30), what="empty queue")

    def test_delete_is_logged_and_survives_restart(self):
        sink = self.start_sink()
        sink.reply_to_data("451 4.3.0 later")
        d = self.start_relay(sink, "--retry_schedule=1h")
        send(d, SENDER, [f"doomed@{DOMAIN}"], "doomed")
        send(d, SENDER, [f"kept@{DOMAIN}"], "kept")
        doomed = self.only_id(d, "--recipient=doomed")
        self.wait_state(d, doomed, "deferred")
        refused = d.ternctl("delete", check=False)
        self.assertEqual(refused.returncode, 1)
        self.assertIn("say all=1", refused.stderr)
        out = self.ctl_json(d, "delete", doomed)
        self.assertEqual((out["matched"], out["changed"], out["errors"]), (1, 1, []))
        self.assertEqual(self.ctl_json(d, "queue")["total"], 1)
        events = [e for e in d.delivery_events() if e["event"] == "deleted"]
        self.assertEqual([e["recipient"] for e in events], [f"doomed@{DOMAIN}"])
        d.restart()
        queue = self.ctl_json(d, "queue")
        self.assertEqual([m["recipients"][0]["address"] for m in queue["messages"]],
                         [f"kept@{DOMAIN}"])
        self.assertEqual(sink.bounces(), [], "a deleted message is not bounced")

    def test_bounce_returns_message_with_dsn(self):
        sink, d, qid = self.deferred_one("returned", "451 4.3.0 later", only_this_recipient=True)
        out = self.ctl_json(d, "bounce", f"--recipient=returned@{DOMAIN}")
        self.assertEqual((out["matched"], out["changed"]), (1, 1))
        [dsn] = sink.wait_for_bounces(1)
        self.assertEqual(dsn.rcpt_tos, [SENDER])
        status = dsn.delivery_status()
        self.assertIn("5.0.0", str(status))
        wait_for(lambda: self.ctl_json(d, "queue")["total"] == 0, scaled(30), what="empty queue")
        bounced = [e for e in d.delivery_events() if e["event"] == "bounced"]
        self.assertIn("returned by the operator", bounced[0]["reply"])


class StatsTest(TernctlTestCase):
    def test_stats_per_shard_and_destination(self):
        sink = self.start_sink()
        sink.reply_to_data("451 4.7.1 greylisted", recipients=[f"grey@{DOMAIN}"])
        d = self.start_relay(sink, "--retry_schedule=1h")
        send(d, SENDER, [f"grey@{DOMAIN}"], "grey")
        send(d, SENDER, [f"fine@{DOMAIN}"], "fine")
        sink.wait_for_messages(1)
        wait_for(lambda: self.ctl_json(d, "queue", "--state=deferred")["matched"] == 1,
                 scaled(30), what="one deferred message")
        stats = self.ctl_json(d, "stats")
        self.assertEqual(len(stats["shards"]), 2)
        self.assertEqual(sum(s["deferred"] for s in stats["shards"]), 1)
        self.assertEqual(sum(s["messages"] for s in stats["shards"]), 1)
        dest = [x for x in stats["destinations"]
                if x["destination"] == f"[127.0.0.1]:{sink.port}"]
        self.assertTrue(dest, stats["destinations"])
        self.assertEqual(sum(x["delivered"] for x in dest), 1)
        self.assertEqual(sum(x["deferred"] for x in dest), 1)
        self.assertTrue(any("greylisted" in x["last_error"] for x in dest), dest)
        self.assertTrue(all("results_last_minute" in x for x in dest), dest)
        # Rates need two samples of the history, taken a second apart.
        wait_for(lambda: self.ctl_json(d, "stats")["rates_per_second"]["window_seconds"] > 0,
                 scaled(10), what="a rate window")
        m = d.metrics()
        destination = f"[127.0.0.1]:{sink.port}"
        self.assertEqual(m.total("tern_destination_recipients_total", destination=destination,
                                 result="delivered"), 1)
        self.assertEqual(m.total("tern_destination_recipients_total", destination=destination,
                                 result="deferred"), 1)
        self.assertEqual(m.total("tern_delivery_delay_seconds_count"), 1)
        text = d.ternctl("stats").stdout
        self.assertIn("DESTINATION", text)
        self.assertIn(f"[127.0.0.1]:{sink.port}", text)
        self.assertIn("greylisted", text)


class OperatorToolsTest(TernctlTestCase):
    def test_queue_shows_last_reply_jsonl_and_day_durations(self):
        sink, d, qid = self.deferred_one("slow", "451 4.3.0 sink says later", only_this_recipient=True)
        text = d.ternctl("queue").stdout
        lines = text.splitlines()
        at = next(i for i, line in enumerate(lines) if f"slow@{DOMAIN} (deferred)" in line)
        reason = lines[at + 1].strip()
        # "(HOST said: REPLY) [CLASS]": the reply as postqueue -p shows it, then its class.
        self.assertRegex(reason, r"^\(.*\) \[other\]$", text)
        self.assertIn("451", reason)
        self.assertIn("sink says later", reason)
        [rcpt] = self.ctl_json(d, "queue")["messages"][0]["recipients"]
        self.assertIn("sink says later", rcpt["last_reply"])

        d2 = self.start_ternd()
        for i in range(3):
            send(d2, SENDER, [f"r{i}@example.com"], f"jsonl{i}")
        out = d2.ternctl("queue", "--jsonl").stdout
        rows = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(len(rows), 3, out)
        self.assertEqual(sorted(r["recipients"][0]["address"] for r in rows),
                         [f"r{i}@example.com" for i in range(3)])
        self.assertEqual(len(self.ctl_json(d2, "queue", "--min_age=2d")["messages"]), 0)
        self.assertEqual(len(self.ctl_json(d2, "queue", "--max_age=2d")["messages"]), 3)
        bad = d2.ternctl("queue", "--min_age=2x", check=False)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("--min_age: bad duration", bad.stderr)

    def test_delete_reads_ids_from_standard_input_in_batches(self):
        d = self.start_ternd()
        for i in range(3):
            send(d, SENDER, [f"n{i}@example.com"], f"stdin{i}")
        doomed = [m["id"] for m in self.ctl_json(d, "queue")["messages"]
                  if m["recipients"][0]["address"] != "n1@example.com"]
        self.assertEqual(len(doomed), 2)
        # 700 ids unknown to ternd around the 2 real ones: more than one 8 KiB request.
        absent = [f"{0xF000000000000000 + i:016X}" for i in range(700)]
        lines = absent[:350] + ["", doomed[0], "  "] + absent[350:] + [doomed[1].lower(), ""]
        proc = run_tool([ternd_harness.TERNCTL, f"--admin={d.admin()}", "delete", "-", "--json"],
                        input_bytes="\n".join(lines).encode())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        answers = [json.loads(line) for line in proc.stdout.decode().splitlines()]
        self.assertGreater(len(answers), 1, "one request per batch")
        self.assertEqual(sum(a["matched"] for a in answers), 2)
        self.assertEqual(sum(a["changed"] for a in answers), 2)
        left = self.ctl_json(d, "queue")["messages"]
        self.assertEqual([m["recipients"][0]["address"] for m in left], ["n1@example.com"])
        bad = run_tool([ternd_harness.TERNCTL, f"--admin={d.admin()}", "delete", "-"],
                       input_bytes=b"not-an-id\n")
        self.assertEqual(bad.returncode, 1)
        self.assertIn("line 1", bad.stderr.decode())
        self.assertEqual(len(self.ctl_json(d, "queue")["messages"]), 1)

    def test_show_body_prints_the_message_as_sent(self):
        d = self.start_ternd()
        body = make_body("body", text=".a line with a leading dot\r\n..two dots\r\nend")
        with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=scaled(30)) as s:
            s.sendmail("alice@one.test", ["bob@example.com"], body)
        qid = self.only_id(d)
        proc = run_tool([ternd_harness.TERNCTL, f"--admin={d.admin()}", "show", qid, "--body"])
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(proc.stdout.endswith(body), proc.stdout)
        # What ternd added in front is header fields only (its Received:).
        added = proc.stdout[:len(proc.stdout) - len(body)]
        self.assertTrue(added == b"" or added.startswith(b"Received: "), added)

    def test_hold_duration_is_kept_across_kill9_then_releases(self):
        sink, d, qid = self.deferred_one("timed", "451 4.3.0 later")
        out = self.ctl_json(d, "hold", qid, "--duration=1h")
        self.assertEqual(out["changed"], 1)
        [held] = self.ctl_json(d, "queue", qid)["messages"]
        self.assertEqual(held["state"], "held")
        until = held["held_until"]
        self.assertIn(f"held until {until}", d.ternctl("show", qid).stdout)
        self.assertIn(f"(held until {until})", d.ternctl("queue").stdout)
        d.kill9()
        d.restart()
        [held] = self.ctl_json(d, "queue", qid)["messages"]
        self.assertEqual((held["state"], held["held_until"]), ("held", until))
        sink.clear_faults()
        # A new, short end replaces the hour: released by ternd itself, not before 2 s.
        held_at = time.monotonic()
        self.assertEqual(self.ctl_json(d, "hold", qid, "--duration=2s")["changed"], 1)
        [m] = wait_for(lambda: sink.messages(), scaled(30), what="the message released by itself")
        self.assertGreaterEqual(m.received_at - held_at, 2.0)
        wait_for(lambda: self.ctl_json(d, "queue")["total"] == 0, scaled(30), what="empty queue")
        self.assertIn("hold ended, released", d.log())
        bad = d.ternctl("release", qid, "--duration=1h", check=False)
        self.assertEqual(bad.returncode, 2)

    def test_bounce_reason_reaches_the_dsn_and_the_log(self):
        sink, d, qid = self.deferred_one("spam", "451 4.3.0 later", only_this_recipient=True)
        out = self.ctl_json(d, "bounce", qid, "--reason=Campaign stopped by the postmaster")
        self.assertEqual(out["changed"], 1)
        [dsn] = sink.wait_for_bounces(1)
        diagnostic = " ".join(g.get("diagnostic-code", "") for g in dsn.delivery_status())
        self.assertIn("Campaign stopped by the postmaster", diagnostic)
        wait_for(lambda: [e for e in d.delivery_events() if e["event"] == "bounced"],
                 scaled(30), what="the bounced event")
        bounced = [e for e in d.delivery_events() if e["event"] == "bounced"]
        self.assertIn("Campaign stopped by the postmaster", bounced[0]["reply"])
        bad = d.ternctl("bounce", "--all", "--reason=two\nlines", check=False)
        self.assertEqual(bad.returncode, 1)
        self.assertIn("printable ASCII", bad.stderr)

    def test_config_lists_the_non_default_flags(self):
        d = self.start_ternd("--max_recipients=77")
        text = d.ternctl("config").stdout
        self.assertIn("--max_recipients=77\n", text)
        self.assertNotIn("--max_message_size=", text, "defaults are not listed")
        flags = {f["name"]: f for f in self.ctl_json(d, "config")["flags"]}
        self.assertEqual(flags["max_recipients"]["value"], "77")
        self.assertFalse(flags["max_recipients"]["hidden"])
        lines = [json.loads(line) for line in d.ternctl("config", "--jsonl").stdout.splitlines()]
        self.assertEqual({f["name"] for f in lines}, set(flags))
        for name, flag in flags.items():
            if ("token" in name or "password" in name) and not name.endswith("_file"):
                self.assertEqual(flag["value"], "(hidden)", name)

    def test_qshape_counts_messages_by_domain_and_age(self):
        d = self.start_ternd()
        send(d, SENDER, ["a1@a.test", "a2@a.test"], "q1")
        send(d, SENDER, ["a3@a.test", "b1@b.test"], "q2")
        send(d, SENDER, ["c1@c.test"], "q3")
        shape = self.ctl_json(d, "qshape")
        self.assertEqual(shape["unit"], "messages")
        self.assertEqual(shape["buckets"][0], "5")
        self.assertEqual(shape["buckets"][-1], "1280+")
        self.assertEqual(shape["total"]["total"], 3)
        self.assertEqual(shape["total"]["counts"][0], 3)
        rows = {r["domain"]: r["total"] for r in shape["domains"]}
        self.assertEqual(rows, {"a.test": 2, "b.test": 1, "c.test": 1})
        top = self.ctl_json(d, "qshape", "--top=1")
        self.assertEqual([(r["domain"], r["total"]) for r in top["domains"]],
                         [("a.test", 2), ("(other)", 2)])
        self.assertEqual(self.ctl_json(d, "qshape", "--min_age=2d")["total"]["total"], 0)
        lines = [json.loads(line) for line in d.ternctl("qshape", "--jsonl").stdout.splitlines()]
        self.assertEqual(lines[0]["domain"], "TOTAL")
        self.assertEqual({r["domain"]: r["total"] for r in lines[1:]}, rows)
        text = d.ternctl("qshape").stdout
        self.assertIn("1280+", text.splitlines()[0])
        self.assertTrue(text.splitlines()[1].lstrip().startswith("TOTAL"), text)


if __name__ == "__main__":
    ternd_harness.main()
