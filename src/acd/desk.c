/*
 * The desk: the ACD model put to work on real calls.
 *
 * A caller in line is a desk_wait holding a reference to its call.  When
 * the model offers it to an agent, the desk rings the agent's extension
 * through call_transfer; the IVR, which owns the call's handlers, reports
 * the outcome back here.  Each agent's wrap-up timer lives in the agent.
 * Every step goes to the durable queue log, from which the figures come.
 */
#include <string.h>
#include <stdarg.h>
#include <re.h>
#include "core/clock.h"
#include "core/event.h"
#include "core/log.h"
#include "site/json.h"
#include "store/store.h"
#include "sip/sip.h"
#include "call/call.h"
#include "acd/acd.h"
#include "acd/desk.h"

enum { NAME_LEN = 48 };

struct dqueue {
	struct le le;
	char name[NAME_LEN];
	struct acd_queue *q;
	uint32_t ring_s, wrapup_s, max_wait_s, max_len, announce_s;
	bool join_empty;
	bool leave_empty;          /* callers leave when the last agent does */
	uint32_t aht_ms;           /* handle time, smoothed over calls */
};

struct dagent {
	struct le le;
	struct desk *d;
	struct acd_agent *ag;
	char id[NAME_LEN];
	char account[STORE_USER_MAX];
	struct tmr tmr_wrap;
	struct desk_wait *w;       /* the call it rings or talks to */
	struct le le_ring;         /* in that call's ring or fail set */
	bool supervisor;
};

struct desk_wait {
	struct le le;
	struct desk *d;
	struct call *call;
	struct dqueue *dq;
	struct acd_entry *e;
	struct list ring;          /* agents rung now (ring-all: several) */
	struct list fails;         /* agents that could not be rung */
	struct dagent *agent;
	desk_event_h *h;
	void *arg;
	struct tmr tmr_announce, tmr_max, tmr_retry;
	uint64_t joined_ms, connected_ms;
	char lang[4];
	bool callback;             /* call the caller back when its turn comes */
	char cb_number[32];
	char cb_as[STORE_USER_MAX];
	struct call *cb_call;      /* that call, once placed */
	bool cb_answered;
	int64_t cb_id;             /* its durable task, done once bridged */
};

struct desk {
	struct calls *cs;
	struct sipd *sd;
	struct store *st;
	struct acd *acd;
	struct list queues, agents, waits;
	struct event_sub *sub;
	struct tmr tmr_poke;
	struct tmr tmr_empty;      /* an agent logged out: queues left empty? */
};

/* ---------- the queue log ---------- */

/* Tell the API what happened in a queue (with what a screen pop needs). */
static void news(struct desk_wait *w, const char *event,
		 const struct dagent *da)
{
	const struct store_cdr *rec = call_record(w->call);
	struct desk_queue_news n = {
		.queue = w->dq->name, .callid = call_id(w->call),
		.caller = call_caller(w->call), .agent = da ? da->id : "",
		.event = event, .position = w->e ? acd_entry_position(w->e) : 0,
		.waiting = w->dq->q ? acd_queue_waiting(w->dq->q) : 0,
		.hotline = rec->hotline, .language = rec->language,
		.path = rec->path,
	};
	event_publish(EVENT_QUEUE, &n);
}

static void qlog(struct desk_wait *w, const char *event, struct dagent *da,
		 uint32_t talk_ms)
{
	struct store_qevent ev;

	memset(&ev, 0, sizeof(ev));
	ev.ts_ms = clock_wall_ms();
	str_ncpy(ev.callid, call_id(w->call), sizeof(ev.callid));
	str_ncpy(ev.queue, w->dq->name, sizeof(ev.queue));
	if (da)
		str_ncpy(ev.agent, da->id, sizeof(ev.agent));
	str_ncpy(ev.event, event, sizeof(ev.event));
	ev.wait_ms = (uint32_t)((w->connected_ms ? w->connected_ms :
				 clock_mono_ms()) - w->joined_ms);
	ev.talk_ms = talk_ms;
	ev.position = w->e ? acd_entry_position(w->e) : 0;
	str_ncpy(ev.hotline, call_record(w->call)->hotline,
		 sizeof(ev.hotline));
	if (store_qlog(w->d->st, &ev))
		log_msg(LOG_ERROR, call_id(w->call), "desk: queue log entry "
			"%s not stored", event);
	log_msg(LOG_INFO, call_id(w->call), "desk: %s %s%s%s", w->dq->name,
		event, da ? " " : "", da ? da->id : "");
	news(w, event, da);
}

static void wait_end(struct desk_wait *w, const char *event,
		     enum desk_event ev);

/* leave_empty: when nobody of a queue is logged in any more, its callers
 * leave the line (and their flows go on to the fallback). */
static void check_empty(void *arg)
{
	struct desk *d = arg;
	struct le *le = d->waits.head;

	while (le) {
		struct desk_wait *w = le->data;
		uint32_t counts[AGENT_STATES], in = 0;
		le = le->next;
		if (!w->e || !w->dq->leave_empty)
			continue;
		acd_queue_agents(w->dq->q, counts);
		for (int s = 0; s < AGENT_STATES; s++)
			in += s == AGENT_LOGGED_OUT ? 0 : counts[s];
		if (!in) {
			/* The next wait may go with this one's fallback. */
			le = NULL;
			wait_end(w, "EXITEMPTY", DESK_EMPTY);
			tmr_start(&d->tmr_empty, 0, check_empty, d);
		}
	}
}

