-- Application-role coverage: every public function of schema teamacl and
-- every column of every teamacl view is exercised as a non-superuser that
-- holds only what the README tells a DBA to grant:
--   regress_cov_app      the application's login role: EXECUTE on
--                        set_user(uuid, boolean), set_api_key(text, boolean)
--                        and SELECT, INSERT, UPDATE,
--                        DELETE on a protect()ed application table
--   regress_cov_auth     the authentication service: EXECUTE on
--                        register_user, set_sign_in_method, authenticate
--   regress_cov_catalog  the catalogue manager: EXECUTE on define_permission
--   regress_cov_mailer   the mailer: SELECT, UPDATE (processed_at) on outbox
--   regress_cov_owner    owns the application tables (protect is "table
--                        owner only"); no teamacl grant
--   regress_cov_frank    a role mapped to a user by register_user(db_role)
-- Every call goes through pg_temp.cover(), which runs it under SET ROLE
-- (naming the end user with set_user() where one is given) and records the
-- role, current_user while it ran and the outcome in pg_temp.coverage.  The
-- end of the file lists, from the catalog, every public function, view
-- column and setting without coverage: that list must stay empty, so a new
-- public function or view column without an entry here fails this test.
-- Only a successful run as a non-superuser covers a function or column; the
-- expected errors (expected <> 'ok', with the README's reason in note) are
-- extra checks of what the README documents for that role.  It runs in a
-- server that preloads teamacl, where every setting exists.
-- runs: with preload
\set SHOW_CONTEXT never
CREATE EXTENSION teamacl CASCADE;

------------------------------------------------------------------------
-- roles, with exactly the grants the README gives them
------------------------------------------------------------------------
CREATE ROLE regress_cov_app LOGIN;
GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean), teamacl.set_api_key(text, boolean) TO regress_cov_app;
CREATE ROLE regress_cov_auth;
GRANT EXECUTE ON FUNCTION teamacl.register_user(text, text, name, uuid),
	teamacl.set_sign_in_method(uuid, text), teamacl.authenticate(text, text) TO regress_cov_auth;
CREATE ROLE regress_cov_catalog;
GRANT EXECUTE ON FUNCTION teamacl.define_permission(text, text) TO regress_cov_catalog;
CREATE ROLE regress_cov_mailer;
GRANT SELECT, UPDATE (processed_at) ON teamacl.outbox TO regress_cov_mailer;
CREATE ROLE regress_cov_owner;
CREATE ROLE regress_cov_frank;
CREATE TABLE regress_cov_docs (id int PRIMARY KEY, team_id uuid NOT NULL, title text NOT NULL);
CREATE INDEX ON regress_cov_docs (team_id);
CREATE TABLE regress_cov_notes (id int PRIMARY KEY, team_id uuid NOT NULL);
CREATE INDEX ON regress_cov_notes (team_id);
ALTER TABLE regress_cov_docs OWNER TO regress_cov_owner;
ALTER TABLE regress_cov_notes OWNER TO regress_cov_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON regress_cov_docs TO regress_cov_app;

-- none of them is privileged, and these are all the grants they hold (the
-- owner's rows are its own table's privileges)
SELECT rolname, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls,
       (SELECT count(*) FROM pg_auth_members m WHERE m.member = r.oid) AS member_of
  FROM pg_roles r WHERE rolname LIKE 'regress\_cov\_%' ORDER BY rolname;
SELECT r.rolname, g.object, g.privilege_type
  FROM pg_roles r
  JOIN (SELECT a.grantee, p.oid::regprocedure::text AS object, a.privilege_type
          FROM pg_proc p, aclexplode(p.proacl) a
        UNION ALL
        SELECT a.grantee, c.oid::regclass::text, a.privilege_type
          FROM pg_class c, aclexplode(c.relacl) a
        UNION ALL
        SELECT a.grantee, format('%s (%I)', c.oid::regclass, att.attname), a.privilege_type
          FROM pg_class c JOIN pg_attribute att ON att.attrelid = c.oid, aclexplode(att.attacl) a
        UNION ALL
        SELECT a.grantee, 'schema ' || n.nspname, a.privilege_type
          FROM pg_namespace n, aclexplode(n.nspacl) a) g ON g.grantee = r.oid
 WHERE r.rolname LIKE 'regress\_cov\_%'
   AND g.privilege_type <> 'MAINTAIN'   -- an owner's privilege from PostgreSQL 17 on
 ORDER BY 1, 2, 3;

------------------------------------------------------------------------
-- the coverage table and the helper that fills it
------------------------------------------------------------------------
CREATE TEMP TABLE coverage (
	id serial PRIMARY KEY,
	object text NOT NULL,        -- teamacl.f(argtypes), teamacl.view.column, teamacl.view.*, setting x, table t
	fn regprocedure,             -- set when the object is a function
	role name NOT NULL,          -- the role the statement was run as (SET ROLE)
	who text,                    -- the teamacl user named with set_user(), if any
	sql text NOT NULL,
	expected text NOT NULL,      -- 'ok', or the SQLSTATE the README documents for that role
	note text,
	ran_as name,                 -- current_user while the statement ran
	ran_as_super boolean,
	outcome text NOT NULL,       -- 'ok' or the SQLSTATE raised
	message text,
	rows bigint,
	result text                  -- first column of the first row
);
-- values kept from earlier calls: users' and teams' ids, tokens
CREATE TEMP TABLE kept (name text PRIMARY KEY, value text);

-- uuids, tokens and timestamps are masked in what is printed
CREATE FUNCTION pg_temp.mask(t text) RETURNS text LANGUAGE sql IMMUTABLE RETURN
	regexp_replace(regexp_replace(regexp_replace(t,
		'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g'),
		'(tacl_[a-z]{3}_)[A-Za-z0-9_-]{43}', '\1<token>', 'g'),
		'\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d(:\d\d)?)?', '<timestamp>', 'g');

-- cover(object, role, who, sql, expected, note): run sql as role (and as the
-- teamacl user kept under the name who), record it, and print 'ok' with the
-- result (one row) or the row count, or 'SQLSTATE: message'.  An outcome
-- other than the expected one is flagged.
CREATE FUNCTION pg_temp.cover(object text, role name, who text, sql text,
							  expected text DEFAULT 'ok', note text DEFAULT NULL)
	RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
	v_uid uuid;
	v_query boolean := sql ~* '^\s*(SELECT|WITH|VALUES|TABLE)\M';
	v_row record;
	v_ran name;
	v_super boolean;
	v_outcome text;
	v_msg text;
	v_rows bigint;
	v_result text;
	v_print text;
BEGIN
	IF who IS NOT NULL THEN
		SELECT k.value::uuid INTO STRICT v_uid FROM pg_temp.kept k WHERE k.name = who;
	END IF;
	BEGIN
		EXECUTE format('SET LOCAL ROLE %I', role);
		v_ran := current_user;
		SELECT r.rolsuper INTO v_super FROM pg_roles r WHERE r.rolname = current_user;
		IF who IS NOT NULL THEN
			PERFORM teamacl.set_user(v_uid);
		END IF;
		IF v_query THEN
			EXECUTE sql INTO v_row;
		ELSE
			EXECUTE sql;
		END IF;
		GET DIAGNOSTICS v_rows = ROW_COUNT;
		IF v_query THEN
			v_result := (SELECT j.value FROM json_each_text(row_to_json(v_row)) j LIMIT 1);
		END IF;
		IF who IS NOT NULL THEN
			PERFORM teamacl.set_user(NULL);
		END IF;
		RESET ROLE;
		v_outcome := 'ok';
	EXCEPTION WHEN OTHERS THEN
		v_outcome := SQLSTATE;
		v_msg := SQLERRM;
	END;
	INSERT INTO pg_temp.coverage (object, fn, role, who, sql, expected, note, ran_as, ran_as_super,
								  outcome, message, rows, result)
	VALUES (object, CASE WHEN object ~ '^\S+\(.*\)$' THEN to_regprocedure(object) END, role, who, sql, expected, note, v_ran, v_super,
			v_outcome, v_msg, v_rows, v_result);
	IF v_outcome <> 'ok' THEN
		v_print := v_outcome || ': ' || pg_temp.mask(v_msg);
	ELSIF v_query AND v_rows = 1 THEN
		v_print := 'ok' || CASE WHEN v_result IS NULL THEN ': NULL' WHEN v_result = '' THEN ''
								ELSE ': ' || pg_temp.mask(v_result) END;
	ELSIF v_query OR v_rows > 0 THEN
		v_print := format('ok (%s row%s)', v_rows, CASE WHEN v_rows = 1 THEN '' ELSE 's' END);
	ELSE
		v_print := 'ok';
	END IF;
	IF v_outcome IS DISTINCT FROM expected THEN
		v_print := v_print || '   <== UNEXPECTED, expected ' || expected;
	END IF;
	RETURN v_print;
END
$f$;

-- keep(name): keep the result of the last call under a name and return it
CREATE FUNCTION pg_temp.keep(name text) RETURNS text LANGUAGE sql AS $f$
	INSERT INTO pg_temp.kept (name, value)
	SELECT keep.name, c.result FROM pg_temp.coverage c WHERE c.outcome = 'ok' ORDER BY c.id DESC LIMIT 1
	RETURNING value;
$f$;

------------------------------------------------------------------------
-- the authentication service signs people up
------------------------------------------------------------------------
SELECT pg_temp.cover('teamacl.register_user(text,text,name,uuid)', 'regress_cov_auth', NULL,
	$$SELECT teamacl.register_user('Alice@Example.com', 'Alice')$$) AS register_alice;
SELECT pg_temp.keep('alice') AS alice \gset
SELECT pg_temp.cover('teamacl.register_user(text,text,name,uuid)', 'regress_cov_auth', NULL,
	$$SELECT teamacl.register_user('bob@example.com', 'Bob')$$) AS register_bob;
SELECT pg_temp.keep('bob') AS bob \gset
SELECT pg_temp.cover('teamacl.register_user(text,text,name,uuid)', 'regress_cov_auth', NULL,
	$$SELECT teamacl.register_user('carol@example.com', 'Carol')$$) AS register_carol;
SELECT pg_temp.keep('carol') AS carol \gset
SELECT pg_temp.cover('teamacl.register_user(text,text,name,uuid)', 'regress_cov_auth', NULL,
	$$SELECT teamacl.register_user('dave@example.com', 'Dave')$$) AS register_dave;
SELECT pg_temp.keep('dave') AS dave \gset
SELECT pg_temp.cover('teamacl.register_user(text,text,name,uuid)', 'regress_cov_auth', NULL,
	$$SELECT teamacl.register_user('jack@example.com', 'Jack')$$) AS register_jack;
SELECT pg_temp.keep('jack') AS jack \gset
SELECT pg_temp.cover('teamacl.register_user(text,text,name,uuid)', 'regress_cov_auth', NULL,
	$$SELECT teamacl.register_user('kate@example.com', 'Kate')$$) AS register_kate;
SELECT pg_temp.keep('kate') AS kate \gset
-- a login role mapped to a user (README, Identity 3)
SELECT pg_temp.cover('teamacl.register_user(text,text,name,uuid)', 'regress_cov_auth', NULL,
	$$SELECT teamacl.register_user('frank@example.com', 'Frank', db_role => 'regress_cov_frank')$$) AS register_frank;
SELECT pg_temp.keep('frank') AS frank \gset
SELECT pg_temp.cover('teamacl.set_sign_in_method(uuid,text)', 'regress_cov_auth', NULL,
	format('SELECT teamacl.set_sign_in_method(%L, %L)', :'alice', 'password_2fa')) AS alice_2fa;
SELECT pg_temp.cover('teamacl.set_sign_in_method(uuid,text)', 'regress_cov_auth', NULL,
	format('SELECT teamacl.set_sign_in_method(%L, %L)', :'bob', 'google')) AS bob_google;
-- the superuser's view of what the service did
SELECT email, display_name, registered, sign_in_method, db_role
  FROM teamacl.users ORDER BY email;
SELECT id AS alice_personal FROM teamacl.teams WHERE personal_owner = :'alice' \gset
SELECT id AS bob_personal FROM teamacl.teams WHERE personal_owner = :'bob' \gset
SELECT id AS frank_personal FROM teamacl.teams WHERE personal_owner = :'frank' \gset

------------------------------------------------------------------------
-- identity
------------------------------------------------------------------------
-- set_user() itself (cover() also calls it for every call that names a user)
SELECT pg_temp.cover('teamacl.set_user(uuid,boolean)', 'regress_cov_app', NULL,
	format('SELECT teamacl.current_user_id() = %L FROM (SELECT teamacl.set_user(%L) OFFSET 0) s', :'bob', :'bob')) AS app_sets_bob;
SELECT pg_temp.cover('teamacl.set_user(uuid,boolean)', 'regress_cov_app', NULL,
	$$SELECT teamacl.set_user('5d2f2b1e-3c39-4f4e-9b7a-2d8c0a6f1e11')$$, '42704',
	'documented: unknown user 42704') AS app_sets_unknown;
SELECT pg_temp.cover('teamacl.set_user(uuid,boolean)', 'regress_cov_auth', NULL,
	format('SELECT teamacl.set_user(%L)', :'bob'), '42501',
	'documented: EXECUTE revoked from PUBLIC') AS auth_sets_user;
SELECT pg_temp.cover('teamacl.current_user_id()', 'regress_cov_app', 'alice',
	format('SELECT teamacl.current_user_id() = %L', :'alice')) AS app_names_alice;
SELECT pg_temp.cover('teamacl.current_user_id()', 'regress_cov_app', NULL,
	'SELECT teamacl.current_user_id()') AS app_names_nobody;
SELECT pg_temp.cover('teamacl.current_user_id()', 'regress_cov_frank', NULL,
	format('SELECT teamacl.current_user_id() = %L', :'frank')) AS mapped_role_is_frank;
SELECT pg_temp.cover('teamacl.has_permission(uuid,text)', 'regress_cov_frank', NULL,
	format('SELECT teamacl.has_permission(%L, %L)', :'frank_personal', 'team.delete')) AS frank_owns_personal;
SELECT pg_temp.cover('teamacl.normalize_email(text)', 'regress_cov_app', NULL,
	$$SELECT teamacl.normalize_email('  Alice@Example.COM ')$$) AS normalized;

------------------------------------------------------------------------
-- teams
------------------------------------------------------------------------
SELECT pg_temp.cover('teamacl.create_team(text,text)', 'regress_cov_app', 'alice',
	$$SELECT teamacl.create_team('Acme', 'pro')$$) AS create_acme;
SELECT pg_temp.keep('acme') AS acme \gset
SELECT pg_temp.cover('teamacl.create_team(text,text)', 'regress_cov_app', 'alice',
	$$SELECT teamacl.create_team('Spare')$$) AS create_spare;
SELECT pg_temp.keep('spare') AS spare \gset
SELECT pg_temp.cover('teamacl.create_team(text,text)', 'regress_cov_app', 'dave',
	$$SELECT teamacl.create_team('Dave Co')$$) AS create_daveco;
SELECT pg_temp.keep('daveco') AS daveco \gset
SELECT pg_temp.cover('teamacl.personal_team()', 'regress_cov_app', 'alice',
	format('SELECT teamacl.personal_team() = %L', :'alice_personal')) AS personal_is_alices;
SELECT pg_temp.cover('teamacl.current_team()', 'regress_cov_app', 'alice',
	format('SELECT teamacl.current_team() = %L', :'alice_personal')) AS current_defaults_to_personal;
SELECT pg_temp.cover('teamacl.switch_team(uuid)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.switch_team(%L)', :'acme')) AS switch_to_acme;
SELECT pg_temp.cover('teamacl.current_team()', 'regress_cov_app', 'alice',
	format('SELECT teamacl.current_team() = %L', :'acme')) AS current_is_acme;
