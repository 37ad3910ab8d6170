#include <re.h>
#include "acd/acd.h"
#include "unit.h"

/* The offers the model made, in order. */
enum { RING = 256 };
static struct acd_agent *offered_r[RING];
static struct acd_entry *offered_er[RING];
static int noffers;
#define offered(i)   offered_r[(i) % RING]
#define offered_e(i) offered_er[(i) % RING]

static void offer_h(struct acd_entry *e, struct acd_agent *ag, void *arg)
{
	(void)arg;
	offered(noffers) = ag;
	offered_e(noffers) = e;
	noffers++;
}

static struct acd *model(void)
{
	struct acd *a = NULL;
	noffers = 0;
	acd_alloc(&a, offer_h, NULL);
	acd_set_clock(a, 1000000);
	return a;
}

static void sound(struct acd *a)
{
	char err[200];
	if (acd_check(a, err, sizeof(err))) {
		fprintf(stderr, "  invariant: %s\n", err);
		unit_failed_checks++;
	}
}

static struct acd_agent *agent(struct acd *a, const char *id,
			       struct acd_queue *q)
{
	struct acd_agent *ag = NULL;
	acd_agent_add(a, &ag, id);
	acd_agent_join(ag, q);
	return ag;
}

/* Take n calls through q, each answered by whoever is offered it, and
 * count who got them. */
static void run_calls(struct acd *a, struct acd_queue *q, int n,
		      struct acd_agent **ags, int nag, int *count)
{
	for (int i = 0; i < n; i++) {
		struct acd_entry *e = NULL;
		int before = noffers;

		acd_set_clock(a, 1000000 + (uint64_t)i * 10000);
		acd_enqueue(q, &e, 0, NULL, 0, NULL);
		CHECK_EQ(noffers, before + 1);
		for (int k = 0; k < nag; k++)
			if (offered(before) == ags[k])
				count[k]++;
		acd_offer_answered(e, offered(before));
		acd_set_clock(a, 1000000 + (uint64_t)i * 10000 + 5000);
		acd_agent_set_state(offered(before), AGENT_READY, NULL);
		sound(a);
	}
}

static void strategies_distribute(void)
{
	const enum acd_strategy even[] = {ACD_LONGEST_IDLE, ACD_ROUNDROBIN,
					  ACD_FEWEST_CALLS, ACD_LEAST_TALK};
	for (size_t s = 0; s < ARRAY_SIZE(even); s++) {
		struct acd *a = model();
		struct acd_queue *q = NULL;
		struct acd_agent *ags[3];
		int count[3] = {0, 0, 0};

		acd_queue_add(a, &q, "q", even[s]);
		for (int k = 0; k < 3; k++) {
			char id[8];
			re_snprintf(id, sizeof(id), "a%d", k);
			ags[k] = agent(a, id, q);
			acd_set_clock(a, 1000000 + (uint64_t)k);
			acd_agent_set_state(ags[k], AGENT_READY, NULL);
		}
		run_calls(a, q, 30, ags, 3, count);
		/* Each strategy spreads 30 calls 10/10/10 over 3 equal
		 * agents who all talk as long. */
		for (int k = 0; k < 3; k++)
			if (count[k] != 10) {
				fprintf(stderr, "  %s: %d/%d/%d\n",
					acd_strategy_name(even[s]), count[0],
					count[1], count[2]);
				unit_failed_checks++;
				break;
			}
		mem_deref(a);
	}
}

static void random_spreads_roughly(void)
{
	struct acd *a = model();
	struct acd_queue *q = NULL;
	struct acd_agent *ags[4];
	int count[4] = {0};

	acd_queue_add(a, &q, "q", ACD_RANDOM);
	for (int k = 0; k < 4; k++) {
		char id[8];
		re_snprintf(id, sizeof(id), "a%d", k);
		ags[k] = agent(a, id, q);
		acd_agent_set_state(ags[k], AGENT_READY, NULL);
	}
	run_calls(a, q, 400, ags, 4, count);
	for (int k = 0; k < 4; k++)
		CHECK(count[k] > 50 && count[k] < 150);
	mem_deref(a);
}

