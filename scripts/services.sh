#!/usr/bin/env bash
# Starts (or reuses) the project-local services under .data/: a PostgreSQL 15 cluster, a Redis server and a
# mailpit SMTP server with a web inbox. Installs what is missing with apt-get / go install. Never touches the
# system's own clusters. Usage: scripts/services.sh start|stop|env
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
data="$root/.data"
pg_port=${LEDGERLINE_PG_PORT:-55432}
redis_port=${LEDGERLINE_REDIS_PORT:-56379}
smtp_port=${LEDGERLINE_SMTP_PORT:-51025}
mail_web_port=${LEDGERLINE_MAIL_WEB_PORT:-58025}
mailpit_version=v1.33.1
pg_run_user=${LEDGERLINE_PG_USER:-postgres}

log() { printf 'services: %s\n' "$*" >&2; }

apt_install() {
	if [ "$(id -u)" -ne 0 ]; then
		log "need root to apt-get install $*; install it and run again"
		exit 1
	fi
	log "installing $*"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; then
		DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null
	fi
}

pg_bin() {
	for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/16/bin /usr/lib/postgresql/17/bin; do
		if [ -x "$d/initdb" ]; then echo "$d"; return; fi
	done
	apt_install postgresql >&2
	for d in /usr/lib/postgresql/*/bin; do
		if [ -x "$d/initdb" ]; then echo "$d"; return; fi
	done
	log "no PostgreSQL binaries found after install"
	exit 1
}

# as_pg runs a PostgreSQL server command as the unprivileged user (PostgreSQL refuses root).
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$pg_run_user" -- "$@"
	else
		"$@"
	fi
}

start_postgres() {
	local bin pgdata
	bin=$(pg_bin)
	pgdata="$data/pg"
	if [ "$(id -u)" -eq 0 ] && ! id "$pg_run_user" >/dev/null 2>&1; then
		useradd --system --home-dir "$data" --shell /usr/sbin/nologin "$pg_run_user"
	fi
	mkdir -p "$data"
	# The unprivileged user must be able to reach .data even when the checkout lives under /root.
	if [ "$(id -u)" -eq 0 ]; then
		local p="$data"
		while [ "$p" != "/" ]; do chmod o+x "$p" 2>/dev/null || true; p=$(dirname "$p"); done
	fi
	if [ ! -f "$pgdata/PG_VERSION" ]; then
		log "creating PostgreSQL cluster in $pgdata"
		mkdir -p "$pgdata"
		[ "$(id -u)" -eq 0 ] && chown "$pg_run_user" "$pgdata"
		chmod 0700 "$pgdata"
		as_pg "$bin/initdb" -D "$pgdata" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
		cat >>"$pgdata/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$pgdata'
max_connections = 200
shared_buffers = 256MB
fsync = on
log_min_messages = warning
CONF
	fi
	if ! as_pg "$bin/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
		log "starting PostgreSQL on 127.0.0.1:$pg_port"
		as_pg "$bin/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w -t 60 start >/dev/null
	fi
	# Roles: the owner runs migrations and owns the schema; the app role has no superuser and no BYPASSRLS.
	as_pg "$bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 <<'SQL'
DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ledgerline_owner') THEN
		CREATE ROLE ledgerline_owner LOGIN CREATEDB BYPASSRLS PASSWORD 'ledgerline_owner';
	END IF;
	-- The owner bypasses RLS so that its SECURITY DEFINER functions (sign-in lookup, tenant list for
	-- periodic jobs) can see across tenants; the app role never can.
	ALTER ROLE ledgerline_owner BYPASSRLS;
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ledgerline_app') THEN
		CREATE ROLE ledgerline_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD 'ledgerline_app';
	END IF;
END $$;
SQL
	for db in "$@"; do
		if [ -z "$(as_pg "$bin/psql" -tA -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]; then
			log "creating database $db"
			as_pg "$bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -c "CREATE DATABASE $db OWNER ledgerline_owner" >/dev/null
			as_pg "$bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U postgres -d "$db" -c "CREATE EXTENSION IF NOT EXISTS pg_trgm; REVOKE CREATE ON SCHEMA public FROM PUBLIC; ALTER SCHEMA public OWNER TO ledgerline_owner;" >/dev/null
		fi
	done
}

start_redis() {
	command -v redis-server >/dev/null 2>&1 || apt_install redis-server
	mkdir -p "$data/redis"
	if [ -f "$data/redis/redis.pid" ] && kill -0 "$(cat "$data/redis/redis.pid")" 2>/dev/null; then
		return
	fi
	log "starting Redis on 127.0.0.1:$redis_port"
	redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
		--pidfile "$data/redis/redis.pid" --logfile "$data/redis/redis.log" --dir "$data/redis"
	for _ in $(seq 1 50); do
		redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return
		sleep 0.1
	done
	log "Redis did not answer on port $redis_port"
	exit 1
}

start_mailpit() {
	local bin="$data/bin/mailpit"
	if [ ! -x "$bin" ]; then
		log "building mailpit $mailpit_version with the Go toolchain (once)"
		mkdir -p "$data/bin"
		GOBIN="$data/bin" GOFLAGS=-mod=mod go install "github.com/axllent/mailpit@$mailpit_version"
	fi
	mkdir -p "$data/mail"
	if [ -f "$data/mail/mailpit.pid" ] && kill -0 "$(cat "$data/mail/mailpit.pid")" 2>/dev/null; then
		return
	fi
	log "starting mailpit: SMTP 127.0.0.1:$smtp_port, inbox http://127.0.0.1:$mail_web_port"
	nohup "$bin" --smtp "127.0.0.1:$smtp_port" --listen "127.0.0.1:$mail_web_port" \
		--database "$data/mail/mailpit.db" --smtp-auth-accept-any --smtp-auth-allow-insecure \
		>"$data/mail/mailpit.log" 2>&1 &
	echo $! >"$data/mail/mailpit.pid"
	for _ in $(seq 1 50); do
		curl -fs "http://127.0.0.1:$mail_web_port/livez" >/dev/null 2>&1 && return
		sleep 0.1
	done
}

stop_all() {
	local bin
	if [ -f "$data/pg/PG_VERSION" ]; then
		bin=$(pg_bin)
		as_pg "$bin/pg_ctl" -D "$data/pg" -m fast stop >/dev/null 2>&1 || true
	fi
	for f in "$data/redis/redis.pid" "$data/mail/mailpit.pid"; do
		if [ -f "$f" ]; then kill "$(cat "$f")" 2>/dev/null || true; rm -f "$f"; fi
	done
	log "stopped"
}

case "${1:-}" in
start)
	shift
	start_postgres "$@"
	start_redis
	start_mailpit
	;;
stop) stop_all ;;
install-node) command -v npm >/dev/null 2>&1 || apt_install nodejs npm ;;
install-chromium) command -v chromium >/dev/null 2>&1 || apt_install chromium ;;
*)
	echo "usage: $0 start [database...] | stop | install-node | install-chromium" >&2
	exit 2
	;;
esac
