#!/usr/bin/env bash
# The lab deployment run for real (issue 18): builds the images, brings deploy/compose.yml up
# with 3 workers, runs a job through the published port with the CLI image, kills the worker
# running it and checks the job completes once on another, restarts PostgreSQL and checks
# nothing was lost, brings the stack down and up again and checks the results persisted.
# It removes every container, network and volume it made (images stay, as a build cache).
#
#   sudo tools/compose-smoke.sh            # needs root only to start dockerd or debootstrap
#
# No image registry is needed: the Debian base is a debootstrap tree (`docker import`), and
# PostgreSQL is Debian's package (deploy/postgres/image). Grafana is left out (profile).
# Prints image sizes, time to healthy, the job's result, the rescue and row counts.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
P=qbench-smoke
work=$(mktemp -d /tmp/qbench-smoke.XXXXXX)
started_dockerd=""
t_start=$(date +%s)

say() { echo "compose-smoke: $*"; }
fail() { say "FAIL: $*"; exit 1; }
since() { echo $(( $(date +%s) - $1 )); }

# --- the engine and a client that builds with BuildKit ---------------------------------------
if ! docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null || fail "no Docker engine: apt-get install docker.io"
  [ "$(id -u)" = 0 ] || fail "dockerd is not running and only root can start it"
  say "starting dockerd"
  dockerd >"$work/dockerd.log" 2>&1 &
  started_dockerd=$!
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || fail "dockerd did not start: $(tail -3 "$work/dockerd.log")"
fi
# BuildKit honours deploy/Dockerfile.dockerignore. Docker 23+ clients need the buildx plugin
# for it; Debian's docker.io client (20.10) has it built in.
DOCKER=""
for c in docker /usr/bin/docker; do
  command -v "$c" >/dev/null || continue
  if "$c" buildx version >/dev/null 2>&1 || [ "$("$c" version --format '{{.Client.Version}}' 2>/dev/null | cut -d. -f1)" -lt 23 ] 2>/dev/null; then
    DOCKER=$c; break
  fi
done
[ -n "$DOCKER" ] || fail "no docker client that builds with BuildKit (install docker-buildx, or Debian's docker.io)"
command -v docker-compose >/dev/null || fail "docker-compose not found (apt-get install docker-compose)"

compose() { docker-compose -p "$P" --project-directory "$src/deploy" -f "$src/deploy/compose.yml" "$@"; }

cleanup() {
  local rc=$?
  if [ $rc -ne 0 ]; then
    say "logs of the failed run:"
    compose logs --no-color --tail 30 2>/dev/null | tail -120 || true
  fi
  compose --profile tools --profile grafana down -v --remove-orphans >/dev/null 2>&1 || true
  local left
  left=$(docker ps -aq --filter "label=com.docker.compose.project=$P" | wc -l)
  say "cleanup: $left container(s) of project $P left"
  rm -rf "$work"
  if [ -n "$started_dockerd" ]; then kill "$started_dockerd" 2>/dev/null || true; fi
  exit $rc
}
trap cleanup EXIT

# --- images -------------------------------------------------------------------------------------
base=qbench/debian:bookworm
if ! docker image inspect "$base" >/dev/null 2>&1; then
  [ "$(id -u)" = 0 ] || fail "the base image $base is missing and debootstrap needs root"
  command -v debootstrap >/dev/null || fail "debootstrap not found (apt-get install debootstrap)"
  say "debootstrap --variant=minbase bookworm"
  debootstrap --variant=minbase bookworm "$work/rootfs" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 ||
    fail "debootstrap failed: $(tail -3 "$work/debootstrap.log")"
  cat >"$work/rootfs/etc/apt/sources.list" <<'EOF'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" -c . | docker import - "$base" >/dev/null
  rm -rf "$work/rootfs"
