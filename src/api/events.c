/*
 * api events: /api/v1/events is a WebSocket that carries the bus to the
 * pages — calls, queue news, agent states, registrations — and a KPI tick
 * every few seconds while anybody listens.  Each client sees what its
 * role allows: supervisors, admins and tokens everything; an agent its
 * own state, its own calls and the queues without other agents' callers.
 */
#include <string.h>
#include <re.h>
#include "core/clock.h"
#include "core/event.h"
#include "core/log.h"
#include "call/call.h"
#include "store/store.h"
#include "acd/desk.h"
#include "booth/booth.h"
#include "api/api.h"
#include "api/api_int.h"

/* libre's WebSocket keep-alive interval is in milliseconds. */
enum { TICK_MS = 5000, KEEPALIVE_MS = 30000 };

struct client {
	struct le le;
	struct api *api;
	struct websock_conn *wc;
	struct who who;
	char account[64];          /* an agent's SIP account */
};

static void client_destructor(void *arg)
{
	struct client *cl = arg;

	list_unlink(&cl->le);
	mem_deref(cl->wc);
}

static void recv_handler(const struct websock_hdr *hdr, struct mbuf *mb,
			 void *arg)
{
	/* The stream is one-way; what clients send is ignored. */
	(void)hdr;
	(void)mb;
	(void)arg;
}

static void close_handler(int err, void *arg)
{
	(void)err;
	mem_deref(arg);
}

static bool sees_all(const struct client *cl)
{
	return cl->who.token || cl->who.role >= ROLE_SUPERVISOR;
}

static void send_to(struct client *cl, const struct mbuf *mb)
{
	if (websock_send(cl->wc, WEBSOCK_TEXT, "%b", mb->buf, mb->end))
		return;
	cl->api->events_sent++;
}

/* A message for everybody, and a trimmed one for agents (NULL: none). */
static void fan_out(struct api *api, const struct mbuf *all,
		    bool (*agent_may)(const struct client *, const void *),
		    const void *data, const struct mbuf *trimmed)
{
	struct le *le = api->clients.head;

	while (le) {
		struct client *cl = le->data;
		le = le->next;
		if (sees_all(cl))
			send_to(cl, all);
		else if (agent_may && agent_may(cl, data))
			send_to(cl, all);
		else if (trimmed)
			send_to(cl, trimmed);
	}
}

static bool own_call(const struct client *cl, const void *data)
{
	const struct store_cdr *rec = call_record(data);

	return cl->account[0] && (!strcmp(rec->caller, cl->account) ||
				  !strcmp(rec->callee, cl->account));
}

static bool own_state(const struct client *cl, const void *data)
{
	const struct desk_agent_news *n = data;

	return cl->who.agent[0] && !strcmp(n->agent, cl->who.agent);
}

static bool own_queue_call(const struct client *cl, const void *data)
{
	const struct desk_queue_news *n = data;

	return cl->who.agent[0] && !strcmp(n->agent, cl->who.agent);
}

static void bus_handler(enum event_type type, const void *data, void *arg)
{
	struct api *api = arg;
	struct mbuf *all = NULL, *trimmed = NULL;
	int err = 0;

	if (type == EVENT_CALL_STARTED)
		api->calls_total++;
	if (type == EVENT_CALL_ENDED) {
		const struct store_cdr *rec = call_record(data);
		api->rtp_packets += rec->pkts_a2b + rec->pkts_b2a;
		api->rtp_lost += rec->lost_a2b + rec->lost_b2a;
	}
	if (!api->clients.head)
		return;
	all = mbuf_alloc(512);
	if (!all)
		return;
	switch (type) {
	case EVENT_CALL_STARTED:
	case EVENT_CALL_RINGING:
	case EVENT_CALL_ANSWERED:
	case EVENT_CALL_ENDED: {
		const struct store_cdr *rec = call_record(data);
		err = mbuf_printf(all, "{\"type\":\"%s\",\"data\":{\"id\":"
				  "\"%H\",\"caller\":\"%H\",\"callee\":\"%H\","
				  "\"dialled\":\"%H\",\"hotline\":\"%H\","
				  "\"language\":\"%H\",\"path\":\"%H\","
				  "\"disposition\":\"%H\"}}", event_name(type),
				  store_json_esc, call_id(data), store_json_esc,
				  rec->caller, store_json_esc, rec->callee,
				  store_json_esc, rec->dialled, store_json_esc,
				  rec->hotline, store_json_esc, rec->language,
				  store_json_esc, rec->path, store_json_esc,
				  rec->disposition);
		if (!err)
			fan_out(api, all, own_call, data, NULL);
		break;
	}
	case EVENT_REG_CHANGED:
		err = mbuf_printf(all, "{\"type\":\"%s\",\"data\":{\"user\":"
				  "\"%H\"}}", event_name(type), store_json_esc,
				  (const char *)data);
		if (!err)
			fan_out(api, all, NULL, NULL, NULL);
		break;
	case EVENT_AGENT_STATE: {
		const struct desk_agent_news *n = data;
		err = mbuf_printf(all, "{\"type\":\"%s\",\"data\":{\"agent\":"
				  "\"%H\",\"state\":\"%s\",\"reason\":\"%H\"}}",
				  event_name(type), store_json_esc, n->agent,
				  n->state, store_json_esc, n->reason);
		if (!err)
			fan_out(api, all, own_state, data, NULL);
		break;
	}
	case EVENT_QUEUE: {
		const struct desk_queue_news *n = data;
		trimmed = mbuf_alloc(256);
		err = mbuf_printf(all, "{\"type\":\"%s\",\"data\":{\"queue\":"
				  "\"%H\",\"event\":\"%s\",\"call\":\"%H\","
				  "\"caller\":\"%H\",\"agent\":\"%H\","
				  "\"hotline\":\"%H\",\"language\":\"%H\","
				  "\"path\":\"%H\",\"position\":%u,"
				  "\"waiting\":%u}}", event_name(type),
				  store_json_esc, n->queue, n->event,
				  store_json_esc, n->callid, store_json_esc,
				  n->caller, store_json_esc, n->agent,
				  store_json_esc, n->hotline, store_json_esc,
				  n->language, store_json_esc, n->path,
				  n->position, n->waiting);
		err |= !trimmed || mbuf_printf(trimmed, "{\"type\":\"%s\","
					       "\"data\":{\"queue\":\"%H\","
					       "\"event\":\"%s\",\"waiting\":"
					       "%u}}", event_name(type),
					       store_json_esc, n->queue,
					       n->event, n->waiting);
		if (!err)
			fan_out(api, all, own_queue_call, data, trimmed);
		break;
	}
	case EVENT_BOOTH: {
		/* Operations news: supervisors, admins and tokens only. */
		const struct booth_news *n = data;
		err = mbuf_printf(all, "{\"type\":\"%s\",\"data\":{\"booth\":"
				  "\"%H\",\"kind\":\"%H\",\"detail\":%s}}",
				  event_name(type), store_json_esc, n->booth,
				  store_json_esc, n->kind, n->json);
		if (!err)
			fan_out(api, all, NULL, NULL, NULL);
		break;
	}
	default:
		break;
	}
	mem_deref(all);
	mem_deref(trimmed);
}

