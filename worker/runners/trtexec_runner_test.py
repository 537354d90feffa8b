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



# A stand-in for trtexec: builds write the engine file, inference runs write
# --exportOutput (each row's scores are its input row's sum, so rows can be traced back)
# and --exportTimes in trtexec's formats; FAKE_TRT_FAIL makes builds fail as a real
# parser error does.
FAKE_TRTEXEC = r'''#!/usr/bin/env python3
import json, os, struct, sys
args = dict(a[2:].split("=", 1) if "=" in a else (a[2:], "") for a in sys.argv[1:])
print("&&&& RUNNING TensorRT.trtexec [TensorRT v100700] [b23] # trtexec")
print("[12/04/2024-10:02:11] [I] TensorRT version: 10.7.0")
if "saveEngine" in args:
    if os.environ.get("FAKE_TRT_FAIL"):
        print("[12/04/2024-10:05:34] [E] Failed to parse onnx file", file=sys.stderr)
        sys.exit(1)
    with open(args["saveEngine"], "w") as f:
        f.write("engine")
    sys.exit(0)
rows = int(args["shapes"].split(":")[1].split("x")[0])
data = open(args["loadInputs"].split(":", 1)[1], "rb").read()
per = len(data) // 4 // rows
vals = struct.unpack("<%df" % (len(data) // 4), data)
if "exportOutput" in args:
    out = []
    for r in range(rows):
        s = sum(vals[r * per:(r + 1) * per])
        out += [s + c for c in range(10)]
    with open(args["exportOutput"], "w") as f:
        f.write('[\n  { "name" : "logits"\n  , "dimensions" : "%dx10"\n  , "values" : [ %s ]\n  }\n]\n'
                % (rows, ", ".join("%g" % v for v in out)))
if "exportTimes" in args:
    n = max(int(args.get("iterations", "10")), 1)
    with open(args["exportTimes"], "w") as f:
        json.dump([{"startComputeMs": 1.0 + i, "endComputeMs": 1.0 + i + 0.05, "latencyMs": 0.08 + i * 1e-4}
                   for i in range(n)], f)
    print("[12/04/2024-10:02:12] [I] Timing trace has %d queries over 1.0 s" % n)
'''


class EndToEndTest(unittest.TestCase):
    """The whole runner on a protocol request, with the fake trtexec on PATH."""

    def setUp(self):
        import json
        import shutil
        import struct
        import subprocess
        import tempfile
        self.json, self.struct, self.subprocess = json, struct, subprocess
        self.dir = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.dir)
        bin_dir = os.path.join(self.dir, "bin")
        os.makedirs(bin_dir)
        with open(os.path.join(bin_dir, "trtexec"), "w") as f:
            f.write(FAKE_TRTEXEC)
        os.chmod(os.path.join(bin_dir, "trtexec"), 0o755)
        self.env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
        self.env.pop("TRTEXEC", None)
        self.work = os.path.join(self.dir, "w")
        for d in ("eval", "time", "out"):
            os.makedirs(os.path.join(self.work, d))
        shutil.copy(os.path.join(HERE, "..", "..", "models", "fashion_mnist", "cnn_bn.onnx"),
                    os.path.join(self.work, "model.onnx"))
        # Two eval batches (3 and 2 rows) and one timing batch of 4; row r of a batch is all r+k.
        for name, rows, k in (("eval/000000.npy", 3, 0), ("eval/000001.npy", 2, 10), ("time/b4.npy", 4, 0)):
            with open(os.path.join(self.work, name), "wb") as f:
                f.write(tr.npy_bytes_f32([rows, 1, 28, 28], [float(r + k) for r in range(rows) for _ in range(784)]))
        self.request = {"protocol": 1, "device": {"id": "gpu0", "class": "gpu-trt", "provider": "cpu"},
                        "model": "model.onnx", "input": "input", "threads": 1,
                        "eval": [{"input": "eval/000000.npy", "output": "out/000000.npy"},
                                 {"input": "eval/000001.npy", "output": "out/000001.npy"}],
                        "timing": [{"batch_size": 4, "input": "time/b4.npy", "warmup_runs": 1, "warmup_seconds": 0,
                                    "min_runs": 5, "max_runs": 50, "min_seconds": 0}],
                        "result": "result.json"}
        with open(os.path.join(self.work, "request.json"), "w") as f:
            json.dump(self.request, f)

    def run_runner(self, **env):
        return self.subprocess.run([sys.executable, os.path.join(HERE, "trtexec_runner.py"),
                                    os.path.join(self.work, "request.json")],
                                   env=dict(self.env, **env), capture_output=True, text=True, timeout=120)

    def test_outputs_go_back_to_their_batches_and_times_are_per_query(self):
        p = self.run_runner()
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(self.work, "result.json")) as f:
            result = self.json.load(f)
        self.assertEqual(result["version"], "10.7.0")
        self.assertEqual([t["batch_size"] for t in result["timings"]], [4])
        self.assertEqual(len(result["timings"][0]["ms"]), 5)
        self.assertAlmostEqual(result["timings"][0]["ms"][0], 0.08)
        for name, rows, k in (("out/000000.npy", 3, 0), ("out/000001.npy", 2, 10)):
            shape, raw = tr.read_f32_npy(os.path.join(self.work, name))
            self.assertEqual(list(shape), [rows, 10], name)
            vals = self.struct.unpack("<%df" % (len(raw) // 4), raw)
            for r in range(rows):  # the fake's score 0 of a row is its input's sum
                self.assertAlmostEqual(vals[r * 10], 784.0 * (r + k), places=0, msg=f"{name} row {r}")

    def test_a_failed_build_is_a_reason_in_error_txt(self):
        p = self.run_runner(FAKE_TRT_FAIL="1")
        self.assertEqual(p.returncode, 1)
        with open(os.path.join(self.work, "error.txt")) as f:
            reason = f.read()
        self.assertIn("Failed to parse onnx file", reason)
        self.assertNotIn(self.dir, reason, "no paths of the worker's")


if __name__ == "__main__":
    unittest.main()
