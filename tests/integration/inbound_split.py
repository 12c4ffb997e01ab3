#!/usr/bin/python3
"""How one client's burst of SMTP connections is split over ternd's shards (not part of
CTest; the test is test_inbound_balance.py). Each run starts ternd, opens --connections
connections from 127.0.0.1 before reading any greeting, reads every greeting, then prints
tern_smtp_open_connections per shard and the hand-offs, and stops ternd.

    from the repository root, after a build:
    /usr/bin/python3 tests/integration/inbound_split.py --runs=5              # handoff
    /usr/bin/python3 tests/integration/inbound_split.py --runs=5 --mode=kernel
    /usr/bin/python3 tests/integration/inbound_split.py --ternd=OTHER/ternd  # an older build
"""
import argparse
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import ternd_harness as h  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))


def split_once(args):
    flags = [f"--inbound_balance={args.mode}"] if args.mode else []
    d = h.Ternd(flags, shards=args.shards, binary=args.ternd)
    try:
        d.start()
        clients = [h.SmtpClient(d.smtp_port, read_greeting=False)
                   for _ in range(args.connections)]
        for c in clients:
            if c.read_reply().code != 220:
                raise AssertionError("no 220 greeting")

        def settled():
            m = d.metrics()
            counts = m.by_label("tern_smtp_open_connections", "shard")
            if sum(counts.values()) != args.connections:
                return None
            return counts, m.by_label("tern_smtp_connections_handed_off_total", "shard")

        counts, handed = h.wait_for(settled, 30, what="every connection counted")
        for c in clients:
            c.close()
        return ([int(counts[str(s)]) for s in range(args.shards)],
                int(sum(handed.values())))
    finally:
        if d.running():
            d.stop()
        shutil.rmtree(d.workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ternd", default=os.path.join(REPO, "build", "bin", "ternd"))
    parser.add_argument("--mode", default="", help="--inbound_balance (empty: ternd's default)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--shards", type=int, default=2)
    args = parser.parse_args()
    for run in range(1, args.runs + 1):
        counts, handed = split_once(args)
        shares = " / ".join(f"{100 * c / args.connections:.0f}%" for c in counts)
        print(f"run {run}: {' / '.join(map(str, counts))} ({shares}), handed off {handed}",
              flush=True)


if __name__ == "__main__":
    main()
