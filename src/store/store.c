/*
 * store: SQLite in WAL mode with synchronous=NORMAL.  A committed
 * transaction is in the WAL file before sqlite3_step returns, so it
 * survives the process being killed; only a power cut can lose the last
 * commits (synchronous=FULL would fsync each record — measured too slow for
 * thousands of calls/s).  The schema is versioned with PRAGMA user_version
 * and ordered migrations.
 */
#include <string.h>
#include <errno.h>
#include <sqlite3.h>
#include <re.h>
#include "core/log.h"
#include "store/store.h"
#include "store/store_int.h"

enum stmt_id {
	S_ACC_ADD, S_ACC_DEL, S_ACC_GET, S_ACC_EXT, S_ACC_ADDR, S_ACC_LIST,
	S_BIND_PUT, S_BIND_DEL, S_BIND_DEL_ALL, S_BIND_LOAD, S_CDR_ADD,
	S_CDR_LIST, S_SITE_PUT, S_SITE_GET, S_CB_ADD, S_CB_LIST, S_SURVEY,
	S_QLOG, S_KPI, S_ALOG, S_OCC, S_MAX
};

#define ACC_COLS "user,ha1,realm,display,ext,kind,outbound,max_calls,from_addr"
#define CDR_COLS "callid,caller,callee,dialled,start_ms,ring_ms,answer_ms," \
	"end_ms,duration_s,billable_s,disposition,cause,reason,hangup_by," \
	"codec,pkts_a2b,bytes_a2b,pkts_b2a,bytes_b2a,lost_a2b,lost_b2a," \
	"hotline,language,path,survey,recording,recording_ms"

