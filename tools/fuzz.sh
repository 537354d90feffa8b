#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) with clang, AddressSanitizer and UBSan in
# build-fuzz/ (only the libraries they need), then runs each one for a bounded time on a
# copy of its seed corpus (fuzz/corpus/<name>/). Fails when a target crashes, leaks
# past its limits or hangs; the input that did it is kept in build-fuzz/artifacts/.
# Usage: tools/fuzz.sh [SECONDS_PER_TARGET (default 20)] [TARGET...]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
seconds="${1:-20}"
shift || true
build=build-fuzz
cxx="${QB_FUZZ_CXX:-clang++}"
cc="${QB_FUZZ_CC:-clang}"
command -v "$cxx" >/dev/null || { echo "fuzz: $cxx not found (apt-get install clang)" >&2; exit 1; }

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
start=$(date +%s)
cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQB_FUZZ=ON \
  -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_COMPILER="$cc" >/dev/null
targets=("$@")
if [[ ${#targets[@]} -eq 0 ]]; then
  cmake --build "$build" --target qb_fuzz_targets -j "$(nproc)"
  for f in "$build"/fuzz/*_fuzz; do targets+=("$(basename "$f" _fuzz)"); done
else  # only what the named targets need
  cmake --build "$build" -j "$(nproc)" --target "${targets[@]/%/_fuzz}"
fi
echo "fuzz: build done after $(( $(date +%s) - start )) s"
# One target per core at a time (each fuzzer is one process, one thread): the wall time
# is seconds x targets / cores. Counted before OMP_NUM_THREADS is set: nproc obeys it.
parallel="${QB_FUZZ_JOBS:-$(nproc)}"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:allocator_may_return_null=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export OMP_NUM_THREADS=1
mkdir -p "$build/artifacts" "$build/logs"
run_one() {  # target; its log and exit status in $build/logs/
  local t="$1" work="$build/corpus/$1" max_len=8192 rc=0
  mkdir -p "$work"
  # max_len: images and archives need room; text formats stay small.
  case "$t" in onnx_import|tar|jpeg|png) max_len=65536 ;; esac
  "$build/fuzz/${t}_fuzz" "$work" "fuzz/corpus/$t" -max_total_time="$seconds" -max_len="$max_len" \
    -timeout=10 -rss_limit_mb=2560 -malloc_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$build/artifacts/$t-" >"$build/logs/$t.log" 2>&1 || rc=$?
  echo "$rc" >"$build/logs/$t.rc"
}
for t in "${targets[@]}"; do
  rm -f "$build/logs/$t.rc"
  while (( $(jobs -rp | wc -l) >= parallel )); do wait -n || true; done
  run_one "$t" &
done
wait
failed=()
for t in "${targets[@]}"; do
  log="$build/logs/$t.log"
  if [[ "$(cat "$build/logs/$t.rc" 2>/dev/null)" == 0 ]]; then
    execs=$(grep -m1 'stat::number_of_executed_units' "$log" | awk '{print $2}')
    echo "fuzz: $t ok (${execs:-?} executions in ${seconds} s)"
  else
    echo "fuzz: $t FAILED; the input is in $build/artifacts/ (log: $log)" >&2
    tail -40 "$log" >&2
    failed+=("$t")
  fi
done
echo "fuzz: done after $(( $(date +%s) - start )) s"
if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzz: crashes in: ${failed[*]} (add the fixed inputs to fuzz/corpus/<target>/)" >&2
  exit 1
fi
