#!/usr/bin/env bash
# The chaos test at bench size (issue 17): N small jobs on two workers, K kill -9 of a
# worker running a job (a fresh worker replaces each), one immediate PostgreSQL restart
# halfway. Prints jobs, kills, restarts, succeeded / failed after their attempts, lost,
# duplicated (job, config, batch) result groups and the worst rescue time; fails when a
# job is lost, a row is duplicated or a rescue took longer than the lease + 5 s.
# Usage: bench/chaos.sh [JOBS [KILLS]]   (default 30 jobs, 20 kills; the suite runs 6 and 3)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
cmake --build build --target service_test qbench-server qbench-worker >/dev/null
log="$(mktemp)"
rc=0
QB_SOURCE_DIR="$here" QB_CHAOS_JOBS="${1:-30}" QB_CHAOS_KILLS="${2:-20}" OMP_NUM_THREADS=1 \
  build/tests/service_test --gtest_filter='ServiceTest.Chaos*' >"$log" 2>&1 || rc=$?
grep -E '^chaos:|OK \]|FAILED|Failure' -A2 "$log" || true
[ "$rc" = 0 ] || echo "chaos: failed (exit $rc); the whole log is in $log"
exit "$rc"
