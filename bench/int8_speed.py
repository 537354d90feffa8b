#!/usr/bin/python3
"""Int8 speed of our own engine: W8A8 latency over FP32 latency, per model and batch size.

For each model and batch size (1 and 64) one qbench-profile process quantizes the model
(calibration on N samples of its calibration set, W8A8 by default) and times the FP32 and
the quantized session on the same batch, interleaved: R rounds, each timing I runs of both
(FP32 first on even rounds, W8A8 first on odd ones); each round keeps its median and the
table gives the median of the round medians. ratio = int8 / FP32 (below 1.0: int8 is
faster). Issue 3's goal: ratio <= 0.5 at batch 64 on conv nets. `min ratio` is the same
ratio over the fastest single runs, the figure least disturbed by other load on the machine.

Models: the four Fashion-MNIST models (calibration and timed batch: the Fashion training
set) and, when ../shared (or $QB_SHARED) exists, ResNet-20 (CIFAR-10 JPEGs) and SqueezeNet
1.1 fp32 (ImageNet sample). Both are declared with batch 1: batch 64 runs them with
qbench-profile --relax-batch (batch dim dynamic, Reshape targets [1, ...] made [0, ...],
checked sample by sample against the model as published); a row that still fails says n/a.

--breakdown MODEL prints, for that model, the per-step tables side by side (FP32 and W8A8
steps joined by node name; quantize and reorder steps the int8 plan adds stand alone) and
a summary by op type, explaining where the time goes.

Usage: QB_SHARED=/work/shared /usr/bin/python3 bench/int8_speed.py [--rounds 5] [--threads 1]
       [--samples 256] [--config w8a8] [--batches 1,64] [--only NAME] [--breakdown NAME]
       [--json OUT] [--qbench-profile build-h5/bench/qbench-profile]
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONV_NETS = {"fashion cnn_bn", "fashion resnet", "fashion dwsep", "resnet20-cifar10", "squeezenet1.1 fp32"}


def shared_dir():
    return os.environ.get("QB_SHARED") or os.path.join(os.path.dirname(ROOT), "shared")


def models():
    fm = os.path.join(ROOT, "models", "fashion_mnist")
    rows = [(f"fashion {m}", os.path.join(fm, f"{m}.onnx"), os.path.join(fm, "train_dataset.json"))
            for m in ("cnn_bn", "resnet", "dwsep", "mlp")]
    s = shared_dir()
    if os.path.isdir(s):
        ds = os.path.join(ROOT, "bench", "datasets")
        rows += [
            ("resnet20-cifar10", os.path.join(s, "models", "resnet20_cifar10_pre.onnx"),
             os.path.join(ds, "cifar10-jpeg.json")),
            ("squeezenet1.1 fp32", os.path.join(s, "models", "squeezenet1.1-caffe2-fp32-upcast-from-fp16.onnx"),
             os.path.join(ds, "imagenet-sample.json")),
        ]
    return rows


# Timed runs per round (and profiled runs per session), by model and batch: enough for a
# stable median, few enough that SqueezeNet at batch 64 (~0.5 s per FP32 run) stays short.
def iters_for(name, batch):
    if name.startswith("squeezenet"):
        return 20 if batch == 1 else 3
    if name.startswith("resnet20"):
        return 30 if batch == 1 else 6
    return 50 if batch == 1 else 20


def find_tool(arg):
    for p in [arg, os.environ.get("QBENCH_PROFILE"), os.path.join(ROOT, "build-h5", "bench", "qbench-profile"),
              os.path.join(ROOT, "build", "bench", "qbench-profile")]:
        if p and os.access(p, os.X_OK):
            return p
    sys.exit("int8_speed.py: qbench-profile not found; build it (ninja -C BUILD qbench-profile) and pass "
             "--qbench-profile PATH or set QBENCH_PROFILE")


def profile(tool, name, model, calib, batch, a):
    base = [tool, "--model", model, "--calib", calib, "--samples", str(a.samples), "--config", a.config,
            "--batch", str(batch), "--threads", str(a.threads), "--iters", str(iters_for(name, batch)),
            "--rounds", str(a.rounds), "--json"]
    env = dict(os.environ, QB_SHARED=shared_dir(), OMP_NUM_THREADS=str(a.threads))
    p = subprocess.run(base, capture_output=True, text=True, env=env)
    if p.returncode != 0 and "fixed batch" in p.stderr:
        p = subprocess.run(base + ["--relax-batch"], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        return None, (p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1]
    return json.loads(p.stdout), None


def isa(result):
    for s in result["int8"]["steps"]:
        if s["op"] in ("Conv", "Gemm", "MatMul") and ":" in s["implementation"]:
            return s["implementation"].split(":", 1)[1]
    return "?"


def print_breakdown(name, r):
    f, q = r["fp32"]["steps"], r["int8"]["steps"]
    fp = {s["node"]: s for s in f}
    print(f"\n{name}, batch {r['batch']}{' (relaxed)' if r['relax_batch'] else ''}: FP32 {r['fp32']['median_ms']:.4f} ms, "
          f"{r['config']} {r['int8']['median_ms']:.4f} ms, ratio {r['ratio']:.3f}; per-step medians (stream wait "
          f"after each step, sums {sum(s['median_ms'] for s in f):.4f} / {sum(s['median_ms'] for s in q):.4f} ms)")
    print(f"  {'node':<40} {'op':<17} {'fp32 impl':<24} {'fp32 ms':>9} {'int8 impl':<28} {'int8 ms':>9} "
          f"{'share':>6} {'int8/fp32':>9}")
    seen = set()
    for s in q:
        g = fp.get(s["node"])
        seen.add(s["node"])
        ratio = f"{s['median_ms'] / g['median_ms']:.2f}" if g and g["median_ms"] > 0 else "-"
        slower = "  <- slower" if g and s["median_ms"] > g["median_ms"] * 1.05 else ""
        print(f"  {s['node'][:40]:<40} {s['op'][:17]:<17} {(g['implementation'] if g else '-')[:24]:<24} "
              f"{(g['median_ms'] if g else 0):9.4f} {s['implementation'][:28]:<28} {s['median_ms']:9.4f} "
              f"{100 * s['share']:5.1f}% {ratio:>9}{slower}")
    for g in f:
        if g["node"] not in seen:
            print(f"  {g['node'][:40]:<40} {g['op'][:17]:<17} {g['implementation'][:24]:<24} {g['median_ms']:9.4f} "
                  f"{'(not in int8 plan)':<28}")
    by_op = {}
    for key, steps in (("fp32", f), ("int8", q)):
        for s in steps:
            by_op.setdefault(s["op"], {"fp32": 0.0, "int8": 0.0})[key] += s["median_ms"]
    print("  by op: " + "; ".join(f"{op} {v['fp32']:.3f} -> {v['int8']:.3f} ms"
                                  for op, v in sorted(by_op.items(), key=lambda kv: -kv[1]["int8"])))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--samples", type=int, default=256, help="calibration samples")
    ap.add_argument("--config", default="w8a8")
    ap.add_argument("--batches", default="1,64")
    ap.add_argument("--only", help="run models whose name contains this")
    ap.add_argument("--breakdown", help="print per-step tables for models whose name contains this")
    ap.add_argument("--json", help="write every qbench-profile result to this file")
    ap.add_argument("--qbench-profile", dest="tool")
    a = ap.parse_args()
    tool = find_tool(a.tool)
    batches = [int(b) for b in a.batches.split(",")]
    rows, results = [], []
    for name, model, calib in models():
        if a.only and a.only not in name:
            continue
        for b in batches:
            r, err = profile(tool, name, model, calib, b, a)
            rows.append((name, b, r, err))
            if r:
                r["name"] = name
                results.append(r)
            print(f"  {name} batch {b}: " + (f"ratio {r['ratio']:.3f}" if r else f"n/a ({err})"),
                  file=sys.stderr, flush=True)
    print(f"\n{a.config} over FP32, our engine, {a.threads} thread(s), median of {a.rounds} interleaved round "
          f"medians (goal: ratio <= 0.5 at batch 64 on conv nets)")
    print(f"{'model':<20} {'batch':>5} {'fp32 ms':>10} {'int8 ms':>10} {'ratio':>7} {'min ratio':>9}  {'isa':<18} goal")
    for name, b, r, err in rows:
        if not r:
            print(f"{name:<20} {b:>5} {'n/a':>10} {'n/a':>10} {'n/a':>7} {'':>9}  {'':<18} {err}")
            continue
        fmin, qmin = r["fp32"]["min_ms"], r["int8"]["min_ms"]
        goal = ""
        if b == 64 and name in CONV_NETS:
            goal = "met" if r["ratio"] <= 0.5 else "MISSED"
        tag = "*" if r["relax_batch"] else ""
        print(f"{name:<20} {str(b) + tag:>5} {r['fp32']['median_ms']:10.4f} {r['int8']['median_ms']:10.4f} "
              f"{r['ratio']:7.3f} {qmin / fmin if fmin else 0:9.3f}  {isa(r):<18} {goal}")
    if any(r["relax_batch"] for r in results):
        print("* batch relaxed (--relax-batch), checked against the model as published on single samples")
    if a.breakdown:
        for r in results:
            if a.breakdown in r["name"]:
                print_breakdown(r["name"], r)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
