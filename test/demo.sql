-- teamacl demo: run by `make demo` (psql --echo-all), safe to run again.
\set ON_ERROR_STOP 1
\set SHOW_CONTEXT never
\pset footer off

\echo
\echo '=== 0. Start clean: (re)install the extension'
DROP SCHEMA IF EXISTS app CASCADE;
DROP EXTENSION IF EXISTS teamacl CASCADE;
DO $$ BEGIN
	IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'demo_app') THEN
		EXECUTE 'DROP OWNED BY demo_app';
		EXECUTE 'DROP ROLE demo_app';
	END IF;
END $$;
CREATE EXTENSION teamacl CASCADE;
SET teamacl.password_bcrypt_cost = 6;

\echo
\echo '=== 1. The application server has its own login role; it may name end users'
CREATE ROLE demo_app LOGIN;
GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean), teamacl.set_api_key(text, boolean) TO demo_app;

\echo
\echo '=== 2. Three people sign up (the auth service calls register_user); each gets a personal account'
SELECT teamacl.register_user('alice@example.com', 'Alice') AS alice \gset
SELECT teamacl.register_user('bob@example.com', 'Bob') AS bob \gset
SELECT teamacl.register_user('carol@example.com', 'Carol') AS carol \gset
SELECT email, display_name, registered FROM teamacl.users ORDER BY email;

\echo
\echo '=== 3. Alice creates a team: she becomes its owner'
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_team('Acme', 'pro') AS acme \gset
SELECT name, personal, plan, role FROM teamacl.my_teams ORDER BY personal, name;

\echo
\echo '=== 4. She adds Bob directly as a member, and invites Carol as a viewer'
SELECT teamacl.add_member(:'acme', 'bob@example.com', 'member') IS NOT NULL AS bob_added;
SELECT teamacl.invite(:'acme', 'carol@example.com', 'viewer', valid_for => '48 hours') AS carol_token \gset
\echo 'The token is returned once, to be mailed; only its SHA-256 is stored:'
SELECT left(:'carol_token', 9) AS token_prefix, length(:'carol_token') AS token_length;
SELECT email, role, status, expires_at - created_at AS valid_for FROM teamacl.team_invitations;
SELECT event, payload ->> 'email' AS email FROM teamacl.outbox ORDER BY id;

\echo
\echo '=== 5. Carol previews the link (nothing is used up), then accepts'
SELECT team_name, role, email, status FROM teamacl.invitation_info(:'carol_token');
SELECT teamacl.set_user(:'carol', false);
SELECT teamacl.accept_invitation(:'carol_token') = :'acme' AS joined;
\echo 'A token works once:'
\set ON_ERROR_STOP 0
SELECT teamacl.accept_invitation(:'carol_token');
\set ON_ERROR_STOP 1

\echo
\echo '=== 6. Everyone on the team sees the membership list; sign-in methods only with members.sign_in_methods'
SELECT teamacl.set_sign_in_method(:'alice', 'password_2fa'), teamacl.set_sign_in_method(:'bob', 'github'),
       teamacl.set_sign_in_method(:'carol', 'password');
\echo 'Carol (viewer) sees who is on the team, and only her own sign-in method:'
SELECT email, role, sign_in_method FROM teamacl.team_members WHERE team_id = :'acme' ORDER BY email;
\echo 'Alice (owner) sees everyone''s:'
SELECT teamacl.set_user(:'alice', false);
SELECT email, role, sign_in_method FROM teamacl.team_members WHERE team_id = :'acme' ORDER BY email;

\echo
\echo '=== 7. An existing application table becomes team-scoped with one call'
SELECT teamacl.set_user(NULL, false);
CREATE SCHEMA app;
CREATE TABLE app.documents (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	team_id uuid NOT NULL,
	title text NOT NULL
);
CREATE INDEX ON app.documents (team_id);
GRANT USAGE ON SCHEMA app TO demo_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON app.documents TO demo_app;
SELECT teamacl.protect('app.documents');
SELECT policyname, cmd, coalesce(qual, with_check) AS expression FROM pg_policies WHERE tablename = 'documents' ORDER BY policyname;

\echo
\echo '=== 8. The application connects as demo_app and names the user per transaction (pool-safe)'
SET ROLE demo_app;
BEGIN;
SELECT teamacl.set_user(:'bob');
INSERT INTO app.documents (team_id, title) VALUES (:'acme', 'Roadmap'), (:'acme', 'Budget');
INSERT INTO app.documents (team_id, title) VALUES ((SELECT teamacl.personal_team()), 'Bob''s private notes');
COMMIT;
BEGIN;
SELECT teamacl.set_user(:'carol');
\echo 'Carol (viewer) sees the team''s documents, not Bob''s personal ones:'
SELECT title FROM app.documents ORDER BY title;
\echo 'and cannot write (viewer has no resources.create):'
\set ON_ERROR_STOP 0
INSERT INTO app.documents (team_id, title) VALUES (:'acme', 'Carol was here');
\set ON_ERROR_STOP 1
ROLLBACK;
\echo 'Nobody identified: nothing visible.'
SELECT count(*) AS visible FROM app.documents;

\echo
\echo '=== 9. The check plans like a hand-written filter: once per statement, index-friendly'
BEGIN;
SELECT teamacl.set_user(:'bob');
EXPLAIN (COSTS OFF) SELECT * FROM app.documents WHERE id = 1;
COMMIT;
RESET ROLE;

\echo
\echo '=== 10. Alice removes Bob: his very next statement sees nothing; his rows stay with the team'
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.remove_member(:'acme', :'bob');
SET ROLE demo_app;
BEGIN;
SELECT teamacl.set_user(:'bob');
SELECT title FROM app.documents ORDER BY title;
COMMIT;
RESET ROLE;

\echo
\echo '=== 11. An API key for a CI job: Alice makes it (shown once), the application presents it'
SET ROLE demo_app;
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_api_key(:'acme', 'ci', 'viewer', '30 days') AS ci_key \gset
SELECT teamacl.set_user(NULL, false);
\echo 'It acts as Alice, in Acme only, with what both viewer and her role grant:'
BEGIN;
SELECT teamacl.set_api_key(:'ci_key');
SELECT teamacl.permissions(:'acme') AS key_permissions, count(*) AS documents FROM app.documents;
COMMIT;
SELECT teamacl.set_user(:'alice', false);
SELECT name, role, status FROM teamacl.team_api_keys;
SELECT teamacl.revoke_api_key((SELECT id FROM teamacl.team_api_keys WHERE name = 'ci'));
SELECT teamacl.set_user(NULL, false);
\echo 'Revoked: the next use is refused with the one key error:'
\set ON_ERROR_STOP 0
SELECT teamacl.set_api_key(:'ci_key');
\set ON_ERROR_STOP 1
RESET ROLE;

\echo
\echo '=== 12. The audit log (readable with audit.read) recorded every change'
SELECT teamacl.set_user(:'alice', false);
SELECT action, count(*) FROM teamacl.audit_log WHERE team_id = :'acme' GROUP BY action ORDER BY min(id);
SELECT teamacl.set_user(NULL, false);

\echo
\echo 'Demo done. The data stays in database teamacl_demo for you to explore.'
