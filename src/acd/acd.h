/* acd: queues, agents and routing.
 *
 * This is the decision core: who takes which waiting call, decided when a
 * call joins or an agent becomes free — never by polling.  It knows
 * nothing of SIP or RTP; the part that rings phones and plays music drives
 * it through these calls and hears its decisions through acd_offer_h. */
#ifndef LAOYOU_ACD_H
#define LAOYOU_ACD_H
#include <stdint.h>
#include <stdbool.h>

struct acd;
struct acd_agent;
struct acd_queue;
struct acd_entry;

enum acd_strategy {
	ACD_RINGALL, ACD_LONGEST_IDLE, ACD_ROUNDROBIN, ACD_FEWEST_CALLS,
	ACD_LEAST_TALK, ACD_RANDOM, ACD_SKILLS, ACD_STRATEGIES
};

enum acd_agent_state {
	AGENT_LOGGED_OUT, AGENT_READY, AGENT_NOT_READY, AGENT_RESERVED,
	AGENT_ON_CALL, AGENT_WRAP_UP, AGENT_STATES
};

enum { ACD_SKILLS_MAX = 64, ACD_REQS_MAX = 8 };

/** A call's need: skill at level >= min, dropped after relax_s of waiting
 * (0 = never). */
struct acd_req {
	uint8_t skill;
	uint8_t min;
	uint32_t relax_s;
};

/** A decision: offer entry to agent (reserved now).  Ring-all offers one
 * entry to several agents in turn of this call. */
typedef void (acd_offer_h)(struct acd_entry *e, struct acd_agent *ag,
			   void *arg);

/** An agent's state changed from `from` (or its not-ready reason did:
 * then from equals the current state).  Must not call back into acd. */
typedef void (acd_state_h)(struct acd_agent *ag, enum acd_agent_state from,
			   void *arg);

/** An empty model; decisions go to offerh.  now_ms is the clock in use
 * (tests and the benchmark pass their own). */
int  acd_alloc(struct acd **ap, acd_offer_h *offerh, void *arg);
/** Observe every agent state change (one observer). */
void acd_set_stateh(struct acd *a, acd_state_h *h, void *arg);
/** Set the model's clock (monotonic ms). */
void acd_set_clock(struct acd *a, uint64_t now_ms);

/** A skill name's number (created on first use); -1 when all are taken. */
int  acd_skill(struct acd *a, const char *name);
/** Name of a strategy as written in site files. */
const char *acd_strategy_name(enum acd_strategy s);
/** Strategy from its name; -1 if unknown. */
int  acd_strategy_parse(const char *name);
/** Name of an agent state. */
const char *acd_state_name(enum acd_agent_state s);

/** Add a queue. */
int  acd_queue_add(struct acd *a, struct acd_queue **qp, const char *name,
		   enum acd_strategy strategy);
/** Find a queue by name. */
struct acd_queue *acd_queue_find(const struct acd *a, const char *name);
/** Calls waiting in q. */
uint32_t acd_queue_waiting(const struct acd_queue *q);
/** Agents of q by state, into counts[AGENT_STATES]. */
void acd_queue_agents(const struct acd_queue *q, uint32_t *counts);

/** Add an agent. */
int  acd_agent_add(struct acd *a, struct acd_agent **agp, const char *id);
/** Find an agent by id. */
struct acd_agent *acd_agent_find(const struct acd *a, const char *id);
/** Attach the caller's context to an agent, and read it back. */
void acd_agent_set_ctx(struct acd_agent *ag, void *ctx);
void *acd_agent_ctx(const struct acd_agent *ag);
/** An agent's id. */
const char *acd_agent_id(const struct acd_agent *ag);
/** Give an agent a skill at a level (1-10; 0 removes it). */
int  acd_agent_skill(struct acd_agent *ag, int skill, uint8_t level);
/** Make an agent a member of q. */
int  acd_agent_join(struct acd_agent *ag, struct acd_queue *q);
/** Change an agent's state; EPERM for a transition the machine forbids.
 * Becoming READY may at once offer it a waiting call. */
int  acd_agent_set_state(struct acd_agent *ag, enum acd_agent_state s,
			 const char *reason);
/** An agent's state and its reason (not-ready). */
enum acd_agent_state acd_agent_state(const struct acd_agent *ag);
const char *acd_agent_reason(const struct acd_agent *ag);

/** A call joins q with a priority (higher first; it grows by one per
 * aging_s of waiting) and requirements; *ep is its place in line. */
int  acd_enqueue(struct acd_queue *q, struct acd_entry **ep, int priority,
		 const struct acd_req *reqs, uint8_t nreqs, void *ctx);
/** The caller's context given to acd_enqueue. */
void *acd_entry_ctx(const struct acd_entry *e);
/** Position in line, from 1. */
uint32_t acd_entry_position(const struct acd_entry *e);
/** The call left the queue (hang-up, timeout, overflow): forget it. */
void acd_entry_remove(struct acd_entry *e);
/** The offered agent answered: the entry leaves, the agent is on call. */
void acd_offer_answered(struct acd_entry *e, struct acd_agent *ag);
/** The offered agent did not answer: it gets a miss (N misses in a row →
 * not-ready "missed"), and the entry is offered again. */
void acd_offer_failed(struct acd_entry *e, struct acd_agent *ag);
/** Re-run decisions whose requirements may have relaxed by now. */
void acd_poke(struct acd *a);

/** Queue settings. */
void acd_queue_set_aging(struct acd_queue *q, uint32_t aging_s);
void acd_agent_set_max_misses(struct acd *a, uint32_t misses);

/** Check every invariant of the model (debug builds, tests); 0 if sound. */
int  acd_check(const struct acd *a, char *err, size_t errsz);

#endif
