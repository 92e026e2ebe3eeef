/*-------------------------------------------------------------------------
 *
 * compat.h
 *	  The few PostgreSQL APIs that differ between the supported majors
 *	  (15 to 18).  Each guard sits at the release that changed the API, so
 *	  majors between the tested ones build too.
 *
 * Copyright (c) 2026, teamacl developers
 *
 *-------------------------------------------------------------------------
 */
#ifndef TEAMACL_COMPAT_H
#define TEAMACL_COMPAT_H

#include "postgres.h"

/* 16 moved the varlena macros (VARDATA_ANY, SET_VARSIZE...) out of postgres.h */
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

/*
 * A GUC check hook's *extra: from 16 on guc.c frees it with guc_free()
 * (a pfree in its own context), before that with free().  Allocate and
 * free it the way the running server will.
 */
#if PG_VERSION_NUM >= 160000
#include "utils/guc.h"
#define teamacl_guc_malloc(size)	guc_malloc(LOG, (size))
#define teamacl_guc_free(ptr)		guc_free(ptr)
#else
#define teamacl_guc_malloc(size)	malloc(size)
#define teamacl_guc_free(ptr)		free(ptr)
#endif

/* 18 types base64's binary side as uint8 rather than char */
#if PG_VERSION_NUM >= 180000
typedef const uint8 *teamacl_b64_src;
#else
typedef const char *teamacl_b64_src;
#endif

/* 18 gave index_beginscan() an instrumentation argument (NULL: none) */
#if PG_VERSION_NUM >= 180000
#define teamacl_index_beginscan(heap, index, snap, nkeys) \
	index_beginscan((heap), (index), (snap), NULL, (nkeys), 0)
#else
#define teamacl_index_beginscan(heap, index, snap, nkeys) \
	index_beginscan((heap), (index), (snap), (nkeys), 0)
#endif

#endif							/* TEAMACL_COMPAT_H */
