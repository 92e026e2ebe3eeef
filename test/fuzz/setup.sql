-- teamacl fuzz suite: the database sqlsmith runs against (test/scripts/fuzz.sh).
--
-- Run as a superuser in a fresh database.  Creates the application login
-- role fuzz_app (granted only what the README says an application gets),
-- users and teams it belongs to with different roles (and teams it does not
-- belong to), memberships and invitations, and one protected table per kind
-- of index on the team column, filled with a few thousand rows and ANALYZEd.
--
-- Keep the number of tables small: sqlsmith picks tables at random, and
-- every table here should be one whose plans go through teamacl.
\set ON_ERROR_STOP 1
\set QUIET 1
SET client_min_messages = warning;

CREATE EXTENSION teamacl CASCADE;      -- and pgcrypto
CREATE EXTENSION btree_gist;

-- the application's login role; cluster-wide, so recreate it when a reused
-- cluster (FUZZ_PORT) still has it from an earlier run
DO $$ BEGIN
	IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fuzz_app') THEN
		EXECUTE 'DROP OWNED BY fuzz_app';
		EXECUTE 'DROP ROLE fuzz_app';
	END IF;
END $$;
CREATE ROLE fuzz_app LOGIN;
GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) TO fuzz_app;

-- bcrypt for create_member passwords is not needed; keep set-up fast anyway
SET teamacl.password_bcrypt_cost = 4;

-- ---------------------------------------------------------------------------
-- users: the application role is mapped to a teamacl user, so every
-- sqlsmith session as fuzz_app is identified without set_user()
SELECT teamacl.register_user('app@example.com', 'App', db_role => 'fuzz_app') AS app \gset
SELECT teamacl.register_user('alice@example.com', 'Alice') AS alice \gset
SELECT teamacl.register_user('bob@example.com', 'Bob') AS bob \gset
SELECT teamacl.register_user('carol@example.com', 'Carol') AS carol \gset
SELECT teamacl.register_user('dave@example.com', 'Dave') AS dave \gset
SELECT teamacl.register_user('erin@example.com', 'Erin') AS erin \gset
SELECT teamacl.set_sign_in_method(:'app', 'password_2fa');
SELECT teamacl.set_sign_in_method(:'bob', 'github');

-- teams the app user is in, one role each
SELECT teamacl.set_user(:'app', false);
-- the app user owns one team
SELECT teamacl.create_team('App Co', 'enterprise') AS t_own \gset
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_team('Acme', 'enterprise') AS t_admin \gset
SELECT teamacl.add_member(:'t_admin', 'app@example.com', 'admin');
SELECT teamacl.add_member(:'t_admin', 'bob@example.com', 'member');
-- an email that has not signed up (a placeholder user)
SELECT teamacl.add_member(:'t_admin', 'placeholder@example.com', 'viewer');
SELECT teamacl.create_role('auditor', ARRAY['team.read', 'audit.read', 'resources.read'], :'t_admin');
SELECT teamacl.add_member(:'t_admin', 'carol@example.com', 'auditor');
SELECT teamacl.set_user(:'bob', false);
SELECT teamacl.create_team('Beta', 'pro') AS t_member \gset
SELECT teamacl.add_member(:'t_member', 'app@example.com', 'member');
SELECT teamacl.set_user(:'carol', false);
SELECT teamacl.create_team('Gamma', 'pro') AS t_viewer \gset
SELECT teamacl.add_member(:'t_viewer', 'app@example.com', 'viewer');
SELECT teamacl.set_user(:'dave', false);
-- billing: no resources.* permission
SELECT teamacl.create_team('Delta', 'pro') AS t_billing \gset
SELECT teamacl.add_member(:'t_billing', 'app@example.com', 'billing');

-- invitations: one accepted, one pending for the app user, some pending
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.invite(:'t_admin', 'erin@example.com', 'member') AS erin_token \gset
SELECT teamacl.create_team('Epsilon', 'pro') AS t_invited \gset
SELECT teamacl.invite(:'t_invited', 'app@example.com', 'member') AS app_token \gset
SELECT teamacl.invite(:'t_invited', 'frank@example.com', 'viewer', valid_for => '1 hour');
SELECT teamacl.invite(:'t_admin', 'grace@example.com', 'viewer');
SELECT teamacl.set_user(:'erin', false);
SELECT teamacl.accept_invitation(:'erin_token') IS NOT NULL AS erin_joined;