static void ringall_offers_everyone_first_answer_wins(void)
{
	struct acd *a = model();
	struct acd_queue *q = NULL;
	struct acd_agent *x, *y, *z;
	struct acd_entry *e = NULL;

	acd_queue_add(a, &q, "q", ACD_RINGALL);
	x = agent(a, "x", q);
	y = agent(a, "y", q);
	z = agent(a, "z", q);
	acd_agent_set_state(x, AGENT_READY, NULL);
	acd_agent_set_state(y, AGENT_READY, NULL);
	acd_enqueue(q, &e, 0, NULL, 0, NULL);
	CHECK_EQ(noffers, 2);
	/* z logs in while it rings: it joins the ringing. */
	acd_agent_set_state(z, AGENT_READY, NULL);
	CHECK_EQ(noffers, 3);
	acd_offer_answered(e, y);
	CHECK_EQ(acd_agent_state(y), AGENT_ON_CALL);
	CHECK_EQ(acd_agent_state(x), AGENT_READY);
	CHECK_EQ(acd_agent_state(z), AGENT_READY);
	CHECK_EQ(acd_queue_waiting(q), 0);
	sound(a);
	mem_deref(a);
}

static void skills_pick_qualified_best_level(void)
{
	struct acd *a = model();
	struct acd_queue *q = NULL;
	struct acd_agent *zh, *en1, *en2, *sign;
	struct acd_entry *e = NULL;
	int en = acd_skill(a, "lang:en"), zhs = acd_skill(a, "lang:zh");
	int sl = acd_skill(a, "sign-language");
	struct acd_req want_en = {(uint8_t)en, 1, 0};
	struct acd_req want_sign = {(uint8_t)sl, 1, 0};

	acd_queue_add(a, &q, "q", ACD_SKILLS);
	zh = agent(a, "zh", q);
	en1 = agent(a, "en1", q);
	en2 = agent(a, "en2", q);
	sign = agent(a, "sign", q);
	acd_agent_skill(zh, zhs, 9);
	acd_agent_skill(en1, en, 5);
	acd_agent_skill(en2, en, 8);
	acd_agent_skill(sign, sl, 6);
	acd_agent_skill(sign, zhs, 5);
	acd_agent_set_state(zh, AGENT_READY, NULL);
	acd_agent_set_state(en1, AGENT_READY, NULL);
	acd_agent_set_state(en2, AGENT_READY, NULL);
	acd_agent_set_state(sign, AGENT_READY, NULL);

	acd_enqueue(q, &e, 0, &want_en, 1, NULL);
	CHECK(offered(0) == en2);                /* best English first */
	acd_offer_answered(e, en2);
	acd_enqueue(q, &e, 0, &want_en, 1, NULL);
	CHECK(offered(1) == en1);
	acd_offer_answered(e, en1);
	acd_enqueue(q, &e, 0, &want_sign, 1, NULL);
	CHECK(offered(2) == sign);
	acd_offer_answered(e, sign);

	/* No English agent is free: the call waits ... */
	acd_enqueue(q, &e, 0, &want_en, 1, NULL);
	CHECK_EQ(noffers, 3);
	sound(a);
	/* ... until an English agent is ready again. */
	acd_agent_set_state(en1, AGENT_READY, NULL);
	CHECK_EQ(noffers, 4);
	CHECK(offered(3) == en1);
	acd_offer_answered(e, en1);
	mem_deref(a);
}

static void requirements_relax_after_waiting(void)
{
	struct acd *a = model();
	struct acd_queue *q = NULL;
	struct acd_agent *zh;
	struct acd_entry *e = NULL;
	int en = acd_skill(a, "lang:en");
	struct acd_req want = {(uint8_t)en, 1, 30};

	acd_queue_add(a, &q, "q", ACD_SKILLS);
	zh = agent(a, "zh", q);
	acd_agent_set_state(zh, AGENT_READY, NULL);
	acd_enqueue(q, &e, 0, &want, 1, NULL);
	CHECK_EQ(noffers, 0);
	acd_set_clock(a, 1000000 + 29000);
	acd_poke(a);
	CHECK_EQ(noffers, 0);
	acd_set_clock(a, 1000000 + 30000);
	acd_poke(a);
	CHECK_EQ(noffers, 1);
	sound(a);
	acd_entry_remove(e);
	CHECK_EQ(acd_agent_state(zh), AGENT_READY);
	mem_deref(a);
}

