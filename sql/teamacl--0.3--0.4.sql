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

-- The cache all backends share (teamacl in shared_preload_libraries).
CREATE FUNCTION teamacl.shared_cache_stats(OUT slots bigint, OUT used bigint, OUT bytes bigint,
	OUT hits bigint, OUT misses bigint, OUT publishes bigint, OUT evictions bigint)
	AS 'MODULE_PATHNAME', 'teamacl_shared_cache_stats'
	LANGUAGE C VOLATILE PARALLEL SAFE;
COMMENT ON FUNCTION teamacl.shared_cache_stats() IS
	'The cache all backends share (teamacl in shared_preload_libraries): slots in all and in use, bytes, users found, lookups that found nothing fresh, slots written, slots of other users replaced since the server started';

------------------------------------------------------------------------
-- #13: Citus (sql/src/citus.sql, sql/src/rls.sql, sql/src/doctor.sql)
--
-- teamacl's own tables check per row, as protect() does, instead of
-- InitPlan subqueries (Citus 13 crashes planning some joins with them);
-- doctor() gains the findings of a Citus coordinator.
------------------------------------------------------------------------

ALTER POLICY users_visible ON teamacl.users
	USING (id OPERATOR(pg_catalog.=) teamacl.current_user_id()
		   OR EXISTS (SELECT 1 FROM teamacl.members m
					   WHERE m.user_id OPERATOR(pg_catalog.=) users.id
						 AND teamacl.has_permission(m.team_id, 'team.read')));
ALTER POLICY teams_visible ON teamacl.teams
	USING (teamacl.has_permission(id, 'team.read'));
ALTER POLICY members_visible ON teamacl.members
	USING (teamacl.has_permission(team_id, 'team.read')
		   OR user_id OPERATOR(pg_catalog.=) teamacl.current_user_id());
ALTER POLICY roles_visible ON teamacl.roles
	USING (team_id IS NULL
		   OR teamacl.has_permission(team_id, 'team.read'));
ALTER POLICY invitations_visible ON teamacl.invitations
	USING (teamacl.has_permission(team_id, 'team.read'));
ALTER POLICY ownership_transfers_visible ON teamacl.ownership_transfers
	USING (teamacl.has_permission(team_id, 'team.read'));
ALTER POLICY audit_log_visible ON teamacl.audit_log
	USING (teamacl.has_permission(team_id, 'audit.read'));

CREATE FUNCTION teamacl_internal._cluster_key_fingerprint() RETURNS text
	LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'teamacl_cluster_key_fingerprint';
COMMENT ON FUNCTION teamacl_internal._cluster_key_fingerprint() IS
	'Internal: the first 8 bytes of SHA-256 of teamacl.cluster_key, in hex, so doctor() can compare nodes';

CREATE FUNCTION teamacl_internal._citus_findings(OUT severity text, OUT object text, OUT problem text, OUT fix text)
	RETURNS SETOF record
	LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_key text := teamacl_internal._cluster_key_fingerprint();
	v_version text := (SELECT e.extversion FROM pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'teamacl');
	v_tbl regclass;
	v_policies text;
	v_node text;
	v_ok boolean;
	v_result text;
