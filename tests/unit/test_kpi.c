/* kpi: figures from a scripted queue log and agent log, against values
 * worked out by hand. */
#include <stdint.h>
#include <re.h>
#include "store/store.h"
#include "kpi/kpi.h"
#include "unit.h"

static void ev(struct store *st, int64_t ts, const char *call,
	       const char *queue, const char *agent, const char *event,
	       uint32_t wait_ms, uint32_t talk_ms)
{
	struct store_qevent e;

	memset(&e, 0, sizeof(e));
	e.ts_ms = ts;
	str_ncpy(e.callid, call, sizeof(e.callid));
	str_ncpy(e.queue, queue, sizeof(e.queue));
	str_ncpy(e.agent, agent, sizeof(e.agent));
	str_ncpy(e.event, event, sizeof(e.event));
	e.wait_ms = wait_ms;
	e.talk_ms = talk_ms;
	CHECK_EQ(store_qlog(st, &e), 0);
}

static void queue_figures(void)
{
	struct store *st = NULL;
	struct kpi_query q;
	struct kpi k;

	CHECK_EQ(store_open(&st, unit_tmpfile("kpi.db")), 0);
	/* Five calls: two answered (waits 10 s and 30 s, talks 60 s and
	 * 120 s), one abandoned after 40 s, one short abandon (2 s), one
	 * timed out after 90 s. */
	ev(st, 1000, "a", "q", "", "ENTER", 0, 0);
	ev(st, 11000, "a", "q", "al", "CONNECT", 10000, 0);
	ev(st, 71000, "a", "q", "al", "COMPLETEAGENT", 10000, 60000);
	ev(st, 2000, "b", "q", "", "ENTER", 0, 0);
	ev(st, 32000, "b", "q", "bo", "CONNECT", 30000, 0);
	ev(st, 152000, "b", "q", "bo", "COMPLETECALLER", 30000, 120000);
	ev(st, 3000, "c", "q", "", "ENTER", 0, 0);
	ev(st, 43000, "c", "q", "", "ABANDON", 40000, 0);
	ev(st, 4000, "d", "q", "", "ENTER", 0, 0);
	ev(st, 6000, "d", "q", "", "ABANDON", 2000, 0);
	ev(st, 5000, "e", "q", "", "ENTER", 0, 0);
	ev(st, 95000, "e", "q", "", "EXITWITHTIMEOUT", 90000, 0);
	ev(st, 5000, "f", "other", "", "ENTER", 0, 0);

	kpi_query_init(&q);
	q.queue = "q";
	CHECK_EQ(kpi_compute(st, &q, &k), 0);
	CHECK_EQ(k.offered, 4);            /* 5 entered, 1 short */
	CHECK_EQ(k.answered, 2);
	CHECK_EQ(k.abandoned, 1);
	CHECK_EQ(k.short_abandoned, 1);
	CHECK_EQ(k.timeouts, 1);
	CHECK_EQ((int)(k.connect_rate * 100), 5000);
	CHECK_EQ((int)(k.service_level * 100), 2500); /* 1 of 4 in 20 s */
	CHECK_EQ((int)(k.asa_s * 10), 200);
	CHECK_EQ((int)(k.aht_s * 10), 900);
	CHECK_EQ((int)(k.longest_wait_s * 10), 900);

	q.sl_abandons = false;             /* 1 of 3 */
	CHECK_EQ(kpi_compute(st, &q, &k), 0);
	CHECK_EQ((int)(k.service_level * 100), 3333);

	q.sl_abandons = true;
	q.to_ms = 4500;                    /* entries before 4.5 s only */
	CHECK_EQ(kpi_compute(st, &q, &k), 0);
	CHECK_EQ(k.offered, 4);
	CHECK_EQ(k.answered, 0);
	mem_deref(st);
}

static void occupancy(void)
{
	struct store *st = NULL;
	struct kpi_query q;
	struct kpi k;

	CHECK_EQ(store_open(&st, unit_tmpfile("occ.db")), 0);
	/* al: ready 0–10 s, on a call 10–40 s, wrap-up 40–50 s, not ready
	 * 50–100 s, ready 100–120 s, logged out.  Busy 40 s of 70 s
	 * staffed. */
	CHECK_EQ(store_agent_log(st, 0, "al", "ready", ""), 0);
	CHECK_EQ(store_agent_log(st, 10000, "al", "on-call", ""), 0);
	CHECK_EQ(store_agent_log(st, 40000, "al", "wrap-up", ""), 0);
	CHECK_EQ(store_agent_log(st, 50000, "al", "not-ready", "lunch"), 0);
	CHECK_EQ(store_agent_log(st, 100000, "al", "ready", ""), 0);
	CHECK_EQ(store_agent_log(st, 120000, "al", "logged-out", ""), 0);
	/* bo: ready from 0 s and still ready (until now). */
	CHECK_EQ(store_agent_log(st, 0, "bo", "ready", ""), 0);

	kpi_query_init(&q);
	q.agent = "al";
	CHECK_EQ(kpi_compute(st, &q, &k), 0);
	CHECK_EQ((int)(k.occupancy * 100), 5714);   /* 40 / 70 */

	q.from_ms = 20000;                 /* busy 30 of 40 */
	q.to_ms = 110000;
	CHECK_EQ(kpi_compute(st, &q, &k), 0);
	CHECK_EQ((int)(k.occupancy * 100), 7500);

	q.agent = "";                      /* with bo: 30 of 130 */
	CHECK_EQ(kpi_compute(st, &q, &k), 0);
	CHECK_EQ((int)(k.occupancy * 100), 2307);
	mem_deref(st);
}

const struct unit_case kpi_cases[] = {
	{"queue_figures", queue_figures},
	{"occupancy", occupancy},
	{NULL, NULL},
};
