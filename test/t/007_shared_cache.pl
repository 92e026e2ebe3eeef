# The cache of memberships all backends share (teamacl in
# shared_preload_libraries, teamacl.shared_cache_memory), as the
# application role sees it:
#  - in a tiny shared cache (64kB, a few hundred slots) 2000 users in 200
#    teams, read from four sessions, get the answers the tables give while
#    entries are evicted; the memory stays bounded and other sessions' loads
#    are used;
#  - with their personal teams: a user in 11 teams takes 3 slots and is
#    shared, one in 256 (64 slots, the most) is shared, one in 301 is
#    never shared, and all get the right answers;
#  - a removal committed in another session is seen by the next statement
#    of an open session and by a new one, the stale entry not used by
#    either (nor by a session that took its floor before the entry was
#    published);
#  - a backend crash (the postmaster reinitialises shared memory) empties it;
#  - on a hot standby, preloaded as the primary: a new backend uses only
#    entries loaded after its first use of the cache, and changes replayed
#    from the primary are seen by open and new sessions;
#  - without preloading the setting does not exist and nothing is shared,
#    with shared_cache_memory = 0 nothing is shared, answers right in both;
#  - COMMIT PREPARED of a membership change: a new session does not take
#    the entry loaded while the transaction was prepared;
#  - two databases of one server holding the same user id (one made from
#    the other as a template) never read each other's entries;
#  - a standby promoted after a change was replayed: a new backend does not
#    take the entry a standby session loaded before the change.
# Autovacuum is off on every node: its ANALYZE of teamacl.members sends a
# relcache invalidation that, by design, makes every shared entry stale,
# and would make the hit counts below vary.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $NUSERS = 2000;
my $NTEAMS = 200;
my $BATCH = 100;

# ---- helpers ----

# a node, preloaded or not, with its extra settings
sub new_node {
	my ($name, $conf, %init) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%init);
	$node->append_conf('postgresql.conf', "autovacuum = off\n" . ($conf // ''));
	$node->start;
	return $node;
}

# teamacl, the application role, a protected table with one row per team,
# the diagnostic counters, a user's answers as the application sees them
# and as the tables say
# teamacl, the application role (allowed set_user only) and the
# diagnostic counters
my $base_sql = q{
	CREATE EXTENSION teamacl CASCADE;
	CREATE ROLE app LOGIN;
	GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) TO app;
	CREATE FUNCTION cc() RETURNS text AS '$libdir/teamacl', 'teamacl_cache_counters' LANGUAGE C;
};

sub setup {
	my ($node) = @_;
	$node->safe_psql('postgres', $base_sql . q{
		CREATE TABLE docs (id int PRIMARY KEY, team_id uuid NOT NULL);
		CREATE INDEX ON docs (team_id);
		GRANT SELECT ON docs TO app;
		SELECT teamacl.protect('docs');
		-- as the caller: the teams in which u reads (sorted) and how many
		-- docs rows u reads
		CREATE FUNCTION answer(u uuid) RETURNS text LANGUAGE plpgsql AS $$
		BEGIN
			PERFORM teamacl.set_user(u, false);
			RETURN coalesce((SELECT string_agg(t::text, ',' ORDER BY t) FROM unnest(teamacl.teams_with('resources.read')) t), '')
				|| '|' || (SELECT count(*) FROM docs);
		END $$;
		-- what the tables say (no team here requires secure sign-in)
		CREATE FUNCTION truth(u uuid) RETURNS text LANGUAGE sql AS $$
			WITH t AS (
				SELECT m.team_id FROM teamacl.members m JOIN teamacl.roles r ON r.id = m.role_id
				 WHERE m.user_id = u AND CASE WHEN r.all_permissions
					THEN NOT EXISTS (SELECT FROM teamacl.role_permissions p WHERE p.role_id = r.id AND p.permission = 'resources.read' AND p.excluded)
					ELSE EXISTS (SELECT FROM teamacl.role_permissions p WHERE p.role_id = r.id AND p.permission = 'resources.read' AND NOT p.excluded) END)
			SELECT coalesce((SELECT string_agg(team_id::text, ',' ORDER BY team_id) FROM t), '')
				|| '|' || (SELECT count(*) FROM docs WHERE team_id IN (SELECT team_id FROM t))
		$$;
		CREATE FUNCTION bulk_id(g int) RETURNS uuid LANGUAGE sql IMMUTABLE RETURN md5('user' || g)::uuid;
		-- users lo..hi, one row each: "g:answer"; and as one digest, as the
		-- caller and as the tables say
		CREATE FUNCTION answers(lo int, hi int) RETURNS SETOF text LANGUAGE sql
			BEGIN ATOMIC SELECT g || ':' || answer(bulk_id(g)) FROM generate_series(lo, hi) g ORDER BY g; END;
		CREATE FUNCTION answers_md5(lo int, hi int) RETURNS text LANGUAGE sql
			BEGIN ATOMIC SELECT md5(string_agg(g || ':' || answer(bulk_id(g)), E'\n' ORDER BY g)) FROM generate_series(lo, hi) g; END;
		CREATE FUNCTION truth_md5(lo int, hi int) RETURNS text LANGUAGE sql
			BEGIN ATOMIC SELECT md5(string_agg(g || ':' || truth(bulk_id(g)), E'\n' ORDER BY g)) FROM generate_series(lo, hi) g; END;
	});
}

