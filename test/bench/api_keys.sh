#!/usr/bin/env bash
# make bench (second part): API keys against set_user() and against the
# limit, in one run on one dataset, as medians of interleaved rounds.
#
#   USERS=10000 TEAMS=2000 (3 teams per user), 200 rows per team;
#   members are admins; one API key per user, for one of their teams
#   (role member).
#   ROUNDS=5 DURATION=5   rounds and seconds per pgbench run; QUICK=1
#
# Pooled transactions (pgbench, 1 client, a random sample row per
# transaction, the same lookup for every variant):
#   limit     BYPASSRLS role: set_config(team), point read AND team_id = it
#   set_user  BEGIN; set_user(random user); point read; COMMIT
#   key       BEGIN; set_api_key(random user's key); point read; COMMIT
#   key_same  the same, one key every time (cache hits)
# Target: key and key_same at least 0.95x the limit, and within noise of
# set_user.
#
# In the server: the cost of set_api_key() for a usable key and for each
# kind of unusable key (unknown, malformed, expired, revoked), as ratios to
# the unknown key's: they must not differ beyond noise.
#
# Not part of make test.  Stops its server at exit.
set -euo pipefail
. "$(dirname "$0")/../scripts/common.sh"

USERS=${USERS:-10000}
TEAMS=${TEAMS:-2000}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-5}
if [ "${QUICK:-0}" = 1 ]; then ROUNDS=1; DURATION=2; fi
PORT=55436
CLUSTER=$TMP/bench-keys-cluster
OUT=$TMP/bench-keys
PGBENCH=$PGBIN/pgbench

ensure_deps
build_install
stop_cluster "$CLUSTER"
rm -rf "$CLUSTER" "$OUT"
prepare_tmp
mkdir -p "$OUT" && chown "$PGUSER_OS" "$OUT"
start_cluster "$CLUSTER" "$PORT"
cat >>"$CLUSTER/postgresql.conf" <<-EOF
	shared_buffers = '1GB'
	jit = off
	autovacuum = off
	max_parallel_workers_per_gather = 0
EOF
start_cluster "$CLUSTER" "$PORT"
trap 'stop_cluster "$CLUSTER"; rm -rf "$CLUSTER"' EXIT
psql_pg "$PORT" postgres -qc "CREATE DATABASE bench" >/dev/null
q() { psql_pg "$PORT" bench -v ON_ERROR_STOP=1 -qAt "$@"; }

log "building the dataset: $USERS users, $TEAMS teams, a key per user"
q <<-EOF
	SET client_min_messages = warning;
	CREATE EXTENSION teamacl CASCADE;
	CREATE ROLE bench_app LOGIN;
	CREATE ROLE bench_limit LOGIN BYPASSRLS;
	GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean), teamacl.set_api_key(text, boolean) TO bench_app;
	SET teamacl.password_bcrypt_cost = 4;
	-- users and teams straight into the tables (the API would take minutes)
	INSERT INTO teamacl.users (id, email) SELECT gen_random_uuid(), 'u' || g || '@example.com' FROM generate_series(1, $USERS) g;
	INSERT INTO teamacl.teams (id, name, plan) SELECT gen_random_uuid(), 'team ' || g, 'enterprise' FROM generate_series(1, $TEAMS) g;
	CREATE TABLE bench_users AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM teamacl.users;
	CREATE TABLE bench_teams AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM teamacl.teams;
	INSERT INTO teamacl.members (team_id, user_id, role_id)
	SELECT DISTINCT t.id, u.id, '00000000-0000-4000-a000-000000000002'::uuid
	  FROM bench_users u, generate_series(0, 2) k
	  JOIN LATERAL (SELECT id FROM bench_teams WHERE n = 1 + (u.n * 7 + k * 613) % $TEAMS) t ON true;
	CREATE TABLE docs (id bigint PRIMARY KEY, team_id uuid NOT NULL, body text NOT NULL);
	INSERT INTO docs SELECT g, (SELECT id FROM bench_teams WHERE n = 1 + g % $TEAMS), 'doc ' || g
	  FROM generate_series(1, $TEAMS * 200) g;
	CREATE INDEX ON docs (team_id);
	SELECT teamacl.protect('docs');
	GRANT SELECT ON docs TO bench_app, bench_limit;
	-- one key per user, for their first team; the sample row of each
	CREATE TABLE sample (n int PRIMARY KEY, uid uuid, key text, team uuid, doc bigint);
	DO \$\$
	DECLARE
		r record;
	BEGIN
		FOR r IN SELECT u.n, u.id, (SELECT m.team_id FROM teamacl.members m WHERE m.user_id = u.id ORDER BY m.team_id LIMIT 1) AS team
				   FROM bench_users u LOOP
			PERFORM teamacl.set_user(r.id);
			INSERT INTO sample VALUES (r.n, r.id, teamacl.create_api_key(r.team, 'bench', 'member'), r.team,
									   (SELECT min(id) FROM docs WHERE team_id = r.team));
		END LOOP;
	END
	\$\$;
	GRANT SELECT ON sample TO bench_app, bench_limit;
	ANALYZE;