-- teams the app user is not in
SELECT teamacl.set_user(:'bob', false);
SELECT teamacl.create_team('Other ' || g, 'free') FROM generate_series(1, 100) g;
SELECT teamacl.set_user(:'app', false);
SELECT teamacl.switch_team(:'t_member');
SELECT teamacl.set_user(NULL, false);

-- every team and personal account; rows go round-robin over them, so the app
-- user can read a few percent of each table (5 of 112 teams), as in any
-- multi-tenant database
CREATE TEMP TABLE fuzz_teams AS
	SELECT row_number() OVER (ORDER BY name, id) AS n, id FROM teamacl.teams;
SELECT count(*) AS nteams FROM fuzz_teams \gset

-- ---------------------------------------------------------------------------
-- protected tables, one per kind of index on the team column

-- btree on the team column alone
CREATE TABLE documents (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	team_id uuid NOT NULL,
	title text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT '2026-01-01'
);
CREATE INDEX documents_team_idx ON documents (team_id);

-- the team column leads a multi-column btree
CREATE TABLE tasks (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	team_id uuid NOT NULL,
	status int NOT NULL,
	due date,
	note text
);
CREATE INDEX tasks_team_status_due_idx ON tasks (team_id, status, due);

-- partial btree
CREATE TABLE tickets (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	team_id uuid NOT NULL,
	open boolean NOT NULL,
	priority int NOT NULL,
	subject text
);
CREATE INDEX tickets_open_team_idx ON tickets (team_id) WHERE open;

-- btree with INCLUDE
CREATE TABLE notes (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	team_id uuid NOT NULL,
	score numeric,
	body text
);
CREATE INDEX notes_team_incl_idx ON notes (team_id) INCLUDE (score);

-- GiST index led by the team column (btree_gist): no overlapping bookings
-- of one team
CREATE TABLE bookings (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	team_id uuid NOT NULL,
	room int NOT NULL,
	during tstzrange NOT NULL,
	EXCLUDE USING gist (team_id WITH =, during WITH &&)
);

-- hash index
CREATE TABLE files (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	team_id uuid NOT NULL,
	name text NOT NULL,
	size bigint
);
CREATE INDEX files_team_hash_idx ON files USING hash (team_id);

-- BRIN index led by the team column
CREATE TABLE events (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	team_id uuid NOT NULL,
	at timestamptz NOT NULL,
	kind text
);
CREATE INDEX events_team_brin_idx ON events USING brin (team_id, at);

-- partitioned table: the parent is protected, the partitions exist (and
-- inherit the partitioned index)
CREATE TABLE metrics (
	id bigint GENERATED ALWAYS AS IDENTITY,
	team_id uuid NOT NULL,
	region int NOT NULL,
	value double precision
) PARTITION BY LIST (region);
CREATE TABLE metrics_r0 PARTITION OF metrics FOR VALUES IN (0);
CREATE TABLE metrics_r1 PARTITION OF metrics FOR VALUES IN (1);
CREATE TABLE metrics_other PARTITION OF metrics DEFAULT;
CREATE INDEX metrics_team_idx ON metrics (team_id);

-- no index at all (no primary key either)
CREATE TABLE audit_trail (
	team_id uuid NOT NULL,
	at timestamptz NOT NULL,
	message text
);

-- a hand-written policy instead of protect()
CREATE TABLE resources (
	id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	team_id uuid NOT NULL,
	name text NOT NULL
);
CREATE INDEX resources_team_idx ON resources (team_id);
ALTER TABLE resources ENABLE ROW LEVEL SECURITY;
ALTER TABLE resources FORCE ROW LEVEL SECURITY;
CREATE POLICY resources_read ON resources
	USING (teamacl.has_permission(team_id, 'resources.read'));

