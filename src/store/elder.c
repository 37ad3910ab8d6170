/*
 * store, elder side.  A profile and its ordered contacts are written in one
 * transaction, so a reader never sees half a family.  The escalation log
 * is written step by step as it happens: it is the evidence of who was
 * tried and when.
 */
#include <string.h>
#include <errno.h>
#include <sqlite3.h>
#include <re.h>
#include "store/store.h"
#include "store/store_int.h"
#include "store/elder.h"

const char store_elder_schema[] =
	"CREATE TABLE elder_profiles("
	" account TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL,"
	" address TEXT NOT NULL, district TEXT NOT NULL, conditions TEXT NOT"
	" NULL, lang TEXT NOT NULL, updated_ms INTEGER NOT NULL);"
	"CREATE TABLE elder_contacts("
	" account TEXT NOT NULL, seq INTEGER NOT NULL, name TEXT NOT NULL,"
	" relation TEXT NOT NULL, number TEXT NOT NULL,"
	" PRIMARY KEY(account, seq)) WITHOUT ROWID;"
	"CREATE TABLE elder_calls("
	" id INTEGER PRIMARY KEY, callid TEXT NOT NULL UNIQUE, caller TEXT"
	" NOT NULL, kind TEXT NOT NULL, booth TEXT NOT NULL, start_ms INTEGER"
	" NOT NULL, end_ms INTEGER NOT NULL DEFAULT 0, outcome TEXT NOT NULL"
	" DEFAULT '', answered_by TEXT NOT NULL DEFAULT '', number TEXT NOT"
	" NULL DEFAULT '');"
	"CREATE INDEX elder_calls_c ON elder_calls(caller, start_ms);"
	"CREATE TABLE elder_log("
	" id INTEGER PRIMARY KEY, callid TEXT NOT NULL, ts_ms INTEGER NOT"
	" NULL, step TEXT NOT NULL, contact INTEGER NOT NULL DEFAULT 0,"
	" name TEXT NOT NULL DEFAULT '', number TEXT NOT NULL DEFAULT '',"
	" detail TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX elder_log_c ON elder_log(callid, id);";

static int exec(struct store *st, const char *sql)
{
	int rc = sqlite3_exec(store_db(st), sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : store_sqlerr(st, rc, sql);
}



int store_elder_put(struct store *st, const struct store_elder *e)
{
	int err = exec(st, "BEGIN IMMEDIATE");

	if (err)
		return err;
	err = store_run(st, "INSERT OR REPLACE INTO elder_profiles(account,"
			"kind,name,address,district,conditions,lang,"
			"updated_ms) VALUES(?,?,?,?,?,?,?,?)", "sssssssi",
			e->account, e->kind, e->name, e->address, e->district,
			e->conditions, e->lang, e->updated_ms);
	if (!err) {
		err = store_run(st, "DELETE FROM elder_contacts WHERE "
				"account=?", "s", e->account);
		if (err == ENOENT)
			err = 0;
	}
	for (uint32_t i = 0; !err && i < e->ncontacts; i++) {
		const struct store_elder_contact *c = &e->contacts[i];
		err = store_run(st, "INSERT INTO elder_contacts(account,seq,"
				"name,relation,number) VALUES(?,?,?,?,?)",
				"sisss", e->account, (int64_t)i + 1, c->name,
				c->relation, c->number);
	}
	if (err) {
		(void)exec(st, "ROLLBACK");
		return err;
	}
	return exec(st, "COMMIT");
}

#define PROFILE_COLS "account,kind,name,address,district,conditions,lang," \
	"updated_ms"

static void profile_of(sqlite3_stmt *s, struct store_elder *e)
{
	memset(e, 0, sizeof(*e));
	store_col_text(s, 0, e->account, sizeof(e->account));
	store_col_text(s, 1, e->kind, sizeof(e->kind));
	store_col_text(s, 2, e->name, sizeof(e->name));
	store_col_text(s, 3, e->address, sizeof(e->address));
	store_col_text(s, 4, e->district, sizeof(e->district));
	store_col_text(s, 5, e->conditions, sizeof(e->conditions));
	store_col_text(s, 6, e->lang, sizeof(e->lang));
	e->updated_ms = sqlite3_column_int64(s, 7);
}

static int contacts_of(struct store *st, struct store_elder *e)
{
	sqlite3_stmt *s;
	int rc, err;

	err = store_query(st, &s, "SELECT name,relation,number FROM elder_contacts "
		    "WHERE account=? ORDER BY seq", "s", e->account);
	if (err)
		return err;
	e->ncontacts = 0;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW &&
	       e->ncontacts < ELDER_CONTACTS_MAX) {
		struct store_elder_contact *c = &e->contacts[e->ncontacts++];
		store_col_text(s, 0, c->name, sizeof(c->name));
		store_col_text(s, 1, c->relation, sizeof(c->relation));
		store_col_text(s, 2, c->number, sizeof(c->number));
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 :
		store_sqlerr(st, rc, "elder contacts");
}

int store_elder_get(struct store *st, const char *account,
		    struct store_elder *e)
{
	sqlite3_stmt *s;
	int rc, err;

	err = store_query(st, &s, "SELECT " PROFILE_COLS " FROM elder_profiles "
		    "WHERE account=?", "s", account);
	if (err)
		return err;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		profile_of(s, e);
	sqlite3_finalize(s);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? ENOENT :
			store_sqlerr(st, rc, "elder profile");
	return contacts_of(st, e);
}

int store_elder_del(struct store *st, const char *account)
{
	int err = exec(st, "BEGIN IMMEDIATE");

	if (err)
		return err;
	err = store_run(st, "DELETE FROM elder_profiles WHERE account=?", "s",
			account);
	if (!err) {
		int e2 = store_run(st, "DELETE FROM elder_contacts WHERE "
				   "account=?", "s", account);
		err = e2 == ENOENT ? 0 : e2;
	}
	if (err) {
		(void)exec(st, "ROLLBACK");
		return err;
	}
	return exec(st, "COMMIT");
}

int store_elder_list(struct store *st, store_elder_h *h, void *arg)
{
	struct store_elder e;
	sqlite3_stmt *s;
	int rc, err;

	err = store_query(st, &s, "SELECT " PROFILE_COLS " FROM elder_profiles "
		    "ORDER BY account", NULL);
	if (err)
		return err;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		profile_of(s, &e);
		err = contacts_of(st, &e);
		if (err)
			break;
		h(&e, arg);
	}
	sqlite3_finalize(s);
	if (err)
		return err;
	return rc == SQLITE_DONE ? 0 : store_sqlerr(st, rc, "elder list");
}

