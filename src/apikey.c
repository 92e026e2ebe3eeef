/*-------------------------------------------------------------------------
 *
 * apikey.c
 *	  API keys: team-scoped machine credentials that act for the person who
 *	  made them, never with more than that person holds now.
 *
 * A key is shown once (tacl_key_ + 256 random bits); teamacl.api_keys keeps
 * only its SHA-256.  set_api_key() hashes what it is given, finds the key
 * by one probe of the unique hash index (the same work for every input, so
 * unknown, malformed, expired and revoked keys cost the same and get one
 * error) and makes "key:<id>" the identity, with set_user()'s semantics.
 *
 * While a key is the identity, the checks see its creator restricted to
 * the key's team and to the permissions both the key's role and the
 * creator's current role there grant: a TeamaclUser of at most one team,
 * built from the creator's cache entry and the catalogue's role bitmaps,
 * and rebuilt whenever the cache generation moves (any change to
 * memberships, roles, users, teams or api_keys, through the same relcache
 * invalidation), so the hit path is set_user()'s.  Expiry is judged
 * against the statement's start time, once per statement.
 *
 * set_api_key() writes last_used_at at most once a minute per key, never
 * in a read-only transaction or on a standby (a key named by PostgREST's
 * Authorization header is not recorded: that runs inside other statements).  A key presented after its
 * expiry is audited (key.expired-on-use) by a background worker, since the
 * error aborts the presenting transaction; at most once a minute per key
 * and backend.
 *
 * Copyright (c) 2026, teamacl developers
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "teamacl.h"

PG_FUNCTION_INFO_V1(teamacl_set_api_key);
PG_FUNCTION_INFO_V1(teamacl_current_api_key_id);

PGDLLEXPORT void teamacl_audit_worker(Datum main_arg);

/* How often last_used_at may be written, and expiry audited, per key. */
#define KEY_TOUCH_INTERVAL	(60 * USECS_PER_SEC)

typedef struct KeyEntry
{
	pg_uuid_t	key_id;			/* hash key: must be first */
	uint64		generation;		/* cache generation of all below */
	bool		exists;
	bool		revoked;
	bool		has_role;
	bool		expires;
	bool		creator_ok;		/* the creator exists and has registered */
	pg_uuid_t	team_id;
	pg_uuid_t	role_id;
	pg_uuid_t	creator;
	TimestampTz expires_at;
	TimestampTz touched_at;		/* this backend's last attempt to write it */
	TimestampTz audited_at;		/* this backend's last expiry audit */
	TeamaclTeam team;			/* the one team the key acts in */
	TeamaclUser view;			/* the creator, seen through the key */
} KeyEntry;

/* What the loader reads; resolved again whenever the catalogue reloads. */
static struct
{
	uint64		catalog;
	Oid			rel;
	Oid			pkey;
	Oid			hash_idx;
	AttrNumber	id;
	AttrNumber	team_id;
	AttrNumber	role_id;
	AttrNumber	created_by;
	AttrNumber	key_hash;
	AttrNumber	expires_at;
	AttrNumber	revoked_at;
} keyrel;

/* hash of a key presented before -> its id, for keys that were usable */
typedef struct KnownHash
{
	uint8		hash[PG_SHA256_DIGEST_LENGTH];	/* hash key */
	pg_uuid_t	key_id;
} KnownHash;

static MemoryContext KeyContext = NULL;
static HTAB *key_hash = NULL;
static HTAB *known_hashes = NULL;
static int	key_count = 0;

/* the prepared write of last_used_at */
static SPIPlanPtr touch_plan = NULL;

/* the last key answered, and for which statement */
static KeyEntry *last_key = NULL;
static uint64 last_key_statement = 0;
static bool last_key_usable = false;

/* the last request.headers seen, and the key it named */
static char *header_last = NULL;
static bool header_last_found = false;
static pg_uuid_t header_last_key;

