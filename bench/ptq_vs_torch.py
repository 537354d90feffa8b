#!/usr/bin/python3
"""QBench PTQ against PyTorch 1.13's own PTQ on our Fashion-MNIST models, side by side.

Both calibrate on the same training images (the first N of the SplitMix64 Fisher-Yates
shuffle, seed S; the indices' sha256 is checked to be equal) and evaluate all 10,000 test
images. PyTorch: FX graph mode, 'onednn' engine, default qconfig (bench/torch/torch_ptq.py).
QBench: every W8A8 activation method, per-channel symmetric weights, plus W4A8.

    /usr/bin/python3 bench/ptq_vs_torch.py [--samples 1000] [--seed 0] [--worker build/worker/qbench-worker]

Exit status 1 when QBench's best W8A8 is less accurate than PyTorch's on some model.
"""
import argparse, json, os, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODELS = ["cnn_bn", "resnet", "mlp", "dwsep"]
METHODS = ["percentile", "minmax", "mse", "entropy"]


def run_qbench(worker, model, samples, seed, tmp):
    configs = [{"name": f"w8a8-{m}", "preset": "w8a8", "activations": {"method": m}} for m in METHODS]
    configs += [{"name": f"w8a8-{m}-bc", "preset": "w8a8", "activations": {"method": m}, "bias_correction": True}
                for m in METHODS]
    configs += [{"name": f"w4a8-{m}{bc}", "preset": "w4a8", "weights": {"method": "mse"}, "activations": {"method": m},
                 "bias_correction": bc == "-bc"} for m in ("minmax", "mse") for bc in ("", "-bc")]
    spec = {"name": model, "model": f"{ROOT}/models/fashion_mnist/{model}.onnx",
            "eval_dataset": f"{ROOT}/models/fashion_mnist/dataset.json", "batch_sizes": [64], "threads": 1,
            "latency": {"min_iters": 5, "min_seconds": 0, "warmup_iters": 1, "warmup_seconds": 0},
            "sqnr_samples": 0, "configs": ["fp32"] + configs,
            "calibration": {"dataset": f"{ROOT}/models/fashion_mnist/train_dataset.json", "samples": samples,
                            "seed": seed}}
    path = os.path.join(tmp, f"{model}.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    out = subprocess.run([worker, "--local", path, "--json"], check=True, capture_output=True, text=True).stdout
    return {c["name"]: c for c in json.loads(out)["configs"]}


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
        print(f"calibration: {args.samples} train images, seed {args.seed}; eval: 10,000 test images")
        cols = METHODS + [m + "-bc" for m in METHODS]
        print(f"{'model':8} {'fp32':>7} {'torch':>7} " + " ".join(f"{m:>13}" for m in cols) +
              f" {'best W8A8':>10} {'best W4A8':>24}")
        worse = []
        for m in MODELS:
            ours = run_qbench(args.worker, m, args.samples, args.seed, tmp)
            t = torch_res["models"][m]
            sha = ours[f"w8a8-{METHODS[0]}"]["calibration"]["indices_sha256"]
            if sha != t["calib_indices_sha256"]:
                sys.exit(f"{m}: calibration sets differ ({sha} vs {t['calib_indices_sha256']})")
            fp32 = ours["fp32"]["accuracy"]["top1"]
            w8 = {k: ours[f"w8a8-{k}"]["accuracy"]["top1"] for k in cols}
            best = max(w8.values())
            w4 = {k: v["accuracy"]["top1"] for k, v in ours.items() if k.startswith("w4a8")}
            w4_name = max(w4, key=w4.get)
            print(f"{m:8} {100 * fp32:6.2f}% {100 * t['int8_top1']:6.2f}% " +
                  " ".join(f"{100 * w8[k]:12.2f}%" for k in cols) +
                  f" {100 * best:9.2f}% {100 * w4[w4_name]:7.2f}% ({w4_name})")
            if best < t["int8_top1"]:
                worse.append(m)
        if worse:
            print("QBench's best W8A8 is below PyTorch's on: " + ", ".join(worse))
            return 1
        return 0


if __name__ == "__main__":
    sys.exit(main())