SELECT pg_temp.cover('teamacl.current_team()', 'regress_cov_app', 'dave',
	format('SELECT teamacl.current_team() = teamacl.personal_team()')) AS dave_unaffected;
SELECT pg_temp.cover('teamacl.update_team(uuid,text,boolean,interval,boolean,jsonb)', 'regress_cov_app', 'alice',
	format($$SELECT teamacl.update_team(%L, name => 'Acme Inc', invitation_validity => '3 days', settings => '{"color": "red"}')$$,
		   :'acme')) AS update_acme;
SELECT pg_temp.cover('teamacl.set_plan(uuid,text)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.set_plan(%L, %L)', :'acme', 'enterprise')) AS acme_enterprise;
SELECT pg_temp.cover('teamacl.delete_team(uuid)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.delete_team(%L)', :'spare')) AS delete_spare;
SELECT name, plan, invitation_validity, settings FROM teamacl.teams
 WHERE id IN (:'acme', :'spare', :'daveco') ORDER BY name;

------------------------------------------------------------------------
-- members and roles
------------------------------------------------------------------------
SELECT pg_temp.cover('teamacl.add_member(uuid,text,text)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.add_member(%L, %L, %L) = %L', :'acme', 'bob@example.com', 'member', :'bob')) AS add_bob;
SELECT pg_temp.cover('teamacl.add_member(uuid,text,text)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.add_member(%L, %L, %L) = %L', :'acme', 'dave@example.com', 'viewer', :'dave')) AS add_dave;
SELECT pg_temp.cover('teamacl.add_member(uuid,text,text)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.add_member(%L, %L, %L) = %L', :'acme', 'kate@example.com', 'viewer', :'kate')) AS add_kate;
SELECT pg_temp.cover('teamacl.change_role(uuid,uuid,text)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.change_role(%L, %L, %L)', :'acme', :'dave', 'billing')) AS dave_to_billing;
SELECT pg_temp.cover('teamacl.has_permission(uuid,text)', 'regress_cov_app', 'dave',
	format('SELECT teamacl.has_permission(%L, %L)', :'acme', 'billing.read')) AS dave_reads_billing;
