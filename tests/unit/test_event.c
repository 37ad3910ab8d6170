#include <re.h>
#include "core/event.h"
#include "unit.h"

static int seen[4];

static void h1(enum event_type t, const void *d, void *arg)
{
	(void)d;
	seen[(intptr_t)arg] += (int)t + 1;
}

static struct event_sub *self_sub;

static void leaves(enum event_type t, const void *d, void *arg)
{
	(void)t;
	(void)d;
	(void)arg;
	seen[3]++;
	self_sub = mem_deref(self_sub);
}

static void publish_reaches_every_subscriber(void)
{
	struct event_sub *a = NULL, *b = NULL;

	memset(seen, 0, sizeof(seen));
	CHECK_EQ(event_subscribe(&a, h1, (void *)0), 0);
	CHECK_EQ(event_subscribe(&self_sub, leaves, NULL), 0);
	CHECK_EQ(event_subscribe(&b, h1, (void *)1), 0);
	event_publish(EVENT_CALL_ENDED, NULL);
	event_publish(EVENT_CALL_STARTED, NULL);
	CHECK_EQ(seen[0], EVENT_CALL_ENDED + 1 + EVENT_CALL_STARTED + 1);
	CHECK_EQ(seen[1], seen[0]);
	CHECK_EQ(seen[3], 1);   /* unsubscribed itself during delivery */
	mem_deref(a);
	event_publish(EVENT_CALL_STARTED, NULL);
	CHECK_EQ(seen[0], EVENT_CALL_ENDED + 1 + EVENT_CALL_STARTED + 1);
	mem_deref(b);
	CHECK_STR(event_name(EVENT_CALL_ENDED), "call.ended");
}

const struct unit_case event_cases[] = {
	{"publish_reaches_every_subscriber", publish_reaches_every_subscriber},
	{NULL, NULL},
};
