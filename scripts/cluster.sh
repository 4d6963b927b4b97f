#!/usr/bin/env bash
# A production-shaped Ledgerline on one machine: a PostgreSQL primary with a streaming read replica
# (pg_basebackup -R), Redis, three `ledgerline serve` instances (HTTP and River workers each) and nginx in
# front. Everything lives under one directory on its own ports, so it never touches the services of
# `make run` or the system's. `make cluster` starts it; the fault tests (make verify) start their own.
#
# Usage: scripts/cluster.sh start|stop|env|start-app N|stop-app N|kill-app N|start-pg|kill-pg|stop-redis|start-redis
# Settings: CLUSTER_DIR (default .data/cluster), CLUSTER_PORT (base port, default 27100: nginx on base+10,
# instances on base+11.., primary base+1, replica base+2, Redis base+3), CLUSTER_INSTANCES (3),
# SMTP_URL (default: the mailpit of `make run`), LEDGERLINE_BIN (default bin/ledgerline). The ports sit below
# the kernel's ephemeral range (32768-60999), so an outgoing connection can never be holding one.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${CLUSTER_DIR:-$root/.data/cluster}
base=${CLUSTER_PORT:-27100}
instances=${CLUSTER_INSTANCES:-3}
bin=${LEDGERLINE_BIN:-$root/bin/ledgerline}
pg_port=$((base + 1))
replica_port=$((base + 2))
redis_port=$((base + 3))
lb_port=$((base + 10))
smtp_url=${SMTP_URL:-smtp://127.0.0.1:51025}
pgbin=/usr/lib/postgresql/15/bin

log() { printf 'cluster: %s\n' "$*" >&2; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
app_port() { echo $((base + 10 + $1)); }

db_url() { echo "postgres://ledgerline_app:ledgerline_app@127.0.0.1:$1/ledgerline?sslmode=disable"; }
owner_url() { echo "postgres://ledgerline_owner:ledgerline_owner@127.0.0.1:$pg_port/ledgerline?sslmode=disable"; }

install_missing() {
	local missing=()
	command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
	[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || missing+=(nginx)
	[ -x "$pgbin/initdb" ] || missing+=(postgresql-15)
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing ${missing[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null ||
			{ DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
				DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; }
	fi
}

prepare_dir() {
	mkdir -p "$dir/nginx-tmp"
	if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
		useradd --system --home-dir "$dir" --shell /usr/sbin/nologin postgres
	fi
	if [ "$(id -u)" -eq 0 ]; then
		# The postgres user must be able to reach the data directories, even under /root.
		local p="$dir"
		while [ "$p" != "/" ]; do chmod o+x "$p" 2>/dev/null || true; p=$(dirname "$p"); done
	fi
}

init_primary() {
	local data="$dir/primary"
	[ -f "$data/PG_VERSION" ] && return
	log "creating the primary in $data"
	mkdir -p "$data"
	[ "$(id -u)" -eq 0 ] && chown postgres "$data"
	chmod 0700 "$data"
	as_pg "$pgbin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
	cat >>"$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $pg_port
unix_socket_directories = '$data'
max_connections = 200
shared_buffers = 128MB
wal_level = replica
max_wal_senders = 5
wal_keep_size = 256MB
hot_standby_feedback = on
log_min_messages = warning
CONF
}

start_pg_primary() {
	local data="$dir/primary"
	if as_pg "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1; then return; fi
	log "starting the primary on 127.0.0.1:$pg_port"
	# After a kill -9 the old backends may hold the shared memory for a moment: try again.
	for _ in $(seq 1 30); do
		as_pg "$pgbin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null 2>&1 && return
		sleep 0.5
	done
	log "the primary did not start; see $data/server.log"
	exit 1
}

create_database() {
	as_pg "$pgbin/psql" -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 <<'SQL'
DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ledgerline_owner') THEN
		CREATE ROLE ledgerline_owner LOGIN CREATEDB BYPASSRLS PASSWORD 'ledgerline_owner';
	END IF;
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ledgerline_app') THEN
		CREATE ROLE ledgerline_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD 'ledgerline_app';
	END IF;
END $$;
SQL
	if [ -z "$(as_pg "$pgbin/psql" -tA -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'ledgerline'")" ]; then
		as_pg "$pgbin/psql" -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -c "CREATE DATABASE ledgerline OWNER ledgerline_owner" >/dev/null
		as_pg "$pgbin/psql" -q -h 127.0.0.1 -p "$pg_port" -U postgres -d ledgerline -c "CREATE EXTENSION IF NOT EXISTS pg_trgm; REVOKE CREATE ON SCHEMA public FROM PUBLIC; ALTER SCHEMA public OWNER TO ledgerline_owner;" >/dev/null
	fi
}

start_replica() {
	local data="$dir/replica"
	if [ ! -f "$data/PG_VERSION" ]; then
		log "cloning the replica from the primary (pg_basebackup -R)"
		mkdir -p "$data"
		[ "$(id -u)" -eq 0 ] && chown postgres "$data"
		chmod 0700 "$data"
		as_pg "$pgbin/pg_basebackup" -h 127.0.0.1 -p "$pg_port" -U postgres -D "$data" -R -X stream -c fast
		# The copied postgresql.conf names the primary's port and socket; later lines win.
		cat >>"$data/postgresql.conf" <<CONF
port = $replica_port
unix_socket_directories = '$data'
hot_standby = on
CONF
	fi
	if as_pg "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1; then return; fi
	log "starting the replica on 127.0.0.1:$replica_port"
	as_pg "$pgbin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 start >/dev/null
}

start_redis() {
	mkdir -p "$dir/redis"
	if [ -f "$dir/redis/redis.pid" ] && kill -0 "$(cat "$dir/redis/redis.pid")" 2>/dev/null; then return; fi
	log "starting Redis on 127.0.0.1:$redis_port"
	redis-server --port "$redis_port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
		--pidfile "$dir/redis/redis.pid" --logfile "$dir/redis/redis.log" --dir "$dir/redis"
	for _ in $(seq 1 50); do
		redis-cli -p "$redis_port" ping >/dev/null 2>&1 && return
		sleep 0.1
	done
	log "Redis did not answer"
	exit 1
}

stop_redis() {
	local pid
	if [ -f "$dir/redis/redis.pid" ]; then
		pid=$(cat "$dir/redis/redis.pid")
		kill "$pid" 2>/dev/null || true
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		rm -f "$dir/redis/redis.pid"
	fi
}

start_app() {
	local n=$1 port pidf
	port=$(app_port "$n")
	pidf="$dir/app$n.pid"
	if [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; then return; fi
	DATABASE_URL=$(db_url "$pg_port") READ_DATABASE_URL=$(db_url "$replica_port") MIGRATE_DATABASE_URL=$(owner_url) \
		REDIS_URL="redis://127.0.0.1:$redis_port/0" REDIS_KEY_PREFIX="cluster:" HTTP_ADDR="127.0.0.1:$port" \
		BASE_URL="http://127.0.0.1:$lb_port" TRUSTED_PROXIES=127.0.0.1 SMTP_URL="$smtp_url" \
		SHUTDOWN_TIMEOUT=${SHUTDOWN_TIMEOUT:-10s} DB_MAX_CONNS=${DB_MAX_CONNS:-15} RIVER_WORKERS=${RIVER_WORKERS:-4} \
		PLATFORM_OPERATORS=admin@acme.example JOB_RESCUE_AFTER=${JOB_RESCUE_AFTER:-} \
		nohup "$bin" serve >>"$dir/app$n.log" 2>&1 &
	echo $! >"$pidf"
	for _ in $(seq 1 100); do
		curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return
		sleep 0.1
	done
	log "instance $n did not become ready; see $dir/app$n.log"
	exit 1
}

# stop_app sends SIGTERM (graceful: finish requests and jobs) and waits for the exit.
stop_app() {
	local pidf="$dir/app$1.pid" pid
	[ -f "$pidf" ] || return 0
	pid=$(cat "$pidf")
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	rm -f "$pidf"
}

kill_app() {
	local pidf="$dir/app$1.pid"
	[ -f "$pidf" ] || return 0
	kill -KILL "$(cat "$pidf")" 2>/dev/null || true
	rm -f "$pidf"
}

start_nginx() {
	local ngx
	ngx=$(command -v nginx || echo /usr/sbin/nginx)
	local upstreams="" n
	for n in $(seq 1 "$instances"); do
		upstreams+="        server 127.0.0.1:$(app_port "$n") max_fails=1 fail_timeout=2s;\n"
	done
	# The template lists three instances; any other number is written out here.
	sed -e "s#@DIR@#$dir#g" -e "s#@LB@#$lb_port#g" \
		-e "/server 127.0.0.1:@APP[23]@/d" -e "s#        server 127.0.0.1:@APP1@.*#$upstreams#" \
		"$root/deploy/nginx/cluster.conf.in" >"$dir/nginx.conf"
	if [ -f "$dir/nginx.pid" ] && kill -0 "$(cat "$dir/nginx.pid")" 2>/dev/null; then
		"$ngx" -p "$dir" -c "$dir/nginx.conf" -s reload
		return
	fi
	log "starting nginx on 127.0.0.1:$lb_port"
	"$ngx" -p "$dir" -c "$dir/nginx.conf"
}

stop_all() {
	local ngx n
	ngx=$(command -v nginx || echo /usr/sbin/nginx)
	if [ -f "$dir/nginx.pid" ]; then
		local npid
		npid=$(cat "$dir/nginx.pid")
		"$ngx" -p "$dir" -c "$dir/nginx.conf" -s quit 2>/dev/null || true
		# quit is graceful and returns at once: wait, so the port is free for the next start.
		for _ in $(seq 1 100); do kill -0 "$npid" 2>/dev/null || break; sleep 0.1; done
	fi
	for n in $(seq 1 "$instances"); do stop_app "$n"; done
	for d in replica primary; do
		[ -f "$dir/$d/PG_VERSION" ] && as_pg "$pgbin/pg_ctl" -D "$dir/$d" -m fast stop >/dev/null 2>&1 || true
	done
	stop_redis
	log "stopped"
}

print_env() {
	cat <<ENV
CLUSTER_URL=http://127.0.0.1:$lb_port
CLUSTER_INSTANCES=$instances
CLUSTER_INSTANCE_URLS=$(for n in $(seq 1 "$instances"); do printf 'http://127.0.0.1:%s ' "$(app_port "$n")"; done)
CLUSTER_PRIMARY_URL=postgres://postgres@127.0.0.1:$pg_port/ledgerline?sslmode=disable
CLUSTER_REPLICA_URL=postgres://postgres@127.0.0.1:$replica_port/ledgerline?sslmode=disable
CLUSTER_REDIS_URL=redis://127.0.0.1:$redis_port/0
ENV
}

case "${1:-}" in
start)
	install_missing
	[ -x "$bin" ] || { log "build the binary first (make build)"; exit 1; }
	prepare_dir
	init_primary
	start_pg_primary
	create_database
	start_redis
	DATABASE_URL=$(db_url "$pg_port") MIGRATE_DATABASE_URL=$(owner_url) "$bin" migrate 2>>"$dir/migrate.log"
	DATABASE_URL=$(db_url "$pg_port") REDIS_URL="redis://127.0.0.1:$redis_port/0" "$bin" seed >>"$dir/seed.log" 2>&1
	start_replica
	for n in $(seq 1 "$instances"); do start_app "$n"; done
	start_nginx
	print_env
	;;
stop) stop_all ;;
env) print_env ;;
start-app) start_app "$2" ;;
stop-app) stop_app "$2" ;;
kill-app) kill_app "$2" ;;
start-pg) start_pg_primary ;;
kill-pg) kill -KILL "$(head -1 "$dir/primary/postmaster.pid")" ;;
stop-redis) stop_redis ;;
start-redis) start_redis ;;
*)
	echo "usage: $0 start|stop|env|start-app N|stop-app N|kill-app N|start-pg|kill-pg|stop-redis|start-redis" >&2
	exit 2
	;;
esac
