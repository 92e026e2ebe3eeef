/*-------------------------------------------------------------------------
 *
 * prune.c
 *	  Citus: a protected query reaches only the shards of the user's teams.
 *
 * Citus prunes shards from the query's own conditions on the distribution
 * column; it ignores row-level-security quals and does not evaluate
 * teams_with() before pruning.  So on the coordinator, before Citus plans,
 * a query reading a protected table distributed by its team column gets
 * the condition its policy implies, with the user's teams as a constant:
 *
 *		team_column = ANY ('{the teams where the user holds the permission}')
 *
 * It changes no answer (every row it removes, the shard's policy removes
 * too) and lets Citus send the query to the shards of those teams only.
 * Added only where that holds: a table whose permissive policies for the
 * command are exactly teamacl's, scanned in the query's inner joins (not
 * the nullable side of an outer join), without an equality on the team
 * column already (Citus routes that by itself, on its fast path).
 *
 * A plan carrying a user's teams must not outlive them.  The plan lists
 * teamacl's tables among its relations, so a change to memberships, roles
 * or permissions invalidates it like a change to a table it reads.  A plan
 * Postgres may reuse for a later execution (a prepared statement's generic
 * plan) must not serve another user either: when the identity comes from
 * set_user() or set_api_key(), a change of identity invalidates this
 * backend's cached pruned plans (they list a marker relation); other
 * identities (a JWT, a header key) change without teamacl seeing it, so
 * for them only plans made for one execution (custom plans, with their
 * parameters) are pruned.
 *
 * Copyright (c) 2026, teamacl developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/planner.h"
#include "parser/parsetree.h"
#include "parser/parse_func.h"
#if PG_VERSION_NUM >= 160000
#include "parser/parse_relation.h"
#endif
#include "rewrite/rowsecurity.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/plancache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "storage/sinval.h"
#include "catalog/namespace.h"
#include "miscadmin.h"

#include "teamacl.h"

static planner_hook_type prev_planner = NULL;

/* What Citus records of a table (pg_dist_partition), cached per backend. */
typedef struct DistSlot
{
	Oid			relid;			/* hash key */
	bool		citus_table;	/* distributed, reference or Citus local */
	AttrNumber	dist_column;	/* hash distribution column; 0: none */
} DistSlot;

static HTAB *dist_hash = NULL;

/* a pruned plan was made since pruned plans were last invalidated */
static bool pruned_plans = false;

/*
 * Every pruned plan lists this relation (teamacl.protected_tables, which
 * nothing else here watches), so they alone can be invalidated.
 */
static Oid	marker_relid = InvalidOid;

typedef struct PruneContext
{
	TeamaclUser *user;
	Oid			has_permission;
	bool		pruned;
} PruneContext;

static void
DistCallback(Datum arg, Oid relid)
{
	if (!OidIsValid(relid))
		marker_relid = InvalidOid;	/* looked up again: the extension may be new */
	if (dist_hash == NULL)
		return;
	if (!OidIsValid(relid))
	{
		HASH_SEQ_STATUS seq;
		DistSlot   *slot;

		hash_seq_init(&seq, dist_hash);
		while ((slot = hash_seq_search(&seq)) != NULL)
			hash_search(dist_hash, &slot->relid, HASH_REMOVE, NULL);
	}
	else
		hash_search(dist_hash, &relid, HASH_REMOVE, NULL);
}

/*
 * Whether relid is a Citus table, and its hash distribution column (0 when
 * it has none).  Invalidated with the table's relcache entry, which Citus
 * invalidates when it distributes or undistributes a table.
 */
