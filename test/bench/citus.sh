#!/usr/bin/env bash
# make bench (Citus part): protect() on a table distributed by its team
# column against the limit, on one Citus cluster (a coordinator and two
# workers), as medians of interleaved rounds, with the number of shard
# tasks each statement touches.  Skipped (exit 0) when citus.so is not
# installed for this PostgreSQL (README "Scaling out" says how to get it).
#
#   USERS=2000 TEAMS=400 (3 teams per user, as members), 100 rows per team,
#   docs distributed by team_id in 32 shards
#   ROUNDS=5 DURATION=5   rounds and seconds per pgbench run; QUICK=1
#   MODE=prepared         pgbench's query protocol (simple, extended, prepared)
#   WORKLOADS="..."       run only these statements (default: all three)
#   BENCH_INSTALL=0       measure the teamacl already installed
#
# Pooled transactions (pgbench, 1 client, a random user per transaction,
# the same users in the same order for both variants):
#   limit    BYPASSRLS role: BEGIN; set_config(user); the statement with
#            AND team_id = ANY (the user's teams); COMMIT
#   protect  the application role: BEGIN; set_user(user); the statement; COMMIT
# Statements:
#   point       router point read: WHERE team_id = <a team of the user> AND id = <its row>
#   team_count  one-team count: count(*) WHERE team_id = <a team of the user>
#   my_count    count(*) over every team of the user (multi-shard, pruned)
# Target: protect at least 0.90x the limit's TPS, the same task count.
#
# Not part of make test.  Stops its servers at exit.
set -euo pipefail
. "$(dirname "$0")/../scripts/common.sh"

pkglibdir=$("$PG_CONFIG" --pkglibdir 2>/dev/null || true)
if [ ! -f "$pkglibdir/citus.so" ]; then
	echo "bench citus: skipped: Citus is not installed for this PostgreSQL (citus.so not in ${pkglibdir:-?}): see README \"Scaling out\""
	exit 0
fi

USERS=${USERS:-2000}
TEAMS=${TEAMS:-400}
ROWS_PER_TEAM=${ROWS_PER_TEAM:-100}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
MODE=${MODE:-prepared}
if [ "${QUICK:-0}" = 1 ]; then ROUNDS=1; DURATION=2; fi
PORTS=(55437 55438 55439)
NAMES=(coord w1 w2)
BASE=$TMP/bench-citus
OUT=${BENCH_OUT:-$TMP/bench-citus-out}
PGBENCH=$PGBIN/pgbench
KEY=$(head -c 36 /dev/urandom | base64 | tr -d '\n')

ensure_deps
[ "${BENCH_INSTALL:-1}" = 0 ] || build_install
for n in "${NAMES[@]}"; do stop_cluster "$BASE/$n"; done
rm -rf "$BASE" "$OUT"
prepare_tmp
mkdir -p "$BASE" "$OUT" && chown "$PGUSER_OS" "$BASE" "$OUT"
cleanup() {
	for n in "${NAMES[@]}"; do stop_cluster "$BASE/$n"; done
	rm -rf "$BASE"
}
trap cleanup EXIT
for i in 0 1 2; do
	start_cluster "$BASE/${NAMES[$i]}" "${PORTS[$i]}"
	cat >>"$BASE/${NAMES[$i]}/postgresql.conf" <<-EOF
		shared_preload_libraries = 'citus,teamacl'
		teamacl.cluster_key = '$KEY'
		shared_buffers = '256MB'
		jit = off
		autovacuum = off
		max_parallel_workers_per_gather = 0
		max_prepared_transactions = 20
	EOF
	if [ "$i" = 0 ]; then
		cat >>"$BASE/coord/postgresql.conf" <<-EOF
			citus.propagate_set_commands = 'local'
			citus.local_table_join_policy = 'prefer-distributed'
		EOF
	fi
	start_cluster "$BASE/${NAMES[$i]}" "${PORTS[$i]}"
