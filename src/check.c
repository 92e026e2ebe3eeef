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

#include "access/amapi.h"
#include "access/stratnum.h"
#include "catalog/namespace.h"
#include "catalog/pg_am_d.h"
#include "commands/defrem.h"
#include "optimizer/cost.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/pathnodes.h"
#include "nodes/supportnodes.h"
#include "optimizer/optimizer.h"
#include "optimizer/restrictinfo.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/selfuncs.h"

#include "teamacl.h"

PG_FUNCTION_INFO_V1(teamacl_has_permission);
PG_FUNCTION_INFO_V1(teamacl_teams_with);
PG_FUNCTION_INFO_V1(teamacl_require);
PG_FUNCTION_INFO_V1(teamacl_permissions);
PG_FUNCTION_INFO_V1(teamacl_has_permission_support);
PG_FUNCTION_INFO_V1(teamacl_am_searches_arrays);

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

	/*
	 * The executor builds new FmgrInfos at every executor start, so an
	 * InitPlan's fn_extra is empty each statement: a backend-wide copy of
	 * the last lookups serves those calls without hashing.
	 */
	static PermissionArgCache recent[4];
	static int	recent_next = 0;
	int			i;

	if (slot != NULL && slot->generation == generation &&
		slot->len == len && memcmp(slot->name, name, len) == 0)
		return slot->bit;

	for (i = 0; i < lengthof(recent); i++)
		if (recent[i].generation == generation && recent[i].len == len &&
			memcmp(recent[i].name, name, len) == 0)
			break;

	/* errors for unknown names, so a typo in a policy never passes */
	{
		int			bit = i < lengthof(recent) ? recent[i].bit :
			teamacl_permission_bit(name, len, false);

		if (i == lengthof(recent) && len < NAMEDATALEN)
		{
			PermissionArgCache *r = &recent[recent_next];

			recent_next = (recent_next + 1) % lengthof(recent);
			r->generation = generation;
			r->bit = bit;
			r->len = len;
			memcpy(r->name, name, len);
		}

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
	/* bit < 0: on a Citus worker, a permission the user holds nowhere */
	if (user == NULL || bit < 0)
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
	if (user == NULL || bit < 0)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(UUIDOID));
	PG_RETURN_DATUM(teamacl_user_teams_with(user, bit));
}

/*
 * require(team_id uuid, permission text): raise 42501 unless held.  Not
 * STRICT: a NULL argument must raise, never pass silently.
 */
Datum
teamacl_require(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *team_id;
	TeamaclUser *user;
	const TeamaclTeam *team = NULL;
	int			bit;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("team and permission must not be null")));
	team_id = PG_GETARG_UUID_P(0);

	/*
	 * Management functions call require() from PL/pgSQL after locking the
	 * team row, often as a "simple expression" that skips the executor: read
	 * invalidations here too, so the lock wait's outcome is always seen.
	 */
	AcceptInvalidationMessages();
	teamacl_cache_begin();
	user = teamacl_current_user();
	bit = teamacl_permission_arg(fcinfo, 1);
	if (user != NULL)
		team = teamacl_user_team(user, team_id);
	if (team == NULL || bit < 0 || !bms_is_member(bit, team->perms))
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

	AcceptInvalidationMessages();	/* see teamacl_require() */
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

/*
 * teams_with(text) in the schema of the given function (our own schema:
 * the extension is not relocatable, but do not hard-code it).
 */
static Oid
TeamsWithOid(Oid sibling)
{
	static Oid	cached_sibling = InvalidOid;
	static Oid	cached = InvalidOid;

	if (sibling != cached_sibling || !OidIsValid(cached))
	{
		char	   *nsp = get_namespace_name(get_func_namespace(sibling));
		Oid			argtypes[1] = {TEXTOID};

		cached = LookupFuncName(list_make2(makeString(nsp), makeString("teams_with")),
								1, argtypes, true);
		cached_sibling = sibling;
	}
	return cached;
}

