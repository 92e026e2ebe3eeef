-- sql/src/doctor.sql
--
-- doctor(): one row per problem a DBA should look at.

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
