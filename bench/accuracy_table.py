#!/usr/bin/python3
"""Accuracy with its uncertainty, and what the strict top-k rule changed (issue 12).

For each model, one `qbench-worker --local` job (fp32, W8A8, W8A8-minmax, W4A8, W4A8-mse,
QDQ export on) gives QBench's figures: strict top-1, tied top-1 count, the paired delta to
FP32 with its 95% Newcombe interval, the discordant counts and the exact McNemar p. Then,
independently of the engine's scoring, every configuration's model (FP32 ONNX, or its QDQ
export) is run with `qbench-run` on the test inputs dumped once as .npy, and its logits are
scored in NumPy twice: with the strict rule (bench/topk.py) and with the rule QBench used
before 2026-12 ("no class scores strictly higher than the label", a tie a hit for every tied
class), which is the "before" column. The export run is a second execution of the same
integer model (re-imported and planned at batch 500), so its strict count may differ from the
engine's by a sample or two where float rounding differs; the script prints every
difference and fails beyond 0.1% of the samples (tests/accuracy_test.cc checks the engine's
scoring exactly, on the very session it measured).

Models: our four Fashion-MNIST nets (all 10,000 test images, calibration on 1000 training
images); with ../shared, ResNet-20 on CIFAR-10 and the same ResNet-20 with a Flatten + Softmax
head appended (how many exported classifiers end). CIFAR-10 has only its test set here, so
those jobs hold out 2000 test images as validation samples and calibrate on 1000 of them (the
same seeded shuffle: calibration is a subset of validation); their test figures are the other
8000 images, which calibration never saw.

    /usr/bin/python3 bench/accuracy_table.py [--worker build/worker/qbench-worker]
        [--run build/bench/qbench-run] [--out /tmp/qbench-accuracy] [--only cnn_bn,...]

Exit status 1 when an export run's strict count differs from the engine's by more than 0.1%.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

import topk  # bench/topk.py: the strict top-k rule

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FM = os.path.join(ROOT, "models", "fashion_mnist")
CONFIGS = ["fp32", "w8a8", {"name": "w8a8-minmax", "activations": {"method": "minmax"}}, "w4a8",
           {"name": "w4a8-mse", "preset": "w4a8", "weights": {"method": "mse"}, "activations": {"method": "mse"}}]


def shared_dir():
    d = os.environ.get("QB_SHARED") or os.path.join(os.path.dirname(ROOT), "shared")
    return d if os.path.isdir(os.path.join(d, "models")) else None


def softmax_head(src, dst):
    """src with Flatten(axis=1) and Softmax(axis=-1) appended to its first output."""
    import onnx
    from onnx import helper
    m = onnx.load(src)
    out = m.graph.output[0]
    m.graph.node.extend([helper.make_node("Flatten", [out.name], ["qb_flat"], axis=1, name="qb_head_flatten"),
                         helper.make_node("Softmax", ["qb_flat"], ["qb_probabilities"], axis=-1, name="qb_head_softmax")])
    new_out = helper.make_tensor_value_info("qb_probabilities", onnx.TensorProto.FLOAT, None)
    del m.graph.output[:]
    m.graph.output.extend([new_out])
    onnx.save(m, dst)


def models(only, out):
    fashion = {"eval": os.path.join(FM, "dataset.json"), "calib": os.path.join(FM, "train_dataset.json"),
               "validation": None}
    rows = [(n, os.path.join(FM, f"{n}.onnx"), fashion) for n in ("cnn_bn", "resnet", "mlp", "dwsep")]
    s = shared_dir()
    if s:
        os.environ["QB_SHARED"] = s
        cifar = os.path.join(ROOT, "bench", "datasets", "cifar10-jpeg.json")
        c = {"eval": cifar, "calib": cifar, "validation": {"samples": 2000, "seed": 0}}
        r20 = os.path.join(s, "models", "resnet20_cifar10_pre.onnx")
        head = os.path.join(out, "resnet20_softmax_head.onnx")
        softmax_head(r20, head)
        rows += [("resnet20-cifar10", r20, c), ("resnet20-softmax-head", head, c)]
    else:
        print("accuracy_table: ../shared not found: ResNet-20 rows skipped", file=sys.stderr)
    return [r for r in rows if not only or r[0] in only]


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr[-2000:]}")
    return p.stdout


def engine_job(a, name, model, d):
    spec = {"name": f"accuracy-{name}", "model": model, "eval_dataset": d["eval"], "batch_sizes": [64],
            "threads": 1, "latency": {"warmup_iters": 0, "warmup_seconds": 0, "min_iters": 1, "min_seconds": 0,
                                      "sessions": 1},
            "sqnr_samples": 0, "sensitivity": False, "profile_iters": 0, "configs": CONFIGS,
            "calibration": {"dataset": d["calib"], "samples": 1000, "seed": 0},
            "export_dir": os.path.join(a.out, name)}
    if d["validation"]:
        spec["validation"] = d["validation"]
    path = os.path.join(a.out, f"{name}_spec.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    return json.loads(run([a.worker, "--local", path, "--json"]))


def dumped(a, manifest, n):
    key = os.path.basename(manifest).replace(".json", "")
    x, y = os.path.join(a.out, f"{key}_x.npy"), os.path.join(a.out, f"{key}_y.npy")
    if not os.path.exists(y):
        run([a.run, "--dump-batch", manifest, "--count", str(n), "--out", x, "--labels-out", y])
    return x, np.load(y)


def logits(a, model, x, tag):
    od = os.path.join(a.out, f"logits_{tag}")
    os.makedirs(od, exist_ok=True)
    run([a.run, "--model", model, "--input", x, "--batch", "500", "--out-dir", od])
    outs = sorted(f for f in os.listdir(od) if f.endswith(".npy"))
    return np.load(os.path.join(od, outs[0]))


def old_rule_hits(s, labels):
    own = s[np.arange(s.shape[0]), labels][:, None]
    return int(((s > own).sum(axis=1) == 0).sum())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", default=os.path.join(ROOT, "build", "worker", "qbench-worker"))
    ap.add_argument("--run", default=os.path.join(ROOT, "build", "bench", "qbench-run"))
    ap.add_argument("--out", default="/tmp/qbench-accuracy")
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    only = set(filter(None, a.only.split(",")))
    print("| model | config | test samples | top-1 % (strict) | before (old rule) | ties | delta pts [95% CI] | "
          "fp32 right, config wrong | fp32 wrong, config right | McNemar p |")
    print("|---|---|---:|---:|---:|---:|---|---:|---:|---:|")
    mismatches, too_far = [], False
    for name, model, d in models(only, a.out):
        res = engine_job(a, name, model, d)
        ev = res["evaluation"]
        n_all = ev["test_samples"] + (ev["validation_samples"] if ev["mode"] == "holdout" else 0)
        x, labels = dumped(a, d["eval"], n_all)
        test = np.array(sorted(set(range(n_all)) - set(ev.get("validation_indices", []))), dtype=np.int64)
        for c in res["configs"]:
            if c.get("error"):
                print(f"| {name} | {c['name']} | error: {c['error']} |")
                continue
            acc = c["accuracy"]
            path = model if c["name"] == "fp32" else c.get("exported_onnx")
            if not path:
                continue
            s = logits(a, path, x, f"{name}_{c['name']}").reshape(n_all, -1)[test]
            y = labels[test]
            strict, ties, old = topk.topk_hits(s, y, 1), topk.tied_top1(s), old_rule_hits(s, y)
            if (strict, ties) != (acc["top1_hits"], acc["tied_top1"]):
                too_far |= abs(strict - acc["top1_hits"]) > 0.001 * len(y)
                mismatches.append(f"{name} {c['name']}: engine {acc['top1_hits']} hits / {acc['tied_top1']} ties, "
                                  f"independent {strict} / {ties}")
            n = acc["samples"]
            dl = acc.get("top1_delta")
            delta = (f"{dl['points']:+.2f} [{dl['ci95_points'][0]:+.2f}, {dl['ci95_points'][1]:+.2f}]"
                     f"{'' if dl['significant'] else ' ~'}") if dl else "baseline"
            print(f"| {name} | {c['name']} | {n} | {100 * acc['top1']:.2f} | {100 * old / n:.2f} | {acc['tied_top1']} | "
                  f"{delta} | {dl['fp32_right_config_wrong'] if dl else ''} | "
                  f"{dl['fp32_wrong_config_right'] if dl else ''} | {'%.3g' % dl['p_value'] if dl else ''} |")
    print("\n~: the 95% interval includes 0. 'before': the same logits scored with the pre-2026-12 rule.")
    if mismatches:
        print("export runs whose strict counts differ from the engine's:\n  " + "\n  ".join(mismatches))
    return 1 if too_far else 0


if __name__ == "__main__":
    sys.exit(main())
