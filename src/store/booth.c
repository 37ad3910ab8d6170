/*
 * store, booth side.  Heartbeats reach here only when a booth's liveness
 * changes or on the fleet's periodic flush, never per message.
 */
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <sqlite3.h>
#include <re.h>
#include "store/store.h"
#include "store/store_int.h"
#include "store/booth.h"

const char store_booth_schema[] =
	"CREATE TABLE booths("
	" id TEXT PRIMARY KEY, name TEXT NOT NULL, name_en TEXT NOT NULL,"
	" address TEXT NOT NULL, district TEXT NOT NULL, lat REAL NOT NULL,"
	" lon REAL NOT NULL, account TEXT NOT NULL, ports INTEGER NOT NULL,"
	" token_hash TEXT NOT NULL DEFAULT '', lang TEXT NOT NULL DEFAULT"
	" 'zh', last_seen_ms INTEGER NOT NULL DEFAULT 0, online INTEGER NOT"
	" NULL DEFAULT 0);"
	"CREATE INDEX booths_t ON booths(token_hash);"
	"CREATE INDEX booths_a ON booths(account);"
	"CREATE TABLE booth_faults("
	" id INTEGER PRIMARY KEY, booth TEXT NOT NULL, kind TEXT NOT NULL,"
	" detail TEXT NOT NULL, ts_ms INTEGER NOT NULL, cleared_ms INTEGER"
	" NOT NULL DEFAULT 0);"
	"CREATE INDEX booth_faults_b ON booth_faults(booth, cleared_ms);"
	"CREATE TABLE booth_usage("
	" booth TEXT NOT NULL, day TEXT NOT NULL, service TEXT NOT NULL,"
	" n INTEGER NOT NULL, PRIMARY KEY(booth, day, service))"
	" WITHOUT ROWID;"
	"CREATE TABLE charge_sessions("
	" id INTEGER PRIMARY KEY, booth TEXT NOT NULL, port INTEGER NOT NULL,"
	" start_ms INTEGER NOT NULL, stop_ms INTEGER NOT NULL DEFAULT 0,"
	" wh REAL NOT NULL DEFAULT 0, flag TEXT NOT NULL DEFAULT '');"
	"CREATE INDEX charge_b ON charge_sessions(booth, start_ms);"
	"CREATE TABLE freecalls("
	" id INTEGER PRIMARY KEY, booth TEXT NOT NULL, number TEXT NOT NULL,"
	" day TEXT NOT NULL, callid TEXT NOT NULL, ts_ms INTEGER NOT NULL,"
	" secs INTEGER NOT NULL DEFAULT 0, emergency INTEGER NOT NULL"
	" DEFAULT 0);"
	"CREATE INDEX freecalls_b ON freecalls(booth, day);"
	"CREATE INDEX freecalls_n ON freecalls(number, day);";

#define BOOTH_COLS "id,name,name_en,address,district,lat,lon,account,ports," \
	"last_seen_ms,online,lang"

static void booth_of(sqlite3_stmt *s, struct store_booth *b)
{
	char *txt[] = {b->id, b->name, b->name_en, b->address, b->district};
	size_t szs[] = {sizeof(b->id), sizeof(b->name), sizeof(b->name_en),
			sizeof(b->address), sizeof(b->district)};

	memset(b, 0, sizeof(*b));
	for (int i = 0; i < 5; i++)
		str_ncpy(txt[i], (const char *)sqlite3_column_text(s, i),
			 szs[i]);
	b->lat = sqlite3_column_double(s, 5);
	b->lon = sqlite3_column_double(s, 6);
	str_ncpy(b->account, (const char *)sqlite3_column_text(s, 7),
		 sizeof(b->account));
	b->ports = (uint32_t)sqlite3_column_int64(s, 8);
	b->last_seen_ms = sqlite3_column_int64(s, 9);
	b->online = sqlite3_column_int(s, 10) != 0;
	str_ncpy(b->lang, (const char *)sqlite3_column_text(s, 11),
		 sizeof(b->lang));
}

/* Step s and hand each row to h; finalizes s. */
static int each(struct store *st, sqlite3_stmt *s,
		void (*h)(sqlite3_stmt *, void *), void *arg)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		h(s, arg);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : store_sqlerr(st, rc, "booth");
}


int store_booth_put(struct store *st, const struct store_booth *b)
{
	return store_run(st, "INSERT INTO booths(" BOOTH_COLS ") VALUES(?,?,"
			 "?,?,?,?,?,?,?,0,0,'zh') ON CONFLICT(id) DO UPDATE "
			 "SET name=excluded.name, name_en=excluded.name_en,"
			 " address=excluded.address, district="
			 "excluded.district, lat=excluded.lat, lon="
			 "excluded.lon, account=excluded.account, ports="
			 "excluded.ports", "sssssddsi", b->id, b->name,
			 b->name_en, b->address, b->district, b->lat, b->lon,
			 b->account, (int64_t)b->ports);
}

