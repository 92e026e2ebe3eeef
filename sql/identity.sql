-- Who is asking: set_user() (pool-safe semantics), login-role mapping,
-- registration, and every way of spoofing an identity, which must all fail.
\set SHOW_CONTEXT never
CREATE EXTENSION teamacl CASCADE;
SELECT current_user AS superuser \gset
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/err.sql
CREATE ROLE regress_identity_app;
CREATE ROLE regress_identity_plain;
CREATE ROLE regress_identity_alice;
CREATE ROLE regress_identity_bob;

SELECT teamacl.register_user('alice@example.com', 'Alice', db_role => 'regress_identity_alice') AS alice \gset
SELECT teamacl.register_user('bob@example.com', 'Bob', db_role => 'regress_identity_bob') AS bob \gset
SELECT teamacl.register_user('carol@example.com', 'Carol') AS carol \gset

-- nobody identified (the superuser running the test is not mapped)
SELECT teamacl.current_user_id() IS NULL AS nobody;

------------------------------------------------------------------------
-- set_user(): transaction-local by default
------------------------------------------------------------------------
BEGIN;
SELECT teamacl.set_user(:'bob');
SELECT teamacl.current_user_id() = :'bob' AS bob_in_xact;
-- callable several times in one transaction
SELECT teamacl.set_user(:'carol');
SELECT teamacl.current_user_id() = :'carol' AS carol_after_second_call;
SELECT teamacl.set_user(:'alice');
SELECT teamacl.current_user_id() = :'alice' AS alice_after_third_call;
COMMIT;
SELECT teamacl.current_user_id() IS NULL AS gone_after_commit;
BEGIN;
SELECT teamacl.set_user(:'bob');
ROLLBACK;
SELECT teamacl.current_user_id() IS NULL AS gone_after_rollback;
-- an identity set in an aborted transaction is gone too
BEGIN;
SELECT teamacl.set_user(:'bob');
SELECT 1 / 0;
ROLLBACK;
SELECT teamacl.current_user_id() IS NULL AS gone_after_error;
-- is_local => NULL means the default (transaction-local)
BEGIN;
SELECT teamacl.set_user(:'bob', NULL);
COMMIT;
SELECT teamacl.current_user_id() IS NULL AS null_is_local;
-- savepoints: ROLLBACK TO SAVEPOINT restores the previous identity
BEGIN;
SELECT teamacl.set_user(:'bob');
SAVEPOINT s1;
SELECT teamacl.set_user(:'alice');
SELECT teamacl.current_user_id() = :'alice' AS alice_in_savepoint;
ROLLBACK TO SAVEPOINT s1;
SELECT teamacl.current_user_id() = :'bob' AS bob_restored;
SAVEPOINT s2;
SELECT teamacl.set_user(NULL);
SELECT teamacl.current_user_id() IS NULL AS cleared_in_savepoint;
ROLLBACK TO SAVEPOINT s2;
SELECT teamacl.current_user_id() = :'bob' AS bob_restored_again;
SAVEPOINT s3;
SELECT teamacl.set_user(:'carol');
RELEASE SAVEPOINT s3;
SELECT teamacl.current_user_id() = :'carol' AS carol_after_release;
COMMIT;
SELECT teamacl.current_user_id() IS NULL AS gone_after_savepoints;

------------------------------------------------------------------------
-- set_user(..., is_local => false): session-wide; NULL clears
------------------------------------------------------------------------
SELECT teamacl.set_user(:'bob', false);
SELECT teamacl.current_user_id() = :'bob' AS bob_session;
BEGIN;
SELECT teamacl.current_user_id() = :'bob' AS bob_in_next_xact;
COMMIT;
-- a transaction-local identity overrides it until the transaction ends
BEGIN;
SELECT teamacl.set_user(:'alice');
SELECT teamacl.current_user_id() = :'alice' AS local_overrides;
COMMIT;
SELECT teamacl.current_user_id() = :'bob' AS session_value_back;
BEGIN;
SELECT teamacl.set_user(NULL);
SELECT teamacl.current_user_id() IS NULL AS locally_cleared;
COMMIT;
SELECT teamacl.current_user_id() = :'bob' AS session_value_back_again;
-- a session-wide set_user in a rolled-back transaction does not stick
BEGIN;
SELECT teamacl.set_user(:'carol', false);
ROLLBACK;
SELECT teamacl.current_user_id() = :'bob' AS rolled_back_session_set;
SELECT teamacl.set_user(NULL, false);
SELECT teamacl.current_user_id() IS NULL AS cleared;

