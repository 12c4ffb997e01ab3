#!/usr/bin/python3
"""Tern's side-by-side comparison matrix and report.

Runs bench/compare_postfix.sh (which starts, loads, counts and stops each peer) once per
mode and message size, always with the same generator (tern-bench source), and then:
  - the generators themselves: smtp-source and tern-bench against one smtp-sink;
  - ternd under open-loop load at half its measured saturating rate (latency, no
    coordinated omission);
prints a table of rates and ratios and writes a report (Markdown + SVG charts) into the
folder named by --report.

    sudo /usr/bin/python3 bench/compare.py --report=/tmp/tern-report
    sudo /usr/bin/python3 bench/compare.py --report=r --sizes=4k --modes=accept --messages=5000

Peers: ternd (fdatasync on), postfix (queue only in accept mode, relaying through smtp(8)
in relay mode), haraka (npm, queue/smtp_forward: forwards in line, so it is always measured
to its next hop), sink (Postfix's smtp-sink, no disk; accept mode only).

--modes=internet relays to --domains (1000) recipient domains, each its own next hop, behind
tern-bench sinks that hold every reply --sink_delays (20-50 ms), every peer held to
--dest_connections per destination and --total_connections in all, and reports each peer's
rate against the bound those limits and delays set (bench/README.md, "Internet-like relay"):

    sudo /usr/bin/python3 bench/compare.py --report=r --modes=internet --sizes=4k \
        --messages=5000 --skip_generators --skip_latency --peers=ternd,postfix,haraka
"""

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMPARE = os.path.join(REPO, "bench", "compare_postfix.sh")
TERN_BENCH = os.path.join(REPO, "build", "bin", "tern-bench")
SMTP_SOURCE = "/usr/sbin/smtp-source"
SMTP_SINK = "/usr/sbin/smtp-sink"
PEER_ORDER = ["ternd", "postfix", "haraka", "sink"]
COLORS = {"ternd": "#2b7bba", "postfix": "#d9534f", "haraka": "#5cb85c", "sink": "#999999",
          "smtp-source": "#d9534f", "tern-bench": "#2b7bba"}
# Each run sends at most this many bytes (big messages: fewer of them), at least MIN_MESSAGES.
BYTES_PER_RUN = 400 << 20
MIN_MESSAGES = 300
RUN_TIMEOUT_S = 1800


def parse_size(text):
    text = text.strip().lower()
    unit = {"k": 1024, "m": 1024 * 1024}.get(text[-1:], 1)
    return int(text[:-1] if unit != 1 else text) * unit


def size_label(size):
    if size % (1024 * 1024) == 0:
        return f"{size // (1024 * 1024)} MiB"
    if size % 1024 == 0:
        return f"{size // 1024} KiB"
    return f"{size} B"