bool
teamacl_citus_table(Oid relid, AttrNumber *dist_column)
{
	DistSlot   *slot;
	bool		found;
	bool		citus_table = false;
	AttrNumber	column = 0;

	if (dist_hash == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(DistSlot);
		ctl.hcxt = CacheMemoryContext;
		dist_hash = hash_create("teamacl Citus tables", 64, &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	slot = hash_search(dist_hash, &relid, HASH_FIND, NULL);
	if (slot == NULL)
	{
		Oid			argtypes[1] = {OIDOID};
		Datum		args[1] = {ObjectIdGetDatum(relid)};

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute_with_args("SELECT a.attnum FROM pg_catalog.pg_dist_partition p"
								  " LEFT JOIN pg_catalog.pg_attribute a ON p.partmethod OPERATOR(pg_catalog.=) 'h'"
								  " AND a.attrelid OPERATOR(pg_catalog.=) p.logicalrelid"
								  " AND a.attname OPERATOR(pg_catalog.=) pg_catalog.column_to_column_name(p.logicalrelid, p.partkey)"
								  " WHERE p.logicalrelid OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
								  1, argtypes, args, NULL, true, 1) == SPI_OK_SELECT &&
			SPI_processed == 1)
		{
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

			citus_table = true;
			if (!isnull)
				column = DatumGetInt16(d);
		}
		SPI_finish();
		slot = hash_search(dist_hash, &relid, HASH_ENTER, &found);
		slot->citus_table = citus_table;
		slot->dist_column = column;
	}
	if (dist_column != NULL)
		*dist_column = slot->dist_column;
	return slot->citus_table;
}

/*
 * The team column and permission of the teamacl policy a command uses on
 * a table, when teamacl's policies are the only permissive ones for it;
 * false otherwise.
 */
static bool
TeamaclPolicy(Relation rel, CmdType cmd, Oid has_permission,
			  AttrNumber *team_column, text **permission)
{
	ListCell   *lc;
	char		polcmd = cmd == CMD_UPDATE ? ACL_UPDATE_CHR :
		cmd == CMD_DELETE ? ACL_DELETE_CHR : ACL_SELECT_CHR;
	const char *name = cmd == CMD_UPDATE ? "teamacl_update" :
		cmd == CMD_DELETE ? "teamacl_delete" : "teamacl_select";
	bool		seen = false;

	if (rel->rd_rsdesc == NULL || !rel->rd_rel->relrowsecurity)
		return false;
	foreach(lc, rel->rd_rsdesc->policies)
	{
		RowSecurityPolicy *p = lfirst(lc);
		FuncExpr   *f;
		Node	   *col;
		Node	   *perm;

		if (!p->permissive || (p->polcmd != '*' && p->polcmd != polcmd))
			continue;
		if (strcmp(p->policy_name, name) != 0 || p->qual == NULL ||
			!IsA(p->qual, FuncExpr))
			return false;		/* another permissive policy: rows it allows */
		f = (FuncExpr *) p->qual;
		if (f->funcid != has_permission || list_length(f->args) != 2)
			return false;
		col = linitial(f->args);
		perm = lsecond(f->args);
		if (!IsA(col, Var) || !IsA(perm, Const) || ((Const *) perm)->constisnull)
			return false;
		*team_column = ((Var *) col)->varattno;
		*permission = DatumGetTextPP(((Const *) perm)->constvalue);
		seen = true;
	}
	return seen;
}

static bool
IsColumn(Node *n, int rtindex, AttrNumber column)
{
	return IsA(n, Var) && ((Var *) n)->varno == rtindex &&
		((Var *) n)->varattno == column && ((Var *) n)->varlevelsup == 0;
}

/*
 * Does rtindex.column already have a top-level condition that makes ours
 * useless: an equality (Citus routes it by itself, on its fast path), or
 * the condition an earlier pass added (Citus plans some queries again, from
 * the query this hook already changed)?
 */
static bool
AlreadyRestricted(Node *quals, int rtindex, AttrNumber column)
{
	ListCell   *lc;

	if (quals == NULL)
		return false;
	foreach(lc, make_ands_implicit((Expr *) quals))
	{
		Node	   *n = lfirst(lc);
		Node	   *left;
		Node	   *right;
		bool		array;

		if (IsA(n, Const) && ((Const *) n)->consttype == BOOLOID &&
			!((Const *) n)->constisnull && !DatumGetBool(((Const *) n)->constvalue))
			return true;
		if (!teamacl_uuid_equality(n, &left, &right, &array))
			continue;
		if (array ? IsColumn(left, rtindex, column) && IsA(right, Const) :
			IsColumn(left, rtindex, column) || IsColumn(right, rtindex, column))
			return true;
	}
	return false;
}

/* The range table indexes a query scans in its inner joins. */
static void
InnerRelations(Node *node, Bitmapset **rels)
{
	if (node == NULL)
		return;
	if (IsA(node, RangeTblRef))
		*rels = bms_add_member(*rels, ((RangeTblRef *) node)->rtindex);
	else if (IsA(node, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) node)->fromlist)
			InnerRelations(lfirst(lc), rels);
	}
	else if (IsA(node, JoinExpr))
	{
		JoinExpr   *j = (JoinExpr *) node;

		if (j->jointype == JOIN_INNER)
		{
			InnerRelations(j->larg, rels);
			InnerRelations(j->rarg, rels);
		}
		else if (j->jointype == JOIN_LEFT)
			InnerRelations(j->larg, rels);
		else if (j->jointype == JOIN_RIGHT)
			InnerRelations(j->rarg, rels);
	}
}

