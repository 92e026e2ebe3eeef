/*-------------------------------------------------------------------------
 *
 * cache.c
 *	  Backend-local cache of the permission catalogue and of memberships.
 *
 * Two layers are cached:
 *
 *	- the catalogue: permission names (each given a bit number) and the
 *	  effective permission set of every role, as a Bitmapset;
 *	- users: for each user touched, the teams they belong to and the
 *	  permission set they hold in each, plus lazily built uuid[] answers
 *	  for teams_with().
 *
 * Both are loaded with direct index scans on teamacl's own tables (no SPI,
 * no planning, no row-level security) under a fresh snapshot.  Users are
 * kept in an LRU list capped by teamacl.cache_size.  Behind a pooler nearly
 * every transaction names another user, so a miss is kept cheap: one
 * snapshot, one probe of users and one index scan of members per miss.
 * From 0.4 the members scan is index-only (members_user_id_idx INCLUDEs
 * team_id and role_id), and the one team-level fact a membership needs,
 * require_secure_sign_in, comes from the set of teams requiring it, read
 * once from a partial index: a miss reads no teams row.  On a 0.3 schema
 * (before ALTER EXTENSION UPDATE) memberships are read from the heap and
 * team facts come from a small cache of teams (at most four per cached
 * user), the teams not in it read with one index scan for all of them.  A
 * miss at a full cache recycles the evicted entry, which holds up to
 * TEAMACL_INLINE_TEAMS memberships inline, so it allocates nothing.  When
 * teamacl is preloaded, a miss first asks the cache all backends share
 * (shared.c) for a load another backend published, and publishes its own;
 * the catalogue is shared the same way, as an image.
 *
 * Invalidation: statement-level triggers on every table that feeds the
 * cache (ENABLE ALWAYS, so session_replication_role = replica does not skip
 * them, and including TRUNCATE) register a relcache invalidation of that
 * table.  PostgreSQL delivers it to every backend at commit, and hot
 * standbys replay it from the commit record.  Our relcache callback only
 * bumps generation counters (one for users, one for the catalogue of
 * permissions and roles; a third, team_change, for the teams cache and the
 * secure-teams set); entries of an older generation are reloaded when next
 * used.  A backend reads pending invalidations only at
 * transaction start or when it acquires a new lock, so the check functions
 * also call AcceptInvalidationMessages() once per executor start: a change
 * committed before a statement starts is always seen by that statement,
 * also in the middle of a transaction.
 *
 * Copyright (c) 2026, teamacl developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/parallel.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/visibilitymap.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/predicate.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "teamacl.h"

PG_FUNCTION_INFO_V1(teamacl_invalidate_trigger);
PG_FUNCTION_INFO_V1(teamacl_cache_stats);
PG_FUNCTION_INFO_V1(teamacl_cache_counters);

/* The relations the cache reads; resolved once per catalogue load. */
typedef struct TeamaclRelids
{
	Oid			users;
	Oid			users_pkey;
	Oid			users_db_role_key;	/* on db_role_oid; before 0.3 on db_role */
	bool		users_role_by_oid;	/* 0.3 and later map login roles by OID */
	Oid			teams;
	Oid			teams_pkey;
	Oid			members;
	Oid			members_user_idx;
	bool		members_index_only; /* members_user_idx INCLUDEs team_id,
									 * role_id (0.4) */
	Oid			teams_secure_idx;	/* teams (id) WHERE require_secure_sign_in
									 * (0.4); InvalidOid before */
	Oid			roles;
	Oid			role_permissions;
	Oid			permissions;
	Oid			api_keys;		/* 0.3 and later */
	/* column numbers the user loader reads */
	AttrNumber	users_id;
	AttrNumber	users_registered;
	AttrNumber	users_sign_in_method;
	AttrNumber	users_db_role;
	AttrNumber	members_team_id;
	AttrNumber	members_user_id;
	AttrNumber	members_role_id;
	AttrNumber	teams_id;
	AttrNumber	teams_require_secure;
} TeamaclRelids;

typedef struct PermissionSlot
{
	char		name[NAMEDATALEN];	/* hash key */
	int			bit;
} PermissionSlot;

typedef struct RoleSlot
{
	pg_uuid_t	role_id;		/* hash key */
	Bitmapset  *perms;
} RoleSlot;

/*
 * Bumped by the relcache callback.  cache_generation moves on any change to
 * a table the cache reads: user entries (and the login-role answer) older
 * than it are stale.  catalog_change moves only when the catalogue's own
 * tables (permissions, roles, role_permissions) change, or on a full reset:
 * a membership change, the common case, then costs one user's reload, not
 * the catalogue's too.  A catalogue change bumps both, since user entries
 * hold permission bits numbered by the catalogue.
 */
static uint64 cache_generation = 1;
static uint64 catalog_change = 1;

/*
 * Moves when teamacl.teams changes (its triggers fire on DELETE, TRUNCATE,
 * on UPDATEs of id, personal or require_secure_sign_in, and from 0.4 on an
 * INSERT of a team requiring secure sign-in, which the secure-teams set
 * must then hold; other INSERTs need nothing, as the teams cache holds
 * only teams that were found), or on a full reset.
 */
static uint64 team_change = 1;

/* Bumped at every executor start; see teamacl_cache_begin(). */
static uint64 statement_counter = 1;
static uint64 statement_checked = 0;

/* The catalogue layer. */
static MemoryContext CatalogContext = NULL;
static uint64 catalog_generation = 0;	/* catalog_change loaded; 0: none */
static TeamaclRelids relids;
static HTAB *permission_hash = NULL;
static HTAB *role_hash = NULL;
static int	permission_count = 0;
static char **permission_names = NULL;

/* The user layer. */
static MemoryContext UserContext = NULL;
static HTAB *user_hash = NULL;
static dlist_head user_lru = DLIST_STATIC_INIT(user_lru);
static int	user_count = 0;
static TeamaclUser *last_user = NULL;

/*
 * Before 0.4, the teams cache: the team-level fact of teams a loaded user
 * belongs to, shared by every member.  Bounded by four teams per cached
 * user; when full it is emptied at once (amortised O(1) per insertion).
 */
typedef struct TeamSlot
{
	pg_uuid_t	team_id;		/* hash key */
	bool		require_secure;
} TeamSlot;

#define TEAMS_PER_USER	4

static MemoryContext TeamContext = NULL;
static HTAB *team_hash = NULL;
static int	team_count = 0;
static uint64 team_generation = 0;	/* team_change the cache holds */

/*
 * From 0.4, instead: every team requiring secure sign-in, as one set read
 * from teams_secure_sign_in_idx (usually few teams; 40 bytes or so each),
 * so a miss reads no teams row.  Read again when team_change moves.
 */
static MemoryContext SecureContext = NULL;
static HTAB *secure_hash = NULL;
static int	secure_count = 0;
static uint64 secure_generation = 0;	/* team_change the set holds; 0: none */

/* For teamacl_cache_counters(): what the cache did in this backend. */
static uint64 n_lookups = 0;	/* teamacl_lookup_user() calls */
static uint64 n_misses = 0;		/* of which loaded a user */
static uint64 n_evictions = 0;
static uint64 n_catalog_loads = 0;
static uint64 n_team_hits = 0;	/* memberships whose team facts were cached */
static uint64 n_team_reads = 0; /* ... and read from teamacl.teams */
static uint64 n_secure_loads = 0;	/* reads of the secure-teams set */
static uint64 n_member_heap = 0;	/* memberships read from the members heap */
static uint64 n_shared_hits = 0;	/* misses served by the shared cache */
static uint64 n_shared_catalogs = 0;	/* catalogues taken from it */