/* Every state change is logged (occupancy is computed from the log) and
 * published for the API. */
static void agent_state_handler(struct acd_agent *ag,
				enum acd_agent_state from, void *arg)
{
	struct desk *d = arg;
	struct desk_agent_news n = {
		.agent = acd_agent_id(ag),
		.state = acd_state_name(acd_agent_state(ag)),
		.reason = acd_agent_reason(ag),
	};
	(void)from;

	if (store_agent_log(d->st, clock_wall_ms(), n.agent, n.state,
			    n.reason))
		log_error("desk: agent %s state %s not logged", n.agent,
			  n.state);
	event_publish(EVENT_AGENT_STATE, &n);
	/* Outside the model's call: leaving the line changes the model. */
	if (acd_agent_state(ag) == AGENT_LOGGED_OUT)
		tmr_start(&d->tmr_empty, 0, check_empty, d);
}

/* ---------- ring sets ---------- */

/* Ring-all rings several agents for one call, the other strategies one;
 * either way they are the wait's ring set until the transfer ends. */
static void ring_add(struct desk_wait *w, struct list *set,
		     struct dagent *da)
{
	da->w = w;
	list_append(set, &da->le_ring, da);
}

static struct dagent *ring_first(const struct desk_wait *w)
{
	return w->ring.head ? w->ring.head->data : NULL;
}

/* Empty a set into out (so that handlers run after it is consistent). */
static void ring_take_all(struct list *set, struct list *out)
{
	while (set->head) {
		struct dagent *da = set->head->data;
		list_unlink(&da->le_ring);
		da->w = NULL;
		list_append(out, &da->le_ring, da);
	}
}

static void ring_forget(struct desk_wait *w)
{
	struct list gone = LIST_INIT;

	ring_take_all(&w->ring, &gone);
	ring_take_all(&w->fails, &gone);
	while (gone.head)
		list_unlink(gone.head);
}

/* Each agent of a set did not answer: a miss, and the call goes on. */
static void ring_failed(struct desk_wait *w, struct list *set)
{
	struct list gone = LIST_INIT;

	ring_take_all(set, &gone);
	while (gone.head) {
		struct dagent *da = gone.head->data;
		list_unlink(&da->le_ring);
		qlog(w, "RINGNOANSWER", da, 0);
		acd_offer_failed(w->e, da->ag);
	}
}

static void ring_agent(struct desk_wait *w, struct dagent *da);

/* ---------- waits ---------- */

static void wait_destructor(void *arg)
{
	struct desk_wait *w = arg;

	tmr_cancel(&w->tmr_announce);
	tmr_cancel(&w->tmr_max);
	tmr_cancel(&w->tmr_retry);
	list_unlink(&w->le);
	ring_forget(w);
	if (w->agent && w->agent->w == w)
		w->agent->w = NULL;
	mem_deref(w->call);
	mem_deref(w->cb_call);
}

/* The call that is live now: the caller's, or the one we called back. */
static struct call *live_call(const struct desk_wait *w)
{
	return w->cb_call ? w->cb_call : w->call;
}

static void agent_ready_later(struct dagent *da, uint32_t wrap_s);
static void missed_task(struct desk_wait *w);

/* Estimated wait: the calls ahead, shared among the agents logged in,
 * each taking the queue's smoothed handle time (talk and wrap-up). */
static uint32_t ewt(const struct desk_wait *w, uint32_t position)
{
	uint32_t counts[AGENT_STATES], agents;

	acd_queue_agents(w->dq->q, counts);
	agents = counts[AGENT_READY] + counts[AGENT_RESERVED] +
		counts[AGENT_ON_CALL] + counts[AGENT_WRAP_UP];
	if (!agents || !w->dq->aht_ms)
		return 0;
	return (uint32_t)(((uint64_t)position * w->dq->aht_ms / agents +
			   999) / 1000);
}

static void announce(void *arg)
{
	struct desk_wait *w = arg;

	if (w->e && w->h) {
		uint32_t pos = acd_entry_position(w->e);
		news(w, "POSITION", NULL);
		w->h(DESK_POSITION, pos, ewt(w, pos), w->arg);
	}
	if (w->dq->announce_s)
		tmr_start(&w->tmr_announce, w->dq->announce_s * 1000ULL,
			  announce, w);
}

/* The caller is out of line for the desk's own reason: tell the IVR,
 * which forgets w. */
static void wait_end(struct desk_wait *w, const char *event,
		     enum desk_event ev)
{
	desk_event_h *h = w->h;
	void *arg = w->arg;

	if (ring_first(w))
		call_transfer_cancel(live_call(w));
	ring_forget(w);
	qlog(w, event, NULL, 0);
	acd_entry_remove(w->e);
	w->e = NULL;
	mem_deref(w);
	if (h)
		h(ev, 0, 0, arg);
}

static void max_wait(void *arg)
{
	wait_end(arg, "EXITWITHTIMEOUT", DESK_TIMEOUT);
}