# 2000 users in 1 to 3 of 200 teams, with every built-in role (billing
# grants no resources.read), the same on every node
sub bulk_data {
	my ($node) = @_;
	$node->safe_psql('postgres', qq{
		INSERT INTO teamacl.teams (id, name, plan)
			SELECT md5('team' || g)::uuid, 'Bulk team ' || g, 'enterprise' FROM generate_series(1, $NTEAMS) g;
		INSERT INTO docs SELECT g, md5('team' || g)::uuid FROM generate_series(1, $NTEAMS) g;
		INSERT INTO teamacl.users (id, email)
			SELECT bulk_id(g), 'user' || g || '\@example.com' FROM generate_series(1, $NUSERS) g;
		INSERT INTO teamacl.members (team_id, user_id, role_id)
			SELECT md5('team' || ((g * 7 + k * 61) % $NTEAMS + 1))::uuid, bulk_id(g),
				   ('00000000-0000-4000-a000-00000000000' || ((g + k) % 5 + 1))::uuid
			  FROM generate_series(1, $NUSERS) g, generate_series(0, 2) k WHERE k <= g % 3;
	});
}

# what the tables say of users lo..hi, as answers() prints it
sub bulk_truth {
	my ($node, $lo, $hi) = @_;
	return $node->safe_psql('postgres',
		"SELECT g || ':' || truth(bulk_id(g)) FROM generate_series($lo, $hi) g ORDER BY g");
}

