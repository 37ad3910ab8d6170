/*
 * decode: laoyou's SIP message decoder.  It stands in for libre's
 * sip/msg.o at link time (like src/core/tmr.c for the timers): the ten
 * functions of that object are all defined here, so leaving one out makes
 * the link fail with "multiple definition" and nothing is silently mixed.
 * Written for laoyou from re_sip.h and RFC 3261 sections 7, 20 and 25.
 *
 * Why our own: libre's decoder drops, unanswered, what RFC 4475 wants
 * answered (505 for SIP/7.0, 400 for LWS in the Request-URI) or processed
 * (RFC 2543 requests without a Via branch, From/To with absolute URIs of
 * other schemes).  So this one fails only when it cannot frame a message:
 * no start line, a status line that is not one, no end of the header
 * section, a header row without a colon or folded onto the start line.
 * A field it cannot read is left empty, and sipcheck_request (check.c)
 * answers the request for it:
 *   - a request line is split leniently: the method is its first word,
 *     the version its last, the Request-URI what lies between; a
 *     Request-URI that does not decode leaves msg->uri zeroed;
 *   - a Via is read without branch and of any SIP version;
 *   - a From/To whose URI does not decode is kept with a zeroed uri.
 *
 * What the rest of libre relies on, and so we keep:
 *   - msg->mb is the caller's buffer (referenced), its pos at the body;
 *     the buffer is untouched on failure, and ENODATA means "the header
 *     section has not ended yet" (libre's TCP framing waits for more);
 *   - header ids are re_sip.h's: the low 12 bits of hash_joaat_ci() of
 *     the lower-case name; compact forms carry their long form's id.  A
 *     name re_sip.h does not number is SIP_HDR_NONE, also when its hash
 *     hits a known id (Content-Transfer-Encoding hashes to Supported's);
 *   - list-valued headers (Contact, Require, Allow ...) are looked up per
 *     element, while msg->hdrl keeps the rows as written, except Via and
 *     Route, listed per element too: libre's replies copy the Via rows
 *     and add received/rport to the first one only;
 *   - msg->via, from, to, cseq, ctyp and the cached values are those of
 *     the first such header.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>
#include <re.h>

enum {
	HDR_BUCKETS = 32,       /* a message carries some 10 to 40 headers */
	ID_MASK     = 0xfff,    /* re_sip.h's ids are 12-bit name hashes */
	SHRINK_SLACK = 512,     /* receive buffers larger by this are cut */
};

