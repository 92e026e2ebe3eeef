# pg_dump / pg_restore keep every teamacl row and every policy, do not
# duplicate built-in rows, keep invitation tokens working and give the same
# permission answers; login-role mappings are bound to the roles of the
# same names in the target cluster, whose OIDs differ.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $a = PostgreSQL::Test::Cluster->new('source');
$a->init;
$a->start;
$a->safe_psql('postgres', q{
	CREATE ROLE mapped_alice LOGIN;
	CREATE EXTENSION teamacl CASCADE;
	SET teamacl.password_bcrypt_cost = 4;
	SELECT teamacl.register_user('alice@example.com', db_role => 'mapped_alice');
	SELECT teamacl.register_user(e) FROM unnest(ARRAY['bob@example.com', 'carol@example.com', 'dave@example.com']) e;
	SELECT teamacl.set_user((SELECT id FROM teamacl.users WHERE email = 'alice@example.com'), false);
	SELECT teamacl.define_permission('docs.read', 'Read documents');
	SELECT teamacl.create_role('auditor', '{team.read,audit.read}');
	CREATE TABLE ids AS SELECT teamacl.create_team('Acme', 'pro') AS acme, teamacl.create_team('Labs', 'free') AS labs;
	SELECT teamacl.create_role('reader', '{team.read,docs.read}', (SELECT acme FROM ids), removable => false);
	SELECT teamacl.add_member((SELECT acme FROM ids), 'bob@example.com', 'reader');
	SELECT teamacl.add_member((SELECT labs FROM ids), 'bob@example.com', 'auditor');
	SELECT teamacl.add_member((SELECT acme FROM ids), 'placeholder@example.com', 'viewer');
	SELECT teamacl.create_member((SELECT labs FROM ids), 'erin@example.com', 'Erin', 'Pa55word!erin', 'member');
	UPDATE teamacl.plans SET seat_limit = 5 WHERE name = 'free';
	INSERT INTO teamacl.plans (name, seat_limit, description) VALUES ('team', 25, 'Team plan');
	CREATE TABLE docs (id int PRIMARY KEY, team_id uuid NOT NULL, body text);
	CREATE INDEX ON docs (team_id);
	SELECT teamacl.protect('docs');
	CREATE TABLE notes (id int PRIMARY KEY, org_id uuid NOT NULL, body text);
	CREATE INDEX ON notes (org_id);
	SELECT teamacl.protect('notes', 'org_id', 'docs.read', 'resources.create', 'resources.update', 'resources.delete');
	INSERT INTO docs SELECT g, (SELECT acme FROM ids), 'doc' FROM generate_series(1, 3) g;
	INSERT INTO notes SELECT g, (SELECT labs FROM ids), 'note' FROM generate_series(1, 2) g;
});
# an accepted invitation and a pending one whose token we keep
$a->safe_psql('postgres', q{
	SELECT teamacl.set_user((SELECT id FROM teamacl.users WHERE email = 'alice@example.com'), false);
	CREATE TABLE tok AS SELECT teamacl.invite((SELECT acme FROM ids), 'carol@example.com', 'member') AS t;
	SELECT teamacl.set_user((SELECT id FROM teamacl.users WHERE email = 'carol@example.com'), false);
	SELECT teamacl.accept_invitation((SELECT t FROM tok));
	SELECT teamacl.set_user((SELECT id FROM teamacl.users WHERE email = 'alice@example.com'), false);
});
my $token = $a->safe_psql('postgres', q{
	SELECT teamacl.set_user((SELECT id FROM teamacl.users WHERE email = 'alice@example.com'), false);
	SELECT teamacl.invite((SELECT acme FROM ids), 'dave@example.com', 'viewer');
});
$token = (split /\n/, $token)[-1];
like($token, qr/^tacl_inv_/, 'a pending invitation token');