------------------------------------------------------------------------
-- unknown users (42704) and placeholders (55000) cannot be named
------------------------------------------------------------------------
SELECT pg_temp.err($$SELECT teamacl.set_user('5d2f2b1e-3c39-4f4e-9b7a-2d8c0a6f1e11')$$);
SELECT pg_temp.err($$SELECT teamacl.set_user('5d2f2b1e-3c39-4f4e-9b7a-2d8c0a6f1e11', false)$$);
SELECT teamacl.current_user_id() IS NULL AS still_nobody;
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_team('Acme') AS acme \gset
SELECT teamacl.add_member(:'acme', 'placeholder@example.com', 'member') AS placeholder \gset
SELECT email, registered FROM teamacl.users WHERE id = :'placeholder';
SELECT pg_temp.err(format('SELECT teamacl.set_user(%L)', :'placeholder'));
SELECT teamacl.current_user_id() = :'alice' AS unchanged_after_refusal;
SELECT teamacl.set_user(NULL, false);
-- once the placeholder signs up (same id, claimed), it can be named
SELECT teamacl.register_user('Placeholder@Example.com', 'Pat') = :'placeholder' AS claimed;
BEGIN;
SELECT teamacl.set_user(:'placeholder');
SELECT teamacl.current_user_id() = :'placeholder' AS registered_now;
COMMIT;

------------------------------------------------------------------------
-- privileged functions: EXECUTE revoked from PUBLIC
------------------------------------------------------------------------
SELECT p.oid::regprocedure AS function,
       has_function_privilege('regress_identity_plain', p.oid, 'EXECUTE') AS plain_may_execute
  FROM pg_proc p
 WHERE p.oid IN ('teamacl.set_user(uuid, boolean)'::regprocedure,
                 'teamacl.set_sign_in_method(uuid, text)'::regprocedure,
                 'teamacl.register_user(text, text, name, uuid)'::regprocedure)
 ORDER BY 1::text;
SET ROLE regress_identity_app;
SELECT pg_temp.err(format('SELECT teamacl.set_user(%L)', :'bob')) AS set_user;
SELECT pg_temp.err(format('SELECT teamacl.set_user(%L, false)', :'bob')) AS set_user_session;
SELECT pg_temp.err('SELECT teamacl.set_user(NULL)') AS set_user_null;
SELECT pg_temp.err(format('SELECT teamacl.set_sign_in_method(%L, %L)', :'bob', 'sso')) AS set_sign_in_method;
SELECT pg_temp.err($$SELECT teamacl.register_user('mallory@example.com')$$) AS register_user;
-- (and, from later issues, the other functions that are not for PUBLIC)
SELECT pg_temp.err($$SELECT teamacl.authenticate('bob@example.com', 'x')$$) AS authenticate;
SELECT pg_temp.err($$SELECT teamacl.define_permission('x.y')$$) AS define_permission;
SELECT teamacl.current_user_id() IS NULL AS still_nobody;
RESET ROLE;
SELECT count(*) AS mallory_rows FROM teamacl.users WHERE email = 'mallory@example.com';
GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) TO regress_identity_app;
GRANT EXECUTE ON FUNCTION teamacl.set_sign_in_method(uuid, text) TO regress_identity_app;
GRANT EXECUTE ON FUNCTION teamacl.register_user(text, text, name, uuid) TO regress_identity_app;
SET ROLE regress_identity_app;
SELECT pg_temp.err(format('SELECT teamacl.set_user(%L, false)', :'bob')) AS set_user;
SELECT teamacl.current_user_id() = :'bob' AS app_may_name_users;
SELECT pg_temp.err(format('SELECT teamacl.set_sign_in_method(%L, %L)', :'bob', 'github')) AS set_sign_in_method;
SELECT pg_temp.err($$SELECT teamacl.register_user('mallory@example.com')$$) AS register_user;
SELECT teamacl.set_user(NULL, false);
RESET ROLE;
SELECT email, sign_in_method, registered FROM teamacl.users
 WHERE email IN ('bob@example.com', 'mallory@example.com') ORDER BY email;