/* Every header name re_sip.h numbers, lower-case. */
#define KNOWN_HEADERS(X) \
	X(SIP_HDR_ACCEPT, "accept") \
	X(SIP_HDR_ACCEPT_CONTACT, "accept-contact") \
	X(SIP_HDR_ACCEPT_ENCODING, "accept-encoding") \
	X(SIP_HDR_ACCEPT_LANGUAGE, "accept-language") \
	X(SIP_HDR_ACCEPT_RESOURCE_PRIORITY, "accept-resource-priority") \
	X(SIP_HDR_ALERT_INFO, "alert-info") \
	X(SIP_HDR_ALLOW, "allow") \
	X(SIP_HDR_ALLOW_EVENTS, "allow-events") \
	X(SIP_HDR_ANSWER_MODE, "answer-mode") \
	X(SIP_HDR_AUTHENTICATION_INFO, "authentication-info") \
	X(SIP_HDR_AUTHORIZATION, "authorization") \
	X(SIP_HDR_CALL_ID, "call-id") \
	X(SIP_HDR_CALL_INFO, "call-info") \
	X(SIP_HDR_CONTACT, "contact") \
	X(SIP_HDR_CONTENT_DISPOSITION, "content-disposition") \
	X(SIP_HDR_CONTENT_ENCODING, "content-encoding") \
	X(SIP_HDR_CONTENT_LANGUAGE, "content-language") \
	X(SIP_HDR_CONTENT_LENGTH, "content-length") \
	X(SIP_HDR_CONTENT_TYPE, "content-type") \
	X(SIP_HDR_CSEQ, "cseq") \
	X(SIP_HDR_DATE, "date") \
	X(SIP_HDR_ENCRYPTION, "encryption") \
	X(SIP_HDR_ERROR_INFO, "error-info") \
	X(SIP_HDR_EVENT, "event") \
	X(SIP_HDR_EXPIRES, "expires") \
	X(SIP_HDR_FLOW_TIMER, "flow-timer") \
	X(SIP_HDR_FROM, "from") \
	X(SIP_HDR_HIDE, "hide") \
	X(SIP_HDR_HISTORY_INFO, "history-info") \
	X(SIP_HDR_IDENTITY, "identity") \
	X(SIP_HDR_IDENTITY_INFO, "identity-info") \
	X(SIP_HDR_IN_REPLY_TO, "in-reply-to") \
	X(SIP_HDR_JOIN, "join") \
	X(SIP_HDR_MAX_BREADTH, "max-breadth") \
	X(SIP_HDR_MAX_FORWARDS, "max-forwards") \
	X(SIP_HDR_MIME_VERSION, "mime-version") \
	X(SIP_HDR_MIN_EXPIRES, "min-expires") \
	X(SIP_HDR_MIN_SE, "min-se") \
	X(SIP_HDR_ORGANIZATION, "organization") \
	X(SIP_HDR_P_ACCESS_NETWORK_INFO, "p-access-network-info") \
	X(SIP_HDR_P_ANSWER_STATE, "p-answer-state") \
	X(SIP_HDR_P_ASSERTED_IDENTITY, "p-asserted-identity") \
	X(SIP_HDR_P_ASSOCIATED_URI, "p-associated-uri") \
	X(SIP_HDR_P_CALLED_PARTY_ID, "p-called-party-id") \
	X(SIP_HDR_P_CHARGING_FUNCTION_ADDRESSES, \
	  "p-charging-function-addresses") \
	X(SIP_HDR_P_CHARGING_VECTOR, "p-charging-vector") \
	X(SIP_HDR_P_DCS_TRACE_PARTY_ID, "p-dcs-trace-party-id") \
	X(SIP_HDR_P_DCS_OSPS, "p-dcs-osps") \
	X(SIP_HDR_P_DCS_BILLING_INFO, "p-dcs-billing-info") \
	X(SIP_HDR_P_DCS_LAES, "p-dcs-laes") \
	X(SIP_HDR_P_DCS_REDIRECT, "p-dcs-redirect") \
	X(SIP_HDR_P_EARLY_MEDIA, "p-early-media") \
	X(SIP_HDR_P_MEDIA_AUTHORIZATION, "p-media-authorization") \
	X(SIP_HDR_P_PREFERRED_IDENTITY, "p-preferred-identity") \
	X(SIP_HDR_P_PROFILE_KEY, "p-profile-key") \
	X(SIP_HDR_P_REFUSED_URI_LIST, "p-refused-uri-list") \
	X(SIP_HDR_P_SERVED_USER, "p-served-user") \
	X(SIP_HDR_P_USER_DATABASE, "p-user-database") \
	X(SIP_HDR_P_VISITED_NETWORK_ID, "p-visited-network-id") \
	X(SIP_HDR_PATH, "path") \
	X(SIP_HDR_PERMISSION_MISSING, "permission-missing") \
	X(SIP_HDR_PRIORITY, "priority") \
	X(SIP_HDR_PRIV_ANSWER_MODE, "priv-answer-mode") \
	X(SIP_HDR_PRIVACY, "privacy") \
	X(SIP_HDR_PROXY_AUTHENTICATE, "proxy-authenticate") \
	X(SIP_HDR_PROXY_AUTHORIZATION, "proxy-authorization") \
	X(SIP_HDR_PROXY_REQUIRE, "proxy-require") \
	X(SIP_HDR_RACK, "rack") \
	X(SIP_HDR_REASON, "reason") \
	X(SIP_HDR_RECORD_ROUTE, "record-route") \
	X(SIP_HDR_REFER_SUB, "refer-sub") \
	X(SIP_HDR_REFER_TO, "refer-to") \
	X(SIP_HDR_REFERRED_BY, "referred-by") \
	X(SIP_HDR_REJECT_CONTACT, "reject-contact") \
	X(SIP_HDR_REPLACES, "replaces") \
	X(SIP_HDR_REPLY_TO, "reply-to") \
	X(SIP_HDR_REQUEST_DISPOSITION, "request-disposition") \
	X(SIP_HDR_REQUIRE, "require") \
	X(SIP_HDR_RESOURCE_PRIORITY, "resource-priority") \
	X(SIP_HDR_RESPONSE_KEY, "response-key") \
	X(SIP_HDR_RETRY_AFTER, "retry-after") \
	X(SIP_HDR_ROUTE, "route") \
	X(SIP_HDR_RSEQ, "rseq") \
	X(SIP_HDR_SECURITY_CLIENT, "security-client") \
	X(SIP_HDR_SECURITY_SERVER, "security-server") \
	X(SIP_HDR_SECURITY_VERIFY, "security-verify") \
	X(SIP_HDR_SERVER, "server") \
	X(SIP_HDR_SERVICE_ROUTE, "service-route") \
	X(SIP_HDR_SESSION_EXPIRES, "session-expires") \
	X(SIP_HDR_SIP_ETAG, "sip-etag") \
	X(SIP_HDR_SIP_IF_MATCH, "sip-if-match") \
	X(SIP_HDR_SUBJECT, "subject") \
	X(SIP_HDR_SUBSCRIPTION_STATE, "subscription-state") \
	X(SIP_HDR_SUPPORTED, "supported") \
	X(SIP_HDR_TARGET_DIALOG, "target-dialog") \
	X(SIP_HDR_TIMESTAMP, "timestamp") \
	X(SIP_HDR_TO, "to") \
	X(SIP_HDR_TRIGGER_CONSENT, "trigger-consent") \
	X(SIP_HDR_UNSUPPORTED, "unsupported") \
	X(SIP_HDR_USER_AGENT, "user-agent") \
	X(SIP_HDR_VIA, "via") \
	X(SIP_HDR_WARNING, "warning") \
	X(SIP_HDR_WWW_AUTHENTICATE, "www-authenticate")

