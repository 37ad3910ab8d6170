/*
 * The B2BUA.
 *
 * An INVITE is answered with a stateless 100 Trying and not accepted into
 * a libre session until the callee's side gives us something to say (18x
 * or 2xx): libre's sipsess_accept cannot send 100, and accepting early
 * with 180 would tell the caller it rings before anything does.  Until
 * then this module answers retransmissions and CANCEL itself.
 *
 * States: ROUTING (forks out, caller not yet accepted) → RINGING (caller's
 * session accepted with 18x) → ANSWERED → ENDED.  Every path to ENDED goes
 * through call_end(), which fixes the record once and publishes it.
 */
#include <string.h>
#include <strings.h>
#include <re.h>
#include "core/clock.h"
#include "core/event.h"
#include "core/log.h"
#include "call/call.h"

enum { HT_CALLS = 16384, MAX_HOPS = 8 };

enum call_state { ST_ROUTING, ST_RINGING, ST_ANSWERED, ST_ENDED };

struct leg {
	struct le le;
	struct call *call;
	struct sipsess *sess;
	struct msdp answer;        /* callee's SDP, once it has sent one */
	bool has_answer;
};

struct call {
	struct le le;              /* calls->all */
	struct le he;              /* calls->by_callid */
	struct calls *cs;
	enum call_state state;
	const struct sip_msg *inv; /* caller's INVITE, until accepted */
	struct sipsess *a;         /* caller's leg */
	struct list forks;         /* struct leg, until one answers */
	struct leg *b;             /* the leg that answered */
	struct mrelay *mr;
	struct msdp offer_a;       /* caller's last offer */
	struct msdp sdp_b;         /* callee's last SDP */
	uint64_t sess_id;
	uint32_t ver_a, ver_b;     /* our SDP versions towards A and B */
	uint16_t fail_code;
	char fail_reason[64];
	uint64_t answered_mono;
	struct tmr tmr_ring;
	struct tmr tmr_rtp;
	char callid[128];
	char caller_user[STORE_USER_MAX];
	struct store_cdr rec;
};

struct acct_count {
	struct le he;
	char user[STORE_USER_MAX];
	uint32_t n;
};

struct calls {
	struct conf cf;
	struct sipd *sd;
	struct sip *sip;
	struct store *st;
	struct portpool *pp;
	struct sipsess_sock *sock;
	struct sip_lsnr *lsnr;
	struct list all;
	uint32_t n_calls;
	struct hash *by_callid;
	struct hash *per_account;
	bool closing;
};

static void rtp_check(void *arg);
static void call_end(struct call *c, const char *disposition, uint16_t cause,
		     const char *reason, const char *hangup_by);

/* ---------- per-account concurrency ---------- */

static bool count_cmp(struct le *le, void *arg)
{
	const struct acct_count *ac = le->data;
	return !strcmp(ac->user, arg);
}

static struct acct_count *count_find(struct calls *cs, const char *user)
{
	return list_ledata(hash_lookup(cs->per_account, hash_joaat_str(user),
				       count_cmp, (void *)user));
}

static void count_destructor(void *arg)
{
	struct acct_count *ac = arg;
	hash_unlink(&ac->he);
}

static int count_add(struct calls *cs, const char *user)
{
	struct acct_count *ac = count_find(cs, user);

	if (!ac) {
		ac = mem_zalloc(sizeof(*ac), count_destructor);
		if (!ac)
			return ENOMEM;
		str_ncpy(ac->user, user, sizeof(ac->user));
		hash_append(cs->per_account, hash_joaat_str(user), &ac->he, ac);
	}
	ac->n++;
	return 0;
}

static void count_del(struct calls *cs, const char *user)
{
	struct acct_count *ac = count_find(cs, user);

	if (ac && --ac->n == 0)
		mem_deref(ac);
}

/* ---------- helpers ---------- */

static void leg_destructor(void *arg)
{
	struct leg *l = arg;

	list_unlink(&l->le);
	/* libre sends CANCEL before an answer and BYE after it. */
	mem_deref(l->sess);
}

