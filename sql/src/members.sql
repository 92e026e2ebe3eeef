-- sql/src/members.sql
--
-- Members and roles: the permission catalogue, global and custom roles,
-- the no-escalation rule, the team lock every membership change takes,
-- and adding, removing and re-roling members.

CREATE FUNCTION teamacl_internal._check_permissions(permissions text[]) RETURNS void
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_missing text;
BEGIN
	IF permissions IS NULL OR array_position(permissions, NULL) IS NOT NULL THEN
		RAISE EXCEPTION 'permission names must not be null' USING ERRCODE = '22004';
	END IF;
	SELECT p INTO v_missing
	  FROM unnest(permissions) AS p
	 WHERE NOT EXISTS (SELECT 1 FROM teamacl.permissions c WHERE c.name OPERATOR(pg_catalog.=) p)
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION 'permission "%" does not exist', left(v_missing, 128)
			USING ERRCODE = '42704',
				  HINT = 'Built-in permissions are listed in teamacl.permissions; add your own with teamacl.define_permission().';
	END IF;
END
$$;
COMMENT ON FUNCTION teamacl_internal._check_permissions(text[]) IS 'Internal: raise 42704 unless every name is a defined permission';

CREATE FUNCTION teamacl_internal._role_permissions(role_id uuid) RETURNS text[]
	LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT COALESCE(pg_catalog.array_agg(p.name ORDER BY p.name), '{}')
	  FROM teamacl.permissions p, teamacl.roles r
	 WHERE r.id OPERATOR(pg_catalog.=) _role_permissions.role_id
	   AND CASE WHEN r.all_permissions
				THEN NOT EXISTS (SELECT 1 FROM teamacl.role_permissions x
								  WHERE x.role_id OPERATOR(pg_catalog.=) r.id
									AND x.permission OPERATOR(pg_catalog.=) p.name AND x.excluded)
				ELSE EXISTS (SELECT 1 FROM teamacl.role_permissions x
							  WHERE x.role_id OPERATOR(pg_catalog.=) r.id
								AND x.permission OPERATOR(pg_catalog.=) p.name AND NOT x.excluded)
		   END;
END;
COMMENT ON FUNCTION teamacl_internal._role_permissions(uuid) IS 'Internal: the effective permissions of a role, sorted';

-- The no-escalation rule: the caller must hold every permission given.
CREATE FUNCTION teamacl_internal._check_grantable(team_id uuid, permissions text[], action text) RETURNS void
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_mine text[] := teamacl.permissions(team_id);
	v_missing text;
BEGIN
	SELECT string_agg(p, ', ' ORDER BY p) INTO v_missing
	  FROM unnest(permissions) AS p
	 WHERE NOT (p OPERATOR(pg_catalog.=) ANY (v_mine));
	IF v_missing IS NOT NULL THEN
		RAISE EXCEPTION 'permission denied to %', action
			USING ERRCODE = '42501',
				  DETAIL = format('It involves permissions you do not hold in team %s: %s.', team_id, v_missing);
	END IF;
END
$$;
COMMENT ON FUNCTION teamacl_internal._check_grantable(uuid, text[], text) IS 'Internal: raise 42501 unless the caller holds all the permissions in the team';

CREATE FUNCTION teamacl_internal._find_role(team_id uuid, role_name text) RETURNS teamacl.roles
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_role teamacl.roles;
BEGIN
	SELECT * INTO v_role FROM teamacl.roles r
	 WHERE r.name OPERATOR(pg_catalog.=) role_name
	   AND (r.team_id OPERATOR(pg_catalog.=) _find_role.team_id OR r.team_id IS NULL)
	 ORDER BY r.team_id IS NULL
	 LIMIT 1;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'role "%" does not exist', left(role_name, 128)
			USING ERRCODE = '42704',
				  HINT = 'Global roles and the team''s custom roles are listed in teamacl.roles.';
	END IF;
	RETURN v_role;
END
$$;
COMMENT ON FUNCTION teamacl_internal._find_role(uuid, text) IS 'Internal: the role of that name usable in the team (custom first, then global), or raise 42704';

-- Lock the team row: every membership change of a team runs under it, so
-- owner counts and seat counts cannot race.  Permission is checked before
-- (fail fast) and after (the lock may have waited for a change) locking.
CREATE FUNCTION teamacl_internal._lock_team(team_id uuid, permission text) RETURNS teamacl.teams
	LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_team teamacl.teams;
BEGIN
	IF team_id IS NULL THEN
		RAISE EXCEPTION 'team id must not be null' USING ERRCODE = '22004';
	END IF;
	PERFORM teamacl.require(team_id, permission);
	SELECT * INTO v_team FROM teamacl.teams t
	 WHERE t.id OPERATOR(pg_catalog.=) _lock_team.team_id FOR UPDATE;
	PERFORM teamacl.require(team_id, permission);
	RETURN v_team;
