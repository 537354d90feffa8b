#!/usr/bin/env bash
# The main job on the embedded default: builds QBench, then evaluates the bundled
# Fashion-MNIST model (models/fashion_mnist/) in FP32 on oneDNN, printing accuracy and
# latency. Extra arguments go to qbench-worker (e.g. --json).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target qbench-worker
exec build/worker/qbench-worker --local models/fashion_mnist/demo_job.json "$@"
