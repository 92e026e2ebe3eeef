-- sql/src/invitations.sql
--
-- Invitations by email and seat accounting: invite, accept, decline,
-- resend, revoke, and the plan's seat limit.

CREATE FUNCTION teamacl_internal._check_seats(team teamacl.teams, adding integer) RETURNS void
	LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_limit integer;
	v_used bigint;
BEGIN
	SELECT p.seat_limit INTO v_limit FROM teamacl.plans p WHERE p.name OPERATOR(pg_catalog.=) team.plan;
	IF v_limit IS NULL THEN
		RETURN;
	END IF;
	v_used := teamacl.seats_used(team.id);
	IF v_used + adding > v_limit THEN
		RAISE EXCEPTION 'team % has no free seat', team.id
			USING ERRCODE = '53400',
				  DETAIL = format('Plan "%s" allows %s seats and %s are used (members and pending invitations).', team.plan, v_limit, v_used),
				  HINT = 'Upgrade the plan with teamacl.set_plan(), or remove members or revoke invitations to free seats.';
	END IF;
END
$$;
COMMENT ON FUNCTION teamacl_internal._check_seats(teamacl.teams, integer) IS 'Internal: raise 53400 when adding would exceed the plan''s seat limit; call with the team row locked';

CREATE FUNCTION teamacl.seats_used(team_id uuid) RETURNS bigint
	LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT (SELECT count(*) FROM teamacl.members m WHERE m.team_id OPERATOR(pg_catalog.=) seats_used.team_id)
		 + (SELECT count(*) FROM teamacl.invitations i
			 WHERE i.team_id OPERATOR(pg_catalog.=) seats_used.team_id
			   AND i.status OPERATOR(pg_catalog.=) 'pending'
			   AND i.expires_at OPERATOR(pg_catalog.>) pg_catalog.now());
END;
COMMENT ON FUNCTION teamacl.seats_used(uuid) IS 'Seats a team uses: its members and its pending, unexpired invitations';

CREATE FUNCTION teamacl_internal._secure_sign_in(user_id uuid) RETURNS boolean
	LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
	SELECT COALESCE((SELECT u.sign_in_method IN ('password_2fa', 'google', 'github', 'sso')
					   FROM teamacl.users u WHERE u.id OPERATOR(pg_catalog.=) _secure_sign_in.user_id), false);
END;
COMMENT ON FUNCTION teamacl_internal._secure_sign_in(uuid) IS 'Internal: whether the user signs in with two factors or a federated identity';

CREATE FUNCTION teamacl.invite(team_id uuid, email text, role text DEFAULT 'member', valid_for interval DEFAULT NULL)
	RETURNS text
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_me uuid := teamacl_internal._me();
	v_team teamacl.teams := teamacl_internal._lock_team(team_id, 'members.invite');
	v_role teamacl.roles := teamacl_internal._find_role(team_id, role);
	v_email text := teamacl_internal._check_email(email);
	v_user teamacl.users;
	v_valid interval;
	v_token text;
	v_id uuid;
BEGIN
	PERFORM teamacl_internal._check_new_member(v_team, v_role, 'invitation');
	v_valid := COALESCE(valid_for, v_team.invitation_validity,
						teamacl_internal._setting('teamacl.invitation_validity')::interval);
	IF v_valid <= '0'::interval OR v_valid > '365 days'::interval THEN
		RAISE EXCEPTION 'invalid invitation validity' USING ERRCODE = '22023',
			DETAIL = 'An invitation is valid for more than zero and at most 365 days.';
	END IF;
	SELECT * INTO v_user FROM teamacl.users u WHERE u.email OPERATOR(pg_catalog.=) v_email;
	PERFORM teamacl_internal._check_not_member(team_id, v_email);
	-- an expired pending invitation gives way to the new one
	UPDATE teamacl.invitations i SET status = 'expired'
	 WHERE i.team_id OPERATOR(pg_catalog.=) invite.team_id AND i.email OPERATOR(pg_catalog.=) v_email
	   AND i.status OPERATOR(pg_catalog.=) 'pending' AND i.expires_at OPERATOR(pg_catalog.<=) now();
	IF EXISTS (SELECT 1 FROM teamacl.invitations i WHERE i.team_id OPERATOR(pg_catalog.=) invite.team_id
				AND i.email OPERATOR(pg_catalog.=) v_email AND i.status OPERATOR(pg_catalog.=) 'pending') THEN
		RAISE EXCEPTION 'an invitation for "%" is already pending in team %', v_email, team_id
			USING ERRCODE = '23505',
				  HINT = 'Use teamacl.resend_invitation() to send it again.';
	END IF;
	PERFORM teamacl_internal._check_seats(v_team, 1);

	-- the Upmetr rule: registered users are added at once when the team says so
	IF v_team.auto_add_registered AND v_user.registered THEN
		INSERT INTO teamacl.members (team_id, user_id, role_id, added_by) VALUES (team_id, v_user.id, v_role.id, v_me);
		PERFORM teamacl_internal._emit('member.added', team_id,
							  jsonb_build_object('team_id', team_id, 'user_id', v_user.id, 'email', v_email,
												 'role', v_role.name, 'added_by', v_me));
		RETURN NULL;
	END IF;

	v_token := teamacl_internal._generate_token('tacl_inv_');
	INSERT INTO teamacl.invitations (team_id, email, role_id, role_name, token_hash, valid_for, invited_by, expires_at)
	VALUES (team_id, v_email, v_role.id, v_role.name, teamacl_internal._hash_token(v_token), v_valid, v_me, now() + v_valid)
	RETURNING id INTO v_id;
	PERFORM teamacl_internal._emit('invitation.created', team_id,
						  jsonb_build_object('invitation_id', v_id, 'team_id', team_id, 'team_name', v_team.name,
											 'email', v_email, 'role', v_role.name, 'invited_by', v_me,
											 'expires_at', now() + v_valid));
	RETURN v_token;
