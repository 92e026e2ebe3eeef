-- sql/src/teams.sql
--
-- Teams and personal accounts: creating, deleting, switching, plans and
-- team settings.

CREATE FUNCTION teamacl.create_team(name text, plan text DEFAULT 'free') RETURNS uuid
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_me uuid := teamacl_internal._me();
	v_max integer := teamacl_internal._setting('teamacl.max_owned_teams')::integer;
	v_owned bigint;
	v_team uuid;
BEGIN
	IF name IS NULL OR length(btrim(name)) NOT BETWEEN 1 AND 200 THEN
		RAISE EXCEPTION 'invalid team name' USING ERRCODE = '22023',
			DETAIL = 'A team name has 1 to 200 characters.';
	END IF;
	IF plan IS NULL OR NOT EXISTS (SELECT 1 FROM teamacl.plans p WHERE p.name OPERATOR(pg_catalog.=) create_team.plan) THEN
		RAISE EXCEPTION 'plan "%" does not exist', left(plan, 64) USING ERRCODE = '42704';
	END IF;
	-- serialise team creation per user so the cap cannot be raced past
	PERFORM 1 FROM teamacl.users u WHERE u.id OPERATOR(pg_catalog.=) v_me FOR UPDATE;
	IF v_max >= 0 THEN
		SELECT count(*) INTO v_owned FROM teamacl.members m JOIN teamacl.teams t ON t.id OPERATOR(pg_catalog.=) m.team_id
		 WHERE m.user_id OPERATOR(pg_catalog.=) v_me AND NOT t.personal
		   AND m.role_id OPERATOR(pg_catalog.=) '00000000-0000-4000-a000-000000000001'::uuid;
		IF v_owned >= v_max THEN
			RAISE EXCEPTION 'user % already owns % teams', v_me, v_owned
				USING ERRCODE = '53400',
					  DETAIL = format('teamacl.max_owned_teams is %s; the personal account is not counted.', v_max),
					  HINT = 'Delete or transfer a team you own, or ask the administrator to raise teamacl.max_owned_teams.';
		END IF;
	END IF;
	INSERT INTO teamacl.teams (name, plan, created_by) VALUES (btrim(name), plan, v_me)
	RETURNING id INTO v_team;
	INSERT INTO teamacl.members (team_id, user_id, role_id, added_by)
	VALUES (v_team, v_me, '00000000-0000-4000-a000-000000000001', v_me);
	RETURN v_team;
END
$$;
COMMENT ON FUNCTION teamacl.create_team(text, text) IS 'Create a team; the caller becomes its owner (capped by teamacl.max_owned_teams)';

CREATE FUNCTION teamacl.delete_team(team_id uuid) RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_team teamacl.teams := teamacl_internal._lock_team(team_id, 'team.delete');
	v_rec record;
	v_count bigint;
	v_holders text[] := '{}';
BEGIN
	IF v_team.personal THEN
		RAISE EXCEPTION 'cannot delete a personal account' USING ERRCODE = '22023',
			DETAIL = 'A personal account lives as long as its user.';
	END IF;
	-- SHARE locks stop inserts into protected tables until we commit
	FOR v_rec IN SELECT p.tbl, p.team_column FROM teamacl.protected_tables p ORDER BY p.tbl::oid LOOP
		EXECUTE format('LOCK TABLE %s IN SHARE MODE', v_rec.tbl);
		EXECUTE format('SELECT count(*) FROM %s WHERE %I OPERATOR(pg_catalog.=) $1', v_rec.tbl, v_rec.team_column)
			INTO v_count USING team_id;
		IF v_count > 0 THEN
			v_holders := v_holders || format('%s holds %s rows', v_rec.tbl, v_count);
		END IF;
	END LOOP;
	IF cardinality(v_holders) > 0 THEN
		RAISE EXCEPTION 'team % still has resources', team_id
			USING ERRCODE = '55006',
				  DETAIL = format('Protected tables still holding rows of this team: %s.', array_to_string(v_holders, '; ')),
				  HINT = 'Delete the team''s rows first.';
	END IF;
	DELETE FROM teamacl.teams t WHERE t.id OPERATOR(pg_catalog.=) delete_team.team_id;
END
$$;
COMMENT ON FUNCTION teamacl.delete_team(uuid) IS 'Delete a team (needs team.delete); refused while protected tables hold its rows';

CREATE FUNCTION teamacl.personal_team() RETURNS uuid
	LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT t.id FROM teamacl.teams t WHERE t.personal_owner OPERATOR(pg_catalog.=) teamacl.current_user_id();
END;
COMMENT ON FUNCTION teamacl.personal_team() IS 'The current user''s personal account';

