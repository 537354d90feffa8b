#!/usr/bin/python3
"""Weight rounding, compared honestly (issue 13): nearest, gptq, adaround and the best recipe
QBench had before them, on the same calibration samples, per model.

Each model runs one `qbench-worker --local` job (one thread) whose configurations differ only in
how weights round; every one reads the same seeded calibration samples, and each result carries
its top-1 delta to FP32 on the same test samples with the 95% paired (Newcombe) interval and the
discordant counts. Rows:
  w8a8 nearest / gptq                 8-bit weights (7-bit on CPUs without VNNI, as the notes say)
  w4a8 nearest                        round-to-nearest with MSE weight ranges
  w4a8 recipe                         the best earlier recipe: MSE ranges, cross-layer
                                      equalization, bias correction
  w4a8 gptq / adaround                the new rounding, MSE ranges
  w4a8 gptq-q / adaround-q            sequential rounding from the quantized model's inputs
                                      ("inputs": "quantized")
  w2a8* nearest / gptq / adaround ... 2-bit weights on every layer but the first and the last (8-bit)
Then, for sequential GPTQ at W4A8 on each model, the rounding time and the peak resident memory of the whole
job with 512 and with 2048 calibration samples (GNU time's maximum RSS).

Models: our Fashion-MNIST nets (10,000 test images, calibration on 1000 training images); with
../shared, ResNet-20 on CIFAR-10 (only its test set is here: 2000 images are held out for
validation, calibration takes 1000 of them, the figures come from the other 8000).

    /usr/bin/python3 bench/rounding.py [--worker build/worker/qbench-worker] [--only resnet,...]
        [--out /tmp/qbench-rounding] [--no-memory]
"""
import argparse
import json
import os

import bench_jobs
from bench_jobs import ROOT, fmt_delta, run_job


def models(only):
    return bench_jobs.models(only, who="rounding")


def end_layers(model):
    """Names of the first and the last Conv/Gemm/MatMul of the ONNX model (kept at 8 bits for W2)."""
    import onnx
    names = [n.name for n in onnx.load(model).graph.node if n.op_type in ("Conv", "Gemm", "MatMul")]
    return names[0], names[-1]


def configs(model):
    first, last = end_layers(model)
    keep8 = [{"node": first, "weights": {"bits": 8}}, {"node": last, "weights": {"bits": 8}}]
    mse = {"method": "mse"}

    def q(method):  # sequential rounding from the quantized model's inputs
        return {**mse, "rounding": {"method": method, "inputs": "quantized"}}

    return [
        "fp32",
        {"name": "w8a8 nearest", "preset": "w8a8"},
        {"name": "w8a8 gptq", "preset": "w8a8", "weights": {"rounding": "gptq"}},
        {"name": "w8a8 gptq-q", "preset": "w8a8", "weights": {"rounding": {"method": "gptq", "inputs": "quantized"}}},
        {"name": "w4a8 nearest", "preset": "w4a8", "weights": mse},
        {"name": "w4a8 recipe", "preset": "w4a8", "weights": mse, "equalization": True, "bias_correction": True},
        {"name": "w4a8 gptq", "preset": "w4a8", "weights": {**mse, "rounding": "gptq"}},
        {"name": "w4a8 adaround", "preset": "w4a8", "weights": {**mse, "rounding": "adaround"}},
        {"name": "w4a8 gptq-q", "preset": "w4a8", "weights": q("gptq")},
        {"name": "w4a8 adaround-q", "preset": "w4a8", "weights": q("adaround")},
        {"name": "w2a8* nearest", "preset": "w2a8", "weights": mse, "overrides": keep8},
        {"name": "w2a8* gptq", "preset": "w2a8", "weights": {**mse, "rounding": "gptq"}, "overrides": keep8},
        {"name": "w2a8* adaround", "preset": "w2a8", "weights": {**mse, "rounding": "adaround"}, "overrides": keep8},
        {"name": "w2a8* gptq-q", "preset": "w2a8", "weights": q("gptq"), "overrides": keep8},
        {"name": "w2a8* adaround-q", "preset": "w2a8", "weights": q("adaround"), "overrides": keep8},
    ]


def spec_for(name, model, d, cfgs, samples, out):
    spec = {"name": f"rounding-{name}", "model": model, "eval_dataset": d["eval"], "batch_sizes": [64],
            "threads": 1, "latency": {"warmup_iters": 0, "warmup_seconds": 0, "min_iters": 1, "min_seconds": 0,
                                      "sessions": 1},
            "sqnr_samples": 0, "sensitivity": False, "profile_iters": 0, "configs": cfgs,
            "calibration": {"dataset": d["calib"], "samples": samples, "seed": 0}}
    if d["validation"]:
        spec["validation"] = d["validation"]
    path = os.path.join(out, f"{name}_{samples}_spec.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    return path


def rounding_seconds(c):
    return sum(l.get("rounding_seconds", 0) for l in c.get("layers", []))


def timing(c):
    """Seconds spent rounding (per-layer sum) and quantizing in all (Hessian passes included)."""
    if c["name"] == "fp32":
        return ""
    return f"{rounding_seconds(c):7.2f} s, quantize {c.get('quantize_seconds', 0):6.2f} s"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", default=os.path.join(ROOT, "build", "worker", "qbench-worker"))
    ap.add_argument("--out", default="/tmp/qbench-rounding")
    ap.add_argument("--only", default="")
    ap.add_argument("--no-memory", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    only = set(filter(None, a.only.split(",")))
    rows = models(only)  # sets QB_SHARED for the CIFAR-10 manifest
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for name, model, d in rows:
        res, _ = run_job(a.worker, spec_for(name, model, d, configs(model), 1000, a.out),
                         os.path.join(a.out, f"{name}.json"), env)
        print(f"\n{name}: top-1 on {res['configs'][0]['accuracy']['samples']} test samples; delta to FP32 in points "
              "[95% paired interval] fp32-right-config-wrong/reverse; rounding seconds and quantize seconds, Hessian "
              "passes included (1 thread)")
        for c in res["configs"]:
            if c.get("error"):
                print(f"  {c['name']:<16} error: {c['error']}")
                continue
            acc = c["accuracy"]
            val = c.get("validation", {}).get("top1_delta")
            print(f"  {c['name']:<16} {100 * acc['top1']:6.2f}%  {fmt_delta(acc.get('top1_delta')):<34}"
                  f"{timing(c)}"
                  f"{'  validation ' + fmt_delta(val) if val else ''}")
        if a.no_memory:
            continue
        gptq = [c for c in configs(model) if isinstance(c, dict) and c["name"] == "w4a8 gptq-q"]
        line = []
        for samples in (512, 2048):
            r, rss = run_job(a.worker, spec_for(f"{name}-mem", model, d, gptq, samples, a.out),
                             os.path.join(a.out, f"{name}-mem-{samples}.json"), env)
            c = next(x for x in r["configs"] if x["name"] == "w4a8 gptq-q")
            line.append((samples, rss, rounding_seconds(c), 100 * c["accuracy"]["top1"]))
        (s1, m1, q1, t1), (s2, m2, q2, t2) = line
        print(f"  memory, w4a8 gptq-q alone: peak RSS {m1:.0f} MiB with {s1} calibration samples, {m2:.0f} MiB with "
              f"{s2} ({m2 / m1:.2f}x); rounding {q1:.2f} s / {q2:.2f} s; top-1 {t1:.2f}% / {t2:.2f}%")


if __name__ == "__main__":
    main()