END
$$;
COMMENT ON FUNCTION teamacl.invite(uuid, text, text, interval) IS
	'Invite an email to a team (needs members.invite); returns the token, shown once (NULL when a registered user was added at once)';

CREATE FUNCTION teamacl.invitation_info(token text,
	OUT team_id uuid, OUT team_name text, OUT role text, OUT email text,
	OUT invited_by uuid, OUT expires_at timestamptz, OUT status text)
	RETURNS record
	LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_inv teamacl.invitations;
BEGIN
	SELECT * INTO v_inv FROM teamacl.invitations i
	 WHERE i.token_hash OPERATOR(pg_catalog.=) teamacl_internal._hash_token(COALESCE(token, ''));
	IF NOT FOUND THEN
		PERFORM teamacl_internal._bad_token('invitation');
	END IF;
	team_id := v_inv.team_id;
	SELECT t.name INTO team_name FROM teamacl.teams t WHERE t.id OPERATOR(pg_catalog.=) v_inv.team_id;
	role := v_inv.role_name;
	email := v_inv.email;
	invited_by := v_inv.invited_by;
	expires_at := v_inv.expires_at;
	status := CASE WHEN v_inv.status = 'pending' AND v_inv.expires_at <= now() THEN 'expired' ELSE v_inv.status END;
END
$$;
COMMENT ON FUNCTION teamacl.invitation_info(text) IS
	'What an invitation token is for, without using it up (for link previews)';

-- Find a usable invitation by token, with its team row locked first (the
-- lock order of every membership change: team, then invitation).
CREATE FUNCTION teamacl_internal._usable_invitation(token text) RETURNS teamacl.invitations
	LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_hash bytea := teamacl_internal._hash_token(COALESCE(token, ''));
	v_inv teamacl.invitations;
BEGIN
	SELECT * INTO v_inv FROM teamacl.invitations i WHERE i.token_hash OPERATOR(pg_catalog.=) v_hash;
	IF FOUND THEN
		PERFORM 1 FROM teamacl.teams t WHERE t.id OPERATOR(pg_catalog.=) v_inv.team_id FOR UPDATE;
		SELECT * INTO v_inv FROM teamacl.invitations i WHERE i.token_hash OPERATOR(pg_catalog.=) v_hash FOR UPDATE;
	END IF;
	IF v_inv.id IS NULL OR v_inv.status <> 'pending' OR v_inv.expires_at <= now() THEN
		PERFORM teamacl_internal._bad_token('invitation');
	END IF;
	RETURN v_inv;
END
$$;
COMMENT ON FUNCTION teamacl_internal._usable_invitation(text) IS 'Internal: lock the team and the pending invitation of a token, or raise the uniform token error';

CREATE FUNCTION teamacl.accept_invitation(token text) RETURNS uuid
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_me uuid := teamacl_internal._me();
	v_inv teamacl.invitations := teamacl_internal._usable_invitation(token);
	v_team teamacl.teams;
	v_email text;
	v_inviter_perms text[];
