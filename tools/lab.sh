#!/usr/bin/env bash
# The local lab: everything QBench needs on one machine, in one command.
#   - a private PostgreSQL 15 cluster in the lab directory (initdb/pg_ctl, a free port),
#   - the migrations, a "demo" team and its token (first run only),
#   - qbench-server (plaintext on loopback) and one qbench-worker,
#   - then it submits the bundled Fashion-MNIST job (models/fashion_mnist/demo_job.json:
#     fp32, bf16, W8A8, W4A8 and variants) with the qbench CLI, follows it live and prints
#     the comparison.
# Interactive (a terminal on stdin): the lab keeps serving until Ctrl-C; otherwise it stops
# after the comparison. Stopping stops everything; running it again reuses the data
# (cluster, blobs, results, tokens).
#
# Usage: tools/lab.sh [--no-job] [--keep | --exit] [SPEC.json]
#   QB_LAB_DIR   lab directory (default: <repo>/.lab)     QB_LAB_PORT  server port (default 50051)
#   QB_LAB_WORKER_FLAGS  more qbench-worker flags, e.g. "--device ort-cpu=ort" (docs/devices.md)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
lab="${QB_LAB_DIR:-$here/.lab}"
port="${QB_LAB_PORT:-50051}"
spec="models/fashion_mnist/demo_job.json"
run_job=1
keep=auto
for a in "$@"; do
  case "$a" in
    --no-job) run_job=0 ;;
    --keep) keep=1 ;;
    --exit) keep=0 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) spec="$a" ;;
  esac
done
[[ "$keep" == auto ]] && { [ -t 0 ] && keep=1 || keep=0; }

say() { echo "lab: $*" >&2; }

# --- build -------------------------------------------------------------------------------
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B build "${generator[@]}" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" --target qbench-server qbench-worker qbench
bin="$here/build"

# --- PostgreSQL ---------------------------------------------------------------------------
pgbin="${QB_PG_BIN:-/usr/lib/postgresql/15/bin}"
[ -x "$pgbin/pg_ctl" ] || { say "PostgreSQL 15 not found in $pgbin: run tools/install-deps.sh"; exit 2; }
mkdir -p "$lab"
as_pg=()
if [ "$(id -u)" = 0 ]; then   # initdb refuses root: the cluster belongs to `postgres`
  as_pg=(runuser -u postgres --)
  mkdir -p "$lab/pg"
  chown postgres: "$lab/pg"
fi
pgdata="$lab/pg/data"
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if [ ! -f "$lab/pg_port" ]; then
  p=54330
  while ! port_free "$p"; do p=$((p + 1)); done
  echo "$p" > "$lab/pg_port"
fi
pgport="$(cat "$lab/pg_port")"
if [ ! -d "$pgdata" ]; then
  say "creating a PostgreSQL cluster in $pgdata"
  "${as_pg[@]}" "$pgbin/initdb" -D "$pgdata" -U postgres -A trust -E UTF8 --locale=C >"$lab/initdb.log"
fi
pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdata" -m fast -w stop >/dev/null 2>&1 || true
  say "stopped (data kept in $lab)"
}
trap cleanup EXIT INT TERM
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$pgdata" -l "$lab/pg/server.log" -w -t 60 start \
  -o "-p $pgport -k $lab/pg -c listen_addresses=127.0.0.1" >/dev/null
db="postgresql://postgres@127.0.0.1:$pgport/postgres"
say "PostgreSQL on port $pgport"

# --- schema, tokens -----------------------------------------------------------------------
"$bin/server/qbench-server" --db "$db" --migrate --migrations migrations
if [ ! -s "$lab/admin.token" ]; then
  "$bin/server/qbench-server" --db "$db" --bootstrap-admin lab --token-out "$lab/admin.token"
fi

# --- server and worker --------------------------------------------------------------------
port_free "$port" || { say "port $port is taken (set QB_LAB_PORT)"; exit 2; }
"$bin/server/qbench-server" --db "$db" --insecure --listen "127.0.0.1:$port" --data-dir "$lab/server" \
  --migrations migrations 2>>"$lab/server.log" &
pids+=($!)
qb=("$bin/client/qbench" --server "127.0.0.1:$port" --insecure)
for _ in $(seq 1 100); do
  "${qb[@]}" --token-file "$lab/admin.token" devices >/dev/null 2>&1 && break
  sleep 0.2
done
# The worker's own token: it reads the blobs of the jobs it runs, nothing more.
if [ ! -s "$lab/worker.token" ]; then
  "${qb[@]}" --token-file "$lab/admin.token" admin token create teams/lab --name lab-worker --worker 2>/dev/null |
    tail -n 1 > "$lab/worker.token.new"
  grep -q '^qbt_' "$lab/worker.token.new" || { say "could not create the worker token"; exit 1; }
  mv "$lab/worker.token.new" "$lab/worker.token"
  chmod 600 "$lab/worker.token"
fi
"$bin/worker/qbench-worker" --db "$db" --server "127.0.0.1:$port" --insecure --token-file "$lab/worker.token" \
  --id "$(hostname)-lab" --cache-dir "$lab/worker-cache" ${QB_LAB_WORKER_FLAGS:-} 2>>"$lab/worker.log" &
pids+=($!)
if [ ! -s "$lab/demo.token" ]; then
  "${qb[@]}" --token-file "$lab/admin.token" admin team create demo --display-name "Demo team" >/dev/null 2>&1 || true
  "${qb[@]}" --token-file "$lab/admin.token" admin token create teams/demo --name lab | tail -n 1 > "$lab/demo.token.new"
  grep -q '^qbt_' "$lab/demo.token.new" || { say "could not create the demo token"; exit 1; }
  mv "$lab/demo.token.new" "$lab/demo.token"
  chmod 600 "$lab/demo.token"
fi
say "server 127.0.0.1:$port, worker $(hostname)-lab; logs in $lab/*.log"
say "CLI: build/client/qbench --server 127.0.0.1:$port --insecure --token-file $lab/demo.token <command>"

# --- the job ------------------------------------------------------------------------------
status=0
if [ "$run_job" = 1 ]; then
  say "submitting $spec"
  "${qb[@]}" --token-file "$lab/demo.token" submit "$spec" --wait || status=$?
fi
if [ "$keep" = 1 ]; then
  say "serving; Ctrl-C stops the server, the worker and PostgreSQL"
  wait "${pids[0]}" || true
fi
exit "$status"
