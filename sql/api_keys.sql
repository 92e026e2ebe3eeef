-- API keys, as the application role: scoped to one team, never more than
-- the creator holds now (demotion and removal take effect at once), the
-- one error for every unusable key, expiry, revocation, visibility,
-- last_used_at, audit and outbox rows without the key, the PostgREST
-- header, doctor().
\set SHOW_CONTEXT never
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/err.sql
CREATE EXTENSION teamacl CASCADE;
CREATE ROLE regress_keys_app LOGIN;
GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean), teamacl.set_api_key(text, boolean) TO regress_keys_app;
CREATE TABLE regress_keys_docs (id int PRIMARY KEY, team_id uuid NOT NULL, body text);
CREATE INDEX ON regress_keys_docs (team_id);
SELECT teamacl.protect('regress_keys_docs');
GRANT SELECT, INSERT, UPDATE, DELETE ON regress_keys_docs TO regress_keys_app;

SELECT teamacl.register_user('alice@example.com') AS alice \gset
SELECT teamacl.register_user('bob@example.com') AS bob \gset
SELECT teamacl.register_user('carol@example.com') AS carol \gset
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_team('Acme', 'pro') AS acme \gset
SELECT teamacl.create_team('Beta', 'pro') AS beta \gset
SELECT teamacl.add_member(:'acme', 'bob@example.com', 'admin') IS NOT NULL AS bob_admin_of_acme;
SELECT teamacl.add_member(:'beta', 'bob@example.com', 'admin') IS NOT NULL AS bob_admin_of_beta;
SELECT teamacl.add_member(:'acme', 'carol@example.com', 'member') IS NOT NULL AS carol_member_of_acme;
-- a custom role that may create keys but holds little else
SELECT teamacl.create_role('integrator', '{team.read,resources.read,api_keys.create}', :'acme') IS NOT NULL AS integrator_role;
SELECT teamacl.set_user(NULL, false);
INSERT INTO regress_keys_docs VALUES (1, :'acme', 'acme 1'), (2, :'acme', 'acme 2'), (3, :'beta', 'beta 3');

-- as the application, on behalf of Bob (admin of Acme and Beta)
SET ROLE regress_keys_app;
SELECT teamacl.set_user(:'bob', false);
SELECT teamacl.create_api_key(:'acme', 'ci', 'member') AS key_member \gset
SELECT teamacl.create_api_key(:'acme', 'reader', 'viewer', '1 hour') AS key_viewer \gset
SELECT :'key_member' ~ '^tacl_key_[A-Za-z0-9_-]{43}$' AS key_format, :'key_member' <> :'key_viewer' AS distinct_keys;
SELECT name, role, status, created_by = :'bob' AS by_bob,
	   expires_at - created_at BETWEEN '89 days' AND '91 days' AS default_90_days
  FROM teamacl.team_api_keys ORDER BY name;
-- bad input and the no-escalation rule; changes nothing
SELECT pg_temp.err(format('SELECT teamacl.create_api_key(%L, %L, %L)', :'acme', 'owner key', 'owner'));
SELECT pg_temp.err(format('SELECT teamacl.create_api_key(%L, %L, %L)', :'acme', '  ', 'viewer'));
SELECT pg_temp.err(format('SELECT teamacl.create_api_key(%L, %L, %L, %L)', :'acme', 'x', 'viewer', '0'));
SELECT pg_temp.err(format('SELECT teamacl.create_api_key(%L, %L, %L, %L)', :'acme', 'x', 'viewer', '-1 day'));
SELECT pg_temp.err(format('SELECT teamacl.create_api_key(%L, %L, %L)', :'acme', 'x', 'nope'));
SELECT teamacl.set_user(:'carol', false);
SELECT pg_temp.err(format('SELECT teamacl.create_api_key(%L, %L, %L)', :'acme', 'x', 'viewer'));
SELECT teamacl.set_user(NULL, false);
RESET ROLE;
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.change_role(:'acme', :'carol', 'integrator');
SELECT teamacl.set_user(NULL, false);
SET ROLE regress_keys_app;
SELECT teamacl.set_user(:'carol', false);
SELECT pg_temp.err(format('SELECT teamacl.create_api_key(%L, %L, %L)', :'acme', 'too much', 'member')) AS escalation;
SELECT teamacl.create_api_key(:'acme', 'carol reads', 'viewer', '1 second') AS key_carol \gset
SELECT count(*) AS keys FROM teamacl.team_api_keys;

