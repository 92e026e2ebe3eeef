-- Teams and memberships: create_team, delete_team, switch_team /
-- current_team / personal_team, add_member, remove_member, change_role,
-- leave_team with their error paths, and RLS on teamacl's own tables.
\set SHOW_CONTEXT never
CREATE EXTENSION teamacl CASCADE;
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/err.sql
-- like pg_temp.err(), with the error's detail and hint
CREATE FUNCTION pg_temp.err_hint(sql text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
	v_state text;
	v_msg text;
	v_detail text;
	v_hint text;
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT,
		v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
	RETURN regexp_replace(v_state || ': ' || v_msg || E'\nDETAIL: ' || v_detail || E'\nHINT: ' || v_hint,
		'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g');
END $f$;
CREATE ROLE regress_teams_members_app;
GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) TO regress_teams_members_app;

SELECT teamacl.register_user('alice@example.com', 'Alice') AS alice \gset
SELECT teamacl.register_user('bob@example.com', 'Bob') AS bob \gset
SELECT teamacl.register_user('carol@example.com', 'Carol') AS carol \gset
SELECT teamacl.register_user('vera@example.com', 'Vera') AS vera \gset
SELECT teamacl.register_user('dave@example.com', 'Dave') AS dave \gset
SELECT teamacl.register_user('erin@example.com', 'Erin') AS erin \gset
SELECT teamacl.set_sign_in_method(id, m)
  FROM (VALUES (:'alice'::uuid, 'password_2fa'), (:'bob'::uuid, 'google'), (:'carol'::uuid, 'github'),
               (:'vera'::uuid, 'password'), (:'erin'::uuid, 'sso')) AS v (id, m);

-- every registered user has a personal account of one, which they own
SELECT u.email, t.personal, t.plan, r.name AS role,
       (SELECT count(*) FROM teamacl.members m2 WHERE m2.team_id = t.id) AS members
  FROM teamacl.users u
  JOIN teamacl.teams t ON t.personal_owner = u.id
  JOIN teamacl.members m ON m.team_id = t.id AND m.user_id = u.id
  JOIN teamacl.roles r ON r.id = m.role_id
 ORDER BY u.email;

------------------------------------------------------------------------
-- create_team
------------------------------------------------------------------------
SELECT pg_temp.err($$SELECT teamacl.create_team('Nobody''s team')$$) AS without_identity;
SELECT count(*) AS teams_named_nobody FROM teamacl.teams WHERE name LIKE 'Nobody%';
SELECT teamacl.set_user(:'alice', false);
SELECT pg_temp.err($$SELECT teamacl.create_team('')$$) AS empty_name;
SELECT pg_temp.err($$SELECT teamacl.create_team('   ')$$) AS blank_name;
SELECT pg_temp.err($$SELECT teamacl.create_team(NULL)$$) AS null_name;
SELECT pg_temp.err(format('SELECT teamacl.create_team(%L)', repeat('x', 201))) AS long_name;
SELECT pg_temp.err($$SELECT teamacl.create_team('Acme', 'platinum')$$) AS unknown_plan;
SELECT pg_temp.err($$SELECT teamacl.create_team('Acme', NULL)$$) AS null_plan;
SELECT count(*) AS alice_teams FROM teamacl.members WHERE user_id = :'alice';
SELECT teamacl.create_team('  Acme  ', 'pro') AS acme \gset
SELECT teamacl.create_team('Small') AS small \gset
SELECT name, personal, plan FROM teamacl.teams WHERE id IN (:'acme', :'small') ORDER BY name;
-- the caller becomes the only member, as owner
SELECT t.name, u.email, r.name AS role, m.added_by = :'alice' AS added_by_alice
  FROM teamacl.members m JOIN teamacl.teams t ON t.id = m.team_id
  JOIN teamacl.users u ON u.id = m.user_id JOIN teamacl.roles r ON r.id = m.role_id
 WHERE m.team_id IN (:'acme', :'small') ORDER BY t.name, u.email;
