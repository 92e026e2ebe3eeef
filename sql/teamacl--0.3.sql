-- sql/src/schema.sql

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION teamacl CASCADE" to load this file. \quit

-- The schema.  The control file names it, so pg_extension and \dx record
-- teamacl (not public) as the extension's schema, and CREATE EXTENSION
-- creates it when it is missing.  A schema of that name that existed
-- before is used only when the installing role owns it, it holds nothing
-- and no other role may create objects in it: an object planted in a
-- schema somebody else controls could hijack the extension's functions.
-- (DROP EXTENSION leaves the schema, as it does for every extension whose
-- control file names one; drop it with DROP SCHEMA teamacl.)

DO $$
DECLARE
	v_nsp pg_catalog.pg_namespace;
BEGIN
	SELECT * INTO STRICT v_nsp FROM pg_catalog.pg_namespace n
	 WHERE n.nspname OPERATOR(pg_catalog.=) 'teamacl';
	IF v_nsp.nspowner OPERATOR(pg_catalog.<>) (SELECT r.oid FROM pg_catalog.pg_roles r
												WHERE r.rolname OPERATOR(pg_catalog.=) CURRENT_USER) THEN
		RAISE EXCEPTION 'schema "teamacl" already exists and belongs to role %', v_nsp.nspowner::pg_catalog.regrole
			USING ERRCODE = '42P06',
				  DETAIL = 'teamacl installs only into a schema it creates, or an empty one the installing role owns.',
				  HINT = 'Drop or rename that schema, then run CREATE EXTENSION teamacl again.';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
				WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass
				  AND d.refobjid OPERATOR(pg_catalog.=) v_nsp.oid
				  AND d.classid OPERATOR(pg_catalog.<>) 'pg_catalog.pg_extension'::pg_catalog.regclass)
	   OR EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.relnamespace OPERATOR(pg_catalog.=) v_nsp.oid)
	   OR EXISTS (SELECT 1 FROM pg_catalog.pg_proc p WHERE p.pronamespace OPERATOR(pg_catalog.=) v_nsp.oid)
	   OR EXISTS (SELECT 1 FROM pg_catalog.pg_type t WHERE t.typnamespace OPERATOR(pg_catalog.=) v_nsp.oid)
	   OR EXISTS (SELECT 1 FROM pg_catalog.pg_operator o WHERE o.oprnamespace OPERATOR(pg_catalog.=) v_nsp.oid) THEN
		RAISE EXCEPTION 'schema "teamacl" already exists and is not empty'
			USING ERRCODE = '42P06',
				  DETAIL = 'teamacl installs only into a schema it creates, or an empty one the installing role owns.',
				  HINT = 'Drop or rename that schema, then run CREATE EXTENSION teamacl again.';
	END IF;
	IF EXISTS (SELECT 1 FROM pg_catalog.aclexplode(v_nsp.nspacl) a
				WHERE a.grantee OPERATOR(pg_catalog.<>) v_nsp.nspowner
				  AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE') THEN
		RAISE EXCEPTION 'schema "teamacl" already exists and other roles may create objects in it'
			USING ERRCODE = '42P06',
				  DETAIL = 'teamacl installs only into a schema it creates, or an empty one the installing role owns.',
				  HINT = 'REVOKE CREATE ON SCHEMA teamacl from every other role, then run CREATE EXTENSION teamacl again.';
	END IF;
END
$$;

COMMENT ON SCHEMA teamacl IS 'teamacl: teams, roles, memberships and permission checks';
GRANT USAGE ON SCHEMA teamacl TO PUBLIC;

-- The internal helpers live in a schema of their own, closed to PUBLIC (see
-- sql/src/privileges.sql): schema teamacl holds exactly the API, the tables
-- and the views.  It is created here, so a schema of that name planted
-- beforehand stops the installation.
CREATE SCHEMA teamacl_internal;
COMMENT ON SCHEMA teamacl_internal IS
	'teamacl''s internal helpers: not an API, no access for PUBLIC; the functions in schema teamacl call them';

-- sql/src/checks.sql
--
-- The C entry points: identity (current_user_id, set_user), the
-- permission checks, the planner support function and the cache's
-- statistics and invalidation trigger (src/identity.c, src/check.c,
-- src/cache.c).

CREATE FUNCTION teamacl.current_user_id() RETURNS uuid
	AS 'MODULE_PATHNAME', 'teamacl_current_user_id'
	LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION teamacl.current_user_id() IS
	'The teamacl user this session acts for: set_user() identity, else the user mapped to the current login role; NULL when nobody is identified';

CREATE FUNCTION teamacl.set_user(user_id uuid, is_local boolean DEFAULT true) RETURNS void
	AS 'MODULE_PATHNAME', 'teamacl_set_user'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION teamacl.set_user(uuid, boolean) IS
	'Name the end user this session acts for (NULL clears); transaction-local unless is_local is false. Grant EXECUTE only to the application''s login role';
REVOKE ALL ON FUNCTION teamacl.set_user(uuid, boolean) FROM PUBLIC;

CREATE FUNCTION teamacl.set_api_key(key text, is_local boolean DEFAULT true) RETURNS void
	AS 'MODULE_PATHNAME', 'teamacl_set_api_key'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION teamacl.set_api_key(text, boolean) IS
	'Act as an API key (NULL clears): its creator, only in the key''s team and only with what both the key''s role and the creator hold now; transaction-local unless is_local is false. Grant EXECUTE only to the application''s login role';
REVOKE ALL ON FUNCTION teamacl.set_api_key(text, boolean) FROM PUBLIC;

CREATE FUNCTION teamacl.current_api_key_id() RETURNS uuid
	AS 'MODULE_PATHNAME', 'teamacl_current_api_key_id'
	LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION teamacl.current_api_key_id() IS
	'The API key that is the identity (set_api_key() or the Authorization header), NULL otherwise or when it is no longer usable';

CREATE FUNCTION teamacl_internal._outer_role() RETURNS oid
	AS 'MODULE_PATHNAME', 'teamacl_outer_role'
	LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION teamacl_internal._outer_role() IS
	'Internal: the role in effect outside SECURITY DEFINER functions (follows SET ROLE)';

CREATE FUNCTION teamacl_internal._has_permission_support(internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'teamacl_has_permission_support'
	LANGUAGE C STRICT;
COMMENT ON FUNCTION teamacl_internal._has_permission_support(internal) IS
	'Internal planner support: lets has_permission(team_column, ...) use an index on team_column, with real selectivity';

CREATE FUNCTION teamacl_internal._am_searches_arrays(am oid) RETURNS boolean
	AS 'MODULE_PATHNAME', 'teamacl_am_searches_arrays'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION teamacl_internal._am_searches_arrays(oid) IS
	'Internal: whether indexes of an access method take column = ANY (array) conditions, as has_permission()''s index condition needs';

CREATE FUNCTION teamacl.has_permission(team_id uuid, permission text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'teamacl_has_permission'
	LANGUAGE C STABLE STRICT PARALLEL SAFE COST 1
	SUPPORT teamacl_internal._has_permission_support;
COMMENT ON FUNCTION teamacl.has_permission(uuid, text) IS
	'Whether the current user holds the permission in the team';

CREATE FUNCTION teamacl.teams_with(permission text) RETURNS uuid[]
	AS 'MODULE_PATHNAME', 'teamacl_teams_with'
	LANGUAGE C STABLE STRICT PARALLEL SAFE COST 1;
COMMENT ON FUNCTION teamacl.teams_with(text) IS
	'The teams in which the current user holds the permission';

CREATE FUNCTION teamacl.require(team_id uuid, permission text) RETURNS void
	AS 'MODULE_PATHNAME', 'teamacl_require'
	LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION teamacl.require(uuid, text) IS
	'Raise insufficient_privilege (42501) unless the current user holds the permission in the team';

CREATE FUNCTION teamacl.permissions(team_id uuid) RETURNS text[]
	AS 'MODULE_PATHNAME', 'teamacl_permissions'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION teamacl.permissions(uuid) IS
	'The permissions the current user holds in the team, sorted';

CREATE FUNCTION teamacl.cache_stats(OUT users integer, OUT bytes bigint, OUT generation bigint)
	AS 'MODULE_PATHNAME', 'teamacl_cache_stats'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION teamacl.cache_stats() IS
	'This backend''s permission cache: cached users, bytes allocated, invalidation generation';

CREATE FUNCTION teamacl_internal._invalidate_cache() RETURNS trigger
	AS 'MODULE_PATHNAME', 'teamacl_invalidate_trigger'
	LANGUAGE C;
COMMENT ON FUNCTION teamacl_internal._invalidate_cache() IS
	'Internal trigger: tells every backend to drop its cached permissions at commit';

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
CREATE INDEX members_user_id_idx ON teamacl.members (user_id);
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

-- sql/src/token.sql
--
-- Token helpers shared by invitations and ownership transfers: random
-- tokens and their SHA-256 (src/token.c) and the uniform token error.

CREATE FUNCTION teamacl_internal._generate_token(prefix text) RETURNS text
	AS 'MODULE_PATHNAME', 'teamacl_generate_token'
	LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION teamacl_internal._generate_token(text) IS
	'Internal: a new token, the prefix plus 256 random bits in URL-safe base64';

CREATE FUNCTION teamacl_internal._hash_token(token text) RETURNS bytea
	AS 'MODULE_PATHNAME', 'teamacl_hash_token'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION teamacl_internal._hash_token(text) IS 'Internal: the SHA-256 of a token, the only form stored';

-- One error for every token that cannot be used: unknown, malformed,
-- expired, revoked, declined or already used tokens are indistinguishable.
CREATE FUNCTION teamacl_internal._bad_token(what text) RETURNS void
	LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RAISE EXCEPTION '% token is invalid or has expired', what
		USING ERRCODE = '22023',
			  HINT = 'Ask for a new one.';
END
$$;
COMMENT ON FUNCTION teamacl_internal._bad_token(text) IS 'Internal: the uniform error for unusable tokens';

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

CREATE POLICY users_visible ON teamacl.users FOR SELECT TO PUBLIC
	USING (id OPERATOR(pg_catalog.=) teamacl.current_user_id()
		   OR EXISTS (SELECT 1 FROM teamacl.members m
					   WHERE m.user_id OPERATOR(pg_catalog.=) users.id
						 AND m.team_id OPERATOR(pg_catalog.=) ANY ((SELECT teamacl.teams_with('team.read'))::pg_catalog.uuid[])));
CREATE POLICY teams_visible ON teamacl.teams FOR SELECT TO PUBLIC
	USING (id OPERATOR(pg_catalog.=) ANY ((SELECT teamacl.teams_with('team.read'))::pg_catalog.uuid[]));
CREATE POLICY members_visible ON teamacl.members FOR SELECT TO PUBLIC
	USING (team_id OPERATOR(pg_catalog.=) ANY ((SELECT teamacl.teams_with('team.read'))::pg_catalog.uuid[])
		   OR user_id OPERATOR(pg_catalog.=) teamacl.current_user_id());
CREATE POLICY roles_visible ON teamacl.roles FOR SELECT TO PUBLIC
	USING (team_id IS NULL
		   OR team_id OPERATOR(pg_catalog.=) ANY ((SELECT teamacl.teams_with('team.read'))::pg_catalog.uuid[]));
CREATE POLICY role_permissions_visible ON teamacl.role_permissions FOR SELECT TO PUBLIC
	USING (EXISTS (SELECT 1 FROM teamacl.roles r WHERE r.id OPERATOR(pg_catalog.=) role_permissions.role_id));
CREATE POLICY permissions_visible ON teamacl.permissions FOR SELECT TO PUBLIC USING (true);
CREATE POLICY plans_visible ON teamacl.plans FOR SELECT TO PUBLIC USING (true);
CREATE POLICY invitations_visible ON teamacl.invitations FOR SELECT TO PUBLIC
	USING (team_id OPERATOR(pg_catalog.=) ANY ((SELECT teamacl.teams_with('team.read'))::pg_catalog.uuid[]));
CREATE POLICY ownership_transfers_visible ON teamacl.ownership_transfers FOR SELECT TO PUBLIC
	USING (team_id OPERATOR(pg_catalog.=) ANY ((SELECT teamacl.teams_with('team.read'))::pg_catalog.uuid[]));
CREATE POLICY audit_log_visible ON teamacl.audit_log FOR SELECT TO PUBLIC
	USING (team_id OPERATOR(pg_catalog.=) ANY ((SELECT teamacl.teams_with('audit.read'))::pg_catalog.uuid[]));

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
 WHERE m.team_id OPERATOR(pg_catalog.=) ANY ((SELECT teamacl.teams_with('team.read'))::pg_catalog.uuid[]);
COMMENT ON VIEW teamacl.team_members IS
	'Members of the teams the current user can read; sign_in_method is NULL unless it is their own or they hold members.sign_in_methods';

GRANT SELECT ON teamacl.my_teams, teamacl.team_members TO PUBLIC;

CREATE VIEW teamacl.team_invitations WITH (security_barrier) AS
SELECT i.id, i.team_id, i.email, i.role_name AS role,
	   CASE WHEN i.status = 'pending' AND i.expires_at <= pg_catalog.now() THEN 'expired' ELSE i.status END AS status,
	   i.invited_by, i.created_at, i.expires_at
  FROM teamacl.invitations i
 WHERE i.team_id OPERATOR(pg_catalog.=) ANY ((SELECT teamacl.teams_with('team.read'))::pg_catalog.uuid[]);
COMMENT ON VIEW teamacl.team_invitations IS
	'Invitations of the teams the current user can read, with status pending, accepted, declined, expired or revoked';
GRANT SELECT ON teamacl.team_invitations TO PUBLIC;

-- sql/src/doctor.sql
--
-- doctor(): one row per problem a DBA should look at.

CREATE FUNCTION teamacl.doctor(OUT severity text, OUT object text, OUT problem text, OUT fix text)
	RETURNS SETOF record
	LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_p teamacl.protected_tables;
	v_now jsonb;
BEGIN
	-- protected tables: index on the team column, RLS flags, policy drift
	FOR v_p IN SELECT * FROM teamacl.protected_tables ORDER BY tbl::text LOOP
		-- only an index whose access method takes array conditions (btree)
		-- can serve team_column = ANY (...); hash, GiST and BRIN cannot
		IF NOT EXISTS (SELECT 1 FROM pg_index i
						 JOIN pg_class ic ON ic.oid OPERATOR(pg_catalog.=) i.indexrelid
						 JOIN pg_attribute a
						   ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid AND a.attnum OPERATOR(pg_catalog.=) i.indkey[0]
					   WHERE i.indrelid OPERATOR(pg_catalog.=) v_p.tbl AND a.attname OPERATOR(pg_catalog.=) v_p.team_column
						 AND i.indisvalid AND i.indpred IS NULL
						 AND teamacl_internal._am_searches_arrays(ic.relam)) THEN
			severity := 'warning'; object := v_p.tbl::text;
			problem := format('team column %I has no btree index starting with it%s', v_p.team_column,
				(SELECT ' (' || string_agg(format('%s is a %s index, which cannot serve the permission check',
												  i.indexrelid::regclass, am.amname), '; ' ORDER BY i.indexrelid::regclass::text) || ')'
				   FROM pg_index i
				   JOIN pg_class ic ON ic.oid OPERATOR(pg_catalog.=) i.indexrelid
				   JOIN pg_am am ON am.oid OPERATOR(pg_catalog.=) ic.relam
				   JOIN pg_attribute a
					 ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid AND a.attnum OPERATOR(pg_catalog.=) i.indkey[0]
				  WHERE i.indrelid OPERATOR(pg_catalog.=) v_p.tbl AND a.attname OPERATOR(pg_catalog.=) v_p.team_column
					AND NOT teamacl_internal._am_searches_arrays(ic.relam)));
			fix := format('CREATE INDEX ON %s (%I);', v_p.tbl, v_p.team_column);
			RETURN NEXT;
		END IF;
		v_now := teamacl_internal._policy_texts(v_p.tbl);
		IF v_now IS DISTINCT FROM v_p.policies THEN
			severity := 'error'; object := v_p.tbl::text;
			problem := 'teamacl policies were changed or dropped since protect()';
			fix := format('SELECT teamacl.unprotect(%L); SELECT teamacl.protect(%L, %L, %L, %L, %L, %L);',
						  v_p.tbl, v_p.tbl, v_p.team_column, v_p.select_permission, v_p.insert_permission,
						  v_p.update_permission, v_p.delete_permission);
			RETURN NEXT;
		END IF;
	END LOOP;

	-- partitions and inheritance children of protected tables that are not
	-- protected: reading them directly skips the parent's policies
	FOR object, problem, fix IN
		SELECT d.child::text,
			   CASE WHEN c.relkind IN ('r', 'p')
					THEN format('inherits from protected table %s but is not protected: reading it directly shows every team''s rows', p.tbl)
					ELSE format('foreign table inherits from protected table %s: row-level security cannot protect it', p.tbl) END,
			   CASE WHEN c.relkind IN ('r', 'p')
					THEN format('SELECT teamacl.unprotect(%L); SELECT teamacl.protect(%L, %L, %L, %L, %L, %L); -- protects every child',
								COALESCE(p.parent, p.tbl), COALESCE(p.parent, p.tbl), p.team_column, p.select_permission,
								p.insert_permission, p.update_permission, p.delete_permission)
					ELSE format('REVOKE ALL ON %s FROM PUBLIC; -- and from every role that serves end users', d.child) END
		  FROM teamacl.protected_tables p
		 CROSS JOIN LATERAL teamacl_internal._descendants(p.tbl) d
		  JOIN pg_class c ON c.oid OPERATOR(pg_catalog.=) d.child
		 WHERE NOT EXISTS (SELECT 1 FROM teamacl.protected_tables x WHERE x.tbl OPERATOR(pg_catalog.=) d.child)
		   AND (teamacl_internal._protected_ancestor(d.child)).tbl OPERATOR(pg_catalog.=) p.tbl
		 ORDER BY 1
	LOOP
		severity := 'error';
		RETURN NEXT;
	END LOOP;

	-- privileges row-level security does not govern, held by roles that are
	-- subject to the policies: TRUNCATE empties every team's rows, TRIGGER
	-- runs the grantee's code on everybody's writes, REFERENCES lets a
	-- foreign key probe for other teams' values
	FOR object, severity, problem, fix IN
		SELECT t.tbl::text,
			   CASE WHEN a.privilege_type OPERATOR(pg_catalog.=) 'REFERENCES' THEN 'warning' ELSE 'error' END,
			   format('%s holds %s, which row-level security does not govern%s',
					  CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC' ELSE format('role %I', r.rolname) END,
					  a.privilege_type,
					  CASE a.privilege_type WHEN 'TRUNCATE' THEN ': it can empty every team''s rows'
											WHEN 'TRIGGER' THEN ': its triggers run on every team''s writes'
											ELSE ': a foreign key can probe other teams'' values' END),
			   format('REVOKE %s ON %s FROM %s;', a.privilege_type, t.tbl,
					  CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END)
		  FROM teamacl.protected_tables t
		  JOIN pg_class c ON c.oid OPERATOR(pg_catalog.=) t.tbl
		 CROSS JOIN LATERAL aclexplode(c.relacl) a
		  LEFT JOIN pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.grantee
		 WHERE a.privilege_type IN ('TRUNCATE', 'TRIGGER', 'REFERENCES')
		   AND a.grantee OPERATOR(pg_catalog.<>) c.relowner
		   AND (a.grantee OPERATOR(pg_catalog.=) 0 OR NOT (r.rolsuper OR r.rolbypassrls))
		 ORDER BY 1, 3
	LOOP
		RETURN NEXT;
	END LOOP;

	-- login-role mappings whose role was dropped, or renamed since
	FOR object, severity, problem, fix IN
		SELECT u.email,
			   CASE WHEN r.oid IS NULL THEN 'warning' ELSE 'info' END,
			   CASE WHEN r.oid IS NULL THEN format('is mapped to login role %I, which no longer exists', u.db_role)
					ELSE format('is mapped to login role %I, which was renamed from %I', r.rolname, u.db_role) END,
			   CASE WHEN r.oid IS NULL THEN format('UPDATE teamacl.users SET db_role = NULL WHERE email = %L;', u.email)
					ELSE format('UPDATE teamacl.users SET db_role = %L WHERE email = %L; -- records the new name (dumps carry it)', r.rolname, u.email) END
		  FROM teamacl.users u
		  LEFT JOIN pg_roles r ON r.oid OPERATOR(pg_catalog.=) u.db_role_oid
		 WHERE u.db_role IS NOT NULL
		   AND (r.oid IS NULL OR r.rolname OPERATOR(pg_catalog.<>) u.db_role)
		 ORDER BY 1
	LOOP
		RETURN NEXT;
	END LOOP;

	-- API keys that never expire, or whose creator left the key's team
	FOR object, problem, fix IN
		SELECT format('API key %s (%s)', k.id, k.name),
			   CASE WHEN m.user_id IS NULL
					THEN format('its creator %s is no longer a member of the team: it grants nothing', u.email)
					ELSE 'never expires' END,
			   format('UPDATE teamacl.api_keys SET revoked_at = now() WHERE id = %L;', k.id)
		  FROM teamacl.api_keys k
		  JOIN teamacl.users u ON u.id OPERATOR(pg_catalog.=) k.created_by
		  LEFT JOIN teamacl.members m ON m.team_id OPERATOR(pg_catalog.=) k.team_id
			   AND m.user_id OPERATOR(pg_catalog.=) k.created_by
		 WHERE k.revoked_at IS NULL
		   AND (k.expires_at IS NULL OR k.expires_at OPERATOR(pg_catalog.>) pg_catalog.now())
		   AND (m.user_id IS NULL OR k.expires_at IS NULL)
		 ORDER BY 1
	LOOP
		severity := 'warning';
		RETURN NEXT;
	END LOOP;

	-- other permissive policies on a protected table are OR-ed with
	-- teamacl's and widen what it allows
	FOR object, problem, fix IN
		SELECT c.oid::regclass::text,
			   format('permissive policy %I is OR-ed with teamacl''s policies and widens access', p.polname),
			   format('DROP POLICY %I ON %s; -- or recreate it AS RESTRICTIVE', p.polname, c.oid::regclass)
		  FROM pg_policy p
		  JOIN pg_class c ON c.oid OPERATOR(pg_catalog.=) p.polrelid
		  JOIN teamacl.protected_tables t ON t.tbl::oid OPERATOR(pg_catalog.=) c.oid
		 WHERE p.polpermissive AND p.polname NOT LIKE 'teamacl\_%'
		 ORDER BY 1, 2
	LOOP
		severity := 'warning';
		RETURN NEXT;
	END LOOP;

	-- any table whose policies call teamacl: RLS must be enabled and forced
	FOR object, problem, fix IN
		SELECT DISTINCT c.oid::regclass::text,
			   CASE WHEN NOT c.relrowsecurity THEN 'has teamacl policies but row-level security is disabled'
					ELSE 'has teamacl policies but row-level security is not forced (the owner bypasses it)' END,
			   format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;', c.oid::regclass)
		  FROM pg_policy p JOIN pg_class c ON c.oid OPERATOR(pg_catalog.=) p.polrelid
		 WHERE c.relnamespace OPERATOR(pg_catalog.<>) 'teamacl'::regnamespace
		   AND (pg_get_expr(p.polqual, p.polrelid) ~ 'teamacl\.' OR pg_get_expr(p.polwithcheck, p.polrelid) ~ 'teamacl\.')
		   AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
		 ORDER BY 1
	LOOP
		severity := 'error';
		RETURN NEXT;
	END LOOP;

	-- teamacl policies that protect() did not create
	FOR object, problem IN
		SELECT c.oid::regclass::text, format('policy %I calls teamacl but was not created by teamacl.protect()', p.polname)
		  FROM pg_policy p JOIN pg_class c ON c.oid OPERATOR(pg_catalog.=) p.polrelid
		 WHERE c.relnamespace OPERATOR(pg_catalog.<>) 'teamacl'::regnamespace
		   AND (pg_get_expr(p.polqual, p.polrelid) ~ 'teamacl\.' OR pg_get_expr(p.polwithcheck, p.polrelid) ~ 'teamacl\.')
		   AND NOT (p.polname LIKE 'teamacl\_%'
					AND EXISTS (SELECT 1 FROM teamacl.protected_tables t WHERE t.tbl OPERATOR(pg_catalog.=) c.oid))
		 ORDER BY 1, 2
	LOOP
		severity := 'info';
		fix := 'Check the policy by hand, or use teamacl.protect() so doctor() can watch it.';
		RETURN NEXT;
	END LOOP;

	-- views reading protected tables with their owner's rights; an owner
	-- that bypasses RLS (a superuser) exposes every row
	FOR object, severity, problem, fix IN
		SELECT DISTINCT v.oid::regclass::text,
			   CASE WHEN o.rolsuper OR o.rolbypassrls THEN 'error' ELSE 'warning' END,
			   format('view reads protected table %s with its owner''s rights (no security_invoker)%s', d.refobjid::regclass,
					  CASE WHEN o.rolsuper OR o.rolbypassrls THEN '; its owner bypasses row-level security, so it shows every row' ELSE '' END),
			   format('ALTER VIEW %s SET (security_invoker = true);', v.oid::regclass)
		  FROM pg_rewrite r
		  JOIN pg_class v ON v.oid OPERATOR(pg_catalog.=) r.ev_class AND v.relkind IN ('v', 'm')
		  JOIN pg_roles o ON o.oid OPERATOR(pg_catalog.=) v.relowner
		  JOIN pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_rewrite'::regclass AND d.objid OPERATOR(pg_catalog.=) r.oid
		  JOIN teamacl.protected_tables t ON t.tbl::oid OPERATOR(pg_catalog.=) d.refobjid
		 WHERE v.relnamespace OPERATOR(pg_catalog.<>) 'teamacl'::regnamespace
		   AND NOT COALESCE(v.reloptions @> ARRAY['security_invoker=true'] OR v.reloptions @> ARRAY['security_invoker=on'], false)
		 ORDER BY 1, 3
	LOOP
		RETURN NEXT;
	END LOOP;

	-- roles that bypass row-level security and can read protected tables
	FOR object, problem IN
		SELECT DISTINCT r.rolname::text, format('role bypasses row-level security and can read %s', t.tbl)
		  FROM pg_roles r CROSS JOIN teamacl.protected_tables t
		 WHERE r.rolbypassrls AND NOT r.rolsuper
		   AND has_table_privilege(r.oid, t.tbl, 'SELECT')
		 ORDER BY 1, 2
	LOOP
		severity := 'warning';
		fix := format('ALTER ROLE %I NOBYPASSRLS; -- or make sure it never serves end users', object);
		RETURN NEXT;
	END LOOP;

	-- who may name end users
	FOR object, severity, problem, fix IN
		SELECT CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END,
			   CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'error' ELSE 'info' END,
			   'may call teamacl.set_user() and act as any user',
			   CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0
					THEN 'REVOKE EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) FROM PUBLIC;'
					ELSE 'Expected for the application''s login role only.' END
		  FROM pg_proc p, aclexplode(p.proacl) a
		 WHERE p.oid OPERATOR(pg_catalog.=) 'teamacl.set_user(uuid, boolean)'::regprocedure
		   AND a.privilege_type OPERATOR(pg_catalog.=) 'EXECUTE'
		   AND a.grantee OPERATOR(pg_catalog.<>) p.proowner
		 ORDER BY 1
	LOOP
		RETURN NEXT;
	END LOOP;

	-- SECURITY DEFINER functions that do not pin search_path
	FOR object IN
		SELECT p.oid::regprocedure::text
		  FROM pg_proc p
		 WHERE p.prosecdef
		   AND p.pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
		   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=%')
		 ORDER BY 1
	LOOP
		severity := 'warning';
		problem := 'SECURITY DEFINER function with a mutable search_path';
		fix := format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp;', object);
		RETURN NEXT;
	END LOOP;
END
$$;
COMMENT ON FUNCTION teamacl.doctor() IS
	'One row per problem a DBA should look at: protected tables without a usable index or with unforced RLS, unprotected partitions and children, privileges RLS does not govern, stale login-role mappings, API keys without expiry or whose creator left, drifted or foreign teamacl policies, definer views, BYPASSRLS readers, set_user grantees, definer functions without a pinned search_path';

-- sql/src/privileges.sql
--
-- What PUBLIC may not use: the internal helpers are for teamacl's own
-- functions, which run as the extension's owner, and for its triggers and
-- policies, which need no privilege on them.  Runs last, after every
-- helper exists.  (Grants on the API and the tables are made next to each
-- object.)

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA teamacl_internal FROM PUBLIC;

