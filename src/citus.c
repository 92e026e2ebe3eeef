/*-------------------------------------------------------------------------
 *
 * citus.c
 *	  Citus: the coordinator decides, the workers answer from what it sent.
 *
 * teamacl's tables and cache live on the coordinator.  A table distributed
 * with Citus is read and written on the workers, under the policies Citus
 * copied onto each shard, where there are no memberships and no identity.
 * So before a statement whose plan reaches the workers, the coordinator
 * sends what a worker needs to answer has_permission() and the other
 * checks for that statement: the identified user, the user's teams with
 * their effective permissions, and the coordinator's permission names.
 * It travels as the setting teamacl.context, set with SET LOCAL (Citus
 * propagates SET LOCAL to every worker connection of the transaction when
 * citus.propagate_set_commands = 'local', also to connections it opens
 * later), and it is sent again whenever what it says changes, so a change
 * committed before a statement starts is seen by that statement on every
 * worker.
 *
 * Nobody else can make one.  The value is
 *
 *		v1.<payload>.<base64 HMAC-SHA256(cluster key, "v1.<payload>")>
 *
 * with the key in teamacl.cluster_key (the same on every node, readable by
 * superusers only).  A worker checks the MAC when the value is set (a value
 * that does not verify is refused: the SET, and so the distributed
 * transaction, fails), and believes it only for the database role the
 * coordinator was running as (the role Citus connects as) and until it
 * expires (teamacl.context_lifetime).  A value without a valid MAC, for
 * another role, or out of date grants nothing.
 *
 * What the coordinator last sent is compared with the setting's current
 * value, not remembered in C: when a savepoint is rolled back the setting
 * goes back on the coordinator and on the workers alike, and the next
 * statement sends again whatever differs.
 *
 * Copyright (c) 2026, teamacl developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace_d.h"
#include "common/base64.h"
#include "common/cryptohash.h"
#include "common/hmac.h"
#include "common/sha2.h"
#include "tcop/dest.h"
#include "tcop/utility.h"
#include "miscadmin.h"
#include "nodes/extensible.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/rls.h"
#include "utils/timestamp.h"

#include "teamacl.h"

PG_FUNCTION_INFO_V1(teamacl_cluster_key_fingerprint);

/* Settings */
static char *cluster_key = NULL;
static char *context_value = NULL;
static int	context_lifetime = 60;

/* Shortest cluster key accepted, in bytes. */
#define MIN_KEY_LEN		32
#define MAC_LEN			PG_SHA256_DIGEST_LENGTH

/*
 * What this node is to Citus.  Found once per backend (Citus records it in
 * pg_dist_local_group: group 0 is the coordinator), forgotten when that
 * table is invalidated.
 */
typedef enum NodeKind
{
	NODE_UNKNOWN = 0,
	NODE_SINGLE,				/* no Citus in this database */
	NODE_COORDINATOR,
	NODE_WORKER
} NodeKind;

static NodeKind node_kind = NODE_UNKNOWN;
static Oid	local_group_relid = InvalidOid;
static int	citus_loaded = -1;	/* -1: not looked yet */

/* set when the context or the node kind may have changed */
bool		teamacl_citus_pending = true;

/* this node is a Citus worker: checks answer from the context alone */
bool		teamacl_on_worker = false;

/* The verified payload of teamacl.context: the check hook's extra. */
typedef struct ContextExtra
{
	int			len;
	char		payload[FLEXIBLE_ARRAY_MEMBER];
} ContextExtra;

static ContextExtra *context_extra = NULL;
static bool context_changed = false;

/* the last value the check hook verified, its payload and the key then */
static char *last_value = NULL;
static char *last_key = NULL;
static ContextExtra *last_extra = NULL;

/*
 * The context in force on a worker, parsed.  The user lives in
 * ContextMemory, rebuilt when a new value is set; the permission names in
 * DictMemory, rebuilt only when they change, so a call site's resolved
 * permission stays valid across transactions.
 */
static MemoryContext ContextMemory = NULL;
static MemoryContext DictMemory = NULL;
static bool context_usable = false;
static TeamaclUser context_user;
static bool context_has_key = false;
static pg_uuid_t context_key;
static Oid	context_role = InvalidOid;
static TimestampTz context_expires = 0;
static int	dict_count = 0;
static char **dict_names = NULL;
static char *dict_text = NULL;
static uint64 dict_epoch = 0;

/* On the coordinator: the last value sent, and what it said. */
static char *sent_value = NULL;
static char *sent_body = NULL;
static TimestampTz sent_refresh = 0;

