-- sql/src/rls.sql
--
-- Row-level security: protect()/unprotect() on application tables, the
-- policies and grants on teamacl's own tables, and the views.

CREATE FUNCTION teamacl_internal._check_table_owner(tbl regclass) RETURNS void
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF NOT pg_has_role(teamacl_internal._outer_role(), (SELECT c.relowner FROM pg_class c WHERE c.oid OPERATOR(pg_catalog.=) tbl), 'USAGE') THEN
		RAISE EXCEPTION 'must be owner of table %', tbl USING ERRCODE = '42501';
	END IF;
END
$$;
COMMENT ON FUNCTION teamacl_internal._check_table_owner(regclass) IS 'Internal: raise 42501 unless the outer role owns the table';

-- Per-row has_permission(): no InitPlan per policy expression at every
-- executor start; its planner support function gives the index condition
-- team_column = ANY (teams_with(...)) where an index can take it.
CREATE FUNCTION teamacl_internal._policy_check(team_column name, permission text) RETURNS text
	LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
	RETURN format('(teamacl.has_permission(%I, %L))', team_column, permission);
COMMENT ON FUNCTION teamacl_internal._policy_check(name, text) IS 'Internal: the expression of a protect() policy';

CREATE FUNCTION teamacl_internal._policy_texts(tbl regclass) RETURNS jsonb
	LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT jsonb_object_agg(p.polname, jsonb_build_object(
			'cmd', p.polcmd, 'permissive', p.polpermissive, 'roles', p.polroles::text,
			'using', pg_get_expr(p.polqual, p.polrelid), 'check', pg_get_expr(p.polwithcheck, p.polrelid)))
	  FROM pg_policy p
	 WHERE p.polrelid OPERATOR(pg_catalog.=) tbl AND p.polname LIKE 'teamacl\_%';
END;
COMMENT ON FUNCTION teamacl_internal._policy_texts(regclass) IS 'Internal: the teamacl policies of a table as PostgreSQL shows them';

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

-- Forget protected tables that are dropped.
CREATE FUNCTION teamacl_internal._on_sql_drop() RETURNS event_trigger
	LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	DELETE FROM teamacl.protected_tables p
	 WHERE p.tbl::oid IN (SELECT d.objid FROM pg_event_trigger_dropped_objects() d
						   WHERE d.classid OPERATOR(pg_catalog.=) 'pg_class'::regclass AND d.objsubid OPERATOR(pg_catalog.=) 0);
END
$$;
COMMENT ON FUNCTION teamacl_internal._on_sql_drop() IS 'Internal event trigger: forget dropped protected tables';
REVOKE ALL ON FUNCTION teamacl_internal._on_sql_drop() FROM PUBLIC;
CREATE EVENT TRIGGER teamacl_sql_drop ON sql_drop EXECUTE FUNCTION teamacl_internal._on_sql_drop();

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

ALTER TABLE teamacl.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE teamacl.teams ENABLE ROW LEVEL SECURITY;
ALTER TABLE teamacl.members ENABLE ROW LEVEL SECURITY;
ALTER TABLE teamacl.roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE teamacl.role_permissions ENABLE ROW LEVEL SECURITY;
ALTER TABLE teamacl.permissions ENABLE ROW LEVEL SECURITY;
ALTER TABLE teamacl.plans ENABLE ROW LEVEL SECURITY;
ALTER TABLE teamacl.protected_tables ENABLE ROW LEVEL SECURITY;
ALTER TABLE teamacl.invitations ENABLE ROW LEVEL SECURITY;
ALTER TABLE teamacl.ownership_transfers ENABLE ROW LEVEL SECURITY;
ALTER TABLE teamacl.audit_log ENABLE ROW LEVEL SECURITY;

-- Per-row checks, as protect() writes them, not InitPlans (Citus 13
-- crashes planning some joins with InitPlan policies; the per-row form also
-- costs nothing per statement and still gives index conditions).
CREATE POLICY users_visible ON teamacl.users FOR SELECT TO PUBLIC
	USING (id OPERATOR(pg_catalog.=) teamacl.current_user_id()
		   OR EXISTS (SELECT 1 FROM teamacl.members m
					   WHERE m.user_id OPERATOR(pg_catalog.=) users.id
						 AND teamacl.has_permission(m.team_id, 'team.read')));
CREATE POLICY teams_visible ON teamacl.teams FOR SELECT TO PUBLIC
	USING (teamacl.has_permission(id, 'team.read'));
CREATE POLICY members_visible ON teamacl.members FOR SELECT TO PUBLIC
	USING (teamacl.has_permission(team_id, 'team.read')
		   OR user_id OPERATOR(pg_catalog.=) teamacl.current_user_id());