static const char *sql[S_MAX] = {
	[S_ACC_ADD]  = "INSERT INTO accounts(" ACC_COLS ") "
		       "VALUES(?,?,?,?,?,?,?,?,?)",
	[S_ACC_DEL]  = "DELETE FROM accounts WHERE user=?",
	[S_ACC_GET]  = "SELECT " ACC_COLS " FROM accounts WHERE user=?",
	[S_ACC_EXT]  = "SELECT " ACC_COLS " FROM accounts WHERE ext=?",
	[S_ACC_ADDR] = "SELECT " ACC_COLS " FROM accounts WHERE from_addr=?"
		       " AND from_addr<>''",
	[S_ACC_LIST] = "SELECT " ACC_COLS " FROM accounts ORDER BY user",
	[S_BIND_PUT] = "INSERT OR REPLACE INTO bindings(user,contact,src,"
		       "transport,expires_at,callid,cseq) VALUES(?,?,?,?,?,?,?)",
	[S_BIND_DEL] = "DELETE FROM bindings WHERE user=? AND contact=?",
	[S_BIND_DEL_ALL] = "DELETE FROM bindings WHERE user=?",
	[S_BIND_LOAD] = "SELECT user,contact,src,transport,expires_at,callid,"
		       "cseq FROM bindings WHERE expires_at>?",
	[S_CDR_ADD]  = "INSERT INTO cdr(" CDR_COLS ") VALUES(?,?,?,?,?,?,?,?,"
		       "?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
	[S_CDR_LIST] = "SELECT id," CDR_COLS " FROM cdr ORDER BY id DESC "
		       "LIMIT ?",
	[S_SITE_PUT] = "INSERT OR REPLACE INTO site(name,body,imported) "
		       "VALUES('site',?,strftime('%s','now'))",
	[S_SITE_GET] = "SELECT body FROM site WHERE name='site'",
	[S_CB_ADD]   = "INSERT INTO callbacks(created_ms,callid,caller,hotline,"
		       "number,recording) VALUES(?,?,?,?,?,?)",
	[S_CB_LIST]  = "SELECT id,created_ms,callid,caller,hotline,number,"
		       "recording,status FROM callbacks WHERE status='open' "
		       "ORDER BY id",
	[S_SURVEY]   = "SELECT count(*), coalesce(sum(survey<=2),0) FROM cdr "
		       "WHERE survey>0 AND (?1='' OR hotline=?1) AND "
		       "start_ms>=?2 AND start_ms<?3",
	[S_QLOG]     = "INSERT INTO queue_log(ts_ms,callid,queue,agent,event,"
		       "wait_ms,talk_ms,position,hotline) "
		       "VALUES(?,?,?,?,?,?,?,?,?)",
	[S_KPI]      = "SELECT "
		       " CASE WHEN ?6='' THEN sum(event='ENTER') ELSE"
		       " sum(event IN ('CONNECT','RINGNOANSWER')) END,"
		       " sum(event='CONNECT'),"
		       " sum(event='ABANDON'),"
		       " sum(event='ABANDON' AND wait_ms<?5*1000),"
		       " sum(event='EXITWITHTIMEOUT'),"
		       " sum(event='CONNECT' AND wait_ms<=?4*1000),"
		       " coalesce(sum(CASE WHEN event='CONNECT' THEN wait_ms END),0),"
		       " coalesce(sum(CASE WHEN event LIKE 'COMPLETE%' THEN talk_ms"
		       " END),0), sum(event LIKE 'COMPLETE%'),"
		       " coalesce(max(CASE WHEN event IN ('CONNECT','ABANDON',"
		       "'EXITWITHTIMEOUT') THEN wait_ms END),0)"
		       " FROM queue_log WHERE (?1='' OR queue=?1) AND"
		       " (?6='' OR agent=?6) AND (?7='' OR hotline=?7) AND"
		       " ts_ms>=?2 AND ts_ms<?3",
	[S_ALOG]     = "INSERT INTO agent_log(ts_ms,agent,state,reason) "
		       "VALUES(?,?,?,?)",
	/* Each row holds until the agent's next row (or now); the spans
	 * are cut to the period.  Busy: reserved, on a call or wrapping up;
	 * staffed: busy or ready (not-ready time is neither). */
	[S_OCC]      = "WITH s AS (SELECT state, max(ts_ms,?2) AS t0,"
		       " min(coalesce(LEAD(ts_ms) OVER (PARTITION BY agent"
		       " ORDER BY ts_ms,id),?4),?3) AS t1 FROM agent_log"
		       " WHERE (?1='' OR agent=?1) AND ts_ms<?3)"
		       " SELECT coalesce(sum(CASE WHEN state IN ('reserved',"
		       "'on-call','wrap-up') AND t1>t0 THEN t1-t0 END),0),"
		       " coalesce(sum(CASE WHEN state IN ('ready','reserved',"
		       "'on-call','wrap-up') AND t1>t0 THEN t1-t0 END),0)"
		       " FROM s",
};

/* Ordered migrations: entry i moves the schema from version i to i+1.
 * Never edit a shipped entry; append a new one. */
extern const char store_booth_schema[], store_poi_schema[],
	store_notify_schema[], store_elder_schema[], store_ride_schema[];
