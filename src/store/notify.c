/*
 * store, notify side: the SMS outbox and the neighbourhood watch.  A
 * message is a row before it is a request to the gateway, so a crash or a
 * gateway that is down never loses it; its state only moves forward, so
 * reports arriving out of order (or before the gateway's own answer) do not
 * undo each other.
 */
#include <string.h>
#include <errno.h>
#include <sqlite3.h>
#include <re.h>
#include "store/store.h"
#include "store/store_int.h"
#include "store/notify.h"

const char store_notify_schema[] =
	"CREATE TABLE sms("
	" id INTEGER PRIMARY KEY, dst TEXT NOT NULL, body TEXT NOT NULL,"
	" ref TEXT NOT NULL, state TEXT NOT NULL DEFAULT 'queued',"
	" dlr_key TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
	" next_ms INTEGER NOT NULL, last_code INTEGER NOT NULL DEFAULT 0,"
	" last_error TEXT NOT NULL DEFAULT '', gw_answer TEXT NOT NULL"
	" DEFAULT '', created_ms INTEGER NOT NULL, sent_ms INTEGER NOT NULL"
	" DEFAULT 0, accepted_ms INTEGER NOT NULL DEFAULT 0, delivered_ms"
	" INTEGER NOT NULL DEFAULT 0, failed_ms INTEGER NOT NULL DEFAULT 0,"
	" dlr_status INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX sms_queue ON sms(state, next_ms);"
	"CREATE INDEX sms_ref ON sms(ref);"
	"CREATE TABLE sms_reports("
	" id INTEGER PRIMARY KEY, sms INTEGER NOT NULL, status INTEGER NOT"
	" NULL, answer TEXT NOT NULL, ts_ms INTEGER NOT NULL);"
	"CREATE INDEX sms_reports_s ON sms_reports(sms);"
	"CREATE TABLE volunteers("
	" id TEXT PRIMARY KEY, name TEXT NOT NULL, phone TEXT NOT NULL,"
	" district TEXT NOT NULL, kind TEXT NOT NULL, escalation TEXT NOT"
	" NULL DEFAULT '', token TEXT NOT NULL, token_hash TEXT NOT NULL,"
	" created_ms INTEGER NOT NULL);"
	"CREATE INDEX volunteers_d ON volunteers(district);"
	"CREATE UNIQUE INDEX volunteers_t ON volunteers(token_hash);"
	"CREATE TABLE watch_alerts("
	" id INTEGER PRIMARY KEY, booth TEXT NOT NULL, booth_name TEXT NOT"
	" NULL, address TEXT NOT NULL, district TEXT NOT NULL, lat REAL NOT"
	" NULL, lon REAL NOT NULL, category TEXT NOT NULL, note TEXT NOT"
	" NULL DEFAULT '', audio TEXT NOT NULL DEFAULT '', audio_ms INTEGER"
	" NOT NULL DEFAULT 0, state TEXT NOT"
	" NULL DEFAULT 'open', created_ms INTEGER NOT NULL, escalated_ms"
	" INTEGER NOT NULL DEFAULT 0, accepted_ms INTEGER NOT NULL DEFAULT 0,"
	" accepted_by TEXT NOT NULL DEFAULT '', accepted_name TEXT NOT NULL"
	" DEFAULT '', closed_ms INTEGER NOT NULL DEFAULT 0, closed_by TEXT"
	" NOT NULL DEFAULT '', resolution TEXT NOT NULL DEFAULT '', notified"
	" INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX watch_state ON watch_alerts(state, created_ms);"
	"CREATE INDEX watch_district ON watch_alerts(district, state);"
	"CREATE INDEX watch_booth ON watch_alerts(booth, created_ms);"
	"CREATE TABLE watch_log("
	" id INTEGER PRIMARY KEY, alert INTEGER NOT NULL, ts_ms INTEGER NOT"
	" NULL, what TEXT NOT NULL, who TEXT NOT NULL, detail TEXT NOT"
	" NULL);"
	"CREATE INDEX watch_log_a ON watch_log(alert);";



