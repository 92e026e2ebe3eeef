-- The role matrix of each product document in shared/seeds, rebuilt with
-- teamacl and checked cell by cell.  Each document's table is written out
-- below as (role, capability, allowed) rows exactly as the document says;
-- the test compares every cell with has_permission() for a member holding
-- that role, and prints the matrix.
\set SHOW_CONTEXT never
CREATE EXTENSION teamacl CASCADE;
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/err.sql

CREATE FUNCTION pg_temp.err_detail(sql text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
	v_detail text;
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL;
	RETURN SQLSTATE || ' detail: ' || v_detail;
END $f$;

-- capability -> the permissions it needs (all of them)
CREATE TEMP TABLE capability (product text, capability text, permissions text[], PRIMARY KEY (product, capability));
-- what the document says: role x capability
CREATE TEMP TABLE documented (product text, role text, capability text, allowed boolean);

-- who holds which role in each product's team
CREATE TEMP TABLE holder (product text, role text, user_id uuid);
CREATE TEMP TABLE observed (product text, role text, capability text, allowed boolean);

-- sign a user up and add them to the team with a role
CREATE FUNCTION pg_temp.join(team uuid, email text, role text) RETURNS uuid LANGUAGE plpgsql AS $f$
BEGIN
	PERFORM teamacl.register_user(email);
	RETURN teamacl.add_member(team, email, role);
END $f$;

-- check every documented cell; one row per (product, role) with a summary
CREATE FUNCTION pg_temp.check_matrix(p text) RETURNS TABLE (role text, allowed text, denied text, mismatches bigint)
LANGUAGE plpgsql AS $f$
DECLARE
	h record;
	v_team uuid := current_setting('seed.' || p)::uuid;
BEGIN
	FOR h IN SELECT * FROM holder WHERE product = p LOOP
		PERFORM teamacl.set_user(h.user_id, false);
		INSERT INTO observed
		SELECT p, h.role, c.capability,
			   (SELECT bool_and(teamacl.has_permission(v_team, x)) FROM unnest(c.permissions) x)
		  FROM capability c WHERE c.product = p;
	END LOOP;
	PERFORM teamacl.set_user(NULL, false);
	RETURN QUERY
	SELECT d.role,
		   string_agg(d.capability, ', ' ORDER BY d.capability) FILTER (WHERE o.allowed),
		   string_agg(d.capability, ', ' ORDER BY d.capability) FILTER (WHERE NOT o.allowed),
		   count(*) FILTER (WHERE o.allowed IS DISTINCT FROM d.allowed)
	  FROM documented d
	  LEFT JOIN observed o ON (o.product, o.role, o.capability) = (d.product, d.role, d.capability)
	 WHERE d.product = p
	 GROUP BY d.role
	 ORDER BY d.role;
END $f$;

-- application permissions the documents need
SELECT teamacl.define_permission('monitors.write', 'Create and edit uptime monitors');
SELECT teamacl.define_permission('alerts.configure', 'Configure alert rules');
SELECT teamacl.define_permission('channels.manage', 'Manage notification channels');
SELECT teamacl.define_permission('incidents.manage', 'Acknowledge and resolve incidents');
SELECT teamacl.define_permission('agents.manage', 'Manage infra agents');
SELECT teamacl.define_permission('tasking.accept', 'Accept tasking quotations');

SELECT teamacl.register_user('owner@example.com', 'Owner') AS owner \gset
SELECT teamacl.set_user(:'owner', false);

------------------------------------------------------------------------
-- Upstash (000): Owner / Admin / Dev / Finance
------------------------------------------------------------------------
SELECT teamacl.create_team('Upstash team', 'pro') AS upstash \gset
SELECT set_config('seed.upstash', :'upstash', false) IS NOT NULL AS ok;
SELECT teamacl.create_role('dev', '{team.read,resources.read,resources.create,resources.update,resources.delete}', :'upstash',
						   'Create, manage and delete databases') IS NOT NULL AS dev,
	   teamacl.create_role('finance', '{team.read,billing.view,billing.read,billing.manage}', :'upstash',
						   'Only manage payment methods') IS NOT NULL AS finance;
INSERT INTO capability VALUES
	('upstash', 'manage databases', '{resources.read,resources.create,resources.update,resources.delete}'),
	('upstash', 'add/remove members', '{members.invite,members.remove}'),
	('upstash', 'payment methods', '{billing.manage}'),
	('upstash', 'delete team', '{team.delete}');
INSERT INTO documented VALUES
	('upstash', 'admin', 'manage databases', true), ('upstash', 'admin', 'add/remove members', true),
	('upstash', 'admin', 'payment methods', true), ('upstash', 'admin', 'delete team', false),
	('upstash', 'dev', 'manage databases', true), ('upstash', 'dev', 'add/remove members', false),
	('upstash', 'dev', 'payment methods', false), ('upstash', 'dev', 'delete team', false),
	('upstash', 'finance', 'manage databases', false), ('upstash', 'finance', 'add/remove members', false),
	('upstash', 'finance', 'payment methods', true), ('upstash', 'finance', 'delete team', false),
	('upstash', 'owner', 'manage databases', true), ('upstash', 'owner', 'add/remove members', true),
	('upstash', 'owner', 'payment methods', true), ('upstash', 'owner', 'delete team', true);
INSERT INTO holder VALUES
	('upstash', 'owner', :'owner'),
	('upstash', 'admin', pg_temp.join(:'upstash', 'up-admin@example.com', 'admin')),
	('upstash', 'dev', pg_temp.join(:'upstash', 'up-dev@example.com', 'dev')),
	('upstash', 'finance', pg_temp.join(:'upstash', 'up-finance@example.com', 'finance'));
SELECT * FROM pg_temp.check_matrix('upstash');

-- "you can not create a member with Owner role"
SELECT teamacl.set_user(:'owner', false);
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', :'upstash', 'x@example.com', 'owner'));
-- "the email may not be registered yet": an added member is a placeholder
-- until they sign up, then the same user with the same membership
SELECT teamacl.add_member(:'upstash', 'up-later@example.com', 'dev') AS later \gset
SELECT registered FROM teamacl.users WHERE email = 'up-later@example.com';
SELECT pg_temp.err(format('SELECT teamacl.set_user(%L)', :'later'));
SELECT teamacl.register_user(' Up-Later@Example.com', 'Later') = :'later' AS claimed_same_id;
SELECT teamacl.set_user(:'later', false);
SELECT teamacl.has_permission(:'upstash', 'resources.create') AS can_create_after_signup;
-- personal account vs team: the personal account is separate and takes no members
SELECT teamacl.personal_team() IS NOT NULL AND teamacl.personal_team() <> :'upstash' AS has_personal;
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', teamacl.personal_team(), 'x@example.com', 'member'));
SELECT teamacl.current_team() = teamacl.personal_team() AS personal_is_current;
SELECT teamacl.switch_team(:'upstash');
SELECT teamacl.current_team() = :'upstash' AS switched;
-- "A user can create one team at most" (the personal account does not count)
SET teamacl.max_owned_teams = 1;
SELECT teamacl.create_team('Dev''s team') IS NOT NULL AS first_team_ok;
SELECT pg_temp.err($$SELECT teamacl.create_team('second')$$);
RESET teamacl.max_owned_teams;
-- only the owner deletes, and only once no databases remain
SELECT teamacl.set_user(:'owner', false);
CREATE TABLE upstash_databases (id int PRIMARY KEY, team_id uuid NOT NULL);
CREATE INDEX ON upstash_databases (team_id);
SELECT teamacl.protect('upstash_databases');
INSERT INTO upstash_databases VALUES (1, :'upstash'), (2, :'upstash');
SELECT teamacl.set_user((SELECT user_id FROM holder WHERE role = 'admin'), false);
SELECT pg_temp.err(format('SELECT teamacl.delete_team(%L)', :'upstash'));
SELECT teamacl.set_user(:'owner', false);
SELECT pg_temp.err(format('SELECT teamacl.delete_team(%L)', :'upstash'));
SELECT pg_temp.err_detail(format('SELECT teamacl.delete_team(%L)', :'upstash'));
DELETE FROM upstash_databases;
SELECT pg_temp.err(format('SELECT teamacl.delete_team(%L)', :'upstash'));
SELECT count(*) AS upstash_members_left FROM teamacl.members WHERE team_id = :'upstash';

------------------------------------------------------------------------
-- DigitalOcean (001): six roles over resources / billing / team settings
------------------------------------------------------------------------
SELECT teamacl.create_team('DigitalOcean team', 'enterprise') AS do_team \gset
SELECT set_config('seed.do', :'do_team', false) IS NOT NULL AS ok;
SELECT teamacl.create_role('biller', '{billing.view,billing.read,billing.manage}', :'do_team') IS NOT NULL AS biller,
	   teamacl.create_role('billing_viewer', '{billing.view}', :'do_team') IS NOT NULL AS billing_viewer,
	   teamacl.create_role('modifier', '{team.read,resources.read,resources.create,resources.update}', :'do_team') IS NOT NULL AS modifier,
	   teamacl.create_role('resource_viewer', '{team.read,resources.read}', :'do_team') IS NOT NULL AS resource_viewer;
INSERT INTO capability VALUES
	('do', 'resources: read', '{resources.read}'),
	('do', 'resources: create/modify', '{resources.create,resources.update}'),
	('do', 'resources: delete', '{resources.delete}'),
	('do', 'billing: limited read', '{billing.view}'),
	('do', 'billing: full read', '{billing.read}'),
	('do', 'billing: manage', '{billing.manage}'),
	('do', 'settings: read', '{team.read}'),
	('do', 'settings: change', '{team.update}'),
	('do', 'members: invite/remove/roles', '{members.invite,members.remove,members.change_role}'),
	('do', 'members: sign-in methods', '{members.sign_in_methods}');
-- Owner: full/full/full; Biller: none/full/none; Billing Viewer: none/limited read/none;
-- Member: full/none/read; Modifier: full but delete/none/read; Resource Viewer: read/none/read
INSERT INTO documented
SELECT 'do', r, c, a FROM (VALUES
	('owner', 'resources: read', true), ('owner', 'resources: create/modify', true), ('owner', 'resources: delete', true),
	('owner', 'billing: limited read', true), ('owner', 'billing: full read', true), ('owner', 'billing: manage', true),
	('owner', 'settings: read', true), ('owner', 'settings: change', true), ('owner', 'members: invite/remove/roles', true),
	('owner', 'members: sign-in methods', true),
	('biller', 'resources: read', false), ('biller', 'resources: create/modify', false), ('biller', 'resources: delete', false),
	('biller', 'billing: limited read', true), ('biller', 'billing: full read', true), ('biller', 'billing: manage', true),
	('biller', 'settings: read', false), ('biller', 'settings: change', false), ('biller', 'members: invite/remove/roles', false),
	('biller', 'members: sign-in methods', false),
	('billing_viewer', 'resources: read', false), ('billing_viewer', 'resources: create/modify', false), ('billing_viewer', 'resources: delete', false),
	('billing_viewer', 'billing: limited read', true), ('billing_viewer', 'billing: full read', false), ('billing_viewer', 'billing: manage', false),
	('billing_viewer', 'settings: read', false), ('billing_viewer', 'settings: change', false), ('billing_viewer', 'members: invite/remove/roles', false),
	('billing_viewer', 'members: sign-in methods', false),
	('member', 'resources: read', true), ('member', 'resources: create/modify', true), ('member', 'resources: delete', true),
	('member', 'billing: limited read', false), ('member', 'billing: full read', false), ('member', 'billing: manage', false),
	('member', 'settings: read', true), ('member', 'settings: change', false), ('member', 'members: invite/remove/roles', false),
	('member', 'members: sign-in methods', false),
	('modifier', 'resources: read', true), ('modifier', 'resources: create/modify', true), ('modifier', 'resources: delete', false),
	('modifier', 'billing: limited read', false), ('modifier', 'billing: full read', false), ('modifier', 'billing: manage', false),
	('modifier', 'settings: read', true), ('modifier', 'settings: change', false), ('modifier', 'members: invite/remove/roles', false),
	('modifier', 'members: sign-in methods', false),
	('resource_viewer', 'resources: read', true), ('resource_viewer', 'resources: create/modify', false), ('resource_viewer', 'resources: delete', false),
	('resource_viewer', 'billing: limited read', false), ('resource_viewer', 'billing: full read', false), ('resource_viewer', 'billing: manage', false),
	('resource_viewer', 'settings: read', true), ('resource_viewer', 'settings: change', false), ('resource_viewer', 'members: invite/remove/roles', false),
	('resource_viewer', 'members: sign-in methods', false)) v(r, c, a);
SELECT teamacl.set_user(:'owner', false);
INSERT INTO holder
SELECT 'do', r, CASE WHEN r = 'owner' THEN :'owner'::uuid ELSE pg_temp.join(:'do_team', 'do-' || r || '@example.com', r) END
  FROM unnest('{owner,biller,billing_viewer,member,modifier,resource_viewer}'::text[]) r;
SELECT * FROM pg_temp.check_matrix('do');

-- "Everyone on a team can see the membership table"; "Owners can additionally
-- see each team member's sign-in method"
SELECT teamacl.set_sign_in_method(user_id, CASE role WHEN 'owner' THEN 'password_2fa' WHEN 'member' THEN 'github' ELSE 'password' END)
  FROM holder WHERE product = 'do' ORDER BY role;
SELECT teamacl.set_user(:'owner', false);
SELECT email, role, sign_in_method FROM teamacl.team_members WHERE team_id = :'do_team' ORDER BY email;
SELECT teamacl.set_user((SELECT user_id FROM holder WHERE product = 'do' AND role = 'member'), false);
SELECT email, role, sign_in_method FROM teamacl.team_members WHERE team_id = :'do_team' ORDER BY email;

------------------------------------------------------------------------
-- Upmetr (002): Viewer / Admin / Superadmin capability matrix
------------------------------------------------------------------------
SELECT teamacl.set_user(:'owner', false);
SELECT teamacl.create_team('Upmetr org', 'enterprise') AS upmetr \gset
SELECT set_config('seed.upmetr', :'upmetr', false) IS NOT NULL AS ok;
SELECT teamacl.create_role('up_viewer', '{team.read,resources.read}', :'upmetr', 'Viewer') IS NOT NULL AS viewer,
	   teamacl.create_role('up_admin', '{team.read,resources.read,monitors.write,alerts.configure,channels.manage,incidents.manage,agents.manage}',
						   :'upmetr', 'Admin') IS NOT NULL AS admin,
	   teamacl.create_role('superadmin', '{team.read,team.update,resources.read,monitors.write,alerts.configure,channels.manage,incidents.manage,agents.manage,members.invite,members.remove,members.change_role,billing.view,billing.read,billing.manage,audit.read}',
						   :'upmetr', 'Superadmin') IS NOT NULL AS superadmin;
INSERT INTO capability VALUES
	('upmetr', 'view dashboards, resources, monitors, incidents, costs', '{resources.read}'),
	('upmetr', 'view notification center', '{team.read}'),
	('upmetr', 'create and edit uptime monitors', '{monitors.write}'),
	('upmetr', 'configure alert rules', '{alerts.configure}'),
	('upmetr', 'manage notification channels', '{channels.manage}'),
	('upmetr', 'acknowledge and resolve incidents', '{incidents.manage}'),
	('upmetr', 'manage infra agents', '{agents.manage}'),
	('upmetr', 'manage team members', '{members.invite,members.remove,members.change_role}'),
	('upmetr', 'organization settings', '{team.update}'),
	('upmetr', 'billing and subscription', '{billing.manage}'),
	('upmetr', 'view audit logs', '{audit.read}');
INSERT INTO documented
SELECT 'upmetr', r.role, c.capability,
	   CASE r.role WHEN 'superadmin' THEN true
				   WHEN 'up_admin' THEN c.capability NOT IN ('manage team members', 'organization settings', 'billing and subscription', 'view audit logs')
				   ELSE c.capability IN ('view dashboards, resources, monitors, incidents, costs', 'view notification center') END
  FROM capability c, unnest('{up_viewer,up_admin,superadmin}'::text[]) r(role)
 WHERE c.product = 'upmetr';
INSERT INTO holder
SELECT 'upmetr', r, pg_temp.join(:'upmetr', 'upmetr-' || r || '@example.com', r)
  FROM unnest('{up_viewer,up_admin,superadmin}'::text[]) r;
SELECT * FROM pg_temp.check_matrix('upmetr');

------------------------------------------------------------------------
-- UP42 (003): Member / Admin; only Members can be removed
------------------------------------------------------------------------
SELECT teamacl.set_user(:'owner', false);
SELECT teamacl.create_team('UP42 account', 'enterprise') AS up42 \gset
SELECT set_config('seed.up42', :'up42', false) IS NOT NULL AS ok;
SELECT teamacl.create_role('up42_member', '{team.read,resources.read}', :'up42', 'Member') IS NOT NULL AS member,
	   teamacl.create_role('up42_admin', '{team.read,team.update,team.delete,resources.read,members.invite,members.remove,members.change_role,billing.read,billing.manage,tasking.accept}',
						   :'up42', 'Admin', removable => false) IS NOT NULL AS admin;
INSERT INTO capability VALUES
	('up42', 'switch workspaces', '{team.read}'),
	('up42', 'see storage assets of other users', '{resources.read}'),
	('up42', 'invite new users', '{members.invite}'),
	('up42', 'change user roles', '{members.change_role}'),
	('up42', 'buy credits', '{billing.manage}'),
	('up42', 'view transaction history', '{billing.read}'),
	('up42', 'accept tasking quotations', '{tasking.accept}'),
	('up42', 'modify organization details', '{team.update}'),
	('up42', 'remove a user', '{members.remove}'),
	('up42', 'delete an account', '{team.delete}');
INSERT INTO documented
SELECT 'up42', r.role, c.capability,
	   r.role = 'up42_admin' OR c.capability IN ('switch workspaces', 'see storage assets of other users')
  FROM capability c, unnest('{up42_member,up42_admin}'::text[]) r(role)
 WHERE c.product = 'up42';
INSERT INTO holder
SELECT 'up42', r, pg_temp.join(:'up42', 'up42-' || r || '@example.com', r)
  FROM unnest('{up42_member,up42_admin}'::text[]) r;
SELECT * FROM pg_temp.check_matrix('up42');

-- "To remove a user, their role must be Member"
SELECT teamacl.set_user(:'owner', false);
SELECT pg_temp.join(:'up42', 'up42-admin2@example.com', 'up42_admin') AS admin2 \gset
SELECT teamacl.set_user((SELECT user_id FROM holder WHERE product = 'up42' AND role = 'up42_admin'), false);
SELECT pg_temp.err(format('SELECT teamacl.remove_member(%L, %L)', :'up42', :'admin2'));
SELECT pg_temp.err(format('SELECT teamacl.change_role(%L, %L, %L)', :'up42', :'admin2', 'up42_member'));
SELECT pg_temp.err(format('SELECT teamacl.remove_member(%L, %L)', :'up42', :'admin2'));
-- a Member can be removed
SELECT pg_temp.err(format('SELECT teamacl.remove_member(%L, %L)', :'up42',
						  (SELECT user_id FROM holder WHERE product = 'up42' AND role = 'up42_member')));

SELECT teamacl.set_user(NULL, false);
DROP TABLE upstash_databases;
DROP EXTENSION teamacl CASCADE;
DROP SCHEMA teamacl;
DROP EXTENSION pgcrypto;
