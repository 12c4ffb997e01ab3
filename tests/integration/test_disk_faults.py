"""Disk faults seen from an SMTP client, with ternd-faults (ternd over the fault-injecting
storage, tests/tools/ternd_faults_main.cc):

- an fdatasync that fails is never turned into a 250: the message gets 451 4.3.0, the
  error is logged with the segment, the segment is abandoned, and the next message is
  accepted on a new segment; everything acknowledged survives a restart, and the failed
  message does not (its bytes are erased from the abandoned segment);
- a full spool (ENOSPC when a segment is created) answers 452 4.3.1 to new mail while
  delivery goes on; once delivered mail frees its segments, ternd accepts mail again by
  itself, and every acknowledged message reaches the sink.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternd_harness as h  # noqa: E402
from recording_sink import RecordingSink  # noqa: E402

DOMAIN = "relay.test"


class DiskFaultTest(h.TerndTestCase):
    def setUp(self):
        if not h.TERND_FAULTS or not os.access(h.TERND_FAULTS, os.X_OK):
            self.skipTest("--ternd_faults PATH not given")

    def send_one(self, c, tag, body=None):
        """MAIL, RCPT, DATA for one message; returns the final reply."""
        reply = c.cmd(f"MAIL FROM:<{tag}@client.test>")
        if reply.code != 250:
            return reply
        self.assertReply(c.cmd(f"RCPT TO:<{tag}@{DOMAIN}>"), 250)
        self.assertReply(c.cmd("DATA"), 354)
        c.send((body or h.make_body(tag)) + b".\r\n")
        return c.read_reply()

    def test_failed_fdatasync_answers_451_and_the_shard_goes_on(self):
        d = self.start_ternd("--fault_sync_fail_at=2", shards=1, binary=h.TERND_FAULTS)
        with d.smtp() as c:
            c.ehlo()
            first = self.assertQueued(self.send_one(c, "first"))
            self.assertReply(self.send_one(c, "second"), 451, "4.3.0")
            third = self.assertQueued(self.send_one(c, "third"))
            self.assertReply(c.cmd("QUIT"), 221)
        m = d.metrics()
        self.assertEqual(m.total("tern_spool_commits_total", result="failed"), 1)
        self.assertEqual(m.total("tern_spool_segments_abandoned_total"), 1)
        self.assertGreaterEqual(m.total("tern_smtp_rejects_total", code=451), 1)
        self.assertIn("fdatasync", d.log_tail())
        self.assertIn("failed", d.log_tail())
        queue = d.queue_by_id()
        self.assertIn(first, queue)
        self.assertIn(third, queue)
        # The abandoned segment is never written again: the third message is in a new one.
        d.restart()
        queue = d.queue_by_id()
        self.assertIn(first, queue)
        self.assertIn(third, queue)
        # The 451'd message reached the file (only its fdatasync failed), but was erased:
        # it does not come back as a duplicate of the client's retry.
        self.assertEqual(len(queue), 2, queue)

    def test_full_spool_answers_452_and_accepts_again_once_delivery_frees_it(self):
        sink = RecordingSink().start()
        self.addCleanup(sink.stop)
        sink.reply_to_data("451 4.3.0 not now")  # everything stays queued for now
        segment = 1536 << 10  # at least --max_message_size + 1 MiB
        d = self.start_ternd(f"--route={DOMAIN}=[127.0.0.1]:{sink.port}",
                             "--retry_schedule=1s", f"--segment_size={segment}",
                             "--max_message_size=262144", f"--fault_capacity_bytes={3 * segment}",
                             shards=1, deliver=True, binary=h.TERND_FAULTS)
        body = b"Subject: fill\r\n\r\n" + (b"f" * 998 + b"\r\n") * 32  # 32 KiB
        acked = []
        with d.smtp() as c:
            c.ehlo()
            for i in range(600):  # bounded: 4.5 MiB of segments hold fewer than 150
                reply = self.send_one(c, f"fill{i}", body)
                if reply.code != 250:
                    self.assertReply(reply, 452, "4.3.1")
                    break
                acked.append(self.assertQueued(reply))
            else:
                self.fail("the spool never filled up")
            self.assertGreater(len(acked), 10)
            self.assertGreaterEqual(d.metrics().total("tern_smtp_rejects_total", code=452), 1)
            # Delivery goes on: the sink takes mail now, segments empty, the GC frees them.
            sink.clear_faults()

            def accepted_again():
                reply = self.send_one(c, f"after{len(acked)}", body)
                if reply.code == 250:
                    return reply
                self.assertReply(reply, 452, "4.3.1")
                return None

            reply = h.wait_for(accepted_again, timeout_s=90, interval_s=0.2,
                               what="mail accepted again once delivery freed space")
            acked.append(self.assertQueued(reply))
            self.assertReply(c.cmd("QUIT"), 221)
        h.wait_for(lambda: d.metrics().total("tern_queue_messages") == 0, timeout_s=120,
                   what="every acknowledged message delivered")
        delivered = {e["queue_id"] for e in d.delivery_events() if e["event"] == "delivered"}
        self.assertEqual(set(acked) - delivered, set(), "acknowledged but never delivered")
        self.assertGreater(d.metrics().total("tern_spool_segments_deleted_total"), 0)


if __name__ == "__main__":
    h.main()
