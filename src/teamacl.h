/*-------------------------------------------------------------------------
 *
 * teamacl.h
 *	  Declarations shared by the teamacl C sources.
 *
 * teamacl keeps teams, roles and memberships in tables of its own schema
 * and answers permission checks from a backend-local cache.  The sources
 * are split by concern:
 *
 *	teamacl.c	module initialisation: settings and hooks
 *	identity.c	who is asking (set_user, login-role mapping)
 *	cache.c		the backend-local cache and its invalidation
 *	shared.c	the cache of memberships shared by all backends
 *	check.c		the SQL-callable permission checks
 *	apikey.c	API keys: a key's creator, restricted to the key's team and role
 *	token.c		random tokens and their SHA-256
 *	citus.c		Citus: what the coordinator sends the workers, signed
 *	prune.c		Citus: conditions that reach only the user's teams' shards
 *
 * Copyright (c) 2026, teamacl developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef TEAMACL_H
#define TEAMACL_H

#include "postgres.h"

#include "compat.h"
#include "fmgr.h"
#include "lib/ilist.h"
#include "nodes/bitmapset.h"
#include "nodes/plannodes.h"
#include "utils/snapshot.h"
#include "utils/uuid.h"

/* Longest permission or role name, in bytes (the tables' CHECK agrees). */
#define TEAMACL_MAX_NAME	63

/* Settings (teamacl.c) */
extern int	teamacl_cache_size;
extern bool teamacl_api_key_header;

/* One team a cached user belongs to. */
typedef struct TeamaclTeam
{
	pg_uuid_t	team_id;
	Bitmapset  *perms;			/* effective permissions; NULL when none */
} TeamaclTeam;

/*
 * One membership as loaded from the tables (and as the shared cache holds
 * it): the role, not what it permits, which the catalogue says.
 */
typedef struct TeamaclMember
{
	pg_uuid_t	team_id;
	pg_uuid_t	role_id;
	bool		blocked;		/* grants nothing: the team requires secure
								 * sign-in, or (before 0.4) is not there */
} TeamaclMember;

/*
 * Memberships held inside a user entry; more are allocated separately.
 * Seven also keeps a user hash element (entry plus dynahash's header) over
 * 256 bytes: dynahash then allocates elements in batches of about 16 kB,
 * which palloc gives blocks of their exact size.  With six (240 bytes) the
 * batches were 8 kB, rounded up into doubling blocks, and a full cache took
 * 1.7 times the memory.
 */
#define TEAMACL_INLINE_TEAMS	7

/*
 * The cached view of one user: identity facts and memberships.  Entries
 * are fixed-size hash elements: a miss at a full cache recycles the evicted
 * element and, for a user in at most TEAMACL_INLINE_TEAMS teams, allocates
 * nothing.
 */
typedef struct TeamaclUser
{
	pg_uuid_t	user_id;		/* hash key: must be first */
	uint64		generation;		/* cache generation this was loaded in */
	bool		exists;			/* a row in teamacl.users */
	bool		registered;		/* not a placeholder added by email */
	int			nteams;
	TeamaclTeam *teams;			/* sorted by team_id: inline_teams or palloc'd */
	int			nperms;			/* length of teams_with; 0 until first used */
	Datum	   *teams_with;		/* per permission bit: uuid[] or 0 */
	MemoryContext arrays;		/* where teams_with arrays live; NULL: the
								 * user cache's */
	dlist_node	lru;
	TeamaclTeam inline_teams[TEAMACL_INLINE_TEAMS];
} TeamaclUser;

/* cache.c */
extern void teamacl_cache_init(void);
extern void teamacl_statement_start(void);
extern void teamacl_cache_begin(void);
extern int	teamacl_permission_bit(const char *name, int len, bool missing_ok);
extern int	teamacl_permission_count(void);
extern const char *teamacl_permission_name(int bit);
extern uint64 teamacl_catalog_generation(void);
extern TeamaclUser *teamacl_lookup_user(const pg_uuid_t *user_id);
extern const TeamaclTeam *teamacl_user_team(const TeamaclUser *user,
											const pg_uuid_t *team_id);
extern Datum teamacl_user_teams_with(TeamaclUser *user, int bit);
extern bool teamacl_user_for_role(Oid roleid, pg_uuid_t *user_id);
extern uint64 teamacl_cache_generation(void);
extern Snapshot teamacl_loader_snapshot(void);
extern uint64 teamacl_statement_id(void);
extern const Bitmapset *teamacl_role_perms(const pg_uuid_t *role_id);
extern Size teamacl_cache_memory(void);
extern int	teamacl_cache_relations(Oid *out, int max);
extern int	teamacl_cache_entries(void);

/* shared.c */
extern int	teamacl_shared_cache_kb;
extern void teamacl_shared_init(void);
extern bool teamacl_shared_usable(void);
extern uint64 teamacl_shared_stamp(void);
extern void teamacl_shared_invalidated(void);
extern void teamacl_shared_wrote(void);
extern int	teamacl_shared_lookup(const pg_uuid_t *user_id, bool *registered,
								  TeamaclMember *out, int cap);
extern void teamacl_shared_publish(const pg_uuid_t *user_id, uint64 stamp,
								   bool registered, const TeamaclMember *members,
								   int nteams);
/* Most bytes of a catalogue image the shared cache holds, per database */
#define TEAMACL_SHARED_CATALOG_BYTES	(16 * 1024)
extern Size teamacl_shared_catalog_lookup(char *buf);
extern void teamacl_shared_catalog_publish(uint64 stamp, const char *image, Size len);

/* identity.c */
extern void teamacl_identity_init(void);
extern bool teamacl_current_identity(pg_uuid_t *user_id);
extern TeamaclUser *teamacl_current_user(void);
extern bool teamacl_current_key(pg_uuid_t *key_id);
extern void teamacl_set_identity(const char *value, bool is_local);
extern bool teamacl_identity_watched(void);

/* apikey.c */
extern TeamaclUser *teamacl_key_user(const pg_uuid_t *key_id);
extern bool teamacl_header_key(pg_uuid_t *key_id);

/* token.c */
extern Datum teamacl_hash_token(PG_FUNCTION_ARGS);

/* citus.c */
extern bool teamacl_citus_pending;
extern bool teamacl_on_worker;
extern void teamacl_citus_init(void);
extern void teamacl_citus_refresh(void);
extern void teamacl_citus_executor_start(PlannedStmt *stmt);
extern PlannedStmt *teamacl_citus_utility(PlannedStmt *pstmt, bool *readOnlyTree);
extern TeamaclUser *teamacl_context_user(void);
extern bool teamacl_context_key(pg_uuid_t *key_id);
extern int	teamacl_context_permission_bit(const char *name, int len);
extern int	teamacl_context_permission_count(void);
extern const char *teamacl_context_permission_name(int bit);
extern uint64 teamacl_context_generation(void);
extern bool teamacl_citus_coordinator(void);

/* prune.c */
extern bool teamacl_citus_table(Oid relid, AttrNumber *dist_column);
extern void teamacl_prune_init(void);
extern void teamacl_prune_identity_changed(void);

/* check.c */
extern int	teamacl_permission_arg(FunctionCallInfo fcinfo, int argno);
extern Oid	teamacl_uuid_eq_operator(void);
extern bool teamacl_uuid_equality(Node *clause, Node **left, Node **right,
								  bool *array);

#endif							/* TEAMACL_H */