EOF

scripts=$OUT/scripts
mkdir -p "$scripts"
cat >"$scripts/limit.sql" <<-EOF
	\set n random(1, $USERS)
	BEGIN;
	SELECT set_config('bench.team', team::text, true) FROM sample WHERE n = :n;
	SELECT body FROM docs WHERE id = (SELECT doc FROM sample WHERE n = :n) AND team_id = current_setting('bench.team')::uuid;
	COMMIT;
EOF
cat >"$scripts/set_user.sql" <<-EOF
	\set n random(1, $USERS)
	BEGIN;
	SELECT teamacl.set_user(uid) FROM sample WHERE n = :n;
	SELECT body FROM docs WHERE id = (SELECT doc FROM sample WHERE n = :n);
	COMMIT;
EOF
cat >"$scripts/key.sql" <<-EOF
	\set n random(1, $USERS)
	BEGIN;
	SELECT teamacl.set_api_key(key) FROM sample WHERE n = :n;
	SELECT body FROM docs WHERE id = (SELECT doc FROM sample WHERE n = :n);
	COMMIT;
EOF
cat >"$scripts/key_same.sql" <<-EOF
	\set n 1
	BEGIN;
	SELECT teamacl.set_api_key(key) FROM sample WHERE n = :n;
	SELECT body FROM docs WHERE id = (SELECT doc FROM sample WHERE n = :n);
	COMMIT;
EOF
chown -R "$PGUSER_OS" "$OUT"

# every variant must return its sample row
for v in limit set_user key key_same; do
	role=bench_app; [ "$v" = limit ] && role=bench_limit
	as_pg "$PGBENCH" -h "$SOCKDIR" -p "$PORT" -U "$role" -n -t 20 -f "$scripts/$v.sql" -d bench >"$OUT/check-$v.log" 2>&1 \
		|| { cat "$OUT/check-$v.log"; die "variant $v failed"; }
done
check=$(q -c "SELECT teamacl.set_api_key(key, false) FROM sample WHERE n = 1" -c "SET ROLE bench_app" -c "SELECT count(*) FROM docs WHERE id = (SELECT doc FROM sample WHERE n = 1)" | tail -1)
[ "$check" = 1 ] || die "a key does not see its sample row ($check)"