/* Step a one-row query; ENOENT if it has no row (s is kept for reading). */
static int step_one(struct store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? ENOENT : store_sqlerr(st, rc, what);
}

/* ---------- the SMS outbox ---------- */

int store_sms_add(struct store *st, const char *to, const char *text,
		  const char *ref, const char *key, int64_t now_ms,
		  int64_t *idp)
{
	int err = store_run(st, "INSERT INTO sms(dst,body,ref,dlr_key,next_ms,"
			    "created_ms) VALUES(?,?,?,?,?,?)", "ssssii", to,
			    text, ref, key, now_ms, now_ms);

	if (!err && idp)
		*idp = sqlite3_last_insert_rowid(store_db(st));
	return err;
}

#define SMS_COLS "id,dst,body,ref,state,dlr_key,attempts,next_ms,created_ms"

static void sms_of(sqlite3_stmt *s, struct store_sms *m)
{
	memset(m, 0, sizeof(*m));
	m->id = sqlite3_column_int64(s, 0);
	store_col_text(s, 1, m->to, sizeof(m->to));
	store_col_text(s, 2, m->text, sizeof(m->text));
	store_col_text(s, 3, m->ref, sizeof(m->ref));
	store_col_text(s, 4, m->state, sizeof(m->state));
	store_col_text(s, 5, m->key, sizeof(m->key));
	m->attempts = (uint32_t)sqlite3_column_int64(s, 6);
	m->next_ms = sqlite3_column_int64(s, 7);
	m->created_ms = sqlite3_column_int64(s, 8);
}

static int sms_one(struct store *st, struct store_sms *m, const char *sql,
		   const char *fmt, int64_t arg)
{
	sqlite3_stmt *s;
	int err = store_query(st, &s, sql, fmt, arg);

	if (err)
		return err;
	err = step_one(st, s, "sms");
	if (!err)
		sms_of(s, m);
	sqlite3_finalize(s);
	return err;
}

int store_sms_due(struct store *st, int64_t now_ms, struct store_sms *m)
{
	return sms_one(st, m, "SELECT " SMS_COLS " FROM sms WHERE state="
		       "'queued' AND next_ms<=? ORDER BY next_ms, id LIMIT 1",
		       "i", now_ms);
}

int store_sms_get(struct store *st, int64_t id, struct store_sms *m)
{
	return sms_one(st, m, "SELECT " SMS_COLS " FROM sms WHERE id=?", "i",
		       id);
}

int store_sms_next(struct store *st, int64_t *next_ms)
{
	sqlite3_stmt *s;
	int err = store_query(st, &s, "SELECT min(next_ms) FROM sms WHERE state="
			"'queued'", "");

	if (err)
		return err;
	err = step_one(st, s, "sms");
	if (!err && sqlite3_column_type(s, 0) == SQLITE_NULL)
		err = ENOENT;
	if (!err)
		*next_ms = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return err;
}

int store_sms_sent(struct store *st, int64_t id, int64_t now_ms,
		   uint16_t code, const char *answer)
{
	return store_run(st, "UPDATE sms SET state=CASE WHEN state='queued' "
			 "THEN 'sent' ELSE state END, sent_ms=CASE WHEN "
			 "sent_ms=0 THEN ? ELSE sent_ms END, last_code=?, "
			 "last_error='', gw_answer=? WHERE id=?", "iisi",
			 now_ms, (int64_t)code, answer, id);
}

int store_sms_retry(struct store *st, int64_t id, uint32_t attempts,
		    int64_t next_ms, uint16_t code, const char *error)
{
	int err = store_run(st, "UPDATE sms SET attempts=?, next_ms=?, "
			    "last_code=?, last_error=? WHERE id=? AND state="
			    "'queued'", "iiisi", (int64_t)attempts, next_ms,
			    (int64_t)code, error, id);

	/* A report came while the request was out: it was sent after all. */
	return err == ENOENT ? 0 : err;
}

