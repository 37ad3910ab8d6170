/*
 * api: the HTTP core.  Every request is authenticated (session cookie or
 * bearer token) and checked against its route's role and token scope
 * here, before any handler runs; state-changing requests made with a
 * cookie must carry the session's CSRF token.  Every reply to /api is
 * JSON, errors included: {"error","message"}.  libre answers HTTP/1.0
 * with 1.1 and keeps the connection, so we close connections that did not
 * ask to be kept.
 */
#include <string.h>
#include <strings.h>
#include <stdio.h>
#include <stdarg.h>
#include <sodium.h>
#include <re.h>
#include "core/clock.h"
#include "core/log.h"
#include "call/call.h"
#include "media/media.h"
#include "sip/sip.h"
#include "store/store.h"
#include "site/json.h"
#include "api/api.h"
#include "api/api_int.h"

enum {
	SESSION_S = 8 * 3600,      /* a working shift */
	LOGIN_FAILS = 5,           /* per address … */
	LOGIN_WINDOW_S = 60,       /* … per minute */
};

static void destructor(void *arg)
{
	struct api *api = arg;

	api_booths_close(api);
	api_events_close(api);
	list_flush(&api->ops);
	mem_deref(api->sock);
	mem_deref(api->cs);
	mem_deref(api->sd);
	mem_deref(api->pp);
	mem_deref(api->st);
	mem_deref(api->desk);
}

/* ---------- helpers ---------- */

static const char *role_names[] = {"none", "agent", "supervisor", "admin"};

enum role api_role(const char *name)
{
	for (size_t i = ROLE_AGENT; i < ARRAY_SIZE(role_names); i++)
		if (name && !strcmp(name, role_names[i]))
			return (enum role)i;
	return ROLE_NONE;
}

const char *api_role_name(enum role r)
{
	return r < ARRAY_SIZE(role_names) ? role_names[r] : "none";
}

void api_hash(const char *s, char out[65])
{
	uint8_t h[32];

	crypto_generichash(h, sizeof(h), (const uint8_t *)s, strlen(s),
			   NULL, 0);
	sodium_bin2hex(out, 65, h, sizeof(h));
}

void api_random_hex(char *out, size_t n)
{
	uint8_t b[64];

	n = n > sizeof(b) ? sizeof(b) : n;
	randombytes_buf(b, n);
	sodium_bin2hex(out, 2 * n + 1, b, n);
}

/* Argon2id at OWASP's minimum (19 MiB, 2 passes): about 30 ms here, which
 * the event loop can afford at login rates (which are limited). */
int api_password_hash(const char *password, char out[128])
{
	if (sodium_init() < 0)
		return EIO;
	return crypto_pwhash_str(out, password, strlen(password), 2,
				 19u << 20) ? ENOMEM : 0;
}

int api_token_create(struct store *st, const char *name, const char *scopes,
		     char secret[65])
{
	char hash[65];
	char list[140];
	const char *p;

	/* Scopes: a comma-separated subset of read, control, admin. */
	if (!name || !*name || strlen(name) > 63 || !scopes || !*scopes ||
	    strlen(scopes) > 100)
		return EINVAL;
	re_snprintf(list, sizeof(list), "%s,", scopes);
	for (p = list; *p; ) {
		const char *c = strchr(p, ',');
		size_t n = (size_t)(c - p);
		if (!((n == 4 && !strncmp(p, "read", 4)) ||
		      (n == 7 && !strncmp(p, "control", 7)) ||
		      (n == 5 && !strncmp(p, "admin", 5))))
			return EINVAL;
		p = c + 1;
	}
	if (sodium_init() < 0)
		return EIO;
	api_random_hex(secret, 32);
	api_hash(secret, hash);
	return store_token_add(st, name, hash, scopes, clock_wall_ms());
}

static const char *reason_of(uint16_t code)
{
	switch (code) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Entity";
	case 426: return "Upgrade Required";
	case 429: return "Too Many Requests";
	case 503: return "Service Unavailable";
	default:  return code < 400 ? "OK" : "Error";
	}
}