static void priority_first_with_aging(void)
{
	struct acd *a = model();
	struct acd_queue *q = NULL;
	struct acd_agent *x;
	struct acd_entry *low = NULL, *high = NULL, *old = NULL;

	acd_queue_add(a, &q, "q", ACD_LONGEST_IDLE);
	acd_queue_set_aging(q, 10);        /* +1 priority per 10 s */
	x = agent(a, "x", q);
	acd_set_clock(a, 0);
	acd_enqueue(q, &old, 0, NULL, 0, (void *)1);
	acd_set_clock(a, 35000);
	acd_enqueue(q, &low, 0, NULL, 0, (void *)2);
	acd_enqueue(q, &high, 5, NULL, 0, (void *)3);  /* an elder's call */
	CHECK_EQ(acd_entry_position(high), 3);
	acd_agent_set_state(x, AGENT_READY, NULL);
	CHECK(offered_e(0) == high);       /* 5 beats 0+3 (aged 35 s) */
	acd_offer_answered(high, x);
	acd_set_clock(a, 90000);           /* old: 0+9 > low: 0+5 */
	acd_agent_set_state(x, AGENT_READY, NULL);
	CHECK(offered_e(1) == old);
	acd_offer_answered(old, x);
	acd_agent_set_state(x, AGENT_READY, NULL);
	CHECK(offered_e(2) == low);
	acd_offer_answered(low, x);
	mem_deref(a);
}

static void misses_make_an_agent_not_ready(void)
{
	struct acd *a = model();
	struct acd_queue *q = NULL;
	struct acd_agent *x, *y;
	struct acd_entry *e = NULL;

	acd_queue_add(a, &q, "q", ACD_LONGEST_IDLE);
	acd_agent_set_max_misses(a, 2);
	x = agent(a, "x", q);
	y = agent(a, "y", q);
	acd_set_clock(a, 1);
	acd_agent_set_state(x, AGENT_READY, NULL);
	acd_set_clock(a, 2);
	acd_agent_set_state(y, AGENT_READY, NULL);
	acd_enqueue(q, &e, 0, NULL, 0, NULL);
	CHECK(offered(0) == x);
	acd_offer_failed(e, x);            /* ring timeout: next agent */
	CHECK(offered(1) == y);
	CHECK_EQ(acd_agent_state(x), AGENT_READY);
	acd_offer_failed(e, y);
	CHECK(offered(2) == x);            /* not y again at once */
	acd_offer_failed(e, x);            /* x's second miss in a row */
	CHECK_EQ(acd_agent_state(x), AGENT_NOT_READY);
	CHECK_STR(acd_agent_reason(x), "missed");
	CHECK(offered(3) == y);
	acd_offer_answered(e, y);
	sound(a);
	mem_deref(a);
}

static void state_machine(void)
{
	struct acd *a = model();
	struct acd_queue *q = NULL;
	struct acd_agent *x;
	struct acd_entry *e = NULL;

	acd_queue_add(a, &q, "q", ACD_LONGEST_IDLE);
	x = agent(a, "x", q);
	CHECK_EQ(acd_agent_state(x), AGENT_LOGGED_OUT);
	CHECK_EQ(acd_agent_set_state(x, AGENT_WRAP_UP, NULL), EPERM);
	CHECK_EQ(acd_agent_set_state(x, AGENT_ON_CALL, NULL), EPERM);
	CHECK_EQ(acd_agent_set_state(x, AGENT_RESERVED, NULL), EPERM);
	CHECK_EQ(acd_agent_set_state(x, AGENT_NOT_READY, "lunch"), 0);
	CHECK_STR(acd_agent_reason(x), "lunch");
	CHECK_EQ(acd_agent_set_state(x, AGENT_READY, NULL), 0);
	acd_enqueue(q, &e, 0, NULL, 0, NULL);
	CHECK_EQ(acd_agent_state(x), AGENT_RESERVED);
	/* Reserved: only the offer's outcome moves it. */
	CHECK_EQ(acd_agent_set_state(x, AGENT_LOGGED_OUT, NULL), EPERM);
	CHECK_EQ(acd_agent_set_state(x, AGENT_READY, NULL), EPERM);
	acd_offer_answered(e, x);
	CHECK_EQ(acd_agent_set_state(x, AGENT_WRAP_UP, NULL), 0);
	CHECK_EQ(acd_agent_set_state(x, AGENT_READY, NULL), 0);
	/* The caller hangs up while the agent rings: the agent is free. */
	acd_enqueue(q, &e, 0, NULL, 0, NULL);
	CHECK_EQ(acd_agent_state(x), AGENT_RESERVED);
	acd_entry_remove(e);
	CHECK_EQ(acd_agent_state(x), AGENT_READY);
	/* The phone dies mid-call: logged out from on-call is allowed. */
	acd_enqueue(q, &e, 0, NULL, 0, NULL);
	acd_offer_answered(e, x);
	CHECK_EQ(acd_agent_set_state(x, AGENT_LOGGED_OUT, NULL), 0);
	sound(a);
	mem_deref(a);
}

