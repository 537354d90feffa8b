#!/usr/bin/python3
"""Train QBench's own small Fashion-MNIST reference models and export them to ONNX.

Why this exists: QBench needs fp32 models whose full provenance we control (data, code, seed,
accuracy) so that quantization results can be compared against a known baseline. Every output
file under models/fashion_mnist/ is produced by this script alone.

Usage:  /usr/bin/python3 tools/train_fashion_mnist.py [--models cnn_bn,resnet,mlp,dwsep]
            [--out models/fashion_mnist] [--seed N] [--epochs-scale F] [--no-ort-check]
        (--epochs-scale is for quick smoke runs; give them a scratch --out.)
Each model is seeded on its own, so a subset rerun reproduces the same weights, and the
entries of models not retrained are kept in models.json.

Data: Debian's dataset-fashion-mnist package (Zalando, MIT/Expat), read directly from the IDX
gz files; nothing is downloaded.

Preprocessing (fixed, shared by every model and by QBench's evaluator):
    x = (pixel / 255 - 0.2860) / 0.3530, float32, layout [N, 1, 28, 28]
"""

import argparse
import gzip
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA_DIR = "/usr/share/datasets/fashion-mnist"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEAN = 0.2860
STD = 0.3530
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
OPSET = 13
ALLOWED_OPS = {"Conv", "BatchNormalization", "Relu", "Clip", "MaxPool", "AveragePool",
               "GlobalAveragePool", "Add", "Flatten", "Gemm"}


# ----------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------

def read_idx_gz(path):
    """Parse a gzip'd IDX file (big-endian header: 0,0,dtype,ndim, then ndim uint32 dims).

    Written by hand so that no torchvision (and no network download) is needed.
    """
    with gzip.open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path}: not an IDX file")
    if raw[2] != 0x08:  # 0x08 = unsigned byte; the only type Fashion-MNIST uses
        raise ValueError(f"{path}: unsupported IDX element type 0x{raw[2]:02x}")
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    count = int(np.prod(dims))
    if len(raw) - offset != count:
        raise ValueError(f"{path}: expected {count} payload bytes, got {len(raw) - offset}")
    return np.frombuffer(raw, dtype=np.uint8, offset=offset).reshape(dims)


def preprocess(images_u8):
    """The one fixed preprocessing. Done in float32 in exactly this order so that the C++
    evaluator can reproduce it bit for bit: ((u8 / 255) - 0.2860) / 0.3530."""
    x = images_u8.astype(np.float32) / np.float32(255.0)
    x = (x - np.float32(MEAN)) / np.float32(STD)
    return x.reshape(-1, 1, 28, 28).astype(np.float32, copy=False)


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_split(prefix):
    img_path = os.path.join(DATA_DIR, f"{prefix}-images-idx3-ubyte.gz")
    lbl_path = os.path.join(DATA_DIR, f"{prefix}-labels-idx1-ubyte.gz")
    images = read_idx_gz(img_path)
    labels = read_idx_gz(lbl_path)
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise ValueError(f"{prefix}: inconsistent shapes {images.shape} / {labels.shape}")
    files = {os.path.basename(p): sha256_file(p) for p in (img_path, lbl_path)}
    return preprocess(images), labels.astype(np.int64), files


# ----------------------------------------------------------------------------------------------
# Models. Plain nn.Modules whose ONNX export is a small, predictable set of ops
# (Conv, BatchNormalization, Relu, Clip, MaxPool, GlobalAveragePool, Add, Flatten, Gemm).
# ----------------------------------------------------------------------------------------------

def conv_bn(cin, cout, k=3, stride=1, groups=1, act="relu"):
    """Conv without bias followed by BN: the bias would be redundant with BN's shift, and
    'Conv(no bias) -> BatchNormalization' is the pattern QBench's BN folding must handle."""
    layers = [nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, groups=groups, bias=False),
              nn.BatchNorm2d(cout)]
    if act == "relu":
        layers.append(nn.ReLU(inplace=True))
    elif act == "relu6":
        layers.append(nn.ReLU6(inplace=True))  # exported as Clip(0, 6)
    return layers


class CnnBn(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            *conv_bn(1, 16), nn.MaxPool2d(2),    # 28 -> 14
            *conv_bn(16, 32), nn.MaxPool2d(2),   # 14 -> 7
            *conv_bn(32, 64),
            # AvgPool 2x2 (7 -> 3, floor) instead of a global pool: a net this small needs the
            # spatial layout (a GlobalAveragePool variant underfit at 87.9% after 6 epochs), and
            # it gives the suite an AveragePool node (the other conv nets use GlobalAveragePool).
            # count_include_pad=False: no padding here either way, but with the default (True)
            # torch 1.13 exports a no-op Pad node in front of the AveragePool.
            nn.AvgPool2d(2, count_include_pad=False),
            nn.Flatten(),
        )
        self.fc = nn.Linear(64 * 3 * 3, 10)

    def forward(self, x):
        return self.fc(self.features(x))


