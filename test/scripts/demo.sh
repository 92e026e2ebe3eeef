#!/usr/bin/env bash
# make demo: set up, start (or reuse) a private cluster in tmp/demo-cluster,
# walk through test/demo.sql, and leave the cluster running for psql.
# make demo-stop (demo.sh stop) stops it.
set -euo pipefail
. "$(dirname "$0")/common.sh"

PORT=55433
CLUSTER=$TMP/demo-cluster

if [ "${1:-}" = stop ]; then
	stop_cluster "$CLUSTER"
	echo "demo cluster stopped"
	exit 0
fi

ensure_deps
build_install
log "starting the demo cluster in $CLUSTER"
start_cluster "$CLUSTER" "$PORT"
if ! psql_pg "$PORT" postgres -Atc "SELECT 1 FROM pg_database WHERE datname = 'teamacl_demo'" | grep -q 1; then
	psql_pg "$PORT" postgres -qc "CREATE DATABASE teamacl_demo"
fi
log "running the demo (test/demo.sql)"
psql_pg "$PORT" teamacl_demo -v ON_ERROR_STOP=1 --echo-all -f "$TOP/test/demo.sql"

cat <<MSG

The demo cluster is still running. Connect with:

    runuser -u postgres -- psql -h $SOCKDIR -p $PORT teamacl_demo

Stop it with:  make demo-stop
MSG