SELECT teamacl.has_permission(:'acme', 'team.delete') AS owner_may_delete;

------------------------------------------------------------------------
-- personal_team(), current_team(), switch_team()
------------------------------------------------------------------------
SELECT teamacl.personal_team() = (SELECT id FROM teamacl.teams WHERE personal_owner = :'alice') AS personal_is_alices;
SELECT teamacl.current_team() = teamacl.personal_team() AS current_defaults_to_personal;
SELECT teamacl.switch_team(:'acme');
SELECT teamacl.current_team() = :'acme' AS switched_to_acme;
SELECT name, current FROM teamacl.my_teams ORDER BY name;
-- the choice is kept per user, across sessions and identities
SELECT teamacl.set_user(:'bob', false);
SELECT teamacl.current_team() = teamacl.personal_team() AS bob_unaffected;
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.current_team() = :'acme' AS alice_still_on_acme;
-- a team the user is not a member of, or that does not exist
SELECT teamacl.set_user(:'dave', false);
SELECT teamacl.create_team('Dave Co') AS daveco \gset
SELECT teamacl.set_user(:'alice', false);
SELECT pg_temp.err(format('SELECT teamacl.switch_team(%L)', :'daveco')) AS not_a_member;
SELECT pg_temp.err($$SELECT teamacl.switch_team('5d2f2b1e-3c39-4f4e-9b7a-2d8c0a6f1e11')$$) AS no_such_team;
SELECT pg_temp.err('SELECT teamacl.switch_team(NULL)') AS null_team;
SELECT teamacl.current_team() = :'acme' AS still_on_acme;
-- nobody identified: no personal or current team, and switch_team refuses
SELECT teamacl.set_user(NULL, false);
SELECT teamacl.personal_team() IS NULL AS no_personal, teamacl.current_team() IS NULL AS no_current;
SELECT pg_temp.err(format('SELECT teamacl.switch_team(%L)', :'acme')) AS switch_without_identity;

------------------------------------------------------------------------
-- add_member
------------------------------------------------------------------------
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.add_member(:'acme', 'bob@example.com', 'admin') = :'bob' AS bob_admin;
SELECT teamacl.add_member(:'acme', ' Carol@Example.com ', 'member') = :'carol' AS carol_member;
SELECT teamacl.add_member(:'acme', 'vera@example.com', 'viewer') = :'vera' AS vera_viewer;
-- an email that has not signed up becomes a placeholder user
SELECT teamacl.add_member(:'acme', 'Pending@Example.com', 'member') AS pending \gset
SELECT email, registered FROM teamacl.users WHERE id = :'pending';
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', :'acme', 'dave@example.com', 'no_such_role')) AS unknown_role;
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', :'acme', 'not an email', 'viewer')) AS invalid_email;
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', :'acme', 'no-at-sign', 'viewer')) AS invalid_email_2;
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, NULL, %L)', :'acme', 'viewer')) AS null_email;
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', :'acme', 'carol@example.com', 'viewer')) AS already_member;
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', :'acme', 'CAROL@example.com', 'viewer')) AS already_member_case;
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', :'acme', 'pending@example.com', 'viewer')) AS already_member_placeholder;
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', teamacl.personal_team(), 'dave@example.com', 'member')) AS personal_account;
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', :'acme', 'dave@example.com', 'owner')) AS owner_role;
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', :'daveco', 'erin@example.com', 'member')) AS other_team;
-- members.invite is needed: a member or a viewer cannot add anyone
SELECT teamacl.set_user(:'carol', false);
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', :'acme', 'dave@example.com', 'viewer')) AS member_adds;
SELECT teamacl.set_user(:'vera', false);
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', :'acme', 'dave@example.com', 'viewer')) AS viewer_adds;
SELECT teamacl.set_user(NULL, false);
SELECT pg_temp.err(format('SELECT teamacl.add_member(%L, %L, %L)', :'acme', 'dave@example.com', 'viewer')) AS nobody_adds;
-- nothing was added by the failed calls
SELECT u.email, r.name AS role
  FROM teamacl.members m JOIN teamacl.users u ON u.id = m.user_id JOIN teamacl.roles r ON r.id = m.role_id
 WHERE m.team_id = :'acme' ORDER BY u.email;
