/*
 * api, taxi: the booth screen asks for a ride, follows and cancels it; the
 * partner reports its status (HMAC-signed, docs/taxi-partner.md);
 * operations list the rides.
 */
#include <string.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <re.h>
#include "core/log.h"
#include "store/store.h"
#include "site/json.h"
#include "booth/booth.h"
#include "booth/taxi.h"
#include "api/api.h"
#include "api/api_int.h"

enum { RIDES_LIMIT = 100, RIDES_LIMIT_MAX = 1000, SIG_MAX = 512 };

static bool need_taxi(struct req *r)
{
	if (r->api->svc.taxi && r->api->svc.booths)
		return true;
	api_error(r, 503, "unavailable", "the taxi service is not running");
	return false;
}

static void reply_mb(struct req *r, uint16_t code, struct mbuf *mb)
{
	mb->pos = 0;
	api_reply(r, code, "application/json", mb, NULL);
}

/* The optional body of a request: {"note": "…", "passengers": n}. */
static int request_opts(struct req *r, struct json **jp, const char **note,
			uint32_t *passengers)
{
	const struct json *n, *p;
	struct json *j;

	*note = "";
	*passengers = 1;
	if (!r->msg->mb || !mbuf_get_left(r->msg->mb))
		return 0;
	j = api_body(r);
	if (!j)
		return EINVAL;
	*jp = j;
	for (size_t i = 0; i < json_count(j); i++) {
		const char *k = json_key(j, i);
		if (strcmp(k, "note") && strcmp(k, "passengers")) {
			api_error(r, 400, "bad_request", "unknown field \"%s\" "
				  "(a ride takes note and passengers)", k);
			return EINVAL;
		}
	}
	n = json_get(j, "note");
	p = json_get(j, "passengers");
	if (n) {
		const char *s = json_str(n);
		bool ok = s && strlen(s) <= 200;
		for (size_t i = 0; ok && s[i]; i++)
			ok = (unsigned char)s[i] >= 0x20 && s[i] != 0x7f;
		if (!ok) {
			api_error(r, 400, "bad_request", "\"note\" must be a "
				  "line of text of at most 200 bytes");
			return EINVAL;
		}
		*note = s;
	}
	if (p) {
		double v = json_num(p);
		if (json_type(p) != JSON_NUMBER || v < 1 || v > 6 ||
		    v != floor(v)) {
			api_error(r, 400, "bad_request", "\"passengers\" must "
				  "be a whole number from 1 to 6");
			return EINVAL;
		}
		*passengers = (uint32_t)v;
	}
	return 0;
}

static void ride_request(struct req *r)
{
	struct booth_info bi;
	struct json *j = NULL;
	struct mbuf *mb = NULL;
	const char *note;
	uint32_t passengers;
	int err;

	if (!need_taxi(r) || api_booth_auth(r, &bi))
		return;
	if (request_opts(r, &j, &note, &passengers))
		goto out;
	mb = mbuf_alloc(1024);
	if (!mb) {
		api_error(r, 500, "internal", "out of memory");
		goto out;
	}
	err = taxi_request(r->api->svc.taxi, &bi, note, passengers, mb);
	if (!err)
		reply_mb(r, 201, mb);
	else if (err == EALREADY)       /* the ride already on its way */
		reply_mb(r, 200, mb);
	else if (err == ENOTSUP)
		api_error(r, 503, "unavailable", "no taxi partner is "
			  "configured: call %s", r->api->cf.taxi_hotline);
	else if (err == EINVAL)
		api_error(r, 400, "bad_request", "bad note or passengers");
	else
		api_error(r, 500, "store", "cannot record the ride: %m", err);
 out:
	mem_deref(mb);
	mem_deref(j);
}

static void ride_get(struct req *r)
{
	struct booth_info bi;
	struct mbuf *mb;
	int err;

	if (!need_taxi(r) || api_booth_auth(r, &bi))
		return;
	mb = mbuf_alloc(1024);
	err = mb ? taxi_ride_json(r->api->svc.taxi, r->seg[0], bi.id, false,
				  mb) : ENOMEM;
	if (!err)
		reply_mb(r, 200, mb);
	else if (err == ENOENT)
		api_error(r, 404, "not_found", "this booth has no ride %s",
			  r->seg[0]);
	else
		api_error(r, 500, "store", "cannot read the ride: %m", err);
	mem_deref(mb);
}

static void ride_cancel(struct req *r)
{
	struct booth_info bi;
	struct mbuf *mb;
	int err;

	if (!need_taxi(r) || api_booth_auth(r, &bi))
		return;
	mb = mbuf_alloc(1024);
	err = mb ? taxi_cancel(r->api->svc.taxi, r->seg[0], bi.id, mb) :
		ENOMEM;
	if (!err)
		reply_mb(r, 200, mb);
	else if (err == ENOENT)
		api_error(r, 404, "not_found", "this booth has no ride %s",
			  r->seg[0]);
	else if (err == EALREADY)
		api_error(r, 409, "ride_over", "ride %s is already over",
			  r->seg[0]);
	else
		api_error(r, 500, "store", "cannot cancel the ride: %m", err);
	mem_deref(mb);
}

