-- Spoofing teamacl.identity in a server that preloads teamacl (make test's
-- second pass): the library's check is there from a session's first
-- statement, so every way of setting the identity other than set_user() is
-- refused at once, with an ERROR rather than the WARNING that drops a
-- placeholder (identity_placeholders), and a startup option naming it
-- refuses the connection.
-- runs: with preload
\set SHOW_CONTEXT never
CREATE EXTENSION teamacl CASCADE;
CREATE EXTENSION dblink;
SELECT current_user AS superuser \gset
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/err.sql
CREATE ROLE regress_identity_alice;
CREATE ROLE regress_identity_login LOGIN;
SELECT teamacl.register_user('alice@example.com', 'Alice', db_role => 'regress_identity_alice') AS alice \gset

-- a fresh session as the superuser: SET, set_config(), a reserved-prefix
-- name, a function with a SET clause: each refused, nothing identified
\c
\i :abs_srcdir/sql/include/err.sql
SELECT pg_temp.err(format('SET teamacl.identity = %L', :'alice')) AS set_identity;
SELECT pg_temp.err(format('SELECT set_config(%L, %L, false)', 'teamacl.identity', :'alice')) AS set_config_identity;
SELECT pg_temp.err('SET teamacl.anything = 1') AS reserved_prefix;
SELECT pg_temp.err(format($$CREATE FUNCTION pg_temp.spoof() RETURNS uuid LANGUAGE sql
	SET teamacl.identity = %L AS 'SELECT teamacl.current_user_id()'$$, :'alice')) AS function_set_clause;
SELECT teamacl.current_user_id() IS NULL AS nobody;
-- a fresh session as a plain login role
\c - regress_identity_login
\i :abs_srcdir/sql/include/err.sql
SELECT pg_temp.err(format('SET teamacl.identity = %L', :'alice')) AS plain_set_identity;
SELECT pg_temp.err('SET teamacl.jwt_identity = on') AS plain_set_jwt;
SELECT pg_temp.err('SET teamacl.max_owned_teams = 7') AS plain_set_max_owned;
SHOW teamacl.jwt_identity;
SHOW teamacl.max_owned_teams;
SELECT teamacl.current_user_id() IS NULL AS plain_nobody;
-- ALTER ROLE ... SET is checked when it is made
\c - :superuser
\i :abs_srcdir/sql/include/err.sql
SELECT pg_temp.err(format('ALTER ROLE regress_identity_login SET teamacl.identity = %L', :'alice')) AS alter_role_set;
SELECT count(*) AS role_settings FROM pg_db_role_setting
 WHERE setrole = 'regress_identity_login'::regrole;
-- the identity as a startup option refuses the connection (the same
-- connection without it is accepted)
SELECT format('host=%s port=%s dbname=%s user=regress_identity_login',
	split_part(current_setting('unix_socket_directories'), ',', 1), current_setting('port'),
	current_database()) AS conninfo \gset
SELECT pg_temp.err(format('SELECT dblink_connect(%L, %L)', 'c1', :'conninfo')) AS plain_connect;
SELECT dblink_disconnect('c1');
SELECT pg_temp.err(format('SELECT dblink_connect(%L, %L)', 'c2',
	:'conninfo' || ' options=-cteamacl.identity=' || :'alice')) AS startup_option_connect;

-- the shared cache's setting is read at server start
SELECT name, context, unit FROM pg_settings WHERE name = 'teamacl.shared_cache_memory';

DROP EXTENSION dblink;
DROP EXTENSION teamacl CASCADE;
DROP SCHEMA teamacl;
DROP EXTENSION pgcrypto;
DROP ROLE regress_identity_alice, regress_identity_login;