/* The name that owns a 12-bit id, or NULL: an unknown name may hash to a
 * known id, and must not be taken for that header. */
static const char *known_name(uint32_t id)
{
	switch (id) {
#define NAME_CASE(id, name) case id: return name;
	KNOWN_HEADERS(NAME_CASE)
#undef NAME_CASE
	default:
		return NULL;
	}
}

/* Compact forms: RFC 3261 section 7.3.3 and the later ones IANA lists. */
static enum sip_hdrid compact_id(char c)
{
	switch (tolower((unsigned char)c)) {
	case 'a': return SIP_HDR_ACCEPT_CONTACT;       /* RFC 3841 */
	case 'b': return SIP_HDR_REFERRED_BY;          /* RFC 3892 */
	case 'c': return SIP_HDR_CONTENT_TYPE;
	case 'd': return SIP_HDR_REQUEST_DISPOSITION;  /* RFC 3841 */
	case 'e': return SIP_HDR_CONTENT_ENCODING;
	case 'f': return SIP_HDR_FROM;
	case 'i': return SIP_HDR_CALL_ID;
	case 'j': return SIP_HDR_REJECT_CONTACT;       /* RFC 3841 */
	case 'k': return SIP_HDR_SUPPORTED;
	case 'l': return SIP_HDR_CONTENT_LENGTH;
	case 'm': return SIP_HDR_CONTACT;
	case 'n': return SIP_HDR_IDENTITY_INFO;        /* RFC 4474 */
	case 'o': return SIP_HDR_EVENT;                /* RFC 6665 */
	case 'r': return SIP_HDR_REFER_TO;             /* RFC 3515 */
	case 's': return SIP_HDR_SUBJECT;
	case 't': return SIP_HDR_TO;
	case 'u': return SIP_HDR_ALLOW_EVENTS;         /* RFC 6665 */
	case 'v': return SIP_HDR_VIA;
	case 'x': return SIP_HDR_SESSION_EXPIRES;      /* RFC 4028 */
	case 'y': return SIP_HDR_IDENTITY;             /* RFC 8224 */
	default:  return SIP_HDR_NONE;
	}
}

/* A header name's id; SIP_HDR_NONE for any name re_sip.h does not know. */
static enum sip_hdrid name_id(const char *p, size_t l)
{
	uint32_t id;
	const char *known;

	if (l == 1)
		return compact_id(p[0]);

	id = hash_joaat_ci(p, l) & ID_MASK;
	known = known_name(id);
	if (!known || strlen(known) != l || strncasecmp(known, p, l))
		return SIP_HDR_NONE;

	return (enum sip_hdrid)id;
}

/* Headers whose grammar is a comma-separated list (RFC 3261 section 25.1
 * and the extensions that define them so): their elements are what a
 * lookup visits.  Not the credentials and challenges, whose parameters are
 * comma-separated too, nor Date or free text. */
static bool is_list(enum sip_hdrid id)
{
	switch (id) {
	case SIP_HDR_ACCEPT:
	case SIP_HDR_ACCEPT_CONTACT:
	case SIP_HDR_ACCEPT_ENCODING:
	case SIP_HDR_ACCEPT_LANGUAGE:
	case SIP_HDR_ACCEPT_RESOURCE_PRIORITY:
	case SIP_HDR_ALERT_INFO:
	case SIP_HDR_ALLOW:
	case SIP_HDR_ALLOW_EVENTS:
	case SIP_HDR_AUTHENTICATION_INFO:
	case SIP_HDR_CALL_INFO:
	case SIP_HDR_CONTACT:
	case SIP_HDR_CONTENT_ENCODING:
	case SIP_HDR_CONTENT_LANGUAGE:
	case SIP_HDR_ERROR_INFO:
	case SIP_HDR_HISTORY_INFO:
	case SIP_HDR_IN_REPLY_TO:
	case SIP_HDR_P_ACCESS_NETWORK_INFO:
	case SIP_HDR_P_ASSERTED_IDENTITY:
	case SIP_HDR_P_ASSOCIATED_URI:
	case SIP_HDR_P_EARLY_MEDIA:
	case SIP_HDR_P_MEDIA_AUTHORIZATION:
	case SIP_HDR_P_PREFERRED_IDENTITY:
	case SIP_HDR_P_REFUSED_URI_LIST:
	case SIP_HDR_P_VISITED_NETWORK_ID:
	case SIP_HDR_PATH:
	case SIP_HDR_PERMISSION_MISSING:
	case SIP_HDR_PROXY_REQUIRE:
	case SIP_HDR_REASON:
	case SIP_HDR_RECORD_ROUTE:
	case SIP_HDR_REJECT_CONTACT:
	case SIP_HDR_REQUEST_DISPOSITION:
	case SIP_HDR_REQUIRE:
	case SIP_HDR_RESOURCE_PRIORITY:
	case SIP_HDR_ROUTE:
	case SIP_HDR_SECURITY_CLIENT:
	case SIP_HDR_SECURITY_SERVER:
	case SIP_HDR_SECURITY_VERIFY:
	case SIP_HDR_SERVICE_ROUTE:
	case SIP_HDR_SUPPORTED:
	case SIP_HDR_TRIGGER_CONSENT:
	case SIP_HDR_UNSUPPORTED:
	case SIP_HDR_VIA:
	case SIP_HDR_WARNING:
		return true;
	default:
		return false;
	}
}