int store_sms_kick(struct store *st, int64_t now_ms)
{
	int err = store_run(st, "UPDATE sms SET next_ms=? WHERE state='queued'"
			    " AND next_ms>? AND attempts>0 AND (last_code=0 OR"
			    " last_code>=500)", "ii", now_ms, now_ms);

	return err == ENOENT ? 0 : err;
}

int store_sms_report(struct store *st, int64_t id, int status,
		     const char *answer, const char *state, int64_t now_ms)
{
	int err;

	err = store_run(st, "INSERT INTO sms_reports(sms,status,answer,ts_ms) "
			"VALUES(?,?,?,?)", "iisi", id, (int64_t)status, answer,
			now_ms);
	if (err)
		return err;
	/* Stamp what the report says happened (reports may come out of
	 * order); a message reported before the gateway's answer came was
	 * sent at least by then. */
	return store_run(st, "UPDATE sms SET dlr_status=?2, sent_ms=CASE WHEN "
			 "sent_ms=0 THEN ?3 ELSE sent_ms END, accepted_ms=CASE"
			 " WHEN ?2 IN (4,8) AND accepted_ms=0 THEN ?3 ELSE "
			 "accepted_ms END, delivered_ms=CASE WHEN ?1="
			 "'delivered' AND delivered_ms=0 THEN ?3 ELSE "
			 "delivered_ms END, failed_ms=CASE WHEN ?1='failed' "
			 "AND failed_ms=0 THEN ?3 ELSE failed_ms END, state=?1"
			 " WHERE id=?4", "siii", state, (int64_t)status,
			 now_ms, id);
}

int store_sms_json(struct store *st, const char *ref, const char *state,
		   uint32_t limit, struct mbuf *mb)
{
	sqlite3_stmt *s;
	uint32_t n = 0;
	int err, rc = SQLITE_DONE;

	err = store_query(st, &s, "SELECT json_object('id',id,'to',dst,'text',body,"
		    "'ref',ref,'state',state,'attempts',attempts,'next_ms',"
		    "CASE WHEN state='queued' THEN next_ms ELSE 0 END,"
		    "'last_code',last_code,'last_error',last_error,'gateway',"
		    "gw_answer,'created_ms',created_ms,'sent_ms',sent_ms,"
		    "'accepted_ms',accepted_ms,'delivered_ms',delivered_ms,"
		    "'failed_ms',failed_ms,'reports',(SELECT json_group_array("
		    "json_object('status',status,'answer',answer,'ts_ms',"
		    "ts_ms)) FROM (SELECT * FROM sms_reports r WHERE r.sms="
		    "m.id ORDER BY r.id))) FROM sms m WHERE (?1='' OR ref=?1 "
		    "OR (substr(?1,-1)=':' AND substr(ref,1,length(?1))=?1)) "
		    "AND (?2='' OR state=?2) ORDER BY id DESC LIMIT ?3",
		    "ssi", ref, state, (int64_t)limit);
	if (err)
		return err;
	err = mbuf_write_str(mb, "{\"items\":[");
	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW)
		err = mbuf_printf(mb, "%s%s", n++ ? "," : "",
				  sqlite3_column_text(s, 0));
	if (!err && rc != SQLITE_DONE)
		err = store_sqlerr(st, rc, "sms");
	sqlite3_finalize(s);
	return err ? err : mbuf_write_str(mb, "]}");
}

