"""Transactions pipelined behind the end of data (RFC 2920 §3.1, RFC 3030 §2): ternd sends
the next message's MAIL, RCPT and DATA (or BDAT LAST) without waiting for the reply to the
previous message's end of data. Against a recording aiosmtpd sink (recording_sink.py, which
sees a pipelined MAIL as input already waiting when it answers the previous end of DATA),
against a sink that refuses such a MAIL with 503 as Haraka 3 does (the message is then sent
again at once, unpipelined, nothing deferred or bounced, and the destination gets no more
pipelining), with --pipeline_transactions=false, from ternd to ternd over BDAT, and
--pipeline_depth's transactions all in one round trip to a tern-bench sink (CHUNKING) that
holds each MAIL reply.
"""

import os
import shutil
import smtplib
import tempfile
import time

import ternd_harness
from test_bench_sink import BenchSink
from recording_sink import RecordingSink
from ternd_harness import make_body, scaled, wait_for

DOMAIN = "pipe.test"
SENDER = f"sender@{DOMAIN}"
MESSAGES = 6
# One connection, so that every message but the first may go pipelined behind another.
ONE_CONNECTION = ["--max_connections_per_destination=1", "--retry_schedule=1s",
                  "--connection_idle_timeout=30s"]


def body(i):
    return make_body(f"pipe-{i}", text="\r\n".join(f".line {n} of {i}" for n in range(40 + i)),
                     extra_headers=(f"Message-ID: <pipe-{i}@client.test>",))


