-- Who is asking: set_user(), login-role mapping, and every way of
-- spoofing an identity, which must all fail.
\set SHOW_CONTEXT never
\set VERBOSITY terse
CREATE EXTENSION teamacl CASCADE;
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/err.sql
CREATE ROLE regress_identity_app;
CREATE ROLE regress_identity_plain;
CREATE ROLE regress_identity_alice;
GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) TO regress_identity_app;

SELECT teamacl.register_user('alice@example.com', 'Alice', db_role => 'regress_identity_alice') AS alice \gset
SELECT teamacl.register_user('bob@example.com', 'Bob') AS bob \gset
SELECT teamacl.current_user_id() IS NULL AS nobody;

-- transaction-local by default
BEGIN;
SELECT teamacl.set_user(:'bob');
SELECT teamacl.current_user_id() = :'bob' AS bob_in_xact;
SELECT teamacl.set_user(:'alice');
SELECT teamacl.current_user_id() = :'alice' AS alice_after_second_call;
COMMIT;
SELECT teamacl.current_user_id() IS NULL AS gone_after_commit;
BEGIN;
SELECT teamacl.set_user(:'bob');
ROLLBACK;
SELECT teamacl.current_user_id() IS NULL AS gone_after_rollback;
-- savepoints: a rolled-back subtransaction restores the previous identity
BEGIN;
SELECT teamacl.set_user(:'bob');
SAVEPOINT s;
SELECT teamacl.set_user(:'alice');
ROLLBACK TO SAVEPOINT s;
SELECT teamacl.current_user_id() = :'bob' AS bob_restored;
COMMIT;
-- session-wide, and cleared with NULL
SELECT teamacl.set_user(:'bob', false);
SELECT teamacl.current_user_id() = :'bob' AS bob_session;
SELECT teamacl.set_user(NULL, false);
SELECT teamacl.current_user_id() IS NULL AS cleared;
-- unknown users and placeholders are refused
SELECT pg_temp.err($$SELECT teamacl.set_user('5d2f2b1e-3c39-4f4e-9b7a-2d8c0a6f1e11')$$);
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_team('Acme') AS acme \gset
SELECT teamacl.add_member(:'acme', 'placeholder@example.com', 'member') AS placeholder \gset
SELECT pg_temp.err(format('SELECT teamacl.set_user(%L)', :'placeholder'));
SELECT teamacl.set_user(NULL, false);

-- privileged functions are not for PUBLIC
SET ROLE regress_identity_plain;
SELECT pg_temp.err(format('SELECT teamacl.set_user(%L)', :'bob'));
SELECT pg_temp.err($$SELECT teamacl.register_user('mallory@example.com')$$);
SELECT pg_temp.err(format('SELECT teamacl.set_sign_in_method(%L, %L)', :'bob', 'sso'));
SELECT pg_temp.err($$SELECT teamacl.authenticate('bob@example.com', 'x')$$);
SELECT pg_temp.err($$SELECT teamacl.define_permission('x.y')$$);
RESET ROLE;
SET ROLE regress_identity_app;
SELECT pg_temp.err(format('SELECT teamacl.set_user(%L, false)', :'bob'));
SELECT teamacl.current_user_id() = :'bob' AS app_may_name_users;
SELECT teamacl.set_user(NULL, false);
RESET ROLE;

-- spoofing: none of these names a user, for plain roles or superusers
SET ROLE regress_identity_plain;
SELECT pg_temp.err(format('SET teamacl.identity = %L', :'bob'));
SELECT pg_temp.err(format('SET LOCAL teamacl.identity = %L', :'bob'));
SELECT pg_temp.err(format('SELECT set_config(%L, %L, false)', 'teamacl.identity', :'bob'));
SELECT pg_temp.err(format('SELECT set_config(%L, %L, true)', 'teamacl.identity', :'bob'));
SELECT pg_temp.err(format('ALTER ROLE regress_identity_plain SET teamacl.identity = %L', :'bob'));
SELECT pg_temp.err('SET teamacl.anything = 1');
SELECT pg_temp.err('SET teamacl.jwt_identity = on');
SELECT pg_temp.err('SET teamacl.max_owned_teams = 100');
SELECT teamacl.current_user_id() IS NULL AS still_nobody;
RESET ROLE;
SELECT pg_temp.err(format('SET teamacl.identity = %L', :'bob')) AS superuser_set;
SELECT pg_temp.err(format('ALTER ROLE regress_identity_plain SET teamacl.identity = %L', :'bob')) AS superuser_alter_role;
SELECT pg_temp.err(format('ALTER DATABASE %I SET teamacl.identity = %L', current_database(), :'bob')) AS superuser_alter_db;
SELECT pg_temp.err($$CREATE FUNCTION pg_temp.with_set_clause() RETURNS uuid LANGUAGE sql
	SET teamacl.identity = '5d2f2b1e-3c39-4f4e-9b7a-2d8c0a6f1e11' AS 'SELECT teamacl.current_user_id()'$$) AS function_set_clause;
