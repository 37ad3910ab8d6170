#include <re.h>
#include "sip/sip_int.h"
#include "unit.h"

static char last_tx[2048];

static void trace(bool tx, enum sip_transp tp, const struct sa *src,
		  const struct sa *dst, const uint8_t *pkt, size_t len,
		  void *arg)
{
	(void)tp; (void)src; (void)dst; (void)arg;
	if (tx && len < sizeof(last_tx)) {
		memcpy(last_tx, pkt, len);
		last_tx[len] = '\0';
	}
}

struct rig {
	struct sip *sip;
	struct store *st;
	struct auth *auth;
	struct conf cf;
};

static void rig_open(struct rig *r)
{
	struct store_account a;
	struct sa la;
	uint8_t ha1[16];

	memset(r, 0, sizeof(*r));
	conf_defaults(&r->cf);
	r->cf.auth_fail_limit = 3;
	sip_alloc(&r->sip, NULL, 32, 32, 32, "unit", NULL, NULL);
	sa_set_str(&la, "127.0.0.1", 0);
	sip_transp_add(r->sip, SIP_TRANSP_UDP, &la);
	sip_set_trace_handler(r->sip, trace);
	store_open(&r->st, unit_tmpfile("auth.db"));
	auth_alloc(&r->auth, &r->cf);

	memset(&a, 0, sizeof(a));
	strcpy(a.user, "alice");
	strcpy(a.ext, "1001");
	strcpy(a.kind, "agent");
	strcpy(a.realm, "laoyou");
	md5_printf(ha1, "alice:laoyou:secret");
	re_snprintf(a.ha1, sizeof(a.ha1), "%w", ha1, sizeof(ha1));
	store_account_add(r->st, &a);
}

static void rig_close(struct rig *r)
{
	mem_deref(r->auth);
	mem_deref(r->st);
	sip_close(r->sip, true);
	mem_deref(r->sip);
}

/* Send a REGISTER through auth_request; returns its result. */
static int reg(struct rig *r, const char *src_ip, const char *authz)
{
	char text[1024];
	struct mbuf *mb;
	struct sip_msg *msg = NULL;
	int err;

	re_snprintf(text, sizeof(text),
		    "REGISTER sip:laoyou SIP/2.0\r\n"
		    "Via: SIP/2.0/UDP %s:5999;branch=z9hG4bK%u\r\n"
		    "From: <sip:alice@laoyou>;tag=1\r\nTo: <sip:alice@laoyou>\r\n"
		    "Call-ID: %u\r\nCSeq: 1 REGISTER\r\n%s%s%s"
		    "Content-Length: 0\r\n\r\n", src_ip, rand_u32(), rand_u32(),
		    authz ? "Authorization: " : "", authz ? authz : "",
		    authz ? "\r\n" : "");
	mb = mbuf_alloc(strlen(text));
	mbuf_write_str(mb, text);
	mb->pos = 0;
	if (sip_msg_decode(&msg, mb)) {
		mem_deref(mb);
		return -1;
	}
	sa_set_str(&msg->src, src_ip, 5999);
	msg->tp = SIP_TRANSP_UDP;
	struct store_account acc;
	last_tx[0] = '\0';
	err = auth_request(r->auth, r->sip, r->st, msg, &acc);
	if (!err)
		CHECK_STR(acc.user, "alice");
	mem_deref(msg);
	mem_deref(mb);
	return err;
}

static void nonce_from(char *nonce, size_t sz)
{
	const char *p = strstr(last_tx, "nonce=\"");
	nonce[0] = '\0';
	if (p)
		re_snprintf(nonce, sz, "%b", p + 7, (size_t)40);
}

static void credentials(char *out, size_t sz, const char *user,
			const char *pass, const char *nonce, const char *nc)
{
	uint8_t ha1[16], ha2[16], resp[16];
	md5_printf(ha1, "%s:laoyou:%s", user, pass);
	md5_printf(ha2, "REGISTER:sip:laoyou");
	md5_printf(resp, "%w:%s:%s:abc:auth:%w", ha1, sizeof(ha1), nonce, nc,
		   ha2, sizeof(ha2));
	re_snprintf(out, sz, "Digest username=\"%s\", realm=\"laoyou\", "
		    "nonce=\"%s\", uri=\"sip:laoyou\", response=\"%w\", "
		    "qop=auth, nc=%s, cnonce=\"abc\", algorithm=MD5", user,
		    nonce, resp, sizeof(resp), nc);
}

