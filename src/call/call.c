/*
 * The call: its life, its record and the interface applications use.
 * Routing is in route.c, the SIP legs in leg.c.
 */
#include <string.h>
#include <re.h>
#include "core/clock.h"
#include "core/event.h"
#include "core/log.h"
#include "call/call_int.h"

enum { HT_CALLS = 16384 };

/* ---------- per-account concurrency ---------- */

struct acct_count {
	struct le he;
	char user[STORE_USER_MAX];
	uint32_t n;
};

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

int call_count_add(struct calls *cs, const char *user)
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

uint32_t call_count(struct calls *cs, const char *user)
{
	struct acct_count *ac = count_find(cs, user);
	return ac ? ac->n : 0;
}

static void count_del(struct calls *cs, const char *user)
{
	struct acct_count *ac = count_find(cs, user);

	if (ac && --ac->n == 0)
		mem_deref(ac);
}

/* ---------- life ---------- */

/* Everything the call holds, released once: by call_end, or by the
 * destructor if the call never got that far. */
static void teardown(struct call *c)
{
	tmr_cancel(&c->tmr_ring);
	tmr_cancel(&c->tmr_rtp);
	tmr_cancel(&c->tmr_limit);
	c->warn = mem_deref(c->warn);
	if (c->le.list) {
		list_unlink(&c->le);
		c->cs->n_calls--;
	}
	hash_unlink(&c->he);
	list_flush(&c->forks);
	c->b = mem_deref(c->b);
	c->a = mem_deref(c->a);
	c->inv = mem_deref((void *)c->inv);
	if (c->mr)
		mrelay_set_dtmf_handler(c->mr, NULL, NULL);
	c->mr = mem_deref(c->mr);
	if (c->counted) {
		count_del(c->cs, c->caller.user);
		c->counted = false;
	}
}

static void call_destructor(void *arg)
{
	struct call *c = arg;

	teardown(c);
	mem_deref(c->cs);
}

struct call *call_alloc_for(struct calls *cs, const struct sip_msg *msg,
			    const struct store_account *caller,
			    const char *dialled, const struct msdp *offer)
{
	struct call *c = mem_zalloc(sizeof(*c), call_destructor);

	if (!c)
		return NULL;
	c->cs = mem_ref(cs);
	c->state = ST_ROUTING;
	c->sess_id = rand_u32();
	c->offer_a = *offer;
	c->caller = *caller;
	if (msg) {
		c->inv = mem_ref((void *)msg);
		(void)pl_strcpy(&msg->callid, c->callid, sizeof(c->callid));
	}
	else {
		/* A call laoyou places: its own Call-ID for logs and the
		 * record (libre gives the SIP dialog another). */
		re_snprintf(c->callid, sizeof(c->callid), "laoyou-%016llx",
			    (unsigned long long)rand_u64());
	}
	list_append(&cs->all, &c->le, c);
	cs->n_calls++;
	hash_append(cs->by_callid, hash_joaat_str(c->callid), &c->he, c);
	c->counted = call_count_add(cs, caller->user) == 0;

	str_ncpy(c->rec.callid, c->callid, sizeof(c->rec.callid));
	str_ncpy(c->rec.caller, caller->user, sizeof(c->rec.caller));
	str_ncpy(c->rec.dialled, dialled, sizeof(c->rec.dialled));
	c->rec.start_ms = clock_wall_ms();
	c->rec.survey = -1;
	return c;
}