int store_booth_del(struct store *st, const char *id)
{
	return store_run(st, "DELETE FROM booths WHERE id=?", "s", id);
}

struct one {
	struct store_booth *b;
	bool found;
};

static void one_row(sqlite3_stmt *s, void *arg)
{
	struct one *o = arg;
	booth_of(s, o->b);
	o->found = true;
}

static int get_by(struct store *st, const char *col, const char *val,
		  struct store_booth *b)
{
	struct one o = {b, false};
	char sql[200];
	sqlite3_stmt *s;
	int err;

	re_snprintf(sql, sizeof(sql), "SELECT " BOOTH_COLS " FROM booths "
		    "WHERE %s=? LIMIT 1", col);
	err = store_query(st, &s, sql, "s", val);
	if (!err)
		err = each(st, s, one_row, &o);
	return err ? err : o.found ? 0 : ENOENT;
}

int store_booth_get(struct store *st, const char *id, struct store_booth *b)
{
	return get_by(st, "id", id, b);
}

int store_booth_of_account(struct store *st, const char *account,
			   struct store_booth *b)
{
	return get_by(st, "account", account, b);
}

struct list_arg {
	store_booth_h *h;
	void *arg;
};

static void list_row(sqlite3_stmt *s, void *arg)
{
	struct list_arg *la = arg;
	struct store_booth b;

	booth_of(s, &b);
	la->h(&b, la->arg);
}

int store_booth_list(struct store *st, store_booth_h *h, void *arg)
{
	struct list_arg la = {h, arg};
	sqlite3_stmt *s;
	int err = store_query(st, &s, "SELECT " BOOTH_COLS " FROM booths ORDER BY id",
			"");

	return err ? err : each(st, s, list_row, &la);
}

int store_booth_token(struct store *st, const char *id, const char *hash)
{
	return store_run(st, "UPDATE booths SET token_hash=? WHERE id=?", "ss",
			 hash, id);
}

int store_booth_token_first(struct store *st, const char *id,
			    const char *hash)
{
	int err = store_run(st, "UPDATE booths SET token_hash=? WHERE id=? AND "
			    "token_hash=''", "ss", hash, id);

	return err == ENOENT ? 0 : err;
}

int store_booth_by_token(struct store *st, const char *hash, char *id,
			 size_t sz)
{
	if (!hash || !hash[0])
		return ENOENT;
	return store_row(st, "SELECT id FROM booths WHERE token_hash=?", 1, "s",
			 hash, id, sz);
}

int store_booth_seen(struct store *st, const char *id, int64_t ts_ms,
		     bool online, const char *lang)
{
	return store_run(st, "UPDATE booths SET last_seen_ms=?, online=?, "
			 "lang=CASE WHEN ?='' THEN lang ELSE ? END WHERE id=?",
			 "iisss", ts_ms, (int64_t)online, lang, lang, id);
}

int store_booth_batch(struct store *st, bool commit)
{
	int rc = sqlite3_exec(store_db(st), commit ? "COMMIT" : "BEGIN", NULL,
			      NULL, NULL);

	return rc == SQLITE_OK ? 0 : store_sqlerr(st, rc, "booth batch");
}

int store_booth_fault(struct store *st, const char *id, const char *kind,
		      const char *detail, int64_t ts_ms, bool clear)
{
	int err;

	if (clear) {
		err = store_run(st, "UPDATE booth_faults SET cleared_ms=? WHERE"
				" booth=? AND kind=? AND cleared_ms=0", "iss",
				ts_ms, id, kind);
		return err == ENOENT ? 0 : err;
	}
	/* A fault still open is not opened twice. */
	err = store_run(st, "UPDATE booth_faults SET detail=? WHERE booth=? "
			"AND kind=? AND cleared_ms=0", "sss", detail, id, kind);
	if (err != ENOENT)
		return err;
	return store_run(st, "INSERT INTO booth_faults(booth,kind,detail,ts_ms)"
			 " VALUES(?,?,?,?)", "sssi", id, kind, detail, ts_ms);
}

int store_booth_usage(struct store *st, const char *id, const char *day,
		      const char *service)
{
	return store_run(st, "INSERT INTO booth_usage(booth,day,service,n) "
			 "VALUES(?,?,?,1) ON CONFLICT DO UPDATE SET n=n+1",
			 "sss", id, day, service);
}

