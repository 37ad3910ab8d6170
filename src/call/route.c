/*
 * A new INVITE: checks, authentication, limits, then one of three routes —
 * an application's number (answered here), an extension (forked to its
 * contacts), or an outside number (the trunk, with permission only).
 *
 * The INVITE is answered with a stateless 100 Trying and not accepted into
 * a libre session until the callee's side gives us something to say (18x
 * or 2xx): libre's sipsess_accept cannot send 100, and accepting early
 * with 180 would tell the caller it rings before anything does.  Until
 * then this module answers retransmissions and CANCEL itself.
 */
#include <string.h>
#include <re.h>
#include "core/clock.h"
#include "core/event.h"
#include "core/log.h"
#include "call/call_int.h"

enum { MAX_HOPS = 8 };

static bool callid_cmp(struct le *le, void *arg)
{
	const struct call *c = le->data;
	return !pl_strcmp(arg, c->callid);
}

struct call *route_find(struct calls *cs, const struct pl *callid)
{
	return list_ledata(hash_lookup(cs->by_callid, hash_joaat_pl(callid),
				       callid_cmp, (void *)callid));
}

/* A number for the trunk rather than an extension: a national or mobile
 * number (7+ digits), anything with a trunk prefix (0, +), or an
 * emergency number.  Four-digit extensions stay ours (404 if unknown). */
bool route_is_emergency(const char *s)
{
	static const char *emergency[] = {"110", "119", "120", "122"};

	for (size_t i = 0; i < ARRAY_SIZE(emergency); i++)
		if (!strcmp(s, emergency[i]))
			return true;
	return false;
}

/* Emergency numbers are always reachable from the citizens' own devices
 * (booths, elders' one-touch devices); staff phones keep the toll-fraud
 * rules. */
static bool sos_for(const struct store_account *a, const char *number)
{
	return route_is_emergency(number) && (!strcmp(a->kind, "booth") ||
					      !strcmp(a->kind, "elder-device"));
}

