"""Shards evenly loaded (--inbound_balance, net/inbound_balance.h): a burst of 50 SMTP
connections from one client (one address, consecutive ports) lands 25 +- 2 on each of two
shards; connections opened one by one always go to the lighter shard; after uneven closes
new connections fill the lighter shard; handed-off connections keep their listener's TLS and
count once against --max_connections_per_ip; --inbound_balance=kernel hands nothing off.

The kernel's SO_REUSEPORT hash alone cannot pass these: the one-by-one test needs 40 coin
tosses to never stray more than one from even, the uneven-close test 14 tosses to nearly all
land on one shard, and both read the hand-off counter."""

import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ternd_harness as h  # noqa: E402

OPEN = "tern_smtp_open_connections"
HANDED_OFF = "tern_smtp_connections_handed_off_total"
BURST = 50
TOLERANCE = 2  # within 10% of the even share of 25


class InboundBalanceTest(h.TerndTestCase):
    def per_shard(self, d, name=OPEN):
        counts = d.metrics().by_label(name, "shard")
        return [int(counts.get(str(s), 0)) for s in range(2)]

    def wait_open(self, d, total):
        """The open connections per shard once they add up to `total` (a shard publishes its
        count once per loop iteration)."""
        state = {}

        def settled():
            state["counts"] = self.per_shard(d)
            return sum(state["counts"]) == total

        h.wait_for(settled, 30, what=f"{total} open connections in {OPEN}")
        return state["counts"]

    def connect_all(self, port, n, **kwargs):
        """n connections opened before any greeting is read (one client's burst), then each
        greeting read: every connection is served."""
        clients = [h.SmtpClient(port, read_greeting=False, **kwargs) for _ in range(n)]
        for c in clients:
            self.addCleanup(c.close)
        for c in clients:
            self.assertReply(c.read_reply(), 220)
        return clients

    def assert_even(self, counts, expected_each):
        for shard, count in enumerate(counts):
            self.assertLessEqual(abs(count - expected_each), TOLERANCE,
                                 f"shard {shard} holds {count} of {sum(counts)}: {counts}")

    def test_burst_of_50_is_split_evenly(self):
        d = self.start_ternd()
        clients = self.connect_all(d.smtp_port, BURST)
        counts = self.wait_open(d, BURST)
        self.assert_even(counts, BURST // 2)
        self.assertGreater(sum(self.per_shard(d, HANDED_OFF)), 0,
                           "no connection was handed off: the kernel's spread is all there is")
        # The sessions handed over work like any other.
        for c in clients[:5]:
            self.assertEqual(c.cmd("EHLO client.example").code, 250)
        for c in clients:
            c.close()
        self.assertEqual(self.wait_open(d, 0), [0, 0])
        self.assertEqual(sum(d.metrics().by_label("tern_smtp_connections_total",
                                                  "shard").values()), BURST)

    def test_uneven_closes_send_new_connections_to_the_lighter_shard(self):
        d = self.start_ternd()
        by_shard = {0: [], 1: []}
        before = [0, 0]
        for i in range(40):
            c = h.SmtpClient(d.smtp_port)
            self.addCleanup(c.close)
            self.assertEqual(c.greeting.code, 220)
            now = self.wait_open(d, i + 1)
            shard = 0 if now[0] > before[0] else 1
            by_shard[shard].append(c)
            # Each connection went to a shard no busier than the other.
            self.assertLessEqual(abs(now[0] - now[1]), 1, f"after {i + 1}: {now}")
            before = now
        self.assertEqual(before, [20, 20])
        # Long-lived connections stay on shard 1; 14 of shard 0's leave.
        for c in by_shard[0][:14]:
            c.close()
        self.assertEqual(self.wait_open(d, 26), [6, 20])
        handed_before = sum(self.per_shard(d, HANDED_OFF))
        self.connect_all(d.smtp_port, 14)
        counts = self.wait_open(d, 40)
        self.assert_even(counts, 20)
        self.assertGreater(sum(self.per_shard(d, HANDED_OFF)), handed_before)

    def scratch_dir(self):
        directory = tempfile.mkdtemp(prefix="tern-balance-")
        self.addCleanup(shutil.rmtree, directory, True)
        return directory

    def test_implicit_tls_connections_keep_their_listener(self):
        cert, key = h.make_certificate(self.scratch_dir())
        d = self.start_ternd(f"--tls_cert={cert}", f"--tls_key={key}",
                             "--smtps_listen=127.0.0.1:0")
        clients = self.connect_all(d.ports["smtps"][0], 30, tls=True)
        counts = self.wait_open(d, 30)
        self.assert_even(counts, 15)
        self.assertGreater(sum(self.per_shard(d, HANDED_OFF)), 0)
        for c in clients:  # TLS from the first byte, wherever the session runs
            self.assertIsNotNone(c.sock.version())
            c.ehlo()

    def test_connection_limit_counts_a_handed_off_connection_once(self):
        # 127.0.0.1 outside --relay_networks: counted against --max_connections_per_ip.
        d = self.start_ternd("--relay_networks=192.0.2.0/24", "--max_connections_per_ip=10")
        for _ in range(2):  # twice: the counts were released once each, too
            clients = self.connect_all(d.smtp_port, 10)
            self.wait_open(d, 10)
            with h.SmtpClient(d.smtp_port) as over:
                self.assertReply(over.greeting, 421, "4.7.0")
            for c in clients:
                c.close()
            self.wait_open(d, 0)
        self.assertGreater(sum(self.per_shard(d, HANDED_OFF)), 0)

    def test_kernel_mode_hands_nothing_off(self):
        d = self.start_ternd("--inbound_balance=kernel")
        self.connect_all(d.smtp_port, 20)
        self.wait_open(d, 20)
        self.assertEqual(self.per_shard(d, HANDED_OFF), [0, 0])

    def test_unknown_mode_is_refused(self):
        self.assertTerndRefuses(["--inbound_balance=random"],
                                "--inbound_balance: 'random' is not handoff or kernel",
                                os.path.join(self.scratch_dir(), "spool"))


if __name__ == "__main__":
    h.main()