/* Agents' phones that could not even be rung: count them as not
 * answered (outside the model's decision, which is why it is a timer). */
static void retry_later(void *arg)
{
	struct desk_wait *w = arg;

	acd_set_clock(w->d->acd, clock_mono_ms());
	ring_failed(w, &w->fails);
}

/* The caller we called back did not answer: give the agent back and let
 * the request go (it is in the queue log). */
static void callback_failed(void *arg)
{
	struct desk_wait *w = arg;

	ring_forget(w);
	qlog(w, "CALLBACKFAILED", NULL, 0);
	acd_set_clock(w->d->acd, clock_mono_ms());
	acd_entry_remove(w->e);
	w->e = NULL;
	mem_deref(w);
}

static void cb_answer(struct call *c, uint16_t scode, void *arg)
{
	struct desk_wait *w = arg;
	struct list reserved = LIST_INIT;

	if (scode != 200) {
		call_set_handlers(c, &(struct call_handlers){0}, NULL);
		callback_failed(w);
		return;
	}
	w->cb_answered = true;
	qlog(w, "CALLBACKANSWERED", ring_first(w), 0);
	/* The agents reserved for the call-back are rung now. */
	ring_take_all(&w->ring, &reserved);
	while (reserved.head) {
		struct dagent *da = reserved.head->data;
		list_unlink(&da->le_ring);
		ring_agent(w, da);
	}
}

static void cb_transfer(struct call *c, uint16_t scode, void *arg)
{
	(void)c;
	desk_transfer_result(arg, scode);
}

static void cb_unbridge(struct call *c, void *arg)
{
	call_set_handlers(c, &(struct call_handlers){0}, NULL);
	desk_bridge_end(arg, true);
	call_hangup(c, 200, "Agent Hung Up");
}

static void cb_close(struct call *c, void *arg)
{
	(void)c;
	desk_leave(arg, true);
}

int desk_callback(struct desk_wait *w)
{
	const struct store_cdr *rec = call_record(w->call);
	struct store_account acc;
	struct store_callback cb;

	if (ring_first(w) || w->agent || w->callback)
		return EBUSY;
	if (store_account_get(w->d->st, rec->caller, &acc) || !acc.ext[0])
		return ENOENT;
	/* The caller was promised a call back: the promise is committed
	 * before it is kept in line, so a crash leaves it as an open task. */
	memset(&cb, 0, sizeof(cb));
	cb.created_ms = clock_wall_ms();
	str_ncpy(cb.callid, call_id(w->call), sizeof(cb.callid));
	str_ncpy(cb.caller, rec->caller, sizeof(cb.caller));
	str_ncpy(cb.hotline, rec->hotline, sizeof(cb.hotline));
	str_ncpy(cb.number, acc.ext, sizeof(cb.number));
	str_ncpy(cb.recording, "in-line", sizeof(cb.recording));
	if (store_callback_add(w->d->st, &cb))
		return EIO;
	w->cb_id = cb.id;
	w->callback = true;
	str_ncpy(w->cb_number, acc.ext, sizeof(w->cb_number));
	str_ncpy(w->cb_as, acc.user, sizeof(w->cb_as));
	w->h = NULL;
	tmr_cancel(&w->tmr_announce);
	tmr_cancel(&w->tmr_max);
	qlog(w, "CALLBACKREQUEST", NULL, 0);
	return 0;
}

/* Ring an agent's phone for w: the first of the ring set starts the
 * transfer, ring-all's others join it. */
static void ring_agent(struct desk_wait *w, struct dagent *da)
{
	struct store_account acc;
	int err = store_account_get(w->d->st, da->account, &acc);

	if (!err)
		err = ring_first(w) ? call_transfer_add(live_call(w), acc.ext) :
			call_transfer(live_call(w), acc.ext, w->dq->ring_s);
	if (err) {
		log_msg(LOG_WARN, call_id(w->call), "desk: cannot ring agent "
			"%s: %m", da->id, err);
		ring_add(w, &w->fails, da);
		tmr_start(&w->tmr_retry, 0, retry_later, w);
		return;
	}
	ring_add(w, &w->ring, da);
	log_msg(LOG_INFO, call_id(w->call), "desk: ringing %s", da->id);
	news(w, "RING", da);
}

static void offer_handler(struct acd_entry *e, struct acd_agent *ag,
			  void *arg)
{
	struct desk_wait *w = acd_entry_ctx(e);
	struct dagent *da = acd_agent_ctx(ag);
	int err;
	(void)arg;

	if (w->callback && !w->cb_answered) {
		/* Reserved until the caller we call back answers. */
		ring_add(w, &w->ring, da);
		if (w->cb_call)
			return;
		/* The agent is reserved; now the caller is called back. */
		static const struct call_handlers h = {
			.transferh = cb_transfer, .unbridgeh = cb_unbridge,
			.closeh = cb_close, .answerh = cb_answer,
		};
		err = calls_originate(w->d->cs, w->cb_number, w->cb_as, &h, w,
				      &w->cb_call);
		qlog(w, "CALLBACKDIAL", da, 0);
		if (err) {
			log_msg(LOG_WARN, call_id(w->call), "desk: cannot call "
				"back %s: %m", w->cb_number, err);
			tmr_start(&w->tmr_retry, 0, callback_failed, w);
		}
		return;
	}
	ring_agent(w, da);
}

