-- Teams, members and roles: every function and its error paths, the
-- no-escalation rule, the last-owner rule and RLS on teamacl's own tables.
\set SHOW_CONTEXT never
CREATE EXTENSION teamacl CASCADE;
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/err.sql
CREATE ROLE regress_teams_app;
CREATE ROLE regress_teams_catalog;
GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) TO regress_teams_app, regress_teams_catalog;

SELECT teamacl.register_user('alice@example.com', 'Alice') AS alice \gset
SELECT teamacl.register_user('bob@example.com', 'Bob') AS bob \gset
SELECT teamacl.register_user('carol@example.com', 'Carol') AS carol \gset
SELECT teamacl.register_user('dave@example.com', 'Dave') AS dave \gset

-- create_team
SELECT pg_temp.err($$SELECT teamacl.create_team('nobody identified')$$);
SELECT teamacl.set_user(:'alice', false);
SELECT pg_temp.err($$SELECT teamacl.create_team('')$$);
SELECT pg_temp.err($$SELECT teamacl.create_team(repeat('x', 201))$$);
SELECT pg_temp.err($$SELECT teamacl.create_team('x', 'platinum')$$);
SELECT teamacl.create_team('  Acme  ', 'pro') AS acme \gset
SELECT name, plan, personal FROM teamacl.teams WHERE id = :'acme';
SELECT teamacl.permissions(:'acme') = (SELECT array_agg(name ORDER BY name) FROM teamacl.permissions) AS owner_holds_all;

-- built-in roles hold exactly the documented permissions
SELECT r.name, teamacl_internal._role_permissions(r.id) FROM teamacl.roles r WHERE r.builtin ORDER BY r.name;

-- add_member, and the roles it may give
SELECT teamacl.add_member(:'acme', 'bob@example.com', 'admin') = :'bob' AS bob_admin;
SELECT teamacl.add_member(:'acme', 'carol@example.com', 'member') = :'carol' AS carol_member;
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', :'acme', 'carol@example.com', 'viewer'));
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', :'acme', 'x@example.com', 'no_such_role'));
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', :'acme', 'not an email', 'viewer'));
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', :'acme', 'x@example.com', 'owner'));
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', '5d2f2b1e-3c39-4f4e-9b7a-2d8c0a6f1e11', 'x@example.com', 'viewer'));
-- a member cannot add anyone (members.invite)
SELECT teamacl.set_user(:'carol', false);
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', :'acme', 'x@example.com', 'viewer'));

-- no escalation: an admin cannot give, create or touch what they lack
SELECT teamacl.set_user(:'bob', false);
SELECT pg_temp.err(format('SELECT teamacl.create_role(%L, %L, %L)', 'deleter', '{team.delete}', :'acme'));
SELECT pg_temp.err(format('SELECT teamacl.create_role(%L, %L, %L)', 'modifier', '{team.read,resources.read,resources.create,resources.update}', :'acme'));
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_role('deleter', '{team.read,team.delete}', :'acme') IS NOT NULL AS alice_creates_deleter;
SELECT teamacl.set_user(:'bob', false);
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', :'acme', 'dave@example.com', 'deleter'));
SELECT pg_temp.err(format('SELECT teamacl.change_role(%L, %L, %L)', :'acme', :'carol', 'deleter'));
SELECT pg_temp.err(format('SELECT teamacl.change_role(%L, %L, %L)', :'acme', :'alice', 'viewer'));
SELECT pg_temp.err(format('SELECT teamacl.remove_member(%L, %L)', :'acme', :'alice'));
SELECT pg_temp.err(format('SELECT teamacl.change_role(%L, %L, %L)', :'acme', :'carol', 'owner'));
SELECT pg_temp.err(format('SELECT teamacl.change_role(%L, %L, %L)', :'acme', :'carol', 'viewer'));
SELECT pg_temp.err(format('SELECT teamacl.change_role(%L, %L, %L)', :'acme', :'carol', 'modifier'));
SELECT role FROM teamacl.team_members WHERE team_id = :'acme' AND user_id = :'carol';
SELECT pg_temp.err(format('SELECT teamacl.change_role(%L, %L, %L)', :'acme', :'dave', 'viewer'));