SELECT pg_temp.cover('teamacl.remove_member(uuid,uuid)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.remove_member(%L, %L)', :'acme', :'dave')) AS remove_dave;
SELECT pg_temp.cover('teamacl.leave_team(uuid)', 'regress_cov_app', 'kate',
	format('SELECT teamacl.leave_team(%L)', :'acme')) AS kate_leaves;
SELECT pg_temp.cover('teamacl.create_role(text,text[],uuid,text,boolean)', 'regress_cov_app', 'alice',
	format($$SELECT teamacl.create_role('auditor', ARRAY['team.read', 'audit.read'], %L, 'Reads the log')$$, :'acme')) AS team_role;
SELECT pg_temp.cover('teamacl.drop_role(text,uuid)', 'regress_cov_app', 'alice',
	format($$SELECT teamacl.drop_role('auditor', %L)$$, :'acme')) AS drop_team_role;
-- the global catalogue belongs to the catalogue manager
SELECT pg_temp.cover('teamacl.define_permission(text,text)', 'regress_cov_catalog', NULL,
	$$SELECT teamacl.define_permission('reports.export', 'Export reports')$$) AS define_permission;
SELECT pg_temp.cover('teamacl.create_role(text,text[],uuid,text,boolean)', 'regress_cov_catalog', NULL,
	$$SELECT teamacl.create_role('exporter', ARRAY['team.read', 'reports.export'])$$) AS global_role;
