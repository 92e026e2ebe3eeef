-- protect() / unprotect() on application tables: the policies, what each
-- user may read and write through them, the plans they give, their error
-- paths, hostile identifiers, and the classic ways out of row-level
-- security, each denied.
\set SHOW_CONTEXT never
CREATE EXTENSION teamacl CASCADE;
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/err.sql
CREATE ROLE regress_rls_protect_app;
CREATE ROLE regress_rls_protect_other;
CREATE ROLE regress_rls_protect_owner;
GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) TO regress_rls_protect_app, regress_rls_protect_owner;

SELECT teamacl.register_user('alice@example.com') AS alice \gset
SELECT teamacl.register_user('bob@example.com') AS bob \gset
SELECT teamacl.register_user('vera@example.com') AS vera \gset
SELECT teamacl.register_user('zed@example.com') AS zed \gset
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_team('Red', 'pro') AS red \gset
SELECT teamacl.create_team('Blue', 'pro') AS blue \gset
-- bob: member of Red, viewer of Blue; vera: viewer of Red; zed: no team
SELECT teamacl.add_member(:'red', 'bob@example.com', 'member') IS NOT NULL AS bob_red,
       teamacl.add_member(:'blue', 'bob@example.com', 'viewer') IS NOT NULL AS bob_blue,
       teamacl.add_member(:'red', 'vera@example.com', 'viewer') IS NOT NULL AS vera_red;
SELECT teamacl.set_user(NULL, false);
SELECT id AS zed_personal FROM teamacl.teams WHERE personal_owner = :'zed' \gset

-- rows 1-10 belong to Red (even) and Blue (odd), 11-2000 to other teams
CREATE TABLE docs (id int PRIMARY KEY, team_id uuid NOT NULL, body text);
-- plans below are counted (calls per scan): autovacuum's ANALYZE must not
-- change them halfway
ALTER TABLE docs SET (autovacuum_enabled = off);
CREATE INDEX docs_team_idx ON docs (team_id);
INSERT INTO docs SELECT g, CASE WHEN g % 2 = 0 THEN :'red'::uuid ELSE :'blue'::uuid END, 'doc ' || g
  FROM generate_series(1, 10) g;
INSERT INTO docs SELECT g, gen_random_uuid(), 'other ' || g FROM generate_series(11, 2000) g;
ANALYZE docs;
GRANT SELECT, INSERT, UPDATE, DELETE ON docs TO regress_rls_protect_app;

------------------------------------------------------------------------
-- protect(): four policies, RLS enabled and forced
------------------------------------------------------------------------
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'docs'::regclass;
SELECT teamacl.protect('docs');
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'docs'::regclass;
SELECT policyname, cmd, permissive, roles, qual, with_check
  FROM pg_policies WHERE schemaname = 'public' AND tablename = 'docs' ORDER BY policyname;
-- per-row checks (the planner support function makes them index conditions),
-- no subquery: nothing PostgreSQL must build as an InitPlan per statement
SELECT count(*) AS policies,
       bool_and(coalesce(qual, with_check) LIKE 'teamacl.has_permission(team_id, %'
                AND coalesce(with_check, qual) LIKE 'teamacl.has_permission(team_id, %') AS all_call_has_permission,
       bool_or(coalesce(qual, '') || coalesce(with_check, '') LIKE '%SELECT%') AS any_subquery
  FROM pg_policies WHERE schemaname = 'public' AND tablename = 'docs';
SELECT tbl, team_column, select_permission, insert_permission, update_permission, delete_permission,
       rls_was_enabled, rls_was_forced
  FROM teamacl.protected_tables ORDER BY tbl::text;
