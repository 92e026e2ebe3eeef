/*-------------------------------------------------------------------------
 *
 * check.c
 *	  The SQL-callable permission checks: has_permission(), teams_with(),
 *	  require() and permissions().
 *
 * These run inside row-level-security policies, once per statement (the
 * teams_with() array form) or once per row (has_permission()).  The hit
 * path does no catalogue access and no allocation: the permission name is
 * resolved once per call site (cached in fn_extra), the user entry is the
 * last one used, and the team is found by binary search.
 *
 * Copyright (c) 2026, teamacl developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "teamacl.h"

PG_FUNCTION_INFO_V1(teamacl_has_permission);
PG_FUNCTION_INFO_V1(teamacl_teams_with);
PG_FUNCTION_INFO_V1(teamacl_require);
PG_FUNCTION_INFO_V1(teamacl_permissions);

/* What one call site remembers about its permission argument. */
typedef struct PermissionArgCache
{
	uint64		generation;
	int			bit;
	int			len;
	char		name[NAMEDATALEN];
} PermissionArgCache;

/*
 * The bit of the permission named by argument argno.  A constant argument
 * is looked up once per catalogue generation.
 */
int
teamacl_permission_arg(FunctionCallInfo fcinfo, int argno)
{
	text	   *arg = PG_GETARG_TEXT_PP(argno);
	const char *name = VARDATA_ANY(arg);
	int			len = VARSIZE_ANY_EXHDR(arg);
	PermissionArgCache *slot = (PermissionArgCache *) fcinfo->flinfo->fn_extra;
	uint64		generation = teamacl_catalog_generation();

	if (slot != NULL && slot->generation == generation &&
		slot->len == len && memcmp(slot->name, name, len) == 0)
		return slot->bit;

	/* errors for unknown names, so a typo in a policy never passes */
	{
		int			bit = teamacl_permission_bit(name, len, false);

		if (slot == NULL)
		{
			slot = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
										  sizeof(PermissionArgCache));
			fcinfo->flinfo->fn_extra = slot;
		}
		slot->generation = generation;
		slot->bit = bit;
		slot->len = len;
		memcpy(slot->name, name, len);
		return bit;
	}
}

/* has_permission(team_id uuid, permission text) returns boolean */
Datum
teamacl_has_permission(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *team_id = PG_GETARG_UUID_P(0);
	TeamaclUser *user;
	const TeamaclTeam *team;
	int			bit;

	teamacl_cache_begin();
	user = teamacl_current_user();
	bit = teamacl_permission_arg(fcinfo, 1);
	if (user == NULL)
		PG_RETURN_BOOL(false);
	team = teamacl_user_team(user, team_id);
	PG_RETURN_BOOL(team != NULL && bms_is_member(bit, team->perms));
}

/* teams_with(permission text) returns uuid[] */
Datum
teamacl_teams_with(PG_FUNCTION_ARGS)
{
	TeamaclUser *user;
	int			bit;

	teamacl_cache_begin();
	user = teamacl_current_user();
	bit = teamacl_permission_arg(fcinfo, 0);
	if (user == NULL)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(UUIDOID));
	PG_RETURN_DATUM(teamacl_user_teams_with(user, bit));
}

/* require(team_id uuid, permission text): raise 42501 unless held */
Datum
teamacl_require(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *team_id = PG_GETARG_UUID_P(0);
	TeamaclUser *user;
	const TeamaclTeam *team = NULL;
	int			bit;

	teamacl_cache_begin();
	user = teamacl_current_user();
	bit = teamacl_permission_arg(fcinfo, 1);
	if (user != NULL)
		team = teamacl_user_team(user, team_id);
	if (team == NULL || !bms_is_member(bit, team->perms))
	{
		char	   *perm = text_to_cstring(PG_GETARG_TEXT_PP(1));
		char	   *team_str = DatumGetCString(DirectFunctionCall1(uuid_out,
																   UUIDPGetDatum(team_id)));

		if (user == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied: \"%s\" is required on team %s",
							perm, team_str),
					 errdetail("No teamacl user is identified in this session."),
					 errhint("Call teamacl.set_user() or map the login role with teamacl.register_user(db_role => ...).")));
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied: \"%s\" is required on team %s",
						perm, team_str),
				 team == NULL ?
				 errdetail("The current user is not a member of that team.") :
				 errdetail("The current user's role in that team does not grant it.")));
	}
	PG_RETURN_VOID();
}

/* permissions(team_id uuid) returns text[]: what the user holds there */
Datum
teamacl_permissions(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *team_id = PG_GETARG_UUID_P(0);
	TeamaclUser *user;
	const TeamaclTeam *team = NULL;
	Datum	   *elems;
	int			n = 0;
	int			bit = -1;

	teamacl_cache_begin();
	user = teamacl_current_user();
	if (user != NULL)
		team = teamacl_user_team(user, team_id);
	elems = palloc(sizeof(Datum) * Max(teamacl_permission_count(), 1));
	if (team != NULL)
		while ((bit = bms_next_member(team->perms, bit)) >= 0)
			elems[n++] = CStringGetTextDatum(teamacl_permission_name(bit));
	/* bits are assigned in name order, so the result is sorted */
	PG_RETURN_ARRAYTYPE_P(construct_array(elems, n, TEXTOID, -1, false,
										  TYPALIGN_INT));
}