SELECT pg_temp.cover('teamacl.drop_role(text,uuid)', 'regress_cov_catalog', NULL,
	$$SELECT teamacl.drop_role('exporter')$$) AS drop_global_role;
SELECT pg_temp.cover('teamacl.define_permission(text,text)', 'regress_cov_app', 'alice',
	$$SELECT teamacl.define_permission('reports.print')$$, '42501',
	'documented: EXECUTE revoked from PUBLIC') AS app_defines_permission;
SELECT pg_temp.cover('teamacl.create_role(text,text[],uuid,text,boolean)', 'regress_cov_app', 'alice',
	$$SELECT teamacl.create_role('printer', ARRAY['team.read'])$$, '42501',
	'documented: global roles are for catalogue managers') AS app_creates_global_role;
SELECT name, description, builtin FROM teamacl.permissions WHERE NOT builtin ORDER BY name;
SELECT count(*) AS custom_roles_left FROM teamacl.roles WHERE NOT builtin;

------------------------------------------------------------------------
-- invitations
------------------------------------------------------------------------
SELECT pg_temp.cover('teamacl.invite(uuid,text,text,interval)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.invite(%L, %L, %L)', :'acme', 'carol@example.com', 'viewer')) AS invite_carol;
SELECT pg_temp.keep('tok_carol') AS tok_carol \gset
SELECT pg_temp.cover('teamacl.invitation_info(text)', 'regress_cov_app', 'carol',
	format('SELECT concat_ws(%L, team_name, role, email, status, invited_by = %L, expires_at > now()) FROM teamacl.invitation_info(%L)',
		   ' / ', :'alice', :'tok_carol')) AS carol_previews;
SELECT pg_temp.cover('teamacl.accept_invitation(text)', 'regress_cov_app', 'carol',
	format('SELECT teamacl.accept_invitation(%L) = %L', :'tok_carol', :'acme')) AS carol_accepts;
SELECT pg_temp.cover('teamacl.invite(uuid,text,text,interval)', 'regress_cov_app', 'alice',
	format($$SELECT teamacl.invite(%L, %L, %L, valid_for => '2 days')$$, :'acme', 'gina@example.com', 'member')) AS invite_gina;
SELECT pg_temp.cover('teamacl.invite(uuid,text,text,interval)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.invite(%L, %L, %L)', :'acme', 'jack@example.com', 'viewer')) AS invite_jack;
SELECT pg_temp.keep('tok_jack') AS tok_jack \gset
SELECT pg_temp.cover('teamacl.decline_invitation(text)', 'regress_cov_app', 'jack',
	format('SELECT teamacl.decline_invitation(%L)', :'tok_jack')) AS jack_declines;
SELECT pg_temp.cover('teamacl.invite(uuid,text,text,interval)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.invite(%L, %L, %L)', :'acme', 'hank@example.com', 'viewer')) AS invite_hank;
SELECT pg_temp.cover('teamacl.invite(uuid,text,text,interval)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.invite(%L, %L, %L)', :'acme', 'ivy@example.com', 'viewer')) AS invite_ivy;
SELECT id AS inv_hank FROM teamacl.invitations WHERE email = 'hank@example.com' \gset
SELECT id AS inv_ivy FROM teamacl.invitations WHERE email = 'ivy@example.com' \gset
SELECT pg_temp.cover('teamacl.resend_invitation(uuid)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.resend_invitation(%L)', :'inv_hank')) AS resend_hank;
SELECT pg_temp.cover('teamacl.revoke_invitation(uuid)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.revoke_invitation(%L)', :'inv_hank')) AS revoke_hank;
SELECT pg_temp.cover('teamacl.delete_invitation(uuid)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.delete_invitation(%L)', :'inv_ivy')) AS delete_ivy;
-- alice, bob, carol and gina's pending invitation
SELECT pg_temp.cover('teamacl.seats_used(uuid)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.seats_used(%L)', :'acme')) AS acme_seats;
SELECT email, role_name, status FROM teamacl.invitations ORDER BY email;

------------------------------------------------------------------------
-- passwords
------------------------------------------------------------------------
SELECT pg_temp.cover('teamacl.create_member(uuid,text,text,text,text)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.create_member(%L, %L, %L, %L, %L)', :'acme', 'erin@example.com', 'Erin', 'Erin!pass1', 'member')) AS create_erin;
SELECT pg_temp.keep('erin') AS erin \gset
SELECT pg_temp.cover('teamacl.set_password(text)', 'regress_cov_app', 'erin',
	$$SELECT teamacl.set_password('N3w!passw0rd')$$) AS erin_new_password;
SELECT pg_temp.cover('teamacl.authenticate(text,text)', 'regress_cov_auth', NULL,
	format('SELECT teamacl.authenticate(%L, %L) = %L', 'Erin@example.com', 'N3w!passw0rd', :'erin')) AS erin_signs_in;
SELECT pg_temp.cover('teamacl.authenticate(text,text)', 'regress_cov_auth', NULL,
	format('SELECT teamacl.authenticate(%L, %L)', 'erin@example.com', 'Erin!pass1'), '28P01',
	'documented: 28P01 on failure (the old password)') AS old_password_refused;

