-- teamacl's Citus settings on a node without Citus: teamacl.context is
-- refused unless it is signed with the cluster key, the key is a
-- superuser's secret, and a single node believes no context at all.
\set SHOW_CONTEXT never
CREATE EXTENSION teamacl CASCADE;
SELECT current_user AS superuser \gset
\getenv abs_srcdir PG_ABS_SRCDIR
\i :abs_srcdir/sql/include/err.sql
CREATE ROLE regress_citus_app;
GRANT EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) TO regress_citus_app;
SELECT teamacl.register_user('alice@example.com', 'Alice') AS alice \gset
SELECT teamacl.set_user(:'alice', false);
SELECT teamacl.create_team('Acme') AS acme \gset
SELECT teamacl.set_user(NULL, false);

------------------------------------------------------------------------
-- without a cluster key nothing can be verified, so nothing is accepted
------------------------------------------------------------------------
SET ROLE regress_citus_app;
SELECT pg_temp.err($$SET teamacl.context = 'v1.abc.def'$$) AS no_key;
SELECT pg_temp.err($$SET teamacl.context = ''$$) AS empty_is_fine;
-- the key is hidden from other roles; the lifetime is a superuser's
-- (only the SQLSTATE: the message's wording differs between majors)
SELECT split_part(pg_temp.err($$SHOW teamacl.cluster_key$$), ':', 1) AS show_key;
SELECT count(*) AS key_in_pg_settings FROM pg_settings WHERE name = 'teamacl.cluster_key';
SELECT pg_temp.err($$SET teamacl.context_lifetime = 5$$) AS set_lifetime;
SHOW teamacl.context_lifetime;
RESET ROLE;
SELECT split_part(pg_temp.err($$SET teamacl.context_lifetime = 1$$), ':', 1) AS lifetime_too_short;

------------------------------------------------------------------------
-- the cluster key: 32 bytes at least
------------------------------------------------------------------------
ALTER SYSTEM SET teamacl.cluster_key = 'too short';
ALTER SYSTEM SET teamacl.cluster_key = 'regress-cluster-key-0123456789-abcdefghij';
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
\c - :superuser
\i :abs_srcdir/sql/include/err.sql
SHOW teamacl.cluster_key;
SELECT teamacl_internal._cluster_key_fingerprint() = left(encode(sha256('regress-cluster-key-0123456789-abcdefghij'), 'hex'), 16)
	AS fingerprint;
-- the fingerprint is for doctor(), not for other roles
SET ROLE regress_citus_app;
SELECT pg_temp.err($$SELECT teamacl_internal._cluster_key_fingerprint()$$) AS fingerprint_as_app;

------------------------------------------------------------------------
-- with a key: only values signed with it are accepted
------------------------------------------------------------------------
SELECT pg_temp.err($$SET teamacl.context = 'garbage'$$) AS garbage;
SELECT pg_temp.err($$SET teamacl.context = 'v1.YWJj.AAAA'$$) AS bad_mac;
SELECT pg_temp.err($$SET teamacl.context = 'v1..'$$) AS empty_parts;
RESET ROLE;
-- a value signed with the key, made here with pgcrypto the way the
-- coordinator makes it: accepted, but a node that is not a Citus worker
-- believes none, so it identifies nobody
CREATE FUNCTION pg_temp.signed(payload text, key text) RETURNS text LANGUAGE sql AS $$
	SELECT b || '.' || translate(encode(hmac(b, key, 'sha256'), 'base64'), E'\n', '')
	  FROM (SELECT 'v1.' || payload AS b) s
$$;
SELECT format('%s %s %s - 1 1;%s;resources.read;%s 1;',
			  (extract(epoch FROM now() - '2000-01-01'::timestamptz) * 1e6)::bigint,
			  (extract(epoch FROM now() + '1 hour' - '2000-01-01'::timestamptz) * 1e6)::bigint,
			  replace(:'alice', '-', ''), encode('regress_citus_app', 'hex'), replace(:'acme', '-', '')) AS payload \gset
SELECT pg_temp.signed(:'payload', 'regress-cluster-key-0123456789-abcdefghij') AS good \gset
SELECT pg_temp.signed(:'payload', 'another-cluster-key-0123456789-abcdefghij') AS other_key \gset
SET ROLE regress_citus_app;
SELECT pg_temp.err(format('SET teamacl.context = %L', :'other_key')) AS signed_with_another_key;
SELECT pg_temp.err(format('SET teamacl.context = %L', :'good')) AS signed_with_the_key;
BEGIN;
SET LOCAL teamacl.context = :'good';
SELECT teamacl.current_user_id() IS NULL AS nobody_on_a_single_node,
	   teamacl.has_permission(:'acme', 'resources.read') AS no_permission,
	   teamacl.teams_with('resources.read') AS no_teams;
COMMIT;
RESET ROLE;

ALTER SYSTEM RESET teamacl.cluster_key;
SELECT pg_reload_conf();
SELECT pg_sleep(0.5);
\c - :superuser
SHOW teamacl.cluster_key;

DROP EXTENSION teamacl CASCADE;
DROP SCHEMA teamacl;
DROP EXTENSION pgcrypto;
DROP ROLE regress_citus_app;