static void
InvalidContext(void)
{
	GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
	GUC_check_errmsg("invalid value for teamacl.context");
	GUC_check_errdetail("Only teamacl sets teamacl.context, signed with the teamacl.cluster_key of the cluster's nodes.");
}

/* HMAC-SHA256 of data under the cluster key. */
static bool
ComputeMac(const char *data, int len, uint8 *mac)
{
	pg_hmac_ctx *ctx = pg_hmac_create(PG_SHA256);
	bool		ok;

	if (ctx == NULL)
		return false;
	ok = pg_hmac_init(ctx, (const uint8 *) cluster_key, strlen(cluster_key)) == 0 &&
		pg_hmac_update(ctx, (const uint8 *) data, len) == 0 &&
		pg_hmac_final(ctx, mac, MAC_LEN) == 0;
	pg_hmac_free(ctx);
	return ok;
}

/* teamacl.cluster_key: empty (no cluster), or a secret of 32 bytes or more */
static bool
CheckClusterKey(char **newval, void **extra, GucSource source)
{
	if (*newval != NULL && (*newval)[0] != '\0' && strlen(*newval) < MIN_KEY_LEN)
	{
		GUC_check_errdetail("A cluster key must be at least %d bytes long.", MIN_KEY_LEN);
		GUC_check_errhint("Make one with: openssl rand -base64 48");
		return false;
	}
	return true;
}

/* Keep a copy of a verified value, its payload and the key it verified under. */
static void
RememberVerified(const char *value, const ContextExtra *x)
{
	Size		size = offsetof(ContextExtra, payload) + x->len + 1;
	char	   *v = malloc(strlen(value) + 1);
	char	   *k = malloc(strlen(cluster_key) + 1);
	ContextExtra *e = malloc(size);

	free(last_value);
	free(last_key);
	free(last_extra);
	last_value = v;
	last_key = k;
	last_extra = e;
	if (v == NULL || k == NULL || e == NULL)
	{
		free(v);
		free(k);
		free(e);
		last_value = last_key = NULL;
		last_extra = NULL;
		return;
	}
	strcpy(v, value);
	strcpy(k, cluster_key);
	memcpy(e, x, size);
}

/*
 * teamacl.context: empty, or a value whose MAC verifies under this node's
 * cluster key.  Role binding and expiry are checked where it is used.
 */
static bool
CheckContext(char **newval, void **extra, GucSource source)
{
	const char *v = *newval;
	const char *dot;
	const char *mac_text;
	char		given[MAC_LEN + 8];
	uint8		mac[MAC_LEN];
	int			mac_len;
	int			plen;
	ContextExtra *x;

	if (v == NULL || v[0] == '\0')
		return true;
	if (cluster_key == NULL || cluster_key[0] == '\0')
	{
		GUC_check_errcode(ERRCODE_INSUFFICIENT_PRIVILEGE);
		GUC_check_errmsg("teamacl.context cannot be verified on this node");
		GUC_check_errdetail("teamacl.cluster_key is not set.");
		GUC_check_errhint("Set the same teamacl.cluster_key on every node of the Citus cluster.");
		return false;
	}
	/* the hash functions need a resource owner (OpenSSL builds) */
	if (CurrentResourceOwner == NULL)
	{
		InvalidContext();
		return false;
	}
	/*
	 * The value verified last, or signed last by this coordinator: a
	 * worker connection's next transaction, the coordinator's own SET.
	 */
	if (last_value != NULL && strcmp(v, last_value) == 0 &&
		strcmp(cluster_key, last_key) == 0)
	{
		Size		size = offsetof(ContextExtra, payload) + last_extra->len + 1;

		x = teamacl_guc_malloc(size);
		if (x == NULL)
			return false;
		memcpy(x, last_extra, size);
		*extra = x;
		return true;
	}
	dot = strrchr(v, '.');
	if (strncmp(v, "v1.", 3) != 0 || dot == NULL || dot < v + 3)
	{
		InvalidContext();
		return false;
	}
	mac_text = dot + 1;
	mac_len = strlen(mac_text);
	if (pg_b64_dec_len(mac_len) > (int) sizeof(given) ||
		pg_b64_decode(mac_text, mac_len, (void *) given, sizeof(given)) != MAC_LEN ||
		!ComputeMac(v, dot - v, mac) ||
		timingsafe_bcmp(mac, given, MAC_LEN) != 0)
	{
		InvalidContext();
		return false;
	}
	plen = dot - (v + 3);
	x = teamacl_guc_malloc(offsetof(ContextExtra, payload) + plen + 1);
	if (x == NULL)
		return false;
	memcpy(x->payload, v + 3, plen);
	x->payload[plen] = '\0';
	x->len = plen;
	*extra = x;
	RememberVerified(v, x);
	return true;
}