------------------------------------------------------------------------
-- checks
------------------------------------------------------------------------
SELECT pg_temp.cover('teamacl.has_permission(uuid,text)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.has_permission(%L, %L)', :'acme', 'team.delete')) AS owner_may_delete;
SELECT pg_temp.cover('teamacl.has_permission(uuid,text)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.has_permission(%L, %L)', :'daveco', 'team.read')) AS not_in_daveco;
SELECT pg_temp.cover('teamacl.has_permission(uuid,text)', 'regress_cov_app', 'bob',
	format('SELECT teamacl.has_permission(%L, %L)', :'acme', 'resources.update')) AS member_updates;
SELECT pg_temp.cover('teamacl.has_permission(uuid,text)', 'regress_cov_app', 'bob',
	format('SELECT teamacl.has_permission(%L, %L)', :'acme', 'members.invite')) AS member_may_not_invite;
SELECT pg_temp.cover('teamacl.has_permission(uuid,text)', 'regress_cov_app', 'dave',
	format('SELECT teamacl.has_permission(%L, %L)', :'acme', 'billing.read')) AS removed_dave;
SELECT pg_temp.cover('teamacl.has_permission(uuid,text)', 'regress_cov_app', NULL,
	format('SELECT teamacl.has_permission(%L, %L)', :'acme', 'team.read')) AS nobody;
SELECT pg_temp.cover('teamacl.teams_with(text)', 'regress_cov_app', 'alice',
	format('SELECT cardinality(w) = 2 AND %L = ANY (w) AND %L = ANY (w) AND NOT %L = ANY (w) FROM teamacl.teams_with(%L) w',
		   :'acme', :'alice_personal', :'daveco', 'team.delete')) AS alice_teams_with;
SELECT pg_temp.cover('teamacl.teams_with(text)', 'regress_cov_app', 'bob',
	format('SELECT w @> a AND w <@ a FROM teamacl.teams_with(%L) w, CAST(ARRAY[%L, %L] AS uuid[]) a',
		   'resources.create', :'acme', :'bob_personal')) AS bob_teams_with;
SELECT pg_temp.cover('teamacl.permissions(uuid)', 'regress_cov_app', 'bob',
	format('SELECT array_to_string(teamacl.permissions(%L), %L)', :'acme', ' ')) AS bob_permissions;
SELECT pg_temp.cover('teamacl.permissions(uuid)', 'regress_cov_app', 'bob',
	format('SELECT cardinality(teamacl.permissions(%L))', :'daveco')) AS bob_in_daveco;
SELECT pg_temp.cover('teamacl.require(uuid,text)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.require(%L, %L)', :'acme', 'members.remove')) AS alice_requires;
SELECT pg_temp.cover('teamacl.require(uuid,text)', 'regress_cov_app', 'bob',
	format('SELECT teamacl.require(%L, %L)', :'acme', 'members.remove'), '42501',
	'documented: raises 42501 naming the permission and team') AS bob_requires;
SELECT pg_temp.cover('teamacl.cache_stats()', 'regress_cov_app', 'alice',
	format($$SELECT (SELECT users >= 1 AND bytes > 0 AND generation >= 0 FROM teamacl.cache_stats())
	           FROM (SELECT teamacl.has_permission(%L, 'team.read') OFFSET 0) checked$$, :'acme')) AS cache_stats;
-- the shared cache is there exactly when teamacl is preloaded (the setting
-- exists only then); its counters only grow
SELECT pg_temp.cover('teamacl.shared_cache_stats()', 'regress_cov_app', 'alice',
	$$SELECT (slots > 0) = (coalesce(pg_size_bytes(current_setting('teamacl.shared_cache_memory', true)), 0) > 0)
	         AND used BETWEEN 0 AND slots AND (bytes > 0) = (slots > 0)
	         AND hits >= 0 AND misses >= 0 AND publishes >= used AND evictions >= 0
	    FROM teamacl.shared_cache_stats()$$) AS shared_cache_stats;

------------------------------------------------------------------------
-- ownership transfer
------------------------------------------------------------------------
SELECT pg_temp.cover('teamacl.request_ownership_transfer(uuid,uuid,boolean)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.request_ownership_transfer(%L, %L, keep_ownership => true)', :'acme', :'erin')) AS request_transfer;
SELECT pg_temp.keep('tok_confirm') AS tok_confirm \gset
SELECT pg_temp.cover('teamacl.confirm_ownership_transfer(text)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.confirm_ownership_transfer(%L)', :'tok_confirm')) AS confirm_transfer;
SELECT pg_temp.keep('tok_accept') AS tok_accept \gset
SELECT pg_temp.cover('teamacl.accept_ownership_transfer(text)', 'regress_cov_app', 'erin',
	format('SELECT teamacl.accept_ownership_transfer(%L)', :'tok_accept')) AS accept_transfer;
SELECT pg_temp.cover('teamacl.has_permission(uuid,text)', 'regress_cov_app', 'erin',
	format('SELECT teamacl.has_permission(%L, %L)', :'acme', 'team.transfer')) AS erin_is_owner;
SELECT pg_temp.cover('teamacl.request_ownership_transfer(uuid,uuid,boolean)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.request_ownership_transfer(%L, %L)', :'acme', :'bob')) AS request_another;
SELECT pg_temp.cover('teamacl.cancel_ownership_transfer(uuid)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.cancel_ownership_transfer(%L)', :'acme')) AS cancel_transfer;
SELECT u.email, x.keep_ownership, x.status
  FROM teamacl.ownership_transfers x JOIN teamacl.users u ON u.id = x.to_user ORDER BY x.created_at;

------------------------------------------------------------------------
-- row-level security on the application's tables
------------------------------------------------------------------------
SELECT pg_temp.cover('teamacl.protect(regclass,name,text,text,text,text)', 'regress_cov_owner', NULL,
	$$SELECT teamacl.protect('regress_cov_docs')$$) AS owner_protects_docs;
SELECT pg_temp.cover('teamacl.protect(regclass,name,text,text,text,text)', 'regress_cov_app', 'alice',
	$$SELECT teamacl.protect('regress_cov_notes')$$, '42501', 'documented: table owner only') AS app_protects;
