/*
 * Request sanity checks that libre's decoder leaves to the application.
 * Each answers with the status RFC 3261 and RFC 4475 name for the fault.
 * Our decoder (decode.c) lets through what libre would drop unanswered, so
 * the grammar of the start line, Via, From, To and Contact is held here.
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

/* token characters (RFC 3261 section 25.1); strchr would match a NUL */
static bool is_tokc(char c)
{
	static const char extra[] = "-.!%*_+`'~";
	return isalnum((unsigned char)c) || (c && strchr(extra, c));
}

static bool is_token(const struct pl *pl)
{
	for (size_t i = 0; i < pl->l; i++) {
		if (!is_tokc(pl->p[i]))
			return false;
	}
	return pl->l > 0;
}

static bool is_sp(char c)
{
	return c == ' ' || c == '\t';
}

/* Past LWS: SP, HTAB and folded lines (CRLF and then SP or HTAB). */
static const char *skip_lws(const char *p, const char *e)
{
	for (;;) {
		if (p < e && is_sp(*p))
			p++;
		else if (e - p >= 3 && p[0] == '\r' && p[1] == '\n' &&
			 is_sp(p[2]))
			p += 3;
		else if (e - p >= 2 && p[0] == '\n' && is_sp(p[1]))
			p += 2;
		else
			return p;
	}
}

static const char *skip_token(const char *p, const char *e)
{
	while (p < e && is_tokc(*p))
		p++;
	return p;
}

/* Past a quoted-string at p (on its '"'), or NULL if it never ends or holds
 * a bare control character (quoted-pair may escape any but CR and LF). */
static const char *skip_quoted(const char *p, const char *e)
{
	for (++p; p < e; p++) {
		const char *f;

		if (*p == '"')
			return p + 1;
		if (*p == '\\') {
			if (++p == e || *p == '\r' || *p == '\n')
				return NULL;
			continue;
		}
		f = skip_lws(p, e);
		if (f > p) {
			p = f - 1;
			continue;
		}
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return NULL;
	}
	return NULL;
}

/* A URI scheme and its colon: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
 * Returns the end of the scheme (on the colon), or NULL. */
static const char *scheme_end(const char *p, const char *e)
{
	const char *q = p;

	if (p == e || !isalpha((unsigned char)*p))
		return NULL;
	while (q < e && (isalnum((unsigned char)*q) || *q == '+' ||
			 *q == '-' || *q == '.'))
		q++;
	return q < e && *q == ':' ? q : NULL;
}

/* A URI as far as we judge it: a scheme, then no LWS, quote, angle
 * bracket or control character. */
static const char *skip_uri(const char *p, const char *e)
{
	if (!scheme_end(p, e))
		return NULL;
	while (p < e && (unsigned char)*p > 0x20 && *p != 0x7f &&
	       *p != '<' && *p != '>' && *p != '"')
		p++;
	return p;
}

/* *( SEMI token [ EQUAL ( token / host / quoted-string ) ] ), then end. */
static bool params_ok(const char *p, const char *e)
{
	for (;;) {
		const char *q;

		p = skip_lws(p, e);
		if (p == e)
			return true;
		if (*p != ';')
			return false;
		p = skip_lws(p + 1, e);
		q = p;
		p = skip_token(p, e);
		if (p == q)
			return false; /* ";;", or ";" at the end */
		p = skip_lws(p, e);
		if (p == e || *p != '=')
			continue;
		p = skip_lws(p + 1, e);
		if (p < e && *p == '"') {
			p = skip_quoted(p, e);
			if (!p)
				return false;
			continue;
		}
		q = p;
		while (p < e && (is_tokc(*p) || *p == ':' || *p == '[' ||
				 *p == ']'))
			p++;
		if (p == q)
			return false;
	}
}

/* From, To, Contact: name-addr or addr-spec, then header parameters.
 * LWS inside the angle brackets is let pass (RFC 4475 3.1.2.15 allows
 * either answer, and phones have been seen to send it). */
static bool addr_ok(const struct pl *v, bool star)
{
	const char *p = v->p, *e = v->p + v->l, *q;

	p = skip_lws(p, e);
	if (star && p < e && *p == '*')
		return skip_lws(p + 1, e) == e;

	if (p < e && *p == '"') {
		p = skip_quoted(p, e);
		if (!p)
			return false;
		p = skip_lws(p, e);
	}
	else {
		/* *(token LWS) before '<', or else an addr-spec */
		q = p;
		while (p < e && is_tokc(*p))
			p = skip_lws(skip_token(p, e), e);
		if (p == e || *p != '<') {
			p = skip_uri(q, e);
			return p && p > q && params_ok(p, e);
		}
	}
	if (p == e || *p != '<')
		return false;
	p = skip_lws(p + 1, e);
	q = p;
	p = skip_uri(p, e);
	if (!p || p == q)
		return false;
	p = skip_lws(p, e);
	if (p == e || *p != '>')
		return false;
	return params_ok(p + 1, e);
}