static void
AssignContext(const char *newval, void *extra)
{
	context_extra = (ContextExtra *) extra;
	context_changed = true;
	teamacl_citus_pending = true;
}

static void
LocalGroupCallback(Datum arg, Oid relid)
{
	if (!OidIsValid(relid) || relid == local_group_relid)
	{
		node_kind = NODE_UNKNOWN;
		teamacl_citus_pending = true;
	}
}

void
teamacl_citus_init(void)
{
	DefineCustomStringVariable("teamacl.cluster_key",
							   "Secret shared by the nodes of a Citus cluster, to sign what the coordinator sends the workers.",
							   "Empty: teamacl passes nothing to Citus workers.  At least 32 bytes; the same on every node.",
							   &cluster_key,
							   "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL,
							   CheckClusterKey, NULL, NULL);

	DefineCustomStringVariable("teamacl.context",
							   "What a Citus worker knows of the current user; set by teamacl on the coordinator.",
							   "Never set it yourself: a value teamacl did not sign is refused.",
							   &context_value,
							   "",
							   PGC_USERSET, GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE,
							   CheckContext, AssignContext, NULL);

	DefineCustomIntVariable("teamacl.context_lifetime",
							"How long a worker believes what the coordinator sent.",
							"The coordinator sends it again after half of this within a transaction.",
							&context_lifetime,
							60, 2, 24 * 60 * 60,
							PGC_SUSET, GUC_UNIT_S,
							NULL, NULL, NULL);

	CacheRegisterRelcacheCallback(LocalGroupCallback, (Datum) 0);
}

static bool
CitusLoaded(void)
{
	if (citus_loaded < 0)
		citus_loaded = GetConfigOption("citus.propagate_set_commands", true, false) != NULL;
	return citus_loaded;
}

/* Read this node's group from pg_dist_local_group (inside a transaction). */
static NodeKind
CitusNodeKind(void)
{
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	int32		groupid = -1;

	if (node_kind != NODE_UNKNOWN)
		return node_kind;
	if (!CitusLoaded())
		return node_kind = NODE_SINGLE;

	local_group_relid = get_relname_relid("pg_dist_local_group", PG_CATALOG_NAMESPACE);
	/*
	 * Citus is loaded but not created in this database.  A CREATE
	 * EXTENSION citus later is noticed where it matters: a plan that
	 * reaches workers makes teamacl_citus_executor_start() look again.
	 */
	if (!OidIsValid(local_group_relid))
		return node_kind = NODE_SINGLE;

	rel = table_open(local_group_relid, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, 1, RelationGetDescr(rel), &isnull);

		if (!isnull)
			groupid = DatumGetInt32(d);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	node_kind = groupid == 0 ? NODE_COORDINATOR :
		groupid > 0 ? NODE_WORKER : NODE_SINGLE;
	return node_kind;
}

/* ---------------------------------------------------------------------
 * The payload
 *
 *	<issued> <expires> <user> <key or -> <nperms> <nteams>;
 *	<role name in hex>;
 *	<permission name>;				one per permission the user holds, in name order
 *	<team> <mask>;					one per team, sorted by team id
 *
 * (one line: ';' ends each part, as no part can hold one)
 *
 * Times are microseconds since the PostgreSQL epoch; a mask is hex, its
 * first digit holding bits 0-3.  Everything after the two times is the
 * body: what the coordinator compares to decide whether to send again.
 * ---------------------------------------------------------------------
 */

static void
AppendUuid(StringInfo buf, const pg_uuid_t *id)
{
	static const char hex[] = "0123456789abcdef";
	int			i;

	for (i = 0; i < UUID_LEN; i++)
	{
		appendStringInfoChar(buf, hex[id->data[i] >> 4]);
		appendStringInfoChar(buf, hex[id->data[i] & 0x0f]);
	}
}

