-- Protected tables with the indexes users really have on the team column:
-- btree alone, leading a multi-column index, partial, with INCLUDE, a GiST
-- index from a btree_gist exclusion constraint, hash, BRIN, and none; and
-- a hand-written has_permission() policy on a GiST-indexed table.  Reads,
-- point reads and writes as the application role give the right rows on
-- every one, and the planner is offered the team_id = ANY (...) index
-- condition only by indexes that can take it (btree).
\set SHOW_CONTEXT never
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/err.sql
CREATE EXTENSION teamacl CASCADE;
CREATE EXTENSION btree_gist;
CREATE ROLE regress_kinds_app LOGIN;
GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) TO regress_kinds_app;

SELECT teamacl.register_user('alice@example.com') AS alice \gset
SELECT teamacl.register_user('bob@example.com') AS bob \gset
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_team('Acme', 'pro') AS acme \gset
SELECT teamacl.create_team('Beta', 'pro') AS beta \gset
SELECT teamacl.add_member(:'acme', 'bob@example.com', 'viewer') IS NOT NULL AS bob_views_acme;
SELECT teamacl.set_user(NULL, false);

-- 2000 rows over 40 teams: 50 in Acme, 50 in Beta
CREATE TABLE regress_kinds_teams AS
SELECT g AS n, CASE g WHEN 1 THEN :'acme'::uuid WHEN 2 THEN :'beta'::uuid ELSE gen_random_uuid() END AS team_id
  FROM generate_series(1, 40) g;
