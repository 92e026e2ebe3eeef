# A primary and a streaming hot standby: decisions on the standby follow
# membership changes replayed from the primary, read functions work in
# read-only transactions, and an immediate crash of both nodes loses
# nothing committed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;
$primary->safe_psql('postgres', q{
	CREATE EXTENSION teamacl CASCADE;
	CREATE ROLE app LOGIN;
	GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean), teamacl.set_api_key(text, boolean) TO app;
	CREATE TABLE docs (id int PRIMARY KEY, team_id uuid NOT NULL, body text);
	CREATE INDEX ON docs (team_id);
	GRANT SELECT, INSERT ON docs TO app;
	SELECT teamacl.protect('docs');
	SELECT teamacl.register_user(e) FROM unnest(ARRAY['alice@example.com', 'bob@example.com', 'carol@example.com']) e;
});
my %id = map { my $e = $_; ($e => $primary->safe_psql('postgres', "SELECT id FROM teamacl.users WHERE email = '$e\@example.com'")) } qw(alice bob carol);
my $team = $primary->safe_psql('postgres', qq{
	SELECT teamacl.set_user('$id{alice}', false);
	SELECT teamacl.create_team('Acme', 'pro');
});
$team = (split /\n/, $team)[-1];
$primary->safe_psql('postgres', qq{
	SELECT teamacl.set_user('$id{alice}', false);
	SELECT teamacl.add_member('$team', 'bob\@example.com', 'member');
	INSERT INTO docs SELECT g, '$team', 'doc ' || g FROM generate_series(1, 5) g;
});
my $inv_token = $primary->safe_psql('postgres', qq{
	SELECT teamacl.set_user('$id{alice}', false);
	SELECT teamacl.invite('$team', 'dave\@example.com');
});
$inv_token = (split /\n/, $inv_token)[-1];
# an API key of Alice's, role viewer, for the team
my $key = $primary->safe_psql('postgres', qq{
	SELECT teamacl.set_user('$id{alice}', false);
	SELECT teamacl.create_api_key('$team', 'standby reader', 'viewer');
});
$key = (split /\n/, $key)[-1];

$primary->backup('b1');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b1', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));

# long-lived sessions on the standby, as the application role
my $bob = $standby->background_psql('postgres', on_error_stop => 0);
$bob->query_safe("SET ROLE app");
$bob->query_safe("SELECT teamacl.set_user('$id{bob}', false)");
my $carol = $standby->background_psql('postgres', on_error_stop => 0);
$carol->query_safe("SET ROLE app");
$carol->query_safe("SELECT teamacl.set_user('$id{carol}', false)");

is($bob->query_safe("SELECT count(*) FROM docs"), '5', 'standby: member reads the team rows');
is($carol->query_safe("SELECT count(*) FROM docs"), '0', 'standby: non-member reads nothing');

sub on_primary {
	my ($sql) = @_;
	$primary->safe_psql('postgres', "SELECT teamacl.set_user('$id{alice}', false); $sql");
	$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
}

on_primary("SELECT teamacl.remove_member('$team', '$id{bob}')");
is($bob->query_safe("SELECT count(*) FROM docs"), '0', 'standby: removal seen by the next query of the same session');
is($bob->query_safe("SELECT teamacl.has_permission('$team', 'resources.read')"), 'f', 'standby: has_permission false after removal');

on_primary("SELECT teamacl.add_member('$team', 'bob\@example.com', 'viewer')");
is($bob->query_safe("SELECT count(*) FROM docs"), '5', 'standby: re-added as viewer reads again');
is($bob->query_safe("SELECT teamacl.permissions('$team')"), '{resources.read,team.read}', 'standby: role change gives the viewer permissions');

on_primary("SELECT teamacl.add_member('$team', 'carol\@example.com', 'member')");
is($carol->query_safe("SELECT count(*) FROM docs"), '5', 'standby: new membership seen by an open session');