static void call_destructor(void *arg)
{
	struct call *c = arg;

	tmr_cancel(&c->tmr_ring);
	tmr_cancel(&c->tmr_rtp);
	list_unlink(&c->le);
	hash_unlink(&c->he);
	c->cs->n_calls--;
	list_flush(&c->forks);
	mem_deref(c->b);
	mem_deref(c->a);
	mem_deref((void *)c->inv);
	mem_deref(c->mr);
	if (c->caller_user[0])
		count_del(c->cs, c->caller_user);
}

static int sdp_for(struct call *c, enum mside side, const struct msdp *tmpl,
		   enum mdir dir, struct mbuf **mbp)
{
	struct msdp s = *tmpl;

	mrelay_laddr(c->mr, side, &s.addr);
	s.dir = dir;
	return msdp_encode(mbp, &s, c->sess_id,
			   side == MSIDE_A ? ++c->ver_a : ++c->ver_b);
}

/* Our SDP towards the caller, from what the callee chose. */
static int answer_for_a(struct call *c, const struct msdp *ans_b,
			struct mbuf **mbp)
{
	struct msdp s = c->offer_a;

	msdp_intersect(&s, &c->offer_a, ans_b);
	if (!s.ncodecs)
		return EPROTO;
	str_ncpy(c->rec.codec, s.codecs[0].name, sizeof(c->rec.codec));
	return sdp_for(c, MSIDE_A, &s, ans_b->dir, mbp);
}

static int body_sdp(const struct sip_msg *msg, struct msdp *s)
{
	struct pl body;

	if (!mbuf_get_left(msg->mb))
		return ENODATA;
	if (!msg_ctype_cmp(&msg->ctyp, "application", "sdp"))
		return EPROTONOSUPPORT;
	body.p = (const char *)mbuf_buf(msg->mb);
	body.l = mbuf_get_left(msg->mb);
	return msdp_parse(s, &body);
}

static void set_fail(struct call *c, uint16_t code, const struct pl *reason)
{
	/* Keep the most telling failure across forks: a 6xx, then busy,
	 * then any other; RFC 3261 §16.7 in small. */
	int rank_new = code >= 600 ? 3 : code == 486 ? 2 : 1;
	int rank_old = !c->fail_code ? 0 : c->fail_code >= 600 ? 3 :
		c->fail_code == 486 ? 2 : 1;

	if (rank_new <= rank_old)
		return;
	c->fail_code = code;
	if (reason)
		(void)pl_strcpy(reason, c->fail_reason,
				sizeof(c->fail_reason));
	else
		str_ncpy(c->fail_reason, code == 408 ? "Request Timeout" :
			 "Temporarily Unavailable", sizeof(c->fail_reason));
}

static const char *disposition_of(uint16_t code)
{
	switch (code) {
	case 486:
	case 600: return "busy";
	case 408:
	case 480: return "no-answer";
	case 603: return "rejected";
	case 487: return "cancelled";
	default:  return "failed";
	}
}

/* Say code to the caller, whatever state its leg is in. */
static void reply_caller(struct call *c, uint16_t code, const char *reason)
{
	if (c->a) {
		if (c->state != ST_ANSWERED)
			(void)sipsess_reject(c->a, code, reason, NULL);
	}
	else if (c->inv) {
		(void)sip_treply(NULL, c->cs->sip, c->inv, code, reason);
	}
}

/* ---------- caller leg handlers ---------- */

static int a_offer_handler(struct mbuf **descp, const struct sip_msg *msg,
			   void *arg)
{
	struct call *c = arg;
	struct msdp s, ans;
	struct mbuf *mb = NULL;
	int err;

	/* A re-INVITE: answer now from the anchored media (libre sends 200
	 * at once), then carry the change to the callee. */
	err = body_sdp(msg, &s);
	if (err || s.audio_idx < 0 || !s.ncodecs)
		return err ? err : EPROTO;
	ans = s;
	msdp_intersect(&ans, &s, &c->sdp_b);
	if (!ans.ncodecs)
		return EPROTO;
	c->offer_a = s;
	mrelay_set_remote(c->mr, MSIDE_A, &s.addr, s.dir);
	err = sdp_for(c, MSIDE_A, &ans, msdp_dir_reverse(s.dir), descp);
	if (err)
		return err;
	log_msg(LOG_INFO, c->callid, "call: caller re-INVITE (%s)",
		msdp_dir_name(s.dir));

	if (c->b && !sdp_for(c, MSIDE_B, &c->offer_a, s.dir, &mb)) {
		(void)sipsess_modify(c->b->sess, mb);
		mem_deref(mb);
	}
	return 0;
}

