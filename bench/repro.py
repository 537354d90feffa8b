#!/usr/bin/python3
"""Reproducibility check (issue 5): runs one job spec twice on this host with
`qbench-worker --local --json` and compares the runs.

Exact: every configuration's top-1/top-5, agreement, output SQNR, quantization parameters
(params_sha256) and calibration sample list (indices sha256) must be identical.
Latency: for each configuration and batch size, whether the runs' median confidence
intervals share a point, and the relative difference of the medians. The interval is the
widest of the iid, run-order block-median and session-median intervals (see
engine/measure/latency.h); what still differs between processes on a shared host
shows up as intervals that do not meet.

Usage: /usr/bin/python3 bench/repro.py [SPEC] [--build build] [--runs 2] [--pin] [--sessions K]
  --pin         runs the spec with "pin_threads": true
  --sessions K  overrides latency.sessions
Exit status 1 when an exact figure differs.
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(worker, spec, overrides):
    """Runs the spec, with `overrides` merged in through a temporary copy beside it (so its
    relative paths still resolve)."""
    path = spec
    if overrides:
        with open(spec) as f:
            s = json.load(f)
        for k, v in overrides.items():
            if isinstance(v, dict):
                s.setdefault(k, {}).update(v)
            else:
                s[k] = v
        path = os.path.join(os.path.dirname(os.path.abspath(spec)), f".repro-{os.getpid()}.json")
        with open(path, "w") as f:
            json.dump(s, f)
    try:
        out = subprocess.run([worker, "--local", path, "--json"], check=True, capture_output=True, text=True).stdout
    finally:
        if path != spec:
            os.remove(path)
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
    ap.add_argument("--pin", action="store_true")
    ap.add_argument("--sessions", type=int, default=0)
    a = ap.parse_args()
    worker = os.path.join(a.build, "worker", "qbench-worker")
    overrides = {}
    if a.pin:
        overrides["pin_threads"] = True
    if a.sessions:
        overrides["latency"] = {"sessions": a.sessions}
    runs = [run(worker, a.spec, overrides) for _ in range(a.runs)]
    bad = 0
    overlap = total = pairs = pairs_meet = 0
    print(f"{a.runs} runs of {a.spec}" + (f" with {json.dumps(overrides)}" if overrides else ""))
    print(f"CI method: {runs[0]['configs'][0]['latency'][0].get('median_ci_method', '?')}")
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
            total += 1
            overlap += lo <= hi
            for x in range(len(ls)):
                for y in range(x + 1, len(ls)):
                    pairs += 1
                    pairs_meet += max(ls[x]["median_ci95_ms"][0], ls[y]["median_ci95_ms"][0]) <= \
                        min(ls[x]["median_ci95_ms"][1], ls[y]["median_ci95_ms"][1])
            print(f"| {c0['name']} | {'identical' if same else 'DIFFER'} | {l0['batch_size']} | "
                  f"{' .. '.join(f'{m:.4f}' for m in meds)} | {'yes' if lo <= hi else 'no'} | {100 * rel:.1f}% |")
    print(f"{overlap} of {total} intervals meet across all runs; {pairs_meet} of {pairs} run pairs meet")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
