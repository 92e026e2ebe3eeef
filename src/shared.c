/*-------------------------------------------------------------------------
 *
 * shared.c
 *	  A cache of users' memberships shared by every backend.
 *
 * Behind a pooler nearly every transaction names another user, and each
 * backend's own cache (cache.c) holds at most teamacl.cache_size of them:
 * most lookups miss, and a miss reads users and members.  When teamacl is
 * in shared_preload_libraries, a load made by one backend is published
 * here, so the others copy it instead of reading the tables again.  What
 * is shared is only what the tables say about one user: whether the user
 * is registered and each membership's team and role, with a flag for the
 * memberships a team's secure-sign-in requirement makes grant nothing.
 * The catalogue (permission names and what each role permits, and where
 * teamacl's tables are) is shared too, as an image cache.c makes of it, one
 * per database: a new backend that takes it opens none of the six tables
 * it is read from, whose relcache entries are most of a first check's
 * cost.
 *
 * Layout: a set-associative table in shared memory of fixed-size slots,
 * keyed by database and user,
 * sized by teamacl.shared_cache_memory (read at server start).  A user's
 * memberships take one slot per SHARED_SLOT_TEAMS of them (chunk 0, 1,
 * ...), each slot found by hashing (user, chunk) to a set of SHARED_WAYS
 * slots; a full set gives up the slot that is stale for everyone, else one
 * not used since the clock hand last passed.  Sets are guarded by
 * partition locks (LWLocks): a lookup takes one in shared mode per chunk,
 * a publication one in exclusive mode per chunk.  Nothing is allocated,
 * nothing can fail while a lock is held, and a crash of any backend
 * reinitialises shared memory, so the cache starts empty after it.
 *
 * Freshness.  Each backend learns of a committed change to users, members
 * or teams through the relcache invalidation that teamacl's triggers
 * register (delivered at the next statement start; on a hot standby
 * replayed from the commit record).  PostgreSQL makes a commit visible to
 * new snapshots before it sends its invalidations.  A shared clock (one
 * 64-bit atomic counter) orders the two sides:
 *
 *	- a loader takes a clock value before its snapshot and publishes the
 *	  entry stamped with it;
 *	- a backend takes a clock value each time it accepts one of those
 *	  invalidations (its floor); at its first use of the cache (it never
 *	  saw the invalidations sent before it started) it takes the clock
 *	  value of the last commit of a transaction that wrote teamacl's
 *	  tables, which each such transaction raises as it commits.
 *
 * A backend uses an entry only if its stamp is above its floor: the
 * entry's snapshot was then taken after the backend learnt of the last
 * change it knows of, so the snapshot sees that change.  An older entry
 * is loaded again from the tables and published anew.  Hence a change
 * committed before a statement starts is seen by that statement, as with
 * the backend's own cache.  A transaction that changed teamacl's tables
 * itself neither reads nor publishes shared entries (they would not show,
 * or would leak, its uncommitted changes), and neither does parallel mode
 * (its loads use the query's snapshot).
 *
 * Copyright (c) 2026, teamacl developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "common/hashfn.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "teamacl.h"

PG_FUNCTION_INFO_V1(teamacl_shared_cache_stats);

/* Memberships per slot; users with more take several slots. */
#define SHARED_SLOT_TEAMS	4
/* Slots per set. */
#define SHARED_WAYS			8
/* Partition locks (and statistics lines); sets share them round-robin. */
#define SHARED_PARTITIONS	128
/* Users with more memberships are cached only by each backend. */
#define SHARED_MAX_CHUNKS	64
/*
 * Catalogues (permission names, what each role permits, where teamacl's
 * tables are): one per database, at most this many databases, each image
 * at most this big; others are loaded by each backend.
 */
#define SHARED_CATALOGS		8

typedef struct SharedMember
{
	pg_uuid_t	team_id;
	pg_uuid_t	role_id;
} SharedMember;