static int a_answer_handler(const struct sip_msg *msg, void *arg)
{
	struct call *c = arg;
	struct msdp s;

	/* The caller's answer to a re-INVITE we sent it. */
	if (!body_sdp(msg, &s) && s.audio_idx >= 0)
		mrelay_set_remote(c->mr, MSIDE_A, &s.addr, s.dir);
	return 0;
}

static void a_estab_handler(const struct sip_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
}

static void info_relay(struct sipsess *to, struct sip *sip,
		       const struct sip_msg *msg)
{
	struct mbuf *body = NULL;
	char ctype[64];
	int err = ENOTSUP;

	if (to && pl_isset(&msg->ctyp.type)) {
		re_snprintf(ctype, sizeof(ctype), "%r/%r", &msg->ctyp.type,
			    &msg->ctyp.subtype);
		body = mbuf_alloc(mbuf_get_left(msg->mb) + 1);
		if (body) {
			(void)mbuf_write_mem(body, mbuf_buf(msg->mb),
					     mbuf_get_left(msg->mb));
			body->pos = 0;
			err = sipsess_info(to, ctype, body, NULL, NULL);
			mem_deref(body);
		}
	}
	(void)sip_reply(sip, msg, err ? 415 : 200, err ? "Unsupported Media"
			" Type" : "OK");
}

static void a_info_handler(struct sip *sip, const struct sip_msg *msg,
			   void *arg)
{
	struct call *c = arg;
	info_relay(c->b ? c->b->sess : NULL, sip, msg);
}

static void a_close_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct call *c = arg;
	(void)msg;

	if (c->state == ST_ANSWERED)
		call_end(c, "answered", 200,
			 err == ETIMEDOUT ? "No ACK from caller" :
			 "Normal Clearing", err == ETIMEDOUT ? "system" :
			 "caller");
	else
		call_end(c, "cancelled", 487, "Caller Cancelled", "caller");
}

static int accept_caller(struct call *c, uint16_t code, const char *reason,
			 struct mbuf *desc)
{
	int err;

	err = sipsess_accept(&c->a, c->cs->sock, c->inv, code, reason,
			     "laoyou", "application/sdp", desc, NULL, NULL,
			     false, a_offer_handler, a_answer_handler,
			     a_estab_handler, a_info_handler, NULL,
			     a_close_handler, c, NULL);
	if (!err)
		c->inv = mem_deref((void *)c->inv);
	return err;
}

/* ---------- callee leg handlers ---------- */

static int b_offer_handler(struct mbuf **descp, const struct sip_msg *msg,
			   void *arg)
{
	struct leg *l = arg;
	struct call *c = l->call;
	struct msdp s, ans;
	struct mbuf *mb = NULL;
	int err;

	if (c->b != l)
		return EPROTO;
	err = body_sdp(msg, &s);
	if (err || s.audio_idx < 0 || !s.ncodecs)
		return err ? err : EPROTO;
	c->sdp_b = s;
	mrelay_set_remote(c->mr, MSIDE_B, &s.addr, s.dir);

	ans = c->offer_a;
	msdp_intersect(&ans, &c->offer_a, &s);
	if (!ans.ncodecs)
		return EPROTO;
	err = sdp_for(c, MSIDE_B, &ans, msdp_dir_reverse(s.dir), descp);
	if (err)
		return err;
	log_msg(LOG_INFO, c->callid, "call: callee re-INVITE (%s)",
		msdp_dir_name(s.dir));

	if (c->a && !answer_for_a(c, &s, &mb)) {
		(void)sipsess_modify(c->a, mb);
		mem_deref(mb);
	}
	return 0;
}

static int b_answer_handler(const struct sip_msg *msg, void *arg)
{
	struct leg *l = arg;
	struct call *c = l->call;
	struct msdp s, both;

	if (body_sdp(msg, &s) || s.audio_idx < 0)
		return EPROTO;
	both = c->offer_a;
	msdp_intersect(&both, &c->offer_a, &s);
	if (!both.ncodecs)
		return EPROTO;  /* libre ends this leg; closeh sees it */
	l->answer = s;
	l->has_answer = true;
	if (c->b == l) {
		/* The answer to our re-INVITE after the call was set up. */
		c->sdp_b = s;
		mrelay_set_remote(c->mr, MSIDE_B, &s.addr, s.dir);
	}
	return 0;
}