# team-level facts are cached once per team for all its members: a team
# that starts requiring secure sign-in is seen by both open sessions, each
# inside an open transaction, and so is the change being undone
$bob->query_safe("BEGIN");
$carol->query_safe("BEGIN");
is($bob->query_safe("SELECT count(*) FROM docs"), '5', 'standby: reads in an open transaction');
on_primary("UPDATE teamacl.teams SET require_secure_sign_in = true WHERE id = '$team'");
is($bob->query_safe("SELECT count(*) FROM docs"), '0', 'standby: a team requiring secure sign-in is seen mid-transaction');
is($carol->query_safe("SELECT count(*) FROM docs"), '0', 'standby: ... by every member of the team');
on_primary("UPDATE teamacl.teams SET require_secure_sign_in = false WHERE id = '$team'");
is($carol->query_safe("SELECT count(*) FROM docs"), '5', 'standby: ... and so is the change undone');
is($bob->query_safe("SELECT count(*) FROM docs"), '5', 'standby: ... in every session');
$bob->query_safe("COMMIT");
$carol->query_safe("COMMIT");

# an API key on the standby: usable (no write there), and its revocation on
# the primary seen by the next statement of an open session
my $keyed = $standby->background_psql('postgres', on_error_stop => 0);
$keyed->query_safe("SET ROLE app");
$keyed->query_safe("SELECT teamacl.set_api_key('$key', false)");
is($keyed->query_safe("SELECT count(*) FROM docs"), '5', 'standby: an API key reads its team\'s rows');
is($keyed->query_safe("SELECT teamacl.permissions('$team')"), '{resources.read,team.read}', 'standby: with the key\'s role');
on_primary("SELECT teamacl.revoke_api_key((SELECT id FROM teamacl.api_keys WHERE name = 'standby reader'))");
is($keyed->query_safe("SELECT count(*) FROM docs"), '0', 'standby: a key revoked on the primary is refused by the next statement');
is($keyed->query_safe("SELECT teamacl.current_api_key_id() IS NULL"), 't', 'standby: and is no longer the identity');
$keyed->quit;

# every read function works in a read-only transaction on the standby
my $ro = $standby->safe_psql('postgres', qq{
	BEGIN READ ONLY;
	SELECT teamacl.set_user('$id{bob}', false);
	SELECT teamacl.has_permission('$team', 'resources.read'),
		   cardinality(teamacl.teams_with('resources.read')),
		   teamacl.permissions('$team'),
		   teamacl.current_user_id() = '$id{bob}';
	SELECT teamacl.require('$team', 'resources.read');
	SELECT (SELECT count(*) FROM teamacl.my_teams), (SELECT count(*) FROM teamacl.team_members),
		   (SELECT count(*) FROM teamacl.team_invitations), teamacl.personal_team() IS NOT NULL;
	SELECT status FROM teamacl.invitation_info('$inv_token');
	COMMIT;
});
is($ro, "\nt|2|{resources.read,team.read}|t\n\n2|4|1|t\npending", 'standby: read functions in a read-only transaction');
my ($rc, $out, $err) = $standby->psql('postgres', "SELECT teamacl.set_user('$id{bob}', false); SELECT teamacl.require('$team', 'resources.delete')");
like($err, qr/permission denied: "resources.delete" is required/, 'standby: require() denies with 42501 text');

# crash both nodes, restart, nothing lost, decisions still right
$bob->quit;
$carol->quit;
my $before = $primary->safe_psql('postgres', "SELECT (SELECT count(*) FROM teamacl.members), (SELECT count(*) FROM teamacl.audit_log), (SELECT count(*) FROM docs)");
$primary->stop('immediate');
$standby->stop('immediate');
$primary->start;
$standby->start;
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
is($primary->safe_psql('postgres', "SELECT (SELECT count(*) FROM teamacl.members), (SELECT count(*) FROM teamacl.audit_log), (SELECT count(*) FROM docs)"),
	$before, 'primary: nothing committed was lost');
is($standby->safe_psql('postgres', "SELECT (SELECT count(*) FROM teamacl.members), (SELECT count(*) FROM teamacl.audit_log), (SELECT count(*) FROM docs)"),
	$before, 'standby: nothing committed was lost');
is($standby->safe_psql('postgres', "SELECT teamacl.set_user('$id{bob}', false); SET ROLE app; SELECT count(*) FROM docs"), "\n5", 'standby after crash: viewer still reads');
($rc, $out, $err) = $primary->psql('postgres', "SELECT teamacl.set_user('$id{bob}', false); SET ROLE app; INSERT INTO docs VALUES (99, '$team', 'x')");
like($err, qr/row-level security/, 'primary after crash: viewer still cannot insert');

done_testing();