-- the policies call teamacl's own function, whatever the search_path: with a
-- has_permission() and a uuid = operator of somebody else's ahead of
-- teamacl and pg_catalog, neither is called (the index condition the
-- support function derives uses pg_catalog's = by its OID)
CREATE SCHEMA regress_rls_protect_ops;
CREATE FUNCTION regress_rls_protect_ops.evil_eq(uuid, uuid) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
	RAISE NOTICE 'hostile = called';
	RETURN true;
END $f$;
CREATE OPERATOR regress_rls_protect_ops.= (LEFTARG = uuid, RIGHTARG = uuid, FUNCTION = regress_rls_protect_ops.evil_eq);
CREATE FUNCTION regress_rls_protect_ops.has_permission(uuid, text) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
	RAISE NOTICE 'hostile has_permission called';
	RETURN true;
END $f$;
GRANT USAGE ON SCHEMA regress_rls_protect_ops TO PUBLIC;
SET search_path = regress_rls_protect_ops, pg_catalog, public;
SELECT policyname, coalesce(qual, with_check) AS expression
  FROM pg_policies WHERE schemaname = 'public' AND tablename = 'docs' ORDER BY policyname;
SELECT count(*) FILTER (WHERE coalesce(qual, with_check) LIKE 'teamacl.has_permission(%') AS qualified_policies
  FROM pg_policies WHERE schemaname = 'public' AND tablename = 'docs';
SET ROLE regress_rls_protect_app;
BEGIN;
SELECT teamacl.set_user(:'vera');
SELECT count(*) AS vera_reads_with_hostile_path FROM docs;
COMMIT;
RESET ROLE;
RESET search_path;
DROP SCHEMA regress_rls_protect_ops CASCADE;

------------------------------------------------------------------------
-- who sees and changes what
------------------------------------------------------------------------
SET ROLE regress_rls_protect_app;
-- nobody identified: nothing, and nothing can be written
SELECT count(*) AS anonymous_reads FROM docs;
UPDATE docs SET body = body RETURNING id;
DELETE FROM docs RETURNING id;
SELECT pg_temp.err(format('INSERT INTO docs VALUES (3000, %L, %L)', :'red', 'x')) AS anonymous_insert;
-- bob: member of Red (reads and writes), viewer of Blue (reads)
BEGIN;
SELECT teamacl.set_user(:'bob');
SELECT count(*) AS bob_reads, count(*) FILTER (WHERE team_id = :'red') AS red,
       count(*) FILTER (WHERE team_id = :'blue') AS blue FROM docs;
UPDATE docs SET body = body || '!' RETURNING id;
SELECT pg_temp.err(format('INSERT INTO docs VALUES (3000, %L, %L)', :'blue', 'x')) AS insert_into_blue;
INSERT INTO docs VALUES (3000, :'red', 'new red doc');
DELETE FROM docs WHERE id IN (1, 3000) RETURNING id;
-- moving a row needs resources.update in both teams
SELECT pg_temp.err(format('UPDATE docs SET team_id = %L WHERE id = 2', :'blue')) AS move_red_to_blue;
-- a Blue row, where he lacks resources.update, is not even seen by UPDATE
UPDATE docs SET team_id = :'red' WHERE id = 1 RETURNING id;
SELECT id, team_id = :'red' AS red FROM docs WHERE id IN (1, 2) ORDER BY id;
COMMIT;
-- alice owns both teams: she can move a row, and move it back
BEGIN;
SELECT teamacl.set_user(:'alice');
UPDATE docs SET team_id = :'blue' WHERE id = 2 RETURNING id, team_id = :'blue' AS blue;
UPDATE docs SET team_id = :'red' WHERE id = 2 RETURNING id, team_id = :'red' AS red;
-- and not into a team she is not in
SELECT pg_temp.err(format('UPDATE docs SET team_id = %L WHERE id = 2', :'zed_personal')) AS move_to_zeds_personal;
SELECT pg_temp.err($$UPDATE docs SET team_id = '5d2f2b1e-3c39-4f4e-9b7a-2d8c0a6f1e11' WHERE id = 2$$) AS move_to_unknown_team;
COMMIT;
-- vera: viewer of Red; reads, cannot insert, update or delete
BEGIN;
SELECT teamacl.set_user(:'vera');
SELECT count(*) AS vera_reads, bool_and(team_id = :'red') AS all_red FROM docs;
UPDATE docs SET body = 'x' RETURNING id;
DELETE FROM docs RETURNING id;
SELECT pg_temp.err(format('INSERT INTO docs VALUES (3001, %L, %L)', :'red', 'x')) AS viewer_insert;
COMMIT;
-- zed: member of no team, sees nothing
BEGIN;
SELECT teamacl.set_user(:'zed');
SELECT count(*) AS zed_reads FROM docs;
UPDATE docs SET body = 'x' RETURNING id;
SELECT pg_temp.err(format('INSERT INTO docs VALUES (3002, %L, %L)', :'red', 'x')) AS non_member_insert;
-- rows of his own personal account are his
INSERT INTO docs VALUES (3003, teamacl.personal_team(), 'zed''s own');
SELECT id, body FROM docs ORDER BY id;
DELETE FROM docs WHERE id = 3003 RETURNING id;
COMMIT;
RESET ROLE;
SELECT body FROM docs WHERE id BETWEEN 1 AND 10 ORDER BY id;

------------------------------------------------------------------------
-- the plans: the check is an InitPlan evaluated once per statement, and
-- the team column's index can be used
------------------------------------------------------------------------
SET ROLE regress_rls_protect_app;
BEGIN;
SELECT teamacl.set_user(:'bob');
EXPLAIN (COSTS OFF, VERBOSE) SELECT count(*) FROM docs WHERE id = 1;
EXPLAIN (COSTS OFF) SELECT * FROM docs WHERE id = 4;
-- EXPLAIN ANALYZE alike on every version: 18 shows buffers by default,
-- row counts with two decimals and "Index Searches" lines
CREATE FUNCTION pg_temp.explain_analyze(q text) RETURNS SETOF text LANGUAGE plpgsql AS $f$
DECLARE
	ln text;
BEGIN
	FOR ln IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) ' || q LOOP
		CONTINUE WHEN ln ~ '^\s+Index Searches: ';
		RETURN NEXT regexp_replace(ln, 'rows=(\d+)\.00 ', 'rows=\1 ', 'g');
	END LOOP;