SELECT pg_temp.cover('teamacl.protect(regclass,name,text,text,text,text)', 'regress_cov_owner', NULL,
	$$SELECT teamacl.protect('regress_cov_notes', 'team_id', 'team.read', 'team.update', 'team.update', 'team.delete')$$) AS owner_protects_notes;
SELECT pg_temp.cover('teamacl.unprotect(regclass)', 'regress_cov_app', 'alice',
	$$SELECT teamacl.unprotect('regress_cov_notes')$$, '42501', 'documented: table owner only') AS app_unprotects;
SELECT pg_temp.cover('teamacl.unprotect(regclass)', 'regress_cov_owner', NULL,
	$$SELECT teamacl.unprotect('regress_cov_notes')$$) AS owner_unprotects_notes;
SELECT relname, relrowsecurity, relforcerowsecurity,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
  FROM pg_class c WHERE relname IN ('regress_cov_docs', 'regress_cov_notes') ORDER BY relname;
-- the application reads and writes the protected table (the policies call
-- has_permission() as the application role)
SELECT pg_temp.cover('table regress_cov_docs', 'regress_cov_app', 'bob',
	format($$INSERT INTO regress_cov_docs VALUES (1, %L, 'Roadmap'), (2, %L, 'Budget')$$, :'acme', :'acme')) AS bob_inserts;
SELECT pg_temp.cover('table regress_cov_docs', 'regress_cov_app', 'carol',
	format($$INSERT INTO regress_cov_docs VALUES (3, %L, 'Notes')$$, :'acme'), '42501',
	'documented: a viewer lacks resources.create') AS viewer_inserts;
SELECT pg_temp.cover('table regress_cov_docs', 'regress_cov_app', 'carol',
	'SELECT string_agg(title, $$, $$ ORDER BY id) FROM regress_cov_docs') AS viewer_reads;
SELECT pg_temp.cover('table regress_cov_docs', 'regress_cov_app', 'alice',
	$$UPDATE regress_cov_docs SET title = title || ' v2'$$) AS owner_updates;
SELECT pg_temp.cover('table regress_cov_docs', 'regress_cov_app', 'dave',
	'SELECT count(*) FROM regress_cov_docs') AS outsider_reads;
SELECT pg_temp.cover('table regress_cov_docs', 'regress_cov_app', 'bob',
	'DELETE FROM regress_cov_docs WHERE id = 2') AS bob_deletes;
SELECT id, title FROM regress_cov_docs ORDER BY id;
SELECT pg_temp.cover('teamacl.doctor()', 'regress_cov_app', 'alice',
	$$SELECT string_agg(concat_ws(' | ', severity, object, problem), E'\n' ORDER BY severity, object, problem) FROM teamacl.doctor()$$) AS app_runs_doctor;
-- doctor() answers the application role as it answers the superuser
SELECT (SELECT result FROM pg_temp.coverage WHERE object = 'teamacl.doctor()' ORDER BY id DESC LIMIT 1)
     = (SELECT string_agg(concat_ws(' | ', severity, object, problem), E'\n' ORDER BY severity, object, problem)
          FROM teamacl.doctor()) AS doctor_same_for_superuser;

------------------------------------------------------------------------
-- the mailer processes the outbox
------------------------------------------------------------------------
SELECT pg_temp.cover('table teamacl.outbox', 'regress_cov_mailer', NULL,
	$$SELECT string_agg(event, ' ' ORDER BY id) FROM (SELECT id, event FROM teamacl.outbox
	   WHERE processed_at IS NULL ORDER BY id FOR UPDATE SKIP LOCKED) o$$) AS mailer_claims;
SELECT pg_temp.cover('table teamacl.outbox', 'regress_cov_mailer', NULL,
	$$SELECT count(*) FROM teamacl.outbox WHERE payload::text ~ 'tacl_(inv|xfr)_' OR payload::text ~* 'pass'$$) AS no_secrets;
SELECT pg_temp.cover('table teamacl.outbox', 'regress_cov_mailer', NULL,
	'UPDATE teamacl.outbox SET processed_at = now() WHERE processed_at IS NULL') AS mailer_marks_processed;
SELECT pg_temp.cover('table teamacl.outbox', 'regress_cov_app', 'alice',
	'SELECT count(*) FROM teamacl.outbox', '42501',
	'documented: the outbox has no grants') AS app_reads_outbox;

------------------------------------------------------------------------
-- API keys: made by a person, used by the application for a machine
------------------------------------------------------------------------
SELECT pg_temp.cover('teamacl.create_api_key(uuid,text,text,interval)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.create_api_key(%L, %L, %L)', :'acme', 'ci', 'viewer')) AS create_ci_key;
SELECT pg_temp.keep('key_ci') AS key_ci \gset
SELECT pg_temp.cover('teamacl.create_api_key(uuid,text,text,interval)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.create_api_key(%L, %L, %L, %L)', :'acme', 'deploy', 'member', '30 days')) AS create_deploy_key;
SELECT pg_temp.keep('key_deploy') AS key_deploy \gset
SELECT pg_temp.cover('teamacl.set_api_key(text,boolean)', 'regress_cov_app', NULL,
	format('SELECT teamacl.set_api_key(%L)', :'key_ci')) AS set_ci_key;
-- while the key is the identity: its creator, with viewer rights in Acme only
SELECT pg_temp.cover('teamacl.current_api_key_id()', 'regress_cov_app', NULL,
	format($q$SELECT (SELECT teamacl.set_api_key(%L)) IS NOT NULL AND teamacl.current_api_key_id() IS NOT NULL
			   AND teamacl.current_user_id() = %L AND teamacl.has_permission(%L, 'resources.read')
			   AND NOT teamacl.has_permission(%L, 'resources.create') AND NOT teamacl.has_permission(%L, 'team.read')$q$,
		   :'key_ci', :'alice', :'acme', :'acme', :'spare')) AS ci_key_is_a_viewer_of_acme;
SELECT pg_temp.cover('teamacl.current_api_key_id()', 'regress_cov_app', 'alice',
	'SELECT teamacl.current_api_key_id() IS NULL') AS no_key_with_set_user;
SELECT pg_temp.cover('teamacl.team_api_keys', 'regress_cov_app', 'alice',
	$$SELECT id FROM teamacl.team_api_keys WHERE name = 'ci'$$) AS ci_key_id;
