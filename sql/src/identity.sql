-- sql/src/identity.sql
--
-- Who is asking: the internal identity helpers, signing users up and
-- mapping login roles (the C side is src/identity.c).

-- teamacl's settings exist once its library is loaded: load it first.
CREATE FUNCTION teamacl_internal._setting(name text) RETURNS text
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	PERFORM teamacl_internal._outer_role();
	RETURN current_setting(name);
END
$$;
COMMENT ON FUNCTION teamacl_internal._setting(text) IS 'Internal: the value of a teamacl setting, loading the library if needed';

CREATE FUNCTION teamacl_internal._me() RETURNS uuid
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_user uuid := teamacl.current_user_id();
BEGIN
	IF v_user IS NULL THEN
		RAISE EXCEPTION 'no teamacl user is identified'
			USING ERRCODE = '42501',
				  DETAIL = 'This function acts on behalf of an end user.',
				  HINT = 'Call teamacl.set_user() or map the login role with teamacl.register_user(db_role => ...).';
	END IF;
	RETURN v_user;
END
$$;
COMMENT ON FUNCTION teamacl_internal._me() IS 'Internal: the identified user, or raise 42501';

CREATE FUNCTION teamacl_internal._check_email(email text) RETURNS text
	LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_email text := teamacl.normalize_email(email);
BEGIN
	IF v_email IS NULL OR v_email !~ '^[^@[:space:]]+@[^@[:space:]]+$'
	   OR length(v_email) > 254 THEN
		RAISE EXCEPTION 'invalid email address'
			USING ERRCODE = '22023',
				  DETAIL = 'An email address needs one @ with text on both sides, no spaces, at most 254 characters.';
	END IF;
	RETURN v_email;
END
$$;
COMMENT ON FUNCTION teamacl_internal._check_email(text) IS 'Internal: validate and normalise an email address, or raise 22023';

CREATE FUNCTION teamacl_internal._find_or_add_user(email text) RETURNS uuid
	LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_email text := teamacl_internal._check_email(email);
	v_id uuid;
BEGIN
	INSERT INTO teamacl.users (email, registered) VALUES (v_email, false)
	ON CONFLICT ON CONSTRAINT users_email_key DO NOTHING
	RETURNING id INTO v_id;
	IF v_id IS NULL THEN
		SELECT u.id INTO STRICT v_id FROM teamacl.users u WHERE u.email OPERATOR(pg_catalog.=) v_email;
	END IF;
	RETURN v_id;
END
$$;
COMMENT ON FUNCTION teamacl_internal._find_or_add_user(text) IS 'Internal: the user with that email, adding a placeholder when none has signed up';

CREATE FUNCTION teamacl_internal._register(email text, display_name text, db_role name, password_hash text,
								  user_id uuid DEFAULT NULL)
	RETURNS uuid
	LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_email text := teamacl_internal._check_email(email);
	v_user teamacl.users;
	v_team uuid;
BEGIN
	IF length(display_name) > 200 THEN
		RAISE EXCEPTION 'display name is too long' USING ERRCODE = '22023',
			DETAIL = 'A display name has at most 200 characters.';
	END IF;
	IF db_role IS NOT NULL THEN
		IF NOT EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) db_role) THEN
			RAISE EXCEPTION 'role "%" does not exist', db_role USING ERRCODE = '42704';
		END IF;
		IF EXISTS (SELECT 1 FROM teamacl.users u WHERE u.db_role OPERATOR(pg_catalog.=) _register.db_role) THEN
			RAISE EXCEPTION 'role "%" is already mapped to a teamacl user', db_role USING ERRCODE = '23505';
		END IF;
	END IF;

	IF user_id IS NOT NULL AND EXISTS (SELECT 1 FROM teamacl.users u WHERE u.id OPERATOR(pg_catalog.=) _register.user_id
										AND u.email OPERATOR(pg_catalog.<>) v_email) THEN
		RAISE EXCEPTION 'user id % is already taken', user_id USING ERRCODE = '23505';
	END IF;
	-- a placeholder added by email is claimed, not duplicated
	INSERT INTO teamacl.users (id, email, registered) VALUES (COALESCE(user_id, gen_random_uuid()), v_email, false)
	ON CONFLICT ON CONSTRAINT users_email_key DO NOTHING;
	SELECT * INTO STRICT v_user FROM teamacl.users u
	 WHERE u.email OPERATOR(pg_catalog.=) v_email FOR UPDATE;
	IF v_user.registered THEN
		RAISE EXCEPTION 'a user with email "%" is already registered', v_email
			USING ERRCODE = '23505';
	END IF;
	IF user_id IS NOT NULL AND v_user.id OPERATOR(pg_catalog.<>) user_id THEN
		RAISE EXCEPTION 'email "%" was added to teams before under another user id', v_email
			USING ERRCODE = '23505',
				  HINT = 'Register without an explicit user id to claim it.';
	END IF;
	UPDATE teamacl.users u
	   SET registered = true,
		   display_name = COALESCE(_register.display_name, u.display_name),
		   db_role = _register.db_role,
		   password_hash = _register.password_hash,
		   sign_in_method = CASE WHEN _register.password_hash IS NOT NULL THEN 'password' ELSE u.sign_in_method END
	 WHERE u.id OPERATOR(pg_catalog.=) v_user.id;

	INSERT INTO teamacl.teams (name, personal, personal_owner, plan, created_by)
	VALUES (left(COALESCE(_register.display_name, v_email), 180) || ' (personal)', true, v_user.id, 'free', v_user.id)
	RETURNING id INTO v_team;
	INSERT INTO teamacl.members (team_id, user_id, role_id, added_by)
	VALUES (v_team, v_user.id, '00000000-0000-4000-a000-000000000001', v_user.id);
	RETURN v_user.id;
END
$$;
COMMENT ON FUNCTION teamacl_internal._register(text, text, name, text, uuid) IS
	'Internal: sign a user up (claiming a placeholder), create the personal account';

CREATE FUNCTION teamacl.register_user(email text, display_name text DEFAULT NULL, db_role name DEFAULT NULL,
									  user_id uuid DEFAULT NULL)
	RETURNS uuid
	LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
	RETURN teamacl_internal._register(email, display_name, db_role, NULL, user_id);
COMMENT ON FUNCTION teamacl.register_user(text, text, name, uuid) IS
	'Sign a user up (claiming a placeholder with the same email) and create their personal account; optionally map a login role, or choose the id (e.g. Supabase auth.users.id)';
REVOKE ALL ON FUNCTION teamacl.register_user(text, text, name, uuid) FROM PUBLIC;

CREATE FUNCTION teamacl.set_sign_in_method(user_id uuid, method text) RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF method IS NULL OR method NOT IN ('password', 'password_2fa', 'google', 'github', 'sso') THEN
		RAISE EXCEPTION 'invalid sign-in method "%"', left(method, 64)
			USING ERRCODE = '22023',
				  HINT = 'Use one of password, password_2fa, google, github, sso.';
	END IF;
	UPDATE teamacl.users u SET sign_in_method = method
	 WHERE u.id OPERATOR(pg_catalog.=) set_sign_in_method.user_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'user % does not exist', user_id USING ERRCODE = '42704';
	END IF;
END
$$;
COMMENT ON FUNCTION teamacl.set_sign_in_method(uuid, text) IS
	'Record how a user signs in (the authentication service calls this); grant EXECUTE only to that service';
REVOKE ALL ON FUNCTION teamacl.set_sign_in_method(uuid, text) FROM PUBLIC;
