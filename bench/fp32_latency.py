#!/usr/bin/python3
"""FP32 latency, ours against ONNX Runtime 1.20, on the same models and the same tensors.

For each model and batch size (1 and 64) both engines time one query at a time on the same
.npy input (real dataset samples dumped by qbench-run): W warm-up runs, then timed runs until
both I runs and S seconds, wall clock per run, nearest-rank percentiles (qbench-run --time and
ort_run.js --time print the same fields). Same thread count on both sides (default 1; ORT
intra-op = N, inter-op = 1, sequential; ours: N OpenMP threads, OMP_NUM_THREADS pinned too).

Runs are interleaved: each round times every configuration once with each engine,
alternating which engine goes first; the table gives the median over rounds of each run's
median (and of each run's p99). ratio = ours / ORT (below 1.0: we are faster).

Batch 64 on a model declared with batch 1: ours runs with --relax-batch (the input's batch
dim made dynamic), ORT on a copy of the model whose input/output batch dim is symbolic. Where
the graph bakes the batch in (a Reshape to a constant [1, K]), the row says n/a and why.

Usage: QB_SHARED=/work/shared /usr/bin/python3 bench/fp32_latency.py [--threads 1] [--rounds 5]
       [--seconds 1.0] [--qbench-run build-h1/bench/qbench-run] [--only NAME]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import onnx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def shared_dir():
    return os.environ.get("QB_SHARED") or os.path.join(os.path.dirname(ROOT), "shared")


def models():
    s = os.path.join(shared_dir(), "models")
    fm = os.path.join(ROOT, "models", "fashion_mnist")
    ds = os.path.join(ROOT, "bench", "datasets")
    rows = [
        ("mnist-8", os.path.join(s, "mnist-8.onnx"), os.path.join(ds, "mnist.json")),
        ("squeezenet1.1 fp32", os.path.join(s, "squeezenet1.1-caffe2-fp32-upcast-from-fp16.onnx"),
         os.path.join(ds, "imagenet-sample.json")),
        ("resnet20-cifar10", os.path.join(s, "resnet20_cifar10_pre.onnx"), os.path.join(ds, "cifar10-jpeg.json")),
    ]
    for m in ("cnn_bn", "resnet", "mlp", "dwsep"):
        rows.append((f"fashion {m}", os.path.join(fm, f"{m}.onnx"), os.path.join(fm, "dataset.json")))
    return rows


class Failed(Exception):
    pass


def run(cmd, threads):
    env = dict(os.environ, QB_SHARED=shared_dir(), OMP_NUM_THREADS=str(threads))
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise Failed((p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1])
    return p.stdout


def relaxed_copy(model, path):
    """The model with a symbolic batch dim on its inputs and outputs (for ORT at batch 64)."""
    m = onnx.load(model)
    inits = {i.name for i in m.graph.initializer}
    for v in list(m.graph.input) + list(m.graph.output):
        if v.name in inits or not v.type.tensor_type.shape.dim:
            continue
        v.type.tensor_type.shape.dim[0].dim_param = "N"
    del m.graph.value_info[:]  # stale batch-1 shapes of intermediate values
    onnx.save(m, path)
    return path


def fixed_batch(model):
    m = onnx.load(model, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    v = [i for i in m.graph.input if i.name not in inits][0]
    dims = v.type.tensor_type.shape.dim
    return v.name, (dims[0].dim_value if dims and dims[0].HasField("dim_value") else None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=1.0, help="min seconds per timed run")
    ap.add_argument("--iters", type=int, default=50, help="min iterations per timed run")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--batches", default="1,64")
    ap.add_argument("--qbench-run", default=os.environ.get("QBENCH_RUN",
                                                           os.path.join(ROOT, "build-h1", "bench", "qbench-run")))
    ap.add_argument("--only", help="run only models whose name contains this")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="fp32_latency_")
    batches = [int(b) for b in args.batches.split(",")]
    timing = ["--time", "--warmup", str(args.warmup), "--iters", str(args.iters),
              "--min-seconds", str(args.seconds), "--threads", str(args.threads)]

    # Build the configurations: (model name, batch, our command, ORT command) or an n/a reason.
    configs, na = [], {}
    for k, (name, model, manifest) in enumerate(models()):
        if args.only and args.only not in name:
            continue
        if not os.path.exists(model):
            print(f"{name}: skipped, {model} not found")
            continue
        input_name, fixed = fixed_batch(model)
        for b in batches:
            x = os.path.join(work, f"x{k}_{b}.npy")
            try:
                run([args.qbench_run, "--dump-batch", manifest, "--count", str(b), "--out", x], 1)
            except Failed as e:
                na[(name, b)] = f"n/a (dataset: {e})"
                continue
            ours = [args.qbench_run, "--model", model, "--input", x] + timing
            ort_model = model
            if fixed is not None and fixed != b:
                ours.append("--relax-batch")
                try:  # one untimed run tells whether the graph takes the batch
                    run([args.qbench_run, "--model", model, "--input", x, "--relax-batch", "--out-dir",
                         os.path.join(work, "probe")], args.threads)
                except Failed as e:
                    na[(name, b)] = f"n/a ({e.args[0].removeprefix('qbench-run: ')})"
                    continue
                ort_model = relaxed_copy(model, os.path.join(work, f"relaxed{k}.onnx"))
            ort = ["node", os.path.join(ROOT, "bench", "ort", "ort_run.js"), "--model", ort_model,
                   "--input", f"{input_name}={x}", "--out-dir", os.path.join(work, "ort_out")] + timing
            configs.append((name, b, ours, ort))

    results = {(c[0], c[1]): {"ours": [], "ort": []} for c in configs}
    for r in range(args.rounds):
        for name, b, ours, ort in configs:
            order = [("ours", ours), ("ort", ort)] if r % 2 == 0 else [("ort", ort), ("ours", ours)]
            for who, cmd in order:
                try:
                    results[(name, b)][who].append(json.loads(run(cmd, args.threads).strip().splitlines()[-1]))
                except Failed as e:
                    na[(name, b)] = f"n/a ({who}: {e})"
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    med = lambda runs, key: statistics.median(x[key] for x in runs)
    print(f"FP32 latency, {args.threads} thread(s), {args.rounds} interleaved rounds, per run >= {args.iters} "
          f"iters and >= {args.seconds:g} s after {args.warmup} warm-up; medians over rounds (ms)")
    print(f"load average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    header = (f"{'model':20} {'batch':>5} {'ours p50':>9} {'ORT p50':>9} {'ratio':>6} {'ours p99':>9} {'ORT p99':>9}"
              f" {'ours min':>9} {'ORT min':>9}")
    print(header)
    print("-" * len(header))
    for name, model, _ in models():
        for b in batches:
            if (name, b) in na:
                print(f"{name:20} {b:5d} {na[(name, b)]}")
            elif (name, b) in results:
                o, t = results[(name, b)]["ours"], results[(name, b)]["ort"]
                om, tm = med(o, "median_ms"), med(t, "median_ms")
                print(f"{name:20} {b:5d} {om:9.4f} {tm:9.4f} {om / tm:6.2f} {med(o, 'p99_ms'):9.4f} "
                      f"{med(t, 'p99_ms'):9.4f} {med(o, 'min_ms'):9.4f} {med(t, 'min_ms'):9.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