BEGIN
	IF to_regclass('pg_catalog.pg_dist_local_group') IS NULL
	   OR NOT EXISTS (SELECT 1 FROM pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'citus') THEN
		RETURN;
	END IF;
	EXECUTE 'SELECT groupid OPERATOR(pg_catalog.<>) 0 FROM pg_catalog.pg_dist_local_group' INTO v_ok;
	IF v_ok THEN
		severity := 'info'; object := 'citus';
		problem := 'this node is a Citus worker: run doctor() on the coordinator';
		fix := 'Connect to the coordinator.';
		RETURN NEXT;
		RETURN;
	END IF;

	-- the coordinator's settings
	IF v_key IS NULL THEN
		severity := 'error'; object := 'teamacl.cluster_key';
		problem := 'not set: protected distributed tables show no rows and take no writes';
		fix := 'ALTER SYSTEM SET teamacl.cluster_key = ''<the same secret of 32 bytes or more on every node>''; SELECT pg_reload_conf();';
		RETURN NEXT;
	END IF;
	IF current_setting('citus.propagate_set_commands', true) IS DISTINCT FROM 'local' THEN
		severity := 'error'; object := 'citus.propagate_set_commands';
		problem := format('is %L: the identity cannot reach the workers, protected distributed tables refuse identified statements',
						  current_setting('citus.propagate_set_commands', true));
		fix := 'ALTER SYSTEM SET citus.propagate_set_commands = ''local''; SELECT pg_reload_conf();';
		RETURN NEXT;
	END IF;
	IF current_setting('citus.local_table_join_policy', true) IS DISTINCT FROM 'prefer-distributed' THEN
		severity := 'warning'; object := 'citus.local_table_join_policy';
		problem := format('is %L: Citus 13 can crash planning a join of a distributed table with a table under row-level security, such as teamacl.my_teams',
						  current_setting('citus.local_table_join_policy', true));
		fix := 'ALTER SYSTEM SET citus.local_table_join_policy = ''prefer-distributed''; SELECT pg_reload_conf();';
		RETURN NEXT;
	END IF;

	-- every worker: teamacl at the same version, the same cluster key
	FOR v_node, v_ok, v_result IN EXECUTE
		$q$SELECT nodename OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) nodeport, success, result
			 FROM pg_catalog.run_command_on_workers($c$SELECT (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'teamacl') || ' ' || coalesce(teamacl_internal._cluster_key_fingerprint(), '-')$c$)
			ORDER BY 1$q$
	LOOP
		object := 'worker ' || v_node;
		IF NOT v_ok OR v_result IS NULL OR v_result NOT LIKE '% %' THEN
			severity := 'error';
			problem := format('teamacl is missing or cannot be checked there (%s)', coalesce(v_result, 'no answer'));
			fix := 'CREATE EXTENSION teamacl CASCADE on the coordinator propagates it; on a worker added later run it there.';
			RETURN NEXT;
		ELSIF split_part(v_result, ' ', 1) OPERATOR(pg_catalog.<>) v_version THEN
			severity := 'error';
			problem := format('teamacl %s there, %s on the coordinator', split_part(v_result, ' ', 1), v_version);
			fix := 'ALTER EXTENSION teamacl UPDATE on every node.';
			RETURN NEXT;
		ELSIF split_part(v_result, ' ', 2) IS DISTINCT FROM coalesce(v_key, '-') THEN
			severity := 'error';
			problem := CASE WHEN split_part(v_result, ' ', 2) OPERATOR(pg_catalog.=) '-'
							THEN 'teamacl.cluster_key is not set there: it refuses every identified statement'
							ELSE 'teamacl.cluster_key differs from the coordinator''s: it refuses every identified statement' END;
			fix := 'Set the coordinator''s teamacl.cluster_key in its postgresql.conf and reload.';
			RETURN NEXT;
		END IF;
	END LOOP;

	-- protected distributed and reference tables: every placement carries
	-- the coordinator's teamacl policies, with row-level security forced
	FOR v_tbl IN EXECUTE
		$q$SELECT p.tbl FROM teamacl.protected_tables p
			 JOIN pg_catalog.pg_dist_partition d ON d.logicalrelid OPERATOR(pg_catalog.=) p.tbl::pg_catalog.regclass
			ORDER BY p.tbl::text$q$
	LOOP
		SELECT coalesce(string_agg(format('%s %s %s', pl.polname, pg_get_expr(pl.polqual, pl.polrelid),
										  coalesce(pg_get_expr(pl.polwithcheck, pl.polrelid), '-')), '; ' ORDER BY pl.polname), '')
		  INTO v_policies
		  FROM pg_policy pl WHERE pl.polrelid OPERATOR(pg_catalog.=) v_tbl AND pl.polname LIKE 'teamacl\_%';
		FOR v_node, v_ok, v_result IN EXECUTE
			$q$SELECT nodename OPERATOR(pg_catalog.||) ':' OPERATOR(pg_catalog.||) nodeport OPERATOR(pg_catalog.||) ' shard ' OPERATOR(pg_catalog.||) shardid,
					  success, result
				 FROM pg_catalog.run_command_on_placements($1,
					$c$SELECT (SELECT c.relrowsecurity AND c.relforcerowsecurity FROM pg_catalog.pg_class c WHERE c.oid = s.r)::text || '|' ||
							  coalesce((SELECT string_agg(format('%%s %%s %%s', polname, pg_get_expr(polqual, polrelid), coalesce(pg_get_expr(polwithcheck, polrelid), '-')), '; ' ORDER BY polname)
										  FROM pg_catalog.pg_policy WHERE polrelid = s.r AND polname LIKE 'teamacl\_%%'), '')
						 FROM (SELECT '%s'::regclass AS r) s$c$)
				ORDER BY 1$q$ USING v_tbl
		LOOP
			IF NOT v_ok OR v_result IS DISTINCT FROM ('true|' OPERATOR(pg_catalog.||) v_policies) THEN
				severity := 'error'; object := format('%s on %s', v_tbl, v_node);
				problem := CASE WHEN NOT v_ok THEN format('cannot be checked (%s)', v_result)
								WHEN v_result NOT LIKE 'true|%' THEN 'row-level security is not enabled and forced on this placement'
								ELSE 'this placement''s teamacl policies differ from the coordinator''s table' END;
				fix := format('SELECT teamacl.unprotect(%L); SELECT teamacl.protect(%L, ...); -- as it was protected', v_tbl, v_tbl);
				RETURN NEXT;
			END IF;
		END LOOP;
	END LOOP;