done
C=${PORTS[0]}
for p in "${PORTS[@]}"; do psql_pg "$p" postgres -qc "CREATE EXTENSION citus" >/dev/null; done
q() { psql_pg "$C" postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
q -c "SELECT citus_set_coordinator_host('$SOCKDIR', $C)" >/dev/null
for p in "${PORTS[@]:1}"; do q -c "SELECT citus_add_node('$SOCKDIR', $p)" >/dev/null; done

log "building the dataset: $USERS users, $TEAMS teams, $((TEAMS * ROWS_PER_TEAM)) rows in 32 shards"
q <<-EOF
	SET client_min_messages = warning;
	CREATE EXTENSION teamacl CASCADE;
	CREATE ROLE bench_app LOGIN;
	CREATE ROLE bench_limit LOGIN BYPASSRLS;
	GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) TO bench_app;
	-- users, teams and memberships straight into teamacl's (local) tables
	INSERT INTO teamacl.users (id, email) SELECT gen_random_uuid(), 'u' || g || '@example.com' FROM generate_series(1, $USERS) g;
	INSERT INTO teamacl.teams (id, name, plan) SELECT gen_random_uuid(), 'team ' || g, 'enterprise' FROM generate_series(1, $TEAMS) g;
	CREATE TABLE bench_users AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM teamacl.users;
	CREATE TABLE bench_teams AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM teamacl.teams;
	INSERT INTO teamacl.members (team_id, user_id, role_id)
	SELECT DISTINCT t.id, u.id, '00000000-0000-4000-a000-000000000003'::uuid
	  FROM bench_users u, generate_series(0, 2) k
	  JOIN LATERAL (SELECT id FROM bench_teams WHERE n = 1 + (u.n * 7 + k * 131) % $TEAMS) t ON true;
	-- the application's table, distributed by its team column
	CREATE TABLE docs (id bigint NOT NULL, team_id uuid NOT NULL, body text NOT NULL, PRIMARY KEY (team_id, id));
	SELECT create_distributed_table('docs', 'team_id', shard_count => 32);
	SELECT teamacl.protect('docs');
	GRANT SELECT ON docs TO bench_app, bench_limit;
	-- row g belongs to team 1 + g % TEAMS
	INSERT INTO docs SELECT g, t.id, 'doc ' || g
	  FROM generate_series(1, $TEAMS * $ROWS_PER_TEAM) g JOIN bench_teams t ON t.n = 1 + g % $TEAMS;
	-- a random user's id, team list, one of their teams and a row of it
	-- (a local table on the coordinator, read before each transaction)
	CREATE TABLE sample (n int PRIMARY KEY, uid uuid, teams uuid[], team uuid, doc bigint, mine bigint);
	INSERT INTO sample
	SELECT u.n, u.id, m.teams, m.teams[1], CASE WHEN t.n = 1 THEN $TEAMS ELSE t.n - 1 END,
		   cardinality(m.teams) * $ROWS_PER_TEAM
	  FROM bench_users u
	  JOIN LATERAL (SELECT array_agg(team_id ORDER BY team_id) AS teams FROM teamacl.members WHERE user_id = u.id) m ON true
	  JOIN bench_teams t ON t.id = m.teams[1];
	GRANT SELECT ON sample TO bench_app, bench_limit;
	ANALYZE;
EOF

# script VARIANT STATEMENT [check]: one pooled transaction (pgbench puts a
# variable's text in place with -M simple, a parameter otherwise); with
# "check", a wrong answer is a division by zero, which aborts pgbench
script() {
	local v=$1 w=$2 check=${3:-} filter="" q="" stmt
	[ "$MODE" = simple ] && q="'"
	echo "\\set n random(1, $USERS)"
	echo "SELECT uid, teams, team, doc, mine FROM sample WHERE n = :n \\gset"
	echo "BEGIN;"
	if [ "$v" = limit ]; then
		echo "SELECT set_config('bench.uid', $q:uid$q, true);"
		filter=" AND team_id = ANY ($q:teams$q::uuid[])"
	else
		echo "SELECT teamacl.set_user($q:uid$q);"
	fi
	case $w in
		point) stmt="SELECT body FROM docs WHERE team_id = $q:team$q AND id = :doc$filter" ;;
		team_count) stmt="SELECT count(*) FROM docs WHERE team_id = $q:team$q$filter" ;;
		my_count) stmt="SELECT count(*) FROM docs WHERE true$filter" ;;
	esac
	if [ -z "$check" ]; then
		echo "$stmt;"
	else
		case $w in
			point) echo "SELECT 1 / (count(*) = 1)::int FROM ($stmt) s;" ;;
			team_count) echo "SELECT 1 / (c = $ROWS_PER_TEAM)::int FROM ($stmt) s(c);" ;;
			my_count) echo "SELECT 1 / (c = :mine)::int FROM ($stmt) s(c);" ;;
		esac
	fi
	echo "COMMIT;"
}
# the statement for sample user N in psql, with literals
literal() {
	local v=$1 w=$2 n=$3 uid teams team doc filter=""
	IFS='|' read -r uid teams team doc <<<"$(q -c "SELECT uid, teams, team, doc FROM sample WHERE n = $n")"
	[ "$v" = limit ] && filter=" AND team_id = ANY ('$teams'::uuid[])"
	case $w in
		point) echo "SELECT body FROM docs WHERE team_id = '$team' AND id = $doc$filter" ;;
		team_count) echo "SELECT count(*) FROM docs WHERE team_id = '$team'$filter" ;;
		my_count) echo "SELECT count(*) FROM docs WHERE true$filter" ;;
	esac
}
# run_as VARIANT N SQL: in one transaction as the variant's role, for sample user N
run_as() {
	local v=$1 n=$2 sql=$3 role=bench_app uid pre
	uid=$(q -c "SELECT uid FROM sample WHERE n = $n")
	pre="SELECT teamacl.set_user('$uid')"
	[ "$v" = limit ] && role=bench_limit pre="SELECT set_config('bench.uid', '$uid', true)"
	printf 'BEGIN;\n%s \\gset pre_\n%s;\nCOMMIT;\n' "$pre" "$sql" |
		as_pg "$PGBIN/psql" -X -qAt -v ON_ERROR_STOP=1 -h "$SOCKDIR" -p "$C" -d postgres -U "$role" -f -
}

