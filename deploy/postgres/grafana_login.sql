-- The login role Grafana connects as: a member of qbench_dashboard (0001_init.sql: NOLOGIN,
-- SELECT on the dashboard views only), so it can read those views and nothing else.
-- Run with psql, the password as a psql variable (never in this file):
--   psql -v ON_ERROR_STOP=1 -v grafana_password="$(cat FILE)" -f grafana_login.sql DB
-- Idempotent, and independent of the migrations' order: the postgres container runs it
-- once at initdb (deploy/postgres/initdb/20-grafana-login.sh), before any migration; run it
-- again to rotate the password. psql does not expand :'vars' inside $$-quoted bodies,
-- hence format() and \gexec.

SELECT 'CREATE ROLE qbench_dashboard NOLOGIN'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'qbench_dashboard') \gexec

SELECT format('CREATE ROLE grafana LOGIN PASSWORD %L', :'grafana_password')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'grafana') \gexec

SELECT format('ALTER ROLE grafana LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT PASSWORD %L', :'grafana_password') \gexec

GRANT qbench_dashboard TO grafana;
-- Belt and braces: even a view that could write would not, and dashboards cannot swamp
-- the database.
ALTER ROLE grafana SET default_transaction_read_only = on;
ALTER ROLE grafana SET statement_timeout = '30s';
ALTER ROLE grafana CONNECTION LIMIT 20;
