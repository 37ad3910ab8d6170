/* Unit tests for src/sip/decode.c, laoyou's SIP message decoder. */
#include <re.h>
#include "unit.h"

/* The text in a fresh buffer, decoded; the caller derefs both. */
static int decode(const char *text, struct sip_msg **msgp, struct mbuf **mbp)
{
	struct mbuf *mb = mbuf_alloc(strlen(text) + 1);

	*msgp = NULL;
	*mbp = mb;
	if (!mb)
		return ENOMEM;
	(void)mbuf_write_str(mb, text);
	mb->pos = 0;
	return sip_msg_decode(msgp, mb);
}

static bool pl_is(const struct pl *pl, const char *s)
{
	return pl->p && !pl_strcmp(pl, s);
}

static uint32_t list_rows(const struct sip_msg *msg)
{
	return list_count(&msg->hdrl);
}

#define HDRS "Via: SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKa1;rport\r\n" \
	"From: \"Alice\" <sip:alice@example.com>;tag=f1\r\n" \
	"To: <sip:bob@example.com>\r\n" \
	"Call-ID: c1@example.com\r\n"

static void request(void)
{
	const char *text =
		"INVITE sip:bob@example.com;transport=udp SIP/2.0\r\n" HDRS
		"CSeq: 7 INVITE\r\nMax-Forwards: 70\r\nExpires: 30\r\n"
		"Content-Length: 0\r\n\r\n";
	struct sip_msg *msg;
	struct mbuf *mb;

	CHECK_EQ(decode(text, &msg, &mb), 0);
	if (!msg)
		goto out;
	CHECK(msg->req);
	CHECK(msg->mb == mb);
	CHECK_EQ(mb->pos, strlen(text));
	CHECK(pl_is(&msg->met, "INVITE"));
	CHECK(pl_is(&msg->ruri, "sip:bob@example.com;transport=udp"));
	CHECK(pl_is(&msg->ver, "SIP/2.0"));
	CHECK(pl_is(&msg->uri.scheme, "sip"));
	CHECK(pl_is(&msg->uri.user, "bob"));
	CHECK(pl_is(&msg->uri.host, "example.com"));
	CHECK(pl_is(&msg->uri.params, ";transport=udp"));

	CHECK(pl_is(&msg->via.sentby, "192.0.2.1:5062"));
	CHECK(pl_is(&msg->via.branch, "z9hG4bKa1"));
	CHECK(pl_is(&msg->via.params, ";branch=z9hG4bKa1;rport"));
	CHECK_EQ(msg->via.tp, SIP_TRANSP_UDP);
	CHECK_EQ(sa_port(&msg->via.addr), 5062);
	CHECK(pl_is(&msg->via.val,
		    "SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKa1;rport"));

	CHECK(pl_is(&msg->from.dname, "Alice"));
	CHECK(pl_is(&msg->from.auri, "sip:alice@example.com"));
	CHECK(pl_is(&msg->from.uri.user, "alice"));
	CHECK(pl_is(&msg->from.tag, "f1"));
	CHECK(pl_is(&msg->from.val,
		    "\"Alice\" <sip:alice@example.com>;tag=f1"));
	CHECK(pl_is(&msg->to.auri, "sip:bob@example.com"));
	CHECK(!pl_isset(&msg->to.tag));

	CHECK(pl_is(&msg->cseq.met, "INVITE"));
	CHECK_EQ(msg->cseq.num, 7);
	CHECK(pl_is(&msg->callid, "c1@example.com"));
	CHECK(pl_is(&msg->maxfwd, "70"));
	CHECK(pl_is(&msg->expires, "30"));
	CHECK(pl_is(&msg->clen, "0"));
	CHECK(!pl_isset(&msg->ctyp.type));

	CHECK_EQ(list_rows(msg), 8);
	CHECK(sip_msg_hdr(msg, SIP_HDR_CSEQ) != NULL);
	CHECK(pl_is(&sip_msg_hdr(msg, SIP_HDR_CSEQ)->name, "CSeq"));
	CHECK(sip_msg_xhdr(msg, "call-id") ==
	      sip_msg_hdr(msg, SIP_HDR_CALL_ID));
	CHECK(sip_msg_hdr(msg, SIP_HDR_CONTACT) == NULL);
	CHECK(sip_msg_hdr(msg, SIP_HDR_NONE) == NULL);
	CHECK(sip_msg_xhdr(msg, "X-Absent") == NULL);
	CHECK_EQ(sip_msg_hdr_count(msg, SIP_HDR_TO), 1);
 out:
	mem_deref(msg);
	mem_deref(mb);
}

