#!/usr/bin/python3
"""PyTorch 1.13 post-training quantization baseline for QBench's Fashion-MNIST models.

QBench's W8A8 results are compared with this: FX graph mode PTQ, onednn engine, the default
onednn QConfigMapping, calibrated on the same training images QBench calibrates on.

Usage:
    /usr/bin/python3 bench/torch/torch_ptq.py [--models cnn_bn,resnet,mlp,dwsep]
        [--calib-samples 1000] [--seed 0] [--json out.json] [--no-ort-check]
        [--print-indices N_TRAIN]

Steps per model:
  1. rebuild the nn.Module from tools/train_fashion_mnist.py (classes only; its main() is not run)
     and load the weights from the committed ONNX file (initializer names == state_dict keys);
     check: fp32 top-1/top-5 must equal models.json exactly, and (when onnxruntime-node is
     installed) torch logits must match ONNX Runtime's on 64 test images;
  2. calibration indices: first N of a SplitMix64-driven Fisher-Yates permutation of the
     60,000 training images (same algorithm as the C++ engine, see calib_indices());
  3. prepare_fx -> calibrate (batch 64, index order) -> convert_fx;
  4. fp32 and int8 top-1/top-5 on all 10,000 test images.
"""

import argparse
import hashlib
import importlib.util
import io
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import topk  # noqa: E402  (bench/topk.py: the strict top-k rule of every QBench figure)
from torch.ao.quantization import get_default_qconfig_mapping
from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS_DIR = os.path.join(REPO_ROOT, "models", "fashion_mnist")
ENGINE = "onednn"
CALIB_BATCH = 64
EVAL_BATCH = 1000
MASK64 = (1 << 64) - 1


def load_training_module():
    """Import tools/train_fashion_mnist.py by path. Its training lives in main() behind
    `if __name__ == "__main__"`, so importing only defines the classes and data helpers."""
    path = os.path.join(REPO_ROOT, "tools", "train_fashion_mnist.py")
    spec = importlib.util.spec_from_file_location("qbench_train_fashion_mnist", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


T = load_training_module()
MAKERS = {name: r["make"] for name, r in T.RECIPES.items()}


# ----------------------------------------------------------------------------------------------
# Calibration sample selection (must match the C++ engine bit for bit)
# ----------------------------------------------------------------------------------------------

class SplitMix64:
    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)


def calib_indices(n_total, n_samples, seed):
    """First n_samples entries of a Fisher-Yates shuffle of range(n_total):
    for i = n-1 .. 1: j = next() % (i + 1); swap(perm[i], perm[j])."""
    if not 0 < n_samples <= n_total:
        raise ValueError(f"calib samples {n_samples} not in 1..{n_total}")
    rng = SplitMix64(seed)
    perm = list(range(n_total))
    for i in range(n_total - 1, 0, -1):
        j = rng.next() % (i + 1)
        perm[i], perm[j] = perm[j], perm[i]
    return perm[:n_samples]


def indices_sha256(indices):
    return hashlib.sha256(np.asarray(indices, dtype="<i8").tobytes()).hexdigest()


# ----------------------------------------------------------------------------------------------
# Model reconstruction from ONNX
# ----------------------------------------------------------------------------------------------