/* via-parm: sent-protocol LWS sent-by *( SEMI via-params ) */
static bool via_ok(const struct pl *v)
{
	const char *p = v->p, *e = v->p + v->l, *q;

	p = skip_lws(p, e);
	for (int i = 0; i < 3; i++) {
		q = p;
		p = skip_token(p, e);
		if (p == q)
			return false;
		q = p;
		p = skip_lws(p, e);
		if (i == 2)
			break;
		if (p == e || *p != '/')
			return false;
		p = skip_lws(p + 1, e);
	}
	if (p == q) /* no LWS before sent-by */
		return false;

	q = p;
	if (p < e && *p == '[') {
		/* IPv6reference */
		for (++p; p < e && (isxdigit((unsigned char)*p) ||
				    *p == ':' || *p == '.'); p++)
			;
		if (p == e || *p++ != ']')
			return false;
	}
	else {
		while (p < e && (isalnum((unsigned char)*p) || *p == '-' ||
				 *p == '.' || *p == '_'))
			p++;
	}
	if (p == q)
		return false;
	q = skip_lws(p, e);
	if (q < e && *q == ':') {
		p = skip_lws(q + 1, e);
		q = p;
		while (p < e && isdigit((unsigned char)*p))
			p++;
		if (p == q || p - q > 5)
			return false;
	}
	return params_ok(p, e);
}

struct hdr_fault {
	bool star;                 /* Contact: "*" is allowed */
	bool bad;
};

static bool via_handler(const struct sip_hdr *hdr, const struct sip_msg *msg,
			void *arg)
{
	struct hdr_fault *f = arg;
	(void)msg;
	f->bad = !via_ok(&hdr->val);
	return f->bad;
}

static bool addr_handler(const struct sip_hdr *hdr, const struct sip_msg *msg,
			 void *arg)
{
	struct hdr_fault *f = arg;
	(void)msg;
	f->bad = !addr_ok(&hdr->val, f->star);
	return f->bad;
}

/* The request line, held to RFC 3261 section 25.1: Method SP Request-URI
 * SP SIP-Version CRLF, one SP each, no LWS inside the Request-URI and no
 * angle brackets around it.  libre would not decode most other lines; our
 * decoder splits them so that they are answered here. */
static bool request_line_ok(const struct sip_msg *msg)
{
	const char *p = msg->met.p + msg->met.l;
	const char *e = (const char *)msg->mb->buf + msg->mb->end;
	const char *q;

	if (p >= e || *p++ != ' ')
		return false;
	q = skip_uri(p, e);
	if (!q || q == p || q != msg->ruri.p + msg->ruri.l || p != msg->ruri.p)
		return false;
	p = q;
	if (p >= e || *p++ != ' ' || p != msg->ver.p)
		return false;
	p += msg->ver.l;
	if (p < e && *p == '\r')
		p++;
	return p < e && *p == '\n';
}

/* "SIP" "/" 1*DIGIT "." 1*DIGIT; any such version is answered, 505 if
 * not 2.0. */
static bool version_ok(const struct pl *ver)
{
	size_t i = 4, d;

	if (ver->l < 7 || strncasecmp(ver->p, "SIP/", 4))
		return false;
	for (d = i; i < ver->l && isdigit((unsigned char)ver->p[i]); i++)
		;
	if (i == d || i == ver->l || ver->p[i++] != '.')
		return false;
	for (d = i; i < ver->l && isdigit((unsigned char)ver->p[i]); i++)
		;
	return i > d && i == ver->l;
}

/* The Request-URI's scheme: 0, 400 if there is none or a SIP or tel URI
 * did not decode, 416 for schemes we do not serve. */
static uint16_t ruri_check(const struct sip_msg *msg, const char **reason)
{
	const char *p = msg->ruri.p, *e = msg->ruri.p + msg->ruri.l;
	const char *se = scheme_end(p, e);
	struct pl scheme;

	if (!se) {
		*reason = "Bad Request (Request-URI)";
		return 400;
	}
	scheme.p = p;
	scheme.l = (size_t)(se - p);
	if (pl_strcasecmp(&scheme, "sip") && pl_strcasecmp(&scheme, "sips") &&
	    pl_strcasecmp(&scheme, "tel")) {
		*reason = "Unsupported URI Scheme";
		return 416;
	}
	if (!pl_isset(&msg->uri.scheme) || !pl_isset(&msg->uri.host)) {
		*reason = "Bad Request (Request-URI)";
		return 400;
	}
	return 0;
}