-- a key acts as its creator, in its team only, with the key's role
SELECT teamacl.set_user(NULL, false);
SELECT teamacl.set_api_key(:'key_member', false);
SELECT teamacl.current_user_id() = :'bob' AS acts_as_bob, teamacl.current_api_key_id() IS NOT NULL AS a_key;
SELECT teamacl.permissions(:'acme') AS in_acme, teamacl.permissions(:'beta') AS in_beta;
SELECT teamacl.has_permission(:'beta', 'team.read') AS beta_visible,
	   teamacl.teams_with('resources.read') = ARRAY[:'acme']::uuid[] AS only_acme;
SELECT id, body FROM regress_keys_docs ORDER BY id;
SELECT pg_temp.err(format('INSERT INTO regress_keys_docs VALUES (4, %L, %L)', :'acme', 'by key'));
SELECT pg_temp.err(format('INSERT INTO regress_keys_docs VALUES (5, %L, %L)', :'beta', 'by key'));
-- what the key may not do although Bob may
SELECT pg_temp.err(format('SELECT teamacl.invite(%L, %L)', :'acme', 'dan@example.com'));
SELECT pg_temp.err(format('SELECT teamacl.create_api_key(%L, %L, %L)', :'acme', 'child', 'viewer'));
SELECT count(*) AS teams_the_key_reads FROM teamacl.my_teams;
-- a narrower key: viewer
SELECT teamacl.set_api_key(:'key_viewer', false);
SELECT teamacl.permissions(:'acme') AS viewer_key;
WITH u AS (UPDATE regress_keys_docs SET body = 'no' WHERE id = 1 RETURNING 1) SELECT count(*) AS viewer_key_updates FROM u;
-- set_user wins again, and set_api_key(NULL) clears
SELECT teamacl.set_user(:'bob', false);
SELECT teamacl.current_api_key_id() IS NULL AS no_key, teamacl.has_permission(:'beta', 'team.read') AS bob_reads_beta;
SELECT teamacl.set_user(NULL, false);
SELECT teamacl.set_api_key(:'key_member', false);
SELECT teamacl.set_api_key(NULL, false);
SELECT teamacl.current_user_id() IS NULL AS cleared;
-- transaction-local by default
BEGIN;
SELECT teamacl.set_api_key(:'key_member');
SELECT teamacl.current_api_key_id() IS NOT NULL AS inside;
COMMIT;
SELECT teamacl.current_api_key_id() IS NULL AS gone_after_commit;
-- not settable any other way
SELECT pg_temp.err(format('SET teamacl.identity = %L', 'key:' || gen_random_uuid()));
SELECT pg_temp.err(format('SELECT set_config(%L, %L, false)', 'teamacl.identity', 'key:' || gen_random_uuid()));
RESET ROLE;

-- the creator demoted: the key holds only what both hold; removed: nothing
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.change_role(:'acme', :'bob', 'viewer');
SELECT teamacl.set_user(NULL, false);
SET ROLE regress_keys_app;
SELECT teamacl.set_api_key(:'key_member', false);
SELECT teamacl.permissions(:'acme') AS after_demotion;
SELECT teamacl.set_user(:'bob', false);
SELECT name, status FROM teamacl.team_api_keys ORDER BY name;
SELECT teamacl.set_user(NULL, false);
RESET ROLE;
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.change_role(:'acme', :'bob', 'admin');
SELECT teamacl.remove_member(:'acme', :'bob');
SELECT teamacl.set_user(NULL, false);
SET ROLE regress_keys_app;
SELECT teamacl.set_api_key(:'key_member', false);
SELECT teamacl.permissions(:'acme') AS after_removal, count(*) AS docs FROM regress_keys_docs;
SELECT teamacl.set_user(NULL, false);
RESET ROLE;
SELECT teamacl.set_user(:'alice', false);
SELECT name, status FROM teamacl.team_api_keys ORDER BY name;
SELECT teamacl.add_member(:'acme', 'bob@example.com', 'admin') IS NOT NULL AS bob_back;
SELECT teamacl.set_user(NULL, false);