/* Login role to user mapping: one remembered answer. */
static Oid	mapped_role = InvalidOid;
static uint64 mapped_generation = 0;
static bool mapped_found = false;
static pg_uuid_t mapped_user;

static void
TeamaclRelcacheCallback(Datum arg, Oid relid)
{
	/*
	 * Only bump counters here: this runs inside lock acquisition, possibly
	 * in the middle of one of our own loads, so nothing may be freed.
	 */
	/*
	 * The indexes the loaders scan are invalidated by DDL (a drop, a
	 * rename, ALTER EXTENSION UPDATE replacing one) and by VACUUM's
	 * statistics, never by changes to rows: re-resolve them with the
	 * catalogue, so relids never names an index that is gone.  While the
	 * catalogue is stale, relids may name tables that are gone (the
	 * extension was dropped and created again): then any invalidation
	 * counts, as it may be of the tables that replaced them.
	 */
	if (!OidIsValid(relid) || catalog_generation != catalog_change ||
		relid == relids.roles || relid == relids.role_permissions ||
		relid == relids.permissions ||
		relid == relids.users_pkey || relid == relids.users_db_role_key ||
		relid == relids.teams_pkey || relid == relids.members_user_idx ||
		(OidIsValid(relids.teams_secure_idx) && relid == relids.teams_secure_idx))
	{
		catalog_change++;
		cache_generation++;
		team_change++;
		/* shared loads of the catalogue (and of users) are stale too */
		teamacl_shared_invalidated();
	}
	else if (relid == relids.teams)
	{
		cache_generation++;
		team_change++;
		teamacl_shared_invalidated();
	}
	else if (relid == relids.members || relid == relids.users)
	{
		cache_generation++;
		teamacl_shared_invalidated();
	}
	else if (relid == relids.api_keys)
		cache_generation++;
}

/*
 * _cache_counters(): what this backend's cache did, as text.  Not declared
 * by the extension's SQL (a diagnostic for make bench, which declares it in
 * its own schema): lookups, misses (users loaded), evictions, catalogue
 * loads, memberships whose team facts were known without reading teams or
 * read, reads of the secure-teams set, and memberships read from the
 * members heap (all of them before 0.4; from 0.4 those on pages the
 * visibility map does not show all-visible).
 */
Datum
teamacl_cache_counters(PG_FUNCTION_ARGS)
{
	char		buf[512];

	snprintf(buf, sizeof(buf),
			 "lookups=" UINT64_FORMAT " misses=" UINT64_FORMAT
			 " evictions=" UINT64_FORMAT " catalog_loads=" UINT64_FORMAT
			 " team_hits=" UINT64_FORMAT " team_reads=" UINT64_FORMAT
			 " secure_loads=" UINT64_FORMAT " member_heap_reads=" UINT64_FORMAT
			 " shared_hits=" UINT64_FORMAT " shared_catalogs=" UINT64_FORMAT,
			 n_lookups, n_misses, n_evictions, n_catalog_loads,
			 n_team_hits, n_team_reads, n_secure_loads, n_member_heap,
			 n_shared_hits, n_shared_catalogs);
	PG_RETURN_TEXT_P(cstring_to_text(buf));
}

static void
TeamaclRoleCallback(Datum arg, int cacheid, uint32 hashvalue)
{
	/* A login role was renamed or dropped: forget the mapping answer. */
	mapped_generation = 0;
}

void
teamacl_cache_init(void)
{
	CacheRegisterRelcacheCallback(TeamaclRelcacheCallback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, TeamaclRoleCallback, (Datum) 0);
}

/*
 * Called from the ExecutorStart hook: a new statement (or a new statement
 * inside a function) is starting.
 */
void
teamacl_statement_start(void)
{
	statement_counter++;
}

static Oid
RequireRelid(const char *name, Oid nsp)
{
	Oid			relid = get_relname_relid(name, nsp);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("teamacl relation \"%s\" is missing", name),
				 errhint("Reinstall the extension with DROP EXTENSION teamacl and CREATE EXTENSION teamacl.")));
	return relid;
}

/*
 * A column's number, from the relation's descriptor (the relcache entry
 * the loaders use anyway: no catalogue lookup of its own).
 */
static AttrNumber
RequireAttnum(Relation rel, const char *column)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), column) == 0)
			return att->attnum;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("teamacl column \"%s\" is missing", column),
			 errhint("Reinstall or update the extension.")));
	return InvalidAttrNumber;	/* keep compiler quiet */
}

/*
 * A snapshot that sees every change committed so far: decisions follow
 * the latest committed state even inside REPEATABLE READ transactions.
 * Parallel workers (and a leader in parallel mode) cannot take new
 * snapshots; they use the query's snapshot, which the leader shares.
 */
Snapshot
teamacl_loader_snapshot(void)
{
	if (IsInParallelMode())
	{
		if (ActiveSnapshotSet())
			return RegisterSnapshot(GetActiveSnapshot());
		return RegisterSnapshot(GetCatalogSnapshot(InvalidOid));
	}
	return RegisterSnapshot(GetLatestSnapshot());
}

/*
 * Does members_user_id_idx hold what the loader reads (0.4: a btree on
 * user_id INCLUDE (team_id, role_id), not partial), so memberships can be
 * read from it alone?
 */
static bool
MembersIndexCovers(Oid indexid)
{
	Relation	index = index_open(indexid, AccessShareLock);
	Form_pg_index ix = index->rd_index;
	bool		covers;

	covers = index->rd_rel->relam == BTREE_AM_OID && ix->indisvalid &&
		ix->indnatts == 3 && ix->indnkeyatts == 1 &&
		ix->indkey.values[0] == relids.members_user_id &&
		ix->indkey.values[1] == relids.members_team_id &&
		ix->indkey.values[2] == relids.members_role_id &&
		heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL);
	index_close(index, AccessShareLock);
	return covers;
}

/*
 * Is teams_secure_sign_in_idx exactly a btree on teams (id) WHERE
 * require_secure_sign_in?  The set read from it must be every such team.
 */
static bool
SecureIndexUsable(Oid indexid)
{
	Relation	index = index_open(indexid, AccessShareLock);
	Form_pg_index ix = index->rd_index;
	bool		usable = false;

	if (index->rd_rel->relam == BTREE_AM_OID && ix->indisvalid &&
		ix->indrelid == relids.teams && ix->indnatts == 1 &&
		ix->indkey.values[0] == relids.teams_id)
	{
		List	   *pred = RelationGetIndexPredicate(index);

		usable = list_length(pred) == 1 && IsA(linitial(pred), Var) &&
			((Var *) linitial(pred))->varattno == relids.teams_require_secure;
	}
	index_close(index, AccessShareLock);
	return usable;
}

static int
NameCellCompare(const ListCell *a, const ListCell *b)
{
	return strcmp(lfirst(a), lfirst(b));
}

/*
 * The catalogue as an image for the shared cache (shared.c): where the
 * tables are (their OIDs, column numbers and index shapes, with the OIDs
 * found by name, which a backend using the image compares with its own
 * lookups), then the permission names in bit order, then each role's
 * permission bits.
 */
#define CATALOG_IMAGE_MAGIC 0x7ea3ac11

typedef struct CatalogImage
{
	uint32		magic;
	Oid			secure_by_name; /* teams_secure_sign_in_idx by name */
	TeamaclRelids relids;
	int32		permission_count;
	int32		role_count;
	/* then the names, NUL-terminated; then per role: id, nbits, bits */
} CatalogImage;

