/*
 * api, notify: the SMS outbox (Kannel's delivery reports, the list for
 * supervisors) and 守望相助 — the booth raising an alert, the volunteers'
 * page (authenticated by the token of the link their SMS carries), the
 * volunteers managed by admins, and the alerts for operations.
 */
#include <string.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <re.h>
#include "core/clock.h"
#include "core/log.h"
#include "store/store.h"
#include "store/notify.h"
#include "site/json.h"
#include "booth/booth.h"
#include "booth/watch.h"
#include "sms/sms.h"
#include "api/api.h"
#include "api/api_int.h"

enum { LIST_MAX = 500, RESOLUTION_MAX = 500 };

static bool need(struct req *r, const void *svc, const char *what)
{
	if (svc)
		return true;
	api_error(r, 503, "unavailable", "%s is not running", what);
	return false;
}

/* A whole number from text; false if it is not one. */
static bool to_int(const char *s, long long min, long long max,
		   long long *v)
{
	char *end;

	if (!s[0] || strspn(s, "-0123456789") != strlen(s))
		return false;
	*v = strtoll(s, &end, 10);
	return !*end && *v >= min && *v <= max;
}

/* Only the members in allowed (" a b ") may be in body j. */
static bool only(struct req *r, const struct json *j, const char *allowed)
{
	char pat[48];

	for (size_t k = 0; k < json_count(j); k++) {
		re_snprintf(pat, sizeof(pat), " %s ", json_key(j, k));
		if (strlen(json_key(j, k)) > 40 || !strstr(allowed, pat)) {
			api_error(r, 400, "bad_request", "unknown field "
				  "\"%s\"", json_key(j, k));
			return false;
		}
	}
	return true;
}

/* ---------- SMS ---------- */

/* Kannel calls this for every delivery report: no user, so the secret of
 * the message (k) is what lets it in. */
static void sms_dlr_h(struct req *r)
{
	char id[24], key[80], status[12], answer[400] = "";
	long long n, st;
	struct store_sms m;

	if (!need(r, r->api->svc.sms, "SMS"))
		return;
	if (!api_param(r, "id", id, sizeof(id)) || !to_int(id, 1, INT64_MAX,
							   &n) ||
	    !api_param(r, "k", key, sizeof(key)) ||
	    !api_param(r, "status", status, sizeof(status)) ||
	    !to_int(status, 0, 255, &st)) {
		api_error(r, 400, "bad_request", "a report needs id, k and a "
			  "numeric status");
		return;
	}
	/* A reply too long, or not text, is left out, not kept half. */
	if (!api_param(r, "answer", answer, sizeof(answer)) ||
	    !sms_text_ok(answer))
		answer[0] = '\0';
	if (sms_dlr_auth(r->api->svc.sms, n, key)) {
		log_warn("api: SMS report for message %lld from %J refused",
			 n, http_conn_peer(r->conn));
		api_error(r, 403, "forbidden", "no such message, or the key "
			  "is wrong");
		return;
	}
	if (sms_dlr(r->api->svc.sms, n, (int)st, answer) ||
	    store_sms_get(r->api->st, n, &m)) {
		api_error(r, 500, "store", "the report was not stored");
		return;
	}
	api_json(r, 200, "{\"id\":%lld,\"state\":\"%s\"}", n, m.state);
}

/* A volunteer's link in a message is a credential: lists show it masked. */
static void mask_links(struct mbuf *mb)
{
	static const char mark[] = "watch.html?v=";
	const size_t ml = sizeof(mark) - 1;

	for (size_t i = 0; i + ml < mb->end; i++) {
		if (memcmp(mb->buf + i, mark, ml))
			continue;
		i += ml;
		while (i < mb->end && strchr("0123456789abcdef",
					     mb->buf[i]) && mb->buf[i])
			mb->buf[i++] = '*';
	}
}