int desk_join(struct desk *d, struct call *c, const char *queue,
	      const char *lang, const char *skill_need, int priority,
	      desk_event_h *h, void *arg, struct desk_wait **wp)
{
	struct dqueue *dq = NULL;
	struct desk_wait *w;
	struct acd_req reqs[2];
	uint8_t nreqs = 0;
	uint32_t counts[AGENT_STATES];
	int sk, err;

	for (struct le *le = d->queues.head; le; le = le->next)
		if (!strcmp(((struct dqueue *)le->data)->name, queue))
			dq = le->data;
	if (!dq)
		return ENOENT;

	w = mem_zalloc(sizeof(*w), wait_destructor);
	if (!w)
		return ENOMEM;
	w->d = d;
	w->call = mem_ref(c);
	w->dq = dq;
	w->h = h;
	w->arg = arg;
	w->joined_ms = clock_mono_ms();
	str_ncpy(w->lang, lang, sizeof(w->lang));
	list_append(&d->waits, &w->le, w);

	acd_queue_agents(dq->q, counts);
	if (dq->max_len && acd_queue_waiting(dq->q) >= dq->max_len) {
		qlog(w, "EXITFULL", NULL, 0);
		mem_deref(w);
		return EOVERFLOW;
	}
	if (!dq->join_empty && counts[AGENT_LOGGED_OUT] ==
	    counts[AGENT_READY] + counts[AGENT_NOT_READY] +
	    counts[AGENT_RESERVED] + counts[AGENT_ON_CALL] +
	    counts[AGENT_WRAP_UP] + counts[AGENT_LOGGED_OUT]) {
		qlog(w, "EXITEMPTY", NULL, 0);
		mem_deref(w);
		return ENODEV;
	}

	/* The caller's language is a requirement the skills strategy
	 * honours; other strategies only need the agent to have it. */
	char skill[16];
	re_snprintf(skill, sizeof(skill), "lang:%s", lang);
	sk = acd_skill(d->acd, skill);
	if (sk >= 0) {
		reqs[nreqs].skill = (uint8_t)sk;
		reqs[nreqs].min = 1;
		reqs[nreqs++].relax_s = 60;
	}
	/* A need set by the flow is never relaxed: a sign-language caller
	 * waits for a signer rather than reach somebody who cannot sign. */
	if (skill_need && *skill_need &&
	    (sk = acd_skill(d->acd, skill_need)) >= 0) {
		reqs[nreqs].skill = (uint8_t)sk;
		reqs[nreqs].min = 1;
		reqs[nreqs++].relax_s = 0;
	}

	/* An elder's one-touch device goes to the front of the line. */
	{
		struct store_account acc;
		if (!store_account_get(d->st, call_caller(c), &acc) &&
		    !strcmp(acc.kind, "elder-device"))
			priority += 10;
	}

	*wp = w;
	acd_set_clock(d->acd, clock_mono_ms());
	qlog(w, "ENTER", NULL, 0);
	if (dq->max_wait_s)
		tmr_start(&w->tmr_max, dq->max_wait_s * 1000ULL, max_wait, w);
	if (dq->announce_s)
		tmr_start(&w->tmr_announce, 1000, announce, w);
	err = acd_enqueue(dq->q, &w->e, priority, reqs, nreqs, w);
	if (err) {
		*wp = NULL;
		mem_deref(w);
	}
	return err;
}

void desk_transfer_result(struct desk_wait *w, uint16_t scode)
{
	struct dagent *da = NULL;
	const char *callee = call_record(live_call(w))->callee;

	if (!ring_first(w))
		return;
	acd_set_clock(w->d->acd, clock_mono_ms());
	if (scode != 200) {
		ring_failed(w, &w->ring);
		return;
	}
	/* The agent whose phone answered; ring-all's others are released
	 * by the model (no miss: somebody answered first). */
	for (struct le *le = w->ring.head; le && !da; le = le->next)
		if (!strcmp(((struct dagent *)le->data)->account, callee))
			da = le->data;
	if (!da)
		da = ring_first(w);
	list_unlink(&da->le_ring);
	ring_forget(w);
	da->w = w;
	w->agent = da;
	w->connected_ms = clock_mono_ms();
	tmr_cancel(&w->tmr_announce);
	tmr_cancel(&w->tmr_max);
	qlog(w, "CONNECT", da, 0);
	if (w->cb_id && store_callback_done(w->d->st, w->cb_id))
		log_msg(LOG_ERROR, call_id(w->call), "desk: call-back task "
			"%lld not marked done", (long long)w->cb_id);
	acd_offer_answered(w->e, da->ag);
	w->e = NULL;
	if (w->h)
		w->h(DESK_CONNECTED, 0, 0, w->arg);
}

