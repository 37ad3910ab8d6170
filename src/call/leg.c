/*
 * The two kinds of leg: the caller's (A, a libre session we accept) and
 * the callee's (B, sessions we connect, one per forked contact).  Each
 * leg's SDP is ours: the relay's address with the peer's codecs.
 *
 * A video stream rides along: offered to the callee as the caller offered
 * it, answered to the caller with the formats both ends share (by name),
 * rejected in place (port 0) towards a side when the other does not take
 * it.  Its packets go through the relay's second pair of ports.
 */
#include <string.h>
#include <re.h>
#include "core/clock.h"
#include "core/event.h"
#include "core/log.h"
#include "call/call_int.h"

/* ---------- SDP ---------- */

int leg_body_sdp(const struct sip_msg *msg, struct msdp *s)
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

int leg_sdp_for(struct call *c, enum mside side, const struct msdp *tmpl,
		enum mdir dir, struct mbuf **mbp)
{
	struct msdp s = *tmpl;

	mrelay_laddr(c->mr, side, &s.addr);
	s.dir = dir;
	/* The video's direction is the template's own.  Its ports come
	 * from the same pool (one IP, the session's c= line); without
	 * them the stream is rejected in place. */
	if (msdp_has_video(&s) && !mrelay_video_alloc(c->mr))
		mrelay_video_laddr(c->mr, side, &s.video.addr);
	else
		s.video.ncodecs = 0;
	return msdp_encode(mbp, &s, c->sess_id,
			   side == MSIDE_A ? ++c->ver_a : ++c->ver_b);
}

/* Payload numbers of the formats both ends share, where they differ. */
static void video_maps(struct call *c)
{
	uint8_t in[8], out[8];
	size_t n;

	if (!c->b || !msdp_has_video(&c->offer_a) ||
	    !msdp_has_video(&c->sdp_b)) {
		mrelay_video_ptmap(c->mr, MSIDE_A, NULL, NULL, 0);
		mrelay_video_ptmap(c->mr, MSIDE_B, NULL, NULL, 0);
		return;
	}
	n = msdp_video_ptmap(&c->offer_a.video, &c->sdp_b.video, in, out, 8);
	mrelay_video_ptmap(c->mr, MSIDE_A, in, out, n);
	n = msdp_video_ptmap(&c->sdp_b.video, &c->offer_a.video, in, out, 8);
	mrelay_video_ptmap(c->mr, MSIDE_B, in, out, n);
}

void leg_video_remote(struct call *c, enum mside side, const struct msdp *s,
		      bool taken)
{
	struct sa none;

	if (!c->mr || !mrelay_has_video(c->mr))
		return;
	if (taken && msdp_has_video(s)) {
		mrelay_video_set_remote(c->mr, side, &s->video.addr,
					s->video.dir);
	}
	else {
		sa_init(&none, AF_UNSPEC);
		mrelay_video_set_remote(c->mr, side, &none, MDIR_INACTIVE);
	}
	video_maps(c);
}

/* The record's codec: the audio's, and the video's when there is one. */
static void codec_note(struct call *c, const char *audio,
		       const struct msdp_video *v)
{
	if (v && v->ncodecs)
		re_snprintf(c->rec.codec, sizeof(c->rec.codec), "%s+%s", audio,
			    v->codecs[0].name);
	else
		str_ncpy(c->rec.codec, audio, sizeof(c->rec.codec));
}

/* The video formats of `to`'s SDP that the other side's SDP takes too. */
static void video_answer(struct msdp *out, const struct msdp *to,
			 const struct msdp *other)
{
	if (msdp_has_video(to) && msdp_has_video(other))
		msdp_video_pick(&out->video, &to->video, &other->video);
	else
		out->video.ncodecs = 0;
}

/* Our SDP towards the caller, from what the callee chose. */
static int answer_for_a(struct call *c, const struct msdp *ans_b,
			struct mbuf **mbp)
{
	struct msdp s = c->offer_a;

	msdp_intersect(&s, &c->offer_a, ans_b);
	if (!s.ncodecs)
		return EPROTO;
	video_answer(&s, &c->offer_a, ans_b);
	s.video.dir = ans_b->video.dir;
	codec_note(c, s.codecs[0].name, &s.video);
	leg_video_remote(c, MSIDE_A, &c->offer_a, msdp_has_video(&s));
	return leg_sdp_for(c, MSIDE_A, &s, ans_b->dir, mbp);
}

/* ---------- the caller's leg ---------- */

/* A re-INVITE from side `side`: answer it at once from the anchored media
 * (libre sends 200 immediately) and remember the peer's new SDP in *s. */
static int answer_reinvite(struct call *c, enum mside side,
			   const struct sip_msg *msg, struct msdp *s,
			   struct mbuf **descp)
{
	struct msdp ans;
	int err;

