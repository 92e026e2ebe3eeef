-- The cache all backends share, in a server that preloads teamacl (make
-- test's second pass): with this backend's own cache holding one user,
-- every other lookup is a local miss, which the shared cache answers with
-- what the tables say: the same answers as a load, for users in one team,
-- in several (more than a slot holds), in more than the shared cache
-- takes (those are loaded each time), for memberships a team's
-- secure-sign-in requirement disables, and after every kind of change.
-- (The races are in the isolation spec shared_cache, eviction, crash
-- restart and standbys in TAP 007_shared_cache.)
-- runs: with preload
\set SHOW_CONTEXT never
CREATE EXTENSION teamacl CASCADE;
CREATE FUNCTION regress_cache_counters() RETURNS text
	AS '$libdir/teamacl', 'teamacl_cache_counters' LANGUAGE C VOLATILE;
CREATE FUNCTION regress_counter(name text) RETURNS bigint LANGUAGE sql VOLATILE
	RETURN substring(regress_cache_counters() FROM name || '=([0-9]+)')::bigint;
-- a user's answers in every team, as one string: the teams in which they
-- read, create and delete the team (Team 01 .. Team 12), and how many
-- teams they read in all (their personal account included)
CREATE FUNCTION regress_answers(u uuid) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r record;
	out text := '';
BEGIN
	PERFORM teamacl.set_user(u, false);
	FOR r IN SELECT id, name FROM teamacl.teams WHERE name LIKE 'Team %' ORDER BY name LOOP
		out := out || CASE WHEN teamacl.has_permission(r.id, 'resources.read') THEN 'r' ELSE '-' END
			|| CASE WHEN teamacl.has_permission(r.id, 'resources.create') THEN 'c' ELSE '-' END
			|| CASE WHEN teamacl.has_permission(r.id, 'team.delete') THEN 'd' ELSE '-' END;
	END LOOP;
	RETURN out || ' ' || cardinality(teamacl.teams_with('resources.read'));
END $$;
CREATE TEMP TABLE people (email text PRIMARY KEY, id uuid);

SELECT teamacl.register_user('alice@example.com', 'Alice') AS alice \gset
SELECT teamacl.register_user('bob@example.com', 'Bob') AS bob \gset
SELECT teamacl.register_user('carol@example.com', 'Carol') AS carol \gset
SELECT teamacl.register_user('dave@example.com', 'Dave') AS dave \gset
SELECT teamacl.register_user('erin@example.com', 'Erin') AS erin \gset
INSERT INTO people SELECT email, id FROM teamacl.users WHERE registered;
SELECT teamacl.set_user(:'alice', false);
-- teams Team 01 .. Team 12; bob in one, carol in ten (three slots), dave in
-- all twelve, erin in a team requiring secure sign-in
SELECT count(teamacl.create_team(format('Team %s', lpad(g::text, 2, '0')))) FROM generate_series(1, 12) g;
SELECT teamacl.add_member(id, 'bob@example.com', 'member') IS NOT NULL AS bob_added
  FROM teamacl.teams WHERE name = 'Team 01';
SELECT count(teamacl.add_member(id, 'carol@example.com', CASE WHEN name < 'Team 05' THEN 'admin' ELSE 'viewer' END))
  FROM teamacl.teams WHERE name BETWEEN 'Team 02' AND 'Team 11';
SELECT count(teamacl.add_member(id, 'dave@example.com', 'member')) FROM teamacl.teams WHERE name LIKE 'Team %';
SELECT teamacl.add_member(id, 'erin@example.com', 'member') IS NOT NULL AS erin_added
  FROM teamacl.teams WHERE name = 'Team 12';
SELECT teamacl.update_team(id, require_secure_sign_in => true) FROM teamacl.teams WHERE name = 'Team 12';

-- this backend caches one user: each lookup of another is a local miss
SET teamacl.cache_size = 1;
SELECT * INTO TEMP first_pass FROM (SELECT p.email, regress_answers(p.id) AS answers FROM people p ORDER BY p.email) a;
SELECT regress_counter('shared_hits') AS hits0 \gset
SELECT p.email, regress_answers(p.id) AS answers FROM people p ORDER BY p.email;
-- the second pass was answered by the shared cache, with the same answers
SELECT regress_counter('shared_hits') - :hits0 AS shared_hits_second_pass;
SELECT count(*) AS differing FROM first_pass f JOIN people p USING (email)
 WHERE f.answers IS DISTINCT FROM regress_answers(p.id);

-- a user in more teams than a shared entry holds (256) is loaded each time
SELECT teamacl.register_user('frank@example.com', 'Frank') AS frank \gset
INSERT INTO teamacl.teams (id, name)
	SELECT gen_random_uuid(), format('Bulk %s', lpad(g::text, 3, '0')) FROM generate_series(1, 300) g;
INSERT INTO teamacl.members (team_id, user_id, role_id)
	SELECT t.id, :'frank', r.id FROM teamacl.teams t, teamacl.roles r
	 WHERE t.name LIKE 'Bulk %' AND r.name = 'viewer';
SELECT teamacl.set_user(:'frank', false);
SELECT cardinality(teamacl.teams_with('resources.read')) AS frank_reads;
SELECT teamacl.set_user(:'bob', false);
SELECT regress_counter('shared_hits') AS hits1 \gset
SELECT teamacl.set_user(:'frank', false);
SELECT cardinality(teamacl.teams_with('resources.read')) AS frank_reads_again,
	   regress_counter('shared_hits') - :hits1 AS frank_shared_hits;
DELETE FROM teamacl.teams WHERE name LIKE 'Bulk %';

-- changes: each is seen by the next statement, through the shared cache
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.remove_member(t.id, :'bob') FROM teamacl.teams t WHERE name = 'Team 01';
SELECT teamacl.change_role(t.id, :'carol', 'viewer') FROM teamacl.teams t WHERE name = 'Team 02';
SELECT teamacl.set_sign_in_method(:'erin', 'sso');
SELECT p.email, regress_answers(p.id) AS answers FROM people p ORDER BY p.email;
SELECT regress_counter('shared_hits') AS hits2 \gset
SELECT count(*) AS differing_after_changes FROM (SELECT p.email, regress_answers(p.id) AS answers FROM people p) a
  JOIN (SELECT p.email, regress_answers(p.id) AS answers FROM people p) b USING (email)
 WHERE a.answers IS DISTINCT FROM b.answers;
SELECT regress_counter('shared_hits') > :hits2 AS served_by_shared_cache;
-- a team's requirement changes (lifted by alice, who must sign in
-- securely for her own membership to count)
SELECT teamacl.set_sign_in_method(:'erin', 'password');
SELECT regress_answers(:'erin') AS erin_insecure_again, regress_answers(:'alice') AS alice_insecure;
SELECT teamacl.set_sign_in_method(:'alice', 'password_2fa');
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.update_team(id, require_secure_sign_in => false) FROM teamacl.teams WHERE name = 'Team 12';
SELECT regress_answers(:'erin') AS erin_not_required, regress_answers(:'alice') AS alice_secure;
-- in a transaction that changes memberships, its own changes are seen
-- (the shared cache is not used there)
BEGIN;
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.remove_member(t.id, :'dave') FROM teamacl.teams t WHERE name = 'Team 03';
SELECT regress_answers(:'dave') AS dave_in_xact;
ROLLBACK;
SELECT regress_answers(:'dave') AS dave_after_rollback;

-- what shared_cache_stats() says (its counters only grow)
SELECT slots > 0 AS has_slots, used > 0 AS has_entries, used <= slots AS bounded,
	   bytes >= slots * 168 AS bytes_cover_slots, hits > 0 AS has_hits, publishes >= used AS published
  FROM teamacl.shared_cache_stats();

RESET teamacl.cache_size;
DROP TABLE people, first_pass;
DROP FUNCTION regress_answers(uuid), regress_counter(text), regress_cache_counters();
DROP EXTENSION teamacl CASCADE;
DROP SCHEMA teamacl;
DROP EXTENSION pgcrypto;