static void response(void)
{
	const char *ok = "SIP/2.0 486 Busy Here\r\n" HDRS
		"CSeq: 7 INVITE\r\n\r\n";
	const char *bare = "SIP/2.0 100\r\n" HDRS "CSeq: 7 INVITE\r\n\r\n";
	const char *huge = "SIP/2.0 4294967301 better not break\r\n" HDRS
		"CSeq: 7 INVITE\r\n\r\n";
	struct sip_msg *msg;
	struct mbuf *mb;

	CHECK_EQ(decode(ok, &msg, &mb), 0);
	if (msg) {
		CHECK(!msg->req);
		CHECK_EQ(msg->scode, 486);
		CHECK(pl_is(&msg->reason, "Busy Here"));
		CHECK(pl_is(&msg->ver, "SIP/2.0"));
		CHECK(!pl_isset(&msg->met));
		CHECK(pl_is(&msg->via.branch, "z9hG4bKa1"));
		CHECK(pl_is(&msg->cseq.met, "INVITE"));
	}
	mem_deref(msg);
	mem_deref(mb);

	/* no reason phrase at all */
	CHECK_EQ(decode(bare, &msg, &mb), 0);
	if (msg) {
		CHECK_EQ(msg->scode, 100);
		CHECK(!pl_isset(&msg->reason));
	}
	mem_deref(msg);
	mem_deref(mb);

	/* a code no element can act on: framed, but no transaction takes
	 * it (no Via read) */
	CHECK_EQ(decode(huge, &msg, &mb), 0);
	if (msg) {
		CHECK(!msg->req);
		CHECK_EQ(msg->scode, 0);
		CHECK(!pl_isset(&msg->via.branch));
		CHECK(!pl_isset(&msg->via.sentby));
		CHECK_EQ(sip_msg_hdr_count(msg, SIP_HDR_VIA), 1);
	}
	mem_deref(msg);
	mem_deref(mb);
}

static void folded_headers(void)
{
	const char *text = "OPTIONS sip:bob@example.com SIP/2.0\r\n" HDRS
		"CSeq: 1 OPTIONS\r\n"
		"Subject: I know you're there,\r\n pick up the phone\r\n"
		"\tand talk to me!  \r\n"
		"X-Spaced   :   value  \r\n"
		"Organization\r\n : folded before the colon\r\n"
		"Max-Forwards:\r\n   69\r\n\r\n";
	struct sip_msg *msg;
	struct mbuf *mb;
	const struct sip_hdr *h;

	CHECK_EQ(decode(text, &msg, &mb), 0);
	if (!msg)
		goto out;
	h = sip_msg_hdr(msg, SIP_HDR_SUBJECT);
	CHECK(h && pl_is(&h->val, "I know you're there,\r\n pick up the "
			 "phone\r\n\tand talk to me!"));
	h = sip_msg_xhdr(msg, "x-spaced");
	CHECK(h && pl_is(&h->val, "value") && pl_is(&h->name, "X-Spaced"));
	h = sip_msg_hdr(msg, SIP_HDR_ORGANIZATION);
	CHECK(h && pl_is(&h->val, "folded before the colon"));
	CHECK(pl_is(&msg->maxfwd, "69"));
	CHECK_EQ(mb->pos, strlen(text));
 out:
	mem_deref(msg);
	mem_deref(mb);
}

