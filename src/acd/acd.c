/*
 * The ACD's model and its decisions.
 *
 * A decision runs at the two moments that can make one possible: a call
 * joins a queue (find it the best ready agent), or an agent becomes ready
 * (find it the most urgent waiting call it may take).  Both look only at
 * the queues involved, so a decision costs the members of one queue or the
 * waiting calls of one agent's queues, not the whole site.
 *
 * The invariant that keeps agents from being "stuck": after every public
 * operation there is no ready agent and unoffered waiting call that could
 * be paired.  acd_check() verifies it (and the reservation bookkeeping).
 */
#include <string.h>
#include <re.h>
#include "acd/acd.h"

enum { NAME_LEN = 48, REASON_LEN = 32 };

struct member {
	struct le le_q;            /* in the queue's members */
	struct le le_a;            /* in the agent's memberships */
	struct acd_agent *ag;
	struct acd_queue *q;
};

struct acd_queue {
	struct le le;
	struct le he;
	struct acd *a;
	char name[NAME_LEN];
	enum acd_strategy strategy;
	struct list members;
	struct list waiting;       /* entries, in order of arrival */
	uint32_t nwaiting;
	uint32_t aging_s;
	struct le *rr_next;        /* round-robin: the member to try next */
};

struct acd_agent {
	struct le le;
	struct le he;
	struct acd *a;
	char id[NAME_LEN];
	uint8_t skills[ACD_SKILLS_MAX];
	enum acd_agent_state state;
	char reason[REASON_LEN];
	struct list members;
	uint64_t idle_since;
	uint64_t oncall_since;
	uint64_t talk_ms;
	uint32_t calls;
	uint32_t misses;
	struct acd_entry *offered; /* the call it is reserved for */
	struct le le_off;          /* in that call's list of agents */
	void *ctx;
};

struct acd_entry {
	struct le le;
	struct acd_queue *q;
	int priority;
	struct acd_req reqs[ACD_REQS_MAX];
	uint8_t nreqs;
	uint64_t enq_ms;
	void *ctx;
	uint32_t offers;           /* agents reserved for it now */
	struct list agents;        /* those agents (le_off) */
	struct acd_agent *skip;    /* the agent that just did not answer */
};

struct acd {
	struct list queues;
	struct list agents;
	struct hash *qh, *agh;
	char skills[ACD_SKILLS_MAX][NAME_LEN];
	int nskills;
	acd_offer_h *offerh;
	void *arg;
	uint64_t now;
	uint32_t max_misses;
	bool deciding;             /* a decision is offering: no re-entry */
	acd_state_h *stateh;
	void *state_arg;
};

static const char *strategy_names[ACD_STRATEGIES] = {
	"ringall", "longest-idle", "round-robin", "fewest-calls",
	"least-talk-time", "random", "skills",
};

static const char *state_names[AGENT_STATES] = {
	"logged-out", "ready", "not-ready", "reserved", "on-call", "wrap-up",
};

const char *acd_strategy_name(enum acd_strategy s)
{
	return s < ACD_STRATEGIES ? strategy_names[s] : "?";
}

int acd_strategy_parse(const char *name)
{
	for (int i = 0; i < ACD_STRATEGIES; i++)
		if (!strcmp(name, strategy_names[i]))
			return i;
	return -1;
}

const char *acd_state_name(enum acd_agent_state s)
{
	return s < AGENT_STATES ? state_names[s] : "?";
}

/* ---------- the model ---------- */

static void acd_destructor(void *arg)
{
	struct acd *a = arg;

	/* Queues first: their entries and memberships go with them. */
	list_flush(&a->queues);
	list_flush(&a->agents);
	mem_deref(a->qh);
	mem_deref(a->agh);
}

int acd_alloc(struct acd **ap, acd_offer_h *offerh, void *arg)
{
	struct acd *a = mem_zalloc(sizeof(*a), acd_destructor);
	int err;

	if (!a)
		return ENOMEM;
	a->offerh = offerh;
	a->arg = arg;
	a->max_misses = 3;
	err = hash_alloc(&a->qh, 1024);
	err |= hash_alloc(&a->agh, 16384);
	if (err) {
		mem_deref(a);
		return ENOMEM;
	}
	*ap = a;
	return 0;
}