-- one error for unknown, malformed, expired and revoked keys
SELECT pg_sleep(1.2);
SET ROLE regress_keys_app;
SELECT teamacl.set_user(:'bob', false);
SELECT id AS viewer_key_id FROM teamacl.team_api_keys WHERE name = 'reader' \gset
SELECT teamacl.revoke_api_key(:'viewer_key_id');
SELECT teamacl.revoke_api_key(:'viewer_key_id');
SELECT teamacl.set_user(NULL, false);
SELECT DISTINCT e FROM (VALUES
	(pg_temp.err(format('SELECT teamacl.set_api_key(%L)', 'tacl_key_' || repeat('A', 43)))),
	(pg_temp.err($$SELECT teamacl.set_api_key('garbage')$$)),
	(pg_temp.err($$SELECT teamacl.set_api_key('')$$)),
	(pg_temp.err(format('SELECT teamacl.set_api_key(%L)', :'key_carol'))),
	(pg_temp.err(format('SELECT teamacl.set_api_key(%L)', :'key_viewer')))) v(e);
-- a member cannot revoke another member's key; a holder of api_keys.manage can
SELECT teamacl.set_user(:'carol', false);
SELECT id AS carol_key_id FROM teamacl.team_api_keys WHERE name = 'carol reads' \gset
SELECT name, status FROM teamacl.team_api_keys ORDER BY name;
SELECT count(*) AS carol_sees_ci FROM teamacl.team_api_keys WHERE name = 'ci';
SELECT teamacl.set_user(:'bob', false);
SELECT id AS ci_key_id FROM teamacl.team_api_keys WHERE name = 'ci' \gset
SELECT teamacl.set_user(:'carol', false);
SELECT pg_temp.err(format('SELECT teamacl.revoke_api_key(%L)', :'ci_key_id')) AS carol_revokes_ci;
SELECT teamacl.set_user(:'bob', false);
SELECT name, status FROM teamacl.team_api_keys ORDER BY name;
SELECT teamacl.set_user(NULL, false);
RESET ROLE;
-- an expired key presented is audited by a background worker
DO $$
BEGIN
	FOR i IN 1..100 LOOP
		EXIT WHEN EXISTS (SELECT 1 FROM teamacl.audit_log WHERE action = 'key.expired-on-use');
		PERFORM pg_sleep(0.05);
	END LOOP;
END
$$;
SELECT action, actor = :'carol' AS actor_is_creator, api_key_id = :'carol_key_id' AS names_the_key
  FROM teamacl.audit_log WHERE action = 'key.expired-on-use';

-- last_used_at: written by a use, at most once a minute, never in a
-- read-only transaction
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_api_key(:'acme', 'fresh', 'viewer') AS key_fresh \gset
SELECT teamacl.set_user(NULL, false);
SET ROLE regress_keys_app;
BEGIN READ ONLY;
SELECT teamacl.set_api_key(:'key_fresh');
COMMIT;
RESET ROLE;
SELECT u.last_used_at IS NULL AS not_written_read_only FROM teamacl.api_key_usage u JOIN teamacl.api_keys k ON k.id = u.key_id WHERE k.name = 'fresh';
SET ROLE regress_keys_app;
SELECT teamacl.set_api_key(:'key_fresh', false);
RESET ROLE;
SELECT u.last_used_at IS NOT NULL AS written, u.xmin AS fresh_xmin FROM teamacl.api_key_usage u JOIN teamacl.api_keys k ON k.id = u.key_id WHERE k.name = 'fresh' \gset
SELECT :'written' AS written;
SET ROLE regress_keys_app;
SELECT teamacl.set_api_key(:'key_fresh', false);
RESET ROLE;
SELECT u.xmin = :'fresh_xmin' AS not_written_again FROM teamacl.api_key_usage u JOIN teamacl.api_keys k ON k.id = u.key_id WHERE k.name = 'fresh';
SET ROLE regress_keys_app;
SELECT teamacl.set_api_key(NULL, false);
RESET ROLE;

-- changes made with a key are audited with the key beside its creator
SET ROLE regress_keys_app;
SELECT teamacl.set_user(:'bob', false);
SELECT teamacl.create_api_key(:'acme', 'admin key', 'admin', '1 day') AS key_admin \gset
SELECT teamacl.set_user(NULL, false);
SELECT teamacl.set_api_key(:'key_admin', false);
SELECT teamacl.update_team(:'acme', name => 'Acme Corp') IS NOT NULL AS renamed_with_key;
SELECT teamacl.set_api_key(NULL, false);
RESET ROLE;
SELECT action, actor = :'bob' AS actor_bob, api_key_id IS NOT NULL AS with_key
  FROM teamacl.audit_log WHERE action IN ('key.created', 'key.revoked', 'team.updated') ORDER BY id;
