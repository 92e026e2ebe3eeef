-- sql/src/schema.sql

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION teamacl CASCADE" to load this file. \quit

-- The schema.  The control file names it, so pg_extension and \dx record
-- teamacl (not public) as the extension's schema, and CREATE EXTENSION
-- creates it when it is missing.  A schema of that name that existed
-- before is used only when the installing role owns it, it holds nothing
-- and no other role may create objects in it: an object planted in a
-- schema somebody else controls could hijack the extension's functions.
-- (DROP EXTENSION leaves the schema, as it does for every extension whose
-- control file names one; drop it with DROP SCHEMA teamacl.)

DO $$
DECLARE
	v_nsp pg_catalog.pg_namespace;
BEGIN
	SELECT * INTO STRICT v_nsp FROM pg_catalog.pg_namespace n
	 WHERE n.nspname OPERATOR(pg_catalog.=) 'teamacl';
	IF v_nsp.nspowner OPERATOR(pg_catalog.<>) (SELECT r.oid FROM pg_catalog.pg_roles r
												WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER) THEN
		RAISE EXCEPTION 'schema "teamacl" already exists and belongs to role %', v_nsp.nspowner::pg_catalog.regrole
			USING ERRCODE = '42P06',
				  DETAIL = 'teamacl installs only into a schema it creates, or an empty one the installing role owns.',
				  HINT = 'Drop or rename that schema, then run CREATE EXTENSION teamacl again.';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
				WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass
				  AND d.refobjid OPERATOR(pg_catalog.=) v_nsp.oid
				  AND d.classid OPERATOR(pg_catalog.<>) 'pg_catalog.pg_extension'::pg_catalog.regclass)
	   OR EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.relnamespace OPERATOR(pg_catalog.=) v_nsp.oid)
	   OR EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.pronamespace OPERATOR(pg_catalog.=) v_nsp.oid)
	   OR EXISTS (SELECT 1 FROM pg_catalog.pg_type t WHERE t.typnamespace OPERATOR(pg_catalog.=) v_nsp.oid)
	   OR EXISTS (SELECT 1 FROM pg_catalog.pg_operator o WHERE o.oprnamespace OPERATOR(pg_catalog.=) v_nsp.oid) THEN
		RAISE EXCEPTION 'schema "teamacl" already exists and is not empty'
			USING ERRCODE = '42P06',
				  DETAIL = 'teamacl installs only into a schema it creates, or an empty one the installing role owns.',
				  HINT = 'Drop or rename that schema, then run CREATE EXTENSION teamacl again.';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_catalog.aclexplode(v_nsp.nspacl) a
				WHERE a.grantee OPERATOR(pg_catalog.<>) v_nsp.nspowner
				  AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE') THEN
		RAISE EXCEPTION 'schema "teamacl" already exists and other roles may create objects in it'
			USING ERRCODE = '42P06',
				  DETAIL = 'teamacl installs only into a schema it creates, or an empty one the installing role owns.',
				  HINT = 'REVOKE CREATE ON SCHEMA teamacl from every other role, then run CREATE EXTENSION teamacl again.';
	END IF;
END
$$;

COMMENT ON SCHEMA teamacl IS 'teamacl: teams, roles, memberships and permission checks';
GRANT USAGE ON SCHEMA teamacl TO PUBLIC;

-- The internal helpers live in a schema of their own, closed to PUBLIC (see
-- sql/src/privileges.sql): schema teamacl holds exactly the API, the tables
-- and the views.  It is created here, so a schema of that name planted
-- beforehand stops the installation.
CREATE SCHEMA teamacl_internal;
COMMENT ON SCHEMA teamacl_internal IS
	'teamacl''s internal helpers: not an API, no access for PUBLIC; the functions in schema teamacl call them';