static void
BuildBody(StringInfo buf, const TeamaclUser *user, const pg_uuid_t *key,
		  const char *role)
{
	static const char hex[] = "0123456789abcdef";
	Bitmapset  *held = NULL;
	int		   *dense;
	int			nheld;
	int			bit = -1;
	int			i;

	/*
	 * Only the permissions the user holds somewhere travel, numbered in
	 * name order among themselves: a worker needs no other name (one it
	 * does not find is one the user holds nowhere).
	 */
	for (i = 0; i < user->nteams; i++)
		held = bms_add_members(held, user->teams[i].perms);
	nheld = bms_num_members(held);
	dense = palloc(sizeof(int) * Max(teamacl_permission_count(), 1));

	AppendUuid(buf, &user->user_id);
	appendStringInfoChar(buf, ' ');
	if (key != NULL)
		AppendUuid(buf, key);
	else
		appendStringInfoChar(buf, '-');
	appendStringInfo(buf, " %d %d;", nheld, user->nteams);
	/* the role in hex: a role name may hold any character */
	for (i = 0; role[i] != '\0'; i++)
	{
		appendStringInfoChar(buf, hex[(unsigned char) role[i] >> 4]);
		appendStringInfoChar(buf, hex[(unsigned char) role[i] & 0x0f]);
	}
	appendStringInfoChar(buf, ';');
	i = 0;
	while ((bit = bms_next_member(held, bit)) >= 0)
	{
		dense[bit] = i++;
		appendStringInfoString(buf, teamacl_permission_name(bit));
		appendStringInfoChar(buf, ';');
	}
	for (i = 0; i < user->nteams; i++)
	{
		const TeamaclTeam *t = &user->teams[i];
		int			d;
		int			ndigits = Max((nheld + 3) / 4, 1);
		char		digits[64];
		char	   *v = ndigits <= (int) sizeof(digits) ? digits : palloc(ndigits);

		memset(v, 0, ndigits);
		bit = -1;
		while ((bit = bms_next_member(t->perms, bit)) >= 0)
			v[dense[bit] / 4] |= 1 << (dense[bit] % 4);
		AppendUuid(buf, &t->team_id);
		appendStringInfoChar(buf, ' ');
		for (d = 0; d < ndigits; d++)
			appendStringInfoChar(buf, hex[(int) v[d]]);
		appendStringInfoChar(buf, ';');
		if (v != digits)
			pfree(v);
	}
	pfree(dense);
	bms_free(held);
}

/*
 * Sign "v1." + payload and return the whole value.  The payload is plain
 * text of hex digits, decimal numbers, permission names, spaces and ';':
 * nothing a SQL literal must escape, so it travels as it is.
 */
static char *
SignPayload(const char *payload, int len)
{
	StringInfoData v;
	uint8		mac[MAC_LEN];
	int			n;
	char		mac_b64[MAC_LEN * 2];

	initStringInfo(&v);
	appendStringInfoString(&v, "v1.");
	appendBinaryStringInfo(&v, payload, len);
	if (!ComputeMac(v.data, v.len, mac))
		elog(ERROR, "could not sign teamacl.context");
	n = pg_b64_encode((void *) mac, MAC_LEN, mac_b64, sizeof(mac_b64) - 1);
	if (n < 0)
		elog(ERROR, "could not encode teamacl.context");
	mac_b64[n] = '\0';
	appendStringInfo(&v, ".%s", mac_b64);

	/* known good: the SET that sends it skips its verification */
	{
		ContextExtra *x = palloc(offsetof(ContextExtra, payload) + len + 1);

		x->len = len;
		memcpy(x->payload, payload, len);
		x->payload[len] = '\0';
		RememberVerified(v.data, x);
		pfree(x);
	}
	return v.data;
}

/*
 * SET LOCAL teamacl.context, through the utility path Citus propagates
 * (its hook sends the statement's text to the workers).  The statement is
 * built rather than parsed, and SignPayload() left the value among the
 * check hook's known ones, so the coordinator neither lexes nor verifies it.
 */
static void
SetContextLocal(const char *value)
{
	/* base64 and dots: nothing to quote */
	char	   *cmd = psprintf("SET LOCAL teamacl.context = '%s'", value);
	VariableSetStmt *stmt = makeNode(VariableSetStmt);
	A_Const    *arg = makeNode(A_Const);
	PlannedStmt *pstmt = makeNode(PlannedStmt);

	arg->val.sval.type = T_String;
	arg->val.sval.sval = pstrdup(value);
	arg->location = -1;
	stmt->kind = VAR_SET_VALUE;
	stmt->name = "teamacl.context";
	stmt->args = list_make1(arg);
	stmt->is_local = true;
	pstmt->commandType = CMD_UTILITY;
	pstmt->canSetTag = false;
	pstmt->utilityStmt = (Node *) stmt;
	pstmt->stmt_location = 0;
	pstmt->stmt_len = strlen(cmd);

	ProcessUtility(pstmt, cmd, false, PROCESS_UTILITY_QUERY, NULL, NULL,
				   None_Receiver, NULL);
	pfree(cmd);
}

