-- sql/src/token.sql
--
-- Token helpers shared by invitations and ownership transfers: random
-- tokens and their SHA-256 (src/token.c) and the uniform token error.

CREATE FUNCTION teamacl_internal._generate_token(prefix text) RETURNS text
	AS 'MODULE_PATHNAME', 'teamacl_generate_token'
	LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION teamacl_internal._generate_token(text) IS
	'Internal: a new token, the prefix plus 256 random bits in URL-safe base64';

CREATE FUNCTION teamacl_internal._hash_token(token text) RETURNS bytea
	AS 'MODULE_PATHNAME', 'teamacl_hash_token'
	LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION teamacl_internal._hash_token(text) IS 'Internal: the SHA-256 of a token, the only form stored';

-- One error for every token that cannot be used: unknown, malformed,
-- expired, revoked, declined or already used tokens are indistinguishable.
CREATE FUNCTION teamacl_internal._bad_token(what text) RETURNS void
	LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
	RAISE EXCEPTION '% token is invalid or has expired', what
		USING ERRCODE = '22023',
			  HINT = 'Ask for a new one.';
END
$$;
COMMENT ON FUNCTION teamacl_internal._bad_token(text) IS 'Internal: the uniform error for unusable tokens';