int store_charge(struct store *st, const char *id, uint32_t port,
		 const char *event, double wh, const char *flag,
		 int64_t ts_ms, int64_t *idp)
{
	int err;

	if (!strcmp(event, "start")) {
		/* A start on a port still charging closes the old session:
		 * its stop was lost. */
		(void)store_run(st, "UPDATE charge_sessions SET stop_ms=?, "
				"flag='no-stop' WHERE booth=? AND port=? AND "
				"stop_ms=0", "isi", ts_ms, id, (int64_t)port);
		err = store_run(st, "INSERT INTO charge_sessions(booth,port,"
				"start_ms,flag) VALUES(?,?,?,?)", "siis", id,
				(int64_t)port, ts_ms, flag ? flag : "");
	}
	else if (!strcmp(event, "stop")) {
		err = store_run(st, "UPDATE charge_sessions SET stop_ms=?, wh=?,"
				" flag=CASE WHEN ?='' THEN flag ELSE ? END "
				"WHERE booth=? AND port=? AND stop_ms=0", "idsssi",
				ts_ms, wh, flag, flag, id, (int64_t)port);
		if (err == ENOENT)  /* a stop without its start */
			err = store_run(st, "INSERT INTO charge_sessions(booth,"
					"port,start_ms,stop_ms,wh,flag) VALUES"
					"(?,?,?,?,?,'no-start')", "siiid", id,
					(int64_t)port, ts_ms, ts_ms, wh);
	}
	else {
		err = store_run(st, "INSERT INTO charge_sessions(booth,port,"
				"start_ms,stop_ms,flag) VALUES(?,?,?,?,?)",
				"siiis", id, (int64_t)port, ts_ms, ts_ms,
				flag && flag[0] ? flag : "fault");
	}
	/* A new session's id (a stop that found its start made none). */
	if (!err && idp && sqlite3_changes(store_db(st)) &&
	    strcmp(event, "stop"))
		*idp = sqlite3_last_insert_rowid(store_db(st));
	return err;
}

int store_charge_ports(struct store *st, const char *id, uint32_t n,
		       store_port_h *h, void *arg)
{
	for (uint32_t port = 1; port <= n; port++) {
		sqlite3_stmt *s;
		const char *state = "idle";
		int64_t since = 0;
		int err, rc;

		/* The port's last session tells: open, a fault, or done. */
		err = store_query(st, &s, "SELECT start_ms, stop_ms, flag FROM "
			    "charge_sessions WHERE booth=? AND port=? ORDER BY"
			    " id DESC LIMIT 1", "si", id, (int64_t)port);
		if (err)
			return err;
		rc = sqlite3_step(s);
		if (rc == SQLITE_ROW) {
			const char *flag = (const char *)
				sqlite3_column_text(s, 2);
			if (flag && !strcmp(flag, "fault")) {
				state = "fault";
				since = sqlite3_column_int64(s, 0);
			}
			else if (!sqlite3_column_int64(s, 1)) {
				state = "charging";
				since = sqlite3_column_int64(s, 0);
			}
			else {
				since = sqlite3_column_int64(s, 1);
			}
		}
		sqlite3_finalize(s);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return store_sqlerr(st, rc, "charge ports");
		h(port, state, since, arg);
	}
	return 0;
}

int store_charge_total(struct store *st, const char *id, int64_t from_ms,
		       int64_t to_ms, double *wh, uint32_t *sessions)
{
	sqlite3_stmt *s;
	int err, rc;

	err = store_query(st, &s, "SELECT coalesce(sum(wh),0), count(*) FROM "
		    "charge_sessions WHERE (?='' OR booth=?) AND start_ms>=? "
		    "AND start_ms<? AND flag<>'fault'", "ssii", id, id, from_ms,
		    to_ms);
	if (err)
		return err;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*wh = sqlite3_column_double(s, 0);
		*sessions = (uint32_t)sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : store_sqlerr(st, rc, "charge");
}

int store_freecall_count(struct store *st, const char *id,
			 const char *number, const char *day,
			 uint32_t *by_booth, uint32_t *by_number)
{
	sqlite3_stmt *s;
	int err, rc;

	err = store_query(st, &s, "SELECT (SELECT count(*) FROM freecalls WHERE "
		    "booth=? AND day=? AND emergency=0), (SELECT count(*) FROM"
		    " freecalls WHERE number=? AND day=? AND emergency=0)",
		    "ssss", id, day, number, day);
	if (err)
		return err;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*by_booth = (uint32_t)sqlite3_column_int64(s, 0);
		*by_number = (uint32_t)sqlite3_column_int64(s, 1);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : store_sqlerr(st, rc, "freecall");
}