END $f$;
SELECT * FROM pg_temp.explain_analyze('SELECT count(*) FROM docs WHERE id = 1') AS "QUERY PLAN";
SET LOCAL enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM docs;
EXPLAIN (COSTS OFF) SELECT id FROM docs WHERE body LIKE 'doc%';
COMMIT;
RESET ROLE;
-- no SQL runs per row: has_permission() is one cached C call per row it
-- filters, and teams_with() (the index condition the support function
-- derives) is computed once per index scan, not per row.  Where the query
-- names its team already (a constant), the index scans by that instead and
-- has_permission() checks the rows it returns: the team's 5, not all 10
BEGIN;
SET LOCAL track_functions = 'all';
SET LOCAL enable_seqscan = off;
SET LOCAL ROLE regress_rls_protect_app;
SELECT teamacl.set_user(:'bob');
CREATE TEMP TABLE calls (seq int, step text, n bigint, h bigint);
CREATE FUNCTION pg_temp.calls(f text) RETURNS bigint LANGUAGE sql AS
	$f$ SELECT coalesce(sum(calls), 0) FROM pg_stat_xact_user_functions WHERE schemaname = 'teamacl' AND funcname = f $f$;
SELECT count(*) FROM docs;
INSERT INTO calls VALUES (1, 'select 10 rows', pg_temp.calls('teams_with'), pg_temp.calls('has_permission'));
SELECT count(*) FROM docs WHERE team_id = :'red';
INSERT INTO calls VALUES (2, 'select 5 rows', pg_temp.calls('teams_with'), pg_temp.calls('has_permission'));
UPDATE docs SET body = body WHERE team_id = :'red';
INSERT INTO calls VALUES (3, 'update 5 rows', pg_temp.calls('teams_with'), pg_temp.calls('has_permission'));
RESET ROLE;
SELECT step, n - coalesce(lag(n) OVER (ORDER BY seq), 0) AS teams_with_calls,
	   h - coalesce(lag(h) OVER (ORDER BY seq), 0) AS has_permission_calls
  FROM calls ORDER BY seq;