-- SECURITY DEFINER: users.current_team_id is not granted to anyone, and
-- the function reads only the identified user's own row.
CREATE FUNCTION teamacl.current_team() RETURNS uuid
	LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT COALESCE(
		(SELECT u.current_team_id FROM teamacl.users u
		  WHERE u.id OPERATOR(pg_catalog.=) teamacl.current_user_id()
			AND EXISTS (SELECT 1 FROM teamacl.members m
						 WHERE m.team_id OPERATOR(pg_catalog.=) u.current_team_id
						   AND m.user_id OPERATOR(pg_catalog.=) u.id)),
		teamacl.personal_team());
END;
COMMENT ON FUNCTION teamacl.current_team() IS 'The team the current user switched to, else their personal account';

CREATE FUNCTION teamacl.switch_team(team_id uuid) RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_me uuid := teamacl_internal._me();
BEGIN
	PERFORM teamacl.require(team_id, 'team.read');
	UPDATE teamacl.users u SET current_team_id = switch_team.team_id WHERE u.id OPERATOR(pg_catalog.=) v_me;
END
$$;
COMMENT ON FUNCTION teamacl.switch_team(uuid) IS 'Make a team the current user''s current team (kept per user, across sessions)';

CREATE FUNCTION teamacl.set_plan(team_id uuid, plan text) RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_team teamacl.teams := teamacl_internal._lock_team(team_id, 'billing.manage');
	v_limit integer;
	v_used bigint := teamacl.seats_used(team_id);
BEGIN
	IF v_team.personal THEN
		RAISE EXCEPTION 'a personal account has no plan to change' USING ERRCODE = '22023';
	END IF;
	SELECT p.seat_limit INTO v_limit FROM teamacl.plans p WHERE p.name OPERATOR(pg_catalog.=) set_plan.plan;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'plan "%" does not exist', left(plan, 64) USING ERRCODE = '42704';
	END IF;
	IF v_limit IS NOT NULL AND v_used > v_limit THEN
		RAISE EXCEPTION 'team % uses more seats than plan "%" allows', team_id, plan
			USING ERRCODE = '55000',
				  DETAIL = format('The team uses %s seats; plan "%s" allows %s.', v_used, plan, v_limit),
				  HINT = 'Remove members or revoke invitations first.';
	END IF;
	UPDATE teamacl.teams t SET plan = set_plan.plan WHERE t.id OPERATOR(pg_catalog.=) set_plan.team_id;
END
$$;
COMMENT ON FUNCTION teamacl.set_plan(uuid, text) IS 'Change a team''s plan (needs billing.manage); refused when the team uses more seats than the plan allows';

CREATE FUNCTION teamacl.update_team(team_id uuid, name text DEFAULT NULL,
									require_secure_sign_in boolean DEFAULT NULL,
									invitation_validity interval DEFAULT NULL,
									auto_add_registered boolean DEFAULT NULL,
									settings jsonb DEFAULT NULL)
	RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_team teamacl.teams := teamacl_internal._lock_team(team_id, 'team.update');
BEGIN
	IF name IS NOT NULL AND length(btrim(name)) NOT BETWEEN 1 AND 200 THEN
		RAISE EXCEPTION 'invalid team name' USING ERRCODE = '22023',
			DETAIL = 'A team name has 1 to 200 characters.';
	END IF;
	IF invitation_validity IS NOT NULL AND (invitation_validity <= '0'::interval OR invitation_validity > '365 days'::interval) THEN
		RAISE EXCEPTION 'invalid invitation validity' USING ERRCODE = '22023',
			DETAIL = 'An invitation is valid for more than zero and at most 365 days.';
	END IF;
	IF settings IS NOT NULL AND jsonb_typeof(settings) <> 'object' THEN
		RAISE EXCEPTION 'team settings must be a JSON object' USING ERRCODE = '22023';
	END IF;
	UPDATE teamacl.teams t
	   SET name = COALESCE(btrim(update_team.name), t.name),
		   require_secure_sign_in = COALESCE(update_team.require_secure_sign_in, t.require_secure_sign_in),
		   invitation_validity = COALESCE(update_team.invitation_validity, t.invitation_validity),
		   auto_add_registered = COALESCE(update_team.auto_add_registered, t.auto_add_registered),
		   settings = COALESCE(update_team.settings, t.settings)
	 WHERE t.id OPERATOR(pg_catalog.=) update_team.team_id;
END
$$;
COMMENT ON FUNCTION teamacl.update_team(uuid, text, boolean, interval, boolean, jsonb) IS
	'Change a team''s name and settings (needs team.update); NULL leaves a setting as it is';
