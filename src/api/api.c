/*
 * HTTP API.  Every reply is JSON, errors included: {"error","message"}.
 * libre answers HTTP/1.0 with 1.1 and keeps the connection, so we close
 * connections that did not ask to be kept.
 */
#include <string.h>
#include <re.h>
#include "core/clock.h"
#include "core/log.h"
#include "call/call.h"
#include "media/media.h"
#include "sip/sip.h"
#include "store/store.h"
#include "api/api.h"

struct api {
	struct http_sock *sock;
	struct calls *cs;
	struct sipd *sd;
	struct portpool *pp;
	struct store *st;
	uint64_t started;
};

static void destructor(void *arg)
{
	struct api *api = arg;

	mem_deref(api->sock);
	mem_deref(api->cs);
	mem_deref(api->sd);
	mem_deref(api->pp);
	mem_deref(api->st);
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

static void json_error(struct http_conn *conn, uint16_t code,
		       const char *reason, const char *error,
		       const char *message)
{
	(void)http_creply(conn, code, reason, "application/json",
			  "{\"error\":\"%s\",\"message\":\"%s\"}\n", error,
			  message);
}

static void health(struct api *api, struct http_conn *conn)
{
	(void)http_creply(conn, 200, "OK", "application/json",
			  "{\"status\":\"%s\",\"version\":\"%s\","
			  "\"uptime_s\":%llu,\"registrations\":%u,"
			  "\"active_calls\":%u,\"rtp_ports_in_use\":%u,"
			  "\"rtp_ports_total\":%u,\"store\":\"%s\"}\n",
			  store_healthy(api->st) ? "ok" : "degraded",
			  LAOYOU_VERSION,
			  (unsigned long long)((clock_mono_ms() -
						api->started) / 1000),
			  sipd_registrations(api->sd), calls_active(api->cs),
			  portpool_used(api->pp), portpool_size(api->pp),
			  store_healthy(api->st) ? "ok" : "write-failed");
}

static void req_handler(struct http_conn *conn, const struct http_msg *msg,
			void *arg)
{
	struct api *api = arg;

	if (!pl_strcmp(&msg->path, "/health")) {
		if (pl_strcmp(&msg->met, "GET") && pl_strcmp(&msg->met, "HEAD"))
			json_error(conn, 405, "Method Not Allowed",
				   "method_not_allowed",
				   "/health answers GET only");
		else
			health(api, conn);
	}
	else {
		json_error(conn, 404, "Not Found", "not_found",
			   "no such resource");
	}
	finish(conn, msg);
}

int api_alloc(struct api **apip, const struct sa *laddr, struct calls *cs,
	      struct sipd *sd, struct portpool *pp, struct store *st)
{
	struct api *api;
	int err;

	api = mem_zalloc(sizeof(*api), destructor);
	if (!api)
		return ENOMEM;
	api->cs = mem_ref(cs);
	api->sd = mem_ref(sd);
	api->pp = mem_ref(pp);
	api->st = mem_ref(st);
	api->started = clock_mono_ms();

	err = http_listen(&api->sock, laddr, req_handler, api);
	if (err) {
		log_error("api: cannot listen on %J: %m", laddr, err);
		mem_deref(api);
		return err;
	}
	*apip = api;
	return 0;
}