static const char *const migrations[] = {
	"CREATE TABLE accounts("
	" user TEXT PRIMARY KEY, ha1 TEXT NOT NULL, realm TEXT NOT NULL,"
	" display TEXT NOT NULL DEFAULT '', ext TEXT NOT NULL UNIQUE,"
	" kind TEXT NOT NULL, outbound INTEGER NOT NULL DEFAULT 0,"
	" max_calls INTEGER NOT NULL DEFAULT 0,"
	" from_addr TEXT NOT NULL DEFAULT '',"
	" created INTEGER NOT NULL DEFAULT (strftime('%s','now')));"
	"CREATE INDEX accounts_from ON accounts(from_addr);"
	"CREATE TABLE bindings("
	" user TEXT NOT NULL REFERENCES accounts(user) ON DELETE CASCADE,"
	" contact TEXT NOT NULL, src TEXT NOT NULL, transport TEXT NOT NULL,"
	" expires_at INTEGER NOT NULL, callid TEXT NOT NULL,"
	" cseq INTEGER NOT NULL, PRIMARY KEY(user, contact));"
	"CREATE TABLE cdr("
	" id INTEGER PRIMARY KEY, callid TEXT NOT NULL, caller TEXT NOT NULL,"
	" callee TEXT NOT NULL, dialled TEXT NOT NULL,"
	" start_ms INTEGER NOT NULL, ring_ms INTEGER NOT NULL,"
	" answer_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,"
	" duration_s INTEGER NOT NULL, billable_s INTEGER NOT NULL,"
	" disposition TEXT NOT NULL, cause INTEGER NOT NULL,"
	" reason TEXT NOT NULL, hangup_by TEXT NOT NULL, codec TEXT NOT NULL,"
	" pkts_a2b INTEGER NOT NULL, bytes_a2b INTEGER NOT NULL,"
	" pkts_b2a INTEGER NOT NULL, bytes_b2a INTEGER NOT NULL,"
	" lost_a2b INTEGER NOT NULL, lost_b2a INTEGER NOT NULL);"
	"CREATE INDEX cdr_callid ON cdr(callid);"
	"CREATE INDEX cdr_start ON cdr(start_ms);",

	/* 2: IVR — hotlines, flows, schedules, prompts, callbacks, and what
	 * a record knows of the IVR. */
	"ALTER TABLE cdr ADD COLUMN hotline TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE cdr ADD COLUMN language TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE cdr ADD COLUMN path TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE cdr ADD COLUMN survey INTEGER NOT NULL DEFAULT -1;"
	"ALTER TABLE cdr ADD COLUMN recording TEXT NOT NULL DEFAULT '';"
	"ALTER TABLE cdr ADD COLUMN recording_ms INTEGER NOT NULL DEFAULT 0;"
	"CREATE INDEX cdr_hotline ON cdr(hotline, start_ms);"
	"CREATE TABLE site(name TEXT PRIMARY KEY, body TEXT NOT NULL,"
	" imported INTEGER NOT NULL);"
	"CREATE TABLE callbacks("
	" id INTEGER PRIMARY KEY, created_ms INTEGER NOT NULL,"
	" callid TEXT NOT NULL, caller TEXT NOT NULL, hotline TEXT NOT NULL,"
	" number TEXT NOT NULL, recording TEXT NOT NULL,"
	" status TEXT NOT NULL DEFAULT 'open');",

	/* 3: the queue log, the source of every queue figure. */
	"CREATE TABLE queue_log("
	" id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL,"
	" callid TEXT NOT NULL, queue TEXT NOT NULL, agent TEXT NOT NULL,"
	" event TEXT NOT NULL, wait_ms INTEGER NOT NULL,"
	" talk_ms INTEGER NOT NULL, position INTEGER NOT NULL);"
	"CREATE INDEX queue_log_q ON queue_log(queue, ts_ms);",

	/* 4: the hotline a queue call came through, for figures per
	 * hotline. */
	"ALTER TABLE queue_log ADD COLUMN hotline TEXT NOT NULL DEFAULT '';"
	"CREATE INDEX queue_log_h ON queue_log(hotline, ts_ms);",

	/* 5: every agent state change, for occupancy and the agents'
	 * history. */
	"CREATE TABLE agent_log("
	" id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL,"
	" agent TEXT NOT NULL, state TEXT NOT NULL, reason TEXT NOT NULL);"
	"CREATE INDEX agent_log_a ON agent_log(agent, ts_ms);",

	/* 6: web users, their sessions, API tokens and the audit log.
	 * Session and token secrets are kept only as hashes. */
	"CREATE TABLE users("
	" name TEXT PRIMARY KEY, hash TEXT NOT NULL, role TEXT NOT NULL,"
	" agent TEXT NOT NULL, created_ms INTEGER NOT NULL);"
	"CREATE TABLE sessions("
	" hash TEXT PRIMARY KEY, user TEXT NOT NULL, csrf TEXT NOT NULL,"
	" expires_ms INTEGER NOT NULL);"
	"CREATE TABLE tokens("
	" id INTEGER PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL"
	" UNIQUE, scopes TEXT NOT NULL, created_ms INTEGER NOT NULL,"
	" revoked INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE audit("
	" id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, who TEXT NOT NULL,"
	" action TEXT NOT NULL, detail TEXT NOT NULL);"
	"CREATE TABLE wrapups("
	" id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL,"
	" callid TEXT NOT NULL, agent TEXT NOT NULL, category TEXT NOT NULL,"
	" notes TEXT NOT NULL);"
	"CREATE INDEX wrapups_c ON wrapups(callid);",

	/* 7-11: the booths and their services; each part of the schema is
	 * kept beside the SQL that uses it. */
	store_booth_schema,
	store_poi_schema,
	store_notify_schema,
	store_elder_schema,
	store_ride_schema,
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *stmt[S_MAX];
	bool healthy;
};