-- roles: names, duplicates, unknown permissions, catalogue managers
SELECT teamacl.set_user(:'alice', false);
SELECT pg_temp.err(format('SELECT teamacl.create_role(%L, %L, %L)', 'Bad Name', '{team.read}', :'acme'));
SELECT pg_temp.err(format('SELECT teamacl.create_role(%L, %L, %L)', 'x', '{no.such}', :'acme'));
SELECT pg_temp.err(format('SELECT teamacl.create_role(%L, %L, %L)', 'x', '{team.read,NULL}', :'acme'));
SELECT pg_temp.err(format('SELECT teamacl.create_role(%L, %L, %L)', 'deleter', '{team.read}', :'acme'));
SELECT pg_temp.err(format('SELECT teamacl.create_role(%L, %L, %L)', 'member', '{team.read}', :'acme'));
SELECT pg_temp.err(format('SELECT teamacl.create_role(%L, %L, %L)', 'x', '{team.read}', teamacl.personal_team()));
SELECT pg_temp.err($$SELECT teamacl.create_role('global_one', '{team.read}')$$);
SET ROLE regress_teams_catalog;
SELECT pg_temp.err($$SELECT teamacl.create_role('global_one', '{team.read}')$$);
RESET ROLE;
GRANT EXECUTE ON FUNCTION teamacl.define_permission(text, text) TO regress_teams_catalog;
SET ROLE regress_teams_catalog;
SELECT pg_temp.err($$SELECT teamacl.define_permission('monitors.write', 'Write monitors')$$);
SELECT pg_temp.err($$SELECT teamacl.define_permission('monitors.write')$$);
SELECT pg_temp.err($$SELECT teamacl.define_permission('NoDots')$$);
SELECT pg_temp.err($$SELECT teamacl.create_role('monitor', '{team.read,monitors.write}', description => 'Watches')$$);
SELECT pg_temp.err($$SELECT teamacl.create_role('monitor', '{team.read}')$$);
SELECT pg_temp.err($$SELECT teamacl.create_role('deleter', '{team.read}')$$);
RESET ROLE;
-- permissions defined later: owner and admin get them, member does not
SELECT teamacl.has_permission(:'acme', 'monitors.write') AS owner_has_new;
SELECT teamacl.set_user(:'bob', false);
SELECT teamacl.has_permission(:'acme', 'monitors.write') AS admin_has_new;
SELECT teamacl.set_user(:'carol', false);
SELECT teamacl.has_permission(:'acme', 'monitors.write') AS viewer_has_new;
SELECT pg_temp.err(format('SELECT teamacl.has_permission(%L, %L)', :'acme', 'monitors.writ'));
SELECT pg_temp.err('SELECT teamacl.teams_with(''nope.nope'')');
SELECT pg_temp.err(format('SELECT teamacl.require(%L, %L)', :'acme', 'resources.update'));
SELECT pg_temp.err(format('SELECT teamacl.require(%L, %L)', :'acme', 'resources.read'));
SELECT cardinality(teamacl.teams_with('resources.read')) AS carol_reads_in, cardinality(teamacl.teams_with('team.delete')) AS carol_deletes_in;

-- drop_role
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.add_member(:'acme', 'dave@example.com', 'deleter') = :'dave' AS dave_deleter;
SELECT pg_temp.err(format('SELECT teamacl.drop_role(%L, %L)', 'deleter', :'acme'));
SELECT pg_temp.err(format('SELECT teamacl.drop_role(%L, %L)', 'nope', :'acme'));
SELECT pg_temp.err(format('SELECT teamacl.drop_role(%L)', 'member'));
SELECT pg_temp.err(format('SELECT teamacl.change_role(%L, %L, %L)', :'acme', :'dave', 'viewer'));
SELECT pg_temp.err(format('SELECT teamacl.drop_role(%L, %L)', 'deleter', :'acme'));
SET ROLE regress_teams_catalog;
SELECT pg_temp.err($$SELECT teamacl.drop_role('monitor')$$);
RESET ROLE;