/*
 * has_permission(team_column, permission) rewritten as the equivalent
 * team_column = ANY (teams_with(permission)); NULL when not applicable.
 * The array is evaluated once per scan when used as an index condition.
 */
static ScalarArrayOpExpr *
EquivalentArrayClause(FuncExpr *call, Oid eqop)
{
	Node	   *team = linitial(call->args);
	Node	   *perm = lsecond(call->args);
	Oid			teams_with = TeamsWithOid(call->funcid);
	FuncExpr   *arr;
	ScalarArrayOpExpr *saop;

	if (!OidIsValid(teams_with) || !OidIsValid(eqop))
		return NULL;
	/* the permission must not vary per row */
	if (contain_var_clause(perm) || contain_volatile_functions(perm))
		return NULL;

	arr = makeFuncExpr(teams_with, UUIDARRAYOID, list_make1(copyObject(perm)),
					   InvalidOid, InvalidOid, COERCE_EXPLICIT_CALL);
	saop = makeNode(ScalarArrayOpExpr);
	saop->opno = eqop;
	saop->opfuncid = get_opcode(eqop);
	saop->hashfuncid = InvalidOid;
	saop->negfuncid = InvalidOid;
	saop->useOr = true;
	saop->inputcollid = InvalidOid;
	saop->args = list_make2(copyObject(team), arr);
	saop->location = -1;
	return saop;
}

/*
 * The built-in uuid = uuid operator: one catalogue probe by name, once per
 * backend (GetDefaultOpClass() would scan every btree operator class,
 * which a new backend's first statement pays for in full).
 */
Oid
teamacl_uuid_eq_operator(void)
{
	static Oid	eqop = InvalidOid;

	if (!OidIsValid(eqop))
		eqop = OpernameGetOprid(list_make2(makeString("pg_catalog"), makeString("=")),
								UUIDOID, UUIDOID);
	return eqop;
}

/* teams_with() for a permission name, (Datum) 0 if the name is unknown */
static Datum
TeamsWithName(text *perm)
{
	TeamaclUser *user;
	int			bit;

	teamacl_cache_begin();
	user = teamacl_current_user();
	bit = teamacl_permission_bit(VARDATA_ANY(perm), VARSIZE_ANY_EXHDR(perm), true);
	if (bit < 0)
		return (Datum) 0;
	if (user == NULL)
		return PointerGetDatum(construct_empty_array(UUIDOID));
	return teamacl_user_teams_with(user, bit);
}

/*
 * Is clause a comparison with uuid's equality, "a = b" or "a = ANY (b)"?
 * Sets its operands (for = ANY, *right is the array) and whether it is the
 * array form.  prune.c and the planner support below both look for such a
 * condition on the team column.
 */
bool
teamacl_uuid_equality(Node *clause, Node **left, Node **right, bool *array)
{
	Oid			eqop = teamacl_uuid_eq_operator();
	List	   *args;

	if (IsA(clause, ScalarArrayOpExpr) &&
		((ScalarArrayOpExpr *) clause)->opno == eqop &&
		((ScalarArrayOpExpr *) clause)->useOr)
	{
		args = ((ScalarArrayOpExpr *) clause)->args;
		*array = true;
	}
	else if (IsA(clause, OpExpr) && ((OpExpr *) clause)->opno == eqop &&
			 list_length(((OpExpr *) clause)->args) == 2)
	{
		args = ((OpExpr *) clause)->args;
		*array = false;
	}
	else
		return false;
	*left = linitial(args);
	*right = lsecond(args);
	return true;
}

/*
 * A restriction of rel that already confines the team column to constant
 * teams and may be checked ahead of the policy (leakproof): the query's own
 * team_column = ANY ('{...}') or = '...', or the one prune.c adds on a
 * Citus coordinator, which the shard queries carry to the workers.  The
 * Const (a uuid or a uuid[]), or NULL.
 */
