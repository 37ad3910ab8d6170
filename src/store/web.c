/*
 * store, web side: users, sessions, API tokens, the audit log, and the
 * lists the API pages through.  These run at human rates, so statements
 * are prepared per call rather than cached.
 */
#include <string.h>
#include <errno.h>
#include <sqlite3.h>
#include <re.h>
#include "core/clock.h"
#include "store/store.h"
#include "store/store_int.h"

int store_prep(struct store *st, sqlite3_stmt **sp, const char *sql,
		const char *fmt, va_list ap)
{
	sqlite3_stmt *s;

	if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) != SQLITE_OK)
		return store_sqlerr(st, sqlite3_errcode(store_db(st)), sql);
	for (int i = 1; fmt && *fmt; fmt++, i++) {
		if (*fmt == 's') {
			const char *v = va_arg(ap, const char *);
			sqlite3_bind_text(s, i, v ? v : "", -1,
					  SQLITE_TRANSIENT);
		}
		else if (*fmt == 'd') {
			sqlite3_bind_double(s, i, va_arg(ap, double));
		}
		else {
			sqlite3_bind_int64(s, i, va_arg(ap, int64_t));
		}
	}
	*sp = s;
	return 0;
}

int store_query(struct store *st, sqlite3_stmt **sp, const char *sql,
		const char *fmt, ...)
{
	va_list ap;
	int err;

	va_start(ap, fmt);
	err = store_prep(st, sp, sql, fmt, ap);
	va_end(ap);
	return err;
}

void store_col_text(sqlite3_stmt *s, int col, char *dst, size_t sz)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	str_ncpy(dst, t ? (const char *)t : "", sz);
}

int store_run(struct store *st, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int err, rc;

	va_start(ap, fmt);
	err = store_prep(st, &s, sql, fmt, ap);
	va_end(ap);
	if (err)
		return err;
	rc = sqlite3_step(s);
	err = rc == SQLITE_DONE ? 0 : store_sqlerr(st, rc, "web");
	if (!err && !sqlite3_changes(store_db(st)))
		err = ENOENT;
	sqlite3_finalize(s);
	return err;
}

int store_row(struct store *st, const char *sql, int ncols,
	       const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;
	int err, rc;

	va_start(ap, fmt);
	err = store_prep(st, &s, sql, fmt, ap);
	if (err) {
		va_end(ap);
		return err;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		for (int i = 0; i < ncols; i++) {
			char *dst = va_arg(ap, char *);
			size_t sz = va_arg(ap, size_t);
			const unsigned char *t = sqlite3_column_text(s, i);
			str_ncpy(dst, t ? (const char *)t : "", sz);
		}
	}
	else {
		err = rc == SQLITE_DONE ? ENOENT : store_sqlerr(st, rc, "web");
	}
	va_end(ap);
	sqlite3_finalize(s);
	return err;
}

int store_user_add(struct store *st, const struct store_user *u)
{
	return store_run(st, "INSERT INTO "
			 "users(name,hash,role,agent,created_ms) "
			 "VALUES(?,?,?,?,?)", "ssssi", u->name, u->hash,
			 u->role, u->agent, u->created_ms);
}

int store_user_get(struct store *st, const char *name, struct store_user *u)
{
	memset(u, 0, sizeof(*u));
	return store_row(st, "SELECT name,hash,role,agent FROM users WHERE "
			 "name=?", 4, "s", name, u->name, sizeof(u->name),
			 u->hash, sizeof(u->hash), u->role, sizeof(u->role),
			 u->agent, sizeof(u->agent));
}

int store_user_passwd(struct store *st, const char *name, const char *hash)
{
	int err = store_run(st, "UPDATE users SET hash=? WHERE name=?", "ss",
			    hash, name);
	if (!err)    /* a new password ends every session of the user */
		(void)store_run(st, "DELETE FROM sessions WHERE user=?", "s",
				name);
	return err;
}

int store_user_del(struct store *st, const char *name)
{
	int err = store_run(st, "DELETE FROM users WHERE name=?", "s", name);
	if (!err)
		(void)store_run(st, "DELETE FROM sessions WHERE user=?", "s",
				name);
	return err;
}

int store_session_add(struct store *st, const char *hash, const char *user,
		      const char *csrf, int64_t expires_ms)
{
	(void)store_run(st, "DELETE FROM sessions WHERE expires_ms<=?", "i",
		  clock_wall_ms());
	return store_run(st, "INSERT INTO sessions(hash,user,csrf,expires_ms) "
		   "VALUES(?,?,?,?)", "sssi", hash, user, csrf, expires_ms);
}