void api_reply(struct req *r, uint16_t code, const char *ctype,
	       const struct mbuf *body, const char *extra_hdrs)
{
	size_t len = body ? body->end : 0;
	/* HEAD: the headers GET would send, and no body. */
	size_t send = pl_strcmp(&r->msg->met, "HEAD") ? len : 0;

	(void)http_reply(r->conn, code, reason_of(code),
			 "Content-Type: %s\r\n"
			 "Cache-Control: no-store\r\n"
			 "X-Content-Type-Options: nosniff\r\n"
			 "%s"
			 "Content-Length: %zu\r\n"
			 "\r\n"
			 "%b",
			 ctype, extra_hdrs ? extra_hdrs : "", len,
			 body ? body->buf : (uint8_t *)"", send);
}

static void vjson(struct req *r, uint16_t code, const char *extra,
		  const char *fmt, va_list ap)
{
	struct mbuf *mb = mbuf_alloc(512);

	if (!mb || mbuf_vprintf(mb, fmt, ap) || mbuf_write_u8(mb, '\n')) {
		mem_deref(mb);
		(void)http_ereply(r->conn, 500, "Internal Server Error");
		return;
	}
	api_reply(r, code, "application/json", mb, extra);
	mem_deref(mb);
}

void api_json(struct req *r, uint16_t code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vjson(r, code, NULL, fmt, ap);
	va_end(ap);
}

/* Length of the well-formed UTF-8 sequence at s (RFC 3629), or 0. */
static size_t utf8_len(const uint8_t *s)
{
	uint8_t lo = 0x80, hi = 0xbf;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		lo = s[0] == 0xe0 ? 0xa0 : 0x80;
		hi = s[0] == 0xed ? 0x9f : 0xbf;
	}
	else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		lo = s[0] == 0xf0 ? 0x90 : 0x80;
		hi = s[0] == 0xf4 ? 0x8f : 0xbf;
	}
	else
		return 0;
	/* A NUL ends the string and fails these tests. */
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

/* Messages quote what the client sent (a path, a name), and a message
 * cut to fit may end inside a character, but JSON is UTF-8 (RFC 8259
 * §8.1): each byte that starts no character becomes '?'. */
static void utf8_fix(char *s)
{
	uint8_t *p = (uint8_t *)s;

	while (*p) {
		size_t n = utf8_len(p);
		if (!n)
			*p++ = '?';
		else
			p += n;
	}
}

static void verror(struct req *r, uint16_t code, const char *extra,
		   const char *error, const char *fmt, va_list ap)
{
	char msg[512];
	struct mbuf *mb = mbuf_alloc(600);

	(void)re_vsnprintf(msg, sizeof(msg), fmt, ap);
	utf8_fix(msg);
	if (!mb || mbuf_printf(mb, "{\"error\":\"%s\",\"message\":\"%H\"}"
			       "\n", error, store_json_esc, msg))
		(void)http_ereply(r->conn, 500, "Internal Server Error");
	else
		api_reply(r, code, "application/json", mb, extra);
	mem_deref(mb);
}

void api_error(struct req *r, uint16_t code, const char *error,
	       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(r, code, NULL, error, fmt, ap);
	va_end(ap);
}

void api_error_hdr(struct req *r, uint16_t code, const char *extra,
		   const char *error, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	verror(r, code, extra, error, fmt, ap);
	va_end(ap);
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
		c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* URL-decode p into buf; false if it does not fit, holds a NUL or is
 * not UTF-8 (no name is, and handlers quote what they were given). */
static bool decode(const char *p, size_t n, char *buf, size_t sz)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		if (c == '+') {
			c = ' ';
		}
		else if (c == '%' && i + 2 < n && hexval(p[i + 1]) >= 0 &&
			 hexval(p[i + 2]) >= 0) {
			c = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
			i += 2;
		}
		if (!c || o + 1 >= sz)
			return false;
		buf[o++] = c;
	}
	buf[o] = '\0';
	for (size_t i = 0, len; i < o; i += len) {
		len = utf8_len((const uint8_t *)buf + i);
		if (!len)
			return false;
	}
	return true;
}

