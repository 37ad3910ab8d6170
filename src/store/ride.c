/*
 * store, ride side.  A ride is written at every step before the booth or
 * the partner hears of it, so a restart resumes exactly where it stopped.
 * Rides come at human rates: statements are prepared per call.
 */
#include <string.h>
#include <errno.h>
#include <sqlite3.h>
#include <re.h>
#include "store/store.h"
#include "store/store_int.h"
#include "store/ride.h"

const char store_ride_schema[] =
	"CREATE TABLE rides("
	" id TEXT PRIMARY KEY, booth TEXT NOT NULL, state TEXT NOT NULL,"
	" reason TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '',"
	" partner_ref TEXT NOT NULL DEFAULT '', plate TEXT NOT NULL DEFAULT"
	" '', driver TEXT NOT NULL DEFAULT '', eta_s INTEGER NOT NULL DEFAULT"
	" -1, passengers INTEGER NOT NULL DEFAULT 1, note TEXT NOT NULL"
	" DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0,"
	" created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
	" deadline_ms INTEGER NOT NULL, request TEXT NOT NULL);"
	"CREATE INDEX rides_booth ON rides(booth, created_ms);"
	"CREATE INDEX rides_state ON rides(state, created_ms);"
	"CREATE INDEX rides_created ON rides(created_ms);"
	"CREATE TABLE ride_log("
	" id INTEGER PRIMARY KEY, ride TEXT NOT NULL, ts_ms INTEGER NOT NULL,"
	" state TEXT NOT NULL, detail TEXT NOT NULL);"
	"CREATE INDEX ride_log_r ON ride_log(ride, id);";

#define RIDE_COLS "id,booth,state,reason,detail,partner_ref,plate,driver," \
	"eta_s,passengers,note,attempts,created_ms,updated_ms,deadline_ms," \
	"request"

static void ride_of(sqlite3_stmt *s, struct store_ride *r)
{
	memset(r, 0, sizeof(*r));
	store_col_text(s, 0, r->id, sizeof(r->id));
	store_col_text(s, 1, r->booth, sizeof(r->booth));
	store_col_text(s, 2, r->state, sizeof(r->state));
	store_col_text(s, 3, r->reason, sizeof(r->reason));
	store_col_text(s, 4, r->detail, sizeof(r->detail));
	store_col_text(s, 5, r->partner_ref, sizeof(r->partner_ref));
	store_col_text(s, 6, r->plate, sizeof(r->plate));
	store_col_text(s, 7, r->driver, sizeof(r->driver));
	r->eta_s = (int32_t)sqlite3_column_int64(s, 8);
	r->passengers = (uint32_t)sqlite3_column_int64(s, 9);
	store_col_text(s, 10, r->note, sizeof(r->note));
	r->attempts = (uint32_t)sqlite3_column_int64(s, 11);
	r->created_ms = sqlite3_column_int64(s, 12);
	r->updated_ms = sqlite3_column_int64(s, 13);
	r->deadline_ms = sqlite3_column_int64(s, 14);
	store_col_text(s, 15, r->request, sizeof(r->request));
}


/* Step s, handing each ride to h; finalizes s.  *n counts the rows. */
static int each(struct store *st, sqlite3_stmt *s, store_ride_h *h,
		void *arg, uint32_t *n)
{
	struct store_ride *r = mem_zalloc(sizeof(*r), NULL);
	int rc = SQLITE_NOMEM;

	if (r) {
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			ride_of(s, r);
			if (n)
				++*n;
			h(r, arg);
		}
	}
	sqlite3_finalize(s);
	mem_deref(r);
	return rc == SQLITE_DONE ? 0 : store_sqlerr(st, rc, "ride");
}

int store_ride_add(struct store *st, const struct store_ride *r)
{
	return store_run(st, "INSERT INTO rides(" RIDE_COLS ") VALUES(?,?,?,"
			 "?,?,?,?,?,?,?,?,?,?,?,?,?)", "ssssssssiisiiiis",
			 r->id, r->booth, r->state, r->reason, r->detail,
			 r->partner_ref, r->plate, r->driver,
			 (int64_t)r->eta_s, (int64_t)r->passengers, r->note,
			 (int64_t)r->attempts, r->created_ms, r->updated_ms,
			 r->deadline_ms, r->request);
}

int store_ride_update(struct store *st, const struct store_ride *r)
{
	return store_run(st, "UPDATE rides SET state=?, reason=?, detail=?, "
			 "partner_ref=?, plate=?, driver=?, eta_s=?, "
			 "attempts=?, updated_ms=?, deadline_ms=? WHERE id=?",
			 "ssssssiiiis", r->state, r->reason, r->detail,
			 r->partner_ref, r->plate, r->driver,
			 (int64_t)r->eta_s, (int64_t)r->attempts,
			 r->updated_ms, r->deadline_ms, r->id);
}

static void copy_one(const struct store_ride *r, void *arg)
{
	memcpy(arg, r, sizeof(*r));
}

int store_ride_get(struct store *st, const char *id, struct store_ride *r)
{
	sqlite3_stmt *s;
	uint32_t n = 0;
	int err = store_query(st, &s, "SELECT " RIDE_COLS " FROM rides WHERE id=?",
			"s", id);

	if (!err)
		err = each(st, s, copy_one, r, &n);
	return err ? err : n ? 0 : ENOENT;
}

int store_ride_log(struct store *st, const char *id, int64_t ts_ms,
		   const char *state, const char *detail)
{
	return store_run(st, "INSERT INTO ride_log(ride,ts_ms,state,detail) "
			 "VALUES(?,?,?,?)", "siss", id, ts_ms, state, detail);
}

int store_ride_list(struct store *st, const char *booth, const char *state,
		    uint32_t limit, store_ride_h *h, void *arg)
{
	sqlite3_stmt *s;
	int err = store_query(st, &s, "SELECT " RIDE_COLS " FROM rides WHERE "
			"(?='' OR booth=?) AND (?='' OR state=?) ORDER BY "
			"created_ms DESC, id LIMIT ?", "ssssi", booth, booth,
			state, state, (int64_t)limit);

	return err ? err : each(st, s, h, arg, NULL);
}

int store_ride_pending(struct store *st, store_ride_h *h, void *arg)
{
	sqlite3_stmt *s;
	int err = store_query(st, &s, "SELECT " RIDE_COLS " FROM rides WHERE state "
			"IN ('requested','sent') ORDER BY created_ms", "");

	return err ? err : each(st, s, h, arg, NULL);
}

int store_ride_pending_of(struct store *st, const char *booth, char *id,
			  size_t sz)
{
	return store_row(st, "SELECT id FROM rides WHERE booth=? AND state IN "
			 "('requested','sent') ORDER BY created_ms DESC LIMIT 1",
			 1, "s", booth, id, sz);
}

int store_ride_steps(struct store *st, const char *id, store_ride_log_h *h,
		     void *arg)
{
	sqlite3_stmt *s;
	int rc, err = store_query(st, &s, "SELECT ts_ms,state,detail FROM ride_log "
			    "WHERE ride=? ORDER BY id", "s", id);

	if (err)
		return err;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		h(sqlite3_column_int64(s, 0),
		  (const char *)sqlite3_column_text(s, 1),
		  (const char *)sqlite3_column_text(s, 2), arg);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : store_sqlerr(st, rc, "ride log");
}
