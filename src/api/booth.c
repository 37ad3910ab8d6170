/*
 * api, booths: the booth screens' side (device token: heartbeats on a
 * WebSocket, faults, charging telemetry) and the operations side (the
 * fleet, managed by admins, watched by supervisors).
 */
#include <string.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <re.h>
#include "core/clock.h"
#include "core/event.h"
#include "core/log.h"
#include "store/store.h"
#include "store/booth.h"
#include "site/json.h"
#include "booth/booth.h"
#include "api/api.h"
#include "api/api_int.h"

enum { KEEPALIVE_MS = 30000, SCREEN_MSG_MAX = 4096 };

struct screen {
	struct le le;
	struct api *api;
	struct websock_conn *wc;
	char booth[32];
};

static void screen_destructor(void *arg)
{
	struct screen *sc = arg;

	list_unlink(&sc->le);
	mem_deref(sc->wc);
}

int api_booth_auth(struct req *r, struct booth_info *bi)
{
	const struct http_hdr *h = http_msg_hdr(r->msg,
						HTTP_HDR_AUTHORIZATION);
	char token[96] = "", hash[65], id[32];
	struct pl pl;
	int err = ENOENT;

	if (h && !re_regex(h->val.p, h->val.l, "Booth [^ ]+", &pl) &&
	    pl.p == h->val.p + 6 && pl.p + pl.l == h->val.p + h->val.l)
		(void)pl_strcpy(&pl, token, sizeof(token));
	else if (!h)
		(void)api_param(r, "token", token, sizeof(token));
	if (token[0] && r->api->svc.booths) {
		booths_token_hash(token, hash);
		err = store_booth_by_token(r->api->st, hash, id, sizeof(id));
		if (!err)
			err = booths_get(r->api->svc.booths, id, bi);
	}
	if (err) {
		log_warn("api: booth request from %J with %s token",
			 http_conn_peer(r->conn), token[0] ? "a wrong" : "no");
		api_error(r, 401, "unauthorized", token[0] ? "this booth token "
			  "is not valid" : "send \"Authorization: Booth "
			  "<token>\"");
		return err;
	}
	booths_seen(r->api->svc.booths, bi->id, "");
	return 0;
}

/* The JSON of one booth's live state, for its screen. */
static int booth_json(struct mbuf *mb, const struct booth_info *bi,
		      const struct conf *cf)
{
	char lat[24], lon[24];

	/* libre's %f truncates; libc rounds. */
	snprintf(lat, sizeof(lat), "%.6f", bi->lat);
	snprintf(lon, sizeof(lon), "%.6f", bi->lon);
	return mbuf_printf(mb, "{\"id\":\"%H\",\"name\":\"%H\",\"name_en\":"
			   "\"%H\",\"address\":\"%H\",\"district\":\"%H\","
			   "\"lat\":%s,\"lon\":%s,\"ports\":%u,\"lang\":"
			   "\"%s\",\"services\":{\"taxi\":%s,\"sms\":%s},"
			   "\"free_call_s\":%u,\"elder_number\":\"%H\","
			   "\"sign_number\":\"%H\",\"taxi_hotline\":\"%H\"}",
			   store_json_esc, bi->id, store_json_esc, bi->name,
			   store_json_esc, bi->name_en, store_json_esc,
			   bi->address, store_json_esc, bi->district, lat, lon,
			   bi->ports, bi->lang,
			   cf->taxi_url[0] && cf->taxi_secret[0] ? "true" :
			   "false",
			   cf->sms_url[0] ? "true" : "false",
			   cf->freecall_limit_s, store_json_esc,
			   cf->elder_number, store_json_esc, cf->sign_number,
			   store_json_esc, cf->taxi_hotline);
}

static void screen_send(struct screen *sc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)websock_send(sc->wc, WEBSOCK_TEXT, "%v", fmt, &ap);
	va_end(ap);
}

static const char *const fault_kinds[] = {
	"handset-off-hook", "screen", "charger", "network", "other",
};

static bool fault_kind_ok(const char *k)
{
	for (size_t i = 0; k && i < ARRAY_SIZE(fault_kinds); i++)
		if (!strcmp(k, fault_kinds[i]))
			return true;
	return false;
}