static bool accept_handler(const struct sip_hdr *hdr,
			   const struct sip_msg *msg, void *arg)
{
	struct pl range;
	(void)msg;
	(void)arg;

	/* media-range [; params]: any that admits SDP will do */
	if (re_regex(hdr->val.p, hdr->val.l, "[^; \t\r\n]+", &range))
		return false;
	return !pl_strcasecmp(&range, "application/sdp") ||
		!pl_strcasecmp(&range, "application/*") ||
		!pl_strcasecmp(&range, "*/*");
}

/* Headers that RFC 3261 allows once only. */
static const enum sip_hdrid single[] = {
	SIP_HDR_CALL_ID, SIP_HDR_CSEQ, SIP_HDR_FROM, SIP_HDR_TO,
	SIP_HDR_MAX_FORWARDS, SIP_HDR_CONTENT_LENGTH, SIP_HDR_CONTENT_TYPE,
	SIP_HDR_EXPIRES,
};

struct req_tags {
	char *buf;
	size_t sz;
	size_t len;                /* bytes in buf */
	size_t n;                  /* values required */
};

static bool require_handler(const struct sip_hdr *hdr,
			    const struct sip_msg *msg, void *arg)
{
	struct req_tags *t = arg;
	size_t need = hdr->val.l + (t->len ? 2 : 0);
	(void)msg;

	/* We support no extension that a request could require.  Whole
	 * values only, so the list in Unsupported is never cut mid-name
	 * (a first value longer than the buffer is the one exception). */
	t->n++;
	if (t->len && t->len + need >= t->sz)
		return true;
	(void)re_snprintf(t->buf + t->len, t->sz - t->len, "%s%r",
			  t->len ? ", " : "", &hdr->val);
	t->len = strlen(t->buf);
	return false;
}

uint16_t sipcheck_request(const struct sip_msg *msg, uint32_t max_size,
			  const char **reason, char *hdrs, size_t hdrsz)
{
	size_t body = mbuf_get_left(msg->mb);
	bool is_ack = !pl_strcmp(&msg->met, "ACK");
	uint16_t scode;

	hdrs[0] = '\0';

	/* Without a Via we cannot even address a reply. */
	if (!pl_isset(&msg->via.sentby))
		return DROP;

	if (msg->mb->end > max_size) {
		*reason = "Message Too Large";
		return 513;
	}

	if (!request_line_ok(msg) || !version_ok(&msg->ver)) {
		*reason = "Bad Request (request line)";
		return 400;
	}

	if (pl_strcasecmp(&msg->ver, "SIP/2.0")) {
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

	{
		struct hdr_fault f = {false, false};

		(void)sip_msg_hdr_apply(msg, true, SIP_HDR_VIA, via_handler,
					&f);
		if (f.bad) {
			*reason = "Bad Request (Via)";
			return 400;
		}
		(void)sip_msg_hdr_apply(msg, true, SIP_HDR_FROM, addr_handler,
					&f);
		if (!f.bad)
			(void)sip_msg_hdr_apply(msg, true, SIP_HDR_TO,
						addr_handler, &f);
		if (f.bad) {
			*reason = "Bad Request (From or To)";
			return 400;
		}
		f.star = true;
		(void)sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT,
					addr_handler, &f);
		if (f.bad) {
			*reason = "Bad Request (Contact)";
			return 400;
		}
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

	scode = ruri_check(msg, reason);
	if (scode)
		return scode;

	if (!is_ack && pl_strcmp(&msg->met, "CANCEL")) {
		struct req_tags t = {hdrs, hdrsz, 0, 0};
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

	/* An INVITE we could never answer, refused before the challenge so
	 * that the caller does not authenticate for nothing: a body that is
	 * not SDP (RFC 3261 section 21.4.16, with Accept in the reply), or an
	 * Accept that rules out the SDP our answer would carry (21.4.7). */
	if (!pl_strcmp(&msg->met, "INVITE")) {
		if (mbuf_get_left(msg->mb) &&
		    !msg_ctype_cmp(&msg->ctyp, "application", "sdp")) {
			*reason = "Unsupported Media Type";
			return 415;
		}
		if (sip_msg_hdr(msg, SIP_HDR_ACCEPT) &&
		    !sip_msg_hdr_apply(msg, true, SIP_HDR_ACCEPT,
				       accept_handler, NULL)) {
			*reason = "Not Acceptable";
			return 406;
		}
	}

	return 0;
}