# what must survive: every teamacl table, the policies, the permission matrix
my $fingerprint = q{
	SELECT string_agg(format('%s:%s:%s', c.relname, x.n, x.h), E'\n' ORDER BY c.relname)
	  FROM pg_class c,
		   LATERAL (SELECT * FROM query_to_xml(format('SELECT count(*) AS n, md5(coalesce(string_agg((to_jsonb(t) - ''db_role_oid'')::text, '','' ORDER BY (to_jsonb(t) - ''db_role_oid'')::text), '''')) AS h FROM teamacl.%I t', c.relname), false, true, '')) q(x0),
		   LATERAL (SELECT (xpath('/row/n/text()', q.x0))[1]::text AS n, (xpath('/row/h/text()', q.x0))[1]::text AS h) x
	 WHERE c.relnamespace = 'teamacl'::regnamespace AND c.relkind = 'r';
};
my $policies = q{SELECT string_agg(format('%s %s %s %s', tablename, policyname, qual, with_check), E'\n' ORDER BY tablename, policyname) FROM pg_policies WHERE schemaname = 'public'};
my $matrix = q{
	CREATE FUNCTION pg_temp.matrix() RETURNS text LANGUAGE plpgsql AS $f$
	DECLARE
		u record;
		acc text := '';
	BEGIN
		FOR u IN SELECT id, email FROM teamacl.users WHERE registered ORDER BY email LOOP
			PERFORM teamacl.set_user(u.id);
			acc := acc || u.email || ': ' || (
				SELECT string_agg(t.name || '=' || array_to_string(teamacl.permissions(t.id), ','), '; ' ORDER BY t.name)
				  FROM teamacl.teams t) || E'\n';
		END LOOP;
		RETURN acc;
	END $f$;
	SELECT pg_temp.matrix();
};
my %before = (
	fingerprint => $a->safe_psql('postgres', $fingerprint),
	policies => $a->safe_psql('postgres', $policies),
	matrix => $a->safe_psql('postgres', $matrix),
);
ok(length($before{matrix}) > 100, 'the permission matrix is not empty');

my $dump = PostgreSQL::Test::Utils::tempdir() . '/teamacl.dump';
$a->command_ok(['pg_dump', '-Fc', '-d', $a->connstr('postgres'), '-f', $dump], 'pg_dump');

my $b = PostgreSQL::Test::Cluster->new('target');
$b->init;
$b->start;
# the roles exist in the target (pg_dumpall --globals-only would make them),
# under other OIDs
$b->safe_psql('postgres', 'CREATE ROLE unrelated1; CREATE ROLE unrelated2; CREATE ROLE mapped_alice LOGIN');
$b->safe_psql('postgres', 'CREATE DATABASE restored');
my ($stdout, $stderr);
my $ok = IPC::Run::run(['pg_restore', '-d', $b->connstr('restored'), $dump], '>', \$stdout, '2>', \$stderr);
ok($ok, 'pg_restore succeeds');
is($stderr, '', 'pg_restore reports nothing');

is($b->safe_psql('restored', $fingerprint), $before{fingerprint}, 'every teamacl row is back');
is($b->safe_psql('restored', $policies), $before{policies}, 'every policy is back');
is($b->safe_psql('restored', $matrix), $before{matrix}, 'permission answers are identical');
is($b->safe_psql('restored', q{SELECT (SELECT count(*) FROM teamacl.roles WHERE builtin), (SELECT count(*) FROM teamacl.permissions WHERE builtin), (SELECT count(*) FROM teamacl.plans)}),
	'5|18|4', 'built-in rows are not duplicated');
is($b->safe_psql('restored', q{SELECT seat_limit FROM teamacl.plans WHERE name = 'free'}), '5', 'an edited built-in plan keeps its edit');
is($b->safe_psql('restored', q{SELECT count(*) FROM teamacl.protected_tables}), '2', 'protected tables are remembered');
is($b->safe_psql('restored', q{SELECT count(*) FROM teamacl.doctor()}), '0', 'doctor() finds nothing after the restore');

is($b->safe_psql('restored', q{SELECT u.db_role_oid = r.oid FROM teamacl.users u JOIN pg_roles r ON r.rolname = u.db_role WHERE u.email = 'alice@example.com'}),
	't', 'a login-role mapping is bound to the target cluster\'s role of that name');
isnt($a->safe_psql('postgres', q{SELECT oid FROM pg_roles WHERE rolname = 'mapped_alice'}),
	$b->safe_psql('postgres', q{SELECT oid FROM pg_roles WHERE rolname = 'mapped_alice'}), 'whose OID differs from the source\'s');
is($b->safe_psql('restored', q{SET ROLE mapped_alice; SELECT u.email FROM teamacl.users u WHERE u.id = teamacl.current_user_id()}),
	'alice@example.com', 'the mapped role identifies its user after the restore');

# the token issued before the dump still works
is($b->safe_psql('restored', "SELECT status FROM teamacl.invitation_info('$token')"), 'pending', 'invitation_info with a pre-dump token');
is($b->safe_psql('restored', qq{
	SELECT teamacl.set_user((SELECT id FROM teamacl.users WHERE email = 'dave\@example.com'), false);
	SELECT teamacl.accept_invitation('$token') = (SELECT acme FROM ids);
}), "\nt", 'accept_invitation with a pre-dump token');
is($b->safe_psql('restored', q{SELECT teamacl.authenticate('erin@example.com', 'Pa55word!erin') IS NOT NULL}), 't', 'passwords still authenticate');
# new rows get fresh sequence values after the restored ones
is($b->safe_psql('restored', q{SELECT max(id) = (SELECT last_value FROM teamacl.audit_log_id_seq) FROM teamacl.audit_log}), 't', 'the audit sequence continues after the restored rows');

done_testing();