SELECT count(*) AS stray_placeholders FROM teamacl.users WHERE NOT registered AND email <> 'pending@example.com';

-- seat limit of the free plan (3 seats): the owner and two members fill it
SELECT teamacl.set_user(:'alice', false);
SELECT seat_limit FROM teamacl.plans WHERE name = 'free';
SELECT teamacl.add_member(:'small', 'bob@example.com', 'member') = :'bob' AS second_seat;
SELECT teamacl.add_member(:'small', 'carol@example.com', 'member') = :'carol' AS third_seat;
SELECT pg_temp.err_hint(format('SELECT teamacl.add_member(%L, %L, %L)', :'small', 'vera@example.com', 'viewer')) AS fourth_seat;
SELECT pg_temp.err_hint(format('SELECT teamacl.add_member(%L, %L, %L)', :'small', 'newcomer@example.com', 'viewer')) AS fourth_seat_placeholder;
SELECT teamacl.seats_used(:'small') AS seats_used,
       (SELECT count(*) FROM teamacl.users WHERE email = 'newcomer@example.com') AS newcomer_rows;
-- a freed seat can be taken again
SELECT teamacl.remove_member(:'small', :'carol');
SELECT teamacl.add_member(:'small', 'vera@example.com', 'viewer') = :'vera' AS vera_takes_the_seat;

------------------------------------------------------------------------
-- remove_member, change_role, leave_team: the last owner stays
------------------------------------------------------------------------
SELECT pg_temp.err(format('SELECT teamacl.remove_member(%L, %L)', :'acme', :'dave')) AS not_a_member;
SELECT pg_temp.err(format('SELECT teamacl.remove_member(%L, %L)', :'acme', '5d2f2b1e-3c39-4f4e-9b7a-2d8c0a6f1e11')) AS no_such_user;
SELECT pg_temp.err(format('SELECT teamacl.remove_member(%L, %L)', :'acme', :'alice')) AS last_owner;
SELECT pg_temp.err(format('SELECT teamacl.change_role(%L, %L, %L)', :'acme', :'alice', 'admin')) AS change_last_owner;
SELECT pg_temp.err(format('SELECT teamacl.change_role(%L, %L, %L)', :'acme', :'dave', 'admin')) AS change_not_member;
SELECT pg_temp.err(format('SELECT teamacl.change_role(%L, %L, %L)', :'acme', :'carol', 'no_such_role')) AS change_unknown_role;
SELECT pg_temp.err(format('SELECT teamacl.leave_team(%L)', :'acme')) AS leave_last_owner;
SELECT pg_temp.err('SELECT teamacl.leave_team(teamacl.personal_team())') AS leave_personal;
SELECT pg_temp.err(format('SELECT teamacl.remove_member(%L, %L)', teamacl.personal_team(), :'alice')) AS remove_from_personal;
SELECT pg_temp.err(format('SELECT teamacl.change_role(%L, %L, %L)', teamacl.personal_team(), :'alice', 'admin')) AS change_in_personal;
SELECT pg_temp.err(format('SELECT teamacl.remove_member(NULL, %L)', :'bob')) AS remove_null_team;
SELECT pg_temp.err('SELECT teamacl.leave_team(NULL)') AS leave_null_team;
SELECT r.name AS alices_role FROM teamacl.members m JOIN teamacl.roles r ON r.id = m.role_id
 WHERE m.team_id = :'acme' AND m.user_id = :'alice';
