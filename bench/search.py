#!/usr/bin/python3
"""The mixed-precision search, measured (issue 14): per model, objective and accuracy budget, one
`qbench-worker --local` search job (one thread). Each prints:

  chosen   the best candidate within budget on the validation split, measured again in full on the
           test split: top-1 delta to FP32 [95% paired interval], whether the budget holds on the test
           split within that interval (upper bound >= -max_drop), whether it lies on the measured front
  fallback the peers' baseline in the same run (all int8, the most sensitive layers back to FP32 until
           the budget holds), measured the same way; the chosen one's latency (full method, median)
           and bytes over the fallback's
  uniform  bytes of uniform W8A8 and W4A8 (size objective)
  cost     signal and candidate evaluations, minutes on one core, peak RSS of the whole job
  signals  Spearman rank correlation of EAGL's entropy and of isolated output noise with the measured
           isolated top-1 loss, per integer choice

Objectives: latency (choices fp32, bf16, w8a8, w4a8) and size (fp32, w8a8, w4a8+gptq, w2a8+gptq);
budgets 0.5 and 1.0 points; budget rules (search.budget_rule) "estimate" (the validation drop is within
max_drop) and "interval" (the upper end of its 95% paired interval is).

    /usr/bin/python3 bench/search.py [--worker build/worker/qbench-worker] [--only cnn_bn,...]
        [--objectives latency,size] [--budgets 0.5,1.0] [--rules estimate,interval] [--out /tmp/qbench-search]
"""
import argparse
import json
import os

import bench_jobs
from bench_jobs import ROOT, fmt_delta, run_job

CHOICES = {"latency": ["fp32", "bf16", "w8a8", "w4a8"], "size": ["fp32", "w8a8", "w4a8+gptq", "w2a8+gptq"]}


def spec_for(name, model, d, objective, budget, rule, out):
    fixed = name.startswith(("resnet20", "squeezenet"))  # ResNet-20's export has a fixed batch of 1
    batch = 1 if fixed else 64
    spec = {"name": f"search-{name}-{objective}-{budget}", "model": model, "eval_dataset": d["eval"],
            "batch_sizes": [batch], "threads": 1, "sensitivity": False, "sqnr_samples": 0,
            "latency": {"warmup_iters": 10, "min_iters": 100, "min_seconds": 1.0, "sessions": 3},
            "calibration": {"dataset": d["calib"], "samples": 300 if name.startswith("squeezenet") else 1000,
                            "seed": 0},
            "validation": d["validation"], "configs": ["fp32"],
            "search": {"max_drop": budget, "budget_rule": rule, "objective": objective, "batch_size": batch,
                       "choices": CHOICES[objective], "budget": {"evaluations": 48, "minutes": 30},
                       "base": {"preset": "w8a8", "weights": {"method": "mse"}}}}
    path = os.path.join(out, f"{name}_{objective}_{budget}_{rule}_spec.json")
    with open(path, "w") as f:
        json.dump(spec, f)
    return path


def config(res, name):
    return next((c for c in res["configs"] if c["name"] == name), None)


def report(res, rss, budget):
    s = res["search"]
    cands = {c["id"]: c for c in s["candidates"]}
    best, fb = config(res, s["best_config"]), config(res, s["fallback_config"])
    if not best:
        print("  chosen   none within budget on the validation split")
        return
    d = best["accuracy"]["top1_delta"]
    holds = d["ci95_points"][1] >= -budget
    within = -d["points"] <= budget + 1e-9
    bc = cands[s["best"]]
    print(f"  chosen   #{bc['id']} ({bc['strategy']}) test {fmt_delta(d)}; budget {'holds' if holds else 'FAILS'} "
          f"on test within the interval, test drop {'<=' if within else '>'} max_drop; "
          f"{'on' if bc['on_front'] else 'OFF'} the front; validation drop {bc['drop_points']:.2f} "
          f"[{-bc['ci_high']:.2f}, {-bc['ci_low']:.2f}]")
    lat = lambda c: c["latency"][0]["median_ms"] if c and c.get("latency") else float("nan")
    if fb:
        fd = fb["accuracy"]["top1_delta"]
        print(f"  fallback #{s['fallback']} test {fmt_delta(fd)}; chosen/fallback latency "
              f"{lat(best) / lat(fb):.3f}x ({lat(best):.3f} / {lat(fb):.3f} ms), bytes "
              f"{best['size']['bytes'] / fb['size']['bytes']:.3f}x ({best['size']['bytes']} / {fb['size']['bytes']})")
    uni = {s["choices"][c["assignment"][0]]: c for c in s["candidates"] if c["strategy"] == "uniform"}
    print("  uniform  " + ", ".join(f"{k} {v['bytes']} B drop {v['drop_points']:.2f}" for k, v in uni.items()))
    assign = [s["choices"][a] for a in bc["assignment"]]
    print(f"  layers   " + " ".join(assign))
    print(f"  cost     {s['signal_evaluations']} signal + {s['candidate_evaluations']} candidate evaluations, "
          f"{s['seconds'] / 60:.1f} min (signals {s['signal_seconds'] / 60:.1f}), peak RSS {rss:.0f} MiB")
    for st in s["strategies"]:
        c = cands.get(st["chosen"]) if st["chosen"] is not None else None
        print(f"  {st['strategy']:<12} {st['evaluations']:3d} evals, chose "
              + (f"#{c['id']} drop {c['drop_points']:.2f} objective {c['objective']:.3f}" if c else "none"))
    print("  signals  " + "; ".join(f"{c['choice']}: EAGL {c['eagl_spearman']:+.2f}, sensitivity "
                                     f"{c['sensitivity_spearman']:+.2f}" for c in s["correlations"]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", default=os.path.join(ROOT, "build", "worker", "qbench-worker"))
    ap.add_argument("--out", default="/tmp/qbench-search")
    ap.add_argument("--only", default="")
    ap.add_argument("--objectives", default="latency,size")
    ap.add_argument("--budgets", default="0.5,1.0")
    ap.add_argument("--rules", default="estimate")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    only = set(filter(None, a.only.split(",")))
    rows = bench_jobs.models(only, fashion_names=("cnn_bn", "resnet", "dwsep"),
                             fashion_validation={"samples": 2000, "seed": 0}, who="search",
                             imagenet=not only or "squeezenet1.1" in only)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for name, model, d in rows:
        for objective in a.objectives.split(","):
            for budget in map(float, a.budgets.split(",")):
                for rule in a.rules.split(","):
                    res, rss = run_job(a.worker, spec_for(name, model, d, objective, budget, rule, a.out),
                                       os.path.join(a.out, f"{name}_{objective}_{budget}_{rule}.json"), env)
                    print(f"\n{name}: objective {objective}, max drop {budget} points, budget rule {rule}")
                    report(res, rss, budget)


if __name__ == "__main__":
    main()