int store_session_get(struct store *st, const char *hash, int64_t now_ms,
		      char *user, size_t usz, char *csrf, size_t csz)
{
	/* A read on every request; expired rows are swept at sign-in. */
	return store_row(st, "SELECT user,csrf FROM sessions WHERE hash=? AND "
		   "expires_ms>?", 2, "si", hash, now_ms, user, usz, csrf, csz);
}

int store_session_del(struct store *st, const char *hash)
{
	return store_run(st, "DELETE FROM sessions WHERE hash=?", "s", hash);
}

int store_token_add(struct store *st, const char *name, const char *hash,
		    const char *scopes, int64_t now_ms)
{
	return store_run(st, "INSERT INTO tokens(name,hash,scopes,created_ms) "
		   "VALUES(?,?,?,?)", "sssi", name, hash, scopes, now_ms);
}

int store_token_get(struct store *st, const char *hash, char *name,
		    size_t nsz, char *scopes, size_t ssz)
{
	return store_row(st, "SELECT name,scopes FROM tokens WHERE hash=? AND "
		   "revoked=0", 2, "s", hash, name, nsz, scopes, ssz);
}

int store_token_revoke(struct store *st, const char *name)
{
	return store_run(st, "UPDATE tokens SET revoked=1 WHERE name=? AND "
		   "revoked=0", "s", name);
}

int store_audit(struct store *st, int64_t ts_ms, const char *who,
		const char *action, const char *detail)
{
	return store_run(st, "INSERT INTO audit(ts_ms,who,action,detail) "
		   "VALUES(?,?,?,?)", "isss", ts_ms, who, action, detail);
}

int store_wrapup(struct store *st, int64_t ts_ms, const char *callid,
		 const char *agent, const char *category, const char *notes)
{
	return store_run(st, "INSERT INTO "
			 "wrapups(ts_ms,callid,agent,category,notes) "
			 "VALUES(?,?,?,?,?)", "issss", ts_ms, callid, agent,
			 category, notes);
}

bool store_cdr_known(struct store *st, const char *callid)
{
	char buf[8];

	return !store_row(st, "SELECT 1 FROM cdr WHERE callid=? LIMIT 1", 1, "s",
			  callid, buf, sizeof(buf));
}

int store_callback_done(struct store *st, int64_t id)
{
	return store_run(st, "UPDATE callbacks SET status='done' WHERE id=? "
			 "AND status='open'", "i", id);
}

int store_recording(struct store *st, int64_t cdr_id, char *path,
		    size_t sz)
{
	int err = store_row(st, "SELECT recording FROM cdr WHERE id=?", 1, "i",
		      cdr_id, path, sz);
	return !err && !*path ? ENOENT : err;
}

/* The lists, newest first where time matters.  Each takes the same
 * filter parameters (?1 from, ?2 to, ?3 hotline, ?4 queue, ?5 agent,
 * ?6 caller) and pages with ?7 limit, ?8 offset. */
static const char *lists[STORE_LIST_MAX] = {
	[STORE_LIST_CDR] = "SELECT id,callid,caller,callee,dialled,"
		"start_ms,answer_ms,end_ms,duration_s,disposition,cause,"
		"reason,hangup_by,hotline,language,path,survey,"
		"recording<>'' AS has_recording FROM cdr WHERE start_ms>=?1 "
		"AND start_ms<?2 AND (?3='' OR hotline=?3) AND (?6='' OR "
		"caller=?6 OR callee=?6) ORDER BY id DESC",
	[STORE_LIST_QLOG] = "SELECT id,ts_ms,callid,queue,agent,event,"
		"wait_ms,talk_ms,position,hotline FROM queue_log WHERE "
		"ts_ms>=?1 AND ts_ms<?2 AND (?3='' OR hotline=?3) AND "
		"(?4='' OR queue=?4) AND (?5='' OR agent=?5) ORDER BY id DESC",
	[STORE_LIST_CALLBACKS] = "SELECT id,created_ms,callid,caller,hotline,"
		"number,recording,status FROM callbacks WHERE status='open' "
		"AND created_ms>=?1 AND created_ms<?2 AND (?3='' OR "
		"hotline=?3) ORDER BY id",
	[STORE_LIST_ACCOUNTS] = "SELECT user,display,ext,kind,outbound,"
		"max_calls FROM accounts WHERE (?6='' OR user=?6) ORDER BY "
		"user",
	[STORE_LIST_USERS] = "SELECT name,role,agent,created_ms FROM users "
		"ORDER BY name",
	[STORE_LIST_TOKENS] = "SELECT name,scopes,created_ms,revoked FROM "
		"tokens ORDER BY id",
	[STORE_LIST_WRAPUPS] = "SELECT id,ts_ms,callid,agent,category,notes "
		"FROM wrapups WHERE ts_ms>=?1 AND ts_ms<?2 AND (?5='' OR "
		"agent=?5) AND (?6='' OR callid=?6) ORDER BY id DESC",
	[STORE_LIST_AUDIT] = "SELECT id,ts_ms,who,action,detail FROM audit "
		"WHERE ts_ms>=?1 AND ts_ms<?2 ORDER BY id DESC",
};

