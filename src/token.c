/*-------------------------------------------------------------------------
 *
 * token.c
 *	  Invitation and ownership-transfer tokens.
 *
 * A token is a fixed, recognisable prefix (so secret scanners can find
 * leaked ones) followed by 256 bits from pg_strong_random() in URL-safe
 * base64 without padding: "tacl_inv_" + 43 characters.  Only the SHA-256
 * of the whole token is ever stored; the raw token is returned once to the
 * caller who asked for it and appears nowhere else.
 *
 * Copyright (c) 2026, teamacl developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/base64.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"

#include "teamacl.h"

PG_FUNCTION_INFO_V1(teamacl_generate_token);
PG_FUNCTION_INFO_V1(teamacl_hash_token);

#define TOKEN_RANDOM_BYTES	32	/* 256 bits */
#define TOKEN_PREFIX_MAX	16

/* The prefixes tokens may carry: one per kind of token. */
static const char *const token_prefixes[] = {"tacl_inv_", "tacl_xfr_", "tacl_key_", NULL};

static bool
KnownPrefix(const char *prefix)
{
	int			i;

	for (i = 0; token_prefixes[i] != NULL; i++)
		if (strcmp(prefix, token_prefixes[i]) == 0)
			return true;
	return false;
}

/* _generate_token(prefix text) returns text */
Datum
teamacl_generate_token(PG_FUNCTION_ARGS)
{
	char	   *prefix = text_to_cstring(PG_GETARG_TEXT_PP(0));
	uint8		random_bytes[TOKEN_RANDOM_BYTES];
	char		encoded[64];
	int			enclen;
	int			i;
	StringInfoData buf;

	if (!KnownPrefix(prefix))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown token prefix \"%s\"", prefix)));

	if (!pg_strong_random(random_bytes, sizeof(random_bytes)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random token")));

	Assert(pg_b64_enc_len(TOKEN_RANDOM_BYTES) < (int) sizeof(encoded));
	enclen = pg_b64_encode((teamacl_b64_src) random_bytes, TOKEN_RANDOM_BYTES,
						   encoded, sizeof(encoded));
	explicit_bzero(random_bytes, sizeof(random_bytes));
	if (enclen < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not encode a random token")));

	/* URL-safe alphabet, no padding */
	while (enclen > 0 && encoded[enclen - 1] == '=')
		enclen--;
	for (i = 0; i < enclen; i++)
	{
		if (encoded[i] == '+')
			encoded[i] = '-';
		else if (encoded[i] == '/')
			encoded[i] = '_';
	}

	initStringInfo(&buf);
	appendStringInfoString(&buf, prefix);
	appendBinaryStringInfo(&buf, encoded, enclen);
	explicit_bzero(encoded, sizeof(encoded));
	PG_RETURN_TEXT_P(cstring_to_text_with_len(buf.data, buf.len));
}

/* _hash_token(token text) returns bytea: SHA-256 of the token's bytes */
Datum
teamacl_hash_token(PG_FUNCTION_ARGS)
{
	text	   *token = PG_GETARG_TEXT_PP(0);
	pg_cryptohash_ctx *ctx;
	bytea	   *result = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);

	ctx = pg_cryptohash_create(PG_SHA256);
	if (pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) VARDATA_ANY(token),
							 VARSIZE_ANY_EXHDR(token)) < 0 ||
		pg_cryptohash_final(ctx, (uint8 *) VARDATA(result),
							PG_SHA256_DIGEST_LENGTH) < 0)
	{
		const char *reason = pstrdup(pg_cryptohash_error(ctx));

		pg_cryptohash_free(ctx);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute SHA-256 of a token: %s", reason)));
	}
	pg_cryptohash_free(ctx);
	SET_VARSIZE(result, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	PG_RETURN_BYTEA_P(result);
}
