#!/usr/bin/python3
"""The strict check: our FP32 engine against ONNX Runtime 1.20 on identical input tensors.

For each model, qbench-run dumps the first N preprocessed samples of its dataset as one
float32 .npy; both engines run on that same file (in batches of 64, or the model's fixed
batch), and their outputs are compared element by element:

    pass  iff  |ours - ort| <= ATOL + RTOL * |ort|   for every element
               (numpy.allclose(ours, ort, rtol=1e-4, atol=1e-5), ORT as the reference)
    and        argmax(ours[i]) == argmax(ort[i])  for every sample i (first output, flattened)

Columns: "max abs" = max |ours - ort|; "max rel" = max |ours - ort| / |ort| over elements
with |ort| >= ATOL/RTOL = 0.1, where the relative term is the larger one (below that the
absolute term governs); "tol use" = max |ours - ort| / (ATOL + RTOL*|ort|) over all
elements, which must be <= 1.

The fp16 SqueezeNet file: ORT computes it in fp16, so 1e-4 is meaningless against ORT on
that file. We upcast its initializers exactly on load and compute in fp32, so our run of the
fp16 file is checked strictly against ORT on the fp32 upcast file; an informational row
shows how far ORT's own fp16 run is from its fp32 run.

Usage: QB_SHARED=/work/shared /usr/bin/python3 bench/ort_compare.py [--samples 256]
       [--threads 1] [--qbench-run build-h1/bench/qbench-run] [--work DIR] [--only NAME]
Exit code: 0 when every checked model passes, 1 otherwise.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RTOL, ATOL = 1e-4, 1e-5


def shared_dir():
    return os.environ.get("QB_SHARED") or os.path.join(os.path.dirname(ROOT), "shared")


def models():
    s = os.path.join(shared_dir(), "models")
    fm = os.path.join(ROOT, "models", "fashion_mnist")
    ds = os.path.join(ROOT, "bench", "datasets")
    sq32 = os.path.join(s, "squeezenet1.1-caffe2-fp32-upcast-from-fp16.onnx")
    sq16 = os.path.join(s, "squeezenet1.1-caffe2-fp16.onnx")
    # (row name, model we run, model ORT runs (None: the same), dataset manifest)
    rows = [
        ("mnist-8", os.path.join(s, "mnist-8.onnx"), None, os.path.join(ds, "mnist.json")),
        ("squeezenet1.1 fp32", sq32, None, os.path.join(ds, "imagenet-sample.json")),
        ("squeezenet1.1 fp16 file (ORT: fp32 file)", sq16, sq32, os.path.join(ds, "imagenet-sample.json")),
        ("resnet20-cifar10", os.path.join(s, "resnet20_cifar10_pre.onnx"), None,
         os.path.join(ds, "cifar10-jpeg.json")),
    ]
    for m in ("cnn_bn", "resnet", "mlp", "dwsep"):
        rows.append((f"fashion {m}", os.path.join(fm, f"{m}.onnx"), None, os.path.join(fm, "dataset.json")))
    return rows


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, QB_SHARED=shared_dir()))
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}\n  exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout


def input_name(model):
    import onnx
    m = onnx.load(model, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    return [i.name for i in m.graph.input if i.name not in inits][0]


def run_ours(args, model, x, out_dir):
    run([args.qbench_run, "--model", model, "--input", x, "--out-dir", out_dir, "--batch", "64",
         "--threads", str(args.threads)])


def run_ort(args, model, x, out_dir):
    run(["node", os.path.join(ROOT, "bench", "ort", "ort_run.js"), "--model", model,
         "--input-batch", f"{input_name(model)}={x}", "--batch", "64", "--out-dir", out_dir,
         "--threads", str(args.threads)])


def compare(ours_dir, ort_dir):
    """Returns (samples, max_abs, max_rel, tol_use, top1_agree) over every output ORT wrote."""
    names = sorted(f for f in os.listdir(ort_dir) if f.endswith(".npy"))
    max_abs = max_rel = tol_use = 0.0
    agree = samples = None
    for i, name in enumerate(names):
        b = np.load(os.path.join(ort_dir, name)).astype(np.float64)
        a = np.load(os.path.join(ours_dir, name)).astype(np.float64)
        if a.shape != b.shape:
            raise RuntimeError(f"{name}: our shape {a.shape} != ORT shape {b.shape}")
        d = np.abs(a - b)
        max_abs = max(max_abs, float(d.max()))
        big = np.abs(b) >= ATOL / RTOL
        if big.any():
            max_rel = max(max_rel, float((d[big] / np.abs(b[big])).max()))
        tol_use = max(tol_use, float((d / (ATOL + RTOL * np.abs(b))).max()))
        if i == 0:
            samples = a.shape[0]
            agree = int((a.reshape(samples, -1).argmax(1) == b.reshape(samples, -1).argmax(1)).sum())
    return samples, max_abs, max_rel, tol_use, agree


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=256)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--qbench-run", default=os.environ.get("QBENCH_RUN",
                                                           os.path.join(ROOT, "build-h1", "bench", "qbench-run")))
    ap.add_argument("--work", help="keep inputs and outputs here (default: a temporary folder)")
    ap.add_argument("--only", help="run only rows whose name contains this")
    args = ap.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="ort_compare_")
    os.makedirs(work, exist_ok=True)

    header = f"{'model':42} {'samples':>7} {'max abs':>10} {'max rel':>10} {'tol use':>8} {'top-1 agree':>12}  result"
    print(f"tolerance: |ours-ort| <= {ATOL:g} + {RTOL:g}*|ort| per element; top-1 identical per sample")
    print(header)
    print("-" * len(header))
    failed = 0
    dumps = {}
    for k, (name, ours_model, ort_model, manifest) in enumerate(models()):
        if args.only and args.only not in name:
            continue
        ort_model = ort_model or ours_model
        missing = [p for p in (ours_model, ort_model, manifest) if not os.path.exists(p)]
        if missing:
            print(f"{name:42} skipped: {missing[0]} not found")
            continue
        try:
            if manifest not in dumps:
                x = os.path.join(work, f"input{len(dumps)}.npy")
                run([args.qbench_run, "--dump-batch", manifest, "--model", ours_model, "--first", "0",
                     "--count", str(args.samples), "--out", x])
                dumps[manifest] = x
            x = dumps[manifest]
            ours_dir, ort_dir = os.path.join(work, f"ours{k}"), os.path.join(work, f"ort{k}")
            run_ours(args, ours_model, x, ours_dir)
            run_ort(args, ort_model, x, ort_dir)
            n, mabs, mrel, use, agree = compare(ours_dir, ort_dir)
        except RuntimeError as e:
            print(f"{name:42} ERROR {e}")
            failed += 1
            continue
        ok = use <= 1.0 and agree == n
        failed += 0 if ok else 1
        print(f"{name:42} {n:7d} {mabs:10.3g} {mrel:10.3g} {use:8.3f} {agree:5d}/{n:<6d}  {'ok' if ok else 'FAIL'}")
        if "fp16 file" in name:  # informational: ORT's own fp16 run against its fp32 run
            try:
                ort16_dir = os.path.join(work, f"ort16_{k}")
                run_ort(args, ours_model, x, ort16_dir)
                n, mabs, mrel, use, agree = compare(ort16_dir, ort_dir)
                print(f"{'  (info) ORT fp16 file vs ORT fp32 file':42} {n:7d} {mabs:10.3g} {mrel:10.3g} "
                      f"{use:8.3f} {agree:5d}/{n:<6d}  info")
            except RuntimeError as e:
                print(f"{'  (info) ORT fp16 file vs ORT fp32 file':42} ERROR {e}")
    print(f"\n{'all checked models agree' if failed == 0 else f'{failed} model(s) FAILED'} (work dir: {work})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
