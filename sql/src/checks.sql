-- sql/src/checks.sql
--
-- The C entry points: identity (current_user_id, set_user), the
-- permission checks, the planner support function and the cache's
-- statistics and invalidation trigger (src/identity.c, src/check.c,
-- src/cache.c).

CREATE FUNCTION teamacl.current_user_id() RETURNS uuid
	AS 'MODULE_PATHNAME', 'teamacl_current_user_id'
	LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION teamacl.current_user_id() IS
	'The teamacl user this session acts for: set_user() identity, else the user mapped to the current login role; NULL when nobody is identified';

CREATE FUNCTION teamacl.set_user(user_id uuid, is_local boolean DEFAULT true) RETURNS void
	AS 'MODULE_PATHNAME', 'teamacl_set_user'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION teamacl.set_user(uuid, boolean) IS
	'Name the end user this session acts for (NULL clears); transaction-local unless is_local is false. Grant EXECUTE only to the application''s login role';
REVOKE ALL ON FUNCTION teamacl.set_user(uuid, boolean) FROM PUBLIC;

CREATE FUNCTION teamacl.set_api_key(key text, is_local boolean DEFAULT true) RETURNS void
	AS 'MODULE_PATHNAME', 'teamacl_set_api_key'
	LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION teamacl.set_api_key(text, boolean) IS
	'Act as an API key (NULL clears): its creator, only in the key''s team and only with what both the key''s role and the creator hold now; transaction-local unless is_local is false. Grant EXECUTE only to the application''s login role';
REVOKE ALL ON FUNCTION teamacl.set_api_key(text, boolean) FROM PUBLIC;

CREATE FUNCTION teamacl.current_api_key_id() RETURNS uuid
	AS 'MODULE_PATHNAME', 'teamacl_current_api_key_id'
	LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION teamacl.current_api_key_id() IS
	'The API key that is the identity (set_api_key() or the Authorization header), NULL otherwise or when it is no longer usable';

CREATE FUNCTION teamacl_internal._outer_role() RETURNS oid
	AS 'MODULE_PATHNAME', 'teamacl_outer_role'
	LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION teamacl_internal._outer_role() IS
	'Internal: the role in effect outside SECURITY DEFINER functions (follows SET ROLE)';

CREATE FUNCTION teamacl_internal._has_permission_support(internal) RETURNS internal
	AS 'MODULE_PATHNAME', 'teamacl_has_permission_support'
	LANGUAGE C STRICT;
COMMENT ON FUNCTION teamacl_internal._has_permission_support(internal) IS
	'Internal planner support: lets has_permission(team_column, ...) use an index on team_column, with real selectivity';

CREATE FUNCTION teamacl_internal._am_searches_arrays(am oid) RETURNS boolean
	AS 'MODULE_PATHNAME', 'teamacl_am_searches_arrays'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION teamacl_internal._am_searches_arrays(oid) IS
	'Internal: whether indexes of an access method take column = ANY (array) conditions, as has_permission()''s index condition needs';

CREATE FUNCTION teamacl.has_permission(team_id uuid, permission text) RETURNS boolean
	AS 'MODULE_PATHNAME', 'teamacl_has_permission'
	LANGUAGE C STABLE STRICT PARALLEL SAFE COST 1
	SUPPORT teamacl_internal._has_permission_support;
COMMENT ON FUNCTION teamacl.has_permission(uuid, text) IS
	'Whether the current user holds the permission in the team';

CREATE FUNCTION teamacl.teams_with(permission text) RETURNS uuid[]
	AS 'MODULE_PATHNAME', 'teamacl_teams_with'
	LANGUAGE C STABLE STRICT PARALLEL SAFE COST 1;
COMMENT ON FUNCTION teamacl.teams_with(text) IS
	'The teams in which the current user holds the permission';

CREATE FUNCTION teamacl.require(team_id uuid, permission text) RETURNS void
	AS 'MODULE_PATHNAME', 'teamacl_require'
	LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION teamacl.require(uuid, text) IS
	'Raise insufficient_privilege (42501) unless the current user holds the permission in the team';

CREATE FUNCTION teamacl.permissions(team_id uuid) RETURNS text[]
	AS 'MODULE_PATHNAME', 'teamacl_permissions'
	LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION teamacl.permissions(uuid) IS
	'The permissions the current user holds in the team, sorted';

CREATE FUNCTION teamacl.cache_stats(OUT users integer, OUT bytes bigint, OUT generation bigint)
	AS 'MODULE_PATHNAME', 'teamacl_cache_stats'
	LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION teamacl.cache_stats() IS
	'This backend''s permission cache: cached users, bytes allocated, invalidation generation';

CREATE FUNCTION teamacl.shared_cache_stats(OUT slots bigint, OUT used bigint, OUT bytes bigint,
	OUT hits bigint, OUT misses bigint, OUT publishes bigint, OUT evictions bigint)
	AS 'MODULE_PATHNAME', 'teamacl_shared_cache_stats'
	LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION teamacl.shared_cache_stats() IS
	'The cache all backends share (teamacl in shared_preload_libraries): slots in all and in use, bytes, users found, lookups that found nothing fresh, slots written, slots of other users replaced since the server started';

CREATE FUNCTION teamacl_internal._invalidate_cache() RETURNS trigger
	AS 'MODULE_PATHNAME', 'teamacl_invalidate_trigger'
	LANGUAGE C;
COMMENT ON FUNCTION teamacl_internal._invalidate_cache() IS
	'Internal trigger: tells every backend to drop its cached permissions at commit';