bool api_param(const struct req *r, const char *name, char *buf, size_t sz)
{
	const struct pl *q = &r->msg->prm;
	const char *p = q->p, *end = q->p + q->l;
	size_t nl = strlen(name);

	if (p < end && *p == '?')
		p++;
	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *stop = amp ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(stop - p));
		if (eq && (size_t)(eq - p) == nl && !memcmp(p, name, nl))
			return decode(eq + 1, (size_t)(stop - eq - 1), buf,
				      sz);
		p = stop + 1;
	}
	return false;
}

struct json *api_body(struct req *r)
{
	const struct mbuf *mb = r->msg->mb;
	const struct http_hdr *ct = http_msg_hdr(r->msg,
						 HTTP_HDR_CONTENT_TYPE);
	struct json *j = NULL;
	char err[256];

	if (!ct || ct->val.l < 16 ||
	    strncasecmp(ct->val.p, "application/json", 16)) {
		api_error(r, 415, "unsupported_media_type", "send the body "
			  "as application/json");
		return NULL;
	}
	if (!mb || !mbuf_get_left(mb)) {
		api_error(r, 400, "bad_request", "a JSON body is required");
		return NULL;
	}
	if (json_parse(&j, (const char *)mbuf_buf(mb), mbuf_get_left(mb),
		       err, sizeof(err))) {
		api_error(r, 400, "bad_json", "body line %s", err);
		return NULL;
	}
	if (json_type(j) != JSON_OBJECT) {
		mem_deref(j);
		api_error(r, 400, "bad_request", "the body must be a JSON "
			  "object");
		return NULL;
	}
	return j;
}

void api_audit(struct req *r, const char *action, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	(void)re_vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (store_audit(r->api->st, clock_wall_ms(), r->authed ?
			r->who.name : "-", action, detail))
		log_error("api: audit entry %s not stored", action);
}

/* ---------- who is asking ---------- */

/* The value of cookie name in the Cookie header(s). */
static bool cookie(const struct http_msg *msg, const char *name, char *buf,
		   size_t sz)
{
	struct le *le;
	size_t nl = strlen(name);

	for (le = msg->hdrl.head; le; le = le->next) {
		const struct http_hdr *h = le->data;
		const char *p, *end;
		if (pl_strcasecmp(&h->name, "cookie"))
			continue;
		p = h->val.p;
		end = p + h->val.l;
		while (p < end) {
			const char *semi = memchr(p, ';', (size_t)(end - p));
			const char *stop = semi ? semi : end;
			while (p < stop && *p == ' ')
				p++;
			if ((size_t)(stop - p) > nl && !memcmp(p, name, nl) &&
			    p[nl] == '=' && (size_t)(stop - p - nl - 1) < sz) {
				memcpy(buf, p + nl + 1, (size_t)(stop - p - nl
								 - 1));
				buf[stop - p - nl - 1] = '\0';
				return true;
			}
			p = stop + 1;
		}
	}
	return false;
}

static int authenticate(struct req *r)
{
	const struct http_hdr *h = http_msg_hdr(r->msg, HTTP_HDR_AUTHORIZATION);
	struct store *st = r->api->st;
	struct who *w = &r->who;
	char secret[160], hash[65];
	struct store_user u;

	memset(w, 0, sizeof(*w));
	if (h && h->val.l > 7 && !strncasecmp(h->val.p, "bearer ", 7)) {
		if (h->val.l - 7 >= sizeof(secret))
			return EACCES;
		pl_strcpy(&(struct pl){h->val.p + 7, h->val.l - 7}, secret,
			  sizeof(secret));
		api_hash(secret, hash);
		if (store_token_get(st, hash, w->name, sizeof(w->name),
				    w->scopes, sizeof(w->scopes)))
			return EACCES;
		w->token = true;
		w->role = ROLE_NONE;
		return 0;
	}
	/* Browsers cannot set headers on a WebSocket: events may pass a
	 * token in the query instead (and only there: URLs end up in logs). */
	if (!pl_strcmp(&r->msg->path, "/api/v1/events") &&
	    api_param(r, "token", secret, sizeof(secret))) {
		api_hash(secret, hash);
		if (store_token_get(st, hash, w->name, sizeof(w->name),
				    w->scopes, sizeof(w->scopes)))
			return EACCES;
		w->token = true;
		return 0;
	}
	if (!cookie(r->msg, "laoyou_session", secret, sizeof(secret)))
		return ENOENT;
	api_hash(secret, w->session);
	if (store_session_get(st, w->session, clock_wall_ms(), w->name,
			      sizeof(w->name), w->csrf, sizeof(w->csrf)) ||
	    store_user_get(st, w->name, &u))
		return EACCES;
	w->cookie = true;
	w->role = api_role(u.role);
	str_ncpy(w->agent, u.agent, sizeof(w->agent));
	return 0;
}