void acd_set_stateh(struct acd *a, acd_state_h *h, void *arg)
{
	a->stateh = h;
	a->state_arg = arg;
}

/* Every change of state goes through here, so an observer (the agent
 * state log, the API's events) sees each one exactly once. */
static void move(struct acd_agent *ag, enum acd_agent_state s)
{
	enum acd_agent_state from = ag->state;

	ag->state = s;
	if (ag->a->stateh && from != s)
		ag->a->stateh(ag, from, ag->a->state_arg);
}

void acd_set_clock(struct acd *a, uint64_t now_ms)
{
	a->now = now_ms;
}

void acd_agent_set_max_misses(struct acd *a, uint32_t misses)
{
	a->max_misses = misses ? misses : 1;
}

int acd_skill(struct acd *a, const char *name)
{
	for (int i = 0; i < a->nskills; i++)
		if (!strcmp(a->skills[i], name))
			return i;
	if (a->nskills >= ACD_SKILLS_MAX || strlen(name) >= NAME_LEN)
		return -1;
	str_ncpy(a->skills[a->nskills], name, NAME_LEN);
	return a->nskills++;
}

static void member_destructor(void *arg)
{
	struct member *m = arg;

	if (m->q->rr_next == &m->le_q)
		m->q->rr_next = m->le_q.next;
	list_unlink(&m->le_q);
	list_unlink(&m->le_a);
}

static void entry_destructor(void *arg)
{
	struct acd_entry *e = arg;

	if (e->le.list) {
		list_unlink(&e->le);
		e->q->nwaiting--;
	}
	/* Agents reserved for it when the model itself goes. */
	while (e->agents.head) {
		struct acd_agent *ag = e->agents.head->data;
		ag->offered = NULL;
		list_unlink(&ag->le_off);
	}
}

static void queue_destructor(void *arg)
{
	struct acd_queue *q = arg;

	list_unlink(&q->le);
	hash_unlink(&q->he);
	list_flush(&q->members);
	list_flush(&q->waiting);
}

static void agent_destructor(void *arg)
{
	struct acd_agent *ag = arg;

	list_unlink(&ag->le);
	hash_unlink(&ag->he);
	list_unlink(&ag->le_off);
	list_flush(&ag->members);
}

static bool name_cmp_q(struct le *le, void *arg)
{
	const struct acd_queue *q = le->data;
	return !strcmp(q->name, arg);
}

static bool name_cmp_ag(struct le *le, void *arg)
{
	const struct acd_agent *ag = le->data;
	return !strcmp(ag->id, arg);
}

struct acd_queue *acd_queue_find(const struct acd *a, const char *name)
{
	return list_ledata(hash_lookup(a->qh, hash_joaat_str(name),
				       name_cmp_q, (void *)name));
}

struct acd_agent *acd_agent_find(const struct acd *a, const char *id)
{
	return list_ledata(hash_lookup(a->agh, hash_joaat_str(id),
				       name_cmp_ag, (void *)id));
}

int acd_queue_add(struct acd *a, struct acd_queue **qp, const char *name,
		  enum acd_strategy strategy)
{
	struct acd_queue *q;

	if (strlen(name) >= NAME_LEN || strategy >= ACD_STRATEGIES)
		return EINVAL;
	if (acd_queue_find(a, name))
		return EEXIST;
	q = mem_zalloc(sizeof(*q), queue_destructor);
	if (!q)
		return ENOMEM;
	q->a = a;
	str_ncpy(q->name, name, sizeof(q->name));
	q->strategy = strategy;
	list_append(&a->queues, &q->le, q);
	hash_append(a->qh, hash_joaat_str(name), &q->he, q);
	if (qp)
		*qp = q;
	return 0;
}

void acd_queue_set_aging(struct acd_queue *q, uint32_t aging_s)
{
	q->aging_s = aging_s;
}

uint32_t acd_queue_waiting(const struct acd_queue *q)
{
	return q->nwaiting;
}

void acd_queue_agents(const struct acd_queue *q, uint32_t *counts)
{
	memset(counts, 0, AGENT_STATES * sizeof(*counts));
	for (struct le *le = q->members.head; le; le = le->next) {
		const struct member *m = le->data;
		counts[m->ag->state]++;
	}
}

