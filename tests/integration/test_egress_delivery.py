"""Egress sources at delivery (issue 16 section 5): messages of a pool leave from its
sources in proportion to their weights (smooth weighted round robin), each connection
bound to its source's address (the sink sees 127.0.0.2 / 127.0.0.3) and saying its
source's EHLO name; a message without a pool uses the default pool.
"""

import collections
import json

import ternd_harness
from recording_sink import RecordingSink
from ternd_harness import make_body, wait_for

MESSAGES = 300


class EgressDeliveryTest(ternd_harness.TerndTestCase):
    def test_pool_sources_by_weight_with_their_address_and_ehlo(self):
        sink = RecordingSink().start()
        self.addCleanup(sink.stop)
        d = self.start_ternd(f"--route=egress.test=[127.0.0.1]:{sink.port}",
                             "--egress_source=ip2=127.0.0.2@out2.relay.test",
                             "--egress_source=ip3=127.0.0.3@out3.relay.test",
                             "--egress_pool=bulk=ip2:1,ip3:2", "--default_pool=bulk",
                             deliver=True)
        with d.smtp() as c:
            c.ehlo("client.test")
            for i in range(MESSAGES):
                self.assertQueued(c.send_message("sender@client.test", [f"r{i}@egress.test"],
                                                 make_body(f"egress {i}")))
        messages = sink.wait_for_messages(MESSAGES, timeout=120)
        by_peer = collections.Counter(m.peer_ip for m in messages)
        self.assertEqual(set(by_peer), {"127.0.0.2", "127.0.0.3"}, by_peer)
        # 1:2 within 2% of the messages.
        self.assertAlmostEqual(by_peer["127.0.0.3"] / MESSAGES, 2 / 3, delta=0.02, msg=by_peer)
        for m in messages:
            expected = "out2.relay.test" if m.peer_ip == "127.0.0.2" else "out3.relay.test"
            self.assertEqual(m.helo, expected)

    def test_header_pool_overrides_the_default(self):
        sink = RecordingSink().start()
        self.addCleanup(sink.stop)
        d = self.start_ternd(f"--route=egress.test=[127.0.0.1]:{sink.port}",
                             "--egress_source=ip2=127.0.0.2", "--egress_source=ip4=127.0.0.4",
                             "--egress_pool=bulk=ip2", "--egress_pool=vip=ip4",
                             "--default_pool=bulk", deliver=True)
        with d.smtp() as c:
            c.ehlo("client.test")
            self.assertQueued(c.send_message("sender@client.test", ["a@egress.test"],
                                             make_body("vip", extra_headers=("X-Tern-Pool: vip",))))
            self.assertQueued(c.send_message("sender@client.test", ["b@egress.test"],
                                             make_body("bulk")))
        messages = sink.wait_for_messages(2, timeout=60)
        peers = {m.rcpt_tos[0]: m.peer_ip for m in messages}
        self.assertEqual(peers, {"a@egress.test": "127.0.0.4", "b@egress.test": "127.0.0.2"})
        self.assertTrue(all(m.header("X-Tern-Pool") is None for m in messages))
        # The delivery log names each message's pool from its reception on.
        def pools():
            with open(d.delivery_log, encoding="utf-8") as f:
                return {(e["event"], e.get("pool")) for e in map(json.loads, f)}
        expected = {("received", "vip"), ("received", "bulk"), ("delivered", "vip"),
                    ("delivered", "bulk")}
        wait_for(lambda: pools() == expected, 30, what=f"log lines {expected}")


if __name__ == "__main__":
    ternd_harness.main()