static bool has_scope(const char *scopes, const char *want)
{
	char pat[40];
	char list[140];

	re_snprintf(list, sizeof(list), ",%s,", scopes);
	/* admin implies everything; control implies read. */
	if (strstr(list, ",admin,") ||
	    (!strcmp(want, "read") && strstr(list, ",control,")))
		return true;
	re_snprintf(pat, sizeof(pat), ",%s,", want);
	return strstr(list, pat) != NULL;
}

/* ---------- sign in ---------- */

static uint32_t *fails_of(struct api *api, const struct sa *peer,
			  bool create)
{
	uint64_t now = clock_mono_ms();
	size_t free_i = SIZE_MAX;

	for (size_t i = 0; i < ARRAY_SIZE(api->fails); i++) {
		if (api->fails[i].fails &&
		    now - api->fails[i].since > LOGIN_WINDOW_S * 1000ULL)
			api->fails[i].fails = 0;
		if (api->fails[i].fails && sa_cmp(&api->fails[i].ip, peer,
						  SA_ADDR))
			return &api->fails[i].fails;
		if (!api->fails[i].fails && free_i == SIZE_MAX)
			free_i = i;
	}
	/* A full table forgets its oldest entry: an attacker with many
	 * addresses is a flood, handled by the connection limits. */
	if (!create)
		return NULL;
	if (free_i == SIZE_MAX) {
		free_i = 0;
		for (size_t i = 1; i < ARRAY_SIZE(api->fails); i++)
			if (api->fails[i].since < api->fails[free_i].since)
				free_i = i;
	}
	api->fails[free_i].ip = *peer;
	api->fails[free_i].since = now;
	api->fails[free_i].fails = 0;
	return &api->fails[free_i].fails;
}

void api_login(struct req *r)
{
	const struct sa *peer = http_conn_peer(r->conn);
	uint32_t *fails = fails_of(r->api, peer, false);
	struct json *body;
	const char *user, *password;
	struct store_user u;
	char secret[65], csrf[65], hash[65], hdr[256];

	if (fails && *fails >= LOGIN_FAILS) {
		struct mbuf *mb = mbuf_alloc(128);
		char hdr[40];
		re_snprintf(hdr, sizeof(hdr), "Retry-After: %u\r\n",
			    LOGIN_WINDOW_S);
		if (mb && !mbuf_write_str(mb, "{\"error\":\"rate_limited\","
					  "\"message\":\"too many failed "
					  "sign-ins; try again later\"}\n"))
			api_reply(r, 429, "application/json", mb, hdr);
		mem_deref(mb);
		return;
	}
	body = api_body(r);
	if (!body)
		return;
	user = json_str(json_get(body, "user"));
	password = json_str(json_get(body, "password"));
	if (!user || !password) {
		api_error(r, 400, "bad_request", "\"user\" and \"password\" "
			  "are required strings");
		goto out;
	}
	if (store_user_get(r->api->st, user, &u) ||
	    crypto_pwhash_str_verify(u.hash, password, strlen(password))) {
		fails = fails_of(r->api, peer, true);
		if (fails)
			++*fails;
		api_audit(r, "login.failed", "user %s from %j", user, peer);
		api_error(r, 401, "unauthorized", "wrong user or password");
		goto out;
	}
	api_random_hex(secret, 32);
	api_random_hex(csrf, 32);
	api_hash(secret, hash);
	if (store_session_add(r->api->st, hash, u.name, csrf,
			      clock_wall_ms() + SESSION_S * 1000LL)) {
		api_error(r, 503, "store_failed", "cannot keep the session");
		goto out;
	}
	r->authed = true;
	str_ncpy(r->who.name, u.name, sizeof(r->who.name));
	api_audit(r, "login", "from %j", peer);
	re_snprintf(hdr, sizeof(hdr), "Set-Cookie: laoyou_session=%s; "
		    "HttpOnly; SameSite=Strict; Path=/; Max-Age=%u\r\n",
		    secret, SESSION_S);
	{
		struct mbuf *mb = mbuf_alloc(256);
		if (mb && !mbuf_printf(mb, "{\"user\":\"%H\",\"role\":\"%s\","
				       "\"agent\":\"%H\",\"csrf\":\"%s\"}\n",
				       store_json_esc, u.name, u.role,
				       store_json_esc, u.agent, csrf))
			api_reply(r, 200, "application/json", mb, hdr);
		else
			(void)http_ereply(r->conn, 500, "Internal Error");
		mem_deref(mb);
	}
 out:
	mem_deref(body);
}

