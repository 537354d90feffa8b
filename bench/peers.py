#!/usr/bin/python3
"""QBench beside its peers: latency and accuracy of QBench, ONNX Runtime 1.20 and PyTorch 1.13,
FP32 and int8, on the same models, inputs and thread count, interleaved (issue 5).

Per model and batch size (default 1 and 64), each round times, one after another (the order
rotates between rounds):
  qbench fp32 + w8a8  `qbench-profile --rounds 1` (quantizes the FP32 model itself: W8A8,
                      percentile activations, per-channel weights; times FP32 and W8A8
                      interleaved in one process, then profiles each plan step by step);
  ort fp32 / ort qdq  `bench/ort/ort_run.js --time` on the FP32 model and on QBench's own QDQ
                      export of the same configuration (`qbench-export`, int32 biases, so ORT's
                      QDQ transformers fuse QLinearConv/QGemm), graph optimisation "all";
  torch fp32 / int8   in this process: the PyTorch module (weights loaded from the ONNX file by
                      bench/torch/torch_ptq.py), timed as TorchScript frozen + optimize_for_inference
                      (eager is 2-5x slower: Debian's torch 1.13 has a generic BLAS), and its FX PTQ
                      ('onednn' engine, default qconfig), timed as converted.
Every runtime gets 1 intra-op thread by default (ORT inter-op 1; OMP_NUM_THREADS pinned).
Latency = median of the per-round medians; each run has warm-up, then >= I iterations.
The timed inputs are the first B Fashion-MNIST test images (one .npy shared by all).

Accuracy (Fashion-MNIST models, all 10,000 test images, calibration 1000 training images,
seed 0): QBench from `qbench-worker --local` (fp32, w8a8), ORT from running the FP32 model and
the QDQ export over the same dumped test images, torch from torch_ptq's evaluate().

Int8 matmul reference: one-Gemm ONNX models (M x K times K x N; default 1024^3, 512^3,
64x1024x1024 and 64x256x2304, the last two shaped like batch-64 layers) written by this script,
quantized W8A8 and timed with qbench-profile (calibration: fixed synthetic N(0,1) inputs,
seed 0); ops/s = 2 M N K / (Gemm step median); the best shape is the peak. Each int8 Conv/Gemm step of each model's
W8A8 profile (batch 64) is put against it: its MACs come from the ONNX shapes.

torchvision ResNet-18/50 and MobileNetV2 rows are added when `import torchvision` works (ONNX
exported into --cache with opset 13 and a dynamic batch; QBench calibrated on fixed synthetic
inputs, N(0,1), seed 0; no accuracy: random weights, no labelled data).

Writes OUT/peers.md, OUT/peers.csv, OUT/peers.json and OUT/peers.svg (accuracy vs latency).

Usage: /usr/bin/python3 bench/peers.py [--rounds 3] [--threads 1] [--batches 1,64]
       [--only cnn_bn,mlp] [--out /tmp/qbench-peers] [--no-accuracy] [--no-vision]
       [--matmul '1024x1024x1024;512x512x512'] [--build build]
"""
import argparse
import csv
import gzip
import json
import math
import os
import statistics
import subprocess
import sys
import time

import numpy as np

import topk  # bench/topk.py: the strict top-k rule of every QBench figure
import onnx
from onnx import helper, numpy_helper, shape_inference, TensorProto

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FM = os.path.join(ROOT, "models", "fashion_mnist")
ORT_RUN = os.path.join(ROOT, "bench", "ort", "ort_run.js")
FASHION = ("cnn_bn", "resnet", "dwsep", "mlp")
CONV_NETS = {"cnn_bn", "resnet", "dwsep", "resnet18", "resnet50", "mobilenet_v2"}
RUNTIMES = ("qbench fp32", "qbench w8a8", "ort fp32", "ort qdq", "torch fp32", "torch int8")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def run(cmd, what, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {p.returncode}): {' '.join(cmd)}\n{p.stderr.strip()[-2000:]}")
    return p.stdout


