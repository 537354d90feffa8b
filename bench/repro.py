#!/usr/bin/python3
"""Reproducibility check (issue 5): runs one job spec twice on this host with
`qbench-worker --local --json` and compares the runs.

Exact: every configuration's top-1/top-5, agreement, output SQNR, quantization parameters
(params_sha256) and calibration sample list (indices sha256) must be identical.
Latency: for each configuration and batch size, whether the two medians' 95% confidence
intervals overlap, and the relative difference of the medians. (The interval is the
within-run distribution-free CI of the median; drift between runs -- frequency, cache and
neighbour load -- is not in it, so non-overlap on a shared host says how much of it there is.)

Usage: /usr/bin/python3 bench/repro.py [SPEC] [--build build] [--runs 2]
Exit status 1 when an exact figure differs.
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(worker, spec):
    out = subprocess.run([worker, "--local", spec, "--json"], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def exact(c):
    a = c.get("accuracy", {})
    return {"top1": a.get("top1"), "top5": a.get("top5"), "agreement": a.get("fp32_top1_agreement"),
            "sqnr": a.get("output_sqnr_db"), "params": c.get("params_sha256"),
            "calibration": c.get("calibration", {}).get("indices_sha256")}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("spec", nargs="?", default=os.path.join(ROOT, "models", "fashion_mnist", "demo_job.json"))
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--runs", type=int, default=2)
    a = ap.parse_args()
    worker = os.path.join(a.build, "worker", "qbench-worker")
    runs = [run(worker, a.spec) for _ in range(a.runs)]
    bad = 0
    print(f"{a.runs} runs of {a.spec}")
    print("| config | exact figures | batch | median ms (run 1 .. n) | CIs overlap | max rel. diff |")
    print("|---|---|---|---|---|---|")
    for i, c0 in enumerate(runs[0]["configs"]):
        same = all(exact(r["configs"][i]) == exact(c0) for r in runs[1:])
        bad += not same
        for j, l0 in enumerate(c0.get("latency", [])):
            ls = [r["configs"][i]["latency"][j] for r in runs]
            meds = [l["median_ms"] for l in ls]
            lo = max(l["median_ci95_ms"][0] for l in ls)
            hi = min(l["median_ci95_ms"][1] for l in ls)
            rel = (max(meds) - min(meds)) / min(meds)
            print(f"| {c0['name']} | {'identical' if same else 'DIFFER'} | {l0['batch_size']} | "
                  f"{' .. '.join(f'{m:.4f}' for m in meds)} | {'yes' if lo <= hi else 'no'} | {100 * rel:.1f}% |")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