fi
export DOCKER_BUILDKIT=1
t=$(date +%s)
"$DOCKER" build -q --build-arg DEBIAN_IMAGE="$base" -t qbench/postgres:15 deploy/postgres/image >/dev/null
# The worker's runners stage fetches ONNX Runtime from npm: this host's CA bundle goes in as
# a build secret, for a registry reached through a TLS-inspecting proxy (deploy/Dockerfile).
ca=()
[ -s /etc/ssl/certs/ca-certificates.crt ] && ca=(--secret id=build_ca,src=/etc/ssl/certs/ca-certificates.crt)
for target in server worker cli; do
  "$DOCKER" build -q -f deploy/Dockerfile --build-arg DEBIAN_IMAGE="$base" --target "$target" "${ca[@]}" \
    -t "qbench/$target:smoke" . >/dev/null
done
say "images built in $(since "$t") s:"
for i in "$base" qbench/postgres:15 qbench/server:smoke qbench/worker:smoke qbench/cli:smoke; do
  printf '  %-24s %4d MiB\n' "$i" $(( $(docker image inspect -f '{{.Size}}' "$i") / 1048576 ))
done
# The worker image runs the ONNX Runtime device runner as its own user (docs/devices.md).
ort=$(docker run --rm --entrypoint node qbench/worker:smoke /usr/share/qbench/runners/ort_runner.js --describe) ||
  fail "the worker image's ONNX Runtime runner does not start"
grep -q '"runtime":"onnxruntime-node"' <<<"$ort" || fail "the ONNX Runtime runner described itself as: $ort"
say "worker image: ONNX Runtime runner $ort"

# --- secrets and settings -------------------------------------------------------------------
mkdir -p "$work/secrets" "$work/work"
chmod 700 "$work/secrets"
for s in db_password grafana_db_password grafana_admin_password; do
  openssl rand -base64 24 | tr -d '/+=\n' >"$work/secrets/$s"
done
openssl req -x509 -newkey rsa:2048 -sha256 -days 2 -nodes -subj "/CN=qbench-smoke" \
  -keyout "$work/secrets/tls.key" -out "$work/secrets/tls.crt" \
  -addext "subjectAltName=DNS:server,DNS:localhost" 2>/dev/null
chmod 644 "$work/secrets/"*
chmod 755 "$work/work"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
export QBENCH_SECRETS_DIR="$work/secrets" QBENCH_CLI_WORKDIR="$work/work"
export QBENCH_IMAGE_PREFIX=qbench QBENCH_VERSION=smoke QBENCH_DEBIAN_IMAGE="$base" QBENCH_POSTGRES_IMAGE=qbench/postgres:15
export QBENCH_SERVER_BIND=127.0.0.1 QBENCH_SERVER_PORT=$(free_port) QBENCH_DB_BIND=127.0.0.1 QBENCH_DB_PORT=$(free_port)
export QBENCH_LEASE_SECONDS=10 QBENCH_POLL_SECONDS=2 QBENCH_WORKER_PREFIX=smoke
# Every worker attaches ONNX Runtime; the job after the restart is measured on it too.
export QBENCH_WORKER_ARGS="--device ort-cpu=ort"

sql() { compose exec -T postgres psql -X -q -t -A -U qbench -d qbench -c "$1"; }
# The CLI image on the host's network, through the published port, as a user's own CLI.
user_cli() {
  docker run --rm --network host -v "$work/secrets/tls.crt:/tls.crt:ro" -v "$work/work:/work:ro" -w /work \
    -e QBENCH_SERVER="localhost:$QBENCH_SERVER_PORT" -e QBENCH_CA_FILE=/tls.crt -e QBENCH_TOKEN_FILE=/work/smoke.token \
    qbench/cli:smoke cli "$@"
}
running_workers() { docker ps -q --filter "label=com.docker.compose.project=$P" --filter "label=com.docker.compose.service=worker" | wc -l; }
wait_healthy() {  # the server healthy and 3 workers of this `up` (new container names) registered
  local t0=$1
  for _ in $(seq 180); do
    if [ "$(docker inspect -f '{{.State.Health.Status}}' "$(compose ps -q server)" 2>/dev/null)" = healthy ] &&
       [ "$(sql "SELECT count(*) FROM workers WHERE registered_at >= to_timestamp($t0) AND last_heartbeat > now() - interval '20 seconds'" 2>/dev/null)" -ge 3 ] 2>/dev/null; then
      echo $(( $(date +%s) - t0 )); return 0
    fi
    sleep 1
  done
  return 1
}