typedef struct SharedSlot
{
	pg_uuid_t	user_id;		/* with database and chunk, the key */
	uint64		stamp;			/* clock value before the load; 0: empty */
	Oid			database;		/* each database has its own teamacl */
	uint16		nteams;			/* the user's memberships, in all chunks */
	uint8		chunk;
	uint8		count;			/* memberships in this slot */
	uint8		blocked;		/* bit i: m[i] grants nothing */
	uint8		registered;
	uint8		referenced;		/* used since the clock hand passed */
	SharedMember m[SHARED_SLOT_TEAMS];
} SharedSlot;

/* The README gives this size (40 bytes of key and flags, 4 memberships). */
StaticAssertDecl(sizeof(SharedSlot) == 168, "shared cache slot size changed");

/* Per-partition statistics, each on its own cache line. */
typedef union SharedStats
{
	struct
	{
		pg_atomic_uint64 hits;	/* users copied from here */
		pg_atomic_uint64 misses;	/* not here, or stale for the reader */
		pg_atomic_uint64 publishes; /* slots written */
		pg_atomic_uint64 evictions; /* live slots of another user replaced */
	}			s;
	char		pad[PG_CACHE_LINE_SIZE];
} SharedStats;

/* A database's catalogue, as the image cache.c made of it. */
typedef struct SharedCatalog
{
	Oid			database;		/* InvalidOid: empty */
	uint64		stamp;			/* clock value before the load */
	uint64		used;			/* clock value of its last use, for eviction */
	Size		len;
	char		image[TEAMACL_SHARED_CATALOG_BYTES];
} SharedCatalog;

typedef struct SharedHeader
{
	pg_atomic_uint64 clock;
	pg_atomic_uint64 last_commit;	/* clock when a writer last committed */
	pg_atomic_uint32 used_in_recovery;	/* a backend took a floor in recovery */
	pg_atomic_uint64 last_invalidation; /* newest floor any backend took */
	uint32		nsets;
	SharedStats stats[SHARED_PARTITIONS];
	SharedCatalog catalogs[SHARED_CATALOGS];	/* under catalog_lock */
	/* then nsets clock hands (uint8), then the slots */
} SharedHeader;

/* teamacl.shared_cache_memory, in kB; 0 turns the shared cache off */
int			teamacl_shared_cache_kb = 16 * 1024;

static SharedHeader *shared = NULL;
static uint8 *hands = NULL;
static SharedSlot *slots = NULL;
static LWLockPadded *locks = NULL;
static LWLock *catalog_lock = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* This backend's floor, once taken (at its first use of the cache). */
static uint64 floor_stamp = 0;
static bool floor_taken = false;

/* This transaction changed teamacl's tables: keep away from shared entries. */
static bool wrote_in_xact = false;

/*
 * Sets of slots the setting pays for (the header, with the catalogues, is
 * on top of it: about 140 kB).
 */
static uint32
SharedSets(void)
{
	Size		bytes = (Size) teamacl_shared_cache_kb * 1024;
	Size		per_set = SHARED_WAYS * sizeof(SharedSlot) + sizeof(uint8);

	return (uint32) Min(bytes / per_set, (Size) PG_INT32_MAX);
}

static Size
SharedSize(uint32 nsets)
{
	Size		size = MAXALIGN(sizeof(SharedHeader));

	size = add_size(size, MAXALIGN(nsets));
	size = add_size(size, mul_size(mul_size(nsets, SHARED_WAYS), sizeof(SharedSlot)));
	return size;
}

static void
SharedRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	if (SharedSets() == 0)
		return;
	RequestAddinShmemSpace(SharedSize(SharedSets()));
	RequestNamedLWLockTranche("teamacl shared cache", SHARED_PARTITIONS);
	RequestNamedLWLockTranche("teamacl shared catalogue", 1);
}

