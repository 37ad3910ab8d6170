/*
 * The registrar: bindings of contacts to accounts (RFC 3261 §10).  Kept in
 * memory for the call path and in the store so a restart keeps them.
 * Each binding's expiry is a timer inside the binding.
 */
#include <string.h>
#include <re.h>
#include "core/clock.h"
#include "core/event.h"
#include "core/log.h"
#include "sip/sip_int.h"

enum { MAX_BINDINGS = 16, HT_SIZE = 4096 };

/* libre closes a SIP connection that has carried nothing for 900 s
 * (TCP_IDLE_TIMEOUT in its sip/transp.c) and offers no way to keep one
 * open.  A phone registered over TCP is asked to refresh sooner, so its
 * connection carries a REGISTER in time and stays up for our calls. */
enum { TCP_EXPIRES_MAX = 840 };

struct binding {
	struct le le;              /* in the user's list */
	struct le he_tcp;          /* in tcp_src, when over TCP */
	struct regaor *aor;
	char *contact;             /* the URI, as sent */
	struct sa src;
	enum sip_transp tp;
	int64_t expires_at;        /* wall clock s */
	char *callid;
	uint32_t cseq;
	struct tmr tmr;
};

struct regaor {
	struct le he;
	char user[STORE_USER_MAX];
	struct list bindings;
	struct registrar *reg;
};

struct registrar {
	struct sipd *sd;
	struct hash *aors;
	struct hash *tcp_src;      /* TCP bindings by their source */
	uint32_t count;
};

static void binding_destructor(void *arg)
{
	struct binding *b = arg;

	tmr_cancel(&b->tmr);
	list_unlink(&b->le);
	hash_unlink(&b->he_tcp);
	if (b->aor)
		b->aor->reg->count--;
	mem_deref(b->contact);
	mem_deref(b->callid);
}

static void aor_destructor(void *arg)
{
	struct regaor *aor = arg;

	hash_unlink(&aor->he);
	list_flush(&aor->bindings);
}

static void reg_destructor(void *arg)
{
	struct registrar *r = arg;

	hash_flush(r->aors);
	mem_deref(r->aors);
	mem_deref(r->tcp_src);
}

static bool aor_cmp(struct le *le, void *arg)
{
	const struct regaor *aor = le->data;
	return !strcmp(aor->user, arg);
}

static struct regaor *aor_find(struct registrar *r, const char *user,
			       bool create)
{
	struct regaor *aor;

	aor = list_ledata(hash_lookup(r->aors, hash_joaat_str(user), aor_cmp,
				      (void *)user));
	if (aor || !create)
		return aor;
	aor = mem_zalloc(sizeof(*aor), aor_destructor);
	if (!aor)
		return NULL;
	str_ncpy(aor->user, user, sizeof(aor->user));
	aor->reg = r;
	hash_append(r->aors, hash_joaat_str(user), &aor->he, aor);
	return aor;
}

/* Remove b from memory and the store; an emptied AOR goes too, unless
 * the caller still holds it (a REGISTER in progress). */
static void binding_remove(struct binding *b, bool keep_aor)
{
	struct regaor *aor = b->aor;

	(void)store_binding_del(aor->reg->sd->st, aor->user, b->contact);
	mem_deref(b);
	event_publish(EVENT_REG_CHANGED, aor->user);
	if (!keep_aor && list_isempty(&aor->bindings))
		mem_deref(aor);
}

static void expire_handler(void *arg)
{
	struct binding *b = arg;

	log_info("registrar: %s: %s expired", b->aor->user, b->contact);
	binding_remove(b, false);
}

static struct binding *binding_find(struct regaor *aor, const char *contact)
{
	for (struct le *le = aor->bindings.head; le; le = le->next) {
		struct binding *b = le->data;
		if (!strcmp(b->contact, contact))
			return b;
	}
	return NULL;
}

static int binding_set(struct regaor *aor, const char *contact,
		       const struct sa *src, enum sip_transp tp,
		       int64_t expires_at, const char *callid, uint32_t cseq)
{
	struct binding *b = binding_find(aor, contact);
	int64_t now = clock_wall_s();

	if (!b) {
		if (list_count(&aor->bindings) >= MAX_BINDINGS)
			return EOVERFLOW;
		b = mem_zalloc(sizeof(*b), binding_destructor);
		if (!b)
			return ENOMEM;
		if (str_dup(&b->contact, contact)) {
			mem_deref(b);
			return ENOMEM;
		}
		b->aor = aor;
		aor->reg->count++;
		list_append(&aor->bindings, &b->le, b);
	}
	b->src = *src;
	b->tp = tp;
	hash_unlink(&b->he_tcp);
	if (tp == SIP_TRANSP_TCP || tp == SIP_TRANSP_TLS)
		hash_append(aor->reg->tcp_src, sa_hash(src, SA_ALL),
			    &b->he_tcp, b);
	b->expires_at = expires_at;
	b->cseq = cseq;
	b->callid = mem_deref(b->callid);
	(void)str_dup(&b->callid, callid);
	tmr_start(&b->tmr, (uint64_t)(expires_at > now ? expires_at - now : 0)
		  * 1000, expire_handler, b);
	return 0;
}

