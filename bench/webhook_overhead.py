#!/usr/bin/python3
"""Webhook overhead: ternd's relay throughput with --webhook configured against without, in
one run (issue 18: "with a webhook configured, relay throughput >= 90% of without").

Each run is one of bench/shaping_overhead.py's relay runs (a fresh ternd with 2 shards and
its own spool, one `tern-bench sink` per recipient domain exiting once it answered 250 to its
share, one `tern-bench source` per domain; the clock runs from the sources' start to the last
sink's exit), without a shaping policy:

  A  no --webhook
  B  --webhook=http://127.0.0.1:PORT/hook: every message's received and delivered events
     are made durable in SPOOL_DIR/events/ (a received event beside the spool's commit,
     before the 250; a delivered one before the spool records the delivery) and POSTed to a
     receiver in this process that reads each request and answers 200 (a raw socket loop:
     on a real relay host the receiver runs elsewhere, so it should take as little of this
     machine as it can)

Runs alternate A B A B ... (--rounds pairs); one JSON line per run on stdout, then a summary
with the medians and the ratio B/A (the issue wants >= 0.9):

    /usr/bin/python3 bench/webhook_overhead.py
    /usr/bin/python3 bench/webhook_overhead.py --rounds=5 --messages=50000 --connections=40

Loopback only; every process it starts is stopped, bounded.
"""

import argparse
import copy
import json
import os
import re
import socket
import statistics
import sys
import threading

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
sys.path.insert(0, os.path.join(REPO, "bench"))

import shaping_overhead  # noqa: E402
import ternd_harness  # noqa: E402

CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.IGNORECASE)
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"


class CheapReceiver:
    """Answers 200 to every HTTP/1.1 request (keep-alive), reading the body and no more."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.posts = 0
        self.stopping = False
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while not self.stopping:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(connection,), daemon=True).start()

    def serve(self, connection):
        data = b""
        with connection:
            while True:
                head_end = data.find(b"\r\n\r\n")
                if head_end < 0:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                    continue
                match = CONTENT_LENGTH.search(data, 0, head_end + 2)
                end = head_end + 4 + (int(match.group(1)) if match else 0)
                while len(data) < end:
                    chunk = connection.recv(max(65536, end - len(data)))
                    if not chunk:
                        return
                    data += chunk
                data = data[end:]
                self.posts += 1
                connection.sendall(OK)

    def stop(self):
        self.stopping = True
        self.listener.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    shaping_overhead.add_relay_arguments(parser)
    parser.add_argument("--batch", type=int, default=100, help="--webhook_batch")
    args = parser.parse_args()
    if args.rounds <= 0 or args.messages < args.domains or args.connections < args.domains:
        parser.error("--rounds positive; --messages and --connections at least --domains")
    for path, target in ((args.ternd, "ternd"), (args.tern_bench, "tern-bench")):
        if not os.access(path, os.X_OK):
            parser.error(f"{path} missing: ninja -C build {target}")
    ternd_harness.TERN_BENCH = args.tern_bench  # BenchSink runs it
    domains = [f"hook{i}.example" for i in range(args.domains)]
    receiver = CheapReceiver()
    with_hook = copy.copy(args)
    with_hook.ternd_flags = (f"{args.ternd_flags} --webhook=http://127.0.0.1:{receiver.port}/hook"
                             f" --webhook_batch={args.batch}")
    rates = {"A": [], "B": []}
    try:
        for round_index in range(args.rounds):
            for side, side_args in (("A", args), ("B", with_hook)):
                label = f"{side}{round_index + 1}"
                before = receiver.posts
                result = shaping_overhead.one_run(side_args, label, None, domains)
                result["webhook"] = side == "B"
                result["webhook_posts"] = receiver.posts - before
                del result["policy"], result["policy_blocks"]
                rates[side].append(result["msgs_per_s"])
                print(json.dumps(result), flush=True)
    finally:
        receiver.stop()
    median_a = statistics.median(rates["A"])
    median_b = statistics.median(rates["B"])
    print(json.dumps({"summary": True, "no_webhook_msgs_per_s": rates["A"],
                      "webhook_msgs_per_s": rates["B"], "median_no_webhook": median_a,
                      "median_webhook": median_b,
                      "ratio_webhook_to_none": round(median_b / median_a, 3),
                      "pairwise_ratios": [round(b / a, 3) for a, b in
                                          zip(rates["A"], rates["B"])]}), flush=True)


if __name__ == "__main__":
    main()
