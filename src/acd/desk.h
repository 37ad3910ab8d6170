/* desk: the ACD at work — queues and agents from the site file, agents'
 * phones rung through the call interface, feature codes, wrap-up, and the
 * durable queue log.  The IVR puts callers in line and plays to them; the
 * desk decides, rings and tells the IVR what happened. */
#ifndef LAOYOU_DESK_H
#define LAOYOU_DESK_H
#include <stdint.h>
#include <stdbool.h>

struct desk;
struct desk_wait;
struct call;
struct calls;
struct store;
struct sipd;
struct json;

enum desk_event {
	DESK_POSITION,   /* time to announce the place in line */
	DESK_CONNECTED,  /* bridged to an agent */
	DESK_TIMEOUT,    /* waited max_wait: leave the queue */
	DESK_FULL,       /* the queue was full: not joined */
	DESK_EMPTY,      /* nobody logged in and join-empty is off */
};

/** What happens to a caller in line; position counts from 1, and ewt_s is
 * the estimated wait (0 when unknown). */
typedef void (desk_event_h)(enum desk_event ev, uint32_t position,
			    uint32_t ewt_s, void *arg);

/** An agent's state changed (EVENT_AGENT_STATE). */
struct desk_agent_news {
	const char *agent, *state, *reason;
};

/** Something happened in a queue (EVENT_QUEUE): event is the queue log's
 * (ENTER, CONNECT, ABANDON …) or RING (an agent's phone rings). */
struct desk_queue_news {
	const char *queue, *callid, *caller, *agent, *event;
	const char *hotline, *language, *path;
	uint32_t position, waiting;
};

/** The desk over calls and the store; claims the agents' feature codes. */
int  desk_alloc(struct desk **dp, struct calls *cs, struct sipd *sd,
		 struct store *st);
/** Load the "queues" and "agents" of a site (check only if d is NULL);
 * errors read "file:line: what is wrong". */
int  desk_site_load(struct desk *d, const struct json *root,
		    const char *file, char *err, size_t errsz);
/** Does the loaded (or being-checked) site have this queue? */
bool desk_queue_known(const struct json *root, const char *name);

/** An agent's feature code from its phone (*61 log in and ready, *62 log
 * out, *63 ready, *64 not ready); *prompt names what to tell it. */
int  desk_feature(struct desk *d, const char *caller, const char *code,
		  const char **prompt);

/** The call agent extension ext is talking on, if supervisor (an agent
 * account marked "supervisor") may supervise it; NULL otherwise. */
struct call *desk_supervisable(struct desk *d, const char *supervisor,
			       const char *ext);

/** Put call c in line in queue with its language and a skill the flow
 * requires (NULL or "" for none); events go to h. */
int  desk_join(struct desk *d, struct call *c, const char *queue,
	       const char *lang, const char *skill_need, int priority,
	       desk_event_h *h, void *arg, struct desk_wait **wp);
/** The caller asks to be called back instead of waiting: it keeps its
 * place, its call may end, and when its turn comes the desk reserves an
 * agent, calls the caller back and bridges.  w is the desk's from now on. */
int  desk_callback(struct desk_wait *w);
/** The transfer the desk started for w has ended with scode. */
void desk_transfer_result(struct desk_wait *w, uint16_t scode);
/** The conversation ended (agent or caller hung up); w is gone. */
void desk_bridge_end(struct desk_wait *w, bool by_agent);
/** The caller left the line (hung up, or the flow moved on); w is gone. */
void desk_leave(struct desk_wait *w, bool hung_up);

/** An agent as the API shows it. */
struct desk_agent_info {
	const char *id, *account, *state, *reason;
	const char *callid, *queue;    /* the call it rings or talks to */
	bool supervisor;
};
typedef void (desk_agent_h)(const struct desk_agent_info *ai, void *arg);
/** Call h for every agent. */
void desk_agents(const struct desk *d, desk_agent_h *h, void *arg);

/** A queue's live figures. */
struct desk_queue_info {
	const char *name;
	uint32_t waiting, ready, busy, not_ready, logged_out, aht_s;
	uint64_t longest_wait_ms;
};
typedef void (desk_queue_h)(const struct desk_queue_info *qi, void *arg);
/** Call h for every queue. */
void desk_queues(const struct desk *d, desk_queue_h *h, void *arg);

/** The agent whose phone is SIP account `account`, or NULL. */
const char *desk_agent_of(const struct desk *d, const char *account);
/** The SIP account of agent id, or NULL. */
const char *desk_agent_account(const struct desk *d, const char *id);
/** Set an agent's state ("ready", "not-ready" with a reason,
 * "logged-out"); ENOENT, EINVAL, ENOTCONN (ready, but its phone is not
 * registered), or EPERM while it rings. */
int  desk_agent_set(struct desk *d, const char *id, const char *state,
		    const char *reason);

#endif