static void
SharedStartup(void)
{
	uint32		nsets = SharedSets();
	bool		found;
	SharedHeader *header;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	if (nsets == 0)
		return;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	header = ShmemInitStruct("teamacl shared cache", SharedSize(nsets), &found);
	if (!found)
	{
		int			i;

		memset(header, 0, SharedSize(nsets));
		pg_atomic_init_u64(&header->clock, 1);
		pg_atomic_init_u64(&header->last_commit, 0);
		pg_atomic_init_u32(&header->used_in_recovery, 0);
		pg_atomic_init_u64(&header->last_invalidation, 0);
		header->nsets = nsets;
		for (i = 0; i < SHARED_PARTITIONS; i++)
		{
			pg_atomic_init_u64(&header->stats[i].s.hits, 0);
			pg_atomic_init_u64(&header->stats[i].s.misses, 0);
			pg_atomic_init_u64(&header->stats[i].s.publishes, 0);
			pg_atomic_init_u64(&header->stats[i].s.evictions, 0);
		}
	}
	locks = GetNamedLWLockTranche("teamacl shared cache");
	catalog_lock = &GetNamedLWLockTranche("teamacl shared catalogue")->lock;
	LWLockRelease(AddinShmemInitLock);

	hands = (uint8 *) ((char *) header + MAXALIGN(sizeof(SharedHeader)));
	slots = (SharedSlot *) ((char *) hands + MAXALIGN(nsets));
	shared = header;
}

/* Raise *var to at least stamp (a monotonic maximum). */
static void
RaiseTo(pg_atomic_uint64 *var, uint64 stamp)
{
	uint64		old = pg_atomic_read_u64(var);

	while (old < stamp && !pg_atomic_compare_exchange_u64(var, &old, stamp))
		;
}

static void
SharedXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			/*
			 * Our changes are visible now (this runs after the commit is in
			 * the proc array, before the client hears of it): a backend
			 * starting from now on must not use entries loaded before this
			 * point, and neither may we.
			 */
			if (wrote_in_xact && shared != NULL)
			{
				uint64		now = pg_atomic_add_fetch_u64(&shared->clock, 1);

				RaiseTo(&shared->last_commit, now);
				RaiseTo(&shared->last_invalidation, now);
				if (floor_taken)
					floor_stamp = now;
			}
			wrote_in_xact = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			wrote_in_xact = false;
			break;
		default:
			break;
	}
}

void
teamacl_shared_init(void)
{
	/*
	 * The setting exists only in a server that preloads teamacl (a setting
	 * read at server start cannot be made later), like the cache itself.
	 */
	RegisterXactCallback(SharedXactCallback, NULL);
	if (!process_shared_preload_libraries_in_progress)
		return;
	DefineCustomIntVariable("teamacl.shared_cache_memory",
							"Shared memory for the cache of memberships all backends share.",
							"Used when teamacl is in shared_preload_libraries; 0 turns the shared cache off.",
							&teamacl_shared_cache_kb,
							16 * 1024, 0, MAX_KILOBYTES,
							PGC_POSTMASTER, GUC_UNIT_KB,
							NULL, NULL, NULL);
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = SharedRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = SharedStartup;
}

/*
 * May this backend use shared entries now?  At its first use it takes its
 * floor: it never saw the invalidations sent before it started.  On a
 * primary every transaction that changed teamacl's tables raised
 * last_commit when it committed (see SharedXactCallback), so that is the
 * floor.  On a hot standby the changes come from WAL replay, which
 * runs no code of ours: a new backend there takes the current clock, and
 * so uses only what is loaded after it started; and the first backends
 * after a promotion raise last_commit to the clock, as if replay had been
 * one commit.
 */
bool
teamacl_shared_usable(void)
{
	if (shared == NULL || wrote_in_xact || IsInParallelMode())
		return false;
	if (unlikely(!floor_taken))
	{
		if (RecoveryInProgress())
		{
			pg_atomic_write_u32(&shared->used_in_recovery, 1);
			pg_memory_barrier();
			floor_stamp = pg_atomic_add_fetch_u64(&shared->clock, 1);
		}
		else
		{
			/*
			 * The first backends after a promotion: what was loaded during
			 * recovery may predate changes replayed since, which raised no
			 * last_commit.  Raise it to now, then clear the mark (in that
			 * order, so a backend that finds the mark clear finds it
			 * raised).
			 */
			if (unlikely(pg_atomic_read_u32(&shared->used_in_recovery) != 0))
			{
				RaiseTo(&shared->last_commit,
						pg_atomic_add_fetch_u64(&shared->clock, 1));
				pg_atomic_write_u32(&shared->used_in_recovery, 0);
			}
			pg_memory_barrier();
			floor_stamp = pg_atomic_read_u64(&shared->last_commit);
		}
		floor_taken = true;
	}
	return true;
}