/* Nothing sent holds any more: the next statement sends afresh. */
static void
ForgetSent(void)
{
	if (sent_value)
		pfree(sent_value);
	if (sent_body)
		pfree(sent_body);
	sent_value = sent_body = NULL;
}

/*
 * Before a statement reaches the workers: make sure they hold what they
 * need to answer for the current identity (nothing when there is none).
 */
static void
SendContext(void)
{
	TeamaclUser *user;
	pg_uuid_t	key;
	bool		has_key;
	const char *current = context_value ? context_value : "";
	StringInfoData body;
	StringInfoData payload;
	TimestampTz now;
	const char *setting;
	char	   *value;
	MemoryContext old;

	if (CitusNodeKind() != NODE_COORDINATOR)
		return;

	teamacl_cache_begin();
	user = teamacl_current_user();
	if (user == NULL)
	{
		/* clear what an earlier identity of this transaction sent */
		if (current[0] != '\0' && IsTransactionBlock())
		{
			SetContextLocal("");
			ForgetSent();
		}
		return;
	}

	if (!IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("teamacl cannot pass the identity to Citus workers outside a transaction block"),
				 errdetail("Citus sends settings to the workers only inside BEGIN ... COMMIT."),
				 errhint("Run the statement inside a transaction block, with teamacl.set_user() inside it.")));
	setting = GetConfigOption("citus.propagate_set_commands", true, false);
	if (setting == NULL || strcmp(setting, "local") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("teamacl needs citus.propagate_set_commands = 'local' on the coordinator"),
				 errdetail("Without it the identity does not reach the Citus workers."),
				 errhint("Set citus.propagate_set_commands = 'local' in postgresql.conf or with ALTER DATABASE ... SET.")));
	if (cluster_key == NULL || cluster_key[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("teamacl.cluster_key is not set"),
				 errdetail("The workers believe only what the coordinator signs with the cluster key."),
				 errhint("Set the same teamacl.cluster_key on every node and reload.")));

	has_key = teamacl_current_key(&key);
	initStringInfo(&body);
	BuildBody(&body, user, has_key ? &key : NULL,
			  GetUserNameFromId(GetUserId(), false));

	now = GetCurrentTimestamp();
	if (sent_value != NULL && strcmp(body.data, sent_body) == 0 && now < sent_refresh)
	{
		/* what was sent still says it: again, unsigned anew, if undone */
		if (strcmp(current, sent_value) != 0)
			SetContextLocal(sent_value);
		pfree(body.data);
		return;
	}

	initStringInfo(&payload);
	appendStringInfo(&payload, INT64_FORMAT " " INT64_FORMAT " %s", now,
					 now + (int64) context_lifetime * USECS_PER_SEC, body.data);
	value = SignPayload(payload.data, payload.len);
	SetContextLocal(value);

	ForgetSent();
	old = MemoryContextSwitchTo(TopMemoryContext);
	sent_value = pstrdup(value);
	sent_body = pstrdup(body.data);
	MemoryContextSwitchTo(old);
	sent_refresh = now + (int64) context_lifetime * USECS_PER_SEC / 2;
	pfree(payload.data);
	pfree(body.data);
	pfree(value);
}

/* Does a plan reach Citus workers (a Citus custom scan anywhere in it)? */
static bool
PlanReachesWorkers(Plan *plan)
{
	ListCell   *lc;

	if (plan == NULL)
		return false;
	switch (nodeTag(plan))
	{
		case T_CustomScan:
			{
				CustomScan *cs = (CustomScan *) plan;

				if (cs->methods != NULL &&
					strncmp(cs->methods->CustomName, "Citus", 5) == 0)
					return true;
				foreach(lc, cs->custom_plans)
					if (PlanReachesWorkers(lfirst(lc)))
					return true;
				break;
			}
		case T_Append:
			foreach(lc, ((Append *) plan)->appendplans)
				if (PlanReachesWorkers(lfirst(lc)))
				return true;
			break;
		case T_MergeAppend:
			foreach(lc, ((MergeAppend *) plan)->mergeplans)
				if (PlanReachesWorkers(lfirst(lc)))
				return true;
			break;
		case T_SubqueryScan:
			if (PlanReachesWorkers(((SubqueryScan *) plan)->subplan))
				return true;
			break;
		default:
			break;
	}
	return PlanReachesWorkers(plan->lefttree) ||
		PlanReachesWorkers(plan->righttree);
}

