-- protect() / unprotect() on application tables, the plans they give, and
-- the classic ways out of row-level security, each denied.
\set SHOW_CONTEXT never
CREATE EXTENSION teamacl CASCADE;
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/err.sql
CREATE ROLE regress_rls_app;
CREATE ROLE regress_rls_other;
GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) TO regress_rls_app;

SELECT teamacl.register_user('alice@example.com') AS alice \gset
SELECT teamacl.register_user('bob@example.com') AS bob \gset
SELECT teamacl.register_user('vera@example.com') AS vera \gset
SELECT teamacl.register_user('zed@example.com') AS zed \gset
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_team('Red', 'pro') AS red \gset
SELECT teamacl.create_team('Blue', 'pro') AS blue \gset
SELECT teamacl.add_member(:'red', 'bob@example.com', 'member') IS NOT NULL,
	   teamacl.add_member(:'blue', 'bob@example.com', 'viewer') IS NOT NULL,
	   teamacl.add_member(:'red', 'vera@example.com', 'viewer') IS NOT NULL;
SELECT teamacl.set_user(NULL, false);

CREATE TABLE docs (id int PRIMARY KEY, team_id uuid NOT NULL, body text);
CREATE INDEX docs_team_idx ON docs (team_id);
INSERT INTO docs SELECT g, CASE WHEN g % 2 = 0 THEN :'red'::uuid ELSE :'blue'::uuid END, 'doc ' || g
  FROM generate_series(1, 10) g;
INSERT INTO docs SELECT g, gen_random_uuid(), 'other ' || g FROM generate_series(11, 2000) g;
ANALYZE docs;
GRANT SELECT, INSERT, UPDATE, DELETE ON docs TO regress_rls_app;

-- protect(): four policies, RLS enabled and forced
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'docs'::regclass;
SELECT teamacl.protect('docs');
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'docs'::regclass;
SELECT policyname, cmd, permissive, roles, qual, with_check FROM pg_policies WHERE tablename = 'docs' ORDER BY policyname;

SET ROLE regress_rls_app;
-- nobody identified: nothing
SELECT count(*) AS anonymous FROM docs;
-- bob: member of red, viewer of blue
BEGIN;
SELECT teamacl.set_user(:'bob');
SELECT count(*) AS bob_reads FROM docs;
UPDATE docs SET body = body || '!' RETURNING id;
SELECT pg_temp.err(format('INSERT INTO docs VALUES (3000, %L, %L)', :'blue', 'x'));
INSERT INTO docs VALUES (3000, :'red', 'new red doc');
-- moving a row needs resources.update in both teams
SELECT pg_temp.err(format('UPDATE docs SET team_id = %L WHERE id = 2', :'blue'));
DELETE FROM docs WHERE id IN (1, 3000) RETURNING id;
COMMIT;
-- vera: viewer of red
BEGIN;
SELECT teamacl.set_user(:'vera');
SELECT count(*) AS vera_reads FROM docs;
UPDATE docs SET body = 'x' RETURNING id;
DELETE FROM docs RETURNING id;
SELECT pg_temp.err(format('INSERT INTO docs VALUES (3001, %L, %L)', :'red', 'x'));
COMMIT;
-- zed: no team
BEGIN;
SELECT teamacl.set_user(:'zed');
SELECT count(*) AS zed_reads FROM docs;
COMMIT;

-- the plans: the check is an InitPlan, once per statement, and can use the index
BEGIN;
SELECT teamacl.set_user(:'bob');
EXPLAIN (COSTS OFF) SELECT * FROM docs WHERE id = 4;
SET LOCAL enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM docs;
COMMIT;

-- the classic escapes, each denied (as bob, who cannot see team blue's writes nor other teams' rows)
CREATE FUNCTION pg_temp.leak(r docs) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $f$
BEGIN
	RAISE NOTICE 'leaked row %', r.id;
	RETURN true;
END $f$;
BEGIN;
SELECT teamacl.set_user(:'vera');
-- a cheap leaky function in WHERE sees only visible rows
SELECT count(*) FROM docs d WHERE pg_temp.leak(d) AND d.id > 1990;
-- ON CONFLICT DO UPDATE on a hidden row
SELECT pg_temp.err(format('INSERT INTO docs VALUES (2000, %L, %L) ON CONFLICT (id) DO UPDATE SET body = %L', :'red', 'x', 'pwned'));
-- RETURNING hidden rows
UPDATE docs SET body = body WHERE id = 2000 RETURNING *;
-- row_security = off refuses instead of bypassing
SET LOCAL row_security = off;
SELECT pg_temp.err('SELECT count(*) FROM docs');
COMMIT;
-- COPY TO
BEGIN;
SELECT teamacl.set_user(:'vera');
COPY (SELECT count(*) FROM docs) TO STDOUT;
COPY docs (id) TO STDOUT;
COMMIT;
-- a prepared statement re-used after the user changes
PREPARE q AS SELECT count(*) FROM docs;
SELECT teamacl.set_user(:'bob', false);
EXECUTE q;
SELECT teamacl.set_user(:'zed', false);
EXECUTE q;
SELECT teamacl.set_user(NULL, false);
EXECUTE q;
DEALLOCATE q;
RESET ROLE;
-- a prepared statement planned as the superuser, executed after SET ROLE
PREPARE q2 AS SELECT count(*) FROM docs;
SET ROLE regress_rls_app;
EXECUTE q2;
RESET ROLE;
DEALLOCATE q2;
-- views: one owned by an ordinary role is still filtered by the teamacl
-- user (RLS is forced); security_invoker views are filtered as the caller;
-- a view owned by a superuser reads everything (superusers always bypass
-- RLS, nothing an extension can change), and doctor() reports it
GRANT SELECT ON docs TO regress_rls_other;
CREATE VIEW docs_view_owned AS SELECT * FROM docs;
ALTER VIEW docs_view_owned OWNER TO regress_rls_other;
CREATE VIEW docs_view_invoker WITH (security_invoker = true) AS SELECT * FROM docs;
CREATE VIEW docs_view_super AS SELECT * FROM docs;
GRANT SELECT ON docs_view_owned, docs_view_invoker, docs_view_super TO regress_rls_app;
SET ROLE regress_rls_app;
BEGIN;
SELECT teamacl.set_user(:'vera');
SELECT (SELECT count(*) FROM docs_view_owned) AS owned_by_plain_role,
	   (SELECT count(*) FROM docs_view_invoker) AS security_invoker;