static void
ResolveKeyRelation(void)
{
	Oid			nsp;

	if (keyrel.catalog == teamacl_catalog_generation() && OidIsValid(keyrel.rel))
		return;
	nsp = get_namespace_oid("teamacl", false);
	keyrel.rel = get_relname_relid("api_keys", nsp);
	if (!OidIsValid(keyrel.rel))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("teamacl relation \"api_keys\" is missing"),
				 errhint("Run ALTER EXTENSION teamacl UPDATE.")));
	keyrel.pkey = get_relname_relid("api_keys_pkey", nsp);
	keyrel.hash_idx = get_relname_relid("api_keys_key_hash_key", nsp);
	keyrel.id = get_attnum(keyrel.rel, "id");
	keyrel.team_id = get_attnum(keyrel.rel, "team_id");
	keyrel.role_id = get_attnum(keyrel.rel, "role_id");
	keyrel.created_by = get_attnum(keyrel.rel, "created_by");
	keyrel.key_hash = get_attnum(keyrel.rel, "key_hash");
	keyrel.expires_at = get_attnum(keyrel.rel, "expires_at");
	keyrel.revoked_at = get_attnum(keyrel.rel, "revoked_at");
	if (!OidIsValid(keyrel.pkey) || !OidIsValid(keyrel.hash_idx) ||
		keyrel.id == InvalidAttrNumber || keyrel.team_id == InvalidAttrNumber ||
		keyrel.role_id == InvalidAttrNumber || keyrel.created_by == InvalidAttrNumber ||
		keyrel.key_hash == InvalidAttrNumber || keyrel.expires_at == InvalidAttrNumber ||
		keyrel.revoked_at == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("teamacl relation \"api_keys\" is not the expected shape"),
				 errhint("Reinstall or update the extension.")));
	keyrel.catalog = teamacl_catalog_generation();
}

/*
 * One probe of the unique index on key_hash: the id of the key with that
 * hash.  Every input costs this same probe.
 */
static bool
ProbeKeyHash(bytea *hash, pg_uuid_t *key_id)
{
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	ScanKeyData key;
	Snapshot	snap;
	bool		found = false;

	ResolveKeyRelation();
	snap = teamacl_loader_snapshot();
	rel = table_open(keyrel.rel, AccessShareLock);
	ScanKeyInit(&key, keyrel.key_hash, BTEqualStrategyNumber, F_BYTEAEQ,
				PointerGetDatum(hash));
	scan = systable_beginscan(rel, keyrel.hash_idx, true, snap, 1, &key);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		Datum		d = heap_getattr(tup, keyrel.id, RelationGetDescr(rel), &isnull);

		memcpy(key_id, DatumGetUUIDP(d), UUID_LEN);
		found = true;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	UnregisterSnapshot(snap);
	return found;
}

static void
FreeView(KeyEntry *entry)
{
	int			i;

	if (entry->view.teams_with != NULL)
	{
		for (i = 0; i < entry->view.nperms; i++)
			if (entry->view.teams_with[i] != (Datum) 0)
				pfree(DatumGetPointer(entry->view.teams_with[i]));
		pfree(entry->view.teams_with);
		entry->view.teams_with = NULL;
	}
	if (entry->team.perms != NULL)
		bms_free(entry->team.perms);
	entry->team.perms = NULL;
	entry->view.nteams = 0;
	entry->view.nperms = 0;
}