/* A fault a booth reports: 0, or EINVAL with why. */
static int fault(struct api *api, const char *booth, const struct json *j,
		 const char **why)
{
	const char *kind = json_str(json_get(j, "kind"));
	const struct json *d = json_get(j, "detail");
	const struct json *c = json_get(j, "cleared");
	const char *detail = d ? json_str(d) : "";
	bool cleared = c && json_type(c) == JSON_BOOL && json_bool(c);

	if (!fault_kind_ok(kind)) {
		*why = "\"kind\" must be handset-off-hook, screen, charger, "
			"network or other";
		return EINVAL;
	}
	if (!detail || strlen(detail) > 500 ||
	    (c && json_type(c) != JSON_BOOL)) {
		*why = "\"detail\" must be a string of at most 500 bytes and "
			"\"cleared\" a boolean";
		return EINVAL;
	}
	if (store_booth_fault(api->st, booth, kind, detail, clock_wall_ms(),
			      cleared)) {
		*why = "the store refused the fault";
		return EIO;
	}
	booths_notify(api->svc.booths, booth, cleared ? "fault-cleared" :
		      "fault", false, "{\"kind\":\"%s\",\"detail\":\"%H\"}",
		      kind, store_json_esc, detail);
	return 0;
}

static void screen_recv(const struct websock_hdr *hdr, struct mbuf *mb,
			void *arg)
{
	struct screen *sc = arg;
	struct json *j = NULL;
	const char *type, *why = NULL;
	char err[200];

	if (hdr->opcode != WEBSOCK_TEXT)
		return;
	if (mbuf_get_left(mb) > SCREEN_MSG_MAX ||
	    json_parse(&j, (const char *)mbuf_buf(mb), mbuf_get_left(mb),
		       err, sizeof(err)) || json_type(j) != JSON_OBJECT) {
		screen_send(sc, "{\"type\":\"error\",\"error\":\"bad_json\","
			    "\"message\":\"send one JSON object per "
			    "message\"}");
		goto out;
	}
	type = json_str(json_get(j, "type"));
	if (type && !strcmp(type, "heartbeat")) {
		const char *lang = json_str(json_get(j, "lang"));
		booths_seen(sc->api->svc.booths, sc->booth, lang ? lang : "");
		screen_send(sc, "{\"type\":\"ack\",\"ts_ms\":%lld}",
			    (long long)clock_wall_ms());
	}
	else if (type && !strcmp(type, "fault")) {
		booths_seen(sc->api->svc.booths, sc->booth, "");
		if (fault(sc->api, sc->booth, j, &why))
			screen_send(sc, "{\"type\":\"error\",\"error\":"
				    "\"bad_request\",\"message\":\"%H\"}",
				    store_json_esc, why);
	}
	else {
		screen_send(sc, "{\"type\":\"error\",\"error\":\"bad_request\","
			    "\"message\":\"type must be heartbeat or fault\"}");
	}
 out:
	mem_deref(j);
}

static void screen_close(int err, void *arg)
{
	(void)err;
	mem_deref(arg);
}

static void screen_accept(struct req *r)
{
	struct api *api = r->api;
	struct booth_info bi;
	struct screen *sc;
	struct mbuf *mb;

	if (!http_msg_hdr_has_value(r->msg, HTTP_HDR_UPGRADE, "websocket")) {
		api_error_hdr(r, 426, "Upgrade: websocket\r\n"
			      "Connection: Upgrade\r\n", "upgrade_required",
			      "/api/v1/booth/ws is a WebSocket");
		return;
	}
	if (api_booth_auth(r, &bi))
		return;
	sc = mem_zalloc(sizeof(*sc), screen_destructor);
	if (!sc) {
		api_error(r, 500, "internal", "out of memory");
		return;
	}
	sc->api = api;
	str_ncpy(sc->booth, bi.id, sizeof(sc->booth));
	if (websock_accept(&sc->wc, api->ws, r->conn, r->msg, KEEPALIVE_MS,
			   screen_recv, screen_close, sc)) {
		mem_deref(sc);
		api_error(r, 400, "bad_request", "not a WebSocket handshake");
		return;
	}
	list_append(&api->screens, &sc->le, sc);
	mb = mbuf_alloc(512);
	if (mb && !booth_json(mb, &bi, &api->cf))
		screen_send(sc, "{\"type\":\"hello\",\"booth\":%b}", mb->buf,
			    mb->end);
	mem_deref(mb);
}

