/* event: the one typed bus that carries news upward (call → records, API,
 * KPIs).  Publishing is synchronous, in subscription order. */
#ifndef LAOYOU_EVENT_H
#define LAOYOU_EVENT_H

enum event_type {
	EVENT_CALL_STARTED,   /* data: const struct call * */
	EVENT_CALL_RINGING,
	EVENT_CALL_ANSWERED,
	EVENT_CALL_ENDED,     /* the call's record is final */
	EVENT_REG_CHANGED,    /* data: const char *user */
	EVENT_AGENT_STATE,    /* data: const struct desk_agent_news * */
	EVENT_QUEUE,          /* data: const struct desk_queue_news * */
	EVENT_BOOTH,          /* data: const struct booth_news * */
	EVENT_TYPE_MAX
};

struct event_sub;
typedef void (event_h)(enum event_type type, const void *data, void *arg);

/** Subscribe h to every event; mem_deref the subscription to leave. */
int  event_subscribe(struct event_sub **subp, event_h *h, void *arg);
/** Deliver an event to every subscriber. */
void event_publish(enum event_type type, const void *data);
/** Name of an event type, for logs and the API. */
const char *event_name(enum event_type type);

#endif
