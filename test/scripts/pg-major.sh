#!/usr/bin/env bash
# Print the PostgreSQL major version teamacl builds and tests against:
#   - PG_CONFIG's version when PG_CONFIG is given (or the N of a
#     /usr/lib/postgresql/N/bin/pg_config path not installed yet);
#   - else PG_MAJOR when given;
#   - else the distribution's default major: the one its "postgresql"
#     package depends on (postgresql-common's default, or apt's view of
#     the postgresql package), or failing both the newest one installed.
# Prints nothing and exits 1 when none can be found.  --no-update: never
# run apt-get update to learn the default (the Makefile's mode; the test
# scripts, as root, may update the package lists of a fresh machine).
set -u

if [ -n "${PG_CONFIG:-}" ]; then
	if [ -x "$PG_CONFIG" ]; then
		"$PG_CONFIG" --version | sed -nE 's/^PostgreSQL ([0-9]+).*/\1/p'
		exit 0
	fi
	case $PG_CONFIG in
		/usr/lib/postgresql/*/bin/pg_config)
			n=${PG_CONFIG#/usr/lib/postgresql/}
			echo "${n%%/*}"
			exit 0 ;;
	esac
	echo "pg-major.sh: PG_CONFIG=$PG_CONFIG is not an executable pg_config" >&2
	exit 1
fi
if [ -n "${PG_MAJOR:-}" ]; then
	echo "$PG_MAJOR"
	exit 0
fi

# postgresql-common knows the distribution's default; ask for "default"
# so a local supported_versions list (apt.postgresql.org) does not count
sv=/usr/share/postgresql-common/supported-versions
if [ -x "$sv" ]; then
	v=$(PG_SUPPORTED_VERSIONS=default "$sv" 2>/dev/null | tail -n 1)
	[ -n "$v" ] && { echo "$v"; exit 0; }
fi

from_apt() {
	apt-cache depends postgresql 2>/dev/null |
		sed -nE 's/^ *Depends: postgresql-([0-9]+)$/\1/p' | head -n 1
}
v=$(from_apt)
if [ -z "$v" ] && [ "${1:-}" != --no-update ] && [ "$(id -u)" = 0 ] &&
	command -v apt-get >/dev/null; then
	apt-get update -qq >/dev/null 2>&1
	v=$(from_apt)
fi
[ -n "$v" ] && { echo "$v"; exit 0; }

v=$(ls -d /usr/lib/postgresql/[0-9]*/bin/postgres 2>/dev/null |
	sed -nE 's|^/usr/lib/postgresql/([0-9]+)/.*|\1|p' | sort -n | tail -n 1)
[ -n "$v" ] && { echo "$v"; exit 0; }
exit 1