/* News for a booth's screen goes to every screen of that booth. */
static void booth_news(enum event_type type, const void *data, void *arg)
{
	struct api *api = arg;
	const struct booth_news *n = data;

	if (type != EVENT_BOOTH || !n->to_screen)
		return;
	for (struct le *le = api->screens.head; le; le = le->next) {
		struct screen *sc = le->data;
		if (!strcmp(sc->booth, n->booth))
			screen_send(sc, "{\"type\":\"%s\",\"data\":%s}",
				    n->kind, n->json);
	}
}

int api_booths_init(struct api *api)
{
	return event_subscribe(&api->booth_sub, booth_news, api);
}

void api_booths_close(struct api *api)
{
	api->booth_sub = mem_deref(api->booth_sub);
	list_flush(&api->screens);
}

/* A booth deleted or given a new token: its screens must sign in again. */
static void screens_drop(struct api *api, const char *booth)
{
	struct le *le = api->screens.head;

	while (le) {
		struct screen *sc = le->data;
		le = le->next;
		if (!strcmp(sc->booth, booth))
			mem_deref(sc);
	}
}

/* ---------- the screen's requests ---------- */

static bool need_booths(struct req *r)
{
	if (r->api->svc.booths)
		return true;
	api_error(r, 503, "unavailable", "booths are not running");
	return false;
}

static void screen_me(struct req *r)
{
	struct booth_info bi;
	struct mbuf *mb;

	if (!need_booths(r) || api_booth_auth(r, &bi))
		return;
	mb = mbuf_alloc(512);
	if (!mb || booth_json(mb, &bi, &r->api->cf))
		api_error(r, 500, "internal", "out of memory");
	else
		api_reply(r, 200, "application/json", mb, NULL);
	mem_deref(mb);
}

static void screen_heartbeat(struct req *r)
{
	struct booth_info bi;
	struct json *j;
	const char *lang;

	if (!need_booths(r) || api_booth_auth(r, &bi))
		return;
	j = api_body(r);
	if (!j)
		return;
	lang = json_str(json_get(j, "lang"));
	if (lang && strcmp(lang, "zh") && strcmp(lang, "en"))
		api_error(r, 400, "bad_request", "\"lang\" is zh or en");
	else {
		booths_seen(r->api->svc.booths, bi.id, lang ? lang : "");
		api_json(r, 200, "{\"ts_ms\":%lld}",
			 (long long)clock_wall_ms());
	}
	mem_deref(j);
}

static void screen_fault(struct req *r)
{
	struct booth_info bi;
	const char *why = NULL;
	struct json *j;
	int err;

	if (!need_booths(r) || api_booth_auth(r, &bi))
		return;
	j = api_body(r);
	if (!j)
		return;
	err = fault(r->api, bi.id, j, &why);
	if (err)
		api_error(r, err == EINVAL ? 400 : 500, err == EINVAL ?
			  "bad_request" : "store", "%s", why);
	else
		api_json(r, 201, "{\"booth\":\"%H\"}", store_json_esc, bi.id);
	mem_deref(j);
}

/* Energy beyond this in one session is not a phone: flag it. */
enum { CHARGE_WH_MAX = 100 };