static void b_progress_handler(const struct sip_msg *msg, void *arg)
{
	struct leg *l = arg;
	struct call *c = l->call;
	struct mbuf *desc = NULL;
	struct msdp s;
	uint16_t code = msg->scode == 183 ? 183 : 180;
	int err;

	if (msg->scode == 100 || c->state >= ST_ANSWERED)
		return;

	/* Early media: the caller hears the callee's side through us. */
	if (!body_sdp(msg, &s) && s.audio_idx >= 0 && s.ncodecs &&
	    !answer_for_a(c, &s, &desc)) {
		mrelay_set_remote(c->mr, MSIDE_B, &s.addr, s.dir);
		code = 183;
	}

	if (!c->rec.ring_ms) {
		c->rec.ring_ms = clock_wall_ms();
		event_publish(EVENT_CALL_RINGING, c);
	}

	if (c->state == ST_ROUTING) {
		err = accept_caller(c, code, code == 180 ? "Ringing" :
				    "Session Progress", desc);
		if (!err)
			c->state = ST_RINGING;
	}
	else {
		(void)sipsess_progress(c->a, code, code == 180 ? "Ringing" :
				       "Session Progress", desc, NULL);
	}
	mem_deref(desc);
}

static void b_estab_handler(const struct sip_msg *msg, void *arg)
{
	struct leg *l = arg;
	struct call *c = l->call;
	struct mbuf *desc = NULL;
	int err;
	(void)msg;

	if (c->state >= ST_ANSWERED || c->b) {
		/* A second fork answered too late: hang it up. */
		mem_deref(l);
		return;
	}

	c->b = l;
	list_unlink(&l->le);
	list_flush(&c->forks);     /* CANCEL the others */
	tmr_cancel(&c->tmr_ring);

	c->sdp_b = l->answer;
	mrelay_set_remote(c->mr, MSIDE_B, &l->answer.addr, l->answer.dir);
	err = answer_for_a(c, &l->answer, &desc);
	if (!err) {
		if (c->state == ST_ROUTING)
			err = accept_caller(c, 200, "OK", desc);
		else
			err = sipsess_answer(c->a, 200, "OK", desc, NULL);
	}
	mem_deref(desc);
	if (err) {
		log_msg(LOG_WARN, c->callid, "call: cannot answer caller: %m",
			err);
		reply_caller(c, 500, "Server Error");
		call_end(c, "failed", 500, "Answer Failed", "system");
		return;
	}

	c->state = ST_ANSWERED;
	c->rec.answer_ms = clock_wall_ms();
	c->answered_mono = clock_mono_ms();
	tmr_start(&c->tmr_rtp, c->cs->cf.rtp_timeout_s * 1000ULL, rtp_check,
		  c);
	log_msg(LOG_INFO, c->callid, "call: %s → %s answered (%s)",
		c->rec.caller, c->rec.callee, c->rec.codec);
	event_publish(EVENT_CALL_ANSWERED, c);
}

static void b_info_handler(struct sip *sip, const struct sip_msg *msg,
			   void *arg)
{
	struct leg *l = arg;
	info_relay(l->call->b == l ? l->call->a : NULL, sip, msg);
}

static void b_close_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct leg *l = arg;
	struct call *c = l->call;

	if (c->b == l) {
		call_end(c, "answered", 200, err == ETIMEDOUT ?
			 "Callee Timeout" : "Normal Clearing",
			 err == ETIMEDOUT ? "system" : "callee");
		return;
	}

	/* A fork failed. */
	if (msg && msg->scode >= 300)
		set_fail(c, msg->scode, &msg->reason);
	else if (err == ETIMEDOUT)
		set_fail(c, 408, NULL);
	else if (err == EPROTO)
		set_fail(c, 488, NULL);
	else
		set_fail(c, 480, NULL);
	mem_deref(l);

	if (list_isempty(&c->forks) && !c->b && c->state < ST_ANSWERED) {
		reply_caller(c, c->fail_code, c->fail_reason);
		call_end(c, disposition_of(c->fail_code), c->fail_code,
			 c->fail_reason, "callee");
	}
}