	err = leg_body_sdp(msg, s);
	if (err || s->audio_idx < 0 || !s->ncodecs)
		return err ? err : EPROTO;
	if (side == MSIDE_A) {
		ans = *s;
		msdp_intersect(&ans, s, c->b ? &c->sdp_b : &c->offer_a);
		if (c->b)
			video_answer(&ans, s, &c->sdp_b);
		else if (ans.video.ncodecs > 1)
			ans.video.ncodecs = 1;  /* laoyou's own: as at first */
	}
	else {
		ans = c->offer_a;
		msdp_intersect(&ans, &c->offer_a, s);
		video_answer(&ans, s, &c->offer_a);
		/* The answer mirrors the offer's m-lines, not the caller's. */
		ans.audio_idx = s->audio_idx;
		ans.video_idx = s->video_idx;
		ans.nmlines = s->nmlines;
		memcpy(ans.mline, s->mline, sizeof(ans.mline));
	}
	if (!ans.ncodecs)
		return EPROTO;
	ans.video.dir = msdp_dir_reverse(s->video.dir);
	if (side == MSIDE_A)
		c->offer_a = *s;
	else
		c->sdp_b = *s;
	mrelay_set_remote(c->mr, side, &s->addr, s->dir);
	leg_video_remote(c, side, s, msdp_has_video(&ans));
	err = leg_sdp_for(c, side, &ans, msdp_dir_reverse(s->dir), descp);
	if (!err)
		log_msg(LOG_INFO, c->callid, "call: %s re-INVITE (%s)",
			side == MSIDE_A ? "caller" : "callee",
			msdp_dir_name(s->dir));
	return err;
}