/* Listed per element in msg->hdrl as well (see the head of the file). */
static bool listed_per_element(enum sip_hdrid id)
{
	return id == SIP_HDR_VIA || id == SIP_HDR_ROUTE;
}

/* The hash key a header is filed under: its id, or for a header we do not
 * know, its name's hash, so that sip_msg_xhdr finds it in one bucket. */
static uint32_t file_key(enum sip_hdrid id, const char *name, size_t l)
{
	return id != SIP_HDR_NONE ? (uint32_t)id : hash_joaat_ci(name, l);
}


/* ---------------------------------------------------------- characters */

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* Linear white space as it may lie inside a header value: SP, HTAB and
 * the CR/LF of folded rows (the row's own end is already cut off). */
static bool is_lws(char c)
{
	return is_wsp(c) || c == '\r' || c == '\n';
}

static void trim_lws(const char **p, const char **e)
{
	while (*p < *e && is_lws(**p))
		++*p;
	while (*e > *p && is_lws((*e)[-1]))
		--*e;
}

static void pl_span(struct pl *pl, const char *p, const char *e)
{
	pl->p = p;
	pl->l = (size_t)(e - p);
}

/* RFC 3261 token characters. */
static bool is_tokc(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("-.!%*_+`'~", c));
}

/* Past a quoted string that starts at p (on its '"'); e if it never ends. */
static const char *skip_quoted(const char *p, const char *e)
{
	for (++p; p < e; p++) {
		if (*p == '\\' && p + 1 < e)
			p++;
		else if (*p == '"')
			return p + 1;
	}
	return e;
}


/* ------------------------------------------------------ header objects */

static void hdr_destructor(void *arg)
{
	struct sip_hdr *hdr = arg;

	list_unlink(&hdr->le);
	hash_unlink(&hdr->he);
}

static void msg_destructor(void *arg)
{
	struct sip_msg *msg = arg;

	/* Each container holds its own reference to a header. */
	if (msg->hdrht)
		hash_flush(msg->hdrht);
	list_flush(&msg->hdrl);
	mem_deref(msg->hdrht);
	mem_deref(msg->mb);
	/* The transports give the message a reference to their socket. */
	mem_deref(msg->sock);
}

/* ------------------------------------------------ the decoded headers */

/* What the first of each decoded header has given already. */
struct seen {
	bool via, from, to, cseq, ctyp, callid, maxfwd, expires, clen;
};

static const char *skip_lws(const char *p, const char *e)
{
	while (p < e && is_lws(*p))
		p++;
	return p;
}

/* A Via that libre's sip_via_decode refuses (no branch, another SIP
 * version): sent-protocol LWS sent-by *( SEMI via-params ).  False if not
 * even that much is there: then no reply can be addressed. */
static bool via_lenient(struct sip_via *via, const struct pl *val)
{
	static const char *const tpname[] = {"UDP", "TCP", "TLS"};
	static const enum sip_transp tpval[] = {
		SIP_TRANSP_UDP, SIP_TRANSP_TCP, SIP_TRANSP_TLS
	};
	const char *p = val->p, *e = val->p + val->l, *q = p, *c;
	struct pl tp = PL_INIT, host, port;
	uint32_t portnum = 0;

	memset(via, 0, sizeof(*via));
	via->tp = SIP_TRANSP_NONE;

	/* protocol-name SLASH protocol-version SLASH transport */
	p = skip_lws(p, e);
	for (int i = 0; i < 3; i++) {
		q = p;
		while (p < e && is_tokc(*p))
			p++;
		if (p == q)
			return false;
		pl_span(&tp, q, p);
		q = p;
		p = skip_lws(p, e);
		if (i < 2) {
			if (p == e || *p++ != '/')
				return false;
			p = skip_lws(p, e);
		}
	}
	if (p == q || p == e)
		return false;     /* no LWS, or nothing, after the transport */

	/* sent-by = host [ COLON port ] */
	q = p;
	if (*p == '[') {
		c = memchr(p, ']', (size_t)(e - p));
		if (!c)
			return false;
		pl_span(&host, p + 1, c);
		p = c + 1;
	}
	else {
		while (p < e && !is_lws(*p) && *p != ':' && *p != ';' &&
		       *p != ',')
			p++;
		pl_span(&host, q, p);
	}
	if (!host.l)
		return false;

	c = skip_lws(p, e);
	if (c < e && *c == ':') {
		c = skip_lws(c + 1, e);
		port.p = c;
		while (c < e && isdigit((unsigned char)*c))
			c++;
		port.l = (size_t)(c - port.p);
		portnum = pl_u32(&port);
		if (!port.l || port.l > 5 || portnum > 65535)
			return false;
		p = c;
	}
	pl_span(&via->sentby, q, p);

	/* The parameters, as far as there are any; check.c judges them. */
	while (p < e && *p != ';')
		p++;
	pl_span(&via->params, p, e);
	{
		struct pl branch;

		if (!msg_param_decode(&via->params, "branch", &branch) &&
		    branch.l)
			via->branch = branch;
	}

	/* As libre's sip_via_decode names transports, so that a Via reads the
	 * same whichever of the two decoded it. */
	for (size_t i = 0; i < ARRAY_SIZE(tpname); i++) {
		if (!pl_strcmp(&tp, tpname[i]))
			via->tp = tpval[i];
	}

	/* A host name leaves the address unset but for the port, as libre's
	 * decoder does: sip_reply_addr() takes the source address and this
	 * port. */
	if (sa_set(&via->addr, &host, (uint16_t)portnum)) {
		sa_init(&via->addr, AF_INET);
		sa_set_port(&via->addr, (uint16_t)portnum);
	}

	via->val = *val;
	return true;
}

