-- sql/src/passwords.sql
--
-- Members created directly with a password (bcrypt through pgcrypto)
-- and password sign-in.

CREATE FUNCTION teamacl_internal._crypt(password text, salt text) RETURNS text
	LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_nsp name;
	v_result text;
BEGIN
	SELECT n.nspname INTO STRICT v_nsp FROM pg_extension e JOIN pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
	 WHERE e.extname OPERATOR(pg_catalog.=) 'pgcrypto';
	IF salt IS NULL THEN
		EXECUTE format('SELECT %1$I.crypt($1, %1$I.gen_salt(''bf'', $2))', v_nsp)
			INTO v_result USING password, teamacl_internal._setting('teamacl.password_bcrypt_cost')::integer;
	ELSE
		EXECUTE format('SELECT %I.crypt($1, $2)', v_nsp) INTO v_result USING password, salt;
	END IF;
	RETURN v_result;
END
$$;
COMMENT ON FUNCTION teamacl_internal._crypt(text, text) IS 'Internal: pgcrypto crypt() with a new bcrypt salt (salt NULL) or against a stored hash';

CREATE FUNCTION teamacl_internal._check_password(password text) RETURNS void
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_min integer := teamacl_internal._setting('teamacl.password_min_length')::integer;
	v_mixed boolean := teamacl_internal._setting('teamacl.password_require_mix')::boolean;
BEGIN
	IF password IS NULL OR length(password) < v_min OR octet_length(password) > 72
	   OR (v_mixed AND NOT (password ~ '[[:alpha:]]' AND password ~ '[[:digit:]]' AND password ~ '[^[:alnum:]]')) THEN
		RAISE EXCEPTION 'password is too weak'
			USING ERRCODE = '22023',
				  DETAIL = format('A password has at least %s characters, at most 72 bytes%s.', v_min,
								  CASE WHEN v_mixed THEN ' and mixes letters, digits and special characters' ELSE '' END);
	END IF;
END
$$;
COMMENT ON FUNCTION teamacl_internal._check_password(text) IS 'Internal: raise 22023 unless the password meets the strength rule (never echoing it)';

CREATE FUNCTION teamacl.create_member(team_id uuid, email text, display_name text, password text, role text)
	RETURNS uuid
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_me uuid := teamacl_internal._me();
	v_team teamacl.teams := teamacl_internal._lock_team(team_id, 'members.invite');
	v_role teamacl.roles := teamacl_internal._find_role(team_id, role);
	v_user uuid;
BEGIN
	PERFORM teamacl_internal._check_new_member(v_team, v_role, 'create_member');
	PERFORM teamacl_internal._check_password(password);
	PERFORM teamacl_internal._check_not_member(team_id, teamacl_internal._check_email(email));
	PERFORM teamacl_internal._check_seats(v_team, 1);
	v_user := teamacl_internal._register(email, display_name, NULL, teamacl_internal._crypt(password, NULL));
	INSERT INTO teamacl.members (team_id, user_id, role_id, added_by) VALUES (team_id, v_user, v_role.id, v_me);
	PERFORM teamacl_internal._emit('member.created', team_id,
						  jsonb_build_object('team_id', team_id, 'user_id', v_user, 'email', teamacl.normalize_email(email),
											 'role', v_role.name, 'added_by', v_me));
	RETURN v_user;
END
$$;
COMMENT ON FUNCTION teamacl.create_member(uuid, text, text, text, text) IS
	'Create a user account with a password and add it to the team (needs members.invite); the password is stored only as a bcrypt hash';

CREATE FUNCTION teamacl.set_password(password text) RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_me uuid := teamacl_internal._me();
BEGIN
	PERFORM teamacl_internal._check_password(password);
	UPDATE teamacl.users u SET password_hash = teamacl_internal._crypt(password, NULL)
	 WHERE u.id OPERATOR(pg_catalog.=) v_me;
	INSERT INTO teamacl.audit_log (actor, db_role, action, target)
	VALUES (v_me, session_user, 'user.password_changed', v_me::text);
END
$$;
COMMENT ON FUNCTION teamacl.set_password(text) IS 'Set the identified user''s password (bcrypt via pgcrypto)';

CREATE FUNCTION teamacl.authenticate(email text, password text) RETURNS uuid
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_user teamacl.users;
BEGIN
	SELECT * INTO v_user FROM teamacl.users u
	 WHERE u.email OPERATOR(pg_catalog.=) teamacl.normalize_email(authenticate.email) AND u.registered;
	IF v_user.password_hash IS NULL THEN
		-- hash anyway, so the time taken does not tell whether the email exists
		PERFORM teamacl_internal._crypt(COALESCE(password, ''), NULL);
	ELSIF teamacl_internal._crypt(COALESCE(password, ''), v_user.password_hash) OPERATOR(pg_catalog.=) v_user.password_hash THEN
		RETURN v_user.id;
	END IF;
	RAISE EXCEPTION 'invalid email or password' USING ERRCODE = '28P01';
END
$$;
COMMENT ON FUNCTION teamacl.authenticate(text, text) IS
	'The user with this email and password, or raise 28P01; grant EXECUTE only to the authentication service';
REVOKE ALL ON FUNCTION teamacl.authenticate(text, text) FROM PUBLIC;
