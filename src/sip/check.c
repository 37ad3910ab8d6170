/*
 * Request sanity checks that libre's decoder leaves to the application.
 * Each answers with the status RFC 3261 and RFC 4475 name for the fault.
 */
#include <string.h>
#include <ctype.h>
#include <strings.h>
#include <re.h>
#include "sip/sip_int.h"

enum { DROP = 0xffff };

static bool is_digits(const struct pl *pl)
{
	if (!pl->l || pl->l > 10)
		return false;
	for (size_t i = 0; i < pl->l; i++)
		if (!isdigit((unsigned char)pl->p[i]))
			return false;
	return true;
}

static bool is_token(const struct pl *pl)
{
	static const char extra[] = "-.!%*_+`'~";
	for (size_t i = 0; i < pl->l; i++) {
		char c = pl->p[i];
		if (!isalnum((unsigned char)c) && !strchr(extra, c))
			return false;
	}
	return pl->l > 0;
}

/* Headers that RFC 3261 allows once only. */
static const enum sip_hdrid single[] = {
	SIP_HDR_CALL_ID, SIP_HDR_CSEQ, SIP_HDR_FROM, SIP_HDR_TO,
	SIP_HDR_MAX_FORWARDS, SIP_HDR_CONTENT_LENGTH, SIP_HDR_CONTENT_TYPE,
	SIP_HDR_EXPIRES,
};

static bool uri_scheme_ok(const struct sip_msg *msg)
{
	return !pl_strcasecmp(&msg->uri.scheme, "sip") ||
		!pl_strcasecmp(&msg->uri.scheme, "sips") ||
		!pl_strcasecmp(&msg->uri.scheme, "tel");
}

struct req_tags {
	char *buf;
	size_t sz;
	size_t n;
};

static bool require_handler(const struct sip_hdr *hdr,
			    const struct sip_msg *msg, void *arg)
{
	struct req_tags *t = arg;
	(void)msg;
	/* We support no extension that a request could require. */
	t->n += (size_t)re_snprintf(t->buf + t->n, t->sz - t->n, "%s%r",
				    t->n ? ", " : "", &hdr->val);
	return t->n >= t->sz - 1;
}

uint16_t sipcheck_request(const struct sip_msg *msg, uint32_t max_size,
			  const char **reason, char *hdrs, size_t hdrsz)
{
	size_t body = mbuf_get_left(msg->mb);
	bool is_ack = !pl_strcmp(&msg->met, "ACK");

	hdrs[0] = '\0';

	/* Without a Via we cannot even address a reply. */
	if (!pl_isset(&msg->via.sentby))
		return DROP;

	if (msg->mb->end > max_size) {
		*reason = "Message Too Large";
		return 513;
	}

	if (pl_strcmp(&msg->ver, "SIP/2.0")) {
		*reason = "Version Not Supported";
		return 505;
	}

	if (!is_token(&msg->met)) {
		*reason = "Bad Request (method)";
		return 400;
	}

	if (!pl_isset(&msg->callid) || !pl_isset(&msg->from.auri) ||
	    !pl_isset(&msg->to.auri) || !pl_isset(&msg->cseq.met)) {
		*reason = "Bad Request (missing Call-ID, From, To or CSeq)";
		return 400;
	}

	for (size_t i = 0; i < ARRAY_SIZE(single); i++) {
		if (sip_msg_hdr_count(msg, single[i]) > 1) {
			*reason = "Bad Request (repeated single-value header)";
			return 400;
		}
	}

	if (pl_cmp(&msg->cseq.met, &msg->met)) {
		*reason = "Bad Request (CSeq method mismatch)";
		return 400;
	}
	{
		const struct sip_hdr *h = sip_msg_hdr(msg, SIP_HDR_CSEQ);
		struct pl num;
		if (!h || re_regex(h->val.p, h->val.l, "[0-9]+", &num) ||
		    num.p != h->val.p || num.l > 10 ||
		    pl_u64(&num) > 0x7fffffffULL) {
			*reason = "Bad Request (CSeq)";
			return 400;
		}
	}

	if (pl_isset(&msg->maxfwd) && (!is_digits(&msg->maxfwd) ||
				       pl_u32(&msg->maxfwd) > 255)) {
		*reason = "Bad Request (Max-Forwards)";
		return 400;
	}

	if (pl_isset(&msg->expires) && !is_digits(&msg->expires)) {
		*reason = "Bad Request (Expires)";
		return 400;
	}

	if (pl_isset(&msg->clen)) {
		if (!is_digits(&msg->clen)) {
			*reason = "Bad Request (Content-Length)";
			return 400;
		}
		uint64_t clen = pl_u64(&msg->clen);
		if (clen > body) {
			/* Over UDP the rest will never come. */
			*reason = "Bad Request (Content-Length exceeds body)";
			return 400;
		}
		if (clen < body) {
			/* A datagram's octets after the body are not ours
			 * (RFC 4475 3.1.1.8): cut them off for every later
			 * reader of this message. */
			msg->mb->end = msg->mb->pos + (size_t)clen;
		}
	}
	else if (msg->tp != SIP_TRANSP_UDP && body) {
		*reason = "Bad Request (Content-Length missing)";
		return 400;
	}

	if (!uri_scheme_ok(msg)) {
		*reason = "Unsupported URI Scheme";
		return 416;
	}

	if (!is_ack && pl_strcmp(&msg->met, "CANCEL")) {
		struct req_tags t = {hdrs, hdrsz, 0};
		char tags[256];
		t.buf = tags;
		t.sz = sizeof(tags);
		tags[0] = '\0';
		(void)sip_msg_hdr_apply(msg, true, SIP_HDR_REQUIRE,
					require_handler, &t);
		if (t.n) {
			re_snprintf(hdrs, hdrsz, "Unsupported: %s\r\n", tags);
			*reason = "Bad Extension";
			return 420;
		}
	}

	return 0;
}