/* Read the key's row, then build the creator's view through it. */
static void
LoadKey(KeyEntry *entry)
{
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;
	ScanKeyData key;
	Snapshot	snap;
	TeamaclUser *creator;
	const TeamaclTeam *team = NULL;
	MemoryContext old;

	FreeView(entry);
	entry->exists = false;
	entry->creator_ok = false;

	ResolveKeyRelation();
	snap = teamacl_loader_snapshot();
	rel = table_open(keyrel.rel, AccessShareLock);
	ScanKeyInit(&key, keyrel.id, BTEqualStrategyNumber, F_UUID_EQ,
				UUIDPGetDatum(&entry->key_id));
	scan = systable_beginscan(rel, keyrel.pkey, true, snap, 1, &key);
	if (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		TupleDesc	desc = RelationGetDescr(rel);
		bool		isnull;
		Datum		d;

		entry->exists = true;
		d = heap_getattr(tup, keyrel.team_id, desc, &isnull);
		memcpy(&entry->team_id, DatumGetUUIDP(d), UUID_LEN);
		d = heap_getattr(tup, keyrel.created_by, desc, &isnull);
		memcpy(&entry->creator, DatumGetUUIDP(d), UUID_LEN);
		d = heap_getattr(tup, keyrel.role_id, desc, &isnull);
		entry->has_role = !isnull;
		if (!isnull)
			memcpy(&entry->role_id, DatumGetUUIDP(d), UUID_LEN);
		d = heap_getattr(tup, keyrel.expires_at, desc, &isnull);
		entry->expires = !isnull;
		entry->expires_at = isnull ? 0 : DatumGetTimestampTz(d);
		(void) heap_getattr(tup, keyrel.revoked_at, desc, &isnull);
		entry->revoked = !isnull;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	UnregisterSnapshot(snap);

	if (!entry->exists)
		return;

	/* the creator, as the cache sees them now */
	creator = teamacl_lookup_user(&entry->creator);
	entry->creator_ok = creator->exists && creator->registered;
	if (entry->creator_ok)
		team = teamacl_user_team(creator, &entry->team_id);

	old = MemoryContextSwitchTo(KeyContext);
	entry->view.user_id = entry->creator;
	entry->view.exists = true;
	entry->view.registered = true;
	entry->view.teams = &entry->team;
	entry->team.team_id = entry->team_id;
	entry->team.perms = NULL;
	if (team != NULL && entry->has_role)
	{
		const Bitmapset *role = teamacl_role_perms(&entry->role_id);

		if (role != NULL && team->perms != NULL)
			entry->team.perms = bms_intersect(team->perms, role);
	}
	entry->view.nteams = team != NULL ? 1 : 0;
	entry->view.nperms = teamacl_permission_count();
	entry->view.teams_with = palloc0(sizeof(Datum) * Max(entry->view.nperms, 1));
	entry->view.arrays = KeyContext;
	MemoryContextSwitchTo(old);
}

/* The current entry of a key, loaded on a miss.  Call cache_begin first. */
static KeyEntry *
LookupKey(const pg_uuid_t *key_id)
{
	KeyEntry   *entry;
	bool		found;

	if (key_hash == NULL || key_count > Max(teamacl_cache_size, 1))
	{
		HASHCTL		ctl;

		/* keys are few: when there are too many, start afresh */
		if (key_hash != NULL)
		{
			HASH_SEQ_STATUS seq;
			KeyEntry   *e;

			hash_seq_init(&seq, key_hash);
			while ((e = hash_seq_search(&seq)) != NULL)
				FreeView(e);
		}
		if (KeyContext == NULL)
			KeyContext = AllocSetContextCreate(CacheMemoryContext,
											   "teamacl API keys",
											   ALLOCSET_SMALL_SIZES);
		else
			MemoryContextReset(KeyContext);
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(pg_uuid_t);
		ctl.entrysize = sizeof(KeyEntry);
		ctl.hcxt = KeyContext;
		key_hash = hash_create("teamacl API keys", 64, &ctl,
							   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = PG_SHA256_DIGEST_LENGTH;
		ctl.entrysize = sizeof(KnownHash);
		ctl.hcxt = KeyContext;
		known_hashes = hash_create("teamacl API key hashes", 64, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		key_count = 0;
		last_key = NULL;
	}
	entry = hash_search(key_hash, key_id, HASH_ENTER, &found);
	if (!found)
	{
		memset((char *) entry + sizeof(pg_uuid_t), 0, sizeof(KeyEntry) - sizeof(pg_uuid_t));
		key_count++;
	}
	while (entry->generation != teamacl_cache_generation())
	{
		uint64		generation;

		teamacl_cache_begin();
		generation = teamacl_cache_generation();
		PG_TRY();
		{
			LoadKey(entry);
		}
		PG_CATCH();
		{
			entry->generation = 0;
			PG_RE_THROW();
		}
		PG_END_TRY();
		entry->generation = generation;
	}
	return entry;
}

/* Unknown, revoked or expired as of this statement: set_api_key refuses it. */
static bool
KeyRefused(const KeyEntry *entry)
{
	return !entry->exists || entry->revoked ||
		(entry->expires && entry->expires_at <= GetCurrentStatementStartTimestamp());
}

/* Whether the key grants anything now: not refused, its creator still there. */
static bool
KeyUsable(const KeyEntry *entry)
{
	return !KeyRefused(entry) && entry->creator_ok;
}

/*
 * The creator seen through key_id for this statement, or NULL when the key
 * is unknown, revoked or expired.  The hit path (same key, statement and
 * cache generation) compares and returns.
 */
TeamaclUser *
teamacl_key_user(const pg_uuid_t *key_id)
{
	uint64		statement = teamacl_statement_id();

	if (last_key != NULL && last_key_statement == statement &&
		last_key->generation == teamacl_cache_generation() &&
		memcmp(&last_key->key_id, key_id, UUID_LEN) == 0)
		return last_key_usable ? &last_key->view : NULL;

	last_key = LookupKey(key_id);
	last_key_statement = statement;
	last_key_usable = KeyUsable(last_key);
	return last_key_usable ? &last_key->view : NULL;
}

/*
 * Write last_used_at (in api_key_usage, a row apart from the key's, so a
 * transaction using a key never holds up its revocation), at most once a
 * minute per key: the row is updated only if nobody did within the minute,
 * and never waits for another session's lock on it.  Runs as the table's
 * owner, like a definer function.
 */
static void
TouchKey(KeyEntry *entry)
{
	TimestampTz now = GetCurrentTimestamp();
	Oid			owner;
	Oid			save_userid;
	int			save_sec;
	HeapTuple	tup;

	if (RecoveryInProgress() || XactReadOnly)
		return;
	if (entry->touched_at != 0 && now - entry->touched_at < KEY_TOUCH_INTERVAL)
		return;
	entry->touched_at = now;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(keyrel.rel));
	if (!HeapTupleIsValid(tup))
		return;
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);

	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		Oid			argtypes[1] = {UUIDOID};
		Datum		args[1] = {UUIDPGetDatum(&entry->key_id)};

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		/* planned once per backend; the plan cache revalidates it */
		if (touch_plan == NULL)
		{
			SPIPlanPtr	plan = SPI_prepare("UPDATE teamacl.api_key_usage u SET last_used_at = pg_catalog.now()"
										   " WHERE u.key_id OPERATOR(pg_catalog.=) (SELECT x.key_id FROM teamacl.api_key_usage x"
										   " WHERE x.key_id OPERATOR(pg_catalog.=) $1"
										   " AND (x.last_used_at IS NULL OR x.last_used_at OPERATOR(pg_catalog.<)"
										   " (pg_catalog.now() OPERATOR(pg_catalog.-) '1 minute'::pg_catalog.interval))"
										   " FOR UPDATE SKIP LOCKED)",
										   1, argtypes);

			if (plan == NULL || SPI_keepplan(plan) != 0)
				elog(ERROR, "could not prepare the use of an API key: %s",
					 SPI_result_code_string(SPI_result));
			touch_plan = plan;
		}
		if (SPI_execute_plan(touch_plan, args, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not record the use of an API key");
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
}

/*
 * Audit a key presented after its expiry.  The presenting transaction is
 * about to fail, so a background worker writes the row in its own
 * transaction; when none can be started, the server log says so.
 */
static void
AuditExpiredUse(KeyEntry *entry)
{
	BackgroundWorker worker;
	TimestampTz now = GetCurrentTimestamp();
	Oid			role = GetSessionUserId();

	if (RecoveryInProgress())
		return;
	if (entry->audited_at != 0 && now - entry->audited_at < KEY_TOUCH_INTERVAL)
		return;
	entry->audited_at = now;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "teamacl");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "teamacl_audit_worker");
	snprintf(worker.bgw_name, BGW_MAXLEN, "teamacl audit of an expired API key");
	snprintf(worker.bgw_type, BGW_MAXLEN, "teamacl audit");
	worker.bgw_main_arg = ObjectIdGetDatum(MyDatabaseId);
	memcpy(worker.bgw_extra, &entry->key_id, UUID_LEN);
	memcpy(worker.bgw_extra + UUID_LEN, &role, sizeof(Oid));
	worker.bgw_notify_pid = 0;
	if (!RegisterDynamicBackgroundWorker(&worker, NULL))
		ereport(LOG,
				(errmsg("teamacl could not start a worker to audit the use of an expired API key"),
				 errhint("Raise max_worker_processes.")));
}

/* The background worker that writes a key.expired-on-use audit row. */
void
teamacl_audit_worker(Datum main_arg)
{
	pg_uuid_t	key_id;
	Oid			role;
	char	   *rolname;
	Oid			argtypes[2] = {UUIDOID, NAMEOID};
	Datum		args[2];
	NameData	name;

	memcpy(&key_id, MyBgworkerEntry->bgw_extra, UUID_LEN);
	memcpy(&role, MyBgworkerEntry->bgw_extra + UUID_LEN, sizeof(Oid));
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(main_arg), InvalidOid, 0);

	StartTransactionCommand();
	rolname = GetUserNameFromId(role, true);
	namestrcpy(&name, rolname ? rolname : "");
	args[0] = UUIDPGetDatum(&key_id);
	args[1] = NameGetDatum(&name);
	SPI_connect();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "teamacl: audit the use of an expired API key");
	SPI_execute_with_args("INSERT INTO teamacl.audit_log (actor, db_role, team_id, action, target, api_key_id)"
						  " SELECT k.created_by, $2, k.team_id, 'key.expired-on-use', k.id::pg_catalog.text, k.id"
						  " FROM teamacl.api_keys k WHERE k.id OPERATOR(pg_catalog.=) $1",
						  2, argtypes, args, NULL, false, 0);
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	proc_exit(0);
}