def input_name(path):
    m = onnx.load(path, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    return [i.name for i in m.graph.input if i.name not in inits][0]


def read_idx_labels(path):
    with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as f:
        data = f.read()
    n = int.from_bytes(data[4:8], "big")
    return np.frombuffer(data, dtype=np.uint8, count=n, offset=8).astype(np.int64)


# ------------------------------------------------------------------------------------------------
# Models
# ------------------------------------------------------------------------------------------------

class Model:
    def __init__(self, name, onnx_path, calib, data, torch_fp32=None, labelled=False, calib_samples=1000):
        self.name, self.onnx, self.calib, self.data = name, onnx_path, calib, data
        self.torch_fp32, self.labelled, self.calib_samples = torch_fp32, labelled, calib_samples
        self.torch_int8 = None
        self.qdq = None


def write_npy_manifest(path, x, name):
    np.save(path + ".x.npy", x.astype(np.float32))
    np.save(path + ".y.npy", np.zeros(x.shape[0], dtype=np.int64))
    with open(path, "w") as f:
        json.dump({"name": name, "format": "npy", "images": os.path.basename(path) + ".x.npy",
                   "labels": os.path.basename(path) + ".y.npy"}, f)
    return path


def export_torchvision(name, cache):
    """torchvision model with random weights (seed 0), exported to ONNX opset 13, dynamic batch."""
    import torch
    import torchvision
    path = os.path.join(cache, f"{name}.onnx")
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    if not os.path.exists(path):
        torch.onnx.export(model, torch.randn(1, 3, 224, 224), path, opset_version=13, input_names=["input"],
                          output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    return model, path


def synthetic_manifest(cache, shape, n, tag):
    path = os.path.join(cache, f"synthetic_{tag}.json")
    if not os.path.exists(path):
        x = np.random.default_rng(0).standard_normal((n,) + tuple(shape), dtype=np.float32)
        write_npy_manifest(path, x, f"synthetic {tag}, N(0,1), seed 0")
    return path


def matmul_model(cache, m, n, k):
    """One Gemm: X[M,K] (dynamic M) times W^T, W [N,K] random N(0,1)/sqrt(K), bias 0."""
    path = os.path.join(cache, f"gemm_{n}x{k}.onnx")
    if not os.path.exists(path):
        rng = np.random.default_rng(0)
        w = (rng.standard_normal((n, k), dtype=np.float32) / math.sqrt(k)).astype(np.float32)
        g = helper.make_graph(
            [helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="gemm", transB=1)], "gemm",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", k])],
            [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", n])],
            [numpy_helper.from_array(w, "w"), numpy_helper.from_array(np.zeros(n, np.float32), "b")])
        mp = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
        mp.ir_version = 7
        onnx.checker.check_model(mp)
        onnx.save(mp, path)
    return path, synthetic_manifest(cache, (k,), m, f"gemm_k{k}_m{m}")


# ------------------------------------------------------------------------------------------------
# MAC counts from ONNX shapes
# ------------------------------------------------------------------------------------------------

def node_macs(onnx_path, batch):
    """{node name: MACs} for Conv, Gemm and MatMul at this batch size."""
    mp = onnx.load(onnx_path)
    inp = [i for i in mp.graph.input if i.name not in {t.name for t in mp.graph.initializer}][0]
    inp.type.tensor_type.shape.dim[0].ClearField("dim_param")
    inp.type.tensor_type.shape.dim[0].dim_value = batch
    for o in mp.graph.output:
        o.type.tensor_type.shape.dim[0].ClearField("dim_param")
        o.type.tensor_type.shape.dim[0].ClearField("dim_value")
    mp = shape_inference.infer_shapes(mp)
    shapes = {}
    for v in list(mp.graph.value_info) + list(mp.graph.input) + list(mp.graph.output):
        shapes[v.name] = [d.dim_value for d in v.type.tensor_type.shape.dim]
    for t in mp.graph.initializer:
        shapes[t.name] = list(t.dims)
    macs = {}
    for n in mp.graph.node:
        try:
            if n.op_type == "Conv":
                w, y = shapes[n.input[1]], shapes[n.output[0]]
                macs[n.name] = int(np.prod(y)) * int(np.prod(w[1:]))
            elif n.op_type in ("Gemm", "MatMul"):
                a, y = shapes[n.input[0]], shapes[n.output[0]]
                macs[n.name] = int(np.prod(y)) * a[-1]
        except (KeyError, IndexError):
            pass
    return macs


# ------------------------------------------------------------------------------------------------
# Timers (each returns one run's median ms)
# ------------------------------------------------------------------------------------------------

def iters_for(batch, heavy=False):
    if heavy:
        return 10 if batch == 1 else 3
    return 200 if batch == 1 else 20


def time_qbench(a, m, batch, iters):
    cmd = [a.profile, "--model", m.onnx, "--calib", m.calib, "--data", m.data, "--samples", str(m.calib_samples),
           "--config", "w8a8", "--batch", str(batch), "--threads", str(a.threads), "--iters", str(iters),
           "--rounds", "1", "--json"]
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0 and "fixed batch" in p.stderr:
        p = subprocess.run(cmd + ["--relax-batch"], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        raise RuntimeError((p.stderr.strip().splitlines() or [f"exit {p.returncode}"])[-1])
    return json.loads(p.stdout)


def time_ort(a, model_path, x_npy, iters, min_s):
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads))
    out = run(["node", ORT_RUN, "--model", model_path, "--input", f"{input_name(model_path)}={x_npy}",
               "--out-dir", os.path.join(a.out, "ort_out"), "--threads", str(a.threads), "--time",
               "--warmup", "5", "--iters", str(iters), "--min-seconds", str(min_s)], "ort_run.js", env)
    return json.loads(out.strip().splitlines()[-1])["median_ms"]


def time_torch(module, x, iters, min_s):
    import torch
    with torch.no_grad():
        for _ in range(5):
            module(x)
        ts, t_end = [], time.perf_counter() + min_s
        while len(ts) < iters or time.perf_counter() < t_end:
            t0 = time.perf_counter()
            module(x)
            ts.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(ts)


# ------------------------------------------------------------------------------------------------
# Accuracy
# ------------------------------------------------------------------------------------------------

def accuracy_fashion(a, m, x_test_npy, labels, tp, x_calib_t, x_test_t, y_test_t):
    acc = {}
    spec = {"name": f"peers-{m.name}", "model": m.onnx, "eval_dataset": os.path.join(FM, "dataset.json"),
            "samples": 0, "eval_batch_size": 64, "batch_sizes": [64], "threads": a.threads, "backend": "onednn",
            "latency": {"warmup_iters": 0, "warmup_seconds": 0, "min_iters": 1, "min_seconds": 0},
            "configs": ["fp32", "w8a8"],
            "calibration": {"dataset": m.calib, "samples": m.calib_samples, "seed": 0}, "sqnr_samples": 0}
    sp = os.path.join(a.out, f"{m.name}_spec.json")
    with open(sp, "w") as f:
        json.dump(spec, f)
    w = json.loads(run([a.worker, "--local", sp, "--json"], f"qbench-worker {m.name}"))
    for c in w["configs"]:
        key = {"fp32": "qbench fp32", "w8a8": "qbench w8a8"}[c["name"]]
        acc[key] = None if c.get("error") else c["accuracy"]["top1"]
    for key, path in (("ort fp32", m.onnx), ("ort qdq", m.qdq)):
        od = os.path.join(a.out, f"acc_{m.name}_{key.replace(' ', '_')}")
        os.makedirs(od, exist_ok=True)
        run(["node", ORT_RUN, "--model", path, "--input-batch", f"{input_name(path)}={x_test_npy}", "--batch", "500",
             "--out-dir", od, "--threads", str(a.threads)], f"ort_run.js accuracy {m.name} {key}")
        outs = [f for f in os.listdir(od) if f.endswith(".npy")]
        logits = np.load(os.path.join(od, outs[0])).reshape(len(labels), -1)
        acc[key] = topk.topk_hits(logits, labels, 1) / len(labels)  # the strict rule, bench/topk.py
    acc["torch fp32"] = tp.evaluate(m.torch_fp32, x_test_t, y_test_t)[0]
    acc["torch int8"] = tp.evaluate(m.torch_int8, x_test_t, y_test_t)[0]
    return acc


# ------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------

def fmt(v, nd=4):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{nd}g}" if v < 0.01 else f"{v:.{nd}f}" if v < 10 else f"{v:.2f}"
    return str(v)


