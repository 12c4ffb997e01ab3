#!/usr/bin/python3
"""Measures how much ternd's resident memory grows with idle SMTP connections.

Starts a real ternd on loopback, reads its RSS, opens N connections that each read the
greeting and say EHLO (a session that is established and then idle), reads the RSS again,
and prints the growth per connection. Exits 1 if the growth exceeds --max_mib (the issue's
bound: 10,000 idle connections add at most 64 MiB).

    /usr/bin/python3 bench/idle_connections_rss.py --ternd build/bin/ternd [--connections 10000]
"""
import argparse
import os
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def wait_ready(path, proc, deadline_s=20):
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"ternd exited with {proc.returncode}")
        if os.path.exists(path):
            fields = dict(line.split("=", 1) for line in open(path).read().split())
            return int(fields["smtp"].rsplit(":", 1)[1])
        time.sleep(0.05)
    raise RuntimeError("ternd did not become ready")


def read_until(sock, marker, deadline):
    data = b""
    while marker not in data:
        if time.monotonic() > deadline:
            raise RuntimeError("timeout waiting for reply")
        chunk = sock.recv(4096)
        if not chunk:
            raise RuntimeError("connection closed")
        data += chunk
    return data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ternd", required=True)
    parser.add_argument("--connections", type=int, default=10000)
    parser.add_argument("--max_mib", type=float, default=64.0)
    args = parser.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.connections + 100
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))

    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        ready = os.path.join(tmp, "ready")
        log = open(os.path.join(tmp, "ternd.log"), "w")
        proc = subprocess.Popen(
            [args.ternd, "--listen=127.0.0.1:0", "--admin_listen=", "--deliver=false", f"--spool_dir={tmp}/spool",
             f"--ready_file={ready}", "--shards=2"], stderr=log)
        sockets = []
        try:
            port = wait_ready(ready, proc)
            time.sleep(0.5)
            before = rss_kib(proc.pid)
            deadline = time.monotonic() + 120
            # Open in batches of 500: connect, read the greeting, EHLO, read the answer.
            batch = 500
            for start in range(0, args.connections, batch):
                opened = []
                for _ in range(min(batch, args.connections - start)):
                    s = socket.create_connection(("127.0.0.1", port), timeout=30)
                    opened.append(s)
                for s in opened:
                    read_until(s, b"\r\n", deadline)
                    s.sendall(b"EHLO idle.example\r\n")
                for s in opened:
                    read_until(s, b"250 ", deadline)
                sockets.extend(opened)
            time.sleep(1.0)
            after = rss_kib(proc.pid)
            grown_mib = (after - before) / 1024.0
            per_conn = (after - before) * 1024.0 / max(1, len(sockets))
            print(f"idle connections: {len(sockets)}")
            print(f"ternd RSS before: {before / 1024.0:.1f} MiB, after: {after / 1024.0:.1f} MiB")
            print(f"growth: {grown_mib:.1f} MiB ({per_conn:.0f} bytes per connection), "
                  f"bound {args.max_mib} MiB")
            if proc.poll() is not None:
                print("ternd died", file=sys.stderr)
                return 1
            return 0 if grown_mib <= args.max_mib else 1
        finally:
            for s in sockets:
                s.close()
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


if __name__ == "__main__":
    sys.exit(main())