CREATE POLICY roles_visible ON teamacl.roles FOR SELECT TO PUBLIC
	USING (team_id IS NULL
		   OR teamacl.has_permission(team_id, 'team.read'));
CREATE POLICY role_permissions_visible ON teamacl.role_permissions FOR SELECT TO PUBLIC
	USING (EXISTS (SELECT 1 FROM teamacl.roles r WHERE r.id OPERATOR(pg_catalog.=) role_permissions.role_id));
CREATE POLICY permissions_visible ON teamacl.permissions FOR SELECT TO PUBLIC USING (true);
CREATE POLICY plans_visible ON teamacl.plans FOR SELECT TO PUBLIC USING (true);
CREATE POLICY invitations_visible ON teamacl.invitations FOR SELECT TO PUBLIC
	USING (teamacl.has_permission(team_id, 'team.read'));
CREATE POLICY ownership_transfers_visible ON teamacl.ownership_transfers FOR SELECT TO PUBLIC
	USING (teamacl.has_permission(team_id, 'team.read'));
CREATE POLICY audit_log_visible ON teamacl.audit_log FOR SELECT TO PUBLIC
	USING (teamacl.has_permission(team_id, 'audit.read'));

-- Only SELECT is granted: every change goes through the functions above.
-- Sign-in methods, password hashes and login-role mappings are not granted.
GRANT SELECT (id, email, display_name, registered, created_at) ON teamacl.users TO PUBLIC;
GRANT SELECT ON teamacl.teams, teamacl.members, teamacl.roles, teamacl.role_permissions,
	teamacl.permissions, teamacl.plans, teamacl.audit_log TO PUBLIC;
GRANT SELECT (id, team_id, email, role_name, status, valid_for, invited_by, created_at, expires_at, resent_at,
			  responded_at, responded_by) ON teamacl.invitations TO PUBLIC;
GRANT SELECT (id, team_id, from_user, to_user, keep_ownership, status, created_at, expires_at, confirmed_at,
			  finished_at) ON teamacl.ownership_transfers TO PUBLIC;
-- The outbox has no grants: a superuser grants SELECT, UPDATE (processed_at)
-- to the application's mailer role.

CREATE VIEW teamacl.my_teams WITH (security_barrier) AS
SELECT t.id AS team_id, t.name, t.personal, t.plan, r.name AS role,
	   (t.id OPERATOR(pg_catalog.=) (SELECT teamacl.current_team())) AS current,
	   m.added_at AS joined_at
  FROM teamacl.members m
  JOIN teamacl.teams t ON t.id OPERATOR(pg_catalog.=) m.team_id
  JOIN teamacl.roles r ON r.id OPERATOR(pg_catalog.=) m.role_id
 WHERE m.user_id OPERATOR(pg_catalog.=) teamacl.current_user_id();
COMMENT ON VIEW teamacl.my_teams IS 'The current user''s teams and personal account, with their role and which one is current';

CREATE VIEW teamacl.team_members WITH (security_barrier) AS
SELECT m.team_id, m.user_id, u.email, u.display_name, r.name AS role,
	   CASE WHEN m.user_id OPERATOR(pg_catalog.=) teamacl.current_user_id()
				 OR teamacl.has_permission(m.team_id, 'members.sign_in_methods')
			THEN u.sign_in_method END AS sign_in_method,
	   u.registered, m.added_by, m.added_at
  FROM teamacl.members m
  JOIN teamacl.users u ON u.id OPERATOR(pg_catalog.=) m.user_id
  JOIN teamacl.roles r ON r.id OPERATOR(pg_catalog.=) m.role_id
 WHERE teamacl.has_permission(m.team_id, 'team.read');
COMMENT ON VIEW teamacl.team_members IS
	'Members of the teams the current user can read; sign_in_method is NULL unless it is their own or they hold members.sign_in_methods';

GRANT SELECT ON teamacl.my_teams, teamacl.team_members TO PUBLIC;

CREATE VIEW teamacl.team_invitations WITH (security_barrier) AS
SELECT i.id, i.team_id, i.email, i.role_name AS role,
	   CASE WHEN i.status = 'pending' AND i.expires_at <= pg_catalog.now() THEN 'expired' ELSE i.status END AS status,
	   i.invited_by, i.created_at, i.expires_at
  FROM teamacl.invitations i
 WHERE teamacl.has_permission(i.team_id, 'team.read');
COMMENT ON VIEW teamacl.team_invitations IS
	'Invitations of the teams the current user can read, with status pending, accepted, declined, expired or revoked';
GRANT SELECT ON teamacl.team_invitations TO PUBLIC;