void desk_bridge_end(struct desk_wait *w, bool by_agent)
{
	struct dagent *da = w->agent;
	uint32_t talk = (uint32_t)(clock_mono_ms() - w->connected_ms);

	if (da) {
		uint32_t handle = talk + w->dq->wrapup_s * 1000;
		w->dq->aht_ms = w->dq->aht_ms ?
			(w->dq->aht_ms * 7 + handle) / 8 : handle;
		qlog(w, by_agent ? "COMPLETEAGENT" : "COMPLETECALLER", da,
		     talk);
		da->w = NULL;
		agent_ready_later(da, w->dq->wrapup_s);
	}
	mem_deref(w);
}

void desk_leave(struct desk_wait *w, bool hung_up)
{
	if (w->agent) {
		desk_bridge_end(w, false);
		return;
	}
	if (ring_first(w) && !hung_up)
		call_transfer_cancel(live_call(w));
	ring_forget(w);
	qlog(w, hung_up ? "ABANDON" : "EXITFLOW", NULL, 0);
	if (hung_up)
		missed_task(w);
	acd_set_clock(w->d->acd, clock_mono_ms());
	acd_entry_remove(w->e);
	w->e = NULL;
	mem_deref(w);
}

/* An abandoned caller becomes a missed-call task (漏接回拨) for agents to
 * work: their number, in the call-back list.  Short abandons too — the
 * operator decides in `laoyou kpi` whether they count, not whether they
 * are called back. */
static void missed_task(struct desk_wait *w)
{
	struct store_callback cb;
	struct store_account acc;
	const struct store_cdr *rec = call_record(w->call);

	memset(&cb, 0, sizeof(cb));
	cb.created_ms = clock_wall_ms();
	str_ncpy(cb.callid, call_id(w->call), sizeof(cb.callid));
	str_ncpy(cb.caller, rec->caller, sizeof(cb.caller));
	str_ncpy(cb.hotline, rec->hotline, sizeof(cb.hotline));
	if (!store_account_get(w->d->st, rec->caller, &acc) && acc.ext[0])
		str_ncpy(cb.number, acc.ext, sizeof(cb.number));
	else
		str_ncpy(cb.number, rec->caller, sizeof(cb.number));
	str_ncpy(cb.recording, "missed", sizeof(cb.recording));
	if (store_callback_add(w->d->st, &cb))
		log_msg(LOG_ERROR, call_id(w->call), "desk: missed-call task "
			"not stored");
}

/* ---------- agents ---------- */

static void wrap_done(void *arg)
{
	struct dagent *da = arg;

	acd_set_clock(da->d->acd, clock_mono_ms());
	if (acd_agent_state(da->ag) == AGENT_WRAP_UP)
		(void)acd_agent_set_state(da->ag, AGENT_READY, NULL);
}

static void agent_ready_later(struct dagent *da, uint32_t wrap_s)
{
	acd_set_clock(da->d->acd, clock_mono_ms());
	if (acd_agent_state(da->ag) != AGENT_ON_CALL)
		return;
	(void)acd_agent_set_state(da->ag, AGENT_WRAP_UP, NULL);
	tmr_start(&da->tmr_wrap, wrap_s * 1000ULL, wrap_done, da);
}

static void dagent_destructor(void *arg)
{
	struct dagent *da = arg;

	tmr_cancel(&da->tmr_wrap);
	list_unlink(&da->le);
}

static struct dagent *agent_by_account(const struct desk *d,
				       const char *account)
{
	for (struct le *le = d->agents.head; le; le = le->next) {
		struct dagent *da = le->data;
		if (!strcmp(da->account, account))
			return da;
	}
	return NULL;
}

/* A phone that unregistered cannot take calls: log its agent out. */
static void event_handler(enum event_type type, const void *data, void *arg)
{
	struct desk *d = arg;
	struct dagent *da;

	if (type != EVENT_REG_CHANGED)
		return;
	da = agent_by_account(d, data);
	if (!da || sipd_contacts(d->sd, da->account, NULL, NULL))
		return;
	switch (acd_agent_state(da->ag)) {
	case AGENT_READY:
	case AGENT_NOT_READY:
	case AGENT_WRAP_UP:
		acd_set_clock(d->acd, clock_mono_ms());
		(void)acd_agent_set_state(da->ag, AGENT_LOGGED_OUT, NULL);
		log_info("desk: agent %s logged out (phone unregistered)",
			 da->id);
		break;
	default:
		break;
	}
}

/* Requirements relax as callers wait: let the model look again. */
static void poke(void *arg)
{
	struct desk *d = arg;

	acd_set_clock(d->acd, clock_mono_ms());
	acd_poke(d->acd);
	tmr_start(&d->tmr_poke, 5000, poke, d);
}

/* ---------- feature codes ---------- */

struct call *desk_supervisable(struct desk *d, const char *supervisor,
			       const char *ext)
{
	struct dagent *sup = agent_by_account(d, supervisor);
	struct store_account acc;

	if (!sup || !sup->supervisor)
		return NULL;
	for (struct le *le = d->agents.head; le; le = le->next) {
		struct dagent *da = le->data;
		if (store_account_get(d->st, da->account, &acc) ||
		    strcmp(acc.ext, ext))
			continue;
		if (da->w && da->w->agent == da)
			return live_call(da->w);
	}
	return NULL;
}