REVOKE EXECUTE ON FUNCTION teamacl.set_sign_in_method(uuid, text) FROM regress_identity_app;
REVOKE EXECUTE ON FUNCTION teamacl.register_user(text, text, name, uuid) FROM regress_identity_app;

------------------------------------------------------------------------
-- spoofing: every route fails and leaves current_user_id() unchanged
------------------------------------------------------------------------
-- as a plain role, acting for bob (set by the application before SET ROLE)
SELECT teamacl.set_user(:'bob', false);
SET ROLE regress_identity_plain;
SELECT teamacl.current_user_id() = :'bob' AS plain_acts_for_bob;
SELECT pg_temp.err(format('SET teamacl.identity = %L', :'alice')) AS set;
SELECT pg_temp.err(format('SET LOCAL teamacl.identity = %L', :'alice')) AS set_local;
SELECT pg_temp.err(format('SET SESSION teamacl.identity = %L', :'alice')) AS set_session;
SELECT pg_temp.err($$SET teamacl.identity = ''$$) AS set_empty;
SELECT pg_temp.err(format('SELECT set_config(%L, %L, false)', 'teamacl.identity', :'alice')) AS set_config_session;
SELECT pg_temp.err(format('SELECT set_config(%L, %L, true)', 'teamacl.identity', :'alice')) AS set_config_local;
SELECT pg_temp.err(format('ALTER ROLE regress_identity_plain SET teamacl.identity = %L', :'alice')) AS alter_role;
SELECT pg_temp.err(format($f$CREATE FUNCTION pg_temp.spoof() RETURNS uuid LANGUAGE sql
	SET teamacl.identity = %L AS 'SELECT teamacl.current_user_id()'$f$, :'alice')) AS function_set_clause;
SELECT pg_temp.err('SET teamacl.anything = 1') AS reserved_prefix;
SELECT pg_temp.err($$SELECT set_config('teamacl.anything', '1', false)$$) AS reserved_prefix_set_config;
SELECT pg_temp.err('SET teamacl.jwt_identity = on') AS jwt_identity;
SELECT pg_temp.err('SET teamacl.max_owned_teams = 100') AS max_owned_teams;
-- without teamacl.jwt_identity (superuser-only, off), JWT claims name nobody
SELECT pg_temp.err(format('SET request.jwt.claims = %L', json_build_object('sub', :'alice')::text)) AS set_claims;
SELECT teamacl.current_user_id() = :'bob' AS still_bob;
RESET request.jwt.claims;
-- the same statements at top level
SET teamacl.identity = :'alice';
SET LOCAL teamacl.identity = :'alice';
SELECT set_config('teamacl.identity', :'alice', false);
ALTER ROLE regress_identity_plain SET teamacl.identity = :'alice';
SET teamacl.anything = 1;
SELECT teamacl.current_user_id() = :'bob' AS still_bob;
RESET ROLE;
-- as the superuser: the check hook refuses it too
SELECT pg_temp.err(format('SET teamacl.identity = %L', :'alice')) AS superuser_set;
SELECT pg_temp.err(format('SET LOCAL teamacl.identity = %L', :'alice')) AS superuser_set_local;
SELECT pg_temp.err(format('SELECT set_config(%L, %L, false)', 'teamacl.identity', :'alice')) AS superuser_set_config;
SELECT pg_temp.err(format('SELECT set_config(%L, %L, true)', 'teamacl.identity', :'alice')) AS superuser_set_config_local;
SELECT pg_temp.err(format('ALTER ROLE regress_identity_plain SET teamacl.identity = %L', :'alice')) AS superuser_alter_role;
SELECT pg_temp.err(format('ALTER ROLE ALL SET teamacl.identity = %L', :'alice')) AS superuser_alter_role_all;
SELECT pg_temp.err(format('ALTER DATABASE %I SET teamacl.identity = %L', current_database(), :'alice')) AS superuser_alter_db;
SELECT pg_temp.err(format($f$CREATE FUNCTION pg_temp.spoof() RETURNS uuid LANGUAGE sql
	SET teamacl.identity = %L AS 'SELECT teamacl.current_user_id()'$f$, :'alice')) AS superuser_function_set_clause;