int store_sms_queued(struct store *st, uint32_t *n)
{
	sqlite3_stmt *s;
	int err = store_query(st, &s, "SELECT count(*) FROM sms WHERE state="
			"'queued'", "");

	if (err)
		return err;
	err = step_one(st, s, "sms");
	if (!err)
		*n = (uint32_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return err;
}

/* ---------- volunteers ---------- */

int store_volunteer_put(struct store *st, const struct store_volunteer *v,
			const char *token_hash, int64_t now_ms)
{
	return store_run(st, "INSERT INTO volunteers(id,name,phone,district,"
			 "kind,escalation,token,token_hash,created_ms) VALUES("
			 "?1,?2,?3,?4,?5,?6,?7,?8,?9) ON CONFLICT(id) DO "
			 "UPDATE SET name=?2, phone=?3, district=?4, kind=?5,"
			 " escalation=?6, token=CASE WHEN ?7='' THEN token "
			 "ELSE ?7 END, token_hash=CASE WHEN ?7='' THEN "
			 "token_hash ELSE ?8 END", "ssssssssi", v->id, v->name,
			 v->phone, v->district, v->kind, v->escalation,
			 v->token, token_hash, now_ms);
}

int store_volunteer_del(struct store *st, const char *id)
{
	return store_run(st, "DELETE FROM volunteers WHERE id=?", "s", id);
}

#define VOL_COLS "id,name,phone,district,kind,escalation,token,created_ms"

static void volunteer_of(sqlite3_stmt *s, struct store_volunteer *v)
{
	memset(v, 0, sizeof(*v));
	store_col_text(s, 0, v->id, sizeof(v->id));
	store_col_text(s, 1, v->name, sizeof(v->name));
	store_col_text(s, 2, v->phone, sizeof(v->phone));
	store_col_text(s, 3, v->district, sizeof(v->district));
	store_col_text(s, 4, v->kind, sizeof(v->kind));
	store_col_text(s, 5, v->escalation, sizeof(v->escalation));
	store_col_text(s, 6, v->token, sizeof(v->token));
	v->created_ms = sqlite3_column_int64(s, 7);
}

static int volunteer_one(struct store *st, const char *sql, const char *arg,
			 struct store_volunteer *v)
{
	sqlite3_stmt *s;
	int err = store_query(st, &s, sql, "s", arg);

	if (err)
		return err;
	err = step_one(st, s, "volunteer");
	if (!err)
		volunteer_of(s, v);
	sqlite3_finalize(s);
	return err;
}

int store_volunteer_get(struct store *st, const char *id,
			struct store_volunteer *v)
{
	return volunteer_one(st, "SELECT " VOL_COLS " FROM volunteers WHERE "
			     "id=?", id, v);
}

int store_volunteer_by_token(struct store *st, const char *hash,
			     struct store_volunteer *v)
{
	if (!hash || !hash[0])
		return ENOENT;
	return volunteer_one(st, "SELECT " VOL_COLS " FROM volunteers WHERE "
			     "token_hash=?", hash, v);
}

int store_volunteer_list(struct store *st, const char *district,
			 store_volunteer_h *h, void *arg)
{
	struct store_volunteer v;
	sqlite3_stmt *s;
	int err, rc;

	err = store_query(st, &s, "SELECT " VOL_COLS " FROM volunteers WHERE ?1='' "
		    "OR district=?1 ORDER BY id", "s", district);
	if (err)
		return err;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		volunteer_of(s, &v);
		h(&v, arg);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : store_sqlerr(st, rc, "volunteer");
}

/* ---------- watch alerts ---------- */

int store_watch_add(struct store *st, const struct store_watch *w,
		    int64_t *idp)
{
	int err = store_run(st, "INSERT INTO watch_alerts(booth,booth_name,"
			    "address,district,lat,lon,category,note,"
			    "created_ms) VALUES(?,?,?,?,?,?,?,?,?)",
			    "ssssddssi", w->booth, w->booth_name, w->address,
			    w->district, w->lat, w->lon, w->category, w->note,
			    w->created_ms);

	if (!err && idp)
		*idp = sqlite3_last_insert_rowid(store_db(st));
	return err;
}

int store_watch_get(struct store *st, int64_t id, struct store_watch *w)
{
	sqlite3_stmt *s;
	int err;

	err = store_query(st, &s, "SELECT id,booth,booth_name,address,district,lat,"
		    "lon,category,note,state,accepted_by,accepted_name,"
		    "created_ms,escalated_ms,accepted_ms,closed_ms,notified,"
		    "audio FROM watch_alerts WHERE id=?", "i", id);
	if (err)
		return err;
	err = step_one(st, s, "watch");
	if (!err) {
		memset(w, 0, sizeof(*w));
		w->id = sqlite3_column_int64(s, 0);
		store_col_text(s, 1, w->booth, sizeof(w->booth));
		store_col_text(s, 2, w->booth_name, sizeof(w->booth_name));
		store_col_text(s, 3, w->address, sizeof(w->address));
		store_col_text(s, 4, w->district, sizeof(w->district));
		w->lat = sqlite3_column_double(s, 5);
		w->lon = sqlite3_column_double(s, 6);
		store_col_text(s, 7, w->category, sizeof(w->category));
		store_col_text(s, 8, w->note, sizeof(w->note));
		store_col_text(s, 9, w->state, sizeof(w->state));
		store_col_text(s, 10, w->accepted_by, sizeof(w->accepted_by));
		store_col_text(s, 11, w->accepted_name, sizeof(w->accepted_name));
		w->created_ms = sqlite3_column_int64(s, 12);
		w->escalated_ms = sqlite3_column_int64(s, 13);
		w->accepted_ms = sqlite3_column_int64(s, 14);
		w->closed_ms = sqlite3_column_int64(s, 15);
		w->notified = (uint32_t)sqlite3_column_int64(s, 16);
		store_col_text(s, 17, w->audio, sizeof(w->audio));
	}
	sqlite3_finalize(s);
	return err;
}

int store_watch_notified(struct store *st, int64_t id, uint32_t n)
{
	return store_run(st, "UPDATE watch_alerts SET notified=? WHERE id=?",
			 "ii", (int64_t)n, id);
}

int store_watch_accept(struct store *st, int64_t id,
		       const struct store_volunteer *v, int64_t now_ms)
{
	int err = store_run(st, "UPDATE watch_alerts SET state='accepted', "
			    "accepted_ms=?, accepted_by=?, accepted_name=? "
			    "WHERE id=? AND state IN ('open','escalated')",
			    "issi", now_ms, v->id, v->name, id);

	return err == ENOENT ? EALREADY : err;
}

int store_watch_close(struct store *st, int64_t id, const char *by,
		      const char *resolution, int64_t now_ms)
{
	char holder[32] = "", state[12] = "";
	int err;

	err = store_run(st, "UPDATE watch_alerts SET state='closed', "
			"closed_ms=?, closed_by=?, resolution=? WHERE id=? AND"
			" state='accepted' AND accepted_by=?", "issis", now_ms,
			by, resolution, id, by);
	if (err != ENOENT)
		return err;
	err = store_row(st, "SELECT state, accepted_by FROM watch_alerts WHERE"
			" id=?", 2, "i", id, state, sizeof(state), holder,
			sizeof(holder));
	if (err)
		return err;
	return strcmp(state, "accepted") ? EALREADY : EPERM;
}

int store_watch_audio(struct store *st, int64_t id, const char *path,
		      uint32_t ms)
{
	return store_run(st, "UPDATE watch_alerts SET audio=?, audio_ms=? "
			 "WHERE id=?", "sii", path, (int64_t)ms, id);
}

int store_watch_escalate(struct store *st, int64_t id, int64_t now_ms)
{
	int err = store_run(st, "UPDATE watch_alerts SET state='escalated', "
			    "escalated_ms=? WHERE id=? AND state='open'", "ii",
			    now_ms, id);

	return err == ENOENT ? EALREADY : err;
}

int store_watch_overdue(struct store *st, int64_t before_ms, int64_t *ids,
			uint32_t n, uint32_t *count)
{
	sqlite3_stmt *s;
	int err, rc;

	*count = 0;
	err = store_query(st, &s, "SELECT id FROM watch_alerts WHERE state='open' "
		    "AND created_ms<=? ORDER BY created_ms LIMIT ?", "ii",
		    before_ms, (int64_t)n);
	if (err)
		return err;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && *count < n)
		ids[(*count)++] = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 :
		store_sqlerr(st, rc, "watch");
}

