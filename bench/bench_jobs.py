"""What the accuracy benchmarks share: where ../shared is, the models they run with their
data, running one `qbench-worker --local` job with its peak memory, and printing a paired delta."""
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FM = os.path.join(ROOT, "models", "fashion_mnist")


def shared_dir():
    d = os.environ.get("QB_SHARED") or os.path.join(os.path.dirname(ROOT), "shared")
    return d if os.path.isdir(os.path.join(d, "models")) else None


def models(only, fashion_names=("cnn_bn", "resnet", "dwsep", "mlp"), fashion_validation=None, who="bench",
           imagenet=False):
    """(name, model path, data) rows: our Fashion-MNIST nets, and with ../shared ResNet-20 on CIFAR-10
    (its test set only: 2000 images held out for validation, calibration on 1000 of them); with
    `imagenet`, SqueezeNet 1.1 (torchvision's squeezenet1_1 architecture, Caffe2 weights) on the
    1000-image ImageNet sample, half of it held out for validation."""
    fashion = {"eval": os.path.join(FM, "dataset.json"), "calib": os.path.join(FM, "train_dataset.json"),
               "validation": fashion_validation}
    rows = [(n, os.path.join(FM, f"{n}.onnx"), fashion) for n in fashion_names]
    s = shared_dir()
    if s:
        os.environ["QB_SHARED"] = s
        cifar = os.path.join(ROOT, "bench", "datasets", "cifar10-jpeg.json")
        rows.append(("resnet20-cifar10", os.path.join(s, "models", "resnet20_cifar10_pre.onnx"),
                     {"eval": cifar, "calib": cifar, "validation": {"samples": 2000, "seed": 0}}))
        if imagenet:
            inet = os.path.join(ROOT, "bench", "datasets", "imagenet-sample.json")
            rows.append(("squeezenet1.1", os.path.join(s, "models", "squeezenet1.1-caffe2-fp32-upcast-from-fp16.onnx"),
                         {"eval": inet, "calib": inet, "validation": {"samples": 500, "seed": 0}}))
    else:
        print(f"{who}: ../shared not found: the ResNet-20 row is skipped", file=sys.stderr)
    return [r for r in rows if not only or r[0] in only]


def run_job(worker, spec, result, env):
    """Runs one job; returns its result JSON and the peak resident memory in MiB (GNU time)."""
    cmd = ["/usr/bin/time", "-v", worker, "--local", spec, "--out", result]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{p.stderr[-3000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    with open(result) as f:
        return json.load(f), int(rss.group(1)) / 1024 if rss else float("nan")


def fmt_delta(d):
    if not d:
        return ""
    lo, hi = d["ci95_points"]
    return f"{d['points']:+6.2f} [{lo:+.2f}, {hi:+.2f}] {d['fp32_right_config_wrong']}/{d['fp32_wrong_config_right']}"