/* The first Via: libre's own decoder where it will, else ours. */
static void via_decode_first(struct sip_via *via, const struct pl *val)
{
	if (!sip_via_decode(via, val))
		return;
	if (!via_lenient(via, val))
		memset(via, 0, sizeof(*via));
}

/* name-addr or addr-spec, for a From or To whose URI libre's
 * sip_addr_decode cannot read: split as written, with the uri zeroed. */
static void taddr_lenient(struct sip_taddr *ta, const struct pl *val)
{
	const char *p = val->p, *e = val->p + val->l, *lt = NULL, *gt = NULL;

	memset(ta, 0, sizeof(*ta));

	for (const char *s = p; s < e && !lt; ) {
		if (*s == '"')
			s = skip_quoted(s, e);
		else if (*s == '<')
			lt = s;
		else
			s++;
	}
	if (lt)
		gt = memchr(lt, '>', (size_t)(e - lt));

	if (gt) {
		const char *dp = p, *de = lt;

		trim_lws(&dp, &de);
		if (de - dp >= 2 && *dp == '"' && de[-1] == '"') {
			dp++;
			de--;
		}
		if (de > dp)
			pl_span(&ta->dname, dp, de);

		dp = lt + 1;
		de = gt;
		trim_lws(&dp, &de);
		pl_span(&ta->auri, dp, de);

		pl_span(&ta->params, skip_lws(gt + 1, e), e);
	}
	else {
		/* addr-spec: its semicolons start the header's parameters
		 * (RFC 3261 section 20.10) */
		const char *semi = memchr(p, ';', (size_t)(e - p));
		const char *ae = semi ? semi : e;
		const char *ap = p;

		trim_lws(&ap, &ae);
		pl_span(&ta->auri, ap, ae);
		pl_span(&ta->params, semi ? semi : e, e);
	}
}

static void taddr_decode(struct sip_taddr *ta, const struct pl *val)
{
	struct sip_addr addr;

	if (!sip_addr_decode(&addr, val)) {
		memset(ta, 0, sizeof(*ta));
		ta->dname = addr.dname;
		ta->auri = addr.auri;
		ta->uri = addr.uri;
		ta->params = addr.params;
	}
	else {
		taddr_lenient(ta, val);
	}

	if (msg_param_decode(&ta->params, "tag", &ta->tag))
		ta->tag = pl_null;
	ta->val = *val;
}

static void take_pl(bool *seen, struct pl *dst, const struct pl *val)
{
	if (!*seen) {
		*seen = true;
		*dst = *val;
	}
}

/* Fill the message's own fields from the first header of each kind; a
 * value that does not decode leaves its field empty for check.c. */
static void take_first(struct sip_msg *msg, struct seen *seen,
		       enum sip_hdrid id, const struct pl *val)
{
	switch (id) {

	case SIP_HDR_VIA:
		if (!seen->via) {
			seen->via = true;
			via_decode_first(&msg->via, val);
		}
		break;

	case SIP_HDR_FROM:
		if (!seen->from) {
			seen->from = true;
			taddr_decode(&msg->from, val);
		}
		break;

	case SIP_HDR_TO:
		if (!seen->to) {
			seen->to = true;
			taddr_decode(&msg->to, val);
		}
		break;

	case SIP_HDR_CSEQ:
		if (!seen->cseq) {
			seen->cseq = true;
			if (sip_cseq_decode(&msg->cseq, val))
				memset(&msg->cseq, 0, sizeof(msg->cseq));
		}
		break;

	case SIP_HDR_CONTENT_TYPE:
		if (!seen->ctyp) {
			seen->ctyp = true;
			if (msg_ctype_decode(&msg->ctyp, val))
				memset(&msg->ctyp, 0, sizeof(msg->ctyp));
		}
		break;

	case SIP_HDR_CALL_ID:
		take_pl(&seen->callid, &msg->callid, val);
		break;

	case SIP_HDR_MAX_FORWARDS:
		take_pl(&seen->maxfwd, &msg->maxfwd, val);
		break;

	case SIP_HDR_EXPIRES:
		take_pl(&seen->expires, &msg->expires, val);
		break;

	case SIP_HDR_CONTENT_LENGTH:
		take_pl(&seen->clen, &msg->clen, val);
		break;

	default:
		break;
	}
}

