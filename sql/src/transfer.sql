-- sql/src/transfer.sql
--
-- Ownership transfer: requested and confirmed by an owner, accepted by
-- the new owner.

CREATE FUNCTION teamacl.request_ownership_transfer(team_id uuid, new_owner uuid, keep_ownership boolean DEFAULT false)
	RETURNS text
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_me uuid := teamacl_internal._me();
	v_team teamacl.teams := teamacl_internal._lock_team(team_id, 'team.transfer');
	v_role teamacl.roles;
	v_token text := teamacl_internal._generate_token('tacl_xfr_');
	v_id uuid;
	v_valid interval := COALESCE(v_team.invitation_validity, teamacl_internal._setting('teamacl.invitation_validity')::interval);
BEGIN
	IF v_team.personal THEN
		RAISE EXCEPTION 'a personal account cannot be transferred' USING ERRCODE = '22023';
	END IF;
	IF keep_ownership IS NULL THEN
		RAISE EXCEPTION 'keep_ownership must not be null' USING ERRCODE = '22004';
	END IF;
	IF new_owner IS NULL OR new_owner OPERATOR(pg_catalog.=) v_me THEN
		RAISE EXCEPTION 'the new owner must be another member of the team' USING ERRCODE = '22023';
	END IF;
	v_role := teamacl_internal._member_role(team_id, new_owner);
	IF v_role.id OPERATOR(pg_catalog.=) '00000000-0000-4000-a000-000000000001'::uuid THEN
		RAISE EXCEPTION 'user % is already an owner of team %', new_owner, team_id USING ERRCODE = '55000';
	END IF;
	IF EXISTS (SELECT 1 FROM teamacl.ownership_transfers x WHERE x.team_id OPERATOR(pg_catalog.=) request_ownership_transfer.team_id
				AND x.status IN ('requested', 'confirmed') AND x.expires_at OPERATOR(pg_catalog.>) now()) THEN
		RAISE EXCEPTION 'an ownership transfer of team % is already under way', team_id
			USING ERRCODE = '55006',
				  HINT = 'Cancel it with teamacl.cancel_ownership_transfer() first.';
	END IF;
	UPDATE teamacl.ownership_transfers x SET status = 'cancelled', finished_at = now()
	 WHERE x.team_id OPERATOR(pg_catalog.=) request_ownership_transfer.team_id AND x.status IN ('requested', 'confirmed');
	INSERT INTO teamacl.ownership_transfers (team_id, from_user, to_user, keep_ownership, confirm_token_hash, expires_at)
	VALUES (team_id, v_me, new_owner, keep_ownership, teamacl_internal._hash_token(v_token), now() + v_valid)
	RETURNING id INTO v_id;
	PERFORM teamacl_internal._emit('transfer.requested', team_id,
						  jsonb_build_object('transfer_id', v_id, 'team_id', team_id, 'team_name', v_team.name,
											 'from_user', v_me, 'to_user', new_owner, 'keep_ownership', keep_ownership));
	RETURN v_token;
END
$$;
COMMENT ON FUNCTION teamacl.request_ownership_transfer(uuid, uuid, boolean) IS
	'Start handing a team to another member (needs team.transfer); returns the token the requesting owner confirms with';

CREATE FUNCTION teamacl_internal._open_transfer(token text, want_status text) RETURNS teamacl.ownership_transfers
	LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_hash bytea := teamacl_internal._hash_token(COALESCE(token, ''));
	v_x teamacl.ownership_transfers;
BEGIN
	SELECT * INTO v_x FROM teamacl.ownership_transfers x
	 WHERE CASE WHEN want_status = 'requested' THEN x.confirm_token_hash ELSE x.accept_token_hash END OPERATOR(pg_catalog.=) v_hash;
	IF FOUND THEN
		PERFORM 1 FROM teamacl.teams t WHERE t.id OPERATOR(pg_catalog.=) v_x.team_id FOR UPDATE;
		SELECT * INTO v_x FROM teamacl.ownership_transfers x WHERE x.id OPERATOR(pg_catalog.=) v_x.id FOR UPDATE;
	END IF;
	IF v_x.id IS NULL OR v_x.status <> want_status OR v_x.expires_at <= now() THEN
		PERFORM teamacl_internal._bad_token('ownership transfer');
	END IF;
	RETURN v_x;
END
$$;
COMMENT ON FUNCTION teamacl_internal._open_transfer(text, text) IS 'Internal: lock the team and the transfer of a token in the wanted state, or raise the uniform token error';

