# Upgrades: for every upgrade script shipped (sql/teamacl--A--B.sql), an
# install of version A updated with ALTER EXTENSION teamacl UPDATE must
# have exactly the catalog objects of a fresh install of the default
# version, and data made before the update must keep working: teams,
# login-role mappings, and tables protected under A -- with the index
# kinds users have (btree alone, multi-column, partial, INCLUDE, a GiST
# exclusion constraint, hash, BRIN, none), a partitioned table and a
# hand-written has_permission() policy.  They get the current policies
# unless their teamacl policies were changed by hand (those are left alone
# and named).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $top = $ENV{TEAMACL_TOP} // '../..';
my @scripts = map { m{teamacl--([0-9.]+)--([0-9.]+)\.sql$} ? [$1, $2] : () } glob("$top/sql/teamacl--*--*.sql");

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE ROLE app_user; CREATE ROLE alice_login LOGIN');

# every object of the extension, described with its definition
my $catalog = q{
	SELECT string_agg(d, E'\n' ORDER BY d) FROM (
		SELECT pg_describe_object(classid, objid, objsubid) ||
			   coalesce(' ' || CASE classid
				   WHEN 'pg_proc'::regclass THEN pg_get_functiondef(objid)
				   WHEN 'pg_class'::regclass THEN (SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN ' not null' ELSE '' END, ', ' ORDER BY attnum)
												   FROM pg_attribute WHERE attrelid = objid AND attnum > 0 AND NOT attisdropped)
				   END, '') ||
			   coalesce(' acl ' || CASE classid WHEN 'pg_proc'::regclass THEN (SELECT proacl::text FROM pg_proc WHERE oid = objid) END, '') AS d
		  FROM pg_depend
		 WHERE refclassid = 'pg_extension'::regclass
		   AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'teamacl')
		   AND deptype = 'e'
		UNION ALL
		SELECT format('policy %s on %s: %s / %s', polname, polrelid::regclass, pg_get_expr(polqual, polrelid), pg_get_expr(polwithcheck, polrelid))
		  FROM pg_policy WHERE polrelid::regclass::text LIKE 'teamacl.%'
		UNION ALL
		SELECT format('trigger %s on %s: %s', tgname, tgrelid::regclass, pg_get_triggerdef(oid))
		  FROM pg_trigger WHERE tgrelid::regclass::text LIKE 'teamacl.%' AND NOT tgisinternal
		UNION ALL
		SELECT format('index %s', pg_get_indexdef(indexrelid))
		  FROM pg_index WHERE indrelid::regclass::text LIKE 'teamacl.%'
		UNION ALL
		SELECT format('event trigger %s on %s: %s %s', evtname, evtevent, evtfoid::regproc, evttags)
		  FROM pg_event_trigger WHERE evtname LIKE 'teamacl%'
		UNION ALL
		SELECT format('extension schema %s', extnamespace::regnamespace) FROM pg_extension WHERE extname = 'teamacl'
	) s;
};

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION teamacl CASCADE');
my $fresh = $node->safe_psql('fresh', $catalog);
my $default = $node->safe_psql('fresh', "SELECT extversion FROM pg_extension WHERE extname = 'teamacl'");
ok(length($fresh) > 1000, "a fresh install of $default has its objects");
like($fresh, qr/^extension schema teamacl$/m, 'a fresh install records schema teamacl');
my %sources = map { $_->[0] => 1 } @scripts;
for my $from (sort keys %sources) {
	is($node->safe_psql('fresh', "SELECT path IS NOT NULL FROM pg_extension_update_paths('teamacl') WHERE source = '$from' AND target = '$default'"),
		't', "$from can be updated to $default");
}
if (!@scripts) {
	is($node->safe_psql('fresh', "SELECT count(*) FROM pg_extension_update_paths('teamacl') WHERE path IS NOT NULL"),
		'0', 'no upgrade script yet, so no update path');
}