/* The role a relation is read as (a view's owner, or the current user). */
static Oid
RteCheckAsUser(Query *q, RangeTblEntry *rte)
{
#if PG_VERSION_NUM >= 160000
	/* 16 moved permission checks out of the range table */
	if (rte->perminfoindex != 0)
		return getRTEPermissionInfo(q->rteperminfos, rte)->checkAsUser;
	return InvalidOid;
#else
	return rte->checkAsUser;
#endif
}

static void
PruneQuery(Query *q, PruneContext *ctx)
{
	Bitmapset  *rels = NULL;
	int			rtindex = -1;

	if (q->commandType != CMD_SELECT && q->commandType != CMD_UPDATE &&
		q->commandType != CMD_DELETE)
		return;
	InnerRelations((Node *) q->jointree, &rels);
	while ((rtindex = bms_next_member(rels, rtindex)) >= 0)
	{
		RangeTblEntry *rte = rt_fetch(rtindex, q->rtable);
		CmdType		cmd = rtindex == q->resultRelation ? q->commandType : CMD_SELECT;
		Relation	rel;
		AttrNumber	team_column = 0;
		AttrNumber	dist_column;
		text	   *permission = NULL;
		bool		ok;
		int			bit;
		Datum		teams;
		Var		   *var;
		ScalarArrayOpExpr *saop;

		if (rte->rtekind != RTE_RELATION ||
			(rte->relkind != RELKIND_RELATION && rte->relkind != RELKIND_PARTITIONED_TABLE))
			continue;
		/* the condition is implied only where the policies apply */
		if (check_enable_rls(rte->relid, RteCheckAsUser(q, rte), true) != RLS_ENABLED)
			continue;
		rel = table_open(rte->relid, NoLock);
		ok = TeamaclPolicy(rel, cmd, ctx->has_permission, &team_column, &permission);
		table_close(rel, NoLock);
		if (!ok || !teamacl_citus_table(rte->relid, &dist_column) ||
			dist_column != team_column ||
			AlreadyRestricted(q->jointree->quals, rtindex, team_column))
			continue;

		bit = ctx->user == NULL ? -1 :
			teamacl_permission_bit(VARDATA_ANY(permission), VARSIZE_ANY_EXHDR(permission), true);
		teams = bit < 0 ? (Datum) 0 : teamacl_user_teams_with(ctx->user, bit);
		if (teams == (Datum) 0 || ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(teams)),
												 ARR_DIMS(DatumGetArrayTypeP(teams))) == 0)
		{
			/* no team: no shard (Citus does not prune an empty list) */
			q->jointree->quals = (Node *) make_and_qual(q->jointree->quals,
														makeBoolConst(false, false));
		}
		else
		{
			var = makeVar(rtindex, team_column, UUIDOID, -1, InvalidOid, 0);
			saop = makeNode(ScalarArrayOpExpr);
			saop->opno = teamacl_uuid_eq_operator();
			saop->opfuncid = get_opcode(saop->opno);
			saop->useOr = true;
			saop->inputcollid = InvalidOid;
			saop->args = list_make2(var, makeConst(UUIDARRAYOID, -1, InvalidOid, -1,
												   teams, false, false));
			saop->location = -1;
			q->jointree->quals = (Node *) make_and_qual(q->jointree->quals, (Node *) saop);
		}
		ctx->pruned = true;
	}
}