def ratio(num, dens):
    dens = [d for d in dens if d]
    return num / min(dens) if num and dens else None


COLORS = {"qbench": "#d62728", "ort": "#1f77b4", "torch": "#2ca02c"}


def write_svg(path, rows, acc, batches):
    """Grid: one panel per (model with accuracy, batch). x: latency ms (log), y: top-1 %."""
    models = [m for m in dict.fromkeys(r["model"] for r in rows) if acc.get(m)]
    if not models:
        models = list(dict.fromkeys(r["model"] for r in rows))
    pw, ph, ml, mt = 300, 220, 60, 40
    W, H = ml + len(models) * (pw + 30) + 180, mt + len(batches) * (ph + 60)
    el = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="11">',
          f'<rect width="{W}" height="{H}" fill="white"/>',
          f'<text x="{ml}" y="18" font-size="14">Top-1 accuracy vs p50 latency (1 thread); '
          f'filled = FP32, open = int8</text>']
    for bi, b in enumerate(batches):
        for mi, mname in enumerate(models):
            x0, y0 = ml + mi * (pw + 30), mt + bi * (ph + 60)
            pts = []
            for r in rows:
                if r["model"] != mname or r["batch"] != b:
                    continue
                for rt in RUNTIMES:
                    lat = r["p50_ms"].get(rt)
                    ac = (acc.get(mname) or {}).get(rt)
                    if lat:
                        pts.append((rt, lat, ac))
            el.append(f'<rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
            el.append(f'<text x="{x0}" y="{y0 - 5}">{mname}, batch {b}</text>')
            if not pts:
                continue
            lats = [p[1] for p in pts]
            lo, hi = math.log10(min(lats)) - 0.1, math.log10(max(lats)) + 0.1
            accs = [p[2] for p in pts if p[2] is not None]
            alo, ahi = (min(accs) * 100 - 0.2, max(accs) * 100 + 0.2) if accs else (0, 1)
            for t in range(math.floor(lo), math.ceil(hi) + 1):
                for mul in (1, 2, 5):
                    v = math.log10(mul) + t
                    if lo <= v <= hi:
                        x = x0 + (v - lo) / (hi - lo) * pw
                        el.append(f'<line x1="{x:.1f}" y1="{y0 + ph}" x2="{x:.1f}" y2="{y0 + ph + 4}" stroke="#888"/>')
                        el.append(f'<text x="{x:.1f}" y="{y0 + ph + 15}" text-anchor="middle">{mul * 10 ** t:g}</text>')
            el.append(f'<text x="{x0 + pw / 2}" y="{y0 + ph + 30}" text-anchor="middle">p50 ms (log)</text>')
            if accs:
                for k in range(5):
                    v = alo + (ahi - alo) * k / 4
                    y = y0 + ph - (v - alo) / (ahi - alo) * ph
                    el.append(f'<text x="{x0 - 4}" y="{y + 4:.1f}" text-anchor="end">{v:.2f}</text>')
            for rt, lat, ac in pts:
                x = x0 + (math.log10(lat) - lo) / (hi - lo) * pw
                y = y0 + ph / 2 if ac is None else y0 + ph - (ac * 100 - alo) / (ahi - alo) * ph
                c = COLORS[rt.split()[0]]
                fill = c if rt.endswith("fp32") else "white"
                el.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{fill}" stroke="{c}" stroke-width="2">'
                          f'<title>{rt}: {lat:.4g} ms, {"n/a" if ac is None else f"{100 * ac:.2f}%"}</title></circle>')
    lx = ml + len(models) * (pw + 30)
    for i, (k, c) in enumerate(COLORS.items()):
        el.append(f'<circle cx="{lx + 10}" cy="{mt + 20 * i}" r="5" fill="{c}"/>'
                  f'<text x="{lx + 20}" y="{mt + 20 * i + 4}">{k}</text>')
    el.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(el) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batches", default="1,64")
    ap.add_argument("--only", default="", help="comma-separated model names")
    ap.add_argument("--out", default="/tmp/qbench-peers")
    ap.add_argument("--cache", default="", help="generated models (default OUT/cache)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--min-seconds", type=float, default=0.3, help="per ORT/torch run")
    ap.add_argument("--matmul", default="1024x1024x1024;512x512x512;64x1024x1024;64x256x2304",
                    help="MxNxK shapes (;-separated) of the int8 matmul reference; the best GOP/s is the peak")
    ap.add_argument("--no-accuracy", action="store_true")
    ap.add_argument("--no-vision", action="store_true", help="skip the torchvision models")
    a = ap.parse_args()
    a.out = os.path.abspath(a.out)
    cache = a.cache or os.path.join(a.out, "cache")
    os.makedirs(cache, exist_ok=True)
    a.profile = os.path.join(a.build, "bench", "qbench-profile")
    a.export = os.path.join(a.build, "bench", "qbench-export")
    a.qrun = os.path.join(a.build, "bench", "qbench-run")
    a.worker = os.path.join(a.build, "worker", "qbench-worker")
    for t in (a.profile, a.export, a.qrun):
        if not os.access(t, os.X_OK):
            sys.exit(f"peers.py: {t} missing; cmake --build {a.build} --target qbench-profile qbench-export qbench-run")
    batches = [int(b) for b in a.batches.split(",")]
    only = [s for s in a.only.split(",") if s]
    os.environ["OMP_NUM_THREADS"] = str(a.threads)

    import torch
    sys.path.insert(0, os.path.join(ROOT, "bench", "torch"))
    import torch_ptq as tp
    torch.set_num_threads(a.threads)
    torch.backends.quantized.engine = tp.ENGINE
    torch.manual_seed(0)

    # Inputs: first max(batches) test images (timing), all test images (accuracy), calibration.
    xtr, _, _ = tp.T.load_split("train")
    xte, yte, _ = tp.T.load_split("t10k")
    idx = tp.calib_indices(xtr.shape[0], 1000, 0)
    x_calib_t = torch.from_numpy(np.ascontiguousarray(xtr[np.asarray(idx)]))
    x_test_t, y_test_t = torch.from_numpy(xte), torch.from_numpy(yte)
    labels = read_idx_labels(json.load(open(os.path.join(FM, "dataset.json")))["labels"])
    x_test_npy = os.path.join(a.out, "fashion_test.npy")
    if not os.path.exists(x_test_npy):
        run([a.qrun, "--dump-batch", os.path.join(FM, "dataset.json"), "--count", str(len(labels)),
             "--out", x_test_npy], "qbench-run --dump-batch")
    x_all = np.load(x_test_npy)
    diff = float(np.max(np.abs(x_all[:256] - xte[:256])))
    log(f"test images: qbench preprocessing vs torch_ptq's: max |diff| {diff:.2e}")

    models = []
    for name in FASHION:
        if only and name not in only:
            continue
        m = Model(name, os.path.join(FM, f"{name}.onnx"), os.path.join(FM, "train_dataset.json"),
                  os.path.join(FM, "dataset.json"), tp.load_from_onnx(name, os.path.join(FM, f"{name}.onnx")), True)
        models.append(m)
    try:
        import torchvision  # noqa: F401
        have_tv = True
    except ImportError:
        have_tv = False
    vision_note = ("torchvision models: " + ("skipped (--no-vision)" if a.no_vision else "included") if have_tv
                   else "torchvision models: skipped, `import torchvision` fails (python3-torchvision not installed)")
    log(vision_note)
    if have_tv and not a.no_vision:
        for name in ("resnet18", "resnet50", "mobilenet_v2"):
            if only and name not in only:
                continue
            mod, path = export_torchvision(name, cache)
            man = synthetic_manifest(cache, (3, 224, 224), 128, "img224")
            models.append(Model(name, path, man, man, mod, False, calib_samples=64))

    # Per model: QDQ export for ORT, torch PTQ, timing inputs.
    for m in models:
        m.qdq = os.path.join(cache, f"{m.name}_w8a8_qdq.onnx")
        run([a.export, "--model", m.onnx, "--calib", m.calib, "--samples", str(m.calib_samples), "--seed", "0",
             "--config", "w8a8", "--out", m.qdq, "--threads", str(a.threads)], f"qbench-export {m.name}")
        if m.labelled:
            xc = x_calib_t
            m.x = {b: x_all[:b] for b in batches}
        else:
            xs = np.load(m.calib + ".x.npy")
            xc = torch.from_numpy(xs[:m.calib_samples])
            m.x = {b: xs[:b] for b in batches}
        m.torch_int8, _, _ = tp.quantize(m.torch_fp32, xc)
        # Timed FP32 torch: TorchScript, frozen, optimize_for_inference (convs go to mkldnn);
        # eager is 2-5x slower here (Debian's torch has BLAS_INFO=generic). Same outputs.
        with torch.no_grad():
            ex = torch.from_numpy(np.ascontiguousarray(m.x[batches[0]]))
            m.torch_fast = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(m.torch_fp32, ex).eval()))
            d = float((m.torch_fast(ex) - m.torch_fp32(ex)).abs().max())
        log(f"  {m.name}: torch optimize_for_inference vs eager max |diff| {d:.1e}")
        m.x_npy = {}
        for b in batches:
            p = os.path.join(a.out, f"x_{m.name}_b{b}.npy")
            np.save(p, np.ascontiguousarray(m.x[b], dtype=np.float32))
            m.x_npy[b] = p
        log(f"prepared {m.name}")

    # Int8 matmul reference (our engine, W8A8): several shapes, the best GOP/s is the peak.
    matmul = {"shapes": []}
    for shape in a.matmul.split(";"):
        mm, nn_, kk = (int(v) for v in shape.split("x"))
        gemm_path, gemm_man = matmul_model(cache, mm, nn_, kk)
        gm = Model(f"gemm{mm}x{nn_}x{kk}", gemm_path, gemm_man, gemm_man, calib_samples=mm)
        iters = max(5, min(100, int(2e9 / (2 * mm * nn_ * kk) * 0.02)))  # ~5-10 ms of int8 work
        peak = [time_qbench(a, gm, mm, iters) for _ in range(a.rounds)]
        step = lambda p, k: next(s_["median_ms"] for s_ in p[k]["steps"] if s_["op"] == "Gemm")  # noqa: E731
        g8 = statistics.median(step(p, "int8") for p in peak)
        g32 = statistics.median(step(p, "fp32") for p in peak)
        ops = 2.0 * mm * nn_ * kk
        matmul["shapes"].append({"m": mm, "n": nn_, "k": kk, "int8_ms": g8, "fp32_ms": g32, "iters": iters,
                                 "impl": next(s_["implementation"] for s_ in peak[0]["int8"]["steps"]
                                              if s_["op"] == "Gemm"),
                                 "int8_gops": ops / (g8 * 1e-3) / 1e9, "fp32_gops": ops / (g32 * 1e-3) / 1e9})
        log(f"int8 matmul {mm}x{nn_}x{kk}: {g8:.3f} ms = {ops / (g8 * 1e-3) / 1e9:.1f} GOP/s; "
            f"fp32 {ops / (g32 * 1e-3) / 1e9:.1f} GOP/s")
    best = max(matmul["shapes"], key=lambda d: d["int8_gops"])
    matmul["peak_gops"] = best["int8_gops"]
    matmul["peak_shape"] = f"{best['m']}x{best['n']}x{best['k']}"
    peak_ops = best["int8_gops"] * 1e9

    # Interleaved timing rounds.
    rows, profiles = [], {}
    for m in models:
        heavy = not m.labelled
        for b in batches:
            it = iters_for(b, heavy)
            xt = torch.from_numpy(m.x[b])
            samples = {rt: [] for rt in RUNTIMES}
            err = {}
            timers = [
                ("qbench", lambda: time_qbench(a, m, b, it)),
                ("ort fp32", lambda: time_ort(a, m.onnx, m.x_npy[b], it, a.min_seconds)),
                ("ort qdq", lambda: time_ort(a, m.qdq, m.x_npy[b], it, a.min_seconds)),
                ("torch fp32", lambda: time_torch(m.torch_fast, xt, it, a.min_seconds)),
                ("torch int8", lambda: time_torch(m.torch_int8, xt, it, a.min_seconds)),
            ]
            for r in range(a.rounds):
                k = r % len(timers)
                for key, fn in timers[k:] + timers[:k]:
                    if key in err:
                        continue
                    try:
                        v = fn()
                    except Exception as e:  # noqa: BLE001 - report and go on
                        err[key] = str(e).splitlines()[-1][:200]
                        log(f"  {m.name} b{b} {key}: {err[key]}")
                        continue
                    if key == "qbench":
                        samples["qbench fp32"].append(v["fp32"]["median_ms"])
                        samples["qbench w8a8"].append(v["int8"]["median_ms"])
                        profiles.setdefault((m.name, b), []).append(v)
                    else:
                        samples[key].append(v)
            p50 = {rt: (statistics.median(v) if v else None) for rt, v in samples.items()}
            rows.append({"model": m.name, "batch": b, "p50_ms": p50, "rounds": {rt: v for rt, v in samples.items()},
                         "errors": err})
            log(f"  {m.name} b{b}: " + ", ".join(f"{rt} {fmt(v)}" for rt, v in p50.items()))

    # Accuracy.
    acc = {}
    if not a.no_accuracy:
        for m in models:
            if m.labelled:
                acc[m.name] = accuracy_fashion(a, m, x_test_npy, labels, tp, x_calib_t, x_test_t, y_test_t)
                log(f"  accuracy {m.name}: " + ", ".join(f"{k} {100 * v:.2f}" for k, v in acc[m.name].items() if v))

    # Int8 layer throughput (batch 64, or the largest batch).
    bmax = max(batches)
    layers = []
    for m in models:
        profs = profiles.get((m.name, bmax))
        if not profs:
            continue
        macs = node_macs(m.onnx, bmax)
        per = {}
        for p in profs:
            for s in p["int8"]["steps"]:
                if s["op"] in ("Conv", "Gemm", "MatMul") and s["node"] in macs:
                    per.setdefault(s["node"], {"op": s["op"], "impl": s["implementation"], "ms": []})["ms"].append(
                        s["median_ms"])
        tot_mac = tot_ms = 0.0
        for node, d in per.items():
            ms = statistics.median(d["ms"])
            ops = 2.0 * macs[node] / (ms * 1e-3)
            layers.append({"model": m.name, "node": node, "op": d["op"], "impl": d["impl"], "macs": macs[node],
                           "ms": ms, "gops": ops / 1e9, "fraction": ops / peak_ops})
            tot_mac += macs[node]
            tot_ms += ms
        if tot_ms:
            layers.append({"model": m.name, "node": "(all conv/gemm)", "op": "", "impl": "", "macs": int(tot_mac),
                           "ms": tot_ms, "gops": 2 * tot_mac / (tot_ms * 1e-3) / 1e9,
                           "fraction": 2 * tot_mac / (tot_ms * 1e-3) / peak_ops})

    write_report(a, rows, acc, layers, matmul, profiles, batches, vision_note, diff)