-- the last owner: cannot leave, be removed or re-roled
SELECT pg_temp.err(format('SELECT teamacl.leave_team(%L)', :'acme'));
SELECT pg_temp.err(format('SELECT teamacl.remove_member(%L, %L)', :'acme', :'alice'));
SELECT pg_temp.err(format('SELECT teamacl.change_role(%L, %L, %L)', :'acme', :'alice', 'admin'));
SELECT pg_temp.err(format('SELECT teamacl.leave_team(%L)', teamacl.personal_team()));
SELECT pg_temp.err(format('SELECT teamacl.remove_member(%L, %L)', :'acme', '5d2f2b1e-3c39-4f4e-9b7a-2d8c0a6f1e11'));

-- switch_team / current_team / personal_team / leave_team
SELECT teamacl.set_user(:'carol', false);
SELECT teamacl.current_team() = teamacl.personal_team() AS starts_personal;
SELECT teamacl.switch_team(:'acme');
SELECT teamacl.current_team() = :'acme' AS switched;
SELECT pg_temp.err(format('SELECT teamacl.switch_team(%L)', '5d2f2b1e-3c39-4f4e-9b7a-2d8c0a6f1e11'));
SELECT teamacl.leave_team(:'acme');
SELECT teamacl.current_team() = teamacl.personal_team() AS back_to_personal;
SELECT pg_temp.err(format('SELECT teamacl.leave_team(%L)', :'acme'));

-- delete_team: needs team.delete; personal accounts cannot be deleted
SELECT teamacl.set_user(:'bob', false);
SELECT pg_temp.err(format('SELECT teamacl.delete_team(%L)', :'acme'));
SELECT pg_temp.err(format('SELECT teamacl.delete_team(%L)', teamacl.personal_team()));

-- RLS on teamacl's own tables, as a plain role
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_team('Other') AS other \gset
SELECT teamacl.set_user(NULL, false);
SET ROLE regress_teams_app;
SELECT teamacl.set_user(:'bob', false);
SELECT name FROM teamacl.teams ORDER BY name;
SELECT t.name, u.email FROM teamacl.members m JOIN teamacl.teams t ON t.id = m.team_id
  JOIN teamacl.users u ON u.id = m.user_id ORDER BY 1, 2;
SELECT name, role FROM teamacl.my_teams ORDER BY name;
SELECT email, role, sign_in_method FROM teamacl.team_members ORDER BY email;
SELECT pg_temp.err('SELECT sign_in_method FROM teamacl.users');
SELECT pg_temp.err('SELECT password_hash FROM teamacl.users');
SELECT pg_temp.err(format('INSERT INTO teamacl.members (team_id, user_id, role_id) VALUES (%L, %L, %L)',
						  :'other', :'bob', '00000000-0000-4000-a000-000000000001'));
SELECT pg_temp.err('UPDATE teamacl.teams SET name = ''x''');
SELECT pg_temp.err('DELETE FROM teamacl.members');
SELECT pg_temp.err('TRUNCATE teamacl.members');
SELECT teamacl.set_user(:'dave', false);
SELECT count(*) AS dave_sees_teams FROM teamacl.teams;
SELECT teamacl.set_user(NULL, false);
SELECT count(*) AS anonymous_sees_teams FROM teamacl.teams;
SELECT count(*) AS anonymous_sees_users FROM teamacl.users;
RESET ROLE;

-- delete_team by the owner removes members and custom roles
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_role('temp_role', '{team.read}', :'acme') IS NOT NULL AS temp_role;
SELECT teamacl.delete_team(:'acme');
SELECT (SELECT count(*) FROM teamacl.members WHERE team_id = :'acme') AS members_left,
	   (SELECT count(*) FROM teamacl.roles WHERE team_id = :'acme') AS roles_left;

SELECT teamacl.set_user(NULL, false);
DROP EXTENSION teamacl CASCADE;
DROP SCHEMA teamacl;
DROP EXTENSION pgcrypto;
DROP ROLE regress_teams_app, regress_teams_catalog;
