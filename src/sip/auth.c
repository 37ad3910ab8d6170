/*
 * Digest authentication (RFC 2617/3261, MD5, qop=auth) with bans.
 *
 * A nonce is its issue time and a MAC of it under a per-process secret, so
 * any nonce can be checked without state and an old one is reported
 * stale=true.  What does need state is replay: each nonce's highest
 * nonce-count is kept until the nonce expires, and a count is accepted once.
 * A wrong user and a wrong password get the same 403, after the same work,
 * so the answer does not tell which accounts exist.
 */
#include <ctype.h>
#include <string.h>
#include <re.h>
#include "core/clock.h"
#include "core/log.h"
#include "sip/sip_int.h"

enum { NONCE_HEX = 40, HT_SIZE = 4096 };

struct nonce_state {
	struct le he;
	char nonce[NONCE_HEX + 1];
	uint32_t nc;
	uint64_t expires;          /* monotonic ms */
};

struct src_state {
	struct le he;
	struct sa addr;            /* IP only */
	uint32_t fails;
	uint64_t window_end;       /* monotonic ms */
	uint64_t banned_until;
};

struct auth {
	uint8_t secret[20];
	char realm[64];
	uint32_t ttl_s, fail_limit, fail_window_s, ban_s;
	struct hash *nonces;
	struct hash *srcs;
	struct tmr sweep;
	uint32_t bans;
};

static bool sweep_nonce(struct le *le, void *arg)
{
	struct nonce_state *ns = le->data;
	if (ns->expires <= *(uint64_t *)arg)
		mem_deref(ns);
	return false;
}

static bool sweep_src(struct le *le, void *arg)
{
	struct src_state *ss = le->data;
	uint64_t now = *(uint64_t *)arg;
	if (ss->window_end <= now && ss->banned_until <= now)
		mem_deref(ss);
	return false;
}

static void sweep_handler(void *arg)
{
	struct auth *a = arg;
	uint64_t now = clock_mono_ms();

	hash_apply(a->nonces, sweep_nonce, &now);
	hash_apply(a->srcs, sweep_src, &now);
	tmr_start(&a->sweep, 10000, sweep_handler, a);
}

static void entry_destructor(void *arg)
{
	struct nonce_state *ns = arg; /* he is first in both kinds */
	hash_unlink(&ns->he);
}

static void destructor(void *arg)
{
	struct auth *a = arg;

	tmr_cancel(&a->sweep);
	hash_flush(a->nonces);
	hash_flush(a->srcs);
	mem_deref(a->nonces);
	mem_deref(a->srcs);
}

void auth_reconf(struct auth *a, const struct conf *cf)
{
	str_ncpy(a->realm, cf->realm, sizeof(a->realm));
	a->ttl_s = cf->nonce_ttl_s;
	a->fail_limit = cf->auth_fail_limit;
	a->fail_window_s = cf->auth_fail_window_s;
	a->ban_s = cf->auth_ban_s;
}

int auth_alloc(struct auth **ap, const struct conf *cf)
{
	struct auth *a;
	int err;

	a = mem_zalloc(sizeof(*a), destructor);
	if (!a)
		return ENOMEM;
	rand_bytes(a->secret, sizeof(a->secret));
	auth_reconf(a, cf);
	err = hash_alloc(&a->nonces, HT_SIZE);
	err |= hash_alloc(&a->srcs, HT_SIZE);
	if (err) {
		mem_deref(a);
		return ENOMEM;
	}
	tmr_start(&a->sweep, 10000, sweep_handler, a);
	*ap = a;
	return 0;
}

/* A nonce: when it was issued, a random salt (two challenges in the same
 * millisecond must differ: nonce-counts are kept per nonce) and a MAC
 * over both, so that nonces need no state until they are used. */
