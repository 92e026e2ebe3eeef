/* sql/teamacl--0.1--0.2.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION teamacl UPDATE TO '0.2'" to load this file. \quit

------------------------------------------------------------------------
-- protect() writes per-row has_permission() policies
--
-- 0.1 wrote team_col = ANY ((SELECT teamacl.teams_with(perm))::uuid[]).
-- That array is computed by an InitPlan, and PostgreSQL builds and runs
-- one InitPlan per policy expression at every executor start: an UPDATE
-- carries four (its USING and WITH CHECK, and the SELECT policy on the old
-- and the new row).  Counted with callgrind, a prepared point UPDATE cost
-- 1.54x the same statement on an unprotected table, a point SELECT 1.17x.
-- teamacl.has_permission(team_col, perm) needs no InitPlan: its planner
-- support function turns it into the same index condition on team_col
-- where an index scan pays, and elsewhere it is one cached C call per row
-- (1.19x and 1.01x).  The answers are the same; only the cost changes.
------------------------------------------------------------------------

DROP FUNCTION teamacl._policy_check(name, text);
CREATE FUNCTION teamacl._policy_check(team_column name, permission text) RETURNS text
	LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
	RETURN format('(teamacl.has_permission(%I, %L))', team_column, permission);
COMMENT ON FUNCTION teamacl._policy_check(name, text) IS 'Internal: the expression of a protect() policy';
REVOKE ALL ON FUNCTION teamacl._policy_check(name, text) FROM PUBLIC;

-- Tables protected under 0.1 get the new policies, unless somebody changed
-- teamacl's policies on them since protect(): those are left as they are,
-- with a warning (doctor() reports them too).
DO $$
DECLARE
	v_p teamacl.protected_tables;
	v_done integer := 0;
BEGIN
	FOR v_p IN SELECT * FROM teamacl.protected_tables ORDER BY tbl::text LOOP
		IF teamacl._policy_texts(v_p.tbl) IS DISTINCT FROM v_p.policies THEN
			RAISE WARNING 'teamacl policies on % were changed since protect() and keep their 0.1 form', v_p.tbl
				USING HINT = 'Run teamacl.doctor() to see the drift; unprotect() and protect() the table to get the 0.2 policies.';
			CONTINUE;
		END IF;
		EXECUTE format('ALTER POLICY teamacl_select ON %s USING %s',
					   v_p.tbl, teamacl._policy_check(v_p.team_column, v_p.select_permission));
		EXECUTE format('ALTER POLICY teamacl_insert ON %s WITH CHECK %s',
					   v_p.tbl, teamacl._policy_check(v_p.team_column, v_p.insert_permission));
		EXECUTE format('ALTER POLICY teamacl_update ON %s USING %s WITH CHECK %s',
					   v_p.tbl, teamacl._policy_check(v_p.team_column, v_p.update_permission),
					   teamacl._policy_check(v_p.team_column, v_p.update_permission));
		EXECUTE format('ALTER POLICY teamacl_delete ON %s USING %s',
					   v_p.tbl, teamacl._policy_check(v_p.team_column, v_p.delete_permission));
		UPDATE teamacl.protected_tables p SET policies = teamacl._policy_texts(v_p.tbl)
		 WHERE p.tbl OPERATOR(pg_catalog.=) v_p.tbl;
		v_done := v_done + 1;
	END LOOP;
	IF v_done > 0 THEN
		RAISE NOTICE 'teamacl: % protected tables now use has_permission() policies', v_done;
	END IF;
END
$$;