int desk_feature(struct desk *d, const char *caller, const char *code,
		 const char **prompt)
{
	struct dagent *da = agent_by_account(d, caller);
	enum acd_agent_state to;
	int err;

	if (!da) {
		*prompt = "agent_unknown";
		return ENOENT;
	}
	if (!strcmp(code, "*61") || !strcmp(code, "*63"))
		to = AGENT_READY;
	else if (!strcmp(code, "*62"))
		to = AGENT_LOGGED_OUT;
	else
		to = AGENT_NOT_READY;
	acd_set_clock(d->acd, clock_mono_ms());
	err = acd_agent_set_state(da->ag, to, "break");
	*prompt = to == AGENT_READY ? "agent_ready" : to == AGENT_LOGGED_OUT ?
		"agent_logged_out" : "agent_not_ready";
	log_info("desk: agent %s %s by %s%s", da->id, acd_state_name(to), code,
		 err ? " (refused now)" : "");
	return err;
}

/* ---------- the site ---------- */


bool desk_queue_known(const struct json *root, const char *name)
{
	return json_get(json_get(root, "queues"), name) != NULL;
}

static int num(const struct json *o, const char *key, uint32_t def,
	       uint32_t max, uint32_t *out, const char *file, char *err,
	       size_t errsz)
{
	const struct json *j = json_get(o, key);
	double v = json_num(j);

	*out = def;
	if (!j)
		return 0;
	if (json_type(j) != JSON_NUMBER || v < 0 || v > max ||
	    v != (double)(uint32_t)v)
		return json_fail(err, errsz, file, json_line(j), "\"%s\" must "
				 "be a whole number from 0 to %u", key, max);
	*out = (uint32_t)v;
	return 0;
}

/* A reload keeps each agent's login: the new model's agents take the
 * states of the old ones of the same name (wrap-up ends early).  The log
 * gets "logged-out" for agents that start afresh, which also closes what
 * the log held open when the process last stopped. */
static void carry_states(struct desk *d, struct list *ags)
{
	int64_t now = clock_wall_ms();

	for (struct le *le = ags->head; le; le = le->next) {
		struct dagent *da = le->data;
		struct acd_agent *old = d->acd ? acd_agent_find(d->acd, da->id)
			: NULL;
		enum acd_agent_state s = old ? acd_agent_state(old) :
			AGENT_LOGGED_OUT;

		if (s == AGENT_WRAP_UP || s == AGENT_RESERVED ||
		    s == AGENT_ON_CALL)
			s = AGENT_READY;
		if (s != AGENT_LOGGED_OUT)
			(void)acd_agent_set_state(da->ag, s,
						  acd_agent_reason(old));
		if (!old || s != acd_agent_state(old))
			(void)store_agent_log(d->st, now, da->id,
					      acd_state_name(s), old ? "" :
					      "start");
	}
	for (struct le *le = d->agents.head; le; le = le->next) {
		struct dagent *da = le->data;
		bool kept = false;
		for (struct le *n = ags->head; n && !kept; n = n->next)
			kept = !strcmp(((struct dagent *)n->data)->id, da->id);
		if (!kept && acd_agent_state(da->ag) != AGENT_LOGGED_OUT)
			(void)store_agent_log(d->st, now, da->id,
					      "logged-out", "removed");
	}
}

