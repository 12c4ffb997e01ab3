#!/usr/bin/python3
"""Shaping overhead: ternd's relay throughput with a large shaping policy against none, in
one run (issue 16: "with a policy of 10,000 domain blocks and 100 providers and no limit
reached, relay throughput within 5% of running without a policy").

The messages go to --domains recipient domains, one `tern-bench source` per domain
(started together, the connections split between them). Each run starts a fresh ternd
(harness defaults: 2 shards, its own spool, delivery log off) and a fresh `tern-bench sink`
per domain that exits once it has answered 250 to its share (--exit_after); each domain is
routed to its own sink (--route=DOMAIN=[127.0.0.1]:PORT), so both sides have the same
lanes (one per domain) and the same connection limits. The clock runs from the start of the
generators to the last sink's exit: first message sent to last one counted at the next
hop. Half of the domains (rounded up) have a domain block of their own in the policy
(their lanes resolve to it through the 10,000 blocks); the others fall to [default].

  A  no --shaping: the built-in defaults
  B  --shaping=FILE: [default] plus --providers `[provider.pN]` blocks (an mx_suffix and a
     domain_suffix each) and --domain_blocks `[domain."dNNNNN.example"]` blocks, every limit
     far above what is sent (rates 1000000/s, connection_limit 20 as the built-in default,
     so both sides open the same connections)

Runs alternate A B A B ... (--rounds pairs); one JSON line per run on stdout, then a
summary line with the medians and the ratio B/A (1.0: no overhead; the issue wants >= 0.95):

    /usr/bin/python3 bench/shaping_overhead.py
    /usr/bin/python3 bench/shaping_overhead.py --rounds=5 --messages=50000 --connections=50

Loopback only; every process it starts is stopped, bounded.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))

import ternd_harness  # noqa: E402
from test_bench_sink import BenchSink, parse_summary  # noqa: E402

STOP_TIMEOUT_S = 60
RUN_TIMEOUT_S = 600


def log(text):
    sys.stderr.write(f"shaping_overhead: {text}\n")
    sys.stderr.flush()


def sent_domains(count, domain_blocks):
    """The recipient domains: the first half (rounded up) have a block of their own, spread
    over the policy's blocks; the rest have none."""
    blocked = (count + 1) // 2
    step = max(1, domain_blocks // blocked)
    domains = [f"d{(i * step) % domain_blocks:05d}.example" for i in range(blocked)]
    domains += [f"free{i}.example" for i in range(count - blocked)]
    return domains


def write_policy(path, domain_blocks, providers):
    """A policy whose limits are never reached: [default], `providers` provider blocks and
    `domain_blocks` domain blocks."""
    lines = ["# Written by bench/shaping_overhead.py: large, and no limit is ever reached.",
             "[default]", "connection_limit = 20", 'max_message_rate = "1000000/s"',
             'max_connection_rate = "1000000/s"', "max_deliveries_per_connection = 1000", ""]
    for i in range(providers):
        lines += [f"[provider.p{i}]",
                  f'match = [{{ mx_suffix = ".mx{i}.provider.example" }}, '
                  f'{{ domain_suffix = ".p{i}.example" }}]',
                  "connection_limit = 10000", 'max_message_rate = "1000000/s"', ""]
    for i in range(domain_blocks):
        lines += [f'[domain."d{i:05d}.example"]', 'max_message_rate = "1000000/s"',
                  'max_connection_rate = "1000000/s"', ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def shares(args, domains):
    """Messages per domain (the first takes the remainder)."""
    per_domain = args.messages // len(domains)
    return [per_domain + (args.messages % len(domains) if i == 0 else 0)
            for i in range(len(domains))]


def run_sources(args, port, domains):
    """Starts one tern-bench source per domain, together; returns their processes."""
    procs = []
    connections = max(1, args.connections // len(domains))
    for domain, messages in zip(domains, shares(args, domains)):
        cmd = [args.tern_bench, "source", f"--target=127.0.0.1:{port}",
               f"--connections={connections}", f"--messages={messages}", f"--size={args.size}",
               f"--to=user@{domain}", "--sender=bench@sender.test", "--quiet", "--json"]
        procs.append(subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True))
    return procs


def one_run(args, label, policy_path, domains):
    """One relay run; returns its result dict."""
    sinks = [BenchSink(flags=[f"--exit_after={n}"], record=False)
             for n in shares(args, domains)]
    d = None
    sources = []
    try:
        for sink in sinks:
            sink.start()
        flags = [f"--route={domain}=[127.0.0.1]:{sink.port}"
                 for domain, sink in zip(domains, sinks)] + args.ternd_flags.split()
        if policy_path:
            flags.append(f"--shaping={policy_path}")
        d = ternd_harness.Ternd(flags, deliver=True, shards=args.shards, binary=args.ternd)
        d.delivery_log = ""  # off: the same for both sides, and no disk noise
        d.start()
        started = time.monotonic()
        sources = run_sources(args, d.smtp_port, domains)
        deadline = started + RUN_TIMEOUT_S
        for sink in sinks:
            try:
                sink.proc.wait(timeout=max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise SystemExit(f"{label}: the sinks did not count {args.messages} messages "
                                 f"in {RUN_TIMEOUT_S}s\n{d.log_tail(4000)}")
        seconds = time.monotonic() - started
        failed = 0
        for p in sources:
            out, err = p.communicate(timeout=STOP_TIMEOUT_S)
            if p.returncode != 0:
                failed += 1
                log(f"{label}: tern-bench source exited {p.returncode}: {err[-1000:]}")
        summaries = [parse_summary(sink.stdout()) for sink in sinks]
        metrics = d.metrics()
        rc = d.stop(timeout_s=STOP_TIMEOUT_S)
        if rc != 0:
            log(f"{label}: ternd exited {rc} on SIGTERM:\n{d.log_tail(4000)}")
        return {"run": label, "policy": bool(policy_path), "messages": args.messages,
                "seconds": round(seconds, 3), "msgs_per_s": round(args.messages / seconds, 1),
                "sink_messages": sum(s["messages"] for s in summaries),
                "sink_verified": sum(s["verified"] for s in summaries),
                "sink_connections": sum(s["connections"] for s in summaries),
                "sources_failed": failed,
                "policy_blocks": int(metrics.total("tern_shaping_policy_blocks"))}
    except BaseException:
        if d is not None:
            log(f"{label}: ternd log:\n{d.log_tail(4000)}")
        raise
    finally:
        for p in sources:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=30)
        if d is not None:
            d.cleanup()
        for sink in sinks:
            sink.cleanup()


def add_relay_arguments(parser):
    """The flags of an A/B relay benchmark built on one_run (also bench/webhook_overhead.py)."""
    parser.add_argument("--rounds", type=int, default=5, help="A/B pairs")
    parser.add_argument("--messages", type=int, default=50000, help="messages per run")
    parser.add_argument("--connections", type=int, default=40,
                        help="generator connections per run (split over the domains)")
    parser.add_argument("--size", default="4k", help="message size (tern-bench --size)")
    parser.add_argument("--domains", type=int, default=4, help="recipient domains sent to")
    parser.add_argument("--shards", type=int, default=2)
    parser.add_argument("--ternd", default=os.path.join(REPO, "build", "bin", "ternd"))
    parser.add_argument("--tern_bench",
                        default=os.path.join(REPO, "build", "bin", "tern-bench"))
    parser.add_argument("--ternd_flags", default="", help="extra ternd flags (one string)")


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_relay_arguments(parser)
    parser.add_argument("--domain_blocks", type=int, default=10000)
    parser.add_argument("--providers", type=int, default=100)
    parser.add_argument("--policy", default="",
                        help="use this policy file for B instead of the generated one")
    args = parser.parse_args()
    if args.rounds <= 0 or args.messages <= 0 or args.domains <= 0:
        parser.error("--rounds, --messages and --domains must be positive")
    if args.messages < args.domains or args.connections < args.domains:
        parser.error("--messages and --connections must be at least --domains")
    if args.domain_blocks < (args.domains + 1) // 2:
        parser.error("--domain_blocks must cover half the --domains")
    for path, target in ((args.ternd, "ternd"), (args.tern_bench, "tern-bench")):
        if not os.access(path, os.X_OK):
            parser.error(f"{path} missing: ninja -C build {target}")
    ternd_harness.TERN_BENCH = args.tern_bench  # BenchSink runs it

    domains = sent_domains(args.domains, args.domain_blocks)
    workdir = tempfile.mkdtemp(prefix="tern-shaping-overhead-")
    policy = os.path.join(workdir, "shaping.toml")
    if args.policy:
        shutil.copyfile(args.policy, policy)
    else:
        write_policy(policy, args.domain_blocks, args.providers)
    log(f"policy {policy}: {args.domain_blocks} domain blocks, {args.providers} providers "
        f"({os.path.getsize(policy)} bytes); sending to {', '.join(domains)}")
    check = subprocess.run([args.ternd, f"--shaping={policy}", "--check_config"],
                           capture_output=True, text=True, timeout=STOP_TIMEOUT_S)
    if check.returncode != 0:
        raise SystemExit(f"ternd --check_config refused the policy:\n{check.stderr[-4000:]}")
    rates = {"A": [], "B": []}
    try:
        for round_index in range(args.rounds):
            for side in ("A", "B"):
                label = f"{side}{round_index + 1}"
                result = one_run(args, label, policy if side == "B" else None, domains)
                rates[side].append(result["msgs_per_s"])
                print(json.dumps(result), flush=True)
    finally:
        os.unlink(policy)
        os.rmdir(workdir)
    median_a = statistics.median(rates["A"])
    median_b = statistics.median(rates["B"])
    print(json.dumps({"summary": True, "no_policy_msgs_per_s": rates["A"],
                      "policy_msgs_per_s": rates["B"], "median_no_policy": median_a,
                      "median_policy": median_b, "ratio_policy_to_none":
                      round(median_b / median_a, 3),
                      "pairwise_ratios": [round(b / a, 3) for a, b in
                                          zip(rates["A"], rates["B"])]}), flush=True)


if __name__ == "__main__":
    main()