/* Is this a Citus coordinator session (prune.c plans for it)? */
bool
teamacl_citus_coordinator(void)
{
	return CitusLoaded() && !teamacl_on_worker &&
		IsTransactionState() && CitusNodeKind() == NODE_COORDINATOR;
}

/* From the ExecutorStart hook, before Citus starts the plan. */
void
teamacl_citus_executor_start(PlannedStmt *stmt)
{
	ListCell   *lc;
	bool		reaches;

	if (!CitusLoaded() || stmt == NULL)
		return;
	reaches = PlanReachesWorkers(stmt->planTree);
	foreach(lc, stmt->subplans)
		reaches = reaches || PlanReachesWorkers(lfirst(lc));
	if (reaches)
	{
		if (node_kind == NODE_SINGLE)
			node_kind = NODE_UNKNOWN;
		SendContext();
	}
}

/*
 * From the ProcessUtility hook.  Citus copies a distributed table out
 * (COPY t TO) shard by shard, on connections that may not be part of the
 * transaction, so the workers would see no context.  Under row-level
 * security COPY t TO means COPY (SELECT ... FROM t) TO anyway (PostgreSQL
 * turns it into that on one node): say so here, and Citus runs it as a
 * query, which the executor hook prepares the workers for.
 */
PlannedStmt *
teamacl_citus_utility(PlannedStmt *pstmt, bool *readOnlyTree)
{
	CopyStmt   *copy;
	Oid			relid;
	SelectStmt *select;
	ListCell   *lc;

	if (!CitusLoaded() || !IsA(pstmt->utilityStmt, CopyStmt))
		return pstmt;
	copy = (CopyStmt *) pstmt->utilityStmt;
	if (copy->is_from || copy->relation == NULL ||
		!IsTransactionState() || CitusNodeKind() != NODE_COORDINATOR)
		return pstmt;
	relid = RangeVarGetRelid(copy->relation, NoLock, true);
	if (!OidIsValid(relid) ||
		check_enable_rls(relid, InvalidOid, true) != RLS_ENABLED ||
		!teamacl_citus_table(relid, NULL))
		return pstmt;

	if (*readOnlyTree)
	{
		pstmt = copyObject(pstmt);
		*readOnlyTree = false;
	}
	copy = (CopyStmt *) pstmt->utilityStmt;
	select = makeNode(SelectStmt);
	if (copy->attlist == NIL)
	{
		ColumnRef  *cr = makeNode(ColumnRef);
		ResTarget  *rt = makeNode(ResTarget);

		cr->fields = list_make1(makeNode(A_Star));
		cr->location = -1;
		rt->val = (Node *) cr;
		rt->location = -1;
		select->targetList = list_make1(rt);
	}
	else
		foreach(lc, copy->attlist)
		{
			ColumnRef  *cr = makeNode(ColumnRef);
			ResTarget  *rt = makeNode(ResTarget);

			cr->fields = list_make1(makeString(pstrdup(strVal(lfirst(lc)))));
			cr->location = -1;
			rt->val = (Node *) cr;
			rt->location = -1;
			select->targetList = lappend(select->targetList, rt);
		}
	select->fromClause = list_make1(copyObject(copy->relation));
	copy->query = (Node *) select;
	copy->relation = NULL;
	copy->attlist = NIL;
	return pstmt;
}

/* ---------------------------------------------------------------------
 * On a worker
 * ---------------------------------------------------------------------
 */

static void
MalformedContext(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("malformed teamacl.context: %s", what),
			 errdetail("The coordinator and this worker may run different versions of teamacl.")));
}