def goal(v, lim, cmp="le"):
    if v is None:
        return "n/a"
    return "met" if (v <= lim if cmp == "le" else v >= lim) else "missed"


def write_report(a, rows, acc, layers, matmul, profiles, batches, vision_note, prep_diff):
    p50 = lambda r, k: r["p50_ms"].get(k)  # noqa: E731
    table = []
    for r in rows:
        q32, q8 = p50(r, "qbench fp32"), p50(r, "qbench w8a8")
        o32, o8, t32, t8 = p50(r, "ort fp32"), p50(r, "ort qdq"), p50(r, "torch fp32"), p50(r, "torch int8")
        ac = acc.get(r["model"], {})
        table.append({
            "model": r["model"], "batch": r["batch"],
            **{f"{rt} ms": p50(r, rt) for rt in RUNTIMES},
            "fp32/ort": (q32 / o32) if q32 and o32 else None,
            "fp32/torch": (q32 / t32) if q32 and t32 else None,
            "fp32/best": ratio(q32, [o32, t32]),
            "int8/ort qdq": (q8 / o8) if q8 and o8 else None,
            "int8/torch int8": (q8 / t8) if q8 and t8 else None,
            "int8/best int8": ratio(q8, [o8, t8]),
            "speedup int8 vs our fp32": (q32 / q8) if q32 and q8 else None,
            **{f"{rt} top1": ac.get(rt) for rt in RUNTIMES},
            "errors": "; ".join(f"{k}: {v}" for k, v in r["errors"].items()),
        })
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "peers.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(table[0].keys()) if table else ["model"])
        w.writeheader()
        for t in table:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in t.items()})
    with open(os.path.join(a.out, "peers_layers.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["model", "node", "op", "impl", "macs", "ms", "gops", "fraction"])
        w.writeheader()
        for l in layers:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in l.items()})
    with open(os.path.join(a.out, "peers.json"), "w") as f:
        json.dump({"rows": rows, "accuracy": acc, "layers": layers, "matmul": matmul,
                   "profiles": {f"{k[0]} b{k[1]}": v for k, v in profiles.items()}}, f, indent=1)
    write_svg(os.path.join(a.out, "peers.svg"), rows, acc, batches)

    L = []
    load = os.getloadavg()
    L.append("# QBench vs ONNX Runtime 1.20 vs PyTorch 1.13\n")
    L.append(f"{a.threads} thread(s), {a.rounds} interleaved rounds, p50 = median of per-round medians (ms). "
             f"Load average at the end: {load[0]:.1f}/{load[1]:.1f}/{load[2]:.1f}. {vision_note}. "
             f"QBench W8A8 = percentile activations, per-channel weights; ORT int8 = ORT on QBench's QDQ export; "
             f"torch fp32 timed as TorchScript freeze + optimize_for_inference; torch int8 = FX PTQ, 'onednn', default qconfig. Fashion calibration: 1000 training images, seed 0; "
             f"timed inputs: first B test images (QBench's vs torch_ptq's preprocessing: max |diff| {prep_diff:.1e}).\n")
    L.append("## Latency (p50 ms) and ratios\n")
    L.append("| model | batch | qbench fp32 | qbench w8a8 | ort fp32 | ort qdq | torch fp32 | torch int8 | "
             "fp32/ORT | fp32/torch | int8/ORT qdq | int8/torch int8 | int8/best int8 | our int8 speedup |")
    L.append("|---|---:|" + "---:|" * 12)
    for t in table:
        L.append(f"| {t['model']} | {t['batch']} | " + " | ".join(fmt(t[f'{rt} ms']) for rt in RUNTIMES) + " | " +
                 " | ".join(fmt(t[k], 3) if t[k] is None else f"{t[k]:.2f}" for k in
                            ("fp32/ort", "fp32/torch", "int8/ort qdq", "int8/torch int8", "int8/best int8",
                             "speedup int8 vs our fp32")) + " |")
    errs = [f"{t['model']} b{t['batch']}: {t['errors']}" for t in table if t["errors"]]
    if errs:
        L.append("\nErrors: " + "; ".join(errs))
    if acc:
        L.append("\n## Top-1 accuracy (%), Fashion-MNIST test set (10,000 images)\n")
        L.append("| model | " + " | ".join(RUNTIMES) + " |")
        L.append("|---|" + "---:|" * len(RUNTIMES))
        for mname, d in acc.items():
            L.append(f"| {mname} | " + " | ".join("n/a" if d.get(rt) is None else f"{100 * d[rt]:.2f}"
                                                   for rt in RUNTIMES) + " |")
    L.append(f"\n## Int8 matmul reference and our int8 layers (batch {max(batches)})\n")
    L.append("One-Gemm ONNX models (X[M,K] W[N,K]^T, N(0,1) data, seed 0), W8A8 through our engine, Gemm step "
             "median of the per-round profiles:\n")
    L.append("| M x N x K | impl | int8 ms | int8 GOP/s | fp32 GOP/s |")
    L.append("|---|---|---:|---:|---:|")
    for d in matmul["shapes"]:
        L.append(f"| {d['m']}x{d['n']}x{d['k']} | {d['impl']} | {d['int8_ms']:.4f} | {d['int8_gops']:.1f} | "
                 f"{d['fp32_gops']:.1f} |")
    L.append(f"\nPeak (best shape, {matmul['peak_shape']}): **{matmul['peak_gops']:.1f} GOP/s**; layers below are "
             f"a fraction of it.\n")
    L.append("| model | node | op | impl | MACs | ms | GOP/s | of int8 matmul |")
    L.append("|---|---|---|---|---:|---:|---:|---:|")
    for l in layers:
        L.append(f"| {l['model']} | {l['node']} | {l['op']} | {l['impl']} | {l['macs']} | {l['ms']:.4f} | "
                 f"{l['gops']:.1f} | {100 * l['fraction']:.0f}% |")
    L.append("\n## Goals\n")
    L.append("| goal | model | batch | value | result |")
    L.append("|---|---|---:|---:|---|")
    for t in table:
        L.append(f"| int8 <= 0.8x best peer int8 | {t['model']} | {t['batch']} | {fmt(t['int8/best int8'], 3)} | "
                 f"{goal(t['int8/best int8'], 0.8)} |")
    for t in table:
        L.append(f"| FP32 <= 1.0x ORT | {t['model']} | {t['batch']} | {fmt(t['fp32/ort'], 3)} | "
                 f"{goal(t['fp32/ort'], 1.0)} |")
    for t in table:
        if t["batch"] == max(batches) and t["model"] in CONV_NETS:
            L.append(f"| int8 speedup >= 2.5x (conv, b{t['batch']}) | {t['model']} | {t['batch']} | "
                     f"{fmt(t['speedup int8 vs our fp32'], 3)} | {goal(t['speedup int8 vs our fp32'], 2.5, 'ge')} |")
    for l in layers:
        if l["node"] == "(all conv/gemm)":
            L.append(f"| int8 conv/gemm >= 70% of int8 matmul | {l['model']} | {max(batches)} | "
                     f"{100 * l['fraction']:.0f}% | {goal(l['fraction'], 0.7, 'ge')} |")
    L.append("\n## Per-step W8A8 breakdown (median over rounds, ms)\n")
    for (mname, b), profs in profiles.items():
        steps = {}
        for p in profs:
            for key in ("fp32", "int8"):
                for s in p[key]["steps"]:
                    steps.setdefault(s["node"], {"op": s["op"], "fp32": [], "int8": [], "impl": ""})
                    steps[s["node"]][key].append(s["median_ms"])
                    if key == "int8":
                        steps[s["node"]]["impl"] = s["implementation"]
        L.append(f"<details><summary>{mname} batch {b}</summary>\n")
        L.append("| node | op | int8 impl | fp32 ms | int8 ms | int8/fp32 |")
        L.append("|---|---|---|---:|---:|---:|")
        for node, d in steps.items():
            f32 = statistics.median(d["fp32"]) if d["fp32"] else None
            i8 = statistics.median(d["int8"]) if d["int8"] else None
            L.append(f"| {node} | {d['op']} | {d['impl']} | {fmt(f32)} | {fmt(i8)} | "
                     f"{(i8 / f32) if f32 and i8 else float('nan'):.2f} |")
        L.append("\n</details>\n")
    md = "\n".join(L) + "\n"
    with open(os.path.join(a.out, "peers.md"), "w") as f:
        f.write(md)
    print(md)
    log(f"wrote {a.out}/peers.md, peers.csv, peers_layers.csv, peers.json, peers.svg")


if __name__ == "__main__":
    main()