def load_from_onnx(name, onnx_path):
    """Build the training-script module and copy every ONNX initializer into the state_dict.
    The export used torch's parameter names as initializer names; the extra initializers are
    only Clip min/max constants, checked here to be exactly ReLU6's (0, 6)."""
    model = MAKERS[name]()
    proto = onnx.load(onnx_path)
    inits = {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}
    sd = model.state_dict()
    new_sd = {}
    for key, ref in sd.items():
        if key.endswith("num_batches_tracked"):   # not exported, unused in eval mode
            new_sd[key] = ref
            continue
        if key not in inits:
            raise KeyError(f"{onnx_path}: no initializer for state_dict key {key!r}")
        arr = inits.pop(key)
        if tuple(arr.shape) != tuple(ref.shape) or arr.dtype != np.float32:
            raise ValueError(f"{onnx_path}: {key}: {arr.dtype}{arr.shape} vs {tuple(ref.shape)}")
        new_sd[key] = torch.from_numpy(arr.copy())
    # Leftovers must be Clip bounds (ReLU6) only.
    clip_inputs = {i for n in proto.graph.node if n.op_type == "Clip" for i in n.input[1:]}
    for k, v in inits.items():
        if k not in clip_inputs:
            raise ValueError(f"{onnx_path}: unmapped initializer {k!r}")
    for n in proto.graph.node:
        if n.op_type == "Clip":
            lo, hi = (float(numpy_helper.to_array(next(t for t in proto.graph.initializer
                                                           if t.name == n.input[i]))) for i in (1, 2))
            if (lo, hi) != (0.0, 6.0):
                raise ValueError(f"{onnx_path}: Clip({lo}, {hi}) is not ReLU6")
    model.load_state_dict(new_sd, strict=True)
    return model.eval()


def ort_logits_check(onnx_path, model, x):
    """Compare torch fp32 logits with ONNX Runtime's (bench/ort/ort_run.js) on a batch.
    Returns max |diff|, or None when node / onnxruntime-node are not installed."""
    runner = os.path.join(REPO_ROOT, "bench", "ort", "ort_run.js")
    node = "/usr/bin/node" if os.path.exists("/usr/bin/node") else "node"
    if not (os.path.exists(runner) and
            os.path.isdir(os.path.join(REPO_ROOT, "bench", "node_modules", "onnxruntime-node"))):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "x.npy")
        np.save(inp, np.ascontiguousarray(x.numpy()))
        subprocess.run([node, runner, "--model", onnx_path, "--input", f"input={inp}",
                        "--out-dir", tmp, "--threads", "1"], check=True,
                       stdout=subprocess.DEVNULL)
        ort = np.load(os.path.join(tmp, "logits.npy"))
    with torch.no_grad():
        ref = model(x).numpy()
    return float(np.max(np.abs(ort - ref)))


# ----------------------------------------------------------------------------------------------
# Evaluation / quantization
# ----------------------------------------------------------------------------------------------

@torch.no_grad()
def scores(model, x, batch=EVAL_BATCH):
    """The model's outputs for every sample, as float32 numpy."""
    return np.concatenate([model(x[i:i + batch]).float().numpy() for i in range(0, x.shape[0], batch)])


def evaluate(model, x, y, batch=EVAL_BATCH):
    """(top-1, top-5) with QBench's strict rule (bench/topk.py): torch.topk orders equal
    scores arbitrarily, which would let a quantized model's ties count differently here."""
    s, yy = scores(model, x, batch), y.numpy()
    return topk.topk_hits(s, yy, 1) / x.shape[0], topk.topk_hits(s, yy, 5) / x.shape[0]


def evaluate_detail(model, x, y, batch=EVAL_BATCH):
    """Strict top-1/top-5, the tied top-1 count and the per-sample top-1 outcomes."""
    s, yy = scores(model, x, batch), y.numpy()
    return {"top1": topk.topk_hits(s, yy, 1) / x.shape[0], "top5": topk.topk_hits(s, yy, 5) / x.shape[0],
            "tied_top1": topk.tied_top1(s), "correct": (topk.label_ranks(s, yy) < 1)}


def describe_qconfig(qconfig):
    def one(f):
        if f is None:
            return None
        f = getattr(f, "p", f)                        # torch's _PartialWrapper holds a partial
        func = getattr(f, "func", f)                  # functools.partial or class
        kw = dict(getattr(f, "keywords", {}) or {})
        kw = {k: str(v) for k, v in kw.items()}
        return {"observer": f"{func.__module__}.{func.__qualname__}", "kwargs": kw}
    return {"activation": one(qconfig.activation), "weight": one(qconfig.weight)}