-- a member (no members.remove / members.change_role) can do neither
SELECT teamacl.set_user(:'carol', false);
SELECT pg_temp.err(format('SELECT teamacl.remove_member(%L, %L)', :'acme', :'vera')) AS member_removes;
SELECT pg_temp.err(format('SELECT teamacl.change_role(%L, %L, %L)', :'acme', :'vera', 'member')) AS member_changes_role;
-- leave_team of a team one is not in
SELECT teamacl.set_user(:'dave', false);
SELECT pg_temp.err(format('SELECT teamacl.leave_team(%L)', :'acme')) AS leave_not_member;
-- change_role works for others
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.change_role(:'acme', :'vera', 'member');
SELECT teamacl.change_role(:'acme', :'vera', 'viewer');
SELECT r.name AS veras_role FROM teamacl.members m JOIN teamacl.roles r ON r.id = m.role_id
 WHERE m.team_id = :'acme' AND m.user_id = :'vera';

-- a removed member's rows in a protected table stay with the team
CREATE TABLE regress_teams_members_docs (id int PRIMARY KEY, team_id uuid NOT NULL, body text);
SELECT teamacl.protect('regress_teams_members_docs');
GRANT SELECT, INSERT, UPDATE, DELETE ON regress_teams_members_docs TO regress_teams_members_app;
SET ROLE regress_teams_members_app;
BEGIN;
SELECT teamacl.set_user(:'carol');
INSERT INTO regress_teams_members_docs VALUES (1, :'acme', 'written by carol');
SELECT count(*) AS carol_sees FROM regress_teams_members_docs;
COMMIT;
RESET ROLE;
SELECT teamacl.remove_member(:'acme', :'carol');
SELECT count(*) AS carol_memberships FROM teamacl.members WHERE team_id = :'acme' AND user_id = :'carol';
SELECT id, team_id = :'acme' AS still_acmes, body FROM regress_teams_members_docs ORDER BY id;
SET ROLE regress_teams_members_app;
BEGIN;
SELECT teamacl.set_user(:'carol');
SELECT count(*) AS carol_sees_after_removal FROM regress_teams_members_docs;
SELECT teamacl.set_user(:'alice');
SELECT count(*) AS alice_sees FROM regress_teams_members_docs;
COMMIT;
RESET ROLE;
-- leave_team; the current team falls back to the personal account
SELECT teamacl.set_user(:'vera', false);
SELECT teamacl.switch_team(:'acme');
SELECT teamacl.current_team() = :'acme' AS vera_on_acme;
SELECT teamacl.leave_team(:'acme');
SELECT teamacl.current_team() = teamacl.personal_team() AS vera_back_on_personal;
SELECT name, current FROM teamacl.my_teams ORDER BY name;
SELECT pg_temp.err(format('SELECT teamacl.switch_team(%L)', :'acme')) AS vera_cannot_switch_back;
-- both come back, for the RLS checks below
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.add_member(:'acme', 'vera@example.com', 'viewer') = :'vera' AS vera_back;
SELECT teamacl.add_member(:'acme', 'carol@example.com', 'member') = :'carol' AS carol_back;

------------------------------------------------------------------------
-- delete_team
------------------------------------------------------------------------
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_team('Doomed', 'pro') AS doomed \gset
SELECT teamacl.add_member(:'doomed', 'bob@example.com', 'admin') IS NOT NULL AS bob_admin,
       teamacl.add_member(:'doomed', 'erin@example.com', 'member') IS NOT NULL AS erin_member;
