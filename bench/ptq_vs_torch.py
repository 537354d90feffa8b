#!/usr/bin/python3
"""QBench PTQ against PyTorch 1.13's own PTQ on our Fashion-MNIST models, side by side.

Both calibrate on the same training images (the first N of the SplitMix64 Fisher-Yates
shuffle, seed S; the indices' sha256 is checked to be equal) and evaluate all 10,000 test
images, both scored with the strict top-k rule (bench/topk.py). PyTorch: FX graph mode,
'onednn' engine, default qconfig (bench/torch/torch_ptq.py). QBench: every W8A8 activation
method, per-channel symmetric weights, plus W4A8.

QBench's "best" configuration is chosen on validation samples: 2000 of the 10,000 test images
(the job spec's "validation": a seeded holdout), never on the test figures it then reports,
which come from the other 8000. PyTorch is scored on the same 8000 (from its per-image
outcomes). Each QBench delta carries its 95% paired interval.

    /usr/bin/python3 bench/ptq_vs_torch.py [--samples 1000] [--seed 0] [--worker build/worker/qbench-worker]

Exit status 1 when QBench's validation-chosen W8A8 is less accurate on the test set than
PyTorch's on some model.
"""
import argparse, json, os, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ["cnn_bn", "resnet", "mlp", "dwsep"]
METHODS = ["percentile", "minmax", "mse", "entropy"]
VALIDATION = 2000  # test images held out for choosing "best"; the other 8000 are the test figures


def delta_cell(c):
    """'-0.11 [-0.25, +0.02]~' in points: the paired delta to FP32 with its 95% interval."""
    d = c["accuracy"].get("top1_delta")
    if not d:
        return ""
    lo, hi = d["ci95_points"]
    return f"{d['points']:+.2f} [{lo:+.2f}, {hi:+.2f}]{'' if d['significant'] else '~'}"


def best_by_validation(configs, names):
    """The name with the highest validation top-1 (ties: the first listed)."""
    return max(names, key=lambda k: (configs[k]["validation"]["top1"], -names.index(k)))


def run_qbench(worker, model, samples, seed, tmp):
    configs = [{"name": f"w8a8-{m}", "preset": "w8a8", "activations": {"method": m}} for m in METHODS]
    configs += [{"name": f"w8a8-{m}-bc", "preset": "w8a8", "activations": {"method": m}, "bias_correction": True}
                for m in METHODS]
    configs += [{"name": f"w4a8-{m}{bc}", "preset": "w4a8", "weights": {"method": "mse"}, "activations": {"method": m},
                 "bias_correction": bc == "-bc"} for m in ("minmax", "mse") for bc in ("", "-bc")]
    spec = {"name": model, "model": f"{ROOT}/models/fashion_mnist/{model}.onnx",
            "eval_dataset": f"{ROOT}/models/fashion_mnist/dataset.json", "batch_sizes": [64], "threads": 1,
            "latency": {"min_iters": 5, "min_seconds": 0, "warmup_iters": 1, "warmup_seconds": 0},
            "sqnr_samples": 0, "sensitivity": False, "profile_iters": 0, "configs": ["fp32"] + configs,
            "calibration": {"dataset": f"{ROOT}/models/fashion_mnist/train_dataset.json", "samples": samples,
                            "seed": seed},
            "validation": {"samples": VALIDATION, "seed": seed + 1}}
    path = os.path.join(tmp, f"{model}.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    out = subprocess.run([worker, "--local", path, "--json"], check=True, capture_output=True, text=True).stdout
    res = json.loads(out)
    return {c["name"]: c for c in res["configs"]}, res["evaluation"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--worker", default=f"{ROOT}/build/worker/qbench-worker")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        torch_json = os.path.join(tmp, "torch.json")
        subprocess.run(["/usr/bin/python3", f"{ROOT}/bench/torch/torch_ptq.py", "--models", ",".join(MODELS),
                        "--calib-samples", str(args.samples), "--seed", str(args.seed), "--json", torch_json,
                        "--no-ort-check"], check=True, capture_output=True)
        with open(torch_json) as f:
            torch_res = json.load(f)
        print(f"calibration: {args.samples} train images, seed {args.seed}; validation (for 'best'): {VALIDATION} "
              f"test images (seed {args.seed + 1}); test: the other {10000 - VALIDATION}; top-1 %, strict rule "
              f"(bench/topk.py); torch scored on the same test images")
        cols = METHODS + [m + "-bc" for m in METHODS]
        print(f"{'model':8} {'fp32':>6} {'torch':>6} {'ties':>5} " + " ".join(f"{m:>13}" for m in cols) +
              f" | {'best W8A8 (on validation): test top-1, delta [95% CI], ties':>62}"
              f" | {'best W4A8 (on validation)':>50}")
        worse = []
        for m in MODELS:
            ours, evaluation = run_qbench(args.worker, m, args.samples, args.seed, tmp)
            t = torch_res["models"][m]
            held = set(evaluation["validation_indices"])
            test_idx = [i for i in range(len(t["int8_correct"])) if i not in held]
            torch_int8 = sum(t["int8_correct"][i] == "1" for i in test_idx) / len(test_idx)
            torch_ties = t["int8_tied_top1"]
            sha = ours[f"w8a8-{METHODS[0]}"]["calibration"]["indices_sha256"]
            if sha != t["calib_indices_sha256"]:
                sys.exit(f"{m}: calibration sets differ ({sha} vs {t['calib_indices_sha256']})")
            fp32 = ours["fp32"]["accuracy"]
            w8 = {k: ours[f"w8a8-{k}"] for k in cols}
            w8_names = [f"w8a8-{k}" for k in cols]
            w4_names = [k for k in ours if k.startswith("w4a8")]
            b8 = best_by_validation(ours, w8_names)
            b4 = best_by_validation(ours, w4_names)

            def best(name):
                a = ours[name]["accuracy"]
                return (f"{100 * a['top1']:.2f} {delta_cell(ours[name]):>24} ties {a['tied_top1']} "
                        f"({name}; val {100 * ours[name]['validation']['top1']:.2f})")

            print(f"{m:8} {100 * fp32['top1']:6.2f} {100 * torch_int8:6.2f} {torch_ties:5d} " +
                  " ".join(f"{100 * w8[k]['accuracy']['top1']:13.2f}" for k in cols) +
                  f" | {best(b8):>62} | {best(b4):>50}")
            if ours[b8]["accuracy"]["top1"] < torch_int8:
                worse.append(m)
        if worse:
            print("QBench's best W8A8 is below PyTorch's on: " + ", ".join(worse))
            return 1
        return 0


if __name__ == "__main__":
    sys.exit(main())