SELECT pg_temp.calls('has_permission') > 0 AS has_permission_called;
ROLLBACK;

------------------------------------------------------------------------
-- custom permissions per command
------------------------------------------------------------------------
SELECT teamacl.define_permission('docs.read', 'Read documents');
SELECT teamacl.define_permission('docs.write', 'Write documents');
CREATE TABLE notes (id int PRIMARY KEY, org_id uuid NOT NULL, body text);
GRANT SELECT, INSERT, UPDATE, DELETE ON notes TO regress_rls_protect_app;
SELECT teamacl.protect('notes', 'org_id', 'docs.read', 'docs.write', 'docs.write', 'docs.write');
SELECT policyname, cmd, coalesce(qual, with_check) AS expression
  FROM pg_policies WHERE schemaname = 'public' AND tablename = 'notes' ORDER BY policyname;
INSERT INTO notes VALUES (1, :'red', 'red note'), (2, :'blue', 'blue note');
-- zed gets a custom role in Red that reads notes but not docs
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_role('note_reader', '{team.read,docs.read}', :'red') IS NOT NULL AS note_reader;
SELECT teamacl.add_member(:'red', 'zed@example.com', 'note_reader') = :'zed' AS zed_added;
SELECT teamacl.set_user(NULL, false);
SET ROLE regress_rls_protect_app;
BEGIN;
SELECT teamacl.set_user(:'zed');
SELECT (SELECT count(*) FROM notes) AS zed_notes, (SELECT count(*) FROM docs) AS zed_docs;
SELECT pg_temp.err(format('INSERT INTO notes VALUES (3, %L, %L)', :'red', 'x')) AS zed_writes_note;
-- bob, a member of Red, holds resources.* but not docs.*
SELECT teamacl.set_user(:'bob');
SELECT (SELECT count(*) FROM notes) AS bob_notes, (SELECT count(*) FROM docs) AS bob_docs;
SELECT pg_temp.err(format('INSERT INTO notes VALUES (3, %L, %L)', :'red', 'x')) AS bob_writes_note;
-- alice, owner, holds permissions defined later too
SELECT teamacl.set_user(:'alice');
SELECT count(*) AS alice_notes FROM notes;
INSERT INTO notes VALUES (3, :'red', 'alice''s note');
COMMIT;
RESET ROLE;

