-- sql/src/citus.sql
--
-- Citus: what doctor() checks on a Citus coordinator.  The checks run only
-- where Citus is created and this node is the coordinator; everything they
-- read of Citus is named in dynamic SQL, so teamacl installs without it.

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