CREATE FUNCTION pg_temp.make_table(name text, index_sql text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('CREATE TABLE %I (id int PRIMARY KEY, team_id uuid NOT NULL, body text NOT NULL,
				   during tstzrange NOT NULL DEFAULT tstzrange(''2000-01-01'', ''2000-01-02''))', name);
	IF index_sql IS NOT NULL THEN
		EXECUTE format(index_sql, name);
	END IF;
	EXECUTE format('INSERT INTO %I (id, team_id, body, during)
					SELECT g, t.team_id, ''row '' || g,
						   tstzrange(''2030-01-01''::timestamptz + g * interval ''1 hour'', ''2030-01-01''::timestamptz + (g + 1) * interval ''1 hour'')
					  FROM generate_series(1, 2000) g JOIN regress_kinds_teams t ON t.n = 1 + g %% 40', name);
	EXECUTE format('ANALYZE %I', name);
	EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO regress_kinds_app', name);
END
$$;
SELECT pg_temp.make_table('kind_btree', 'CREATE INDEX ON %I (team_id)');
SELECT pg_temp.make_table('kind_multi', 'CREATE INDEX ON %I (team_id, id)');
SELECT pg_temp.make_table('kind_partial', 'CREATE INDEX ON %I (team_id) WHERE id > 100');
SELECT pg_temp.make_table('kind_include', 'CREATE INDEX ON %I (team_id) INCLUDE (body)');
SELECT pg_temp.make_table('kind_gist', 'ALTER TABLE %I ADD EXCLUDE USING gist (team_id WITH =, during WITH &&)');
SELECT pg_temp.make_table('kind_hash', 'CREATE INDEX ON %I USING hash (team_id)');
SELECT pg_temp.make_table('kind_brin', 'CREATE INDEX ON %I USING brin (team_id)');
SELECT pg_temp.make_table('kind_none', NULL);
SELECT pg_temp.make_table('kind_handmade', 'CREATE INDEX ON %I USING gist (team_id)');
SELECT teamacl.protect(t) FROM unnest(ARRAY['kind_btree', 'kind_multi', 'kind_partial', 'kind_include',
											  'kind_gist', 'kind_hash', 'kind_brin', 'kind_none']::regclass[]) t;
ALTER TABLE kind_handmade ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
CREATE POLICY mine ON kind_handmade FOR SELECT USING (teamacl.has_permission(team_id, 'resources.read'));

-- whether a query's plan has a line matching a pattern (plans differ in
-- shape between versions and costs; the question asked does not)
CREATE FUNCTION pg_temp.plan_has(query text, pattern text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
	v_line text;
BEGIN
	FOR v_line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
		IF v_line ~ pattern THEN
			RETURN true;
		END IF;
	END LOOP;
	RETURN false;
END
$$;
GRANT EXECUTE ON FUNCTION pg_temp.plan_has(text, text) TO regress_kinds_app;
CREATE TABLE regress_kinds_list (name regclass, array_index boolean);
INSERT INTO regress_kinds_list VALUES
	('kind_btree', true), ('kind_multi', true), ('kind_partial', false), ('kind_include', true),
	('kind_gist', false), ('kind_hash', false), ('kind_brin', false), ('kind_none', false), ('kind_handmade', false);
GRANT SELECT ON regress_kinds_list, regress_kinds_teams TO regress_kinds_app;

-- as the application role, for Bob (viewer of Acme only): every table shows
-- Acme's 50 rows and nothing else, with seq scans allowed and forbidden; a
-- GiST, hash or BRIN index is never handed the array condition (which made
-- every read fail with XX000 before 0.3)
CREATE FUNCTION pg_temp.reads(tbl regclass, acme uuid) RETURNS TABLE (visible bigint, only_acme boolean, point bigint, other_point bigint)
	LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('SELECT count(*), bool_and(team_id = %L) FROM %s', acme, tbl) INTO visible, only_acme;
	EXECUTE format('SELECT count(*) FROM %s WHERE team_id = %L AND id = 40', tbl, acme) INTO point;
	EXECUTE format('SELECT count(*) FROM %s WHERE id = 41', tbl) INTO other_point;
	RETURN NEXT;
END
$$;
CREATE FUNCTION pg_temp.writes(tbl regclass) RETURNS TABLE (updated bigint, deleted bigint)
	LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('WITH u AS (UPDATE %s SET body = ''upd'' WHERE id BETWEEN 1 AND 200 RETURNING 1) SELECT count(*) FROM u', tbl) INTO updated;
	EXECUTE format('WITH d AS (DELETE FROM %s WHERE id IN (5001, 42, 81) RETURNING 1) SELECT count(*) FROM d', tbl) INTO deleted;
	RETURN NEXT;
END
$$;
SET ROLE regress_kinds_app;
SELECT teamacl.set_user(:'bob', false);
SELECT l.name, r.*
  FROM regress_kinds_list l, pg_temp.reads(l.name, :'acme') r ORDER BY l.name::text;
SET enable_seqscan = off;
SELECT l.name, r.*,
	   pg_temp.plan_has(format('SELECT * FROM %s', l.name), 'Index Cond: .*teams_with') = l.array_index AS as_expected
  FROM regress_kinds_list l, pg_temp.reads(l.name, :'acme') r ORDER BY l.name::text;
SET enable_bitmapscan = off;
SELECT l.name, r.* FROM regress_kinds_list l, pg_temp.reads(l.name, :'acme') r ORDER BY l.name::text;
RESET enable_seqscan;
RESET enable_bitmapscan;

-- a btree index still serves the selective filter: an index or bitmap scan
SELECT pg_temp.plan_has('SELECT * FROM kind_btree', '(Index|Bitmap Index) Scan') AS btree_index_scan;

-- writes: a viewer cannot write; Alice (owner of both teams) writes in her
-- teams and not in others, and cannot move a row out of reach
SELECT DISTINCT regexp_replace(pg_temp.err(format('INSERT INTO %s (id, team_id, body) VALUES (5001, %L, %L)', name, :'acme', 'x')), 'table "[^"]+"', 'table <t>') AS viewer_insert
  FROM regress_kinds_list WHERE name <> 'kind_handmade'::regclass;
SELECT DISTINCT regexp_replace(pg_temp.err(format('UPDATE %s SET body = %L WHERE team_id = %L', name, 'y', :'acme')), 'table "[^"]+"', 'table <t>') AS viewer_update
  FROM regress_kinds_list WHERE name <> 'kind_handmade'::regclass;
SELECT teamacl.set_user(:'alice', false);
SELECT DISTINCT regexp_replace(pg_temp.err(format('INSERT INTO %s (id, team_id, body) VALUES (5001, %L, %L)', name, :'beta', 'new')), 'table "[^"]+"', 'table <t>') AS owner_insert
  FROM regress_kinds_list WHERE name <> 'kind_handmade'::regclass;
SELECT DISTINCT regexp_replace(pg_temp.err(format('INSERT INTO %s (id, team_id, body) VALUES (5002, %L, %L)', name,
								   (SELECT team_id FROM regress_kinds_teams WHERE n = 3), 'theirs')), 'table "[^"]+"', 'table <t>') AS foreign_insert
  FROM regress_kinds_list WHERE name <> 'kind_handmade'::regclass;
SELECT DISTINCT regexp_replace(pg_temp.err(format('UPDATE %s SET team_id = %L WHERE id = 41', name,
								   (SELECT team_id FROM regress_kinds_teams WHERE n = 3))), 'table "[^"]+"', 'table <t>') AS move_out
  FROM regress_kinds_list WHERE name <> 'kind_handmade'::regclass;
SELECT l.name, w.* FROM regress_kinds_list l, pg_temp.writes(l.name) w
 WHERE l.name <> 'kind_handmade'::regclass ORDER BY l.name::text;
SELECT teamacl.set_user(NULL, false);
RESET ROLE;

-- doctor() names each table no btree index can serve, with the index kind
SELECT object, problem FROM teamacl.doctor() WHERE problem LIKE 'team column%' ORDER BY object;

DROP TABLE kind_btree, kind_multi, kind_partial, kind_include, kind_gist, kind_hash, kind_brin, kind_none,
	kind_handmade, regress_kinds_list, regress_kinds_teams;
DROP EXTENSION btree_gist;
DROP EXTENSION teamacl CASCADE;
DROP SCHEMA teamacl;
DROP EXTENSION pgcrypto;
DROP FUNCTION pg_temp.plan_has(text, text), pg_temp.reads(regclass, uuid), pg_temp.writes(regclass);
DROP ROLE regress_kinds_app;