int store_freecall(struct store *st, const char *id, const char *number,
		   const char *day, const char *callid, int64_t ts_ms,
		   uint32_t secs, bool emergency)
{
	int err;

	if (secs) {
		err = store_run(st, "UPDATE freecalls SET secs=? WHERE callid=?",
				"is", (int64_t)secs, callid);
		if (err != ENOENT)
			return err;
	}
	return store_run(st, "INSERT INTO freecalls(booth,number,day,callid,"
			 "ts_ms,secs,emergency) VALUES(?,?,?,?,?,?,?)",
			 "ssssiii", id, number, day, callid, ts_ms,
			 (int64_t)secs, (int64_t)emergency);
}

struct json_arg {
	struct mbuf *mb;
	uint32_t n;
};

int store_freecall_sweep(struct store *st)
{
	int err = store_run(st, "DELETE FROM freecalls WHERE secs=0 AND "
			    "emergency=0", "");

	return err == ENOENT ? 0 : err;
}

int store_freecall_end(struct store *st, const char *callid, uint32_t secs)
{
	int err;

	if (!secs) {
		err = store_run(st, "DELETE FROM freecalls WHERE callid=? AND "
				"emergency=0", "s", callid);
		return err == ENOENT ? 0 : err;
	}
	return store_run(st, "UPDATE freecalls SET secs=? WHERE callid=?", "is",
			 (int64_t)secs, callid);
}

static void json_row(sqlite3_stmt *s, void *arg)
{
	struct json_arg *ja = arg;
	struct mbuf *mb = ja->mb;
	struct store_booth b;
	const char *faults = (const char *)sqlite3_column_text(s, 12);
	const char *usage = (const char *)sqlite3_column_text(s, 13);
	char lat[24], lon[24], wh[32];

	booth_of(s, &b);
	/* libre's %f truncates; libc rounds. */
	snprintf(lat, sizeof(lat), "%.6f", b.lat);
	snprintf(lon, sizeof(lon), "%.6f", b.lon);
	snprintf(wh, sizeof(wh), "%.3f", sqlite3_column_double(s, 14));
	(void)mbuf_printf(mb, "%s{\"id\":\"%H\",\"name\":\"%H\",\"name_en\":"
			  "\"%H\",\"address\":\"%H\",\"district\":\"%H\","
			  "\"lat\":%s,\"lon\":%s,\"account\":\"%H\","
			  "\"ports\":%u,\"lang\":\"%H\",\"online\":%s,"
			  "\"last_seen_ms\":%lld,\"faults\":%s,\"today\":"
			  "{\"usage\":%s,\"charging_wh\":%s,"
			  "\"charging_sessions\":%lld,\"free_calls\":%lld}}",
			  ja->n++ ? "," : "", store_json_esc, b.id,
			  store_json_esc, b.name, store_json_esc, b.name_en,
			  store_json_esc, b.address, store_json_esc,
			  b.district, lat, lon, store_json_esc, b.account,
			  b.ports, store_json_esc, b.lang,
			  b.online ? "true" : "false",
			  (long long)b.last_seen_ms, faults ? faults : "[]",
			  usage ? usage : "{}", wh,
			  (long long)sqlite3_column_int64(s, 15),
			  (long long)sqlite3_column_int64(s, 16));
}

int store_booth_json(struct store *st, const char *id, const char *day,
		     int64_t day_start_ms, struct mbuf *mb)
{
	struct json_arg ja = {mb, 0};
	sqlite3_stmt *s;
	int err;

	err = store_query(st, &s, "SELECT " BOOTH_COLS ", (SELECT json_group_array("
		    "json_object('kind',kind,'detail',detail,'ts_ms',ts_ms)) "
		    "FROM booth_faults f WHERE f.booth=b.id AND cleared_ms=0), "
		    "(SELECT json_group_object(service,n) FROM booth_usage u "
		    "WHERE u.booth=b.id AND day=?1), (SELECT coalesce(sum(wh),"
		    "0) FROM charge_sessions c WHERE c.booth=b.id AND start_ms"
		    ">=?2), (SELECT count(*) FROM charge_sessions c WHERE "
		    "c.booth=b.id AND start_ms>=?2 AND flag<>'fault'), (SELECT"
		    " count(*) FROM freecalls c WHERE c.booth=b.id AND day=?1)"
		    " FROM booths b WHERE ?3='' OR id=?3 ORDER BY id", "sis",
		    day, day_start_ms, id);
	if (err)
		return err;
	(void)mbuf_write_str(mb, "[");
	err = each(st, s, json_row, &ja);
	(void)mbuf_write_str(mb, "]");
	return err;
}