static Const *
ConstTeamRestriction(RelOptInfo *rel, Node *column)
{
	ListCell   *lc;

	if (rel == NULL || !IsA(column, Var) || ((Var *) column)->varlevelsup != 0)
		return NULL;
	foreach(lc, rel->baserestrictinfo)
	{
		RestrictInfo *ri = lfirst(lc);
		Node	   *left;
		Node	   *right;
		Node	   *other = NULL;
		bool		array;

		if (!restriction_is_securely_promotable(ri, rel) ||
			!teamacl_uuid_equality((Node *) ri->clause, &left, &right, &array))
			continue;
		if (equal(left, column))
			other = right;
		else if (!array && equal(right, column))
			other = left;
		if (other != NULL && IsA(other, Const) && !((Const *) other)->constisnull)
			return (Const *) other;
	}
	return NULL;
}

/* The relation a has_permission() call's team column belongs to, or NULL. */
static RelOptInfo *
TeamColumnRel(PlannerInfo *root, Node *column)
{
	Index		varno;

	if (root == NULL || !IsA(column, Var) || ((Var *) column)->varlevelsup != 0)
		return NULL;
	varno = ((Var *) column)->varno;
	if (varno <= 0 || varno >= root->simple_rel_array_size)
		return NULL;
	return root->simple_rel_array[varno];
}

/*
 * Does the current user hold the permission in every team of teams (a
 * uuid or a uuid[] Const)?  Then has_permission() is true on every row
 * the restriction keeps.
 */
static bool
HoldsInAll(Const *teams, text *perm)
{
	TeamaclUser *user;
	int			bit;
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;

	teamacl_cache_begin();
	user = teamacl_current_user();
	bit = teamacl_permission_bit(VARDATA_ANY(perm), VARSIZE_ANY_EXHDR(perm), true);
	if (user == NULL || bit < 0)
		return false;
	if (teams->consttype == UUIDOID)
	{
		const TeamaclTeam *t = teamacl_user_team(user, DatumGetUUIDP(teams->constvalue));

		return t != NULL && bms_is_member(bit, t->perms);
	}
	if (teams->consttype != UUIDARRAYOID)
		return false;
	deconstruct_array(DatumGetArrayTypeP(teams->constvalue), UUIDOID, UUID_LEN,
					  false, TYPALIGN_CHAR, &elems, &nulls, &n);
	for (i = 0; i < n; i++)
	{
		const TeamaclTeam *t;

		if (nulls[i])
			continue;			/* = NULL keeps no row */
		t = teamacl_user_team(user, DatumGetUUIDP(elems[i]));
		if (t == NULL || !bms_is_member(bit, t->perms))
			return false;
	}
	return true;
}

/*
 * Planner support for has_permission():
 *	- index condition: team_column = ANY (teams_with(permission)), exact;
 *	- selectivity: from the column's statistics and the current user's
 *	  teams, as for team_column = ANY ('{...}');
 *	- cost: a cached lookup, about one operator.
 */