SELECT teamacl.create_role('reviewer', '{team.read,resources.read}', :'doomed') IS NOT NULL AS custom_role;
SELECT teamacl.change_role(:'doomed', :'erin', 'reviewer');
SELECT teamacl.set_user(:'erin', false);
SELECT teamacl.switch_team(:'doomed');
-- an admin lacks team.delete
SELECT teamacl.set_user(:'bob', false);
SELECT pg_temp.err(format('SELECT teamacl.delete_team(%L)', :'doomed')) AS admin_deletes;
-- a member neither; nobody identified neither
SELECT teamacl.set_user(:'erin', false);
SELECT pg_temp.err(format('SELECT teamacl.delete_team(%L)', :'doomed')) AS member_deletes;
SELECT teamacl.set_user(NULL, false);
SELECT pg_temp.err(format('SELECT teamacl.delete_team(%L)', :'doomed')) AS nobody_deletes;
SELECT pg_temp.err('SELECT teamacl.delete_team(NULL)') AS null_team;
-- personal accounts cannot be deleted this way
SELECT teamacl.set_user(:'alice', false);
SELECT pg_temp.err('SELECT teamacl.delete_team(teamacl.personal_team())') AS delete_personal;
-- refused while a protected table still holds the team's rows
INSERT INTO regress_teams_members_docs VALUES (2, :'doomed', 'doomed doc');
SELECT pg_temp.err_hint(format('SELECT teamacl.delete_team(%L)', :'doomed')) AS team_with_rows;
DELETE FROM regress_teams_members_docs WHERE id = 2;
SELECT (SELECT count(*) FROM teamacl.members WHERE team_id = :'doomed') AS members_before,
       (SELECT count(*) FROM teamacl.roles WHERE team_id = :'doomed') AS custom_roles_before;
SELECT teamacl.delete_team(:'doomed');
SELECT (SELECT count(*) FROM teamacl.teams WHERE id = :'doomed') AS teams_after,
       (SELECT count(*) FROM teamacl.members WHERE team_id = :'doomed') AS members_after,
       (SELECT count(*) FROM teamacl.roles WHERE team_id = :'doomed') AS custom_roles_after,
       (SELECT count(*) FROM teamacl.role_permissions rp WHERE NOT EXISTS
           (SELECT 1 FROM teamacl.roles r WHERE r.id = rp.role_id)) AS orphan_role_permissions;
SELECT teamacl.has_permission(:'doomed', 'team.read') AS alice_keeps_nothing;
SELECT pg_temp.err(format('SELECT teamacl.delete_team(%L)', :'doomed')) AS delete_again;
-- erin's current team was the deleted one: back to her personal account
SELECT teamacl.set_user(:'erin', false);
SELECT teamacl.current_team() = teamacl.personal_team() AS erin_back_on_personal;
SELECT teamacl.has_permission(:'doomed', 'team.read') AS erin_keeps_nothing;
SELECT teamacl.set_user(NULL, false);

------------------------------------------------------------------------
-- RLS on teamacl's own tables, as a plain role
------------------------------------------------------------------------
-- acme: alice owner, bob admin, carol member, vera viewer, pending (placeholder)
-- erin gets a custom role that may see sign-in methods
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_role('auditor', '{team.read,members.sign_in_methods}', :'acme') IS NOT NULL AS auditor_role;
SELECT teamacl.add_member(:'acme', 'erin@example.com', 'auditor') = :'erin' AS erin_auditor;
SELECT teamacl.set_user(NULL, false);
SET ROLE regress_teams_members_app;
-- nobody identified: nothing
SELECT (SELECT count(*) FROM teamacl.teams) AS teams, (SELECT count(*) FROM teamacl.members) AS members,
       (SELECT count(*) FROM teamacl.team_members) AS team_members, (SELECT count(*) FROM teamacl.my_teams) AS my_teams,
       (SELECT count(*) FROM teamacl.users) AS users;
-- vera (viewer of acme): her teams only
BEGIN;
SELECT teamacl.set_user(:'vera');
SELECT name, personal FROM teamacl.teams ORDER BY name;
SELECT t.name, count(*) FROM teamacl.members m JOIN teamacl.teams t ON t.id = m.team_id GROUP BY t.name ORDER BY t.name;
SELECT name, personal, role FROM teamacl.my_teams ORDER BY name;
-- her own sign-in method is shown, other members' are not
SELECT t.name, tm.email, tm.role, tm.sign_in_method
  FROM teamacl.team_members tm JOIN teamacl.teams t ON t.id = tm.team_id ORDER BY t.name, tm.email;