void api_logout(struct req *r)
{
	if (r->who.cookie)
		(void)store_session_del(r->api->st, r->who.session);
	api_audit(r, "logout", "");
	api_reply(r, 204, "application/json", NULL,
		  "Set-Cookie: laoyou_session=; HttpOnly; SameSite=Strict; "
		  "Path=/; Max-Age=0\r\n");
}

/* ---------- pages ---------- */

static const char *ctype_of(const char *path)
{
	static const struct { const char *ext, *type; } types[] = {
		{".html", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".json", "application/json"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
		{".wav", "audio/wav"},
		{".ico", "image/x-icon"},
	};
	const char *dot = strrchr(path, '.');

	for (size_t i = 0; dot && i < ARRAY_SIZE(types); i++)
		if (!strcmp(dot, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

/* Serve a file below dir; rel has been checked for "..". */
static void serve_file(struct req *r, const char *dir, const char *rel)
{
	char path[1024];
	struct mbuf *mb = NULL;
	FILE *f;
	long n;

	re_snprintf(path, sizeof(path), "%s/%s", dir, rel);
	f = fopen(path, "rb");
	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 ||
	    n > 64L << 20 || fseek(f, 0, SEEK_SET)) {
		if (f)
			fclose(f);
		api_error(r, 404, "not_found", "no such page");
		return;
	}
	mb = mbuf_alloc((size_t)n + 1);
	if (mb && fread(mb->buf, 1, (size_t)n, f) == (size_t)n) {
		mb->end = (size_t)n;
		api_reply(r, 200, ctype_of(path), mb,
			  "Content-Security-Policy: default-src 'self'; "
			  "connect-src 'self' ws: wss:; img-src 'self' data:"
			  "\r\nX-Frame-Options: DENY\r\n");
	}
	else {
		api_error(r, 500, "read_failed", "cannot read the page");
	}
	fclose(f);
	mem_deref(mb);
}

static void page(struct req *r, const char *path)
{
	char index[256];

	/* A folder's page is its index.html (/, /kiosk/). */
	if (path[0] && path[strlen(path) - 1] == '/' && strlen(path) < 200) {
		re_snprintf(index, sizeof(index), "%sindex.html", path);
		path = index;
	}
	if (strstr(path, "..") || strstr(path, "//") || strlen(path) > 200) {
		api_error(r, 404, "not_found", "no such page");
		return;
	}
	serve_file(r, r->api->cf.web_dir, path + 1);
}

void api_openapi(struct req *r)
{
	serve_file(r, r->api->cf.web_dir, "openapi.json");
}

static void health(struct req *r)
{
	struct api *api = r->api;

	api_json(r, 200, "{\"status\":\"%s\",\"version\":\"%s\","
		 "\"uptime_s\":%llu,\"registrations\":%u,"
		 "\"active_calls\":%u,\"rtp_ports_in_use\":%u,"
		 "\"rtp_ports_total\":%u,\"store\":\"%s\"}",
		 store_healthy(api->st) ? "ok" : "degraded", LAOYOU_VERSION,
		 (unsigned long long)((clock_mono_ms() - api->started) / 1000),
		 sipd_registrations(api->sd), calls_active(api->cs),
		 portpool_used(api->pp), portpool_size(api->pp),
		 store_healthy(api->st) ? "ok" : "write-failed");
}

/* ---------- routing ---------- */

/* Does path match pat ("{}" takes one segment)?  Parts go to r->seg. */
static bool match(struct req *r, const char *pat, const char *path)
{
	int n = 0;

	while (*pat && *path) {
		if (pat[0] == '{' && pat[1] == '}') {
			const char *end = strchr(path, '/');
			size_t len = end ? (size_t)(end - path) : strlen(path);
			if (!len || n >= 2 || !decode(path, len, r->seg[n],
						      sizeof(r->seg[n])))
				return false;
			n++;
			path += len;
			pat += 2;
			continue;
		}
		if (*pat++ != *path++)
			return false;
	}
	return !*pat && !*path;
}

static void dispatch(struct req *r, const char *path)
{
	const struct api_route *rt, *found = NULL;
	char allow[64] = "";
	bool get = !pl_strcmp(&r->msg->met, "GET") ||
		!pl_strcmp(&r->msg->met, "HEAD");
	int err;

	static const struct api_route *const tables[] = {
		api_routes, booth_routes, life_routes, notify_routes,
		elder_routes, taxi_routes,
	};

	for (size_t t = 0; t < ARRAY_SIZE(tables) && !found; t++)
	for (rt = tables[t]; rt->pat; rt++) {
		if (!match(r, rt->pat, path))
			continue;
		if (!pl_strcmp(&r->msg->met, rt->met) ||
		    (!pl_strcmp(&r->msg->met, "HEAD") &&
		     !strcmp(rt->met, "GET"))) {
			found = rt;
			break;
		}
		re_snprintf(allow + strlen(allow), sizeof(allow) -
			    strlen(allow), "%s%s", allow[0] ? ", " : "",
			    rt->met);
	}
	if (!found) {
		if (allow[0]) {
			char hdr[96];
			re_snprintf(hdr, sizeof(hdr), "Allow: %s\r\n", allow);
			api_error_hdr(r, 405, hdr, "method_not_allowed",
				      "%s allows %s", path, allow);
		}
		else
			api_error(r, 404, "not_found", "no such resource: %s",
				  path);
		return;
	}
	if (found->role != ROLE_NONE) {
		err = authenticate(r);
		if (err) {
			api_error(r, 401, "unauthorized", err == ENOENT ?
				  "sign in or send a bearer token" :
				  "the session or token is not valid");
			return;
		}
		r->authed = true;
		if (r->who.token ? !has_scope(r->who.scopes, found->scope) :
		    r->who.role < found->role) {
			api_error(r, 403, "forbidden", r->who.token ?
				  "the token lacks the %s scope" :
				  "this needs the %s role", r->who.token ?
				  found->scope : api_role_name(found->role));
			return;
		}
		/* A cookie rides along on cross-site requests; the CSRF
		 * token, which only our pages can read, does not. */
		if (r->who.cookie && !get) {
			const struct http_hdr *h = http_msg_xhdr(r->msg,
							"X-CSRF-Token");
			if (!h || h->val.l != strlen(r->who.csrf) ||
			    sodium_memcmp(h->val.p, r->who.csrf, h->val.l)) {
				api_error(r, 403, "csrf", "missing or wrong "
					  "X-CSRF-Token header");
				return;
			}
		}
	}
	found->h(r);
}

static void finish(struct http_conn *conn, const struct http_msg *msg)
{
	const struct http_hdr *h = http_msg_hdr(msg, HTTP_HDR_CONNECTION);
	bool keep = !pl_strcmp(&msg->ver, "1.1");

	if (h)
		keep = !pl_strcasecmp(&h->val, "keep-alive") ||
			(keep && pl_strcasecmp(&h->val, "close"));
	if (!keep)
		http_conn_close(conn);
}

/* Requests that carry files: a site, a POI set, a spoken note. */
static bool big_body(const char *path)
{
	size_t n = strlen(path);

	return !strcmp(path, "/api/v1/site") || !strcmp(path, "/api/v1/pois")
		|| (!strncmp(path, "/api/v1/booth/watch/", 20) && n > 26 &&
		    !strcmp(path + n - 6, "/audio"));
}

static void req_handler(struct http_conn *conn, const struct http_msg *msg,
			void *arg)
{
	struct req r;
	char path[256];

	memset(&r, 0, sizeof(r));
	r.api = arg;
	r.conn = conn;
	r.msg = msg;
	r.api->http_requests++;
	if (!msg->path.l || msg->path.l >= sizeof(path)) {
		api_error(&r, 404, "not_found", "no such resource");
		goto out;
	}
	pl_strcpy(&msg->path, path, sizeof(path));
	if (msg->mb && mbuf_get_left(msg->mb) > (big_body(path) ?
						 API_SITE_MAX : API_BODY_MAX)) {
		api_error(&r, 413, "too_large", "the body is too large");
		goto out;
	}
	if (!strcmp(path, "/health")) {
		if (pl_strcmp(&msg->met, "GET") && pl_strcmp(&msg->met, "HEAD"))
			api_error_hdr(&r, 405, "Allow: GET, HEAD\r\n",
				      "method_not_allowed",
				      "/health answers GET only");
		else
			health(&r);
	}
	else if (!strcmp(path, "/metrics")) {
		api_metrics(&r);
	}
	else if (!strncmp(path, "/api/", 5)) {
		dispatch(&r, path);
		/* A WebSocket took the connection over. */
		if (!strcmp(path, "/api/v1/events"))
			return;
	}
	else if (!pl_strcmp(&msg->met, "GET") || !pl_strcmp(&msg->met,
							     "HEAD")) {
		page(&r, path);
	}
	else {
		api_error_hdr(&r, 405, "Allow: GET, HEAD\r\n",
			      "method_not_allowed", "pages answer GET only");
	}
 out:
	finish(conn, msg);
}

void api_reconf(struct api *api, const struct conf *cf)
{
	struct sa http;

	if (!api || !cf)
		return;
	http = api->cf.http;
	api->cf = *cf;
	api->cf.http = http;
}

void api_set_services(struct api *api, const struct api_services *svc)
{
	if (api && svc)
		api->svc = *svc;
}

int api_alloc(struct api **apip, const struct conf *cf, struct calls *cs,
	      struct sipd *sd, struct portpool *pp, struct store *st,
	      struct desk *desk, api_reload_h *reloadh, void *arg)
{
	struct api *api;
	int err;

	if (sodium_init() < 0)
		return EIO;
	api = mem_zalloc(sizeof(*api), destructor);
	if (!api)
		return ENOMEM;
	api->cf = *cf;
	api->cs = mem_ref(cs);
	api->sd = mem_ref(sd);
	api->pp = mem_ref(pp);
	api->st = mem_ref(st);
	api->desk = mem_ref(desk);
	api->reloadh = reloadh;
	api->reload_arg = arg;
	api->started = clock_mono_ms();

	err = api_events_init(api);
	if (!err)
		err = api_booths_init(api);
	if (!err)
		err = http_listen(&api->sock, &cf->http, req_handler, api);
	/* libre listens with a backlog of 5: a wallboard room reconnecting
	 * at once would wait for SYN retransmits.  listen() again widens it. */
	if (!err && tcp_sock_listen(http_sock_tcp(api->sock), 1024))
		log_warn("api: cannot widen the listen backlog");
	if (err) {
		log_error("api: cannot listen on %J: %m", &cf->http, err);
		mem_deref(api);
		return err;
	}
	*apip = api;
	return 0;
}