END
$$;
COMMENT ON FUNCTION teamacl_internal._citus_findings() IS
	'Internal: doctor()''s findings on a Citus coordinator: settings, workers'' teamacl version and cluster key, shard policies';

REVOKE ALL ON FUNCTION teamacl_internal._cluster_key_fingerprint() FROM PUBLIC;
REVOKE ALL ON FUNCTION teamacl_internal._citus_findings() FROM PUBLIC;

-- Carries the privileges of a replaced function over to its successor;
-- used by this script only (dropped at its end).  The successor's initial
-- privileges (pg_init_privs, what pg_dump compares against) stay those of
-- a fresh install, so pg_dump still dumps the DBA's changes.
CREATE FUNCTION teamacl_internal._carry_privileges(old regprocedure, new regprocedure) RETURNS void
	LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_fresh aclitem[] := (SELECT p.proacl FROM pg_proc p WHERE p.oid OPERATOR(pg_catalog.=) new);
	v_old aclitem[] := (SELECT p.proacl FROM pg_proc p WHERE p.oid OPERATOR(pg_catalog.=) old);
	v_a record;
BEGIN
	IF v_old IS NOT DISTINCT FROM v_fresh THEN
		EXECUTE format('DROP FUNCTION %s', old);
		RETURN;
	END IF;
	EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', new);
	FOR v_a IN SELECT a.grantee, a.is_grantable
				 FROM pg_proc p, aclexplode(COALESCE(p.proacl, acldefault('f', p.proowner))) a
				WHERE p.oid OPERATOR(pg_catalog.=) old AND a.grantee OPERATOR(pg_catalog.<>) p.proowner LOOP
		EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %s%s', new,
					   CASE WHEN v_a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC' ELSE quote_ident(v_a.grantee::regrole::text) END,
					   CASE WHEN v_a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END);
	END LOOP;
	IF v_fresh IS NULL THEN
		DELETE FROM pg_init_privs i WHERE i.objoid OPERATOR(pg_catalog.=) new
		   AND i.classoid OPERATOR(pg_catalog.=) 'pg_proc'::regclass AND i.objsubid OPERATOR(pg_catalog.=) 0;
	ELSE
		UPDATE pg_init_privs i SET initprivs = v_fresh WHERE i.objoid OPERATOR(pg_catalog.=) new
		   AND i.classoid OPERATOR(pg_catalog.=) 'pg_proc'::regclass AND i.objsubid OPERATOR(pg_catalog.=) 0;
	END IF;
	EXECUTE format('DROP FUNCTION %s', old);
