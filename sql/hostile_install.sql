-- Install-script and search_path attacks: a schema planted before CREATE
-- EXTENSION, and hostile objects in public and pg_temp, with a hostile
-- search_path, while calling teamacl's functions and policies.
\set SHOW_CONTEXT never
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/err.sql
CREATE ROLE regress_hostile_mallory;
GRANT CREATE ON SCHEMA public TO regress_hostile_mallory;
GRANT CREATE ON DATABASE contrib_regression TO regress_hostile_mallory;

-- a schema called teamacl planted by someone else: installation refuses
SET ROLE regress_hostile_mallory;
CREATE SCHEMA teamacl;
CREATE FUNCTION teamacl.current_user_id() RETURNS uuid LANGUAGE sql AS $$ SELECT NULL::uuid $$;
RESET ROLE;
SELECT pg_temp.err('CREATE EXTENSION teamacl CASCADE');
DROP SCHEMA teamacl CASCADE;
-- also refused: an empty one somebody else owns, one other roles may
-- create objects in, one that holds anything
SET ROLE regress_hostile_mallory;
CREATE SCHEMA teamacl;
RESET ROLE;
SELECT pg_temp.err('CREATE EXTENSION teamacl CASCADE');
DROP SCHEMA teamacl;
CREATE SCHEMA teamacl;
GRANT CREATE ON SCHEMA teamacl TO regress_hostile_mallory;
SELECT pg_temp.err('CREATE EXTENSION teamacl CASCADE');
REVOKE CREATE ON SCHEMA teamacl FROM regress_hostile_mallory;
CREATE TABLE teamacl.members (team_id uuid, user_id uuid, role_id uuid);
SELECT pg_temp.err('CREATE EXTENSION teamacl CASCADE');
DROP TABLE teamacl.members;
-- an empty schema the installer owns is used; pg_extension records it
CREATE EXTENSION teamacl CASCADE;
SELECT nspowner = (SELECT oid FROM pg_roles WHERE rolname = current_user) AS schema_owned_by_installer
  FROM pg_namespace WHERE nspname = 'teamacl';
SELECT extnamespace::regnamespace AS extension_schema FROM pg_extension WHERE extname = 'teamacl';

-- hostile objects: an always-true uuid equality, a lookalike function and
-- table in public, a temp table shadowing a teamacl table name
SET ROLE regress_hostile_mallory;
CREATE FUNCTION public.always_true(uuid, uuid) RETURNS boolean LANGUAGE sql IMMUTABLE AS 'SELECT true';
CREATE OPERATOR public.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = public.always_true);
CREATE FUNCTION public.normalize_email(text) RETURNS text LANGUAGE sql AS $$ SELECT 'mallory@example.com' $$;
CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE sql AS $$ SELECT 'mallory@example.com' $$;
CREATE TABLE public.members (team_id uuid, user_id uuid, role_id uuid);
CREATE TEMP TABLE members (team_id uuid, user_id uuid, role_id uuid);
RESET ROLE;

SELECT teamacl.register_user('alice@example.com') AS alice \gset
SELECT teamacl.register_user('mallory@example.com') AS mallory \gset
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_team('Acme', 'pro') AS acme \gset
CREATE TABLE docs (id int, team_id uuid);
INSERT INTO docs VALUES (1, :'acme');
SELECT teamacl.protect('docs');
GRANT SELECT ON docs TO regress_hostile_mallory;
GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) TO regress_hostile_mallory;

-- everything below runs as mallory with her objects first on the search_path
SET ROLE regress_hostile_mallory;
SET search_path = public, pg_temp, pg_catalog;
INSERT INTO pg_temp.members VALUES (:'acme', :'mallory', '00000000-0000-4000-a000-000000000001');
SELECT teamacl.set_user(:'mallory', false);
SELECT teamacl.has_permission(:'acme', 'resources.read') AS mallory_reads_acme,
	   cardinality(teamacl.teams_with('resources.read')) AS mallory_teams,
	   (SELECT count(*) FROM docs) AS mallory_sees_docs,
	   (SELECT count(*) FROM teamacl.team_members) AS mallory_sees_members;
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', :'acme', 'mallory@example.com', 'admin'));
SELECT pg_temp.err(format('SELECT teamacl.invite(%L, %L)', :'acme', 'eve@example.com'));
SELECT pg_temp.err(format('SELECT teamacl.remove_member(%L, %L)', :'acme', :'alice'));
SELECT pg_temp.err(format('SELECT teamacl.delete_team(%L)', :'acme'));
SELECT pg_temp.err(format('SELECT teamacl.switch_team(%L)', :'acme'));
SELECT teamacl.create_team('Mallory Co') IS NOT NULL AS mallory_team;
RESET search_path;
RESET ROLE;
-- nothing changed in Acme, and the lookalikes were never used
SELECT teamacl.set_user(:'alice', false);
SELECT email, role FROM teamacl.team_members WHERE team_id = :'acme' ORDER BY email;
SELECT email FROM teamacl.users ORDER BY email;
-- every SECURITY DEFINER function of teamacl pins its search_path
SELECT count(*) AS definer_functions, count(*) FILTER (WHERE proconfig::text LIKE '%search_path=pg_catalog, pg_temp%') AS pinned
  FROM pg_proc WHERE pronamespace IN ('teamacl'::regnamespace, 'teamacl_internal'::regnamespace) AND prosecdef;

SELECT teamacl.set_user(NULL, false);
DROP TABLE docs;
DROP EXTENSION teamacl CASCADE;
DROP SCHEMA teamacl;
DROP EXTENSION pgcrypto;
DROP OPERATOR public.= (uuid, uuid);
DROP FUNCTION public.always_true(uuid, uuid), public.normalize_email(text), public.lower(text);
DROP TABLE public.members;
DROP TABLE pg_temp.members;
REVOKE CREATE ON SCHEMA public FROM regress_hostile_mallory;
REVOKE CREATE ON DATABASE contrib_regression FROM regress_hostile_mallory;
DROP ROLE regress_hostile_mallory;