struct reg_ctx {
	struct registrar *r;
	const struct sip_msg *msg;
	struct regaor *aor;
	uint32_t expires_hdr;
	bool star;
	uint16_t scode;
	const char *reason;
	char callid[128];
	uint32_t ncontacts;
};

static uint32_t contact_expires(struct reg_ctx *c, const struct sip_addr *a)
{
	struct pl ev;
	const struct conf *cf = &c->r->sd->cf;
	uint32_t e = c->expires_hdr;

	if (!msg_param_decode(&a->params, "expires", &ev))
		e = pl_u32(&ev);
	if (e > cf->reg_max_expires)
		e = cf->reg_max_expires;
	if ((c->msg->tp == SIP_TRANSP_TCP || c->msg->tp == SIP_TRANSP_TLS) &&
	    e > TCP_EXPIRES_MAX && TCP_EXPIRES_MAX >= cf->reg_min_expires)
		e = TCP_EXPIRES_MAX;
	return e;
}

/* Pass 1 of a REGISTER: validate every Contact before changing anything. */
static bool contact_check(const struct sip_hdr *hdr, const struct sip_msg *msg,
			  void *arg)
{
	struct reg_ctx *c = arg;
	struct sip_addr a;
	uint32_t e;
	(void)msg;

	if (!pl_strcmp(&hdr->val, "*")) {
		c->star = true;
		return false;
	}
	if (sip_addr_decode(&a, &hdr->val) || a.auri.l >= STORE_URI_MAX) {
		c->scode = 400;
		c->reason = "Bad Contact";
		return true;
	}
	/* Calls go out over SIP only: a binding to <name:John_Smith>
	 * (RFC 4475 3.3.3) could never ring. */
	if (pl_strcasecmp(&a.uri.scheme, "sip") &&
	    pl_strcasecmp(&a.uri.scheme, "sips")) {
		c->scode = 400;
		c->reason = "Bad Contact (URI scheme)";
		return true;
	}
	c->ncontacts++;
	e = contact_expires(c, &a);
	if (e && e < c->r->sd->cf.reg_min_expires) {
		c->scode = 423;
		c->reason = "Interval Too Brief";
		return true;
	}
	return false;
}

/* Pass 2: apply. */
static bool contact_apply(const struct sip_hdr *hdr, const struct sip_msg *msg,
			  void *arg)
{
	struct reg_ctx *c = arg;
	struct store_binding sb;
	struct sip_addr a;
	struct binding *b;
	char uri[STORE_URI_MAX];
	uint32_t e;
	int err;

	if (sip_addr_decode(&a, &hdr->val))
		return false;
	(void)pl_strcpy(&a.auri, uri, sizeof(uri));
	e = contact_expires(c, &a);
	b = binding_find(c->aor, uri);

	if (!e) {
		if (b)
			binding_remove(b, true);
		return false;
	}

	memset(&sb, 0, sizeof(sb));
	str_ncpy(sb.user, c->aor->user, sizeof(sb.user));
	str_ncpy(sb.contact, uri, sizeof(sb.contact));
	re_snprintf(sb.src, sizeof(sb.src), "%J", &msg->src);
	str_ncpy(sb.transport, sip_transp_name(msg->tp), sizeof(sb.transport));
	sb.expires_at = clock_wall_s() + e;
	str_ncpy(sb.callid, c->callid, sizeof(sb.callid));
	sb.cseq = msg->cseq.num;

	err = store_binding_put(c->r->sd->st, &sb);
	if (!err)
		err = binding_set(c->aor, uri, &msg->src, msg->tp,
				  sb.expires_at, c->callid, sb.cseq);
	if (err) {
		c->scode = err == EOVERFLOW ? 403 : 500;
		c->reason = err == EOVERFLOW ? "Too Many Contacts" :
			"Server Error";
		return true;
	}
	event_publish(EVENT_REG_CHANGED, c->aor->user);
	return false;
}

static int print_contacts(struct re_printf *pf, const struct regaor *aor)
{
	int64_t now = clock_wall_s();
	int err = 0;

	if (!aor)
		return 0;
	for (struct le *le = aor->bindings.head; le; le = le->next) {
		const struct binding *b = le->data;
		err |= re_hprintf(pf, "Contact: <%s>;expires=%lld\r\n",
				  b->contact, (long long)(b->expires_at > now ?
							  b->expires_at - now :
							  0));
	}
	return err;
}