/* The end of the list element that starts at s: the next comma outside
 * quoted strings and angle brackets (a URI may hold commas), or e. */
static const char *element_end(const char *s, const char *e)
{
	while (s < e && *s != ',') {
		if (*s == '"') {
			s = skip_quoted(s, e);
		}
		else if (*s == '<') {
			const char *gt = memchr(s, '>', (size_t)(e - s));
			s = gt ? gt + 1 : e;
		}
		else {
			s++;
		}
	}
	return s;
}

/* A header (or list element) into the list and/or the hash table; the
 * containers hold a reference each. */
static int hdr_add(struct sip_msg *msg, struct seen *seen,
		   const struct pl *name, enum sip_hdrid id, const char *vp,
		   const char *ve, bool in_list, bool in_hash)
{
	struct sip_hdr *hdr = mem_zalloc(sizeof(*hdr), hdr_destructor);

	if (!hdr)
		return ENOMEM;

	hdr->name = *name;
	pl_span(&hdr->val, vp, ve);
	hdr->id = id;

	if (in_list)
		list_append(&msg->hdrl, &hdr->le, mem_ref(hdr));
	if (in_hash) {
		hash_append(msg->hdrht, file_key(id, name->p, name->l),
			    &hdr->he, mem_ref(hdr));
		take_first(msg, seen, id, &hdr->val);
	}

	mem_deref(hdr);
	return 0;
}

/* One header row (its continuation rows included): name, colon, value. */
static int row_add(struct sip_msg *msg, struct seen *seen, const char *p,
		   const char *e)
{
	const char *vp, *ve, *s;
	enum sip_hdrid id;
	struct pl name;
	bool per_element;
	int err;

	/* The name is what precedes the colon, less the white space HCOLON
	 * allows (folded here too).  A name with white space inside is let
	 * pass as an unknown header: the message can still be answered. */
	vp = memchr(p, ':', (size_t)(e - p));
	if (!vp)
		return EBADMSG;
	ve = vp;
	trim_lws(&p, &ve);
	if (ve == p)
		return EBADMSG;
	pl_span(&name, p, ve);

	++vp;
	ve = e;
	trim_lws(&vp, &ve);

	id = name_id(name.p, name.l);

	/* A single value, listed and looked up as one: most rows. */
	if (!is_list(id) || element_end(vp, ve) == ve)
		return hdr_add(msg, seen, &name, id, vp, ve, true, true);

	per_element = listed_per_element(id);
	if (!per_element) {
		err = hdr_add(msg, seen, &name, id, vp, ve, true, false);
		if (err)
			return err;
	}

	/* Empty elements are kept, for check.c to judge. */
	for (s = vp;; s++) {
		const char *ep = s, *ee = element_end(s, ve);

		s = ee;
		trim_lws(&ep, &ee);
		err = hdr_add(msg, seen, &name, id, ep, ee, per_element,
			      true);
		if (err || s == ve)
			return err;
	}
}


/* ------------------------------------------------------ the start line */

/* Status-Line: SIP-Version SP Status-Code SP Reason-Phrase; the reason
 * may be empty, even without its SP.  A code other than three digits from
 * 100 to 699 is one no element can act on, and RFC 4475 (bigcode.dat)
 * has such a response dropped.  Failing here would make libre
 * close a TCP connection over it, so it decodes with scode 0 instead, and
 * sip_msg_decode leaves its Via unread: no client transaction takes it. */
static int status_line(struct sip_msg *msg, const char *p, const char *e)
{
	const char *q = p;

	while (q < e && *q != ' ')
		q++;
	pl_span(&msg->ver, p, q);
	if (q == e)
		return EBADMSG;
	p = ++q;

	while (q < e && isdigit((unsigned char)*q))
		q++;
	if (q == p || (q < e && *q != ' '))
		return EBADMSG;

	if (q - p == 3 && *p >= '1' && *p <= '6')
		msg->scode = (uint16_t)((p[0] - '0') * 100 +
					(p[1] - '0') * 10 + (p[2] - '0'));

	pl_span(&msg->reason, q < e ? q + 1 : e, e);
	msg->req = false;
	return 0;
}

/* Request-Line, split leniently (see the head of the file): check.c holds
 * it to the grammar and answers 400/505/416. */