/* ---------- timers ---------- */

static void ring_timeout(void *arg)
{
	struct call *c = arg;

	log_msg(LOG_INFO, c->callid, "call: no answer in %u s",
		c->cs->cf.ring_timeout_s);
	reply_caller(c, 480, "No Answer");
	call_end(c, "no-answer", 480, "No Answer", "system");
}

static void rtp_check(void *arg)
{
	struct call *c = arg;
	uint64_t now = clock_mono_ms();
	uint64_t limit = c->cs->cf.rtp_timeout_s * 1000ULL;
	uint64_t last = mrelay_last_rx(c->mr);
	/* A held call may be silent as long as it likes. */
	bool held = c->offer_a.dir != MDIR_SENDRECV ||
		c->sdp_b.dir != MDIR_SENDRECV;

	if (last < c->answered_mono)
		last = c->answered_mono;
	if (held)
		last = now;
	if (now - last >= limit) {
		log_msg(LOG_WARN, c->callid, "call: no RTP for %u s",
			c->cs->cf.rtp_timeout_s);
		call_end(c, "answered", 408, "RTP Timeout", "system");
		return;
	}
	tmr_start(&c->tmr_rtp, limit - (now - last) + 10, rtp_check, c);
}

/* ---------- the end ---------- */

static void rtp_check(void *arg);
static void call_end(struct call *c, const char *disposition, uint16_t cause,
		     const char *reason, const char *hangup_by)
{
	struct mrelay_stats ms;
	int64_t now = clock_wall_ms();

	if (c->state == ST_ENDED)
		return;

	tmr_cancel(&c->tmr_ring);
	tmr_cancel(&c->tmr_rtp);
	if (c->state != ST_ANSWERED && !strcmp(disposition, "answered"))
		disposition = "failed";
	c->state = ST_ENDED;

	c->rec.end_ms = now;
	c->rec.duration_s = (uint32_t)((now - c->rec.start_ms + 500) / 1000);
	c->rec.billable_s = c->rec.answer_ms ?
		(uint32_t)((now - c->rec.answer_ms + 999) / 1000) : 0;
	str_ncpy(c->rec.disposition, disposition, sizeof(c->rec.disposition));
	c->rec.cause = cause;
	str_ncpy(c->rec.reason, reason, sizeof(c->rec.reason));
	str_ncpy(c->rec.hangup_by, hangup_by, sizeof(c->rec.hangup_by));
	if (c->mr) {
		mrelay_stats(c->mr, &ms);
		c->rec.pkts_a2b = ms.pkts[MSIDE_A];
		c->rec.bytes_a2b = ms.bytes[MSIDE_A];
		c->rec.pkts_b2a = ms.pkts[MSIDE_B];
		c->rec.bytes_b2a = ms.bytes[MSIDE_B];
		c->rec.lost_a2b = ms.lost[MSIDE_A];
		c->rec.lost_b2a = ms.lost[MSIDE_B];
	}

	log_msg(LOG_INFO, c->callid, "call: ended %s %u %s by %s after %us",
		disposition, cause, reason, hangup_by, c->rec.duration_s);
	event_publish(EVENT_CALL_ENDED, c);

	/* Dropping the sessions sends what each still needs: BYE to an
	 * answered leg, CANCEL to a ringing fork. */
	mem_deref(c);
}

/* ---------- a new call ---------- */

struct fork_ctx {
	struct call *c;
	const struct store_account *caller;
	struct mbuf *offer;
	uint32_t hops;
	uint32_t started;
};

