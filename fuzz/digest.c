/*
 * Digest authentication (src/sip/auth.c): auth_request on a decoded SIP
 * request, with a fixed nonce secret so that inputs can carry nonces that
 * verify.  auth.c is compiled into this file to reach its static nonce
 * functions; the account store is a stub with three users.
 *
 * Placeholders in an input, replaced before decoding:
 *   16 or more 'N'  a fresh nonce of ours
 *   16 or more 'S'  a nonce of ours that has expired (stale=true)
 *   32 x 'R'        in response="…": the right response for the
 *                   credentials (alice's password, the request's method)
 *
 * Each request is presented four times from one address to one auth
 * instance: the same credentials must never be accepted twice (replay),
 * and failures must lead to a ban.
 */
#include "fuzz.h"
#include <string.h>
#include "sip/auth.c"

static const uint8_t secret[20] = "laoyou-fuzz-secret!";
static struct sip *sip;
static uint8_t alice_ha1[16];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc; (void)argv;
	fuzz_quiet();
	/* No transports: replies are built in full, then cannot be sent, so
	 * no server transaction outlives the input. */
	if (sip_alloc(&sip, NULL, 32, 32, 32, "fuzz", NULL, NULL))
		abort();
	md5_printf(alice_ha1, "alice:laoyou:secret");
	return 0;
}

/* The store, as auth.c sees it. */
int store_account_get(struct store *st, const char *user,
		      struct store_account *a)
{
	(void)st;
	memset(a, 0, sizeof(*a));
	str_ncpy(a->user, user, sizeof(a->user));
	str_ncpy(a->realm, "laoyou", sizeof(a->realm));
	if (!strcmp(user, "alice"))
		re_snprintf(a->ha1, sizeof(a->ha1), "%w", alice_ha1,
			    sizeof(alice_ha1));
	else if (!strcmp(user, "bob"))
		str_ncpy(a->ha1, "not hex at all, not hex at all!!",
			 sizeof(a->ha1));     /* a damaged row */
	else if (!strcmp(user, "carol")) {
		re_snprintf(a->ha1, sizeof(a->ha1), "%w", alice_ha1,
			    sizeof(alice_ha1));
		str_ncpy(a->realm, "elsewhere", sizeof(a->realm));
	}
	else
		return ENOENT;
	return 0;
}

/* data with each run of 16 or more 'N' or 'S' replaced by a nonce. */
static struct mbuf *substitute(const uint8_t *data, size_t size,
			       const char *fresh, const char *stale)
{
	struct mbuf *mb = mbuf_alloc(size + 64);

	for (size_t i = 0; mb && i < size;) {
		size_t k = 0;
		if (data[i] == 'N' || data[i] == 'S') {
			while (i + k < size && data[i + k] == data[i])
				++k;
		}
		if (k >= 16) {
			(void)mbuf_write_str(mb, data[i] == 'N' ? fresh :
					     stale);
			i += k;
		}
		else {
			(void)mbuf_write_u8(mb, data[i]);
			++i;
		}
	}
	if (mb)
		mb->pos = 0;
	return mb;
}

static bool fix_response(const struct sip_hdr *hdr, const struct sip_msg *msg,
			 void *arg)
{
	struct httpauth_digest_resp r;
	uint8_t ha2[16], digest[16];
	char hex[33];
	(void)arg;

	if (httpauth_digest_response_decode(&r, &hdr->val) ||
	    r.response.l != 32 || memcmp(r.response.p, "RRRRRRRR", 8))
		return false;
	md5_printf(ha2, "%r:%r", &msg->met, &r.uri);
	if (pl_isset(&r.qop))
		md5_printf(digest, "%w:%r:%r:%r:%r:%w", alice_ha1,
			   sizeof(alice_ha1), &r.nonce, &r.nc, &r.cnonce,
			   &r.qop, ha2, sizeof(ha2));
	else
		md5_printf(digest, "%w:%r:%w", alice_ha1, sizeof(alice_ha1),
			   &r.nonce, ha2, sizeof(ha2));
	re_snprintf(hex, sizeof(hex), "%w", digest, sizeof(digest));
	/* The value lies in the message buffer, which is ours. */
	memcpy((char *)r.response.p, hex, 32);
	return false;
}

static bool count(struct le *le, void *arg)
{
	(void)le;
	++*(unsigned *)arg;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth *a = NULL;
	struct sip_msg *msg = NULL;
	struct mbuf *mb;
	struct conf cf;
	char fresh[NONCE_HEX + 1], stale[NONCE_HEX + 1];
	uint64_t now = clock_mono_ms();
	int ok = 0;

	conf_defaults(&cf);
	cf.auth_fail_limit = 3;
	if (auth_alloc(&a, &cf))
		return 0;
	memcpy(a->secret, secret, sizeof(a->secret));
	nonce_make(a, now, 0x5a17u, fresh);
	nonce_make(a, now > cf.nonce_ttl_s * 1000ULL + 1000 ?
		   now - cf.nonce_ttl_s * 1000ULL - 1000 : 0, 0x5a17u, stale);

	mb = substitute(data, size, fresh, stale);
	if (!mb || sip_msg_decode(&msg, mb) || !msg->req)
		goto out;
	msg->tp = SIP_TRANSP_UDP;
	(void)sa_set_str(&msg->src, "192.0.2.7", 5060);
	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_AUTHORIZATION,
				fix_response, NULL);
	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_PROXY_AUTHORIZATION,
				fix_response, NULL);

	for (int i = 0; i < 4; i++) {
		struct store_account acc;
		memset(&acc, 0, sizeof(acc));
		if (auth_request(a, sip, NULL, msg, &acc))
			continue;
		/* Only alice has a usable password in her realm. */
		FUZZ_CHECK(!strcmp(acc.user, "alice"));
		FUZZ_CHECK(!strcmp(acc.realm, "laoyou"));
		++ok;
	}
	/* The same credentials twice is a replay. */
	FUZZ_CHECK(ok <= 1);
	FUZZ_CHECK(a->bans <= 1);
	if (a->bans)
		FUZZ_CHECK(auth_banned(a, &msg->src));

	/* The 10 s sweep, once everything has expired: it frees entries
	 * from inside hash_apply, and must leave none behind. */
	{
		uint64_t later = UINT64_MAX;
		unsigned left = 0;
		hash_apply(a->nonces, sweep_nonce, &later);
		hash_apply(a->srcs, sweep_src, &later);
		(void)hash_apply(a->nonces, count, &left);
		(void)hash_apply(a->srcs, count, &left);
		FUZZ_CHECK(left == 0);
	}
 out:
	mem_deref(msg);
	mem_deref(mb);
	mem_deref(a);
	return 0;
}