static bool
PruneWalker(Node *node, PruneContext *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *q = (Query *) node;

		PruneQuery(q, ctx);
		return query_tree_walker(q, PruneWalker, ctx, 0);
	}
	return expression_tree_walker(node, PruneWalker, ctx);
}

static Oid
HasPermissionOid(void)
{
	static Oid	oid = InvalidOid;

	if (!OidIsValid(oid))
	{
		Oid			argtypes[2] = {UUIDOID, TEXTOID};

		oid = LookupFuncName(list_make2(makeString("teamacl"), makeString("has_permission")),
							 2, argtypes, true);
	}
	return oid;
}

static PlannedStmt *
TeamaclPlanner(Query *parse, const char *query_string, int cursorOptions,
			   ParamListInfo boundParams)
{
	PruneContext ctx;
	PlannedStmt *result;

	memset(&ctx, 0, sizeof(ctx));
	if (teamacl_citus_coordinator() &&
		(boundParams != NULL || teamacl_identity_watched()))
	{
		ctx.has_permission = HasPermissionOid();
		if (OidIsValid(ctx.has_permission))
		{
			teamacl_cache_begin();
			ctx.user = teamacl_current_user();
			(void) PruneWalker((Node *) parse, &ctx);
		}
	}

	if (prev_planner)
		result = prev_planner(parse, query_string, cursorOptions, boundParams);
	else
		result = standard_planner(parse, query_string, cursorOptions, boundParams);

	if (ctx.pruned)
	{
		/* the plan holds the user's teams: it goes stale with them */
		Oid			relids[16];
		int			n = teamacl_cache_relations(relids, lengthof(relids));
		int			i;

		for (i = 0; i < n; i++)
			result->relationOids = lappend_oid(result->relationOids, relids[i]);
		if (!OidIsValid(marker_relid))
			marker_relid = get_relname_relid("protected_tables",
											 get_namespace_oid("teamacl", true));
		if (OidIsValid(marker_relid))
			result->relationOids = lappend_oid(result->relationOids, marker_relid);
		if (boundParams == NULL)
			pruned_plans = true;
	}
	return result;
}

/*
 * When teamacl.identity changes (set_user(), set_api_key(), and their end
 * with the transaction): a cached plan pruned for the previous identity
 * must not serve the next one.  Only plans that list the marker are
 * invalidated, through a relcache invalidation of it run in this backend
 * alone (the plan cache's own callback drops them).
 */
void
teamacl_prune_identity_changed(void)
{
	SharedInvalidationMessage msg;

	if (!pruned_plans)
		return;
	pruned_plans = false;
	if (!OidIsValid(marker_relid))
	{
		ResetPlanCache();
		return;
	}
	memset(&msg, 0, sizeof(msg));
	msg.rc.id = SHAREDINVALRELCACHE_ID;
	msg.rc.dbId = MyDatabaseId;
	msg.rc.relId = marker_relid;
	LocalExecuteInvalidationMessage(&msg);
}

void
teamacl_prune_init(void)
{
	prev_planner = planner_hook;
	planner_hook = TeamaclPlanner;
	CacheRegisterRelcacheCallback(DistCallback, (Datum) 0);
}
