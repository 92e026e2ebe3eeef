#!/usr/bin/env bash
# make valgrind-check: run the pg_regress suite against a server running
# under valgrind (memcheck) and fail if any error report has a teamacl frame.
# The server preloads teamacl (shared_preload_libraries), so the shared
# cache is exercised too; the tests written for a server without it are
# left out.  Slow (several minutes), so it is not part of make test.
#
# Debian's postgres is not built with USE_VALGRIND, so palloc'd chunks are
# not tracked individually; memcheck still sees invalid reads and writes
# outside allocated blocks, use of uninitialised values and bad frees.
set -uo pipefail
. "$(dirname "$0")/common.sh"

PORT=55434
CLUSTER=$TMP/valgrind-cluster
VGLOG=$TMP/valgrind

ensure_deps
command -v valgrind >/dev/null || { apt-get update -qq && apt-get install -y -qq valgrind >/dev/null; }
build_install
prepare_tmp
rm -rf "$VGLOG" "$TMP/valgrind-regress"
mkdir -p "$VGLOG" "$TMP/valgrind-regress"
chown "$PGUSER_OS" "$VGLOG" "$TMP/valgrind-regress"

# create the cluster with the usual settings, then run postgres by hand
start_cluster "$CLUSTER" "$PORT"
stop_cluster "$CLUSTER"
as_pg valgrind --quiet --trace-children=yes --leak-check=no --num-callers=30 \
	--error-limit=no --log-file="$VGLOG/%p.log" \
	"$PGBIN/postgres" -D "$CLUSTER" -c shared_preload_libraries=teamacl >"$CLUSTER/server.log" 2>&1 &
trap 'as_pg "$PGBIN/pg_ctl" -D "$CLUSTER" -m fast -w stop >/dev/null 2>&1 || true' EXIT
for _ in $(seq 1 120); do
	as_pg "$PGBIN/pg_isready" -q -h "$SOCKDIR" -p "$PORT" && break
	sleep 1
done
as_pg "$PGBIN/pg_isready" -q -h "$SOCKDIR" -p "$PORT" || die "server under valgrind did not start"

mapfile -t regress < <(cd "$TOP/sql" && for f in *.sql; do
	case $f in teamacl--*) continue ;; esac
	grep -qx -- "-- runs: without preload" "$f" || echo "${f%.sql}"
done | sort)
log "pg_regress under valgrind: ${#regress[@]} tests"
as_pg "$PG_REGRESS" --inputdir="$TOP" --outputdir="$TMP/valgrind-regress" --bindir="$PGBIN" \
	--host="$SOCKDIR" --port="$PORT" --dbname=contrib_regression "${regress[@]}"
regress_rc=$?
as_pg "$PGBIN/pg_ctl" -D "$CLUSTER" -m fast -w stop >/dev/null 2>&1 || true
trap - EXIT

# an error report is a block of "==pid==" lines; keep those naming teamacl.
# The hook entry points (TeamaclExecutorStart, TeamaclProcessUtility,
# TeamaclPlanner) stand in nearly every stack, passing the statement on to
# PostgreSQL: a report whose only teamacl frames are those arose below them,
# in PostgreSQL's own code (any of teamacl's own work inside a hook shows up
# as a frame of its own, above the entry point).
# Likewise teamacl's frames that called ReceiveSharedInvalidMessages (the
# cache reads invalidations at each statement start): core's known report
# on sinval messages (smgrclosenode) arises inside it; teamacl's own
# relcache callback would show above it, as a frame of its own.
reports=$(awk '/^==[0-9]+== [A-Z].*(Invalid|uninitialised|Mismatched|free|overlap)/ {blk=$0; keep=0; core=0; next}
	blk != "" && /^==[0-9]+== +(at|by) / {blk=blk "\n" $0
		if ($0 ~ /: ReceiveSharedInvalidMessages /) core=1
		if (!core && $0 ~ /teamacl/ && $0 !~ /: (TeamaclExecutorStart|TeamaclProcessUtility|TeamaclPlanner) \(/) keep=1; next}
	blk != "" {if (keep) print blk "\n"; blk=""; keep=0; core=0}' "$VGLOG"/*.log)
if [ -n "$reports" ]; then
	echo "$reports"
	echo "valgrind: errors in teamacl code"
	exit 1
fi
echo "valgrind: no errors in teamacl code ($(cat "$VGLOG"/*.log | grep -c '^==[0-9]*== [A-Z]') reports elsewhere)"
exit "$regress_rc"