# protected tables of every index kind; each holds 3 rows of the team and
# 2 of another team
my @kinds = (
	[btree     => 'CREATE INDEX ON %s (team_id)'],
	[multi     => 'CREATE INDEX ON %s (team_id, id)'],
	[partial   => 'CREATE INDEX ON %s (team_id) WHERE id > 0'],
	[include   => 'CREATE INDEX ON %s (team_id) INCLUDE (body)'],
	[gist      => 'ALTER TABLE %s ADD EXCLUDE USING gist (team_id WITH =, during WITH &&)'],
	[hash      => 'CREATE INDEX ON %s USING hash (team_id)'],
	[brin      => 'CREATE INDEX ON %s USING brin (team_id)'],
	[noindex   => undef],
);
my $setup_tables = join("\n", map {
	my ($k, $idx) = @$_;
	"CREATE TABLE t_$k (id int PRIMARY KEY, team_id uuid NOT NULL, body text,\n"
	. "  during tstzrange NOT NULL DEFAULT tstzrange('2000-01-01', '2000-01-02'));\n"
	. (defined $idx ? sprintf($idx, "t_$k") . ";\n" : '')
	. "INSERT INTO t_$k (id, team_id, body, during) SELECT g, CASE WHEN g <= 3 THEN (SELECT team FROM kept) ELSE gen_random_uuid() END, 'row ' || g,\n"
	. "  tstzrange('2030-01-01'::timestamptz + g * interval '1 day', '2030-01-01'::timestamptz + (g + 1) * interval '1 day') FROM generate_series(1, 5) g;\n"
	. "SELECT teamacl.protect('t_$k');\n"
	. "GRANT SELECT, INSERT, UPDATE, DELETE ON t_$k TO app_user;"
} @kinds);