END
$$;
COMMENT ON FUNCTION teamacl_internal._lock_team(uuid, text) IS 'Internal: check the permission, lock the team row, check again';

CREATE FUNCTION teamacl_internal._owner_count(team_id uuid) RETURNS bigint
	LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT count(*) FROM teamacl.members m
	 WHERE m.team_id OPERATOR(pg_catalog.=) _owner_count.team_id
	   AND m.role_id OPERATOR(pg_catalog.=) '00000000-0000-4000-a000-000000000001'::uuid;
END;
COMMENT ON FUNCTION teamacl_internal._owner_count(uuid) IS 'Internal: how many owners the team has';

CREATE FUNCTION teamacl_internal._catalog_admin() RETURNS void
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF NOT has_function_privilege(teamacl_internal._outer_role(), 'teamacl.define_permission(text, text)', 'EXECUTE') THEN
		RAISE EXCEPTION 'permission denied to change the global role catalogue'
			USING ERRCODE = '42501',
				  DETAIL = 'Global roles affect every team.',
				  HINT = 'A superuser can GRANT EXECUTE ON FUNCTION teamacl.define_permission(text, text) to the role that manages the catalogue.';
	END IF;
END
$$;
COMMENT ON FUNCTION teamacl_internal._catalog_admin() IS 'Internal: raise 42501 unless the outer role may manage permissions and global roles';

-- What every way of adding a member checks first: a personal account takes
-- no members, the owner role is never handed out this way, and the caller
-- must hold every permission of the role (no escalation).
CREATE FUNCTION teamacl_internal._check_new_member(team teamacl.teams, role teamacl.roles, via text) RETURNS void
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF team.personal THEN
		RAISE EXCEPTION 'a personal account cannot have members' USING ERRCODE = '22023',
			HINT = 'Create a team with teamacl.create_team() to work with others.';
	END IF;
	IF role.id OPERATOR(pg_catalog.=) '00000000-0000-4000-a000-000000000001'::uuid THEN
		RAISE EXCEPTION 'the owner role cannot be given by %', via USING ERRCODE = '42501',
			HINT = 'Ownership changes hands with teamacl.request_ownership_transfer().';
	END IF;
	PERFORM teamacl_internal._check_grantable(team.id, teamacl_internal._role_permissions(role.id), format('grant role "%s"', role.name));
END
$$;
COMMENT ON FUNCTION teamacl_internal._check_new_member(teamacl.teams, teamacl.roles, text) IS
	'Internal: the checks every way of adding a member makes (personal account, owner role, no escalation)';

-- The user with that email must not be a member yet (23505).
CREATE FUNCTION teamacl_internal._check_not_member(team_id uuid, email text) RETURNS void
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM teamacl.members m JOIN teamacl.users u ON u.id OPERATOR(pg_catalog.=) m.user_id
				WHERE m.team_id OPERATOR(pg_catalog.=) _check_not_member.team_id
				  AND u.email OPERATOR(pg_catalog.=) teamacl.normalize_email(_check_not_member.email)) THEN
		RAISE EXCEPTION 'user with email "%" is already a member of team %', teamacl.normalize_email(email), team_id
			USING ERRCODE = '23505';
	END IF;
END
$$;
COMMENT ON FUNCTION teamacl_internal._check_not_member(uuid, text) IS 'Internal: raise 23505 if the email already belongs to a member of the team';

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

CREATE FUNCTION teamacl_internal._member_role(team_id uuid, user_id uuid) RETURNS teamacl.roles
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_role teamacl.roles;
BEGIN
	SELECT r.* INTO v_role FROM teamacl.members m JOIN teamacl.roles r ON r.id OPERATOR(pg_catalog.=) m.role_id
	 WHERE m.team_id OPERATOR(pg_catalog.=) _member_role.team_id AND m.user_id OPERATOR(pg_catalog.=) _member_role.user_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'user % is not a member of team %', user_id, team_id USING ERRCODE = '42704';
	END IF;
	RETURN v_role;
END
$$;
COMMENT ON FUNCTION teamacl_internal._member_role(uuid, uuid) IS 'Internal: a member''s role, or raise 42704';

CREATE FUNCTION teamacl.remove_member(team_id uuid, user_id uuid) RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_team teamacl.teams := teamacl_internal._lock_team(team_id, 'members.remove');
	v_role teamacl.roles := teamacl_internal._member_role(team_id, user_id);
