#include <re.h>
#include "core/event.h"

struct event_sub {
	struct le le;
	event_h *h;
	void *arg;
};

static struct list subs;

static void sub_destructor(void *arg)
{
	struct event_sub *sub = arg;
	list_unlink(&sub->le);
}

int event_subscribe(struct event_sub **subp, event_h *h, void *arg)
{
	struct event_sub *sub;

	if (!subp || !h)
		return EINVAL;
	sub = mem_zalloc(sizeof(*sub), sub_destructor);
	if (!sub)
		return ENOMEM;
	sub->h = h;
	sub->arg = arg;
	list_append(&subs, &sub->le, sub);
	*subp = sub;
	return 0;
}

void event_publish(enum event_type type, const void *data)
{
	struct le *le = subs.head;

	while (le) {
		struct event_sub *sub = le->data;
		le = le->next; /* a handler may unsubscribe itself */
		sub->h(type, data, sub->arg);
	}
}

const char *event_name(enum event_type type)
{
	static const char *names[] = {
		"call.started", "call.ringing", "call.answered", "call.ended",
		"registration.changed", "agent.state", "queue", "booth",
	};
	return type < EVENT_TYPE_MAX ? names[type] : "?";
}