static void sms_list(struct req *r)
{
	char ref[160] = "", state[16] = "", lim[12];
	long long limit = 200;
	struct mbuf *mb;

	(void)api_param(r, "ref", ref, sizeof(ref));
	(void)api_param(r, "state", state, sizeof(state));
	if (state[0] && strcmp(state, "queued") && strcmp(state, "sent") &&
	    strcmp(state, "accepted") && strcmp(state, "delivered") &&
	    strcmp(state, "failed")) {
		api_error(r, 400, "bad_request", "state is queued, sent, "
			  "accepted, delivered or failed");
		return;
	}
	if (api_param(r, "limit", lim, sizeof(lim)) &&
	    !to_int(lim, 1, LIST_MAX, &limit)) {
		api_error(r, 400, "bad_request", "limit is 1 to %d",
			  LIST_MAX);
		return;
	}
	mb = mbuf_alloc(4096);
	if (!mb || store_sms_json(r->api->st, ref, state, (uint32_t)limit,
				  mb)) {
		api_error(r, 500, "store", "cannot list the messages");
	}
	else {
		mask_links(mb);
		api_reply(r, 200, "application/json", mb, NULL);
	}
	mem_deref(mb);
}

/* ---------- volunteers (admins) ---------- */

static int volunteer_json(struct mbuf *mb, const struct store_volunteer *v,
			  const struct watch *w, bool token)
{
	char link[400];

	watch_link(w, v->token, link, sizeof(link));
	return mbuf_printf(mb, "{\"id\":\"%H\",\"name\":\"%H\",\"phone\":"
			   "\"%H\",\"district\":\"%H\",\"kind\":\"%s\","
			   "\"escalation\":\"%H\",\"created_ms\":%lld,"
			   "\"link\":\"%H\"%s%s%s}", store_json_esc, v->id,
			   store_json_esc, v->name, store_json_esc, v->phone,
			   store_json_esc, v->district, v->kind,
			   store_json_esc, v->escalation,
			   (long long)v->created_ms, store_json_esc, link,
			   token ? ",\"token\":\"" : "", token ? v->token : "",
			   token ? "\"" : "");
}

static void volunteer_reply(struct req *r, uint16_t code,
			    const struct store_volunteer *v, bool token)
{
	struct mbuf *mb = mbuf_alloc(1024);

	if (!mb || volunteer_json(mb, v, r->api->svc.watch, token))
		api_error(r, 500, "internal", "out of memory");
	else
		api_reply(r, code, "application/json", mb, NULL);
	mem_deref(mb);
}

static void volunteer_add(struct req *r)
{
	struct store_volunteer v, old;
	struct json *j;
	char err[300];

	if (!need(r, r->api->svc.watch, "the watch"))
		return;
	j = api_body(r);
	if (!j)
		return;
	if (watch_volunteer_parse(j, "body", &v, err, sizeof(err))) {
		api_error(r, 400, "bad_request", "%s", err);
		goto out;
	}
	if (!store_volunteer_get(r->api->st, v.id, &old)) {
		api_error(r, 409, "conflict", "volunteer %s exists; DELETE it "
			  "first", v.id);
		goto out;
	}
	if (watch_volunteer_put(r->api->svc.watch, &v, false) ||
	    store_volunteer_get(r->api->st, v.id, &v)) {
		api_error(r, 500, "store", "the store refused the volunteer");
		goto out;
	}
	api_audit(r, "volunteer.add", "%s %s %s", v.id, v.kind, v.district);
	volunteer_reply(r, 201, &v, true);
 out:
	mem_deref(j);
}

struct vlist {
	struct mbuf *mb;
	const struct watch *w;
	uint32_t n;
	int err;
};

static void vlist_one(const struct store_volunteer *v, void *arg)
{
	struct vlist *vl = arg;

	if (!vl->err && vl->n++)
		vl->err = mbuf_write_u8(vl->mb, ',');
	if (!vl->err)
		vl->err = volunteer_json(vl->mb, v, vl->w, false);
}

static void volunteer_list(struct req *r)
{
	struct vlist vl = {NULL, r->api->svc.watch, 0, 0};
	char district[48] = "";

	if (!need(r, r->api->svc.watch, "the watch"))
		return;
	(void)api_param(r, "district", district, sizeof(district));
	vl.mb = mbuf_alloc(4096);
	if (!vl.mb || mbuf_write_str(vl.mb, "{\"items\":[") ||
	    store_volunteer_list(r->api->st, district, vlist_one, &vl) ||
	    vl.err || mbuf_write_str(vl.mb, "]}"))
		api_error(r, 500, "store", "cannot list the volunteers");
	else
		api_reply(r, 200, "application/json", vl.mb, NULL);
	mem_deref(vl.mb);
}