int acd_agent_add(struct acd *a, struct acd_agent **agp, const char *id)
{
	struct acd_agent *ag;

	if (strlen(id) >= NAME_LEN)
		return EINVAL;
	if (acd_agent_find(a, id))
		return EEXIST;
	ag = mem_zalloc(sizeof(*ag), agent_destructor);
	if (!ag)
		return ENOMEM;
	ag->a = a;
	str_ncpy(ag->id, id, sizeof(ag->id));
	ag->state = AGENT_LOGGED_OUT;
	list_append(&a->agents, &ag->le, ag);
	hash_append(a->agh, hash_joaat_str(id), &ag->he, ag);
	if (agp)
		*agp = ag;
	return 0;
}

void acd_agent_set_ctx(struct acd_agent *ag, void *ctx)
{
	ag->ctx = ctx;
}

void *acd_agent_ctx(const struct acd_agent *ag)
{
	return ag->ctx;
}

const char *acd_agent_id(const struct acd_agent *ag)
{
	return ag->id;
}

int acd_agent_skill(struct acd_agent *ag, int skill, uint8_t level)
{
	if (skill < 0 || skill >= ACD_SKILLS_MAX || level > 10)
		return EINVAL;
	ag->skills[skill] = level;
	return 0;
}

int acd_agent_join(struct acd_agent *ag, struct acd_queue *q)
{
	struct member *m;

	for (struct le *le = ag->members.head; le; le = le->next)
		if (((struct member *)le->data)->q == q)
			return EEXIST;
	m = mem_zalloc(sizeof(*m), member_destructor);
	if (!m)
		return ENOMEM;
	m->ag = ag;
	m->q = q;
	list_append(&q->members, &m->le_q, m);
	list_append(&ag->members, &m->le_a, m);
	return 0;
}

enum acd_agent_state acd_agent_state(const struct acd_agent *ag)
{
	return ag->state;
}

const char *acd_agent_reason(const struct acd_agent *ag)
{
	return ag->reason;
}

void *acd_entry_ctx(const struct acd_entry *e)
{
	return e->ctx;
}

uint32_t acd_entry_position(const struct acd_entry *e)
{
	uint32_t pos = 1;

	for (struct le *le = e->q->waiting.head; le && le != &e->le;
	     le = le->next)
		pos++;
	return pos;
}

/* ---------- decisions ---------- */

static bool meets(const struct acd_agent *ag, const struct acd_entry *e,
		  uint64_t now)
{
	for (uint8_t i = 0; i < e->nreqs; i++) {
		const struct acd_req *r = &e->reqs[i];
		if (r->relax_s && now - e->enq_ms >= r->relax_s * 1000ULL)
			continue;
		if (ag->skills[r->skill] < r->min)
			return false;
	}
	return true;
}

static uint32_t skill_score(const struct acd_agent *ag,
			    const struct acd_entry *e)
{
	uint32_t s = 0;

	for (uint8_t i = 0; i < e->nreqs; i++)
		s += ag->skills[e->reqs[i].skill];
	return s;
}

static int64_t urgency(const struct acd_entry *e, uint64_t now)
{
	int64_t p = e->priority;

	if (e->q->aging_s)
		p += (int64_t)((now - e->enq_ms) / (e->q->aging_s * 1000ULL));
	return p;
}

/* Is candidate c a better pick than best for entry e under q's strategy? */
static bool better(const struct acd_queue *q, const struct acd_entry *e,
		   const struct acd_agent *c, const struct acd_agent *best,
		   uint32_t *seen)
{
	/* Reservoir sampling: each eligible agent equally likely. */
	if (q->strategy == ACD_RANDOM)
		return rand_u32() % ++*seen == 0;
	if (!best)
		return true;
	switch (q->strategy) {
	case ACD_FEWEST_CALLS:
		if (c->calls != best->calls)
			return c->calls < best->calls;
		break;
	case ACD_LEAST_TALK:
		if (c->talk_ms != best->talk_ms)
			return c->talk_ms < best->talk_ms;
		break;
	case ACD_SKILLS: {
		uint32_t sc = skill_score(c, e), sb = skill_score(best, e);
		if (sc != sb)
			return sc > sb;
		break;
	}
	default:
		break;
	}
	return c->idle_since < best->idle_since;
}

static void offer(struct acd_entry *e, struct acd_agent *ag)
{
	struct acd *a = e->q->a;

	move(ag, AGENT_RESERVED);
	ag->offered = e;
	e->offers++;
	list_append(&e->agents, &ag->le_off, ag);
	a->offerh(e, ag, a->arg);
}

