# Upgrades: for every upgrade script shipped (sql/teamacl--A--B.sql), an
# install of version A updated with ALTER EXTENSION teamacl UPDATE must
# have exactly the catalog objects of a fresh install of the default
# version, and data made before the update must keep working: teams,
# and tables protected under A, which get the current policies unless
# their teamacl policies were changed by hand (those are left alone and
# named).
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

# every object of the extension, described with its definition
my $catalog = q{
	SELECT string_agg(d, E'\n' ORDER BY d) FROM (
		SELECT pg_describe_object(classid, objid, objsubid) ||
			   coalesce(' ' || CASE classid
				   WHEN 'pg_proc'::regclass THEN pg_get_functiondef(objid)
				   WHEN 'pg_class'::regclass THEN (SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || CASE WHEN attnotnull THEN ' not null' ELSE '' END, ', ' ORDER BY attnum)
												   FROM pg_attribute WHERE attrelid = objid AND attnum > 0 AND NOT attisdropped)
				   END, '') AS d
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
	) s;
};

$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('fresh', 'CREATE EXTENSION teamacl CASCADE');
my $fresh = $node->safe_psql('fresh', $catalog);
my $default = $node->safe_psql('fresh', "SELECT extversion FROM pg_extension WHERE extname = 'teamacl'");
ok(length($fresh) > 1000, "a fresh install of $default has its objects");
my %sources = map { $_->[0] => 1 } @scripts;
for my $from (sort keys %sources) {
	is($node->safe_psql('fresh', "SELECT path IS NOT NULL FROM pg_extension_update_paths('teamacl') WHERE source = '$from' AND target = '$default'"),
		't', "$from can be updated to $default");
}
if (!@scripts) {
	is($node->safe_psql('fresh', "SELECT count(*) FROM pg_extension_update_paths('teamacl') WHERE path IS NOT NULL"),
		'0', 'no upgrade script yet, so no update path');
}

for my $s (@scripts) {
	my ($from) = @$s;
	my $db = "from_" . ($from =~ s/\./_/gr);
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, "CREATE EXTENSION teamacl VERSION '$from' CASCADE");
	# data made with the old version: a team, and two protected tables, one
	# of which has had its teamacl policy changed by hand since protect()
	$node->safe_psql($db, q{
		SELECT teamacl.register_user('alice@example.com');
		SELECT teamacl.register_user('bob@example.com');
		SELECT teamacl.set_user((SELECT id FROM teamacl.users WHERE email = 'alice@example.com'), false);
		CREATE TABLE kept AS SELECT teamacl.create_team('Acme') AS team;
		CREATE TABLE docs (id int PRIMARY KEY, team_id uuid NOT NULL, body text);
		CREATE INDEX ON docs (team_id);
		INSERT INTO docs SELECT g, (SELECT team FROM kept), 'doc ' || g FROM generate_series(1, 3) g;
		INSERT INTO docs SELECT g, gen_random_uuid(), 'other ' || g FROM generate_series(4, 5) g;
		SELECT teamacl.protect('docs');
		CREATE TABLE notes (id int PRIMARY KEY, team_id uuid NOT NULL);
		CREATE INDEX ON notes (team_id);
		SELECT teamacl.protect('notes');
		ALTER POLICY teamacl_select ON notes USING (false);
		CREATE ROLE app_user;
		GRANT SELECT, INSERT, UPDATE, DELETE ON docs TO app_user;
	});
	my $notes_before = $node->safe_psql($db, "SELECT pg_get_expr(polqual, polrelid) FROM pg_policy WHERE polrelid = 'notes'::regclass AND polname = 'teamacl_select'");
	my ($ret, $out, $err) = $node->psql($db, 'ALTER EXTENSION teamacl UPDATE');
	is($ret, 0, "ALTER EXTENSION teamacl UPDATE from $from succeeds");
	like($err, qr/WARNING:  teamacl policies on notes were changed since protect\(\)/, 'a drifted table is named and left alone');
	is($node->safe_psql($db, $catalog), $fresh, "$from updated to $default has the objects of a fresh install");
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
	is($node->safe_psql($db, q{
		SELECT teamacl.set_user((SELECT id FROM teamacl.users WHERE email = 'alice@example.com'), false);
		SET ROLE app_user;
		SELECT string_agg(body, ',' ORDER BY id) FROM docs;
	}), "\ndoc 1,doc 2,doc 3", 'row-level security on the updated table shows the team\'s rows only');
}
note(scalar(@scripts) . " upgrade scripts checked");

done_testing();