static void volunteer_del(struct req *r)
{
	if (store_volunteer_del(r->api->st, r->seg[0])) {
		api_error(r, 404, "not_found", "no volunteer %s", r->seg[0]);
		return;
	}
	api_audit(r, "volunteer.delete", "%s", r->seg[0]);
	api_json(r, 200, "{\"deleted\":\"%H\"}", store_json_esc, r->seg[0]);
}

static void volunteer_token(struct req *r)
{
	struct store_volunteer v;

	if (!need(r, r->api->svc.watch, "the watch"))
		return;
	if (store_volunteer_get(r->api->st, r->seg[0], &v)) {
		api_error(r, 404, "not_found", "no volunteer %s", r->seg[0]);
		return;
	}
	v.token[0] = '\0';
	if (watch_volunteer_put(r->api->svc.watch, &v, true)) {
		api_error(r, 500, "store", "the store refused the token");
		return;
	}
	api_audit(r, "volunteer.token", "%s", v.id);
	volunteer_reply(r, 201, &v, true);
}

/* ---------- alerts as JSON ---------- */

static void alerts_reply(struct req *r, const struct store_watch_filter *f,
			 const char *head, bool one)
{
	struct mbuf *mb = mbuf_alloc(4096);
	uint32_t n = 0;
	int err;

	if (!mb) {
		api_error(r, 500, "internal", "out of memory");
		return;
	}
	err = mbuf_printf(mb, "%s", one ? "" : head);
	if (!err)
		err = store_watch_json(r->api->st, f, mb, &n);
	if (!err && !one)
		err = mbuf_write_str(mb, "]}");
	if (err)
		api_error(r, 500, "store", "cannot list the alerts");
	else if (one && !n)
		api_error(r, 404, "not_found", "no such alert");
	else
		api_reply(r, 200, "application/json", mb, NULL);
	mem_deref(mb);
}

static void one_alert(struct req *r, uint16_t code, int64_t id, bool dup)
{
	struct store_watch_filter f = {.id = id, .log = true, .limit = 1};
	struct mbuf *mb = mbuf_alloc(2048);
	uint32_t n = 0;

	if (!mb || store_watch_json(r->api->st, &f, mb, &n) || !n) {
		api_error(r, 500, "store", "cannot read the alert");
	}
	else {
		/* {"duplicate":…, then the alert's own members. */
		struct mbuf *out = mbuf_alloc(mb->end + 32);
		if (out && !mbuf_printf(out, "{\"duplicate\":%s,%b",
					dup ? "true" : "false", mb->buf + 1,
					mb->end - 1))
			api_reply(r, code, "application/json", out, NULL);
		else
			api_error(r, 500, "internal", "out of memory");
		mem_deref(out);
	}
	mem_deref(mb);
}

static bool alert_id(struct req *r, int64_t *id)
{
	long long v;

	if (!to_int(r->seg[0], 1, INT64_MAX, &v)) {
		api_error(r, 404, "not_found", "no alert %s", r->seg[0]);
		return false;
	}
	*id = v;
	return true;
}

/* ---------- the booth's side ---------- */

