-- sql/src/tables.sql
--
-- teamacl's tables, the triggers that invalidate the C cache, the
-- built-in plans, permissions and roles, and what pg_dump keeps.

CREATE FUNCTION teamacl.normalize_email(email text) RETURNS text
	LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
	RETURN pg_catalog.lower(pg_catalog.btrim(email));
COMMENT ON FUNCTION teamacl.normalize_email(text) IS
	'The stored form of an email address: trimmed and lower-cased';

CREATE TABLE teamacl.plans (
	name text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
	seat_limit integer CHECK (seat_limit IS NULL OR seat_limit >= 1),
	description text,
	builtin boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE teamacl.plans IS 'Plans and their seat limits (NULL: unlimited); editable';

CREATE TABLE teamacl.users (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	email text NOT NULL UNIQUE
		CHECK (email OPERATOR(pg_catalog.=) teamacl.normalize_email(email)
			   AND email ~ '^[^@[:space:]]+@[^@[:space:]]+$'
			   AND pg_catalog.length(email) <= 254),
	display_name text CHECK (pg_catalog.length(display_name) <= 200),
	sign_in_method text CHECK (sign_in_method IN ('password', 'password_2fa', 'google', 'github', 'sso')),
	db_role name UNIQUE,
	registered boolean NOT NULL DEFAULT true,
	password_hash text,
	current_team_id uuid,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	db_role_oid oid UNIQUE
);
COMMENT ON TABLE teamacl.users IS 'End users: registered accounts and placeholders added by email before signing up';
COMMENT ON COLUMN teamacl.users.db_role IS
	'The login role mapped to this user, by its name when it was mapped (dumps carry this name)';
COMMENT ON COLUMN teamacl.users.db_role_oid IS
	'The login role mapped to this user: the mapping follows the role through renames; set from db_role';

CREATE TABLE teamacl.teams (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name text NOT NULL CHECK (pg_catalog.length(pg_catalog.btrim(name)) BETWEEN 1 AND 200),
	personal boolean NOT NULL DEFAULT false,
	personal_owner uuid UNIQUE REFERENCES teamacl.users (id) ON DELETE CASCADE,
	plan text NOT NULL DEFAULT 'free' REFERENCES teamacl.plans (name) ON UPDATE CASCADE,
	require_secure_sign_in boolean NOT NULL DEFAULT false,
	invitation_validity interval CHECK (invitation_validity > '0'::interval AND invitation_validity <= '365 days'::interval),
	auto_add_registered boolean NOT NULL DEFAULT false,
	settings jsonb NOT NULL DEFAULT '{}' CHECK (pg_catalog.jsonb_typeof(settings) = 'object'),
	created_by uuid,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CHECK (personal = (personal_owner IS NOT NULL))
);
COMMENT ON TABLE teamacl.teams IS 'Teams and personal accounts (a personal account is a team of one)';
-- the (usually few) teams requiring secure sign-in, which the C cache holds
-- as one set, so loading a user reads no teams row
CREATE INDEX teams_secure_sign_in_idx ON teamacl.teams (id) WHERE require_secure_sign_in;

CREATE TABLE teamacl.permissions (
	name text PRIMARY KEY
		CHECK (name ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$' AND pg_catalog.length(name) <= 63),
	description text,
	builtin boolean NOT NULL DEFAULT false
);
COMMENT ON TABLE teamacl.permissions IS 'Catalogue of permission names; applications add their own with define_permission()';

CREATE TABLE teamacl.roles (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{0,62}$'),
	team_id uuid REFERENCES teamacl.teams (id) ON DELETE CASCADE,
	description text,
	all_permissions boolean NOT NULL DEFAULT false,
	removable boolean NOT NULL DEFAULT true,
	builtin boolean NOT NULL DEFAULT false,
	UNIQUE NULLS NOT DISTINCT (team_id, name)
);
COMMENT ON TABLE teamacl.roles IS 'Named sets of permissions: global (team_id NULL) or custom to one team';
CREATE INDEX roles_name_idx ON teamacl.roles (name);

CREATE TABLE teamacl.role_permissions (
	role_id uuid NOT NULL REFERENCES teamacl.roles (id) ON DELETE CASCADE,
	permission text NOT NULL REFERENCES teamacl.permissions (name) ON DELETE CASCADE,
	excluded boolean NOT NULL DEFAULT false,
	builtin boolean NOT NULL DEFAULT false,
	PRIMARY KEY (role_id, permission)
);
COMMENT ON TABLE teamacl.role_permissions IS
	'Permissions of each role; for an all_permissions role, the rows with excluded = true are the exceptions';
CREATE INDEX role_permissions_permission_idx ON teamacl.role_permissions (permission);

CREATE TABLE teamacl.members (
	team_id uuid NOT NULL REFERENCES teamacl.teams (id) ON DELETE CASCADE,
	user_id uuid NOT NULL REFERENCES teamacl.users (id) ON DELETE CASCADE,
	role_id uuid NOT NULL REFERENCES teamacl.roles (id),
	added_by uuid,
	added_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (team_id, user_id)
);
COMMENT ON TABLE teamacl.members IS 'Who belongs to which team, with which role';
-- a user's memberships, whole: the C cache reads them with an index-only scan
CREATE INDEX members_user_id_idx ON teamacl.members (user_id) INCLUDE (team_id, role_id);
CREATE INDEX members_role_id_idx ON teamacl.members (role_id);

CREATE TABLE teamacl.protected_tables (
	tbl regclass PRIMARY KEY,
	team_column name NOT NULL,
	select_permission text NOT NULL REFERENCES teamacl.permissions (name),
	insert_permission text NOT NULL REFERENCES teamacl.permissions (name),
	update_permission text NOT NULL REFERENCES teamacl.permissions (name),
	delete_permission text NOT NULL REFERENCES teamacl.permissions (name),
	rls_was_enabled boolean NOT NULL,
	rls_was_forced boolean NOT NULL,
	policies jsonb,
	protected_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	parent regclass
);
COMMENT ON COLUMN teamacl.protected_tables.parent IS
	'For a partition or inheritance child protected with the table it inherits from: that table';
COMMENT ON TABLE teamacl.protected_tables IS 'Application tables made team-scoped by protect(), and their RLS flags before it';

CREATE TABLE teamacl.invitations (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	team_id uuid NOT NULL REFERENCES teamacl.teams (id) ON DELETE CASCADE,
	email text NOT NULL CHECK (email OPERATOR(pg_catalog.=) teamacl.normalize_email(email)),
	role_id uuid REFERENCES teamacl.roles (id) ON DELETE SET NULL,
	role_name text NOT NULL,
	token_hash bytea NOT NULL UNIQUE,
	status text NOT NULL DEFAULT 'pending'
		CHECK (status IN ('pending', 'accepted', 'declined', 'expired', 'revoked')),
	valid_for interval NOT NULL,
	invited_by uuid NOT NULL,
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	expires_at timestamptz NOT NULL,
	resent_at timestamptz,
	responded_at timestamptz,
	responded_by uuid
);
COMMENT ON TABLE teamacl.invitations IS
	'Invitations by email; only a SHA-256 of each token is stored. A pending invitation past expires_at is expired';
CREATE UNIQUE INDEX invitations_one_pending ON teamacl.invitations (team_id, email) WHERE status = 'pending';
CREATE INDEX invitations_email_idx ON teamacl.invitations (email);

CREATE TABLE teamacl.ownership_transfers (
	id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	team_id uuid NOT NULL REFERENCES teamacl.teams (id) ON DELETE CASCADE,
	from_user uuid NOT NULL,
	to_user uuid NOT NULL,
	keep_ownership boolean NOT NULL,
	confirm_token_hash bytea NOT NULL UNIQUE,
	accept_token_hash bytea UNIQUE,
	status text NOT NULL DEFAULT 'requested'
		CHECK (status IN ('requested', 'confirmed', 'accepted', 'cancelled')),
	created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
	expires_at timestamptz NOT NULL,
	confirmed_at timestamptz,
	finished_at timestamptz
);
COMMENT ON TABLE teamacl.ownership_transfers IS
	'Ownership transfers: requested by an owner, confirmed by that owner, accepted by the new owner';
CREATE UNIQUE INDEX ownership_transfers_one_open ON teamacl.ownership_transfers (team_id)
	WHERE status IN ('requested', 'confirmed');

CREATE SEQUENCE teamacl.audit_log_id_seq;
CREATE TABLE teamacl.audit_log (
	id bigint PRIMARY KEY DEFAULT pg_catalog.nextval('teamacl.audit_log_id_seq'),
	at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	actor uuid,
	db_role name NOT NULL DEFAULT CURRENT_USER,
	team_id uuid,
	action text NOT NULL,
	target text,
	before jsonb,
	after jsonb,
	api_key_id uuid
);
COMMENT ON COLUMN teamacl.audit_log.api_key_id IS 'The API key that was the identity when the change was made, beside its creator in actor';
ALTER SEQUENCE teamacl.audit_log_id_seq OWNED BY teamacl.audit_log.id;
COMMENT ON SEQUENCE teamacl.audit_log_id_seq IS 'Ids of teamacl.audit_log rows, in commit-independent insertion order';
COMMENT ON TABLE teamacl.audit_log IS
	'Append-only log of every change to teams, settings, plans, members, roles, invitations, transfers and protected tables';
CREATE INDEX audit_log_team_idx ON teamacl.audit_log (team_id, at);

CREATE SEQUENCE teamacl.outbox_id_seq;
CREATE TABLE teamacl.outbox (
	id bigint PRIMARY KEY DEFAULT pg_catalog.nextval('teamacl.outbox_id_seq'),
	at timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
	event text NOT NULL,
	team_id uuid,
	payload jsonb NOT NULL,
	processed_at timestamptz
);
ALTER SEQUENCE teamacl.outbox_id_seq OWNED BY teamacl.outbox.id;
COMMENT ON SEQUENCE teamacl.outbox_id_seq IS 'Ids of teamacl.outbox events; the NOTIFY payload carries them';
COMMENT ON TABLE teamacl.outbox IS
	'Transactional outbox of events for the application''s mailer (NOTIFY channel teamacl_outbox); never holds a token or password';
CREATE INDEX outbox_unprocessed_idx ON teamacl.outbox (id) WHERE processed_at IS NULL;

-- Every table the C cache reads invalidates it, also under TRUNCATE and
-- session_replication_role = replica (hence ENABLE ALWAYS).
CREATE TRIGGER invalidate_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON teamacl.members
	FOR EACH STATEMENT EXECUTE FUNCTION teamacl_internal._invalidate_cache();
ALTER TABLE teamacl.members ENABLE ALWAYS TRIGGER invalidate_cache;
CREATE TRIGGER invalidate_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON teamacl.roles
	FOR EACH STATEMENT EXECUTE FUNCTION teamacl_internal._invalidate_cache();
ALTER TABLE teamacl.roles ENABLE ALWAYS TRIGGER invalidate_cache;
CREATE TRIGGER invalidate_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON teamacl.role_permissions
	FOR EACH STATEMENT EXECUTE FUNCTION teamacl_internal._invalidate_cache();
ALTER TABLE teamacl.role_permissions ENABLE ALWAYS TRIGGER invalidate_cache;
CREATE TRIGGER invalidate_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON teamacl.permissions
	FOR EACH STATEMENT EXECUTE FUNCTION teamacl_internal._invalidate_cache();
ALTER TABLE teamacl.permissions ENABLE ALWAYS TRIGGER invalidate_cache;
CREATE TRIGGER invalidate_cache AFTER INSERT OR DELETE OR TRUNCATE ON teamacl.users
	FOR EACH STATEMENT EXECUTE FUNCTION teamacl_internal._invalidate_cache();
ALTER TABLE teamacl.users ENABLE ALWAYS TRIGGER invalidate_cache;
-- updates matter only when a cached column changes (sign-ins are frequent)
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
CREATE TRIGGER invalidate_cache AFTER DELETE OR TRUNCATE ON teamacl.teams
	FOR EACH STATEMENT EXECUTE FUNCTION teamacl_internal._invalidate_cache();
ALTER TABLE teamacl.teams ENABLE ALWAYS TRIGGER invalidate_cache;
CREATE TRIGGER invalidate_cache_update AFTER UPDATE ON teamacl.teams
	FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id
					   OR OLD.personal IS DISTINCT FROM NEW.personal
					   OR OLD.require_secure_sign_in IS DISTINCT FROM NEW.require_secure_sign_in)
	EXECUTE FUNCTION teamacl_internal._invalidate_cache();
ALTER TABLE teamacl.teams ENABLE ALWAYS TRIGGER invalidate_cache_update;
-- a new team requiring secure sign-in joins the cache's set of them; other
-- new teams (every sign-up makes one) invalidate nothing
CREATE TRIGGER invalidate_cache_insert AFTER INSERT ON teamacl.teams
	FOR EACH ROW WHEN (NEW.require_secure_sign_in)
	EXECUTE FUNCTION teamacl_internal._invalidate_cache();
ALTER TABLE teamacl.teams ENABLE ALWAYS TRIGGER invalidate_cache_insert;

-- Built-in plans stay editable; a restore merges dumped rows into the ones
-- CREATE EXTENSION made instead of failing on duplicates.
CREATE FUNCTION teamacl_internal._merge_plan() RETURNS trigger
	LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	UPDATE teamacl.plans
	   SET seat_limit = NEW.seat_limit, description = NEW.description
	 WHERE name OPERATOR(pg_catalog.=) NEW.name;
	IF FOUND THEN
		RETURN NULL;
	END IF;
	RETURN NEW;
END
$$;
COMMENT ON FUNCTION teamacl_internal._merge_plan() IS 'Internal trigger: inserting an existing plan updates it (keeps edits across dump and restore)';
CREATE TRIGGER merge_plan BEFORE INSERT ON teamacl.plans
	FOR EACH ROW EXECUTE FUNCTION teamacl_internal._merge_plan();

------------------------------------------------------------------------
-- Built-in rows
------------------------------------------------------------------------

INSERT INTO teamacl.plans (name, seat_limit, description, builtin) VALUES
	('free', 3, 'Free plan: up to 3 seats', true),
	('pro', 10, 'Pro plan: up to 10 seats', true),
	('enterprise', NULL, 'Enterprise plan: unlimited seats', true);

INSERT INTO teamacl.permissions (name, description, builtin) VALUES
	('team.read', 'See the team, its settings and its membership list', true),
	('team.update', 'Change the team''s name and settings, manage its custom roles', true),
	('team.delete', 'Delete the team', true),
	('team.transfer', 'Transfer ownership of the team', true),
	('members.invite', 'Add members and invite people by email', true),
	('members.remove', 'Remove members', true),
	('members.change_role', 'Change members'' roles', true),
	('members.sign_in_methods', 'See other members'' sign-in methods', true),
	('resources.read', 'Read the team''s shared resources', true),
	('resources.create', 'Create shared resources', true),
	('resources.update', 'Change shared resources', true),
	('resources.delete', 'Delete shared resources', true),
	('billing.view', 'Limited, read-only view of billing', true),
	('billing.read', 'Read billing information and history', true),
	('billing.manage', 'Manage payment methods and the plan', true),
	('audit.read', 'Read the team''s audit log', true),
	('api_keys.create', 'Create API keys for the team (never with more than the creator holds)', true),
	('api_keys.manage', 'See and revoke every API key of the team', true);

INSERT INTO teamacl.roles (id, name, description, all_permissions, builtin) VALUES
	('00000000-0000-4000-a000-000000000001', 'owner', 'Every permission, including ones defined later', true, true),
	('00000000-0000-4000-a000-000000000002', 'admin', 'Every permission but deleting or transferring the team and seeing sign-in methods', true, true),
	('00000000-0000-4000-a000-000000000003', 'member', 'Reads the team, full access to shared resources', false, true),
	('00000000-0000-4000-a000-000000000004', 'viewer', 'Reads the team and its shared resources', false, true),
	('00000000-0000-4000-a000-000000000005', 'billing', 'Reads the team, full access to billing', false, true);

INSERT INTO teamacl.role_permissions (role_id, permission, excluded, builtin) VALUES
	('00000000-0000-4000-a000-000000000002', 'team.delete', true, true),
	('00000000-0000-4000-a000-000000000002', 'team.transfer', true, true),
	('00000000-0000-4000-a000-000000000002', 'members.sign_in_methods', true, true),
	('00000000-0000-4000-a000-000000000003', 'team.read', false, true),
	('00000000-0000-4000-a000-000000000003', 'resources.read', false, true),
	('00000000-0000-4000-a000-000000000003', 'resources.create', false, true),
	('00000000-0000-4000-a000-000000000003', 'resources.update', false, true),
	('00000000-0000-4000-a000-000000000003', 'resources.delete', false, true),
	('00000000-0000-4000-a000-000000000004', 'team.read', false, true),
	('00000000-0000-4000-a000-000000000004', 'resources.read', false, true),
	('00000000-0000-4000-a000-000000000005', 'team.read', false, true),
	('00000000-0000-4000-a000-000000000005', 'billing.view', false, true),
	('00000000-0000-4000-a000-000000000005', 'billing.read', false, true),
	('00000000-0000-4000-a000-000000000005', 'billing.manage', false, true);

-- pg_dump keeps user data; built-in rows come back with CREATE EXTENSION.
SELECT pg_catalog.pg_extension_config_dump('teamacl.plans', '');
SELECT pg_catalog.pg_extension_config_dump('teamacl.users', '');
SELECT pg_catalog.pg_extension_config_dump('teamacl.teams', '');
SELECT pg_catalog.pg_extension_config_dump('teamacl.permissions', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('teamacl.roles', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('teamacl.role_permissions', 'WHERE NOT builtin');
SELECT pg_catalog.pg_extension_config_dump('teamacl.members', '');
SELECT pg_catalog.pg_extension_config_dump('teamacl.protected_tables', '');
SELECT pg_catalog.pg_extension_config_dump('teamacl.invitations', '');
SELECT pg_catalog.pg_extension_config_dump('teamacl.ownership_transfers', '');
SELECT pg_catalog.pg_extension_config_dump('teamacl.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('teamacl.audit_log_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('teamacl.outbox', '');
SELECT pg_catalog.pg_extension_config_dump('teamacl.outbox_id_seq', '');