int store_schema_version(void)
{
	return (int)ARRAY_SIZE(migrations);
}

static void destructor(void *arg)
{
	struct store *st = arg;

	for (int i = 0; i < S_MAX; i++)
		sqlite3_finalize(st->stmt[i]);
	if (st->db)
		sqlite3_close(st->db);
}

sqlite3 *store_db(struct store *st)
{
	return st->db;
}

static int sqlerr(struct store *st, int rc, const char *what)
{
	if (rc == SQLITE_FULL || rc == SQLITE_IOERR || rc == SQLITE_READONLY ||
	    (rc & 0xff) == SQLITE_IOERR)
		st->healthy = false;
	log_error("store: %s: %s", what, sqlite3_errmsg(st->db));
	if (rc == SQLITE_CONSTRAINT || (rc & 0xff) == SQLITE_CONSTRAINT)
		return EEXIST;
	if ((rc & 0xff) == SQLITE_FULL)
		return ENOSPC;
	return EIO;
}

int store_sqlerr(struct store *st, int rc, const char *what)
{
	return sqlerr(st, rc, what);
}

static int exec(struct store *st, const char *q)
{
	char *msg = NULL;
	int rc = sqlite3_exec(st->db, q, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		log_error("store: %s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return EIO;
	}
	return 0;
}

static int migrate(struct store *st)
{
	sqlite3_stmt *s;
	int version = 0, err = 0;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL))
		return EIO;
	if (sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);

	if (version > store_schema_version()) {
		log_error("store: database schema %d is newer than this "
			  "build's %d", version, store_schema_version());
		return EPROTO;
	}

	for (; version < store_schema_version(); version++) {
		char q[64];
		/* Each step and its version bump commit together. */
		err = exec(st, "BEGIN IMMEDIATE");
		if (err)
			break;
		re_snprintf(q, sizeof(q), "PRAGMA user_version=%d",
			    version + 1);
		err = exec(st, migrations[version]);
		if (!err)
			err = exec(st, q);
		if (err) {
			(void)exec(st, "ROLLBACK");
			break;
		}
		err = exec(st, "COMMIT");
		if (err)
			break;
		log_info("store: migrated to schema %d", version + 1);
	}
	return err;
}

int store_open(struct store **stp, const char *path)
{
	struct store *st;
	int err = 0;

	if (!stp || !path)
		return EINVAL;

	st = mem_zalloc(sizeof(*st), destructor);
	if (!st)
		return ENOMEM;
	st->healthy = true;

	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL)) {
		log_error("store: %s: %s", path, sqlite3_errmsg(st->db));
		err = EIO;
		goto out;
	}
	sqlite3_busy_timeout(st->db, 2000);

	/* Checkpoints are the only fsyncs in WAL/NORMAL mode, and each one
	 * stalls the loop: let the WAL grow ten times the default first. */
	err = exec(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
		   " PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint=10000;");
	if (err)
		goto out;
	err = migrate(st);
	if (err)
		goto out;

	for (int i = 0; i < S_MAX; i++) {
		if (sqlite3_prepare_v3(st->db, sql[i], -1,
				       SQLITE_PREPARE_PERSISTENT,
				       &st->stmt[i], NULL)) {
			log_error("store: prepare: %s", sqlite3_errmsg(st->db));
			err = EIO;
			goto out;
		}
	}

 out:
	if (err)
		mem_deref(st);
	else
		*stp = st;
	return err;
}