BEGIN
	SELECT u.email INTO v_email FROM teamacl.users u WHERE u.id OPERATOR(pg_catalog.=) v_me;
	IF v_email IS DISTINCT FROM v_inv.email THEN
		RAISE EXCEPTION 'this invitation was sent to another email address'
			USING ERRCODE = '42501',
				  HINT = 'Sign in with the invited email address to accept it.';
	END IF;
	SELECT * INTO v_team FROM teamacl.teams t WHERE t.id OPERATOR(pg_catalog.=) v_inv.team_id;
	-- invited, then added directly meanwhile: nothing more to do
	IF EXISTS (SELECT 1 FROM teamacl.members m WHERE m.team_id OPERATOR(pg_catalog.=) v_inv.team_id
				AND m.user_id OPERATOR(pg_catalog.=) v_me) THEN
		UPDATE teamacl.invitations i SET status = 'accepted', responded_at = now(), responded_by = v_me
		 WHERE i.id OPERATOR(pg_catalog.=) v_inv.id;
		RETURN v_inv.team_id;
	END IF;
	-- the inviter must still be able to grant the role
	SELECT teamacl_internal._role_permissions(m.role_id) INTO v_inviter_perms FROM teamacl.members m
	 WHERE m.team_id OPERATOR(pg_catalog.=) v_inv.team_id AND m.user_id OPERATOR(pg_catalog.=) v_inv.invited_by;
	IF v_inv.role_id IS NULL OR v_inviter_perms IS NULL
	   OR NOT v_inviter_perms @> ARRAY['members.invite']
	   OR NOT v_inviter_perms @> teamacl_internal._role_permissions(v_inv.role_id) THEN
		RAISE EXCEPTION 'the invitation can no longer be accepted'
			USING ERRCODE = '42501',
				  DETAIL = 'The person who sent it can no longer grant that role, or the role was dropped.',
				  HINT = 'Ask the team for a new invitation.';
	END IF;
	IF v_team.require_secure_sign_in AND NOT teamacl_internal._secure_sign_in(v_me) THEN
		RAISE EXCEPTION 'team requires secure sign-in'
			USING ERRCODE = '42501',
				  DETAIL = 'Members of this team must sign in with two factors or a federated identity (Google, GitHub, SSO).',
				  HINT = 'Turn on two-factor sign-in, then accept the invitation again.';
	END IF;
	PERFORM teamacl_internal._check_seats(v_team, 0);
	INSERT INTO teamacl.members (team_id, user_id, role_id, added_by)
	VALUES (v_inv.team_id, v_me, v_inv.role_id, v_inv.invited_by);
	UPDATE teamacl.invitations i SET status = 'accepted', responded_at = now(), responded_by = v_me
	 WHERE i.id OPERATOR(pg_catalog.=) v_inv.id;
	PERFORM teamacl_internal._emit('invitation.accepted', v_inv.team_id,
						  jsonb_build_object('invitation_id', v_inv.id, 'team_id', v_inv.team_id, 'user_id', v_me,
											 'email', v_inv.email, 'role', v_inv.role_name));
	RETURN v_inv.team_id;
END
$$;
COMMENT ON FUNCTION teamacl.accept_invitation(text) IS
	'Join the team an invitation token is for; the identified user''s email must be the invited one';

CREATE FUNCTION teamacl.decline_invitation(token text) RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_me uuid := teamacl_internal._me();
	v_inv teamacl.invitations := teamacl_internal._usable_invitation(token);
BEGIN
	IF NOT EXISTS (SELECT 1 FROM teamacl.users u WHERE u.id OPERATOR(pg_catalog.=) v_me
					AND u.email OPERATOR(pg_catalog.=) v_inv.email) THEN
		RAISE EXCEPTION 'this invitation was sent to another email address' USING ERRCODE = '42501';
	END IF;
	UPDATE teamacl.invitations i SET status = 'declined', responded_at = now(), responded_by = v_me
	 WHERE i.id OPERATOR(pg_catalog.=) v_inv.id;
	PERFORM teamacl_internal._emit('invitation.declined', v_inv.team_id,
						  jsonb_build_object('invitation_id', v_inv.id, 'team_id', v_inv.team_id, 'email', v_inv.email));
END
$$;
COMMENT ON FUNCTION teamacl.decline_invitation(text) IS 'Decline an invitation addressed to the identified user';

CREATE FUNCTION teamacl_internal._managed_invitation(invitation_id uuid) RETURNS teamacl.invitations
	LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_team uuid;
	v_inv teamacl.invitations;