static void compact_forms(void)
{
	const char *text = "OPTIONS sip:bob@example.com SIP/2.0\r\n"
		"v: SIP/2.0/TCP client.example.com;branch=z9hG4bKc\r\n"
		"f: <sip:alice@example.com>;tag=f2\r\n"
		"t: <sip:bob@example.com>\r\n"
		"i: c2\r\n"
		"CSeq: 1 OPTIONS\r\n"
		"m: <sip:alice@192.0.2.5>\r\n"
		"c: application/sdp\r\n"
		"k: timer\r\n"
		"l: 3\r\n\r\nabc";
	struct sip_msg *msg;
	struct mbuf *mb;
	const struct sip_hdr *h;

	CHECK_EQ(decode(text, &msg, &mb), 0);
	if (!msg)
		goto out;
	h = sip_msg_hdr(msg, SIP_HDR_VIA);
	CHECK(h && pl_is(&h->name, "v") && h->id == SIP_HDR_VIA);
	CHECK(sip_msg_xhdr(msg, "Via") == h);
	CHECK(sip_msg_xhdr(msg, "V") == h);
	CHECK_EQ(msg->via.tp, SIP_TRANSP_TCP);
	CHECK(pl_is(&msg->via.branch, "z9hG4bKc"));
	CHECK(pl_is(&msg->from.tag, "f2"));
	CHECK(pl_is(&msg->to.auri, "sip:bob@example.com"));
	CHECK(pl_is(&msg->callid, "c2"));
	CHECK(sip_msg_hdr(msg, SIP_HDR_CONTACT) != NULL);
	CHECK(msg_ctype_cmp(&msg->ctyp, "application", "sdp"));
	CHECK(sip_msg_hdr_has_value(msg, SIP_HDR_SUPPORTED, "TIMER"));
	CHECK(pl_is(&msg->clen, "3"));
	CHECK_EQ(mbuf_get_left(mb), 3);
 out:
	mem_deref(msg);
	mem_deref(mb);
}

static void branchless_via(void)
{
	/* RFC 2543 style (RFC 4475 3.3.2) and another SIP version: both are
	 * read, for check.c to answer */
	const char *text = "OPTIONS sip:bob@example.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 192.0.2.9:5070\r\n"
		"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKdown\r\n"
		"From: <sip:alice@example.com>;tag=f3\r\n"
		"To: <sip:bob@example.com>\r\nCall-ID: c3\r\n"
		"CSeq: 1 OPTIONS\r\n\r\n";
	const char *v7 = "OPTIONS sip:bob@example.com SIP/7.0\r\n"
		"Via: SIP/7.0/UDP c.example.com;branch=z9hG4bKv7\r\n"
		"CSeq: 1 OPTIONS\r\n\r\n";
	const char *junk = "OPTIONS sip:bob@example.com SIP/2.0\r\n"
		"Via: no via at all\r\nCSeq: 1 OPTIONS\r\n\r\n";
	struct sip_msg *msg;
	struct mbuf *mb;

	CHECK_EQ(decode(text, &msg, &mb), 0);
	if (msg) {
		CHECK(pl_is(&msg->via.sentby, "192.0.2.9:5070"));
		CHECK(!pl_isset(&msg->via.branch));
		CHECK_EQ(msg->via.tp, SIP_TRANSP_UDP);
		CHECK_EQ(sa_port(&msg->via.addr), 5070);
		CHECK(pl_is(&msg->via.val, "SIP/2.0/UDP 192.0.2.9:5070"));
		CHECK_EQ(sip_msg_hdr_count(msg, SIP_HDR_VIA), 2);
	}
	mem_deref(msg);
	mem_deref(mb);

	CHECK_EQ(decode(v7, &msg, &mb), 0);
	if (msg) {
		CHECK(pl_is(&msg->ver, "SIP/7.0"));
		CHECK(pl_is(&msg->via.sentby, "c.example.com"));
		CHECK(pl_is(&msg->via.branch, "z9hG4bKv7"));
	}
	mem_deref(msg);
	mem_deref(mb);

	/* not a Via: nothing to address a reply to, check.c drops it */
	CHECK_EQ(decode(junk, &msg, &mb), 0);
	if (msg)
		CHECK(!pl_isset(&msg->via.sentby));
	mem_deref(msg);
	mem_deref(mb);
}