# the users whose lines differ between two answers() outputs
sub differing {
	my ($got, $want) = @_;
	my %w = map { (split /:/, $_, 2) } split /\n/, $want;
	my %g = map { (split /:/, $_, 2) } split /\n/, $got;
	my @bad = grep { !defined $g{$_} || $g{$_} ne $w{$_} } sort { $a <=> $b } keys %w;
	push @bad, grep { !defined $w{$_} } keys %g;
	diag("user $bad[0]: got " . ($g{$bad[0]} // 'nothing') . ", want " . ($w{$bad[0]} // 'nothing')) if @bad;
	return scalar @bad;
}

# the tables' digest of each batch of users lo..lo+$BATCH-1, by lo
sub truth_digests {
	my ($node) = @_;
	return { map { split /\|/ } split /\n/, $node->safe_psql('postgres',
		"SELECT lo, truth_md5(lo, lo + $BATCH - 1) FROM generate_series(1, $NUSERS, $BATCH) lo") };
}

# does the session answer users lo..lo+$BATCH-1 as the tables do?  (Compared
# as digests: a background session logs every result.)  If not, which
# users differ when a new session answers them
sub batch_ok {
	my ($node, $session, $lo, $digests) = @_;
	my $hi = $lo + $BATCH - 1;
	return 1 if $session->query_safe("SELECT answers_md5($lo, $hi)") eq $digests->{$lo};
	diag("users $lo..$hi differ");
	differing($node->safe_psql('postgres', "SELECT * FROM answers($lo, $hi)", extra_params => ['-U', 'app']),
		bulk_truth($node, $lo, $hi));
	return 0;
}

sub app_session {
	my ($node) = @_;
	return $node->background_psql('postgres', extra_params => ['-U', 'app']);
}

# a counter of this session's cache: shared_hits, misses, ...
sub counter {
	my ($session, $name) = @_;
	my $cc = $session->query_safe('SELECT cc()');
	$cc =~ /\b$name=(\d+)/ or die "no $name in $cc";
	return $1;
}

# shared_cache_stats() as a hash
sub stats {
	my ($node) = @_;
	my @v = split /\|/, $node->safe_psql('postgres',
		'SELECT slots, used, bytes, hits, misses, publishes, evictions FROM teamacl.shared_cache_stats()');
	my %s;
	@s{qw(slots used bytes hits misses publishes evictions)} = @v;
	return \%s;
}

# user id by e-mail
sub uid {
	my ($node, $who) = @_;
	return $node->safe_psql('postgres', "SELECT id FROM teamacl.users WHERE email = '$who\@example.com'");
}

# ==== 1. a tiny shared cache: bounded, evicting, right ====

my $tiny = new_node('tiny', qq{
restart_after_crash = on
shared_preload_libraries = 'teamacl'
teamacl.shared_cache_memory = '64kB'
});
setup($tiny);
bulk_data($tiny);
my $digests = truth_digests($tiny);
like($tiny->safe_psql('postgres', qq{SELECT count(*) FILTER (WHERE t LIKE '%|0'), count(*) FILTER (WHERE t NOT LIKE '%|0')
	FROM (SELECT truth(bulk_id(g)) t FROM generate_series(1, $NUSERS) g) a}), qr/^[1-9]\d*\|[1-9]\d*$/,
	'tiny: the data has users reading nothing and users reading in teams');

my $s0 = stats($tiny);
ok($s0->{slots} > 100 && $s0->{slots} < 500, "tiny: 64kB holds a few hundred slots ($s0->{slots})");
is($s0->{used}, '0', 'tiny: nothing shared before the first load');

# four sessions read each batch of 100 users in turn: the first loads
# and publishes, the others can copy; 2000 users do not fit
my @sessions = map { app_session($tiny) } 1 .. 4;
my @bad = (0) x @sessions;
for (my $lo = 1; $lo <= $NUSERS; $lo += $BATCH) {
	for my $i (0 .. $#sessions) {
		$bad[$i]++ unless batch_ok($tiny, $sessions[$i], $lo, $digests);
	}
}
for my $i (0 .. $#sessions) {
	is($bad[$i], 0, "tiny: session " . ($i + 1) . " gets the tables' answers for all $NUSERS users");
}
my $session_hits = 0;
$session_hits += counter($_, 'shared_hits') for @sessions;
my $s1 = stats($tiny);
cmp_ok($s1->{used}, '<=', $s1->{slots}, "tiny: used ($s1->{used}) <= slots ($s1->{slots})");
cmp_ok($s1->{used}, '>', $s1->{slots} / 2, 'tiny: the slots are put to use');
cmp_ok($s1->{evictions}, '>', 0, "tiny: entries were evicted ($s1->{evictions})");
cmp_ok($s1->{bytes}, '>', 0, 'tiny: bytes > 0');
# the setting pays for the slots; the header (statistics and the shared
# catalogues) comes on top of it, about 140 kB
cmp_ok($s1->{slots} * 168, '<=', 64 * 1024, "tiny: the slots (${\ ($s1->{slots} * 168)} bytes) within teamacl.shared_cache_memory");
cmp_ok($s1->{bytes}, '<=', 64 * 1024 + 150 * 1024, "tiny: bytes ($s1->{bytes}) within the setting plus the header");
cmp_ok($s1->{bytes}, '>=', $s1->{slots} * 168, 'tiny: bytes cover the slots');
cmp_ok($s1->{hits}, '>', $NUSERS, "tiny: other sessions' loads were used ($s1->{hits} hits)");
is($session_hits, $s1->{hits} - $s0->{hits}, 'tiny: the sessions\' shared_hits add up to the hits counted');
cmp_ok($s1->{publishes}, '>=', $NUSERS, 'tiny: every user was published at least once');

# a second round, every fourth batch in reverse order: most entries are
# gone, answers the same
@bad = (0) x @sessions;
for (my $lo = $NUSERS - $BATCH + 1; $lo >= 1; $lo -= 4 * $BATCH) {
	for my $i (reverse 0 .. $#sessions) {
		$bad[$i]++ unless batch_ok($tiny, $sessions[$i], $lo, $digests);
	}
}
is($bad[$_], 0, 'tiny: second round, session ' . ($_ + 1) . ', same answers') for 0 .. $#sessions;
$_->quit for @sessions;

# ==== 4. a backend crash empties the shared cache ====

my $victim = app_session($tiny);
$victim->query_safe('SELECT answer(bulk_id(1))');
my $pid = $victim->query_safe('SELECT pg_backend_pid()');
cmp_ok(stats($tiny)->{used}, '>', 0, 'crash: the shared cache holds entries before');
my $log_offset = -s $tiny->logfile;
kill 'KILL', $pid;
eval { $victim->quit };
# the postmaster saw the crash and reinitialised shared memory
$tiny->wait_for_log(qr/all server processes terminated; reinitializing/, $log_offset);
$tiny->poll_query_until('postgres', 'SELECT true') or die 'the node did not come back after the crash';
my $s2 = stats($tiny);
is($s2->{used}, '0', 'crash: no entry after the restart');
is($s2->{hits}, '0', 'crash: hits start again from 0');
is($s2->{slots}, $s1->{slots}, 'crash: the same number of slots');
my $after = $tiny->safe_psql('postgres', 'SELECT * FROM answers(1, 300)', extra_params => ['-U', 'app']);
is(differing($after, bulk_truth($tiny, 1, 300)), 0, 'crash: answers right afterwards');
$after = $tiny->safe_psql('postgres', 'SELECT * FROM answers(1, 300)', extra_params => ['-U', 'app']);
is(differing($after, bulk_truth($tiny, 1, 300)), 0, 'crash: ... and again, from the shared cache');
cmp_ok(stats($tiny)->{hits}, '>', 0, 'crash: the shared cache is used again');
$tiny->stop;

# ==== a primary and a hot standby, both preloaded (default size) ====

my $primary = new_node('primary', qq{
shared_preload_libraries = 'teamacl'
max_prepared_transactions = 5
}, allows_streaming => 1);
setup($primary);
$primary->safe_psql('postgres', q{
	SELECT teamacl.register_user(e || '@example.com') FROM unnest(ARRAY['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'ten', 'u256', 'u300']) e;
});
my %id = map { ($_ => uid($primary, $_)) } qw(alice bob carol dave erin frank ten u256 u300);
my @team = map {
	my $t = $primary->safe_psql('postgres', "SELECT teamacl.set_user('$id{alice}', false); SELECT teamacl.create_team('Team $_', 'enterprise')");
	(split /\n/, $t)[-1]
} 1 .. 2;
$primary->safe_psql('postgres', qq{
	SELECT teamacl.set_user('$id{alice}', false);
	SELECT teamacl.add_member('$team[0]', e || '\@example.com', 'member') FROM unnest(ARRAY['bob', 'carol', 'dave', 'erin', 'frank']) e;
	SELECT teamacl.add_member('$team[1]', e || '\@example.com', 'viewer') FROM unnest(ARRAY['bob', 'erin']) e;
	INSERT INTO docs VALUES (1, '$team[0]'), (2, '$team[1]'), (3, '$team[1]');
	-- 300 more teams: ten in 10 of them, u256 in 256, u300 in all
	INSERT INTO teamacl.teams (id, name, plan)
		SELECT md5('many' || g)::uuid, 'Many ' || g, 'enterprise' FROM generate_series(1, 300) g;
	INSERT INTO teamacl.members (team_id, user_id, role_id)
		SELECT md5('many' || g)::uuid, u.id, '00000000-0000-4000-a000-000000000004'
		  FROM generate_series(1, 300) g, teamacl.users u
		 WHERE (u.email = 'ten\@example.com' AND g <= 10) OR (u.email = 'u256\@example.com' AND g <= 255)
			OR u.email = 'u300\@example.com';
});
# (u256 has its personal team too: 256 memberships)
is($primary->safe_psql('postgres', qq{SELECT string_agg(n::text, ',' ORDER BY n) FROM (SELECT count(*) n FROM teamacl.members WHERE user_id IN ('$id{ten}', '$id{u256}', '$id{u300}') GROUP BY user_id) c}),
	'11,256,301', 'setup: 11, 256 and 301 memberships');
sub truth_of { my ($node, $who) = @_; return $node->safe_psql('postgres', "SELECT truth('$id{$who}')"); }

$primary->backup('b1');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b1', has_streaming => 1);
$standby->start;

# ==== 2. many memberships ====

{
	my $x = app_session($primary);
	my $p0 = stats($primary)->{publishes};
	is($x->query_safe("SELECT answer('$id{ten}')"), truth_of($primary, 'ten'), 'many: the 11-membership user, loaded');
	is(stats($primary)->{publishes} - $p0, 3, 'many: 11 memberships are published in 3 slots');
	is($x->query_safe("SELECT answer('$id{u256}')"), truth_of($primary, 'u256'), 'many: the 256-membership user, loaded');
	is(stats($primary)->{publishes} - $p0, 3 + 64, 'many: 256 memberships are published in 64 slots');
	is($x->query_safe("SELECT answer('$id{u300}')"), truth_of($primary, 'u300'), 'many: the 301-membership user, loaded');
	is(stats($primary)->{publishes} - $p0, 3 + 64, 'many: 301 memberships are not published');

	my $y = app_session($primary);
	is($y->query_safe("SELECT answer('$id{ten}')"), truth_of($primary, 'ten'), 'many: second backend, 11-membership user right');
	is(counter($y, 'shared_hits'), 1, 'many: ... copied from the shared cache');
	is($y->query_safe("SELECT answer('$id{u256}')"), truth_of($primary, 'u256'), 'many: second backend, 256-membership user right');
	is(counter($y, 'shared_hits'), 2, 'many: ... copied from the shared cache');
	is($y->query_safe("SELECT answer('$id{u300}')"), truth_of($primary, 'u300'), 'many: second backend, 301-membership user right');
	is(counter($y, 'shared_hits'), 2, 'many: ... loaded from the tables, not shared');
	$x->quit;
	$y->quit;
}

# ==== 3. freshness across backends ====

{
	# E uses the cache (carol) before erin and frank are loaded; A loads
	# both (they are published); B copies erin
	my $e = app_session($primary);
	is($e->query_safe("SELECT answer('$id{carol}')"), truth_of($primary, 'carol'), 'fresh: session E uses the cache (carol)');
	my $a = app_session($primary);
	is($a->query_safe("SELECT answer('$id{frank}')"), truth_of($primary, 'frank'), 'fresh: session A loads frank');
	$a->query_safe("SELECT teamacl.set_user('$id{erin}', false)");
	is($a->query_safe("SELECT teamacl.has_permission('$team[0]', 'resources.read')"), 't', 'fresh: session A, erin reads in Team 1');
	my $b = app_session($primary);
	is($b->query_safe("SELECT answer('$id{erin}')"), truth_of($primary, 'erin'), 'fresh: session B, erin before the change');
	is(counter($b, 'shared_hits'), 1, 'fresh: ... B copied A\'s load: the shared cache holds erin');

	# the superuser removes both from Team 1, in a session that never used
	# the cache
	$primary->safe_psql('postgres', "DELETE FROM teamacl.members WHERE team_id = '$team[0]' AND user_id IN ('$id{erin}', '$id{frank}')");
	unlike(truth_of($primary, 'erin') . truth_of($primary, 'frank'), qr/$team[0]/, 'fresh: erin and frank no longer read in Team 1');

	# a new session first: the entry loaded before the change is stale for it
	my $c = app_session($primary);
	is($c->query_safe("SELECT answer('$id{erin}')"), truth_of($primary, 'erin'), 'fresh: a new session sees the removal');
	is(counter($c, 'shared_hits'), 0, 'fresh: ... it did not copy the entry loaded before');
	# E: frank's only entry is A's, newer than E's floor, older than the change
	is($e->query_safe("SELECT answer('$id{frank}')"), truth_of($primary, 'frank'), 'fresh: session E (open before) sees frank\'s removal');
	is(counter($e, 'shared_hits'), 0, 'fresh: ... not from the entry loaded before the change');
	is($a->query_safe("SELECT teamacl.has_permission('$team[0]', 'resources.read')"), 'f', 'fresh: the next statement of session A sees the removal');
	is($a->query_safe("SELECT count(*) FROM docs"), '2', 'fresh: ... and reads only Team 2\'s rows');
	is($b->query_safe("SELECT answer('$id{erin}')"), truth_of($primary, 'erin'), 'fresh: session B sees the removal');
	my $d = app_session($primary);
	is($d->query_safe("SELECT answer('$id{erin}')"), truth_of($primary, 'erin'), 'fresh: another new session sees the removal');
	is(counter($d, 'shared_hits'), 1, 'fresh: ... from an entry loaded after the change');
	$_->quit for $a, $b, $c, $d, $e;
}

# ==== 8. COMMIT PREPARED ====

{
	my $p = $primary->background_psql('postgres');
	$p->query_safe(qq{BEGIN; UPDATE teamacl.members SET role_id = '00000000-0000-4000-a000-000000000005'
		WHERE team_id = '$team[0]' AND user_id = '$id{dave}'; PREPARE TRANSACTION 'dave_billing'});
	my $l = app_session($primary);
	$l->query_safe("SELECT teamacl.set_user('$id{dave}', false)");
	is($l->query_safe("SELECT teamacl.has_permission('$team[0]', 'resources.read')"), 't', '2pc: while prepared, dave still reads');
	my $pub = stats($primary)->{publishes};
	my $probe = app_session($primary);
	is($probe->query_safe("SELECT answer('$id{dave}')"), truth_of($primary, 'dave'), '2pc: while prepared, a new session agrees');
	is(counter($probe, 'shared_hits'), 1, '2pc: ... from the entry loaded while prepared');
	$probe->quit;
	$primary->safe_psql('postgres', "COMMIT PREPARED 'dave_billing'");
	unlike(truth_of($primary, 'dave'), qr/$team[0]/, '2pc: committed, dave no longer reads in Team 1');
	my $n = app_session($primary);
	is($n->query_safe("SELECT answer('$id{dave}')"), truth_of($primary, 'dave'), '2pc: a new session sees the committed change');
	is(counter($n, 'shared_hits'), 0, '2pc: ... not from the entry loaded while prepared');
	is($l->query_safe("SELECT teamacl.has_permission('$team[0]', 'resources.read')"), 'f', '2pc: the open session sees it');
	$_->quit for $p, $l, $n;
}

# ==== 5. the hot standby ====

$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
{
	my $sp = stats($standby);
	ok($sp->{slots} > 0 && $sp->{used} == 0, 'standby: a shared cache of its own, empty');
	# S5 uses the cache (frank) before bob is loaded anywhere
	my $s5 = app_session($standby);
	is($s5->query_safe("SELECT answer('$id{frank}')"), truth_of($standby, 'frank'), 'standby: S5, frank right');
	my $pub = stats($standby)->{publishes};
	my $s1 = app_session($standby);
	$s1->query_safe("SELECT teamacl.set_user('$id{bob}', false)");
	is($s1->query_safe("SELECT teamacl.has_permission('$team[0]', 'resources.read')"), 't', 'standby: S1, bob reads in Team 1');
	is($s1->query_safe("SELECT count(*) FROM docs"), '3', 'standby: S1, bob reads both teams\' rows');
	is(stats($standby)->{publishes} - $pub, 1, 'standby: S1\'s load of bob is published');

	my $s2 = app_session($standby);
	is($s2->query_safe("SELECT answer('$id{bob}')"), truth_of($standby, 'bob'), 'standby: S2 (new), bob right');
	is(counter($s2, 'shared_hits'), 0, 'standby: ... not from the entry published before S2 started');
	is($s1->query_safe("SELECT answer('$id{carol}')"), truth_of($standby, 'carol'), 'standby: S1 loads carol after S2 started');
	is($s2->query_safe("SELECT answer('$id{carol}')"), truth_of($standby, 'carol'), 'standby: S2, carol right');
	is(counter($s2, 'shared_hits'), 1, 'standby: ... copied from S1\'s load, made after S2 started');

	# bob: member -> billing in Team 1 on the primary
	$primary->safe_psql('postgres', "SELECT teamacl.set_user('$id{alice}', false); SELECT teamacl.change_role('$team[0]', '$id{bob}', 'billing')");
	$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
	my $bob_billing = truth_of($standby, 'bob');
	unlike($bob_billing, qr/$team[0]/, 'standby: as billing, bob no longer reads in Team 1');
	# S5 first: the entries of bob S1 and S2 loaded are newer than its
	# floor, but older than the change replayed
	is($s5->query_safe("SELECT answer('$id{bob}')"), $bob_billing, 'standby: S5, open before, not having read bob, sees the role change');
	is(counter($s5, 'shared_hits'), 0, 'standby: ... not from an entry loaded before the change');
	is($s1->query_safe("SELECT teamacl.set_user('$id{bob}', false); SELECT teamacl.has_permission('$team[0]', 'resources.read')"), "\nf", 'standby: S1 sees the role change');
	is($s1->query_safe("SELECT teamacl.has_permission('$team[0]', 'team.read')"), 't', 'standby: ... billing still reads the team');
	is($s2->query_safe("SELECT answer('$id{bob}')"), $bob_billing, 'standby: S2 sees the role change');
	my $s3 = app_session($standby);
	is($s3->query_safe("SELECT answer('$id{bob}')"), $bob_billing, 'standby: a new session sees the role change');

	# bob removed from Team 1
	$primary->safe_psql('postgres', "SELECT teamacl.set_user('$id{alice}', false); SELECT teamacl.remove_member('$team[0]', '$id{bob}')");
	$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
	is($s1->query_safe("SELECT teamacl.has_permission('$team[0]', 'team.read')"), 'f', 'standby: S1 sees the removal');
	is($s2->query_safe("SELECT teamacl.set_user('$id{bob}', false); SELECT teamacl.has_permission('$team[0]', 'team.read')"), "\nf", 'standby: S2 sees the removal');
	is($s3->query_safe("SELECT teamacl.set_user('$id{bob}', false); SELECT teamacl.has_permission('$team[0]', 'team.read')"), "\nf", 'standby: S3 sees the removal');
	my $s4 = app_session($standby);
	is($s4->query_safe("SELECT teamacl.set_user('$id{bob}', false); SELECT teamacl.has_permission('$team[0]', 'team.read')"), "\nf", 'standby: a new session sees the removal');
	is($s4->query_safe("SELECT answer('$id{bob}')"), truth_of($standby, 'bob'), 'standby: ... and has the tables\' answers');
	$_->quit for $s1, $s2, $s3, $s4, $s5;
}
$standby->stop;
$primary->stop;

# ==== 6. not preloaded; 7. turned off ====

for my $case (['plain', '', 'not preloaded'], ['off', "shared_preload_libraries = 'teamacl'\nteamacl.shared_cache_memory = 0\n", 'turned off']) {
	my ($name, $conf, $what) = @$case;
	my $node = new_node($name, $conf);
	setup($node);
	bulk_data($node);
	my ($rc, $out, $err) = $node->psql('postgres', "SELECT teamacl.current_user_id(); SHOW teamacl.shared_cache_memory");
	if ($name eq 'plain') {
		like($err, qr/unrecognized configuration parameter "teamacl.shared_cache_memory"/, "$what: the setting does not exist");
	} else {
		is($out, "\n0", "$what: the setting is 0");
	}
	is($node->safe_psql('postgres', 'SELECT slots, used, bytes, hits, misses, publishes, evictions FROM teamacl.shared_cache_stats()'),
		'0|0|0|0|0|0|0', "$what: no slots, nothing counted");
	my $d = truth_digests($node);
	my @s = map { app_session($node) } 1 .. 2;
	for my $i (0 .. 1) {
		my $bad = 0;
		for (my $lo = 1; $lo <= 400; $lo += $BATCH) {
			$bad++ unless batch_ok($node, $s[$i], $lo, $d);
		}
		is($bad, 0, "$what: session " . ($i + 1) . ' gets the tables\' answers');
		is(counter($s[$i], 'shared_hits'), 0, "$what: ... none from a shared cache");
	}
	is($node->safe_psql('postgres', 'SELECT slots, used, bytes, hits, misses, publishes, evictions FROM teamacl.shared_cache_stats()'),
		'0|0|0|0|0|0|0', "$what: still nothing counted");
	$_->quit for @s;
	$node->stop;
}

# teamacl, the application role and bob, a member of one team, with fixed
# ids; what bob reads there and whether the shared cache answered
sub bob_in_a_team {
	my ($node) = @_;
	$node->safe_psql('postgres', $base_sql . q{
		INSERT INTO teamacl.users (id, email) VALUES ('11111111-1111-4111-8111-111111111111', 'bob@example.com');
		INSERT INTO teamacl.teams (id, name, plan) VALUES ('22222222-2222-4222-8222-222222222222', 'Team', 'enterprise');
		INSERT INTO teamacl.members (team_id, user_id, role_id)
			VALUES ('22222222-2222-4222-8222-222222222222', '11111111-1111-4111-8111-111111111111', '00000000-0000-4000-a000-000000000003');
	});
}
my $bob_reads = "SELECT teamacl.set_user('11111111-1111-4111-8111-111111111111', false); SELECT teamacl.has_permission('22222222-2222-4222-8222-222222222222', 'resources.read'), substring(cc() FROM 'shared_hits=[0-9]+')";

# ---- two databases, the same user id ----
# (CREATE DATABASE ... TEMPLATE, or a dump restored into a second database
# of the same server: the same ids, other memberships)
{
	my $node = new_node('xdb', "shared_preload_libraries = 'teamacl'\n");
	bob_in_a_team($node);
	$node->safe_psql('postgres', 'CREATE DATABASE staging TEMPLATE postgres');
	$node->safe_psql('staging', "DELETE FROM teamacl.members WHERE user_id = '11111111-1111-4111-8111-111111111111'");
	my $q = $bob_reads;
	is($node->safe_psql('postgres', $q, extra_params => ['-U', 'app']), "\nt|shared_hits=0", 'databases: bob reads in postgres (loaded, published)');
	is($node->safe_psql('postgres', $q, extra_params => ['-U', 'app']), "\nt|shared_hits=1", 'databases: ... and a new postgres backend takes that load');
	is($node->safe_psql('staging', $q, extra_params => ['-U', 'app']), "\nf|shared_hits=0", 'databases: in staging, where bob was removed, a new backend reads nothing and takes nothing from postgres');
	is($node->safe_psql('staging', $q, extra_params => ['-U', 'app']), "\nf|shared_hits=1", 'databases: ... and the next staging backend takes staging\'s own load');
	is($node->safe_psql('postgres', $q, extra_params => ['-U', 'app']), "\nt|shared_hits=1", 'databases: postgres still answers from its own');
	$node->stop;
}

# ---- a standby promoted after a change was replayed ----
{
	my $p = new_node('prim2', "shared_preload_libraries = 'teamacl'\n", allows_streaming => 1);
	bob_in_a_team($p);
	$p->backup('b2');
	my $s = PostgreSQL::Test::Cluster->new('stby2');
	$s->init_from_backup($p, 'b2', has_streaming => 1);
	$s->start;
	$p->wait_for_catchup($s, 'replay', $p->lsn('insert'));
	my $q = $bob_reads;
	is($s->safe_psql('postgres', $q, extra_params => ['-U', 'app']), "\nt|shared_hits=0", 'promotion: a standby session loads bob (published), then ends');
	# removed on the primary and replayed, with no standby backend there to
	# accept the invalidation
	$p->safe_psql('postgres', "DELETE FROM teamacl.members WHERE user_id = '11111111-1111-4111-8111-111111111111'");
	$p->wait_for_catchup($s, 'replay', $p->lsn('insert'));
	$p->stop;
	$s->promote;
	$s->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()');
	is($s->safe_psql('postgres', $q, extra_params => ['-U', 'app']), "\nf|shared_hits=0", 'promotion: a new backend sees the removal, not the load made in recovery');
	is($s->safe_psql('postgres', $q, extra_params => ['-U', 'app']), "\nf|shared_hits=1", 'promotion: ... and the next one takes that fresh load');
	$s->stop;
}

done_testing();