/* Do two sets of relids name the same relations? */
static bool
SameRelations(const TeamaclRelids *a, const TeamaclRelids *b)
{
	return a->users == b->users && a->users_pkey == b->users_pkey &&
		a->users_db_role_key == b->users_db_role_key &&
		a->users_role_by_oid == b->users_role_by_oid &&
		a->teams == b->teams && a->teams_pkey == b->teams_pkey &&
		a->members == b->members && a->members_user_idx == b->members_user_idx &&
		a->roles == b->roles && a->role_permissions == b->role_permissions &&
		a->permissions == b->permissions && a->api_keys == b->api_keys;
}

/* The catalogue just loaded, as an image (palloc'd). */
static char *
CatalogToImage(Oid secure_by_name, Size *len)
{
	StringInfoData buf;
	CatalogImage head;
	HASH_SEQ_STATUS seq;
	RoleSlot   *role;
	int			i;

	memset(&head, 0, sizeof(head));
	head.magic = CATALOG_IMAGE_MAGIC;
	head.secure_by_name = secure_by_name;
	head.relids = relids;
	head.permission_count = permission_count;
	head.role_count = hash_get_num_entries(role_hash);
	initStringInfo(&buf);
	appendBinaryStringInfo(&buf, (char *) &head, sizeof(head));
	for (i = 0; i < permission_count; i++)
		appendBinaryStringInfo(&buf, permission_names[i], strlen(permission_names[i]) + 1);
	hash_seq_init(&seq, role_hash);
	while ((role = hash_seq_search(&seq)) != NULL)
	{
		int32		nbits = bms_num_members(role->perms);
		int			bit = -1;

		appendBinaryStringInfo(&buf, (char *) &role->role_id, sizeof(pg_uuid_t));
		appendBinaryStringInfo(&buf, (char *) &nbits, sizeof(int32));
		while ((bit = bms_next_member(role->perms, bit)) >= 0)
		{
			int32		b = bit;

			appendBinaryStringInfo(&buf, (char *) &b, sizeof(int32));
		}
	}
	*len = buf.len;
	return buf.data;
}

/*
 * The catalogue from the shared cache's image of it, if there is one fresh
 * for this backend that names the relations found by name in *now (and
 * secure_by_name).  Fills the catalogue and relids; false leaves both to
 * a load.  The image is checked as it is read: a malformed one is not
 * used.
 */
