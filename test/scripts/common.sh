#!/usr/bin/env bash
# Shared set-up for make test, make demo, make bench and make valgrind-check.
#
# Runs as root on Debian: installs the PostgreSQL server and headers when
# missing, builds and installs the extension, and runs private clusters as
# the postgres OS user inside the checkout's tmp/ directory.
#
# Which PostgreSQL: PG_CONFIG when given, else PG_MAJOR (e.g. PG_MAJOR=17),
# else the distribution's default major (test/scripts/pg-major.sh):
# 15 on Debian 12, 17 on Debian 13.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TMP=$TOP/tmp

PG_MAJOR=$(bash "$TOP/test/scripts/pg-major.sh") ||
	{ echo "error: no PostgreSQL found: set PG_MAJOR or PG_CONFIG" >&2; exit 1; }
if [ -n "${PG_CONFIG:-}" ] && [ -x "$PG_CONFIG" ]; then
	PGBIN=$("$PG_CONFIG" --bindir)
	PGXS_DIR=$("$PG_CONFIG" --pgxs)
	PGXS_DIR=${PGXS_DIR%/src/makefiles/pgxs.mk}
else
	PGBIN=/usr/lib/postgresql/$PG_MAJOR/bin
	PG_CONFIG=$PGBIN/pg_config
	PGXS_DIR=/usr/lib/postgresql/$PG_MAJOR/lib/pgxs
fi
PG_REGRESS=$PGXS_DIR/src/test/regress/pg_regress
PG_ISOLATION_REGRESS=$PGXS_DIR/src/test/isolation/pg_isolation_regress
SOCKDIR=$TMP/sock
PGUSER_OS=postgres

log() { printf '\n==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Install what is missing, quietly when nothing is.
ensure_deps() {
	local missing=()
	[ -x "$PGBIN/postgres" ] || missing+=("postgresql-$PG_MAJOR")
	# postgresql-client-N ships pg_config and pgxs.mk but not the server
	# headers: test for a header, or a machine with only the server fails
	[ -x "$PG_CONFIG" ] && [ -f "$PGXS_DIR/src/makefiles/pgxs.mk" ] \
		&& [ -f "$("$PG_CONFIG" --includedir-server)/postgres.h" ] || missing+=("postgresql-server-dev-$PG_MAJOR")
	[ -x "$PG_ISOLATION_REGRESS" ] || missing+=("postgresql-server-dev-$PG_MAJOR")
	perl -MIPC::Run -e1 2>/dev/null || missing+=(libipc-run-perl)
	command -v gcc >/dev/null || missing+=(gcc libc6-dev)
	command -v make >/dev/null || missing+=(make)
	command -v prove >/dev/null || missing+=(perl)
	# the pooler and the example application's driver, for the TAP tests
	[ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
	/usr/bin/python3 -c 'import psycopg' 2>/dev/null || missing+=(python3-psycopg)
	# the query generator of the fuzz suite
	command -v sqlsmith >/dev/null || missing+=(sqlsmith)
	if [ ${#missing[@]} -gt 0 ]; then
		[ "$(id -u)" = 0 ] || die "missing ${missing[*]}; run as root so they can be installed"
		log "installing ${missing[*]}"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
			|| die "could not install ${missing[*]}"
	fi
	id "$PGUSER_OS" >/dev/null 2>&1 || die "the postgres OS user is missing"
}

build_install() {
	log "building and installing teamacl"
	make -C "$TOP" -s PG_CONFIG="$PG_CONFIG" >/dev/null || die "build failed"
	make -C "$TOP" -s PG_CONFIG="$PG_CONFIG" install >/dev/null || die "install failed"
}

# tmp/ belongs to postgres; every directory above it must be searchable.
prepare_tmp() {
	mkdir -p "$TMP" "$SOCKDIR"
	chown "$PGUSER_OS" "$TMP" "$SOCKDIR"
	local d=$TOP
	while [ "$d" != / ]; do
		chmod o+x "$d" 2>/dev/null || true
		d=$(dirname "$d")
	done
	chmod -R o+rX "$TOP/sql" "$TOP/expected" "$TOP/test" 2>/dev/null || true
}

as_pg() { runuser -u "$PGUSER_OS" -- "$@"; }

# start_cluster DIR PORT: initdb when new, (re)start the server
start_cluster() {
	local dir=$1 port=$2
	prepare_tmp
	if [ ! -f "$dir/PG_VERSION" ]; then
		mkdir -p "$dir"
		chown "$PGUSER_OS" "$dir"
		as_pg "$PGBIN/initdb" -D "$dir" -A trust --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null \
			|| die "initdb failed"
		cat >>"$dir/postgresql.conf" <<-EOF
			listen_addresses = ''
			unix_socket_directories = '$SOCKDIR'
			port = $port
			fsync = off
			synchronous_commit = off
			full_page_writes = off
			max_prepared_transactions = 10
			logging_collector = off
			log_min_messages = warning
			max_connections = 100
		EOF
	fi
	if as_pg "$PGBIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
		as_pg "$PGBIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
	fi
	as_pg "$PGBIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start >/dev/null \
		|| { tail -n 30 "$dir/server.log" >&2; die "server did not start"; }
}

stop_cluster() {
	local dir=$1
	if [ -f "$dir/PG_VERSION" ] && as_pg "$PGBIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
		as_pg "$PGBIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null || true
	fi
}

# psql_pg PORT DB ARGS...: psql as postgres on a private cluster
psql_pg() {
	local port=$1 db=$2
	shift 2
	as_pg "$PGBIN/psql" -X -h "$SOCKDIR" -p "$port" -d "$db" "$@"
}
