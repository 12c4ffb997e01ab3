"""What the disk and the CPUs alone allow for ternd's commit latency, without ternd: each
writer thread appends `--write_kib` and fdatasyncs it in a loop (one group commit of about
five 4 KiB messages, as one shard does), into a 64 MiB segment either preallocated with
fallocate (as ternd does) or written with zeros first; optionally while `--cpu_hogs`
processes spin (the load generator and ternd's own CPU work on a small host). Prints
p50/p90/p99/p99.9/max in milliseconds per case.

    /usr/bin/python3 bench/fdatasync_floor.py                    # the whole matrix
    /usr/bin/python3 bench/fdatasync_floor.py --writers=2 --cpu_hogs=2 --syncs=3000

The directory must be on the spool's filesystem (default: var/ under the repository).
"""

import argparse
import multiprocessing
import os
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEGMENT_BYTES = 64 << 20


def spin(stop_at):
    while time.monotonic() < stop_at:
        pass


def writer(path, prezero, syncs, write_bytes, out):
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        if prezero:
            zeros = b"\0" * (1 << 20)
            for i in range(SEGMENT_BYTES >> 20):
                os.pwrite(fd, zeros, i << 20)
        else:
            os.posix_fallocate(fd, 0, SEGMENT_BYTES)
        os.fsync(fd)
        data = os.urandom(write_bytes)
        offset = 0
        for _ in range(syncs):  # bounded: syncs * write_bytes stays inside the segment
            if offset + write_bytes > SEGMENT_BYTES:
                break
            t = time.perf_counter()
            os.pwrite(fd, data, offset)
            os.fdatasync(fd)
            out.append((time.perf_counter() - t) * 1000)
            offset += write_bytes
    finally:
        os.close(fd)
        os.unlink(path)


def measure(directory, writers, cpu_hogs, prezero, syncs, write_bytes):
    latencies = []
    hogs = []
    if cpu_hogs:
        stop_at = time.monotonic() + 600  # bound; they are terminated when done
        hogs = [multiprocessing.Process(target=spin, args=(stop_at,)) for _ in range(cpu_hogs)]
        for h in hogs:
            h.start()
    try:
        threads = [threading.Thread(target=writer, args=(
            os.path.join(directory, f"fdatasync-floor.{os.getpid()}.{i}"), prezero, syncs,
            write_bytes, latencies)) for i in range(writers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for h in hogs:
            h.terminate()
            h.join()
    latencies.sort()

    def q(f):
        return latencies[min(len(latencies) - 1, int(f * len(latencies)))]
    return [q(0.5), q(0.9), q(0.99), q(0.999), latencies[-1]]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", default=os.path.join(REPO, "var"))
    parser.add_argument("--writers", type=int, help="concurrent writers (default: 1 and 2)")
    parser.add_argument("--cpu_hogs", type=int, help="spinning processes (default: 0 and ncpu)")
    parser.add_argument("--syncs", type=int, default=2000, help="fdatasyncs per writer")
    parser.add_argument("--write_kib", type=int, default=22)
    args = parser.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    writers = [args.writers] if args.writers else [1, 2]
    hogs = [args.cpu_hogs] if args.cpu_hogs is not None else [0, os.cpu_count() or 1]
    print(f"{'writers':>7} {'cpu_hogs':>8} {'segment':>10} {'p50':>7} {'p90':>7} {'p99':>7} "
          f"{'p99.9':>7} {'max':>7}  (ms, {args.write_kib} KiB write + fdatasync)")
    for w in writers:
        for h in hogs:
            for prezero in (False, True):
                row = measure(args.dir, w, h, prezero, args.syncs, args.write_kib * 1024)
                print(f"{w:>7} {h:>8} {'zeroed' if prezero else 'fallocate':>10} " +
                      " ".join(f"{v:7.2f}" for v in row))


if __name__ == "__main__":
    main()
