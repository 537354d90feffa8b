#!/usr/bin/python3
"""Our quantized accuracy against ONNX Runtime running our exported QDQ model.

For each Fashion-MNIST model and configuration:
  ours  top-1 of `qbench-worker --local SPEC --json` (oneDNN backend, all 10,000 test
        images, calibration: 1000 samples of the training set, seed 0);
  ORT   `qbench-export` quantizes the model the same way (same samples, seed, config) and
        writes it as an ONNX QDQ model; ONNX Runtime 1.20 (bench/ort/ort_run.js, graph
        optimisation "all", so its QDQ transformers fuse what they can) runs it on the same
        10,000 preprocessed images, dumped once by `qbench-run --dump-batch`.
Prints model, config, ours top-1, ORT top-1 and the difference in points; the check fails
when any |difference| exceeds --tolerance (0.2 points, issue 3's Export acceptance).

The exported biases are int32 (round(b / (s_x s_w)), what lets ORT fuse QLinearConv/QGemm);
our oneDNN kernels add the float32 bias. The informational column "ORT f32 bias" runs the
same export with float biases (ORT then computes float convolutions on dequantized values),
which isolates the effect of that rounding. --no-float-bias-column skips it.

A config may be PRESET+ROUNDING (w4a8+gptq, w4a8+adaround): the preset with MSE weight ranges
and that weight rounding, so the exports of GPTQ and AdaRound models are checked too.

Usage: /usr/bin/python3 bench/qdq_ort_check.py [--build build] [--configs w8a8,w4a8,w4a8+gptq]
       [--only cnn_bn] [--threads 2] [--work DIR] [--tolerance 0.2]
Exit code: 0 when every row is within tolerance, 1 otherwise (2: a tool failed).
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

import topk  # bench/topk.py: the strict top-k rule of every QBench figure

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FM = os.path.join(ROOT, "models", "fashion_mnist")
MODELS = ("cnn_bn", "resnet", "mlp", "dwsep")


def run(cmd, what):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(f"{what} failed (exit {p.returncode}): {' '.join(cmd)}\n{p.stderr.strip()}\n")
        sys.exit(2)
    return p.stdout


def read_idx_labels(path):
    with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as f:
        data = f.read()
    magic, n = int.from_bytes(data[0:4], "big"), int.from_bytes(data[4:8], "big")
    if magic != 2049:
        raise ValueError(f"{path}: not an IDX label file (magic {magic})")
    return np.frombuffer(data, dtype=np.uint8, count=n, offset=8).astype(np.int64)


def input_name(model):
    # Our models name their input "input"; read it from the model to stay honest.
    import onnx
    m = onnx.load(model, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    return [i.name for i in m.graph.input if i.name not in inits][0]


def config_arg(name):
    """A config entry: a short name, or PRESET+ROUNDING (for example w4a8+gptq), the preset
    with MSE weight ranges and that weight rounding (docs/quantization.md section 7d)."""
    if "+" not in name:
        return name
    preset, rounding = name.split("+", 1)
    return {"name": name, "preset": preset, "weights": {"method": "mse", "rounding": rounding}}


def ours(args, model, work):
    spec = {
        "name": f"qdq-ort-check-{model}",
        "model": os.path.join(FM, f"{model}.onnx"),
        "eval_dataset": os.path.join(FM, "dataset.json"),
        "samples": 0,
        "eval_batch_size": 64,
        "batch_sizes": [64],
        "threads": args.threads,
        "backend": "onednn",
        "latency": {"warmup_iters": 0, "warmup_seconds": 0, "min_iters": 1, "min_seconds": 0},
        "configs": [config_arg(c) for c in args.configs],
        "calibration": {"dataset": os.path.join(FM, "train_dataset.json"), "samples": args.calib_samples,
                        "seed": args.seed},
        "sqnr_samples": 0,
    }
    path = os.path.join(work, f"{model}_spec.json")
    with open(path, "w") as f:
        json.dump(spec, f, indent=1)
    out = json.loads(run([os.path.join(args.build, "worker", "qbench-worker"), "--local", path, "--json"],
                         f"qbench-worker ({model})"))
    top1 = {}
    for c in out["configs"]:
        if c.get("error"):
            top1[c["name"]] = None
            sys.stderr.write(f"{model} {c['name']}: our run failed: {c['error']}\n")
        else:
            top1[c["name"]] = c["accuracy"]["top1"]
    return top1


def ort(args, model, config, x_npy, labels, work, float_bias=False):
    tag = f"{model}_{config}" + ("_f32bias" if float_bias else "")
    q = os.path.join(work, f"{tag}.onnx")
    summary = json.loads(run([os.path.join(args.build, "bench", "qbench-export"), "--model",
                              os.path.join(FM, f"{model}.onnx"), "--calib", os.path.join(FM, "train_dataset.json"),
                              "--samples", str(args.calib_samples), "--seed", str(args.seed), "--config",
                              config if "+" not in config else json.dumps(config_arg(config)),
                              "--out", q] + (["--float-bias"] if float_bias else []),
                             f"qbench-export ({tag})"))
    out_dir = os.path.join(work, f"{tag}_ort")
    os.makedirs(out_dir, exist_ok=True)
    run(["node", os.path.join(ROOT, "bench", "ort", "ort_run.js"), "--model", q, "--input-batch",
         f"{input_name(q)}={x_npy}", "--batch", "500", "--out-dir", out_dir, "--threads", str(args.threads)],
        f"ort_run.js ({model} {config})")
    outs = [f for f in os.listdir(out_dir) if f.endswith(".npy")]
    if len(outs) != 1:
        sys.stderr.write(f"{out_dir}: expected one output, found {outs}\n")
        sys.exit(2)
    logits = np.load(os.path.join(out_dir, outs[0])).reshape(len(labels), -1)
    return topk.topk_hits(logits, labels, 1) / len(labels), summary  # the strict rule, bench/topk.py


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--configs", default="w8a8,w4a8")
    ap.add_argument("--only", default="", help="comma-separated model names")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--calib-samples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--tolerance", type=float, default=0.2, help="max |ours - ORT| in top-1 points")
    ap.add_argument("--work", default="")
    ap.add_argument("--no-float-bias-column", dest="float_bias_column", action="store_false")
    args = ap.parse_args()
    args.configs = [c for c in args.configs.split(",") if c]
    models = [m for m in MODELS if not args.only or m in args.only.split(",")]
    work = args.work or tempfile.mkdtemp(prefix="qdq_ort_check_")
    os.makedirs(work, exist_ok=True)

    manifest = json.load(open(os.path.join(FM, "dataset.json")))
    labels = read_idx_labels(manifest["labels"])
    x_npy = os.path.join(work, "test_images.npy")
    if not os.path.exists(x_npy):
        run([os.path.join(args.build, "bench", "qbench-run"), "--dump-batch", os.path.join(FM, "dataset.json"),
             "--count", str(len(labels)), "--out", x_npy], "qbench-run --dump-batch")

    rows, worst = [], 0.0
    for m in models:
        mine = ours(args, m, work)
        for c in args.configs:
            theirs, summary = ort(args, m, c, x_npy, labels, work)
            fb = ort(args, m, c, x_npy, labels, work, float_bias=True)[0] if args.float_bias_column else None
            o = mine.get(c)
            diff = None if o is None else 100 * (o - theirs)
            worst = max(worst, float("inf") if diff is None else abs(diff))
            rows.append((m, c, o, theirs, diff, fb))
            print(f"  done {m} {c}: ours {o}, ORT {theirs:.4f}, int32 biases {summary['int32_biases']}, "
                  f"bias rounding <= {summary['bias_rounding_max_steps']:.3f} steps", file=sys.stderr)

    print(f"QDQ export check: {len(labels)} test images, calibration {args.calib_samples} samples seed {args.seed}, "
          f"ONNX Runtime (onnxruntime-node, opt all, {args.threads} thread(s)); tolerance {args.tolerance} points")
    print(f"{'model':8} {'config':7} {'ours top-1':>10} {'ORT top-1':>10} {'diff (pts)':>10} {'ORT f32 bias':>12}")
    for m, c, o, t, d, fb in rows:
        os_ = "error" if o is None else f"{100 * o:.2f}"
        ds = "-" if d is None else f"{d:+.2f}"
        fbs = "-" if fb is None else f"{100 * fb:.2f}"
        print(f"{m:8} {c:7} {os_:>10} {100 * t:>10.2f} {ds:>10} {fbs:>12}")
    ok = worst <= args.tolerance + 1e-9
    print(f"max |diff| = {worst:.2f} points: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