static void screen_charging(struct req *r)
{
	struct booth_info bi;
	const struct json *port, *wh;
	const char *event, *flag = "";
	struct json *j;
	int64_t id = 0;
	double e = 0;

	if (!need_booths(r) || api_booth_auth(r, &bi))
		return;
	j = api_body(r);
	if (!j)
		return;
	port = json_get(j, "port");
	wh = json_get(j, "wh");
	event = json_str(json_get(j, "event"));
	if (!port || json_type(port) != JSON_NUMBER || json_num(port) < 1 ||
	    json_num(port) > bi.ports ||
	    json_num(port) != floor(json_num(port))) {
		api_error(r, 400, "bad_request", "\"port\" must be a port of "
			  "this booth, 1 to %u", bi.ports);
		goto out;
	}
	if (!event || (strcmp(event, "start") && strcmp(event, "stop") &&
		       strcmp(event, "fault"))) {
		api_error(r, 400, "bad_request", "\"event\" is start, stop or "
			  "fault");
		goto out;
	}
	if (!strcmp(event, "stop")) {
		if (!wh || json_type(wh) != JSON_NUMBER || !isfinite(
			    json_num(wh)) || json_num(wh) < 0 ||
		    json_num(wh) > 100000) {
			api_error(r, 400, "bad_request", "a stop needs \"wh\", "
				  "the energy in Wh (0 to 100000)");
			goto out;
		}
		e = json_num(wh);
		if (e > CHARGE_WH_MAX)
			flag = "abnormal";
	}
	else if (wh) {
		api_error(r, 400, "bad_request", "only a stop carries \"wh\"");
		goto out;
	}
	if (!strcmp(event, "fault"))
		flag = "fault";
	if (store_charge(r->api->st, bi.id, (uint32_t)json_num(port), event,
			 e, flag, clock_wall_ms(), &id)) {
		api_error(r, 500, "store", "the store refused the session");
		goto out;
	}
	if (flag[0]) {
		char whs[32];
		snprintf(whs, sizeof(whs), "%.3f", e);
		booths_notify(r->api->svc.booths, bi.id, "charging", false,
			      "{\"port\":%u,\"flag\":\"%s\",\"wh\":%s}",
			      (unsigned)json_num(port), flag, whs);
	}
	if (!strcmp(event, "start"))
		booths_count(r->api->svc.booths, bi.id, "charging");
	api_json(r, 201, "{\"booth\":\"%H\",\"port\":%u,\"event\":\"%s\","
		 "\"flag\":\"%s\"}", store_json_esc, bi.id,
		 (unsigned)json_num(port), event, flag);
 out:
	mem_deref(j);
}

static void screen_call(struct req *r)
{
	struct booth_info bi;
	const struct json *num, *svc;
	char why[160] = "", callid[128] = "";
	uint16_t scode = 0;
	struct json *j;
	int err;

	if (!need_booths(r) || api_booth_auth(r, &bi))
		return;
	j = api_body(r);
	if (!j)
		return;
	num = json_get(j, "number");
	svc = json_get(j, "service");
	if ((num && json_type(num) != JSON_STRING) ||
	    (svc && json_type(svc) != JSON_STRING) || !num == !svc) {
		api_error(r, 400, "bad_request", "send \"number\" (digits) or "
			  "\"service\" (elder or sign)");
		goto out;
	}
	err = booths_dial(r->api->svc.booths, bi.id, json_str(num),
			  json_str(svc), &scode, why, sizeof(why), callid,
			  sizeof(callid));
	if (err) {
		api_error(r, scode ? scode : 500, scode == 503 ? "unavailable" :
			  err == EDQUOT ?
			  "quota_exceeded" : err == EPERM ? "not_local" :
			  scode == 400 ? "bad_request" : scode == 409 ?
			  "conflict" : scode == 404 ? "not_found" :
			  "unavailable", "%s", why);
		goto out;
	}
	api_json(r, 201, "{\"call\":\"%H\",\"booth\":\"%H\",\"state\":"
		 "\"ringing-handset\"}", store_json_esc, callid,
		 store_json_esc, bi.id);
 out:
	mem_deref(j);
}

struct port_ctx {
	struct mbuf *mb;
	uint32_t n;
};

static void port_state(uint32_t port, const char *state, int64_t since_ms,
		       void *arg)
{
	struct port_ctx *pc = arg;

	(void)mbuf_printf(pc->mb, "%s{\"port\":%u,\"state\":\"%s\","
			  "\"since_ms\":%lld}", pc->n++ ? "," : "", port,
			  state, (long long)since_ms);
}

static void screen_ports(struct req *r)
{
	struct booth_info bi;
	struct port_ctx pc = {NULL, 0};

	if (!need_booths(r) || api_booth_auth(r, &bi))
		return;
	pc.mb = mbuf_alloc(256);
	if (!pc.mb || mbuf_write_str(pc.mb, "{\"ports\":[") ||
	    store_charge_ports(r->api->st, bi.id, bi.ports, port_state, &pc) ||
	    mbuf_write_str(pc.mb, "]}"))
		api_error(r, 500, "store", "cannot read the ports");
	else
		api_reply(r, 200, "application/json", pc.mb, NULL);
	mem_deref(pc.mb);
}

/* Prompts as WAV for the screens' spoken guidance: an imported recording
 * first, else the rendered one. */