static void challenge_then_accept_once_per_count(void)
{
	struct rig r;
	char nonce[48], cred[512];

	rig_open(&r);
	CHECK_EQ(reg(&r, "127.0.0.2", NULL), EAUTH);
	CHECK(strncmp(last_tx, "SIP/2.0 401", 11) == 0);
	CHECK(strstr(last_tx, "qop=\"auth\"") != NULL);
	nonce_from(nonce, sizeof(nonce));
	CHECK_EQ(strlen(nonce), 40);

	credentials(cred, sizeof(cred), "alice", "secret", nonce, "00000001");
	CHECK_EQ(reg(&r, "127.0.0.2", cred), 0);
	/* The same nonce-count again is a replay: challenged, stale. */
	CHECK_EQ(reg(&r, "127.0.0.2", cred), EAUTH);
	CHECK(strstr(last_tx, "stale=true") != NULL);
	credentials(cred, sizeof(cred), "alice", "secret", nonce, "00000002");
	CHECK_EQ(reg(&r, "127.0.0.2", cred), 0);

	/* A nonce we did not make is not stale, just challenged. */
	nonce[0] = nonce[0] == 'f' ? 'e' : 'f';
	credentials(cred, sizeof(cred), "alice", "secret", nonce, "00000003");
	CHECK_EQ(reg(&r, "127.0.0.2", cred), EAUTH);
	CHECK(strncmp(last_tx, "SIP/2.0 401", 11) == 0);
	CHECK(strstr(last_tx, "stale") == NULL);
	rig_close(&r);
}

static void same_answer_for_bad_user_and_password_then_ban(void)
{
	struct rig r;
	char nonce[48], cred[512], first[64], second[64];

	rig_open(&r);
	reg(&r, "127.0.0.3", NULL);
	nonce_from(nonce, sizeof(nonce));

	credentials(cred, sizeof(cred), "alice", "wrong", nonce, "00000001");
	CHECK_EQ(reg(&r, "127.0.0.3", cred), EAUTH);
	re_snprintf(first, sizeof(first), "%b", last_tx, (size_t)24);
	credentials(cred, sizeof(cred), "mallory", "x", nonce, "00000002");
	CHECK_EQ(reg(&r, "127.0.0.3", cred), EAUTH);
	re_snprintf(second, sizeof(second), "%b", last_tx, (size_t)24);
	CHECK_STR(first, "SIP/2.0 403 Forbidden\r\nV");
	CHECK_STR(second, first);

	/* Third failure bans 127.0.0.3; the right password is refused now,
	 * while another address is unaffected. */
	credentials(cred, sizeof(cred), "alice", "wrong", nonce, "00000003");
	CHECK_EQ(reg(&r, "127.0.0.3", cred), EAUTH);
	struct sa s3;
	sa_set_str(&s3, "127.0.0.3", 1);
	CHECK(auth_banned(r.auth, &s3));
	credentials(cred, sizeof(cred), "alice", "secret", nonce, "00000004");
	CHECK_EQ(reg(&r, "127.0.0.3", cred), EAUTH);
	CHECK(strncmp(last_tx, "SIP/2.0 403", 11) == 0);
	CHECK_EQ(reg(&r, "127.0.0.4", cred), 0);
	CHECK_EQ(auth_bans(r.auth), 1);
	rig_close(&r);
}

/* Two challenges in the same millisecond get nonces of their own, and a
 * digest made for another Request-URI is refused. */
static void nonces_differ_and_digest_uri_must_match(void)
{
	struct rig r;
	char n1[48], n2[48], cred[512], *uri;

	rig_open(&r);
	CHECK_EQ(reg(&r, "127.0.0.2", NULL), EAUTH);
	nonce_from(n1, sizeof(n1));
	CHECK_EQ(reg(&r, "127.0.0.2", NULL), EAUTH);
	nonce_from(n2, sizeof(n2));
	CHECK(strcmp(n1, n2) != 0);

	credentials(cred, sizeof(cred), "alice", "secret", n1, "00000001");
	uri = strstr(cred, "uri=\"sip:laoyou\"");
	CHECK(uri != NULL);
	if (uri)
		memcpy(uri, "uri=\"sip:laoyoX\"", 16);
	CHECK_EQ(reg(&r, "127.0.0.2", cred), EAUTH);
	CHECK(strncmp(last_tx, "SIP/2.0 400", 11) == 0);
	rig_close(&r);
}

const struct unit_case auth_cases[] = {
	{"nonces_differ_and_digest_uri_must_match",
	 nonces_differ_and_digest_uri_must_match},
	{"challenge_then_accept_once_per_count",
	 challenge_then_accept_once_per_count},
	{"same_answer_for_bad_user_and_password_then_ban",
	 same_answer_for_bad_user_and_password_then_ban},
	{NULL, NULL},
};