/* A clock value, taken right before a loader's snapshot. */
uint64
teamacl_shared_stamp(void)
{
	if (shared == NULL)
		return 0;
	return pg_atomic_add_fetch_u64(&shared->clock, 1);
}

/*
 * The relcache callback accepted an invalidation of a table shared entries
 * are read from: entries stamped before now are stale for this backend.
 * Called inside invalidation processing: only atomics here.
 */
void
teamacl_shared_invalidated(void)
{
	uint64		now;

	if (shared == NULL || !floor_taken)
		return;					/* the first use takes a floor anyway */
	now = pg_atomic_add_fetch_u64(&shared->clock, 1);
	floor_stamp = now;
	/* (a hint for eviction; new backends start from last_commit) */
	RaiseTo(&shared->last_invalidation, now);
}

/* teamacl's invalidation trigger fired in this transaction. */
void
teamacl_shared_wrote(void)
{
	wrote_in_xact = true;
}

/*
 * The shared cache serves every database of the cluster, and two databases
 * may hold the same user id (one made from the other as a template, a
 * restored copy) with other memberships: the database is part of the key.
 */
static inline uint32
SlotHash(const pg_uuid_t *user_id, int chunk)
{
	uint32		h = hash_bytes(user_id->data, UUID_LEN) ^ murmurhash32(MyDatabaseId);

	return chunk == 0 ? h : murmurhash32(h ^ (uint32) chunk);
}

static inline bool
SlotIs(const SharedSlot *slot, const pg_uuid_t *user_id, int chunk)
{
	return slot->stamp != 0 && slot->chunk == chunk &&
		slot->database == MyDatabaseId &&
		memcmp(&slot->user_id, user_id, UUID_LEN) == 0;
}

/*
 * Copy a user's entry into out (memberships in team order), if it is here
 * and fresh for this backend.  Returns the number of memberships, or -1.
 * A result above cap means out was too small: call again with room for it.
 */
int
teamacl_shared_lookup(const pg_uuid_t *user_id, bool *registered,
					  TeamaclMember *out, int cap)
{
	uint64		stamp = 0;
	int			nteams = 0;
	int			chunk;
	int			copied = 0;
	uint32		h0 = SlotHash(user_id, 0);
	SharedStats *st = &shared->stats[(h0 % shared->nsets) % SHARED_PARTITIONS];

	for (chunk = 0; chunk == 0 || copied < nteams; chunk++)
	{
		uint32		set = (chunk == 0 ? h0 : SlotHash(user_id, chunk)) % shared->nsets;
		LWLock	   *lock = &locks[set % SHARED_PARTITIONS].lock;
		SharedSlot *way = &slots[(Size) set * SHARED_WAYS];
		SharedSlot *slot = NULL;
		int			i;

		LWLockAcquire(lock, LW_SHARED);
		for (i = 0; i < SHARED_WAYS; i++)
			if (SlotIs(&way[i], user_id, chunk))
			{
				slot = &way[i];
				break;
			}
		if (slot != NULL && chunk == 0)
		{
			stamp = slot->stamp;
			nteams = slot->nteams;
			*registered = slot->registered != 0;
			if (stamp <= floor_stamp)
				slot = NULL;	/* loaded before a change we know of */
			else if (nteams > cap)
			{
				LWLockRelease(lock);
				return nteams;
			}
		}
		if (slot == NULL || slot->stamp != stamp ||
			slot->count > nteams - copied)
		{
			/* missing, stale, or a chunk of another load */
			LWLockRelease(lock);
			pg_atomic_fetch_add_u64(&st->s.misses, 1);
			return -1;
		}
		for (i = 0; i < slot->count; i++)
		{
			memcpy(&out[copied].team_id, &slot->m[i].team_id, UUID_LEN);
			memcpy(&out[copied].role_id, &slot->m[i].role_id, UUID_LEN);
			out[copied].blocked = (slot->blocked & (1 << i)) != 0;
			copied++;
		}
		slot->referenced = 1;	/* a benign race among readers */
		LWLockRelease(lock);
		if (nteams == 0)
			break;
	}
	pg_atomic_fetch_add_u64(&st->s.hits, 1);
	return nteams;
}

