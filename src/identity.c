/*-------------------------------------------------------------------------
 *
 * identity.c
 *	  Who is asking: the end user an application names with set_user(),
 *	  or the teamacl user mapped to the current login role.
 *
 * The identity set by teamacl.set_user() is kept in the internal setting
 * teamacl.identity.  Using the GUC machinery gives us, for free, the exact
 * semantics of set_config(): transaction-local or session-wide values,
 * rollback on (sub)transaction abort, RESET ALL / DISCARD ALL clearing it,
 * and propagation to parallel workers.  The check hook refuses every change
 * that does not come from set_user() itself or from a parallel worker
 * restoring its leader's state, so SET, set_config(), ALTER ROLE ... SET,
 * a function's SET clause, a startup option or a placeholder value set
 * before this library was loaded can never name a user.
 *
 * set_api_key() (apikey.c) stores "key:<id>" there the same way.
 *
 * Without a set_user() identity, and when a superuser turned on
 * teamacl.jwt_identity, the "sub" claim of request.jwt.claims (set by
 * PostgREST for each request) names the user.  Otherwise the user whose
 * users.db_role is the outer role is used: SET ROLE changes it, SECURITY
 * DEFINER functions do not.
 *
 * Copyright (c) 2026, teamacl developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "teamacl.h"

PG_FUNCTION_INFO_V1(teamacl_set_user);
PG_FUNCTION_INFO_V1(teamacl_current_user_id);
PG_FUNCTION_INFO_V1(teamacl_outer_role);

typedef struct IdentityExtra
{
	bool		valid;
	bool		is_key;			/* "key:<id>": an API key, set_api_key() */
	pg_uuid_t	user_id;		/* the user, or the key */
} IdentityExtra;

static char *identity_string = NULL;
static bool jwt_identity = false;

/* The last request.jwt.claims seen, and what it said. */
static char *jwt_last_claims = NULL;
static bool jwt_last_found = false;
static pg_uuid_t jwt_last_user;
static IdentityExtra identity = {false};
static bool identity_change_allowed = false;