bool store_healthy(const struct store *st)
{
	return st && st->healthy;
}

static sqlite3_stmt *stmt(struct store *st, enum stmt_id id)
{
	sqlite3_stmt *s = st->stmt[id];
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return s;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v)
{
	sqlite3_bind_text(s, i, v ? v : "", -1, SQLITE_STATIC);
}

/* Run a statement that returns no rows. */
static int step_done(struct store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return sqlerr(st, rc, what);
	st->healthy = true;
	return 0;
}

static void row_account(sqlite3_stmt *s, struct store_account *a)
{
	memset(a, 0, sizeof(*a));
	store_col_text(s, 0, a->user, sizeof(a->user));
	store_col_text(s, 1, a->ha1, sizeof(a->ha1));
	store_col_text(s, 2, a->realm, sizeof(a->realm));
	store_col_text(s, 3, a->display, sizeof(a->display));
	store_col_text(s, 4, a->ext, sizeof(a->ext));
	store_col_text(s, 5, a->kind, sizeof(a->kind));
	a->outbound = sqlite3_column_int(s, 6) != 0;
	a->max_calls = (uint32_t)sqlite3_column_int64(s, 7);
	store_col_text(s, 8, a->from_addr, sizeof(a->from_addr));
}

int store_account_add(struct store *st, const struct store_account *a)
{
	sqlite3_stmt *s = stmt(st, S_ACC_ADD);

	bind_text(s, 1, a->user);
	bind_text(s, 2, a->ha1);
	bind_text(s, 3, a->realm);
	bind_text(s, 4, a->display);
	bind_text(s, 5, a->ext);
	bind_text(s, 6, a->kind);
	sqlite3_bind_int(s, 7, a->outbound);
	sqlite3_bind_int64(s, 8, a->max_calls);
	bind_text(s, 9, a->from_addr);
	return step_done(st, s, "account add");
}

int store_account_del(struct store *st, const char *user)
{
	sqlite3_stmt *s = stmt(st, S_ACC_DEL);
	int err;

	bind_text(s, 1, user);
	err = step_done(st, s, "account del");
	if (!err && sqlite3_changes(st->db) == 0)
		err = ENOENT;
	return err;
}

static int account_one(struct store *st, enum stmt_id id, const char *key,
		       struct store_account *a)
{
	sqlite3_stmt *s = stmt(st, id);
	int rc, err = ENOENT;

	bind_text(s, 1, key);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		row_account(s, a);
		err = 0;
	}
	else if (rc != SQLITE_DONE) {
		err = sqlerr(st, rc, "account lookup");
	}
	sqlite3_reset(s);
	return err;
}

int store_account_get(struct store *st, const char *user,
		      struct store_account *a)
{
	return account_one(st, S_ACC_GET, user, a);
}

int store_account_by_ext(struct store *st, const char *ext,
			 struct store_account *a)
{
	return account_one(st, S_ACC_EXT, ext, a);
}

int store_account_by_addr(struct store *st, const char *addr,
			  struct store_account *a)
{
	return account_one(st, S_ACC_ADDR, addr, a);
}

/* Step a row query, calling fill+h for each row; h's non-zero stops. */
#define FOR_ROWS(st, s, row_t, fill, h, arg, what)                        \
	do {                                                              \
		int rc_;                                                  \
		row_t r_;                                                 \
		while ((rc_ = sqlite3_step(s)) == SQLITE_ROW) {           \
			fill(s, &r_);                                     \
			if (h(&r_, arg))                                  \
				break;                                    \
		}                                                         \
		sqlite3_reset(s);                                         \
		if (rc_ != SQLITE_ROW && rc_ != SQLITE_DONE)              \
			return sqlerr(st, rc_, what);                     \
	} while (0)

int store_account_list(struct store *st, store_account_h *h, void *arg)
{
	sqlite3_stmt *s = stmt(st, S_ACC_LIST);
	FOR_ROWS(st, s, struct store_account, row_account, h, arg,
		 "account list");
	return 0;
}