static void prompt_wav(struct req *r)
{
	const char *lang = r->seg[0], *name = r->seg[1];
	size_t n = strlen(name);
	char path[700];
	struct mbuf *mb = NULL;
	FILE *f = NULL;
	long len;

	if ((strcmp(lang, "zh") && strcmp(lang, "en")) || n < 5 || n > 60 ||
	    strcmp(name + n - 4, ".wav") ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != n - 4) {
		api_error(r, 404, "not_found", "no such prompt");
		return;
	}
	re_snprintf(path, sizeof(path), "%s/prompts/%s/%s",
		    r->api->cf.data_dir, lang, name);
	f = fopen(path, "rb");
	if (!f) {
		re_snprintf(path, sizeof(path), "%s/%s/%s",
			    r->api->cf.prompts_dir, lang, name);
		f = fopen(path, "rb");
	}
	if (!f) {
		api_error(r, 404, "not_found", "no prompt %s/%s", lang, name);
		return;
	}
	if (fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 ||
	    len > 4 * 1024 * 1024 || fseek(f, 0, SEEK_SET) ||
	    !(mb = mbuf_alloc((size_t)len + 1)) ||
	    fread(mb->buf, 1, (size_t)len, f) != (size_t)len) {
		api_error(r, 500, "read_failed", "cannot read the prompt");
		goto out;
	}
	mb->end = (size_t)len;
	api_reply(r, 200, "audio/wav", mb, "Cache-Control: max-age=300\r\n");
 out:
	fclose(f);
	mem_deref(mb);
}

/* ---------- operations ---------- */

static void fleet(struct req *r, const char *id)
{
	struct mbuf *mb;
	char day[11];
	int64_t start;
	int err;

	if (!need_booths(r))
		return;
	booths_day(clock_wall_ms(), day, &start);
	booths_flush(r->api->svc.booths);
	mb = mbuf_alloc(4096);
	if (!mb) {
		api_error(r, 500, "internal", "out of memory");
		return;
	}
	err = mbuf_printf(mb, "{\"offline_after_s\":%u,\"items\":",
			  r->api->cf.booth_offline_s);
	if (!err)
		err = store_booth_json(r->api->st, id, day, start, mb);
	if (!err)
		err = mbuf_write_str(mb, "}");
	if (err)
		api_error(r, 500, "store", "cannot list the booths");
	else if (id[0] && mb->end < 60 + 20)
		api_error(r, 404, "not_found", "no booth %s", id);
	else
		api_reply(r, 200, "application/json", mb, NULL);
	mem_deref(mb);
}

static void booths_list(struct req *r)
{
	fleet(r, "");
}

static void booth_get(struct req *r)
{
	struct booth_info bi;

	if (!need_booths(r))
		return;
	if (booths_get(r->api->svc.booths, r->seg[0], &bi)) {
		api_error(r, 404, "not_found", "no booth %s", r->seg[0]);
		return;
	}
	fleet(r, r->seg[0]);
}

static void booth_put(struct req *r)
{
	struct store_booth sb;
	struct store_account acc;
	char err[300], path[160];
	const char *id;
	struct json *j;

	if (!need_booths(r))
		return;
	j = api_body(r);
	if (!j)
		return;
	id = json_str(json_get(j, "id"));
	if (id && strcmp(id, r->seg[0])) {
		api_error(r, 400, "bad_request", "\"id\" differs from the URL");
		goto out;
	}
	re_snprintf(path, sizeof(path), "/api/v1/booths/%s", r->seg[0]);
	if (booths_parse(j, path, r->seg[0], &sb, NULL, 0, err,
			 sizeof(err))) {
		api_error(r, 400, "bad_request", "%s", err);
		goto out;
	}
	if (store_account_get(r->api->st, sb.account, &acc) ||
	    strcmp(acc.kind, "booth")) {
		api_error(r, 400, "bad_request", "\"account\" must be a SIP "
			  "account of kind booth");
		goto out;
	}
	if (store_booth_put(r->api->st, &sb) ||
	    booths_seen_load(r->api->svc.booths, &sb)) {
		api_error(r, 500, "store", "the store refused the booth");
		goto out;
	}
	api_audit(r, "booth.put", "%s", sb.id);
	fleet(r, sb.id);
 out:
	mem_deref(j);
}