SELECT pg_temp.err('SET teamacl.anything = 1') AS superuser_reserved_prefix;
SELECT teamacl.current_user_id() = :'bob' AS still_bob;
-- nothing was stored for any role or database
SELECT count(*) AS stored_settings FROM pg_db_role_setting s, unnest(s.setconfig) c
 WHERE c LIKE 'teamacl.%'
   AND (s.setrole IN (0, 'regress_identity_plain'::regrole)
        OR s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database()));
SELECT teamacl.set_user(NULL, false);

------------------------------------------------------------------------
-- RESET ALL / DISCARD ALL clear a session identity (session poolers)
------------------------------------------------------------------------
SELECT teamacl.set_user(:'bob', false);
RESET ALL;
SELECT teamacl.current_user_id() IS NULL AS reset_all_clears;
SELECT teamacl.set_user(:'bob', false);
RESET teamacl.identity;
SELECT teamacl.current_user_id() IS NULL AS reset_clears;
-- SET ... TO DEFAULT is a RESET: it clears, it names nobody
SELECT teamacl.set_user(:'bob', false);
SET ROLE regress_identity_plain;
SET teamacl.identity TO DEFAULT;
SELECT teamacl.current_user_id() IS NULL AS set_default_clears;
RESET ROLE;
SELECT teamacl.set_user(:'bob', false);
-- a plain role may clear (not change) the identity it acts for
SET ROLE regress_identity_plain;
RESET ALL;
SELECT teamacl.current_user_id() IS NULL AS plain_reset_all_clears;
RESET ROLE;
SELECT teamacl.set_user(:'bob', false);
DISCARD ALL;
SELECT teamacl.current_user_id() IS NULL AS discard_all_clears;
-- DISCARD ALL dropped the temporary helper
\i :abs_srcdir/sql/include/err.sql