int store_binding_put(struct store *st, const struct store_binding *b)
{
	sqlite3_stmt *s = stmt(st, S_BIND_PUT);

	bind_text(s, 1, b->user);
	bind_text(s, 2, b->contact);
	bind_text(s, 3, b->src);
	bind_text(s, 4, b->transport);
	sqlite3_bind_int64(s, 5, b->expires_at);
	bind_text(s, 6, b->callid);
	sqlite3_bind_int64(s, 7, b->cseq);
	return step_done(st, s, "binding put");
}

int store_binding_del(struct store *st, const char *user, const char *contact)
{
	sqlite3_stmt *s = stmt(st, contact ? S_BIND_DEL : S_BIND_DEL_ALL);

	bind_text(s, 1, user);
	if (contact)
		bind_text(s, 2, contact);
	return step_done(st, s, "binding del");
}

static void row_binding(sqlite3_stmt *s, struct store_binding *b)
{
	memset(b, 0, sizeof(*b));
	store_col_text(s, 0, b->user, sizeof(b->user));
	store_col_text(s, 1, b->contact, sizeof(b->contact));
	store_col_text(s, 2, b->src, sizeof(b->src));
	store_col_text(s, 3, b->transport, sizeof(b->transport));
	b->expires_at = sqlite3_column_int64(s, 4);
	store_col_text(s, 5, b->callid, sizeof(b->callid));
	b->cseq = (uint32_t)sqlite3_column_int64(s, 6);
}

int store_binding_load(struct store *st, int64_t now_s, store_binding_h *h,
		       void *arg)
{
	sqlite3_stmt *s = stmt(st, S_BIND_LOAD);
	sqlite3_bind_int64(s, 1, now_s);
	FOR_ROWS(st, s, struct store_binding, row_binding, h, arg,
		 "binding load");
	return 0;
}

int store_cdr_insert(struct store *st, struct store_cdr *c)
{
	sqlite3_stmt *s = stmt(st, S_CDR_ADD);
	int err;

	bind_text(s, 1, c->callid);
	bind_text(s, 2, c->caller);
	bind_text(s, 3, c->callee);
	bind_text(s, 4, c->dialled);
	sqlite3_bind_int64(s, 5, c->start_ms);
	sqlite3_bind_int64(s, 6, c->ring_ms);
	sqlite3_bind_int64(s, 7, c->answer_ms);
	sqlite3_bind_int64(s, 8, c->end_ms);
	sqlite3_bind_int64(s, 9, c->duration_s);
	sqlite3_bind_int64(s, 10, c->billable_s);
	bind_text(s, 11, c->disposition);
	sqlite3_bind_int(s, 12, c->cause);
	bind_text(s, 13, c->reason);
	bind_text(s, 14, c->hangup_by);
	bind_text(s, 15, c->codec);
	sqlite3_bind_int64(s, 16, (sqlite3_int64)c->pkts_a2b);
	sqlite3_bind_int64(s, 17, (sqlite3_int64)c->bytes_a2b);
	sqlite3_bind_int64(s, 18, (sqlite3_int64)c->pkts_b2a);
	sqlite3_bind_int64(s, 19, (sqlite3_int64)c->bytes_b2a);
	sqlite3_bind_int64(s, 20, (sqlite3_int64)c->lost_a2b);
	sqlite3_bind_int64(s, 21, (sqlite3_int64)c->lost_b2a);
	bind_text(s, 22, c->hotline);
	bind_text(s, 23, c->language);
	bind_text(s, 24, c->path);
	sqlite3_bind_int(s, 25, c->survey);
	bind_text(s, 26, c->recording);
	sqlite3_bind_int64(s, 27, c->recording_ms);
	err = step_done(st, s, "cdr insert");
	if (!err)
		c->id = sqlite3_last_insert_rowid(st->db);
	return err;
}