static int
HexValue(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parse the canonical 36-character form; false on anything else. */
static bool
ParseUuid(const char *s, pg_uuid_t *out)
{
	int			i = 0;
	int			j;

	if (strlen(s) != 36)
		return false;
	for (j = 0; j < 36; j++)
	{
		int			hi,
					lo;

		if (j == 8 || j == 13 || j == 18 || j == 23)
		{
			if (s[j] != '-')
				return false;
			continue;
		}
		hi = HexValue(s[j]);
		lo = HexValue(s[j + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out->data[i++] = (unsigned char) (hi << 4 | lo);
		j++;
	}
	return i == UUID_LEN;
}

static bool
CheckIdentity(char **newval, void **extra, GucSource source)
{
	IdentityExtra *result;

	if (source != PGC_S_DEFAULT && !identity_change_allowed &&
		!InitializingParallelWorker)
	{
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("parameter \"teamacl.identity\" can only be changed by teamacl.set_user()");
		return false;
	}

	result = (IdentityExtra *) teamacl_guc_malloc(sizeof(IdentityExtra));
	if (result == NULL)
		return false;
	result->valid = false;
	result->is_key = false;
	if (*newval != NULL && (*newval)[0] != '\0')
	{
		const char *id = *newval;

		if (strncmp(id, "key:", 4) == 0)
		{
			result->is_key = true;
			id += 4;
		}
		if (!ParseUuid(id, &result->user_id))
		{
			teamacl_guc_free(result);
			GUC_check_errmsg("invalid teamacl identity \"%s\"", *newval);
			return false;
		}
		result->valid = true;
	}
	*extra = result;
	return true;
}

static void
AssignIdentity(const char *newval, void *extra)
{
	if (extra != NULL)
		identity = *(IdentityExtra *) extra;
	else
		identity.valid = false;
	/* plans pruned to the previous identity's teams must not serve this one */
	teamacl_prune_identity_changed();
}

/*
 * Whether the identity can change only through teamacl.identity (set_user,
 * set_api_key, and their end with the transaction) or with the role: then
 * a cached plan made for it is reset when it changes.  A JWT or a header
 * key can change with a setting teamacl does not watch.
 */
bool
teamacl_identity_watched(void)
{
	return identity.valid || (!jwt_identity && !teamacl_api_key_header);
}

void
teamacl_identity_init(void)
{
	DefineCustomBoolVariable("teamacl.jwt_identity",
							 "Take the user from the sub claim of request.jwt.claims (PostgREST, Supabase).",
							 "Only for databases whose SQL all comes through PostgREST: any role can set request.jwt.claims.",
							 &jwt_identity,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("teamacl.identity",
							   "The end user named by teamacl.set_user().",
							   "Internal: change it only with teamacl.set_user().",
							   &identity_string,
							   "",
							   PGC_USERSET,
							   GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE |
							   GUC_DISALLOW_IN_FILE | GUC_DISALLOW_IN_AUTO_FILE,
							   CheckIdentity,
							   AssignIdentity,
							   NULL);
}

/*
 * The identified user, if any.  Call teamacl_cache_begin() first: the
 * login-role mapping is read through the cache.
 */
static bool
JwtIdentity(pg_uuid_t *user_id)
{
	const char *claims = GetConfigOption("request.jwt.claims", true, false);

	if (claims == NULL || claims[0] == '\0')
		return false;
	if (jwt_last_claims == NULL || strcmp(claims, jwt_last_claims) != 0)
	{
		Datum		sub;
		bool		found = false;
		char	   *copy;

		LOCAL_FCINFO(fcinfo, 2);

		/* called by hand: a missing claim is an SQL NULL, not an error */
		InitFunctionCallInfoData(*fcinfo, NULL, 2, InvalidOid, NULL, NULL);
		fcinfo->args[0].value = CStringGetTextDatum(claims);
		fcinfo->args[0].isnull = false;
		fcinfo->args[1].value = CStringGetTextDatum("sub");
		fcinfo->args[1].isnull = false;
		sub = json_object_field_text(fcinfo);
		if (!fcinfo->isnull)
		{
			Datum		u = DirectFunctionCall1(uuid_in,
												CStringGetDatum(TextDatumGetCString(sub)));

			memcpy(&jwt_last_user, DatumGetUUIDP(u), UUID_LEN);
			found = true;
		}
		copy = MemoryContextStrdup(TopMemoryContext, claims);
		if (jwt_last_claims)
			pfree(jwt_last_claims);
		jwt_last_claims = copy;
		jwt_last_found = found;
	}
	if (jwt_last_found)
		*user_id = jwt_last_user;
	return jwt_last_found;
}

/*
 * Who is asking, in order: set_user() or set_api_key(), the JWT sub claim
 * (when enabled), the login-role mapping, an API key in PostgREST's
 * Authorization header (when enabled).  *is_key says whether *id is a key.
 */
static bool
ResolveIdentity(pg_uuid_t *id, bool *is_key)
{
	*is_key = false;
	if (identity.valid)
	{
		*id = identity.user_id;
		*is_key = identity.is_key;
		return true;
	}
	if (jwt_identity && JwtIdentity(id))
		return true;
	if (teamacl_user_for_role(GetOuterUserId(), id))
		return true;
	if (teamacl_api_key_header && teamacl_header_key(id))
	{
		*is_key = true;
		return true;
	}
	return false;
}

/* The identified user (a key's creator while a usable key is the identity). */
bool
teamacl_current_identity(pg_uuid_t *user_id)
{
	bool		is_key;

	if (unlikely(teamacl_on_worker))
	{
		TeamaclUser *user = teamacl_context_user();

		if (user == NULL)
			return false;
		*user_id = user->user_id;
		return true;
	}
	if (!ResolveIdentity(user_id, &is_key))
		return false;
	if (is_key)
	{
		TeamaclUser *view = teamacl_key_user(user_id);

		if (view == NULL)
			return false;
		*user_id = view->user_id;
	}
	return true;
}

/* The API key that is the identity, when it is usable. */
bool
teamacl_current_key(pg_uuid_t *key_id)
{
	bool		is_key;

	if (unlikely(teamacl_on_worker))
		return teamacl_context_key(key_id);
	return ResolveIdentity(key_id, &is_key) && is_key &&
		teamacl_key_user(key_id) != NULL;
}

/*
 * The cache entry of the identified user, or NULL when nobody is; while a
 * key is the identity, its creator restricted to the key's team and role.
 */
TeamaclUser *
teamacl_current_user(void)
{
	pg_uuid_t	id;
	bool		is_key;

	/* on a Citus worker only the coordinator's context identifies */
	if (unlikely(teamacl_on_worker))
		return teamacl_context_user();
	if (identity.valid && !identity.is_key)
		return teamacl_lookup_user(&identity.user_id);
	if (!ResolveIdentity(&id, &is_key))
		return NULL;
	return is_key ? teamacl_key_user(&id) : teamacl_lookup_user(&id);
}

/* current_user_id(): the identified user, or NULL */
Datum
teamacl_current_user_id(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *result = palloc(sizeof(pg_uuid_t));

	teamacl_cache_begin();
	if (!teamacl_current_identity(result))
		PG_RETURN_NULL();
	PG_RETURN_UUID_P(result);
}

/* Change teamacl.identity: the only path its check hook lets through. */
static void
SetIdentity(const char *value, GucAction action)
{
	identity_change_allowed = true;
	PG_TRY();
	{
		(void) set_config_option("teamacl.identity", value,
								 PGC_USERSET, PGC_S_SESSION, action,
								 true, ERROR, false);
	}
	PG_FINALLY();
	{
		identity_change_allowed = false;
	}
	PG_END_TRY();
}

/* set_user(user_id uuid, is_local boolean) */
Datum
teamacl_set_user(PG_FUNCTION_ARGS)
{
	bool		is_local = PG_ARGISNULL(1) ? true : PG_GETARG_BOOL(1);
	char	   *value = "";

	if (!PG_ARGISNULL(0))
	{
		pg_uuid_t  *user_id = PG_GETARG_UUID_P(0);
		TeamaclUser *user;

		teamacl_cache_begin();
		user = teamacl_lookup_user(user_id);
		if (!user->exists)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("user %s does not exist",
							DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(user_id))))));
		if (!user->registered)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("user %s has not registered yet",
							DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(user_id)))),
					 errdetail("The user was added by email and has not signed up."),
					 errhint("Register the user with teamacl.register_user() first.")));
		value = DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(user_id)));
	}

	SetIdentity(value, is_local ? GUC_ACTION_LOCAL : GUC_ACTION_SET);
	PG_RETURN_VOID();
}

/* For set_api_key(): make value ("key:<id>", or "" to clear) the identity. */
void
teamacl_set_identity(const char *value, bool is_local)
{
	SetIdentity(value, is_local ? GUC_ACTION_LOCAL : GUC_ACTION_SET);
}

/* _outer_role(): the role outside any SECURITY DEFINER function */
Datum
teamacl_outer_role(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(GetOuterUserId());
}
