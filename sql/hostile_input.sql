-- Every public teamacl function called with hostile arguments: NULLs, empty
-- strings, 1 MB strings, unknown names, random ids, negative and huge
-- intervals, malformed tokens.  Each call gets a clean error with a
-- SQLSTATE (or succeeds), the server never crashes, and nothing changes.
\set SHOW_CONTEXT never
CREATE EXTENSION teamacl CASCADE;
SET teamacl.password_bcrypt_cost = 4;

SELECT teamacl.register_user('owner@example.com', 'Owner') AS owner \gset
SELECT teamacl.register_user('member@example.com', 'Member') AS member \gset
SELECT teamacl.set_user(:'owner', false);
SELECT teamacl.create_team('Hostile') AS team \gset
SELECT teamacl.add_member(:'team', 'member@example.com', 'member') IS NOT NULL AS added;
SELECT teamacl.invite(:'team', 'invitee@example.com', 'viewer') AS token \gset
SELECT id AS invitation FROM teamacl.invitations \gset
CREATE TABLE hostile_docs (id int, team_id uuid);

-- a fingerprint of every teamacl table
CREATE FUNCTION pg_temp.fingerprint() RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
	v_rel regclass;
	v_acc text := '';
	v_part text;
BEGIN
	FOR v_rel IN SELECT c.oid FROM pg_class c WHERE c.relnamespace = 'teamacl'::regnamespace
				  AND c.relkind = 'r' ORDER BY c.relname LOOP
		EXECUTE format('SELECT md5(coalesce(string_agg(t::text, '','' ORDER BY t::text), '''')) FROM %s t', v_rel)
			INTO v_part;
		v_acc := v_acc || v_rel::text || ':' || v_part || ';';
	END LOOP;
	RETURN md5(v_acc);
END $f$;

-- run one call, always roll it back, report ok or the SQLSTATE
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
	v_state text;
BEGIN
	BEGIN
		EXECUTE sql;
		v_state := 'ok';
		RAISE EXCEPTION USING ERRCODE = 'ZZ999';
	EXCEPTION WHEN SQLSTATE 'ZZ999' THEN
		NULL;
	WHEN OTHERS THEN
		v_state := SQLSTATE;
	END;
	RETURN v_state;
END $f$;

-- a valid value for each argument, by name
CREATE FUNCTION pg_temp.baseline(arg text, typ regtype) RETURNS text LANGUAGE sql AS $f$
	SELECT CASE
		WHEN arg IN ('team_id') THEN quote_literal(current_setting('hostile.team'))
		WHEN arg IN ('user_id', 'new_owner') THEN quote_literal(current_setting('hostile.member'))
		WHEN arg = 'invitation_id' THEN quote_literal(current_setting('hostile.invitation'))
		WHEN arg = 'token' THEN quote_literal(current_setting('hostile.token'))
		WHEN arg = 'email' THEN quote_literal('someone.new@example.com')
		WHEN arg IN ('role', 'role_name') THEN quote_literal('viewer')
		WHEN arg IN ('permission', 'select_permission', 'insert_permission', 'update_permission', 'delete_permission')
			THEN quote_literal('resources.read')
		WHEN arg = 'permissions' THEN quote_literal('{resources.read}')
		WHEN arg = 'name' AND typ = 'text'::regtype THEN quote_literal('newname')
		WHEN arg = 'plan' THEN quote_literal('pro')
		WHEN arg = 'method' THEN quote_literal('password_2fa')
		WHEN arg = 'password' THEN quote_literal('S3cure!pass')
		WHEN arg = 'tbl' THEN quote_literal('hostile_docs')
		WHEN arg = 'team_column' THEN quote_literal('team_id')
		WHEN typ = 'boolean'::regtype THEN 'true'
		WHEN typ = 'interval'::regtype THEN quote_literal('1 day')
		WHEN typ = 'jsonb'::regtype THEN quote_literal('{}')
		ELSE 'NULL' END || '::' || typ::text
$f$;

-- hostile values for a type
CREATE FUNCTION pg_temp.hostile(typ regtype) RETURNS TABLE (kind text, val text) LANGUAGE sql AS $f$
	SELECT * FROM (VALUES ('null', 'NULL')) v
	UNION ALL
	SELECT * FROM (VALUES ('empty', quote_literal('')), ('1MB', 'repeat(''x'', 1000000)'),
						  ('unknown', quote_literal('no.such.thing')), ('quote', quote_literal('a''b"c;--')),
						  ('token-like', quote_literal('tacl_inv_' || repeat('A', 43)))) v
	 WHERE typ IN ('text'::regtype, 'name'::regtype)
	UNION ALL
	SELECT * FROM (VALUES ('random', quote_literal('5d2f2b1e-3c39-4f4e-9b7a-2d8c0a6f1e11'))) v WHERE typ = 'uuid'::regtype
	UNION ALL
	SELECT * FROM (VALUES ('negative', quote_literal('-1 day')), ('zero', quote_literal('0')),
						  ('huge', quote_literal('1000 years'))) v WHERE typ = 'interval'::regtype
	UNION ALL
	SELECT * FROM (VALUES ('empty', quote_literal('{}')), ('null-elem', quote_literal('{NULL}')),
						  ('unknown', quote_literal('{no.such}'))) v WHERE typ = 'text[]'::regtype
	UNION ALL
	SELECT * FROM (VALUES ('array', quote_literal('[]')), ('scalar', quote_literal('1'))) v WHERE typ = 'jsonb'::regtype
	UNION ALL
	SELECT * FROM (VALUES ('missing', quote_literal('no_such_table'))) v WHERE typ = 'regclass'::regtype
$f$;

SELECT set_config('hostile.team', :'team', false), set_config('hostile.member', :'member', false),
	   set_config('hostile.invitation', :'invitation', false), set_config('hostile.token', :'token', false) \gset
SELECT pg_temp.fingerprint() AS before \gset

-- one row per (function, argument, hostile value): the outcome
CREATE TEMP TABLE outcomes AS
WITH fns AS (
	SELECT p.oid, p.proname, p.proargnames, p.proargtypes::oid[] AS types, p.pronargs
	  FROM pg_proc p
	 WHERE p.pronamespace = 'teamacl'::regnamespace AND p.proname NOT LIKE '\_%'
	   AND p.prorettype <> 'trigger'::regtype AND p.pronargs > 0
), args AS (
	SELECT f.*, i, f.proargnames[i] AS arg, f.types[i - 1]::regtype AS typ
	  FROM fns f, generate_series(1, f.pronargs) i
), calls AS (
	SELECT a.proname, a.arg, h.kind,
		   format('SELECT teamacl.%I(%s)', a.proname,
				  (SELECT string_agg(CASE WHEN j = a.i THEN h.val || '::' || a.typ::text
										  ELSE pg_temp.baseline(a.proargnames[j], a.types[j - 1]::regtype) END, ', ' ORDER BY j)
					 FROM generate_series(1, a.pronargs) j)) AS sql
	  FROM args a, pg_temp.hostile(a.typ) h
)
SELECT proname, arg, kind, pg_temp.try(sql) AS outcome FROM calls;

-- nothing crashed, every failure has a SQLSTATE of a known class
SELECT count(*) > 100 AS many_calls, count(*) FILTER (WHERE outcome !~ '^(ok|[0-9A-Z]{5})$') AS malformed,
	   count(*) FILTER (WHERE outcome LIKE 'XX%') AS internal_errors
  FROM outcomes;
SELECT proname, arg, kind, outcome FROM outcomes ORDER BY proname, arg, kind;

-- and nothing changed
SELECT pg_temp.fingerprint() = :'before' AS unchanged;

-- embedded NULs and invalid UTF-8 never reach teamacl: the server refuses them
SELECT pg_temp.try($$SELECT teamacl.has_permission(gen_random_uuid(), 'team.read' || chr(0))$$) AS nul;
SELECT pg_temp.try($$SELECT teamacl.invite(gen_random_uuid(), convert_from('\xc328'::bytea, 'UTF8'))$$) AS bad_utf8;

SELECT teamacl.set_user(NULL, false);
DROP TABLE hostile_docs;
DROP EXTENSION teamacl CASCADE;
DROP SCHEMA teamacl;
DROP EXTENSION pgcrypto;
