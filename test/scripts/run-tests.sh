#!/usr/bin/env bash
# make test: set up, then run every suite (pg_regress, isolation, TAP, fuzz) and
# end with "N passed, N failed"; exit non-zero on any failure.
set -uo pipefail
. "$(dirname "$0")/common.sh"

PORT=55432
CLUSTER=$TMP/test-cluster
passed=0
failed=0

# the result for make test-matrix, which adds it to its total: none
# until this run has finished
rm -f "$TMP/test-result"
ensure_deps
build_install
# a fresh cluster each run: tests also read its server log
rm -rf "$TMP/regress" "$TMP/regress-preloaded" "$TMP/isolation" "$TMP/tap" "$CLUSTER"
prepare_tmp
trap 'stop_cluster "$CLUSTER"' EXIT
log "starting the test cluster"
start_cluster "$CLUSTER" "$PORT"

# count_results FILE RC: add the per-test results pg_regress printed, in
# either of its formats:
#   15:  "test foo ... ok  12 ms", "     foo ... ok" (in a parallel group),
#        "test foo ... FAILED"
#   16+: "ok 1         - foo  12 ms" ("+ foo" in a parallel group),
#        "not ok 8     - foo  12 ms"
# A run that failed without a failed test (it stopped early, e.g. on a
# missing expected file or a "Bail out!") counts as one more failure.
count_results() {
	local ok bad
	ok=$(grep -Ec '^(test | +)?[[:alnum:]_]+ +\.\.\. ok|^ *ok [0-9]+ ' "$1" || true)
	bad=$(grep -Ec '\.\.\. (FAILED|failed)|^ *not ok [0-9]+ ' "$1" || true)
	passed=$((passed + ok))
	failed=$((failed + bad))
	if [ "$2" -ne 0 ] && [ "$bad" -eq 0 ]; then
		failed=$((failed + 1))
	fi
}

show_diffs() {
	local f=$1/regression.diffs
	if [ -s "$f" ]; then
		echo "---- $f (first 300 lines) ----"
		head -n 300 "$f"
	fi
}

# run_suite NAME DRIVER INPUTDIR DBNAME TESTS...: one pg_regress-style suite
run_suite() {
	local name=$1 driver=$2 inputdir=$3 db=$4 rc
	shift 4
	[ $# -gt 0 ] || return 0
	log "$name: $# tests"
	mkdir -p "$TMP/$name" && chown "$PGUSER_OS" "$TMP/$name"
	as_pg "$driver" --inputdir="$inputdir" --outputdir="$TMP/$name" --bindir="$PGBIN" \
		--host="$SOCKDIR" --port="$PORT" --dbname="$db" "$@" 2>&1 | tee "$TMP/$name.log"
	rc=${PIPESTATUS[0]}
	count_results "$TMP/$name.log" "$rc"
	[ "$rc" -eq 0 ] || show_diffs "$TMP/$name"
}

# pg_regress twice: first with teamacl loaded by each backend's first call,
# then preloaded (shared_preload_libraries: the cache all backends share is
# on), with the isolation specs.  A test that holds only in one of the two
# says so with a line "-- runs: without preload" or "-- runs: with preload".
regress_tests() {	# the marker a test must not have
	(cd "$TOP/sql" && for f in *.sql; do
		case $f in teamacl--*) continue ;; esac
		grep -qx -- "-- runs: $1" "$f" || echo "${f%.sql}"
	done) | sort
}
mapfile -t regress < <(regress_tests "with preload")
run_suite regress "$PG_REGRESS" "$TOP" contrib_regression "${regress[@]}"
log "restarting the test cluster with teamacl in shared_preload_libraries"
psql_pg "$PORT" postgres -qc "ALTER SYSTEM SET shared_preload_libraries = 'teamacl'" >/dev/null
start_cluster "$CLUSTER" "$PORT"
mapfile -t regress < <(regress_tests "without preload")
run_suite regress-preloaded "$PG_REGRESS" "$TOP" contrib_regression "${regress[@]}"
mapfile -t specs < <(cd "$TOP/test/specs" 2>/dev/null && ls *.spec 2>/dev/null | sed 's/\.spec$//' | sort)
run_suite isolation "$PG_ISOLATION_REGRESS" "$TOP/test" isolation_regression "${specs[@]}"

# TAP: each test file makes its own clusters with PostgreSQL::Test::Cluster
mapfile -t taps < <(ls "$TOP"/test/t/*.pl 2>/dev/null | sort)
if [ ${#taps[@]} -gt 0 ]; then
	log "TAP: ${#taps[@]} files"
	mkdir -p "$TMP/tap" && chown -R "$PGUSER_OS" "$TMP/tap"
	(cd "$TMP/tap" && as_pg env PATH="$PGBIN:$PATH" PG_REGRESS="$PG_REGRESS" TESTDIR="$TMP/tap" \
		PG_CONFIG="$PG_CONFIG" TEAMACL_TOP="$TOP" \
		prove --verbose -I "$PGXS_DIR/src/test/perl" -I "$TOP/test/t" "${taps[@]}") \
		2>&1 | tee "$TMP/tap.log"
	rc=${PIPESTATUS[0]}
	ok=$(grep -Ec '^ *ok [0-9]+' "$TMP/tap.log" || true)
	bad=$(grep -Ec '^ *not ok [0-9]+' "$TMP/tap.log" || true)
	# a file that died before finishing its plan counts as one failure
	died=$(grep -Ec 'No plan found|Bad plan' "$TMP/tap.log" || true)
	passed=$((passed + ok))
	failed=$((failed + bad + died))
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ] && [ "$died" -eq 0 ]; then
		failed=$((failed + 1))
	fi
	if [ "$rc" -ne 0 ]; then
		for f in "$TMP"/tap/tmp_check/log/*.log; do
			[ -f "$f" ] && { echo "---- $f (last 40 lines) ----"; tail -n 40 "$f"; }
		done
	fi
fi

# fuzz: sqlsmith with fixed seeds, as the superuser and the application
# role, on a cluster of its own; one TAP line per run
log "fuzz"
bash "$TOP/test/scripts/fuzz.sh" 2>&1 | tee "$TMP/fuzz.log"
rc=${PIPESTATUS[0]}
ok=$(grep -Ec '^ok [0-9]+' "$TMP/fuzz.log" || true)
bad=$(grep -Ec '^not ok [0-9]+' "$TMP/fuzz.log" || true)
passed=$((passed + ok))
failed=$((failed + bad))
if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
	failed=$((failed + 1))
fi

if [ "$failed" -gt 0 ]; then
	echo "---- server log (last 40 lines) ----"
	tail -n 40 "$CLUSTER/server.log" 2>/dev/null
fi
echo "$PG_MAJOR $passed $failed" >"$TMP/test-result"
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