static void rtp_check(void *arg)
{
	struct call *c = arg;
	uint64_t now = clock_mono_ms();
	uint64_t limit = c->cs->cf.rtp_timeout_s * 1000ULL;
	uint64_t last = mrelay_last_rx(c->mr);
	/* A held call may be silent as long as it likes. */
	bool held = c->offer_a.dir != MDIR_SENDRECV ||
		(c->b && c->sdp_b.dir != MDIR_SENDRECV);

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

void call_answered(struct call *c)
{
	c->state = ST_ANSWERED;
	c->rec.answer_ms = clock_wall_ms();
	c->answered_mono = clock_mono_ms();
	tmr_start(&c->tmr_rtp, c->cs->cf.rtp_timeout_s * 1000ULL, rtp_check,
		  c);
	event_publish(EVENT_CALL_ANSWERED, c);
}

static void limit_reached(void *arg)
{
	struct call *c = arg;

	log_msg(LOG_INFO, c->callid, "call: time limit of %u s reached",
		c->limit_s);
	call_path_add(c, "limit");
	call_hangup(c, 200, "Time Limit");
}

static void limit_warn(void *arg)
{
	struct call *c = arg;

	/* The warning goes over the callee's voice to the caller only. */
	if (c->warn && c->mr)
		(void)mrelay_play(c->mr, MSIDE_A, &c->warn, 1, NULL, NULL);
	call_path_add(c, "limit-warning");
	tmr_start(&c->tmr_limit, c->warn_s * 1000ULL, limit_reached, c);
}

static void limit_arm(struct call *c)
{
	uint64_t talked, limit = c->limit_s * 1000ULL;
	uint64_t warn = c->warn_s * 1000ULL;

	tmr_cancel(&c->tmr_limit);
	if (!c->limit_s || !c->bridged_mono)
		return;
	talked = clock_mono_ms() - c->bridged_mono;
	if (talked >= limit) {
		tmr_start(&c->tmr_limit, 0, limit_reached, c);
		return;
	}
	if (warn && c->warn && talked + warn < limit)
		tmr_start(&c->tmr_limit, limit - warn - talked, limit_warn, c);
	else
		tmr_start(&c->tmr_limit, limit - talked, limit_reached, c);
}

void call_bridged(struct call *c)
{
	c->bridged_mono = clock_mono_ms();
	if (!c->bridged_wall)
		c->bridged_wall = clock_wall_ms();
	limit_arm(c);
}

int call_set_limit(struct call *c, uint32_t limit_s, uint32_t warn_s,
		   struct audio *warn)
{
	if (!c || (limit_s && warn_s >= limit_s))
		return EINVAL;
	c->limit_s = limit_s;
	c->warn_s = warn_s;
	mem_deref(c->warn);
	c->warn = mem_ref(warn);
	limit_arm(c);
	return 0;
}

void call_allow_outside(struct call *c)
{
	if (c)
		c->caller.outbound = true;
}

int64_t call_bridged_ms(const struct call *c)
{
	return c ? c->bridged_wall : 0;
}

uint32_t call_talk_s(const struct call *c)
{
	if (!c || !c->bridged_mono)
		return 0;
	return (uint32_t)((clock_mono_ms() - c->bridged_mono) / 1000);
}

bool calls_claimed(const struct calls *cs, const char *number)
{
	for (struct le *le = cs->apps.head; le; le = le->next) {
		const struct call_app *app = le->data;
		if (app->claimh(number, app->arg))
			return true;
	}
	return false;
}

int calls_app_start(struct call *c, const char *number)
{
	for (struct le *le = c->cs->apps.head; le; le = le->next) {
		struct call_app *app = le->data;
		if (!app->claimh(number, app->arg))
			continue;
		str_ncpy(c->rec.dialled, number, sizeof(c->rec.dialled));
		app->starth(c, app->arg);
		return 0;
	}
	return ENOENT;
}

void calls_set_policy(struct calls *cs, call_policy_h *h, void *arg)
{
	cs->policyh = h;
	cs->policy_arg = arg;
}

void call_end(struct call *c, const char *disposition, uint16_t cause,
	      const char *reason, const char *hangup_by)
{
	struct mrelay_stats ms;
	int64_t now = clock_wall_ms();

	if (c->state == ST_ENDED)
		return;
	if (c->state != ST_ANSWERED && !strcmp(disposition, "answered"))
		disposition = "failed";
	c->state = ST_ENDED;

	/* Supervisors listen to this call only: they go with it. */
	list_unlink(&c->le_sup);
	while (c->sups.head) {
		struct call *sup = c->sups.head->data;
		list_unlink(&sup->le_sup);
		call_hangup(sup, 200, "Supervised Call Ended");
	}

	c->rec.end_ms = now;
	c->rec.duration_s = (uint32_t)((now - c->rec.start_ms + 500) / 1000);
	c->rec.billable_s = c->rec.answer_ms ?
		(uint32_t)((now - c->rec.answer_ms + 999) / 1000) : 0;
	str_ncpy(c->rec.disposition, disposition, sizeof(c->rec.disposition));
	c->rec.cause = cause;
	str_ncpy(c->rec.reason, reason, sizeof(c->rec.reason));
	/* An agent who hung up before a survey stays the one who hung up. */
	if (!c->rec.hangup_by[0] || strcmp(c->rec.hangup_by, "callee"))
		str_ncpy(c->rec.hangup_by, hangup_by,
			 sizeof(c->rec.hangup_by));
	if (c->mr) {
		if (c->rec.recording[0] && !c->rec.recording_ms)
			c->rec.recording_ms = mrelay_record_stop(c->mr);
		mrelay_stats(c->mr, &ms);
		c->rec.pkts_a2b = ms.pkts[MSIDE_A];
		c->rec.bytes_a2b = ms.bytes[MSIDE_A];
		c->rec.pkts_b2a = ms.pkts[MSIDE_B];
		c->rec.bytes_b2a = ms.bytes[MSIDE_B];
		c->rec.lost_a2b = ms.lost[MSIDE_A];
		c->rec.lost_b2a = ms.lost[MSIDE_B];
	}

	log_msg(LOG_INFO, c->callid, "call: ended %s %u %s by %s after %us",
		disposition, cause, reason, c->rec.hangup_by,
		c->rec.duration_s);
	/* The record is committed by a subscriber before anyone else
	 * hears of the end. */
	event_publish(EVENT_CALL_ENDED, c);

	/* Dropping the sessions sends what each still needs: BYE to an
	 * answered leg, CANCEL to a ringing fork. */
	teardown(c);
	if (c->app.closeh) {
		void (*h)(struct call *, void *) = c->app.closeh;
		c->app.closeh = NULL;
		h(c, c->app_arg);
	}
	memset(&c->app, 0, sizeof(c->app));
	mem_deref(c);   /* the reference the calls list held */
}

/* ---------- the application interface ---------- */

const struct store_cdr *call_record(const struct call *c)
{
	return &c->rec;
}

const char *call_id(const struct call *c)
{
	return c->callid;
}

const char *call_caller(const struct call *c)
{
	return c->caller.user;
}

bool call_ended(const struct call *c)
{
	return c->state == ST_ENDED;
}

void call_set_handlers(struct call *c, const struct call_handlers *h,
		       void *arg)
{
	c->app = *h;
	c->app_arg = arg;
}

int call_play(struct call *c, struct audio *const *list, size_t n,
	      mrelay_play_h *doneh, void *arg)
{
	if (!c || c->state != ST_ANSWERED || !c->mr)
		return EINVAL;
	return mrelay_play(c->mr, MSIDE_A, list, n, doneh, arg);
}

void call_stop_play(struct call *c)
{
	if (c && c->mr)
		mrelay_stop(c->mr, MSIDE_A);
}

int call_record_start(struct call *c, const char *path, bool stereo)
{
	int err;

	if (!c || c->state != ST_ANSWERED || !c->mr)
		return EINVAL;
	err = mrelay_record_start(c->mr, path, stereo);
	if (!err)
		str_ncpy(c->rec.recording, path, sizeof(c->rec.recording));
	return err;
}

int call_supervise(struct call *target, struct call *sup,
		   enum msup_mode mode)
{
	if (!target || !sup || target->state != ST_ANSWERED || !target->b ||
	    sup->state != ST_ANSWERED || !sup->local || !target->mr ||
	    !sup->mr)
		return EINVAL;
	log_msg(LOG_INFO, target->callid, "call: %s %s", sup->rec.caller,
		mode == MSUP_LISTEN ? "listens" : mode == MSUP_WHISPER ?
		"whispers" : "barges in");
	list_unlink(&sup->le_sup);
	list_append(&target->sups, &sup->le_sup, sup);
	return mrelay_supervise(target->mr, sup->mr, mode);
}

uint32_t call_record_stop(struct call *c)
{
	if (!c || !c->mr || !c->rec.recording[0])
		return 0;
	c->rec.recording_ms = mrelay_record_stop(c->mr);
	return c->rec.recording_ms;
}

void call_hangup(struct call *c, uint16_t cause, const char *reason)
{
	if (!c || c->state == ST_ENDED)
		return;
	if (c->state != ST_ANSWERED)
		leg_reply_caller(c, cause >= 300 ? cause : 480, reason);
	call_end(c, c->state == ST_ANSWERED ? "answered" : "failed", cause,
		 reason, "system");
}

void call_set_hotline(struct call *c, const char *number)
{
	str_ncpy(c->rec.hotline, number, sizeof(c->rec.hotline));
}

void call_set_language(struct call *c, const char *lang)
{
	str_ncpy(c->rec.language, lang, sizeof(c->rec.language));
}

void call_path_add(struct call *c, const char *step)
{
	size_t n = strlen(c->rec.path);

	/* A path that outgrows the field keeps its beginning and says so. */
	if (n + strlen(step) + 2 >= sizeof(c->rec.path)) {
		if (n + 4 < sizeof(c->rec.path) &&
		    strcmp(c->rec.path + n - 3, "...") != 0)
			strcat(c->rec.path, ">...");
		return;
	}
	if (n)
		c->rec.path[n++] = '>';
	strcpy(c->rec.path + n, step);
}

void call_set_survey(struct call *c, int score)
{
	c->rec.survey = score;
}

/* ---------- the call manager ---------- */

static void calls_destructor(void *arg)
{
	struct calls *cs = arg;

	cs->closing = true;
	list_flush(&cs->all);
	while (cs->apps.head)
		list_unlink(cs->apps.head);
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
	if (!err)
		err = route_listen(cs);

	if (err)
		mem_deref(cs);
	else
		*csp = cs;
	return err;
}

static void app_destructor(void *arg)
{
	struct call_app *app = arg;
	list_unlink(&app->le);
}

int calls_app_register(struct call_app **appp, struct calls *cs,
		       call_claim_h *claimh, call_start_h *starth, void *arg)
{
	struct call_app *app = mem_zalloc(sizeof(*app), app_destructor);

	if (!app)
		return ENOMEM;
	app->claimh = claimh;
	app->starth = starth;
	app->arg = arg;
	list_append(&cs->apps, &app->le, app);
	*appp = app;
	return 0;
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

void calls_foreach(const struct calls *cs, call_each_h *h, void *arg)
{
	static const char *states[] = {"routing", "ringing", "answered",
				       "ended"};

	for (struct le *le = cs->all.head; le; le = le->next) {
		const struct call *c = le->data;
		if (c->state != ST_ENDED)
			h(c, states[c->state], arg);
	}
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
			leg_reply_caller(c, 503, "Service Unavailable");
		call_end(c, c->state == ST_ANSWERED ? "answered" : "failed",
			 503, "Shutdown", "system");
	}
}
