-- protect() on partitioned tables and inheritance parents covers every
-- child, present and future: PostgreSQL does not apply a parent's policies
-- when a child is read directly, and "GRANT ... ON ALL TABLES IN SCHEMA"
-- hands the application role the partitions too.  unprotect() undoes
-- exactly what protect() did; doctor() reports a child left unprotected.
\set SHOW_CONTEXT never
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/err.sql
CREATE EXTENSION teamacl CASCADE;
CREATE ROLE regress_parts_app LOGIN;
GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) TO regress_parts_app;
SELECT teamacl.register_user('alice@example.com') AS alice \gset
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_team('Acme') AS acme \gset
SELECT teamacl.set_user(NULL, false);
CREATE SCHEMA regress_parts;
SET search_path = regress_parts, public;

-- rows of Acme and of another team in every child
CREATE FUNCTION pg_temp.fill(tbl regclass, lo int, hi int, team uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('INSERT INTO %s (id, team_id) SELECT g, CASE WHEN g %% 2 = 0 THEN %L::uuid ELSE %L::uuid END
					FROM generate_series(%s, %s) g', tbl, team, '00000000-0000-4000-8000-0000000000ff', lo, hi);
END
$$;
-- what the application role sees of each table: rows, and rows of other teams
CREATE FUNCTION pg_temp.seen(tbls text[]) RETURNS TABLE (tbl text, visible bigint, others bigint)
	LANGUAGE plpgsql AS $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY tbls LOOP
		tbl := t;
		EXECUTE format('SELECT count(*), count(*) FILTER (WHERE team_id = %L) FROM %s',
					   '00000000-0000-4000-8000-0000000000ff', t) INTO visible, others;
		RETURN NEXT;
	END LOOP;
END
$$;
-- teamacl's record of protected tables, and the policies each carries
CREATE FUNCTION pg_temp.state() RETURNS TABLE (tbl text, parent text, policies bigint, rls boolean, forced boolean)
	LANGUAGE sql AS $$
	SELECT c.oid::regclass::text, p.parent::text,
		   (SELECT count(*) FROM pg_policy x WHERE x.polrelid = c.oid AND x.polname LIKE 'teamacl\_%'),
		   c.relrowsecurity, c.relforcerowsecurity
	  FROM pg_class c LEFT JOIN teamacl.protected_tables p ON p.tbl = c.oid
	 WHERE c.relnamespace = 'regress_parts'::regnamespace AND c.relkind IN ('r', 'p', 'f')
	 ORDER BY 1
$$;

-- a partitioned table with a sub-partitioned partition
CREATE TABLE orders (id int NOT NULL, team_id uuid NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE orders_1 PARTITION OF orders FOR VALUES FROM (1) TO (11);
CREATE TABLE orders_2 PARTITION OF orders FOR VALUES FROM (11) TO (21) PARTITION BY RANGE (id);
CREATE TABLE orders_2a PARTITION OF orders_2 FOR VALUES FROM (11) TO (16);
CREATE TABLE orders_2b PARTITION OF orders_2 FOR VALUES FROM (16) TO (21);
CREATE INDEX ON orders (team_id);
SELECT pg_temp.fill('orders', 1, 20, :'acme');
-- a partition that had row-level security enabled before protect()
ALTER TABLE orders_1 ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA regress_parts TO regress_parts_app;
GRANT USAGE ON SCHEMA regress_parts TO regress_parts_app;
SELECT * FROM pg_temp.state();
SELECT teamacl.protect('orders');
SELECT * FROM pg_temp.state();

SET ROLE regress_parts_app;
SELECT teamacl.set_user(:'alice', false);
SELECT * FROM pg_temp.seen(ARRAY['orders', 'orders_1', 'orders_2', 'orders_2a', 'orders_2b']);
-- writes straight into a partition obey the policies too
SELECT pg_temp.err(format('INSERT INTO orders_1 VALUES (3, %L)', '00000000-0000-4000-8000-0000000000ff'));
SELECT pg_temp.err(format('INSERT INTO orders_2a VALUES (12, %L)', :'acme'));
SELECT pg_temp.err('DELETE FROM orders_2b WHERE id = 17');
SELECT teamacl.set_user(NULL, false);
SELECT * FROM pg_temp.seen(ARRAY['orders', 'orders_1', 'orders_2a']);
RESET ROLE;

-- partitions that appear later are protected in the same statement:
-- CREATE TABLE ... PARTITION OF, ATTACH PARTITION (also of a partitioned
-- table with partitions of its own)
CREATE TABLE orders_3 PARTITION OF orders FOR VALUES FROM (21) TO (31);
CREATE TABLE orders_4 (id int NOT NULL, team_id uuid NOT NULL) PARTITION BY RANGE (id);
CREATE TABLE orders_4a PARTITION OF orders_4 FOR VALUES FROM (31) TO (41);
SELECT pg_temp.fill('orders_4', 31, 40, :'acme');
ALTER TABLE orders ATTACH PARTITION orders_4 FOR VALUES FROM (31) TO (41);
SELECT pg_temp.fill('orders', 21, 30, :'acme');
GRANT SELECT ON ALL TABLES IN SCHEMA regress_parts TO regress_parts_app;
SELECT * FROM pg_temp.state();
SET ROLE regress_parts_app;
SELECT teamacl.set_user(:'alice', false);
SELECT * FROM pg_temp.seen(ARRAY['orders', 'orders_3', 'orders_4', 'orders_4a']);
SELECT teamacl.set_user(NULL, false);
RESET ROLE;

-- a child is not protected or unprotected on its own
SELECT pg_temp.err($$SELECT teamacl.protect('orders_3')$$);
SELECT pg_temp.err($$SELECT teamacl.unprotect('orders_3')$$);
-- a detached partition stays protected, on its own
ALTER TABLE orders DETACH PARTITION orders_3;
SELECT tbl, parent, policies FROM pg_temp.state() WHERE tbl = 'orders_3';
SELECT teamacl.unprotect('orders_3');
SELECT tbl, parent, policies FROM pg_temp.state() WHERE tbl = 'orders_3';
DROP TABLE orders_3;

-- unprotect() undoes exactly what protect() did, also the RLS flags of
-- orders_1 that were set before
SELECT teamacl.unprotect('orders');
SELECT * FROM pg_temp.state();
SELECT count(*) AS protected_rows FROM teamacl.protected_tables;
-- protecting the parent of an already protected partition is refused
SELECT teamacl.protect('orders_1');
SELECT pg_temp.err($$SELECT teamacl.protect('orders')$$);
SELECT teamacl.unprotect('orders_1');

-- inheritance: children present at protect() and added with INHERIT
CREATE TABLE notes (id int NOT NULL, team_id uuid NOT NULL);
CREATE INDEX ON notes (team_id);
CREATE TABLE notes_old () INHERITS (notes);
CREATE INDEX ON notes_old (team_id);
SELECT pg_temp.fill('notes_old', 1, 10, :'acme');
SELECT teamacl.protect('notes');
CREATE TABLE notes_new (id int NOT NULL, team_id uuid NOT NULL);
CREATE INDEX ON notes_new (team_id);
SELECT pg_temp.fill('notes_new', 11, 20, :'acme');
ALTER TABLE notes_new INHERIT notes;
GRANT SELECT ON ALL TABLES IN SCHEMA regress_parts TO regress_parts_app;
SELECT tbl, parent, policies FROM pg_temp.state() WHERE tbl LIKE 'notes%';
SET ROLE regress_parts_app;
SELECT teamacl.set_user(:'alice', false);
SELECT * FROM pg_temp.seen(ARRAY['notes', 'notes_old', 'notes_new']);
SELECT teamacl.set_user(NULL, false);
RESET ROLE;
-- NO INHERIT: stands alone, still protected
ALTER TABLE notes_new NO INHERIT notes;
SELECT tbl, parent, policies FROM pg_temp.state() WHERE tbl LIKE 'notes%';

-- doctor() reports a child that escaped (here: created while teamacl's
-- event trigger was disabled), with the fix
ALTER EVENT TRIGGER teamacl_ddl_end DISABLE;
CREATE TABLE notes_escaped () INHERITS (notes);
CREATE INDEX ON notes_escaped (team_id);
ALTER EVENT TRIGGER teamacl_ddl_end ENABLE;
SELECT severity, object, problem, fix FROM teamacl.doctor() WHERE object LIKE 'regress_parts.%' ORDER BY object, problem;
SELECT teamacl.unprotect('notes');
SELECT teamacl.protect('notes');
SELECT count(*) AS findings FROM teamacl.doctor() WHERE object LIKE 'regress_parts.notes%' AND severity = 'error';
SELECT tbl, parent, policies FROM pg_temp.state() WHERE tbl LIKE 'notes%';

-- dropping a protected child forgets it
DROP TABLE notes_old;
SELECT count(*) AS notes_old_rows FROM teamacl.protected_tables WHERE tbl::text LIKE '%notes_old';

RESET search_path;
DROP SCHEMA regress_parts CASCADE;
DROP FUNCTION pg_temp.fill(regclass, int, int, uuid), pg_temp.seen(text[]), pg_temp.state();
DROP EXTENSION teamacl CASCADE;
DROP SCHEMA teamacl;
DROP EXTENSION pgcrypto;
DROP ROLE regress_parts_app;
