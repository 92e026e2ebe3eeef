-- The cache's loader on the 0.4 schema: a user's memberships read with an
-- index-only scan of members_user_id_idx (the heap read only for pages the
-- visibility map does not show all-visible), the teams requiring secure
-- sign-in held as one set read from teams_secure_sign_in_idx, and the reads
-- of a 0.3 schema when those indexes are absent or not in the shape the
-- loader relies on; the answers are the same every way.
\set SHOW_CONTEXT never
-- commits flushed at once, so VACUUM can mark pages all-visible right away
SET synchronous_commit = on;
CREATE EXTENSION teamacl CASCADE;
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/err.sql
-- what this backend's cache did (the library's diagnostic entry point)
CREATE FUNCTION regress_cache_counters() RETURNS text
	AS '$libdir/teamacl', 'teamacl_cache_counters' LANGUAGE C VOLATILE;
CREATE FUNCTION regress_counter(name text) RETURNS bigint LANGUAGE sql VOLATILE
	RETURN substring(regress_cache_counters() FROM name || '=([0-9]+)')::bigint;
-- one user's answers in one team, as a string
CREATE FUNCTION regress_answers(u uuid, t uuid) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	PERFORM teamacl.set_user(u, false);
	RETURN concat_ws(',',
		CASE WHEN teamacl.has_permission(t, 'resources.read') THEN 'read' END,
		CASE WHEN teamacl.has_permission(t, 'resources.create') THEN 'create' END,
		CASE WHEN teamacl.has_permission(t, 'team.delete') THEN 'delete' END,
		CASE WHEN t = ANY (teamacl.teams_with('resources.read')) THEN 'listed' END);
END $$;

SELECT teamacl.register_user('alice@example.com', 'Alice') AS alice \gset
SELECT teamacl.register_user('bob@example.com', 'Bob') AS bob \gset
SELECT teamacl.register_user('carol@example.com', 'Carol') AS carol \gset
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_team('Acme') AS acme \gset
SELECT teamacl.create_team('Beta') AS beta \gset
SELECT teamacl.add_member(:'acme', 'bob@example.com', 'member') IS NOT NULL AS bob_added;
SELECT teamacl.add_member(:'acme', 'carol@example.com', 'viewer') IS NOT NULL AS carol_added;
SELECT teamacl.add_member(:'beta', 'carol@example.com', 'member') IS NOT NULL AS carol_added_beta;

-- the 0.4 indexes are there and in the loader's shape
SELECT indexrelid::regclass, pg_get_indexdef(indexrelid) FROM pg_index
 WHERE indexrelid IN ('teamacl.members_user_id_idx'::regclass, 'teamacl.teams_secure_sign_in_idx'::regclass)
 ORDER BY 1;

-- all-visible pages: memberships come from the index alone
VACUUM teamacl.members;
SELECT regress_counter('member_heap_reads') AS heap0 \gset
SELECT regress_answers(:'bob', :'acme') AS bob_acme, regress_answers(:'carol', :'acme') AS carol_acme,
	   regress_answers(:'carol', :'beta') AS carol_beta, regress_answers(:'alice', :'acme') AS alice_acme;
SELECT regress_counter('member_heap_reads') - :heap0 AS heap_reads_all_visible;

-- changed pages are not all-visible: the heap decides which index entries
-- are live (a removed membership's entry is still in the index, a changed
-- role has two entries until VACUUM)
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.remove_member(:'beta', :'carol');
SELECT teamacl.change_role(:'acme', :'bob', 'viewer');
SELECT regress_answers(:'bob', :'acme') AS bob_viewer, regress_answers(:'carol', :'beta') AS carol_removed,
	   regress_answers(:'carol', :'acme') AS carol_acme;
SELECT regress_counter('member_heap_reads') > :heap0 AS heap_read_when_not_all_visible;
-- and a membership removed in this transaction is gone for its next statement
BEGIN;
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.remove_member(:'acme', :'carol');
SELECT regress_answers(:'carol', :'acme') AS carol_removed_in_xact;
ROLLBACK;
SELECT regress_answers(:'carol', :'acme') AS carol_back;

-- an index the loader scans rebuilt under a new OID (REINDEX CONCURRENTLY
-- swaps in a new index): the next load finds it by name
SELECT regress_answers(:'bob', :'acme') AS before_reindex;
REINDEX INDEX CONCURRENTLY teamacl.members_user_id_idx;
REINDEX INDEX CONCURRENTLY teamacl.teams_secure_sign_in_idx;
REINDEX INDEX CONCURRENTLY teamacl.users_pkey;
UPDATE teamacl.members SET added_at = added_at WHERE false;
SELECT regress_answers(:'bob', :'acme') AS after_reindex;