BEGIN
	SELECT i.team_id INTO v_team FROM teamacl.invitations i WHERE i.id OPERATOR(pg_catalog.=) invitation_id;
	IF NOT FOUND OR NOT teamacl.has_permission(v_team, 'team.read') THEN
		RAISE EXCEPTION 'invitation % does not exist', invitation_id USING ERRCODE = '42704';
	END IF;
	PERFORM teamacl_internal._lock_team(v_team, 'members.invite');
	SELECT * INTO v_inv FROM teamacl.invitations i WHERE i.id OPERATOR(pg_catalog.=) invitation_id FOR UPDATE;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'invitation % does not exist', invitation_id USING ERRCODE = '42704';
	END IF;
	RETURN v_inv;
END
$$;
COMMENT ON FUNCTION teamacl_internal._managed_invitation(uuid) IS 'Internal: lock an invitation the caller may manage (members.invite), or raise';

CREATE FUNCTION teamacl.resend_invitation(invitation_id uuid) RETURNS text
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_inv teamacl.invitations := teamacl_internal._managed_invitation(invitation_id);
	v_team teamacl.teams;
	v_token text := teamacl_internal._generate_token('tacl_inv_');
	v_expired boolean := v_inv.status = 'expired' OR (v_inv.status = 'pending' AND v_inv.expires_at <= now());
BEGIN
	IF v_inv.status NOT IN ('pending', 'expired') THEN
		RAISE EXCEPTION 'only pending or expired invitations can be resent'
			USING ERRCODE = '55000', DETAIL = format('The invitation is %s.', v_inv.status);
	END IF;
	SELECT * INTO v_team FROM teamacl.teams t WHERE t.id OPERATOR(pg_catalog.=) v_inv.team_id;
	IF v_expired THEN
		-- it takes a seat again, and must not clash with a newer invitation
		IF EXISTS (SELECT 1 FROM teamacl.invitations i WHERE i.team_id OPERATOR(pg_catalog.=) v_inv.team_id
					AND i.email OPERATOR(pg_catalog.=) v_inv.email AND i.status OPERATOR(pg_catalog.=) 'pending'
					AND i.id OPERATOR(pg_catalog.<>) v_inv.id) THEN
			RAISE EXCEPTION 'another invitation for "%" is pending', v_inv.email USING ERRCODE = '23505';
		END IF;
		PERFORM teamacl_internal._check_seats(v_team, 1);
	END IF;
	UPDATE teamacl.invitations i
	   SET token_hash = teamacl_internal._hash_token(v_token), status = 'pending',
		   expires_at = now() + i.valid_for, resent_at = now()
	 WHERE i.id OPERATOR(pg_catalog.=) v_inv.id;
	PERFORM teamacl_internal._emit('invitation.resent', v_inv.team_id,
						  jsonb_build_object('invitation_id', v_inv.id, 'team_id', v_inv.team_id, 'team_name', v_team.name,
											 'email', v_inv.email, 'role', v_inv.role_name,
											 'expires_at', now() + v_inv.valid_for));
	RETURN v_token;
END
$$;
COMMENT ON FUNCTION teamacl.resend_invitation(uuid) IS
	'A fresh token and expiry for a pending or expired invitation (needs members.invite); the old token stops working';

CREATE FUNCTION teamacl.revoke_invitation(invitation_id uuid) RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_inv teamacl.invitations := teamacl_internal._managed_invitation(invitation_id);
BEGIN
	IF v_inv.status <> 'pending' THEN
		RAISE EXCEPTION 'only pending invitations can be revoked'
			USING ERRCODE = '55000', DETAIL = format('The invitation is %s.', v_inv.status);
	END IF;
	UPDATE teamacl.invitations i SET status = 'revoked', responded_at = now(), responded_by = teamacl.current_user_id()
	 WHERE i.id OPERATOR(pg_catalog.=) v_inv.id;
	PERFORM teamacl_internal._emit('invitation.revoked', v_inv.team_id,
						  jsonb_build_object('invitation_id', v_inv.id, 'team_id', v_inv.team_id, 'email', v_inv.email));
END
$$;
COMMENT ON FUNCTION teamacl.revoke_invitation(uuid) IS 'Cancel a pending invitation (needs members.invite); its link stops working';

CREATE FUNCTION teamacl.delete_invitation(invitation_id uuid) RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_inv teamacl.invitations := teamacl_internal._managed_invitation(invitation_id);
BEGIN
	DELETE FROM teamacl.invitations i WHERE i.id OPERATOR(pg_catalog.=) v_inv.id;
END
$$;
COMMENT ON FUNCTION teamacl.delete_invitation(uuid) IS 'Delete an invitation record, whatever its status (needs members.invite)';
