"""Shards share a destination's connection limit (issue 17), measured from outside.

Each shard delivers the messages of its own spool, but a destination's connection limit
(--max_connections_per_destination, and the site's shaping connection_limit) holds for
the whole process. Before, the first shard to ask took every slot and the other waited
until that shard ran out of work (plus up to a 1 s maintenance tick): one core idle for
seconds. Now a shard refused by the limit waits on the shared pools, the holder gives a
connection back at its next transaction's end (it keeps its fair share, limit / shards),
and the waiter is woken at once.

The test queues 400 messages on a 2-shard ternd (both shards get some: inbound
connections are balanced), restarts it with delivery on towards a `tern-bench sink` that
holds each end of data 200 ms, under a limit of 2 connections, and watches the per-shard
transaction counters. Each shard starts delivering as soon as its own spool is recovered,
so one may start a moment before the other (under a sanitizer and a loaded CI machine, up
to about a second): the count starts when ternd is ready, which is once every shard
delivers. By the time 100 more transactions are done, each shard must have done at least
10 of them (before: one shard did all of them alone). No clock decides: the order of the
counters does; the sink's delay only keeps the head start of the first shard well below
its share of the work.
"""

import subprocess
import time

import ternd_harness
from test_bench_sink import BenchSink
from ternd_harness import scaled

MESSAGES = 400
WINDOW = MESSAGES // 4
# Each shard has about MESSAGES / 2 to deliver; before the count starts, the first shard
# delivers at most (its head start) x (2 connections x 8 pipelined / 200 ms = 80 msgs/s).
# A shard with this many left does at least 10 of the window's transactions if it gets its
# connection at once (without it, the other shard does them all).
LEFT_AT_START_MIN = 20
POLL_S = 0.02


class ShardSharesTest(ternd_harness.TerndTestCase):
    def test_both_shards_deliver_from_the_start_under_a_shared_limit(self):
        sink = BenchSink(["--delay=dot:200ms"], record=False)
        self.track("sink stderr", sink.final_stderr, sink.cleanup)
        sink.start()
        d = self.start_ternd(f"--smarthost=[127.0.0.1]:{sink.port}",
                             "--max_connections_per_destination=2", "--pipeline_depth=8",
                             shards=2)
        source = subprocess.run(
            [ternd_harness.TERN_BENCH, "source", f"--target=127.0.0.1:{d.smtp_port}",
             "--connections=10", f"--messages={MESSAGES}", "--size=2048", "--quiet", "--json"],
            capture_output=True, text=True, timeout=scaled(120))
        self.assertEqual(source.returncode, 0, source.stderr)
        received = d.metrics().by_label("tern_smtp_messages_total", "shard")
        self.assertEqual(sorted(received), ["0", "1"], received)
        d.stop()
        d.flags = [f for f in d.flags if f != "--deliver=false"]
        d.start()  # returns once ready: every shard delivers

        at_start = d.metrics().by_label("tern_delivery_transactions_total", "shard")
        for shard, count in received.items():
            self.assertGreaterEqual(count - at_start.get(shard, 0), LEFT_AT_START_MIN,
                                    f"shard {shard} had nearly finished before the other "
                                    f"started: {at_start} of {received}")
        in_window = None
        deadline = time.monotonic() + scaled(120)
        while True:
            done = d.metrics().by_label("tern_delivery_transactions_total", "shard")
            total = sum(done.values())
            if in_window is None and total - sum(at_start.values()) >= WINDOW:
                in_window = {s: done[s] - at_start.get(s, 0) for s in done}
            if total >= MESSAGES:
                break
            self.assertLess(time.monotonic(), deadline,
                            f"{total} of {MESSAGES} delivered in time ({done})")
            time.sleep(POLL_S)
        self.assertEqual(sorted(done), ["0", "1"], done)
        self.assertGreaterEqual(min(in_window.get(s, 0) for s in ("0", "1")), 10,
                                f"one shard delivered alone: {in_window} of the {WINDOW} "
                                f"transactions after ready (before: {at_start}, received "
                                f"per shard: {received})")
        # Results count once durable, a moment after their transactions.
        ternd_harness.wait_for(
            lambda: d.metrics().total("tern_delivery_recipients_total", result="delivered")
            == MESSAGES, 30, what="every result recorded")
        self.assertGreater(d.metrics().total("tern_delivery_connections_yielded_total"), 0)


if __name__ == "__main__":
    ternd_harness.main()