SELECT pg_temp.keep('key_ci_id') AS key_ci_id \gset
SELECT pg_temp.cover('teamacl.revoke_api_key(uuid)', 'regress_cov_app', 'alice',
	format('SELECT teamacl.revoke_api_key(%L)', :'key_ci_id')) AS revoke_ci_key;
SELECT pg_temp.cover('teamacl.set_api_key(text,boolean)', 'regress_cov_app', NULL,
	format('SELECT teamacl.set_api_key(%L)', :'key_ci'), '28000', 'documented: a revoked key gets the one key error') AS revoked_key_refused;
SELECT pg_temp.cover('teamacl.create_api_key(uuid,text,text,interval)', 'regress_cov_app', 'bob',
	format('SELECT teamacl.create_api_key(%L, %L, %L)', :'acme', 'mine', 'owner'), '42501',
	'documented: needs api_keys.create') AS member_cannot_create_keys;

------------------------------------------------------------------------
-- the views, as the application role with an identified user
------------------------------------------------------------------------
-- every column on its own, then every view whole
SELECT c.relname AS view, a.attname AS col,
       pg_temp.cover(format('%I.%I.%I', n.nspname, c.relname, a.attname), 'regress_cov_app', 'alice',
                     format('SELECT %I FROM %I.%I', a.attname, n.nspname, c.relname)) AS as_alice
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE n.nspname = 'teamacl' AND c.relkind = 'v'
 ORDER BY c.relname, a.attnum;
SELECT c.relname AS view,
       pg_temp.cover(format('%I.%I.*', n.nspname, c.relname), 'regress_cov_app', 'alice',
                     format('SELECT * FROM %I.%I', n.nspname, c.relname)) AS as_alice
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'teamacl' AND c.relkind = 'v'
 ORDER BY c.relname;
-- and what they show
SELECT pg_temp.cover('teamacl.my_teams.*', 'regress_cov_app', 'alice',
	$$SELECT string_agg(concat_ws(' ', name, personal, plan, role, current), ', ' ORDER BY name) FROM teamacl.my_teams$$) AS alice_my_teams;
SELECT pg_temp.cover('teamacl.my_teams.current', 'regress_cov_app', 'alice',
	format('SELECT team_id = %L FROM teamacl.my_teams WHERE current', :'acme')) AS current_is_acme;
SELECT pg_temp.cover('teamacl.my_teams.current', 'regress_cov_app', 'bob',
	format('SELECT team_id = %L FROM teamacl.my_teams WHERE current', :'bob_personal')) AS bobs_current;
SELECT pg_temp.cover('teamacl.my_teams.joined_at', 'regress_cov_app', 'alice',
	'SELECT bool_and(joined_at <= now()) FROM teamacl.my_teams') AS joined_at;
SELECT pg_temp.cover('teamacl.my_teams.team_id', 'regress_cov_app', 'alice',
	format('SELECT array_agg(team_id ORDER BY name) = ARRAY[%L, %L]::uuid[] FROM teamacl.my_teams', :'acme', :'alice_personal')) AS team_ids;
SELECT pg_temp.cover('teamacl.team_members.*', 'regress_cov_app', 'alice',
	format($$SELECT string_agg(concat_ws(' ', email, display_name, role, coalesce(sign_in_method, '-'), registered,
	                                     added_by = %L), ', ' ORDER BY email) FROM teamacl.team_members WHERE team_id = %L$$,
	       :'alice', :'acme')) AS alice_sees_members;
SELECT pg_temp.cover('teamacl.team_members.sign_in_method', 'regress_cov_app', 'bob',
	format($$SELECT string_agg(concat_ws(' ', email, coalesce(sign_in_method, '-')), ', ' ORDER BY email)
	           FROM teamacl.team_members WHERE team_id = %L$$, :'acme')) AS bob_sees_own_method;
SELECT pg_temp.cover('teamacl.team_members.user_id', 'regress_cov_app', 'alice',
	format('SELECT count(*) FILTER (WHERE user_id IN (%L, %L, %L, %L)) = count(*) FROM teamacl.team_members',
	       :'alice', :'bob', :'carol', :'erin')) AS member_ids;
SELECT pg_temp.cover('teamacl.team_members.added_at', 'regress_cov_app', 'alice',
	'SELECT bool_and(added_at <= now()) FROM teamacl.team_members') AS added_at;
SELECT pg_temp.cover('teamacl.team_members.*', 'regress_cov_app', 'dave',
	format('SELECT count(*) FROM teamacl.team_members WHERE team_id = %L', :'acme')) AS outsider_sees_no_members;
SELECT pg_temp.cover('teamacl.team_invitations.*', 'regress_cov_app', 'alice',
	format($$SELECT string_agg(concat_ws(' ', email, role, status, invited_by = %L, team_id = %L,
	                                     expires_at > created_at), ', ' ORDER BY email) FROM teamacl.team_invitations$$,
	       :'alice', :'acme')) AS alice_sees_invitations;
SELECT pg_temp.cover('teamacl.team_invitations.id', 'regress_cov_app', 'alice',
	format('SELECT count(*) FROM teamacl.team_invitations WHERE id = %L', :'inv_hank')) AS revoked_one_listed;
SELECT pg_temp.cover('teamacl.team_invitations.*', 'regress_cov_app', 'bob',
	$$SELECT count(*) FROM teamacl.team_invitations WHERE status = 'pending'$$) AS member_sees_pending;
SELECT pg_temp.cover('teamacl.team_invitations.*', 'regress_cov_app', 'dave',
	'SELECT count(*) FROM teamacl.team_invitations') AS outsider_sees_none;