my $nupdated = 0;
for my $s (@scripts) {
	my ($from) = @$s;
	my $db = "from_" . ($from =~ s/\./_/gr);
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, "CREATE EXTENSION teamacl VERSION '$from' CASCADE; CREATE EXTENSION btree_gist");
	# data made with the old version: a team, a login-role mapping, and
	# protected tables, one of which has had its teamacl policy changed by
	# hand since protect()
	$node->safe_psql($db, q{
		SELECT teamacl.register_user('alice@example.com', db_role => 'alice_login');
		SELECT teamacl.register_user('bob@example.com');
		SELECT teamacl.set_user((SELECT id FROM teamacl.users WHERE email = 'alice@example.com'), false);
		CREATE TABLE kept AS SELECT teamacl.create_team('Acme') AS team;
		GRANT SELECT ON kept TO app_user, alice_login;
		CREATE TABLE docs (id int PRIMARY KEY, team_id uuid NOT NULL, body text);
		CREATE INDEX ON docs (team_id);
		INSERT INTO docs SELECT g, (SELECT team FROM kept), 'doc ' || g FROM generate_series(1, 3) g;
		INSERT INTO docs SELECT g, gen_random_uuid(), 'other ' || g FROM generate_series(4, 5) g;
		SELECT teamacl.protect('docs');
		CREATE TABLE notes (id int PRIMARY KEY, team_id uuid NOT NULL);
		CREATE INDEX ON notes (team_id);
		SELECT teamacl.protect('notes');
		ALTER POLICY teamacl_select ON notes USING (false);
		GRANT SELECT, INSERT, UPDATE, DELETE ON docs TO app_user;
		-- a partitioned table, protected before protect() covered partitions
		CREATE TABLE parted (id int, team_id uuid NOT NULL, body text) PARTITION BY RANGE (id);
		CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (1) TO (4);
		CREATE TABLE parted_2 PARTITION OF parted FOR VALUES FROM (4) TO (100);
		CREATE INDEX ON parted (team_id);
		INSERT INTO parted SELECT g, CASE WHEN g <= 3 THEN (SELECT team FROM kept) ELSE gen_random_uuid() END, 'p' || g FROM generate_series(1, 5) g;
		SELECT teamacl.protect('parted');
		GRANT SELECT, INSERT, UPDATE, DELETE ON parted, parted_1, parted_2 TO app_user;
		-- a hand-written policy
		CREATE TABLE handmade (id int PRIMARY KEY, team_id uuid NOT NULL);
		CREATE INDEX ON handmade USING gist (team_id);
		INSERT INTO handmade SELECT g, CASE WHEN g <= 3 THEN (SELECT team FROM kept) ELSE gen_random_uuid() END FROM generate_series(1, 5) g;
		ALTER TABLE handmade ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
		CREATE POLICY mine ON handmade USING (teamacl.has_permission(team_id, 'resources.read'));
		GRANT SELECT ON handmade TO app_user;
		-- a team requiring secure sign-in, with a member who never signed in securely
		CREATE TABLE vault AS SELECT teamacl.create_team('Vault') AS team;
		SELECT teamacl.add_member((SELECT team FROM vault), 'bob@example.com', 'member');
		SELECT teamacl.add_member((SELECT team FROM kept), 'bob@example.com', 'member');
		UPDATE teamacl.teams SET require_secure_sign_in = true WHERE id = (SELECT team FROM vault);
		VACUUM teamacl.members;
	} . $setup_tables);
	# what the loader answers, the same before the update (this library
	# reading the old schema) and after it (0.4's indexes)
	my $answers = q{
		SELECT teamacl.set_user((SELECT id FROM teamacl.users WHERE email = 'bob@example.com'), false);
		SELECT teamacl.has_permission((SELECT team FROM vault), 'resources.read'),
			   teamacl.has_permission((SELECT team FROM kept), 'resources.read');
		SELECT teamacl.set_user((SELECT id FROM teamacl.users WHERE email = 'alice@example.com'), false);
		SELECT teamacl.has_permission((SELECT team FROM kept), 'team.delete'),
			   teamacl.has_permission((SELECT team FROM vault), 'team.read');
	};
	is($node->safe_psql($db, $answers), "\nf|t\n\nt|f", "$from, before the update: the members of a team requiring secure sign-in get nothing");
	# a session open across the update, its cache loaded from the old schema
	my $open = $node->background_psql($db, on_error_stop => 0);
	is($open->query_safe(q{
		SELECT teamacl.set_user((SELECT id FROM teamacl.users WHERE email = 'alice@example.com'), false);
		SELECT teamacl.has_permission((SELECT team FROM kept), 'team.delete');
	}), "\nt", "$from: a session's cache loaded before the update");
	my $notes_before = $node->safe_psql($db, "SELECT pg_get_expr(polqual, polrelid) FROM pg_policy WHERE polrelid = 'notes'::regclass AND polname = 'teamacl_select'");
	my ($ret, $out, $err) = $node->psql($db, 'ALTER EXTENSION teamacl UPDATE');
	is($ret, 0, "ALTER EXTENSION teamacl UPDATE from $from succeeds") or diag($err);
	$nupdated++;
	if ($from eq '0.1') {
		like($err, qr/WARNING:  teamacl policies on notes were changed since protect\(\)/, 'a drifted table is named and left alone');
	}
	is($node->safe_psql($db, $catalog), $fresh, "$from updated to $default has the objects of a fresh install");
	is($open->query_safe(q{
		SELECT teamacl.set_user((SELECT id FROM teamacl.users WHERE email = 'bob@example.com'), false);
		SELECT teamacl.has_permission((SELECT team FROM vault), 'resources.read'),
			   teamacl.has_permission((SELECT team FROM kept), 'resources.read');
	}), "\nf|t", "$from: the session open across the update loads users from the new indexes");
	$open->quit;
	is($node->safe_psql($db, $answers), "\nf|t\n\nt|f", "$from, after the update: the same answers");
	$node->safe_psql($db, "VACUUM teamacl.members");
	is($node->safe_psql($db, q{
		UPDATE teamacl.users SET sign_in_method = 'google' WHERE email = 'bob@example.com';
		SELECT teamacl.set_user((SELECT id FROM teamacl.users WHERE email = 'bob@example.com'), false);
		SELECT teamacl.has_permission((SELECT team FROM vault), 'resources.read');
	}), "\nt", "$from, after the update: signing in securely is seen at once");
	is($node->safe_psql($db, q{
		SELECT teamacl.set_user((SELECT id FROM teamacl.users WHERE email = 'alice@example.com'), false);
		SELECT teamacl.has_permission((SELECT team FROM kept), 'team.delete');
	}), "\nt", "data made with $from keeps working after the update");
	is($node->safe_psql($db, "SELECT string_agg(polname || ': ' || coalesce(pg_get_expr(polqual, polrelid), '-') || ' / ' || coalesce(pg_get_expr(polwithcheck, polrelid), '-'), E'\n' ORDER BY polname) FROM pg_policy WHERE polrelid = 'docs'::regclass"),
		"teamacl_delete: teamacl.has_permission(team_id, 'resources.delete'::text) / -\n"
		. "teamacl_insert: - / teamacl.has_permission(team_id, 'resources.create'::text)\n"
		. "teamacl_select: teamacl.has_permission(team_id, 'resources.read'::text) / -\n"
		. "teamacl_update: teamacl.has_permission(team_id, 'resources.update'::text) / teamacl.has_permission(team_id, 'resources.update'::text)",
		"a table protected under $from gets the current policies");
	is($node->safe_psql($db, "SELECT pg_get_expr(polqual, polrelid) FROM pg_policy WHERE polrelid = 'notes'::regclass AND polname = 'teamacl_select'"),
		$notes_before, 'the drifted policy is unchanged');
	is($node->safe_psql($db, "SELECT string_agg(object || ': ' || problem, E'\n' ORDER BY object) FROM teamacl.doctor() WHERE severity = 'error'"),
		'public.notes: teamacl policies were changed or dropped since protect()', 'doctor() sees only the drifted table');
	is($node->safe_psql($db, "SELECT string_agg(object, ',' ORDER BY object) FROM teamacl.doctor() WHERE problem LIKE '%no btree index%'"),
		'public.t_brin,public.t_gist,public.t_hash,public.t_noindex,public.t_partial', 'doctor() names the tables no full btree index can serve');
	is($node->safe_psql($db, q{
		SELECT teamacl.set_user((SELECT id FROM teamacl.users WHERE email = 'alice@example.com'), false);
		SET ROLE app_user;
		SELECT string_agg(body, ',' ORDER BY id) FROM docs;
	}), "\ndoc 1,doc 2,doc 3", 'row-level security on the updated table shows the team\'s rows only');

	# every index kind, the partitions and the hand-written policy, as the
	# application role: reads, point reads, writes in and outside the team
	my @tables = ((map { "t_$_->[0]" } @kinds), qw(parted parted_1 parted_2 handmade));
	my $reads = $node->safe_psql($db, q{
		SELECT teamacl.set_user((SELECT id FROM teamacl.users WHERE email = 'alice@example.com'), false);
		SET ROLE app_user;
		SET enable_seqscan = off;
	} . join("\n", map { "SELECT '$_', count(*), count(*) FILTER (WHERE team_id = (SELECT team FROM kept)) FROM $_;" } @tables));
	is($reads, "\n" . join("\n", map { /^parted_1$/ ? "$_|3|3" : /^parted_2$/ ? "$_|0|0" : "$_|3|3" } @tables),
		"after the update from $from, every table shows the team's rows only, whatever its index");
	my $points = $node->safe_psql($db, q{
		SELECT teamacl.set_user((SELECT id FROM teamacl.users WHERE email = 'alice@example.com'), false);
		SET ROLE app_user;
		SET enable_seqscan = off;
	} . join("\n", map { "SELECT '$_', (SELECT count(*) FROM $_ WHERE team_id = (SELECT team FROM kept) AND id = 2), (SELECT count(*) FROM $_ WHERE id = 4);" } @tables));
	is($points, "\n" . join("\n", map { /^parted_2$/ ? "$_|0|0" : "$_|1|0" } @tables),
		"point reads through every index kind see the team's row and not another team's");
	my $writes = $node->safe_psql($db, q{
		SELECT teamacl.set_user((SELECT id FROM teamacl.users WHERE email = 'alice@example.com'), false);
		SET ROLE app_user;
	} . join("\n", map {
		my $t = $_;
		"INSERT INTO $t (id, team_id, body) VALUES (50, (SELECT team FROM kept), 'new');\n"
		. "DO \$\$ BEGIN INSERT INTO $t (id, team_id, body) VALUES (51, gen_random_uuid(), 'x'); RAISE EXCEPTION 'not refused'; EXCEPTION WHEN insufficient_privilege THEN NULL; END \$\$;\n"
		. "WITH u AS (UPDATE $t SET body = 'upd' WHERE id IN (1, 4) RETURNING 1) SELECT '$t', count(*) FROM u;\n"
		. "WITH d AS (DELETE FROM $t WHERE id IN (50, 5) RETURNING 1) SELECT '$t', count(*) FROM d;"
	} ((map { "t_$_->[0]" } @kinds), 'parted')));
	is($writes, "\n" . join("\n", map { "$_|1\n$_|1" } ((map { "t_$_->[0]" } @kinds), 'parted')),
		"writes through every index kind touch the team's rows only, and other teams' rows cannot be inserted");
	# partitions made after the update are protected at once
	is($node->safe_psql($db, q{
		CREATE TABLE parted_3 PARTITION OF parted FOR VALUES FROM (100) TO (200);
		INSERT INTO parted_3 VALUES (150, gen_random_uuid(), 'other');
		GRANT SELECT ON parted_3 TO app_user;
		SELECT teamacl.set_user((SELECT id FROM teamacl.users WHERE email = 'alice@example.com'), false);
		SET ROLE app_user;
		SELECT count(*) FROM parted_3;
	}), "\n0", 'a partition created after the update is protected');
	# login-role mapping made under the old version, renamed afterwards
	$node->safe_psql($db, 'ALTER ROLE alice_login RENAME TO alice_renamed');
	is($node->safe_psql($db, q{
		SET ROLE alice_renamed;
		SELECT teamacl.has_permission((SELECT team FROM kept), 'team.read');
	}), 't', "a login role mapped under $from keeps its mapping through a rename");
	$node->safe_psql($db, 'ALTER ROLE alice_renamed RENAME TO alice_login');
}
note("$nupdated upgrade paths checked");

done_testing();