static int
HexDigit(char c)
{
	return (c >= '0' && c <= '9') ? c - '0' :
		(c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

static const char *
ParseUuidAt(const char *p, pg_uuid_t *id)
{
	int			i;

	for (i = 0; i < UUID_LEN; i++)
	{
		int			hi,
					lo;

		hi = (p[0] >= '0' && p[0] <= '9') ? p[0] - '0' :
			(p[0] >= 'a' && p[0] <= 'f') ? p[0] - 'a' + 10 : -1;
		lo = hi < 0 ? -1 : (p[1] >= '0' && p[1] <= '9') ? p[1] - '0' :
			(p[1] >= 'a' && p[1] <= 'f') ? p[1] - 'a' + 10 : -1;
		if (hi < 0 || lo < 0)
			MalformedContext("bad identifier");
		id->data[i] = (hi << 4) | lo;
		p += 2;
	}
	return p;
}

static const char *
Expect(const char *p, char c)
{
	if (*p != c)
		MalformedContext("unexpected character");
	return p + 1;
}

static int
TeamCmp(const void *a, const void *b)
{
	return memcmp(&((const TeamaclTeam *) a)->team_id,
				  &((const TeamaclTeam *) b)->team_id, UUID_LEN);
}

/* Parse the verified payload into the worker's context user. */
static void
AdoptContext(void)
{
	const char *p = context_extra->payload;
	char	   *end;
	int64		issued;
	int			nperms,
				nteams,
				rolelen,
				i;
	const char *dict_start;
	MemoryContext old;
	char	   *role;

	if (ContextMemory == NULL)
	{
		ContextMemory = AllocSetContextCreate(TopMemoryContext, "teamacl context",
											  ALLOCSET_SMALL_SIZES);
		DictMemory = AllocSetContextCreate(TopMemoryContext, "teamacl context names",
										   ALLOCSET_SMALL_SIZES);
	}
	MemoryContextReset(ContextMemory);
	memset(&context_user, 0, sizeof(context_user));
	context_usable = false;

	issued = strtoi64(p, &end, 10);
	if (end == p || issued <= 0)
		MalformedContext("bad time");
	p = Expect(end, ' ');
	context_expires = strtoi64(p, &end, 10);
	if (end == p)
		MalformedContext("bad time");
	p = Expect(end, ' ');
	p = ParseUuidAt(p, &context_user.user_id);
	p = Expect(p, ' ');
	if (*p == '-')
	{
		context_has_key = false;
		p++;
	}
	else
	{
		context_has_key = true;
		p = ParseUuidAt(p, &context_key);
	}
	p = Expect(p, ' ');
	nperms = strtol(p, &end, 10);
	if (end == p || nperms < 0 || nperms > 100000)
		MalformedContext("bad count");
	p = Expect(end, ' ');
	nteams = strtol(p, &end, 10);
	if (end == p || nteams < 0 || nteams > 10000000)
		MalformedContext("bad count");
	p = Expect(end, ';');
	{
		const char *nl = strchr(p, ';');
		int			hexlen = nl ? nl - p : 0;

		rolelen = hexlen / 2;
		if (nl == NULL || hexlen % 2 != 0 || rolelen <= 0 || rolelen >= NAMEDATALEN)
			MalformedContext("bad role");
		role = palloc(rolelen + 1);
		for (i = 0; i < rolelen; i++)
		{
			int			hi = HexDigit(p[2 * i]);
			int			lo = HexDigit(p[2 * i + 1]);

			if (hi < 0 || lo < 0)
				MalformedContext("bad role");
			role[i] = (char) ((hi << 4) | lo);
		}
		role[rolelen] = '\0';
		if (strlen(role) != (size_t) rolelen)
			MalformedContext("bad role");
		p = nl + 1;
	}

	/* the permission names: rebuilt only when they differ */
	dict_start = p;
	for (i = 0; i < nperms; i++)
	{
		const char *nl = strchr(p, ';');

		if (nl == NULL || nl == p || nl - p > TEAMACL_MAX_NAME)
			MalformedContext("bad permission name");
		p = nl + 1;
	}
	if (dict_text == NULL || dict_count != nperms ||
		strncmp(dict_text, dict_start, p - dict_start) != 0 ||
		dict_text[p - dict_start] != '\0')
	{
		const char *q = dict_start;

		MemoryContextReset(DictMemory);
		old = MemoryContextSwitchTo(DictMemory);
		dict_text = pnstrdup(dict_start, p - dict_start);
		dict_names = palloc(sizeof(char *) * Max(nperms, 1));
		for (i = 0; i < nperms; i++)
		{
			const char *nl = strchr(q, ';');

			dict_names[i] = pnstrdup(q, nl - q);
			q = nl + 1;
		}
		dict_count = nperms;
		dict_epoch++;
		MemoryContextSwitchTo(old);
	}

	old = MemoryContextSwitchTo(ContextMemory);
	context_user.exists = true;
	context_user.registered = true;
	context_user.nteams = nteams;
	context_user.teams = palloc0(sizeof(TeamaclTeam) * Max(nteams, 1));
	context_user.arrays = ContextMemory;
	for (i = 0; i < nteams; i++)
	{
		TeamaclTeam *t = &context_user.teams[i];
		int			d;

		p = ParseUuidAt(p, &t->team_id);
		p = Expect(p, ' ');
		for (d = 0; *p != ';'; d++, p++)
		{
			int			v = (*p >= '0' && *p <= '9') ? *p - '0' :
				(*p >= 'a' && *p <= 'f') ? *p - 'a' + 10 : -1;
			int			b;

			if (v < 0)
				MalformedContext("bad mask");
			for (b = 0; b < 4; b++)
				if ((v & (1 << b)) && d * 4 + b < nperms)
					t->perms = bms_add_member(t->perms, d * 4 + b);
		}
		p++;
	}
	if (*p != '\0')
		MalformedContext("trailing data");
	MemoryContextSwitchTo(old);
	qsort(context_user.teams, nteams, sizeof(TeamaclTeam), TeamCmp);

	/* believed only for the role the coordinator was running as */
	context_role = get_role_oid(role, true);
	context_usable = OidIsValid(context_role);
	pfree(role);
}

/*
 * A connection Citus opened to this node for a distributed statement (its
 * application_name says so).  On the coordinator such a session reads the
 * local tables a statement joins with its distributed ones, for a session
 * whose identity is on the other end: it answers from the context, like a
 * worker.  Naming a session so only takes its own identity away.
 */
static bool
CitusInternalSession(void)
{
	return application_name != NULL &&
		strncmp(application_name, "citus_internal", 14) == 0;
}

/*
 * From teamacl_cache_begin() when the context or the node may have
 * changed: find what this node is, and on a worker take in the context.
 */
void
teamacl_citus_refresh(void)
{
	bool		was_worker = teamacl_on_worker;

	if (!CitusLoaded())
	{
		teamacl_citus_pending = false;
		teamacl_on_worker = false;
		return;
	}
	/* the node's group is read from a table: wait for a transaction */
	if (!IsTransactionState())
		return;
	teamacl_citus_pending = false;
	teamacl_on_worker = CitusNodeKind() == NODE_WORKER ||
		(node_kind == NODE_COORDINATOR && CitusInternalSession());
	if (context_changed || teamacl_on_worker != was_worker)
	{
		/* an unreadable context grants nothing from here on */
		context_changed = false;
		context_usable = false;
		if (teamacl_on_worker && context_extra != NULL)
			AdoptContext();
	}
}

/*
 * The user the context speaks for, or NULL.  The role compared is the one
 * outside SECURITY DEFINER functions: the role this session logged in as
 * (or SET ROLE to), which is the role Citus connected as.
 */
TeamaclUser *
teamacl_context_user(void)
{
	if (!context_usable || GetOuterUserId() != context_role ||
		GetCurrentStatementStartTimestamp() >= context_expires)
		return NULL;
	return &context_user;
}

bool
teamacl_context_key(pg_uuid_t *key_id)
{
	if (teamacl_context_user() == NULL || !context_has_key)
		return false;
	*key_id = context_key;
	return true;
}

/*
 * Permission names on a worker are those the context lists: the ones the
 * user holds somewhere, numbered among themselves.  Any other name, and
 * every name without a usable context, maps to nothing (-1), which the
 * checks answer with "not held".  (So on a worker a misspelt name in a
 * hand-written policy grants nothing rather than raising an error; the
 * coordinator's protect() checks the names it writes.)
 */
int
teamacl_context_permission_bit(const char *name, int len)
{
	int			i;

	if (context_usable)
		for (i = 0; i < dict_count; i++)
			if (strncmp(dict_names[i], name, len) == 0 && dict_names[i][len] == '\0')
				return i;
	return -1;
}

int
teamacl_context_permission_count(void)
{
	return context_usable ? dict_count : 0;
}

const char *
teamacl_context_permission_name(int bit)
{
	Assert(bit >= 0 && bit < dict_count);
	return dict_names[bit];
}

/* Call sites cache resolved names per generation: the names' own epoch. */
uint64
teamacl_context_generation(void)
{
	return (UINT64CONST(1) << 63) | (dict_epoch << 1) | (context_usable ? 1 : 0);
}

/*
 * _cluster_key_fingerprint(): the first 8 bytes of SHA-256 of the cluster
 * key, in hex, so doctor() can compare the nodes' keys without showing
 * them; NULL when none is set.
 */
Datum
teamacl_cluster_key_fingerprint(PG_FUNCTION_ARGS)
{
	pg_cryptohash_ctx *ctx;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	char		hex[17];
	int			i;

	if (cluster_key == NULL || cluster_key[0] == '\0')
		PG_RETURN_NULL();
	ctx = pg_cryptohash_create(PG_SHA256);
	if (ctx == NULL || pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (const uint8 *) cluster_key, strlen(cluster_key)) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute the cluster key's fingerprint");
	pg_cryptohash_free(ctx);
	for (i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	PG_RETURN_TEXT_P(cstring_to_text(hex));
}