static void bad_start_lines(void)
{
	static const char *const bad[] = {
		" OPTIONS sip:bob@example.com SIP/2.0\r\n\r\n",
		"OPTIONS\r\n\r\n",
		"OPTIONS sip:bob@example.com\r\n\r\n",
		"SIP/2.0 abc Not A Code\r\n\r\n",
		"SIP/2.0\t200\tOK\r\n\r\n",
		"SIP/2.0\r\n\r\n",
		"OPTIONS sip:bob@example.com SIP/2.0\r\n  X-Fold: 1\r\n\r\n",
		"OPTIONS sip:bob@example.com SIP/2.0\r\nNo colon\r\n\r\n",
		"OPTIONS sip:bob@example.com SIP/2.0\r\n: empty name\r\n\r\n",
	};
	struct sip_msg *msg;
	struct mbuf *mb;

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		int err = decode(bad[i], &msg, &mb);

		if (err != EBADMSG) {
			fprintf(stderr, "  bad[%zu]: err %d\n", i, err);
			unit_failed_checks++;
		}
		CHECK(msg == NULL);
		CHECK_EQ(mb->pos, 0);
		mem_deref(msg);
		mem_deref(mb);
	}

	/* the header section has not ended: wait, and leave the buffer */
	CHECK_EQ(decode("OPTIONS sip:bob@example.com SIP/2.0\r\nVia: x\r\n",
			&msg, &mb), ENODATA);
	CHECK(msg == NULL);
	CHECK_EQ(mb->pos, 0);
	mem_deref(mb);
	CHECK_EQ(decode("OPTIONS sip:bob@example.com SIP/2.0", &msg, &mb),
		 ENODATA);
	mem_deref(mb);

	/* lenient: the checks, not the decoder, answer these (RFC 4475) */
	CHECK_EQ(decode("INVITE  sip:bob@example.com  SIP/2.0  \r\n\r\n", &msg,
			&mb), 0);
	if (msg) {
		CHECK(pl_is(&msg->met, "INVITE"));
		CHECK(pl_is(&msg->ruri, "sip:bob@example.com"));
		CHECK(pl_is(&msg->ver, "SIP/2.0"));
	}
	mem_deref(msg);
	mem_deref(mb);

	CHECK_EQ(decode("INVITE sip:bob@example.com; lr SIP/2.0\r\n\r\n",
			&msg, &mb), 0);
	if (msg)
		CHECK(pl_is(&msg->ruri, "sip:bob@example.com; lr"));
	mem_deref(msg);
	mem_deref(mb);

	/* a Request-URI that does not decode leaves msg->uri zeroed */
	CHECK_EQ(decode("OPTIONS nocolon SIP/2.0\r\n\r\n", &msg, &mb), 0);
	if (msg) {
		CHECK(pl_is(&msg->ruri, "nocolon"));
		CHECK(!msg->uri.scheme.p && !msg->uri.host.p);
	}
	mem_deref(msg);
	mem_deref(mb);
}