def messages_for(size, messages):
    return max(MIN_MESSAGES, min(messages, BYTES_PER_RUN // size))


def run_compare(env_extra, log_path):
    """One compare_postfix.sh run; its output goes to log_path. Returns its exit status."""
    env = dict(os.environ, **{k: str(v) for k, v in env_extra.items()})
    with open(log_path, "w") as log:
        log.write(f"# {' '.join(f'{k}={v}' for k, v in env_extra.items())} {COMPARE}\n")
        log.flush()
        try:
            return subprocess.run([COMPARE], env=env, stdout=log, stderr=subprocess.STDOUT,
                                  timeout=RUN_TIMEOUT_S).returncode
        except subprocess.TimeoutExpired:
            log.write("\n# timed out\n")
            return 124


def read_results(raw):
    """results.tsv lines as dicts, plus each peer's tern-bench JSON summary when present."""
    rows = []
    path = os.path.join(raw, "results.tsv")
    if not os.path.exists(path):
        return rows
    with open(path) as f:
        for line in f:
            mode, size, peer, messages, seconds, rate, ok, srv_cpu, src_cpu = \
                line.rstrip("\n").split("\t")
            row = {"mode": mode, "size": int(size), "peer": peer, "messages": int(messages),
                   "seconds": float(seconds or 0), "rate": float(rate or 0), "ok": ok == "1",
                   "srv_cpu": float(srv_cpu or 0), "src_cpu": float(src_cpu or 0)}
            out = os.path.join(raw, f"{mode}-{size}-{peer}.out")
            row["summary"] = read_json_summary(out)
            rows.append(row)
    return rows


def read_json_summary(path):
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line.startswith("{"):
                    return json.loads(line)
    except (OSError, ValueError):
        pass
    return None


def timed(args, timeout_s=600):
    """Runs a generator; returns (seconds, completed process)."""
    start = datetime.datetime.now()
    proc = subprocess.run(args, capture_output=True, timeout=timeout_s)
    return (datetime.datetime.now() - start).total_seconds(), proc


def compare_generators(messages, sessions, size):
    """smtp-source and tern-bench, each against a fresh smtp-sink: msgs/s of each."""
    import socket
    import time
    results = {}
    for name in ("smtp-source", "tern-bench"):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        sink = subprocess.Popen([SMTP_SINK, "-c", "-u", "nobody", f"127.0.0.1:{port}", "256"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.05)
            if name == "smtp-source":
                args = [SMTP_SOURCE, "-d", "-s", str(sessions), "-m", str(messages), "-l",
                        str(size), "-f", "a@example.com", "-t", "b@example.net",
                        f"127.0.0.1:{port}"]
            else:
                args = [TERN_BENCH, "source", f"--target=127.0.0.1:{port}",
                        f"--connections={sessions}", f"--messages={messages}",
                        f"--size={size}", "--quiet", "--json"]
            seconds, proc = timed(args)
            results[name] = {"seconds": seconds, "rate": messages / seconds if seconds else 0,
                             "ok": proc.returncode == 0,
                             "command": " ".join(args).replace(str(port), "PORT")}
        finally:
            sink.terminate()
            try:
                sink.wait(timeout=10)
            except subprocess.TimeoutExpired:
                sink.kill()
                sink.wait()
    return results


# ---------------------------------------------------------------------------------------
# SVG charts: grouped bars, no external assets.

def svg_bars(title, groups, series, values, unit, log_scale=False, width=760, height=360):
    """groups: x labels; series: bar names; values[(group, serie)] -> number or None."""
    import math
    left, right, top, bottom = 70, 20, 40, 70
    plot_w, plot_h = width - left - right, height - top - bottom
    present = [v for v in values.values() if v]
    vmax = max(present) if present else 1
    vmin = min(present) if present else 1

    def scale(v):
        if not v:
            return 0
        if log_scale:
            lo = math.floor(math.log10(max(vmin, 1e-9)))
            hi = math.ceil(math.log10(vmax))
            hi = hi if hi > lo else lo + 1
            return plot_h * (math.log10(v) - lo) / (hi - lo)
        return plot_h * v / (vmax * 1.1)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="14">{title}</text>',
           f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" '
           f'stroke="black"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="black"/>',
           f'<text x="15" y="{top + plot_h / 2}" transform="rotate(-90 15 {top + plot_h / 2})" '
           f'text-anchor="middle">{unit}{" (log scale)" if log_scale else ""}</text>']
    group_w = plot_w / max(1, len(groups))
    bar_w = group_w * 0.8 / max(1, len(series))
    for gi, group in enumerate(groups):
        gx = left + gi * group_w + group_w * 0.1
        out.append(f'<text x="{left + gi * group_w + group_w / 2}" y="{top + plot_h + 18}" '
                   f'text-anchor="middle">{group}</text>')
        for si, serie in enumerate(series):
            v = values.get((group, serie))
            h = scale(v)
            x = gx + si * bar_w
            out.append(f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w - 2:.1f}" '
                       f'height="{h:.1f}" fill="{COLORS.get(serie, "#777")}"/>')
            label = "n/a" if v is None else (f"{v:,.0f}" if v >= 10 else f"{v:.2f}")
            out.append(f'<text x="{x + bar_w / 2 - 1:.1f}" y="{top + plot_h - h - 3:.1f}" '
                       f'text-anchor="middle" font-size="10">{label}</text>')
    for si, serie in enumerate(series):
        x = left + si * 110
        out.append(f'<rect x="{x}" y="{height - 25}" width="12" height="12" '
                   f'fill="{COLORS.get(serie, "#777")}"/>')
        out.append(f'<text x="{x + 16}" y="{height - 15}">{serie}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------

def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--report", required=True, help="folder for report.md and charts")
    parser.add_argument("--sizes", default="1k,4k,64k,1m")
    parser.add_argument("--modes", default="accept,relay")
    parser.add_argument("--peers", default="ternd,postfix,haraka,sink")
    parser.add_argument("--messages", type=int, default=20000,
                        help="messages per run at small sizes (fewer for big ones)")
    parser.add_argument("--sessions", type=int, default=50)
    parser.add_argument("--domains", type=int, default=1000,
                        help="internet mode: recipient domains, each its own next hop")
    parser.add_argument("--sink_delays", default="20ms 30ms 40ms 50ms",
                        help="internet mode: one tern-bench sink per delay (every reply held "
                        "that long), the domains split evenly between them")
    parser.add_argument("--dest_connections", type=int, default=20,
                        help="internet mode: every peer's connections per destination")
    parser.add_argument("--total_connections", type=int, default=100,
                        help="internet mode: every peer's outbound connections in all")
    parser.add_argument("--skip_generators", action="store_true")
    parser.add_argument("--skip_latency", action="store_true")
    parser.add_argument("--report_only", action="store_true",
                        help="run nothing: rewrite the report from the folder's raw/ and "
                        "results.json")
    args = parser.parse_args()
    if os.geteuid() != 0 and not args.report_only:
        sys.exit("compare.py: run as root (Postfix and smtp-sink -u need it)")
    report = os.path.abspath(args.report)
    raw = os.path.join(report, "raw")
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    modes = args.modes.split(",")
    peers = [p for p in args.peers.split(",") if p]
    started = datetime.datetime.now(datetime.timezone.utc)
    if args.report_only:
        with open(os.path.join(report, "results.json")) as f:
            saved = json.load(f)
        started = datetime.datetime.fromtimestamp(os.path.getmtime(
            os.path.join(raw, "results.tsv")), datetime.timezone.utc)
        write_report(report, args, started, sizes, modes, read_results(raw),
                     saved["generators"], saved["latency"])
        print(open(os.path.join(report, "table.txt")).read())
        return
    shutil.rmtree(raw, ignore_errors=True)
    os.makedirs(raw)

    build = 1
    for mode in modes:
        for size in sizes:
            mode_peers = [p for p in PEER_ORDER
                          if p in peers and not (mode in ("relay", "internet") and p == "sink")]
            env = {"LOADGEN": "tern-bench", "MODE": mode, "SIZE": size,
                   "MESSAGES": messages_for(size, args.messages), "SESSIONS": args.sessions,
                   "PEERS": " ".join(mode_peers), "RESULTS_DIR": raw, "BUILD": build}
            if mode == "internet":
                env.update({"DOMAINS": args.domains, "SINK_DELAYS": args.sink_delays,
                            "DEST_CONNECTIONS": args.dest_connections,
                            "TOTAL_CONNECTIONS": args.total_connections})
            print(f"== {mode} {size_label(size)}: {env['MESSAGES']} messages, "
                  f"{' '.join(mode_peers)}", flush=True)
            rc = run_compare(env, os.path.join(raw, f"{mode}-{size}.log"))
            build = 0
            if rc not in (0, 1):
                print(f"   compare_postfix.sh exit {rc}: see {raw}/{mode}-{size}.log", flush=True)
    rows = read_results(raw)

    generators = None
    if not args.skip_generators:
        print("== generators: smtp-source vs tern-bench against smtp-sink", flush=True)
        generators = compare_generators(args.messages, args.sessions, 4096)

    latency = None
    ternd_4k = [r for r in rows if r["mode"] == "accept" and r["size"] == 4096 and
                r["peer"] == "ternd" and r["ok"]]
    if not args.skip_latency and ternd_4k:
        rate = max(1, int(ternd_4k[0]["rate"] / 2))
        messages = max(MIN_MESSAGES, rate * 10)
        print(f"== ternd latency at half its saturating rate: {rate} msgs/s open loop", flush=True)
        lat_raw = os.path.join(raw, "latency")
        run_compare({"LOADGEN": "tern-bench", "MODE": "accept", "SIZE": 4096,
                     "MESSAGES": messages, "SESSIONS": args.sessions, "PEERS": "ternd",
                     "RESULTS_DIR": lat_raw, "BUILD": 0,
                     "SOURCE_FLAGS": f"--rate={rate}"},
                    os.path.join(raw, "latency.log"))
        lat_rows = read_results(lat_raw)
        if lat_rows and lat_rows[0]["summary"]:
            latency = {"rate": rate, "summary": lat_rows[0]["summary"], "ok": lat_rows[0]["ok"],
                       "ternd": ternd_lines(os.path.join(raw, "latency.log")),
                       "disk": fdatasync_probe(os.path.join(REPO, "var"))}

    write_report(report, args, started, sizes, modes, rows, generators, latency)
    print(open(os.path.join(report, "table.txt")).read())
    print(f"report: {report}/report.md")


def ternd_lines(log_path):
    """ternd's results row (with the header) and its group-commit line from a run's log."""
    lines = []
    try:
        with open(log_path) as f:
            text = f.read().splitlines()
    except OSError:
        return lines
    for line in text:
        if line.startswith("ternd ") or re.match(r"ternd: (\d+ (shards|outbound)|commits:)", line):
            lines.append(line)
    return lines


def fdatasync_probe(directory, seconds=5.0, write_bytes=22 * 1024):
    """The disk's own floor: serial pwrite + fdatasync of write_bytes (about one group commit
    at half load) into a preallocated file on the spool's filesystem, for `seconds`.
    Returns p50/p99/p99.9/max in ms."""
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, f"fdatasync-probe.{os.getpid()}")
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    try:
        size = 256 << 20
        os.posix_fallocate(fd, 0, size)
        os.fsync(fd)
        buf = b"x" * write_bytes
        lat, offset = [], 0
        end = time.monotonic() + seconds
        while time.monotonic() < end and offset + write_bytes <= size:
            t = time.monotonic_ns()
            os.pwrite(fd, buf, offset)
            os.fdatasync(fd)
            lat.append((time.monotonic_ns() - t) / 1e6)
            offset += write_bytes
    finally:
        os.close(fd)
        os.unlink(path)
    lat.sort()

    def q(f):
        return lat[min(len(lat) - 1, int(f * len(lat)))]
    return {"syncs": len(lat), "bytes": write_bytes, "p50": q(0.5), "p99": q(0.99),
            "p99.9": q(0.999), "max": lat[-1]}


def parse_duration_s(text):
    text = text.strip()
    for suffix, scale in (("ms", 1e-3), ("us", 1e-6), ("s", 1.0)):
        if text.endswith(suffix):
            return float(text[:-len(suffix)]) * scale
    return float(text)


# Round trips a connection costs besides its messages: the greeting (the sink holds it as it
# holds every reply; the TCP handshake on loopback is free), EHLO and QUIT.
SETUP_ROUND_TRIPS = 3


def internet_bound(messages, domains, delays_s, total_connections, round_trips_per_message=1):
    """The best end-to-end rate `total_connections` connections can reach against the
    internet shape: domain j (of `domains`, block k of equal size behind the sink with delay
    delays_s[k]) gets messages // domains (+1 for the first messages % domains) messages, in
    turn. Each message costs round_trips_per_message round trips of its domain's delay on a
    connection (1: MAIL, RCPT and BDAT LAST pipelined). Returns (rate with one connection per
    domain paying SETUP_ROUND_TRIPS, rate with connections free to set up): the connection
    time the work needs, divided over the connections."""
    per = domains // len(delays_s)
    busy_s = setup_s = 0.0
    for j in range(domains):
        d = delays_s[min(j // per, len(delays_s) - 1)]
        m = messages // domains + (1 if j < messages % domains else 0)
        busy_s += m * round_trips_per_message * d
        setup_s += (SETUP_ROUND_TRIPS * d) if m else 0
    with_setup = messages / ((busy_s + setup_s) / total_connections)
    steady = messages / (busy_s / total_connections)
    return with_setup, steady


def ratio(a, b):
    return a / b if a and b else None


def internet_section(args, sizes, by_key):
    """The internet shape's bound and each peer's rate as a fraction of it."""
    delays = [parse_duration_s(d) for d in args.sink_delays.split()]
    md = ["", "## Internet-like relay", "",
          f"{args.domains} recipient domains, each its own next hop (a port of its own), "
          f"behind {len(delays)} tern-bench sinks that hold every reply (greeting, EHLO, MAIL, "
          f"RCPT, DATA/BDAT, end of data, QUIT) {', '.join(args.sink_delays.split())}; every "
          f"peer limited to {args.dest_connections} connections per destination and "
          f"{args.total_connections} in all. End to end: the generator's start to the last "
          "message counted at a sink.", ""]
    for size in sizes:
        t = by_key.get(("internet", size, "ternd"))
        if not t:
            continue
        with_setup, steady = internet_bound(t["messages"] or args.messages, args.domains,
                                            delays, args.total_connections)
        md.append(f"- {size_label(size)}: the bound set by {args.total_connections} connections "
                  f"and the delays is {with_setup:,.0f} msgs/s with one connection per domain "
                  f"({SETUP_ROUND_TRIPS} round trips to set up and close it, then 1 per message: "
                  f"MAIL, RCPT and BDAT LAST pipelined), {steady:,.0f} msgs/s if connections "
                  "cost nothing to set up.")
        for peer in ("ternd", "postfix", "haraka"):
            r = by_key.get(("internet", size, peer))
            if not r:
                continue
            ok = "" if r["ok"] else " (NOT all delivered)"
            md.append(f"  - {peer}: {r['rate']:,.0f} msgs/s{ok}: {r['rate'] / with_setup:.0%} of "
                      f"the bound ({r['rate'] / steady:.0%} of the set-up-free one)")
        pf = by_key.get(("internet", size, "postfix"))
        if t["ok"] and pf and pf["ok"]:
            frac = t["rate"] / with_setup
            rt = t["rate"] / pf["rate"]
            md.append(f"  - Goals: ternd >= 90% of the bound: {frac:.0%}, "
                      f"{'met' if frac >= 0.9 else 'NOT met'}; >= 5x Postfix: {rt:.1f}x, "
                      f"{'met' if rt >= 5 else 'NOT met'}.")
    return md


def write_report(report, args, started, sizes, modes, rows, generators, latency):
    by_key = {(r["mode"], r["size"], r["peer"]): r for r in rows}
    table = []
    table.append(f"{'mode':7} {'size':>8} {'peer':8} {'messages':>9} {'msgs/s':>9} "
                 f"{'vs-postfix':>10} {'srv-us/m':>9} {'p50-ms':>8} {'p99-ms':>8}  ok")
    for mode in modes:
        for size in sizes:
            pf = by_key.get((mode, size, "postfix"))
            for peer in PEER_ORDER:
                r = by_key.get((mode, size, peer))
                if not r:
                    continue
                lat = (r["summary"] or {}).get("latency_ms", {}).get("message", {})
                rt = ratio(r["rate"], pf["rate"] if pf and pf["ok"] else None)
                table.append(
                    f"{mode:7} {size_label(size):>8} {peer:8} {r['messages']:>9} "
                    f"{r['rate']:>9.0f} {(f'{rt:.1f}x' if rt else 'n/a'):>10} "
                    f"{(1e6 * r['srv_cpu'] / r['messages'] if r['messages'] else 0):>9.0f} "
                    f"{lat.get('p50', 0):>8.2f} {lat.get('p99', 0):>8.2f}  "
                    f"{'yes' if r['ok'] else 'NO'}")
    table_text = "\n".join(table) + "\n"
    with open(os.path.join(report, "table.txt"), "w") as f:
        f.write(table_text)

    charts = []
    for mode in modes:
        groups = [size_label(s) for s in sizes]
        series = [p for p in PEER_ORDER if any((mode, s, p) in by_key for s in sizes)]
        values = {(size_label(s), p): (by_key[(mode, s, p)]["rate"]
                                       if (mode, s, p) in by_key and by_key[(mode, s, p)]["ok"]
                                       else None)
                  for s in sizes for p in series}
        name = f"throughput-{mode}.svg"
        with open(os.path.join(report, name), "w") as f:
            f.write(svg_bars(f"{mode}: messages per second by size (higher is better)",
                             groups, series, values, "msgs/s", log_scale=True))
        charts.append((f"Throughput, {mode}", name))
        quantiles = ["p50", "p90", "p99", "p99.9"]
        lat_values = {}
        for p in series:
            r = by_key.get((mode, 4096, p))
            lat = ((r or {}).get("summary") or {}).get("latency_ms", {}).get("message", {})
            for q in quantiles:
                lat_values[(q, p)] = lat.get(q) or None
        name = f"latency-{mode}-4k.svg"
        with open(os.path.join(report, name), "w") as f:
            f.write(svg_bars(f"{mode}, 4 KiB, closed loop: message latency (lower is better)",
                             quantiles, series, lat_values, "ms", log_scale=True))
        charts.append((f"Latency under saturating load, {mode}, 4 KiB", name))

    host = subprocess.run(["uname", "-r"], capture_output=True, text=True).stdout.strip()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                if l.startswith("model name")), "?")
    commit = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    md = [f"# Tern side-by-side comparison ({started:%Y-%m-%d %H:%M} UTC)", "",
          f"Host: {os.cpu_count()} CPUs ({cpu}), kernel {host}; tern {commit}.",
          f"Command: `sudo /usr/bin/python3 bench/compare.py {' '.join(sys.argv[1:])}`", "",
          "Every peer got the same generator, `tern-bench source` with "
          f"{args.sessions} connections (command lines and each peer's set-up are in "
          "`raw/*.log`). msgs/s counts messages the peer really holds (ternd: accepted "
          "metric; Postfix: queue files; sink: its counter) or, in relay mode and for "
          "Haraka, messages its next hop (smtp-sink) counted (internet mode: the tern-bench sinks). "
          "Latency: tern-bench's "
          "`message` phase (MAIL sent to the final reply), closed loop.", "",
          "```", table_text.rstrip(), "```", ""]
    for title, name in charts:
        md += [f"## {title}", "", f"![{title}]({name})", ""]
    md += ["## Targets", ""]

    def rate_of(mode, size, peer):
        r = by_key.get((mode, size, peer))
        return r["rate"] if r and r["ok"] else None

    def verdict(ok):
        return "met" if ok else "NOT met"

    acc = ratio(rate_of("accept", 4096, "ternd"), rate_of("accept", 4096, "postfix"))
    vs_sink = ratio(rate_of("accept", 4096, "ternd"), rate_of("accept", 4096, "sink"))
    rel = ratio(rate_of("relay", 4096, "ternd"), rate_of("relay", 4096, "postfix"))
    if acc:
        md.append(f"- ternd accepts {acc:.1f}x Postfix's rate at 4 KiB (target 25x): "
                  f"{verdict(acc >= 25)}.")
    if vs_sink:
        md.append(f"- ternd (fdatasync on) runs at {vs_sink:.2f}x smtp-sink's rate at 4 KiB "
                  f"(target 1x): {verdict(vs_sink >= 1)}.")
    if rel:
        md.append(f"- End-to-end relay: {rel:.1f}x Postfix at 4 KiB (target 20x): "
                  f"{verdict(rel >= 20)}.")
    if generators and all(g["ok"] for g in generators.values()):
        g = ratio(generators["tern-bench"]["rate"], generators["smtp-source"]["rate"])
        md.append(f"- tern-bench source drives smtp-sink at {generators['tern-bench']['rate']:.0f} "
                  f"msgs/s, smtp-source at {generators['smtp-source']['rate']:.0f}: {g:.2f}x "
                  f"(target 2x): {verdict(g >= 2)}. Commands: "
                  f"`{generators['smtp-source']['command']}` and "
                  f"`{generators['tern-bench']['command']}`.")
    if latency:
        m = latency["summary"]["latency_ms"]["message"]
        d = latency["summary"]["latency_ms"]["data"]
        md.append(f"- ternd at half its saturating rate ({latency['rate']} msgs/s, open loop, "
                  f"4 KiB): end of data to 250 p99 {d['p99']:.2f} ms (target < 2 ms): "
                  f"{verdict(d['p99'] < 2)}; whole message p50 {m['p50']:.2f} / p99 "
                  f"{m['p99']:.2f} / p99.9 {m['p99.9']:.2f} ms.")
        md += [f"  - Where the time goes (ternd's /metrics, same run): {line[len('ternd: '):]}"
               for line in latency.get("ternd", []) if line.startswith("ternd: commits:")]
        disk = latency.get("disk")
        if disk:
            md.append(f"  - The disk alone, same run, nothing else running: serial "
                      f"{disk['bytes'] // 1024} KiB write + fdatasync on the spool's filesystem, "
                      f"{disk['syncs']} syncs: p50 {disk['p50']:.2f}, p99 {disk['p99']:.2f}, "
                      f"p99.9 {disk['p99.9']:.2f}, max {disk['max']:.2f} ms. A record waits for "
                      "the commit in flight and then its own, so its p99 follows the commits' "
                      "tail, which CPU contention with the generator (same 2 CPUs) stretches.")
    if "internet" in modes:
        md += internet_section(args, sizes, by_key)
    md += ["", "## What bounds ternd", "",
           "From each run's log (`raw/MODE-SIZE.log`): ternd's row (server and generator CPU "
           "in % of one core, the host's busy and iowait %) and its group commits (records per "
           "fdatasync). A generator near 100% or a host near 100% busy bounds the figure more "
           "than ternd does; iowait with few records per commit means fdatasync latency.", "",
           "```",
           f"{'mode':7} {'size':>8}  peer      messages   seconds    msgs/s vs-postfix "
           "srv-us/m srv-cpu% src-cpu% rest-cpu%  busy%  iowt%"]
    for mode in modes:
        for size in sizes:
            for line in ternd_lines(os.path.join(report, "raw", f"{mode}-{size}.log")):
                md.append(f"{mode:7} {size_label(size):>8}  {line}")
    md += ["```", ""]
    with open(os.path.join(report, "report.md"), "w") as f:
        f.write("\n".join(md))
    with open(os.path.join(report, "results.json"), "w") as f:
        json.dump({"rows": rows, "generators": generators, "latency": latency}, f, indent=1)


if __name__ == "__main__":
    main()