static int a_offer_handler(struct mbuf **descp, const struct sip_msg *msg,
			   void *arg)
{
	struct call *c = arg;
	struct mbuf *mb = NULL;
	struct msdp s;
	int err;

	err = answer_reinvite(c, MSIDE_A, msg, &s, descp);
	if (err)
		return err;
	/* Then carry the change to the callee. */
	if (c->b && !leg_sdp_for(c, MSIDE_B, &c->offer_a, s.dir, &mb)) {
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
	if (!leg_body_sdp(msg, &s) && s.audio_idx >= 0) {
		mrelay_set_remote(c->mr, MSIDE_A, &s.addr, s.dir);
		leg_video_remote(c, MSIDE_A, &s, true);
	}
	return 0;
}

static void a_estab_handler(const struct sip_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
}

/* INFO carrying application/dtmf-relay: "Signal=5". */
static char info_key(const struct sip_msg *msg)
{
	struct pl sig;

	if (!msg_ctype_cmp(&msg->ctyp, "application", "dtmf-relay") ||
	    re_regex((const char *)mbuf_buf(msg->mb), mbuf_get_left(msg->mb),
		     "Signal[ \t]*=[ \t]*[0-9*#A-Da-d]1", NULL, NULL,
		     &sig))
		return 0;
	return sig.p[0] >= 'a' ? (char)(sig.p[0] - 32) : sig.p[0];
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
	char key;

	if (c->local && !c->b) {
		key = info_key(msg);
		(void)sip_reply(sip, msg, key ? 200 : 415, key ? "OK" :
				"Unsupported Media Type");
		if (key)
			mrelay_dtmf_inject(c->mr, MSIDE_A, key);
		return;
	}
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

int leg_accept_caller(struct call *c, uint16_t code, const char *reason,
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

void leg_reply_caller(struct call *c, uint16_t code, const char *reason)
{
	if (c->a) {
		if (c->state != ST_ANSWERED)
			(void)sipsess_reject(c->a, code, reason, NULL);
	}
	else if (c->inv) {
		(void)sip_treply(NULL, c->cs->sip, c->inv, code, reason);
	}
}

static const char *disposition_of(uint16_t code);

/* ---------- an originated call's first leg ---------- */

static int o_answer_handler(const struct sip_msg *msg, void *arg)
{
	struct call *c = arg;
	struct msdp s, both;

	if (leg_body_sdp(msg, &s) || s.audio_idx < 0)
		return EPROTO;
	both = c->offer_a;
	msdp_intersect(&both, &c->offer_a, &s);
	if (!both.ncodecs)
		return EPROTO;
	/* From now on the called party is the caller side: its codec is
	 * the one transfers offer. */
	c->offer_a = both;
	c->offer_a.addr = s.addr;
	c->offer_a.dir = s.dir;
	mrelay_set_remote(c->mr, MSIDE_A, &s.addr, s.dir);
	mrelay_set_codec(c->mr, MSIDE_A, both.codecs[0].pt, both.te_pt);
	str_ncpy(c->rec.codec, both.codecs[0].name, sizeof(c->rec.codec));
	return 0;
}

static void o_progress_handler(const struct sip_msg *msg, void *arg)
{
	struct call *c = arg;

	if (msg->scode > 100 && !c->rec.ring_ms)
		c->rec.ring_ms = clock_wall_ms();
}

static void o_estab_handler(const struct sip_msg *msg, void *arg)
{
	struct call *c = arg;
	(void)msg;

	call_answered(c);
	log_msg(LOG_INFO, c->callid, "call: %s answered", c->rec.dialled);
	if (c->app.answerh)
		c->app.answerh(c, 200, c->app_arg);
}

static void o_close_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct call *c = arg;
	uint16_t code;

	if (c->state == ST_ANSWERED) {
		call_end(c, "answered", 200, "Normal Clearing", "caller");
		return;
	}
	code = msg && msg->scode >= 300 ? msg->scode : err == ETIMEDOUT ?
		408 : 480;
	if (c->app.answerh)
		c->app.answerh(c, code, c->app_arg);
	call_end(c, disposition_of(code), code, "Not Answered", "caller");
}

int leg_originate(struct call *c, const char *uri, const struct sa *src,
		  enum sip_transp tp, struct mbuf *offer)
{
	char from[160];
	(void)src;
	(void)tp;

	re_snprintf(from, sizeof(from), "sip:%s@%j",
		    c->caller.ext[0] ? c->caller.ext : c->caller.user,
		    &c->cs->cf.sip_udp);
	return sipsess_connect(&c->a, c->cs->sock, uri,
			       c->caller.display[0] ? c->caller.display : NULL,
			       from, "laoyou", NULL, 0, "application/sdp",
			       offer, NULL, NULL, false, a_offer_handler,
			       o_answer_handler, o_progress_handler,
			       o_estab_handler, a_info_handler, NULL,
			       o_close_handler, c, NULL);
}

/* ---------- the callee's legs ---------- */

static void leg_destructor(void *arg)
{
	struct leg *l = arg;

	list_unlink(&l->le);
	/* libre sends CANCEL before an answer and BYE after it. */
	mem_deref(l->sess);
}

static int b_offer_handler(struct mbuf **descp, const struct sip_msg *msg,
			   void *arg)
{
	struct leg *l = arg;
	struct call *c = l->call;
	struct mbuf *mb = NULL;
	struct msdp s;
	int err;

	if (c->b != l)
		return EPROTO;
	err = answer_reinvite(c, MSIDE_B, msg, &s, descp);
	if (err)
		return err;
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

	if (leg_body_sdp(msg, &s) || s.audio_idx < 0)
		return EPROTO;
	both = c->offer_a;
	msdp_intersect(&both, &c->offer_a, &s);
	if (!both.ncodecs)
		return EPROTO;  /* libre ends this leg; closeh sees it */
	l->answer = s;
	if (c->b == l) {
		/* The answer to our re-INVITE after the call was set up. */
		c->sdp_b = s;
		mrelay_set_remote(c->mr, MSIDE_B, &s.addr, s.dir);
		leg_video_remote(c, MSIDE_B, &s, true);
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
	if (!leg_body_sdp(msg, &s) && s.audio_idx >= 0 && s.ncodecs &&
	    !answer_for_a(c, &s, &desc)) {
		mrelay_set_remote(c->mr, MSIDE_B, &s.addr, s.dir);
		leg_video_remote(c, MSIDE_B, &s, true);
		code = 183;
	}

	if (!c->rec.ring_ms) {
		c->rec.ring_ms = clock_wall_ms();
		event_publish(EVENT_CALL_RINGING, c);
	}

	if (c->state == ST_ROUTING) {
		err = leg_accept_caller(c, code, code == 180 ? "Ringing" :
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
	int err = 0;
	(void)msg;

	if (c->b || (c->state >= ST_ANSWERED && !c->local)) {
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
	leg_video_remote(c, MSIDE_B, &l->answer, true);
	if (sa_isset(&l->src, SA_ADDR))
		mrelay_set_peer_ip(c->mr, MSIDE_B, &l->src);
	if (l->user[0])
		str_ncpy(c->rec.callee, l->user, sizeof(c->rec.callee));

	if (c->local) {
		struct msdp v = c->offer_a;

		/* A transfer from an application: the caller was answered
		 * long ago; now its media goes to the callee.  The caller's
		 * video, answered by laoyou and held back until now, flows
		 * if the callee took it (else it stays unrelayed: a
		 * re-INVITE to withdraw it would gain nothing). */
		video_answer(&v, &c->offer_a, &l->answer);
		codec_note(c, c->offer_a.codecs[0].name, &v.video);
		mrelay_bridge(c->mr, true);
		call_bridged(c);
		log_msg(LOG_INFO, c->callid, "call: transferred to %s (%s)",
			c->rec.callee, c->rec.codec);
		if (c->app.transferh)
			c->app.transferh(c, 200, c->app_arg);
		return;
	}

	err = answer_for_a(c, &l->answer, &desc);
	if (!err) {
		if (c->state == ST_ROUTING)
			err = leg_accept_caller(c, 200, "OK", desc);
		else
			err = sipsess_answer(c->a, 200, "OK", desc, NULL);
	}
	mem_deref(desc);
	if (err) {
		log_msg(LOG_WARN, c->callid, "call: cannot answer caller: %m",
			err);
		leg_reply_caller(c, 500, "Server Error");
		call_end(c, "failed", 500, "Answer Failed", "system");
		return;
	}
	call_answered(c);
	call_bridged(c);
	log_msg(LOG_INFO, c->callid, "call: %s → %s answered (%s)",
		c->rec.caller, c->rec.callee, c->rec.codec);
}

static void b_info_handler(struct sip *sip, const struct sip_msg *msg,
			   void *arg)
{
	struct leg *l = arg;
	info_relay(l->call->b == l ? l->call->a : NULL, sip, msg);
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
			 code == 488 ? "Not Acceptable Here" :
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

static void b_close_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct leg *l = arg;
	struct call *c = l->call;

	if (c->b == l) {
		if (c->local && c->app.unbridgeh) {
			/* The agent hung up; the caller stays with the
			 * application (a survey, say). */
			c->b = mem_deref(c->b);
			mrelay_bridge(c->mr, false);
			(void)call_set_limit(c, 0, 0, NULL);
			c->bridged_mono = 0;
			str_ncpy(c->rec.hangup_by, "callee",
				 sizeof(c->rec.hangup_by));
			c->app.unbridgeh(c, c->app_arg);
			return;
		}
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

	if (!list_isempty(&c->forks) || c->b)
		return;
	if (c->local) {
		uint16_t code = c->fail_code;
		c->fail_code = 0;
		tmr_cancel(&c->tmr_ring);
		if (c->app.transferh)
			c->app.transferh(c, code, c->app_arg);
		return;
	}
	if (c->state < ST_ANSWERED) {
		leg_reply_caller(c, c->fail_code, c->fail_reason);
		call_end(c, disposition_of(c->fail_code), c->fail_code,
			 c->fail_reason, "callee");
	}
}

bool leg_fork(struct call *c, const char *uri, const struct sa *src,
	      enum sip_transp tp, struct mbuf *offer, uint32_t hops,
	      const char *user)
{
	const struct store_account *caller = &c->caller;
	char from[160], route[96];
	const char *routev[1];
	uint32_t routec = 0;
	struct sip_addr ca;
	struct leg *l;
	struct pl pl;
	int err;

	l = mem_zalloc(sizeof(*l), leg_destructor);
	if (!l)
		return false;
	l->call = c;
	str_ncpy(l->user, user ? user : "", sizeof(l->user));
	if (src)
		l->src = *src;

	/* Reach a contact behind NAT where its REGISTER came from. */
	pl_set_str(&pl, uri);
	if (sa_isset(src, SA_ALL) && !sip_addr_decode(&ca, &pl)) {
		struct sa dst;
		/* Same host, other port: a third-party registration or a
		 * second socket of the phone; trust the contact then. */
		if (sa_set(&dst, &ca.uri.host, ca.uri.port ? ca.uri.port :
			   5060) || !sa_cmp(&dst, src, SA_ADDR)) {
			/* libre adds the brackets and ;lr itself. */
			re_snprintf(route, sizeof(route), "sip:%J%s", src,
				    tp == SIP_TRANSP_TCP ?
				    ";transport=tcp" : "");
			routev[0] = route;
			routec = 1;
		}
	}

	re_snprintf(from, sizeof(from), "sip:%s@%j",
		    caller->ext[0] ? caller->ext : caller->user,
		    &c->cs->cf.sip_udp);

	err = sipsess_connect(&l->sess, c->cs->sock, uri,
			      caller->display[0] ? caller->display : NULL,
			      from, "laoyou", routev, routec,
			      "application/sdp", offer, NULL, NULL, false,
			      b_offer_handler, b_answer_handler,
			      b_progress_handler, b_estab_handler,
			      b_info_handler, NULL, b_close_handler, l,
			      "X-Laoyou-Hops: %u\r\n", hops + 1);
	if (err) {
		log_msg(LOG_WARN, c->callid, "call: fork to %s: %m", uri, err);
		mem_deref(l);
		return false;
	}
	list_append(&c->forks, &l->le, l);
	return true;
}