/* The one error for every key that cannot be used. */
static void
BadKey(void)
{
	/* the statement names the key: keep it out of the server log */
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("API key is invalid or has expired"),
			 errhint("Ask the team for a new key."),
			 errhidestmt(true),
			 errhidecontext(true)));
}

static bytea *
HashKey(text *key)
{
	return DatumGetByteaPP(DirectFunctionCall1(teamacl_hash_token, PointerGetDatum(key)));
}

/* set_api_key(key text, is_local boolean) */
Datum
teamacl_set_api_key(PG_FUNCTION_ARGS)
{
	bool		is_local = PG_ARGISNULL(1) ? true : PG_GETARG_BOOL(1);
	pg_uuid_t	key_id;
	KeyEntry   *entry = NULL;
	KnownHash  *known;
	bytea	   *hash;
	char		value[4 + UUID_LEN * 2 + 5];
	char	   *id;

	if (PG_ARGISNULL(0))
	{
		teamacl_set_identity("", is_local);
		PG_RETURN_VOID();
	}

	teamacl_cache_begin();
	hash = HashKey(PG_GETARG_TEXT_PP(0));

	/*
	 * A key this backend has seen usable, and still usable, needs no probe.
	 * Every other input, whatever is wrong with it, gets the same hash and
	 * the same one probe of the unique index.
	 */
	if (known_hashes != NULL &&
		(known = hash_search(known_hashes, VARDATA_ANY(hash), HASH_FIND, NULL)) != NULL)
	{
		key_id = known->key_id;
		entry = LookupKey(&key_id);
		if (KeyRefused(entry))
			entry = NULL;
	}
	if (entry == NULL)
	{
		if (ProbeKeyHash(hash, &key_id))
			entry = LookupKey(&key_id);
		if (entry == NULL || KeyRefused(entry))
		{
			if (entry != NULL && entry->exists && !entry->revoked)
				AuditExpiredUse(entry);
			BadKey();
		}
		known = hash_search(known_hashes, VARDATA_ANY(hash), HASH_ENTER, NULL);
		known->key_id = key_id;
	}

	TouchKey(entry);
	id = DatumGetCString(DirectFunctionCall1(uuid_out, UUIDPGetDatum(&key_id)));
	snprintf(value, sizeof(value), "key:%s", id);
	teamacl_set_identity(value, is_local);
	last_key = NULL;
	PG_RETURN_VOID();
}