static void body_with_content_length(void)
{
	const char *sdp = "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\n";
	char text[512];
	struct sip_msg *msg;
	struct mbuf *mb;

	/* CRLFs before the start line are ignored (RFC 3261 7.5) */
	re_snprintf(text, sizeof(text), "\r\n\r\nINVITE sip:bob@example.com "
		    "SIP/2.0\r\n" HDRS "CSeq: 1 INVITE\r\n"
		    "Content-Type: application/sdp;charset=utf-8\r\n"
		    "Content-Length: %zu\r\n\r\n%s", strlen(sdp), sdp);

	CHECK_EQ(decode(text, &msg, &mb), 0);
	if (!msg)
		goto out;
	CHECK(pl_is(&msg->met, "INVITE"));
	CHECK_EQ(pl_u32(&msg->clen), strlen(sdp));
	CHECK_EQ(mbuf_get_left(msg->mb), strlen(sdp));
	CHECK(!memcmp(mbuf_buf(msg->mb), sdp, strlen(sdp)));
	CHECK(msg_ctype_cmp(&msg->ctyp, "application", "sdp"));
	CHECK(pl_is(&msg->ctyp.params, ";charset=utf-8"));
 out:
	mem_deref(msg);
	mem_deref(mb);

	/* bare LF line ends are read too */
	CHECK_EQ(decode("MESSAGE sip:bob@example.com SIP/2.0\nCSeq: 2 MESSAGE"
			"\nContent-Length: 2\n\nhi", &msg, &mb), 0);
	if (msg) {
		CHECK(pl_is(&msg->cseq.met, "MESSAGE"));
		CHECK_EQ(mbuf_get_left(msg->mb), 2);
	}
	mem_deref(msg);
	mem_deref(mb);
}

static bool collect(const struct sip_hdr *hdr, const struct sip_msg *msg,
		    void *arg)
{
	char *out = arg;
	(void)msg;

	re_snprintf(out + strlen(out), 256 - strlen(out), "[%r]", &hdr->val);
	return false;
}

static void list_headers(void)
{
	const char *text = "REGISTER sip:example.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1, "
		"SIP/2.0/UDP b.example.com;branch=z9hG4bK2\r\n"
		"Contact: \"Bell, Alexander\" <sip:a,b@example.com>;q=0.5, "
		"<sip:c@example.com>\r\n"
		"Require: foo,bar\r\n"
		"Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n"
		"Route: <sip:p1.example.com;lr>,<sip:p2.example.com;lr>\r\n"
		"\r\n";
	struct sip_msg *msg;
	struct mbuf *mb;
	char seen[256] = "";

	CHECK_EQ(decode(text, &msg, &mb), 0);
	if (!msg)
		goto out;

	/* Via and Route are listed per element (libre's replies add
	 * received/rport to the first Via only); others as written */
	CHECK_EQ(list_rows(msg), 2 + 1 + 1 + 1 + 2);
	CHECK(pl_is(&msg->via.sentby, "a.example.com"));

	CHECK_EQ(sip_msg_hdr_count(msg, SIP_HDR_VIA), 2);
	CHECK_EQ(sip_msg_hdr_count(msg, SIP_HDR_CONTACT), 2);
	CHECK_EQ(sip_msg_hdr_count(msg, SIP_HDR_REQUIRE), 2);
	CHECK_EQ(sip_msg_hdr_count(msg, SIP_HDR_DATE), 1);
	CHECK_EQ(sip_msg_xhdr_count(msg, "ROUTE"), 2);

	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT, collect, seen);
	CHECK_STR(seen, "[\"Bell, Alexander\" <sip:a,b@example.com>;q=0.5]"
		  "[<sip:c@example.com>]");
	seen[0] = '\0';
	(void)sip_msg_hdr_apply(msg, false, SIP_HDR_ROUTE, collect, seen);
	CHECK_STR(seen, "[<sip:p2.example.com;lr>][<sip:p1.example.com;lr>]");

	CHECK(sip_msg_hdr_has_value(msg, SIP_HDR_REQUIRE, "bar"));
	CHECK(sip_msg_xhdr_has_value(msg, "require", "FOO"));
	CHECK(!sip_msg_hdr_has_value(msg, SIP_HDR_REQUIRE, "foo,bar"));
	CHECK(sip_msg_hdr_has_value(msg, SIP_HDR_DATE,
				    "Sat, 13 Nov 2010 23:29:00 GMT"));
 out:
	mem_deref(msg);
	mem_deref(mb);
}

