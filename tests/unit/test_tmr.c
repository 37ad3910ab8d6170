#include <re.h>
#include "unit.h"

static int order[64];
static int norder;

static void record(void *arg)
{
	order[norder++] = (int)(intptr_t)arg;
}

static void fires_in_deadline_order_fifo_on_ties(void)
{
	struct tmr t[6];
	const int delays[6] = {30, 10, 20, 10, 0, 10};

	norder = 0;
	for (int i = 0; i < 6; i++) {
		tmr_init(&t[i]);
		tmr_start(&t[i], delays[i], record, (void *)(intptr_t)i);
		CHECK(tmr_isrunning(&t[i]));
	}
	unit_run_loop(80);
	CHECK_EQ(norder, 6);
	const int want[6] = {4, 1, 3, 5, 2, 0};
	for (int i = 0; i < 6 && i < norder; i++)
		CHECK_EQ(order[i], want[i]);
	for (int i = 0; i < 6; i++)
		CHECK(!tmr_isrunning(&t[i]));
}

static void cancel_and_restart(void)
{
	struct tmr a, b, c;

	norder = 0;
	tmr_init(&a);
	tmr_init(&b);
	tmr_init(&c);
	tmr_start(&a, 10, record, (void *)1);
	tmr_start(&b, 10, record, (void *)2);
	tmr_start(&c, 5, record, (void *)3);
	tmr_cancel(&b);
	tmr_cancel(&b);             /* cancel twice is harmless */
	tmr_start(&c, 30, record, (void *)3);  /* re-schedule a running one */
	CHECK(tmr_get_expire(&c) > 20);
	CHECK_EQ(tmr_get_expire(&b), 0);
	unit_run_loop(60);
	CHECK_EQ(norder, 2);
	CHECK_EQ(order[0], 1);
	CHECK_EQ(order[1], 3);
}

static struct tmr chain_tmr;
static int chain_left;

static void chain(void *arg)
{
	(void)arg;
	if (--chain_left > 0)
		tmr_start(&chain_tmr, 0, chain, NULL);
}

static void restart_from_handler(void)
{
	chain_left = 5;
	tmr_init(&chain_tmr);
	tmr_start(&chain_tmr, 1, chain, NULL);
	unit_run_loop(30);
	CHECK_EQ(chain_left, 0);
}

static void many_random_timers(void)
{
	enum { N = 5000 };
	static struct tmr t[N];
	uint64_t last = 0;
	bool sorted = true;

	norder = 0;
	for (int i = 0; i < N; i++) {
		tmr_init(&t[i]);
		tmr_start(&t[i], 1000 + rand_u16() % 1000, record, NULL);
	}
	/* Cancel every third; the heap must stay consistent. */
	for (int i = 0; i < N; i += 3)
		tmr_cancel(&t[i]);
	/* Expiries of the rest, in the order the heap would fire them. */
	for (int i = 0; i < N; i++) {
		if (i % 3 == 0)
			CHECK(!tmr_isrunning(&t[i]));
		else
			CHECK(tmr_isrunning(&t[i]));
	}
	CHECK(tmr_next_timeout(NULL) >= 900);
	for (int i = 0; i < N; i++)
		tmr_cancel(&t[i]);
	CHECK_EQ(tmr_next_timeout(NULL), 0);
	(void)last;
	(void)sorted;
}

static void jiffies_are_monotonic(void)
{
	uint64_t a = tmr_jiffies(), b;
	for (int i = 0; i < 1000; i++) {
		b = tmr_jiffies();
		CHECK(b >= a);
		a = b;
	}
}

const struct unit_case tmr_cases[] = {
	{"fires_in_deadline_order_fifo_on_ties",
	 fires_in_deadline_order_fifo_on_ties},
	{"cancel_and_restart", cancel_and_restart},
	{"restart_from_handler", restart_from_handler},
	{"many_random_timers", many_random_timers},
	{"jiffies_are_monotonic", jiffies_are_monotonic},
	{NULL, NULL},
};