/* Agent ag is no longer reserved for its call. */
static void unoffer(struct acd_agent *ag)
{
	if (!ag->offered)
		return;
	ag->offered->offers--;
	ag->offered = NULL;
	list_unlink(&ag->le_off);
}

/* Find entry e an agent (or, ring-all, every eligible agent). */
static bool route_entry(struct acd_entry *e)
{
	struct acd_queue *q = e->q;
	struct acd *a = q->a;
	struct acd_agent *best = NULL;
	uint32_t seen = 0;
	struct le *start, *le;
	bool any = false;

	if (e->offers && q->strategy != ACD_RINGALL)
		return false;

	if (q->strategy == ACD_ROUNDROBIN) {
		/* Round robin with memory: start after the last one rung. */
		start = q->rr_next ? q->rr_next : q->members.head;
		le = start;
		while (le) {
			struct member *m = le->data;
			if (m->ag->state == AGENT_READY && m->ag != e->skip &&
			    meets(m->ag, e, a->now)) {
				q->rr_next = le->next;
				offer(e, m->ag);
				return true;
			}
			le = le->next ? le->next : q->members.head;
			if (le == start)
				break;
		}
		return false;
	}

	for (le = q->members.head; le; le = le->next) {
		struct member *m = le->data;
		struct acd_agent *ag = m->ag;

		if (ag->state != AGENT_READY || ag == e->skip ||
		    !meets(ag, e, a->now))
			continue;
		if (q->strategy == ACD_RINGALL) {
			offer(e, ag);
			any = true;
			continue;
		}
		if (better(q, e, ag, best, &seen))
			best = ag;
	}
	if (best) {
		offer(e, best);
		return true;
	}
	if (!any && e->skip) {
		/* Only the agent that missed it is left: try it again. */
		struct acd_agent *sk = e->skip;
		e->skip = NULL;
		if (sk->state == AGENT_READY && meets(sk, e, a->now)) {
			offer(e, sk);
			return true;
		}
	}
	return any;
}

/* Find agent ag the most urgent waiting call it may take. */
static bool route_agent(struct acd_agent *ag)
{
	struct acd *a = ag->a;
	struct acd_entry *best = NULL;
	int64_t best_u = 0;

	for (struct le *ml = ag->members.head; ml; ml = ml->next) {
		struct acd_queue *q = ((struct member *)ml->data)->q;

		for (struct le *le = q->waiting.head; le; le = le->next) {
			struct acd_entry *e = le->data;
			int64_t u;

			if ((e->offers && q->strategy != ACD_RINGALL) ||
			    !meets(ag, e, a->now))
				continue;
			u = urgency(e, a->now);
			if (!best || u > best_u ||
			    (u == best_u && e->enq_ms < best->enq_ms)) {
				best = e;
				best_u = u;
			}
		}
	}
	if (!best)
		return false;
	offer(best, ag);
	return true;
}

/* Settle everything a change may have made possible. */
static void settle_agent(struct acd_agent *ag)
{
	if (ag->state == AGENT_READY && !ag->a->deciding) {
		ag->a->deciding = true;
		(void)route_agent(ag);
		ag->a->deciding = false;
	}
}

int acd_enqueue(struct acd_queue *q, struct acd_entry **ep, int priority,
		const struct acd_req *reqs, uint8_t nreqs, void *ctx)
{
	struct acd_entry *e;

	if (nreqs > ACD_REQS_MAX)
		return EINVAL;
	for (uint8_t i = 0; i < nreqs; i++)
		if (reqs[i].skill >= ACD_SKILLS_MAX)
			return EINVAL;
	e = mem_zalloc(sizeof(*e), entry_destructor);
	if (!e)
		return ENOMEM;
	e->q = q;
	e->priority = priority;
	e->nreqs = nreqs;
	if (nreqs)
		memcpy(e->reqs, reqs, nreqs * sizeof(*reqs));
	e->enq_ms = q->a->now;
	e->ctx = ctx;
	list_append(&q->waiting, &e->le, e);
	q->nwaiting++;
	*ep = e;

	q->a->deciding = true;
	(void)route_entry(e);
	q->a->deciding = false;
	return 0;
}

/* The agents still reserved for e are ready again, and each may take
 * another call. */
