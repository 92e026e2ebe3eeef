/* sql/teamacl--0.2--0.3.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION teamacl UPDATE TO '0.3'" to load this file. \quit

------------------------------------------------------------------------
-- 0.3: field defects.
--
-- - the extension records schema teamacl (pg_extension, \dx) instead of
--   public;
-- - has_permission()'s index condition is offered only to indexes that
--   take array conditions (a GiST index led by the team column made every
--   read fail) -- a change in the library, nothing to do here;
-- - doctor() names indexes that cannot serve the check, unprotected
--   partitions and children, TRUNCATE/TRIGGER/REFERENCES grants, and stale
--   login-role mappings;
-- - add_member() uses up a pending invitation for the same person;
-- - current_team() (and so teamacl.my_teams) works for every role;
-- - login roles are mapped by OID, so a rename keeps the mapping;
-- - protect() covers partitions and inheritance children, now and later.
--
-- Functions whose body changes are renamed, created anew and dropped, and
-- the privileges a DBA gave the old one are carried over to the new one.
------------------------------------------------------------------------

-- Record schema teamacl as the extension's schema, as a fresh install of
-- 0.3 does (its control file names the schema; earlier versions recorded
-- the first schema of the installer's search_path).  The schema stops
-- being a member of the extension, like in a fresh install.
DELETE FROM pg_catalog.pg_depend
 WHERE classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass
   AND objid OPERATOR(pg_catalog.=) 'teamacl'::pg_catalog.regnamespace
   AND refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
   AND deptype OPERATOR(pg_catalog.=) 'e';
UPDATE pg_catalog.pg_depend SET refobjid = 'teamacl'::pg_catalog.regnamespace
 WHERE classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
   AND objid OPERATOR(pg_catalog.=) (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'teamacl')
   AND refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass
   AND deptype OPERATOR(pg_catalog.=) 'n';
UPDATE pg_catalog.pg_extension SET extnamespace = 'teamacl'::pg_catalog.regnamespace
 WHERE extname OPERATOR(pg_catalog.=) 'teamacl';

------------------------------------------------------------------------
-- Internal helpers move to schema teamacl_internal, closed to PUBLIC, so
-- schema teamacl holds exactly the API, the tables and the views.
------------------------------------------------------------------------

CREATE SCHEMA teamacl_internal;
COMMENT ON SCHEMA teamacl_internal IS
	'teamacl''s internal helpers: not an API, no access for PUBLIC; the functions in schema teamacl call them';

-- Moving keeps each function (its OID, so triggers, event triggers, the
-- planner support link and the functions that call them in SQL-standard
-- bodies keep working, and the privileges on it).
DO $$
DECLARE
	v_fn regprocedure;
BEGIN
	FOR v_fn IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
				  JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
					   AND d.objid OPERATOR(pg_catalog.=) p.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'
					   AND d.refobjid OPERATOR(pg_catalog.=) (SELECT e.oid FROM pg_catalog.pg_extension e
															   WHERE e.extname OPERATOR(pg_catalog.=) 'teamacl')
				 WHERE p.pronamespace OPERATOR(pg_catalog.=) 'teamacl'::pg_catalog.regnamespace
				   AND p.proname LIKE '\_%' LOOP
		EXECUTE pg_catalog.format('ALTER FUNCTION %s SET SCHEMA teamacl_internal', v_fn);
	END LOOP;
END
$$;

-- PL/pgSQL bodies name the helpers in text: each body that does is
-- replaced, in place, by the same body naming teamacl_internal.  Only
-- functions that are members of this extension are touched (the danger of
-- replacing a function from an extension script is taking over an object
-- somebody else created; a member cannot be one), and replacing keeps
-- their OIDs and privileges, which dropping and re-creating would lose.
DO $$
DECLARE
	v_fn oid;
BEGIN
	FOR v_fn IN SELECT p.oid FROM pg_catalog.pg_proc p
				  JOIN pg_catalog.pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
					   AND d.objid OPERATOR(pg_catalog.=) p.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'
					   AND d.refobjid OPERATOR(pg_catalog.=) (SELECT e.oid FROM pg_catalog.pg_extension e
															   WHERE e.extname OPERATOR(pg_catalog.=) 'teamacl')
				 WHERE p.prosqlbody IS NULL AND p.prosrc ~ 'teamacl\._'
				 ORDER BY p.oid LOOP
		EXECUTE pg_catalog.regexp_replace(pg_catalog.pg_get_functiondef(v_fn), 'teamacl\._', 'teamacl_internal._', 'g');
	END LOOP;
END
$$;

-- Carries the privileges of a replaced function over to its successor;
-- used by this script only (dropped at its end).  The successor's initial
-- privileges (pg_init_privs, what pg_dump compares against) stay those of
-- a fresh install, so pg_dump still dumps the DBA's changes.
CREATE FUNCTION teamacl_internal._carry_privileges(old regprocedure, new regprocedure) RETURNS void
	LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_fresh aclitem[] := (SELECT p.proacl FROM pg_proc p WHERE p.oid OPERATOR(pg_catalog.=) new);
	v_old aclitem[] := (SELECT p.proacl FROM pg_proc p WHERE p.oid OPERATOR(pg_catalog.=) old);
	v_a record;
BEGIN
	IF v_old IS NOT DISTINCT FROM v_fresh THEN
		EXECUTE format('DROP FUNCTION %s', old);
		RETURN;
	END IF;
	EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', new);
	FOR v_a IN SELECT a.grantee, a.is_grantable
				 FROM pg_proc p, aclexplode(COALESCE(p.proacl, acldefault('f', p.proowner))) a
				WHERE p.oid OPERATOR(pg_catalog.=) old AND a.grantee OPERATOR(pg_catalog.<>) p.proowner LOOP
		EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %s%s', new,
					   CASE WHEN v_a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC' ELSE quote_ident(v_a.grantee::regrole::text) END,
					   CASE WHEN v_a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
	END LOOP;
	IF v_fresh IS NULL THEN
		DELETE FROM pg_init_privs i WHERE i.objoid OPERATOR(pg_catalog.=) new
		   AND i.classoid OPERATOR(pg_catalog.=) 'pg_proc'::regclass AND i.objsubid OPERATOR(pg_catalog.=) 0;
	ELSE
		UPDATE pg_init_privs i SET initprivs = v_fresh WHERE i.objoid OPERATOR(pg_catalog.=) new
		   AND i.classoid OPERATOR(pg_catalog.=) 'pg_proc'::regclass AND i.objsubid OPERATOR(pg_catalog.=) 0;
	END IF;
	EXECUTE format('DROP FUNCTION %s', old);
END
$$;

------------------------------------------------------------------------
-- Index access methods (sql/src/checks.sql)
------------------------------------------------------------------------

CREATE FUNCTION teamacl_internal._am_searches_arrays(am oid) RETURNS boolean
	AS 'MODULE_PATHNAME', 'teamacl_am_searches_arrays'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION teamacl_internal._am_searches_arrays(oid) IS
	'Internal: whether indexes of an access method take column = ANY (array) conditions, as has_permission()''s index condition needs';
REVOKE ALL ON FUNCTION teamacl_internal._am_searches_arrays(oid) FROM PUBLIC;

------------------------------------------------------------------------
-- Login roles are mapped by OID (sql/src/tables.sql)
------------------------------------------------------------------------

ALTER TABLE teamacl.users ADD COLUMN db_role_oid oid UNIQUE;
COMMENT ON COLUMN teamacl.users.db_role IS
	'The login role mapped to this user, by its name when it was mapped (dumps carry this name)';
COMMENT ON COLUMN teamacl.users.db_role_oid IS
	'The login role mapped to this user: the mapping follows the role through renames; set from db_role';
DROP TRIGGER invalidate_cache_update ON teamacl.users;
CREATE TRIGGER invalidate_cache_update AFTER UPDATE ON teamacl.users
	FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id
					   OR OLD.registered IS DISTINCT FROM NEW.registered
					   OR OLD.sign_in_method IS DISTINCT FROM NEW.sign_in_method
					   OR OLD.db_role IS DISTINCT FROM NEW.db_role
					   OR OLD.db_role_oid IS DISTINCT FROM NEW.db_role_oid)
	EXECUTE FUNCTION teamacl_internal._invalidate_cache();
ALTER TABLE teamacl.users ENABLE ALWAYS TRIGGER invalidate_cache_update;

-- A login-role mapping is made by name and kept by OID, so renaming the
-- role keeps it and a dropped role maps to nobody.  Every row written with
-- a db_role (also by COPY when a dump is restored into another cluster,
-- where OIDs differ, and by logical replication) is bound again to the
-- role that has that name there, or to none.
CREATE FUNCTION teamacl_internal._bind_db_role() RETURNS trigger
	LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	NEW.db_role_oid := (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) NEW.db_role);
	-- a role renamed after it was mapped keeps its mapping under the new name
	IF EXISTS (SELECT 1 FROM teamacl.users u WHERE u.db_role_oid OPERATOR(pg_catalog.=) NEW.db_role_oid
				AND u.id OPERATOR(pg_catalog.<>) NEW.id) THEN
		RAISE EXCEPTION 'role "%" is already mapped to a teamacl user', NEW.db_role USING ERRCODE = '23505',
			DETAIL = 'The role was renamed after it was mapped.';
	END IF;
	IF NEW.db_role IS NOT NULL AND NEW.db_role_oid IS NULL THEN
		RAISE WARNING 'teamacl user % is mapped to role "%", which does not exist: it maps to nobody', NEW.id, NEW.db_role
			USING HINT = 'Create the role, or clear the mapping with UPDATE teamacl.users SET db_role = NULL.';
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION teamacl_internal._bind_db_role() IS 'Internal trigger: bind users.db_role_oid to the role named by users.db_role';
CREATE TRIGGER bind_db_role BEFORE INSERT OR UPDATE OF db_role ON teamacl.users
	FOR EACH ROW EXECUTE FUNCTION teamacl_internal._bind_db_role();
ALTER TABLE teamacl.users ENABLE ALWAYS TRIGGER bind_db_role;

-- existing mappings: bound to the role of that name now
UPDATE teamacl.users u SET db_role = u.db_role WHERE u.db_role IS NOT NULL;

------------------------------------------------------------------------
-- current_team() reads users.current_team_id, granted to nobody
------------------------------------------------------------------------

ALTER FUNCTION teamacl.current_team() SECURITY DEFINER;

------------------------------------------------------------------------
-- add_member() uses up a pending invitation (sql/src/members.sql)
------------------------------------------------------------------------

ALTER FUNCTION teamacl.add_member(uuid, text, text) RENAME TO add_member_0_2;
CREATE FUNCTION teamacl.add_member(team_id uuid, email text, role text) RETURNS uuid
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_me uuid := teamacl_internal._me();
	v_team teamacl.teams := teamacl_internal._lock_team(team_id, 'members.invite');
	v_role teamacl.roles := teamacl_internal._find_role(team_id, role);
	v_user uuid;
BEGIN
	PERFORM teamacl_internal._check_new_member(v_team, v_role, 'add_member');
	v_user := teamacl_internal._find_or_add_user(email);
	PERFORM teamacl_internal._check_not_member(team_id, email);
	-- a pending invitation for the same person is used up by the direct
	-- add: its seat becomes the member's, and its token stops working
	UPDATE teamacl.invitations i
	   SET status = CASE WHEN i.expires_at OPERATOR(pg_catalog.>) now() THEN 'accepted' ELSE 'expired' END,
		   responded_at = CASE WHEN i.expires_at OPERATOR(pg_catalog.>) now() THEN now() END,
		   responded_by = CASE WHEN i.expires_at OPERATOR(pg_catalog.>) now() THEN v_user END
	 WHERE i.team_id OPERATOR(pg_catalog.=) add_member.team_id
	   AND i.email OPERATOR(pg_catalog.=) teamacl.normalize_email(add_member.email)
	   AND i.status OPERATOR(pg_catalog.=) 'pending';
	PERFORM teamacl_internal._check_seats(v_team, 1);
	INSERT INTO teamacl.members (team_id, user_id, role_id, added_by) VALUES (team_id, v_user, v_role.id, v_me);
	RETURN v_user;
END
$$;
COMMENT ON FUNCTION teamacl.add_member(uuid, text, text) IS
	'Add a member by email, without invitation (needs members.invite); works for emails not signed up yet, and uses up a pending invitation for the same email';
SELECT teamacl_internal._carry_privileges('teamacl.add_member_0_2(uuid, text, text)', 'teamacl.add_member(uuid, text, text)');

------------------------------------------------------------------------
-- protect() covers partitions and inheritance children (sql/src/rls.sql)
------------------------------------------------------------------------

ALTER TABLE teamacl.protected_tables ADD COLUMN parent regclass;
COMMENT ON COLUMN teamacl.protected_tables.parent IS
	'For a partition or inheritance child protected with the table it inherits from: that table';

-- The inheritance tree below a table: partitions and inheritance children,
-- at any depth, parents before their children.
CREATE FUNCTION teamacl_internal._descendants(tbl regclass) RETURNS TABLE (child regclass, depth integer)
	LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	WITH RECURSIVE d (rel, depth) AS (
		SELECT i.inhrelid, 1 FROM pg_inherits i WHERE i.inhparent OPERATOR(pg_catalog.=) _descendants.tbl
		UNION
		SELECT i.inhrelid, d.depth OPERATOR(pg_catalog.+) 1 FROM pg_inherits i JOIN d ON i.inhparent OPERATOR(pg_catalog.=) d.rel
	)
	SELECT d.rel::regclass, max(d.depth) FROM d GROUP BY d.rel ORDER BY 2, 1;
END;
COMMENT ON FUNCTION teamacl_internal._descendants(regclass) IS 'Internal: partitions and inheritance children of a table, at any depth, parents first';

-- The closest protected table a table inherits from (itself excluded).
CREATE FUNCTION teamacl_internal._protected_ancestor(tbl regclass) RETURNS teamacl.protected_tables
	LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	WITH RECURSIVE a (rel, depth) AS (
		SELECT i.inhparent, 1 FROM pg_inherits i WHERE i.inhrelid OPERATOR(pg_catalog.=) _protected_ancestor.tbl
		UNION
		SELECT i.inhparent, a.depth OPERATOR(pg_catalog.+) 1 FROM pg_inherits i JOIN a ON i.inhrelid OPERATOR(pg_catalog.=) a.rel
	)
	SELECT p.* FROM a JOIN teamacl.protected_tables p ON p.tbl::oid OPERATOR(pg_catalog.=) a.rel
	 ORDER BY a.depth LIMIT 1;
END;
COMMENT ON FUNCTION teamacl_internal._protected_ancestor(regclass) IS 'Internal: the closest protected table a table inherits from, if any';

-- Protect one table as described by a protected_tables row: record it
-- (with its RLS flags as they are now), create the four policies, enable
-- and force row-level security.  The caller has checked the table.
CREATE FUNCTION teamacl_internal._protect_one(p teamacl.protected_tables) RETURNS void
	LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_class pg_class;
BEGIN
	SELECT * INTO STRICT v_class FROM pg_class c WHERE c.oid OPERATOR(pg_catalog.=) p.tbl;
	-- recorded first: the ALTER TABLE below fires teamacl's event trigger,
	-- which must see this table as protected
	INSERT INTO teamacl.protected_tables (tbl, team_column, select_permission, insert_permission,
										  update_permission, delete_permission, rls_was_enabled, rls_was_forced, parent)
	VALUES (p.tbl, p.team_column, p.select_permission, p.insert_permission, p.update_permission, p.delete_permission,
			v_class.relrowsecurity, v_class.relforcerowsecurity, p.parent);
	EXECUTE format('CREATE POLICY teamacl_select ON %s AS PERMISSIVE FOR SELECT TO PUBLIC USING %s',
				   p.tbl, teamacl_internal._policy_check(p.team_column, p.select_permission));
	EXECUTE format('CREATE POLICY teamacl_insert ON %s AS PERMISSIVE FOR INSERT TO PUBLIC WITH CHECK %s',
				   p.tbl, teamacl_internal._policy_check(p.team_column, p.insert_permission));
	EXECUTE format('CREATE POLICY teamacl_update ON %s AS PERMISSIVE FOR UPDATE TO PUBLIC USING %s WITH CHECK %s',
				   p.tbl, teamacl_internal._policy_check(p.team_column, p.update_permission),
				   teamacl_internal._policy_check(p.team_column, p.update_permission));
	EXECUTE format('CREATE POLICY teamacl_delete ON %s AS PERMISSIVE FOR DELETE TO PUBLIC USING %s',
				   p.tbl, teamacl_internal._policy_check(p.team_column, p.delete_permission));
	EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', p.tbl);
	-- remember the policies as PostgreSQL shows them, so doctor() can see drift
	UPDATE teamacl.protected_tables t SET policies = teamacl_internal._policy_texts(p.tbl)
	 WHERE t.tbl OPERATOR(pg_catalog.=) p.tbl;
END
$$;
COMMENT ON FUNCTION teamacl_internal._protect_one(teamacl.protected_tables) IS
	'Internal: record one table as protected, create its four policies, enable and force RLS';

-- Undo _protect_one() for one table.
CREATE FUNCTION teamacl_internal._unprotect_one(p teamacl.protected_tables) RETURNS void
	LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	DELETE FROM teamacl.protected_tables t WHERE t.tbl OPERATOR(pg_catalog.=) p.tbl;
	EXECUTE format('DROP POLICY IF EXISTS teamacl_select ON %s', p.tbl);
	EXECUTE format('DROP POLICY IF EXISTS teamacl_insert ON %s', p.tbl);
	EXECUTE format('DROP POLICY IF EXISTS teamacl_update ON %s', p.tbl);
	EXECUTE format('DROP POLICY IF EXISTS teamacl_delete ON %s', p.tbl);
	IF NOT p.rls_was_enabled THEN
		EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', p.tbl);
	END IF;
	IF NOT p.rls_was_forced THEN
		EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', p.tbl);
	END IF;
END
$$;
COMMENT ON FUNCTION teamacl_internal._unprotect_one(teamacl.protected_tables) IS
	'Internal: drop one table''s teamacl policies and restore its RLS flags';

-- Bring the partitions and inheritance children of protected tables in
-- line, within the tree of one table: every child of a protected table is
-- protected like the table it inherits from (PostgreSQL does not apply a
-- parent's policies when a child is read directly), and a table that no
-- longer inherits from the table it was protected with stands alone (still
-- protected).  Foreign tables cannot have row-level security: they are
-- skipped with a warning, and doctor() reports them.
CREATE FUNCTION teamacl_internal._sync_children(tbl regclass) RETURNS void
	LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_rel regclass;
	v_kind "char";
	v_anc teamacl.protected_tables;
	v_p teamacl.protected_tables;
BEGIN
	-- pieces that were detached (DETACH PARTITION, NO INHERIT)
	UPDATE teamacl.protected_tables p SET parent = NULL
	 WHERE p.parent IS NOT NULL
	   AND NOT EXISTS (SELECT 1 FROM teamacl_internal._descendants(p.parent) d WHERE d.child OPERATOR(pg_catalog.=) p.tbl)
	   AND (p.tbl OPERATOR(pg_catalog.=) _sync_children.tbl OR p.parent OPERATOR(pg_catalog.=) _sync_children.tbl
			OR p.parent OPERATOR(pg_catalog.=) (teamacl_internal._protected_ancestor(_sync_children.tbl)).tbl
			OR p.parent OPERATOR(pg_catalog.=) (teamacl_internal._protected_ancestor(_sync_children.tbl)).parent);
	-- unprotected members of the tree below (and including) tbl
	FOR v_rel IN SELECT x.rel FROM (SELECT _sync_children.tbl AS rel, 0 AS depth
									 UNION ALL SELECT d.child, d.depth FROM teamacl_internal._descendants(_sync_children.tbl) d) x
				  ORDER BY x.depth, x.rel LOOP
		CONTINUE WHEN EXISTS (SELECT 1 FROM teamacl.protected_tables p WHERE p.tbl OPERATOR(pg_catalog.=) v_rel);
		v_anc := teamacl_internal._protected_ancestor(v_rel);
		CONTINUE WHEN v_anc.tbl IS NULL;
		SELECT c.relkind INTO v_kind FROM pg_class c WHERE c.oid OPERATOR(pg_catalog.=) v_rel;
		IF v_kind NOT IN ('r', 'p') THEN
			RAISE WARNING 'foreign table % inherits from protected table % and cannot be protected', v_rel, v_anc.tbl
				USING DETAIL = 'PostgreSQL has no row-level security on foreign tables.',
					  HINT = 'Revoke every privilege on it from roles that serve end users.';
			CONTINUE;
		END IF;
		v_p := v_anc;
		v_p.tbl := v_rel;
		v_p.parent := COALESCE(v_anc.parent, v_anc.tbl);
		PERFORM teamacl_internal._protect_one(v_p);
	END LOOP;
END
$$;
COMMENT ON FUNCTION teamacl_internal._sync_children(regclass) IS
	'Internal: protect the unprotected partitions and inheritance children below a table like the table they inherit from';
REVOKE ALL ON FUNCTION teamacl_internal._descendants(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION teamacl_internal._protected_ancestor(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION teamacl_internal._protect_one(teamacl.protected_tables) FROM PUBLIC;
REVOKE ALL ON FUNCTION teamacl_internal._unprotect_one(teamacl.protected_tables) FROM PUBLIC;
REVOKE ALL ON FUNCTION teamacl_internal._sync_children(regclass) FROM PUBLIC;

ALTER FUNCTION teamacl.protect(regclass, name, text, text, text, text) RENAME TO protect_0_2;
CREATE FUNCTION teamacl.protect(tbl regclass, team_column name DEFAULT 'team_id',
								select_permission text DEFAULT 'resources.read',
								insert_permission text DEFAULT 'resources.create',
								update_permission text DEFAULT 'resources.update',
								delete_permission text DEFAULT 'resources.delete')
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_class pg_class;
	v_type oid;
	v_child regclass;
	v_anc teamacl.protected_tables;
	v_p teamacl.protected_tables;
BEGIN
	IF tbl IS NULL OR team_column IS NULL THEN
		RAISE EXCEPTION 'table and team column must not be null' USING ERRCODE = '22004';
	END IF;
	SELECT * INTO v_class FROM pg_class c WHERE c.oid OPERATOR(pg_catalog.=) tbl;
	IF v_class.relkind NOT IN ('r', 'p') THEN
		RAISE EXCEPTION '"%" is not a table', tbl USING ERRCODE = '42809';
	END IF;
	PERFORM teamacl_internal._check_table_owner(tbl);
	IF v_class.relnamespace OPERATOR(pg_catalog.=) 'teamacl'::regnamespace THEN
		RAISE EXCEPTION 'cannot protect teamacl''s own table %', tbl USING ERRCODE = '42501';
	END IF;
	IF EXISTS (SELECT 1 FROM teamacl.protected_tables p WHERE p.tbl OPERATOR(pg_catalog.=) protect.tbl) THEN
		RAISE EXCEPTION 'table % is already protected', tbl USING ERRCODE = '42710',
			HINT = 'Call teamacl.unprotect() first to change its permissions.';
	END IF;
	v_anc := teamacl_internal._protected_ancestor(tbl);
	IF v_anc.tbl IS NOT NULL THEN
		RAISE EXCEPTION 'table % inherits from protected table %', tbl, v_anc.tbl USING ERRCODE = '42710',
			HINT = 'Its partitions and inheritance children are protected with it.';
	END IF;
	SELECT a.atttypid INTO v_type FROM pg_attribute a
	 WHERE a.attrelid OPERATOR(pg_catalog.=) tbl AND a.attname OPERATOR(pg_catalog.=) team_column
	   AND a.attnum > 0 AND NOT a.attisdropped;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'column "%" of table % does not exist', team_column, tbl USING ERRCODE = '42703';
	END IF;
	IF v_type OPERATOR(pg_catalog.<>) 'uuid'::regtype THEN
		RAISE EXCEPTION 'column "%" of table % must be of type uuid', team_column, tbl USING ERRCODE = '42804',
			DETAIL = format('It is of type %s.', v_type::regtype);
	END IF;
	PERFORM teamacl_internal._check_permissions(ARRAY[select_permission, insert_permission, update_permission, delete_permission]);
	-- every partition and inheritance child is protected with it
	FOR v_child IN SELECT d.child FROM teamacl_internal._descendants(tbl) d LOOP
		PERFORM teamacl_internal._check_table_owner(v_child);
		IF EXISTS (SELECT 1 FROM teamacl.protected_tables p WHERE p.tbl OPERATOR(pg_catalog.=) v_child) THEN
			RAISE EXCEPTION 'table % inherits from % and is already protected', v_child, tbl USING ERRCODE = '42710',
				HINT = format('Call teamacl.unprotect(%L) first; it will be protected with %s.', v_child, tbl);
		END IF;
	END LOOP;

	v_p.tbl := tbl;
	v_p.team_column := team_column;
	v_p.select_permission := select_permission;
	v_p.insert_permission := insert_permission;
	v_p.update_permission := update_permission;
	v_p.delete_permission := delete_permission;
	PERFORM teamacl_internal._protect_one(v_p);
	-- (teamacl's event trigger has usually done this already)
	PERFORM teamacl_internal._sync_children(tbl);
END
$$;
COMMENT ON FUNCTION teamacl.protect(regclass, name, text, text, text, text) IS
	'Make a table team-scoped: enable and force RLS with one teamacl policy per command, on the table and on every partition and inheritance child, present and future';
SELECT teamacl_internal._carry_privileges('teamacl.protect_0_2(regclass, name, text, text, text, text)',
								 'teamacl.protect(regclass, name, text, text, text, text)');

ALTER FUNCTION teamacl.unprotect(regclass) RENAME TO unprotect_0_2;
CREATE FUNCTION teamacl.unprotect(tbl regclass) RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_p teamacl.protected_tables;
	v_child teamacl.protected_tables;
BEGIN
	IF tbl IS NULL THEN
		RAISE EXCEPTION 'table must not be null' USING ERRCODE = '22004';
	END IF;
	PERFORM teamacl_internal._check_table_owner(tbl);
	SELECT * INTO v_p FROM teamacl.protected_tables p WHERE p.tbl OPERATOR(pg_catalog.=) unprotect.tbl FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'table % is not protected by teamacl', tbl USING ERRCODE = '42704';
	END IF;
	IF v_p.parent IS NOT NULL THEN
		RAISE EXCEPTION 'table % is protected as part of %', tbl, v_p.parent USING ERRCODE = '55000',
			HINT = format('Unprotect %s, or detach this table from it first.', v_p.parent);
	END IF;
	-- the table first, then its children from the top down: each ALTER
	-- TABLE fires teamacl's event trigger, which would protect again a
	-- child whose ancestor is still protected
	PERFORM teamacl_internal._unprotect_one(v_p);
	FOR v_child IN SELECT p.* FROM teamacl.protected_tables p
					 LEFT JOIN teamacl_internal._descendants(unprotect.tbl) d ON d.child OPERATOR(pg_catalog.=) p.tbl
					WHERE p.parent OPERATOR(pg_catalog.=) unprotect.tbl
					ORDER BY d.depth NULLS LAST, p.tbl LOOP
		PERFORM teamacl_internal._unprotect_one(v_child);
	END LOOP;
END
$$;
COMMENT ON FUNCTION teamacl.unprotect(regclass) IS
	'Undo protect(): drop its policies and restore the RLS flags of the table and of the partitions and children protected with it';
SELECT teamacl_internal._carry_privileges('teamacl.unprotect_0_2(regclass)', 'teamacl.unprotect(regclass)');

-- New partitions and inheritance children of protected tables (CREATE
-- TABLE ... PARTITION OF / INHERITS, ATTACH PARTITION, INHERIT) are
-- protected as they appear, within the same statement.
CREATE FUNCTION teamacl_internal._on_ddl_end() RETURNS event_trigger
	LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_rel oid;
BEGIN
	IF NOT EXISTS (SELECT 1 FROM teamacl.protected_tables) THEN
		RETURN;
	END IF;
	FOR v_rel IN SELECT DISTINCT c.objid FROM pg_event_trigger_ddl_commands() c
				  WHERE c.classid OPERATOR(pg_catalog.=) 'pg_class'::regclass AND c.objsubid OPERATOR(pg_catalog.=) 0
					AND c.object_type IN ('table', 'foreign table')
					AND EXISTS (SELECT 1 FROM pg_class r WHERE r.oid OPERATOR(pg_catalog.=) c.objid) LOOP
		PERFORM teamacl_internal._sync_children(v_rel::regclass);
	END LOOP;
END
$$;
COMMENT ON FUNCTION teamacl_internal._on_ddl_end() IS 'Internal event trigger: protect new partitions and inheritance children of protected tables';
REVOKE ALL ON FUNCTION teamacl_internal._on_ddl_end() FROM PUBLIC;
CREATE EVENT TRIGGER teamacl_ddl_end ON ddl_command_end
	WHEN TAG IN ('CREATE TABLE', 'ALTER TABLE', 'CREATE FOREIGN TABLE', 'ALTER FOREIGN TABLE')
	EXECUTE FUNCTION teamacl_internal._on_ddl_end();

-- partitions and children of tables protected before 0.3 are protected now
DO $$
DECLARE
	v_tbl regclass;
	v_before bigint := (SELECT count(*) FROM teamacl.protected_tables);
BEGIN
	FOR v_tbl IN SELECT p.tbl FROM teamacl.protected_tables p ORDER BY p.tbl::text LOOP
		PERFORM teamacl_internal._sync_children(v_tbl);
	END LOOP;
	IF (SELECT count(*) FROM teamacl.protected_tables) > v_before THEN
		RAISE NOTICE 'teamacl: % partitions and inheritance children of protected tables are now protected',
			(SELECT count(*) FROM teamacl.protected_tables) - v_before;
	END IF;
END
$$;

------------------------------------------------------------------------
-- API keys (sql/src/apikeys.sql, src/apikey.c)
------------------------------------------------------------------------

ALTER TABLE teamacl.permissions DISABLE TRIGGER audit;
INSERT INTO teamacl.permissions (name, description, builtin) VALUES
	('api_keys.create', 'Create API keys for the team (never with more than the creator holds)', true),
	('api_keys.manage', 'See and revoke every API key of the team', true);
ALTER TABLE teamacl.permissions ENABLE TRIGGER audit;
ALTER TABLE teamacl.audit_log ADD COLUMN api_key_id uuid;
COMMENT ON COLUMN teamacl.audit_log.api_key_id IS 'The API key that was the identity when the change was made, beside its creator in actor';

CREATE FUNCTION teamacl.set_api_key(key text, is_local boolean DEFAULT true) RETURNS void
	AS 'MODULE_PATHNAME', 'teamacl_set_api_key'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION teamacl.set_api_key(text, boolean) IS
	'Act as an API key (NULL clears): its creator, only in the key''s team and only with what both the key''s role and the creator hold now; transaction-local unless is_local is false. Grant EXECUTE only to the application''s login role';
REVOKE ALL ON FUNCTION teamacl.set_api_key(text, boolean) FROM PUBLIC;

CREATE FUNCTION teamacl.current_api_key_id() RETURNS uuid
	AS 'MODULE_PATHNAME', 'teamacl_current_api_key_id'
	LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION teamacl.current_api_key_id() IS
	'The API key that is the identity (set_api_key() or the Authorization header), NULL otherwise or when it is no longer usable';

-- the audit trigger records the key beside the actor: its function is
-- swapped under every audit trigger
CREATE FUNCTION teamacl_internal._audit_0_3() RETURNS trigger
	LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_old jsonb;
	v_new jsonb;
	v_team uuid;
	v_action text;
	v_target text;
	v_entity text := CASE TG_TABLE_NAME
		WHEN 'teams' THEN 'team' WHEN 'members' THEN 'member' WHEN 'roles' THEN 'role'
		WHEN 'role_permissions' THEN 'role_permission' WHEN 'invitations' THEN 'invitation'
		WHEN 'ownership_transfers' THEN 'transfer' WHEN 'plans' THEN 'plan'
		WHEN 'permissions' THEN 'permission' WHEN 'protected_tables' THEN 'protection'
		WHEN 'api_keys' THEN 'key'
		ELSE TG_TABLE_NAME END;
BEGIN
	-- COPY into teamacl's tables is a restore (pg_restore and plain dumps
	-- load data with COPY): those rows were audited when they were made
	IF current_query() ~* '^\s*copy\s' THEN
		RETURN NULL;
	END IF;
	IF TG_OP <> 'INSERT' THEN
		v_old := to_jsonb(OLD) - 'token_hash' - 'confirm_token_hash' - 'accept_token_hash' - 'key_hash';
	END IF;
	IF TG_OP <> 'DELETE' THEN
		v_new := to_jsonb(NEW) - 'token_hash' - 'confirm_token_hash' - 'accept_token_hash' - 'key_hash';
	END IF;
	v_team := COALESCE(v_new, v_old) ->> CASE WHEN TG_TABLE_NAME = 'teams' THEN 'id' ELSE 'team_id' END;
	IF TG_TABLE_NAME IN ('plans', 'permissions', 'protected_tables', 'role_permissions') THEN
		v_team := CASE WHEN TG_TABLE_NAME = 'role_permissions'
					   THEN (SELECT r.team_id FROM teamacl.roles r
							  WHERE r.id OPERATOR(pg_catalog.=) (COALESCE(v_new, v_old) ->> 'role_id')::uuid) END;
	END IF;
	v_target := COALESCE(v_new, v_old) ->> CASE TG_TABLE_NAME
		WHEN 'members' THEN 'user_id' WHEN 'plans' THEN 'name' WHEN 'permissions' THEN 'name'
		WHEN 'protected_tables' THEN 'tbl' WHEN 'role_permissions' THEN 'role_id' ELSE 'id' END;
	v_action := v_entity || '.' || CASE TG_OP
		WHEN 'INSERT' THEN 'created' WHEN 'DELETE' THEN 'deleted' ELSE 'updated' END;
	IF TG_TABLE_NAME = 'members' THEN
		v_action := CASE TG_OP WHEN 'INSERT' THEN 'member.added' WHEN 'DELETE' THEN 'member.removed'
						ELSE 'member.role_changed' END;
	ELSIF TG_TABLE_NAME IN ('invitations', 'ownership_transfers') AND TG_OP = 'UPDATE' THEN
		IF v_old ->> 'status' IS DISTINCT FROM v_new ->> 'status' THEN
			v_action := v_entity || '.' || (v_new ->> 'status');
		ELSIF TG_TABLE_NAME = 'invitations' THEN
			v_action := 'invitation.resent';
		END IF;
	ELSIF TG_TABLE_NAME = 'ownership_transfers' AND TG_OP = 'INSERT' THEN
		v_action := 'transfer.requested';
	ELSIF TG_TABLE_NAME = 'protected_tables' THEN
		v_action := CASE TG_OP WHEN 'INSERT' THEN 'table.protected' ELSE 'table.unprotected' END;
	ELSIF TG_TABLE_NAME = 'teams' AND TG_OP = 'UPDATE' AND v_old ->> 'plan' IS DISTINCT FROM v_new ->> 'plan' THEN
		v_action := 'team.plan_changed';
	ELSIF TG_TABLE_NAME = 'api_keys' AND TG_OP = 'UPDATE'
		  AND v_old ->> 'revoked_at' IS NULL AND v_new ->> 'revoked_at' IS NOT NULL THEN
		v_action := 'key.revoked';
	END IF;
	INSERT INTO teamacl.audit_log (actor, db_role, team_id, action, target, before, after, api_key_id)
	VALUES (teamacl.current_user_id(), session_user, v_team, v_action, v_target, v_old, v_new,
			teamacl.current_api_key_id());
	RETURN NULL;
END
$$;
COMMENT ON FUNCTION teamacl_internal._audit_0_3() IS 'Internal trigger: write one audit_log row per changed row (never a token or key hash), with the API key that was the identity';
DO $$
DECLARE
	v_t record;
BEGIN
	FOR v_t IN SELECT t.tgrelid::regclass AS tbl, pg_catalog.pg_get_triggerdef(t.oid) AS def
				 FROM pg_catalog.pg_trigger t
				WHERE t.tgfoid OPERATOR(pg_catalog.=) 'teamacl_internal._audit()'::pg_catalog.regprocedure
				ORDER BY 1 LOOP
		EXECUTE pg_catalog.format('DROP TRIGGER audit ON %s', v_t.tbl);
		EXECUTE pg_catalog.replace(v_t.def, 'teamacl_internal._audit()', 'teamacl_internal._audit_0_3()');
	END LOOP;
END
$$;
DROP FUNCTION teamacl_internal._audit();
ALTER FUNCTION teamacl_internal._audit_0_3() RENAME TO _audit;

CREATE TABLE teamacl.api_keys (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	team_id uuid NOT NULL REFERENCES teamacl.teams (id) ON DELETE CASCADE,
	name text NOT NULL CHECK (pg_catalog.length(pg_catalog.btrim(name)) BETWEEN 1 AND 200),
	role_id uuid REFERENCES teamacl.roles (id) ON DELETE SET NULL,
	role_name text NOT NULL,
	key_hash bytea NOT NULL UNIQUE,
	created_by uuid NOT NULL REFERENCES teamacl.users (id) ON DELETE CASCADE,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	expires_at timestamptz,
	revoked_at timestamptz,
	revoked_by uuid
);
COMMENT ON TABLE teamacl.api_keys IS
	'API keys; only a SHA-256 of each key is stored. expires_at NULL: never expires (only when a superuser allowed it)';
CREATE INDEX api_keys_team_idx ON teamacl.api_keys (team_id);
CREATE INDEX api_keys_created_by_idx ON teamacl.api_keys (created_by);
ALTER TABLE teamacl.api_keys ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('teamacl.api_keys', '');

-- When each key was last used: a row apart from the key's, so that the
-- write a use makes (at most once a minute) never holds up a revocation.
CREATE TABLE teamacl.api_key_usage (
	key_id uuid PRIMARY KEY REFERENCES teamacl.api_keys (id) ON DELETE CASCADE,
	last_used_at timestamptz
);
COMMENT ON TABLE teamacl.api_key_usage IS 'When each API key was last used (written at most once a minute per key)';
ALTER TABLE teamacl.api_key_usage ENABLE ROW LEVEL SECURITY;
SELECT pg_catalog.pg_extension_config_dump('teamacl.api_key_usage', '');

-- The C cache reads keys: every change tells every backend, like the
-- other tables it reads.
CREATE TRIGGER invalidate_cache AFTER INSERT OR DELETE OR TRUNCATE ON teamacl.api_keys
	FOR EACH STATEMENT EXECUTE FUNCTION teamacl_internal._invalidate_cache();
ALTER TABLE teamacl.api_keys ENABLE ALWAYS TRIGGER invalidate_cache;
CREATE TRIGGER invalidate_cache_update AFTER UPDATE ON teamacl.api_keys
	FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.team_id IS DISTINCT FROM NEW.team_id
					   OR OLD.role_id IS DISTINCT FROM NEW.role_id OR OLD.created_by IS DISTINCT FROM NEW.created_by
					   OR OLD.key_hash IS DISTINCT FROM NEW.key_hash OR OLD.expires_at IS DISTINCT FROM NEW.expires_at
					   OR OLD.revoked_at IS DISTINCT FROM NEW.revoked_at)
	EXECUTE FUNCTION teamacl_internal._invalidate_cache();
ALTER TABLE teamacl.api_keys ENABLE ALWAYS TRIGGER invalidate_cache_update;
-- audited: creation, revocation, any other change
CREATE TRIGGER audit AFTER INSERT OR DELETE ON teamacl.api_keys FOR EACH ROW EXECUTE FUNCTION teamacl_internal._audit();
CREATE TRIGGER audit_update AFTER UPDATE ON teamacl.api_keys
	FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.team_id IS DISTINCT FROM NEW.team_id
					   OR OLD.role_id IS DISTINCT FROM NEW.role_id OR OLD.created_by IS DISTINCT FROM NEW.created_by
					   OR OLD.expires_at IS DISTINCT FROM NEW.expires_at OR OLD.revoked_at IS DISTINCT FROM NEW.revoked_at)
	EXECUTE FUNCTION teamacl_internal._audit();

CREATE FUNCTION teamacl.create_api_key(team_id uuid, name text, role text, valid_for interval DEFAULT NULL)
	RETURNS text
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_me uuid := teamacl_internal._me();
	v_team teamacl.teams;
	v_role teamacl.roles;
	v_setting text;
	v_expires timestamptz;
	v_key text;
	v_id uuid;
BEGIN
	IF teamacl.current_api_key_id() IS NOT NULL THEN
		RAISE EXCEPTION 'an API key cannot create API keys' USING ERRCODE = '42501',
			HINT = 'Create keys as the person they act for.';
	END IF;
	IF name IS NULL OR length(btrim(name)) NOT BETWEEN 1 AND 200 THEN
		RAISE EXCEPTION 'invalid API key name' USING ERRCODE = '22023',
			DETAIL = 'A key name has 1 to 200 characters.';
	END IF;
	IF valid_for IS NOT NULL AND valid_for <= '0'::interval THEN
		RAISE EXCEPTION 'invalid API key validity' USING ERRCODE = '22023',
			DETAIL = 'A key is valid for a positive interval.';
	END IF;
	v_team := teamacl_internal._lock_team(team_id, 'api_keys.create');
	v_role := teamacl_internal._find_role(team_id, role);
	-- never more than the creator holds
	PERFORM teamacl_internal._check_grantable(team_id, teamacl_internal._role_permissions(v_role.id),
											  format('create an API key with role "%s"', v_role.name));
	IF valid_for IS NOT NULL THEN
		v_expires := now() + valid_for;
	ELSE
		v_setting := teamacl_internal._setting('teamacl.api_key_validity');
		v_expires := CASE WHEN v_setting = '-1' THEN NULL ELSE now() + v_setting::interval END;
	END IF;
	v_key := teamacl_internal._generate_token('tacl_key_');
	INSERT INTO teamacl.api_keys (team_id, name, role_id, role_name, key_hash, created_by, expires_at)
	VALUES (team_id, btrim(name), v_role.id, v_role.name, teamacl_internal._hash_token(v_key), v_me, v_expires)
	RETURNING id INTO v_id;
	INSERT INTO teamacl.api_key_usage (key_id) VALUES (v_id);
	PERFORM teamacl_internal._emit('key.created', team_id,
								   jsonb_build_object('key_id', v_id, 'team_id', team_id, 'team_name', v_team.name,
													  'name', btrim(name), 'role', v_role.name, 'created_by', v_me,
													  'expires_at', v_expires));
	RETURN v_key;
END
$$;
COMMENT ON FUNCTION teamacl.create_api_key(uuid, text, text, interval) IS
	'Create an API key for a team (needs api_keys.create; the creator must hold every permission of the role); returns the key, shown once. valid_for defaults to teamacl.api_key_validity';

CREATE FUNCTION teamacl.revoke_api_key(key_id uuid) RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_me uuid := teamacl_internal._me();
	v_key teamacl.api_keys;
BEGIN
	SELECT * INTO v_key FROM teamacl.api_keys k WHERE k.id OPERATOR(pg_catalog.=) key_id;
	IF FOUND THEN
		-- the lock order of every membership change: team, then the row
		PERFORM 1 FROM teamacl.teams t WHERE t.id OPERATOR(pg_catalog.=) v_key.team_id FOR UPDATE;
		SELECT * INTO v_key FROM teamacl.api_keys k WHERE k.id OPERATOR(pg_catalog.=) key_id FOR UPDATE;
	END IF;
	-- a key the caller may not manage is, to them, a key that does not exist
	IF v_key.id IS NULL
	   OR (v_key.created_by OPERATOR(pg_catalog.<>) v_me
		   AND NOT teamacl.permissions(v_key.team_id) @> ARRAY['api_keys.manage']) THEN
		RAISE EXCEPTION 'API key % does not exist', key_id USING ERRCODE = '42704',
			HINT = 'Its creator, or a holder of api_keys.manage in its team, can revoke it.';
	END IF;
	UPDATE teamacl.api_keys k SET revoked_at = now(), revoked_by = v_me
	 WHERE k.id OPERATOR(pg_catalog.=) key_id AND k.revoked_at IS NULL;
END
$$;
COMMENT ON FUNCTION teamacl.revoke_api_key(uuid) IS
	'Revoke an API key (its creator, or a holder of api_keys.manage in its team); the next statement in every session no longer accepts it';

-- A member sees their own keys; holders of api_keys.manage see the team's.
-- inactive: the creator left the team, or no longer holds every permission
-- of the key's role (the key then grants only what both hold).
CREATE VIEW teamacl.team_api_keys WITH (security_barrier) AS
SELECT k.id, k.team_id, k.name, k.role_name AS role, k.created_by, k.created_at, k.expires_at,
	   (SELECT u.last_used_at FROM teamacl.api_key_usage u WHERE u.key_id OPERATOR(pg_catalog.=) k.id) AS last_used_at,
	   CASE WHEN k.revoked_at IS NOT NULL THEN 'revoked'
			WHEN k.expires_at OPERATOR(pg_catalog.<=) pg_catalog.now() THEN 'expired'
			WHEN k.role_id IS NULL
				 OR NOT EXISTS (SELECT 1 FROM teamacl.members m
								 WHERE m.team_id OPERATOR(pg_catalog.=) k.team_id
								   AND m.user_id OPERATOR(pg_catalog.=) k.created_by)
				 OR EXISTS (SELECT 1 FROM teamacl.permissions p, teamacl.roles r
							 WHERE r.id OPERATOR(pg_catalog.=) k.role_id
							   AND CASE WHEN r.all_permissions
										THEN NOT EXISTS (SELECT 1 FROM teamacl.role_permissions x
														  WHERE x.role_id OPERATOR(pg_catalog.=) r.id
															AND x.permission OPERATOR(pg_catalog.=) p.name AND x.excluded)
										ELSE EXISTS (SELECT 1 FROM teamacl.role_permissions x
													  WHERE x.role_id OPERATOR(pg_catalog.=) r.id
														AND x.permission OPERATOR(pg_catalog.=) p.name AND NOT x.excluded) END
							   AND NOT EXISTS (SELECT 1 FROM teamacl.members m JOIN teamacl.roles cr ON cr.id OPERATOR(pg_catalog.=) m.role_id
											    WHERE m.team_id OPERATOR(pg_catalog.=) k.team_id
												  AND m.user_id OPERATOR(pg_catalog.=) k.created_by
												  AND CASE WHEN cr.all_permissions
														   THEN NOT EXISTS (SELECT 1 FROM teamacl.role_permissions x
																			 WHERE x.role_id OPERATOR(pg_catalog.=) cr.id
																			   AND x.permission OPERATOR(pg_catalog.=) p.name AND x.excluded)
														   ELSE EXISTS (SELECT 1 FROM teamacl.role_permissions x
																		 WHERE x.role_id OPERATOR(pg_catalog.=) cr.id
																		   AND x.permission OPERATOR(pg_catalog.=) p.name AND NOT x.excluded) END))
			THEN 'inactive'
			ELSE 'active' END AS status
  FROM teamacl.api_keys k
 WHERE k.created_by OPERATOR(pg_catalog.=) teamacl.current_user_id()
	OR teamacl.has_permission(k.team_id, 'api_keys.manage');
COMMENT ON VIEW teamacl.team_api_keys IS
	'API keys: each member''s own, and all of a team''s to holders of api_keys.manage; status active, expired, revoked or inactive (the creator no longer holds the key''s role)';
GRANT SELECT ON teamacl.team_api_keys TO PUBLIC;

------------------------------------------------------------------------
-- doctor() (sql/src/doctor.sql)
------------------------------------------------------------------------

ALTER FUNCTION teamacl.doctor() RENAME TO doctor_0_2;
CREATE FUNCTION teamacl.doctor(OUT severity text, OUT object text, OUT problem text, OUT fix text)
	RETURNS SETOF record
	LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_p teamacl.protected_tables;
	v_now jsonb;
BEGIN
	-- protected tables: index on the team column, RLS flags, policy drift
	FOR v_p IN SELECT * FROM teamacl.protected_tables ORDER BY tbl::text LOOP
		-- only an index whose access method takes array conditions (btree)
		-- can serve team_column = ANY (...); hash, GiST and BRIN cannot
		IF NOT EXISTS (SELECT 1 FROM pg_index i
						 JOIN pg_class ic ON ic.oid OPERATOR(pg_catalog.=) i.indexrelid
						 JOIN pg_attribute a
						   ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid AND a.attnum OPERATOR(pg_catalog.=) i.indkey[0]
					   WHERE i.indrelid OPERATOR(pg_catalog.=) v_p.tbl AND a.attname OPERATOR(pg_catalog.=) v_p.team_column
						 AND i.indisvalid AND i.indpred IS NULL
						 AND teamacl_internal._am_searches_arrays(ic.relam)) THEN
			severity := 'warning'; object := v_p.tbl::text;
			problem := format('team column %I has no btree index starting with it%s', v_p.team_column,
				(SELECT ' (' || string_agg(format('%s is a %s index, which cannot serve the permission check',
												  i.indexrelid::regclass, am.amname), '; ' ORDER BY i.indexrelid::regclass::text) || ')'
				   FROM pg_index i
				   JOIN pg_class ic ON ic.oid OPERATOR(pg_catalog.=) i.indexrelid
				   JOIN pg_am am ON am.oid OPERATOR(pg_catalog.=) ic.relam
				   JOIN pg_attribute a
					 ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid AND a.attnum OPERATOR(pg_catalog.=) i.indkey[0]
				  WHERE i.indrelid OPERATOR(pg_catalog.=) v_p.tbl AND a.attname OPERATOR(pg_catalog.=) v_p.team_column
					AND NOT teamacl_internal._am_searches_arrays(ic.relam)));
			fix := format('CREATE INDEX ON %s (%I);', v_p.tbl, v_p.team_column);
			RETURN NEXT;
		END IF;
		v_now := teamacl_internal._policy_texts(v_p.tbl);
		IF v_now IS DISTINCT FROM v_p.policies THEN
			severity := 'error'; object := v_p.tbl::text;
			problem := 'teamacl policies were changed or dropped since protect()';
			fix := format('SELECT teamacl.unprotect(%L); SELECT teamacl.protect(%L, %L, %L, %L, %L, %L);',
						  v_p.tbl, v_p.tbl, v_p.team_column, v_p.select_permission, v_p.insert_permission,
						  v_p.update_permission, v_p.delete_permission);
			RETURN NEXT;
		END IF;
	END LOOP;

	-- partitions and inheritance children of protected tables that are not
	-- protected: reading them directly skips the parent's policies
	FOR object, problem, fix IN
		SELECT d.child::text,
			   CASE WHEN c.relkind IN ('r', 'p')
					THEN format('inherits from protected table %s but is not protected: reading it directly shows every team''s rows', p.tbl)
					ELSE format('foreign table inherits from protected table %s: row-level security cannot protect it', p.tbl) END,
			   CASE WHEN c.relkind IN ('r', 'p')
					THEN format('SELECT teamacl.unprotect(%L); SELECT teamacl.protect(%L, %L, %L, %L, %L, %L); -- protects every child',
								COALESCE(p.parent, p.tbl), COALESCE(p.parent, p.tbl), p.team_column, p.select_permission,
								p.insert_permission, p.update_permission, p.delete_permission)
					ELSE format('REVOKE ALL ON %s FROM PUBLIC; -- and from every role that serves end users', d.child) END
		  FROM teamacl.protected_tables p
		 CROSS JOIN LATERAL teamacl_internal._descendants(p.tbl) d
		  JOIN pg_class c ON c.oid OPERATOR(pg_catalog.=) d.child
		 WHERE NOT EXISTS (SELECT 1 FROM teamacl.protected_tables x WHERE x.tbl OPERATOR(pg_catalog.=) d.child)
		   AND (teamacl_internal._protected_ancestor(d.child)).tbl OPERATOR(pg_catalog.=) p.tbl
		 ORDER BY 1
	LOOP
		severity := 'error';
		RETURN NEXT;
	END LOOP;

	-- privileges row-level security does not govern, held by roles that are
	-- subject to the policies: TRUNCATE empties every team's rows, TRIGGER
	-- runs the grantee's code on everybody's writes, REFERENCES lets a
	-- foreign key probe for other teams' values
	FOR object, severity, problem, fix IN
		SELECT t.tbl::text,
			   CASE WHEN a.privilege_type OPERATOR(pg_catalog.=) 'REFERENCES' THEN 'warning' ELSE 'error' END,
			   format('%s holds %s, which row-level security does not govern%s',
					  CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC' ELSE format('role %I', r.rolname) END,
					  a.privilege_type,
					  CASE a.privilege_type WHEN 'TRUNCATE' THEN ': it can empty every team''s rows'
											WHEN 'TRIGGER' THEN ': its triggers run on every team''s writes'
											ELSE ': a foreign key can probe other teams'' values' END),
			   format('REVOKE %s ON %s FROM %s;', a.privilege_type, t.tbl,
					  CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END)
		  FROM teamacl.protected_tables t
		  JOIN pg_class c ON c.oid OPERATOR(pg_catalog.=) t.tbl
		 CROSS JOIN LATERAL aclexplode(c.relacl) a
		  LEFT JOIN pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.grantee
		 WHERE a.privilege_type IN ('TRUNCATE', 'TRIGGER', 'REFERENCES')
		   AND a.grantee OPERATOR(pg_catalog.<>) c.relowner
		   AND (a.grantee OPERATOR(pg_catalog.=) 0 OR NOT (r.rolsuper OR r.rolbypassrls))
		 ORDER BY 1, 3
	LOOP
		RETURN NEXT;
	END LOOP;

	-- login-role mappings whose role was dropped, or renamed since
	FOR object, severity, problem, fix IN
		SELECT u.email,
			   CASE WHEN r.oid IS NULL THEN 'warning' ELSE 'info' END,
			   CASE WHEN r.oid IS NULL THEN format('is mapped to login role %I, which no longer exists', u.db_role)
					ELSE format('is mapped to login role %I, which was renamed from %I', r.rolname, u.db_role) END,
			   CASE WHEN r.oid IS NULL THEN format('UPDATE teamacl.users SET db_role = NULL WHERE email = %L;', u.email)
					ELSE format('UPDATE teamacl.users SET db_role = %L WHERE email = %L; -- records the new name (dumps carry it)', r.rolname, u.email) END
		  FROM teamacl.users u
		  LEFT JOIN pg_roles r ON r.oid OPERATOR(pg_catalog.=) u.db_role_oid
		 WHERE u.db_role IS NOT NULL
		   AND (r.oid IS NULL OR r.rolname OPERATOR(pg_catalog.<>) u.db_role)
		 ORDER BY 1
	LOOP
		RETURN NEXT;
	END LOOP;

	-- API keys that never expire, or whose creator left the key's team
	FOR object, problem, fix IN
		SELECT format('API key %s (%s)', k.id, k.name),
			   CASE WHEN m.user_id IS NULL
					THEN format('its creator %s is no longer a member of the team: it grants nothing', u.email)
					ELSE 'never expires' END,
			   format('UPDATE teamacl.api_keys SET revoked_at = now() WHERE id = %L;', k.id)
		  FROM teamacl.api_keys k
		  JOIN teamacl.users u ON u.id OPERATOR(pg_catalog.=) k.created_by
		  LEFT JOIN teamacl.members m ON m.team_id OPERATOR(pg_catalog.=) k.team_id
			   AND m.user_id OPERATOR(pg_catalog.=) k.created_by
		 WHERE k.revoked_at IS NULL
		   AND (k.expires_at IS NULL OR k.expires_at OPERATOR(pg_catalog.>) pg_catalog.now())
		   AND (m.user_id IS NULL OR k.expires_at IS NULL)
		 ORDER BY 1
	LOOP
		severity := 'warning';
		RETURN NEXT;
	END LOOP;

	-- other permissive policies on a protected table are OR-ed with
	-- teamacl's and widen what it allows
	FOR object, problem, fix IN
		SELECT c.oid::regclass::text,
			   format('permissive policy %I is OR-ed with teamacl''s policies and widens access', p.polname),
			   format('DROP POLICY %I ON %s; -- or recreate it AS RESTRICTIVE', p.polname, c.oid::regclass)
		  FROM pg_policy p
		  JOIN pg_class c ON c.oid OPERATOR(pg_catalog.=) p.polrelid
		  JOIN teamacl.protected_tables t ON t.tbl::oid OPERATOR(pg_catalog.=) c.oid
		 WHERE p.polpermissive AND p.polname NOT LIKE 'teamacl\_%'
		 ORDER BY 1, 2
	LOOP
		severity := 'warning';
		RETURN NEXT;
	END LOOP;

	-- any table whose policies call teamacl: RLS must be enabled and forced
	FOR object, problem, fix IN
		SELECT DISTINCT c.oid::regclass::text,
			   CASE WHEN NOT c.relrowsecurity THEN 'has teamacl policies but row-level security is disabled'
					ELSE 'has teamacl policies but row-level security is not forced (the owner bypasses it)' END,
			   format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;', c.oid::regclass)
		  FROM pg_policy p JOIN pg_class c ON c.oid OPERATOR(pg_catalog.=) p.polrelid
		 WHERE c.relnamespace OPERATOR(pg_catalog.<>) 'teamacl'::regnamespace
		   AND (pg_get_expr(p.polqual, p.polrelid) ~ 'teamacl\.' OR pg_get_expr(p.polwithcheck, p.polrelid) ~ 'teamacl\.')
		   AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
		 ORDER BY 1
	LOOP
		severity := 'error';
		RETURN NEXT;
	END LOOP;

	-- teamacl policies that protect() did not create
	FOR object, problem IN
		SELECT c.oid::regclass::text, format('policy %I calls teamacl but was not created by teamacl.protect()', p.polname)
		  FROM pg_policy p JOIN pg_class c ON c.oid OPERATOR(pg_catalog.=) p.polrelid
		 WHERE c.relnamespace OPERATOR(pg_catalog.<>) 'teamacl'::regnamespace
		   AND (pg_get_expr(p.polqual, p.polrelid) ~ 'teamacl\.' OR pg_get_expr(p.polwithcheck, p.polrelid) ~ 'teamacl\.')
		   AND NOT (p.polname LIKE 'teamacl\_%'
					AND EXISTS (SELECT 1 FROM teamacl.protected_tables t WHERE t.tbl OPERATOR(pg_catalog.=) c.oid))
		 ORDER BY 1, 2
	LOOP
		severity := 'info';
		fix := 'Check the policy by hand, or use teamacl.protect() so doctor() can watch it.';
		RETURN NEXT;
	END LOOP;

	-- views reading protected tables with their owner's rights; an owner
	-- that bypasses RLS (a superuser) exposes every row
	FOR object, severity, problem, fix IN
		SELECT DISTINCT v.oid::regclass::text,
			   CASE WHEN o.rolsuper OR o.rolbypassrls THEN 'error' ELSE 'warning' END,
			   format('view reads protected table %s with its owner''s rights (no security_invoker)%s', d.refobjid::regclass,
					  CASE WHEN o.rolsuper OR o.rolbypassrls THEN '; its owner bypasses row-level security, so it shows every row' ELSE '' END),
			   format('ALTER VIEW %s SET (security_invoker = true);', v.oid::regclass)
		  FROM pg_rewrite r
		  JOIN pg_class v ON v.oid OPERATOR(pg_catalog.=) r.ev_class AND v.relkind IN ('v', 'm')
		  JOIN pg_roles o ON o.oid OPERATOR(pg_catalog.=) v.relowner
		  JOIN pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_rewrite'::regclass AND d.objid OPERATOR(pg_catalog.=) r.oid
		  JOIN teamacl.protected_tables t ON t.tbl::oid OPERATOR(pg_catalog.=) d.refobjid
		 WHERE v.relnamespace OPERATOR(pg_catalog.<>) 'teamacl'::regnamespace
		   AND NOT COALESCE(v.reloptions @> ARRAY['security_invoker=true'] OR v.reloptions @> ARRAY['security_invoker=on'], false)
		 ORDER BY 1, 3
	LOOP
		RETURN NEXT;
	END LOOP;

	-- roles that bypass row-level security and can read protected tables
	FOR object, problem IN
		SELECT DISTINCT r.rolname::text, format('role bypasses row-level security and can read %s', t.tbl)
		  FROM pg_roles r CROSS JOIN teamacl.protected_tables t
		 WHERE r.rolbypassrls AND NOT r.rolsuper
		   AND has_table_privilege(r.oid, t.tbl, 'SELECT')
		 ORDER BY 1, 2
	LOOP
		severity := 'warning';
		fix := format('ALTER ROLE %I NOBYPASSRLS; -- or make sure it never serves end users', object);
		RETURN NEXT;
	END LOOP;

	-- who may name end users
	FOR object, severity, problem, fix IN
		SELECT CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END,
			   CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'error' ELSE 'info' END,
			   'may call teamacl.set_user() and act as any user',
			   CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0
					THEN 'REVOKE EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) FROM PUBLIC;'
					ELSE 'Expected for the application''s login role only.' END
		  FROM pg_proc p, aclexplode(p.proacl) a
		 WHERE p.oid OPERATOR(pg_catalog.=) 'teamacl.set_user(uuid, boolean)'::regprocedure
		   AND a.privilege_type OPERATOR(pg_catalog.=) 'EXECUTE'
		   AND a.grantee OPERATOR(pg_catalog.<>) p.proowner
		 ORDER BY 1
	LOOP
		RETURN NEXT;
	END LOOP;

	-- SECURITY DEFINER functions that do not pin search_path
	FOR object IN
		SELECT p.oid::regprocedure::text
		  FROM pg_proc p
		 WHERE p.prosecdef
		   AND p.pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
		   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=%')
		 ORDER BY 1
	LOOP
		severity := 'warning';
		problem := 'SECURITY DEFINER function with a mutable search_path';
		fix := format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp;', object);
		RETURN NEXT;
	END LOOP;
END
$$;
COMMENT ON FUNCTION teamacl.doctor() IS
	'One row per problem a DBA should look at: protected tables without a usable index or with unforced RLS, unprotected partitions and children, privileges RLS does not govern, stale login-role mappings, API keys without expiry or whose creator left, drifted or foreign teamacl policies, definer views, BYPASSRLS readers, set_user grantees, definer functions without a pinned search_path';
SELECT teamacl_internal._carry_privileges('teamacl.doctor_0_2()', 'teamacl.doctor()');

DROP FUNCTION teamacl_internal._carry_privileges(regprocedure, regprocedure);

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA teamacl_internal FROM PUBLIC;