static void row_cdr(sqlite3_stmt *s, struct store_cdr *c)
{
	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(s, 0);
	store_col_text(s, 1, c->callid, sizeof(c->callid));
	store_col_text(s, 2, c->caller, sizeof(c->caller));
	store_col_text(s, 3, c->callee, sizeof(c->callee));
	store_col_text(s, 4, c->dialled, sizeof(c->dialled));
	c->start_ms = sqlite3_column_int64(s, 5);
	c->ring_ms = sqlite3_column_int64(s, 6);
	c->answer_ms = sqlite3_column_int64(s, 7);
	c->end_ms = sqlite3_column_int64(s, 8);
	c->duration_s = (uint32_t)sqlite3_column_int64(s, 9);
	c->billable_s = (uint32_t)sqlite3_column_int64(s, 10);
	store_col_text(s, 11, c->disposition, sizeof(c->disposition));
	c->cause = (uint16_t)sqlite3_column_int(s, 12);
	store_col_text(s, 13, c->reason, sizeof(c->reason));
	store_col_text(s, 14, c->hangup_by, sizeof(c->hangup_by));
	store_col_text(s, 15, c->codec, sizeof(c->codec));
	c->pkts_a2b = (uint64_t)sqlite3_column_int64(s, 16);
	c->bytes_a2b = (uint64_t)sqlite3_column_int64(s, 17);
	c->pkts_b2a = (uint64_t)sqlite3_column_int64(s, 18);
	c->bytes_b2a = (uint64_t)sqlite3_column_int64(s, 19);
	c->lost_a2b = (uint64_t)sqlite3_column_int64(s, 20);
	c->lost_b2a = (uint64_t)sqlite3_column_int64(s, 21);
	store_col_text(s, 22, c->hotline, sizeof(c->hotline));
	store_col_text(s, 23, c->language, sizeof(c->language));
	store_col_text(s, 24, c->path, sizeof(c->path));
	c->survey = sqlite3_column_int(s, 25);
	store_col_text(s, 26, c->recording, sizeof(c->recording));
	c->recording_ms = (uint32_t)sqlite3_column_int64(s, 27);
}

int store_cdr_list(struct store *st, uint32_t limit, store_cdr_h *h,
		   void *arg)
{
	sqlite3_stmt *s = stmt(st, S_CDR_LIST);
	sqlite3_bind_int64(s, 1, limit);
	FOR_ROWS(st, s, struct store_cdr, row_cdr, h, arg, "cdr list");
	return 0;
}

int store_site_put(struct store *st, const char *body)
{
	sqlite3_stmt *s = stmt(st, S_SITE_PUT);

	bind_text(s, 1, body);
	return step_done(st, s, "site put");
}

int store_site_get(struct store *st, char **bodyp)
{
	sqlite3_stmt *s = stmt(st, S_SITE_GET);
	int rc, err = ENOENT;

	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		err = str_dup(bodyp, (const char *)sqlite3_column_text(s, 0));
	else if (rc != SQLITE_DONE)
		err = sqlerr(st, rc, "site get");
	sqlite3_reset(s);
	return err;
}

int store_callback_add(struct store *st, struct store_callback *cb)
{
	sqlite3_stmt *s = stmt(st, S_CB_ADD);
	int err;

	sqlite3_bind_int64(s, 1, cb->created_ms);
	bind_text(s, 2, cb->callid);
	bind_text(s, 3, cb->caller);
	bind_text(s, 4, cb->hotline);
	bind_text(s, 5, cb->number);
	bind_text(s, 6, cb->recording);
	err = step_done(st, s, "callback add");
	if (!err)
		cb->id = sqlite3_last_insert_rowid(st->db);
	return err;
}

static void row_callback(sqlite3_stmt *s, struct store_callback *cb)
{
	memset(cb, 0, sizeof(*cb));
	cb->id = sqlite3_column_int64(s, 0);
	cb->created_ms = sqlite3_column_int64(s, 1);
	store_col_text(s, 2, cb->callid, sizeof(cb->callid));
	store_col_text(s, 3, cb->caller, sizeof(cb->caller));
	store_col_text(s, 4, cb->hotline, sizeof(cb->hotline));
	store_col_text(s, 5, cb->number, sizeof(cb->number));
	store_col_text(s, 6, cb->recording, sizeof(cb->recording));
	store_col_text(s, 7, cb->status, sizeof(cb->status));
}