SELECT email FROM teamacl.users ORDER BY email;
SELECT count(*) AS other_custom_roles FROM teamacl.roles WHERE team_id IS NOT NULL AND team_id <> :'acme';
COMMIT;
-- bob (admin: every permission but members.sign_in_methods): other members' methods hidden
BEGIN;
SELECT teamacl.set_user(:'bob');
SELECT name FROM teamacl.teams ORDER BY name;
SELECT t.name, u.email, tm.role, tm.sign_in_method
  FROM teamacl.team_members tm JOIN teamacl.teams t ON t.id = tm.team_id JOIN teamacl.users u ON u.id = tm.user_id
 ORDER BY t.name, u.email;
COMMIT;
-- erin (auditor: members.sign_in_methods) sees them
BEGIN;
SELECT teamacl.set_user(:'erin');
SELECT t.name, tm.email, tm.role, tm.sign_in_method
  FROM teamacl.team_members tm JOIN teamacl.teams t ON t.id = tm.team_id ORDER BY t.name, tm.email;
COMMIT;
-- alice (owner) sees them, in every team she owns
BEGIN;
SELECT teamacl.set_user(:'alice');
SELECT t.name, tm.email, tm.role, tm.sign_in_method
  FROM teamacl.team_members tm JOIN teamacl.teams t ON t.id = tm.team_id ORDER BY t.name, tm.email;
SELECT name, personal, role FROM teamacl.my_teams ORDER BY name;
COMMIT;
-- dave sees only Dave Co and his personal account
BEGIN;
SELECT teamacl.set_user(:'dave');
SELECT name FROM teamacl.teams ORDER BY name;
SELECT t.name, tm.email FROM teamacl.team_members tm JOIN teamacl.teams t ON t.id = tm.team_id ORDER BY t.name, tm.email;
SELECT name, role FROM teamacl.my_teams ORDER BY name;
SELECT count(*) AS acme_members_visible FROM teamacl.members WHERE team_id = :'acme';
COMMIT;
-- hidden columns of users: column privileges, whoever is identified
BEGIN;
SELECT teamacl.set_user(:'vera');
SELECT pg_temp.err('SELECT sign_in_method FROM teamacl.users') AS sign_in_method;
SELECT pg_temp.err('SELECT password_hash FROM teamacl.users') AS password_hash;
SELECT pg_temp.err('SELECT db_role FROM teamacl.users') AS db_role;
SELECT pg_temp.err('SELECT * FROM teamacl.users') AS star;
SELECT pg_temp.err('SELECT id, email, display_name, registered FROM teamacl.users') AS granted_columns;
COMMIT;
-- no teamacl table can be changed directly
BEGIN;
SELECT teamacl.set_user(:'alice');
SELECT c.relname,
       pg_temp.err(format('INSERT INTO %s DEFAULT VALUES', c.oid::regclass)) AS ins,
       pg_temp.err(format('UPDATE %s SET %I = %I', c.oid::regclass, a.attname, a.attname)) AS upd,
       pg_temp.err(format('DELETE FROM %s', c.oid::regclass)) AS del,
       pg_temp.err(format('TRUNCATE %s', c.oid::regclass)) AS trunc
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = 1
 WHERE c.relnamespace = 'teamacl'::regnamespace AND c.relkind IN ('r', 'p')
 ORDER BY c.relname;
COMMIT;
RESET ROLE;
SELECT count(*) AS acme_members_unchanged FROM teamacl.members WHERE team_id = :'acme';

DROP TABLE regress_teams_members_docs;
DROP EXTENSION teamacl CASCADE;
DROP SCHEMA teamacl;
DROP EXTENSION pgcrypto;
DROP OWNED BY regress_teams_members_app;
DROP ROLE regress_teams_members_app;
