-- sql/src/audit.sql
--
-- The append-only audit log (trigger based, so DBA SQL is audited too)
-- and the transactional outbox of events for the application's mailer.

-- SECURITY DEFINER: a DBA granted DML on teamacl's tables is audited too,
-- without needing rights on the audit log.
CREATE FUNCTION teamacl_internal._audit() RETURNS trigger
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
COMMENT ON FUNCTION teamacl_internal._audit() IS 'Internal trigger: write one audit_log row per changed row (never a token or key hash), with the API key that was the identity';

CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON teamacl.teams FOR EACH ROW EXECUTE FUNCTION teamacl_internal._audit();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON teamacl.members FOR EACH ROW EXECUTE FUNCTION teamacl_internal._audit();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON teamacl.roles FOR EACH ROW EXECUTE FUNCTION teamacl_internal._audit();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON teamacl.role_permissions FOR EACH ROW EXECUTE FUNCTION teamacl_internal._audit();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON teamacl.permissions FOR EACH ROW EXECUTE FUNCTION teamacl_internal._audit();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON teamacl.plans FOR EACH ROW EXECUTE FUNCTION teamacl_internal._audit();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON teamacl.invitations FOR EACH ROW EXECUTE FUNCTION teamacl_internal._audit();
CREATE TRIGGER audit AFTER INSERT OR UPDATE OR DELETE ON teamacl.ownership_transfers FOR EACH ROW EXECUTE FUNCTION teamacl_internal._audit();
CREATE TRIGGER audit AFTER INSERT OR DELETE ON teamacl.protected_tables FOR EACH ROW EXECUTE FUNCTION teamacl_internal._audit();

CREATE FUNCTION teamacl_internal._audit_append_only() RETURNS trigger
	LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	IF NOT (SELECT r.rolsuper FROM pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) current_user) THEN
		RAISE EXCEPTION 'the teamacl audit log is append-only'
			USING ERRCODE = '42501',
				  DETAIL = format('%s on teamacl.audit_log is refused to everyone but a superuser.', TG_OP);
	END IF;
	RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
END
$$;
COMMENT ON FUNCTION teamacl_internal._audit_append_only() IS 'Internal trigger: refuse UPDATE, DELETE and TRUNCATE of the audit log to non-superusers';
CREATE TRIGGER append_only BEFORE UPDATE OR DELETE ON teamacl.audit_log
	FOR EACH ROW EXECUTE FUNCTION teamacl_internal._audit_append_only();
CREATE TRIGGER append_only_truncate BEFORE TRUNCATE ON teamacl.audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION teamacl_internal._audit_append_only();
ALTER TABLE teamacl.audit_log ENABLE ALWAYS TRIGGER append_only;
ALTER TABLE teamacl.audit_log ENABLE ALWAYS TRIGGER append_only_truncate;

CREATE FUNCTION teamacl_internal._emit(event text, team_id uuid, payload jsonb) RETURNS void
	LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_id bigint;
BEGIN
	INSERT INTO teamacl.outbox (event, team_id, payload) VALUES (event, team_id, payload)
	RETURNING id INTO v_id;
	PERFORM pg_notify('teamacl_outbox', json_build_object('id', v_id, 'event', event)::text);
END
$$;
COMMENT ON FUNCTION teamacl_internal._emit(text, uuid, jsonb) IS 'Internal: add an outbox event and NOTIFY teamacl_outbox (at commit)';