Datum
teamacl_has_permission_support(PG_FUNCTION_ARGS)
{
	Node	   *rawreq = (Node *) PG_GETARG_POINTER(0);

	if (IsA(rawreq, SupportRequestIndexCondition))
	{
		SupportRequestIndexCondition *req = (SupportRequestIndexCondition *) rawreq;
		ScalarArrayOpExpr *saop;
		Oid			eqop;

		if (req->indexarg != 0 || !IsA(req->node, FuncExpr))
			PG_RETURN_POINTER(NULL);

		/*
		 * A constant list of teams on the same column scans the index with
		 * a known number of keys; adding teams_with(), whose array the
		 * planner must guess (ten elements), would only make the index look
		 * dearer than reading the table and checking every row.
		 */
		if (op_in_opfamily(teamacl_uuid_eq_operator(), req->opfamily) &&
			ConstTeamRestriction(req->index->rel,
								 linitial(((FuncExpr *) req->node)->args)) != NULL)
			PG_RETURN_POINTER(NULL);

		/*
		 * Only an access method that takes array conditions natively can
		 * scan with the equivalent ScalarArrayOpExpr: the planner does not
		 * check a derived condition, and a plain index scan on any other
		 * (GiST, hash, BRIN, ...) fails at executor start.  Those indexes
		 * are not offered the condition; doctor() says a btree is needed.
		 */
		if (!req->index->amsearcharray)
			PG_RETURN_POINTER(NULL);
		eqop = get_opfamily_member(req->opfamily, UUIDOID, UUIDOID,
								   BTEqualStrategyNumber);
		saop = EquivalentArrayClause((FuncExpr *) req->node, eqop);
		if (saop == NULL)
			PG_RETURN_POINTER(NULL);
		req->lossy = false;
		PG_RETURN_POINTER(list_make1(saop));
	}

	if (IsA(rawreq, SupportRequestSelectivity))
	{
		SupportRequestSelectivity *req = (SupportRequestSelectivity *) rawreq;
		Node	   *perm;
		ScalarArrayOpExpr *saop;
		Const	   *teams;
		Datum		arr;

		if (req->is_join || list_length(req->args) != 2)
			PG_RETURN_POINTER(NULL);
		perm = estimate_expression_value(req->root, lsecond(req->args));
		if (!IsA(perm, Const) || ((Const *) perm)->constisnull)
			PG_RETURN_POINTER(NULL);

		/*
		 * Implied by a restriction to teams where the user holds the
		 * permission (what prune.c adds): counting it again would divide
		 * the row estimate by the teams' share once more.
		 */
		{
			Node	   *column = linitial(req->args);
			Const	   *restricted = ConstTeamRestriction(TeamColumnRel(req->root, column),
														  column);

			if (restricted != NULL &&
				HoldsInAll(restricted, DatumGetTextPP(((Const *) perm)->constvalue)))
			{
				req->selectivity = 1.0;
				PG_RETURN_POINTER(req);
			}
		}

		/* what teams_with() answers now: a good guess for this query */
		arr = TeamsWithName(DatumGetTextPP(((Const *) perm)->constvalue));
		if (arr == (Datum) 0)
			PG_RETURN_POINTER(NULL);
		teams = makeConst(UUIDARRAYOID, -1, InvalidOid, -1, arr, false, false);
		saop = makeNode(ScalarArrayOpExpr);
		saop->opno = teamacl_uuid_eq_operator();
		saop->opfuncid = F_UUID_EQ;
		saop->useOr = true;
		saop->inputcollid = InvalidOid;
		saop->args = list_make2(linitial(req->args), teams);
		saop->location = -1;
		req->selectivity = scalararraysel(req->root, saop, false,
										  req->varRelid, req->jointype,
										  req->sjinfo);
		PG_RETURN_POINTER(req);
	}

	if (IsA(rawreq, SupportRequestCost))
	{
		SupportRequestCost *req = (SupportRequestCost *) rawreq;

		req->startup = 0;
		req->per_tuple = cpu_operator_cost;
		PG_RETURN_POINTER(req);
	}

	PG_RETURN_POINTER(NULL);
}

/*
 * _am_searches_arrays(am oid): whether an index access method takes
 * column = ANY (array) conditions natively, i.e. whether its indexes can
 * serve has_permission() (doctor() asks; pg_am does not show it in SQL).
 */
Datum
teamacl_am_searches_arrays(PG_FUNCTION_ARGS)
{
	Oid			amoid = PG_GETARG_OID(0);
	IndexAmRoutine *routine = GetIndexAmRoutineByAmId(amoid, true);
	bool		result;

	if (routine == NULL)
		PG_RETURN_BOOL(false);
	result = routine->amsearcharray;
	pfree(routine);
	PG_RETURN_BOOL(result);
}
