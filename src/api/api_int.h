/* api internals: the request context, the route table's handlers, and the
 * reply helpers shared by api.c (core, auth), rest.c (resources) and
 * events.c (WebSocket). */
#ifndef LAOYOU_API_INT_H
#define LAOYOU_API_INT_H
#include <stdbool.h>
#include <stdint.h>
#include "core/conf.h"

enum role { ROLE_NONE, ROLE_AGENT, ROLE_SUPERVISOR, ROLE_ADMIN };

/* libre's HTTP server drops requests over 512 KiB without a reply; stay
 * under that so a large body still gets its 413. */
enum { API_BODY_MAX = 65536, API_SITE_MAX = 458752 };

struct api {
	struct http_sock *sock;
	struct calls *cs;
	struct sipd *sd;
	struct portpool *pp;
	struct store *st;
	struct desk *desk;
	struct api_services svc;   /* the booths and their services */
	struct list screens;       /* booth screens on WebSocket (booth.c) */
	struct event_sub *booth_sub;
	struct conf cf;
	api_reload_h *reloadh;
	void *reload_arg;
	uint64_t started;
	struct websock *ws;
	struct list clients;       /* WebSocket event clients */
	struct event_sub *sub;
	struct tmr tmr_tick;       /* KPI ticks to the clients */
	struct list ops;           /* click-to-call and supervision calls */
	struct {
		struct sa ip;
		uint32_t fails;
		uint64_t since;
	} fails[64];               /* login failures per address */
	uint64_t calls_total, http_requests, events_sent;
	uint64_t rtp_packets, rtp_lost;  /* of ended calls */
};

/** Who is asking: a signed-in user or an API token. */
struct who {
	char name[64];
	enum role role;
	char agent[48];            /* the ACD agent a user is */
	char scopes[128];          /* a token's */
	bool token, cookie;
	char csrf[65];
	char session[65];          /* hash of the session's secret */
};

/** One request in flight. */
struct req {
	struct api *api;
	struct http_conn *conn;
	const struct http_msg *msg;
	struct who who;
	bool authed;
	char seg[2][96];           /* the route's {} parts, decoded */
};

/** The JSON error reply {"error","message"}. */
void api_error(struct req *r, uint16_t code, const char *error,
	       const char *fmt, ...);
/** The same with extra header lines ("Name: value\r\n"…). */
void api_error_hdr(struct req *r, uint16_t code, const char *extra,
		   const char *error, const char *fmt, ...);
/** A reply with a body of the given type. */
void api_reply(struct req *r, uint16_t code, const char *ctype,
	       const struct mbuf *body, const char *extra_hdrs);
/** A JSON reply printed from fmt. */
void api_json(struct req *r, uint16_t code, const char *fmt, ...);
/** A query parameter, URL-decoded; false if absent or too long. */
bool api_param(const struct req *r, const char *name, char *buf, size_t sz);
/** The request body as JSON (an object), or an error reply and NULL. */
struct json *api_body(struct req *r);
/** Record in the audit log what r's caller did. */
void api_audit(struct req *r, const char *action, const char *fmt, ...);
/** Hex of BLAKE2b-256 of s, for secrets kept only as hashes. */
void api_hash(const char *s, char out[65]);
/** n random bytes as hex into out (2n+1 bytes). */
void api_random_hex(char *out, size_t n);
/** Role from its name; ROLE_NONE if unknown. */
enum role api_role(const char *name);
/** Name of a role. */
const char *api_role_name(enum role r);

/** Resource handlers (rest.c): dispatch r to the route it matched. */
typedef void (api_route_h)(struct req *r);
struct api_route {
	const char *met, *pat;
	enum role role;
	const char *scope;         /* for tokens: read, control or admin */
	api_route_h *h;
};
/* One table per part of the API; dispatch walks them in this order. */
extern const struct api_route api_routes[], booth_routes[], life_routes[],
	notify_routes[], elder_routes[], taxi_routes[];

struct booth_info;
/** A booth's screen asking: the token in "Authorization: Booth <token>"
 * (or ?token= for its WebSocket) must be a booth's; the booth goes to bi.
 * On failure a 401 has been sent and an error is returned. */
int  api_booth_auth(struct req *r, struct booth_info *bi);
/** Booth screens (booth.c). */
int  api_booths_init(struct api *api);
void api_booths_close(struct api *api);

/** Sign-in handlers and the OpenAPI document live in api.c. */
void api_login(struct req *r);
void api_logout(struct req *r);
void api_openapi(struct req *r);

/** Events (events.c). */
int  api_events_init(struct api *api);
void api_events_close(struct api *api);
void api_events_accept(struct req *r);
uint32_t api_events_clients(const struct api *api);

/** {"items":[queue…]} with live figures and today's KPIs (rest.c). */
int  api_queues_json(struct api *api, struct mbuf *mb);
/** Prometheus metrics (rest.c). */
void api_metrics(struct req *r);

#endif