workloads=${WORKLOADS:-point team_count my_count}
scripts=$OUT/scripts
mkdir -p "$scripts"
for w in $workloads; do
	for v in limit protect; do
		script "$v" "$w" >"$scripts/$w-$v.sql"
		script "$v" "$w" check >"$scripts/check-$w-$v.sql"
	done
done
chown -R "$PGUSER_OS" "$OUT"

# both variants must see the same rows, and touch the same shards
log "checking that protect() sees the limit's rows, and the tasks each touches"
tasks=$OUT/tasks.txt
: >"$tasks"
for w in $workloads; do
	for n in 1 $((USERS / 2)) "$USERS"; do
		got_l=$(run_as limit "$n" "$(literal limit "$w" "$n")")
		got_p=$(run_as protect "$n" "$(literal protect "$w" "$n")")
		printf '  %-10s user %-5s limit %-10s protect %s\n' "$w" "$n" "$got_l" "$got_p"
		[ -n "$got_l" ] && [ "$got_l" = "$got_p" ] || die "$w: protect() does not see what the limit sees for user $n"
	done
	for v in limit protect; do
		t=$(run_as "$v" 1 "EXPLAIN (COSTS OFF) $(literal "$v" "$w" 1)" | sed -nE 's/.*Task Count: ([0-9]+).*/\1/p' | head -n 1)
		echo "$w $v ${t:-?}" >>"$tasks"
	done
done
# and under pgbench, in the protocol measured (past the fifth execution of a
# prepared statement its plan may be generic), every answer right
for w in $workloads; do
	for v in limit protect; do
		role=bench_app; [ "$v" = limit ] && role=bench_limit
		as_pg "$PGBENCH" -h "$SOCKDIR" -p "$C" -U "$role" -n -t 50 -M "$MODE" -f "$scripts/check-$w-$v.sql" -d postgres \
			>"$OUT/check-$w-$v.log" 2>&1 || { cat "$OUT/check-$w-$v.log"; die "$w $v failed under pgbench"; }
	done
done

log "pooled transactions: $ROUNDS rounds x ${DURATION}s per variant and statement, interleaved"
results=$OUT/tps.txt
: >"$results"
order=(limit protect)
for r in $(seq 1 "$ROUNDS"); do
	for w in $workloads; do
		for i in 0 1; do
			v=${order[$(( (i + r) % 2 ))]}
			role=bench_app; [ "$v" = limit ] && role=bench_limit
			tps=$(as_pg "$PGBENCH" -h "$SOCKDIR" -p "$C" -U "$role" -n -T "$DURATION" -M "$MODE" --random-seed="$r" \
				-f "$scripts/$w-$v.sql" -d postgres 2>/dev/null | awk '/^tps/ {print int($3)}')
			echo "$w $v ${tps:-0}" >>"$results"
			printf '  round %s %-10s %-8s %s TPS\n' "$r" "$w" "$v" "${tps:-0}"
		done
	done
done
median() { grep "^$1 $2 " "$results" | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

report=$OUT/results.md
{
	echo "## Citus: a coordinator and two workers, $USERS users, $TEAMS teams, $((TEAMS * ROWS_PER_TEAM)) rows in 32 shards"
	echo
	echo "Pooled transactions, 1 client, -M $MODE, a random user each, medians of $ROUNDS interleaved rounds of ${DURATION}s:"
	echo
	echo "| statement | limit TPS | protect TPS | vs limit | tasks (limit / protect) | target |"
	echo "|---|---|---|---|---|---|"
	for w in $workloads; do
		l=$(median "$w" limit)
		p=$(median "$w" protect)
		ratio=$(awk -v a="$p" -v b="$l" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}')
		tl=$(awk -v w="$w" '$1 == w && $2 == "limit" {print $3}' "$tasks")
		tp=$(awk -v w="$w" '$1 == w && $2 == "protect" {print $3}' "$tasks")
		target=$(awk -v r="$ratio" -v a="$tl" -v b="$tp" 'BEGIN {print (r >= 0.90 && a == b ? "PASS" : "MISS") " (>= 0.90x, same tasks)"}')
		echo "| $w | $l | $p | ${ratio}x | $tl / $tp | $target |"
	done
} | tee "$report"
echo
echo "report: $report"