-- ---------------------------------------------------------------------------
-- data, inserted as the superuser (which bypasses RLS); the fixed order of
-- fuzz_teams makes it the same on every run
INSERT INTO documents (team_id, title, created_at)
	SELECT t.id, 'doc ' || g, '2026-01-01'::timestamptz + g * interval '1 hour'
	  FROM generate_series(1, 3000) g JOIN fuzz_teams t ON t.n = 1 + g % :nteams;
INSERT INTO tasks (team_id, status, due, note)
	SELECT t.id, g % 5, '2026-01-01'::date + g % 365, CASE WHEN g % 7 > 0 THEN 'task ' || g END
	  FROM generate_series(1, 3000) g JOIN fuzz_teams t ON t.n = 1 + g % :nteams;
INSERT INTO tickets (team_id, open, priority, subject)
	SELECT t.id, g % 3 = 0, g % 4, 'ticket ' || g
	  FROM generate_series(1, 3000) g JOIN fuzz_teams t ON t.n = 1 + g % :nteams;
INSERT INTO notes (team_id, score, body)
	SELECT t.id, (g % 100) / 10.0, repeat('n', g % 50)
	  FROM generate_series(1, 3000) g JOIN fuzz_teams t ON t.n = 1 + g % :nteams;
INSERT INTO bookings (team_id, room, during)
	SELECT t.id, g % 10,
	       tstzrange('2026-01-01'::timestamptz + g * interval '1 hour',
	                 '2026-01-01'::timestamptz + g * interval '1 hour' + interval '45 minutes')
	  FROM generate_series(1, 3000) g JOIN fuzz_teams t ON t.n = 1 + g % :nteams;
INSERT INTO files (team_id, name, size)
	SELECT t.id, 'file' || g || '.txt', g * 1024
	  FROM generate_series(1, 3000) g JOIN fuzz_teams t ON t.n = 1 + g % :nteams;
INSERT INTO events (team_id, at, kind)
	SELECT t.id, '2026-01-01'::timestamptz + g * interval '1 minute', (ARRAY['login', 'logout', 'edit'])[1 + g % 3]
	  FROM generate_series(1, 3000) g JOIN fuzz_teams t ON t.n = 1 + (g / 100) % :nteams;
INSERT INTO metrics (team_id, region, value)
	SELECT t.id, g % 4, g / 7.0
	  FROM generate_series(1, 3000) g JOIN fuzz_teams t ON t.n = 1 + g % :nteams;
INSERT INTO audit_trail (team_id, at, message)
	SELECT t.id, '2026-01-01'::timestamptz + g * interval '1 second', 'audit ' || g
	  FROM generate_series(1, 2000) g JOIN fuzz_teams t ON t.n = 1 + g % :nteams;
INSERT INTO resources (team_id, name)
	SELECT t.id, 'resource ' || g
	  FROM generate_series(1, 3000) g JOIN fuzz_teams t ON t.n = 1 + g % :nteams;

SELECT teamacl.protect(tbl) FROM unnest(ARRAY['documents', 'tasks', 'tickets', 'notes', 'bookings',
	'files', 'events', 'metrics', 'audit_trail']::regclass[]) AS tbl;

-- exactly what the README says the application role gets
GRANT SELECT, INSERT, UPDATE, DELETE
	ON documents, tasks, tickets, notes, bookings, files, events, metrics, audit_trail, resources
	TO fuzz_app;

ANALYZE;

-- sqlsmith's INSERTs and UPDATEs are rolled back, but leave dead rows:
-- autovacuum would change relpages and reltuples, and so the plans, at
-- moments that vary from run to run.  Without it, a seed gives the same
-- queries and the same plans on every run.
DO $$
DECLARE
	r regclass;
BEGIN
	FOR r IN SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	          WHERE c.relkind IN ('r', 'm') AND n.nspname IN ('public', 'teamacl') LOOP
		EXECUTE format('ALTER TABLE %s SET (autovacuum_enabled = off, toast.autovacuum_enabled = off)', r);
	END LOOP;
END $$;

-- the usual setting for SSDs: index scans (where has_permission()'s planner
-- support turns the check into an index condition) are chosen more often,
-- also on these small tables, so more of teamacl's plan shapes get fuzzed
DO $$ BEGIN
	EXECUTE format('ALTER DATABASE %I SET random_page_cost = 1.1', current_database());
END $$;
