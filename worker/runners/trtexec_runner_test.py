#!/usr/bin/env python3
"""trtexec_runner.py's parsers on recorded trtexec output (testdata/README.md says where
each format comes from). No GPU or TensorRT needed; CI runs it through ctest."""
import math
import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import trtexec_runner as tr  # noqa: E402


def data(name):
    with open(os.path.join(HERE, "testdata", name)) as f:
        return f.read()


class VersionTest(unittest.TestCase):
    def test_version_line_and_running_banner(self):
        self.assertEqual(tr.parse_version(data("trtexec-8.6.1-timing.log")), "8.6.1")
        self.assertEqual(tr.parse_version(data("trtexec-10.7.0-timing.log")), "10.7.0")
        # --help prints only the banner: NV_TENSORRT_VERSION 100700 is 10.7.0, 8601 is 8.6.1.
        self.assertEqual(tr.parse_version(data("trtexec-10.7.0-help.log")), "10.7.0")
        self.assertEqual(tr.decode_trt_version_code(8601), "8.6.1")
        self.assertIsNone(tr.parse_version("no version here"))


class SummaryTest(unittest.TestCase):
    def test_performance_summary_of_10_7(self):
        s = tr.parse_summary(data("trtexec-10.7.0-timing.log"))
        self.assertEqual(s["device"], "NVIDIA H100 80GB HBM3")
        self.assertEqual(s["warmup_queries"], 2491)
        self.assertEqual(s["queries"], 12620)
        self.assertAlmostEqual(s["trace_s"], 1.00006)
        self.assertAlmostEqual(s["latency"]["median"], 0.0678711)
        self.assertAlmostEqual(s["latency"]["percentiles"][99.0], 0.0820312)
        self.assertLessEqual(s["latency"]["min"], s["latency"]["median"])
        self.assertNotIn("h2d", s, "H2D Latency is not the query latency")

    def test_8_6_has_the_same_facts(self):
        s = tr.parse_summary(data("trtexec-8.6.1-timing.log"))
        self.assertEqual(s["device"], "NVIDIA A100-SXM4-40GB")
        self.assertEqual(s["warmup_queries"], 3315)
        self.assertIn("latency", s)
        self.assertIn("gpu_compute", s)

    def test_first_error_of_a_failed_build(self):
        e = tr.parse_error(data("trtexec-10.7.0-error.log"))
        self.assertTrue(e.startswith("[TRT] ModelImporter.cpp:948"), e)
        self.assertIsNone(tr.parse_error(data("trtexec-8.6.1-timing.log")))


class TimesTest(unittest.TestCase):
    def test_export_times_give_one_latency_per_query(self):
        trace = tr.parse_times(data("times-8.6.1.json"))
        self.assertGreater(len(trace), 1)
        ms = tr.trace_ms(trace, 1000)
        self.assertEqual(len(ms), len(trace))
        self.assertAlmostEqual(ms[0], 0.0408)
        self.assertTrue(all(v > 0 and math.isfinite(v) for v in ms))
        self.assertEqual(len(tr.trace_ms(trace, 2)), 2, "at most max_runs")

    def test_latency_is_rebuilt_from_its_parts_when_absent(self):
        self.assertAlmostEqual(tr.query_ms({"h2dMs": 0.01, "computeMs": 0.02, "d2hMs": 0.005}), 0.035)
        self.assertAlmostEqual(tr.query_ms({"startComputeMs": 1.0, "endComputeMs": 1.25}), 0.25)
        with self.assertRaises(tr.RunError):
            tr.trace_ms([{"latencyMs": "fast"}], 10)

    def test_malformed_times_are_errors(self):
        for text in ("{}", "[1, 2]", "not json"):
            with self.assertRaises(tr.RunError):
                tr.parse_times(text)


class OutputTest(unittest.TestCase):
    def test_the_named_output_among_several(self):
        dims, values = tr.parse_output(data("output-10.7.0.json"), "logits")
        self.assertEqual(dims, [2, 10])
        self.assertEqual(len(values), 20)
        self.assertAlmostEqual(values[0], -3.77621)

    def test_non_finite_values_as_a_cpp_stream_prints_them(self):
        dims, values = tr.parse_output(data("output-nonfinite.json"), "logits")
        self.assertEqual(dims, [1, 4])
        self.assertEqual(values[1], math.inf)
        self.assertEqual(values[2], -math.inf)
        self.assertTrue(math.isnan(values[3]))

    def test_wrong_counts_and_missing_outputs_are_errors(self):
        with self.assertRaises(tr.RunError):
            tr.parse_output('[{"name": "y", "dimensions": "2x3", "values": [1, 2]}]', "y")
        with self.assertRaises(tr.RunError):
            tr.parse_output(data("output-10.7.0.json"), "probabilities")


if __name__ == "__main__":
    unittest.main()
