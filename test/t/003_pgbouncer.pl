# pgbouncer in front of the server: with transaction pooling, many clients
# sharing two server connections each name their user (or present their
# API key) per transaction and never see another client's identity or
# rows; with session pooling,
# server_reset_query = DISCARD ALL clears a session-wide identity.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $pgbouncer = '/usr/sbin/pgbouncer';
plan skip_all => 'pgbouncer is not installed' unless -x $pgbouncer;

my $node = PostgreSQL::Test::Cluster->new('pooled');
$node->init;
$node->start;
my $clients = 8;
$node->safe_psql('postgres', qq{
	CREATE EXTENSION teamacl CASCADE;
	CREATE ROLE app LOGIN;
	GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean), teamacl.set_api_key(text, boolean) TO app;
	CREATE TABLE docs (id serial PRIMARY KEY, team_id uuid NOT NULL, owner text);
	GRANT SELECT ON docs TO app;
	SELECT teamacl.protect('docs');
	SELECT teamacl.register_user('user' || g || '\@example.com') FROM generate_series(1, $clients) g;
	-- user g owns g rows in their personal account
	INSERT INTO docs (team_id, owner)
	SELECT t.id, u.email FROM teamacl.users u JOIN teamacl.teams t ON t.personal_owner = u.id,
		   LATERAL generate_series(1, substring(u.email FROM 'user(\\d+)')::int);
});
my %uid = map { $_ => $node->safe_psql('postgres', "SELECT id FROM teamacl.users WHERE email = 'user$_\@example.com'") } 1 .. $clients;
# each user's API key for their personal account
my %key = map {
	my $k = $node->safe_psql('postgres', "SELECT teamacl.set_user('$uid{$_}', false); SELECT teamacl.create_api_key(teamacl.personal_team(), 'ci', 'viewer')");
	$_ => (split /\n/, $k)[-1]
} 1 .. $clients;

my $dir = PostgreSQL::Test::Utils::tempdir();
my $port = PostgreSQL::Test::Cluster::get_free_port();
sub start_pgbouncer {
	my ($mode, $pool_size) = @_;
	open my $fh, '>', "$dir/userlist.txt" or die;
	print $fh qq{"app" ""\n};
	close $fh;
	open $fh, '>', "$dir/pgbouncer.ini" or die;
	print $fh "[databases]\n";
	print $fh "postgres = host=" . $node->host . " port=" . $node->port . " dbname=postgres\n";
	print $fh "[pgbouncer]\n";
	print $fh "listen_addr = 127.0.0.1\nlisten_port = $port\nunix_socket_dir =\n";
	print $fh "auth_type = trust\nauth_file = $dir/userlist.txt\n";
	print $fh "pool_mode = $mode\ndefault_pool_size = $pool_size\nmax_client_conn = 100\n";
	print $fh "server_reset_query = DISCARD ALL\nserver_reset_query_always = 0\n";
	print $fh "logfile = $dir/pgbouncer.log\npidfile = $dir/pgbouncer.pid\n";
	close $fh;
	my $h = IPC::Run::start([$pgbouncer, "$dir/pgbouncer.ini"], '>', "$dir/out.log", '2>&1');
	# wait until it accepts connections
	for (1 .. 100) {
		last if system('psql', '-X', '-qAt', '-h', '127.0.0.1', '-p', $port, '-U', 'app', '-d', 'postgres', '-c', 'SELECT 1') == 0;
		select(undef, undef, undef, 0.1);
	}
	return $h;
}
sub stop_pgbouncer {
	my ($h) = @_;
	$h->signal('INT');
	$h->finish;
}

# transaction pooling: 8 clients, 2 server connections, 40 transactions each
my $bouncer = start_pgbouncer('transaction', 2);
my @runs;
for my $c (1 .. $clients) {
	my $script = '';
	for my $i (1 .. 40) {
		if ($i % 5 == 0) {
			# a transaction that names nobody must see nobody
			$script .= "BEGIN;\nSELECT 'anon', coalesce(teamacl.current_user_id()::text, 'none'), count(*) FROM docs;\nCOMMIT;\n";
		} elsif ($i % 5 == 2) {
			# the same user through their API key
			$script .= "BEGIN;\nSELECT teamacl.set_api_key('$key{$c}');\nSELECT pg_sleep(0.001);\n";
			$script .= "SELECT 'named', teamacl.current_user_id(), count(*), count(DISTINCT owner), min(owner) FROM docs WHERE teamacl.current_api_key_id() IS NOT NULL;\nCOMMIT;\n";
		} else {
			$script .= "BEGIN;\nSELECT teamacl.set_user('$uid{$c}');\nSELECT pg_sleep(0.001);\n";
			$script .= "SELECT 'named', teamacl.current_user_id(), count(*), count(DISTINCT owner), min(owner) FROM docs;\nCOMMIT;\n";
		}
	}
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(['psql', '-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', $port, '-U', 'app', '-d', 'postgres'],
		'<', \$script, '>', \$out, '2>', \$err);
	push @runs, [$c, $h, \$out, \$err];
}
my ($named_ok, $anon_ok, $bad) = (0, 0, 0);
for my $run (@runs) {
	my ($c, $h, $out, $err) = @$run;
	$h->finish;
	for my $line (split /\n/, $$out) {
		next if $line eq '' || $line !~ /^(named|anon)\|/;
		if ($line eq "named|$uid{$c}|$c|1|user$c\@example.com") { $named_ok++ }
		elsif ($line eq "anon|none|0") { $anon_ok++ }
		else { $bad++; diag("client $c saw: $line") }
	}
	diag("client $c stderr: $$err") if $$err ne '';
}
is($bad, 0, 'transaction pooling: no transaction saw another identity or rows');
is($named_ok, $clients * 32, 'transaction pooling: every named transaction (by set_user or by API key) saw its own user and rows');
is($anon_ok, $clients * 8, 'transaction pooling: every unnamed transaction saw nobody');
my $servers = $node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app'");
cmp_ok($servers, '<=', 2, 'the clients really shared at most two server connections');
stop_pgbouncer($bouncer);

# session pooling with DISCARD ALL between clients
$bouncer = start_pgbouncer('session', 1);
my $u3 = $uid{3};
my $first = `psql -X -qAt -h 127.0.0.1 -p $port -U app -d postgres -c "SELECT teamacl.set_user('$u3', false)" -c "SELECT teamacl.current_user_id()"`;
like($first, qr/\Q$u3\E/, 'session pooling: a session-wide identity holds within the session');
my $second = `psql -X -qAt -h 127.0.0.1 -p $port -U app -d postgres -c "SELECT coalesce(teamacl.current_user_id()::text, 'none'), pg_backend_pid()" -c "SELECT count(*) FROM docs"`;
like($second, qr/^none\|\d+\n0$/, 'session pooling: the next client on the same server connection is nobody');
stop_pgbouncer($bouncer);

done_testing();