static void fork_to(const char *uri, const struct sa *src, enum sip_transp tp,
		    void *arg)
{
	struct fork_ctx *fc = arg;
	struct call *c = fc->c;
	struct leg *l;
	char from[160], route[96];
	const char *routev[1];
	uint32_t routec = 0;
	struct sip_addr ca;
	struct pl pl;
	int err;

	l = mem_zalloc(sizeof(*l), leg_destructor);
	if (!l)
		return;
	l->call = c;

	/* Reach a contact behind NAT where its REGISTER came from. */
	pl_set_str(&pl, uri);
	if (sa_isset(src, SA_ALL) && !sip_addr_decode(&ca, &pl)) {
		struct sa dst;
		/* Same host, other port: a third-party registration or a
		 * second socket of the phone; trust the contact then. */
		if (sa_set(&dst, &ca.uri.host, ca.uri.port ? ca.uri.port :
			   5060) || !sa_cmp(&dst, src, SA_ADDR)) {
			re_snprintf(route, sizeof(route), "<sip:%J;lr%s>", src,
				    tp == SIP_TRANSP_TCP ?
				    ";transport=tcp" : "");
			routev[0] = route;
			routec = 1;
		}
	}

	re_snprintf(from, sizeof(from), "sip:%s@%j",
		    fc->caller->ext[0] ? fc->caller->ext : fc->caller->user,
		    &c->cs->cf.sip_udp);

	err = sipsess_connect(&l->sess, c->cs->sock, uri,
			      fc->caller->display[0] ? fc->caller->display :
			      NULL, from, "laoyou", routev, routec,
			      "application/sdp", fc->offer, NULL, NULL, false,
			      b_offer_handler, b_answer_handler,
			      b_progress_handler, b_estab_handler,
			      b_info_handler, NULL, b_close_handler, l,
			      "X-Laoyou-Hops: %u\r\n", fc->hops + 1);
	if (err) {
		log_msg(LOG_WARN, c->callid, "call: fork to %s: %m", uri, err);
		mem_deref(l);
		return;
	}
	list_append(&c->forks, &l->le, l);
	fc->started++;
}

static bool callid_cmp(struct le *le, void *arg)
{
	const struct call *c = le->data;
	return !pl_strcmp(arg, c->callid);
}

static struct call *call_find(struct calls *cs, const struct pl *callid)
{
	return list_ledata(hash_lookup(cs->by_callid, hash_joaat_pl(callid),
				       callid_cmp, (void *)callid));
}

/* A number for the trunk rather than an extension: a national or mobile
 * number (7+ digits), anything with a trunk prefix (0, +), or an
 * emergency number.  Four-digit extensions stay ours (404 if unknown). */