class BasicBlock(nn.Module):
    """ResNet basic block: conv3x3-BN-ReLU-conv3x3-BN, plus a shortcut, then ReLU after the add.
    The shortcut is the identity when the shape is unchanged, otherwise a strided 1x1 conv + BN."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(cout))
        else:
            self.shortcut = nn.Identity()  # leaves no node in the ONNX graph

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + self.shortcut(x))


class ResNet(nn.Module):
    def __init__(self, widths=(16, 32, 64), blocks_per_stage=1, stem_stride=2):
        super().__init__()
        # A stride-2 stem (28 -> 14) cuts training cost ~4x versus running stage 1 at full
        # resolution, at a small accuracy cost; it keeps the 2-core training budget.
        self.stem = nn.Sequential(*conv_bn(1, widths[0], stride=stem_stride))
        stages = []
        cin = widths[0]
        for i, w in enumerate(widths):
            for b in range(blocks_per_stage):
                stride = 2 if (i > 0 and b == 0) else 1   # 14 -> 14 -> 7 -> 4
                stages.append(BasicBlock(cin, w, stride))
                cin = w
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(cin, 10)

    def forward(self, x):
        x = self.pool(self.stages(self.stem(x)))
        return self.fc(torch.flatten(x, 1))


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(784, 256), nn.ReLU(inplace=True), nn.Dropout(0.1),
            nn.Linear(256, 128), nn.ReLU(inplace=True),
            nn.Linear(128, 10),
        )

    def forward(self, x):
        return self.net(x)


class DwSep(nn.Module):
    """Depthwise-separable net (MobileNet-v1 style): depthwise 3x3 + BN + ReLU6, then
    pointwise 1x1 + BN + ReLU. Gives QBench a small model with grouped (depthwise) convs and
    Clip activations, both of which stress per-channel quantization."""

    def __init__(self):
        super().__init__()

        def dw_pw(cin, cout, stride):
            return [*conv_bn(cin, cin, 3, stride=stride, groups=cin, act="relu6"),
                    *conv_bn(cin, cout, 1, act="relu")]

        self.features = nn.Sequential(
            *conv_bn(1, 16, stride=2),        # regular stem, 28 -> 14 (depthwise on 1 channel is pointless)
            *dw_pw(16, 32, 1),
            *dw_pw(32, 64, 2),                # -> 7x7
            *dw_pw(64, 128, 1),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        return self.fc(self.features(x))


# Per-model training recipe. Epoch counts were chosen so the whole run stays well under
# 15 minutes on 2 CPU cores while clearing the accuracy targets.
RECIPES = {
    "cnn_bn": dict(make=CnnBn, epochs=8, lr=3e-3, batch=128, target=0.90,
                   description="3x [Conv3x3+BN+ReLU] with MaxPool 2x2 after the first two, "
                               "AveragePool 2x2 (7x7 -> 3x3), Flatten, Linear(576->10)"),
    "resnet": dict(make=ResNet, epochs=8, lr=3e-3, batch=128, target=0.91,
                   description="stem Conv3x3 s2 (1->16)+BN+ReLU; 3 stages x 1 basic block, widths "
                               "16/32/64 at 14x14/7x7/4x4 (stride 1/2/2; identity shortcut in "
                               "stage 1, 1x1 s2 Conv+BN projection in stages 2-3); "
                               "GlobalAveragePool; Linear(64->10)"),
    "mlp": dict(make=Mlp, epochs=8, lr=1e-3, batch=128, target=0.88,
                description="Flatten; Linear(784->256)+ReLU; Dropout(0.1); "
                            "Linear(256->128)+ReLU; Linear(128->10)"),
    # No accuracy target: dwsep exists to exercise depthwise quantization (~90% top-1).
    "dwsep": dict(make=DwSep, epochs=12, lr=3e-3, batch=128, target=None,
                  description="stem Conv3x3 s2 (1->16)+BN+ReLU; 3x [depthwise Conv3x3+BN+ReLU6(Clip), "
                              "pointwise Conv1x1+BN+ReLU] (16->32, 32->64 s2, 64->128); "
                              "GlobalAveragePool; Linear(128->10)"),
}


# ----------------------------------------------------------------------------------------------
# Training and evaluation
# ----------------------------------------------------------------------------------------------

@torch.no_grad()
def evaluate(model, x, y, batch=1000):
    """Top-1 / top-5 accuracy over the whole set, model in eval mode."""
    model.eval()
    top1 = top5 = 0
    for i in range(0, x.shape[0], batch):
        logits = model(x[i:i + batch])
        t5 = logits.topk(5, dim=1).indices
        yy = y[i:i + batch]
        top1 += (t5[:, 0] == yy).sum().item()
        top5 += (t5 == yy[:, None]).any(dim=1).sum().item()
    return top1 / x.shape[0], top5 / x.shape[0]


def train_model(name, recipe, x_train, y_train, x_test, y_test, seed, epochs):
    torch.manual_seed(seed)
    np.random.seed(seed)
    model = recipe["make"]()
    gen = torch.Generator().manual_seed(seed)   # drives the shuffling only
    opt = torch.optim.AdamW(model.parameters(), lr=recipe["lr"], weight_decay=1e-4)
    batch = recipe["batch"]
    steps_per_epoch = (x_train.shape[0] + batch - 1) // batch
    # One-cycle: fast warm-up then cosine decay, which converges well in few epochs.
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe["lr"], epochs=epochs,
                                                steps_per_epoch=steps_per_epoch, pct_start=0.2)
    t0 = time.perf_counter()
    # CPU time is recorded next to wall time: with 2 threads cpu ~= 2 x wall on an idle machine,
    # so a lower ratio shows that other jobs slowed the run and the wall time is inflated.
    c0 = time.process_time()
    history = []
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(x_train.shape[0], generator=gen)
        total_loss = 0.0
        for s in range(steps_per_epoch):
            idx = perm[s * batch:(s + 1) * batch]
            xb, yb = x_train[idx], y_train[idx]
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total_loss += loss.item() * idx.shape[0]
        # Test accuracy per epoch is logged for monitoring only: the model after the last epoch
        # is exported, nothing is selected on the test set.
        top1, _ = evaluate(model, x_test, y_test)
        history.append({"epoch": epoch + 1, "train_loss": round(total_loss / x_train.shape[0], 5),
                        "test_top1": top1})
        print(f"  [{name}] epoch {epoch + 1}/{epochs} loss {total_loss / x_train.shape[0]:.4f} "
              f"test top-1 {top1:.4f}  ({time.perf_counter() - t0:.0f}s)", flush=True)
    train_seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0
    model.eval()
    return model, train_seconds, cpu_seconds, history


# ----------------------------------------------------------------------------------------------
# Export and validation
# ----------------------------------------------------------------------------------------------

def constants_to_initializers(model_proto):
    """Canonicalise the exported graph so that it only contains the ops the model really uses:
    - torch's exporter deduplicates initializers with identical values and rewires the
      duplicates through Identity nodes (e.g. a BN scale equal to a running_var);
    - Clip's min/max (opset >= 11 inputs) are emitted as Constant nodes.
    Both become plain initializers, which is how weights and constants reach any ONNX engine."""
    g = model_proto.graph
    inits = {t.name: t for t in g.initializer}
    keep = []
    for node in g.node:
        t = None
        if node.op_type == "Identity" and len(node.input) == 1 and node.input[0] in inits:
            t = onnx.TensorProto()
            t.CopyFrom(inits[node.input[0]])
        elif (node.op_type == "Constant" and len(node.attribute) == 1
              and node.attribute[0].name == "value"):
            t = onnx.TensorProto()
            t.CopyFrom(node.attribute[0].t)
        if t is not None:
            t.name = node.output[0]
            g.initializer.append(t)
            inits[t.name] = t
        else:
            keep.append(node)
    del g.node[:]
    g.node.extend(keep)
    return model_proto


def export_onnx(model, path):
    """Export with BatchNormalization kept as its own node.

    Note: TrainingMode.EVAL is NOT used on purpose: in torch 1.13 it runs the ONNX 'eval
    peephole' pass, which fuses Conv+BN regardless of do_constant_folding. PRESERVE on a model
    already in eval() mode exports inference-mode BatchNormalization (one output, running
    statistics) and drops Dropout, which is what we want: QBench folds BN itself."""
    model.eval()
    dummy = torch.zeros(2, 1, 28, 28)
    torch.onnx.export(
        model, dummy, path,
        opset_version=OPSET,
        input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        training=torch.onnx.TrainingMode.PRESERVE,
        do_constant_folding=False,
    )
    proto = constants_to_initializers(onnx.load(path))
    proto.producer_name = "qbench/tools/train_fashion_mnist.py"
    proto.doc_string = ("QBench Fashion-MNIST reference model. Input: (pixel/255-0.2860)/0.3530, "
                        "float32 [batch,1,28,28]. Output: logits [batch,10].")
    onnx.save(proto, path)
    onnx.checker.check_model(path, full_check=True)  # full_check also runs shape inference
    ops = {}
    for n in proto.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    if "BatchNormalization" not in ops and any(isinstance(m, nn.BatchNorm2d) for m in model.modules()):
        raise RuntimeError(f"{path}: BatchNormalization was folded during export")
    # Guard against exporter surprises (no-op Pad, Identity, Constant, ...): these reference
    # models are meant to use only this small op set.
    unexpected = set(ops) - ALLOWED_OPS
    if unexpected:
        raise RuntimeError(f"{path}: unexpected ONNX ops {sorted(unexpected)}")
    return dict(sorted(ops.items()))


def save_npy(path, arr):
    np.save(path, np.ascontiguousarray(arr))


def ort_check(onnx_path, model, x_test, y_test):
    """Cross-check the export with ONNX Runtime (bench/ort/ort_run.js, a different engine):
    outputs on one batch of 64 must match torch, and the full test set must give the same top-1.
    Skipped (returns None) when node or onnxruntime-node is not installed."""
    runner = os.path.join(REPO_ROOT, "bench", "ort", "ort_run.js")
    if not (os.path.exists(runner) and
            os.path.isdir(os.path.join(REPO_ROOT, "bench", "node_modules", "onnxruntime-node"))):
        print("  (ORT cross-check skipped: bench/node_modules/onnxruntime-node not installed)")
        return None
    node = "/usr/bin/node" if os.path.exists("/usr/bin/node") else "node"
    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "x.npy")
        save_npy(inp, x_test[:64].numpy())
        subprocess.run([node, runner, "--model", onnx_path, "--input", f"input={inp}",
                        "--out-dir", tmp, "--threads", "2"], check=True)
        ort64 = np.load(os.path.join(tmp, "logits.npy"))
        with torch.no_grad():
            ref64 = model(x_test[:64]).numpy()
        max_abs = float(np.max(np.abs(ort64 - ref64)))
        # Whole test set through the runner's batch mode.
        all_in = os.path.join(tmp, "all.npy")
        save_npy(all_in, x_test.numpy())
        subprocess.run([node, runner, "--model", onnx_path, "--input-batch", f"input={all_in}",
                        "--batch", "500", "--out-dir", tmp, "--threads", "2"], check=True)
        ort_all = np.load(os.path.join(tmp, "logits.npy"))
    ort_top1 = float((ort_all.argmax(1) == y_test.numpy()).mean())
    if max_abs > 1e-3:
        raise RuntimeError(f"{onnx_path}: ORT vs torch max |diff| {max_abs} on 64 test images")
    return {"runtime": "onnxruntime-node", "max_abs_diff_batch64": max_abs, "test_top1": ort_top1}


# ----------------------------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(RECIPES), help="comma-separated subset of " + ",".join(RECIPES))
    ap.add_argument("--out", default=os.path.join(REPO_ROOT, "models", "fashion_mnist"))
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--epochs-scale", type=float, default=1.0,
                    help="multiply every recipe's epoch count (for quick smoke runs)")
    ap.add_argument("--no-ort-check", action="store_true")
    args = ap.parse_args()

    names = [n for n in args.models.split(",") if n]
    for n in names:
        if n not in RECIPES:
            sys.exit(f"unknown model {n!r}; known: {', '.join(RECIPES)}")

    # Reproducibility: fixed thread count (results of parallel reductions depend on it),
    # deterministic kernels, seeds set per model in train_model().
    torch.set_num_threads(2)
    torch.use_deterministic_algorithms(True)

    t_start = time.perf_counter()
    load_start = os.getloadavg()[0]
    xtr, ytr, train_files = load_split("train")
    xte, yte, test_files = load_split("t10k")
    x_train, y_train = torch.from_numpy(xtr), torch.from_numpy(ytr)
    x_test, y_test = torch.from_numpy(xte), torch.from_numpy(yte)
    print(f"data: train {tuple(x_train.shape)}, test {tuple(x_test.shape)}", flush=True)

    os.makedirs(args.out, exist_ok=True)
    manifest_path = os.path.join(args.out, "models.json")
    # Keep entries of models not retrained in this run, so a partial rerun doesn't lose them.
    manifest = {}
    if os.path.exists(manifest_path):
        with open(manifest_path) as f:
            manifest = json.load(f)
    entries = manifest.get("models", {})

    preprocessing = {
        "formula": "x = (pixel / 255 - 0.2860) / 0.3530",
        "order": "float32: divide uint8 pixel by 255, subtract 0.2860, divide by 0.3530",
        "mean": MEAN, "std": STD, "layout": "NCHW", "dtype": "float32",
        "shape": ["batch", 1, 28, 28],
    }

    train_total = 0.0
    for name in names:
        recipe = RECIPES[name]
        epochs = max(1, round(recipe["epochs"] * args.epochs_scale))
        print(f"== {name}: {epochs} epochs", flush=True)
        model, secs, cpu_secs, history = train_model(name, recipe, x_train, y_train, x_test, y_test,
                                           args.seed, epochs)
        train_total += secs
        top1, top5 = evaluate(model, x_test, y_test)
        path = os.path.join(args.out, f"{name}.onnx")
        ops = export_onnx(model, path)
        check = None if args.no_ort_check else ort_check(path, model, x_test, y_test)
        n_params = sum(p.numel() for p in model.parameters())
        n_buffers = sum(b.numel() for n_, b in model.named_buffers() if not n_.endswith("num_batches_tracked"))
        if recipe["target"] is None:
            status = "no target"
        else:
            status = f"target {recipe['target']}: " + ("OK" if top1 >= recipe["target"] else "BELOW TARGET")
        print(f"  [{name}] top-1 {top1:.4f} top-5 {top5:.4f} ({status}), "
              f"{n_params} params, {os.path.getsize(path)} bytes, {secs:.1f}s"
              + (f", ORT max|diff| {check['max_abs_diff_batch64']:.2e} ORT top-1 {check['test_top1']:.4f}" if check else ""),
              flush=True)
        entries[name] = {
            "file": f"{name}.onnx",
            "sha256": sha256_file(path),
            "bytes": os.path.getsize(path),
            "parameters": n_params,
            "bn_running_stat_values": n_buffers,
            "architecture": recipe["description"],
            "onnx_ops": ops,
            "opset": OPSET,
            "inputs": [{"name": "input", "dtype": "float32", "shape": ["batch", 1, 28, 28]}],
            "outputs": [{"name": "logits", "dtype": "float32", "shape": ["batch", 10]}],
            "preprocessing": preprocessing,
            "test_top1": top1,
            "test_top5": top5,
            "test_images": int(x_test.shape[0]),
            "accuracy_measured_by": f"torch {torch.__version__}, eval mode, all 10,000 test images",
            "target_top1": recipe["target"],
            "ort_check": check,
            "training": {
                "seed": args.seed,
                "epochs": epochs,
                "batch_size": recipe["batch"],
                "optimizer": f"AdamW(max_lr={recipe['lr']}, weight_decay=1e-4), OneCycleLR(pct_start=0.2)",
                "augmentation": "none",
                "threads": 2,
                "seconds": round(secs, 1),
                "cpu_seconds": round(cpu_secs, 1),
                "history": history,
            },
        }

    manifest = {
        "dataset": {
            "name": "Fashion-MNIST",
            "source": f"Debian package dataset-fashion-mnist ({DATA_DIR})",
            "license": "MIT (Expat), Copyright 2017 Zalando SE",
            "train_images": int(x_train.shape[0]), "test_images": int(x_test.shape[0]),
            "files_sha256": {**train_files, **test_files},
            "classes": CLASSES,
        },
        "generator": "tools/train_fashion_mnist.py",
        "regenerate": "/usr/bin/python3 tools/train_fashion_mnist.py",
        "torch_version": torch.__version__,
        "onnx_version": onnx.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "last_run": {"models": names, "training_seconds": round(train_total, 1),
                     "wall_seconds": round(time.perf_counter() - t_start, 1),
                     "cpu_count": os.cpu_count(),
                     # Wall times are only comparable when the machine was otherwise idle.
                     "load_average_1min_start_end": [round(load_start, 2), round(os.getloadavg()[0], 2)]},
        # Sum over all models in the file, including ones kept from an earlier partial run.
        "training_seconds_all_models": round(sum(e["training"]["seconds"] for k, e in entries.items() if k in RECIPES), 1),
        "models": {k: entries[k] for k in RECIPES if k in entries},
    }
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"wrote {manifest_path}; training {train_total:.0f}s, "
          f"wall {time.perf_counter() - t_start:.0f}s", flush=True)


if __name__ == "__main__":
    main()