static void booth_watch(struct req *r)
{
	struct booth_info bi;
	const struct json *c, *note;
	const char *nt = "";
	struct json *j;
	int64_t id = 0;
	bool dup = false;
	int err;

	if (!need(r, r->api->svc.booths, "booths") ||
	    !need(r, r->api->svc.watch, "the watch") ||
	    api_booth_auth(r, &bi))
		return;
	j = api_body(r);
	if (!j)
		return;
	if (!only(r, j, " category note "))
		goto out;
	c = json_get(j, "category");
	note = json_get(j, "note");
	if (!watch_category_ok(json_str(c))) {
		api_error(r, 400, "bad_request", "\"category\" is fall, lost, "
			  "suspicious, fire-smoke, quarrel or other");
		goto out;
	}
	if (note && json_type(note) != JSON_NULL) {
		nt = json_str(note);
		if (!nt || strlen(nt) > WATCH_NOTE_MAX ||
		    (nt[0] && !sms_text_ok(nt))) {
			api_error(r, 400, "bad_request", "\"note\" is text of "
				  "at most %d bytes", WATCH_NOTE_MAX);
			goto out;
		}
	}
	err = watch_raise(r->api->svc.watch, &bi, json_str(c), nt, &id, &dup);
	if (err == EAGAIN) {
		api_error_hdr(r, 429, "Retry-After: 600\r\n", "rate_limited",
			      "this booth raised too many alerts this hour; "
			      "call 110 in an emergency");
		goto out;
	}
	if (err) {
		api_error(r, err == EINVAL ? 400 : 500, err == EINVAL ?
			  "bad_request" : "store", "the alert was not stored");
		goto out;
	}
	if (!dup)
		booths_count(r->api->svc.booths, bi.id, "watch");
	one_alert(r, dup ? 200 : 201, id, dup);
 out:
	mem_deref(j);
}

static void booth_watch_get(struct req *r)
{
	struct booth_info bi;
	struct store_watch_filter f = {.log = false, .limit = 1};

	if (!need(r, r->api->svc.booths, "booths") ||
	    !need(r, r->api->svc.watch, "the watch") ||
	    api_booth_auth(r, &bi) || !alert_id(r, &f.id))
		return;
	/* A booth sees its own alerts only. */
	f.booth = bi.id;
	alerts_reply(r, &f, NULL, true);
}

/* A spoken note: the body is the WAV file itself. */
static void booth_watch_audio(struct req *r)
{
	const struct http_hdr *ct = http_msg_hdr(r->msg,
						 HTTP_HDR_CONTENT_TYPE);
	const struct mbuf *mb = r->msg->mb;
	struct booth_info bi;
	uint32_t ms = 0;
	int64_t id;
	int err;

	if (!need(r, r->api->svc.booths, "booths") ||
	    !need(r, r->api->svc.watch, "the watch") ||
	    api_booth_auth(r, &bi) || !alert_id(r, &id))
		return;
	if (!ct || (pl_strcasecmp(&ct->val, "audio/wav") &&
		    pl_strcasecmp(&ct->val, "audio/x-wav") &&
		    pl_strcasecmp(&ct->val, "audio/wave"))) {
		api_error(r, 415, "unsupported_media_type", "send the note as "
			  "audio/wav");
		return;
	}
	err = mb ? watch_audio_put(r->api->svc.watch, id, bi.id,
				   mbuf_buf(mb), mbuf_get_left(mb), &ms) :
		EINVAL;
	if (err == EINVAL)
		api_error(r, 400, "bad_wav", "a spoken note is a mono WAV file "
			  "(PCM, A-law or u-law, 8-48 kHz) of 0.2 to 60 s, at "
			  "most %u bytes", API_BODY_MAX);
	else if (err == ENOENT)
		api_error(r, 404, "not_found", "no alert %lld of this booth",
			  (long long)id);
	else if (err == EALREADY)
		api_error(r, 409, "closed", "alert %lld is closed",
			  (long long)id);
	else if (err)
		api_error(r, 500, "store", "the note was not kept");
	else
		api_json(r, 201, "{\"id\":%lld,\"audio_ms\":%u}",
			 (long long)id, ms);
}

static void send_wav(struct req *r, const char *path)
{
	struct mbuf *mb = NULL;
	long n = -1;
	FILE *f = path[0] ? fopen(path, "rb") : NULL;

	if (f && !fseek(f, 0, SEEK_END))
		n = ftell(f);
	if (!f || n < 0 || n > 1 << 22 || fseek(f, 0, SEEK_SET)) {
		if (f)
			fclose(f);
		api_error(r, 404, "not_found", "this alert has no spoken note");
		return;
	}
	mb = mbuf_alloc((size_t)n + 1);
	if (mb && fread(mb->buf, 1, (size_t)n, f) == (size_t)n) {
		mb->end = (size_t)n;
		api_reply(r, 200, "audio/wav", mb, NULL);
	}
	else {
		api_error(r, 500, "read_failed", "cannot read the note");
	}
	fclose(f);
	mem_deref(mb);
}