void registrar_handle(struct registrar *r, const struct sip_msg *msg)
{
	struct store_account acc;
	struct reg_ctx c;
	char to_user[STORE_USER_MAX];

	if (sipd_authenticate(r->sd, msg, &acc))
		return;

	(void)pl_strcpy(&msg->to.uri.user, to_user, sizeof(to_user));
	if (strcmp(to_user, acc.user) && strcmp(to_user, acc.ext)) {
		(void)sip_treply(NULL, r->sd->sip, msg, 403,
				 "Forbidden (To is not your account)");
		return;
	}

	memset(&c, 0, sizeof(c));
	c.r = r;
	c.msg = msg;
	c.expires_hdr = pl_isset(&msg->expires) ? pl_u32(&msg->expires) :
		r->sd->cf.reg_default_expires;
	(void)pl_strcpy(&msg->callid, c.callid, sizeof(c.callid));

	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT, contact_check, &c);
	if (!c.scode && c.star && (c.ncontacts || c.expires_hdr)) {
		c.scode = 400;
		c.reason = "Bad Request (* needs Expires: 0 alone)";
	}
	if (c.scode == 423) {
		(void)sip_treplyf(NULL, NULL, r->sd->sip, msg, false, 423,
				  c.reason, "Min-Expires: %u\r\n"
				  "Content-Length: 0\r\n\r\n",
				  r->sd->cf.reg_min_expires);
		return;
	}
	if (c.scode) {
		(void)sip_treply(NULL, r->sd->sip, msg, c.scode, c.reason);
		return;
	}

	if (c.star) {
		struct regaor *aor = aor_find(r, acc.user, false);
		(void)store_binding_del(r->sd->st, acc.user, NULL);
		if (aor)
			mem_deref(aor);
		event_publish(EVENT_REG_CHANGED, acc.user);
	}
	else if (c.ncontacts) {
		c.aor = aor_find(r, acc.user, true);
		if (!c.aor) {
			(void)sip_treply(NULL, r->sd->sip, msg, 500,
					 "Server Error");
			return;
		}
		(void)sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT,
					contact_apply, &c);
		if (c.aor && list_isempty(&c.aor->bindings))
			c.aor = mem_deref(c.aor);
		if (c.scode) {
			(void)sip_treply(NULL, r->sd->sip, msg, c.scode,
					 c.reason);
			return;
		}
		log_msg(LOG_INFO, NULL, "registrar: %s from %J: %u contact(s)",
			acc.user, &msg->src,
			registrar_contacts(r, acc.user, NULL, NULL));
	}

	(void)sip_treplyf(NULL, NULL, r->sd->sip, msg, false, 200, "OK",
			  "%H" "Date: %H\r\n" "Content-Length: 0\r\n\r\n",
			  print_contacts, aor_find(r, acc.user, false),
			  fmt_gmtime, NULL);
}

uint32_t registrar_contacts(struct registrar *r, const char *user,
			    sipd_contact_h *h, void *arg)
{
	struct regaor *aor = aor_find(r, user, false);
	uint32_t n = 0;

	if (!aor)
		return 0;
	for (struct le *le = aor->bindings.head; le; le = le->next) {
		struct binding *b = le->data;
		if (h)
			h(b->contact, &b->src, b->tp, arg);
		n++;
	}
	return n;
}

uint32_t registrar_count(const struct registrar *r)
{
	return r->count;
}

static bool src_cmp(struct le *le, void *arg)
{
	const struct binding *b = le->data;

	return sa_cmp(&b->src, arg, SA_ALL);
}

bool registrar_tcp_bound(const struct registrar *r, const struct sa *src)
{
	return r && hash_lookup(r->tcp_src, sa_hash(src, SA_ALL), src_cmp,
				(void *)src) != NULL;
}

static int restore_handler(const struct store_binding *sb, void *arg)
{
	struct registrar *r = arg;
	struct regaor *aor = aor_find(r, sb->user, true);
	enum sip_transp tp = SIP_TRANSP_UDP;
	struct sa src;

	if (!aor)
		return ENOMEM;
	if (sa_decode(&src, sb->src, strlen(sb->src)))
		sa_init(&src, AF_UNSPEC);
	if (!strcmp(sb->transport, "TCP"))
		tp = SIP_TRANSP_TCP;
	(void)binding_set(aor, sb->contact, &src, tp, sb->expires_at,
			  sb->callid, sb->cseq);
	return 0;
}

int registrar_alloc(struct registrar **rp, struct sipd *sd)
{
	struct registrar *r;
	int err;

	r = mem_zalloc(sizeof(*r), reg_destructor);
	if (!r)
		return ENOMEM;
	r->sd = sd;
	err = hash_alloc(&r->aors, HT_SIZE);
	if (!err)
		err = hash_alloc(&r->tcp_src, HT_SIZE);
	if (!err)
		err = store_binding_load(sd->st, clock_wall_s(),
					 restore_handler, r);
	if (err) {
		mem_deref(r);
		return err;
	}
	log_info("registrar: %u binding(s) restored", r->count);
	*rp = r;
	return 0;
}