-- secure sign-in: nobody here signed in securely but alice
SELECT teamacl.set_sign_in_method(:'alice', 'password_2fa');
SELECT regress_counter('secure_loads') AS loads0 \gset
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.update_team(:'acme', require_secure_sign_in => true);
SELECT regress_answers(:'bob', :'acme') AS bob_insecure, regress_answers(:'carol', :'acme') AS carol_insecure,
	   regress_answers(:'alice', :'acme') AS alice_secure, regress_answers(:'carol', :'beta') AS carol_beta;
SELECT regress_counter('secure_loads') > :loads0 AS set_read_again;
SELECT regress_counter('team_reads') AS team_rows_read;
-- signing in securely is seen by the next statement; nothing was deleted
SELECT teamacl.set_sign_in_method(:'bob', 'google');
SELECT regress_answers(:'bob', :'acme') AS bob_secure;
SELECT teamacl.set_sign_in_method(:'bob', 'password');
SELECT regress_answers(:'bob', :'acme') AS bob_insecure_again;
-- the team stops requiring it: the next statement sees that too
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.update_team(:'acme', require_secure_sign_in => false);
SELECT regress_answers(:'bob', :'acme') AS bob_not_required;

-- a team requiring secure sign-in from its first row, with a member added
-- in the same transaction (no UPDATE of teams ever fires)
SELECT regress_answers(:'carol', :'acme') AS set_loaded;
BEGIN;
INSERT INTO teamacl.teams (id, name, require_secure_sign_in)
	VALUES ('00000000-0000-4000-b000-000000000001', 'Vault', true);
INSERT INTO teamacl.members (team_id, user_id, role_id)
	VALUES ('00000000-0000-4000-b000-000000000001', :'carol', '00000000-0000-4000-a000-000000000003');
SELECT regress_answers(:'carol', '00000000-0000-4000-b000-000000000001') AS carol_vault_in_xact;
COMMIT;
SELECT regress_answers(:'carol', '00000000-0000-4000-b000-000000000001') AS carol_vault;
SELECT teamacl.set_sign_in_method(:'carol', 'sso');
SELECT regress_answers(:'carol', '00000000-0000-4000-b000-000000000001') AS carol_vault_secure;
SELECT teamacl.set_sign_in_method(:'carol', 'password');
-- an INSERT of an ordinary team invalidates nothing
SELECT regress_answers(:'carol', :'acme') AS warm;
SELECT regress_counter('misses') AS misses0 \gset
INSERT INTO teamacl.teams (name) VALUES ('Ordinary');
SELECT regress_answers(:'carol', :'acme') AS still_cached;
SELECT regress_counter('misses') - :misses0 AS misses_after_ordinary_insert;
-- a deleted team requiring it leaves the set
DELETE FROM teamacl.teams WHERE id = '00000000-0000-4000-b000-000000000001';
SELECT regress_answers(:'carol', '00000000-0000-4000-b000-000000000001') AS vault_gone;

-- the reads of a 0.3 schema (before ALTER EXTENSION UPDATE), also when an
-- index has the name but not the shape: the same answers
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.update_team(:'acme', require_secure_sign_in => true);
SELECT regress_answers(:'bob', :'acme') AS bob_04, regress_answers(:'alice', :'acme') AS alice_04;
DROP INDEX teamacl.teams_secure_sign_in_idx;
CREATE INDEX teams_secure_sign_in_idx ON teamacl.teams (id) WHERE NOT require_secure_sign_in;
DROP INDEX teamacl.members_user_id_idx;
CREATE INDEX members_user_id_idx ON teamacl.members (user_id) INCLUDE (team_id);
SELECT regress_counter('team_reads') AS reads0 \gset
SELECT regress_counter('member_heap_reads') AS heap1 \gset
SELECT regress_answers(:'bob', :'acme') AS bob_shape, regress_answers(:'alice', :'acme') AS alice_shape,
	   regress_answers(:'carol', :'acme') AS carol_shape;
SELECT regress_counter('team_reads') > :reads0 AS teams_read, regress_counter('member_heap_reads') > :heap1 AS heap_read;
DROP INDEX teamacl.teams_secure_sign_in_idx;
DROP INDEX teamacl.members_user_id_idx;
CREATE INDEX members_user_id_idx ON teamacl.members (user_id);
VACUUM teamacl.members;
SELECT regress_answers(:'bob', :'acme') AS bob_03, regress_answers(:'alice', :'acme') AS alice_03,
	   regress_answers(:'carol', :'acme') AS carol_03;
SELECT teamacl.set_sign_in_method(:'bob', 'github');
SELECT regress_answers(:'bob', :'acme') AS bob_03_secure;

DROP FUNCTION regress_answers(uuid, uuid);
DROP FUNCTION regress_counter(text);
DROP FUNCTION regress_cache_counters();
DROP EXTENSION teamacl CASCADE;
DROP SCHEMA teamacl;
DROP EXTENSION pgcrypto;
