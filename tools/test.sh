#!/usr/bin/env bash
# Builds QBench and runs the whole test suite with ctest.
# Usage: tools/test.sh [--sanitize]   (--sanitize: ASan + UBSan build in build-asan/)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"

build=build
flags=(-DCMAKE_BUILD_TYPE=Release)
if [[ "${1:-}" == "--sanitize" ]]; then
  build=build-asan
  # -O1 -g1: the level ASan's documentation suggests, and line tables are all a sanitizer
  # report needs. Against -O2 -g it compiles 1.5-2.2x faster (pipeline.cc 19.8 s vs 30.4 s,
  # service_test.cc 41.5 s vs 93.1 s) with objects 2.4-3.2x smaller to link (CI time).
  flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DQB_SANITIZE=ON
         "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG")
  # leak checking is off: oneDNN and OpenMP keep process-lifetime allocations on purpose.
  export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi

# Third-party models and data live beside the checkout (never inside it).
if [[ -z "${QB_SHARED:-}" && -d "$here/../shared" ]]; then export QB_SHARED="$(cd "$here/../shared" && pwd)"; fi
echo "test: QB_SHARED=${QB_SHARED:-<unset: tests on third-party models are skipped>}"

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B "$build" "${generator[@]}" "${flags[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)"
# oneDNN runs one thread per test (OMP_NUM_THREADS=1 is set per test). One test process
# more than cores: the service tests wait on leases, heartbeats and PostgreSQL and leave a
# core idle about a third of the time (the release suite on 2 cores: 240 s at -j2, 205 s
# at -j3, no faster at -j4).
ctest --test-dir "$build" --output-on-failure -j "$(( $(nproc) + 1 ))" --timeout 900
