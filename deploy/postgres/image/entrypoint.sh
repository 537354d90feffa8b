#!/bin/sh
# Entry point of qbench/postgres (deploy/postgres/image/Dockerfile): on an empty data
# directory, initdb with POSTGRES_USER and the password in POSTGRES_PASSWORD_FILE, create
# POSTGRES_DB, run /docker-entrypoint-initdb.d (*.sh run, *.sql through psql) against a
# server that listens on the socket only; then run the command (`postgres ARGS`).
# Clients on the network authenticate with SCRAM-SHA-256; local socket connections inside
# the container are trusted, as in the official image.
set -eu

die() {
  echo "qbench-postgres: $*" >&2
  exit 2
}

init_cluster() {
  user="${POSTGRES_USER:-postgres}"
  db="${POSTGRES_DB:-$user}"
  [ -n "${POSTGRES_PASSWORD_FILE:-}" ] || die "POSTGRES_PASSWORD_FILE is not set"
  [ -s "$POSTGRES_PASSWORD_FILE" ] || die "POSTGRES_PASSWORD_FILE=$POSTGRES_PASSWORD_FILE is missing or empty"
  initdb --username="$user" --pwfile="$POSTGRES_PASSWORD_FILE" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 >/dev/null
  # Every address may try; every one must authenticate.
  printf 'host all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
  printf "listen_addresses = '*'\n" >> "$PGDATA/postgresql.auto.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
  if [ "$db" != postgres ]; then
    psql -v ON_ERROR_STOP=1 --no-psqlrc -U "$user" -d postgres -q -c "CREATE DATABASE \"$db\""
  fi
  export POSTGRES_USER="$user" POSTGRES_DB="$db"
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case "$f" in
      *.sh) echo "qbench-postgres: running $f" >&2; sh "$f" ;;
      *.sql) echo "qbench-postgres: running $f" >&2; psql -v ON_ERROR_STOP=1 --no-psqlrc -U "$user" -d "$db" -f "$f" ;;
      *) echo "qbench-postgres: ignoring $f" >&2 ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  echo "qbench-postgres: initialised $PGDATA (user $user, database $db)" >&2
}

if [ "${1:-}" = postgres ]; then
  [ -s "$PGDATA/PG_VERSION" ] || init_cluster
fi
exec "$@"
