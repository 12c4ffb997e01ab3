"""Unit tests of arrival_times.py (the shaping tests' timing assertions), on synthetic
timestamps: no ternd, no sockets, no sleeping.

    /usr/bin/python3 tests/integration/test_arrival_times.py
"""

import os
import random
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import arrival_times  # noqa: E402
from arrival_times import (assert_conforms, assert_min_spacing, assert_rate,  # noqa: E402
                           gaps, observed_rate, parse_rate, per_second_counts, window_rate)


def evenly(n, interval_s, start=1000.0):
    return [start + i * interval_s for i in range(n)]


class ParseRateTest(unittest.TestCase):
    def test_specs(self):
        r = parse_rate("600/min,max_burst=1")
        self.assertEqual((r.count, r.period_s, r.max_burst), (600, 60.0, 1))
        self.assertAlmostEqual(r.interval_s, 0.1)
        self.assertAlmostEqual(r.per_second, 10.0)
        r = parse_rate("100/s")
        self.assertEqual((r.count, r.period_s, r.max_burst), (100, 1.0, 100))
        self.assertEqual(parse_rate("500/day").period_s, 86400.0)
        self.assertEqual(parse_rate("50000/h").period_s, 3600.0)
        self.assertEqual(parse_rate("10/5min").period_s, 300.0)
        self.assertEqual(parse_rate(" 3 / s , max_burst = 2 ").max_burst, 2)

    def test_bad_specs(self):
        for bad in ("", "600", "600/", "/min", "600/week", "-1/s", "0/s", "1.5/s",
                    "600/min,max_burst=0", "600/min,burst=1", "600/min,max_burst="):
            with self.subTest(bad=bad), self.assertRaises(ValueError):
                parse_rate(bad)


class SpacingTest(unittest.TestCase):
    def test_gaps_sort_first(self):
        self.assertEqual(gaps([3.0, 1.0, 2.5]), [1.5, 0.5])

    def test_even_spacing_passes(self):
        assert_min_spacing(evenly(50, 0.1), 0.095)
        assert_min_spacing([5.0], 1.0)  # one arrival: nothing to compare

    def test_one_short_gap_fails_and_is_located(self):
        times = evenly(50, 0.1)
        times[20] = times[19] + 0.090
        with self.assertRaises(AssertionError) as ctx:
            assert_min_spacing(times, 0.095)
        text = str(ctx.exception)
        self.assertIn("1 of 49 gaps", text)
        self.assertIn("90.0 ms", text)
        self.assertIn("arrivals 19 and 20", text)

    def test_no_arrivals_fails(self):
        with self.assertRaises(AssertionError):
            assert_min_spacing([], 0.1)


class ConformsTest(unittest.TestCase):
    def test_burst_of_one_is_minimum_spacing(self):
        assert_conforms(evenly(100, 0.1), "600/min,max_burst=1")
        assert_conforms(evenly(100, 0.096), "600/min,max_burst=1", tolerance=0.05)
        with self.assertRaises(AssertionError) as ctx:
            assert_conforms(evenly(100, 0.094), "600/min,max_burst=1", tolerance=0.05)
        self.assertIn("2 arrivals", str(ctx.exception))

    def test_burst_then_steady_rate(self):
        # 10 at once, then one every 100 ms: what a GCRA with max_burst=10 lets through.
        times = [0.0] * 10 + [0.1 * i for i in range(1, 50)]
        assert_conforms(times, "10/s")
        with self.assertRaises(AssertionError):
            assert_conforms([0.0] * 11 + [0.1 * i for i in range(1, 50)], "10/s")
        with self.assertRaises(AssertionError):  # a second burst without the pause
            assert_conforms(times + [4.9] * 5, "10/s")

    def test_refilled_burst_after_a_pause_passes(self):
        times = [0.0] * 5 + [10.0] * 5  # a pause of 10 s refills a burst of 5
        assert_conforms(times, "5/s")
        with self.assertRaises(AssertionError):
            assert_conforms([0.0] * 5 + [0.5] * 5, "5/s")  # only 2.5 tokens back

    def test_matches_brute_force(self):
        rng = random.Random(7)
        spec = parse_rate("20/s,max_burst=3")
        for _ in range(200):
            times = sorted(rng.uniform(0, 2) for _ in range(rng.randint(2, 30)))
            interval = spec.interval_s * 0.95
            ok = all(times[j] - times[i] >= (j - i + 1 - 3) * interval - 1e-9
                     for i in range(len(times)) for j in range(i + 1, len(times)))
            with self.subTest(times=times):
                if ok:
                    assert_conforms(times, spec, tolerance=0.05)
                else:
                    with self.assertRaises(AssertionError):
                        assert_conforms(times, spec, tolerance=0.05)


class RateTest(unittest.TestCase):
    def test_observed_rate_of_even_arrivals(self):
        self.assertAlmostEqual(observed_rate(evenly(101, 0.01)), 100.0)
        self.assertAlmostEqual(observed_rate(evenly(300, 0.01), skip_s=1.0), 100.0)

    def test_window_rate(self):
        self.assertAlmostEqual(window_rate(evenly(1000, 0.01, start=0.0), 2.0, 4.0), 100.0)
        with self.assertRaises(ValueError):
            window_rate([1.0], 2.0, 2.0)

    def test_within_tolerance(self):
        times = evenly(501, 1 / 103.0)  # 3% fast
        self.assertAlmostEqual(assert_rate(times, 100.0, tolerance=0.05), 103.0)
        with self.assertRaises(AssertionError) as ctx:
            assert_rate(times, 100.0, tolerance=0.02)
        self.assertIn("observed 103.00/s", str(ctx.exception))
        self.assertIn("per second:", str(ctx.exception))
        with self.assertRaises(AssertionError):
            assert_rate(evenly(501, 1 / 94.0), 100.0, tolerance=0.05)  # 6% slow

    def test_skip_leaves_out_the_initial_burst(self):
        times = [0.0] * 100 + [0.01 * i for i in range(1, 501)]
        with self.assertRaises(AssertionError):
            assert_rate(times, 100.0, tolerance=0.05)  # the burst inflates the rate
        assert_rate(times, 100.0, tolerance=0.05, skip_s=0.5)

    def test_jitter_does_not_matter_over_a_long_window(self):
        rng = random.Random(3)
        times = [i * 0.01 + rng.uniform(-0.004, 0.004) for i in range(1001)]
        assert_rate(times, 100.0, tolerance=0.05)

    def test_too_few_arrivals(self):
        with self.assertRaises(AssertionError):
            observed_rate([1.0])
        with self.assertRaises(AssertionError):
            observed_rate([1.0, 1.0])
        with self.assertRaises(AssertionError):
            observed_rate(evenly(10, 0.1), skip_s=5.0)

    def test_per_second_counts(self):
        self.assertEqual(per_second_counts([10.0, 10.2, 10.9, 11.0, 12.5]), [3, 1, 1])
        self.assertIs(arrival_times.per_second_counts, per_second_counts)


if __name__ == "__main__":
    unittest.main(verbosity=2)