def describe_quantized_modules(qmodel):
    """Short list of what convert_fx produced (module types), for the report."""
    types = {}
    for _, m in qmodel.named_modules():
        if m is qmodel or type(m) in (nn.Module, nn.Sequential) or type(m).__name__ == "LinearPackedParams":
            continue
        mod = type(m).__module__.split(".modules")[0].replace("torch.ao.", "").replace("torch.", "")
        t = f"{mod}.{type(m).__name__}"
        types[t] = types.get(t, 0) + 1
    ops = {}
    for n in qmodel.graph.nodes:
        if n.op == "call_function":
            k = getattr(n.target, "__name__", str(n.target))
            ops[k] = ops.get(k, 0) + 1
        elif n.op == "call_method":
            ops[f".{n.target}"] = ops.get(f".{n.target}", 0) + 1
    return {"modules": dict(sorted(types.items())), "functions": dict(sorted(ops.items()))}


def quantize(model, x_calib):
    qmap = get_default_qconfig_mapping(ENGINE)
    example = (x_calib[:1],)
    t0 = time.perf_counter()
    prepared = prepare_fx(model, qmap, example_inputs=example)
    t_prepare = time.perf_counter() - t0
    t0 = time.perf_counter()
    with torch.no_grad():
        for i in range(0, x_calib.shape[0], CALIB_BATCH):
            prepared(x_calib[i:i + CALIB_BATCH])
    t_calib = time.perf_counter() - t0
    t0 = time.perf_counter()
    qmodel = convert_fx(prepared)
    t_convert = time.perf_counter() - t0
    return qmodel, qmap, {"prepare": t_prepare, "calibrate": t_calib, "convert": t_convert}


def state_dict_bytes(model):
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getbuffer().nbytes