/* Random operations; after each, the model must be sound: no agent ready
 * while a call it could take waits, no reservation without an offer. */
static void random_operations_never_strand(void)
{
	enum { NA = 12, NQ = 3, NE = 64 };
	struct acd *a = model();
	struct acd_queue *q[NQ];
	struct acd_agent *ag[NA];
	struct acd_entry *live[NE];
	int nlive = 0;
	int sk = acd_skill(a, "x");

	for (int i = 0; i < NQ; i++) {
		char n[8];
		re_snprintf(n, sizeof(n), "q%d", i);
		acd_queue_add(a, &q[i], n, (enum acd_strategy)(i * 2 % 7));
	}
	for (int i = 0; i < NA; i++) {
		char n[8];
		re_snprintf(n, sizeof(n), "a%d", i);
		acd_agent_add(a, &ag[i], n);
		acd_agent_join(ag[i], q[i % NQ]);
		if (i % 2)
			acd_agent_join(ag[i], q[(i + 1) % NQ]);
		acd_agent_skill(ag[i], sk, (uint8_t)(i % 4));
	}
	for (int step = 0; step < 4000; step++) {
		int r = (int)(rand_u32() % 8);
		struct acd_agent *g = ag[rand_u32() % NA];

		acd_set_clock(a, 1000000 + (uint64_t)step * 500);
		if (r == 0 && nlive < NE) {
			struct acd_req rq = {(uint8_t)sk,
					     (uint8_t)(rand_u32() % 4),
					     rand_u32() % 2 ? 20 : 0};
			acd_enqueue(q[rand_u32() % NQ], &live[nlive++],
				    (int)(rand_u32() % 3), &rq,
				    (uint8_t)(rand_u32() % 2), NULL);
		}
		else if (r == 1 && nlive) {
			int k = (int)(rand_u32() % (uint32_t)nlive);
			acd_entry_remove(live[k]);
			live[k] = live[--nlive];
		}
		else if (r == 2 && acd_agent_state(g) == AGENT_RESERVED) {
			/* find its entry and answer or fail */
			for (int k = 0; k < nlive; k++) {
				bool mine = false;
				for (int o = noffers - 1; o >= 0 &&
				     o >= noffers - RING; o--)
					if (offered(o) == g &&
					    offered_e(o) == live[k]) {
						mine = true;
						break;
					}
				if (!mine)
					continue;
				if (rand_u32() % 2) {
					acd_offer_answered(live[k], g);
					live[k] = live[--nlive];
				}
				else {
					acd_offer_failed(live[k], g);
				}
				break;
			}
		}
		else if (r >= 3) {
			const enum acd_agent_state to[] = {
				AGENT_READY, AGENT_NOT_READY,
				AGENT_LOGGED_OUT, AGENT_WRAP_UP};
			(void)acd_agent_set_state(g, to[rand_u32() % 4],
						  "test");
		}
		acd_poke(a);
		sound(a);
		if (unit_failed_checks)
			break;
	}
	for (int k = 0; k < nlive; k++)
		acd_entry_remove(live[k]);
	mem_deref(a);
}

const struct unit_case acd_cases[] = {
	{"strategies_distribute", strategies_distribute},
	{"random_spreads_roughly", random_spreads_roughly},
	{"ringall_offers_everyone_first_answer_wins",
	 ringall_offers_everyone_first_answer_wins},
	{"skills_pick_qualified_best_level", skills_pick_qualified_best_level},
	{"requirements_relax_after_waiting", requirements_relax_after_waiting},
	{"priority_first_with_aging", priority_first_with_aging},
	{"misses_make_an_agent_not_ready", misses_make_an_agent_not_ready},
	{"state_machine", state_machine},
	{"random_operations_never_strand", random_operations_never_strand},
	{NULL, NULL},
};