static void nonce_make(const struct auth *a, uint64_t issued, uint32_t salt,
		       char *out)
{
	uint8_t msg[12], mac[20];

	for (int i = 0; i < 8; i++)
		msg[i] = (uint8_t)(issued >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		msg[8 + i] = (uint8_t)(salt >> (24 - 8 * i));
	hmac_sha1(a->secret, sizeof(a->secret), msg, sizeof(msg), mac,
		  sizeof(mac));
	re_snprintf(out, NONCE_HEX + 1, "%016llx%08x%w",
		    (unsigned long long)issued, salt, mac, (size_t)8);
}

/* 0: valid and fresh; ETIMEDOUT: ours but expired; EBADMSG: not ours. */
static int nonce_check(const struct auth *a, const struct pl *nonce)
{
	char want[NONCE_HEX + 1];
	uint64_t issued = 0;
	uint32_t salt = 0;

	if (nonce->l != NONCE_HEX)
		return EBADMSG;
	for (int i = 0; i < 24; i++) {
		char c = nonce->p[i];
		if (!isxdigit((unsigned char)c))
			return EBADMSG;
		if (i < 16)
			issued = issued << 4 | ch_hex(c);
		else
			salt = salt << 4 | ch_hex(c);
	}
	nonce_make(a, issued, salt, want);
	if (memcmp(want, nonce->p, NONCE_HEX))
		return EBADMSG;
	if (issued + a->ttl_s * 1000ULL < clock_mono_ms())
		return ETIMEDOUT;
	return 0;
}

static bool nonce_cmp(struct le *le, void *arg)
{
	const struct nonce_state *ns = le->data;
	return !pl_strcmp(arg, ns->nonce);
}

/* Accept each nonce-count of a nonce once; no qop: the nonce once. */
static bool nonce_count_ok(struct auth *a, const struct pl *nonce,
			   const struct pl *nc, bool qop)
{
	struct nonce_state *ns;
	uint32_t n = 0;

	if (qop) {
		if (nc->l != 8)
			return false;
		for (size_t i = 0; i < 8; i++) {
			if (!isxdigit((unsigned char)nc->p[i]))
				return false;
			n = n << 4 | ch_hex(nc->p[i]);
		}
		if (!n)
			return false;
	}

	ns = list_ledata(hash_lookup(a->nonces, hash_joaat_pl(nonce),
				     nonce_cmp, (void *)nonce));
	if (ns) {
		if (!qop || n <= ns->nc)
			return false;
		ns->nc = n;
		return true;
	}

	ns = mem_zalloc(sizeof(*ns), entry_destructor);
	if (!ns)
		return false;
	(void)pl_strcpy(nonce, ns->nonce, sizeof(ns->nonce));
	ns->nc = qop ? n : UINT32_MAX;
	ns->expires = clock_mono_ms() + a->ttl_s * 1000ULL;
	hash_append(a->nonces, hash_joaat_pl(nonce), &ns->he, ns);
	return true;
}

static bool src_cmp(struct le *le, void *arg)
{
	const struct src_state *ss = le->data;
	return sa_cmp(&ss->addr, arg, SA_ADDR);
}

static struct src_state *src_find(struct auth *a, const struct sa *src,
				  bool create)
{
	struct src_state *ss;
	uint32_t key = sa_hash(src, SA_ADDR);

	ss = list_ledata(hash_lookup(a->srcs, key, src_cmp, (void *)src));
	if (ss || !create)
		return ss;
	ss = mem_zalloc(sizeof(*ss), entry_destructor);
	if (!ss)
		return NULL;
	ss->addr = *src;
	hash_append(a->srcs, key, &ss->he, ss);
	return ss;
}

bool auth_banned(struct auth *a, const struct sa *src)
{
	struct src_state *ss = src_find(a, src, false);
	return ss && ss->banned_until > clock_mono_ms();
}

uint32_t auth_bans(const struct auth *a)
{
	return a->bans;
}

static void auth_failed(struct auth *a, const struct sa *src,
			const struct sip_msg *msg)
{
	uint64_t now = clock_mono_ms();
	struct src_state *ss = src_find(a, src, true);

	if (!ss)
		return;
	if (ss->window_end <= now) {
		ss->fails = 0;
		ss->window_end = now + a->fail_window_s * 1000ULL;
	}
	if (++ss->fails >= a->fail_limit && a->ban_s) {
		ss->banned_until = now + a->ban_s * 1000ULL;
		ss->window_end = ss->banned_until;
		ss->fails = 0;
		a->bans++;
		log_msg(LOG_WARN, NULL, "auth: %j banned for %u s after "
			"repeated failures", src, a->ban_s);
	}
	log_msg(LOG_INFO, NULL, "auth: failed %r from %J (user '%r')",
		&msg->met, src, &msg->from.uri.user);
}

static int challenge(struct auth *a, struct sip *sip,
		     const struct sip_msg *msg, bool proxy, bool stale)
{
	char nonce[NONCE_HEX + 1];

	nonce_make(a, clock_mono_ms(), rand_u32(), nonce);
	return sip_treplyf(NULL, NULL, sip, msg, false,
			   proxy ? 407 : 401,
			   proxy ? "Proxy Authentication Required" :
			   "Unauthorized",
			   "%s: Digest realm=\"%s\", nonce=\"%s\", "
			   "qop=\"auth\", algorithm=MD5%s\r\n"
			   "Content-Length: 0\r\n\r\n",
			   proxy ? "Proxy-Authenticate" : "WWW-Authenticate",
			   a->realm, nonce, stale ? ", stale=true" : "");
}

struct cred_find {
	const char *realm;
	struct httpauth_digest_resp resp;
	bool found;
};

static bool cred_handler(const struct sip_hdr *hdr, const struct sip_msg *msg,
			 void *arg)
{
	struct cred_find *cf = arg;
	struct httpauth_digest_resp r;
	(void)msg;

	if (httpauth_digest_response_decode(&r, &hdr->val))
		return false;
	if (pl_strcmp(&r.realm, cf->realm))
		return false;
	cf->resp = r;
	cf->found = true;
	return true;
}

static int hex_to_bin(const char *hex, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!isxdigit((unsigned char)hex[2 * i]) ||
		    !isxdigit((unsigned char)hex[2 * i + 1]))
			return EINVAL;
		out[i] = (uint8_t)(ch_hex(hex[2 * i]) << 4 |
				   ch_hex(hex[2 * i + 1]));
	}
	return 0;
}