int store_watch_oldest_open(struct store *st, int64_t *created_ms)
{
	sqlite3_stmt *s;
	int err = store_query(st, &s, "SELECT min(created_ms) FROM watch_alerts "
			"WHERE state='open'", "");

	if (err)
		return err;
	err = step_one(st, s, "watch");
	if (!err && sqlite3_column_type(s, 0) == SQLITE_NULL)
		err = ENOENT;
	if (!err)
		*created_ms = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return err;
}

int store_watch_recent(struct store *st, const char *booth,
		       const char *category, int64_t since_ms,
		       int64_t *open_id, uint32_t *count)
{
	sqlite3_stmt *s;
	int err;

	err = store_query(st, &s, "SELECT (SELECT max(id) FROM watch_alerts WHERE "
		    "booth=?1 AND category=?2 AND created_ms>=?3 AND state IN "
		    "('open','escalated')), (SELECT count(*) FROM watch_alerts"
		    " WHERE booth=?1 AND created_ms>=?3)", "ssi", booth,
		    category, since_ms);
	if (err)
		return err;
	err = step_one(st, s, "watch");
	if (!err) {
		*open_id = sqlite3_column_int64(s, 0);
		*count = (uint32_t)sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	return err;
}

int store_watch_log(struct store *st, int64_t id, int64_t ts_ms,
		    const char *what, const char *who, const char *detail)
{
	return store_run(st, "INSERT INTO watch_log(alert,ts_ms,what,who,"
			 "detail) VALUES(?,?,?,?,?)", "iisss", id, ts_ms,
			 what, who, detail);
}

int store_watch_json(struct store *st, const struct store_watch_filter *f,
		     struct mbuf *mb, uint32_t *n)
{
	sqlite3_stmt *s;
	int err, rc = SQLITE_DONE;

	*n = 0;
	err = store_query(st, &s, "SELECT json_object('id',id,'booth',booth,"
		    "'booth_name',booth_name,'address',address,'district',"
		    "district,'lat',lat,'lon',lon,'category',category,'note',"
		    "note,'state',state,'created_ms',created_ms,"
		    "'escalated_ms',escalated_ms,'accepted_ms',accepted_ms,"
		    "'accepted_by',accepted_by,'volunteer',accepted_name,"
		    "'closed_ms',closed_ms,'resolution',resolution,'notified',"
		    "notified,'audio',json(CASE WHEN audio<>'' THEN 'true' "
		    "ELSE 'false' END),'audio_ms',audio_ms,'log',CASE WHEN ?7 THEN (SELECT json_group_array("
		    "json_object('ts_ms',ts_ms,'what',what,'who',who,'detail',"
		    "detail)) FROM (SELECT * FROM watch_log l WHERE l.alert="
		    "a.id ORDER BY l.id)) ELSE json('[]') END) FROM "
		    "watch_alerts a WHERE (?1=0 OR id=?1) AND (?2='' OR booth="
		    "?2) AND (?3='' OR district=?3 OR (?5<>'' AND accepted_by="
		    "?5)) AND (?4='' OR state=?4 OR (?4='live' AND state IN "
		    "('open','escalated')) OR (?5<>'' AND accepted_by=?5)) "
		    "ORDER BY id DESC LIMIT ?6", "issssii", f->id,
		    f->booth ? f->booth : "", f->district ? f->district : "",
		    f->state ? f->state : "", f->mine ? f->mine : "",
		    (int64_t)(f->limit ? f->limit : 200), (int64_t)f->log);
	if (err)
		return err;
	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW)
		err = mbuf_printf(mb, "%s%s", (*n)++ ? "," : "",
				  sqlite3_column_text(s, 0));
	if (!err && rc != SQLITE_DONE)
		err = store_sqlerr(st, rc, "watch");
	sqlite3_finalize(s);
	return err;
}
