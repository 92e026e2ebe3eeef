# Upgrades: for every upgrade script shipped (sql/teamacl--A--B.sql), an
# install of version A updated with ALTER EXTENSION teamacl UPDATE must
# have exactly the catalog objects of a fresh install of the default
# version, and data made before the update must keep working.  With no
# upgrade script yet (0.1 is the first release), it checks that the
# default version installs and that no update path is dangling.
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
	# data made with the old version
	$node->safe_psql($db, q{
		SELECT teamacl.register_user('alice@example.com');
		SELECT teamacl.set_user((SELECT id FROM teamacl.users WHERE email = 'alice@example.com'), false);
		CREATE TABLE kept AS SELECT teamacl.create_team('Acme') AS team;
	});
	$node->safe_psql($db, 'ALTER EXTENSION teamacl UPDATE');
	is($node->safe_psql($db, $catalog), $fresh, "$from updated to $default has the objects of a fresh install");
	is($node->safe_psql($db, q{
		SELECT teamacl.set_user((SELECT id FROM teamacl.users WHERE email = 'alice@example.com'), false);
		SELECT teamacl.has_permission((SELECT team FROM kept), 'team.delete');
	}), "\nt", "data made with $from keeps working after the update");
}
note(scalar(@scripts) . " upgrade scripts checked");

done_testing();