/* Every name re_sip.h numbers finds its header, and a name that only
 * hashes alike does not. */
static void header_ids(void)
{
	static const struct { enum sip_hdrid id; const char *name; } known[] = {
		{SIP_HDR_ACCEPT, "Accept"},
		{SIP_HDR_ACCEPT_CONTACT, "Accept-Contact"},
		{SIP_HDR_ACCEPT_ENCODING, "Accept-Encoding"},
		{SIP_HDR_ACCEPT_LANGUAGE, "Accept-Language"},
		{SIP_HDR_ACCEPT_RESOURCE_PRIORITY, "Accept-Resource-Priority"},
		{SIP_HDR_ALERT_INFO, "Alert-Info"},
		{SIP_HDR_ALLOW, "Allow"},
		{SIP_HDR_ALLOW_EVENTS, "Allow-Events"},
		{SIP_HDR_ANSWER_MODE, "Answer-Mode"},
		{SIP_HDR_AUTHENTICATION_INFO, "Authentication-Info"},
		{SIP_HDR_AUTHORIZATION, "Authorization"},
		{SIP_HDR_CALL_ID, "Call-ID"},
		{SIP_HDR_CALL_INFO, "Call-Info"},
		{SIP_HDR_CONTACT, "Contact"},
		{SIP_HDR_CONTENT_DISPOSITION, "Content-Disposition"},
		{SIP_HDR_CONTENT_ENCODING, "Content-Encoding"},
		{SIP_HDR_CONTENT_LANGUAGE, "Content-Language"},
		{SIP_HDR_CONTENT_LENGTH, "Content-Length"},
		{SIP_HDR_CONTENT_TYPE, "Content-Type"},
		{SIP_HDR_CSEQ, "CSeq"},
		{SIP_HDR_DATE, "Date"},
		{SIP_HDR_ENCRYPTION, "Encryption"},
		{SIP_HDR_ERROR_INFO, "Error-Info"},
		{SIP_HDR_EVENT, "Event"},
		{SIP_HDR_EXPIRES, "Expires"},
		{SIP_HDR_FLOW_TIMER, "Flow-Timer"},
		{SIP_HDR_FROM, "From"},
		{SIP_HDR_HIDE, "Hide"},
		{SIP_HDR_HISTORY_INFO, "History-Info"},
		{SIP_HDR_IDENTITY, "Identity"},
		{SIP_HDR_IDENTITY_INFO, "Identity-Info"},
		{SIP_HDR_IN_REPLY_TO, "In-Reply-To"},
		{SIP_HDR_JOIN, "Join"},
		{SIP_HDR_MAX_BREADTH, "Max-Breadth"},
		{SIP_HDR_MAX_FORWARDS, "Max-Forwards"},
		{SIP_HDR_MIME_VERSION, "MIME-Version"},
		{SIP_HDR_MIN_EXPIRES, "Min-Expires"},
		{SIP_HDR_MIN_SE, "Min-SE"},
		{SIP_HDR_ORGANIZATION, "Organization"},
		{SIP_HDR_P_ACCESS_NETWORK_INFO, "P-Access-Network-Info"},
		{SIP_HDR_P_ANSWER_STATE, "P-Answer-State"},
		{SIP_HDR_P_ASSERTED_IDENTITY, "P-Asserted-Identity"},
		{SIP_HDR_P_ASSOCIATED_URI, "P-Associated-URI"},
		{SIP_HDR_P_CALLED_PARTY_ID, "P-Called-Party-ID"},
		{SIP_HDR_P_CHARGING_FUNCTION_ADDRESSES,
		 "P-Charging-Function-Addresses"},
		{SIP_HDR_P_CHARGING_VECTOR, "P-Charging-Vector"},
		{SIP_HDR_P_DCS_TRACE_PARTY_ID, "P-DCS-Trace-Party-ID"},
		{SIP_HDR_P_DCS_OSPS, "P-DCS-OSPS"},
		{SIP_HDR_P_DCS_BILLING_INFO, "P-DCS-Billing-Info"},
		{SIP_HDR_P_DCS_LAES, "P-DCS-LAES"},
		{SIP_HDR_P_DCS_REDIRECT, "P-DCS-Redirect"},
		{SIP_HDR_P_EARLY_MEDIA, "P-Early-Media"},
		{SIP_HDR_P_MEDIA_AUTHORIZATION, "P-Media-Authorization"},
		{SIP_HDR_P_PREFERRED_IDENTITY, "P-Preferred-Identity"},
		{SIP_HDR_P_PROFILE_KEY, "P-Profile-Key"},
		{SIP_HDR_P_REFUSED_URI_LIST, "P-Refused-URI-List"},
		{SIP_HDR_P_SERVED_USER, "P-Served-User"},
		{SIP_HDR_P_USER_DATABASE, "P-User-Database"},
		{SIP_HDR_P_VISITED_NETWORK_ID, "P-Visited-Network-ID"},
		{SIP_HDR_PATH, "Path"},
		{SIP_HDR_PERMISSION_MISSING, "Permission-Missing"},
		{SIP_HDR_PRIORITY, "Priority"},
		{SIP_HDR_PRIV_ANSWER_MODE, "Priv-Answer-Mode"},
		{SIP_HDR_PRIVACY, "Privacy"},
		{SIP_HDR_PROXY_AUTHENTICATE, "Proxy-Authenticate"},
		{SIP_HDR_PROXY_AUTHORIZATION, "Proxy-Authorization"},
		{SIP_HDR_PROXY_REQUIRE, "Proxy-Require"},
		{SIP_HDR_RACK, "RAck"},
		{SIP_HDR_REASON, "Reason"},
		{SIP_HDR_RECORD_ROUTE, "Record-Route"},
		{SIP_HDR_REFER_SUB, "Refer-Sub"},
		{SIP_HDR_REFER_TO, "Refer-To"},
		{SIP_HDR_REFERRED_BY, "Referred-By"},
		{SIP_HDR_REJECT_CONTACT, "Reject-Contact"},
		{SIP_HDR_REPLACES, "Replaces"},
		{SIP_HDR_REPLY_TO, "Reply-To"},
		{SIP_HDR_REQUEST_DISPOSITION, "Request-Disposition"},
		{SIP_HDR_REQUIRE, "Require"},
		{SIP_HDR_RESOURCE_PRIORITY, "Resource-Priority"},
		{SIP_HDR_RESPONSE_KEY, "Response-Key"},
		{SIP_HDR_RETRY_AFTER, "Retry-After"},
		{SIP_HDR_ROUTE, "Route"},
		{SIP_HDR_RSEQ, "RSeq"},
		{SIP_HDR_SECURITY_CLIENT, "Security-Client"},
		{SIP_HDR_SECURITY_SERVER, "Security-Server"},
		{SIP_HDR_SECURITY_VERIFY, "Security-Verify"},
		{SIP_HDR_SERVER, "Server"},
		{SIP_HDR_SERVICE_ROUTE, "Service-Route"},
		{SIP_HDR_SESSION_EXPIRES, "Session-Expires"},
		{SIP_HDR_SIP_ETAG, "SIP-ETag"},
		{SIP_HDR_SIP_IF_MATCH, "SIP-If-Match"},
		{SIP_HDR_SUBJECT, "Subject"},
		{SIP_HDR_SUBSCRIPTION_STATE, "Subscription-State"},
		{SIP_HDR_SUPPORTED, "Supported"},
		{SIP_HDR_TARGET_DIALOG, "Target-Dialog"},
		{SIP_HDR_TIMESTAMP, "Timestamp"},
		{SIP_HDR_TO, "To"},
		{SIP_HDR_TRIGGER_CONSENT, "Trigger-Consent"},
		{SIP_HDR_UNSUPPORTED, "Unsupported"},
		{SIP_HDR_USER_AGENT, "User-Agent"},
		{SIP_HDR_VIA, "Via"},
		{SIP_HDR_WARNING, "Warning"},
		{SIP_HDR_WWW_AUTHENTICATE, "WWW-Authenticate"},
	};
	struct sip_msg *msg;
	struct mbuf *mb;

	for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
		char text[256];
		const struct sip_hdr *h;

		re_snprintf(text, sizeof(text),
			    "OPTIONS sip:x SIP/2.0\r\n%s: v%zu\r\n\r\n",
			    known[i].name, i);
		if (decode(text, &msg, &mb)) {
			fprintf(stderr, "  %s: not decoded\n", known[i].name);
			unit_failed_checks++;
		}
		else {
			h = sip_msg_hdr(msg, known[i].id);
			if (!h || h->id != known[i].id ||
			    sip_msg_xhdr(msg, known[i].name) != h) {
				fprintf(stderr, "  %s: not found by id %d\n",
					known[i].name, known[i].id);
				unit_failed_checks++;
			}
		}
		mem_deref(msg);
		mem_deref(mb);
	}

	/* hashes to SIP_HDR_SUPPORTED's id (RFC 4475 mpart01.dat) */
	CHECK_EQ(decode("OPTIONS sip:x SIP/2.0\r\n"
			"Content-Transfer-Encoding: binary\r\n\r\n",
			&msg, &mb), 0);
	if (msg) {
		CHECK(sip_msg_hdr(msg, SIP_HDR_SUPPORTED) == NULL);
		CHECK(sip_msg_xhdr(msg, "content-transfer-encoding") != NULL);
		CHECK_EQ(sip_msg_xhdr(msg,
				      "Content-Transfer-Encoding")->id,
			 SIP_HDR_NONE);
	}
	mem_deref(msg);
	mem_deref(mb);
}