------------------------------------------------------------------------
-- login-role mapping
------------------------------------------------------------------------
SELECT email, db_role FROM teamacl.users WHERE db_role IS NOT NULL ORDER BY email;
SET ROLE regress_identity_alice;
SELECT teamacl.current_user_id() = :'alice' AS mapped_by_set_role;
SELECT teamacl.has_permission(:'acme', 'team.delete') AS alice_owns_acme;
SET ROLE regress_identity_bob;
SELECT teamacl.current_user_id() = :'bob' AS follows_set_role;
RESET ROLE;
SELECT teamacl.current_user_id() IS NULL AS unmapped_superuser;
SET SESSION AUTHORIZATION regress_identity_alice;
SELECT teamacl.current_user_id() = :'alice' AS mapped_by_session_authorization;
RESET SESSION AUTHORIZATION;
-- the mapping is kept by role OID: a renamed role is still Alice (the new
-- name cannot be mapped again), a role made under the old name is nobody,
-- and a dropped role maps to nobody
ALTER ROLE regress_identity_alice RENAME TO regress_identity_alice2;
CREATE ROLE regress_identity_alice;
SET ROLE regress_identity_alice2;
SELECT teamacl.current_user_id() = :'alice' AS mapped_after_rename;
SET ROLE regress_identity_alice;
SELECT teamacl.current_user_id() IS NULL AS old_name_is_nobody;
RESET ROLE;
SELECT pg_temp.err($$SELECT teamacl.register_user('erin@example.com', db_role => 'regress_identity_alice2')$$);
SELECT pg_temp.err($$SELECT teamacl.register_user('erin@example.com', db_role => 'regress_identity_alice')$$);
DROP ROLE regress_identity_alice;
ALTER ROLE regress_identity_alice2 RENAME TO regress_identity_alice;
CREATE ROLE regress_identity_gone;
SELECT teamacl.register_user('gone@example.com', db_role => 'regress_identity_gone') AS gone \gset
SET ROLE regress_identity_gone;
SELECT teamacl.current_user_id() = :'gone' AS gone_mapped;
RESET ROLE;
DROP ROLE regress_identity_gone;
CREATE ROLE regress_identity_gone;
SET ROLE regress_identity_gone;
SELECT teamacl.current_user_id() IS NULL AS recreated_role_is_nobody;
RESET ROLE;
DROP ROLE regress_identity_gone;
-- an explicit set_user wins over the mapping, session-wide or local
SELECT teamacl.set_user(:'carol', false);
SET ROLE regress_identity_alice;
SELECT teamacl.current_user_id() = :'carol' AS set_user_wins;
RESET ROLE;
SELECT teamacl.set_user(NULL, false);
GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) TO regress_identity_alice;
SET ROLE regress_identity_alice;
BEGIN;
SELECT teamacl.set_user(:'carol');
SELECT teamacl.current_user_id() = :'carol' AS local_set_user_wins;
COMMIT;
SELECT teamacl.current_user_id() = :'alice' AS mapping_back_after_commit;
RESET ROLE;
REVOKE EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) FROM regress_identity_alice;
-- SECURITY DEFINER: the function runs as its owner (regress_identity_bob,
-- mapped to bob) but current_user_id() still reports the caller's identity:
-- the mapping follows SET ROLE, not SECURITY DEFINER
CREATE FUNCTION public.regress_identity_who(OUT cur name, OUT who uuid) LANGUAGE sql SECURITY DEFINER
	SET search_path = pg_catalog AS 'SELECT current_user, teamacl.current_user_id()';
ALTER FUNCTION public.regress_identity_who() OWNER TO regress_identity_bob;
SET ROLE regress_identity_alice;
SELECT cur, who = :'alice' AS caller_alice, who = :'bob' AS owner_bob FROM public.regress_identity_who();
RESET ROLE;
SELECT cur, who IS NULL AS caller_unmapped FROM public.regress_identity_who();
BEGIN;
SELECT teamacl.set_user(:'carol');
SELECT cur, who = :'carol' AS caller_carol FROM public.regress_identity_who();
COMMIT;
-- mapping errors
SELECT pg_temp.err($$SELECT teamacl.register_user('dora@example.com', db_role => 'regress_identity_no_such_role')$$);
SELECT pg_temp.err($$SELECT teamacl.register_user('dora@example.com', db_role => 'regress_identity_alice')$$);
SELECT count(*) AS dora_rows FROM teamacl.users WHERE email = 'dora@example.com';

