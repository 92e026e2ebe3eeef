#!/usr/bin/env bash
# Bounded sqlsmith fuzzing of teamacl, for make test.
#
#   bash test/scripts/fuzz.sh
#
# Starts its own cluster in tmp/fuzz-cluster (port 55440) and stops it on
# exit; with FUZZ_PORT=N it uses the cluster already running on that port
# (socket directory $SOCKDIR) and only creates and drops its two databases
# and the role fuzz_app there; set FUZZ_SERVER_LOG to that server's log file
# if it is not DATADIR/server.log.  It does not build or install anything:
# teamacl, pgcrypto and btree_gist must be installed.
#
# test/fuzz/setup.sql builds a database with users, teams, memberships,
# invitations and protected tables with every kind of index on the team
# column.  sqlsmith then runs with fixed seeds, as the superuser (RLS
# bypassed; teamacl's functions and tables called directly) and as the
# application login role fuzz_app (mapped to a teamacl user, so every
# protected table is read through its policy).  One TAP line per
# (role, seed) run; a run fails on
#   - a server crash or assertion failure (server log: "terminated by
#     signal", "was terminated", "TRAP:", "PANIC:"), or a lost connection;
#   - an internal error (SQLSTATE XX000) attributed to teamacl, see
#     xx000_is_teamacl below;
#   - sqlsmith itself failing (e.g. it could not load the schema).
#
# Settings: FUZZ_SEEDS (default "1 2 3"), FUZZ_QUERIES (queries per run,
# default 500), FUZZ_ROLES (default "superuser app"), FUZZ_RUN_TIMEOUT
# (seconds before a run is killed, and fails; default 30, a run normally
# takes 3-9 s).  sqlsmith sets statement_timeout = 1s itself in every
# session; the role and database settings below say the same, so each
# query is bounded even where sqlsmith's SET did not apply.
#
# Determinism: a seed gives the same queries, plans and results on every
# run in a fresh private cluster (autovacuum is off on the fuzzed tables,
# see setup.sql).  sqlsmith reads the catalogs without ORDER BY, so in a
# reused FUZZ_PORT cluster, or after the extension's SQL changes, a seed
# may generate other queries.  Output of each run (sqlsmith's progress and
# report, the server log of the run, every XX000 with its query) is kept
# in tmp/fuzz/ROLE-seedN/.
set -uo pipefail
. "$(dirname "$0")/common.sh"

read -r -a SEEDS <<<"${FUZZ_SEEDS:-1 2 3}"
QUERIES=${FUZZ_QUERIES:-500}
RUN_TIMEOUT=${FUZZ_RUN_TIMEOUT:-30}
DB=teamacl_fuzz
LOGDB=teamacl_fuzz_log
APPROLE=fuzz_app
read -r -a ROLES <<<"${FUZZ_ROLES:-superuser app}"
CLUSTER=$TMP/fuzz-cluster

# sqlsmith comes with common.sh's ensure_deps (make test runs it first)
command -v sqlsmith >/dev/null || die "sqlsmith is missing; run make test (as root) so it is installed"

if [ -n "${FUZZ_PORT:-}" ]; then
	PORT=$FUZZ_PORT
	OWN_CLUSTER=0
	OUT=$TMP/fuzz-$PORT
	prepare_tmp
else
	PORT=55440
	OWN_CLUSTER=1
	OUT=$TMP/fuzz
fi