SELECT teamacl.current_user_id() IS NULL AS still_nobody;

-- RESET ALL and DISCARD ALL clear a session identity (session poolers)
SELECT teamacl.set_user(:'bob', false);
RESET ALL;
SELECT teamacl.current_user_id() IS NULL AS reset_all_clears;
SELECT teamacl.set_user(:'bob', false);
RESET teamacl.identity;
SELECT teamacl.current_user_id() IS NULL AS reset_clears;

-- login-role mapping follows SET ROLE, not SECURITY DEFINER
SET ROLE regress_identity_alice;
SELECT teamacl.current_user_id() = :'alice' AS mapped_by_role;
SELECT teamacl.has_permission(:'acme', 'team.delete') AS alice_owns_acme;
RESET ROLE;
SELECT teamacl.current_user_id() IS NULL AS unmapped_superuser;
CREATE FUNCTION public.definer_who() RETURNS uuid LANGUAGE sql SECURITY DEFINER
	SET search_path = pg_catalog AS 'SELECT teamacl.current_user_id()';
ALTER FUNCTION public.definer_who() OWNER TO regress_identity_plain;
SET ROLE regress_identity_alice;
SELECT public.definer_who() = :'alice' AS definer_still_sees_caller;
RESET ROLE;
-- an explicit set_user wins over the mapping
SET ROLE regress_identity_alice;
RESET ROLE;
SELECT teamacl.set_user(:'bob', false);
SET ROLE regress_identity_alice;
SELECT teamacl.current_user_id() = :'bob' AS set_user_wins;
RESET ROLE;
SELECT teamacl.set_user(NULL, false);
-- mapping errors
SELECT pg_temp.err($$SELECT teamacl.register_user('carol@example.com', db_role => 'regress_no_such_role')$$);
SELECT pg_temp.err($$SELECT teamacl.register_user('carol@example.com', db_role => 'regress_identity_alice')$$);

-- registration: normalised emails, duplicates, bad input
SELECT teamacl.register_user('  Dave@Example.COM ') IS NOT NULL AS registered;
SELECT email FROM teamacl.users WHERE email LIKE 'dave%';
SELECT pg_temp.err($$SELECT teamacl.register_user('DAVE@example.com')$$);
SELECT pg_temp.err($$SELECT teamacl.register_user('not-an-email')$$);
SELECT pg_temp.err($$SELECT teamacl.register_user('two@@example.com')$$);
SELECT pg_temp.err($$SELECT teamacl.register_user('sp ace@example.com')$$);
SELECT pg_temp.err($$SELECT teamacl.register_user(NULL)$$);
SELECT pg_temp.err(format('SELECT teamacl.set_sign_in_method(%L, %L)', :'bob', 'carrier-pigeon'));
SELECT pg_temp.err($$SELECT teamacl.set_sign_in_method('5d2f2b1e-3c39-4f4e-9b7a-2d8c0a6f1e11', 'sso')$$);
SELECT pg_temp.err(format('SELECT teamacl.set_sign_in_method(%L, %L)', :'bob', 'sso'));

-- parallel workers see the leader's identity
CREATE TABLE par (id int, team_id uuid);
INSERT INTO par SELECT g, :'acme' FROM generate_series(1, 100000) g;
ANALYZE par;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT teamacl.set_user(:'alice', false);
EXPLAIN (COSTS OFF) SELECT count(*) FROM par WHERE teamacl.has_permission(team_id, 'resources.read');
SELECT count(*) FROM par WHERE teamacl.has_permission(team_id, 'resources.read');
SELECT count(*) FROM par WHERE teamacl.current_user_id() = :'alice';
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

SELECT teamacl.set_user(NULL, false);
DROP TABLE par;
DROP FUNCTION public.definer_who();
DROP EXTENSION teamacl CASCADE;
DROP EXTENSION pgcrypto;
DROP ROLE regress_identity_app, regress_identity_plain, regress_identity_alice;

-- placeholders set by a plain role before the library is loaded in a new
-- session are dropped, with a WARNING, when the library loads
CREATE EXTENSION teamacl CASCADE;
CREATE ROLE regress_identity_late;
SELECT teamacl.register_user('eve@example.com') AS eve \gset
\c
SET ROLE regress_identity_late;
SET teamacl.identity = :'eve';
SET teamacl.max_owned_teams = 7;
SET teamacl.jwt_identity = on;
SELECT teamacl.current_user_id() IS NULL AS placeholder_ignored;
SHOW teamacl.max_owned_teams;
SHOW teamacl.jwt_identity;
RESET ROLE;
DROP EXTENSION teamacl CASCADE;
DROP EXTENSION pgcrypto;
DROP ROLE regress_identity_late;
