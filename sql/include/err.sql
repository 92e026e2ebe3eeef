-- Shared by the regression tests: pg_temp.err(sql) runs a statement in a
-- subtransaction and returns 'ok' or "SQLSTATE: message" with uuids masked,
-- so an error and its code can be asserted and nothing it did survives.
CREATE FUNCTION pg_temp.err(sql text) RETURNS text LANGUAGE plpgsql AS $f$
BEGIN
	EXECUTE sql;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM,
		'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}', '<uuid>', 'g');
END $f$;
GRANT EXECUTE ON FUNCTION pg_temp.err(text) TO PUBLIC;