class PipeliningTest(ternd_harness.TerndTestCase):
    def start_sink(self, **kwargs):
        sink = RecordingSink(**kwargs).start()
        self.addCleanup(sink.stop)
        # The greeting waits, so that every message is queued before the first MAIL; each
        # end of DATA waits, so that what ternd pipelines behind it is seen as such.
        sink.add_rule("connect", None, times=1, delay=1.0)
        sink.delay_data(0.3)
        return sink

    def relay_to(self, port, *flags):
        return self.start_ternd(f"--route={DOMAIN}=[127.0.0.1]:{port}", *ONE_CONNECTION, *flags,
                                shards=1, deliver=True)

    def send_all(self, d):
        with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=scaled(30)) as s:
            for i in range(MESSAGES):
                s.sendmail(SENDER, [f"r{i}@{DOMAIN}"], body(i))

    def assert_delivered_intact(self, d, messages):
        got = {m.rcpt_tos[0]: m for m in messages}
        self.assertEqual(sorted(got), sorted(f"r{i}@{DOMAIN}" for i in range(MESSAGES)))
        for i in range(MESSAGES):
            self.assertTrue(got[f"r{i}@{DOMAIN}"].body.endswith(body(i)), f"message {i} changed")
        wait_for(lambda: d.metrics().total("tern_queue_messages") == 0, scaled(30),
                 what="an empty queue")
        kinds = [e["event"] for e in d.delivery_events()]
        self.assertEqual(kinds.count("delivered"), MESSAGES, kinds)
        self.assertNotIn("deferred", kinds)
        self.assertNotIn("bounced", kinds)

    def test_messages_go_pipelined_behind_the_end_of_data_and_arrive_intact(self):
        sink = self.start_sink()
        d = self.relay_to(sink.port)
        self.send_all(d)
        self.assert_delivered_intact(d, sink.wait_for_messages(MESSAGES))
        (conn,) = sink.connections()
        self.assertEqual(conn.messages, MESSAGES)
        # Each MAIL after the first can go behind the one before; a message not yet read
        # when its turn came goes unpipelined, so not every one need be.
        self.assertGreaterEqual(conn.pipelined_mails, MESSAGES // 2, conn.commands)
        metrics = d.metrics()
        self.assertGreaterEqual(metrics.total("tern_client_transactions_pipelined_total"),
                                conn.pipelined_mails)
        self.assertEqual(metrics.total("tern_client_pipelining_refused_total"), 0)
        # While one message was sent, the next one's was read from the spool.
        self.assertGreaterEqual(metrics.total("tern_delivery_message_reads_ahead_total"), 1)

    def test_a_server_refusing_pipelined_mail_gets_each_message_again_unpipelined(self):
        # Haraka 3 answers 503 to a MAIL that arrives behind the previous end of data.
        sink = self.start_sink()
        sink.add_rule("mail", "503 5.5.1 pipelining across transactions is not supported",
                      match=lambda event: event.pipelined)
        # Three transactions a connection: the refused one, the same message again, one more;
        # then new connections, which remember that this destination refuses it.
        d = self.relay_to(sink.port, "--max_messages_per_connection=3", "--pipeline_depth=2")
        self.send_all(d)
        self.assert_delivered_intact(d, sink.wait_for_messages(MESSAGES))
        conns = sink.connections()
        self.assertEqual(len(conns), 3, [c.commands for c in conns])
        # Refused once: the message went again at once after RSET, and neither this
        # connection nor the next ones pipelined again.
        self.assertEqual([c.pipelined_mails for c in conns], [1, 0, 0], conns[0].commands)
        self.assertIn("RSET", conns[0].commands)
        self.assertEqual([c.messages for c in conns], [2, 3, 1])
        metrics = d.metrics()
        self.assertEqual(metrics.total("tern_client_pipelining_refused_total"), 1)
        self.assertGreaterEqual(metrics.total("tern_client_transactions_pipelined_total"), 1)

    def test_a_message_arriving_during_a_transaction_goes_behind_it_not_on_a_new_connection(self):
        # Up to 20 connections allowed; the first message's end of DATA is answered after
        # 1 s. The second message, queued meanwhile, is pipelined behind the first on its
        # connection rather than given a connection of its own.
        sink = RecordingSink().start()
        self.addCleanup(sink.stop)
        sink.delay_data(1.0, times=1)
        d = self.start_ternd(f"--route={DOMAIN}=[127.0.0.1]:{sink.port}", "--retry_schedule=1s",
                             shards=1, deliver=True)
        with smtplib.SMTP("127.0.0.1", d.smtp_port, timeout=scaled(30)) as s:
            s.sendmail(SENDER, [f"r0@{DOMAIN}"], body(0))
            wait_for(lambda: any(c.transactions for c in sink.connections()), scaled(30),
                     what="the first message's end of DATA at the sink")
            s.sendmail(SENDER, [f"r1@{DOMAIN}"], body(1))
        got = sink.wait_for_messages(2)
        self.assertEqual(sorted(m.rcpt_tos[0] for m in got), [f"r0@{DOMAIN}", f"r1@{DOMAIN}"])
        conns = sink.connections()
        self.assertEqual(len(conns), 1, [c.commands for c in conns])
        self.assertEqual(conns[0].pipelined_mails, 1, conns[0].commands)

    def test_a_paced_destination_gets_one_transaction_at_a_time(self):
        # With a message rate, the receiver must see the spacing at its MAILs; it reads a
        # pipelined MAIL only after the transaction before it, which would bunch them up.
        sink = self.start_sink()
        policy_dir = tempfile.mkdtemp(prefix="tern-pipelining-")
        self.addCleanup(shutil.rmtree, policy_dir, ignore_errors=True)
        path = os.path.join(policy_dir, "shaping.toml")
        with open(path, "w", encoding="utf-8") as f:
            f.write('[default]\nmax_message_rate = "100/s,max_burst=10"\n')
        d = self.relay_to(sink.port, f"--shaping={path}")
        self.send_all(d)
        self.assert_delivered_intact(d, sink.wait_for_messages(MESSAGES))
        (conn,) = sink.connections()
        self.assertEqual(conn.pipelined_mails, 0, conn.commands)
        self.assertEqual(d.metrics().total("tern_client_transactions_pipelined_total"), 0)

    def test_pipeline_transactions_false_sends_one_at_a_time(self):
        sink = self.start_sink()
        d = self.relay_to(sink.port, "--pipeline_transactions=false")
        self.send_all(d)
        self.assert_delivered_intact(d, sink.wait_for_messages(MESSAGES))
        (conn,) = sink.connections()
        self.assertEqual(conn.pipelined_mails, 0, conn.commands)
        self.assertEqual(d.metrics().total("tern_client_transactions_pipelined_total"), 0)

    def test_ternd_to_ternd_pipelines_behind_bdat_last(self):
        # ternd offers PIPELINING and CHUNKING: the first relay sends BDAT LAST and the next
        # MAIL behind it; the second relays to the sink. The first one queues the messages
        # without delivering, then restarts: all of them are in its queue at once.
        sink = RecordingSink().start()
        self.addCleanup(sink.stop)
        second = self.start_ternd(f"--route={DOMAIN}=[127.0.0.1]:{sink.port}",
                                  "--retry_schedule=1s", deliver=True)
        first = self.start_ternd(f"--route={DOMAIN}=[127.0.0.1]:{second.smtp_port}",
                                 *ONE_CONNECTION, "--outbound_tls=off", shards=1)
        self.send_all(first)
        self.assertEqual(first.stop(), 0)
        first.flags.remove("--deliver=false")
        first.start()
        self.assert_delivered_intact(first, sink.wait_for_messages(MESSAGES))
        metrics = first.metrics()
        self.assertGreaterEqual(metrics.total("tern_client_transactions_pipelined_total"),
                                MESSAGES // 2)
        self.assertEqual(metrics.total("tern_client_pipelining_refused_total"), 0)

    def test_a_deeper_pipeline_sends_every_queued_message_in_one_round_trip(self):
        # The sink offers CHUNKING and holds each MAIL reply 3 s from its arrival (the
        # replies behind it wait in order). With --pipeline_depth=6 the six queued messages
        # go at once and are all answered about 3 s later; two at a time would take 9 s. The
        # clock starts once ternd is ready (start-up under ASan on a loaded CI machine took
        # seconds and made this fail once); 8 s separates one round (3 s) from three (9 s).
        sink = BenchSink(["--delay=mail:3s"])
        self.track(f"sink stderr ({' '.join(sink.args)})", sink.final_stderr, sink.cleanup)
        sink.start()
        d = self.start_ternd(f"--route={DOMAIN}=[127.0.0.1]:{sink.port}", *ONE_CONNECTION,
                             "--pipeline_depth=6", "--outbound_tls=off", shards=1)
        self.send_all(d)
        self.assertEqual(d.stop(), 0)
        d.flags.remove("--deliver=false")
        d.start()
        started = time.monotonic()
        wait_for(lambda: d.metrics().total("tern_queue_messages") == 0, scaled(60),
                 what="an empty queue")
        elapsed = time.monotonic() - started
        self.assertLess(elapsed, 8.0, "the six transactions did not share one round trip")
        summary = sink.summary()  # stopped: its record is complete
        self.assertEqual(summary["connections"], 1, summary)
        records = sink.records()
        self.assertEqual(sorted(r["recipients"][0] for r in records),
                         sorted(f"r{i}@{DOMAIN}" for i in range(MESSAGES)))
        self.assertTrue(all(r["reply"] == 250 for r in records), records)
        self.assertEqual(d.metrics().total("tern_client_transactions_pipelined_total"),
                         MESSAGES - 1)


if __name__ == "__main__":
    ternd_harness.main()