------------------------------------------------------------------------
-- settings: superuser-only (README, Settings)
------------------------------------------------------------------------
-- (a setting read at server start is set in postgresql.conf: SET fails for
-- everyone, 55P02)
SELECT name,
       CASE WHEN context = 'postmaster'
            THEN pg_temp.cover('setting ' || name, current_user, NULL, format('SELECT current_setting(%L)', name),
                               'ok', 'superuser-only: PGC_POSTMASTER, set in postgresql.conf, README Settings')
            ELSE pg_temp.cover('setting ' || name, current_user, NULL, format('SET LOCAL %s = %L', name, current_setting(name)),
                               'ok', 'superuser-only: PGC_SUSET, README Settings') END AS superuser_sets,
       pg_temp.cover('setting ' || name, 'regress_cov_app', 'alice',
                     format('SELECT current_setting(%L) = %L', name, current_setting(name))) AS app_reads,
       CASE WHEN context = 'postmaster'
            THEN pg_temp.cover('setting ' || name, 'regress_cov_app', 'alice', format('SET %s = %L', name, current_setting(name)),
                               '55P02', 'documented: read at server start')
            ELSE pg_temp.cover('setting ' || name, 'regress_cov_app', 'alice', format('SET %s = %L', name, current_setting(name)),
                               '42501', 'documented: a plain role cannot change them') END AS app_sets
  FROM pg_settings WHERE name LIKE 'teamacl.%' ORDER BY name;

------------------------------------------------------------------------
-- the result
------------------------------------------------------------------------
-- every call had the outcome it should have
SELECT object, role, who, expected, outcome, pg_temp.mask(message) AS message
  FROM pg_temp.coverage WHERE outcome IS DISTINCT FROM expected ORDER BY id;
-- each call ran as the role it names, and only the settings ran as a superuser
SELECT CASE WHEN ran_as_super THEN '(superuser)' ELSE role END AS role,
       bool_and(ran_as = role) AS ran_as_that_role, bool_or(ran_as_super) AS superuser,
       count(*) AS calls, count(*) FILTER (WHERE expected <> 'ok') AS expected_errors
  FROM pg_temp.coverage GROUP BY 1 ORDER BY 1;

-- Public functions (schema teamacl, names not starting with _, no trigger
-- functions), view columns (and whole views) and settings that were not run
-- successfully as a non-superuser.  Must be empty.
WITH public_function AS (
	SELECT p.oid, p.oid::regprocedure::text AS object
	  FROM pg_proc p
	 WHERE p.pronamespace = 'teamacl'::regnamespace
	   AND p.proname NOT LIKE '\_%'
	   AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
), view_column AS (
	SELECT format('%I.%I.%I', n.nspname, c.relname, a.attname) AS object
	  FROM pg_class c
	  JOIN pg_namespace n ON n.oid = c.relnamespace
	  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
	 WHERE n.nspname = 'teamacl' AND c.relkind = 'v'
	UNION ALL
	SELECT format('%I.%I.*', n.nspname, c.relname)
	  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	 WHERE n.nspname = 'teamacl' AND c.relkind = 'v'
), good AS (
	SELECT * FROM pg_temp.coverage
	 WHERE outcome = 'ok' AND expected = 'ok' AND ran_as = role AND NOT ran_as_super
)
SELECT 'function' AS kind, f.object FROM public_function f
 WHERE NOT EXISTS (SELECT 1 FROM good g WHERE g.fn = f.oid)
UNION ALL
SELECT 'view column', v.object FROM view_column v
 WHERE NOT EXISTS (SELECT 1 FROM good g WHERE g.object = v.object)
UNION ALL
-- a setting needs its superuser-only entry and a read by the application
SELECT 'setting', s.name FROM pg_settings s
 WHERE s.name LIKE 'teamacl.%'
   AND (NOT EXISTS (SELECT 1 FROM pg_temp.coverage c WHERE c.object = 'setting ' || s.name
                     AND c.ran_as_super AND c.outcome = 'ok' AND c.note LIKE 'superuser-only:%')
        OR NOT EXISTS (SELECT 1 FROM good g WHERE g.object = 'setting ' || s.name))
ORDER BY 1, 2;

-- how much that is
SELECT (SELECT count(*) FROM pg_proc p
         WHERE p.pronamespace = 'teamacl'::regnamespace AND p.proname NOT LIKE '\_%'
           AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)) AS public_functions,
       (SELECT count(*) FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
         WHERE c.relnamespace = 'teamacl'::regnamespace AND c.relkind = 'v') AS view_columns,
       (SELECT count(*) FROM pg_class c WHERE c.relnamespace = 'teamacl'::regnamespace AND c.relkind = 'v') AS views,
       (SELECT count(*) FROM pg_settings WHERE name LIKE 'teamacl.%') AS settings;

-- the coverage table
SELECT object, CASE WHEN ran_as_super THEN '(superuser)' ELSE role END AS role, who, expected,
       outcome = expected AS passed, note
  FROM pg_temp.coverage
 ORDER BY object, id;

-- schema teamacl holds exactly the API: no internal helper, a comment on
-- every function; the helpers' schema is closed to PUBLIC, so the
-- application role can neither see nor call them
SELECT count(*) FILTER (WHERE p.proname LIKE '\_%') AS internal_in_api,
       count(*) FILTER (WHERE obj_description(p.oid, 'pg_proc') IS NULL) AS without_comment
  FROM pg_proc p WHERE p.pronamespace = 'teamacl'::regnamespace;
SELECT has_schema_privilege('regress_cov_app', 'teamacl_internal', 'USAGE') AS app_uses_internal,
       (SELECT count(*) FROM pg_proc p WHERE p.pronamespace = 'teamacl_internal'::regnamespace
           AND has_function_privilege('regress_cov_app', p.oid, 'EXECUTE')) AS internal_executable_by_app;
SELECT pg_temp.cover('teamacl_internal._hash_token(text)', 'regress_cov_app', NULL,
                     $$SELECT teamacl_internal._hash_token('x')$$, '42501', 'internal: closed to PUBLIC');
SELECT outcome FROM pg_temp.coverage WHERE object = 'teamacl_internal._hash_token(text)';

------------------------------------------------------------------------
-- clean up
------------------------------------------------------------------------
DROP TABLE regress_cov_docs, regress_cov_notes;
DROP EXTENSION teamacl CASCADE;
DROP SCHEMA teamacl;
DROP EXTENSION pgcrypto;
DROP OWNED BY regress_cov_app, regress_cov_auth, regress_cov_catalog, regress_cov_mailer,
	regress_cov_owner, regress_cov_frank;
DROP ROLE regress_cov_app, regress_cov_auth, regress_cov_catalog, regress_cov_mailer,
	regress_cov_owner, regress_cov_frank;
