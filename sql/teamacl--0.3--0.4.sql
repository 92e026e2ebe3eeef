/* sql/teamacl--0.3--0.4.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION teamacl UPDATE TO '0.4'" to load this file. \quit

------------------------------------------------------------------------
-- 0.4: many users behind a pooler, and Citus.
--
-- Functions whose body changes are renamed, created anew and dropped, and
-- the privileges a DBA gave the old one are carried over to the new one
-- (as in the 0.2--0.3 script).
------------------------------------------------------------------------

------------------------------------------------------------------------
-- #12: a cache miss reads fewer index pages.
--
-- members_user_id_idx gains team_id and role_id (INCLUDE), so the C cache
-- reads a user's memberships with an index-only scan; it keeps its name,
-- which the 0.3 library of a session started before the update resolves.
-- The teams requiring secure sign-in get a partial index the cache reads
-- as one set, and inserting such a team invalidates the cache (other new
-- teams need not).  The update builds the index on members (writes to
-- members wait for it; reads do not) and swaps it in under a short
-- ACCESS EXCLUSIVE lock.
------------------------------------------------------------------------

CREATE INDEX members_user_id_covering_idx ON teamacl.members (user_id) INCLUDE (team_id, role_id);
DROP INDEX teamacl.members_user_id_idx;
ALTER INDEX teamacl.members_user_id_covering_idx RENAME TO members_user_id_idx;

CREATE INDEX teams_secure_sign_in_idx ON teamacl.teams (id) WHERE require_secure_sign_in;

CREATE TRIGGER invalidate_cache_insert AFTER INSERT ON teamacl.teams
	FOR EACH ROW WHEN (NEW.require_secure_sign_in)
	EXECUTE FUNCTION teamacl_internal._invalidate_cache();
ALTER TABLE teamacl.teams ENABLE ALWAYS TRIGGER invalidate_cache_insert;

-- Sessions that loaded the 0.3 library resolve members_user_id_idx once
-- per catalogue load and do not watch indexes: a statement on roles (it
-- changes no row; the trigger is per statement) makes every backend
-- reload its catalogue at its next statement, finding the new index.
UPDATE teamacl.roles SET name = name WHERE false;