END
$$;

ALTER FUNCTION teamacl.doctor() RENAME TO doctor_0_3;
CREATE FUNCTION teamacl.doctor(OUT severity text, OUT object text, OUT problem text, OUT fix text)
	RETURNS SETOF record
	LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
	v_p teamacl.protected_tables;
	v_now jsonb;
BEGIN
	-- protected tables: index on the team column, RLS flags, policy drift
	FOR v_p IN SELECT * FROM teamacl.protected_tables ORDER BY tbl::text LOOP
		-- only an index whose access method takes array conditions (btree)
		-- can serve team_column = ANY (...); hash, GiST and BRIN cannot
		IF NOT EXISTS (SELECT 1 FROM pg_index i
						 JOIN pg_class ic ON ic.oid OPERATOR(pg_catalog.=) i.indexrelid
						 JOIN pg_attribute a
						   ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid AND a.attnum OPERATOR(pg_catalog.=) i.indkey[0]
					   WHERE i.indrelid OPERATOR(pg_catalog.=) v_p.tbl AND a.attname OPERATOR(pg_catalog.=) v_p.team_column
						 AND i.indisvalid AND i.indpred IS NULL
						 AND teamacl_internal._am_searches_arrays(ic.relam)) THEN
			severity := 'warning'; object := v_p.tbl::text;
			problem := format('team column %I has no btree index starting with it%s', v_p.team_column,
				(SELECT ' (' || string_agg(format('%s is a %s index, which cannot serve the permission check',
												  i.indexrelid::regclass, am.amname), '; ' ORDER BY i.indexrelid::regclass::text) || ')'
				   FROM pg_index i
				   JOIN pg_class ic ON ic.oid OPERATOR(pg_catalog.=) i.indexrelid
				   JOIN pg_am am ON am.oid OPERATOR(pg_catalog.=) ic.relam
				   JOIN pg_attribute a
					 ON a.attrelid OPERATOR(pg_catalog.=) i.indrelid AND a.attnum OPERATOR(pg_catalog.=) i.indkey[0]
				  WHERE i.indrelid OPERATOR(pg_catalog.=) v_p.tbl AND a.attname OPERATOR(pg_catalog.=) v_p.team_column
					AND NOT teamacl_internal._am_searches_arrays(ic.relam)));
			fix := format('CREATE INDEX ON %s (%I);', v_p.tbl, v_p.team_column);
			RETURN NEXT;
		END IF;
		v_now := teamacl_internal._policy_texts(v_p.tbl);
		IF v_now IS DISTINCT FROM v_p.policies THEN
			severity := 'error'; object := v_p.tbl::text;
			problem := 'teamacl policies were changed or dropped since protect()';
			fix := format('SELECT teamacl.unprotect(%L); SELECT teamacl.protect(%L, %L, %L, %L, %L, %L);',
						  v_p.tbl, v_p.tbl, v_p.team_column, v_p.select_permission, v_p.insert_permission,
						  v_p.update_permission, v_p.delete_permission);
			RETURN NEXT;
		END IF;
	END LOOP;

	-- partitions and inheritance children of protected tables that are not
	-- protected: reading them directly skips the parent's policies
	FOR object, problem, fix IN
		SELECT d.child::text,
			   CASE WHEN c.relkind IN ('r', 'p')
					THEN format('inherits from protected table %s but is not protected: reading it directly shows every team''s rows', p.tbl)
					ELSE format('foreign table inherits from protected table %s: row-level security cannot protect it', p.tbl) END,
			   CASE WHEN c.relkind IN ('r', 'p')
					THEN format('SELECT teamacl.unprotect(%L); SELECT teamacl.protect(%L, %L, %L, %L, %L, %L); -- protects every child',
								COALESCE(p.parent, p.tbl), COALESCE(p.parent, p.tbl), p.team_column, p.select_permission,
								p.insert_permission, p.update_permission, p.delete_permission)
					ELSE format('REVOKE ALL ON %s FROM PUBLIC; -- and from every role that serves end users', d.child) END
		  FROM teamacl.protected_tables p
		 CROSS JOIN LATERAL teamacl_internal._descendants(p.tbl) d
		  JOIN pg_class c ON c.oid OPERATOR(pg_catalog.=) d.child
		 WHERE NOT EXISTS (SELECT 1 FROM teamacl.protected_tables x WHERE x.tbl OPERATOR(pg_catalog.=) d.child)
		   AND (teamacl_internal._protected_ancestor(d.child)).tbl OPERATOR(pg_catalog.=) p.tbl
		 ORDER BY 1
	LOOP
		severity := 'error';
		RETURN NEXT;
	END LOOP;

	-- privileges row-level security does not govern, held by roles that are
	-- subject to the policies: TRUNCATE empties every team's rows, TRIGGER
	-- runs the grantee's code on everybody's writes, REFERENCES lets a
	-- foreign key probe for other teams' values
	FOR object, severity, problem, fix IN
		SELECT t.tbl::text,
			   CASE WHEN a.privilege_type OPERATOR(pg_catalog.=) 'REFERENCES' THEN 'warning' ELSE 'error' END,
			   format('%s holds %s, which row-level security does not govern%s',
					  CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC' ELSE format('role %I', r.rolname) END,
					  a.privilege_type,
					  CASE a.privilege_type WHEN 'TRUNCATE' THEN ': it can empty every team''s rows'
											WHEN 'TRIGGER' THEN ': its triggers run on every team''s writes'
											ELSE ': a foreign key can probe other teams'' values' END),
			   format('REVOKE %s ON %s FROM %s;', a.privilege_type, t.tbl,
					  CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END)
		  FROM teamacl.protected_tables t
		  JOIN pg_class c ON c.oid OPERATOR(pg_catalog.=) t.tbl
		 CROSS JOIN LATERAL aclexplode(c.relacl) a
		  LEFT JOIN pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.grantee
		 WHERE a.privilege_type IN ('TRUNCATE', 'TRIGGER', 'REFERENCES')
		   AND a.grantee OPERATOR(pg_catalog.<>) c.relowner
		   AND (a.grantee OPERATOR(pg_catalog.=) 0 OR NOT (r.rolsuper OR r.rolbypassrls))
		 ORDER BY 1, 3
	LOOP
		RETURN NEXT;
	END LOOP;

	-- login-role mappings whose role was dropped, or renamed since
	FOR object, severity, problem, fix IN
		SELECT u.email,
			   CASE WHEN r.oid IS NULL THEN 'warning' ELSE 'info' END,
			   CASE WHEN r.oid IS NULL THEN format('is mapped to login role %I, which no longer exists', u.db_role)
					ELSE format('is mapped to login role %I, which was renamed from %I', r.rolname, u.db_role) END,
			   CASE WHEN r.oid IS NULL THEN format('UPDATE teamacl.users SET db_role = NULL WHERE email = %L;', u.email)
					ELSE format('UPDATE teamacl.users SET db_role = %L WHERE email = %L; -- records the new name (dumps carry it)', r.rolname, u.email) END
		  FROM teamacl.users u
		  LEFT JOIN pg_roles r ON r.oid OPERATOR(pg_catalog.=) u.db_role_oid
		 WHERE u.db_role IS NOT NULL
		   AND (r.oid IS NULL OR r.rolname OPERATOR(pg_catalog.<>) u.db_role)
		 ORDER BY 1
	LOOP
		RETURN NEXT;
	END LOOP;

	-- API keys that never expire, or whose creator left the key's team
	FOR object, problem, fix IN
		SELECT format('API key %s (%s)', k.id, k.name),
			   CASE WHEN m.user_id IS NULL
					THEN format('its creator %s is no longer a member of the team: it grants nothing', u.email)
					ELSE 'never expires' END,
			   format('UPDATE teamacl.api_keys SET revoked_at = now() WHERE id = %L;', k.id)
		  FROM teamacl.api_keys k
		  JOIN teamacl.users u ON u.id OPERATOR(pg_catalog.=) k.created_by
		  LEFT JOIN teamacl.members m ON m.team_id OPERATOR(pg_catalog.=) k.team_id
			   AND m.user_id OPERATOR(pg_catalog.=) k.created_by
		 WHERE k.revoked_at IS NULL
		   AND (k.expires_at IS NULL OR k.expires_at OPERATOR(pg_catalog.>) pg_catalog.now())
		   AND (m.user_id IS NULL OR k.expires_at IS NULL)
		 ORDER BY 1
	LOOP
		severity := 'warning';
		RETURN NEXT;
	END LOOP;

	-- other permissive policies on a protected table are OR-ed with
	-- teamacl's and widen what it allows
	FOR object, problem, fix IN
		SELECT c.oid::regclass::text,
			   format('permissive policy %I is OR-ed with teamacl''s policies and widens access', p.polname),
			   format('DROP POLICY %I ON %s; -- or recreate it AS RESTRICTIVE', p.polname, c.oid::regclass)
		  FROM pg_policy p
		  JOIN pg_class c ON c.oid OPERATOR(pg_catalog.=) p.polrelid
		  JOIN teamacl.protected_tables t ON t.tbl::oid OPERATOR(pg_catalog.=) c.oid
		 WHERE p.polpermissive AND p.polname NOT LIKE 'teamacl\_%'
		 ORDER BY 1, 2
	LOOP
		severity := 'warning';
		RETURN NEXT;
	END LOOP;

	-- any table whose policies call teamacl: RLS must be enabled and forced
	FOR object, problem, fix IN
		SELECT DISTINCT c.oid::regclass::text,
			   CASE WHEN NOT c.relrowsecurity THEN 'has teamacl policies but row-level security is disabled'
					ELSE 'has teamacl policies but row-level security is not forced (the owner bypasses it)' END,
			   format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;', c.oid::regclass)
		  FROM pg_policy p JOIN pg_class c ON c.oid OPERATOR(pg_catalog.=) p.polrelid
		 WHERE c.relnamespace OPERATOR(pg_catalog.<>) 'teamacl'::regnamespace
		   AND (pg_get_expr(p.polqual, p.polrelid) ~ 'teamacl\.' OR pg_get_expr(p.polwithcheck, p.polrelid) ~ 'teamacl\.')
		   AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
		 ORDER BY 1
	LOOP
		severity := 'error';
		RETURN NEXT;
	END LOOP;

	-- teamacl policies that protect() did not create
	FOR object, problem IN
		SELECT c.oid::regclass::text, format('policy %I calls teamacl but was not created by teamacl.protect()', p.polname)
		  FROM pg_policy p JOIN pg_class c ON c.oid OPERATOR(pg_catalog.=) p.polrelid
		 WHERE c.relnamespace OPERATOR(pg_catalog.<>) 'teamacl'::regnamespace
		   AND (pg_get_expr(p.polqual, p.polrelid) ~ 'teamacl\.' OR pg_get_expr(p.polwithcheck, p.polrelid) ~ 'teamacl\.')
		   AND NOT (p.polname LIKE 'teamacl\_%'
					AND EXISTS (SELECT 1 FROM teamacl.protected_tables t WHERE t.tbl OPERATOR(pg_catalog.=) c.oid))
		 ORDER BY 1, 2
	LOOP
		severity := 'info';
		fix := 'Check the policy by hand, or use teamacl.protect() so doctor() can watch it.';
		RETURN NEXT;
	END LOOP;

	-- views reading protected tables with their owner's rights; an owner
	-- that bypasses RLS (a superuser) exposes every row
	FOR object, severity, problem, fix IN
		SELECT DISTINCT v.oid::regclass::text,
			   CASE WHEN o.rolsuper OR o.rolbypassrls THEN 'error' ELSE 'warning' END,
			   format('view reads protected table %s with its owner''s rights (no security_invoker)%s', d.refobjid::regclass,
					  CASE WHEN o.rolsuper OR o.rolbypassrls THEN '; its owner bypasses row-level security, so it shows every row' ELSE '' END),
			   format('ALTER VIEW %s SET (security_invoker = true);', v.oid::regclass)
		  FROM pg_rewrite r
		  JOIN pg_class v ON v.oid OPERATOR(pg_catalog.=) r.ev_class AND v.relkind IN ('v', 'm')
		  JOIN pg_roles o ON o.oid OPERATOR(pg_catalog.=) v.relowner
		  JOIN pg_depend d ON d.classid OPERATOR(pg_catalog.=) 'pg_rewrite'::regclass AND d.objid OPERATOR(pg_catalog.=) r.oid
		  JOIN teamacl.protected_tables t ON t.tbl::oid OPERATOR(pg_catalog.=) d.refobjid
		 WHERE v.relnamespace OPERATOR(pg_catalog.<>) 'teamacl'::regnamespace
		   AND NOT COALESCE(v.reloptions @> ARRAY['security_invoker=true'] OR v.reloptions @> ARRAY['security_invoker=on'], false)
		 ORDER BY 1, 3
	LOOP
		RETURN NEXT;
	END LOOP;

	-- roles that bypass row-level security and can read protected tables
	FOR object, problem IN
		SELECT DISTINCT r.rolname::text, format('role bypasses row-level security and can read %s', t.tbl)
		  FROM pg_roles r CROSS JOIN teamacl.protected_tables t
		 WHERE r.rolbypassrls AND NOT r.rolsuper
		   AND has_table_privilege(r.oid, t.tbl, 'SELECT')
		 ORDER BY 1, 2
	LOOP
		severity := 'warning';
		fix := format('ALTER ROLE %I NOBYPASSRLS; -- or make sure it never serves end users', object);
		RETURN NEXT;
	END LOOP;

	-- who may name end users
	FOR object, severity, problem, fix IN
		SELECT CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END,
			   CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'error' ELSE 'info' END,
			   'may call teamacl.set_user() and act as any user',
			   CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0
					THEN 'REVOKE EXECUTE ON FUNCTION teamacl.set_user(uuid, boolean) FROM PUBLIC;'
					ELSE 'Expected for the application''s login role only.' END
		  FROM pg_proc p, aclexplode(p.proacl) a
		 WHERE p.oid OPERATOR(pg_catalog.=) 'teamacl.set_user(uuid, boolean)'::regprocedure
		   AND a.privilege_type OPERATOR(pg_catalog.=) 'EXECUTE'
		   AND a.grantee OPERATOR(pg_catalog.<>) p.proowner
		 ORDER BY 1
	LOOP
		RETURN NEXT;
	END LOOP;

	-- SECURITY DEFINER functions that do not pin search_path
	FOR object IN
		SELECT p.oid::regprocedure::text
		  FROM pg_proc p
		 WHERE p.prosecdef
		   AND p.pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
		   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search\_path=%')
		 ORDER BY 1
	LOOP
		severity := 'warning';
		problem := 'SECURITY DEFINER function with a mutable search_path';
		fix := format('ALTER FUNCTION %s SET search_path = pg_catalog, pg_temp;', object);
		RETURN NEXT;
	END LOOP;

	-- on a Citus coordinator: settings, workers, shard policies
	RETURN QUERY SELECT * FROM teamacl_internal._citus_findings();
END
$$;
COMMENT ON FUNCTION teamacl.doctor() IS
	'One row per problem a DBA should look at: protected tables without a usable index or with unforced RLS, unprotected partitions and children, privileges RLS does not govern, stale login-role mappings, API keys without expiry or whose creator left, drifted or foreign teamacl policies, definer views, BYPASSRLS readers, set_user grantees, definer functions without a pinned search_path, and on a Citus coordinator its settings, workers and shard policies';
SELECT teamacl_internal._carry_privileges('teamacl.doctor_0_3()', 'teamacl.doctor()');

DROP FUNCTION teamacl_internal._carry_privileges(regprocedure, regprocedure);
-- end of #13