/*
 * The slot a publication of (user, chunk) goes to, in a set locked
 * exclusively: the same key's (if not newer than stamp: NULL), else an
 * empty one, else one loaded before the newest invalidation any backend
 * accepted (stale for that backend, and for the others once they see it),
 * else the first one the clock hand finds unreferenced.
 */
static SharedSlot *
ChooseSlot(uint32 set, const pg_uuid_t *user_id, int chunk, uint64 stamp,
		   bool *evicts)
{
	SharedSlot *way = &slots[(Size) set * SHARED_WAYS];
	uint64		horizon = pg_atomic_read_u64(&shared->last_invalidation);
	int			empty = -1;
	int			stale = -1;
	int			i;

	*evicts = false;
	for (i = 0; i < SHARED_WAYS; i++)
	{
		if (SlotIs(&way[i], user_id, chunk))
			return way[i].stamp < stamp ? &way[i] : NULL;
		if (way[i].stamp == 0)
		{
			if (empty < 0)
				empty = i;
		}
		else if (way[i].stamp < horizon && stale < 0)
			stale = i;
	}
	if (empty >= 0)
		return &way[empty];
	if (stale >= 0)
		return &way[stale];
	for (i = 0; i < 2 * SHARED_WAYS; i++)
	{
		SharedSlot *slot = &way[hands[set]];

		hands[set] = (hands[set] + 1) % SHARED_WAYS;
		if (!slot->referenced)
		{
			*evicts = true;
			return slot;
		}
		slot->referenced = 0;
	}
	*evicts = true;
	return &way[hands[set]];	/* every slot was referenced twice: any */
}

/*
 * Publish a user's memberships (in team order), loaded under a snapshot
 * taken after clock value stamp.  Slots holding a newer load are kept.
 */
void
teamacl_shared_publish(const pg_uuid_t *user_id, uint64 stamp, bool registered,
					   const TeamaclMember *members, int nteams)
{
	int			nchunks = Max(1, (nteams + SHARED_SLOT_TEAMS - 1) / SHARED_SLOT_TEAMS);
	int			chunk;

	if (shared == NULL || stamp == 0 || nchunks > SHARED_MAX_CHUNKS)
		return;
	/* the head last: a reader finding it finds the other chunks written */
	for (chunk = nchunks - 1; chunk >= 0; chunk--)
	{
		uint32		set = SlotHash(user_id, chunk) % shared->nsets;
		int			part = set % SHARED_PARTITIONS;
		int			first = chunk * SHARED_SLOT_TEAMS;
		int			count = Min(SHARED_SLOT_TEAMS, nteams - first);
		SharedSlot *slot;
		bool		evicts;
		int			i;

		LWLockAcquire(&locks[part].lock, LW_EXCLUSIVE);
		slot = ChooseSlot(set, user_id, chunk, stamp, &evicts);
		if (slot == NULL)
		{
			/* a newer load of this chunk is here already */
			LWLockRelease(&locks[part].lock);
			continue;
		}
		memcpy(&slot->user_id, user_id, UUID_LEN);
		slot->database = MyDatabaseId;
		slot->chunk = chunk;
		slot->nteams = nteams;
		slot->count = count;
		slot->registered = registered ? 1 : 0;
		slot->blocked = 0;
		slot->referenced = 1;
		for (i = 0; i < count; i++)
		{
			memcpy(&slot->m[i].team_id, &members[first + i].team_id, UUID_LEN);
			memcpy(&slot->m[i].role_id, &members[first + i].role_id, UUID_LEN);
			if (members[first + i].blocked)
				slot->blocked |= 1 << i;
		}
		slot->stamp = stamp;
		LWLockRelease(&locks[part].lock);
		pg_atomic_fetch_add_u64(&shared->stats[part].s.publishes, 1);
		if (evicts)
			pg_atomic_fetch_add_u64(&shared->stats[part].s.evictions, 1);
	}
}