static void bind_filter(sqlite3_stmt *s, const struct store_filter *f)
{
	sqlite3_bind_int64(s, 1, f->from_ms);
	sqlite3_bind_int64(s, 2, f->to_ms);
	sqlite3_bind_text(s, 3, f->hotline ? f->hotline : "", -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(s, 4, f->queue ? f->queue : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, f->agent ? f->agent : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, f->caller ? f->caller : "", -1,
			  SQLITE_STATIC);
}

/* One row as a JSON object (csv: a CSV line), named by the columns. */
static int print_row(struct mbuf *mb, sqlite3_stmt *s, bool csv)
{
	int n = sqlite3_column_count(s), err = 0;

	if (!csv)
		err |= mbuf_write_u8(mb, '{');
	for (int i = 0; i < n; i++) {
		const char *t = (const char *)sqlite3_column_text(s, i);
		int type = sqlite3_column_type(s, i);

		if (i)
			err |= mbuf_write_u8(mb, ',');
		if (csv) {
			/* Quote every text field; double inner quotes. */
			if (type == SQLITE_INTEGER || type == SQLITE_FLOAT)
				err |= mbuf_printf(mb, "%s", t);
			else
				err |= mbuf_printf(mb, "\"%H\"", store_csv_esc,
						   t ? t : "");
			continue;
		}
		err |= mbuf_printf(mb, "\"%s\":", sqlite3_column_name(s, i));
		if (type == SQLITE_INTEGER || type == SQLITE_FLOAT)
			err |= mbuf_printf(mb, "%s", t);
		else if (type == SQLITE_NULL)
			err |= mbuf_write_str(mb, "null");
		else
			err |= mbuf_printf(mb, "\"%H\"", store_json_esc, t);
	}
	err |= mbuf_write_str(mb, csv ? "\r\n" : "}");
	return err ? ENOMEM : 0;
}

int store_list(struct store *st, enum store_list which,
	       const struct store_filter *f, bool csv, struct mbuf *mb,
	       uint64_t *total)
{
	sqlite3_stmt *s = NULL;
	char *sql = NULL;
	int err = 0, rc;
	bool first = true;

	if (which >= STORE_LIST_MAX)
		return EINVAL;
	/* The total over the filter, then one page of it. */
	if (re_sdprintf(&sql, "SELECT count(*) FROM (%s)", lists[which]))
		return ENOMEM;
	if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) != SQLITE_OK) {
		err = store_sqlerr(st, sqlite3_errcode(store_db(st)), "list");
		goto out;
	}
	bind_filter(s, f);
	*total = sqlite3_step(s) == SQLITE_ROW ?
		(uint64_t)sqlite3_column_int64(s, 0) : 0;
	sqlite3_finalize(s);
	s = NULL;
	sql = mem_deref(sql);

	if (re_sdprintf(&sql, "%s LIMIT ?7 OFFSET ?8", lists[which])) {
		err = ENOMEM;
		goto out;
	}
	if (sqlite3_prepare_v2(store_db(st), sql, -1, &s, NULL) != SQLITE_OK) {
		err = store_sqlerr(st, sqlite3_errcode(store_db(st)), "list");
		goto out;
	}
	bind_filter(s, f);
	sqlite3_bind_int64(s, 7, f->limit);
	sqlite3_bind_int64(s, 8, f->offset);
	if (csv) {
		for (int i = 0; i < sqlite3_column_count(s); i++)
			err |= mbuf_printf(mb, "%s%s", i ? "," : "",
					   sqlite3_column_name(s, i));
		err |= mbuf_write_str(mb, "\r\n");
	}
	while (!err && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (!csv && !first)
			err = mbuf_write_u8(mb, ',');
		first = false;
		err |= print_row(mb, s, csv);
	}
	if (!err && rc != SQLITE_DONE)
		err = store_sqlerr(st, rc, "list");
 out:
	sqlite3_finalize(s);
	mem_deref(sql);
	return err;
}

int store_json_esc(struct re_printf *pf, const char *s)
{
	int err = 0;

	for (; s && *s && !err; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			err = re_hprintf(pf, "\\%c", c);
		else if (c < 0x20)
			err = re_hprintf(pf, "\\u%04x", c);
		else
			err = pf->vph((const char *)&c, 1, pf->arg);
	}
	return err;
}

int store_csv_esc(struct re_printf *pf, const char *s)
{
	int err = 0;

	for (; s && *s && !err; s++)
		err = *s == '"' ? re_hprintf(pf, "\"\"") :
			pf->vph(s, 1, pf->arg);
	return err;
}