SELECT event, payload ? 'key_id' AS has_id, payload ->> 'role' AS role FROM teamacl.outbox WHERE event = 'key.created' ORDER BY id;
-- no key, and no key hash, anywhere in teamacl's tables
SELECT c.relname, count(*) FILTER (WHERE t::text ~ 'tacl_key_') AS with_key,
	   count(*) FILTER (WHERE position(encode(teamacl_internal._hash_token(:'key_member'), 'hex') IN t::text) > 0
							  AND c.relname <> 'api_keys') AS with_hash
  FROM pg_class c, LATERAL (SELECT * FROM query_to_xml(format('SELECT * FROM teamacl.%I', c.relname), true, false, '')) x(t)
 WHERE c.relnamespace = 'teamacl'::regnamespace AND c.relkind = 'r'
 GROUP BY c.relname HAVING count(*) FILTER (WHERE t::text ~ 'tacl_key_') > 0 ORDER BY 1;

-- PostgREST: the Authorization header, when a superuser turned it on and
-- nothing else identified the request
SET ROLE regress_keys_app;
SELECT set_config('request.headers', json_build_object('authorization', 'Bearer ' || :'key_member')::text, false) IS NOT NULL AS header_set;
SELECT teamacl.current_user_id() IS NULL AS off_by_default;
SELECT pg_temp.err('SET teamacl.api_key_header = on') AS app_cannot_turn_it_on;
RESET ROLE;
SET teamacl.api_key_header = on;
SET ROLE regress_keys_app;
SELECT teamacl.current_user_id() = :'bob' AS from_header, teamacl.current_api_key_id() IS NOT NULL AS key_from_header;
SELECT count(*) AS docs_through_header FROM regress_keys_docs;
SELECT teamacl.set_user(:'carol', false);
SELECT teamacl.current_user_id() = :'carol' AS set_user_wins;
SELECT teamacl.set_user(NULL, false);
SELECT set_config('request.headers', json_build_object('authorization', 'Bearer ' || :'key_viewer')::text, false) IS NOT NULL AS revoked_in_header;
SELECT teamacl.current_user_id() IS NULL AS revoked_header_is_nobody;
SELECT set_config('request.headers', '{"authorization": "Basic abc"}', false) IS NOT NULL AS other_scheme;
SELECT teamacl.current_user_id() IS NULL AS other_scheme_is_nobody;
RESET ROLE;
RESET teamacl.api_key_header;
SELECT set_config('request.headers', '', false) IS NOT NULL AS headers_cleared;

-- a key that never expires needs a superuser's setting; doctor() names it,
-- and keys whose creator left
SET ROLE regress_keys_app;
SELECT pg_temp.err('SET teamacl.api_key_validity = -1') AS app_cannot_allow_it;
RESET ROLE;
SELECT pg_temp.err('SET teamacl.api_key_validity = 0') AS zero_refused;
SET teamacl.api_key_validity = -1;
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_api_key(:'beta', 'forever', 'viewer') IS NOT NULL AS forever_key;
SELECT expires_at IS NULL AS never_expires FROM teamacl.team_api_keys WHERE name = 'forever';
RESET teamacl.api_key_validity;
SELECT teamacl.remove_member(:'acme', :'carol');
SELECT teamacl.create_api_key(:'acme', 'carol gone', 'viewer') IS NOT NULL AS another;
SELECT teamacl.set_user(NULL, false);
UPDATE teamacl.api_keys SET created_by = :'carol' WHERE name = 'carol gone';
SELECT severity, regexp_replace(object, '[0-9a-f-]{36}', '<id>') AS object, problem
  FROM teamacl.doctor() WHERE object LIKE 'API key%' ORDER BY object;

SET ROLE regress_keys_app;
SELECT teamacl.set_user(NULL, false);
RESET ROLE;
DROP TABLE regress_keys_docs;
DROP EXTENSION teamacl CASCADE;
DROP SCHEMA teamacl;
DROP EXTENSION pgcrypto;
DROP ROLE regress_keys_app;