------------------------------------------------------------------------
-- error paths
------------------------------------------------------------------------
-- not the owner (a plain role with every privilege on the table)
CREATE TABLE perms (id int, team_id uuid);
GRANT ALL ON perms TO regress_rls_protect_other;
SET ROLE regress_rls_protect_other;
SELECT pg_temp.err($$SELECT teamacl.protect('perms')$$) AS not_owner;
RESET ROLE;
SELECT teamacl.protect('perms');
SET ROLE regress_rls_protect_other;
SELECT pg_temp.err($$SELECT teamacl.unprotect('perms')$$) AS unprotect_not_owner;
RESET ROLE;
SELECT teamacl.unprotect('perms');
-- a plain role may protect and unprotect a table it owns
CREATE TABLE owned (id int, team_id uuid);
INSERT INTO owned VALUES (1, :'red'), (2, :'blue');
ALTER TABLE owned OWNER TO regress_rls_protect_owner;
SET ROLE regress_rls_protect_owner;
SELECT pg_temp.err($$SELECT teamacl.protect('owned')$$) AS owner_protects;
-- RLS is forced: the owner is filtered too
SELECT count(*) AS owner_without_identity FROM owned;
SELECT pg_temp.err(format('INSERT INTO owned VALUES (3, %L)', :'red')) AS owner_inserts;
BEGIN;
SELECT teamacl.set_user(:'vera');
SELECT count(*) AS owner_acting_for_vera FROM owned;
COMMIT;
SELECT pg_temp.err($$SELECT teamacl.unprotect('owned')$$) AS owner_unprotects;
SELECT count(*) AS owner_after_unprotect FROM owned;
RESET ROLE;
-- not a table
CREATE VIEW aview AS SELECT 1 AS x, NULL::uuid AS team_id;
SELECT pg_temp.err($$SELECT teamacl.protect('aview')$$) AS view;
CREATE SEQUENCE aseq;
SELECT pg_temp.err($$SELECT teamacl.protect('aseq')$$) AS sequence;
-- already protected
SELECT pg_temp.err($$SELECT teamacl.protect('docs')$$) AS already_protected;
SELECT pg_temp.err($$SELECT teamacl.protect('docs', 'team_id', 'resources.read')$$) AS already_protected_again;
-- missing column, wrong column type
SELECT pg_temp.err($$SELECT teamacl.protect('perms', 'org_id')$$) AS missing_column;
ALTER TABLE perms ADD COLUMN gone uuid;
ALTER TABLE perms DROP COLUMN gone;
SELECT pg_temp.err($$SELECT teamacl.protect('perms', '........pg.dropped.3........')$$) AS dropped_column;
SELECT pg_temp.err($$SELECT teamacl.protect('perms', 'ctid')$$) AS system_column;
CREATE TABLE wrongtype (id int, team_id text, org_id int);
SELECT pg_temp.err($$SELECT teamacl.protect('wrongtype')$$) AS text_column;
SELECT pg_temp.err($$SELECT teamacl.protect('wrongtype', 'org_id')$$) AS int_column;
-- unknown permissions, for each command
SELECT pg_temp.err($$SELECT teamacl.protect('perms', 'team_id', 'no.such')$$) AS unknown_select;
SELECT pg_temp.err($$SELECT teamacl.protect('perms', 'team_id', 'resources.read', 'no.such')$$) AS unknown_insert;
SELECT pg_temp.err($$SELECT teamacl.protect('perms', 'team_id', 'resources.read', 'resources.create', 'Resources.Update')$$) AS unknown_update;
SELECT pg_temp.err($$SELECT teamacl.protect('perms', 'team_id', 'resources.read', 'resources.create', 'resources.update', 'docs.delete')$$) AS unknown_delete;
-- NULL arguments
SELECT pg_temp.err($$SELECT teamacl.protect(NULL)$$) AS null_table;
SELECT pg_temp.err($$SELECT teamacl.protect('perms', NULL)$$) AS null_column;
SELECT pg_temp.err($$SELECT teamacl.protect('perms', 'team_id', NULL)$$) AS null_select;
SELECT pg_temp.err($$SELECT teamacl.protect('perms', 'team_id', 'resources.read', 'resources.create', 'resources.update', NULL)$$) AS null_delete;
SELECT pg_temp.err($$SELECT teamacl.unprotect(NULL)$$) AS unprotect_null;
-- teamacl's own tables
SELECT pg_temp.err($$SELECT teamacl.protect('teamacl.members')$$) AS own_table;
-- none of the failed calls left anything behind
SELECT relname, relrowsecurity, relforcerowsecurity,
       (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies
  FROM pg_class c WHERE relname IN ('perms', 'wrongtype', 'owned') AND relnamespace = 'public'::regnamespace
 ORDER BY relname;
SELECT tbl FROM teamacl.protected_tables ORDER BY tbl::text;

------------------------------------------------------------------------
-- unprotect(): restores the RLS flags exactly, drops only its policies
------------------------------------------------------------------------
CREATE TABLE flags_none (id int, team_id uuid);
CREATE TABLE flags_enabled (id int, team_id uuid);
ALTER TABLE flags_enabled ENABLE ROW LEVEL SECURITY;
CREATE POLICY mine ON flags_enabled USING (id > 0);
CREATE TABLE flags_both (id int, team_id uuid);
ALTER TABLE flags_both ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE TABLE flags_forced (id int, team_id uuid);
ALTER TABLE flags_forced FORCE ROW LEVEL SECURITY;
CREATE TEMP TABLE flags_seen AS
SELECT 'before' AS stage, relname, relrowsecurity, relforcerowsecurity
  FROM pg_class WHERE relname LIKE 'flags\_%' AND relnamespace = 'public'::regnamespace;
SELECT teamacl.protect(t) FROM unnest('{flags_none,flags_enabled,flags_both,flags_forced}'::regclass[]) t;
INSERT INTO flags_seen
SELECT 'protected', relname, relrowsecurity, relforcerowsecurity
  FROM pg_class WHERE relname LIKE 'flags\_%' AND relnamespace = 'public'::regnamespace;
SELECT teamacl.unprotect(t) FROM unnest('{flags_none,flags_enabled,flags_both,flags_forced}'::regclass[]) t;
INSERT INTO flags_seen
SELECT 'unprotected', relname, relrowsecurity, relforcerowsecurity
  FROM pg_class WHERE relname LIKE 'flags\_%' AND relnamespace = 'public'::regnamespace;
SELECT relname, stage, relrowsecurity AS enabled, relforcerowsecurity AS forced FROM flags_seen
 ORDER BY relname, array_position('{before,protected,unprotected}', stage);
SELECT tablename, policyname FROM pg_policies WHERE tablename LIKE 'flags\_%' ORDER BY tablename, policyname;
SELECT pg_temp.err($$SELECT teamacl.unprotect('flags_enabled')$$) AS unprotect_twice;
SELECT pg_temp.err($$SELECT teamacl.unprotect('flags_none')$$) AS unprotect_never_protected;
-- unprotect() of docs: every row visible to a plain role again (no policy, RLS off)
SELECT teamacl.unprotect('docs');
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'docs'::regclass;
SELECT count(*) AS docs_policies FROM pg_policies WHERE tablename = 'docs';
SET ROLE regress_rls_protect_app;
SELECT count(*) AS anonymous_reads_unprotected FROM docs;
RESET ROLE;
-- and protect() again
SELECT teamacl.protect('docs');
SET ROLE regress_rls_protect_app;
SELECT count(*) AS anonymous_reads_protected FROM docs;
RESET ROLE;

------------------------------------------------------------------------
-- hostile identifiers are quoted, never executed
------------------------------------------------------------------------
CREATE TABLE x (id int);
CREATE SCHEMA "sch ema";
CREATE TABLE "sch ema"."weird; DROP TABLE x; --" ("team id" uuid, "x""y" int);
CREATE TABLE "sch ema"."second" (team_id uuid);
GRANT USAGE ON SCHEMA "sch ema" TO regress_rls_protect_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON "sch ema"."weird; DROP TABLE x; --" TO regress_rls_protect_app;
SELECT teamacl.protect('"sch ema"."weird; DROP TABLE x; --"', 'team id');
SELECT teamacl.protect('"sch ema".second');
SELECT tablename, policyname, coalesce(qual, with_check) AS expression
  FROM pg_policies WHERE schemaname = 'sch ema' AND tablename LIKE 'weird%' ORDER BY policyname;
SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = '"sch ema"."weird; DROP TABLE x; --"'::regclass;
INSERT INTO "sch ema"."weird; DROP TABLE x; --" VALUES (:'red', 1), (:'blue', 2);
SET ROLE regress_rls_protect_app;
BEGIN;
SELECT teamacl.set_user(:'vera');
SELECT "x""y" FROM "sch ema"."weird; DROP TABLE x; --" ORDER BY 1;
SELECT teamacl.set_user(:'bob');
INSERT INTO "sch ema"."weird; DROP TABLE x; --" VALUES (:'red', 3);
SELECT pg_temp.err(format('INSERT INTO "sch ema"."weird; DROP TABLE x; --" VALUES (%L, 4)', :'blue')) AS bob_into_blue;
UPDATE "sch ema"."weird; DROP TABLE x; --" SET "x""y" = "x""y" * 10 RETURNING "x""y";
SELECT "x""y" FROM "sch ema"."weird; DROP TABLE x; --" ORDER BY 1;
COMMIT;
RESET ROLE;
SELECT count(*) AS x_still_there FROM x;
SELECT count(*) AS docs_still_there FROM docs;

------------------------------------------------------------------------
-- dropping a protected table forgets it (event trigger)
------------------------------------------------------------------------
SELECT tbl FROM teamacl.protected_tables ORDER BY tbl::text;
DROP TABLE "sch ema"."weird; DROP TABLE x; --";
SELECT tbl FROM teamacl.protected_tables ORDER BY tbl::text;
DROP SCHEMA "sch ema" CASCADE;
DROP TABLE notes;
SELECT tbl FROM teamacl.protected_tables ORDER BY tbl::text;

------------------------------------------------------------------------
-- the classic escapes, each denied
------------------------------------------------------------------------
CREATE FUNCTION pg_temp.leak(r docs) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $f$
BEGIN
	RAISE NOTICE 'leaked row %', r.id;
	RETURN true;
END $f$;
SET ROLE regress_rls_protect_app;
BEGIN;
SELECT teamacl.set_user(:'vera');
-- a cheap leaky function in WHERE sees only visible rows
SELECT count(*) FROM docs d WHERE pg_temp.leak(d) AND d.id > 1990;
-- ON CONFLICT DO UPDATE on a hidden row
SELECT pg_temp.err(format('INSERT INTO docs VALUES (2000, %L, %L) ON CONFLICT (id) DO UPDATE SET body = %L', :'red', 'x', 'pwned')) AS on_conflict;
-- RETURNING hidden rows
UPDATE docs SET body = body WHERE id = 2000 RETURNING *;
-- row_security = off refuses instead of bypassing
SET LOCAL row_security = off;
SELECT pg_temp.err('SELECT count(*) FROM docs') AS row_security_off;
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
SET ROLE regress_rls_protect_app;
EXECUTE q2;
RESET ROLE;
DEALLOCATE q2;
-- views: one owned by an ordinary role is still filtered by the teamacl
-- user (RLS is forced); security_invoker views are filtered as the caller;
-- a view owned by a superuser reads everything (superusers always bypass
-- RLS, nothing an extension can change), and doctor() reports it
GRANT SELECT ON docs TO regress_rls_protect_other;
CREATE VIEW docs_view_owned AS SELECT * FROM docs;
ALTER VIEW docs_view_owned OWNER TO regress_rls_protect_other;
CREATE VIEW docs_view_invoker WITH (security_invoker = true) AS SELECT * FROM docs;
CREATE VIEW docs_view_super AS SELECT * FROM docs;
GRANT SELECT ON docs_view_owned, docs_view_invoker, docs_view_super TO regress_rls_protect_app;
SET ROLE regress_rls_protect_app;
BEGIN;
SELECT teamacl.set_user(:'vera');
SELECT (SELECT count(*) FROM docs_view_owned) AS owned_by_plain_role,
	   (SELECT count(*) FROM docs_view_invoker) AS security_invoker;
COMMIT;
RESET ROLE;
SELECT object, severity FROM teamacl.doctor() WHERE problem LIKE 'view reads%' ORDER BY object;
DROP VIEW docs_view_owned, docs_view_invoker, docs_view_super;

DROP FUNCTION pg_temp.leak(docs);
DROP TABLE docs, x, perms, owned, wrongtype, flags_none, flags_enabled, flags_both, flags_forced;
DROP VIEW aview;
DROP SEQUENCE aseq;
DROP EXTENSION teamacl CASCADE;
DROP SCHEMA teamacl;
DROP EXTENSION pgcrypto;
DROP OWNED BY regress_rls_protect_app, regress_rls_protect_other, regress_rls_protect_owner;
DROP ROLE regress_rls_protect_app, regress_rls_protect_other, regress_rls_protect_owner;
