# The example application (test/example/app.py, psycopg 3) against a real
# server: sign-up, team, invitation, accept, protected CRUD, removal.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $python = '/usr/bin/python3';
plan skip_all => 'python3-psycopg is not installed'
	unless -x $python && system($python, '-c', 'import psycopg') == 0;

my $node = PostgreSQL::Test::Cluster->new('app');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION teamacl CASCADE;
	CREATE ROLE app LOGIN;
	GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) TO app;
});
my $top = $ENV{TEAMACL_TOP} // '../..';
my $admin = 'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres';
my $app = "$admin user=app";
my ($out, $err) = ('', '');
my $ok = IPC::Run::run([$python, "$top/test/example/app.py", $admin, $app], '>', \$out, '2>', \$err);
diag($out) unless $ok;
diag($err) if $err ne '';
ok($ok, 'the example application runs to the end');
like($out, qr/all checks passed/, 'every check of the example application passed');
unlike($out, qr/FAILED/, 'no check failed');

done_testing();