static int request_line(struct sip_msg *msg, const char *p, const char *e)
{
	const char *q = p, *v;

	while (e > p && is_wsp(e[-1]))
		e--;

	while (q < e && !is_wsp(*q))
		q++;
	if (q == p || q == e)
		return EBADMSG;
	pl_span(&msg->met, p, q);

	v = e;
	while (v > q && !is_wsp(v[-1]))
		v--;
	pl_span(&msg->ver, v, e);

	while (q < v && is_wsp(*q))
		q++;
	while (v > q && is_wsp(v[-1]))
		v--;
	if (v == q)
		return EBADMSG;
	pl_span(&msg->ruri, q, v);

	if (uri_decode(&msg->uri, &msg->ruri))
		memset(&msg->uri, 0, sizeof(msg->uri));

	msg->req = true;
	return 0;
}

static int start_line(struct sip_msg *msg, const char *p, const char *e)
{
	/* A method is a token and never holds a '/', so this is a response;
	 * the version is case-insensitive (RFC 3261 section 7.1). */
	if (e - p >= 4 && !strncasecmp(p, "SIP/", 4))
		return status_line(msg, p, e);

	return request_line(msg, p, e);
}


/* ------------------------------------------------------------ framing */

/* The end of the row that starts at p, before its CR LF (or bare LF);
 * *next is where the following row starts.  NULL if the row has no end
 * yet (and *next is e). */
static const char *row_end(const char *p, const char *e, const char **next)
{
	const char *lf = memchr(p, '\n', (size_t)(e - p));

	if (!lf) {
		*next = e;
		return NULL;
	}
	*next = lf + 1;
	return lf > p && lf[-1] == '\r' ? lf - 1 : lf;
}

/** Decode the SIP message at mb's position: 0, ENODATA while its header
 * section is incomplete, EBADMSG if it cannot be framed. */
int sip_msg_decode(struct sip_msg **msgp, struct mbuf *mb)
{
	const char *buf, *p, *e, *sl, *sle, *hdrs, *body = NULL;
	struct seen seen;
	struct sip_msg *msg;
	int err;

	if (!msgp || !mb)
		return EINVAL;

	/* A datagram arrives in a receive buffer of 8 KiB that a server
	 * transaction keeps for up to 32 s.  Thousands of those, freed out of
	 * order, leave the heap full of holes (bench/soak); keep only what
	 * the message needs.  Shrinking never moves what the caller relies
	 * on: pos and end stay, and a TCP buffer grows again on demand. */
	if (mb->size > mb->end + SHRINK_SLACK)
		(void)mbuf_resize(mb, mb->end);

	buf = (const char *)mbuf_buf(mb);
	p = buf;
	e = buf + mbuf_get_left(mb);

	/* CRLFs before the start line are ignored (RFC 3261 section 7.5) */
	while (p < e && (*p == '\r' || *p == '\n'))
		p++;

	sl = p;
	sle = row_end(sl, e, &hdrs);
	if (!sle)
		return ENODATA;

	msg = mem_zalloc(sizeof(*msg), msg_destructor);
	if (!msg)
		return ENOMEM;

	/* A start line that is none fails at once: a stream of junk is not
	 * waited on for an end that will not help. */
	err = start_line(msg, sl, sle);
	if (err)
		goto out;

	/* Frame next: the header section ends at the first empty row. */
	for (p = hdrs; p < e; ) {
		const char *next, *re = row_end(p, e, &next);

		if (!re)
			break;
		if (re == p) {
			body = next;
			break;
		}
		p = next;
	}
	if (!body) {
		err = ENODATA;
		goto out;
	}

	err = hash_alloc(&msg->hdrht, HDR_BUCKETS);
	if (err)
		goto out;

	memset(&seen, 0, sizeof(seen));
	seen.via = !msg->req && !msg->scode;   /* see status_line() */

	for (p = hdrs; ; ) {
		const char *next, *re = row_end(p, e, &next);

		if (re == p)
			break;   /* the empty row: framing found it above */

		/* a row starting with SP or HTAB continues the previous one,
		 * and there is none before the first */
		if (is_wsp(*p)) {
			err = EBADMSG;
			goto out;
		}
		while (next < body && is_wsp(*next)) {
			const char *n2;

			re = row_end(next, e, &n2);
			next = n2;
		}

		err = row_add(msg, &seen, p, re);
		if (err)
			goto out;
		p = next;
	}

	msg->mb = mem_ref(mb);
	msg->tag = rand_u64();
	mb->pos += (size_t)(body - buf);

 out:
	if (err)
		mem_deref(msg);
	else
		*msgp = msg;

	return err;
}


/* ------------------------------------------------------------- lookups */

/* Which headers a lookup wants: an id, or (SIP_HDR_NONE) a name. */
struct want {
	enum sip_hdrid id;
	struct pl name;
	uint32_t key;
};

static void want_id(struct want *w, enum sip_hdrid id)
{
	w->id = id;
	w->name = pl_null;
	w->key = (uint32_t)id;
}