int store_elder_call_add(struct store *st, const struct store_elder_call *c)
{
	return store_run(st, "INSERT OR IGNORE INTO elder_calls(callid,caller,"
			 "kind,booth,start_ms) VALUES(?,?,?,?,?)", "ssssi",
			 c->callid, c->caller, c->kind, c->booth, c->start_ms);
}

int store_elder_call_end(struct store *st, const char *callid,
			 const char *outcome, const char *answered_by,
			 const char *number, int64_t end_ms)
{
	return store_run(st, "UPDATE elder_calls SET outcome=?, answered_by=?,"
			 " number=?, end_ms=? WHERE callid=?", "sssis",
			 outcome, answered_by, number, end_ms, callid);
}

int store_elder_step(struct store *st, const char *callid, int64_t ts_ms,
		     const char *step, uint32_t contact, const char *name,
		     const char *number, const char *detail)
{
	return store_run(st, "INSERT INTO elder_log(callid,ts_ms,step,contact,"
			 "name,number,detail) VALUES(?,?,?,?,?,?,?)",
			 "sisisss", callid, ts_ms, step, (int64_t)contact,
			 name, number, detail);
}

static int steps_json(struct store *st, const char *callid, struct mbuf *mb)
{
	sqlite3_stmt *s;
	int rc, err;
	bool first = true;

	err = store_query(st, &s, "SELECT ts_ms,step,contact,name,number,detail "
		    "FROM elder_log WHERE callid=? ORDER BY id", "s", callid);
	if (err)
		return err;
	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		err = mbuf_printf(mb, "%s{\"ts_ms\":%lld,\"step\":\"%H\","
				  "\"contact\":%lld,\"name\":\"%H\","
				  "\"number\":\"%H\",\"detail\":\"%H\"}",
				  first ? "" : ",",
				  (long long)sqlite3_column_int64(s, 0),
				  store_json_esc, sqlite3_column_text(s, 1),
				  (long long)sqlite3_column_int64(s, 2),
				  store_json_esc, sqlite3_column_text(s, 3),
				  store_json_esc, sqlite3_column_text(s, 4),
				  store_json_esc, sqlite3_column_text(s, 5));
		first = false;
	}
	sqlite3_finalize(s);
	if (err)
		return err;
	return rc == SQLITE_DONE ? 0 : store_sqlerr(st, rc, "elder log");
}

int store_elder_calls_json(struct store *st, const char *callid,
			   const char *caller, uint32_t limit,
			   struct mbuf *mb, uint32_t *n)
{
	struct store_elder_call c;
	sqlite3_stmt *s;
	int rc = SQLITE_DONE, err;

	*n = 0;
	err = store_query(st, &s, "SELECT callid,caller,kind,booth,start_ms,end_ms,"
		    "outcome,answered_by,number FROM elder_calls WHERE "
		    "(?1='' OR callid=?1) AND (?2='' OR caller=?2) ORDER BY id"
		    " DESC LIMIT ?3", "ssi", callid, caller, (int64_t)limit);
	if (err)
		return err;
	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&c, 0, sizeof(c));
		store_col_text(s, 0, c.callid, sizeof(c.callid));
		store_col_text(s, 1, c.caller, sizeof(c.caller));
		store_col_text(s, 2, c.kind, sizeof(c.kind));
		store_col_text(s, 3, c.booth, sizeof(c.booth));
		c.start_ms = sqlite3_column_int64(s, 4);
		c.end_ms = sqlite3_column_int64(s, 5);
		store_col_text(s, 6, c.outcome, sizeof(c.outcome));
		store_col_text(s, 7, c.answered_by, sizeof(c.answered_by));
		store_col_text(s, 8, c.number, sizeof(c.number));
		err = mbuf_printf(mb, "%s{\"call\":\"%H\",\"caller\":\"%H\","
				  "\"kind\":\"%s\",\"booth\":\"%H\","
				  "\"start_ms\":%lld,\"end_ms\":%lld,"
				  "\"outcome\":\"%H\",\"answered_by\":\"%H\","
				  "\"number\":\"%H\",\"steps\":[",
				  *n ? "," : "", store_json_esc, c.callid,
				  store_json_esc, c.caller, c.kind,
				  store_json_esc, c.booth,
				  (long long)c.start_ms, (long long)c.end_ms,
				  store_json_esc, c.outcome, store_json_esc,
				  c.answered_by, store_json_esc, c.number);
		if (!err)
			err = steps_json(st, c.callid, mb);
		if (!err)
			err = mbuf_write_str(mb, "]}");
		(*n)++;
	}
	sqlite3_finalize(s);
	if (err)
		return err;
	return rc == SQLITE_DONE ? 0 : store_sqlerr(st, rc, "elder calls");
}
