#!/bin/sh
# Run by the postgres image once, when it initialises an empty data directory
# (/docker-entrypoint-initdb.d): creates the `grafana` login role of the dashboards with the
# password from the grafana_db_password secret. See deploy/postgres/grafana_login.sql.
set -eu
password_file="${QBENCH_GRAFANA_DB_PASSWORD_FILE:-/run/secrets/grafana_db_password}"
if [ ! -s "$password_file" ]; then
  echo "20-grafana-login: $password_file is missing or empty; no grafana role created" >&2
  exit 1
fi
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  -v grafana_password="$(cat "$password_file")" -f /etc/qbench/grafana_login.sql
