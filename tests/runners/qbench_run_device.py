#!/usr/bin/env python3
"""A command-protocol device runner (docs/devices.md) around the project's qbench-run.

The tests attach it as a "command" device: the worker's side of the protocol then runs
against a real program that computes real outputs (QBench's own engine, in a separate
process, on the FP32 model or the QDQ export) and times real runs. $QBENCH_RUN names the
qbench-run binary (default: qbench-run on PATH).

Usage: qbench_run_device.py --describe | qbench_run_device.py W/request.json
"""
import json
import os
import subprocess
import sys
import tempfile

QBENCH_RUN = os.environ.get("QBENCH_RUN", "qbench-run")


def fail(message, code=1):
    # error.txt is what users see: the runner's own words, no paths.
    with open("error.txt", "w") as f:
        f.write(message[:300])
    sys.exit(code)


def run(args):
    p = subprocess.run([QBENCH_RUN] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        fail("qbench-run failed: " + (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1][:200])
    return p.stdout


def relative(path):
    # Paths in a request are relative to the work directory and stay inside it.
    if not isinstance(path, str) or path.startswith("/") or ".." in path.split("/"):
        fail("bad request: a path is not relative to the work directory", 2)
    return path


def main():
    if len(sys.argv) == 2 and sys.argv[1] == "--describe":
        print(json.dumps({"runtime": "qbench-run", "version": "local", "providers": ["cpu"], "meters": []}))
        return
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        sys.exit(2)
    with open(sys.argv[1]) as f:
        req = json.load(f)
    if req.get("protocol") != 1:
        fail("bad request: protocol %r is not 1" % req.get("protocol"), 2)
    model = relative(req["model"])
    threads = str(int(req.get("threads", 1)))
    for batch in req["eval"]:
        with tempfile.TemporaryDirectory(dir=".") as out_dir:
            run(["--model", model, "--input", relative(batch["input"]), "--out-dir", out_dir, "--threads", threads])
            outputs = sorted(n for n in os.listdir(out_dir) if n.endswith(".npy"))
            if not outputs:
                fail("qbench-run wrote no output")
            # The first graph output; qbench-run names files after the outputs, so with
            # several the request's contract (the first output) needs the model's order.
            os.replace(os.path.join(out_dir, outputs[0]), relative(batch["output"]))
    timings = []
    for t in req["timing"]:
        times = "times-%d.txt" % int(t["batch_size"])
        run(["--model", model, "--input", relative(t["input"]), "--threads", threads, "--time",
             "--warmup", str(int(t["warmup_runs"])), "--iters", str(int(t["min_runs"])),
             "--max-iters", str(int(t["max_runs"])), "--min-seconds", str(float(t["min_seconds"])),
             "--times-out", times])
        with open(times) as f:
            ms = [float(line) for line in f if line.strip()]
        timings.append({"batch_size": int(t["batch_size"]), "ms": ms})
    with open(req["result"], "w") as f:
        json.dump({"runtime": "qbench-run", "version": "local", "provider": "cpu", "timings": timings,
                   "notes": ["qbench-run: QBench's engine in its own process, one per eval batch and batch size"]}, f)


if __name__ == "__main__":
    main()
