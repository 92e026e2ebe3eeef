-- teamacl.doctor(): a clean database reports nothing; each problem it
-- knows is built and seen reported; then PostgREST-style identity.
\set SHOW_CONTEXT never
CREATE EXTENSION teamacl CASCADE;
SELECT count(*) AS clean_database_problems FROM teamacl.doctor();

CREATE ROLE regress_doctor_app LOGIN;
CREATE ROLE regress_doctor_bypass BYPASSRLS;
CREATE TABLE good (id int, team_id uuid);
CREATE INDEX ON good (team_id);
SELECT teamacl.protect('good');
SELECT count(*) AS after_protect_with_index FROM teamacl.doctor();

-- each problem
CREATE TABLE unindexed (id int, team_id uuid);
SELECT teamacl.protect('unindexed');
CREATE TABLE unforced (id int, team_id uuid);
CREATE INDEX ON unforced (team_id);
SELECT teamacl.protect('unforced');
ALTER TABLE unforced NO FORCE ROW LEVEL SECURITY;
CREATE TABLE disabled (id int, team_id uuid);
CREATE INDEX ON disabled (team_id);
SELECT teamacl.protect('disabled');
ALTER TABLE disabled DISABLE ROW LEVEL SECURITY;
CREATE TABLE drifted (id int, team_id uuid);
CREATE INDEX ON drifted (team_id);
SELECT teamacl.protect('drifted');
ALTER POLICY teamacl_select ON drifted USING (true);
CREATE TABLE dropped_policy (id int, team_id uuid);
CREATE INDEX ON dropped_policy (team_id);
SELECT teamacl.protect('dropped_policy');
DROP POLICY teamacl_delete ON dropped_policy;
CREATE TABLE handmade (id int, team_id uuid);
ALTER TABLE handmade ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY mine ON handmade USING (teamacl.has_permission(team_id, 'resources.read'));
CREATE TABLE widened (id int, team_id uuid);
CREATE INDEX ON widened (team_id);
SELECT teamacl.protect('widened');
CREATE POLICY everyone ON widened USING (true);
CREATE VIEW good_view AS SELECT * FROM good;
GRANT SELECT ON good TO regress_doctor_bypass;
GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) TO regress_doctor_app;
CREATE FUNCTION public.definer_without_path() RETURNS int LANGUAGE sql SECURITY DEFINER AS 'SELECT 1';
CREATE FUNCTION public.definer_with_path() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog AS 'SELECT 1';
-- an index that cannot serve the check (hash); privileges RLS does not
-- govern, held by a role under the policies and by PUBLIC (the owner's and
-- a BYPASSRLS role's are not reported); login-role mappings whose role was
-- renamed or dropped
CREATE TABLE hashed (id int, team_id uuid);
CREATE INDEX ON hashed USING hash (team_id);
SELECT teamacl.protect('hashed');
GRANT ALL ON good TO regress_doctor_app;
GRANT TRUNCATE ON good TO PUBLIC;
GRANT TRUNCATE ON good TO regress_doctor_bypass;
CREATE ROLE regress_doctor_renamed;
CREATE ROLE regress_doctor_dropped;
SELECT teamacl.register_user('renamed@example.com', db_role => 'regress_doctor_renamed') IS NOT NULL AS renamed_mapped;
SELECT teamacl.register_user('dropped@example.com', db_role => 'regress_doctor_dropped') IS NOT NULL AS dropped_mapped;
ALTER ROLE regress_doctor_renamed RENAME TO regress_doctor_renamed2;
DROP ROLE regress_doctor_dropped;

SELECT severity, object, problem, fix FROM teamacl.doctor() ORDER BY object, problem;

-- set_user granted to PUBLIC is an error
GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) TO PUBLIC;
SELECT severity, object, fix FROM teamacl.doctor() WHERE problem LIKE 'may call%' ORDER BY object;
REVOKE EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) FROM PUBLIC;

-- the fixes it suggests work
SELECT teamacl.unprotect('drifted');
SELECT teamacl.protect('drifted');
SELECT teamacl.unprotect('dropped_policy');
SELECT teamacl.protect('dropped_policy');
CREATE INDEX ON unindexed (team_id);
ALTER TABLE unforced ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE disabled ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER VIEW good_view SET (security_invoker = true);
ALTER FUNCTION public.definer_without_path() SET search_path = pg_catalog, pg_temp;
ALTER ROLE regress_doctor_bypass NOBYPASSRLS;
DROP TABLE handmade;
DROP POLICY everyone ON widened;
CREATE INDEX ON hashed (team_id);
REVOKE TRUNCATE, TRIGGER, REFERENCES ON good FROM regress_doctor_app;
REVOKE TRUNCATE ON good FROM PUBLIC, regress_doctor_bypass;
UPDATE teamacl.users SET db_role = 'regress_doctor_renamed2' WHERE email = 'renamed@example.com';
UPDATE teamacl.users SET db_role = NULL WHERE email = 'dropped@example.com';
REVOKE EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) FROM regress_doctor_app;
SELECT count(*) AS problems_after_fixes FROM teamacl.doctor();

-- PostgREST / Supabase identity: off by default, superuser-only switch
SELECT teamacl.register_user('jwt@example.com', user_id => '0b7e7c3a-4f0e-4a59-9d6b-3f1e2a9c8d01') AS jwt_user \gset
SELECT set_config('request.jwt.claims', '{"sub": "0b7e7c3a-4f0e-4a59-9d6b-3f1e2a9c8d01", "role": "authenticated"}', false) IS NOT NULL AS claims_set;
SELECT teamacl.current_user_id() IS NULL AS off_by_default;
SET ROLE regress_doctor_app;
SET teamacl.jwt_identity = on;
RESET ROLE;
SET teamacl.jwt_identity = on;
SELECT teamacl.current_user_id() = :'jwt_user' AS from_sub_claim;
SELECT teamacl.personal_team() IS NOT NULL AS has_personal_team;
SELECT set_config('request.jwt.claims', '{"role": "anon"}', false) IS NOT NULL AS anon_claims;
SELECT teamacl.current_user_id() IS NULL AS anon_is_nobody;
SELECT set_config('request.jwt.claims', '{"sub": "0b7e7c3a-4f0e-4a59-9d6b-3f1e2a9c8d01"}', false) IS NOT NULL AS back;
SELECT teamacl.register_user('other@example.com') AS other \gset
SELECT teamacl.set_user(:'other', false);
SELECT teamacl.current_user_id() = :'other' AS set_user_wins;
SELECT teamacl.set_user(NULL, false);
RESET teamacl.jwt_identity;
SELECT teamacl.current_user_id() IS NULL AS off_again;

DROP VIEW good_view;
DROP TABLE good, unindexed, unforced, disabled, drifted, dropped_policy, widened, hashed;
DROP ROLE regress_doctor_renamed2;
DROP FUNCTION public.definer_without_path(), public.definer_with_path();
DROP EXTENSION teamacl CASCADE;
DROP SCHEMA teamacl;
DROP EXTENSION pgcrypto;
DROP OWNED BY regress_doctor_app, regress_doctor_bypass;
DROP ROLE regress_doctor_app, regress_doctor_bypass;
