"""Assertions on message arrival times, for the traffic-shaping integration tests.

Timestamps are seconds on one clock (the recording sink's Message.received_at, which is
time.monotonic() at the end of DATA); they need not be sorted. Rate specs use the shaping
policy's syntax, "N/PERIOD[,max_burst=B]" with PERIOD s, min, h or day (an optional count
before the unit: "100/5min") and B defaulting to N.

    import arrival_times
    times = [m.received_at for m in sink.messages()]
    # "600/min,max_burst=1": one every 100 ms, so every gap >= 95 ms (5% for timer jitter).
    arrival_times.assert_conforms(times, "600/min,max_burst=1", tolerance=0.05)
    arrival_times.assert_min_spacing(times, 0.095)
    # "a 2-shard ternd holds 100/s within 5%", skipping the first second's burst:
    arrival_times.assert_rate(times, 100.0, tolerance=0.05, skip_s=1.0)

Every assertion raises AssertionError with the figures it saw (the worst gap and where, the
rate per second of the window), so a failing test says why.
"""

import re

PERIODS_S = {"s": 1.0, "sec": 1.0, "min": 60.0, "m": 60.0, "h": 3600.0, "hour": 3600.0,
             "day": 86400.0, "d": 86400.0}

_RATE_RE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([a-z]+)\s*(?:,\s*max_burst\s*=\s*(\d+)\s*)?$")


class RateSpec:
    """A parsed "N/PERIOD[,max_burst=B]": count, period_s, max_burst."""

    def __init__(self, count, period_s, max_burst):
        if count <= 0 or period_s <= 0 or max_burst <= 0:
            raise ValueError(f"rate needs positive numbers: {count}/{period_s}s burst "
                             f"{max_burst}")
        self.count = count
        self.period_s = period_s
        self.max_burst = max_burst

    @property
    def per_second(self):
        return self.count / self.period_s

    @property
    def interval_s(self):
        """Seconds between two messages at the steady rate (GCRA's emission interval)."""
        return self.period_s / self.count

    def __repr__(self):
        return f"RateSpec({self.count}/{self.period_s:g}s, max_burst={self.max_burst})"


def parse_rate(spec):
    """"600/min,max_burst=1" -> RateSpec(600, 60.0, 1). ValueError on anything else."""
    m = _RATE_RE.match(spec.lower())
    if not m or m.group(3) not in PERIODS_S:
        raise ValueError(f"not a rate spec (N/PERIOD[,max_burst=B]): {spec!r}")
    count = int(m.group(1))
    period_s = (int(m.group(2)) if m.group(2) else 1) * PERIODS_S[m.group(3)]
    burst = int(m.group(4)) if m.group(4) is not None else count
    return RateSpec(count, period_s, burst)


def _sorted(times):
    out = sorted(float(t) for t in times)
    if not out:
        raise AssertionError("no arrival times")
    return out


def gaps(times):
    """Seconds between consecutive arrivals (sorted first): n - 1 values."""
    t = _sorted(times)
    return [b - a for a, b in zip(t, t[1:])]


def assert_min_spacing(times, min_gap_s):
    """Every two consecutive arrivals are at least min_gap_s apart."""
    t = _sorted(times)
    if len(t) < 2:
        return
    worst = min(range(len(t) - 1), key=lambda i: t[i + 1] - t[i])
    gap = t[worst + 1] - t[worst]
    if gap < min_gap_s:
        short = sum(1 for a, b in zip(t, t[1:]) if b - a < min_gap_s)
        raise AssertionError(
            f"{short} of {len(t) - 1} gaps are under {min_gap_s * 1000:.1f} ms; the shortest "
            f"is {gap * 1000:.1f} ms, between arrivals {worst} and {worst + 1} "
            f"({t[worst] - t[0]:.3f}s after the first)")


def assert_conforms(times, spec, tolerance=0.05):
    """The arrivals obey the rate spec (a RateSpec or its text) as a GCRA would let them
    through, with the interval shortened by `tolerance` (0.05: 5% for timer jitter): any
    k + 1 consecutive arrivals span at least (k + 1 - max_burst) * interval * (1 -
    tolerance). With max_burst=1 that is a minimum spacing; with a burst B, at most B arrive
    at once, and then the steady rate."""
    rate = parse_rate(spec) if isinstance(spec, str) else spec
    t = _sorted(times)
    interval = rate.interval_s * (1.0 - tolerance)
    # Need t[j] - t[i] >= (j - i + 1 - B) * interval for all i < j, i.e. with
    # g(k) = t[k] - k * interval: g(j) - max(g(i), i < j) >= (1 - B) * interval.
    best_i = 0
    for j in range(1, len(t)):
        if t[best_i] - best_i * interval < t[j - 1] - (j - 1) * interval:
            best_i = j - 1
        span = t[j] - t[best_i]
        allowed_count = rate.max_burst + span / interval
        arrived = j - best_i + 1
        if arrived > allowed_count + 1e-9:
            raise AssertionError(
                f"{arrived} arrivals in {span * 1000:.1f} ms (arrivals {best_i}..{j}, "
                f"{t[best_i] - t[0]:.3f}s after the first); {rate} with tolerance "
                f"{tolerance:.0%} allows at most {int(allowed_count + 1e-9)}")


def window_rate(times, start, end):
    """Arrivals per second in [start, end)."""
    if end <= start:
        raise ValueError(f"empty window [{start}, {end})")
    return sum(1 for x in times if start <= x < end) / (end - start)


def observed_rate(times, skip_s=0.0, end=None):
    """Arrivals per second from skip_s after the first arrival to `end` (default: the last
    arrival), counting the intervals between arrivals so that n evenly spaced arrivals at
    rate r give exactly r."""
    t = _sorted(times)
    start = t[0] + skip_s
    window = [x for x in t if x >= start and (end is None or x <= end)]
    if len(window) < 2:
        raise AssertionError(f"{len(window)} arrival(s) in the window, need 2 for a rate "
                             f"(of {len(t)}, skipping the first {skip_s}s)")
    span = window[-1] - window[0]
    if span <= 0:
        raise AssertionError(f"{len(window)} arrivals all at the same instant")
    return (len(window) - 1) / span


def per_second_counts(times):
    """Arrivals in each whole second after the first arrival: [n0, n1, ...] (for messages)."""
    t = _sorted(times)
    counts = [0] * (int(t[-1] - t[0]) + 1)
    for x in t:
        counts[int(x - t[0])] += 1
    return counts


def assert_rate(times, expected_per_s, tolerance=0.05, skip_s=0.0, end=None):
    """observed_rate(times, skip_s, end) is within expected_per_s * (1 +- tolerance).
    Returns the observed rate."""
    rate = observed_rate(times, skip_s, end)
    low, high = expected_per_s * (1 - tolerance), expected_per_s * (1 + tolerance)
    if not low <= rate <= high:
        counts = per_second_counts(times)
        shown = counts if len(counts) <= 30 else counts[:30] + ["..."]
        raise AssertionError(
            f"observed {rate:.2f}/s over {len(times)} arrivals (skipping the first "
            f"{skip_s}s), expected {expected_per_s:g}/s +-{tolerance:.0%} "
            f"[{low:.2f}, {high:.2f}]; per second: {shown}")
    return rate