COMMIT;
RESET ROLE;
SELECT object, severity FROM teamacl.doctor() WHERE problem LIKE 'view reads%' ORDER BY object;
DROP VIEW docs_view_owned, docs_view_invoker, docs_view_super;
REVOKE SELECT ON docs FROM regress_rls_other;

-- error paths
SELECT pg_temp.err($$SELECT teamacl.protect('docs')$$);
CREATE TABLE wrongtype (id int, team_id text);
SELECT pg_temp.err($$SELECT teamacl.protect('wrongtype')$$);
SELECT pg_temp.err($$SELECT teamacl.protect('wrongtype', 'org')$$);
CREATE VIEW aview AS SELECT 1 AS x;
SELECT pg_temp.err($$SELECT teamacl.protect('aview')$$);
CREATE TABLE perms (id int, team_id uuid);
SELECT pg_temp.err($$SELECT teamacl.protect('perms', 'team_id', 'no.such')$$);
SELECT pg_temp.err($$SELECT teamacl.protect(NULL)$$);
SELECT pg_temp.err($$SELECT teamacl.protect('teamacl.members', 'team_id')$$);
SELECT pg_temp.err($$SELECT teamacl.unprotect('perms')$$);
GRANT ALL ON perms TO regress_rls_other;
SET ROLE regress_rls_other;
SELECT pg_temp.err($$SELECT teamacl.protect('perms')$$);
RESET ROLE;
-- custom permissions per command
SELECT teamacl.define_permission('docs.read');
SELECT teamacl.protect('perms', 'team_id', 'docs.read', 'resources.create', 'resources.update', 'resources.delete');
SELECT policyname, coalesce(qual, with_check) FROM pg_policies WHERE tablename = 'perms' AND policyname = 'teamacl_select';

-- unprotect() restores the flags exactly and drops only its own policies
CREATE TABLE flags (id int, team_id uuid);
ALTER TABLE flags ENABLE ROW LEVEL SECURITY;
CREATE POLICY mine ON flags USING (true);
SELECT teamacl.protect('flags');
SELECT teamacl.unprotect('flags');
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'flags'::regclass;
SELECT policyname FROM pg_policies WHERE tablename = 'flags';
SELECT teamacl.unprotect('docs');
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'docs'::regclass;
SELECT count(*) AS docs_policies FROM pg_policies WHERE tablename = 'docs';
SELECT pg_temp.err($$SELECT teamacl.unprotect('docs')$$);

-- hostile identifiers are quoted
CREATE SCHEMA "sch ema";
CREATE TABLE "sch ema"."weird; DROP TABLE docs; --" ("team id" uuid, "x""y" int);
GRANT USAGE ON SCHEMA "sch ema" TO regress_rls_app;
GRANT SELECT, INSERT ON "sch ema"."weird; DROP TABLE docs; --" TO regress_rls_app;
SELECT teamacl.protect('"sch ema"."weird; DROP TABLE docs; --"', 'team id');
INSERT INTO "sch ema"."weird; DROP TABLE docs; --" VALUES (:'red', 1), (:'blue', 2);
SET ROLE regress_rls_app;
BEGIN;
SELECT teamacl.set_user(:'vera');
SELECT "x""y" FROM "sch ema"."weird; DROP TABLE docs; --";
COMMIT;
RESET ROLE;
SELECT count(*) AS docs_still_there FROM docs;
-- dropping a protected table forgets it
SELECT count(*) AS protected_before FROM teamacl.protected_tables;
DROP TABLE "sch ema"."weird; DROP TABLE docs; --";
SELECT tbl FROM teamacl.protected_tables ORDER BY tbl::text;

DROP SCHEMA "sch ema" CASCADE;
DROP FUNCTION pg_temp.leak(docs);
DROP TABLE docs, wrongtype, perms, flags;
DROP VIEW aview;
DROP EXTENSION teamacl CASCADE;
DROP EXTENSION pgcrypto;
DROP OWNED BY regress_rls_app, regress_rls_other;
DROP ROLE regress_rls_app, regress_rls_other;