/* current_api_key_id(): the key that is the identity, if usable */
Datum
teamacl_current_api_key_id(PG_FUNCTION_ARGS)
{
	pg_uuid_t  *result = palloc(sizeof(pg_uuid_t));

	teamacl_cache_begin();
	if (!teamacl_current_key(result))
		PG_RETURN_NULL();
	PG_RETURN_UUID_P(result);
}

/*
 * teamacl.api_key_header: "Authorization: Bearer tacl_key_..." in
 * PostgREST's request.headers names the key.  A header that names no
 * usable key identifies nobody (no error: checks are simply false).
 */
bool
teamacl_header_key(pg_uuid_t *key_id)
{
	const char *headers = GetConfigOption("request.headers", true, false);

	if (headers == NULL || headers[0] == '\0')
		return false;
	if (header_last == NULL || strcmp(headers, header_last) != 0)
	{
		bool		found = false;
		Datum		auth;
		char	   *copy;

		LOCAL_FCINFO(fcinfo, 2);

		InitFunctionCallInfoData(*fcinfo, NULL, 2, InvalidOid, NULL, NULL);
		fcinfo->args[0].value = CStringGetTextDatum(headers);
		fcinfo->args[0].isnull = false;
		fcinfo->args[1].value = CStringGetTextDatum("authorization");
		fcinfo->args[1].isnull = false;
		auth = json_object_field_text(fcinfo);
		if (!fcinfo->isnull)
		{
			char	   *s = TextDatumGetCString(auth);

			if (pg_strncasecmp(s, "bearer ", 7) == 0 && strncmp(s + 7, "tacl_key_", 9) == 0)
				found = ProbeKeyHash(HashKey(cstring_to_text(s + 7)), &header_last_key);
			explicit_bzero(s, strlen(s));
		}
		copy = MemoryContextStrdup(TopMemoryContext, headers);
		if (header_last)
		{
			explicit_bzero(header_last, strlen(header_last));
			pfree(header_last);
		}
		header_last = copy;
		header_last_found = found;
	}
	if (header_last_found)
		*key_id = header_last_key;
	return header_last_found;
}