int desk_site_load(struct desk *d, const struct json *root, const char *file,
		   char *err, size_t errsz)
{
	const struct json *queues = json_get(root, "queues");
	const struct json *agents = json_get(root, "agents");
	struct acd *acd = NULL;
	struct list qs, ags;
	int e = 0;

	list_init(&qs);
	list_init(&ags);
	if (queues && json_type(queues) != JSON_OBJECT)
		return json_fail(err, errsz, file, json_line(queues),
				 "\"queues\" must be an object");
	if (agents && json_type(agents) != JSON_OBJECT)
		return json_fail(err, errsz, file, json_line(agents),
				 "\"agents\" must be an object");
	e = acd_alloc(&acd, offer_handler, d);
	if (e)
		return e;

	for (size_t i = 0; i < json_count(queues) && !e; i++) {
		const struct json *o = json_at(queues, i);
		const char *name = json_key(queues, i);
		const char *strat = json_str(json_get(o, "strategy"));
		struct dqueue *dq;
		int s;

		if (json_type(o) != JSON_OBJECT) {
			e = json_fail(err, errsz, file, json_line(o), "queue "
				      "\"%s\" must be an object", name);
			break;
		}
		for (size_t k = 0; k < json_count(o) && !e; k++) {
			static const char *keys = " strategy ring_timeout "
				"wrapup max_wait max_length announce aging "
				"join_empty leave_empty ";
			char pat[40];
			re_snprintf(pat, sizeof(pat), " %s ", json_key(o, k));
			if (!strstr(keys, pat))
				e = json_fail(err, errsz, file,
					      json_key_line(o, k), "queue "
					      "\"%s\" has no setting \"%s\"",
					      name, json_key(o, k));
		}
		if (e)
			break;
		s = strat ? acd_strategy_parse(strat) : ACD_LONGEST_IDLE;
		if (s < 0) {
			e = json_fail(err, errsz, file, json_line(json_get(o,
				"strategy")), "unknown strategy \"%s\" "
				"(ringall, longest-idle, round-robin, "
				"fewest-calls, least-talk-time, random, "
				"skills)", strat);
			break;
		}
		dq = mem_zalloc(sizeof(*dq), NULL);
		if (!dq) {
			e = ENOMEM;
			break;
		}
		list_append(&qs, &dq->le, dq);
		str_ncpy(dq->name, name, sizeof(dq->name));
		uint32_t aging;
		e = num(o, "ring_timeout", 15, 600, &dq->ring_s, file, err,
			errsz);
		e = e ? e : num(o, "wrapup", 5, 3600, &dq->wrapup_s, file,
				err, errsz);
		e = e ? e : num(o, "max_wait", 300, 86400, &dq->max_wait_s,
				file, err, errsz);
		e = e ? e : num(o, "max_length", 0, 100000, &dq->max_len,
				file, err, errsz);
		e = e ? e : num(o, "announce", 30, 3600, &dq->announce_s,
				file, err, errsz);
		e = e ? e : num(o, "aging", 30, 86400, &aging, file, err,
				errsz);
		if (e)
			break;
		for (int k = 0; k < 2; k++) {
			const char *key = k ? "leave_empty" : "join_empty";
			const struct json *b = json_get(o, key);
			if (b && json_type(b) != JSON_BOOL) {
				e = json_fail(err, errsz, file, json_line(b),
					      "\"%s\" must be true or false",
					      key);
				break;
			}
			if (k)
				dq->leave_empty = b && json_bool(b);
			else
				dq->join_empty = !b || json_bool(b);
		}
		if (e)
			break;
		e = acd_queue_add(acd, &dq->q, name, (enum acd_strategy)s);
		if (e) {
			e = json_fail(err, errsz, file,
				      json_key_line(queues, i), "queue name "
				      "\"%s\" is too long (at most %u bytes)",
				      name, NAME_LEN - 1);
			break;
		}
		acd_queue_set_aging(dq->q, aging);
	}

	for (size_t i = 0; i < json_count(agents) && !e; i++) {
		const struct json *o = json_at(agents, i);
		const char *id = json_key(agents, i);
		const char *account = json_str(json_get(o, "account"));
		const struct json *ql = json_get(o, "queues");
		const struct json *sk = json_get(o, "skills");
		struct dagent *da;

		if (sk && json_type(sk) != JSON_OBJECT) {
			e = json_fail(err, errsz, file, json_line(sk), "agent "
				      "\"%s\": \"skills\" must be an object of "
				      "skill: level", id);
			break;
		}
		if (ql && json_type(ql) != JSON_ARRAY) {
			e = json_fail(err, errsz, file, json_line(ql), "agent "
				      "\"%s\": \"queues\" must be a list of "
				      "queue names", id);
			break;
		}
		if (json_type(o) != JSON_OBJECT || !account || !*account ||
		    strlen(account) >= STORE_USER_MAX) {
			e = json_fail(err, errsz, file, json_line(o), "agent "
				      "\"%s\" needs an \"account\" (its SIP "
				      "account)", id);
			break;
		}
		da = mem_zalloc(sizeof(*da), dagent_destructor);
		if (!da) {
			e = ENOMEM;
			break;
		}
		list_append(&ags, &da->le, da);
		da->d = d;
		str_ncpy(da->id, id, sizeof(da->id));
		str_ncpy(da->account, account, sizeof(da->account));
		e = acd_agent_add(acd, &da->ag, id);
		if (e) {
			e = json_fail(err, errsz, file, json_line(o), "agent "
				      "\"%s\" is listed twice or its name is "
				      "too long", id);
			break;
		}
		acd_agent_set_ctx(da->ag, da);
		{
			const struct json *sv = json_get(o, "supervisor");
			if (sv && json_type(sv) != JSON_BOOL) {
				e = json_fail(err, errsz, file, json_line(sv),
					"\"supervisor\" must be true or "
					"false");
				break;
			}
			da->supervisor = sv && json_bool(sv);
		}
		for (size_t k = 0; k < json_count(ql) && !e; k++) {
			const char *qn = json_str(json_at(ql, k));
			struct acd_queue *q = qn ? acd_queue_find(acd, qn) :
				NULL;
			if (!q)
				e = json_fail(err, errsz, file,
					json_line(json_at(ql, k)), "agent "
					"\"%s\": no queue \"%s\"", id,
					qn ? qn : "?");
			else
				(void)acd_agent_join(da->ag, q);
		}
		for (size_t k = 0; k < json_count(sk) && !e; k++) {
			const struct json *lv = json_at(sk, k);
			int s = acd_skill(acd, json_key(sk, k));
			double v = json_num(lv);
			if (s < 0 || json_type(lv) != JSON_NUMBER || v < 1 ||
			    v > 10 || v != (int)v)
				e = json_fail(err, errsz, file,
					json_key_line(sk, k), "skill \"%s\" "
					"needs a level from 1 to 10",
					json_key(sk, k));
			else
				(void)acd_agent_skill(da->ag, s, (uint8_t)v);
		}
	}

	if (e || !d) {
		list_flush(&ags);
		list_flush(&qs);
		mem_deref(acd);
		return e;
	}
	if (d->waits.head) {
		log_warn("desk: callers are in line; queues and agents keep "
			 "their running setup until the lines are empty");
		list_flush(&ags);
		list_flush(&qs);
		mem_deref(acd);
		return EBUSY;
	}
	carry_states(d, &ags);
	list_flush(&d->agents);
	list_flush(&d->queues);
	mem_deref(d->acd);
	d->acd = acd;
	acd_set_stateh(acd, agent_state_handler, d);
	while (ags.head) {
		struct le *le = ags.head;
		list_unlink(le);
		list_append(&d->agents, le, le->data);
	}
	while (qs.head) {
		struct le *le = qs.head;
		list_unlink(le);
		list_append(&d->queues, le, le->data);
	}
	log_info("desk: %u queue(s), %u agent(s)", list_count(&d->queues),
		 list_count(&d->agents));
	return 0;
}

