-- Spoofing teamacl.identity in a server that does not preload teamacl:
-- set before the library is loaded in a session, it is only a
-- placeholder, and loading the library drops it with a WARNING, whoever set
-- it and however.  (identity_preloaded covers a server that preloads it.)
-- runs: without preload
\set SHOW_CONTEXT never
CREATE EXTENSION teamacl CASCADE;
SELECT current_user AS superuser \gset
CREATE ROLE regress_identity_alice;
CREATE ROLE regress_identity_login LOGIN;
SELECT teamacl.register_user('alice@example.com', 'Alice', db_role => 'regress_identity_alice') AS alice \gset

------------------------------------------------------------------------
-- placeholders: teamacl.identity set before the library is loaded in a
-- session is only a placeholder; loading the library drops it with a
-- WARNING, whoever set it and however
------------------------------------------------------------------------
-- a fresh session as the superuser: SET is its very first statement
\c
SET teamacl.identity = :'alice';
SELECT teamacl.current_user_id() IS NULL AS placeholder_ignored;
SHOW teamacl.identity;
-- a fresh session: set_config(), a reserved-prefix placeholder, and a
-- function with a SET clause created before the library was loaded
\c
SELECT set_config('teamacl.identity', :'alice', false) IS NOT NULL AS placeholder_accepted;
SET teamacl.anything = 1;
CREATE FUNCTION pg_temp.spoof() RETURNS uuid LANGUAGE sql
	SET teamacl.identity = :'alice' AS 'SELECT teamacl.current_user_id()';
SELECT teamacl.current_user_id() IS NULL AS placeholder_ignored;
SELECT pg_temp.spoof();
SELECT teamacl.current_user_id() IS NULL AS still_nobody;
-- a fresh session as a plain login role
\c - regress_identity_login
SET teamacl.identity = :'alice';
SET teamacl.jwt_identity = on;
SET teamacl.max_owned_teams = 7;
SELECT teamacl.current_user_id() IS NULL AS plain_placeholder_ignored;
SHOW teamacl.jwt_identity;
SHOW teamacl.max_owned_teams;
-- nor can a plain login role take a mapped role it is not a member of
SET ROLE regress_identity_alice;
SET SESSION AUTHORIZATION regress_identity_alice;
SELECT current_user, teamacl.current_user_id() IS NULL AS still_nobody;
-- a fresh session with the identity as a startup option
\set conninfo 'dbname=' :DBNAME ' user=regress_identity_login options=-cteamacl.identity=' :alice
\c :conninfo
SELECT current_user;
SELECT teamacl.current_user_id() IS NULL AS startup_option_ignored;
-- ALTER ROLE ... SET by a superuser whose session has not loaded the
-- library yet is accepted as a placeholder, and dropped at the next login
\c - :superuser
ALTER ROLE regress_identity_login SET teamacl.identity = :'alice';
\c - regress_identity_login
SELECT teamacl.current_user_id() IS NULL AS role_setting_ignored;
\c - :superuser
ALTER ROLE regress_identity_login RESET ALL;


DROP EXTENSION teamacl CASCADE;
DROP SCHEMA teamacl;
DROP EXTENSION pgcrypto;
DROP ROLE regress_identity_alice, regress_identity_login;