# ----------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(MAKERS))
    ap.add_argument("--calib-samples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write results here")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-ort-check", action="store_true",
                    help="skip the torch-vs-ONNX-Runtime fp32 logits check")
    ap.add_argument("--print-indices", type=int, metavar="N_TRAIN",
                    help="only print the first 8 calibration indices for --seed and this "
                         "dataset size, then exit")
    args = ap.parse_args()

    if args.print_indices is not None:
        n = min(8, args.print_indices)
        print(" ".join(str(i) for i in calib_indices(args.print_indices, n, args.seed)))
        return

    names = [n for n in args.models.split(",") if n]
    for n in names:
        if n not in MAKERS:
            sys.exit(f"unknown model {n!r}; known: {', '.join(MAKERS)}")

    torch.set_num_threads(args.threads)
    if ENGINE not in torch.backends.quantized.supported_engines:
        sys.exit(f"quantized engine {ENGINE} not available: {torch.backends.quantized.supported_engines}")
    torch.backends.quantized.engine = ENGINE

    with open(os.path.join(MODELS_DIR, "models.json")) as f:
        manifest = json.load(f)

    xtr, _, _ = T.load_split("train")
    xte, yte, _ = T.load_split("t10k")
    x_test, y_test = torch.from_numpy(xte), torch.from_numpy(yte)
    idx = calib_indices(xtr.shape[0], args.calib_samples, args.seed)
    idx_sha = indices_sha256(idx)
    x_calib = torch.from_numpy(np.ascontiguousarray(xtr[np.asarray(idx, dtype=np.int64)]))
    print(f"calibration: {len(idx)} train images, seed {args.seed}, first 8 indices {idx[:8]}, "
          f"sha256 {idx_sha[:16]}...", flush=True)

    results = {}
    for name in names:
        entry = manifest["models"][name]
        onnx_path = os.path.join(MODELS_DIR, entry["file"])
        model = load_from_onnx(name, onnx_path)
        fp32_top1, fp32_top5 = evaluate(model, x_test, y_test)
        if (fp32_top1, fp32_top5) != (entry["test_top1"], entry["test_top5"]):
            raise RuntimeError(f"{name}: fp32 accuracy {fp32_top1}/{fp32_top5} != models.json "
                               f"{entry['test_top1']}/{entry['test_top5']}: weights not loaded right")
        ort_diff = None if args.no_ort_check else ort_logits_check(onnx_path, model, x_test[:64])
        if ort_diff is not None and ort_diff > 1e-4:
            raise RuntimeError(f"{name}: torch vs ONNX Runtime logits max |diff| {ort_diff}")

        qmodel, qmap, secs = quantize(model, x_calib)
        fp32_detail = evaluate_detail(model, x_test, y_test)
        int8_detail = evaluate_detail(qmodel, x_test, y_test)
        int8_top1, int8_top5 = int8_detail["top1"], int8_detail["top5"]
        fp32_only, int8_only = topk.paired_counts(fp32_detail["correct"], int8_detail["correct"])
        results[name] = {
            "onnx": os.path.relpath(onnx_path, REPO_ROOT),
            "onnx_sha256": T.sha256_file(onnx_path),
            "fp32_top1": fp32_top1, "fp32_top5": fp32_top5,
            "int8_top1": int8_top1, "int8_top5": int8_top5,
            "delta_top1_points": round(100 * (int8_top1 - fp32_top1), 2),
            "fp32_tied_top1": fp32_detail["tied_top1"], "int8_tied_top1": int8_detail["tied_top1"],
            "fp32_right_int8_wrong": fp32_only, "fp32_wrong_int8_right": int8_only,
            "topk_rule": "strict, lowest class index wins ties (bench/topk.py)",
            # Per test image, '1' when its top-1 is right: lets a caller score any subset.
            "fp32_correct": "".join("1" if c else "0" for c in fp32_detail["correct"]),
            "int8_correct": "".join("1" if c else "0" for c in int8_detail["correct"]),
            "fp32_matches_models_json": True,
            "fp32_vs_ort_max_abs_diff_batch64": ort_diff,
            "calib_samples": len(idx), "calib_batch": CALIB_BATCH, "seed": args.seed,
            "calib_split": "train", "calib_indices_sha256": idx_sha,
            "calib_indices_first8": idx[:8],
            "calib_seconds": round(secs["calibrate"], 3),
            "prepare_seconds": round(secs["prepare"], 3),
            "convert_seconds": round(secs["convert"], 3),
            "fp32_state_dict_bytes": state_dict_bytes(model),
            "int8_state_dict_bytes": state_dict_bytes(qmodel),
            "qconfig": {"mapping": f"get_default_qconfig_mapping('{ENGINE}')",
                        "global": describe_qconfig(qmap.global_qconfig)},
            "backend_config": "prepare_fx default (native)",
            "quantized_graph": describe_quantized_modules(qmodel),
            "torch_version": torch.__version__, "engine": torch.backends.quantized.engine,
            "threads": torch.get_num_threads(),
            "test_images": int(x_test.shape[0]),
        }
        print(f"  {name}: fp32 {fp32_top1:.4f} (= models.json; torch vs ORT max|diff| "
              f"{'n/a' if ort_diff is None else f'{ort_diff:.1e}'}) int8 {int8_top1:.4f} "
              f"calib {secs['calibrate']:.1f}s", flush=True)

    print()
    print(f"PyTorch {torch.__version__} FX PTQ, engine {ENGINE}, default qconfig, "
          f"{len(idx)} calibration images (seed {args.seed})")
    print(f"{'model':8} {'fp32 top1':>9} {'int8 top1':>9} {'delta pts':>9} {'fp32 top5':>9} "
          f"{'int8 top5':>9} {'calib s':>7} {'int8 bytes':>10}")
    for name, r in results.items():
        print(f"{name:8} {r['fp32_top1']:9.4f} {r['int8_top1']:9.4f} {r['delta_top1_points']:+9.2f} "
              f"{r['fp32_top5']:9.4f} {r['int8_top5']:9.4f} {r['calib_seconds']:7.2f} "
              f"{r['int8_state_dict_bytes']:10d}")

    if args.json:
        out = {"tool": "bench/torch/torch_ptq.py", "torch_version": torch.__version__,
               "engine": ENGINE, "calib_samples": len(idx), "seed": args.seed,
               "calib_indices_sha256": idx_sha, "models": results}
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
            f.write("\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