# --- up -------------------------------------------------------------------------------------
t=$(date +%s)
compose up -d --no-build --scale worker=3 >"$work/up.log" 2>&1 || fail "up failed: $(tail -5 "$work/up.log")"
healthy=$(wait_healthy "$t") || fail "the stack did not become healthy in 180 s"
say "up: server healthy and 3 workers registered $healthy s after \`up\`"
[ "$(docker inspect -f '{{.State.ExitCode}}' "$(compose ps -q migrate)")" = 0 ] || fail "migrate did not exit 0"
[ "$(docker inspect -f '{{.State.ExitCode}}' "$(compose ps -q bootstrap)")" = 0 ] || fail "bootstrap did not exit 0"
roles=$(sql "SELECT string_agg(CASE WHEN admin THEN 'admin' WHEN worker THEN 'worker' ELSE 'team' END, ',' ORDER BY id) FROM tokens")
[ "$roles" = "admin,worker" ] || fail "bootstrap made tokens $roles, expected admin,worker"
say "bootstrap: one admin token (cli) and one worker token (workers)"

compose run --rm -T cli admin team create smoke >/dev/null
compose run --rm -T cli admin token create teams/smoke --name smoke >"$work/work/smoke.token"
chmod 644 "$work/work/smoke.token"
user_cli devices | head -5

# --- a job, and its worker killed -------------------------------------------------------------
job=$(user_cli submit /usr/share/qbench/models/fashion_mnist/demo_job.json | grep -o 'jobs/[0-9]*' | head -1)
[ -n "$job" ] || fail "submit printed no job name"
id=${job#jobs/}
say "submitted $job"
for _ in $(seq 120); do
  [ "$(sql "SELECT state FROM jobs WHERE id = $id")" = running ] && break
  sleep 1
done
sleep 5  # mid-job: calibrated, evaluating
victim_id=$(sql "SELECT worker FROM jobs WHERE id = $id")
attempt_before=$(sql "SELECT attempts FROM jobs WHERE id = $id")
victim=""
for c in $(docker ps -q --filter "label=com.docker.compose.project=$P" --filter "label=com.docker.compose.service=worker"); do
  [ "smoke-$(docker inspect -f '{{.Config.Hostname}}' "$c")" = "$victim_id" ] && victim=$c
done
[ -n "$victim" ] || fail "no running worker container is $victim_id"
[ "$(sql "SELECT state FROM jobs WHERE id = $id")" = running ] || fail "$job finished before the kill: make it longer"
docker kill "$victim" >/dev/null
t_kill=$(date +%s)
say "killed $victim_id (container ${victim:0:12}) running $job, attempt $attempt_before"
rescue=""
for _ in $(seq 600); do
  row=$(sql "SELECT state, attempts, coalesce(worker, '') FROM jobs WHERE id = $id")
  IFS='|' read -r state attempts worker <<<"$row"
  if [ -z "$rescue" ] && [ "$attempts" -gt "$attempt_before" ]; then
    rescue=$(since "$t_kill"); say "rescued by $worker (attempt $attempts) $rescue s after the kill (lease $QBENCH_LEASE_SECONDS s)"
  fi
  case "$state" in succeeded | failed | cancelled) break ;; esac
  sleep 1