static void tick(void *arg)
{
	struct api *api = arg;
	struct mbuf *mb;

	tmr_start(&api->tmr_tick, TICK_MS, tick, api);
	if (!api->clients.head)
		return;
	mb = mbuf_alloc(2048);
	if (mb && !mbuf_write_str(mb, "{\"type\":\"kpi.tick\",\"data\":") &&
	    !api_queues_json(api, mb) && !mbuf_write_str(mb, "}"))
		fan_out(api, mb, NULL, NULL, mb);
	mem_deref(mb);
}

/* Browsers send the page's Origin with a WebSocket handshake and, unlike
 * fetch, do not stop a cross-site one: a page elsewhere must not listen
 * with our user's cookie.  Clients without an Origin are not browsers. */
static bool same_origin(const struct http_msg *msg)
{
	const struct http_hdr *o = http_msg_xhdr(msg, "Origin");
	const struct http_hdr *h = http_msg_hdr(msg, HTTP_HDR_HOST);
	struct pl host;

	if (!o)
		return true;
	if (!h || re_regex(o->val.p, o->val.l, "http[s]*://[^/]+", NULL,
			   &host))
		return false;
	return !pl_casecmp(&host, &h->val);
}

void api_events_accept(struct req *r)
{
	struct api *api = r->api;
	struct client *cl;
	int err;

	if (!http_msg_hdr_has_value(r->msg, HTTP_HDR_UPGRADE, "websocket")) {
		api_error_hdr(r, 426, "Upgrade: websocket\r\n"
			      "Connection: Upgrade\r\n", "upgrade_required",
			      "/api/v1/events is a WebSocket");
		return;
	}
	if (!same_origin(r->msg)) {
		api_error(r, 403, "forbidden", "the page's Origin is not this "
			  "server");
		return;
	}
	cl = mem_zalloc(sizeof(*cl), client_destructor);
	if (!cl) {
		api_error(r, 500, "internal", "out of memory");
		return;
	}
	cl->api = api;
	cl->who = r->who;
	if (cl->who.agent[0]) {
		const char *acc = desk_agent_account(api->desk,
						     cl->who.agent);
		str_ncpy(cl->account, acc ? acc : "", sizeof(cl->account));
	}
	err = websock_accept(&cl->wc, api->ws, r->conn, r->msg, KEEPALIVE_MS,
			     recv_handler, close_handler, cl);
	if (err) {
		mem_deref(cl);
		api_error(r, 400, "bad_request", "not a WebSocket handshake");
		return;
	}
	list_append(&api->clients, &cl->le, cl);
}

uint32_t api_events_clients(const struct api *api)
{
	return list_count(&api->clients);
}

int api_events_init(struct api *api)
{
	int err = websock_alloc(&api->ws, NULL, api);

	if (!err)
		err = event_subscribe(&api->sub, bus_handler, api);
	if (!err)
		tmr_start(&api->tmr_tick, TICK_MS, tick, api);
	return err;
}

void api_events_close(struct api *api)
{
	tmr_cancel(&api->tmr_tick);
	api->sub = mem_deref(api->sub);
	list_flush(&api->clients);
	api->ws = mem_deref(api->ws);
}