static void desk_destructor(void *arg)
{
	struct desk *d = arg;

	tmr_cancel(&d->tmr_poke);
	tmr_cancel(&d->tmr_empty);
	mem_deref(d->sub);
	list_flush(&d->waits);
	list_flush(&d->agents);
	list_flush(&d->queues);
	mem_deref(d->acd);
}

int desk_alloc(struct desk **dp, struct calls *cs, struct sipd *sd,
	       struct store *st)
{
	struct desk *d = mem_zalloc(sizeof(*d), desk_destructor);
	int err;

	if (!d)
		return ENOMEM;
	d->cs = cs;
	d->sd = sd;
	d->st = st;
	err = acd_alloc(&d->acd, offer_handler, d);
	if (!err)
		err = event_subscribe(&d->sub, event_handler, d);
	if (err) {
		mem_deref(d);
		return err;
	}
	tmr_start(&d->tmr_poke, 5000, poke, d);
	*dp = d;
	return 0;
}

/* ---------- what the API reads and sets ---------- */

void desk_agents(const struct desk *d, desk_agent_h *h, void *arg)
{
	for (struct le *le = d ? d->agents.head : NULL; le; le = le->next) {
		const struct dagent *da = le->data;
		const struct desk_wait *w = da->w;
		struct desk_agent_info ai = {
			.id = da->id, .account = da->account,
			.state = acd_state_name(acd_agent_state(da->ag)),
			.reason = acd_agent_reason(da->ag),
			.callid = w ? call_id(w->call) : "",
			.queue = w ? w->dq->name : "",
			.supervisor = da->supervisor,
		};
		h(&ai, arg);
	}
}

void desk_queues(const struct desk *d, desk_queue_h *h, void *arg)
{
	uint64_t now = clock_mono_ms();

	for (struct le *le = d ? d->queues.head : NULL; le; le = le->next) {
		const struct dqueue *dq = le->data;
		uint32_t counts[AGENT_STATES];
		struct desk_queue_info qi;

		memset(&qi, 0, sizeof(qi));
		acd_queue_agents(dq->q, counts);
		qi.name = dq->name;
		qi.waiting = acd_queue_waiting(dq->q);
		qi.ready = counts[AGENT_READY];
		qi.busy = counts[AGENT_RESERVED] + counts[AGENT_ON_CALL] +
			counts[AGENT_WRAP_UP];
		qi.not_ready = counts[AGENT_NOT_READY];
		qi.logged_out = counts[AGENT_LOGGED_OUT];
		qi.aht_s = (dq->aht_ms + 500) / 1000;
		for (struct le *l = d->waits.head; l; l = l->next) {
			const struct desk_wait *w = l->data;
			uint64_t waited = now - w->joined_ms;
			if (w->dq == dq && w->e && waited > qi.longest_wait_ms)
				qi.longest_wait_ms = waited;
		}
		h(&qi, arg);
	}
}

const char *desk_agent_of(const struct desk *d, const char *account)
{
	const struct dagent *da = d ? agent_by_account((struct desk *)d,
						       account) : NULL;
	return da ? da->id : NULL;
}

static struct dagent *agent_by_id(const struct desk *d, const char *id)
{
	for (struct le *le = d ? d->agents.head : NULL; le; le = le->next)
		if (!strcmp(((struct dagent *)le->data)->id, id))
			return le->data;
	return NULL;
}

const char *desk_agent_account(const struct desk *d, const char *id)
{
	const struct dagent *da = agent_by_id(d, id);
	return da ? da->account : NULL;
}

int desk_agent_set(struct desk *d, const char *id, const char *state,
		   const char *reason)
{
	struct dagent *da = agent_by_id(d, id);
	enum acd_agent_state to;
	int err;

	if (!da)
		return ENOENT;
	if (!strcmp(state, "ready"))
		to = AGENT_READY;
	else if (!strcmp(state, "not-ready"))
		to = AGENT_NOT_READY;
	else if (!strcmp(state, "logged-out"))
		to = AGENT_LOGGED_OUT;
	else
		return EINVAL;
	/* Ready with no phone to ring would only collect misses. */
	if (to == AGENT_READY && !sipd_contacts(d->sd, da->account, NULL,
						NULL))
		return ENOTCONN;
	acd_set_clock(d->acd, clock_mono_ms());
	err = acd_agent_set_state(da->ag, to, reason && *reason ? reason :
				  "break");
	log_info("desk: agent %s %s by the API%s", da->id, state,
		 err ? " (refused now)" : "");
	return err;
}
