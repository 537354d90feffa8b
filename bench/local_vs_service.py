#!/usr/bin/env python3
"""The same job through `qbench-worker --local` and through the whole service, compared.

For each model (the four Fashion-MNIST ones, and ResNet-20 on CIFAR-10 when ../shared is
there) one spec with fp32, w8a8 and w4a8 is run locally and submitted to a running
service (`tools/lab.sh --no-job --keep`); for w8a8 and w4a8 the strict top-1, the paired
delta to FP32, both ends of its 95% interval, both discordant counts, the McNemar p-value
and the tie count must be identical. Prints one line per (model, configuration); exits 1
on any difference.

    tools/lab.sh --no-job --keep &        # in another terminal, or in the background
    /usr/bin/python3 bench/local_vs_service.py [--server 127.0.0.1:50051]
        [--token-file .lab/demo.token] [--only cnn_bn,resnet20]
"""
import argparse
import json
import math
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FM = os.path.join(ROOT, "models", "fashion_mnist")


def shared_dir():
    d = os.environ.get("QB_SHARED") or os.path.join(os.path.dirname(ROOT), "shared")
    return d if os.path.isdir(os.path.join(d, "models")) else None


def specs():
    """(name, spec) for every model: all test images, a short latency loop."""
    base = {"samples": 0, "batch_sizes": [1], "threads": 1, "sqnr_samples": 0, "sensitivity": False,
            "profile_iters": 0, "latency": {"warmup_iters": 5, "min_iters": 20, "min_seconds": 0.05, "sessions": 1},
            "configs": ["fp32", "w8a8", "w4a8"]}
    out = []
    for m in ("cnn_bn", "resnet", "mlp", "dwsep"):
        out.append((m, dict(base, name=f"lvs-{m}", model=os.path.join(FM, f"{m}.onnx"),
                            eval_dataset=os.path.join(FM, "dataset.json"), eval_batch_size=64,
                            calibration={"dataset": os.path.join(FM, "train_dataset.json"), "samples": 1000,
                                         "seed": 0})))
    s = shared_dir()
    if s:
        os.environ["QB_SHARED"] = s
        cifar = os.path.join(ROOT, "bench", "datasets", "cifar10-jpeg.json")
        out.append(("resnet20", dict(base, name="lvs-resnet20",
                                     model=os.path.join(s, "models", "resnet20_cifar10_pre.onnx"),
                                     eval_dataset=cifar, eval_batch_size=1,
                                     calibration={"dataset": cifar, "samples": 1000, "seed": 0},
                                     validation={"samples": 2000, "seed": 0})))
    else:
        print("local_vs_service: ../shared not found: ResNet-20 skipped", file=sys.stderr)
    return out


def figures_local(acc):
    d = acc["top1_delta"]
    return (round(acc["top1"] * 100, 6), round(d["points"], 6), round(d["ci95_points"][0], 6),
            round(d["ci95_points"][1], 6), d["fp32_right_config_wrong"], d["fp32_wrong_config_right"],
            d["p_value"], acc["tied_top1"])


def figures_service(row):
    return (round(row["top1_pct"], 6), round(row["delta_top1_pts"], 6), round(row["delta_top1_ci_low_pts"], 6),
            round(row["delta_top1_ci_high_pts"], 6), row["fp32_right_config_wrong"], row["fp32_wrong_config_right"],
            row["delta_top1_p_value"], row["tied_top1"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--server", default="127.0.0.1:50051")
    ap.add_argument("--token-file", default=os.path.join(ROOT, ".lab", "demo.token"))
    ap.add_argument("--only", default="", help="comma-separated model names")
    a = ap.parse_args()
    qb = [os.path.join(ROOT, "build", "client", "qbench"), "--server", a.server, "--insecure", "--token-file",
          a.token_file]
    worker = os.path.join(ROOT, "build", "worker", "qbench-worker")
    runs = specs()  # sets QB_SHARED for the CIFAR manifest when ../shared is there
    env = dict(os.environ, OMP_NUM_THREADS="1")
    only = set(filter(None, a.only.split(",")))
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for name, spec in runs:
            if only and name not in only:
                continue
            path = os.path.join(tmp, f"{name}.json")
            with open(path, "w") as f:
                json.dump(spec, f)
            local_json = os.path.join(tmp, f"{name}.local.json")
            subprocess.run([worker, "--local", path, "--json", "--out", local_json], env=env, check=True,
                           stdout=subprocess.DEVNULL)
            sub = subprocess.run(qb + ["submit", path, "--wait"], env=env, capture_output=True, text=True)
            if sub.returncode != 0:
                sys.exit(f"local_vs_service: submit of {name} failed:\n{sub.stderr[-2000:]}")
            listing = subprocess.run(qb + ["list"], env=env, capture_output=True, text=True, check=True).stdout
            job = next(l.split()[0] for l in listing.splitlines()[1:] if spec["name"] in l.split())
            rows = json.loads(subprocess.run(qb + ["compare", job, "--format", "json"], env=env, capture_output=True,
                                             text=True, check=True).stdout)
            with open(local_json) as f:
                local = {c["config"]["name"]: c["accuracy"] for c in json.load(f)["configs"]}
            for cfg in ("w8a8", "w4a8"):
                mine = figures_local(local[cfg])
                theirs = figures_service(next(r for r in rows if r["config"] == cfg))
                # The p-value through JSON, the store and the CLI: equal to 12 significant digits.
                same = (mine[:6] + mine[7:] == theirs[:6] + theirs[7:]
                        and math.isclose(mine[6], theirs[6], rel_tol=1e-12, abs_tol=1e-300))
                ok &= same
                print(f"{name:9s} {cfg}: top-1 {mine[0]:.2f}%  delta {mine[1]:+.2f} [{mine[2]:+.2f}, {mine[3]:+.2f}]  "
                      f"discordant {mine[4]}/{mine[5]}  p {mine[6]:.3g}  ties {mine[7]}  "
                      f"local == service ({job}): {'yes' if same else 'NO'}")
                if not same:
                    print(f"    local   {mine}\n    service {theirs}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