done
[ "$state" = succeeded ] || fail "$job ended $state: $(sql "SELECT error FROM jobs WHERE id = $id")"
[ -n "$rescue" ] || fail "$job succeeded without a second attempt"
say "$job succeeded on $worker after $(since "$t_kill") s from the kill"
dups=$(sql "SELECT count(*) FROM (SELECT 1 FROM results WHERE job_id = $id GROUP BY config_id, device, batch_size HAVING count(*) > 1) d")
stale=$(sql "SELECT count(*) FROM results WHERE job_id = $id AND attempt <> (SELECT attempts FROM jobs WHERE id = $id)")
rows=$(sql "SELECT count(*) FROM results WHERE job_id = $id")
say "result rows: $rows, duplicated (config, device, batch) groups: $dups, rows of the dead attempt: $stale"
[ "$dups" = 0 ] && [ "$stale" = 0 ] || fail "duplicate or stale result rows"
user_cli compare "$job" | tee "$work/compare1.txt"

# --- PostgreSQL restarted ---------------------------------------------------------------------
counts() { sql "SELECT (SELECT count(*) FROM jobs) || ' jobs, ' || (SELECT count(*) FROM results) || ' results, ' || (SELECT count(*) FROM job_events) || ' events, ' || (SELECT count(*) FROM tokens) || ' tokens'"; }
before=$(counts)
compose restart postgres >/dev/null 2>&1
for _ in $(seq 60); do
  [ "$(docker inspect -f '{{.State.Health.Status}}' "$(compose ps -q postgres)")" = healthy ] && break
  sleep 1
done
after=$(counts)
say "PostgreSQL restarted: before $before; after $after"
[ "$before" = "$after" ] || fail "rows changed across the restart"
small="$work/work/small.json"
python3 - "$small" <<'EOF'
import json, sys
spec = {"name": "smoke-after-restart", "model": "/usr/share/qbench/models/fashion_mnist/cnn_bn.onnx",
        "eval_dataset": "/usr/share/qbench/models/fashion_mnist/dataset.json", "samples": 1000,
        "batch_sizes": [1], "threads": 1,
        "latency": {"warmup_iters": 5, "min_iters": 20, "min_seconds": 0.1},
        "calibration": {"dataset": "/usr/share/qbench/models/fashion_mnist/train_dataset.json", "samples": 200, "seed": 0},
        "configs": ["fp32", "w8a8"], "devices": ["ort-cpu"]}
json.dump(spec, open(sys.argv[1], "w"))
EOF
chmod 644 "$small"
job2=$(user_cli submit /work/small.json --wait | grep -o 'jobs/[0-9]*' | head -1) || fail "the job after the restart failed"
say "$job2 (submitted after the restart) $(sql "SELECT state FROM jobs WHERE id = ${job2#jobs/}")"
on_ort=$(sql "SELECT count(*) FROM device_outcomes WHERE job_id = ${job2#jobs/} AND error IS NULL AND top1 > 0.5")
say "$job2 on ONNX Runtime: $on_ort configurations scored; $(sql "SELECT string_agg(config || ' top-1 ' || round(100 * top1::numeric, 2) || '% (engine ' || round(100 * engine_top1::numeric, 2) || '%, ' || differs_from_engine || ' samples differ)', '; ') FROM device_comparison WHERE job_id = ${job2#jobs/} AND batch_size = 1")"
[ "$on_ort" = 2 ] || fail "$job2 has $on_ort configurations scored on ONNX Runtime, expected 2"

# --- down and up again: the volumes keep everything -------------------------------------------
before=$(counts)
compose down >/dev/null 2>&1
[ "$(docker ps -aq --filter "label=com.docker.compose.project=$P" | wc -l)" = 0 ] || fail "containers left after down"
t=$(date +%s)
compose up -d --no-build --scale worker=3 >"$work/up2.log" 2>&1 || fail "second up failed: $(tail -5 "$work/up2.log")"
healthy=$(wait_healthy "$t") || fail "the stack did not become healthy again"
after=$(counts)
say "down and up: healthy after $healthy s; before $before; after $after"
[ "$before" = "$after" ] || fail "rows changed across down and up"
user_cli compare "$job" >"$work/compare2.txt"
diff -q "$work/compare1.txt" "$work/compare2.txt" >/dev/null || fail "compare $job differs after down and up"
say "compare $job is the same after down and up"
say "PASS in $(since "$t_start") s"