static void booth_del(struct req *r)
{
	if (!need_booths(r))
		return;
	if (store_booth_del(r->api->st, r->seg[0])) {
		api_error(r, 404, "not_found", "no booth %s", r->seg[0]);
		return;
	}
	screens_drop(r->api, r->seg[0]);
	booths_forget(r->api->svc.booths, r->seg[0]);
	api_audit(r, "booth.delete", "%s", r->seg[0]);
	api_json(r, 200, "{\"deleted\":\"%H\"}", store_json_esc, r->seg[0]);
}

static void booth_token(struct req *r)
{
	char secret[65], hash[65];

	if (!need_booths(r))
		return;
	api_random_hex(secret, 24);
	booths_token_hash(secret, hash);
	if (store_booth_token(r->api->st, r->seg[0], hash)) {
		api_error(r, 404, "not_found", "no booth %s", r->seg[0]);
		return;
	}
	screens_drop(r->api, r->seg[0]);
	api_audit(r, "booth.token", "%s", r->seg[0]);
	api_json(r, 201, "{\"booth\":\"%H\",\"token\":\"%s\"}",
		 store_json_esc, r->seg[0], secret);
}

static void booth_charging(struct req *r)
{
	char from[24], to[24], day[11], whs[32], kwhs[32];
	int64_t f, t;
	uint32_t n = 0;
	double wh = 0;

	struct booth_info bi;

	if (!need_booths(r))
		return;
	if (strcmp(r->seg[0], "all") &&
	    booths_get(r->api->svc.booths, r->seg[0], &bi)) {
		api_error(r, 404, "not_found", "no booth %s", r->seg[0]);
		return;
	}
	booths_day(clock_wall_ms(), day, &f);
	t = f + 86400000LL;
	if (api_param(r, "from_ms", from, sizeof(from)))
		f = strtoll(from, NULL, 10);
	if (api_param(r, "to_ms", to, sizeof(to)))
		t = strtoll(to, NULL, 10);
	if (t <= f) {
		api_error(r, 400, "bad_request", "to_ms must be after from_ms");
		return;
	}
	if (store_charge_total(r->api->st, strcmp(r->seg[0], "all") ?
			       r->seg[0] : "", f, t, &wh, &n)) {
		api_error(r, 500, "store", "cannot sum the sessions");
		return;
	}
	snprintf(whs, sizeof(whs), "%.3f", wh);
	snprintf(kwhs, sizeof(kwhs), "%.6f", wh / 1000.0);
	api_json(r, 200, "{\"booth\":\"%H\",\"from_ms\":%lld,\"to_ms\":%lld,"
		 "\"wh\":%s,\"kwh\":%s,\"sessions\":%u}", store_json_esc,
		 r->seg[0], (long long)f, (long long)t, whs, kwhs, n);
}

const struct api_route booth_routes[] = {
	{"GET", "/api/v1/booth/ws", ROLE_NONE, NULL, screen_accept},
	{"GET", "/api/v1/booth/me", ROLE_NONE, NULL, screen_me},
	{"POST", "/api/v1/booth/heartbeat", ROLE_NONE, NULL, screen_heartbeat},
	{"POST", "/api/v1/booth/faults", ROLE_NONE, NULL, screen_fault},
	{"POST", "/api/v1/booth/charging", ROLE_NONE, NULL, screen_charging},
	{"POST", "/api/v1/booth/call", ROLE_NONE, NULL, screen_call},
	{"GET", "/api/v1/booth/charging", ROLE_NONE, NULL, screen_ports},
	{"GET", "/api/v1/prompts/{}/{}", ROLE_NONE, NULL, prompt_wav},
	{"GET", "/api/v1/booths", ROLE_SUPERVISOR, "read", booths_list},
	{"GET", "/api/v1/booths/{}", ROLE_SUPERVISOR, "read", booth_get},
	{"PUT", "/api/v1/booths/{}", ROLE_ADMIN, "admin", booth_put},
	{"DELETE", "/api/v1/booths/{}", ROLE_ADMIN, "admin", booth_del},
	{"POST", "/api/v1/booths/{}/token", ROLE_ADMIN, "admin", booth_token},
	{"GET", "/api/v1/booths/{}/charging", ROLE_SUPERVISOR, "read",
	 booth_charging},
	{NULL, NULL, ROLE_NONE, NULL, NULL},
};