static bool is_outside_number(const char *s)
{
	static const char *emergency[] = {"110", "119", "120", "122"};
	size_t n = strlen(s);

	for (size_t i = 0; i < ARRAY_SIZE(emergency); i++)
		if (!strcmp(s, emergency[i]))
			return true;
	for (size_t i = s[0] == '+' ? 1 : 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n >= 7 || s[0] == '0' || s[0] == '+';
}

static void reject(struct calls *cs, const struct sip_msg *msg, uint16_t code,
		   const char *reason)
{
	log_msg(LOG_INFO, NULL, "call: INVITE %r from %J: %u %s", &msg->ruri,
		&msg->src, code, reason);
	(void)sip_treply(NULL, cs->sip, msg, code, reason);
}

static void conn_handler(const struct sip_msg *msg, void *arg)
{
	struct calls *cs = arg;
	struct store_account caller, callee;
	struct fork_ctx fc;
	struct call *c, *dup;
	struct msdp offer;
	char dialled[64];
	const struct sip_hdr *hops_hdr;
	uint32_t limit, hops = 0;
	struct acct_count *ac;
	int err;

	/* A retransmission of an INVITE we are still routing. */
	dup = call_find(cs, &msg->callid);
	if (dup && dup->inv && !pl_cmp(&dup->inv->via.branch,
				       &msg->via.branch)) {
		(void)sip_reply(cs->sip, msg, 100, "Trying");
		return;
	}

	if (cs->closing) {
		(void)sip_treplyf(NULL, NULL, cs->sip, msg, false, 503,
				  "Service Unavailable", "Retry-After: 30\r\n"
				  "Content-Length: 0\r\n\r\n");
		return;
	}

	if (pl_isset(&msg->maxfwd) && pl_u32(&msg->maxfwd) == 0) {
		reject(cs, msg, 483, "Too Many Hops");
		return;
	}
	hops_hdr = sip_msg_xhdr(msg, "X-Laoyou-Hops");
	if (hops_hdr)
		hops = pl_u32(&hops_hdr->val);
	if (hops >= MAX_HOPS) {
		reject(cs, msg, 482, "Loop Detected");
		return;
	}

	if (sipd_authenticate(cs->sd, msg, &caller))
		return;

	if (!store_healthy(cs->st)) {
		reject(cs, msg, 503, "Service Unavailable (store)");
		return;
	}
	if (cs->n_calls >= cs->cf.max_calls) {
		reject(cs, msg, 503, "Service Unavailable (call limit)");
		return;
	}
	limit = caller.max_calls ? caller.max_calls : cs->cf.max_calls_account;
	ac = count_find(cs, caller.user);
	if (ac && ac->n >= limit) {
		reject(cs, msg, 486, "Busy Here (account call limit)");
		return;
	}

	err = body_sdp(msg, &offer);
	if (err == EPROTONOSUPPORT) {
		(void)sip_treplyf(NULL, NULL, cs->sip, msg, false, 415,
				  "Unsupported Media Type", "Accept: "
				  "application/sdp\r\nContent-Length: 0\r\n\r\n");
		return;
	}
	if (err || offer.audio_idx < 0 || !offer.ncodecs) {
		reject(cs, msg, 488, err == ENODATA ? "Not Acceptable Here "
		       "(no SDP offer)" : "Not Acceptable Here (no common "
		       "codec)");
		return;
	}

	(void)pl_strcpy(&msg->uri.user, dialled, sizeof(dialled));
	err = store_account_by_ext(cs->st, dialled, &callee);
	if (err == ENOENT && !is_outside_number(dialled)) {
		reject(cs, msg, 404, "Not Found");
		return;
	}
	if (err && err != ENOENT) {
		reject(cs, msg, 500, "Server Error");
		return;
	}
	/* Toll-fraud guard: trunks and outside numbers need the caller's
	 * explicit permission, whoever the caller claims to be in From. */
	if (err == ENOENT || !strcmp(callee.kind, "trunk")) {
		if (!caller.outbound) {
			reject(cs, msg, 403, "Forbidden (no outbound "
			       "permission)");
			return;
		}
		if (err == ENOENT && !cs->cf.trunk_uri[0]) {
			reject(cs, msg, 404, "Not Found (no trunk)");
			return;
		}
	}
	if (err == ENOENT) {
		memset(&callee, 0, sizeof(callee));
		str_ncpy(callee.user, dialled, sizeof(callee.user));
	}
	else if (!sipd_contacts(cs->sd, callee.user, NULL, NULL)) {
		reject(cs, msg, 480, "Temporarily Unavailable");
		return;
	}


	c = mem_zalloc(sizeof(*c), call_destructor);
	if (!c) {
		reject(cs, msg, 500, "Server Error");
		return;
	}
	c->cs = cs;
	c->state = ST_ROUTING;
	c->sess_id = rand_u32();
	c->offer_a = offer;
	(void)pl_strcpy(&msg->callid, c->callid, sizeof(c->callid));
	list_append(&cs->all, &c->le, c);
	cs->n_calls++;
	hash_append(cs->by_callid, hash_joaat_pl(&msg->callid), &c->he, c);
	if (count_add(cs, caller.user) == 0)
		str_ncpy(c->caller_user, caller.user, sizeof(c->caller_user));

	str_ncpy(c->rec.callid, c->callid, sizeof(c->rec.callid));
	str_ncpy(c->rec.caller, caller.user, sizeof(c->rec.caller));
	str_ncpy(c->rec.callee, callee.user, sizeof(c->rec.callee));
	str_ncpy(c->rec.dialled, dialled, sizeof(c->rec.dialled));
	c->rec.start_ms = clock_wall_ms();

	err = mrelay_alloc(&c->mr, cs->pp);
	if (err) {
		log_msg(LOG_WARN, c->callid, "call: no RTP ports: %m", err);
		reject(cs, msg, 503, "Service Unavailable (media)");
		c->inv = mem_ref((void *)msg);
		call_end(c, "failed", 503, "No Media Ports", "system");
		return;
	}
	mrelay_set_remote(c->mr, MSIDE_A, &offer.addr, offer.dir);

	c->inv = mem_ref((void *)msg);
	(void)sip_reply(cs->sip, msg, 100, "Trying");
	event_publish(EVENT_CALL_STARTED, c);

	memset(&fc, 0, sizeof(fc));
	fc.c = c;
	fc.caller = &caller;
	fc.hops = hops;
	err = sdp_for(c, MSIDE_B, &offer, offer.dir, &fc.offer);
	if (!err) {
		if (callee.ext[0])
			(void)sipd_contacts(cs->sd, callee.user, fork_to, &fc);
		else {
			char uri[320];
			struct sa none;
			sa_init(&none, AF_UNSPEC);
			/* sip:host[:port] → sip:number@host[:port] */
			re_snprintf(uri, sizeof(uri), "sip:%s@%s", dialled,
				    cs->cf.trunk_uri + 4);
			fork_to(uri, &none, SIP_TRANSP_UDP, &fc);
		}
	}
	mem_deref(fc.offer);

	if (!fc.started) {
		reply_caller(c, 480, "Temporarily Unavailable");
		call_end(c, "failed", 480, "No Reachable Contact", "system");
		return;
	}

	log_msg(LOG_INFO, c->callid, "call: %s → %s (%u fork(s))",
		caller.user, dialled, fc.started);
	tmr_start(&c->tmr_ring, cs->cf.ring_timeout_s * 1000ULL, ring_timeout,
		  c);
}

/* CANCEL of an INVITE we have not yet accepted into a session (after
 * that, libre's server transaction takes the CANCEL). */
static bool cancel_handler(const struct sip_msg *msg, void *arg)
{
	struct calls *cs = arg;
	struct call *c;

	if (pl_strcmp(&msg->met, "CANCEL"))
		return false;
	c = call_find(cs, &msg->callid);
	if (!c || !c->inv || pl_cmp(&c->inv->via.branch, &msg->via.branch))
		return false;

	(void)sip_reply(cs->sip, msg, 200, "OK");
	(void)sip_treply(NULL, cs->sip, c->inv, 487, "Request Terminated");
	call_end(c, "cancelled", 487, "Caller Cancelled", "caller");
	return true;
}

static void calls_destructor(void *arg)
{
	struct calls *cs = arg;

	list_flush(&cs->all);
	mem_deref(cs->lsnr);
	mem_deref(cs->sock);
	hash_flush(cs->per_account);
	mem_deref(cs->per_account);
	mem_deref(cs->by_callid);
	mem_deref(cs->pp);
	mem_deref(cs->st);
	mem_deref(cs->sd);
}

int calls_alloc(struct calls **csp, const struct conf *cf, struct sipd *sd,
		struct store *st, struct portpool *pp)
{
	struct calls *cs;
	int err;

	if (!csp || !cf || !sd || !st || !pp)
		return EINVAL;

	cs = mem_zalloc(sizeof(*cs), calls_destructor);
	if (!cs)
		return ENOMEM;
	cs->cf = *cf;
	cs->sd = mem_ref(sd);
	cs->sip = sipd_stack(sd);
	cs->st = mem_ref(st);
	cs->pp = mem_ref(pp);

	err = hash_alloc(&cs->by_callid, HT_CALLS);
	err |= hash_alloc(&cs->per_account, 1024);
	if (err)
		goto out;
	err = sipsess_listen(&cs->sock, cs->sip, HT_CALLS, conn_handler, cs);
	if (err)
		goto out;
	err = sip_listen(&cs->lsnr, cs->sip, true, cancel_handler, cs);

 out:
	if (err)
		mem_deref(cs);
	else
		*csp = cs;
	return err;
}

void calls_reconf(struct calls *cs, const struct conf *cf)
{
	struct sa udp = cs->cf.sip_udp;

	cs->cf = *cf;
	cs->cf.sip_udp = udp;
}

uint32_t calls_active(const struct calls *cs)
{
	return cs->n_calls;
}

void calls_shutdown(struct calls *cs)
{
	struct le *le;

	cs->closing = true;
	le = cs->all.head;
	while (le) {
		struct call *c = le->data;
		le = le->next;
		if (c->state != ST_ANSWERED)
			reply_caller(c, 503, "Service Unavailable");
		call_end(c, c->state == ST_ANSWERED ? "answered" : "failed",
			 503, "Shutdown", "system");
	}
}

const struct store_cdr *call_record(const struct call *c)
{
	return &c->rec;
}