static void want_name(struct want *w, const char *name)
{
	pl_set_str(&w->name, name);
	w->id = name_id(w->name.p, w->name.l);
	w->key = file_key(w->id, w->name.p, w->name.l);
}

static bool wanted(const struct want *w, const struct sip_hdr *hdr)
{
	if (w->id != SIP_HDR_NONE)
		return hdr->id == w->id;
	return hdr->id == SIP_HDR_NONE && !pl_casecmp(&hdr->name, &w->name);
}

/* The headers wanted in message order (or reverse), to the first that h
 * takes (or the first at all without h). */
static const struct sip_hdr *walk(const struct sip_msg *msg, bool fwd,
				  const struct want *w, sip_hdr_h *h,
				  void *arg)
{
	struct list *bucket;
	struct le *le;

	if (!msg || !msg->hdrht)
		return NULL;
	if (w->id == SIP_HDR_NONE && !pl_isset(&w->name))
		return NULL;

	bucket = hash_list(msg->hdrht, w->key);
	le = fwd ? list_head(bucket) : list_tail(bucket);

	while (le) {
		const struct sip_hdr *hdr = le->data;

		le = fwd ? le->next : le->prev;
		if (!wanted(w, hdr))
			continue;
		if (!h || h(hdr, msg, arg))
			return hdr;
	}

	return NULL;
}

/** The first header with this id, or NULL. */
const struct sip_hdr *sip_msg_hdr(const struct sip_msg *msg, enum sip_hdrid id)
{
	return sip_msg_hdr_apply(msg, true, id, NULL, NULL);
}

/** Visit the headers with this id, forward or back; the one h stopped at. */
const struct sip_hdr *sip_msg_hdr_apply(const struct sip_msg *msg,
					bool fwd, enum sip_hdrid id,
					sip_hdr_h *h, void *arg)
{
	struct want w;

	if (id == SIP_HDR_NONE)
		return NULL;
	want_id(&w, id);
	return walk(msg, fwd, &w, h, arg);
}

/** The first header of this name (any case, compact forms too), or NULL. */
const struct sip_hdr *sip_msg_xhdr(const struct sip_msg *msg, const char *name)
{
	return sip_msg_xhdr_apply(msg, true, name, NULL, NULL);
}

/** Visit the headers of this name, forward or back; the one h stopped at. */
const struct sip_hdr *sip_msg_xhdr_apply(const struct sip_msg *msg,
					 bool fwd, const char *name,
					 sip_hdr_h *h, void *arg)
{
	struct want w;

	if (!name)
		return NULL;
	want_name(&w, name);
	return walk(msg, fwd, &w, h, arg);
}

static bool count_one(const struct sip_hdr *hdr, const struct sip_msg *msg,
		      void *arg)
{
	uint32_t *n = arg;
	(void)hdr;
	(void)msg;

	++*n;
	return false;
}

/** How many headers (list elements each) carry this id. */
uint32_t sip_msg_hdr_count(const struct sip_msg *msg, enum sip_hdrid id)
{
	uint32_t n = 0;

	(void)sip_msg_hdr_apply(msg, true, id, count_one, &n);
	return n;
}

/** How many headers (list elements each) carry this name. */
uint32_t sip_msg_xhdr_count(const struct sip_msg *msg, const char *name)
{
	uint32_t n = 0;

	(void)sip_msg_xhdr_apply(msg, true, name, count_one, &n);
	return n;
}

static bool value_is(const struct sip_hdr *hdr, const struct sip_msg *msg,
		     void *arg)
{
	(void)msg;
	return !pl_strcasecmp(&hdr->val, arg);
}

/** True if a header (list element) with this id has this value, any case. */
bool sip_msg_hdr_has_value(const struct sip_msg *msg, enum sip_hdrid id,
			   const char *value)
{
	if (!value)
		return false;
	return sip_msg_hdr_apply(msg, true, id, value_is,
				 (void *)value) != NULL;
}

/** True if a header (list element) of this name has this value, any case. */
bool sip_msg_xhdr_has_value(const struct sip_msg *msg, const char *name,
			    const char *value)
{
	if (!value)
		return false;
	return sip_msg_xhdr_apply(msg, true, name, value_is,
				  (void *)value) != NULL;
}

/** Print the message's start line and header rows to stdout. */
void sip_msg_dump(const struct sip_msg *msg)
{
	if (!msg)
		return;

	if (msg->req)
		(void)re_printf("%r %r %r\n", &msg->met, &msg->ruri,
				&msg->ver);
	else
		(void)re_printf("%r %u %r\n", &msg->ver, msg->scode,
				&msg->reason);

	for (struct le *le = msg->hdrl.head; le; le = le->next) {
		const struct sip_hdr *hdr = le->data;

		(void)re_printf("  %r: %r (%d)\n", &hdr->name, &hdr->val,
				hdr->id);
	}
	(void)re_printf("  body: %zu bytes\n", mbuf_get_left(msg->mb));
}
