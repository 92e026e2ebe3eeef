/*-------------------------------------------------------------------------
 *
 * teamacl.c
 *	  Module initialisation: settings, cache callbacks and the executor
 *	  hook that marks statement boundaries for the cache.
 *
 * Copyright (c) 2026, teamacl developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "fmgr.h"
#include "utils/guc.h"

#include "teamacl.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

int			teamacl_cache_size = 1000;
static int	teamacl_max_owned_teams = -1;
static int	teamacl_invitation_validity = 7 * 24 * 60;
static int	teamacl_password_min_length = 8;
static bool teamacl_password_require_mix = true;
static int	teamacl_password_bcrypt_cost = 10;
static int	teamacl_api_key_validity = 90 * 24 * 60;
bool		teamacl_api_key_header = false;

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/* teamacl.api_key_validity: a positive validity, or -1 for none */
static bool
CheckApiKeyValidity(int *newval, void **extra, GucSource source)
{
	if (*newval == 0)
	{
		GUC_check_errdetail("Use a positive validity, or -1 to let keys made without one never expire.");
		return false;
	}
	return true;
}

static void
TeamaclExecutorStart(QueryDesc *queryDesc, int eflags)
{
	teamacl_statement_start();
	/* Citus: the workers must know who is asking before the plan starts */
	teamacl_citus_executor_start(queryDesc->plannedstmt);
	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);
}

static void
TeamaclProcessUtility(PlannedStmt *pstmt, const char *queryString,
					  bool readOnlyTree, ProcessUtilityContext context,
					  ParamListInfo params, QueryEnvironment *queryEnv,
					  DestReceiver *dest, QueryCompletion *qc)
{
	/*
	 * COMMIT PREPARED makes another transaction's changes visible, maybe
	 * changes to teamacl's tables: the shared cache must learn of it at
	 * this transaction's commit, as of any transaction that wrote them.
	 */
	if (IsA(pstmt->utilityStmt, TransactionStmt) &&
		((TransactionStmt *) pstmt->utilityStmt)->kind == TRANS_STMT_COMMIT_PREPARED)
		teamacl_shared_wrote();
	/* Citus: COPY of a protected distributed table goes through a query */
	pstmt = teamacl_citus_utility(pstmt, &readOnlyTree);
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
							params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

void
_PG_init(void)
{
	teamacl_identity_init();

	DefineCustomIntVariable("teamacl.cache_size",
							"Maximum number of users whose memberships a backend caches.",
							"Least recently used entries are dropped beyond it.",
							&teamacl_cache_size,
							1000, 1, 1000000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("teamacl.max_owned_teams",
							"Maximum number of teams one user may own, personal account not counted.",
							"-1 means unlimited.",
							&teamacl_max_owned_teams,
							-1, -1, INT_MAX,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("teamacl.invitation_validity",
							"How long invitations and transfer tokens stay valid unless the team or the call says otherwise.",
							NULL,
							&teamacl_invitation_validity,
							7 * 24 * 60, 1, 365 * 24 * 60,
							PGC_SUSET, GUC_UNIT_MIN,
							NULL, NULL, NULL);

	DefineCustomIntVariable("teamacl.password_min_length",
							"Minimum length of passwords set through teamacl.",
							NULL,
							&teamacl_password_min_length,
							8, 1, 72,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("teamacl.password_require_mix",
							 "Whether passwords must mix letters, digits and special characters.",
							 NULL,
							 &teamacl_password_require_mix,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("teamacl.password_bcrypt_cost",
							"bcrypt cost (log2 of rounds) for password hashes.",
							NULL,
							&teamacl_password_bcrypt_cost,
							10, 4, 31,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("teamacl.api_key_validity",
							"How long API keys stay valid unless create_api_key() says otherwise.",
							"-1 lets keys made without a validity never expire.",
							&teamacl_api_key_validity,
							90 * 24 * 60, -1, INT_MAX,
							PGC_SUSET, GUC_UNIT_MIN,
							CheckApiKeyValidity, NULL, NULL);

	DefineCustomBoolVariable("teamacl.api_key_header",
							 "Take an API key from the Authorization header in request.headers (PostgREST) when nothing else identified the request.",
							 "Only for databases whose SQL all comes through PostgREST: any role can set request.headers.",
							 &teamacl_api_key_header,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	teamacl_shared_init();
	teamacl_citus_init();
	teamacl_prune_init();

	MarkGUCPrefixReserved("teamacl");

	teamacl_cache_init();

	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = TeamaclExecutorStart;
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = TeamaclProcessUtility;
}