bool route_is_outside(const char *s)
{
	size_t n = strlen(s);

	if (route_is_emergency(s))
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

struct fork_ctx {
	struct call *c;
	struct mbuf *offer;
	uint32_t hops;
	const char *user;
	uint32_t started;
};

static void fork_handler(const char *uri, const struct sa *src,
			 enum sip_transp tp, void *arg)
{
	struct fork_ctx *fc = arg;

	if (leg_fork(fc->c, uri, src, tp, fc->offer, fc->hops, fc->user))
		fc->started++;
}

/* Ring number: an extension's contacts, or the trunk.  Returns how many
 * legs started; *code says why none did. */
static uint32_t fork_number(struct call *c, const char *number,
			    const struct store_account *known,
			    const struct msdp *offer, uint32_t hops,
			    uint16_t *code)
{
	struct calls *cs = c->cs;
	struct store_account callee;
	struct fork_ctx fc;
	int err;

	*code = 480;
	if (known) {
		callee = *known;
		err = 0;
	}
	else {
		err = store_account_by_ext(cs->st, number, &callee);
	}
	if (err == ENOENT && !route_is_outside(number)) {
		*code = 404;
		return 0;
	}
	if (err && err != ENOENT) {
		*code = 500;
		return 0;
	}
	/* Toll-fraud guard: trunks and outside numbers need the caller's
	 * explicit permission, whoever the caller claims to be in From. */
	if ((err == ENOENT || !strcmp(callee.kind, "trunk")) &&
	    !c->caller.outbound && !sos_for(&c->caller, number)) {
		*code = 403;
		return 0;
	}
	if (err == ENOENT && !cs->cf.trunk_uri[0]) {
		*code = 404;
		return 0;
	}

	memset(&fc, 0, sizeof(fc));
	fc.c = c;
	fc.hops = hops;
	if (leg_sdp_for(c, MSIDE_B, offer, offer->dir, &fc.offer)) {
		*code = 500;
		return 0;
	}
	if (err == ENOENT) {
		char uri[320];
		struct sa none;

		sa_init(&none, AF_UNSPEC);
		/* sip:host[:port] → sip:number@host[:port] */
		re_snprintf(uri, sizeof(uri), "sip:%s@%s", number,
			    cs->cf.trunk_uri + 4);
		fork_handler(uri, &none, SIP_TRANSP_UDP, &fc);
	}
	else {
		fc.user = callee.user;
		(void)sipd_contacts(cs->sd, callee.user, fork_handler, &fc);
	}
	mem_deref(fc.offer);
	return fc.started;
}

static void ring_timeout(void *arg)
{
	struct call *c = arg;

	log_msg(LOG_INFO, c->callid, "call: no answer in %u s",
		c->cs->cf.ring_timeout_s);
	if (c->local) {
		/* A transfer nobody took: the application carries on. */
		list_flush(&c->forks);
		if (c->app.transferh)
			c->app.transferh(c, 408, c->app_arg);
		return;
	}
	leg_reply_caller(c, 480, "No Answer");
	call_end(c, "no-answer", 480, "No Answer", "system");
}

void call_transfer_cancel(struct call *c)
{
	if (!c || c->b)
		return;
	tmr_cancel(&c->tmr_ring);
	list_flush(&c->forks);
	c->fail_code = 0;
}

int call_transfer(struct call *c, const char *number, uint32_t ring_s)
{
	struct msdp offer;
	uint16_t code;

	if (!c || c->state != ST_ANSWERED || !c->local || c->b ||
	    !list_isempty(&c->forks))
		return EINVAL;

	/* Offer the callee exactly the codecs the caller is using (audio,
	 * and the video format laoyou answered), so the relay can pass
	 * packets through unchanged. */
	offer = c->offer_a;
	offer.ncodecs = 1;
	if (offer.video.ncodecs > 1)
		offer.video.ncodecs = 1;
	str_ncpy(c->rec.codec, offer.codecs[0].name, sizeof(c->rec.codec));
	if (!fork_number(c, number, NULL, &offer, 0, &code)) {
		log_msg(LOG_INFO, c->callid, "call: transfer to %s: %u",
			number, code);
		return code == 403 ? EPERM : code == 404 ? ENOENT : EAGAIN;
	}
	log_msg(LOG_INFO, c->callid, "call: transferring to %s", number);
	tmr_start(&c->tmr_ring, (ring_s ? ring_s : c->cs->cf.ring_timeout_s) *
		  1000ULL, ring_timeout, c);
	return 0;
}

int call_transfer_add(struct call *c, const char *number)
{
	struct msdp offer;
	uint16_t code;

	if (!c || c->state != ST_ANSWERED || !c->local || c->b ||
	    list_isempty(&c->forks))
		return EINVAL;
	offer = c->offer_a;
	offer.ncodecs = 1;
	if (offer.video.ncodecs > 1)
		offer.video.ncodecs = 1;
	if (!fork_number(c, number, NULL, &offer, 0, &code)) {
		log_msg(LOG_INFO, c->callid, "call: transfer to %s too: %u",
			number, code);
		return code == 403 ? EPERM : code == 404 ? ENOENT : EAGAIN;
	}
	log_msg(LOG_INFO, c->callid, "call: ringing %s too", number);
	return 0;
}

static void local_dtmf(enum mside s, char key, void *arg)
{
	struct call *c = arg;

	if (s == MSIDE_A && c->app.dtmfh && !c->b)
		c->app.dtmfh(c, key, c->app_arg);
}

/* Answer an application's call here: our SDP with the caller's first
 * codec, media kept local until a transfer bridges it.  A video stream is
 * answered too, with the caller's first format, and held back by the relay
 * until then.  Refusing it now would take a re-INVITE from laoyou to bring
 * it back once an agent with video answers, at the moment the caller's
 * phone should show the agent; held back, it costs only the packets
 * dropped while the caller waits. */
static int answer_local(struct call *c)
{
	struct msdp ans = c->offer_a;
	struct mbuf *desc = NULL;
	int err;

	ans.ncodecs = 1;
	if (ans.video.ncodecs > 1)
		ans.video.ncodecs = 1;
	ans.video.dir = msdp_dir_reverse(c->offer_a.video.dir);
	mrelay_set_codec(c->mr, MSIDE_A, ans.codecs[0].pt, ans.te_pt);
	mrelay_bridge(c->mr, false);
	mrelay_set_dtmf_handler(c->mr, local_dtmf, c);
	str_ncpy(c->rec.codec, ans.codecs[0].name, sizeof(c->rec.codec));

	err = leg_sdp_for(c, MSIDE_A, &ans, msdp_dir_reverse(c->offer_a.dir),
			  &desc);
	if (!err)
		err = leg_accept_caller(c, 200, "OK", desc);
	mem_deref(desc);
	if (err)
		return err;
	c->local = true;
	c->rec.ring_ms = clock_wall_ms();
	call_answered(c);
	return 0;
}

static void conn_handler(const struct sip_msg *msg, void *arg)
{
	struct calls *cs = arg;
	struct store_account caller, callee;
	struct call *c, *dup;
	struct msdp offer;
	char dialled[64];
	const struct sip_hdr *hops_hdr;
	uint32_t limit, hops = 0, started;
	bool for_app, have_callee = false, sos;
	struct call_app *app = NULL;
	uint16_t code;
	int err;

	/* A retransmission of an INVITE we are still routing. */
	dup = route_find(cs, &msg->callid);
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

	(void)pl_strcpy(&msg->uri.user, dialled, sizeof(dialled));
	/* A citizen's emergency call goes through whatever else is wrong: a
	 * store that cannot record it, or no outside calls on the account. */
	sos = sos_for(&caller, dialled);
	if (!store_healthy(cs->st) && !sos) {
		reject(cs, msg, 503, "Service Unavailable (store)");
		return;
	}
	if (cs->n_calls >= cs->cf.max_calls) {
		reject(cs, msg, 503, "Service Unavailable (call limit)");
		return;
	}
	limit = caller.max_calls ? caller.max_calls : cs->cf.max_calls_account;
	if (call_count(cs, caller.user) >= limit) {
		reject(cs, msg, 486, "Busy Here (account call limit)");
		return;
	}

	err = leg_body_sdp(msg, &offer);
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

	for (struct le *le = cs->apps.head; le; le = le->next) {
		app = le->data;
		if (app->claimh(dialled, app->arg))
			break;
		app = NULL;
	}
	for_app = app != NULL;
	if (for_app && media_load_pct() >= 80) {
		/* Another caller on the media tick would make every
		 * prompt late: refuse this one instead. */
		(void)sip_treplyf(NULL, NULL, cs->sip, msg, false, 503,
				  "Service Unavailable (media load)",
				  "Retry-After: 10\r\nContent-Length: 0\r\n"
				  "\r\n");
		return;
	}
	if (!for_app) {
		/* Refuse what cannot ring before any state is made. */
		err = store_account_by_ext(cs->st, dialled, &callee);
		if (err == ENOENT && !route_is_outside(dialled)) {
			reject(cs, msg, 404, "Not Found");
			return;
		}
		if ((err == ENOENT || (!err && !strcmp(callee.kind, "trunk")))
		    && !caller.outbound && !sos) {
			reject(cs, msg, 403, "Forbidden (no outbound "
			       "permission)");
			return;
		}
		if (!err && strcmp(callee.kind, "trunk") &&
		    !sipd_contacts(cs->sd, callee.user, NULL, NULL)) {
			reject(cs, msg, 480, "Temporarily Unavailable");
			return;
		}
		have_callee = !err;
	}

	c = call_alloc_for(cs, msg, &caller, dialled, &offer);
	if (!c) {
		reject(cs, msg, 500, "Server Error");
		return;
	}
	if (!for_app && cs->policyh) {
		struct call_policy p;

		memset(&p, 0, sizeof(p));
		cs->policyh(c, &caller, dialled, &p, cs->policy_arg);
		if (p.scode) {
			log_msg(LOG_INFO, c->callid, "call: %s → %s refused: "
				"%u %s", caller.user, dialled, p.scode,
				p.reason);
			leg_reply_caller(c, p.scode, p.reason);
			call_end(c, "failed", p.scode, p.reason, "system");
			return;
		}
		if (p.limit_s)
			(void)call_set_limit(c, p.limit_s, p.warn_s, p.warn);
	}

	err = mrelay_alloc(&c->mr, cs->pp);
	if (err) {
		log_msg(LOG_WARN, c->callid, "call: no RTP ports: %m", err);
		leg_reply_caller(c, 503, "Service Unavailable (media)");
		call_end(c, "failed", 503, "No Media Ports", "system");
		return;
	}
	mrelay_set_label(c->mr, c->callid);
	mrelay_set_remote(c->mr, MSIDE_A, &offer.addr, offer.dir);
	mrelay_set_peer_ip(c->mr, MSIDE_A, &msg->src);
	if (msdp_has_video(&offer)) {
		/* Without ports for it, the video is refused in place and
		 * the call goes on with audio. */
		err = mrelay_video_alloc(c->mr);
		if (err)
			log_msg(LOG_WARN, c->callid, "call: no RTP ports for "
				"video: %m", err);
		leg_video_remote(c, MSIDE_A, &offer, !err);
	}
	event_publish(EVENT_CALL_STARTED, c);

	if (for_app) {
		err = answer_local(c);
		if (err) {
			leg_reply_caller(c, 500, "Server Error");
			call_end(c, "failed", 500, "Answer Failed", "system");
			return;
		}
		log_msg(LOG_INFO, c->callid, "call: %s → %s (application)",
			caller.user, dialled);
		app->starth(c, app->arg);
		return;
	}

	(void)sip_reply(cs->sip, msg, 100, "Trying");
	started = fork_number(c, dialled, have_callee ? &callee : NULL, &offer,
			      hops, &code);
	if (!started) {
		leg_reply_caller(c, code, code == 404 ? "Not Found" :
				 code == 403 ? "Forbidden" :
				 "Temporarily Unavailable");
		call_end(c, "failed", code, "No Reachable Contact", "system");
		return;
	}
	log_msg(LOG_INFO, c->callid, "call: %s → %s (%u fork(s))",
		caller.user, dialled, started);
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
	c = route_find(cs, &msg->callid);
	if (!c || !c->inv || pl_cmp(&c->inv->via.branch, &msg->via.branch))
		return false;

	(void)sip_reply(cs->sip, msg, 200, "OK");
	(void)sip_treply(NULL, cs->sip, c->inv, 487, "Request Terminated");
	call_end(c, "cancelled", 487, "Caller Cancelled", "caller");
	return true;
}

int route_listen(struct calls *cs)
{
	int err;

	err = sipsess_listen(&cs->sock, cs->sip, 16384, conn_handler, cs);
	if (!err)
		err = sip_listen(&cs->lsnr, cs->sip, true, cancel_handler, cs);
	return err;
}

struct first_contact {
	char uri[STORE_URI_MAX];
	struct sa src;
	enum sip_transp tp;
	bool found;
};

static void first_contact_h(const char *uri, const struct sa *src,
			    enum sip_transp tp, void *arg)
{
	struct first_contact *fc = arg;

	if (fc->found)
		return;
	str_ncpy(fc->uri, uri, sizeof(fc->uri));
	fc->src = *src;
	fc->tp = tp;
	fc->found = true;
}

int calls_originate(struct calls *cs, const char *number, const char *as_user,
		    const struct call_handlers *h, void *arg,
		    struct call **cp)
{
	struct store_account as, callee;
	struct first_contact fc;
	struct mbuf *offer = NULL;
	struct msdp tmpl;
	struct call *c;
	int err;

	if (cs->closing || cs->n_calls >= cs->cf.max_calls)
		return EBUSY;
	if (store_account_get(cs->st, as_user, &as))
		return ENOENT;

	memset(&fc, 0, sizeof(fc));
	err = store_account_by_ext(cs->st, number, &callee);
	if (!err && strcmp(callee.kind, "trunk")) {
		(void)sipd_contacts(cs->sd, callee.user, first_contact_h, &fc);
		if (!fc.found)
			return ENOTCONN;
	}
	else {
		/* The toll-fraud rules hold for calls laoyou places too. */
		if (!as.outbound || !cs->cf.trunk_uri[0] ||
		    (err == ENOENT && !route_is_outside(number)))
			return EPERM;
		re_snprintf(fc.uri, sizeof(fc.uri), "sip:%s@%s", number,
			    cs->cf.trunk_uri + 4);
		sa_init(&fc.src, AF_UNSPEC);
	}

	/* Our offer: what laoyou can relay. */
	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.codecs[0].pt = 0;
	str_ncpy(tmpl.codecs[0].name, "PCMU", sizeof(tmpl.codecs[0].name));
	tmpl.codecs[1].pt = 8;
	str_ncpy(tmpl.codecs[1].name, "PCMA", sizeof(tmpl.codecs[1].name));
	tmpl.ncodecs = 2;
	tmpl.te_pt = 101;
	tmpl.dir = MDIR_SENDRECV;
	tmpl.audio_idx = 0;
	tmpl.video_idx = -1;
	tmpl.nmlines = 1;
	str_ncpy(tmpl.mline[0], "audio RTP/AVP 0", sizeof(tmpl.mline[0]));

	c = call_alloc_for(cs, NULL, &as, number, &tmpl);
	if (!c)
		return ENOMEM;
	c->local = true;
	call_set_handlers(c, h, arg);
	err = mrelay_alloc(&c->mr, cs->pp);
	if (!err) {
		mrelay_set_label(c->mr, c->callid);
		mrelay_bridge(c->mr, false);
		mrelay_set_dtmf_handler(c->mr, local_dtmf, c);
		if (sa_isset(&fc.src, SA_ADDR))
			mrelay_set_peer_ip(c->mr, MSIDE_A, &fc.src);
		err = leg_sdp_for(c, MSIDE_A, &tmpl, MDIR_SENDRECV, &offer);
	}
	if (!err)
		err = leg_originate(c, fc.uri, &fc.src, fc.tp, offer);
	mem_deref(offer);
	if (err) {
		memset(&c->app, 0, sizeof(c->app));
		call_end(c, "failed", 500, "Originate Failed", "system");
		return err;
	}
	event_publish(EVENT_CALL_STARTED, c);
	log_msg(LOG_INFO, c->callid, "call: laoyou calls %s for %s", number,
		as_user);
	*cp = mem_ref(c);
	return 0;
}
