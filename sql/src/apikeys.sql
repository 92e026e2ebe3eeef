-- sql/src/apikeys.sql
--
-- API keys: team-scoped machine credentials (a CI job, a script, an
-- integration) that act for the person who made them, in one team, with at
-- most what the key's role and that person's current role both grant.
-- Shown once, stored as a SHA-256, expiring, revocable.  The C side
-- (set_api_key, current_api_key_id, the restricted view the checks see) is
-- src/apikey.c.

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