log "pooled transactions: $ROUNDS rounds x ${DURATION}s per variant, interleaved"
results=$OUT/tps.txt
: >"$results"
order=(limit set_user key key_same)
for r in $(seq 1 "$ROUNDS"); do
	for i in "${!order[@]}"; do
		v=${order[$(( (i + r) % ${#order[@]} ))]}
		role=bench_app; [ "$v" = limit ] && role=bench_limit
		tps=$(as_pg "$PGBENCH" -h "$SOCKDIR" -p "$PORT" -U "$role" -n -T "$DURATION" -M simple -f "$scripts/$v.sql" -d bench 2>/dev/null \
			| awk '/^tps/ {print int($3)}')
		echo "$v $tps" >>"$results"
		printf '  round %s %-9s %s TPS\n' "$r" "$v" "$tps"
	done
done
median() { grep "^$1 " "$results" | awk '{print $2}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
limit=$(median limit)

log "set_api_key() in the server: usable and unusable keys, 5 rounds x 2000 calls"
q >"$OUT/failures.txt" <<-'EOF'
	SET client_min_messages = warning;
	-- an expired and a revoked key, as the benchmark's first user
	SELECT teamacl.set_user(uid, false) FROM sample WHERE n = 2;
	CREATE TEMP TABLE k (kind text, key text);
	INSERT INTO k SELECT 'usable', key FROM sample WHERE n = 3;
	INSERT INTO k VALUES ('unknown', 'tacl_key_' || repeat('B', 43)), ('malformed', 'not a key at all');
	INSERT INTO k SELECT 'expired', teamacl.create_api_key(team, 'exp', 'member', '1 second') FROM sample WHERE n = 2;
	INSERT INTO k SELECT 'revoked', key FROM sample WHERE n = 2;
	SELECT teamacl.revoke_api_key(id) FROM teamacl.api_keys WHERE created_by = (SELECT uid FROM sample WHERE n = 2) AND name = 'bench';
	SELECT teamacl.set_user(NULL, false);
	SELECT pg_sleep(1.1);
	CREATE FUNCTION pg_temp.per_call(p_key text, n int) RETURNS float8 LANGUAGE plpgsql AS $$
	DECLARE
		t0 timestamptz := clock_timestamp();
	BEGIN
		FOR i IN 1..n LOOP
			BEGIN
				PERFORM teamacl.set_api_key(p_key);
			EXCEPTION WHEN invalid_authorization_specification THEN NULL;
			END;
		END LOOP;
		RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6 / n;
	END $$;
	CREATE TEMP TABLE t (kind text, us float8);
	DO $$
	DECLARE
		r int;
		v record;
	BEGIN
		FOR r IN 1..5 LOOP
			FOR v IN SELECT * FROM k ORDER BY md5(kind || r) LOOP
				INSERT INTO t SELECT v.kind, pg_temp.per_call(v.key, 2000);
			END LOOP;
		END LOOP;
	END $$;
	SELECT kind, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY us)::numeric, 2)
	  FROM t GROUP BY kind ORDER BY kind;
EOF

report=$OUT/results.md
{
	echo "## API keys, $USERS users, $TEAMS teams, $((TEAMS * 200)) rows"
	echo
	echo "Pooled transactions, 1 client, medians of $ROUNDS interleaved rounds of ${DURATION}s:"
	echo
	echo "| variant | TPS | vs limit | target |"
	echo "|---|---|---|---|"
	for v in limit set_user key key_same; do
		m=$(median "$v")
		ratio=$(awk -v a="$m" -v b="$limit" 'BEGIN {printf "%.3f", a / b}')
		target=""
		case $v in key|key_same)
			target=$(awk -v r="$ratio" 'BEGIN {print (r >= 0.95 ? "PASS (>= 0.95)" : "MISS (>= 0.95)")}') ;;
		esac
		echo "| $v | $m | ${ratio}x | $target |"
	done
	echo
	echo "set_api_key() per call in the server, medians of 5 rounds of 2000 calls (us), and as a ratio to an unknown key:"
	echo
	echo "| key | us per call | vs unknown |"
	echo "|---|---|---|"
	unknown=$(awk -F'|' '$1 == "unknown" {print $2}' "$OUT/failures.txt")
	awk -F'|' -v u="$unknown" 'NF == 2 {printf "| %s | %s | %.2fx |\n", $1, $2, $2 / u}' "$OUT/failures.txt"
} | tee "$report"
echo
echo "report: $report"