/* ---------- the volunteers' page ---------- */

static int volunteer_auth(struct req *r, struct store_volunteer *v)
{
	const struct http_hdr *h = http_msg_hdr(r->msg,
						HTTP_HDR_AUTHORIZATION);
	char token[96] = "";
	struct pl pl;
	int err;

	if (!need(r, r->api->svc.watch, "the watch"))
		return ENODEV;
	if (h && !re_regex(h->val.p, h->val.l, "Volunteer [^ ]+", &pl) &&
	    pl.p == h->val.p + 10 && pl.p + pl.l == h->val.p + h->val.l)
		(void)pl_strcpy(&pl, token, sizeof(token));
	else if (!h)
		(void)api_param(r, "v", token, sizeof(token));
	err = watch_volunteer_auth(r->api->svc.watch, token, v);
	if (err) {
		log_warn("api: watch request from %J with %s token",
			 http_conn_peer(r->conn), token[0] ? "a wrong" : "no");
		api_error(r, 401, "unauthorized", token[0] ? "this link is "
			  "not valid (any more)" : "send \"Authorization: "
			  "Volunteer <token>\"");
	}
	return err;
}

static void page_alerts(struct req *r)
{
	struct store_volunteer v;
	struct store_watch_filter f = {.state = "live", .limit = 100};
	char head[400];

	if (volunteer_auth(r, &v))
		return;
	f.district = v.district;
	f.mine = v.id;
	re_snprintf(head, sizeof(head), "{\"volunteer\":{\"id\":\"%H\","
		    "\"name\":\"%H\",\"kind\":\"%s\",\"district\":\"%H\"},"
		    "\"escalate_s\":%u,\"items\":[", store_json_esc, v.id,
		    store_json_esc, v.name, v.kind, store_json_esc, v.district,
		    r->api->cf.watch_escalate_s);
	alerts_reply(r, &f, head, false);
}

static void page_accept(struct req *r)
{
	struct store_volunteer v;
	struct store_watch a;
	int64_t id;
	int err;

	if (volunteer_auth(r, &v) || !alert_id(r, &id))
		return;
	memset(&a, 0, sizeof(a));
	err = watch_accept(r->api->svc.watch, id, &v);
	if (err == ENOENT) {
		api_error(r, 404, "not_found", "no alert %lld in %s",
			  (long long)id, v.district);
	}
	else if (err == EALREADY) {
		if (!store_watch_get(r->api->st, id, &a) &&
		    !strcmp(a.accepted_by, v.id))
			api_error(r, 409, "taken", "you accepted alert %lld "
				  "already", (long long)id);
		else
			api_error(r, 409, "taken", "alert %lld is %s%s%s",
				  (long long)id, a.state, a.accepted_name[0] ?
				  " by " : "", a.accepted_name);
	}
	else if (err) {
		api_error(r, 500, "store", "the store refused it");
	}
	else {
		one_alert(r, 200, id, false);
	}
}

static void page_close(struct req *r)
{
	struct store_volunteer v;
	const struct json *res = NULL;
	const char *text = "";
	struct json *j = NULL;
	int64_t id;
	int err;

	if (volunteer_auth(r, &v) || !alert_id(r, &id))
		return;
	if (r->msg->mb && mbuf_get_left(r->msg->mb)) {
		j = api_body(r);
		if (!j)
			return;
		if (!only(r, j, " resolution "))
			goto out;
		res = json_get(j, "resolution");
		text = res ? json_str(res) : "";
		if (!text || strlen(text) > RESOLUTION_MAX ||
		    (text[0] && !sms_text_ok(text))) {
			api_error(r, 400, "bad_request", "\"resolution\" is "
				  "text of at most %d bytes", RESOLUTION_MAX);
			goto out;
		}
	}
	err = watch_close(r->api->svc.watch, id, &v, text);
	if (err == ENOENT)
		api_error(r, 404, "not_found", "no alert %lld in %s",
			  (long long)id, v.district);
	else if (err == EPERM)
		api_error(r, 403, "forbidden", "another volunteer holds alert "
			  "%lld", (long long)id);
	else if (err == EALREADY)
		api_error(r, 409, "not_accepted", "alert %lld is not accepted "
			  "(or is closed already)", (long long)id);
	else if (err)
		api_error(r, 500, "store", "the store refused it");
	else
		one_alert(r, 200, id, false);
 out:
	mem_deref(j);
}

