-- The README's quick start, end to end, as a regression test.
\set SHOW_CONTEXT never
CREATE EXTENSION teamacl CASCADE;
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/err.sql

CREATE ROLE regress_quickstart_app LOGIN;
GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) TO regress_quickstart_app;
SELECT teamacl.register_user('Alice@Example.com ', 'Alice') AS alice \gset
SELECT teamacl.register_user('bob@example.com', 'Bob') AS bob \gset
SELECT teamacl.register_user('carol@example.com', 'Carol') AS carol \gset
SELECT email, display_name, registered FROM teamacl.users ORDER BY email;

SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_team('Acme', 'pro') AS acme \gset
SELECT name, personal, plan, role, current FROM teamacl.my_teams ORDER BY personal, name;
SELECT teamacl.add_member(:'acme', 'bob@example.com', 'member') = :'bob' AS bob_added;
SELECT teamacl.invite(:'acme', 'carol@example.com', 'viewer') AS tok \gset
SELECT left(:'tok', 9) AS prefix, length(:'tok') AS len;
SELECT email, role, status FROM teamacl.team_invitations ORDER BY email;

SELECT teamacl.set_user(:'carol', false);
SELECT teamacl.accept_invitation(:'tok') = :'acme' AS joined;
SELECT pg_temp.err(format('SELECT teamacl.accept_invitation(%L)', :'tok'));
SELECT teamacl.permissions(:'acme');

SELECT teamacl.set_user(NULL, false);
CREATE TABLE qs_docs (id int PRIMARY KEY, team_id uuid NOT NULL, title text);
CREATE INDEX ON qs_docs (team_id);
GRANT SELECT, INSERT, UPDATE, DELETE ON qs_docs TO regress_quickstart_app;
SELECT teamacl.protect('qs_docs');
SET ROLE regress_quickstart_app;
BEGIN;
SELECT teamacl.set_user(:'bob');
INSERT INTO qs_docs VALUES (1, :'acme', 'Roadmap'), (2, :'acme', 'Budget');
SELECT title FROM qs_docs ORDER BY id;
COMMIT;
SELECT count(*) AS nobody_sees FROM qs_docs;
BEGIN;
SELECT teamacl.set_user(:'carol');
SELECT title FROM qs_docs ORDER BY id;
SELECT pg_temp.err(format('INSERT INTO qs_docs VALUES (3, %L, %L)', :'acme', 'x'));
COMMIT;
RESET ROLE;

SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.remove_member(:'acme', :'bob');
SET ROLE regress_quickstart_app;
BEGIN;
SELECT teamacl.set_user(:'bob');
SELECT count(*) AS bob_sees FROM qs_docs;
COMMIT;
RESET ROLE;
SELECT count(*) AS rows_stay FROM qs_docs;
SELECT action FROM teamacl.audit_log WHERE team_id = :'acme' ORDER BY id;

SELECT teamacl.set_user(NULL, false);
DROP TABLE qs_docs;
DROP EXTENSION teamacl CASCADE;
DROP SCHEMA teamacl;
DROP EXTENSION pgcrypto;
DROP OWNED BY regress_quickstart_app;
DROP ROLE regress_quickstart_app;