static void partner_status(struct req *r)
{
	const struct http_hdr *h = http_msg_xhdr(r->msg, "X-Laoyou-Signature");
	const struct http_hdr *ct = http_msg_hdr(r->msg,
						 HTTP_HDR_CONTENT_TYPE);
	const struct mbuf *body = r->msg->mb;
	const char *why = "";
	char sig[SIG_MAX];
	struct mbuf *mb;
	int err;

	if (!need_taxi(r))
		return;
	if (!ct || ct->val.l < 16 ||
	    strncasecmp(ct->val.p, "application/json", 16)) {
		api_error(r, 415, "unsupported_media_type", "send the body "
			  "as application/json");
		return;
	}
	if (h && h->val.l >= sizeof(sig)) {
		api_error(r, 401, "bad_signature", "the X-Laoyou-Signature "
			  "header is too long");
		return;
	}
	if (h)
		(void)pl_strcpy(&h->val, sig, sizeof(sig));
	mb = mbuf_alloc(1024);
	if (!mb) {
		api_error(r, 500, "internal", "out of memory");
		return;
	}
	err = taxi_status(r->api->svc.taxi, r->seg[0], h ? sig : NULL,
			  body ? (const char *)mbuf_buf(body) : "",
			  body ? mbuf_get_left(body) : 0, mb, &why);
	if (err && err != ENOMEM)
		log_warn("api: taxi status for ride %s from %J refused: %s",
			 r->seg[0], http_conn_peer(r->conn), why);
	switch (err) {
	case 0:
		reply_mb(r, 200, mb);
		break;
	case EPERM:
		api_error(r, 401, "bad_signature", "%s", why);
		break;
	case ETIMEDOUT:
		api_error(r, 401, "stale_signature", "%s", why);
		break;
	case EBADMSG:
		api_error(r, 400, "bad_request", "%s", why);
		break;
	case ENOENT:
		api_error(r, 404, "not_found", "no ride %s", r->seg[0]);
		break;
	case EPROTO:
		api_error(r, 409, "illegal_transition", "%s", why);
		break;
	default:
		api_error(r, 500, "internal", "cannot take the status: %m",
			  err);
		break;
	}
	mem_deref(mb);
}

static const char *const ride_states[] = {
	"requested", "sent", "accepted", "arriving", "arrived", "completed",
	"cancelled", "failed",
};

static void rides_list(struct req *r)
{
	char booth[32] = "", state[16] = "", lim[12];
	unsigned long limit = RIDES_LIMIT;
	bool known = false;
	struct mbuf *mb;
	char *end;

	if (!need_taxi(r))
		return;
	(void)api_param(r, "booth", booth, sizeof(booth));
	if (api_param(r, "state", state, sizeof(state))) {
		for (size_t i = 0; i < ARRAY_SIZE(ride_states); i++)
			known |= !strcmp(state, ride_states[i]);
		if (!known) {
			api_error(r, 400, "bad_request", "state is one of "
				  "requested, sent, accepted, arriving, "
				  "arrived, completed, cancelled, failed");
			return;
		}
	}
	if (api_param(r, "limit", lim, sizeof(lim))) {
		limit = strtoul(lim, &end, 10);
		if (*end || !lim[0] || limit < 1 || limit > RIDES_LIMIT_MAX) {
			api_error(r, 400, "bad_request", "limit is 1 to %u",
				  RIDES_LIMIT_MAX);
			return;
		}
	}
	mb = mbuf_alloc(8192);
	if (!mb || taxi_rides_json(r->api->svc.taxi, booth, state,
				   (uint32_t)limit, mb))
		api_error(r, 500, "store", "cannot list the rides");
	else
		reply_mb(r, 200, mb);
	mem_deref(mb);
}

static void ride_one(struct req *r)
{
	struct mbuf *mb;
	int err;

	if (!need_taxi(r))
		return;
	mb = mbuf_alloc(2048);
	err = mb ? taxi_ride_json(r->api->svc.taxi, r->seg[0], "", true, mb) :
		ENOMEM;
	if (!err)
		reply_mb(r, 200, mb);
	else if (err == ENOENT)
		api_error(r, 404, "not_found", "no ride %s", r->seg[0]);
	else
		api_error(r, 500, "store", "cannot read the ride: %m", err);
	mem_deref(mb);
}

const struct api_route taxi_routes[] = {
	{"POST", "/api/v1/booth/taxi", ROLE_NONE, NULL, ride_request},
	{"GET", "/api/v1/booth/taxi/{}", ROLE_NONE, NULL, ride_get},
	{"POST", "/api/v1/booth/taxi/{}/cancel", ROLE_NONE, NULL, ride_cancel},
	{"POST", "/api/v1/partner/taxi/{}/status", ROLE_NONE, NULL,
	 partner_status},
	{"GET", "/api/v1/rides", ROLE_SUPERVISOR, "read", rides_list},
	{"GET", "/api/v1/rides/{}", ROLE_SUPERVISOR, "read", ride_one},
	{NULL, NULL, ROLE_NONE, NULL, NULL},
};