CREATE FUNCTION teamacl.confirm_ownership_transfer(token text) RETURNS text
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_me uuid := teamacl_internal._me();
	v_x teamacl.ownership_transfers := teamacl_internal._open_transfer(token, 'requested');
	v_token text := teamacl_internal._generate_token('tacl_xfr_');
BEGIN
	IF v_x.from_user OPERATOR(pg_catalog.<>) v_me THEN
		RAISE EXCEPTION 'only the owner who requested the transfer can confirm it' USING ERRCODE = '42501';
	END IF;
	PERFORM teamacl.require(v_x.team_id, 'team.transfer');
	UPDATE teamacl.ownership_transfers x
	   SET status = 'confirmed', confirmed_at = now(), accept_token_hash = teamacl_internal._hash_token(v_token)
	 WHERE x.id OPERATOR(pg_catalog.=) v_x.id;
	PERFORM teamacl_internal._emit('transfer.confirmed', v_x.team_id,
						  jsonb_build_object('transfer_id', v_x.id, 'team_id', v_x.team_id,
											 'from_user', v_x.from_user, 'to_user', v_x.to_user));
	RETURN v_token;
END
$$;
COMMENT ON FUNCTION teamacl.confirm_ownership_transfer(text) IS
	'The requesting owner confirms a transfer; returns the token the new owner accepts with';

CREATE FUNCTION teamacl.accept_ownership_transfer(token text) RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_me uuid := teamacl_internal._me();
	v_x teamacl.ownership_transfers := teamacl_internal._open_transfer(token, 'confirmed');
	v_from teamacl.roles;
BEGIN
	IF v_x.to_user OPERATOR(pg_catalog.<>) v_me THEN
		RAISE EXCEPTION 'only the designated new owner can accept the transfer' USING ERRCODE = '42501';
	END IF;
	PERFORM teamacl_internal._member_role(v_x.team_id, v_me);
	v_from := teamacl_internal._member_role(v_x.team_id, v_x.from_user);
	IF v_from.id OPERATOR(pg_catalog.<>) '00000000-0000-4000-a000-000000000001'::uuid THEN
		RAISE EXCEPTION 'the requesting owner is no longer an owner of the team'
			USING ERRCODE = '55000', HINT = 'Ask a current owner to request a new transfer.';
	END IF;
	UPDATE teamacl.members m SET role_id = '00000000-0000-4000-a000-000000000001'
	 WHERE m.team_id OPERATOR(pg_catalog.=) v_x.team_id AND m.user_id OPERATOR(pg_catalog.=) v_me;
	IF NOT v_x.keep_ownership THEN
		UPDATE teamacl.members m SET role_id = '00000000-0000-4000-a000-000000000002'
		 WHERE m.team_id OPERATOR(pg_catalog.=) v_x.team_id AND m.user_id OPERATOR(pg_catalog.=) v_x.from_user;
	END IF;
	UPDATE teamacl.ownership_transfers x SET status = 'accepted', finished_at = now()
	 WHERE x.id OPERATOR(pg_catalog.=) v_x.id;
	PERFORM teamacl_internal._emit('transfer.accepted', v_x.team_id,
						  jsonb_build_object('transfer_id', v_x.id, 'team_id', v_x.team_id,
											 'from_user', v_x.from_user, 'to_user', v_x.to_user,
											 'keep_ownership', v_x.keep_ownership));
END
$$;
COMMENT ON FUNCTION teamacl.accept_ownership_transfer(text) IS
	'The new owner accepts a confirmed transfer and becomes owner; the old owner becomes admin unless keep_ownership was requested';

CREATE FUNCTION teamacl.cancel_ownership_transfer(team_id uuid) RETURNS void
	LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_team teamacl.teams := teamacl_internal._lock_team(team_id, 'team.transfer');
BEGIN
	UPDATE teamacl.ownership_transfers x SET status = 'cancelled', finished_at = now()
	 WHERE x.team_id OPERATOR(pg_catalog.=) cancel_ownership_transfer.team_id AND x.status IN ('requested', 'confirmed');
	IF NOT FOUND THEN
		RAISE EXCEPTION 'no ownership transfer of team % is under way', team_id USING ERRCODE = '42704';
	END IF;
	PERFORM teamacl_internal._emit('transfer.cancelled', team_id, jsonb_build_object('team_id', team_id));
END
$$;
COMMENT ON FUNCTION teamacl.cancel_ownership_transfer(uuid) IS 'Cancel the team''s open ownership transfer (needs team.transfer)';
