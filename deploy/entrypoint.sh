#!/bin/sh
# Entry point of the QBench images (installed as /usr/local/bin/qbench-entrypoint): turns
# QBENCH_* environment variables and secret files into the binaries' flags, so compose files
# carry no secrets and no long command lines. One role per call:
#   migrate      qbench-server --migrate (forward-only; run before every upgrade)
#   bootstrap    the first admin token into QBENCH_ADMIN_TOKEN_FILE and a worker token into
#                QBENCH_WORKER_TOKEN_FILE (when set), each unless its file holds one
#   server       qbench-server
#   worker       qbench-worker, its id QBENCH_WORKER_PREFIX-<container hostname>
#   cli ARGS     qbench ARGS, connected to QBENCH_SERVER with QBENCH_TOKEN_FILE
#   healthcheck  qbench-health-probe against QBENCH_HEALTH_SERVER (server) or QBENCH_SERVER
#   anything else is executed as given.
# Secrets: QBENCH_DB_PASSWORD_FILE becomes libpq's PGPASSWORD (never part of a URI or a
# flag, so never in `ps` or the logs); TLS files and tokens are passed as file paths.
set -eu

die() {
  echo "qbench-entrypoint: $*" >&2
  exit 2
}

if [ -n "${QBENCH_DB_PASSWORD_FILE:-}" ]; then
  [ -r "$QBENCH_DB_PASSWORD_FILE" ] || die "QBENCH_DB_PASSWORD_FILE=$QBENCH_DB_PASSWORD_FILE is not readable"
  PGPASSWORD="$(cat "$QBENCH_DB_PASSWORD_FILE")"
  export PGPASSWORD
fi

db_uri() {
  [ -n "${QBENCH_DB_URI:-}" ] || die "QBENCH_DB_URI is not set (postgresql://USER@HOST:PORT/DB, no password)"
  printf '%s' "$QBENCH_DB_URI"
}

# --shared-root flags from QBENCH_SHARED_ROOTS (colon-separated folders mounted into the
# server and every worker at the same path); unset: no shared paths, uploads only.
shared_roots() {
  local IFS=:
  for r in ${QBENCH_SHARED_ROOTS:-}; do
    [ -n "$r" ] && printf -- '--shared-root %s ' "$r"
  done
}

# Client-side TLS flags (worker, cli, health probe): plaintext, a private CA, or the
# system's roots.
client_tls() {
  if [ "${QBENCH_INSECURE:-0}" = 1 ]; then
    printf '%s' "--insecure"
  elif [ -n "${QBENCH_CA_FILE:-}" ]; then
    [ -r "$QBENCH_CA_FILE" ] || die "QBENCH_CA_FILE=$QBENCH_CA_FILE is not readable"
    printf '%s' "--ca $QBENCH_CA_FILE"
  fi
}

role="${1:-}"
[ $# -gt 0 ] && shift
migrations="${QBENCH_MIGRATIONS:-/usr/share/qbench/migrations}"
case "$role" in
  migrate)
    exec qbench-server --db "$(db_uri)" --migrate --migrations "$migrations"
    ;;
  bootstrap)
    # qbench-server keeps a token file that holds one, so this runs on every `up`.
    set -- --db "$(db_uri)" --bootstrap-admin "${QBENCH_ADMIN_TEAM:-lab}" \
      --token-out "${QBENCH_ADMIN_TOKEN_FILE:-/run/qbench/admin/admin.token}"
    if [ -n "${QBENCH_WORKER_TOKEN_FILE:-}" ]; then set -- "$@" --worker-token-out "$QBENCH_WORKER_TOKEN_FILE"; fi
    exec qbench-server "$@"
    ;;
  server)
    set -- --db "$(db_uri)" --listen "${QBENCH_LISTEN:-0.0.0.0:50051}" \
      --data-dir "${QBENCH_DATA_DIR:-/var/lib/qbench}" --migrations "$migrations" \
      --reap-seconds "${QBENCH_REAP_SECONDS:-5}"
    if [ -n "${QBENCH_MAX_UPLOAD_BYTES:-}" ]; then set -- "$@" --max-upload-bytes "$QBENCH_MAX_UPLOAD_BYTES"; fi
    # shellcheck disable=SC2046 # shared_roots prints flag words on purpose
    set -- "$@" $(shared_roots)
    if [ "${QBENCH_INSECURE:-0}" = 1 ]; then
      set -- "$@" --insecure
    else
      [ -s "${QBENCH_TLS_CERT_FILE:-}" ] && [ -s "${QBENCH_TLS_KEY_FILE:-}" ] ||
        die "TLS needs QBENCH_TLS_CERT_FILE and QBENCH_TLS_KEY_FILE (non-empty), or QBENCH_INSECURE=1"
      set -- "$@" --tls-cert "$QBENCH_TLS_CERT_FILE" --tls-key "$QBENCH_TLS_KEY_FILE"
    fi
    exec qbench-server "$@"
    ;;
  worker)
    [ -n "${QBENCH_SERVER:-}" ] || die "QBENCH_SERVER is not set (HOST:PORT of qbench-server)"
    [ -r "${QBENCH_TOKEN_FILE:-}" ] || die "QBENCH_TOKEN_FILE=${QBENCH_TOKEN_FILE:-} is not readable (a worker or admin token)"
    id="$(uname -n)"
    if [ -n "${QBENCH_WORKER_PREFIX:-}" ]; then id="$QBENCH_WORKER_PREFIX-$id"; fi
    # Attached devices (docs/devices.md): QBENCH_WORKER_ARGS="--device ort-cpu=ort" or
    # "--devices /etc/qbench/devices.json"; split on spaces (device ids and paths have none).
    # shellcheck disable=SC2046,SC2086 # client_tls prints zero, one or two words on purpose
    exec qbench-worker --db "$(db_uri)" --server "$QBENCH_SERVER" $(client_tls) --token-file "$QBENCH_TOKEN_FILE" \
      --id "$id" --cache-dir "${QBENCH_CACHE_DIR:-/var/cache/qbench}" \
      --lease-seconds "${QBENCH_LEASE_SECONDS:-30}" --poll-seconds "${QBENCH_POLL_SECONDS:-5}" $(shared_roots) \
      ${QBENCH_WORKER_ARGS:-}
    ;;
  cli)
    [ -n "${QBENCH_SERVER:-}" ] || die "QBENCH_SERVER is not set (HOST:PORT of qbench-server)"
    # shellcheck disable=SC2046
    exec qbench --server "$QBENCH_SERVER" $(client_tls) ${QBENCH_TOKEN_FILE:+--token-file "$QBENCH_TOKEN_FILE"} "$@"
    ;;
  healthcheck)
    # The server checks itself on loopback; its certificate names QBENCH_TLS_NAME.
    server="${QBENCH_HEALTH_SERVER:-${QBENCH_SERVER:-127.0.0.1:50051}}"
    if [ "${QBENCH_INSECURE:-0}" = 1 ]; then
      exec qbench-health-probe --server "$server" --insecure
    fi
    ca="${QBENCH_CA_FILE:-${QBENCH_TLS_CERT_FILE:-}}"
    exec qbench-health-probe --server "$server" ${ca:+--ca "$ca"} ${QBENCH_TLS_NAME:+--authority "$QBENCH_TLS_NAME"}
    ;;
  "")
    die "usage: qbench-entrypoint migrate|bootstrap|server|worker|cli ARGS|healthcheck|COMMAND..."
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