static bool
CatalogFromImage(const TeamaclRelids *now, Oid secure_by_name)
{
	char	   *image = palloc(TEAMACL_SHARED_CATALOG_BYTES);
	Size		len;
	CatalogImage head;
	const char *p;
	const char *end;
	HASHCTL		ctl;
	MemoryContext old;
	int			i;

	len = teamacl_shared_catalog_lookup(image);
	if (len < sizeof(CatalogImage))
	{
		pfree(image);
		return false;
	}
	memcpy(&head, image, sizeof(head));
	if (head.magic != CATALOG_IMAGE_MAGIC || head.secure_by_name != secure_by_name ||
		!SameRelations(&head.relids, now) ||
		head.permission_count < 0 || head.role_count < 0)
	{
		pfree(image);
		return false;
	}
	p = image + sizeof(head);
	end = image + len;

	old = MemoryContextSwitchTo(CatalogContext);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = sizeof(PermissionSlot);
	ctl.hcxt = CatalogContext;
	permission_hash = hash_create("teamacl permissions",
								  Max(head.permission_count, 16), &ctl,
								  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	permission_names = palloc0(sizeof(char *) * Max(head.permission_count, 1));
	for (i = 0; i < head.permission_count; i++)
	{
		size_t		n = strnlen(p, end - p);
		PermissionSlot *slot;

		if (p + n >= end || n > TEAMACL_MAX_NAME)
			goto bad;
		permission_names[i] = pstrdup(p);
		slot = hash_search(permission_hash, permission_names[i], HASH_ENTER, NULL);
		slot->bit = i;
		p += n + 1;
	}
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(pg_uuid_t);
	ctl.entrysize = sizeof(RoleSlot);
	ctl.hcxt = CatalogContext;
	role_hash = hash_create("teamacl roles", Max(head.role_count, 64), &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (i = 0; i < head.role_count; i++)
	{
		RoleSlot   *slot;
		pg_uuid_t	id;
		int32		nbits;
		int			k;

		if (end - p < (ptrdiff_t) (sizeof(pg_uuid_t) + sizeof(int32)))
			goto bad;
		memcpy(&id, p, sizeof(pg_uuid_t));
		memcpy(&nbits, p + sizeof(pg_uuid_t), sizeof(int32));
		p += sizeof(pg_uuid_t) + sizeof(int32);
		if (nbits < 0 || end - p < (ptrdiff_t) (nbits * sizeof(int32)))
			goto bad;
		slot = hash_search(role_hash, &id, HASH_ENTER, NULL);
		slot->perms = NULL;
		for (k = 0; k < nbits; k++)
		{
			int32		b;

			memcpy(&b, p, sizeof(int32));
			p += sizeof(int32);
			if (b < 0 || b >= head.permission_count)
				goto bad;
			slot->perms = bms_add_member(slot->perms, b);
		}
	}
	if (p != end)
		goto bad;
	MemoryContextSwitchTo(old);
	permission_count = head.permission_count;
	relids = head.relids;
	pfree(image);
	n_shared_catalogs++;
	return true;

bad:
	MemoryContextSwitchTo(old);
	MemoryContextReset(CatalogContext);
	permission_hash = NULL;
	role_hash = NULL;
	permission_names = NULL;
	pfree(image);
	return false;
}

static void
LoadCatalog(void)
{
	Oid			nsp;
	HASHCTL		ctl;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	Snapshot	snap;
	MemoryContext old;
	uint64		generation = catalog_change;
	uint64		stamp = 0;
	bool		share;
	Oid			secure_by_name;
	AttrNumber	a_name,
				a_role_id,
				a_all,
				a_rp_role,
				a_rp_perm,
				a_rp_excluded;
	List	   *names = NIL;
	ListCell   *lc;
	int			bit;

	n_catalog_loads++;

	/* Start from an empty catalogue: user entries refer into it. */
	if (CatalogContext == NULL)
		CatalogContext = AllocSetContextCreate(CacheMemoryContext,
											   "teamacl catalogue",
											   ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(CatalogContext);
	catalog_generation = 0;
	permission_hash = NULL;
	role_hash = NULL;
	permission_count = 0;
	permission_names = NULL;

	nsp = get_namespace_oid("teamacl", true);
	if (!OidIsValid(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_SCHEMA),
				 errmsg("schema \"teamacl\" does not exist"),
				 errhint("Run CREATE EXTENSION teamacl.")));
	relids.users = RequireRelid("users", nsp);
	relids.users_pkey = RequireRelid("users_pkey", nsp);
	/*
	 * From 0.3 on, login roles are mapped by OID (a rename keeps the
	 * mapping); until ALTER EXTENSION teamacl UPDATE has run, the library
	 * serves the older schema, which maps them by name.
	 */
	relids.users_db_role_key = get_relname_relid("users_db_role_oid_key", nsp);
	relids.users_role_by_oid = OidIsValid(relids.users_db_role_key);
	if (!relids.users_role_by_oid)
		relids.users_db_role_key = RequireRelid("users_db_role_key", nsp);
	relids.teams = RequireRelid("teams", nsp);
	relids.teams_pkey = RequireRelid("teams_pkey", nsp);
	relids.members = RequireRelid("members", nsp);
	relids.members_user_idx = RequireRelid("members_user_id_idx", nsp);
	relids.roles = RequireRelid("roles", nsp);
	relids.role_permissions = RequireRelid("role_permissions", nsp);
	relids.permissions = RequireRelid("permissions", nsp);
	relids.api_keys = get_relname_relid("api_keys", nsp);
	secure_by_name = get_relname_relid("teams_secure_sign_in_idx", nsp);

	/*
	 * With the shared cache, another backend's load of this database's
	 * catalogue, if fresh for this one, spares opening the six tables (in
	 * a new backend, building their relcache entries is most of a first
	 * check's cost); else the load below is published.
	 */
	share = teamacl_shared_usable();
	if (share)
	{
		stamp = teamacl_shared_stamp();
		if (CatalogFromImage(&relids, secure_by_name))
		{
			secure_generation = 0;
			catalog_generation = generation;
			return;
		}
	}

	/*
	 * Column numbers, from the relations' descriptors: the user loader opens
	 * these relations anyway, so their relcache entries are built once,
	 * here, in a new backend.
	 */
	rel = table_open(relids.users, AccessShareLock);
	relids.users_id = RequireAttnum(rel, "id");
	relids.users_registered = RequireAttnum(rel, "registered");
	relids.users_sign_in_method = RequireAttnum(rel, "sign_in_method");
	relids.users_db_role = RequireAttnum(rel,
										 relids.users_role_by_oid ? "db_role_oid" : "db_role");
	table_close(rel, AccessShareLock);
	rel = table_open(relids.members, AccessShareLock);
	relids.members_team_id = RequireAttnum(rel, "team_id");
	relids.members_user_id = RequireAttnum(rel, "user_id");
	relids.members_role_id = RequireAttnum(rel, "role_id");
	table_close(rel, AccessShareLock);
	rel = table_open(relids.teams, AccessShareLock);
	relids.teams_id = RequireAttnum(rel, "id");
	relids.teams_require_secure = RequireAttnum(rel, "require_secure_sign_in");
	table_close(rel, AccessShareLock);

	/*
	 * 0.4's schema help for a miss, each used only in the shape the loader
	 * relies on (else the reads of 0.3 serve, as before the update).
	 */
	relids.members_index_only = MembersIndexCovers(relids.members_user_idx);
	relids.teams_secure_idx = secure_by_name;
	if (OidIsValid(relids.teams_secure_idx) &&
		!SecureIndexUsable(relids.teams_secure_idx))
		relids.teams_secure_idx = InvalidOid;
	secure_generation = 0;

	snap = teamacl_loader_snapshot();
	old = MemoryContextSwitchTo(CatalogContext);

	/* Permissions: bit numbers in name order, so they are reproducible. */
	rel = table_open(relids.permissions, AccessShareLock);
	a_name = RequireAttnum(rel, "name");
	scan = systable_beginscan(rel, InvalidOid, false, snap, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, a_name, RelationGetDescr(rel), &isnull);

		if (!isnull)
			names = lappend(names, TextDatumGetCString(d));
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	list_sort(names, NameCellCompare);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = sizeof(PermissionSlot);
	ctl.hcxt = CatalogContext;
	permission_hash = hash_create("teamacl permissions",
								  Max(list_length(names), 16), &ctl,
								  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	permission_names = palloc0(sizeof(char *) * Max(list_length(names), 1));
	bit = 0;
	foreach(lc, names)
	{
		char	   *name = lfirst(lc);
		PermissionSlot *slot;
		bool		found;

		if (strlen(name) > TEAMACL_MAX_NAME)
			continue;			/* the table's CHECK forbids it */
		slot = hash_search(permission_hash, name, HASH_ENTER, &found);
		slot->bit = bit;
		permission_names[bit] = name;
		bit++;
	}
	permission_count = bit;

	/* Roles: all_permissions roles start with every bit. */
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(pg_uuid_t);
	ctl.entrysize = sizeof(RoleSlot);
	ctl.hcxt = CatalogContext;
	role_hash = hash_create("teamacl roles", 64, &ctl,
							HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	rel = table_open(relids.roles, AccessShareLock);
	a_role_id = RequireAttnum(rel, "id");
	a_all = RequireAttnum(rel, "all_permissions");
	scan = systable_beginscan(rel, InvalidOid, false, snap, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		bool		found;
		Datum		id = heap_getattr(tup, a_role_id, RelationGetDescr(rel), &isnull);
		Datum		all = heap_getattr(tup, a_all, RelationGetDescr(rel), &isnull);
		RoleSlot   *slot;

		slot = hash_search(role_hash, DatumGetUUIDP(id), HASH_ENTER, &found);
		slot->perms = NULL;
		if (!isnull && DatumGetBool(all) && permission_count > 0)
			slot->perms = bms_add_range(NULL, 0, permission_count - 1);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	rel = table_open(relids.role_permissions, AccessShareLock);
	a_rp_role = RequireAttnum(rel, "role_id");
	a_rp_perm = RequireAttnum(rel, "permission");
	a_rp_excluded = RequireAttnum(rel, "excluded");
	scan = systable_beginscan(rel, InvalidOid, false, snap, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		role = heap_getattr(tup, a_rp_role, RelationGetDescr(rel), &isnull);
		Datum		perm = heap_getattr(tup, a_rp_perm, RelationGetDescr(rel), &isnull);
		Datum		excl = heap_getattr(tup, a_rp_excluded, RelationGetDescr(rel), &isnull);
		RoleSlot   *slot;
		PermissionSlot *ps;
		char	   *pname = TextDatumGetCString(perm);

		slot = hash_search(role_hash, DatumGetUUIDP(role), HASH_FIND, NULL);
		ps = strlen(pname) <= TEAMACL_MAX_NAME ?
			hash_search(permission_hash, pname, HASH_FIND, NULL) : NULL;
		if (slot == NULL || ps == NULL)
			continue;
		if (!isnull && DatumGetBool(excl))
			slot->perms = bms_del_member(slot->perms, ps->bit);
		else
			slot->perms = bms_add_member(slot->perms, ps->bit);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	MemoryContextSwitchTo(old);
	UnregisterSnapshot(snap);

	/* a load no invalidation overtook is published for other backends */
	if (share && catalog_change == generation)
	{
		Size		len;
		char	   *image = CatalogToImage(secure_by_name, &len);

		teamacl_shared_catalog_publish(stamp, image, len);
		pfree(image);
	}

	/*
	 * If an invalidation arrived while we were reading, what we read may
	 * predate it; leave the catalogue marked stale so the next use reloads.
	 */
	catalog_generation = generation;
}

/*
 * Make the cache current for this statement: read pending invalidations
 * once per executor start, and reload the catalogue if it went stale.
 */
void
teamacl_cache_begin(void)
{
	if (statement_checked != statement_counter)
	{
		AcceptInvalidationMessages();
		statement_checked = statement_counter;
	}
	/* Citus: what this node is, and on a worker the coordinator's context */
	if (unlikely(teamacl_citus_pending))
		teamacl_citus_refresh();
	if (catalog_generation != catalog_change)
	{
		int			tries = 0;

		do
		{
			LoadCatalog();
		} while (catalog_generation != catalog_change && ++tries < 3);
		/* if it keeps moving, what we have is at least as new as the start */
		catalog_generation = catalog_change;
	}
}

uint64
teamacl_catalog_generation(void)
{
	if (unlikely(teamacl_on_worker))
		return teamacl_context_generation();
	return catalog_generation;
}

/*
 * The bit of a permission name (not NUL-terminated).  Unknown names are an
 * error unless missing_ok, in which case -1.
 */
int
teamacl_permission_bit(const char *name, int len, bool missing_ok)
{
	char		key[NAMEDATALEN];
	PermissionSlot *slot = NULL;

	if (unlikely(teamacl_on_worker))
		return teamacl_context_permission_bit(name, len);
	if (len >= 0 && len <= TEAMACL_MAX_NAME)
	{
		memset(key, 0, sizeof(key));
		memcpy(key, name, len);
		if (strlen(key) == (size_t) len)	/* no embedded NUL */
			slot = hash_search(permission_hash, key, HASH_FIND, NULL);
	}
	if (slot != NULL)
		return slot->bit;
	if (missing_ok)
		return -1;
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("permission \"%s\" does not exist",
					pnstrdup(name, Min(len, 2 * TEAMACL_MAX_NAME))),
			 errhint("Built-in permissions are listed in teamacl.permissions; add your own with teamacl.define_permission().")));
	return -1;					/* keep compiler quiet */
}

int
teamacl_permission_count(void)
{
	if (unlikely(teamacl_on_worker))
		return teamacl_context_permission_count();
	return permission_count;
}

const char *
teamacl_permission_name(int bit)
{
	if (unlikely(teamacl_on_worker))
		return teamacl_context_permission_name(bit);
	Assert(bit >= 0 && bit < permission_count);
	return permission_names[bit];
}

static int
MemberCompare(const void *a, const void *b)
{
	return memcmp(&((const TeamaclMember *) a)->team_id,
				  &((const TeamaclMember *) b)->team_id, UUID_LEN);
}

/* Drop what an entry holds outside itself; the entry stays usable. */
static void
FreeUserContents(TeamaclUser *user)
{
	int			i;

	if (user->teams_with != NULL)
	{
		for (i = 0; i < user->nperms; i++)
			if (user->teams_with[i] != (Datum) 0)
				pfree(DatumGetPointer(user->teams_with[i]));
		pfree(user->teams_with);
	}
	if (user->teams != NULL && user->teams != user->inline_teams)
		pfree(user->teams);
	user->teams_with = NULL;
	user->teams = user->inline_teams;
	user->nteams = 0;
	user->nperms = 0;
}

/* sign_in_method values that satisfy require_secure_sign_in */
static bool
SecureSignIn(Datum method)
{
	text	   *t = DatumGetTextPP(method);
	const char *s = VARDATA_ANY(t);
	int			len = VARSIZE_ANY_EXHDR(t);
	bool		result;

#define METHOD_IS(lit) (len == sizeof(lit) - 1 && memcmp(s, lit, len) == 0)
	result = METHOD_IS("password_2fa") || METHOD_IS("google") ||
		METHOD_IS("github") || METHOD_IS("sso");
#undef METHOD_IS
	if ((Pointer) t != DatumGetPointer(method))
		pfree(t);
	return result;
}

/*
 * Make the teams cache current: emptied when teams changed since it was
 * filled, when the catalogue it was filled under was reloaded, or when
 * full.
 */
static void
TeamCacheBegin(void)
{
	int			cap = Max(teamacl_cache_size, 1) * TEAMS_PER_USER;

	if (team_hash != NULL && team_generation == team_change && team_count < cap)
		return;
	if (TeamContext == NULL)
		TeamContext = AllocSetContextCreate(CacheMemoryContext,
											"teamacl teams",
											ALLOCSET_DEFAULT_SIZES);
	else if (team_hash != NULL)
		MemoryContextReset(TeamContext);
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(pg_uuid_t);
		ctl.entrysize = sizeof(TeamSlot);
		ctl.hcxt = TeamContext;
		team_hash = hash_create("teamacl teams", Min(cap, 1024), &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	team_count = 0;
	team_generation = team_change;
}

/*
 * A membership with its team requiring secure sign-in grants nothing until
 * the user signs in securely (nothing is deleted).
 */
static void
ApplyTeamFacts(TeamaclMember *member, bool require_secure, bool secure_sign_in)
{
	if (require_secure && !secure_sign_in)
		member->blocked = true;
}

/*
 * Did the catalogue go stale since this load began?  Taking a lock reads
 * pending invalidations; one of an index the loader scans (dropped or
 * replaced by ALTER EXTENSION UPDATE) means relids may name an index that
 * is gone.  The load is then abandoned: cache_generation moved too, so the
 * caller reloads the catalogue and loads the user again.
 */
static inline bool
CatalogMoved(void)
{
	return catalog_generation != catalog_change;
}

/* The memberships read so far by one LoadUser(). */
#define LOAD_STACK_TEAMS	16

typedef struct LoadBuffer
{
	TeamaclMember *members;		/* stack_members until it outgrows them */
	bool	   *found;			/* per membership: its team's facts are known */
	int			n;
	int			cap;
	TeamaclMember stack_members[LOAD_STACK_TEAMS];
	bool		stack_found[LOAD_STACK_TEAMS];
} LoadBuffer;

/* Room for at least want memberships. */
static void
GrowBuffer(LoadBuffer *buf, int want)
{
	if (want <= buf->cap)
		return;
	while (buf->cap < want)
		buf->cap *= 2;
	if (buf->members == buf->stack_members)
	{
		buf->members = palloc(sizeof(TeamaclMember) * buf->cap);
		buf->found = palloc(sizeof(bool) * buf->cap);
		memcpy(buf->members, buf->stack_members, sizeof(buf->stack_members));
	}
	else
	{
		buf->members = repalloc(buf->members, sizeof(TeamaclMember) * buf->cap);
		buf->found = repalloc(buf->found, sizeof(bool) * buf->cap);
	}
}

static void
AddMembership(LoadBuffer *buf, Datum team_id, Datum role_id)
{
	GrowBuffer(buf, buf->n + 1);
	memcpy(&buf->members[buf->n].team_id, DatumGetUUIDP(team_id), UUID_LEN);
	memcpy(&buf->members[buf->n].role_id, DatumGetUUIDP(role_id), UUID_LEN);
	buf->members[buf->n].blocked = false;
	buf->n++;
}

/*
 * An index-only scan of one of our indexes, done as nodeIndexonlyscan.c
 * does it: an entry whose heap page is all-visible in the visibility map
 * is visible to every snapshot, so its heap tuple is not read; otherwise
 * the heap says whether the entry's version is visible to our snapshot.
 * The values come from the index tuple either way (a HOT chain never
 * changes an indexed column, INCLUDE columns among them).  With an MVCC
 * snapshot this returns exactly the rows a heap-fetching scan returns, and
 * takes the same predicate locks under SERIALIZABLE.
 */
typedef struct CoveringScan
{
	Relation	heap;
	Relation	index;
	IndexScanDesc scan;
	Snapshot	snap;
	Buffer		vmbuffer;
	TupleTableSlot *slot;		/* made on the first heap fetch */
	int			heap_fetches;
} CoveringScan;

static void
CoveringBegin(CoveringScan *cs, Relation heap, Oid indexid, Snapshot snap,
			  ScanKey keys, int nkeys)
{
	cs->heap = heap;
	cs->index = index_open(indexid, AccessShareLock);
	cs->snap = snap;
	cs->vmbuffer = InvalidBuffer;
	cs->slot = NULL;
	cs->heap_fetches = 0;
	cs->scan = teamacl_index_beginscan(heap, cs->index, snap, nkeys);
	cs->scan->xs_want_itup = true;
	index_rescan(cs->scan, keys, nkeys, NULL, 0);
}

/* The next visible entry's index tuple (described by cs->scan->xs_itupdesc), or NULL. */
static IndexTuple
CoveringNext(CoveringScan *cs)
{
	ItemPointer tid;

	while ((tid = index_getnext_tid(cs->scan, ForwardScanDirection)) != NULL)
	{
		if (!VM_ALL_VISIBLE(cs->heap, ItemPointerGetBlockNumber(tid),
							&cs->vmbuffer))
		{
			if (cs->slot == NULL)
				cs->slot = table_slot_create(cs->heap, NULL);
			cs->heap_fetches++;
			if (!index_fetch_heap(cs->scan, cs->slot))
				continue;		/* no version visible to us */
			ExecClearTuple(cs->slot);
		}
		else
			PredicateLockPage(cs->heap, ItemPointerGetBlockNumber(tid), cs->snap);
		return cs->scan->xs_itup;
	}
	return NULL;
}

static void
CoveringEnd(CoveringScan *cs)
{
	if (BufferIsValid(cs->vmbuffer))
		ReleaseBuffer(cs->vmbuffer);
	index_endscan(cs->scan);
	if (cs->slot != NULL)
		ExecDropSingleTupleTableSlot(cs->slot);
	index_close(cs->index, AccessShareLock);
}

/*
 * The set of teams requiring secure sign-in, read from the partial index
 * teams_secure_sign_in_idx (0.4).  It replaces per-team reads: with it a
 * miss reads no teams row.  It is read again after any change to teams
 * that could change it: an UPDATE of require_secure_sign_in (or id), a
 * DELETE, a TRUNCATE, and an INSERT of a team requiring it (the one INSERT
 * trigger on teams that invalidates, so signing up costs no invalidation).
 * Returns false if the load was abandoned (see CatalogMoved()).
 */
static bool
LoadSecureTeams(Snapshot snap)
{
	uint64		as_of = team_change;
	Relation	rel;
	CoveringScan cs;
	IndexTuple	itup;
	HASHCTL		ctl;

	if (SecureContext == NULL)
		SecureContext = AllocSetContextCreate(CacheMemoryContext,
											  "teamacl secure teams",
											  ALLOCSET_SMALL_SIZES);
	else
		MemoryContextReset(SecureContext);
	secure_generation = 0;
	secure_count = 0;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(pg_uuid_t);
	ctl.entrysize = sizeof(pg_uuid_t);
	ctl.hcxt = SecureContext;
	secure_hash = hash_create("teamacl secure teams", 16, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	rel = table_open(relids.teams, AccessShareLock);
	if (CatalogMoved())
	{
		table_close(rel, AccessShareLock);
		return false;
	}
	n_secure_loads++;
	CoveringBegin(&cs, rel, relids.teams_secure_idx, snap, NULL, 0);
	while ((itup = CoveringNext(&cs)) != NULL)
	{
		bool		isnull;
		Datum		id = index_getattr(itup, 1, cs.scan->xs_itupdesc, &isnull);

		if (!isnull)
		{
			(void) hash_search(secure_hash, DatumGetUUIDP(id), HASH_ENTER, NULL);
			secure_count++;
		}
	}
	CoveringEnd(&cs);
	table_close(rel, AccessShareLock);

	/* if teams changed meanwhile, what was read may predate it: stay stale */
	secure_generation = as_of;
	return true;
}

/*
 * Team facts from the secure-teams set (0.4): no teams row is read.  A
 * membership's team always exists (members.team_id references teams ON
 * DELETE CASCADE, and both are read as of one snapshot), so unlike
 * ReadTeamFacts() there is no missing team to rule out.
 */
static bool
ApplySecureTeams(LoadBuffer *buf, Snapshot snap, bool secure_sign_in)
{
	int			i;

	n_team_hits += buf->n;
	if (secure_sign_in)
		return true;			/* every requirement is met */
	if (secure_generation != team_change && !LoadSecureTeams(snap))
		return false;
	if (secure_count == 0)
		return true;
	for (i = 0; i < buf->n; i++)
		if (hash_search(secure_hash, &buf->members[i].team_id, HASH_FIND, NULL) != NULL)
			ApplyTeamFacts(&buf->members[i], true, secure_sign_in);
	return true;
}

/*
 * Team facts before 0.4 (no teams_secure_sign_in_idx): from the teams
 * cache, else from teamacl.teams, with one scan of teams_pkey for every
 * team not cached.  A membership of a team that is not there grants
 * nothing.
 */
static bool
ReadTeamFacts(LoadBuffer *buf, Snapshot snap, bool secure_sign_in)
{
	TeamaclMember *teams = buf->members;
	bool	   *found = buf->found;
	int			n = buf->n;
	int			nmissing = 0;
	int			i;
	uint64		teams_as_of = team_change;
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	ScanKeyData key;
	Datum		stack_elems[LOAD_STACK_TEAMS];
	Datum	   *elems;
	ArrayType  *arr = NULL;
	int			k = 0;

	for (i = 0; i < n; i++)
	{
		TeamSlot   *slot = hash_search(team_hash, &teams[i].team_id, HASH_FIND, NULL);

		found[i] = slot != NULL;
		if (slot != NULL)
			ApplyTeamFacts(&teams[i], slot->require_secure, secure_sign_in);
		else
			nmissing++;
	}
	n_team_hits += n - nmissing;
	n_team_reads += nmissing;
	if (nmissing == 0)
		return true;

	elems = nmissing <= LOAD_STACK_TEAMS ? stack_elems :
		palloc(sizeof(Datum) * nmissing);
	for (i = 0; i < n; i++)
		if (!found[i])
			elems[k++] = UUIDPGetDatum(&teams[i].team_id);
	rel = table_open(relids.teams, AccessShareLock);
	if (CatalogMoved())
	{
		table_close(rel, AccessShareLock);
		return false;
	}
	if (nmissing == 1)
		ScanKeyInit(&key, relids.teams_id, BTEqualStrategyNumber,
					F_UUID_EQ, elems[0]);
	else
	{
		/* team_id = ANY (array): one index scan for every missing team */
		arr = construct_array(elems, nmissing, UUIDOID, UUID_LEN, false,
							  TYPALIGN_CHAR);
		ScanKeyEntryInitialize(&key, SK_SEARCHARRAY, relids.teams_id,
							   BTEqualStrategyNumber, InvalidOid,
							   InvalidOid, F_UUID_EQ,
							   PointerGetDatum(arr));
	}
	scan = systable_beginscan(rel, relids.teams_pkey, true, snap, 1, &key);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		id = heap_getattr(tup, relids.teams_id,
									  RelationGetDescr(rel), &isnull);
		Datum		d;
		bool		require_secure;
		TeamaclMember probe;
		TeamaclMember *team;

		if (isnull)
			continue;
		memcpy(&probe.team_id, DatumGetUUIDP(id), UUID_LEN);
		team = bsearch(&probe, teams, n, sizeof(TeamaclMember), MemberCompare);
		if (team == NULL || found[team - teams])
			continue;
		d = heap_getattr(tup, relids.teams_require_secure,
						 RelationGetDescr(rel), &isnull);
		require_secure = !isnull && DatumGetBool(d);
		found[team - teams] = true;
		ApplyTeamFacts(team, require_secure, secure_sign_in);

		/*
		 * Cache what was read unless teams changed meanwhile (the
		 * invalidation was read while we took a lock): what we read may
		 * predate that change.
		 */
		if (team_change == teams_as_of)
		{
			TeamSlot   *slot = hash_search(team_hash, &probe.team_id,
										   HASH_ENTER, NULL);

			slot->require_secure = require_secure;
			team_count++;
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (arr != NULL)
		pfree(arr);
	if (elems != stack_elems)
		pfree(elems);
	/* a membership of a team that is not there grants nothing */
	for (i = 0; i < n; i++)
		if (!found[i])
			teams[i].blocked = true;
	return true;
}

/*
 * Every membership of a user, with one scan of members_user_id_idx: an
 * index-only scan when the index holds team_id and role_id (0.4), else
 * reading each membership's heap tuple.
 */
static bool
ReadMemberships(LoadBuffer *buf, const pg_uuid_t *user_id, Snapshot snap)
{
	Relation	rel;
	ScanKeyData key;

	rel = table_open(relids.members, AccessShareLock);
	if (CatalogMoved())
	{
		table_close(rel, AccessShareLock);
		return false;
	}
	if (relids.members_index_only)
	{
		CoveringScan cs;
		IndexTuple	itup;

		/* the key is on the index's first column, user_id */
		ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_UUID_EQ,
					UUIDPGetDatum(user_id));
		CoveringBegin(&cs, rel, relids.members_user_idx, snap, &key, 1);
		while ((itup = CoveringNext(&cs)) != NULL)
		{
			bool		isnull;
			Datum		t = index_getattr(itup, 2, cs.scan->xs_itupdesc, &isnull);
			Datum		r = index_getattr(itup, 3, cs.scan->xs_itupdesc, &isnull);

			AddMembership(buf, t, r);
		}
		n_member_heap += cs.heap_fetches;
		CoveringEnd(&cs);
	}
	else
	{
		SysScanDesc scan;
		HeapTuple	tup;

		ScanKeyInit(&key, relids.members_user_id, BTEqualStrategyNumber,
					F_UUID_EQ, UUIDPGetDatum(user_id));
		scan = systable_beginscan(rel, relids.members_user_idx, true, snap,
								  1, &key);
		while (HeapTupleIsValid(tup = systable_getnext(scan)))
		{
			bool		isnull;
			Datum		t = heap_getattr(tup, relids.members_team_id,
										 RelationGetDescr(rel), &isnull);
			Datum		r = heap_getattr(tup, relids.members_role_id,
										 RelationGetDescr(rel), &isnull);

			AddMembership(buf, t, r);
			n_member_heap++;
		}
		systable_endscan(scan);
	}
	table_close(rel, AccessShareLock);
	return true;
}

/*
 * Fill *user from loaded memberships: each one's permissions are its
 * role's in the catalogue, none when blocked.
 */
static void
FillUser(TeamaclUser *user, const LoadBuffer *buf)
{
	int			i;

	if (buf->n > TEAMACL_INLINE_TEAMS)
		user->teams = MemoryContextAlloc(UserContext, sizeof(TeamaclTeam) * buf->n);
	else
		user->teams = user->inline_teams;
	for (i = 0; i < buf->n; i++)
	{
		const TeamaclMember *m = &buf->members[i];
		RoleSlot   *role;

		memcpy(&user->teams[i].team_id, &m->team_id, UUID_LEN);
		role = m->blocked ? NULL :
			hash_search(role_hash, &m->role_id, HASH_FIND, NULL);
		user->teams[i].perms = role ? role->perms : NULL;
	}
	user->nteams = buf->n;
}

/*
 * The user from the shared cache (shared.c), if it holds a load fresh for
 * this backend.
 */
static bool
SharedUser(TeamaclUser *user, LoadBuffer *buf)
{
	bool		registered = false;
	int			n;

	n = teamacl_shared_lookup(&user->user_id, &registered, buf->members, buf->cap);
	if (n > buf->cap)
	{
		GrowBuffer(buf, n);
		n = teamacl_shared_lookup(&user->user_id, &registered, buf->members, buf->cap);
	}
	if (n < 0 || n > buf->cap)
		return false;
	n_shared_hits++;
	buf->n = n;
	user->exists = true;		/* only users that exist are published */
	user->registered = registered;
	return true;
}

/*
 * Read one user's row and memberships into *user, under one snapshot: the
 * users row by primary key, every membership with one scan of
 * members_user_id_idx, and the team-level fact a membership needs
 * (require_secure_sign_in) from the secure-teams set, or before 0.4 from
 * the teams cache and teamacl.teams.  With the shared cache (0.4 schema),
 * a load another backend published, if fresh for this one, is copied
 * instead, and a load made here is published.  An abandoned load (the
 * catalogue went stale meanwhile) leaves the user with no teams; the
 * caller loads it again.
 */
static void
LoadUser(TeamaclUser *user)
{
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	ScanKeyData key;
	Snapshot	snap;
	bool		secure_sign_in = false;
	bool		complete = true;
	bool		share;
	uint64		stamp = 0;
	LoadBuffer	buf;

	FreeUserContents(user);
	user->exists = false;
	user->registered = false;
	buf.members = buf.stack_members;
	buf.found = buf.stack_found;
	buf.n = 0;
	buf.cap = LOAD_STACK_TEAMS;

	share = OidIsValid(relids.teams_secure_idx) && teamacl_shared_usable();
	if (share && SharedUser(user, &buf))
		goto fill;

	if (!OidIsValid(relids.teams_secure_idx))
		TeamCacheBegin();
	if (share)
		stamp = teamacl_shared_stamp();
	snap = teamacl_loader_snapshot();

	/* the users row */
	rel = table_open(relids.users, AccessShareLock);
	ScanKeyInit(&key, relids.users_id, BTEqualStrategyNumber,
				F_UUID_EQ, UUIDPGetDatum(&user->user_id));
	scan = systable_beginscan(rel, relids.users_pkey, true, snap, 1, &key);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		d;

		user->exists = true;
		d = heap_getattr(tup, relids.users_registered,
						 RelationGetDescr(rel), &isnull);
		user->registered = !isnull && DatumGetBool(d);
		d = heap_getattr(tup, relids.users_sign_in_method,
						 RelationGetDescr(rel), &isnull);
		secure_sign_in = !isnull && SecureSignIn(d);
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	/* every membership, with its role */
	if (user->exists)
		complete = ReadMemberships(&buf, &user->user_id, snap);
	if (complete && buf.n > 1)
		qsort(buf.members, buf.n, sizeof(TeamaclMember), MemberCompare);

	/* the team-level facts */
	if (complete && buf.n > 0)
		complete = OidIsValid(relids.teams_secure_idx) ?
			ApplySecureTeams(&buf, snap, secure_sign_in) :
			ReadTeamFacts(&buf, snap, secure_sign_in);
	UnregisterSnapshot(snap);

	if (!complete)
		buf.n = 0;				/* loaded again, see CatalogMoved() */
	else if (share && user->exists)
		teamacl_shared_publish(&user->user_id, stamp, user->registered,
							   buf.members, buf.n);

fill:
	FillUser(user, &buf);
	if (buf.members != buf.stack_members)
	{
		pfree(buf.members);
		pfree(buf.found);
	}
}

static void
EvictUser(TeamaclUser *user)
{
	if (last_user == user)
		last_user = NULL;
	dlist_delete(&user->lru);
	FreeUserContents(user);
	/* the element goes to the hash's free list: the next miss reuses it */
	hash_search(user_hash, &user->user_id, HASH_REMOVE, NULL);
	user_count--;
	n_evictions++;
}

/*
 * The cached entry of a user, loading it on a miss.  The hit path
 * allocates nothing.  Call teamacl_cache_begin() first.
 */
TeamaclUser *
teamacl_lookup_user(const pg_uuid_t *user_id)
{
	TeamaclUser *user;
	bool		found;

	n_lookups++;
	if (last_user != NULL &&
		memcmp(&last_user->user_id, user_id, UUID_LEN) == 0 &&
		last_user->generation == cache_generation)
		return last_user;

	if (user_hash == NULL)
	{
		HASHCTL		ctl;

		UserContext = AllocSetContextCreate(CacheMemoryContext,
											"teamacl users",
											ALLOCSET_DEFAULT_SIZES);
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(pg_uuid_t);
		ctl.entrysize = sizeof(TeamaclUser);
		ctl.hcxt = UserContext;
		user_hash = hash_create("teamacl users", 256, &ctl,
								HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}

	user = hash_search(user_hash, user_id, HASH_FIND, NULL);
	if (user == NULL)
	{
		/*
		 * At a full cache, evict before entering: the new entry then takes
		 * the evicted element from the hash's free list.
		 */
		while (user_count >= Max(teamacl_cache_size, 1) &&
			   !dlist_is_empty(&user_lru))
			EvictUser(dlist_tail_element(TeamaclUser, lru, &user_lru));
		user = hash_search(user_hash, user_id, HASH_ENTER, &found);
		Assert(!found);
		user->arrays = NULL;
		user->generation = 0;
		user->teams = user->inline_teams;
		user->teams_with = NULL;
		user->nteams = 0;
		user->nperms = 0;
		dlist_push_head(&user_lru, &user->lru);
		user_count++;
	}
	else
		dlist_move_head(&user_lru, &user->lru);

	while (user->generation != cache_generation)
	{
		uint64		generation = cache_generation;

		n_misses++;
		/* the catalogue the entry points into must be current too */
		teamacl_cache_begin();
		generation = cache_generation;
		PG_TRY();
		{
			LoadUser(user);
		}
		PG_CATCH();
		{
			user->generation = 0;
			FreeUserContents(user);
			PG_RE_THROW();
		}
		PG_END_TRY();
		user->generation = generation;
	}

	/* keep the cache bounded (the cap may have been lowered) */
	while (user_count > Max(teamacl_cache_size, 1))
	{
		TeamaclUser *victim = dlist_tail_element(TeamaclUser, lru, &user_lru);

		if (victim == user)
			break;
		EvictUser(victim);
	}

	last_user = user;
	return user;
}

/* The membership of user in team, or NULL: a binary search, no allocation. */
const TeamaclTeam *
teamacl_user_team(const TeamaclUser *user, const pg_uuid_t *team_id)
{
	int			lo = 0;
	int			hi = user->nteams - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = memcmp(&user->teams[mid].team_id, team_id, UUID_LEN);

		if (c == 0)
			return &user->teams[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return NULL;
}

/*
 * uuid[] of the teams in which the user holds permission bit, built once
 * per cache generation; returned as a copy in the caller's context.
 */
Datum
teamacl_user_teams_with(TeamaclUser *user, int bit)
{
	ArrayType  *arr;

	if (bit < 0 || bit >= teamacl_permission_count())
		return PointerGetDatum(construct_empty_array(UUIDOID));

	/* the per-permission answers are made on first use, not at load */
	if (user->teams_with == NULL)
	{
		user->nperms = teamacl_permission_count();
		user->teams_with = MemoryContextAllocZero(user->arrays ? user->arrays : UserContext,
												  sizeof(Datum) * user->nperms);
	}
	if (user->teams_with[bit] == (Datum) 0)
	{
		Datum	   *elems = palloc(sizeof(Datum) * Max(user->nteams, 1));
		int			n = 0;
		int			i;
		MemoryContext old;

		for (i = 0; i < user->nteams; i++)
			if (bms_is_member(bit, user->teams[i].perms))
				elems[n++] = UUIDPGetDatum(&user->teams[i].team_id);
		old = MemoryContextSwitchTo(user->arrays ? user->arrays : UserContext);
		arr = construct_array(elems, n, UUIDOID, UUID_LEN, false, TYPALIGN_CHAR);
		MemoryContextSwitchTo(old);
		pfree(elems);
		user->teams_with[bit] = PointerGetDatum(arr);
	}
	arr = (ArrayType *) DatumGetPointer(user->teams_with[bit]);
	return PointerGetDatum(pg_detoast_datum_copy((struct varlena *) arr));
}

/*
 * Which teamacl user is mapped to a login role (users.db_role_oid; by name
 * in users.db_role before 0.3).  One answer is remembered per cache
 * generation.
 */
bool
teamacl_user_for_role(Oid roleid, pg_uuid_t *user_id)
{
	if (mapped_role != roleid || mapped_generation != cache_generation)
	{
		char	   *rolname = relids.users_role_by_oid ? NULL :
			GetUserNameFromId(roleid, true);
		uint64		generation = cache_generation;
		bool		found = false;

		if (relids.users_role_by_oid || rolname != NULL)
		{
			Relation	rel;
			SysScanDesc scan;
			HeapTuple	tup;
			ScanKeyData key;
			NameData	name;
			Snapshot	snap;

			if (relids.users_role_by_oid)
				ScanKeyInit(&key, relids.users_db_role,
							BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(roleid));
			else
			{
				namestrcpy(&name, rolname);
				ScanKeyInit(&key, relids.users_db_role,
							BTEqualStrategyNumber, F_NAMEEQ, NameGetDatum(&name));
			}
			snap = teamacl_loader_snapshot();
			rel = table_open(relids.users, AccessShareLock);
			scan = systable_beginscan(rel, relids.users_db_role_key, true,
									  snap, 1, &key);
			if (HeapTupleIsValid(tup = systable_getnext(scan)))
			{
				bool		isnull;
				Datum		d = heap_getattr(tup, relids.users_id,
											 RelationGetDescr(rel), &isnull);

				memcpy(&mapped_user, DatumGetUUIDP(d), UUID_LEN);
				found = true;
			}
			systable_endscan(scan);
			table_close(rel, AccessShareLock);
			UnregisterSnapshot(snap);
			if (rolname != NULL)
				pfree(rolname);
		}
		mapped_role = roleid;
		mapped_found = found;
		mapped_generation = generation;
	}
	if (mapped_found)
		memcpy(user_id, &mapped_user, UUID_LEN);
	return mapped_found;
}

/* The generation user entries (and API key views) must match. */
/*
 * The tables the cache reads, for plans that hold what it said (prune.c):
 * a change to any of them invalidates such a plan.
 */
int
teamacl_cache_relations(Oid *out, int max)
{
	Oid			all[] = {relids.users, relids.teams, relids.members, relids.roles,
	relids.role_permissions, relids.permissions, relids.api_keys};
	int			n = 0;
	int			i;

	teamacl_cache_begin();
	for (i = 0; i < lengthof(all) && n < max; i++)
		if (OidIsValid(all[i]))
			out[n++] = all[i];
	return n;
}

uint64
teamacl_cache_generation(void)
{
	return cache_generation;
}

/* Moves at every executor start. */
uint64
teamacl_statement_id(void)
{
	return statement_counter;
}

/* A role's effective permissions, from the catalogue; NULL if none. */
const Bitmapset *
teamacl_role_perms(const pg_uuid_t *role_id)
{
	RoleSlot   *role;

	if (role_hash == NULL)
		return NULL;
	role = hash_search(role_hash, role_id, HASH_FIND, NULL);
	return role ? role->perms : NULL;
}

int
teamacl_cache_entries(void)
{
	return user_count;
}

Size
teamacl_cache_memory(void)
{
	Size		total = 0;

	if (UserContext)
		total += MemoryContextMemAllocated(UserContext, true);
	if (TeamContext)
		total += MemoryContextMemAllocated(TeamContext, true);
	if (SecureContext)
		total += MemoryContextMemAllocated(SecureContext, true);
	if (CatalogContext)
		total += MemoryContextMemAllocated(CatalogContext, true);
	return total;
}

/*
 * Statement-level trigger on every table the cache reads: register a
 * relcache invalidation of that table, sent to all backends at commit.
 */
Datum
teamacl_invalidate_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("teamacl_internal._invalidate_cache() must be called as a trigger")));
	CacheInvalidateRelcache(trigdata->tg_relation);
	/* shared entries would not show this transaction's own changes */
	teamacl_shared_wrote();
	return PointerGetDatum(NULL);
}

/* cache_stats(): entries, bytes and generation, for tests and benchmarks */
Datum
teamacl_cache_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record")));
	values[0] = Int32GetDatum(user_count);
	values[1] = Int64GetDatum((int64) teamacl_cache_memory());
	values[2] = Int64GetDatum((int64) cache_generation);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}
