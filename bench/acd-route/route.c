/* bench/acd-route: in-process routing decisions at site scale.
 * 10,000 agents, 1,000 queues, random skills; measures the time of each
 * decision (a call joining, an agent becoming ready) and prints p50/p99. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "acd/acd.h"

enum { AGENTS = 10000, QUEUES = 1000, SKILLS = 32, EVENTS = 200000,
       QUEUES_PER_AGENT = 3 };

static struct acd_entry *last_e;
static struct acd_agent *last_ag;
static unsigned offers;

static void offer_h(struct acd_entry *e, struct acd_agent *ag, void *arg)
{
	(void)arg;
	last_e = e;
	last_ag = ag;
	offers++;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *t, size_t n)
{
	qsort(t, n, sizeof(*t), cmp_u64);
	printf("%-22s n=%-7zu p50 %6.2f us  p99 %6.2f us  max %7.2f us\n",
	       what, n, t[n / 2] / 1000.0, t[n * 99 / 100] / 1000.0,
	       t[n - 1] / 1000.0);
}

int main(void)
{
	static struct acd_queue *q[QUEUES];
	static struct acd_agent *ag[AGENTS];
	static struct acd_entry *waiting[EVENTS];
	static uint64_t t_join[EVENTS], t_ready[EVENTS];
	size_t nj = 0, nr = 0, nw = 0;
	struct acd *a = NULL;
	int sk[SKILLS];
	uint64_t clock_ms = 1000000;

	libre_init();
	srand(42);
	acd_alloc(&a, offer_h, NULL);
	for (int s = 0; s < SKILLS; s++) {
		char n[16];
		snprintf(n, sizeof(n), "skill%d", s);
		sk[s] = acd_skill(a, n);
	}
	for (int i = 0; i < QUEUES; i++) {
		char n[16];
		snprintf(n, sizeof(n), "q%d", i);
		acd_queue_add(a, &q[i], n, i % 10 == 0 ? ACD_LONGEST_IDLE :
			      ACD_SKILLS);
		acd_queue_set_aging(q[i], 30);
	}
	for (int i = 0; i < AGENTS; i++) {
		char n[16];
		snprintf(n, sizeof(n), "agent%d", i);
		acd_agent_add(a, &ag[i], n);
		for (int k = 0; k < QUEUES_PER_AGENT; k++)
			acd_agent_join(ag[i], q[rand() % QUEUES]);
		for (int k = 0; k < 4; k++)
			acd_agent_skill(ag[i], sk[rand() % SKILLS],
					(uint8_t)(1 + rand() % 10));
		/* Half of them are busy at the start. */
		if (i % 2 == 0)
			acd_agent_set_state(ag[i], AGENT_NOT_READY, "busy");
	}
	for (int i = 1; i < AGENTS; i += 2)
		acd_agent_set_state(ag[i], AGENT_READY, NULL);
	/* Calls that ring an agent are answered at once; that agent then
	 * becomes ready again later, which is the second kind of decision. */
	for (int ev = 0; ev < EVENTS; ev++) {
		clock_ms += 5;
		acd_set_clock(a, clock_ms);
		if (rand() % 2) {
			struct acd_req r = {(uint8_t)sk[rand() % SKILLS],
					    (uint8_t)(1 + rand() % 5), 60};
			struct acd_entry *e = NULL;
			unsigned before = offers;
			uint64_t t0 = now_ns();
			acd_enqueue(q[rand() % QUEUES], &e, rand() % 3, &r,
				    rand() % 2, NULL);
			t_join[nj++] = now_ns() - t0;
			if (offers != before)
				acd_offer_answered(e, last_ag);
			else if (nw < EVENTS)
				waiting[nw++] = e;
		}
		else {
			struct acd_agent *g = ag[rand() % AGENTS];
			enum acd_agent_state s = acd_agent_state(g);
			if (s == AGENT_ON_CALL || s == AGENT_NOT_READY) {
				unsigned before = offers;
				uint64_t t0 = now_ns();
				acd_agent_set_state(g, AGENT_READY, NULL);
				t_ready[nr++] = now_ns() - t0;
				if (offers != before) {
					acd_offer_answered(last_e, last_ag);
					/* forget it among the waiting */
					for (size_t k = 0; k < nw; k++)
						if (waiting[k] == last_e) {
							waiting[k] =
								waiting[--nw];
							break;
						}
				}
			}
		}
		/* Callers give up now and then, so lines stay bounded. */
		if (nw > 2000) {
			size_t k = (size_t)rand() % nw;
			acd_entry_remove(waiting[k]);
			waiting[k] = waiting[--nw];
		}
	}
	printf("acd-route: %d agents, %d queues, %d skills, %d events, "
	       "%u offers, %zu calls waiting at the end\n", AGENTS, QUEUES,
	       SKILLS, EVENTS, offers, nw);
	report("call joins a queue", t_join, nj);
	report("agent becomes ready", t_ready, nr);
	mem_deref(a);
	libre_close();
	return 0;
}