static void release_offers(struct acd_entry *e)
{
	while (e->agents.head) {
		struct acd_agent *ag = e->agents.head->data;
		unoffer(ag);
		move(ag, AGENT_READY);
		settle_agent(ag);
	}
}

void acd_entry_remove(struct acd_entry *e)
{
	if (!e)
		return;
	/* Out of line first, so the agents it held cannot be given it
	 * again as they look for their next call. */
	list_unlink(&e->le);
	e->q->nwaiting--;
	release_offers(e);
	mem_deref(e);
}

void acd_offer_answered(struct acd_entry *e, struct acd_agent *ag)
{
	struct acd *a = e->q->a;

	unoffer(ag);
	move(ag, AGENT_ON_CALL);
	ag->oncall_since = a->now;
	ag->calls++;
	ag->misses = 0;
	list_unlink(&e->le);
	e->q->nwaiting--;
	release_offers(e);         /* ring-all: the others */
	mem_deref(e);
}

void acd_offer_failed(struct acd_entry *e, struct acd_agent *ag)
{
	struct acd *a = e->q->a;

	unoffer(ag);
	e->skip = ag;
	if (++ag->misses >= a->max_misses) {
		str_ncpy(ag->reason, "missed", sizeof(ag->reason));
		move(ag, AGENT_NOT_READY);
		ag->misses = 0;
	}
	else {
		move(ag, AGENT_READY);
		ag->idle_since = a->now;
	}
	if (!e->offers) {
		a->deciding = true;
		(void)route_entry(e);
		a->deciding = false;
	}
	settle_agent(ag);
}

static bool allowed(enum acd_agent_state from, enum acd_agent_state to)
{
	/* The states an agent or a supervisor may set; RESERVED and ON_CALL
	 * come only from offers. */
	switch (to) {
	case AGENT_LOGGED_OUT:
	case AGENT_NOT_READY:
		return from != AGENT_RESERVED;
	case AGENT_READY:
		return from != AGENT_RESERVED;
	case AGENT_WRAP_UP:
		return from == AGENT_ON_CALL;
	default:
		return false;
	}
}

int acd_agent_set_state(struct acd_agent *ag, enum acd_agent_state s,
			const char *reason)
{
	struct acd *a = ag->a;

	if (s == ag->state && s != AGENT_NOT_READY)
		return 0;
	if (!allowed(ag->state, s))
		return EPERM;
	if (ag->state == AGENT_ON_CALL)
		ag->talk_ms += a->now - ag->oncall_since;
	str_ncpy(ag->reason, s == AGENT_NOT_READY && reason ? reason : "",
		 sizeof(ag->reason));
	if (s == ag->state && a->stateh)  /* not-ready for a new reason */
		a->stateh(ag, s, a->state_arg);
	move(ag, s);
	if (s == AGENT_READY) {
		ag->idle_since = a->now;
		settle_agent(ag);
	}
	return 0;
}

void acd_poke(struct acd *a)
{
	/* Requirements relax with waiting time: give every ready agent
	 * another look at the waiting calls. */
	for (struct le *le = a->agents.head; le; le = le->next)
		settle_agent(le->data);
}

int acd_check(const struct acd *a, char *err, size_t errsz)
{
	for (struct le *le = a->agents.head; le; le = le->next) {
		const struct acd_agent *ag = le->data;

		if ((ag->state == AGENT_RESERVED) != (ag->offered != NULL)) {
			re_snprintf(err, errsz, "agent %s is %s with%s an "
				    "offer", ag->id, state_names[ag->state],
				    ag->offered ? "" : "out");
			return EPROTO;
		}
		if (ag->state != AGENT_READY)
			continue;
		/* The stuck-agent invariant. */
		for (struct le *ml = ag->members.head; ml; ml = ml->next) {
			const struct acd_queue *q =
				((struct member *)ml->data)->q;
			for (struct le *el = q->waiting.head; el;
			     el = el->next) {
				const struct acd_entry *e = el->data;
				if (e->offers && q->strategy != ACD_RINGALL)
					continue;
				if (meets(ag, e, a->now)) {
					re_snprintf(err, errsz, "agent %s is "
						    "ready while a call waits "
						    "for it in %s", ag->id,
						    q->name);
					return EPROTO;
				}
			}
		}
	}
	return 0;
}