------------------------------------------------------------------------
-- registration: normalised emails, duplicates, bad input
------------------------------------------------------------------------
SELECT teamacl.register_user('  Dave@Example.COM  ') AS dave \gset
SELECT email, registered FROM teamacl.users WHERE id = :'dave';
SELECT name, personal FROM teamacl.teams WHERE personal_owner = :'dave';
SELECT pg_temp.err($$SELECT teamacl.register_user('dave@example.com')$$);
SELECT pg_temp.err($$SELECT teamacl.register_user('DAVE@EXAMPLE.COM')$$);
SELECT pg_temp.err($$SELECT teamacl.register_user(' dave@example.com')$$);
SELECT pg_temp.err($$SELECT teamacl.register_user('ALICE@example.com')$$);
SELECT count(*) AS dave_rows FROM teamacl.users WHERE lower(email) = 'dave@example.com';
SELECT pg_temp.err($$SELECT teamacl.register_user('not-an-email')$$);
SELECT pg_temp.err($$SELECT teamacl.register_user('two@@example.com')$$);
SELECT pg_temp.err($$SELECT teamacl.register_user('a@b@example.com')$$);
SELECT pg_temp.err($$SELECT teamacl.register_user('@example.com')$$);
SELECT pg_temp.err($$SELECT teamacl.register_user('nobody@')$$);
SELECT pg_temp.err($$SELECT teamacl.register_user('sp ace@example.com')$$);
SELECT pg_temp.err($$SELECT teamacl.register_user('')$$);
SELECT pg_temp.err($$SELECT teamacl.register_user(NULL)$$);
SELECT pg_temp.err(format('SELECT teamacl.register_user(%L)', repeat('x', 250) || '@example.com'));
-- sign-in methods
SELECT pg_temp.err(format('SELECT teamacl.set_sign_in_method(%L, %L)', :'carol', 'carrier-pigeon'));
SELECT pg_temp.err(format('SELECT teamacl.set_sign_in_method(%L, %L)', :'carol', 'SSO'));
SELECT pg_temp.err(format('SELECT teamacl.set_sign_in_method(%L, NULL)', :'carol'));
SELECT pg_temp.err($$SELECT teamacl.set_sign_in_method('5d2f2b1e-3c39-4f4e-9b7a-2d8c0a6f1e11', 'sso')$$);
SELECT pg_temp.err(format('SELECT teamacl.set_sign_in_method(%L, %L)', :'carol', 'password_2fa'));
SELECT email, sign_in_method FROM teamacl.users WHERE id = :'carol';

------------------------------------------------------------------------
-- parallel workers see the leader's identity
------------------------------------------------------------------------
CREATE TABLE regress_identity_par (id int, team_id uuid);
INSERT INTO regress_identity_par SELECT g, :'acme' FROM generate_series(1, 100000) g;
ANALYZE regress_identity_par;
GRANT SELECT ON regress_identity_par TO regress_identity_alice;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT teamacl.set_user(:'alice', false);
EXPLAIN (COSTS OFF) SELECT count(*) FROM regress_identity_par WHERE teamacl.has_permission(team_id, 'resources.read');
SELECT count(*) FROM regress_identity_par WHERE teamacl.has_permission(team_id, 'resources.read');
SELECT count(*) FROM regress_identity_par WHERE teamacl.current_user_id() = :'alice';
SELECT teamacl.set_user(NULL, false);
-- a transaction-local identity
BEGIN;
SELECT teamacl.set_user(:'alice');
SELECT count(*) FROM regress_identity_par WHERE teamacl.has_permission(team_id, 'resources.read');
SELECT count(*) FROM regress_identity_par WHERE teamacl.current_user_id() = :'alice';
COMMIT;
-- the login-role mapping
SET ROLE regress_identity_alice;
SELECT count(*) FROM regress_identity_par WHERE teamacl.has_permission(team_id, 'resources.read');
SELECT count(*) FROM regress_identity_par WHERE teamacl.current_user_id() = :'alice';
RESET ROLE;
-- bob is not in team Acme: nothing
BEGIN;
SELECT teamacl.set_user(:'bob');
SELECT count(*) FROM regress_identity_par WHERE teamacl.has_permission(team_id, 'resources.read');
COMMIT;
-- nobody identified: nothing
SELECT count(*) FROM regress_identity_par WHERE teamacl.has_permission(team_id, 'resources.read');
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
DROP TABLE regress_identity_par;

DROP FUNCTION public.regress_identity_who();
DROP EXTENSION teamacl CASCADE;
DROP SCHEMA teamacl;
DROP EXTENSION pgcrypto;
DROP ROLE regress_identity_app, regress_identity_plain, regress_identity_alice, regress_identity_bob;