/*
 * Copy this database's catalogue image into buf (TEAMACL_SHARED_CATALOG_BYTES
 * long), if it is here and fresh for this backend: its length, or 0.
 */
Size
teamacl_shared_catalog_lookup(char *buf)
{
	Size		len = 0;
	int			i;

	LWLockAcquire(catalog_lock, LW_SHARED);
	for (i = 0; i < SHARED_CATALOGS; i++)
	{
		SharedCatalog *cat = &shared->catalogs[i];

		if (cat->database != MyDatabaseId)
			continue;
		if (cat->stamp > floor_stamp)
		{
			len = cat->len;
			memcpy(buf, cat->image, len);
			cat->used = cat->stamp; /* a benign race among readers */
		}
		break;
	}
	LWLockRelease(catalog_lock);
	return len;
}

/*
 * Publish this database's catalogue image, loaded under a snapshot taken
 * after clock value stamp.  A newer one is kept.  A full table gives up
 * the catalogue used least recently.
 */
void
teamacl_shared_catalog_publish(uint64 stamp, const char *image, Size len)
{
	SharedCatalog *slot = NULL;
	int			i;

	if (shared == NULL || stamp == 0 || len > TEAMACL_SHARED_CATALOG_BYTES)
		return;
	LWLockAcquire(catalog_lock, LW_EXCLUSIVE);
	for (i = 0; i < SHARED_CATALOGS; i++)
	{
		SharedCatalog *cat = &shared->catalogs[i];

		if (cat->database == MyDatabaseId)
		{
			slot = cat->stamp < stamp ? cat : NULL;
			goto found;
		}
		if (slot == NULL || cat->database == InvalidOid ||
			(slot->database != InvalidOid && cat->used < slot->used))
			slot = cat;
	}
found:
	if (slot != NULL)
	{
		slot->database = MyDatabaseId;
		slot->stamp = stamp;
		slot->used = stamp;
		slot->len = len;
		memcpy(slot->image, image, len);
	}
	LWLockRelease(catalog_lock);
}

/*
 * shared_cache_stats(): the shared cache's size and what it did since the
 * server started: slots in all and in use (a scan without locks, so
 * approximate under load), bytes of shared memory, users found, lookups
 * that found nothing fresh, slots written, live slots replaced.
 */
Datum
teamacl_shared_cache_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {false, false, false, false, false, false, false};
	int64		used = 0;
	uint64		hits = 0,
				misses = 0,
				publishes = 0,
				evictions = 0;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("function returning record called in context that cannot accept type record")));
	if (shared != NULL)
	{
		Size		i;
		int			p;

		for (i = 0; i < (Size) shared->nsets * SHARED_WAYS; i++)
			if (slots[i].stamp != 0)
				used++;
		for (p = 0; p < SHARED_PARTITIONS; p++)
		{
			hits += pg_atomic_read_u64(&shared->stats[p].s.hits);
			misses += pg_atomic_read_u64(&shared->stats[p].s.misses);
			publishes += pg_atomic_read_u64(&shared->stats[p].s.publishes);
			evictions += pg_atomic_read_u64(&shared->stats[p].s.evictions);
		}
	}
	values[0] = Int64GetDatum(shared ? (int64) shared->nsets * SHARED_WAYS : 0);
	values[1] = Int64GetDatum(used);
	values[2] = Int64GetDatum(shared ? (int64) SharedSize(shared->nsets) : 0);
	values[3] = Int64GetDatum((int64) hits);
	values[4] = Int64GetDatum((int64) misses);
	values[5] = Int64GetDatum((int64) publishes);
	values[6] = Int64GetDatum((int64) evictions);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc),
													  values, nulls)));
}