static void from_to_other_schemes(void)
{
	/* absolute URIs of other schemes in From/To (RFC 4475 unksm2.dat):
	 * kept, with the uri zeroed */
	const char *text = "OPTIONS sip:bob@example.com SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKo\r\n"
		"From: \"A\" <http://www.example.com/a>;tag=fo\r\n"
		"To: urn:ietf:params:x;tag=to\r\n"
		"Call-ID: co\r\nCSeq: 1 OPTIONS\r\n\r\n";
	struct sip_msg *msg;
	struct mbuf *mb;

	CHECK_EQ(decode(text, &msg, &mb), 0);
	if (!msg)
		goto out;
	CHECK(pl_is(&msg->from.auri, "http://www.example.com/a"));
	CHECK(pl_is(&msg->from.dname, "A"));
	CHECK(pl_is(&msg->from.tag, "fo"));
	CHECK(!msg->from.uri.scheme.p && !msg->from.uri.host.p);
	CHECK(pl_is(&msg->to.tag, "to"));
	CHECK(pl_isset(&msg->to.auri));
 out:
	mem_deref(msg);
	mem_deref(mb);
}

const struct unit_case decode_cases[] = {
	{"request", request},
	{"response", response},
	{"folded_headers", folded_headers},
	{"compact_forms", compact_forms},
	{"branchless_via", branchless_via},
	{"bad_start_lines", bad_start_lines},
	{"body_with_content_length", body_with_content_length},
	{"list_headers", list_headers},
	{"header_ids", header_ids},
	{"from_to_other_schemes", from_to_other_schemes},
	{NULL, NULL},
};