int store_callback_list(struct store *st, store_callback_h *h, void *arg)
{
	sqlite3_stmt *s = stmt(st, S_CB_LIST);
	FOR_ROWS(st, s, struct store_callback, row_callback, h, arg,
		 "callback list");
	return 0;
}

int store_survey_stats(struct store *st, const char *hotline, int64_t from_ms,
		       int64_t to_ms, uint64_t *answers, uint64_t *satisfied)
{
	sqlite3_stmt *s = stmt(st, S_SURVEY);
	int rc, err = 0;

	bind_text(s, 1, hotline);
	sqlite3_bind_int64(s, 2, from_ms);
	sqlite3_bind_int64(s, 3, to_ms);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*answers = (uint64_t)sqlite3_column_int64(s, 0);
		*satisfied = (uint64_t)sqlite3_column_int64(s, 1);
	}
	else {
		err = sqlerr(st, rc, "survey stats");
	}
	sqlite3_reset(s);
	return err;
}

int store_qlog(struct store *st, const struct store_qevent *ev)
{
	sqlite3_stmt *s = stmt(st, S_QLOG);

	sqlite3_bind_int64(s, 1, ev->ts_ms);
	bind_text(s, 2, ev->callid);
	bind_text(s, 3, ev->queue);
	bind_text(s, 4, ev->agent);
	bind_text(s, 5, ev->event);
	sqlite3_bind_int64(s, 6, ev->wait_ms);
	sqlite3_bind_int64(s, 7, ev->talk_ms);
	sqlite3_bind_int64(s, 8, ev->position);
	bind_text(s, 9, ev->hotline);
	return step_done(st, s, "queue log");
}

int store_kpi(struct store *st, const char *queue, const char *agent,
	      const char *hotline, int64_t from_ms, int64_t to_ms,
	      int64_t now_ms, uint32_t sl_s, uint32_t short_s,
	      struct store_kpi *k)
{
	sqlite3_stmt *s = stmt(st, S_KPI);
	int rc, err = 0;

	memset(k, 0, sizeof(*k));
	bind_text(s, 1, queue);
	sqlite3_bind_int64(s, 2, from_ms);
	sqlite3_bind_int64(s, 3, to_ms);
	sqlite3_bind_int64(s, 4, sl_s);
	sqlite3_bind_int64(s, 5, short_s);
	bind_text(s, 6, agent);
	bind_text(s, 7, hotline);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		uint64_t *f[] = {&k->offered, &k->answered, &k->abandoned,
				 &k->short_abandoned, &k->timeouts,
				 &k->answered_in_sl, &k->wait_ms_sum,
				 &k->talk_ms_sum, &k->completed,
				 &k->longest_wait_ms};
		for (size_t i = 0; i < ARRAY_SIZE(f); i++)
			*f[i] = (uint64_t)sqlite3_column_int64(s, (int)i);
	}
	else {
		err = sqlerr(st, rc, "kpi");
	}
	sqlite3_reset(s);
	if (err || now_ms < 0)
		return err;

	s = stmt(st, S_OCC);
	bind_text(s, 1, agent);
	sqlite3_bind_int64(s, 2, from_ms);
	sqlite3_bind_int64(s, 3, to_ms);
	sqlite3_bind_int64(s, 4, now_ms);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		k->busy_ms = (uint64_t)sqlite3_column_int64(s, 0);
		k->staffed_ms = (uint64_t)sqlite3_column_int64(s, 1);
	}
	else {
		err = sqlerr(st, rc, "occupancy");
	}
	sqlite3_reset(s);
	return err;
}

int store_agent_log(struct store *st, int64_t ts_ms, const char *agent,
		    const char *state, const char *reason)
{
	sqlite3_stmt *s = stmt(st, S_ALOG);

	sqlite3_bind_int64(s, 1, ts_ms);
	bind_text(s, 2, agent);
	bind_text(s, 3, state);
	bind_text(s, 4, reason);
	return step_done(st, s, "agent log");
}