cleanup() {
	if [ "$OWN_CLUSTER" = 1 ]; then
		stop_cluster "$CLUSTER"
	else
		# leave the borrowed cluster as we found it
		psql_pg "$PORT" postgres -q -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" \
			-c "DROP DATABASE IF EXISTS $LOGDB WITH (FORCE)" \
			-c "DROP ROLE IF EXISTS $APPROLE" >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$OUT"
if [ "$OWN_CLUSTER" = 1 ]; then
	stop_cluster "$CLUSTER"     # one left over from an interrupted run
	rm -rf "$CLUSTER"
	log "fuzz: starting a private cluster on port $PORT"
	start_cluster "$CLUSTER" "$PORT"
	SERVER_LOG=$CLUSTER/server.log
else
	log "fuzz: using the cluster on port $PORT"
	SERVER_LOG=${FUZZ_SERVER_LOG:-$(psql_pg "$PORT" postgres -Atc 'SHOW data_directory')/server.log}
fi
[ -r "$SERVER_LOG" ] || die "cannot read the server log $SERVER_LOG (set FUZZ_SERVER_LOG)"
mkdir -p "$OUT"
chown "$PGUSER_OS" "$OUT"

psql1() { psql_pg "$PORT" "$@" -v ON_ERROR_STOP=1 -q; }

log "fuzz: creating $DB (test/fuzz/setup.sql)"
psql1 postgres -c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "DROP DATABASE IF EXISTS $LOGDB WITH (FORCE)" \
	-c "CREATE DATABASE $DB" -c "CREATE DATABASE $LOGDB" >/dev/null || die "cannot create the databases"
psql1 "$DB" -f "$TOP/test/fuzz/setup.sql" >"$OUT/setup.log" 2>&1 \
	|| { cat "$OUT/setup.log"; die "test/fuzz/setup.sql failed"; }
# Errors with their SQLSTATE and source location, and the statement, in the
# server log; the same query bound as sqlsmith's own.  All per database, so
# a borrowed cluster's configuration is not touched.
psql1 postgres >/dev/null <<-EOF || die "cannot configure $DB"
	ALTER DATABASE $DB SET log_error_verbosity = verbose;
	ALTER DATABASE $DB SET log_min_messages = warning;
	ALTER DATABASE $DB SET log_min_error_statement = error;
	ALTER DATABASE $DB SET statement_timeout = '1s';
	ALTER ROLE $APPROLE SET statement_timeout = '1s';
EOF
# sqlsmith --log-to: every error it sees, with SQLSTATE and the full query
psql1 "$LOGDB" >/dev/null <<-'EOF' || die "cannot create the sqlsmith log schema"
	CREATE TABLE instance (id bigserial PRIMARY KEY, rev text, target text, hostname text,
	                       version text, seed text, t timestamptz DEFAULT now());
	CREATE TABLE error (id bigint REFERENCES instance (id), msg text, query text, target text,
	                    sqlstate text, t timestamptz DEFAULT now(), errid bigserial PRIMARY KEY);
	CREATE TABLE stat (id bigint REFERENCES instance (id), generated bigint, level float,
	                   nodes float, retries float, updated timestamptz, impedance jsonb);
EOF

# Tables whose queries run teamacl code: every table with a policy calling a
# teamacl function (protect()'s, the hand-written one, teamacl's own), and
# the partitions of such tables.
mapfile -t TEAMACL_TABLES < <(psql1 "$DB" -At <<-'EOF'
	SELECT DISTINCT c.relname
	  FROM pg_policy p
	  JOIN pg_class c ON c.oid IN (SELECT p.polrelid UNION ALL
	                               SELECT inhrelid FROM pg_inherits WHERE inhparent = p.polrelid)
	 WHERE pg_get_expr(p.polqual, p.polrelid) ~ 'teamacl\.'
	    OR pg_get_expr(p.polwithcheck, p.polrelid) ~ 'teamacl\.'
	 ORDER BY 1
EOF
)
TABLE_RE="teamacl\\.|(^|[^[:alnum:]_\$])($(IFS='|'; echo "${TEAMACL_TABLES[*]}"))([^[:alnum:]_\$]|\$)"
# teamacl's C sources, as they appear in LOCATION lines ("func, file.c:123")
SRC_RE="$(cd "$TOP/src" 2>/dev/null && ls *.c 2>/dev/null | sed 's/\./\\./' | paste -sd'|')"
SRC_RE=${SRC_RE:-teamacl\\.c}
echo "# protected / policy tables: ${TEAMACL_TABLES[*]}"

# xx000_is_teamacl ROLE MESSAGE LOCATION CONTEXT QUERY: is this internal
# error teamacl's?  Prints how it was decided.
#
# teamacl's faults need not be raised in teamacl's code: the planner support
# function of has_permission() hands the planner index conditions that the
# executor then rejects ("ScalarArrayOpExpr index qual found where not
# allowed" is raised in nodeIndexscan.c), so the location alone would miss
# them.  And sqlsmith finds XX000s in core PostgreSQL too (SQL-callable
# functions fed random arguments, e.g. interval(x, 11)), which are not
# teamacl's to fix.  So, in order:
#  1. raised in teamacl's C code (LOCATION names one of src/*.c), or the
#     message or the CONTEXT (a teamacl SQL or PL/pgSQL function) names
#     teamacl: teamacl's;
#  2. the statement does not reach teamacl's code: not teamacl's.  As
#     fuzz_app (subject to RLS) a statement reaches it by naming a teamacl
#     object (schema teamacl) or a table with a teamacl policy, or a
#     partition of one; as the superuser (RLS bypassed) by calling a teamacl
#     function or view, or writing to a teamacl table (its cache triggers);
#  3. raised by the parser with no CONTEXT: the statement's own text failed
#     parse analysis, before any teamacl code ran (views are expanded, and
#     has_permission() planned, later): not teamacl's;
#  4. raised where CORE_XX000 says (core functions known to raise XX000 on
#     bad arguments when a statement calls them directly): not teamacl's;
#  5. the statement calls teamacl's code directly (function, view, write to
#     a teamacl table): teamacl's;
#  6. left: fuzz_app statements that reach teamacl only through policies.
#     Replay the statement as the superuser, which bypasses RLS, so no
#     policy and no has_permission() is planned or run: if it fails there
#     with an XX000 raised at the same LOCATION, the error is core
#     PostgreSQL's; otherwise (it succeeds, or fails differently) the
#     policies made the difference: teamacl's.
# Errors judged not teamacl's are listed with the reason; they do not fail
# the run.  CORE_XX000 (function names as in LOCATION):
#   SetNextObjectId            pg_stop_making_pinned_objects() after initdb
#   intervaltypmodleastfield,  interval(x, typmod) with a random typmod
#   AdjustIntervalForTypmod,
#   intervaltypmodout          intervaltypmodout(random int4)
CORE_XX000='^(SetNextObjectId|intervaltypmodleastfield|AdjustIntervalForTypmod|intervaltypmodout),'
PARSER_RE=', (parse_[a-z_]+|analyze|gram|scan|parser)\.[cly]:[0-9]+$'
CALLS_RE='teamacl\.[[:alnum:]_]+[[:space:]]*\(|teamacl\.(my_teams|team_members|team_invitations)([^[:alnum:]_]|$)|(insert[[:space:]]+into|update|delete[[:space:]]+from|merge[[:space:]]+into)[[:space:]]+teamacl\.'
xx000_is_teamacl() {
	local role=$1 msg=$2 loc=$3 ctx=$4 query=$5 replay
	if grep -Eq "($SRC_RE):[0-9]+" <<<"$loc"; then echo "raised in teamacl's code"; return 0; fi
	if grep -qi teamacl <<<"$msg $ctx"; then echo "the message or context names teamacl"; return 0; fi
	if [ "$role" = superuser ]; then
		grep -Eiq "$CALLS_RE" <<<"$query" || { echo "the statement calls no teamacl code"; return 1; }
	else
		grep -Eq "$TABLE_RE" <<<"$query" || { echo "the statement reads no teamacl object"; return 1; }
	fi
	if [ -z "$ctx" ] && grep -Eq "$PARSER_RE" <<<"$loc"; then echo "raised by the parser"; return 1; fi
	if grep -Eq "$CORE_XX000" <<<"$loc"; then echo "a known core error (CORE_XX000)"; return 1; fi
	if grep -Eiq "$CALLS_RE" <<<"$query"; then echo "the statement calls teamacl code"; return 0; fi
	replay=$(psql_pg "$PORT" "$DB" -q -v VERBOSITY=verbose -c "BEGIN; $query; ROLLBACK;" 2>&1 >/dev/null \
		| grep -E -m2 '^(ERROR|LOCATION):')
	# the same internal error from the same place (the message may differ
	# in details: the superuser sees other rows)
	if grep -q '^ERROR:  XX000:' <<<"$replay" && [ -n "$loc" ] \
		&& grep -qxF "LOCATION:  $loc" <<<"$replay"; then
		echo "the superuser (no RLS) gets it too, from the same place: core's"
		return 1
	fi
	echo "not without RLS; the superuser gets: $(head -n 1 <<<"${replay:-no error}")"
	return 0
}

# lines of the server log that mean a crash or an assertion failure
CRASH_RE='terminated by signal|was terminated|TRAP:|PANIC:|server process .* exited with exit code|FailedAssertion|Assert(ion)? failed'

n=0
failures=0
total_queries=0
declare -A role_queries=() role_secs=()
summary=()

# run ROLE SEED DBUSER
run() {
	local role=$1 seed=$2 dbuser=$3 tag="$1-seed$2"
	local dir=$OUT/$tag reasons=() start end t0 t1 secs rc inst queries
	mkdir -p "$dir"
	n=$((n + 1))
	echo "# $role seed $seed: sqlsmith --seed=$seed --max-queries=$QUERIES --exclude-catalog as $dbuser"
	start=$(stat -c %s "$SERVER_LOG")
	t0=$(date +%s.%N)
	timeout -k 5 "$RUN_TIMEOUT" sqlsmith \
		--target="host=$SOCKDIR port=$PORT dbname=$DB user=$dbuser application_name=fuzz_$tag" \
		--log-to="host=$SOCKDIR port=$PORT dbname=$LOGDB user=postgres" \
		--seed="$seed" --max-queries="$QUERIES" --exclude-catalog --verbose \
		>"$dir/sqlsmith.out" 2>"$dir/sqlsmith.err"
	rc=$?
	t1=$(date +%s.%N)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	sleep 0.2      # let the server finish writing the log
	end=$(stat -c %s "$SERVER_LOG")
	tail -c +"$((start + 1))" "$SERVER_LOG" | head -c "$((end - start))" >"$dir/server.log"

	inst=$(psql1 "$LOGDB" -At -c "SELECT max(id) FROM instance WHERE seed IS NOT NULL AND target LIKE '%fuzz_$tag%'")
	queries=$(grep -Eo '^queries: [0-9]+' "$dir/sqlsmith.err" | tail -n 1 | grep -Eo '[0-9]+')
	queries=${queries:-0}
	total_queries=$((total_queries + queries))
	role_queries[$role]=$(( ${role_queries[$role]:-0} + queries ))
	role_secs[$role]=$(awk -v a="${role_secs[$role]:-0}" -v b="$secs" 'BEGIN { print a + b }')

	echo "# $role seed $seed: $queries queries in ${secs}s (sqlsmith exit $rc)"
	if [ -n "$inst" ]; then
		psql1 "$LOGDB" -At -F $'\t' -c "
			SELECT count(*), sqlstate, left(min(split_part(msg, E'\n', 1)), 90)
			  FROM error WHERE id = $inst GROUP BY sqlstate ORDER BY 1 DESC, 2" |
			awk -F'\t' '{ printf "#   %6d  %s  %s\n", $1, $2, $3 }'
	fi

	[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && reasons+=("timed out after ${RUN_TIMEOUT}s")
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ] && reasons+=("sqlsmith exited with $rc")
	[ "$queries" -lt "$QUERIES" ] && [ "$rc" -eq 0 ] && reasons+=("sqlsmith ran only $queries of $QUERIES queries")

	# crashes: the postmaster's lines, and the query it says was running
	if grep -Eq "$CRASH_RE" "$dir/server.log"; then
		reasons+=("server crash")
		echo "# ---- crash lines in the server log:"
		# each crash line with its DETAIL, which names the query the process
		# was running (continued on tab-indented lines)
		awk -v re="$CRASH_RE" '$0 ~ re { print; f = 1; next }
			f && (/ DETAIL:  / || /^\t/) { print; next } { f = 0 }' "$dir/server.log" \
			| head -n 200 | sed 's/^/#   /'
	fi
	if grep -Eq 'server closed the connection unexpectedly|terminating connection because of crash' \
		"$dir/sqlsmith.err"; then
		reasons+=("lost the connection")
	fi

	# internal errors: message and query from sqlsmith's log, location from
	# the server's.  sqlsmith runs its statements one by one in one session,
	# so the k-th XX000 it logged is the k-th XX000 entry in the server log.
	local nx=0 nxt=0 k=0 errid msg query loc ctx logent why
	local -A shown=() shown_len=()
	awk 'function out() { if (e != "") print e "\t" l "\t" s "\t" c }
		/ ERROR:  XX000: / { out(); e = $0; l = ""; s = ""; c = ""; n = 1; next }
		n == 1 && / CONTEXT:  / { c = $0; next }
		n == 1 && / LOCATION:  / { l = $0; next }
		n == 1 && / STATEMENT:  / { s = $0; n = 0; next }
		END { out() }' "$dir/server.log" >"$dir/xx000-log.tsv"
	: >"$dir/xx000.txt"
	if [ -n "$inst" ]; then
		while IFS= read -r -d '' errid; do
			k=$((k + 1))
			msg=$(psql1 "$LOGDB" -At -c "SELECT split_part(msg, E'\n', 1) FROM error WHERE errid = $errid")
			msg=${msg#ERROR:  }
			query=$(psql1 "$LOGDB" -At -c "SELECT query FROM error WHERE errid = $errid")
			logent=$(sed -n "${k}p" "$dir/xx000-log.tsv")
			# out of step (e.g. a message logged twice): the first entry
			# with this message
			grep -qF "XX000: $msg" <<<"$logent" \
				|| logent=$(grep -F "XX000: $msg" "$dir/xx000-log.tsv" | head -n 1)
			loc=$(cut -f2 <<<"$logent" | sed 's/.*LOCATION: *//')
			ctx=$(cut -f4 <<<"$logent" | sed 's/.*CONTEXT: *//')
			nx=$((nx + 1))
			if why=$(xx000_is_teamacl "$role" "$msg" "$loc" "$ctx" "$query"); then
				nxt=$((nxt + 1))
				{ echo "---- XX000 attributed to teamacl ($why): $msg"; tr '\t' '\n' <<<"$logent"; echo "$query"; echo; } \
					>>"$dir/xx000.txt"
				# keep the shortest query of each message, to show in full
				if [ -z "${shown[$msg]:-}" ] || [ "${#query}" -lt "${shown_len[$msg]}" ]; then
					shown_len[$msg]=${#query}
					shown[$msg]=$(echo "# ---- XX000 attributed to teamacl ($why): $msg"
						tr '\t' '\n' <<<"$logent" | sed '/^$/d; s/^/#   log: /'
						echo "#   the query (sqlsmith; the shortest with this message):"
						sed 's/^/#     /' <<<"$query")
				fi
			else
				echo "# note: XX000 not attributed to teamacl ($why): $msg (${loc:-unknown location})"
			fi
		done < <(psql1 "$LOGDB" -At -0 -c "SELECT errid FROM error WHERE id = $inst AND sqlstate = 'XX000' ORDER BY errid")
	fi
	if [ "$nxt" -gt 0 ]; then
		printf '%s\n' "${shown[@]}"
		local IFS='|'
		reasons+=("$nxt internal error(s) XX000 in teamacl: ${!shown[*]}")
		unset IFS
		echo "# all $nxt (log lines and queries): $dir/xx000.txt"
	fi

	if [ ${#reasons[@]} -eq 0 ]; then
		echo "ok $n - fuzz $role seed $seed"
		summary+=("ok     $role seed $seed: $queries queries, ${secs}s, $nx XX000 (none teamacl's)")
	else
		failures=$((failures + 1))
		local IFS=';'
		echo "not ok $n - fuzz $role seed $seed: ${reasons[*]}"
		summary+=("FAILED $role seed $seed: $queries queries, ${secs}s: ${reasons[*]}")
	fi
}

log "fuzz: sqlsmith $(dpkg-query -W -f='${Version}' sqlsmith 2>/dev/null), seeds ${SEEDS[*]}, $QUERIES queries per run"
echo "1..$((${#ROLES[@]} * ${#SEEDS[@]}))"
t_start=$(date +%s)
for seed in "${SEEDS[@]}"; do
	for role in "${ROLES[@]}"; do
		case $role in
			superuser) run superuser "$seed" postgres ;;
			app) run app "$seed" "$APPROLE" ;;
			*) die "FUZZ_ROLES: unknown role $role (superuser, app)" ;;
		esac
	done
done
echo "# ---- summary ($total_queries queries in $(( $(date +%s) - t_start ))s; details in $OUT)"
for role in "${ROLES[@]}"; do
	echo "#   $role: ${role_queries[$role]:-0} queries in ${role_secs[$role]:-0}s"
done
printf '#   %s\n' "${summary[@]}"
[ "$failures" -eq 0 ]