int auth_request(struct auth *a, struct sip *sip, struct store *st,
		 const struct sip_msg *msg, struct store_account *acc)
{
	const bool proxy = pl_strcmp(&msg->met, "REGISTER") != 0;
	struct cred_find cf = {.realm = a->realm};
	uint8_t ha1[16];
	char user[STORE_USER_MAX];
	bool known;
	int err;

	if (auth_banned(a, &msg->src)) {
		(void)sip_treply(NULL, sip, msg, 403, "Forbidden");
		return EAUTH;
	}

	(void)sip_msg_hdr_apply(msg, true, proxy ? SIP_HDR_PROXY_AUTHORIZATION
				: SIP_HDR_AUTHORIZATION, cred_handler, &cf);
	if (!cf.found && proxy)
		(void)sip_msg_hdr_apply(msg, true, SIP_HDR_AUTHORIZATION,
					cred_handler, &cf);
	if (!cf.found) {
		(void)challenge(a, sip, msg, proxy, false);
		return EAUTH;
	}

	err = nonce_check(a, &cf.resp.nonce);
	if (err) {
		/* Not a failed password: the client just needs a new nonce. */
		(void)challenge(a, sip, msg, proxy, err == ETIMEDOUT);
		return EAUTH;
	}

	(void)pl_strcpy(&cf.resp.username, user, sizeof(user));
	known = cf.resp.username.l < sizeof(user) &&
		!store_account_get(st, user, acc) &&
		!hex_to_bin(acc->ha1, ha1, sizeof(ha1)) &&
		!strcmp(acc->realm, a->realm);
	if (!known)
		memset(ha1, 0, sizeof(ha1)); /* same work as a real check */

	/* The digest covers its own uri parameter, not the Request-URI:
	 * credentials made for one request must not carry another (say, to
	 * an outside number). */
	if (pl_cmp(&cf.resp.uri, &msg->ruri)) {
		(void)sip_treply(NULL, sip, msg, 400,
				 "Digest URI Does Not Match");
		return EAUTH;
	}

	err = httpauth_digest_response_auth(&cf.resp, &msg->met, ha1);
	if (err || !known) {
		auth_failed(a, &msg->src, msg);
		(void)sip_treply(NULL, sip, msg, 403, "Forbidden");
		return EAUTH;
	}

	if (!nonce_count_ok(a, &cf.resp.nonce, &cf.resp.nc,
			    pl_isset(&cf.resp.qop))) {
		/* A replayed count: ask again rather than accept it. */
		(void)challenge(a, sip, msg, proxy, true);
		return EAUTH;
	}

	return 0;
}