static void page_audio(struct req *r)
{
	struct store_volunteer v;
	struct store_watch a;
	int64_t id;

	if (volunteer_auth(r, &v) || !alert_id(r, &id))
		return;
	if (store_watch_get(r->api->st, id, &a) ||
	    (strcmp(a.district, v.district) && strcmp(a.accepted_by, v.id))) {
		api_error(r, 404, "not_found", "no alert %lld in %s",
			  (long long)id, v.district);
		return;
	}
	send_wav(r, a.audio);
}

/* ---------- operations ---------- */

static void ops_audio(struct req *r)
{
	struct store_watch a;
	int64_t id;

	if (!alert_id(r, &id))
		return;
	if (store_watch_get(r->api->st, id, &a)) {
		api_error(r, 404, "not_found", "no alert %lld", (long long)id);
		return;
	}
	send_wav(r, a.audio);
}

static void ops_alerts(struct req *r)
{
	struct store_watch_filter f = {.log = true, .limit = 200};
	char state[16] = "", booth[32] = "", district[48] = "", lim[12];
	long long limit;

	if (!need(r, r->api->svc.watch, "the watch"))
		return;
	(void)api_param(r, "state", state, sizeof(state));
	(void)api_param(r, "booth", booth, sizeof(booth));
	(void)api_param(r, "district", district, sizeof(district));
	if (state[0] && strcmp(state, "open") && strcmp(state, "accepted") &&
	    strcmp(state, "escalated") && strcmp(state, "closed") &&
	    strcmp(state, "live")) {
		api_error(r, 400, "bad_request", "state is open, accepted, "
			  "escalated, closed or live");
		return;
	}
	if (api_param(r, "limit", lim, sizeof(lim))) {
		if (!to_int(lim, 1, LIST_MAX, &limit)) {
			api_error(r, 400, "bad_request", "limit is 1 to %d",
				  LIST_MAX);
			return;
		}
		f.limit = (uint32_t)limit;
	}
	f.state = state;
	f.booth = booth;
	f.district = district;
	alerts_reply(r, &f, "{\"items\":[", false);
}

const struct api_route notify_routes[] = {
	{"GET", "/api/v1/sms/dlr", ROLE_NONE, NULL, sms_dlr_h},
	{"GET", "/api/v1/sms", ROLE_SUPERVISOR, "read", sms_list},
	{"POST", "/api/v1/booth/watch", ROLE_NONE, NULL, booth_watch},
	{"GET", "/api/v1/booth/watch/{}", ROLE_NONE, NULL, booth_watch_get},
	{"POST", "/api/v1/booth/watch/{}/audio", ROLE_NONE, NULL,
	 booth_watch_audio},
	{"GET", "/api/v1/watch/alerts", ROLE_NONE, NULL, page_alerts},
	{"POST", "/api/v1/watch/alerts/{}/accept", ROLE_NONE, NULL,
	 page_accept},
	{"POST", "/api/v1/watch/alerts/{}/close", ROLE_NONE, NULL,
	 page_close},
	{"GET", "/api/v1/watch/alerts/{}/audio", ROLE_NONE, NULL, page_audio},
	{"GET", "/api/v1/watch", ROLE_SUPERVISOR, "read", ops_alerts},
	{"GET", "/api/v1/watch/{}/audio", ROLE_SUPERVISOR, "read", ops_audio},
	{"GET", "/api/v1/volunteers", ROLE_ADMIN, "admin", volunteer_list},
	{"POST", "/api/v1/volunteers", ROLE_ADMIN, "admin", volunteer_add},
	{"DELETE", "/api/v1/volunteers/{}", ROLE_ADMIN, "admin",
	 volunteer_del},
	{"POST", "/api/v1/volunteers/{}/token", ROLE_ADMIN, "admin",
	 volunteer_token},
	{NULL, NULL, ROLE_NONE, NULL, NULL},
};