BEGIN
	IF NOT v_role.removable THEN
		RAISE EXCEPTION 'members with role "%" cannot be removed', v_role.name
			USING ERRCODE = '55000',
				  HINT = 'Change the member''s role first.';
	END IF;
	PERFORM teamacl_internal._check_grantable(team_id, teamacl_internal._role_permissions(v_role.id), format('remove a member with role "%s"', v_role.name));
	IF v_team.personal THEN
		RAISE EXCEPTION 'cannot remove the owner of a personal account' USING ERRCODE = '22023';
	END IF;
	IF v_role.id OPERATOR(pg_catalog.=) '00000000-0000-4000-a000-000000000001'::uuid
	   AND teamacl_internal._owner_count(team_id) <= 1 THEN
		RAISE EXCEPTION 'cannot remove the last owner of team %', team_id
			USING ERRCODE = '55000',
				  HINT = 'Transfer ownership first.';
	END IF;
	DELETE FROM teamacl.members m WHERE m.team_id OPERATOR(pg_catalog.=) remove_member.team_id
	   AND m.user_id OPERATOR(pg_catalog.=) remove_member.user_id;
END
$$;
COMMENT ON FUNCTION teamacl.remove_member(uuid, uuid) IS
	'Remove a member (needs members.remove and every permission the member holds); their rows stay with the team';

CREATE FUNCTION teamacl.change_role(team_id uuid, user_id uuid, role text) RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_team teamacl.teams := teamacl_internal._lock_team(team_id, 'members.change_role');
	v_old teamacl.roles := teamacl_internal._member_role(team_id, user_id);
	v_new teamacl.roles := teamacl_internal._find_role(team_id, role);
BEGIN
	IF v_new.id OPERATOR(pg_catalog.=) '00000000-0000-4000-a000-000000000001'::uuid THEN
		RAISE EXCEPTION 'the owner role cannot be given by change_role' USING ERRCODE = '42501',
			HINT = 'Ownership changes hands with teamacl.request_ownership_transfer().';
	END IF;
	IF v_team.personal THEN
		RAISE EXCEPTION 'cannot change roles in a personal account' USING ERRCODE = '22023';
	END IF;
	PERFORM teamacl_internal._check_grantable(team_id, teamacl_internal._role_permissions(v_old.id), format('change the role of a member with role "%s"', v_old.name));
	PERFORM teamacl_internal._check_grantable(team_id, teamacl_internal._role_permissions(v_new.id), format('grant role "%s"', v_new.name));
	IF v_old.id OPERATOR(pg_catalog.=) '00000000-0000-4000-a000-000000000001'::uuid
	   AND teamacl_internal._owner_count(team_id) <= 1 THEN
		RAISE EXCEPTION 'cannot change the role of the last owner of team %', team_id
			USING ERRCODE = '55000',
				  HINT = 'Transfer ownership first.';
	END IF;
	UPDATE teamacl.members m SET role_id = v_new.id
	 WHERE m.team_id OPERATOR(pg_catalog.=) change_role.team_id AND m.user_id OPERATOR(pg_catalog.=) change_role.user_id;
END
$$;
COMMENT ON FUNCTION teamacl.change_role(uuid, uuid, text) IS
	'Change a member''s role (needs members.change_role and every permission of both roles); never to owner';

CREATE FUNCTION teamacl.leave_team(team_id uuid) RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_me uuid := teamacl_internal._me();
	v_team teamacl.teams := teamacl_internal._lock_team(team_id, 'team.read');
	v_role teamacl.roles := teamacl_internal._member_role(team_id, v_me);
BEGIN
	IF v_team.personal THEN
		RAISE EXCEPTION 'cannot leave a personal account' USING ERRCODE = '22023';
	END IF;
	IF v_role.id OPERATOR(pg_catalog.=) '00000000-0000-4000-a000-000000000001'::uuid
	   AND teamacl_internal._owner_count(team_id) <= 1 THEN
		RAISE EXCEPTION 'the last owner cannot leave team %', team_id
			USING ERRCODE = '55000',
				  HINT = 'Transfer ownership or delete the team first.';
	END IF;
	DELETE FROM teamacl.members m WHERE m.team_id OPERATOR(pg_catalog.=) leave_team.team_id
	   AND m.user_id OPERATOR(pg_catalog.=) v_me;
END
$$;
COMMENT ON FUNCTION teamacl.leave_team(uuid) IS 'Leave a team; the last owner cannot';

CREATE FUNCTION teamacl.define_permission(name text, description text DEFAULT NULL) RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF name IS NULL OR name !~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$' OR length(name) > 63 THEN
		RAISE EXCEPTION 'invalid permission name "%"', left(name, 128)
			USING ERRCODE = '22023',
				  DETAIL = 'A permission name is dotted lower-case words (like monitors.write), at most 63 characters.';
	END IF;
	IF length(description) > 1000 THEN
		RAISE EXCEPTION 'description is too long' USING ERRCODE = '22023',
			DETAIL = 'A description has at most 1000 characters.';
	END IF;
	IF EXISTS (SELECT 1 FROM teamacl.permissions p WHERE p.name OPERATOR(pg_catalog.=) define_permission.name) THEN
		RAISE EXCEPTION 'permission "%" already exists', name USING ERRCODE = '42710';
	END IF;
	INSERT INTO teamacl.permissions (name, description) VALUES (name, description);
END
$$;
COMMENT ON FUNCTION teamacl.define_permission(text, text) IS
	'Add an application permission to the catalogue; holders of EXECUTE on it also manage global roles';
REVOKE ALL ON FUNCTION teamacl.define_permission(text, text) FROM PUBLIC;

CREATE FUNCTION teamacl.create_role(name text, permissions text[], team_id uuid DEFAULT NULL,
									description text DEFAULT NULL, removable boolean DEFAULT true)
	RETURNS uuid
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_id uuid;
	v_team teamacl.teams;
BEGIN
	IF name IS NULL OR name !~ '^[a-z][a-z0-9_]{0,62}$' THEN
		RAISE EXCEPTION 'invalid role name "%"', left(name, 128)
			USING ERRCODE = '22023',
				  DETAIL = 'A role name is a lower-case word (letters, digits, underscores), at most 63 characters.';
	END IF;
	IF removable IS NULL THEN
		RAISE EXCEPTION 'removable must not be null' USING ERRCODE = '22004';
	END IF;
	IF length(description) > 1000 THEN
		RAISE EXCEPTION 'description is too long' USING ERRCODE = '22023',
			DETAIL = 'A description has at most 1000 characters.';
	END IF;
	PERFORM teamacl_internal._check_permissions(permissions);
	IF team_id IS NULL THEN
		PERFORM teamacl_internal._catalog_admin();
		LOCK TABLE teamacl.roles IN SHARE ROW EXCLUSIVE MODE;
		IF EXISTS (SELECT 1 FROM teamacl.roles r WHERE r.name OPERATOR(pg_catalog.=) create_role.name) THEN
			RAISE EXCEPTION 'role "%" already exists', name USING ERRCODE = '42710';
		END IF;
	ELSE
		v_team := teamacl_internal._lock_team(team_id, 'team.update');
		IF v_team.personal THEN
			RAISE EXCEPTION 'a personal account cannot have custom roles' USING ERRCODE = '22023';
		END IF;
		PERFORM teamacl_internal._check_grantable(team_id, permissions, format('create role "%s"', name));
		IF EXISTS (SELECT 1 FROM teamacl.roles r WHERE r.name OPERATOR(pg_catalog.=) create_role.name
					AND (r.team_id IS NULL OR r.team_id OPERATOR(pg_catalog.=) create_role.team_id)) THEN
			RAISE EXCEPTION 'role "%" already exists', name USING ERRCODE = '42710';
		END IF;
	END IF;
	INSERT INTO teamacl.roles (name, team_id, description, removable)
	VALUES (name, team_id, description, removable)
	RETURNING id INTO v_id;
	INSERT INTO teamacl.role_permissions (role_id, permission)
	SELECT DISTINCT v_id, p FROM unnest(permissions) AS p;
	RETURN v_id;
END
$$;
COMMENT ON FUNCTION teamacl.create_role(text, text[], uuid, text, boolean) IS
	'Create a role: global (catalogue managers only) or custom to a team (needs team.update and every permission it grants)';

CREATE FUNCTION teamacl.drop_role(name text, team_id uuid DEFAULT NULL) RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_role teamacl.roles;
	v_users bigint;
BEGIN
	IF team_id IS NULL THEN
		PERFORM teamacl_internal._catalog_admin();
	ELSE
		PERFORM teamacl_internal._lock_team(team_id, 'team.update');
	END IF;
	SELECT * INTO v_role FROM teamacl.roles r
	 WHERE r.name OPERATOR(pg_catalog.=) drop_role.name
	   AND r.team_id IS NOT DISTINCT FROM drop_role.team_id
	 FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'role "%" does not exist', left(name, 128) USING ERRCODE = '42704';
	END IF;
	IF v_role.builtin THEN
		RAISE EXCEPTION 'cannot drop built-in role "%"', name USING ERRCODE = '42501';
	END IF;
	SELECT count(*) INTO v_users FROM teamacl.members m WHERE m.role_id OPERATOR(pg_catalog.=) v_role.id;
	IF v_users > 0 THEN
		RAISE EXCEPTION 'role "%" is in use', name
			USING ERRCODE = '55006',
				  DETAIL = format('%s members hold it.', v_users),
				  HINT = 'Change their roles first.';
	END IF;
	DELETE FROM teamacl.roles r WHERE r.id OPERATOR(pg_catalog.=) v_role.id;
END
$$;
COMMENT ON FUNCTION teamacl.drop_role(text, uuid) IS 'Drop a role no member holds: global (catalogue managers) or a team''s (needs team.update)';
